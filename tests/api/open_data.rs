//! Open data: the files under `/open-data/rounds/{year}/`, checked against
//! the report and against the GraphQL figures they must equal.

use serde_json::{Value, json};

use crate::helpers::*;

/// A file as read: status, headers, body.
struct Download {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Download {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON")
    }

    /// A CSV file's records (the header first), split as RFC 4180 says.
    fn records(&self) -> Vec<Vec<String>> {
        csv_records(&self.text())
    }
}

/// RFC 4180 parsing, small enough to trust: quoted fields may hold commas,
/// quotes (doubled) and line breaks.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

async fn download(app: &TestApp, path: &str, token: Option<&str>) -> Download {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    Download {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("a body").to_vec(),
    }
}

fn code_of(d: &Download) -> String {
    d.json()["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

const MATURITY_HEADER: [&str; 14] = [
    "round_year",
    "segment_kind",
    "segment_code",
    "segment_name",
    "area_number",
    "area_title",
    "respondents",
    "level2_count",
    "mean_level",
    "suppressed",
    "reason",
    "population",
    "kolada_id",
    "indicator_id",
];

#[tokio::test]
async fn the_national_file_of_2023_has_the_reports_means() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let file = download(&app, "/open-data/rounds/2023/maturity.csv", None).await;
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.header("content-type"), "text/csv; charset=utf-8");
    assert!(
        file.header("content-disposition")
            .contains("filename=\"mognad-2023-maturity-national.csv\""),
        "{}",
        file.header("content-disposition")
    );
    let records = file.records();
    assert_eq!(records[0], MATURITY_HEADER);
    assert_eq!(records.len(), 10, "a header and nine areas");
    let means: Vec<String> = records[1..]
        .iter()
        .map(|r| {
            assert_eq!(r[0], "2023");
            assert_eq!(r[1], "NATIONAL");
            assert_eq!(r[9], "false");
            assert_eq!(
                (r[10].as_str(), r[11].as_str(), r[12].as_str()),
                ("", "290", "0000")
            );
            assert!(
                r[13].starts_with("maturity.") && r[13].len() > 9,
                "{}",
                r[13]
            );
            r[8].replace('.', ",")
        })
        .collect();
    assert_eq!(
        means,
        [
            "1,24", "1,62", "1,36", "1,43", "1,49", "1,39", "1,46", "1,45", "1,19"
        ]
    );
    let areas: Vec<&str> = records[1..].iter().map(|r| r[4].as_str()).collect();
    assert_eq!(areas, ["1", "2", "3", "4", "5", "6", "7", "8", "9"]);

    // Published: public and cacheable; the same bytes have the same tag.
    assert!(file.header("cache-control").starts_with("public"));
    let etag = file.header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
    let again = app
        .client
        .get(format!(
            "{}/open-data/rounds/2023/maturity.csv",
            app.address
        ))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);
    let changed = download(
        &app,
        "/open-data/rounds/2023/maturity.csv?grouping=GROUP",
        None,
    )
    .await;
    assert_ne!(changed.header("etag"), etag);
}

