//! Mapping across rounds: which question and option of a baseline round
//! each question and option of a round continues.
//!
//! The rules, applied the same way by every figure that compares rounds
//! question by question (`distributionTrend`) and shown by
//! `surveyRound { mapping }`:
//!
//! 1. A question's predecessor is the baseline's question with the key it
//!    names (`predecessor_key`), or else the baseline's question with its
//!    own key. Where the baseline has no such question, the question is new
//!    in the round: unmapped, and a comparison has no baseline for it.
//! 2. An option's predecessor is, among the predecessor question's options,
//!    the one it names, or else the one with its own key; where there is
//!    none (2023's "Vet inte"), the option is unmapped: its baseline count is
//!    null, not zero.
//! 3. Baseline questions and options no one continues are listed as dropped,
//!    so nothing disappears silently.
//!
//! Authoring keeps the mapping one-to-one (two questions or two options of
//! one question never continue the same predecessor); see
//! [`crate::services::authoring`].

use std::collections::{HashMap, HashSet};

use crate::services::questionnaire::Questionnaire;

/// What one option of a round continues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionLink {
    pub key: String,
    /// The baseline option's key; `None` when unmapped.
    pub predecessor: Option<String>,
}

/// What one question of a round continues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionLink {
    pub key: String,
    /// The baseline question's key; `None` when the question is new.
    pub predecessor: Option<String>,
    /// True where the predecessor was named rather than found by key.
    pub renamed: bool,
    pub options: Vec<OptionLink>,
    /// Options of the predecessor that no option continues.
    pub dropped_options: Vec<String>,
}

/// A round's questionnaire mapped onto its baseline's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub questions: Vec<QuestionLink>,
    /// Baseline questions that no question continues.
    pub dropped_questions: Vec<String>,
}

impl Mapping {
    pub fn question(&self, key: &str) -> Option<&QuestionLink> {
        self.questions.iter().find(|q| q.key == key)
    }
}

impl QuestionLink {
    /// The baseline option key that an option of this question continues.
    pub fn option_predecessor(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.key == key)
            .and_then(|o| o.predecessor.as_deref())
    }
}

/// Maps `current` onto `baseline` by the rules above.
pub fn map(current: &Questionnaire, baseline: &Questionnaire) -> Mapping {
    let mut continued: HashSet<&str> = HashSet::new();
    let mut questions = Vec::new();
    for q in &current.questions {
        let named = q.predecessor_key.as_deref();
        let target = named.unwrap_or(q.key.as_str());
        let before = baseline.question_by_key(target);
        let mut options = Vec::new();
        let mut dropped_options = Vec::new();
        if let Some(before) = before {
            continued.insert(before.key.as_str());
            let earlier: Vec<&str> = baseline
                .options_of(before.id)
                .iter()
                .map(|o| o.key.as_str())
                .collect();
            let mut used: HashSet<&str> = HashSet::new();
            for o in current.options_of(q.id) {
                let wanted = o.predecessor_key.as_deref().unwrap_or(o.key.as_str());
                let predecessor = earlier.iter().find(|k| **k == wanted).copied();
                if let Some(p) = predecessor {
                    used.insert(p);
                }
                options.push(OptionLink {
                    key: o.key.clone(),
                    predecessor: predecessor.map(str::to_owned),
                });
            }
            dropped_options = earlier
                .iter()
                .filter(|k| !used.contains(**k))
                .map(|k| (*k).to_owned())
                .collect();
        } else {
            options = current
                .options_of(q.id)
                .iter()
                .map(|o| OptionLink {
                    key: o.key.clone(),
                    predecessor: None,
                })
                .collect();
        }
        questions.push(QuestionLink {
            key: q.key.clone(),
            predecessor: before.map(|b| b.key.clone()),
            renamed: before.is_some() && named.is_some_and(|n| n != q.key),
            options,
            dropped_options,
        });
    }
    let dropped_questions = baseline
        .questions
        .iter()
        .filter(|b| !continued.contains(b.key.as_str()))
        .map(|b| b.key.clone())
        .collect();
    Mapping {
        questions,
        dropped_questions,
    }
}

/// Which baseline options each option continues, by key, for one question
/// (an empty map where the question is new).
pub fn option_map(link: Option<&QuestionLink>) -> HashMap<String, Option<String>> {
    link.map(|l| {
        l.options
            .iter()
            .map(|o| (o.key.clone(), o.predecessor.clone()))
            .collect()
    })
    .unwrap_or_default()
}
