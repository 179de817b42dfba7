//! Services: plain async functions over `&impl ConnectionTrait` that resolvers
//! call. They return [`crate::ApiError`] and never see HTTP or GraphQL types.

pub mod aggregates;
pub mod authoring;
pub mod changes;
pub mod comparison;
pub mod derived;
pub mod drafts;
pub mod guidance;
pub mod lifecycle;
pub mod mapping;
pub mod memo;
pub mod memory;
pub mod municipalities;
pub mod participation;
pub mod questionnaire;
pub mod release;
pub mod responses;
pub mod rounds;
pub mod scoring;
pub mod segments;
pub mod sql;
pub mod targets;
pub mod trends;
pub mod webhooks;
