//! Persisted queries: Apollo's automatic persisted queries, and the
//! allow-list mode in which only registered documents run.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

fn hash(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(h: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": h } })
}

const MUNICIPALITIES: &str = "{ municipalities { code } }";

#[tokio::test]
async fn a_document_is_learnt_once_and_then_sent_by_its_hash() {
    let app = spawn_app().await;
    let h = hash(MUNICIPALITIES);
    // Unknown: the client is told to send the document.
    let (status, body) = app
        .post(&json!({ "extensions": persisted(&h) }), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(error_codes(&body), ["PERSISTED_QUERY_NOT_FOUND"]);
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    // The document with its hash runs and is learnt.
    let (status, whole) = app
        .post(
            &json!({ "query": MUNICIPALITIES, "extensions": persisted(&h) }),
            None,
        )
        .await;
    assert_eq!(status, 200, "{whole}");
    assert_eq!(
        whole["data"]["municipalities"].as_array().map(Vec::len),
        Some(290)
    );
    // The hash alone now gives the same answer, over POST and GET.
    let (status, by_hash) = app
        .post(&json!({ "extensions": persisted(&h) }), None)
        .await;
    assert_eq!(status, 200, "{by_hash}");
    assert_eq!(by_hash, whole);
    let got: Value = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("extensions", persisted(&h).to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, whole);
    // A document that is not what its hash says is refused.
    let (status, body) = app
        .post(
            &json!({ "query": "{ viewer { role } }", "extensions": persisted(&h) }),
            None,
        )
        .await;
    assert_eq!(
        (status, error_codes(&body)),
        (400, vec!["BAD_USER_INPUT".to_owned()])
    );
    let (status, body) = app
        .post(
            &json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": h } } }),
            None,
        )
        .await;
    assert_eq!(
        (status, error_codes(&body)),
        (400, vec!["BAD_USER_INPUT".to_owned()])
    );
    // A learnt mutation is still POST only.
    let mutation = "mutation($id: ID!) { openSurveyRound(id: $id) { id } }";
    let m = hash(mutation);
    app.post(
        &json!({ "query": mutation, "variables": { "id": "x" }, "extensions": persisted(&m) }),
        Some(&admin_token()),
    )
    .await;
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .bearer_auth(admin_token())
        .query(&[
            ("extensions", persisted(&m).to_string()),
            ("variables", json!({ "id": "x" }).to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
}

#[tokio::test]
async fn only_registered_documents_run_in_allow_list_mode() {
    let dir = std::env::temp_dir().join(format!("mognad-persisted-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("manifest.json");
    std::fs::write(
        &manifest,
        json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hash(MUNICIPALITIES), "name": "Municipalities", "type": "query", "body": MUNICIPALITIES }]
        })
        .to_string(),
    )
    .unwrap();
    let path = manifest.clone();
    let app = spawn_app_with(move |c| {
        c.persisted_only = true;
        c.persisted_queries = Some(path);
    })
    .await;
    // The registered document runs, whole or by its hash.
    let (status, whole) = app.post(&json!({ "query": MUNICIPALITIES }), None).await;
    assert_eq!(status, 200, "{whole}");
    assert_eq!(
        whole["data"]["municipalities"].as_array().map(Vec::len),
        Some(290)
    );
    let (status, by_hash) = app
        .post(
            &json!({ "extensions": persisted(&hash(MUNICIPALITIES)) }),
            None,
        )
        .await;
    assert_eq!((status, &by_hash), (200, &whole));
    // Anything else is refused before it runs, and is not learnt.
    let other = "{ municipalities { code name } }";
    let before = app.statements();
    for request in [
        json!({ "query": other }),
        json!({ "query": other, "extensions": persisted(&hash(other)) }),
        json!({ "extensions": persisted(&hash(other)) }),
    ] {
        let (status, body) = app.post(&request, None).await;
        assert_eq!(
            (status, error_codes(&body)),
            (403, vec!["FORBIDDEN".to_owned()]),
            "{request}"
        );
    }
    assert_eq!(app.statements(), before, "a refused document runs nothing");
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", other)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An automatic persisted query over GET of a published round's figures,
/// without a token, is what shared caches keep: `public, max-age=3600`, an
/// ETag, 304 when the client has it. With a token it is private; a GET of
/// something that can change is checked again every time.
#[tokio::test]
async fn an_apq_get_of_public_figures_is_cacheable_with_an_etag() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let figures = "{ maturityAggregates(roundId: \"00000000-0000-0000-0000-000000002023\", grouping: NATIONAL) { area { number } meanLevel } }";
    let h = hash(figures);
    let (status, _) = app
        .post(
            &json!({ "query": figures, "extensions": persisted(&h) }),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let get = |token: Option<String>, tag: Option<String>| {
        let mut request = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&[("extensions", persisted(&h).to_string())]);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(tag) = tag {
            request = request.header("if-none-match", tag);
        }
        request.send()
    };
    // Twice: once computed, once kept; the same headers both times.
    let mut tags = Vec::new();
    for _ in 0..2 {
        let response = get(None, None).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
        let vary = response.headers()["vary"].to_str().unwrap();
        assert!(vary.starts_with("Authorization"), "{vary}");
        let tag = response.headers()["etag"].to_str().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["data"]["maturityAggregates"].as_array().unwrap().len(),
            9
        );
        tags.push(tag);
    }
    assert_eq!(tags[0], tags[1]);
    let again = get(None, Some(tags[0].clone())).await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], tags[0].as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    // With a token: the caller's own, never stored, no tag.
    let mine = get(Some(kommun_token("1280")), Some(tags[0].clone()))
        .await
        .unwrap();
    assert_eq!(mine.status(), 200);
    assert_eq!(mine.headers()["cache-control"], "private, no-store");
    assert!(mine.headers().get("etag").is_none());
    // What can change (a round's status) is kept but checked again.
    let live = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ surveyRounds { year status } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(live.headers()["cache-control"], "public, no-cache");
    assert!(live.headers().get("etag").is_none());
}
