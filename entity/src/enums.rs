//! Enumerations stored as short strings, readable in SQL on both databases.

use sea_orm::entity::prelude::*;

/// Life cycle of a survey round (enkätomgång).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RoundStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "CLOSED")]
    Closed,
    #[sea_orm(string_value = "PUBLISHED")]
    Published,
}

/// As the API writes it: `DRAFT`, `OPEN`, `CLOSED`, `PUBLISHED`.
impl std::fmt::Display for RoundStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Draft => "DRAFT",
            Self::Open => "OPEN",
            Self::Closed => "CLOSED",
            Self::Published => "PUBLISHED",
        })
    }
}

/// How a question is answered.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum QuestionKind {
    #[sea_orm(string_value = "SINGLE_CHOICE")]
    SingleChoice,
    #[sea_orm(string_value = "MULTI_CHOICE")]
    MultiChoice,
    #[sea_orm(string_value = "NUMBER")]
    Number,
    #[sea_orm(string_value = "TEXT")]
    Text,
}

/// Where a municipality's response stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ResponseStatus {
    #[sea_orm(string_value = "NOT_STARTED")]
    NotStarted,
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    #[sea_orm(string_value = "SUBMITTED")]
    Submitted,
}

/// The level of a segment in a classification's hierarchy.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SegmentKind {
    #[sea_orm(string_value = "GROUP")]
    Group,
    #[sea_orm(string_value = "SUBGROUP")]
    Subgroup,
    /// A län (county): not a level of a classification, but figures are
    /// broken down by it too. No segment row has this kind.
    #[sea_orm(string_value = "COUNTY")]
    County,
}

/// What happened, in the change feed (`change.kind`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ChangeKind {
    #[sea_orm(string_value = "ROUND_CREATED")]
    RoundCreated,
    #[sea_orm(string_value = "ROUND_OPENED")]
    RoundOpened,
    #[sea_orm(string_value = "ROUND_CLOSED")]
    RoundClosed,
    #[sea_orm(string_value = "ROUND_PUBLISHED")]
    RoundPublished,
    #[sea_orm(string_value = "QUESTIONNAIRE_CHANGED")]
    QuestionnaireChanged,
    #[sea_orm(string_value = "RESPONSE_SUBMITTED")]
    ResponseSubmitted,
    #[sea_orm(string_value = "RESPONSE_REOPENED")]
    ResponseReopened,
}
