//! The mognad server: configuration, telemetry, HTTP, authentication and
//! start-up around the `schema` library. `main.rs` only parses and runs.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod http;
pub mod startup;
pub mod tabular;
pub mod telemetry;
pub mod transfer;
pub mod webhooks;

pub use config::Config;
pub use startup::Application;
