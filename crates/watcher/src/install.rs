//! `litekeys-watch install`: the systemd unit that runs the watcher
//! (Type=notify, restarted on failure, sandboxed to the files it writes).

use rotate::config::{Config, SinkKind};
use rotate::systemd::{quote_environment, quote_word};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const UNIT: &str = "litekeys-watch.service";

/// Why `install` wrote no unit. `hint` says what to do (`; run it as
/// root (sudo)` for a system unit).
#[derive(Debug, thiserror::Error)]
pub(crate) enum InstallError {
    #[error("cannot find this program's path: {0}")]
    OwnPath(#[source] std::io::Error),
    #[error("{}: a unit file cannot hold a NUL byte", .0.display())]
    Nul(PathBuf),
    #[error("{0}")]
    Quote(#[from] rotate::systemd::QuoteError),
    #[error("cannot create {}: {source}{hint}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("cannot write {}: {source}{hint}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
        hint: &'static str,
    },
}

/// Variables passed on to the unit when set at install time: where the
/// identities, sops and the state are. Never `SOPS_AGE_KEY`: it is a secret.
const PASSED_ENV: &[&str] = &[
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "LITEKEYS_SOPS",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
];

fn unit_dir(system: bool) -> PathBuf {
    if system {
        return PathBuf::from("/etc/systemd/system");
    }
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into())).join(".config")
        })
        .join("systemd/user")
}

fn enable_line(system: bool) -> String {
    let scope = if system { "" } else { " --user" };
    format!("systemctl{scope} enable --now {UNIT}")
}

/// The directories the watcher (and the sync it runs) writes: the
/// source's (its lock), every sink's, the state directory.
fn writable_dirs(config: &Config) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    let parents = |p: &Path| {
        [
            p.to_path_buf(),
            vault::store::resolve(p).unwrap_or_default(),
        ]
        .into_iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| !d.as_os_str().is_empty())
        .collect::<Vec<_>>()
    };
    dirs.extend(parents(&config.source));
    for sink in &config.sinks {
        match sink.kind {
            // A directory of settings files, replaced through temp files.
            SinkKind::Droid => {
                dirs.insert(sink.path.clone());
            }
            _ => dirs.extend(parents(&sink.path)),
        }
    }
    dirs.insert(config.state_dir.clone());
    // `[git] pull_every`: the pull writes the repository's .git (objects,
    // refs, index) and its working tree.
    if config.git.pull_every.is_some() {
        if let Some(repo) = rotate::git::Repo::of(&config.source) {
            dirs.insert(repo.root().to_path_buf());
        }
    }
    dirs
}

fn unit_text(exe: &Path, config: &Config, system: bool) -> Result<String, InstallError> {
    let mut exec = vec![exec_word(exe)?];
    if let Some(file) = &config.file {
        exec.push("--config".into());
        exec.push(exec_word(file)?);
    }
    let rw = writable_dirs(config)
        .iter()
        .map(|d| {
            quote_word(&format!("-{}", d.display())).ok_or_else(|| InstallError::Nul(d.clone()))
        })
        .collect::<Result<Vec<String>, _>>()?;
    let mut u = String::new();
    let _ = writeln!(
        u,
        "# Written by `litekeys-watch install`; run it again after changing litekeys.toml."
    );
    let _ = writeln!(u, "[Unit]");
    let _ = writeln!(
        u,
        "Description=litekeys-watch: restart the LiteLLM gateway when its secrets change"
    );
    let _ = writeln!(u, "Documentation=https://github.com/litekeys/litekeys");
    let _ = writeln!(u);
    let _ = writeln!(u, "[Service]");
    let _ = writeln!(u, "Type=notify");
    let _ = writeln!(u, "ExecStart={}", exec.join(" "));
    let _ = writeln!(u, "Restart=on-failure");
    let _ = writeln!(u, "RestartSec=5s");
    if config.file.is_none() {
        // No litekeys.toml: the defaults find the source from the working
        // directory, which a service does not share; name it instead.
        let source = config.source.display().to_string();
        let _ = writeln!(
            u,
            "Environment={}",
            *quote_environment(vault::locate::ENV_FILE, &source)?
        );
    }
    for name in PASSED_ENV {
        if let Some(v) = std::env::var_os(name).filter(|v| !v.is_empty()) {
            let _ = writeln!(
                u,
                "Environment={}",
                *quote_environment(name, &v.to_string_lossy())?
            );
        }
    }
    let _ = writeln!(
        u,
        "# Sandbox: read-only system and home, except the files it writes."
    );
    let _ = writeln!(u, "NoNewPrivileges=yes");
    let _ = writeln!(u, "PrivateTmp=yes");
    let _ = writeln!(u, "ProtectSystem=strict");
    let _ = writeln!(u, "ReadWritePaths={}", rw.join(" "));
    let _ = writeln!(u, "ProtectKernelTunables=yes");
    let _ = writeln!(u, "ProtectControlGroups=yes");
    let _ = writeln!(u, "RestrictSUIDSGID=yes");
    let _ = writeln!(u, "LockPersonality=yes");
    let _ = writeln!(u);
    let _ = writeln!(u, "[Install]");
    let _ = writeln!(
        u,
        "WantedBy={}",
        if system {
            "multi-user.target"
        } else {
            "default.target"
        }
    );
    Ok(u)
}

/// Writes the unit (or prints it with `print`); returns the line to enable it.
pub(crate) fn install(config: &Config, system: bool, print: bool) -> Result<String, InstallError> {
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(InstallError::OwnPath)?;
    let text = unit_text(&exe, config, system)?;
    if print {
        return Ok(text);
    }
    let dir = unit_dir(system);
    let path = dir.join(UNIT);
    let hint = if system {
        "; run it as root (sudo)"
    } else {
        ""
    };
    std::fs::create_dir_all(&dir).map_err(|source| InstallError::CreateDir {
        path: dir.clone(),
        source,
        hint,
    })?;
    // The sync writes its journal and audit log there; under
    // ProtectSystem=strict it cannot create the directory itself.
    let state = &config.state_dir;
    create_private_dir(state).map_err(|source| InstallError::CreateDir {
        path: state.clone(),
        source,
        hint: "",
    })?;
    // Atomic (temp file, fsync, rename): a unit is never seen half-written.
    vault::store::write(&path, text.as_bytes(), 0o644).map_err(|source| InstallError::Write {
        path: path.clone(),
        source,
        hint,
    })?;
    eprintln!("litekeys-watch: wrote {}", path.display());
    Ok(format!("{}\n", enable_line(system)))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// An `ExecStart=` word: `$` (variables) escaped as `$$`, then systemd's
/// word quoting.
fn exec_word(path: &Path) -> Result<String, InstallError> {
    quote_word(&path.to_string_lossy().replace('$', "$$"))
        .ok_or_else(|| InstallError::Nul(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_escaped_for_systemd() {
        let word = |p: &str| exec_word(Path::new(p)).unwrap();
        assert_eq!(word("/usr/bin/litekeys-watch"), "/usr/bin/litekeys-watch");
        assert_eq!(word("/a b/100%$x"), "\"/a b/100%%$$x\"");
        assert_eq!(word("/a/b\nc"), "\"/a/b\\nc\"", "newlines escaped");
        assert_eq!(quote_word("-/a/$x").unwrap(), "-/a/$x");
        assert_eq!(
            quote_environment("K", "a\"b\\c$%").unwrap().as_str(),
            "\"K=a\\\"b\\\\c$%%\""
        );
    }
}
