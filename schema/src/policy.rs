//! The contract's access table ("Who may see what"), in one place.
//!
//! | operation | ANONYMOUS | KOMMUN | SKR_ANALYST | SKR_ADMIN | here |
//! |---|---|---|---|---|---|
//! | viewer, municipalities | yes | yes | yes | yes | – |
//! | surveyRounds, surveyRound | non-DRAFT | non-DRAFT | all | all | [`sees_round`] |
//! | myResponse, myScores, myComparison (own levels) | – | own only | – | – | [`kommun`] |
//! | figures (aggregates, distributions, trends, files, charts) | PUBLISHED | PUBLISHED | CLOSED, PUBLISHED | CLOSED, PUBLISHED | [`figures`] → [`Released`] |
//! | a kommun's comparison means (myComparison, its radar) | – | PUBLISHED | – | – | [`kommun_figures`] → [`Released`] |
//! | participation (counts) | – | – | yes | yes | [`skr`] |
//! | participation.byMunicipality | – | – | – | yes | [`admin`] |
//! | who edited guidance | – | – | yes | yes | [`Audience::person`] |
//! | change feed | publications | own response's events, rounds opened/closed/published | round events | everything, response times by the day | [`audience`] → [`Audience`] |
//! | webhook payloads | – | – | – | as the feed's admin | [`webhook_receivers`] |
//! | create/open/close/publishSurveyRound | – | – | – | yes | [`admin`] |
//! | saveAnswers, submitResponse, reopenResponse | – | own, round OPEN | – | – | [`kommun`] |
//!
//! A permission is a value only this module makes — a [`KommunScope`], an
//! [`SkrScope`], an [`AdminScope`], a [`Released`] round, an [`Audience`]
//! — and the services and doors that need one take it, so a resolver,
//! file, chart or feed that skipped the table would not compile. Caching
//! follows from the same values ([`Audience::caching`]): only what an
//! anonymous caller fetches is public. Refusals come in the contract's
//! order: no token where a role is needed → UNAUTHENTICATED; a role the
//! table does not allow → FORBIDDEN; a round in the wrong status →
//! FAILED_PRECONDITION. [`Needs`] declares the role part on an operation as
//! an async-graphql guard.

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

/// To whom a round's figures are released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// A PUBLISHED round: to everyone.
    Public,
    /// A CLOSED round read by SKR: to SKR only.
    Skr,
}

/// A round whose figures the caller may read, and to whom they are
/// released. Made only by [`figures`] and [`kommun_figures`]; every figure
/// service (aggregates, distributions, trends, derived figures) takes one,
/// so nothing computes a round's figures for a caller the table refuses.
#[derive(Clone, Debug)]
pub struct Released {
    round: survey_round::Model,
    to: Release,
}

impl Released {
    /// The round.
    pub fn round(&self) -> &survey_round::Model {
        &self.round
    }

    /// To whom its figures are released.
    pub fn to(&self) -> Release {
        self.to
    }
}

impl std::ops::Deref for Released {
    type Target = survey_round::Model;

    fn deref(&self) -> &survey_round::Model {
        &self.round
    }
}

/// A round's figures: of a CLOSED round for SKR, of a PUBLISHED one for
/// everyone, of an OPEN or DRAFT one for no one (live figures beside
/// participation's timestamps would give single answers away).
pub fn figures(principal: &Principal, round: &survey_round::Model) -> ApiResult<Released> {
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
        RoundStatus::Closed => Ok(Released {
            round: round.clone(),
            to: Release::Skr,
        }),
        RoundStatus::Published => Ok(Released {
            round: round.clone(),
            to: Release::Public,
        }),
    }
}

/// The figures a kommun's own views show beside its levels (the group's
/// and the nation's means in `myComparison` and its radar chart): the same
/// rule as [`figures`] for a kommun, so none until the round is PUBLISHED.
pub fn kommun_figures(_scope: &KommunScope, round: &survey_round::Model) -> Option<Released> {
    (round.status == RoundStatus::Published).then(|| Released {
        round: round.clone(),
        to: Release::Public,
    })
}

