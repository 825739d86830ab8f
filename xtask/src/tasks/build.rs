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

/// Build the responder in release mode and return its path (call
/// [`setup::ensure_toolchain`] first).
pub fn build_responder_release() -> Result<PathBuf> {
    cmd::run(&mut cargo(&[
        "build",
        "--release",
        "--package",
        paths::RESPONDER_PACKAGE,
        "--bin",
        paths::RESPONDER_BIN,
    ]))
    .context("building the responder failed")?;
    let bin = paths::responder_binary(true);
    if !bin.is_file() {
        bail!("build succeeded but {} does not exist", bin.display());
    }
    Ok(bin)
}
