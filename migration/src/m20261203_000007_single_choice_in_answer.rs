//! A single-choice answer keeps its chosen option in its own row
//! (`answer.option_id`); `answer_choice` keeps only the options of
//! multi-choice answers. Changing a single-choice answer — most of what a
//! kommun saves — is then one update of one row that touches no indexed
//! column (a HOT update on PostgreSQL), where it was an update, a deleted
//! and an inserted `answer_choice` row with two index entries and a
//! foreign-key check each, and dead rows for every later read to step over.
//! Readers take a question's chosen options as
//! `COALESCE(answer.option_id, answer_choice.option_id)` over
//! `answer LEFT JOIN answer_choice`. The column has no foreign key, like
//! `answer_choice.option_id` on PostgreSQL (migration 000005): every option
//! is validated against the round's locked questionnaire before a write.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000007_single_choice_in_answer"
    }
}

/// The single-choice questions, for the statements that move their options.
const SINGLE: &str = "SELECT id FROM question WHERE kind = 'SINGLE_CHOICE'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("answer")
                .add_column(ColumnDef::new("option_id").uuid().null())
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(&format!(
            "UPDATE answer SET option_id = (SELECT c.option_id FROM answer_choice c \
               WHERE c.municipality_code = answer.municipality_code AND c.round_id = answer.round_id \
               AND c.question_id = answer.question_id) \
             WHERE question_id IN ({SINGLE})"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "DELETE FROM answer_choice WHERE question_id IN ({SINGLE})"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO answer_choice (municipality_code, round_id, question_id, option_id) \
                 SELECT municipality_code, round_id, question_id, option_id FROM answer \
                 WHERE option_id IS NOT NULL",
            )
            .await?;
        m.alter_table(
            Table::alter()
                .table("answer")
                .drop_column("option_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
