//! The README's "Try it" examples return exactly what the README shows, on the demo data.

use serde_json::{Value, json};

use crate::helpers::{analyst_token, kommun_token, spawn_app};

/// `(who, query, expected output)` for every `<!-- example: who -->` in the README.
fn examples() -> Vec<(String, String, Value)> {
    let readme = include_str!("../../README.md");
    let block = |from: &str, lang: &str| -> Option<(String, usize)> {
        let start = from.find(&format!("```{lang}\n"))? + lang.len() + 4;
        let end = start + from[start..].find("\n```")?;
        Some((from[start..end].to_owned(), end))
    };
    let mut out = Vec::new();
    let mut rest = readme;
    while let Some(at) = rest.find("<!-- example: ") {
        rest = &rest[at + 14..];
        let who = rest[..rest.find(" -->").unwrap()].to_owned();
        let (query, end) = block(rest, "graphql").expect("a graphql block after the marker");
        rest = &rest[end..];
        let (output, end) = block(rest, "json").expect("a json block after the query");
        rest = &rest[end..];
        out.push((
            who,
            query,
            serde_json::from_str(&output).expect("the README's output is JSON"),
        ));
    }
    out
}

#[tokio::test]
async fn the_readme_examples_return_what_the_readme_shows() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let examples = examples();
    assert_eq!(examples.len(), 3);
    for (who, query, expected) in examples {
        let token = match who.as_str() {
            "anonymous" => None,
            "skr_analyst" => Some(analyst_token()),
            other => Some(kommun_token(
                other.strip_prefix("kommun ").expect("kommun CODE"),
            )),
        };
        let body = app.gql(token.as_deref(), &query, json!({})).await;
        assert_eq!(body, expected, "README example for {who}:\n{query}");
    }
}
