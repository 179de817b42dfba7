//! Making plans: a round's own table, and a pair's panel tables against
//! everything either round has released.

use std::collections::{BTreeMap, BTreeSet};

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
    let answers = context.answers(db, round).await?;
    // The cells' own decisions (rules 1 to 3); the values are audited
    // question by question after.
    let values = disclosure::Values::default();
    let decisions = disclosure::plan_beside_values(min_cell, &[], &table, &values);
    let mut plan = RoundPlan {
        table: planned(&class, &table, decisions),
        counties: None,
        participation: participation::participation(db, round).await?,
        audited: true,
    };
    plan.counties = Some(context.county_plan(round, &plan, min_cell, &values)?);
    context
        .question_plans(round, &mut plan, &answers, min_cell)
        .await?;
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

/// Brings a round's stored plan made by an earlier version up to date:
/// adds the län table if it has none (planned against everything the round
/// has released since: its own table and the panels of its pairs), and runs
/// the interval audit over it, which only hides more.
pub(super) async fn audit_round_plan(
    db: &impl ConnectionTrait,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let key = round_key(round.id, min_cell);
    let context = Context::load(db, &[round], min_cell).await?;
    let mut plan: RoundPlan = context.own(&key)?;
    let answers = context.answers(db, round).await?;
    let values = disclosure::Values::default();
    let population = &context.population;
    let class = round.classification_id.clone();
    let table = population.table(&class, population.respondents(round.id), vec![0]);
    let before = decided(&plan.table, &table);
    let decisions = disclosure::replan_beside(min_cell, &[], &table, before, &values);
    plan.table = planned(&class, &table, decisions);
    plan.counties = Some(match plan.counties.take() {
        None => context.county_plan(round, &plan, min_cell, &values)?,
        Some(counties) => {
            let released = context.released(
                0,
                round,
                &RoundPlan {
                    counties: None,
                    ..plan.clone()
                },
            )?;
            let lan = population.county_table(population.respondents(round.id), vec![0]);
            let before = decided(&counties, &lan);
            let decisions = disclosure::replan_beside(min_cell, &released, &lan, before, &values);
            planned(COUNTY_TABLE, &lan, decisions)
        }
    });
    plan.table.questions.clear();
    if let Some(counties) = &mut plan.counties {
        counties.questions.clear();
    }
    context
        .question_plans(round, &mut plan, &answers, min_cell)
        .await?;
    plan.audited = true;
    rewrite(db, &key, &plan).await?;
    tracing::info!(
        round = round.year,
        min_cell,
        "a round's stored plan audited"
    );
    Ok(())
}

/// One table's decisions, cell by cell.
type Decisions = Vec<Option<Reason>>;

/// Runs a plan's computation (pure, and seconds long at scale) on the
/// blocking pool, so the server's workers go on answering meanwhile.
async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "a release plan's computation failed");
        ApiError::Internal
    })
}

/// Notes in `stored` the cells `after` hides for question `key` that the
/// cell decisions `before` show.
fn record(
    stored: &mut PlannedTable,
    key: &str,
    table: &disclosure::Table,
    before: &[Option<Reason>],
    after: &[Option<Reason>],
) {
    let hidden: BTreeMap<String, Reason> = table
        .cells
        .iter()
        .zip(before.iter().zip(after))
        .filter_map(|(c, (b, a))| match (b, a) {
            (None, Some(reason)) => Some((c.code.clone(), *reason)),
            _ => None,
        })
        .collect();
    if !hidden.is_empty() {
        stored.questions.insert(key.to_owned(), hidden);
    }
}

/// A stored table's decisions, cell by cell of `table` (a cell it does not
/// know is hidden).
fn decided(stored: &PlannedTable, table: &disclosure::Table) -> Vec<Option<Reason>> {
    table
        .cells
        .iter()
        .map(|c| {
            stored
                .cell(&c.code)
                .map_or(Some(Reason::SmallCell), |p| p.suppressed)
        })
        .collect()
}

