//! The 2019 and 2023 questionnaires from the report's questionnaire
//! (`questionnaire-2023.json`), with the scales completed and the options
//! new in 2023 left out of 2019.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{AreaSpec, DataError, OptionSpec, QuestionSpec};
use entity::QuestionKind;

const QUESTIONNAIRE_2023_JSON: &str = include_str!("../../data/questionnaire-2023.json");

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

pub(super) fn parse_questionnaires() -> Result<(Vec<AreaSpec>, Vec<AreaSpec>), DataError> {
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
