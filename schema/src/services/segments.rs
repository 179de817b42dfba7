//! Segments (kommungrupper) of a classification with their populations.

use std::collections::HashMap;

use entity::{SegmentKind, classification, municipality_segment, segment};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use crate::error::{ApiError, ApiResult};

/// The code and name of the whole nation as a segment.
pub const NATIONAL_CODE: &str = "SE";
pub const NATIONAL_NAME: &str = "Riket";

/// One segment with its population under its classification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub kind: SegmentKind,
    pub code: String,
    pub name: String,
    /// The group of a subgroup.
    pub parent: Option<String>,
    pub population: i32,
}

/// All segments of one classification, in the classification's order, and the
/// national population.
#[derive(Clone, Debug)]
pub struct SegmentDirectory {
    pub classification_id: String,
    pub national_population: i32,
    pub segments: Vec<SegmentInfo>,
}

impl SegmentDirectory {
    pub fn get(&self, code: &str) -> Option<&SegmentInfo> {
        self.segments.iter().find(|s| s.code == code)
    }
}

/// The id of the current classification.
pub async fn current_classification(db: &impl ConnectionTrait) -> ApiResult<String> {
    classification::Entity::find()
        .filter(classification::Column::IsCurrent.eq(true))
        .order_by_desc(classification::Column::Year)
        .one(db)
        .await?
        .map(|c| c.id)
        .ok_or_else(|| {
            tracing::error!("no current classification: the reference data is not loaded");
            ApiError::Internal
        })
}

/// Loads a classification's segments and populations in two queries.
pub async fn directory(
    db: &impl ConnectionTrait,
    classification_id: &str,
) -> ApiResult<SegmentDirectory> {
    let rows = segment::Entity::find()
        .filter(segment::Column::ClassificationId.eq(classification_id))
        .order_by_asc(segment::Column::Position)
        .all(db)
        .await?;
    let counts: HashMap<String, i64> = municipality_segment::Entity::find()
        .filter(municipality_segment::Column::ClassificationId.eq(classification_id))
        .select_only()
        .column(municipality_segment::Column::SubgroupCode)
        .column_as(
            Expr::col(municipality_segment::Column::MunicipalityCode).count(),
            "n",
        )
        .group_by(municipality_segment::Column::SubgroupCode)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut segments: Vec<SegmentInfo> = rows
        .into_iter()
        .map(|s| SegmentInfo {
            population: counts.get(&s.code).copied().unwrap_or(0) as i32,
            kind: s.kind,
            code: s.code,
            name: s.name,
            parent: s.parent_code,
        })
        .collect();
    let group_population = |code: &str, segments: &[SegmentInfo]| -> i32 {
        segments
            .iter()
            .filter(|s| s.parent.as_deref() == Some(code))
            .map(|s| s.population)
            .sum()
    };
    for i in 0..segments.len() {
        if segments[i].kind == SegmentKind::Group {
            segments[i].population = group_population(&segments[i].code.clone(), &segments);
        }
    }
    let national_population = counts.values().sum::<i64>() as i32;
    Ok(SegmentDirectory {
        classification_id: classification_id.into(),
        national_population,
        segments,
    })
}
