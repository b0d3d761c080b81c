//! The store: everything that touches the file system on the way to a
//! file being replaced. The advisory lock on the `.NAME.lock` sidecar, a
//! snapshot of the bytes read so a write can refuse when someone else
//! changed the file in between, temp files in the target's directory (and
//! their clean-up after a crash), and the atomic replace itself: symlinks
//! resolved, mode and owner kept, file and directory fsynced.

mod dir;
mod lock;
mod replace;
mod snapshot;

pub use dir::create_private_dir;
pub use lock::{Lock, LockError, lock_path};
pub use replace::{is_temp_of, remove_stale_temps, resolve, sync_dir, write};
pub use snapshot::{ChangedUnderneath, ReplaceError, Snapshot};
