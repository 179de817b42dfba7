//! The reference data over GraphQL: municipalities, groups, rounds and the
//! full 2023 questionnaire, checked against the data files themselves.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{error_codes, spawn_app};

#[tokio::test]
async fn lists_290_municipalities_with_their_2023_groups() {
    let app = spawn_app().await;
    let data = app
        .data(
            "{ municipalities { code name countyCode countyName group { kind code name population } \
               subgroup { kind code name population } } }",
            json!({}),
        )
        .await;
    let list = data["municipalities"].as_array().unwrap();
    assert_eq!(list.len(), 290);
    let codes: Vec<&str> = list.iter().map(|m| m["code"].as_str().unwrap()).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted, "municipalities come in code order");

    let mut groups: BTreeMap<String, i64> = BTreeMap::new();
    let mut subgroups: BTreeMap<String, i64> = BTreeMap::new();
    for m in list {
        *groups
            .entry(m["group"]["code"].as_str().unwrap().into())
            .or_default() += 1;
        *subgroups
            .entry(m["subgroup"]["code"].as_str().unwrap().into())
            .or_default() += 1;
        assert_eq!(m["group"]["kind"], "GROUP");
        assert_eq!(m["subgroup"]["kind"], "SUBGROUP");
        assert!(
            m["subgroup"]["code"]
                .as_str()
                .unwrap()
                .starts_with(m["group"]["code"].as_str().unwrap())
        );
    }
    assert_eq!(groups.values().copied().collect::<Vec<_>>(), [46, 110, 134]);
    assert_eq!(
        subgroups.values().copied().collect::<Vec<_>>(),
        [3, 43, 23, 63, 24, 27, 51, 35, 21]
    );
    for m in list {
        let g = m["group"]["code"].as_str().unwrap();
        let s = m["subgroup"]["code"].as_str().unwrap();
        assert_eq!(m["group"]["population"], groups[g], "population of {g}");
        assert_eq!(
            m["subgroup"]["population"], subgroups[s],
            "population of {s}"
        );
    }

    let malmo = list.iter().find(|m| m["code"] == "1280").unwrap();
    assert_eq!(malmo["name"], "Malmö");
    assert_eq!(malmo["countyCode"], "12");
    assert_eq!(malmo["countyName"], "Skåne län");
    assert_eq!(malmo["subgroup"]["code"], "A1");
    assert_eq!(malmo["subgroup"]["name"], "Storstäder");
    assert_eq!(
        malmo["group"]["name"],
        "Storstäder och storstadsnära kommuner"
    );
}

#[tokio::test]
async fn filters_municipalities_by_group_and_subgroup() {
    let app = spawn_app().await;
    let q = "query($g: String, $s: String) { municipalities(group: $g, subgroup: $s) { code subgroup { code } } }";
    for (group, n) in [("A", 46), ("B", 110), ("C", 134)] {
        let data = app.data(q, json!({ "g": group })).await;
        assert_eq!(
            data["municipalities"].as_array().unwrap().len(),
            n,
            "group {group}"
        );
    }
    for (sub, n) in [
        ("A1", 3),
        ("A2", 43),
        ("B3", 23),
        ("B4", 63),
        ("B5", 24),
        ("C6", 27),
        ("C7", 51),
        ("C8", 35),
        ("C9", 21),
    ] {
        let data = app.data(q, json!({ "s": sub })).await;
        let list = data["municipalities"].as_array().unwrap();
        assert_eq!(list.len(), n, "subgroup {sub}");
        assert!(list.iter().all(|m| m["subgroup"]["code"] == sub));
    }
    let a1 = app.data(q, json!({ "g": "A", "s": "A1" })).await;
    assert_eq!(a1["municipalities"].as_array().unwrap().len(), 3);
    let none = app.data(q, json!({ "g": "B", "s": "A1" })).await;
    assert_eq!(
        none["municipalities"],
        json!([]),
        "a subgroup outside the group matches nothing"
    );

    for vars in [
        json!({ "g": "D" }),
        json!({ "s": "A" }),
        json!({ "g": "A1" }),
        json!({ "s": "Z9" }),
    ] {
        let body = app.query(q, vars.clone()).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{vars}: {body}");
    }
}

