//! Persisted queries, resolved before a request runs.
//!
//! - **Automatic persisted queries** (Apollo's protocol): a request may carry
//!   `extensions.persistedQuery = { version: 1, sha256Hash }` instead of its
//!   document. A hash the server does not know is answered with the error
//!   `PERSISTED_QUERY_NOT_FOUND`; the client then sends the document with its
//!   hash once (checked: a document whose SHA-256 differs is BAD_USER_INPUT),
//!   and the hash alone from then on — over POST or GET.
//! - **An allow-list** (`MOGNAD_PERSISTED_ONLY=true`): only the documents of
//!   the list in `MOGNAD_PERSISTED_QUERIES` run, sent whole or by hash;
//!   anything else is FORBIDDEN before it is parsed, and no new document is
//!   learnt. The list is Apollo's persisted-query manifest
//!   (`{ "operations": [{ "id": <sha256 of body>, "body": … }, …] }`),
//!   checked when the server starts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_graphql::Request;
use async_graphql::Value;
use sha2::{Digest, Sha256};

/// Most documents learnt by automatic persisted queries; the memory is
/// cleared when full (a client that misses sends its document again).
const LEARNT: usize = 1_000;

/// The documents the server knows by hash.
#[derive(Default)]
pub struct Persisted {
    /// The allow-list (also known to automatic persisted queries).
    registered: HashMap<String, Arc<str>>,
    /// Documents learnt from clients (not in allow-list mode).
    learnt: Mutex<HashMap<String, Arc<str>>>,
    /// Only registered documents run.
    only: bool,
}

/// Why a request's document could not be had.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A hash without its document, unknown here: send the document.
    NotFound,
    /// A malformed `persistedQuery`, or a document that does not hash to it.
    Invalid(String),
    /// Allow-list mode and a document not on the list.
    NotRegistered,
}

/// The lowercase hex SHA-256 of a document.
pub fn hash(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Persisted {
    /// The allow-list from Apollo's manifest at `path` (every id must be the
    /// SHA-256 of its body), and whether only its documents run.
    pub fn load(path: Option<&Path>, only: bool) -> Result<Self, String> {
        let mut registered = HashMap::new();
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let manifest: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
            let operations = manifest["operations"]
                .as_array()
                .ok_or_else(|| format!("{}: no \"operations\" list", path.display()))?;
            for (i, op) in operations.iter().enumerate() {
                let (Some(id), Some(body)) = (op["id"].as_str(), op["body"].as_str()) else {
                    return Err(format!(
                        "{}: operation {i} needs a string \"id\" and \"body\"",
                        path.display()
                    ));
                };
                if hash(body) != id {
                    return Err(format!(
                        "{}: operation {i}: \"id\" is not the SHA-256 of its body",
                        path.display()
                    ));
                }
                registered.insert(id.to_owned(), Arc::from(body));
            }
        } else if only {
            return Err(
                "MOGNAD_PERSISTED_ONLY needs the list: set MOGNAD_PERSISTED_QUERIES".into(),
            );
        }
        Ok(Self {
            registered,
            learnt: Mutex::default(),
            only,
        })
    }

    /// How many documents are on the allow-list.
    pub fn registered(&self) -> usize {
        self.registered.len()
    }

    /// Gives `request` its document (from its hash) or refuses it; the
    /// `persistedQuery` extension is taken off a resolved request.
    pub fn resolve(&self, request: &mut Request) -> Result<(), Refusal> {
        let claimed = match request.extensions.0.remove("persistedQuery") {
            None => None,
            Some(Value::Object(p)) => {
                if p.get("version") != Some(&Value::from(1)) {
                    return Err(Refusal::Invalid(
                        "persistedQuery: only version 1 is supported".into(),
                    ));
                }
                match p.get("sha256Hash") {
                    Some(Value::String(h)) => Some(h.to_ascii_lowercase()),
                    _ => {
                        return Err(Refusal::Invalid(
                            "persistedQuery needs a string sha256Hash".into(),
                        ));
                    }
                }
            }
            Some(_) => return Err(Refusal::Invalid("persistedQuery must be an object".into())),
        };
        if request.query.is_empty() {
            let Some(h) = claimed else {
                return Err(Refusal::Invalid(
                    "the request needs a query, or a persistedQuery hash".into(),
                ));
            };
            let known = self.registered.get(&h).cloned().or_else(|| {
                (!self.only)
                    .then(|| self.learnt.lock().ok()?.get(&h).cloned())
                    .flatten()
            });
            return match known {
                Some(document) => {
                    request.query = document.to_string();
                    Ok(())
                }
                None if self.only => Err(Refusal::NotRegistered),
                None => Err(Refusal::NotFound),
            };
        }
        let actual = hash(&request.query);
        if claimed.as_ref().is_some_and(|h| *h != actual) {
            return Err(Refusal::Invalid(
                "persistedQuery: sha256Hash is not the SHA-256 of the query".into(),
            ));
        }
        if self.only {
            return if self.registered.contains_key(&actual) {
                Ok(())
            } else {
                Err(Refusal::NotRegistered)
            };
        }
        if claimed.is_some()
            && !self.registered.contains_key(&actual)
            && let Ok(mut learnt) = self.learnt.lock()
        {
            if learnt.len() >= LEARNT {
                learnt.clear();
            }
            learnt.insert(actual, Arc::from(request.query.as_str()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(query: &str, h: &str) -> Request {
        let mut r = Request::new(query);
        r.extensions.0.insert(
            "persistedQuery".into(),
            Value::from_json(serde_json::json!({ "version": 1, "sha256Hash": h })).unwrap(),
        );
        r
    }

    #[test]
    fn a_manifest_whose_ids_are_not_their_hashes_is_refused_at_start() {
        let path =
            std::env::temp_dir().join(format!("mognad-manifest-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(
            &path,
            serde_json::json!({ "operations": [{ "id": "00", "body": "{ viewer { role } }" }] })
                .to_string(),
        )
        .unwrap();
        let refused = Persisted::load(Some(&path), true).err().unwrap_or_default();
        assert!(refused.contains("not the SHA-256"), "{refused}");
        let body = "{ viewer { role } }";
        std::fs::write(
            &path,
            serde_json::json!({ "operations": [{ "id": hash(body), "body": body }] }).to_string(),
        )
        .unwrap();
        assert_eq!(
            Persisted::load(Some(&path), true).map(|p| p.registered()),
            Ok(1)
        );
        std::fs::remove_file(&path).unwrap();
        assert!(
            Persisted::load(None, true).is_err(),
            "allow-list mode needs its list"
        );
    }

    #[test]
    fn a_hash_is_learnt_from_its_document_and_then_enough() {
        let p = Persisted::default();
        let doc = "{ viewer { role } }";
        let h = hash(doc);
        assert_eq!(p.resolve(&mut with_hash("", &h)), Err(Refusal::NotFound));
        assert_eq!(p.resolve(&mut with_hash(doc, &h)), Ok(()));
        let mut by_hash = with_hash("", &h);
        assert_eq!(p.resolve(&mut by_hash), Ok(()));
        assert_eq!(by_hash.query, doc);
        assert!(by_hash.extensions.0.is_empty());
        assert!(matches!(
            p.resolve(&mut with_hash(doc, &hash("{ other }"))),
            Err(Refusal::Invalid(_))
        ));
    }
}
