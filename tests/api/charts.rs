//! Spider charts as SVG: parsed as XML (title, desc table, one point per
//! area and series), drawn to pixels with resvg, and refused as the figures
//! they show are.

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, roxmltree};
use serde_json::json;

use crate::helpers::{ROUND_2023, TestApp, admin_token, analyst_token, kommun_token, spawn_app};

/// The report's national means of the nine areas (2023), as the chart writes them.
const REPORT_MEANS: [&str; 9] = [
    "1,24", "1,62", "1,36", "1,43", "1,49", "1,39", "1,46", "1,45", "1,19",
];

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = app.client.get(format!("{}{path}", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, resp.text().await.unwrap())
}

/// The `<desc>` table's rows: the area's label and each series' cell.
fn table(svg: &str) -> Vec<Vec<String>> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(
        root.attribute("aria-labelledby"),
        Some("chart-title chart-desc")
    );
    let desc = root
        .children()
        .find(|n| n.has_tag_name("desc"))
        .and_then(|n| n.text())
        .unwrap();
    desc.lines()
        .filter(|l| l.contains(" | "))
        .map(|l| l.split(" | ").map(str::to_owned).collect())
        .collect()
}

/// The text a reader sees (every `<text>` outside `<title>` and `<desc>`)
/// of the elements of `class`, in document order.
fn visible(svg: &str, class: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("class") == Some(class))
        .map(|n| {
            n.descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect::<Vec<_>>()
                .join("")
        })
        .collect()
}

/// Draws the SVG and counts the pixels of `color` (`#rrggbb`).
fn pixels_of(svg: &str, color: &str) -> usize {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(&tree, Transform::default(), &mut pixmap.as_mut());
    let rgb: Vec<u8> = (0..3)
        .map(|i| u8::from_str_radix(&color[1 + 2 * i..3 + 2 * i], 16).unwrap())
        .collect();
    pixmap
        .pixels()
        .iter()
        .filter(|p| p.alpha() == 255 && [p.red(), p.green(), p.blue()] == rgb[..])
        .count()
}

#[tokio::test]
async fn a_segments_chart_shows_its_and_the_nations_means_and_draws() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let (status, kind, svg) = get(&app, "/charts/rounds/2023/radar.svg?segment=A", None).await;
    assert_eq!(status, 200, "{svg}");
    assert_eq!(kind, "image/svg+xml; charset=utf-8");
    let rows = table(&svg);
    assert_eq!(rows[0][0], "Område");
    assert_eq!(rows[0][2], "Riket");
    assert_eq!(rows.len(), 10, "a header and nine areas");
    let national: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(national, REPORT_MEANS);
    // The group's means are the API's.
    let body = app
        .data(
            "query($r: ID!) { maturityAggregates(roundId: $r, grouping: GROUP) { area { number } segment { code } meanLevel } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    for row in body["maturityAggregates"].as_array().unwrap() {
        if row["segment"]["code"] != "A" || row["area"]["number"].is_null() {
            continue;
        }
        let n = row["area"]["number"].as_u64().unwrap() as usize;
        let mean = format!("{:.2}", row["meanLevel"].as_f64().unwrap()).replace('.', ",");
        assert_eq!(rows[n][1], mean, "area {n}");
    }
    // One point per area and series, and both series drawn in their colours.
    assert_eq!(svg.matches("<circle").count(), 18);
    assert!(
        pixels_of(&svg, "#1d4ed8") > 200,
        "the nation's polygon is drawn"
    );
    assert!(
        pixels_of(&svg, "#c2410c") > 200,
        "the group's polygon is drawn"
    );

    // A visible title with the round and the segment, a scale from level 1
    // (the centre) to 2, nothing hidden to explain.
    assert_eq!(
        visible(&svg, "title"),
        ["Mognadsnivå per område 2023: Storstäder och storstadsnära kommuner (A) och riket"]
    );
    assert_eq!(visible(&svg, "scale"), ["1", "1,25", "1,5", "1,75", "2"]);
    assert!(visible(&svg, "note").is_empty());

    // Fetched without a token: kept by shared caches, with an ETag and 304
    // (the files' decision); with a token: private.
    let url = format!("{}/charts/rounds/2023/radar.svg?segment=A", app.address);
    let first = app.client.get(&url).send().await.unwrap();
    assert_eq!(first.headers()["cache-control"], "public, max-age=3600");
    let tag = first.headers()["etag"].clone();
    let again = app
        .client
        .get(&url)
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let mine = app
        .client
        .get(&url)
        .bearer_auth(analyst_token())
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["cache-control"], "private, no-store");
    assert!(mine.headers().get("etag").is_none());

    // The nation alone, by default.
    let (status, _, svg) = get(&app, "/charts/rounds/2023/radar.svg", None).await;
    assert_eq!(status, 200);
    assert_eq!(table(&svg)[0].len(), 2);
    assert_eq!(
        visible(&svg, "title"),
        ["Mognadsnivå per område 2023: riket"]
    );

    // A län: Skåne's means drawn beside the nation's, but for the areas the
    // interval audit hides there (2 and 4 in the demo); Gotland's hidden.
    let (status, _, svg) = get(&app, "/charts/rounds/2023/radar.svg?segment=12", None).await;
    assert_eq!(status, 200, "{svg}");
    let rows = table(&svg);
    assert_eq!(rows[0][1], "Skåne län");
    let hidden: Vec<&str> = rows[1..]
        .iter()
        .filter(|r| r[1] == "–")
        .map(|r| &r[0][..2])
        .collect();
    assert_eq!(hidden, ["2.", "4."], "{rows:?}");
    // Under its legend entry, visibly: which areas are not shown and why.
    assert_eq!(visible(&svg, "legend"), ["Skåne län", "Riket"]);
    assert_eq!(
        visible(&svg, "note"),
        [
            "områdena 2 och 4 visas inte: skulle kunna räknas fram ur andra visade siffror (DIFFERENCING)"
        ]
    );
    assert!(
        pixels_of(&svg, "#c2410c") > 200,
        "the län's polygon is drawn"
    );
    let (status, _, svg) = get(&app, "/charts/rounds/2023/radar.svg?segment=09", None).await;
    assert_eq!(status, 200, "{svg}");
    assert!(
        table(&svg)[1..].iter().all(|r| r[1] == "–"),
        "Gotland is not drawn"
    );
    assert_eq!(
        visible(&svg, "note"),
        ["visas inte: för få svarande (SMALL_CELL)"],
        "and says why under its name"
    );
    assert_eq!(
        visible(&svg, "title"),
        ["Mognadsnivå per område 2023: Gotlands län (09) och riket"]
    );

    for (path, code) in [
        ("/charts/rounds/2023/radar.svg?segment=Z", 400),
        ("/charts/rounds/2023/radar.svg?segment=A9", 404),
        ("/charts/rounds/2023/radar.svg?segment=99", 404),
        ("/charts/rounds/1999/radar.svg", 404),
        ("/charts/rounds/next/radar.svg", 400),
    ] {
        let (status, kind, body) = get(&app, path, None).await;
        assert_eq!(status, code, "{path}: {body}");
        assert!(kind.starts_with("application/json"), "{path}");
    }
    // An OPEN round's figures are nobody's.
    app.open_round(2027).await;
    let (status, _, body) = get(&app, "/charts/rounds/2027/radar.svg", Some(&admin_token())).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("FAILED_PRECONDITION"));
}

