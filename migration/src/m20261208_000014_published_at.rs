//! When a round was published (`survey_round.published_at`), set by
//! `publishSurveyRound` as `opens_at` and `closes_at` are by the other
//! transitions. Rounds published before it get their last change's time.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000014_published_at"
    }
}

#[derive(DeriveIden)]
enum SurveyRound {
    Table,
    PublishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(SurveyRound::Table)
                .add_column(
                    ColumnDef::new(SurveyRound::PublishedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE survey_round SET published_at = updated_at WHERE status = 'PUBLISHED'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(SurveyRound::Table)
                .drop_column(SurveyRound::PublishedAt)
                .to_owned(),
        )
        .await
    }
}
