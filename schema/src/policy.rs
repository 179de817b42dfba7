//! The contract's access table ("Who may see what"), in one place.
//!
//! | operation | ANONYMOUS | KOMMUN | SKR_ANALYST | SKR_ADMIN | here |
//! |---|---|---|---|---|---|
//! | viewer, municipalities | yes | yes | yes | yes | – |
//! | surveyRounds, surveyRound | non-DRAFT | non-DRAFT | all | all | [`sees_round`] |
//! | myResponse, myScores, myComparison | – | own only | – | – | [`kommun`] |
//! | figures (aggregates, distributions, trends, …) | PUBLISHED | PUBLISHED | CLOSED, PUBLISHED | CLOSED, PUBLISHED | [`figures`] |
//! | participation (counts) | – | – | yes | yes | [`skr`] |
//! | participation.byMunicipality | – | – | – | yes | [`admin`] |
//! | create/open/close/publishSurveyRound | – | – | – | yes | [`admin`] |
//! | saveAnswers, submitResponse, reopenResponse | – | own, round OPEN | – | – | [`kommun`] |
//!
//! A permission is a value only this module makes — a [`KommunScope`], an
//! [`SkrScope`], an [`AdminScope`] — and the services that need one take
//! it, so a resolver that skipped the table would not compile. Refusals come
//! in the contract's order: no token where a role is needed →
//! UNAUTHENTICATED; a role the table does not allow → FORBIDDEN; a round in
//! the wrong status → FAILED_PRECONDITION. [`Needs`] declares the role part
//! on an operation as an async-graphql guard.

use async_graphql::{Context, Guard, Result};
use entity::{RoundStatus, survey_round};

use crate::error::{ApiError, ApiResult};
use crate::principal::{Principal, Role};
use crate::tenancy::KommunScope;

/// Permission for SKR's own views (analysts and admins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkrScope {
    subject: String,
}

impl SkrScope {
    /// The token subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// Permission for an SKR admin's operations, carrying the actor for the
/// audit trail and the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminScope {
    actor: String,
}

impl AdminScope {
    /// The token subject of the admin.
    pub fn actor(&self) -> &str {
        &self.actor
    }
}

/// The refusal for a principal whose role is not among `allowed`.
fn refuse(principal: &Principal, allowed: &[Role]) -> ApiError {
    if principal.role() == Role::Anonymous {
        ApiError::Unauthenticated("this operation needs a bearer token".into())
    } else {
        let roles: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
        ApiError::Forbidden(format!(
            "this operation is for role {} only",
            roles.join(" or ")
        ))
    }
}

/// A kommun's own data: the token's municipality, never an argument's.
pub fn kommun(principal: &Principal) -> ApiResult<KommunScope> {
    match (
        principal.role(),
        principal.kommun_code(),
        principal.subject(),
    ) {
        (Role::Kommun, Some(code), Some(subject)) => {
            Ok(KommunScope::new(code.clone(), subject.to_owned()))
        }
        _ => Err(refuse(principal, &[Role::Kommun])),
    }
}

/// SKR's views: participation counts.
pub fn skr(principal: &Principal) -> ApiResult<SkrScope> {
    match (principal.role(), principal.subject()) {
        (Role::SkrAnalyst | Role::SkrAdmin, Some(subject)) => Ok(SkrScope {
            subject: subject.to_owned(),
        }),
        _ => Err(refuse(principal, &[Role::SkrAnalyst, Role::SkrAdmin])),
    }
}

/// SKR admins: the round life cycle and participation per municipality.
pub fn admin(principal: &Principal) -> ApiResult<AdminScope> {
    match (principal.role(), principal.subject()) {
        (Role::SkrAdmin, Some(subject)) => Ok(AdminScope {
            actor: subject.to_owned(),
        }),
        _ => Err(refuse(principal, &[Role::SkrAdmin])),
    }
}

/// Whether a round is visible at all: DRAFT rounds only to SKR.
pub fn sees_round(principal: &Principal, round: &survey_round::Model) -> bool {
    round.status != RoundStatus::Draft
        || matches!(principal.role(), Role::SkrAnalyst | Role::SkrAdmin)
}

