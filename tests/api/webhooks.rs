//! Webhooks: registration (SKR admins only, inputs checked), and delivery
//! to a local receiver that fails the first two attempts of each delivery,
//! with mognad restarted in between: one verified delivery per event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{
    TestApp, admin_token, analyst_token, error_codes, kommun_token, spawn_app_on, spawn_app_with,
    test_config,
};
use crate::isolation::full_answers;

const CREATE: &str = "mutation($url: String!, $events: [ChangeKind!]!, $secret: String!) { \
    createWebhook(url: $url, events: $events, secret: $secret) { id url events createdBy createdAt } }";
const LIST: &str = "{ webhooks { id url events } }";
const SECRET: &str = "a-webhook-secret-of-enough-bytes";
/// The receivers of these tests listen on loopback: the operator allows it.
pub const LOCAL: &str = "127.0.0.1";

#[tokio::test]
async fn only_skr_admins_register_webhooks_and_bad_inputs_change_nothing() {
    // The receiver's name does not resolve here: the operator allows it by name.
    let app = spawn_app_with(|c| c.webhook_allow = vec!["klassa.example.se".into()]).await;
    let vars = json!({ "url": "https://klassa.example.se/hooks", "events": ["ROUND_PUBLISHED"], "secret": SECRET });
    for (token, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(kommun_token("1280")), "FORBIDDEN"),
        (Some(analyst_token()), "FORBIDDEN"),
    ] {
        let body = app.gql(token.as_deref(), CREATE, vars.clone()).await;
        assert_eq!(error_codes(&body), [code], "{body}");
        let body = app.gql(token.as_deref(), LIST, json!({})).await;
        assert_eq!(error_codes(&body), [code], "{body}");
        let body = app
            .gql(token.as_deref(), "{ webhookDeliveries { id } }", json!({}))
            .await;
        assert_eq!(error_codes(&body), [code], "{body}");
    }
    let admin = admin_token();
    for (what, bad) in [
        ("a relative url", json!({ "url": "/hooks" })),
        ("another scheme", json!({ "url": "ftp://example.se/x" })),
        ("user info", json!({ "url": "https://u:p@example.se/x" })),
        ("no events", json!({ "events": [] })),
        ("a short secret", json!({ "secret": "short" })),
    ] {
        let mut v = vars.clone();
        for (k, val) in bad.as_object().unwrap() {
            v[k] = val.clone();
        }
        let body = app.gql(Some(&admin), CREATE, v).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{what}: {body}");
    }
    assert_eq!(app.ok(&admin, LIST, json!({})).await["webhooks"], json!([]));

    let created = app.ok(&admin, CREATE, vars.clone()).await["createWebhook"].clone();
    assert_eq!(created["events"], json!(["ROUND_PUBLISHED"]));
    assert_eq!(created["createdBy"], "user-skr_admin");
    let listed = app.ok(&admin, LIST, json!({})).await["webhooks"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // The secret is never shown: the type has no such field.
    let body = app
        .gql(Some(&admin), "{ webhooks { secret } }", json!({}))
        .await;
    assert!(body["errors"].is_array(), "{body}");

    let delete = "mutation($id: ID!) { deleteWebhook(id: $id) }";
    for missing in ["00000000-0000-0000-0000-000000000000", "nope"] {
        let body = app
            .gql(Some(&admin), delete, json!({ "id": missing }))
            .await;
        assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
    }
    let body = app
        .gql(
            Some(&kommun_token("1280")),
            delete,
            json!({ "id": created["id"] }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    let deleted = app.ok(&admin, delete, json!({ "id": created["id"] })).await;
    assert_eq!(deleted["deleteWebhook"], true);
    assert_eq!(app.ok(&admin, LIST, json!({})).await["webhooks"], json!([]));
}

/// A server that serves the API and leaves deliveries to others: its
/// dispatcher looks once, at start, and then not for an hour. Loopback
/// receivers are allowed.
async fn serving_only() -> TestApp {
    spawn_app_with(|c| {
        c.webhook_poll = Duration::from_secs(3600);
        c.webhook_allow = vec![LOCAL.into()];
    })
    .await
}

/// A server that dispatches at once and retries after 100 ms, up to
/// `max_attempts`, to loopback receivers.
async fn dispatching(max_attempts: u32) -> TestApp {
    spawn_app_with(|c| {
        c.webhook_poll = Duration::from_millis(100);
        c.webhook_retry_base = Duration::from_millis(100);
        c.webhook_max_attempts = max_attempts;
        c.webhook_allow = vec![LOCAL.into()];
    })
    .await
}

/// Registers `url` for ROUND_CREATED, as the admin.
async fn register(app: &TestApp, url: &str) {
    app.ok(
        &admin_token(),
        CREATE,
        json!({ "url": url, "events": ["ROUND_CREATED"], "secret": SECRET }),
    )
    .await;
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
    answered: u16,
}

/// A local endpoint that answers 500 to the first `refusals` attempts of
/// each delivery (by `X-Mognad-Delivery`) and 200 after.
async fn receiver(refusals: usize) -> (String, Arc<Mutex<Vec<Received>>>) {
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let l = log.clone();
    let server = HttpServer::new(move || {
        let log = l.clone();
        App::new().route(
            "/hook",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let log = log.clone();
                async move {
                    let headers: HashMap<String, String> = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    let mut log = log.lock().unwrap();
                    let id = headers
                        .get("x-mognad-delivery")
                        .cloned()
                        .unwrap_or_default();
                    let earlier = log
                        .iter()
                        .filter(|r| r.headers.get("x-mognad-delivery") == Some(&id))
                        .count();
                    let answered = if earlier < refusals { 500 } else { 200 };
                    log.push(Received {
                        headers,
                        body: body.to_vec(),
                        answered,
                    });
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap())
                        .finish()
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}/hook"), log)
}

/// Starts another mognad on `app`'s database that dispatches webhooks
/// quickly; returns the handle that stops it.
async fn dispatcher_on(app: &TestApp) -> actix_web::dev::ServerHandle {
    let mut config = test_config(&app.database_url);
    config.webhook_allow = vec![LOCAL.into()];
    config.webhook_poll = Duration::from_millis(100);
    config.webhook_retry_base = Duration::from_secs(1);
    let server = mognad::Application::build(config).await.unwrap();
    let handle = server.handle();
    tokio::spawn(server.run_until_stopped());
    handle
}

/// Waits until `done` holds of the receiver's log (at most 30 s).
async fn wait_for(log: &Arc<Mutex<Vec<Received>>>, what: &str, done: impl Fn(&[Received]) -> bool) {
    let start = Instant::now();
    while !done(&log.lock().unwrap()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited in vain for {what}: {:?}",
            log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn delivery_ids(log: &[Received]) -> std::collections::BTreeSet<String> {
    log.iter()
        .map(|r| r.headers["x-mognad-delivery"].clone())
        .collect()
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_survive_a_restart() {
    // The deliveries are the other servers' work.
    let app = serving_only().await;
    let admin = admin_token();
    // An event before the webhook exists is not delivered to it.
    let round = app.create_round(2027).await;
    let (url, log) = receiver(2).await;
    let hook = app
        .ok(
            &admin,
            CREATE,
            json!({ "url": url, "events": ["ROUND_OPENED", "RESPONSE_SUBMITTED", "ROUND_PUBLISHED"], "secret": SECRET }),
        )
        .await["createWebhook"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.transition("openSurveyRound", &round).await;
    let kommun = kommun_token("1280");
    app.ok(
        &kommun,
        "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }",
        json!({ "r": round, "a": full_answers() }),
    )
    .await;
    app.ok(
        &kommun,
        "mutation($r: ID!) { submitResponse(roundId: $r) { status } }",
        json!({ "r": round }),
    )
    .await;
    app.transition("closeSurveyRound", &round).await; // not subscribed
    app.transition("publishSurveyRound", &round).await;

    // The first server makes every first attempt (all refused), and stops.
    let first = dispatcher_on(&app).await;
    wait_for(&log, "three first attempts", |l| delivery_ids(l).len() == 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.stop(true).await;
    let attempts_before_restart = log.lock().unwrap().len();
    assert!(attempts_before_restart < 9, "{attempts_before_restart}");
    // While no dispatcher runs, nothing is sent.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(log.lock().unwrap().len(), attempts_before_restart);
    let pending = app
        .ok(
            &admin,
            "{ webhookDeliveries(status: PENDING) { id status attemptCount nextAttemptAt } }",
            json!({}),
        )
        .await;
    assert_eq!(
        pending["webhookDeliveries"].as_array().unwrap().len(),
        3,
        "{pending}"
    );

    // A new server picks the deliveries up where the first left them.
    let second = dispatcher_on(&app).await;
    wait_for(&log, "a success per delivery", |l| {
        l.iter().filter(|r| r.answered == 200).count() == 3
    })
    .await;
    // Nothing more is sent once delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    second.stop(true).await;
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 9, "three attempts each: {log:?}");

    // Every request is signed with the secret over its exact body, and
    // carries its timestamp and event in headers and body alike.
    let mut kinds = Vec::new();
    for r in &log {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(&r.body);
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            r.headers["x-mognad-signature"],
            format!("sha256={expected}")
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            r.headers["x-mognad-timestamp"],
            body["timestamp"].to_string()
        );
        let age = chrono::Utc::now().timestamp() - body["timestamp"].as_i64().unwrap();
        assert!((0..300).contains(&age), "fresh: {age} s");
        assert_eq!(r.headers["x-mognad-event"], body["event"]["kind"]);
        assert_eq!(
            r.headers["x-mognad-delivery"],
            body["deliveryId"].as_str().unwrap()
        );
        assert_eq!(body["webhookId"], hook.as_str());
        assert_eq!(body["event"]["roundYear"], 2027);
        assert_eq!(r.headers["content-type"], "application/json");
        if r.answered == 200 {
            kinds.push(body["event"]["kind"].as_str().unwrap().to_owned());
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        ["RESPONSE_SUBMITTED", "ROUND_OPENED", "ROUND_PUBLISHED"]
    );
    let submitted = log
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|b| b["event"]["kind"] == "RESPONSE_SUBMITTED")
        .unwrap();
    assert_eq!(submitted["event"]["municipalityCode"], "1280");

    // SKR sees every delivery with its attempts.
    let seen = app
        .ok(
            &admin,
            "query($w: ID!) { webhookDeliveries(webhookId: $w) { status attemptCount deliveredAt nextAttemptAt \
               event { kind at } attempts { number statusCode error durationMs } } }",
            json!({ "w": hook }),
        )
        .await;
    let deliveries = seen["webhookDeliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3);
    // The feed's `at` and the body's `event.at` are written alike: RFC 3339
    // in UTC with microseconds, byte for byte the same.
    let rfc3339 = |t: &str| {
        t.len() == 27
            && t.ends_with('Z')
            && t.as_bytes()[19] == b'.'
            && t.parse::<chrono::DateTime<chrono::Utc>>().is_ok()
    };
    for d in deliveries {
        let at = d["event"]["at"].as_str().unwrap();
        assert!(rfc3339(at), "{at}");
        let sent = log
            .iter()
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .find(|b| b["event"]["kind"] == d["event"]["kind"])
            .unwrap();
        assert_eq!(sent["event"]["at"], d["event"]["at"], "{sent}");
        assert!(rfc3339(d["deliveredAt"].as_str().unwrap()), "{d}");
    }
    for d in deliveries {
        assert_eq!(d["status"], "DELIVERED", "{d}");
        assert_eq!(d["attemptCount"], 3);
        assert!(d["deliveredAt"].is_string() && d["nextAttemptAt"].is_null());
        let codes: Vec<&Value> = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["statusCode"])
            .collect();
        assert_eq!(codes, [&json!(500), &json!(500), &json!(200)], "{d}");
        assert_eq!(d["attempts"][0]["error"], "HTTP 500");
        assert!(d["attempts"][2]["error"].is_null());
    }
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_failed_and_can_be_retried() {
    let app = dispatching(2).await;
    let admin = admin_token();
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    register(&app, &url).await;
    app.create_round(2027).await;
    let query = "{ webhookDeliveries { id status attemptCount attempts { statusCode error } } }";
    let start = Instant::now();
    let failed = loop {
        let d = app.ok(&admin, query, json!({})).await["webhookDeliveries"][0].clone();
        if d["status"] == "FAILED" {
            break d;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed["attemptCount"], 2);
    assert_eq!(failed["attempts"][0]["statusCode"], Value::Null);
    // Why it failed is the operator's to read in the log, not the admin's.
    assert_eq!(failed["attempts"][0]["error"], "failed");

    let retry = "mutation($id: ID!) { retryWebhookDelivery(id: $id) }";
    let again = app.ok(&admin, retry, json!({ "id": failed["id"] })).await;
    assert_eq!(again["retryWebhookDelivery"], true);
    let body = app
        .gql(Some(&admin), retry, json!({ "id": failed["id"] }))
        .await;
    let codes = error_codes(&body);
    // Back in line (PENDING) or already failed again: either way not FAILED-then-retried twice.
    assert!(
        codes.is_empty() || codes == ["FAILED_PRECONDITION"],
        "{body}"
    );
    let start = Instant::now();
    loop {
        let d = app.ok(&admin, query, json!({})).await["webhookDeliveries"][0].clone();
        if d["status"] == "FAILED" && d["attempts"].as_array().unwrap().len() >= 4 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two servers dispatch at once (as two replicas would): each event reaches
/// the endpoint once — the claims skip what the other took.
#[tokio::test]
async fn two_dispatchers_at_once_deliver_each_event_once() {
    let app = serving_only().await;
    let admin = admin_token();
    let (url, log) = receiver(0).await;
    register(&app, &url).await;
    let one = dispatcher_on(&app).await;
    let two = dispatcher_on(&app).await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (address, client) = (app.address.clone(), app.client.clone());
            tokio::spawn(async move {
                for i in 0..6 {
                    let year = 2030 + w * 10 + i;
                    let body = json!({ "query": "mutation($y: Int!) { createSurveyRound(input: { year: $y, title: \"T\", copyFrom: \"00000000-0000-0000-0000-000000002023\" }) { id } }", "variables": { "y": year } });
                    let resp = client
                        .post(format!("{address}/graphql"))
                        .bearer_auth(admin_token())
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    let body: Value = resp.json().await.unwrap();
                    assert!(body.get("errors").is_none(), "{body}");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    wait_for(&log, "24 deliveries", |l| l.len() >= 24).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    one.stop(true).await;
    two.stop(true).await;
    let log = log.lock().unwrap().clone();
    let ids = delivery_ids(&log);
    assert_eq!(ids.len(), 24);
    assert_eq!(log.len(), 24, "no delivery twice");
    let delivered = app
        .ok(
            &admin,
            "{ webhookDeliveries(status: DELIVERED, first: 100) { attemptCount } }",
            json!({}),
        )
        .await;
    let all = delivered["webhookDeliveries"].as_array().unwrap();
    assert_eq!(all.len(), 24);
    assert!(all.iter().all(|d| d["attemptCount"] == 1));
}

/// A webhook cannot point inside: loopback (however written), private,
/// link-local and unspecified addresses, the database, the API itself and
/// its metrics listener are refused at registration, and nothing is saved.
/// An operator may allow a receiver's network; the server itself stays out.
#[tokio::test]
async fn a_webhook_cannot_point_inside() {
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".into())).await;
    let admin = admin_token();
    let api = app.address.clone();
    let metrics = app.metrics_address.clone().unwrap();
    let (receiver_url, _) = receiver(0).await;
    for url in [
        "http://127.0.0.1:5432/".to_owned(),
        format!("{api}/graphql"),
        format!("{metrics}/metrics"),
        receiver_url.clone(),
        "http://2130706433/".to_owned(),
        "http://0x7f.1/".to_owned(),
        "http://127.1/".to_owned(),
        "http://0.0.0.0:8080/".to_owned(),
        "http://localhost/".to_owned(),
        "http://[::1]/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://172.16.5.4/".to_owned(),
        "http://192.168.1.1/".to_owned(),
        "http://[fd00::1]/".to_owned(),
        "http://[fe80::1]/".to_owned(),
    ] {
        let body = app
            .gql(
                Some(&admin),
                CREATE,
                json!({ "url": url, "events": ["ROUND_CREATED"], "secret": SECRET }),
            )
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{url}: {body}");
    }
    assert_eq!(app.ok(&admin, LIST, json!({})).await["webhooks"], json!([]));

    // Allowed by the operator: the receiver, but never the server itself.
    let allowing = spawn_app_with(|c| {
        c.metrics_listen = Some("127.0.0.1:0".into());
        c.webhook_allow = vec!["127.0.0.0/8".into()];
    })
    .await;
    let own = [
        format!("{}/graphql", allowing.address),
        format!("{}/metrics", allowing.metrics_address.clone().unwrap()),
    ];
    for url in own {
        let body = allowing
            .gql(
                Some(&admin),
                CREATE,
                json!({ "url": url, "events": ["ROUND_CREATED"], "secret": SECRET }),
            )
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{url}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("this server")
        );
    }
    allowing
        .ok(
            &admin,
            CREATE,
            json!({ "url": receiver_url, "events": ["ROUND_CREATED"], "secret": SECRET }),
        )
        .await;
}

/// The address is checked again at every delivery, where it is connected
/// to: a webhook registered while its receiver's address was allowed gets
/// nothing once it is not (as a name that later resolves inside would),
/// and the admin reads only "failed".
#[tokio::test]
async fn a_webhook_is_checked_again_at_each_delivery() {
    let app = serving_only().await;
    let admin = admin_token();
    let (url, log) = receiver(0).await;
    register(&app, &url).await;
    app.create_round(2027).await;
    // A dispatcher that does not allow loopback.
    let mut config = test_config(&app.database_url);
    config.webhook_poll = Duration::from_millis(100);
    config.webhook_retry_base = Duration::from_secs(3600);
    let server = mognad::Application::build(config).await.unwrap();
    let handle = server.handle();
    tokio::spawn(server.run_until_stopped());
    let query = "{ webhookDeliveries { status attempts { statusCode error } } }";
    let start = Instant::now();
    let attempted = loop {
        let d = app.ok(&admin, query, json!({})).await["webhookDeliveries"][0].clone();
        if d["attempts"].as_array().is_some_and(|a| !a.is_empty()) {
            break d;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    handle.stop(true).await;
    assert_eq!(
        attempted["attempts"][0],
        json!({ "statusCode": null, "error": "failed" })
    );
    assert!(log.lock().unwrap().is_empty(), "the receiver was reached");
}

/// A local endpoint that accepts connections and never answers.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://127.0.0.1:{port}/hook")
}

/// Ten endpoints that never answer beside a healthy one: each endpoint is
/// delivered to on its own, so the healthy one gets every event within
/// moments, as it would alone.
#[tokio::test]
async fn a_slow_endpoint_delays_only_itself() {
    let app = dispatching(12).await;
    for _ in 0..10 {
        let url = black_hole().await;
        register(&app, &url).await;
    }
    let (url, log) = receiver(0).await;
    register(&app, &url).await;
    let mut slowest = Duration::ZERO;
    for i in 0..6 {
        let created = Instant::now();
        app.create_round(2030 + i).await;
        wait_for(&log, "the healthy endpoint's delivery", |l| {
            l.len() > i as usize
        })
        .await;
        slowest = slowest.max(created.elapsed());
    }
    eprintln!("the healthy endpoint's slowest delivery: {slowest:?}");
    assert!(
        slowest < Duration::from_secs(3),
        "the healthy endpoint waited {slowest:?} beside ten that never answer"
    );
}

/// An endpoint that keeps failing trips its circuit: after five failed
/// attempts in a row nothing more is sent to it for a while, and its
/// deliveries wait with their attempts unspent.
#[tokio::test]
async fn a_failing_endpoint_opens_its_circuit() {
    let app = dispatching(50).await;
    let admin = admin_token();
    let (url, log) = receiver(usize::MAX).await;
    register(&app, &url).await;
    for i in 0..3 {
        app.create_round(2030 + i).await;
    }
    wait_for(&log, "five failed attempts", |l| l.len() >= 5).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tried = log.lock().unwrap().len();
    // At most the attempts under way when it tripped came after the fifth.
    assert!(tried < 5 + 4, "{tried} attempts");
    let pending = app
        .ok(
            &admin,
            "{ webhookDeliveries(status: PENDING) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        pending["webhookDeliveries"].as_array().unwrap().len(),
        3,
        "{pending}"
    );
}

/// `testWebhook` sends a signed test event now, as deliveries are sent,
/// and says what came of it; nothing is stored, no feed event is made, and
/// an address a webhook may not reach is not tried.
#[tokio::test]
async fn a_test_event_is_signed_sent_now_and_stored_nowhere() {
    let app = serving_only().await;
    let admin = admin_token();
    let (url, log) = receiver(0).await;
    let hook = app
        .ok(
            &admin,
            CREATE,
            json!({ "url": url, "events": ["ROUND_CREATED"], "secret": SECRET }),
        )
        .await["createWebhook"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let test =
        "mutation($id: ID!) { testWebhook(id: $id) { number at statusCode error durationMs } }";
    for _ in 0..2 {
        let sent = app.ok(&admin, test, json!({ "id": hook })).await["testWebhook"].clone();
        assert_eq!(
            (&sent["statusCode"], &sent["error"]),
            (&json!(200), &Value::Null),
            "{sent}"
        );
        assert_eq!(sent["number"], 1);
    }
    let received = log.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_ne!(
        received[0].headers["x-mognad-delivery"],
        received[1].headers["x-mognad-delivery"]
    );
    for r in &received {
        let expected = mognad::webhooks::signature(SECRET.as_bytes(), &r.body);
        assert_eq!(r.headers["x-mognad-signature"], expected);
        assert_eq!(r.headers["x-mognad-event"], "WEBHOOK_TEST");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["event"]["kind"], "WEBHOOK_TEST");
        assert_eq!(body["webhookId"], hook.as_str());
        assert!(body["deliveryId"].as_str().unwrap().starts_with("test-"));
        assert_eq!(
            r.headers["x-mognad-delivery"],
            body["deliveryId"].as_str().unwrap()
        );
        assert_eq!(
            r.headers["x-mognad-timestamp"],
            body["timestamp"].to_string()
        );
        assert_eq!(body["event"]["roundId"], Value::Null);
        assert_eq!(body["event"]["at"].as_str().unwrap().len(), 27);
    }
    // Stored nowhere: no delivery, no feed event.
    let seen = app
        .ok(
            &admin,
            "query($w: ID!) { webhookDeliveries(webhookId: $w) { status } changes(first: 100) { edges { node { kind } } } }",
            json!({ "w": hook }),
        )
        .await;
    assert_eq!(seen["webhookDeliveries"], json!([]));
    assert!(!seen["changes"].to_string().contains("WEBHOOK_TEST"));
    // Unknown webhooks and ids are NOT_FOUND.
    for id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"] {
        let body = app.gql(Some(&admin), test, json!({ "id": id })).await;
        assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
    }
    // On a server that may not reach loopback, nothing is sent.
    let strict = spawn_app_on(&app.database_url).await;
    let refused = strict.ok(&admin, test, json!({ "id": hook })).await["testWebhook"].clone();
    assert_eq!(
        (&refused["statusCode"], &refused["error"]),
        (&Value::Null, &json!("failed"))
    );
    assert_eq!(log.lock().unwrap().len(), 2, "nothing reached the receiver");
}
