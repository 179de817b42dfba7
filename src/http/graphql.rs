//! GraphQL over HTTP: POST (JSON or `application/graphql`, single or
//! batched) and GET (queries only), the principal from the token, and the
//! status under each media type. Limits and error codes are the schema's
//! ([`schema::Limits`]); only the body size and the batch size are checked
//! here, before anything is parsed.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request};
use futures_util::StreamExt;
use serde_json::json;
use tracing::Instrument as _;

use super::media::{Media, is_graphql_body, negotiate};
use super::observe::Noteworthy;
use super::persisted::Refusal;
use super::ratelimit::Verified;
use super::replies::Key;
use super::{AppState, MAX_BATCH, RequestId, error_response};
use schema::frozen::FrozenFields;
use schema::{ErrorCode, OperationLabel};
use tracing_actix_web::RootSpan;

pub(super) async fn post(
    state: web::Data<Arc<AppState>>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let work = post_within_deadline(state.clone(), req.clone(), body);
    within_deadline(&state, &req, work).await
}

pub(super) async fn get(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
    let work = get_within_deadline(state.clone(), req.clone());
    within_deadline(&state, &req, work).await
}

/// Answers 503 TIMEOUT (with the request id and `Retry-After`) when `work`
/// runs longer than `MOGNAD_REQUEST_TIMEOUT`. The work is dropped: an open
/// transaction rolls back, so nothing it wrote is kept.
async fn within_deadline(
    state: &AppState,
    req: &HttpRequest,
    work: impl Future<Output = HttpResponse>,
) -> HttpResponse {
    let limit = state.request_timeout;
    super::caching::or_refusal(match tokio::time::timeout(limit, work).await {
        Ok(response) => response,
        Err(_) => {
            let id = request_id(req);
            tracing::warn!(
                ms = limit.as_millis() as u64,
                "request stopped at its deadline"
            );
            HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
                .insert_header((header::RETRY_AFTER, "1"))
                .json(json!({ "errors": [{
                    "message": format!(
                        "the request took longer than {} ms and was stopped; nothing it wrote was kept (request {id})",
                        limit.as_millis()
                    ),
                    "extensions": { "code": ErrorCode::Timeout.as_str(), "requestId": id }
                }] }))
        }
    })
}

async fn post_within_deadline(
    state: web::Data<Arc<AppState>>,
    req: HttpRequest,
    mut body: web::Payload,
) -> HttpResponse {
    let Some(media) = negotiate(&req) else {
        return not_acceptable();
    };
    if !is_graphql_body(&req) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "send the request as application/json (UTF-8)",
        );
    }
    let principal = match principal_of(&state, &req).await {
        Ok(p) => p,
        Err(err) => return unauthorized(&state, &err),
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
    let parsed = serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|body| {
            if body.as_array().is_some_and(Vec::is_empty) {
                return Err("the batch is empty".to_owned());
            }
            let requests = body.as_array().map_or(vec![&body], |b| b.iter().collect());
            // A persisted query may come as its hash alone.
            if requests
                .iter()
                .any(|r| !r["query"].is_string() && r["extensions"]["persistedQuery"].is_null())
            {
                return Err("every request needs a string `query`".to_owned());
            }
            serde_json::from_value::<BatchRequest>(body).map_err(|e| e.to_string())
        });
    let batch = match parsed {
        Ok(batch) => batch,
        Err(e) => {
            let message = format!("the body is not a GraphQL request: {e}");
            return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message);
        }
    };
    let mut requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(v) => v,
    };
    for request in &mut requests {
        if let Err(refusal) = state.persisted.resolve(request) {
            return refused(&refusal);
        }
    }
    let batched = requests.len() > 1;
    execute(&state, media, requests, batched, principal, &req).await
}

async fn get_within_deadline(state: web::Data<Arc<AppState>>, req: HttpRequest) -> HttpResponse {
    if state.graphiql && req.query_string().is_empty() && accepts(&req, "text/html") {
        return super::graphiql::page();
    }
    let Some(media) = negotiate(&req) else {
        return not_acceptable();
    };
    let principal = match principal_of(&state, &req).await {
        Ok(p) => p,
        Err(err) => return unauthorized(&state, &err),
    };
    let mut request = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(r) => r,
        Err(e) => {
            let message = format!("the query string is not a GraphQL request: {e}");
            return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &message);
        }
    };
    if let Err(refusal) = state.persisted.resolve(&mut request) {
        return refused(&refusal);
    }
    // A document nested too deep is not parsed here: the schema refuses it.
    if !schema::limits::nests_too_deep(&request.query)
        && let Ok(doc) = async_graphql::parser::parse_query(&request.query)
        && selected_operation(&doc, request.operation_name.as_deref()) != Some(OperationType::Query)
    {
        return HttpResponse::build(StatusCode::METHOD_NOT_ALLOWED)
            .insert_header((header::ALLOW, "POST"))
            .json(json!({ "errors": [{
                "message": "only queries are accepted over GET; send mutations with POST",
                "extensions": { "code": ErrorCode::BadUserInput.as_str() }
            }] }));
    }
    execute(&state, media, vec![request], false, principal, &req).await
}

