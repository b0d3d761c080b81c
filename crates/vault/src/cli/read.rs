//! The read path: decrypt, get, export, check.

use super::args::{ExportFormat, Input};
use super::exit::Failure;
use super::input::{self, open, source};
use super::select::{refuse_steering, select};
use super::shell_quote::push_export;
use vault::Exit;
use vault::format::Item;
use vault::{Backend, Document, RecipientPin};

pub(crate) fn decrypt(input: &Input) -> Result<Vec<u8>, Failure> {
    let (_, plain) = open(input)?;
    // The buffer itself: a copy would be one more plaintext in memory.
    Ok(std::mem::take(&mut *plain.to_dotenv()))
}

pub(crate) fn get(input: &Input, key: &str) -> Result<Vec<u8>, Failure> {
    let (path, plain) = open(input)?;
    match plain.get(key) {
        Some((value, true)) => Ok(value.expose().to_vec()),
        Some((_, false)) => Err(Failure::new(
            Exit::Error,
            format!("{}: {key} is not a string value", path.display()),
        )),
        None => Err(Failure::new(
            Exit::Error,
            format!("{}: no key {key}", path.display()),
        )),
    }
}

pub(crate) fn export(
    input: &Input,
    format: ExportFormat,
    only: Option<&[String]>,
    allow_env: &[String],
) -> Result<Vec<u8>, Failure> {
    let (path, plain) = open(input)?;
    let values = select(&path, &plain, only)?;
    // Every format: a dotenv export is as often sourced by a shell.
    refuse_steering(&path, &values, allow_env)?;
    let mut out = Vec::new();
    match format {
        ExportFormat::Dotenv => {
            for (key, value, _) in values {
                vault::format::push_pair(&mut out, key, value.expose());
            }
        }
        ExportFormat::Json => {
            let mut map = serde_json::Map::new();
            for (key, value, line) in values {
                let text = value.as_str().ok_or_else(|| {
                    Failure::new(
                        Exit::Error,
                        format!(
                            "{}:{line}: {key} is not UTF-8; JSON cannot hold it",
                            path.display()
                        ),
                    )
                })?;
                map.insert(key.to_string(), serde_json::Value::String(text.to_string()));
            }
            out = serde_json::to_vec_pretty(&serde_json::Value::Object(map))
                .expect("JSON of strings");
            out.push(b'\n');
        }
        ExportFormat::Shell => {
            for (key, value, line) in values {
                if !vault::is_env_name(key) {
                    return Err(Failure::new(
                        Exit::Error,
                        format!(
                            "{}:{line}: {key:?} is not a valid shell variable name; use --only to skip it",
                            path.display()
                        ),
                    ));
                }
                push_export(&mut out, key, value.expose());
            }
        }
    }
    Ok(out)
}

pub(crate) fn check(input: &Input) -> Result<Vec<u8>, Failure> {
    let path = source(input)?;
    let doc = Document::read(&path)?;
    let native = input.backend == Backend::Native
        || (input.backend == Backend::Auto && doc.metadata.is_native());
    let plain = vault::decrypt_file(&path, input.backend, Some(input::keyring()))?;
    let mut out = String::new();
    let md = &doc.metadata;
    out.push_str(&format!("file:         {}\n", path.display()));
    out.push_str("mac:          ok\n");
    out.push_str(&format!(
        "backend:      {}\n",
        if native { "native" } else { "sops" }
    ));
    out.push_str(&format!("lastmodified: {}\n", md.lastmodified_raw));
    out.push_str(&format!("values:       {}\n", plain.len()));
    let (rule, pattern) = md.rule.metadata_field();
    out.push_str(&format!(
        "rule:         {rule} {pattern}{}\n",
        if md.mac_only_encrypted {
            ", mac_only_encrypted"
        } else {
            ""
        }
    ));
    out.push_str(&format!(
        "recipients:   {}\n",
        md.age.len() + md.foreign.len()
    ));
    for stanza in &md.age {
        out.push_str(&format!("  age  {}\n", stanza.recipient));
    }
    for kind in &md.foreign {
        out.push_str(&format!("  {kind}\n"));
    }
    out.push_str(&pin_report(&path, &doc));
    // sops hashes values only: an empty value adds nothing to the MAC, so
    // anyone who can write the file can add such a line.
    let uncovered: Vec<(&str, usize)> = doc
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Pair { key, value, line } if value.is_empty() => Some((key.as_str(), *line)),
            _ => None,
        })
        .collect();
    out.push_str(&format!(
        "not covered by the MAC (empty values, anyone can add them): {}\n",
        uncovered.len()
    ));
    for (key, line) in uncovered {
        out.push_str(&format!("  {}:{line}: {key}=\n", path.display()));
    }
    Ok(out.into_bytes())
}

/// Whether the recipients are pinned, and any outside the pin.
fn pin_report(path: &std::path::Path, doc: &Document) -> String {
    let listed: Vec<&str> = doc
        .metadata
        .age
        .iter()
        .map(|s| s.recipient.as_str())
        .collect();
    match RecipientPin::from_sops_config(path) {
        Ok(None) => "pin:          none (no .sops.yaml creation rule matches this file): \
                     nothing tells a forged recipient stanza from a real one\n"
            .to_string(),
        Err(e) => format!("pin:          unreadable: {e}\n"),
        Ok(Some(pin)) => {
            let outside = pin.outside(&listed);
            let mut out = format!(
                "pin:          {} ({} recipients)\n",
                pin.origin().display(),
                pin.recipients().len()
            );
            if !outside.is_empty() {
                out.push_str(&format!(
                    "NOT PINNED:   {} (added to the file, not to {}; remove with \
                     `litekeys recipients remove`)\n",
                    outside.join(", "),
                    pin.origin().display()
                ));
            }
            out
        }
    }
}
