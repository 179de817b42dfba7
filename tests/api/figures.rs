//! SKR's figures against an independent oracle: answers for ~60 municipalities
//! are generated here, driven through `saveAnswers`, and every aggregate,
//! distribution, participation figure and comparison is recomputed in this
//! file from the generated answers and the municipality list, never by the
//! service's code. Plus the access table and suppression.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::helpers::{
    TestApp, admin_token, analyst_token, error_codes, kommun_token, spawn_app, spawn_app_with,
};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A municipality from the data file: code, group, subgroup.
#[derive(Clone, Debug)]
pub(crate) struct Kommun {
    pub(crate) code: String,
    pub(crate) group: String,
    pub(crate) subgroup: String,
}

pub(crate) fn municipalities() -> Vec<Kommun> {
    let text = include_str!("../../migration/data/municipalities.csv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Kommun {
                code: f[0].into(),
                group: f[4].into(),
                subgroup: f[5].into(),
            }
        })
        .collect()
}

/// A question as the oracle needs it.
#[derive(Clone, Debug)]
struct Q {
    key: String,
    area: Option<i64>,
    maturity: bool,
    options: Vec<String>,
}

async fn questionnaire(app: &TestApp, round: &str) -> Vec<Q> {
    let data = app
        .ok(
            &admin_token(),
            "query($id: ID) { surveyRound(id: $id) { areas { number questions { key maturity options { key } } } } }",
            json!({ "id": round }),
        )
        .await;
    let mut out = Vec::new();
    for a in data["surveyRound"]["areas"].as_array().unwrap() {
        for q in a["questions"].as_array().unwrap() {
            out.push(Q {
                key: q["key"].as_str().unwrap().into(),
                area: a["number"].as_i64(),
                maturity: q["maturity"].as_bool().unwrap(),
                options: q["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["key"].as_str().unwrap().into())
                    .collect(),
            });
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    Nothing,
    /// Saved, then cleared everything: IN_PROGRESS without answers.
    Cleared,
    Partial,
    Submitted,
}

/// The generated state of one round: each sampled municipality's plan and final answers.
struct Generated {
    plans: BTreeMap<String, Plan>,
    answers: BTreeMap<String, BTreeMap<String, String>>,
}

/// Picks up to 7 municipalities per subgroup (all of A1) and generates their answers.
fn generate(all: &[Kommun], questions: &[Q], seed: u64) -> Generated {
    let mut rng = Rng(seed);
    let mut by_subgroup: BTreeMap<&str, Vec<&Kommun>> = BTreeMap::new();
    for k in all {
        by_subgroup.entry(k.subgroup.as_str()).or_default().push(k);
    }
    let mut plans = BTreeMap::new();
    let mut answers = BTreeMap::new();
    for members in by_subgroup.values() {
        let mut pool: Vec<&Kommun> = members.clone();
        for _ in 0..7.min(pool.len()) {
            let k = pool.remove(rng.below(pool.len()));
            let plan = match rng.below(20) {
                0..=2 => Plan::Nothing,
                3 => Plan::Cleared,
                4..=13 => Plan::Partial,
                _ => Plan::Submitted,
            };
            let mut chosen = BTreeMap::new();
            if matches!(plan, Plan::Partial | Plan::Submitted) {
                for q in questions {
                    let asked = q.key != "function_hours"
                        || chosen.get("function_exists").map(String::as_str) == Some("yes");
                    let wanted = plan == Plan::Submitted || rng.chance(55);
                    if asked && wanted {
                        chosen.insert(q.key.clone(), q.options[rng.below(q.options.len())].clone());
                    }
                }
                if chosen.is_empty() {
                    chosen.insert("risk_managed".into(), "yes_fully".into());
                }
            }
            plans.insert(k.code.clone(), plan);
            answers.insert(k.code.clone(), chosen);
        }
    }
    Generated { plans, answers }
}

const SAVE: &str =
    "mutation($r: ID!, $a: [AnswerInput!]!) { saveAnswers(roundId: $r, answers: $a) { version } }";

/// Drives the generated answers through the API, as each kommun.
async fn drive(app: &TestApp, round: &str, g: &Generated) {
    for (code, plan) in &g.plans {
        let token = kommun_token(code);
        let answers: Vec<Value> = g.answers[code]
            .iter()
            .map(|(q, o)| json!({ "questionKey": q, "value": { "choice": o } }))
            .collect();
        match plan {
            Plan::Nothing => {}
            Plan::Cleared => {
                let set = json!([{ "questionKey": "risk_managed", "value": { "choice": "no" } }]);
                app.ok(&token, SAVE, json!({ "r": round, "a": set })).await;
                let clear = json!([{ "questionKey": "risk_managed", "value": null }]);
                app.ok(&token, SAVE, json!({ "r": round, "a": clear }))
                    .await;
            }
            Plan::Partial => {
                // In two calls, the second one also changing an answer of the first.
                let (first, second) = answers.split_at(answers.len() / 2);
                if !first.is_empty() {
                    let mut first = first.to_vec();
                    let mut changed = first[0].clone();
                    first[0]["value"] = json!(null);
                    app.ok(&token, SAVE, json!({ "r": round, "a": first }))
                        .await;
                    changed["value"] = first_value(&g.answers[code], &changed);
                    app.ok(&token, SAVE, json!({ "r": round, "a": [changed] }))
                        .await;
                }
                app.ok(&token, SAVE, json!({ "r": round, "a": second }))
                    .await;
            }
            Plan::Submitted => {
                app.ok(&token, SAVE, json!({ "r": round, "a": answers }))
                    .await;
                app.ok(
                    &token,
                    "mutation($r: ID!) { submitResponse(roundId: $r) { status } }",
                    json!({ "r": round }),
                )
                .await;
            }
        }
    }
}

fn first_value(answers: &BTreeMap<String, String>, answer: &Value) -> Value {
    let key = answer["questionKey"].as_str().unwrap();
    json!({ "choice": answers[key] })
}

/// The oracle's suppression: the contract's rule, written out again.
fn oracle_suppressed(respondents: &BTreeMap<String, i64>, min: i64) -> BTreeSet<String> {
    let wholes: Vec<(String, Vec<String>)> = {
        let mut w = vec![("SE".to_owned(), vec!["A".into(), "B".into(), "C".into()])];
        for g in ["A", "B", "C"] {
            let parts = respondents
                .keys()
                .filter(|k| k.len() == 2 && k.starts_with(g))
                .cloned()
                .collect();
            w.push((g.into(), parts));
        }
        w
    };
    let mut hidden: BTreeSet<String> = respondents
        .iter()
        .filter(|(_, n)| **n < min)
        .map(|(k, _)| k.clone())
        .collect();
    loop {
        let before = hidden.len();
        for (whole, parts) in &wholes {
            let n_hidden = parts.iter().filter(|p| hidden.contains(*p)).count();
            if n_hidden == 1 || (n_hidden == 0 && hidden.contains(whole)) {
                let mut shown: Vec<&String> =
                    parts.iter().filter(|p| !hidden.contains(*p)).collect();
                shown.sort_by_key(|p| (respondents[*p], (*p).clone()));
                if let Some(p) = shown.first() {
                    hidden.insert((*p).clone());
                }
            }
        }
        if hidden.len() == before {
            return hidden;
        }
    }
}

/// Everything the oracle expects of one closed round.
struct Expected {
    population: BTreeMap<String, i64>,
    respondents: BTreeMap<String, i64>,
    suppressed: BTreeSet<String>,
    /// (segment, area number or question key) the server hides beyond the
    /// oracle's cells (the interval audit, which depends on the answers).
    hidden: BTreeSet<(String, String)>,
    /// (segment, area number) -> level-2 count
    level2: BTreeMap<(String, i64), i64>,
    /// (segment, question, option or "") -> count
    counts: BTreeMap<(String, String, String), i64>,
}

fn segments_of(k: &Kommun) -> [String; 3] {
    ["SE".to_owned(), k.group.clone(), k.subgroup.clone()]
}

fn expect(all: &[Kommun], questions: &[Q], g: &Generated, min: i64) -> Expected {
    let mut population = BTreeMap::new();
    let mut respondents = BTreeMap::new();
    let mut level2 = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for k in all {
        let answers = g
            .answers
            .get(&k.code)
            .filter(|_| g.plans[&k.code] != Plan::Cleared)
            .cloned()
            .unwrap_or_default();
        for seg in segments_of(k) {
            *population.entry(seg.clone()).or_insert(0) += 1;
            *respondents.entry(seg.clone()).or_insert(0) += i64::from(!answers.is_empty());
            for q in questions {
                let option = answers.get(&q.key).cloned().unwrap_or_default();
                *counts
                    .entry((seg.clone(), q.key.clone(), option.clone()))
                    .or_insert(0) += 1;
                if q.maturity {
                    let at_2 = option == "yes_fully" || option == "yes_partially";
                    *level2.entry((seg.clone(), q.area.unwrap())).or_insert(0) += i64::from(at_2);
                }
            }
        }
    }
    let suppressed = oracle_suppressed(&respondents, min);
    Expected {
        population,
        respondents,
        suppressed,
        hidden: BTreeSet::new(),
        level2,
        counts,
    }
}

const AGGREGATES: &str = "query($r: ID!, $g: Grouping!) { maturityAggregates(roundId: $r, grouping: $g) { \
    area { number } segment { kind code population } respondents level2Count meanLevel suppressed } }";
const DISTRIBUTION: &str = "query($r: ID!, $q: String!, $g: Grouping!) { answerDistribution(roundId: $r, questionKey: $q, grouping: $g) { \
    question { key } segment { kind code population } respondents suppressed counts { option { key } count percent } } }";

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

async fn check_aggregates(app: &TestApp, token: &str, round: &str, e: &Expected) {
    for (grouping, kind, codes) in [
        ("NATIONAL", "NATIONAL", vec!["SE"]),
        ("GROUP", "GROUP", vec!["A", "B", "C"]),
        (
            "SUBGROUP",
            "SUBGROUP",
            vec!["A1", "A2", "B3", "B4", "B5", "C6", "C7", "C8", "C9"],
        ),
    ] {
        let rows = app
            .ok(token, AGGREGATES, json!({ "r": round, "g": grouping }))
            .await["maturityAggregates"]
            .clone();
        let rows = rows.as_array().unwrap();
        assert_eq!(
            rows.len(),
            codes.len() * 9,
            "{grouping}: one row per segment and area"
        );
        let mut seen = BTreeSet::new();
        for row in rows {
            let code = row["segment"]["code"].as_str().unwrap().to_owned();
            let area = row["area"]["number"].as_i64().unwrap();
            seen.insert((code.clone(), area));
            assert!(codes.contains(&code.as_str()), "{grouping}: {code}");
            assert_eq!(row["segment"]["kind"], kind);
            assert_eq!(
                row["segment"]["population"], e.population[&code],
                "{code} population"
            );
            assert_eq!(
                row["respondents"], e.respondents[&code],
                "{code} respondents"
            );
            let hidden = e.hides(&code, &format!("area{area}"));
            assert_eq!(row["suppressed"], hidden, "{code} suppressed");
            if hidden {
                assert!(
                    row["level2Count"].is_null() && row["meanLevel"].is_null(),
                    "{code}/{area}: {row}"
                );
            } else {
                let l2 = e.level2[&(code.clone(), area)];
                assert_eq!(row["level2Count"], l2, "{code} area {area} level 2");
                let mean = 1.0 + l2 as f64 / e.population[&code] as f64;
                assert!(
                    close_to(row["meanLevel"].as_f64().unwrap(), mean),
                    "{code} area {area}: {} vs {mean}",
                    row["meanLevel"]
                );
            }
        }
        assert_eq!(seen.len(), codes.len() * 9, "{grouping}: no duplicates");
    }
}

async fn check_distributions(
    app: &TestApp,
    token: &str,
    round: &str,
    questions: &[Q],
    e: &Expected,
) {
    for q in questions {
        for grouping in ["NATIONAL", "GROUP", "SUBGROUP"] {
            let rows = app
                .ok(
                    token,
                    DISTRIBUTION,
                    json!({ "r": round, "q": q.key, "g": grouping }),
                )
                .await["answerDistribution"]
                .clone();
            for row in rows.as_array().unwrap() {
                let code = row["segment"]["code"].as_str().unwrap().to_owned();
                assert_eq!(row["question"]["key"], q.key.as_str());
                assert_eq!(row["respondents"], e.respondents[&code]);
                let hidden = e.hides(&code, &q.key);
                assert_eq!(row["suppressed"], hidden, "{} {code}", q.key);
                let counts = row["counts"].as_array().unwrap();
                if hidden {
                    assert!(counts.is_empty(), "{} {code}: {row}", q.key);
                    continue;
                }
                let keys: Vec<Value> = counts.iter().map(|c| c["option"]["key"].clone()).collect();
                let mut expected_keys: Vec<Value> = q.options.iter().map(|o| json!(o)).collect();
                expected_keys.push(Value::Null);
                assert_eq!(
                    keys, expected_keys,
                    "{}: options in order, then no answer",
                    q.key
                );
                let mut total = 0;
                for c in counts {
                    let option = c["option"]["key"].as_str().unwrap_or("").to_owned();
                    let n = e
                        .counts
                        .get(&(code.clone(), q.key.clone(), option.clone()))
                        .copied()
                        .unwrap_or(0);
                    assert_eq!(c["count"], n, "{} {code} {option:?}", q.key);
                    let pct = n as f64 / e.population[&code] as f64 * 100.0;
                    assert!(
                        close_to(c["percent"].as_f64().unwrap(), pct),
                        "{} {code} {option:?} percent",
                        q.key
                    );
                    total += c["count"].as_i64().unwrap();
                }
                assert_eq!(
                    total, e.population[&code],
                    "{} {code}: counts add up to the population",
                    q.key
                );
            }
        }
    }
}

const PARTICIPATION: &str = "query($r: ID!) { participation(roundId: $r) { population submitted inProgress notStarted responseRate \
    byMunicipality { municipality { code } status answeredCount updatedAt submittedAt } } }";

fn check_participation(body: &Value, all: &[Kommun], g: &Generated) {
    let p = &body["participation"];
    let count = |plan: Plan| g.plans.values().filter(|p| **p == plan).count() as i64;
    let submitted = count(Plan::Submitted);
    let in_progress = count(Plan::Partial) + count(Plan::Cleared);
    assert_eq!(p["population"], 290);
    assert_eq!(p["submitted"], submitted);
    assert_eq!(p["inProgress"], in_progress);
    assert_eq!(p["notStarted"], 290 - submitted - in_progress);
    let respondents = (count(Plan::Submitted) + count(Plan::Partial)) as f64;
    assert!(close_to(
        p["responseRate"].as_f64().unwrap(),
        respondents / 290.0
    ));
    let rows = p["byMunicipality"].as_array().unwrap();
    assert_eq!(rows.len(), all.len());
    for row in rows {
        let code = row["municipality"]["code"].as_str().unwrap();
        // Answers to the questions everyone is asked: function_hours, asked
        // on function_exists = yes, would tell that answer.
        let unconditional = |code: &str| {
            g.answers[code]
                .keys()
                .filter(|k| k.as_str() != "function_hours")
                .count()
        };
        let (status, answered) = match g.plans.get(code) {
            None | Some(Plan::Nothing) => ("NOT_STARTED", 0),
            Some(Plan::Cleared) => ("IN_PROGRESS", 0),
            Some(Plan::Partial) => ("IN_PROGRESS", unconditional(code)),
            Some(Plan::Submitted) => ("SUBMITTED", unconditional(code)),
        };
        assert_eq!(row["status"], status, "{code}");
        assert_eq!(row["answeredCount"], answered, "{code}");
        assert_eq!(
            row["submittedAt"].is_string(),
            status == "SUBMITTED",
            "{code}"
        );
        assert_eq!(
            row["updatedAt"].is_string(),
            status != "NOT_STARTED",
            "{code}"
        );
        let keys: BTreeSet<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "municipality",
                "status",
                "answeredCount",
                "updatedAt",
                "submittedAt"
            ])
        );
    }
}

