//! Bearer tokens -> [`Principal`].
//!
//! - No `Authorization` header: ANONYMOUS. A header that is present must be
//!   `Bearer <jwt>` with a valid token, else the whole request is refused.
//! - Keys: an HS256 secret (`MOGNAD_JWT_SECRET`, at least 32 bytes) and/or
//!   public keys chosen by `kid` from a JWKS file (`MOGNAD_JWKS_FILE`) and/or
//!   an identity provider's JWKS URL (`MOGNAD_JWKS_URL`, [`RemoteJwks`]):
//!   fetched at start (the server does not start without it), refreshed when
//!   its cache lifetime (`Cache-Control: max-age`, else an hour) runs out and
//!   when a token names an unknown `kid` (at most once per
//!   `MOGNAD_JWKS_MIN_REFRESH`, a minute by default), the last good set kept
//!   while the provider is down.
//! - Claims: the role and the municipality are read from configurable claims
//!   (`MOGNAD_CLAIM_ROLE`, `MOGNAD_CLAIM_KOMMUN`; dotted paths reach into
//!   nested claims such as Keycloak's `realm_access.roles`), and the role's
//!   value may be one of the identity provider's, mapped by
//!   `MOGNAD_ROLE_MAP` ([`ClaimMap`]). A list of roles (Entra ID's `roles`,
//!   Keycloak's) counts the values that map to a role; exactly one role must
//!   remain.
//! - The algorithm comes from the key, never from the token header, so
//!   `alg: none` and an HS256 token "signed" with a public key both fail.
//! - `exp`, `iss`, `aud` and `sub` are required claims; `nbf` and `iat` are
//!   honoured when present (60 s leeway); `role` must be known; role `kommun`
//!   needs a `kommun` claim naming an existing municipality.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use schema::domain::KommunCode;
use schema::{Principal, Role};
use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Secret};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 60;
/// Shortest accepted HS256 secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// Name of the dev-mode secret file in the data folder.
pub const DEV_SECRET_FILE: &str = "dev-jwt-secret";

/// Why a token was refused. Logged (never the token); in production
/// clients see only "invalid token", in development also [`AuthError::explained`].
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header is not `Bearer <token>`")]
    Malformed,
    #[error("the token header cannot be read: {0}")]
    Header(jsonwebtoken::errors::Error),
    #[error("no key with kid {}", crate::telemetry::clean(.0, 64))]
    UnknownKid(String),
    #[error("the token names no kid and no HS256 secret is configured")]
    NoKey,
    #[error("the token failed verification: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("the token was issued in the future")]
    IssuedInFuture,
    #[error("the sub claim is empty")]
    EmptySubject,
    #[error("unknown role {}", crate::telemetry::clean(.0, 64))]
    UnknownRole(String),
    #[error("the role claim names more than one role: {0:?}")]
    AmbiguousRole(Vec<&'static str>),
    #[error("role kommun without a kommun claim")]
    MissingKommun,
    #[error("kommun {} is not a known municipality", crate::telemetry::clean(.0, 16))]
    UnknownKommun(String),
    #[error("the {0} claim is not a number")]
    NotANumber(&'static str),
    #[error(
        "the sub claim holds a control, separator or reordering character or is longer than {MAX_SUBJECT} characters"
    )]
    BadSubject,
}

impl AuthError {
    /// Why the token was refused, said to the caller in development (a
    /// production server answers only "invalid token"): the token's own
    /// problem and, where it helps, what to do.
    pub fn explained(&self) -> String {
        use jsonwebtoken::errors::ErrorKind;
        let (Self::Invalid(e) | Self::Header(e)) = self else {
            return self.to_string();
        };
        match e.kind() {
            ErrorKind::InvalidSignature => "the signature does not verify with this server's key \
                 (a token made by `mognad token` in another folder, or with another \
                 MOGNAD_JWT_SECRET, is signed with another secret)"
                .into(),
            ErrorKind::ExpiredSignature => {
                "the token has expired (exp): make a new one, e.g. `mognad token`".into()
            }
            ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
            ErrorKind::InvalidAudience => {
                "the aud claim is not this server's audience (MOGNAD_JWT_AUDIENCE)".into()
            }
            ErrorKind::InvalidIssuer => {
                "the iss claim is not this server's issuer (MOGNAD_JWT_ISSUER)".into()
            }
            ErrorKind::MissingRequiredClaim(claim) => {
                format!("the token has no {claim} claim that is a number of seconds")
            }
            ErrorKind::InvalidAlgorithm => {
                "the token's algorithm (alg) is not the one of this server's key".into()
            }
            ErrorKind::InvalidToken
            | ErrorKind::Base64(_)
            | ErrorKind::Json(_)
            | ErrorKind::Utf8(_) => {
                "the token cannot be read as a JWT (three base64url parts separated by dots, a header this server takes)".into()
            }
            _ => self.to_string(),
        }
    }
}

