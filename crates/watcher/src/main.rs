//! `litekeys-watch`: restart litellm.service when its secrets change.

mod actions;
mod debounce;
mod drift;
mod engine;
mod files;
mod install;
mod live;
mod log;
mod pacing;
mod pull;
mod sdnotify;
mod source;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use vault::Exit;

const ABOUT: &str = "Watch the encrypted source and the sinks the LiteLLM service reads; sync, restart and verify when they change.";

const LONG_ABOUT: &str = "\
Watch the encrypted source and the sinks the LiteLLM service reads; sync, \
restart and verify when they change. Runs in the foreground (as a systemd \
user service: see `litekeys-watch install`).

It watches the directories of the source and of every dotenv and systemd-env \
sink (not recursively), so replacement by rename (sops, vim, git checkout, \
litekeys), deletion and re-creation are all seen. After a burst of changes it \
waits until nothing changed for --quiet (500ms), or at most --max-delay (5s), \
then compares the files' SHA-256 with the last state: a touch or an identical \
rewrite does nothing.

The source changed: it is decrypted (MAC verified), then its values are \
written into every sink as `litekeys-rotate sync --no-restart` does (the \
same transaction, run in-process), the service is restarted (daemon-reload \
first when a systemd-env sink exists; within [service] timeout) \
and the gateway must answer /health/liveliness, accept the source's master \
key on /v1/models and refuse a request with no key (as `litekeys-rotate` \
verifies). A source that is missing, half-written, unparsable or fails its \
MAC gets one error line and changes nothing; the watcher acts again once it \
is valid. So does a source whose master or salt key cannot be a key (empty, \
as an added `LITELLM_MASTER_KEY=` line the MAC does not cover; too short, \
whitespace, `$NAME`): nothing is written or restarted on it.

A change made while the service restarts gets a restart of its own: the \
files are hashed before each restart, not after.

A sink changed by someone else (a hand edit of litellm.env): the service is \
restarted and verified, and the edit is kept. The watcher never rewrites a \
sink by itself: when the edit contradicts the source (a different or missing \
LITELLM_MASTER_KEY, say) it logs `drift` and does not restart, leaving the \
decision to `litekeys-rotate sync` (which writes the source's values back) or \
to you.

While a rotation holds the source's lock the watcher waits for it, and does \
not restart again for a change the rotation already restarted and verified \
(its audit log). Restarts are rate-limited (--min-interval); after a failed \
restart or verification it retries with an exponential backoff (--backoff-max).

With `[git] pull_every = \"30s\"` in litekeys.toml it also pulls the \
source's repository on that interval, as `litekeys-rotate pull` does (fast-\
forward only, the new source verified before any sink is touched), then \
syncs, restarts and verifies as above. A refused source (a tampered push, \
say) is logged once in one line naming the commit; the sinks stay as they \
were and the watcher keeps running. Without `[git]` it has no timer at all: \
an idle watcher never wakes. `install` then lets the unit write the \
repository.

Logs: one line per event on stderr, key fingerprints only, never a value; no \
timestamps under systemd (JOURNAL_STREAM). With NOTIFY_SOCKET set it sends \
READY=1 once watching and STATUS= with the last event.";

#[derive(Parser, Debug)]
#[command(
    name = "litekeys-watch",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = Exit::help_text()
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// litekeys.toml (default: $LITEKEYS_CONFIG, next to the nearest
    /// secrets/ directory, $XDG_CONFIG_HOME/litekeys/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Act once nothing changed for this long
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "500ms")]
    quiet: Duration,

    /// …or this long after the first change of a burst
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "5s")]
    max_delay: Duration,

    /// At most one restart per this interval
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "10s")]
    min_interval: Duration,

    /// Cap of the backoff after failed restarts or verifications (it
    /// starts at 5s and doubles)
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "5m")]
    backoff_max: Duration,

    /// How long the gateway may take to come back with the new key
    /// [default: [gateway] timeout, or 60s]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    verify_timeout: Option<Duration>,

    /// Restart without checking the gateway (no gateway to check)
    #[arg(long)]
    no_verify: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write litekeys-watch.service and print the line that enables it
    Install {
        /// A system unit in /etc/systemd/system (default: a user unit in
        /// ~/.config/systemd/user)
        #[arg(long)]
        system: bool,
        /// Print the unit instead of writing it
        #[arg(long)]
        print: bool,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man page of litekeys-watch into DIR
    Manpages { dir: std::path::PathBuf },
}

