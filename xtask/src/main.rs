//! `cargo xtask`: project workflows (setup, build, run, the veth lab, demo, test, bench,
//! ladder). The workflows live in the `xtask` library (`tasks`), which the integration tests
//! also use; run `cargo xtask --help`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use xtask::lab::{self, Lab, LabSpec};
use xtask::tasks::{self, demo::DemoOptions};
use xtask::{privilege, setup};

/// Workflows of the AF_XDP responder: setup, build, veth lab, demo, CI.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what the build and tests need (Debian packages, nightly + rust-src,
    /// bpf-linker); fast no-op when everything is present.
    Setup {
        /// Print every check, not only actions.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Check the toolchain, then build the workspace (including the eBPF program).
    Build {
        /// Build with the release profile.
        #[arg(long)]
        release: bool,
    },
    /// Bring the veth lab up or down.
    Lab {
        #[command(subcommand)]
        action: LabAction,
    },
    /// Build the responder (release) and run it with the given arguments,
    /// e.g. `cargo xtask run -- run --iface eth1 --addr 192.0.2.10`.
    Run {
        /// Arguments passed to `xdp-responder` unchanged.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "RESPONDER ARGS"
        )]
        args: Vec<OsString>,
    },
    /// Build, bring up a lab, run the responder in it, send real traffic (ping, arping,
    /// UDP echo, kernel pass-through), stop, tear down and summarize. Needs root.
    Demo {
        /// RX/TX queues per veth end.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=lab::MAX_QUEUES as i64))]
        queues: u32,
        /// How long the responder runs, in seconds (checks first, then counters); it also
        /// gets `--duration <seconds + 5>` as a safety net.
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(5..=3600))]
        seconds: u64,
        /// Namespace prefix of the demo lab.
        #[arg(long, default_value = tasks::demo::DEMO_PREFIX, value_parser = lab::parse_prefix)]
        prefix: String,
        /// Use this responder binary instead of building one.
        #[arg(long, value_name = "PATH", value_parser = xtask::paths::parse_existing_file)]
        responder: Option<PathBuf>,
    },
    /// What CI runs: setup, build (all targets), clippy -D warnings, tests (one thread).
    /// Needs root for the privileged tests; refuses to run without it unless
    /// `--skip-privileged` is given.
    Test {
        /// When not root, skip the privileged tests (counted as skipped) instead of refusing.
        #[arg(long)]
        skip_privileged: bool,
    },
    /// Benchmark the responder against kernel UDP echo servers and the in-kernel XDP_TX bound
    /// (release build, own lab; writes results/latest.md and .svg). Needs root; ~6 minutes.
    Bench(tasks::bench::BenchArgs),
    /// The copy ladder, measured: copies, system calls and context switches per packet and
    /// per request counted in the kernel, for every rung (results/ladder.md). Needs root.
    Ladder(tasks::ladder::LadderArgs),
}

#[derive(Debug, PartialEq, Subcommand)]
enum LabAction {
    /// Create the lab (removing leftovers of the same prefix first) and print its layout.
    Up {
        /// RX/TX queues per veth end.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=lab::MAX_QUEUES as i64))]
        queues: u32,
        /// Namespace prefix: namespaces are `<prefix>-gen` and `<prefix>-resp`.
        #[arg(long, default_value = lab::DEFAULT_PREFIX, value_parser = lab::parse_prefix)]
        prefix: String,
        /// MTU of both veth ends (e.g. 9000 for jumbo frames; default veth's 1500).
        #[arg(long, value_parser = clap::value_parser!(u32).range(68..=lab::MAX_MTU as i64))]
        mtu: Option<u32>,
    },
    /// Delete the lab's namespaces (no-op if they do not exist).
    Down {
        /// Namespace prefix of the lab to delete.
        #[arg(long, default_value = lab::DEFAULT_PREFIX, value_parser = lab::parse_prefix)]
        prefix: String,
    },
}

