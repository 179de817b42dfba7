//! `SurveyRound` (enkätomgång) and its questionnaire: `Area`, `Question`, `AnswerOption`.

use crate::types::time::Timestamp;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};

use entity::{answer_option, area, question, survey_round};

use crate::once::PerRequest;
use crate::policy;
use crate::principal::Principal;
use crate::services::questionnaire::{
    self, AreasByRound, OptionsByQuestion, QuestionsByArea, RoundById,
};

/// Life cycle of a round: DRAFT -> OPEN -> CLOSED -> PUBLISHED.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RoundStatus {
    /// Being prepared; seen by SKR only.
    Draft,
    /// Kommuner answer; no figures yet.
    Open,
    /// Answers frozen and scores final; figures for SKR.
    Closed,
    /// Figures public.
    Published,
}

impl From<entity::RoundStatus> for RoundStatus {
    fn from(s: entity::RoundStatus) -> Self {
        match s {
            entity::RoundStatus::Draft => Self::Draft,
            entity::RoundStatus::Open => Self::Open,
            entity::RoundStatus::Closed => Self::Closed,
            entity::RoundStatus::Published => Self::Published,
        }
    }
}

impl From<RoundStatus> for entity::RoundStatus {
    fn from(s: RoundStatus) -> Self {
        match s {
            RoundStatus::Draft => Self::Draft,
            RoundStatus::Open => Self::Open,
            RoundStatus::Closed => Self::Closed,
            RoundStatus::Published => Self::Published,
        }
    }
}

/// How a question is answered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum QuestionKind {
    /// One option (`AnswerValue.choice`).
    SingleChoice,
    /// Any number of options (`AnswerValue.choices`).
    MultiChoice,
    /// A number (`AnswerValue.number`).
    Number,
    /// Free text (`AnswerValue.text`).
    Text,
}

impl From<entity::QuestionKind> for QuestionKind {
    fn from(k: entity::QuestionKind) -> Self {
        match k {
            entity::QuestionKind::SingleChoice => Self::SingleChoice,
            entity::QuestionKind::MultiChoice => Self::MultiChoice,
            entity::QuestionKind::Number => Self::Number,
            entity::QuestionKind::Text => Self::Text,
        }
    }
}

impl From<QuestionKind> for entity::QuestionKind {
    fn from(k: QuestionKind) -> Self {
        match k {
            QuestionKind::SingleChoice => Self::SingleChoice,
            QuestionKind::MultiChoice => Self::MultiChoice,
            QuestionKind::Number => Self::Number,
            QuestionKind::Text => Self::Text,
        }
    }
}

pub struct SurveyRound(pub survey_round::Model);

/// One round of the follow-up (enkätomgång).
#[Object]
impl SurveyRound {
    /// The round's id (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The year of the round, e.g. 2023.
    async fn year(&self) -> i32 {
        self.0.year
    }

    /// The round's title.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Where the round is in its life cycle.
    async fn status(&self) -> RoundStatus {
        self.0.status.into()
    }

    /// When the round opened (set by `openSurveyRound`); before that, when
    /// it is planned to open, if given.
    async fn opens_at(&self) -> Option<Timestamp> {
        self.0.opens_at.map(Timestamp)
    }

    /// When the round closed (set by `closeSurveyRound`); before that, when
    /// it is planned to close, if given.
    async fn closes_at(&self) -> Option<Timestamp> {
        self.0.closes_at.map(Timestamp)
    }

    /// When the round was published (set by `publishSurveyRound`); null
    /// before.
    async fn published_at(&self) -> Option<Timestamp> {
        self.0.published_at.map(Timestamp)
    }

    /// The round this one is compared with by default (2023 -> 2019).
    async fn baseline(&self, ctx: &Context<'_>) -> Result<Option<SurveyRound>> {
        let Some(id) = self.0.baseline_id else {
            return Ok(None);
        };
        let round = ctx.data::<DataLoader<RoundById>>()?.load_one(id).await?;
        let principal = Principal::of(ctx);
        Ok(round
            .filter(|r| policy::sees_round(principal, r))
            .map(SurveyRound))
    }

    /// The questionnaire's areas in order.
    async fn areas(&self, ctx: &Context<'_>) -> Result<Vec<Area>> {
        let areas = ctx
            .data::<DataLoader<AreasByRound>>()?
            .load_one(self.0.id)
            .await?;
        Ok(areas.unwrap_or_default().into_iter().map(Area).collect())
    }

