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