/// Every grouping's file says what `maturityAggregates` says, in all three
/// formats: shown figures equal, suppressed ones empty.
#[tokio::test]
async fn maturity_files_equal_the_graphql_figures() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let query = "query($r: ID!, $g: Grouping!) { maturityAggregates(roundId: $r, grouping: $g) { area { number } segment { code population } respondents level2Count meanLevel suppressed reason } }";
    let mut suppressed_seen = 0;
    for grouping in ["NATIONAL", "GROUP", "SUBGROUP"] {
        let figures = app
            .data(query, json!({ "r": ROUND_2023, "g": grouping }))
            .await;
        let figures = figures["maturityAggregates"].as_array().unwrap().clone();
        let csv = download(
            &app,
            &format!("/open-data/rounds/2023/maturity.csv?grouping={grouping}"),
            None,
        )
        .await;
        assert_eq!(csv.status, 200);
        let records = csv.records();
        assert_eq!(records.len(), figures.len() + 1, "{grouping}");
        let json = download(
            &app,
            &format!("/open-data/rounds/2023/maturity.json?grouping={grouping}"),
            None,
        )
        .await;
        assert_eq!(json.header("content-type"), "application/json");
        let rows = json.json()["rows"].as_array().unwrap().clone();
        assert_eq!(rows.len(), figures.len());
        for ((figure, record), row) in figures.iter().zip(&records[1..]).zip(&rows) {
            assert_eq!(record[2], figure["segment"]["code"].as_str().unwrap());
            assert_eq!(record[4], figure["area"]["number"].to_string());
            assert_eq!(record[6], figure["respondents"].to_string());
            let suppressed = figure["suppressed"].as_bool().unwrap();
            assert_eq!(record[9], suppressed.to_string());
            assert_eq!(record[10], figure["reason"].as_str().unwrap_or_default());
            assert_eq!(record[11], figure["segment"]["population"].to_string());
            assert_eq!(row["reason"], figure["reason"]);
            if suppressed {
                suppressed_seen += 1;
                assert_eq!((record[7].as_str(), record[8].as_str()), ("", ""));
                assert_eq!(row["mean_level"], Value::Null);
                assert_eq!(row["level2_count"], Value::Null);
            } else {
                assert_eq!(record[7], figure["level2Count"].to_string());
                // Rounded to two decimals in CSV; whole in JSON.
                let mean = figure["meanLevel"].as_f64().unwrap();
                assert_eq!(record[8], format!("{mean:.2}"));
                assert_eq!(row["mean_level"], figure["meanLevel"]);
            }
            assert_eq!(row["segment_code"], figure["segment"]["code"]);
            assert_eq!(row["suppressed"], figure["suppressed"]);
        }
        let xlsx = download(
            &app,
            &format!("/open-data/rounds/2023/maturity.xlsx?grouping={grouping}"),
            None,
        )
        .await;
        assert_eq!(xlsx.status, 200);
        assert_eq!(
            xlsx.header("content-type"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert!(
            xlsx.body.starts_with(b"PK\x03\x04"),
            "an XLSX is a zip file"
        );
        assert!(xlsx.header("content-disposition").contains(&format!(
            "mognad-2023-maturity-{}.xlsx",
            grouping.to_lowercase()
        )));
    }
    assert!(
        suppressed_seen > 0,
        "the demo data suppresses some subgroups"
    );
}

#[tokio::test]
async fn the_answers_file_equals_the_distribution() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let query = "query($r: ID!) { answerDistribution(roundId: $r, questionKey: \"function_exists\", grouping: GROUP) { segment { code } respondents suppressed counts { option { key } count } } }";
    let figures = app.data(query, json!({ "r": ROUND_2023 })).await;
    let mut expected = Vec::new();
    for d in figures["answerDistribution"].as_array().unwrap() {
        let code = d["segment"]["code"].as_str().unwrap().to_owned();
        if d["suppressed"].as_bool().unwrap() {
            expected.push((code, String::new(), String::new(), "true".to_owned()));
            continue;
        }
        for c in d["counts"].as_array().unwrap() {
            let option = c["option"]["key"].as_str().unwrap_or_default().to_owned();
            expected.push((code.clone(), option, c["count"].to_string(), "false".into()));
        }
    }
    let file = download(
        &app,
        "/open-data/rounds/2023/answers.csv?question=function_exists&grouping=GROUP",
        None,
    )
    .await;
    assert_eq!(file.status, 200, "{}", file.text());
    let records = file.records();
    assert_eq!(
        records[0],
        [
            "round_year",
            "segment_kind",
            "segment_code",
            "segment_name",
            "question_key",
            "option_key",
            "option_label",
            "respondents",
            "count",
            "percent",
            "suppressed",
            "reason",
            "population",
            "kolada_id",
            "indicator_id"
        ]
    );
    let got: Vec<(String, String, String, String)> = records[1..]
        .iter()
        .map(|r| (r[2].clone(), r[5].clone(), r[8].clone(), r[10].clone()))
        .collect();
    assert_eq!(got, expected);
    assert!(records[1..].iter().all(|r| r[4] == "function_exists"));

    for (path, status, code) in [
        ("/open-data/rounds/2023/answers.csv", 400, "BAD_USER_INPUT"),
        (
            "/open-data/rounds/2023/answers.csv?question=no_such_question",
            404,
            "NOT_FOUND",
        ),
        (
            "/open-data/rounds/2023/answers.csv?question=Bad-Key",
            400,
            "BAD_USER_INPUT",
        ),
    ] {
        let refused = download(&app, path, None).await;
        assert_eq!(
            (refused.status, code_of(&refused).as_str()),
            (status, code),
            "{path}"
        );
    }
}

