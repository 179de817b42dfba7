//! `change`: the append-only change feed, and the webhooks' transactional
//! outbox. A row is inserted in the transaction that makes the change and
//! is never updated or deleted; `id` orders the feed (see
//! `schema::services::changes` for why commit order and id order agree).

use sea_orm::entity::prelude::*;

use crate::ChangeKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: ChangeKind,
    pub round_id: Uuid,
    /// The municipality of a response's event; null for a round's.
    pub municipality_code: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
