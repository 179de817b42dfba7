//! Row-level security on PostgreSQL: the database's own guard of tenancy.
//!
//! A kommun's transactions run as the role `mognad_kommun` with the setting
//! `mognad.kommun` (see `schema::tenancy`). Every tenant table forces row
//! level security with two policies: `kommun_own` lets `mognad_kommun` see
//! and write only rows of the municipality in `mognad.kommun`;
//! `mognad_service` names the role that ran this migration — the server's
//! own, for SKR's figures and the life cycle — and admits every row.
//! `mognad_kommun` may read the reference and questionnaire tables and write
//! only what a kommun writes. SQLite has no row-level security: there the
//! scope's type is the guard, and this migration does nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000002_row_level_security"
    }
}

/// Tables whose rows belong to one municipality.
const TENANT_TABLES: [&str; 5] = [
    "response",
    "answer",
    "answer_choice",
    "answer_event",
    "area_score",
];

/// Tables a kommun's transaction reads besides its own rows.
const SHARED_TABLES: [&str; 9] = [
    "municipality",
    "classification",
    "segment",
    "municipality_segment",
    "survey_round",
    "area",
    "question",
    "answer_option",
    "release_plan",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        // Roles belong to the cluster: another database may have made it,
        // or be making it right now. Membership lets the server SET ROLE.
        // A DBA may have made it already (README), for a server role that
        // may not create roles.
        db.execute_unprepared(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mognad_kommun') THEN \
                 CREATE ROLE mognad_kommun NOLOGIN NOBYPASSRLS; \
               END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        )
        .await?;
        db.execute_unprepared(
            "DO $$ BEGIN \
               IF NOT pg_has_role(current_user, 'mognad_kommun', 'MEMBER') THEN \
                 GRANT mognad_kommun TO CURRENT_USER; \
               END IF; \
             END $$",
        )
        .await?;
        db.execute_unprepared("GRANT USAGE ON SCHEMA public TO mognad_kommun")
            .await?;
        let tables = SHARED_TABLES.iter().chain(&TENANT_TABLES);
        for table in tables {
            db.execute_unprepared(&format!("GRANT SELECT ON {table} TO mognad_kommun"))
                .await?;
        }
        db.execute_unprepared(
            "GRANT INSERT, UPDATE ON response TO mognad_kommun; \
             GRANT INSERT, DELETE ON answer, answer_choice TO mognad_kommun; \
             GRANT INSERT ON answer_event TO mognad_kommun; \
             GRANT USAGE ON SEQUENCE answer_event_id_seq TO mognad_kommun",
        )
        .await?;
        for table in TENANT_TABLES {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; \
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY; \
                 CREATE POLICY mognad_service ON {table} TO CURRENT_USER \
                   USING (true) WITH CHECK (true); \
                 CREATE POLICY kommun_own ON {table} TO mognad_kommun \
                   USING (municipality_code = current_setting('mognad.kommun', true)) \
                   WITH CHECK (municipality_code = current_setting('mognad.kommun', true))"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        for table in TENANT_TABLES {
            db.execute_unprepared(&format!(
                "DROP POLICY IF EXISTS kommun_own ON {table}; \
                 DROP POLICY IF EXISTS mognad_service ON {table}; \
                 ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY; \
                 ALTER TABLE {table} DISABLE ROW LEVEL SECURITY; \
                 REVOKE ALL ON {table} FROM mognad_kommun"
            ))
            .await?;
        }
        for table in SHARED_TABLES {
            db.execute_unprepared(&format!("REVOKE ALL ON {table} FROM mognad_kommun"))
                .await?;
        }
        db.execute_unprepared(
            "REVOKE ALL ON SEQUENCE answer_event_id_seq FROM mognad_kommun; \
             REVOKE USAGE ON SCHEMA public FROM mognad_kommun",
        )
        .await?;
        Ok(())
    }
}
