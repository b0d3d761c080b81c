//! What every litekeys binary does first: no core dumps. A crash of a
//! process holding decrypted keys must not leave them in a core file (or a
//! crash reporter's spool), and other processes of the user should not
//! read its memory through ptrace or /proc.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Sets the soft `RLIMIT_CORE` to 0 (inherited by the commands `exec`
/// starts; they may raise it again) and, on Linux, marks the process not
/// dumpable (`PR_SET_DUMPABLE` 0, reset by the kernel on the next exec).
/// Best effort: a failure leaves the process as it was, which is no reason
/// to refuse to run.
pub fn harden_process() {
    let maximum = getrlimit(Resource::Core).maximum;
    let _ = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum,
        },
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
