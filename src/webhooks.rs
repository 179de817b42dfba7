//! The webhooks' dispatcher: a task beside the HTTP server that turns
//! change-feed events into deliveries and POSTs them, signed, to the
//! registered endpoints, retrying with backoff (the rules, and why nothing
//! is lost or sent out of the blue, are in `schema::services::webhooks`).
//!
//! Each delivery is a `POST` of JSON (`deliveryId`, `webhookId`,
//! `timestamp`, `event`) with the headers `X-Mognad-Signature: sha256=<hex
//! HMAC-SHA256 of the body with the webhook's secret>`, `X-Mognad-Timestamp`
//! (the body's `timestamp`: receivers refuse old ones against replays),
//! `X-Mognad-Event` and `X-Mognad-Delivery`. A 2xx answer delivers it;
//! anything else — another status, a redirect (not followed), no answer
//! within 10 s — is a failed attempt, logged for the admin as `failed` or
//! `HTTP <status>` and no more (why a connection failed is the operator's,
//! in the server's log).
//!
//! **Each endpoint on its own.** Every endpoint has its own HTTP client
//! (connections, DNS) and at most [`PER_ENDPOINT`] attempts under way; an
//! attempt is a task of its own, and the dispatcher takes new work as soon
//! as any attempt ends, so a slow or dead endpoint delays only itself.
//! After [`TRIP_AFTER`] failed attempts in a row an endpoint's circuit
//! opens: nothing is sent to it for [`COOL_DOWN`] (doubling while it stays
//! down, at most [`MAX_COOL_DOWN`]), then one attempt probes it; a success
//! closes the circuit. Deliveries wait meanwhile, their attempts unspent.
//!
//! **Only where it may.** Each endpoint's client resolves names through
//! [`schema::services::targets::Targets`], keeping only the addresses a
//! webhook may reach, and a literal address is checked before the request:
//! the address connected to is the one checked, at every delivery.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use schema::services::targets::{Endpoint, Targets};
use schema::services::webhooks::{self, Attempt, Due};
use sea_orm::DatabaseConnection;
use sha2::Sha256;
use uuid::Uuid;

/// How long an endpoint may take to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a taken delivery is this server's before another may take it.
const LEASE: Duration = Duration::from_secs(30);
/// Attempts under way to one endpoint at most.
pub const PER_ENDPOINT: usize = 4;
/// Failed attempts in a row that open an endpoint's circuit.
pub const TRIP_AFTER: u32 = 5;
/// How long an open circuit first stays open.
pub const COOL_DOWN: Duration = Duration::from_secs(30);
/// The longest an open circuit stays open before a probe.
pub const MAX_COOL_DOWN: Duration = Duration::from_secs(600);

/// The dispatcher's settings (`MOGNAD_WEBHOOK_*`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often the outbox is looked at.
    pub poll: Duration,
    /// The first retry's delay; each further one doubles it.
    pub retry_base: Duration,
    /// Attempts before a delivery is FAILED.
    pub max_attempts: i32,
    /// The key payloads' event ids are sealed with (the feed's cursors).
    pub cursors: schema::cursor::Cursors,
}

/// `sha256=<hex HMAC-SHA256 of body with secret>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    let code = mac.finalize().into_bytes();
    let hex: String = code.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A random number in [0, 1), for the jitter.
fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() >> 75; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

pub struct Dispatcher {
    db: DatabaseConnection,
    settings: Settings,
    targets: Arc<Targets>,
    /// Each endpoint's client and circuit, by webhook id.
    endpoints: HashMap<Uuid, Circuit>,
}

/// What the dispatcher keeps of one endpoint.
struct Circuit {
    /// The URL `route` was made for.
    url: String,
    /// How it is reached; `None` if its URL can no longer be read or no
    /// client built for it.
    route: Option<Route>,
    in_flight: usize,
    /// Failed attempts in a row.
    failures: u32,
    /// Times the circuit opened (or a probe failed) since it last closed:
    /// each doubles the wait.
    trips: u32,
    /// While open: when the next probe may go.
    open_until: Option<Instant>,
}

