//! The round life cycle: create from 2023, open, answer, close (writes refused,
//! scores frozen), publish; every other transition refused, nothing changed.

use entity::answer_option;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::{ROUND_2019, ROUND_2023, admin_token, error_codes, kommun_token, spawn_app};

const QUESTIONNAIRE: &str = "query($id: ID) { surveyRound(id: $id) { year title status opensAt closesAt baseline { year } \
    areas { key number title questions { key text kind required maturity condition { questionKey optionKeys } options { key label maturityLevel } } } } }";
const SCORES: &str = "query($r: ID!) { myScores(roundId: $r) { area { number } level } }";

#[tokio::test]
async fn create_copies_the_questionnaire_and_its_scoring() {
    let app = spawn_app().await;
    let admin = admin_token();
    let created = app
        .ok(
            &admin,
            "mutation($i: CreateSurveyRoundInput!) { createSurveyRound(input: $i) { id year title status opensAt closesAt demo baseline { year } } }",
            json!({ "i": { "year": 2027, "title": "Uppföljning 2027", "copyFrom": ROUND_2023, "baseline": ROUND_2023,
                           "opensAt": "2027-02-01T00:00:00Z", "closesAt": "2027-05-01T00:00:00Z" } }),
        )
        .await["createSurveyRound"]
        .clone();
    assert_eq!(created["status"], "DRAFT");
    assert_eq!(created["baseline"]["year"], 2023);
    assert_eq!(created["demo"], false);
    assert_eq!(created["opensAt"], "2027-02-01T00:00:00.000000Z");

    let copy = app
        .ok(&admin, QUESTIONNAIRE, json!({ "id": created["id"] }))
        .await["surveyRound"]["areas"]
        .clone();
    let source = app
        .ok(&admin, QUESTIONNAIRE, json!({ "id": ROUND_2023 }))
        .await["surveyRound"]["areas"]
        .clone();
    assert_eq!(
        copy, source,
        "areas, questions, options and levels are copied"
    );
    assert_eq!(copy.as_array().unwrap().len(), 10);

    // Copying 2019 keeps 2019's options.
    let from_2019 = app
        .ok(&admin, "mutation { createSurveyRound(input: { year: 2028, title: \"x\", copyFrom: \"00000000-0000-0000-0000-000000002019\" }) { id } }", json!({}))
        .await["createSurveyRound"]["id"]
        .clone();
    let copy = app
        .ok(&admin, QUESTIONNAIRE, json!({ "id": from_2019 }))
        .await["surveyRound"]["areas"]
        .clone();
    let source = app
        .ok(&admin, QUESTIONNAIRE, json!({ "id": ROUND_2019 }))
        .await["surveyRound"]["areas"]
        .clone();
    assert_eq!(copy, source);

    // Bad input, unknown rounds, a taken year.
    let create = "mutation($i: CreateSurveyRoundInput!) { createSurveyRound(input: $i) { id } }";
    for (input, code) in [
        (
            json!({ "year": 2023, "title": "x", "copyFrom": ROUND_2023 }),
            "CONFLICT",
        ),
        (
            json!({ "year": 1999, "title": "x", "copyFrom": ROUND_2023 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "year": 2029, "title": "  ", "copyFrom": ROUND_2023 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "year": 2029, "title": "x", "copyFrom": ROUND_2023, "opensAt": "2029-05-01T00:00:00Z", "closesAt": "2029-02-01T00:00:00Z" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "year": 2029, "title": "x", "copyFrom": "00000000-0000-0000-0000-000000009999" }),
            "NOT_FOUND",
        ),
        (
            json!({ "year": 2029, "title": "x", "copyFrom": "garbage" }),
            "NOT_FOUND",
        ),
        (
            json!({ "year": 2029, "title": "x", "copyFrom": ROUND_2023, "baseline": "00000000-0000-0000-0000-000000009999" }),
            "NOT_FOUND",
        ),
        (
            json!({ "year": 2029, "title": "x", "copyFrom": ROUND_2023, "classification": "SKR1999" }),
            "BAD_USER_INPUT",
        ),
    ] {
        let body = app.gql(Some(&admin), create, json!({ "i": input })).await;
        assert_eq!(error_codes(&body), [code], "{input}: {body}");
    }
    let years = app.ok(&admin, "{ surveyRounds { year } }", json!({})).await;
    assert_eq!(
        years["surveyRounds"],
        json!([{ "year": 2019 }, { "year": 2023 }, { "year": 2027 }, { "year": 2028 }]),
        "refused creates left nothing"
    );
}

