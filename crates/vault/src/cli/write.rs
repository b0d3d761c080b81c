//! The write path: set, unset, encrypt, recipients, rotate-data-key.
//!
//! Every change is a read-modify-write under the file's sidecar lock: read
//! the bytes, open the data key, change, re-read just before replacing and
//! refuse when someone else (an editor, sops, git) changed the file in
//! between, then replace it atomically (`vault::store`: mode and owner
//! kept, symlinks written through). Files litekeys does not open natively go to `sops set`/`sops
//! unset` under the same lock. Values only ever travel on pipes.

use super::args::{EncryptArgs, Input, RecipientsAction};
use super::exit::Failure;
use super::input::{self, source};
use super::prompt::{read_all, read_secret_stdin};
use std::ffi::OsStr;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use vault::Exit;

use vault::format::Item;

use vault::identity::Identities;
use vault::store::{self, Lock, LockError, ReplaceError, Snapshot};
use vault::{
    Backend, Change, DataKey, Document, EncryptOptions, Error, RecipientPin, Rule, Secret, sops,
    sops_config,
};
use zeroize::Zeroizing;

/// How long a write waits for another litekeys to release the file.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Mode of a file litekeys creates (an existing file keeps its own).
const NEW_FILE_MODE: u32 = 0o600;

/// What `set` takes beyond what the file format allows.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SetRules {
    /// An empty value from a pipe.
    pub allow_empty: bool,
    /// A key that is not a variable name.
    pub any_key: bool,
}

pub(crate) fn set(input: &Input, key: &OsStr, rules: SetRules) -> Result<Vec<u8>, Failure> {
    let path = source(input)?;
    let key = key_name(&path, key)?;
    // A key exec/direnv/ci cannot export makes them refuse the whole file.
    if !rules.any_key && !vault::is_env_name(&key) {
        return Err(Failure::new(
            Exit::BadInput,
            format!(
                "{}: {key:?} is not a variable name (letters, digits, _, not starting with a \
                 digit), so exec, direnv and ci would refuse the file; nothing changed \
                 (--any-key to keep it anyway)",
                path.display()
            ),
        ));
    }
    let from_terminal = std::io::stdin().is_terminal();
    // Before taking the lock: a person may be typing.
    let value = read_secret_stdin(&format!("Value for {key}"))?;
    // `litekeys set KEY </dev/null` or a failed `$(…)`: not a value.
    if value.is_empty() && !from_terminal && !rules.allow_empty {
        return Err(Failure::new(
            Exit::BadInput,
            format!(
                "{}: the value for {key} read from stdin is empty; nothing changed \
                 (--allow-empty to set an empty value)",
                path.display()
            ),
        ));
    }
    let value = Secret::new(value.to_vec());
    let mut keys = Keys::default();
    retrying(&path, |file| match file.native_doc(input.backend)? {
        None => Ok(sops::set(&path, &key, value.expose())?),
        Some(doc) => {
            let data_key = keys.open(&doc)?;
            let new = doc.apply_into(&data_key, &[Change::Set(key.clone(), value.clone())])?;
            file.replace(&new)
        }
    })?;
    if from_terminal {
        eprintln!(
            "litekeys: {key} set in {} (value sha256:{})",
            path.display(),
            value.fingerprint()
        );
    }
    Ok(Vec::new())
}

pub(crate) fn unset(input: &Input, key: &OsStr) -> Result<Vec<u8>, Failure> {
    let path = source(input)?;
    let key = key_name(&path, key)?;
    let mut keys = Keys::default();
    retrying(&path, |file| match file.native_doc(input.backend)? {
        None => Ok(sops::unset(&path, &key)?),
        Some(doc) => {
            let present = doc
                .items
                .iter()
                .any(|i| matches!(i, Item::Pair { key: k, .. } if *k == key));
            if !present {
                return Err(Failure::new(
                    Exit::Error,
                    format!("{}: no key {key}; nothing changed", path.display()),
                ));
            }
            let data_key = keys.open(&doc)?;
            file.replace(&doc.apply_into(&data_key, &[Change::Unset(key.clone())])?)
        }
    })?;
    Ok(Vec::new())
}

