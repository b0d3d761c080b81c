//! The lab of the write-path suites (`tests/write/`): a sandbox with a real
//! age identity, the real sops, and helpers to run both on the same file.

use crate::{Outcome, Run, Sandbox, Sops, Test};
use std::path::{Path, PathBuf};
use vault::Exit;

pub struct W {
    pub sb: Sandbox,
    pub sops: Sops,
    /// The identity file of `recipient`, made by `age-keygen`.
    pub key: PathBuf,
    pub recipient: String,
}

/// `None` (the test returns) when a peer is missing outside CI.
pub fn setup() -> Option<W> {
    let sops = Sops::find()?;
    let sb = Sandbox::new();
    let recipient = sb.age_keygen("keys/main.txt")?;
    let key = sb.path("keys/main.txt");
    Some(W {
        sb,
        sops,
        key,
        recipient,
    })
}

/// `n` values with distinct names and values, one per line.
pub fn values(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "KEY_{i:05}=value-{i}-sk-{:08x}\n",
                i * 2_654_435_761 % 4_294_967_291
            )
        })
        .collect()
}

impl W {
    /// `sops VERB --input-type dotenv --output-type dotenv` in the sandbox.
    pub fn sops(&self, verb: &str) -> Run {
        self.sops.dotenv(&self.sb, verb)
    }

    /// `sops encrypt` of `plain` to this sandbox's recipient.
    pub fn sops_encrypt(&self, name: &str, plain: &str, flags: &[&str]) -> PathBuf {
        let input = self.sb.write(format!("{name}.plain.env"), plain);
        let out = self
            .sops("encrypt")
            .args(["--age", &self.recipient])
            .args(flags)
            .arg(&input)
            .success();
        self.sb.write(format!("{name}.enc.env"), &out.stdout)
    }

    /// `sops decrypt FILE` with the identity file `key`.
    pub fn sops_decrypt(&self, file: &Path, key: &Path) -> Outcome {
        self.sops
            .decrypt(&self.sb, file)
            .env("SOPS_AGE_KEY_FILE", key)
            .output()
    }

    /// What sops prints for `plain` once encrypted and decrypted by sops:
    /// the plaintext every writer must round-trip to.
    pub fn expected(&self, plain: &str) -> Vec<u8> {
        let file = self.sops_encrypt("expected", plain, &[]);
        let out = self.sops_decrypt(&file, &self.key);
        assert_eq!(out.exit(), Some(Exit::Ok), "{}", out.stderr);
        out.stdout
    }

    /// [`W::lk`] as a [`Test`]; relative file paths are under the sandbox.
    pub fn test(&self, file: &Path) -> Test {
        Test::of(self.lk(file), self.sb.path(""))
    }

    /// litekeys on `file` with this sandbox's identity.
    pub fn lk(&self, file: &Path) -> Run {
        self.sb
            .cmd("litekeys")
            .env("SOPS_AGE_KEY_FILE", &self.key)
            .arg("-f")
            .arg(file)
    }

    /// `sops decrypt` succeeds and prints exactly `expected`.
    pub fn assert_sops_reads(&self, file: &Path, expected: &[u8]) {
        let out = self.sops_decrypt(file, &self.key);
        assert_eq!(
            out.exit(),
            Some(Exit::Ok),
            "sops decrypt {}: {}",
            file.display(),
            out.stderr
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(expected),
            "sops decrypt {}",
            file.display()
        );
    }

    /// An executable shell script in the sandbox.
    pub fn script(&self, rel: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.sb.write(rel, format!("#!/bin/sh\n{body}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

/// Lines of `a` and `b` that differ, as (old, new) pairs by position; the
/// files must have the same number of lines.
pub fn changed_lines(a: &[u8], b: &[u8]) -> Vec<(String, String)> {
    let a: Vec<&[u8]> = a.split(|&c| c == b'\n').collect();
    let b: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    assert_eq!(a.len(), b.len(), "line count changed");
    a.iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| {
            (
                String::from_utf8_lossy(x).into_owned(),
                String::from_utf8_lossy(y).into_owned(),
            )
        })
        .collect()
}

/// The key of a dotenv line.
pub fn key_of(line: &str) -> &str {
    line.split_once('=').map_or(line, |(k, _)| k)
}
