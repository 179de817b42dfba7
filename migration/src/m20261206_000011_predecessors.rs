//! Mapping across rounds: a question and an option may name their
//! predecessor in the baseline round's questionnaire (null: the same key).
//! Set while a round is DRAFT by questionnaire authoring
//! (`schema::services::authoring`), read by `schema::services::mapping`.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000011_predecessors"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["question", "answer_option"] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(ColumnDef::new("predecessor_key").string_len(64).null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["question", "answer_option"] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .drop_column("predecessor_key")
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