/// The longest `sub` accepted: it is written into the audit trail and logs.
pub const MAX_SUBJECT: usize = 256;

/// Problems with the configured keys; the server refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("MOGNAD_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (it has {0})")]
    ShortSecret(usize),
    #[error("cannot read MOGNAD_JWKS_FILE {path}: {message}")]
    Jwks { path: String, message: String },
    #[error("cannot load MOGNAD_JWKS_URL {url}: {message}")]
    JwksUrl { url: String, message: String },
    #[error("the dev-mode secret in {path}: {source}")]
    DevSecret {
        path: String,
        source: std::io::Error,
    },
    #[error("key error: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
}

/// Keys by `kid`, with the algorithm each is for.
type Keys = HashMap<String, (DecodingKey, Algorithm)>;

/// Where the role and municipality are in a token, and what the identity
/// provider's role values stand for.
#[derive(Clone, Debug)]
pub struct ClaimMap {
    role: Vec<String>,
    kommun: Vec<String>,
    roles: HashMap<String, &'static str>,
}

/// The role names of the API's tokens, always understood.
const ROLE_NAMES: [&str; 3] = ["kommun", "skr_analyst", "skr_admin"];

impl ClaimMap {
    pub fn new(config: &Config) -> Self {
        let path = |p: &str| p.split('.').map(str::to_owned).collect();
        let mut roles: HashMap<String, &'static str> =
            ROLE_NAMES.iter().map(|r| ((*r).to_owned(), *r)).collect();
        for (from, to) in &config.role_map {
            if let Some(name) = ROLE_NAMES.iter().find(|n| *n == to) {
                roles.insert(from.clone(), name);
            }
        }
        Self {
            role: path(&config.claim_role),
            kommun: path(&config.claim_kommun),
            roles,
        }
    }

    /// The claim at a dotted path.
    fn find<'a>(claims: &'a Value, path: &[String]) -> Option<&'a Value> {
        path.iter().try_fold(claims, |v, name| v.get(name))
    }

    /// The one role the token's role claim names.
    fn role(&self, claims: &Value) -> Result<&'static str, AuthError> {
        let value =
            Self::find(claims, &self.role).ok_or_else(|| AuthError::UnknownRole(String::new()))?;
        let values: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            other => return Err(AuthError::UnknownRole(other.to_string())),
        };
        let mut found: Vec<&'static str> = values
            .iter()
            .filter_map(|v| self.roles.get(*v).copied())
            .collect();
        found.sort_unstable();
        found.dedup();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(AuthError::UnknownRole(values.join(","))),
            _ => Err(AuthError::AmbiguousRole(found)),
        }
    }

    /// The municipality code in the token's kommun claim: a string, a
    /// number (zero-padded to four digits) or a list of exactly one.
    fn kommun(&self, claims: &Value) -> Option<String> {
        let value = match Self::find(claims, &self.kommun)? {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => n.as_u64().filter(|n| *n <= 9999).map(|n| format!("{n:04}")),
            _ => None,
        }
    }
}

/// An identity provider's key set, fetched from `MOGNAD_JWKS_URL`.
pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    keys: RwLock<Arc<Keys>>,
    /// When the keys were last fetched (or tried); held while fetching, so
    /// that requests with the same unknown `kid` fetch once.
    fetched: tokio::sync::Mutex<Instant>,
    min_refresh: Duration,
    /// The skipped keys logged so far (each once, with why).
    logged: std::sync::Mutex<HashSet<(String, String)>>,
}

