//! `cargo xtask demo`: build the responder, bring up a lab, run the responder in the
//! responder namespace, send real traffic from the client namespace (ping, ping -6,
//! arping, UDP echo, kernel pass-through), stop the responder, tear the lab down and
//! print which checks passed. The lab's MTU is 9000, so the demo also shows one 8972-byte
//! ping and one 8972-byte UDP echo answered as multi-buffer frames (three UMEM buffers each).
//! The other checks keep to sizes that fit 1500 bytes.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::build::build_responder_release;
use super::summary::{self, Outcome};
use crate::echo::udp_echo_check;
use crate::lab::{self, Lab, LabSpec};
use crate::responder::{Responder, RunArgs};
use crate::{cmd, privilege, setup, signals};

/// Default namespace prefix of the demo lab (distinct from `lab up`'s default, so a demo
/// never tears down a lab somebody brought up by hand).
pub const DEMO_PREFIX: &str = "xdpdemo";
/// MTU of the demo lab's veth ends: jumbo frames.
pub const DEMO_MTU: u32 = 9000;
/// The largest ICMP and UDP payload over IPv4 at [`DEMO_MTU`] (9000 - 20 - 8).
pub const JUMBO_V4: usize = DEMO_MTU as usize - 28;
/// The jumbo UDP echo's one size.
pub const UDP_SIZES_JUMBO: &[usize] = &[JUMBO_V4];
/// UDP echo payload sizes over IPv4 (1472 = 1500 - 20 - 8).
pub const UDP_SIZES_V4: &[usize] = &[0, 1, 64, 512, 1472];
/// UDP echo payload sizes over IPv6 (1452 = 1500 - 40 - 8).
pub const UDP_SIZES_V6: &[usize] = &[0, 1, 64, 512, 1452];
/// How long the responder may take to print `ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Per-datagram reply timeout of the UDP echo check.
pub const UDP_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the responder gets to exit after SIGINT.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// Extra lifetime given to the responder (`--duration S+5`) so it exits on its own even if
/// the demo dies.
pub const DURATION_SLACK_SECS: u64 = 5;

/// Options of `cargo xtask demo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOptions {
    /// Queues per veth end.
    pub queues: u32,
    /// How long the responder runs (checks first, then counters until `seconds` elapsed).
    pub seconds: u64,
    /// Lab namespace prefix.
    pub prefix: String,
    /// Use this responder binary instead of building one.
    pub responder: Option<PathBuf>,
}

/// One traffic check, run in the client namespace.
enum Check {
    /// An external command (ping, arping); passes if it exits 0.
    Command { name: String, args: Vec<String> },
    /// A UDP echo check.
    UdpEcho {
        target: SocketAddr,
        sizes: &'static [usize],
        /// Said after the target in the check's name.
        note: &'static str,
    },
}

impl Check {
    fn name(&self) -> String {
        match self {
            Check::Command { name, .. } => name.clone(),
            Check::UdpEcho { target, note, .. } => format!("udp echo {target} (XDP{note})"),
        }
    }
}

