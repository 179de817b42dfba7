//! The round life cycle, for SKR admins: create (a deep copy of another
//! round's questionnaire and scoring), open, close (freezing scores) and
//! publish. Any other transition is refused and changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    ChangeKind, RoundStatus, answer_option, area, classification, question, survey_round,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::RoundYear;
use crate::error::{ApiError, ApiResult, retrying};
use crate::policy::AdminScope;
use crate::services::memory::{self, Memory};
use crate::services::questionnaire::Questionnaire;
use crate::services::rounds::Gate;
use crate::services::{authoring, changes, guidance, release, rounds, scoring, segments};

/// What `createSurveyRound` asks for.
#[derive(Clone, Debug)]
pub struct NewRound {
    pub year: RoundYear,
    pub title: String,
    pub description: Option<String>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub copy_from: String,
    pub baseline: Option<String>,
    pub classification: Option<String>,
}

async fn round_by_id(
    db: &impl ConnectionTrait,
    id: &str,
    what: &str,
) -> ApiResult<survey_round::Model> {
    let uuid = rounds::parse_id(id)
        .ok_or_else(|| ApiError::not_found(format!("{what}: no round with id {id:?}")))?;
    survey_round::Entity::find_by_id(uuid)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{what}: no round with id {id:?}")))
}

/// A round's title (trimmed): 1 to 200 characters.
pub(crate) fn check_title(title: &str) -> ApiResult<()> {
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::bad_input(
            "the title must have 1 to 200 characters",
        ));
    }
    Ok(())
}

/// A round's description: at most 2000 characters.
pub(crate) fn check_description(description: Option<&str>) -> ApiResult<()> {
    if description.is_some_and(|d| d.chars().count() > 2000) {
        return Err(ApiError::bad_input(
            "the description may have at most 2000 characters",
        ));
    }
    Ok(())
}

/// A round's planned dates: opening before closing, where both are given.
pub(crate) fn check_dates(
    opens_at: Option<DateTime<Utc>>,
    closes_at: Option<DateTime<Utc>>,
) -> ApiResult<()> {
    if let (Some(a), Some(b)) = (opens_at, closes_at)
        && a >= b
    {
        return Err(ApiError::bad_input("opensAt must come before closesAt"));
    }
    Ok(())
}

/// Creates a DRAFT round with a copy of `copy_from`'s questionnaire.
pub async fn create(
    db: &DatabaseConnection,
    memory: &Memory,
    admin: &AdminScope,
    input: NewRound,
) -> ApiResult<survey_round::Model> {
    let title = input.title.trim();
    check_title(title)?;
    check_description(input.description.as_deref())?;
    check_dates(input.opens_at, input.closes_at)?;
    let source = round_by_id(db, &input.copy_from, "copyFrom").await?;
    let baseline = match &input.baseline {
        Some(id) => Some(round_by_id(db, id, "baseline").await?.id),
        None => None,
    };
    let classification_id = match &input.classification {
        Some(id) => classification::Entity::find_by_id(id.as_str())
            .one(db)
            .await?
            .map(|c| c.id)
            .ok_or_else(|| ApiError::bad_input(format!("no classification {id:?}")))?,
        None => segments::current_classification(db).await?,
    };
    if survey_round::Entity::find()
        .filter(survey_round::Column::Year.eq(input.year.get()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "a round for {} exists already",
            input.year
        )));
    }
    let q = Questionnaire::load(db, source.id).await?;
    let now = Utc::now();
    let id = Uuid::new_v4();
    let txn = db.begin().await?;
    survey_round::Entity::insert(survey_round::ActiveModel {
        id: Set(id),
        year: Set(input.year.get()),
        title: Set(title.to_owned()),
        description: Set(input.description.clone()),
        status: Set(RoundStatus::Draft),
        opens_at: Set(input.opens_at),
        closes_at: Set(input.closes_at),
        published_at: Set(None),
        baseline_id: Set(baseline),
        classification_id: Set(classification_id),
        demo: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    copy_questionnaire(&txn, &q, id).await?;
    guidance::copy(&txn, source.id, id).await?;
    changes::record(&txn, ChangeKind::RoundCreated, id, None).await?;
    memory.announce(&txn, id).await?;
    txn.commit().await?;
    tracing::info!(admin = admin.actor(), year = input.year.get(), round = %id, copy_from = source.year, "round created");
    survey_round::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::Internal)
}

