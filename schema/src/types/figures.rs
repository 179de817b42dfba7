//! SKR's figures as GraphQL types: `MaturityAggregate` and `Distribution`,
//! with the `Grouping` they are asked for and why a cell is hidden.
//! Participation is in [`super::participation`], figures beside other
//! figures in [`super::trends`].

use async_graphql::{Enum, Object};

use crate::disclosure::Reason;
use crate::services::aggregates::{
    AggregateRow, DistributionRow, Grouping as ServiceGrouping, SegmentRef,
};
use crate::types::municipality::{Segment, SegmentKind};
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
    /// One row per län (21 counties, from the municipalities' county
    /// codes), planned beside the groups so that no län figure, alone or
    /// subtracted from group figures, reveals fewer than `MOGNAD_MIN_CELL`
    /// municipalities. Not available for panels.
    County,
}

impl From<Grouping> for ServiceGrouping {
    fn from(g: Grouping) -> Self {
        match g {
            Grouping::National => Self::National,
            Grouping::Group => Self::Group,
            Grouping::Subgroup => Self::Subgroup,
            Grouping::County => Self::County,
        }
    }
}

/// A figure's segment as the API shows it.
pub(crate) fn segment(s: &SegmentRef) -> Segment {
    Segment {
        kind: match s.kind {
            None => SegmentKind::National,
            Some(entity::SegmentKind::Group) => SegmentKind::Group,
            Some(entity::SegmentKind::Subgroup) => SegmentKind::Subgroup,
            Some(entity::SegmentKind::County) => SegmentKind::County,
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

/// A figure a round's release plan hides, and why.
#[derive(async_graphql::SimpleObject)]
pub struct HiddenFigure {
    /// The segment.
    pub segment: Segment,
    /// The question whose answer counts are hidden in a segment that is
    /// otherwise shown; null when all of the segment's figures are hidden.
    pub question_key: Option<String>,
    /// Why.
    pub reason: SuppressionReason,
}

/// What a round's release plan hides and why: every hidden segment (of the
/// nation, groups, subgroups and län) and every question hidden in a shown
/// segment. Panels (`panel: true` trends) are planned per pair of rounds
/// and say so on their own rows.
#[derive(async_graphql::SimpleObject)]
pub struct ReleaseSummary {
    /// Hidden figures (segments or questions) with reason SMALL_CELL.
    pub small_cell: i32,
    /// Hidden figures (segments or questions) with reason COMPLEMENTARY.
    pub complementary: i32,
    /// Hidden segments or questions with reason DIFFERENCING.
    pub differencing: i32,
    /// Each hidden figure, nation first, then groups, subgroups and län.
    pub hidden: Vec<HiddenFigure>,
}

impl ReleaseSummary {
    pub(crate) fn of(hidden: &[crate::services::aggregates::HiddenFigure]) -> Self {
        let count = |reason: Reason| hidden.iter().filter(|h| h.reason == reason).count() as i32;
        Self {
            small_cell: count(Reason::SmallCell),
            complementary: count(Reason::Complementary),
            differencing: count(Reason::Differencing),
            hidden: hidden
                .iter()
                .map(|h| HiddenFigure {
                    segment: segment(&h.segment),
                    question_key: h.question_key.clone(),
                    reason: h.reason.into(),
                })
                .collect(),
        }
    }
}
