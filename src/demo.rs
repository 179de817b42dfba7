//! Loads the demo answers into the 2019 and 2023 reference rounds and
//! publishes them, flagged `demo`, through the life-cycle service.

use entity::{RoundStatus, response, survey_round};
use schema::services::lifecycle;
use schema::services::responses::AnswerValue;
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
    #[error("publishing the demo rounds failed: {0}")]
    Publish(String),
}

/// Loads the demo into every reference round that has no responses yet and
/// plans the round's release with `min_cell` (any plan made while it was
/// empty is dropped); a second run changes nothing. Returns the years loaded.
pub async fn load(db: &DatabaseConnection, min_cell: i64) -> Result<Vec<i32>, DemoError> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the command line loads the demo as SKR's admin, with database access already"
    )]
    let operator = schema::Principal::skr("mognad seed --demo".into(), schema::Role::SkrAdmin);
    let admin =
        schema::policy::admin(&operator).map_err(|e| DemoError::Publish(e.message().to_owned()))?;
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
        if has_responses || round.status != RoundStatus::Closed {
            tracing::info!(
                year = spec.year,
                "demo: round already has responses or is not closed; left as it is"
            );
            continue;
        }
        // Solved only for rounds that get the demo: a second run does no work.
        let plan = migration::demo::plan(&spec, &members)?;
        let written = migration::demo::write(&txn, round.id, &plan, |option| {
            AnswerValue::Choice(option.to_owned()).to_json()
        })
        .await?;
        let description = format!(
            "{} {DEMO_NOTE}",
            round.description.clone().unwrap_or_default()
        );
        lifecycle::publish_loaded(
            &txn,
            &admin,
            &round,
            min_cell,
            description.trim().to_owned(),
        )
        .await
        .map_err(|e| DemoError::Publish(e.message().to_owned()))?;
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
