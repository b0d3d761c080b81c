//! The findings as text (`path:line: NAME (state, fp)`), JSON, or SARIF
//! 2.1.0 for code scanning. Never a key: only names and fingerprints.

use super::Finding;
use serde_json::json;

/// How `litekeys scan` prints its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Sarif,
}

pub(super) fn render(findings: &[Finding], format: Format) -> String {
    match format {
        Format::Text => findings.iter().map(text).collect(),
        Format::Json => format!("{:#}\n", json!({ "findings": findings })),
        Format::Sarif => format!("{:#}\n", sarif(findings)),
    }
}

fn text(f: &Finding) -> String {
    let at = f
        .commit
        .as_deref()
        .map(|c| format!(" in commit {c}"))
        .unwrap_or_default();
    format!(
        "{}:{}: {} ({}, {}){at}\n",
        f.path.display(),
        f.line,
        f.key,
        f.state.name(),
        f.fingerprint
    )
}

fn message(f: &Finding) -> String {
    match f.state {
        super::State::Current => format!(
            "{} (fingerprint {}) in plaintext: the key in use now; remove it and rotate",
            f.key, f.fingerprint
        ),
        super::State::Old => format!(
            "{} (fingerprint {}) in plaintext: a superseded key; remove it",
            f.key, f.fingerprint
        ),
        super::State::Unknown => format!(
            "an sk- key litekeys does not know (fingerprint {}) in plaintext: if it is a gateway key, remove it",
            f.fingerprint
        ),
    }
}

/// Relative to the current directory (code scanning resolves a uri against
/// the repository's root, where the scan runs); else a `file://` URL.
fn uri(path: &std::path::Path) -> String {
    let cwd = std::env::current_dir().ok();
    match cwd.as_deref().and_then(|c| path.strip_prefix(c).ok()) {
        Some(rel) => rel.display().to_string(),
        None => format!("file://{}", path.display()),
    }
}

fn sarif(findings: &[Finding]) -> serde_json::Value {
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let (rule, level) = match f.state {
                super::State::Current => ("litekeys/current-key", "error"),
                super::State::Old => ("litekeys/old-key", "warning"),
                super::State::Unknown => ("litekeys/unknown-key", "note"),
            };
            let mut result = json!({
                "ruleId": rule,
                "level": level,
                "message": { "text": message(f) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.path) },
                        "region": { "startLine": f.line }
                    }
                }],
                "partialFingerprints": { "litekeysFingerprint/v1": f.fingerprint },
            });
            if let Some(commit) = &f.commit {
                result["properties"] = json!({ "commit": commit });
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "litekeys",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": [
                    { "id": "litekeys/current-key", "shortDescription": { "text": "The gateway key in use now, in plaintext" } },
                    { "id": "litekeys/old-key", "shortDescription": { "text": "A superseded gateway key, in plaintext" } },
                    { "id": "litekeys/unknown-key", "shortDescription": { "text": "An sk- key shaped like LiteLLM's that is not in the source nor the audit log" } }
                ]
            }},
            "results": results
        }]
    })
}
