//! `question`: one question of a round, with its kind, limits and optional condition.

use sea_orm::entity::prelude::*;

use crate::QuestionKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "question")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub round_id: Uuid,
    pub area_id: Uuid,
    /// Stable across rounds.
    pub key: String,
    pub text_sv: String,
    pub text_en: String,
    pub kind: QuestionKind,
    pub required: bool,
    /// The answer sets the maturity level of the question's area.
    pub maturity: bool,
    pub position: i32,
    /// Asked only when this question (same round) ...
    pub condition_question_key: Option<String>,
    /// ... is answered with one of these option keys (a JSON array).
    pub condition_option_keys: Option<String>,
    /// Bounds for NUMBER questions.
    pub min_number: Option<f64>,
    pub max_number: Option<f64>,
    /// Longest accepted TEXT answer, in characters.
    pub max_length: Option<i32>,
    /// The question's predecessor in the baseline round, by key; null: the same key.
    pub predecessor_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
