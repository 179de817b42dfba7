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

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::reference::{self, AreaSpec, QuestionSpec, RoundSpec};

const PUBLISHED_JSON: &str = include_str!("../data/published-2023.json");

/// The three main groups, in order.
pub const GROUPS: [&str; 3] = ["A", "B", "C"];

/// How one round's responses split per group (A, B, C): respondents and
/// submitted. The sums are the report's (l.373-378); the split is ours, chosen
/// so that every stated "no answer" count fits (e.g. policy_adopted 2023).
struct StatusSplit {
    respondents: [i64; 3],
    submitted: [i64; 3],
}

fn status_split(year: i32) -> StatusSplit {
    match year {
        // 215 submitted + 19 + 3 in progress = 237 respondents, 53 not started.
        2023 => StatusSplit {
            respondents: [38, 91, 108],
            submitted: [35, 83, 97],
        },
        // 242 submitted + 23 in progress = 265 respondents, 25 not started.
        _ => StatusSplit {
            respondents: [42, 99, 124],
            submitted: [38, 91, 113],
        },
    }
}

#[derive(Deserialize)]
struct Published {
    facts: Vec<Fact>,
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

/// Option keys that say "Ja" on the implementation scale ("har en fastställd process").
pub fn is_ja(option: &str) -> bool {
    option.starts_with("yes_")
}

/// The options a published measure counts, or `None` for "no answer".
fn measure(option: &str, options: &[String]) -> Option<Vec<usize>> {
    let pick = |f: &dyn Fn(&str) -> bool| {
        options
            .iter()
            .enumerate()
            .filter(|(_, o)| f(o))
            .map(|(i, _)| i)
            .collect()
    };
    Some(match option {
        "no_answer" => return None,
        "has_process" => pick(&|o| is_ja(o)),
        "in_progress" => pick(&|o| is_ja(o) && o != "yes_fully"),
        "level2" => pick(&|o| o == "yes_fully" || o == "yes_partially"),
        "adopted" => pick(&|o| o != "dont_know"),
        key => pick(&|o| o == key),
    })
}

/// `Σ coef · x[group][option] = target` over one group or (None) all groups,
/// met when within `slack` of the target.
#[derive(Clone, Debug)]
struct Constraint {
    group: Option<usize>,
    terms: Vec<(usize, i64)>,
    target: i64,
    weight: i64,
    slack: i64,
    /// The constraint counts half-hours (an hours estimate).
    halves: bool,
}

/// Weights: the maturity tables first, then stated counts, then estimates.
const TABLE: i64 = 1_000_000;
const STATED: i64 = 1_000;
const ESTIMATE: i64 = 3;

/// The solved counts of one question: per group, per option.
#[derive(Clone, Debug)]
pub struct QuestionCounts {
    pub key: String,
    pub options: Vec<String>,
    pub counts: [Vec<i64>; 3],
}

impl QuestionCounts {
    pub fn answered(&self, g: usize) -> i64 {
        self.counts[g].iter().sum()
    }
}

/// A deterministic local search over per-group option counts.
struct Search {
    x: [Vec<i64>; 3],
    lo: [i64; 3],
    hi: [i64; 3],
    constraints: Vec<Constraint>,
    values: Vec<i64>,
    /// For each (group, option): the constraints it appears in, with coefficients.
    touches: [Vec<Vec<(usize, i64)>>; 3],
}

impl Search {
    fn new(n: usize, lo: [i64; 3], hi: [i64; 3], constraints: Vec<Constraint>) -> Self {
        let mut touches: [Vec<Vec<(usize, i64)>>; 3] = std::array::from_fn(|_| vec![Vec::new(); n]);
        for (ci, c) in constraints.iter().enumerate() {
            for (g, per_option) in touches.iter_mut().enumerate() {
                if c.group.is_none_or(|cg| cg == g) {
                    for (o, coef) in &c.terms {
                        per_option[*o].push((ci, *coef));
                    }
                }
            }
        }
        // Start with every asked respondent answering, spread evenly.
        let x: [Vec<i64>; 3] = std::array::from_fn(|g| {
            let n_i = n as i64;
            (0..n_i)
                .map(|i| hi[g] / n_i + i64::from(i < hi[g] % n_i))
                .collect()
        });
        let mut s = Self {
            x,
            lo,
            hi,
            values: vec![0; constraints.len()],
            constraints,
            touches,
        };
        for g in 0..3 {
            for o in 0..n {
                for (ci, coef) in s.touches[g][o].clone() {
                    s.values[ci] += coef * s.x[g][o];
                }
            }
        }
        s
    }

