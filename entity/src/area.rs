//! `area`: a follow-up area (uppföljningsområde) of one round's questionnaire.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "area")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub round_id: Uuid,
    pub key: String,
    /// 1..9 for the maturity areas, null for areas without a maturity score.
    pub number: Option<i32>,
    pub title_sv: String,
    pub title_en: String,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
