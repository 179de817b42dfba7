//! Bounded work and faults: the request deadline, the statement timeout, the
//! pool's acquire timeout, readiness, and the database going away and coming
//! back under a write load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// Another session's open transaction that has run `sql` (to hold its locks
/// until it is rolled back).
async fn hold(
    app: &TestApp,
    sql: &str,
) -> (sea_orm::DatabaseConnection, sea_orm::DatabaseTransaction) {
    let holder = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let txn = sea_orm::TransactionTrait::begin(&holder).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&txn, sql)
        .await
        .unwrap();
    (holder, txn)
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
    let (holder, txn) = hold(
        &app,
        &format!("SELECT id FROM survey_round WHERE id = '{round}' FOR UPDATE"),
    )
    .await;
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

/// The deadline drops the request's work, wherever it runs: a save waiting
/// for a lock when its deadline passes is never written, also after the
/// lock is gone (the work runs on the server's shared runtime, and is
/// aborted with the request).
#[tokio::test]
async fn a_save_past_its_deadline_is_dropped_not_finished_later() {
    if postgres_url().is_none() {
        eprintln!("skipped: holding a row lock needs PostgreSQL; set MOGNAD_TEST_DATABASE_URL");
        return;
    }
    let app = spawn_app_with(|c| c.request_timeout = Duration::from_millis(300)).await;
    let round = app.open_round(2027).await;
    let token = kommun_token("0180");
    app.ok(&token, SAVE, json!({ "r": round, "c": "yes_fully" }))
        .await;
    // Another session holds the kommun's response row.
    let (holder, txn) = hold(
        &app,
        &format!(
            "SELECT version FROM response WHERE municipality_code = '0180' AND round_id = '{round}' FOR UPDATE"
        ),
    )
    .await;
    let (status, body) = app
        .post(
            &json!({ "query": SAVE, "variables": { "r": round, "c": "no" } }),
            Some(&token),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_codes(&body), ["TIMEOUT"], "{body}");
    // The lock goes; a save still waiting for it would now be written.
    txn.rollback().await.unwrap();
    holder.close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mine =
        "query($r: ID!) { myResponse(roundId: $r) { version answers { choices } history { at } } }";
    let body = app.ok(&token, mine, json!({ "r": round })).await;
    assert_eq!(body["myResponse"]["version"], 1, "{body}");
    assert_eq!(
        body["myResponse"]["answers"][0]["choices"],
        json!(["yes_fully"]),
        "{body}"
    );
    assert_eq!(
        body["myResponse"]["history"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
}

#[tokio::test]
async fn readiness_says_whether_the_database_answers() {
    let app = spawn_app().await;
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status().as_u16(), 200);
    // The pools closed: readiness and GraphQL say 503 at once.
    app.db.clone().close().await.unwrap();
    app.reads.clone().close().await.unwrap();
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

/// A TCP proxy in front of PostgreSQL that can be cut (every connection
/// closed, new ones dropped at once) and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    /// Bumped on every cut: a piped connection sees it and closes.
    cuts: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let cuts = Arc::new(AtomicU64::new(0));
        let (up2, cuts2) = (up.clone(), cuts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (target, cuts) = (target.clone(), cuts2.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let generation = cuts.load(Ordering::SeqCst);
                    let (mut client, mut server) = (client, server);
                    let pipe = tokio::io::copy_bidirectional(&mut client, &mut server);
                    let cut = async {
                        while cuts.load(Ordering::SeqCst) == generation {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    };
                    tokio::select! {
                        _ = pipe => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Self { port, up, cuts }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.fetch_add(1, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The database goes away under a write load and comes back: requests fail
/// fast with 503 and a request id, readiness turns false within a second,
/// the service resumes by itself, and every acknowledged save is there with
/// its audit row (and no save is there twice or out of nowhere).
#[tokio::test]
async fn the_database_gone_and_back_under_writes() {
    let Some(server) = postgres_url() else {
        eprintln!(
            "skipped: the fault test cuts a TCP proxy in front of PostgreSQL; set MOGNAD_TEST_DATABASE_URL"
        );
        return;
    };
    // The test database is made through the usual path, then reached through the proxy.
    let direct = spawn_app().await;
    let hostport = server
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next_back())
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let proxy = Proxy::start(hostport.clone()).await;
    let proxied = direct
        .database_url
        .replacen(&hostport, &format!("127.0.0.1:{}", proxy.port), 1);
    let app = Arc::new(spawn_app_on(&proxied).await);
    let round = app.open_round(2027).await;
    let codes = [
        "0114", "0115", "0117", "0120", "0123", "0125", "0126", "0127", "0128", "0136",
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for code in codes {
        let (app, round, stop) = (app.clone(), round.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let token = kommun_token(code);
            let (mut acknowledged, mut unknown, mut slowest) = (Vec::new(), Vec::new(), Duration::ZERO);
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) && n < 5000 {
                n += 1;
                let value = if n.is_multiple_of(2) { "yes_fully" } else { "no" };
                let started = Instant::now();
                let (status, body) = app
                    .post(&json!({ "query": "mutation($r: ID!, $c: String!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"risk_managed\", value: { choice: $c } }]) { version } }", "variables": { "r": round, "c": value } }), Some(&token))
                    .await;
                let took = started.elapsed();
                match status {
                    200 if body.get("errors").is_none() => {
                        acknowledged.push(body["data"]["saveAnswers"]["version"].as_i64().unwrap());
                    }
                    503 => {
                        let codes = error_codes(&body);
                        assert!(codes == ["UNAVAILABLE"] || codes == ["TIMEOUT"], "{body}");
                        assert!(body["errors"][0]["extensions"]["requestId"].is_string(), "{body}");
                        slowest = slowest.max(took);
                        unknown.push(value);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    _ => panic!("{code}: {status} {body}"),
                }
            }
            (code, acknowledged, unknown.len(), slowest)
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.cut();
    let cut_at = Instant::now();
    // Readiness says so within a second.
    let ready = loop {
        let status = app.get("/health/ready").await.status().as_u16();
        if status == 503 || cut_at.elapsed() > Duration::from_secs(5) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(ready, 503);
    let noticed = cut_at.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.restore();
    let restored_at = Instant::now();
    // The service comes back by itself.
    loop {
        if app.get("/health/ready").await.status() == 200 {
            break;
        }
        assert!(
            restored_at.elapsed() < Duration::from_secs(30),
            "no recovery"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = restored_at.elapsed();
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Relaxed);
    let mut failed = 0;
    let mut slowest = Duration::ZERO;
    for writer in writers {
        let (code, acknowledged, refused, slow) = writer.await.unwrap();
        failed += refused;
        slowest = slowest.max(slow);
        assert!(!acknowledged.is_empty(), "{code} saved nothing");
        // Versions grow by one per stored save: every acknowledged one is
        // there, and the history has one row per stored version.
        let body = direct
            .ok(
                &kommun_token(code),
                "query($r: ID!) { myResponse(roundId: $r) { version history { questionKey after } } }",
                json!({ "r": round }),
            )
            .await;
        let version = body["myResponse"]["version"].as_i64().unwrap();
        let history = body["myResponse"]["history"].as_array().unwrap();
        assert_eq!(
            history.len() as i64,
            version,
            "{code}: one audit row per version"
        );
        let last = *acknowledged.last().unwrap();
        assert!(
            version >= last,
            "{code}: acknowledged version {last} lost (now {version})"
        );
        // Versions never go back (a save of the value already stored
        // changes nothing and is acknowledged with the same version).
        assert!(
            acknowledged.is_sorted(),
            "{code}: versions went back: {acknowledged:?}"
        );
        let mut distinct = acknowledged.clone();
        distinct.dedup();
        // A save whose answer was lost in the cut may or may not have
        // committed; at most those, never more.
        assert!(
            version - distinct.len() as i64 <= refused as i64,
            "{code}: saves out of nowhere"
        );
    }
    eprintln!(
        "fault: readiness false after {noticed:?}; {failed} saves refused with 503 during the cut (slowest answer {slowest:?}); ready again {recovered:?} after the database came back"
    );
    assert!(failed > 0, "no save met the cut");
}
