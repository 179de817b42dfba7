//! Making plans: a round's own table, and a pair's panel tables against
//! everything either round has released.

use std::collections::{BTreeSet, HashMap};

use entity::{release_plan, survey_round};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::population::Population;
use super::{PairPlan, PlannedCell, PlannedTable, RoundPlan, pair_key, parse, round_key, store};
use crate::disclosure::{self, Reason};
use crate::error::{ApiError, ApiResult};
use crate::services::participation;

pub(super) async fn store_round_plan(
    db: &impl ConnectionTrait,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let class = round.classification_id.clone();
    let population = Population::load(db, std::slice::from_ref(&class), &[round.id]).await?;
    let table = population.table(&class, population.respondents(round.id), vec![0]);
    let decisions = disclosure::plan_round(min_cell, &table);
    let plan = RoundPlan {
        table: planned(&class, &table, decisions),
        participation: participation::participation(db, round).await?,
    };
    tracing::info!(
        round = round.year,
        min_cell,
        suppressed = plan
            .table
            .cells
            .iter()
            .filter(|c| c.suppressed.is_some())
            .count(),
        "release plan of the round"
    );
    store(
        db,
        round_key(round.id, min_cell),
        round.id,
        None,
        min_cell,
        &plan,
    )
    .await
}

/// The pair plan of `a` and `b`, against every cell either has released:
/// its own table and the panels of its other pairs.
pub(super) async fn store_pair_plan(
    db: &impl ConnectionTrait,
    a: &survey_round::Model,
    b: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let pair = [a.id, b.id];
    let earlier = release_plan::Entity::find()
        .filter(release_plan::Column::MinCell.eq(i32::try_from(min_cell).unwrap_or(i32::MAX)))
        .filter(
            Condition::any()
                .add(release_plan::Column::RoundId.is_in(pair))
                .add(release_plan::Column::PairedRoundId.is_in(pair)),
        )
        .all(db)
        .await?;
    let partners: BTreeSet<Uuid> = earlier
        .iter()
        .flat_map(|p| [Some(p.round_id), p.paired_round_id])
        .flatten()
        .filter(|id| !pair.contains(id))
        .collect();
    let mut rounds: Vec<survey_round::Model> = vec![a.clone(), b.clone()];
    if !partners.is_empty() {
        rounds.extend(
            survey_round::Entity::find()
                .filter(survey_round::Column::Id.is_in(partners))
                .all(db)
                .await?,
        );
    }
    let classification_of: HashMap<Uuid, String> = rounds
        .iter()
        .map(|r| (r.id, r.classification_id.clone()))
        .collect();
    let classes: Vec<String> = classification_of
        .values()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ids: Vec<Uuid> = rounds.iter().map(|r| r.id).collect();
    let population = Population::load(db, &classes, &ids).await?;

    // What a and b have released: family 0 counts a's answers, family 1 b's.
    let mut released = Vec::new();
    for (family, round) in [a, b].into_iter().enumerate() {
        let key = round_key(round.id, min_cell);
        let own = earlier.iter().find(|p| p.id == key).ok_or_else(|| {
            tracing::error!(key, "a pair is planned before one of its rounds");
            ApiError::Internal
        })?;
        let plan: RoundPlan = parse(own)?;
        released.extend(population.released(family, &plan.table, population.respondents(round.id)));
    }
    for other in earlier.iter().filter(|p| p.paired_round_id.is_some()) {
        let plan: PairPlan = parse(other)?;
        let members = [Some(other.round_id), other.paired_round_id];
        let panel = population.panel(members.iter().flatten().copied());
        for (family, round) in [a, b].into_iter().enumerate() {
            if members.contains(&Some(round.id)) {
                for table in &plan.tables {
                    released.extend(population.released(family, table, &panel));
                }
            }
        }
    }

    // The later round's classification first, then the other one's.
    let (later, former) = if a.year >= b.year { (a, b) } else { (b, a) };
    let panel = population.panel(pair);
    let mut classes = vec![later.classification_id.clone()];
    if former.classification_id != later.classification_id {
        classes.push(former.classification_id.clone());
    }
    let tables: Vec<disclosure::Table> = classes
        .iter()
        .map(|c| population.table(c, &panel, vec![0, 1]))
        .collect();
    let decisions = disclosure::plan_panels(min_cell, &released, &tables);
    let plan = PairPlan {
        tables: classes
            .iter()
            .zip(&tables)
            .zip(decisions)
            .map(|((c, t), d)| planned(c, t, d))
            .collect(),
    };
    tracing::info!(
        rounds = ?[later.year, former.year],
        min_cell,
        shown = plan.tables.iter().map(|t| t.shown().count()).sum::<usize>(),
        "release plan of a panel"
    );
    store(
        db,
        pair_key(a.id, b.id, min_cell),
        later.id,
        Some(former.id),
        min_cell,
        &plan,
    )
    .await
}

pub(super) fn planned(
    classification_id: &str,
    table: &disclosure::Table,
    decisions: Vec<Option<Reason>>,
) -> PlannedTable {
    PlannedTable {
        classification_id: classification_id.to_owned(),
        cells: table
            .cells
            .iter()
            .zip(decisions)
            .map(|(cell, suppressed)| PlannedCell {
                code: cell.code.clone(),
                respondents: cell.members.len() as i64,
                suppressed,
            })
            .collect(),
    }
}
