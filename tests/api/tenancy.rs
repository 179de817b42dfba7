//! Tenancy in the database (PostgreSQL row-level security): inside a
//! kommun's transaction even a query written without the scope's filter
//! sees, changes and creates nothing of another kommun.

use entity::{answer, answer_event, area_score, response};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement,
    TransactionTrait,
};
use serde_json::json;

use crate::helpers::{kommun_token, postgres_url, spawn_app};

const SAVE: &str =
    "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }";

/// The scope a verified token of `code` would give.
fn scope_of(code: &str) -> schema::KommunScope {
    let code = schema::domain::KommunCode::parse(code).unwrap();
    #[expect(
        clippy::disallowed_methods,
        reason = "the test plays the server's authentication"
    )]
    let principal = schema::Principal::kommun("rls-test".into(), code);
    schema::policy::kommun(&principal).unwrap()
}

#[tokio::test]
async fn a_wrong_query_in_a_kommuns_transaction_sees_no_other_kommun() {
    if postgres_url().is_none() {
        println!("skipped: row-level security is PostgreSQL's; set MOGNAD_TEST_DATABASE_URL");
        return;
    }
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    let answers = json!([
        { "questionKey": "risk_managed", "value": { "choice": "yes_fully" } },
        { "questionKey": "function_exists", "value": { "choice": "yes" } },
    ]);
    for code in ["1280", "0180", "0114"] {
        app.ok(
            &kommun_token(code),
            SAVE,
            json!({ "r": round, "a": answers }),
        )
        .await;
    }
    app.transition("closeSurveyRound", &round).await;

    let scope = scope_of("1280");
    let txn = scope.begin(&app.db).await.unwrap();
    // Deliberately without the scope's filter.
    let rows = answer::Entity::find().all(&txn).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.municipality_code == "1280"));
    let responses = response::Entity::find().all(&txn).await.unwrap();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].municipality_code, "1280");
    let events = answer_event::Entity::find().all(&txn).await.unwrap();
    assert!(!events.is_empty() && events.iter().all(|e| e.municipality_code == "1280"));
    let scores = area_score::Entity::find().all(&txn).await.unwrap();
    assert!(!scores.is_empty() && scores.iter().all(|s| s.municipality_code == "1280"));
    let counted = txn
        .query_one_raw(Statement::from_string(
            txn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM answer WHERE option_id IS NOT NULL",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(counted, 2, "raw SQL is filtered too");
    // Writing another kommun's rows changes nothing.
    let touched = response::Entity::update_many()
        .col_expr(response::Column::Version, Expr::value(99))
        .filter(response::Column::MunicipalityCode.eq("0180"))
        .exec(&txn)
        .await
        .unwrap();
    assert_eq!(touched.rows_affected, 0);
    let removed = answer::Entity::delete_many()
        .filter(answer::Column::MunicipalityCode.ne("1280"))
        .exec(&txn)
        .await
        .unwrap();
    assert_eq!(removed.rows_affected, 0);
    txn.rollback().await.unwrap();

    // Creating one in another kommun's name is refused by the policy.
    let txn = scope.begin(&app.db).await.unwrap();
    let forged = response::Entity::insert(response::ActiveModel {
        municipality_code: Set("0180".into()),
        round_id: Set(uuid::Uuid::parse_str(&round).unwrap()),
        status: Set(entity::ResponseStatus::NotStarted),
        version: Set(0),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(None),
        submitted_at: Set(None),
    })
    .exec_without_returning(&txn)
    .await;
    assert!(forged.is_err(), "the policy refuses another kommun's row");
    txn.rollback().await.unwrap();

    // The server's own role (SKR's figures) still sees everyone.
    let txn = app.db.begin().await.unwrap();
    assert_eq!(answer::Entity::find().all(&txn).await.unwrap().len(), 6);
    txn.commit().await.unwrap();
}

/// Of the change feed, a kommun's transaction reads its own response's
/// events only (the throttle on submissions counts them there), and
/// inserts no other kommun's.
#[tokio::test]
async fn a_kommuns_transaction_reads_only_its_own_feed_events() {
    if postgres_url().is_none() {
        println!("skipped: row-level security is PostgreSQL's; set MOGNAD_TEST_DATABASE_URL");
        return;
    }
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    for code in ["1280", "0180"] {
        let token = kommun_token(code);
        let full = json!({ "r": round, "a": crate::isolation::full_answers() });
        app.ok(&token, SAVE, full).await;
        app.ok(
            &token,
            "mutation($r: ID!) { submitResponse(roundId: $r) { status } }",
            json!({ "r": round }),
        )
        .await;
    }
    let scope = scope_of("1280");
    let txn = scope.begin(&app.db).await.unwrap();
    // Deliberately without a filter.
    let feed = entity::change::Entity::find().all(&txn).await.unwrap();
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(feed[0].municipality_code.as_deref(), Some("1280"));
    txn.rollback().await.unwrap();
    // The server's own role sees the round's opening and both submissions.
    assert_eq!(
        entity::change::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn the_kommun_role_writes_only_its_own_response_events_to_the_feed() {
    if postgres_url().is_none() {
        println!("skipped: row-level security is PostgreSQL's; set MOGNAD_TEST_DATABASE_URL");
        return;
    }
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    let insert = |kind: &str, code: &str| {
        Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "INSERT INTO change (kind, round_id, municipality_code, at) \
                 VALUES ('{kind}', '{round}', '{code}', now())"
            ),
        )
    };
    let scope = scope_of("1280");
    // Its own submission and reopening: what its transactions write.
    for kind in ["RESPONSE_SUBMITTED", "RESPONSE_REOPENED"] {
        let txn = scope.begin(&app.db).await.unwrap();
        txn.execute_raw(insert(kind, "1280")).await.unwrap();
        txn.rollback().await.unwrap();
    }
    // Any other kind, or another kommun's code: refused by the database.
    for (kind, code) in [
        ("ROUND_PUBLISHED", "1280"),
        ("ROUND_OPENED", "1280"),
        ("ROUND_CLOSED", "1280"),
        ("ROUND_CREATED", "1280"),
        ("QUESTIONNAIRE_CHANGED", "1280"),
        ("RESPONSE_SUBMITTED", "0180"),
    ] {
        let txn = scope.begin(&app.db).await.unwrap();
        let refused = txn.execute_raw(insert(kind, code)).await;
        assert!(refused.is_err(), "{kind} for {code} was written");
        txn.rollback().await.unwrap();
    }
    // Nor its own events of a round that is not OPEN.
    app.transition("closeSurveyRound", &round).await;
    let txn = scope.begin(&app.db).await.unwrap();
    assert!(
        txn.execute_raw(insert("RESPONSE_SUBMITTED", "1280"))
            .await
            .is_err()
    );
    txn.rollback().await.unwrap();
    // Nothing came of it: the feed holds the round's creation, opening and closing.
    let kinds: Vec<entity::ChangeKind> = entity::change::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            entity::ChangeKind::RoundCreated,
            entity::ChangeKind::RoundOpened,
            entity::ChangeKind::RoundClosed
        ]
    );
}
