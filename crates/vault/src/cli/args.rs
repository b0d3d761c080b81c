use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;
use vault::Backend;

/// Keep LiteLLM and coding-agent keys in one sops+age encrypted dotenv file.
///
/// Reads and writes sops 3.11 dotenv files natively (age); hands other key
/// types to the `sops` binary. Identities come from SOPS_AGE_KEY,
/// SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, the OS keyring, then
/// $XDG_CONFIG_HOME/sops/age/keys.txt.
#[derive(Parser, Debug)]
#[command(name = "litekeys", version, max_term_width = 100)]
#[command(after_help = vault::Exit::help_text())]
pub(crate) struct Args {
    #[command(flatten)]
    pub input: Input,

    #[command(subcommand)]
    pub command: Command,
}

/// Which file, read how: the options every subcommand takes.
#[derive(ClapArgs, Debug)]
pub(crate) struct Input {
    /// The encrypted file [default: $LITEKEYS_FILE, else the nearest secrets/global.enc.env]
    #[arg(short, long, global = true, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// auto: native when every key is age, else the sops binary ($LITEKEYS_SOPS or sops on PATH)
    #[arg(long, global = true, default_value = "auto", value_parser = parse_backend)]
    pub backend: Backend,
}

/// `litekeys exec` parsed on its own. Building the whole command tree (every
/// subcommand, its arguments and help) was a third of exec's instructions
/// before the command starts, and exec runs in front of every wrapped
/// command. Same name, options and help as `exec` in [`Args`] (a test holds
/// them equal); anything else goes to [`Args`].
#[derive(Parser, Debug)]
#[command(name = "litekeys", max_term_width = 100)]
pub(crate) struct ExecOnly {
    #[command(flatten)]
    pub input: Input,