#[tokio::test]
async fn serves_the_2019_and_2023_reference_rounds() {
    let app = spawn_app().await;
    let data = app
        .data(
            "{ surveyRounds { id year title status opensAt closesAt demo baseline { id year } } }",
            json!({}),
        )
        .await;
    let rounds = data["surveyRounds"].as_array().unwrap();
    assert_eq!(
        rounds
            .iter()
            .map(|r| r["year"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [2019, 2023]
    );
    assert!(rounds.iter().all(|r| r["status"] == "CLOSED"));
    assert_eq!(rounds[0]["baseline"], Value::Null);
    assert_eq!(rounds[1]["baseline"]["year"], 2019);
    assert_eq!(rounds[1]["baseline"]["id"], rounds[0]["id"]);
    assert_eq!(rounds[1]["opensAt"], "2023-02-28T00:00:00.000000Z");
    assert_eq!(rounds[1]["closesAt"], "2023-05-08T00:00:00.000000Z");

    let q = "query($id: ID, $year: Int) { surveyRound(id: $id, year: $year) { id year } }";
    let by_year = app.data(q, json!({ "year": 2023 })).await;
    assert_eq!(by_year["surveyRound"]["id"], rounds[1]["id"]);
    let by_id = app.data(q, json!({ "id": rounds[0]["id"] })).await;
    assert_eq!(by_id["surveyRound"]["year"], 2019);
    let both = app
        .data(q, json!({ "id": rounds[0]["id"], "year": 2023 }))
        .await;
    assert_eq!(
        both["surveyRound"],
        Value::Null,
        "id and year of different rounds match nothing"
    );
    for vars in [
        json!({ "year": 1999 }),
        json!({ "id": "not-a-uuid" }),
        json!({ "id": uuid::Uuid::new_v4().to_string() }),
    ] {
        assert_eq!(app.data(q, vars).await["surveyRound"], Value::Null);
    }
    let body = app.query(q, json!({})).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);

    let closed = app
        .data("{ surveyRounds(status: CLOSED) { year } }", json!({}))
        .await;
    assert_eq!(closed["surveyRounds"].as_array().unwrap().len(), 2);
    let drafts = app
        .data("{ surveyRounds(status: DRAFT) { year } }", json!({}))
        .await;
    assert_eq!(drafts["surveyRounds"], json!([]));
}

const QUESTIONNAIRE: &str = "query($year: Int) { surveyRound(year: $year) { areas { key number title titleEn \
    questions { key text textEn kind required maturity condition { questionKey optionKeys } \
    options { key label labelEn maturityLevel } } } } }";

fn source_questionnaire() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migration/data/questionnaire-2023.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn serves_the_full_2023_questionnaire_with_the_report_keys() {
    let app = spawn_app().await;
    let data = app.data(QUESTIONNAIRE, json!({ "year": 2023 })).await;
    let areas = data["surveyRound"]["areas"].as_array().unwrap();
    let source = source_questionnaire();
    let source_areas = source["areas"].as_array().unwrap();
    assert_eq!(areas.len(), source_areas.len());
    assert_eq!(areas.len(), 10);

    for (area, src) in areas.iter().zip(source_areas) {
        assert_eq!(area["key"], src["key"]);
        assert_eq!(area["number"], src["number"]);
        assert_eq!(area["title"], src["title_sv"]);
        assert_eq!(area["titleEn"], src["title_en"]);
        let questions = area["questions"].as_array().unwrap();
        let src_questions = src["questions"].as_array().unwrap();
        assert_eq!(questions.len(), src_questions.len(), "area {}", src["key"]);
        for (q, sq) in questions.iter().zip(src_questions) {
            assert_eq!(q["key"], sq["key"]);
            assert_eq!(q["text"], sq["text_sv"]);
            assert_eq!(q["textEn"], sq["text_en"]);
            assert_eq!(q["kind"], "SINGLE_CHOICE");
            assert_eq!(q["maturity"], sq["maturity_question"]);
            assert_eq!(q["required"], true);
            // Every option the report names is there, with its key, in the report's order.
            let scale = &source["answer_scales"][sq["scale"].as_str().unwrap()];
            let named: Vec<&str> = scale["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["key"].as_str().unwrap())
                .collect();
            let served: Vec<&str> = q["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["key"].as_str().unwrap())
                .collect();
            let in_order: Vec<&str> = served
                .iter()
                .copied()
                .filter(|k| named.contains(k))
                .collect();
            assert_eq!(in_order, named, "options of {}", sq["key"]);
            for o in q["options"].as_array().unwrap() {
                let key = o["key"].as_str().unwrap();
                let expected = if sq["maturity_question"] == true {
                    json!(if key == "yes_fully" || key == "yes_partially" {
                        2
                    } else {
                        1
                    })
                } else {
                    Value::Null
                };
                assert_eq!(o["maturityLevel"], expected, "{}.{key}", sq["key"]);
                assert!(!o["label"].as_str().unwrap().is_empty());
            }
        }
        // The maturity areas name their maturity question.
        if let Some(mq) = src["maturity_question"].as_str() {
            let flagged: Vec<&str> = questions
                .iter()
                .filter(|q| q["maturity"] == true)
                .map(|q| q["key"].as_str().unwrap())
                .collect();
            assert_eq!(flagged, [mq]);
        }
    }
    let numbers: Vec<Value> = areas.iter().map(|a| a["number"].clone()).collect();
    assert_eq!(
        numbers,
        [
            Value::Null,
            json!(1),
            json!(2),
            json!(3),
            json!(4),
            json!(5),
            json!(6),
            json!(7),
            json!(8),
            json!(9)
        ]
    );

    let hours = areas[0]["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["key"] == "function_hours")
        .unwrap();
    assert_eq!(
        hours["condition"],
        json!({ "questionKey": "function_exists", "optionKeys": ["yes"] })
    );
}

#[tokio::test]
async fn the_2019_questionnaire_leaves_out_options_added_in_2023() {
    let app = spawn_app().await;
    let y2019 = app.data(QUESTIONNAIRE, json!({ "year": 2019 })).await;
    let y2023 = app.data(QUESTIONNAIRE, json!({ "year": 2023 })).await;
    let options = |data: &Value, key: &str| -> Vec<String> {
        data["surveyRound"]["areas"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["questions"].as_array().unwrap().iter())
            .find(|q| q["key"] == key)
            .map(|q| {
                q["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["key"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap()
    };
    assert_eq!(options(&y2019, "function_exists"), ["yes", "no"]);
    assert_eq!(
        options(&y2023, "function_exists"),
        ["yes", "no", "dont_know"]
    );
    assert!(!options(&y2019, "function_hours").contains(&"cannot_assess".to_owned()));
    assert!(options(&y2023, "function_hours").contains(&"cannot_assess".to_owned()));
    // The maturity questions are the same in both rounds.
    for key in [
        "mgmt_info_political",
        "policy_adopted",
        "risk_managed",
        "follow_up_common_practices",
    ] {
        assert_eq!(options(&y2019, key), options(&y2023, key), "{key}");
    }
}

#[tokio::test]
async fn a_questionnaire_loads_in_a_bounded_number_of_statements() {
    let app = spawn_app().await;
    // Warm up: the first request may open pool connections.
    app.data(QUESTIONNAIRE, json!({ "year": 2023 })).await;

    let before = app.statements();
    app.data(QUESTIONNAIRE, json!({ "year": 2023 })).await;
    let one_round = app.statements() - before;
    // round, areas, questions, options
    assert!(
        one_round <= 4,
        "one questionnaire took {one_round} statements"
    );

    let both = "{ surveyRounds { baseline { year } areas { questions { options { key } } } } }";
    let before = app.statements();
    app.data(both, json!({})).await;
    let two_rounds = app.statements() - before;
    // rounds, baselines, areas, questions, options: twice the rows, no more statements.
    assert!(
        two_rounds <= 5,
        "two questionnaires took {two_rounds} statements"
    );
}

#[tokio::test]
async fn viewer_without_a_token_is_anonymous() {
    let app = spawn_app().await;
    let data = app
        .data(
            "{ viewer { subject role municipality { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["viewer"],
        json!({ "subject": null, "role": "ANONYMOUS", "municipality": null })
    );
}
