//! `maturityTrend` and `distributionTrend(panel: true)`: a round beside its
//! baseline, as each round's own figures or as a panel of the municipalities
//! that answered in both.

use std::collections::HashMap;

use entity::{area, survey_round};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use uuid::Uuid;

use crate::disclosure::{self, Reason};
use crate::error::{ApiError, ApiResult};
use crate::policy::Released;
use crate::services::aggregates::{
    AggregateRow, DistributionRow, FigureCache, Grouping, SegmentRef, answered_in, maturity,
    segments_of,
};
use crate::services::questionnaire::Questionnaire;
use crate::services::sql::statement;
use crate::services::{release, segments};

/// One cell of `maturityTrend`: an area and segment in a round and its baseline.
#[derive(Clone, Debug)]
pub struct TrendRow {
    pub area: area::Model,
    pub segment: SegmentRef,
    /// With a panel: the municipalities of the segment that responded in both rounds.
    pub panel_size: Option<i64>,
    pub respondents: i64,
    pub baseline_respondents: i64,
    pub mean: Option<f64>,
    pub baseline_mean: Option<f64>,
    pub level2: Option<i64>,
    pub baseline_level2: Option<i64>,
    /// Why the cell is not shown (the first round's reason where both hide it); `None` when shown.
    pub suppressed: Option<Reason>,
}

/// Mean maturity and level-2 counts of a round beside a baseline round.
/// Without a panel each round is counted with its own classification and
/// population; with `panel`, only municipalities that responded in both
/// rounds count, grouped by the current round's classification. Without a
/// panel a cell is shown where both rounds' plans show it; with one, where
/// the pair's panel plan does.
pub async fn trend(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &Released,
    baseline: &Released,
    grouping: Grouping,
    panel: bool,
    min_cell: i64,
) -> ApiResult<Vec<TrendRow>> {
    if panel {
        return panel_trend(db, cache, round, baseline, grouping, min_cell).await;
    }
    let now = maturity(db, cache, round, grouping, min_cell).await?;
    let before = maturity(db, cache, baseline, grouping, min_cell).await?;
    let earlier: HashMap<(&str, &str), &AggregateRow> = before
        .iter()
        .map(|r| ((r.segment.code.as_str(), r.area.key.as_str()), r))
        .collect();
    Ok(now
        .iter()
        .map(|r| {
            let b = earlier.get(&(r.segment.code.as_str(), r.area.key.as_str()));
            // A segment the baseline's classification lacks has nothing to show.
            let baseline = b.map_or(Some(Reason::SmallCell), |b| b.suppressed);
            let suppressed = disclosure::both(r.suppressed, baseline);
            let shown = suppressed.is_none();
            TrendRow {
                area: r.area.clone(),
                segment: r.segment.clone(),
                panel_size: None,
                respondents: r.respondents,
                baseline_respondents: b.map_or(0, |b| b.respondents),
                mean: r.mean_level.filter(|_| shown),
                baseline_mean: b.and_then(|b| b.mean_level).filter(|_| shown),
                level2: r.level2_count.filter(|_| shown),
                baseline_level2: b.and_then(|b| b.level2_count).filter(|_| shown),
                suppressed,
            }
        })
        .collect())
}

/// A segment's panel size and what the pair's plan decided for it (a
/// segment the plan does not know is not shown).
/// Panels are planned by the rounds' classifications only: a panel by län
/// would be a third table crossing both, and is not released.
fn no_county_panels(grouping: Grouping) -> ApiResult<()> {
    if grouping == Grouping::County {
        return Err(ApiError::bad_input(
            "panel figures are not broken down by län: ask for NATIONAL, GROUP or SUBGROUP, or leave out panel",
        ));
    }
    Ok(())
}

fn panel_cell(table: Option<&release::PlannedTable>, code: &str) -> (i64, Option<Reason>) {
    match table.and_then(|t| t.cell(code)) {
        Some(c) => (c.respondents, c.suppressed),
        None => (0, Some(Reason::SmallCell)),
    }
}

