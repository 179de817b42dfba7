//! SKR's view: `maturityAggregates`, `answerDistribution`, `maturityTrend`,
//! `processShare`, `estimatedWeeklyHours` and `participation`. Access follows
//! the contract: figures of CLOSED rounds for SKR, of PUBLISHED rounds for
//! everyone, of OPEN and DRAFT rounds for no one; participation counts for
//! SKR, per municipality for SKR_ADMIN.

use async_graphql::{Context, ID, Object, Result};
use entity::survey_round;
use sea_orm::DatabaseConnection;

use crate::Settings;
use crate::domain::QuestionKey;
use crate::error::ApiError;
use crate::frozen;
use crate::policy::{self, Needs, Released};
use crate::principal::Principal;
use crate::services::aggregates::{self, FigureCache};
use crate::services::questionnaire::Questionnaire;
use crate::services::{derived, mapping, participation, rounds, trends};
use crate::types::figures::{Distribution, Grouping, MaturityAggregate};
use crate::types::participation::Participation;
use crate::types::series::{
    DistributionTrend, MaturitySeriesRow, ProcessShareTrend, WeeklyHoursTrend,
};
use crate::types::trends::{MaturityTrend, ProcessShare, WeeklyHours};

/// What every figure needs: the database, the cache and the cell threshold.
struct Figures<'a> {
    db: &'a DatabaseConnection,
    cache: &'a FigureCache,
    min_cell: i64,
}

impl<'a> Figures<'a> {
    fn of(ctx: &'a Context<'_>) -> Result<Self> {
        Ok(Self {
            db: ctx.data::<DatabaseConnection>()?,
            cache: ctx.data::<FigureCache>()?,
            min_cell: ctx.data::<Settings>()?.min_cell,
        })
    }

    /// The round to compare `round` with: the one named, else its baseline
    /// (BAD_USER_INPUT without one); its figures must be the caller's too.
    async fn baseline(
        &self,
        ctx: &Context<'_>,
        round: &survey_round::Model,
        named: Option<ID>,
    ) -> Result<Released> {
        let id = match (named, round.baseline_id) {
            (Some(id), _) => id.to_string(),
            (None, Some(id)) => id.to_string(),
            (None, None) => {
                return Err(ApiError::bad_input(format!(
                    "round {} has no baseline: name baselineRoundId",
                    round.year
                ))
                .into());
            }
        };
        self.round(ctx, &id).await
    }

    /// A round whose figures the caller may read (the contract's status rule).
    async fn round(&self, ctx: &Context<'_>, id: &str) -> Result<Released> {
        let round = rounds::get_any(self.db, self.cache, id).await?;
        Ok(policy::figures(Principal::of(ctx), &round)?)
    }
}

#[derive(Default)]
pub struct FiguresQuery;

