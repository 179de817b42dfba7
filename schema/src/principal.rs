//! Who is asking: the verified token's claims as a [`Principal`]. What a
//! principal may do is [`crate::policy`]'s to say.
//!
//! The HTTP layer verifies the token and puts a `Principal` into the request
//! data; resolvers never read a municipality code from an argument.

use async_graphql::{Context, Enum};

use crate::domain::KommunCode;

/// The caller's role, from the token's `role` claim.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// No token: published figures and reference data only.
    Anonymous,
    /// A municipality's user: its own response and scores.
    Kommun,
    /// SKR's analyst: figures of closed rounds and participation counts.
    SkrAnalyst,
    /// SKR's admin: besides, the round life cycle and participation per municipality.
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
    kommun: Option<KommunCode>,
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
    pub fn kommun(subject: String, code: KommunCode) -> Self {
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
    pub fn kommun_code(&self) -> Option<&KommunCode> {
        self.kommun.as_ref()
    }
}