/// The longest a fetch of the key set may take, body included: well inside
/// a request's deadline, as a token with a new `kid` waits for it.
pub const JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a fetched key set is used without a `Cache-Control: max-age`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The longest a key set is used without asking again.
const MAX_LIFETIME: Duration = Duration::from_secs(86_400);

impl RemoteJwks {
    /// Fetches the key set a first time; an error keeps the server from starting.
    async fn connect(url: &str, min_refresh: Duration) -> Result<(Arc<Self>, Duration), KeyError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(JWKS_TIMEOUT)
            .build()
            .map_err(|e| KeyError::JwksUrl {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
        let (keys, lifetime) = fetch_jwks(&client, url, min_refresh)
            .await
            .map_err(|message| KeyError::JwksUrl {
                url: url.to_owned(),
                message,
            })?;
        tracing::info!(url, kids = %kids(&keys.keys), "JWKS fetched");
        let remote = Self {
            url: url.to_owned(),
            client,
            keys: RwLock::new(Arc::new(HashMap::new())),
            fetched: tokio::sync::Mutex::new(Instant::now()),
            min_refresh,
            logged: std::sync::Mutex::new(HashSet::new()),
        };
        remote.install(keys);
        Ok((Arc::new(remote), lifetime))
    }

    /// Uses a fetched set from now on, logging each key it skips the
    /// first time it is seen.
    fn install(&self, set: KeySet) {
        if let Ok(mut logged) = self.logged.lock() {
            let fresh: Vec<(String, String)> = set
                .skipped
                .into_iter()
                .filter(|skipped| !logged.contains(skipped))
                .collect();
            // Ten lines at most, then a count: a set of thousands of odd
            // keys writes a dozen lines, once.
            for (kid, why) in fresh.iter().take(10) {
                tracing::warn!(url = %self.url, kid = %kid, why = %why, "JWKS key skipped");
            }
            if fresh.len() > 10 {
                tracing::warn!(url = %self.url, keys = fresh.len() - 10, "more JWKS keys skipped");
            }
            if logged.len() + fresh.len() > 10_000 {
                logged.clear();
            }
            logged.extend(fresh);
        }
        let keys = Arc::new(set.keys);
        match self.keys.write() {
            Ok(mut k) => *k = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    fn keys(&self) -> Arc<Keys> {
        self.keys
            .read()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |k| k.clone())
    }

    /// Fetches again now; on failure the last good set stays. Returns the
    /// new set's lifetime, or `None` on failure.
    async fn refresh(&self, last: &mut Instant) -> Option<Duration> {
        *last = Instant::now();
        match fetch_jwks(&self.client, &self.url, self.min_refresh).await {
            Ok((keys, lifetime)) => {
                tracing::info!(url = %self.url, kids = %kids(&keys.keys), "JWKS refreshed");
                self.install(keys);
                Some(lifetime)
            }
            Err(message) => {
                tracing::warn!(url = %self.url, %message, "JWKS refresh failed; the last key set stays");
                None
            }
        }
    }

    /// A token named `kid`, which is not in the set: fetches the set again
    /// unless that was done less than `min_refresh` ago. Whether `kid` is
    /// known now.
    async fn refresh_for(&self, kid: &str) -> bool {
        let mut last = self.fetched.lock().await;
        if self.keys().contains_key(kid) {
            return true; // another request fetched it meanwhile
        }
        if last.elapsed() < self.min_refresh {
            return false;
        }
        self.refresh(&mut last).await;
        self.keys().contains_key(kid)
    }

    /// Refreshes the set whenever its lifetime runs out (after a failure,
    /// again after `min_refresh`), for as long as the server holds it.
    fn keep_fresh(remote: &Arc<Self>, lifetime: Duration) {
        let weak = Arc::downgrade(remote);
        tokio::spawn(async move {
            let mut wait = lifetime;
            loop {
                tokio::time::sleep(wait).await;
                let Some(remote) = weak.upgrade() else {
                    return;
                };
                let mut last = remote.fetched.lock().await;
                wait = remote
                    .refresh(&mut last)
                    .await
                    .unwrap_or(remote.min_refresh);
            }
        });
    }
}

/// The largest key set read from `MOGNAD_JWKS_URL`: a provider's is a few
/// kilobytes; a larger body is refused (and the last good set kept) without
/// being read further.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// GETs and parses a JWKS: its keys, and how long they may be used
/// (`Cache-Control: max-age`, at least `min_lifetime`, at most a day). The
/// body is read up to [`MAX_JWKS_BYTES`]; the whole fetch has
/// [`JWKS_TIMEOUT`].
async fn fetch_jwks(
    client: &reqwest::Client,
    url: &str,
    min_lifetime: Duration,
) -> Result<(KeySet, Duration), String> {
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("request failed: {}", without_url(&e)))?;
    if !response.status().is_success() {
        return Err(format!("answered HTTP {}", response.status().as_u16()));
    }
    let too_large = || format!("the key set is larger than {MAX_JWKS_BYTES} bytes");
    if response
        .content_length()
        .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
    {
        return Err(too_large());
    }
    let max_age = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|d| d.trim().strip_prefix("max-age="))
                .find_map(|n| n.trim().parse::<u64>().ok())
        })
        .map(Duration::from_secs);
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the body failed: {}", without_url(&e)))?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).map_err(|_| "the key set is not UTF-8".to_owned())?;
    let keys = parse_jwks(&text)?;
    let lifetime = max_age
        .unwrap_or(DEFAULT_LIFETIME)
        .clamp(min_lifetime.min(MAX_LIFETIME), MAX_LIFETIME);
    Ok((keys, lifetime))
}

