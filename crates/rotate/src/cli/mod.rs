//! `litekeys-rotate`'s command line: parse, run the library, print, map
//! the outcome to an exit code.

mod adopt;
mod args;
mod demo;
mod demo_gateway;
mod fleet;
mod scan;
mod spinner;
mod stand_in;
mod trust;

use args::{Args, Command, RotateArgs};
use clap::Parser;
use rotate::Error;
use rotate::config::{Config, Env, Located, ManagerKind, Refusal};
use rotate::{self as transaction, Action, Plan, Recovered, Report, Request, Ui};
use rotate::{Activate, Restart, Skip};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use vault::Exit;

/// Writes to stdout, ignoring a closed pipe: the work is done by then.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Completions and man pages need no config (a broken one must not hide them).
fn meta(command: &Option<Command>) -> Option<ExitCode> {
    use clap::CommandFactory;
    match command {
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Args::command(), "litekeys-rotate", &mut out);
            let _ = std::io::stdout().write_all(&out);
            Some(ExitCode::SUCCESS)
        }
        Some(Command::Manpages { dir }) => {
            let written = std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(Args::command(), dir));
            Some(match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("litekeys-rotate: {}: {e}", dir.display());
                    Exit::Error.process()
                }
            })
        }
        _ => None,
    }
}

/// Progress on stderr when it is a terminal; confirmation on a terminal.
struct Terminal {
    show: bool,
    ask: bool,
    /// Not asked only because stdin is not a terminal while someone
    /// watches stderr: said in one line (a script's stderr stays quiet).
    unasked: bool,
    /// What the question names first: the config, the gateway, the restart.
    header: String,
}

impl Ui for Terminal {
    fn step(&mut self, line: &str) {
        if self.show {
            eprintln!("litekeys-rotate: {line}");
        }
    }

    fn confirm(&mut self, plan: &Plan) -> bool {
        if !self.ask {
            if self.unasked {
                eprintln!(
                    "litekeys-rotate: stdin is not a terminal: proceeding without confirmation, as with --yes"
                );
            }
            return true;
        }
        eprint!("{}{}Proceed? [y/N] ", self.header, plan.render());
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    }
}

/// The restart + verification step: every real manager restarts and
/// verifies ([`rotate::Restart`]); `--no-restart` and `none` skip.
fn activator(args: &Args, config: &Config) -> Box<dyn Activate> {
    if let Some(double) = rotate::activation_double() {
        return Box::new(double);
    }
    if args.no_restart {
        return Box::new(Skip(transaction::NO_RESTART.into()));
    }
    if config.service.manager == ManagerKind::None {
        return Box::new(Skip(
            "manager = \"none\": not restarted, not verified".into(),
        ));
    }
    Box::new(Restart::new(config, args.sentinel).with_progress(Box::new(spinner::Spinner::new())))
}

/// The first lines of the confirmation: whose config, which gateway gets
/// the key, what runs.
fn prompt_header(args: &Args, config: &Config) -> String {
    let restart = if args.no_restart {
        "skipped (--no-restart)".to_string()
    } else {
        trust::restart_command(config)
    };
    format!(
        "config:  {}\ngateway: {}\nrestart: {restart}\n",
        config.origin(),
        config.gateway.url
    )
}

/// `--key NAME`: the `[[virtual_key]]` it names (never with `--salt`).
fn virtual_action(config: &Config, name: &str, r: Option<&RotateArgs>) -> Result<Action, Error> {
    if r.is_some_and(|r| r.salt || r.force_salt) {
        return Err(Refusal::KeyWithSalt.into());
    }
    match config.virtual_keys.iter().position(|v| v.name == name) {
        Some(key) => Ok(Action::RotateVirtual { key }),
        None => Err(Refusal::NotVirtualKey {
            name: name.to_string(),
            config: config.origin(),
        }
        .into()),
    }
}

/// Before `init` there is no source, and no secrets/ for its lock: say to
/// run `init` as a rotation does, not that a lock file is missing.
fn require_source(config: &Config) -> Result<(), Error> {
    if config.source.exists() {
        return Ok(());
    }
    Err(Error::Source {
        path: config.source.clone(),
        source: rotate::SourceError::Missing {
            config: config
                .file
                .clone()
                .unwrap_or_else(|| rotate::config::FILE_NAME.into()),
        },
    })
}

