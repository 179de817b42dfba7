//! A kommun's submissions and reopenings are throttled by the events they
//! left in the change feed in the last minute
//! (`schema::services::changes::throttle`), counted inside the kommun's own
//! transaction, under its response's lock: an index to find them, and on
//! PostgreSQL the kommun's role may read its own municipality's events
//! (only those; it inserts only those too).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000012_feed_throttle"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("change_kommun_round_at")
                .table("change")
                .col("municipality_code")
                .col("round_id")
                .col("at")
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "GRANT SELECT ON change TO mognad_kommun; \
                     CREATE POLICY kommun_reads_own ON change FOR SELECT TO mognad_kommun \
                       USING (municipality_code = current_setting('mognad.kommun', true))",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "DROP POLICY kommun_reads_own ON change; REVOKE SELECT ON change FROM mognad_kommun",
                )
                .await?;
        }
        m.drop_index(
            Index::drop()
                .name("change_kommun_round_at")
                .table("change")
                .to_owned(),
        )
        .await
    }
}
