//! Writing answers: the write flow, every validation rule (each leaving the
//! response and audit trail as they were), and concurrent saves.

use entity::{QuestionKind, area, question};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes, kommun_token, spawn_app};
use crate::isolation::full_answers;

const RESPONSE: &str = "query($r: ID!) { myResponse(roundId: $r) { status version updatedAt submittedAt answeredCount requiredCount \
    answers { questionKey choices number text } history { subject questionKey before after \
    beforeValue { choice choices number text } afterValue { choice choices number text } } } }";
const SAVE: &str = "mutation($r: ID!, $a: [AnswerInput!]!, $v: Int) { saveAnswers(roundId: $r, answers: $a, expectedVersion: $v) { status version answeredCount answers { questionKey choices number text } } }";

fn choice(key: &str, option: &str) -> Value {
    json!({ "questionKey": key, "value": { "choice": option } })
}

async fn response(app: &TestApp, token: &str, round: &str) -> Value {
    app.ok(token, RESPONSE, json!({ "r": round })).await["myResponse"].clone()
}

/// Adds a NUMBER (0..=168) and a TEXT (at most 20 characters) question to a
/// DRAFT round: the reference questionnaires have neither kind.
async fn add_number_and_text_questions(app: &TestApp, round: &str) {
    let round_id = uuid::Uuid::parse_str(round).unwrap();
    let area = area::Entity::find()
        .filter(area::Column::RoundId.eq(round_id))
        .filter(area::Column::Key.eq("function"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    for (key, kind, min, max, max_length) in [
        (
            "weekly_hours_exact",
            QuestionKind::Number,
            Some(0.0),
            Some(168.0),
            None,
        ),
        ("comment", QuestionKind::Text, None, None, Some(20)),
    ] {
        question::Entity::insert(question::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            round_id: Set(round_id),
            area_id: Set(area.id),
            key: Set(key.into()),
            text_sv: Set(key.into()),
            text_en: Set(key.into()),
            kind: Set(kind),
            required: Set(false),
            maturity: Set(false),
            position: Set(100),
            condition_question_key: Set(None),
            condition_option_keys: Set(None),
            min_number: Set(min),
            max_number: Set(max),
            max_length: Set(max_length),
            predecessor_key: Set(None),
        })
        .exec_without_returning(&app.db)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn the_write_flow_keeps_every_change_in_order() {
    let app = spawn_app().await;
    let round = app.create_round(2027).await;
    add_number_and_text_questions(&app, &round).await;
    app.transition("openSurveyRound", &round).await;
    let k = kommun_token("1280");

    let r = response(&app, &k, &round).await;
    assert_eq!(
        (
            r["status"].clone(),
            r["version"].clone(),
            r["answeredCount"].clone()
        ),
        (json!("NOT_STARTED"), json!(0), json!(0))
    );
    assert_eq!(
        r["requiredCount"], 20,
        "21 required questions, function_hours only after function_exists = yes"
    );
    assert_eq!(
        response(&app, &k, &round).await["version"],
        0,
        "reading creates nothing"
    );

    // Three calls.
    let v1 = app.ok(&k, SAVE, json!({ "r": round, "a": [choice("function_exists", "yes"), choice("function_hours", "h_11_20")], "v": 0 })).await;
    assert_eq!(v1["saveAnswers"]["status"], "IN_PROGRESS");
    assert_eq!(v1["saveAnswers"]["version"], 1);
    let v2 = app
        .ok(&k, SAVE, json!({ "r": round, "a": [{ "questionKey": "weekly_hours_exact", "value": { "number": 12.5 } }, { "questionKey": "comment", "value": { "text": "hej" } }], "v": 1 }))
        .await;
    assert_eq!(v2["saveAnswers"]["version"], 2);
    let v3 = app
        .ok(
            &k,
            SAVE,
            json!({ "r": round, "a": [choice("risk_managed", "yes_partially")] }),
        )
        .await;
    assert_eq!(
        v3["saveAnswers"]["version"], 3,
        "expectedVersion is optional"
    );
    assert_eq!(v3["saveAnswers"]["answeredCount"], 5);

    // The same value again changes nothing.
    let same = app
        .ok(
            &k,
            SAVE,
            json!({ "r": round, "a": [choice("risk_managed", "yes_partially")] }),
        )
        .await;
    assert_eq!(same["saveAnswers"]["version"], 3);

    // Clear one answer.
    let v4 = app
        .ok(
            &k,
            SAVE,
            json!({ "r": round, "a": [{ "questionKey": "comment", "value": null }] }),
        )
        .await;
    assert_eq!(v4["saveAnswers"]["version"], 4);
    assert!(
        v4["saveAnswers"]["answers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["questionKey"] != "comment")
    );

    // A stale version is a conflict and writes nothing.
    let body = app
        .gql(
            Some(&k),
            SAVE,
            json!({ "r": round, "a": [choice("risk_managed", "no")], "v": 3 }),
        )
        .await;
    assert_eq!(error_codes(&body), ["CONFLICT"]);
    let r = response(&app, &k, &round).await;
    assert_eq!(r["version"], 4);

    // Submit with required questions missing: they are listed.
    let body = app
        .gql(
            Some(&k),
            "mutation($r: ID!) { submitResponse(roundId: $r) { status } }",
            json!({ "r": round }),
        )
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    let message = body["errors"][0]["message"].as_str().unwrap();
    for missing in [
        "policy_adopted",
        "follow_up_common_practices",
        "coop_received_support",
    ] {
        assert!(message.contains(missing), "{message}");
    }
    assert!(
        !message.contains("risk_managed") && !message.contains("function_hours"),
        "{message}"
    );
    // The same keys as a list beside the message, in questionnaire order.
    let listed: Vec<&str> = body["errors"][0]["extensions"]["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        message,
        format!("required questions are unanswered: {}", listed.join(", "))
    );
    assert!(listed.contains(&"policy_adopted") && !listed.contains(&"risk_managed"));

    // Answer the rest, submit (with a stale version first).
    let v5 = app
        .ok(&k, SAVE, json!({ "r": round, "a": full_answers(), "v": 4 }))
        .await;
    assert_eq!(v5["saveAnswers"]["version"], 5);
    let submit = "mutation($r: ID!, $v: Int) { submitResponse(roundId: $r, expectedVersion: $v) { status version submittedAt } }";
    assert_eq!(
        error_codes(
            &app.gql(Some(&k), submit, json!({ "r": round, "v": 4 }))
                .await
        ),
        ["CONFLICT"]
    );
    let submitted =
        app.ok(&k, submit, json!({ "r": round, "v": 5 })).await["submitResponse"].clone();
    assert_eq!(submitted["status"], "SUBMITTED");
    assert_eq!(submitted["version"], 6);
    assert!(submitted["submittedAt"].is_string());
    assert_eq!(
        error_codes(&app.gql(Some(&k), submit, json!({ "r": round })).await),
        ["FAILED_PRECONDITION"],
        "submitted twice"
    );

    // A submitted response refuses changes until reopened.
    let body = app
        .gql(
            Some(&k),
            SAVE,
            json!({ "r": round, "a": [choice("risk_managed", "no")] }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FAILED_PRECONDITION"]);
    let reopened = app
        .ok(
            &k,
            "mutation($r: ID!) { reopenResponse(roundId: $r) { status version submittedAt } }",
            json!({ "r": round }),
        )
        .await;
    assert_eq!(
        reopened["reopenResponse"],
        json!({ "status": "IN_PROGRESS", "version": 7, "submittedAt": null })
    );
    app.ok(
        &k,
        SAVE,
        json!({ "r": round, "a": [choice("risk_managed", "no")], "v": 7 }),
    )
    .await;
    let done = app.ok(&k, submit, json!({ "r": round, "v": 8 })).await;
    assert_eq!(done["submitResponse"]["status"], "SUBMITTED");

    // The audit trail holds every change, oldest first.
    let r = response(&app, &k, &round).await;
    let trail: Vec<(String, Value, Value)> = r["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["subject"], "user-1280");
            // The same values as objects, as saveAnswers takes them.
            for (text, value) in [("before", "beforeValue"), ("after", "afterValue")] {
                match e[text].as_str() {
                    None => assert_eq!(e[value], Value::Null, "{e}"),
                    Some(json) => {
                        let sent: Value = serde_json::from_str(json).unwrap();
                        let (field, inner) = sent.as_object().unwrap().iter().next().unwrap();
                        for f in ["choice", "choices", "number", "text"] {
                            let expected = if f == field {
                                inner.clone()
                            } else {
                                Value::Null
                            };
                            assert_eq!(e[value][f], expected, "{e}");
                        }
                    }
                }
            }
            (
                e["questionKey"].as_str().unwrap().to_owned(),
                e["before"].clone(),
                e["after"].clone(),
            )
        })
        .collect();
    let c = |o: &str| json!(format!("{{\"choice\":\"{o}\"}}"));
    let mut expected = vec![
        ("function_exists".to_owned(), Value::Null, c("yes")),
        ("function_hours".into(), Value::Null, c("h_11_20")),
        (
            "weekly_hours_exact".into(),
            Value::Null,
            json!("{\"number\":12.5}"),
        ),
        ("comment".into(), Value::Null, json!("{\"text\":\"hej\"}")),
        ("risk_managed".into(), Value::Null, c("yes_partially")),
        ("comment".into(), json!("{\"text\":\"hej\"}"), Value::Null),
    ];
    // full_answers: every question except those already so answered.
    for a in full_answers().as_array().unwrap() {
        let key = a["questionKey"].as_str().unwrap();
        let option = a["value"]["choice"].as_str().unwrap();
        let before = match key {
            "function_hours" => c("h_11_20"),
            "risk_managed" => c("yes_partially"),
            _ => Value::Null,
        };
        if key != "function_exists" {
            expected.push((key.into(), before, c(option)));
        }
    }
    expected.push(("risk_managed".into(), c("yes_just_started"), c("no")));
    assert_eq!(trail, expected);
}

#[tokio::test]
async fn every_invalid_answer_refuses_the_whole_call() {
    let app = spawn_app().await;
    let round = app.create_round(2027).await;
    add_number_and_text_questions(&app, &round).await;
    app.transition("openSurveyRound", &round).await;
    let k = kommun_token("1280");
    app.ok(&k, SAVE, json!({ "r": round, "a": [choice("function_exists", "no"), choice("risk_managed", "yes_fully")] })).await;
    let before = response(&app, &k, &round).await;
    assert_eq!(before["version"], 1);

    let good = choice("policy_adopted", "yes_fully");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown question key",
            json!([good, choice("no_such_question", "yes")]),
            "no_such_question",
        ),
        (
            "option not offered",
            json!([good, choice("risk_managed", "maybe")]),
            "risk_managed",
        ),
        (
            "an option of another question",
            json!([good, choice("risk_managed", "h_1_10")]),
            "risk_managed",
        ),
        (
            "wrong kind: number for a choice",
            json!([good, { "questionKey": "risk_managed", "value": { "number": 2 } }]),
            "risk_managed",
        ),
        (
            "wrong kind: list for a single choice",
            json!([good, { "questionKey": "risk_managed", "value": { "choices": ["no"] } }]),
            "risk_managed",
        ),
        (
            "wrong kind: text for a number",
            json!([good, { "questionKey": "weekly_hours_exact", "value": { "text": "ten" } }]),
            "weekly_hours_exact",
        ),
        (
            "wrong kind: choice for text",
            json!([good, { "questionKey": "comment", "value": { "choice": "yes" } }]),
            "comment",
        ),
        (
            "duplicate key in one call",
            json!([
                choice("risk_managed", "no"),
                good,
                choice("risk_managed", "yes_fully")
            ]),
            "risk_managed",
        ),
        (
            "number above range",
            json!([good, { "questionKey": "weekly_hours_exact", "value": { "number": 169 } }]),
            "weekly_hours_exact",
        ),
        (
            "number below range",
            json!([good, { "questionKey": "weekly_hours_exact", "value": { "number": -1 } }]),
            "weekly_hours_exact",
        ),
        (
            "text over the limit",
            json!([good, { "questionKey": "comment", "value": { "text": "å".repeat(21) } }]),
            "comment",
        ),
        (
            "condition not met",
            json!([good, choice("function_hours", "h_1_10")]),
            "function_hours",
        ),
    ];
    for (what, answers, names) in cases {
        let body = app
            .gql(Some(&k), SAVE, json!({ "r": round, "a": answers }))
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{what}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(names),
            "{what}: the message names {names}: {message}"
        );
        assert_eq!(
            response(&app, &k, &round).await,
            before,
            "{what}: nothing written"
        );
    }

    // Not exactly one field of the @oneOf value: refused by the schema itself.
    for value in [json!({}), json!({ "choice": "no", "number": 1 })] {
        let body = app
            .gql(
                Some(&k),
                SAVE,
                json!({ "r": round, "a": [{ "questionKey": "risk_managed", "value": value }] }),
            )
            .await;
        assert!(
            body["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        assert_eq!(response(&app, &k, &round).await, before);
    }

    // Text at the limit, counted in characters, is fine.
    let ok = app.ok(&k, SAVE, json!({ "r": round, "a": [{ "questionKey": "comment", "value": { "text": "å".repeat(20) } }] })).await;
    assert_eq!(ok["saveAnswers"]["version"], 2);
}

#[tokio::test]
async fn writes_to_a_round_that_is_not_open_are_refused() {
    let app = spawn_app().await;
    let k = kommun_token("1280");
    let round = app.open_round(2027).await;
    app.ok(
        &k,
        SAVE,
        json!({ "r": round, "a": [choice("risk_managed", "yes_fully")] }),
    )
    .await;
    let before = response(&app, &k, &round).await;
    app.transition("closeSurveyRound", &round).await;
    for (what, query, vars) in [
        (
            "save",
            SAVE,
            json!({ "r": round, "a": [choice("risk_managed", "no")] }),
        ),
        (
            "submit",
            "mutation($r: ID!) { submitResponse(roundId: $r) { status } }",
            json!({ "r": round }),
        ),
        (
            "reopen",
            "mutation($r: ID!) { reopenResponse(roundId: $r) { status } }",
            json!({ "r": round }),
        ),
    ] {
        let body = app.gql(Some(&k), query, vars).await;
        assert_eq!(
            error_codes(&body),
            ["FAILED_PRECONDITION"],
            "{what}: {body}"
        );
    }
    assert_eq!(response(&app, &k, &round).await, before);
    // The reference rounds are CLOSED too.
    let body = app
        .gql(
            Some(&k),
            SAVE,
            json!({ "r": crate::helpers::ROUND_2023, "a": [choice("risk_managed", "no")] }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FAILED_PRECONDITION"]);
}

const KEYS: [(&str, &str); 20] = [
    ("function_exists", "no"),
    ("coop_received_support", "dont_know"),
    ("coop_provided_support", "dont_know"),
    ("support_need_other_municipalities", "neither_nor"),
    ("mgmt_info_political", "yes_fully"),
    ("mgmt_info_administration", "no"),
    ("policy_adopted", "yes_fully"),
    ("policy_age", "dont_know"),
    ("decision_body_strategic_documents", "other"),
    ("decision_body_action_documents", "other"),
    ("decision_body_normative_documents", "other"),
    ("decision_body_practical_matters", "other"),
    ("risk_managed", "yes_fully"),
    ("risk_analysis_frequency", "annually"),
    ("assets_classified", "yes_fully"),
    ("incidents_managed", "yes_fully"),
    ("continuity_ensured", "yes_fully"),
    ("staff_awareness_ensured", "yes_fully"),
    ("procurement_requirements_set", "yes_fully"),
    ("follow_up_common_practices", "yes_fully"),
];

#[tokio::test]
async fn concurrent_saves_never_lose_an_update() {
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    let k = kommun_token("1280");

    // 20 saves, all expecting version 0: exactly one wins, the others conflict.
    let calls = KEYS.iter().map(|(key, option)| {
        let (app, k, round) = (&app, &k, &round);
        async move {
            app.gql(
                Some(k),
                SAVE,
                json!({ "r": round, "a": [choice(key, option)], "v": 0 }),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, b)| b.get("errors").is_none())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one save wins version 1");
    for (i, body) in results.iter().enumerate() {
        if !winners.contains(&i) {
            assert_eq!(error_codes(body), ["CONFLICT"], "{body}");
        }
    }
    let r = response(&app, &k, &round).await;
    assert_eq!(r["version"], 1);
    assert_eq!(r["answers"].as_array().unwrap().len(), 1);
    assert_eq!(r["answers"][0]["questionKey"], KEYS[winners[0]].0);
    assert_eq!(r["history"].as_array().unwrap().len(), 1);

    // 20 saves without expectedVersion, each changing another answer: all apply, one after the other.
    let calls = KEYS.iter().map(|(key, _)| {
        let (app, k, round) = (&app, &k, &round);
        async move {
            app.gql(
                Some(k),
                SAVE,
                json!({ "r": round, "a": [choice(key, second(key))] }),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let mut versions: Vec<i64> = results
        .iter()
        .map(|b| {
            assert!(b.get("errors").is_none(), "{b}");
            b["data"]["saveAnswers"]["version"].as_i64().unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (2..=21).collect::<Vec<_>>(),
        "every save got its own version"
    );
    let r = response(&app, &k, &round).await;
    assert_eq!(r["version"], 21);
    assert_eq!(r["answers"].as_array().unwrap().len(), 20);
    for a in r["answers"].as_array().unwrap() {
        assert_eq!(
            a["choices"][0],
            second(a["questionKey"].as_str().unwrap()),
            "every change is kept"
        );
    }
    assert_eq!(
        r["history"].as_array().unwrap().len(),
        21,
        "every accepted change is in the audit trail"
    );
}

/// An option of `key` other than the one in [`KEYS`].
fn second(key: &str) -> &'static str {
    match key {
        "function_exists" => "yes",
        "coop_received_support" => "not_received_support",
        "coop_provided_support" => "not_provided_support",
        "support_need_other_municipalities" => "very_low_degree",
        "mgmt_info_administration" => "dont_know",
        "policy_age" => "not_yet_adopted",
        "risk_analysis_frequency" => "not_performed",
        k if k.starts_with("decision_body") => "dont_know",
        _ => "no",
    }
}
