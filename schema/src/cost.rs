//! What a request's figures cost, before it runs.
//!
//! async-graphql's complexity counts one per selected field: an uncached
//! panel trend would cost what `viewer` costs. This module adds, for each
//! figure field at the root of an operation, what computing it costs the
//! database, so the complexity limit ([`crate::Limits::complexity`]) bounds
//! real work:
//!
//! | field | cost |
//! |---|---|
//! | a figure already in memory (a closed round's aggregates; a distribution of a round whose plan is in memory) | [`CACHED`] |
//! | `maturityAggregates`, `answerDistribution`, `processShare`, `estimatedWeeklyHours` otherwise | [`FIGURE`] |
//! | `maturityTrend` without panel, not in memory | 2 × [`FIGURE`] |
//! | `maturityTrend(panel: true)` (computed from the scores each time) | [`PANEL`] |
//! | `myComparison` (the kommun's own scores beside two aggregates) | 2 × [`FIGURE`] |
//! | `participation` | [`FIGURE`] / 2 |
//! | `maturitySeries` | per round, as `maturityAggregates` |
//! | `distributionTrend`, `processShareTrend`, `estimatedWeeklyHoursTrend` | 2 × [`FIGURE`] |
//!
//! The weights follow what the figures took on PostgreSQL with the demo data
//! (a debug build, one request at a time, subgroups): `viewer` 0.8 ms; an
//! aggregate table in memory 2 ms (mostly writing the response); the same
//! table not in memory 7–40 ms (the first of a round loads its plan);
//! `processShare` 11 ms; a panel trend 48 ms.
//!
//! The operations of one batch share one budget ([`BatchBudget`]), so a
//! batch cannot multiply what one request may cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Value as ConstValue;
use async_graphql::Variables;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use uuid::Uuid;

use crate::services::aggregates::{FigureCache, Grouping};

/// A figure in memory.
pub const CACHED: usize = 1;
/// A figure computed by the database.
pub const FIGURE: usize = 50;
/// A panel trend: the scores of two rounds matched municipality by municipality.
pub const PANEL: usize = 200;

/// The complexity left to the operations of one HTTP request (a batch shares it).
#[derive(Clone, Debug)]
pub struct BatchBudget(Arc<AtomicUsize>);

impl BatchBudget {
    pub fn new(budget: usize) -> Self {
        Self(Arc::new(AtomicUsize::new(budget)))
    }

    /// Takes `cost` from the budget; `false` (and nothing taken) when it is not there.
    pub fn take(&self, cost: usize) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(cost)
            })
            .is_ok()
    }
}

/// What the figures at the root of `doc`'s costliest operation add to its
/// complexity.
pub fn surcharge(doc: &ExecutableDocument, variables: &Variables, cache: &FigureCache) -> usize {
    doc.operations
        .iter()
        .map(|(_, op)| root_cost(doc, &op.node.selection_set.node, variables, cache, 0))
        .max()
        .unwrap_or(0)
}

fn root_cost(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    variables: &Variables,
    cache: &FigureCache,
    depth: usize,
) -> usize {
    // Fragments that spread each other are refused by validation later;
    // here they just stop adding.
    if depth > 8 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                let arg = |name: &str| {
                    f.node.get_argument(name).and_then(|v| {
                        v.node
                            .clone()
                            .into_const_with(|var| variables.get(&var).cloned().ok_or(()))
                            .ok()
                    })
                };
                field_cost(f.node.name.node.as_str(), &arg, cache)
            }
            Selection::InlineFragment(f) => {
                root_cost(doc, &f.node.selection_set.node, variables, cache, depth + 1)
            }
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .map_or(0, |f| {
                    root_cost(doc, &f.node.selection_set.node, variables, cache, depth + 1)
                }),
        })
        .sum()
}

fn field_cost(name: &str, arg: &dyn Fn(&str) -> Option<ConstValue>, cache: &FigureCache) -> usize {
    let round = || match arg("roundId") {
        Some(ConstValue::String(id)) => Uuid::parse_str(&id).ok(),
        _ => None,
    };
    let grouping = || {
        let name = match arg("grouping") {
            Some(ConstValue::Enum(g)) => g.to_string(),
            Some(ConstValue::String(g)) => g,
            _ => return None,
        };
        match name.as_str() {
            "NATIONAL" => Some(Grouping::National),
            "GROUP" => Some(Grouping::Group),
            "SUBGROUP" => Some(Grouping::Subgroup),
            "COUNTY" => Some(Grouping::County),
            _ => None,
        }
    };
    let aggregates_cached = |round: Option<Uuid>| match (round, grouping()) {
        (Some(r), Some(g)) => cache.has_aggregates(r, g),
        _ => false,
    };
    match name {
        "maturityAggregates" if aggregates_cached(round()) => CACHED,
        "answerDistribution" if round().is_some_and(|r| cache.has_cells(r)) => CACHED,
        "maturityAggregates" | "answerDistribution" | "processShare" | "estimatedWeeklyHours" => {
            FIGURE
        }
        "maturityTrend" => {
            let panel = matches!(arg("panel"), Some(ConstValue::Boolean(true)));
            let baseline = match arg("baselineRoundId") {
                Some(ConstValue::String(id)) => Uuid::parse_str(&id).ok(),
                // The round's own baseline: known once the round is read.
                _ => round(),
            };
            if panel {
                PANEL
            } else if aggregates_cached(round()) && aggregates_cached(baseline) {
                CACHED
            } else {
                2 * FIGURE
            }
        }
        "maturitySeries" => {
            let rounds: Vec<Option<Uuid>> = match arg("roundIds") {
                Some(ConstValue::List(ids)) => ids
                    .iter()
                    .map(|id| match id {
                        ConstValue::String(id) => Uuid::parse_str(id).ok(),
                        _ => None,
                    })
                    .collect(),
                _ => vec![None],
            };
            rounds
                .into_iter()
                .map(|r| if aggregates_cached(r) { CACHED } else { FIGURE })
                .sum()
        }
        "distributionTrend" | "processShareTrend" | "estimatedWeeklyHoursTrend" => 2 * FIGURE,
        "myComparison" => 2 * FIGURE,
        "participation" => FIGURE / 2,
        _ => 0,
    }
}