/// Inserts a copy of `q` (areas, questions, options, levels) into round `to`.
async fn copy_questionnaire(
    db: &impl ConnectionTrait,
    q: &Questionnaire,
    to: Uuid,
) -> ApiResult<()> {
    let area_ids: HashMap<Uuid, Uuid> = q.areas.iter().map(|a| (a.id, Uuid::new_v4())).collect();
    let question_ids: HashMap<Uuid, Uuid> =
        q.questions.iter().map(|x| (x.id, Uuid::new_v4())).collect();
    let areas: Vec<area::ActiveModel> = q
        .areas
        .iter()
        .map(|a| area::ActiveModel {
            id: Set(area_ids[&a.id]),
            round_id: Set(to),
            ..area::ActiveModel::from(a.clone())
        })
        .collect();
    let questions: Vec<question::ActiveModel> = q
        .questions
        .iter()
        .map(|x| question::ActiveModel {
            id: Set(question_ids[&x.id]),
            round_id: Set(to),
            area_id: Set(area_ids[&x.area_id]),
            // The copy's predecessor is the question it was copied from.
            predecessor_key: Set(None),
            ..question::ActiveModel::from(x.clone())
        })
        .collect();
    let options: Vec<answer_option::ActiveModel> = q
        .options
        .values()
        .flatten()
        .map(|o| answer_option::ActiveModel {
            id: Set(Uuid::new_v4()),
            question_id: Set(question_ids[&o.question_id]),
            predecessor_key: Set(None),
            ..answer_option::ActiveModel::from(o.clone())
        })
        .collect();
    insert_chunks(db, areas).await?;
    insert_chunks(db, questions).await?;
    insert_chunks(db, options).await
}

/// Inserts `rows` 200 at a time (within the databases' parameter limits).
pub(crate) async fn insert_chunks<A: sea_orm::ActiveModelTrait>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
) -> ApiResult<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(200).collect();
        A::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Moves a round from `from` to `to` in a new transaction, which the caller
/// may add to and then ends with [`finish`]; a round not in `from` is
/// refused and nothing changes.
async fn start(
    db: &DatabaseConnection,
    id: &str,
    (from, to): (RoundStatus, RoundStatus),
) -> ApiResult<(survey_round::Model, DatabaseTransaction)> {
    let round = round_by_id(db, id, "round").await?;
    let txn = db.begin().await?;
    rounds::enter_gate(&txn, round.id, Gate::Exclusive).await?;
    let now = Utc::now();
    let mut update = survey_round::Entity::update_many()
        .col_expr(survey_round::Column::Status, Expr::value(to))
        .col_expr(survey_round::Column::UpdatedAt, Expr::value(now));
    // Each transition dates itself: the planned dates become the real ones.
    let dated = match to {
        RoundStatus::Open => Some(survey_round::Column::OpensAt),
        RoundStatus::Closed => Some(survey_round::Column::ClosesAt),
        RoundStatus::Published => Some(survey_round::Column::PublishedAt),
        RoundStatus::Draft => None,
    };
    if let Some(column) = dated {
        update = update.col_expr(column, Expr::value(Some(now)));
    }
    let updated = update
        .filter(survey_round::Column::Id.eq(round.id))
        .filter(survey_round::Column::Status.eq(from))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        let Some(now) = survey_round::Entity::find_by_id(round.id)
            .one(db)
            .await?
            .map(|r| r.status)
        else {
            return Err(ApiError::not_found(format!(
                "round: no round with id {id:?}"
            )));
        };
        return Err(ApiError::FailedPrecondition(format!(
            "round {} is {}; only a {} round can become {}",
            round.year,
            now.to_value(),
            from.to_value(),
            to.to_value()
        )));
    }
    Ok((round, txn))
}

/// Commits a transition and returns the round as it now is.
async fn finish(
    db: &DatabaseConnection,
    memory: &Memory,
    txn: DatabaseTransaction,
    admin: &AdminScope,
    round: survey_round::Model,
    (from, to): (RoundStatus, RoundStatus),
) -> ApiResult<survey_round::Model> {
    memory.announce(&txn, round.id).await?;
    let kind = match to {
        RoundStatus::Open => ChangeKind::RoundOpened,
        RoundStatus::Closed => ChangeKind::RoundClosed,
        RoundStatus::Published => ChangeKind::RoundPublished,
        RoundStatus::Draft => ChangeKind::RoundCreated,
    };
    changes::record(&txn, kind, round.id, None).await?;
    txn.commit().await?;
    tracing::info!(admin = admin.actor(), round = round.year, id = %round.id, ?from, ?to, "round status changed");
    survey_round::Entity::find_by_id(round.id)
        .one(db)
        .await?
        .ok_or(ApiError::Internal)
}

