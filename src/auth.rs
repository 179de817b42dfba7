//! Bearer tokens -> [`Principal`].
//!
//! - No `Authorization` header: ANONYMOUS. A header that is present must be
//!   `Bearer <jwt>` with a valid token, else the whole request is refused.
//! - Keys: an HS256 secret (`MOGNAD_JWT_SECRET`, at least 32 bytes) and/or
//!   public keys from a JWKS file (`MOGNAD_JWKS_FILE`), chosen by `kid`.
//! - The algorithm comes from the key, never from the token header, so
//!   `alg: none` and an HS256 token "signed" with a public key both fail.
//! - `exp`, `iss`, `aud` and `sub` are required claims; `nbf` and `iat` are
//!   honoured when present (60 s leeway); `role` must be known; role `kommun`
//!   needs a `kommun` claim naming an existing municipality.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use schema::domain::KommunCode;
use schema::{Principal, Role};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Secret};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 60;
/// Shortest accepted HS256 secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// Name of the dev-mode secret file in the data folder.
pub const DEV_SECRET_FILE: &str = "dev-jwt-secret";

/// Why a token was refused. Logged (never the token); clients see only
/// "invalid token".
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header is not `Bearer <token>`")]
    Malformed,
    #[error("the token header cannot be read: {0}")]
    Header(jsonwebtoken::errors::Error),
    #[error("no key with kid {0:?}")]
    UnknownKid(String),
    #[error("the token names no kid and no HS256 secret is configured")]
    NoKey,
    #[error("the token failed verification: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("the token was issued in the future")]
    IssuedInFuture,
    #[error("the sub claim is empty")]
    EmptySubject,
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    #[error("role kommun without a kommun claim")]
    MissingKommun,
    #[error("kommun {0:?} is not a known municipality")]
    UnknownKommun(String),
}

/// Problems with the configured keys; the server refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("MOGNAD_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (it has {0})")]
    ShortSecret(usize),
    #[error("cannot read MOGNAD_JWKS_FILE {path}: {message}")]
    Jwks { path: String, message: String },
    #[error("the dev-mode secret in {path}: {source}")]
    DevSecret {
        path: String,
        source: std::io::Error,
    },
    #[error("key error: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default)]
    kommun: Option<String>,
    #[serde(default)]
    iat: Option<i64>,
}

/// Verifies bearer tokens against the configured keys.
pub struct Authenticator {
    hs256: Option<DecodingKey>,
    jwks: HashMap<String, (DecodingKey, Algorithm)>,
    issuer: String,
    audience: String,
    municipalities: HashSet<String>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("hs256", &self.hs256.is_some())
            .field("kids", &self.jwks.keys().collect::<Vec<_>>())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The HS256 secret to use: the configured one, or in dev mode (neither a
/// secret nor a JWKS file) one generated once and kept in the data folder.
pub fn hs256_secret(config: &Config) -> Result<Option<Secret>, KeyError> {
    if let Some(secret) = &config.jwt_secret {
        let len = secret.expose().len();
        if len < MIN_SECRET_BYTES {
            return Err(KeyError::ShortSecret(len));
        }
        return Ok(Some(secret.clone()));
    }
    if config.jwks_file.is_some() {
        return Ok(None);
    }
    dev_secret(&config.data_dir).map(Some)
}

/// Reads (or first creates) the dev-mode secret in `data_dir`.
pub fn dev_secret(data_dir: &Path) -> Result<Secret, KeyError> {
    let path = data_dir.join(DEV_SECRET_FILE);
    let err = |source| KeyError::DevSecret {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= MIN_SECRET_BYTES => return Ok(Secret::new(s.trim())),
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
    Ok(Secret::new(secret))
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

/// The algorithm a JWK is for: its `alg`, else what its key type implies.
fn jwk_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
        (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(_)) => {
            Some(Algorithm::ES256)
        }
        (Some(KeyAlgorithm::EdDSA), AlgorithmParameters::OctetKeyPair(_)) => Some(Algorithm::EdDSA),
        (Some(_), _) => None,
        (None, AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
        (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        (None, AlgorithmParameters::OctetKeyPair(p)) if p.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        (None, _) => None,
    }
}

fn load_jwks(path: &Path) -> Result<HashMap<String, (DecodingKey, Algorithm)>, KeyError> {
    let shown = path.display().to_string();
    let fail = |message: String| KeyError::Jwks {
        path: shown.clone(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let set: JwkSet =
        serde_json::from_str(&text).map_err(|e| fail(format!("not a JWKS document: {e}")))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk
            .common
            .key_id
            .clone()
            .ok_or_else(|| fail("every key needs a kid".into()))?;
        let alg = jwk_algorithm(jwk).ok_or_else(|| {
            fail(format!(
                "key {kid:?}: only RS256, ES256 and EdDSA keys are supported"
            ))
        })?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| fail(format!("key {kid:?}: {e}")))?;
        if keys.insert(kid.clone(), (key, alg)).is_some() {
            return Err(fail(format!("kid {kid:?} appears twice")));
        }
    }
    Ok(keys)
}

impl Authenticator {
    /// Builds the verifier from the configuration; `municipalities` are the
    /// codes a kommun token may name.
    pub fn new(config: &Config, municipalities: HashSet<String>) -> Result<Self, KeyError> {
        let hs256 = match hs256_secret(config)? {
            Some(secret) => {
                if config.jwt_secret.is_none() {
                    tracing::warn!(
                        file = %config.data_dir.join(DEV_SECRET_FILE).display(),
                        "dev mode: neither MOGNAD_JWT_SECRET nor MOGNAD_JWKS_FILE is set; tokens are signed \
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
        Ok(Self {
            hs256,
            jwks,
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

    /// Verifies one token.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(AuthError::Header)?;
        let (key, alg) = match &header.kid {
            Some(kid) => self
                .jwks
                .get(kid)
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
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(AuthError::Invalid)?
            .claims;
        if let Some(iat) = claims.iat
            && iat > chrono::Utc::now().timestamp() + LEEWAY_SECONDS as i64
        {
            return Err(AuthError::IssuedInFuture);
        }
        if claims.sub.trim().is_empty() {
            return Err(AuthError::EmptySubject);
        }
        // The one place a principal is made: from the claims of a verified token.
        #[expect(
            clippy::disallowed_methods,
            reason = "authentication makes principals from verified claims"
        )]
        match claims.role.as_str() {
            "kommun" => {
                let code = claims.kommun.ok_or(AuthError::MissingKommun)?;
                let known = KommunCode::parse(&code)
                    .ok()
                    .filter(|c| self.municipalities.contains(c.as_str()));
                let Some(code) = known else {
                    return Err(AuthError::UnknownKommun(code));
                };
                Ok(Principal::kommun(claims.sub, code))
            }
            "skr_analyst" => Ok(Principal::skr(claims.sub, Role::SkrAnalyst)),
            "skr_admin" => Ok(Principal::skr(claims.sub, Role::SkrAdmin)),
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