fn run(args: &Args) -> Result<Exit, Error> {
    let env = Env::from_process();
    // Trusting reads what it shows, trusted or not; it uses nothing else.
    match &args.command {
        Some(Command::Trust { file }) => {
            out!(
                "{}",
                trust::trust(file.as_deref(), args.config.as_deref(), &env)?
            );
            return Ok(Exit::Ok);
        }
        Some(Command::Untrust { file }) => {
            out!(
                "{}",
                trust::untrust(file.as_deref(), args.config.as_deref(), &env)?
            );
            return Ok(Exit::Ok);
        }
        // adopt writes the config: it reads none.
        Some(Command::Adopt(a)) => {
            let global = adopt::Global {
                config: args.config.clone(),
                dry_run: args.dry_run,
                yes: args.yes,
            };
            return Ok(adopt::run(a, &global, &env));
        }
        _ => {}
    }
    let located = Located::find(args.config.as_deref(), &env)?;
    for ignored in &located.ignored {
        eprintln!(
            "litekeys-rotate: {}: not used: no secrets/ directory next to it (pass --config FILE to use it)",
            ignored.display()
        );
    }
    let config = located.load(&env)?;
    let mut ui = Terminal {
        show: std::io::stderr().is_terminal(),
        ask: !args.yes
            && !args.dry_run
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal(),
        unasked: !args.yes
            && !args.dry_run
            && !std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal(),
        header: prompt_header(args, &config),
    };
    let rotate_args = match &args.command {
        None => Some(args.rotate.clone()),
        Some(Command::Rotate(r)) => Some(RotateArgs {
            salt: r.salt || args.rotate.salt,
            force_salt: r.force_salt || args.rotate.force_salt,
            no_scan: r.no_scan || args.rotate.no_scan,
            key: r.key.clone().or_else(|| args.rotate.key.clone()),
        }),
        Some(_) if args.rotate.key.is_some() => {
            return Err(Refusal::KeyWithoutRotate.into());
        }
        Some(_) if args.rotate.salt => {
            return Err(Refusal::SaltWithoutRotate.into());
        }
        Some(Command::Sync { .. } | Command::Pull { .. }) => None,
        Some(_) if args.rotate.force_salt => {
            return Err(Refusal::SaltWithoutRotate.into());
        }
        Some(_) => None,
    };
    let action = match (&args.command, rotate_args.clone()) {
        (
            _,
            Some(RotateArgs {
                key: Some(name), ..
            }),
        ) if name != rotate::config::MASTER_KEY => {
            virtual_action(&config, &name, rotate_args.as_ref())?
        }
        (_, Some(r)) => Action::Rotate {
            salt: r.salt,
            force_salt: r.force_salt,
        },
        (Some(Command::Sync { force_salt }), _) => Action::Sync {
            force_salt: *force_salt || args.rotate.force_salt,
        },
        (Some(Command::Pull { force_salt }), _) => {
            outln!("{}", fleet::pull(&config)?);
            Action::Sync {
                force_salt: *force_salt || args.rotate.force_salt,
            }
        }
        (Some(Command::Status { json, scan: count }), _) => {
            require_source(&config)?;
            let mut status = rotate::collect_status(&config, &transaction::identities(&config))?;
            // Informational: the exit code stays the sinks' (drift).
            status.probe_gateway(&config, rotate::gateway::TIMEOUT);
            let found = if *count {
                Some(scan::count(&config)?)
            } else {
                None
            };
            let text = if *json {
                let mut value = status.json();
                if let (Some((current, old)), Some(map)) = (found, value.as_object_mut()) {
                    map.insert(
                        "scan".into(),
                        serde_json::json!({ "current": current, "old": old }),
                    );
                }
                format!("{value:#}\n")
            } else {
                let mut table = status.table();
                if let Some((current, old)) = found {
                    table.push_str(&scan::count_line(current, old));
                }
                table
            };
            out!("{text}");
            return Ok(if status.in_sync() {
                Exit::Ok
            } else {
                Exit::Drift
            });
        }
        (Some(Command::Scan(scan_args)), _) => return scan::run(scan_args, &config),
        (Some(Command::Recover), _) => {
            require_source(&config)?;
            let _lock = vault::store::Lock::acquire(&config.source, false)?;
            let done = rotate::recover(&config, &transaction::identities(&config).identities)?;
            outln!("{done}");
            return Ok(Exit::Ok);
        }
        (Some(Command::Init { age }), _) => {
            let created = rotate::init(&config, age, &transaction::identities(&config))?;
            outln!(
                "created {} for {} recipient(s): {}; run `litekeys-rotate sync` to write the sinks",
                created.path.display(),
                created.recipients.len(),
                created
                    .keys
                    .iter()
                    .map(|(k, fp)| format!("{k} {fp}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(ignore) = &created.ignore_file {
                outln!("wrote {} (ignores the lock files)", ignore.display());
            }
            return Ok(Exit::Ok);
        }
        (Some(Command::Demo { .. } | Command::DemoStandIn { .. }), _) => {
            unreachable!("handled by demo::command() before the config is read")
        }
        (Some(Command::Completions { .. } | Command::Manpages { .. }), _) => {
            unreachable!("handled by meta() before the config is read")
        }
        (Some(Command::Trust { .. } | Command::Untrust { .. } | Command::Adopt(_)), _) => {
            unreachable!("handled before the config is loaded")
        }
        (Some(Command::Rotate(_)) | None, None) => unreachable!("rotate always has its arguments"),
    };
    // A rotation in a repository behind its upstream would fork the key.
    let repo = if action.rotates() && !args.dry_run {
        fleet::before_rotation(&config)?
    } else {
        None
    };
    let push = (args.push || config.git.push) && action.rotates();
    let ids = transaction::identities(&config);
    let request = Request {
        config: &config,
        identities: &ids,
        action,
        dry_run: args.dry_run,
    };
    let mut activate = if matches!(action, Action::RotateVirtual { .. }) {
        // No restart: the gateway makes and deletes the key itself.
        Box::new(rotate::RotateVirtualKey::new(&config))
    } else {
        activator(args, &config)
    };
    match transaction::run(&request, activate.as_mut(), &mut ui)? {
        Report::DryRun(plan) => out!("{}", plan.render()),
        Report::InSync { recovered } => {
            if recovered != Recovered::Nothing {
                outln!("{recovered}");
            }
            outln!("every sink is in sync with {}", config.source.display());
        }
        Report::Done(done) => {
            if done.recovered != Recovered::Nothing {
                outln!("{}", done.recovered);
            }
            let keys: Vec<String> = done.plan.keys.iter().map(ToString::to_string).collect();
            outln!(
                "{} {} in {} file(s); {} (tx {})",
                if done.plan.action == "rotate" {
                    "rotated"
                } else {
                    "synced"
                },
                keys.join(", "),
                done.plan.files.len(),
                if done.verification.verified() {
                    format!("verified: {}", done.verification.detail())
                } else {
                    format!("unverified: {}", done.verification.detail())
                },
                done.tx
            );
            if push {
                match fleet::push(repo.as_ref(), &config, &done) {
                    Ok(line) => outln!("{line}"),
                    Err(warning) => eprintln!("litekeys-rotate: {warning}"),
                }
            }
            if done.plan.action == "rotate"
                && !rotate_args.as_ref().is_some_and(|r| r.no_scan)
                && let Some(line) = scan::hint(&config, &done)
            {
                eprintln!("litekeys-rotate: {line}");
            }
        }
    }
    Ok(Exit::Ok)
}

pub(crate) fn main() -> ExitCode {
    let args = Args::parse();
    // The demo uses no config of the user's: it runs before one is read.
    if let Some(exit) = meta(&args.command).or_else(|| demo::command(&args)) {
        return exit;
    }
    match run(&args) {
        Ok(exit) => exit.process(),
        Err(e) => {
            eprintln!("litekeys-rotate: {e}");
            e.exit().process()
        }
    }
}
