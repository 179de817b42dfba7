//! Responses kept as bytes: a query whose every root field was answered
//! from frozen rounds ([`schema::frozen`]) is sent again, without being
//! run, to the same audience asking the same thing, until the schema's
//! memory forgets (a round changed here or in another process: its epoch
//! moves and every kept response goes stale at once).
//!
//! The key is the audience the policy gives the caller
//! ([`schema::policy::Audience::tag`]: the public, each SKR role, each
//! kommun, whose responses are its own) and the request as sent (document, operation
//! name, variables). Only single requests without extensions are kept, and
//! only those that ran without any error. At most [`MAX_ENTRIES`] responses
//! and [`MAX_BYTES`] bytes are kept; when either would be passed, all are
//! dropped and the cache fills again with what is asked for.

use std::collections::HashMap;
use std::sync::RwLock;

use actix_web::web::Bytes;
use async_graphql::Request;

/// Most responses kept.
pub const MAX_ENTRIES: usize = 4096;
/// Most bytes kept (keys and bodies).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// Who asks and what: responses differ by nothing else while rounds stand still.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    audience: String,
    query: String,
    operation: Option<String>,
    variables: String,
}

impl Key {
    /// The key of a request, when it may be kept (no extensions, no uploads).
    pub fn of(audience: &schema::policy::Audience, request: &Request) -> Option<Self> {
        if !request.extensions.is_empty() || !request.uploads.is_empty() {
            return None;
        }
        Some(Self {
            audience: audience.tag(),
            query: request.query.clone(),
            operation: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).ok()?,
        })
    }

    fn size(&self) -> usize {
        self.query.len() + self.variables.len() + self.operation.as_ref().map_or(0, String::len)
    }
}

/// A kept response.
#[derive(Clone)]
pub struct Reply {
    /// The memory's epoch it was computed in.
    epoch: u64,
    /// The response body.
    pub body: Bytes,
    /// The operation's label, for the metrics.
    pub operation: String,
}

#[derive(Default)]
struct Kept {
    replies: HashMap<Key, Reply>,
    bytes: usize,
}

/// The kept responses of one server.
#[derive(Default)]
pub struct Replies(RwLock<Kept>);

impl Replies {
    /// The response kept for `key`, if it was computed in `epoch`.
    pub fn get(&self, key: &Key, epoch: u64) -> Option<Reply> {
        let kept = self.0.read().ok()?;
        kept.replies.get(key).filter(|r| r.epoch == epoch).cloned()
    }

    /// Keeps a response computed in `epoch` (the epoch read before it ran).
    pub fn put(&self, key: Key, epoch: u64, body: Bytes, operation: String) {
        let Ok(mut kept) = self.0.write() else {
            return;
        };
        let size = key.size() + body.len() + operation.len();
        if size > MAX_BYTES / 16 {
            return;
        }
        if kept.replies.len() >= MAX_ENTRIES || kept.bytes + size > MAX_BYTES {
            kept.replies.clear();
            kept.bytes = 0;
        }
        let reply = Reply {
            epoch,
            body,
            operation,
        };
        if let Some(old) = kept.replies.insert(key.clone(), reply) {
            kept.bytes -= key.size() + old.body.len() + old.operation.len();
        }
        kept.bytes += size;
    }
}
