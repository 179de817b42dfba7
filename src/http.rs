//! The actix-web application: routes, GraphQL over HTTP, limits and CORS.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentType};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{BatchRequest, BatchResponse, Request};
use futures_util::StreamExt;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tracing::Instrument;

use crate::auth::Authenticator;
use crate::config::Secret;
use schema::{ErrorCode, MognadSchema, Role};

/// Most aliases one document may use.
pub const MAX_ALIASES: usize = 30;
/// Most operations one batch may carry.
pub const MAX_BATCH: usize = 10;

/// Shared state of all workers.
pub struct AppState {
    pub schema: MognadSchema,
    pub db: DatabaseConnection,
    pub auth: Authenticator,
    pub max_body_bytes: usize,
    pub graphql_requests: AtomicU64,
    /// Where `/metrics` is served: behind a token on the public port, or
    /// openly on a separate (internal) address.
    pub metrics: MetricsAccess,
}

/// Who may read `/metrics` on the public port.
pub enum MetricsAccess {
    /// A bearer token: the configured static one, or an SKR admin's JWT.
    Token(Option<Secret>),
    /// Nobody: metrics are served on a separate address.
    Elsewhere,
}

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

/// Registers the routes on an actix-web app.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql_post))
        .route("/graphql", web::get().to(graphql_get))
        .route("/schema.graphql", web::get().to(sdl))
        .route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready))
        .route("/metrics", web::get().to(public_metrics));
}

/// The routes of the separate metrics address (`MOGNAD_METRICS_LISTEN`).
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

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

/// A response with one GraphQL error carrying `code`.
pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::json())
        .json(
            json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] }),
        )
}

async fn graphql_post(
    state: web::Data<Arc<AppState>>,
    req: HttpRequest,
    mut body: web::Payload,
) -> HttpResponse {
    let principal = match state.auth.authenticate(&req) {
        Ok(p) => p,
        Err(err) => return unauthorized(&err.to_string()),
    };
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "the request body could not be read",
            );
        };
        if bytes.len() + chunk.len() > state.max_body_bytes {
            let message = format!(
                "the request body is larger than {} bytes",
                state.max_body_bytes
            );
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::QueryTooComplex,
                &message,
            );
        }
        bytes.extend_from_slice(&chunk);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let batch = if content_type.starts_with("application/graphql") && !content_type.contains("json")
    {
        match std::str::from_utf8(&bytes) {
            Ok(query) => BatchRequest::Single(Request::new(query)),
            Err(_) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadUserInput,
                    "the query is not UTF-8",
                );
            }
        }
    } else {
        match serde_json::from_slice::<BatchRequest>(&bytes) {
            Ok(batch) => batch,
            Err(e) => {
                let message = format!("the body is not a GraphQL request: {e}");
                return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message);
            }
        }
    };
    let requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(v) => v,
    };
    let batched = requests.len() > 1;
    execute(&state, &req, requests, batched, principal).await
}

async fn graphql_get(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
    if req.query_string().is_empty() && accepts(&req, "text/html") {
        return HttpResponse::Ok().content_type(ContentType::html()).body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .title("mognad")
                .finish(),
        );
    }
    let principal = match state.auth.authenticate(&req) {
        Ok(p) => p,
        Err(err) => return unauthorized(&err.to_string()),
    };
    let request = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(r) => r,
        Err(e) => {
            let message = format!("the query string is not a GraphQL request: {e}");
            return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message);
        }
    };
    if let Ok(doc) = async_graphql::parser::parse_query(&request.query)
        && selected_operation(&doc, request.operation_name.as_deref()) != Some(OperationType::Query)
    {
        return HttpResponse::build(StatusCode::METHOD_NOT_ALLOWED)
            .insert_header((header::ALLOW, "POST"))
            .json(json!({ "errors": [{
                "message": "only queries are accepted over GET; send mutations with POST",
                "extensions": { "code": ErrorCode::BadUserInput.as_str() }
            }] }));
    }
    execute(&state, &req, vec![request], false, principal).await
}

