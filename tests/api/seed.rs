//! Loading the reference data is idempotent: a second run changes nothing.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{postgres_url, spawn_app};

const TABLES: [&str; 8] = [
    "municipality",
    "classification",
    "segment",
    "municipality_segment",
    "survey_round",
    "area",
    "question",
    "answer_option",
];

async fn row_counts(db: &sea_orm::DatabaseConnection) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        let stmt = Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        );
        let row = db.query_one_raw(stmt).await.unwrap().unwrap();
        counts.push(row.try_get::<i64>("", "n").unwrap());
    }
    counts
}

const EVERYTHING: &str = "{ municipalities { code name countyCode countyName group { code population } subgroup { code population } } \
    surveyRounds { id year title status opensAt closesAt baseline { id } \
    areas { key number title questions { key text kind required maturity options { key label maturityLevel } } } } }";

#[tokio::test]
async fn seeding_twice_changes_nothing() {
    let app = spawn_app().await;
    let before = app.data(EVERYTHING, json!({})).await;
    let counts = row_counts(&app.db).await;
    assert_eq!(counts[0], 290);
    assert_eq!(counts[1], 2, "two classifications");
    assert_eq!(
        counts[2], 24,
        "3 groups and 9 subgroups in each classification"
    );
    assert_eq!(counts[3], 580);
    assert_eq!(counts[4], 2);

    // The server seeded the new database at start; seed it again.
    let report = migration::seed::reference(&app.db).await.unwrap();
    assert_eq!(report.total(), 0, "{report:?}");
    assert_eq!(row_counts(&app.db).await, counts);
    assert_eq!(app.data(EVERYTHING, json!({})).await, before);
}

#[tokio::test]
async fn the_seed_command_is_idempotent() {
    // The command on a database of its own: SQLite, or a fresh PostgreSQL database.
    let app = spawn_app().await;
    let run = |url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mognad"))
            .arg("seed")
            .env("MOGNAD_DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("mognad seed runs")
    };
    let first = run(&app.database_url);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(
        text.contains("0 rows inserted"),
        "the server had seeded already: {text}"
    );

    let empty = if postgres_url().is_some() {
        None
    } else {
        let dir =
            std::env::temp_dir().join(format!("mognad-seed-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Some(dir)
    };
    if let Some(dir) = &empty {
        let url = format!("sqlite://{}?mode=rwc", dir.join("seed.sqlite").display());
        let first = run(&url);
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        let text = String::from_utf8_lossy(&first.stdout);
        assert!(
            !text.contains(" 0 rows inserted"),
            "a new database gets rows: {text}"
        );
        let second = run(&url);
        assert!(String::from_utf8_lossy(&second.stdout).contains(": 0 rows inserted"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[tokio::test]
async fn reports_which_database_the_suite_runs_on() {
    let app = spawn_app().await;
    match postgres_url() {
        Some(_) => assert_eq!(
            app.db.get_database_backend(),
            sea_orm::DatabaseBackend::Postgres
        ),
        None => {
            println!(
                "PostgreSQL skipped: MOGNAD_TEST_DATABASE_URL is not set; this run uses SQLite"
            );
            assert_eq!(
                app.db.get_database_backend(),
                sea_orm::DatabaseBackend::Sqlite
            );
        }
    }
}