pub async fn open(
    db: &DatabaseConnection,
    memory: &Memory,
    admin: &AdminScope,
    id: &str,
) -> ApiResult<survey_round::Model> {
    let statuses = (RoundStatus::Draft, RoundStatus::Open);
    retrying(|| async move {
        let (round, txn) = start(db, id, statuses).await?;
        // The questionnaire is locked from here: it must be whole and scorable.
        let q = Questionnaire::load(&txn, round.id).await?;
        let baseline = authoring::baseline_of(&txn, &round).await?;
        authoring::check(&q, baseline.as_ref(), true)?;
        finish(db, memory, txn, admin, round, statuses).await
    })
    .await
}

/// Closes a round: in one transaction, the status, the frozen scores and the
/// round's release plan (with `min_cell`).
pub async fn close(
    db: &DatabaseConnection,
    memory: &Memory,
    admin: &AdminScope,
    id: &str,
    min_cell: i64,
) -> ApiResult<survey_round::Model> {
    let statuses = (RoundStatus::Open, RoundStatus::Closed);
    retrying(|| async move {
        let (round, txn) = start(db, id, statuses).await?;
        let frozen = scoring::freeze(&txn, round.id).await?;
        tracing::info!(round = round.year, rows = frozen, "scores frozen");
        release::plan_closing_round(&txn, &round, min_cell).await?;
        finish(db, memory, txn, admin, round, statuses).await
    })
    .await
}

pub async fn publish(
    db: &DatabaseConnection,
    memory: &Memory,
    admin: &AdminScope,
    id: &str,
) -> ApiResult<survey_round::Model> {
    let statuses = (RoundStatus::Closed, RoundStatus::Published);
    retrying(|| async move {
        let (round, txn) = start(db, id, statuses).await?;
        finish(db, memory, txn, admin, round, statuses).await
    })
    .await
}

/// Freezes a CLOSED round whose answers were just imported as a whole, in
/// the caller's transaction: its scores are frozen from them and its
/// release planned anew with `min_cell` (the plan made at its close, while
/// it was empty, goes). It stays CLOSED.
pub async fn freeze_imported(
    txn: &DatabaseTransaction,
    admin: &AdminScope,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<u64> {
    if round.status != RoundStatus::Closed {
        return Ok(0);
    }
    let frozen = scoring::freeze(txn, round.id).await?;
    release::replan_round(txn, round, min_cell).await?;
    memory::announce(txn, round.id, None).await?;
    tracing::info!(
        admin = admin.actor(),
        round = round.year,
        scores = frozen,
        "imported answers frozen"
    );
    Ok(frozen)
}

/// Publishes a CLOSED round whose answers were loaded as a whole (the demo
/// answers), in the caller's transaction: its scores are frozen, its release
/// planned anew with `min_cell` (a plan made while it was empty goes), and it
/// becomes PUBLISHED, flagged as demo data, with `description`.
pub async fn publish_loaded(
    txn: &DatabaseTransaction,
    admin: &AdminScope,
    round: &survey_round::Model,
    min_cell: i64,
    description: String,
) -> ApiResult<()> {
    if round.status != RoundStatus::Closed {
        return Err(ApiError::FailedPrecondition(format!(
            "round {} is {}; only a CLOSED round can be published with loaded answers",
            round.year,
            round.status.to_value()
        )));
    }
    let frozen = scoring::freeze(txn, round.id).await?;
    release::replan_round(txn, round, min_cell).await?;
    survey_round::Entity::update_many()
        .col_expr(
            survey_round::Column::Status,
            Expr::value(RoundStatus::Published),
        )
        .col_expr(survey_round::Column::Demo, Expr::value(true))
        .col_expr(
            survey_round::Column::Description,
            Expr::value(Some(description)),
        )
        .col_expr(survey_round::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(
            survey_round::Column::PublishedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(survey_round::Column::Id.eq(round.id))
        .exec(txn)
        .await?;
    memory::announce(txn, round.id, None).await?;
    changes::record(txn, ChangeKind::RoundPublished, round.id, None).await?;
    tracing::info!(
        admin = admin.actor(),
        round = round.year,
        scores = frozen,
        "loaded answers published"
    );
    Ok(())
}
