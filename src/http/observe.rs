//! What an operator sees: Prometheus metrics (the `metrics` crate's
//! recorder, rendered by `metrics-exporter-prometheus`) and the request
//! span `tracing-actix-web` opens for every request.
//!
//! Metrics (every label value comes from a closed set: the schema's root
//! fields, the error codes, HTTP statuses):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `mognad_graphql_requests_total` | counter | `operation` (`query maturityTrend`, `invalid`), `outcome` (`ok` or an error code) |
//! | `mognad_graphql_request_duration_seconds` | histogram | `operation` |
//! | `mognad_graphql_replayed_total` | counter | – |
//! | `mognad_http_requests_total` | counter | `status` |
//! | `mognad_http_request_duration_seconds` | histogram | – |
//! | `mognad_rate_limited_total` | counter | – |
//! | `mognad_db_pool_connections` | gauge | `state` (`idle`, `in_use`), `pool` (`writes`, `reads`) |
//! | `mognad_db_pool_max_connections` | gauge | `pool` |
//!
//! Each server has a recorder of its own (tests run several in one process);
//! nothing here moves with the content of a request (answers, rows).
//!
//! The request span carries the request id, method, path (never the query
//! string), and, once known, the operation, role and kommun code — never a
//! token, an answer or a variable.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use metrics::{Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use sea_orm::{DatabaseConnection, DbBackend};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use super::middleware::RequestId;

const METADATA: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// One server's metrics.
pub struct Meters {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Meters {
    fn default() -> Self {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(&BUCKETS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        for (name, help) in [
            (
                "mognad_graphql_requests_total",
                "GraphQL operations executed, by operation and outcome.",
            ),
            (
                "mognad_graphql_request_duration_seconds",
                "Time to execute a GraphQL operation.",
            ),
            ("mognad_http_requests_total", "HTTP requests, by status."),
            (
                "mognad_http_request_duration_seconds",
                "Time from a request's arrival to its response.",
            ),
            (
                "mognad_graphql_replayed_total",
                "GraphQL responses sent again from memory (answered from frozen rounds before).",
            ),
            (
                "mognad_rate_limited_total",
                "Requests refused with 429, by the kind of client key.",
            ),
            (
                "mognad_db_pool_connections",
                "Database connections of the pool, idle or in use.",
            ),
            (
                "mognad_db_pool_max_connections",
                "Most connections the pool opens.",
            ),
        ] {
            if name.ends_with("_seconds") {
                recorder.describe_histogram(name.into(), None, help.into());
            } else if name.starts_with("mognad_db_pool") {
                recorder.describe_gauge(name.into(), None, help.into());
            } else {
                recorder.describe_counter(name.into(), None, help.into());
            }
        }
        Self { recorder, handle }
    }
}

fn key(name: &'static str, labels: &[(&'static str, String)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, v.clone()))
        .collect();
    Key::from_parts(name, labels)
}

impl Meters {
    pub fn count(&self, name: &'static str, labels: &[(&'static str, String)]) {
        self.recorder
            .register_counter(&key(name, labels), &METADATA)
            .increment(1);
    }

    pub fn observe(&self, name: &'static str, labels: &[(&'static str, String)], seconds: f64) {
        self.recorder
            .register_histogram(&key(name, labels), &METADATA)
            .record(seconds);
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, String)], value: f64) {
        self.recorder
            .register_gauge(&key(name, labels), &METADATA)
            .set(value);
    }

    /// The Prometheus text, with the pools' current use (`pool`: `writes`
    /// or `reads`).
    pub fn render(&self, pools: &[(&'static str, &DatabaseConnection)]) -> String {
        for (name, db) in pools {
            let (size, idle, max) = match db.get_database_backend() {
                DbBackend::Postgres => {
                    let pool = db.get_postgres_connection_pool();
                    (
                        pool.size(),
                        pool.num_idle(),
                        pool.options().get_max_connections(),
                    )
                }
                _ => {
                    let pool = db.get_sqlite_connection_pool();
                    (
                        pool.size(),
                        pool.num_idle(),
                        pool.options().get_max_connections(),
                    )
                }
            };
            let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
            let pool = || ("pool", (*name).to_owned());
            self.gauge(
                "mognad_db_pool_connections",
                &[("state", "idle".into()), pool()],
                f64::from(idle),
            );
            self.gauge(
                "mognad_db_pool_connections",
                &[("state", "in_use".into()), pool()],
                f64::from(size - idle),
            );
            self.gauge("mognad_db_pool_max_connections", &[pool()], f64::from(max));
        }
        self.handle.render()
    }
}

/// A request whose end is logged at INFO even when it went well: a
/// mutation, or an operation that answered with errors. Other successful
/// requests faster than [`SLOW_MS`] are logged at DEBUG (`RUST_LOG=mognad=debug`):
/// at thousands of reads a second their lines would cost more than the reads.
#[derive(Clone, Copy)]
pub struct Noteworthy;

/// A successful request this slow (milliseconds) is logged at INFO.
pub const SLOW_MS: u64 = 1000;

/// When a request arrived (for its duration).
#[derive(Clone, Copy)]
pub struct Arrived(pub Instant);

/// The request span: id, method and path at once; operation, role, kommun
/// and status recorded as they become known.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request
            .extensions()
            .get::<RequestId>()
            .map(|RequestId(id)| id.clone())
            .unwrap_or_default();
        request.extensions_mut().insert(Arrived(Instant::now()));
        tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            path = %crate::telemetry::clean(request.path(), 200),
            operation = tracing::field::Empty,
            role = tracing::field::Empty,
            kommun = tracing::field::Empty,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, arrived) = match outcome {
            Ok(response) => (
                response.status().as_u16(),
                response.request().extensions().get::<Arrived>().copied(),
            ),
            Err(e) => (e.as_response_error().status_code().as_u16(), None),
        };
        span.record("status", status);
        let ms = arrived.map_or(0, |Arrived(at)| at.elapsed().as_millis() as u64);
        let noteworthy = match outcome {
            Ok(response) => response
                .request()
                .extensions()
                .get::<Noteworthy>()
                .is_some(),
            Err(_) => true,
        };
        span.in_scope(|| {
            if status >= 500 {
                tracing::warn!(status, ms, "request finished");
            } else if noteworthy || status >= 400 || ms >= SLOW_MS {
                tracing::info!(status, ms, "request finished");
            } else {
                tracing::debug!(status, ms, "request finished");
            }
        });
    }
}