    fn cost_of(&self, ci: usize, value: i64) -> i64 {
        let c = &self.constraints[ci];
        c.weight * ((value - c.target).abs() - c.slack).max(0)
    }

    fn met(&self, ci: usize) -> bool {
        self.cost_of(ci, self.values[ci]) == 0
    }

    /// The change in cost if x[g][o] += d for each (g, o, d).
    fn delta(&self, changes: &[(usize, usize, i64)]) -> i64 {
        let mut touched: Vec<(usize, i64)> = Vec::new();
        for (g, o, d) in changes {
            for (ci, coef) in &self.touches[*g][*o] {
                match touched.iter_mut().find(|(c, _)| c == ci) {
                    Some((_, acc)) => *acc += coef * d,
                    None => touched.push((*ci, coef * d)),
                }
            }
        }
        touched
            .iter()
            .map(|(ci, dv)| {
                self.cost_of(*ci, self.values[*ci] + dv) - self.cost_of(*ci, self.values[*ci])
            })
            .sum()
    }

    fn feasible(&self, changes: &[(usize, usize, i64)]) -> bool {
        let mut totals: [i64; 3] = std::array::from_fn(|g| self.x[g].iter().sum());
        for (g, o, d) in changes {
            if self.x[*g][*o] + d < 0 {
                return false;
            }
            totals[*g] += d;
        }
        (0..3).all(|g| totals[g] >= self.lo[g] && totals[g] <= self.hi[g])
    }

    fn apply(&mut self, changes: &[(usize, usize, i64)]) {
        for (g, o, d) in changes {
            self.x[*g][*o] += d;
            for (ci, coef) in self.touches[*g][*o].clone() {
                self.values[ci] += coef * d;
            }
        }
    }

    fn total_cost(&self) -> i64 {
        (0..self.constraints.len())
            .map(|ci| self.cost_of(ci, self.values[ci]))
            .sum()
    }

    /// Moves tried by the descent: within a group (shift, add, remove),
    /// across groups (the same option, or a shift in one group paired with
    /// an add or remove in another) and two-group swaps.
    fn moves(n: usize) -> Vec<Vec<(usize, usize, i64)>> {
        let mut moves = Vec::new();
        for k in [1, 3, 10] {
            for g in 0..3 {
                for a in 0..n {
                    moves.push(vec![(g, a, k)]);
                    moves.push(vec![(g, a, -k)]);
                    for b in (0..n).filter(|b| *b != a) {
                        moves.push(vec![(g, a, -k), (g, b, k)]);
                    }
                }
            }
            for g1 in 0..3 {
                for g2 in (0..3).filter(|g| *g != g1) {
                    for a in 0..n {
                        moves.push(vec![(g1, a, -k), (g2, a, k)]);
                        for b in (0..n).filter(|b| *b != a) {
                            moves.push(vec![(g1, a, -k), (g1, b, k), (g2, a, k), (g2, b, -k)]);
                            moves.push(vec![(g1, a, -k), (g2, b, k)]);
                            for c in 0..n {
                                moves.push(vec![(g1, a, -k), (g1, b, k), (g2, c, -k)]);
                                moves.push(vec![(g1, a, -k), (g1, b, k), (g2, c, k)]);
                            }
                        }
                    }
                }
            }
        }
        moves
    }

    fn descend(&mut self, moves: &[Vec<(usize, usize, i64)>]) {
        for _ in 0..10_000 {
            let mut best: (i64, Option<usize>) = (0, None);
            for (i, m) in moves.iter().enumerate() {
                if self.feasible(m) {
                    let d = self.delta(m);
                    if d < best.0 {
                        best = (d, Some(i));
                    }
                }
            }
            match best.1 {
                Some(i) => self.apply(&moves[i]),
                None => return,
            }
        }
    }

    /// Descends, then kicks the counts a few times with a fixed-seed random
    /// move and descends again, keeping the best counts found.
    fn run(&mut self) {
        let moves = Self::moves(self.x[0].len());
        self.descend(&moves);
        let mut best = (self.total_cost(), self.x.clone());
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..400 {
            if best.0 == 0 {
                break;
            }
            // Start each kick from the best counts so far.
            if round % 20 == 19 {
                self.reset_to(&best.1);
            }
            for _ in 0..(1 + seed % 4) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let m = &moves[(seed % moves.len() as u64) as usize];
                if self.feasible(m) {
                    self.apply(m);
                }
            }
            self.descend(&moves);
            let cost = self.total_cost();
            if cost < best.0 {
                best = (cost, self.x.clone());
            }
        }
        self.reset_to(&best.1);
    }

