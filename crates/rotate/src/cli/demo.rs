//! `litekeys-rotate demo`: the main job on embedded defaults, in a
//! throwaway sandbox, with nothing installed but litekeys. It builds a HOME
//! and a repository shaped like the seeds (an encrypted source, Droid
//! routes through VibeProxy, Z.AI and LiteLLM, a litellm.env, a systemd
//! drop-in, LiteLLM's config.yaml with the key typed in, Claude Code's
//! settings; [`sandbox`]) and a gateway on a free loopback port (LiteLLM
//! when it is on PATH, else the built-in stand-in), then runs this very
//! binary — `status`,
//! a rotation that restarts and verifies the gateway, a rotation whose
//! restart fails on purpose and is rolled back, `status` — exactly as a user
//! would, and removes the sandbox and stops the gateway.

use super::args::{Args, Command as Cli};
use super::demo_gateway;
use super::spinner::Spinner;
use super::stand_in::StandIn;
use rotate::config::MASTER_KEY;
use rotate::gateway::Progress;
use sandbox::{Sandbox, build};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;
use vault::Exit;

// The sandbox's files, beside this file (a room of the demo's own).
#[path = "demo_sandbox.rs"]
mod sandbox;

/// `demo` and the stand-in's hidden mode, which need no config; `None` for
/// every other command.
pub(crate) fn command(args: &Args) -> Option<ExitCode> {
    match &args.command {
        Some(Cli::DemoStandIn {
            action,
            dir,
            port,
            env_file,
            owner,
        }) => {
            let stand_in = StandIn {
                dir: dir.clone(),
                port: *port,
                env_file: env_file.clone(),
                owner: *owner,
            };
            Some(match stand_in.run(*action) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("litekeys-rotate: {e}");
                    Exit::Error.process()
                }
            })
        }
        Some(Cli::Demo { keep }) => {
            if let Some(flag) = unhonoured(args) {
                eprintln!(
                    "litekeys-rotate: demo does not take {flag}: it runs on its own sandbox and embedded defaults only"
                );
                return Some(Exit::Usage.process());
            }
            // The demo's own error names the sandbox or the step.
            let exit = run(*keep, &mut std::io::stdout()).unwrap_or_else(|e| {
                eprintln!("litekeys-rotate: {e}");
                Exit::Error
            });
            Some(exit.process())
        }
        _ => None,
    }
}

/// The first global flag `demo` would otherwise ignore. `--yes` is
/// honoured: the demo never asks.
fn unhonoured(args: &Args) -> Option<&'static str> {
    [
        (args.dry_run, "--dry-run"),
        (args.config.is_some(), "--config"),
        (args.no_restart, "--no-restart"),
        (args.sentinel, "--sentinel"),
        (args.rotate.salt, "--salt"),
        (args.rotate.force_salt, "--force-salt"),
    ]
    .into_iter()
    .find_map(|(set, flag)| set.then_some(flag))
}

