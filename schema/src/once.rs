//! What one request computes once, however many rows ask for it.
//!
//! A field of a type that appears in lists — a round's guidance, its
//! questionnaire's problems, its mapping onto a baseline — is resolved once
//! per row: `maturitySeries` gives every row its round, so thirty aliases
//! of a series asked for the guidance of two rounds some five thousand
//! times, each a database round trip, while the measure ([`crate::cost`])
//! counts the field once. [`PerRequest`] keeps each such value by its key
//! for the length of one request (the limits extension gives every request
//! its own): the first row to ask computes it, the rows asking meanwhile
//! wait for that, and the rest read it. So a request does that work once
//! per distinct round, whatever its lists multiply.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::services::guidance::Guidance;
use crate::services::mapping::Mapping;

/// Values computed once per key within a request.
pub struct Once<K, V>(Mutex<HashMap<K, Arc<OnceCell<Arc<V>>>>>);

impl<K, V> Default for Once<K, V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq + Clone, V> Once<K, V> {
    /// The value for `key`, computed by `compute` the first time it is asked
    /// for (an error is not kept: the next asker tries again).
    pub async fn get<F, Fut>(&self, key: &K, compute: F) -> ApiResult<Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<V>>,
    {
        let cell = match self.0.lock() {
            Ok(mut cells) => cells.entry(key.clone()).or_default().clone(),
            Err(_) => Arc::new(OnceCell::new()),
        };
        cell.get_or_try_init(|| async { compute().await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// What a request keeps of rounds while it runs.
#[derive(Default)]
pub struct PerRequest {
    /// A round's guidance per maturity area.
    pub guidance: Once<Uuid, Vec<Guidance>>,
    /// What keeps a round's questionnaire from being opened.
    pub problems: Once<Uuid, Vec<String>>,
    /// A round's questionnaire mapped onto another's, by (round, baseline).
    pub mappings: Once<(Uuid, Uuid), Mapping>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_value_is_computed_once_however_many_ask_at_once() {
        let once: Arc<Once<u8, usize>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut asking = tokio::task::JoinSet::new();
        for i in 0..100u8 {
            let (once, runs) = (once.clone(), runs.clone());
            asking.spawn(async move {
                let key = i % 2;
                once.get(&key, || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Ok(usize::from(key) * 10)
                })
                .await
                .map(|v| *v)
            });
        }
        while let Some(answer) = asking.join_next().await {
            assert!(answer.unwrap().is_ok());
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(*once.get(&1, || async { Ok(0) }).await.unwrap(), 10);
    }
}
