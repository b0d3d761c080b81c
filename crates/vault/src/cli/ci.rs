//! `litekeys ci`: values into a CI runner's environment.

use super::args::{CiTarget, Input};
use super::exit::Failure;
use super::input;
use super::select::{checked_env, select};
use super::shell_quote::{push_export, push_single_quoted};
use std::fs::{self, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use vault::Exit;
use vault::Secret;
use zeroize::Zeroizing;

type Values<'a> = Vec<(&'a str, &'a Secret, usize)>;

/// Which values a target takes: `--only` and `--allow-env`.
struct Pick<'a> {
    only: Option<&'a [String]>,
    allow_env: &'a [String],
}

fn pick<'a>(only: &'a Option<Vec<String>>, allow_env: &'a [String]) -> Pick<'a> {
    Pick {
        only: only.as_deref(),
        allow_env,
    }
}

pub(crate) fn run(input: &Input, target: &CiTarget) -> Result<Vec<u8>, Failure> {
    match target {
        CiTarget::Github { only, allow_env } => github(input, &pick(only, allow_env)),
        CiTarget::Gitlab { only, allow_env } => gitlab(input, &pick(only, allow_env)),
        CiTarget::EnvFile {
            path,
            only,
            allow_env,
        } => env_file(input, path, &pick(only, allow_env)),
    }
}

/// Opens the file, selects and checks the values, and hands them to `each`.
fn with_values<T>(
    input: &Input,
    pick: &Pick<'_>,
    each: impl FnOnce(&Path, Values<'_>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let (path, plain) = input::open(input)?;
    let values = select(&path, &plain, pick.only)?;
    let env = checked_env(&path, &values, pick.allow_env)?;
    each(&path, env)
}

fn utf8<'a>(path: &Path, name: &str, value: &'a Secret, line: usize) -> Result<&'a str, Failure> {
    value.as_str().ok_or_else(|| {
        Failure::new(
            Exit::Usage,
            format!(
                "{}:{line}: the value of {name} is not UTF-8, which the runner cannot read; \
                 use --only to leave it out",
                path.display()
            ),
        )
    })
}

/// GitHub Actions: masks on stdout first, so the runner hides every value
/// before it can show up anywhere, then the values into `$GITHUB_ENV`.
fn github(input: &Input, pick: &Pick<'_>) -> Result<Vec<u8>, Failure> {
    let env_file = std::env::var_os("GITHUB_ENV")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Failure::new(
                Exit::Usage,
                "ci github: $GITHUB_ENV is not set; run this in a GitHub Actions step \
                 (or use `ci env-file PATH`)",
            )
        })?;
    let env_file = Path::new(&env_file);
    let (masks, appended) = with_values(input, pick, |path, values| {
        let mut masks = Zeroizing::new(Vec::new());
        let mut appended = Zeroizing::new(Vec::new());
        for (name, value, line) in values {
            let text = utf8(path, name, value, line)?;
            push_masks(&mut masks, text);
            push_heredoc(&mut appended, path, name, text, line)?;
        }
        Ok((masks, appended))
    })?;
    // The runner creates the file; appending (as @actions/core does) keeps
    // what earlier commands of the step wrote. Opened before any output, so
    // a bad path fails with nothing printed.
    let mut file = OpenOptions::new()
        .append(true)
        .open(env_file)
        .map_err(|e| {
            Failure::new(
                Exit::CannotWrite,
                format!(
                    "{}: cannot append to $GITHUB_ENV: {e}; it must be the file the runner made",
                    env_file.display()
                ),
            )
        })?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&masks)
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            Failure::new(
                Exit::Error,
                format!(
                    "ci github: cannot write the masks to stdout ({e}); \
                     nothing appended to $GITHUB_ENV"
                ),
            )
        })?;
    // Every entry at once, only after every check passed and every mask is out.
    file.write_all(&appended)
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            Failure::new(
                Exit::CannotWrite,
                format!("{}: cannot append to $GITHUB_ENV: {e}", env_file.display()),
            )
        })?;
    Ok(Vec::new())
}

/// `::add-mask::` for each line of a value (a multi-line value is masked line
/// by line; blank lines are skipped, the runner refuses them), escaped as
/// @actions/core escapes command data: `%` `\r` `\n` as `%25` `%0D` `%0A`.
fn push_masks(out: &mut Vec<u8>, value: &str) {
    for line in value.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        out.extend_from_slice(b"::add-mask::");
        for c in line.chars() {
            match c {
                '%' => out.extend_from_slice(b"%25"),
                '\r' => out.extend_from_slice(b"%0D"),
                _ => {
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        out.push(b'\n');
    }
}

/// `NAME<<DELIM\nvalue\nDELIM\n`, the multi-line form of the runner's env
/// file, with a fresh random delimiter per value (as @actions/core).
fn push_heredoc(
    out: &mut Vec<u8>,
    path: &Path,
    name: &str,
    value: &str,
    line: usize,
) -> Result<(), Failure> {
    let delimiter = format!("ghadelimiter_{:032x}", rand::random::<u128>());
    if value.contains(&delimiter) {
        return Err(Failure::new(
            Exit::Usage,
            format!(
                "{}:{line}: the value of {name} contains its random heredoc delimiter; run again",
                path.display()
            ),
        ));
    }
    out.extend_from_slice(format!("{name}<<{delimiter}\n").as_bytes());
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(format!("\n{delimiter}\n").as_bytes());
    Ok(())
}

/// GitLab CI: `export NAME='value'` lines for `eval "$(litekeys ci gitlab)"`
/// in a job's script. The values reach the commands after it in the same
/// job and nothing is written: a dotenv report would keep them in plaintext
/// as a job artifact, and GitLab has no masking at run time.
fn gitlab(input: &Input, pick: &Pick<'_>) -> Result<Vec<u8>, Failure> {
    with_values(input, pick, |_, values| {
        let mut out = Vec::new();
        for (name, value, _) in values {
            push_export(&mut out, name, value.expose());
        }
        Ok(out)
    })
}

/// `KEY='value'` lines a POSIX shell reads back with `set -a; . PATH`.
fn env_file(input: &Input, out_path: &Path, pick: &Pick<'_>) -> Result<Vec<u8>, Failure> {
    let contents = with_values(input, pick, |_, values| {
        let mut out = Zeroizing::new(Vec::new());
        for (name, value, _) in values {
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            push_single_quoted(&mut out, value.expose());
            out.push(b'\n');
        }
        Ok(out)
    })?;
    write_private(out_path, &contents)?;
    Ok(Vec::new())
}

/// Atomically replaces `path` with mode 0600. `vault::store::write` keeps the mode
/// of a file it replaces; an existing file readable by others is tightened
/// first, so the secrets never land in a group- or world-readable file.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let cannot = |e: std::io::Error| {
        Failure::new(
            Exit::CannotWrite,
            format!("{}: cannot write: {e}", path.display()),
        )
    };
    let target = vault::store::resolve(path).map_err(cannot)?;
    let loose = fs::metadata(&target).is_ok_and(|md| md.permissions().mode() & 0o077 != 0);
    if loose {
        fs::set_permissions(&target, Permissions::from_mode(0o600)).map_err(cannot)?;
    }
    vault::store::write(path, bytes, 0o600).map_err(cannot)?;
    Ok(())
}
