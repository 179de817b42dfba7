//! Reading a kommun's response and audit trail, in the kommun's own
//! transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{QuestionKind, answer_event, question, response, survey_round};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
};
use uuid::Uuid;

use super::validate::required_count;
use super::{AnswerValue, HistoryEntry, ResponseView, StoredAnswer};
use crate::error::ApiResult;
use crate::services::memory::Memory;
use crate::services::questionnaire::Questionnaire;
use crate::services::sql::statement;
use crate::tenancy::KommunScope;

pub(super) async fn response_row(
    db: &impl ConnectionTrait,
    scope: &KommunScope,
    round_id: Uuid,
) -> ApiResult<Option<response::Model>> {
    Ok(scope
        .find::<response::Entity>()
        .filter(response::Column::RoundId.eq(round_id))
        .one(db)
        .await?)
}

/// A response's answers with their chosen options, one row per option (a
/// single choice's option is in its answer's row, a multi-choice answer's in
/// `answer_choice`; NULL for numbers and text); narrowed to the scope's
/// municipality here and, on PostgreSQL, by the database as well.
const ANSWERS: &str = "\
SELECT a.question_id AS question_id, a.number_value AS number_value, a.text_value AS text_value, \
a.updated_at AS updated_at, COALESCE(a.option_id, c.option_id) AS option_id \
FROM answer a LEFT JOIN answer_choice c \
ON c.municipality_code = a.municipality_code AND c.round_id = a.round_id AND c.question_id = a.question_id \
WHERE a.municipality_code = $1 AND a.round_id = $2";

/// The scope's current answers in a round, in questionnaire order (one statement).
pub async fn answers(
    db: &impl ConnectionTrait,
    scope: &KommunScope,
    round_id: Uuid,
    q: &Questionnaire,
) -> ApiResult<Vec<StoredAnswer>> {
    let values: Vec<Value> = vec![scope.code().into(), round_id.into()];
    let mut rows: HashMap<Uuid, StoredRow> = HashMap::new();
    for row in db.query_all_raw(statement(db, ANSWERS, values)).await? {
        let question_id: Uuid = row.try_get("", "question_id")?;
        let stored = match rows.entry(question_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(StoredRow {
                number: row.try_get("", "number_value")?,
                text: row.try_get("", "text_value")?,
                updated_at: row.try_get("", "updated_at")?,
                chosen: HashSet::new(),
            }),
        };
        if let Some(option) = row.try_get::<Option<Uuid>>("", "option_id")? {
            stored.chosen.insert(option);
        }
    }
    let mut out = Vec::new();
    for question in &q.questions {
        let Some(row) = rows.get(&question.id) else {
            continue;
        };
        let keys: Vec<String> = q
            .options_of(question.id)
            .iter()
            .filter(|o| row.chosen.contains(&o.id))
            .map(|o| o.key.clone())
            .collect();
        let value = match question.kind {
            QuestionKind::SingleChoice => keys.into_iter().next().map(AnswerValue::Choice),
            QuestionKind::MultiChoice => Some(AnswerValue::Choices(keys)),
            QuestionKind::Number => row.number.map(AnswerValue::Number),
            QuestionKind::Text => row.text.clone().map(AnswerValue::Text),
        };
        if let Some(value) = value {
            out.push(StoredAnswer {
                question_id: question.id,
                question_key: question.key.clone(),
                value,
                updated_at: row.updated_at,
            });
        }
    }
    Ok(out)
}

/// One stored answer as read, before it is matched to its question.
struct StoredRow {
    number: Option<f64>,
    text: Option<String>,
    updated_at: DateTime<Utc>,
    chosen: HashSet<Uuid>,
}

pub(super) fn values_of(answers: &[StoredAnswer]) -> HashMap<String, AnswerValue> {
    answers
        .iter()
        .map(|a| (a.question_key.clone(), a.value.clone()))
        .collect()
}

/// The scope's response to a round, read in the scope's own transaction.
/// Reading never creates a row.
pub async fn read(
    db: &DatabaseConnection,
    memory: &Memory,
    scope: &KommunScope,
    round: survey_round::Model,
) -> ApiResult<ResponseView> {
    let q = Questionnaire::of(db, memory, &round).await?;
    let txn = scope.begin(db).await?;
    let view = view_with(&txn, scope, round, &q).await?;
    txn.commit().await?;
    Ok(view)
}

/// The scope's response inside a transaction already narrowed to the scope,
/// with the round's questionnaire.
pub(super) async fn view_with(
    db: &impl ConnectionTrait,
    scope: &KommunScope,
    round: survey_round::Model,
    q: &Questionnaire,
) -> ApiResult<ResponseView> {
    let row = response_row(db, scope, round.id).await?;
    let answers = answers(db, scope, round.id, q).await?;
    let required_count = required_count(q, &values_of(&answers));
    Ok(ResponseView {
        scope: scope.clone(),
        round,
        row,
        answers,
        required_count,
    })
}

/// The scope's audit trail in a round, oldest first.
pub async fn history(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round_id: Uuid,
) -> ApiResult<Vec<HistoryEntry>> {
    Ok(history_page(db, scope, round_id, None, None).await?.0)
}

/// A page of the scope's audit trail in a round, oldest first: the entries
/// after the one with id `after`, at most `first` (all without), and
/// whether more follow. An entry's id is its event's; one response's
/// events are written under its row's lock, so their ids follow their
/// commits and paging forward never skips one.
pub async fn history_page(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round_id: Uuid,
    after: Option<i64>,
    first: Option<u64>,
) -> ApiResult<(Vec<HistoryEntry>, bool)> {
    let txn = scope.begin(db).await?;
    let db = &txn;
    let mut select = scope
        .find::<answer_event::Entity>()
        .filter(answer_event::Column::RoundId.eq(round_id))
        .filter(answer_event::Column::Id.gt(after.unwrap_or(0)))
        .order_by_asc(answer_event::Column::Id);
    if let Some(first) = first {
        select = select.limit(first + 1);
    }
    let mut events = select.all(db).await?;
    let more = first.is_some_and(|first| events.len() as u64 > first);
    if let Some(first) = first {
        events.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    }
    let keys: HashMap<Uuid, String> = question::Entity::find()
        .filter(question::Column::RoundId.eq(round_id))
        .select_only()
        .columns([question::Column::Id, question::Column::Key])
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    txn.commit().await?;
    let entries = events
        .into_iter()
        .map(|e| HistoryEntry {
            id: e.id,
            subject: e.subject,
            at: e.at,
            question_key: keys.get(&e.question_id).cloned().unwrap_or_default(),
            before: e.before,
            after: e.after,
        })
        .collect();
    Ok((entries, more))
}