impl Circuit {
    /// How many more attempts may start now.
    fn room(&self, now: Instant) -> usize {
        match self.open_until {
            Some(until) if until > now => 0,
            // Open, and its cool-down over: one probe at a time.
            Some(_) => 1usize.saturating_sub(self.in_flight),
            None => PER_ENDPOINT.saturating_sub(self.in_flight),
        }
    }

    /// Counts an attempt's end.
    fn ended(&mut self, delivered: bool, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if delivered {
            (self.failures, self.trips, self.open_until) = (0, 0, None);
            return;
        }
        self.failures = self.failures.saturating_add(1);
        // A failure while the circuit is open and cooling down is an attempt
        // that was under way when it opened: it changes nothing.
        if self.failures < TRIP_AFTER || self.open_until.is_some_and(|until| until > now) {
            return;
        }
        if self.trips == 0 {
            let host = self.route.as_ref().map_or("", |r| r.endpoint.host.as_str());
            tracing::warn!(host = %host, failures = self.failures, "webhook endpoint failing: its circuit is open");
        }
        let wait = COOL_DOWN
            .saturating_mul(1 << self.trips.min(10))
            .min(MAX_COOL_DOWN);
        self.trips = self.trips.saturating_add(1);
        self.open_until = Some(now + wait);
    }
}

/// An attempt that ended: its endpoint and whether it delivered.
type Ended = (Uuid, bool);

impl Dispatcher {
    pub fn new(db: DatabaseConnection, settings: Settings, targets: Arc<Targets>) -> Self {
        Self {
            db,
            settings,
            targets,
            endpoints: HashMap::new(),
        }
    }

    /// Every `poll`, and whenever an attempt ends, fans out new events and
    /// starts what is due where there is room, until `stop` turns true:
    /// then the attempts under way are finished and recorded (so a stopped
    /// server leaves no delivery to wait out its lease). Dropped instead,
    /// it stops at once; what it had taken is taken again when the lease ends.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut running: tokio::task::JoinSet<Ended> = tokio::task::JoinSet::new();
        let mut next_poll = Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            if Instant::now() >= next_poll {
                if let Err(error) = webhooks::fan_out(&self.db).await {
                    tracing::warn!(?error, "webhook fan-out failed; trying again");
                }
                self.forget_deleted().await;
                next_poll = Instant::now() + self.settings.poll;
            }
            if let Err(error) = self.start_due(&mut running).await {
                tracing::warn!(?error, "taking due webhook deliveries failed; trying again");
            }
            let wait = next_poll.saturating_duration_since(Instant::now());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                Some(done) = running.join_next(), if !running.is_empty() => self.ended(done),
                changed = stop.changed() => {
                    if changed.is_err() {
                        break; // the server is gone
                    }
                }
            }
        }
        while let Some(done) = running.join_next().await {
            self.ended(done);
        }
    }

    /// Forgets the circuits of webhooks that are gone.
    async fn forget_deleted(&mut self) {
        if self.endpoints.is_empty() {
            return;
        }
        if let Ok(ids) = webhooks::endpoint_ids(&self.db).await {
            self.endpoints
                .retain(|id, c| c.in_flight > 0 || ids.contains(id));
        }
    }

    /// Counts an attempt that ended.
    fn ended(&mut self, done: Result<Ended, tokio::task::JoinError>) {
        match done {
            Ok((webhook, delivered)) => {
                if let Some(circuit) = self.endpoints.get_mut(&webhook) {
                    circuit.ended(delivered, Instant::now());
                }
            }
            Err(error) => tracing::warn!(%error, "a webhook attempt stopped"),
        }
    }

    /// Takes due deliveries of each endpoint with room and starts their attempts.
    async fn start_due(
        &mut self,
        running: &mut tokio::task::JoinSet<Ended>,
    ) -> Result<(), schema::ApiError> {
        let now = Instant::now();
        let due = webhooks::due_endpoints(&self.db).await?;
        // Forget healthy endpoints with nothing under way and nothing due:
        // the map stays as small as the work. A failing one is kept until it
        // succeeds or its webhook is deleted ([`Self::forget_deleted`]).
        self.endpoints
            .retain(|id, c| c.in_flight > 0 || c.failures > 0 || due.contains(id));
        for webhook in due {
            // At most PER_ENDPOINT × MAX_WEBHOOKS (200) attempts are under way.
            let room = self
                .endpoints
                .get(&webhook)
                .map_or(PER_ENDPOINT, |c| c.room(now));
            if room == 0 {
                continue;
            }
            for due in webhooks::claim(&self.db, webhook, LEASE, room as u64).await? {
                let route = self.route_for(&due);
                let (db, settings, targets) =
                    (self.db.clone(), self.settings.clone(), self.targets.clone());
                let webhook = due.webhook_id;
                let attempt_task = tokio::spawn(async move {
                    let attempt = send(route.as_ref(), &targets, &settings.cursors, &due).await;
                    let retries = webhooks::Retries {
                        base: settings.retry_base,
                        max_attempts: settings.max_attempts,
                    };
                    let delivered = attempt.delivered();
                    if let Err(error) =
                        webhooks::record_attempt(&db, &due, &attempt, retries, jitter()).await
                    {
                        tracing::warn!(?error, "recording a webhook attempt failed");
                    }
                    delivered
                });
                // The attempt runs as a task of its own: should it panic,
                // its endpoint still gets its slot back (as a failure).
                running.spawn(async move { (webhook, attempt_task.await.unwrap_or(false)) });
            }
        }
        Ok(())
    }

    /// How the endpoint of `due` is reached, made the first time (or when
    /// its URL is new), with one more attempt counted under way.
    fn route_for(&mut self, due: &Due) -> Option<Route> {
        let targets = self.targets.clone();
        let circuit = self
            .endpoints
            .entry(due.webhook_id)
            .or_insert_with(|| Circuit {
                url: String::new(),
                route: None,
                in_flight: 0,
                failures: 0,
                trips: 0,
                open_until: None,
            });
        if circuit.url != due.url || circuit.route.is_none() {
            circuit.url = due.url.clone();
            circuit.route = Targets::parse(&due.url).ok().and_then(|endpoint| {
                let client = client(targets, &endpoint).ok()?;
                Some(Route { endpoint, client })
            });
        }
        circuit.in_flight += 1;
        circuit.route.clone()
    }
}

