//! SKR's view: `maturityAggregates`, `answerDistribution` and `participation`.
//! Access follows the contract: figures of CLOSED rounds for SKR, of
//! PUBLISHED rounds for everyone, of OPEN and DRAFT rounds for no one;
//! participation counts for SKR, per municipality for SKR_ADMIN.

use async_graphql::{Context, ID, Object, Result};
use sea_orm::DatabaseConnection;

use crate::Settings;
use crate::guard::RoleGuard;
use crate::principal::Principal;
use crate::services::aggregates::{self, FigureCache};
use crate::services::rounds;
use crate::types::figures::{Distribution, Grouping, MaturityAggregate, Participation};

#[derive(Default)]
pub struct FiguresQuery;

#[Object]
impl FiguresQuery {
    /// Mean maturity per maturity area and segment (the report's tables and spider charts).
    async fn maturity_aggregates(
        &self,
        ctx: &Context<'_>,
        round_id: ID,
        grouping: Grouping,
    ) -> Result<Vec<MaturityAggregate>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let round = rounds::get_any(db, &round_id).await?;
        aggregates::check_access(Principal::of(ctx), &round)?;
        let min_cell = ctx.data::<Settings>()?.min_cell;
        let rows = aggregates::maturity(
            db,
            ctx.data::<FigureCache>()?,
            &round,
            grouping.into(),
            min_cell,
        )
        .await?;
        Ok(rows.iter().cloned().map(MaturityAggregate).collect())
    }

    /// How many municipalities chose each option of a question, per segment.
    async fn answer_distribution(
        &self,
        ctx: &Context<'_>,
        round_id: ID,
        question_key: String,
        grouping: Grouping,
    ) -> Result<Vec<Distribution>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let round = rounds::get_any(db, &round_id).await?;
        aggregates::check_access(Principal::of(ctx), &round)?;
        let min_cell = ctx.data::<Settings>()?.min_cell;
        let cache = ctx.data::<FigureCache>()?;
        let rows =
            aggregates::distribution(db, cache, &round, &question_key, grouping.into(), min_cell)
                .await?;
        Ok(rows.iter().cloned().map(Distribution).collect())
    }

    /// Who has responded: counts for SKR; `byMunicipality` for SKR_ADMIN.
    #[graphql(guard = "RoleGuard::skr()")]
    async fn participation(&self, ctx: &Context<'_>, round_id: ID) -> Result<Participation> {
        let db = ctx.data::<DatabaseConnection>()?;
        let round = rounds::get_any(db, &round_id).await?;
        let counts = aggregates::participation(db, &round).await?;
        Ok(Participation { round, counts })
    }
}
