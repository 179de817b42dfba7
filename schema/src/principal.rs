//! Who is asking: the verified token's claims as a [`Principal`], and the
//! [`KommunScope`] only a kommun principal can hand out.
//!
//! The HTTP layer verifies the token and puts a `Principal` into the request
//! data; resolvers never read a municipality code from an argument.

use async_graphql::{Context, Enum};

use crate::error::ApiError;

/// The caller's role, from the token's `role` claim.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Anonymous,
    Kommun,
    SkrAnalyst,
    SkrAdmin,
}

impl Role {
    /// The role's name in the API (`KOMMUN`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Anonymous => "ANONYMOUS",
            Self::Kommun => "KOMMUN",
            Self::SkrAnalyst => "SKR_ANALYST",
            Self::SkrAdmin => "SKR_ADMIN",
        }
    }
}

/// The verified caller of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    subject: Option<String>,
    role: Role,
    kommun: Option<String>,
}

static ANONYMOUS: Principal = Principal {
    subject: None,
    role: Role::Anonymous,
    kommun: None,
};

impl Principal {
    pub fn anonymous() -> Self {
        ANONYMOUS.clone()
    }

    /// A kommun user of municipality `code` (already verified to exist).
    pub fn kommun(subject: String, code: String) -> Self {
        Self {
            subject: Some(subject),
            role: Role::Kommun,
            kommun: Some(code),
        }
    }

    /// An SKR user; `role` must be `SkrAnalyst` or `SkrAdmin`.
    pub fn skr(subject: String, role: Role) -> Self {
        debug_assert!(matches!(role, Role::SkrAnalyst | Role::SkrAdmin));
        Self {
            subject: Some(subject),
            role,
            kommun: None,
        }
    }

    /// The principal of the request; anonymous where the HTTP layer set none.
    pub fn of<'a>(ctx: &'a Context<'_>) -> &'a Principal {
        ctx.data_opt::<Principal>().unwrap_or(&ANONYMOUS)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The code of the caller's own municipality, for role KOMMUN.
    pub fn kommun_code(&self) -> Option<&str> {
        self.kommun.as_deref()
    }

    /// True for SKR analysts and admins, who may see DRAFT rounds.
    pub fn is_skr(&self) -> bool {
        matches!(self.role, Role::SkrAnalyst | Role::SkrAdmin)
    }

    /// The only way to get a [`KommunScope`]: the token's own municipality.
    pub fn kommun_scope(&self) -> Result<KommunScope, ApiError> {
        match (&self.role, &self.kommun, &self.subject) {
            (Role::Kommun, Some(code), Some(subject)) => Ok(KommunScope {
                code: code.clone(),
                subject: subject.clone(),
            }),
            (Role::Anonymous, ..) => Err(ApiError::Unauthenticated(
                "a kommun token is required".into(),
            )),
            _ => Err(ApiError::Forbidden(
                "only a kommun may do this, for itself".into(),
            )),
        }
    }
}

/// Permission to read and write one municipality's own rows. Services that
/// touch a municipality's response, answers or scores take this, never a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KommunScope {
    code: String,
    subject: String,
}

impl KommunScope {
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The token subject, written into the audit trail.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_kommun_principal_hands_out_a_scope() {
        let scope = Principal::kommun("u1".into(), "1280".into())
            .kommun_scope()
            .unwrap();
        assert_eq!(scope.code(), "1280");
        assert_eq!(scope.subject(), "u1");
        assert!(matches!(
            Principal::anonymous().kommun_scope(),
            Err(ApiError::Unauthenticated(_))
        ));
        let admin = Principal::skr("admin".into(), Role::SkrAdmin);
        assert!(matches!(admin.kommun_scope(), Err(ApiError::Forbidden(_))));
    }
}
