//! What the municipalities of a round answered, as the indicators every
//! released count sums (for the plan's interval audit,
//! [`crate::disclosure::bounds`]): per maturity area the members at level 2
//! or above (the level-2 count; levels above 2 are counted through the
//! options of the area's question), per option of a choice question the
//! members that chose it, per choice question those that left it
//! unanswered. Process shares and weekly hours are sums of option counts, so
//! they add no indicator of their own.

use std::collections::{BTreeMap, HashMap};

use entity::{QuestionKind, area_score, question};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::disclosure::Members;
use crate::error::ApiResult;
use crate::services::sql::statement;

/// The indicators of `round` over the municipality numbering `index`,
/// among `respondents`; indicators no one is at 1 in are left out (every
/// count of theirs is 0, which tells each member's value in every cell anyway).
pub(super) async fn indicators(
    db: &impl ConnectionTrait,
    round: Uuid,
    index: &HashMap<String, usize>,
    respondents: &Members,
) -> ApiResult<Vec<Members>> {
    let mut out: BTreeMap<(u8, Uuid, Uuid), Members> = BTreeMap::new();
    let at = |code: &str| index.get(code).copied().filter(|&i| respondents.contains(i));

    let levels: Vec<(String, Uuid, i32)> = area_score::Entity::find()
        .select_only()
        .column(area_score::Column::MunicipalityCode)
        .column(area_score::Column::AreaId)
        .column(area_score::Column::Level)
        .filter(area_score::Column::RoundId.eq(round))
        .into_tuple()
        .all(db)
        .await?;
    for (code, area, level) in levels {
        if let Some(i) = at(&code).filter(|_| level >= 2) {
            out.entry((0, area, Uuid::nil())).or_default().insert(i);
        }
    }

    let choice: Vec<Uuid> = question::Entity::find()
        .select_only()
        .column(question::Column::Id)
        .filter(question::Column::RoundId.eq(round))
        .filter(question::Column::Kind.is_in([QuestionKind::SingleChoice, QuestionKind::MultiChoice]))
        .into_tuple()
        .all(db)
        .await?;
    let sql = "SELECT an.municipality_code AS code, an.question_id AS question_id, \
               COALESCE(an.option_id, c.option_id) AS option_id FROM answer an \
               LEFT JOIN answer_choice c ON c.municipality_code = an.municipality_code \
               AND c.round_id = an.round_id AND c.question_id = an.question_id \
               WHERE an.round_id = $1";
    let mut answered: HashMap<Uuid, Members> = HashMap::new();
    for row in db.query_all_raw(statement(db, sql, vec![round.into()])).await? {
        let code: String = row.try_get("", "code")?;
        let question: Uuid = row.try_get("", "question_id")?;
        let option: Option<Uuid> = row.try_get("", "option_id")?;
        let Some(i) = at(&code) else { continue };
        answered.entry(question).or_default().insert(i);
        if let Some(option) = option {
            out.entry((1, question, option)).or_default().insert(i);
        }
    }
    for q in choice {
        let have = answered.remove(&q).unwrap_or_default();
        let left: Members = respondents.iter().filter(|&i| !have.contains(i)).collect();
        if !left.is_empty() {
            out.insert((2, q, Uuid::nil()), left);
        }
    }
    Ok(out.into_values().collect())
}
