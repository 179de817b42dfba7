//! `release_plan`: what a round (or a pair of rounds, for panels) may show,
//! decided once by the disclosure control and kept, so a released figure is
//! never taken back and never joined by one that would combine with it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "release_plan")]
pub struct Model {
    /// `round:<round id>:k<min cell>` or `pair:<round id>:<round id>:k<min cell>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub round_id: Uuid,
    /// The other round of a pair plan.
    pub paired_round_id: Option<Uuid>,
    pub min_cell: i32,
    /// The decisions per table and cell, as JSON.
    pub plan: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
