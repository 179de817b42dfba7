//! Questionnaire authoring for SKR admins (`upsertArea`, `removeArea`,
//! `upsertQuestion`, `removeQuestion`) and the mapping of a round onto its
//! baseline. The rules live in [`crate::services::authoring`] and
//! [`crate::services::mapping`].

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use sea_orm::DatabaseConnection;

use crate::policy::{self, Needs};
use crate::principal::Principal;
use crate::services::authoring::{self, AreaEdit, OptionEdit, QuestionEdit};
use crate::services::mapping::{Mapping, QuestionLink};
use crate::services::questionnaire::Condition;
use crate::types::round::{QuestionKind, SurveyRound};

/// An area to add or change (by key).
#[derive(InputObject, Clone, Debug)]
pub struct AreaInput {
    /// Stable across rounds: 1 to 64 of a-z, 0-9 and _.
    pub key: String,
    /// 1..99 for a maturity area (unique in the round), null for an area without a maturity score.
    pub number: Option<i32>,
    /// The title in Swedish (1 to 200 characters), as `Area.title` shows it.
    pub title: Option<String>,
    /// The old name of `title`.
    #[graphql(
        deprecation = "use `title` (the name `Area` shows it by); kept until the next release"
    )]
    pub title_sv: Option<String>,
    /// The title in English (1 to 200 characters).
    pub title_en: String,
    /// 1-based place among the areas; null keeps an area where it is and puts a new one last.
    pub position: Option<i32>,
}

/// When a question is asked: after one of these answers to another question.
#[derive(InputObject, Clone, Debug)]
pub struct ConditionInput {
    /// A choice question of the same round.
    pub question_key: String,
    /// Options of that question (at least one).
    pub option_keys: Vec<String>,
}

/// One option of a choice question.
#[derive(InputObject, Clone, Debug)]
pub struct OptionInput {
    /// Unique within the question: 1 to 64 of a-z, 0-9 and _.
    pub key: String,
    /// The label in Swedish (1 to 500 characters), as `AnswerOption.label` shows it.
    pub label: Option<String>,
    /// The old name of `label`.
    #[graphql(
        deprecation = "use `label` (the name `AnswerOption` shows it by); kept until the next release"
    )]
    pub label_sv: Option<String>,
    /// The label in English (1 to 500 characters).
    pub label_en: String,
    /// 1..4 on every option of a maturity question; null elsewhere.
    pub maturity_level: Option<i32>,
    /// The option says "Ja" (an established process; `processShare` counts these).
    #[graphql(default)]
    pub affirmative: bool,
    /// For an hours-per-week span: its lower bound (0..168).
    pub hours_from: Option<f64>,
    /// For an hours-per-week span: its upper bound (hoursFrom..168).
    pub hours_to: Option<f64>,
    /// The option of the predecessor question this one continues; null: the one with the same key, if any.
    pub predecessor_key: Option<String>,
}

/// A question to add or replace (by key), with all its options.
#[derive(InputObject, Clone, Debug)]
pub struct QuestionInput {
    /// Unique in the round and stable across rounds: 1 to 64 of a-z, 0-9 and _.
    pub key: String,
    /// The area the question belongs to.
    pub area_key: String,
    /// The question in Swedish (1 to 2000 characters), as `Question.text` shows it.
    pub text: Option<String>,
    /// The old name of `text`.
    #[graphql(
        deprecation = "use `text` (the name `Question` shows it by); kept until the next release"
    )]
    pub text_sv: Option<String>,
    /// The question in English (1 to 2000 characters).
    pub text_en: String,
    /// How the question is answered.
    pub kind: QuestionKind,
    /// Must be answered before a response is submitted (when its condition holds).
    #[graphql(default)]
    pub required: bool,
    /// The answer sets the level of its (numbered) area: SINGLE_CHOICE, one per area, every option with a level.
    #[graphql(default)]
    pub maturity: bool,
    /// 1-based place among the area's questions; null keeps a question where it is and puts a new (or moved) one last.
    pub position: Option<i32>,
    /// Asked only after one of these answers to another question.
    pub condition: Option<ConditionInput>,
    /// Smallest accepted answer of a NUMBER question.
    pub min_number: Option<f64>,
    /// Largest accepted answer of a NUMBER question.
    pub max_number: Option<f64>,
    /// Longest accepted answer of a TEXT question (1 to 100000 characters).
    pub max_length: Option<i32>,
    /// The baseline round's question this one continues; null: the one with the same key, if any.
    pub predecessor_key: Option<String>,
    /// The options of a choice question in order (at least two); empty for NUMBER and TEXT.
    #[graphql(default)]
    pub options: Vec<OptionInput>,
}

