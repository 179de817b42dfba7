//! `Application::build(config)`: connect, migrate, load reference data when the
//! database is new, build the schema and bind the server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use migration::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::auth::Authenticator;
use crate::config::{Config, Database};
use crate::db::{self, StatementCounter};
use crate::http::{self, AppState, MetricsAccess};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Connect(#[from] db::ConnectError),
    #[error("migration failed: {0}")]
    Migrate(sea_orm::DbErr),
    #[error("loading the reference data failed: {0}")]
    Seed(#[from] migration::seed::SeedError),
    #[error(transparent)]
    Keys(#[from] crate::auth::KeyError),
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("MOGNAD_RATE_LIMIT / MOGNAD_RATE_BURST give no usable rate")]
    RateLimit,
    #[error("persisted queries: {0}")]
    Persisted(String),
    #[error("webhooks: {0}")]
    Webhooks(String),
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// The metrics server on `MOGNAD_METRICS_LISTEN`, and its port.
    metrics: Option<(u16, Server)>,
    db: DatabaseConnection,
    /// The pool reads go through.
    reads: DatabaseConnection,
    statements: StatementCounter,
    /// Delivers webhooks while the server runs.
    dispatcher: crate::webhooks::Dispatcher,
}

/// Binds an address, naming it in the error.
fn bind(addr: &str) -> Result<(TcpListener, u16), StartupError> {
    let failed = |source| StartupError::Listen {
        addr: addr.to_owned(),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(failed)?;
    let port = listener.local_addr().map_err(failed)?.port();
    Ok((listener, port))
}

impl Application {
    /// Connects, migrates, seeds an empty database and binds `config.listen`.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let (db, statements, quiet) = prepare_database(&config).await?;
        let codes = entity::municipality::Entity::find()
            .all(&db)
            .await
            .map_err(StartupError::Migrate)?
            .into_iter()
            .map(|m| m.code)
            .collect();
        let auth = Authenticator::new(&config, codes).await?;
        let cursors = db::cursor_key(&db).await.map_err(StartupError::Migrate)?;
        let reads = db::connect_reads(&config, &db, &statements).await?;
        let (listener, port) = bind(&config.listen)?;
        let metrics_listener = config.metrics_listen.as_deref().map(bind).transpose()?;
        // Webhooks reach public addresses (or allowed ones), never this server.
        let own = [Some(&listener), metrics_listener.as_ref().map(|(l, _)| l)]
            .into_iter()
            .flatten()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let targets = std::sync::Arc::new(
            schema::services::targets::Targets::new(&config.webhook_allow, own)
                .map_err(|e| StartupError::Webhooks(format!("MOGNAD_WEBHOOK_ALLOW: {e}")))?,
        );
        let limits = schema::Limits {
            complexity: config.max_complexity,
            ..schema::Limits::default()
        };
        let memory = schema::services::aggregates::FigureCache::default();
        if let Database::Url(url) = &config.database {
            crate::db::forget_on_notice(url, memory.clone()).await;
        }
        let state = Arc::new(AppState {
            memory: memory.clone(),
            replies: http::Replies::default(),
            schema: schema::build(
                db.clone(),
                Some(reads.clone()),
                memory,
                targets.as_ref().clone(),
                schema::services::webhooks::Tester(Arc::new(crate::webhooks::TestSender {
                    targets: targets.clone(),
                })),
                limits,
                schema::Settings {
                    min_cell: i64::from(config.min_cell),
                    introspection: config.introspection(),
                    suggestions: !config.production,
                    cursors: cursors.clone(),
                },
            ),
            db: db.clone(),
            reads: reads.clone(),
            budgets: schema::budget::Budgets::new(config.cost_budget(), config.cost_burst()),
            runtime: tokio::runtime::Handle::current(),
            min_cell: i64::from(config.min_cell),
            persisted: http::Persisted::load(
                config.persisted_queries.as_deref(),
                config.persisted_only,
            )
            .map_err(StartupError::Persisted)?,
            auth,
            max_body_bytes: config.max_body_bytes,
            limits,
            graphiql: !config.production,
            explain_refusals: !config.production,
            meters: http::Meters::default(),
            request_timeout: config.request_timeout,
            metrics: match metrics_listener {
                Some(_) => MetricsAccess::Elsewhere,
                None => MetricsAccess::Token(config.metrics_token.clone()),
            },
        });
        let metrics = match metrics_listener {
            Some((listener, metrics_port)) => {
                let state = state.clone();
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(state.clone()))
                        .configure(http::metrics_routes)
                })
                .workers(1)
                .shutdown_timeout(10)
                .listen(listener)
                .map_err(|source| StartupError::Listen {
                    addr: config.metrics_listen.clone().unwrap_or_default(),
                    source,
                })?
                .run();
                tracing::info!(port = metrics_port, "metrics served on their own address");
                Some((metrics_port, server))
            }
            None => None,
        };
        let origins = config.cors_origins.clone();
        let rate = config.rate_limit();
        let limiter = http::limiter(state.clone(), rate, config.rate_burst())
            .ok_or(StartupError::RateLimit)?;
        if rate > 0 {
            tracing::info!(
                per_second = rate,
                burst = config.rate_burst(),
                "rate limit on /graphql"
            );
        }
        if config.cost_budget() > 0 {
            tracing::info!(
                per_second = config.cost_budget(),
                burst = config.cost_burst(),
                "cost budget per client"
            );
        }
        let shutdown = config.shutdown_timeout.as_secs().max(1);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(http::cors(&origins))
                .wrap(tracing_actix_web::TracingLogger::<http::RequestSpan>::new())
                .wrap(actix_web::middleware::from_fn(http::trace_requests))
                .app_data(web::Data::new(state.clone()))
                .configure(|cfg| http::routes(cfg, &limiter, rate > 0))
        })
        .shutdown_timeout(shutdown)
        .listen(listener)
        .map_err(|source| StartupError::Listen {
            addr: config.listen.clone(),
            source,
        })?
        .run();
        if config.production {
            tracing::info!(port, "mognad listening (production)");
        } else {
            tracing::info!(port, "mognad listening; GraphiQL at /graphql");
        }
        let dispatcher = crate::webhooks::Dispatcher::new(
            quiet,
            crate::webhooks::Settings {
                poll: config.webhook_poll,
                retry_base: config.webhook_retry_base,
                max_attempts: i32::try_from(config.webhook_max_attempts).unwrap_or(100),
                cursors,
            },
            targets,
        );
        Ok(Self {
            port,
            server,
            metrics,
            db,
            reads,
            statements,
            dispatcher,
        })
    }

    /// The port the server is bound to (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics address, when `MOGNAD_METRICS_LISTEN` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// The database connection the server uses.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The pool the server's reads go through (queries, files, charts).
    pub fn reads(&self) -> &DatabaseConnection {
        &self.reads
    }

    /// How many SQL statements the server has run: for tests and benchmarks
    /// in the same process, never published (it moves with every answer saved).
    pub fn statements(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// Runs until SIGTERM or Ctrl-C, then stops accepting connections and
    /// lets the requests in flight finish (at most `MOGNAD_SHUTDOWN_TIMEOUT`).
    /// The webhooks' dispatcher runs beside the server and stops with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let servers = async move {
            let result = match self.metrics {
                Some((_, metrics)) => {
                    let (api, metrics) = futures_util::future::join(self.server, metrics).await;
                    api.and(metrics)
                }
                None => self.server.await,
            };
            // The dispatcher finishes the attempts under way, then stops.
            let _ = stop.send(true);
            result
        };
        let (result, ()) = tokio::join!(servers, self.dispatcher.run(stopped));
        result
    }

    /// A handle that stops the server (and so the dispatcher): for a
    /// process that embeds it, and for tests that restart it.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Connects and migrates; loads the reference data into an empty database.
pub async fn prepare_database(
    config: &Config,
) -> Result<(DatabaseConnection, StatementCounter, DatabaseConnection), StartupError> {
    let (db, statements, quiet) = db::connect(config).await?;
    Migrator::up(&db, None)
        .await
        .map_err(StartupError::Migrate)?;
    if migration::seed::is_empty(&db)
        .await
        .map_err(StartupError::Migrate)?
    {
        let report = migration::seed::reference(&db).await?;
        tracing::info!(?report, "loaded the reference data into the new database");
        if config.database == Database::Embedded {
            let years = crate::demo::load(&db, i64::from(config.min_cell)).await?;
            tracing::info!(
                ?years,
                "embedded database: demo answers loaded and published"
            );
        }
    }
    Ok((db, statements, quiet))
}
