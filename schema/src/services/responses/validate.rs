//! Checking answers against a round's questionnaire: kinds, options, bounds,
//! conditions, required questions and versions. Pure: no database.

use std::collections::{HashMap, HashSet};

use entity::{QuestionKind, RoundStatus, question, response, survey_round};
use uuid::Uuid;

use super::{AnswerChange, AnswerValue, DEFAULT_TEXT_LIMIT};
use crate::error::{ApiError, ApiResult};
use crate::services::questionnaire::Questionnaire;

/// Whether a question is asked, given the answers (its condition holds).
pub fn asked(
    q: &Questionnaire,
    question: &question::Model,
    values: &HashMap<String, AnswerValue>,
) -> bool {
    let Some(condition) = q.conditions.get(&question.id) else {
        return true;
    };
    values.get(&condition.question_key).is_some_and(|v| {
        v.choices()
            .iter()
            .any(|c| condition.option_keys.contains(c))
    })
}

/// Required questions that are asked and not answered, in questionnaire order.
pub fn unanswered_required(
    q: &Questionnaire,
    values: &HashMap<String, AnswerValue>,
) -> Vec<String> {
    q.questions
        .iter()
        .filter(|question| {
            question.required && asked(q, question, values) && !values.contains_key(&question.key)
        })
        .map(|question| question.key.clone())
        .collect()
}

pub(super) fn required_count(q: &Questionnaire, values: &HashMap<String, AnswerValue>) -> i32 {
    q.questions
        .iter()
        .filter(|question| question.required && asked(q, question, values))
        .count() as i32
}

pub(super) fn require_open(round: &survey_round::Model) -> ApiResult<()> {
    if round.status == RoundStatus::Open {
        Ok(())
    } else {
        Err(ApiError::FailedPrecondition(format!(
            "round {} is {}, not OPEN: answers can no longer be changed",
            round.year, round.status
        )))
    }
}

/// A validated change: the question and the new value with its option ids.
pub(super) struct Checked<'q> {
    pub(super) question: &'q question::Model,
    pub(super) value: Option<(AnswerValue, Vec<Uuid>)>,
}

impl Checked<'_> {
    /// The option a single-choice answer keeps in its own row.
    pub(super) fn own_option(&self) -> Option<Uuid> {
        match (&self.question.kind, &self.value) {
            (QuestionKind::SingleChoice, Some((_, ids))) => ids.first().copied(),
            _ => None,
        }
    }

    /// Whether the answer's options are kept in `answer_choice` (multi-choice).
    pub(super) fn is_listed(&self) -> bool {
        self.question.kind == QuestionKind::MultiChoice
    }

    /// The options a multi-choice answer keeps in `answer_choice`.
    pub(super) fn listed_options(&self) -> &[Uuid] {
        match &self.value {
            Some((_, ids)) if self.is_listed() => ids,
            _ => &[],
        }
    }
}

/// Checks one answer against its question (kind, options, bounds, text
/// length); the ids of the options it chooses, in the order given.
pub fn check_value<'q>(
    q: &'q Questionnaire,
    question: &'q question::Model,
    value: &AnswerValue,
) -> ApiResult<Vec<Uuid>> {
    let key = &question.key;
    let option_id = |choice: &str| {
        let options = q.options_of(question.id);
        options
            .iter()
            .find(|o| o.key == choice)
            .map(|o| o.id)
            .ok_or_else(|| ApiError::bad_input(not_an_option(key, choice, options)))
    };
    match (question.kind, value) {
        (QuestionKind::SingleChoice, AnswerValue::Choice(c)) => Ok(vec![option_id(c)?]),
        (QuestionKind::MultiChoice, AnswerValue::Choices(cs)) => {
            if cs.is_empty() {
                return Err(ApiError::bad_input(format!(
                    "question {key}: choose at least one option (send value: null to clear the answer)"
                )));
            }
            let mut seen = HashSet::new();
            cs.iter()
                .map(|c| {
                    if !seen.insert(c) {
                        return Err(ApiError::bad_input(format!(
                            "question {key}: option {c:?} is chosen twice"
                        )));
                    }
                    option_id(c)
                })
                .collect()
        }
        (QuestionKind::Number, AnswerValue::Number(n)) => {
            let below = question.min_number.is_some_and(|min| *n < min);
            let above = question.max_number.is_some_and(|max| *n > max);
            if !n.is_finite() || below || above {
                let range = match (question.min_number, question.max_number) {
                    (Some(a), Some(b)) => format!("from {a} to {b}"),
                    (Some(a), None) => format!("at least {a}"),
                    (None, Some(b)) => format!("at most {b}"),
                    (None, None) => "a finite number".into(),
                };
                return Err(ApiError::bad_input(format!(
                    "question {key}: {n} is out of range ({range})"
                )));
            }
            Ok(Vec::new())
        }
        (QuestionKind::Text, AnswerValue::Text(t)) => {
            let limit = question
                .max_length
                .map_or(DEFAULT_TEXT_LIMIT, |l| usize::try_from(l).unwrap_or(0));
            let len = t.chars().count();
            if len > limit {
                return Err(ApiError::bad_input(format!(
                    "question {key}: the text has {len} characters; at most {limit} are allowed"
                )));
            }
            Ok(Vec::new())
        }
        (kind, _) => {
            let wanted = match kind {
                QuestionKind::SingleChoice => "choice",
                QuestionKind::MultiChoice => "choices",
                QuestionKind::Number => "number",
                QuestionKind::Text => "text",
            };
            Err(ApiError::bad_input(format!(
                "question {key}: wrong kind of answer; this question takes `{wanted}`"
            )))
        }
    }
}

