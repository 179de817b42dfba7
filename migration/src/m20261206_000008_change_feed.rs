//! The change feed (`change`): one row per event — a round created,
//! opened, closed or published, a questionnaire changed, a response
//! submitted or reopened — inserted in the transaction that makes the
//! change and never updated or deleted. It is also the webhooks'
//! transactional outbox.
//!
//! On PostgreSQL a kommun's transaction (role `mognad_kommun`) may insert
//! events of its own municipality only (row-level security, as on the
//! tenant tables) and read none; the server's own role reads the feed and
//! filters it per caller.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000008_change_feed"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("change")
                .col(
                    ColumnDef::new("id")
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new("kind").string_len(32).not_null())
                .col(ColumnDef::new("round_id").uuid().not_null())
                .col(ColumnDef::new("municipality_code").string_len(4).null())
                .col(ColumnDef::new("at").timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection()
            .execute_unprepared(
                "GRANT INSERT ON change TO mognad_kommun; \
                 GRANT USAGE ON SEQUENCE change_id_seq TO mognad_kommun; \
                 ALTER TABLE change ENABLE ROW LEVEL SECURITY; \
                 ALTER TABLE change FORCE ROW LEVEL SECURITY; \
                 CREATE POLICY mognad_service ON change TO CURRENT_USER \
                   USING (true) WITH CHECK (true); \
                 CREATE POLICY kommun_own ON change FOR INSERT TO mognad_kommun \
                   WITH CHECK (municipality_code = current_setting('mognad.kommun', true))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "REVOKE ALL ON SEQUENCE change_id_seq FROM mognad_kommun; \
                     REVOKE ALL ON change FROM mognad_kommun",
                )
                .await?;
        }
        m.drop_table(Table::drop().table("change").to_owned()).await
    }
}
