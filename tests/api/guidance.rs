//! Guidance per maturity area: on a kommun's own rows below level 2, on the
//! round for anyone who sees it, replaced per round by SKR admins only, and
//! copied to a new round.

use serde_json::{Value, json};

use crate::helpers::{
    ROUND_2023, admin_token, analyst_token, error_codes, kommun_token, spawn_app,
};

const MINE: &str = "query($r: ID!) { \
    myScores(roundId: $r) { area { key number } level guidance { areaKey textSv textEn reference editedBy } } \
    myComparison(roundId: $r) { area { key } level guidance { areaKey textSv } } }";
const SET: &str = "mutation($r: ID!, $k: String!, $sv: String!, $en: String!) { \
    setGuidance(roundId: $r, areaKey: $k, textSv: $sv, textEn: $en) { areaKey textSv textEn reference editedBy editedAt } }";

#[tokio::test]
async fn guidance_comes_with_levels_below_two_and_skr_admins_may_replace_it() {
    let app = spawn_app().await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    let token = kommun_token("1280");
    let mine = app.ok(&token, MINE, json!({ "r": ROUND_2023 })).await;
    let scores = mine["myScores"].as_array().unwrap();
    assert!(
        scores.iter().any(|s| s["level"] == 1),
        "some area below level 2"
    );
    for s in scores.iter().filter(|s| !s["area"]["number"].is_null()) {
        let g = &s["guidance"];
        if s["level"].as_i64().unwrap() >= 2 {
            assert_eq!(*g, Value::Null, "{s}");
        } else {
            assert_eq!(g["areaKey"], s["area"]["key"]);
            assert!(
                g["textSv"].as_str().unwrap().starts_with("Nästa nivå"),
                "{g}"
            );
            assert!(
                g["textEn"].as_str().unwrap().starts_with("The next level"),
                "{g}"
            );
            assert!(
                g["reference"]
                    .as_str()
                    .unwrap()
                    .contains("Rekommendationer")
            );
            assert_eq!(g["editedBy"], Value::Null);
        }
    }
    for c in mine["myComparison"].as_array().unwrap() {
        assert_eq!(
            c["guidance"].is_null(),
            c["level"].as_i64().is_some_and(|l| l >= 2),
            "{c}"
        );
    }
    let below = scores
        .iter()
        .find(|s| s["level"] == 1 && !s["area"]["number"].is_null())
        .unwrap()["area"]["key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Only SKR admins replace it; bad inputs change nothing.
    let vars = json!({ "r": ROUND_2023, "k": below, "sv": "Gör så här.", "en": "Do this." });
    for (who, code) in [
        (Some(token.clone()), "FORBIDDEN"),
        (Some(analyst_token()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let body = app.gql(who.as_deref(), SET, vars.clone()).await;
        assert_eq!(error_codes(&body), [code], "{body}");
    }
    let admin = admin_token();
    for (bad, code) in [
        (json!({ "k": "no_such_area" }), "NOT_FOUND"),
        (json!({ "k": "function" }), "NOT_FOUND"),
        (json!({ "sv": "  " }), "BAD_USER_INPUT"),
        (json!({ "en": "x".repeat(4001) }), "BAD_USER_INPUT"),
        (
            json!({ "r": "00000000-0000-0000-0000-000000000001" }),
            "NOT_FOUND",
        ),
    ] {
        let mut v = vars.clone();
        for (k, val) in bad.as_object().unwrap() {
            v[k] = val.clone();
        }
        let body = app.gql(Some(&admin), SET, v).await;
        assert_eq!(error_codes(&body), [code], "{bad}: {body}");
    }
    let mine = app.ok(&token, MINE, json!({ "r": ROUND_2023 })).await;
    let unchanged = mine["myScores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["area"]["key"] == below.as_str())
        .unwrap();
    assert!(
        unchanged["guidance"]["textSv"]
            .as_str()
            .unwrap()
            .starts_with("Nästa nivå")
    );

    let set = app.ok(&admin, SET, vars.clone()).await["setGuidance"].clone();
    assert_eq!(set["textSv"], "Gör så här.");
    assert_eq!(set["editedBy"], "user-skr_admin");
    assert!(
        set["reference"]
            .as_str()
            .unwrap()
            .contains("Rekommendationer"),
        "the default reference stays"
    );
    // The kommun sees the new text at once (a frozen round's kept replies are forgotten).
    let mine = app.ok(&token, MINE, json!({ "r": ROUND_2023 })).await;
    let row = mine["myScores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["area"]["key"] == below.as_str())
        .unwrap();
    assert_eq!(row["guidance"]["textSv"], "Gör så här.");
    // The round shows all nine to anyone who sees it.
    let round = app
        .data(
            "query($r: ID!) { surveyRound(id: $r) { guidance { areaKey textEn } } }",
            json!({ "r": ROUND_2023 }),
        )
        .await;
    let all = round["surveyRound"]["guidance"].as_array().unwrap();
    assert_eq!(all.len(), 9);
    assert!(
        all.iter()
            .any(|g| g["areaKey"] == below.as_str() && g["textEn"] == "Do this.")
    );

    // A round copied from 2023 keeps SKR's text; 2019 does not have it.
    let copy = app.create_round(2027).await;
    let copied = app
        .ok(
            &admin,
            "query($r: ID!) { surveyRound(id: $r) { guidance { areaKey textSv } } }",
            json!({ "r": copy }),
        )
        .await;
    assert!(
        copied["surveyRound"]["guidance"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["areaKey"] == below.as_str() && g["textSv"] == "Gör så här.")
    );
    let old = app
        .data(
            "query($r: ID!) { surveyRound(id: $r) { guidance { areaKey textSv } } }",
            json!({ "r": crate::helpers::ROUND_2019 }),
        )
        .await;
    assert!(
        old["surveyRound"]["guidance"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["textSv"] != "Gör så här.")
    );
}
