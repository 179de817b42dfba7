//! `spawn_app`: the real Application on port 0 against a fresh database.
//!
//! SQLite by default (a new file per test). With `MOGNAD_TEST_DATABASE_URL`
//! set to a PostgreSQL server URL, each test gets its own new database on that
//! server, dropped when the test ends.

use std::path::PathBuf;

use mognad::config::{Config, Database, Secret};
use mognad::db::StatementCounter;
use mognad::startup::Application;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    /// `http://127.0.0.1:<port>` of the metrics address, when one is configured.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    /// The pool the server reads through.
    pub reads: DatabaseConnection,
    pub database_url: String,
    statements: StatementCounter,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The database belongs to another TestApp.
    Nothing,
    Dir(PathBuf),
    Postgres {
        admin_url: String,
        name: String,
    },
}

/// The PostgreSQL server the suite runs against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("MOGNAD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh, empty database: its URL and how to remove it.
async fn fresh_database() -> (String, Cleanup) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match postgres_url() {
        Some(admin_url) => {
            let name = format!("mognad_test_{id}");
            let admin = sea_orm::Database::connect(&admin_url)
                .await
                .expect("connect to MOGNAD_TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .expect("URL with a database name");
            (
                format!("{base}/{name}"),
                Cleanup::Postgres { admin_url, name },
            )
        }
        None => {
            let dir = std::env::temp_dir().join(format!("mognad-test-{id}"));
            std::fs::create_dir_all(&dir).unwrap();
            (
                format!("sqlite://{}?mode=rwc", dir.join("test.sqlite").display()),
                Cleanup::Dir(dir),
            )
        }
    }
}

/// The HS256 secret every test app is configured with.
pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256";
/// A kommun's save of answers (`$r` the round, `$a` the answers).
pub const SAVE: &str =
    "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }";

/// Ids of the reference rounds.
pub const ROUND_2019: &str = "00000000-0000-0000-0000-000000002019";
pub const ROUND_2023: &str = "00000000-0000-0000-0000-000000002023";

/// A configuration for tests: the given database, port 0, [`SECRET`].
pub fn test_config(database_url: &str) -> Config {
    Config {
        database: Database::Url(database_url.to_owned()),
        listen: "127.0.0.1:0".into(),
        jwt_secret: Some(Secret::new(SECRET)),
        ..Config::default()
    }
}

/// Signs `claims` with [`SECRET`] (HS256).
pub fn sign(claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &key,
    )
    .unwrap()
}

/// Valid claims for a role (`kommun` with a municipality code), one hour long.
pub fn claims(role: &str, kommun: Option<&str>) -> Value {
    let now = chrono::Utc::now().timestamp();
    let sub = match kommun {
        Some(code) => format!("user-{code}"),
        None => format!("user-{role}"),
    };
    let mut c = json!({ "iss": "mognad", "aud": "mognad-api", "sub": sub, "role": role, "iat": now, "exp": now + 3600 });
    if let Some(code) = kommun {
        c["kommun"] = json!(code);
    }
    c
}

pub fn kommun_token(code: &str) -> String {
    sign(&claims("kommun", Some(code)))
}

pub fn admin_token() -> String {
    sign(&claims("skr_admin", None))
}

pub fn analyst_token() -> String {
    sign(&claims("skr_analyst", None))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `adjust` has changed the test configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        mognad::telemetry::init(std::env::var_os("MOGNAD_TEST_JSON_LOGS").is_some());
    }
    let (database_url, cleanup) = fresh_database().await;
    start(database_url, cleanup, adjust).await
}

/// Spawns another app on a database that exists already (another TestApp's,
/// which removes it).
pub async fn spawn_app_on(database_url: &str) -> TestApp {
    start(database_url.to_owned(), Cleanup::Nothing, |_| {}).await
}

async fn start(
    database_url: String,
    cleanup: Cleanup,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = test_config(&database_url);
    adjust(&mut config);
    let app = Application::build(config)
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app.metrics_port().map(|p| format!("http://127.0.0.1:{p}"));
    let db = app.db().clone();
    let reads = app.reads().clone();
    let statements = app.statements();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        statements,
        // Idle connections are dropped before the server's keep-alive (5 s)
        // ends them, so a request never races the server closing its connection.
        client: reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("an HTTP client"),
        db,
        reads,
        database_url,
        cleanup,
    }
}

impl TestApp {
    /// POSTs a GraphQL body; returns the HTTP status and the JSON body.
    pub async fn post(&self, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Runs a query anonymously and returns the whole response body.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        self.post(&json!({ "query": query, "variables": variables }), None)
            .await
            .1
    }

