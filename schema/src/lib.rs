//! The GraphQL API of mognad as a library: types, guards, DataLoaders and the
//! services they call. Nothing here knows about HTTP: the server crate
//! verifies tokens and hands each request a [`Principal`].

pub mod admin;
pub mod authoring;
pub mod budget;
pub mod cost;
pub mod cursor;
pub mod disclosure;
pub mod domain;
pub mod error;
pub mod feed;
pub mod figures;
pub mod frozen;
pub mod limits;
pub mod my;
pub mod once;
pub mod policy;
pub mod principal;
pub mod query;
pub mod services;
pub mod tenancy;
pub mod types;
pub mod webhooks;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptySubscription, MergedObject, Schema};
use sea_orm::DatabaseConnection;

pub use error::{ApiError, ApiResult, ErrorCode};
pub use limits::{Limits, OperationLabel};
pub use principal::{Principal, Role};
pub use tenancy::KommunScope;

/// What can be read: reference data, a kommun's own response and SKR's figures.
#[derive(MergedObject, Default)]
pub struct Query(
    query::ReferenceQuery,
    my::MyQuery,
    figures::FiguresQuery,
    feed::FeedQuery,
    webhooks::WebhookQuery,
);

/// What can be changed: the round life cycle (SKR admins) and a kommun's own answers.
#[derive(MergedObject, Default)]
pub struct Mutation(
    admin::AdminMutation,
    authoring::AuthoringMutation,
    my::MyMutation,
    webhooks::WebhookMutation,
);

pub type MognadSchema = Schema<Query, Mutation, EmptySubscription>;

/// Settings the API reads from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Fewest respondents a shown aggregate or distribution cell may have.
    pub min_cell: i64,
    /// Whether introspection queries are answered.
    pub introspection: bool,
    /// Whether an unknown field's error suggests the names it may have meant.
    pub suggestions: bool,
    /// The key cursors are sealed with (the database's, see [`cursor`]).
    pub cursors: cursor::Cursors,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_cell: 5,
            introspection: true,
            suggestions: true,
            cursors: cursor::Cursors::default(),
        }
    }
}

/// The connections queries read through: a pool apart from the one writes
/// use, so that reads, however many and however heavy, never hold a
/// connection a save needs. The limits extension hands it to every query
/// operation in place of the schema's connection.
#[derive(Clone, Debug)]
pub struct ReadPool(pub DatabaseConnection);

/// Builds the schema over a database connection (writes, and reads when
/// `reads` is not given), with the process's memory (the server keeps a
/// handle to make it forget when another process changes a round).
pub fn build(
    db: DatabaseConnection,
    reads: Option<DatabaseConnection>,
    memory: services::aggregates::FigureCache,
    targets: services::targets::Targets,
    tester: services::webhooks::Tester,
    limits: Limits,
    settings: Settings,
) -> MognadSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription);
    let loads = reads.clone().unwrap_or_else(|| db.clone());
    if let Some(reads) = reads {
        builder = builder.data(ReadPool(reads));
    }
    if !settings.introspection {
        builder = builder.disable_introspection();
    }
    if !settings.suggestions {
        builder = builder.disable_suggestions();
    }
    builder
        .data(DataLoader::new(
            services::questionnaire::AreasByRound(loads.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            services::questionnaire::QuestionsByArea(loads.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            services::questionnaire::OptionsByQuestion(loads.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            services::questionnaire::RoundById(loads),
            tokio::spawn,
        ))
        .data(memory)
        .data(targets)
        .data(tester)
        .register_output_type::<ErrorCode>()
        .data(settings)
        .data(db)
        .extension(limits)
        .finish()
}

/// The SDL of the schema, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .register_output_type::<ErrorCode>()
        .finish()
        .sdl()
}
