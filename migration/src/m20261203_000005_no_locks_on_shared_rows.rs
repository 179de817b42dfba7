//! On PostgreSQL, a kommun's save no longer takes a lock on rows every save
//! shares: the foreign keys from answers to their question, from chosen
//! options to the option, and from audit events to their question and
//! response go. Each such key check takes `FOR KEY SHARE` on the referenced
//! row; with many kommuner saving at once the few question and option rows
//! of a round are held by many transactions together, which PostgreSQL
//! tracks as a multixact per lock — measured here as a quarter of a save's
//! database time. What the keys guarded is checked before any write: every
//! question and option is validated against the round's questionnaire,
//! which is locked once the round opens and never deleted; the audit trail
//! is append-only and meant to outlive what it describes. The keys that
//! matter under load stay: an answer belongs to its response, a chosen
//! option to its answer. SQLite keeps all keys (one writer at a time: no
//! shared locks to pay for).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000005_no_locks_on_shared_rows"
    }
}

/// (table, constraint, its definition for `down`).
const KEYS: [(&str, &str, &str); 4] = [
    (
        "answer",
        "fk_answer_question",
        "FOREIGN KEY (question_id) REFERENCES question (id)",
    ),
    (
        "answer_choice",
        "fk_choice_option",
        "FOREIGN KEY (option_id) REFERENCES answer_option (id)",
    ),
    (
        "answer_event",
        "fk_event_question",
        "FOREIGN KEY (question_id) REFERENCES question (id)",
    ),
    (
        "answer_event",
        "fk_event_response",
        "FOREIGN KEY (municipality_code, round_id) REFERENCES response (municipality_code, round_id)",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, key, _) in KEYS {
            m.get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {key}"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, key, definition) in KEYS {
            m.get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {key} {definition}"
                ))
                .await?;
        }
        Ok(())
    }
}