#[Object]
impl FiguresQuery {
    /// Mean maturity per maturity area and segment (the report's tables and spider charts).
    async fn maturity_aggregates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
    ) -> Result<Vec<MaturityAggregate>> {
        let f = Figures::of(ctx)?;
        let round = f.round(ctx, &round_id).await?;
        let rows = aggregates::maturity(f.db, f.cache, &round, grouping.into(), f.min_cell).await?;
        // Figures exist only for frozen rounds (checked by `Figures::round`).
        frozen::mark(ctx);
        Ok(rows.iter().cloned().map(MaturityAggregate).collect())
    }

    /// How many municipalities chose each option of a question, per segment.
    async fn answer_distribution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "The question's stable key.")] question_key: String,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
    ) -> Result<Vec<Distribution>> {
        let f = Figures::of(ctx)?;
        let round = f.round(ctx, &round_id).await?;
        let rows = aggregates::distribution(
            f.db,
            f.cache,
            &round,
            &QuestionKey::parse(&question_key)?,
            grouping.into(),
            f.min_cell,
        )
        .await?;
        // Figures exist only for frozen rounds (checked by `Figures::round`).
        frozen::mark(ctx);
        Ok(rows.iter().cloned().map(Distribution).collect())
    }

    /// Mean maturity per area and segment over any number of rounds (at most
    /// ten), in the order given: each round's figures as `maturityAggregates`
    /// gives them (its own classification, release plan and access rule).
    async fn maturity_series(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
        #[graphql(desc = "The rounds, in the order the series should have (1 to 10).")]
        round_ids: Vec<ID>,
    ) -> Result<Vec<MaturitySeriesRow>> {
        if round_ids.is_empty() || round_ids.len() > crate::cost::MAX_SERIES {
            return Err(ApiError::bad_input(format!(
                "roundIds must name 1 to {} rounds",
                crate::cost::MAX_SERIES
            ))
            .into());
        }
        let f = Figures::of(ctx)?;
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for id in &round_ids {
            let round = f.round(ctx, id).await?;
            if seen.contains(&round.id) {
                return Err(
                    ApiError::bad_input(format!("round {} is named twice", round.year)).into(),
                );
            }
            seen.push(round.id);
            let rows =
                aggregates::maturity(f.db, f.cache, &round, grouping.into(), f.min_cell).await?;
            out.extend(
                rows.iter()
                    .cloned()
                    .map(|row| MaturitySeriesRow(round.round().clone(), row)),
            );
        }
        frozen::mark(ctx);
        Ok(out)
    }

    /// A question's answers per segment beside a baseline round's (default:
    /// the round's baseline), through the round's mapping onto it
    /// (`SurveyRound.mapping`): the question's predecessor (the one it names,
    /// else the same key) and each option's; an option without one (new in
    /// this round) has no baseline count (unmapped) rather than zero. Each
    /// round is counted with its own classification and release plan; a
    /// segment hidden in either round is hidden in the comparison. With
    /// `panel: true` only municipalities that responded in both rounds
    /// count, grouped by this round's classification and shown where the
    /// pair's panel plan shows the segment (as `maturityTrend(panel: true)`).
    #[allow(clippy::too_many_arguments)]
    async fn distribution_trend(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The question's stable key (this round's).")] question_key: String,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "The round to compare with; default: the round's baseline.")]
        baseline_round_id: Option<ID>,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
        #[graphql(
            default_with = "Some(false)",
            desc = "Count only municipalities that answered in both rounds."
        )]
        panel: Option<bool>,
    ) -> Result<Vec<DistributionTrend>> {
        let f = Figures::of(ctx)?;
        let round = f.round(ctx, &round_id).await?;
        let baseline = f.baseline(ctx, &round, baseline_round_id).await?;
        let key = QuestionKey::parse(&question_key)?;
        // Checks the question (and counts the round's own figures, kept).
        let mut current =
            aggregates::distribution(f.db, f.cache, &round, &key, grouping.into(), f.min_cell)
                .await?;
        let now = Questionnaire::of(f.db, f.cache, &round).await?;
        let then = Questionnaire::of(f.db, f.cache, &baseline).await?;
        let mapping = mapping::map(&now, &then);
        let link = mapping.question(key.as_str());
        let predecessor = link
            .and_then(|l| l.predecessor.as_deref())
            .and_then(|p| then.question_by_key(p))
            .filter(|p| {
                matches!(
                    p.kind,
                    entity::QuestionKind::SingleChoice | entity::QuestionKind::MultiChoice
                )
            });
        // A question new in this round has no baseline: its counts are unmapped.
        let before = if panel.unwrap_or(false) {
            let question = now
                .question_by_key(key.as_str())
                .ok_or(ApiError::Internal)?;
            let (mine, theirs) = trends::panel_distribution(
                f.db,
                f.cache,
                &round,
                &baseline,
                question,
                predecessor,
                grouping.into(),
                f.min_cell,
            )
            .await?;
            current = std::sync::Arc::new(mine);
            std::sync::Arc::new(theirs)
        } else {
            match predecessor {
                Some(p) => {
                    aggregates::distribution(
                        f.db,
                        f.cache,
                        &baseline,
                        &QuestionKey::parse(&p.key)?,
                        grouping.into(),
                        f.min_cell,
                    )
                    .await?
                }
                None => std::sync::Arc::new(Vec::new()),
            }
        };
        let predecessors = std::sync::Arc::new(mapping::option_map(link));
        frozen::mark(ctx);
        Ok(current
            .iter()
            .map(|row| DistributionTrend {
                current: row.clone(),
                baseline: before
                    .iter()
                    .find(|b| b.segment.code == row.segment.code)
                    .cloned(),
                predecessors: predecessors.clone(),
            })
            .collect())
    }

    /// `processShare` beside a baseline round's (default: the round's
    /// baseline), areas matched by key and segments by code, each round
    /// counted with its own classification and release plan.
    async fn process_share_trend(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "The round to compare with; default: the round's baseline.")]
        baseline_round_id: Option<ID>,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
    ) -> Result<Vec<ProcessShareTrend>> {
        let f = Figures::of(ctx)?;
        let round = f.round(ctx, &round_id).await?;
        let baseline = f.baseline(ctx, &round, baseline_round_id).await?;
        let now =
            derived::process_share(f.db, f.cache, &round, grouping.into(), f.min_cell).await?;
        let before =
            derived::process_share(f.db, f.cache, &baseline, grouping.into(), f.min_cell).await?;
        frozen::mark(ctx);
        Ok(now
            .into_iter()
            .map(|row| {
                let then = before
                    .iter()
                    .find(|b| b.area.key == row.area.key && b.segment.code == row.segment.code)
                    .cloned();
                ProcessShareTrend(row, then)
            })
            .collect())
    }

    /// `estimatedWeeklyHours` beside a baseline round's (default: the
    /// round's baseline), segments matched by code (the report's Figur 9).
    async fn estimated_weekly_hours_trend(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "The round to compare with; default: the round's baseline.")]
        baseline_round_id: Option<ID>,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
    ) -> Result<Vec<WeeklyHoursTrend>> {
        let f = Figures::of(ctx)?;
        let round = f.round(ctx, &round_id).await?;
        let baseline = f.baseline(ctx, &round, baseline_round_id).await?;
        let now = derived::weekly_hours(f.db, f.cache, &round, grouping.into(), f.min_cell).await?;
        let before =
            derived::weekly_hours(f.db, f.cache, &baseline, grouping.into(), f.min_cell).await?;
        frozen::mark(ctx);
        Ok(now
            .into_iter()
            .map(|row| {
                let then = before
                    .iter()
                    .find(|b| b.segment.code == row.segment.code)
                    .cloned();
                WeeklyHoursTrend(row, then)
            })
            .collect())
    }

    /// Mean maturity and level-2 counts beside a baseline round (default: the
    /// round's baseline). With `panel: true` only municipalities that responded
    /// in both rounds count, so a change in who answered does not pass for a
    /// change in maturity; segments then follow this round's classification.
    async fn maturity_trend(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "The round to compare with; default: the round's baseline.")]
        baseline_round_id: Option<ID>,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
        #[graphql(
            default_with = "Some(false)",
            desc = "Count only municipalities that answered in both rounds."
        )]
        panel: Option<bool>,
    ) -> Result<Vec<MaturityTrend>> {
        let f = Figures::of(ctx)?;
        let round = f.round(ctx, &round_id).await?;
        let baseline_id = match (&baseline_round_id, round.baseline_id) {
            (Some(id), _) => id.to_string(),
            (None, Some(id)) => id.to_string(),
            (None, None) => {
                let message = format!("round {} has no baseline: give baselineRoundId", round.year);
                return Err(ApiError::bad_input(message).into());
            }
        };
        let baseline = f.round(ctx, &baseline_id).await?;
        let panel = panel.unwrap_or(false);
        let rows = trends::trend(
            f.db,
            f.cache,
            &round,
            &baseline,
            grouping.into(),
            panel,
            f.min_cell,
        )
        .await?;
        // Figures exist only for frozen rounds (checked by `Figures::round`).
        frozen::mark(ctx);
        Ok(rows.into_iter().map(MaturityTrend).collect())
    }

    /// Municipalities with an established process (any Ja answer) per maturity area and segment.
    async fn process_share(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
    ) -> Result<Vec<ProcessShare>> {
        let f = Figures::of(ctx)?;
        let round = f.round(ctx, &round_id).await?;
        let rows =
            derived::process_share(f.db, f.cache, &round, grouping.into(), f.min_cell).await?;
        // Figures exist only for frozen rounds (checked by `Figures::round`).
        frozen::mark(ctx);
        Ok(rows.into_iter().map(ProcessShare).collect())
    }

    /// Estimated weekly hours of the information-security function per segment (span midpoints).
    async fn estimated_weekly_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
        #[graphql(desc = "Nation, groups or subgroups.")] grouping: Grouping,
    ) -> Result<Vec<WeeklyHours>> {
        let f = Figures::of(ctx)?;
        let round = f.round(ctx, &round_id).await?;
        let rows =
            derived::weekly_hours(f.db, f.cache, &round, grouping.into(), f.min_cell).await?;
        // Figures exist only for frozen rounds (checked by `Figures::round`).
        frozen::mark(ctx);
        Ok(rows.into_iter().map(WeeklyHours).collect())
    }

    /// Who has responded: counts for SKR (live while the round is open, as
    /// they stood at its close afterwards); `byMunicipality` for SKR_ADMIN.
    #[graphql(guard = "Needs::Skr")]
    async fn participation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] round_id: ID,
    ) -> Result<Participation> {
        let f = Figures::of(ctx)?;
        let round = rounds::get_any(f.db, f.cache, &round_id).await?;
        let counts = participation::shown(f.db, f.cache, &round, f.min_cell).await?;
        Ok(Participation { round, counts })
    }
}
