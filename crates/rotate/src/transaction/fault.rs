//! Fault injection for the crash-safety tests, compiled only with the
//! `fault-injection` feature (the test suite's build): at a named step,
//! `LITEKEYS_FAULT=STEP` kills the process with SIGKILL (as `kill -9`
//! would), `LITEKEYS_FAULT_HOLD=STEP:FILE` waits (at most 60 s) until FILE
//! exists, and `LITEKEYS_FAULT_EXEC=STEP:PROGRAM ARG…` runs a program once
//! (to change a file under the transaction's feet). Release builds compile
//! every call to nothing.

/// The steps of a transaction, in order.
#[cfg(feature = "fault-injection")]
pub(crate) const STEPS: &[&str] = &[
    "locked",
    "planned",
    "journal-begun",
    "key-generated",
    "source-written",
    "sink-written",
    "sinks-written",
    "regenerate-recorded",
    "regenerated",
    "activated",
    "committed",
    "rollback-partial",
    "regenerate-settled",
];

/// The argument of `VAR=STEP:ARG` when STEP is `step`.
#[cfg(feature = "fault-injection")]
fn armed(var: &str, step: &str) -> Option<String> {
    let spec = std::env::var(var).ok()?;
    let (at, arg) = spec.split_once(':')?;
    (at == step).then(|| arg.to_string())
}

#[cfg(feature = "fault-injection")]
pub(crate) fn point(step: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    static EXECUTED: AtomicBool = AtomicBool::new(false);
    debug_assert!(STEPS.contains(&step), "unknown fault step {step}");
    if let Some(cmd) = armed("LITEKEYS_FAULT_EXEC", step) {
        let argv: Vec<&str> = cmd.split_whitespace().collect();
        if let Some((program, args)) = argv.split_first() {
            if !EXECUTED.swap(true, Ordering::SeqCst) {
                let _ = std::process::Command::new(program).args(args).status();
            }
        }
    }
    if let Some(file) = armed("LITEKEYS_FAULT_HOLD", step) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !std::path::Path::new(&file).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    if std::env::var("LITEKEYS_FAULT").is_ok_and(|s| s == step) {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        std::process::abort();
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_step: &str) {}

/// The activation test double asked for by `LITEKEYS_FAULT_ACTIVATE`.
#[cfg(feature = "fault-injection")]
pub fn activation_double() -> Option<crate::activation::Failing> {
    match std::env::var("LITEKEYS_FAULT_ACTIVATE").ok()?.as_str() {
        "fail" => Some(crate::activation::Failing {
            reactivate_fails: false,
            calls: Vec::new(),
        }),
        "fail-reactivate" => Some(crate::activation::Failing {
            reactivate_fails: true,
            calls: Vec::new(),
        }),
        _ => None,
    }
}

#[cfg(not(feature = "fault-injection"))]
pub fn activation_double() -> Option<crate::activation::Skip> {
    None
}
