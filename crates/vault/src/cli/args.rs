use clap::{Parser, Subcommand, ValueEnum};
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
#[command(after_help = "Exit codes: 0 ok, 1 error, 2 usage, 25 a value failed to decrypt, \
51 MAC mismatch, 128 no identity opens the file (as sops).")]
pub struct Args {
    /// The encrypted file [default: $LITEKEYS_FILE, else the nearest secrets/global.enc.env]
    #[arg(short, long, global = true, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// auto: native when every key is age, else the sops binary ($LITEKEYS_SOPS or sops on PATH)
    #[arg(long, global = true, default_value = "auto", value_parser = parse_backend)]
    pub backend: Backend,

    #[command(subcommand)]
    pub command: Command,
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse()
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
    },
    /// Verify the MAC and show recipients, lastmodified and the number of values (never a value)
    Check,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    /// KEY=value lines, newlines as \n (sops' dotenv)
    Dotenv,
    /// One JSON object, keys in file order
    Json,
    /// `export KEY='value'` lines, safe to eval for any value
    Shell,
}
