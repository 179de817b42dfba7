//! `webhook_attempt`: one try at a delivery, with what the endpoint answered.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempt")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub delivery_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub number: i32,
    pub at: DateTimeUtc,
    /// The endpoint's HTTP status; null where none came (a network error, a timeout).
    pub status_code: Option<i32>,
    /// Why the attempt failed, in short; null on success.
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