/// Who a response is for: what the change feed shows, what a person's
/// name shows, how cursors are bound and how a response may be cached.
/// Made only by [`audience`] and [`webhook_receivers`].
#[derive(Clone, Debug)]
pub enum Audience {
    /// No token: publications, public figures.
    Public,
    /// A kommun: its own response's events and rounds opened, closed and
    /// published.
    Kommun(KommunScope),
    /// An SKR analyst: every event but a response's (which names a municipality).
    Analyst(SkrScope),
    /// An SKR admin: everything, a response's event times by the day (as
    /// `participation.byMunicipality` dates them).
    Admin(SkrScope),
}

/// How a response may be kept by caches between the server and the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// The same for every caller without a token: shared caches may keep it.
    Shared,
    /// Read with a token: only the caller's own client may keep it.
    Private,
}

impl Caching {
    /// The `Cache-Control` value: shared responses for `max_age` seconds
    /// (`no-cache` without one: keep, but ask again), private ones never stored.
    pub fn header(self, max_age: Option<u32>) -> String {
        match (self, max_age) {
            (Self::Shared, Some(seconds)) => format!("public, max-age={seconds}"),
            (Self::Shared, None) => "public, no-cache".to_owned(),
            (Self::Private, _) => "private, no-store".to_owned(),
        }
    }
}

/// The audience of a verified caller.
pub fn audience(principal: &Principal) -> Audience {
    match principal.role() {
        Role::Anonymous => Audience::Public,
        Role::Kommun => kommun(principal).map_or(Audience::Public, Audience::Kommun),
        Role::SkrAnalyst => skr(principal).map_or(Audience::Public, Audience::Analyst),
        Role::SkrAdmin => skr(principal).map_or(Audience::Public, Audience::Admin),
    }
}

/// The audience of webhook payloads: endpoints are registered by SKR
/// admins (see [`admin`]), so a delivery shows an event as the feed shows
/// it to an admin.
pub fn webhook_receivers() -> Audience {
    Audience::Admin(SkrScope {
        subject: "webhooks".to_owned(),
    })
}

impl Audience {
    /// Whether this audience is SKR's (analyst or admin).
    pub fn is_skr(&self) -> bool {
        matches!(self, Self::Analyst(_) | Self::Admin(_))
    }

    /// A person's name (a token subject) of SKR's own work (who edited a
    /// guidance text) as this audience may see it: SKR sees who did what;
    /// anonymous callers and kommuner see no one of SKR. (A kommun's own
    /// audit trail names its own users: that is its own data.)
    pub fn person(&self, subject: Option<String>) -> Option<String> {
        if self.is_skr() { subject } else { None }
    }

    /// How a response for this audience may be cached: shared only when no
    /// token was sent (everything an anonymous caller may fetch is public).
    pub fn caching(&self) -> Caching {
        match self {
            Self::Public => Caching::Shared,
            _ => Caching::Private,
        }
    }

    /// A name of the audience that binds values made for it (cursors, kept
    /// responses): one per kommun, one per SKR role, one for the public.
    pub fn tag(&self) -> String {
        match self {
            Self::Public => "public".to_owned(),
            Self::Kommun(scope) => format!("kommun:{}", scope.code()),
            Self::Analyst(_) => "skr_analyst".to_owned(),
            Self::Admin(_) => "skr_admin".to_owned(),
        }
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
            published_at: None,
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
            let scope = kommun(&kommun_principal).unwrap();
            assert_eq!(kommun_figures(&scope, &r).is_some(), public);
            assert_eq!(figures(&anonymous, &r).is_ok(), public);
            assert_eq!(figures(&admin_principal, &r).is_ok(), skr_only);
        }
    }
}
