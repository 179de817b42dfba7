// The figure services take a released round, not any round: a door that
// skipped the policy does not compile.
async fn figures(
    db: &sea_orm::DatabaseConnection,
    memory: &schema::services::aggregates::FigureCache,
    round: &entity::survey_round::Model,
) {
    let _ = schema::services::aggregates::maturity(
        db,
        memory,
        round,
        schema::services::aggregates::Grouping::National,
        5,
    )
    .await;
}

fn main() {}
