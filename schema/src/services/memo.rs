//! Values computed once and shared by all requests: rounds, questionnaires,
//! frozen scores, figures and plans of rounds that no longer change.
//!
//! Everything kept here is forgotten at once ([`Epoch::advance`]) when a
//! round changes, in this process (after the transition's commit) or in
//! another one (PostgreSQL's `NOTIFY`, see `FigureCache::forget`). A value
//! read from the database before such a change is not kept after it: each
//! insert names the [`Since`] its reading began at, and an insert from an
//! older epoch is dropped.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A map of computed values, shared by all requests.
pub type Shared<K, V> = Mutex<HashMap<K, Arc<V>>>;

/// The count of changes to rounds this process has heard of.
#[derive(Default, Debug)]
pub struct Epoch(AtomicU64);

impl Epoch {
    /// The epoch a reading begins at.
    pub fn since(&self) -> Since<'_> {
        Since(self, self.0.load(Ordering::Acquire))
    }

    /// Marks a change: values read before it are no longer kept.
    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    /// The current epoch's number.
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// When a reading began: a value it computed is kept only while no change
/// came after.
#[derive(Clone, Copy, Debug)]
pub struct Since<'a>(&'a Epoch, u64);

impl Since<'_> {
    fn still(&self) -> bool {
        self.0.current() == self.1
    }

    /// The epoch's number the reading began at.
    pub fn number(&self) -> u64 {
        self.1
    }
}

/// The value kept for `key`, if any.
pub fn cached<K: Hash + Eq, V>(map: &Shared<K, V>, key: &K) -> Option<Arc<V>> {
    map.lock().ok().and_then(|m| m.get(key).cloned())
}

/// Keeps `value` for `key`, unless a change came after `since`, and returns it, shared.
pub fn remember<K: Hash + Eq, V>(map: &Shared<K, V>, since: Since<'_>, key: K, value: V) -> Arc<V> {
    let value = Arc::new(value);
    if let Ok(mut m) = map.lock()
        && since.still()
    {
        m.insert(key, value.clone());
    }
    value
}

/// Drops every value of `map`.
pub fn forget<K, V>(map: &Shared<K, V>) {
    if let Ok(mut m) = map.lock() {
        m.clear();
    }
}
