//! The rotation journal: `$XDG_STATE_HOME/litekeys/tx/<source-id>/`.
//! `backup.age` holds the old content of every file the transaction
//! replaces, age-encrypted to the source's own recipients, so no plaintext
//! copy of a secret is ever made. `journal` holds one JSON record per line:
//! `begin` (the plan, written once the backups are on disk), a `wrote` per
//! file, `activation-failed`, `commit`. The records recovery depends on
//! (`begin`, `commit`) are fsynced before the next step; the others only say
//! how far it got. A torn last line (a crash while appending) is ignored.

use crate::error::{Error, Result};
use age::x25519;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::Zeroizing;

pub const VERSION: u32 = 1;
const JOURNAL: &str = "journal";
const BACKUP: &str = "backup.age";

/// SHA-256 of a file's content, hex; `""` for a file that does not exist.
pub fn digest(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => String::new(),
        Some(b) => Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect(),
    }
}

/// A file the transaction will replace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlannedFile {
    pub role: String,
    /// The path as configured, for messages.
    pub shown: PathBuf,
    /// The file really written.
    pub target: PathBuf,
    pub existed: bool,
    pub mode: u32,
    /// `digest` of the content before and after.
    pub old: String,
    pub new: String,
}

/// One key's change, by fingerprint (never a value).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyChange {
    pub name: String,
    pub old: Option<String>,
    pub new: String,
}

/// What the audit line of this transaction says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub action: String,
    pub keys: Vec<KeyChange>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Record {
    Begin {
        version: u32,
        tx: String,
        source: PathBuf,
        files: Vec<PlannedFile>,
        summary: Summary,
    },
    Wrote {
        file: usize,
    },
    Activated {
        verified: bool,
        detail: String,
    },
    ActivationFailed {
        reason: String,
    },
    Commit {
        verified: bool,
    },
}

/// The journal directory of a source.
pub fn dir_for(state_dir: &Path, source: &Path) -> PathBuf {
    let resolved = vault::atomic::resolve(source).unwrap_or_else(|_| source.to_path_buf());
    let id = digest(Some(resolved.as_os_str().as_encoded_bytes()));
    state_dir.join("tx").join(&id[..16])
}

/// An open journal the running transaction appends to.
pub struct Journal {
    pub dir: PathBuf,
    file: File,
}

fn create_dir_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

impl Journal {
    /// Saves the old content of every planned file, encrypted to
    /// `recipients` (the source's age recipients), then records `begin`.
    /// Files may change once this returns. Fails if a journal exists
    /// (recovery runs before any new transaction).
    pub fn begin(
        dir: &Path,
        begin: &Record,
        recipients: &[String],
        contents: &[Option<&[u8]>],
    ) -> Result<Journal> {
        if !dir.is_dir() {
            create_dir_private(dir).map_err(|e| Error::io(dir, e))?;
            let parent = dir.parent().unwrap_or(Path::new("/"));
            vault::atomic::sync_dir(parent).map_err(|e| Error::io(parent, e))?;
        }
        let path = dir.join(JOURNAL);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut journal = Journal {
            dir: dir.to_path_buf(),
            file,
        };
        // The backup's atomic write syncs the directory, which makes the
        // journal's own entry durable too.
        let written = journal.write_backups(recipients, contents).and_then(|()| {
            crate::fault::point("backups-written");
            journal.record(begin)
        });
        match written {
            Ok(()) => Ok(journal),
            Err(e) => {
                let _ = remove(dir);
                Err(e)
            }
        }
    }

    /// Appends a record and waits until it is on disk.
    pub fn record(&mut self, record: &Record) -> Result<()> {
        self.note(record)?;
        let path = self.dir.join(JOURNAL);
        self.file.sync_data().map_err(|e| Error::io(&path, e))
    }

    /// Appends a record recovery does not depend on (no fsync: the next
    /// `record` carries it to disk).
    pub fn note(&mut self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(record).expect("records serialise");
        line.push(b'\n');
        let path = self.dir.join(JOURNAL);
        self.file.write_all(&line).map_err(|e| Error::io(&path, e))
    }

    fn write_backups(&self, recipients: &[String], contents: &[Option<&[u8]>]) -> Result<()> {
        let path = self.dir.join(BACKUP);
        let parsed: Vec<x25519::Recipient> = recipients
            .iter()
            .map(|r| x25519::Recipient::from_str(r))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                Error::sink(
                    &path,
                    format!("a recipient of the source is not an age X25519 key: {e}"),
                )
            })?;
        let encryptor =
            age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| Error::sink(&path, format!("cannot encrypt the backup: {e}")))?;
        let mut sealed = Vec::new();
        let mut w = encryptor
            .wrap_output(&mut sealed)
            .map_err(|e| Error::io(&path, e))?;
        for content in contents {
            let bytes = content.unwrap_or_default();
            w.write_all(&[u8::from(content.is_some())])
                .and_then(|()| w.write_all(&(bytes.len() as u64).to_le_bytes()))
                .and_then(|()| w.write_all(bytes))
                .map_err(|e| Error::io(&path, e))?;
        }
        w.finish().map_err(|e| Error::io(&path, e))?;
        vault::atomic::write(&path, &sealed, 0o600).map_err(|e| Error::io(&path, e))?;
        Ok(())
    }

    /// Removes the journal and its backups: the transaction is settled.
    pub fn finish(self) -> Result<()> {
        remove(&self.dir)
    }
}

