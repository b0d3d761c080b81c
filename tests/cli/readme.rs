//! The README cannot drift from the program: every `sh` block of its
//! "Quick start" section runs, in order, in a scratch HOME, with the built
//! binaries and the real peers (age, direnv) on PATH.

use litekeys_tests::{Sandbox, bin, require, root};

fn quick_start_blocks(readme: &str) -> Vec<String> {
    let section = readme
        .split("\n## Quick start")
        .nth(1)
        .expect("a Quick start section");
    let section = section.split("\n## ").next().expect("section text");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn quick_start_runs_as_written() {
    require!("age-keygen");
    require!("direnv");
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let blocks = quick_start_blocks(&readme);
    assert!(blocks.len() >= 6, "the quick start lost its commands");
    let sb = Sandbox::new();
    let bins = bin("litekeys").parent().expect("target dir").to_path_buf();
    let path = format!(
        "{}:{}:{}",
        bins.display(),
        root().join(".tools/venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut script = String::from("set -euo pipefail\ncd ~\n");
    for (i, block) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '--- block {}' >&2\n{block}", i + 1));
    }
    let out = sb
        .program("bash")
        .env("PATH", path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .arg("-c")
        .arg(&script)
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.code, 0,
        "the README's quick start failed\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.stderr
    );
    for expected in [
        "mac:          ok",
        "key loaded",
        "exec ok",
        "in-sync",
        "rotated LITELLM_MASTER_KEY",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from the quick start's output:\n{stdout}"
        );
    }
    // The VibeProxy route was not touched, the LiteLLM route was.
    let settings = String::from_utf8(sb.read("home/.factory/settings.json")).unwrap();
    assert!(settings.contains("\"apiKey\": \"vibeproxy\""));
    assert!(!settings.contains("sk-not-yet"));
}

/// The README's exit-code table is the one of `crates/vault/src/exit.rs`.
#[test]
fn exit_code_table_is_the_programs() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let (begin, end) = ("<!-- exit-codes:begin -->", "<!-- exit-codes:end -->");
    let start = readme.find(begin).map(|at| at + begin.len());
    let stop = readme.find(end);
    let (Some(start), Some(stop)) = (start, stop) else {
        panic!("README.md has no {begin} … {end} markers around its exit-code table");
    };
    let table = vault::Exit::markdown_table();
    assert!(
        readme[start..stop].trim() == table.trim(),
        "README exit-code table differs from crates/vault/src/exit.rs: paste \
         the output of vault::Exit::markdown_table() between the markers:\n{table}"
    );
}

/// The README's litekeys.toml table names exactly the keys of
/// `rotate::config::KEYS` (the list `litekeys-rotate --help` prints and the
/// parser is held to): `table.key` in the first column, a `[[sink]]`'s keys
/// in its row.
#[test]
fn litekeys_toml_table_has_the_config_keys() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let table = readme
        .split("| key | meaning |\n")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .expect("README.md has a `| key | meaning |` table");
    let mut named = Vec::new();
    for row in table.lines().skip(1) {
        let mut cells = row.split(" | ");
        let first = cells.next().unwrap_or_default().trim_start_matches("| ");
        let quoted = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(String::from)
                .collect()
        };
        if first == "`[[sink]]`" {
            let rest = cells.next().unwrap_or_default();
            let keys = quoted(rest);
            // Only names the row quotes (its values, `dotenv` …, are not keys).
            let sink_keys = rotate::config::KEYS.iter().filter(|k| k.table == "sink");
            for k in sink_keys.map(|k| k.name) {
                if keys.iter().any(|q| q == k) {
                    named.push(format!("sink.{k}"));
                }
            }
        } else {
            named.extend(quoted(first));
        }
    }
    let mut keys: Vec<String> = rotate::config::KEYS
        .iter()
        .map(|k| {
            if k.table.is_empty() {
                k.name.to_string()
            } else {
                format!("{}.{}", k.table, k.name)
            }
        })
        .collect();
    keys.sort_unstable();
    named.sort_unstable();
    assert_eq!(named, keys, "README.md's litekeys.toml table");
}

/// The Install section's `cargo uninstall` names the packages its
/// `cargo install --path` lines install (by their Cargo.toml names, which
/// `cargo install --list` shows), so it removes what was installed.
#[test]
fn uninstall_names_the_installed_packages() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("\n## Install")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("an Install section");
    let mut installed: Vec<String> = section
        .lines()
        .filter(|l| l.trim_start().starts_with("cargo install"))
        .map(|l| {
            let dir = l
                .split_whitespace()
                .skip_while(|w| *w != "--path")
                .nth(1)
                .unwrap_or_else(|| panic!("no --path in {l:?}"));
            let manifest = std::fs::read_to_string(root().join(dir).join("Cargo.toml")).expect(dir);
            // The first `name =` of a crate's manifest is its [package]'s.
            manifest
                .lines()
                .find_map(|l| l.strip_prefix("name = \""))
                .and_then(|rest| rest.strip_suffix('"'))
                .expect("a package name")
                .to_string()
        })
        .collect();
    let uninstall: Vec<&str> = section
        .lines()
        .filter(|l| l.trim_start().starts_with("cargo uninstall"))
        .collect();
    assert_eq!(
        uninstall.len(),
        1,
        "one `cargo uninstall` line: {uninstall:?}"
    );
    let mut removed: Vec<String> = uninstall[0]
        .split_whitespace()
        .skip(2)
        .take_while(|w| !w.starts_with('#'))
        .map(String::from)
        .collect();
    installed.sort_unstable();
    removed.sort_unstable();
    assert_eq!(installed.len(), 3, "{installed:?}");
    assert_eq!(removed, installed, "{}", uninstall[0]);
}
