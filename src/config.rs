//! Typed configuration from `MOGNAD_*` environment variables and an optional
//! `mognad.toml` (the same keys, lower case without the prefix, or as written
//! in the environment). The environment wins over the file.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MOGNAD_DATABASE_URL` | SQLite file `<data dir>/mognad.sqlite` | `sqlite://…` or `postgres://…` |
//! | `MOGNAD_DATA_DIR` | `./data` | the embedded database and the dev-mode secret |
//! | `MOGNAD_LISTEN` | `127.0.0.1:8080` | address to serve on (port 0: any free port) |
//! | `MOGNAD_JWT_SECRET` | none | HS256 secret, at least 32 bytes |
//! | `MOGNAD_JWT_ISSUER` | `mognad` | required `iss` |
//! | `MOGNAD_JWT_AUDIENCE` | `mognad-api` | required `aud` |
//! | `MOGNAD_JWKS_FILE` | none | public keys (RS256, ES256, EdDSA) chosen by `kid` |
//! | `MOGNAD_JWKS_URL` | none | an identity provider's JWKS (`http(s)://…`), fetched at start and refreshed |
//! | `MOGNAD_JWKS_MIN_REFRESH` | `60s` | least time between two fetches of `MOGNAD_JWKS_URL` for an unknown `kid` |
//! | `MOGNAD_CLAIM_ROLE` | `role` | the claim holding the role (a dotted path such as `realm_access.roles`; a string or a list) |
//! | `MOGNAD_CLAIM_KOMMUN` | `kommun` | the claim holding a kommun user's municipality code (a dotted path) |
//! | `MOGNAD_ROLE_MAP` | none | the identity provider's role values: `skr-admins=skr_admin,skr-analysts=skr_analyst,kommun-users=kommun` |
//! | `MOGNAD_MIN_CELL` | `5` | fewest respondents a shown aggregate cell may have |
//! | `MOGNAD_CORS_ORIGINS` | none | comma-separated origins allowed by CORS |
//! | `MOGNAD_MAX_BODY_BYTES` | `65536` | largest accepted request body |
//! | `MOGNAD_METRICS_TOKEN` | none | bearer token (at least 32 bytes) for `/metrics` on the public port |
//! | `MOGNAD_METRICS_LISTEN` | none | a separate address serving `/metrics` without a token; the public port then has none |
//! | `MOGNAD_REQUEST_TIMEOUT` | `10s` | longest a request may run; then 503 TIMEOUT |
//! | `MOGNAD_STATEMENT_TIMEOUT` | `5s` | longest one SQL statement may run (PostgreSQL) |
//! | `MOGNAD_DB_ACQUIRE_TIMEOUT` | `1s` | longest a request waits for a database connection; then 503 UNAVAILABLE |
//! | `MOGNAD_PERSISTED_QUERIES` | none | Apollo persisted-query manifest: the allow-list |
//! | `MOGNAD_PERSISTED_ONLY` | `false` | only the manifest's documents run |
//! | `MOGNAD_WEBHOOK_POLL` | `1s` | how often the webhooks' outbox is looked at |
//! | `MOGNAD_WEBHOOK_RETRY_BASE` | `10s` | the delay before a failed delivery's first retry (doubling after, at most 1 h, with jitter) |
//! | `MOGNAD_WEBHOOK_MAX_ATTEMPTS` | `12` | attempts before a delivery is FAILED |
//! | `MOGNAD_DB_POOL` | `16` (PostgreSQL), `8` (SQLite) | connections for writes (mutations, the webhooks) |
//! | `MOGNAD_DB_READ_POOL` | `12` (PostgreSQL), `6` (SQLite) | connections of the separate pool queries, files and charts read through |
//! | `MOGNAD_COST_BUDGET` | `2000` in production, else none | cost units one client may spend a second (`0`: no budget) |
//! | `MOGNAD_COST_BURST` | twice the budget, at least `MOGNAD_MAX_COMPLEXITY` | cost units a client may save up |
//! | `MOGNAD_WEBHOOK_ALLOW` | none | hosts and networks webhooks may reach although not public (`receiver.intern.skr.se,10.1.0.0/16`) |
//! | `MOGNAD_CONFIG` | `./mognad.toml` if present | the configuration file |
//! | `RUST_LOG` | `info` | log filter |

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// The embedded default: an SQLite file in the data folder. The demo
    /// answers are loaded into it when it is new.
    Embedded,
    /// An explicit URL (`sqlite://…` or `postgres://…`).
    Url(String),
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database: Database,
    pub data_dir: PathBuf,
    pub listen: String,
    pub jwt_secret: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub jwks_file: Option<PathBuf>,
    /// An identity provider's JWKS, fetched at start and refreshed (see `auth`).
    pub jwks_url: Option<String>,
    /// Least time between two fetches of `jwks_url` for an unknown `kid`.
    pub jwks_min_refresh: Duration,
    /// The claim holding the role: a name, or a dotted path into nested claims.
    pub claim_role: String,
    /// The claim holding a kommun user's municipality code (a name or dotted path).
    pub claim_kommun: String,
    /// The identity provider's role values and the role each stands for
    /// (`kommun`, `skr_analyst`, `skr_admin`), besides those names themselves.
    pub role_map: Vec<(String, String)>,
    pub min_cell: u32,
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// A static bearer token for `/metrics` (a scraper's), besides an SKR admin's JWT.
    pub metrics_token: Option<Secret>,
    /// Serve `/metrics` on this address (meant for an internal network), and
    /// not on the public one.
    pub metrics_listen: Option<String>,
    /// Longest a request may run before it is answered 503 TIMEOUT.
    pub request_timeout: Duration,
    /// Longest one SQL statement may run (PostgreSQL's `statement_timeout`).
    pub statement_timeout: Duration,
    /// Longest a request waits for a database connection.
    pub acquire_timeout: Duration,
    /// Most a request's complexity may be (figures weigh what they cost).
    pub max_complexity: usize,
    /// `MOGNAD_ENV=production`: no GraphiQL, no field suggestions, no
    /// introspection unless asked for, rate limits on, JSON logs, keys required.
    pub production: bool,
    /// Whether introspection is answered (default: not in production).
    pub introspection: Option<bool>,
    /// Requests per second one client may make to `/graphql` (0: no limit;
    /// default: 20 in production, none otherwise).
    pub rate_limit: Option<u32>,
    /// How many requests a client may make at once before the rate applies
    /// (default: twice the rate).
    pub rate_burst: Option<u32>,
    /// Logs as JSON lines (default in production) or as text.
    pub json_logs: Option<bool>,
    /// How long a stopping server lets requests in flight finish.
    pub shutdown_timeout: Duration,
    /// Apollo's persisted-query manifest: the allow-list (see `http::persisted`).
    pub persisted_queries: Option<PathBuf>,
    /// Only the documents of `persisted_queries` run.
    pub persisted_only: bool,
    /// How often the webhooks' outbox is looked at.
    pub webhook_poll: Duration,
    /// The delay before a failed delivery's first retry.
    pub webhook_retry_base: Duration,
    /// Attempts before a delivery is FAILED.
    pub webhook_max_attempts: u32,
    /// Connections for writes (default 16 on PostgreSQL, 8 on SQLite).
    pub db_pool: Option<u32>,
    /// Connections of the pool reads go through (default 12 on PostgreSQL, 6 on SQLite).
    pub db_read_pool: Option<u32>,
    /// Cost units one client may spend a second (0: no budget; default:
    /// 2,000 in production, none otherwise).
    pub cost_budget: Option<u32>,
    /// Cost units a client may save up (default: twice the budget, at least
    /// the complexity limit).
    pub cost_burst: Option<u32>,
    /// Hosts and networks (CIDR) a webhook may reach although they are not
    /// public addresses: on-premises receivers, and tests.
    pub webhook_allow: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database: Database::Embedded,
            data_dir: PathBuf::from("data"),
            listen: "127.0.0.1:8080".into(),
            jwt_secret: None,
            jwt_issuer: "mognad".into(),
            jwt_audience: "mognad-api".into(),
            jwks_file: None,
            jwks_url: None,
            jwks_min_refresh: Duration::from_secs(60),
            claim_role: "role".into(),
            claim_kommun: "kommun".into(),
            role_map: Vec::new(),
            min_cell: 5,
            cors_origins: Vec::new(),
            max_body_bytes: 64 * 1024,
            metrics_token: None,
            metrics_listen: None,
            request_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(1),
            max_complexity: 1_000,
            production: false,
            introspection: None,
            rate_limit: None,
            rate_burst: None,
            json_logs: None,
            shutdown_timeout: Duration::from_secs(10),
            persisted_queries: None,
            persisted_only: false,
            webhook_poll: Duration::from_secs(1),
            webhook_retry_base: Duration::from_secs(10),
            webhook_max_attempts: 12,
            db_pool: None,
            db_read_pool: None,
            cost_budget: None,
            cost_burst: None,
            webhook_allow: Vec::new(),
        }
    }
}

