//! On PostgreSQL, frozen scores (`area_score`) keep no foreign keys. They
//! are derived rows, written once by the close's `INSERT … SELECT` from the
//! round's responses and areas in the same transaction (so they cannot
//! point at anything missing) and never changed after. Checking two keys
//! per row cost half of a close: at 29,000 organisations (the scale bench,
//! 261,000 scores) 3.3 of 6.9 seconds, the area rows locked 261,000 times.
//! SQLite keeps the keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000006_frozen_scores_without_keys"
    }
}

/// (constraint, its definition for `down`).
const KEYS: [(&str, &str); 2] = [
    (
        "fk_score_response",
        "FOREIGN KEY (municipality_code, round_id) REFERENCES response (municipality_code, round_id)",
    ),
    (
        "fk_score_area",
        "FOREIGN KEY (area_id) REFERENCES area (id)",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (key, _) in KEYS {
            m.get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE area_score DROP CONSTRAINT IF EXISTS {key}"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (key, definition) in KEYS {
            m.get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE area_score ADD CONSTRAINT {key} {definition}"
                ))
                .await?;
        }
        Ok(())
    }
}