const COMPARISON: &str = "query($r: ID!, $b: ID) { myComparison(roundId: $r, baselineRoundId: $b) { area { number } level groupMean nationalMean \
    baselineLevel baselineGroupMean baselineNationalMean } }";

fn own_levels(g: &Generated, questions: &[Q], code: &str) -> BTreeMap<i64, i64> {
    let answers = g
        .answers
        .get(code)
        .filter(|_| g.plans[code] != Plan::Cleared)
        .cloned()
        .unwrap_or_default();
    questions
        .iter()
        .filter(|q| q.maturity)
        .map(|q| {
            let o = answers.get(&q.key).map(String::as_str).unwrap_or("");
            (
                q.area.unwrap(),
                if o == "yes_fully" || o == "yes_partially" {
                    2
                } else {
                    1
                },
            )
        })
        .collect()
}

/// The oracle's rules 1 and 2 hide at least the cells it says; the
/// interval audit, which depends on the answers, may hide more, area by
/// area and question by question (DIFFERENCING, or COMPLEMENTARY where rule
/// 2 follows it). What the server hides beyond the oracle is then taken as
/// the plan for every check.
async fn adopt_plan(app: &TestApp, round: &str, questions: &[Q], e: &mut Expected) {
    let extra = |row: &Value, code: &str| {
        if row["suppressed"] == true {
            if !e.suppressed.contains(code) {
                assert!(
                    row["reason"] == "DIFFERENCING" || row["reason"] == "COMPLEMENTARY",
                    "{code}: {row}"
                );
                return true;
            }
        } else {
            assert!(!e.suppressed.contains(code), "{code} is shown: {row}");
        }
        false
    };
    let mut hidden = BTreeSet::new();
    for g in ["NATIONAL", "GROUP", "SUBGROUP"] {
        let query = "query($r: ID!, $g: Grouping!) { maturityAggregates(roundId: $r, grouping: $g) { segment { code } area { number } suppressed reason } }";
        let data = app
            .ok(&admin_token(), query, json!({ "r": round, "g": g }))
            .await;
        for row in data["maturityAggregates"].as_array().unwrap() {
            let code = row["segment"]["code"].as_str().unwrap().to_owned();
            if extra(row, &code) {
                hidden.insert((code, format!("area{}", row["area"]["number"])));
            }
        }
        for q in questions {
            let query = "query($r: ID!, $q: String!, $g: Grouping!) { answerDistribution(roundId: $r, questionKey: $q, grouping: $g) { segment { code } suppressed reason } }";
            let data = app
                .ok(
                    &admin_token(),
                    query,
                    json!({ "r": round, "q": q.key, "g": g }),
                )
                .await;
            for row in data["answerDistribution"].as_array().unwrap() {
                let code = row["segment"]["code"].as_str().unwrap().to_owned();
                if extra(row, &code) {
                    hidden.insert((code, q.key.clone()));
                }
            }
        }
    }
    e.hidden = hidden;
}

