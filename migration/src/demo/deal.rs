//! Dealing counts out to municipalities: who responds and submits, who
//! answers which question with which option, and when — each by a stable
//! hash of the municipality's code, so the demo is the same on every run.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::DemoResponse;
use crate::reference::{QuestionSpec, RoundSpec};

/// How one round's responses split per group (A, B, C): respondents,
/// submitted, and of the rest those who answered only part of the
/// questionnaire. The sums are the report's (l.373-378); the split is ours,
/// chosen so that every stated "no answer" count fits (e.g. policy_adopted
/// 2023). The partial respondents come last for every question, so they
/// are the ones without an answer wherever fewer answered than responded;
/// the other unsubmitted ones answered nearly everything.
pub(super) struct StatusSplit {
    pub(super) respondents: [i64; 3],
    pub(super) submitted: [i64; 3],
    pub(super) partial: [i64; 3],
}

pub(super) fn status_split(year: i32) -> StatusSplit {
    match year {
        // 215 submitted + 19 nearly complete + 3 partial = 237 respondents, 53 not started.
        2023 => StatusSplit {
            respondents: [38, 91, 108],
            submitted: [35, 83, 97],
            partial: [1, 1, 1],
        },
        // 242 submitted + 23 partial = 265 respondents, 25 not started (the
        // report gives no "nearly complete" count for 2019).
        _ => StatusSplit {
            respondents: [42, 99, 124],
            submitted: [38, 91, 113],
            partial: [4, 8, 11],
        },
    }
}

/// A stable pseudo-random order key.
pub(super) fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
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

/// Respondents per group, in a stable pseudo-random order; the first
/// `split.submitted[g]` of them submit.
pub(super) fn respondents(
    members: &[Vec<String>; 3],
    split: &StatusSplit,
    year: &str,
) -> [Vec<String>; 3] {
    std::array::from_fn(|g| {
        let mut codes = members[g].clone();
        codes.sort_by_key(|c| hash(&[year, "respond", c]));
        codes.truncate(split.respondents[g] as usize);
        codes
    })
}

/// A respondent who may answer a question: `(rank, order, code)`, sorted:
/// the submitting ones (rank 0) first, then the nearly complete (1), the
/// partial ones (2) last.
pub(super) type Eligible = (u8, u64, String);

/// Who may answer `q` per group: every respondent, or for a conditional
/// question those whose answer so far meets the condition.
pub(super) fn eligible(
    respondents: &[Vec<String>; 3],
    answers: &BTreeMap<String, Vec<(String, String)>>,
    q: &QuestionSpec,
    split: &StatusSplit,
    year: &str,
) -> [Vec<Eligible>; 3] {
    std::array::from_fn(|g| {
        let mut list: Vec<Eligible> = respondents[g]
            .iter()
            .enumerate()
            .filter(|(_, c)| match &q.condition {
                Some((on, wanted)) => answers
                    .get(c.as_str())
                    .is_some_and(|given| given.iter().any(|(k, o)| k == on && wanted.contains(o))),
                None => true,
            })
            .map(|(i, c)| {
                let i = i as i64;
                let rank = if i < split.submitted[g] {
                    0
                } else if i < split.respondents[g] - split.partial[g] {
                    1
                } else {
                    2
                };
                (rank, hash(&[year, &q.key, "who", c]), c.clone())
            })
            .collect();
        list.sort();
        list
    })
}

/// Deals a question's solved counts: per group the first `Σ counts`
/// eligible municipalities (submitting ones first) answer, and the options
/// go out to them in a per-question order.
pub(super) fn deal(
    eligible: &[Vec<Eligible>; 3],
    counts: &[Vec<i64>; 3],
    options: &[String],
    question: &str,
    year: &str,
    answers: &mut BTreeMap<String, Vec<(String, String)>>,
) {
    for (g, eligible) in eligible.iter().enumerate() {
        let answered: i64 = counts[g].iter().sum();
        let mut dealt: Vec<&String> = eligible
            .iter()
            .take(answered as usize)
            .map(|(_, _, c)| c)
            .collect();
        dealt.sort_by_key(|c| hash(&[year, question, "what", c]));
        let mut next = dealt.into_iter();
        for (o, n) in options.iter().zip(&counts[g]) {
            for c in next.by_ref().take(*n as usize) {
                if let Some(list) = answers.get_mut(c.as_str()) {
                    list.push((question.to_owned(), o.clone()));
                }
            }
        }
    }
}

/// The responses with their answers and times, by municipality code.
pub(super) fn responses(
    spec: &RoundSpec,
    respondents: &[Vec<String>; 3],
    split: &StatusSplit,
    mut answers: BTreeMap<String, Vec<(String, String)>>,
) -> Vec<DemoResponse> {
    let year = spec.year.to_string();
    let (start, end) = period(spec);
    let span = (end - start).num_minutes().max(2) as u64;
    let mut out = Vec::new();
    for (g, respondents) in respondents.iter().enumerate() {
        for (i, code) in respondents.iter().enumerate() {
            let h = hash(&[&year, "when", code]);
            let started_at = start + Duration::minutes((h % (span / 2)) as i64);
            let finished_at = started_at + Duration::minutes(((h >> 20) % (span / 2)) as i64 + 30);
            out.push(DemoResponse {
                municipality_code: code.clone(),
                submitted: (i as i64) < split.submitted[g],
                answers: answers.remove(code).unwrap_or_default(),
                started_at,
                finished_at,
            });
        }
    }
    out.sort_by(|a, b| a.municipality_code.cmp(&b.municipality_code));
    out
}
