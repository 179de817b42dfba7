//! The read-only reference part of `Query`: viewer, municipalities and rounds.

use async_graphql::{Context, ID, Object, Result};
use sea_orm::DatabaseConnection;

use crate::principal::Principal;
use crate::services::municipalities::{self, Filter};
use crate::services::rounds;
use crate::types::municipality::Municipality;
use crate::types::round::{RoundStatus, SurveyRound};
use crate::types::viewer::Viewer;

#[derive(Default)]
pub struct ReferenceQuery;

#[Object]
impl ReferenceQuery {
    /// Who the bearer token says the caller is.
    async fn viewer(&self, ctx: &Context<'_>) -> Viewer {
        Viewer(Principal::of(ctx).clone())
    }

    /// All 290 municipalities in code order, optionally of one group ("A".."C")
    /// or subgroup ("A1".."C9") of the current classification.
    async fn municipalities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this main group of the current classification (\"A\"..\"C\").")]
        group: Option<String>,
        #[graphql(desc = "Only this subgroup of the current classification (\"A1\"..\"C9\").")]
        subgroup: Option<String>,
    ) -> Result<Vec<Municipality>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let filter = Filter {
            group,
            subgroup,
            code: None,
        };
        Ok(municipalities::list(db, filter)
            .await?
            .into_iter()
            .map(Municipality)
            .collect())
    }

    /// Survey rounds by year. DRAFT rounds are shown to SKR only.
    async fn survey_rounds(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only rounds in this status.")] status: Option<RoundStatus>,
    ) -> Result<Vec<SurveyRound>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let list = rounds::list(db, Principal::of(ctx), status.map(Into::into)).await?;
        Ok(list.into_iter().map(SurveyRound).collect())
    }

    /// One round by id or year (null when there is none the caller may see).
    async fn survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round's id.")] id: Option<ID>,
        #[graphql(desc = "The round's year.")] year: Option<i32>,
    ) -> Result<Option<SurveyRound>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let round = rounds::find(
            db,
            Principal::of(ctx),
            id.as_ref().map(|i| i.as_str()),
            year,
        )
        .await?;
        Ok(round.map(SurveyRound))
    }
}
