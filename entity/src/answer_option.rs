//! `answer_option`: a choice of a question, with the maturity level it gives.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "answer_option")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub question_id: Uuid,
    pub key: String,
    pub label_sv: String,
    pub label_en: String,
    pub position: i32,
    /// The level (1..4) this option gives on a maturity question; null elsewhere.
    pub maturity_level: Option<i32>,
    /// The option says "Ja": on the implementation scale, the municipality
    /// has an established process ("fastställd process").
    pub affirmative: bool,
    /// For an hours-per-week span: its lower bound, in hours.
    pub hours_from: Option<f64>,
    /// For an hours-per-week span: its upper bound, in hours.
    pub hours_to: Option<f64>,
    /// The option's predecessor among the predecessor question's options,
    /// by key; null: the same key.
    pub predecessor_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
