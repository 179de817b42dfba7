//! A kommun's save changes its answers in place (`INSERT … ON CONFLICT DO
//! UPDATE`) instead of deleting and inserting them: an update that touches
//! no indexed column stays on its page (a HOT update) and leaves no dead
//! index entries for the next read of the response to step over. On
//! PostgreSQL the kommun's role needs UPDATE on `answer` for that (row-level
//! security still admits only its own rows); nothing on SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000004_answers_in_place"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection()
            .execute_unprepared("GRANT UPDATE ON answer TO mognad_kommun")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection()
            .execute_unprepared("REVOKE UPDATE ON answer FROM mognad_kommun")
            .await?;
        Ok(())
    }
}
