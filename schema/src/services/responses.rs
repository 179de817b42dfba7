//! A kommun's own response: reading, saving answers (all or nothing, with
//! optimistic versioning and an append-only audit trail), submitting and
//! reopening. Every function takes a [`KommunScope`]: there is no way to name
//! another municipality.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{
    QuestionKind, ResponseStatus, RoundStatus, answer, answer_choice, answer_event, question,
    response, survey_round,
};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::services::questionnaire::Questionnaire;
use crate::tenancy::KommunScope;

/// Longest TEXT answer where the question sets no limit, in characters.
pub const DEFAULT_TEXT_LIMIT: usize = 2000;

/// An answer's value, as clients send it and as the audit trail records it
/// (`{"choice":"yes"}`, `{"choices":[…]}`, `{"number":3}`, `{"text":"…"}`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerValue {
    Choice(String),
    Choices(Vec<String>),
    Number(f64),
    Text(String),
}

impl AnswerValue {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The chosen option keys (empty for numbers and text).
    pub fn choices(&self) -> Vec<String> {
        match self {
            Self::Choice(c) => vec![c.clone()],
            Self::Choices(c) => c.clone(),
            _ => Vec::new(),
        }
    }
}

/// One requested change: `value: None` clears the answer.
#[derive(Clone, Debug)]
pub struct AnswerChange {
    pub question_key: String,
    pub value: Option<AnswerValue>,
}

/// A stored answer.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredAnswer {
    pub question_id: Uuid,
    pub question_key: String,
    pub value: AnswerValue,
    pub updated_at: DateTime<Utc>,
}

/// A response as the kommun sees it; `row` is `None` before the first save.
#[derive(Clone, Debug)]
pub struct ResponseView {
    pub scope: KommunScope,
    pub round: survey_round::Model,
    pub row: Option<response::Model>,
    pub answers: Vec<StoredAnswer>,
    pub required_count: i32,
}

impl ResponseView {
    pub fn status(&self) -> ResponseStatus {
        self.row
            .as_ref()
            .map_or(ResponseStatus::NotStarted, |r| r.status)
    }

    pub fn version(&self) -> i32 {
        self.row.as_ref().map_or(0, |r| r.version)
    }
}

/// One audit event.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    pub subject: String,
    pub at: DateTime<Utc>,
    pub question_key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

