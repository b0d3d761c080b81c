//! `litekeys-rotate demo`: the main job on embedded defaults, in a
//! throwaway sandbox, with nothing installed but litekeys. It builds a HOME
//! and a repository shaped like the seeds (an encrypted source, Droid
//! routes through VibeProxy, Z.AI and LiteLLM, a litellm.env, a systemd
//! drop-in), then runs this very binary — `status`, a rotation, `status`
//! again — exactly as a user would, and removes the sandbox.

use super::demo_gateway::{self, Gateway};
use rotate::config::{MASTER_KEY, SALT_KEY};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use vault::Secret;
use vault::{EncryptOptions, encrypt};

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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The sandbox: a scratch HOME and a repository inside one temp dir.
pub(crate) struct Sandbox {
    /// Declared first: LiteLLM is stopped before its directory is removed.
    gateway: Option<Gateway>,
    dir: tempfile::TempDir,
    identity_file: PathBuf,
    config: PathBuf,
}

impl Sandbox {
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Stops LiteLLM (if any) and keeps the sandbox on disk; returns its path.
    pub(crate) fn keep_dir(mut self) -> PathBuf {
        drop(self.gateway.take());
        let Sandbox { dir, .. } = self;
        dir.keep()
    }
}

/// Builds the sandbox with a fresh identity and fresh keys.
/// Builds the sandbox with a fresh identity and fresh keys; with `litellm`,
/// a LiteLLM to start on a free loopback port (not started yet).
pub(crate) fn build(litellm: Option<&Path>) -> Result<Sandbox, DemoError> {
    let dir = tempfile::Builder::new()
        .prefix("litekeys-demo.")
        .tempdir()
        .map_err(io(Path::new("/tmp")))?;
    let root = dir.path().to_path_buf();
    let home = root.join("home");
    let repo = root.join("repo");
    let env_file = home.join(".config/lab-secrets/litellm.env");
    let gateway = match litellm {
        Some(bin) => {
            Some(Gateway::prepare(&root.join("litellm"), bin, &env_file).map_err(io(&root))?)
        }
        None => None,
    };
    let url = gateway
        .as_ref()
        .map_or_else(|| "http://127.0.0.1:4000".to_string(), Gateway::url);
    let service = match &gateway {
        Some(g) => format!(
            "manager = \"command\"\ncommand = [{}]\ntimeout = 30\n",
            g.restart_argv()
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "manager = \"none\"\n".to_string(),
    };
    let write = |rel: &Path, text: &str, mode: u32| -> Result<(), DemoError> {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).map_err(io(&path))?;
        vault::store::write(&path, text.as_bytes(), mode)
            .map(|_| ())
            .map_err(io(&path))
    };

    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let identity_text = {
        use age::secrecy::ExposeSecret;
        format!(
            "# litekeys demo identity (throwaway)\n# public key: {recipient}\n{}\n",
            identity.to_string().expose_secret()
        )
    };
    let identity_file = home.join(".config/sops/age/keys.txt");
    write(
        Path::new("home/.config/sops/age/keys.txt"),
        &identity_text,
        0o600,
    )?;

    let master = rotate::generate_key();
    let salt = rotate::generate_key();
    let m = secret_str(&master)?;
    let s = secret_str(&salt)?;

    // The encrypted source, as `sops encrypt` would write it (native).
    let plain = format!(
        "# LiteLLM gateway keys (litekeys demo)\n{MASTER_KEY}={m}\n{SALT_KEY}={s}\nLITELLM_URL_unencrypted=http://127.0.0.1:4000\n"
    );
    let source = repo.join("secrets/global.enc.env");
    let options = EncryptOptions {
        recipients: vec![recipient.clone()],
        ..Default::default()
    };
    let doc = encrypt(&source, plain.as_bytes(), &options)?;
    write(
        Path::new("repo/secrets/.sops.yaml"),
        &format!("creation_rules:\n  - path_regex: \\.env$\n    age: {recipient}\n"),
        0o644,
    )?;
    std::fs::create_dir_all(source.parent().expect("secrets/")).map_err(io(&source))?;
    vault::store::write(&source, &doc.to_bytes(), 0o644).map_err(io(&source))?;

    // The sinks, holding the current keys (a machine in sync).
    write(
        Path::new("home/.config/lab-secrets/litellm.env"),
        &format!(
            "# read by litellm.service (EnvironmentFile=)\n{MASTER_KEY}={m}\n{SALT_KEY}={s}\n"
        ),
        0o600,
    )?;
    write(
        Path::new("home/.factory/settings.json"),
        &droid_settings(m, &url),
        0o600,
    )?;
    write(
        Path::new("home/.config/systemd/user/litellm.service.d/litekeys.conf"),
        &format!("[Service]\nEnvironment=\"{MASTER_KEY}={m}\"\nEnvironment=\"{SALT_KEY}={s}\"\n"),
        0o600,
    )?;

    let config = repo.join("litekeys.toml");
    write(
        Path::new("repo/litekeys.toml"),
        &format!(
            "# litekeys demo: the seeds' layout under a throwaway HOME\n\
             source = \"secrets/global.enc.env\"\n\n\
             [gateway]\nurl = \"{url}\"\ntimeout = 120\n\n\
             [service]\n{service}\n\
             [[sink]]\nkind = \"dotenv\"\npath = \"~/.config/lab-secrets/litellm.env\"\nkeys = [\"{MASTER_KEY}\", \"{SALT_KEY}\"]\n\n\
             [[sink]]\nkind = \"droid\"\npath = \"~/.factory\"\nkey = \"{MASTER_KEY}\"\n\n\
             [[sink]]\nkind = \"systemd-env\"\npath = \"~/.config/systemd/user/litellm.service.d/litekeys.conf\"\nkeys = [\"{MASTER_KEY}\", \"{SALT_KEY}\"]\n"
        ),
        0o644,
    )?;
    Ok(Sandbox {
        gateway,
        dir,
        identity_file,
        config,
    })
}

