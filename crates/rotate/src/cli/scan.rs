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
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub(crate) format: FormatArg,
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
/// stderr; found is exit 10 (the drift code: the lead to confirm), nothing
/// found 0, unreadable files with nothing found 1.
pub(crate) fn run(args: &ScanArgs, config: &Config) -> Result<Exit, Error> {
    let known = Known::load(config, &rotate::identities(config))?;
    let paths = if args.paths.is_empty() {
        let cwd = std::env::current_dir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        scan::default_paths(std::env::var_os("HOME").map(PathBuf::from).as_deref(), &cwd)
    } else {
        args.paths.clone()
    };
    let mut skip: Vec<PathBuf> = config.sinks.iter().map(|s| s.path.clone()).collect();
    skip.push(config.state_dir.clone());
    // The source's directory: encrypted files, their locks and backups.
    skip.push(
        config
            .source
            .parent()
            .filter(|d| d.file_name().is_some_and(|n| n == "secrets"))
            .unwrap_or(&config.source)
            .to_path_buf(),
    );
    let options = Options {
        paths,
        no_ignore: args.no_ignore,
        skip,
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
    Ok(if !found.findings.is_empty() {
        Exit::Drift
    } else if found.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Error
    })
}
