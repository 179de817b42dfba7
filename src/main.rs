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
    let json_logs = config.as_ref().is_some_and(Config::json_logs);
    telemetry::init(json_logs);
    match run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        // Once: as a JSON log line where logs are JSON (a log collector reads
        // them), else as one plain line for the person at the terminal.
        Err(message) if json_logs => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `text` to standard output; a reader that has gone (`| head`) is
/// not an error: the output was wanted only so far.
fn print_out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {e}"))
        }
        _ => Ok(()),
    }
}

/// Standard output that remembers whether its reader went away.
struct Stdout {
    closed: std::rc::Rc<std::cell::Cell<bool>>,
}

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = std::io::stdout().lock().write(buf);
        self.note(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = std::io::stdout().lock().flush();
        self.note(flushed)
    }
}

impl Stdout {
    fn note<T>(&self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed.set(true);
        }
        result
    }
}

async fn run(command: Command, config: Option<Config>) -> Result<(), String> {
    let Some(config) = config else {
        return print_out(&schema::sdl());
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
                    let closed = std::rc::Rc::new(std::cell::Cell::new(false));
                    let out = std::io::BufWriter::new(Stdout {
                        closed: closed.clone(),
                    });
                    match mognad::transfer::export_answers(&db, round, out).await {
                        // The reader has gone (`| head`): stop, quietly.
                        Err(_) if closed.get() => return Ok(()),
                        done => done?,
                    }
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
            let token = token(&config, &args)?;
            print_out(&format!("{token}\n"))
        }
        Command::Schema => unreachable!("handled above"),
    }
}

/// A signed token; says on standard error which secret signed it (and
/// warns when that secret was made just now), so that a token a server
/// refuses can be traced to the secret.
fn token(config: &Config, args: &TokenArgs) -> Result<String, String> {
    let kommun = match (args.role.as_str(), &args.kommun) {
        ("kommun", Some(code)) => Some(known_municipality(code)?),
        ("kommun", None) => {
            return Err("--role kommun needs --kommun CODE, e.g. --kommun 1280".into());
        }
        (_, Some(_)) => return Err("--kommun goes only with --role kommun".into()),
        (_, None) => None,
    };
    // The claims it writes are those this server reads by default.
    if config.claim_role != "role" || config.claim_kommun != "kommun" || !config.role_map.is_empty()
    {
        return Err(format!(
            "mognad token writes the claims role and kommun, but this server reads them as {} and {}{}: \
             use tokens from your identity provider",
            config.claim_role,
            config.claim_kommun,
            if config.role_map.is_empty() {
                ""
            } else {
                " through MOGNAD_ROLE_MAP"
            }
        ));
    }
    if let Some(sub) = &args.sub
        && (sub.trim().is_empty()
            || sub.chars().any(mognad::telemetry::unsafe_in_a_line)
            || sub.chars().count() > auth::MAX_SUBJECT)
    {
        return Err(format!(
            "--sub {:?}: a subject is 1 to {} characters, without control, separator or reordering characters",
            sub.chars().take(40).collect::<String>(),
            auth::MAX_SUBJECT
        ));
    }
    let ttl = auth::parse_ttl(&args.ttl)
        .ok_or_else(|| format!("--ttl {:?}: use e.g. 90s, 30m, 1h or 7d", args.ttl))?;
    let (secret, source) = auth::hs256_secret_from(config)
        .map_err(|e| e.to_string())?
        .ok_or(
            "mognad token signs HS256 tokens, but only public keys (MOGNAD_JWKS_FILE or MOGNAD_JWKS_URL) are configured: set MOGNAD_JWT_SECRET",
        )?;
    match source {
        auth::SecretSource::Configured => eprintln!("signed with MOGNAD_JWT_SECRET"),
        auth::SecretSource::DevFile { path, created } => {
            if created {
                eprintln!(
                    "warning: no development secret was here, so a new one was made in {}: \
                     a server started from another folder has its own and refuses this token; \
                     run mognad token where the server runs, or give both the same MOGNAD_DATA_DIR",
                    path.display()
                );
            }
            eprintln!("signed with the development secret in {}", path.display());
        }
    }
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

/// `code` if it is a municipality's SCB code (the reference data's 290),
/// else an error that says what would be (`180` → `0180`).
fn known_municipality(code: &str) -> Result<&str, String> {
    let reference = migration::reference::load().map_err(|e| e.to_string())?;
    let name_of = |c: &str| {
        reference
            .municipalities
            .iter()
            .find(|m| m.code == c)
            .map(|m| m.name.clone())
    };
    if name_of(code).is_some() {
        return Ok(code);
    }
    let padded = format!("{code:0>4}");
    if code.len() < 4
        && code.bytes().all(|b| b.is_ascii_digit())
        && let Some(name) = name_of(&padded)
    {
        return Err(format!(
            "--kommun {code:?} is not a municipality code: did you mean {padded} ({name})? \
             SCB codes have four digits"
        ));
    }
    Err(format!(
        "--kommun {code:?} is not a municipality's SCB code (four digits, e.g. 0180 Stockholm, \
         1280 Malmö; `{{ municipalities {{ code name }} }}` lists all 290)"
    ))
}