/// Why the demo could not run; one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    #[error("demo sandbox {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("demo: {0}")]
    Encrypt(#[from] vault::Error),
    #[error("demo: a generated key is not UTF-8")]
    KeyNotText,
    #[error("demo: status before the rotation exited {0}")]
    StatusBefore(i32),
    #[error("demo: {0}")]
    Start(#[from] demo_gateway::StartError),
}

/// Colour on a terminal, unless `NO_COLOR` is set (no-color.org).
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn detect() -> Paint {
        Paint(
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
    }

    fn with(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn heading(self, text: &str) -> String {
        self.with("1;36", text)
    }

    fn good(self, text: &str) -> String {
        self.with("32", text)
    }

    fn bad(self, text: &str) -> String {
        self.with("1;31", text)
    }
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs this binary inside the sandbox, with a progress line on a terminal
/// while it runs, and copies its output to `out`; returns its exit code.
fn step(
    sandbox: &Sandbox,
    out: &mut dyn Write,
    paint: Paint,
    title: &str,
    args: &[&str],
) -> Result<i32, DemoError> {
    use std::io::{Seek, SeekFrom};
    let exe = std::env::current_exe().map_err(io(Path::new("litekeys-rotate")))?;
    let _ = writeln!(
        out,
        "\n{}",
        paint.heading(&format!(
            "$ litekeys-rotate {}        # {title}",
            args.join(" ")
        ))
    );
    let _ = out.flush();
    // Files, not pipes: the restart command's gateway inherits nothing,
    // and nothing has to be read while the spinner turns.
    let capture = || tempfile::tempfile().map_err(io(Path::new("tmp")));
    let (mut stdout, mut stderr) = (capture()?, capture()?);
    let home = sandbox.home();
    let mut child = Command::new(exe)
        .args(args)
        .arg("--config")
        .arg(&sandbox.config)
        .current_dir(sandbox.root().join("repo"))
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("SOPS_AGE_KEY_FILE", &sandbox.identity_file)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("LITEKEYS_CONFIG")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        // The test suite's fault doubles are not the demo's.
        .env_remove("LITEKEYS_FAULT")
        .env_remove("LITEKEYS_FAULT_ACTIVATE")
        .env_remove("LITEKEYS_FAULT_EXEC")
        .env_remove("LITEKEYS_FAULT_HOLD")
        .stdin(std::process::Stdio::null())
        .stdout(stdout.try_clone().map_err(io(Path::new("tmp")))?)
        .stderr(stderr.try_clone().map_err(io(Path::new("tmp")))?)
        .spawn()
        .map_err(io(Path::new("litekeys-rotate")))?;
    let mut spinner = Spinner::new();
    let begun = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io(Path::new("litekeys-rotate")))? {
            break status;
        }
        spinner.waiting(title, begun.elapsed());
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    spinner.finished();
    for file in [&mut stdout, &mut stderr] {
        if file.seek(SeekFrom::Start(0)).is_ok() {
            let _ = std::io::copy(file, out);
        }
    }
    Ok(status.code().unwrap_or(1))
}

/// The master key litellm.env holds now, accepted by the gateway or not.
fn current_key_accepted(sandbox: &Sandbox) -> bool {
    let path = sandbox.home().join(".config/lab-secrets/litellm.env");
    let spec = rotate::config::SinkSpec {
        kind: rotate::config::SinkKind::Dotenv,
        path: path.clone(),
        keys: vec![MASTER_KEY.into()],
        pointer: None,
        origin: "demo".into(),
    };
    let Ok(bytes) = std::fs::read(&path) else {
        return false;
    };
    rotate::read_sink_values(&spec, &bytes)
        .into_iter()
        .find(|(name, _)| name == MASTER_KEY)
        .is_some_and(|(_, key)| {
            rotate::gateway::probe(&sandbox.gateway.url(), Some(&key)).is_ok_and(|s| s == 200)
        })
}

/// The whole demonstration: `Ok` when every step did what it shows.
pub(crate) fn run(keep: bool, out: &mut dyn Write) -> Result<Exit, DemoError> {
    let paint = Paint::detect();
    let litellm = demo_gateway::find();
    let sandbox = build(litellm.as_deref())?;
    let gateway = &sandbox.gateway;
    let _ = writeln!(
        out,
        "{}\n\
         - secrets/global.enc.env: LITELLM_MASTER_KEY and LITELLM_SALT_KEY, encrypted to a fresh age identity\n\
         - ~/.factory/settings.json: three Droid routes (VibeProxy :8317, Z.AI, LiteLLM)\n\
         - ~/.config/lab-secrets/litellm.env and a litellm.service drop-in\n\
         - ~/.config/litellm/config.yaml with the master key typed in (general_settings.master_key)\n\
         - ~/.claude/settings.json with it in env.ANTHROPIC_AUTH_TOKEN",
        paint.heading(&format!(
            "litekeys demo: a throwaway HOME and repository in {}",
            sandbox.root().display()
        ))
    );
    if litellm.is_some() {
        let _ = writeln!(
            out,
            "- litellm is on PATH: starting it on {} (mock model, no upstream) …",
            gateway.url()
        );
    } else {
        let _ = writeln!(
            out,
            "- litellm is not on PATH: starting the built-in {} on {} …\n  \
             it checks keys like LiteLLM without a database: no key 401, a wrong key 400, the master key in litellm.env (read at start) 200",
            gateway.label(),
            gateway.url()
        );
    }
    let took = gateway.start()?;
    let _ = writeln!(
        out,
        "  up in {:.1} s; the rotation restarts it (manager \"command\") and verifies the keys",
        took.as_secs_f64()
    );
    let before = step(
        &sandbox,
        out,
        paint,
        "every sink holds the source's keys",
        &["status"],
    )?;
    if before != 0 {
        return Err(DemoError::StatusBefore(before));
    }
    let [initial, ..] = sandbox.master_keys();
    let rotated = step(
        &sandbox,
        out,
        paint,
        "new master key everywhere, one transaction",
        &["--yes"],
    )?;
    let after = step(
        &sandbox,
        out,
        paint,
        "new fingerprints, still in sync",
        &["status"],
    )?;
    // LiteLLM's config.yaml and Claude Code's settings hold the new key.
    let clients = match sandbox.master_keys() {
        [Some(env), Some(config), Some(claude)] => {
            env == config && env == claude && initial.as_ref() != Some(&env)
        }
        _ => false,
    };
    let kept = sandbox.files()?;
    gateway.fail_next_restart().map_err(io(sandbox.root()))?;
    let failed = step(
        &sandbox,
        out,
        paint,
        "this restart fails on purpose: rolled back",
        &["--yes"],
    )?;
    let restored = sandbox.files()? == kept;
    let back = step(
        &sandbox,
        out,
        paint,
        "every file back, the old key accepted again",
        &["status"],
    )?;
    let old_key_works = current_key_accepted(&sandbox);
    let settings = std::fs::read_to_string(sandbox.home().join(".factory/settings.json"))
        .map_err(io(&sandbox.home()))?;
    let untouched = settings.contains("\"vibeproxy\"") && settings.contains("zai-not-a-real-key");
    let _ = writeln!(
        out,
        "\nVibeProxy and Z.AI routes untouched: {}",
        if untouched { "yes" } else { "NO" }
    );
    let rolled_back = failed == i32::from(Exit::RolledBack.code());
    let checks = [
        (
            before == 0,
            "status: every sink in sync with the source".to_string(),
        ),
        (
            rotated == 0 && after == 0,
            format!(
                "rotation: {} restarted, old key refused, new key 200, in sync",
                gateway.label()
            ),
        ),
        (
            rolled_back && restored,
            format!("failed restart: rolled back (exit {failed}), every file back byte for byte"),
        ),
        (
            back == 0 && old_key_works,
            "after the rollback: in sync, the old key accepted again (HTTP 200)".to_string(),
        ),
        (
            clients,
            "LiteLLM's config.yaml (master_key) and Claude Code's settings.json (env.ANTHROPIC_AUTH_TOKEN): the new key, in place".to_string(),
        ),
        (untouched, "VibeProxy and Z.AI routes untouched".to_string()),
    ];
    let _ = writeln!(out, "\n{}", paint.heading("Summary"));
    for (ok, line) in &checks {
        let mark = if *ok {
            paint.good("ok  ")
        } else {
            paint.bad("FAIL")
        };
        let _ = writeln!(out, "  {mark} {line}");
    }
    let code = if checks.iter().all(|(ok, _)| *ok) {
        Exit::Ok
    } else {
        Exit::Error
    };
    if keep {
        let path = sandbox.keep_dir();
        let _ = writeln!(
            out,
            "kept the sandbox: {} (SOPS_AGE_KEY_FILE={}/home/.config/sops/age/keys.txt); its gateway is stopped",
            path.display(),
            path.display()
        );
    } else {
        drop(sandbox);
        let _ = writeln!(
            out,
            "stopped the gateway, removed the sandbox (--keep keeps it)"
        );
    }
    Ok(code)
}
