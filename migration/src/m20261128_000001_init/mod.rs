//! The initial schema: reference data, questionnaires, responses and the audit trail.
//!
//! Every lookup the API makes is an index lookup: natural keys are unique
//! indexes, and tenant-owned tables lead with `municipality_code`.

use entity::{
    answer, answer_choice, answer_event, answer_option, area, area_score, classification,
    municipality, municipality_segment, question, response, segment, survey_round,
};
use sea_orm_migration::prelude::*;

mod questionnaire;
mod reference;
mod responses;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000001_init"
    }
}

fn code(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(4).not_null().to_owned()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

fn short(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(32).not_null().to_owned()
}

fn at(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().to_owned()
}

fn fk(name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::Restrict)
        .to_owned()
}

fn index(name: &str) -> IndexCreateStatement {
    Index::create().name(name).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        reference::up(m).await?;
        questionnaire::up(m).await?;
        responses::up(m).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            area_score::Entity.into_table_ref(),
            answer_event::Entity.into_table_ref(),
            answer_choice::Entity.into_table_ref(),
            answer::Entity.into_table_ref(),
            response::Entity.into_table_ref(),
            answer_option::Entity.into_table_ref(),
            question::Entity.into_table_ref(),
            area::Entity.into_table_ref(),
            survey_round::Entity.into_table_ref(),
            municipality_segment::Entity.into_table_ref(),
            segment::Entity.into_table_ref(),
            classification::Entity.into_table_ref(),
            municipality::Entity.into_table_ref(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
