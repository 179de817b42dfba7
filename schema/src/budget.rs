//! Cost budgets per client: what a client's requests may cost each second.
//!
//! The rate limit counts requests; a budget counts what they cost
//! ([`crate::cost`]: one per field, a figure not in memory 50, a panel
//! trend 200). Each client — a verified token's role and subject, else the
//! peer address — has a bucket that fills at `per_second` units a second up
//! to `burst`; a request takes its cost from it once its document has been
//! measured and validated, before anything runs. A client may so make many
//! cheap requests or a few expensive ones, but never keep the database busy
//! for others: one client's heaviest accepted requests, sent as fast as it
//! likes, cost the database what `per_second` units allow and no more.
//!
//! A refused request costs nothing and is answered RATE_LIMITED with the
//! seconds to wait. Behind a reverse proxy every anonymous caller has the
//! proxy's address, and so one budget: give callers tokens, or limit there.
//! The table holds at most [`MAX_CLIENTS`] clients: idle ones (full
//! buckets) go first, then the least recently seen half.
//!
//! Budgets are kept per server process: with several instances behind one
//! database, a client may spend the budget once on each, so size
//! `MOGNAD_COST_BUDGET` as the database's share for one client divided by
//! the number of instances.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Clients whose buckets are kept before full ones (idle clients) are let go.
const MAX_CLIENTS: usize = 10_000;

/// The buckets of every client, shared by all requests of a server.
#[derive(Debug)]
pub struct Budgets {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<Arc<str>, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    units: f64,
    at: Instant,
}

impl Budgets {
    /// `per_second` units a second, at most `burst` saved up; `None` for a
    /// rate of 0 (no budget).
    pub fn new(per_second: u32, burst: u32) -> Option<Arc<Self>> {
        (per_second > 0).then(|| {
            Arc::new(Self {
                per_second: f64::from(per_second),
                burst: f64::from(burst.max(1)),
                buckets: Mutex::new(HashMap::new()),
            })
        })
    }

    /// The handle a request of `client` spends through.
    pub fn client(self: &Arc<Self>, client: &str) -> ClientBudget {
        ClientBudget {
            budgets: self.clone(),
            client: Arc::from(client),
        }
    }

    /// Takes `cost` from `client`'s bucket, or says how long until it holds
    /// that much (nothing is taken then). A cost above the burst is taken
    /// from a full bucket, leaving it in debt, so that no request the
    /// complexity limit admits is refused for ever.
    fn take(&self, client: &Arc<str>, cost: usize, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(client) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.filled(rate, burst, now) < burst);
            // Still full: the half least recently used go (a client let go
            // comes back with a full bucket, as after a pause). Amortised over
            // the insertions until the table is full again.
            if buckets.len() >= MAX_CLIENTS {
                let mut at: Vec<Instant> = buckets.values().map(|b| b.at).collect();
                at.sort_unstable();
                let cut = at[at.len() / 2];
                buckets.retain(|_, b| b.at > cut);
            }
        }
        let bucket = buckets.entry(client.clone()).or_insert(Bucket {
            units: self.burst,
            at: now,
        });
        let units = bucket.filled(self.per_second, self.burst, now);
        let cost = cost as f64;
        if units >= cost.min(self.burst) {
            *bucket = Bucket {
                units: units - cost,
                at: now,
            };
            Ok(())
        } else {
            let missing = cost.min(self.burst) - units;
            Err(Duration::from_secs_f64(missing / self.per_second))
        }
    }
}

impl Bucket {
    /// The units in the bucket at `now`.
    fn filled(&self, per_second: f64, burst: f64, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.units + elapsed * per_second).min(burst)
    }
}

/// One client's budget, as a request carries it (the HTTP layer attaches
/// it to every request from the verified client).
#[derive(Clone, Debug)]
pub struct ClientBudget {
    budgets: Arc<Budgets>,
    client: Arc<str>,
}

impl ClientBudget {
    /// Takes `cost`, or says how long to wait before the request can be made.
    pub fn take(&self, cost: usize) -> Result<(), Duration> {
        self.budgets.take(&self.client, cost, Instant::now())
    }
}

/// The refusal of a request of `cost` that must wait `wait` for its budget.
pub fn spent(cost: usize, wait: Duration) -> crate::ApiError {
    let seconds = crate::error::whole_seconds(wait);
    crate::ApiError::rate_limited(
        format!(
            "this client's cost budget is spent for now: the request weighs {cost}; try again in {seconds} s"
        ),
        wait,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_fills_at_its_rate_up_to_its_burst() {
        let budgets = Budgets::new(100, 300).unwrap();
        let a: Arc<str> = Arc::from("kommun:a");
        let t = Instant::now();
        assert_eq!(budgets.take(&a, 200, t), Ok(()));
        // 100 left: 150 must wait half a second.
        assert_eq!(budgets.take(&a, 150, t), Err(Duration::from_millis(500)));
        assert_eq!(
            budgets.take(&a, 150, t + Duration::from_millis(500)),
            Ok(())
        );
        // Another client has its own.
        assert_eq!(budgets.take(&Arc::from("ip:1"), 300, t), Ok(()));
        // Saved up for a long time: no more than the burst.
        let later = t + Duration::from_secs(60);
        assert_eq!(budgets.take(&a, 300, later), Ok(()));
        assert!(budgets.take(&a, 1, later).is_err());
    }

    #[test]
    fn a_request_above_the_burst_runs_from_a_full_bucket_and_leaves_a_debt() {
        let budgets = Budgets::new(100, 100).unwrap();
        let a: Arc<str> = Arc::from("a");
        let t = Instant::now();
        assert_eq!(budgets.take(&a, 250, t), Ok(()));
        // 150 in debt: a full bucket again after two and a half seconds.
        assert_eq!(budgets.take(&a, 100, t), Err(Duration::from_millis(2500)));
    }

    #[test]
    fn busy_clients_beyond_the_table_push_out_the_least_recent_half() {
        let budgets = Budgets::new(1, 10).unwrap();
        let t = Instant::now();
        for i in 0..MAX_CLIENTS {
            let at = t + Duration::from_micros(i as u64);
            budgets.take(&Arc::from(format!("c{i}")), 5, at).unwrap();
        }
        let later = t + Duration::from_millis(100);
        budgets.take(&Arc::from("new"), 5, later).unwrap();
        let buckets = budgets.buckets.lock().unwrap();
        assert!(buckets.len() <= MAX_CLIENTS / 2 + 1, "{}", buckets.len());
        assert!(buckets.contains_key("new") && buckets.contains_key("c9999"));
        assert!(!buckets.contains_key("c0"));
    }

    #[test]
    fn idle_clients_are_let_go_when_there_are_too_many() {
        let budgets = Budgets::new(10, 10).unwrap();
        let t = Instant::now();
        for i in 0..MAX_CLIENTS {
            budgets.take(&Arc::from(format!("c{i}")), 5, t).unwrap();
        }
        // Once every bucket has filled again, a new client makes room.
        let later = t + Duration::from_secs(1);
        budgets.take(&Arc::from("new"), 5, later).unwrap();
        assert!(budgets.buckets.lock().unwrap().len() <= 2);
    }
}
