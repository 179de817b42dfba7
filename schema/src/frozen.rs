//! Which root fields of a request were answered from frozen rounds only
//! (CLOSED or PUBLISHED: their figures, scores and questionnaires never
//! change until a round changes, which advances the memory's epoch). The
//! server may keep such a response's bytes and send them again to the same
//! audience for the same request, without running it, until the epoch moves
//! ([`FrozenFields::covers`]).
//!
//! A resolver marks its field ([`mark`]) only after it succeeded and only
//! when everything it read belongs to frozen rounds; nested fields of the
//! types these resolvers return read nothing else (areas, questions and
//! options of a round past DRAFT, segments of its classification).

use std::sync::Mutex;

use async_graphql::Context;
use entity::{RoundStatus, survey_round};

/// The response keys of the root fields marked frozen in one request.
#[derive(Default, Debug)]
pub struct FrozenFields(Mutex<Vec<String>>);

impl FrozenFields {
    /// Whether every root field of `data` was marked (`__typename` needs no mark).
    pub fn covers(&self, data: &async_graphql::Value) -> bool {
        let async_graphql::Value::Object(fields) = data else {
            return false;
        };
        let Ok(marked) = self.0.lock() else {
            return false;
        };
        !fields.is_empty()
            && fields
                .keys()
                .all(|k| k.as_str() == "__typename" || marked.iter().any(|m| m == k.as_str()))
    }
}

/// Whether a round's figures and scores can no longer change.
pub fn is_frozen(round: &survey_round::Model) -> bool {
    matches!(round.status, RoundStatus::Closed | RoundStatus::Published)
}

/// Marks the resolving root field as answered from frozen rounds only.
pub fn mark(ctx: &Context<'_>) {
    let (Some(fields), Some(node)) = (
        ctx.data_opt::<std::sync::Arc<FrozenFields>>(),
        ctx.path_node,
    ) else {
        return;
    };
    if node.parent.is_none()
        && let Ok(mut marked) = fields.0.lock()
    {
        marked.push(node.field_name().to_owned());
    }
}
