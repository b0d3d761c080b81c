//! An age identity kept in the OS keyring: the Secret Service (D-Bus) on
//! Linux, the login Keychain on macOS. One entry, service `litekeys`, user
//! `age-identity`, holding the identity lines (`AGE-SECRET-KEY-1…`).
//!
//! There is never an in-memory fallback: when no keyring is reachable the
//! caller is told so. Every call is bounded in time, because a Secret
//! Service may wait forever on an unlock prompt nobody can see.

use std::sync::mpsc;
use std::time::Duration;
use zeroize::Zeroizing;

pub(crate) const SERVICE: &str = "litekeys";
pub(crate) const USER: &str = "age-identity";

/// How long one keyring call may take before litekeys gives up on it.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(
        "no OS keyring is reachable ({0}); start a Secret Service (gnome-keyring, KeePassXC) in your \
         D-Bus session, or keep the identity in a file and set SOPS_AGE_KEY_FILE"
    )]
    Unavailable(String),
    #[error("the OS keyring did not answer within {} s (locked, waiting on a prompt?); unlock it and retry", TIMEOUT.as_secs())]
    Timeout,
    #[error(
        "the OS keyring holds several {SERVICE}/{USER} entries; remove the extra ones (secret-tool clear service {SERVICE} username {USER})"
    )]
    Ambiguous,
    #[error("the OS keyring failed: {0}")]
    Failed(String),
}

/// A keyring that may hold one identity file's text.
pub trait KeyringLookup {
    /// `Ok(None)` when the keyring is reachable but holds no identity.
    fn lookup(&self) -> Result<Option<Zeroizing<String>>, KeyringError>;
}

/// The keyring entry litekeys keeps its identity in.
#[derive(Clone, Copy, Debug)]
pub struct OsKeyring {
    service: &'static str,
    user: &'static str,
}

impl OsKeyring {
    pub const DEFAULT: OsKeyring = OsKeyring {
        service: SERVICE,
        user: USER,
    };
}

impl Default for OsKeyring {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl OsKeyring {
    /// The stored identity text, `None` when there is none.
    pub fn get(&self) -> Result<Option<Zeroizing<String>>, KeyringError> {
        let entry = *self;
        match bounded(move || entry.entry()?.get_password().map(Zeroizing::new))? {
            Ok(text) => Ok(Some(text)),
            Err(::keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// Stores `text`, replacing what was there.
    pub fn set(&self, text: &str) -> Result<(), KeyringError> {
        let entry = *self;
        let text = Zeroizing::new(text.to_string());
        bounded(move || entry.entry()?.set_password(&text))?.map_err(classify)
    }

    /// Removes the entry; `false` when there was none.
    pub fn delete(&self) -> Result<bool, KeyringError> {
        let entry = *self;
        match bounded(move || entry.entry()?.delete_credential())? {
            Ok(()) => Ok(true),
            Err(::keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    fn entry(&self) -> ::keyring::Result<::keyring::Entry> {
        platform::entry(self.service, self.user)
    }
}

/// Runs one keyring call on a thread and waits for it at most `TIMEOUT`.
/// Fails fast, without touching D-Bus, when no session bus is configured:
/// the common case on servers and in CI.
fn bounded<T: Send + 'static>(
    call: impl FnOnce() -> ::keyring::Result<T> + Send + 'static,
) -> Result<::keyring::Result<T>, KeyringError> {
    platform::check_reachable()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(call());
    });
    rx.recv_timeout(TIMEOUT).map_err(|_| KeyringError::Timeout)
}

fn classify(e: ::keyring::Error) -> KeyringError {
    match e {
        ::keyring::Error::Ambiguous(_) => KeyringError::Ambiguous,
        ::keyring::Error::NoStorageAccess(e) => KeyringError::Unavailable(one_line(&e.to_string())),
        ::keyring::Error::PlatformFailure(e) => {
            let text = one_line(&e.to_string());
            if platform::is_unreachable(&text) {
                KeyringError::Unavailable(text)
            } else {
                KeyringError::Failed(text)
            }
        }
        other => KeyringError::Failed(one_line(&other.to_string())),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl KeyringLookup for OsKeyring {
    /// For the read commands: an absent keyring is just one place with
    /// nothing in it; a keyring that is there but fails is an error.
    fn lookup(&self) -> Result<Option<Zeroizing<String>>, KeyringError> {
        match self.get() {
            Err(KeyringError::Unavailable(_)) => Ok(None),
            other => other,
        }
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::KeyringError;
    use ::keyring::secret_service::SsCredential;

    pub(crate) fn entry(service: &str, user: &str) -> ::keyring::Result<::keyring::Entry> {
        // Built explicitly: never the crate's default store, which may be
        // its in-memory mock.
        let credential = SsCredential::new_with_target(None, service, user)?;
        Ok(::keyring::Entry::new_with_credential(Box::new(credential)))
    }

    pub(crate) fn check_reachable() -> Result<(), KeyringError> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty()) {
            return Ok(());
        }
        // Where a D-Bus client looks without the variable.
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| format!("/run/user/{}", rustix::process::getuid().as_raw()).into());
        if runtime.join("bus").exists() {
            return Ok(());
        }
        Err(KeyringError::Unavailable(
            "DBUS_SESSION_BUS_ADDRESS is unset and there is no session bus".into(),
        ))
    }

    pub(crate) fn is_unreachable(message: &str) -> bool {
        // zbus cannot connect, or nothing owns org.freedesktop.secrets.
        [
            "org.freedesktop.secrets",
            "ServiceUnknown",
            "No such file or directory",
            "Connection refused",
            "Address",
            "address",
        ]
        .iter()
        .any(|m| message.contains(m))
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::KeyringError;
    use ::keyring::macos::MacCredential;

    pub fn entry(service: &str, user: &str) -> ::keyring::Result<::keyring::Entry> {
        let credential = MacCredential::new_with_target(None, service, user)?;
        Ok(::keyring::Entry::new_with_credential(Box::new(credential)))
    }

    pub fn check_reachable() -> Result<(), KeyringError> {
        Ok(())
    }

    pub fn is_unreachable(_message: &str) -> bool {
        false
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod platform {
    use super::KeyringError;

    pub fn entry(_service: &str, _user: &str) -> ::keyring::Result<::keyring::Entry> {
        Err(::keyring::Error::NoStorageAccess(
            "this system has no supported OS keyring".into(),
        ))
    }

    pub fn check_reachable() -> Result<(), KeyringError> {
        Err(KeyringError::Unavailable(
            "litekeys supports the Secret Service and the macOS Keychain only".into(),
        ))
    }

    pub fn is_unreachable(_message: &str) -> bool {
        true
    }
}
