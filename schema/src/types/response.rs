//! A kommun's own `Response`, its `Answer`s, audit trail and scores, and the
//! inputs that change them.

use crate::types::time::Timestamp;
use async_graphql::{Context, Enum, ID, InputObject, Object, OneofObject, Result, SimpleObject};

use sea_orm::DatabaseConnection;

use crate::cursor::List;
use crate::domain::QuestionKey;
use crate::services::changes;
use crate::services::municipalities::{self, Filter};
use crate::services::responses::{self, AnswerChange, HistoryEntry, ResponseView, StoredAnswer};
use crate::types::municipality::Municipality;
use crate::types::page::Page;
use crate::types::round::{Area, SurveyRound};

/// Where a municipality's response stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ResponseStatus {
    /// Nothing saved yet.
    NotStarted,
    /// At least one save accepted (even if every answer was cleared again).
    InProgress,
    /// Marked submitted with every required question answered; reopen to change it.
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

pub struct Response(pub ResponseView);

/// A municipality's response to one round (only ever its own).
#[Object]
impl Response {
    /// The round answered.
    async fn round(&self) -> SurveyRound {
        SurveyRound(self.0.round.clone())
    }

    /// The responding municipality: the token's own.
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Municipality> {
        let db = ctx.data::<DatabaseConnection>()?;
        let filter = Filter {
            code: Some(self.0.scope.code().to_owned()),
            ..Filter::default()
        };
        let found = municipalities::list(db, filter).await?.into_iter().next();
        Ok(Municipality(found.ok_or(crate::ApiError::Internal)?))
    }

    /// NOT_STARTED, IN_PROGRESS or SUBMITTED.
    async fn status(&self) -> ResponseStatus {
        self.0.status().into()
    }

    /// The current answers, in questionnaire order.
    async fn answers(&self) -> Vec<Answer> {
        self.0.answers.iter().cloned().map(Answer).collect()
    }

    /// How many questions have an answer.
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

    /// The last accepted change; null before the first save.
    async fn updated_at(&self) -> Option<Timestamp> {
        self.0
            .row
            .as_ref()
            .and_then(|r| r.updated_at)
            .map(Timestamp)
    }

    /// When the response was submitted; null unless SUBMITTED.
    async fn submitted_at(&self) -> Option<Timestamp> {
        self.0
            .row
            .as_ref()
            .and_then(|r| r.submitted_at)
            .map(Timestamp)
    }

    /// The audit trail of this response, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<AnswerEvent>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let entries = responses::history(db, &self.0.scope, self.0.round.id).await?;
        Ok(entries.into_iter().map(AnswerEvent::from).collect())
    }

    /// The audit trail as a Relay connection, oldest first, for paging
    /// through a long trail: pass `pageInfo.endCursor` back as `after`.
    /// Paging forward never skips or repeats an entry, also while the
    /// response is being changed.
    async fn history_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A cursor from an earlier page; from the first entry without one.")]
        after: Option<String>,
        #[graphql(default = 100, desc = "At most this many entries (1 to 500).")] first: i32,
    ) -> Result<Page<AnswerEvent>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let cursors = &ctx.data::<crate::Settings>()?.cursors;
        let first = changes::page_size(first)?;
        // Sealed for the kommun: its cursors say nothing of other kommuner's saves.
        let audience = crate::policy::Audience::Kommun(self.0.scope.clone());
        let after = after
            .map(|c| cursors.open(List::History, &audience, "after", &c))
            .transpose()?;
        let (entries, more) =
            responses::history_page(db, &self.0.scope, self.0.round.id, after, Some(first)).await?;
        let items = entries
            .into_iter()
            .map(|e| {
                let cursor = cursors.seal(List::History, &audience, e.id);
                (cursor, AnswerEvent::from(e))
            })
            .collect();
        Ok(Page::new(items, after.is_some(), more))
    }
}

/// One accepted change to one answer. Never deleted.
#[derive(SimpleObject)]
pub struct AnswerEvent {
    /// The token subject that made the change.
    pub subject: String,
    /// When the change was accepted.
    pub at: Timestamp,
    /// The question whose answer changed.
    pub question_key: String,
    /// The answer before, as JSON text (`{"choice":"yes"}`); null where there was none.
    pub before: Option<String>,
    /// The answer after, as JSON text; null where the change cleared it.
    pub after: Option<String>,
    /// The answer before, as the value `saveAnswers` takes; null where there was none.
    pub before_value: Option<RecordedAnswer>,
    /// The answer after, as the value `saveAnswers` takes; null where the change cleared it.
    pub after_value: Option<RecordedAnswer>,
}

/// An answer's value as `AnswerValue` gives it: exactly one field is set.
#[derive(SimpleObject, Clone, Debug, Default, PartialEq)]
pub struct RecordedAnswer {
    /// The option key of a SINGLE_CHOICE answer.
    pub choice: Option<String>,
    /// The option keys of a MULTI_CHOICE answer.
    pub choices: Option<Vec<String>>,
    /// A NUMBER answer.
    pub number: Option<f64>,
    /// A TEXT answer.
    pub text: Option<String>,
}

