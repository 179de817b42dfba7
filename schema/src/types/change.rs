//! The change feed's `Change` event and its connection (Relay).

use crate::types::time::Timestamp;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::change;

use crate::cursor::{Cursors, List};
use crate::policy::Audience;
use crate::services::changes;
use crate::services::questionnaire::RoundById;
use crate::types::page::Page;
use crate::types::round::SurveyRound;

/// What happened.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// SKR created a round (DRAFT).
    RoundCreated,
    /// A round opened for answers.
    RoundOpened,
    /// A round closed: its scores are frozen, its figures are SKR's.
    RoundClosed,
    /// A round's figures were published.
    RoundPublished,
    /// A DRAFT round's questionnaire changed (an area or question was
    /// added, changed or removed).
    QuestionnaireChanged,
    /// A municipality submitted its response.
    ResponseSubmitted,
    /// A municipality reopened its submitted response.
    ResponseReopened,
}

impl From<ChangeKind> for entity::ChangeKind {
    fn from(k: ChangeKind) -> Self {
        match k {
            ChangeKind::RoundCreated => Self::RoundCreated,
            ChangeKind::RoundOpened => Self::RoundOpened,
            ChangeKind::RoundClosed => Self::RoundClosed,
            ChangeKind::RoundPublished => Self::RoundPublished,
            ChangeKind::QuestionnaireChanged => Self::QuestionnaireChanged,
            ChangeKind::ResponseSubmitted => Self::ResponseSubmitted,
            ChangeKind::ResponseReopened => Self::ResponseReopened,
        }
    }
}

impl From<entity::ChangeKind> for ChangeKind {
    fn from(k: entity::ChangeKind) -> Self {
        match k {
            entity::ChangeKind::RoundCreated => Self::RoundCreated,
            entity::ChangeKind::RoundOpened => Self::RoundOpened,
            entity::ChangeKind::RoundClosed => Self::RoundClosed,
            entity::ChangeKind::RoundPublished => Self::RoundPublished,
            entity::ChangeKind::QuestionnaireChanged => Self::QuestionnaireChanged,
            entity::ChangeKind::ResponseSubmitted => Self::ResponseSubmitted,
            entity::ChangeKind::ResponseReopened => Self::ResponseReopened,
        }
    }
}

/// An event as one audience sees it: its cursor sealed for that audience
/// and its time at the precision the audience may know.
pub struct Change {
    event: change::Model,
    cursor: String,
    at: DateTime<Utc>,
}

impl Change {
    /// `event` as `audience` sees it.
    pub fn shown(event: change::Model, audience: &Audience, cursors: &Cursors) -> Self {
        Self {
            cursor: cursors.seal(List::Feed, audience, event.id),
            at: changes::shown_time(audience, &event),
            event,
        }
    }
}

/// One event of the change feed. Events are never changed; a DRAFT round
/// that is deleted takes its own events (SKR admins' alone) with it.
#[Object]
impl Change {
    /// The event's id: the same opaque value as its cursor (yours alone:
    /// another caller is given another id for the same event).
    async fn id(&self) -> ID {
        ID(self.cursor.clone())
    }

    /// What happened.
    async fn kind(&self) -> ChangeKind {
        self.event.kind.into()
    }

    /// When it was committed (to the transaction's clock; the feed's order
    /// is the order of commits, which these times follow to the clock's
    /// precision). For SKR a response's submission or reopening is dated
    /// by the day (midnight UTC), as `participation.byMunicipality` dates it.
    async fn at(&self) -> Timestamp {
        Timestamp(self.at)
    }

    /// The round's year.
    async fn round_year(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.round(ctx).await?.0.year)
    }

    /// The round it happened to (or in).
    async fn round(&self, ctx: &Context<'_>) -> Result<SurveyRound> {
        let round = ctx
            .data::<DataLoader<RoundById>>()?
            .load_one(self.event.round_id)
            .await?
            .ok_or(crate::ApiError::Internal)?;
        Ok(SurveyRound(round))
    }

    /// The municipality whose response it was; null for a round's event.
    /// Shown only to that municipality and to SKR admins.
    async fn municipality_code(&self) -> Option<&str> {
        self.event.municipality_code.as_deref()
    }
}

/// A page of the change feed.
pub type ChangeConnection = Page<Change>;

/// A page of events as a connection for `audience`: each edge's cursor is
/// its event's, sealed for the audience.
pub fn connection(
    page: changes::Page,
    after: bool,
    audience: &Audience,
    cursors: &Cursors,
) -> ChangeConnection {
    let items = page
        .events
        .into_iter()
        .map(|e| {
            let shown = Change::shown(e, audience, cursors);
            (shown.cursor.clone(), shown)
        })
        .collect();
    Page::new(items, after, page.has_next)
}
