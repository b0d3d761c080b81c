//! Typed errors of the vault library. Messages name the file (and line) and
//! say what to do next; they never contain a secret value.

use std::path::PathBuf;
use thiserror::Error;

/// A line the dotenv layout cannot hold.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("line {line}: {}", self.reason())]
    NoEquals { line: usize },
    #[error("line {line}: {}", self.reason())]
    NotUtf8 { line: usize },
    /// A key set twice: readers disagree on which value wins (sops' `get`
    /// takes the first, a shell sourcing the file the last), so none is
    /// taken. Names the second line.
    #[error("line {line}: {}", self.reason())]
    DuplicateKey {
        line: usize,
        first: usize,
        key: String,
    },
}

impl FormatError {
    pub fn line(&self) -> usize {
        match self {
            FormatError::NoEquals { line }
            | FormatError::NotUtf8 { line }
            | FormatError::DuplicateKey { line, .. } => *line,
        }
    }

    pub fn reason(&self) -> String {
        match self {
            FormatError::NoEquals { .. } => "not KEY=value (no '=') and not a #comment".into(),
            FormatError::NotUtf8 { .. } => "not valid UTF-8".into(),
            FormatError::DuplicateKey { first, key, .. } => format!(
                "{key} is set a second time (first on line {first}); readers would disagree on \
                 its value, so litekeys reads none: keep one line (`sops edit`)"
            ),
        }
    }
}

/// `sops_*` metadata that does not describe an encrypted file.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error(
        "no sops metadata (sops_lastmodified): this is not a sops-encrypted file; encrypt it with `litekeys encrypt`"
    )]
    Missing,
    #[error("malformed sops metadata key {0}")]
    BadKey(String),
    #[error("sops_lastmodified {0:?} is not an RFC 3339 time")]
    BadLastModified(String),
    #[error("sops_age__list_{0} lacks its recipient or its enc")]
    IncompleteAge(usize),
    #[error("the sops metadata lists no key that can open the file")]
    NoKeys,
    #[error(
        "the sops metadata sets more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, \
         encrypted_regex, unencrypted_comment_regex, encrypted_comment_regex"
    )]
    SeveralRules,
}

#[derive(Debug, Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}:{}: {}", path.display(), source.line(), source.reason())]
    Format { path: PathBuf, source: FormatError },

    #[error("{}: {source}", path.display())]
    Metadata {
        path: PathBuf,
        source: MetadataError,
    },

    #[error("{}: {detail}", path.display())]
    NoIdentity { path: PathBuf, detail: String },

    #[error(
        "{}:{line}: the value of {key} does not decrypt with this file's data key (tampered, or moved from another line or file)",
        path.display()
    )]
    Value {
        path: PathBuf,
        line: usize,
        key: String,
    },

    #[error("{}:{line}: the value of {key} is not a valid {kind}", path.display())]
    ValueType {
        path: PathBuf,
        line: usize,
        key: String,
        kind: String,
    },

    #[error("{}: MAC mismatch: the file was changed outside sops/litekeys; restore it from git or re-create it", path.display())]
    MacMismatch { path: PathBuf },

    #[error("{}: {kinds} keys cannot be opened natively; use --backend sops (or auto)", path.display())]
    NotNative { path: PathBuf, kinds: String },

    #[error("{}: sops exited with {code}: {message}", path.display())]
    Sops {
        path: PathBuf,
        code: i32,
        message: String,
    },

    #[error("{}: already encrypted (it holds sops_ metadata); decrypt it first or use `litekeys set`", path.display())]
    AlreadyEncrypted { path: PathBuf },

    #[error("{}: {reason}", path.display())]
    Recipients { path: PathBuf, reason: String },

    #[error("{}: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },

    /// The file lists recipients its pin (`.sops.yaml`) does not: added by
    /// someone who could write the file; the data key is not wrapped anew
    /// while they are there.
    #[error(
        "{}: lists recipients outside the pin in {}: {}; litekeys wraps the data key only for \
         pinned recipients: remove them (`litekeys recipients remove R`), or pin them in {} \
         if they belong",
        path.display(),
        origin.display(),
        recipients.join(", "),
        origin.display()
    )]
    Unpinned {
        path: PathBuf,
        origin: PathBuf,
        recipients: Vec<String>,
    },

    #[error("cannot run sops ({program}): {source}; install sops 3.11 or set LITEKEYS_SOPS")]
    SopsMissing {
        program: String,
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
