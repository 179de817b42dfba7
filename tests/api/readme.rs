//! The documentation's examples do what it says, on the demo data: the
//! README's "Try it" answers exactly what the README shows, and the
//! walkthrough of `docs/using.md` runs top to bottom, as a newcomer would
//! paste it, without an error.

use serde_json::{Value, json};

use crate::helpers::{admin_token, analyst_token, kommun_token, spawn_app};

/// The fenced `lang` block after `from`, and where it ends.
fn block(from: &str, lang: &str) -> Option<(String, usize)> {
    let start = from.find(&format!("```{lang}\n"))? + lang.len() + 4;
    let end = start + from[start..].find("\n```")?;
    Some((from[start..end].to_owned(), end))
}

/// `(who, query)` for every `<!-- {marker}: who -->` of `text`, with the
/// expected output where `with_output` (the JSON block after the query).
fn marked(text: &str, marker: &str, with_output: bool) -> Vec<(String, String, Option<Value>)> {
    let tag = format!("<!-- {marker}: ");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&tag) {
        rest = &rest[at + tag.len()..];
        let who = rest[..rest.find(" -->").unwrap()].to_owned();
        let (query, end) = block(rest, "graphql").expect("a graphql block after the marker");
        rest = &rest[end..];
        let output = if with_output {
            let (output, end) = block(rest, "json").expect("a json block after the query");
            rest = &rest[end..];
            Some(serde_json::from_str(&output).expect("the shown output is JSON"))
        } else {
            None
        };
        out.push((who, query, output));
    }
    out
}

/// The token of a marker's `who`.
fn token_of(who: &str) -> Option<String> {
    match who {
        "anonymous" => None,
        "skr_analyst" => Some(analyst_token()),
        "skr_admin" => Some(admin_token()),
        other => Some(kommun_token(
            other.strip_prefix("kommun ").expect("kommun CODE"),
        )),
    }
}

#[tokio::test]
async fn the_readme_examples_return_what_the_readme_shows() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let examples = marked(include_str!("../../README.md"), "example", true);
    assert_eq!(examples.len(), 3);
    for (who, query, expected) in examples {
        let body = app.gql(token_of(&who).as_deref(), &query, json!({})).await;
        assert_eq!(
            body,
            expected.unwrap(),
            "README example for {who}:\n{query}"
        );
    }
}

#[tokio::test]
async fn the_walkthrough_runs_top_to_bottom_without_an_error() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let steps = marked(include_str!("../../docs/using.md"), "walkthrough", false);
    assert_eq!(
        steps.len(),
        8,
        "create, author twice, open, answer, close, publish, read"
    );
    let mut round: Option<String> = None;
    let mut answers = Vec::new();
    for (n, (who, query, _)) in steps.iter().enumerate() {
        let variables = round.as_ref().map_or(json!({}), |r| json!({ "r": r }));
        let body = app.gql(token_of(who).as_deref(), query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "step {}: {body}\n{query}",
            n + 1
        );
        if round.is_none() {
            round = body["data"]["createSurveyRound"]["id"]
                .as_str()
                .map(str::to_owned);
        }
        answers.push(body["data"].clone());
    }
    // What the text says each step gives.
    assert_eq!(answers[0]["createSurveyRound"]["status"], "DRAFT");
    assert_eq!(answers[2]["removed"]["questionnaireProblems"], json!([]));
    assert_eq!(answers[3]["openSurveyRound"]["status"], "OPEN");
    assert_eq!(
        answers[4],
        json!({ "saveAnswers": { "status": "IN_PROGRESS", "version": 1, "answers": [
            { "questionKey": "coordination_function", "choices": ["ja"] },
            { "questionKey": "function_hours", "choices": ["h_11_20"] },
            { "questionKey": "risk_managed", "choices": ["yes_partially"] }] } })
    );
    let closed = &answers[5]["closeSurveyRound"];
    assert_eq!(closed["status"], "CLOSED");
    assert!(
        closed["releaseSummary"]["hidden"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["segment"]["code"] == "SE" && h["reason"] == "SMALL_CELL")
    );
    assert_eq!(answers[6]["publishSurveyRound"]["status"], "PUBLISHED");
    assert!(answers[6]["publishSurveyRound"]["publishedAt"].is_string());
    for row in answers[7]["maturityAggregates"].as_array().unwrap() {
        assert_eq!(
            (&row["suppressed"], &row["reason"]),
            (&json!(true), &json!("SMALL_CELL"))
        );
    }
}
