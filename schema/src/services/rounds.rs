//! Reading survey rounds, with the visibility rule of the contract
//! ([`policy::sees_round`]: DRAFT rounds only for SKR).

use entity::{RoundStatus, survey_round};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::policy;
use crate::principal::Principal;
use crate::services::memo::{cached, remember};
use crate::services::memory::Memory;

/// Parses a round id; a malformed id names no round.
pub fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

/// The rounds the principal may see, by year, optionally of one status.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    status: Option<RoundStatus>,
) -> ApiResult<Vec<survey_round::Model>> {
    let mut query = survey_round::Entity::find().order_by_asc(survey_round::Column::Year);
    if let Some(s) = status {
        query = query.filter(survey_round::Column::Status.eq(s));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .filter(|r| policy::sees_round(principal, r))
        .collect())
}

/// One round by id and/or year; `None` when it does not exist or is hidden.
pub async fn find(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Option<&str>,
    year: Option<i32>,
) -> ApiResult<Option<survey_round::Model>> {
    let mut query = survey_round::Entity::find();
    match (id, year) {
        (None, None) => return Err(ApiError::bad_input("give the round's id or year")),
        (Some(id), _) => match parse_id(id) {
            Some(uuid) => query = query.filter(survey_round::Column::Id.eq(uuid)),
            None => return Ok(None),
        },
        (None, Some(_)) => {}
    }
    if let Some(y) = year {
        query = query.filter(survey_round::Column::Year.eq(y));
    }
    Ok(query
        .one(db)
        .await?
        .filter(|r| policy::sees_round(principal, r)))
}

/// A round by id: from memory once read, unless it is DRAFT (rounds past
/// DRAFT change only by a transition, which forgets them everywhere, see
/// [`crate::services::memory`]). A kommun's write checks the round's status
/// again inside its transaction, never trusting memory for that.
async fn read(
    db: &impl ConnectionTrait,
    memory: &Memory,
    uuid: Uuid,
) -> ApiResult<Option<survey_round::Model>> {
    if let Some(round) = cached(&memory.rounds, &uuid) {
        return Ok(Some(round.as_ref().clone()));
    }
    let since = memory.since();
    let round = survey_round::Entity::find_by_id(uuid).one(db).await?;
    if let Some(r) = &round
        && r.status != RoundStatus::Draft
    {
        remember(&memory.rounds, since, uuid, r.clone());
    }
    Ok(round)
}

/// A round the principal may see, by id: NOT_FOUND when it does not exist or is hidden.
pub async fn get(
    db: &impl ConnectionTrait,
    memory: &Memory,
    principal: &Principal,
    id: &str,
) -> ApiResult<survey_round::Model> {
    let not_found = || ApiError::not_found(format!("no round with id {id:?}"));
    let uuid = parse_id(id).ok_or_else(not_found)?;
    read(db, memory, uuid)
        .await?
        .filter(|r| policy::sees_round(principal, r))
        .ok_or_else(not_found)
}

/// A round by id whatever its status (aggregates refuse DRAFT rounds by status).
pub async fn get_any(
    db: &impl ConnectionTrait,
    memory: &Memory,
    id: &str,
) -> ApiResult<survey_round::Model> {
    let not_found = || ApiError::not_found(format!("no round with id {id:?}"));
    let uuid = parse_id(id).ok_or_else(not_found)?;
    read(db, memory, uuid).await?.ok_or_else(not_found)
}

/// The advisory lock's key of a round: all 128 bits of the id folded into
/// the lock's 64 (the reference rounds' ids differ only in their last bytes).
pub(crate) fn gate_key(round: Uuid) -> i64 {
    let (high, low) = round.as_u64_pair();
    i64::from_ne_bytes((high ^ low).to_ne_bytes())
}

/// How a transaction enters a round's gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// A kommun's write: many at once.
    Shared,
    /// A transition or a release plan: alone.
    Exclusive,
}

/// The first lock of every transaction on a round, on PostgreSQL: a
/// transaction-scoped advisory lock keyed by the round, shared by a
/// kommun's writes and exclusive for a transition. Unlike the row locks
/// after it, the lock manager queues it fairly: once a close waits, new
/// writes wait behind it, so a close is never starved by a stream of saves
/// (row share locks are granted past a waiting updater). Nothing on SQLite,
/// where the first write takes the database's one write lock.
pub async fn enter_gate(txn: &impl ConnectionTrait, round: Uuid, gate: Gate) -> ApiResult<()> {
    if txn.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    let key = gate_key(round);
    let function = match gate {
        Gate::Shared => "pg_advisory_xact_lock_shared",
        Gate::Exclusive => "pg_advisory_xact_lock",
    };
    txn.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        format!("SELECT {function}($1)"),
        [key.into()],
    ))
    .await?;
    Ok(())
}

/// Takes a round for the transaction alone, as its first lock (the
/// documented order): on PostgreSQL its gate, exclusive, then its row
/// `FOR NO KEY UPDATE`; on SQLite the database's write lock, taken now by a
/// write that changes nothing, so a transaction that reads before it writes
/// is not turned away (busy) when it comes to write. Returns the row as it
/// now is; `None` when there is no such round.
pub async fn take(txn: &impl ConnectionTrait, id: Uuid) -> ApiResult<Option<survey_round::Model>> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, LockType};
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        enter_gate(txn, id, Gate::Exclusive).await?;
        return Ok(survey_round::Entity::find_by_id(id)
            .lock(LockType::NoKeyUpdate)
            .one(txn)
            .await?);
    }
    survey_round::Entity::update_many()
        .col_expr(
            survey_round::Column::Status,
            Expr::col(survey_round::Column::Status),
        )
        .filter(survey_round::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(survey_round::Entity::find_by_id(id).one(txn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_that_differ_anywhere_have_their_own_gate() {
        let ids = [
            "00000000-0000-0000-0000-000000002019",
            "00000000-0000-0000-0000-000000002023",
            "00000000-0000-0001-0000-000000002023",
            "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
        ];
        let keys: std::collections::HashSet<i64> = ids
            .iter()
            .map(|id| gate_key(Uuid::parse_str(id).unwrap()))
            .collect();
        assert_eq!(keys.len(), ids.len());
    }
}
