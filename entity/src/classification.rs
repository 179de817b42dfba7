//! `classification`: a versioned municipality grouping (kommungruppsindelning),
//! e.g. SKR 2017 and SKR 2023.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "classification")]
pub struct Model {
    /// Stable id, e.g. "SKR2023".
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub year: i32,
    /// The one classification `Municipality.group/subgroup` show and new rounds use.
    pub is_current: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
