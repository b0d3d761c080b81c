//! `litekeys-watch install`: the systemd unit that runs the watcher
//! (Type=notify, restarted on failure, sandboxed to the files it writes).

use rotate::config::{Config, SinkKind};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const UNIT: &str = "litekeys-watch.service";

/// Variables passed on to the unit when set at install time: where the
/// identities, sops and the state are. Never `SOPS_AGE_KEY`: it is a secret.
const PASSED_ENV: &[&str] = &[
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "LITEKEYS_SOPS",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
];

pub fn unit_dir(system: bool) -> PathBuf {
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

pub fn enable_line(system: bool) -> String {
    let scope = if system { "" } else { " --user" };
    format!("systemctl{scope} enable --now {UNIT}")
}

/// The directories the watcher (and the `litekeys-rotate sync` it runs)
/// writes: the source's (its lock), every sink's, the state directory.
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
    dirs
}

pub fn unit_text(exe: &Path, config: &Config, system: bool) -> String {
    let mut exec = vec![exec_word(&exe.to_string_lossy())];
    if let Some(file) = &config.file {
        exec.push("--config".into());
        exec.push(exec_word(&file.to_string_lossy()));
    }
    let rw: Vec<String> = writable_dirs(config)
        .iter()
        .map(|d| path_word(&format!("-{}", d.display())))
        .collect();
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
        let _ = writeln!(
            u,
            "Environment={}",
            env_assignment(&format!("LITEKEYS_FILE={}", config.source.display()))
        );
    }
    for name in PASSED_ENV {
        if let Some(v) = std::env::var_os(name).filter(|v| !v.is_empty()) {
            let _ = writeln!(
                u,
                "Environment={}",
                env_assignment(&format!("{name}={}", v.to_string_lossy()))
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
    u
}

/// Writes the unit (or prints it with `print`); returns the line to enable it.
pub fn install(config: &Config, system: bool, print: bool) -> Result<String, String> {
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("cannot find this program's path: {e}"))?;
    let text = unit_text(&exe, config, system);
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
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create {}: {e}{hint}", dir.display()))?;
    // `litekeys-rotate` writes its journal and audit log there; under
    // ProtectSystem=strict it cannot create the directory itself.
    let state = &config.state_dir;
    create_private_dir(state).map_err(|e| format!("cannot create {}: {e}", state.display()))?;
    vault::store::write(&path, text.as_bytes(), 0o644)
        .map_err(|e| format!("cannot write {}: {e}{hint}", path.display()))?;
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

/// An ExecStart word: specifiers (`%`) and variables (`$`) escaped.
fn exec_word(word: &str) -> String {
    quote_if_needed(&word.replace('%', "%%").replace('$', "$$"))
}

/// A word of a path list (ReadWritePaths=): specifiers escaped.
fn path_word(word: &str) -> String {
    quote_if_needed(&word.replace('%', "%%"))
}

/// `Environment="K=V"`: `$` is not special there, `%` is.
fn env_assignment(assignment: &str) -> String {
    quoted(&assignment.replace('%', "%%"))
}

fn quote_if_needed(word: &str) -> String {
    if word
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'))
    {
        quoted(word)
    } else {
        word.to_string()
    }
}

fn quoted(word: &str) -> String {
    format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_escaped_for_systemd() {
        assert_eq!(
            exec_word("/usr/bin/litekeys-watch"),
            "/usr/bin/litekeys-watch"
        );
        assert_eq!(exec_word("/a b/100%$x"), "\"/a b/100%%$$x\"");
        assert_eq!(path_word("-/a/$x"), "-/a/$x");
        assert_eq!(env_assignment("K=a\"b\\c$%"), "\"K=a\\\"b\\\\c$%%\"");
    }
}
