//! The command line of `litekeys-rotate`.

use clap::{Args as ClapArgs, Parser, Subcommand};
use std::path::PathBuf;

/// After the shared exit-code table in `--help`.
const CONFIG_HELP: &str = "\
Config: --config, $LITEKEYS_CONFIG, secrets/litekeys.local.toml (this machine's, git-ignored)
else litekeys.toml next to the nearest secrets/ directory, $XDG_CONFIG_HOME/litekeys/config.toml,
else the defaults (secrets/global.enc.env, ~/.config/lab-secrets/litellm.env, ~/.factory,
gateway http://127.0.0.1:4000).
A litekeys.toml or source found by walking up is used only after `litekeys-rotate trust`.";

/// Rotate the LiteLLM master (and salt) key in the encrypted source and in
/// every sink (litellm.env, Droid settings, systemd, docker .env), as one
/// crash-safe transaction.
fn after_help() -> String {
    // The keys last: a config error points here for them.
    format!(
        "{}\n{CONFIG_HELP}\n\n{}",
        vault::Exit::help_text(),
        rotate::config::keys_help().trim_end()
    )
}

#[derive(Parser, Debug)]
#[command(name = "litekeys-rotate", version, after_help = after_help())]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) rotate: RotateArgs,
    /// litekeys.toml to use (adopt: the one to write, default ./litekeys.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print the plan (files, fields, fingerprints old -> new) and change nothing
    #[arg(long, global = true)]
    pub(crate) dry_run: bool,
    /// Do not ask for confirmation on a terminal. Off a terminal (stdin or stderr not one)
    /// nothing is asked either, as with --yes, so that scripts and the watcher run unattended;
    /// when only stdin is not a terminal, one line on stderr says so. `adopt`, which creates files,
    /// is refused off a terminal without it
    #[arg(long, short = 'y', global = true)]
    pub(crate) yes: bool,
    /// Skip the restart and verification (the audit log records the commit as unverified).
    /// Without it, before anything is written, the service manager must be able to act here
    /// (systemd: a bus and the unit known; compose: `docker compose` and its dir; command: the
    /// program exists), else the run is refused in one line, exit 2 (usage), nothing changed
    #[arg(long, global = true)]
    pub(crate) no_restart: bool,
    /// After the restart, also send one chat completion per model of the Droid routes through
    /// the gateway, asking for an exact reply: a fresh LITEKEYS_SENTINEL_<hex>, or the text of
    /// `[gateway] sentinel = "…"` in litekeys.toml (for models that answer fixed text, e.g.
    /// LiteLLM's mock_response); any other reply fails the rotation and rolls it back (exit 11, rolled-back)
    #[arg(long, global = true)]
    pub(crate) sentinel: bool,
    /// After a rotation (verified, or committed with --no-restart), commit the source alone in
    /// its git repository (message: names and fingerprints old -> new; author from your git
    /// config) and `git push` it; also `[git] push = true`. A failed push leaves the rotation
    /// done: exit 0, and one line on stderr says how to push. Every rotation in a repository
    /// with an upstream first fetches it and is refused (exit 1, nothing changed) when the
    /// branch is behind, so that two machines cannot fork the key
    #[arg(long, global = true)]
    pub(crate) push: bool,
}

