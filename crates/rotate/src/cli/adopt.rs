//! `litekeys-rotate adopt`: the arguments, the confirmation, what is
//! printed. The survey and the writing are `rotate::adopt`'s.

use clap::Args;
use rotate::adopt::{self, AdoptError, Roots};
use rotate::config::Env;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use vault::Exit;

#[derive(Args, Debug)]
pub(crate) struct AdoptArgs {
    /// Age recipients of the source (repeatable, or a comma list as sops takes); default:
    /// $SOPS_AGE_RECIPIENTS or your identities', as `init`
    #[arg(long = "age", value_name = "R1,R2", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub(crate) age: Vec<String>,
    /// LiteLLM's config.yaml; default: ~/.config/litellm/config.yaml, else
    /// /srv/docker/litellm/config.yaml (under $LITEKEYS_ADOPT_ROOT when set)
    #[arg(long, value_name = "PATH")]
    pub(crate) litellm_config: Option<PathBuf>,
}

fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}

fn survey_and_write(args: &AdoptArgs, global: &Global, env: &Env) -> Result<(), AdoptError> {
    let (dry_run, yes) = (global.dry_run, global.yes);
    // litekeys.toml, and secrets/ next to it: refused before anything is read.
    let config = match &global.config {
        Some(c) if c.is_absolute() => c.clone(),
        Some(c) => env.cwd.join(c),
        None => env.cwd.join(rotate::config::FILE_NAME),
    };
    let dir = config.parent().unwrap_or(&env.cwd).to_path_buf();
    adopt::check_absent(&config)?;
    // Nobody to ask: refused before anything is read.
    if !yes && !dry_run && !std::io::stdin().is_terminal() {
        return Err(AdoptError::Unattended);
    }
    let roots = Roots::new(env, args.litellm_config.as_deref());
    let survey = adopt::survey(&roots)?;
    for problem in survey.problems() {
        eprintln!("litekeys-rotate: adopt: {problem}");
    }
    let mut out = std::io::stdout();
    let _ = out.write_all(survey.table().as_bytes());
    if dry_run {
        let _ = writeln!(
            out,
            "\n--dry-run: nothing written; adopt would write {} and {}",
            config.display(),
            dir.join(rotate::config::DEFAULT_SOURCE).display()
        );
        return Ok(());
    }
    if !yes
        && !ask(&format!(
            "Write {} and the encrypted {}?",
            config.display(),
            dir.join(rotate::config::DEFAULT_SOURCE).display()
        ))
    {
        return Err(AdoptError::Declined);
    }
    let written = adopt::write(&survey, &config, env, &args.age)?;
    let _ = writeln!(
        out,
        "\nwrote {} for {} recipient(s): {}",
        written.source.display(),
        written.recipients.len(),
        written
            .keys
            .iter()
            .map(|(k, fp)| format!("{k} {fp}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "wrote {} (trusted); `litekeys-rotate status` shows the sinks",
        written.config.display()
    );
    Ok(())
}

/// The global options adopt takes: `--config` names the litekeys.toml to
/// write (default: ./litekeys.toml), `--dry-run`, `--yes`.
pub(crate) struct Global {
    pub(crate) config: Option<PathBuf>,
    pub(crate) dry_run: bool,
    pub(crate) yes: bool,
}

/// Runs adopt; an error is printed here, in one line.
pub(crate) fn run(args: &AdoptArgs, global: &Global, env: &Env) -> Exit {
    match survey_and_write(args, global, env) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("litekeys-rotate: adopt: {e}");
            e.exit()
        }
    }
}
