//! `Viewer`: who the bearer token says the caller is.

use async_graphql::{Context, Object, Result};
use sea_orm::DatabaseConnection;

use crate::principal::{Principal, Role};
use crate::services::municipalities::{self, Filter};
use crate::types::municipality::Municipality;

pub struct Viewer(pub Principal);

/// Who the bearer token says the caller is. No token: role ANONYMOUS.
#[Object]
impl Viewer {
    /// The token's `sub`; null for ANONYMOUS.
    async fn subject(&self) -> Option<&str> {
        self.0.subject()
    }

    /// The token's role; ANONYMOUS without a token.
    async fn role(&self) -> Role {
        self.0.role()
    }

    /// Set for role KOMMUN: the municipality whose data the caller may see.
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Option<Municipality>> {
        let Some(code) = self.0.kommun_code() else {
            return Ok(None);
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let filter = Filter {
            code: Some(code.to_string()),
            ..Filter::default()
        };
        Ok(municipalities::list(db, filter)
            .await?
            .into_iter()
            .next()
            .map(Municipality))
    }
}
