//! Measures closing a round that all 290 municipalities answered, and the
//! first (computed) and second (cached) reads of its figures.
//!
//! ```sh
//! cargo bench --bench close                                  # SQLite
//! MOGNAD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench close
//! ```
//! With a PostgreSQL URL the bench creates and drops its own database there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first failure"
)]

use std::time::{Duration, Instant};

use mognad::config::{Config, Database, Secret};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const SECRET: &str = "bench-secret-that-is-long-enough-for-hs256";

fn token(role: &str, kommun: Option<&str>) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({ "iss": "mognad", "aud": "mognad-api", "sub": "bench", "role": role, "exp": now + 3600 });
    if let Some(k) = kommun {
        claims["kommun"] = json!(k);
    }
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

async fn gql(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let body: Value = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn timed<F: std::future::Future<Output = Value>>(f: F) -> Duration {
    let start = Instant::now();
    f.await;
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let (url, cleanup) = match std::env::var("MOGNAD_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin_url) => {
            let name = format!("mognad_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            let base = admin_url.rsplit_once('/').unwrap().0.to_owned();
            (format!("{base}/{name}"), Some((admin, name)))
        }
        None => {
            let dir = std::env::temp_dir()
                .join(format!("mognad-bench-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            (
                format!("sqlite://{}?mode=rwc", dir.join("bench.sqlite").display()),
                None,
            )
        }
    };
    let config = Config {
        database: Database::Url(url.clone()),
        listen: "127.0.0.1:0".into(),
        jwt_secret: Some(Secret::new(SECRET)),
        ..Config::default()
    };
    let app = mognad::Application::build(config).await.unwrap();
    let endpoint = format!("http://127.0.0.1:{}/graphql", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let admin = token("skr_admin", None);

    let created = gql(&client, &endpoint, &admin,
        "mutation { createSurveyRound(input: { year: 2030, title: \"bench\", copyFrom: \"00000000-0000-0000-0000-000000002023\" }) { id } }",
        json!({})).await;
    let round = created["createSurveyRound"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gql(
        &client,
        &endpoint,
        &admin,
        "mutation($id: ID!) { openSurveyRound(id: $id) { status } }",
        json!({ "id": round }),
    )
    .await;

    let municipalities = gql(
        &client,
        &endpoint,
        &admin,
        "{ municipalities { code } }",
        json!({}),
    )
    .await;
    let options = ["yes_fully", "yes_partially", "yes_just_started", "no"];
    let keys = [
        "mgmt_info_political",
        "policy_adopted",
        "risk_managed",
        "assets_classified",
        "incidents_managed",
        "continuity_ensured",
        "staff_awareness_ensured",
        "procurement_requirements_set",
        "follow_up_common_practices",
        "mgmt_info_administration",
    ];
    let start = Instant::now();
    for (i, m) in municipalities["municipalities"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let code = m["code"].as_str().unwrap();
        let answers: Vec<Value> = keys
            .iter()
            .enumerate()
            .map(|(j, k)| json!({ "questionKey": k, "value": { "choice": options[(i + j) % 4] } }))
            .collect();
        gql(&client, &endpoint, &token("kommun", Some(code)),
            "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }",
            json!({ "r": round, "a": answers })).await;
    }
    let saves = start.elapsed();

    let close = timed(gql(
        &client,
        &endpoint,
        &admin,
        "mutation($id: ID!) { closeSurveyRound(id: $id) { status } }",
        json!({ "id": round }),
    ))
    .await;
    let aggregates = "query($r: ID!, $g: Grouping!) { maturityAggregates(roundId: $r, grouping: $g) { meanLevel } }";
    let mut first = Duration::ZERO;
    for g in ["NATIONAL", "GROUP", "SUBGROUP"] {
        first += timed(gql(
            &client,
            &endpoint,
            &admin,
            aggregates,
            json!({ "r": round, "g": g }),
        ))
        .await;
    }
    let mut second = Duration::ZERO;
    for g in ["NATIONAL", "GROUP", "SUBGROUP"] {
        second += timed(gql(
            &client,
            &endpoint,
            &admin,
            aggregates,
            json!({ "r": round, "g": g }),
        ))
        .await;
    }
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("{backend}: 290 saves {:?} ({:?} each)", saves, saves / 290);
    println!("{backend}: closeSurveyRound (freezes 290 x 9 scores) {close:?}");
    println!(
        "{backend}: maturityAggregates, 3 groupings, first read {first:?}, cached read {second:?}"
    );

    if let Some((admin, name)) = cleanup {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .ok();
    }
}
