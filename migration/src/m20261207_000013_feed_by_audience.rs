//! The change feed by audience:
//!
//! - `server_key`: the server's secrets kept with the data, so every
//!   process serving one database agrees on them; `cursor` seals the
//!   feed's and histories' cursors for their audience
//!   (`schema::cursor`). Made here from the operating system's random
//!   source (two v4 UUIDs); never granted to the kommun role.
//! - On PostgreSQL the kommun role may insert into `change` only its own
//!   response's events (submitted, reopened) of an OPEN round, which is
//!   all its transactions write there; a round's events are the server's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000013_feed_by_audience"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("server_key")
                .col(ColumnDef::new("name").string().not_null().primary_key())
                .col(ColumnDef::new("value").string().not_null())
                .to_owned(),
        )
        .await?;
        let backend = m.get_database_backend();
        let key = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let sql = if backend == DbBackend::Postgres {
            "INSERT INTO server_key (name, value) VALUES ('cursor', $1)"
        } else {
            "INSERT INTO server_key (name, value) VALUES ('cursor', ?)"
        };
        m.get_connection()
            .execute_raw(Statement::from_sql_and_values(backend, sql, [key.into()]))
            .await?;
        if backend == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "DROP POLICY kommun_own ON change; \
                     CREATE POLICY kommun_own ON change FOR INSERT TO mognad_kommun \
                       WITH CHECK (municipality_code = current_setting('mognad.kommun', true) \
                         AND kind IN ('RESPONSE_SUBMITTED', 'RESPONSE_REOPENED') \
                         AND EXISTS (SELECT 1 FROM survey_round r \
                                     WHERE r.id = round_id AND r.status = 'OPEN'))",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "DROP POLICY kommun_own ON change; \
                     CREATE POLICY kommun_own ON change FOR INSERT TO mognad_kommun \
                       WITH CHECK (municipality_code = current_setting('mognad.kommun', true))",
                )
                .await?;
        }
        m.drop_table(Table::drop().table("server_key").to_owned())
            .await
    }
}
