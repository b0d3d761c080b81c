//! `litekeys-rotate init`: creates the encrypted source with fresh master
//! and salt keys, encrypted to the given age recipients (else
//! `$SOPS_AGE_RECIPIENTS`, else the recipients of the identities found).
//! Never overwrites a file. What it writes is recorded as trusted (by
//! path), so the `litekeys` commands run below it may use it.

use crate::config::{Config, MASTER_KEY, Refusal, SALT_KEY};
use crate::error::{Error, Result};
use crate::keys;
use vault::Secret;
use vault::identity::Identities;
use zeroize::Zeroizing;

/// Written into a directory `init` creates for the source.
const GITIGNORE: &str = "# flock sidecars of litekeys (empty files, never secret)\n.*.lock\n# this machine's own config (found before litekeys.toml)\nlitekeys.local.toml\n";

pub struct Created {
    pub path: std::path::PathBuf,
    /// The `.gitignore` written when `init` created the source's directory.
    pub ignore_file: Option<std::path::PathBuf>,
    pub recipients: Vec<String>,
    pub keys: Vec<(&'static str, String)>,
}

pub fn init(config: &Config, given: &[String], identities: &Identities) -> Result<Created> {
    let fresh: Vec<(&'static str, Secret)> =
        vec![(MASTER_KEY, keys::generate()), (SALT_KEY, keys::generate())];
    create(config, fresh, given, identities)
}

/// Creates the source holding `values` (`adopt` writes the keys it found
/// the same way `init` writes fresh ones), trusted by path.
pub(crate) fn create(
    config: &Config,
    values: Vec<(&'static str, Secret)>,
    given: &[String],
    identities: &Identities,
) -> Result<Created> {
    let path = &config.source;
    let exists = || Error::from(Refusal::SourceExists(path.clone()));
    if path.exists() {
        return Err(exists());
    }
    let recipients: Vec<String> = if !given.is_empty() {
        given.to_vec()
    } else if let Some(env) = std::env::var("SOPS_AGE_RECIPIENTS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        env.split([',', ' ', '\n'])
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect()
    } else {
        identities
            .identities
            .iter()
            .map(|i| i.to_public().to_string())
            .collect()
    };
    if recipients.is_empty() {
        return Err(Refusal::NoRecipient(path.clone()).into());
    }
    let mut ignore_file = None;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            vault::store::create_private_dir(dir).map_err(|e| Error::io(dir, e))?;
            // A directory made here holds litekeys' files only: keep the
            // lock sidecars (empty, never secret) out of `git status`.
            let ignore = dir.join(".gitignore");
            vault::store::write(&ignore, GITIGNORE.as_bytes(), 0o644)
                .map_err(|e| Error::io(&ignore, e))?;
            ignore_file = Some(ignore);
        }
    }
    let _lock = vault::store::Lock::acquire(path, false)?;
    // Absent now, and written only if still absent (a sops or an editor
    // outside the lock may create it meanwhile).
    let absent = vault::store::Snapshot::read_or_absent(path).map_err(|e| Error::io(path, e))?;
    if absent.existed() || path.exists() {
        return Err(exists());
    }
    let mut plain = Zeroizing::new(Vec::new());
    for (k, v) in &values {
        plain.extend_from_slice(k.as_bytes());
        plain.push(b'=');
        plain.extend_from_slice(v.expose());
        plain.push(b'\n');
    }
    let options = vault::EncryptOptions {
        recipients: recipients.clone(),
        ..Default::default()
    };
    let doc = vault::encrypt(path, &plain, &options)?;
    absent
        .replace_if_unchanged(&doc.to_bytes(), 0o644)
        .map_err(|e| match e {
            vault::store::ReplaceError::Changed(_) => exists(),
            vault::store::ReplaceError::Check { source, .. }
            | vault::store::ReplaceError::Write { source, .. } => Error::io(path, source),
        })?;
    // The user made it here: commands run from below it may use it.
    vault::TrustStore::new(&config.state_dir)
        .trust(path, vault::Pin::Path)
        .map_err(crate::config::ConfigError::from)?;
    Ok(Created {
        path: path.clone(),
        ignore_file,
        recipients,
        keys: values.iter().map(|(k, v)| (*k, v.fingerprint())).collect(),
    })
}
