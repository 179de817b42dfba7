//! SKR's figures: mean maturity per area and segment, and answer
//! distributions. Every count is one SQL aggregation per (round, grouping);
//! what is shown is read from the round's release plan
//! ([`release::round_plan`]), never decided here. Figures exist only for
//! CLOSED and PUBLISHED rounds, which never change, so they are computed
//! once and kept in memory ([`FigureCache`]).

use std::collections::HashMap;
use std::sync::Arc;

use entity::{SegmentKind, answer_option, area, municipality, question, survey_round};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
};
use uuid::Uuid;

use crate::disclosure::Reason;
use crate::domain::QuestionKey;
use crate::error::{ApiError, ApiResult};
use crate::policy::Released;
use crate::services::memo::{cached, remember};
pub use crate::services::memory::FigureCache;
use crate::services::questionnaire::Questionnaire;
use crate::services::release::{self, RoundPlan};
use crate::services::segments::{
    self, NATIONAL_CODE, NATIONAL_NAME, SegmentDirectory, SegmentInfo,
};
use crate::services::sql::statement;

/// How results are broken down.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Grouping {
    National,
    Group,
    Subgroup,
    /// Län, from the municipalities' county codes (not a classification).
    County,
}

impl Grouping {
    /// The SQL expression naming a row's segment (`ms` is `municipality_segment`).
    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::National => "'SE'",
            Self::Group => "ms.group_code",
            Self::Subgroup => "ms.subgroup_code",
            Self::County => "mu.county_code",
        }
    }

    /// A whole `GROUP BY` clause for the segment alone (empty for the nation).
    pub(crate) fn group_by_clause(self) -> String {
        match self.group_by().trim_end_matches(", ") {
            "" => String::new(),
            column => format!(" GROUP BY {column}"),
        }
    }

    /// A join that [`Self::column`] needs after `ms` (the municipality, for its län).
    pub(crate) fn join(self) -> &'static str {
        match self {
            Self::County => " JOIN municipality mu ON mu.code = ms.municipality_code",
            _ => "",
        }
    }

    /// `GROUP BY` items for the segment (none for the nation).
    pub(crate) fn group_by(self) -> &'static str {
        match self {
            Self::National => "",
            Self::Group => "ms.group_code, ",
            Self::Subgroup => "ms.subgroup_code, ",
            Self::County => "mu.county_code, ",
        }
    }
}

/// A segment as figures show it (the nation included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentRef {
    pub kind: Option<SegmentKind>,
    pub code: String,
    pub name: String,
    pub population: i64,
}

impl SegmentRef {
    fn national(population: i64) -> Self {
        Self {
            kind: None,
            code: NATIONAL_CODE.into(),
            name: NATIONAL_NAME.into(),
            population,
        }
    }

    fn of(info: &SegmentInfo) -> Self {
        Self {
            kind: Some(info.kind),
            code: info.code.clone(),
            name: info.name.clone(),
            population: i64::from(info.population),
        }
    }
}

/// A round's segments with what its release plan decided for each.
#[derive(Clone, Debug)]
pub struct RoundCells {
    pub directory: SegmentDirectory,
    /// The län with their populations, by code.
    pub counties: Arc<Vec<SegmentRef>>,
    pub plan: Arc<RoundPlan>,
}

impl RoundCells {
    /// The segments of a grouping, in order.
    pub fn segments(&self, grouping: Grouping) -> Vec<SegmentRef> {
        match grouping {
            Grouping::County => self.counties.to_vec(),
            _ => segments_of(&self.directory, grouping),
        }
    }

    /// The plan's cell of a segment: the round's own table, then its län.
    fn cell(&self, code: &str) -> Option<&release::PlannedCell> {
        self.plan
            .table
            .cell(code)
            .or_else(|| self.plan.counties.as_ref().and_then(|t| t.cell(code)))
    }

    /// Respondents of a segment (municipalities with at least one answer).
    pub fn respondents(&self, code: &str) -> i64 {
        self.cell(code).map_or(0, |c| c.respondents)
    }

    /// Why a segment's figures are not shown; `None` when they are.
    pub fn suppressed(&self, code: &str) -> Option<Reason> {
        match self.cell(code) {
            Some(cell) => cell.suppressed,
            // A segment the plan does not know is not shown.
            None => Some(Reason::SmallCell),
        }
    }

