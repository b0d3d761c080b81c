//! The read path: decrypt, get, export, check.

use super::args::{ExportFormat, Input};
use super::exit::Failure;
use std::path::PathBuf;
use vault::Exit;
use vault::{Backend, Document, Plaintext, Secret};

pub fn source(input: &Input) -> Result<PathBuf, Failure> {
    vault::locate::source_file(input.file.as_deref()).map_err(|m| Failure::new(Exit::Error, m))
}

pub fn open(input: &Input) -> Result<(PathBuf, Plaintext), Failure> {
    let path = source(input)?;
    let plain = vault::decrypt_file(&path, input.backend, super::identity::lookup())?;
    Ok((path, plain))
}

pub fn decrypt(input: &Input) -> Result<Vec<u8>, Failure> {
    let (_, plain) = open(input)?;
    // The buffer itself: a copy would be one more plaintext in memory.
    Ok(std::mem::take(&mut *plain.to_dotenv()))
}

pub fn get(input: &Input, key: &str) -> Result<Vec<u8>, Failure> {
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

/// Values selected by `--only` (all when absent), refusing unknown names.
pub fn select<'a>(
    path: &std::path::Path,
    plain: &'a Plaintext,
    only: Option<&[String]>,
) -> Result<Vec<(&'a str, &'a Secret, usize)>, Failure> {
    let all: Vec<_> = plain.values().collect();
    let Some(only) = only else { return Ok(all) };
    if let Some(missing) = only
        .iter()
        .find(|k| !all.iter().any(|(name, _, _)| name == k))
    {
        return Err(Failure::new(
            Exit::Error,
            format!("{}: no key {missing}", path.display()),
        ));
    }
    Ok(all
        .into_iter()
        .filter(|(name, _, _)| only.iter().any(|k| k == name))
        .collect())
}

pub fn export(
    input: &Input,
    format: ExportFormat,
    only: Option<&[String]>,
) -> Result<Vec<u8>, Failure> {
    let (path, plain) = open(input)?;
    let values = select(&path, &plain, only)?;
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

/// `export NAME='value'` and a newline: a shell that evals it runs nothing
/// from the value.
pub fn push_export(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(b"export ");
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    push_single_quoted(out, value);
    out.push(b'\n');
}

/// `'…'` with each `'` written `'\''`: nothing inside is expanded.
pub fn push_single_quoted(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'\'');
    for &b in value {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
}

pub fn check(input: &Input) -> Result<Vec<u8>, Failure> {
    let path = source(input)?;
    let doc = Document::read(&path)?;
    let native = input.backend == Backend::Native
        || (input.backend == Backend::Auto && doc.metadata.is_native());
    let plain = vault::decrypt_file(&path, input.backend, super::identity::lookup())?;
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
    Ok(out.into_bytes())
}