pub(crate) fn encrypt(e: &EncryptArgs) -> Result<Vec<u8>, Failure> {
    let from_stdin = e.input.as_os_str() == "-";
    let (name, plaintext) = if from_stdin {
        (PathBuf::from("<stdin>"), read_all(&std::io::stdin())?)
    } else {
        let bytes = std::fs::read(&e.input).map_err(|err| io_failure(&e.input, err))?;
        (e.input.clone(), Zeroizing::new(bytes))
    };
    // The file the rules are for: where the ciphertext goes.
    let target = match (&e.output, from_stdin) {
        (Some(out), _) => out.clone(),
        (None, false) => e.input.clone(),
        (None, true) => PathBuf::from("stdin"),
    };
    let options = encrypt_options(e, &target)?;
    let doc = vault::encrypt(&name, &plaintext, &options).map_err(|err| match err {
        Error::Format { .. } | Error::BadKey { .. } => {
            Failure::new(Exit::BadInput, err.to_string())
        }
        Error::AlreadyEncrypted { .. } => Failure::new(Exit::AlreadyEncrypted, err.to_string()),
        Error::Recipients { .. } | Error::Unpinned { .. } => {
            Failure::new(Exit::Recipients, err.to_string())
        }
        other => Failure::from(other),
    })?;
    let bytes = doc.to_bytes();
    match &e.output {
        None => Ok(bytes),
        Some(out) => {
            let _lock = lock(out)?;
            store::write(out, &bytes, NEW_FILE_MODE).map_err(|err| cannot_write(out, err))?;
            Ok(Vec::new())
        }
    }
}

/// Recipients and rule from the flags, else from the nearest `.sops.yaml`.
fn encrypt_options(e: &EncryptArgs, target: &Path) -> Result<EncryptOptions, Failure> {
    let flag_rule = [
        e.encrypted_regex.clone().map(Rule::EncryptedRegex),
        e.unencrypted_regex.clone().map(Rule::UnencryptedRegex),
        e.encrypted_suffix.clone().map(Rule::EncryptedSuffix),
        e.unencrypted_suffix.clone().map(Rule::UnencryptedSuffix),
    ]
    .into_iter()
    .flatten()
    .next();
    let recipients: Vec<String> = e
        .age
        .iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    let dir = std::path::absolute(target)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let config = sops_config::find(&dir);
    let from_config = match &config {
        Some(cfg) => match sops_config::rule_for(cfg, target) {
            Ok(rule) => Some(rule),
            // With --age the config only adds the rule, when one matches.
            Err(sops_config::ConfigError::NoMatch { .. }) if !recipients.is_empty() => None,
            Err(err) => return Err(Failure::new(Exit::Recipients, err.to_string())),
        },
        None => None,
    };
    let recipients = if !recipients.is_empty() {
        recipients
    } else if let Some(rule) = &from_config {
        rule.recipients.clone()
    } else {
        return Err(Failure::new(
            Exit::Recipients,
            format!(
                "{}: no recipient: pass --age AGE1… or add a {} with creation_rules next to it or above",
                target.display(),
                sops_config::FILE_NAME
            ),
        ));
    };
    for r in &recipients {
        check_recipient(target, r)?;
    }
    // The matching creation rule pins the recipients: `--age` may only
    // name pinned ones.
    let pin = config
        .as_ref()
        .zip(from_config.as_ref())
        .map(|(cfg, rule)| RecipientPin::new(cfg, rule.recipients.clone()));
    Ok(EncryptOptions {
        pin,
        recipients,
        rule: flag_rule
            .or_else(|| from_config.as_ref().and_then(|c| c.rule.clone()))
            .unwrap_or_default(),
        mac_only_encrypted: e.mac_only_encrypted
            || from_config.as_ref().is_some_and(|c| c.mac_only_encrypted),
    })
}

pub(crate) fn recipients(input: &Input, action: &RecipientsAction) -> Result<Vec<u8>, Failure> {
    let path = source(input)?;
    if let RecipientsAction::List = action {
        let doc = Document::read(&path)?;
        let mut out = String::new();
        for stanza in &doc.metadata.age {
            out.push_str(&stanza.recipient);
            out.push('\n');
        }
        return Ok(out.into_bytes());
    }
    let added: &[String] = match action {
        RecipientsAction::Add { recipient } => recipient,
        _ => &[],
    };
    for r in added {
        check_recipient(&path, r)?;
    }
    // `add` pins what it adds: the .sops.yaml edit is worked out (or
    // refused) before anything is written.
    let pin = pin_of(&path)?;
    let (pin, config_edit) = match &pin {
        Some(pin) if !added.is_empty() => {
            (Some(pin.with(added)), Some(pin_edit(&path, pin, added)?))
        }
        _ => (pin, None),
    };
    let mut keys = Keys::default();
    retrying(&path, |file| {
        let doc = file.native_only(input.backend, "sops updatekeys")?;
        let list = new_recipients(&path, &doc, action)?;
        let data_key = keys.open(&doc)?;
        let new = doc.with_recipients(&data_key, &list, pin.as_ref())?;
        if let Some((config, text)) = &config_edit {
            store::write(config, text.as_bytes(), NEW_FILE_MODE)
                .map_err(|e| cannot_write(config, e))?;
        }
        file.replace(&new)
    })?;
    if let RecipientsAction::Remove { .. } = action {
        eprintln!(
            "litekeys: a removed recipient may have kept the data key; run `litekeys rotate-data-key` \
             (and rotate the values themselves) if it should lose access to future changes"
        );
    }
    Ok(Vec::new())
}

