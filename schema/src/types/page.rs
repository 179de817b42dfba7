//! A page of a list as a Relay cursor connection, built from
//! async-graphql's `connection` module (its `PageInfo` and `Edge`), with a
//! description of its own (the module's `Connection` type has none).

use async_graphql::connection::{Edge, EmptyFields, PageInfo};
use async_graphql::{OutputType, SimpleObject};

use crate::types::change::Change;
use crate::types::response::AnswerEvent;

/// One page of a list, oldest first, as a Relay cursor connection: pass
/// `pageInfo.endCursor` back as `after` for the next page; a page with no
/// items has a null `endCursor` (keep the cursor you had).
#[derive(SimpleObject)]
#[graphql(
    concrete(name = "ChangeConnection", params(Change)),
    concrete(name = "AnswerEventConnection", params(AnswerEvent))
)]
pub struct Page<N: OutputType> {
    /// Whether more items follow, and the cursors to go on from.
    pub page_info: PageInfo,
    /// The page's items, each with its cursor.
    pub edges: Vec<Edge<String, N, EmptyFields>>,
}

impl<N: OutputType> Page<N> {
    /// A page of `(cursor, item)`; `after`: whether it was asked for after
    /// a cursor; `more`: whether items follow it.
    pub fn new(items: Vec<(String, N)>, after: bool, more: bool) -> Self {
        let page_info = PageInfo {
            has_previous_page: after,
            has_next_page: more,
            start_cursor: items.first().map(|(c, _)| c.clone()),
            end_cursor: items.last().map(|(c, _)| c.clone()),
        };
        Self {
            page_info,
            edges: items
                .into_iter()
                .map(|(cursor, node)| Edge::new(cursor, node))
                .collect(),
        }
    }
}
