// The life cycle takes an admin's scope, not a name.
async fn close(db: &sea_orm::DatabaseConnection) {
    let _ = schema::services::lifecycle::close(db, "someone", "id", 5).await;
}

fn main() {}
