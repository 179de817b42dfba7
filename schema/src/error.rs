//! The one error type of the API, with the contract's stable `extensions.code`.
//!
//! [`ApiError`] deliberately does not implement `Display`: async-graphql turns
//! every `Display` type into an error by its text, which is how database
//! messages leak to clients. Without it, a `DbErr` can reach a client only
//! through [`ApiError::from`], which logs the cause and shows a generic message.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// An error a client sees. Internal causes are logged, never shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    BadUserInput(String),
    Conflict(String),
    FailedPrecondition(String),
    Internal,
}

impl ApiError {
    /// The value of `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::FailedPrecondition(_) => "FAILED_PRECONDITION",
            Self::Internal => "INTERNAL_SERVER_ERROR",
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
            | Self::FailedPrecondition(m) => m,
            Self::Internal => "internal server error",
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
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            tracing::info!(error = %err, "unique constraint violated");
            return Self::Conflict("the change conflicts with data that already exists".into());
        }
        Self::internal(&err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let code = err.code();
        async_graphql::Error::new(err.message()).extend_with(|_, ext| ext.set("code", code))
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