async fn response_row(
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

/// Whether a question is asked, given the answers (its condition holds).
fn asked(question: &question::Model, values: &HashMap<String, AnswerValue>) -> bool {
    let Some(on) = &question.condition_question_key else {
        return true;
    };
    let wanted: Vec<String> = question
        .condition_option_keys
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    values
        .get(on)
        .is_some_and(|v| v.choices().iter().any(|c| wanted.contains(c)))
}

/// Required questions that are asked and not answered, in questionnaire order.
fn unanswered_required(q: &Questionnaire, values: &HashMap<String, AnswerValue>) -> Vec<String> {
    q.questions
        .iter()
        .filter(|question| {
            question.required && asked(question, values) && !values.contains_key(&question.key)
        })
        .map(|question| question.key.clone())
        .collect()
}

fn required_count(q: &Questionnaire, values: &HashMap<String, AnswerValue>) -> i32 {
    q.questions
        .iter()
        .filter(|question| question.required && asked(question, values))
        .count() as i32
}

fn values_of(answers: &[StoredAnswer]) -> HashMap<String, AnswerValue> {
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
async fn view(
    db: &impl ConnectionTrait,
    scope: &KommunScope,
    round: survey_round::Model,
) -> ApiResult<ResponseView> {
    let q = Questionnaire::load(db, round.id).await?;
    view_with(db, scope, round, &q).await
}

/// [`view`] with the round's questionnaire already loaded.
async fn view_with(
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

fn require_open(round: &survey_round::Model) -> ApiResult<()> {
    if round.status == RoundStatus::Open {
        Ok(())
    } else {
        Err(ApiError::FailedPrecondition(format!(
            "round {} is {:?}, not OPEN: answers can no longer be changed",
            round.year, round.status
        )))
    }
}

/// A validated change: the question and the new value with its option ids.
struct Checked<'q> {
    question: &'q question::Model,
    value: Option<(AnswerValue, Vec<Uuid>)>,
}

fn check_value<'q>(
    q: &'q Questionnaire,
    question: &'q question::Model,
    value: &AnswerValue,
) -> ApiResult<Vec<Uuid>> {
    let key = &question.key;
    let option_id = |choice: &str| {
        q.options_of(question.id)
            .iter()
            .find(|o| o.key == choice)
            .map(|o| o.id)
            .ok_or_else(|| {
                ApiError::bad_input(format!(
                    "question {key}: {choice:?} is not one of its options"
                ))
            })
    };
    match (question.kind, value) {
        (QuestionKind::SingleChoice, AnswerValue::Choice(c)) => Ok(vec![option_id(c)?]),
        (QuestionKind::MultiChoice, AnswerValue::Choices(cs)) => {
            if cs.is_empty() {
                return Err(ApiError::bad_input(format!(
                    "question {key}: choose at least one option (send value: null to clear the answer)"
                )));
            }
            let mut seen = HashSet::new();
            cs.iter()
                .map(|c| {
                    if !seen.insert(c) {
                        return Err(ApiError::bad_input(format!(
                            "question {key}: option {c:?} is chosen twice"
                        )));
                    }
                    option_id(c)
                })
                .collect()
        }
        (QuestionKind::Number, AnswerValue::Number(n)) => {
            let below = question.min_number.is_some_and(|min| *n < min);
            let above = question.max_number.is_some_and(|max| *n > max);
            if !n.is_finite() || below || above {
                let range = match (question.min_number, question.max_number) {
                    (Some(a), Some(b)) => format!("from {a} to {b}"),
                    (Some(a), None) => format!("at least {a}"),
                    (None, Some(b)) => format!("at most {b}"),
                    (None, None) => "a finite number".into(),
                };
                return Err(ApiError::bad_input(format!(
                    "question {key}: {n} is out of range ({range})"
                )));
            }
            Ok(Vec::new())
        }
        (QuestionKind::Text, AnswerValue::Text(t)) => {
            let limit = question
                .max_length
                .map_or(DEFAULT_TEXT_LIMIT, |l| usize::try_from(l).unwrap_or(0));
            let len = t.chars().count();
            if len > limit {
                return Err(ApiError::bad_input(format!(
                    "question {key}: the text has {len} characters; at most {limit} are allowed"
                )));
            }
            Ok(Vec::new())
        }
        (kind, _) => {
            let wanted = match kind {
                QuestionKind::SingleChoice => "choice",
                QuestionKind::MultiChoice => "choices",
                QuestionKind::Number => "number",
                QuestionKind::Text => "text",
            };
            Err(ApiError::bad_input(format!(
                "question {key}: wrong kind of answer; this question takes `{wanted}`"
            )))
        }
    }
}

/// Validates every change against the questionnaire; the first bad one refuses all.
fn check_changes<'q>(
    q: &'q Questionnaire,
    changes: &[AnswerChange],
) -> ApiResult<Vec<Checked<'q>>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        let key = &change.question_key;
        let question = q.question_by_key(key).ok_or_else(|| {
            ApiError::bad_input(format!("question {key}: no such question in this round"))
        })?;
        if !seen.insert(key.as_str()) {
            return Err(ApiError::bad_input(format!(
                "question {key}: answered more than once in one call"
            )));
        }
        let value = match &change.value {
            None => None,
            Some(v) => Some((v.clone(), check_value(q, question, v)?)),
        };
        out.push(Checked { question, value });
    }
    Ok(out)
}

/// Upserts answers in one transaction: all or nothing. Returns the response.
///
/// The transaction ([`begin_write`]) locks the round's and the response's
/// rows, then reads and checks the version, status and answers inside the
/// lock, so concurrent saves for one municipality apply one after the other
/// and none is lost.
pub async fn save(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round: survey_round::Model,
    changes: Vec<AnswerChange>,
    expected_version: Option<i32>,
) -> ApiResult<ResponseView> {
    require_open(&round)?;
    let q = Questionnaire::load(db, round.id).await?;
    let checked = check_changes(&q, &changes)?;
    let (txn, row) = begin_write(db, scope, &round).await?;
    check_version(&row, expected_version)?;
    if row.status == ResponseStatus::Submitted {
        return Err(ApiError::FailedPrecondition(
            "the response is submitted: reopen it before changing answers".into(),
        ));
    }
    let current = answers(&txn, scope, round.id, &q).await?;
    let mut values = values_of(&current);
    let mut effective = Vec::new();
    for c in &checked {
        let before = values.get(&c.question.key).cloned();
        let after = c.value.as_ref().map(|(v, _)| v.clone());
        if before == after {
            continue;
        }
        match &after {
            Some(v) => values.insert(c.question.key.clone(), v.clone()),
            None => values.remove(&c.question.key),
        };
        effective.push((c, before, after));
    }
    check_conditions(&q, &values)?;
    if effective.is_empty() {
        // Nothing changes: no version, no event, and no row for a response not yet started.
        let unchanged = view_with(&txn, scope, round, &q).await?;
        txn.rollback().await?;
        return Ok(unchanged);
    }
    write(&txn, scope, &round, &row, &effective).await?;
    // Read back inside the transaction: the response exactly as this call left it.
    let saved = view_with(&txn, scope, round, &q).await?;
    txn.commit().await?;
    Ok(saved)
}

