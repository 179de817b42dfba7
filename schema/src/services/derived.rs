//! Measures derived from answer distributions, as the report counts them:
//! the share with an established process per area, and weekly hours.

use entity::{area, question, survey_round};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::disclosure::Reason;
use crate::error::ApiResult;
use crate::services::aggregates::{FigureCache, Grouping, SegmentRef, distribution};
use crate::services::questionnaire::maturity_areas;

/// True for the options that say "Ja" (keys starting with `yes`): on the
/// implementation scale, the municipality has a process ("fastställd process").
pub fn affirmative(option_key: &str) -> bool {
    option_key.starts_with("yes")
}

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
    round: &survey_round::Model,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Vec<ProcessRow>> {
    let areas = maturity_areas(db, round.id).await?;
    let questions = question::Entity::find()
        .filter(question::Column::RoundId.eq(round.id))
        .filter(question::Column::Maturity.eq(true))
        .all(db)
        .await?;
    let mut rows = Vec::new();
    for a in areas {
        let Some(q) = questions.iter().find(|q| q.area_id == a.id) else {
            continue;
        };
        for d in distribution(db, cache, round, &q.key, grouping, min_cell)
            .await?
            .iter()
        {
            let count: i64 = d
                .counts
                .iter()
                .filter(|(o, _)| o.as_ref().is_some_and(|o| affirmative(&o.key)))
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

/// The question whose answers are hour spans, and the span an option stands for.
pub const HOURS_QUESTION: &str = "function_hours";

/// The midpoint of an hour span option `h_<from>_<to>` (31-40 -> 35.5).
pub fn span_midpoint(option_key: &str) -> Option<f64> {
    let mut parts = option_key.strip_prefix("h_")?.split('_');
    let from: f64 = parts.next()?.parse().ok()?;
    let to: f64 = parts.next()?.parse().ok()?;
    Some((from + to) / 2.0)
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
    round: &survey_round::Model,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Vec<HoursRow>> {
    let rows = distribution(db, cache, round, HOURS_QUESTION, grouping, min_cell).await?;
    Ok(rows
        .iter()
        .map(|d| {
            let spans: Vec<(f64, i64)> = d
                .counts
                .iter()
                .filter_map(|(o, n)| {
                    o.as_ref()
                        .and_then(|o| span_midpoint(&o.key))
                        .map(|m| (m, *n))
                })
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
        assert_eq!(span_midpoint("h_1_10"), Some(5.5));
        assert_eq!(span_midpoint("h_31_40"), Some(35.5));
        assert_eq!(span_midpoint("cannot_assess"), None);
        assert_eq!(span_midpoint("h_x_10"), None);
    }
}
