//! HTTP endpoints: health, GET vs POST, GraphiQL, limits.

use serde_json::{Value, json};

use mognad::config::Secret;

use crate::helpers::{
    TestApp, admin_token, analyst_token, error_codes, kommun_token, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    let live = app.get("/health/live").await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.json::<Value>().await.unwrap()["status"], "ok");
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["database"], "ok");
}

const METRICS_TOKEN: &str = "a-metrics-token-that-is-32-bytes-long";

async fn metrics_with(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}/metrics", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn metrics_need_the_metrics_token_or_an_admin_on_the_public_port() {
    let app = spawn_app_with(|c| c.metrics_token = Some(Secret::new(METRICS_TOKEN))).await;
    let anonymous = metrics_with(&app, None).await;
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    assert_eq!(
        error_codes(&anonymous.json().await.unwrap()),
        ["UNAUTHENTICATED"]
    );
    for wrong in ["a-metrics-token-that-is-32-bytes-lonG", "garbage"] {
        assert_eq!(metrics_with(&app, Some(wrong)).await.status(), 401);
    }
    for token in [kommun_token("1280"), analyst_token()] {
        let refused = metrics_with(&app, Some(&token)).await;
        assert_eq!(refused.status(), 403);
        assert_eq!(error_codes(&refused.json().await.unwrap()), ["FORBIDDEN"]);
    }
    app.query("{ viewer { role } }", json!({})).await;
    for token in [METRICS_TOKEN.to_owned(), admin_token()] {
        let resp = metrics_with(&app, Some(&token)).await;
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = resp.text().await.unwrap();
        assert!(text.contains("# TYPE mognad_graphql_requests_total counter"));
        assert!(!text.contains("statements"), "{text}");
    }
}

#[tokio::test]
async fn metrics_can_move_to_their_own_address() {
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".into())).await;
    assert_eq!(metrics_with(&app, Some(&admin_token())).await.status(), 404);
    app.query("{ viewer { role } }", json!({})).await;
    let internal = app.metrics_address.clone().expect("a metrics address");
    let resp = app
        .client
        .get(format!("{internal}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("mognad_graphql_requests_total")
    );
    let other = app
        .client
        .get(format!("{internal}/graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics address serves nothing else"
    );
}

/// Every count of the metrics text (counters and histogram counts, by
/// series): what could move with the content of a request. (Latencies move
/// with everything, and only an operator reads them.)
async fn samples(app: &TestApp) -> std::collections::BTreeMap<String, f64> {
    metrics_with(app, Some(&admin_token()))
        .await
        .text()
        .await
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            let metric = name.split('{').next()?;
            (metric.ends_with("_total") || metric.ends_with("_count"))
                .then(|| Some((name.to_owned(), value.parse().ok()?)))?
        })
        .collect()
}

#[tokio::test]
async fn no_metric_moves_with_the_number_of_answers_saved() {
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    let save = |code: &'static str, answers: Vec<Value>| {
        let app = &app;
        let round = round.clone();
        async move {
            app.ok(
                &kommun_token(code),
                "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }",
                json!({ "r": round, "a": answers }),
            )
            .await;
        }
    };
    let answer = |key: &str| json!({ "questionKey": key, "value": { "choice": "yes_fully" } });
    let maturity = app.maturity_keys().await;
    assert_eq!(maturity.len(), 9);
    let before = samples(&app).await;
    save("1280", vec![answer(&maturity[0])]).await;
    let after_one = samples(&app).await;
    save("0180", maturity.iter().map(|k| answer(k)).collect()).await;
    let after_nine = samples(&app).await;
    for name in after_nine.keys() {
        let at = |s: &std::collections::BTreeMap<String, f64>| s.get(name).copied().unwrap_or(0.0);
        let (a, b, c) = (at(&before), at(&after_one), at(&after_nine));
        assert_eq!(b - a, c - b, "{name} moved with the number of answers");
    }
    assert!(!before.is_empty());
}

#[tokio::test]
async fn get_runs_queries_but_refuses_mutations() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ surveyRound(year: 2023) { year } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["data"]["surveyRound"]["year"],
        2023
    );

    for (query, op) in [
        ("mutation { openSurveyRound(id: \"x\") { id } }", None),
        (
            "query A { viewer { role } } mutation B { openSurveyRound(id: \"x\") { id } }",
            Some("B"),
        ),
    ] {
        let mut params = vec![("query", query)];
        if let Some(op) = op {
            params.push(("operationName", op));
        }
        let resp = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{query}");
        assert_eq!(resp.headers()["allow"], "POST");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("POST")
        );
    }
}

