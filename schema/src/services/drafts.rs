//! A DRAFT round's own details, for SKR admins: its title, description and
//! planned dates may change, and the whole round may be deleted (a round
//! made to try something, say), until it opens. From then on a round is
//! part of the record and neither is allowed (FAILED_PRECONDITION).
//!
//! Deleting takes the round first (`rounds::take`, the documented first
//! lock), then removes, in one transaction, its questionnaire (options,
//! questions, areas), its guidance, its feed events with their webhook
//! deliveries, and the round. A draft's events (ROUND_CREATED,
//! QUESTIONNAIRE_CHANGED) are SKR admins' alone, so no kommun ever saw what
//! goes. A round that another round names as its baseline is not deleted.

use chrono::{DateTime, Utc};
use entity::{
    RoundStatus, answer_option, area, change, guidance, question, response, survey_round,
    webhook_attempt, webhook_delivery,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::policy::AdminScope;
use crate::services::memory::Memory;
use crate::services::{lifecycle, rounds};

/// What `updateSurveyRound` may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct RoundEdit {
    pub title: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub opens_at: Option<Option<DateTime<Utc>>>,
    pub closes_at: Option<Option<DateTime<Utc>>>,
}

/// The DRAFT round `id`, taken for the transaction; refused otherwise.
async fn take_draft(
    txn: &sea_orm::DatabaseTransaction,
    id: &str,
    doing: &str,
) -> ApiResult<survey_round::Model> {
    let not_found = || ApiError::not_found(format!("no round with id {id:?}"));
    let uuid = rounds::parse_id(id).ok_or_else(not_found)?;
    let round = rounds::take(txn, uuid).await?.ok_or_else(not_found)?;
    if round.status != RoundStatus::Draft {
        return Err(ApiError::FailedPrecondition(format!(
            "round {} is {}: only a DRAFT round can be {doing}",
            round.year, round.status
        )));
    }
    Ok(round)
}

/// Changes a DRAFT round's title, description or planned dates.
pub async fn update(
    db: &DatabaseConnection,
    memory: &Memory,
    admin: &AdminScope,
    id: &str,
    edit: RoundEdit,
) -> ApiResult<survey_round::Model> {
    // The same checks as a new round's.
    if let Some(title) = &edit.title {
        lifecycle::check_title(title.trim())?;
    }
    if let Some(description) = &edit.description {
        lifecycle::check_description(description.as_deref())?;
    }
    let txn = db.begin().await?;
    let round = take_draft(&txn, id, "changed").await?;
    let opens_at = edit.opens_at.unwrap_or(round.opens_at);
    let closes_at = edit.closes_at.unwrap_or(round.closes_at);
    lifecycle::check_dates(opens_at, closes_at)?;
    let mut update = survey_round::Entity::update_many()
        .col_expr(survey_round::Column::OpensAt, Expr::value(opens_at))
        .col_expr(survey_round::Column::ClosesAt, Expr::value(closes_at))
        .col_expr(survey_round::Column::UpdatedAt, Expr::value(Utc::now()));
    if let Some(title) = &edit.title {
        update = update.col_expr(survey_round::Column::Title, Expr::value(title.trim()));
    }
    if let Some(description) = edit.description {
        update = update.col_expr(survey_round::Column::Description, Expr::value(description));
    }
    update
        .filter(survey_round::Column::Id.eq(round.id))
        .exec(&txn)
        .await?;
    memory.announce(&txn, round.id).await?;
    txn.commit().await?;
    tracing::info!(
        admin = admin.actor(),
        round = round.year,
        "draft round changed"
    );
    survey_round::Entity::find_by_id(round.id)
        .one(db)
        .await?
        .ok_or(ApiError::Internal)
}

/// Deletes a DRAFT round and everything that is only its; returns its year.
pub async fn delete(
    db: &DatabaseConnection,
    memory: &Memory,
    admin: &AdminScope,
    id: &str,
) -> ApiResult<i32> {
    let txn = db.begin().await?;
    let round = take_draft(&txn, id, "deleted").await?;
    if let Some(later) = survey_round::Entity::find()
        .filter(survey_round::Column::BaselineId.eq(round.id))
        .one(&txn)
        .await?
    {
        return Err(ApiError::FailedPrecondition(format!(
            "round {} is the baseline of round {}: delete that one first",
            round.year, later.year
        )));
    }
    // A draft has no responses; should one be there, nothing goes.
    if response::Entity::find()
        .filter(response::Column::RoundId.eq(round.id))
        .count(&txn)
        .await?
        > 0
    {
        return Err(ApiError::FailedPrecondition(format!(
            "round {} has responses: it cannot be deleted",
            round.year
        )));
    }
    let questions: Vec<Uuid> = question::Entity::find()
        .select_only()
        .column(question::Column::Id)
        .filter(question::Column::RoundId.eq(round.id))
        .into_tuple()
        .all(&txn)
        .await?;
    answer_option::Entity::delete_many()
        .filter(answer_option::Column::QuestionId.is_in(questions))
        .exec(&txn)
        .await?;
    question::Entity::delete_many()
        .filter(question::Column::RoundId.eq(round.id))
        .exec(&txn)
        .await?;
    area::Entity::delete_many()
        .filter(area::Column::RoundId.eq(round.id))
        .exec(&txn)
        .await?;
    guidance::Entity::delete_many()
        .filter(guidance::Column::RoundId.eq(round.id))
        .exec(&txn)
        .await?;
    let events: Vec<i64> = change::Entity::find()
        .select_only()
        .column(change::Column::Id)
        .filter(change::Column::RoundId.eq(round.id))
        .into_tuple()
        .all(&txn)
        .await?;
    let deliveries: Vec<i64> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::ChangeId.is_in(events.clone()))
        .into_tuple()
        .all(&txn)
        .await?;
    webhook_attempt::Entity::delete_many()
        .filter(webhook_attempt::Column::DeliveryId.is_in(deliveries.clone()))
        .exec(&txn)
        .await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::Id.is_in(deliveries))
        .exec(&txn)
        .await?;
    change::Entity::delete_many()
        .filter(change::Column::Id.is_in(events))
        .exec(&txn)
        .await?;
    survey_round::Entity::delete_by_id(round.id)
        .exec(&txn)
        .await?;
    memory.announce(&txn, round.id).await?;
    txn.commit().await?;
    tracing::info!(
        admin = admin.actor(),
        round = round.year,
        "draft round deleted"
    );
    Ok(round.year)
}