/// Runs a request's GraphQL work on the server's multi-threaded runtime
/// (`AppState::runtime`) and waits for it; `None` if it panicked (logged
/// by the runtime). actix-web runs each worker on its own single-threaded
/// runtime, and a pooled database connection stays registered with the
/// runtime that opened it: a request on one worker using a connection
/// opened on another had every database reply read by that other worker's
/// thread and handed over, two thread wake-ups per round trip — measured
/// as half of a save's server time. On the one runtime every connection is
/// opened and used where its replies are read. Dropping the returned future
/// (the request's deadline, a client gone) aborts the work, so its
/// transaction rolls back as before.
async fn on_runtime<T: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    /// Aborts the task when the request's future is dropped.
    struct Abort<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for Abort<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = Abort(runtime.spawn(work.in_current_span()));
    (&mut task.0).await.ok()
}

async fn execute(
    state: &AppState,
    media: Media,
    requests: Vec<Request>,
    batched: bool,
    principal: schema::Principal,
    req: &HttpRequest,
) -> HttpResponse {
    let request_id = &request_id(req);
    let span = req.extensions().get::<RootSpan>().cloned();
    if let Some(span) = &span {
        span.record("role", principal.role().name());
        if let Some(code) = principal.kommun_code() {
            span.record("kommun", code.as_str());
        }
    }
    if requests.len() > MAX_BATCH {
        let message = format!("a batch may hold at most {MAX_BATCH} operations");
        return error_response(
            StatusCode::BAD_REQUEST,
            ErrorCode::QueryTooComplex,
            &message,
        );
    }
    // Who asks, as the policy sees it: what may be kept and cached follows.
    let audience = schema::policy::audience(&principal);
    let caching = audience.caching();
    // A response answered from frozen rounds before goes out again as it was.
    let key = match requests.as_slice() {
        [single] if !batched => Key::of(&audience, single),
        _ => None,
    };
    let epoch = state.memory.epoch();
    if let Some(key) = &key
        && let Some(reply) = state.replies.get(key, epoch)
    {
        observe_replay(state, span.as_ref(), reply.operation);
        let mut response = HttpResponse::Ok();
        response.content_type(media.as_str());
        if shared_get(req, caching) {
            if shared_answer(req, &mut response, &reply.body) {
                return response.finish();
            }
        } else {
            super::caching::headers(&mut response, caching, None);
        }
        return response.body(reply.body);
    }
    let frozen = Arc::new(FrozenFields::default());
    // The operations of a batch share one complexity budget.
    let budget = schema::cost::BatchBudget::new(state.limits.complexity);
    let labels: Vec<OperationLabel> = requests.iter().map(|_| OperationLabel::default()).collect();
    // The client's cost budget: the schema takes each operation's cost from it.
    let spending = super::ratelimit::budget_of(state, &principal, req);
    let requests: Vec<Request> = requests
        .into_iter()
        .zip(&labels)
        .map(|(r, label)| {
            let mut r = r
                .data(principal.clone())
                .data(label.clone())
                .data(frozen.clone());
            if let Some(spending) = &spending {
                r = r.data(spending.clone());
            }
            if batched { r.data(budget.clone()) } else { r }
        })
        .collect();
    let started = std::time::Instant::now();
    let schema = state.schema.clone();
    let response = if batched {
        on_runtime(&state.runtime, async move {
            schema.execute_batch(BatchRequest::Batch(requests)).await
        })
        .await
    } else {
        let Some(single) = requests.into_iter().next() else {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "the batch is empty",
            );
        };
        on_runtime(&state.runtime, async move {
            BatchResponse::Single(schema.execute(single).await)
        })
        .await
    };
    let Some(response) = response else {
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalServerError,
            "internal server error",
        );
    };
    observe(state, span.as_ref(), &labels, &response, started.elapsed());
    let mutation = labels
        .iter()
        .any(|l| l.get().is_some_and(|o| o.starts_with("mutation")));
    let errors = match &response {
        BatchResponse::Single(r) => !r.errors.is_empty(),
        BatchResponse::Batch(v) => v.iter().any(|r| !r.errors.is_empty()),
    };
    if mutation || errors {
        req.extensions_mut().insert(Noteworthy);
    }
    // A request error (the document could not run: no data and no error has a
    // path) is a 400 under the GraphQL-over-HTTP media type, and has no `data`
    // entry under either; field errors are 200.
    let failed = match &response {
        BatchResponse::Single(r) => {
            r.data == async_graphql::Value::Null
                && !r.errors.is_empty()
                && r.errors.iter().all(|e| e.path.is_empty())
        }
        BatchResponse::Batch(_) => false,
    };
    // The database gone or a statement out of time: 503, to be tried again.
    let unavailable = match &response {
        BatchResponse::Single(r) => r.errors.iter().any(|e| {
            code_of(e).is_some_and(|c| {
                c == ErrorCode::Timeout.as_str() || c == ErrorCode::Unavailable.as_str()
            })
        }),
        BatchResponse::Batch(_) => false,
    };
    // The client's budget could not hold the request: 429, as the rate limit.
    let limited = match &response {
        BatchResponse::Single(r) if failed => r
            .errors
            .iter()
            .find(|e| code_of(e).is_some_and(|c| c == ErrorCode::RateLimited.as_str()))
            .map(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.get("retryAfter"))
                    .and_then(|v| match v {
                        async_graphql::Value::Number(n) => n.as_u64(),
                        _ => None,
                    })
                    .unwrap_or(1)
            }),
        _ => None,
    };
    if let Some(seconds) = limited {
        state.meters.count("mognad_rate_limited_total", &[]);
        let mut body = serde_json::to_value(&response).unwrap_or_default();
        if let Some(fields) = body.as_object_mut() {
            fields.remove("data");
        }
        return HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
            .content_type(media.as_str())
            .insert_header((header::RETRY_AFTER, seconds.to_string()))
            .json(body);
    }
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if media == Media::GraphqlResponse && failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut builder = HttpResponse::build(status);
    builder.content_type(media.as_str());
    super::caching::headers(&mut builder, caching, None);
    if !failed && !unavailable {
        if let (Some(key), BatchResponse::Single(single)) = (key, &response)
            && single.errors.is_empty()
            && frozen.covers(&single.data)
            && let Ok(body) = serde_json::to_vec(single)
        {
            let body = web::Bytes::from(body);
            let operation = labels.first().and_then(OperationLabel::get);
            state
                .replies
                .put(key, epoch, body.clone(), operation.unwrap_or_default());
            if shared_get(req, caching) && shared_answer(req, &mut builder, &body) {
                return builder.finish();
            }
            return builder.body(body);
        }
        // The common case goes out as async-graphql wrote it, serialized once.
        return builder.json(response);
    }
    let mut body = serde_json::to_value(&response).unwrap_or_default();
    if failed && let Some(fields) = body.as_object_mut() {
        fields.remove("data");
    }
    if unavailable {
        builder.insert_header((header::RETRY_AFTER, "1"));
        // The request id goes with the error, for the operator's logs.
        if let Some(errors) = body.get_mut("errors").and_then(|e| e.as_array_mut()) {
            for error in errors {
                if let Some(extensions) =
                    error.get_mut("extensions").and_then(|x| x.as_object_mut())
                {
                    extensions.insert("requestId".to_owned(), json!(request_id));
                }
            }
        }
    }
    builder.json(body)
}

