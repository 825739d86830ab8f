//! The workflows behind `cargo xtask <task>`, one module each.

pub mod bench;
pub mod build;
pub mod ci;
pub mod demo;
pub mod ladder;
pub mod run;
pub mod summary;

use std::ffi::OsStr;
use std::process::Command;

use crate::{paths, setup};

/// `cargo <args>` run from the workspace root with [`setup::build_env`] applied.
pub fn cargo<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut c = Command::new(paths::cargo());
    c.current_dir(paths::workspace_root()).args(args);
    setup::apply_build_env(&mut c);
    c
}
