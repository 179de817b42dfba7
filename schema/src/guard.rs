//! Role checks as async-graphql guards: the access table of the contract,
//! declared once per operation with `#[graphql(guard = "...")]`.
//!
//! A caller without a token where a role is needed gets UNAUTHENTICATED; a
//! caller whose role the table does not allow gets FORBIDDEN.

use async_graphql::{Context, Guard, Result};

use crate::error::ApiError;
use crate::principal::{Principal, Role};

/// Allows the listed roles.
pub struct RoleGuard(&'static [Role]);

impl RoleGuard {
    /// `my*`, `saveAnswers`, `submitResponse`, `reopenResponse`.
    pub const fn kommun() -> Self {
        Self(&[Role::Kommun])
    }

    /// Round life cycle and `participation.byMunicipality`.
    pub const fn skr_admin() -> Self {
        Self(&[Role::SkrAdmin])
    }

    /// `participation` counts.
    pub const fn skr() -> Self {
        Self(&[Role::SkrAnalyst, Role::SkrAdmin])
    }
}

/// The refusal for `principal` where only `allowed` roles may go.
pub fn refusal(principal: &Principal, allowed: &[Role]) -> Option<ApiError> {
    if allowed.contains(&principal.role()) {
        None
    } else if principal.role() == Role::Anonymous {
        Some(ApiError::Unauthenticated(
            "this operation needs a bearer token".into(),
        ))
    } else {
        let roles: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
        Some(ApiError::Forbidden(format!(
            "this operation is for role {} only",
            roles.join(" or ")
        )))
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        match refusal(Principal::of(ctx), self.0) {
            None => Ok(()),
            Some(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_is_unauthenticated_and_other_roles_forbidden() {
        let kommun = Principal::kommun("k".into(), "1280".into());
        let admin = Principal::skr("a".into(), Role::SkrAdmin);
        let analyst = Principal::skr("a".into(), Role::SkrAnalyst);
        assert!(refusal(&kommun, RoleGuard::kommun().0).is_none());
        assert!(matches!(
            refusal(&Principal::anonymous(), RoleGuard::kommun().0),
            Some(ApiError::Unauthenticated(_))
        ));
        assert!(matches!(
            refusal(&admin, RoleGuard::kommun().0),
            Some(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            refusal(&analyst, RoleGuard::skr_admin().0),
            Some(ApiError::Forbidden(_))
        ));
        assert!(refusal(&analyst, RoleGuard::skr().0).is_none());
        assert!(matches!(
            refusal(&kommun, RoleGuard::skr().0),
            Some(ApiError::Forbidden(_))
        ));
    }
}
