//! `mognad`: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser;
use migration::{Migrator, MigratorTrait};
use mognad::auth::{self, NewClaims};
use mognad::cli::{Cli, Command, TokenArgs};
use mognad::{Application, Config, db, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    // The configuration decides the log format, so it is read first.
    let config = match command {
        Command::Schema => None,
        _ => match Config::load() {
            Ok(config) => Some(config),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    telemetry::init(config.as_ref().is_some_and(Config::json_logs));
    match run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Option<Config>) -> Result<(), String> {
    let Some(config) = config else {
        print!("{}", schema::sdl());
        return Ok(());
    };
    match command {
        Command::Serve => {
            let app = Application::build(config)
                .await
                .map_err(|e| e.to_string())?;
            app.run_until_stopped().await.map_err(|e| e.to_string())
        }
        Command::Import {
            round,
            file,
            dry_run,
        } => {
            let (db, _, _) = db::connect(&config).await.map_err(|e| e.to_string())?;
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let result = mognad::transfer::import_answers(
                &db,
                round,
                &file,
                dry_run,
                i64::from(config.min_cell),
                progress,
            )
            .await?;
            match result {
                Ok(done) => {
                    let verb = if dry_run { "would import" } else { "imported" };
                    println!(
                        "{}: {verb} {} responses with {} answers ({} rows){}",
                        file.display(),
                        done.responses,
                        done.answers,
                        done.rows,
                        if done.scores_frozen > 0 {
                            format!("; {} scores frozen", done.scores_frozen)
                        } else {
                            String::new()
                        }
                    );
                    Ok(())
                }
                Err(refused) => {
                    for (line, message) in &refused.0 {
                        eprintln!("{}:{line}: {message}", file.display());
                    }
                    Err(format!(
                        "{} bad rows in {}; nothing was imported",
                        refused.0.len(),
                        file.display()
                    ))
                }
            }
        }
        Command::ExportAnswers { round, out } => {
            let (db, _, _) = db::connect(&config).await.map_err(|e| e.to_string())?;
            let rows = match out {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    mognad::transfer::export_answers(&db, round, std::io::BufWriter::new(file))
                        .await?
                }
                None => {
                    mognad::transfer::export_answers(&db, round, std::io::stdout().lock()).await?
                }
            };
            eprintln!("{rows} rows of round {round} written");
            Ok(())
        }
        Command::Migrate => {
            let (db, _, _) = db::connect(&config).await.map_err(|e| e.to_string())?;
            Migrator::up(&db, None)
                .await
                .map_err(|e| format!("migration failed: {e}"))?;
            println!("migrations applied");
            Ok(())
        }
        Command::Seed { demo } => {
            let (db, _, _) = db::connect(&config).await.map_err(|e| e.to_string())?;
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
            if demo {
                let years = mognad::demo::load(&db, i64::from(config.min_cell))
                    .await
                    .map_err(|e| e.to_string())?;
                if years.is_empty() {
                    println!(
                        "demo data: already loaded (or the rounds have responses); nothing changed"
                    );
                } else {
                    println!("demo data: loaded and published {years:?}");
                }
            }
            Ok(())
        }
        Command::Token(args) => {
            println!("{}", token(&config, &args)?);
            Ok(())
        }
        Command::Schema => unreachable!("handled above"),
    }
}

fn token(config: &Config, args: &TokenArgs) -> Result<String, String> {
    let kommun = match (args.role.as_str(), &args.kommun) {
        ("kommun", Some(code)) if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) => {
            Some(code.as_str())
        }
        ("kommun", Some(code)) => {
            return Err(format!(
                "--kommun {code:?} is not a four-digit municipality code"
            ));
        }
        ("kommun", None) => {
            return Err("--role kommun needs --kommun CODE, e.g. --kommun 1280".into());
        }
        (_, Some(_)) => return Err("--kommun goes only with --role kommun".into()),
        (_, None) => None,
    };
    let ttl = auth::parse_ttl(&args.ttl)
        .ok_or_else(|| format!("--ttl {:?}: use e.g. 90s, 30m, 1h or 7d", args.ttl))?;
    let secret = auth::hs256_secret(config).map_err(|e| e.to_string())?.ok_or(
        "mognad token signs HS256 tokens, but only a JWKS file (public keys) is configured: set MOGNAD_JWT_SECRET",
    )?;
    let default_sub = match kommun {
        Some(code) => format!("dev-kommun-{code}"),
        None => format!("dev-{}", args.role),
    };
    let now = chrono::Utc::now().timestamp();
    let claims = NewClaims {
        iss: &config.jwt_issuer,
        aud: &config.jwt_audience,
        sub: args.sub.as_deref().unwrap_or(&default_sub),
        role: &args.role,
        kommun,
        iat: now,
        exp: now + ttl,
    };
    auth::sign_hs256(&secret, &claims).map_err(|e| e.to_string())
}
