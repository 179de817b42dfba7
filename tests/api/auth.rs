//! The token battery: every bad token is refused with 401 and UNAUTHENTICATED;
//! valid HS256, RS256, ES256 and EdDSA tokens are accepted.

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, claims, error_codes, sign, spawn_app_with};

pub fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys")
}

async fn spawn_with_jwks() -> TestApp {
    spawn_app_with(|c| c.jwks_file = Some(keys_dir().join("jwks.json"))).await
}

pub fn sign_with(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

pub fn pem(name: &str) -> Vec<u8> {
    std::fs::read(keys_dir().join(name)).unwrap()
}

/// base64url without padding (no crate for it in the tests).
pub fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A token whose header and claims are written by hand, with any signature.
fn handmade(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Sends `{ viewer { role subject } }` with a raw Authorization header value.
pub async fn viewer_with_header(app: &TestApp, header: &str) -> (u16, Option<String>, Value) {
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", header)
        .json(&json!({ "query": "{ viewer { role subject municipality { code } } }" }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let www = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, www, resp.json().await.unwrap_or(Value::Null))
}

async fn assert_refused(app: &TestApp, what: &str, header: &str) {
    let (status, www, body) = viewer_with_header(app, header).await;
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(
        www.as_deref(),
        Some("Bearer error=\"invalid_token\""),
        "{what}"
    );
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{what}: {body}");
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "{what}: no data on a refused request"
    );
}

async fn assert_accepted(app: &TestApp, what: &str, token: &str, role: &str) -> Value {
    let (status, _, body) = viewer_with_header(app, &format!("Bearer {token}")).await;
    assert_eq!(status, 200, "{what}: {body}");
    assert!(body.get("errors").is_none(), "{what}: {body}");
    assert_eq!(body["data"]["viewer"]["role"], role, "{what}");
    body["data"]["viewer"].clone()
}

#[tokio::test]
async fn bad_tokens_are_refused_with_401() {
    let app = spawn_with_jwks().await;
    let now = chrono::Utc::now().timestamp();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims("kommun", Some("1280"));
        f(&mut c);
        c
    };
    let without = |key: &str| {
        let mut c = claims("kommun", Some("1280"));
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let hs = |c: &Value| format!("Bearer {}", sign(c));

    let cases: Vec<(&str, String)> = vec![
        ("expired", hs(&with(&|c| c["exp"] = json!(now - 3600)))),
        (
            "expired beyond the leeway",
            hs(&with(&|c| c["exp"] = json!(now - 120))),
        ),
        (
            "not yet valid",
            hs(&with(&|c| c["nbf"] = json!(now + 3600))),
        ),
        (
            "issued in the future",
            hs(&with(&|c| c["iat"] = json!(now + 3600))),
        ),
        (
            "wrong issuer",
            hs(&with(&|c| c["iss"] = json!("someone-else"))),
        ),
        (
            "wrong audience",
            hs(&with(&|c| c["aud"] = json!("another-api"))),
        ),
        ("missing aud", hs(&without("aud"))),
        ("missing iss", hs(&without("iss"))),
        ("missing exp", hs(&without("exp"))),
        ("missing sub", hs(&without("sub"))),
        ("empty sub", hs(&with(&|c| c["sub"] = json!("")))),
        ("missing role", hs(&without("role"))),
        (
            "unknown role",
            hs(&with(&|c| c["role"] = json!("superuser"))),
        ),
        (
            "role in the wrong case",
            hs(&with(&|c| c["role"] = json!("SKR_ADMIN"))),
        ),
        ("kommun role without kommun", hs(&without("kommun"))),
        (
            "unknown kommun",
            hs(&with(&|c| c["kommun"] = json!("9999"))),
        ),
        (
            "kommun that is not a code",
            hs(&with(&|c| c["kommun"] = json!("Malmö"))),
        ),
        (
            "alg none",
            format!(
                "Bearer {}",
                handmade(
                    &json!({ "alg": "none", "typ": "JWT" }),
                    &claims("skr_admin", None),
                    ""
                )
            ),
        ),
        (
            "alg none with a signature",
            format!(
                "Bearer {}",
                handmade(
                    &json!({ "alg": "none", "typ": "JWT" }),
                    &claims("skr_admin", None),
                    "c2ln"
                )
            ),
        ),
        (
            "HS256 signed with the RSA public key, with its kid",
            format!(
                "Bearer {}",
                sign_with(
                    Algorithm::HS256,
                    Some("test-rsa"),
                    &EncodingKey::from_secret(&pem("rsa.pub.pem")).unwrap(),
                    &claims("skr_admin", None)
                )
            ),
        ),
        (
            "HS256 signed with the RSA public key, without kid",
            format!(
                "Bearer {}",
                sign_with(
                    Algorithm::HS256,
                    None,
                    &EncodingKey::from_secret(&pem("rsa.pub.pem")).unwrap(),
                    &claims("skr_admin", None)
                )
            ),
        ),
        (
            "wrong signature",
            format!(
                "Bearer {}",
                sign_with(
                    Algorithm::HS256,
                    None,
                    &EncodingKey::from_secret(b"another-secret-that-is-long-enough!!").unwrap(),
                    &claims("skr_admin", None)
                )
            ),
        ),
        ("tampered claims", {
            let token = sign(&claims("kommun", Some("1280")));
            let parts: Vec<&str> = token.split('.').collect();
            format!(
                "Bearer {}.{}.{}",
                parts[0],
                b64(claims("skr_admin", None).to_string().as_bytes()),
                parts[2]
            )
        }),
        (
            "unknown kid",
            format!(
                "Bearer {}",
                sign_with(
                    Algorithm::RS256,
                    Some("no-such-key"),
                    &EncodingKey::from_rsa_pem(&pem("rsa.pem")).unwrap(),
                    &claims("skr_admin", None)
                )
            ),
        ),
        (
            "RS256 token with the EC key's kid",
            format!(
                "Bearer {}",
                sign_with(
                    Algorithm::RS256,
                    Some("test-ec"),
                    &EncodingKey::from_rsa_pem(&pem("rsa.pem")).unwrap(),
                    &claims("skr_admin", None)
                )
            ),
        ),
        ("garbage", "Bearer not-a-token".into()),
        ("three garbage parts", "Bearer abc.def.ghi".into()),
        ("empty bearer", "Bearer ".into()),
        ("no scheme", sign(&claims("skr_admin", None))),
        ("basic scheme", "Basic dXNlcjpwYXNzd29yZA==".into()),
        (
            "token scheme",
            format!("Token {}", sign(&claims("skr_admin", None))),
        ),
    ];
    for (what, header) in &cases {
        assert_refused(&app, what, header).await;
    }
}

#[tokio::test]
async fn valid_tokens_of_every_algorithm_are_accepted() {
    let app = spawn_with_jwks().await;
    let admin = claims("skr_admin", None);

    let viewer = assert_accepted(
        &app,
        "HS256",
        &sign(&claims("kommun", Some("1280"))),
        "KOMMUN",
    )
    .await;
    assert_eq!(viewer["subject"], "user-1280");
    assert_eq!(viewer["municipality"]["code"], "1280");

    let rs = sign_with(
        Algorithm::RS256,
        Some("test-rsa"),
        &EncodingKey::from_rsa_pem(&pem("rsa.pem")).unwrap(),
        &admin,
    );
    assert_accepted(&app, "RS256", &rs, "SKR_ADMIN").await;
    let es = sign_with(
        Algorithm::ES256,
        Some("test-ec"),
        &EncodingKey::from_ec_pem(&pem("ec.pem")).unwrap(),
        &claims("skr_analyst", None),
    );
    assert_accepted(&app, "ES256", &es, "SKR_ANALYST").await;
    let ed = sign_with(
        Algorithm::EdDSA,
        Some("test-ed"),
        &EncodingKey::from_ed_pem(&pem("ed25519.pem")).unwrap(),
        &admin,
    );
    let viewer = assert_accepted(&app, "EdDSA", &ed, "SKR_ADMIN").await;
    assert_eq!(viewer["municipality"], Value::Null);

    let mut many = claims("kommun", Some("0180"));
    many["aud"] = json!(["other", "mognad-api"]);
    assert_accepted(
        &app,
        "aud as a list that holds ours",
        &sign(&many),
        "KOMMUN",
    )
    .await;

    let mut skew = claims("skr_admin", None);
    skew["exp"] = json!(chrono::Utc::now().timestamp() - 30);
    assert_accepted(
        &app,
        "expired 30 s ago, within the leeway",
        &sign(&skew),
        "SKR_ADMIN",
    )
    .await;

    let (status, _, body) = viewer_with_header(&app, &format!("bearer {}", sign(&admin))).await;
    assert_eq!(
        (status, &body["data"]["viewer"]["role"]),
        (200, &json!("SKR_ADMIN")),
        "the scheme is case-insensitive"
    );
}

#[tokio::test]
async fn a_secret_shorter_than_32_bytes_stops_the_server() {
    let dir = std::env::temp_dir().join(format!("mognad-short-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = crate::helpers::test_config(&url);
    config.jwt_secret = Some(mognad::config::Secret::new(
        "only-31-bytes-long-secret-12345",
    ));
    let err = mognad::Application::build(config)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("at least 32 bytes"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn dev_mode_tokens_from_the_command_line_are_accepted() {
    let dir = std::env::temp_dir().join(format!("mognad-dev-{}", uuid::Uuid::new_v4().simple()));
    let data_dir = dir.clone();
    let app = spawn_app_with(move |c| {
        c.jwt_secret = None;
        c.data_dir = data_dir;
    })
    .await;
    let token = std::process::Command::new(env!("CARGO_BIN_EXE_mognad"))
        .args([
            "token", "--role", "kommun", "--kommun", "1280", "--sub", "anna", "--ttl", "10m",
        ])
        .env("MOGNAD_DATA_DIR", &dir)
        .env_remove("MOGNAD_JWT_SECRET")
        .env_remove("MOGNAD_JWKS_FILE")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let viewer = assert_accepted(&app, "dev-mode token", &token, "KOMMUN").await;
    assert_eq!(viewer["subject"], "anna");

    // A token signed with the test secret is not valid in dev mode.
    assert_refused(
        &app,
        "foreign secret",
        &format!("Bearer {}", sign(&claims("skr_admin", None))),
    )
    .await;

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mognad"))
        .args(["token", "--role", "kommun"])
        .env("MOGNAD_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--kommun"));
    std::fs::remove_dir_all(dir).ok();
}
