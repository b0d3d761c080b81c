//! What adopt prints: where the gateway's key comes from, how the gateway
//! runs, then one row per place (where, what holds the key, what litekeys
//! will do). Keys appear by name and fingerprint only.

use super::Survey;
use super::gateway::Service;
use super::places::{Action, Place};
use std::fmt::Write as _;
use std::path::Path;

/// `~/…` for a path under HOME.
pub(super) fn shown(path: &Path, home: &Path) -> String {
    match path.strip_prefix(home) {
        Ok(rel) if !home.as_os_str().is_empty() && home != Path::new("/") => {
            format!("~/{}", rel.display())
        }
        _ => path.display().to_string(),
    }
}

/// The service line; for `none`, what a rotation will not do and how to
/// make it restart the gateway.
pub(super) fn service_line(s: &Survey) -> String {
    let home = &s.home;
    match &s.gateway.service {
        Service::SystemdUser { unit, file } => format!(
            "systemd user unit {unit} ({}): manager = \"systemd-user\"",
            shown(file, home)
        ),
        Service::Compose { dir, service } => format!(
            "compose service {service} in {}: manager = \"compose\"",
            shown(dir, home)
        ),
        Service::ByHand { pid } => format!(
            "none found: LiteLLM runs by hand (pid {pid}); manager = \"none\": rotations write the sinks but neither restart nor verify the gateway; to restart it, set manager = \"command\" and command = [\"/path/to/restart-litellm.sh\"] in [service]"
        ),
        Service::None => "none found: manager = \"none\": rotations write the sinks but neither restart nor verify the gateway; to restart it, set manager = \"command\" and command = [\"/path/to/restart-litellm.sh\"] in [service]".into(),
    }
}

fn names(place: &Place, s: &Survey) -> String {
    place
        .names
        .iter()
        .map(|n| {
            let fp = s
                .gateway
                .values
                .iter()
                .find(|f| f.name == *n)
                .map(|f| f.value.fingerprint())
                .unwrap_or_default();
            format!("{n} {fp}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn action(place: &Place, s: &Survey) -> String {
    match &place.action {
        Action::Manage(sink) => {
            let mut text = format!("manage: {} sink", sink.kind);
            if sink.kind == "droid" {
                let _ = write!(text, " {}", shown(&sink.path, &s.home));
            }
            if let Some(p) = &sink.pointer {
                let _ = write!(text, " (pointer {p})");
            }
            text
        }
        Action::Report(fix) => {
            fix.text(place.names.first().copied().unwrap_or("LITELLM_MASTER_KEY"))
        }
    }
}

pub(super) fn render(s: &Survey) -> String {
    let home = &s.home;
    let mut out = String::new();
    for f in &s.gateway.values {
        let _ = writeln!(
            out,
            "key:      {} {} from {}:{}",
            f.name,
            f.value.fingerprint(),
            shown(&f.at.path, home),
            f.at.line
        );
    }
    if let Some(c) = &s.gateway.config {
        let _ = writeln!(out, "config:   {}", shown(c, home));
    }
    let _ = writeln!(out, "gateway:  {}", s.url);
    let _ = writeln!(out, "service:  {}", service_line(s));
    let rows: Vec<[String; 3]> = s
        .places
        .rows
        .iter()
        .map(|p| {
            [
                format!("{}:{}", shown(&p.at.path, home), p.at.line),
                format!("{} ({})", p.holds, names(p, s)),
                action(p, s),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("no file holds the key\n");
        return out;
    }
    let header = [
        "PLACE".to_string(),
        "HOLDS".to_string(),
        "LITEKEYS WILL".to_string(),
    ];
    let width = |i: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1) = (width(0), width(1));
    out.push('\n');
    for r in std::iter::once(&header).chain(rows.iter()) {
        let _ = writeln!(out, "{:<w0$}  {:<w1$}  {}", r[0], r[1], r[2]);
    }
    let clients = s.places.clients_on_master().len();
    if clients > 0 {
        let _ = writeln!(
            out,
            "\n{clients} client(s) hold the master key: with a database, give each a virtual key of its own ([[virtual_key]], `litekeys-rotate --key NAME`; litekeys.toml shows how)"
        );
    }
    out
}
