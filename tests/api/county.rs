//! Län (`Grouping.COUNTY`): figures per county, planned beside the groups,
//! on the demo data.

use std::collections::{BTreeMap, HashMap};

use entity::{area, area_score, municipality, release_plan};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ROUND_2019, ROUND_2023, error_codes, spawn_app};

const COUNTY: &str = "query($r: ID!) { maturityAggregates(roundId: $r, grouping: COUNTY) { \
    segment { code name kind population } area { number } respondents level2Count meanLevel suppressed reason } }";

/// The rows of area 1, by county code.
fn by_county(body: &Value) -> BTreeMap<String, Value> {
    body["maturityAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["area"]["number"] == 1)
        .map(|r| (r["segment"]["code"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

#[tokio::test]
async fn the_demo_round_of_2023_by_lan_shows_most_counties_and_hides_the_small_ones() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let body = app.data(COUNTY, json!({ "r": ROUND_2023 })).await;
    let rows = by_county(&body);
    assert_eq!(rows.len(), 21, "{rows:?}");
    assert_eq!(
        rows.values()
            .map(|r| r["segment"]["population"].as_i64().unwrap())
            .sum::<i64>(),
        290
    );
    assert!(rows.values().all(|r| r["segment"]["kind"] == "COUNTY"
        && r["segment"]["name"].as_str().unwrap().ends_with("län")));
    // Gotland is one kommun.
    let gotland = &rows["09"];
    assert_eq!(gotland["segment"]["name"], "Gotlands län");
    assert_eq!(gotland["segment"]["population"], 1);
    assert_eq!(gotland["suppressed"], true);
    assert_eq!(gotland["reason"], "SMALL_CELL");
    assert_eq!(gotland["meanLevel"], Value::Null);
    // Örebro has two respondents in the demo; hiding it beside Gotland would
    // leave the nation minus the other län at two, so one more län goes.
    assert_eq!(rows["18"]["reason"], "SMALL_CELL");
    let hidden: Vec<&String> = rows
        .iter()
        .filter(|(_, r)| r["suppressed"] == true)
        .map(|(c, _)| c)
        .collect();
    let hidden_respondents: i64 = rows
        .iter()
        .filter(|(_, r)| r["suppressed"] == true)
        .map(|(_, r)| r["respondents"].as_i64().unwrap())
        .sum();
    assert!(
        hidden.len() >= 3 && hidden_respondents >= 5,
        "{hidden:?} with {hidden_respondents} respondents"
    );
    // The interval audit of area 1 (its level-2 counts and its maturity
    // question's answers) hides six more (Blekinge: one of five at level 2,
    // which would tell Olofström the other four).
    assert_eq!(
        hidden,
        ["01", "03", "07", "09", "10", "13", "18", "19"]
            .iter()
            .collect::<Vec<_>>(),
        "{hidden:?}"
    );
    assert!(
        rows.iter()
            .filter(|(c, _)| !["09", "18"].contains(&c.as_str()))
            .all(|(_, r)| r["suppressed"] == false || r["reason"] == "DIFFERENCING"),
        "{rows:?}"
    );

    // The README's län table is this one.
    let readme = include_str!("../../docs/using.md");
    let table = &readme[readme.find("<!-- county table -->").unwrap()..];
    let lines: Vec<&str> = table
        .lines()
        .skip(3)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(lines.len(), 21);
    for line in lines {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let row = &rows[cells[0]];
        assert_eq!(row["segment"]["name"], cells[1], "{line}");
        assert_eq!(row["segment"]["population"].to_string(), cells[2], "{line}");
        assert_eq!(row["respondents"].to_string(), cells[3], "{line}");
        let shown = row["reason"].as_str().unwrap_or("shown");
        assert_eq!(shown, cells[4], "{line}");
        let level2 = row["level2Count"].as_i64().map(|n| n.to_string());
        assert_eq!(level2.as_deref().unwrap_or(""), cells[5], "{line}");
    }

    // Every shown figure is the count of the county's municipalities at
    // level 2 or higher, recomputed from the frozen scores.
    let round = Uuid::parse_str(ROUND_2023).unwrap();
    let county_of: HashMap<String, String> = municipality::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.code, m.county_code))
        .collect();
    let areas: HashMap<Uuid, i32> = area::Entity::find()
        .filter(area::Column::RoundId.eq(round))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|a| a.number.map(|n| (a.id, n)))
        .collect();
    let mut level2: HashMap<(String, i32), i64> = HashMap::new();
    for s in area_score::Entity::find()
        .filter(area_score::Column::RoundId.eq(round))
        .all(&app.db)
        .await
        .unwrap()
    {
        if let Some(&n) = areas.get(&s.area_id)
            && s.level >= 2
        {
            *level2
                .entry((county_of[&s.municipality_code].clone(), n))
                .or_default() += 1;
        }
    }
    let mut checked = 0;
    for row in body["maturityAggregates"].as_array().unwrap() {
        if row["suppressed"] == true {
            continue;
        }
        let code = row["segment"]["code"].as_str().unwrap().to_owned();
        let n = row["area"]["number"].as_i64().unwrap() as i32;
        let expected = level2.get(&(code, n)).copied().unwrap_or(0);
        assert_eq!(row["level2Count"], expected, "{row}");
        let population = row["segment"]["population"].as_f64().unwrap();
        let mean = row["meanLevel"].as_f64().unwrap();
        assert!(
            (mean - (1.0 + expected as f64 / population)).abs() < 1e-9,
            "{row}"
        );
        checked += 1;
    }
    assert!(checked >= 9, "{checked} figures checked");

    // The group figures are the report's as before: län are planned beside them.
    let groups = app
        .data(
            "query($r: ID!) { maturityAggregates(roundId: $r, grouping: SUBGROUP) { segment { code } suppressed reason } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    let hidden: Vec<&str> = groups["maturityAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressed"] == true)
        .map(|r| r["segment"]["code"].as_str().unwrap())
        .collect();
    assert!(
        hidden.iter().all(|c| *c == "A1" || *c == "A2"),
        "{hidden:?}"
    );
}

#[tokio::test]
async fn every_figure_takes_lan_and_panels_by_lan_are_refused() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let body = app
        .data(
            "query($r: ID!, $b: ID!) { \
             d: answerDistribution(roundId: $r, questionKey: \"risk_managed\", grouping: COUNTY) { segment { code } suppressed } \
             p: processShare(roundId: $r, grouping: COUNTY) { segment { code } suppressed } \
             h: estimatedWeeklyHours(roundId: $r, grouping: COUNTY) { segment { code } suppressed } \
             t: maturityTrend(roundId: $r, baselineRoundId: $b, grouping: COUNTY) { segment { code } area { number } suppressed } \
             dt: distributionTrend(questionKey: \"function_exists\", roundId: $r, baselineRoundId: $b, grouping: COUNTY) { segment { code } suppressed counts { count baselineCount } } \
             s: maturitySeries(grouping: COUNTY, roundIds: [$b, $r]) { round { year } segment { code } area { number } suppressed } }",
            json!({ "r": ROUND_2023, "b": ROUND_2019 }),
        )
        .await;
    for alias in ["d", "p", "h"] {
        let rows = body[alias].as_array().unwrap();
        let counties: std::collections::BTreeSet<&str> = rows
            .iter()
            .map(|r| r["segment"]["code"].as_str().unwrap())
            .collect();
        assert_eq!(counties.len(), 21, "{alias}: {rows:?}");
        let gotland = rows.iter().find(|r| r["segment"]["code"] == "09").unwrap();
        assert_eq!(gotland["suppressed"], true, "{alias}");
        assert!(rows.iter().any(|r| r["suppressed"] == false), "{alias}");
    }
    let trend = body["t"].as_array().unwrap();
    assert_eq!(trend.len(), 21 * 9);
    assert_eq!(body["s"].as_array().unwrap().len(), 2 * 21 * 9);
    // A question's län beside the baseline's: hidden where either round hides it.
    let dt = body["dt"].as_array().unwrap();
    assert_eq!(dt.len(), 21);
    let gotland = dt.iter().find(|r| r["segment"]["code"] == "09").unwrap();
    assert_eq!(gotland["suppressed"], true);
    assert!(
        dt.iter()
            .all(|r| (r["suppressed"] == true) == r["counts"].as_array().unwrap().is_empty())
    );

    for query in [
        "query($r: ID!, $b: ID!) { maturityTrend(roundId: $r, baselineRoundId: $b, grouping: COUNTY, panel: true) { suppressed } }",
        "query($r: ID!, $b: ID!) { distributionTrend(questionKey: \"risk_managed\", roundId: $r, baselineRoundId: $b, grouping: COUNTY, panel: true) { suppressed } }",
    ] {
        let body = app
            .query(query, json!({ "r": ROUND_2023, "b": ROUND_2019 }))
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("län")
        );
    }

    // The open data file and the chart of a län.
    let csv = app
        .get("/open-data/rounds/2023/maturity.csv?grouping=COUNTY")
        .await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("2023,COUNTY,12,Skåne län,")),
        "{text}"
    );
}

