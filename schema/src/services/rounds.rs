//! Reading survey rounds, with the visibility rule of the contract
//! ([`policy::sees_round`]: DRAFT rounds only for SKR).

use entity::{RoundStatus, survey_round};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::policy;
use crate::principal::Principal;

/// Parses a round id; a malformed id names no round.
pub fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

/// The rounds the principal may see, by year, optionally of one status.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    status: Option<RoundStatus>,
) -> ApiResult<Vec<survey_round::Model>> {
    let mut query = survey_round::Entity::find().order_by_asc(survey_round::Column::Year);
    if let Some(s) = status {
        query = query.filter(survey_round::Column::Status.eq(s));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .filter(|r| policy::sees_round(principal, r))
        .collect())
}

/// One round by id and/or year; `None` when it does not exist or is hidden.
pub async fn find(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Option<&str>,
    year: Option<i32>,
) -> ApiResult<Option<survey_round::Model>> {
    let mut query = survey_round::Entity::find();
    match (id, year) {
        (None, None) => return Err(ApiError::bad_input("give the round's id or year")),
        (Some(id), _) => match parse_id(id) {
            Some(uuid) => query = query.filter(survey_round::Column::Id.eq(uuid)),
            None => return Ok(None),
        },
        (None, Some(_)) => {}
    }
    if let Some(y) = year {
        query = query.filter(survey_round::Column::Year.eq(y));
    }
    Ok(query
        .one(db)
        .await?
        .filter(|r| policy::sees_round(principal, r)))
}

/// A round the principal may see, by id: NOT_FOUND when it does not exist or is hidden.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> ApiResult<survey_round::Model> {
    let not_found = || ApiError::not_found(format!("no round with id {id:?}"));
    let uuid = parse_id(id).ok_or_else(not_found)?;
    survey_round::Entity::find_by_id(uuid)
        .one(db)
        .await?
        .filter(|r| policy::sees_round(principal, r))
        .ok_or_else(not_found)
}

/// A round by id whatever its status (aggregates refuse DRAFT rounds by status).
pub async fn get_any(db: &impl ConnectionTrait, id: &str) -> ApiResult<survey_round::Model> {
    let not_found = || ApiError::not_found(format!("no round with id {id:?}"));
    let uuid = parse_id(id).ok_or_else(not_found)?;
    survey_round::Entity::find_by_id(uuid)
        .one(db)
        .await?
        .ok_or_else(not_found)
}
