//! SKR's figures as GraphQL types: `MaturityAggregate`, `Distribution`,
//! `Participation`, and the kommun's `AreaComparison`.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{RoundStatus, survey_round};
use sea_orm::DatabaseConnection;

use crate::disclosure::Reason;
use crate::policy;
use crate::principal::Principal;
use crate::services::aggregates::{
    AggregateRow, DistributionRow, Grouping as ServiceGrouping, SegmentRef,
};
use crate::services::comparison::ComparisonRow;
use crate::services::municipalities::{self, Filter};
use crate::services::{derived, participation, trends};
use crate::types::municipality::{Municipality, Segment, SegmentKind};
use crate::types::response::ResponseStatus;
use crate::types::round::{AnswerOption, Area, Question};

/// Why a figure is hidden (see the README's privacy section).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SuppressionReason {
    /// Fewer than `MOGNAD_MIN_CELL` municipalities responded (or, for a
    /// panel, answered in both rounds).
    SmallCell,
    /// Hidden beside another hidden cell of the same whole, so that one
    /// cannot be had by subtracting the shown parts from the whole.
    Complementary,
    /// Shown, it would combine with other published figures (another
    /// grouping, classification, panel or round) into a figure about fewer
    /// than `MOGNAD_MIN_CELL` municipalities.
    Differencing,
}

impl From<Reason> for SuppressionReason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::SmallCell => Self::SmallCell,
            Reason::Complementary => Self::Complementary,
            Reason::Differencing => Self::Differencing,
        }
    }
}

/// How results are broken down.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// One row for the nation.
    National,
    /// One row per main group (A, B, C).
    Group,
    /// One row per subgroup (A1..C9).
    Subgroup,
}

impl From<Grouping> for ServiceGrouping {
    fn from(g: Grouping) -> Self {
        match g {
            Grouping::National => Self::National,
            Grouping::Group => Self::Group,
            Grouping::Subgroup => Self::Subgroup,
        }
    }
}

fn segment(s: &SegmentRef) -> Segment {
    Segment {
        kind: match s.kind {
            None => SegmentKind::National,
            Some(entity::SegmentKind::Group) => SegmentKind::Group,
            Some(entity::SegmentKind::Subgroup) => SegmentKind::Subgroup,
        },
        code: s.code.clone(),
        name: s.name.clone(),
        population: s.population as i32,
    }
}

pub struct MaturityAggregate(pub AggregateRow);

/// Mean maturity of one area in one segment.
#[Object]
impl MaturityAggregate {
    /// The maturity area.
    async fn area(&self) -> Area {
        Area(self.0.area.clone())
    }

    /// The segment counted.
    async fn segment(&self) -> Segment {
        segment(&self.0.segment)
    }

    /// Municipalities in the segment with at least one answer in the round.
    async fn respondents(&self) -> i32 {
        self.0.respondents as i32
    }

    /// Municipalities at level 2 or higher; null when suppressed.
    async fn level2_count(&self) -> Option<i32> {
        self.0.level2_count.map(|n| n as i32)
    }

    /// 1 + level2Count / population (non-respondents count as level 1); null when suppressed.
    async fn mean_level(&self) -> Option<f64> {
        self.0.mean_level
    }

    /// True when the figures are hidden (see `reason`).
    async fn suppressed(&self) -> bool {
        self.0.suppressed.is_some()
    }

    /// Why the figures are hidden; null when they are shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.0.suppressed.map(Into::into)
    }
}

pub struct OptionCount {
    option: Option<entity::answer_option::Model>,
    count: i64,
    population: i64,
}

/// How many municipalities of a segment chose one option.
#[Object]
impl OptionCount {
    /// null counts the municipalities with no answer to the question.
    async fn option(&self) -> Option<AnswerOption> {
        self.option.clone().map(AnswerOption)
    }

    /// How many municipalities of the segment chose the option (or gave no answer).
    async fn count(&self) -> i32 {
        self.count as i32
    }

    /// count / population * 100
    async fn percent(&self) -> f64 {
        if self.population > 0 {
            self.count as f64 / self.population as f64 * 100.0
        } else {
            0.0
        }
    }
}

pub struct Distribution(pub DistributionRow);

/// The answers to one question in one segment.
#[Object]
impl Distribution {
    /// The question counted.
    async fn question(&self) -> Question {
        Question(self.0.question.clone())
    }

    /// The segment counted.
    async fn segment(&self) -> Segment {
        segment(&self.0.segment)
    }

    /// Municipalities in the segment with at least one answer in the round.
    async fn respondents(&self) -> i32 {
        self.0.respondents as i32
    }

    /// True when the counts are hidden (see `reason`).
    async fn suppressed(&self) -> bool {
        self.0.suppressed.is_some()
    }

