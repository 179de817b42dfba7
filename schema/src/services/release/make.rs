//! Making plans: a round's own table, and a pair's panel tables against
//! everything either round has released.

use std::collections::BTreeSet;

use entity::{release_plan, survey_round};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::population::{COUNTY_TABLE, Population};
use super::values;
use super::{PairPlan, PlannedCell, PlannedTable, RoundPlan, pair_key, parse, round_key, store};
use crate::disclosure::{self, Reason, Released};
use crate::error::{ApiError, ApiResult};
use crate::services::participation;

pub(super) async fn store_round_plan(
    db: &impl ConnectionTrait,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let class = round.classification_id.clone();
    let context = Context::load(db, &[round], min_cell).await?;
    let population = &context.population;
    let table = population.table(&class, population.respondents(round.id), vec![0]);
    let values = context.values(db, &[round]).await?;
    let decisions = disclosure::plan_beside_values(min_cell, &[], &table, &values);
    let mut plan = RoundPlan {
        table: planned(&class, &table, decisions),
        counties: None,
        participation: participation::participation(db, round).await?,
    };
    plan.counties = Some(context.county_plan(round, &plan, min_cell, &values)?);
    tracing::info!(
        round = round.year,
        min_cell,
        suppressed = plan
            .table
            .cells
            .iter()
            .chain(plan.counties.iter().flat_map(|t| &t.cells))
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

/// Adds the län table to a round's stored plan made before län were
/// planned, against everything the round has released since (its own
/// table and the panels of its pairs).
pub(super) async fn add_county_plan(
    db: &impl ConnectionTrait,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let key = round_key(round.id, min_cell);
    let context = Context::load(db, &[round], min_cell).await?;
    let mut plan: RoundPlan = context.own(&key)?;
    if plan.counties.is_some() {
        return Ok(());
    }
    let values = context.values(db, &[round]).await?;
    plan.counties = Some(context.county_plan(round, &plan, min_cell, &values)?);
    let text = serde_json::to_string(&plan).map_err(|e| ApiError::internal(&e))?;
    release_plan::Entity::update_many()
        .col_expr(release_plan::Column::Plan, Expr::value(text))
        .filter(release_plan::Column::Id.eq(key))
        .exec(db)
        .await?;
    tracing::info!(round = round.year, min_cell, "län added to a round's plan");
    Ok(())
}

/// Everything planned before that concerns some rounds, and who is where
/// under every classification those plans use.
struct Context {
    earlier: Vec<release_plan::Model>,
    population: Population,
}

impl Context {
    async fn load(
        db: &impl ConnectionTrait,
        rounds: &[&survey_round::Model],
        min_cell: i64,
    ) -> ApiResult<Self> {
        let ids: Vec<Uuid> = rounds.iter().map(|r| r.id).collect();
        let earlier = release_plan::Entity::find()
            .filter(release_plan::Column::MinCell.eq(i32::try_from(min_cell).unwrap_or(i32::MAX)))
            .filter(
                Condition::any()
                    .add(release_plan::Column::RoundId.is_in(ids.clone()))
                    .add(release_plan::Column::PairedRoundId.is_in(ids.clone())),
            )
            .all(db)
            .await?;
        let partners: BTreeSet<Uuid> = earlier
            .iter()
            .flat_map(|p| [Some(p.round_id), p.paired_round_id])
            .flatten()
            .filter(|id| !ids.contains(id))
            .collect();
        let mut all: Vec<survey_round::Model> = rounds.iter().map(|r| (*r).clone()).collect();
        if !partners.is_empty() {
            all.extend(
                survey_round::Entity::find()
                    .filter(survey_round::Column::Id.is_in(partners))
                    .all(db)
                    .await?,
            );
        }
        let classes: Vec<String> = all
            .iter()
            .map(|r| r.classification_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let all_ids: Vec<Uuid> = all.iter().map(|r| r.id).collect();
        let population = Population::load(db, &classes, &all_ids).await?;
        Ok(Self {
            earlier,
            population,
        })
    }

    /// What `rounds` answered, one family each, in order.
    async fn values(
        &self,
        db: &impl ConnectionTrait,
        rounds: &[&survey_round::Model],
    ) -> ApiResult<disclosure::Values> {
        let mut families = Vec::new();
        for round in rounds {
            let who = self.population.respondents(round.id);
            families.push(values::indicators(db, round.id, &self.population.index, who).await?);
        }
        Ok(disclosure::Values { families })
    }

    /// A round's own stored plan.
    fn own(&self, key: &str) -> ApiResult<RoundPlan> {
        let row = self.earlier.iter().find(|p| p.id == key).ok_or_else(|| {
            tracing::error!(key, "a round's plan is missing");
            ApiError::Internal
        })?;
        parse(row)
    }

    /// What `round` has released, as cells of `family`: its own table and
    /// län (from `own`, its plan) and the panels of every pair planned with it.
    fn released(
        &self,
        family: usize,
        round: &survey_round::Model,
        own: &RoundPlan,
    ) -> ApiResult<Vec<Released>> {
        let population = &self.population;
        let who = population.respondents(round.id);
        let mut released: Vec<Released> = population.released(family, &own.table, who).collect();
        if let Some(counties) = &own.counties {
            released.extend(population.released(family, counties, who));
        }
        for other in self.earlier.iter().filter(|p| p.paired_round_id.is_some()) {
            let members = [Some(other.round_id), other.paired_round_id];
            if !members.contains(&Some(round.id)) {
                continue;
            }
            let plan: PairPlan = parse(other)?;
            let panel = population.panel(members.iter().flatten().copied());
            for table in &plan.tables {
                released.extend(population.released(family, table, &panel));
            }
        }
        Ok(released)
    }

    /// The län table of a round, planned beside everything it has released.
    fn county_plan(
        &self,
        round: &survey_round::Model,
        own: &RoundPlan,
        min_cell: i64,
        values: &disclosure::Values,
    ) -> ApiResult<PlannedTable> {
        let released = self.released(0, round, own)?;
        let table = self
            .population
            .county_table(self.population.respondents(round.id), vec![0]);
        let decisions = disclosure::plan_beside_values(min_cell, &released, &table, values);
        Ok(planned(COUNTY_TABLE, &table, decisions))
    }
}

/// The pair plan of `a` and `b`, against every cell either has released:
/// its own table and län, and the panels of its other pairs.
pub(super) async fn store_pair_plan(
    db: &impl ConnectionTrait,
    a: &survey_round::Model,
    b: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let context = Context::load(db, &[a, b], min_cell).await?;
    let population = &context.population;

    // What a and b have released: family 0 counts a's answers, family 1 b's.
    let mut released = Vec::new();
    for (family, round) in [a, b].into_iter().enumerate() {
        let own = context.own(&round_key(round.id, min_cell))?;
        released.extend(context.released(family, round, &own)?);
    }

    // The later round's classification first, then the other one's.
    let (later, former) = if a.year >= b.year { (a, b) } else { (b, a) };
    let panel = population.panel([a.id, b.id]);
    let mut classes = vec![later.classification_id.clone()];
    if former.classification_id != later.classification_id {
        classes.push(former.classification_id.clone());
    }
    let tables: Vec<disclosure::Table> = classes
        .iter()
        .map(|c| population.table(c, &panel, vec![0, 1]))
        .collect();
    let values = context.values(db, &[a, b]).await?;
    let decisions = disclosure::plan_panels_values(min_cell, &released, &tables, &values);
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
