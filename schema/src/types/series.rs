//! Figures over rounds: `MaturitySeriesRow` (a round's `MaturityAggregate`
//! beside its round) and `DistributionTrend` (a question's counts per
//! segment beside a baseline round's).

use async_graphql::{Object, SimpleObject};
use entity::survey_round;

use crate::disclosure::Reason;
use crate::services::aggregates::{AggregateRow, DistributionRow};
use crate::services::derived::{HoursRow, ProcessRow};
use crate::types::figures::{SuppressionReason, segment};
use crate::types::municipality::Segment;
use crate::types::round::{AnswerOption, Area, SurveyRound};

pub struct MaturitySeriesRow(pub survey_round::Model, pub AggregateRow);

/// Mean maturity of one area in one segment in one round of a series.
#[Object]
impl MaturitySeriesRow {
    /// The round counted.
    async fn round(&self) -> SurveyRound {
        SurveyRound(self.0.clone())
    }

    /// The maturity area (the round's own).
    async fn area(&self) -> Area {
        Area(self.1.area.clone())
    }

    /// The segment counted, under the round's own classification.
    async fn segment(&self) -> Segment {
        segment(&self.1.segment)
    }

    /// Municipalities in the segment with at least one answer in the round.
    async fn respondents(&self) -> i32 {
        self.1.respondents as i32
    }

    /// Municipalities at level 2 or higher; null when suppressed.
    async fn level2_count(&self) -> Option<i32> {
        self.1.level2_count.map(|n| n as i32)
    }

    /// 1 + level2Count / population; null when suppressed.
    async fn mean_level(&self) -> Option<f64> {
        self.1.mean_level
    }

    /// True when the figures are hidden (see `reason`).
    async fn suppressed(&self) -> bool {
        self.1.suppressed.is_some()
    }

    /// Why the figures are hidden; null when they are shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.1.suppressed.map(Into::into)
    }
}

/// One option's count in a round and in its baseline.
#[derive(SimpleObject)]
pub struct OptionTrend {
    /// The option (this round's); null counts the municipalities with no answer.
    pub option: Option<AnswerOption>,
    /// How many municipalities of the segment chose it in this round.
    pub count: i32,
    /// How many chose the option's predecessor in the baseline round (by
    /// the round's mapping: the option it names, else the one with the same
    /// key); null where it has none (an option new in this round, such as
    /// 2023's "Vet inte": unmapped, not zero). The no-answer row compares
    /// with the baseline's no-answer row.
    pub baseline_count: Option<i32>,
    /// The baseline option counted in `baselineCount`; null where unmapped
    /// (and for the no-answer row).
    pub baseline_option_key: Option<String>,
}

/// Why a figure beside its baseline is hidden: a comparison shows both
/// rounds' figures or neither, so it is hidden when either is, and says
/// this round's reason first. The one place the trends combine it.
fn beside(current: Option<Reason>, baseline: Option<Option<Reason>>) -> Option<Reason> {
    current.or(baseline.flatten())
}

pub struct DistributionTrend {
    pub current: DistributionRow,
    /// The baseline's row of the same segment; `None` where the baseline
    /// has no such question or segment (its counts are then null, unmapped).
    pub baseline: Option<DistributionRow>,
    /// Each option's predecessor in the baseline question, by key (the
    /// round's mapping); an option missing or mapped to `None` is unmapped.
    pub predecessors: std::sync::Arc<std::collections::HashMap<String, Option<String>>>,
}

impl DistributionTrend {
    fn why(&self) -> Option<Reason> {
        beside(
            self.current.suppressed,
            self.baseline.as_ref().map(|b| b.suppressed),
        )
    }

    fn hidden(&self) -> bool {
        self.why().is_some()
    }
}

/// The answers to one question in one segment, beside the baseline round's.
#[Object]
impl DistributionTrend {
    /// The segment (by code, each round counted with its own classification).
    async fn segment(&self) -> Segment {
        segment(&self.current.segment)
    }

    /// Municipalities in the segment with at least one answer, this round.
    async fn respondents(&self) -> i32 {
        self.current.respondents as i32
    }

    /// The same in the baseline round; null where it has no such segment.
    async fn baseline_respondents(&self) -> Option<i32> {
        self.baseline.as_ref().map(|b| b.respondents as i32)
    }