/// The words a yes-or-no setting may be written with.
const YES_NO: &[(&str, bool)] = &[
    ("true", true),
    ("1", true),
    ("on", true),
    ("false", false),
    ("0", false),
    ("off", false),
];

/// Every setting: its key (after `MOGNAD_`), its default and what it means.
/// The one list: the parser accepts these keys, `mognad serve --help` prints
/// them and a test checks that the table of `docs/operating.md` lists each.
pub const SETTINGS: [(&str, &str, &str); 37] = [
    (
        "DATABASE_URL",
        "sqlite://./data/mognad.sqlite",
        "`sqlite://path/file.sqlite` (created, with its folder, if missing), `sqlite::memory:`, or `postgres://…`",
    ),
    (
        "DATA_DIR",
        "./data",
        "where the embedded database and the dev-mode token secret live",
    ),
    ("LISTEN", "127.0.0.1:8080", "address and port to serve on"),
    ("JWT_SECRET", "–", "HS256 secret (at least 32 bytes)"),
    ("JWT_ISSUER", "mognad", "required `iss` of tokens"),
    ("JWT_AUDIENCE", "mognad-api", "required `aud` of tokens"),
    (
        "JWKS_FILE",
        "–",
        "JWKS file of public keys (RS256/384/512, PS256/384/512, ES256, ES384, EdDSA; others skipped)",
    ),
    (
        "JWKS_URL",
        "–",
        "an identity provider's JWKS URL: fetched at start, refreshed (see Integrating)",
    ),
    (
        "JWKS_MIN_REFRESH",
        "60s",
        "least time between two fetches of the JWKS URL for a token with an unknown `kid`",
    ),
    (
        "CLAIM_ROLE",
        "role",
        "the claim holding the role; a dotted path reaches into nested claims (`realm_access.roles`); a string or a list",
    ),
    (
        "CLAIM_KOMMUN",
        "kommun",
        "the claim holding a kommun user's municipality code (a dotted path; a string, a number or a one-item list)",
    ),
    (
        "ROLE_MAP",
        "–",
        "the identity provider's role values: `idp-value=role,…` with role `kommun`, `skr_analyst` or `skr_admin`",
    ),
    (
        "MIN_CELL",
        "5",
        "fewest respondents in a shown aggregate cell",
    ),
    (
        "CORS_ORIGINS",
        "–",
        "comma-separated origins allowed by CORS (`*` for any)",
    ),
    ("MAX_BODY_BYTES", "65536", "largest accepted request body"),
    (
        "METRICS_TOKEN",
        "–",
        "bearer token (at least 32 bytes) a scraper reads `/metrics` with; an SKR admin's token works too",
    ),
    (
        "METRICS_LISTEN",
        "–",
        "serve `/metrics` without a token on this (internal) address instead of the public port",
    ),
    (
        "REQUEST_TIMEOUT",
        "10s",
        "longest a GraphQL request may run; then 503 `TIMEOUT` and nothing it wrote is kept",
    ),
    (
        "STATEMENT_TIMEOUT",
        "5s",
        "longest one SQL statement may run, lock waits included (PostgreSQL `statement_timeout`; SQLite's busy timeout)",
    ),
    (
        "DB_ACQUIRE_TIMEOUT",
        "1s",
        "longest a request waits for a database connection; then 503 `UNAVAILABLE`",
    ),
    (
        "MAX_COMPLEXITY",
        "1000",
        "most a request (or a whole batch) may weigh; figures weigh what they cost (see Operating mognad)",
    ),
    (
        "ENV",
        "development",
        "`production`: no GraphiQL, no field suggestions, no introspection (unless `MOGNAD_INTROSPECTION=true`), rate limits on, JSON logs, and a key is required (no dev mode)",
    ),
    (
        "INTROSPECTION",
        "true (false in production)",
        "whether `__schema`/`__type` are answered",
    ),
    (
        "RATE_LIMIT",
        "0 = none (20 in production)",
        "requests per second one client may make to `/graphql`",
    ),
    (
        "RATE_BURST",
        "twice the rate",
        "requests a client may make at once before the rate applies",
    ),
    (
        "LOG_FORMAT",
        "text (json in production)",
        "`json`: one JSON object per line",
    ),
    (
        "SHUTDOWN_TIMEOUT",
        "10s",
        "on SIGTERM/Ctrl-C, how long requests in flight may finish",
    ),
    (
        "PERSISTED_ONLY",
        "false",
        "`true`: only the manifest's documents run (an allow-list); needs `MOGNAD_PERSISTED_QUERIES`",
    ),
    (
        "PERSISTED_QUERIES",
        "–",
        "an Apollo persisted-query manifest: documents the server knows by hash (see Integrating)",
    ),
    (
        "WEBHOOK_POLL",
        "1s",
        "how often the webhooks' outbox is looked at for new events and due deliveries",
    ),
    (
        "WEBHOOK_RETRY_BASE",
        "10s",
        "the wait before a failed delivery's first retry; it doubles with each further one (at most 1 h), with jitter",
    ),
    (
        "WEBHOOK_MAX_ATTEMPTS",
        "12",
        "attempts before a delivery is FAILED (at most 100)",
    ),
    (
        "DB_POOL",
        "16 (PostgreSQL), 8 (SQLite)",
        "connections for writes (mutations, webhooks)",
    ),
    (
        "DB_READ_POOL",
        "12 (PostgreSQL), 6 (SQLite)",
        "connections of the separate pool queries, open data and charts read through",
    ),
    (
        "COST_BUDGET",
        "0 = none (2000 in production)",
        "cost units one client may spend a second (see Operating mognad)",
    ),
    (
        "COST_BURST",
        "twice the budget, at least MOGNAD_MAX_COMPLEXITY",
        "cost units a client may save up",
    ),
    (
        "WEBHOOK_ALLOW",
        "–",
        "hosts and networks webhooks may reach although not public: `receiver.intern.skr.se,10.1.0.0/16`",
    ),
];