    /// Why the figures are hidden; null when they are shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.0.suppressed.map(Into::into)
    }

    /// Empty when suppressed.
    async fn counts(&self) -> Vec<OptionCount> {
        self.0
            .counts
            .iter()
            .map(|(option, count)| OptionCount {
                option: option.clone(),
                count: *count,
                population: self.0.segment.population,
            })
            .collect()
    }
}

pub struct Participation {
    pub round: survey_round::Model,
    pub counts: participation::ParticipationCounts,
}

/// Who has responded to a round: counts for SKR, per municipality for SKR_ADMIN.
#[Object]
impl Participation {
    /// How many municipalities the round's classification holds.
    async fn population(&self) -> i32 {
        self.counts.population as i32
    }

    /// Responses SUBMITTED.
    async fn submitted(&self) -> i32 {
        self.counts.submitted as i32
    }

    /// Responses IN_PROGRESS.
    async fn in_progress(&self) -> i32 {
        self.counts.in_progress as i32
    }

    /// Municipalities without a saved answer ever (NOT_STARTED).
    async fn not_started(&self) -> i32 {
        (self.counts.population - self.counts.submitted - self.counts.in_progress) as i32
    }

    /// Municipalities with at least one answer / population.
    async fn response_rate(&self) -> f64 {
        if self.counts.population > 0 {
            self.counts.respondents as f64 / self.counts.population as f64
        } else {
            0.0
        }
    }

    /// SKR_ADMIN only: one row per municipality, never any answer.
    async fn by_municipality(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Vec<MunicipalityParticipation>>> {
        let admin = policy::admin(Principal::of(ctx))?;
        let db = ctx.data::<DatabaseConnection>()?;
        let rows = participation::participation_by_municipality(db, &admin, &self.round).await?;
        let mut views: std::collections::HashMap<String, _> =
            municipalities::list(db, Filter::default())
                .await?
                .into_iter()
                .map(|m| (m.municipality.code.clone(), m))
                .collect();
        // While a round is open, when a kommun saved is told by the day only:
        // finer times beside other live signals would date single answers.
        let open = matches!(self.round.status, RoundStatus::Draft | RoundStatus::Open);
        let when = |t: Option<DateTime<Utc>>| if open { t.map(day) } else { t };
        Ok(Some(
            rows.into_iter()
                .filter_map(|r| {
                    views.remove(&r.code).map(|m| MunicipalityParticipation {
                        municipality: Municipality(m),
                        status: r.status.into(),
                        answered_count: r.answered as i32,
                        updated_at: when(r.updated_at),
                        submitted_at: when(r.submitted_at),
                    })
                })
                .collect(),
        ))
    }
}

/// The start (00:00 UTC) of the day of `t`.
fn day(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc()
}

/// One municipality's participation in a round: never an answer.
#[derive(SimpleObject)]
pub struct MunicipalityParticipation {
    /// The municipality.
    pub municipality: Municipality,
    /// Where its response stands.
    pub status: ResponseStatus,
    /// How many questions it has answered.
    pub answered_count: i32,
    /// The last accepted save; while the round is OPEN, its day only (00:00 UTC).
    pub updated_at: Option<DateTime<Utc>>,
    /// When the response was submitted; while the round is OPEN, the day only (00:00 UTC).
    pub submitted_at: Option<DateTime<Utc>>,
}

pub struct AreaComparison(pub ComparisonRow);

/// A kommun's own level beside its group's and the nation's means.
#[Object]
impl AreaComparison {
    /// The maturity area.
    async fn area(&self) -> Area {
        Area(self.0.area.clone())
    }

    /// The kommun's own level in this round.
    async fn level(&self) -> Option<i32> {
        self.0.level
    }

    /// The mean level of the kommun's group in this round; null until the round is CLOSED, or when hidden.
    async fn group_mean(&self) -> Option<f64> {
        self.0.group_mean
    }

    /// The national mean level in this round; null until the round is CLOSED, or when hidden.
    async fn national_mean(&self) -> Option<f64> {
        self.0.national_mean
    }

    /// The kommun's own level in the baseline round.
    async fn baseline_level(&self) -> Option<i32> {
        self.0.baseline_level
    }

    /// The mean level of the kommun's group (that round's classification) in the baseline round; null until it is CLOSED, or when hidden.
    async fn baseline_group_mean(&self) -> Option<f64> {
        self.0.baseline_group_mean
    }

    /// The national mean level in the baseline round; null until it is CLOSED, or when hidden.
    async fn baseline_national_mean(&self) -> Option<f64> {
        self.0.baseline_national_mean
    }
}

pub struct MaturityTrend(pub trends::TrendRow);

/// An area and segment in a round beside its baseline round.
#[Object]
impl MaturityTrend {
    /// The maturity area.
    async fn area(&self) -> Area {
        Area(self.0.area.clone())
    }

    /// The segment, under this round's classification.
    async fn segment(&self) -> Segment {
        segment(&self.0.segment)
    }

