//! Measures closing a round that all 290 municipalities answered, and the
//! first (computed) and second (cached) reads of its figures.
//!
//! ```sh
//! cargo bench --bench close                                  # SQLite
//! MOGNAD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench close
//! ```
//! With a PostgreSQL URL the bench creates and drops its own database there.
//!
//! **Scale mode** (PostgreSQL): `MOGNAD_BENCH_SCALE=N` loads a population N
//! times the nation's — 290 × N organisations, the synthetic ones (codes
//! `A000`…) each in the group and subgroup of a real kommun, so every
//! segment grows N-fold — each with a submitted response of nine maturity
//! answers, written by SQL rather than saved through the API, then times
//! `closeSurveyRound` and the first `maturityAggregates` per grouping:
//!
//! ```sh
//! for n in 1 10 100; do MOGNAD_BENCH_SCALE=$n \
//!   MOGNAD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench close; done
//! ```
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

/// The `n`-th synthetic code: `A` and three base-36 digits (real codes are digits).
fn synthetic_code(n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    assert!(n < 36 * 36 * 36, "at most 46,656 synthetic organisations");
    let digit = |k: usize| DIGITS[(n / 36usize.pow(k as u32)) % 36] as char;
    format!("A{}{}{}", digit(2), digit(1), digit(0))
}

/// Scale mode: 290 × (scale − 1) synthetic organisations beside the real
/// 290, each a copy of a real kommun's segments, and for all of them a
/// submitted response with one option chosen (pseudo-randomly) for each of
/// the round's maturity questions. Returns how many organisations answered.
async fn load_population(db: &sea_orm::DatabaseConnection, round: &str, scale: usize) -> usize {
    use sea_orm::{DbBackend, Statement};
    let run = |sql: String, values: Vec<sea_orm::Value>| {
        let db = db.clone();
        async move {
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await
            .unwrap();
        }
    };
    let real: Vec<String> = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT code FROM municipality ORDER BY code",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "code").unwrap())
        .collect();
    let extra = real.len() * (scale - 1);
    for chunk in (0..extra).collect::<Vec<_>>().chunks(1000) {
        let mut values: Vec<sea_orm::Value> = Vec::new();
        let rows: Vec<String> = chunk
            .iter()
            .map(|&n| {
                values.push(synthetic_code(n).into());
                values.push(real[n % real.len()].clone().into());
                format!("(${}, ${})", values.len() - 1, values.len())
            })
            .collect();
        let pairs = rows.join(", ");
        run(
            format!(
                "INSERT INTO municipality (code, name, county_code, county_name) \
                 SELECT v.code, m.name || ' ' || v.code, m.county_code, m.county_name \
                 FROM (VALUES {pairs}) AS v (code, source) JOIN municipality m ON m.code = v.source"
            ),
            values.clone(),
        )
        .await;
        run(
            format!(
                "INSERT INTO municipality_segment (municipality_code, classification_id, group_code, subgroup_code) \
                 SELECT v.code, s.classification_id, s.group_code, s.subgroup_code \
                 FROM (VALUES {pairs}) AS v (code, source) JOIN municipality_segment s ON s.municipality_code = v.source"
            ),
            values,
        )
        .await;
    }
    let round: sea_orm::Value = uuid::Uuid::parse_str(round).unwrap().into();
    run(
        "INSERT INTO response (municipality_code, round_id, status, version, created_at, updated_at, submitted_at) \
         SELECT code, $1, 'SUBMITTED', 1, now(), now(), now() FROM municipality"
            .into(),
        vec![round.clone()],
    )
    .await;
    run(
        "INSERT INTO answer (municipality_code, round_id, question_id, updated_at) \
         SELECT m.code, $1, q.id, now() FROM municipality m JOIN question q ON q.round_id = $1 AND q.maturity"
            .into(),
        vec![round.clone()],
    )
    .await;
    run(
        "UPDATE answer a SET option_id = (SELECT o.id FROM answer_option o WHERE o.question_id = a.question_id \
         ORDER BY md5(a.municipality_code || o.id::text) LIMIT 1) WHERE a.round_id = $1"
            .into(),
        vec![round],
    )
    .await;
    db.execute_unprepared("ANALYZE").await.unwrap();
    real.len() * scale
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
    // MOGNAD_BENCH_TIMEOUT (seconds) lifts the request and statement
    // timeouts, to see how long a close takes that the defaults would stop.
    let timeout = std::env::var("MOGNAD_BENCH_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let config = Config {
        request_timeout: timeout.unwrap_or(Config::default().request_timeout),
        statement_timeout: timeout.unwrap_or(Config::default().statement_timeout),
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

    let scale: Option<usize> = std::env::var("MOGNAD_BENCH_SCALE")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 1);
    if let Some(scale) = scale {
        assert!(
            url.starts_with("postgres"),
            "scale mode loads its population with PostgreSQL's SQL: set MOGNAD_BENCH_DATABASE_URL"
        );
        // Its own connection: loading is no request, the server's statement timeout is not for it.
        let loader = sea_orm::Database::connect(&url).await.unwrap();
        let load = Instant::now();
        let organisations = load_population(&loader, &round, scale).await;
        let loaded = load.elapsed();
        println!("scale {scale}: {organisations} organisations x 9 answers loaded in {loaded:?}");
        let close = close_round(&client, &endpoint, &admin, &round).await;
        println!(
            "scale {scale}: closeSurveyRound (freezes {organisations} x 9 scores, plans the release) {close:?}"
        );
        let aggregates = "query($r: ID!, $g: Grouping!) { maturityAggregates(roundId: $r, grouping: $g) { segment { code } respondents meanLevel } }";
        let read = |g: &str| {
            let variables = json!({ "r": round, "g": g });
            timed(gql(&client, &endpoint, &admin, aggregates, variables))
        };
        for g in ["SUBGROUP", "GROUP", "NATIONAL"] {
            let first = read(g).await;
            let second = read(g).await;
            println!("scale {scale}: first maturityAggregates({g}) {first:?}, second {second:?}");
        }
        drop_database(cleanup).await;
        return;
    }

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

    let close = close_round(&client, &endpoint, &admin, &round).await;
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

    drop_database(cleanup).await;
}

/// How long closing `round` takes, through the API.
async fn close_round(
    client: &reqwest::Client,
    endpoint: &str,
    admin: &str,
    round: &str,
) -> Duration {
    timed(gql(
        client,
        endpoint,
        admin,
        "mutation($id: ID!) { closeSurveyRound(id: $id) { status } }",
        json!({ "id": round }),
    ))
    .await
}

/// Drops the bench's PostgreSQL database, if it made one.
async fn drop_database(cleanup: Option<(sea_orm::DatabaseConnection, String)>) {
    if let Some((admin, name)) = cleanup {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .ok();
    }
}