impl Expected {
    /// Whether the server hides an area's figures (`what`: "area{n}") or a
    /// question's counts (its key) in a segment.
    fn hides(&self, code: &str, what: &str) -> bool {
        self.suppressed.contains(code) || self.hidden.contains(&(code.to_owned(), what.to_owned()))
    }
}

fn mean(e: &Expected, segment: &str, area: i64) -> Value {
    if e.hides(segment, &format!("area{area}")) {
        return Value::Null;
    }
    json!(1.0 + e.level2[&(segment.to_owned(), area)] as f64 / e.population[segment] as f64)
}

fn same_number(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => close_to(x, y),
        _ => a == b,
    }
}

#[tokio::test]
async fn figures_match_an_independent_oracle() {
    let app = spawn_app().await;
    let (admin, analyst) = (admin_token(), analyst_token());
    let all = municipalities();
    let first = app.open_round(2027).await;
    let questions = questionnaire(&app, &first).await;
    let g1 = generate(&all, &questions, 0x5EED_2027);
    assert!(
        (55..=60).contains(&g1.plans.len()),
        "about 60 municipalities: {}",
        g1.plans.len()
    );
    assert_eq!(
        g1.plans
            .keys()
            .map(|c| all.iter().find(|k| &k.code == c).unwrap().subgroup.clone())
            .collect::<BTreeSet<_>>()
            .len(),
        9
    );
    drive(&app, &first, &g1).await;

    // While OPEN: participation is live for SKR, figures are refused.
    let live = app.ok(&admin, PARTICIPATION, json!({ "r": first })).await;
    check_participation(&live, &all, &g1);
    let body = app
        .gql(
            Some(&admin),
            AGGREGATES,
            json!({ "r": first, "g": "NATIONAL" }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FAILED_PRECONDITION"]);
    let k0 = g1.plans.keys().next().unwrap().clone();
    let open_cmp = app
        .ok(&kommun_token(&k0), COMPARISON, json!({ "r": first }))
        .await["myComparison"]
        .clone();
    for row in open_cmp.as_array().unwrap() {
        assert!(
            row["groupMean"].is_null() && row["nationalMean"].is_null(),
            "no means while OPEN: {row}"
        );
        assert!(row["level"].is_i64());
    }

    app.transition("closeSurveyRound", &first).await;
    let mut e1 = expect(&all, &questions, &g1, 5);
    adopt_plan(&app, &first, &questions, &mut e1).await;
    assert!(
        e1.suppressed.contains("A1") && e1.suppressed.contains("A2"),
        "A1 has at most 3 respondents: {:?}",
        e1.suppressed
    );
    println!(
        "oracle: respondents {:?}, suppressed {:?}",
        e1.respondents, e1.suppressed
    );
    check_aggregates(&app, &analyst, &first, &e1).await;
    check_aggregates(&app, &admin, &first, &e1).await; // the second read comes from memory
    check_distributions(&app, &analyst, &first, &questions, &e1).await;
    check_participation(
        &app.ok(&admin, PARTICIPATION, json!({ "r": first })).await,
        &all,
        &g1,
    );

    // A second round with the first as its baseline.
    let second = app
        .ok(
            &admin,
            "mutation($b: ID!) { createSurveyRound(input: { year: 2028, title: \"2028\", copyFrom: $b, baseline: $b }) { id } }",
            json!({ "b": first }),
        )
        .await["createSurveyRound"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.transition("openSurveyRound", &second).await;
    let g2 = generate(&all, &questions, 0x5EED_2028);
    drive(&app, &second, &g2).await;
    app.transition("closeSurveyRound", &second).await;
    let mut e2 = expect(&all, &questions, &g2, 5);
    adopt_plan(&app, &second, &questions, &mut e2).await;
    check_aggregates(&app, &admin, &second, &e2).await;

    check_trends(
        &app,
        &second,
        &first,
        &all,
        &questions,
        (&g2, &e2),
        (&g1, &e1),
    )
    .await;

    // While CLOSED the means are SKR's: a kommun's comparison has none.
    let closed = app
        .ok(
            &kommun_token(&all[0].code),
            COMPARISON,
            json!({ "r": second }),
        )
        .await["myComparison"]
        .clone();
    for row in closed.as_array().unwrap() {
        for field in [
            "groupMean",
            "nationalMean",
            "baselineGroupMean",
            "baselineNationalMean",
        ] {
            assert!(row[field].is_null(), "no {field} while CLOSED: {row}");
        }
    }
    // Published, the kommun sees both rounds' means.
    app.transition("publishSurveyRound", &first).await;
    app.transition("publishSurveyRound", &second).await;

    // myComparison for sampled kommuner of both rounds and one that answered neither.
    let mut kommuner: Vec<&Kommun> = all
        .iter()
        .filter(|k| g1.plans.contains_key(&k.code) || g2.plans.contains_key(&k.code))
        .take(12)
        .collect();
    kommuner.push(
        all.iter()
            .find(|k| !g1.plans.contains_key(&k.code) && !g2.plans.contains_key(&k.code))
            .unwrap(),
    );
    for k in kommuner {
        let rows = app
            .ok(&kommun_token(&k.code), COMPARISON, json!({ "r": second }))
            .await["myComparison"]
            .clone();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 9);
        let (now, before) = (
            own_levels(&g2, &questions, &k.code),
            own_levels(&g1, &questions, &k.code),
        );
        for row in rows {
            let area = row["area"]["number"].as_i64().unwrap();
            let expected = json!({
                "area": { "number": area },
                "level": now[&area],
                "groupMean": mean(&e2, &k.group, area),
                "nationalMean": mean(&e2, "SE", area),
                "baselineLevel": before[&area],
                "baselineGroupMean": mean(&e1, &k.group, area),
                "baselineNationalMean": mean(&e1, "SE", area),
            });
            for (field, value) in expected.as_object().unwrap() {
                assert!(
                    same_number(&row[field], value),
                    "{} area {area} {field}: {} vs {value}",
                    k.code,
                    row[field]
                );
            }
        }
        // Naming the default baseline explicitly gives the same rows.
        let explicit = app
            .ok(
                &kommun_token(&k.code),
                COMPARISON,
                json!({ "r": second, "b": first }),
            )
            .await["myComparison"]
            .clone();
        assert_eq!(explicit.as_array().unwrap(), rows);
    }
}

#[tokio::test]
async fn the_access_table_for_figures() {
    let app = spawn_app().await;
    let (kommun, analyst, admin) = (kommun_token("1280"), analyst_token(), admin_token());
    let draft = app.create_round(2026).await;
    let open = app.open_round(2027).await;
    let closed = app.open_round(2028).await;
    app.transition("closeSurveyRound", &closed).await;
    let published = app.open_round(2029).await;
    app.transition("closeSurveyRound", &published).await;
    app.transition("publishSurveyRound", &published).await;

    let fp = Some("FAILED_PRECONDITION".to_owned());
    let roles: [(&str, Option<&str>); 4] = [
        ("ANONYMOUS", None),
        ("KOMMUN", Some(&kommun)),
        ("SKR_ANALYST", Some(&analyst)),
        ("SKR_ADMIN", Some(&admin)),
    ];
    for (role, token) in roles {
        let skr = role.starts_with("SKR");
        for (status, round) in [
            ("DRAFT", &draft),
            ("OPEN", &open),
            ("CLOSED", &closed),
            ("PUBLISHED", &published),
        ] {
            let expected = match status {
                "DRAFT" | "OPEN" => fp.clone(),
                "CLOSED" if !skr => fp.clone(),
                _ => None,
            };
            for grouping in ["NATIONAL", "GROUP", "SUBGROUP"] {
                let body = app
                    .gql(token, AGGREGATES, json!({ "r": round, "g": grouping }))
                    .await;
                assert_eq!(
                    error_codes(&body).into_iter().next(),
                    expected,
                    "{role} maturityAggregates {status} {grouping}"
                );
                let body = app
                    .gql(
                        token,
                        DISTRIBUTION,
                        json!({ "r": round, "q": "risk_managed", "g": grouping }),
                    )
                    .await;
                assert_eq!(
                    error_codes(&body).into_iter().next(),
                    expected,
                    "{role} answerDistribution {status} {grouping}"
                );
            }
            let body = app
                .gql(
                    token,
                    "query($r: ID!) { participation(roundId: $r) { population submitted } }",
                    json!({ "r": round }),
                )
                .await;
            let expected = match role {
                "ANONYMOUS" => Some("UNAUTHENTICATED".to_owned()),
                "KOMMUN" => Some("FORBIDDEN".to_owned()),
                _ => None,
            };
            assert_eq!(
                error_codes(&body).into_iter().next(),
                expected,
                "{role} participation {status}"
            );
            if skr {
                let body = app.gql(token, PARTICIPATION, json!({ "r": round })).await;
                if role == "SKR_ADMIN" {
                    assert!(body.get("errors").is_none(), "{body}");
                    assert_eq!(
                        body["data"]["participation"]["byMunicipality"]
                            .as_array()
                            .unwrap()
                            .len(),
                        290
                    );
                } else {
                    assert_eq!(error_codes(&body), ["FORBIDDEN"], "analyst byMunicipality");
                    assert_eq!(
                        body["errors"][0]["path"],
                        json!(["participation", "byMunicipality"])
                    );
                    assert!(body["data"]["participation"]["byMunicipality"].is_null());
                    assert_eq!(
                        body["data"]["participation"]["population"], 290,
                        "the counts are still there"
                    );
                }
            }
        }
    }
    // Unknown rounds and questions.
    let body = app
        .gql(
            Some(&admin),
            AGGREGATES,
            json!({ "r": "00000000-0000-0000-0000-000000009999", "g": "GROUP" }),
        )
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    let body = app
        .gql(
            Some(&admin),
            DISTRIBUTION,
            json!({ "r": published, "q": "no_such_question", "g": "GROUP" }),
        )
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    let body = app
        .gql(None, AGGREGATES, json!({ "r": "garbage", "g": "NATIONAL" }))
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    // myComparison is the kommun's own.
    for (token, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(analyst.as_str()), "FORBIDDEN"),
        (Some(admin.as_str()), "FORBIDDEN"),
    ] {
        let body = app.gql(token, COMPARISON, json!({ "r": published })).await;
        assert_eq!(error_codes(&body), [code]);
    }
}

/// Every municipality of group A answers `risk_managed` (A1 included).
pub(crate) async fn answer_group_a(app: &TestApp, round: &str) {
    for k in municipalities().into_iter().filter(|k| k.group == "A") {
        let a = json!([{ "questionKey": "risk_managed", "value": { "choice": "yes_fully" } }]);
        app.ok(&kommun_token(&k.code), SAVE, json!({ "r": round, "a": a }))
            .await;
    }
}

#[tokio::test]
async fn a1_is_suppressed_with_a2_and_a_published_round_is_public() {
    let app = spawn_app().await;
    let round = app.open_round(2027).await;
    answer_group_a(&app, &round).await;
    app.transition("closeSurveyRound", &round).await;
    app.transition("publishSurveyRound", &round).await;

    // Anonymous, published: NATIONAL and GROUP readable; B and C have no respondents.
    let national = app
        .gql(None, AGGREGATES, json!({ "r": round, "g": "NATIONAL" }))
        .await;
    let rows = national["data"]["maturityAggregates"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    assert_eq!(rows[2]["respondents"], 46);
    assert_eq!(rows[2]["level2Count"], 46, "area 3 is risk management");
    assert!(close_to(
        rows[2]["meanLevel"].as_f64().unwrap(),
        1.0 + 46.0 / 290.0
    ));
    let groups = app
        .gql(None, AGGREGATES, json!({ "r": round, "g": "GROUP" }))
        .await;
    let hidden: BTreeMap<String, bool> = groups["data"]["maturityAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["segment"]["code"].as_str().unwrap().to_owned(),
                r["suppressed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hidden,
        BTreeMap::from([("A".into(), false), ("B".into(), true), ("C".into(), true)])
    );

    let subgroups = app
        .gql(None, AGGREGATES, json!({ "r": round, "g": "SUBGROUP" }))
        .await;
    let a: Vec<(String, bool, Value)> = subgroups["data"]["maturityAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["area"]["number"] == 3 && r["segment"]["code"].as_str().unwrap().starts_with('A')
        })
        .map(|r| {
            (
                r["segment"]["code"].as_str().unwrap().to_owned(),
                r["suppressed"].as_bool().unwrap(),
                r["level2Count"].clone(),
            )
        })
        .collect();
    assert_eq!(
        a,
        [
            ("A1".to_owned(), true, Value::Null),
            ("A2".to_owned(), true, Value::Null)
        ],
        "A1 has 3, so A2 goes with it"
    );

    let dist = app
        .gql(
            Some(&kommun_token("0180")),
            DISTRIBUTION,
            json!({ "r": round, "q": "risk_managed", "g": "SUBGROUP" }),
        )
        .await;
    for row in dist["data"]["answerDistribution"].as_array().unwrap() {
        if row["segment"]["code"] == "A1" || row["segment"]["code"] == "A2" {
            assert_eq!(row["suppressed"], true);
            assert_eq!(row["counts"], json!([]));
        }
    }
}

#[tokio::test]
async fn a_smaller_threshold_from_the_configuration_shows_a1() {
    let app = spawn_app_with(|c| c.min_cell = 3).await;
    let round = app.open_round(2027).await;
    answer_group_a(&app, &round).await;
    app.transition("closeSurveyRound", &round).await;
    let rows = app
        .ok(
            &analyst_token(),
            AGGREGATES,
            json!({ "r": round, "g": "SUBGROUP" }),
        )
        .await;
    let a1: Vec<&Value> = rows["maturityAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["segment"]["code"] == "A1")
        .collect();
    assert_eq!(a1.len(), 9);
    assert!(
        a1.iter()
            .all(|r| r["suppressed"] == false && r["respondents"] == 3)
    );
    assert_eq!(a1[2]["level2Count"], 3);
    let dist = app
        .ok(
            &analyst_token(),
            DISTRIBUTION,
            json!({ "r": round, "q": "risk_managed", "g": "SUBGROUP" }),
        )
        .await;
    let a1 = dist["answerDistribution"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["segment"]["code"] == "A1")
        .unwrap()
        .clone();
    assert_eq!(
        a1["counts"][0],
        json!({ "option": { "key": "yes_fully" }, "count": 3, "percent": 100.0 })
    );
}

const TREND: &str = "query($r: ID!, $b: ID, $g: Grouping!, $p: Boolean) { maturityTrend(roundId: $r, baselineRoundId: $b, grouping: $g, panel: $p) { \
    area { number } segment { code } panelSize meanLevel baselineMeanLevel level2Count baselineLevel2Count meanChange \
    level2Change level2ChangePercent suppressed reason } }";

fn answered(g: &Generated, code: &str) -> bool {
    g.plans
        .get(code)
        .is_some_and(|p| matches!(p, Plan::Partial | Plan::Submitted))
}

/// maturityTrend without and with a panel, against the oracle.
async fn check_trends(
    app: &TestApp,
    round: &str,
    baseline: &str,
    all: &[Kommun],
    questions: &[Q],
    (g_now, e_now): (&Generated, &Expected),
    (g_then, e_then): (&Generated, &Expected),
) {
    let admin = admin_token();
    // Without a panel: each round's own figures side by side; the default baseline is the round's.
    let rows = app
        .ok(&admin, TREND, json!({ "r": round, "g": "GROUP" }))
        .await["maturityTrend"]
        .clone();
    for row in rows.as_array().unwrap() {
        let (code, area) = (
            row["segment"]["code"].as_str().unwrap(),
            row["area"]["number"].as_i64().unwrap(),
        );
        let what = format!("area{area}");
        let hidden = e_now.hides(code, &what) || e_then.hides(code, &what);
        assert_eq!(row["suppressed"], hidden);
        if hidden {
            continue;
        }
        let (now, then) = (
            e_now.level2[&(code.to_owned(), area)],
            e_then.level2[&(code.to_owned(), area)],
        );
        assert_eq!(
            (
                row["level2Count"].as_i64(),
                row["baselineLevel2Count"].as_i64()
            ),
            (Some(now), Some(then))
        );
        assert_eq!(row["level2Change"], now - then);
        match then {
            0 => assert!(row["level2ChangePercent"].is_null()),
            _ => assert!(close_to(
                row["level2ChangePercent"].as_f64().unwrap(),
                (now - then) as f64 / then as f64 * 100.0
            )),
        }
        let mean_change = (now - then) as f64 / e_now.population[code] as f64;
        assert!(
            close_to(row["meanChange"].as_f64().unwrap(), mean_change),
            "{row}"
        );
        assert!(row["panelSize"].is_null());
    }

    // With a panel: only municipalities that responded in both rounds, as one population.
    let panel: Vec<&Kommun> = all
        .iter()
        .filter(|k| answered(g_now, &k.code) && answered(g_then, &k.code))
        .collect();
    assert!(
        panel.len() >= 10,
        "the two samples overlap: {}",
        panel.len()
    );
    let rows = app
        .ok(
            &admin,
            TREND,
            json!({ "r": round, "b": baseline, "g": "NATIONAL", "p": true }),
        )
        .await["maturityTrend"]
        .clone();
    for row in rows.as_array().unwrap() {
        let area = row["area"]["number"].as_i64().unwrap();
        assert_eq!(row["panelSize"], panel.len());
        // The interval audit decides on the answers: a panel whose counts
        // beside the whole rounds' would pin those who answered one round
        // only is hidden (how panel counts are counted is also tested in
        // `series` under a plan that shows them).
        if row["suppressed"] == true {
            assert_eq!(row["reason"], "DIFFERENCING", "{row}");
            assert!(row["meanLevel"].is_null() && row["level2Count"].is_null());
            continue;
        }
        let levels = |g: &Generated| -> Vec<i64> {
            panel
                .iter()
                .map(|k| own_levels(g, questions, &k.code)[&area])
                .collect()
        };
        let (now, then) = (levels(g_now), levels(g_then));
        let l2 = |v: &[i64]| v.iter().filter(|l| **l >= 2).count() as i64;
        assert_eq!(row["level2Count"], l2(&now), "area {area}");
        assert_eq!(row["baselineLevel2Count"], l2(&then), "area {area}");
        let mean = |v: &[i64]| v.iter().sum::<i64>() as f64 / v.len() as f64;
        assert!(close_to(row["meanLevel"].as_f64().unwrap(), mean(&now)));
        assert!(close_to(
            row["baselineMeanLevel"].as_f64().unwrap(),
            mean(&then)
        ));
    }
    // Panel cells follow the same suppression: subgroups with few panel members are hidden.
    let rows = app
        .ok(
            &admin,
            TREND,
            json!({ "r": round, "g": "SUBGROUP", "p": true }),
        )
        .await["maturityTrend"]
        .clone();
    let a1 = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["segment"]["code"] == "A1")
        .unwrap()
        .clone();
    assert_eq!(a1["suppressed"], true, "A1 has at most 3 panel members");
    assert!(a1["meanLevel"].is_null());
}

#[tokio::test]
async fn participation_dates_saves_by_the_day_while_a_round_is_open() {
    let app = spawn_app().await;
    let admin = admin_token();
    let round = app.open_round(2027).await;
    let kommun = kommun_token("1280");
    app.ok(
        &kommun,
        "mutation($r: ID!) { saveAnswers(roundId: $r, answers: [{ questionKey: \"risk_managed\", value: { choice: \"no\" } }]) { version } }",
        json!({ "r": round }),
    )
    .await;
    let own = app
        .ok(
            &kommun,
            "query($r: ID!) { myResponse(roundId: $r) { updatedAt } }",
            json!({ "r": round }),
        )
        .await["myResponse"]["updatedAt"]
        .as_str()
        .unwrap()
        .to_owned();
    let row = |body: &Value| -> Value {
        body["participation"]["byMunicipality"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["municipality"]["code"] == "1280")
            .unwrap()
            .clone()
    };
    let open = row(&app.ok(&admin, PARTICIPATION, json!({ "r": round })).await);
    let day = &own[..10];
    let shown = open["updatedAt"].as_str().unwrap();
    assert!(
        shown.starts_with(&format!("{day}T00:00:00")),
        "{shown} vs the kommun's own {own}"
    );
    app.transition("closeSurveyRound", &round).await;
    let closed = row(&app.ok(&admin, PARTICIPATION, json!({ "r": round })).await);
    assert_eq!(
        closed["updatedAt"].as_str().unwrap(),
        own,
        "exact once closed"
    );
}