/// The settings' keys.
const KEYS: [&str; 37] = {
    let mut keys = [""; 37];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = SETTINGS[i].0;
        i += 1;
    }
    keys
};

/// The settings as `mognad serve --help` lists them.
pub fn settings_help() -> String {
    let mut text = String::from(
        "Settings (environment variables; a mognad.toml in the working directory, or at \
         MOGNAD_CONFIG, may set the same keys; the environment wins):\n",
    );
    for (key, default, meaning) in SETTINGS {
        let default = if default == "–" { "none" } else { default };
        let meaning = meaning.replace('`', "");
        text.push_str(&format!(
            "\n  MOGNAD_{key}  [default: {default}]\n      {meaning}\n"
        ));
    }
    text.push_str("\n  RUST_LOG  [default: info]\n      log filter, e.g. mognad=debug\n");
    text
}

impl Config {
    /// Reads `mognad.toml` (if any) and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let file = match env.get("MOGNAD_CONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => Some(PathBuf::from("mognad.toml")).filter(|p| p.exists()),
        };
        let mut values = match file {
            Some(path) => read_file(&path)?,
            None => HashMap::new(),
        };
        for key in KEYS {
            if let Some(v) = env.get(&format!("MOGNAD_{key}")) {
                values.insert(key.to_owned(), v.clone());
            }
        }
        Self::from_values(&values)
    }

    /// Builds a configuration from `KEY -> value` (keys without the prefix).
    pub fn from_values(values: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        let get = |k: &str| {
            values
                .get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        // A whole number of at least `least`.
        let number = |key: &str, name: &'static str, least: u64| {
            get(key)
                .map(|n| {
                    n.parse::<u64>()
                        .ok()
                        .filter(|v| *v >= least)
                        .ok_or_else(|| ConfigError::Invalid {
                            key: name,
                            message: format!("{n:?} is not a whole number of at least {least}"),
                        })
                })
                .transpose()
        };
        // One of a few words, each meaning yes or no; `expected` names them.
        let word = |key: &str, name: &'static str, words: &[(&str, bool)], expected: &str| {
            get(key)
                .map(|v| {
                    words
                        .iter()
                        .find(|(w, _)| *w == v)
                        .map(|(_, yes)| *yes)
                        .ok_or_else(|| ConfigError::Invalid {
                            key: name,
                            message: format!("{v:?} is {expected}"),
                        })
                })
                .transpose()
        };
        if let Some(url) = get("DATABASE_URL") {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(ConfigError::Invalid {
                    key: "MOGNAD_DATABASE_URL",
                    message: "must start with sqlite: or postgres://".into(),
                });
            }
            c.database = Database::Url(url);
        }
        if let Some(dir) = get("DATA_DIR") {
            c.data_dir = PathBuf::from(dir);
        }
        if let Some(listen) = get("LISTEN") {
            c.listen = listen;
        }
        // The secret is taken as given (not trimmed); only an empty one counts as unset.
        c.jwt_secret = values
            .get("JWT_SECRET")
            .filter(|s| !s.is_empty())
            .map(|s| Secret::new(s.clone()));
        if let Some(iss) = get("JWT_ISSUER") {
            c.jwt_issuer = iss;
        }
        if let Some(aud) = get("JWT_AUDIENCE") {
            c.jwt_audience = aud;
        }
        c.jwks_file = get("JWKS_FILE").map(PathBuf::from);
        if let Some(url) = get("JWKS_URL") {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Invalid {
                    key: "MOGNAD_JWKS_URL",
                    message: "must start with https:// (or http:// on a trusted network)".into(),
                });
            }
            c.jwks_url = Some(url);
        }
        for (key, name, field) in [
            ("CLAIM_ROLE", "MOGNAD_CLAIM_ROLE", &mut c.claim_role),
            ("CLAIM_KOMMUN", "MOGNAD_CLAIM_KOMMUN", &mut c.claim_kommun),
        ] {
            if let Some(path) = get(key) {
                if path.split('.').any(str::is_empty) {
                    return Err(ConfigError::Invalid {
                        key: name,
                        message: format!("{path:?} is not a claim name or a dotted path of names"),
                    });
                }
                *field = path;
            }
        }
        if let Some(map) = get("ROLE_MAP") {
            for pair in map.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (from, to) = pair
                    .split_once('=')
                    .map(|(f, t)| (f.trim(), t.trim()))
                    .filter(|(f, t)| {
                        !f.is_empty() && ["kommun", "skr_analyst", "skr_admin"].contains(t)
                    })
                    .ok_or_else(|| ConfigError::Invalid {
                        key: "MOGNAD_ROLE_MAP",
                        message: format!(
                            "{pair:?} is not VALUE=ROLE with ROLE kommun, skr_analyst or skr_admin"
                        ),
                    })?;
                c.role_map.push((from.to_owned(), to.to_owned()));
            }
        }
        if let Some(n) = number("MIN_CELL", "MOGNAD_MIN_CELL", 1)? {
            c.min_cell = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(origins) = get("CORS_ORIGINS") {
            c.cors_origins = origins
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
        }
        if let Some(n) = number("MAX_BODY_BYTES", "MOGNAD_MAX_BODY_BYTES", 1024)? {
            c.max_body_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(token) = values.get("METRICS_TOKEN").filter(|s| !s.is_empty()) {
            if token.len() < 32 {
                return Err(ConfigError::Invalid {
                    key: "MOGNAD_METRICS_TOKEN",
                    message: "must be at least 32 bytes long".into(),
                });
            }
            c.metrics_token = Some(Secret::new(token.clone()));
        }
        c.metrics_listen = get("METRICS_LISTEN");
        for (key, name, field) in [
            (
                "REQUEST_TIMEOUT",
                "MOGNAD_REQUEST_TIMEOUT",
                &mut c.request_timeout,
            ),
            (
                "STATEMENT_TIMEOUT",
                "MOGNAD_STATEMENT_TIMEOUT",
                &mut c.statement_timeout,
            ),
            (
                "DB_ACQUIRE_TIMEOUT",
                "MOGNAD_DB_ACQUIRE_TIMEOUT",
                &mut c.acquire_timeout,
            ),
            (
                "SHUTDOWN_TIMEOUT",
                "MOGNAD_SHUTDOWN_TIMEOUT",
                &mut c.shutdown_timeout,
            ),
            (
                "JWKS_MIN_REFRESH",
                "MOGNAD_JWKS_MIN_REFRESH",
                &mut c.jwks_min_refresh,
            ),
            ("WEBHOOK_POLL", "MOGNAD_WEBHOOK_POLL", &mut c.webhook_poll),
            (
                "WEBHOOK_RETRY_BASE",
                "MOGNAD_WEBHOOK_RETRY_BASE",
                &mut c.webhook_retry_base,
            ),
        ] {
            if let Some(text) = get(key) {
                *field = parse_duration(&text)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| ConfigError::Invalid {
                        key: name,
                        message: format!("{text:?} is not a duration like 500ms, 5s or 2m"),
                    })?;
            }
        }
        if let Some(n) = number("WEBHOOK_MAX_ATTEMPTS", "MOGNAD_WEBHOOK_MAX_ATTEMPTS", 1)? {
            c.webhook_max_attempts = u32::try_from(n).unwrap_or(u32::MAX).min(100);
        }
        if let Some(n) = number("MAX_COMPLEXITY", "MOGNAD_MAX_COMPLEXITY", 100)? {
            c.max_complexity = usize::try_from(n).unwrap_or(usize::MAX);
        }
        c.db_pool = number("DB_POOL", "MOGNAD_DB_POOL", 1)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX).min(1_000));
        c.db_read_pool = number("DB_READ_POOL", "MOGNAD_DB_READ_POOL", 1)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX).min(1_000));
        c.cost_budget = number("COST_BUDGET", "MOGNAD_COST_BUDGET", 0)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        c.cost_burst = number("COST_BURST", "MOGNAD_COST_BURST", 1)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        if let Some(list) = get("WEBHOOK_ALLOW") {
            c.webhook_allow = list
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
        }
        c.rate_limit = number("RATE_LIMIT", "MOGNAD_RATE_LIMIT", 0)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        c.rate_burst = number("RATE_BURST", "MOGNAD_RATE_BURST", 1)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        if let Some(production) = word(
            "ENV",
            "MOGNAD_ENV",
            &[("production", true), ("development", false)],
            "neither production nor development",
        )? {
            c.production = production;
        }
        c.introspection = word(
            "INTROSPECTION",
            "MOGNAD_INTROSPECTION",
            YES_NO,
            "neither true nor false",
        )?;
        c.persisted_queries = get("PERSISTED_QUERIES").map(PathBuf::from);
        c.persisted_only = word(
            "PERSISTED_ONLY",
            "MOGNAD_PERSISTED_ONLY",
            YES_NO,
            "neither true nor false",
        )?
        .unwrap_or(false);
        c.json_logs = word(
            "LOG_FORMAT",
            "MOGNAD_LOG_FORMAT",
            &[("json", true), ("text", false)],
            "neither json nor text",
        )?;
        if c.production && c.jwt_secret.is_none() && c.jwks_file.is_none() && c.jwks_url.is_none() {
            return Err(ConfigError::Invalid {
                key: "MOGNAD_ENV",
                message: "production needs MOGNAD_JWT_SECRET, MOGNAD_JWKS_FILE or MOGNAD_JWKS_URL (no dev mode)"
                    .into(),
            });
        }
        Ok(c)
    }

    /// Whether introspection is answered.
    pub fn introspection(&self) -> bool {
        self.introspection.unwrap_or(!self.production)
    }

    /// Requests per second per client (0: unlimited).
    pub fn rate_limit(&self) -> u32 {
        self.rate_limit
            .unwrap_or(if self.production { 20 } else { 0 })
    }

    /// The burst a client may send before the rate applies.
    pub fn rate_burst(&self) -> u32 {
        self.rate_burst
            .unwrap_or_else(|| self.rate_limit().saturating_mul(2).max(1))
    }

    /// Whether the database is PostgreSQL (else SQLite).
    fn postgres(&self) -> bool {
        matches!(&self.database, Database::Url(url) if url.starts_with("postgres"))
    }

    /// Connections for writes.
    pub fn db_pool(&self) -> u32 {
        self.db_pool.unwrap_or(if self.postgres() { 16 } else { 8 })
    }

    /// Connections of the pool reads go through.
    pub fn db_read_pool(&self) -> u32 {
        self.db_read_pool
            .unwrap_or(if self.postgres() { 12 } else { 6 })
    }

    /// Cost units one client may spend a second (0: no budget).
    pub fn cost_budget(&self) -> u32 {
        self.cost_budget
            .unwrap_or(if self.production { 2_000 } else { 0 })
    }

    /// Cost units a client may save up: never less than one request may cost.
    pub fn cost_burst(&self) -> u32 {
        let least = u32::try_from(self.max_complexity).unwrap_or(u32::MAX);
        self.cost_burst
            .unwrap_or_else(|| self.cost_budget().saturating_mul(2))
            .max(least)
    }

    /// Whether logs are JSON lines.
    pub fn json_logs(&self) -> bool {
        self.json_logs.unwrap_or(self.production)
    }

    /// The database URL to connect to.
    pub fn database_url(&self) -> String {
        match &self.database {
            Database::Url(url) => url.clone(),
            Database::Embedded => {
                format!(
                    "sqlite://{}?mode=rwc",
                    self.data_dir.join("mognad.sqlite").display()
                )
            }
        }
    }
}

