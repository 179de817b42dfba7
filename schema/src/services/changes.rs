//! The change feed: what happened to rounds and responses, in the order it
//! was committed, for clients that poll (`changes(after, first)`) and for
//! the webhooks' dispatcher (the feed is their transactional outbox).
//!
//! **The ordering guarantee.** Paging forward from any cursor never skips
//! or repeats an event, also while events are being written. A cursor is an
//! event's id, and a page is the visible events with a greater id, so the
//! guarantee holds exactly when no event becomes visible after an event
//! with a greater id did. Ids come from a sequence (PostgreSQL) or the
//! table's rowid (SQLite), handed out when the row is inserted — not when
//! it commits — so two writers could commit out of id order. They cannot
//! here:
//!
//! - On PostgreSQL, [`record`] takes a transaction-scoped advisory lock
//!   (the *feed lock*, its own key space: two 32-bit keys, where the
//!   rounds' gates use one 64-bit key) in the same statement that inserts
//!   the event, so the id is drawn under the lock, and the lock is released
//!   only after the transaction's commit is visible. Events therefore
//!   commit one at a time in id order. The feed lock is the **last** lock
//!   of every transaction that takes it (after the gate, the round row and
//!   the response row; see the README's lock order), so it adds no
//!   deadlock, and it is held only from the insert to the commit.
//! - On SQLite a transaction's first write takes the database's one write
//!   lock until it commits, so rowids are drawn in commit order.
//!
//! A transaction that rolls back leaves a gap in the ids, which the feed
//! skips over: no visible event is ever skipped. Saves of answers are not
//! events (their own audit trail is `Response.history`), so the feed lock
//! is taken only by transitions, submissions and reopenings.
//!
//! **Who sees what** (the policy's [`Audience`]): anonymous callers see
//! publications; a kommun its own response's events and the opening,
//! closing and publication of rounds; SKR analysts every event but a
//! response's (which names a municipality); SKR admins everything, a
//! response's event times by the day ([`shown_time`]). A DRAFT round's
//! events (created, questionnaire changed) are SKR's only, as the round
//! is. Cursors are sealed for the audience ([`crate::cursor`]): they say
//! nothing of the events between them that the caller does not see.

use chrono::{DateTime, Utc};
use entity::{ChangeKind, change};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::policy::Audience;
use crate::tenancy::KommunScope;

/// The two keys of the feed lock (`pg_advisory_xact_lock(int, int)`):
/// "mogn" as a number, and 1.
const FEED_LOCK: (i32, i32) = (0x6d6f_676e, 1);

/// The largest page a client may ask for.
pub const MAX_PAGE: i32 = 500;