/// Validates every change against the questionnaire; the first bad one refuses all.
pub(super) fn check_changes<'q>(
    q: &'q Questionnaire,
    changes: &[AnswerChange],
) -> ApiResult<Vec<Checked<'q>>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        let key = change.question_key.as_str();
        let question = q.question_by_key(key).ok_or_else(|| {
            ApiError::bad_input(format!("question {key}: no such question in this round"))
        })?;
        if !seen.insert(key) {
            return Err(ApiError::bad_input(format!(
                "question {key}: answered more than once in one call"
            )));
        }
        let value = match &change.value {
            None => None,
            Some(v) => {
                let ids = check_value(q, question, v)?;
                // Chosen options in the question's order, as they read back.
                let v = match v {
                    AnswerValue::Choices(_) => AnswerValue::Choices(
                        q.options_of(question.id)
                            .iter()
                            .filter(|o| ids.contains(&o.id))
                            .map(|o| o.key.clone())
                            .collect(),
                    ),
                    other => other.clone(),
                };
                Some((v, ids))
            }
        };
        out.push(Checked { question, value });
    }
    Ok(out)
}

pub(super) fn check_version(row: &response::Model, expected: Option<i32>) -> ApiResult<()> {
    match expected {
        Some(expected) if expected != row.version => Err(ApiError::Conflict(format!(
            "the response is at version {}, not {expected}: read it again and retry",
            row.version
        ))),
        _ => Ok(()),
    }
}

/// Every answered question must be asked (its condition must hold).
pub(super) fn check_conditions(
    q: &Questionnaire,
    values: &HashMap<String, AnswerValue>,
) -> ApiResult<()> {
    for question in &q.questions {
        if values.contains_key(&question.key) && !asked(q, question, values) {
            let (on, wanted) = q
                .conditions
                .get(&question.id)
                .map(|c| (c.question_key.as_str(), c.option_keys.join(", ")))
                .unwrap_or_default();
            return Err(ApiError::bad_input(format!(
                "question {}: asked only when {on} is answered with one of [{wanted}]; answer {on} first or clear {}",
                question.key, question.key
            )));
        }
    }
    Ok(())
}

