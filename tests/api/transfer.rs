//! `mognad export-answers`: a round's answers in the long format, from the
//! binary and the library alike, agreeing with the published figures.

use std::collections::{HashMap, HashSet};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_rounds_answers_are_exported_in_the_long_format() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let mut bytes = Vec::new();
    let rows = mognad::transfer::export_answers(&app.db, 2023, &mut bytes)
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        mognad::transfer::HEADER
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), rows);
    let municipalities: HashSet<&str> = records.iter().map(|r| &r[0]).collect();
    assert_eq!(municipalities.len(), 237, "every respondent, nobody else");
    let mut status: HashMap<&str, (&str, &str)> = HashMap::new();
    for r in &records {
        let previous = status.insert(&r[0], (&r[3], &r[4]));
        assert!(
            previous.is_none_or(|p| p == (&r[3], &r[4])),
            "one status per municipality"
        );
        assert_eq!(r[3] == *"SUBMITTED", !r[4].is_empty(), "{r:?}");
    }
    let submitted = status.values().filter(|(s, _)| *s == "SUBMITTED").count();
    assert_eq!(submitted, 215);
    // The report's 208 municipalities with a coordinator (Figur 1/8).
    let yes = records
        .iter()
        .filter(|r| &r[1] == "function_exists" && &r[2] == "yes")
        .count();
    assert_eq!(yes, 208);

    // The binary writes the same, to standard output or a file.
    let binary = env!("CARGO_BIN_EXE_mognad");
    let output = std::process::Command::new(binary)
        .args(["export-answers", "--round", "2023"])
        .env("MOGNAD_DATABASE_URL", &app.database_url)
        .env_remove("MOGNAD_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, bytes);
    let output = std::process::Command::new(binary)
        .args(["export-answers", "--round", "1999"])
        .env("MOGNAD_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no round 1999"));
}

/// Every figure of a round as the API shows SKR: aggregates in every
/// grouping and the distribution of every question.
async fn figures(app: &crate::helpers::TestApp) -> Vec<serde_json::Value> {
    let token = crate::helpers::analyst_token();
    let mut out = Vec::new();
    for grouping in ["NATIONAL", "GROUP", "SUBGROUP"] {
        out.push(
            app.ok(
                &token,
                "query($r: ID!, $g: Grouping!) { maturityAggregates(roundId: $r, grouping: $g) { area { key } segment { code } respondents level2Count meanLevel suppressed } }",
                serde_json::json!({ "r": crate::helpers::ROUND_2023, "g": grouping }),
            )
            .await,
        );
    }
    for key in crate::isolation::full_answers()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["questionKey"].as_str().unwrap().to_owned())
    {
        out.push(
            app.ok(
                &token,
                "query($r: ID!, $k: String!) { answerDistribution(roundId: $r, questionKey: $k, grouping: SUBGROUP) { segment { code } respondents suppressed counts { option { key } count } } }",
                serde_json::json!({ "r": crate::helpers::ROUND_2023, "k": key }),
            )
            .await,
        );
    }
    out.push(
        app.ok(
            &token,
            "query($r: ID!) { participation(roundId: $r) { submitted inProgress nearlyComplete partial notStarted responseRate } }",
            serde_json::json!({ "r": crate::helpers::ROUND_2023 }),
        )
        .await,
    );
    out
}

