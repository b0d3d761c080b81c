//! The rotation journal: `$XDG_STATE_HOME/litekeys/tx/<source-id>.journal`,
//! one JSON record per line.
//!
//! `begin` holds the plan and the old content of every file the transaction
//! replaces, age-encrypted (armored) to the source's own recipients, so no
//! plaintext copy of a secret is ever made; it is fsynced before the first
//! file changes. Then come a `wrote` per file and `activation-failed`: they
//! only say how far it got. The commit is the audit line naming the
//! transaction (see `audit`): once that is on disk the new values stand.
//! Settling a transaction empties the file; the file is kept, so the next
//! `begin` costs one fsync. A torn last line (a crash while appending) is
//! ignored.

use crate::audit::Summary;
use crate::error::{BackupError, Error, Result};
use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::x25519;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::Zeroizing;

pub(crate) const VERSION: u32 = 1;

/// SHA-256 of a file's content, hex; `""` for a file that does not exist.
pub(crate) fn digest(bytes: Option<&[u8]>) -> String {
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
pub(crate) struct PlannedFile {
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

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Begin {
    pub version: u32,
    pub tx: String,
    pub source: PathBuf,
    pub files: Vec<PlannedFile>,
    pub summary: Summary,
    /// The old contents, in `files` order, as an armored age file.
    pub backup: String,
}

/// `/key/regenerate` about to be sent (a database without a salt key):
/// recorded and fsynced first, so that recovery re-encrypts the stored
/// credentials back with the old key before the old files return.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Regenerate {
    /// The gateway's URL.
    pub url: String,
    /// Fingerprints of the master keys, old and new.
    pub old: String,
    pub new: String,
    /// Both keys (old, new) sealed like the backup ([`seal_backup`]).
    pub keys: String,
    /// The stored models the gateway served with the old key before.
    pub stored: Vec<crate::gateway::StoredModel>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub(crate) enum Record {
    Begin(Begin),
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
    Regenerate(Regenerate),
    /// LiteLLM answered the `/key/regenerate` with 2xx.
    Regenerated,
    /// The stored credentials are on the old master key again (put back,
    /// or never changed): recovery leaves them alone.
    RegenerateSettled {
        detail: String,
    },
    /// A virtual key about to be generated (`--key NAME`): fsynced first,
    /// so that recovery deletes the new key (no commit) or the old one.
    VirtualKey(crate::virtual_key::pending::Pending),
    /// The commit (the audit line) is on disk since `at_ms`: the old
    /// virtual key's grace counts from then.
    Committed {
        at_ms: u64,
    },
}

/// The journal file of a source.
pub(crate) fn path_for(state_dir: &Path, source: &Path) -> PathBuf {
    let resolved = vault::store::resolve(source).unwrap_or_else(|_| source.to_path_buf());
    let id = digest(Some(resolved.as_os_str().as_encoded_bytes()));
    state_dir.join("tx").join(format!("{}.journal", &id[..16]))
}

/// Whether a transaction waits in `path`.
pub(crate) fn exists(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// Empties the journal: its transaction is settled. Not synced: should a
/// power loss bring the records back, settling them again changes nothing.
pub(crate) fn clear(path: &Path) -> Result<()> {
    match OpenOptions::new().write(true).open(path) {
        Ok(f) => f.set_len(0).map_err(|e| Error::io(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// An open journal the running transaction appends to.
pub(crate) struct Journal {
    pub path: PathBuf,
    file: File,
}

impl Journal {
    /// Records `begin` (plan and encrypted backups) and waits until it is on
    /// disk: files may change once this returns. Fails if a transaction is
    /// pending (recovery runs before any new one).
    pub(crate) fn begin(path: &Path, begin: Begin) -> Result<Journal> {
        let dir = path.parent().unwrap_or(Path::new("/"));
        let created = !path.exists();
        if created {
            vault::store::create_private_dir(dir).map_err(|e| Error::io(dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        if file.metadata().map_err(|e| Error::io(path, e))?.len() > 0 {
            return Err(Error::Pending(path.to_path_buf()));
        }
        if created {
            vault::store::sync_dir(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut journal = Journal {
            path: path.to_path_buf(),
            file,
        };
        if let Err(e) = journal.record(&Record::Begin(begin)) {
            let _ = clear(path);
            return Err(e);
        }
        Ok(journal)
    }

    /// Appends a record and waits until it is on disk.
    pub(crate) fn record(&mut self, record: &Record) -> Result<()> {
        self.note(record)?;
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }

    /// Appends a record recovery does not depend on (no fsync).
    pub(crate) fn note(&mut self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(record).expect("records serialise");
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| Error::io(&self.path, e))
    }

    pub(crate) fn finish(self) -> Result<()> {
        clear(&self.path)
    }
}

/// The old contents, encrypted to `recipients`, armored.
pub(crate) fn seal_backup(
    recipients: &[String],
    contents: &[Option<&[u8]>],
) -> std::result::Result<String, BackupError> {
    let parsed: Vec<x25519::Recipient> = recipients
        .iter()
        .map(|r| x25519::Recipient::from_str(r))
        .collect::<std::result::Result<_, _>>()
        .map_err(BackupError::Recipient)?;
    let encryptor =
        age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))?;
    let mut sealed = Vec::new();
    let armor =
        ArmoredWriter::wrap_output(&mut sealed, Format::AsciiArmor).map_err(BackupError::Seal)?;
    let mut w = encryptor.wrap_output(armor).map_err(BackupError::Seal)?;
    for content in contents {
        let bytes = content.unwrap_or_default();
        w.write_all(&[u8::from(content.is_some())])
            .and_then(|()| w.write_all(&(bytes.len() as u64).to_le_bytes()))
            .and_then(|()| w.write_all(bytes))
            .map_err(BackupError::Seal)?;
    }
    w.finish()
        .and_then(age::armor::ArmoredWriter::finish)
        .map_err(BackupError::Seal)?;
    Ok(String::from_utf8(sealed).expect("armor is ASCII"))
}

/// The old contents in plan order (`None`: the file did not exist).
pub(crate) fn open_backup(
    armored: &str,
    identities: &[x25519::Identity],
) -> std::result::Result<Vec<Option<Zeroizing<Vec<u8>>>>, BackupError> {
    let decryptor = age::Decryptor::new(ArmoredReader::new(armored.as_bytes()))
        .map_err(BackupError::Corrupt)?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(BackupError::Decrypt)?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plain)
        .map_err(BackupError::Unreadable)?;
    let corrupt = || BackupError::Truncated;
    let mut out = Vec::new();
    let mut rest: &[u8] = &plain;
    while let Some((&flag, after)) = rest.split_first() {
        let len: [u8; 8] = after.get(..8).ok_or_else(corrupt)?.try_into().expect("8");
        let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| corrupt())?;
        let body = after.get(8..8 + len).ok_or_else(corrupt)?;
        out.push((flag == 1).then(|| Zeroizing::new(body.to_vec())));
        rest = &after[8 + len..];
    }
    Ok(out)
}

/// A journal left by an earlier process.
pub(crate) struct Loaded {
    pub path: PathBuf,
    pub records: Vec<Record>,
}

impl Loaded {
    /// `None` when `begin` was torn: then no file had been touched.
    pub(crate) fn begin(&self) -> Option<&Begin> {
        match self.records.first()? {
            Record::Begin(b) => Some(b),
            _ => None,
        }
    }
}

/// How far a recorded `/key/regenerate` got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Regenerated {
    /// Recorded, perhaps sent: LiteLLM may or may not have applied it.
    Recorded,
    /// LiteLLM answered 2xx: the stored credentials are under the new key.
    Answered,
    /// Put back on the old key (or never changed).
    Settled,
}

impl Loaded {
    /// The transaction's `/key/regenerate`, if it recorded one, and how far
    /// it got.
    pub(crate) fn regenerate(&self) -> Option<(&Regenerate, Regenerated)> {
        let mut found = None;
        for record in &self.records {
            match (record, &mut found) {
                (Record::Regenerate(r), _) => found = Some((r, Regenerated::Recorded)),
                (Record::Regenerated, Some((_, at))) => *at = Regenerated::Answered,
                (Record::RegenerateSettled { .. }, Some((_, at))) => *at = Regenerated::Settled,
                _ => {}
            }
        }
        found
    }
}

/// Appends `record` to the journal at `path` and waits until it is on
/// disk (recovery's own steps).
pub(crate) fn append(path: &Path, record: &Record) -> Result<()> {
    let file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let mut journal = Journal {
        path: path.to_path_buf(),
        file,
    };
    journal.record(record)
}

impl Loaded {
    /// The virtual key the transaction rotated, and when it committed.
    pub(crate) fn virtual_key(
        &self,
    ) -> Option<(&crate::virtual_key::pending::Pending, Option<u64>)> {
        let pending = self.records.iter().find_map(|r| match r {
            Record::VirtualKey(p) => Some(p),
            _ => None,
        })?;
        let committed = self.records.iter().find_map(|r| match r {
            Record::Committed { at_ms } => Some(*at_ms),
            _ => None,
        });
        Some((pending, committed))
    }
}

/// The pending journal at `path`, if any.
pub(crate) fn load(path: &Path) -> Result<Option<Loaded>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) if t.is_empty() => return Ok(None),
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let records = text
        .lines()
        .map_while(|l| serde_json::from_str::<Record>(l).ok())
        .collect();
    Ok(Some(Loaded {
        path: path.to_path_buf(),
        records,
    }))
}

/// A new transaction id (random; matches journal and audit line).
pub(crate) fn new_tx() -> String {
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
        let path = path_for(state.path(), Path::new("/repo/secrets/global.enc.env"));
        let id = x25519::Identity::generate();
        let backup = seal_backup(
            &[id.to_public().to_string()],
            &[Some(b"KEY=sk-old\n"), None, Some(b"")],
        )
        .unwrap();
        assert!(!backup.contains("sk-old"));
        let begin = Begin {
            version: VERSION,
            tx: "t1".into(),
            source: "/repo/secrets/global.enc.env".into(),
            files: Vec::new(),
            summary: Summary {
                action: "rotate".into(),
                keys: Vec::new(),
            },
            backup,
        };
        let mut j = Journal::begin(&path, begin.clone()).unwrap();
        j.note(&Record::Wrote { file: 0 }).unwrap();
        // A crash mid-append leaves half a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"step\":\"wro")
            .unwrap();
        assert!(
            Journal::begin(&path, begin.clone()).is_err(),
            "one at a time"
        );
        let loaded = load(&path).unwrap().unwrap();
        assert_eq!(loaded.records.len(), 2);
        assert!(matches!(loaded.records[1], Record::Wrote { file: 0 }));
        let backups =
            open_backup(&loaded.begin().unwrap().backup, std::slice::from_ref(&id)).unwrap();
        assert_eq!(backups.len(), 3);
        assert_eq!(
            backups[0].as_deref().map(std::vec::Vec::as_slice),
            Some(&b"KEY=sk-old\n"[..])
        );
        assert!(backups[1].is_none());
        assert_eq!(
            backups[2].as_deref().map(std::vec::Vec::as_slice),
            Some(&b""[..])
        );
        let other = x25519::Identity::generate();
        assert!(open_backup(&loaded.begin().unwrap().backup, &[other]).is_err());
        j.finish().unwrap();
        assert!(!exists(&path));
        assert!(load(&path).unwrap().is_none());
        Journal::begin(&path, begin).unwrap();
    }
}
