//! One tracing subscriber for the process; `RUST_LOG` sets the filter.
//! Text lines by default, JSON lines (one object per event, with the
//! request span's fields: request id, operation, role, kommun) with
//! `MOGNAD_LOG_FORMAT=json` or in production.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls are ignored, as in tests).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