    /// Runs a query that must succeed and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.query(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs an operation with a token (or none) and returns the whole body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post(&json!({ "query": query, "variables": variables }), token)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Creates a DRAFT round for `year` copied from 2023 and returns its id.
    pub async fn create_round(&self, year: i32) -> String {
        let data = self
            .ok(
                &admin_token(),
                "mutation($y: Int!) { createSurveyRound(input: { year: $y, title: \"Test round\", copyFrom: \"00000000-0000-0000-0000-000000002023\", baseline: \"00000000-0000-0000-0000-000000002023\" }) { id status } }",
                json!({ "y": year }),
            )
            .await;
        assert_eq!(data["createSurveyRound"]["status"], "DRAFT");
        data["createSurveyRound"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates and opens a round for `year` counted with `classification`
    /// (a copy of 2023's questionnaire, no baseline); returns its id.
    pub async fn open_round_of(&self, year: i32, classification: &str) -> String {
        let created = self
            .ok(
                &admin_token(),
                "mutation($y: Int!, $c: String!, $from: ID!) { createSurveyRound(input: { year: $y, title: \"Test round\", copyFrom: $from, classification: $c }) { id } }",
                json!({ "y": year, "c": classification, "from": ROUND_2023 }),
            )
            .await;
        let id = created["createSurveyRound"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.transition("openSurveyRound", &id).await;
        id
    }

    /// The keys of the 2023 questionnaire's nine maturity questions.
    pub async fn maturity_keys(&self) -> Vec<String> {
        let body = self
            .data(
                "query($r: ID!) { surveyRound(id: $r) { areas { questions { key maturity } } } }",
                json!({ "r": ROUND_2023 }),
            )
            .await;
        body["surveyRound"]["areas"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["questions"].as_array().unwrap().clone())
            .filter(|q| q["maturity"] == true)
            .map(|q| q["key"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Creates and opens a round for `year`; returns its id.
    pub async fn open_round(&self, year: i32) -> String {
        let id = self.create_round(year).await;
        let data = self
            .ok(
                &admin_token(),
                "mutation($id: ID!) { openSurveyRound(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["openSurveyRound"]["status"], "OPEN");
        id
    }

    /// Saves `answers` as kommun `code` in `round` and submits its response.
    pub async fn save_and_submit(&self, code: &str, round: &str, answers: Value) {
        let token = kommun_token(code);
        self.ok(&token, SAVE, json!({ "r": round, "a": answers }))
            .await;
        self.ok(
            &token,
            "mutation($r: ID!) { submitResponse(roundId: $r) { status } }",
            json!({ "r": round }),
        )
        .await;
    }

    /// A round transition by the admin; returns the whole body.
    pub async fn transition(&self, op: &str, id: &str) -> Value {
        let query = format!("mutation($id: ID!) {{ {op}(id: $id) {{ id status }} }}");
        self.gql(Some(&admin_token()), &query, json!({ "id": id }))
            .await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }

    /// The Prometheus text of `/metrics`, read with an SKR admin's token.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.address))
            .bearer_auth(admin_token())
            .send()
            .await
            .expect("request sent")
            .text()
            .await
            .expect("a text body")
    }

    /// The server's count of SQL statements so far (read in process: it is
    /// not published).
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Nothing => {}
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                            admin.close().await.ok();
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// The error codes of a response, in order.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The `mognad` binary serving in a process of its own (where its memory
/// and its log can be read): on a fresh SQLite file, or on PostgreSQL on a
/// fresh database that `owner` made and drops.
pub struct Binary {
    pub base: String,
    pub database_url: String,
    child: std::process::Child,
    logs: Option<std::thread::JoinHandle<String>>,
    dir: PathBuf,
    _owner: Option<TestApp>,
}

impl Binary {
    /// Starts `mognad serve` with the test secret and `env` on top, and
    /// waits until it is ready.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("mognad-bin-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let owner = match postgres_url() {
            Some(_) => Some(spawn_app().await),
            None => None,
        };
        let database_url = owner.as_ref().map_or_else(
            || format!("sqlite://{}?mode=rwc", dir.join("m.sqlite").display()),
            |app| app.database_url.clone(),
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mognad"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MOGNAD_JWT_SECRET", SECRET)
            .env("MOGNAD_DATABASE_URL", &database_url)
            .env("MOGNAD_LISTEN", format!("127.0.0.1:{port}"))
            .env("MOGNAD_DATA_DIR", dir.join("data"));
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Read the log as it comes, so a full pipe never blocks the server.
        let mut stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || {
            let mut logs = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut logs);
            logs
        });
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if client
                .get(format!("{base}/health/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Self {
                    base,
                    database_url,
                    child,
                    logs: Some(logs),
                    dir,
                    _owner: owner,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the binary did not start");
    }

    /// The server's resident memory now, in kilobytes.
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc")
    }

    /// The CPU time the server has used so far (user and system), in milliseconds.
    pub fn cpu_ms(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // After the command's name in parentheses: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // Linux counts in USER_HZ, 100 a second on every platform it runs on here.
        ticks * 10
    }

    /// The HTTP status of `{ viewer { role } }` asked with `token`.
    pub async fn viewer_status(&self, token: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the server exited, once it has.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Stops the server (if it still runs) and returns everything it logged.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.logs
            .take()
            .map(|l| l.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Stores the demo pair's panel plan with only the nation's panel, shown
/// (under both classifications), before anything has asked for it: for tests
/// of how panel figures are counted, which the demo's own plan hides (its
/// 2019-only and 2023-only respondents share values the panel would pin).
pub async fn show_the_demo_national_panel(db: &DatabaseConnection, panel_size: usize) {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let cell = json!([{ "code": "SE", "respondents": panel_size, "suppressed": null }]);
    let plan = json!({ "tables": [
        { "classification_id": "SKR2023", "cells": cell },
        { "classification_id": "SKR2017", "cells": cell },
    ], "audited": true });
    entity::release_plan::Entity::insert(entity::release_plan::ActiveModel {
        id: Set(format!("pair:{ROUND_2019}:{ROUND_2023}:k5")),
        round_id: Set(uuid::Uuid::parse_str(ROUND_2023).unwrap()),
        paired_round_id: Set(Some(uuid::Uuid::parse_str(ROUND_2019).unwrap())),
        min_cell: Set(5),
        plan: Set(plan.to_string()),
        created_at: Set(chrono::Utc::now()),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
}
