//! `--format sarif`: SARIF 2.1.0 for code scanning, one result per finding,
//! never a key; valid against the SARIF 2.1.0 JSON schema (as Microsoft's
//! SARIF SDK ships it), checked by the `jsonschema` validator.

use super::files::planted;
use litekeys_tests::rotate_lab::OLD_MASTER;
use litekeys_tests::{peer, tool_file};
use std::io::Write as _;
use std::process::{Command, Stdio};
use vault::Exit;

/// Validates a SARIF log (stdin) against the schema (argv[1]): prints one
/// line per error, exits 1 if there is any.
const VALIDATE: &str = r"
import json, sys
from jsonschema import validators
schema = json.load(open(sys.argv[1]))
cls = validators.validator_for(schema)
cls.check_schema(schema)
errors = list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(json.load(sys.stdin)))
for e in errors:
    print(e.json_path, e.message[:200])
sys.exit(1 if errors else 0)
";

/// The schema's errors for `log`: empty when it is valid SARIF 2.1.0.
/// `None` when a peer is missing (skipped, or a failure under CI).
fn schema_errors(log: &str) -> Option<String> {
    let schema = tool_file("sarif-schema", "sarif/sarif-2.1.0-rtm.5.json")?;
    let python = peer("python3")?;
    let mut child = Command::new(python)
        .args(["-c", VALIDATE])
        .arg(&schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(log.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "jsonschema is missing from .tools/venv (scripts/install-peers): {stderr}"
    );
    match out.status.code() {
        Some(0 | 1) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => panic!("the validator failed: {stderr}"),
    }
}

/// The validator is not a rubber stamp: a log with a bad level and a line 0
/// is refused, naming both.
#[test]
fn the_schema_check_refuses_an_invalid_log() {
    let bad = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
        "results": [{"ruleId": "r", "level": "bogus", "message": {"text": "m"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a"},
        "region": {"startLine": 0}}}]}]}]}"#;
    let Some(errors) = schema_errors(bad) else {
        return;
    };
    assert!(errors.contains("level"), "{errors}");
    assert!(errors.contains("startLine"), "{errors}");
}

#[test]
fn sarif_is_2_1_0_with_one_result_per_finding() {
    let Some((s, new)) = planted() else { return };
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--format", "sarif"])
            .expect(Exit::Found);
    out.never_shows(&new).never_shows(OLD_MASTER);
    if let Some(errors) = schema_errors(out.stdout_str()) {
        assert_eq!(errors, "", "not valid SARIF 2.1.0");
    }
    let v: serde_json::Value = serde_json::from_str(out.stdout_str()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(
        v["$schema"].as_str().unwrap().contains("sarif-2.1.0"),
        "{}",
        v["$schema"]
    );
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "litekeys");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{results:#?}");
    let mut lines = Vec::new();
    for r in results {
        assert!(rules.contains(&r["ruleId"].as_str().unwrap()), "{r}");
        assert!(
            ["error", "warning"].contains(&r["level"].as_str().unwrap()),
            "{r}"
        );
        assert!(
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains("LITELLM_MASTER_KEY")
        );
        let at = &r["locations"][0]["physicalLocation"];
        let uri = at["artifactLocation"]["uri"].as_str().unwrap();
        let name = std::path::Path::new(uri)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        lines.push((name, at["region"]["startLine"].as_u64().unwrap()));
    }
    lines.sort();
    let want: Vec<(String, u64)> = [
        (".bash_history", 2),
        (".bash_history", 3),
        ("compose.yaml", 4),
        ("notes.md", 4),
    ]
    .map(|(n, l)| (n.to_string(), l))
    .to_vec();
    assert_eq!(lines, want);
}

/// `--unknown`: an `sk-` key shaped like LiteLLM's that is neither current
/// nor old is reported as `unknown` (a SARIF note), never with a key's
/// name, and alone it leaves the exit code 0.
#[test]
fn unknown_keys_are_notes_and_leave_the_exit_code_alone() {
    let Some((s, new)) = planted() else { return };
    let stranger = "sk-notOursNotOursNotOursNotOurs0000";
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--unknown", "--format", "sarif"])
            .expect(Exit::Found);
    out.never_shows(&new)
        .never_shows(OLD_MASTER)
        .never_shows(stranger);
    if let Some(errors) = schema_errors(out.stdout_str()) {
        assert_eq!(errors, "", "not valid SARIF 2.1.0");
    }
    let v: serde_json::Value = serde_json::from_str(out.stdout_str()).unwrap();
    let notes: Vec<&serde_json::Value> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "litekeys/unknown-key")
        .collect();
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0]["level"], "note");
    let at = &notes[0]["locations"][0]["physicalLocation"];
    assert!(
        at["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("notes.md")
    );
    assert_eq!(at["region"]["startLine"], 3);

    // Only an unknown key: reported, exit 0.
    s.sb.write("alone/a.txt", format!("{stranger}\n"));
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--unknown"])
            .arg(s.sb.path("alone"))
            .expect(Exit::Ok);
    let fp = vault::fingerprint(stranger.as_bytes());
    assert!(
        out.stdout_str()
            .contains(&format!("a.txt:1: sk-… (unknown, {fp})")),
        "{}",
        out.stdout_str()
    );
    out.never_shows(stranger);
}