    /// With `panel: true`: the segment's municipalities that responded in both rounds (the means' denominator).
    async fn panel_size(&self) -> Option<i32> {
        self.0.panel_size.map(|n| n as i32)
    }

    /// Respondents in this round (with a panel: the panel's size).
    async fn respondents(&self) -> i32 {
        self.0.respondents as i32
    }

    /// Respondents in the baseline round (with a panel: the panel's size).
    async fn baseline_respondents(&self) -> i32 {
        self.0.baseline_respondents as i32
    }

    /// The mean level in this round; null when hidden.
    async fn mean_level(&self) -> Option<f64> {
        self.0.mean
    }

    /// The mean level in the baseline round; null when hidden.
    async fn baseline_mean_level(&self) -> Option<f64> {
        self.0.baseline_mean
    }

    /// Municipalities at level 2 or higher in this round; null when hidden.
    async fn level2_count(&self) -> Option<i32> {
        self.0.level2.map(|n| n as i32)
    }

    /// Municipalities at level 2 or higher in the baseline round; null when hidden.
    async fn baseline_level2_count(&self) -> Option<i32> {
        self.0.baseline_level2.map(|n| n as i32)
    }

    /// meanLevel - baselineMeanLevel, in level points.
    async fn mean_change(&self) -> Option<f64> {
        Some(self.0.mean? - self.0.baseline_mean?)
    }

    /// (meanLevel - baselineMeanLevel) / baselineMeanLevel * 100.
    async fn mean_change_percent(&self) -> Option<f64> {
        let (now, then) = (self.0.mean?, self.0.baseline_mean?);
        (then != 0.0).then(|| (now - then) / then * 100.0)
    }

    /// level2Count - baselineLevel2Count, in municipalities.
    async fn level2_change(&self) -> Option<i32> {
        Some((self.0.level2? - self.0.baseline_level2?) as i32)
    }

    /// (level2Count - baselineLevel2Count) / baselineLevel2Count * 100: the
    /// change, not the ratio; null when the baseline count is 0.
    async fn level2_change_percent(&self) -> Option<f64> {
        let (now, then) = (self.0.level2?, self.0.baseline_level2?);
        (then != 0).then(|| (now - then) as f64 / then as f64 * 100.0)
    }

    /// True when the cell is hidden: without a panel, in either round; with
    /// one, by the pair's panel plan.
    async fn suppressed(&self) -> bool {
        self.0.suppressed.is_some()
    }

    /// Why the figures are hidden; null when they are shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.0.suppressed.map(Into::into)
    }
}

pub struct ProcessShare(pub derived::ProcessRow);

/// Municipalities with an established process ("fastställd process": any Ja
/// answer to the area's maturity question) in one area and segment.
#[Object]
impl ProcessShare {
    /// The maturity area.
    async fn area(&self) -> Area {
        Area(self.0.area.clone())
    }

    /// The segment counted.
    async fn segment(&self) -> Segment {
        segment(&self.0.segment)
    }

    /// Municipalities in the segment with at least one answer in the round.
    async fn respondents(&self) -> i32 {
        self.0.respondents as i32
    }

    /// null when suppressed.
    async fn count(&self) -> Option<i32> {
        self.0.count.map(|n| n as i32)
    }

    /// count / population * 100; null when suppressed.
    async fn percent(&self) -> Option<f64> {
        let n = self.0.count? as f64;
        (self.0.segment.population > 0).then(|| n / self.0.segment.population as f64 * 100.0)
    }

    /// True when the figures are hidden (see `reason`).
    async fn suppressed(&self) -> bool {
        self.0.suppressed.is_some()
    }

    /// Why the figures are hidden; null when they are shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.0.suppressed.map(Into::into)
    }
}

pub struct WeeklyHours(pub derived::HoursRow);

/// Estimated weekly hours of the information-security function in a segment:
/// the sum of the span midpoints (1-10 h -> 5.5 h … 31-40 h -> 35.5 h), as the report counts.
#[Object]
impl WeeklyHours {
    /// The segment counted.
    async fn segment(&self) -> Segment {
        segment(&self.0.segment)
    }

    /// Municipalities in the segment with at least one answer in the round.
    async fn respondents(&self) -> i32 {
        self.0.respondents as i32
    }

    /// Municipalities that answered with an hour span; null when suppressed.
    async fn municipalities(&self) -> Option<i32> {
        self.0.municipalities.map(|n| n as i32)
    }

    /// null when suppressed.
    async fn hours(&self) -> Option<f64> {
        self.0.hours
    }

    /// True when the figures are hidden (see `reason`).
    async fn suppressed(&self) -> bool {
        self.0.suppressed.is_some()
    }

    /// Why the figures are hidden; null when they are shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.0.suppressed.map(Into::into)
    }
}
