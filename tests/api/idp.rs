//! Real identity providers: a JWKS fetched from a URL (a local server that
//! rotates its keys, goes down and sets a cache lifetime), and the claim
//! shapes of Keycloak and Entra ID mapped by configuration.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::auth::{keys_dir, pem, sign_with, viewer_with_header};
use crate::helpers::{TestApp, claims, sign, spawn_app_with};

/// What the local identity provider serves at `/jwks`.
struct Provider {
    kids: Vec<&'static str>,
    status: u16,
    max_age: Option<u64>,
}

/// A local JWKS endpoint serving the fixture keys named in `Provider::kids`;
/// counts every fetch.
struct Idp {
    url: String,
    state: Arc<Mutex<Provider>>,
    fetches: Arc<AtomicUsize>,
}

impl Idp {
    async fn start(kids: &[&'static str], max_age: Option<u64>) -> Self {
        let all: Value =
            serde_json::from_str(&std::fs::read_to_string(keys_dir().join("jwks.json")).unwrap())
                .unwrap();
        let state = Arc::new(Mutex::new(Provider {
            kids: kids.to_vec(),
            status: 200,
            max_age,
        }));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (s, f) = (state.clone(), fetches.clone());
        let server = HttpServer::new(move || {
            let (state, fetches, all) = (s.clone(), f.clone(), all.clone());
            App::new().route(
                "/jwks",
                web::get().to(move || {
                    let (state, fetches, all) = (state.clone(), fetches.clone(), all.clone());
                    async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let p = state.lock().unwrap();
                        if p.status != 200 {
                            return HttpResponse::build(
                                actix_web::http::StatusCode::from_u16(p.status).unwrap(),
                            )
                            .finish();
                        }
                        let keys: Vec<&Value> = all["keys"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|k| p.kids.contains(&k["kid"].as_str().unwrap()))
                            .collect();
                        let mut reply = HttpResponse::Ok();
                        if let Some(age) = p.max_age {
                            reply
                                .insert_header(("cache-control", format!("public, max-age={age}")));
                        }
                        reply.json(json!({ "keys": keys }))
                    }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self {
            url: format!("http://127.0.0.1:{port}/jwks"),
            state,
            fetches,
        }
    }

    fn serve(&self, kids: &[&'static str]) {
        self.state.lock().unwrap().kids = kids.to_vec();
    }

    fn fail_with(&self, status: u16) {
        self.state.lock().unwrap().status = status;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn token(kid: &str, claims: &Value) -> String {
    let (alg, key) = match kid {
        "test-ec" => (Algorithm::ES256, EncodingKey::from_ec_pem(&pem("ec.pem"))),
        "test-ed" => (
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&pem("ed25519.pem")),
        ),
        _ => (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem("rsa.pem"))),
    };
    sign_with(alg, Some(kid), &key.unwrap(), claims)
}

/// The HTTP status of `{ viewer }` with `token`, and the role it shows.
async fn try_token(app: &TestApp, token: &str) -> (u16, Value) {
    let (status, _, body) = viewer_with_header(app, &format!("Bearer {token}")).await;
    (status, body["data"]["viewer"]["role"].clone())
}

#[tokio::test]
async fn keys_from_a_jwks_url_follow_a_rotation_and_outlive_the_provider() {
    let idp = Idp::start(&["test-rsa"], None).await;
    let min_refresh = Duration::from_millis(400);
    let app = spawn_app_with(|c| {
        c.jwks_url = Some(idp.url.clone());
        c.jwks_min_refresh = min_refresh;
    })
    .await;
    assert_eq!(idp.fetches(), 1, "fetched at start");
    let admin = claims("skr_admin", None);
    assert_eq!(
        try_token(&app, &token("test-rsa", &admin)).await,
        (200, json!("SKR_ADMIN"))
    );
    // The HS256 secret still works beside it.
    assert_eq!(try_token(&app, &sign(&admin)).await.0, 200);

    // The provider rotates to a new key; the first token with the new kid
    // makes the server fetch again.
    tokio::time::sleep(min_refresh).await;
    idp.serve(&["test-ec"]);
    assert_eq!(
        try_token(&app, &token("test-ec", &admin)).await,
        (200, json!("SKR_ADMIN"))
    );
    assert_eq!(idp.fetches(), 2);
    // The retired key is gone with the old set.
    assert_eq!(try_token(&app, &token("test-rsa", &admin)).await.0, 401);

    // Unknown kids do not make the server hammer the provider: at most one
    // fetch per MOGNAD_JWKS_MIN_REFRESH.
    let before = idp.fetches();
    for _ in 0..5 {
        assert_eq!(try_token(&app, &token("no-such-kid", &admin)).await.0, 401);
    }
    assert!(
        idp.fetches() <= before + 1,
        "{} fetches",
        idp.fetches() - before
    );

    // The provider goes down: a fetch fails, the last good set stays.
    idp.fail_with(503);
    tokio::time::sleep(min_refresh).await;
    let before = idp.fetches();
    assert_eq!(try_token(&app, &token("test-ed", &admin)).await.0, 401);
    assert_eq!(idp.fetches(), before + 1, "it tried");
    assert_eq!(
        try_token(&app, &token("test-ec", &admin)).await,
        (200, json!("SKR_ADMIN"))
    );
}

#[tokio::test]
async fn a_jwks_url_is_fetched_again_when_its_cache_lifetime_ends_and_must_answer_at_start() {
    let idp = Idp::start(&["test-rsa"], Some(1)).await;
    let app = spawn_app_with(|c| {
        c.jwks_url = Some(idp.url.clone());
        c.jwks_min_refresh = Duration::from_millis(200);
    })
    .await;
    idp.serve(&["test-ed"]);
    // No request asks for a key: the set is fetched again after its max-age.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(idp.fetches() >= 2, "{} fetches", idp.fetches());
    let before = idp.fetches();
    let admin = claims("skr_admin", None);
    assert_eq!(
        try_token(&app, &token("test-ed", &admin)).await,
        (200, json!("SKR_ADMIN"))
    );
    assert_eq!(idp.fetches(), before, "the new key was there already");
    drop(app);

    // A provider that does not answer at start keeps the server from starting.
    idp.fail_with(500);
    let mut config = crate::helpers::test_config("sqlite::memory:");
    config.jwks_url = Some(idp.url.clone());
    let err = mognad::startup::Application::build(config)
        .await
        .err()
        .expect("no start without the key set");
    assert!(err.to_string().contains("MOGNAD_JWKS_URL"), "{err}");
}

/// Keycloak puts realm roles in `realm_access.roles` beside roles of its
/// own; a user attribute mapper adds the municipality.
#[tokio::test]
async fn keycloak_shaped_tokens_are_mapped_by_configuration() {
    let app = spawn_app_with(|c| {
        c.jwt_issuer = "https://sso.skr.example/realms/mognad".into();
        c.jwt_audience = "mognad-api".into();
        c.claim_role = "realm_access.roles".into();
        c.claim_kommun = "kommun_kod".into();
        c.role_map = vec![
            ("mognad-admin".into(), "skr_admin".into()),
            ("mognad-analytiker".into(), "skr_analyst".into()),
            ("mognad-kommun".into(), "kommun".into()),
        ];
    })
    .await;
    let now = chrono::Utc::now().timestamp();
    let keycloak = |roles: Value, kommun: Option<Value>| {
        let mut c = json!({
            "iss": "https://sso.skr.example/realms/mognad", "aud": ["mognad-api", "account"],
            "sub": "f1b7c2d4-5e6f-4a1b-9c8d-7e6f5a4b3c2d", "typ": "Bearer", "azp": "mognad-web",
            "exp": now + 300, "iat": now,
            "realm_access": { "roles": roles },
            "preferred_username": "anna"
        });
        if let Some(k) = kommun {
            c["kommun_kod"] = k;
        }
        sign(&c)
    };
    let standard = json!([
        "offline_access",
        "uma_authorization",
        "default-roles-mognad"
    ]);
    let with = |role: &str| {
        let mut roles = standard.clone();
        roles.as_array_mut().unwrap().push(json!(role));
        roles
    };
    assert_eq!(
        try_token(&app, &keycloak(with("mognad-admin"), None)).await,
        (200, json!("SKR_ADMIN"))
    );
    assert_eq!(
        try_token(&app, &keycloak(with("mognad-analytiker"), None)).await,
        (200, json!("SKR_ANALYST"))
    );
    let (status, _, body) = viewer_with_header(
        &app,
        &format!(
            "Bearer {}",
            keycloak(with("mognad-kommun"), Some(json!("1280")))
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["municipality"]["code"], "1280");
    // A numeric attribute loses its leading zero; it is padded back.
    let (_, _, body) = viewer_with_header(
        &app,
        &format!(
            "Bearer {}",
            keycloak(with("mognad-kommun"), Some(json!(180)))
        ),
    )
    .await;
    assert_eq!(body["data"]["viewer"]["municipality"]["code"], "0180");
    for (what, roles, kommun) in [
        ("no mapped role", standard.clone(), None),
        (
            "two roles",
            json!(["mognad-admin", "mognad-kommun"]),
            Some(json!("1280")),
        ),
        ("kommun without its claim", with("mognad-kommun"), None),
        (
            "an unknown kommun",
            with("mognad-kommun"),
            Some(json!("9999")),
        ),
    ] {
        assert_eq!(
            try_token(&app, &keycloak(roles, kommun)).await.0,
            401,
            "{what}"
        );
    }
    // The API's own role claim is not read under this mapping.
    assert_eq!(
        try_token(&app, &sign(&claims("skr_admin", None))).await.0,
        401
    );
}

/// Entra ID signs with rotating RS256 keys from its JWKS URL, names app
/// roles in `roles`, and carries directory extensions as `extension_…`.
#[tokio::test]
async fn entra_id_shaped_tokens_with_keys_from_its_jwks_url() {
    let idp = Idp::start(&["test-rsa"], Some(86_400)).await;
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let client = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    let app = spawn_app_with(|c| {
        c.jwt_secret = None;
        c.jwks_url = Some(idp.url.clone());
        c.jwt_issuer = format!("https://login.microsoftonline.com/{tenant}/v2.0");
        c.jwt_audience = client.into();
        c.claim_role = "roles".into();
        c.claim_kommun = "extension_kommunkod".into();
        c.role_map = vec![
            ("Mognad.Admin".into(), "skr_admin".into()),
            ("Mognad.Kommun".into(), "kommun".into()),
        ];
    })
    .await;
    let now = chrono::Utc::now().timestamp();
    let entra = |roles: Value, kommun: Option<&str>| {
        let mut c = json!({
            "aud": client, "iss": format!("https://login.microsoftonline.com/{tenant}/v2.0"),
            "iat": now, "nbf": now, "exp": now + 3600, "oid": "00000000-0000-0000-66f3-3332eca7ea81",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "tid": tenant, "ver": "2.0",
            "roles": roles,
        });
        if let Some(k) = kommun {
            c["extension_kommunkod"] = json!(k);
        }
        token("test-rsa", &c)
    };
    assert_eq!(
        try_token(&app, &entra(json!(["Mognad.Admin"]), None)).await,
        (200, json!("SKR_ADMIN"))
    );
    let (status, _, body) = viewer_with_header(
        &app,
        &format!("Bearer {}", entra(json!(["Mognad.Kommun"]), Some("0180"))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["role"], "KOMMUN");
    assert_eq!(body["data"]["viewer"]["municipality"]["code"], "0180");
    // No HS256 secret is configured: a token without kid is refused.
    assert_eq!(
        try_token(&app, &sign(&claims("skr_admin", None))).await.0,
        401
    );
    assert_eq!(
        try_token(&app, &entra(json!(["Mognad.Reader"]), None))
            .await
            .0,
        401
    );
}
