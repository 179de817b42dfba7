//! The command line: `serve` (default), `migrate`, `seed`, `schema`,
//! `token`, `import`, `export-answers`.

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
    #[command(
        after_help = "Settings come from MOGNAD_* environment variables: --help lists them.",
        after_long_help = crate::config::settings_help()
    )]
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Migrate, then load the reference data (idempotent: a second run changes nothing).
    Seed {
        /// Also load the demo answers into the 2019 and 2023 rounds and publish them.
        #[arg(long)]
        demo: bool,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Load a whole round's answers from a CSV or XLSX file in the long
    /// format (`municipality_code,question_key,value,status,submitted_at`),
    /// all or nothing, into a round that has none yet; every bad row is
    /// listed with its line number.
    Import {
        /// The round's year.
        #[arg(long)]
        round: i32,
        /// The file (.csv or .xlsx).
        file: std::path::PathBuf,
        /// Check every row and say what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a round's answers (every municipality's: an operator's tool
    /// with database access, never an API route) in the long CSV format an
    /// import reads, to standard output or a file.
    ExportAnswers {
        /// The round's year.
        #[arg(long)]
        round: i32,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Print a signed HS256 token (with MOGNAD_JWT_SECRET, or the dev-mode secret) to try the API.
    Token(TokenArgs),
}

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The token's role.
    #[arg(long, value_parser = ["kommun", "skr_analyst", "skr_admin"])]
    pub role: String,
    /// The municipality's four-digit SCB code (role kommun only), e.g. 1280.
    #[arg(long)]
    pub kommun: Option<String>,
    /// The subject written into the audit trail (default: dev-<role>[-<kommun>]).
    #[arg(long)]
    pub sub: Option<String>,
    /// Lifetime: 90s, 30m, 1h, 7d, or seconds.
    #[arg(long, default_value = "1h")]
    pub ttl: String,
}
