//! Questionnaire authoring in DRAFT and the mapping across rounds: SKR
//! admins add, change, move and remove areas, questions and options; every
//! refusal leaves the questionnaire as it was; the questionnaire locks when
//! the round opens; trends follow a renamed question to its predecessor.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::{
    ROUND_2023, TestApp, admin_token, analyst_token, error_codes, kommun_token, postgres_url,
    spawn_app,
};

const QUESTIONNAIRE: &str = "query($r: ID!) { surveyRound(id: $r) { status questionnaireProblems \
    areas { key number title questions { key text kind required maturity predecessorKey \
    condition { questionKey optionKeys } options { key label maturityLevel predecessorKey } } } } }";
const UPSERT_QUESTION: &str =
    "mutation($r: ID!, $q: QuestionInput!) { upsertQuestion(roundId: $r, input: $q) { id } }";
const REMOVE_QUESTION: &str =
    "mutation($r: ID!, $k: String!) { removeQuestion(roundId: $r, key: $k) { id } }";
const UPSERT_AREA: &str =
    "mutation($r: ID!, $a: AreaInput!) { upsertArea(roundId: $r, input: $a) { id } }";
const REMOVE_AREA: &str =
    "mutation($r: ID!, $k: String!) { removeArea(roundId: $r, key: $k) { id } }";
const MAPPING: &str = "query($r: ID!) { surveyRound(id: $r) { mapping { baseline { year } \
    questions { key predecessorKey renamed options { key predecessorKey } droppedOptionKeys } \
    newQuestionKeys droppedQuestionKeys unmappedOptionKeys } } }";

fn option(key: &str, predecessor: Option<&str>) -> Value {
    json!({ "key": key, "labelSv": format!("Svar {key}"), "labelEn": format!("Answer {key}"),
            "predecessorKey": predecessor })
}

/// The coordinator question of 2023 (`function_exists`) under a new key,
/// continuing it: yes -> ja, no -> nej, dont_know kept, and a new option.
fn renamed_coordinator() -> Value {
    json!({
        "key": "coordination_function", "areaKey": "function",
        "textSv": "Har kommunen en utsedd funktion som samordnar informationssäkerhetsarbetet?",
        "textEn": "Has the municipality appointed a function that coordinates information security work?",
        "kind": "SINGLE_CHOICE", "required": true, "position": 1,
        "predecessorKey": "function_exists",
        "options": [option("ja", Some("yes")), option("nej", Some("no")),
                    option("being_set_up", None), option("dont_know", None)],
    })
}

/// `function_hours` as it is (read from the questionnaire), asked after
/// `coordination_function` = ja instead of `function_exists` = yes.
fn hours_after_coordinator(hours: &Value) -> Value {
    json!({
        "key": "function_hours", "areaKey": "function", "textSv": hours["text"], "textEn": "Hours",
        "kind": hours["kind"], "required": hours["required"],
        "condition": { "questionKey": "coordination_function", "optionKeys": ["ja"] },
        "options": hours["options"].as_array().unwrap().iter()
            .map(|o| json!({ "key": o["key"], "labelSv": o["label"], "labelEn": o["label"] }))
            .collect::<Vec<_>>(),
    })
}

async fn questionnaire(app: &TestApp, round: &str) -> Value {
    app.ok(&admin_token(), QUESTIONNAIRE, json!({ "r": round }))
        .await["surveyRound"]
        .clone()
}

fn question<'a>(q: &'a Value, key: &str) -> Option<&'a Value> {
    q["areas"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["questions"].as_array().unwrap())
        .find(|x| x["key"] == key)
}

