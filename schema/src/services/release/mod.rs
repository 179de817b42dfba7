//! Release plans: the one source of what a round's figures may show.
//!
//! A round's plan (its own table under its own classification, and its
//! participation counts) is computed when it closes, in the close's
//! transaction; a pair of rounds' panel plan (one table per classification
//! of the two rounds) is computed the first time a panel of the two is asked
//! for. [`crate::disclosure`] decides; this module gives it the
//! municipalities behind every cell — and, for a pair, every cell either
//! round has released before — and keeps the result in `release_plan`, so a
//! decision is made once and never changes, on every instance. Figures read
//! plans through [`round_plan`] and [`pair_plan`] and suppress nothing
//! themselves.
//!
//! Plans are computed under a lock on the rounds they concern, taken first
//! in the transaction and in id order (on PostgreSQL each round's gate,
//! exclusive, then its row `FOR NO KEY UPDATE`; SQLite's one write lock), so two plans that share a round are
//! never made side by side without seeing each other. A round's own plan is
//! made inside its close, which holds the round's row from its first
//! statement.

//!
//! [`make`] makes plans from [`population`]'s sets; this module stores,
//! finds and locks them.

mod make;
mod population;
mod values;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use entity::{RoundStatus, release_plan, survey_round};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::disclosure::Reason;
use crate::error::{ApiError, ApiResult, retrying};
use crate::services::memo::{Shared, Since, cached, forget, remember};
use crate::services::participation::ParticipationCounts;
use crate::services::rounds;
use make::{
    audit_pair_plan, audit_round_plan, prepare_pair_plan, store_pair_plan, store_prepared,
    store_round_plan,
};
pub use population::COUNTY_TABLE;

/// What the plan decided for one cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedCell {
    pub code: String,
    /// The municipalities the cell counts: a segment's respondents, or its panel.
    pub respondents: i64,
    /// `None` when the cell is shown.
    pub suppressed: Option<Reason>,
}

/// The decisions for one table: the nation, groups and subgroups of one classification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTable {
    pub classification_id: String,
    pub cells: Vec<PlannedCell>,
    /// Per choice question (by key): cells whose counts of that question's
    /// answers are hidden although the cell is shown (the interval audit of
    /// the question's options; a round's table and its län only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub questions: BTreeMap<String, BTreeMap<String, Reason>>,
}

impl PlannedTable {
    pub fn cell(&self, code: &str) -> Option<&PlannedCell> {
        self.cells.iter().find(|c| c.code == code)
    }

    /// Why a question's counts in a cell the table shows are hidden.
    pub fn question_hidden(&self, question_key: &str, code: &str) -> Option<Reason> {
        self.questions.get(question_key)?.get(code).copied()
    }

    /// Codes of the shown cells.
    pub(super) fn shown(&self) -> impl Iterator<Item = &str> {
        self.cells
            .iter()
            .filter(|c| c.suppressed.is_none())
            .map(|c| c.code.as_str())
    }
}

/// A round's release plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundPlan {
    pub table: PlannedTable,
    /// The län table (nation and counties), planned beside `table` and the
    /// round's panels; `None` in a plan stored before län were planned,
    /// until it is first read.
    #[serde(default)]
    pub counties: Option<PlannedTable>,
    /// Participation as it stood when the round closed.
    pub participation: ParticipationCounts,
    /// Whether the interval audit has been run on it; `false` in a plan
    /// stored before there was one, until it is first read (and then it
    /// can only hide more).
    #[serde(default)]
    pub audited: bool,
}

/// The panel plan of two rounds: one table per classification the two use,
/// the later round's first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairPlan {
    pub tables: Vec<PlannedTable>,
    /// As [`RoundPlan::audited`].
    #[serde(default)]
    pub audited: bool,
}

impl PairPlan {
    pub fn table(&self, classification_id: &str) -> Option<&PlannedTable> {
        self.tables
            .iter()
            .find(|t| t.classification_id == classification_id)
    }
}

