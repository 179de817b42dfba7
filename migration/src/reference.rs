//! The reference data as plain Rust values, parsed from the data files that are
//! compiled into the binary (`migration/data/`).
//!
//! Nothing here touches the database; [`crate::seed`] writes these values.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::QuestionKind;
use serde::Deserialize;
use uuid::Uuid;

const MUNICIPALITIES_CSV: &str = include_str!("../data/municipalities.csv");
const GROUPS_2017_CSV: &str = include_str!("../data/municipality-groups-2017.csv");
const QUESTIONNAIRE_2023_JSON: &str = include_str!("../data/questionnaire-2023.json");

/// Id of the current classification (SKR kommungruppsindelning 2023).
pub const SKR2023: &str = "SKR2023";
/// Id of the 2017 classification the 2019 round was reported with.
pub const SKR2017: &str = "SKR2017";

/// Fixed ids of the two reference rounds, so links and examples stay valid
/// across databases.
pub const ROUND_2019_ID: Uuid = Uuid::from_u128(0x2019);
pub const ROUND_2023_ID: Uuid = Uuid::from_u128(0x2023);

/// Errors in the compiled-in data files; a bug, caught by the unit tests.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: line {line}: {message}")]
    Csv {
        file: &'static str,
        line: usize,
        message: String,
    },
    #[error("questionnaire-2023.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("questionnaire-2023.json: {0}")]
    Questionnaire(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MunicipalityRow {
    pub code: String,
    pub name: String,
    pub county_code: String,
    pub county_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSpec {
    pub code: String,
    /// The group of a subgroup; `None` for a group.
    pub parent: Option<String>,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub municipality_code: String,
    pub group_code: String,
    pub subgroup_code: String,
}

#[derive(Clone, Debug)]
pub struct ClassificationSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub year: i32,
    pub is_current: bool,
    /// Groups first, then subgroups, each in code order.
    pub segments: Vec<SegmentSpec>,
    pub members: Vec<Membership>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OptionSpec {
    pub key: String,
    pub label_sv: String,
    pub label_en: String,
    pub maturity_level: Option<i32>,
    /// The option says "Ja" (on the implementation scale: the municipality
    /// has an established process, "fastställd process").
    pub affirmative: bool,
    /// An hours-per-week span's bounds (31–40 h: 31 and 40).
    pub hours: Option<(f64, f64)>,
}

impl OptionSpec {
    /// An option with what its key means in the report's scales.
    pub fn new(key: &str, label_sv: String, label_en: String) -> Self {
        let (affirmative, hours) = semantics(key);
        Self {
            key: key.to_owned(),
            label_sv,
            label_en,
            maturity_level: None,
            affirmative,
            hours,
        }
    }
}

/// What an option of the report's scales means beyond its label: whether it
/// says "Ja" (`yes`, `yes_…`), and the bounds of an hour span
/// (`h_<from>_<to>`). The one place that reads meaning from keys: it is
/// stored with each option ([`entity::answer_option`]) and read from there.
pub fn semantics(key: &str) -> (bool, Option<(f64, f64)>) {
    let affirmative = key == "yes" || key.starts_with("yes_");
    let hours = key.strip_prefix("h_").and_then(|span| {
        let (from, to) = span.split_once('_')?;
        Some((from.parse().ok()?, to.parse().ok()?))
    });
    (affirmative, hours)
}

#[derive(Clone, Debug, PartialEq)]
pub struct QuestionSpec {
    pub key: String,
    pub text_sv: String,
    pub text_en: String,
    pub kind: QuestionKind,
    pub required: bool,
    pub maturity: bool,
    /// Asked only when (question key) is answered with one of (option keys).
    pub condition: Option<(String, Vec<String>)>,
    pub options: Vec<OptionSpec>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AreaSpec {
    pub key: String,
    pub number: Option<i32>,
    pub title_sv: String,
    pub title_en: String,
    pub questions: Vec<QuestionSpec>,
}

#[derive(Clone, Debug)]
pub struct RoundSpec {
    pub id: Uuid,
    pub year: i32,
    pub title: String,
    pub description: String,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub classification_id: &'static str,
    pub baseline_id: Option<Uuid>,
    pub areas: Vec<AreaSpec>,
}

/// Everything `mognad seed` loads.
#[derive(Clone, Debug)]
pub struct ReferenceData {
    pub municipalities: Vec<MunicipalityRow>,
    pub classifications: Vec<ClassificationSpec>,
    pub rounds: Vec<RoundSpec>,
}

/// Parses all compiled-in data files.
pub fn load() -> Result<ReferenceData, DataError> {
    let (municipalities, skr2023) = parse_municipalities()?;
    let skr2017 = parse_groups_2017()?;
    let (q2019, q2023) = parse_questionnaires()?;
    let rounds = vec![
        RoundSpec {
            id: ROUND_2019_ID,
            year: 2019,
            title: "Kommunernas informationssäkerhetsarbete 2019".into(),
            description: "SKR:s webbenkät 2019 om kommunernas systematiska och riskbaserade \
                          informationssäkerhetsarbete. Reference round, counted with SKR's 2017 grouping."
                .into(),
            opens_at: None,
            closes_at: None,
            classification_id: SKR2017,
            baseline_id: None,
            areas: q2019,
        },
        RoundSpec {
            id: ROUND_2023_ID,
            year: 2023,
            title: "Kommunernas informationssäkerhetsarbete 2023".into(),
            description: "SKR:s webbenkät 2023 om kommunernas systematiska och riskbaserade \
                          informationssäkerhetsarbete (uppföljning av 2019). Reference round, counted \
                          with SKR's 2023 grouping."
                .into(),
            opens_at: Some(date(2023, 2, 28)),
            closes_at: Some(date(2023, 5, 8)),
            classification_id: SKR2023,
            baseline_id: Some(ROUND_2019_ID),
            areas: q2023,
        },
    ];
    Ok(ReferenceData {
        municipalities,
        classifications: vec![skr2017, skr2023],
        rounds,
    })
}

fn date(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

/// The names of the three main groups; the same in SKR's 2017 and 2023 groupings.
const GROUP_NAMES: [(&str, &str); 3] = [
    ("A", "Storstäder och storstadsnära kommuner"),
    ("B", "Större städer och kommuner nära större stad"),
    ("C", "Mindre städer/tätorter och landsbygdskommuner"),
];

fn csv_rows(
    file: &'static str,
    text: &'static str,
    columns: usize,
) -> Result<Vec<(usize, Vec<&'static str>)>, DataError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != columns {
            return Err(DataError::Csv {
                file,
                line: i + 1,
                message: format!("expected {columns} fields, found {}", fields.len()),
            });
        }
        rows.push((i + 1, fields));
    }
    Ok(rows)
}

fn classification(
    id: &'static str,
    name: &'static str,
    year: i32,
    is_current: bool,
    rows: &[(String, String, String, String)],
) -> ClassificationSpec {
    let mut subgroups = BTreeMap::new();
    let mut members = Vec::with_capacity(rows.len());
    for (code, group, subgroup, subgroup_name) in rows {
        subgroups
            .entry(subgroup.clone())
            .or_insert_with(|| (group.clone(), subgroup_name.clone()));
        members.push(Membership {
            municipality_code: code.clone(),
            group_code: group.clone(),
            subgroup_code: subgroup.clone(),
        });
    }
    let mut segments: Vec<SegmentSpec> = GROUP_NAMES
        .iter()
        .map(|(code, name)| SegmentSpec {
            code: (*code).into(),
            parent: None,
            name: (*name).into(),
        })
        .collect();
    segments.extend(
        subgroups
            .into_iter()
            .map(|(code, (group, name))| SegmentSpec {
                code,
                parent: Some(group),
                name,
            }),
    );
    ClassificationSpec {
        id,
        name,
        year,
        is_current,
        segments,
        members,
    }
}

fn check_code(file: &'static str, line: usize, code: &str) -> Result<(), DataError> {
    if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(DataError::Csv {
            file,
            line,
            message: format!("bad municipality code {code:?}"),
        })
    }
}

fn check_segment(
    file: &'static str,
    line: usize,
    group: &str,
    subgroup: &str,
) -> Result<(), DataError> {
    let ok = GROUP_NAMES.iter().any(|(g, _)| *g == group)
        && subgroup.len() == 2
        && subgroup.starts_with(group)
        && subgroup.as_bytes()[1].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(DataError::Csv {
            file,
            line,
            message: format!("bad group/subgroup {group}/{subgroup}"),
        })
    }
}