/// Removes the journal and the backups. Not synced: should a power loss
/// bring back a settled journal, recovery finds its commit (or restores
/// files that already hold their old content) and settles it again.
pub fn remove(dir: &Path) -> Result<()> {
    crate::recover::clean_temps(&dir.join(BACKUP));
    for name in [JOURNAL, BACKUP] {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Ok(())
}

/// Whether a journal waits in `dir`.
pub fn exists(dir: &Path) -> bool {
    dir.join(JOURNAL).exists()
}

/// A journal left behind by an earlier process.
pub struct Loaded {
    pub dir: PathBuf,
    pub records: Vec<Record>,
}

impl Loaded {
    pub fn begin(&self) -> Option<(&str, &[PlannedFile], &Summary)> {
        match self.records.first()? {
            Record::Begin {
                tx, files, summary, ..
            } => Some((tx, files, summary)),
            _ => None,
        }
    }

    /// The backups are complete once `begin` is recorded.
    pub fn has_backups(&self) -> bool {
        self.begin().is_some()
    }

    /// Which files the `wrote` records say were written.
    pub fn written(&self, n: usize) -> Vec<bool> {
        let mut out = vec![false; n];
        for r in &self.records {
            if let Record::Wrote { file } = r {
                if let Some(w) = out.get_mut(*file) {
                    *w = true;
                }
            }
        }
        out
    }

    /// `Some(verified)` once the commit is recorded.
    pub fn committed(&self) -> Option<bool> {
        self.records.iter().find_map(|r| match r {
            Record::Commit { verified } => Some(*verified),
            _ => None,
        })
    }
}

/// The journal in `dir`, if there is one.
pub fn load(dir: &Path) -> Result<Option<Loaded>> {
    let path = dir.join(JOURNAL);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A crash before the journal was created may leave a backup.
            remove(dir)?;
            return Ok(None);
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let records = text
        .lines()
        .map_while(|l| serde_json::from_str::<Record>(l).ok())
        .collect();
    Ok(Some(Loaded {
        dir: dir.to_path_buf(),
        records,
    }))
}

/// The old contents saved in `dir`, in plan order (`None`: the file did not
/// exist). `Err` is a one-line reason.
pub fn read_backups(
    dir: &Path,
    identities: &[x25519::Identity],
) -> std::result::Result<Vec<Option<Zeroizing<Vec<u8>>>>, String> {
    let path = dir.join(BACKUP);
    let sealed = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let decryptor =
        age::Decryptor::new(&sealed[..]).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| {
            format!(
                "{}: cannot decrypt ({e}); an identity of the source's recipients is needed",
                path.display()
            )
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plain)
        .map_err(|e| format!("{}: corrupt ({e})", path.display()))?;
    let mut out = Vec::new();
    let mut rest: &[u8] = &plain;
    while !rest.is_empty() {
        let corrupt = || format!("{}: corrupt (truncated record)", path.display());
        let (&flag, after) = rest.split_first().ok_or_else(corrupt)?;
        let len_bytes: [u8; 8] = after
            .get(..8)
            .ok_or_else(corrupt)?
            .try_into()
            .expect("8 bytes");
        let len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| corrupt())?;
        let body = after.get(8..8 + len).ok_or_else(corrupt)?;
        out.push((flag == 1).then(|| Zeroizing::new(body.to_vec())));
        rest = &after[8 + len..];
    }
    Ok(out)
}

/// A new transaction id (random, for matching journal and audit lines).
pub fn new_tx() -> String {
    use rand::RngCore;
    let mut b = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_round_trip_and_records_survive_a_torn_line() {
        let state = tempfile::tempdir().unwrap();
        let dir = dir_for(state.path(), Path::new("/repo/secrets/global.enc.env"));
        let id = x25519::Identity::generate();
        let begin = Record::Begin {
            version: VERSION,
            tx: "t1".into(),
            source: "/repo/secrets/global.enc.env".into(),
            files: Vec::new(),
            summary: Summary {
                action: "rotate".into(),
                keys: Vec::new(),
            },
        };
        let mut j = Journal::begin(
            &dir,
            &begin,
            &[id.to_public().to_string()],
            &[Some(b"KEY=sk-old\n"), None, Some(b"")],
        )
        .unwrap();
        j.note(&Record::Wrote { file: 0 }).unwrap();
        let sealed = std::fs::read(dir.join(BACKUP)).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"sk-old"));
        // A crash mid-append leaves half a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(JOURNAL))
            .unwrap()
            .write_all(b"{\"step\":\"comm")
            .unwrap();
        let loaded = load(&dir).unwrap().unwrap();
        assert_eq!(loaded.records.len(), 2);
        assert!(loaded.has_backups());
        assert_eq!(loaded.committed(), None);
        let backups = read_backups(&dir, std::slice::from_ref(&id)).unwrap();
        assert_eq!(backups.len(), 3);
        assert_eq!(
            backups[0].as_deref().map(|b| b.as_slice()),
            Some(&b"KEY=sk-old\n"[..])
        );
        assert!(backups[1].is_none());
        assert_eq!(backups[2].as_deref().map(|b| b.as_slice()), Some(&b""[..]));
        let other = x25519::Identity::generate();
        assert!(read_backups(&dir, &[other]).is_err());
        j.finish().unwrap();
        assert!(!exists(&dir));
        assert!(load(&dir).unwrap().is_none());
    }
}
