//! The fidelity test: the demo data loaded into a fresh database, and every
//! figure of SKR's 2023 report (`published-2023.json`) that the API can
//! compute, asserted over HTTP. Prints `fidelity: N of M published figures
//! reproduced` and each figure not reproduced with the report inconsistency
//! that explains it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{ROUND_2019, ROUND_2023, TestApp, analyst_token, spawn_app};

const PUBLISHED: &str = include_str!("../../migration/data/published-2023.json");

fn round_id(year: i64) -> &'static str {
    if year == 2019 { ROUND_2019 } else { ROUND_2023 }
}

fn segment_code(group: &str) -> &str {
    if group == "national" { "SE" } else { group }
}

fn grouping(group: &str) -> &'static str {
    if group == "national" {
        "NATIONAL"
    } else {
        "GROUP"
    }
}

/// Collects figure checks: reproduced or not, with where the figure stands.
#[derive(Default)]
struct Ledger {
    checked: usize,
    missed: Vec<(String, Vec<i64>)>,
}

impl Ledger {
    fn check(&mut self, what: String, lines: Vec<i64>, ok: bool) {
        self.checked += 1;
        if !ok {
            self.missed.push((what, lines));
        }
    }
}

/// Answer counts per (segment, option key or "" for no answer), cached per (round, question, grouping).
#[derive(Default)]
struct Distributions(BTreeMap<(i64, String, String), Counts>);

/// Answer counts by (segment code, option key or ""), with what the option
/// means as the API says: (count, affirmative, maturity level).
type Counts = BTreeMap<(String, String), (i64, bool, i64)>;

impl Distributions {
    async fn get(&mut self, app: &TestApp, year: i64, question: &str, grouping: &str) -> &Counts {
        let key = (year, question.to_owned(), grouping.to_owned());
        if !self.0.contains_key(&key) {
            let data = app
                .data(
                    "query($r: ID!, $q: String!, $g: Grouping!) { answerDistribution(roundId: $r, questionKey: $q, grouping: $g) { \
                     segment { code } suppressed counts { option { key affirmative maturityLevel } count } } }",
                    json!({ "r": round_id(year), "q": question, "g": grouping }),
                )
                .await;
            let mut counts = BTreeMap::new();
            for d in data["answerDistribution"].as_array().unwrap() {
                assert_eq!(d["suppressed"], false, "groups are large enough: {d}");
                let seg = d["segment"]["code"].as_str().unwrap().to_owned();
                for c in d["counts"].as_array().unwrap() {
                    let option = c["option"]["key"].as_str().unwrap_or("").to_owned();
                    let meaning = (
                        c["count"].as_i64().unwrap(),
                        c["option"]["affirmative"] == true,
                        c["option"]["maturityLevel"].as_i64().unwrap_or(0),
                    );
                    counts.insert((seg.clone(), option), meaning);
                }
            }
            self.0.insert(key.clone(), counts);
        }
        &self.0[&key]
    }
}

/// The count a published measure stands for, from one segment's answer counts.
fn measure(counts: &Counts, segment: &str, option: &str) -> Option<i64> {
    let sum = |f: &dyn Fn(&str, bool, i64) -> bool| -> i64 {
        counts
            .iter()
            .filter(|((s, o), (_, ja, level))| s == segment && !o.is_empty() && f(o, *ja, *level))
            .map(|(_, (n, _, _))| n)
            .sum()
    };
    let count = |key: &str| {
        counts
            .get(&(segment.to_owned(), key.to_owned()))
            .map(|c| c.0)
    };
    match option {
        "no_answer" => count(""),
        "has_process" => Some(sum(&|_, ja, _| ja)),
        "in_progress" => Some(sum(&|o, ja, _| ja && o != "yes_fully")),
        "level2" => Some(sum(&|_, _, level| level >= 2)),
        "adopted" => Some(sum(&|o, _, _| o != "dont_know")),
        key => count(key),
    }
}

