//! The real sops on dotenv files, the one way the suites run it: every
//! verb with `--input-type dotenv --output-type dotenv` (litekeys reads
//! and writes no other format), in a sandbox's environment.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::{Run, Sandbox, peer};

/// The format flags of every sops call on a litekeys file.
pub const DOTENV: [&str; 4] = ["--input-type", "dotenv", "--output-type", "dotenv"];

/// The real sops: the project venv's, else PATH's.
#[derive(Clone, Debug)]
pub struct Sops(PathBuf);

impl Sops {
    /// `None` (a loud skip outside CI) when sops is missing.
    pub fn find() -> Option<Sops> {
        peer("sops").map(Sops)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `sops VERB --input-type dotenv --output-type dotenv` in `sb`; the
    /// caller adds the verb's flags, then the file (sops reads no flag
    /// after it).
    pub fn dotenv(&self, sb: &Sandbox, verb: &str) -> Run {
        sb.program(&self.0).arg(verb).args(DOTENV)
    }

    /// `plain` encrypted for `recipient`; the plaintext only on a pipe.
    pub fn encrypt(&self, sb: &Sandbox, recipient: &str, plain: &str) -> Vec<u8> {
        self.dotenv(sb, "encrypt")
            .args(["--age", recipient, "/dev/stdin"])
            .stdin(plain)
            .success()
            .stdout
    }

    /// `sops decrypt FILE`, with the sandbox's default identity unless the
    /// caller sets `SOPS_AGE_KEY_FILE`.
    pub fn decrypt(&self, sb: &Sandbox, file: &Path) -> Run {
        self.dotenv(sb, "decrypt").arg(file)
    }

    /// `sops set --value-stdin FILE '["KEY"]'`: `value` goes JSON-encoded
    /// on stdin, the way sops takes it (never in argv).
    pub fn set(&self, sb: &Sandbox, file: &Path, key: &str, value: &str) -> Run {
        self.dotenv(sb, "set")
            .arg("--value-stdin")
            .arg(file)
            .arg(serde_json::to_string(&[key]).expect("a key serialises"))
            .stdin(serde_json::to_string(value).expect("a value serialises"))
    }
}

impl AsRef<OsStr> for Sops {
    fn as_ref(&self) -> &OsStr {
        self.0.as_os_str()
    }
}