/// A Swedish text given by its name (`name`) or its old one (`old`): one of
/// them, or both alike.
fn swedish(
    name: &str,
    old: &str,
    given: Option<String>,
    by_old_name: Option<String>,
) -> crate::ApiResult<String> {
    match (given, by_old_name) {
        (Some(a), Some(b)) if a != b => Err(crate::ApiError::bad_input(format!(
            "give `{name}` once: `{old}` is its old name, and the two differ"
        ))),
        (Some(text), _) | (None, Some(text)) => Ok(text),
        (None, None) => Err(crate::ApiError::bad_input(format!(
            "`{name}` (the Swedish text) is required"
        ))),
    }
}

impl TryFrom<AreaInput> for AreaEdit {
    type Error = crate::ApiError;

    fn try_from(a: AreaInput) -> crate::ApiResult<Self> {
        Ok(Self {
            title_sv: swedish("title", "titleSv", a.title, a.title_sv)?,
            key: a.key,
            number: a.number,
            title_en: a.title_en,
            position: a.position,
        })
    }
}

impl TryFrom<QuestionInput> for QuestionEdit {
    type Error = crate::ApiError;

    fn try_from(q: QuestionInput) -> crate::ApiResult<Self> {
        let options = q
            .options
            .into_iter()
            .map(|o| {
                Ok(OptionEdit {
                    label_sv: swedish("label", "labelSv", o.label, o.label_sv)?,
                    key: o.key,
                    label_en: o.label_en,
                    maturity_level: o.maturity_level,
                    affirmative: o.affirmative,
                    hours_from: o.hours_from,
                    hours_to: o.hours_to,
                    predecessor_key: o.predecessor_key,
                })
            })
            .collect::<crate::ApiResult<Vec<_>>>()?;
        Ok(Self {
            text_sv: swedish("text", "textSv", q.text, q.text_sv)?,
            options,
            key: q.key,
            area_key: q.area_key,
            text_en: q.text_en,
            kind: q.kind.into(),
            required: q.required,
            maturity: q.maturity,
            position: q.position,
            condition: q.condition.map(|c| Condition {
                question_key: c.question_key,
                option_keys: c.option_keys,
            }),
            min_number: q.min_number,
            max_number: q.max_number,
            max_length: q.max_length,
            predecessor_key: q.predecessor_key,
        })
    }
}

#[derive(Default)]
pub struct AuthoringMutation;

#[Object]
impl AuthoringMutation {
    /// SKR_ADMIN: adds an area to a DRAFT round's questionnaire, or changes
    /// one (by key): its number, titles and place. Returns the round.
    #[graphql(guard = "Needs::Admin")]
    async fn upsert_area(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The DRAFT round's id.")] round_id: ID,
        #[graphql(desc = "The area.")] input: AreaInput,
    ) -> Result<SurveyRound> {
        let admin = policy::admin(Principal::of(ctx))?;
        let db = ctx.data::<DatabaseConnection>()?;
        let edit = AreaEdit::try_from(input)?;
        let round = authoring::edit(db, &admin, &round_id, "upsertArea", |q, id| {
            authoring::upsert_area(q, id, edit.clone())
        })
        .await?;
        Ok(SurveyRound(round))
    }

    /// SKR_ADMIN: removes an area without questions from a DRAFT round's
    /// questionnaire. Returns the round.
    #[graphql(guard = "Needs::Admin")]
    async fn remove_area(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The DRAFT round's id.")] round_id: ID,
        #[graphql(desc = "The area's key.")] key: String,
    ) -> Result<SurveyRound> {
        let admin = policy::admin(Principal::of(ctx))?;
        let db = ctx.data::<DatabaseConnection>()?;
        let round = authoring::edit(db, &admin, &round_id, "removeArea", |q, _| {
            authoring::remove_area(q, &key)
        })
        .await?;
        Ok(SurveyRound(round))
    }

