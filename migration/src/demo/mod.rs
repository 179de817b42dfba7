//! Demo answers for the 2019 and 2023 reference rounds whose totals are what
//! SKR published (`published-2023.json`); every single municipality's
//! answers are fictitious.
//!
//! How it works:
//! 1. Each published figure becomes a linear constraint on the number of
//!    municipalities per (group, option) of one question: a stated option
//!    count, "has a process" (any Ja answer), level 2 (Ja, fullt/delvis),
//!    "adopted", "no answer", the maturity tables' level-2 counts and the
//!    weekly-hours estimates (span midpoints).
//! 2. A small deterministic local search finds counts that meet them all, or
//!    as many as the report's own inconsistencies allow (weighted: the
//!    maturity tables first).
//! 3. Within each group, municipalities are ordered by a hash of their code;
//!    the first ones respond, the first of those submit, and each question's
//!    option counts are dealt out in a per-question order, submitted
//!    responses first, so every submitted response answers every question it
//!    is asked.
//!
//! [`facts`] turns figures into constraints, [`solver`] searches, [`deal`]
//! hands counts out to municipalities and [`write`] stores a plan.

mod deal;
mod facts;
mod solver;
mod write;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::reference::{self, RoundSpec};
use deal::status_split;
use facts::{PUBLISHED_JSON, Published, constraints_for};
use solver::Search;

pub use facts::{Fact, published_facts};
pub use solver::QuestionCounts;
pub use write::write;

/// The three main groups, in order.
pub const GROUPS: [&str; 3] = ["A", "B", "C"];

/// The plan for one reference round: responses per group and counts per question.
#[derive(Clone, Debug)]
pub struct RoundPlan {
    pub year: i32,
    pub respondents: [i64; 3],
    pub submitted: [i64; 3],
    pub questions: Vec<QuestionCounts>,
    /// Constraints the counts do not meet (the report's inconsistencies), as text.
    pub unmet: Vec<String>,
    /// One generated response per responding municipality, by code.
    pub responses: Vec<DemoResponse>,
}

/// Solves the counts of every question of a round and deals them out to the
/// municipalities: `members[g]` are the codes of group `g` under the round's
/// classification.
pub fn plan(
    spec: &RoundSpec,
    members: &[Vec<String>; 3],
) -> Result<RoundPlan, reference::DataError> {
    let published: Published = serde_json::from_str(PUBLISHED_JSON)?;
    let split = status_split(spec.year);
    let year = spec.year.to_string();
    let populations: [i64; 3] = std::array::from_fn(|g| members[g].len() as i64);
    let respondents = deal::respondents(members, &split, &year);
    let mut answers: BTreeMap<String, Vec<(String, String)>> = respondents
        .iter()
        .flatten()
        .map(|c| (c.clone(), Vec::new()))
        .collect();
    let mut plan = RoundPlan {
        year: spec.year,
        respondents: split.respondents,
        submitted: split.submitted,
        questions: Vec::new(),
        unmet: Vec::new(),
        responses: Vec::new(),
    };
    for q in spec.areas.iter().flat_map(|a| a.questions.iter()) {
        let options: Vec<String> = q.options.iter().map(|o| o.key.clone()).collect();
        let (constraints, describe) = constraints_for(&published, spec.year, q, populations);
        let eligible = deal::eligible(&respondents, &answers, q, &split, &year);
        // Submitting responses must answer every question they are asked.
        let hi: [i64; 3] = std::array::from_fn(|g| eligible[g].len() as i64);
        let lo: [i64; 3] = std::array::from_fn(|g| {
            eligible[g].iter().filter(|(rank, _, _)| *rank == 0).count() as i64
        });
        let mut search = Search::new(options.len(), lo, hi, constraints);
        search.run();
        for (ci, c) in search.constraints.iter().enumerate() {
            if !search.met(ci) {
                let got = if c.halves {
                    search.values[ci] as f64 / 2.0
                } else {
                    search.values[ci] as f64
                };
                plan.unmet.push(format!("{} (got {got})", describe[ci]));
            }
        }
        deal::deal(&eligible, &search.x, &options, &q.key, &year, &mut answers);
        plan.questions.push(QuestionCounts {
            key: q.key.clone(),
            options,
            counts: search.x.clone(),
        });
    }
    plan.responses = deal::responses(spec, &respondents, &split, answers);
    Ok(plan)
}

/// One municipality's generated response.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoResponse {
    pub municipality_code: String,
    pub submitted: bool,
    /// `(question key, option key)` in questionnaire order.
    pub answers: Vec<(String, String)>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// Municipality codes per main group (A, B, C).
pub type Members = [Vec<String>; 3];

/// The reference rounds, each with its members per group (A, B, C) under
/// the round's own classification: the input of [`plan`].
pub fn reference_rounds() -> Result<Vec<(RoundSpec, Members)>, reference::DataError> {
    let data = reference::load()?;
    let mut out = Vec::new();
    for spec in data.rounds {
        let Some(c) = data
            .classifications
            .iter()
            .find(|c| c.id == spec.classification_id)
        else {
            continue;
        };
        let members: Members = std::array::from_fn(|g| {
            c.members
                .iter()
                .filter(|m| m.group_code == GROUPS[g])
                .map(|m| m.municipality_code.clone())
                .collect()
        });
        out.push((spec, members));
    }
    Ok(out)
}

/// The reference rounds with their demo plans.
pub fn reference_plans() -> Result<Vec<(RoundSpec, RoundPlan)>, reference::DataError> {
    reference_rounds()?
        .into_iter()
        .map(|(spec, members)| {
            let plan = plan(&spec, &members)?;
            Ok((spec, plan))
        })
        .collect()
}

/// The subject written into the audit trail of demo answers.
pub const DEMO_SUBJECT: &str = "mognad-demo";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plans_meet_every_consistent_figure() {
        for (spec, plan) in reference_plans().unwrap() {
            println!("{}: unmet {:#?}", spec.year, plan.unmet);
            let respondents: i64 = plan.respondents.iter().sum();
            assert_eq!(plan.responses.len() as i64, respondents);
            assert!(
                plan.responses.iter().all(|r| !r.answers.is_empty()),
                "every respondent answered something"
            );
            // The maturity tables are met exactly.
            assert!(
                plan.unmet.iter().all(|u| !u.contains("maturity table")),
                "{:?}",
                plan.unmet
            );
        }
    }
}
