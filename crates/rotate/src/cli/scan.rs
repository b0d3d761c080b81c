//! `litekeys-rotate scan`: the arguments, the default places, the exit code.

use clap::{Args, ValueEnum};
use rotate::Error;
use rotate::config::Config;
use rotate::scan::{self, Format, Known, Options};
use std::io::Write;
use std::path::PathBuf;
use vault::Exit;

#[derive(Args, Debug)]
pub(crate) struct ScanArgs {
    /// Files and directories to scan; default: the current repository, the shell histories
    /// (bash, zsh, fish), ~/.config, ~/.factory, ~/.claude
    pub(crate) paths: Vec<PathBuf>,
    /// Also scan what .gitignore (and .ignore, the git excludes) leave out
    #[arg(long)]
    pub(crate) no_ignore: bool,
    /// How to print the findings (never a key: names and fingerprints)
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub(crate) format: FormatArg,
    /// Also scan the history of the paths' git repositories: every blob reachable from any ref
    /// (a finding names the first commit that holds it)
    #[arg(long)]
    pub(crate) git: bool,
    /// Scan only what is staged in the current repository (the index): for a pre-commit hook
    #[arg(long, conflicts_with = "git")]
    pub(crate) staged: bool,
    /// Also report `sk-` keys shaped like LiteLLM's that are neither current nor old, as
    /// `unknown` (a lower severity: they alone leave the exit code 0)
    #[arg(long)]
    pub(crate) unknown: bool,
    /// Write .git/hooks/pre-commit running `litekeys scan --staged` (never over another hook)
    #[arg(long, conflicts_with_all = ["git", "staged"])]
    pub(crate) install_hook: bool,
}

/// The pre-commit hook `--install-hook` writes.
const HOOK: &str = "#!/bin/sh\n# litekeys: refuse a commit that holds a gateway key, current or old.\nexec litekeys scan --staged\n";

/// Writes the pre-commit hook of the current repository.
fn install_hook() -> Result<Exit, Error> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .output();
    let dir = match out {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim_end()),
        _ => {
            eprintln!("litekeys-rotate: scan --install-hook: not in a git repository");
            return Ok(Exit::Usage);
        }
    };
    let hook = dir.join("pre-commit");
    let io = |source| Error::Io {
        path: hook.clone(),
        source,
    };
    if let Ok(existing) = std::fs::read_to_string(&hook) {
        if !existing.contains("litekeys scan --staged") {
            eprintln!(
                "litekeys-rotate: {}: another pre-commit hook is there; add `litekeys scan --staged` to it",
                hook.display()
            );
            return Ok(Exit::CannotWrite);
        }
    }
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::write(&hook, HOOK).map_err(io)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    let _ = writeln!(std::io::stdout(), "wrote {}", hook.display());
    Ok(Exit::Ok)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum FormatArg {
    /// `path:line: NAME (state, fingerprint)`
    Text,
    /// `{"findings": [...]}`
    Json,
    /// SARIF 2.1.0, for code scanning
    Sarif,
}

/// Scans, prints the findings on stdout and what could not be read on
/// stderr; a key of ours found is exit 13 (`found`), nothing (or only
/// unknown `sk-` keys) found 0, unreadable files with nothing found 1.
pub(crate) fn run(args: &ScanArgs, config: &Config) -> Result<Exit, Error> {
    if args.install_hook {
        return install_hook();
    }
    let known = Known::load(config, &rotate::identities(config))?.with_unknown(args.unknown);
    let paths = if args.paths.is_empty() && args.staged {
        vec![PathBuf::from(".")]
    } else if args.paths.is_empty() {
        let cwd = std::env::current_dir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        scan::default_paths(std::env::var_os("HOME").map(PathBuf::from).as_deref(), &cwd)
    } else {
        args.paths.clone()
    };
    let options = Options {
        paths,
        no_ignore: args.no_ignore,
        skip: skips(config),
        git: args.git,
        staged: args.staged,
    };
    let found = scan::scan(&options, &known);
    for problem in &found.problems {
        eprintln!("litekeys-rotate: scan: {problem}");
    }
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
    };
    let _ = std::io::stdout().write_all(found.render(format).as_bytes());
    Ok(if found.found_ours() {
        Exit::Found
    } else if found.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

/// What a scan never reads: the sinks, the state directory, the source's
/// `secrets/` (encrypted files, their locks and backups).
fn skips(config: &Config) -> Vec<PathBuf> {
    let mut skip: Vec<PathBuf> = config.sinks.iter().map(|s| s.path.clone()).collect();
    skip.push(config.state_dir.clone());
    skip.push(
        config
            .source
            .parent()
            .filter(|d| d.file_name().is_some_and(|n| n == "secrets"))
            .unwrap_or(&config.source)
            .to_path_buf(),
    );
    skip
}

/// `status --scan`: how many findings of current and of superseded keys
/// scan's default places hold.
pub(crate) fn count(config: &Config) -> Result<(usize, usize), Error> {
    let known = Known::load(config, &rotate::identities(config))?;
    let cwd = std::env::current_dir().map_err(|source| Error::Io {
        path: ".".into(),
        source,
    })?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let options = Options {
        paths: scan::default_paths(home.as_deref(), &cwd),
        skip: skips(config),
        ..Options::default()
    };
    let found = scan::scan(&options, &known);
    let old = found
        .findings
        .iter()
        .filter(|f| f.state == scan::State::Old)
        .count();
    Ok((found.findings.len() - old, old))
}

/// The `scan` line of `status`.
pub(crate) fn count_line(current: usize, old: usize) -> String {
    if current + old == 0 {
        "scan    no gateway key in plaintext in the default places\n".into()
    } else {
        format!(
            "scan    {current} current and {old} superseded key(s) in plaintext in the default places; `litekeys scan` lists them\n"
        )
    }
}

/// After a rotation: one line when the keys just superseded still lie in
/// the default places (a fast scan for their fingerprints only).
pub(crate) fn hint(config: &Config, done: &rotate::Done) -> Option<String> {
    let old: Vec<(String, String)> = done
        .plan
        .keys
        .iter()
        .filter_map(|k| Some((k.name.clone(), k.old.clone()?)))
        .collect();
    let cwd = std::env::current_dir().ok()?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let options = Options {
        paths: scan::default_paths(home.as_deref(), &cwd),
        skip: skips(config),
        ..Options::default()
    };
    let found = scan::scan(&options, &Known::new(Vec::new(), old));
    let first = found.findings.first()?;
    Some(format!(
        "the old key is still in plaintext in {} place(s), e.g. {}:{} ({}); `litekeys scan` lists them",
        found.findings.len(),
        first.path.display(),
        first.line,
        first.key
    ))
}
