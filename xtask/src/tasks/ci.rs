//! `cargo xtask test`: everything CI runs, in order, with a final summary:
//! setup, `cargo fmt --check` (workspace and fuzz crate), build (all targets), clippy
//! (`-D warnings`), tests (one thread: the privileged
//! integration tests share kernel state).
//!
//! The privileged tests need root. Without root the run refuses to start, unless
//! `--skip-privileged` is given: then those tests skip (through `XDP_SKIP_PRIVILEGED`), each
//! records itself in a skip log (`XDP_SKIP_LOG`), and the closing line counts them as
//! skipped, not passed. Tests that skip for a machine reason (no huge pages) are counted the
//! same way.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::cargo;
use super::summary::{self, Outcome};
use crate::{cmd, privilege, setup};

/// The cargo steps after setup: (name, cargo arguments, stop the run if it fails).
pub const CARGO_STEPS: &[(&str, &[&str], bool)] = &[
    ("fmt", &["fmt", "--all", "--check"], false),
    (
        "fmt-fuzz",
        &["fmt", "--check", "--manifest-path", "fuzz/Cargo.toml"],
        false,
    ),
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

/// Environment variable that makes the privileged tests skip (and record the skip).
pub const SKIP_PRIVILEGED_ENV: &str = "XDP_SKIP_PRIVILEGED";
/// Environment variable naming the file tests append their skips to, one `test: reason` line each.
pub const SKIP_LOG_ENV: &str = "XDP_SKIP_LOG";

/// Why `cargo xtask test` refuses to run, or `None` when it may.
pub fn refusal(is_root: bool, skip_privileged: bool) -> Option<String> {
    (!is_root && !skip_privileged).then(|| {
        "cargo xtask test needs root: the privileged integration tests create network namespaces, \
         veth pairs and XDP programs. Run it as root (e.g. `sudo -E cargo xtask test`), or pass \
         --skip-privileged to run everything else and report those tests as skipped"
            .to_string()
    })
}

/// Run the CI pipeline. Errors if any step failed.
pub fn test(skip_privileged: bool) -> Result<()> {
    if let Some(why) = refusal(privilege::is_root(), skip_privileged) {
        bail!(why);
    }
    if skip_privileged && !privilege::is_root() {
        println!("test: not root: the privileged tests skip and are counted as skipped");
    }
    let skip_log =
        crate::paths::target_dir().join(format!("xtask-test-skips-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&skip_log);
    let mut outcomes = Vec::new();
    let mut tally = Tally::default();
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
        let result = if name == "test" {
            c.env(SKIP_LOG_ENV, &skip_log);
            if skip_privileged {
                c.env(SKIP_PRIVILEGED_ENV, "1");
            } else {
                c.env_remove(SKIP_PRIVILEGED_ENV);
            }
            let r = run_tallied(&mut c, &mut tally);
            let skips = std::fs::read_to_string(&skip_log).unwrap_or_default();
            let _ = std::fs::remove_file(&skip_log);
            tally.add_skips(&skips);
            for line in skips.lines() {
                println!("test: skipped {line}");
            }
            r
        } else {
            cmd::run(&mut c)
        };
        match result {
            Ok(()) => outcomes.push(Outcome::pass(name, "", start.elapsed())),
            Err(e) => {
                eprintln!("error: {e:#}");
                outcomes.push(Outcome::fail(name, format!("{e:#}"), start.elapsed()));
                stop = fatal;
            }
        }
    }
    // Bounded fuzzing of the packet handlers (fuzz/, cargo-fuzz on nightly).
    if stop {
        outcomes.push(Outcome::skipped("fuzz", "an earlier step failed"));
    } else {
        println!("test: step fuzz");
        let start = Instant::now();
        match setup::ensure_cargo_fuzz().and_then(|()| cmd::run(&mut fuzz_command(fuzz_seconds())))
        {
            Ok(()) => outcomes.push(Outcome::pass("fuzz", "", start.elapsed())),
            Err(e) => {
                eprintln!("error: {e:#} (a crashing input is saved under fuzz/artifacts/handle/)");
                outcomes.push(Outcome::fail("fuzz", format!("{e:#}"), start.elapsed()));
            }
        }
    }
    println!("\n{}", summary::render("test", &outcomes));
    // The closing line, in the plain `N passed, N failed` form CI readers understand.
    println!("{}", tally.closing_line());
    if !summary::all_passed(&outcomes) {
        bail!("CI failed");
    }
    Ok(())
}

/// Seconds of fuzzing in `cargo xtask test`: `XDP_FUZZ_SECS`, default 30.
pub fn fuzz_seconds() -> u64 {
    std::env::var("XDP_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

/// `cargo fuzz run handle` on nightly for `seconds`, from the workspace root (the fuzz crate
/// is `fuzz/`). No sanitizer: the handlers are safe Rust, and the target checks properties.
/// It starts from the committed seed corpus (`fuzz/corpus/handle`, a request of every kind)
/// and writes the inputs it finds to `target/fuzz-corpus/handle`, leaving the tree clean.
pub fn fuzz_command(seconds: u64) -> Command {
    let work = crate::paths::target_dir()
        .join("fuzz-corpus")
        .join("handle");
    let _ = std::fs::create_dir_all(&work);
    let mut c = Command::new("rustup");
    c.current_dir(crate::paths::workspace_root())
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .args([
            "run",
            setup::NIGHTLY,
            "cargo",
            "fuzz",
            "run",
            "handle",
            "--sanitizer",
            "none",
        ])
        .arg(&work)
        .arg(crate::paths::workspace_root().join("fuzz/corpus/handle"))
        .args(["--", "-print_final_stats=1"])
        .arg(format!("-max_total_time={seconds}"));
    setup::apply_build_env(&mut c);
    c
}

/// Test counts summed over every `test result:` line of a `cargo test` run, with the tests
/// that skipped at run time (the skip log) moved from passed to skipped.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    /// Tests that returned early and recorded a skip (libtest counted them as passed).
    pub skipped: u64,
}

impl Tally {
    /// Counts the skip log's lines (`test: reason`, one per skipped test) as skipped instead
    /// of passed.
    pub fn add_skips(&mut self, log: &str) {
        let n = log.lines().filter(|l| !l.trim().is_empty()).count() as u64;
        self.skipped += n;
        self.passed = self.passed.saturating_sub(n);
    }

    /// The closing line, in the plain `N passed, N failed, N skipped` form (ignored tests
    /// are skipped too).
    pub fn closing_line(&self) -> String {
        format!(
            "tests: {} passed, {} failed, {} skipped",
            self.passed,
            self.failed,
            self.ignored + self.skipped
        )
    }

    /// Adds the counts of a libtest closing line
    /// (`test result: ok. 5 passed; 0 failed; 1 ignored; ...`); other lines are ignored.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

/// Runs `c` with its stdout streamed through us, adding its test counts to `tally`.
fn run_tallied(c: &mut Command, tally: &mut Tally) -> Result<()> {
    use std::io::{BufRead, BufReader};
    cmd::echo(c);
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{}`", cmd::display(c)))?;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            tally.add_line(&line);
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() {
        bail!(
            "command failed ({}): {}",
            cmd::describe_status(status),
            cmd::display(c)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_sums_libtest_closing_lines() {
        let mut t = Tally::default();
        t.add_line("test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.1s");
        t.add_line(
            "test result: FAILED. 98 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        t.add_line("running 3 tests");
        assert_eq!(
            t,
            Tally {
                passed: 103,
                failed: 1,
                ignored: 1,
                skipped: 0,
            }
        );
    }

    #[test]
    fn runtime_skips_are_not_passes() {
        let mut t = Tally::default();
        t.add_line("test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out");
        t.add_skips("lab_up_check_and_down: needs root\nsoak: needs root\n\n");
        assert_eq!((t.passed, t.skipped), (5, 2));
        assert_eq!(t.closing_line(), "tests: 5 passed, 0 failed, 3 skipped");
    }

    #[test]
    fn refuses_without_root_unless_asked_to_skip() {
        let why = refusal(false, false).expect("refused");
        assert!(
            why.contains("needs root") && why.contains("--skip-privileged"),
            "{why}"
        );
        assert_eq!(refusal(false, true), None);
        assert_eq!(refusal(true, false), None);
        assert_eq!(refusal(true, true), None);
    }

    #[test]
    fn fuzz_step_is_bounded() {
        let c = fuzz_command(30);
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args.iter().any(|a| a == "-max_total_time=30"), "{args:?}");
        assert!(args.windows(2).any(|w| w == ["fuzz", "run"]), "{args:?}");
        assert!(
            args.iter().any(|a| a.ends_with("fuzz/corpus/handle")),
            "the committed corpus is not used: {args:?}"
        );
    }

    #[test]
    fn steps_are_what_ci_promises() {
        let lines: Vec<String> = CARGO_STEPS.iter().map(|(_, a, _)| a.join(" ")).collect();
        assert_eq!(
            lines,
            [
                "fmt --all --check",
                "fmt --check --manifest-path fuzz/Cargo.toml",
                "build --workspace --all-targets",
                "clippy --workspace --all-targets -- -D warnings",
                "test --workspace -- --test-threads=1",
            ]
        );
    }
}
