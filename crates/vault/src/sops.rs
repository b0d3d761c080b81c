//! The `sops` process backend: for files whose keys litekeys does not open
//! natively (pgp, kms, vault transit, key groups). Runs the real binary
//! through `std::process`; secrets only ever travel on pipes.

use crate::error::Error;
use crate::plaintext::Plaintext;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

/// The sops binary: `$LITEKEYS_SOPS`, else `sops` on PATH.
pub fn program() -> OsString {
    std::env::var_os("LITEKEYS_SOPS")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "sops".into())
}

fn command() -> Command {
    let mut cmd = Command::new(program());
    cmd.env("SOPS_DISABLE_VERSION_CHECK", "1");
    cmd
}

/// `sops decrypt --input-type dotenv --output-type dotenv FILE`.
pub fn decrypt(path: &Path) -> Result<Plaintext, Error> {
    let out = run(
        path,
        command()
            .args([
                "decrypt",
                "--input-type",
                "dotenv",
                "--output-type",
                "dotenv",
            ])
            .arg(path),
        None,
    )?;
    Plaintext::from_dotenv(&out).map_err(|source| Error::Format {
        path: path.to_path_buf(),
        source,
    })
}

/// `sops set --value-stdin FILE '["KEY"]'` with the value as a JSON string
/// on stdin: never in argv.
pub fn set(path: &Path, key: &str, value: &[u8]) -> Result<(), Error> {
    let value = std::str::from_utf8(value).map_err(|_| Error::Sops {
        path: path.to_path_buf(),
        code: 1,
        message: format!("the value of {key} is not UTF-8; sops set takes JSON strings"),
    })?;
    let json = Zeroizing::new(serde_json::to_string(value).expect("a string serialises"));
    let index = serde_json::to_string(&[key]).expect("a key serialises");
    run(
        path,
        command()
            .args([
                "set",
                "--input-type",
                "dotenv",
                "--output-type",
                "dotenv",
                "--value-stdin",
            ])
            .arg(path)
            .arg(index),
        Some(json.as_bytes()),
    )?;
    Ok(())
}

/// `sops unset FILE '["KEY"]'`.
pub fn unset(path: &Path, key: &str) -> Result<(), Error> {
    let index = serde_json::to_string(&[key]).expect("a key serialises");
    run(
        path,
        command()
            .args(["unset", "--input-type", "dotenv", "--output-type", "dotenv"])
            .arg(path)
            .arg(index),
        None,
    )?;
    Ok(())
}

fn run(path: &Path, cmd: &mut Command, stdin: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::SopsMissing {
            program: program().to_string_lossy().into_owned(),
            source,
        })?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // A sops that exits early closes the pipe; its exit code says why.
        let _ = pipe.write_all(input);
    }
    let out = child.wait_with_output().map_err(|e| Error::io(path, e))?;
    let stdout = Zeroizing::new(out.stdout);
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string();
    Err(Error::Sops {
        path: path.to_path_buf(),
        code: out.status.code().unwrap_or(1),
        message,
    })
}