async fn rewrite<V: serde::Serialize>(
    db: &impl ConnectionTrait,
    key: &str,
    plan: &V,
) -> ApiResult<()> {
    let text = serde_json::to_string(plan).map_err(|e| ApiError::internal(&e))?;
    release_plan::Entity::update_many()
        .col_expr(release_plan::Column::Plan, Expr::value(text))
        .filter(release_plan::Column::Id.eq(key))
        .exec(db)
        .await?;
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
        let earlier = Self::earlier(db, &ids, min_cell).await?;
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

    /// What `round` answered, indicator by indicator.
    async fn answers(
        &self,
        db: &impl ConnectionTrait,
        round: &survey_round::Model,
    ) -> ApiResult<values::Answers> {
        let who = self.population.respondents(round.id);
        values::indicators(db, round.id, &self.population.index, who).await
    }

    /// The stored plans concerning rounds `ids` at `min_cell`.
    async fn earlier(
        db: &impl ConnectionTrait,
        ids: &[Uuid],
        min_cell: i64,
    ) -> ApiResult<Vec<release_plan::Model>> {
        Ok(release_plan::Entity::find()
            .filter(release_plan::Column::MinCell.eq(i32::try_from(min_cell).unwrap_or(i32::MAX)))
            .filter(
                Condition::any()
                    .add(release_plan::Column::RoundId.is_in(ids.to_vec()))
                    .add(release_plan::Column::PairedRoundId.is_in(ids.to_vec())),
            )
            .all(db)
            .await?)
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
        self.released_except(family, round, own, "")
    }

    /// [`Self::released`] but for the pair plan `skip` (which is being audited).
    fn released_except(
        &self,
        family: usize,
        round: &survey_round::Model,
        own: &RoundPlan,
        skip: &str,
    ) -> ApiResult<Vec<Released>> {
        let population = &self.population;
        let who = population.respondents(round.id);
        let mut released: Vec<Released> =
            population.released(family, &own.table, who, true).collect();
        if let Some(counties) = &own.counties {
            released.extend(population.released(family, counties, who, true));
        }
        released.extend(self.panels_except(family, round, skip)?);
        Ok(released)
    }

    /// The shown cells of `round`'s pairs but `skip`, as cells of `family`.
    fn panels_except(
        &self,
        family: usize,
        round: &survey_round::Model,
        skip: &str,
    ) -> ApiResult<Vec<Released>> {
        let population = &self.population;
        let mut released = Vec::new();
        for other in self
            .earlier
            .iter()
            .filter(|p| p.paired_round_id.is_some() && p.id != skip)
        {
            let members = [Some(other.round_id), other.paired_round_id];
            if !members.contains(&Some(round.id)) {
                continue;
            }
            let plan: PairPlan = parse(other)?;
            // A panel plan stored before the interval audit is audited
            // against its rounds when it is next read (and served only
            // then); its rounds are not held to it.
            if !plan.audited {
                continue;
            }
            let panel = population.panel(members.iter().flatten().copied());
            for table in &plan.tables {
                released.extend(population.released(family, table, &panel, false));
            }
        }
        Ok(released)
    }

    /// The panel cells of `round`'s audited pairs, as cells of `family`.
    fn panels(&self, family: usize, round: &survey_round::Model) -> ApiResult<Vec<Released>> {
        self.panels_except(family, round, "")
    }

    /// Per choice question, the cells of the round's table and län whose
    /// counts of its answers are hidden beyond the cell's own decision: the
    /// interval audit of the question's options, from the cells' decisions
    /// (made with the areas' level-2 counts), the table first and its län
    /// beside it.
    async fn question_plans(
        &self,
        round: &survey_round::Model,
        plan: &mut RoundPlan,
        answers: &values::Answers,
        min_cell: i64,
    ) -> ApiResult<()> {
        let population = &self.population;
        let who = population.respondents(round.id);
        let table = population.table(&round.classification_id, who, vec![0]);
        let lan = population.county_table(who, vec![0]);
        let panels = self.panels(0, round)?;
        let Some(counties) = plan.counties.as_mut() else {
            return Err(ApiError::Internal);
        };
        let (own_before, lan_before) = (decided(&plan.table, &table), decided(counties, &lan));
        let questions: Vec<(String, disclosure::Values)> = answers
            .questions
            .iter()
            .map(|(key, chosen)| {
                let (indicators, one_hot, known) = answers.only(chosen);
                let values = disclosure::Values {
                    families: vec![indicators],
                    one_hot: vec![one_hot],
                    known: vec![known],
                };
                (key.clone(), values)
            })
            .collect();
        let (table, lan, decided) = {
            let (own_before, lan_before) = (own_before.clone(), lan_before.clone());
            off_thread(move || {
                let decided: Vec<(String, Decisions, Decisions)> = questions
                    .into_iter()
                    .map(|(key, values)| {
                        let own = disclosure::replan_beside(
                            min_cell,
                            &panels,
                            &table,
                            own_before.clone(),
                            &values,
                        );
                        let mut released = panels.clone();
                        released.extend(
                            table
                                .cells
                                .iter()
                                .zip(&own)
                                .filter(|(_, d)| d.is_none())
                                .map(|(c, _)| Released {
                                    family: 0,
                                    members: c.members.clone(),
                                    exempts: true,
                                }),
                        );
                        let by_lan = disclosure::replan_beside(
                            min_cell,
                            &released,
                            &lan,
                            lan_before.clone(),
                            &values,
                        );
                        (key, own, by_lan)
                    })
                    .collect();
                (table, lan, decided)
            })
            .await?
        };
        for (key, own, mut by_lan) in decided {
            record(&mut plan.table, &key, &table, &own_before, &own);
            // The nation is the round table's cell: its own decision stands.
            by_lan[0] = lan_before[0];
            record(counties, &key, &lan, &lan_before, &by_lan);
        }
        Ok(())
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

/// A pair's panel decisions: with the areas' level-2 counts against the
/// cells the rounds have released, then question by question against the
/// cells that show that question's counts (the hides of every question are
/// the panel cell's own: a panel cell is hidden for all its figures).
/// `stored`: the key and decisions of a stored plan to start from (not
/// counted as released), else cells are admitted anew.
async fn pair_decisions(
    db: &impl ConnectionTrait,
    context: &Context,
    (a, b): (&survey_round::Model, &survey_round::Model),
    tables: Vec<disclosure::Table>,
    stored: Option<(&str, Vec<Decisions>)>,
    min_cell: i64,
) -> ApiResult<(Vec<disclosure::Table>, Vec<Decisions>)> {
    let (skip, before) = match stored {
        Some((key, before)) => (key, Some(before)),
        None => ("", None),
    };
    let population = &context.population;
    let rounds = [a, b];
    let mut own = Vec::new();
    let mut answers = Vec::new();
    for round in rounds {
        own.push(context.own(&round_key(round.id, min_cell))?);
        answers.push(context.answers(db, round).await?);
    }
    // Everything the two rounds released, for the cells' own decisions.
    let mut released = Vec::new();
    for (family, round) in rounds.into_iter().enumerate() {
        released.extend(context.released_except(family, round, &own[family], skip)?);
    }
    let mut areas = disclosure::Values::default();
    for a in &answers {
        let (indicators, one_hot, known) = a.only(&a.areas);
        areas.families.push(indicators);
        areas.one_hot.push(one_hot);
        areas.known.push(known);
    }
    // Per question key (of either round): its indicators in each round and
    // the cells each round shows its counts in.
    let keys: BTreeSet<String> = answers
        .iter()
        .flat_map(|a| a.questions.iter().map(|(k, _)| k.clone()))
        .collect();
    let mut questions = Vec::new();
    for key in keys {
        let mut values = disclosure::Values::default();
        let mut shown = Vec::new();
        for (family, round) in rounds.into_iter().enumerate() {
            let chosen = answers[family]
                .questions
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, c)| c.as_slice())
                .unwrap_or_default();
            let (indicators, one_hot, known) = answers[family].only(chosen);
            values.families.push(indicators);
            values.one_hot.push(one_hot);
            values.known.push(known);
            let who = population.respondents(round.id);
            shown.extend(population.released_for(family, &own[family].table, who, &key));
            if let Some(counties) = &own[family].counties {
                shown.extend(population.released_for(family, counties, who, &key));
            }
            shown.extend(context.panels_except(family, round, skip)?);
        }
        questions.push((values, shown));
    }
    off_thread(move || {
        let mut decisions = match before {
            Some(before) => disclosure::replan_panels(min_cell, &released, &tables, before, &areas),
            None => disclosure::plan_panels_values(min_cell, &released, &tables, &areas),
        };
        for (values, shown) in questions {
            decisions = disclosure::replan_panels(min_cell, &shown, &tables, decisions, &values);
        }
        (tables, decisions)
    })
    .await
}