/// A reqwest error's text without its URL (the configured one is logged beside it).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text
            .replace(&format!(" ({url})"), "")
            .replace(url.as_str(), "");
    }
    text
}

/// Verifies bearer tokens against the configured keys.
pub struct Authenticator {
    hs256: Option<DecodingKey>,
    jwks: Keys,
    remote: Option<Arc<RemoteJwks>>,
    claims: ClaimMap,
    issuer: String,
    audience: String,
    municipalities: HashSet<String>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("hs256", &self.hs256.is_some())
            .field("kids", &self.jwks.keys().collect::<Vec<_>>())
            .field("jwks_url", &self.remote.as_ref().map(|r| &r.url))
            .field("claims", &self.claims)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The HS256 secret to use: the configured one, or in dev mode (neither a
/// secret nor a JWKS file) one generated once and kept in the data folder.
pub fn hs256_secret(config: &Config) -> Result<Option<Secret>, KeyError> {
    Ok(hs256_secret_from(config)?.map(|(secret, _)| secret))
}

/// Where an HS256 secret came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// `MOGNAD_JWT_SECRET`.
    Configured,
    /// The development secret in this file, made just now when `created`.
    DevFile {
        path: std::path::PathBuf,
        created: bool,
    },
}

/// [`hs256_secret`] with where the secret came from.
pub fn hs256_secret_from(config: &Config) -> Result<Option<(Secret, SecretSource)>, KeyError> {
    if let Some(secret) = &config.jwt_secret {
        let len = secret.expose().len();
        if len < MIN_SECRET_BYTES {
            return Err(KeyError::ShortSecret(len));
        }
        return Ok(Some((secret.clone(), SecretSource::Configured)));
    }
    if config.jwks_file.is_some() || config.jwks_url.is_some() {
        return Ok(None);
    }
    let (secret, created) = dev_secret_made(&config.data_dir)?;
    let path = config.data_dir.join(DEV_SECRET_FILE);
    let path = std::path::absolute(&path).unwrap_or(path);
    Ok(Some((secret, SecretSource::DevFile { path, created })))
}

/// Reads (or first creates) the dev-mode secret in `data_dir`.
pub fn dev_secret(data_dir: &Path) -> Result<Secret, KeyError> {
    dev_secret_made(data_dir).map(|(secret, _)| secret)
}

/// [`dev_secret`], and whether it was made just now.
fn dev_secret_made(data_dir: &Path) -> Result<(Secret, bool), KeyError> {
    let path = data_dir.join(DEV_SECRET_FILE);
    let err = |source| KeyError::DevSecret {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= MIN_SECRET_BYTES => return Ok((Secret::new(s.trim()), false)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(err)?;
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private(&path, &secret).map_err(err)?;
    Ok((Secret::new(secret), true))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// The algorithm a JWK is for: its `alg`, else what its key type implies;
/// `None` for a key mognad does not verify with (an encryption algorithm
/// such as Keycloak's RSA-OAEP, a symmetric key, a curve not listed here).
fn jwk_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    use AlgorithmParameters::{EllipticCurve as Ec, OctetKeyPair as Okp, RSA};
    let curve = |p: &AlgorithmParameters| match p {
        Ec(p) => Some(p.curve.clone()),
        Okp(p) => Some(p.curve.clone()),
        _ => None,
    };
    match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::RS256), RSA(_)) => Some(Algorithm::RS256),
        (Some(KeyAlgorithm::RS384), RSA(_)) => Some(Algorithm::RS384),
        (Some(KeyAlgorithm::RS512), RSA(_)) => Some(Algorithm::RS512),
        (Some(KeyAlgorithm::PS256), RSA(_)) => Some(Algorithm::PS256),
        (Some(KeyAlgorithm::PS384), RSA(_)) => Some(Algorithm::PS384),
        (Some(KeyAlgorithm::PS512), RSA(_)) => Some(Algorithm::PS512),
        (Some(KeyAlgorithm::ES256), p @ Ec(_)) if curve(p) == Some(EllipticCurve::P256) => {
            Some(Algorithm::ES256)
        }
        (Some(KeyAlgorithm::ES384), p @ Ec(_)) if curve(p) == Some(EllipticCurve::P384) => {
            Some(Algorithm::ES384)
        }
        (Some(KeyAlgorithm::EdDSA), p @ Okp(_)) if curve(p) == Some(EllipticCurve::Ed25519) => {
            Some(Algorithm::EdDSA)
        }
        (Some(_), _) => None,
        (None, RSA(_)) => Some(Algorithm::RS256),
        (None, p @ Ec(_)) if curve(p) == Some(EllipticCurve::P256) => Some(Algorithm::ES256),
        (None, p @ Ec(_)) if curve(p) == Some(EllipticCurve::P384) => Some(Algorithm::ES384),
        (None, p @ Okp(_)) if curve(p) == Some(EllipticCurve::Ed25519) => Some(Algorithm::EdDSA),
        (None, _) => None,
    }
}

