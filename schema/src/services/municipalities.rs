//! The municipalities with their group and subgroup in the current classification.

use entity::{municipality, municipality_segment};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::{ApiError, ApiResult};
use crate::services::segments::{self, SegmentDirectory, SegmentInfo};

/// A municipality as the API shows it.
#[derive(Clone, Debug)]
pub struct MunicipalityView {
    pub municipality: municipality::Model,
    pub group: SegmentInfo,
    pub subgroup: SegmentInfo,
}

/// Filters of `municipalities(group, subgroup)`.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub group: Option<String>,
    pub subgroup: Option<String>,
    /// Only these codes (used for the viewer's own municipality).
    pub code: Option<String>,
}

/// Municipalities in code order, in a fixed number of queries.
pub async fn list(db: &impl ConnectionTrait, filter: Filter) -> ApiResult<Vec<MunicipalityView>> {
    let classification = segments::current_classification(db).await?;
    let dir = segments::directory(db, &classification).await?;
    for (what, code) in [("group", &filter.group), ("subgroup", &filter.subgroup)] {
        if let Some(code) = code {
            let known = dir
                .get(code)
                .is_some_and(|s| (s.parent.is_none()) == (what == "group"));
            if !known {
                return Err(ApiError::bad_input(format!("unknown {what} {code:?}")));
            }
        }
    }
    let mut members = municipality_segment::Entity::find()
        .filter(municipality_segment::Column::ClassificationId.eq(&classification));
    if let Some(g) = &filter.group {
        members = members.filter(municipality_segment::Column::GroupCode.eq(g));
    }
    if let Some(s) = &filter.subgroup {
        members = members.filter(municipality_segment::Column::SubgroupCode.eq(s));
    }
    if let Some(c) = &filter.code {
        members = members.filter(municipality_segment::Column::MunicipalityCode.eq(c));
    }
    let members = members
        .order_by_asc(municipality_segment::Column::MunicipalityCode)
        .all(db)
        .await?;
    let mut query = municipality::Entity::find().order_by_asc(municipality::Column::Code);
    if let Some(c) = &filter.code {
        query = query.filter(municipality::Column::Code.eq(c));
    }
    let all = query.all(db).await?;
    join(all, members, &dir)
}

fn join(
    municipalities: Vec<municipality::Model>,
    members: Vec<municipality_segment::Model>,
    dir: &SegmentDirectory,
) -> ApiResult<Vec<MunicipalityView>> {
    let mut members = members.into_iter().peekable();
    let mut out = Vec::new();
    for m in municipalities {
        while members.peek().is_some_and(|s| s.municipality_code < m.code) {
            members.next();
        }
        let Some(seg) = members.next_if(|s| s.municipality_code == m.code) else {
            continue;
        };
        let (Some(group), Some(subgroup)) = (dir.get(&seg.group_code), dir.get(&seg.subgroup_code))
        else {
            tracing::error!(code = %m.code, "municipality refers to an unknown segment");
            return Err(ApiError::Internal);
        };
        out.push(MunicipalityView {
            group: group.clone(),
            subgroup: subgroup.clone(),
            municipality: m,
        });
    }
    Ok(out)
}
