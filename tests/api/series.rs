//! Figures over rounds: `maturitySeries` and `distributionTrend`, on the
//! demo data (2019 and 2023 published), against the report's figures.

use serde_json::{Value, json};

use crate::helpers::{ROUND_2019, ROUND_2023, error_codes, spawn_app};

const SERIES: &str = "query($g: Grouping!, $r: [ID!]!) { maturitySeries(grouping: $g, roundIds: $r) { \
    round { year } segment { code } area { number } respondents level2Count meanLevel suppressed } }";
const TREND: &str = "query($k: String!, $r: ID!, $b: ID, $g: Grouping!) { \
    distributionTrend(questionKey: $k, roundId: $r, baselineRoundId: $b, grouping: $g) { \
    segment { code } respondents baselineRespondents suppressed counts { option { key } count baselineCount } } }";

/// The report's national means of the nine areas, 2023.
const MEANS_2023: [f64; 9] = [1.24, 1.62, 1.36, 1.43, 1.49, 1.39, 1.46, 1.45, 1.19];

fn count_of(row: &Value, option: &str) -> (Value, Value) {
    let c = row["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["option"]["key"] == option)
        .unwrap_or_else(|| panic!("{option} in {row}"));
    (c["count"].clone(), c["baselineCount"].clone())
}

#[tokio::test]
async fn a_series_over_rounds_and_a_questions_trend_match_the_report() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();

    let body = app
        .data(
            SERIES,
            json!({ "g": "NATIONAL", "r": [ROUND_2019, ROUND_2023] }),
        )
        .await;
    let rows: Vec<&Value> = body["maturitySeries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["area"]["number"].is_null())
        .collect();
    assert_eq!(rows.len(), 18);
    assert!(rows[..9].iter().all(|r| r["round"]["year"] == 2019));
    let means: Vec<f64> = rows[9..]
        .iter()
        .map(|r| (r["meanLevel"].as_f64().unwrap() * 100.0).round() / 100.0)
        .collect();
    assert_eq!(means, MEANS_2023);
    // The same figures as maturityAggregates, round by round.
    let one = app
        .data(
            "query($r: ID!) { maturityAggregates(roundId: $r, grouping: NATIONAL) { area { number } meanLevel } }",
            json!({ "r": ROUND_2019 }),
        )
        .await;
    for (a, b) in one["maturityAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["area"]["number"].is_null())
        .zip(&rows[..9])
    {
        assert_eq!(a["meanLevel"], b["meanLevel"]);
    }

    // Figur 8: kommuner with a coordinator (function_exists = yes), per
    // group and nationally, 2019 -> 2023; the 2023 option "Vet inte" did not
    // exist in 2019: unmapped (null), not zero.
    let body = app
        .data(
            TREND,
            json!({ "k": "function_exists", "r": ROUND_2023, "g": "GROUP" }),
        )
        .await;
    let trend = body["distributionTrend"].as_array().unwrap();
    for (group, now, then) in [("A", 36, 29), ("B", 78, 63), ("C", 94, 80)] {
        let row = trend
            .iter()
            .find(|r| r["segment"]["code"] == group)
            .unwrap();
        assert_eq!(row["suppressed"], false);
        assert_eq!(
            count_of(row, "yes"),
            (json!(now), json!(then)),
            "group {group}"
        );
        assert_eq!(count_of(row, "dont_know").1, Value::Null, "group {group}");
    }
    let body = app
        .data(
            TREND,
            json!({ "k": "function_exists", "r": ROUND_2023, "b": ROUND_2019, "g": "NATIONAL" }),
        )
        .await;
    let national = &body["distributionTrend"][0];
    assert_eq!(count_of(national, "yes"), (json!(208), json!(172)));

    // Figur 9: the function's weekly hours per group, 2019 -> 2023; Figur
    // 16: kommuner where the political leadership gets information in an
    // established process (any "Ja"), per group.
    let body = app
        .data(
            "query($r: ID!) { estimatedWeeklyHoursTrend(roundId: $r, grouping: GROUP) { segment { code } hours baselineHours suppressed } \
               processShareTrend(roundId: $r, grouping: GROUP) { area { number } segment { code } count baselineCount suppressed } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    // Group C's 2023 total (1417) cannot be had together with the report's
    // stated span counts (published-2023.json, notes); the demo keeps the
    // span counts, so C is 1308 here.
    for (group, now, then) in [
        ("A", 853.0, 590.0),
        ("B", 1649.0, 1036.0),
        ("C", 1308.0, 1165.0),
    ] {
        let row = body["estimatedWeeklyHoursTrend"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["segment"]["code"] == group)
            .unwrap();
        // The report rounds the hours (852,5 is "853").
        let rounded = |v: &Value| v.as_f64().map(f64::round);
        assert_eq!(
            (rounded(&row["hours"]), rounded(&row["baselineHours"])),
            (Some(now), Some(then)),
            "group {group}"
        );
    }
    for (group, now, then) in [("A", 26, 8), ("B", 65, 30), ("C", 75, 41)] {
        let row = body["processShareTrend"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["segment"]["code"] == group && r["area"]["number"] == 1)
            .unwrap();
        assert_eq!(
            (row["count"].clone(), row["baselineCount"].clone()),
            (json!(now), json!(then)),
            "group {group}"
        );
    }

    // Per subgroup, a hidden row says why, on every trend (A1 has too few
    // respondents in 2023), and a shown one has no reason.
    let body = app
        .data(
            "query($r: ID!) { \
               estimatedWeeklyHoursTrend(roundId: $r, grouping: SUBGROUP) { segment { code } hours suppressed reason } \
               processShareTrend(roundId: $r, grouping: SUBGROUP) { area { number } segment { code } count suppressed reason } \
               distributionTrend(questionKey: \"function_exists\", roundId: $r, grouping: SUBGROUP) { segment { code } counts { count } suppressed reason } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    for field in [
        "estimatedWeeklyHoursTrend",
        "processShareTrend",
        "distributionTrend",
    ] {
        let rows = body[field].as_array().unwrap();
        let a1 = rows.iter().find(|r| r["segment"]["code"] == "A1").unwrap();
        assert_eq!(
            (&a1["suppressed"], &a1["reason"]),
            (&json!(true), &json!("SMALL_CELL")),
            "{field}: {a1}"
        );
        for row in rows {
            assert_eq!(
                row["suppressed"] == json!(true),
                !row["reason"].is_null(),
                "{field}: {row}"
            );
        }
        assert!(
            rows.iter().any(|r| r["reason"].is_null()),
            "{field}: some are shown"
        );
    }

    // Bad requests change nothing and say what is wrong.
    for (query, vars, code) in [
        (SERIES, json!({ "g": "GROUP", "r": [] }), "BAD_USER_INPUT"),
        (
            SERIES,
            json!({ "g": "GROUP", "r": [ROUND_2023, ROUND_2023] }),
            "BAD_USER_INPUT",
        ),
        (
            SERIES,
            json!({ "g": "GROUP", "r": ["00000000-0000-0000-0000-000000000001"] }),
            "NOT_FOUND",
        ),
        (
            TREND,
            json!({ "k": "no_such_key", "r": ROUND_2023, "g": "GROUP" }),
            "NOT_FOUND",
        ),
        (
            TREND,
            json!({ "k": "function_hours_text", "r": ROUND_2023, "g": "GROUP" }),
            "NOT_FOUND",
        ),
        (
            TREND,
            json!({ "k": "function_exists", "r": ROUND_2019, "g": "GROUP" }),
            "BAD_USER_INPUT",
        ),
    ] {
        let body = app.gql(None, query, vars.clone()).await;
        assert_eq!(error_codes(&body), [code], "{vars}: {body}");
    }
    // An OPEN round's figures are nobody's, also in a series.
    let open = app.open_round(2027).await;
    let body = app
        .gql(
            None,
            SERIES,
            json!({ "g": "NATIONAL", "r": [ROUND_2023, open] }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FAILED_PRECONDITION"]);
}

/// `distributionTrend(panel: true)`: only municipalities that answered in
/// both rounds, on both sides, counted as the exported answers say, under
/// the pair's panel plan (the same cells as `maturityTrend(panel: true)`).
#[tokio::test]
async fn a_panel_distribution_trend_counts_only_who_answered_in_both_rounds() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let analyst = crate::helpers::analyst_token();
    let query = "query($g: Grouping!) { \
        distributionTrend(questionKey: \"function_exists\", roundId: \"00000000-0000-0000-0000-000000002023\", \
        grouping: $g, panel: true) { segment { code } respondents baselineRespondents suppressed \
        counts { option { key } count baselineCount } } \
        maturityTrend(roundId: \"00000000-0000-0000-0000-000000002023\", grouping: $g, panel: true) { \
        segment { code } area { number } panelSize suppressed } }";

    // What the exported answers say: the panel, and its "yes" answers in each round.
    let mut answers: Vec<std::collections::HashMap<String, String>> = Vec::new();
    let mut respondents: Vec<std::collections::HashSet<String>> = Vec::new();
    for year in [2023, 2019] {
        let mut bytes = Vec::new();
        mognad::transfer::export_answers(&app.db, year, &mut bytes)
            .await
            .unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let (mut chosen, mut who) = (
            std::collections::HashMap::new(),
            std::collections::HashSet::new(),
        );
        for r in reader.records() {
            let r = r.unwrap();
            who.insert(r[0].to_owned());
            if &r[1] == "function_exists" {
                chosen.insert(r[0].to_owned(), r[2].to_owned());
            }
        }
        answers.push(chosen);
        respondents.push(who);
    }
    let panel: Vec<&String> = respondents[0].intersection(&respondents[1]).collect();
    // The demo's own plan hides its panels (see `disclosure`): this test is
    // about counting, under a plan that shows the nation's panel.
    crate::helpers::show_the_demo_national_panel(&app.db, panel.len()).await;
    let yes = |i: usize| {
        panel
            .iter()
            .filter(|m| answers[i].get(**m).map(String::as_str) == Some("yes"))
            .count()
    };

    let data = app.ok(&analyst, query, json!({ "g": "NATIONAL" })).await;
    let national = &data["distributionTrend"][0];
    assert_eq!(national["segment"]["code"], "SE");
    assert_eq!(national["suppressed"], false);
    assert_eq!(national["respondents"], panel.len());
    assert_eq!(national["baselineRespondents"], panel.len());
    assert_eq!(
        data["maturityTrend"][0]["panelSize"],
        panel.len(),
        "the same panel"
    );
    assert_eq!(count_of(national, "yes"), (json!(yes(0)), json!(yes(1))));
    assert!(yes(0) < 208 && yes(1) < 172, "fewer than the whole rounds'");
    // Every panel member is counted once on each side (options and no answer).
    let sum = |field: &str| -> i64 {
        national["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[field].as_i64().unwrap_or(0))
            .sum()
    };
    assert_eq!(sum("count"), panel.len() as i64);
    assert_eq!(sum("baselineCount"), panel.len() as i64);
    // "Vet inte" is new in 2023: unmapped, not zero.
    assert_eq!(count_of(national, "dont_know").1, Value::Null);

    // Per subgroup, a segment is shown exactly where the panel plan shows it.
    let data = app.ok(&analyst, query, json!({ "g": "SUBGROUP" })).await;
    for row in data["distributionTrend"].as_array().unwrap() {
        let code = &row["segment"]["code"];
        let cell = data["maturityTrend"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["segment"]["code"] == *code && t["area"]["number"] == 1)
            .unwrap();
        assert_eq!(row["suppressed"], cell["suppressed"], "{row}");
        assert_eq!(
            row["counts"].as_array().unwrap().is_empty(),
            row["suppressed"] == true
        );
    }
    // Not a round against itself.
    let body = app
        .gql(
            Some(&analyst),
            "{ distributionTrend(questionKey: \"function_exists\", roundId: \"00000000-0000-0000-0000-000000002023\", \
             baselineRoundId: \"00000000-0000-0000-0000-000000002023\", grouping: NATIONAL, panel: true) { suppressed } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
}