#[tokio::test]
async fn a_browser_gets_graphiql_and_clients_get_the_sdl() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        resp.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );

    let sdl = app.get("/schema.graphql").await;
    assert_eq!(sdl.status(), 200);
    assert!(sdl.text().await.unwrap().contains("type SurveyRound"));
}

#[tokio::test]
async fn post_accepts_both_graphql_media_types() {
    let app = spawn_app().await;
    for accept in ["application/json", "application/graphql-response+json"] {
        let resp = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("accept", accept)
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(accept)
        );
        assert_eq!(
            resp.json::<Value>().await.unwrap()["data"]["viewer"]["role"],
            "ANONYMOUS"
        );
    }
    // Under the GraphQL-over-HTTP media type a document that cannot run is a 400,
    // while a field error (here: a role refusal) is a 200 with the error.
    let post = |query: &'static str| {
        app.client
            .post(format!("{}/graphql", app.address))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query }))
            .send()
    };
    assert_eq!(
        post("{ viewer { nosuchfield } }").await.unwrap().status(),
        400
    );
    let refused = post("{ myScores(roundId: \"x\") { level } }")
        .await
        .unwrap();
    assert_eq!(refused.status(), 200);
    assert_eq!(
        error_codes(&refused.json().await.unwrap()),
        ["UNAUTHENTICATED"]
    );

    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(error_codes(&resp.json().await.unwrap()), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn limits_refuse_oversized_requests_with_clear_errors() {
    let app = spawn_app_with(|c| c.max_body_bytes = 4096).await;

    let big = json!({ "query": format!("{{ viewer {{ role }} }} # {}", "x".repeat(5000)) });
    let (status, body) = app.post(&big, None).await;
    assert_eq!(status, 413);
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"]);

    let deep = format!(
        "{{ surveyRounds {{ {}year{} }} }}",
        "baseline { ".repeat(20),
        " }".repeat(20)
    );
    let body = app.query(&deep, json!({})).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deep")
    );

    let aliases: String = (0..31)
        .map(|i| format!("a{i}: viewer {{ role }} "))
        .collect();
    let body = app.query(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");

    let batch: Vec<Value> = (0..11)
        .map(|_| json!({ "query": "{ viewer { role } }" }))
        .collect();
    let (status, body) = app.post(&Value::Array(batch), None).await;
    assert_eq!(status, 400);
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"]);

    let batch: Vec<Value> = (0..2)
        .map(|_| json!({ "query": "{ viewer { role } }" }))
        .collect();
    let (status, body) = app.post(&Value::Array(batch), None).await;
    assert_eq!(status, 200);
    assert_eq!(body[1]["data"]["viewer"]["role"], "ANONYMOUS");
}

#[tokio::test]
async fn a_malformed_authorization_header_is_refused_with_401() {
    let app = spawn_app().await;
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "token abc"] {
        let resp = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("authorization", header)
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{header}");
        assert_eq!(
            resp.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
        assert!(body.get("data").is_none_or(Value::is_null));
    }
}

#[tokio::test]
async fn every_error_carries_a_code() {
    let app = spawn_app().await;
    for (query, code) in [
        ("{ viewer { role ", "GRAPHQL_PARSE_FAILED"),
        ("{ viewer { nosuchfield } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ surveyRound(year: \"twenty\") { id } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query($y: Int) { surveyRound(year: $y) { id } } ",
            "BAD_USER_INPUT",
        ),
    ] {
        let vars = if query.contains("$y") {
            json!({ "y": "x" })
        } else {
            json!({})
        };
        let body = app.query(query, vars).await;
        let codes = error_codes(&body);
        assert!(
            !codes.is_empty() && codes.iter().all(|c| !c.is_empty()),
            "{query}: {body}"
        );
        assert!(
            codes.contains(&code.to_owned()) || code == "BAD_USER_INPUT",
            "{query}: {body}"
        );
        assert!(!body.to_string().contains("SELECT"), "no SQL in errors");
    }
}

#[tokio::test]
async fn an_sqlite_url_may_name_a_file_in_a_missing_folder() {
    let dir = std::env::temp_dir().join(format!("mognad-url-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", dir.join("nested/db.sqlite").display());
    let app =
        crate::helpers::spawn_app_with(|c| c.database = mognad::config::Database::Url(url)).await;
    let data = app.data("{ municipalities { code } }", json!({})).await;
    assert_eq!(data["municipalities"].as_array().unwrap().len(), 290);
    assert!(dir.join("nested/db.sqlite").exists());
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn_app_with(|c| c.cors_origins = vec!["https://resultat.example.se".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://resultat.example.se").await.unwrap();
    assert!(allowed.status().is_success());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://resultat.example.se"
    );
    let refused = preflight("https://elsewhere.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let resp = app.get("/health/live").await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a new UUID: {id}");
    let resp = app
        .client
        .get(format!("{}/health/live", app.address))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["x-request-id"],
        "abc-123",
        "the client's id is kept"
    );
    let resp = app
        .client
        .get(format!("{}/health/live", app.address))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(
        resp.headers()["x-request-id"],
        "<script>",
        "odd ids are replaced"
    );
}

#[tokio::test]
async fn malformed_keys_and_years_are_refused_before_the_database() {
    let app = spawn_app().await;
    let body = app
        .gql(
            Some(&analyst_token()),
            "query($q: String!) { answerDistribution(roundId: \"00000000-0000-0000-0000-000000002023\", questionKey: $q, grouping: NATIONAL) { respondents } }",
            json!({ "q": "risk\u{0}managed" }),
        )
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("$q holds a control character"),
        "{body}"
    );
    let round = app.open_round(2027).await;
    let body = app
        .gql(
            Some(&kommun_token("1280")),
            "mutation($r: ID!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"Risk Managed\", value: { choice: \"no\" } }]) { version } }",
            json!({ "r": round }),
        )
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    let body = app
        .gql(
            Some(&admin_token()),
            "mutation { createSurveyRound(input: { year: 1999, title: \"t\", copyFrom: \"00000000-0000-0000-0000-000000002023\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
}

#[tokio::test]
async fn a_post_that_is_not_json_is_refused_unrun_with_415() {
    let app = spawn_app().await;
    let mutation = r#"{"query":"mutation { createSurveyRound(input: { year: 2031, title: \"csrf\", copyFrom: \"00000000-0000-0000-0000-000000002023\" }) { id } }"}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/graphql"),
        Some("application/json; charset=latin1"),
        None,
    ] {
        let mut req = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(admin_token())
            .body(mutation);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 415, "{content_type:?}");
        assert_eq!(error_codes(&resp.json().await.unwrap()), ["BAD_USER_INPUT"]);
    }
    let rounds = app
        .ok(&admin_token(), "{ surveyRounds { year } }", json!({}))
        .await;
    assert!(
        rounds["surveyRounds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["year"] != 2031),
        "no refused mutation ran"
    );
    // An empty batch is a bad request.
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(error_codes(&resp.json().await.unwrap()), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn the_response_type_follows_accept_with_q_values() {
    let app = spawn_app().await;
    let post = |accept: Option<&'static str>| {
        let mut req = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": "{ viewer { role } }" }));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        req.send()
    };
    for (accept, expected) in [
        (None, "application/json"),
        (Some("*/*"), "application/json"),
        (
            Some("application/graphql-response+json;q=0.4, application/json;q=0.8"),
            "application/json",
        ),
        (
            Some("application/json;q=0.5, application/graphql-response+json"),
            "application/graphql-response+json",
        ),
    ] {
        let resp = post(accept).await.unwrap();
        assert_eq!(resp.status(), 200, "{accept:?}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with(expected),
            "{accept:?}: {content_type}"
        );
    }
    for unacceptable in ["text/plain", "application/json;q=0"] {
        let resp = post(Some(unacceptable)).await.unwrap();
        assert_eq!(resp.status(), 406, "{unacceptable}");
    }
    // A request that cannot run has no `data` entry.
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
}

#[tokio::test]
async fn a_refused_nullable_field_is_null_in_data() {
    let app = spawn_app().await;
    let body = app
        .gql(
            Some(&analyst_token()),
            "{ participation(roundId: \"00000000-0000-0000-0000-000000002023\") { population byMunicipality { status } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    let participation = body["data"]["participation"].as_object().unwrap();
    assert!(
        participation.contains_key("byMunicipality") && participation["byMunicipality"].is_null(),
        "{body}"
    );
}

#[tokio::test]
async fn many_directives_or_errors_do_not_amplify() {
    let app = spawn_app_with(|c| c.max_body_bytes = 64 * 1024).await;
    let directives = "@nosuch ".repeat(5_000);
    let body = app
        .query(&format!("{{ viewer {directives} {{ role }} }}"), json!({}))
        .await;
    assert_eq!(
        error_codes(&body),
        ["QUERY_TOO_COMPLEX"],
        "one error, not 5,000"
    );
    let unknown: String = (0..25).map(|i| format!("nosuch{i} ")).collect();
    let body = app.query(&format!("{{ {unknown} }}"), json!({})).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 21, "20 errors and a count of the rest");
    assert_eq!(errors[20]["message"], "… and 5 more errors");
    assert_eq!(
        errors[20]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
}
