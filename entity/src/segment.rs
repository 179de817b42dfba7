//! `segment`: the groups (A/B/C) and subgroups (A1..C9) of a classification.

use sea_orm::entity::prelude::*;

use crate::SegmentKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub classification_id: String,
    /// "A".."C" for groups, "A1".."C9" for subgroups.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub kind: SegmentKind,
    /// The group a subgroup belongs to; null for groups.
    pub parent_code: Option<String>,
    pub name: String,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
