//! `answer`: a municipality's current answer to one question. Tenant-owned.
//! A single choice's option, numbers and text here; the chosen options of a
//! multi-choice answer in `answer_choice`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "answer")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub municipality_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub round_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub question_id: Uuid,
    /// The chosen option of a single-choice answer (NULL for other kinds).
    pub option_id: Option<Uuid>,
    pub number_value: Option<f64>,
    pub text_value: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
