//! A kommun's own `Response`, its `Answer`s, audit trail and scores, and the
//! inputs that change them.

use async_graphql::{Context, Enum, ID, InputObject, Object, OneofObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::services::municipalities::{self, Filter};
use crate::services::responses::{self, AnswerChange, ResponseView, StoredAnswer};
use crate::types::municipality::Municipality;
use crate::types::round::{Area, SurveyRound};

/// Where a municipality's response stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ResponseStatus {
    NotStarted,
    InProgress,
    Submitted,
}

impl From<entity::ResponseStatus> for ResponseStatus {
    fn from(s: entity::ResponseStatus) -> Self {
        match s {
            entity::ResponseStatus::NotStarted => Self::NotStarted,
            entity::ResponseStatus::InProgress => Self::InProgress,
            entity::ResponseStatus::Submitted => Self::Submitted,
        }
    }
}

/// A municipality's response to one round (only ever its own).
pub struct Response(pub ResponseView);

#[Object]
impl Response {
    async fn round(&self) -> SurveyRound {
        SurveyRound(self.0.round.clone())
    }

    async fn municipality(&self, ctx: &Context<'_>) -> Result<Municipality> {
        let db = ctx.data::<DatabaseConnection>()?;
        let filter = Filter {
            code: Some(self.0.scope.code().to_owned()),
            ..Filter::default()
        };
        let found = municipalities::list(db, filter).await?.into_iter().next();
        Ok(Municipality(found.ok_or(crate::ApiError::Internal)?))
    }

    async fn status(&self) -> ResponseStatus {
        self.0.status().into()
    }

    async fn answers(&self) -> Vec<Answer> {
        self.0.answers.iter().cloned().map(Answer).collect()
    }

    async fn answered_count(&self) -> i32 {
        self.0.answers.len() as i32
    }

    /// Required questions that are asked, given the answers so far.
    async fn required_count(&self) -> i32 {
        self.0.required_count
    }

    /// Grows by one with every change; pass it back as expectedVersion.
    async fn version(&self) -> i32 {
        self.0.version()
    }

    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.as_ref().and_then(|r| r.updated_at)
    }

    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.as_ref().and_then(|r| r.submitted_at)
    }

    /// The audit trail of this response, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<AnswerEvent>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let entries = responses::history(db, &self.0.scope, self.0.round.id).await?;
        Ok(entries
            .into_iter()
            .map(|e| AnswerEvent {
                subject: e.subject,
                at: e.at,
                question_key: e.question_key,
                before: e.before,
                after: e.after,
            })
            .collect())
    }
}

/// One accepted change to one answer. Never deleted.
#[derive(SimpleObject)]
pub struct AnswerEvent {
    /// The token subject that made the change.
    pub subject: String,
    pub at: DateTime<Utc>,
    pub question_key: String,
    /// The answer before and after, as JSON text; null where there was none.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The current answer to one question.
pub struct Answer(pub StoredAnswer);

#[Object]
impl Answer {
    async fn question_key(&self) -> &str {
        &self.0.question_key
    }

    /// The chosen option keys (one for SINGLE_CHOICE).
    async fn choices(&self) -> Vec<String> {
        self.0.value.choices()
    }

    async fn number(&self) -> Option<f64> {
        match self.0.value {
            responses::AnswerValue::Number(n) => Some(n),
            _ => None,
        }
    }

    async fn text(&self) -> Option<&str> {
        match &self.0.value {
            responses::AnswerValue::Text(t) => Some(t),
            _ => None,
        }
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Exactly one field is set.
#[derive(OneofObject, Clone, Debug)]
pub enum AnswerValue {
    Choice(String),
    Choices(Vec<String>),
    Number(f64),
    Text(String),
}

#[derive(InputObject, Clone, Debug)]
pub struct AnswerInput {
    pub question_key: String,
    /// null clears the answer.
    pub value: Option<AnswerValue>,
}

impl From<AnswerInput> for AnswerChange {
    fn from(input: AnswerInput) -> Self {
        Self {
            question_key: input.question_key,
            value: input.value.map(|v| match v {
                AnswerValue::Choice(c) => responses::AnswerValue::Choice(c),
                AnswerValue::Choices(c) => responses::AnswerValue::Choices(c),
                AnswerValue::Number(n) => responses::AnswerValue::Number(n),
                AnswerValue::Text(t) => responses::AnswerValue::Text(t),
            }),
        }
    }
}

/// A maturity level in one area.
pub struct AreaScore {
    pub area: entity::area::Model,
    pub level: i32,
}

#[Object]
impl AreaScore {
    async fn area(&self) -> Area {
        Area(self.area.clone())
    }

    async fn level(&self) -> i32 {
        self.level
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct CreateSurveyRoundInput {
    pub year: i32,
    pub title: String,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    /// Copy the questionnaire (areas, questions, options, scoring) from this round.
    pub copy_from: ID,
    pub baseline: Option<ID>,
    /// The classification results are counted with (default: the current one, "SKR2023").
    pub classification: Option<String>,
    /// A description shown with the round.
    pub description: Option<String>,
}
