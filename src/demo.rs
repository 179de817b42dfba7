//! Loads the demo answers into the 2019 and 2023 reference rounds, freezes
//! their scores and publishes them, flagged `demo`.

use entity::{RoundStatus, response, survey_round};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};

/// What a demo round's description says.
pub const DEMO_NOTE: &str = "DEMO DATA: the answers of each municipality in this round are fictitious, generated so \
    that the totals (answer counts per group, level-2 counts, mean maturity levels, response status) match SKR's \
    report \"Kommunernas informationssäkerhetsarbete\" (2023). No single municipality's answers are real.";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo data: {0}")]
    Data(#[from] migration::reference::DataError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("freezing scores failed")]
    Freeze,
    #[error("planning the release failed")]
    Plan,
}

/// Loads the demo into every reference round that has no responses yet and
/// plans the round's release with `min_cell` (any plan made while it was
/// empty is dropped); a second run changes nothing. Returns the years loaded.
pub async fn load(db: &DatabaseConnection, min_cell: i64) -> Result<Vec<i32>, DemoError> {
    let rounds = migration::demo::reference_rounds()?;
    let txn = db.begin().await?;
    let mut loaded = Vec::new();
    for (spec, members) in rounds {
        let Some(round) = survey_round::Entity::find()
            .filter(survey_round::Column::Year.eq(spec.year))
            .one(&txn)
            .await?
        else {
            continue;
        };
        let has_responses = response::Entity::find()
            .filter(response::Column::RoundId.eq(round.id))
            .count(&txn)
            .await?
            > 0;
        if has_responses || !matches!(round.status, RoundStatus::Closed | RoundStatus::Published) {
            tracing::info!(
                year = spec.year,
                "demo: round already has responses or is not closed; left as it is"
            );
            continue;
        }
        // Solved only for rounds that get the demo: a second run does no work.
        let plan = migration::demo::plan(&spec, &members);
        let written = migration::demo::write(&txn, round.id, &plan).await?;
        schema::services::scoring::freeze(&txn, round.id)
            .await
            .map_err(|_| DemoError::Freeze)?;
        schema::services::release::replan_round(&txn, &round, min_cell)
            .await
            .map_err(|_| DemoError::Plan)?;
        let description = format!(
            "{} {DEMO_NOTE}",
            round.description.clone().unwrap_or_default()
        );
        survey_round::Entity::update_many()
            .col_expr(
                survey_round::Column::Status,
                Expr::value(RoundStatus::Published),
            )
            .col_expr(survey_round::Column::Demo, Expr::value(true))
            .col_expr(
                survey_round::Column::Description,
                Expr::value(Some(description.trim().to_owned())),
            )
            .col_expr(
                survey_round::Column::UpdatedAt,
                Expr::value(chrono::Utc::now()),
            )
            .filter(survey_round::Column::Id.eq(round.id))
            .exec(&txn)
            .await?;
        for unmet in &plan.unmet {
            tracing::info!(
                year = spec.year,
                "demo: a published figure the report itself contradicts is not met: {unmet}"
            );
        }
        tracing::info!(
            year = spec.year,
            responses = written,
            "demo answers loaded and the round published"
        );
        loaded.push(spec.year);
    }
    txn.commit().await?;
    Ok(loaded)
}