    /// Why a question's answer counts in a segment are not shown: the
    /// segment's own reason, or the question's there (the interval audit of
    /// its options); `None` when they are.
    pub fn suppressed_for(&self, question_key: &str, code: &str) -> Option<Reason> {
        self.suppressed(code).or_else(|| {
            self.plan
                .table
                .question_hidden(question_key, code)
                .or_else(|| {
                    self.plan
                        .counties
                        .as_ref()
                        .and_then(|t| t.question_hidden(question_key, code))
                })
        })
    }

    /// Everything the release plan hides, in the order of the groupings
    /// (nation, groups, subgroups, län): each hidden segment, then each
    /// question whose counts are hidden in a segment that is shown.
    pub fn hidden(&self) -> Vec<HiddenFigure> {
        let mut out = Vec::new();
        for grouping in [
            Grouping::National,
            Grouping::Group,
            Grouping::Subgroup,
            Grouping::County,
        ] {
            for segment in self.segments(grouping) {
                if let Some(reason) = self.suppressed(&segment.code) {
                    out.push(HiddenFigure {
                        segment,
                        question_key: None,
                        reason,
                    });
                    continue;
                }
                let tables = [Some(&self.plan.table), self.plan.counties.as_ref()];
                let mut keys: Vec<(&String, Reason)> = tables
                    .into_iter()
                    .flatten()
                    .flat_map(|t| &t.questions)
                    .filter_map(|(key, cells)| cells.get(&segment.code).map(|r| (key, *r)))
                    .collect();
                keys.sort_by(|a, b| a.0.cmp(b.0));
                keys.dedup_by(|a, b| a.0 == b.0);
                for (key, reason) in keys {
                    out.push(HiddenFigure {
                        segment: segment.clone(),
                        question_key: Some(key.clone()),
                        reason,
                    });
                }
            }
        }
        out
    }
}

/// A figure the release plan hides: a segment's (all its figures), or one
/// question's answer counts in a segment that is shown.
#[derive(Clone, Debug)]
pub struct HiddenFigure {
    pub segment: SegmentRef,
    /// The question whose counts are hidden; `None` for the whole segment.
    pub question_key: Option<String>,
    pub reason: Reason,
}

/// What the release plan of a round released to the caller hides.
pub async fn hidden(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &Released,
    min_cell: i64,
) -> ApiResult<Vec<HiddenFigure>> {
    Ok(cells(db, cache, round.round(), min_cell).await?.hidden())
}

/// The segments of a grouping of a classification, in order (none for
/// län, which are not part of a classification: see [`RoundCells::segments`]).
pub fn segments_of(directory: &SegmentDirectory, grouping: Grouping) -> Vec<SegmentRef> {
    let kind = match grouping {
        Grouping::National => {
            return vec![SegmentRef::national(i64::from(
                directory.national_population,
            ))];
        }
        Grouping::Group => SegmentKind::Group,
        Grouping::Subgroup => SegmentKind::Subgroup,
        Grouping::County => return Vec::new(),
    };
    directory
        .segments
        .iter()
        .filter(|s| s.kind == kind)
        .map(SegmentRef::of)
        .collect()
}

/// One cell of `maturityAggregates`.
#[derive(Clone, Debug)]
pub struct AggregateRow {
    pub area: area::Model,
    pub segment: SegmentRef,
    pub respondents: i64,
    pub level2_count: Option<i64>,
    pub mean_level: Option<f64>,
    /// Why the figures are not shown; `None` when they are.
    pub suppressed: Option<Reason>,
}

/// One segment of `answerDistribution`.
#[derive(Clone, Debug)]
pub struct DistributionRow {
    pub question: question::Model,
    pub segment: SegmentRef,
    pub respondents: i64,
    /// Why the counts are not shown; `None` when they are.
    pub suppressed: Option<Reason>,
    /// `(option, count)` in the question's order, then `(None, no answer)`; empty when suppressed.
    pub counts: Vec<(Option<answer_option::Model>, i64)>,
}

