//! The actix-web application: the shared state, the routes and the one
//! shape of an error response. The GraphQL handler is in [`graphql`], the
//! request ids and CORS in [`middleware`], health, SDL and metrics in
//! [`endpoints`].

mod caching;
mod charts;
mod endpoints;
mod graphiql;
mod graphql;
mod media;
mod middleware;
mod observe;
mod open_data;
mod persisted;
mod ratelimit;
mod replies;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::auth::Authenticator;
use crate::config::Secret;
use schema::{ErrorCode, MognadSchema};

pub use middleware::{REQUEST_ID, RequestId, cors, trace_requests};
pub use observe::{Meters, RequestSpan};
pub use persisted::Persisted;
pub use ratelimit::{Limiter, limiter};
pub use replies::Replies;

/// Most operations one batch may carry.
pub const MAX_BATCH: usize = 10;

/// Shared state of all workers.
pub struct AppState {
    pub schema: MognadSchema,
    /// What the schema keeps in memory (its epoch keys the response cache).
    pub memory: schema::services::aggregates::FigureCache,
    /// Responses answered from frozen rounds, kept as bytes.
    pub replies: replies::Replies,
    /// Writes, and whatever is neither a query, a file nor a chart.
    pub db: DatabaseConnection,
    /// The pool reads go through (`schema::ReadPool`): files and charts
    /// read here, as GraphQL queries do.
    pub reads: DatabaseConnection,
    /// Every client's cost budget, when one is configured.
    pub budgets: Option<std::sync::Arc<schema::budget::Budgets>>,
    pub auth: Authenticator,
    pub max_body_bytes: usize,
    /// The schema's limits (a batch shares one complexity budget).
    pub limits: schema::Limits,
    /// Whether `GET /graphql` from a browser serves GraphiQL (not in production).
    pub graphiql: bool,
    /// Whether a 401 says why the token was refused (not in production).
    pub explain_refusals: bool,
    /// The server's metrics.
    pub meters: Meters,
    /// Longest a request may run.
    pub request_timeout: std::time::Duration,
    /// Where `/metrics` is served: behind a token on the public port, or
    /// openly on a separate (internal) address.
    pub metrics: MetricsAccess,
    /// The multi-threaded runtime a request's GraphQL work runs on, where the
    /// database connections live (see `graphql::on_runtime`).
    pub runtime: tokio::runtime::Handle,
    /// The cell threshold (`MOGNAD_MIN_CELL`), for the open-data files.
    pub min_cell: i64,
    /// Documents known by hash: automatic persisted queries and the allow-list.
    pub persisted: Persisted,
}

/// Who may read `/metrics` on the public port.
pub enum MetricsAccess {
    /// A bearer token: the configured static one, or an SKR admin's JWT.
    Token(Option<Secret>),
    /// Nobody: metrics are served on a separate address.
    Elsewhere,
}

/// Registers the routes on an actix-web app; `/graphql` behind the rate
/// limiter when `limited`.
pub fn routes(cfg: &mut web::ServiceConfig, limiter: &Limiter, limited: bool) {
    cfg.service(
        web::resource("/graphql")
            .wrap(actix_web::middleware::Condition::new(
                limited,
                actix_governor::Governor::new(limiter),
            ))
            .route(web::post().to(graphql::post))
            .route(web::get().to(graphql::get)),
    )
    .service(
        web::resource("/open-data/rounds/{year}/{file}")
            .wrap(actix_web::middleware::Condition::new(
                limited,
                actix_governor::Governor::new(limiter),
            ))
            .route(web::get().to(open_data::file)),
    )
    .service(
        web::resource("/charts/rounds/{year}/radar.svg")
            .wrap(actix_web::middleware::Condition::new(
                limited,
                actix_governor::Governor::new(limiter),
            ))
            .route(web::get().to(charts::segment_radar)),
    )
    .service(
        web::resource("/charts/me/{year}/radar.svg")
            .wrap(actix_web::middleware::Condition::new(
                limited,
                actix_governor::Governor::new(limiter),
            ))
            .route(web::get().to(charts::my_radar)),
    )
    .route("/graphiql/{file}", web::get().to(graphiql::asset))
    .route("/schema.graphql", web::get().to(endpoints::sdl))
    .route("/health/live", web::get().to(endpoints::live))
    .route("/health/ready", web::get().to(endpoints::ready))
    .route("/metrics", web::get().to(endpoints::public_metrics));
}

/// The routes of the separate metrics address (`MOGNAD_METRICS_LISTEN`).
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(endpoints::metrics));
}

/// A response with one GraphQL error carrying `code`.
pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::json())
        .json(
            json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] }),
        )
}
