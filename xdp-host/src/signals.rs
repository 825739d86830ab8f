//! SIGINT/SIGTERM set a flag that long-running commands poll; they then stop early, report what
//! they have and tear down on the way out (guards' `Drop` run). The handler is signal-hook's,
//! which only stores to the atomic (async-signal-safe).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};

static STOP: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the handlers for SIGINT and SIGTERM (idempotent) and returns the flag they set.
pub fn install() -> Result<&'static AtomicBool> {
    if INSTALLED.get().is_none() {
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(&STOP))
                .with_context(|| format!("installing the handler for signal {sig}"))?;
        }
        let _ = INSTALLED.set(());
    }
    Ok(flag())
}

/// The flag (false until SIGINT or SIGTERM arrives after [`install`]).
pub fn flag() -> &'static AtomicBool {
    &STOP
}

/// True once SIGINT or SIGTERM arrived.
pub fn stopped() -> bool {
    STOP.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigterm_sets_the_flag() {
        let f = install().expect("install");
        install().expect("idempotent");
        assert!(!stopped());
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).expect("raise");
        assert!(f.load(Ordering::SeqCst) && stopped());
    }
}
