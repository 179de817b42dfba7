//! Writing a plan's responses into a round.

use std::collections::HashMap;

use super::{DEMO_SUBJECT, RoundPlan};

/// Writes a plan's responses, answers, chosen options and audit events into
/// round `round_id` (whose questionnaire has the plan's keys). `audit_value`
/// gives the audit trail's JSON of a chosen option: the API's own, so the
/// trail has one shape. Returns the number of responses written.
pub async fn write(
    db: &impl sea_orm::ConnectionTrait,
    round_id: uuid::Uuid,
    plan: &RoundPlan,
    audit_value: impl Fn(&str) -> String,
) -> Result<usize, sea_orm::DbErr> {
    use entity::{
        QuestionKind, ResponseStatus, answer, answer_choice, answer_event, answer_option, question,
        response,
    };
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

    let questions: HashMap<String, (uuid::Uuid, QuestionKind)> = question::Entity::find()
        .filter(question::Column::RoundId.eq(round_id))
        .all(db)
        .await?
        .into_iter()
        .map(|q| (q.key, (q.id, q.kind)))
        .collect();
    let options: HashMap<(uuid::Uuid, String), uuid::Uuid> = answer_option::Entity::find()
        .filter(answer_option::Column::QuestionId.is_in(questions.values().map(|(id, _)| *id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| ((o.question_id, o.key), o.id))
        .collect();
    let (mut responses, mut answers, mut choices, mut events) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in &plan.responses {
        let code = r.municipality_code.clone();
        let answered = r.answers.len() as i32;
        responses.push(response::ActiveModel {
            municipality_code: Set(code.clone()),
            round_id: Set(round_id),
            status: Set(if r.submitted {
                ResponseStatus::Submitted
            } else {
                ResponseStatus::InProgress
            }),
            version: Set(answered + i32::from(r.submitted)),
            created_at: Set(r.started_at),
            updated_at: Set(Some(r.finished_at)),
            submitted_at: Set(r.submitted.then_some(r.finished_at)),
        });
        for (i, (key, option)) in r.answers.iter().enumerate() {
            let Some((question_id, kind)) = questions.get(key).cloned() else {
                return Err(sea_orm::DbErr::Custom(format!(
                    "demo: round has no question {key}"
                )));
            };
            let Some(option_id) = options.get(&(question_id, option.clone())).copied() else {
                return Err(sea_orm::DbErr::Custom(format!(
                    "demo: question {key} has no option {option}"
                )));
            };
            answers.push(answer::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round_id),
                question_id: Set(question_id),
                // A single choice keeps its option in the answer's row, a
                // multi-choice answer in `answer_choice`.
                option_id: Set((kind == QuestionKind::SingleChoice).then_some(option_id)),
                number_value: Set(None),
                text_value: Set(None),
                updated_at: Set(r.finished_at),
            });
            if kind == QuestionKind::MultiChoice {
                choices.push(answer_choice::ActiveModel {
                    municipality_code: Set(code.clone()),
                    round_id: Set(round_id),
                    question_id: Set(question_id),
                    option_id: Set(option_id),
                });
            }
            events.push(answer_event::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round_id),
                question_id: Set(question_id),
                version: Set(i as i32 + 1),
                subject: Set(DEMO_SUBJECT.into()),
                at: Set(r.finished_at),
                before: Set(None),
                after: Set(Some(audit_value(option))),
                ..Default::default()
            });
        }
    }
    let n = responses.len();
    crate::seed::insert_all(db, responses).await?;
    crate::seed::insert_all(db, answers).await?;
    crate::seed::insert_all(db, choices).await?;
    crate::seed::insert_all(db, events).await?;
    Ok(n)
}
