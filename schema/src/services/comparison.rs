//! `myComparison`: a kommun's own levels beside its group's and the nation's
//! means, this round and in a baseline round. Each round is counted with its
//! own classification and the kommun's group in it. The means are figures,
//! so they follow the access table: the policy releases a round's figures
//! to a kommun ([`policy::kommun_figures`]) once it is PUBLISHED, never
//! while it is CLOSED and SKR's alone; suppressed cells have none.

use std::collections::HashMap;

use entity::{area, municipality_segment, survey_round};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::disclosure::Reason;
use crate::error::ApiResult;
use crate::policy;
use crate::services::aggregates::{self, FigureCache, Grouping};
use crate::services::memo::{cached, remember};
use crate::services::memory::Memory;
use crate::services::scoring;
use crate::tenancy::KommunScope;

/// Why a mean of the comparison is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The round's figures are not out to kommuner yet (it is not PUBLISHED).
    NotPublished,
    /// The release plan hides the cell.
    Hidden(Reason),
    /// There is no baseline round.
    NoBaseline,
    /// The round has no such area, or the kommun no group in its classification.
    NotInRound,
}

/// A mean, or why there is none.
pub type Mean = Result<f64, Missing>;

/// One maturity area of the comparison.
#[derive(Clone, Debug)]
pub struct ComparisonRow {
    pub area: area::Model,
    pub level: Option<i32>,
    pub group_mean: Mean,
    pub national_mean: Mean,
    pub baseline_level: Option<i32>,
    pub baseline_group_mean: Mean,
    pub baseline_national_mean: Mean,
}

/// Own level and the group and national means per area key of one round.
struct RoundSide {
    levels: HashMap<String, (area::Model, i32)>,
    /// Whether the round's figures are out to the kommun.
    released: bool,
    group_means: HashMap<String, Mean>,
    national_means: HashMap<String, Mean>,
}

impl RoundSide {
    /// The mean of `key` in `means`, or why there is none.
    fn mean(&self, means: &HashMap<String, Mean>, key: &str) -> Mean {
        if !self.released {
            return Err(Missing::NotPublished);
        }
        means.get(key).copied().unwrap_or(Err(Missing::NotInRound))
    }
}

/// A figure row's mean, or the reason it is hidden.
fn mean_of(row: &aggregates::AggregateRow) -> Mean {
    match (row.mean_level, row.suppressed) {
        (Some(mean), None) => Ok(mean),
        (_, Some(reason)) => Err(Missing::Hidden(reason)),
        (None, None) => Err(Missing::NotInRound),
    }
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
    let out = policy::kommun_figures(scope, round);
    let released = out.is_some();
    if let Some(released) = out {
        let group = group_of(db, cache, scope.code(), &round.classification_id).await?;
        for row in aggregates::maturity(db, cache, &released, Grouping::Group, min_cell)
            .await?
            .iter()
        {
            if Some(&row.segment.code) == group.as_ref() {
                group_means.insert(row.area.key.clone(), mean_of(row));
            }
        }
        for row in aggregates::maturity(db, cache, &released, Grouping::National, min_cell)
            .await?
            .iter()
        {
            national_means.insert(row.area.key.clone(), mean_of(row));
        }
    }
    Ok(RoundSide {
        levels,
        released,
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
            let baseline = |means: fn(&RoundSide) -> &HashMap<String, Mean>| match b {
                Some(b) => b.mean(means(b), key),
                None => Err(Missing::NoBaseline),
            };
            ComparisonRow {
                area: a.clone(),
                level: Some(*level),
                group_mean: current.mean(&current.group_means, key),
                national_mean: current.mean(&current.national_means, key),
                baseline_level: b.and_then(|b| b.levels.get(key)).map(|(_, l)| *l),
                baseline_group_mean: baseline(|b| &b.group_means),
                baseline_national_mean: baseline(|b| &b.national_means),
            }
        })
        .collect();
    rows.sort_by_key(|r| (r.area.number, r.area.position));
    Ok(rows)
}
