//! Replacing a file so that readers see the old bytes or the new, never a
//! mix: resolve symlinks, write a temp file in the target's directory,
//! fsync, keep mode and owner, rename, fsync the directory. A crash can
//! leave the temp file behind; its name (`.NAME.XXXXXX.tmp`) is known only
//! here, and [`remove_stale_temps`] clears it.

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Follows symlinks to the file that is really written; a dangling link
/// resolves to its (future) target.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(md) if md.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = if target.is_absolute() {
                    target
                } else {
                    current.parent().unwrap_or(Path::new(".")).join(target)
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Writes `bytes` to `path` atomically. An existing file keeps its mode and
/// owner; a new one gets `new_mode`. Returns the path really written.
/// Temp files interrupted writes of the same target left are removed first.
pub fn write(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<PathBuf> {
    write_if(path, bytes, new_mode, || Ok(true))
        .map(|written| written.expect("an unconditional write is never vetoed"))
}

/// [`write`], asking `still_wanted` once the new bytes are on disk, just
/// before the rename (the slow part, the fsync, is behind it, so a change
/// someone else makes meanwhile is seen). `Ok(None)` when it said no: the
/// temp file is removed and the target untouched.
pub(crate) fn write_if(
    path: &Path,
    bytes: &[u8],
    new_mode: u32,
    still_wanted: impl FnOnce() -> io::Result<bool>,
) -> io::Result<Option<PathBuf>> {
    let target = resolve(path)?;
    let dir = dir_of(&target);
    remove_stale_temps(&target);
    let existing = fs::metadata(&target).ok();
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(&target))
        .suffix(TEMP_SUFFIX)
        .rand_bytes(TEMP_RANDOM)
        .tempfile_in(&dir)?;
    let mode = existing.as_ref().map_or(new_mode, |m| m.mode() & 0o7777);
    // Tighten before the first byte lands: the temp file must never be
    // more readable than the file it replaces.
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))?;
    if let Some(md) = &existing {
        chown(tmp.as_file(), md.uid(), md.gid())?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    if !still_wanted()? {
        return Ok(None);
    }
    tmp.persist(&target).map_err(|e| e.error)?;
    sync_dir(&dir)?;
    Ok(Some(target))
}

/// Keeps the owner of a file we replace. Only root may give files away; for
/// anyone else a file they can replace is theirs or their group's, and the
/// group is kept when they are in it.
fn chown(file: &File, uid: u32, gid: u32) -> io::Result<()> {
    use rustix::fs::{Gid, Uid, fchown};
    let me = rustix::process::geteuid();
    let uid = Uid::from_raw(uid);
    let gid = Gid::from_raw(gid);
    let result = if me.is_root() {
        fchown(file, Some(uid), Some(gid))
    } else {
        fchown(file, None, Some(gid))
    };
    match result {
        Ok(()) => Ok(()),
        // Not in the group: the file keeps ours, as `cp` would.
        Err(rustix::io::Errno::PERM) if !me.is_root() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Temp files are `.NAME.` + random + `.tmp` in the target's directory: on
/// the same file system (rename is atomic) and hidden.
const TEMP_SUFFIX: &str = ".tmp";
const TEMP_RANDOM: usize = 6;

fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.")
}

fn dir_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether `candidate` is a temp file a [`write`] of `target` makes (and an
/// interrupted one leaves behind).
pub fn is_temp_of(target: &Path, candidate: &Path) -> bool {
    if candidate.parent().map(Path::as_os_str) != target.parent().map(Path::as_os_str) {
        return false;
    }
    let Some(name) = candidate.file_name() else {
        return false;
    };
    let name = name.to_string_lossy();
    name.strip_prefix(&temp_prefix(target))
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|middle| {
            middle.len() == TEMP_RANDOM && middle.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

/// Removes the temp files interrupted writes of `target` left next to it
/// (best effort: a crash recovery must not fail on them); true when one was.
pub fn remove_stale_temps(target: &Path) -> bool {
    let dir = dir_of(target);
    let Ok(entries) = fs::read_dir(&dir) else {
        return false;
    };
    let mut removed = false;
    for entry in entries.flatten() {
        let candidate = target.with_file_name(entry.file_name());
        if is_temp_of(target, &candidate) {
            removed |= fs::remove_file(entry.path()).is_ok();
        }
    }
    if removed {
        let _ = sync_dir(&dir);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_mode_and_writes_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.env");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.env");
        std::os::unix::fs::symlink("real.env", &link).unwrap();
        let written = write(&link, b"new", 0o600).unwrap();
        assert_eq!(written, real);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(fs::metadata(&real).unwrap().mode() & 0o777, 0o640);
        let fresh = dir.path().join("fresh.env");
        write(&fresh, b"x", 0o600).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_left_temp_file_is_known_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("s.env");
        fs::write(&target, "x").unwrap();
        let left = dir.path().join(".s.env.a1B2c3.tmp");
        let other = dir.path().join(".t.env.a1B2c3.tmp");
        let short = dir.path().join(".s.env.a1.tmp");
        for p in [&left, &other, &short] {
            fs::write(p, "").unwrap();
        }
        assert!(is_temp_of(&target, &left));
        assert!(!is_temp_of(&target, &other));
        assert!(!is_temp_of(&target, &short));
        assert!(!is_temp_of(&target, &target));
        assert!(remove_stale_temps(&target));
        assert!(!left.exists() && other.exists() && short.exists() && target.exists());
        assert!(!remove_stale_temps(&target));
    }
}
