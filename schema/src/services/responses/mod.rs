//! A kommun's own response: reading ([`read`]), checking answers against the
//! questionnaire ([`validate`], pure), and writing them ([`write`]: all or
//! nothing, with optimistic versioning and an append-only audit trail), and
//! submitting and reopening. Every function takes a [`KommunScope`]: there
//! is no way to name another municipality.

mod read;
mod validate;
mod write;

use chrono::{DateTime, Utc};
use entity::{ResponseStatus, response, survey_round};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::QuestionKey;
use crate::tenancy::KommunScope;

pub use read::{answers, history, history_page, read};
pub use validate::{asked, check_value, unanswered_required};
pub use write::{reopen, save, submit};

/// Longest TEXT answer where the question sets no limit, in characters.
pub const DEFAULT_TEXT_LIMIT: usize = 2000;

/// An answer's value, as clients send it and as the audit trail records it
/// (`{"choice":"yes"}`, `{"choices":[…]}`, `{"number":3}`, `{"text":"…"}`).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerValue {
    Choice(String),
    Choices(Vec<String>),
    Number(f64),
    Text(String),
}

impl AnswerValue {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The chosen option keys (empty for numbers and text).
    pub fn choices(&self) -> Vec<String> {
        match self {
            Self::Choice(c) => vec![c.clone()],
            Self::Choices(c) => c.clone(),
            _ => Vec::new(),
        }
    }
}

/// One requested change: `value: None` clears the answer.
#[derive(Clone, Debug)]
pub struct AnswerChange {
    pub question_key: QuestionKey,
    pub value: Option<AnswerValue>,
}

/// A stored answer.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredAnswer {
    pub question_id: Uuid,
    pub question_key: String,
    pub value: AnswerValue,
    pub updated_at: DateTime<Utc>,
}

/// A response as the kommun sees it; `row` is `None` before the first save.
#[derive(Clone, Debug)]
pub struct ResponseView {
    pub scope: KommunScope,
    pub round: survey_round::Model,
    pub row: Option<response::Model>,
    pub answers: Vec<StoredAnswer>,
    pub required_count: i32,
}

impl ResponseView {
    pub fn status(&self) -> ResponseStatus {
        self.row
            .as_ref()
            .map_or(ResponseStatus::NotStarted, |r| r.status)
    }

    pub fn version(&self) -> i32 {
        self.row.as_ref().map_or(0, |r| r.version)
    }
}

/// One audit event.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    /// Orders the trail (the event's id).
    pub id: i64,
    pub subject: String,
    pub at: DateTime<Utc>,
    pub question_key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}
