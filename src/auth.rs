//! Bearer tokens -> [`Principal`].
//!
//! No `Authorization` header means ANONYMOUS. Any header that is present must
//! carry a valid token, else the whole request is refused (HTTP 401).

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use schema::Principal;

/// Why a request's token was refused. The reason is logged, never the token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header is not `Bearer <token>`")]
    Malformed,
    #[error("token verification is not configured")]
    NotConfigured,
}

/// Verifies bearer tokens against the configured keys.
#[derive(Clone, Debug, Default)]
pub struct Authenticator;

impl Authenticator {
    /// The principal of a request.
    pub async fn authenticate(&self, req: &HttpRequest) -> Result<Principal, AuthError> {
        let Some(header) = req.headers().get(AUTHORIZATION) else {
            return Ok(Principal::anonymous());
        };
        let value = header.to_str().map_err(|_| AuthError::Malformed)?;
        match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Err(AuthError::NotConfigured)
            }
            _ => Err(AuthError::Malformed),
        }
    }
}