/// The GraphQL figures' access rules: a CLOSED round's files for SKR only,
/// an OPEN round's for no one, participation for SKR; clear errors for
/// everything else, and nothing about a single kommun.
#[tokio::test]
async fn files_follow_the_figures_access_rules() {
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    let save = "mutation($r: ID!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"function_exists\", value: { choice: \"yes\" } }]) { version } }";
    for code in ["0114", "0115", "0117", "0120", "0123", "0125", "0126"] {
        app.ok(&kommun_token(code), save, json!({ "r": round }))
            .await;
    }
    let analyst = analyst_token();
    let path = "/open-data/rounds/2027/maturity.csv";
    // OPEN: no one, SKR included.
    for token in [None, Some(analyst.as_str())] {
        let open = download(&app, path, token).await;
        assert_eq!(
            (open.status, code_of(&open).as_str()),
            (409, "FAILED_PRECONDITION")
        );
    }
    app.transition("closeSurveyRound", &round).await;
    // CLOSED: SKR with a token, not cached by anyone else.
    let closed = download(&app, path, Some(&analyst)).await;
    assert_eq!(closed.status, 200, "{}", closed.text());
    assert_eq!(closed.header("cache-control"), "private, no-store");
    assert!(closed.headers.get("etag").is_none());
    assert!(
        !closed.text().contains("0114"),
        "no municipality in a figure file"
    );
    for token in [None, Some(kommun_token("0114"))] {
        let refused = download(&app, path, token.as_deref()).await;
        assert_eq!(
            (refused.status, code_of(&refused).as_str()),
            (409, "FAILED_PRECONDITION"),
            "{}",
            refused.text()
        );
    }
    // Participation: SKR's counts.
    let participation = "/open-data/rounds/2027/participation.csv";
    let anonymous = download(&app, participation, None).await;
    assert_eq!(
        (anonymous.status, code_of(&anonymous).as_str()),
        (401, "UNAUTHENTICATED")
    );
    let kommun = download(&app, participation, Some(&kommun_token("0114"))).await;
    assert_eq!(
        (kommun.status, code_of(&kommun).as_str()),
        (403, "FORBIDDEN")
    );
    let counts = download(&app, participation, Some(&analyst)).await;
    assert_eq!(counts.status, 200, "{}", counts.text());
    let records = counts.records();
    assert_eq!(
        records[0],
        [
            "round_year",
            "population",
            "submitted",
            "in_progress",
            "not_started",
            "response_rate"
        ]
    );
    assert_eq!(records[1][..5], ["2027", "290", "0", "7", "283"]);
    // Bad requests, each with its code.
    for (path, status, code) in [
        ("/open-data/rounds/1999/maturity.csv", 404, "NOT_FOUND"),
        (
            "/open-data/rounds/twenty/maturity.csv",
            400,
            "BAD_USER_INPUT",
        ),
        ("/open-data/rounds/2023/maturity.pdf", 404, "NOT_FOUND"),
        ("/open-data/rounds/2023/answers", 404, "NOT_FOUND"),
        ("/open-data/rounds/2023/scores.csv", 404, "NOT_FOUND"),
        (
            "/open-data/rounds/2027/maturity.csv?grouping=COUNTRY",
            400,
            "BAD_USER_INPUT",
        ),
    ] {
        let refused = download(&app, path, Some(&analyst)).await;
        assert_eq!(
            (refused.status, code_of(&refused).as_str()),
            (status, code),
            "{path}"
        );
    }
    let forged = download(&app, path, Some("not-a-token")).await;
    assert_eq!(
        (forged.status, code_of(&forged).as_str()),
        (401, "UNAUTHENTICATED")
    );
}

