//! Identity providers' key sets as they publish them: Keycloak's (with its
//! RSA-OAEP encryption key), Microsoft Entra ID's (no `alg`), Auth0's and
//! Okta's; sets with keys mognad does not verify with (skipped, not fatal);
//! an empty, failing, slow or huge set at refresh (the last good set stays);
//! and a rotation in the middle of a load of requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::auth::{keys_dir, pem, sign_with};
use crate::helpers::{Binary, TestApp, claims, spawn_app_with};

/// What the key server answers: a status, a body, and a delay before it.
#[derive(Clone)]
struct Answer {
    status: u16,
    body: String,
    delay: Duration,
}

/// A local JWKS endpoint that answers whatever it is told to.
struct KeyServer {
    url: String,
    answer: Arc<Mutex<Answer>>,
    fetches: Arc<AtomicU64>,
}

impl KeyServer {
    async fn start(keys: &Value) -> Self {
        let answer = Arc::new(Mutex::new(Answer {
            status: 200,
            body: keys.to_string(),
            delay: Duration::ZERO,
        }));
        let fetches = Arc::new(AtomicU64::new(0));
        let (a, f) = (answer.clone(), fetches.clone());
        let server = HttpServer::new(move || {
            let (answer, fetches) = (a.clone(), f.clone());
            App::new().route(
                "/certs",
                web::get().to(move || {
                    let (answer, fetches) = (answer.clone(), fetches.clone());
                    async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let now = answer.lock().unwrap().clone();
                        tokio::time::sleep(now.delay).await;
                        HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(now.status).unwrap(),
                        )
                        .content_type("application/json")
                        .body(now.body)
                    }
                }),
            )
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self {
            url: format!("http://127.0.0.1:{port}/certs"),
            answer,
            fetches,
        }
    }

    fn serve(&self, keys: &Value) {
        self.serve_body(&keys.to_string());
    }

    fn serve_body(&self, body: &str) {
        let mut answer = self.answer.lock().unwrap();
        answer.status = 200;
        answer.body = body.to_owned();
        answer.delay = Duration::ZERO;
    }

    fn delay(&self, delay: Duration) {
        self.answer.lock().unwrap().delay = delay;
    }

    fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// The fixture's public keys by kid.
fn fixture(kid: &str) -> Value {
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(keys_dir().join("jwks.json")).unwrap())
            .unwrap();
    all["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap()
        .clone()
}

/// The fixture RSA key's modulus and exponent under another kid, with
/// `extra` members (a provider's own fields).
fn rsa_key(kid: &str, extra: &Value) -> Value {
    let base = fixture("test-rsa");
    let mut key = json!({ "kty": "RSA", "kid": kid, "n": base["n"], "e": base["e"] });
    for (k, v) in extra.as_object().unwrap() {
        key[k] = v.clone();
    }
    key
}

/// A certificate chain and thumbprints as providers add them (opaque here).
fn x509(kid: &str) -> Value {
    json!({
        "x5c": ["MIICmzCCAYMCBgGQ5r0WUzANBgkqhkiG9w0BAQsFADARMQ8wDQYDVQQDDAZtb2duYWQ="],
        "x5t": format!("{kid}-x5t"),
        "x5t#S256": format!("{kid}-x5t-s256"),
    })
}

/// Keycloak's `/protocol/openid-connect/certs` of a new realm: an RS256
/// signing key and an RSA-OAEP encryption key.
fn keycloak() -> Value {
    let mut enc = rsa_key("kc-enc", &json!({ "alg": "RSA-OAEP", "use": "enc" }));
    let mut sig = rsa_key("kc-sig", &json!({ "alg": "RS256", "use": "sig" }));
    for (key, kid) in [(&mut enc, "kc-enc"), (&mut sig, "kc-sig")] {
        for (k, v) in x509(kid).as_object().unwrap() {
            key[k] = v.clone();
        }
    }
    json!({ "keys": [enc, sig] })
}

/// Microsoft Entra ID's `discovery/v2.0/keys`: no `alg`, an issuer per key.
fn entra() -> Value {
    let mut key = rsa_key(
        "entra-1",
        &json!({ "use": "sig", "cloud_instance_name": "microsoftonline.com",
                 "issuer": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0" }),
    );
    key["x5c"] = x509("entra-1")["x5c"].clone();
    key["x5t"] = json!("entra-1");
    json!({ "keys": [key] })
}

/// Auth0's `/.well-known/jwks.json`.
fn auth0() -> Value {
    let mut key = rsa_key("auth0-1", &json!({ "alg": "RS256", "use": "sig" }));
    key["x5c"] = x509("auth0-1")["x5c"].clone();
    key["x5t"] = json!("auth0-1-x5t");
    json!({ "keys": [key] })
}

/// Okta's `/oauth2/default/v1/keys`.
fn okta() -> Value {
    json!({ "keys": [rsa_key("okta-1", &json!({ "alg": "RS256", "use": "sig" }))] })
}

/// A set with every kind of key a provider may add: PS256 and ES384 (which
/// mognad verifies), ES512 on P-521, a symmetric key, a key without kid, a
/// key type mognad does not know, and two keys under one kid.
fn mixed() -> Value {
    let ec384: Value =
        serde_json::from_str(&std::fs::read_to_string(keys_dir().join("ec384.jwk.json")).unwrap())
            .unwrap();
    json!({ "keys": [
        rsa_key("ps-1", &json!({ "alg": "PS256", "use": "sig" })),
        ec384,
        { "kty": "EC", "kid": "es512", "crv": "P-521", "alg": "ES512", "use": "sig",
          "x": "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
          "y": "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2" },
        { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256" },
        { "kty": "RSA", "alg": "RS256", "use": "sig", "n": fixture("test-rsa")["n"], "e": "AQAB" },
        { "kty": "AKP", "kid": "ml-dsa", "alg": "ML-DSA-44", "pub": "AAAA" },
        rsa_key("twice", &json!({ "alg": "RS256" })),
        fixture("test-ec").as_object().map(|o| {
            let mut o = o.clone();
            o.insert("kid".into(), json!("twice"));
            Value::Object(o)
        }).unwrap(),
    ] })
}

/// A token for `kid` signed with the fixture key of its algorithm.
fn token(alg: Algorithm, kid: &str, claims: &Value) -> String {
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem("ec.pem")),
        Algorithm::ES384 => EncodingKey::from_ec_pem(&pem("ec384.pem")),
        _ => EncodingKey::from_rsa_pem(&pem("rsa.pem")),
    };
    sign_with(alg, Some(kid), &key.unwrap(), claims)
}

/// The status and role of `{ viewer }` with a token.
async fn viewer(app: &TestApp, token: &str) -> (u16, Value) {
    let (status, body) = app
        .post(&json!({ "query": "{ viewer { role } }" }), Some(token))
        .await;
    (status, body["data"]["viewer"]["role"].clone())
}

async fn app_on(keys: &KeyServer, min_refresh: Duration) -> TestApp {
    let url = keys.url.clone();
    spawn_app_with(move |c| {
        c.jwt_secret = None;
        c.jwks_url = Some(url);
        c.jwks_min_refresh = min_refresh;
    })
    .await
}

#[tokio::test]
async fn key_sets_are_used_as_providers_publish_them() {
    let analyst = claims("skr_analyst", None);
    for (provider, set, kid) in [
        ("Keycloak", keycloak(), "kc-sig"),
        ("Entra ID", entra(), "entra-1"),
        ("Auth0", auth0(), "auth0-1"),
        ("Okta", okta(), "okta-1"),
    ] {
        let keys = KeyServer::start(&set).await;
        // The server starts with the set as published ...
        let app = app_on(&keys, Duration::from_secs(60)).await;
        // ... and takes tokens signed with its signing key.
        let (status, role) = viewer(&app, &token(Algorithm::RS256, kid, &analyst)).await;
        assert_eq!((status, role), (200, json!("SKR_ANALYST")), "{provider}");
    }
    // Keycloak's encryption key signs nothing.
    let keys = KeyServer::start(&keycloak()).await;
    let app = app_on(&keys, Duration::from_secs(60)).await;
    let (status, _) = viewer(&app, &token(Algorithm::RS256, "kc-enc", &analyst)).await;
    assert_eq!(status, 401);

    // A set with keys of every kind: what mognad verifies is used, the rest skipped.
    let keys = KeyServer::start(&mixed()).await;
    let app = app_on(&keys, Duration::from_secs(60)).await;
    for (alg, kid, expected) in [
        (Algorithm::PS256, "ps-1", 200),
        (Algorithm::ES384, "test-ec384", 200),
        (Algorithm::RS256, "twice", 200),
        (Algorithm::ES256, "twice", 401),
        (Algorithm::RS256, "es512", 401),
        (Algorithm::RS256, "hmac", 401),
        (Algorithm::RS256, "ml-dsa", 401),
    ] {
        let (status, _) = viewer(&app, &token(alg, kid, &analyst)).await;
        assert_eq!(status, expected, "{alg:?} {kid}");
    }

    // A set without one usable key stops the server from starting, saying why.
    let keys = KeyServer::start(&json!({ "keys": [keycloak()["keys"][0]] })).await;
    let mut config = crate::helpers::test_config("sqlite::memory:");
    config.jwt_secret = None;
    config.jwks_url = Some(keys.url.clone());
    let error = mognad::Application::build(config)
        .await
        .err()
        .expect("no usable key: no start")
        .to_string();
    assert!(error.contains("no usable signing key"), "{error}");
    assert!(error.contains("use is \"enc\""), "{error}");
}

#[tokio::test]
async fn an_empty_failing_slow_or_huge_key_set_keeps_the_last_good_one() {
    let analyst = claims("skr_analyst", None);
    let keys = KeyServer::start(&okta()).await;
    let app = app_on(&keys, Duration::from_millis(200)).await;
    let good = token(Algorithm::RS256, "okta-1", &analyst);
    let unknown = token(Algorithm::RS256, "rotated-in", &analyst);
    assert_eq!(viewer(&app, &good).await.0, 200);
    let huge = format!(
        "{{\"keys\":[{}],\"padding\":\"{}\"}}",
        okta()["keys"][0],
        "x".repeat(4 * 1024 * 1024)
    );
    for (what, bad) in [
        ("an empty set", json!({ "keys": [] }).to_string()),
        (
            "a set of encryption keys",
            json!({ "keys": [keycloak()["keys"][0]] }).to_string(),
        ),
        ("not JSON", "<html>maintenance</html>".to_owned()),
        ("a 4 MB body", huge),
    ] {
        keys.serve_body(&bad);
        // A token naming an unknown kid makes the server fetch again.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let before = keys.fetches();
        assert_eq!(viewer(&app, &unknown).await.0, 401, "{what}");
        assert!(keys.fetches() > before, "{what}: fetched again");
        // The last good set is still used.
        assert_eq!(viewer(&app, &good).await.0, 200, "{what}");
    }
    // A provider that stops answering: the fetch gives up, the set stays.
    keys.serve(&okta());
    keys.delay(Duration::from_secs(15));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let started = std::time::Instant::now();
    assert_eq!(viewer(&app, &unknown).await.0, 401);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the fetch has a timeout"
    );
    assert_eq!(viewer(&app, &good).await.0, 200);
}

/// A provider rotates while eight clients make requests: it publishes the
/// new key beside the old, clients switch to it, the old one goes. No token
/// whose key is published is refused at any moment.
#[tokio::test]
async fn a_rotation_in_the_middle_of_a_load_refuses_no_published_key() {
    let old = rsa_key("old", &json!({ "alg": "RS256", "use": "sig" }));
    let new = rsa_key("new", &json!({ "alg": "RS256", "use": "sig" }));
    let keys = KeyServer::start(&json!({ "keys": [old] })).await;
    let app = Arc::new(app_on(&keys, Duration::from_millis(100)).await);
    // 0: old only; 1: both published, clients on the old; 2: both, clients
    // on the new; 3: new only.
    let stage = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let served = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (app, stage, refused, served) =
            (app.clone(), stage.clone(), refused.clone(), served.clone());
        clients.push(tokio::spawn(async move {
            let claims = claims("kommun", Some(["1280", "0180"][c % 2]));
            let (with_old, with_new) = (
                token(Algorithm::RS256, "old", &claims),
                token(Algorithm::RS256, "new", &claims),
            );
            loop {
                let now = stage.load(Ordering::SeqCst);
                if now >= 4 {
                    return;
                }
                let t = if now >= 2 { &with_new } else { &with_old };
                let (status, _) = viewer(&app, t).await;
                if status == 200 {
                    served.fetch_add(1, Ordering::Relaxed);
                } else {
                    refused.lock().unwrap().push((now, status));
                }
            }
        }));
    }
    for (next, published) in [
        (1, json!({ "keys": [old, new] })),
        (2, json!({ "keys": [old, new] })),
        (3, json!({ "keys": [new] })),
    ] {
        tokio::time::sleep(Duration::from_millis(700)).await;
        keys.serve(&published);
        // Clients move on once the provider publishes (as a provider's
        // clients get their tokens from it).
        stage.store(next, Ordering::SeqCst);
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    stage.store(4, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    let refused = refused.lock().unwrap().clone();
    assert!(served.load(Ordering::Relaxed) > 100, "the load ran");
    assert!(
        refused.is_empty(),
        "refused during the rotation: {refused:?}"
    );
}

/// Each key skipped is logged once, with why, however often the set is fetched.
#[tokio::test]
async fn a_skipped_key_is_logged_once_with_why() {
    let keys = KeyServer::start(&keycloak()).await;
    let server = Binary::start(&[
        ("MOGNAD_JWT_SECRET", ""),
        ("MOGNAD_JWKS_URL", &keys.url),
        ("MOGNAD_JWKS_MIN_REFRESH", "100ms"),
        ("MOGNAD_LOG_FORMAT", "json"),
    ])
    .await;
    let unknown = token(Algorithm::RS256, "unknown", &claims("skr_analyst", None));
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(server.viewer_status(&unknown).await, 401);
    }
    assert!(keys.fetches() >= 4, "fetched again for the unknown kid");
    let logs = server.stop();
    let skipped: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("JWKS key skipped"))
        .collect();
    assert_eq!(skipped.len(), 1, "{logs}");
    assert!(
        skipped[0].contains("kc-enc") && skipped[0].contains("not sig"),
        "{}",
        skipped[0]
    );
}
