//! `myComparison`: a kommun's own levels beside its group's and the nation's
//! means, this round and in a baseline round. Each round is counted with its
//! own classification and the kommun's group in it. The means are figures,
//! so they follow the access table: the policy releases a round's figures
//! to a kommun ([`policy::kommun_figures`]) once it is PUBLISHED, never
//! while it is CLOSED and SKR's alone; suppressed cells have none.

use std::collections::HashMap;

use entity::{area, municipality_segment, survey_round};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::error::ApiResult;
use crate::policy;
use crate::services::aggregates::{self, FigureCache, Grouping};
use crate::services::memo::{cached, remember};
use crate::services::memory::Memory;
use crate::services::scoring;
use crate::tenancy::KommunScope;

/// One maturity area of the comparison.
#[derive(Clone, Debug)]
pub struct ComparisonRow {
    pub area: area::Model,
    pub level: Option<i32>,
    pub group_mean: Option<f64>,
    pub national_mean: Option<f64>,
    pub baseline_level: Option<i32>,
    pub baseline_group_mean: Option<f64>,
    pub baseline_national_mean: Option<f64>,
}

/// Own level and the group and national means per area key of one round.
struct RoundSide {
    levels: HashMap<String, (area::Model, i32)>,
    group_means: HashMap<String, Option<f64>>,
    national_means: HashMap<String, Option<f64>>,
}

async fn side(
    db: &DatabaseConnection,
    cache: &FigureCache,
    scope: &KommunScope,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<RoundSide> {
    let levels: HashMap<String, (area::Model, i32)> = scoring::my_levels(db, cache, scope, round)
        .await?
        .iter()
        .map(|(a, level)| (a.key.clone(), (a.clone(), *level)))
        .collect();
    let mut group_means = HashMap::new();
    let mut national_means = HashMap::new();
    if let Some(released) = policy::kommun_figures(scope, round) {
        let group = group_of(db, cache, scope.code(), &round.classification_id).await?;
        for row in aggregates::maturity(db, cache, &released, Grouping::Group, min_cell)
            .await?
            .iter()
        {
            if Some(&row.segment.code) == group.as_ref() {
                group_means.insert(row.area.key.clone(), row.mean_level);
            }
        }
        for row in aggregates::maturity(db, cache, &released, Grouping::National, min_cell)
            .await?
            .iter()
        {
            national_means.insert(row.area.key.clone(), row.mean_level);
        }
    }
    Ok(RoundSide {
        levels,
        group_means,
        national_means,
    })
}

/// A municipality's group under a classification (kept in memory).
async fn group_of(
    db: &DatabaseConnection,
    memory: &Memory,
    code: &str,
    classification_id: &str,
) -> ApiResult<Option<String>> {
    let key = (code.to_owned(), classification_id.to_owned());
    if let Some(hit) = cached(&memory.groups, &key) {
        return Ok(hit.as_ref().clone());
    }
    let since = memory.since();
    let group = municipality_segment::Entity::find_by_id(key.clone())
        .one(db)
        .await?
        .map(|m| m.group_code);
    Ok(remember(&memory.groups, since, key, group).as_ref().clone())
}

/// The comparison for the scope's own municipality, in area order.
pub async fn compare(
    db: &DatabaseConnection,
    cache: &FigureCache,
    scope: &KommunScope,
    round: &survey_round::Model,
    baseline: Option<&survey_round::Model>,
    min_cell: i64,
) -> ApiResult<Vec<ComparisonRow>> {
    let current = side(db, cache, scope, round, min_cell).await?;
    let before = match baseline {
        Some(b) => Some(side(db, cache, scope, b, min_cell).await?),
        None => None,
    };
    let mut rows: Vec<ComparisonRow> = current
        .levels
        .iter()
        .map(|(key, (a, level))| {
            let b = before.as_ref();
            ComparisonRow {
                area: a.clone(),
                level: Some(*level),
                group_mean: current.group_means.get(key).copied().flatten(),
                national_mean: current.national_means.get(key).copied().flatten(),
                baseline_level: b.and_then(|b| b.levels.get(key)).map(|(_, l)| *l),
                baseline_group_mean: b.and_then(|b| b.group_means.get(key).copied().flatten()),
                baseline_national_mean: b
                    .and_then(|b| b.national_means.get(key).copied().flatten()),
            }
        })
        .collect();
    rows.sort_by_key(|r| (r.area.number, r.area.position));
    Ok(rows)
}
