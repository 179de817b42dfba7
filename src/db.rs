//! Connecting to SQLite or PostgreSQL, with a statement counter for tests
//! and benchmarks (never published: it moves with every answer saved).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::str::FromStr;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::{self, Config};

/// Counts the SQL statements the server has run.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Db(#[from] DbErr),
}

/// Creates the folder an SQLite file URL points into, if it is missing.
fn create_parent_dir(url: &str) -> Result<(), ConnectError> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| ConnectError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Puts an SQLite file in WAL mode (which lets readers run beside the one
/// writer) through one connection of its own, before the pool opens its
/// connections: the mode persists in the file, and switching to it needs
/// an exclusive lock that several new connections racing for it do not
/// wait for ("database is locked" on a new file).
async fn enable_wal(url: &str) -> Result<(), ConnectError> {
    use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
    let failed = |e: sea_orm::sqlx::Error| {
        ConnectError::Db(DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))
    };
    let conn = SqliteConnectOptions::from_str(url)
        .map_err(failed)?
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(10))
        .journal_mode(SqliteJournalMode::Wal)
        .connect()
        .await
        .map_err(failed)?;
    conn.close().await.map_err(failed)
}

/// Connections of the background pool (the webhooks' dispatcher).
const BACKGROUND_POOL: u32 = 2;

/// Opens the configured database; creates the data folder for the embedded
/// one. Besides the connection (whose statements the counter counts), a
/// small pool of its own whose statements are not counted, for work in the
/// background (the webhooks' dispatcher).
pub async fn connect(
    config: &Config,
) -> Result<(DatabaseConnection, StatementCounter, DatabaseConnection), ConnectError> {
    if config.database == config::Database::Embedded {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ConnectError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
    }
    let url = config.database_url();
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    if url.starts_with("sqlite:") && !memory {
        create_parent_dir(&url)?;
    }
    if url.starts_with("sqlite:") && !memory {
        enable_wal(&url).await?;
    }
    let size = if memory { 1 } else { config.db_pool() };
    let mut db = Database::connect(options(config, &url, size)).await?;
    // Background work (the webhooks' dispatcher) has a small pool of its
    // own, where it may wait its turn: it never takes a connection a save
    // needs. An in-memory database lives in one connection: shared.
    let quiet = if memory {
        db.clone()
    } else {
        let mut background = options(config, &url, BACKGROUND_POOL);
        background.acquire_timeout(Duration::from_secs(30));
        Database::connect(background).await?
    };
    let counter = StatementCounter::default();
    let c = counter.0.clone();
    db.set_metric_callback(move |_| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter, quiet))
}

/// The pool reads go through (`MOGNAD_DB_READ_POOL` connections), apart
/// from `db`'s (see `schema::ReadPool`); its statements are counted by
/// `statements` too. An in-memory SQLite database lives in one connection:
/// reads then share `db`'s.
pub async fn connect_reads(
    config: &Config,
    db: &DatabaseConnection,
    statements: &StatementCounter,
) -> Result<DatabaseConnection, ConnectError> {
    let url = config.database_url();
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(db.clone());
    }
    let mut reads = Database::connect(options(config, &url, config.db_read_pool())).await?;
    let c = statements.0.clone();
    reads.set_metric_callback(move |_| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    Ok(reads)
}

/// The options of a pool of `size` connections to `url`.
fn options(config: &Config, url: &str, size: u32) -> ConnectOptions {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(config.acquire_timeout);
    let statement_timeout = config.statement_timeout;
    if url.starts_with("sqlite:") {
        // Writers wait for the lock instead of failing (the file is in WAL
        // mode already). An in-memory database lives in one connection, kept open.
        options
            .max_connections(size)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        options.map_sqlx_sqlite_opts(move |o| {
            let o = o
                .create_if_missing(true)
                .busy_timeout(statement_timeout)
                .foreign_keys(true);
            if memory {
                o
            } else {
                o.synchronous(SqliteSynchronous::Normal)
            }
        });
    } else {
        options.max_connections(size).min_connections(1);
        // No statement runs longer, whoever holds what lock.
        let millis = statement_timeout.as_millis().to_string();
        options
            .map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", millis.as_str())]));
    }
    options
}

/// On PostgreSQL, listens for the announcements of round changes other
/// processes commit ([`schema::services::memory::announce`]) and makes this
/// process forget what it kept of rounds, within moments of their commit.
/// The first connection is made before the server serves; while the
/// listening connection is down nothing can be heard, so the memory is
/// forgotten each time it comes back. Nothing on SQLite: one process serves
/// an embedded database.
pub async fn forget_on_notice(url: &str, memory: schema::services::aggregates::FigureCache) {
    use sea_orm::sqlx::postgres::PgListener;
    if !url.starts_with("postgres") {
        return;
    }
    async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
        let mut listener = PgListener::connect(url).await?;
        listener
            .listen(schema::services::memory::CHANGES_CHANNEL)
            .await?;
        Ok(listener)
    }
    let mut listener = connect(url)
        .await
        .map_err(|e| tracing::warn!(error = %e, "cannot listen for round changes yet"))
        .ok();
    let url = url.to_owned();
    tokio::spawn(async move {
        loop {
            if let Some(listening) = listener.take()
                && let Err(e) = listen(listening, &memory).await
            {
                tracing::warn!(error = %e, "stopped listening for round changes");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            listener = connect(&url)
                .await
                .map_err(|e| tracing::warn!(error = %e, "cannot listen for round changes; trying again in a second"))
                .ok();
            // Whatever changed while no one listened is forgotten.
            memory.forget();
        }
    });
}

/// Forgets on every announcement from another process, until the
/// connection cannot be made again.
async fn listen(
    mut listener: sea_orm::sqlx::postgres::PgListener,
    memory: &schema::services::aggregates::FigureCache,
) -> Result<(), sea_orm::sqlx::Error> {
    use schema::services::memory::sent_by;
    loop {
        match listener.try_recv().await? {
            // This process forgot already when it made the change.
            Some(notice) if sent_by(notice.payload(), memory.id()) => {}
            Some(notice) => {
                tracing::debug!(round = notice.payload(), "a round changed: forgetting");
                memory.forget();
            }
            None => {
                tracing::warn!("the round-change listener lost its connection; reconnecting");
                memory.forget();
            }
        }
    }
}

/// The key the feed's and histories' cursors are sealed with: the
/// database's own (`server_key`, made by a migration), so every process
/// serving the database reads every cursor.
pub async fn cursor_key(
    db: &DatabaseConnection,
) -> Result<schema::cursor::Cursors, sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT value FROM server_key WHERE name = 'cursor'",
        ))
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("server_key 'cursor'".into()))?;
    let key: String = row.try_get("", "value")?;
    Ok(schema::cursor::Cursors::new(key.as_bytes()))
}