/// The algorithms mognad verifies tokens with, for messages.
const VERIFIED: &str = "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 and EdDSA";

fn load_jwks(path: &Path) -> Result<Keys, KeyError> {
    let fail = |message: String| KeyError::Jwks {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let set = parse_jwks(&text).map_err(fail)?;
    for (kid, why) in &set.skipped {
        tracing::warn!(file = %path.display(), kid = %kid, why = %why, "JWKS key skipped");
    }
    Ok(set.keys)
}

/// The kids of a set for a log line: the first ten, cleaned, and how many.
fn kids(keys: &Keys) -> String {
    let mut shown: Vec<String> = keys
        .keys()
        .take(10)
        .map(|k| crate::telemetry::clean(k, 64))
        .collect();
    shown.sort();
    if keys.len() > shown.len() {
        shown.push(format!("… {} in all", keys.len()));
    }
    shown.join(", ")
}

/// A key set as a provider publishes it: the keys mognad verifies tokens
/// with, and the others, skipped, each with its `kid` (cleaned for the
/// logs) and why.
struct KeySet {
    keys: Keys,
    skipped: Vec<(String, String)>,
}

/// The keys of a JWKS document. A key is used when it is for signatures
/// (`use` absent or `sig`; `key_ops`, if given, lists `verify`), names a
/// `kid` (tokens choose their key by it) and has an algorithm mognad
/// verifies; the others — Keycloak's encryption key, a key type or curve
/// mognad does not know, a second key under one `kid` — are skipped, not
/// fatal. A set without one usable key is refused.
fn parse_jwks(text: &str) -> Result<KeySet, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<Value>,
    }
    let document: Document =
        serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    let mut skipped = Vec::new();
    for value in document.keys {
        let kid = value.get("kid").and_then(Value::as_str).map(str::to_owned);
        let shown = kid
            .as_deref()
            .map_or_else(|| "(none)".to_owned(), |k| crate::telemetry::clean(k, 64));
        let mut skip = |why: String| skipped.push((shown.clone(), why));
        match value.get("use").and_then(Value::as_str) {
            None | Some("sig") => {}
            Some(other) => {
                skip(format!(
                    "its use is {:?}, not sig",
                    crate::telemetry::clean(other, 16)
                ));
                continue;
            }
        }
        if let Some(ops) = value.get("key_ops").and_then(Value::as_array)
            && !ops.iter().any(|o| o.as_str() == Some("verify"))
        {
            skip("its key_ops do not include verify".to_owned());
            continue;
        }
        let jwk: jsonwebtoken::jwk::Jwk = match serde_json::from_value(value) {
            Ok(jwk) => jwk,
            Err(_) => {
                skip("its key type or parameters are not ones mognad reads".to_owned());
                continue;
            }
        };
        let Some(kid) = kid else {
            skip("it has no kid (tokens name their key by kid)".to_owned());
            continue;
        };
        let Some(alg) = jwk_algorithm(&jwk) else {
            skip(format!(
                "its algorithm is not one mognad verifies ({VERIFIED})"
            ));
            continue;
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            skip("its key material cannot be read".to_owned());
            continue;
        };
        if keys.contains_key(&kid) {
            skip("its kid appears twice; the first key is used".to_owned());
            continue;
        }
        keys.insert(kid, (key, alg));
    }
    if keys.is_empty() {
        let why: Vec<String> = skipped
            .iter()
            .take(5)
            .map(|(k, w)| format!("{k}: {w}"))
            .collect();
        let more = skipped.len().saturating_sub(why.len());
        return Err(format!(
            "no usable signing key (RS256, ES256, EdDSA and the like with a kid){}{}",
            if why.is_empty() {
                String::new()
            } else {
                format!("; skipped {}", why.join("; "))
            },
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    Ok(KeySet { keys, skipped })
}

impl Authenticator {
    /// Builds the verifier from the configuration; `municipalities` are the
    /// codes a kommun token may name.
    /// A JWKS URL is fetched here.
    pub async fn new(config: &Config, municipalities: HashSet<String>) -> Result<Self, KeyError> {
        let hs256 = match hs256_secret(config)? {
            Some(secret) => {
                if config.jwt_secret.is_none() {
                    tracing::warn!(
                        file = %config.data_dir.join(DEV_SECRET_FILE).display(),
                        "dev mode: none of MOGNAD_JWT_SECRET, MOGNAD_JWKS_FILE and MOGNAD_JWKS_URL is set; tokens are signed \
                         with a generated secret kept in the data folder (`mognad token` uses it)"
                    );
                }
                Some(DecodingKey::from_secret(secret.expose().as_bytes())?)
            }
            None => None,
        };
        let jwks = match &config.jwks_file {
            Some(path) => load_jwks(path)?,
            None => HashMap::new(),
        };
        let remote = match &config.jwks_url {
            Some(url) => {
                let (remote, lifetime) = RemoteJwks::connect(url, config.jwks_min_refresh).await?;
                RemoteJwks::keep_fresh(&remote, lifetime);
                Some(remote)
            }
            None => None,
        };
        Ok(Self {
            hs256,
            jwks,
            remote,
            claims: ClaimMap::new(config),
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            municipalities,
        })
    }

    /// The principal of a request (ANONYMOUS without an Authorization header).
    pub fn authenticate(&self, req: &HttpRequest) -> Result<Principal, AuthError> {
        let Some(header) = req.headers().get(AUTHORIZATION) else {
            return Ok(Principal::anonymous());
        };
        let value = header.to_str().map_err(|_| AuthError::Malformed)?;
        let token = match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                token.trim()
            }
            _ => return Err(AuthError::Malformed),
        };
        self.verify(token)
    }

    /// [`Self::authenticate`], and where a token names a `kid` not in the
    /// identity provider's key set, the set fetched again (at most once per
    /// `MOGNAD_JWKS_MIN_REFRESH`) and the token checked against it.
    pub async fn authenticate_refreshing(&self, req: &HttpRequest) -> Result<Principal, AuthError> {
        match self.authenticate(req) {
            Err(AuthError::UnknownKid(kid)) => match &self.remote {
                Some(remote) if remote.refresh_for(&kid).await => self.authenticate(req),
                _ => Err(AuthError::UnknownKid(kid)),
            },
            other => other,
        }
    }

    /// Verifies one token.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(AuthError::Header)?;
        let remote = self.remote.as_ref().map(|r| r.keys());
        let (key, alg) = match &header.kid {
            Some(kid) => self
                .jwks
                .get(kid)
                .or_else(|| remote.as_ref().and_then(|keys| keys.get(kid)))
                .map(|(k, a)| (k, *a))
                .ok_or_else(|| AuthError::UnknownKid(kid.clone()))?,
            None => (
                self.hs256.as_ref().ok_or(AuthError::NoKey)?,
                Algorithm::HS256,
            ),
        };
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(token, key, &validation)
            .map_err(AuthError::Invalid)?
            .claims;
        // NumericDate claims are numbers (RFC 7519), never strings.
        for name in ["exp", "nbf", "iat"] {
            if claims.get(name).is_some_and(|v| !v.is_number()) {
                return Err(AuthError::NotANumber(name));
            }
        }
        if let Some(iat) = claims.get("iat").and_then(Value::as_f64)
            && iat > (chrono::Utc::now().timestamp() + LEEWAY_SECONDS as i64) as f64
        {
            return Err(AuthError::IssuedInFuture);
        }
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(AuthError::EmptySubject)?;
        if sub.chars().any(crate::telemetry::unsafe_in_a_line) || sub.chars().count() > MAX_SUBJECT
        {
            return Err(AuthError::BadSubject);
        }
        let sub = sub.to_owned();
        // The one place a principal is made: from the claims of a verified token.
        #[expect(
            clippy::disallowed_methods,
            reason = "authentication makes principals from verified claims"
        )]
        match self.claims.role(&claims)? {
            "kommun" => {
                let code = self
                    .claims
                    .kommun(&claims)
                    .ok_or(AuthError::MissingKommun)?;
                let known = KommunCode::parse(&code)
                    .ok()
                    .filter(|c| self.municipalities.contains(c.as_str()));
                let Some(code) = known else {
                    return Err(AuthError::UnknownKommun(code));
                };
                Ok(Principal::kommun(sub, code))
            }
            "skr_analyst" => Ok(Principal::skr(sub, Role::SkrAnalyst)),
            "skr_admin" => Ok(Principal::skr(sub, Role::SkrAdmin)),
            other => Err(AuthError::UnknownRole(other.to_owned())),
        }
    }
}

