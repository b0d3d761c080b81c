//! `litekeys ci`: what each runner reads back is exactly the values. The
//! readers here follow the runners' own rules: GitHub's env file (the
//! runner's `SetEnvFileCommand`, heredoc form) and `::add-mask::` data
//! unescaping; for GitLab and the env file, sh and bash evaluating or
//! sourcing what litekeys gave them.

use litekeys_tests::consumers_lab::{Fixture, awkward, parse_nul_list};
use litekeys_tests::require;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use vault::Exit;

/// The GitHub runner's env file reader on Linux (lines end at `\n`).
fn parse_github_env(text: &str) -> BTreeMap<String, String> {
    fn read_line<'a>(text: &'a str, index: &mut usize) -> Option<&'a str> {
        if *index >= text.len() {
            return None;
        }
        let start = *index;
        match text[start..].find('\n') {
            Some(lf) => {
                *index = start + lf + 1;
                Some(&text[start..start + lf])
            }
            None => {
                *index = text.len();
                Some(&text[start..])
            }
        }
    }
    let mut vars = BTreeMap::new();
    let mut index = 0;
    while let Some(line) = read_line(text, &mut index) {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                vars.insert(line[..e].to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                assert!(!name.is_empty() && !delimiter.is_empty(), "{line}");
                let start = index;
                let mut end = index;
                loop {
                    let value_line = read_line(text, &mut index)
                        .unwrap_or_else(|| panic!("no closing delimiter {delimiter}"));
                    if value_line == delimiter {
                        break;
                    }
                    end = index - 1; // without the newline
                }
                let value = if end > start { &text[start..end] } else { "" };
                vars.insert(name.to_string(), value.to_string());
            }
            _ => panic!("invalid env file line {line:?}"),
        }
    }
    vars
}

/// The runner's `UnescapeData` for workflow command data, in its order.
fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

fn github(f: &Fixture, env_file: &Path, extra: &[&str]) -> litekeys_tests::Outcome {
    f.sb.cmd("litekeys")
        .env("GITHUB_ENV", env_file)
        .args(["ci", "github", "-f"])
        .arg(&f.file)
        .args(extra)
        .success()
}

#[test]
fn github_env_gives_back_every_value_and_keeps_what_was_there() {
    let Some(f) = awkward() else { return };
    let env_file =
        f.sb.write("runner/set_env_1234", "EARLIER=from another step\n");
    let out = github(&f, &env_file, &[]);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let text = String::from_utf8(std::fs::read(&env_file).unwrap()).unwrap();
    let vars = parse_github_env(&text);
    f.assert_all_in(&vars);
    assert_eq!(vars["EARLIER"], "from another step");
    assert_eq!(vars.len(), f.values.len() + 1);

    // A fresh random delimiter per value.
    let delimiters: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("<<").map(|(_, d)| d))
        .collect();
    assert_eq!(delimiters.len(), f.values.len());
    for d in &delimiters {
        let hex = d
            .strip_prefix("ghadelimiter_")
            .expect("ghadelimiter_ prefix");
        assert!(
            hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "{d}"
        );
    }
    let mut unique = delimiters.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), delimiters.len(), "a delimiter was reused");

    // And again: appended, the runner takes the last.
    github(&f, &env_file, &["--only", "EMPTY"]);
    let vars = parse_github_env(&String::from_utf8(std::fs::read(&env_file).unwrap()).unwrap());
    f.assert_all_in(&vars);
}

#[test]
fn github_masks_every_line_of_every_value_and_prints_nothing_else() {
    let Some(f) = awkward() else { return };
    let env_file = f.sb.write("runner/set_env", "");
    let out = github(&f, &env_file, &[]);
    let stdout = out.stdout_str();
    assert!(stdout.ends_with('\n'));
    let mut masks = Vec::new();
    for line in stdout.lines() {
        let data = line
            .strip_prefix("::add-mask::")
            .unwrap_or_else(|| panic!("not a mask line: {line:?}"));
        let secret = unescape_data(data);
        assert!(!secret.trim().is_empty(), "the runner refuses a blank mask");
        masks.push(secret);
    }
    for (name, value) in &f.values {
        for line in value.split('\n') {
            if !line.trim().is_empty() {
                assert!(
                    masks.iter().any(|m| m == line),
                    "{name}: line {line:?} has no mask"
                );
            }
        }
    }
    // Percent signs survive the runner's unescaping as themselves.
    assert!(masks.iter().any(|m| m == f.value("PERCENT")));
}

