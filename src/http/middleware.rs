//! Middleware: a request id and HTTP metrics for every request, and CORS.

use actix_cors::Cors;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web;
use std::sync::Arc;

use super::AppState;

/// A request's id, for the handlers and middleware after [`trace_requests`].
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Gives every request an id (the client's `X-Request-Id` when it is a
/// plain token, else a new UUID) for the request span ([`super::observe`])
/// and the handlers, counts it in the HTTP metrics, and returns the id in
/// the response. It runs outside the rate limiter, so refusals are counted
/// and carry an id too.
pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let state = req.app_data::<web::Data<Arc<AppState>>>().cloned();
    let start = std::time::Instant::now();
    let mut res = next.call(req).await?;
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(header::HeaderName::from_static(REQUEST_ID), value);
    }
    if let Some(state) = state {
        let status = res.status().as_u16().to_string();
        state
            .meters
            .count("mognad_http_requests_total", &[("status", status)]);
        state.meters.observe(
            "mognad_http_request_duration_seconds",
            &[],
            start.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// The header that carries a request's id.
pub const REQUEST_ID: &str = "x-request-id";

/// CORS for the configured origins (none: no cross-origin browser access).
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}
