//! One decision per door: embargo, access, people, cursors, caching and
//! escaping are decided by the policy and carried to every door —
//! GraphQL, the open-data files, the charts, the change feed and
//! `export-answers`. Each test tries a door the way an attacker would.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::figures::answer_group_a;
use crate::helpers::*;

/// A GET as read: status, headers, body.
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> String {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn fetch(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("a body").to_vec(),
    }
}

const COMPARISON: &str = "query($r: ID!) { myComparison(roundId: $r) { area { number } level \
    groupMean groupMeanReason nationalMean nationalMeanReason } }";

#[tokio::test]
async fn a_kommun_reads_no_means_of_a_closed_round_on_any_door() {
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    answer_group_a(&app, &round).await;
    app.transition("closeSurveyRound", &round).await;
    let token = kommun_token("0180");

    // CLOSED: the kommun's own levels, no one's means.
    let rows = app.ok(&token, COMPARISON, json!({ "r": round })).await["myComparison"].clone();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 9);
    for row in rows {
        assert_eq!(row["groupMean"], Value::Null, "{row}");
        assert_eq!(row["nationalMean"], Value::Null, "{row}");
        // And says why.
        assert_eq!(row["groupMeanReason"], "NOT_PUBLISHED", "{row}");
        assert_eq!(row["nationalMeanReason"], "NOT_PUBLISHED", "{row}");
        assert!(row["level"].is_i64());
    }
    assert_eq!(rows[2]["level"], 2, "its own level in area 3");
    // The figures field says why; the comparison agrees with it.
    let refused = app
        .gql(
            Some(&token),
            "query($r: ID!) { maturityAggregates(roundId: $r, grouping: NATIONAL) { meanLevel } }",
            json!({ "r": round }),
        )
        .await;
    assert_eq!(error_codes(&refused), ["FAILED_PRECONDITION"]);
    // The radar chart draws the kommun alone: the nation's 1 + 46/290 is nowhere.
    let chart = fetch(&app, "/charts/me/2027/radar.svg", Some(&token)).await;
    assert_eq!(chart.status, 200, "{}", chart.text());
    assert!(!chart.text().contains("1,16"), "{}", chart.text());
    assert!(!chart.text().contains("1,00"), "no group mean either");
    assert!(
        chart
            .text()
            .contains(">visas inte: omgången är inte publicerad ännu</text>"),
        "the chart says why, visibly: {}",
        chart.text()
    );

    // What the plan hides: SKR's to read once CLOSED, nobody else's.
    let summary = "query($r: ID!) { surveyRound(id: $r) { releaseSummary { smallCell hidden { segment { code } } } } }";
    let none = app.ok(&token, summary, json!({ "r": round })).await;
    assert_eq!(none["surveyRound"]["releaseSummary"], Value::Null);
    let skr = app
        .ok(&analyst_token(), summary, json!({ "r": round }))
        .await;
    assert!(
        skr["surveyRound"]["releaseSummary"]["smallCell"]
            .as_i64()
            .unwrap()
            > 0
    );

    // PUBLISHED: the means are the kommun's to see, on both doors; the
    // admin who publishes reads what the plan hides in the answer.
    let published = app
        .ok(
            &admin_token(),
            "mutation($id: ID!) { publishSurveyRound(id: $id) { status releaseSummary { smallCell hidden { reason } } } }",
            json!({ "id": round }),
        )
        .await;
    assert_eq!(published["publishSurveyRound"]["status"], "PUBLISHED");
    assert_eq!(
        published["publishSurveyRound"]["releaseSummary"]["smallCell"],
        skr["surveyRound"]["releaseSummary"]["smallCell"]
    );
    let rows = app.ok(&token, COMPARISON, json!({ "r": round })).await["myComparison"].clone();
    let area3 = &rows.as_array().unwrap()[2];
    let national = area3["nationalMean"].as_f64().unwrap();
    assert!((national - (1.0 + 46.0 / 290.0)).abs() < 1e-9, "{area3}");
    assert!(area3["groupMean"].as_f64().is_some());
    assert_eq!(
        (&area3["groupMeanReason"], &area3["nationalMeanReason"]),
        (&Value::Null, &Value::Null)
    );
    let chart = fetch(&app, "/charts/me/2027/radar.svg", Some(&token)).await;
    assert!(chart.text().contains("1,16"), "{}", chart.text());
}