/// A closed round's segments and release plan (kept in memory).
pub async fn cells(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<Arc<RoundCells>> {
    if let Some(hit) = cached(&cache.cells, &round.id) {
        return Ok(hit);
    }
    let since = cache.since();
    let plan = release::round_plan(db, &cache.plans, since, round, min_cell).await?;
    let directory = segments::directory(db, &round.classification_id).await?;
    let counties = Arc::new(counties(db).await?);
    Ok(remember(
        &cache.cells,
        since,
        round.id,
        RoundCells {
            directory,
            counties,
            plan,
        },
    ))
}

/// The län, in code order, each with its number of municipalities.
pub async fn counties(db: &impl ConnectionTrait) -> ApiResult<Vec<SegmentRef>> {
    let rows: Vec<(String, String, i64)> = municipality::Entity::find()
        .select_only()
        .column(municipality::Column::CountyCode)
        .column(municipality::Column::CountyName)
        .column_as(municipality::Column::Code.count(), "n")
        .group_by(municipality::Column::CountyCode)
        .group_by(municipality::Column::CountyName)
        .order_by_asc(municipality::Column::CountyCode)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(code, name, population)| SegmentRef {
            kind: Some(SegmentKind::County),
            code,
            name,
            population,
        })
        .collect())
}

/// Mean maturity and level-2 counts per maturity area and segment, from the
/// frozen scores of a round released to the caller ([`Released`]).
pub async fn maturity(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &Released,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Arc<Vec<AggregateRow>>> {
    maturity_of(db, cache, round.round(), grouping, min_cell).await
}

/// [`maturity`] for a frozen round, within the figure services.
pub(crate) async fn maturity_of(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &survey_round::Model,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Arc<Vec<AggregateRow>>> {
    if let Some(hit) = cached(&cache.aggregates, &(round.id, grouping)) {
        return Ok(hit);
    }
    let since = cache.since();
    let cells = cells(db, cache, round, min_cell).await?;
    // level2: municipalities at level 2 or higher; excess: the sum of (level - 1).
    // Non-respondents have no score row and count as level 1.
    let sql = format!(
        "SELECT {seg} AS seg, s.area_id AS area_id, \
         SUM(CASE WHEN s.level >= 2 THEN 1 ELSE 0 END) AS level2, SUM(s.level - 1) AS excess \
         FROM area_score s JOIN municipality_segment ms \
         ON ms.municipality_code = s.municipality_code AND ms.classification_id = $2{join} \
         WHERE s.round_id = $1 GROUP BY {group_by}s.area_id",
        seg = grouping.column(),
        join = grouping.join(),
        group_by = grouping.group_by(),
    );
    let values: Vec<Value> = vec![round.id.into(), round.classification_id.clone().into()];
    let mut sums: HashMap<(String, Uuid), (i64, i64)> = HashMap::new();
    for row in db.query_all_raw(statement(db, &sql, values)).await? {
        let key = (
            row.try_get::<String>("", "seg")?,
            row.try_get::<Uuid>("", "area_id")?,
        );
        sums.insert(
            key,
            (row.try_get("", "level2")?, row.try_get("", "excess")?),
        );
    }
    let questionnaire = Questionnaire::of(db, cache, round).await?;
    let areas = questionnaire.maturity_areas();
    let mut rows = Vec::new();
    for segment in cells.segments(grouping) {
        for a in &areas {
            // An area's figures count its maturity question's answers: they
            // are shown where that question's counts are.
            let maturity = questionnaire
                .questions
                .iter()
                .find(|q| q.maturity && q.area_id == a.id);
            let suppressed = match maturity {
                Some(q) => cells.suppressed_for(&q.key, &segment.code),
                None => cells.suppressed(&segment.code),
            };
            let (level2, excess) = sums
                .get(&(segment.code.clone(), a.id))
                .copied()
                .unwrap_or((0, 0));
            let mean = if segment.population > 0 {
                1.0 + excess as f64 / segment.population as f64
            } else {
                1.0
            };
            rows.push(AggregateRow {
                area: a.clone(),
                segment: segment.clone(),
                respondents: cells.respondents(&segment.code),
                level2_count: suppressed.is_none().then_some(level2),
                mean_level: suppressed.is_none().then_some(mean),
                suppressed,
            });
        }
    }
    Ok(remember(
        &cache.aggregates,
        since,
        (round.id, grouping),
        rows,
    ))
}

/// How many municipalities chose each option of a choice question, per segment.
pub async fn distribution(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &Released,
    question_key: &QuestionKey,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Arc<Vec<DistributionRow>>> {
    distribution_of(db, cache, round.round(), question_key, grouping, min_cell).await
}

/// [`distribution`] for a frozen round, within the figure services.
pub(crate) async fn distribution_of(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &survey_round::Model,
    question_key: &QuestionKey,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Arc<Vec<DistributionRow>>> {
    let question = question::Entity::find()
        .filter(question::Column::RoundId.eq(round.id))
        .filter(question::Column::Key.eq(question_key.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "round {} has no question {question_key:?}",
                round.year
            ))
        })?;
    if matches!(
        question.kind,
        entity::QuestionKind::Number | entity::QuestionKind::Text
    ) {
        return Err(ApiError::bad_input(format!(
            "question {question_key} is not a choice question: it has no distribution"
        )));
    }
    if let Some(hit) = cached(&cache.distributions, &(round.id, question.id, grouping)) {
        return Ok(hit);
    }
    let since = cache.since();
    let cells = cells(db, cache, round, min_cell).await?;
    let options = answer_option::Entity::find()
        .filter(answer_option::Column::QuestionId.eq(question.id))
        .order_by_asc(answer_option::Column::Position)
        .all(db)
        .await?;
    let values = || -> Vec<Value> {
        vec![
            round.id.into(),
            round.classification_id.clone().into(),
            question.id.into(),
        ]
    };
    let chosen = format!(
        "SELECT {seg} AS seg, COALESCE(an.option_id, c.option_id) AS option_id, COUNT(*) AS n FROM answer an \
         LEFT JOIN answer_choice c ON c.municipality_code = an.municipality_code AND c.round_id = an.round_id \
         AND c.question_id = an.question_id \
         JOIN municipality_segment ms ON ms.municipality_code = an.municipality_code AND ms.classification_id = $2{join} \
         WHERE an.round_id = $1 AND an.question_id = $3 AND COALESCE(an.option_id, c.option_id) IS NOT NULL \
         GROUP BY {group_by}COALESCE(an.option_id, c.option_id)",
        seg = grouping.column(),
        join = grouping.join(),
        group_by = grouping.group_by(),
    );
    let mut counts: HashMap<(String, Uuid), i64> = HashMap::new();
    for row in db.query_all_raw(statement(db, &chosen, values())).await? {
        counts.insert(
            (row.try_get("", "seg")?, row.try_get("", "option_id")?),
            row.try_get("", "n")?,
        );
    }
    let answered_sql = format!(
        "SELECT {seg} AS seg, COUNT(*) AS n FROM answer an \
         JOIN municipality_segment ms ON ms.municipality_code = an.municipality_code AND ms.classification_id = $2{join} \
         WHERE an.round_id = $1 AND an.question_id = $3{group_by}",
        seg = grouping.column(),
        join = grouping.join(),
        group_by = grouping.group_by_clause(),
    );
    let mut answered: HashMap<String, i64> = HashMap::new();
    for row in db
        .query_all_raw(statement(db, &answered_sql, values()))
        .await?
    {
        answered.insert(row.try_get("", "seg")?, row.try_get("", "n")?);
    }
    let mut rows = Vec::new();
    for segment in cells.segments(grouping) {
        let suppressed = cells.suppressed_for(&question.key, &segment.code);
        let mut list = Vec::new();
        if suppressed.is_none() {
            for o in &options {
                list.push((
                    Some(o.clone()),
                    counts
                        .get(&(segment.code.clone(), o.id))
                        .copied()
                        .unwrap_or(0),
                ));
            }
            list.push((
                None,
                segment.population - answered.get(&segment.code).copied().unwrap_or(0),
            ));
        }
        rows.push(DistributionRow {
            question: question.clone(),
            respondents: cells.respondents(&segment.code),
            segment,
            suppressed,
            counts: list,
        });
    }
    Ok(remember(
        &cache.distributions,
        since,
        (round.id, question.id, grouping),
        rows,
    ))
}

/// `EXISTS` an answer of the municipality in round `$n`.
pub(crate) fn answered_in(param: usize, column: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM answer x{param} WHERE x{param}.round_id = ${param} AND x{param}.municipality_code = {column})"
    )
}
