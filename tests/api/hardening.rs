//! Cost-weighted complexity, rate limits and the flood, production mode,
//! metrics and JSON logs, graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

/// `n` aliased panel trends of 2023 against 2019.
fn panel_trends(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| format!("t{i}: maturityTrend(roundId: $r, baselineRoundId: $b, grouping: GROUP, panel: true) {{ meanLevel }}"))
        .collect();
    format!("query($r: ID!, $b: ID!) {{ {} }}", fields.join(" "))
}

/// `n` aliased aggregates of a round.
fn aggregates(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| {
            format!("a{i}: maturityAggregates(roundId: $r, grouping: SUBGROUP) {{ meanLevel }}")
        })
        .collect();
    format!("query($r: ID!) {{ {} }}", fields.join(" "))
}

#[tokio::test]
async fn figures_weigh_what_they_cost_and_cached_ones_are_cheap() {
    let app = spawn_app().await;
    let analyst = analyst_token();
    let pair = json!({ "r": ROUND_2023, "b": ROUND_2019 });
    // Four panel trends fit in the limit; six do not, before anything runs.
    app.ok(&analyst, &panel_trends(4), pair.clone()).await;
    let before = app.statements();
    let body = app
        .gql(Some(&analyst), &panel_trends(6), pair.clone())
        .await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("panel trends 200"),
        "{body}"
    );
    assert_eq!(app.statements(), before, "a refused query runs nothing");
    // Twenty-five aggregates of a round not yet in memory weigh too much ...
    let round = json!({ "r": ROUND_2023 });
    let body = app
        .gql(Some(&analyst), &aggregates(25), round.clone())
        .await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    // ... once they are in memory (a closed round's never change), they are cheap.
    app.ok(&analyst, &aggregates(1), round.clone()).await;
    let data = app.ok(&analyst, &aggregates(25), round.clone()).await;
    assert_eq!(data.as_object().unwrap().len(), 25);
}

