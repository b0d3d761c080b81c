//! The plan of a transaction, shown by `--dry-run` and before the
//! confirmation: files, fields, fingerprints old -> new (never values).

use crate::audit::KeyChange;
use crate::sinks::{Field, Role};
use std::path::PathBuf;

/// What a transaction changes: files, fields, fingerprints old → new.
#[derive(Clone, Debug)]
pub struct Plan {
    pub action: &'static str,
    pub source: PathBuf,
    pub keys: Vec<KeyChange>,
    pub files: Vec<PlanFile>,
    /// A journal of an interrupted transaction will be settled first.
    pub pending_recovery: bool,
    /// Findings about the sinks that are not changes (a route pointing
    /// elsewhere with the gateway key: left alone), `path: text`.
    pub notes: Vec<String>,
    /// With a database: how its stored credentials cross the master-key
    /// change (salt key, or `/key/regenerate`).
    pub stored: Option<String>,
}

#[derive(Clone, Debug)]
pub struct PlanFile {
    pub role: Role,
    pub path: PathBuf,
    pub creates: bool,
    pub fields: Vec<Field>,
}

impl Plan {
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.pending_recovery {
            out.push_str("an interrupted rotation will be recovered first\n");
        }
        for k in &self.keys {
            out.push_str(&format!(
                "{} {}: {} -> {}\n",
                self.action,
                k.name,
                k.old.as_deref().unwrap_or("none"),
                k.new
            ));
        }
        for f in &self.files {
            let what = if f.creates { " (new file)" } else { "" };
            out.push_str(&format!("{} {}{what}\n", f.role.name(), f.path.display()));
            for field in &f.fields {
                out.push_str(&format!(
                    "    {}: {} -> {}\n",
                    field.name,
                    field.old.as_deref().unwrap_or("none"),
                    field.new
                ));
            }
        }
        if self.files.is_empty() {
            out.push_str("every sink is in sync: nothing to write\n");
        }
        if let Some(stored) = &self.stored {
            out.push_str(&format!("{stored}\n"));
        }
        for note in &self.notes {
            out.push_str(&format!("warning: {note}\n"));
        }
        out
    }
}