async fn refused(app: &TestApp, query: &str, vars: Value, code: &str) -> String {
    let body = app.gql(Some(&admin_token()), query, vars.clone()).await;
    assert_eq!(error_codes(&body), [code], "{vars}: {body}");
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn skr_admins_author_a_draft_round_and_every_refusal_changes_nothing() {
    let app = spawn_app().await;
    let round = app.create_round(2027).await;
    let admin = admin_token();
    let before = questionnaire(&app, &round).await;
    assert_eq!(
        before["questionnaireProblems"],
        json!([]),
        "a copy of 2023 can open"
    );

    // Only SKR admins author.
    let vars = json!({ "r": round, "q": renamed_coordinator() });
    for (who, code) in [
        (Some(kommun_token("1280")), "FORBIDDEN"),
        (Some(analyst_token()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let body = app.gql(who.as_deref(), UPSERT_QUESTION, vars.clone()).await;
        assert_eq!(error_codes(&body), [code], "{body}");
    }

    // A new question, mapped onto 2023's coordinator question, first in its area.
    app.ok(&admin, UPSERT_QUESTION, vars).await;
    let q = questionnaire(&app, &round).await;
    // Until the old question goes, two continue one: unfinished, not openable.
    assert_eq!(
        q["questionnaireProblems"],
        json!([
            "questions \"coordination_function\" and \"function_exists\" both continue the baseline's \"function_exists\""
        ])
    );
    let body = app.transition("openSurveyRound", &round).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    // The problems, as a list beside the message.
    assert_eq!(
        body["errors"][0]["extensions"]["problems"], q["questionnaireProblems"],
        "{body}"
    );
    let function = &q["areas"][0];
    assert_eq!(function["key"], "function");
    assert_eq!(function["questions"][0]["key"], "coordination_function");
    assert_eq!(function["questions"][1]["key"], "function_exists");
    assert_eq!(
        function["questions"][0]["predecessorKey"],
        "function_exists"
    );
    // The old question cannot go while another question's condition names it.
    let hours = question(&q, "function_hours").unwrap().clone();
    assert_eq!(
        hours["condition"]["questionKey"], "function_exists",
        "{hours}"
    );
    let message = refused(
        &app,
        REMOVE_QUESTION,
        json!({ "r": round, "k": "function_exists" }),
        "BAD_USER_INPUT",
    )
    .await;
    assert!(message.contains("function_hours"), "{message}");
    // Move the condition to the new question, then the old one can go.
    let mut moved = hours_after_coordinator(&hours);
    app.ok(&admin, UPSERT_QUESTION, json!({ "r": round, "q": moved }))
        .await;
    app.ok(
        &admin,
        REMOVE_QUESTION,
        json!({ "r": round, "k": "function_exists" }),
    )
    .await;

    // Every wrong questionnaire is refused with what is wrong, and nothing changes.
    let kept = questionnaire(&app, &round).await;
    let maturity_key = kept["areas"][2]["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["maturity"] == true)
        .unwrap()["key"]
        .clone();
    let area2 = kept["areas"][2]["key"].clone();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "key": "Bad Key" }), "a key has"),
        (json!({ "areaKey": "no_such_area" }), "no area"),
        (json!({ "options": [] }), "at least two options"),
        (json!({ "kind": "NUMBER" }), "has no options"),
        (
            json!({ "condition": { "questionKey": "no_such_question", "optionKeys": ["yes"] } }),
            "names no question",
        ),
        (
            json!({ "condition": { "questionKey": "function_hours", "optionKeys": ["ja"] } }),
            "not an option",
        ),
        (
            json!({ "condition": { "questionKey": "coordination_function", "optionKeys": ["ja"] } }),
            "itself",
        ),
        (
            json!({ "predecessorKey": "no_such_2023_question" }),
            "baseline round has no question",
        ),
        (
            json!({ "options": [option("ja", Some("maybe")), option("nej", Some("no"))] }),
            "has no option \"maybe\"",
        ),
        (
            json!({ "options": [option("ja", Some("yes")), option("yes", None)] }),
            "both continue",
        ),
        (
            json!({ "maturity": true, "kind": "MULTI_CHOICE" }),
            "SINGLE_CHOICE",
        ),
        (json!({ "maturity": true }), "numbered"),
        (
            json!({ "areaKey": area2, "maturity": true }),
            "level 1 to 4",
        ),
    ];
    for (change, says) in cases {
        let mut input = renamed_coordinator();
        for (k, v) in change.as_object().unwrap() {
            input[k] = v.clone();
        }
        if input["kind"] == "NUMBER" {
            input["options"] = json!([option("a", None), option("b", None)]);
        }
        let message = refused(
            &app,
            UPSERT_QUESTION,
            json!({ "r": round, "q": input }),
            if says == "no area" {
                "NOT_FOUND"
            } else {
                "BAD_USER_INPUT"
            },
        )
        .await;
        assert!(message.contains(says), "{change}: {message}");
        assert_eq!(questionnaire(&app, &round).await, kept, "{change}");
    }
    // A second maturity question in one area, and a cycle of conditions.
    let levels: Vec<Value> = (1..=4)
        .map(|l| json!({ "key": format!("l{l}"), "labelSv": "x", "labelEn": "x", "maturityLevel": l }))
        .collect();
    let second = json!({
        "key": "second_maturity", "areaKey": area2, "textSv": "Ännu en", "textEn": "Another",
        "kind": "SINGLE_CHOICE", "maturity": true,
        "options": levels,
    });
    let message = refused(
        &app,
        UPSERT_QUESTION,
        json!({ "r": round, "q": second }),
        "BAD_USER_INPUT",
    )
    .await;
    assert!(message.contains("exactly one"), "{message}");
    assert!(maturity_key.is_string());
    let mut cyclic = renamed_coordinator();
    cyclic["condition"] =
        json!({ "questionKey": "function_hours", "optionKeys": [hours["options"][0]["key"]] });
    let message = refused(
        &app,
        UPSERT_QUESTION,
        json!({ "r": round, "q": cyclic }),
        "BAD_USER_INPUT",
    )
    .await;
    assert!(message.contains("cycle"), "{message}");
    assert_eq!(questionnaire(&app, &round).await, kept);

    // Areas: a new maturity area is unfinished until it has its maturity
    // question; the round does not open meanwhile.
    let area = json!({ "key": "supplier_security", "number": 10, "titleSv": "Leverantörer",
        "titleEn": "Suppliers", "position": 2 });
    app.ok(&admin, UPSERT_AREA, json!({ "r": round, "a": area }))
        .await;
    let q = questionnaire(&app, &round).await;
    assert_eq!(q["areas"][1]["key"], "supplier_security");
    let problems = q["questionnaireProblems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].as_str().unwrap().contains("supplier_security"));
    let body = app.transition("openSurveyRound", &round).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("without its maturity question")
    );
    for (bad, code) in [
        (json!({ "number": 1 }), "BAD_USER_INPUT"),
        (json!({ "key": "-" }), "BAD_USER_INPUT"),
        (json!({ "titleSv": " " }), "BAD_USER_INPUT"),
    ] {
        let mut input = area.clone();
        for (k, v) in bad.as_object().unwrap() {
            input[k] = v.clone();
        }
        refused(&app, UPSERT_AREA, json!({ "r": round, "a": input }), code).await;
    }
    // A non-empty area is not removed.
    let message = refused(
        &app,
        REMOVE_AREA,
        json!({ "r": round, "k": "function" }),
        "FAILED_PRECONDITION",
    )
    .await;
    assert!(message.contains("coordination_function"), "{message}");
    app.ok(
        &admin,
        REMOVE_AREA,
        json!({ "r": round, "k": "supplier_security" }),
    )
    .await;
    assert_eq!(
        questionnaire(&app, &round).await["questionnaireProblems"],
        json!([])
    );

    // Moving a question to another area puts it last there unless placed.
    moved["areaKey"] = area2.clone();
    moved["position"] = json!(1);
    moved["condition"] = Value::Null;
    app.ok(&admin, UPSERT_QUESTION, json!({ "r": round, "q": moved }))
        .await;
    let q = questionnaire(&app, &round).await;
    assert_eq!(q["areas"][2]["questions"][0]["key"], "function_hours");
    assert!(
        q["areas"][0]["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["key"] != "function_hours")
    );

    // The mapping shows what continues what.
    let mapping =
        app.ok(&admin, MAPPING, json!({ "r": round })).await["surveyRound"]["mapping"].clone();
    assert_eq!(mapping["baseline"]["year"], 2023);
    let coordinator = mapping["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "coordination_function")
        .unwrap();
    assert_eq!(coordinator["predecessorKey"], "function_exists");
    assert_eq!(coordinator["renamed"], true);
    assert_eq!(
        coordinator["options"],
        json!([{ "key": "ja", "predecessorKey": "yes" }, { "key": "nej", "predecessorKey": "no" },
               { "key": "being_set_up", "predecessorKey": null },
               { "key": "dont_know", "predecessorKey": "dont_know" }])
    );
    assert_eq!(coordinator["droppedOptionKeys"], json!([]));
    assert_eq!(
        mapping["unmappedOptionKeys"],
        json!(["coordination_function.being_set_up"])
    );
    assert_eq!(mapping["newQuestionKeys"], json!([]));
    assert_eq!(mapping["droppedQuestionKeys"], json!([]));

    // Each change is a QUESTIONNAIRE_CHANGED event for SKR, not for a kommun.
    let feed = "{ changes(first: 500) { edges { node { kind roundYear } } } }";
    let count = |body: &Value| {
        body["changes"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["kind"] == "QUESTIONNAIRE_CHANGED")
            .count()
    };
    assert_eq!(count(&app.ok(&admin, feed, json!({})).await), 6);
    assert_eq!(count(&app.ok(&analyst_token(), feed, json!({})).await), 6);
    assert_eq!(
        count(&app.ok(&kommun_token("1280"), feed, json!({})).await),
        0
    );

    // Locked once open.
    let opened = app.transition("openSurveyRound", &round).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let locked = questionnaire(&app, &round).await;
    refused(
        &app,
        UPSERT_QUESTION,
        json!({ "r": round, "q": renamed_coordinator() }),
        "FAILED_PRECONDITION",
    )
    .await;
    refused(
        &app,
        REMOVE_QUESTION,
        json!({ "r": round, "k": "function_hours" }),
        "FAILED_PRECONDITION",
    )
    .await;
    refused(
        &app,
        UPSERT_AREA,
        json!({ "r": round, "a": area }),
        "FAILED_PRECONDITION",
    )
    .await;
    assert_eq!(questionnaire(&app, &round).await["areas"], locked["areas"]);
    refused(
        &app,
        UPSERT_AREA,
        json!({ "r": "00000000-0000-0000-0000-000000000000", "a": area }),
        "NOT_FOUND",
    )
    .await;
    refused(
        &app,
        UPSERT_AREA,
        json!({ "r": ROUND_2023, "a": area }),
        "FAILED_PRECONDITION",
    )
    .await;
}

/// The 2023 answers under the renamed question, imported into a CLOSED
/// 2027 round: the trend finds the report's 208 coordinators on both sides
/// through the mapping, and the new option is unmapped, not zero.
#[tokio::test]
async fn a_trend_follows_a_renamed_question_and_its_options() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let round = app.create_round(2027).await;
    let admin = admin_token();
    app.ok(
        &admin,
        UPSERT_QUESTION,
        json!({ "r": round, "q": renamed_coordinator() }),
    )
    .await;
    let hours = question(&questionnaire(&app, &round).await, "function_hours")
        .unwrap()
        .clone();
    let hours_input = hours_after_coordinator(&hours);
    app.ok(
        &admin,
        UPSERT_QUESTION,
        json!({ "r": round, "q": hours_input }),
    )
    .await;
    app.ok(
        &admin,
        REMOVE_QUESTION,
        json!({ "r": round, "k": "function_exists" }),
    )
    .await;
    for step in ["openSurveyRound", "closeSurveyRound"] {
        let body = app.transition(step, &round).await;
        assert!(body.get("errors").is_none(), "{body}");
    }

    // 2023's answers, the coordinator question under its new key.
    let mut bytes = Vec::new();
    mognad::transfer::export_answers(&app.db, 2023, &mut bytes)
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(reader.headers().unwrap()).unwrap();
    for record in reader.records() {
        let r = record.unwrap();
        let (key, value) = if &r[1] == "function_exists" {
            let value = match &r[2] {
                "yes" => "ja",
                "no" => "nej",
                other => other,
            };
            ("coordination_function", value.to_owned())
        } else {
            (&r[1], r[2].to_owned())
        };
        writer
            .write_record([&r[0], key, value.as_str(), &r[3], &r[4]])
            .unwrap();
    }
    let dir = tempfile_dir();
    let file = dir.join("answers-2027.csv");
    std::fs::write(&file, writer.into_inner().unwrap()).unwrap();
    let imported = mognad::transfer::import_answers(&app.db, 2027, &file, false, 5, false)
        .await
        .unwrap();
    assert!(imported.is_ok(), "{:?}", imported.err().map(|r| r.0));
    // Exported again, a municipality's answers come in questionnaire order
    // (areas in order, then their questions), whatever the authoring did.
    let order: Vec<String> = questionnaire(&app, &round).await["areas"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["questions"].as_array().unwrap().clone())
        .map(|x| x["key"].as_str().unwrap().to_owned())
        .collect();
    let mut again = Vec::new();
    mognad::transfer::export_answers(&app.db, 2027, &mut again)
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(again.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let first = &rows[0][0];
    let keys: Vec<&str> = rows
        .iter()
        .filter(|r| &r[0] == first)
        .map(|r| r.get(1).unwrap())
        .collect();
    assert_eq!(keys[0], "coordination_function", "{keys:?}");
    let places: Vec<usize> = keys
        .iter()
        .map(|k| order.iter().position(|o| o == k).unwrap())
        .collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "{keys:?}");

    let trend = app
        .ok(
            &analyst_token(),
            "query($r: ID!, $b: ID!) { distributionTrend(questionKey: \"coordination_function\", \
             roundId: $r, baselineRoundId: $b, grouping: NATIONAL) { suppressed \
             counts { option { key } count baselineCount baselineOptionKey } } }",
            json!({ "r": round, "b": ROUND_2023 }),
        )
        .await;
    let national = &trend["distributionTrend"][0];
    assert_eq!(national["suppressed"], false);
    let counts = national["counts"].as_array().unwrap();
    let of = |key: Option<&str>| {
        counts
            .iter()
            .find(|c| c["option"]["key"].as_str() == key)
            .unwrap()
            .clone()
    };
    assert_eq!(of(Some("ja"))["count"], 208, "{counts:?}");
    assert_eq!(of(Some("ja"))["baselineCount"], 208);
    assert_eq!(of(Some("ja"))["baselineOptionKey"], "yes");
    assert_eq!(of(Some("nej"))["count"], of(Some("nej"))["baselineCount"]);
    assert_eq!(of(Some("nej"))["baselineOptionKey"], "no");
    assert_eq!(of(Some("being_set_up"))["count"], 0);
    assert_eq!(of(Some("being_set_up"))["baselineCount"], Value::Null);
    assert_eq!(of(None)["count"], of(None)["baselineCount"]);
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mognad-authoring-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Concurrent authors on one DRAFT round, and an open racing them: the
/// gate puts them in one order, so every acknowledged change is there,
/// positions stay 1..n, and no change lands after the open.
#[tokio::test]
async fn concurrent_authors_and_an_open_are_put_in_one_order() {
    let Some(_) = postgres_url() else {
        eprintln!(
            "skipped: concurrent authors need PostgreSQL's concurrent writers; set MOGNAD_TEST_DATABASE_URL"
        );
        return;
    };
    let app = Arc::new(spawn_app().await);
    let round = app.create_round(2027).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (a, r) = (app.clone(), round.clone());
        tasks.push(tokio::spawn(async move {
            let (app, round) = (a, r);
            let input = json!({
                "key": format!("extra_{i}"), "areaKey": "function", "textSv": "Fråga", "textEn": "Question",
                "kind": "NUMBER", "position": 1 + i % 3,
            });
            let body = app
                .gql(
                    Some(&admin_token()),
                    UPSERT_QUESTION,
                    json!({ "r": round, "q": input }),
                )
                .await;
            (i, body)
        }));
        if i == 8 {
            let app = app.clone();
            let round = round.clone();
            tasks.push(tokio::spawn(async move {
                (99, app.transition("openSurveyRound", &round).await)
            }));
        }
    }
    let mut written = Vec::new();
    for t in tasks {
        let (i, body) = t.await.unwrap();
        if i == 99 {
            assert!(
                body.get("errors").is_none(),
                "the open goes through: {body}"
            );
        } else if body.get("errors").is_none() {
            written.push(format!("extra_{i}"));
        } else {
            assert_eq!(error_codes(&body), ["FAILED_PRECONDITION"], "{body}");
        }
    }
    let q = questionnaire(&app, &round).await;
    assert_eq!(q["status"], "OPEN");
    let keys: Vec<String> = q["areas"][0]["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["key"].as_str().unwrap().to_owned())
        .collect();
    let mut extras: Vec<String> = keys
        .iter()
        .filter(|k| k.starts_with("extra_"))
        .cloned()
        .collect();
    extras.sort();
    written.sort();
    assert_eq!(extras, written, "exactly the acknowledged changes");
    let unique: std::collections::HashSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len());
}

/// The manual.s authoring example (docs/using.md), run as it is written, does what the
/// manual says it does.
#[tokio::test]
async fn the_readme_authoring_example_does_what_the_readme_says() {
    let readme = include_str!("../../docs/using.md");
    let start = readme
        .find("```graphql\nmutation($r: ID!) {\n  added: upsertQuestion")
        .expect("the README's authoring example")
        + "```graphql\n".len();
    let example = &readme[start..start + readme[start..].find("\n```").unwrap()];
    let app = spawn_app().await;
    let round = app.create_round(2027).await;
    let admin = admin_token();
    let done = app.ok(&admin, example, json!({ "r": round })).await;
    assert_eq!(
        done["renamed"]["questionnaireProblems"],
        json!([
            "questions \"coordination_function\" and \"function_exists\" both continue the baseline's \"function_exists\""
        ])
    );
    let hours = question(&questionnaire(&app, &round).await, "function_hours")
        .unwrap()
        .clone();
    let input = hours_after_coordinator(&hours);
    app.ok(&admin, UPSERT_QUESTION, json!({ "r": round, "q": input }))
        .await;
    app.ok(
        &admin,
        REMOVE_QUESTION,
        json!({ "r": round, "k": "function_exists" }),
    )
    .await;
    let mapping =
        app.ok(&admin, MAPPING, json!({ "r": round })).await["surveyRound"]["mapping"].clone();
    assert_eq!(mapping["newQuestionKeys"], json!(["ai_use_assessed"]));
    assert_eq!(
        mapping["unmappedOptionKeys"],
        json!(["coordination_function.being_set_up"])
    );
    let opened = app.transition("openSurveyRound", &round).await;
    assert!(opened.get("errors").is_none(), "{opened}");
}

/// Both reference questionnaires pass validation: a copy of either opens.
#[tokio::test]
async fn copies_of_the_reference_rounds_open() {
    let app = spawn_app().await;
    let admin = admin_token();
    for (year, from) in [(2027, ROUND_2023), (2028, crate::helpers::ROUND_2019)] {
        let created = app
            .ok(
                &admin,
                "mutation($y: Int!, $f: ID!) { createSurveyRound(input: { year: $y, title: \"Kopia\", \
                 copyFrom: $f, baseline: $f }) { id questionnaireProblems mapping { newQuestionKeys \
                 droppedQuestionKeys unmappedOptionKeys } } }",
                json!({ "y": year, "f": from }),
            )
            .await["createSurveyRound"]
            .clone();
        assert_eq!(created["questionnaireProblems"], json!([]), "{from}");
        // A copy continues its source one to one.
        assert_eq!(
            created["mapping"],
            json!({ "newQuestionKeys": [], "droppedQuestionKeys": [], "unmappedOptionKeys": [] })
        );
        let id = created["id"].as_str().unwrap();
        let opened = app.transition("openSurveyRound", id).await;
        assert!(opened.get("errors").is_none(), "{from}: {opened}");
    }
    // 2023 beside 2019: "Vet inte" is new, unmapped rather than dropped.
    let mapping = app
        .ok(
            &admin,
            "query($r: ID!) { surveyRound(id: $r) { mapping { baseline { year } unmappedOptionKeys \
             newQuestionKeys } } }",
            json!({ "r": ROUND_2023 }),
        )
        .await["surveyRound"]["mapping"]
        .clone();
    assert_eq!(mapping["baseline"]["year"], 2019);
    let unmapped = mapping["unmappedOptionKeys"].as_array().unwrap();
    assert!(
        unmapped.contains(&json!("function_exists.dont_know")),
        "{unmapped:?}"
    );
}

/// A cycle through three questions is found, wherever it is closed.
#[tokio::test]
async fn a_longer_cycle_of_conditions_is_refused() {
    let app = spawn_app().await;
    let round = app.create_round(2027).await;
    let admin = admin_token();
    let q = |key: &str, on: Option<&str>| {
        json!({ "key": key, "areaKey": "function", "textSv": "Fråga", "textEn": "Question",
                "kind": "SINGLE_CHOICE",
                "options": [option("a", None), option("b", None)],
                "condition": on.map(|k| json!({ "questionKey": k, "optionKeys": ["a"] })) })
    };
    for (key, on) in [("q_a", None), ("q_b", Some("q_a")), ("q_c", Some("q_b"))] {
        app.ok(
            &admin,
            UPSERT_QUESTION,
            json!({ "r": round, "q": q(key, on) }),
        )
        .await;
    }
    let before = questionnaire(&app, &round).await;
    let message = refused(
        &app,
        UPSERT_QUESTION,
        json!({ "r": round, "q": q("q_a", Some("q_c")) }),
        "BAD_USER_INPUT",
    )
    .await;
    assert!(message.contains("cycle"), "{message}");
    assert_eq!(questionnaire(&app, &round).await, before);
    // Removing an option a condition names is refused the same way.
    let mut fewer = q("q_b", Some("q_a"));
    fewer["options"] = json!([option("b", None), option("c", None)]);
    let message = refused(
        &app,
        UPSERT_QUESTION,
        json!({ "r": round, "q": fewer }),
        "BAD_USER_INPUT",
    )
    .await;
    assert!(message.contains("q_c"), "{message}");
}

/// `mapping(baselineRoundId)` maps onto the round named; a baseline the
/// caller may not see (a DRAFT round, anonymously) gives null, not its questions.
#[tokio::test]
async fn a_mapping_onto_a_named_round_follows_who_sees_it() {
    let app = spawn_app().await;
    let draft = app.create_round(2027).await;
    let admin = admin_token();
    app.ok(
        &admin,
        UPSERT_QUESTION,
        json!({ "r": draft, "q": renamed_coordinator() }),
    )
    .await;
    let query = "query($r: ID!, $b: ID) { surveyRound(id: $r) { mapping(baselineRoundId: $b) { \
        baseline { year } newQuestionKeys droppedQuestionKeys } } }";
    // 2023 onto the DRAFT 2027: the new question is not in 2023, so
    // 2027's coordination_function is dropped seen from 2023.
    let vars = json!({ "r": ROUND_2023, "b": draft });
    let mapping = app.ok(&admin, query, vars.clone()).await["surveyRound"]["mapping"].clone();
    assert_eq!(mapping["baseline"]["year"], 2027);
    assert_eq!(mapping["newQuestionKeys"], json!([]));
    assert_eq!(
        mapping["droppedQuestionKeys"],
        json!(["coordination_function"])
    );
    let anonymous = app.data(query, vars).await;
    assert_eq!(anonymous["surveyRound"]["mapping"], Value::Null);
    let kommun = app
        .ok(
            &kommun_token("1280"),
            query,
            json!({ "r": ROUND_2023, "b": draft }),
        )
        .await;
    assert_eq!(kommun["surveyRound"]["mapping"], Value::Null);
    let body = app
        .gql(
            Some(&admin),
            query,
            json!({ "r": ROUND_2023, "b": "00000000-0000-0000-0000-000000000000" }),
        )
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
}

/// Inputs name the Swedish texts as the outputs show them (`text`, `label`,
/// `title`); the old names (`textSv`, `labelSv`, `titleSv`) still work,
/// deprecated, and giving both differently, or neither, is refused.
#[tokio::test]
async fn inputs_name_texts_as_outputs_do_and_the_old_names_still_work() {
    let app = spawn_app().await;
    let round = app.create_round(2027).await;
    let admin = admin_token();
    let area = "mutation($r: ID!, $a: AreaInput!) { upsertArea(roundId: $r, input: $a) { areas { key title titleEn } } }";
    let body = app
        .ok(
            &admin,
            area,
            json!({ "r": round, "a": { "key": "suppliers", "title": "Leverantörer", "titleEn": "Suppliers" } }),
        )
        .await;
    let areas = body["upsertArea"]["areas"].as_array().unwrap();
    assert!(
        areas
            .iter()
            .any(|a| a["key"] == "suppliers" && a["title"] == "Leverantörer")
    );
    let question = json!({ "key": "supplier_review", "areaKey": "suppliers", "kind": "SINGLE_CHOICE",
        "text": "Granskas leverantörerna?", "textEn": "Are suppliers reviewed?",
        "options": [{ "key": "yes", "label": "Ja", "labelEn": "Yes" },
                    { "key": "no", "labelSv": "Nej", "labelEn": "No" }] });
    app.ok(
        &admin,
        UPSERT_QUESTION,
        json!({ "r": round, "q": question }),
    )
    .await;
    let shown = question_of(&app, &round, "supplier_review").await;
    assert_eq!(shown["text"], "Granskas leverantörerna?");
    assert_eq!(shown["options"][1]["label"], "Nej");
    for (broken, says) in [
        (json!({ "text": "A", "textSv": "B" }), "give `text` once"),
        (
            json!({ "text": null }),
            "`text` (the Swedish text) is required",
        ),
    ] {
        let mut q = question.clone();
        q["key"] = json!("other");
        for (k, v) in broken.as_object().unwrap() {
            q[k] = v.clone();
        }
        let message = refused(
            &app,
            UPSERT_QUESTION,
            json!({ "r": round, "q": q }),
            "BAD_USER_INPUT",
        )
        .await;
        assert!(message.contains(says), "{message}");
    }
    assert!(question_of(&app, &round, "other").await.is_null());
    // The schema says which names are the old ones.
    let types = app
        .data(
            "{ __type(name: \"QuestionInput\") { inputFields(includeDeprecated: true) { name isDeprecated } } }",
            json!({}),
        )
        .await;
    let deprecated: Vec<&str> = types["__type"]["inputFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["isDeprecated"] == true)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(deprecated, ["textSv"]);
}

async fn question_of(app: &TestApp, round: &str, key: &str) -> Value {
    question(&questionnaire(app, round).await, key)
        .cloned()
        .unwrap_or(Value::Null)
}
