//! Health, the SDL and the metrics.

use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{AppState, MetricsAccess, error_response};
use schema::policy::Caching;
use schema::{ErrorCode, Role};

/// The schema's SDL: the same for everyone (a public document).
pub(super) async fn sdl(state: web::Data<Arc<AppState>>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    super::caching::headers(&mut response, Caching::Shared, None);
    response
        .content_type("text/plain; charset=utf-8")
        .body(state.schema.sdl())
}

pub(super) async fn live() -> HttpResponse {
    super::caching::or_refusal(HttpResponse::Ok().json(json!({ "status": "ok" })))
}

/// Readiness: the database answers a ping within a second, through both
/// pools (writes' and reads').
pub(super) async fn ready(state: web::Data<Arc<AppState>>) -> HttpResponse {
    let both = async {
        state.db.ping().await?;
        state.reads.ping().await
    };
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), both).await;
    // The answer of this moment: never kept.
    super::caching::or_refusal(match ping {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
        Err(_) => {
            tracing::warn!("readiness check: no answer from the database within a second");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    })
}

/// `/metrics` on the public port: with the metrics token or an SKR admin's
/// token, else 401 (403 for another role's valid token); 404 when metrics
/// are served on their own address.
pub(super) async fn public_metrics(
    state: web::Data<Arc<AppState>>,
    req: HttpRequest,
) -> HttpResponse {
    let token = match &state.metrics {
        MetricsAccess::Elsewhere => return HttpResponse::NotFound().finish(),
        MetricsAccess::Token(token) => token,
    };
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let (Some(given), Some(token)) = (bearer, token)
        && same_secret(given, token.expose())
    {
        return metrics(state).await;
    }
    let refused = |status: StatusCode, code: ErrorCode, message: &str| {
        let mut response = error_response(status, code, message);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
        }
        response
    };
    super::caching::or_refusal(match state.auth.authenticate_refreshing(&req).await {
        Ok(p) if p.role() == Role::SkrAdmin => metrics(state).await,
        Ok(p) if p.role() != Role::Anonymous => refused(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "metrics are for SKR admins and the metrics token",
        ),
        _ => refused(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "metrics need the metrics token or an SKR admin's token",
        ),
    })
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The Prometheus text ([`super::observe`]). Nothing here moves with the
/// content of a request: no counter of statements, answers or rows.
pub(super) async fn metrics(state: web::Data<Arc<AppState>>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    super::caching::headers(&mut response, Caching::Private, None);
    response
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(
            state
                .meters
                .render(&[("writes", &state.db), ("reads", &state.reads)]),
        )
}