#[tokio::test]
async fn a_kommuns_own_chart_is_its_own_and_nobody_elses() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    for (token, status) in [
        (None, 401),
        (Some(analyst_token()), 403),
        (Some(admin_token()), 403),
    ] {
        let (got, _, body) = get(&app, "/charts/me/2023/radar.svg", token.as_deref()).await;
        assert_eq!(got, status, "{body}");
    }
    for (code, name) in [("1280", "Malmö"), ("0180", "Stockholm")] {
        let token = kommun_token(code);
        let (status, _, svg) = get(&app, "/charts/me/2023/radar.svg", Some(&token)).await;
        assert_eq!(status, 200, "{svg}");
        // The chart names the kommun, in its title and its legend.
        assert_eq!(
            visible(&svg, "title"),
            [format!(
                "Mognadsnivå per område 2023: {name} ({code}) jämförd med kommungruppen och riket"
            )]
        );
        assert_eq!(
            visible(&svg, "legend"),
            [
                format!("{name} ({code})"),
                "Kommungruppen".into(),
                "Riket".into()
            ]
        );
        let rows = table(&svg);
        assert_eq!(rows[0][1], format!("{name} ({code})"));
        let mine = app
            .ok(
                &token,
                "query($r: ID!) { myComparison(roundId: $r) { area { number } level groupMean nationalMean } }",
                json!({ "r": ROUND_2023 }),
            )
            .await;
        let cells = |v: &serde_json::Value, level: bool| match v.as_f64() {
            Some(x) if level => format!("{x:.0}"),
            Some(x) => format!("{x:.2}").replace('.', ","),
            None => "–".to_owned(),
        };
        for c in mine["myComparison"].as_array().unwrap() {
            let Some(n) = c["area"]["number"].as_u64() else {
                continue;
            };
            let row = &rows[n as usize];
            assert_eq!(row[1], cells(&c["level"], true), "{code} area {n}");
            assert_eq!(row[2], cells(&c["groupMean"], false), "{code} area {n}");
            assert_eq!(row[3], cells(&c["nationalMean"], false), "{code} area {n}");
        }
        assert!(
            pixels_of(&svg, "#047857") > 100,
            "the kommun's own levels are drawn"
        );
    }
}