#[derive(ClapArgs, Debug, Clone)]
pub(crate) struct RotateArgs {
    /// Rotate this source value instead of the master key: a [[virtual_key]] of litekeys.toml,
    /// made at the gateway with the master key (/key/generate) before any sink names it, the old
    /// one deleted after its grace; no restart. A value the source does not hold yet is created
    #[arg(long, value_name = "NAME")]
    pub(crate) key: Option<String>,
    /// After the rotation, do not look for the old key in the default places of `scan`
    #[arg(long)]
    pub(crate) no_scan: bool,
    /// Rotate LITELLM_SALT_KEY too (refused when LiteLLM has a database)
    #[arg(long)]
    pub(crate) salt: bool,
    /// Change the salt key even with a database (its stored credentials become unreadable):
    /// with --salt, or when a sink holds another salt key than the source
    #[arg(long)]
    pub(crate) force_salt: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Rotate the master key (the default)
    Rotate(RotateArgs),
    /// Show every sink (in-sync, drifted, missing, unreadable), the source and the last rotation
    Status {
        #[arg(long)]
        json: bool,
        /// Also count the keys found in plaintext in scan's default places (superseded keys
        /// from the audit log, and the current ones): one `scan` line, as `litekeys scan`
        #[arg(long)]
        scan: bool,
    },
    /// Write the source's current values into every sink (after `git pull` on another machine)
    Sync {
        /// Change a sink's LITELLM_SALT_KEY even with a database (its stored credentials become
        /// unreadable)
        #[arg(long)]
        force_salt: bool,
    },
    /// `git pull --ff-only` in the source's repository (anything but a fast-forward is refused),
    /// verify the new source (MAC, recipients inside the pin, plausible keys) before any sink,
    /// then `sync`. A source that fails is refused naming the commit, the repository is reset
    /// to the commit before the pull (`git reset --keep`) and every sink left as it was.
    /// With --dry-run the pull is made and verified, no sink is written
    Pull {
        /// As `sync --force-salt`
        #[arg(long)]
        force_salt: bool,
    },
    /// Settle an interrupted rotation: every file back to one consistent state
    Recover,
    /// Trust a litekeys.toml or source found by walking up from the current directory, after
    /// reading it (a cloned repository may hold one); with no FILE, the config and source this
    /// directory uses. Prints what the config names: source, gateway, restart, sinks. A config
    /// is pinned by content (trust it again after any change), a source by path
    Trust { file: Option<PathBuf> },
    /// Forget that a file was trusted; with no FILE, the config and source this directory uses
    Untrust { file: Option<PathBuf> },
    /// Create the encrypted source with fresh master and salt keys (never overwrites)
    Init {
        /// Age recipients (repeatable, or a comma list as sops takes); default:
        /// $SOPS_AGE_RECIPIENTS or your identities'
        #[arg(long = "age", value_name = "R1,R2", value_delimiter = ',', action = clap::ArgAction::Append)]
        age: Vec<String>,
    },
    /// Take over a gateway set up by hand: find the key LiteLLM runs on (its config.yaml, the
    /// litellm.env, compose .env or systemd unit it reads) and every file holding it by value;
    /// print a table (place, what holds it, what litekeys will do), never a key; then write
    /// secrets/global.enc.env with the values found and a trusted litekeys.toml with one sink
    /// per managed place, in the current directory. Shell rc files and histories are reported
    /// with the fix, never edited. Never overwrites; off a terminal it needs --yes
    Adopt(super::adopt::AdoptArgs),
    /// The main job on embedded defaults: a throwaway HOME and repository shaped like the
    /// seeds and a gateway on a free loopback port (LiteLLM if on PATH, else a built-in
    /// stand-in); status, a rotation that restarts and verifies it, one whose restart fails
    /// on purpose and is rolled back, status again; the sandbox is removed afterwards
    Demo {
        /// Keep the sandbox and print where it is
        #[arg(long)]
        keep: bool,
    },
    /// The demo's stand-in gateway, started and restarted by the demo itself
    #[command(hide = true)]
    DemoStandIn {
        #[arg(value_enum)]
        action: super::stand_in::Action,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        port: u16,
        #[arg(long)]
        env_file: PathBuf,
        #[arg(long)]
        owner: u32,
    },
    /// Find the gateway keys in plaintext files, by fingerprint: current (in the source now) or
    /// old (superseded, from the audit log). Never prints a key. Exit 13 when something was found
    Scan(super::scan::ScanArgs),
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages of litekeys-rotate into DIR
    Manpages { dir: PathBuf },
}
