//! `survey_round`: one round of the follow-up (enkätomgång), e.g. 2019 or 2023.

use sea_orm::entity::prelude::*;

use crate::RoundStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_round")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub year: i32,
    pub title: String,
    pub description: Option<String>,
    pub status: RoundStatus,
    /// When the round is planned to open; set to when it opened by `open`.
    pub opens_at: Option<DateTimeUtc>,
    /// When the round is planned to close; set to when it closed by `close`.
    pub closes_at: Option<DateTimeUtc>,
    /// When the round was published.
    pub published_at: Option<DateTimeUtc>,
    /// The round this one is compared with by default.
    pub baseline_id: Option<Uuid>,
    /// The grouping this round's results are counted with.
    pub classification_id: String,
    /// True where the answers are generated demo data, not real responses.
    pub demo: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