async fn execute(
    state: &AppState,
    req: &HttpRequest,
    requests: Vec<Request>,
    batched: bool,
    principal: schema::Principal,
) -> HttpResponse {
    if requests.len() > MAX_BATCH {
        let message = format!("a batch may hold at most {MAX_BATCH} operations");
        return error_response(
            StatusCode::BAD_REQUEST,
            ErrorCode::QueryTooComplex,
            &message,
        );
    }
    let mut parsed = Vec::with_capacity(requests.len());
    for r in &requests {
        let doc = async_graphql::parser::parse_query(&r.query);
        parsed.push(doc.is_ok());
        if let Ok(doc) = doc {
            let aliases = count_aliases(&doc);
            if aliases > MAX_ALIASES {
                let message =
                    format!("the query uses {aliases} aliases; at most {MAX_ALIASES} are allowed");
                return error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::QueryTooComplex,
                    &message,
                );
            }
        }
    }
    state
        .graphql_requests
        .fetch_add(requests.len() as u64, Ordering::Relaxed);
    let requests: Vec<Request> = requests
        .into_iter()
        .map(|r| r.data(principal.clone()))
        .collect();
    let response = if batched {
        state
            .schema
            .execute_batch(BatchRequest::Batch(requests))
            .await
    } else {
        let Some(single) = requests.into_iter().next() else {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "the batch is empty",
            );
        };
        BatchResponse::Single(state.schema.execute(single).await)
    };
    let response = match response {
        BatchResponse::Single(r) => BatchResponse::Single(with_codes(r, parsed[0])),
        BatchResponse::Batch(v) => BatchResponse::Batch(
            v.into_iter()
                .zip(parsed)
                .map(|(r, ok)| with_codes(r, ok))
                .collect(),
        ),
    };
    let graphql_media = accepts(req, "application/graphql-response+json");
    // A request error (the document could not run: no data and no error has a
    // path) is a 400 under the GraphQL-over-HTTP media type; field errors are 200.
    let failed = match &response {
        BatchResponse::Single(r) => {
            r.data == async_graphql::Value::Null
                && !r.errors.is_empty()
                && r.errors.iter().all(|e| e.path.is_empty())
        }
        BatchResponse::Batch(_) => false,
    };
    let status = if graphql_media && failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let content_type = if graphql_media {
        "application/graphql-response+json"
    } else {
        "application/json"
    };
    HttpResponse::build(status)
        .content_type(content_type)
        .json(response)
}

/// Gives every error an `extensions.code`: the limit errors of the validator
/// QUERY_TOO_COMPLEX, a query that does not parse GRAPHQL_PARSE_FAILED, other
/// request-level (validation) errors GRAPHQL_VALIDATION_FAILED, and field
/// errors without a code (argument values the schema refuses) BAD_USER_INPUT.
fn with_codes(mut response: async_graphql::Response, parsed: bool) -> async_graphql::Response {
    for err in &mut response.errors {
        let has_code = err
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if err.message.starts_with("Query is too complex")
            || err.message.starts_with("Query is nested too deep")
        {
            ErrorCode::QueryTooComplex
        } else if !parsed {
            ErrorCode::GraphqlParseFailed
        } else if err.path.is_empty() {
            ErrorCode::GraphqlValidationFailed
        } else {
            ErrorCode::BadUserInput
        };
        err.extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
    response
}

fn unauthorized(reason: &str) -> HttpResponse {
    tracing::info!(reason, "token refused");
    HttpResponse::build(StatusCode::UNAUTHORIZED)
        .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
        .json(json!({ "errors": [{ "message": "invalid token", "extensions": { "code": ErrorCode::Unauthenticated.as_str() } }] }))
}

fn accepts(req: &HttpRequest, media: &str) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(media))
}

/// The type of the operation a request would run, if it can be told.
fn selected_operation(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        // Ambiguous: refuse over GET unless every operation is a query.
        (DocumentOperations::Multiple(ops), None) => ops
            .values()
            .all(|op| op.node.ty == OperationType::Query)
            .then_some(OperationType::Query),
    }
}

fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + walk(&f.node.selection_set.node)
                }
                Selection::InlineFragment(f) => walk(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let ops: usize = doc
        .operations
        .iter()
        .map(|(_, op)| walk(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc
        .fragments
        .values()
        .map(|f| walk(&f.node.selection_set.node))
        .sum();
    ops + fragments
}

async fn sdl(state: web::Data<Arc<AppState>>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(state.schema.sdl())
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn ready(state: web::Data<Arc<AppState>>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}

/// `/metrics` on the public port: with the metrics token or an SKR admin's
/// token, else 401 (403 for another role's valid token); 404 when metrics
/// are served on their own address.
async fn public_metrics(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
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
    match state.auth.authenticate(&req) {
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
    }
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

/// The Prometheus text. Nothing here moves with the content of a request:
/// no counter of statements, answers or rows, only of operations.
async fn metrics(state: web::Data<Arc<AppState>>) -> HttpResponse {
    let body = format!(
        "# HELP mognad_graphql_requests_total GraphQL operations the server has executed.\n\
         # TYPE mognad_graphql_requests_total counter\n\
         mognad_graphql_requests_total {}\n",
        state.graphql_requests.load(Ordering::Relaxed),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
