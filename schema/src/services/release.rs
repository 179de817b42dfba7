//! Release plans: the one source of what a round's figures may show.
//!
//! A round's plan (its own table under its own classification, and its
//! participation counts) is computed when it closes, in the close's
//! transaction; a pair of rounds' panel plan (one table per classification
//! of the two rounds) is computed the first time a panel of the two is asked
//! for. [`crate::disclosure`] decides; this module gives it the
//! municipalities behind every cell — and, for a pair, every cell either
//! round has released before — and keeps the result in `release_plan`, so a
//! decision is made once and never changes, on every instance. Figures read
//! plans through [`round_plan`] and [`pair_plan`] and suppress nothing
//! themselves.
//!
//! Plans are computed under a lock on the rows of the rounds they concern,
//! taken first in the transaction and in id order (`FOR NO KEY UPDATE` on
//! PostgreSQL; SQLite's one write lock), so two plans that share a round are
//! never made side by side without seeing each other. A round's own plan is
//! made inside its close, which holds the round's row from its first
//! statement.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::Utc;
use entity::{RoundStatus, answer, municipality_segment, release_plan, survey_round};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::disclosure::{self, Members, Reason, Released};
use crate::error::{ApiError, ApiResult};
use crate::services::memo::{Shared, cached, remember};
use crate::services::participation::{self, ParticipationCounts};
use crate::services::segments::{self, NATIONAL_CODE, SegmentDirectory};

/// What the plan decided for one cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedCell {
    pub code: String,
    /// The municipalities the cell counts: a segment's respondents, or its panel.
    pub respondents: i64,
    /// `None` when the cell is shown.
    pub suppressed: Option<Reason>,
}

/// The decisions for one table: the nation, groups and subgroups of one classification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTable {
    pub classification_id: String,
    pub cells: Vec<PlannedCell>,
}

impl PlannedTable {
    pub fn cell(&self, code: &str) -> Option<&PlannedCell> {
        self.cells.iter().find(|c| c.code == code)
    }

    /// Codes of the shown cells.
    fn shown(&self) -> impl Iterator<Item = &str> {
        self.cells
            .iter()
            .filter(|c| c.suppressed.is_none())
            .map(|c| c.code.as_str())
    }
}

/// A round's release plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundPlan {
    pub table: PlannedTable,
    /// Participation as it stood when the round closed.
    pub participation: ParticipationCounts,
}

/// The panel plan of two rounds: one table per classification the two use,
/// the later round's first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairPlan {
    pub tables: Vec<PlannedTable>,
}

impl PairPlan {
    pub fn table(&self, classification_id: &str) -> Option<&PlannedTable> {
        self.tables
            .iter()
            .find(|t| t.classification_id == classification_id)
    }
}

/// Plans read so far, by key. They never change once stored.
#[derive(Default)]
pub struct PlanCache {
    rounds: Shared<String, RoundPlan>,
    pairs: Shared<String, PairPlan>,
}

fn round_key(round: Uuid, min_cell: i64) -> String {
    format!("round:{round}:k{min_cell}")
}

fn pair_key(a: Uuid, b: Uuid, min_cell: i64) -> String {
    let (x, y) = if a < b { (a, b) } else { (b, a) };
    format!("pair:{x}:{y}:k{min_cell}")
}

fn frozen(round: &survey_round::Model) -> ApiResult<()> {
    match round.status {
        RoundStatus::Closed | RoundStatus::Published => Ok(()),
        _ => Err(ApiError::FailedPrecondition(format!(
            "round {} is not closed: it has no figures yet",
            round.year
        ))),
    }
}