#[tokio::test]
async fn an_exported_round_imports_into_a_new_database_with_every_figure_equal() {
    let demo = spawn_app().await;
    mognad::demo::load(&demo.db, 5).await.unwrap();
    let dir = std::env::temp_dir().join(format!("mognad-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv_path = dir.join("answers-2023.csv");
    let file = std::fs::File::create(&csv_path).unwrap();
    mognad::transfer::export_answers(&demo.db, 2023, file)
        .await
        .unwrap();

    // A new database: 2023 is CLOSED and has no answers.
    let fresh = spawn_app().await;
    let dry = mognad::transfer::import_answers(&fresh.db, 2023, &csv_path, true, 5, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((dry.responses, dry.scores_frozen), (237, 0));
    // (Counted in the database: asking the server first would have it keep
    // the empty round's plan in memory, which an import in another process
    // on SQLite cannot make it forget — see the README.)
    let written = <entity::response::Entity as sea_orm::EntityTrait>::find()
        .all(&fresh.db)
        .await
        .unwrap();
    assert!(written.is_empty(), "a dry run writes nothing");

    let done = mognad::transfer::import_answers(&fresh.db, 2023, &csv_path, false, 5, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.responses, 237);
    assert!(done.scores_frozen > 0);
    assert_eq!(
        figures(&fresh).await,
        figures(&demo).await,
        "every figure equal"
    );
    // The audit trail names the import.
    let trail = fresh
        .ok(
            &crate::helpers::kommun_token("1280"),
            "query($r: ID!) { myResponse(roundId: $r) { history { subject } } }",
            serde_json::json!({ "r": crate::helpers::ROUND_2023 }),
        )
        .await;
    assert_eq!(
        trail["myResponse"]["history"][0]["subject"],
        "import:answers-2023.csv"
    );

    // A round with answers is not imported into again.
    let again = mognad::transfer::import_answers(&fresh.db, 2023, &csv_path, false, 5, false).await;
    assert!(again.unwrap_err().contains("has responses already"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_dry_run_lists_every_bad_row_with_its_line_and_xlsx_imports_too() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!("mognad-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "municipality_code,question_key,value,status,submitted_at\n\
         1280,function_exists,yes,SUBMITTED,2023-04-01T10:00:00Z\n\
         9999,function_exists,yes,IN_PROGRESS,\n\
         0180,no_such_question,yes,IN_PROGRESS,\n\
         0180,function_exists,yes_fully,IN_PROGRESS,\n\
         1280,function_exists,no,SUBMITTED,2023-04-01T10:00:00Z\n\
         0114,function_hours,h_31_40,IN_PROGRESS,\n\
         0114,risk_managed,no,DONE,\n\
         0115,risk_managed,no,SUBMITTED,\n",
    )
    .unwrap();
    let refused = mognad::transfer::import_answers(&app.db, 2023, &bad, true, 5, false)
        .await
        .unwrap()
        .unwrap_err();
    let lines: Vec<usize> = refused.0.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9], "{:?}", refused.0);
    let text: String = refused
        .0
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "unknown municipality code \"9999\"",
        "unknown question key",
        "question function_exists: \"yes_fully\" is not one of its options",
        "answers function_exists twice (also on line 2)",
        "function_hours is asked only when function_exists is",
        "status \"DONE\"",
        "needs submitted_at",
        "1280 is SUBMITTED without the required answers to",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    // The binary prints them with file and line, and fails.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mognad"))
        .args(["import", "--round", "2023", "--dry-run"])
        .arg(&bad)
        .env("MOGNAD_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.csv:3: unknown municipality code"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    // The same format as a spreadsheet, codes typed as numbers.
    let xlsx = dir.join("good.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in mognad::transfer::HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_number(1, 0, 180.0).unwrap();
    sheet.write_string(1, 1, "function_exists").unwrap();
    sheet.write_string(1, 2, "yes").unwrap();
    sheet.write_string(1, 3, "IN_PROGRESS").unwrap();
    book.save(&xlsx).unwrap();
    let done = mognad::transfer::import_answers(&app.db, 2023, &xlsx, false, 5, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.responses, done.answers), (1, 1));
    std::fs::remove_dir_all(&dir).ok();
}

/// An import takes the round before it writes (its gate, then its row) and
/// checks again there: a kommun's write that was under way when the import
/// checked the round is seen, and the import refuses cleanly instead of
/// colliding with it.
#[tokio::test]
async fn an_import_waits_for_a_write_under_way_and_then_sees_it() {
    use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};
    let Some(_) = crate::helpers::postgres_url() else {
        eprintln!("skipped: the race needs PostgreSQL's gate; set MOGNAD_TEST_DATABASE_URL");
        return;
    };
    let app = spawn_app().await;
    let round = uuid::Uuid::parse_str(crate::helpers::ROUND_2023).unwrap();
    let dir = std::env::temp_dir().join(format!("mognad-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("one.csv");
    std::fs::write(
        &file,
        "municipality_code,question_key,value,status,submitted_at\n0180,function_exists,yes,IN_PROGRESS,\n",
    )
    .unwrap();

    // A kommun's write, under way: inside the round's shared gate, not committed.
    let write = app.db.begin().await.unwrap();
    schema::services::rounds::enter_gate(&write, round, schema::services::rounds::Gate::Shared)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    entity::response::Entity::insert(entity::response::ActiveModel {
        municipality_code: Set("1280".into()),
        round_id: Set(round),
        status: Set(entity::ResponseStatus::InProgress),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(Some(now)),
        submitted_at: Set(None),
    })
    .exec_without_returning(&write)
    .await
    .unwrap();

    let db = app.db.clone();
    let path = file.clone();
    let import = tokio::spawn(async move {
        mognad::transfer::import_answers(&db, 2023, &path, false, 5, false).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!import.is_finished(), "the import waits for the write");
    write.commit().await.unwrap();
    let refused = import.await.unwrap().unwrap_err();
    assert!(refused.contains("has responses already"), "{refused}");
    let responses = entity::response::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(responses.len(), 1, "only the kommun's");
    std::fs::remove_dir_all(&dir).ok();
}

/// An import file's text obeys the API's rule (no control characters), and
/// nothing of a refused file is written.
#[tokio::test]
async fn control_characters_in_an_import_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let round = app.create_round(2027).await;
    let dir = std::env::temp_dir().join(format!("mognad-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("answers.csv");
    // A round with a text question: the authoring of a DRAFT copy adds one.
    app.ok(
        &crate::helpers::admin_token(),
        "mutation($r: ID!, $q: QuestionInput!) { upsertQuestion(roundId: $r, input: $q) { id } }",
        serde_json::json!({ "r": round, "q": { "key": "notes", "areaKey": "function",
            "textSv": "Anteckningar", "textEn": "Notes", "kind": "TEXT" } }),
    )
    .await;
    std::fs::write(
        &file,
        "municipality_code,question_key,value,status,submitted_at\n\
         1280,notes,plain text with a\ttab,IN_PROGRESS,\n\
         0180,notes,nul \u{0} byte,IN_PROGRESS,\n\
         0114,notes,escape \u{1b}[31m red,IN_PROGRESS,\n\
         0115,notes,bell \u{7},IN_PROGRESS,\n",
    )
    .unwrap();
    let refused = mognad::transfer::import_answers(&app.db, 2027, &file, false, 5, false)
        .await
        .unwrap()
        .unwrap_err();
    let lines: Vec<usize> = refused.0.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [3, 4, 5], "{:?}", refused.0);
    assert!(
        refused
            .0
            .iter()
            .all(|(_, m)| m.contains("value holds a control character"))
    );
    use sea_orm::{EntityTrait, PaginatorTrait};
    let count = entity::response::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was written");
    std::fs::remove_dir_all(&dir).ok();
}

/// An XLSX file that would unpack to gigabytes (a zip bomb of a few
/// megabytes) is refused after 64 MiB of unpacking, none of it kept; a CSV
/// of too many rows likewise.
#[tokio::test]
async fn a_zip_bomb_or_an_endless_file_is_refused_before_it_is_read() {
    use std::io::Write;
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!("mognad-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bomb = dir.join("bomb.xlsx");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&bomb).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("[Content_Types].xml", options).unwrap();
        zip.write_all(b"<Types/>").unwrap();
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..80 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
    }
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 1 << 20, "a small file: {size} bytes");
    let error = mognad::transfer::import_answers(&app.db, 2023, &bomb, true, 5, false)
        .await
        .unwrap_err();
    assert!(error.contains("unpacks to more than 64 MiB"), "{error}");

    let endless = dir.join("endless.csv");
    let mut text = String::from("municipality_code,question_key,value,status,submitted_at\n");
    for _ in 0..=mognad::transfer::MAX_IMPORT_ROWS {
        text.push_str("1280,risk_managed,no,IN_PROGRESS,\n");
    }
    std::fs::write(&endless, text).unwrap();
    let error = mognad::transfer::import_answers(&app.db, 2023, &endless, true, 5, false)
        .await
        .unwrap_err();
    assert!(error.contains("more than 200000 rows"), "{error}");
    // A row of eight million empty cells is refused at its sixteenth.
    let wide = dir.join("wide.csv");
    let mut text = String::from("municipality_code,question_key,value,status,submitted_at\n1280");
    text.push_str(&",".repeat(8 << 20));
    std::fs::write(&wide, text).unwrap();
    let error = mognad::transfer::import_answers(&app.db, 2023, &wide, true, 5, false)
        .await
        .unwrap_err();
    assert!(error.contains("wide.csv:2: more than 15 cells"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A sheet is read from its first used row and column, as a spreadsheet's
/// range is: a table that starts at B2 imports as one at A1.
#[tokio::test]
async fn a_sheet_is_read_from_its_first_used_cell() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!("mognad-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let xlsx = dir.join("offset.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in mognad::transfer::HEADER.iter().enumerate() {
        sheet.write_string(1, 1 + c as u16, *h).unwrap();
    }
    sheet.write_number(2, 1, 180.0).unwrap();
    sheet.write_string(2, 2, "function_exists").unwrap();
    sheet.write_string(2, 3, "yes").unwrap();
    sheet.write_string(2, 4, "IN_PROGRESS").unwrap();
    book.save(&xlsx).unwrap();
    let done = mognad::transfer::import_answers(&app.db, 2023, &xlsx, true, 5, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.responses, done.answers), (1, 1));
    std::fs::remove_dir_all(&dir).ok();
}

/// Import errors say what would work: the option keys (and the key of a
/// label given instead), the code a spreadsheet's lost zero hides, an RFC
/// 3339 time for an Excel date serial, and commas for a semicolon file (a
/// BOM from Excel's "CSV UTF-8" is fine).
#[tokio::test]
async fn import_errors_suggest_the_fix() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!("mognad-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "\u{feff}municipality_code,question_key,value,status,submitted_at\n\
         180,function_exists,yes,IN_PROGRESS,\n\
         1280,function_exists,Ja,IN_PROGRESS,\n\
         0114,function_exists,maybe,IN_PROGRESS,\n\
         0115,function_exists,yes,SUBMITTED,45017.4166666667\n",
    )
    .unwrap();
    let refused = mognad::transfer::import_answers(&app.db, 2023, &bad, true, 5, false)
        .await
        .unwrap()
        .unwrap_err();
    let messages: Vec<(usize, String)> = refused.0.clone();
    let at = |line: usize| {
        messages
            .iter()
            .find(|(l, _)| *l == line)
            .map(|(_, m)| m.as_str())
            .unwrap_or_else(|| panic!("line {line}: {messages:?}"))
    };
    assert_eq!(
        at(2),
        "unknown municipality code \"180\": did you mean \"0180\"? SCB codes have four digits; \
         a spreadsheet drops the leading zero unless the column is text"
    );
    assert_eq!(
        at(3),
        "question function_exists: \"Ja\" is the label of option \"yes\": give its key"
    );
    assert!(
        at(4).starts_with(
            "question function_exists: \"maybe\" is not one of its options; its keys are yes, "
        ),
        "{}",
        at(4)
    );
    assert_eq!(
        at(5),
        "submitted_at \"45017.4166666667\" is an Excel date serial number, not an RFC 3339 time: \
         write 2023-04-01T10:00:00Z (the same moment, if it was UTC), and format the column as text"
    );

    let semicolons = dir.join("semicolons.csv");
    std::fs::write(
        &semicolons,
        "municipality_code;question_key;value;status;submitted_at\n0180;function_exists;yes;IN_PROGRESS;\n",
    )
    .unwrap();
    let error = mognad::transfer::import_answers(&app.db, 2023, &semicolons, true, 5, false)
        .await
        .unwrap_err();
    assert!(
        error.ends_with(
            "is separated by semicolons (as Excel saves CSV with Swedish settings); the import \
             reads commas: save it as \"CSV UTF-8 (kommaavgränsad)\", or import the .xlsx file itself"
        ),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
