//! What a process keeps in memory (rounds, questionnaires, frozen scores,
//! figures, and whole responses answered from frozen rounds) stays each
//! kommun's own, does no database work once filled, and is forgotten when a
//! round changes — in this process at once, in another process on the same
//! PostgreSQL database within a second.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

const COMPARISON: &str = "query($r: ID!) { myComparison(roundId: $r) { area { number } level groupMean nationalMean baselineLevel baselineGroupMean baselineNationalMean } }";
const SCORES: &str = "query($r: ID!) { myScores(roundId: $r) { area { number } level } }";

/// The `level`s of a list of rows, in order.
fn levels(rows: &Value) -> Vec<Value> {
    rows.as_array()
        .expect("a list")
        .iter()
        .map(|r| r["level"].clone())
        .collect()
}

/// The value of a counter without labels in the Prometheus text (0 when absent).
fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Two kommuner of the demo data whose 2023 levels differ, with those levels.
async fn two_different_kommuner(app: &TestApp) -> [(String, Vec<Value>); 2] {
    let mut seen: Vec<(String, Vec<Value>)> = Vec::new();
    for code in [
        "0114", "0180", "1280", "1480", "0380", "2480", "0580", "1880",
    ] {
        let data = app
            .ok(&kommun_token(code), SCORES, json!({ "r": ROUND_2023 }))
            .await;
        let own = levels(&data["myScores"]);
        if let Some(other) = seen.iter().find(|(_, l)| *l != own) {
            return [other.clone(), (code.to_owned(), own)];
        }
        seen.push((code.to_owned(), own));
    }
    panic!("the demo data gave these kommuner the same levels: {seen:?}");
}

/// A kommun's comparison in a frozen round (the demo's published 2023,
/// beside 2019) is read from memory once it was read, and a response kept for one kommun is never sent to another.
#[tokio::test]
async fn a_closed_rounds_comparison_comes_from_memory_and_stays_each_kommuns_own() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5)
        .await
        .expect("demo data loads");
    let [(a, a_levels), (b, b_levels)] = two_different_kommuner(&app).await;
    let vars = json!({ "r": ROUND_2023 });

    let first = app.ok(&kommun_token(&a), COMPARISON, vars.clone()).await;
    assert_eq!(levels(&first["myComparison"]), a_levels);
    let replayed_before = counter(&app.metrics_text().await, "mognad_graphql_replayed_total");
    let statements = app.statements();
    let again = app.ok(&kommun_token(&a), COMPARISON, vars.clone()).await;
    assert_eq!(again, first);
    assert_eq!(
        app.statements(),
        statements,
        "the same read went to the database"
    );
    let replayed = counter(&app.metrics_text().await, "mognad_graphql_replayed_total");
    assert!(
        replayed > replayed_before,
        "the kept response was not sent again"
    );

    // Another shape of the same figures is computed, from memory only.
    let other_shape = "query($r: ID!) { myComparison(roundId: $r) { level area { key number title } groupMean } }";
    let statements = app.statements();
    let shaped = app.ok(&kommun_token(&a), other_shape, vars.clone()).await;
    assert_eq!(
        app.statements(),
        statements,
        "a frozen round's data was read again"
    );
    assert_eq!(levels(&shaped["myComparison"]), a_levels);

    // The same request with another kommun's token: that kommun's own levels.
    let theirs = app.ok(&kommun_token(&b), COMPARISON, vars.clone()).await;
    assert_eq!(levels(&theirs["myComparison"]), b_levels);
    assert_ne!(theirs, first);
    let again = app.ok(&kommun_token(&b), COMPARISON, vars.clone()).await;
    assert_eq!(again, theirs);
    let mine = app.ok(&kommun_token(&a), COMPARISON, vars).await;
    assert_eq!(mine, first);

    // A response with an error is never kept: asking again asks again.
    let forbidden = app.gql(None, COMPARISON, json!({ "r": ROUND_2023 })).await;
    assert_eq!(error_codes(&forbidden), ["UNAUTHENTICATED"], "{forbidden}");
}