/// The file's recipients after `add` or `remove`.
fn new_recipients(
    path: &Path,
    doc: &Document,
    action: &RecipientsAction,
) -> Result<Vec<String>, Failure> {
    let mut list: Vec<String> = doc.metadata.recipients();
    match action {
        RecipientsAction::List => {}
        RecipientsAction::Add { recipient } => {
            for r in recipient {
                if !list.contains(r) {
                    list.push(r.clone());
                }
            }
        }
        RecipientsAction::Remove { recipient } => {
            for r in recipient {
                if !list.contains(r) {
                    return Err(Failure::new(
                        Exit::Recipients,
                        format!(
                            "{}: {r} is not a recipient of this file; nothing changed",
                            path.display()
                        ),
                    ));
                }
                list.retain(|x| x != r);
            }
            if list.is_empty() {
                return Err(Failure::new(
                    Exit::Recipients,
                    format!(
                        "{}: refusing to remove the last recipient (nobody could open the file); add the new one first",
                        path.display()
                    ),
                ));
            }
        }
    }
    Ok(list)
}

/// The pin of `path` (its `.sops.yaml` creation rule), if any.
fn pin_of(path: &Path) -> Result<Option<RecipientPin>, Failure> {
    RecipientPin::from_sops_config(path).map_err(|e| Failure::new(Exit::Recipients, e.to_string()))
}

/// The `.sops.yaml` and its new text with `added` pinned, or a refusal
/// when its shape is not one litekeys edits safely.
fn pin_edit(
    path: &Path,
    pin: &RecipientPin,
    added: &[String],
) -> Result<(PathBuf, String), Failure> {
    let config = pin.origin().to_path_buf();
    match sops_config::with_recipients_added(&config, path, added) {
        Ok(Some(text)) => Ok((config, text)),
        Ok(None) => Err(Failure::new(
            Exit::Recipients,
            format!(
                "{}: the recipients of {} are pinned in {}, whose creation rule litekeys cannot \
                 edit safely; add {} to its age: by hand, then run this again; nothing changed",
                path.display(),
                path.display(),
                config.display(),
                added.join(",")
            ),
        )),
        Err(e) => Err(Failure::new(Exit::Recipients, e.to_string())),
    }
}

