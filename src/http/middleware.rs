//! Middleware: a request id and a tracing span for every request, and CORS.

use actix_cors::Cors;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use tracing::Instrument;

/// A request's id, for the handlers and middleware after [`trace_requests`].
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Gives every request an id (the client's `X-Request-Id` when it is a
/// plain token, else a new UUID), runs it inside a tracing span carrying
/// that id, logs its status and duration, and returns the id in the response.
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
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.path());
    let start = std::time::Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(header::HeaderName::from_static(REQUEST_ID), value);
    }
    let status = res.status().as_u16();
    span.in_scope(|| tracing::info!(status, ms = start.elapsed().as_millis() as u64, "handled"));
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
