//! The fleet through git around a rotation: refuse to start behind the
//! upstream, commit and push the source after it (`--push`, `[git] push`).

use rotate::git::Repo;
use rotate::{Config, Done, Error};

/// Before a rotation writes anything: in a repository with an upstream,
/// fetch it and refuse when the branch is behind (the rotation would fork
/// the key from another machine's).
pub(crate) fn before_rotation(config: &Config) -> Result<Option<Repo>, Error> {
    let Some(repo) = Repo::of(&config.source) else {
        return Ok(None);
    };
    repo.ensure_not_behind()?;
    Ok(Some(repo))
}

/// `pull`'s git half: fast-forward and verify (the sync follows); the
/// line it prints.
pub(crate) fn pull(config: &Config) -> Result<String, Error> {
    super::require_source(config)?;
    let pulled = rotate::git::pull(config, &rotate::identities(config))?;
    Ok(if pulled.unchanged() {
        format!("already up to date at {}", pulled.from)
    } else {
        format!(
            "pulled {} -> {}; source verified (MAC, recipients, keys)",
            pulled.from, pulled.to
        )
    })
}

/// The commit message: what changed, by fingerprint, never a value.
fn message(done: &Done) -> String {
    let keys: Vec<String> = done.plan.keys.iter().map(ToString::to_string).collect();
    format!(
        "litekeys-rotate: rotate {}\n\n{}\n(tx {})\n",
        done.plan
            .keys
            .iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        keys.join("\n"),
        done.tx
    )
}

/// After a rotation that stands: commit the source alone and push it. The
/// rotation is done whatever git says, so a failure is one warning line
/// that says how to finish by hand (exit stays 0); else the line to print.
pub(crate) fn push(repo: Option<&Repo>, config: &Config, done: &Done) -> Result<String, String> {
    let Some(repo) = repo else {
        return Err(format!(
            "warning: rotated, not pushed: {} is not in a git repository",
            config.source.display()
        ));
    };
    let root = repo.root().display();
    let commit = match repo.commit_file(&config.source, &message(done)) {
        Ok(commit) => commit,
        Err(e) => {
            return Err(format!(
                "warning: rotated, not committed ({e}): commit {} and push it with `git -C {root} commit` and `git -C {root} push`",
                config.source.display()
            ));
        }
    };
    match repo.push() {
        Ok(()) => Ok(format!(
            "pushed {commit} ({} alone) to {}",
            config.source.display(),
            repo.upstream().unwrap_or_else(|| "the upstream".into())
        )),
        Err(e) => Err(format!(
            "warning: rotated and committed ({commit}), not pushed ({e}): push it with `git -C {root} push`"
        )),
    }
}
