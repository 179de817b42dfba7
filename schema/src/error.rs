//! The one error type of the API, with the contract's stable `extensions.code`.
//!
//! [`ApiError`] deliberately does not implement `Display`: async-graphql turns
//! every `Display` type into an error by its text, which is how database
//! messages leak to clients. Without it, a `DbErr` can reach a client only
//! through [`ApiError::from`], which logs the cause and shows a generic message.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// The values of `extensions.code`: every error the API returns carries one.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No token where a role is needed (HTTP 200, on the field), or an
    /// invalid token (HTTP 401, for the whole request).
    Unauthenticated,
    /// The caller's role may not do this.
    Forbidden,
    /// No such round or question (or one the caller may not see).
    NotFound,
    /// An argument or answer the API refuses; the message names it.
    BadUserInput,
    /// `expectedVersion` differs from the response's version, or the data exists already.
    Conflict,
    /// The round (or response) is not in a status that allows this.
    FailedPrecondition,
    /// A limit: body size, depth, complexity, aliases or operations per request.
    QueryTooComplex,
    /// Something failed on the server; the cause is logged, never shown.
    InternalServerError,
    /// The request, or one of its statements, ran out of time (HTTP 503);
    /// nothing it wrote was kept.
    Timeout,
    /// The database cannot be reached right now (HTTP 503); try again shortly.
    Unavailable,
    /// The client sent more requests than its rate allows (HTTP 429, with
    /// `Retry-After`).
    RateLimited,
    /// The document is not GraphQL.
    GraphqlParseFailed,
    /// The document does not fit the schema (unknown field, wrong argument type).
    GraphqlValidationFailed,
}

impl ErrorCode {
    /// The code as `extensions.code` carries it, e.g. `NOT_FOUND`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::Timeout => "TIMEOUT",
            Self::Unavailable => "UNAVAILABLE",
            Self::RateLimited => "RATE_LIMITED",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
        }
    }
}

/// An error a client sees. Internal causes are logged, never shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    BadUserInput(String),
    Conflict(String),
    FailedPrecondition(String),
    /// The database gave up the transaction in a race it could not foresee
    /// (a deadlock, a serialization failure, SQLite's busy lock): nothing
    /// was written, and trying again may well succeed. [`retrying`] does.
    Busy,
    /// A statement ran out of time (PostgreSQL's `statement_timeout`).
    Timeout,
    /// No database connection could be had in time.
    Unavailable,
    /// The client may not do this again yet (its cost budget, a kommun's
    /// submissions a minute): the message says why, `retry_after` is the
    /// whole seconds to wait (HTTP 429 with `Retry-After` where the whole
    /// request is refused).
    RateLimited {
        message: String,
        retry_after: u64,
    },
    Internal,
    /// An error with a list beside its message, in `extensions.<name>`:
    /// the question keys `submitResponse` misses (`missing`), what keeps a
    /// questionnaire from opening (`problems`). Code and message are the
    /// inner error's.
    Listing {
        error: Box<ApiError>,
        name: &'static str,
        items: Vec<String>,
    },
}

impl ApiError {
    /// This error with `items` in `extensions.<name>` beside its message.
    pub fn listing(self, name: &'static str, items: Vec<String>) -> Self {
        Self::Listing {
            error: Box::new(self),
            name,
            items,
        }
    }

    /// The value of `extensions.code`.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The code as a value of [`ErrorCode`].
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BadUserInput(_) => ErrorCode::BadUserInput,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            Self::Busy => ErrorCode::Conflict,
            Self::Timeout => ErrorCode::Timeout,
            Self::Unavailable => ErrorCode::Unavailable,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Internal => ErrorCode::InternalServerError,
            Self::Listing { error, .. } => error.error_code(),
        }
    }

    /// The message a client sees.
    pub fn message(&self) -> &str {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::BadUserInput(m)
            | Self::Conflict(m)
            | Self::FailedPrecondition(m)
            | Self::RateLimited { message: m, .. } => m,
            Self::Busy => {
                "the database was busy with other changes; nothing was written: try again"
            }
            Self::Timeout => "the request took too long and was stopped; nothing it wrote was kept",
            Self::Unavailable => "the database cannot be reached right now; try again shortly",
            Self::Internal => "internal server error",
            Self::Listing { error, .. } => error.message(),
        }
    }

    /// Logs `cause` with its chain and returns the generic internal error.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::Internal
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn bad_input(what: impl Into<String>) -> Self {
        Self::BadUserInput(what.into())
    }

    /// RATE_LIMITED after `wait` ([`whole_seconds`]).
    pub fn rate_limited(message: impl Into<String>, wait: std::time::Duration) -> Self {
        Self::RateLimited {
            message: message.into(),
            retry_after: whole_seconds(wait),
        }
    }

    /// The seconds to wait before trying again, for RATE_LIMITED.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// A wait as `Retry-After` says it: whole seconds, rounded up, at least one.
