//! The GraphQL API of mognad as a library: types, guards, DataLoaders and the
//! services they call. Nothing here knows about HTTP: the server crate
//! verifies tokens and hands each request a [`Principal`].

pub mod error;
pub mod principal;
pub mod query;
pub mod services;
pub mod types;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema};
use sea_orm::DatabaseConnection;

pub use error::{ApiError, ApiResult};
pub use principal::{KommunScope, Principal, Role};

// The root query: one part per feature (a plain comment: doc comments become API descriptions).
#[derive(MergedObject, Default)]
pub struct Query(query::ReferenceQuery);

pub type MognadSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Limits that keep one request cheap while GraphiQL can still introspect.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 15,
            complexity: 5_000,
        }
    }
}

/// Builds the schema over a database connection.
pub fn build(db: DatabaseConnection, limits: Limits) -> MognadSchema {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .data(DataLoader::new(
            services::questionnaire::AreasByRound(db.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            services::questionnaire::QuestionsByArea(db.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            services::questionnaire::OptionsByQuestion(db.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            services::questionnaire::RoundById(db.clone()),
            tokio::spawn,
        ))
        .data(db)
        .extension(async_graphql::extensions::Tracing)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .finish()
}

/// The SDL of the schema, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