/// `500ms`, `5s`, `2m`, `1h`.
fn duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 500ms, 5s, 2m"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("{s:?}: give a unit: ms, s, m or h")),
    })
}

/// Why `litekeys-watch` stopped, with the context the libraries leave out.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("{}: {source}", dir.display())]
    Manpages {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// litekeys.toml is missing or malformed.
    #[error("{0}")]
    Config(rotate::Error),
    #[error("{0}")]
    Install(#[from] install::InstallError),
    #[error("{}: the source's directory does not exist; check `source` in the config", .0.display())]
    NoSourceDir(PathBuf),
    #[error("{0}")]
    WatchSetup(#[from] debounce::SetupError),
    #[error("{0}")]
    Stopped(#[from] engine::WatcherStopped),
}

impl Error {
    /// This binary's rows of the shared table: a bad or missing
    /// litekeys.toml exits as `litekeys-rotate` does for it (usage, 2);
    /// any other failure is an error (1).
    fn exit(&self) -> Exit {
        match self {
            Error::Config(e) => e.exit(),
            Error::Manpages { .. }
            | Error::Install(_)
            | Error::NoSourceDir(_)
            | Error::WatchSetup(_)
            | Error::Stopped(_) => Exit::Error,
        }
    }
}

fn main() -> ExitCode {
    vault::harden_process();
    let args = Args::parse();
    match run(args) {
        Ok(()) => Exit::Ok.process(),
        Err(e) => {
            eprintln!("litekeys-watch: error: {e}");
            e.exit().process()
        }
    }
}

fn run(args: Args) -> Result<(), Error> {
    match &args.command {
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Args::command(), "litekeys-watch", &mut out);
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &out);
            return Ok(());
        }
        Some(Command::Manpages { dir }) => {
            use clap::CommandFactory;
            let fail = |source| Error::Manpages {
                dir: dir.clone(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(fail)?;
            return clap_mangen::generate_to(Args::command(), dir).map_err(fail);
        }
        _ => {}
    }
    let env = rotate::Env::from_process();
    let config = rotate::config::Config::load(args.config.as_deref(), &env)
        .map_err(|e| Error::Config(e.into()))?;
    if let Some(Command::Install { system, print }) = args.command {
        let out = install::install(&config, system, print)?;
        print!("{out}");
        return Ok(());
    }
    let debounce = debounce::Debounce {
        quiet: args.quiet,
        max: args.max_delay,
    };
    let source_dir = config.source.parent().unwrap_or(std::path::Path::new("/"));
    if !source_dir.is_dir() {
        return Err(Error::NoSourceDir(config.source.clone()));
    }
    let set = Arc::new(files::WatchSet::new(&config));
    let events = debounce::Debouncer::start(Arc::clone(&set), debounce)?;
    let actions = live::LiveActions {
        service: rotate::service_spec(&config),
        verify: !args.no_verify,
        verify_bound: args.verify_timeout.unwrap_or(config.gateway.timeout),
        config: config.clone(),
    };
    let pacing = pacing::Pacing::new(args.min_interval, Duration::from_secs(5), args.backoff_max);
    let pull_every = config.git.pull_every;
    let git = pull::GitPull {
        config: config.clone(),
    };
    let mut engine = engine::Engine::new(config, Arc::clone(&set), actions, pacing);
    if let Some(every) = pull_every {
        log::info(format!("pulling the source's repository every {every:?}"));
        engine = engine.pulling(pull::Pulling::new(every, Box::new(git)));
    }
    log::info(format!(
        "watching {} files in {} directories (quiet {:?}, at most {:?})",
        set.files.len(),
        set.dirs().count(),
        debounce.quiet,
        debounce.max
    ));
    sdnotify::ready();
    Ok(engine.run(&events)?)
}
