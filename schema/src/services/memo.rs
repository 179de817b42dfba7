//! Values computed once and shared by all requests: figures and plans of
//! closed rounds, which never change.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// A map of computed values, shared by all requests.
pub type Shared<K, V> = Mutex<HashMap<K, Arc<V>>>;

/// The value kept for `key`, if any.
pub fn cached<K: Hash + Eq, V>(map: &Shared<K, V>, key: &K) -> Option<Arc<V>> {
    map.lock().ok().and_then(|m| m.get(key).cloned())
}

/// Keeps `value` for `key` and returns it, shared.
pub fn remember<K: Hash + Eq, V>(map: &Shared<K, V>, key: K, value: V) -> Arc<V> {
    let value = Arc::new(value);
    if let Ok(mut m) = map.lock() {
        m.insert(key, value.clone());
    }
    value
}