#[tokio::test]
async fn the_operations_of_a_batch_share_one_budget() {
    let app = spawn_app().await;
    let analyst = analyst_token();
    let one =
        json!({ "query": panel_trends(4), "variables": { "r": ROUND_2023, "b": ROUND_2019 } });
    let (status, body) = app
        .post(
            &json!([one.clone(), one.clone(), one.clone()]),
            Some(&analyst),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answers = body.as_array().unwrap();
    assert!(answers[0].get("errors").is_none(), "{body}");
    for later in &answers[1..] {
        assert_eq!(error_codes(later), ["QUERY_TOO_COMPLEX"], "{body}");
    }
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after_and_others_go_on() {
    let app = spawn_app_with(|c| {
        c.rate_limit = Some(2);
        c.rate_burst = Some(3);
    })
    .await;
    let query = json!({ "query": "{ viewer { role } }" });
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..6 {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&query)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 && refused.is_none() {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&retry), "Retry-After {retry}");
            assert!(response.headers().contains_key("x-request-id"));
            refused = Some(response.json::<Value>().await.unwrap());
        }
    }
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let refused = refused.unwrap();
    assert_eq!(error_codes(&refused), ["RATE_LIMITED"], "{refused}");
    // A kommun with a token is another client; so is another kommun.
    for code in ["1280", "0180"] {
        let body = app
            .gql(Some(&kommun_token(code)), "{ viewer { role } }", json!({}))
            .await;
        assert_eq!(body["data"]["viewer"]["role"], "KOMMUN", "{body}");
    }
    // A forged token does not buy a fresh quota: it is the same address.
    let forged = format!("{}x", kommun_token("1280"));
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(forged)
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    // Health is never limited, and the refusals are counted.
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let metrics = app.metrics_text().await;
    let limited = metrics
        .lines()
        .find(|l| l.starts_with("mognad_rate_limited_total"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(!limited.ends_with(" 0"), "{limited}");
}

/// The issue's flood: one anonymous client sends expensive panel trends as
/// fast as 50 connections allow; a kommun saves ten times a second beside
/// it. Every request of the kommun succeeds; the goodput and latencies are
/// printed (`--nocapture`).
#[tokio::test]
async fn under_a_flood_another_client_keeps_being_served() {
    let app = Arc::new(
        spawn_app_with(|c| {
            c.rate_limit = Some(20);
            c.rate_burst = Some(40);
        })
        .await,
    );
    let round = app.open_round(2027).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (flood_ok, flood_limited, flood_other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let body =
        json!({ "query": panel_trends(4), "variables": { "r": ROUND_2023, "b": ROUND_2019 } });
    let mut flood = Vec::new();
    for _ in 0..50 {
        let (app, stop, body) = (app.clone(), stop.clone(), body.clone());
        let (ok, limited, other) = (flood_ok.clone(), flood_limited.clone(), flood_other.clone());
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (status, _) = app.post(&body, None).await;
                match status {
                    200 => ok.fetch_add(1, Ordering::Relaxed),
                    429 => limited.fetch_add(1, Ordering::Relaxed),
                    _ => other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // The kommun saves and reads its response for three seconds.
    let token = kommun_token("1280");
    let started = Instant::now();
    let (mut served, mut latencies) = (0u32, Vec::new());
    let save = "mutation($r: ID!, $c: String!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"risk_managed\", value: { choice: $c } }]) { version } }";
    while started.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        let body = app
            .gql(
                Some(&token),
                save,
                json!({ "r": round, "c": if served.is_multiple_of(2) { "yes_fully" } else { "no" } }),
            )
            .await;
        assert!(
            body.get("errors").is_none(),
            "the kommun was refused: {body}"
        );
        latencies.push(t.elapsed());
        served += 1;
        // A well-behaved client: ten requests a second, under its own limit.
        tokio::time::sleep(Duration::from_millis(100).saturating_sub(t.elapsed())).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in flood {
        task.await.unwrap();
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    eprintln!(
        "flood: {} served, {} refused with 429, {} other; the kommun: {served} saves in 3 s ({:.0}/s), median {median:?}, p99 {p99:?}, none refused",
        flood_ok.load(Ordering::Relaxed),
        flood_limited.load(Ordering::Relaxed),
        flood_other.load(Ordering::Relaxed),
        f64::from(served) / 3.0,
    );
    assert!(
        flood_limited.load(Ordering::Relaxed) > 0,
        "the flood was never limited"
    );
    assert_eq!(
        flood_other.load(Ordering::Relaxed),
        0,
        "the flood got errors other than 429"
    );
    assert!(served > 0);
}

#[tokio::test]
async fn production_mode_hides_graphiql_suggestions_and_introspection() {
    let app = spawn_app_with(|c| c.production = true).await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let text = page.text().await.unwrap();
    assert!(!text.contains("graphiql"), "{text}");
    let body = app
        .query("{ __schema { types { name } } }", json!({}))
        .await;
    assert_eq!(body["data"]["__schema"], Value::Null, "{body}");
    let body = app.query("{ municipalitys { code } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    // Introspection can be turned back on.
    let app = spawn_app_with(|c| {
        c.production = true;
        c.introspection = Some(true);
    })
    .await;
    let body = app
        .query("{ __schema { types { name } } }", json!({}))
        .await;
    assert!(body["data"]["__schema"]["types"].is_array(), "{body}");
    // Development: suggestions help.
    let app = spawn_app().await;
    let body = app.query("{ municipalitys { code } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Did you mean"), "{message}");
}

#[tokio::test]
async fn metrics_count_operations_by_name_and_outcome_with_latency_and_pool() {
    let app = spawn_app().await;
    app.query("{ municipalities { code } }", json!({})).await;
    app.query("{ nope }", json!({})).await;
    let text = app.metrics_text().await;
    for needle in [
        "mognad_graphql_requests_total{operation=\"query municipalities\",outcome=\"ok\"} 1",
        "mognad_graphql_requests_total{operation=\"invalid\",outcome=\"GRAPHQL_VALIDATION_FAILED\"} 1",
        "mognad_graphql_request_duration_seconds_bucket{operation=\"query municipalities\",le=",
        "mognad_http_requests_total{status=\"200\"}",
        "mognad_http_request_duration_seconds_count",
        "mognad_db_pool_connections{state=\"idle\",pool=\"writes\"}",
        "mognad_db_pool_connections{state=\"in_use\",pool=\"reads\"}",
        "mognad_db_pool_max_connections{pool=\"reads\"}",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
}

/// The real binary in production mode: JSON log lines with the request id,
/// operation, role and kommun, and neither the token nor the answer; on
/// SIGTERM a request in flight finishes, new connections are refused and
/// the process exits within the shutdown bound.
#[tokio::test]
async fn the_binary_logs_json_and_shuts_down_gracefully() {
    let mut server = Binary::start(&[
        ("MOGNAD_ENV", "production"),
        ("MOGNAD_SHUTDOWN_TIMEOUT", "5s"),
        ("MOGNAD_STATEMENT_TIMEOUT", "20s"),
        ("MOGNAD_REQUEST_TIMEOUT", "30s"),
    ])
    .await;
    let (base, database_url) = (server.base.clone(), server.database_url.clone());
    let client = reqwest::Client::new();
    let admin = admin_token();
    let post = |token: String, body: Value| {
        let client = client.clone();
        let url = format!("{base}/graphql");
        async move { client.post(url).bearer_auth(token).json(&body).send().await }
    };
    let created = post(admin.clone(), json!({ "query": "mutation($from: ID!) { createSurveyRound(input: { year: 2027, title: \"t\", copyFrom: $from }) { id } }", "variables": { "from": ROUND_2023 } }))
        .await.unwrap().json::<Value>().await.unwrap();
    let round = created["data"]["createSurveyRound"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(admin.clone(), json!({ "query": "mutation($r: ID!) { openSurveyRound(id: $r) { status } }", "variables": { "r": round } }))
        .await.unwrap();
    let token = kommun_token("1280");
    let secret_answer = "yes_fully";
    let saved = post(token.clone(), json!({ "query": "mutation($r: ID!, $c: String!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"risk_managed\", value: { choice: $c } }]) { version } }", "variables": { "r": round, "c": secret_answer } }))
        .await.unwrap().json::<Value>().await.unwrap();
    assert!(saved.get("errors").is_none(), "{saved}");

    // A request in flight when SIGTERM comes: it waits for a write lock
    // another connection holds, which lets go 1 s after the signal.
    let mut options = sea_orm::ConnectOptions::new(database_url.clone());
    options.max_connections(1).min_connections(1);
    let locker = sea_orm::Database::connect(options).await.unwrap();
    if postgres_url().is_some() {
        // The round's row, as a transition holds it: a save waits for it first.
        for sql in [
            "BEGIN".to_owned(),
            format!("SELECT id FROM survey_round WHERE id = '{round}' FOR UPDATE"),
        ] {
            sea_orm::ConnectionTrait::execute_unprepared(&locker, &sql)
                .await
                .unwrap();
        }
    } else {
        sea_orm::ConnectionTrait::execute_unprepared(&locker, "BEGIN IMMEDIATE")
            .await
            .unwrap();
    }
    let in_flight = tokio::spawn(post(
        token.clone(),
        json!({ "query": "mutation($r: ID!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"risk_managed\", value: { choice: \"no\" } }]) { version } }", "variables": { "r": round } }),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused = reqwest::Client::new()
        .get(format!("{base}/health/live"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new connection was accepted while stopping"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    sea_orm::ConnectionTrait::execute_unprepared(&locker, "COMMIT")
        .await
        .unwrap();
    let finished = in_flight.await.unwrap().unwrap();
    assert_eq!(finished.status(), 200);
    let finished: Value = finished.json().await.unwrap();
    assert_eq!(finished["data"]["saveAnswers"]["version"], 2, "{finished}");
    let status = loop {
        if let Some(status) = server.exited() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");

    let logs = server.stop();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished_saves: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["fields"]["message"] == "request finished"
                && l["span"]["operation"] == "mutation saveAnswers"
        })
        .collect();
    assert_eq!(finished_saves.len(), 2, "{logs}");
    for line in finished_saves {
        assert_eq!(line["span"]["role"], "KOMMUN", "{line}");
        assert_eq!(line["span"]["kommun"], "1280", "{line}");
        assert!(
            line["span"]["request_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{line}"
        );
    }
    assert!(!logs.contains(&token), "a token was logged");
    assert!(!logs.contains(secret_answer), "an answer was logged");
}

/// A published round never changes: once its figures have been read, reading
/// them again (the round, its plan, its aggregates) does no database work.
#[tokio::test]
async fn figures_of_a_published_round_are_served_from_memory() {
    let app = spawn_app().await;
    app.transition("publishSurveyRound", ROUND_2023).await;
    let query = "query($r: ID!) { maturityAggregates(roundId: $r, grouping: NATIONAL) { area { number } meanLevel respondents } }";
    let first = app.data(query, json!({ "r": ROUND_2023 })).await;
    let before = app.statements();
    let second = app.data(query, json!({ "r": ROUND_2023 })).await;
    assert_eq!(
        app.statements(),
        before,
        "the second read went to the database"
    );
    assert_eq!(first, second);
}
