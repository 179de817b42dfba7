//! Raw SQL for the few statements the query builder says less clearly
//! (aggregations, INSERT ... SELECT). Write placeholders as `$1`, `$2`, …;
//! they become `?1`, `?2`, … on SQLite.

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

/// A statement for the connection's backend.
pub fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
