//! The lab of the consumers suites (`tests/consumers/`): a sandbox with an age identity and a
//! file of awkward values encrypted by the real sops.

use crate::{Outcome, Run, Sandbox, Sops};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub struct Fixture {
    pub sb: Sandbox,
    pub sops: Sops,
    pub recipient: String,
    /// The encrypted file of [`Fixture::values`].
    pub file: PathBuf,
    /// Name and exact value, in file order.
    pub values: Vec<(String, String)>,
    /// Created only if something ran a value as shell code.
    pub marker: PathBuf,
}

/// Values that break naive quoting. `None` (after a loud SKIP) when a peer
/// is missing outside CI.
pub fn awkward() -> Option<Fixture> {
    let sops = Sops::find()?;
    let mut sb = Sandbox::new();
    let recipient = sb.age_keygen("keys/main.txt")?;
    sb.set_env("SOPS_AGE_KEY_FILE", sb.path("keys/main.txt"));
    let marker = sb.path("pwned");
    let m = marker.display();
    let values: Vec<(String, String)> = [
        ("SINGLE_QUOTE", "it's 'quoted' ''".to_string()),
        ("DOUBLE_QUOTE", r#"say "hi" \"there\""#.to_string()),
        ("DOLLAR", "$HOME ${HOME} $((6*7)) $1 $$ $".to_string()),
        ("BACKTICK", format!("`touch {m}` and `id`")),
        ("COMMAND_SUBST", format!("$(touch {m})")),
        ("SEMICOLON", format!("x'; touch {m}; echo '")),
        ("NEWLINES", "line one\nline two\n\nline four".to_string()),
        ("TRAILING_NEWLINE", "ends with a newline\n".to_string()),
        ("UNICODE", "ключ 🔑 café 日本語 \u{200b}end".to_string()),
        ("EMPTY", String::new()),
        ("SPACES", "  padded value  ".to_string()),
        ("EQ_HASH", "a=b=c #not a comment # x".to_string()),
        ("BACKSLASH", r"C:\path\to\file \t \\ \".to_string()),
        ("PERCENT", "100%0A done %25 %0D".to_string()),
        ("EOF_LINE", "first\nEOF\nlast".to_string()),
        (
            "LITELLM_MASTER_KEY",
            "sk-test-master-0123456789abcdef".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let file = encrypt(&sb, &sops, &recipient, "secrets/global.enc.env", &values);
    // The user's own file, found by walking up from the projects: trusted.
    sb.trust("secrets/global.enc.env");
    Some(Fixture {
        sb,
        sops,
        recipient,
        file,
        values,
        marker,
    })
}

/// Encrypts `values` with the real sops (`sops encrypt --age`) into `rel`;
/// the plaintext is removed again.
pub fn encrypt(
    sb: &Sandbox,
    sops: &Sops,
    recipient: &str,
    rel: &str,
    values: &[(String, String)],
) -> PathBuf {
    let mut plain = String::new();
    for (k, v) in values {
        // sops' dotenv store has one escape: the two characters `\n`.
        assert!(!v.contains("\\n"), "{k}: a literal \\n cannot be stored");
        plain.push_str(&format!("{k}={}\n", v.replace('\n', "\\n")));
    }
    let input = sb.write(format!("{rel}.plain"), plain);
    let out = sops
        .dotenv(sb, "encrypt")
        .args(["--age", recipient])
        .arg(&input)
        .success();
    std::fs::remove_file(&input).expect("remove plaintext");
    sb.write(rel, &out.stdout)
}

impl Fixture {
    /// `litekeys exec -f FILE` on the fixture's file; the caller adds the
    /// options and `-- COMMAND`.
    pub fn exec(&self) -> Run {
        self.sb
            .cmd("litekeys")
            .arg("exec")
            .arg("-f")
            .arg(&self.file)
    }

    pub fn value(&self, name: &str) -> &str {
        &self
            .values
            .iter()
            .find(|(k, _)| k == name)
            .expect("fixture value")
            .1
    }

    pub fn names(&self) -> Vec<&str> {
        self.values.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The same values with one name made invalid for an environment.
    pub fn with_bad_name(&self) -> PathBuf {
        let mut values = self.values.clone();
        values.push(("BAD-NAME".to_string(), "x".to_string()));
        encrypt(
            &self.sb,
            &self.sops,
            &self.recipient,
            "secrets/bad-name.enc.env",
            &values,
        )
    }

    /// Makes `SOPS_AGE_KEY_FILE` an identity the file is not encrypted to.
    pub fn use_wrong_identity(&mut self) {
        self.sb.age_keygen("keys/other.txt").expect("age-keygen");
        let other = self.sb.path("keys/other.txt");
        self.sb.set_env("SOPS_AGE_KEY_FILE", other);
    }

    pub fn assert_marker_absent(&self) {
        assert!(
            !self.marker.exists(),
            "a value was run as shell code: {} exists",
            self.marker.display()
        );
    }

    /// PATH with the built litekeys first (direnv and scripts call it by name).
    pub fn put_litekeys_on_path(&mut self) {
        let dir = crate::bin("litekeys")
            .parent()
            .expect("bin dir")
            .to_path_buf();
        let old = self.sb.env().get(std::ffi::OsStr::new("PATH")).cloned();
        let mut dirs = vec![dir];
        if let Some(old) = old {
            dirs.extend(std::env::split_paths(&old));
        }
        self.sb
            .set_env("PATH", std::env::join_paths(dirs).expect("PATH"));
    }

    /// Every fixture value is in `got`, byte for byte.
    pub fn assert_all_in(&self, got: &BTreeMap<String, String>) {
        for (k, v) in &self.values {
            assert_eq!(got.get(k), Some(v), "{k} did not arrive exactly");
        }
    }
}

/// `env -0` output (or any NUL-separated NAME=value list) as a map.
pub fn parse_env0(out: &Outcome) -> BTreeMap<String, String> {
    let text = String::from_utf8(out.stdout.clone()).expect("UTF-8 environment");
    text.split('\0')
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (k, v) = entry.split_once('=').expect("NAME=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Values printed NUL-terminated in the order of `names`.
pub fn parse_nul_list(out: &Outcome, names: &[&str]) -> BTreeMap<String, String> {
    let text = String::from_utf8(out.stdout.clone()).expect("UTF-8");
    let parts: Vec<&str> = text.split_terminator('\0').collect();
    assert_eq!(parts.len(), names.len(), "one value per name: {parts:?}");
    names
        .iter()
        .zip(parts)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