/// A closed round's plan: from memory, from the database, or computed now.
pub async fn round_plan(
    db: &DatabaseConnection,
    cache: &PlanCache,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<Arc<RoundPlan>> {
    let key = round_key(round.id, min_cell);
    fetch(db, &cache.rounds, key, &[round], min_cell).await
}

/// The panel plan of two closed rounds, computed the first time it is asked for.
pub async fn pair_plan(
    db: &DatabaseConnection,
    cache: &PlanCache,
    round: &survey_round::Model,
    other: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<Arc<PairPlan>> {
    if round.id == other.id {
        return Err(ApiError::bad_input(
            "a round cannot be its own baseline: give another round",
        ));
    }
    let key = pair_key(round.id, other.id, min_cell);
    fetch(db, &cache.pairs, key, &[round, other], min_cell).await
}

/// A plan from memory, from the database, or made now for `rounds`.
async fn fetch<V: for<'de> Deserialize<'de>>(
    db: &DatabaseConnection,
    memory: &Shared<String, V>,
    key: String,
    rounds: &[&survey_round::Model],
    min_cell: i64,
) -> ApiResult<Arc<V>> {
    if let Some(hit) = cached(memory, &key) {
        return Ok(hit);
    }
    for round in rounds {
        frozen(round)?;
    }
    let plan = match load(db, &key).await? {
        Some(plan) => plan,
        None => {
            ensure(db, rounds, min_cell).await?;
            load(db, &key).await?.ok_or(ApiError::Internal)?
        }
    };
    Ok(remember(memory, key, plan))
}

/// Plans a round that is closing, inside the close's transaction (which
/// holds the round's row).
pub async fn plan_closing_round(
    txn: &impl ConnectionTrait,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    store_round_plan(txn, round, min_cell).await
}

/// Forgets every plan involving a round whose answers were just replaced as
/// a whole (the demo loader fills rounds that had none), and plans it anew.
pub async fn replan_round(
    txn: &impl ConnectionTrait,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<()> {
    release_plan::Entity::delete_many()
        .filter(
            Condition::any()
                .add(release_plan::Column::RoundId.eq(round.id))
                .add(release_plan::Column::PairedRoundId.eq(round.id)),
        )
        .exec(txn)
        .await?;
    store_round_plan(txn, round, min_cell).await
}

async fn load<V: for<'de> Deserialize<'de>>(
    db: &impl ConnectionTrait,
    key: &str,
) -> ApiResult<Option<V>> {
    let Some(row) = release_plan::Entity::find_by_id(key).one(db).await? else {
        return Ok(None);
    };
    serde_json::from_str(&row.plan).map(Some).map_err(|e| {
        tracing::error!(key, error = %e, "a stored release plan cannot be read");
        ApiError::Internal
    })
}

async fn store<V: Serialize>(
    db: &impl ConnectionTrait,
    key: String,
    round: Uuid,
    paired: Option<Uuid>,
    min_cell: i64,
    plan: &V,
) -> ApiResult<()> {
    let text = serde_json::to_string(plan).map_err(|e| ApiError::internal(&e))?;
    release_plan::Entity::insert(release_plan::ActiveModel {
        id: Set(key),
        round_id: Set(round),
        paired_round_id: Set(paired),
        min_cell: Set(i32::try_from(min_cell).unwrap_or(i32::MAX)),
        plan: Set(text),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Computes and stores the missing plans of one round, or of two rounds and
/// their pair, under a lock on the rounds' rows.
async fn ensure(
    db: &DatabaseConnection,
    rounds: &[&survey_round::Model],
    min_cell: i64,
) -> ApiResult<()> {
    let txn = db.begin().await?;
    let mut ids: Vec<Uuid> = rounds.iter().map(|r| r.id).collect();
    ids.sort();
    for (i, id) in ids.iter().enumerate() {
        if txn.get_database_backend() == DbBackend::Postgres {
            survey_round::Entity::find_by_id(*id)
                .lock(LockType::NoKeyUpdate)
                .one(&txn)
                .await?;
        } else if i == 0 {
            // SQLite locks the whole database for the first write.
            survey_round::Entity::update_many()
                .col_expr(
                    survey_round::Column::Status,
                    Expr::col(survey_round::Column::Status),
                )
                .filter(survey_round::Column::Id.eq(*id))
                .exec(&txn)
                .await?;
        }
    }
    for round in rounds {
        let key = round_key(round.id, min_cell);
        if release_plan::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .is_none()
        {
            store_round_plan(&txn, round, min_cell).await?;
        }
    }
    if let [a, b] = rounds {
        let key = pair_key(a.id, b.id, min_cell);
        if release_plan::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .is_none()
        {
            store_pair_plan(&txn, a, b, min_cell).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

async fn store_round_plan(
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
async fn store_pair_plan(
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

fn parse<V: for<'de> Deserialize<'de>>(row: &release_plan::Model) -> ApiResult<V> {
    serde_json::from_str(&row.plan).map_err(|e| {
        tracing::error!(key = row.id, error = %e, "a stored release plan cannot be read");
        ApiError::Internal
    })
}

fn planned(
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

/// Who is where: every municipality's segments under some classifications,
/// and who responded in some rounds, as [`Members`] sets.
struct Population {
    /// (classification, municipality index) -> (group, subgroup)
    segments: HashMap<(String, usize), (String, String)>,
    directories: HashMap<String, SegmentDirectory>,
    respondents: HashMap<Uuid, Members>,
    nobody: Members,
}

impl Population {
    async fn load(
        db: &impl ConnectionTrait,
        classifications: &[String],
        rounds: &[Uuid],
    ) -> ApiResult<Self> {
        let rows = municipality_segment::Entity::find()
            .filter(municipality_segment::Column::ClassificationId.is_in(classifications.to_vec()))
            .all(db)
            .await?;
        let codes: BTreeSet<&str> = rows.iter().map(|r| r.municipality_code.as_str()).collect();
        let index: HashMap<&str, usize> = codes.into_iter().zip(0..).collect();
        let segments = rows
            .iter()
            .map(|r| {
                (
                    (
                        r.classification_id.clone(),
                        index[r.municipality_code.as_str()],
                    ),
                    (r.group_code.clone(), r.subgroup_code.clone()),
                )
            })
            .collect();
        let mut directories = HashMap::new();
        for c in classifications {
            directories.insert(c.clone(), segments::directory(db, c).await?);
        }
        let answered: Vec<(Uuid, String)> = answer::Entity::find()
            .select_only()
            .column(answer::Column::RoundId)
            .column(answer::Column::MunicipalityCode)
            .distinct()
            .filter(answer::Column::RoundId.is_in(rounds.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        let mut respondents: HashMap<Uuid, Members> = HashMap::new();
        for (round, code) in answered {
            if let Some(&i) = index.get(code.as_str()) {
                respondents.entry(round).or_default().insert(i);
            }
        }
        Ok(Self {
            segments,
            directories,
            respondents,
            nobody: Members::default(),
        })
    }

    fn respondents(&self, round: Uuid) -> &Members {
        self.respondents.get(&round).unwrap_or(&self.nobody)
    }

    /// The municipalities that responded in every one of `rounds`.
    fn panel(&self, rounds: impl IntoIterator<Item = Uuid>) -> Members {
        rounds
            .into_iter()
            .map(|r| self.respondents(r).clone())
            .reduce(|x, y| x.and(&y))
            .unwrap_or_default()
    }

    /// The members of `who` in the segment `code` of a classification.
    fn segment(&self, classification: &str, code: &str, who: &Members) -> Members {
        who.iter()
            .filter(|&m| {
                self.segments
                    .get(&(classification.to_owned(), m))
                    .is_some_and(|(g, s)| code == NATIONAL_CODE || g == code || s == code)
            })
            .collect()
    }

    /// The nation, groups and subgroups of a classification over `who`.
    fn table(
        &self,
        classification: &str,
        who: &Members,
        families: Vec<usize>,
    ) -> disclosure::Table {
        let mut cells = vec![disclosure::Cell {
            code: NATIONAL_CODE.into(),
            parent: None,
            members: self.segment(classification, NATIONAL_CODE, who),
        }];
        if let Some(directory) = self.directories.get(classification) {
            for s in &directory.segments {
                cells.push(disclosure::Cell {
                    code: s.code.clone(),
                    parent: Some(s.parent.clone().unwrap_or_else(|| NATIONAL_CODE.into())),
                    members: self.segment(classification, &s.code, who),
                });
            }
        }
        disclosure::Table { families, cells }
    }

    /// The shown cells of a stored table as released sets over `who`.
    fn released<'a>(
        &'a self,
        family: usize,
        table: &'a PlannedTable,
        who: &'a Members,
    ) -> impl Iterator<Item = Released> + 'a {
        table.shown().map(move |code| Released {
            family,
            members: self.segment(&table.classification_id, code, who),
        })
    }
}