/// The checks, in order.
fn checks() -> Vec<Check> {
    let cmd = |name: &str, args: &[&str]| Check::Command {
        name: name.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    let (x4, x6) = (
        lab::RESP_XDP_IPV4.to_string(),
        lab::RESP_XDP_IPV6.to_string(),
    );
    let (k4, k6) = (
        lab::RESP_KERNEL_IPV4.to_string(),
        lab::RESP_KERNEL_IPV6.to_string(),
    );
    vec![
        // -W 1: bound the wait for replies when nothing answers.
        cmd(
            &format!("ping {x4} (XDP)"),
            &["ping", "-c", "5", "-i", "0.2", "-W", "1", &x4],
        ),
        cmd(
            &format!("ping -6 {x6} (XDP)"),
            &["ping", "-6", "-c", "5", "-i", "0.2", "-W", "1", &x6],
        ),
        cmd(
            &format!("arping {x4} (XDP)"),
            &["arping", "-c", "3", "-I", lab::GEN_IFACE, &x4],
        ),
        Check::UdpEcho {
            target: SocketAddr::new(IpAddr::V4(lab::RESP_XDP_IPV4), lab::UDP_ECHO_PORT),
            sizes: UDP_SIZES_V4,
            note: "",
        },
        Check::UdpEcho {
            target: SocketAddr::new(IpAddr::V6(lab::RESP_XDP_IPV6), lab::UDP_ECHO_PORT),
            sizes: UDP_SIZES_V6,
            note: "",
        },
        cmd(
            &format!("ping -s {JUMBO_V4} {x4} (XDP, multi-buffer)"),
            &[
                "ping",
                "-c",
                "1",
                "-W",
                "1",
                "-s",
                &JUMBO_V4.to_string(),
                &x4,
            ],
        ),
        Check::UdpEcho {
            target: SocketAddr::new(IpAddr::V4(lab::RESP_XDP_IPV4), lab::UDP_ECHO_PORT),
            sizes: UDP_SIZES_JUMBO,
            note: ", 8972 bytes, multi-buffer",
        },
        cmd(
            &format!("ping {k4} (kernel pass-through)"),
            &["ping", "-c", "3", "-i", "0.2", "-W", "1", &k4],
        ),
        cmd(
            &format!("ping -6 {k6} (kernel pass-through)"),
            &["ping", "-6", "-c", "3", "-i", "0.2", "-W", "1", &k6],
        ),
    ]
}

/// The responder's command line inside the lab.
pub fn responder_args(seconds: u64) -> RunArgs {
    RunArgs {
        iface: lab::RESP_IFACE.to_string(),
        addrs: vec![lab::RESP_XDP_IPV4.into(), lab::RESP_XDP_IPV6.into()],
        udp_ports: vec![lab::UDP_ECHO_PORT],
        interval: Some(1),
        duration: Some(seconds + DURATION_SLACK_SECS),
    }
}

/// Run the demo. Errors if anything failed; the lab is torn down in every case
/// (including SIGINT/SIGTERM).
pub fn demo(opts: &DemoOptions) -> Result<()> {
    privilege::require_root("demo")?;
    let stop = signals::install()?;
    setup::ensure_toolchain(false)?;
    // Both are absolute: a given path through `paths::parse_existing_file`, a built one from
    // `build_release`.
    let bin = match &opts.responder {
        Some(path) => path.clone(),
        None => {
            println!("demo: building the responder (release)...");
            build_responder_release()?
        }
    };
    if stop.load(Ordering::SeqCst) {
        bail!("interrupted");
    }

    println!(
        "demo: bringing up lab {:?} with {} queue(s)...",
        opts.prefix, opts.queues
    );
    let lab = Lab::up_with(
        LabSpec::new(opts.prefix.clone(), opts.queues).with_mtu(DEMO_MTU),
        true,
    )?;
    println!("{}", lab.layout());

    let result = with_lab(&lab, &bin, opts, stop);

    println!("demo: tearing down lab {:?}...", opts.prefix);
    let down = Lab::down_with(&opts.prefix, true);
    drop(lab);

    let outcomes = result?;
    down.context("lab down failed")?;
    println!("\n{}", summary::render("demo", &outcomes));
    if !summary::all_passed(&outcomes) {
        bail!("demo: some checks failed");
    }
    Ok(())
}

/// Everything that needs the lab: start the responder, run the checks, stop it.
fn with_lab(lab: &Lab, bin: &Path, opts: &DemoOptions, stop: &AtomicBool) -> Result<Vec<Outcome>> {
    let mut argv = vec![bin.display().to_string()];
    argv.extend(responder_args(opts.seconds).to_args());
    let mut responder = Responder::spawn(lab.exec_resp(&argv), "[responder] ")?;
    responder
        .wait_ready(READY_TIMEOUT, stop)
        .context("the responder did not start")?;
    let ready_at = Instant::now();
    println!("demo: responder is ready (pid {})", responder.pid());

    let mut outcomes = Vec::new();
    for check in checks() {
        if stop.load(Ordering::SeqCst) {
            bail!("interrupted");
        }
        if let Some(status) = responder.try_status()? {
            outcomes.push(Outcome::skipped(
                check.name(),
                format!("responder exited early ({})", cmd::describe_status(status)),
            ));
            continue;
        }
        outcomes.push(run_check(lab, &check, stop)?);
    }

    // Let the responder run (and print its counters) until `seconds` have passed.
    let until = ready_at + Duration::from_secs(opts.seconds);
    if Instant::now() < until {
        println!(
            "demo: checks done; responder keeps running until {}s after ready...",
            opts.seconds
        );
    }
    while Instant::now() < until && responder.try_status()?.is_none() {
        if stop.load(Ordering::SeqCst) {
            bail!("interrupted");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let start = Instant::now();
    let name = "responder stops cleanly on SIGINT";
    let outcome = match responder.try_status()? {
        Some(status) => Outcome::fail(
            name,
            format!(
                "exited on its own before the demo stopped it ({}); raise --seconds?",
                cmd::describe_status(status)
            ),
            start.elapsed(),
        ),
        None => {
            println!("demo: stopping the responder (SIGINT)...");
            let status = responder.stop(STOP_GRACE)?;
            if status.success() {
                Outcome::pass(name, "", start.elapsed())
            } else {
                Outcome::fail(name, cmd::describe_status(status), start.elapsed())
            }
        }
    };
    outcomes.push(outcome);
    Ok(outcomes)
}

/// Run one check in the client namespace and judge it. Errors only on interrupt or when
/// the check cannot run at all.
fn run_check(lab: &Lab, check: &Check, stop: &AtomicBool) -> Result<Outcome> {
    println!("\ndemo: check: {}", check.name());
    let start = Instant::now();
    match check {
        Check::Command { name, args } => {
            let mut c: Command = lab.exec_gen(args);
            let status = cmd::run_interruptible(&mut c, stop)?;
            Ok(if status.success() {
                Outcome::pass(name, "", start.elapsed())
            } else {
                Outcome::fail(name, cmd::describe_status(status), start.elapsed())
            })
        }
        Check::UdpEcho { target, sizes, .. } => {
            let (target, sizes) = (*target, *sizes);
            let report = lab.in_gen(move || udp_echo_check(target, sizes, UDP_TIMEOUT))??;
            println!("{report}");
            let detail = format!(
                "sent {} ok {} mismatch {} timeout {}",
                report.sent, report.ok, report.mismatch, report.timeout
            );
            Ok(if report.all_ok() {
                Outcome::pass(check.name(), detail, start.elapsed())
            } else {
                Outcome::fail(check.name(), detail, start.elapsed())
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responder_args_follow_the_brief() {
        assert_eq!(
            responder_args(15).to_args().join(" "),
            "run --iface veth-resp --addr 198.18.0.2 --addr 2001:2::2 --udp-port 7 --interval 1 --duration 20"
        );
    }

    #[test]
    fn udp_sizes_fit_a_1500_mtu() {
        assert_eq!(UDP_SIZES_V4.iter().max(), Some(&(1500 - 20 - 8)));
        assert_eq!(UDP_SIZES_V6.iter().max(), Some(&(1500 - 40 - 8)));
    }

    #[test]
    fn checks_cover_xdp_and_pass_through() {
        let names: Vec<String> = checks().iter().map(Check::name).collect();
        for needle in [
            "ping 198.18.0.2",
            "ping -6 2001:2::2",
            "arping 198.18.0.2",
            "198.18.0.2:7",
            "[2001:2::2]:7",
            "ping 198.18.0.3",
            "ping -s 8972 198.18.0.2",
            "8972 bytes, multi-buffer",
        ] {
            assert!(
                names.iter().any(|n| n.contains(needle)),
                "{needle} not in {names:?}"
            );
        }
    }
}