#[tokio::test]
async fn the_demo_data_reproduces_the_published_report() {
    let app = spawn_app().await;
    let loaded = mognad::demo::load(&app.db, 5)
        .await
        .expect("demo data loads");
    assert_eq!(loaded, [2019, 2023]);
    assert!(
        mognad::demo::load(&app.db, 5).await.unwrap().is_empty(),
        "a second load changes nothing"
    );

    let published: Value = serde_json::from_str(PUBLISHED).unwrap();
    let mut ledger = Ledger::default();

    // The rounds are published demo rounds, readable by anyone.
    let rounds = app
        .data(
            "{ surveyRounds { year status demo description } }",
            json!({}),
        )
        .await;
    for r in rounds["surveyRounds"].as_array().unwrap() {
        assert_eq!(r["status"], "PUBLISHED");
        assert_eq!(r["demo"], true);
        assert!(r["description"].as_str().unwrap().contains("fictitious"));
    }

    // 1. The maturity tables (mean level per area; national, A, B, C) and the level-2 counts, anonymously.
    let aggregates = "query($r: ID!, $g: Grouping!) { maturityAggregates(roundId: $r, grouping: $g) { \
        segment { code } area { number } level2Count meanLevel suppressed } }";
    for year in [2019, 2023] {
        let mut cells: BTreeMap<(String, i64), (i64, f64)> = BTreeMap::new();
        for g in ["NATIONAL", "GROUP"] {
            let body = app
                .query(aggregates, json!({ "r": round_id(year), "g": g }))
                .await;
            assert!(
                body.get("errors").is_none(),
                "published figures are public: {body}"
            );
            for row in body["data"]["maturityAggregates"].as_array().unwrap() {
                assert_eq!(row["suppressed"], false);
                let key = (
                    row["segment"]["code"].as_str().unwrap().to_owned(),
                    row["area"]["number"].as_i64().unwrap(),
                );
                cells.insert(
                    key,
                    (
                        row["level2Count"].as_i64().unwrap(),
                        row["meanLevel"].as_f64().unwrap(),
                    ),
                );
            }
        }
        let table_lines = &published["maturity_mean_source_lines"][year.to_string()];
        for (group, means) in published["maturity_mean"][year.to_string()]
            .as_object()
            .unwrap()
        {
            let line = table_lines[group].as_i64().unwrap();
            for (i, mean) in means.as_array().unwrap().iter().enumerate() {
                let got = cells[&(segment_code(group).to_owned(), i as i64 + 1)].1;
                let ok = (got * 100.0).round() / 100.0 == mean.as_f64().unwrap();
                ledger.check(
                    format!(
                        "{year} maturity table {group} area {} = {mean} (got {got:.4}, l.{line})",
                        i + 1
                    ),
                    vec![line],
                    ok,
                );
            }
        }
        for (group, counts) in published["level2_counts"][year.to_string()]
            .as_object()
            .unwrap()
        {
            for (i, n) in counts.as_array().unwrap().iter().enumerate() {
                let got = cells[&(segment_code(group).to_owned(), i as i64 + 1)].0;
                let lines =
                    published["level2_counts_provenance"][year.to_string()][group][i]["lines"]
                        .as_array()
                        .map(|l| l.iter().filter_map(Value::as_i64).collect())
                        .unwrap_or_default();
                ledger.check(
                    format!("{year} level 2 {group} area {} = {n} (got {got})", i + 1),
                    lines,
                    got == n.as_i64().unwrap(),
                );
            }
        }
    }

    // 2. Response status and rate, as SKR.
    let participation = "query($r: ID!) { participation(roundId: $r) { population submitted inProgress nearlyComplete partial notStarted responseRate } }";
    for year in [2019, 2023] {
        let p = app
            .ok(
                &analyst_token(),
                participation,
                json!({ "r": round_id(year) }),
            )
            .await["participation"]
            .clone();
        let status = &published["response_status"][year.to_string()];
        let lines = |k: &str| vec![status["source_lines"][k].as_i64().unwrap_or(0)];
        let in_progress = status["nearly_complete_not_finished"].as_i64().unwrap_or(0)
            + status["partial"].as_i64().unwrap();
        ledger.check(
            format!("{year} submitted = {}", status["completed"]),
            lines("completed"),
            p["submitted"] == status["completed"],
        );
        ledger.check(
            format!("{year} in progress = {in_progress}"),
            lines("partial"),
            p["inProgress"] == in_progress,
        );
        // 2023 splits the unsubmitted ones: nearly complete and partial.
        if let Some(nearly) = status["nearly_complete_not_finished"].as_i64() {
            ledger.check(
                format!("{year} nearly complete = {nearly}"),
                lines("nearly_complete_not_finished"),
                p["nearlyComplete"] == nearly,
            );
            ledger.check(
                format!("{year} partial = {}", status["partial"]),
                lines("partial"),
                p["partial"] == status["partial"],
            );
        }
        assert_eq!(
            p["nearlyComplete"].as_i64().unwrap() + p["partial"].as_i64().unwrap(),
            p["inProgress"].as_i64().unwrap()
        );
        ledger.check(
            format!("{year} not started = {}", status["no_response"]),
            lines("no_response"),
            p["notStarted"] == status["no_response"],
        );
        let rate = p["responseRate"].as_f64().unwrap() * 100.0;
        let stated = if year == 2023 { 82.0 } else { 91.0 };
        // "nästan 82%" (just under) and "91%".
        let ok = if year == 2023 {
            rate < 82.0 && rate > 81.0
        } else {
            rate.round() == stated
        };
        ledger.check(
            format!("{year} response rate {stated}% (got {rate:.1}%)"),
            vec![380],
            ok,
        );
    }

    // 3. Every per-question count: answers per option, "has a process", level 2, adopted, no answer.
    let mut distributions = Distributions::default();
    for f in published["facts"].as_array().unwrap() {
        let (year, question, group, option) = (
            f["round"].as_i64().unwrap(),
            f["question"].as_str().unwrap(),
            f["group"].as_str().unwrap(),
            f["option"].as_str().unwrap(),
        );
        let line = f["source_line"].as_i64().unwrap();
        let counts = distributions
            .get(&app, year, question, grouping(group))
            .await;
        let got = measure(counts, segment_code(group), option);
        let what = format!(
            "{year} {question} {group} {option} = {} ({}l.{line}; got {got:?})",
            f["count"],
            f["figure"]
                .as_str()
                .map(|s| format!("{s}, "))
                .unwrap_or_default()
        );
        ledger.check(what, vec![line], got == f["count"].as_i64());
    }

    // 3b. The per-question comparisons over rounds (Figur 8, 9 and 16) as
    // the trend queries give them, 2023 beside its baseline 2019.
    let trends = app
        .data(
            "query($r: ID!) { \
               distributionTrend(questionKey: \"function_exists\", roundId: $r, grouping: GROUP) { segment { code } counts { option { key } count baselineCount } } \
               processShareTrend(roundId: $r, grouping: GROUP) { area { number } segment { code } count baselineCount } \
               estimatedWeeklyHoursTrend(roundId: $r, grouping: GROUP) { segment { code } hours baselineHours } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    let changes = published["derived"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "percent_changes_stated")
        .unwrap();
    for item in changes["items"].as_array().unwrap() {
        let (figure, group) = (
            item["figure"].as_str().unwrap(),
            item["group"].as_str().unwrap(),
        );
        let rows = |field: &str| trends[field].as_array().unwrap().clone();
        let got: Option<(f64, f64)> = match figure {
            "Figur 8" => rows("distributionTrend")
                .iter()
                .find(|r| r["segment"]["code"] == group)
                .and_then(|r| {
                    r["counts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["option"]["key"] == "yes")
                        .map(|c| {
                            (
                                c["baselineCount"].as_f64().unwrap(),
                                c["count"].as_f64().unwrap(),
                            )
                        })
                }),
            "Figur 16" => rows("processShareTrend")
                .iter()
                .find(|r| r["segment"]["code"] == group && r["area"]["number"] == 1)
                .map(|r| {
                    (
                        r["baselineCount"].as_f64().unwrap(),
                        r["count"].as_f64().unwrap(),
                    )
                }),
            "Figur 9" => rows("estimatedWeeklyHoursTrend")
                .iter()
                .find(|r| r["segment"]["code"] == group)
                .map(|r| {
                    (
                        r["baselineHours"].as_f64().unwrap().round(),
                        r["hours"].as_f64().unwrap().round(),
                    )
                }),
            _ => continue,
        };
        let want = (
            item["from_2019"].as_f64().unwrap(),
            item["to_2023"].as_f64().unwrap(),
        );
        // The trend states a change of two figures stated elsewhere (for
        // Figur 9 the hours per group, whose lines the notes name).
        let mut lines = vec![item["source_line"].as_i64().unwrap()];
        if figure == "Figur 9"
            && let Some(line) = published["derived"][0]["source_lines"][group].as_i64()
        {
            lines.push(line);
        }
        ledger.check(
            format!(
                "{figure} {group} trend {} -> {} (got {got:?})",
                want.0, want.1
            ),
            lines,
            got == Some(want),
        );
    }

    // 4. "Has a process" per area from processShare agrees with the distributions.
    let share = app
        .data("query($r: ID!) { processShare(roundId: $r, grouping: GROUP) { area { number } segment { code } count } }", json!({ "r": ROUND_2023 }))
        .await;
    let risk_a = share["processShare"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["area"]["number"] == 3 && r["segment"]["code"] == "A")
        .unwrap()
        .clone();
    assert_eq!(
        risk_a["count"], 34,
        "Figur 38: 34 A municipalities have a risk process in 2023"
    );

    // 5. The weekly-hours estimates (Figur 9), span midpoints.
    let derived = published["derived"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "weekly_hours_estimate")
        .unwrap();
    for year in [2019, 2023] {
        let mut hours: BTreeMap<String, f64> = BTreeMap::new();
        for g in ["NATIONAL", "GROUP"] {
            let data = app
                .data("query($r: ID!, $g: Grouping!) { estimatedWeeklyHours(roundId: $r, grouping: $g) { segment { code } hours } }", json!({ "r": round_id(year), "g": g }))
                .await;
            for row in data["estimatedWeeklyHours"].as_array().unwrap() {
                hours.insert(
                    row["segment"]["code"].as_str().unwrap().to_owned(),
                    row["hours"].as_f64().unwrap(),
                );
            }
        }
        // The national totals are the sum of the group figures (derived, not stated).
        for (group, value) in derived["values"][year.to_string()]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(g, _)| *g != "national")
        {
            let got = hours[segment_code(group)];
            let line = derived["source_lines"][group].as_i64().unwrap_or(563);
            let ok = (got - value.as_f64().unwrap()).abs() <= 0.5;
            ledger.check(
                format!("{year} weekly hours {group} = {value} (Figur 9, l.{line}; got {got})"),
                vec![line, 563],
                ok,
            );
        }
    }

    // Every figure not reproduced must be one the report contradicts itself on.
    let notes = published["notes"].as_array().unwrap();
    let explain = |lines: &[i64]| -> Option<String> {
        notes
            .iter()
            .find(|n| {
                n["lines"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| lines.contains(&x.as_i64().unwrap_or(-1))))
            })
            .map(|n| n["text"].as_str().unwrap_or("").to_owned())
    };
    println!(
        "fidelity: {} of {} published figures reproduced",
        ledger.checked - ledger.missed.len(),
        ledger.checked
    );
    let mut unexplained = Vec::new();
    for (what, lines) in &ledger.missed {
        match explain(lines) {
            Some(note) => println!("  not reproduced: {what}\n    because: {note}"),
            None => unexplained.push(what.clone()),
        }
    }
    assert!(
        unexplained.is_empty(),
        "figures not reproduced without a known inconsistency: {unexplained:#?}"
    );
    // The 2023 maturity tables, level-2 counts and response statuses are all among the reproduced.
    assert!(
        ledger
            .missed
            .iter()
            .all(|(w, _)| !w.starts_with("2023 maturity table") && !w.starts_with("2023 level 2")),
        "{:?}",
        ledger.missed
    );
    // Two of the report's own inconsistencies; group C's 2023 hours count
    // twice (as a figure and in its Figur 9 trend).
    assert!(ledger.missed.len() <= 3, "{:?}", ledger.missed);
}
