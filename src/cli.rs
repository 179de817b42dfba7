//! The command line: `serve` (default), `migrate`, `seed`, `schema`.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mognad",
    version,
    about = "GraphQL API for SKR's follow-up of municipalities' information security work"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default). Migrates, and loads the reference data into an empty database.
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Migrate, then load the reference data (idempotent: a second run changes nothing).
    Seed,
    /// Print the GraphQL schema (SDL).
    Schema,
}