fn secret_str(s: &Secret) -> Result<&str, DemoError> {
    s.as_str().ok_or(DemoError::KeyNotText)
}

/// The seeds' Droid settings (the file the sink's unit tests and the
/// end-to-end lab use too), in sync: every gateway route holds `master`;
/// VibeProxy and Z.AI must be left alone.
fn droid_settings(master: &str, gateway: &str) -> String {
    include_str!("../sinks/testdata/droid-settings.json")
        .replace("OLD_MASTER", master)
        .replace("STALE", master)
        .replace("http://127.0.0.1:4000", gateway)
}

/// Runs this binary inside the sandbox and copies its output to `out`.
fn step(
    sandbox: &Sandbox,
    out: &mut dyn Write,
    title: &str,
    args: &[&str],
) -> Result<i32, DemoError> {
    let exe = std::env::current_exe().map_err(io(Path::new("litekeys-rotate")))?;
    let _ = writeln!(
        out,
        "\n$ litekeys-rotate {}        # {title}",
        args.join(" ")
    );
    let home = sandbox.home();
    let output = Command::new(exe)
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
        .output()
        .map_err(io(Path::new("litekeys-rotate")))?;
    let _ = out.write_all(&output.stdout);
    let _ = out.write_all(&output.stderr);
    Ok(output.status.code().unwrap_or(1))
}

/// The whole demonstration. Returns the exit code of the rotation.
pub(crate) fn run(keep: bool, out: &mut dyn Write) -> Result<vault::Exit, DemoError> {
    let litellm = demo_gateway::find();
    let sandbox = build(litellm.as_deref())?;
    let _ = writeln!(
        out,
        "litekeys demo: a throwaway HOME and repository in {}\n\
         - secrets/global.enc.env: LITELLM_MASTER_KEY and LITELLM_SALT_KEY, encrypted to a fresh age identity\n\
         - ~/.factory/settings.json: three Droid routes (VibeProxy :8317, Z.AI, LiteLLM)\n\
         - ~/.config/lab-secrets/litellm.env and a litellm.service drop-in",
        sandbox.root().display()
    );
    match &sandbox.gateway {
        Some(gateway) => {
            let _ = writeln!(
                out,
                "- litellm is on PATH: starting it on {} (mock model, no upstream) …",
                gateway.url()
            );
            let took = gateway.start()?;
            let _ = writeln!(
                out,
                "  up in {:.1} s; the rotation restarts it (manager \"command\") and verifies the keys",
                took.as_secs_f64()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "- litellm is not on PATH: service manager \"none\", nothing is restarted or verified"
            );
        }
    }
    let before = step(
        &sandbox,
        out,
        "every sink holds the source's keys",
        &["status"],
    )?;
    if before != 0 {
        return Err(DemoError::StatusBefore(before));
    }
    let rotated = step(
        &sandbox,
        out,
        "new master key everywhere, one transaction",
        &["--yes"],
    )?;
    let after = step(
        &sandbox,
        out,
        "new fingerprints, still in sync",
        &["status"],
    )?;
    let settings = std::fs::read_to_string(sandbox.home().join(".factory/settings.json"))
        .map_err(io(&sandbox.home()))?;
    let untouched = settings.contains("\"vibeproxy\"") && settings.contains("zai-not-a-real-key");
    let _ = writeln!(
        out,
        "\nVibeProxy and Z.AI routes untouched: {}",
        if untouched { "yes" } else { "NO" }
    );
    let code = if rotated == 0 && after == 0 && untouched {
        vault::Exit::Ok
    } else {
        vault::Exit::Error
    };
    if keep {
        let stopped = if sandbox.gateway.is_some() {
            "; its LiteLLM is stopped"
        } else {
            ""
        };
        let path = sandbox.keep_dir();
        let _ = writeln!(
            out,
            "kept the sandbox: {} (SOPS_AGE_KEY_FILE={}/home/.config/sops/age/keys.txt){stopped}",
            path.display(),
            path.display()
        );
    } else {
        let _ = writeln!(out, "removed the sandbox (--keep keeps it)");
    }
    Ok(code)
}
