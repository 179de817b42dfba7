// A kommun's response cannot be read without the kommun's scope.
async fn read(db: &sea_orm::DatabaseConnection, round: entity::survey_round::Model) {
    let _ = schema::services::responses::read(db, round).await;
}

fn main() {}
