//! SIGINT/SIGTERM handling for long-running tasks: the handler only sets a flag; the task
//! polls it, stops what it runs and tears down (guards' `Drop` run on the way out).

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only async-signal-safe work here: an atomic store.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Install handlers for SIGINT and SIGTERM that set the flag returned here (and by
/// [`flag`]). Idempotent.
pub fn install() -> Result<&'static AtomicBool> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only performs an atomic store, which is async-signal-safe.
        unsafe { sigaction(sig, &action) }.with_context(|| format!("installing {sig} handler"))?;
    }
    Ok(&INTERRUPTED)
}

/// The interrupt flag (false until SIGINT/SIGTERM arrives after [`install`]).
pub fn flag() -> &'static AtomicBool {
    &INTERRUPTED
}

/// True once SIGINT or SIGTERM was received.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
