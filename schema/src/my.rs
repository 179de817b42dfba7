//! The kommun's own operations: `myResponse`, `myScores`, and the writes
//! `saveAnswers`, `submitResponse`, `reopenResponse`. The municipality is
//! always the token's ([`crate::KommunScope`]); none of these takes one.

use async_graphql::{Context, ID, Object, Result};
use entity::survey_round;
use sea_orm::DatabaseConnection;

use crate::Settings;
use crate::frozen;
use crate::policy::{self, Needs};
use crate::principal::Principal;
use crate::services::aggregates::FigureCache;
use crate::services::{comparison, responses, rounds, scoring};
use crate::tenancy::KommunScope;
use crate::types::response::{AnswerInput, AreaScore, Response};
use crate::types::trends::AreaComparison;

/// The caller's scope, the database and a round the caller may see.
async fn own<'a>(
    ctx: &'a Context<'_>,
    round_id: &str,
) -> Result<(KommunScope, &'a DatabaseConnection, survey_round::Model)> {
    let principal = Principal::of(ctx);
    let scope = policy::kommun(principal)?;
    let db = ctx.data::<DatabaseConnection>()?;
    let memory = ctx.data::<FigureCache>()?;
    let round = rounds::get(db, memory, principal, round_id).await?;
    Ok((scope, db, round))
}

#[derive(Default)]
pub struct MyQuery;

#[Object]
impl MyQuery {
    /// KOMMUN only: the caller's own response; NOT_STARTED when nothing is saved yet.
    #[graphql(guard = "Needs::Kommun")]
    async fn my_response(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
    ) -> Result<Response> {
        let (scope, db, round) = own(ctx, &round_id).await?;
        Ok(Response(
            responses::read(db, ctx.data::<FigureCache>()?, &scope, round).await?,
        ))
    }

    /// KOMMUN only: the caller's maturity level per maturity area.
    #[graphql(guard = "Needs::Kommun")]
    async fn my_scores(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
    ) -> Result<Vec<AreaScore>> {
        let (scope, db, round) = own(ctx, &round_id).await?;
        let memory = ctx.data::<FigureCache>()?;
        let levels = scoring::my_levels(db, memory, &scope, &round).await?;
        if frozen::is_frozen(&round) {
            frozen::mark(ctx);
        }
        Ok(levels
            .iter()
            .map(|(area, level)| AreaScore {
                area: area.clone(),
                level: *level,
            })
            .collect())
    }

    /// KOMMUN only: own levels beside group and national means, this round and its baseline.
    #[graphql(guard = "Needs::Kommun")]
    async fn my_comparison(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "The round to compare with; default: the round's baseline.")]
        baseline_round_id: Option<ID>,
    ) -> Result<Vec<AreaComparison>> {
        let (scope, db, round) = own(ctx, &round_id).await?;
        let principal = Principal::of(ctx);
        let cache = ctx.data::<FigureCache>()?;
        let baseline = match (&baseline_round_id, round.baseline_id) {
            (Some(id), _) => Some(rounds::get(db, cache, principal, id).await?),
            // A default baseline the kommun may not see (a DRAFT round) is no baseline.
            (None, Some(id)) => rounds::get(db, cache, principal, &id.to_string())
                .await
                .ok(),
            (None, None) => None,
        };
        let min_cell = ctx.data::<Settings>()?.min_cell;
        let rows =
            comparison::compare(db, cache, &scope, &round, baseline.as_ref(), min_cell).await?;
        if frozen::is_frozen(&round) && baseline.as_ref().is_none_or(frozen::is_frozen) {
            frozen::mark(ctx);
        }
        Ok(rows.into_iter().map(AreaComparison).collect())
    }
}

#[derive(Default)]
pub struct MyMutation;

#[Object]
impl MyMutation {
    /// KOMMUN, round OPEN: upsert answers in one transaction; all or nothing.
    #[graphql(guard = "Needs::Kommun")]
    async fn save_answers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "The answers to save; a null value clears one.")] answers: Vec<
            AnswerInput,
        >,
        #[graphql(
            desc = "The response's version the change is based on: a different one is refused with CONFLICT."
        )]
        expected_version: Option<i32>,
    ) -> Result<Response> {
        let (scope, db, round) = own(ctx, &round_id).await?;
        let changes = answers
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_, _>>()?;
        Ok(Response(
            responses::save(
                db,
                ctx.data::<FigureCache>()?,
                &scope,
                round,
                changes,
                expected_version,
            )
            .await?,
        ))
    }

    /// KOMMUN, round OPEN: mark the response submitted once every required question is answered.
    #[graphql(guard = "Needs::Kommun")]
    async fn submit_response(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(
            desc = "The response's version the change is based on: a different one is refused with CONFLICT."
        )]
        expected_version: Option<i32>,
    ) -> Result<Response> {
        let (scope, db, round) = own(ctx, &round_id).await?;
        Ok(Response(
            responses::submit(
                db,
                ctx.data::<FigureCache>()?,
                &scope,
                round,
                expected_version,
            )
            .await?,
        ))
    }

    /// KOMMUN, round OPEN: back to IN_PROGRESS to change a submitted response.
    #[graphql(guard = "Needs::Kommun")]
    async fn reopen_response(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
    ) -> Result<Response> {
        let (scope, db, round) = own(ctx, &round_id).await?;
        Ok(Response(
            responses::reopen(db, ctx.data::<FigureCache>()?, &scope, round).await?,
        ))
    }
}
