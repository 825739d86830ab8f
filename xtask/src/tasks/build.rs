//! `cargo xtask build`: toolchain check, then the workspace build (which builds the eBPF
//! program through xdp-user's build script).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::cargo;
use crate::{cmd, paths, setup};

/// Check the toolchain, then `cargo build --workspace [--release]`.
pub fn build(release: bool) -> Result<()> {
    setup::ensure_toolchain(false)?;
    let mut args = vec!["build", "--workspace"];
    if release {
        args.push("--release");
    }
    cmd::run(&mut cargo(&args)).context("workspace build failed")
}

/// The responder, as `(package, binary)` for [`build_release`].
pub const RESPONDER: (&str, &str) = (paths::RESPONDER_PACKAGE, paths::RESPONDER_BIN);
/// The benchmark's generator, reply sink and kernel echo servers.
pub const GEN: (&str, &str) = ("xdp-gen", "xdp-gen");
/// The copy ladder's counters and file rungs.
pub const LADDER: (&str, &str) = ("xdp-ladder", "xdp-ladder");

/// `cargo build --release` of each `(package, binary)` in `bins` (call
/// [`setup::ensure_toolchain`] first); returns the absolute path of each binary, in order.
pub fn build_release<const N: usize>(bins: [(&str, &str); N]) -> Result<[PathBuf; N]> {
    let mut args = vec!["build", "--release"];
    for (package, bin) in bins {
        args.extend(["--package", package, "--bin", bin]);
    }
    let names = bins.map(|(_, bin)| bin).join(", ");
    cmd::run(&mut cargo(&args)).with_context(|| format!("building {names} failed"))?;
    let dir = paths::target_dir().join("release");
    let mut out = bins.map(|(_, bin)| dir.join(bin));
    for path in &mut out {
        if !path.is_file() {
            bail!("build succeeded but {} does not exist", path.display());
        }
        *path = std::fs::canonicalize(&*path)
            .with_context(|| format!("resolving {}", path.display()))?;
    }
    Ok(out)
}

/// Build the responder in release mode and return its path (call
/// [`setup::ensure_toolchain`] first).
pub fn build_responder_release() -> Result<PathBuf> {
    let [bin] = build_release([RESPONDER])?;
    Ok(bin)
}
