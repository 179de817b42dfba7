//! The command line as a person meets it: one plain error line per failure
//! (no colour codes in a pipe), `token` that refuses unknown municipalities
//! and says which secret signed it, `serve --help` that lists the settings,
//! a quiet exit when the reader of standard output goes away, and a 401
//! that says why in development.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{ROUND_2023, claims, sign, spawn_app, spawn_app_with};

/// The binary, run in `dir` with no MOGNAD_* settings from the test's own
/// environment.
fn mognad(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mognad"));
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MOGNAD_") || key == "NO_COLOR" || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mognad-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn token_refuses_an_unknown_municipality_in_one_plain_line_and_makes_no_secret() {
    let dir = temp_dir();
    let run = mognad(&dir)
        .args(["token", "--role", "kommun", "--kommun", "9999"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(run.stdout, b"");
    assert_eq!(
        String::from_utf8(run.stderr).unwrap(),
        "error: --kommun \"9999\" is not a municipality's SCB code (four digits, e.g. 0180 \
         Stockholm, 1280 Malmö; `{ municipalities { code name } }` lists all 290)\n"
    );
    let run = mognad(&dir)
        .args(["token", "--role", "kommun", "--kommun", "180"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(run.stderr).unwrap(),
        "error: --kommun \"180\" is not a municipality code: did you mean 0180 (Stockholm)? \
         SCB codes have four digits\n"
    );
    assert!(
        !dir.join("data").exists(),
        "a refused token makes no secret"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn token_says_which_secret_signed_it_and_warns_when_it_made_one() {
    let dir = temp_dir();
    let path = std::path::absolute(dir.join("data/dev-jwt-secret")).unwrap();
    let first = mognad(&dir)
        .args(["token", "--role", "kommun", "--kommun", "1280"])
        .output()
        .unwrap();
    assert!(first.status.success());
    assert_eq!(
        String::from_utf8(first.stderr).unwrap(),
        format!(
            "warning: no development secret was here, so a new one was made in {0}: a server \
             started from another folder has its own and refuses this token; run mognad token \
             where the server runs, or give both the same MOGNAD_DATA_DIR\n\
             signed with the development secret in {0}\n",
            path.display()
        )
    );
    let token = String::from_utf8(first.stdout).unwrap();
    assert_eq!(
        token.matches('.').count(),
        2,
        "a JWT on standard output: {token}"
    );
    let second = mognad(&dir)
        .args(["token", "--role", "skr_admin"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(second.stderr).unwrap(),
        format!("signed with the development secret in {}\n", path.display())
    );
    let configured = mognad(&dir)
        .args(["token", "--role", "skr_admin"])
        .env("MOGNAD_JWT_SECRET", crate::helpers::SECRET)
        .output()
        .unwrap();
    assert_eq!(configured.stderr, b"signed with MOGNAD_JWT_SECRET\n");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn serve_help_lists_the_settings() {
    let dir = temp_dir();
    let help = mognad(&dir).args(["serve", "--help"]).output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for (key, _, _) in mognad::config::SETTINGS {
        assert!(
            text.contains(&format!("  MOGNAD_{key}  [default: ")),
            "{key}: {text}"
        );
    }
    assert!(!text.contains('\u{1b}'), "no colour codes in a pipe");
    let short = mognad(&dir).args(["serve", "-h"]).output().unwrap();
    assert!(
        String::from_utf8(short.stdout)
            .unwrap()
            .contains("--help lists them")
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_failure_is_one_line_without_colour_codes() {
    let dir = temp_dir();
    // A database that is not there: the error is said once, plainly.
    let run = mognad(&dir)
        .arg("migrate")
        .env("MOGNAD_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("MOGNAD_DB_ACQUIRE_TIMEOUT", "1s")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert_eq!(stderr.matches("error").count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn export_answers_into_a_closed_pipe_exits_quietly() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let dir = temp_dir();
    let mut child = mognad(&dir)
        .args(["export-answers", "--round", "2023"])
        .env("MOGNAD_DATABASE_URL", &app.database_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // As `| head -c 100`: read a little, then go away.
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let done = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(head.starts_with(b"municipality_code,question_key,value"));
    assert!(done.status.success(), "{done:?}");
    assert_eq!(String::from_utf8(done.stderr).unwrap(), "");
    std::fs::remove_dir_all(dir).ok();
}

/// The message of a refused request's only error.
async fn refusal(app: &crate::helpers::TestApp, authorization: &str) -> (u16, String) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", authorization)
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    (
        status,
        body["errors"][0]["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn in_development_a_401_says_why_and_in_production_it_does_not() {
    let good = claims("kommun", Some("1280"));
    let token = sign(&good);
    let other_key = {
        let key = jsonwebtoken::EncodingKey::from_secret(b"another-secret-that-is-long-enough-too")
            .unwrap();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &good,
            &key,
        )
        .unwrap()
    };
    let mut expired = good.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    let mut audience = good.clone();
    audience["aud"] = json!("someone-else");
    let mut unknown = good.clone();
    unknown["kommun"] = json!("9999");
    let cases = [
        (
            token.clone(),
            "the Authorization header is not `Bearer <token>`",
        ),
        (
            format!("Bearer {other_key}"),
            "the signature does not verify with this server's key",
        ),
        (
            format!("Bearer {}", sign(&expired)),
            "the token has expired (exp)",
        ),
        (
            format!("Bearer {}", sign(&audience)),
            "the aud claim is not this server's audience",
        ),
        (
            format!("Bearer {}", sign(&unknown)),
            "kommun 9999 is not a known municipality",
        ),
        (
            "Bearer not-a-jwt".to_owned(),
            "the token cannot be read as a JWT",
        ),
    ];
    let app = spawn_app().await;
    for (authorization, why) in &cases {
        let (status, message) = refusal(&app, authorization).await;
        assert_eq!(status, 401);
        assert!(message.starts_with("invalid token: "), "{message}");
        assert!(message.contains(why), "{why}: {message}");
    }
    // The same token works, and the open-data door says why too.
    let ok = app
        .ok(
            &token,
            "query($r: ID!) { surveyRound(id: $r) { year } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    assert_eq!(ok["surveyRound"]["year"], 2023);
    let file = app
        .client
        .get(format!(
            "{}/open-data/rounds/2023/maturity.csv",
            app.address
        ))
        .header("authorization", format!("Bearer {}", sign(&expired)))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 401);
    assert!(file.text().await.unwrap().contains("has expired"));

    let production = spawn_app_with(|c| c.production = true).await;
    for (authorization, _) in &cases {
        let (status, message) = refusal(&production, authorization).await;
        assert_eq!((status, message.as_str()), (401, "invalid token"));
    }
}