/// Runs a read-modify-write under the file's lock, again on a fresh read
/// (a bounded number of times) when someone else changed the file in
/// between: a concurrent `sops set` is waited out, not overwritten.
fn retrying(
    path: &Path,
    mut attempt: impl FnMut(&Locked) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut left = ATTEMPTS;
    loop {
        let file = Locked::open(path)?;
        match attempt(&file) {
            Err(f) if f.code() == Exit::ChangedUnderneath.code() && left > 1 => left -= 1,
            done => return done,
        }
        drop(file);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many times a write reads the file afresh after a concurrent change.
const ATTEMPTS: usize = 5;

/// The identities, discovered once per command (`SOPS_AGE_KEY_CMD` runs
/// once) however many times the file is read.
#[derive(Default)]
struct Keys {
    identities: Option<Identities>,
}

impl Keys {
    fn open(&mut self, doc: &Document) -> Result<DataKey, Failure> {
        if let Some(ids) = &mut self.identities {
            return match doc.data_key(ids) {
                Ok(key) => Ok(key),
                Err(_) => {
                    ids.load_keyring(input::keyring());
                    Ok(doc.data_key(ids)?)
                }
            };
        }
        let (ids, key) = Identities::discover_for(Some(input::keyring()), |ids| doc.data_key(ids));
        self.identities = Some(ids);
        Ok(key?)
    }
}

pub(crate) fn rotate_data_key(input: &Input) -> Result<Vec<u8>, Failure> {
    let path = source(input)?;
    let pin = pin_of(&path)?;
    let mut keys = Keys::default();
    retrying(&path, |file| {
        let doc = file.native_only(input.backend, "sops rotate")?;
        let data_key = keys.open(&doc)?;
        file.replace(&doc.rotate_data_key(&data_key, pin.as_ref())?)
    })?;
    Ok(Vec::new())
}

/// The encrypted file, locked, with the bytes it had when read.
struct Locked {
    snapshot: Snapshot,
    _lock: Lock,
}

impl Locked {
    fn open(path: &Path) -> Result<Locked, Failure> {
        // Before locking: no lock file next to a file that is not there.
        std::fs::metadata(path).map_err(|e| io_failure(path, e))?;
        let lock = lock(path)?;
        let snapshot = Snapshot::read(path).map_err(|e| io_failure(path, e))?;
        Ok(Locked {
            snapshot,
            _lock: lock,
        })
    }

    fn path(&self) -> &Path {
        self.snapshot.path()
    }

    /// The parsed file when the native backend writes it; `None` when the
    /// sops binary must (`--backend sops`, or keys litekeys cannot open).
    fn native_doc(&self, backend: Backend) -> Result<Option<Document>, Failure> {
        if backend == Backend::Sops {
            return Ok(None);
        }
        let doc = Document::parse(self.path(), self.snapshot.bytes())?;
        if backend == Backend::Auto && !doc.metadata.is_native() {
            return Ok(None);
        }
        Ok(Some(doc))
    }

    /// The parsed file, for commands the sops backend does not take.
    fn native_only(&self, backend: Backend, sops_cmd: &str) -> Result<Document, Failure> {
        let doc = Document::parse(self.path(), self.snapshot.bytes())?;
        if backend == Backend::Sops || !doc.metadata.is_native() {
            return Err(Failure::new(
                Exit::Error,
                format!(
                    "{}: litekeys re-keys files whose keys are all age; use `{sops_cmd}` for this one",
                    self.path().display()
                ),
            ));
        }
        Ok(doc)
    }

    /// Replaces the file with `new`, unless it changed since it was read.
    fn replace(&self, new: &Document) -> Result<(), Failure> {
        let path = self.path();
        match self
            .snapshot
            .replace_if_unchanged(&new.to_bytes(), NEW_FILE_MODE)
        {
            Ok(_) => Ok(()),
            Err(ReplaceError::Changed(e)) => {
                Err(Failure::new(Exit::ChangedUnderneath, e.to_string()))
            }
            Err(ReplaceError::Check { source, .. }) => Err(io_failure(path, source)),
            Err(ReplaceError::Write { source, .. }) => Err(cannot_write(path, source)),
        }
    }
}

/// Takes the file's lock, waiting a bounded time for another litekeys.
fn lock(path: &Path) -> Result<Lock, Failure> {
    Lock::acquire_within(path, LOCK_WAIT).map_err(|e| match e {
        LockError::Busy(_) => Failure::new(Exit::Locked, e.to_string()),
        LockError::Io { path: lock, source } => Failure::new(
            Exit::CannotWrite,
            format!(
                "{}: cannot create the lock {} ({source}); litekeys replaces the file, which needs write access to its directory",
                path.display(),
                lock.display()
            ),
        ),
    })
}

/// A key name from argv, checked before anything is read or locked.
fn key_name(path: &Path, key: &OsStr) -> Result<String, Failure> {
    let bad =
        |reason: String| Failure::new(Exit::BadInput, format!("{}: {reason}", path.display()));
    let key = key.to_str().ok_or_else(|| {
        bad(format!(
            "the key {:?} is not UTF-8 (sops dotenv keys are text)",
            key.to_string_lossy()
        ))
    })?;
    vault::check_key(key).map_err(|e| bad(e.to_string()))?;
    Ok(key.to_string())
}

/// An age X25519 recipient (`age1…`), or a one-line refusal.
fn check_recipient(path: &Path, r: &str) -> Result<(), Failure> {
    age::x25519::Recipient::from_str(r)
        .map(|_| ())
        .map_err(|_| {
            // Never quote what was given: it may be a secret key.
            let what = if r.trim().to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
                "that is an age SECRET key (keep it private); pass its public recipient \
                 (age-keygen -y prints it)"
            } else {
                "a recipient given is not an age recipient (age1…, as `age-keygen -y` prints)"
            };
            Failure::new(Exit::Recipients, format!("{}: {what}", path.display()))
        })
}

fn io_failure(path: &Path, e: std::io::Error) -> Failure {
    Failure::new(Exit::Error, format!("{}: {e}", path.display()))
}

fn cannot_write(path: &Path, e: std::io::Error) -> Failure {
    let dir = store::resolve(path)
        .ok()
        .and_then(|p| p.parent().map(|d| d.display().to_string()))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".".into());
    Failure::new(
        Exit::CannotWrite,
        format!(
            "{}: cannot write ({e}); nothing changed; litekeys needs write access to {dir} to replace the file",
            path.display()
        ),
    )
}