    /// Per maturity area, what level 2 asks and what a kommun below it
    /// needs to do (SKR's text for this round, else the built-in one).
    async fn guidance(&self, ctx: &Context<'_>) -> Result<Vec<crate::types::guidance::Guidance>> {
        let db = ctx.data::<sea_orm::DatabaseConnection>()?;
        let id = self.0.id;
        let guidance = ctx
            .data::<PerRequest>()?
            .guidance
            .get(&id, || crate::services::guidance::for_round(db, id))
            .await?;
        Ok(guidance.iter().cloned().map(Into::into).collect())
    }

    /// The round's questions and options beside those of a baseline round
    /// (default: its own baseline) that they continue; null when there is
    /// no baseline to map onto.
    async fn mapping(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round to map onto; default: this round's baseline.")]
        baseline_round_id: Option<ID>,
    ) -> Result<Option<crate::authoring::QuestionnaireMapping>> {
        let db = ctx.data::<sea_orm::DatabaseConnection>()?;
        let memory = ctx.data::<crate::services::aggregates::FigureCache>()?;
        let baseline = match baseline_round_id {
            Some(id) => Some(crate::services::rounds::get_any(db, memory, &id).await?),
            None => match self.0.baseline_id {
                Some(id) => ctx.data::<DataLoader<RoundById>>()?.load_one(id).await?,
                None => None,
            },
        };
        let principal = Principal::of(ctx);
        let Some(baseline) = baseline.filter(|b| policy::sees_round(principal, b)) else {
            return Ok(None);
        };
        let mapping = ctx
            .data::<PerRequest>()?
            .mappings
            .get(&(self.0.id, baseline.id), || async {
                let now = questionnaire::Questionnaire::of(db, memory, &self.0).await?;
                let then = questionnaire::Questionnaire::of(db, memory, &baseline).await?;
                Ok(crate::services::mapping::map(&now, &then))
            })
            .await?;
        Ok(Some(crate::authoring::QuestionnaireMapping {
            mapping: mapping.as_ref().clone(),
            baseline,
        }))
    }

    /// What the round's release plan hides, and why: hidden segments and
    /// questions with their reasons. Null until the caller may see the
    /// round's figures (CLOSED: SKR; PUBLISHED: everyone). An admin can ask
    /// for it in `closeSurveyRound`'s or `publishSurveyRound`'s answer.
    async fn release_summary(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::types::figures::ReleaseSummary>> {
        // The same decision as the round's figures: none until CLOSED (SKR)
        // or PUBLISHED (everyone).
        let Ok(released) = crate::policy::figures(crate::Principal::of(ctx), &self.0) else {
            return Ok(None);
        };
        let db = ctx.data::<sea_orm::DatabaseConnection>()?;
        let memory = ctx.data::<crate::services::aggregates::FigureCache>()?;
        let min_cell = ctx.data::<crate::Settings>()?.min_cell;
        let hidden = crate::services::aggregates::hidden(db, memory, &released, min_cell).await?;
        Ok(Some(crate::types::figures::ReleaseSummary::of(&hidden)))
    }

    /// What keeps the questionnaire from being opened (empty when it can
    /// be): a maturity area without its maturity question, say. Authoring
    /// refuses everything else as it is asked for.
    async fn questionnaire_problems(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let db = ctx.data::<sea_orm::DatabaseConnection>()?;
        let memory = ctx.data::<crate::services::aggregates::FigureCache>()?;
        let rounds = ctx.data::<DataLoader<RoundById>>()?;
        let problems = ctx
            .data::<PerRequest>()?
            .problems
            .get(&self.0.id, || async {
                let q = questionnaire::Questionnaire::of(db, memory, &self.0).await?;
                let baseline = match self.0.baseline_id {
                    Some(id) => match rounds.load_one(id).await? {
                        Some(b) => Some(questionnaire::Questionnaire::of(db, memory, &b).await?),
                        None => None,
                    },
                    None => None,
                };
                Ok(
                    crate::services::authoring::problems(&q, baseline.as_deref())
                        .into_iter()
                        .map(|p| p.message)
                        .collect(),
                )
            })
            .await?;
        Ok(problems.as_ref().clone())
    }

    /// What the round is; for demo rounds, that its answers are fictitious.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// True where the round's answers are generated demo data: only the
    /// totals match the published report, no municipality's answers are real.
    async fn demo(&self) -> bool {
        self.0.demo
    }
}

pub struct Area(pub area::Model);

/// A follow-up area (uppföljningsområde).
#[Object]
impl Area {
    /// Stable across rounds, e.g. `risk_management`.
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// 1..9 for the nine maturity areas, in the order of the report's tables; null for areas without a maturity score.
    async fn number(&self) -> Option<i32> {
        self.0.number
    }

