//! `webhook`: an endpoint an SKR admin registered for change-feed events.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    /// The event kinds delivered, comma-separated (`ROUND_PUBLISHED,…`).
    pub events: String,
    /// The HMAC key of the signatures; never shown again.
    pub secret: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    /// The last change-feed event fanned out to this endpoint.
    pub cursor: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