/// Records an event in the caller's transaction, last thing before its
/// commit (the feed lock is held from here to the commit). `kommun` is the
/// scope of a response's event, `None` for a round's.
pub async fn record(
    txn: &impl ConnectionTrait,
    kind: ChangeKind,
    round: Uuid,
    kommun: Option<&KommunScope>,
) -> ApiResult<()> {
    let backend = txn.get_database_backend();
    let values = [
        kind.to_value().into(),
        round.into(),
        kommun.map(|k| k.code().to_owned()).into(),
        Utc::now().into(),
    ];
    let sql = if backend == DbBackend::Postgres {
        format!(
            "INSERT INTO change (kind, round_id, municipality_code, at) \
             SELECT $1, $2, $3, $4 FROM (SELECT pg_advisory_xact_lock({}, {})) AS feed_lock",
            FEED_LOCK.0, FEED_LOCK.1
        )
    } else {
        "INSERT INTO change (kind, round_id, municipality_code, at) VALUES (?, ?, ?, ?)".to_owned()
    };
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

/// The most events one kommun's submissions and reopenings may add to the
/// feed (and so to every subscribed webhook) in any minute, per round.
pub const STATUS_EVENTS_PER_MINUTE: usize = 6;

/// Refuses a submission or reopening that would add a seventh event of the
/// kommun's response to the feed within a minute: RATE_LIMITED, with the
/// seconds until the oldest of those six is a minute old. Called in the
/// kommun's transaction under its response's lock, so two at once are
/// counted one after the other.
pub async fn throttle(
    txn: &impl ConnectionTrait,
    scope: &KommunScope,
    round: Uuid,
) -> ApiResult<()> {
    let window = chrono::Duration::minutes(1);
    let now = Utc::now();
    let recent: Vec<chrono::DateTime<Utc>> = change::Entity::find()
        .select_only()
        .column(change::Column::At)
        .filter(change::Column::MunicipalityCode.eq(scope.code()))
        .filter(change::Column::RoundId.eq(round))
        .filter(change::Column::At.gt(now - window))
        .filter(
            change::Column::Kind
                .is_in([ChangeKind::ResponseSubmitted, ChangeKind::ResponseReopened]),
        )
        .order_by_desc(change::Column::At)
        .limit(STATUS_EVENTS_PER_MINUTE as u64)
        .into_tuple()
        .all(txn)
        .await?;
    if recent.len() < STATUS_EVENTS_PER_MINUTE {
        return Ok(());
    }
    let oldest = recent.last().copied().unwrap_or(now);
    let wait = (oldest + window - now).to_std().unwrap_or_default();
    Err(ApiError::rate_limited(
        format!(
            "this response was submitted or reopened {STATUS_EVENTS_PER_MINUTE} times in the last minute; try again in a moment"
        ),
        wait,
    ))
}

/// The rows `audience` sees, as a condition on `change`: anonymous
/// callers publications; a kommun its own response's events and rounds
/// opened, closed and published; SKR analysts every event but a
/// response's; SKR admins everything.
fn condition(audience: &Audience) -> Condition {
    use change::Column as C;
    match audience {
        Audience::Public => Condition::all().add(C::Kind.eq(ChangeKind::RoundPublished)),
        Audience::Kommun(scope) => Condition::any()
            .add(C::MunicipalityCode.eq(scope.code()))
            .add(C::Kind.is_in([
                ChangeKind::RoundOpened,
                ChangeKind::RoundClosed,
                ChangeKind::RoundPublished,
            ])),
        Audience::Analyst(_) => Condition::all().add(C::MunicipalityCode.is_null()),
        Audience::Admin(_) => Condition::all(),
    }
}

/// When an event happened, as `audience` may know it: a response's
/// submission or reopening by the day (UTC midnight) for SKR, as
/// `participation.byMunicipality` dates them (exact times beside
/// figures that move would date single answers); a kommun's own and a
/// round's events exactly.
pub fn shown_time(audience: &Audience, event: &change::Model) -> DateTime<Utc> {
    match audience {
        Audience::Analyst(_) | Audience::Admin(_) if event.municipality_code.is_some() => {
            crate::services::participation::day(event.at)
        }
        _ => event.at,
    }
}

/// A page size a client asked for, checked against `1..=MAX_PAGE`.
pub fn page_size(first: i32) -> ApiResult<u64> {
    if (1..=MAX_PAGE).contains(&first) {
        Ok(first.unsigned_abs().into())
    } else {
        Err(ApiError::bad_input(format!(
            "first must be between 1 and {MAX_PAGE}"
        )))
    }
}

/// One page of the feed.
#[derive(Debug)]
pub struct Page {
    pub events: Vec<change::Model>,
    /// Whether more visible events follow the last one.
    pub has_next: bool,
}

/// The events `audience` sees after the event `after` (from the start
/// without one), at most `first`, oldest first.
pub async fn page(
    db: &impl ConnectionTrait,
    audience: &Audience,
    after: Option<i64>,
    first: u64,
) -> ApiResult<Page> {
    let mut events = change::Entity::find()
        .filter(condition(audience))
        .filter(change::Column::Id.gt(after.unwrap_or(0)))
        .order_by_asc(change::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next = events.len() as u64 > first;
    events.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    Ok(Page { events, has_next })
}