/// How an endpoint is reached: its URL as read once, and its own client.
#[derive(Clone)]
struct Route {
    endpoint: Endpoint,
    client: reqwest::Client,
}

/// An endpoint's HTTP client: its names resolved through `targets`.
fn client(targets: Arc<Targets>, endpoint: &Endpoint) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(PER_ENDPOINT)
        .dns_resolver(Arc::new(Guard {
            targets,
            port: endpoint.port,
        }))
        .user_agent(concat!("mognad-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The DNS resolver of an endpoint's client: only the addresses its
/// webhook may reach ([`Targets::permits`]), looked up at each connection.
struct Guard {
    targets: Arc<Targets>,
    /// The endpoint's port (the resolver is asked for names only).
    port: u16,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (targets, port) = (self.targets.clone(), self.port);
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), port)).await?;
            let permitted: Vec<SocketAddr> = found.filter(|a| targets.permits(&host, *a)).collect();
            if permitted.is_empty() {
                tracing::warn!(host = %host, "webhook host resolves to no address a webhook may reach");
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    "no permitted address".into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

/// A delivery's request: its body and what its headers say.
struct Signed<'a> {
    secret: &'a str,
    body: String,
    timestamp: i64,
    event: String,
    delivery: String,
}

/// The signed POST of a delivery (or a test event), as every one is sent.
async fn post(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    signed: Signed<'_>,
) -> Result<reqwest::Response, reqwest::Error> {
    client
        .post(&endpoint.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            "X-Mognad-Signature",
            signature(signed.secret.as_bytes(), signed.body.as_bytes()),
        )
        .header("X-Mognad-Timestamp", signed.timestamp.to_string())
        .header("X-Mognad-Event", signed.event)
        .header("X-Mognad-Delivery", signed.delivery)
        .body(signed.body)
        .send()
        .await
}

/// Sends `testWebhook`'s events: through the same checks, client and
/// signature as the dispatcher's deliveries, on a client of its own.
pub struct TestSender {
    pub targets: Arc<Targets>,
}

