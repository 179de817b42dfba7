//! `Participation` of a round: counts for SKR, and per municipality for
//! SKR admins (status, number of answers and times, never an answer).

use crate::types::time::Timestamp;
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{RoundStatus, survey_round};
use sea_orm::DatabaseConnection;

use crate::policy;
use crate::principal::Principal;
use crate::services::municipalities::{self, Filter};
use crate::services::participation;
use crate::types::municipality::Municipality;
use crate::types::response::ResponseStatus;

pub struct Participation {
    pub round: survey_round::Model,
    pub counts: participation::ParticipationCounts,
}

/// Who has responded to a round: counts for SKR, per municipality for SKR_ADMIN.
#[Object]
impl Participation {
    /// How many municipalities the round's classification holds.
    async fn population(&self) -> i32 {
        self.counts.population as i32
    }

    /// Responses SUBMITTED.
    async fn submitted(&self) -> i32 {
        self.counts.submitted as i32
    }

    /// Responses IN_PROGRESS.
    async fn in_progress(&self) -> i32 {
        self.counts.in_progress as i32
    }

    /// Of inProgress, those that answered at least 80 % of the questions
    /// everyone is asked (those without a condition): the report's "besvarade
    /// så gott som hela enkäten, men avslutade inte".
    async fn nearly_complete(&self, ctx: &Context<'_>) -> Result<i32> {
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(participation::completeness(db, &self.round).await?.0 as i32)
    }

    /// Of inProgress, the rest: the report's "besvarade delar av enkäten".
    async fn partial(&self, ctx: &Context<'_>) -> Result<i32> {
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(participation::completeness(db, &self.round).await?.1 as i32)
    }

    /// Municipalities without a saved answer ever (NOT_STARTED).
    async fn not_started(&self) -> i32 {
        (self.counts.population - self.counts.submitted - self.counts.in_progress) as i32
    }

    /// Municipalities with at least one answer / population.
    async fn response_rate(&self) -> f64 {
        if self.counts.population > 0 {
            self.counts.respondents as f64 / self.counts.population as f64
        } else {
            0.0
        }
    }

    /// SKR_ADMIN only: one row per municipality, never any answer.
    async fn by_municipality(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Vec<MunicipalityParticipation>>> {
        let admin = policy::admin(Principal::of(ctx))?;
        let db = ctx.data::<DatabaseConnection>()?;
        let rows = participation::participation_by_municipality(db, &admin, &self.round).await?;
        let mut views: std::collections::HashMap<String, _> =
            municipalities::list(db, Filter::default())
                .await?
                .into_iter()
                .map(|m| (m.municipality.code.clone(), m))
                .collect();
        // While a round is open, when a kommun saved is told by the day only:
        // finer times beside other live signals would date single answers.
        let open = matches!(self.round.status, RoundStatus::Draft | RoundStatus::Open);
        let when = |t: Option<DateTime<Utc>>| {
            if open { t.map(participation::day) } else { t }.map(Timestamp)
        };
        Ok(Some(
            rows.into_iter()
                .filter_map(|r| {
                    views.remove(&r.code).map(|m| MunicipalityParticipation {
                        municipality: Municipality(m),
                        status: r.status.into(),
                        answered_count: r.answered as i32,
                        updated_at: when(r.updated_at),
                        submitted_at: when(r.submitted_at),
                    })
                })
                .collect(),
        ))
    }
}

/// One municipality's participation in a round: never an answer.
#[derive(SimpleObject)]
pub struct MunicipalityParticipation {
    /// The municipality.
    pub municipality: Municipality,
    /// Where its response stands.
    pub status: ResponseStatus,
    /// How many of the questions everyone is asked (those without a
    /// condition) it has answered. Questions asked on a condition are not
    /// counted: whether one is answered depends on another answer.
    pub answered_count: i32,
    /// The last accepted save; while the round is OPEN, its day only (00:00 UTC).
    pub updated_at: Option<Timestamp>,
    /// When the response was submitted; while the round is OPEN, the day only (00:00 UTC).
    pub submitted_at: Option<Timestamp>,
}
