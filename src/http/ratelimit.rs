//! Rate limits on `/graphql` (`actix-governor`): a client is the verified
//! token's subject, or, without a valid token, the peer's IP address (the
//! address the connection comes from: behind a proxy, every caller shares
//! the proxy's, so put the limit in the proxy or give callers tokens).
//! A client over its limit gets 429 with `Retry-After` and the code
//! RATE_LIMITED, and the refusal is counted in `mognad_rate_limited_total`.

use std::net::IpAddr;
use std::sync::Arc;

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::ContentType;
use actix_web::{HttpMessage, HttpResponse, HttpResponseBuilder};
use schema::ErrorCode;
use serde_json::json;

use super::AppState;

/// Whom a request counts against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    /// A verified token's role and subject.
    Subject(String),
    /// No valid token: the peer address.
    Ip(IpAddr),
}

impl Client {
    /// The client of a request made by `principal` from `req`'s peer.
    pub fn of(principal: &schema::Principal, req: &actix_web::HttpRequest) -> Self {
        match principal.subject() {
            Some(subject) => Self::Subject(format!("{}:{subject}", principal.role().name())),
            None => Self::peer(req),
        }
    }

    /// The client behind a connection: its IPv4 address, or its IPv6
    /// address's /64 — the block one subscriber is given, so that one
    /// attacker's billions of addresses are one client.
    fn peer(req: &actix_web::HttpRequest) -> Self {
        let ip = req
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        Self::Ip(match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(std::net::Ipv6Addr::from(
                    u128::from(v6) & !((1u128 << 64) - 1),
                )),
            },
            v4 => v4,
        })
    }

    /// The key of the client's budget.
    fn key(&self) -> String {
        match self {
            Self::Subject(s) => format!("sub:{s}"),
            Self::Ip(ip) => format!("ip:{ip}"),
        }
    }
}

/// The budget ([`schema::budget`]) a request of `principal` spends from,
/// when budgets are configured: GraphQL requests carry it to the schema,
/// which takes their measured cost.
pub fn budget_of(
    state: &AppState,
    principal: &schema::Principal,
    req: &actix_web::HttpRequest,
) -> Option<schema::budget::ClientBudget> {
    let budgets = state.budgets.as_ref()?;
    Some(budgets.client(&Client::of(principal, req).key()))
}

/// Takes `cost` (from [`schema::cost::figure`]) from the budget of the
/// client behind a file or chart request: RATE_LIMITED when it is spent.
pub fn charge(
    state: &AppState,
    principal: &schema::Principal,
    req: &actix_web::HttpRequest,
    cost: usize,
) -> Result<(), schema::ApiError> {
    match budget_of(state, principal, req) {
        Some(budget) => budget
            .take(cost)
            .map_err(|wait| schema::budget::spent(cost, wait)),
        None => Ok(()),
    }
}

/// A principal the limiter has verified already, for the handler.
#[derive(Clone)]
pub struct Verified(pub schema::Principal);

/// Finds the [`Client`] of a request (the token is verified first: a forged
/// subject does not buy a fresh quota).
#[derive(Clone)]
pub struct ClientKey(pub Arc<AppState>);

impl KeyExtractor for ClientKey {
    type Key = Client;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Client, Self::KeyExtractionError> {
        match self.0.auth.authenticate(req.request()) {
            Ok(principal) => {
                let client = Client::of(&principal, req.request());
                // The handler takes the verified principal from here: one check per request.
                req.extensions_mut().insert(Verified(principal));
                Ok(client)
            }
            Err(_) => Ok(Client::peer(req.request())),
        }
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now());
        // Retry-After is whole seconds, rounded up (actix-governor sets it too).
        let seconds = schema::error::whole_seconds(wait);
        self.0.meters.count("mognad_rate_limited_total", &[]);
        response
            .insert_header(("retry-after", seconds.to_string()))
            .content_type(ContentType::json())
            .json(json!({ "errors": [{
                "message": format!("too many requests; try again in {seconds} s"),
                "extensions": { "code": ErrorCode::RateLimited.as_str() }
            }] }))
    }
}

/// The limiter all workers share, when a rate is configured.
pub type Limiter = GovernorConfig<ClientKey, NoOpMiddleware<QuantaInstant>>;

/// `per_second` requests a second with bursts of `burst` (a rate of 0 is
/// no limit: the caller then leaves the limiter out). The clients it has
/// seen are let go a minute after their quota is whole again (a task beside
/// it), so the table stays as large as the clients of the last minute.
pub fn limiter(state: Arc<AppState>, per_second: u32, burst: u32) -> Option<Limiter> {
    // One request's worth of quota comes back every 1/rate seconds.
    let nanos = 1_000_000_000u64 / u64::from(per_second.max(1));
    let config = GovernorConfigBuilder::default()
        .nanoseconds_per_request(nanos.max(1))
        .burst_size(burst.max(1))
        .key_extractor(ClientKey(state))
        .finish()?;
    let limiter = std::sync::Arc::downgrade(&config.limiter());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            let Some(limiter) = limiter.upgrade() else {
                return;
            };
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    });
    Some(config)
}