    fn reset_to(&mut self, target: &[Vec<i64>; 3]) {
        let diff: Vec<(usize, usize, i64)> = (0..3)
            .flat_map(|g| (0..target[g].len()).map(move |o| (g, o)))
            .map(|(g, o)| (g, o, target[g][o] - self.x[g][o]))
            .filter(|(_, _, d)| *d != 0)
            .collect();
        self.apply(&diff);
    }
}

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
    // Respondents per group, in a stable pseudo-random order; the first `submitted` submit.
    let respondents: [Vec<String>; 3] = std::array::from_fn(|g| {
        let mut codes = members[g].clone();
        codes.sort_by_key(|c| hash(&[&year, "respond", c]));
        codes.truncate(split.respondents[g] as usize);
        codes
    });
    let mut answers: BTreeMap<String, Vec<(String, String)>> = respondents
        .iter()
        .flatten()
        .map(|c| (c.clone(), Vec::new()))
        .collect();
    let questions: Vec<&QuestionSpec> = spec
        .areas
        .iter()
        .flat_map(|a: &AreaSpec| a.questions.iter())
        .collect();
    let mut plan = RoundPlan {
        year: spec.year,
        respondents: split.respondents,
        submitted: split.submitted,
        questions: Vec::new(),
        unmet: Vec::new(),
        responses: Vec::new(),
    };
    for q in questions {
        let options: Vec<String> = q.options.iter().map(|o| o.key.clone()).collect();
        let (constraints, describe) =
            constraints_for(&published, spec.year, q, &options, populations);
        // Who may answer: every respondent, or for a conditional question those
        // whose answer meets the condition. Submitted responses must answer.
        let eligible: [Vec<(bool, u64, String)>; 3] = std::array::from_fn(|g| {
            let mut list: Vec<(bool, u64, String)> = respondents[g]
                .iter()
                .enumerate()
                .filter(|(_, c)| match &q.condition {
                    Some((on, wanted)) => answers[c.as_str()]
                        .iter()
                        .any(|(k, o)| k == on && wanted.contains(o)),
                    None => true,
                })
                .map(|(i, c)| {
                    (
                        i as i64 >= split.submitted[g],
                        hash(&[&year, &q.key, "who", c]),
                        c.clone(),
                    )
                })
                .collect();
            list.sort();
            list
        });
        let hi: [i64; 3] = std::array::from_fn(|g| eligible[g].len() as i64);
        let lo: [i64; 3] =
            std::array::from_fn(|g| eligible[g].iter().filter(|(rest, _, _)| !rest).count() as i64);
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
        // Deal: the first `answered` eligible (submitted first) answer, the
        // options go out in a per-question order.
        for (g, eligible) in eligible.iter().enumerate() {
            let answered: i64 = search.x[g].iter().sum();
            let mut dealt: Vec<&String> = eligible
                .iter()
                .take(answered as usize)
                .map(|(_, _, c)| c)
                .collect();
            dealt.sort_by_key(|c| hash(&[&year, &q.key, "what", c]));
            let mut next = dealt.into_iter();
            for (o, n) in options.iter().zip(&search.x[g]) {
                for c in next.by_ref().take(*n as usize) {
                    if let Some(list) = answers.get_mut(c.as_str()) {
                        list.push((q.key.clone(), o.clone()));
                    }
                }
            }
        }
        plan.questions.push(QuestionCounts {
            key: q.key.clone(),
            options,
            counts: search.x.clone(),
        });
    }
    let (start, end) = period(spec);
    let span = (end - start).num_minutes().max(2) as u64;
    for (g, respondents) in respondents.iter().enumerate() {
        for (i, code) in respondents.iter().enumerate() {
            let h = hash(&[&year, "when", code]);
            let started_at = start + Duration::minutes((h % (span / 2)) as i64);
            let finished_at = started_at + Duration::minutes(((h >> 20) % (span / 2)) as i64 + 30);
            plan.responses.push(DemoResponse {
                municipality_code: code.clone(),
                submitted: (i as i64) < split.submitted[g],
                answers: answers.remove(code).unwrap_or_default(),
                started_at,
                finished_at,
            });
        }
    }
    plan.responses
        .sort_by(|a, b| a.municipality_code.cmp(&b.municipality_code));
    Ok(plan)
}