/// A round's figures: of a CLOSED round for SKR, of a PUBLISHED one for
/// everyone, of an OPEN or DRAFT one for no one (live figures beside
/// participation's timestamps would give single answers away).
pub fn figures(principal: &Principal, round: &survey_round::Model) -> ApiResult<()> {
    match round.status {
        RoundStatus::Draft | RoundStatus::Open => Err(ApiError::FailedPrecondition(format!(
            "round {} is {}: its figures are available once it is CLOSED",
            round.year,
            if round.status == RoundStatus::Draft {
                "DRAFT"
            } else {
                "OPEN"
            }
        ))),
        RoundStatus::Closed if skr(principal).is_err() => {
            Err(ApiError::FailedPrecondition(format!(
                "round {} is CLOSED but not yet PUBLISHED: its figures are for SKR until then",
                round.year
            )))
        }
        _ => Ok(()),
    }
}

/// The role an operation needs, checked before it runs (`#[graphql(guard = …)]`).
#[derive(Clone, Copy, Debug)]
pub enum Needs {
    Kommun,
    Skr,
    Admin,
}

impl Needs {
    /// The refusal for `principal`, if any.
    pub fn allows(self, principal: &Principal) -> ApiResult<()> {
        match self {
            Self::Kommun => kommun(principal).map(drop),
            Self::Skr => skr(principal).map(drop),
            Self::Admin => admin(principal).map(drop),
        }
    }
}

impl Guard for Needs {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        Ok(self.allows(Principal::of(ctx))?)
    }
}

#[cfg(test)]
#[expect(
    clippy::disallowed_methods,
    reason = "the tests play the server's authentication"
)]
mod tests {
    use super::*;
    use crate::domain::KommunCode;

    fn code(c: &str) -> KommunCode {
        KommunCode::parse(c).unwrap()
    }

    fn round(status: RoundStatus) -> survey_round::Model {
        let now = chrono::Utc::now();
        survey_round::Model {
            id: uuid::Uuid::nil(),
            year: 2027,
            title: "t".into(),
            description: None,
            status,
            opens_at: None,
            closes_at: None,
            baseline_id: None,
            classification_id: "SKR2023".into(),
            demo: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn only_a_kommun_principal_gets_a_scope_of_its_own_municipality() {
        let scope = kommun(&Principal::kommun("u1".into(), code("1280"))).unwrap();
        assert_eq!(scope.code(), "1280");
        assert_eq!(scope.subject(), "u1");
        assert!(matches!(
            kommun(&Principal::anonymous()),
            Err(ApiError::Unauthenticated(_))
        ));
        let admin_principal = Principal::skr("admin".into(), Role::SkrAdmin);
        assert!(matches!(
            kommun(&admin_principal),
            Err(ApiError::Forbidden(_))
        ));
    }

    #[test]
    fn the_table_row_by_row() {
        let anonymous = Principal::anonymous();
        let kommun_principal = Principal::kommun("k".into(), code("1280"));
        let analyst = Principal::skr("a".into(), Role::SkrAnalyst);
        let admin_principal = Principal::skr("a".into(), Role::SkrAdmin);
        let code = |r: ApiResult<()>| r.err().map(|e| e.code());
        // participation counts, participation.byMunicipality and the life cycle
        assert_eq!(code(Needs::Skr.allows(&anonymous)), Some("UNAUTHENTICATED"));
        assert_eq!(
            code(Needs::Skr.allows(&kommun_principal)),
            Some("FORBIDDEN")
        );
        assert_eq!(code(Needs::Skr.allows(&analyst)), None);
        assert_eq!(code(Needs::Admin.allows(&analyst)), Some("FORBIDDEN"));
        assert_eq!(admin(&admin_principal).unwrap().actor(), "a");
        assert_eq!(code(Needs::Kommun.allows(&analyst)), Some("FORBIDDEN"));
        // rounds and figures by status
        for (status, public, skr_only) in [
            (RoundStatus::Draft, false, false),
            (RoundStatus::Open, false, false),
            (RoundStatus::Closed, false, true),
            (RoundStatus::Published, true, true),
        ] {
            let r = round(status);
            assert_eq!(sees_round(&anonymous, &r), status != RoundStatus::Draft);
            assert!(sees_round(&analyst, &r));
            assert_eq!(figures(&kommun_principal, &r).is_ok(), public);
            assert_eq!(figures(&anonymous, &r).is_ok(), public);
            assert_eq!(figures(&admin_principal, &r).is_ok(), skr_only);
        }
    }
}
