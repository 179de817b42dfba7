//! `answer_choice`: an option chosen in a multi-choice answer (one row per chosen
//! option; a single choice keeps its option in `answer.option_id`). Tenant-owned.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "answer_choice")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub municipality_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub round_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub question_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub option_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
