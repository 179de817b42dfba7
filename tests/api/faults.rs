//! Bounded work and faults: the request deadline, the statement timeout, the
//! pool's acquire timeout, readiness, and the database going away and coming
//! back under a write load.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

const SAVE: &str = "mutation($r: ID!, $c: String!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"risk_managed\", value: { choice: $c } }]) { version } }";

#[tokio::test]
async fn a_request_past_its_deadline_is_503_timeout_with_its_request_id() {
    let app = spawn_app_with(|c| c.request_timeout = Duration::from_nanos(1)).await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-request-id", "deadline-test-1")
        .json(&json!({ "query": "{ municipalities { code name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["x-request-id"], "deadline-test-1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["TIMEOUT"], "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        "deadline-test-1"
    );
    assert!(body.get("data").is_none(), "{body}");
    // Health is not behind the deadline's work: it still answers.
    assert_eq!(app.get("/health/live").await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_statement_held_by_a_lock_times_out_and_the_service_goes_on() {
    if postgres_url().is_none() {
        eprintln!("skipped: statement_timeout is PostgreSQL's; set MOGNAD_TEST_DATABASE_URL");
        return;
    }
    let app = spawn_app_with(|c| c.statement_timeout = Duration::from_millis(200)).await;
    let round = app.open_round(2027).await;
    let token = kommun_token("0180");
    // Another session holds the round row as a close would, and does not let go.
    let holder = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let txn = sea_orm::TransactionTrait::begin(&holder).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &txn,
        &format!("SELECT id FROM survey_round WHERE id = '{round}' FOR UPDATE"),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let (status, body) = app
        .post(
            &json!({ "query": SAVE, "variables": { "r": round, "c": "yes_fully" } }),
            Some(&token),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_codes(&body), ["TIMEOUT"], "{body}");
    assert!(
        body["errors"][0]["extensions"]["requestId"].is_string(),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the save waited {:?} for the lock",
        started.elapsed()
    );
    // Nothing of the refused save was kept.
    let mine = "query($r: ID!) { myResponse(roundId: $r) { answeredCount history { at } } }";
    let body = app.ok(&token, mine, json!({ "r": round })).await;
    assert_eq!(body["myResponse"]["answeredCount"], 0, "{body}");
    assert_eq!(body["myResponse"]["history"], json!([]), "{body}");
    txn.rollback().await.unwrap();
    holder.close().await.unwrap();
    // With the lock gone, the same save goes through.
    app.ok(&token, SAVE, json!({ "r": round, "c": "yes_fully" }))
        .await;
}

#[tokio::test]
async fn readiness_says_whether_the_database_answers() {
    let app = spawn_app().await;
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status().as_u16(), 200);
    // The pool closed: readiness and GraphQL say 503 at once.
    app.db.clone().close().await.unwrap();
    let started = Instant::now();
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status().as_u16(), 503);
    assert!(started.elapsed() < Duration::from_secs(1));
    let (status, body) = app
        .post(&json!({ "query": "{ municipalities { code } }" }), None)
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_codes(&body), ["UNAVAILABLE"], "{body}");
}