impl RecordedAnswer {
    /// The value the audit trail recorded as JSON text.
    fn of(json: Option<&str>) -> Option<Self> {
        let value: responses::AnswerValue = serde_json::from_str(json?).ok()?;
        Some(match value {
            responses::AnswerValue::Choice(c) => Self {
                choice: Some(c),
                ..Self::default()
            },
            responses::AnswerValue::Choices(cs) => Self {
                choices: Some(cs),
                ..Self::default()
            },
            responses::AnswerValue::Number(n) => Self {
                number: Some(n),
                ..Self::default()
            },
            responses::AnswerValue::Text(t) => Self {
                text: Some(t),
                ..Self::default()
            },
        })
    }
}

impl From<HistoryEntry> for AnswerEvent {
    fn from(e: HistoryEntry) -> Self {
        Self {
            subject: e.subject,
            at: Timestamp(e.at),
            question_key: e.question_key,
            before_value: RecordedAnswer::of(e.before.as_deref()),
            after_value: RecordedAnswer::of(e.after.as_deref()),
            before: e.before,
            after: e.after,
        }
    }
}

pub struct Answer(pub StoredAnswer);

/// The current answer to one question.
#[Object]
impl Answer {
    /// The question answered.
    async fn question_key(&self) -> &str {
        &self.0.question_key
    }

    /// The chosen option keys (one for SINGLE_CHOICE).
    async fn choices(&self) -> Vec<String> {
        self.0.value.choices()
    }

    /// The value of a NUMBER answer.
    async fn number(&self) -> Option<f64> {
        match self.0.value {
            responses::AnswerValue::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The value of a TEXT answer.
    async fn text(&self) -> Option<&str> {
        match &self.0.value {
            responses::AnswerValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// When this answer was last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
}

/// Exactly one field is set.
#[derive(OneofObject, Clone, Debug)]
pub enum AnswerValue {
    /// The option key of a SINGLE_CHOICE answer.
    Choice(String),
    /// The option keys of a MULTI_CHOICE answer.
    Choices(Vec<String>),
    /// A NUMBER answer, within the question's bounds.
    Number(f64),
    /// A TEXT answer, within the question's length limit.
    Text(String),
}

/// One answer to save.
#[derive(InputObject, Clone, Debug)]
pub struct AnswerInput {
    /// The question's stable key, as `Question.key` gives it.
    pub question_key: String,
    /// null clears the answer.
    pub value: Option<AnswerValue>,
}

impl TryFrom<AnswerInput> for AnswerChange {
    type Error = crate::ApiError;

    fn try_from(input: AnswerInput) -> Result<Self, Self::Error> {
        Ok(Self {
            question_key: QuestionKey::parse(&input.question_key)?,
            value: input.value.map(|v| match v {
                AnswerValue::Choice(c) => responses::AnswerValue::Choice(c),
                AnswerValue::Choices(c) => responses::AnswerValue::Choices(c),
                AnswerValue::Number(n) => responses::AnswerValue::Number(n),
                AnswerValue::Text(t) => responses::AnswerValue::Text(t),
            }),
        })
    }
}

pub struct AreaScore {
    pub area: entity::area::Model,
    pub level: i32,
}

/// A maturity level (mognadsnivå) in one area.
#[Object]
impl AreaScore {
    /// The maturity area.
    async fn area(&self) -> Area {
        Area(self.area.clone())
    }

    /// The level its maturity question's answer gives (1 without an answer).
    async fn level(&self) -> i32 {
        self.level
    }

    /// Below level 2: what level 2 ("established") asks and what to do to
    /// reach it; null from level 2 on.
    async fn guidance(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::types::guidance::Guidance>> {
        crate::types::guidance::below_level_two(ctx, &self.area, Some(self.level)).await
    }
}

/// Changes to a DRAFT round: a field left out stays as it is.
#[derive(InputObject, Clone, Debug)]
pub struct UpdateSurveyRoundInput {
    /// The round's title, 1 to 200 characters.
    pub title: Option<String>,
    /// A description shown with the round (at most 2000 characters); null clears it.
    pub description: async_graphql::MaybeUndefined<String>,
    /// When the round is planned to open; null clears it.
    pub opens_at: async_graphql::MaybeUndefined<Timestamp>,
    /// When the round is planned to close, after opensAt; null clears it.
    pub closes_at: async_graphql::MaybeUndefined<Timestamp>,
}

/// Present (`Some`), with its value or null, or left out (`None`).
pub(crate) fn given<T>(value: async_graphql::MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        async_graphql::MaybeUndefined::Undefined => None,
        async_graphql::MaybeUndefined::Null => Some(None),
        async_graphql::MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// A new round, created as DRAFT.
#[derive(InputObject, Clone, Debug)]
pub struct CreateSurveyRoundInput {
    /// The round's year, 2000..2100; one round per year.
    pub year: i32,
    /// The round's title, 1 to 200 characters.
    pub title: String,
    /// When the round is planned to open (informative).
    pub opens_at: Option<Timestamp>,
    /// When the round is planned to close (informative); after opensAt.
    pub closes_at: Option<Timestamp>,
    /// Copy the questionnaire (areas, questions, options, scoring) from this round.
    pub copy_from: ID,
    /// The round this one is compared with by default.
    pub baseline: Option<ID>,
    /// The classification results are counted with (default: the current one, "SKR2023").
    pub classification: Option<String>,
    /// A description shown with the round.
    pub description: Option<String>,
}
