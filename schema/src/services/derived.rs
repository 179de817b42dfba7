//! Measures derived from answer distributions, as the report counts them:
//! the share with an established process per area, and weekly hours. What
//! an option means ("Ja", an hour span) is the option's own data.

use entity::{area, question};
use sea_orm::DatabaseConnection;

use crate::disclosure::Reason;
use crate::domain::QuestionKey;
use crate::error::ApiResult;
use crate::policy::Released;
use crate::services::aggregates::{FigureCache, Grouping, SegmentRef, distribution};
use crate::services::questionnaire::Questionnaire;

/// Municipalities with any "Ja" answer to an area's maturity question, per segment.
#[derive(Clone, Debug)]
pub struct ProcessRow {
    pub area: area::Model,
    pub segment: SegmentRef,
    pub respondents: i64,
    pub count: Option<i64>,
    pub suppressed: Option<Reason>,
}

pub async fn process_share(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &Released,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Vec<ProcessRow>> {
    let questionnaire = Questionnaire::of(db, cache, round).await?;
    let mut rows = Vec::new();
    for a in questionnaire.maturity_areas() {
        let maturity = |q: &&question::Model| q.maturity && q.area_id == a.id;
        let Some(q) = questionnaire.questions.iter().find(maturity) else {
            continue;
        };
        let key = QuestionKey::parse(&q.key)?;
        for d in distribution(db, cache, round, &key, grouping, min_cell)
            .await?
            .iter()
        {
            let count: i64 = d
                .counts
                .iter()
                .filter(|(o, _)| o.as_ref().is_some_and(|o| o.affirmative))
                .map(|(_, n)| n)
                .sum();
            rows.push(ProcessRow {
                area: a.clone(),
                segment: d.segment.clone(),
                respondents: d.respondents,
                count: d.suppressed.is_none().then_some(count),
                suppressed: d.suppressed,
            });
        }
    }
    Ok(rows)
}

/// The question whose answers are hour spans.
pub const HOURS_QUESTION: &str = "function_hours";

/// The midpoint of an hour span option (31-40 h: 35.5), from the bounds the
/// option carries; `None` for options that are no span.
pub fn span_midpoint(option: &entity::answer_option::Model) -> Option<f64> {
    Some((option.hours_from? + option.hours_to?) / 2.0)
}

/// Estimated weekly hours of the information-security function per segment.
#[derive(Clone, Debug)]
pub struct HoursRow {
    pub segment: SegmentRef,
    pub respondents: i64,
    /// Municipalities that answered with an hour span.
    pub municipalities: Option<i64>,
    pub hours: Option<f64>,
    pub suppressed: Option<Reason>,
}

pub async fn weekly_hours(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &Released,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Vec<HoursRow>> {
    let key = QuestionKey::parse(HOURS_QUESTION)?;
    let rows = distribution(db, cache, round, &key, grouping, min_cell).await?;
    Ok(rows
        .iter()
        .map(|d| {
            let spans: Vec<(f64, i64)> = d
                .counts
                .iter()
                .filter_map(|(o, n)| o.as_ref().and_then(span_midpoint).map(|m| (m, *n)))
                .collect();
            HoursRow {
                segment: d.segment.clone(),
                respondents: d.respondents,
                municipalities: d
                    .suppressed
                    .is_none()
                    .then(|| spans.iter().map(|(_, n)| n).sum()),
                hours: d
                    .suppressed
                    .is_none()
                    .then(|| spans.iter().map(|(m, n)| m * *n as f64).sum()),
                suppressed: d.suppressed,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_spans_have_the_reports_midpoints() {
        let option = |from: Option<f64>, to: Option<f64>| entity::answer_option::Model {
            id: uuid::Uuid::nil(),
            question_id: uuid::Uuid::nil(),
            key: "any".into(),
            label_sv: String::new(),
            label_en: String::new(),
            position: 0,
            maturity_level: None,
            affirmative: false,
            hours_from: from,
            hours_to: to,
            predecessor_key: None,
        };
        assert_eq!(span_midpoint(&option(Some(1.0), Some(10.0))), Some(5.5));
        assert_eq!(span_midpoint(&option(Some(31.0), Some(40.0))), Some(35.5));
        assert_eq!(span_midpoint(&option(None, None)), None);
    }
}