fn parse_municipalities() -> Result<(Vec<MunicipalityRow>, ClassificationSpec), DataError> {
    const FILE: &str = "municipalities.csv";
    let mut municipalities = Vec::new();
    let mut groups = Vec::new();
    for (line, f) in csv_rows(FILE, MUNICIPALITIES_CSV, 7)? {
        check_code(FILE, line, f[0])?;
        check_segment(FILE, line, f[4], f[5])?;
        municipalities.push(MunicipalityRow {
            code: f[0].into(),
            name: f[1].into(),
            county_code: f[2].into(),
            county_name: f[3].into(),
        });
        groups.push((f[0].into(), f[4].into(), f[5].into(), f[6].into()));
    }
    let spec = classification(
        SKR2023,
        "SKR kommungruppsindelning 2023",
        2023,
        true,
        &groups,
    );
    Ok((municipalities, spec))
}

fn parse_groups_2017() -> Result<ClassificationSpec, DataError> {
    const FILE: &str = "municipality-groups-2017.csv";
    let mut groups = Vec::new();
    for (line, f) in csv_rows(FILE, GROUPS_2017_CSV, 5)? {
        check_code(FILE, line, f[0])?;
        check_segment(FILE, line, f[2], f[3])?;
        groups.push((f[0].into(), f[2].into(), f[3].into(), f[4].into()));
    }
    Ok(classification(
        SKR2017,
        "SKL kommungruppsindelning 2017",
        2017,
        false,
        &groups,
    ))
}

