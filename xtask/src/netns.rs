//! Running Rust code inside a named network namespace (`ip netns` style, bind-mounted under
//! `/var/run/netns`).

use std::fs::File;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use nix::sched::{setns, CloneFlags};

/// Directory where `ip netns add` bind-mounts named namespaces.
pub const NETNS_DIR: &str = "/var/run/netns";

/// Path of the named namespace `ns`.
pub fn netns_path(ns: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(ns)
}

/// True if a named network namespace `ns` exists.
pub fn netns_exists(ns: &str) -> bool {
    netns_path(ns).exists()
}

/// Run `f` on a fresh thread that has joined network namespace `ns` (via
/// `setns(CLONE_NEWNET)`), and return its result. Sockets created inside `f` (e.g.
/// `std::net::UdpSocket`) live in that namespace; the calling thread is not affected.
/// A panic in `f` is returned as an error.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let path = netns_path(ns);
    let file = File::open(&path).with_context(|| {
        format!(
            "cannot open network namespace {} (does it exist? is the lab up?)",
            path.display()
        )
    })?;
    let ns_name = ns.to_string();
    let handle = std::thread::Builder::new()
        .name(format!("netns-{ns}"))
        .spawn(move || -> Result<T> {
            setns(&file, CloneFlags::CLONE_NEWNET).with_context(|| {
                format!("setns into network namespace {ns_name} failed: are you root? (needs CAP_SYS_ADMIN)")
            })?;
            drop(file);
            Ok(f())
        })
        .context("spawning namespace thread")?;
    handle.join().map_err(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_string());
        anyhow!("code running in network namespace {ns} panicked: {msg}")
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_namespace_is_an_error() {
        let err = in_netns("xtask-no-such-ns-for-test", || 1).expect_err("must fail");
        assert!(format!("{err:#}").contains("xtask-no-such-ns-for-test"));
    }

    #[test]
    fn netns_path_layout() {
        assert_eq!(netns_path("a-gen"), PathBuf::from("/var/run/netns/a-gen"));
    }
}
