//! What the municipalities of a round answered, as the indicators every
//! released count sums (for the plan's interval audit,
//! [`crate::disclosure::bounds`]): per maturity area the members at level 2
//! or above (the level-2 count; levels above 2 are counted through the
//! options of the area's question), per option of a choice question the
//! members that chose it, per choice question those that left it
//! unanswered. Process shares and weekly hours are sums of option counts, so
//! they add no indicator of their own.

use std::collections::{BTreeMap, HashMap};

use entity::{QuestionKind, ResponseStatus, answer_option, area, area_score, question, response};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::disclosure::Members;
use crate::error::ApiResult;
use crate::services::sql::statement;

/// One family's part of [`crate::disclosure::Values`]: indicators, one-hot
/// groups, known values.
pub(super) type Parts = (Vec<Members>, Vec<Vec<usize>>, Vec<(usize, Members)>);

/// What a round's respondents answered, for [`crate::disclosure::Values`].
pub(super) struct Answers {
    pub indicators: Vec<Members>,
    /// The level-2 indicators of the maturity areas, and the indicators of
    /// their maturity questions (whose options give the levels).
    pub areas: Vec<usize>,
    /// Per choice question (by key): its options' and "unanswered"
    /// indicators (and a maturity question's area's level-2 indicator).
    pub questions: Vec<(String, Vec<usize>)>,
    /// Single-choice questions: their options' and "unanswered" indicators.
    pub one_hot: Vec<Vec<usize>>,
    /// "Unanswered" of a question everyone is asked: 0 for those SKR sees
    /// have answered every such question (and, for a required one, for the
    /// submitted responses).
    pub known: Vec<(usize, Members)>,
}