fn check_version(row: &response::Model, expected: Option<i32>) -> ApiResult<()> {
    match expected {
        Some(expected) if expected != row.version => Err(ApiError::Conflict(format!(
            "the response is at version {}, not {expected}: read it again and retry",
            row.version
        ))),
        _ => Ok(()),
    }
}

/// Begins a kommun's writing transaction: the round must still be OPEN,
/// and the scope's response row is locked for this transaction, created as
/// NOT_STARTED (version 0) if missing (a created row the transaction does
/// not go on to change is rolled back with it).
///
/// The lock order, as in every transaction on a round: on PostgreSQL the
/// round's row first, shared (a close waits for this write and freezes
/// scores that include it, or this write waits for the close and sees the
/// round closed); then the transaction is narrowed to the municipality
/// ([`KommunScope::enter`]) and its response row is locked. On SQLite the
/// first write takes the database's one write lock.
async fn begin_write(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round: &survey_round::Model,
) -> ApiResult<(DatabaseTransaction, response::Model)> {
    let txn = db.begin().await?;
    let postgres = txn.get_database_backend() == DbBackend::Postgres;
    if postgres {
        still_open(&txn, round).await?;
    }
    scope.enter(&txn).await?;
    response::Entity::insert(response::ActiveModel {
        municipality_code: Set(scope.code().to_owned()),
        round_id: Set(round.id),
        status: Set(ResponseStatus::NotStarted),
        version: Set(0),
        created_at: Set(Utc::now()),
        updated_at: Set(None),
        submitted_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([
            response::Column::MunicipalityCode,
            response::Column::RoundId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let mut query = scope
        .find::<response::Entity>()
        .filter(response::Column::RoundId.eq(round.id));
    if postgres {
        query = query.lock_exclusive();
    }
    let row = query.one(&txn).await?.ok_or(ApiError::Internal)?;
    if !postgres {
        still_open(&txn, round).await?;
    }
    Ok((txn, row))
}

/// Every answered question must be asked (its condition must hold).
fn check_conditions(q: &Questionnaire, values: &HashMap<String, AnswerValue>) -> ApiResult<()> {
    for question in &q.questions {
        if values.contains_key(&question.key) && !asked(question, values) {
            let on = question
                .condition_question_key
                .as_deref()
                .unwrap_or_default();
            let wanted = question.condition_option_keys.as_deref().unwrap_or("[]");
            return Err(ApiError::bad_input(format!(
                "question {}: asked only when {on} is answered with one of {wanted}; answer {on} first or clear {}",
                question.key, question.key
            )));
        }
    }
    Ok(())
}

type Effective<'a, 'q> = (&'a Checked<'q>, Option<AnswerValue>, Option<AnswerValue>);

/// Writes the changed answers and their events, and raises the version.
async fn write(
    txn: &DatabaseTransaction,
    scope: &KommunScope,
    round: &survey_round::Model,
    row: &response::Model,
    effective: &[Effective<'_, '_>],
) -> ApiResult<()> {
    let now = Utc::now();
    let code = scope.code().to_owned();
    let new_version = row.version + 1;
    scope
        .update::<response::Entity>()
        .col_expr(response::Column::Version, Expr::value(new_version))
        .col_expr(
            response::Column::Status,
            Expr::value(ResponseStatus::InProgress),
        )
        .col_expr(response::Column::UpdatedAt, Expr::value(now))
        .filter(response::Column::RoundId.eq(round.id))
        .exec(txn)
        .await?;
    let mut events = Vec::with_capacity(effective.len());
    for (c, before, after) in effective {
        let question_id = c.question.id;
        scope
            .delete::<answer_choice::Entity>()
            .filter(answer_choice::Column::RoundId.eq(round.id))
            .filter(answer_choice::Column::QuestionId.eq(question_id))
            .exec(txn)
            .await?;
        scope
            .delete::<answer::Entity>()
            .filter(answer::Column::RoundId.eq(round.id))
            .filter(answer::Column::QuestionId.eq(question_id))
            .exec(txn)
            .await?;
        if let Some((value, option_ids)) = &c.value {
            answer::Entity::insert(answer::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round.id),
                question_id: Set(question_id),
                number_value: Set(match value {
                    AnswerValue::Number(n) => Some(*n),
                    _ => None,
                }),
                text_value: Set(match value {
                    AnswerValue::Text(t) => Some(t.clone()),
                    _ => None,
                }),
                updated_at: Set(now),
            })
            .exec_without_returning(txn)
            .await?;
            if !option_ids.is_empty() {
                answer_choice::Entity::insert_many(option_ids.iter().map(|option_id| {
                    answer_choice::ActiveModel {
                        municipality_code: Set(code.clone()),
                        round_id: Set(round.id),
                        question_id: Set(question_id),
                        option_id: Set(*option_id),
                    }
                }))
                .exec_without_returning(txn)
                .await?;
            }
        }
        events.push(answer_event::ActiveModel {
            municipality_code: Set(code.clone()),
            round_id: Set(round.id),
            question_id: Set(question_id),
            version: Set(new_version),
            subject: Set(scope.subject().to_owned()),
            at: Set(now),
            before: Set(before.as_ref().map(AnswerValue::to_json)),
            after: Set(after.as_ref().map(AnswerValue::to_json)),
            ..Default::default()
        });
    }
    answer_event::Entity::insert_many(events)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Inside a writing transaction: the round must still be OPEN. On
/// PostgreSQL its row is share-locked until the transaction ends.
async fn still_open(txn: &DatabaseTransaction, round: &survey_round::Model) -> ApiResult<()> {
    let mut query = survey_round::Entity::find_by_id(round.id);
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_shared();
    }
    let status = query.one(txn).await?.map(|r| r.status);
    if status == Some(RoundStatus::Open) {
        Ok(())
    } else {
        Err(ApiError::FailedPrecondition(format!(
            "round {} is no longer OPEN: nothing was written",
            round.year
        )))
    }
}

/// Marks the response submitted once every required (asked) question is answered.
pub async fn submit(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round: survey_round::Model,
    expected_version: Option<i32>,
) -> ApiResult<ResponseView> {
    require_open(&round)?;
    let q = Questionnaire::load(db, round.id).await?;
    let (txn, row) = begin_write(db, scope, &round).await?;
    check_version(&row, expected_version)?;
    if row.status == ResponseStatus::Submitted {
        return Err(ApiError::FailedPrecondition(
            "the response is already submitted".into(),
        ));
    }
    let current = answers(&txn, scope, round.id, &q).await?;
    let missing = unanswered_required(&q, &values_of(&current));
    if !missing.is_empty() {
        return Err(ApiError::bad_input(format!(
            "required questions are unanswered: {}",
            missing.join(", ")
        )));
    }
    set_status(&txn, scope, &round, &row, ResponseStatus::Submitted).await?;
    let submitted = view_with(&txn, scope, round, &q).await?;
    txn.commit().await?;
    Ok(submitted)
}

/// Takes a submitted response back to IN_PROGRESS so it can be changed.
pub async fn reopen(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round: survey_round::Model,
) -> ApiResult<ResponseView> {
    require_open(&round)?;
    let (txn, row) = begin_write(db, scope, &round).await?;
    if row.status != ResponseStatus::Submitted {
        let status = if row.version == 0 {
            ResponseStatus::NotStarted
        } else {
            row.status
        };
        return Err(ApiError::FailedPrecondition(format!(
            "only a submitted response can be reopened; this one is {}",
            status.to_value()
        )));
    }
    set_status(&txn, scope, &round, &row, ResponseStatus::InProgress).await?;
    let reopened = view(&txn, scope, round).await?;
    txn.commit().await?;
    Ok(reopened)
}

/// Inside the locked transaction: a new status, and the version raised by one.
async fn set_status(
    txn: &DatabaseTransaction,
    scope: &KommunScope,
    round: &survey_round::Model,
    row: &response::Model,
    to: ResponseStatus,
) -> ApiResult<()> {
    let now = Utc::now();
    scope
        .update::<response::Entity>()
        .col_expr(response::Column::Version, Expr::value(row.version + 1))
        .col_expr(response::Column::Status, Expr::value(to))
        .col_expr(response::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            response::Column::SubmittedAt,
            Expr::value(if to == ResponseStatus::Submitted {
                Some(now)
            } else {
                None
            }),
        )
        .filter(response::Column::RoundId.eq(round.id))
        .exec(txn)
        .await?;
    tracing::info!(
        kommun = scope.code(),
        subject = scope.subject(),
        round = round.year,
        status = to.to_value(),
        "response status changed"
    );
    Ok(())
}