#[tokio::test]
async fn who_edited_guidance_is_shown_to_skr_only() {
    let app = spawn_app().await;
    let keys = app
        .data(
            "query($r: ID!) { surveyRound(id: $r) { areas { key number } } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    let area = keys["surveyRound"]["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["number"] == 3)
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let set = "mutation($r: ID!, $k: String!) { setGuidance(roundId: $r, areaKey: $k, \
        textSv: \"Gör så här.\", textEn: \"Do this.\") { editedBy } }";
    let done = app
        .ok(&admin_token(), set, json!({ "r": ROUND_2023, "k": area }))
        .await;
    assert_eq!(done["setGuidance"]["editedBy"], "user-skr_admin");

    let query = "query($r: ID!) { surveyRound(id: $r) { guidance { areaKey editedBy editedAt } } }";
    let kommun = kommun_token("1280");
    let (analyst, admin) = (analyst_token(), admin_token());
    for (who, token, shown) in [
        ("anonymous", None, false),
        ("kommun", Some(kommun.as_str()), false),
        ("analyst", Some(analyst.as_str()), true),
        ("admin", Some(admin.as_str()), true),
    ] {
        let body = app.gql(token, query, json!({ "r": ROUND_2023 })).await;
        let edited = body["data"]["surveyRound"]["guidance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["areaKey"] == area.as_str())
            .unwrap()
            .clone();
        assert!(edited["editedAt"].is_string(), "{who}: {edited}");
        let expected = if shown {
            json!("user-skr_admin")
        } else {
            Value::Null
        };
        assert_eq!(edited["editedBy"], expected, "{who}");
    }
    // A kommun's own guidance (myScores) names no one either.
    let mine = app
        .ok(
            &kommun,
            "query($r: ID!) { myScores(roundId: $r) { guidance { editedBy } } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    let text = mine.to_string();
    assert!(!text.contains("user-skr_admin"), "{text}");
}

const FEED: &str = "query($a: String, $f: Int!) { changes(after: $a, first: $f) { \
    edges { cursor node { id kind at municipalityCode round { id } } } pageInfo { endCursor hasNextPage } } }";

/// Every event `token` sees, one page of one at a time.
async fn whole_feed(app: &TestApp, token: Option<&str>) -> Vec<Value> {
    let (mut after, mut out) = (Value::Null, Vec::new());
    loop {
        let body = app.gql(token, FEED, json!({ "a": after, "f": 1 })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let page = &body["data"]["changes"];
        for edge in page["edges"].as_array().unwrap() {
            out.push(edge.clone());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn feed_cursors_are_the_callers_own_and_say_nothing_of_other_events() {
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    for code in ["1280", "0180", "0114"] {
        app.save_and_submit(code, &round, crate::isolation::full_answers())
            .await;
    }
    let (malmo, stockholm, admin) = (kommun_token("1280"), kommun_token("0180"), admin_token());
    let mine = whole_feed(&app, Some(&malmo)).await;
    let kinds: Vec<&str> = mine
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ROUND_OPENED", "RESPONSE_SUBMITTED"]);
    let everything = whole_feed(&app, Some(&admin)).await;
    assert_eq!(everything.len(), 5, "created, opened, three submissions");

    // The same event has another id for every audience.
    let opened = |events: &[Value]| {
        events
            .iter()
            .find(|e| e["node"]["kind"] == "ROUND_OPENED")
            .unwrap()["node"]["id"]
            .clone()
    };
    let theirs = whole_feed(&app, Some(&stockholm)).await;
    assert_ne!(opened(&mine), opened(&everything));
    assert_ne!(opened(&mine), opened(&theirs));
    for e in &mine {
        assert_eq!(e["cursor"], e["node"]["id"]);
    }

    // A cursor is refused from anyone it was not given to, and forged or
    // edited ones are refused: none is read as a position.
    let first = mine[0]["cursor"].as_str().unwrap().to_owned();
    let mut edited = first.clone().into_bytes();
    edited[3] = if edited[3] == b'a' { b'b' } else { b'a' };
    let edited = String::from_utf8(edited).unwrap();
    let analyst = analyst_token();
    for (token, cursor) in [
        (Some(stockholm.as_str()), first.as_str()),
        (None, first.as_str()),
        (Some(admin.as_str()), first.as_str()),
        (Some(analyst.as_str()), first.as_str()),
        (Some(malmo.as_str()), edited.as_str()),
        // async-graphql's own opaque cursors of small ids, as the feed once gave them.
        (Some(malmo.as_str()), "MQ"),
        (Some(malmo.as_str()), "Mg"),
        (Some(malmo.as_str()), "NQ"),
        (Some(malmo.as_str()), "MTAw"),
        (Some(malmo.as_str()), "0"),
        (Some(malmo.as_str()), ""),
    ] {
        let body = app.gql(token, FEED, json!({ "a": cursor, "f": 10 })).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{cursor:?}: {body}");
    }

    // Times at the caller's precision: a kommun its own submission exactly,
    // SKR a response's event by the day, as byMunicipality dates it.
    let submitted = app
        .ok(
            &malmo,
            "query($r: ID!) { myResponse(roundId: $r) { submittedAt } }",
            json!({ "r": round }),
        )
        .await["myResponse"]["submittedAt"]
        .clone();
    let own = mine
        .iter()
        .find(|e| e["node"]["kind"] == "RESPONSE_SUBMITTED")
        .unwrap();
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let apart = at(&own["node"]["at"]) - at(&submitted);
    assert!(apart.num_milliseconds().abs() < 1000, "{own} {submitted}");
    assert_ne!(at(&own["node"]["at"]).time(), chrono::NaiveTime::MIN);
    for e in &everything {
        let when = at(&e["node"]["at"]);
        if e["node"]["municipalityCode"].is_string() {
            assert_eq!(when.time(), chrono::NaiveTime::MIN, "{e}");
            assert!(when <= at(&submitted), "{e}");
            assert!(at(&submitted) - when < chrono::Duration::days(1), "{e}");
        }
    }
    // The response's history pages with cursors of its own too.
    let history = "query($r: ID!, $a: String) { myResponse(roundId: $r) { historyConnection(after: $a, first: 1) { \
        edges { cursor } } } }";
    let page = app
        .ok(&malmo, history, json!({ "r": round, "a": null }))
        .await;
    let cursor = page["myResponse"]["historyConnection"]["edges"][0]["cursor"].clone();
    let next = app
        .gql(Some(&malmo), history, json!({ "r": round, "a": cursor }))
        .await;
    assert!(next.get("errors").is_none(), "{next}");
    // … which the feed does not take, nor another kommun's history.
    let body = app
        .gql(Some(&malmo), FEED, json!({ "a": cursor, "f": 1 }))
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    let body = app
        .gql(
            Some(&stockholm),
            history,
            json!({ "r": round, "a": cursor }),
        )
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn cache_headers_follow_the_audience_on_every_route() {
    let app = spawn_app().await;
    app.transition("publishSurveyRound", ROUND_2023).await;
    let (kommun, analyst, admin) = (kommun_token("1280"), analyst_token(), admin_token());
    let roles = [
        ("anonymous", None),
        ("kommun", Some(kommun.as_str())),
        ("analyst", Some(analyst.as_str())),
        ("admin", Some(admin.as_str())),
    ];
    let public_routes = [
        "/open-data/rounds/2023/maturity.csv",
        "/open-data/rounds/2023/maturity.xlsx",
        "/open-data/rounds/2023/answers.json?question=risk_managed",
        "/charts/rounds/2023/radar.svg?segment=A",
        "/graphql?query=%7Bviewer%7Brole%7D%7D",
    ];
    for path in public_routes {
        for (role, token) in roles {
            let reply = fetch(&app, path, token).await;
            assert_eq!(reply.status, 200, "{role} {path}: {}", reply.text());
            let cache = reply.header("cache-control");
            assert!(
                reply.header("vary").contains("Authorization"),
                "{role} {path}: Vary {:?}",
                reply.header("vary")
            );
            if token.is_none() {
                assert!(cache.starts_with("public"), "{role} {path}: {cache}");
            } else {
                assert_eq!(cache, "private, no-store", "{role} {path}");
                assert!(reply.headers.get("etag").is_none(), "{role} {path}");
            }
        }
    }
    // SKR's and a kommun's own: never public, whoever asks.
    for (role, token) in roles {
        for path in [
            "/open-data/rounds/2023/participation.csv",
            "/charts/me/2023/radar.svg",
        ] {
            let reply = fetch(&app, path, token).await;
            assert!(
                !reply.header("cache-control").contains("public"),
                "{role} {path}: {} {}",
                reply.status,
                reply.header("cache-control")
            );
            assert!(reply.header("vary").contains("Authorization"));
        }
    }
    let skr = fetch(
        &app,
        "/open-data/rounds/2023/participation.csv",
        Some(&admin),
    )
    .await;
    assert_eq!(skr.status, 200);
    assert_eq!(skr.header("cache-control"), "private, no-store");
    // Refusals are not kept: a bad token, a round that is not there.
    for (path, token) in [
        ("/open-data/rounds/2023/maturity.csv", Some("not-a-token")),
        ("/open-data/rounds/1999/maturity.csv", None),
        ("/charts/rounds/1999/radar.svg", None),
        ("/graphql?query=%7Bviewer%7Brole%7D%7D", Some("not-a-token")),
    ] {
        let reply = fetch(&app, path, token).await;
        assert!(reply.status >= 400, "{path}");
        assert_eq!(reply.header("cache-control"), "private, no-store", "{path}");
    }
    // Health is of the moment (never kept); the SDL is everyone's; metrics
    // (with an SKR admin's token) are private.
    for path in ["/health/live", "/health/ready"] {
        assert_eq!(
            fetch(&app, path, None).await.header("cache-control"),
            "private, no-store",
            "{path}"
        );
    }
    let sdl = fetch(&app, "/schema.graphql", None).await;
    assert!(sdl.header("cache-control").starts_with("public"));
    let metrics = fetch(&app, "/metrics", Some(&admin)).await;
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.header("cache-control"), "private, no-store");
    // POST answers say so too.
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&kommun)
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["cache-control"].to_str().unwrap(),
        "private, no-store"
    );
}

/// The attack strings of OWASP's CSV-injection page, and one for SVG.
const ATTACKS: [&str; 4] = [
    "=HYPERLINK(\"http://example.com/x\",\"Klicka\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
];

/// Whether a CSV field would run as a formula in a spreadsheet.
fn formula(field: &str) -> bool {
    field.starts_with(['=', '+', '-', '@', '\t', '\r']) && field.parse::<f64>().is_err()
}

fn csv_fields(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn no_file_or_chart_carries_a_formula_or_markup() {
    let app = spawn_app().await;
    let admin = admin_token();
    let round = app.create_round(2027).await;
    let areas = app
        .ok(
            &admin,
            "query($r: ID!) { surveyRound(id: $r) { areas { key number titleEn: title } } }",
            json!({ "r": round }),
        )
        .await;
    let key_of = |n: i64| {
        areas["surveyRound"]["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["number"] == n)
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let area = "mutation($r: ID!, $a: AreaInput!) { upsertArea(roundId: $r, input: $a) { id } }";
    for (n, title) in [(1, "=1+2"), (2, "<script>alert(1)</script> & \"x\"")] {
        app.ok(
            &admin,
            area,
            json!({ "r": round, "a": { "key": key_of(n), "number": n, "titleSv": title, "titleEn": title } }),
        )
        .await;
    }
    let question =
        "mutation($r: ID!, $q: QuestionInput!) { upsertQuestion(roundId: $r, input: $q) { id } }";
    app.ok(
        &admin,
        question,
        json!({ "r": round, "q": { "key": "notes", "areaKey": key_of(1), "textSv": "Kommentar",
            "textEn": "Comment", "kind": "TEXT", "maxLength": 500 } }),
    )
    .await;
    let options: Vec<Value> = ATTACKS
        .iter()
        .enumerate()
        .map(|(i, label)| json!({ "key": format!("o{i}"), "labelSv": label, "labelEn": label }))
        .collect();
    app.ok(
        &admin,
        question,
        json!({ "r": round, "q": { "key": "channel", "areaKey": key_of(1), "textSv": "Kanal",
            "textEn": "Channel", "kind": "SINGLE_CHOICE", "options": options } }),
    )
    .await;
    app.transition("openSurveyRound", &round).await;
    let group_a: Vec<String> = crate::figures::municipalities()
        .into_iter()
        .filter(|k| k.group == "A")
        .map(|k| k.code)
        .collect();
    let mut texts = BTreeMap::new();
    for (i, code) in group_a.iter().enumerate() {
        let text = ATTACKS[i % ATTACKS.len()];
        texts.insert(code.clone(), text);
        let answers = json!([
            { "questionKey": "risk_managed", "value": { "choice": "yes_fully" } },
            { "questionKey": "notes", "value": { "text": text } },
            { "questionKey": "channel", "value": { "choice": format!("o{}", i % ATTACKS.len()) } },
        ]);
        app.ok(
            &kommun_token(code),
            SAVE,
            json!({ "r": round, "a": answers }),
        )
        .await;
    }
    app.transition("closeSurveyRound", &round).await;
    app.transition("publishSurveyRound", &round).await;

    // export-answers: every text answer as text, read back exactly by the importer's rule.
    let mut bytes = Vec::new();
    mognad::transfer::export_answers(&app.db, 2027, &mut bytes)
        .await
        .unwrap();
    let rows = csv_fields(&bytes);
    let mut notes = 0;
    for row in &rows {
        assert!(!row.iter().any(|f| formula(f)), "{row:?}");
        if row[1] == "notes" {
            assert!(row[2].starts_with('\''), "{row:?}");
            assert_eq!(mognad::tabular::unneutralised(&row[2]), texts[&row[0]]);
            notes += 1;
        }
    }
    assert_eq!(notes, group_a.len());

    // Every open-data file in CSV: no formula; in XLSX and JSON the text as it is.
    for path in [
        "maturity.csv?grouping=NATIONAL",
        "maturity.csv?grouping=SUBGROUP",
        "maturity.csv?grouping=COUNTY",
        "answers.csv?question=channel&grouping=GROUP",
        "answers.csv?question=risk_managed",
    ] {
        let file = fetch(&app, &format!("/open-data/rounds/2027/{path}"), None).await;
        assert_eq!(file.status, 200, "{path}: {}", file.text());
        let rows = csv_fields(&file.body);
        assert!(rows.len() > 1, "{path}");
        for row in &rows {
            assert!(!row.iter().any(|f| formula(f)), "{path}: {row:?}");
        }
    }
    let maturity = fetch(&app, "/open-data/rounds/2027/maturity.csv", None).await;
    assert!(maturity.text().contains("'=1+2"), "{}", maturity.text());
    let labels = fetch(
        &app,
        "/open-data/rounds/2027/answers.csv?question=channel",
        None,
    )
    .await;
    for attack in ATTACKS {
        let neutral = format!("'{attack}");
        assert!(
            csv_fields(&labels.body).iter().any(|r| r[6] == neutral),
            "{attack}: {}",
            labels.text()
        );
    }
    let participation = fetch(
        &app,
        "/open-data/rounds/2027/participation.csv",
        Some(&admin),
    )
    .await;
    assert_eq!(participation.status, 200);
    assert!(
        !csv_fields(&participation.body)
            .iter()
            .flatten()
            .any(|f| formula(f))
    );
    let json = fetch(&app, "/open-data/rounds/2027/maturity.json", None).await;
    let json: Value = serde_json::from_slice(&json.body).unwrap();
    assert!(
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["area_title"] == "=1+2")
    );
    let xlsx = fetch(&app, "/open-data/rounds/2027/maturity.xlsx", None).await;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = calamine::Reader::worksheet_range_at(&mut book, 0)
        .unwrap()
        .unwrap();
    assert!(sheet.rows().any(|r| {
        r.iter()
            .any(|c| *c == calamine::Data::String("=1+2".into()))
    }));
    let formulas = calamine::Reader::worksheet_formula(&mut book, "maturity 2027").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formula in the sheet"
    );

    // Every chart: markup in a title is text.
    let kommun = kommun_token(&group_a[0]);
    for (path, token) in [
        ("/charts/rounds/2027/radar.svg", None),
        ("/charts/rounds/2027/radar.svg?segment=A", None),
        ("/charts/rounds/2027/radar.svg?segment=01", None),
        ("/charts/me/2027/radar.svg", Some(kommun.as_str())),
    ] {
        let chart = fetch(&app, path, token).await;
        assert_eq!(chart.status, 200, "{path}: {}", chart.text());
        let svg = chart.text();
        assert!(!svg.contains("<script"), "{path}");
        assert!(
            svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp;"),
            "{path}"
        );
    }
}

/// The query fields' arguments filled for round `round` (year `year`):
/// one request per value of each enum argument, optional ones left out.
fn argument_sets(field: &Value, round: &str) -> Vec<BTreeMap<String, Value>> {
    let mut sets = vec![BTreeMap::new()];
    for arg in field["args"].as_array().unwrap() {
        let name = arg["name"].as_str().unwrap();
        let values: Vec<Value> = match name {
            "roundId" | "id" => vec![json!(round)],
            "roundIds" => vec![json!([round])],
            "questionKey" => vec![json!("risk_managed"), json!("function_hours")],
            "grouping" => ["NATIONAL", "GROUP", "SUBGROUP", "COUNTY"]
                .iter()
                .map(|g| json!(g))
                .collect(),
            "panel" => vec![json!(false), json!(true)],
            _ if arg["type"]["kind"] == "NON_NULL" && arg["defaultValue"].is_null() => {
                panic!("the walk cannot fill {name} of {}", field["name"])
            }
            _ => continue,
        };
        sets = sets
            .into_iter()
            .flat_map(|set| {
                values.iter().map(move |v| {
                    let mut set = set.clone();
                    set.insert(name.to_owned(), v.clone());
                    set
                })
            })
            .collect();
    }
    sets
}

/// The named type under NON_NULL and LIST.
fn named(ty: &Value) -> &Value {
    if ty["ofType"].is_null() {
        ty
    } else {
        named(&ty["ofType"])
    }
}

/// Every field of `type_name` a query may select without arguments, to
/// `depth` levels of objects.
fn selection(types: &BTreeMap<String, Value>, type_name: &str, depth: usize) -> String {
    let ty = &types[type_name];
    let mut out = Vec::new();
    for f in ty["fields"].as_array().into_iter().flatten() {
        let required = f["args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"]["kind"] == "NON_NULL" && a["defaultValue"].is_null());
        if required {
            continue;
        }
        let inner = named(&f["type"]);
        let name = f["name"].as_str().unwrap();
        match inner["kind"].as_str().unwrap() {
            "SCALAR" | "ENUM" => out.push(name.to_owned()),
            "OBJECT" | "INTERFACE" if depth > 0 => {
                out.push(format!(
                    "{name} {{ {} }}",
                    selection(types, inner["name"].as_str().unwrap(), depth - 1)
                ));
            }
            _ => {}
        }
    }
    if out.is_empty() {
        out.push("__typename".into());
    }
    out.join(" ")
}

/// A response with what differs between two worlds for reasons other than
/// answers made equal: round ids, years, times, cursors.
fn normalised(value: &Value, rounds: &[(&str, i64); 2]) -> Value {
    match value {
        Value::String(s) => {
            let mut s = s.clone();
            for (id, year) in rounds {
                s = s.replace(id, "ROUND").replace(&year.to_string(), "YEAR");
            }
            if chrono::DateTime::parse_from_rfc3339(&s).is_ok() {
                return json!("TIME");
            }
            if uuid::Uuid::parse_str(&s).is_ok() {
                return json!("UUID");
            }
            json!(s)
        }
        Value::Number(n) if rounds.iter().any(|(_, y)| n.as_i64() == Some(*y)) => json!("YEAR"),
        Value::Array(items) => Value::Array(items.iter().map(|v| normalised(v, rounds)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "cursor" | "endCursor" | "startCursor"))
                .map(|(k, v)| (k.clone(), normalised(v, rounds)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Of a list that holds both rounds (`surveyRounds`), the entry of `id`.
fn entry_of(value: &Value, id: &str) -> Value {
    match value {
        Value::Array(items) if items.iter().any(|i| i.get("id").is_some()) => items
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// The walk: every query field with every argument set, one document each
/// (labelled), from the schema as introspection gives it.
struct Walk {
    fields: Vec<Value>,
    types: BTreeMap<String, Value>,
}

impl Walk {
    async fn of(app: &TestApp) -> Self {
        let schema = app
            .ok(
                &admin_token(),
                "{ __schema { queryType { fields { name args { name defaultValue type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } \
                   type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } \
                   types { name kind fields { name args { name defaultValue type { kind name ofType { kind name ofType { kind name } } } } \
                   type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }",
                json!({}),
            )
            .await;
        Self {
            types: schema["__schema"]["types"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
                .collect(),
            fields: schema["__schema"]["queryType"]["fields"]
                .as_array()
                .unwrap()
                .clone(),
        }
    }

    fn documents(&self, round: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for field in &self.fields {
            let name = field["name"].as_str().unwrap();
            let inner = named(&field["type"]);
            let body = match inner["kind"].as_str().unwrap() {
                "SCALAR" | "ENUM" => String::new(),
                _ => format!(
                    " {{ {} }}",
                    selection(&self.types, inner["name"].as_str().unwrap(), 3)
                ),
            };
            for set in argument_sets(field, round) {
                let args: Vec<String> = set.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                let args = if args.is_empty() {
                    String::new()
                } else {
                    format!("({})", args.join(", "))
                };
                let label = format!("{name}{}", args.replace(round, "ROUND"));
                out.push((label, format!("{{ {name}{args}{body} }}")));
            }
        }
        out
    }

    /// Every HTTP route that shows a round's figures.
    fn routes(year: i64) -> Vec<String> {
        let mut out = Vec::new();
        for file in ["maturity", "participation"] {
            for format in ["csv", "json"] {
                for grouping in ["NATIONAL", "GROUP", "SUBGROUP", "COUNTY"] {
                    out.push(format!(
                        "/open-data/rounds/{year}/{file}.{format}?grouping={grouping}"
                    ));
                }
            }
        }
        for q in ["risk_managed", "function_hours"] {
            out.push(format!(
                "/open-data/rounds/{year}/answers.csv?question={q}&grouping=SUBGROUP"
            ));
        }
        for segment in ["SE", "A", "A1", "01"] {
            out.push(format!("/charts/rounds/{year}/radar.svg?segment={segment}"));
        }
        out.push(format!("/charts/me/{year}/radar.svg"));
        out
    }

    /// What a caller reads of one round: every query field and every route.
    async fn read(
        &self,
        app: &TestApp,
        token: Option<&str>,
        round: &str,
        year: i64,
    ) -> BTreeMap<String, Value> {
        let mut seen = BTreeMap::new();
        for (label, document) in self.documents(round) {
            let body = app.gql(token, &document, json!({})).await;
            let codes = error_codes(&body);
            assert!(
                !codes
                    .iter()
                    .any(|c| c == "QUERY_TOO_COMPLEX" || c == "INTERNAL_SERVER_ERROR"),
                "{label}: {body}"
            );
            let data = body["data"]
                .as_object()
                .and_then(|d| d.values().next().cloned())
                .unwrap_or(Value::Null);
            seen.insert(
                label,
                json!({ "data": entry_of(&data, round), "errors": codes }),
            );
        }
        for path in Self::routes(year) {
            let reply = fetch(app, &path, token).await;
            seen.insert(
                path.replace(&year.to_string(), "YEAR"),
                json!({ "status": reply.status, "body": reply.text() }),
            );
        }
        seen
    }

    /// What differs between what `who` reads of round X and of round Y.
    async fn differences(
        &self,
        app: &TestApp,
        who: &str,
        token: Option<&str>,
        rounds: [(&str, i64); 2],
    ) -> Vec<String> {
        let a = self.read(app, token, rounds[0].0, rounds[0].1).await;
        let b = self.read(app, token, rounds[1].0, rounds[1].1).await;
        assert_eq!(a.len(), b.len());
        a.iter()
            .filter(|(label, seen)| normalised(seen, &rounds) != normalised(&b[*label], &rounds))
            .map(|(label, _)| format!("{who} {label}"))
            .collect()
    }
}

#[tokio::test]
async fn nothing_of_a_rounds_figures_reaches_a_non_skr_caller_before_publication() {
    let app = spawn_app().await;
    // The baseline of both is 2023, answered and published (the demo), so
    // trends reach everyone once the rounds are published.
    mognad::demo::load(&app.db, 5).await.unwrap();
    // Two rounds, equal in everything but the answers of every kommun other
    // than the one asking (0180, group A): whatever a caller reads of them
    // must be equal until the round is PUBLISHED for it to see.
    let x = app.create_round(2027).await;
    let y = app.create_round(2028).await;
    let rounds = [(x.as_str(), 2027), (y.as_str(), 2028)];
    let me = "0180";
    let (kommun, analyst) = (kommun_token(me), analyst_token());
    let callers = [
        ("anonymous", None, false),
        ("kommun", Some(kommun.as_str()), false),
        ("analyst", Some(analyst.as_str()), true),
    ];
    let walk = Walk::of(&app).await;

    for (who, token, _) in callers {
        let differ = walk.differences(&app, who, token, rounds).await;
        assert!(differ.is_empty(), "DRAFT: {differ:#?}");
    }
    // OPEN, with answers: in X all of group A at level 2 in area 3, in Y
    // all but the one asking at level 1; the kommun's own answers equal.
    for id in [&x, &y] {
        app.transition("openSurveyRound", id).await;
    }
    for k in crate::figures::municipalities()
        .into_iter()
        .filter(|k| k.group == "A")
    {
        let theirs = if k.code == me { "yes_fully" } else { "no" };
        for (round, choice) in [(&x, "yes_fully"), (&y, theirs)] {
            let a = json!([{ "questionKey": "risk_managed", "value": { "choice": choice } }]);
            app.ok(&kommun_token(&k.code), SAVE, json!({ "r": round, "a": a }))
                .await;
        }
    }
    for (who, token, _) in callers {
        let differ = walk.differences(&app, who, token, rounds).await;
        assert!(differ.is_empty(), "OPEN: {differ:#?}");
    }
    // CLOSED: SKR's figures now, still no one else's.
    for id in [&x, &y] {
        app.transition("closeSurveyRound", id).await;
    }
    for (who, token, skr) in callers {
        let differ = walk.differences(&app, who, token, rounds).await;
        if skr {
            assert!(
                differ.iter().any(|d| d.contains("maturityAggregates")),
                "the walk reaches SKR's figures of a CLOSED round: {differ:#?}"
            );
        } else {
            assert!(differ.is_empty(), "CLOSED: {differ:#?}");
        }
    }
    // PUBLISHED: everyone's, so the walk sees the rounds differ (it reaches
    // the figures on every door).
    for id in [&x, &y] {
        app.transition("publishSurveyRound", id).await;
    }
    let anonymous = walk.differences(&app, "anonymous", None, rounds).await;
    for expected in [
        "anonymous maturityAggregates",
        "anonymous answerDistribution",
        "anonymous maturityTrend",
        "anonymous maturitySeries",
        "anonymous processShare",
        "anonymous distributionTrend",
        "anonymous /open-data/rounds/YEAR/maturity.csv",
        "anonymous /charts/rounds/YEAR/radar.svg",
    ] {
        assert!(
            anonymous.iter().any(|d| d.starts_with(expected)),
            "{expected}: {anonymous:#?}"
        );
    }
    let kommun_reads = walk
        .differences(&app, "kommun", Some(&kommun), rounds)
        .await;
    for expected in ["kommun myComparison", "kommun /charts/me/YEAR/radar.svg"] {
        assert!(
            kommun_reads.iter().any(|d| d.starts_with(expected)),
            "{expected}: {kommun_reads:#?}"
        );
    }
}
