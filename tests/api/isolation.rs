//! The access table, cell by cell, and the isolation matrix: kommun B never
//! reads or changes kommun A's response, answers, version, timestamps or scores.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin_token, analyst_token, error_codes, kommun_token, spawn_app};

const A: &str = "1280";
const B: &str = "0180";

const MY_RESPONSE: &str = "query($r: ID!) { myResponse(roundId: $r) { municipality { code } status version updatedAt submittedAt \
    answeredCount requiredCount answers { questionKey choices number text updatedAt } \
    history { subject at questionKey before after } } }";
const MY_SCORES: &str = "query($r: ID!) { myScores(roundId: $r) { area { key number } level } }";
const SAVE: &str = "mutation($r: ID!, $a: [AnswerInput!]!, $v: Int) { saveAnswers(roundId: $r, answers: $a, expectedVersion: $v) { status version } }";
const SUBMIT: &str = "mutation($r: ID!) { submitResponse(roundId: $r) { status version } }";
const REOPEN: &str = "mutation($r: ID!) { reopenResponse(roundId: $r) { status version } }";

/// Answers to every question of the 2023 questionnaire (the first option, "yes" where it matters).
pub fn full_answers() -> Value {
    let keys = [
        ("function_exists", "yes"),
        ("function_hours", "h_31_40"),
        ("coop_received_support", "occasionally_received_support"),
        ("coop_provided_support", "occasionally_provided_support"),
        ("support_need_other_municipalities", "fairly_high_degree"),
        ("mgmt_info_political", "yes_fully"),
        ("mgmt_info_administration", "yes_partially"),
        ("policy_adopted", "yes_partially"),
        ("policy_age", "from_1_to_3_years"),
        ("decision_body_strategic_documents", "municipal_council"),
        (
            "decision_body_action_documents",
            "municipal_executive_board",
        ),
        ("decision_body_normative_documents", "chief_executive"),
        ("decision_body_practical_matters", "ciso_or_equivalent"),
        ("risk_managed", "yes_just_started"),
        ("risk_analysis_frequency", "annually"),
        ("assets_classified", "no"),
        ("incidents_managed", "yes_fully"),
        ("continuity_ensured", "dont_know"),
        ("staff_awareness_ensured", "yes_cannot_assess"),
        ("procurement_requirements_set", "yes_partially"),
        ("follow_up_common_practices", "no"),
    ];
    Value::Array(
        keys.iter()
            .map(|(k, v)| json!({ "questionKey": k, "value": { "choice": v } }))
            .collect(),
    )
}

async fn snapshot(app: &TestApp, token: &str, round: &str) -> (Value, Value) {
    let r = app.ok(token, MY_RESPONSE, json!({ "r": round })).await["myResponse"].clone();
    let s = app.ok(token, MY_SCORES, json!({ "r": round })).await["myScores"].clone();
    (r, s)
}

