//! `mognad`: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser;
use migration::{Migrator, MigratorTrait};
use mognad::cli::{Cli, Command};
use mognad::{Application, Config, db, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    if let Command::Schema = command {
        print!("{}", schema::sdl());
        return Ok(());
    }
    let config = Config::load().map_err(|e| e.to_string())?;
    match command {
        Command::Serve => {
            let app = Application::build(config)
                .await
                .map_err(|e| e.to_string())?;
            app.run_until_stopped().await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let (db, _) = db::connect(&config).await.map_err(|e| e.to_string())?;
            Migrator::up(&db, None)
                .await
                .map_err(|e| format!("migration failed: {e}"))?;
            println!("migrations applied");
            Ok(())
        }
        Command::Seed => {
            let (db, _) = db::connect(&config).await.map_err(|e| e.to_string())?;
            Migrator::up(&db, None)
                .await
                .map_err(|e| format!("migration failed: {e}"))?;
            let report = migration::seed::reference(&db)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "reference data: {} rows inserted ({report:?})",
                report.total()
            );
            Ok(())
        }
        Command::Schema => unreachable!("handled above"),
    }
}
