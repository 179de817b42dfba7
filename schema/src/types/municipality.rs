//! `Municipality` and `Segment` (kommungrupp).

use async_graphql::{Enum, ID, Object, SimpleObject};

use crate::services::municipalities::MunicipalityView;
use crate::services::segments::{NATIONAL_CODE, NATIONAL_NAME, SegmentInfo};

/// The level of a segment.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// The whole nation (riket).
    National,
    /// A main group (huvudgrupp) A, B or C.
    Group,
    /// A subgroup (kommungrupp) A1..C9.
    Subgroup,
    /// A län (county), by its two-digit code (01 Stockholms län .. 25
    /// Norrbottens län).
    County,
}

/// A set of municipalities that results are broken down by.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct Segment {
    /// The nation, a group, a subgroup or a län.
    pub kind: SegmentKind,
    /// "SE" for NATIONAL, "A"|"B"|"C" for GROUP, "A1".."C9" for SUBGROUP.
    pub code: String,
    /// The segment's name in Swedish, e.g. "Storstäder".
    pub name: String,
    /// How many municipalities the segment holds (290 for SE).
    pub population: i32,
}

impl Segment {
    pub fn national(population: i32) -> Self {
        Self {
            kind: SegmentKind::National,
            code: NATIONAL_CODE.into(),
            name: NATIONAL_NAME.into(),
            population,
        }
    }
}

impl From<&SegmentInfo> for Segment {
    fn from(s: &SegmentInfo) -> Self {
        Self {
            kind: match s.kind {
                entity::SegmentKind::Group => SegmentKind::Group,
                entity::SegmentKind::Subgroup => SegmentKind::Subgroup,
                entity::SegmentKind::County => SegmentKind::County,
            },
            code: s.code.clone(),
            name: s.name.clone(),
            population: s.population,
        }
    }
}

pub struct Municipality(pub MunicipalityView);

/// A municipality (kommun).
#[Object]
impl Municipality {
    /// SCB municipality code, four digits, e.g. "1280" (Malmö).
    async fn code(&self) -> ID {
        ID(self.0.municipality.code.clone())
    }

    /// The municipality's name.
    async fn name(&self) -> &str {
        &self.0.municipality.name
    }

    /// The county's (län) two-digit SCB code.
    async fn county_code(&self) -> &str {
        &self.0.municipality.county_code
    }

    /// The county's name.
    async fn county_name(&self) -> &str {
        &self.0.municipality.county_name
    }

    /// The main group (huvudgrupp) in the current classification.
    async fn group(&self) -> Segment {
        (&self.0.group).into()
    }

    /// The subgroup (kommungrupp) in the current classification.
    async fn subgroup(&self) -> Segment {
        (&self.0.subgroup).into()
    }
}
