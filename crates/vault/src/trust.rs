//! Trust, the way direnv's `allow` and mise's `trust` work: a file found by
//! walking up from the current directory (a `litekeys.toml`, a source) may
//! come from a repository someone else wrote, so it is used only after the
//! user recorded it. One record per file under
//! `$XDG_STATE_HOME/litekeys/trust/`, named by the SHA-256 of its canonical
//! path, holding the path and (for configs) the SHA-256 of the content: a
//! changed config needs trusting again. A source is pinned by path only: its
//! content changes with every rotation and every `git pull`, and its values
//! are authenticated by its MAC.

use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What a record pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pin {
    /// The path and the bytes (a config: a changed file is untrusted again).
    Content,
    /// The path only (a source: its bytes change with every rotation).
    Path,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustState {
    Trusted,
    /// Never trusted (or untrusted since).
    Untrusted,
    /// Trusted once, changed since: trust it again after reading it.
    Changed,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a regular file", .0.display())]
    NotAFile(PathBuf),
    #[error("{}: unreadable trust record; remove it and trust the file again", .0.display())]
    BadRecord(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrustError + '_ {
    move |source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The trust records of one user.
#[derive(Clone, Debug)]
pub struct TrustStore {
    dir: PathBuf,
}

struct Record {
    path: PathBuf,
    sha256: Option<String>,
}

impl TrustStore {
    /// `state_dir` is litekeys' state directory (`$XDG_STATE_HOME/litekeys`).
    pub fn new(state_dir: &Path) -> Self {
        TrustStore {
            dir: state_dir.join("trust"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `file` may be used.
    pub fn state(&self, file: &Path) -> Result<TrustState, TrustError> {
        let canonical = canonical_file(file)?;
        let record_path = self.record_path(&canonical);
        let text = match std::fs::read_to_string(&record_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TrustState::Untrusted);
            }
            Err(e) => return Err(io(&record_path)(e)),
        };
        let record = parse(&text).ok_or_else(|| TrustError::BadRecord(record_path.clone()))?;
        if record.path != canonical {
            return Ok(TrustState::Untrusted);
        }
        match record.sha256 {
            None => Ok(TrustState::Trusted),
            Some(hash) if hash == content_hash(&canonical)? => Ok(TrustState::Trusted),
            Some(_) => Ok(TrustState::Changed),
        }
    }

    /// Records `file` as trusted; returns its canonical path.
    pub fn trust(&self, file: &Path, pin: Pin) -> Result<PathBuf, TrustError> {
        let canonical = canonical_file(file)?;
        let hash = match pin {
            Pin::Content => content_hash(&canonical)?,
            Pin::Path => "-".to_owned(),
        };
        let mut text = String::new();
        text.push_str("path\t");
        text.push_str(&canonical.to_string_lossy());
        text.push_str("\nsha256\t");
        text.push_str(&hash);
        text.push('\n');
        crate::store::create_private_dir(&self.dir).map_err(io(&self.dir))?;
        let record_path = self.record_path(&canonical);
        let mut tmp = tempfile::Builder::new()
            .prefix(".trust.")
            .tempfile_in(&self.dir)
            .map_err(io(&self.dir))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io(tmp.path()))?;
        tmp.persist(&record_path)
            .map_err(|e| io(&record_path)(e.error))?;
        Ok(canonical)
    }

    /// Removes `file`'s record; `false` when there was none.
    pub fn untrust(&self, file: &Path) -> Result<bool, TrustError> {
        let canonical = std::fs::canonicalize(file).map_err(io(file))?;
        let record_path = self.record_path(&canonical);
        match std::fs::remove_file(&record_path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&record_path)(e)),
        }
    }

    fn record_path(&self, canonical: &Path) -> PathBuf {
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(name)
    }
}

fn canonical_file(file: &Path) -> Result<PathBuf, TrustError> {
    let canonical = std::fs::canonicalize(file).map_err(io(file))?;
    let meta = std::fs::metadata(&canonical).map_err(io(&canonical))?;
    if !meta.is_file() {
        return Err(TrustError::NotAFile(file.to_path_buf()));
    }
    Ok(canonical)
}

fn content_hash(file: &Path) -> Result<String, TrustError> {
    let bytes = std::fs::read(file).map_err(io(file))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn parse(text: &str) -> Option<Record> {
    let mut path = None;
    let mut sha256 = None;
    for line in text.lines() {
        match line.split_once('\t')? {
            ("path", p) => path = Some(PathBuf::from(p)),
            ("sha256", "-") => sha256 = Some(None),
            ("sha256", h) => sha256 = Some(Some(h.to_owned())),
            _ => return None,
        }
    }
    Some(Record {
        path: path?,
        sha256: sha256?,
    })
}

/// litekeys' state directory: `$XDG_STATE_HOME/litekeys`, else
/// `~/.local/state/litekeys` (the one rule, for every binary).
pub fn state_dir(xdg_state_home: Option<&Path>, home: Option<&Path>) -> PathBuf {
    xdg_state_home
        .map(Path::to_path_buf)
        .or_else(|| home.map(|h| h.join(".local/state")))
        .unwrap_or_else(|| PathBuf::from(".local/state"))
        .join("litekeys")
}

/// The state directory of this process's user (`$XDG_STATE_HOME`, `$HOME`).
pub fn user_state_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    state_dir(var("XDG_STATE_HOME").as_deref(), var("HOME").as_deref())
}

/// `PROGRAM trust 'PATH'`, to paste into a shell.
pub fn trust_command(program: &str, path: &Path) -> String {
    let shown = path.to_string_lossy();
    let plain = shown
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(&b));
    if plain {
        format!("{program} trust {shown}")
    } else {
        format!("{program} trust '{}'", shown.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_is_trusted_until_it_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = TrustStore::new(&tmp.path().join("state"));
        let file = tmp.path().join("litekeys.toml");
        std::fs::write(&file, "source = \"a\"\n").unwrap();
        assert_eq!(store.state(&file).unwrap(), TrustState::Untrusted);
        store.trust(&file, Pin::Content).unwrap();
        assert_eq!(store.state(&file).unwrap(), TrustState::Trusted);
        std::fs::write(&file, "source = \"b\"\n").unwrap();
        assert_eq!(store.state(&file).unwrap(), TrustState::Changed);
        assert!(store.untrust(&file).unwrap());
        assert_eq!(store.state(&file).unwrap(), TrustState::Untrusted);
        assert!(!store.untrust(&file).unwrap());
    }

    #[test]
    fn a_source_is_pinned_by_path() {
        let tmp = tempfile::tempdir().unwrap();
        let store = TrustStore::new(&tmp.path().join("state"));
        let file = tmp.path().join("global.enc.env");
        std::fs::write(&file, "A=1\n").unwrap();
        store.trust(&file, Pin::Path).unwrap();
        std::fs::write(&file, "A=2\n").unwrap();
        assert_eq!(store.state(&file).unwrap(), TrustState::Trusted);
        let other = tmp.path().join("other.env");
        std::fs::write(&other, "A=2\n").unwrap();
        assert_eq!(store.state(&other).unwrap(), TrustState::Untrusted);
    }

    #[test]
    fn a_directory_is_not_a_file_to_trust() {
        let tmp = tempfile::tempdir().unwrap();
        let store = TrustStore::new(&tmp.path().join("state"));
        assert!(matches!(
            store.trust(tmp.path(), Pin::Content),
            Err(TrustError::NotAFile(_))
        ));
    }

    #[test]
    fn the_record_directory_is_private_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let store = TrustStore::new(&tmp.path().join("state"));
        let file = tmp.path().join("litekeys.toml");
        std::fs::write(&file, "").unwrap();
        store.trust(&file, Pin::Content).unwrap();
        let mode = std::fs::metadata(store.dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
