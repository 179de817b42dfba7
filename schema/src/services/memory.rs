//! What the API keeps in memory, shared by every request of a process
//! ([`FigureCache`]): rounds that left DRAFT, their questionnaires (locked
//! once a round opens), each kommun's frozen scores and group, and the
//! figures and release plans of CLOSED and PUBLISHED rounds. A read of a
//! frozen round does no database work once these are filled.
//!
//! A change to any round (created, opened, closed, published, or its plan
//! made anew) forgets all of it at once ([`Memory::forget`]): the process
//! that made the change does so after its commit, every other process when
//! PostgreSQL's `NOTIFY` on [`CHANGES_CHANNEL`] reaches it (see the server's
//! listener). Round changes are rare; refilling costs a few queries.

use std::ops::Deref;
use std::sync::Arc;

use entity::{area, survey_round};
use sea_orm::{ConnectionTrait, DbBackend};
use uuid::Uuid;

use super::aggregates::{AggregateRow, DistributionRow, Grouping, RoundCells};
use super::memo::{Epoch, Shared, Since, cached, forget};
use super::questionnaire::Questionnaire;
use super::release::PlanCache;
use crate::error::ApiResult;

/// The PostgreSQL channel a round's change is announced on (its payload: the round's id).
pub const CHANGES_CHANNEL: &str = "mognad_rounds";

/// The process's memory, cheap to clone (one shared [`Memory`]).
#[derive(Clone, Default)]
pub struct FigureCache(Arc<Memory>);

impl Deref for FigureCache {
    type Target = Memory;

    fn deref(&self) -> &Memory {
        &self.0
    }
}

/// See the module's documentation.
pub struct Memory {
    /// Names this memory in its announcements.
    id: Uuid,
    epoch: Epoch,
    pub plans: PlanCache,
    /// Rounds past DRAFT, by id.
    pub(crate) rounds: Shared<Uuid, survey_round::Model>,
    /// Questionnaires of rounds past DRAFT, by round id.
    pub(crate) questionnaires: Shared<Uuid, Questionnaire>,
    /// A kommun's frozen level per maturity area of a CLOSED or PUBLISHED
    /// round, by (round, municipality code), in area order.
    pub(crate) scores: Shared<(Uuid, String), Vec<(area::Model, i32)>>,
    /// A municipality's group under a classification, by (code, classification).
    pub(crate) groups: Shared<(String, String), Option<String>>,
    pub(crate) cells: Shared<Uuid, RoundCells>,
    pub(crate) aggregates: Shared<(Uuid, Grouping), Vec<AggregateRow>>,
    /// By (round, question, grouping).
    pub(crate) distributions: Shared<(Uuid, Uuid, Grouping), Vec<DistributionRow>>,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            id: Uuid::new_v4(),
            epoch: Epoch::default(),
            plans: PlanCache::default(),
            rounds: Shared::default(),
            questionnaires: Shared::default(),
            scores: Shared::default(),
            groups: Shared::default(),
            cells: Shared::default(),
            aggregates: Shared::default(),
            distributions: Shared::default(),
        }
    }
}

impl Memory {
    /// What names this memory in its announcements ([`announce`]).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// [`announce`]s a change to `round` from this memory.
    pub async fn announce(&self, txn: &impl ConnectionTrait, round: Uuid) -> ApiResult<()> {
        announce(txn, round, Some(self.id)).await
    }

    /// Where a reading begins: what it computes is kept only if no round
    /// changed meanwhile.
    pub fn since(&self) -> Since<'_> {
        self.epoch.since()
    }

    /// How many times this process forgot (a response cache keyed by it
    /// goes stale with the rest).
    pub fn epoch(&self) -> u64 {
        self.epoch.current()
    }

    /// Forgets everything: a round changed here or in another process.
    pub fn forget(&self) {
        self.epoch.advance();
        forget(&self.rounds);
        forget(&self.questionnaires);
        forget(&self.scores);
        forget(&self.groups);
        forget(&self.cells);
        forget(&self.aggregates);
        forget(&self.distributions);
        self.plans.forget();
    }

    /// Whether a round's mean maturity per `grouping` is in memory already.
    pub fn has_aggregates(&self, round: Uuid, grouping: Grouping) -> bool {
        cached(&self.aggregates, &(round, grouping)).is_some()
    }

    /// A round's baseline, when the round is in memory.
    pub fn round_baseline(&self, round: Uuid) -> Option<Uuid> {
        cached(&self.rounds, &round).and_then(|r| r.baseline_id)
    }

    /// Whether a round's segments and plan are in memory already.
    pub fn has_cells(&self, round: Uuid) -> bool {
        cached(&self.cells, &round).is_some()
    }
}

/// Inside a transaction that changes a round: tells every process listening
/// to forget (on PostgreSQL, delivered when the transaction commits; nothing
/// on SQLite, which one process serves). The payload names the round and
/// the memory it came from, which forgets by itself and ignores its own
/// announcement.
pub async fn announce(
    txn: &impl ConnectionTrait,
    round: Uuid,
    sender: Option<Uuid>,
) -> ApiResult<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let sender = sender.map(|s| s.to_string()).unwrap_or_default();
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANGES_CHANNEL.into(), format!("{round} {sender}").into()],
        ))
        .await?;
    }
    Ok(())
}

/// Whether an announcement's payload came from the memory `id`.
pub fn sent_by(payload: &str, id: Uuid) -> bool {
    payload
        .split_once(' ')
        .and_then(|(_, sender)| Uuid::parse_str(sender).ok())
        == Some(id)
}
