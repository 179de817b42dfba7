//! The change feed in `Query`: `changes(after, first)`.

use async_graphql::{Context, Object, Result};
use sea_orm::DatabaseConnection;

use crate::Settings;
use crate::cursor::List;
use crate::policy;
use crate::principal::Principal;
use crate::services::changes;
use crate::types::change::{ChangeConnection, connection};

#[derive(Default)]
pub struct FeedQuery;

#[Object]
impl FeedQuery {
    /// What happened to rounds and responses, oldest first, as a Relay
    /// connection: pass a page's `pageInfo.endCursor` back as `after` for
    /// the events since. Paging forward from any cursor never skips or
    /// repeats an event, also while events are being written; a page with
    /// no events has a null `endCursor` (keep the last one). Each caller
    /// sees its share: anonymous callers publications; a kommun its own
    /// response's events and rounds opened, closed and published; SKR
    /// analysts every event but a response's; SKR admins everything (a
    /// response's event dated by the day). Cursors are the caller's own:
    /// opaque, refused from anyone else, and they tell nothing about the
    /// events between them that the caller does not see.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A cursor from an earlier page; from the first event without one.")]
        after: Option<String>,
        #[graphql(default = 100, desc = "At most this many events (1 to 500).")] first: i32,
    ) -> Result<ChangeConnection> {
        let db = ctx.data::<DatabaseConnection>()?;
        let cursors = &ctx.data::<Settings>()?.cursors;
        let first = changes::page_size(first)?;
        let audience = policy::audience(Principal::of(ctx));
        let after = after
            .map(|c| cursors.open(List::Feed, &audience, "after", &c))
            .transpose()?;
        let page = changes::page(db, &audience, after, first).await?;
        Ok(connection(page, after.is_some(), &audience, cursors))
    }
}