/// Plans read so far, by key. They change only when a round's plan is made
/// anew, which forgets them with the rest of memory.
#[derive(Default)]
pub struct PlanCache {
    rounds: Shared<String, RoundPlan>,
    pairs: Shared<String, PairPlan>,
}

impl PlanCache {
    pub(crate) fn forget(&self) {
        forget(&self.rounds);
        forget(&self.pairs);
    }
}

pub(super) fn round_key(round: Uuid, min_cell: i64) -> String {
    format!("round:{round}:k{min_cell}")
}

pub(super) fn pair_key(a: Uuid, b: Uuid, min_cell: i64) -> String {
    let (x, y) = if a < b { (a, b) } else { (b, a) };
    format!("pair:{x}:{y}:k{min_cell}")
}

fn frozen(round: &survey_round::Model) -> ApiResult<()> {
    match round.status {
        RoundStatus::Closed | RoundStatus::Published => Ok(()),
        _ => Err(ApiError::FailedPrecondition(format!(
            "round {} is not closed: it has no figures yet",
            round.year
        ))),
    }
}

/// A closed round's plan: from memory, from the database, or computed now.
pub async fn round_plan(
    db: &DatabaseConnection,
    cache: &PlanCache,
    since: Since<'_>,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<Arc<RoundPlan>> {
    let key = round_key(round.id, min_cell);
    let plan = fetch(db, &cache.rounds, since, key.clone(), &[round], min_cell).await?;
    if plan.counties.is_some() && plan.audited {
        return Ok(plan);
    }
    // A plan from before län or the interval audit: add them now, once.
    let rounds = [round];
    retrying(|| ensure(db, &rounds, min_cell)).await?;
    let plan = load(db, &key).await?.ok_or(ApiError::Internal)?;
    Ok(remember(&cache.rounds, since, key, plan))
}

