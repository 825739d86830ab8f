//! `cargo xtask test`: everything CI runs, in order, with a final summary:
//! setup, build (all targets), clippy (`-D warnings`), tests (one thread: the privileged
//! integration tests share kernel state).

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};

use super::cargo;
use super::summary::{self, Outcome};
use crate::{cmd, privilege, setup};

/// The cargo steps after setup: (name, cargo arguments, stop the run if it fails).
pub const CARGO_STEPS: &[(&str, &[&str], bool)] = &[
    ("build", &["build", "--workspace", "--all-targets"], true),
    (
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        false,
    ),
    (
        "test",
        &["test", "--workspace", "--", "--test-threads=1"],
        false,
    ),
];

/// Run the CI pipeline. Errors if any step failed.
pub fn test() -> Result<()> {
    if !privilege::is_root() {
        println!("test: note: not root; privileged integration tests will fail or skip");
    }
    let mut outcomes = Vec::new();
    let start = Instant::now();
    let mut stop = match setup::ensure_toolchain(false) {
        Ok(()) => {
            outcomes.push(Outcome::pass("setup", "", start.elapsed()));
            false
        }
        Err(e) => {
            eprintln!("error: setup: {e:#}");
            outcomes.push(Outcome::fail("setup", format!("{e:#}"), start.elapsed()));
            true
        }
    };
    for &(name, args, fatal) in CARGO_STEPS {
        if stop {
            outcomes.push(Outcome::skipped(name, "an earlier step failed"));
            continue;
        }
        println!("test: step {name}");
        let mut c: Command = cargo(args);
        c.env("RUST_BACKTRACE", "1");
        let start = Instant::now();
        match cmd::run(&mut c) {
            Ok(()) => outcomes.push(Outcome::pass(name, "", start.elapsed())),
            Err(e) => {
                eprintln!("error: {e:#}");
                outcomes.push(Outcome::fail(name, format!("{e:#}"), start.elapsed()));
                stop = fatal;
            }
        }
    }
    println!("\n{}", summary::render("test", &outcomes));
    if !summary::all_passed(&outcomes) {
        bail!("CI failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_what_ci_promises() {
        let lines: Vec<String> = CARGO_STEPS.iter().map(|(_, a, _)| a.join(" ")).collect();
        assert_eq!(
            lines,
            [
                "build --workspace --all-targets",
                "clippy --workspace --all-targets -- -D warnings",
                "test --workspace -- --test-threads=1",
            ]
        );
    }
}
