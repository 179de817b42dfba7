//! Figures beside other figures: a round beside its baseline
//! (`MaturityTrend`), a kommun beside its group and the nation
//! (`AreaComparison`), and the measures derived from distributions
//! (`ProcessShare`, `WeeklyHours`).

use async_graphql::Object;

use crate::services::comparison::{ComparisonRow, Mean, Missing};
use crate::services::{derived, trends};
use crate::types::figures::{SuppressionReason, segment};
use crate::types::municipality::Segment;
use crate::types::round::Area;

pub struct AreaComparison(pub ComparisonRow);

/// Why a mean of `myComparison` is null.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MissingMean {
    /// The round's figures are not out to kommuner until it is PUBLISHED.
    NotPublished,
    /// Hidden by the release plan: fewer than `MOGNAD_MIN_CELL` responded.
    SmallCell,
    /// Hidden by the release plan beside another hidden cell of its whole.
    Complementary,
    /// Hidden by the release plan: with other published figures it would
    /// tell something about fewer than `MOGNAD_MIN_CELL` municipalities.
    Differencing,
    /// The round has no baseline round.
    NoBaseline,
    /// The round has no such area, or the kommun no group in its grouping.
    NotInRound,
}

impl MissingMean {
    fn of(mean: &Mean) -> Option<Self> {
        let missing = mean.as_ref().err()?;
        Some(match missing {
            Missing::NotPublished => Self::NotPublished,
            Missing::Hidden(reason) => match SuppressionReason::from(*reason) {
                SuppressionReason::SmallCell => Self::SmallCell,
                SuppressionReason::Complementary => Self::Complementary,
                SuppressionReason::Differencing => Self::Differencing,
            },
            Missing::NoBaseline => Self::NoBaseline,
            Missing::NotInRound => Self::NotInRound,
        })
    }
}

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

    /// Below level 2: what level 2 ("established") asks and what to do to
    /// reach it; null from level 2 on.
    async fn guidance(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<crate::types::guidance::Guidance>> {
        crate::types::guidance::below_level_two(ctx, &self.0.area, self.0.level).await
    }

    /// The mean level of the kommun's group in this round; null until the
    /// round is PUBLISHED, or when hidden (see `groupMeanReason`).
    async fn group_mean(&self) -> Option<f64> {
        self.0.group_mean.ok()
    }

    /// Why `groupMean` is null; null when it is shown.
    async fn group_mean_reason(&self) -> Option<MissingMean> {
        MissingMean::of(&self.0.group_mean)
    }

    /// The national mean level in this round; null until the round is
    /// PUBLISHED, or when hidden (see `nationalMeanReason`).
    async fn national_mean(&self) -> Option<f64> {
        self.0.national_mean.ok()
    }

    /// Why `nationalMean` is null; null when it is shown.
    async fn national_mean_reason(&self) -> Option<MissingMean> {
        MissingMean::of(&self.0.national_mean)
    }

    /// The kommun's own level in the baseline round.
    async fn baseline_level(&self) -> Option<i32> {
        self.0.baseline_level
    }

    /// The mean level of the kommun's group (that round's classification)
    /// in the baseline round; null until it is PUBLISHED, or when hidden or
    /// missing (see `baselineGroupMeanReason`).
    async fn baseline_group_mean(&self) -> Option<f64> {
        self.0.baseline_group_mean.ok()
    }

    /// Why `baselineGroupMean` is null; null when it is shown.
    async fn baseline_group_mean_reason(&self) -> Option<MissingMean> {
        MissingMean::of(&self.0.baseline_group_mean)
    }

    /// The national mean level in the baseline round; null until it is
    /// PUBLISHED, or when hidden or missing (see `baselineNationalMeanReason`).
    async fn baseline_national_mean(&self) -> Option<f64> {
        self.0.baseline_national_mean.ok()
    }

    /// Why `baselineNationalMean` is null; null when it is shown.
    async fn baseline_national_mean_reason(&self) -> Option<MissingMean> {
        MissingMean::of(&self.0.baseline_national_mean)
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