#[test]
fn github_refuses_without_github_env_and_changes_nothing_on_failure() {
    let Some(mut f) = awkward() else { return };
    let secret = f.value("LITELLM_MASTER_KEY").to_string();
    f.sb.test("litekeys")
        .env_remove("GITHUB_ENV")
        .args(["ci", "github", "-f"])
        .arg(&f.file)
        .status(Exit::Usage)
        .one_line_error("GITHUB_ENV")
        .run();

    // The runner makes the file; a missing one is an error, with no masks
    // printed and nothing created.
    let missing = f.sb.path("runner/missing");
    f.sb.cmd("litekeys")
        .env("GITHUB_ENV", &missing)
        .args(["ci", "github", "-f"])
        .arg(&f.file)
        .expect(Exit::CannotWrite)
        .one_line_error("runner/missing")
        .never_shows(&secret);
    assert!(!missing.exists());

    let env_file = f.sb.write("runner/set_env", "KEEP=1\n");
    let bad = f.with_bad_name();
    f.sb.cmd("litekeys")
        .env("GITHUB_ENV", &env_file)
        .args(["ci", "github", "-f"])
        .arg(&bad)
        .expect(Exit::Usage)
        .one_line_error("BAD-NAME")
        .never_shows(&secret);
    f.use_wrong_identity();
    f.sb.cmd("litekeys")
        .env("GITHUB_ENV", &env_file)
        .args(["ci", "github", "-f"])
        .arg(&f.file)
        .expect(Exit::NoIdentity)
        .one_line_error("global.enc.env")
        .never_shows(&secret);
    assert_eq!(f.sb.read("runner/set_env"), b"KEEP=1\n");
}

/// Evals `litekeys ci gitlab ARGS` in `shell` as a job script does, then
/// prints the values of `names`, NUL-terminated.
fn eval_gitlab_in(
    f: &Fixture,
    shell: &Path,
    args: &[&str],
    names: &[&str],
) -> BTreeMap<String, String> {
    // As a job script: litekeys by name, its output evaluated as is.
    let script = r#"out="$(litekeys ci gitlab -f "$1" $2)" || exit 9
eval "$out"
shift 2
for k in "$@"; do eval "printf '%s\0' \"\${$k}\""; done"#;
    let out =
        f.sb.program(shell)
            .args(["-c", script, "sh"])
            .arg(&f.file)
            .arg(args.join(" "))
            .args(names)
            .success();
    parse_nul_list(&out, names)
}

/// Every file under `dir` with its contents: what a command left on disk.
fn tree(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    files
}

#[test]
fn gitlab_job_shell_gets_every_value_and_nothing_is_written() {
    let Some(mut f) = awkward() else { return };
    f.put_litekeys_on_path();
    let before = tree(&f.sb.path(""));
    let names = f.names();
    for shell in ["sh", "bash"] {
        let shell = require!(shell);
        f.assert_all_in(&eval_gitlab_in(&f, &shell, &[], &names));
        let only = eval_gitlab_in(
            &f,
            &shell,
            &["--only", "SINGLE_QUOTE,EMPTY"],
            &["SINGLE_QUOTE", "EMPTY", "DOLLAR"],
        );
        assert_eq!(only["SINGLE_QUOTE"], f.value("SINGLE_QUOTE"));
        assert_eq!(only["EMPTY"], "");
        assert_eq!(only["DOLLAR"], "", "--only exported a key it was not given");
    }
    f.assert_marker_absent();
    assert_eq!(tree(&f.sb.path("")), before, "ci gitlab changed files");
}

