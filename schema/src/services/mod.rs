//! Services: plain async functions over `&impl ConnectionTrait` that resolvers
//! call. They return [`crate::ApiError`] and never see HTTP or GraphQL types.

pub mod municipalities;
pub mod questionnaire;
pub mod rounds;
pub mod segments;