/// What Swedish Excel opens: `?dialect=excel-sv` gives a BOM, semicolons,
/// decimal commas and län codes that keep their zeros; the XLSX has a named
/// sheet, a frozen header with a filter, column widths and number formats;
/// JSON rows come in the columns' order.
#[tokio::test]
async fn files_open_in_swedish_excel() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let path = "/open-data/rounds/2023/maturity.csv?grouping=COUNTY&dialect=excel-sv";
    let file = download(&app, path, None).await;
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.header("content-type"), "text/csv; charset=utf-8");
    assert!(file.body.starts_with("\u{feff}".as_bytes()), "a UTF-8 BOM");
    // As Excel with a Swedish list separator splits it.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&file.body[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, MATURITY_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let stockholm = rows
        .iter()
        .find(|r| &r[3] == "Stockholms län")
        .expect("Stockholms län");
    // A code with a leading zero as Excel keeps it: ="01"; only such codes
    // are formulas.
    assert_eq!((&stockholm[2], &stockholm[12]), ("=\"01\"", "=\"0001\""));
    let skane = rows
        .iter()
        .find(|r| &r[3] == "Skåne län")
        .expect("Skåne län, in UTF-8");
    assert_eq!((&skane[2], &skane[12]), ("12", "=\"0012\""));
    for row in &rows {
        for field in row.iter().filter(|f| f.starts_with('=')) {
            let inner = field.strip_prefix("=\"").and_then(|f| f.strip_suffix('"'));
            assert!(
                inner.is_some_and(|c| c.bytes().all(|b| b.is_ascii_digit())),
                "{field}"
            );
        }
        if &row[9] == "false" {
            // A decimal comma, two places.
            let mean = &row[8];
            assert!(mean.len() == 4 && mean.as_bytes()[1] == b',', "{mean}");
        } else {
            assert!(["SMALL_CELL", "DIFFERENCING", "COMPLEMENTARY"].contains(&&row[10]));
            assert_eq!(&row[8], "");
            assert!(row[11].parse::<u32>().unwrap() > 0, "the population stays");
        }
    }
    assert!(
        rows.iter().any(|r| &r[9] == "true"),
        "the demo hides some län"
    );

    // Program CSV: commas, points, codes as they are; no BOM.
    let plain = download(
        &app,
        "/open-data/rounds/2023/maturity.csv?grouping=COUNTY",
        None,
    )
    .await;
    assert!(plain.text().starts_with("round_year,segment_kind,"));
    assert!(plain.text().contains("\n2023,COUNTY,01,Stockholms län,"));

    // A dialect for other files, or an unknown one, is refused.
    for bad in [
        "/open-data/rounds/2023/maturity.json?dialect=excel-sv",
        "/open-data/rounds/2023/maturity.csv?dialect=excel",
    ] {
        let refused = download(&app, bad, None).await;
        assert_eq!(
            (refused.status, code_of(&refused).as_str()),
            (400, "BAD_USER_INPUT"),
            "{bad}"
        );
    }

    // JSON: keys in the columns' order, full precision.
    let json = download(&app, "/open-data/rounds/2023/maturity.json", None).await;
    let text = json.text();
    let first = &text[text.find("\"rows\":[{").unwrap()..];
    let keys: Vec<&str> = MATURITY_HEADER.to_vec();
    let mut at = 0;
    for key in keys {
        let found = first[at..]
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key}"));
        at += found;
    }
    // (serde_json reads floats to within a unit in the last place.)
    let mean = json.json()["rows"][0]["mean_level"].as_f64().unwrap();
    assert!((mean - 1.237_931_034_482_758_5).abs() < 1e-12, "{mean}");

    // XLSX: a named sheet, codes as text, rounded means formatted to two places.
    let xlsx = download(
        &app,
        "/open-data/rounds/2023/maturity.xlsx?grouping=COUNTY",
        None,
    )
    .await;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body.clone())).unwrap();
    assert_eq!(calamine::Reader::sheet_names(&book), ["maturity 2023"]);
    let sheet = calamine::Reader::worksheet_range(&mut book, "maturity 2023").unwrap();
    let stockholm = sheet
        .rows()
        .find(|r| r[3] == calamine::Data::String("Stockholms län".into()))
        .unwrap();
    assert_eq!(stockholm[2], calamine::Data::String("01".into()));
    assert_eq!(stockholm[12], calamine::Data::String("0001".into()));
    if let calamine::Data::Float(mean) = stockholm[8] {
        assert_eq!(
            mean,
            (mean * 100.0).round() / 100.0,
            "rounded to two places"
        );
    }
    // The sheet's own parts: the header frozen, a filter over every column
    // and row, column widths, a two-place number format.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx.body)).unwrap();
    let part = |zip: &mut zip::ZipArchive<_>, name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
        text
    };
    let sheet_xml = part(&mut zip, "xl/worksheets/sheet1.xml");
    assert!(sheet_xml.contains("state=\"frozen\""), "{sheet_xml}");
    assert!(
        sheet_xml.contains(&format!("<autoFilter ref=\"A1:N{}\"", sheet.height())),
        "{sheet_xml}"
    );
    assert!(sheet_xml.contains("<cols>"), "{sheet_xml}");
    assert!(part(&mut zip, "xl/styles.xml").contains("formatCode=\"0.00\""));
}
