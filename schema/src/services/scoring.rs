//! Maturity levels (mognadsnivå) per response and area, from the options'
//! `maturity_level`: the highest level among the chosen options of the area's
//! maturity question, 1 where it is unanswered. The rule is one SQL query,
//! used both for live scores and to freeze them when a round closes.

use std::collections::HashMap;
use std::sync::Arc;

use entity::{RoundStatus, area, area_score, survey_round};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, QueryFilter, Value};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::services::memo::{cached, remember};
use crate::services::memory::Memory;
use crate::services::questionnaire::Questionnaire;
use crate::services::sql::statement;
use crate::tenancy::KommunScope;

/// Level per (municipality, area) of every response in a round; `$1` is the
/// round, `$2` true; the optional `$3` narrows to one municipality.
const LEVELS: &str = "\
SELECT r.municipality_code AS municipality_code, a.id AS area_id, COALESCE(MAX(o.maturity_level), 1) AS level
FROM response r
JOIN area a ON a.round_id = r.round_id AND a.number IS NOT NULL
LEFT JOIN question q ON q.area_id = a.id AND q.maturity = $2
LEFT JOIN answer an
  ON an.municipality_code = r.municipality_code AND an.round_id = r.round_id AND an.question_id = q.id
LEFT JOIN answer_choice c
  ON c.municipality_code = an.municipality_code AND c.round_id = an.round_id AND c.question_id = an.question_id
LEFT JOIN answer_option o ON o.id = COALESCE(an.option_id, c.option_id)
WHERE r.round_id = $1";

/// Writes every response's per-area levels into `area_score` (at close).
pub async fn freeze(db: &impl ConnectionTrait, round_id: Uuid) -> ApiResult<u64> {
    let sql = format!(
        "INSERT INTO area_score (municipality_code, round_id, area_id, level) \
         SELECT municipality_code, $1, area_id, level FROM ({LEVELS} GROUP BY r.municipality_code, a.id) levels"
    );
    let result = db
        .execute_raw(statement(db, &sql, vec![round_id.into(), true.into()]))
        .await?;
    Ok(result.rows_affected())
}

/// The scope's level per maturity area of a round, in area order, read in
/// the scope's own transaction. Frozen scores once the round is closed
/// (kept in memory: they never change); computed from the answers before.
pub async fn my_levels(
    db: &DatabaseConnection,
    memory: &Memory,
    scope: &KommunScope,
    round: &survey_round::Model,
) -> ApiResult<Arc<Vec<(area::Model, i32)>>> {
    let frozen = matches!(round.status, RoundStatus::Closed | RoundStatus::Published);
    let key = (round.id, scope.code().to_owned());
    if frozen && let Some(hit) = cached(&memory.scores, &key) {
        return Ok(hit);
    }
    let since = memory.since();
    let areas = Questionnaire::of(db, memory, round).await?.maturity_areas();
    let txn = scope.begin(db).await?;
    let levels = levels_in(&txn, scope, round, areas).await?;
    txn.commit().await?;
    Ok(if frozen {
        remember(&memory.scores, since, key, levels)
    } else {
        Arc::new(levels)
    })
}

async fn levels_in(
    db: &impl ConnectionTrait,
    scope: &KommunScope,
    round: &survey_round::Model,
    areas: Vec<area::Model>,
) -> ApiResult<Vec<(area::Model, i32)>> {
    let mut levels: HashMap<Uuid, i32> = HashMap::new();
    if matches!(round.status, RoundStatus::Closed | RoundStatus::Published) {
        let frozen = scope
            .find::<area_score::Entity>()
            .filter(area_score::Column::RoundId.eq(round.id))
            .all(db)
            .await?;
        levels.extend(frozen.into_iter().map(|s| (s.area_id, s.level)));
    }
    if levels.is_empty() {
        // The scoring rule is one SQL text (see [`LEVELS`]), narrowed here to
        // the scope's municipality (and by the database too, on PostgreSQL).
        let sql =
            format!("{LEVELS} AND r.municipality_code = $3 GROUP BY r.municipality_code, a.id");
        let values: Vec<Value> = vec![round.id.into(), true.into(), scope.code().into()];
        for row in db.query_all_raw(statement(db, &sql, values)).await? {
            let area_id: Uuid = row.try_get("", "area_id")?;
            let level: i32 = row.try_get("", "level")?;
            levels.insert(area_id, level);
        }
    }
    let mut out: Vec<(area::Model, i32)> = areas
        .into_iter()
        .map(|a| {
            let level = levels.get(&a.id).copied().unwrap_or(1);
            (a, level)
        })
        .collect();
    out.sort_by_key(|(a, _)| (a.number, a.position));
    Ok(out)
}
