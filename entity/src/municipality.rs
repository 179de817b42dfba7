//! `municipality`: the 290 kommuner, keyed by SCB code.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "municipality")]
pub struct Model {
    /// Four-digit SCB code, e.g. "1280".
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name: String,
    pub county_code: String,
    pub county_name: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
