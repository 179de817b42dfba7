//! Database migrations and the reference-data loaders of mognad.
//!
//! [`Migrator`] creates the schema on SQLite and PostgreSQL alike;
//! [`seed::reference`] loads the municipalities, classifications and the 2019
//! and 2023 questionnaires from data files compiled into the binary, so that a
//! running server never depends on `../shared`.

pub use sea_orm_migration::prelude::*;

pub mod demo;
mod m20261128_000001_init;
mod m20261203_000001_release_plan;
mod m20261203_000002_row_level_security;
mod m20261203_000003_option_semantics;
mod m20261203_000004_answers_in_place;
mod m20261203_000005_no_locks_on_shared_rows;
mod m20261203_000006_frozen_scores_without_keys;
mod m20261203_000007_single_choice_in_answer;
mod m20261206_000008_change_feed;
mod m20261206_000009_webhooks;
mod m20261206_000010_guidance;
mod m20261206_000011_predecessors;
mod m20261207_000012_feed_throttle;
mod m20261207_000013_feed_by_audience;
mod m20261208_000014_published_at;
pub mod reference;
pub mod seed;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_init::Migration),
            Box::new(m20261203_000001_release_plan::Migration),
            Box::new(m20261203_000002_row_level_security::Migration),
            Box::new(m20261203_000003_option_semantics::Migration),
            Box::new(m20261203_000004_answers_in_place::Migration),
            Box::new(m20261203_000005_no_locks_on_shared_rows::Migration),
            Box::new(m20261203_000006_frozen_scores_without_keys::Migration),
            Box::new(m20261203_000007_single_choice_in_answer::Migration),
            Box::new(m20261206_000008_change_feed::Migration),
            Box::new(m20261206_000009_webhooks::Migration),
            Box::new(m20261206_000010_guidance::Migration),
            Box::new(m20261206_000011_predecessors::Migration),
            Box::new(m20261207_000012_feed_throttle::Migration),
            Box::new(m20261207_000013_feed_by_audience::Migration),
            Box::new(m20261208_000014_published_at::Migration),
        ]
    }
}