#[tokio::test]
async fn kommun_b_never_sees_or_changes_kommun_a() {
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    let (a, b) = (kommun_token(A), kommun_token(B));

    app.ok(&a, SAVE, json!({ "r": round, "a": full_answers() }))
        .await;
    let submitted = app.ok(&a, SUBMIT, json!({ "r": round })).await;
    assert_eq!(submitted["submitResponse"]["status"], "SUBMITTED");
    let (a_response, a_scores) = snapshot(&app, &a, &round).await;
    assert_eq!(a_response["municipality"]["code"], A);
    assert_eq!(a_response["answeredCount"], 21);
    assert!(a_scores.as_array().unwrap().iter().any(|s| s["level"] == 2));

    // B reads: only its own, empty response.
    let (b_response, b_scores) = snapshot(&app, &b, &round).await;
    assert_eq!(b_response["municipality"]["code"], B);
    assert_eq!(b_response["status"], "NOT_STARTED");
    assert_eq!(b_response["version"], 0);
    assert_eq!(b_response["answers"], json!([]));
    assert_eq!(b_response["history"], json!([]));
    assert_eq!(b_response["updatedAt"], Value::Null);
    assert_eq!(b_response["submittedAt"], Value::Null);
    assert!(
        b_scores.as_array().unwrap().iter().all(|s| s["level"] == 1),
        "{b_scores}"
    );

    // B writes: only its own response changes.
    let saved = app.ok(&b, SAVE, json!({ "r": round, "a": [{ "questionKey": "risk_managed", "value": { "choice": "no" } }] })).await;
    assert_eq!(
        saved["saveAnswers"]["version"], 1,
        "B's own first version, not A's"
    );
    let body = app
        .gql(Some(&b), SAVE, json!({ "r": round, "a": [], "v": 2 }))
        .await;
    assert_eq!(
        error_codes(&body),
        ["CONFLICT"],
        "A's version means nothing to B's response"
    );
    let body = app.gql(Some(&b), SUBMIT, json!({ "r": round })).await;
    assert_eq!(
        error_codes(&body),
        ["BAD_USER_INPUT"],
        "B's own response is incomplete"
    );
    let body = app.gql(Some(&b), REOPEN, json!({ "r": round })).await;
    assert_eq!(
        error_codes(&body),
        ["FAILED_PRECONDITION"],
        "B's own response is not submitted; A's stays so"
    );

    // No operation takes a municipality: naming one is a validation error.
    for query in [
        "query($r: ID!) { myResponse(roundId: $r, kommun: \"1280\") { version } }",
        "query($r: ID!) { myResponse(roundId: $r, municipality: \"1280\") { version } }",
        "query($r: ID!) { myScores(roundId: $r, kommun: \"1280\") { level } }",
        "mutation($r: ID!) { reopenResponse(roundId: $r, kommun: \"1280\") { version } }",
    ] {
        let body = app.gql(Some(&b), query, json!({ "r": round })).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Unknown argument"),
            "{body}"
        );
        assert!(body["data"].is_null(), "{body}");
    }

    assert_eq!(
        snapshot(&app, &a, &round).await,
        (a_response, a_scores),
        "A's response is untouched"
    );
}

/// What a role gets from an operation: `None` for success, or the error code.
async fn outcome(app: &TestApp, token: Option<&str>, query: &str, vars: Value) -> Option<String> {
    let body = app.gql(token, query, vars).await;
    error_codes(&body).into_iter().next()
}

