//! The reference data as plain Rust values, parsed from the data files that are
//! compiled into the binary (`migration/data/`).
//!
//! Nothing here touches the database; [`crate::seed`] writes these values.
//! The municipalities and groupings come from [`municipalities`], the
//! questionnaires from [`questionnaire`].

mod municipalities;
mod questionnaire;

use chrono::{DateTime, NaiveDate, Utc};
use entity::QuestionKind;
use uuid::Uuid;

use municipalities::{parse_groups_2017, parse_municipalities};
use questionnaire::parse_questionnaires;

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
