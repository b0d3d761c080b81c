//! The demo's sandbox: a throwaway HOME and repository shaped like a
//! user's machine (an encrypted source; Droid routes through VibeProxy,
//! Z.AI and LiteLLM; a litellm.env; a systemd drop-in; LiteLLM's
//! config.yaml with the master key typed in; Claude Code's settings with
//! it in `env`), each file a sink of the demo's litekeys.toml.

use super::super::demo_gateway::{self, Gateway};
use super::{DemoError, io};
use rotate::config::{MASTER_KEY, Pointer, SALT_KEY, SinkKind, SinkSpec};
use std::path::{Path, PathBuf};
use vault::Secret;
use vault::{EncryptOptions, encrypt};

/// The sandbox: a scratch HOME and a repository inside one temp dir.
pub(crate) struct Sandbox {
    /// Declared first: the gateway is stopped before its directory is removed.
    pub(super) gateway: Gateway,
    dir: tempfile::TempDir,
    pub(super) identity_file: PathBuf,
    pub(super) config: PathBuf,
}

impl Sandbox {
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(super) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Stops the gateway and keeps the sandbox on disk; returns its path.
    pub(crate) fn keep_dir(self) -> PathBuf {
        let Sandbox { gateway, dir, .. } = self;
        drop(gateway);
        dir.keep()
    }

    /// The files a rotation changes, to compare after a rollback.
    pub(super) fn files(&self) -> Result<Vec<(PathBuf, Vec<u8>)>, DemoError> {
        let home = self.home();
        [
            self.root().join("repo/secrets/global.enc.env"),
            home.join(".config/lab-secrets/litellm.env"),
            home.join(".factory/settings.json"),
            home.join(".config/systemd/user/litellm.service.d/litekeys.conf"),
            home.join(LITELLM_CONFIG),
            home.join(CLAUDE_SETTINGS),
        ]
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            Ok((path, bytes))
        })
        .collect()
    }

    /// The master key each of litellm.env, LiteLLM's config.yaml (its
    /// literal `master_key`) and Claude Code's settings (its
    /// `env.ANTHROPIC_AUTH_TOKEN`) holds, read as their sinks read them.
    pub(super) fn master_keys(&self) -> [Option<Secret>; 3] {
        let home = self.home();
        let pointer = Pointer::parse(CLAUDE_POINTER).ok();
        let sinks = [
            (SinkKind::Dotenv, ".config/lab-secrets/litellm.env", None),
            (SinkKind::LitellmConfig, LITELLM_CONFIG, None),
            (SinkKind::Json, CLAUDE_SETTINGS, pointer),
        ];
        sinks.map(|(kind, rel, pointer)| {
            let spec = SinkSpec {
                kind,
                path: home.join(rel),
                keys: vec![MASTER_KEY.into()],
                pointer,
                origin: "demo".into(),
            };
            let bytes = std::fs::read(&spec.path).ok()?;
            rotate::read_sink_values(&spec, &bytes)
                .into_iter()
                .rev()
                .find(|(name, _)| name == MASTER_KEY)
                .map(|(_, key)| key)
        })
    }
}

/// LiteLLM's config.yaml where the guides put it, with a literal master
/// key (a `litellm-config` sink): LiteLLM reads it at start and it
/// overrides the environment.
const LITELLM_CONFIG: &str = ".config/litellm/config.yaml";
/// Claude Code's settings, its token in `env` (a `json` sink).
const CLAUDE_SETTINGS: &str = ".claude/settings.json";
const CLAUDE_POINTER: &str = "/env/ANTHROPIC_AUTH_TOKEN";

/// Builds the sandbox with a fresh identity and fresh keys, and a gateway to
/// start on a free loopback port (not started yet): LiteLLM with `litellm`,
/// else the stand-in.
pub(crate) fn build(litellm: Option<&Path>) -> Result<Sandbox, DemoError> {
    let dir = tempfile::Builder::new()
        .prefix("litekeys-demo.")
        .tempdir()
        .map_err(io(Path::new("/tmp")))?;
    let root = dir.path().to_path_buf();
    let home = root.join("home");
    let repo = root.join("repo");
    let env_file = home.join(".config/lab-secrets/litellm.env");
    let litellm_config = home.join(LITELLM_CONFIG);
    let gateway = match litellm {
        Some(bin) => Gateway::prepare(&root.join("litellm"), bin, &env_file, &litellm_config),
        None => Gateway::prepare_stand_in(&root.join("stand-in"), &env_file),
    }
    .map_err(io(&root))?;
    // Never the default 127.0.0.1:4000: the user's own gateway may be there.
    let url = gateway.url();
    let service = format!(
        "manager = \"command\"\ncommand = [{}]\ntimeout = 30\n",
        gateway
            .restart_argv()
            .map_err(io(&root))?
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
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
        "# LiteLLM gateway keys (litekeys demo)\n{MASTER_KEY}={m}\n{SALT_KEY}={s}\nLITELLM_URL_unencrypted={url}\n"
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
    write(
        &Path::new("home").join(LITELLM_CONFIG),
        &demo_gateway::litellm_config(m),
        0o600,
    )?;
    write(
        &Path::new("home").join(CLAUDE_SETTINGS),
        &claude_settings(m, &url),
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
             [[sink]]\nkind = \"systemd-env\"\npath = \"~/.config/systemd/user/litellm.service.d/litekeys.conf\"\nkeys = [\"{MASTER_KEY}\", \"{SALT_KEY}\"]\n\n\
             [[sink]]\nkind = \"litellm-config\"\npath = \"~/{LITELLM_CONFIG}\"\nkeys = [\"{MASTER_KEY}\"]\n\n\
             [[sink]]\nkind = \"json\"\npath = \"~/{CLAUDE_SETTINGS}\"\npointer = \"{CLAUDE_POINTER}\"\nkeys = [\"{MASTER_KEY}\"]\n"
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

/// Claude Code's settings, sent through the gateway: its token is the
/// gateway's master key, beside settings litekeys must leave alone.
fn claude_settings(master: &str, gateway: &str) -> String {
    format!(
        "{{\n  \"$schema\": \"https://json.schemastore.org/claude-code-settings.json\",\n  \"env\": {{\n    \"ANTHROPIC_BASE_URL\": \"{gateway}\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"{master}\",\n    \"ANTHROPIC_MODEL\": \"gpt-5.5\"\n  }},\n  \"permissions\": {{ \"allow\": [\"Bash(git status)\"] }}\n}}\n"
    )
}
