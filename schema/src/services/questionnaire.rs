//! Batched loads of a round's questionnaire: one query per level (areas,
//! questions, options) however many rounds, areas or questions are asked for.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{RoundStatus, answer_option, area, question, survey_round};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::ApiError;
use crate::services::memo::{cached, remember};
use crate::services::memory::Memory;

/// Groups rows by a key, keeping their order.
fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut map: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

/// Areas of rounds, by round id, in questionnaire order.
pub struct AreasByRound(pub DatabaseConnection);

impl Loader<Uuid> for AreasByRound {
    type Value = Vec<area::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = area::Entity::find()
            .filter(area::Column::RoundId.is_in(keys.iter().copied()))
            .order_by_asc(area::Column::Position)
            .all(&self.0)
            .await?;
        Ok(group(rows, |a| a.round_id))
    }
}

/// Questions of areas, by area id, in questionnaire order.
pub struct QuestionsByArea(pub DatabaseConnection);

impl Loader<Uuid> for QuestionsByArea {
    type Value = Vec<question::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = question::Entity::find()
            .filter(question::Column::AreaId.is_in(keys.iter().copied()))
            .order_by_asc(question::Column::Position)
            .all(&self.0)
            .await?;
        Ok(group(rows, |q| q.area_id))
    }
}

/// Options of questions, by question id, in the question's order.
pub struct OptionsByQuestion(pub DatabaseConnection);

impl Loader<Uuid> for OptionsByQuestion {
    type Value = Vec<answer_option::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = answer_option::Entity::find()
            .filter(answer_option::Column::QuestionId.is_in(keys.iter().copied()))
            .order_by_asc(answer_option::Column::Position)
            .all(&self.0)
            .await?;
        Ok(group(rows, |o| o.question_id))
    }
}

/// Rounds by id (for `baseline`).
pub struct RoundById(pub DatabaseConnection);

impl Loader<Uuid> for RoundById {
    type Value = survey_round::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = survey_round::Entity::find()
            .filter(survey_round::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// One round's whole questionnaire in memory, for validating and reading answers.
#[derive(Clone, Debug)]
pub struct Questionnaire {
    pub areas: Vec<area::Model>,
    /// In questionnaire order.
    pub questions: Vec<question::Model>,
    /// Options per question id, in the question's order.
    pub options: HashMap<Uuid, Vec<answer_option::Model>>,
    /// The conditions of conditional questions, by question id, parsed once.
    pub conditions: HashMap<Uuid, Condition>,
}

/// A question is asked only when another question's answer is one of `options`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub question_key: String,
    pub option_keys: Vec<String>,
}

/// A question's condition, from its stored columns (the option keys are a JSON array).
pub fn condition(question: &question::Model) -> Option<Condition> {
    let question_key = question.condition_question_key.clone()?;
    let option_keys = question
        .condition_option_keys
        .as_deref()
        .and_then(|keys| serde_json::from_str(keys).ok())
        .unwrap_or_default();
    Some(Condition {
        question_key,
        option_keys,
    })
}

impl Questionnaire {
    /// Loads a round's areas, questions and options in three queries.
    pub async fn load(
        db: &impl sea_orm::ConnectionTrait,
        round_id: Uuid,
    ) -> Result<Self, ApiError> {
        let areas = area::Entity::find()
            .filter(area::Column::RoundId.eq(round_id))
            .order_by_asc(area::Column::Position)
            .all(db)
            .await?;
        let mut questions = question::Entity::find()
            .filter(question::Column::RoundId.eq(round_id))
            .order_by_asc(question::Column::Position)
            .all(db)
            .await?;
        let area_pos: HashMap<Uuid, i32> = areas.iter().map(|a| (a.id, a.position)).collect();
        questions.sort_by_key(|q| {
            (
                area_pos.get(&q.area_id).copied().unwrap_or(i32::MAX),
                q.position,
            )
        });
        let options = answer_option::Entity::find()
            .filter(answer_option::Column::QuestionId.is_in(questions.iter().map(|q| q.id)))
            .order_by_asc(answer_option::Column::Position)
            .all(db)
            .await?;
        let conditions = questions
            .iter()
            .filter_map(|q| Some((q.id, condition(q)?)))
            .collect();
        Ok(Self {
            areas,
            questions,
            options: group(options, |o| o.question_id),
            conditions,
        })
    }

    /// A round's questionnaire: from memory once the round has left DRAFT
    /// (it is locked then), read now while it is DRAFT.
    pub async fn of(
        db: &impl sea_orm::ConnectionTrait,
        memory: &Memory,
        round: &survey_round::Model,
    ) -> Result<Arc<Self>, ApiError> {
        if round.status == RoundStatus::Draft {
            return Ok(Arc::new(Self::load(db, round.id).await?));
        }
        if let Some(q) = cached(&memory.questionnaires, &round.id) {
            return Ok(q);
        }
        let since = memory.since();
        let q = Self::load(db, round.id).await?;
        Ok(remember(&memory.questionnaires, since, round.id, q))
    }

    /// The maturity areas (those with a number 1..9), in number order.
    pub fn maturity_areas(&self) -> Vec<area::Model> {
        let mut areas: Vec<area::Model> = self
            .areas
            .iter()
            .filter(|a| a.number.is_some())
            .cloned()
            .collect();
        areas.sort_by_key(|a| a.number);
        areas
    }

    pub fn question_by_key(&self, key: &str) -> Option<&question::Model> {
        self.questions.iter().find(|q| q.key == key)
    }

    pub fn options_of(&self, question_id: Uuid) -> &[answer_option::Model] {
        self.options
            .get(&question_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}
