//! `cargo xtask run -- <args>`: build the responder (release) and exec it with `args`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{Context, Result};

use super::build::build_responder_release;
use crate::{cmd, setup};

/// Build, then replace this process with `xdp-responder <args>` (signals such as Ctrl-C
/// go straight to the responder). Only returns on error.
pub fn run(args: &[OsString]) -> Result<()> {
    setup::ensure_toolchain(false)?;
    let bin = build_responder_release()?;
    let mut c = Command::new(&bin);
    c.args(args);
    cmd::echo(&c);
    let err = c.exec();
    Err(err).with_context(|| format!("cannot exec {}", bin.display()))
}