/// The `extensions.code` of an error, when it has one.
fn code_of(error: &async_graphql::ServerError) -> Option<String> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(s) => Some(s.clone()),
        async_graphql::Value::Enum(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Counts each operation by its label and outcome, times it, and names it
/// in the request span.
fn observe(
    state: &AppState,
    span: Option<&RootSpan>,
    labels: &[OperationLabel],
    response: &BatchResponse,
    took: std::time::Duration,
) {
    let responses: Vec<&async_graphql::Response> = match response {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(v) => v.iter().collect(),
    };
    let mut names = Vec::new();
    for (label, response) in labels.iter().zip(responses) {
        let operation = label.get().unwrap_or_else(|| "invalid".to_owned());
        let outcome = response.errors.first().map_or("ok".to_owned(), |e| {
            code_of(e)
                .filter(|c| c.len() <= 32 && c.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                .unwrap_or_else(|| "OTHER".to_owned())
        });
        state.meters.count(
            "mognad_graphql_requests_total",
            &[("operation", operation.clone()), ("outcome", outcome)],
        );
        state.meters.observe(
            "mognad_graphql_request_duration_seconds",
            &[("operation", operation.clone())],
            took.as_secs_f64(),
        );
        names.push(operation);
    }
    if let Some(span) = span {
        span.record("operation", names.join(", "));
    }
}

/// Counts a response sent again from [`Replies`] as its operation, and
/// names it in the request span.
fn observe_replay(state: &AppState, span: Option<&RootSpan>, operation: String) {
    state.meters.count(
        "mognad_graphql_requests_total",
        &[
            ("operation", operation.clone()),
            ("outcome", "ok".to_owned()),
        ],
    );
    state.meters.count("mognad_graphql_replayed_total", &[]);
    if let Some(span) = span {
        span.record("operation", operation);
    }
}

/// The caller: the principal the rate limiter verified, or the token
/// verified now.
pub(super) async fn principal_of(
    state: &AppState,
    req: &HttpRequest,
) -> Result<schema::Principal, crate::auth::AuthError> {
    let verified = req
        .extensions()
        .get::<Verified>()
        .map(|Verified(principal)| principal.clone());
    if let Some(principal) = verified {
        return Ok(principal);
    }
    state.auth.authenticate_refreshing(req).await
}

/// A request whose document could not be had (see [`super::persisted`]).
fn refused(refusal: &Refusal) -> HttpResponse {
    match refusal {
        // Apollo's clients read the message, and then send the document.
        Refusal::NotFound => HttpResponse::Ok().json(json!({ "errors": [{
            "message": "PersistedQueryNotFound",
            "extensions": { "code": "PERSISTED_QUERY_NOT_FOUND" }
        }] })),
        Refusal::Invalid(message) => {
            error_response(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, message)
        }
        Refusal::NotRegistered => error_response(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "only registered documents run here (MOGNAD_PERSISTED_ONLY): send a persisted query",
        ),
    }
}

/// Whether a response read wholly from frozen rounds may be kept by shared
/// caches: a GET (an automatic persisted query, say) without a token.
fn shared_get(req: &HttpRequest, caching: schema::policy::Caching) -> bool {
    req.method() == actix_web::http::Method::GET && caching == schema::policy::Caching::Shared
}

/// [`super::caching::shared_frozen`] for a GraphQL answer, whose media type
/// follows `Accept`: shared caches keep one per `Accept` too.
fn shared_answer(
    req: &HttpRequest,
    response: &mut actix_web::HttpResponseBuilder,
    body: &[u8],
) -> bool {
    let unchanged = super::caching::shared_frozen(req, response, body);
    response.append_header((header::VARY, "Accept"));
    unchanged
}

/// The id [`super::trace_requests`] gave the request.
fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|RequestId(id)| id.clone())
        .unwrap_or_default()
}

