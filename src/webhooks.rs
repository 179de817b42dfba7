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
//! within 10 s — is a failed attempt.

use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use schema::services::webhooks::{self, Attempt, Due};
use sea_orm::DatabaseConnection;
use sha2::Sha256;

/// How long an endpoint may take to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a taken delivery is this server's before another may take it.
const LEASE: Duration = Duration::from_secs(30);
/// Deliveries taken at once.
const BATCH: u64 = 16;

/// The dispatcher's settings (`MOGNAD_WEBHOOK_*`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often the outbox is looked at.
    pub poll: Duration,
    /// The first retry's delay; each further one doubles it.
    pub retry_base: Duration,
    /// Attempts before a delivery is FAILED.
    pub max_attempts: i32,
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
    client: reqwest::Client,
    settings: Settings,
}

impl Dispatcher {
    pub fn new(db: DatabaseConnection, settings: Settings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mognad-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            db,
            client,
            settings,
        })
    }

    /// Every `poll`, fans out new events and delivers what is due, until
    /// `stop` turns true: then the attempts under way are finished and
    /// recorded (so a stopped server leaves no delivery to wait out its
    /// lease). Dropped instead, it stops at once; what it had taken is taken
    /// again when the lease ends.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.tick(&stop).await {
                tracing::warn!(?error, "webhook dispatch failed; trying again");
            }
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.poll) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn tick(
        &self,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), schema::ApiError> {
        webhooks::fan_out(&self.db).await?;
        while !*stop.borrow() {
            let due = webhooks::claim(&self.db, LEASE, BATCH).await?;
            if due.is_empty() {
                return Ok(());
            }
            let mut set = tokio::task::JoinSet::new();
            for d in due {
                let (client, db, settings) =
                    (self.client.clone(), self.db.clone(), self.settings.clone());
                set.spawn(async move {
                    let attempt = send(&client, &d).await;
                    tracing::info!(
                        delivery = d.delivery_id,
                        webhook = %d.webhook_id,
                        attempt = d.attempts + 1,
                        status = attempt.status_code,
                        error = attempt.error.as_deref(),
                        "webhook delivery attempted"
                    );
                    let retries = webhooks::Retries {
                        base: settings.retry_base,
                        max_attempts: settings.max_attempts,
                    };
                    webhooks::record_attempt(&db, &d, &attempt, retries, jitter()).await
                });
            }
            while let Some(done) = set.join_next().await {
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(?error, "recording a webhook attempt failed");
                    }
                    Err(error) => tracing::warn!(%error, "a webhook attempt stopped"),
                }
            }
        }
        Ok(())
    }
}

/// One attempt: the signed POST and what came of it.
async fn send(client: &reqwest::Client, due: &Due) -> Attempt {
    let at = chrono::Utc::now();
    let timestamp = at.timestamp();
    let body = webhooks::payload(due, timestamp).to_string();
    let started = Instant::now();
    let result = client
        .post(&due.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            "X-Mognad-Signature",
            signature(due.secret.as_bytes(), body.as_bytes()),
        )
        .header("X-Mognad-Timestamp", timestamp.to_string())
        .header(
            "X-Mognad-Event",
            sea_orm::ActiveEnum::to_value(&due.event.kind),
        )
        .header("X-Mognad-Delivery", due.delivery_id.to_string())
        .body(body)
        .send()
        .await;
    let duration = started.elapsed();
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let error = (!response.status().is_success()).then(|| format!("HTTP {status}"));
            Attempt {
                at,
                status_code: Some(status),
                error,
                duration,
            }
        }
        Err(e) => Attempt {
            at,
            status_code: None,
            error: Some(if e.is_timeout() {
                "no answer in time".to_owned()
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                "the request failed".to_owned()
            }),
            duration,
        },
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
    fn jitter_is_in_the_unit_interval() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
