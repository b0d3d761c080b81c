//! `--format sarif`: SARIF 2.1.0 for code scanning, one result per finding,
//! never a key.

use super::files::planted;
use litekeys_tests::rotate_lab::OLD_MASTER;
use vault::Exit;

#[test]
fn sarif_is_2_1_0_with_one_result_per_finding() {
    let Some((s, new)) = planted() else { return };
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--format", "sarif"])
            .expect(Exit::Found);
    out.never_shows(&new).never_shows(OLD_MASTER);
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
