//! `litekeys identity`: an age identity in the OS keyring (Secret Service
//! on Linux, Keychain on macOS), consulted by every command after the
//! SOPS_AGE_KEY* variables and before keys.txt.

use super::args::IdentityAction;
use super::exit::Failure;
use super::input;
use super::prompt::read_secret_stdin;
use age::secrecy::ExposeSecret;
use age::x25519;
use std::path::Path;
use vault::Exit;
use vault::identity::KeyringError;
use vault::identity::parse_identities;
use zeroize::Zeroizing;

pub(crate) fn run(action: &IdentityAction) -> Result<Vec<u8>, Failure> {
    match action {
        IdentityAction::Import { file } => import(file.as_deref()),
        IdentityAction::New => {
            let identity = x25519::Identity::generate();
            let text = Zeroizing::new(format!("{}\n", identity.to_string().expose_secret()));
            store(&text, std::slice::from_ref(&identity))
        }
        IdentityAction::Recipient => match input::keyring().get().map_err(keyring_failure)? {
            Some(text) => Ok(recipients(&parse_stored(&text)?)),
            None => Err(nothing_stored()),
        },
        IdentityAction::Forget => {
            let stored = input::keyring().get().map_err(keyring_failure)?;
            if !input::keyring().delete().map_err(keyring_failure)? {
                return Err(nothing_stored());
            }
            if let Some(text) = stored.and_then(|t| parse_identities(&t).ok()) {
                for id in text {
                    eprintln!("litekeys: forgot the identity of {}", id.to_public());
                }
            }
            Ok(Vec::new())
        }
    }
}

fn import(file: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let (name, text) = match file {
        None => ("<stdin>".to_string(), read_stdin()?),
        Some(p) if p.as_os_str() == "-" => ("<stdin>".to_string(), read_stdin()?),
        Some(p) => {
            let text = std::fs::read(p)
                .map_err(|e| Failure::new(Exit::Error, format!("{}: {e}", p.display())))?;
            (p.display().to_string(), Zeroizing::new(text))
        }
    };
    let text = std::str::from_utf8(&text).map_err(|_| {
        Failure::new(
            Exit::BadInput,
            format!("{name}: not an age identity file (not UTF-8)"),
        )
    })?;
    let ids = parse_identities(text).map_err(|line| {
        Failure::new(
            Exit::BadInput,
            format!("{name}:{line}: not an age identity (AGE-SECRET-KEY-1…, as age-keygen writes)"),
        )
    })?;
    if ids.is_empty() {
        return Err(Failure::new(
            Exit::BadInput,
            format!("{name}: no age identity in it (AGE-SECRET-KEY-1…)"),
        ));
    }
    // Only the identities: comments of the file stay behind.
    let mut normal = Zeroizing::new(String::new());
    for id in &ids {
        normal.push_str(id.to_string().expose_secret());
        normal.push('\n');
    }
    store(&normal, &ids)
}

fn read_stdin() -> Result<Zeroizing<Vec<u8>>, Failure> {
    read_secret_stdin("age identity")
}

/// Stores `text` unless another identity is there; reads it back so a
/// keyring that silently drops writes is caught; prints the recipients.
fn store(text: &str, ids: &[x25519::Identity]) -> Result<Vec<u8>, Failure> {
    let wanted = recipients(ids);
    if let Some(existing) = input::keyring().get().map_err(keyring_failure)? {
        let there = recipients(&parse_stored(&existing)?);
        if there == wanted {
            return Ok(wanted);
        }
        return Err(Failure::new(
            Exit::Error,
            format!(
                "the OS keyring already holds the identity of {}; run `litekeys identity forget` first (after a backup)",
                String::from_utf8_lossy(&there).trim().replace('\n', ", ")
            ),
        ));
    }
    input::keyring().set(text).map_err(keyring_failure)?;
    match input::keyring().get().map_err(keyring_failure)? {
        Some(back) if back.as_str() == text => Ok(wanted),
        _ => Err(Failure::new(
            Exit::Keyring,
            "the OS keyring accepted the identity but does not return it; nothing is stored",
        )),
    }
}

fn parse_stored(text: &str) -> Result<Vec<x25519::Identity>, Failure> {
    parse_identities(text).map_err(|line| {
        Failure::new(
            Exit::Keyring,
            format!(
                "the identity in the OS keyring is damaged (line {line}); run `litekeys identity forget` and import it again"
            ),
        )
    })
}

fn recipients(ids: &[x25519::Identity]) -> Vec<u8> {
    let mut out = String::new();
    for id in ids {
        out.push_str(&id.to_public().to_string());
        out.push('\n');
    }
    out.into_bytes()
}

fn nothing_stored() -> Failure {
    Failure::new(
        Exit::Error,
        "no age identity in the OS keyring; run `litekeys identity import FILE` or `litekeys identity new`",
    )
}

fn keyring_failure(e: KeyringError) -> Failure {
    Failure::new(Exit::Keyring, e.to_string())
}