fn run(cli: Cli) -> Result<()> {
    match cli.task {
        Task::Setup { verbose } => setup::ensure_toolchain(verbose),
        Task::Build { release } => tasks::build::build(release),
        Task::Lab { action } => lab_action(action),
        Task::Run { args } => tasks::run::run(&args),
        Task::Demo {
            queues,
            seconds,
            prefix,
            responder,
        } => tasks::demo::demo(&DemoOptions {
            queues,
            seconds,
            prefix,
            responder,
        }),
        Task::Test { skip_privileged } => tasks::ci::test(skip_privileged),
        Task::Bench(args) => tasks::bench::bench(&args),
        Task::Ladder(args) => tasks::ladder::ladder(&args),
    }
}

fn lab_action(action: LabAction) -> Result<()> {
    match action {
        LabAction::Up {
            queues,
            prefix,
            mtu,
        } => {
            privilege::require_root("lab up")?;
            let mut spec = LabSpec::new(prefix, queues);
            spec.mtu = mtu;
            let lab = Lab::up_with(spec, true)?;
            println!("{}", lab.layout());
            lab.persist();
            Ok(())
        }
        LabAction::Down { prefix } => {
            privilege::require_root("lab down")?;
            Lab::down_with(&prefix, true)?;
            println!("lab {prefix:?} is down");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().copied()))
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" {
                    assert!(
                        arg.get_help().is_some(),
                        "{} --{id} lacks help",
                        cmd.get_name()
                    );
                }
            }
            for sub in cmd.get_subcommands() {
                assert!(sub.get_about().is_some(), "{} lacks help", sub.get_name());
                walk(sub);
            }
        }
        walk(&Cli::command());
    }

    /// The lab action `args` parse to.
    fn lab(args: &[&str]) -> LabAction {
        match parse(args).expect("parse").task {
            Task::Lab { action } => action,
            other => panic!("{other:?}"),
        }
    }

    /// `lab up` with these values.
    fn up(queues: u32, prefix: &str, mtu: Option<u32>) -> LabAction {
        LabAction::Up {
            queues,
            prefix: prefix.into(),
            mtu,
        }
    }

    #[test]
    fn lab_defaults_and_flags() {
        assert_eq!(lab(&["lab", "up"]), up(1, lab::DEFAULT_PREFIX, None));
        assert_eq!(
            lab(&["lab", "up", "--queues", "2", "--prefix", "t1"]),
            up(2, "t1", None)
        );
        assert_eq!(
            lab(&["lab", "up", "--mtu", "9000"]),
            up(1, lab::DEFAULT_PREFIX, Some(9000))
        );
        assert!(parse(&["lab", "up", "--mtu", "9001"]).is_err());
        assert!(parse(&["lab", "up", "--queues", "0"]).is_err());
        assert!(parse(&["lab", "up", "--prefix", "bad name"]).is_err());
        assert!(matches!(lab(&["lab", "down"]), LabAction::Down { .. }));
    }

    #[test]
    fn run_passes_everything_through() {
        let through = [
            "run",
            "--iface",
            "eth1",
            "--addr",
            "192.0.2.1",
            "--queues",
            "all",
        ];
        match parse(&[&["run", "--"][..], &through].concat())
            .expect("parse")
            .task
        {
            Task::Run { args } => assert_eq!(args, through.map(OsString::from)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn demo_defaults_and_bounds() {
        match parse(&["demo"]).expect("parse").task {
            Task::Demo {
                queues,
                seconds,
                prefix,
                responder,
            } => {
                assert_eq!(
                    (queues, seconds, prefix.as_str(), responder),
                    (2, 15, tasks::demo::DEMO_PREFIX, None)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&["demo", "--seconds", "1"]).is_err());
        assert!(parse(&["demo", "--queues", "3", "--seconds", "30"]).is_ok());
    }

    #[test]
    fn simple_tasks() {
        assert!(matches!(
            parse(&["test"]).expect("parse").task,
            Task::Test {
                skip_privileged: false
            }
        ));
        assert!(matches!(
            parse(&["test", "--skip-privileged"]).expect("parse").task,
            Task::Test {
                skip_privileged: true
            }
        ));
        assert!(matches!(
            parse(&["build", "--release"]).expect("parse").task,
            Task::Build { release: true }
        ));
        assert!(matches!(
            parse(&["setup", "-v"]).expect("parse").task,
            Task::Setup { verbose: true }
        ));
    }
}
