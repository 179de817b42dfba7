//! The published figures as constraints: every number of
//! `published-2023.json` becomes a linear constraint on how many
//! municipalities per group chose which options of one question.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::GROUPS;
use crate::reference::{OptionSpec, QuestionSpec};

pub(super) const PUBLISHED_JSON: &str = include_str!("../../data/published-2023.json");

#[derive(Deserialize)]
pub(super) struct Published {
    pub(super) facts: Vec<Fact>,
    level2_counts: BTreeMap<String, BTreeMap<String, Vec<i64>>>,
    maturity_area_questions: BTreeMap<String, String>,
    derived: Vec<serde_json::Value>,
}

/// One published figure.
#[derive(Clone, Debug, Deserialize)]
pub struct Fact {
    pub round: i32,
    pub question: String,
    pub group: String,
    pub option: String,
    pub count: i64,
    pub source_line: i64,
    #[serde(default)]
    pub figure: Option<String>,
}

/// The options a published measure counts, or `None` for "no answer", by
/// what the options mean (their `affirmative` flag and maturity level).
fn measure(option: &str, options: &[OptionSpec]) -> Option<Vec<usize>> {
    let pick = |f: &dyn Fn(&OptionSpec) -> bool| {
        options
            .iter()
            .enumerate()
            .filter(|(_, o)| f(o))
            .map(|(i, _)| i)
            .collect()
    };
    Some(match option {
        "no_answer" => return None,
        "has_process" => pick(&|o| o.affirmative),
        // Ja, but not "fullt genomfört": the processes being put in place.
        "in_progress" => pick(&|o| o.affirmative && o.key != "yes_fully"),
        "level2" => pick(&|o| o.maturity_level.is_some_and(|l| l >= 2)),
        "adopted" => pick(&|o| o.key != "dont_know"),
        key => pick(&|o| o.key == key),
    })
}

/// `Σ coef · x[group][option] = target` over one group or (None) all groups,
/// met when within `slack` of the target.
#[derive(Clone, Debug)]
pub(super) struct Constraint {
    pub(super) group: Option<usize>,
    pub(super) terms: Vec<(usize, i64)>,
    pub(super) target: i64,
    pub(super) weight: i64,
    pub(super) slack: i64,
    /// The constraint counts half-hours (an hours estimate).
    pub(super) halves: bool,
}

/// Weights: the maturity tables first, then stated counts, then estimates.
const TABLE: i64 = 1_000_000;
const STATED: i64 = 1_000;
const ESTIMATE: i64 = 3;

/// The published figures, parsed.
pub fn published_facts() -> Vec<Fact> {
    serde_json::from_str::<Published>(PUBLISHED_JSON)
        .map(|p| p.facts)
        .unwrap_or_default()
}

fn group_index(group: &str) -> Option<Option<usize>> {
    match group {
        "national" => Some(None),
        g => GROUPS.iter().position(|x| *x == g).map(Some),
    }
}

/// The published figures about one question as constraints (with a text for each).
pub(super) fn constraints_for(
    published: &Published,
    year: i32,
    q: &QuestionSpec,
    populations: [i64; 3],
) -> (Vec<Constraint>, Vec<String>) {
    let options = &q.options;
    let mut constraints = Vec::new();
    let mut describe = Vec::new();
    let all: Vec<(usize, i64)> = (0..options.len()).map(|i| (i, 1)).collect();
    for f in published
        .facts
        .iter()
        .filter(|f| f.round == year && f.question == q.key)
    {
        let Some(group) = group_index(&f.group) else {
            continue;
        };
        let (terms, target) = match measure(&f.option, options) {
            Some(set) if set.is_empty() => continue,
            Some(set) => (set.into_iter().map(|i| (i, 1)).collect(), f.count),
            None => {
                let population = group.map_or(populations.iter().sum(), |g| populations[g]);
                (all.clone(), population - f.count)
            }
        };
        constraints.push(Constraint {
            group,
            terms,
            target,
            weight: STATED,
            slack: 0,
            halves: false,
        });
        describe.push(format!(
            "{} {} {} = {} (l.{})",
            f.question, f.group, f.option, f.count, f.source_line
        ));
    }
    if let Some((area, _)) = published
        .maturity_area_questions
        .iter()
        .find(|(_, k)| **k == q.key)
        && let Some(by_group) = published.level2_counts.get(&year.to_string())
    {
        let index: usize = area.parse::<usize>().unwrap_or(1) - 1;
        for (group, counts) in by_group {
            let (Some(g), Some(target)) = (group_index(group), counts.get(index)) else {
                continue;
            };
            let terms = measure("level2", options)
                .unwrap_or_default()
                .into_iter()
                .map(|i| (i, 1))
                .collect();
            constraints.push(Constraint {
                group: g,
                terms,
                target: *target,
                weight: TABLE,
                slack: 0,
                halves: false,
            });
            describe.push(format!(
                "level 2 {group} area {area} = {target} (maturity table)"
            ));
        }
    }
    if q.key == "function_hours" {
        for (group, value) in weekly_hours(&published.derived, year) {
            // Twice each span's midpoint (1-10 h: 11 half-hours).
            let terms: Vec<(usize, i64)> = options
                .iter()
                .enumerate()
                .filter_map(|(i, o)| o.hours.map(|(from, to)| (i, (from + to) as i64)))
                .collect();
            // The report rounds its estimates to whole hours: within half an hour.
            // Where they cannot all be met, the earlier groups are met first.
            let weight = ESTIMATE * (3 - group as i64);
            constraints.push(Constraint {
                group: Some(group),
                terms,
                target: value * 2,
                weight,
                slack: 1,
                halves: true,
            });
            describe.push(format!(
                "weekly hours {} = {value} (Figur 9)",
                GROUPS[group]
            ));
        }
    }
    (constraints, describe)
}

/// The report's weekly-hours estimates per group for a round.
fn weekly_hours(derived: &[serde_json::Value], year: i32) -> Vec<(usize, i64)> {
    let Some(d) = derived.iter().find(|d| d["id"] == "weekly_hours_estimate") else {
        return Vec::new();
    };
    GROUPS
        .iter()
        .enumerate()
        .filter_map(|(g, name)| d["values"][year.to_string()][name].as_i64().map(|v| (g, v)))
        .collect()
}