/// A round's `opensAt`, `closesAt` and `publishedAt`.
async fn dates(
    app: &crate::helpers::TestApp,
    round: &str,
) -> [Option<chrono::DateTime<chrono::Utc>>; 3] {
    let body = app
        .data(
            "query($r: ID!) { surveyRound(id: $r) { opensAt closesAt publishedAt } }",
            json!({ "r": round }),
        )
        .await;
    ["opensAt", "closesAt", "publishedAt"].map(|f| {
        body["surveyRound"][f]
            .as_str()
            .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap())
    })
}

#[tokio::test]
async fn the_life_cycle_moves_one_way_and_close_freezes_scores() {
    let app = spawn_app().await;
    let k = kommun_token("1280");
    let round = app.create_round(2027).await;
    let status = |body: &Value, op: &str| body["data"][op]["status"].clone();
    assert_eq!(dates(&app, &round).await, [None, None, None]);

    // From DRAFT only open is allowed.
    for op in ["closeSurveyRound", "publishSurveyRound"] {
        assert_eq!(
            error_codes(&app.transition(op, &round).await),
            ["FAILED_PRECONDITION"],
            "DRAFT -> {op}"
        );
    }
    assert_eq!(
        status(
            &app.transition("openSurveyRound", &round).await,
            "openSurveyRound"
        ),
        "OPEN"
    );
    for op in ["openSurveyRound", "publishSurveyRound"] {
        assert_eq!(
            error_codes(&app.transition(op, &round).await),
            ["FAILED_PRECONDITION"],
            "OPEN -> {op}"
        );
    }

    let save = "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }";
    let answers = json!([
        { "questionKey": "risk_managed", "value": { "choice": "yes_fully" } },
        { "questionKey": "assets_classified", "value": { "choice": "yes_partially" } },
        { "questionKey": "incidents_managed", "value": { "choice": "yes_just_started" } },
    ]);
    app.ok(&k, save, json!({ "r": round, "a": answers })).await;
    let levels = |scores: &Value| -> Vec<i64> {
        scores["myScores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["level"].as_i64().unwrap())
            .collect()
    };
    let open_scores = app.ok(&k, SCORES, json!({ "r": round })).await;
    assert_eq!(levels(&open_scores), [1, 1, 2, 2, 1, 1, 1, 1, 1]);
    let numbers: Vec<i64> = open_scores["myScores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["area"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=9).collect::<Vec<_>>());

    assert_eq!(
        status(
            &app.transition("closeSurveyRound", &round).await,
            "closeSurveyRound"
        ),
        "CLOSED"
    );
    let body = app.gql(Some(&k), save, json!({ "r": round, "a": [{ "questionKey": "follow_up_common_practices", "value": { "choice": "yes_fully" } }] })).await;
    assert_eq!(
        error_codes(&body),
        ["FAILED_PRECONDITION"],
        "writes refused after close"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("round 2027 is CLOSED, not OPEN"),
        "status names as the API writes them: {body}"
    );
    for op in ["openSurveyRound", "closeSurveyRound"] {
        assert_eq!(
            error_codes(&app.transition(op, &round).await),
            ["FAILED_PRECONDITION"],
            "CLOSED -> {op}"
        );
    }

    // Frozen: even a later change of the scoring model does not move a closed round's scores.
    let round_id = uuid::Uuid::parse_str(&round).unwrap();
    let questions: Vec<uuid::Uuid> = entity::question::Entity::find()
        .filter(entity::question::Column::RoundId.eq(round_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.id)
        .collect();
    answer_option::Entity::update_many()
        .col_expr(answer_option::Column::MaturityLevel, Expr::value(Some(3)))
        .filter(answer_option::Column::QuestionId.is_in(questions))
        .filter(answer_option::Column::Key.eq("yes_just_started"))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        levels(&app.ok(&k, SCORES, json!({ "r": round })).await),
        [1, 1, 2, 2, 1, 1, 1, 1, 1]
    );

    let before = chrono::Utc::now();
    assert_eq!(
        status(
            &app.transition("publishSurveyRound", &round).await,
            "publishSurveyRound"
        ),
        "PUBLISHED"
    );
    // Each transition dated itself, in order.
    let [opened, closed, published] = dates(&app, &round).await.map(Option::unwrap);
    assert!(opened <= closed && closed <= published && before <= published);
    for op in ["openSurveyRound", "closeSurveyRound", "publishSurveyRound"] {
        assert_eq!(
            error_codes(&app.transition(op, &round).await),
            ["FAILED_PRECONDITION"],
            "PUBLISHED -> {op}"
        );
    }
    assert_eq!(
        levels(&app.ok(&k, SCORES, json!({ "r": round })).await),
        [1, 1, 2, 2, 1, 1, 1, 1, 1]
    );
    let final_status = app
        .ok(
            &k,
            "query($id: ID) { surveyRound(id: $id) { status } }",
            json!({ "id": round }),
        )
        .await;
    assert_eq!(final_status["surveyRound"]["status"], "PUBLISHED");

    for op in ["openSurveyRound", "closeSurveyRound", "publishSurveyRound"] {
        assert_eq!(
            error_codes(
                &app.transition(op, "00000000-0000-0000-0000-000000009999")
                    .await
            ),
            ["NOT_FOUND"],
            "{op} unknown"
        );
    }
}

/// A close while fifty kommuner save as fast as they can: the close succeeds
/// at its first attempt, every writer gets success or FAILED_PRECONDITION
/// (never anything else), and each frozen level is the one the kommun's
/// last acknowledged save gave.
#[tokio::test]
async fn a_close_under_fifty_writers_freezes_every_acknowledged_save() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let app = Arc::new(spawn_app().await);
    let round = app.open_round(2027).await;
    let areas = app
        .data(
            "query($r: ID!) { surveyRound(id: $r) { areas { number questions { key } } } }",
            json!({ "r": round }),
        )
        .await;
    let area = areas["surveyRound"]["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["questions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|q| q["key"] == "risk_managed")
        })
        .unwrap()["number"]
        .clone();
    let codes: Vec<String> =
        app.data("{ municipalities { code } }", json!({})).await["municipalities"]
            .as_array()
            .unwrap()
            .iter()
            .take(50)
            .map(|m| m["code"].as_str().unwrap().to_owned())
            .collect();
    let started = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for code in codes.clone() {
        let (app, round, started) = (app.clone(), round.clone(), started.clone());
        writers.push(tokio::spawn(async move {
            let token = kommun_token(&code);
            let mut last_acknowledged: Option<&str> = None;
            for i in 0.. {
                let choice = if i % 2 == 0 { "yes_fully" } else { "no" };
                let body = app
                    .gql(
                        Some(&token),
                        "mutation($r: ID!, $c: String!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"risk_managed\", value: { choice: $c } }]) { version } }",
                        json!({ "r": round, "c": choice }),
                    )
                    .await;
                match error_codes(&body).as_slice() {
                    [] => last_acknowledged = Some(choice),
                    [code] if code == "FAILED_PRECONDITION" => break,
                    other => panic!("{code}: {other:?} {body}"),
                }
                started.store(true, Ordering::Relaxed);
            }
            (code, last_acknowledged)
        }));
    }
    // The writers are saving (a writer that fails ends the test instead).
    for _ in 0..3000 {
        if started.load(Ordering::Relaxed) || writers.iter().any(|w| w.is_finished()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(started.load(Ordering::Relaxed), "no save went through");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let closed = app.transition("closeSurveyRound", &round).await;
    assert_eq!(
        closed["data"]["closeSurveyRound"]["status"], "CLOSED",
        "{closed}"
    );
    let mut saved = 0;
    for writer in writers {
        let (code, last) = writer.await.expect("a writer ends");
        let scores = app
            .ok(
                &kommun_token(&code),
                "query($r: ID!) { myScores(roundId: $r) { area { number } level } }",
                json!({ "r": round }),
            )
            .await;
        let level = scores["myScores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["area"]["number"] == area)
            .unwrap()["level"]
            .clone();
        let expected = if last == Some("yes_fully") { 2 } else { 1 };
        assert_eq!(
            level, expected,
            "{code}: frozen level vs last acknowledged save {last:?}"
        );
        saved += usize::from(last.is_some());
    }
    assert!(
        saved >= 25,
        "most writers got saves through before the close: {saved}"
    );
}

const UPDATE: &str = "mutation($id: ID!, $i: UpdateSurveyRoundInput!) { updateSurveyRound(id: $id, input: $i) { title description opensAt closesAt status } }";
const DELETE: &str = "mutation($id: ID!) { deleteSurveyRound(id: $id) }";

/// A DRAFT round can be renamed, re-dated and deleted by an SKR admin; an
/// OPEN one, a baseline, or anyone else's attempt changes nothing.
#[tokio::test]
async fn a_draft_round_is_renamed_and_deleted_and_nothing_else_is() {
    let app = spawn_app().await;
    let admin = crate::helpers::admin_token();
    let draft = app.create_round(2031).await;
    let renamed = app
        .ok(
            &admin,
            UPDATE,
            json!({ "id": draft, "i": { "title": "  Uppföljning 2031 ", "opensAt": "2031-03-01T08:00:00+01:00" } }),
        )
        .await;
    assert_eq!(
        renamed["updateSurveyRound"],
        json!({ "title": "Uppföljning 2031", "description": null, "opensAt": "2031-03-01T07:00:00.000000Z",
                "closesAt": null, "status": "DRAFT" })
    );
    // Left out stays; null clears; bad input changes nothing.
    let cleared = app
        .ok(
            &admin,
            UPDATE,
            json!({ "id": draft, "i": { "opensAt": null, "description": "Prov" } }),
        )
        .await;
    assert_eq!(cleared["updateSurveyRound"]["title"], "Uppföljning 2031");
    assert_eq!(cleared["updateSurveyRound"]["opensAt"], Value::Null);
    assert_eq!(cleared["updateSurveyRound"]["description"], "Prov");
    for (input, code) in [
        (json!({ "title": "" }), "BAD_USER_INPUT"),
        (json!({ "title": "x".repeat(201) }), "BAD_USER_INPUT"),
        (
            json!({ "opensAt": "2031-05-01T00:00:00Z", "closesAt": "2031-04-01T00:00:00Z" }),
            "BAD_USER_INPUT",
        ),
        (json!({ "opensAt": "tomorrow" }), "BAD_USER_INPUT"),
    ] {
        let body = app
            .gql(Some(&admin), UPDATE, json!({ "id": draft, "i": input }))
            .await;
        assert_eq!(error_codes(&body), [code], "{input}: {body}");
    }
    for (token, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(kommun_token("1280")), "FORBIDDEN"),
        (Some(crate::helpers::analyst_token()), "FORBIDDEN"),
    ] {
        let body = app
            .gql(
                token.as_deref(),
                UPDATE,
                json!({ "id": draft, "i": { "title": "x" } }),
            )
            .await;
        assert_eq!(error_codes(&body), [code]);
        let body = app
            .gql(token.as_deref(), DELETE, json!({ "id": draft }))
            .await;
        assert_eq!(error_codes(&body), [code]);
    }
    let round = app
        .ok(
            &admin,
            "query($r: ID!) { surveyRound(id: $r) { title description } }",
            json!({ "r": draft }),
        )
        .await;
    assert_eq!(
        round["surveyRound"],
        json!({ "title": "Uppföljning 2031", "description": "Prov" })
    );

    // A round another one compares with is not deleted.
    let later = app
        .ok(
            &admin,
            "mutation($b: ID!) { createSurveyRound(input: { year: 2035, title: \"Later\", copyFrom: $b, baseline: $b }) { id } }",
            json!({ "b": draft }),
        )
        .await["createSurveyRound"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app.gql(Some(&admin), DELETE, json!({ "id": draft })).await;
    assert_eq!(error_codes(&body), ["FAILED_PRECONDITION"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("baseline of round 2035")
    );
    assert_eq!(
        app.ok(&admin, DELETE, json!({ "id": later })).await["deleteSurveyRound"],
        2035
    );

    // Deleted: gone from every list and the feed, and its year is free again.
    assert_eq!(
        app.ok(&admin, DELETE, json!({ "id": draft })).await["deleteSurveyRound"],
        2031
    );
    let gone = app
        .gql(
            Some(&admin),
            "query($r: ID!) { surveyRound(id: $r) { year } }",
            json!({ "r": draft }),
        )
        .await;
    assert!(
        gone["data"]["surveyRound"].is_null() || error_codes(&gone) == ["NOT_FOUND"],
        "{gone}"
    );
    let years = app.data("{ surveyRounds { year } }", json!({})).await;
    assert!(!years.to_string().contains("2031"), "{years}");
    let feed = app
        .ok(
            &admin,
            "{ changes(first: 100) { edges { node { roundYear } } } }",
            json!({}),
        )
        .await;
    assert!(
        !feed.to_string().contains("2031") && !feed.to_string().contains("2035"),
        "{feed}"
    );
    let body = app.gql(Some(&admin), DELETE, json!({ "id": draft })).await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    app.create_round(2031).await;

    // An OPEN round is part of the record.
    let open = app.open_round(2033).await;
    for (query, vars) in [
        (UPDATE, json!({ "id": open, "i": { "title": "x" } })),
        (DELETE, json!({ "id": open })),
    ] {
        let body = app.gql(Some(&admin), query, vars).await;
        assert_eq!(error_codes(&body), ["FAILED_PRECONDITION"], "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("round 2033 is OPEN: only a DRAFT round")
        );
    }
    let round = app
        .data(
            "query($r: ID!) { surveyRound(id: $r) { title } }",
            json!({ "r": open }),
        )
        .await;
    assert_eq!(round["surveyRound"]["title"], "Test round");
}

/// Deleting a draft while it is being authored and deleted again: each
/// writer gets its answer or a clear error, never a database's; nothing of
/// the round is left (run on PostgreSQL too).
#[tokio::test]
async fn a_draft_deleted_while_it_is_authored_leaves_nothing_behind() {
    let app = spawn_app().await;
    let admin = crate::helpers::admin_token();
    for year in [2041, 2042, 2043] {
        let draft = app.create_round(year).await;
        let upsert = "mutation($r: ID!, $q: QuestionInput!) { upsertQuestion(roundId: $r, input: $q) { id } }";
        let writers = (0..4).map(|i| {
            let (app, admin, draft) = (&app, admin.clone(), draft.clone());
            async move {
                let vars = json!({ "r": draft, "q": { "key": format!("extra_{i}"), "areaKey": "function",
                    "textSv": "Extra", "textEn": "Extra", "kind": "TEXT" } });
                app.gql(Some(&admin), upsert, vars).await
            }
        });
        let deleters = (0..2).map(|_| {
            let (app, admin, draft) = (&app, admin.clone(), draft.clone());
            async move { app.gql(Some(&admin), DELETE, json!({ "id": draft })).await }
        });
        let (written, deleted) = futures_util::join!(
            futures_util::future::join_all(writers),
            futures_util::future::join_all(deleters)
        );
        let deleted_ok = deleted.iter().filter(|b| b.get("errors").is_none()).count();
        assert_eq!(deleted_ok, 1, "{deleted:?}");
        for body in deleted.iter().chain(&written) {
            for code in error_codes(body) {
                assert!(
                    ["NOT_FOUND", "FAILED_PRECONDITION"].contains(&code.as_str()),
                    "{body}"
                );
            }
        }
        let id = uuid::Uuid::parse_str(&draft).unwrap();
        let left = entity::question::Entity::find()
            .filter(entity::question::Column::RoundId.eq(id))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(left, 0, "round {year}");
        assert!(
            entity::survey_round::Entity::find_by_id(id)
                .one(&app.db)
                .await
                .unwrap()
                .is_none()
        );
    }
}