/// A pair plan computed outside the transaction that stores it, with the
/// plans it was computed against.
pub(super) struct Prepared {
    plan: PairPlan,
    against: Vec<(String, String)>,
    later: (Uuid, i32),
    former: (Uuid, i32),
}

/// The plans concerning `rounds` at `min_cell`, by key, as stored.
fn fingerprint(earlier: &[release_plan::Model]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = earlier
        .iter()
        .map(|p| (p.id.clone(), p.plan.clone()))
        .collect();
    all.sort();
    all
}

/// Computes the pair plan of `a` and `b` from what `db` holds now (reads
/// only; seconds long in a debug build, so outside any transaction).
pub(super) async fn prepare_pair_plan(
    db: &impl ConnectionTrait,
    a: &survey_round::Model,
    b: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<Prepared> {
    let context = Context::load(db, &[a, b], min_cell).await?;
    let population = &context.population;
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
    // Family 0 counts a's answers, family 1 b's.
    let (tables, decisions) = pair_decisions(db, &context, (a, b), tables, None, min_cell).await?;
    Ok(Prepared {
        plan: pair_plan_of(&classes, &tables, decisions),
        against: fingerprint(&context.earlier),
        later: (later.id, later.year),
        former: (former.id, former.year),
    })
}

/// Stores a prepared pair plan if nothing it was computed against has
/// changed since (else computes it anew, here).
pub(super) async fn store_prepared(
    db: &impl ConnectionTrait,
    prepared: Prepared,
    a: &survey_round::Model,
    b: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let now = Context::earlier(db, &[a.id, b.id], min_cell).await?;
    if fingerprint(&now) != prepared.against {
        return store_pair_plan(db, a, b, min_cell).await;
    }
    keep(db, prepared, a, b, min_cell).await
}

/// Stores a pair plan.
async fn keep(
    db: &impl ConnectionTrait,
    prepared: Prepared,
    a: &survey_round::Model,
    b: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    tracing::info!(
        rounds = ?[prepared.later.1, prepared.former.1],
        min_cell,
        shown = prepared.plan.tables.iter().map(|t| t.shown().count()).sum::<usize>(),
        "release plan of a panel"
    );
    store(
        db,
        pair_key(a.id, b.id, min_cell),
        prepared.later.0,
        Some(prepared.former.0),
        min_cell,
        &prepared.plan,
    )
    .await
}

/// The pair plan of `a` and `b`, against every cell either has released:
/// its own table and län, and the panels of its other pairs.
pub(super) async fn store_pair_plan(
    db: &impl ConnectionTrait,
    a: &survey_round::Model,
    b: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let prepared = prepare_pair_plan(db, a, b, min_cell).await?;
    keep(db, prepared, a, b, min_cell).await
}

/// Runs the interval audit over a pair's panel plan stored by an earlier
/// version (after both rounds' own plans are brought up to date); it only
/// hides more.
pub(super) async fn audit_pair_plan(
    db: &impl ConnectionTrait,
    a: &survey_round::Model,
    b: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    let key = pair_key(a.id, b.id, min_cell);
    let context = Context::load(db, &[a, b], min_cell).await?;
    let stored: PairPlan = {
        let row = context
            .earlier
            .iter()
            .find(|p| p.id == key)
            .ok_or(ApiError::Internal)?;
        parse(row)?
    };
    let population = &context.population;
    let panel = population.panel([a.id, b.id]);
    let classes: Vec<String> = stored
        .tables
        .iter()
        .map(|t| t.classification_id.clone())
        .collect();
    let tables: Vec<disclosure::Table> = classes
        .iter()
        .map(|c| population.table(c, &panel, vec![0, 1]))
        .collect();
    let before: Vec<Vec<Option<Reason>>> = stored
        .tables
        .iter()
        .zip(&tables)
        .map(|(s, t)| decided(s, t))
        .collect();
    let (tables, decisions) =
        pair_decisions(db, &context, (a, b), tables, Some((&key, before)), min_cell).await?;
    let plan = pair_plan_of(&classes, &tables, decisions);
    rewrite(db, &key, &plan).await?;
    tracing::info!(rounds = ?[a.year, b.year], min_cell, "a pair's stored plan audited");
    Ok(())
}

/// An audited pair plan of decisions on `tables`, one per classification.
fn pair_plan_of(
    classes: &[String],
    tables: &[disclosure::Table],
    decisions: Vec<Decisions>,
) -> PairPlan {
    PairPlan {
        tables: classes
            .iter()
            .zip(tables)
            .zip(decisions)
            .map(|((c, t), d)| planned(c, t, d))
            .collect(),
        audited: true,
    }
}

pub(super) fn planned(
    classification_id: &str,
    table: &disclosure::Table,
    decisions: Vec<Option<Reason>>,
) -> PlannedTable {
    PlannedTable {
        questions: Default::default(),
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
