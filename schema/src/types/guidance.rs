//! `Guidance`: what the next maturity level of an area asks, and what to do.

use crate::types::time::Timestamp;
use async_graphql::{ComplexObject, Context, Result, SimpleObject};

use sea_orm::DatabaseConnection;

use crate::services::guidance as service;

/// What the next maturity level of an area asks and what a kommun needs to
/// do to reach it (level 2, "established", for a kommun below it).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Guidance {
    /// The maturity area's key.
    pub area_key: String,
    /// The advice in Swedish.
    pub text_sv: String,
    /// The advice in English.
    pub text_en: String,
    /// Where in SKR's report the advice comes from.
    pub reference: String,
    /// Who last replaced the built-in text (an SKR admin's token subject).
    #[graphql(skip)]
    pub edited_by: Option<String>,
    /// When the built-in text was last replaced for this round; null for the default.
    pub edited_at: Option<Timestamp>,
}

#[ComplexObject]
impl Guidance {
    /// Who last replaced the built-in text for this round: shown to SKR
    /// (analysts and admins) only; null for the default text and for
    /// anyone else (a person's name is not public).
    async fn edited_by(&self, ctx: &Context<'_>) -> Option<String> {
        crate::policy::audience(crate::Principal::of(ctx)).person(self.edited_by.clone())
    }
}

impl From<service::Guidance> for Guidance {
    fn from(g: service::Guidance) -> Self {
        let (edited_by, edited_at) = g
            .edited
            .map_or((None, None), |(by, at)| (Some(by), Some(at)));
        Self {
            area_key: g.area_key,
            text_sv: g.text_sv,
            text_en: g.text_en,
            reference: g.reference,
            edited_by,
            edited_at: edited_at.map(Timestamp),
        }
    }
}

/// The guidance for a kommun at `level` in an area of a round: for a level
/// below 2, else none (the report's advice is about reaching level 2).
pub async fn below_level_two(
    ctx: &Context<'_>,
    area: &entity::area::Model,
    level: Option<i32>,
) -> Result<Option<Guidance>> {
    if level.is_some_and(|l| l >= 2) || area.number.is_none() {
        return Ok(None);
    }
    let db = ctx.data::<DatabaseConnection>()?;
    Ok(service::for_area(db, area.round_id, &area.key)
        .await?
        .map(Into::into))
}
