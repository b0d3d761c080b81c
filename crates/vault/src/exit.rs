//! The one exit-code table of every litekeys binary (`litekeys`,
//! `litekeys-rotate`, `litekeys-watch`): the same condition gets the same
//! code everywhere. sops' codes where sops has one, so scripts written
//! against sops keep working. `--help` and the README's table are rendered
//! from [`Exit::ALL`]; a test holds the README to it.

use std::fmt::Write as _;

/// Why a litekeys binary exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    Ok,
    Error,
    Usage,
    BadInput,
    Locked,
    ChangedUnderneath,
    CannotWrite,
    Keyring,
    Recipients,
    Untrusted,
    Drift,
    RolledBack,
    RollbackIncomplete,
    Found,
    DecryptValue,
    MacMismatch,
    CommandCannotRun,
    CommandNotFound,
    NoIdentity,
    AlreadyEncrypted,
}

impl Exit {
    /// Every code, in numeric order.
    pub const ALL: [Exit; 20] = [
        Exit::Ok,
        Exit::Error,
        Exit::Usage,
        Exit::BadInput,
        Exit::Locked,
        Exit::ChangedUnderneath,
        Exit::CannotWrite,
        Exit::Keyring,
        Exit::Recipients,
        Exit::Untrusted,
        Exit::Drift,
        Exit::RolledBack,
        Exit::RollbackIncomplete,
        Exit::Found,
        Exit::DecryptValue,
        Exit::MacMismatch,
        Exit::CommandCannotRun,
        Exit::CommandNotFound,
        Exit::NoIdentity,
        Exit::AlreadyEncrypted,
    ];

    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Error => 1,
            // clap's own code for bad arguments.
            Exit::Usage => 2,
            Exit::BadInput => 3,
            Exit::Locked => 4,
            Exit::ChangedUnderneath => 5,
            Exit::CannotWrite => 6,
            Exit::Keyring => 7,
            Exit::Recipients => 8,
            Exit::Untrusted => 9,
            Exit::Drift => 10,
            Exit::RolledBack => 11,
            Exit::RollbackIncomplete => 12,
            Exit::Found => 13,
            Exit::DecryptValue => 25,
            Exit::MacMismatch => 51,
            // The shell's codes for a command that cannot run / is not found.
            Exit::CommandCannotRun => 126,
            Exit::CommandNotFound => 127,
            Exit::NoIdentity => 128,
            Exit::AlreadyEncrypted => 203,
        }
    }

    /// The name tests and scripts use (`locked`, `rolled-back`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Error => "error",
            Exit::Usage => "usage",
            Exit::BadInput => "bad-input",
            Exit::Locked => "locked",
            Exit::ChangedUnderneath => "changed-underneath",
            Exit::CannotWrite => "cannot-write",
            Exit::Keyring => "keyring",
            Exit::Recipients => "recipients",
            Exit::Untrusted => "untrusted",
            Exit::Drift => "drift",
            Exit::RolledBack => "rolled-back",
            Exit::RollbackIncomplete => "rollback-incomplete",
            Exit::Found => "found",
            Exit::DecryptValue => "decrypt-value",
            Exit::MacMismatch => "mac-mismatch",
            Exit::CommandCannotRun => "command-cannot-run",
            Exit::CommandNotFound => "command-not-found",
            Exit::NoIdentity => "no-identity",
            Exit::AlreadyEncrypted => "already-encrypted",
        }
    }

    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Error => {
                "error: an unreadable or malformed file, a missing key, a failed service or watch setup; nothing was changed"
            }
            Exit::Usage => {
                "usage: bad arguments, a bad litekeys.toml, or refused as asked (--salt with a database, init over a file, declined, no service manager to restart with here: use --no-restart)"
            }
            Exit::BadInput => {
                "a key, value or plaintext line litekeys cannot take (non-UTF-8, NUL, `=`, …)"
            }
            Exit::Locked => "another litekeys or sops write holds the source's lock; try again",
            Exit::ChangedUnderneath => "the file changed between litekeys reading and replacing it",
            Exit::CannotWrite => "the file or its directory cannot be written",
            Exit::Keyring => "no OS keyring is reachable, or it failed",
            Exit::Recipients => "a recipient change refused (the last one, not an age recipient)",
            Exit::Untrusted => {
                "a litekeys.toml or source found from the current directory is not trusted yet: nothing was read from the network, run or written (`litekeys-rotate trust FILE`)"
            }
            Exit::Drift => "drift: status found a sink that does not hold the source's values",
            Exit::RolledBack => "verification failed and every file was rolled back",
            Exit::RollbackIncomplete => {
                "rollback incomplete: the message says what is where and what to fix"
            }
            Exit::Found => {
                "scan: a gateway key (current or superseded) is in plaintext where it looked"
            }
            Exit::DecryptValue => {
                "a value failed to decrypt (tampered, or moved from another line or file), as sops"
            }
            Exit::MacMismatch => "MAC mismatch, as sops",
            Exit::CommandCannotRun => "exec: the command cannot run",
            Exit::CommandNotFound => "exec: the command is not found",
            Exit::NoIdentity => "no identity opens the file, as sops",
            Exit::AlreadyEncrypted => "already encrypted, as sops",
        }
    }

    pub fn from_code(code: i32) -> Option<Exit> {
        Exit::ALL.into_iter().find(|e| i32::from(e.code()) == code)
    }

    pub fn process(self) -> std::process::ExitCode {
        std::process::ExitCode::from(self.code())
    }

    /// The table for `--help` (`after_help`), plain text.
    pub fn help_text() -> String {
        let mut out = String::from("Exit codes (the same in every litekeys binary):\n");
        for e in Exit::ALL {
            let _ = writeln!(out, "  {:>3}  {}", e.code(), e.meaning());
        }
        out.pop();
        out
    }

    /// The table as the README shows it (Markdown).
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | name | meaning |\n|---|---|---|\n");
        for e in Exit::ALL {
            let _ = writeln!(out, "| {} | `{}` | {} |", e.code(), e.name(), e.meaning());
        }
        out
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        e.process()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_in_order() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), codes.len());
        let names: HashSet<_> = Exit::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), Exit::ALL.len());
        for e in Exit::ALL {
            assert_eq!(Exit::from_code(e.code().into()), Some(e));
        }
    }
}