    #[command(subcommand)]
    pub command: ExecCommand,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ExecCommand {
    #[command(about = EXEC_ABOUT)]
    Exec(ExecArgs),
}

const EXEC_ABOUT: &str =
    "Run a command with the decrypted values in its environment (replaces this process)";

impl ExecOnly {
    /// Whether argv names `exec` as its subcommand, with only the global
    /// options before it. A miss only costs time: [`Args`] parses the rest.
    pub(crate) fn wants(argv: &[OsString]) -> bool {
        let mut rest = argv.iter().skip(1);
        while let Some(arg) = rest.next() {
            let Some(arg) = arg.to_str() else {
                return false;
            };
            match arg {
                "exec" => return true,
                "-f" | "--file" | "--backend" => {
                    rest.next();
                }
                _ if arg.starts_with("--file=")
                    || arg.starts_with("--backend=")
                    || (arg.starts_with("-f") && arg.len() > 2) => {}
                _ => return false,
            }
        }
        false
    }
}

fn parse_backend(s: &str) -> Result<Backend, vault::UnknownBackend> {
    s.parse()
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Print the plaintext exactly as `sops decrypt --output-type dotenv` does
    Decrypt,
    /// Print one value, raw, with no trailing newline (as `sops decrypt --extract`)
    Get {
        /// The key, exactly as written before the first `=`
        key: String,
    },
    /// Print the values for another reader
    Export {
        #[arg(long, value_enum, default_value = "dotenv")]
        format: ExportFormat,
        /// Only these keys (comma-separated), in file order
        #[arg(long, value_delimiter = ',', value_name = "K1,K2")]
        only: Option<Vec<String>>,
        /// Export NAME although it changes how programs run (repeatable)
        #[arg(long = "allow-env", value_name = "NAME", long_help = vault::allow_env_help())]
        allow_env: Vec<String>,
    },
    /// Verify the MAC and show recipients, lastmodified and the number of values (never a value)
    Check,
    #[command(about = EXEC_ABOUT)]
    Exec(ExecArgs),
    /// Print what an .envrc evaluates: `eval "$(litekeys direnv)"`
    ///
    /// `watch_file` on the encrypted file (direnv reloads when it changes), then
    /// one `export NAME='value'` per value: single-quoted, each ' written '\'',
    /// so nothing in a value is expanded or run. Prints nothing on failure.
    Direnv {
        /// Print a `use_litekeys` function for ~/.config/direnv/direnvrc instead;
        /// then `use litekeys [FILE [--only K1,K2]]` in an .envrc
        #[arg(long)]
        stdlib: bool,
        /// Only these keys (comma-separated)
        #[arg(
            long,
            value_delimiter = ',',
            value_name = "K1,K2",
            conflicts_with = "stdlib"
        )]
        only: Option<Vec<String>>,
        /// Export NAME although it changes how programs run (repeatable)
        #[arg(long = "allow-env", value_name = "NAME", long_help = vault::allow_env_help())]
        allow_env: Vec<String>,
    },
    /// Hand the values to a CI runner
    Ci {
        #[command(subcommand)]
        target: CiTarget,
    },
    /// Add or replace KEY with a value read from stdin (never from argv)
    ///
    /// From a terminal: one line, not echoed. From a pipe: every byte, as is
    /// (`printf %s "$v" | litekeys set KEY`). KEY is a variable name (letters,
    /// digits, _, not starting with a digit), as `exec`, `direnv` and `ci` need.
    Set {
        key: OsString,
        /// Take an empty value from a pipe (refused by default: an empty or
        /// closed stdin is more often a mistake than a value)
        #[arg(long)]
        allow_empty: bool,
        /// Take a KEY that is not a variable name (sops dotenv allows any key
        /// without `=`); `exec`, `direnv` and `ci` then refuse the file unless
        /// `--only` leaves it out
        #[arg(long)]
        any_key: bool,
    },
    /// Remove KEY
    Unset { key: OsString },
    /// Encrypt a plaintext dotenv file (as `sops encrypt`)
    Encrypt(EncryptArgs),
    /// List, add or remove the age recipients of the file (as `sops updatekeys`)
    Recipients {
        #[command(subcommand)]
        action: RecipientsAction,
    },
    /// New data key, every value re-encrypted (as `sops rotate`)
    RotateDataKey,
    /// Keep an age identity in the OS keyring
    Identity {
        #[command(subcommand)]
        action: IdentityAction,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages of litekeys into DIR
    Manpages { dir: PathBuf },
    /// Create the encrypted source with fresh gateway keys (runs `litekeys-rotate init`)
    #[command(disable_help_flag = true)]
    Init {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run litekeys-rotate (rotate the gateway keys everywhere)
    #[command(disable_help_flag = true)]
    Rotate {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run litekeys-watch (restart the gateway when its secrets change)
    #[command(disable_help_flag = true)]
    Watch {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Trust a source or litekeys.toml found from the current directory, after reading it
    /// (runs `litekeys-rotate trust [FILE]`)
    #[command(disable_help_flag = true)]
    Trust {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Find the gateway keys (current and superseded) in plaintext files, by fingerprint
    /// (runs `litekeys-rotate scan`)
    #[command(disable_help_flag = true)]
    Scan {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Forget that a file was trusted (runs `litekeys-rotate untrust [FILE]`)
    #[command(disable_help_flag = true)]
    Untrust {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

#[derive(ClapArgs, Debug)]
pub(crate) struct ExecArgs {
    /// Only these keys (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "K1,K2")]
    pub only: Option<Vec<String>>,
    /// Start from an empty environment: only the values plus PATH, HOME, USER, TERM
    #[arg(long)]
    pub pristine: bool,
    /// Export NAME although it changes how programs run (repeatable)
    #[arg(long = "allow-env", value_name = "NAME", long_help = vault::allow_env_help())]
    pub allow_env: Vec<String>,
    /// The command and its arguments; litekeys becomes it (execvp), so its exit
    /// status and signals are the command's own
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum CiTarget {
    /// Mask every line of every value (::add-mask:: on stdout, nothing else),
    /// then append each value to $GITHUB_ENV as NAME<<DELIM, value, DELIM with a
    /// fresh random delimiter
    Github {
        /// Only these keys (comma-separated)
        #[arg(long, value_delimiter = ',', value_name = "K1,K2")]
        only: Option<Vec<String>>,
        /// Export NAME although it changes how programs run (repeatable)
        #[arg(long = "allow-env", value_name = "NAME", long_help = vault::allow_env_help())]
        allow_env: Vec<String>,
    },
    /// Print `export NAME='value'` lines for `eval "$(litekeys ci gitlab)"` in a job's script
    ///
    /// Each value in POSIX shell single quotes, each ' written '\'', so nothing
    /// in it is expanded or run; the job's later commands see the values and no
    /// file is written. GitLab cannot mask values at run time: do not trace the
    /// job's shell (`set -x`) around the eval.
    Gitlab {
        /// Only these keys (comma-separated)
        #[arg(long, value_delimiter = ',', value_name = "K1,K2")]
        only: Option<Vec<String>>,
        /// Export NAME although it changes how programs run (repeatable)
        #[arg(long = "allow-env", value_name = "NAME", long_help = vault::allow_env_help())]
        allow_env: Vec<String>,
    },
    /// Write KEY='value' lines to PATH (mode 0600)
    ///
    /// Each value is in POSIX shell single quotes, each ' written '\'' and
    /// newlines kept as they are inside the quotes; read it back with
    /// `set -a; . PATH; set +a`. An existing PATH is made 0600 first.
    EnvFile {
        /// The file to write (replaced atomically)
        path: PathBuf,
        /// Only these keys (comma-separated)
        #[arg(long, value_delimiter = ',', value_name = "K1,K2")]
        only: Option<Vec<String>>,
        /// Export NAME although it changes how programs run (repeatable)
        #[arg(long = "allow-env", value_name = "NAME", long_help = vault::allow_env_help())]
        allow_env: Vec<String>,
    },
}

#[derive(ClapArgs, Debug)]
pub(crate) struct EncryptArgs {
    /// age recipients (comma-separated) [default: the nearest .sops.yaml creation_rules]
    #[arg(long, value_delimiter = ',', value_name = "R1,R2")]
    pub age: Vec<String>,
    #[arg(long, value_name = "RE", group = "rule")]
    pub encrypted_regex: Option<String>,
    #[arg(long, value_name = "RE", group = "rule")]
    pub unencrypted_regex: Option<String>,
    #[arg(long, value_name = "S", group = "rule")]
    pub encrypted_suffix: Option<String>,
    #[arg(long, value_name = "S", group = "rule")]
    pub unencrypted_suffix: Option<String>,
    /// The MAC covers only the encrypted values
    #[arg(long)]
    pub mac_only_encrypted: bool,
    /// Write here instead of stdout
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// The plaintext dotenv file (`-` for stdin)
    pub input: PathBuf,
}

#[derive(Subcommand, Debug)]
pub(crate) enum RecipientsAction {
    /// Print the recipients, one per line
    List,
    /// Wrap the data key for another recipient
    Add { recipient: Vec<String> },
    /// Stop wrapping the data key for a recipient (refuses the last one)
    Remove { recipient: Vec<String> },
}

#[derive(Subcommand, Debug)]
pub(crate) enum IdentityAction {
    /// Store an age identity (from FILE, or stdin) in the OS keyring and print its recipient
    Import {
        /// An age identity file (`age-keygen` output); `-` or none for stdin
        file: Option<PathBuf>,
    },
    /// Generate a new identity straight into the OS keyring and print its recipient
    New,
    /// Print the recipient of the identity in the OS keyring
    Recipient,
    /// Remove the identity from the OS keyring
    Forget,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ExportFormat {
    /// KEY=value lines, newlines as \n (sops' dotenv)
    Dotenv,
    /// One JSON object, keys in file order
    Json,
    /// `export KEY='value'` lines, safe to eval for any value
    Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn exec_help(mut top: clap::Command) -> (String, String) {
        top.build();
        let exec = top.find_subcommand_mut("exec").expect("an exec subcommand");
        (
            exec.render_long_help().to_string(),
            exec.render_usage().to_string(),
        )
    }

    #[test]
    fn both_parsers_are_valid_clap() {
        Args::command().debug_assert();
        ExecOnly::command().debug_assert();
    }

    #[test]
    fn exec_alone_has_the_same_options_and_help_as_exec_in_the_tree() {
        assert_eq!(exec_help(ExecOnly::command()), exec_help(Args::command()));
    }

    #[test]
    fn exec_alone_is_taken_only_when_exec_is_the_subcommand() {
        let argv = |words: &str| -> Vec<OsString> {
            std::iter::once("litekeys")
                .chain(words.split_whitespace())
                .map(OsString::from)
                .collect()
        };
        for yes in [
            "exec -- true",
            "exec --only A -- env",
            "-f x.env exec -- true",
            "--file x.env --backend sops exec -- true",
            "-fx.env --file=y --backend=auto exec true",
            "-f exec exec -- true",
        ] {
            assert!(ExecOnly::wants(&argv(yes)), "{yes}");
        }
        for no in [
            "",
            "decrypt",
            "--help",
            "--version",
            "-f",
            "-- exec",
            "direnv exec",
            "get exec",
            "-f exec",
        ] {
            assert!(!ExecOnly::wants(&argv(no)), "{no}");
        }
    }

    #[test]
    fn exec_alone_parses_as_the_tree_does() {
        let words = [
            "litekeys",
            "-f",
            "x.env",
            "exec",
            "--only",
            "A,B",
            "--pristine",
            "--",
            "env",
            "-i",
        ];
        let ExecOnly {
            input,
            command: ExecCommand::Exec(alone),
        } = ExecOnly::parse_from(words);
        let Args {
            input: tree_input,
            command: Command::Exec(tree),
        } = Args::parse_from(words)
        else {
            panic!("the tree parsed another subcommand");
        };
        assert_eq!(
            format!("{input:?}{alone:?}"),
            format!("{tree_input:?}{tree:?}")
        );
    }
}