#[derive(Deserialize)]
struct QuestionnaireFile {
    answer_scales: BTreeMap<String, ScaleJson>,
    areas: Vec<AreaJson>,
}

#[derive(Deserialize)]
struct ScaleJson {
    options: Vec<OptionJson>,
}

#[derive(Deserialize)]
struct OptionJson {
    key: String,
    label_sv: String,
    label_en: String,
    #[serde(default)]
    not_in_2019: bool,
}

#[derive(Deserialize)]
struct AreaJson {
    key: String,
    number: Option<i32>,
    title_sv: String,
    title_en: String,
    questions: Vec<QuestionJson>,
}

#[derive(Deserialize)]
struct QuestionJson {
    key: String,
    text_sv: String,
    text_en: String,
    scale: String,
    multi: bool,
    maturity_question: bool,
}

/// Options the report does not name but that the scale plainly has
/// (listed in the README's data section): `(insert after this key, or append
/// when `None`; key; Swedish label; English label)`.
type Addition = (
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
);

fn additions(scale: &str) -> &'static [Addition] {
    match scale {
        "decision_body" => &[
            (None, "other", "Annan", "Other"),
            (None, "dont_know", "Vet inte", "Don't know"),
        ],
        "risk_analysis_frequency" => &[
            (
                Some("annually"),
                "every_other_year",
                "Vartannat år",
                "Every other year",
            ),
            (
                None,
                "not_performed",
                "Har inte genomförts",
                "Not carried out",
            ),
            (None, "dont_know", "Vet inte", "Don't know"),
        ],
        "coop_received" => &[
            (
                Some(""),
                "regularly_received_support",
                "Inhämtar regelbundet stöd och praktisk hjälp från andra kommuner",
                "Regularly obtains support and practical help from other municipalities",
            ),
            (None, "dont_know", "Vet inte", "Don't know"),
        ],
        "coop_provided" => &[
            (
                Some(""),
                "regularly_provided_support",
                "Bidrar regelbundet med stöd och praktisk hjälp till andra kommuner",
                "Regularly contributes support and practical help to other municipalities",
            ),
            (None, "dont_know", "Vet inte", "Don't know"),
        ],
        "support_need" => &[
            (
                Some(""),
                "very_high_degree",
                "I mycket hög grad",
                "To a very high degree",
            ),
            (
                None,
                "fairly_low_degree",
                "I ganska låg grad",
                "To a fairly low degree",
            ),
            (
                None,
                "very_low_degree",
                "I mycket låg grad",
                "To a very low degree",
            ),
            (None, "dont_know", "Vet inte", "Don't know"),
        ],
        _ => &[],
    }
}

