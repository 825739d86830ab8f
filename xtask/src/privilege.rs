//! Root check for tasks that touch network namespaces, links or XDP.

use anyhow::{bail, Result};

/// True if the effective user is root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Fail with a one-line message if not running as root. `what` names the task,
/// e.g. `"lab up"`.
pub fn require_root(what: &str) -> Result<()> {
    if !is_root() {
        bail!("`{what}` needs root (CAP_NET_ADMIN for namespaces, veth and XDP): run it as root");
    }
    Ok(())
}