/// The indicators of `round` over the municipality numbering `index`,
/// among `respondents`; indicators no one is at 1 in are left out (every
/// count of theirs is 0, which tells each member's value in every cell anyway).
pub(super) async fn indicators(
    db: &impl ConnectionTrait,
    round: Uuid,
    index: &HashMap<String, usize>,
    respondents: &Members,
) -> ApiResult<Answers> {
    // Keyed by stable names (area number, question and option keys), not
    // ids, so that the audit meets values in the same order on every
    // database and plans do not depend on generated ids.
    let mut out: BTreeMap<(u8, String, String), Members> = BTreeMap::new();
    let at = |code: &str| {
        index
            .get(code)
            .copied()
            .filter(|&i| respondents.contains(i))
    };

    let levels: Vec<(String, Uuid, i32)> = area_score::Entity::find()
        .select_only()
        .column(area_score::Column::MunicipalityCode)
        .column(area_score::Column::AreaId)
        .column(area_score::Column::Level)
        .filter(area_score::Column::RoundId.eq(round))
        .into_tuple()
        .all(db)
        .await?;
    let area_keys: HashMap<Uuid, String> = area::Entity::find()
        .filter(area::Column::RoundId.eq(round))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.key))
        .collect();
    let area_key = |id: &Uuid| area_keys.get(id).cloned().unwrap_or_else(|| id.to_string());
    for (code, area, level) in levels {
        if let Some(i) = at(&code).filter(|_| level >= 2) {
            out.entry((0, area_key(&area), String::new()))
                .or_default()
                .insert(i);
        }
    }

    let mut questions = question::Entity::find()
        .filter(question::Column::RoundId.eq(round))
        .all(db)
        .await?;
    questions.sort_by(|a, b| a.key.cmp(&b.key));
    let question_keys: HashMap<Uuid, String> =
        questions.iter().map(|q| (q.id, q.key.clone())).collect();
    let option_keys: HashMap<Uuid, String> = answer_option::Entity::find()
        .filter(answer_option::Column::QuestionId.is_in(questions.iter().map(|q| q.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.key))
        .collect();
    let name = |map: &HashMap<Uuid, String>, id: &Uuid| {
        map.get(id).cloned().unwrap_or_else(|| id.to_string())
    };
    let unconditional: Vec<Uuid> = questions
        .iter()
        .filter(|q| q.condition_question_key.is_none())
        .map(|q| q.id)
        .collect();
    let sql = "SELECT an.municipality_code AS code, an.question_id AS question_id, \
               COALESCE(an.option_id, c.option_id) AS option_id FROM answer an \
               LEFT JOIN answer_choice c ON c.municipality_code = an.municipality_code \
               AND c.round_id = an.round_id AND c.question_id = an.question_id \
               WHERE an.round_id = $1";
    let mut answered: HashMap<Uuid, Members> = HashMap::new();
    for row in db
        .query_all_raw(statement(db, sql, vec![round.into()]))
        .await?
    {
        let code: String = row.try_get("", "code")?;
        let question: Uuid = row.try_get("", "question_id")?;
        let option: Option<Uuid> = row.try_get("", "option_id")?;
        let Some(i) = at(&code) else { continue };
        answered.entry(question).or_default().insert(i);
        if let Some(option) = option {
            let key = (
                1,
                name(&question_keys, &question),
                name(&option_keys, &option),
            );
            out.entry(key).or_default().insert(i);
        }
    }
    // Who has answered every question everyone is asked (SKR sees it).
    let complete: Members = respondents
        .iter()
        .filter(|&i| {
            unconditional
                .iter()
                .all(|q| answered.get(q).is_some_and(|a| a.contains(i)))
        })
        .collect();
    let submitted: Vec<String> = response::Entity::find()
        .select_only()
        .column(response::Column::MunicipalityCode)
        .filter(response::Column::RoundId.eq(round))
        .filter(response::Column::Status.eq(ResponseStatus::Submitted))
        .into_tuple()
        .all(db)
        .await?;
    let submitted: Members = submitted.iter().filter_map(|c| at(c)).collect();
    let choice = |q: &&question::Model| {
        matches!(
            q.kind,
            QuestionKind::SingleChoice | QuestionKind::MultiChoice
        )
    };
    for q in questions.iter().filter(choice) {
        let have = answered.get(&q.id).cloned().unwrap_or_default();
        let left: Members = respondents.iter().filter(|&i| !have.contains(i)).collect();
        if !left.is_empty() {
            out.insert((2, q.key.clone(), String::new()), left);
        }
    }
    let keys: Vec<(u8, String, String)> = out.keys().cloned().collect();
    let position = |key: &(u8, String, String)| keys.iter().position(|k| k == key);
    let mut one_hot = Vec::new();
    let mut known = Vec::new();
    for q in questions.iter().filter(choice) {
        if q.kind == QuestionKind::SingleChoice {
            let group: Vec<usize> = keys
                .iter()
                .enumerate()
                .filter(|(_, (kind, question, _))| *kind > 0 && *question == q.key)
                .map(|(i, _)| i)
                .collect();
            if group.len() > 1 {
                one_hot.push(group);
            }
        }
        if q.condition_question_key.is_none()
            && let Some(i) = position(&(2, q.key.clone(), String::new()))
        {
            let mut told = complete.clone();
            if q.required {
                submitted.iter().for_each(|m| told.insert(m));
            }
            known.push((i, told));
        }
    }
    // A maturity question's counts decide its area's level: the area's
    // level-2 indicator is audited with them, as one question.
    let maturity: Vec<&String> = questions
        .iter()
        .filter(|q| q.maturity)
        .map(|q| &q.key)
        .collect();
    let areas = (0..keys.len())
        .filter(|&i| keys[i].0 == 0 || maturity.contains(&&keys[i].1))
        .collect();
    let questions = questions
        .iter()
        .filter(choice)
        .map(|q| {
            let own = (0..keys.len())
                .filter(|&i| {
                    (keys[i].0 > 0 && keys[i].1 == q.key)
                        || (q.maturity && keys[i] == (0, area_key(&q.area_id), String::new()))
                })
                .collect();
            (q.key.clone(), own)
        })
        .collect();
    Ok(Answers {
        indicators: out.into_values().collect(),
        areas,
        questions,
        one_hot,
        known,
    })
}

impl Answers {
    /// The indicators `chosen`, renumbered, with their one-hot groups and
    /// known values.
    pub fn only(&self, chosen: &[usize]) -> Parts {
        let at = |i: usize| chosen.iter().position(|&c| c == i);
        let indicators = chosen.iter().map(|&i| self.indicators[i].clone()).collect();
        let one_hot = self
            .one_hot
            .iter()
            .filter_map(|g| g.iter().map(|&i| at(i)).collect::<Option<Vec<usize>>>())
            .collect();
        let known = self
            .known
            .iter()
            .filter_map(|(i, m)| at(*i).map(|j| (j, m.clone())))
            .collect();
        (indicators, one_hot, known)
    }
}