/// A duration written `500ms`, `5s`, `2m`, `1h` or `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(millis).map(Duration::from_millis)
}

fn read_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::File {
            path: shown.clone(),
            message: e.message().to_owned(),
        })?;
    let mut values = HashMap::new();
    for (key, value) in table {
        let upper = key.to_ascii_uppercase();
        let name = upper.strip_prefix("MOGNAD_").unwrap_or(&upper).to_owned();
        if !KEYS.contains(&name.as_str()) {
            return Err(ConfigError::File {
                path: shown,
                message: format!("unknown key {key:?}"),
            });
        }
        let text = match value {
            toml::Value::Array(items) => items
                .iter()
                .map(scalar)
                .collect::<Option<Vec<_>>>()
                .map(|v| v.join(",")),
            other => scalar(&other),
        }
        .ok_or_else(|| ConfigError::File {
            path: shown.clone(),
            message: format!("{key}: expected a string, number or list"),
        })?;
        values.insert(name, text);
    }
    Ok(values)
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    /// The configuration table (docs/operating.md) lists every setting the parser takes.
    #[test]
    fn the_readme_lists_every_setting() {
        let readme = include_str!("../docs/operating.md");
        for (key, _, _) in SETTINGS {
            assert!(
                readme.contains(&format!("| `MOGNAD_{key}` |")),
                "MOGNAD_{key} is not in the table of docs/operating.md"
            );
        }
        assert!(settings_help().contains("MOGNAD_WEBHOOK_ALLOW  [default: none]"));
    }

    use super::*;

    fn values(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::from_values(&HashMap::new()).unwrap();
        assert_eq!(c.database, Database::Embedded);
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.jwt_issuer, "mognad");
        assert_eq!(c.jwt_audience, "mognad-api");
        assert_eq!(c.min_cell, 5);
        assert!(c.database_url().starts_with("sqlite://data/mognad.sqlite"));
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let err = Config::from_values(&values(&[("MIN_CELL", "zero")])).unwrap_err();
        assert!(err.to_string().contains("MOGNAD_MIN_CELL"));
        let err = Config::from_values(&values(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("MOGNAD_DATABASE_URL"));
        let err = Config::from_values(&values(&[("METRICS_TOKEN", "short")])).unwrap_err();
        assert!(err.to_string().contains("MOGNAD_METRICS_TOKEN"));
        let err = Config::from_values(&values(&[("REQUEST_TIMEOUT", "soon")])).unwrap_err();
        assert!(err.to_string().contains("MOGNAD_REQUEST_TIMEOUT"));
        let c = Config::from_values(&values(&[("STATEMENT_TIMEOUT", "250ms")])).unwrap();
        assert_eq!(c.statement_timeout, Duration::from_millis(250));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("7 weeks"), None);
    }

    #[test]
    fn identity_provider_settings_are_checked() {
        let c = Config::from_values(&values(&[
            ("JWKS_URL", "https://sso.example/certs"),
            ("CLAIM_ROLE", "realm_access.roles"),
            ("ROLE_MAP", "mognad-admin=skr_admin, Mognad.Kommun = kommun"),
        ]))
        .unwrap();
        assert_eq!(c.claim_role, "realm_access.roles");
        assert_eq!(c.claim_kommun, "kommun");
        assert_eq!(
            c.role_map,
            [
                ("mognad-admin".to_owned(), "skr_admin".to_owned()),
                ("Mognad.Kommun".to_owned(), "kommun".to_owned())
            ]
        );
        for (key, value, name) in [
            ("JWKS_URL", "ftp://x", "MOGNAD_JWKS_URL"),
            ("CLAIM_ROLE", "realm_access..roles", "MOGNAD_CLAIM_ROLE"),
            ("CLAIM_KOMMUN", ".kommun", "MOGNAD_CLAIM_KOMMUN"),
            ("ROLE_MAP", "admins=root", "MOGNAD_ROLE_MAP"),
            ("ROLE_MAP", "=skr_admin", "MOGNAD_ROLE_MAP"),
            ("ROLE_MAP", "admins", "MOGNAD_ROLE_MAP"),
            ("JWKS_MIN_REFRESH", "0s", "MOGNAD_JWKS_MIN_REFRESH"),
        ] {
            let err = Config::from_values(&values(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(name), "{key}={value}: {err}");
        }
        let production = Config::from_values(&values(&[
            ("ENV", "production"),
            ("JWKS_URL", "https://sso.example/certs"),
        ]));
        assert!(production.is_ok(), "a JWKS URL is a key");
    }

    #[test]
    fn production_switches_its_defaults_and_needs_a_key() {
        let dev = Config::from_values(&values(&[])).unwrap();
        assert!(!dev.production && dev.introspection() && !dev.json_logs());
        assert_eq!(dev.rate_limit(), 0);
        let err = Config::from_values(&values(&[("ENV", "production")])).unwrap_err();
        assert!(err.to_string().contains("MOGNAD_ENV"), "{err}");
        let secret = "s".repeat(40);
        let prod = Config::from_values(&values(&[("ENV", "production"), ("JWT_SECRET", &secret)]))
            .unwrap();
        assert!(prod.production && !prod.introspection() && prod.json_logs());
        assert_eq!((prod.rate_limit(), prod.rate_burst()), (20, 40));
        let tuned = Config::from_values(&values(&[
            ("ENV", "production"),
            ("JWT_SECRET", &secret),
            ("INTROSPECTION", "true"),
            ("RATE_LIMIT", "0"),
            ("LOG_FORMAT", "text"),
            ("MAX_COMPLEXITY", "2000"),
        ]))
        .unwrap();
        assert!(tuned.introspection() && !tuned.json_logs());
        assert_eq!((tuned.rate_limit(), tuned.max_complexity), (0, 2000));
        for (key, bad) in [
            ("ENV", "staging"),
            ("INTROSPECTION", "maybe"),
            ("LOG_FORMAT", "xml"),
            ("MAX_COMPLEXITY", "10"),
            ("RATE_BURST", "0"),
        ] {
            let err = Config::from_values(&values(&[(key, bad)])).unwrap_err();
            assert!(err.to_string().contains(&format!("MOGNAD_{key}")), "{err}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::from_values(&values(&[
            ("JWT_SECRET", "x".repeat(40).as_str()),
            ("METRICS_TOKEN", "y".repeat(40).as_str()),
        ]))
        .unwrap();
        assert!(!format!("{c:?}").contains("xxxx"));
        assert!(!format!("{c:?}").contains("yyyy"));
    }

    #[test]
    fn file_keys_may_carry_the_prefix_or_not() {
        let dir = std::env::temp_dir().join(format!("mognad-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mognad.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nMOGNAD_MIN_CELL = 3\ncors_origins = [\"https://a.se\", \"https://b.se\"]\n").unwrap();
        let c = Config::from_values(&read_file(&path).unwrap()).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.min_cell, 3);
        assert_eq!(c.cors_origins, ["https://a.se", "https://b.se"]);
        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        assert!(read_file(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