    /// The title in Swedish.
    async fn title(&self) -> &str {
        &self.0.title_sv
    }

    /// The title in English.
    async fn title_en(&self) -> &str {
        &self.0.title_en
    }

    /// The area's questions in order.
    async fn questions(&self, ctx: &Context<'_>) -> Result<Vec<Question>> {
        let questions = ctx
            .data::<DataLoader<QuestionsByArea>>()?
            .load_one(self.0.id)
            .await?;
        Ok(questions
            .unwrap_or_default()
            .into_iter()
            .map(Question)
            .collect())
    }
}

/// A question is asked only when another question has one of these answers.
#[derive(SimpleObject, Clone, Debug)]
pub struct QuestionCondition {
    /// The question whose answer decides.
    pub question_key: String,
    /// The options of that question that make this one asked.
    pub option_keys: Vec<String>,
}

pub struct Question(pub question::Model);

/// One question of a round's questionnaire.
#[Object]
impl Question {
    /// Stable across rounds, so that rounds can be compared question by question.
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// The question in Swedish.
    async fn text(&self) -> &str {
        &self.0.text_sv
    }

    /// The question in English.
    async fn text_en(&self) -> &str {
        &self.0.text_en
    }

    /// How the question is answered.
    async fn kind(&self) -> QuestionKind {
        self.0.kind.into()
    }

    /// Must be answered before the response can be submitted (when its condition holds).
    async fn required(&self) -> bool {
        self.0.required
    }

    /// The options of a choice question, in order; empty for NUMBER and TEXT.
    async fn options(&self, ctx: &Context<'_>) -> Result<Vec<AnswerOption>> {
        let options = ctx
            .data::<DataLoader<OptionsByQuestion>>()?
            .load_one(self.0.id)
            .await?;
        Ok(options
            .unwrap_or_default()
            .into_iter()
            .map(AnswerOption)
            .collect())
    }

    /// True where the answer sets the maturity level of the question's area.
    async fn maturity(&self) -> bool {
        self.0.maturity
    }

    /// Set where the question is asked only after a given answer to another question.
    async fn condition(&self) -> Option<QuestionCondition> {
        let c = questionnaire::condition(&self.0)?;
        Some(QuestionCondition {
            question_key: c.question_key,
            option_keys: c.option_keys,
        })
    }

    /// Smallest accepted answer of a NUMBER question.
    async fn min_number(&self) -> Option<f64> {
        self.0.min_number
    }

    /// Largest accepted answer of a NUMBER question.
    async fn max_number(&self) -> Option<f64> {
        self.0.max_number
    }

    /// Longest accepted answer of a TEXT question, in characters.
    async fn max_length(&self) -> Option<i32> {
        self.0.max_length
    }

    /// The baseline round's question this one continues, where it was
    /// named; null: the one with the same key (see `SurveyRound.mapping`).
    async fn predecessor_key(&self) -> Option<&str> {
        self.0.predecessor_key.as_deref()
    }
}

pub struct AnswerOption(pub answer_option::Model);

/// A choice of a question.
#[Object]
impl AnswerOption {
    /// Stable within the question across rounds, e.g. `yes_fully`.
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// The label in Swedish.
    async fn label(&self) -> &str {
        &self.0.label_sv
    }

    /// The label in English.
    async fn label_en(&self) -> &str {
        &self.0.label_en
    }

    /// The maturity level this option gives, on maturity questions; null elsewhere.
    async fn maturity_level(&self) -> Option<i32> {
        self.0.maturity_level
    }

    /// True where the option says "Ja": on the implementation scale, an
    /// established process ("fastställd process"; `processShare` counts these).
    async fn affirmative(&self) -> bool {
        self.0.affirmative
    }

    /// For an hours-per-week span, its lower bound (`estimatedWeeklyHours` uses the midpoint).
    async fn hours_from(&self) -> Option<f64> {
        self.0.hours_from
    }

    /// For an hours-per-week span, its upper bound.
    async fn hours_to(&self) -> Option<f64> {
        self.0.hours_to
    }

    /// The option of the predecessor question this one continues, where it
    /// was named; null: the one with the same key (see `SurveyRound.mapping`).
    async fn predecessor_key(&self) -> Option<&str> {
        self.0.predecessor_key.as_deref()
    }
}
