async fn close(db: &sea_orm::DatabaseConnection, memory: &schema::services::memory::Memory) {
    let _ = schema::services::lifecycle::close(db, memory, "someone", "id", 5).await;
}

fn main() {}