/// Upper-cases the first letter: the report quotes some labels mid-sentence.
fn label(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The options of one scale, completed, as `(option, not in 2019)`.
fn scale_options(name: &str, scale: &ScaleJson) -> Vec<(OptionSpec, bool)> {
    let mut options: Vec<(OptionSpec, bool)> = scale
        .options
        .iter()
        .map(|o| {
            let spec = OptionSpec::new(&o.key, label(&o.label_sv), label(&o.label_en));
            (spec, o.not_in_2019)
        })
        .collect();
    for (after, key, sv, en) in additions(name) {
        let spec = OptionSpec::new(key, (*sv).into(), (*en).into());
        match after {
            Some("") => options.insert(0, (spec, false)),
            Some(after) => {
                let at = options
                    .iter()
                    .position(|(o, _)| o.key == *after)
                    .map_or(options.len(), |i| i + 1);
                options.insert(at, (spec, false));
            }
            None => options.push((spec, false)),
        }
    }
    options
}

/// The options on the implementation scale that reach maturity level 2
/// (contract, "How results are counted"); every other option gives 1.
const LEVEL_2_OPTIONS: [&str; 2] = ["yes_fully", "yes_partially"];

/// Questions asked only after a given answer to another question.
fn condition(question: &str) -> Option<(String, Vec<String>)> {
    match question {
        "function_hours" => Some(("function_exists".into(), vec!["yes".into()])),
        _ => None,
    }
}

fn parse_questionnaires() -> Result<(Vec<AreaSpec>, Vec<AreaSpec>), DataError> {
    let file: QuestionnaireFile = serde_json::from_str(QUESTIONNAIRE_2023_JSON)?;
    let mut y2019 = Vec::new();
    let mut y2023 = Vec::new();
    for area in &file.areas {
        let mut q2019 = Vec::new();
        let mut q2023 = Vec::new();
        for q in &area.questions {
            let scale = file.answer_scales.get(&q.scale).ok_or_else(|| {
                DataError::Questionnaire(format!("question {}: unknown scale {}", q.key, q.scale))
            })?;
            let mut options = scale_options(&q.scale, scale);
            if q.maturity_question {
                for (o, _) in &mut options {
                    o.maturity_level = Some(if LEVEL_2_OPTIONS.contains(&o.key.as_str()) {
                        2
                    } else {
                        1
                    });
                }
            }
            let spec = QuestionSpec {
                key: q.key.clone(),
                text_sv: q.text_sv.clone(),
                text_en: q.text_en.clone(),
                kind: if q.multi {
                    QuestionKind::MultiChoice
                } else {
                    QuestionKind::SingleChoice
                },
                required: true,
                maturity: q.maturity_question,
                condition: condition(&q.key),
                options: options.iter().map(|(o, _)| o.clone()).collect(),
            };
            q2019.push(QuestionSpec {
                options: options
                    .into_iter()
                    .filter(|(_, missing)| !missing)
                    .map(|(o, _)| o)
                    .collect(),
                ..spec.clone()
            });
            q2023.push(spec);
        }
        let area_spec = |questions| AreaSpec {
            key: area.key.clone(),
            number: area.number,
            title_sv: area.title_sv.clone(),
            title_en: area.title_en.clone(),
            questions,
        };
        y2019.push(area_spec(q2019));
        y2023.push(area_spec(q2023));
    }
    Ok((y2019, y2023))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count<'a>(members: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
        let mut m = BTreeMap::new();
        for k in members {
            *m.entry(k).or_default() += 1;
        }
        m
    }

    #[test]
    fn municipalities_and_2023_groups_match_the_report() {
        let data = load().unwrap();
        assert_eq!(data.municipalities.len(), 290);
        let c = data
            .classifications
            .iter()
            .find(|c| c.id == SKR2023)
            .unwrap();
        let groups = count(c.members.iter().map(|m| m.group_code.as_str()));
        assert_eq!(groups.values().copied().collect::<Vec<_>>(), [46, 110, 134]);
        let subgroups = count(c.members.iter().map(|m| m.subgroup_code.as_str()));
        assert_eq!(
            subgroups.values().copied().collect::<Vec<_>>(),
            [3, 43, 23, 63, 24, 27, 51, 35, 21]
        );
        assert_eq!(c.segments.len(), 12);
    }

    #[test]
    fn the_2017_grouping_has_108_in_b_and_136_in_c() {
        let data = load().unwrap();
        let c = data
            .classifications
            .iter()
            .find(|c| c.id == SKR2017)
            .unwrap();
        let groups = count(c.members.iter().map(|m| m.group_code.as_str()));
        assert_eq!(groups.values().copied().collect::<Vec<_>>(), [46, 108, 136]);
    }

    #[test]
    fn maturity_questions_score_fully_and_partially_as_level_2() {
        let data = load().unwrap();
        let r2023 = &data.rounds[1];
        let maturity: Vec<_> = r2023
            .areas
            .iter()
            .flat_map(|a| &a.questions)
            .filter(|q| q.maturity)
            .collect();
        assert_eq!(maturity.len(), 9);
        for q in maturity {
            let levels: Vec<_> = q
                .options
                .iter()
                .map(|o| (o.key.as_str(), o.maturity_level))
                .collect();
            assert_eq!(
                levels,
                [
                    ("yes_fully", Some(2)),
                    ("yes_partially", Some(2)),
                    ("yes_just_started", Some(1)),
                    ("yes_cannot_assess", Some(1)),
                    ("no", Some(1)),
                    ("dont_know", Some(1)),
                ]
            );
        }
    }

    #[test]
    fn options_missing_in_2019_are_left_out_of_the_2019_questionnaire() {
        let data = load().unwrap();
        let find = |round: usize, key: &str| {
            data.rounds[round]
                .areas
                .iter()
                .flat_map(|a| &a.questions)
                .find(|q| q.key == key)
                .unwrap()
                .clone()
        };
        let keys = |q: &QuestionSpec| q.options.iter().map(|o| o.key.clone()).collect::<Vec<_>>();
        assert_eq!(
            keys(&find(1, "function_exists")),
            ["yes", "no", "dont_know"]
        );
        assert_eq!(keys(&find(0, "function_exists")), ["yes", "no"]);
        assert!(keys(&find(1, "function_hours")).contains(&"cannot_assess".to_string()));
        assert!(!keys(&find(0, "function_hours")).contains(&"cannot_assess".to_string()));
    }

    #[test]
    fn incomplete_scales_are_completed_keeping_the_report_keys() {
        let data = load().unwrap();
        let q = data.rounds[1]
            .areas
            .iter()
            .flat_map(|a| &a.questions)
            .find(|q| q.key == "support_need_other_municipalities")
            .unwrap();
        let keys: Vec<_> = q.options.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "very_high_degree",
                "fairly_high_degree",
                "neither_nor",
                "fairly_low_degree",
                "very_low_degree",
                "dont_know"
            ]
        );
        let q = data.rounds[1]
            .areas
            .iter()
            .flat_map(|a| &a.questions)
            .find(|q| q.key == "risk_analysis_frequency")
            .unwrap();
        let keys: Vec<_> = q.options.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "quarterly",
                "semiannually",
                "annually",
                "every_other_year",
                "less_often_than_every_other_year",
                "not_performed",
                "dont_know"
            ]
        );
        assert_eq!(q.options[0].label_sv, "Varje kvartal");
    }
}

#[cfg(test)]
mod semantics_tests {
    use super::semantics;

    #[test]
    fn ja_and_hour_spans_are_read_from_the_keys() {
        assert_eq!(semantics("yes"), (true, None));
        assert_eq!(semantics("yes_partially"), (true, None));
        assert_eq!(semantics("no"), (false, None));
        assert_eq!(semantics("h_31_40"), (false, Some((31.0, 40.0))));
        assert_eq!(semantics("h_x_10"), (false, None));
        assert_eq!(semantics("cannot_assess"), (false, None));
    }
}