/// Figures an anonymous caller may not read while the round is CLOSED
/// (FAILED_PRECONDITION: not yet published) become readable at once when it
/// is published on the same server, and what SKR read before (kept) stays equal.
#[tokio::test]
async fn a_transition_makes_the_server_forget_at_once() {
    let app = spawn_app().await;
    let query = "query($r: ID!) { maturityAggregates(roundId: $r, grouping: GROUP) { segment { code } area { number } meanLevel suppressed } }";
    let vars = json!({ "r": ROUND_2023 });
    let skr = app.ok(&analyst_token(), query, vars.clone()).await;
    let refused = app.gql(None, query, vars.clone()).await;
    assert_eq!(error_codes(&refused), ["FAILED_PRECONDITION"], "{refused}");
    let published = app.transition("publishSurveyRound", ROUND_2023).await;
    assert_eq!(
        published["data"]["publishSurveyRound"]["status"],
        "PUBLISHED"
    );
    let open = app.gql(None, query, vars.clone()).await;
    assert!(open.get("errors").is_none(), "{open}");
    assert_eq!(open["data"], skr);
    assert_eq!(app.ok(&analyst_token(), query, vars).await, skr);
}

/// Polls `check` every 25 ms until it returns true, for at most `limit`;
/// returns how long it took.
async fn within<F: std::future::Future<Output = bool>>(
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

/// Two servers on one PostgreSQL database: a round published, opened or
/// closed on one is seen so on the other within a second, although the
/// other kept the round (and its figures) in memory.
#[tokio::test]
async fn two_instances_on_one_database_forget_within_a_second() {
    if postgres_url().is_none() {
        eprintln!(
            "skipped: two instances share a database only on PostgreSQL (set MOGNAD_TEST_DATABASE_URL)"
        );
        return;
    }
    let one = spawn_app().await;
    let two = spawn_app_on(&one.database_url).await;
    let figures = "query($r: ID!) { maturityAggregates(roundId: $r, grouping: NATIONAL) { area { number } meanLevel respondents } }";
    let vars = json!({ "r": ROUND_2023 });

    // Published on one, readable by anyone on two.
    let skr = two.ok(&analyst_token(), figures, vars.clone()).await;
    let refused = two.gql(None, figures, vars.clone()).await;
    assert_eq!(error_codes(&refused), ["FAILED_PRECONDITION"], "{refused}");
    let published = one.transition("publishSurveyRound", ROUND_2023).await;
    assert_eq!(
        published["data"]["publishSurveyRound"]["status"], "PUBLISHED",
        "{published}"
    );
    let took = within(Duration::from_secs(1), || async {
        two.gql(None, figures, vars.clone())
            .await
            .get("errors")
            .is_none()
    })
    .await
    .expect("the other instance still refused the published figures after a second");
    eprintln!("published on one, public on two after {took:?}");
    assert_eq!(two.gql(None, figures, vars.clone()).await["data"], skr);

    // A round opened on one takes answers on two; closed on one, two
    // refuses the next save at once and shows the round's figures within a second.
    let round = one.open_round(2031).await;
    let keys = one.maturity_keys().await;
    let save = "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }";
    let answers: Vec<Value> = keys
        .iter()
        .map(|k| json!({ "questionKey": k, "value": { "choice": "yes_fully" } }))
        .collect();
    for code in ["0114", "0115", "0117", "0120", "0123", "0125"] {
        two.ok(
            &kommun_token(code),
            save,
            json!({ "r": round, "a": answers }),
        )
        .await;
    }
    let round_figures = json!({ "r": round });
    let early = two
        .gql(Some(&analyst_token()), figures, round_figures.clone())
        .await;
    assert!(
        early.get("errors").is_some(),
        "figures of an OPEN round: {early}"
    );
    let closed = one.transition("closeSurveyRound", &round).await;
    assert_eq!(
        closed["data"]["closeSurveyRound"]["status"], "CLOSED",
        "{closed}"
    );
    let late = two
        .gql(
            Some(&kommun_token("0114")),
            save,
            json!({ "r": round, "a": answers }),
        )
        .await;
    assert_eq!(error_codes(&late), ["FAILED_PRECONDITION"], "{late}");
    let took = within(Duration::from_secs(1), || async {
        two.gql(Some(&analyst_token()), figures, round_figures.clone())
            .await
            .get("errors")
            .is_none()
    })
    .await
    .expect("the other instance still refused a closed round's figures after a second");
    eprintln!("closed on one, figures on two after {took:?}");
}
