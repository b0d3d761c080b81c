//! Which file a command works on, and the identities that open it: the
//! options every subcommand takes, resolved once for all of them.

use super::args::Input;
use super::exit::Failure;
use std::path::PathBuf;
use vault::identity::OsKeyring;
use vault::{Exit, Plaintext};

static KEYRING: OsKeyring = OsKeyring::DEFAULT;

/// The OS keyring: where `litekeys identity` keeps an identity, consulted
/// after the SOPS_AGE_KEY* variables and before keys.txt.
pub(super) fn keyring() -> &'static OsKeyring {
    &KEYRING
}

/// `--file`, else `$LITEKEYS_FILE`, else the nearest `secrets/global.enc.env`.
pub(super) fn source(input: &Input) -> Result<PathBuf, Failure> {
    vault::locate::source_file(input.file.as_deref()).map_err(|e| {
        let exit = match e {
            vault::locate::LocateError::Untrusted(_) => Exit::Untrusted,
            _ => Exit::Error,
        };
        Failure::new(exit, e.to_string())
    })
}

/// The file's values, decrypted and MAC-verified with the chosen backend.
pub(super) fn open(input: &Input) -> Result<(PathBuf, Plaintext), Failure> {
    let path = source(input)?;
    let plain = vault::decrypt_file(&path, input.backend, Some(keyring()))?;
    Ok((path, plain))
}