/// The claims `mognad token` writes.
#[derive(Debug, Serialize)]
pub struct NewClaims<'a> {
    pub iss: &'a str,
    pub aud: &'a str,
    pub sub: &'a str,
    pub role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kommun: Option<&'a str>,
    pub iat: i64,
    pub exp: i64,
}

/// Signs claims with an HS256 secret (for `mognad token` and tests).
pub fn sign_hs256(
    secret: &Secret,
    claims: &NewClaims<'_>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let key = EncodingKey::from_secret(secret.expose().as_bytes())?;
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key)
}

/// Parses a lifetime such as `90s`, `30m`, `1h`, `7d` or `3600` (seconds).
pub fn parse_ttl(text: &str) -> Option<i64> {
    crate::config::parse_duration(text)
        .filter(|d| d.as_secs() > 0)
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("90s"), Some(90));
        assert_eq!(parse_ttl("30m"), Some(1800));
        assert_eq!(parse_ttl("1h"), Some(3600));
        assert_eq!(parse_ttl("7d"), Some(604_800));
        assert_eq!(parse_ttl("3600"), Some(3600));
        for bad in ["", "0", "-1h", "1w", "h", "1.5h"] {
            assert_eq!(parse_ttl(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_short_secret_is_refused() {
        let config = Config {
            jwt_secret: Some(Secret::new("too short")),
            ..Config::default()
        };
        assert!(matches!(
            hs256_secret(&config),
            Err(KeyError::ShortSecret(9))
        ));
    }

    #[test]
    fn dev_secret_is_generated_once_and_kept() {
        let dir = std::env::temp_dir().join(format!(
            "mognad-dev-secret-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let first = dev_secret(&dir).unwrap();
        let second = dev_secret(&dir).unwrap();
        assert_eq!(first, second);
        assert!(first.expose().len() >= MIN_SECRET_BYTES);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
