//! Bounded by construction: no request, token, key set, webhook or file
//! can take mognad down or inside. Each test is a row of the issue's table,
//! tried as the attacker tried it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

/// `{ ...F0 }` with F0..F(levels-1) each spreading the next `spreads`
/// times, and the last selecting `__typename`.
fn fragment_bomb(levels: usize, spreads: usize) -> String {
    let mut q = String::from("{ ...F0 }");
    for i in 0..levels {
        let next = vec![format!("...F{}", i + 1); spreads].join(" ");
        q.push_str(&format!(" fragment F{i} on Query {{ {next} }}"));
    }
    q.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    q
}

/// POSTs `body` to a binary's `/graphql` and times it.
async fn timed(base: &str, body: &Value) -> (u16, Value, Duration) {
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, started.elapsed())
}

/// The issue's 594-byte document (and its 648-byte sibling) would have
/// async-graphql's passes walk ten million selections: measured as
/// written, each fragment once, it is refused before any of them runs, in
/// well under a second, and the server's memory stays where it was.
#[tokio::test]
async fn a_fragment_bomb_is_refused_at_once_and_costs_no_memory() {
    let server = Binary::start(&[]).await;
    // Warm up: the paths a normal request takes, so their memory is counted before.
    for _ in 0..20 {
        let (status, body, _) =
            timed(&server.base, &json!({ "query": "{ viewer { role } }" })).await;
        assert_eq!(status, 200, "{body}");
    }
    let before = server.rss_kb();
    let cpu_before = server.cpu_ms();
    let six = fragment_bomb(9, 6);
    assert_eq!(six.len(), 594);
    let seven = fragment_bomb(9, 7);
    assert_eq!(seven.len(), 648);
    for bomb in [&six, &seven] {
        let (status, body, took) = timed(&server.base, &json!({ "query": bomb })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("once its fragments are spread"),
            "{body}"
        );
        assert!(took < Duration::from_secs(1), "refused in {took:?}");
    }
    // Ten of them in one batch, and over GET.
    let batch: Vec<Value> = (0..10).map(|_| json!({ "query": seven })).collect();
    let (status, body, took) = timed(&server.base, &json!(batch)).await;
    assert_eq!(status, 200, "{body}");
    for answer in body.as_array().unwrap() {
        assert_eq!(error_codes(answer), ["QUERY_TOO_COMPLEX"], "{answer}");
    }
    assert!(took < Duration::from_secs(1), "a batch refused in {took:?}");
    let started = Instant::now();
    let get = reqwest::Client::new()
        .get(format!("{}/graphql", server.base))
        .query(&[("query", six.as_str())])
        .send()
        .await
        .unwrap();
    let body: Value = get.json().await.unwrap();
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // A chain of fragments deeper than async-graphql's recursion limit.
    let mut chain = String::from("{ ...C0 }");
    for i in 0..200 {
        chain.push_str(&format!(" fragment C{i} on Query {{ ...C{} }}", i + 1));
    }
    chain.push_str(" fragment C200 on Query { __typename }");
    let (_, body, took) = timed(&server.base, &json!({ "query": chain })).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    assert!(took < Duration::from_secs(1));

    // Values nested thousands deep (2 KB that would overflow a thread's
    // stack in every pass that walks them), by POST and by GET.
    let deep = format!(
        "{{ surveyRound(id: {}1{}) {{ id }} }}",
        "[".repeat(3_000),
        "]".repeat(3_000)
    );
    let directive = format!(
        "{{ viewer @include(if: {}true{}) {{ role }} }}",
        "[".repeat(3_000),
        "]".repeat(3_000)
    );
    for query in [&deep, &directive] {
        let (_, body, took) = timed(&server.base, &json!({ "query": query })).await;
        assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
        assert!(took < Duration::from_secs(1));
    }
    let get = reqwest::Client::new()
        .get(format!("{}/graphql", server.base))
        .query(&[("query", deep.as_str())])
        .send()
        .await
        .unwrap();
    let body: Value = get.json().await.unwrap();
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");

    let grown = server.rss_kb().saturating_sub(before);
    assert!(grown < 50 * 1024, "RSS grew by {grown} kB");
    // Fourteen bombs and a chain cost the server a moment of CPU in all.
    let cpu = server.cpu_ms() - cpu_before;
    assert!(cpu < 1_000, "the refusals took {cpu} ms of CPU");
    // The next request is answered at once.
    let (status, body, took) =
        timed(&server.base, &json!({ "query": "{ viewer { role } }" })).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["viewer"]["role"], "ANONYMOUS", "{body}");
    assert!(
        took < Duration::from_secs(1),
        "the next request took {took:?}"
    );
    eprintln!(
        "fragment bombs refused with {cpu} ms of CPU; RSS {before} kB -> {} kB",
        server.rss_kb()
    );
}