/// Why `choice` is not an option of question `key`: its keys, and the key
/// meant where the option's label was given instead.
fn not_an_option(key: &str, choice: &str, options: &[entity::answer_option::Model]) -> String {
    let wanted = choice.trim().to_lowercase();
    let by_label = options.iter().find(|o| {
        o.label_sv.trim().to_lowercase() == wanted || o.label_en.trim().to_lowercase() == wanted
    });
    if let Some(option) = by_label {
        return format!(
            "question {key}: {choice:?} is the label of option {:?}: give its key",
            option.key
        );
    }
    let keys: Vec<&str> = options.iter().map(|o| o.key.as_str()).collect();
    format!(
        "question {key}: {choice:?} is not one of its options; its keys are {}",
        keys.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(key: &str, kind: QuestionKind) -> question::Model {
        question::Model {
            id: Uuid::new_v4(),
            round_id: Uuid::nil(),
            area_id: Uuid::nil(),
            key: key.into(),
            text_sv: key.into(),
            text_en: key.into(),
            kind,
            required: true,
            maturity: false,
            position: 0,
            condition_question_key: None,
            condition_option_keys: None,
            min_number: None,
            max_number: None,
            max_length: None,
            predecessor_key: None,
        }
    }

    fn option(question: &question::Model, key: &str) -> entity::answer_option::Model {
        entity::answer_option::Model {
            id: Uuid::new_v4(),
            question_id: question.id,
            key: key.into(),
            label_sv: key.into(),
            label_en: key.into(),
            position: 0,
            maturity_level: None,
            affirmative: false,
            hours_from: None,
            hours_to: None,
            predecessor_key: None,
        }
    }

    /// `exists` (yes/no), `hours` (asked when exists = yes), `count`
    /// (0..10), `note` (at most 5 characters), `tools` (a, b; optional).
    fn questionnaire() -> Questionnaire {
        let exists = question("exists", QuestionKind::SingleChoice);
        let mut hours = question("hours", QuestionKind::SingleChoice);
        hours.condition_question_key = Some("exists".into());
        hours.condition_option_keys = Some("[\"yes\"]".into());
        let mut count = question("count", QuestionKind::Number);
        (count.min_number, count.max_number) = (Some(0.0), Some(10.0));
        let mut note = question("note", QuestionKind::Text);
        note.max_length = Some(5);
        let mut tools = question("tools", QuestionKind::MultiChoice);
        tools.required = false;
        let options = HashMap::from([
            (
                exists.id,
                vec![option(&exists, "yes"), option(&exists, "no")],
            ),
            (hours.id, vec![option(&hours, "h_1_10")]),
            (tools.id, vec![option(&tools, "a"), option(&tools, "b")]),
        ]);
        let conditions = [&hours]
            .iter()
            .filter_map(|q| Some((q.id, crate::services::questionnaire::condition(q)?)))
            .collect();
        Questionnaire {
            areas: Vec::new(),
            questions: vec![exists, hours, count, note, tools],
            options,
            conditions,
        }
    }

    fn change(key: &str, value: Option<AnswerValue>) -> AnswerChange {
        AnswerChange {
            question_key: crate::domain::QuestionKey::parse(key).unwrap(),
            value,
        }
    }

    fn refusal(q: &Questionnaire, changes: &[AnswerChange]) -> String {
        match check_changes(q, changes) {
            Err(ApiError::BadUserInput(message)) => message,
            Err(other) => panic!("not BAD_USER_INPUT: {other:?}"),
            Ok(_) => panic!("accepted: {changes:?}"),
        }
    }

    #[test]
    fn good_answers_of_every_kind_pass() {
        let q = questionnaire();
        let checked = check_changes(
            &q,
            &[
                change("exists", Some(AnswerValue::Choice("yes".into()))),
                change("count", Some(AnswerValue::Number(10.0))),
                change("note", Some(AnswerValue::Text("fem t".into()))),
                change(
                    "tools",
                    Some(AnswerValue::Choices(vec!["b".into(), "a".into()])),
                ),
                change("hours", None),
            ],
        )
        .unwrap();
        assert_eq!(checked.len(), 5);
        assert_eq!(checked[3].value.as_ref().unwrap().1.len(), 2);
        // Chosen options come back in the question's order, as they read back,
        // so the same set sent in another order is no change.
        assert_eq!(
            checked[3].value.as_ref().unwrap().0,
            AnswerValue::Choices(vec!["a".into(), "b".into()])
        );
        assert!(checked[4].value.is_none(), "null clears");
    }

    #[test]
    fn every_bad_answer_is_refused_naming_its_question() {
        let q = questionnaire();
        let choice = |c: &str| Some(AnswerValue::Choice(c.into()));
        for (changes, expected) in [
            (
                vec![change("nope", choice("yes"))],
                "nope: no such question",
            ),
            (
                vec![change("exists", choice("h_1_10"))],
                "exists: \"h_1_10\" is not one of its options",
            ),
            (
                vec![change("exists", Some(AnswerValue::Number(1.0)))],
                "exists: wrong kind of answer",
            ),
            (
                vec![change("count", Some(AnswerValue::Number(11.0)))],
                "count: 11 is out of range (from 0 to 10)",
            ),
            (
                vec![change("count", Some(AnswerValue::Number(f64::NAN)))],
                "count: NaN is out of range",
            ),
            (
                vec![change("note", Some(AnswerValue::Text("sex tkn".into())))],
                "note: the text has 7 characters",
            ),
            (
                vec![change("tools", Some(AnswerValue::Choices(vec![])))],
                "tools: choose at least one",
            ),
            (
                vec![change(
                    "tools",
                    Some(AnswerValue::Choices(vec!["a".into(), "a".into()])),
                )],
                "tools: option \"a\" is chosen twice",
            ),
            (
                vec![
                    change("exists", choice("yes")),
                    change("exists", choice("no")),
                ],
                "exists: answered more than once",
            ),
        ] {
            let message = refusal(&q, &changes);
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    #[test]
    fn a_conditional_question_is_asked_only_when_its_condition_holds() {
        let q = questionnaire();
        let mut values =
            HashMap::from([("hours".to_owned(), AnswerValue::Choice("h_1_10".into()))]);
        let message = match check_conditions(&q, &values) {
            Err(ApiError::BadUserInput(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            message.contains("hours: asked only when exists"),
            "{message}"
        );
        values.insert("exists".into(), AnswerValue::Choice("yes".into()));
        assert!(check_conditions(&q, &values).is_ok());
        // Required: hours only while exists = yes; tools never.
        assert_eq!(unanswered_required(&q, &values), ["count", "note"]);
        assert_eq!(required_count(&q, &values), 4);
        values.insert("exists".into(), AnswerValue::Choice("no".into()));
        values.remove("hours");
        assert_eq!(required_count(&q, &values), 3);
    }

    #[test]
    fn a_stale_version_is_a_conflict() {
        let row = response::Model {
            municipality_code: "1280".into(),
            round_id: Uuid::nil(),
            status: entity::ResponseStatus::InProgress,
            version: 3,
            created_at: chrono::Utc::now(),
            updated_at: None,
            submitted_at: None,
        };
        assert!(check_version(&row, None).is_ok());
        assert!(check_version(&row, Some(3)).is_ok());
        assert!(matches!(
            check_version(&row, Some(2)),
            Err(ApiError::Conflict(_))
        ));
    }
}
