//! Who has responded to a round: counts for SKR, and per municipality
//! (status, number of answers, timestamps — never an answer) for SKR_ADMIN.

use std::collections::HashMap;

use entity::{ResponseStatus, response, survey_round};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::error::ApiResult;
use crate::policy::AdminScope;
use crate::services::segments;
use crate::services::sql::statement;

/// Participation counts of a round (live for an OPEN round).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParticipationCounts {
    pub population: i64,
    pub submitted: i64,
    pub in_progress: i64,
    pub respondents: i64,
}

pub async fn participation(
    db: &impl ConnectionTrait,
    round: &survey_round::Model,
) -> ApiResult<ParticipationCounts> {
    let directory = segments::directory(db, &round.classification_id).await?;
    let by_status: Vec<(ResponseStatus, i64)> = response::Entity::find()
        .filter(response::Column::RoundId.eq(round.id))
        .select_only()
        .column(response::Column::Status)
        .column_as(response::Column::MunicipalityCode.count(), "n")
        .group_by(response::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let count = |s: ResponseStatus| {
        by_status
            .iter()
            .filter(|(x, _)| *x == s)
            .map(|(_, n)| n)
            .sum::<i64>()
    };
    let sql = "SELECT COUNT(DISTINCT municipality_code) AS n FROM answer WHERE round_id = $1";
    let respondents: i64 = match db
        .query_one_raw(statement(db, sql, vec![round.id.into()]))
        .await?
    {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(ParticipationCounts {
        population: i64::from(directory.national_population),
        submitted: count(ResponseStatus::Submitted),
        in_progress: count(ResponseStatus::InProgress),
        respondents,
    })
}

/// The start (00:00 UTC) of the day of `t`: how a kommun's save or
/// submission is dated where a finer time would date single answers.
pub fn day(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The share of the questions everyone is asked (those without a
/// condition) that an unsubmitted response must have answered to count as
/// nearly complete — the report's "besvarade så gott som hela enkäten, men
/// avslutade inte"; below it, "besvarade delar av enkäten".
pub const NEARLY_COMPLETE: f64 = 0.8;

/// The IN_PROGRESS responses of a round split by completeness: `(nearly
/// complete, partial)` (see [`NEARLY_COMPLETE`]). Counted from the answers
/// as they stand; a CLOSED round's do not change any more.
pub async fn completeness(
    db: &impl ConnectionTrait,
    round: &survey_round::Model,
) -> ApiResult<(i64, i64)> {
    let sql = "SELECT r.municipality_code AS code,           (SELECT COUNT(*) FROM answer a JOIN question q ON q.id = a.question_id             WHERE a.municipality_code = r.municipality_code AND a.round_id = r.round_id               AND q.condition_question_key IS NULL) AS answered         FROM response r WHERE r.round_id = $1 AND r.status = 'IN_PROGRESS'";
    let rows = db
        .query_all_raw(statement(db, sql, vec![round.id.into()]))
        .await?;
    let asked: i64 = entity::question::Entity::find()
        .filter(entity::question::Column::RoundId.eq(round.id))
        .filter(entity::question::Column::ConditionQuestionKey.is_null())
        .count(db)
        .await?
        .try_into()
        .unwrap_or(i64::MAX);
    let mut nearly = 0;
    let mut partial = 0;
    for row in rows {
        let answered: i64 = row.try_get("", "answered")?;
        if asked > 0 && answered as f64 >= NEARLY_COMPLETE * asked as f64 {
            nearly += 1;
        } else {
            partial += 1;
        }
    }
    Ok((nearly, partial))
}

/// One municipality's participation: never an answer, nor anything that
/// depends on one.
#[derive(Clone, Debug)]
pub struct MunicipalityStatus {
    pub code: String,
    pub status: ResponseStatus,
    /// Answers to the questions everyone is asked (those without a condition).
    pub answered: i64,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub submitted_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Status per municipality of the round's population, in code order (SKR_ADMIN).
pub async fn participation_by_municipality(
    db: &impl ConnectionTrait,
    _admin: &AdminScope,
    round: &survey_round::Model,
) -> ApiResult<Vec<MunicipalityStatus>> {
    let codes: Vec<String> = entity::municipality_segment::Entity::find()
        .filter(entity::municipality_segment::Column::ClassificationId.eq(&round.classification_id))
        .select_only()
        .column(entity::municipality_segment::Column::MunicipalityCode)
        .order_by_asc(entity::municipality_segment::Column::MunicipalityCode)
        .into_tuple()
        .all(db)
        .await?;
    let responses: HashMap<String, response::Model> = response::Entity::find()
        .filter(response::Column::RoundId.eq(round.id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.municipality_code.clone(), r))
        .collect();
    // Only the questions everyone is asked count: a question asked on a
    // condition is answered or not because of another answer, so counting
    // it would tell that answer (`function_hours` is asked only when
    // `function_exists` is yes).
    let asked_everyone: Vec<uuid::Uuid> = entity::question::Entity::find()
        .filter(entity::question::Column::RoundId.eq(round.id))
        .filter(entity::question::Column::ConditionQuestionKey.is_null())
        .select_only()
        .column(entity::question::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let answered: HashMap<String, i64> = entity::answer::Entity::find()
        .filter(entity::answer::Column::RoundId.eq(round.id))
        .filter(entity::answer::Column::QuestionId.is_in(asked_everyone))
        .select_only()
        .column(entity::answer::Column::MunicipalityCode)
        .column_as(entity::answer::Column::QuestionId.count(), "n")
        .group_by(entity::answer::Column::MunicipalityCode)
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(codes
        .into_iter()
        .map(|code| {
            let r = responses.get(&code);
            MunicipalityStatus {
                status: r.map_or(ResponseStatus::NotStarted, |r| r.status),
                answered: answered.get(&code).copied().unwrap_or(0),
                updated_at: r.and_then(|r| r.updated_at),
                submitted_at: r.and_then(|r| r.submitted_at),
                code,
            }
        })
        .collect())
}

/// The counts SKR is shown: a CLOSED or PUBLISHED round's from its release
/// plan (what every figure of the round was cut from), an OPEN or DRAFT
/// round's counted now.
pub async fn shown(
    db: &sea_orm::DatabaseConnection,
    memory: &crate::services::memory::Memory,
    round: &survey_round::Model,
    min_cell: i64,
) -> ApiResult<ParticipationCounts> {
    use entity::RoundStatus;
    match round.status {
        RoundStatus::Closed | RoundStatus::Published => Ok(crate::services::release::round_plan(
            db,
            &memory.plans,
            memory.since(),
            round,
            min_cell,
        )
        .await?
        .participation
        .clone()),
        RoundStatus::Draft | RoundStatus::Open => participation(db, round).await,
    }
}