    /// True when this round's or the baseline's counts are hidden: a
    /// comparison shows both or neither.
    async fn suppressed(&self) -> bool {
        self.hidden()
    }

    /// Why the counts are hidden (this round's reason, else the
    /// baseline's); null when they are shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.why().map(Into::into)
    }

    /// Per option of this round (and no answer); empty when suppressed.
    async fn counts(&self) -> Vec<OptionTrend> {
        if self.hidden() {
            return Vec::new();
        }
        let none = Vec::new();
        let before = self.baseline.as_ref().map_or(&none, |b| &b.counts);
        self.current
            .counts
            .iter()
            .map(|(option, count)| {
                // The no-answer row (None) compares with the baseline's.
                let wanted: Option<Option<&str>> = match option {
                    None => Some(None),
                    Some(o) => self
                        .predecessors
                        .get(&o.key)
                        .and_then(|p| p.as_deref())
                        .map(Some),
                };
                let before = wanted.and_then(|key| {
                    before
                        .iter()
                        .find(|(o, _)| o.as_ref().map(|o| o.key.as_str()) == key)
                        .map(|(_, n)| *n as i32)
                });
                OptionTrend {
                    option: option.clone().map(AnswerOption),
                    count: *count as i32,
                    baseline_count: before,
                    baseline_option_key: wanted.flatten().map(str::to_owned),
                }
            })
            .collect()
    }
}

pub struct ProcessShareTrend(pub ProcessRow, pub Option<ProcessRow>);

impl ProcessShareTrend {
    fn why(&self) -> Option<Reason> {
        beside(self.0.suppressed, self.1.as_ref().map(|b| b.suppressed))
    }

    fn hidden(&self) -> bool {
        self.why().is_some()
    }
}

/// Municipalities with an established process in one area and segment,
/// beside the baseline round's.
#[Object]
impl ProcessShareTrend {
    /// The maturity area (this round's).
    async fn area(&self) -> Area {
        Area(self.0.area.clone())
    }

    /// The segment (by code, each round counted with its own classification).
    async fn segment(&self) -> Segment {
        segment(&self.0.segment)
    }

    /// Municipalities with any "Ja" answer to the area's maturity question; null when suppressed.
    async fn count(&self) -> Option<i32> {
        (!self.hidden())
            .then_some(self.0.count)
            .flatten()
            .map(|n| n as i32)
    }

    /// The same in the baseline round; null when suppressed or where the
    /// baseline has no such area or segment.
    async fn baseline_count(&self) -> Option<i32> {
        if self.hidden() {
            return None;
        }
        self.1.as_ref().and_then(|b| b.count).map(|n| n as i32)
    }

    /// True when this round's or the baseline's figure is hidden.
    async fn suppressed(&self) -> bool {
        self.hidden()
    }

    /// Why the figure is hidden (this round's reason, else the baseline's);
    /// null when it is shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.why().map(Into::into)
    }
}

pub struct WeeklyHoursTrend(pub HoursRow, pub Option<HoursRow>);

impl WeeklyHoursTrend {
    fn why(&self) -> Option<Reason> {
        beside(self.0.suppressed, self.1.as_ref().map(|b| b.suppressed))
    }

    fn hidden(&self) -> bool {
        self.why().is_some()
    }
}

/// The information-security function's estimated weekly hours in one
/// segment, beside the baseline round's.
#[Object]
impl WeeklyHoursTrend {
    /// The segment (by code, each round counted with its own classification).
    async fn segment(&self) -> Segment {
        segment(&self.0.segment)
    }

    /// Hours per week, from the span midpoints; null when suppressed.
    async fn hours(&self) -> Option<f64> {
        (!self.hidden()).then_some(self.0.hours).flatten()
    }

    /// The same in the baseline round; null when suppressed or where the
    /// baseline has no such segment.
    async fn baseline_hours(&self) -> Option<f64> {
        if self.hidden() {
            return None;
        }
        self.1.as_ref().and_then(|b| b.hours)
    }

    /// True when this round's or the baseline's figure is hidden.
    async fn suppressed(&self) -> bool {
        self.hidden()
    }

    /// Why the figure is hidden (this round's reason, else the baseline's);
    /// null when it is shown.
    async fn reason(&self) -> Option<SuppressionReason> {
        self.why().map(Into::into)
    }
}
