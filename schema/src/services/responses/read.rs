//! Reading a kommun's response and audit trail, in the kommun's own
//! transaction.

use std::collections::{HashMap, HashSet};

use entity::{QuestionKind, answer, answer_choice, answer_event, question, response, survey_round};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::validate::required_count;
use super::{AnswerValue, HistoryEntry, ResponseView, StoredAnswer};
use crate::error::ApiResult;
use crate::services::questionnaire::Questionnaire;
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

/// The scope's current answers in a round, in questionnaire order.
pub async fn answers(
    db: &impl ConnectionTrait,
    scope: &KommunScope,
    round_id: Uuid,
    q: &Questionnaire,
) -> ApiResult<Vec<StoredAnswer>> {
    let rows = scope
        .find::<answer::Entity>()
        .filter(answer::Column::RoundId.eq(round_id))
        .all(db)
        .await?;
    let choices: Vec<(Uuid, Uuid)> = scope
        .find::<answer_choice::Entity>()
        .filter(answer_choice::Column::RoundId.eq(round_id))
        .select_only()
        .columns([
            answer_choice::Column::QuestionId,
            answer_choice::Column::OptionId,
        ])
        .into_tuple()
        .all(db)
        .await?;
    let mut chosen: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    for (question_id, option_id) in choices {
        chosen.entry(question_id).or_default().insert(option_id);
    }
    let by_question: HashMap<Uuid, answer::Model> =
        rows.into_iter().map(|a| (a.question_id, a)).collect();
    let mut out = Vec::new();
    for question in &q.questions {
        let Some(row) = by_question.get(&question.id) else {
            continue;
        };
        let picked = chosen.get(&question.id);
        let keys: Vec<String> = q
            .options_of(question.id)
            .iter()
            .filter(|o| picked.is_some_and(|p| p.contains(&o.id)))
            .map(|o| o.key.clone())
            .collect();
        let value = match question.kind {
            QuestionKind::SingleChoice => keys.into_iter().next().map(AnswerValue::Choice),
            QuestionKind::MultiChoice => Some(AnswerValue::Choices(keys)),
            QuestionKind::Number => row.number_value.map(AnswerValue::Number),
            QuestionKind::Text => row.text_value.clone().map(AnswerValue::Text),
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
    scope: &KommunScope,
    round: survey_round::Model,
) -> ApiResult<ResponseView> {
    let txn = scope.begin(db).await?;
    let view = view(&txn, scope, round).await?;
    txn.commit().await?;
    Ok(view)
}

/// [`read`] inside a transaction already narrowed to the scope.
pub(super) async fn view(
    db: &impl ConnectionTrait,
    scope: &KommunScope,
    round: survey_round::Model,
) -> ApiResult<ResponseView> {
    let q = Questionnaire::load(db, round.id).await?;
    view_with(db, scope, round, &q).await
}

/// [`view`] with the round's questionnaire already loaded.
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
    let txn = scope.begin(db).await?;
    let db = &txn;
    let events = scope
        .find::<answer_event::Entity>()
        .filter(answer_event::Column::RoundId.eq(round_id))
        .order_by_asc(answer_event::Column::Id)
        .all(db)
        .await?;
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
    Ok(events
        .into_iter()
        .map(|e| HistoryEntry {
            subject: e.subject,
            at: e.at,
            question_key: keys.get(&e.question_id).cloned().unwrap_or_default(),
            before: e.before,
            after: e.after,
        })
        .collect())
}
