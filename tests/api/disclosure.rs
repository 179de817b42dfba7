//! Disclosure control over HTTP: the three attacks that once worked, scripted
//! as an attacker would run them, and the auditor on random rounds. Every
//! figure a client is shown goes through [`crate::auditor`], which knows who
//! responded and every municipality's groups and must not recover any set of
//! fewer than MOGNAD_MIN_CELL municipalities.

use std::cell::RefCell;
use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::auditor::{Knowledge, Shown, recover};
use crate::helpers::{
    ROUND_2019, ROUND_2023, TestApp, admin_token, analyst_token, kommun_token, spawn_app,
    spawn_app_with,
};

const ROWS: &str = "segment { code } respondents suppressed reason";
const TREND_ROWS: &str = "segment { code } panelSize respondents suppressed reason";

/// Every base figure of a round: aggregates in four groupings (län too), a
/// distribution, the process share and the weekly hours.
async fn base_figures(
    app: &TestApp,
    token: Option<&str>,
    known: &Knowledge,
    round: &str,
) -> Vec<Shown> {
    let query = format!(
        "query($r: ID!) {{ \
         n: maturityAggregates(roundId: $r, grouping: NATIONAL) {{ {ROWS} }} \
         g: maturityAggregates(roundId: $r, grouping: GROUP) {{ {ROWS} }} \
         s: maturityAggregates(roundId: $r, grouping: SUBGROUP) {{ {ROWS} }} \
         c: maturityAggregates(roundId: $r, grouping: COUNTY) {{ {ROWS} }} \
         dc: answerDistribution(roundId: $r, questionKey: \"risk_managed\", grouping: COUNTY) {{ {ROWS} }} \
         hc: estimatedWeeklyHours(roundId: $r, grouping: COUNTY) {{ {ROWS} }} \
         d: answerDistribution(roundId: $r, questionKey: \"risk_managed\", grouping: SUBGROUP) {{ {ROWS} }} \
         p: processShare(roundId: $r, grouping: GROUP) {{ {ROWS} }} \
         h: estimatedWeeklyHours(roundId: $r, grouping: SUBGROUP) {{ {ROWS} }} }}"
    );
    let body = app.gql(token, &query, json!({ "r": round })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let mut shown = Vec::new();
    for rows in body["data"].as_object().unwrap().values() {
        for row in rows.as_array().unwrap() {
            shown.extend(known.base_row(round, row));
        }
    }
    shown
}

/// A round's trend against a baseline, with and without a panel, in every grouping.
async fn trend_figures(
    app: &TestApp,
    token: Option<&str>,
    known: &Knowledge,
    round: &str,
    baseline: &str,
) -> Vec<Shown> {
    let mut shown = Vec::new();
    // One request per grouping, each within the cost limit.
    for (alias, grouping) in [
        ("n", "NATIONAL"),
        ("g", "GROUP"),
        ("s", "SUBGROUP"),
        ("c", "COUNTY"),
    ] {
        let mut fields = String::new();
        // Panels are not broken down by län.
        for panel in [true, false]
            .into_iter()
            .filter(|p| !*p || grouping != "COUNTY")
        {
            fields.push_str(&format!(
                "{alias}{panel}: maturityTrend(roundId: $r, baselineRoundId: $b, grouping: {grouping}, panel: {panel}) {{ {TREND_ROWS} }} "
            ));
        }
        let body = app
            .gql(
                token,
                &format!("query($r: ID!, $b: ID!) {{ {fields} }}"),
                json!({ "r": round, "b": baseline }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        for (alias, rows) in body["data"].as_object().unwrap() {
            let panel = alias.ends_with("true");
            for row in rows.as_array().unwrap() {
                shown.extend(known.trend_row(round, baseline, panel, row));
            }
        }
    }
    shown
}

/// Everything `token` may read of `rounds`: each round's figures and every
/// ordered pair's trends.
async fn all_figures(
    app: &TestApp,
    token: Option<&str>,
    known: &Knowledge,
    rounds: &[&str],
) -> Vec<Shown> {
    let mut shown = Vec::new();
    for r in rounds {
        shown.extend(base_figures(app, token, known, r).await);
        for b in rounds.iter().filter(|b| *b != r) {
            shown.extend(trend_figures(app, token, known, r, b).await);
        }
    }
    shown.sort();
    shown.dedup();
    shown
}

/// Who answered a round, as an SKR admin sees it.
async fn respondents(app: &TestApp, round: &str) -> BTreeSet<String> {
    let body = app
        .ok(
            &admin_token(),
            "query($r: ID!) { participation(roundId: $r) { byMunicipality { municipality { code } answeredCount } } }",
            json!({ "r": round }),
        )
        .await;
    body["participation"]["byMunicipality"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["answeredCount"].as_i64() > Some(0))
        .map(|r| r["municipality"]["code"].as_str().unwrap().to_owned())
        .collect()
}

/// An app with the demo answers in the 2019 and 2023 rounds, and what an
/// attacker knows of them.
pub(crate) async fn demo() -> (TestApp, Knowledge) {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let mut known = Knowledge::new();
    known.round(ROUND_2019, "SKR2017", respondents(&app, ROUND_2019).await);
    known.round(ROUND_2023, "SKR2023", respondents(&app, ROUND_2023).await);
    (app, known)
}

/// The rows of one trend, by segment code.
async fn trend(
    app: &TestApp,
    round: &str,
    baseline: &str,
    grouping: &str,
    panel: bool,
) -> Vec<Value> {
    let query = format!(
        "query($r: ID!, $b: ID!) {{ maturityTrend(roundId: $r, baselineRoundId: $b, grouping: {grouping}, panel: {panel}) {{ area {{ number }} {TREND_ROWS} level2Count }} }}"
    );
    let body = app
        .gql(None, &query, json!({ "r": round, "b": baseline }))
        .await;
    body["data"]["maturityTrend"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["area"]["number"] == 1)
        .cloned()
        .collect()
}

#[tokio::test]
async fn attack_panel_against_whole_on_the_demo_data_recovers_nothing() {
    // Was: C7 shows 41 respondents, its panel 38, and the level-2 counts
    // subtracted area by area gave the three newcomers' levels; C8, C9 and
    // group A the same.
    let (app, known) = demo().await;
    let mut hidden = BTreeSet::new();
    for grouping in ["GROUP", "SUBGROUP"] {
        let whole = trend(&app, ROUND_2023, ROUND_2019, grouping, false).await;
        let panel = trend(&app, ROUND_2023, ROUND_2019, grouping, true).await;
        for (w, p) in whole.iter().zip(&panel) {
            let code = w["segment"]["code"].as_str().unwrap();
            assert_eq!(code, p["segment"]["code"]);
            let newcomers = w["respondents"].as_i64().unwrap() - p["panelSize"].as_i64().unwrap();
            let both_shown = w["suppressed"] == false && p["suppressed"] == false;
            if (1..5).contains(&newcomers) {
                assert!(!both_shown, "{code}: {newcomers} newcomers by subtraction");
                hidden.insert(code.to_owned());
            }
        }
    }
    assert!(
        ["A", "C7", "C8", "C9"].iter().all(|c| hidden.contains(*c)),
        "the cells of the attack: {hidden:?}"
    );
    // What the README says the demo's panel shows: nothing. The 45
    // kommuner that answered in 2019 only and the 17 that answered in 2023
    // only share values the panel's counts would pin (the interval audit).
    for grouping in ["GROUP", "SUBGROUP"] {
        for row in trend(&app, ROUND_2023, ROUND_2019, grouping, true).await {
            assert_eq!(row["suppressed"], true, "{row}");
        }
    }
    let shown = all_figures(&app, None, &known, &[ROUND_2023, ROUND_2019]).await;
    assert_eq!(recover(&shown, 5), None);
    let nation = trend(&app, ROUND_2023, ROUND_2019, "NATIONAL", true).await;
    assert_eq!(nation[0]["suppressed"], true);
    assert_eq!(nation[0]["reason"], "DIFFERENCING");
    assert_eq!(nation[0]["panelSize"], 220);
}

/// The first row of a segment in a list of figures.
fn row_of(rows: &Value, code: &str) -> Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["segment"]["code"] == code)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn attack_one_newcomer_among_five_panel_members_recovers_nothing() {
    // Was: five B4 kommuner that answered 2023 and one that did not answer a
    // new round; the B4 aggregate minus the B4 panel gave the newcomer's
    // nine levels exactly.
    let (app, mut known) = demo().await;
    let answered_2023 = &known.rounds[ROUND_2023].1;
    let b4: Vec<String> = known.groups["SKR2023"]
        .iter()
        .filter(|(_, (_, s))| s == "B4")
        .map(|(c, _)| c.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut six: Vec<String> = b4
        .iter()
        .filter(|c| answered_2023.contains(*c))
        .take(5)
        .cloned()
        .collect();
    let newcomer = b4
        .iter()
        .find(|c| !answered_2023.contains(*c))
        .expect("a B4 kommun without a 2023 answer")
        .clone();
    six.push(newcomer.clone());
    let round = app.open_round(2027).await;
    let maturity = app.maturity_keys().await;
    for code in &six {
        let answers: Vec<Value> = maturity
            .iter()
            .map(|k| json!({ "questionKey": k, "value": { "choice": "yes_fully" } }))
            .collect();
        app.ok(
            &kommun_token(code),
            "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }",
            json!({ "r": round, "a": answers }),
        )
        .await;
    }
    app.transition("closeSurveyRound", &round).await;
    known.round(&round, "SKR2023", six.iter().cloned().collect());
    let analyst = analyst_token();
    let aggregates = app
        .ok(
            &analyst,
            "query($r: ID!) { maturityAggregates(roundId: $r, grouping: SUBGROUP) { area { number } segment { code } respondents suppressed } }",
            json!({ "r": round }),
        )
        .await;
    let b4_whole = row_of(&aggregates["maturityAggregates"], "B4");
    assert_eq!(b4_whole["respondents"], 6);
    assert_eq!(b4_whole["suppressed"], false, "six respondents are shown");
    let panel = app
        .ok(
            &analyst,
            &format!("query($r: ID!, $b: ID!) {{ maturityTrend(roundId: $r, baselineRoundId: $b, grouping: SUBGROUP, panel: true) {{ {TREND_ROWS} }} }}"),
            json!({ "r": round, "b": ROUND_2023 }),
        )
        .await;
    let b4_panel = row_of(&panel["maturityTrend"], "B4");
    assert_eq!(b4_panel["panelSize"], 5);
    assert_eq!(b4_panel["suppressed"], true, "{b4_panel}");
    assert_eq!(b4_panel["reason"], "DIFFERENCING");
    let shown = all_figures(
        &app,
        Some(&analyst),
        &known,
        &[round.as_str(), ROUND_2023, ROUND_2019],
    )
    .await;
    assert_eq!(recover(&shown, 5), None);
}

#[tokio::test]
async fn attack_one_panel_under_two_classifications_recovers_nothing() {
    // Was: the 2023–2019 panel grouped by SKR 2023 and the 2019–2023 panel
    // grouped by SKR 2017 are one set of municipalities; B3 differed by two.
    let (app, known) = demo().await;
    let panel: BTreeSet<String> = known.rounds[ROUND_2023]
        .1
        .intersection(&known.rounds[ROUND_2019].1)
        .cloned()
        .collect();
    let members = |class: &str, code: &str| -> BTreeSet<String> {
        panel
            .iter()
            .filter(|m| {
                let (g, s) = &known.groups[class][*m];
                g == code || s == code
            })
            .cloned()
            .collect()
    };
    let mut compared = 0;
    for grouping in ["GROUP", "SUBGROUP"] {
        let by_2023 = trend(&app, ROUND_2023, ROUND_2019, grouping, true).await;
        let by_2017 = trend(&app, ROUND_2019, ROUND_2023, grouping, true).await;
        for (x, y) in by_2023.iter().zip(&by_2017) {
            let code = x["segment"]["code"].as_str().unwrap();
            assert_eq!(code, y["segment"]["code"]);
            let moved = members("SKR2023", code)
                .symmetric_difference(&members("SKR2017", code))
                .count();
            if (1..5).contains(&moved) {
                compared += 1;
                assert!(
                    x["suppressed"] == true || y["suppressed"] == true,
                    "{code}: {moved} municipalities between the two"
                );
            }
        }
    }
    assert!(compared > 0, "B3 differs by two");
    let shown = all_figures(&app, None, &known, &[ROUND_2023, ROUND_2019]).await;
    assert_eq!(recover(&shown, 5), None);
}

/// The municipalities random rounds draw on: B4, B5 and C7 under both
/// classifications and those that moved between them, so that small cells,
/// newcomers and the two lattices meet.
fn pool(known: &Knowledge) -> Vec<String> {
    let wanted = [
        (("B4", "B4"), 6),
        (("B5", "B5"), 6),
        (("B5", "B4"), 5),
        (("C7", "B4"), 4),
        (("C7", "C7"), 4),
        (("B4", "C7"), 2),
    ];
    let mut codes: Vec<&String> = known.groups["SKR2023"].keys().collect();
    codes.sort();
    let mut pool = Vec::new();
    for ((then, now), n) in wanted {
        pool.extend(
            codes
                .iter()
                .filter(|c| {
                    known.groups["SKR2017"][**c].1 == then && known.groups["SKR2023"][**c].1 == now
                })
                .take(n)
                .map(|c| (*c).clone()),
        );
    }
    assert_eq!(pool.len(), POOL_SIZE);
    pool
}

const POOL_SIZE: usize = 27;

/// One random round: its classification, who answers (indices into the
/// pool) and which of the first maturity questions each answers Ja.
#[derive(Clone, Debug)]
struct RoundSpec {
    skr2017: bool,
    respondents: Vec<usize>,
    answers: Vec<u16>,
}

fn round_spec() -> impl Strategy<Value = RoundSpec> {
    (
        any::<bool>(),
        proptest::sample::subsequence((0..POOL_SIZE).collect::<Vec<_>>(), 6..=20),
        proptest::collection::vec(any::<u16>(), POOL_SIZE),
    )
        .prop_map(|(skr2017, respondents, answers)| RoundSpec {
            skr2017,
            respondents,
            answers,
        })
}

/// An app that random rounds are created in, with the next free year.
struct Bench {
    min_cell: u32,
    app: Option<TestApp>,
    year: i32,
    known: Knowledge,
    pool: Vec<String>,
    maturity: Vec<String>,
    cases: usize,
    figures_shown: usize,
    panels_shown: usize,
}

impl Bench {
    fn new(min_cell: u32) -> Self {
        let known = Knowledge::new();
        Self {
            pool: pool(&known),
            known,
            min_cell,
            app: None,
            year: 1999,
            maturity: Vec::new(),
            cases: 0,
            figures_shown: 0,
            panels_shown: 0,
        }
    }

    /// `n` free years for a case's rounds, all in one app: a fresh one once
    /// this one has too few left.
    async fn years(&mut self, n: usize) -> Vec<i32> {
        let free = |from: i32| (from + 1..=2099).filter(|y| *y != 2019 && *y != 2023);
        if self.app.is_none() || free(self.year).count() < n {
            let min_cell = self.min_cell;
            let app = spawn_app_with(|c| c.min_cell = min_cell).await;
            self.maturity = app.maturity_keys().await;
            self.app = Some(app);
            self.year = 1999;
        }
        let years: Vec<i32> = free(self.year).take(n).collect();
        self.year = years[n - 1];
        years
    }

    /// Creates, fills and closes the rounds, reads every figure as SKR and
    /// audits them.
    async fn run(&mut self, rounds: &[RoundSpec]) -> Result<(), String> {
        let mut ids = Vec::new();
        let years = self.years(rounds.len()).await;
        for (spec, year) in rounds.iter().zip(years) {
            let app = self.app.as_ref().unwrap();
            let class = if spec.skr2017 { "SKR2017" } else { "SKR2023" };
            let id = app.open_round_of(year, class).await;
            let saves = spec.respondents.iter().map(|&i| {
                let code = &self.pool[i];
                // Three areas are enough: every answer makes a respondent,
                // and the audit is about whom a figure counts.
                let answers: Vec<Value> = self
                    .maturity
                    .iter()
                    .take(3)
                    .enumerate()
                    .map(|(q, key)| {
                        let ja = spec.answers[i] & (1 << q) != 0;
                        json!({ "questionKey": key, "value": { "choice": if ja { "yes_fully" } else { "no" } } })
                    })
                    .collect();
                let token = kommun_token(code);
                let id = id.clone();
                async move {
                    app.ok(
                        &token,
                        "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }",
                        json!({ "r": id, "a": answers }),
                    )
                    .await;
                }
            });
            futures_util::future::join_all(saves).await;
            let closed = app.transition("closeSurveyRound", &id).await;
            assert_eq!(
                closed["data"]["closeSurveyRound"]["status"], "CLOSED",
                "{closed}"
            );
            let who = spec
                .respondents
                .iter()
                .map(|&i| self.pool[i].clone())
                .collect();
            self.known.round(&id, class, who);
            ids.push(id);
        }
        let app = self.app.as_ref().unwrap();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let shown = all_figures(app, Some(&analyst_token()), &self.known, &ids).await;
        self.cases += 1;
        self.figures_shown += shown.len();
        self.panels_shown += shown.iter().filter(|s| s.panel).count();
        match recover(&shown, self.min_cell as usize) {
            None => Ok(()),
            Some((round, set)) => Err(format!(
                "round {round}: the sum over {set:?} can be had from the figures"
            )),
        }
    }
}

/// Random rounds through the API, audited; `MOGNAD_AUDIT_CASES` sets how
/// many (default 250 per threshold, 500 in all).
fn audit_random_rounds(min_cell: u32) {
    let cases = std::env::var("MOGNAD_AUDIT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(250);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bench = RefCell::new(Bench::new(min_cell));
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = proptest::collection::vec(round_spec(), 2..=3);
    let result = runner.run(&strategy, |rounds| {
        runtime
            .block_on(bench.borrow_mut().run(&rounds))
            .map_err(TestCaseError::fail)
    });
    let bench = bench.into_inner();
    println!(
        "auditor, MOGNAD_MIN_CELL={min_cell}: {} cases, {} figures shown, {} of them panels",
        bench.cases, bench.figures_shown, bench.panels_shown
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(bench.cases >= cases as usize);
    assert!(
        bench.figures_shown >= bench.cases && bench.panels_shown > 0,
        "the random rounds show figures, panels among them"
    );
    drop(bench);
    runtime.shutdown_background();
}

#[test]
fn auditor_recovers_nothing_from_random_rounds_at_five() {
    audit_random_rounds(5);
}

#[test]
fn auditor_recovers_nothing_from_random_rounds_at_three() {
    audit_random_rounds(3);
}

/// Creates a round of `class`, has `who` answer one question each, closes it.
async fn closed_round(app: &TestApp, year: i32, class: &str, who: &[String]) -> String {
    let id = app.open_round_of(year, class).await;
    for code in who {
        app.ok(
            &kommun_token(code),
            "mutation($r: ID!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"risk_managed\", value: { choice: \"yes_fully\" } }]) { version } }",
            json!({ "r": id }),
        )
        .await;
    }
    app.transition("closeSurveyRound", &id).await;
    id
}

#[tokio::test]
async fn panel_plans_asked_for_at_once_are_made_once_and_stay_safe() {
    let app = spawn_app().await;
    let mut known = Knowledge::new();
    let pool = pool(&known);
    let specs = [
        (2031, "SKR2023", 0..22),
        (2032, "SKR2017", 3..26),
        (2033, "SKR2023", 1..27),
    ];
    let mut ids = Vec::new();
    for (year, class, range) in specs {
        let who = &pool[range];
        let id = closed_round(&app, year, class, who).await;
        known.round(&id, class, who.iter().cloned().collect());
        ids.push(id);
    }
    // Every ordered pair in every grouping, three times over, all at once:
    // the three pairs' plans are made while the others are being made.
    let analyst = analyst_token();
    let mut asked = Vec::new();
    for _ in 0..3 {
        for a in &ids {
            for b in ids.iter().filter(|b| *b != a) {
                for grouping in ["NATIONAL", "GROUP", "SUBGROUP"] {
                    asked.push((a.clone(), b.clone(), grouping));
                }
            }
        }
    }
    let answers = futures_util::future::join_all(asked.iter().map(|(a, b, grouping)| {
        let query = format!(
            "query($r: ID!, $b: ID!) {{ maturityTrend(roundId: $r, baselineRoundId: $b, grouping: {grouping}, panel: true) {{ {TREND_ROWS} }} }}"
        );
        let (app, analyst) = (&app, &analyst);
        async move {
            app.ok(analyst, &query, json!({ "r": a, "b": b }))
                .await
        }
    }))
    .await;
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(
            answer,
            &answers[i % 18],
            "{:?}: the same question, the same answer",
            asked[i]
        );
    }
    let plans = entity::release_plan::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        plans.iter().filter(|p| p.paired_round_id.is_some()).count(),
        3
    );
    assert_eq!(plans.len(), 3 + 3, "three rounds, three pairs");
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let shown = all_figures(&app, Some(&analyst), &known, &ids).await;
    assert!(shown.iter().any(|s| s.panel), "some panel is shown");
    assert_eq!(recover(&shown, 5), None);
}

#[tokio::test]
async fn a_round_is_no_panel_of_itself() {
    let app = spawn_app().await;
    let body = app
        .gql(
            Some(&analyst_token()),
            "query($r: ID!) { maturityTrend(roundId: $r, baselineRoundId: $r, grouping: NATIONAL, panel: true) { suppressed } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    assert_eq!(crate::helpers::error_codes(&body), ["BAD_USER_INPUT"]);
}

/// Attack 3 of the issue on bounds: follow-up questions asked only on a
/// maturity answer would make anything counted per municipality spell out
/// that answer. Two rounds with the same authored follow-ups (required,
/// asked only when `risk_managed` is `yes_fully`); the same kommun answers
/// yes in one and no in the other, and answers the follow-ups where asked.
/// Whatever SKR reads per municipality — participation, its completeness,
/// the feed — is the same in both.
#[tokio::test]
async fn what_skr_reads_per_municipality_does_not_depend_on_its_answers() {
    let app = spawn_app().await;
    let admin = admin_token();
    let mut rounds = Vec::new();
    for year in [2027, 2028] {
        let round = app.create_round(year).await;
        let area = app
            .ok(
                &admin,
                "query($r: ID!) { surveyRound(id: $r) { areas { key number } } }",
                json!({ "r": round }),
            )
            .await["surveyRound"]["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["number"] == 3)
            .unwrap()["key"]
            .clone();
        for i in 0..4 {
            app.ok(
                &admin,
                "mutation($r: ID!, $q: QuestionInput!) { upsertQuestion(roundId: $r, input: $q) { id } }",
                json!({ "r": round, "q": {
                    "key": format!("follow_up_{i}"), "areaKey": area, "textSv": "Följdfråga",
                    "textEn": "Follow-up", "kind": "SINGLE_CHOICE", "required": true,
                    "condition": { "questionKey": "risk_managed", "optionKeys": ["yes_fully"] },
                    "options": [{ "key": "a", "labelSv": "A", "labelEn": "A" },
                                { "key": "b", "labelSv": "B", "labelEn": "B" }] } }),
            )
            .await;
        }
        app.transition("openSurveyRound", &round).await;
        rounds.push(round);
    }
    let submit = "mutation($r: ID!) { submitResponse(roundId: $r) { status } }";
    // 1280 submits, 0180 stays in progress: yes (and the follow-ups) in
    // the first round, no in the second.
    for (code, submits) in [("1280", true), ("0180", false)] {
        let token = kommun_token(code);
        for (round, yes) in [(&rounds[0], true), (&rounds[1], false)] {
            let mut answers = crate::isolation::full_answers();
            let list = answers.as_array_mut().unwrap();
            list.retain(|a| a["questionKey"] != "risk_managed");
            let choice = if yes { "yes_fully" } else { "no" };
            list.push(json!({ "questionKey": "risk_managed", "value": { "choice": choice } }));
            if yes {
                for i in 0..4 {
                    list.push(json!({ "questionKey": format!("follow_up_{i}"), "value": { "choice": "a" } }));
                }
            }
            app.ok(
                &token,
                crate::helpers::SAVE,
                json!({ "r": round, "a": answers }),
            )
            .await;
            if submits {
                app.ok(&token, submit, json!({ "r": round })).await;
            }
        }
    }
    let per_municipality = "query($r: ID!) { participation(roundId: $r) { submitted inProgress \
        nearlyComplete partial byMunicipality { municipality { code } status answeredCount updatedAt submittedAt } } \
        surveyRound(id: $r) { questionnaireProblems } }";
    let analyst = analyst_token();
    for token in [&admin, &analyst] {
        let app = &app;
        let read = |round: &String| {
            let round = round.clone();
            async move {
                let body = app
                    .gql(Some(token), per_municipality, json!({ "r": round }))
                    .await;
                let mut data = body["data"].clone();
                // The municipalities that answered, as SKR sees them.
                if let Some(rows) = data["participation"]["byMunicipality"].as_array_mut() {
                    rows.retain(|r| r["status"] != "NOT_STARTED");
                }
                (data, crate::helpers::error_codes(&body))
            }
        };
        let (yes, no) = (read(&rounds[0]).await, read(&rounds[1]).await);
        assert_eq!(yes, no, "SKR reads the same whatever the kommun answered");
        if token == &admin {
            let rows = yes.0["participation"]["byMunicipality"]
                .as_array()
                .unwrap()
                .clone();
            assert_eq!(rows.len(), 2, "{rows:?}");
        }
    }
    // The feed, per municipality: the same events, dated the same day.
    let feed = app
        .ok(
            &admin,
            "{ changes(first: 100) { edges { node { kind at municipalityCode round { year } } } } }",
            json!({}),
        )
        .await;
    let events = |year: i64| -> Vec<Value> {
        feed["changes"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .filter(|n| n["round"]["year"] == year && n["municipalityCode"].is_string())
            .map(|n| json!([n["kind"], n["at"], n["municipalityCode"]]))
            .collect()
    };
    assert_eq!(events(2027), events(2028));
    assert_eq!(events(2027).len(), 1, "1280's submission");
}

/// `releaseSummary` lists exactly what the figures hide, with the same
/// reasons: every hidden row of `maturityAggregates` (each grouping) is a
/// whole-segment entry, and every question entry is a shown segment whose
/// `answerDistribution` is hidden for that reason.
#[tokio::test]
async fn the_release_summary_is_what_the_figures_hide() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let summary = app
        .data(
            "query($r: ID!) { surveyRound(id: $r) { releaseSummary { smallCell complementary differencing \
             hidden { segment { kind code } questionKey reason } } } }",
            json!({ "r": ROUND_2023 }),
        )
        .await["surveyRound"]["releaseSummary"]
        .clone();
    let hidden = summary["hidden"].as_array().unwrap();
    assert!(!hidden.is_empty(), "the demo hides some län");
    let counted: i64 = ["smallCell", "complementary", "differencing"]
        .iter()
        .map(|k| summary[k].as_i64().unwrap())
        .sum();
    assert_eq!(counted, hidden.len() as i64);
    let mut whole = std::collections::BTreeSet::new();
    for grouping in ["NATIONAL", "GROUP", "SUBGROUP", "COUNTY"] {
        let rows = app
            .data(
                "query($r: ID!, $g: Grouping!) { maturityAggregates(roundId: $r, grouping: $g) { segment { code } reason } }",
                json!({ "r": ROUND_2023, "g": grouping }),
            )
            .await;
        for row in rows["maturityAggregates"].as_array().unwrap() {
            if !row["reason"].is_null() {
                whole.insert((
                    row["segment"]["code"].as_str().unwrap().to_owned(),
                    row["reason"].to_string(),
                ));
            }
        }
    }
    let listed: std::collections::BTreeSet<_> = hidden
        .iter()
        .filter(|h| h["questionKey"].is_null())
        .map(|h| {
            (
                h["segment"]["code"].as_str().unwrap().to_owned(),
                h["reason"].to_string(),
            )
        })
        .collect();
    // A segment listed whole hides every area, with that reason; every
    // hidden area is listed, whole or by its maturity question.
    assert!(listed.is_subset(&whole), "{listed:?} vs {whole:?}");
    let hidden_codes: std::collections::BTreeSet<_> =
        listed.iter().map(|(c, _)| c.clone()).collect();
    for (code, _) in &whole {
        let by_area = hidden
            .iter()
            .any(|h| h["segment"]["code"] == code.as_str() && !h["questionKey"].is_null());
        assert!(
            hidden_codes.contains(code) || by_area,
            "{code} is hidden but not listed"
        );
    }
    for entry in hidden.iter().filter(|h| !h["questionKey"].is_null()) {
        let key = entry["questionKey"].as_str().unwrap();
        let code = entry["segment"]["code"].as_str().unwrap();
        let grouping = entry["segment"]["kind"].as_str().unwrap();
        let rows = app
            .data(
                "query($r: ID!, $q: String!, $g: Grouping!) { answerDistribution(roundId: $r, questionKey: $q, grouping: $g) { segment { code } reason } }",
                json!({ "r": ROUND_2023, "q": key, "g": grouping }),
            )
            .await;
        let row = rows["answerDistribution"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["segment"]["code"] == code)
            .unwrap_or_else(|| panic!("{code} in {rows}"))
            .clone();
        assert_eq!(row["reason"], entry["reason"], "{key} in {code}");
        assert!(
            !hidden_codes.contains(code),
            "a question of a hidden segment is not listed again"
        );
    }
}
