//! The round life cycle for SKR admins: create, open, close, publish.

use async_graphql::{Context, ID, Object, Result};
use sea_orm::DatabaseConnection;

use crate::Settings;
use crate::domain::RoundYear;
use crate::policy::{self, AdminScope, Needs};
use crate::principal::Principal;
use crate::services::aggregates::FigureCache;
use crate::services::drafts;
use crate::services::lifecycle::{self, NewRound};
use crate::types::response::{CreateSurveyRoundInput, UpdateSurveyRoundInput};
use crate::types::round::SurveyRound;

#[derive(Default)]
pub struct AdminMutation;

/// The caller's permission as an SKR admin.
fn admin(ctx: &Context<'_>) -> Result<AdminScope> {
    Ok(policy::admin(Principal::of(ctx))?)
}

/// The process's memory, which a transition announces itself from.
fn memory<'a>(ctx: &Context<'a>) -> Result<&'a FigureCache> {
    ctx.data::<FigureCache>()
}

/// After a transition, whether it committed or not: this process forgets
/// what it kept of rounds (other processes hear of it from the database).
fn forget(ctx: &Context<'_>) {
    if let Ok(memory) = ctx.data::<FigureCache>() {
        memory.forget();
    }
}

#[Object]
impl AdminMutation {
    /// SKR_ADMIN: replaces a round's guidance for one maturity area (any
    /// status: guidance is advice, not a figure). `reference` defaults to
    /// the built-in text's.
    #[graphql(guard = "Needs::Admin")]
    async fn set_guidance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "The maturity area's key, e.g. `risk_management`.")] area_key: String,
        #[graphql(desc = "The advice in Swedish (1 to 4000 characters).")] text_sv: String,
        #[graphql(desc = "The advice in English (1 to 4000 characters).")] text_en: String,
        #[graphql(desc = "Where in the report the advice comes from.")] reference: Option<String>,
    ) -> Result<crate::types::guidance::Guidance> {
        let admin = admin(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let round = crate::services::rounds::get_any(db, memory(ctx)?, &round_id).await?;
        let input = crate::services::guidance::NewGuidance {
            area_key,
            text_sv,
            text_en,
            reference,
        };
        let set = crate::services::guidance::set(db, &admin, round.id, input).await?;
        // Kept responses of frozen rounds carry guidance: every process forgets them.
        memory(ctx)?.announce(db, round.id).await?;
        forget(ctx);
        Ok(set.into())
    }

    /// SKR_ADMIN: a new DRAFT round with a copy of another round's questionnaire.
    #[graphql(guard = "Needs::Admin")]
    async fn create_survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new round.")] input: CreateSurveyRoundInput,
    ) -> Result<SurveyRound> {
        let db = ctx.data::<DatabaseConnection>()?;
        let new = NewRound {
            year: RoundYear::parse(input.year)?,
            title: input.title,
            description: input.description,
            opens_at: input.opens_at.map(|t| t.0),
            closes_at: input.closes_at.map(|t| t.0),
            copy_from: input.copy_from.0,
            baseline: input.baseline.map(|b| b.0),
            classification: input.classification,
        };
        let created = lifecycle::create(db, memory(ctx)?, &admin(ctx)?, new).await;
        forget(ctx);
        Ok(SurveyRound(created?))
    }

    /// SKR_ADMIN: changes a DRAFT round's title, description or planned
    /// dates (a field left out stays as it is; `null` clears a date or the
    /// description). From OPEN on: FAILED_PRECONDITION.
    #[graphql(guard = "Needs::Admin")]
    async fn update_survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The DRAFT round's id.")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateSurveyRoundInput,
    ) -> Result<SurveyRound> {
        let db = ctx.data::<DatabaseConnection>()?;
        use crate::types::response::given;
        let edit = drafts::RoundEdit {
            title: input.title,
            description: given(input.description),
            opens_at: given(input.opens_at).map(|t| t.map(|t| t.0)),
            closes_at: given(input.closes_at).map(|t| t.map(|t| t.0)),
        };
        let updated = drafts::update(db, memory(ctx)?, &admin(ctx)?, &id, edit).await;
        forget(ctx);
        Ok(SurveyRound(updated?))
    }

    /// SKR_ADMIN: deletes a DRAFT round with its questionnaire, guidance and
    /// feed events (a draft's events are SKR admins' alone); returns the
    /// round's year. From OPEN on, or while another round names it as its
    /// baseline: FAILED_PRECONDITION.
    #[graphql(guard = "Needs::Admin")]
    async fn delete_survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The DRAFT round's id.")] id: ID,
    ) -> Result<i32> {
        let db = ctx.data::<DatabaseConnection>()?;
        let deleted = drafts::delete(db, memory(ctx)?, &admin(ctx)?, &id).await;
        forget(ctx);
        Ok(deleted?)
    }

    /// SKR_ADMIN: DRAFT -> OPEN.
    #[graphql(guard = "Needs::Admin")]
    async fn open_survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] id: ID,
    ) -> Result<SurveyRound> {
        let db = ctx.data::<DatabaseConnection>()?;
        let opened = lifecycle::open(db, memory(ctx)?, &admin(ctx)?, &id).await;
        forget(ctx);
        Ok(SurveyRound(opened?))
    }

    /// SKR_ADMIN: OPEN -> CLOSED; answers freeze, scores are final and the
    /// round's release plan decides which of its figures may be shown.
    #[graphql(guard = "Needs::Admin")]
    async fn close_survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] id: ID,
    ) -> Result<SurveyRound> {
        let db = ctx.data::<DatabaseConnection>()?;
        let min_cell = ctx.data::<Settings>()?.min_cell;
        let closed = lifecycle::close(db, memory(ctx)?, &admin(ctx)?, &id, min_cell).await;
        forget(ctx);
        Ok(SurveyRound(closed?))
    }

    /// SKR_ADMIN: CLOSED -> PUBLISHED; aggregates become public.
    #[graphql(guard = "Needs::Admin")]
    async fn publish_survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] id: ID,
    ) -> Result<SurveyRound> {
        let db = ctx.data::<DatabaseConnection>()?;
        let published = lifecycle::publish(db, memory(ctx)?, &admin(ctx)?, &id).await;
        forget(ctx);
        Ok(SurveyRound(published?))
    }
}