#[tokio::test]
async fn the_access_table_cell_by_cell() {
    let app = spawn_app().await;
    let open = app.open_round(2027).await;
    let draft = app.create_round(2028).await;
    let (kommun, analyst, admin) = (kommun_token(A), analyst_token(), admin_token());
    let roles: [(&str, Option<&str>); 4] = [
        ("ANONYMOUS", None),
        ("KOMMUN", Some(&kommun)),
        ("SKR_ANALYST", Some(&analyst)),
        ("SKR_ADMIN", Some(&admin)),
    ];
    let unauth = Some("UNAUTHENTICATED".to_owned());
    let forbidden = Some("FORBIDDEN".to_owned());

    for (role, token) in roles {
        // viewer, municipalities: everyone.
        assert_eq!(
            outcome(&app, token, "{ viewer { role } }", json!({})).await,
            None,
            "{role} viewer"
        );
        let viewer = app.gql(token, "{ viewer { role } }", json!({})).await;
        assert_eq!(viewer["data"]["viewer"]["role"], role);
        assert_eq!(
            outcome(&app, token, "{ municipalities { code } }", json!({})).await,
            None,
            "{role} municipalities"
        );

        // surveyRounds, surveyRound: DRAFT for SKR only.
        let skr = role.starts_with("SKR");
        let years = app.gql(token, "{ surveyRounds { year } }", json!({})).await;
        let years: Vec<i64> = years["data"]["surveyRounds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["year"].as_i64().unwrap())
            .collect();
        assert_eq!(
            years,
            if skr {
                vec![2019, 2023, 2027, 2028]
            } else {
                vec![2019, 2023, 2027]
            },
            "{role} surveyRounds"
        );
        let one = app
            .gql(
                token,
                "query($id: ID) { surveyRound(id: $id) { year } }",
                json!({ "id": draft }),
            )
            .await;
        assert_eq!(
            one["data"]["surveyRound"].is_null(),
            !skr,
            "{role} surveyRound(DRAFT)"
        );
        let drafts = app
            .gql(token, "{ surveyRounds(status: DRAFT) { year } }", json!({}))
            .await;
        assert_eq!(
            drafts["data"]["surveyRounds"].as_array().unwrap().len(),
            usize::from(skr),
            "{role} surveyRounds(DRAFT)"
        );

        // my*, saveAnswers, submitResponse, reopenResponse: KOMMUN only.
        let expected = match role {
            "ANONYMOUS" => unauth.clone(),
            "KOMMUN" => None,
            _ => forbidden.clone(),
        };
        let r = json!({ "r": open });
        assert_eq!(
            outcome(&app, token, MY_RESPONSE, r.clone()).await,
            expected,
            "{role} myResponse"
        );
        assert_eq!(
            outcome(&app, token, MY_SCORES, r.clone()).await,
            expected,
            "{role} myScores"
        );
        let save = json!({ "r": open, "a": [{ "questionKey": "risk_managed", "value": { "choice": "no" } }] });
        assert_eq!(
            outcome(&app, token, SAVE, save).await,
            expected,
            "{role} saveAnswers"
        );
        let not_allowed_or = |code: &str| {
            if role == "KOMMUN" {
                Some(code.to_owned())
            } else {
                expected.clone()
            }
        };
        assert_eq!(
            outcome(&app, token, SUBMIT, r.clone()).await,
            not_allowed_or("BAD_USER_INPUT"),
            "{role} submitResponse"
        );
        assert_eq!(
            outcome(&app, token, REOPEN, r.clone()).await,
            not_allowed_or("FAILED_PRECONDITION"),
            "{role} reopenResponse"
        );

        // The round life cycle: SKR_ADMIN only; refusals change nothing.
        let expected = match role {
            "ANONYMOUS" => unauth.clone(),
            "SKR_ADMIN" => None,
            _ => forbidden.clone(),
        };
        if role != "SKR_ADMIN" {
            let create = "mutation { createSurveyRound(input: { year: 2030, title: \"x\", copyFrom: \"00000000-0000-0000-0000-000000002023\" }) { id } }";
            assert_eq!(
                outcome(&app, token, create, json!({})).await,
                expected,
                "{role} createSurveyRound"
            );
            for (op, id) in [
                ("openSurveyRound", &draft),
                ("closeSurveyRound", &open),
                ("publishSurveyRound", &open),
            ] {
                let q = format!("mutation($id: ID!) {{ {op}(id: $id) {{ status }} }}");
                assert_eq!(
                    outcome(&app, token, &q, json!({ "id": id })).await,
                    expected,
                    "{role} {op}"
                );
            } // A DRAFT round's details and its deletion, and a webhook's
            // test event: SKR_ADMIN only too.
            for (q, vars, op) in [
                (
                    "mutation($id: ID!) { updateSurveyRound(id: $id, input: { title: \"x\" }) { title } }",
                    json!({ "id": draft }),
                    "updateSurveyRound",
                ),
                (
                    "mutation($id: ID!) { deleteSurveyRound(id: $id) }",
                    json!({ "id": draft }),
                    "deleteSurveyRound",
                ),
                (
                    "mutation { testWebhook(id: \"00000000-0000-0000-0000-000000000000\") { statusCode } }",
                    json!({}),
                    "testWebhook",
                ),
            ] {
                assert_eq!(outcome(&app, token, q, vars).await, expected, "{role} {op}");
            }
        }
    }
    let statuses = app
        .gql(Some(&admin), "{ surveyRounds { year status } }", json!({}))
        .await;
    assert_eq!(
        statuses["data"]["surveyRounds"],
        json!([
            { "year": 2019, "status": "CLOSED" }, { "year": 2023, "status": "CLOSED" },
            { "year": 2027, "status": "OPEN" }, { "year": 2028, "status": "DRAFT" }
        ]),
        "refused transitions changed nothing"
    );
    assert_eq!(
        app.gql(
            Some(&admin),
            "{ surveyRounds(status: DRAFT) { year } }",
            json!({})
        )
        .await["data"]["surveyRounds"],
        json!([{ "year": 2028 }])
    );

    // The admin's own cells.
    let create = "mutation { createSurveyRound(input: { year: 2030, title: \"x\", copyFrom: \"00000000-0000-0000-0000-000000002023\" }) { year status } }";
    assert_eq!(outcome(&app, Some(&admin), create, json!({})).await, None);
    assert_eq!(
        app.transition("openSurveyRound", &draft).await["data"]["openSurveyRound"]["status"],
        "OPEN"
    );

    // A kommun cannot see a DRAFT round through its own operations either.
    let draft2 = app.create_round(2031).await;
    assert_eq!(
        outcome(&app, Some(&kommun), MY_RESPONSE, json!({ "r": draft2 })).await,
        Some("NOT_FOUND".to_owned())
    );
    let save = json!({ "r": draft2, "a": [{ "questionKey": "risk_managed", "value": { "choice": "no" } }] });
    assert_eq!(
        outcome(&app, Some(&kommun), SAVE, save).await,
        Some("NOT_FOUND".to_owned())
    );
    assert_eq!(
        outcome(
            &app,
            Some(&kommun),
            MY_SCORES,
            json!({ "r": "no-such-round" })
        )
        .await,
        Some("NOT_FOUND".to_owned())
    );
}

/// A kommun's errors (code and text) for every operation that can refuse it,
/// in an open and a closed round where it has no response.
async fn errors_of(app: &TestApp, code: &str, round: &str, closed: &str) -> Vec<Value> {
    let token = kommun_token(code);
    let calls = [
        (
            SAVE,
            json!({ "r": round, "a": [{ "questionKey": "risk_managed", "value": { "choice": "no" } }], "v": 7 }),
        ),
        (
            SAVE,
            json!({ "r": round, "a": [{ "questionKey": "nope", "value": { "choice": "no" } }] }),
        ),
        (SUBMIT, json!({ "r": round })),
        (REOPEN, json!({ "r": round })),
        (SAVE, json!({ "r": closed, "a": [] })),
        (SUBMIT, json!({ "r": closed })),
        (REOPEN, json!({ "r": closed })),
        (
            MY_RESPONSE,
            json!({ "r": "00000000-0000-0000-0000-000000000000" }),
        ),
    ];
    let mut errors = Vec::new();
    for (query, vars) in calls {
        let body = app.gql(Some(&token), query, vars).await;
        assert!(!error_codes(&body).is_empty(), "{body}");
        errors.push(body["errors"].clone());
    }
    errors
}

#[tokio::test]
async fn errors_never_tell_whether_another_kommun_has_a_response() {
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    let closed = app.open_round(2028).await;
    let a = kommun_token(A);
    app.ok(&a, SAVE, json!({ "r": closed, "a": full_answers() }))
        .await;
    app.transition("closeSurveyRound", &closed).await;

    let before = errors_of(&app, B, &round, &closed).await;
    app.ok(&a, SAVE, json!({ "r": round, "a": full_answers() }))
        .await;
    app.ok(&a, SUBMIT, json!({ "r": round })).await;
    let after = errors_of(&app, B, &round, &closed).await;
    assert_eq!(before, after, "B's errors changed when A answered");
    // A third kommun without a response gets exactly B's errors.
    assert_eq!(errors_of(&app, "0114", &round, &closed).await, after);
}