#[tokio::test]
async fn a_plan_stored_before_lan_gets_them_beside_its_panels() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    // As a plan made by an earlier version: no län table.
    for row in release_plan::Entity::find().all(&app.db).await.unwrap() {
        let mut plan: Value = serde_json::from_str(&row.plan).unwrap();
        assert!(plan["counties"].is_object(), "a new plan has its län");
        plan.as_object_mut().unwrap().remove("counties");
        let mut active: release_plan::ActiveModel = row.into();
        active.plan = Set(plan.to_string());
        active.update(&app.db).await.unwrap();
    }
    // A panel is planned first, then län are asked for.
    let panel = app
        .data(
            "query($r: ID!, $b: ID!) { maturityTrend(roundId: $r, baselineRoundId: $b, grouping: SUBGROUP, panel: true) { suppressed } }",
            json!({ "r": ROUND_2023, "b": ROUND_2019 }),
        )
        .await;
    // (The demo's panels pin the values of those who answered one round
    // only, so the panel plan shows none of them.)
    let panel = panel["maturityTrend"].as_array().unwrap();
    assert!(!panel.is_empty() && panel.iter().all(|r| r["suppressed"] == true));
    let rows = by_county(&app.data(COUNTY, json!({ "r": ROUND_2023 })).await);
    assert_eq!(rows.len(), 21);
    assert_eq!(rows["09"]["suppressed"], true);
    assert_eq!(rows["04"]["suppressed"], false);
    // Stored now, and read the same way again.
    let key = format!("round:{ROUND_2023}:k5");
    let stored = release_plan::Entity::find_by_id(key)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let plan: Value = serde_json::from_str(&stored.plan).unwrap();
    assert_eq!(plan["counties"]["cells"].as_array().unwrap().len(), 22);
    let again = by_county(&app.data(COUNTY, json!({ "r": ROUND_2023 })).await);
    assert_eq!(again, rows);
}