impl webhooks::TestSender for TestSender {
    fn send_test(
        &self,
        delivery: webhooks::TestDelivery,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Attempt> + Send + '_>> {
        Box::pin(async move {
            let at = chrono::Utc::now();
            let started = Instant::now();
            let failed = |error: String, status_code: Option<u16>| Attempt {
                at,
                status_code,
                error: Some(error),
                duration: started.elapsed(),
            };
            let Ok(endpoint) = Targets::parse(&delivery.url) else {
                return failed("failed".into(), None);
            };
            if let Some(ip) = endpoint.ip
                && !self
                    .targets
                    .permits(&endpoint.host, SocketAddr::new(ip, endpoint.port))
            {
                return failed("failed".into(), None);
            }
            let Ok(client) = client(self.targets.clone(), &endpoint) else {
                return failed("failed".into(), None);
            };
            let signed = Signed {
                secret: &delivery.secret,
                body: delivery.body,
                timestamp: delivery.timestamp,
                event: webhooks::TEST_EVENT.to_owned(),
                delivery: delivery.delivery_id,
            };
            match post(&client, &endpoint, signed).await {
                Ok(response) if response.status().is_success() => Attempt {
                    at,
                    status_code: Some(response.status().as_u16()),
                    error: None,
                    duration: started.elapsed(),
                },
                Ok(response) => {
                    let status = response.status().as_u16();
                    failed(format!("HTTP {status}"), Some(status))
                }
                Err(_) => failed("failed".into(), None),
            }
        })
    }
}

/// One attempt: the signed POST and what came of it.
async fn send(
    route: Option<&Route>,
    targets: &Targets,
    cursors: &schema::cursor::Cursors,
    due: &Due,
) -> Attempt {
    let at = chrono::Utc::now();
    let started = Instant::now();
    let failed = |why: &str| {
        tracing::info!(delivery = due.delivery_id, webhook = %due.webhook_id, attempt = due.attempts + 1, why, "webhook delivery failed");
        Attempt {
            at,
            status_code: None,
            error: Some("failed".to_owned()),
            duration: started.elapsed(),
        }
    };
    let Some(Route { endpoint, client }) = route else {
        return failed("its URL cannot be used");
    };
    // A literal address is not resolved: it is checked here.
    if let Some(ip) = endpoint.ip
        && !targets.permits(&endpoint.host, SocketAddr::new(ip, endpoint.port))
    {
        return failed("its address is not one a webhook may reach");
    }
    let timestamp = at.timestamp();
    let body = webhooks::payload(due, timestamp, cursors).to_string();
    let signed = Signed {
        secret: &due.secret,
        body,
        timestamp,
        event: sea_orm::ActiveEnum::to_value(&due.event.kind),
        delivery: cursors.delivery_id(due.webhook_id, due.delivery_id),
    };
    let result = post(client, endpoint, signed).await;
    let duration = started.elapsed();
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::info!(delivery = due.delivery_id, webhook = %due.webhook_id, attempt = due.attempts + 1, status, "webhook delivery attempted");
            Attempt {
                at,
                status_code: Some(status),
                error: (!response.status().is_success()).then(|| format!("HTTP {status}")),
                duration,
            }
        }
        Err(e) => {
            let why = if e.is_timeout() {
                "no answer in time"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "the request failed"
            };
            failed(why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_circuit_opens_once_for_a_burst_and_doubles_per_failed_probe() {
        let mut c = Circuit {
            url: "https://receiver.example/hook".into(),
            route: None,
            in_flight: 8,
            failures: 0,
            trips: 0,
            open_until: None,
        };
        let t = Instant::now();
        // Eight attempts under way fail at once: one trip, 30 s.
        for _ in 0..8 {
            c.ended(false, t);
        }
        assert_eq!(c.open_until, Some(t + COOL_DOWN));
        assert_eq!(c.room(t), 0);
        // Cooled down: one probe; it fails: 60 s.
        let later = t + COOL_DOWN;
        assert_eq!(c.room(later), 1);
        c.in_flight = 1;
        c.ended(false, later);
        assert_eq!(c.open_until, Some(later + 2 * COOL_DOWN));
        // A probe that gets through closes it.
        let then = later + 2 * COOL_DOWN;
        c.in_flight = 1;
        c.ended(true, then);
        assert_eq!((c.failures, c.trips, c.open_until), (0, 0, None));
        assert_eq!(c.room(then), PER_ENDPOINT);
    }

    #[test]
    fn jitter_is_in_the_unit_interval() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