pub fn whole_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Whether the database gave a transaction up in a race: PostgreSQL's
/// serialization failure (40001) or deadlock (40P01), SQLite's busy or
/// locked database (5, 6 and their extended codes).
fn transient(err: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    let Some(database) = e.as_database_error() else {
        return false;
    };
    let Some(code) = database.code() else {
        return false;
    };
    // SQLite's codes are numbers, PostgreSQL's SQLSTATEs five characters
    // that may be digits too (42501, permission denied): each read as its own.
    if database
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
    } else {
        matches!(code.as_ref(), "40001" | "40P01")
    }
}

/// A statement that ran out of time (PostgreSQL 57014), or a database that
/// could not be reached: no connection in time, a connection lost.
fn unreachable(err: &DbErr) -> Option<ApiError> {
    match err {
        // No connection could be had or made: the database is not there.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Some(ApiError::Unavailable),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sea_orm::sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => {
                    Some(ApiError::Timeout)
                }
                sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::Tls(_)
                | sea_orm::sqlx::Error::Protocol(_)
                | sea_orm::sqlx::Error::WorkerCrashed => Some(ApiError::Unavailable),
                _ => None,
            }
        }
        _ => None,
    }
}

/// How many times [`retrying`] runs a transaction at most.
pub const ATTEMPTS: u32 = 5;

/// Runs `attempt` (a whole transaction) again while the database gives it
/// up in a race ([`ApiError::Busy`]), at most [`ATTEMPTS`] times with a
/// short, growing pause; then the client gets CONFLICT ("try again"), never
/// an internal error.
pub async fn retrying<T, F>(mut attempt: impl FnMut() -> F) -> ApiResult<T>
where
    F: std::future::Future<Output = ApiResult<T>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(ApiError::Busy) if tries < ATTEMPTS => {
                tracing::info!(tries, "transaction given up by the database; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(5 << tries)).await;
            }
            other => return other,
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if transient(&err) {
            tracing::info!(error = %err, "the database gave a transaction up");
            return Self::Busy;
        }
        if let Some(unavailable) = unreachable(&err) {
            tracing::warn!(error = %err, "the database is not reachable");
            return unavailable;
        }
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            tracing::info!(error = %err, "unique constraint violated");
            return Self::Conflict("the change conflicts with data that already exists".into());
        }
        if let Some(SqlErr::ForeignKeyConstraintViolation(_)) = err.sql_err() {
            tracing::info!(error = %err, "foreign key violated");
            return Self::Conflict(
                "something the change refers to was removed meanwhile; nothing was written".into(),
            );
        }
        Self::internal(&err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let code = err.code();
        let retry_after = err.retry_after();
        let listing = match &err {
            ApiError::Listing { name, items, .. } => Some((*name, items.clone())),
            _ => None,
        };
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(seconds) = retry_after {
                ext.set("retryAfter", seconds);
            }
            if let Some((name, items)) = listing {
                ext.set(name, items);
            }
        })
    }
}

/// Results of services and resolvers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_never_reach_clients() {
        let err = ApiError::from(DbErr::Custom("SELECT secret FROM table".into()));
        assert_eq!(err, ApiError::Internal);
        let gql = async_graphql::Error::from(err);
        assert_eq!(gql.message, "internal server error");
        let ext = gql.extensions.unwrap();
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("INTERNAL_SERVER_ERROR"))
        );
    }
}

#[cfg(test)]
mod codes {
    use super::*;

    #[test]
    fn every_code_is_spelled_as_graphql_spells_its_enum_value() {
        use async_graphql::resolver_utils::EnumType;
        let items = <ErrorCode as EnumType>::items();
        for item in items {
            assert_eq!(item.name, item.value.as_str());
        }
        assert_eq!(
            items.len(),
            13,
            "the contract's eight codes, the parser's and validator's two, TIMEOUT, UNAVAILABLE and RATE_LIMITED"
        );
    }
}
