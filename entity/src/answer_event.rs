//! `answer_event`: the append-only audit trail of answer changes. Tenant-owned;
//! rows are only ever inserted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "answer_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_code: String,
    pub round_id: Uuid,
    pub question_id: Uuid,
    /// The response version this change produced (orders events within a response).
    pub version: i32,
    /// The token subject that made the change.
    pub subject: String,
    pub at: DateTimeUtc,
    /// The answer before and after, as JSON text; null where there was none.
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