#[test]
fn gitlab_bad_input_prints_nothing_to_eval() {
    let Some(mut f) = awkward() else { return };
    let secret = f.value("LITELLM_MASTER_KEY").to_string();
    let bad = f.with_bad_name();
    let out =
        f.sb.cmd("litekeys")
            .args(["ci", "gitlab", "-f"])
            .arg(&bad)
            .expect(Exit::Usage);
    assert!(out.stdout.is_empty());
    out.one_line_error("BAD-NAME").never_shows(&secret);
    let out =
        f.sb.cmd("litekeys")
            .args(["ci", "gitlab", "-f", "secrets/missing.enc.env"])
            .expect(Exit::Error);
    assert!(out.stdout.is_empty());
    out.one_line_error("missing.enc.env");
    f.use_wrong_identity();
    let out =
        f.sb.cmd("litekeys")
            .args(["ci", "gitlab", "-f"])
            .arg(&f.file)
            .expect(Exit::NoIdentity);
    assert!(out.stdout.is_empty());
    out.one_line_error("global.enc.env").never_shows(&secret);
}

/// Sources the env file in a POSIX shell with `set -a` and prints the
/// values of `names`, NUL-terminated.
fn source_in(f: &Fixture, shell: &Path, file: &Path, names: &[&str]) -> BTreeMap<String, String> {
    let script = r#"set -a; . "$1"; set +a; shift
for k in "$@"; do eval "printf '%s\0' \"\${$k}\""; done"#;
    let out =
        f.sb.program(shell)
            .args(["-c", script, "sh"])
            .arg(file)
            .args(names)
            .success();
    parse_nul_list(&out, names)
}

#[test]
fn env_file_round_trips_through_sh_and_bash() {
    let Some(f) = awkward() else { return };
    let path = f.sb.path("ci/secrets.env");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out =
        f.sb.cmd("litekeys")
            .args(["ci", "env-file", "-f"])
            .arg(&f.file)
            .arg(&path)
            .success();
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let names = f.names();
    for shell in ["sh", "bash"] {
        let shell = require!(shell);
        f.assert_all_in(&source_in(&f, &shell, &path, &names));
    }
    f.assert_marker_absent();
}

#[test]
fn env_file_tightens_an_existing_file_and_only_selects() {
    let Some(f) = awkward() else { return };
    let path = f.sb.write("secrets.env", "OLD=1\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    f.sb.cmd("litekeys")
        .args(["ci", "env-file", "-f"])
        .arg(&f.file)
        .arg(&path)
        .args(["--only", "SINGLE_QUOTE,EMPTY"])
        .success();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "SINGLE_QUOTE='it'\\''s '\\''quoted'\\'' '\\'''\\'''\nEMPTY=''\n"
    );
}

#[test]
fn env_file_bad_input_leaves_the_file_alone() {
    let Some(mut f) = awkward() else { return };
    let secret = f.value("LITELLM_MASTER_KEY").to_string();
    let path = f.sb.write("secrets.env", "OLD=1\n");
    let bad = f.with_bad_name();
    f.sb.cmd("litekeys")
        .args(["ci", "env-file", "-f"])
        .arg(&bad)
        .arg(&path)
        .expect(Exit::Usage)
        .one_line_error("BAD-NAME")
        .never_shows(&secret);
    f.sb.cmd("litekeys")
        .args(["ci", "env-file", "-f", "secrets/missing.enc.env"])
        .arg(&path)
        .expect(Exit::Error)
        .one_line_error("missing.enc.env");
    let nowhere = f.sb.path("no-such-dir/secrets.env");
    f.sb.cmd("litekeys")
        .args(["ci", "env-file", "-f"])
        .arg(&f.file)
        .arg(&nowhere)
        .expect(Exit::CannotWrite)
        .one_line_error("no-such-dir/secrets.env")
        .never_shows(&secret);
    assert!(!nowhere.exists());
    f.use_wrong_identity();
    f.sb.cmd("litekeys")
        .args(["ci", "env-file", "-f"])
        .arg(&f.file)
        .arg(&path)
        .expect(Exit::NoIdentity)
        .one_line_error("global.enc.env")
        .never_shows(&secret);
    assert_eq!(f.sb.read("secrets.env"), b"OLD=1\n");
}

#[test]
fn the_readers_here_can_fail() {
    // The GitHub reader takes a value up to its delimiter only.
    let vars = parse_github_env("A<<D\nx\nD\nB=1\nC<<E\n\nE\n");
    assert_eq!(vars["A"], "x");
    assert_eq!(vars["B"], "1");
    assert_eq!(vars["C"], "");
    assert_eq!(unescape_data("%250A%0A"), "%0A\n");
}