/// `n` aliased panel trends of 2023 against 2019, as a fragment body.
fn panel_fields(n: usize) -> String {
    (0..n)
        .map(|i| format!("t{i}: maturityTrend(roundId: $r, baselineRoundId: $b, grouping: GROUP, panel: true) {{ meanLevel }}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `fields` selected nine named fragments down.
fn in_named_fragments(fields: &str) -> String {
    let mut q = String::from("query($r: ID!, $b: ID!) { ...N0 }");
    for i in 0..9 {
        q.push_str(&format!(" fragment N{i} on Query {{ ...N{} }}", i + 1));
    }
    q.push_str(&format!(" fragment N9 on Query {{ {fields} }}"));
    q
}

/// `fields` selected nine inline fragments down.
fn in_inline_fragments(fields: &str) -> String {
    let open = "... on Query { ".repeat(9);
    let close = " }".repeat(9);
    format!("query($r: ID!, $b: ID!) {{ {open}{fields}{close} }}")
}

/// Thirty panel trends cost what they cost wherever they stand: at the
/// root, nine named fragments down or nine inline fragments down — refused
/// before anything runs; a batch cannot multiply what one request may cost.
#[tokio::test]
async fn cost_hidden_in_fragments_is_counted_where_they_are_spread() {
    let app = spawn_app().await;
    let analyst = analyst_token();
    let pair = json!({ "r": ROUND_2023, "b": ROUND_2019 });
    let thirty = panel_fields(30);
    let before = app.statements();
    for query in [
        format!("query($r: ID!, $b: ID!) {{ {thirty} }}"),
        in_named_fragments(&thirty),
        in_inline_fragments(&thirty),
    ] {
        let body = app.gql(Some(&analyst), &query, pair.clone()).await;
        assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        // 30 × (200 + the field + meanLevel): the whole cost, not the root's.
        assert!(message.contains("too complex: 6060"), "{message}");
    }
    // Defaults are what the query runs with: six panel trends behind
    // `$p: Boolean = true` weigh what six literal ones do; an argument whose
    // variable is neither given nor defaulted weighs its worst.
    let six = (0..6)
        .map(|i| format!("t{i}: maturityTrend(roundId: $r, baselineRoundId: $b, grouping: GROUP, panel: $p) {{ meanLevel }}"))
        .collect::<Vec<_>>()
        .join(" ");
    for query in [
        format!("query($r: ID!, $b: ID!, $p: Boolean = true) {{ {six} }}"),
        format!("query($r: ID!, $b: ID!, $p: Boolean) {{ {six} }}"),
        "query($ids: [ID!]! = [\"a\", \"b\"]) { a: maturitySeries(grouping: GROUP, roundIds: $ids) { meanLevel } \
         b: maturitySeries(grouping: GROUP, roundIds: $missing) { meanLevel } c: maturitySeries(grouping: GROUP, roundIds: $missing) { meanLevel } }"
            .to_owned(),
    ] {
        let body = app.gql(Some(&analyst), &query, pair.clone()).await;
        assert!(
            error_codes(&body).contains(&"QUERY_TOO_COMPLEX".to_owned()),
            "{query}: {body}"
        );
    }
    assert_eq!(app.statements(), before, "a refused query runs nothing");
    // Four fit; hidden in fragments they still fit, and cost the same.
    let four = in_named_fragments(&panel_fields(4));
    app.ok(&analyst, &four, pair.clone()).await;
    // A batch of ten of them shares one budget: the first runs, the rest not.
    let one = json!({ "query": four, "variables": pair });
    let batch: Vec<Value> = (0..10).map(|_| one.clone()).collect();
    let (status, body) = app.post(&json!(batch), Some(&analyst)).await;
    assert_eq!(status, 200, "{body}");
    let answers = body.as_array().unwrap();
    assert!(answers[0].get("errors").is_none(), "{body}");
    for later in &answers[1..] {
        assert_eq!(error_codes(later), ["QUERY_TOO_COMPLEX"], "{later}");
    }
}

/// The issue's starvation, under production's rate limit (20 a second) and cost
/// budget (2,000 units a second): a client
/// sends the heaviest requests it can — thirty panel trends hidden nine
/// fragments down (refused now) and four panel trends (the most the limits
/// accept), over the demo data, each a new document so nothing is answered
/// from memory — as fast as it may, beside a kommun that saves a whole
/// questionnaire as fast as it may. The heavy client's cost budget, and the
/// pool that reads go through, leave the kommun at least 90 % of the saves
/// it makes alone, and never a 503. Phases alternate (alone, beside the
/// heavy client, …) so that the machine's other work weighs on both alike.
#[tokio::test]
async fn a_heavy_client_leaves_another_kommun_its_saves() {
    let app = Arc::new(
        spawn_app_with(|c| {
            c.rate_limit = Some(20);
            c.cost_budget = Some(2_000);
        })
        .await,
    );
    mognad::demo::load(&app.db, 5).await.unwrap();
    let round = app.open_round(2027).await;
    let kommun = kommun_token("1280");

    let heavy = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // Served, refused with 429, refused as too complex, anything else.
    let outcomes: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
    let mut tasks = Vec::new();
    for connection in 0..8 {
        let (app, heavy, stop, outcomes) =
            (app.clone(), heavy.clone(), stop.clone(), outcomes.clone());
        tasks.push(tokio::spawn(async move {
            let token = analyst_token();
            let (hidden, four) = (in_named_fragments(&panel_fields(30)), panel_fields(4));
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if !heavy.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                n += 1;
                let query = if n.is_multiple_of(2) {
                    format!("{hidden} # {connection}-{n}")
                } else {
                    format!("query($r: ID!, $b: ID!) {{ {four} }} # {connection}-{n}")
                };
                let body =
                    json!({ "query": query, "variables": { "r": ROUND_2023, "b": ROUND_2019 } });
                let (status, reply) = app.post(&body, Some(&token)).await;
                let outcome = match status {
                    200 if reply.get("errors").is_none() => 0,
                    429 => 1,
                    200 if error_codes(&reply) == ["QUERY_TOO_COMPLEX"] => 2,
                    _ => 3,
                };
                outcomes[outcome].fetch_add(1, Ordering::Relaxed);
                if outcome == 1 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    let (saves, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    for worker in 0..2 {
        let (app, stop, saves, refused) =
            (app.clone(), stop.clone(), saves.clone(), refused.clone());
        let (round, token) = (round.clone(), kommun.clone());
        tasks.push(tokio::spawn(async move {
            let mut answers = crate::isolation::full_answers();
            let mut i = worker;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                answers[13]["value"]["choice"] = json!(if i % 2 == 0 { "yes_fully" } else { "no" });
                let body = json!({
                    "query": "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }",
                    "variables": { "r": round, "a": answers }
                });
                let (status, reply) = app.post(&body, Some(&token)).await;
                match status {
                    200 if reply.get("errors").is_none() => {
                        saves.fetch_add(1, Ordering::Relaxed);
                    }
                    // Its own rate: it waits a moment, as a client does.
                    429 => tokio::time::sleep(Duration::from_millis(10)).await,
                    _ => {
                        eprintln!("a save was refused: {status} {reply}");
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }

    // Alternate: alone, beside the heavy client, … after a second to warm up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut alone, mut beside) = (0u64, 0u64);
    for phase in 0..8 {
        let with = phase % 2 == 1;
        heavy.store(with, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let start = saves.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let made = saves.load(Ordering::Relaxed) - start;
        if with {
            beside += made;
        } else {
            alone += made;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let ratio = beside as f64 / alone.max(1) as f64;
    let [served, limited, too_complex, other] =
        [0, 1, 2, 3].map(|i| outcomes[i].load(Ordering::Relaxed));
    eprintln!(
        "the kommun's saves of 21 answers: alone {:.1}/s, beside the heavy client {:.1}/s ({:.0} %); \
         the heavy client: {served} served, {limited} refused with 429, {too_complex} too complex, {other} other",
        alone as f64 / 8.0,
        beside as f64 / 8.0,
        ratio * 100.0,
    );
    assert_eq!(refused.load(Ordering::Relaxed), 0, "a save was refused");
    assert_eq!(other, 0, "the heavy client got other errors");
    assert!(served > 0, "nothing heavy was served");
    assert!(limited > 0, "the heavy client was never limited");
    assert!(
        ratio >= 0.9,
        "the kommun kept {:.0} % of its saves",
        ratio * 100.0
    );
}

/// Claims are what their names say: times are numbers, a subject is a
/// name without control characters, at most 256 characters.
#[tokio::test]
async fn claims_of_the_wrong_shape_are_refused() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let mut cases = Vec::new();
    for (claim, value) in [
        ("iat", json!(now.to_string())),
        ("nbf", json!(now.to_string())),
        ("exp", json!((now + 3600).to_string())),
        ("iat", json!(null)),
        ("sub", json!("user\u{1b}[31m-red")),
        ("sub", json!("user\nforged: line")),
        ("sub", json!("u".repeat(257))),
    ] {
        let mut c = claims("skr_analyst", None);
        c[claim] = value.clone();
        cases.push((format!("{claim} = {value}"), c));
    }
    for (what, c) in cases {
        let (status, body) = app
            .post(&json!({ "query": "{ viewer { role } }" }), Some(&sign(&c)))
            .await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{what}");
    }
    // Numbers, and a long but plain subject, are fine.
    let mut c = claims("skr_analyst", None);
    c["sub"] = json!(format!("{}@kommun.se", "u".repeat(240)));
    c["iat"] = json!(now as f64 + 0.5);
    let (status, body) = app
        .post(&json!({ "query": "{ viewer { role } }" }), Some(&sign(&c)))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A refused token writes a bounded line to the log however long its parts
/// are, and nothing a request sends reaches the log as a control character
/// (a forged line, a terminal escape).
#[tokio::test]
async fn what_a_request_writes_to_the_log_is_bounded_and_clean() {
    let server = Binary::start(&[("MOGNAD_LOG_FORMAT", "text")]).await;
    let client = reqwest::Client::new();
    // A header naming a 30 KB kid (the signature does not matter: the kid is unknown).
    let header = |kid: &str| {
        let h = json!({ "alg": "RS256", "typ": "JWT", "kid": kid }).to_string();
        let b64 = crate::auth::b64;
        format!("{}.{}.c2ln", b64(h.as_bytes()), b64(b"{}"))
    };
    let long_kid = header(&"k".repeat(30_000));
    let escaped_kid = header("evil\u{1b}[2J\nforged log line");
    let mut bad_role = claims("skr_analyst", None);
    bad_role["role"] = json!(format!("{}\u{1b}[31m", "r".repeat(20_000)));
    let bad_role = sign(&bad_role);
    let requests = 30;
    for i in 0..requests {
        let token = [&long_kid, &escaped_kid, &bad_role][i % 3];
        assert_eq!(server.viewer_status(token).await, 401);
    }
    // A long path is logged cut too.
    let path = format!("{}/{}", server.base, "p".repeat(6_000));
    client.get(path).send().await.unwrap();
    let logs = server.stop();
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1_000, "a log line of {longest} bytes");
    assert!(
        logs.len() < (requests + 40) * 1_000,
        "{} bytes of log for {requests} refusals",
        logs.len()
    );
    // Not one escape: a log read through a pipe has no colours either.
    assert!(
        !logs.contains('\u{1b}'),
        "a terminal escape reached the log"
    );
    assert!(
        !logs.contains("\nforged log line"),
        "a forged line reached the log"
    );
    assert!(logs.contains("token refused"), "{logs}");
}

/// The API's text rule holds wherever a document writes a string: a
/// variable's default is checked as a value the client sends.
#[tokio::test]
async fn a_variables_default_obeys_the_text_rule() {
    let app = spawn_app().await;
    let admin = admin_token();
    for default in ["evil\u{1b}[31mRED", "nul\u{0}byte", &"x".repeat(10_001)] {
        let query = format!(
            "mutation($t: String! = {}) {{ createSurveyRound(input: {{ year: 2031, title: $t, copyFrom: \"{ROUND_2023}\" }}) {{ id }} }}",
            serde_json::to_string(default).unwrap()
        );
        let body = app.gql(Some(&admin), &query, json!({})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("the default of $t"),
            "{body}"
        );
    }
    let rounds = app.ok(&admin, "{ surveyRounds { year } }", json!({})).await;
    assert!(!rounds.to_string().contains("2031"), "nothing was created");
}

/// Fields of a round that every row of a list repeats — its guidance, its
/// questionnaire's problems, its mapping — are computed once per round in
/// a request: thirty aliases of a two-round series (about 160 rows each)
/// asking each row's round for them cost a handful of statements, not one
/// per row (some 50,000 before).
#[tokio::test]
async fn what_the_rows_of_a_list_repeat_is_computed_once_a_request() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let series = "maturitySeries(grouping: SUBGROUP, roundIds: [$a, $b]) { round { year guidance { areaKey } } }";
    let ids = json!({ "a": ROUND_2019, "b": ROUND_2023 });
    // The figures in memory first (as any reader leaves them).
    app.data(
        "query($a: ID!, $b: ID!) { a: maturityAggregates(roundId: $a, grouping: SUBGROUP) { meanLevel } \
         b: maturityAggregates(roundId: $b, grouping: SUBGROUP) { meanLevel } \
         c: maturityAggregates(roundId: $a, grouping: NATIONAL) { meanLevel } \
         d: maturityAggregates(roundId: $b, grouping: NATIONAL) { meanLevel } }",
        ids.clone(),
    )
    .await;
    let warm = format!("query($a: ID!, $b: ID!) {{ {series} }}");
    let first = app.data(&warm, ids.clone()).await;
    let rows = first["maturitySeries"].as_array().unwrap().len();
    assert!(rows > 100, "{rows} rows");
    let aliases: Vec<String> = (0..30).map(|i| format!("s{i}: {series}")).collect();
    let query = format!("query($a: ID!, $b: ID!) {{ {} }}", aliases.join(" "));
    let before = app.statements();
    let data = app.data(&query, ids.clone()).await;
    let statements = app.statements() - before;
    assert_eq!(data["s29"].as_array().unwrap().len(), rows);
    assert_eq!(
        data["s0"][0]["round"]["guidance"].as_array().unwrap().len(),
        9
    );
    assert!(
        statements < 50,
        "{statements} statements for {} rows",
        30 * rows
    );
    // The same for an analyst's questionnaire problems and mappings.
    let analyst = analyst_token();
    let per_round = "maturitySeries(grouping: NATIONAL, roundIds: [$a, $b]) { round { questionnaireProblems mapping { newQuestionKeys } } }";
    let aliases: Vec<String> = (0..30).map(|i| format!("s{i}: {per_round}")).collect();
    let query = format!("query($a: ID!, $b: ID!) {{ {} }}", aliases.join(" "));
    let before = app.statements();
    app.ok(&analyst, &query, ids).await;
    let statements = app.statements() - before;
    assert!(statements < 50, "{statements} statements");
}