/// The panel plan of two closed rounds, computed the first time it is asked for.
pub async fn pair_plan(
    db: &DatabaseConnection,
    cache: &PlanCache,
    since: Since<'_>,
    round: &survey_round::Model,
    other: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<Arc<PairPlan>> {
    if round.id == other.id {
        return Err(ApiError::bad_input(
            "a round cannot be its own baseline: give another round",
        ));
    }
    let key = pair_key(round.id, other.id, min_cell);
    let plan = fetch(
        db,
        &cache.pairs,
        since,
        key.clone(),
        &[round, other],
        min_cell,
    )
    .await?;
    if plan.audited {
        return Ok(plan);
    }
    // A plan from before the interval audit: audit it now, once.
    let rounds = [round, other];
    retrying(|| ensure(db, &rounds, min_cell)).await?;
    let plan = load(db, &key).await?.ok_or(ApiError::Internal)?;
    Ok(remember(&cache.pairs, since, key, plan))
}

/// A plan from memory, from the database, or made now for `rounds`.
async fn fetch<V: for<'de> Deserialize<'de>>(
    db: &DatabaseConnection,
    memory: &Shared<String, V>,
    since: Since<'_>,
    key: String,
    rounds: &[&survey_round::Model],
    min_cell: i64,
) -> ApiResult<Arc<V>> {
    if let Some(hit) = cached(memory, &key) {
        return Ok(hit);
    }
    for round in rounds {
        frozen(round)?;
    }
    let plan = match load(db, &key).await? {
        Some(plan) => plan,
        None => {
            retrying(|| ensure(db, rounds, min_cell)).await?;
            load(db, &key).await?.ok_or(ApiError::Internal)?
        }
    };
    Ok(remember(memory, since, key, plan))
}

/// Plans a round that is closing, inside the close's transaction (which
/// holds the round's row).
pub async fn plan_closing_round(
    txn: &impl ConnectionTrait,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    store_round_plan(txn, round, min_cell).await
}

/// Forgets every plan involving a round whose answers were just replaced as
/// a whole (the demo loader fills rounds that had none), and plans it anew.
pub async fn replan_round(
    txn: &impl ConnectionTrait,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    release_plan::Entity::delete_many()
        .filter(
            Condition::any()
                .add(release_plan::Column::RoundId.eq(round.id))
                .add(release_plan::Column::PairedRoundId.eq(round.id)),
        )
        .exec(txn)
        .await?;
    store_round_plan(txn, round, min_cell).await
}

async fn load<V: for<'de> Deserialize<'de>>(
    db: &impl ConnectionTrait,
    key: &str,
) -> ApiResult<Option<V>> {
    let Some(row) = release_plan::Entity::find_by_id(key).one(db).await? else {
        return Ok(None);
    };
    serde_json::from_str(&row.plan).map(Some).map_err(|e| {
        tracing::error!(key, error = %e, "a stored release plan cannot be read");
        ApiError::Internal
    })
}

pub(super) async fn store<V: Serialize>(
    db: &impl ConnectionTrait,
    key: String,
    round: Uuid,
    paired: Option<Uuid>,
    min_cell: i64,
    plan: &V,
) -> ApiResult<()> {
    let text = serde_json::to_string(plan).map_err(|e| ApiError::internal(&e))?;
    release_plan::Entity::insert(release_plan::ActiveModel {
        id: Set(key),
        round_id: Set(round),
        paired_round_id: Set(paired),
        min_cell: Set(i32::try_from(min_cell).unwrap_or(i32::MAX)),
        plan: Set(text),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Computes and stores the missing plans of one round, or of two rounds and
/// their pair, under a lock on the rounds' rows.
async fn ensure(
    db: &DatabaseConnection,
    rounds: &[&survey_round::Model],
    min_cell: i64,
) -> ApiResult<()> {
    // A new pair plan is computed before the transaction, from the rounds'
    // stored plans, and stored in it if those have not changed meanwhile:
    // the computation is long, and the transaction holds the rounds (and on
    // SQLite the one writer's lock).
    // One at a time in this process: a pair asked for by many requests at
    // once is computed once, the others waiting here without a connection.
    static PREPARING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = match rounds {
        [_, _] => Some(PREPARING.lock().await),
        _ => None,
    };
    let mut prepared = None;
    if let [a, b] = rounds {
        let ready = |key: String| async move {
            Ok::<_, ApiError>(
                load::<RoundPlan>(db, &key)
                    .await?
                    .is_some_and(|p| p.counties.is_some() && p.audited),
            )
        };
        if load::<PairPlan>(db, &pair_key(a.id, b.id, min_cell))
            .await?
            .is_none()
            && ready(round_key(a.id, min_cell)).await?
            && ready(round_key(b.id, min_cell)).await?
        {
            prepared = Some(prepare_pair_plan(db, a, b, min_cell).await?);
        }
    }
    let txn = db.begin().await?;
    let mut ids: Vec<Uuid> = rounds.iter().map(|r| r.id).collect();
    ids.sort();
    for id in &ids {
        rounds::take(&txn, *id).await?;
    }
    for round in rounds {
        let key = round_key(round.id, min_cell);
        match release_plan::Entity::find_by_id(key).one(&txn).await? {
            None => store_round_plan(&txn, round, min_cell).await?,
            Some(row) => {
                let plan = parse::<RoundPlan>(&row)?;
                if plan.counties.is_none() || !plan.audited {
                    audit_round_plan(&txn, round, min_cell).await?;
                }
            }
        }
    }
    if let [a, b] = rounds {
        let key = pair_key(a.id, b.id, min_cell);
        match release_plan::Entity::find_by_id(key).one(&txn).await? {
            None => match prepared {
                Some(prepared) => store_prepared(&txn, prepared, a, b, min_cell).await?,
                None => store_pair_plan(&txn, a, b, min_cell).await?,
            },
            Some(row) if !parse::<PairPlan>(&row)?.audited => {
                audit_pair_plan(&txn, a, b, min_cell).await?;
            }
            Some(_) => {}
        }
    }
    txn.commit().await?;
    Ok(())
}

pub(super) fn parse<V: for<'de> Deserialize<'de>>(row: &release_plan::Model) -> ApiResult<V> {
    serde_json::from_str(&row.plan).map_err(|e| {
        tracing::error!(key = row.id, error = %e, "a stored release plan cannot be read");
        ApiError::Internal
    })
}