/// The published figures about one question as constraints (with a text for each).
fn constraints_for(
    published: &Published,
    year: i32,
    q: &QuestionSpec,
    options: &[String],
    populations: [i64; 3],
) -> (Vec<Constraint>, Vec<String>) {
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
            let terms: Vec<(usize, i64)> = options
                .iter()
                .enumerate()
                .filter_map(|(i, o)| midpoint_x2(o).map(|w| (i, w)))
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

/// Twice the span midpoint of an hours option (5.5 h -> 11), `None` for the rest.
fn midpoint_x2(option: &str) -> Option<i64> {
    match option {
        "h_1_10" => Some(11),
        "h_11_20" => Some(31),
        "h_21_30" => Some(51),
        "h_31_40" => Some(71),
        _ => None,
    }
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

/// A stable pseudo-random order key.
fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
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

/// When the round's answers were given (the 2019 dates are not in the report).
fn period(spec: &RoundSpec) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or_default()
    };
    match (spec.opens_at, spec.closes_at) {
        (Some(a), Some(b)) => (a, b),
        _ => (day(spec.year, 3, 1), day(spec.year, 5, 31)),
    }
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

/// Writes a plan's responses, answers, chosen options and audit events into
/// round `round_id` (whose questionnaire has the plan's keys). Returns the
/// number of responses written.
pub async fn write(
    db: &impl sea_orm::ConnectionTrait,
    round_id: uuid::Uuid,
    plan: &RoundPlan,
) -> Result<usize, sea_orm::DbErr> {
    use entity::{
        ResponseStatus, answer, answer_choice, answer_event, answer_option, question, response,
    };
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

    let questions: HashMap<String, uuid::Uuid> = question::Entity::find()
        .filter(question::Column::RoundId.eq(round_id))
        .all(db)
        .await?
        .into_iter()
        .map(|q| (q.key, q.id))
        .collect();
    let options: HashMap<(uuid::Uuid, String), uuid::Uuid> = answer_option::Entity::find()
        .filter(answer_option::Column::QuestionId.is_in(questions.values().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| ((o.question_id, o.key), o.id))
        .collect();
    let (mut responses, mut answers, mut choices, mut events) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in &plan.responses {
        let code = r.municipality_code.clone();
        let answered = r.answers.len() as i32;
        responses.push(response::ActiveModel {
            municipality_code: Set(code.clone()),
            round_id: Set(round_id),
            status: Set(if r.submitted {
                ResponseStatus::Submitted
            } else {
                ResponseStatus::InProgress
            }),
            version: Set(answered + i32::from(r.submitted)),
            created_at: Set(r.started_at),
            updated_at: Set(Some(r.finished_at)),
            submitted_at: Set(r.submitted.then_some(r.finished_at)),
        });
        for (i, (key, option)) in r.answers.iter().enumerate() {
            let Some(question_id) = questions.get(key).copied() else {
                return Err(sea_orm::DbErr::Custom(format!(
                    "demo: round has no question {key}"
                )));
            };
            let Some(option_id) = options.get(&(question_id, option.clone())).copied() else {
                return Err(sea_orm::DbErr::Custom(format!(
                    "demo: question {key} has no option {option}"
                )));
            };
            answers.push(answer::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round_id),
                question_id: Set(question_id),
                number_value: Set(None),
                text_value: Set(None),
                updated_at: Set(r.finished_at),
            });
            choices.push(answer_choice::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round_id),
                question_id: Set(question_id),
                option_id: Set(option_id),
            });
            events.push(answer_event::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round_id),
                question_id: Set(question_id),
                version: Set(i as i32 + 1),
                subject: Set(DEMO_SUBJECT.into()),
                at: Set(r.finished_at),
                before: Set(None),
                after: Set(Some(serde_json::json!({ "choice": option }).to_string())),
                ..Default::default()
            });
        }
    }
    let n = responses.len();
    crate::seed::insert_all(db, responses).await?;
    crate::seed::insert_all(db, answers).await?;
    crate::seed::insert_all(db, choices).await?;
    crate::seed::insert_all(db, events).await?;
    Ok(n)
}

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