/// 406: the client accepts neither response type.
fn not_acceptable() -> HttpResponse {
    HttpResponse::build(StatusCode::NOT_ACCEPTABLE)
        .content_type(ContentType::json())
        .json(json!({ "errors": [{
            "message": "the response is application/graphql-response+json or application/json; accept one of them",
            "extensions": { "code": ErrorCode::BadUserInput.as_str() }
        }] }))
}

/// 401 for a token that was refused: "invalid token", and in development
/// (`AppState::explain_refusals`) why, so that whoever is wiring a client
/// sees what to fix; production keeps it terse.
pub(super) fn unauthorized(state: &AppState, err: &crate::auth::AuthError) -> HttpResponse {
    let reason = err.to_string();
    // The reason may quote the token's header or claims: cut and cleaned.
    tracing::info!(reason = %crate::telemetry::clean(&reason, 300), "token refused");
    let message = if state.explain_refusals {
        format!(
            "invalid token: {}",
            crate::telemetry::clean(&err.explained(), 300)
        )
    } else {
        "invalid token".to_owned()
    };
    let mut response = HttpResponse::build(StatusCode::UNAUTHORIZED);
    super::caching::refusal(&mut response);
    response
        .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
        .json(json!({ "errors": [{ "message": message, "extensions": { "code": ErrorCode::Unauthenticated.as_str() } }] }))
}

/// Whether the client names `media` in `Accept` (a browser asks for HTML).
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
