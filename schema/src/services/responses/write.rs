//! Writing a kommun's response: saving answers, submitting and reopening,
//! each in one transaction that takes its locks in the documented order
//! ([`begin_write`]).

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use entity::{
    ChangeKind, ResponseStatus, RoundStatus, answer, answer_choice, answer_event, response,
    survey_round,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::read::{answers, values_of, view_with};
use super::validate::{
    Checked, check_changes, check_conditions, check_version, require_open, required_count,
    unanswered_required,
};
use super::{AnswerChange, AnswerValue, ResponseView, StoredAnswer};
use crate::error::{ApiError, ApiResult, retrying};
use crate::services::memory::Memory;
use crate::services::questionnaire::Questionnaire;
use crate::services::{changes, rounds};
use crate::tenancy::{KOMMUN_ROLE, KommunScope};

/// Upserts answers in one transaction: all or nothing. Returns the response.
///
/// The transaction ([`begin_write`]) enters the round's gate and locks the
/// response's row, then reads and checks the version, status and answers inside the
/// lock, so concurrent saves for one municipality apply one after the other
/// and none is lost. It runs few statements whatever the number of answers:
/// the locks, one read of the answers, and one statement each for the
/// response's version, the replaced answers, the new answers, their chosen
/// options and the audit events; the questionnaire comes from memory and
/// the response returned is built from what was written, not read back.
pub async fn save(
    db: &DatabaseConnection,
    memory: &Memory,
    scope: &KommunScope,
    round: survey_round::Model,
    changes: Vec<AnswerChange>,
    expected_version: Option<i32>,
) -> ApiResult<ResponseView> {
    require_open(&round)?;
    let q = Questionnaire::of(db, memory, &round).await?;
    let checked = check_changes(&q, &changes)?;
    retrying(|| save_once(db, scope, round.clone(), &q, &checked, expected_version)).await
}

/// One attempt of [`save`]: the whole transaction.
async fn save_once(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round: survey_round::Model,
    q: &Questionnaire,
    checked: &[Checked<'_>],
    expected_version: Option<i32>,
) -> ApiResult<ResponseView> {
    let (txn, row) = begin_write(db, scope, &round).await?;
    check_version(&row, expected_version)?;
    if row.status == ResponseStatus::Submitted {
        return Err(ApiError::FailedPrecondition(
            "the response is submitted: reopen it before changing answers".into(),
        ));
    }
    let current = answers(&txn, scope, round.id, q).await?;
    let mut values = values_of(&current);
    let mut effective = Vec::new();
    for c in checked {
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
    check_conditions(q, &values)?;
    if effective.is_empty() {
        // Nothing changes: no version, no event, and no row for a response not yet started.
        txn.rollback().await?;
        return Ok(view_of(scope, round, q, row, current, &values, None));
    }
    // Stored with microseconds, as both databases keep them.
    let now = Utc::now().trunc_subsecs(6);
    write(&txn, scope, &round, &row, &effective, now).await?;
    txn.commit().await?;
    let saved = response::Model {
        version: row.version + 1,
        status: ResponseStatus::InProgress,
        updated_at: Some(now),
        ..row
    };
    let changed: Vec<Uuid> = effective.iter().map(|(c, _, _)| c.question.id).collect();
    Ok(view_of(
        scope,
        round,
        q,
        saved,
        current,
        &values,
        Some((&changed, now)),
    ))
}

/// The response as a save left it, in questionnaire order: what reading it
/// back would give (`changed` answers carry the save's time).
fn view_of(
    scope: &KommunScope,
    round: survey_round::Model,
    q: &Questionnaire,
    row: response::Model,
    before: Vec<StoredAnswer>,
    values: &HashMap<String, AnswerValue>,
    changed: Option<(&[Uuid], DateTime<Utc>)>,
) -> ResponseView {
    let stored_at: HashMap<Uuid, DateTime<Utc>> = before
        .iter()
        .map(|a| (a.question_id, a.updated_at))
        .collect();
    let answers = q
        .questions
        .iter()
        .filter_map(|question| {
            let value = values.get(&question.key)?;
            let updated_at = match changed {
                Some((ids, now)) if ids.contains(&question.id) => now,
                _ => *stored_at.get(&question.id)?,
            };
            Some(StoredAnswer {
                question_id: question.id,
                question_key: question.key.clone(),
                value: value.clone(),
                updated_at,
            })
        })
        .collect();
    ResponseView {
        scope: scope.clone(),
        round,
        row: Some(row),
        answers,
        required_count: required_count(q, values),
    }
}

/// Begins a kommun's writing transaction: the round must still be OPEN,
/// and the scope's response row is locked for this transaction, created as
/// NOT_STARTED (version 0) if missing (a created row the transaction does
/// not go on to change is rolled back with it).
///
/// The lock order, as in every transaction on a round: on PostgreSQL the
/// round's gate, shared (a close waits for this write and freezes scores
/// that include it, or this write waits for the close and sees the round
/// closed), with the switch to the municipality ([`KommunScope::enter`]);
/// then its response row (locked, with the round's status read in the same
/// statement; created by the first save). A write never locks the round's
/// row: the gate orders it against transitions. On SQLite the first write
/// takes the database's one write lock.
async fn begin_write(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round: &survey_round::Model,
) -> ApiResult<(DatabaseTransaction, response::Model)> {
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        enter_round(&txn, scope, round).await?;
        // The first save creates the row (two racing first saves: one
        // inserts, the other waits for its lock).
        let locked = match lock_response(&txn, scope, round).await? {
            Some(locked) => locked,
            None => {
                response::Entity::insert(new_response(scope, round))
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
                lock_response(&txn, scope, round)
                    .await?
                    .ok_or(ApiError::Internal)?
            }
        };
        let (row, status) = locked;
        if status != RoundStatus::Open.to_value() {
            return Err(closed(round));
        }
        return Ok((txn, row));
    }
    scope.enter(&txn).await?;
    // Creates the row, or locks it by an update that changes nothing (the
    // database's one write lock is taken here).
    let row = response::Entity::insert(new_response(scope, round))
        .on_conflict(
            OnConflict::columns([
                response::Column::MunicipalityCode,
                response::Column::RoundId,
            ])
            .value(
                response::Column::Version,
                Expr::col((response::Entity, response::Column::Version)),
            )
            .to_owned(),
        )
        .exec_with_returning(&txn)
        .await?;
    still_open(&txn, round).await?;
    Ok((txn, row))
}

/// A response not started yet (version 0).
fn new_response(scope: &KommunScope, round: &survey_round::Model) -> response::ActiveModel {
    response::ActiveModel {
        municipality_code: Set(scope.code().to_owned()),
        round_id: Set(round.id),
        status: Set(ResponseStatus::NotStarted),
        version: Set(0),
        created_at: Set(Utc::now().trunc_subsecs(6)),
        updated_at: Set(None),
        submitted_at: Set(None),
    }
}

type Effective<'a, 'q> = (&'a Checked<'q>, Option<AnswerValue>, Option<AnswerValue>);

/// Writes the changed answers and their events, and raises the version:
/// five statements at most, however many answers changed.
async fn write(
    txn: &DatabaseTransaction,
    scope: &KommunScope,
    round: &survey_round::Model,
    row: &response::Model,
    effective: &[Effective<'_, '_>],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let code = scope.code().to_owned();
    let new_version = row.version + 1;
    let changed: Vec<Uuid> = effective.iter().map(|(c, _, _)| c.question.id).collect();
    if txn.get_database_backend() == DbBackend::Postgres {
        let (sql, values) = written(scope, round, new_version, effective, now);
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
        return Ok(());
    }
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
    // The changed answers go (a multi-choice answer's options with them: ON
    // DELETE CASCADE) and come back with their new values.
    scope
        .delete::<answer::Entity>()
        .filter(answer::Column::RoundId.eq(round.id))
        .filter(answer::Column::QuestionId.is_in(changed))
        .exec(txn)
        .await?;
    let mut answers = Vec::new();
    let mut choices = Vec::new();
    let mut events = Vec::with_capacity(effective.len());
    for (c, before, after) in effective {
        let question_id = c.question.id;
        if let Some((value, _)) = &c.value {
            answers.push(answer::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round.id),
                question_id: Set(question_id),
                option_id: Set(c.own_option()),
                number_value: Set(match value {
                    AnswerValue::Number(n) => Some(*n),
                    _ => None,
                }),
                text_value: Set(match value {
                    AnswerValue::Text(t) => Some(t.clone()),
                    _ => None,
                }),
                updated_at: Set(now),
            });
            choices.extend(
                c.listed_options()
                    .iter()
                    .map(|option_id| answer_choice::ActiveModel {
                        municipality_code: Set(code.clone()),
                        round_id: Set(round.id),
                        question_id: Set(question_id),
                        option_id: Set(*option_id),
                    }),
            );
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
    if !answers.is_empty() {
        answer::Entity::insert_many(answers)
            .exec_without_returning(txn)
            .await?;
    }
    if !choices.is_empty() {
        answer_choice::Entity::insert_many(choices)
            .exec_without_returning(txn)
            .await?;
    }
    answer_event::Entity::insert_many(events)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Numbered placeholders (`$1`, `$2`, …) and their values, for one statement.
#[derive(Default)]
struct Params(Vec<sea_orm::Value>);

impl Params {
    fn add(&mut self, value: impl Into<sea_orm::Value>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }
}

/// On PostgreSQL, the whole write in one statement: the changed answers
/// updated in place or inserted (a single choice's option in its row), the
/// cleared ones deleted, a multi-choice answer's options no longer chosen
/// deleted and the newly chosen inserted, the audit events
/// appended and the response's version raised. No row is touched by two of
/// its parts (the sets are disjoint by construction), and the chosen
/// options' foreign key to their answers is checked at the statement's end.
fn written(
    scope: &KommunScope,
    round: &survey_round::Model,
    new_version: i32,
    effective: &[Effective<'_, '_>],
    now: DateTime<Utc>,
) -> (String, Vec<sea_orm::Value>) {
    let mut p = Params::default();
    let code = p.add(scope.code());
    let round_id = p.add(round.id);
    let at = p.add(now);
    let version = p.add(new_version);
    let subject = p.add(scope.subject());
    let mut answers = Vec::new();
    let mut cleared = Vec::new();
    let mut listed = Vec::new();
    let mut choices = Vec::new();
    let mut pairs = Vec::new();
    let mut events = Vec::new();
    for (c, before, after) in effective {
        let question = p.add(c.question.id);
        if c.is_listed() {
            listed.push(question.clone());
        }
        match &c.value {
            Some((value, _)) => {
                let option = p.add(c.own_option());
                let number = p.add(match value {
                    AnswerValue::Number(n) => Some(*n),
                    _ => None,
                });
                let text = p.add(match value {
                    AnswerValue::Text(t) => Some(t.clone()),
                    _ => None,
                });
                answers.push(format!(
                    "({code}, {round_id}, {question}, {option}, {number}, {text}, {at})"
                ));
                for option in c.listed_options() {
                    let option = p.add(*option);
                    choices.push(format!("({code}, {round_id}, {question}, {option})"));
                    pairs.push(format!("({question}, {option})"));
                }
            }
            None => cleared.push(question.clone()),
        }
        let before = p.add(before.as_ref().map(AnswerValue::to_json));
        let after = p.add(after.as_ref().map(AnswerValue::to_json));
        events.push(format!(
            "({code}, {round_id}, {question}, {version}, {subject}, {at}, {before}, {after})"
        ));
    }
    let status = p.add(ResponseStatus::InProgress.to_value());
    let mut parts = Vec::new();
    if !answers.is_empty() {
        parts.push(format!(
            "saved AS (INSERT INTO answer (municipality_code, round_id, question_id, option_id, number_value, text_value, updated_at) \
             VALUES {} ON CONFLICT (municipality_code, round_id, question_id) DO UPDATE SET \
             option_id = EXCLUDED.option_id, number_value = EXCLUDED.number_value, text_value = EXCLUDED.text_value, updated_at = EXCLUDED.updated_at RETURNING 1)",
            answers.join(", ")
        ));
    }
    if !cleared.is_empty() {
        parts.push(format!(
            "cleared AS (DELETE FROM answer WHERE municipality_code = {code} AND round_id = {round_id} \
             AND question_id IN ({}) RETURNING 1)",
            cleared.join(", ")
        ));
    }
    let kept = if pairs.is_empty() {
        String::new()
    } else {
        format!(
            " AND (question_id, option_id) NOT IN ({})",
            pairs.join(", ")
        )
    };
    if !listed.is_empty() {
        parts.push(format!(
            "unchosen AS (DELETE FROM answer_choice WHERE municipality_code = {code} AND round_id = {round_id} \
             AND question_id IN ({}){kept} RETURNING 1)",
            listed.join(", ")
        ));
    }
    if !choices.is_empty() {
        parts.push(format!(
            "chosen AS (INSERT INTO answer_choice (municipality_code, round_id, question_id, option_id) \
             VALUES {} ON CONFLICT DO NOTHING RETURNING 1)",
            choices.join(", ")
        ));
    }
    parts.push(format!(
        "logged AS (INSERT INTO answer_event (municipality_code, round_id, question_id, version, subject, at, before, after) \
         VALUES {} RETURNING 1)",
        events.join(", ")
    ));
    let sql = format!(
        "WITH {} UPDATE response SET version = {version}, status = {status}, updated_at = {at} \
         WHERE municipality_code = {code} AND round_id = {round_id}",
        parts.join(", ")
    );
    (sql, p.0)
}

/// On PostgreSQL, the first step of the lock order and the switch to the
/// kommun's role and municipality ([`KommunScope::enter`]) in one
/// statement: the round's gate, shared. A transition holds the gate
/// exclusively until it commits, so every statement after this one sees the
/// round's status as it is (the next statement reads it with the response's
/// lock); the round's row itself is not locked by a write (many writers
/// share-locking one row would make PostgreSQL track them as a multixact).
async fn enter_round(
    txn: &DatabaseTransaction,
    scope: &KommunScope,
    round: &survey_round::Model,
) -> ApiResult<()> {
    txn.query_one_raw(sea_orm::Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock_shared($1), set_config('role', $2, true), \
         set_config('mognad.kommun', $3, true)",
        [
            rounds::gate_key(round.id).into(),
            KOMMUN_ROLE.into(),
            scope.code().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// On PostgreSQL, inside the gate: the scope's response row, locked without
/// writing a new version of it, and the round's status now.
async fn lock_response(
    txn: &DatabaseTransaction,
    scope: &KommunScope,
    round: &survey_round::Model,
) -> ApiResult<Option<(response::Model, String)>> {
    const SQL: &str = "\
        SELECT r.municipality_code, r.round_id, r.status, r.version, r.created_at, r.updated_at, \
        r.submitted_at, (SELECT s.status FROM survey_round s WHERE s.id = r.round_id) AS round_status \
        FROM response r WHERE r.municipality_code = $1 AND r.round_id = $2 FOR NO KEY UPDATE OF r";
    let row = txn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            SQL,
            [scope.code().into(), round.id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let model = response::Model::from_query_result(&row, "")?;
    Ok(Some((model, row.try_get("", "round_status")?)))
}

fn closed(round: &survey_round::Model) -> ApiError {
    ApiError::FailedPrecondition(format!(
        "round {} is no longer OPEN: nothing was written",
        round.year
    ))
}

/// On SQLite, inside a writing transaction that holds the database's write
/// lock: the round must still be OPEN (PostgreSQL reads the status with the
/// response's lock, see [`lock_response`]).
async fn still_open(txn: &DatabaseTransaction, round: &survey_round::Model) -> ApiResult<()> {
    let status = survey_round::Entity::find_by_id(round.id)
        .one(txn)
        .await?
        .map(|r| r.status);
    if status == Some(RoundStatus::Open) {
        Ok(())
    } else {
        Err(closed(round))
    }
}

/// Marks the response submitted once every required (asked) question is answered.
pub async fn submit(
    db: &DatabaseConnection,
    memory: &Memory,
    scope: &KommunScope,
    round: survey_round::Model,
    expected_version: Option<i32>,
) -> ApiResult<ResponseView> {
    require_open(&round)?;
    let q = Questionnaire::of(db, memory, &round).await?;
    retrying(|| submit_once(db, scope, round.clone(), &q, expected_version)).await
}

/// One attempt of [`submit`].
async fn submit_once(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round: survey_round::Model,
    q: &Questionnaire,
    expected_version: Option<i32>,
) -> ApiResult<ResponseView> {
    let (txn, row) = begin_write(db, scope, &round).await?;
    check_version(&row, expected_version)?;
    if row.status == ResponseStatus::Submitted {
        return Err(ApiError::FailedPrecondition(
            "the response is already submitted".into(),
        ));
    }
    let current = answers(&txn, scope, round.id, q).await?;
    let missing = unanswered_required(q, &values_of(&current));
    if !missing.is_empty() {
        let message = format!("required questions are unanswered: {}", missing.join(", "));
        let keys = missing.iter().map(ToString::to_string).collect();
        return Err(ApiError::bad_input(message).listing("missing", keys));
    }
    changes::throttle(&txn, scope, round.id).await?;
    set_status(&txn, scope, &round, &row, ResponseStatus::Submitted).await?;
    let round_id = round.id;
    let submitted = view_with(&txn, scope, round, q).await?;
    changes::record(&txn, ChangeKind::ResponseSubmitted, round_id, Some(scope)).await?;
    txn.commit().await?;
    Ok(submitted)
}

/// Takes a submitted response back to IN_PROGRESS so it can be changed.
pub async fn reopen(
    db: &DatabaseConnection,
    memory: &Memory,
    scope: &KommunScope,
    round: survey_round::Model,
) -> ApiResult<ResponseView> {
    require_open(&round)?;
    let q = Questionnaire::of(db, memory, &round).await?;
    retrying(|| reopen_once(db, scope, round.clone(), &q)).await
}

/// One attempt of [`reopen`].
async fn reopen_once(
    db: &DatabaseConnection,
    scope: &KommunScope,
    round: survey_round::Model,
    q: &Questionnaire,
) -> ApiResult<ResponseView> {
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
    changes::throttle(&txn, scope, round.id).await?;
    set_status(&txn, scope, &round, &row, ResponseStatus::InProgress).await?;
    let round_id = round.id;
    let reopened = view_with(&txn, scope, round, q).await?;
    changes::record(&txn, ChangeKind::ResponseReopened, round_id, Some(scope)).await?;
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