async fn panel_trend(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &survey_round::Model,
    baseline: &survey_round::Model,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<Vec<TrendRow>> {
    no_county_panels(grouping)?;
    let plan =
        release::pair_plan(db, &cache.plans, cache.since(), round, baseline, min_cell).await?;
    let table = plan.table(&round.classification_id);
    let directory = segments::directory(db, &round.classification_id).await?;

    // Level sums of the panel in each round, by segment and area key.
    let sums = |score_round: Uuid| {
        let sql = format!(
            "SELECT {seg} AS seg, a.key AS area_key, SUM(CASE WHEN s.level >= 2 THEN 1 ELSE 0 END) AS level2, \
             SUM(s.level - 1) AS excess FROM area_score s JOIN area a ON a.id = s.area_id \
             JOIN municipality_segment ms ON ms.municipality_code = s.municipality_code AND ms.classification_id = $1 \
             WHERE s.round_id = $4 AND {} AND {} GROUP BY {group_by}a.key",
            answered_in(2, "s.municipality_code"),
            answered_in(3, "s.municipality_code"),
            seg = grouping.column(),
            group_by = grouping.group_by(),
        );
        let values: Vec<Value> = vec![
            round.classification_id.clone().into(),
            round.id.into(),
            baseline.id.into(),
            score_round.into(),
        ];
        statement(db, &sql, values)
    };
    let mut totals: [HashMap<(String, String), (i64, i64)>; 2] = [HashMap::new(), HashMap::new()];
    for (i, r) in [round.id, baseline.id].into_iter().enumerate() {
        for row in db.query_all_raw(sums(r)).await? {
            let key = (
                row.try_get::<String>("", "seg")?,
                row.try_get::<String>("", "area_key")?,
            );
            totals[i].insert(
                key,
                (row.try_get("", "level2")?, row.try_get("", "excess")?),
            );
        }
    }
    let areas = Questionnaire::of(db, cache, round).await?.maturity_areas();
    let mut rows = Vec::new();
    for segment in segments_of(&directory, grouping) {
        let (n, suppressed) = panel_cell(table, &segment.code);
        let hidden = suppressed.is_some();
        for a in &areas {
            let key = (segment.code.clone(), a.key.clone());
            let (l_now, e_now) = totals[0].get(&key).copied().unwrap_or((0, 0));
            let (l_then, e_then) = totals[1].get(&key).copied().unwrap_or((0, 0));
            let mean = |excess: i64| (n > 0).then(|| 1.0 + excess as f64 / n as f64);
            rows.push(TrendRow {
                area: a.clone(),
                segment: segment.clone(),
                panel_size: Some(n),
                respondents: n,
                baseline_respondents: n,
                mean: if hidden { None } else { mean(e_now) },
                baseline_mean: if hidden { None } else { mean(e_then) },
                level2: (!hidden).then_some(l_now),
                baseline_level2: (!hidden).then_some(l_then),
                suppressed,
            });
        }
    }
    Ok(rows)
}

/// `distributionTrend` with a panel: a question's counts among the
/// municipalities that responded in both rounds, beside its predecessor's
/// counts among the same municipalities, grouped by the current round's
/// classification and shown where the pair's panel plan shows the segment
/// (the plan decides on sets of municipalities, whatever is counted over
/// them). Returns this round's rows and the baseline's, segment by segment
/// (`respondents` is the panel's size); the baseline's are empty where the
/// question has no predecessor.
#[allow(clippy::too_many_arguments)]
pub async fn panel_distribution(
    db: &DatabaseConnection,
    cache: &FigureCache,
    round: &Released,
    baseline: &Released,
    question: &entity::question::Model,
    predecessor: Option<&entity::question::Model>,
    grouping: Grouping,
    min_cell: i64,
) -> ApiResult<(Vec<DistributionRow>, Vec<DistributionRow>)> {
    no_county_panels(grouping)?;
    let plan =
        release::pair_plan(db, &cache.plans, cache.since(), round, baseline, min_cell).await?;
    let table = plan.table(&round.classification_id);
    let directory = segments::directory(db, &round.classification_id).await?;
    let now = Questionnaire::of(db, cache, round).await?;
    let then = Questionnaire::of(db, cache, baseline).await?;

    let current = panel_counts(db, round, baseline, grouping, question.id, round.id).await?;
    let before = match predecessor {
        Some(p) => Some((
            p,
            panel_counts(db, round, baseline, grouping, p.id, baseline.id).await?,
        )),
        None => None,
    };
    let mut rows = (Vec::new(), Vec::new());
    for segment in segments_of(&directory, grouping) {
        let (n, suppressed) = panel_cell(table, &segment.code);
        let list = |q: &entity::question::Model,
                    options: &[entity::answer_option::Model],
                    (counts, seen): &PanelCounts| {
            let mut list: Vec<(Option<entity::answer_option::Model>, i64)> = Vec::new();
            if suppressed.is_none() {
                for o in options {
                    let k = (segment.code.clone(), o.id);
                    list.push((Some(o.clone()), counts.get(&k).copied().unwrap_or(0)));
                }
                list.push((None, n - seen.get(&segment.code).copied().unwrap_or(0)));
            }
            DistributionRow {
                question: q.clone(),
                segment: segment.clone(),
                respondents: n,
                suppressed,
                counts: list,
            }
        };
        rows.0
            .push(list(question, now.options_of(question.id), &current));
        if let Some((p, counted)) = &before {
            rows.1.push(list(p, then.options_of(p.id), counted));
        }
    }
    Ok(rows)
}

/// Per (segment, option) how many chose it, and per segment how many answered.
type PanelCounts = (HashMap<(String, Uuid), i64>, HashMap<String, i64>);

/// Per segment and option, how many of the panel of `round` and `baseline`
/// chose it in `counted` (one of the two) for `question`; and per segment
/// how many answered it.
async fn panel_counts(
    db: &DatabaseConnection,
    round: &survey_round::Model,
    baseline: &survey_round::Model,
    grouping: Grouping,
    question: Uuid,
    counted: Uuid,
) -> ApiResult<PanelCounts> {
    let values = || -> Vec<Value> {
        vec![
            round.classification_id.clone().into(),
            round.id.into(),
            baseline.id.into(),
            counted.into(),
            question.into(),
        ]
    };
    let panel = format!(
        "{} AND {}",
        answered_in(2, "an.municipality_code"),
        answered_in(3, "an.municipality_code")
    );
    let chosen = format!(
        "SELECT {seg} AS seg, COALESCE(an.option_id, c.option_id) AS option_id, COUNT(*) AS n FROM answer an \
         LEFT JOIN answer_choice c ON c.municipality_code = an.municipality_code AND c.round_id = an.round_id \
         AND c.question_id = an.question_id \
         JOIN municipality_segment ms ON ms.municipality_code = an.municipality_code AND ms.classification_id = $1 \
         WHERE an.round_id = $4 AND an.question_id = $5 AND {panel} AND COALESCE(an.option_id, c.option_id) IS NOT NULL \
         GROUP BY {group_by}COALESCE(an.option_id, c.option_id)",
        seg = grouping.column(),
        group_by = grouping.group_by(),
    );
    let answered = format!(
        "SELECT {seg} AS seg, COUNT(*) AS n FROM answer an \
         JOIN municipality_segment ms ON ms.municipality_code = an.municipality_code AND ms.classification_id = $1 \
         WHERE an.round_id = $4 AND an.question_id = $5 AND {panel}{group_by}",
        seg = grouping.column(),
        group_by = grouping.group_by_clause(),
    );
    let mut counts: HashMap<(String, Uuid), i64> = HashMap::new();
    for row in db.query_all_raw(statement(db, &chosen, values())).await? {
        counts.insert(
            (row.try_get("", "seg")?, row.try_get("", "option_id")?),
            row.try_get("", "n")?,
        );
    }
    let mut seen: HashMap<String, i64> = HashMap::new();
    for row in db.query_all_raw(statement(db, &answered, values())).await? {
        seen.insert(row.try_get("", "seg")?, row.try_get("", "n")?);
    }
    Ok((counts, seen))
}