    /// SKR_ADMIN: adds a question to a DRAFT round's questionnaire, or
    /// replaces one (by key) with its options; also moves it within or
    /// between areas. Returns the round.
    #[graphql(guard = "Needs::Admin")]
    async fn upsert_question(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The DRAFT round's id.")] round_id: ID,
        #[graphql(desc = "The question with all its options.")] input: QuestionInput,
    ) -> Result<SurveyRound> {
        let admin = policy::admin(Principal::of(ctx))?;
        let db = ctx.data::<DatabaseConnection>()?;
        let edit = QuestionEdit::try_from(input)?;
        let round = authoring::edit(db, &admin, &round_id, "upsertQuestion", |q, id| {
            authoring::upsert_question(q, id, edit.clone())
        })
        .await?;
        Ok(SurveyRound(round))
    }

    /// SKR_ADMIN: removes a question and its options from a DRAFT round's
    /// questionnaire (refused while another question's condition names it).
    /// Returns the round.
    #[graphql(guard = "Needs::Admin")]
    async fn remove_question(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The DRAFT round's id.")] round_id: ID,
        #[graphql(desc = "The question's key.")] key: String,
    ) -> Result<SurveyRound> {
        let admin = policy::admin(Principal::of(ctx))?;
        let db = ctx.data::<DatabaseConnection>()?;
        let round = authoring::edit(db, &admin, &round_id, "removeQuestion", |q, _| {
            authoring::remove_question(q, &key)
        })
        .await?;
        Ok(SurveyRound(round))
    }
}

/// What one option continues in the baseline round.
#[derive(SimpleObject, Clone, Debug)]
pub struct OptionMapping {
    /// The option's key in this round.
    pub key: String,
    /// The baseline option it continues; null when unmapped (new in this round).
    pub predecessor_key: Option<String>,
}

/// What one question continues in the baseline round.
#[derive(SimpleObject, Clone, Debug)]
pub struct QuestionMapping {
    /// The question's key in this round.
    pub key: String,
    /// The baseline question it continues; null when the question is new.
    pub predecessor_key: Option<String>,
    /// True where the predecessor was named (another key), not found by the same key.
    pub renamed: bool,
    /// Every option of the question, mapped or not.
    pub options: Vec<OptionMapping>,
    /// Options of the predecessor that no option continues.
    pub dropped_option_keys: Vec<String>,
}

/// A round's questionnaire mapped onto a baseline round's: what trends and
/// comparisons question by question use.
pub struct QuestionnaireMapping {
    pub baseline: entity::survey_round::Model,
    pub mapping: Mapping,
}

fn question_mapping(q: &QuestionLink) -> QuestionMapping {
    QuestionMapping {
        key: q.key.clone(),
        predecessor_key: q.predecessor.clone(),
        renamed: q.renamed,
        options: q
            .options
            .iter()
            .map(|o| OptionMapping {
                key: o.key.clone(),
                predecessor_key: o.predecessor.clone(),
            })
            .collect(),
        dropped_option_keys: q.dropped_options.clone(),
    }
}

/// A round's questions and options beside the baseline's they continue.
#[Object]
impl QuestionnaireMapping {
    /// The round mapped onto.
    async fn baseline(&self) -> SurveyRound {
        SurveyRound(self.baseline.clone())
    }

    /// Every question of the round, in questionnaire order.
    async fn questions(&self) -> Vec<QuestionMapping> {
        self.mapping
            .questions
            .iter()
            .map(question_mapping)
            .collect()
    }

    /// Keys of this round's questions that are new (no predecessor).
    async fn new_question_keys(&self) -> Vec<String> {
        self.mapping
            .questions
            .iter()
            .filter(|q| q.predecessor.is_none())
            .map(|q| q.key.clone())
            .collect()
    }

    /// Baseline questions that no question of this round continues.
    async fn dropped_question_keys(&self) -> Vec<String> {
        self.mapping.dropped_questions.clone()
    }

    /// Options (as `questionKey.optionKey`) of mapped questions that have no
    /// predecessor: new answers, reported as unmapped rather than counted as zero.
    async fn unmapped_option_keys(&self) -> Vec<String> {
        self.mapping
            .questions
            .iter()
            .filter(|q| q.predecessor.is_some())
            .flat_map(|q| {
                q.options
                    .iter()
                    .filter(|o| o.predecessor.is_none())
                    .map(move |o| format!("{}.{}", q.key, o.key))
            })
            .collect()
    }
}
