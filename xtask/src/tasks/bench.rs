//! `cargo xtask bench`: the responder against the kernel's UDP echo paths and the in-kernel
//! XDP_TX bound, with one generator (`xdp-gen`, BPF_PROG_RUN live frames) and one method:
//! warm-up, a fixed window, repeated; medians and spread. Writes `results/latest.md`,
//! `results/latest.svg` and `results/latest-raw.txt`. See `docs/BENCHMARK.md`.
//!
//! * [`plan`]: the configurations and their command lines;
//! * [`sample`]: parsing `xdp-gen`'s `RESULT` line, medians and spread;
//! * [`results`]: what was measured, ratios and the targets they are checked against;
//! * [`markdown`], [`svg`]: rendering;
//! * this file: building, the lab, running servers and the generator, in order.

pub mod dpdk;
pub mod markdown;
pub mod plan;
pub mod results;
pub mod sample;
pub mod svg;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use self::plan::{GenRun, Scenario};
use self::results::{Env, Measured, Memory, Results};
use self::sample::{Runs, Sample};
use super::build;
use crate::lab::{self, Lab, LabSpec};
use crate::responder::Responder;
use crate::{cmd, paths, privilege, setup, signals};
use xdp_host::cpu::SysTimes;

/// Namespace prefix of the benchmark lab (distinct from the other tasks' labs).
pub const BENCH_PREFIX: &str = "bench";
/// How long a server may take to print `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server gets to exit after SIGINT.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Extra lifetime of every server beyond its planned runs (it exits on its own anyway).
const SERVER_SLACK_SECS: u64 = 30;
/// Offered load of the loss runs, as a share of each configuration's own maximum.
pub const LOSS_LOAD: f64 = 0.8;
/// One frame in this many is sampled in throughput runs (RTT runs sample every frame).
pub const SAMPLE_EVERY: u64 = 16;
/// The responder's default UMEM: frames x frame size (one UMEM per queue; the lab has one).
const UMEM_FRAMES: u64 = 4096;
const UMEM_FRAME_SIZE: u64 = 4096;

/// Options of `cargo xtask bench`.
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct BenchArgs {
    /// Runs per configuration; medians and spread are over these.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeats: u32,
    /// Measured window of each run, in seconds.
    #[arg(long, default_value_t = 3.0, value_parser = parse_secs)]
    pub window: f64,
    /// Warm-up before each window, in seconds.
    #[arg(long, default_value_t = 1.0, value_parser = parse_secs)]
    pub warmup: f64,
    /// Rate of the RTT runs, in packets per second (every reply is timed).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub rtt_rate: u64,
    /// Skip the responder sweep (--batch, --ring-size, --no-need-wakeup, --busy-poll).
    #[arg(long)]
    pub no_sweep: bool,
    /// A quick look: one 2-second run per configuration, no sweep (about a minute).
    #[arg(long)]
    pub quick: bool,
    /// Measure only the user-space data path over the in-memory kernel model (no lab) and, as
    /// root, the XDP classifier with BPF_PROG_TEST_RUN: RESULT lines and results/datapath.md.
    #[arg(long)]
    pub datapath: bool,
    /// CPU the generator runs on (veth delivers to the receiver's XDP on the sending CPU).
    #[arg(long, default_value_t = 0)]
    pub gen_cpu: usize,
    /// CPU the server (responder or kernel echo server) is pinned to.
    #[arg(long, default_value_t = 1)]
    pub server_cpu: usize,
    /// Namespace prefix of the benchmark lab.
    #[arg(long, default_value = BENCH_PREFIX, value_parser = lab::parse_prefix)]
    pub prefix: String,
    /// Directory for latest.md, latest.svg and latest-raw.txt (relative: to the workspace).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Also compare with DPDK testpmd over its AF_XDP PMD on UDP and ICMP load (installs the
    /// Debian packages dpdk-dev and librte-net-af-xdp23 when missing).
    #[arg(long)]
    pub with_dpdk: bool,
    /// Only the DPDK comparison (implies --with-dpdk).
    #[arg(long)]
    pub only_dpdk: bool,
    /// Interleaved rounds of the DPDK comparison at maximum load (each round measures every
    /// configuration once per load).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub dpdk_rounds: u32,
    /// Run the maximum-load rounds of the DPDK comparison with every configuration started
    /// once, each on its own veth lab, all but the measured one paused (SIGSTOP): the windows
    /// a ratio compares follow each other directly, without a server start between them.
    #[arg(long)]
    pub paired: bool,
    /// Rounds of the DPDK comparison at 25/50/80% of each configuration's own maximum
    /// (CPU per answer); 0 skips them.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub share_rounds: u32,
    /// Responder flags to measure as a variant in the same interleaved rounds as the
    /// defaults (and DPDK), e.g. `--variant "--busy-poll"`; repeatable.
    #[arg(long = "variant", value_name = "FLAGS", allow_hyphen_values = true)]
    pub variants: Vec<String>,
    /// Another build of `xdp-responder` (e.g. of an earlier commit) to measure with its
    /// defaults as a variant in the same rounds: an A/B of two builds on one lab; repeatable.
    #[arg(
        long = "variant-bin",
        value_name = "PATH",
        value_parser = crate::paths::parse_existing_file
    )]
    pub variant_bins: Vec<std::path::PathBuf>,
}

fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=60.0).contains(&v) {
        return Err(format!("must be 0..=60 seconds, got {v}"));
    }
    Ok(v)
}

impl BenchArgs {
    /// The options after `--quick` is applied.
    pub fn effective(&self) -> BenchArgs {
        let mut a = self.clone();
        if a.quick {
            a.repeats = 1;
            a.window = a.window.min(2.0);
            a.warmup = a.warmup.min(0.5);
            a.no_sweep = true;
            a.dpdk_rounds = a.dpdk_rounds.min(2);
            a.share_rounds = a.share_rounds.min(1);
        }
        if a.only_dpdk {
            a.with_dpdk = true;
        }
        if a.window < 0.5 {
            a.window = 0.5;
        }
        a
    }

    /// Seconds one generator run takes, roughly (warm-up, window, drain, start-up).
    fn run_secs(&self) -> f64 {
        self.warmup + self.window + 1.5
    }
}

/// Paths of the two binaries.
struct Bins {
    responder: PathBuf,
    gen: PathBuf,
}

/// What every server start and generator run of one benchmark shares: the lab, the
/// binaries, the options, the stop flag (set on SIGINT), and the generators' raw output so
/// far (written to latest-raw.txt).
struct Bench<'a> {
    lab: &'a Lab,
    bins: &'a Bins,
    args: &'a BenchArgs,
    stop: &'a AtomicBool,
    raw: String,
}

/// Runs the benchmark.
pub fn bench(args: &BenchArgs) -> Result<()> {
    if args.datapath {
        return datapath(args);
    }
    let args = args.effective();
    privilege::require_root("bench")?;
    let stop = signals::install()?;
    setup::ensure_toolchain(false)?;
    let bins = build()?;
    let dpdk_ready = if args.with_dpdk {
        dpdk::ensure_installed()
    } else {
        Err(anyhow::anyhow!(
            "not run (pass --with-dpdk to compare with DPDK testpmd)"
        ))
    };
    if stop.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    let started = Instant::now();
    let mut env = environment(&args);
    env.busy_before_pct = busy_pct(Duration::from_secs(1))?;
    if env.busy_before_pct > 10.0 {
        println!(
            "bench: warning: the machine is already {:.0}% busy (other processes): the figures will be noisy",
            env.busy_before_pct
        );
    }
    println!("bench: bringing up lab {:?}...", args.prefix);
    let lab = Lab::up_with(LabSpec::new(args.prefix.clone(), 1), true)?;
    let mut b = Bench {
        lab: &lab,
        bins: &bins,
        args: &args,
        stop,
        raw: String::new(),
    };
    let outcome = tune_lab(&lab).and_then(|()| {
        let mut r = if args.only_dpdk {
            Results::default()
        } else {
            measure(&mut b)?
        };
        let with = match dpdk_ready {
            Ok(()) => true,
            Err(e) => {
                println!("bench: DPDK comparison skipped: {e:#}");
                r.dpdk_note = Some(format!("{e:#}"));
                false
            }
        };
        if with || !args.variants.is_empty() || !args.variant_bins.is_empty() {
            let (c, note) = dpdk::compare(&mut b, with)?;
            r.dpdk = Some(c);
            r.dpdk_note = note.or(r.dpdk_note.take());
        }
        Ok(r)
    });
    let raw = b.raw;
    println!("bench: tearing down lab {:?}...", args.prefix);
    let down = Lab::down_with(&args.prefix, true);
    drop(lab);
    let mut results = outcome?;
    down.context("lab down failed")?;
    env.busy_after_pct = busy_pct(Duration::from_millis(500))?;
    env.took_s = started.elapsed().as_secs_f64();
    results.env = env;
    write_results(&args.out, &results, &raw)
}

/// `--datapath`: the responder's `bench-datapath` over the in-memory model, one core.
fn datapath(args: &BenchArgs) -> Result<()> {
    println!("bench: building the responder (release)...");
    let bin = build::build_responder_release()?;
    let busy = busy_pct(Duration::from_secs(1))?;
    let note = format!(
        "One core (pinned to CPU {}), median of {} runs per case; the machine was {busy:.0}% busy before the run.",
        args.server_cpu,
        args.repeats
    );
    println!("bench: {note}");
    let out = paths::workspace_root().join(&args.out).join("datapath.md");
    let mut c = Command::new("taskset");
    c.arg("-c")
        .arg(args.server_cpu.to_string())
        .arg(&bin)
        .arg("bench-datapath")
        .arg("--repeats")
        .arg(args.repeats.to_string())
        .arg("--out")
        .arg(&out)
        .arg("--note")
        .arg(&note);
    cmd::run(&mut c).context("bench-datapath failed")?;
    println!("bench: wrote {}", out.display());
    Ok(())
}

/// Builds the responder and the generator (release).
fn build() -> Result<Bins> {
    println!("bench: building the responder and the generator (release)...");
    let [responder, gen] = build::build_release([build::RESPONDER, build::GEN])?;
    Ok(Bins { responder, gen })
}

/// What the lab needs beyond `Lab::up`: GRO on the responder's veth end, so that frames the
/// generator redirects into it are accepted without a native XDP program there (the kernel
/// echo servers and SKB mode); and permanent neighbour entries both ways, so no request waits
/// for ARP.
pub(crate) fn tune_lab(lab: &Lab) -> Result<()> {
    let (gen, resp) = (lab.gen_ns(), lab.resp_ns());
    cmd::run(&mut lab.exec_resp(&["ethtool", "-K", lab::RESP_IFACE, "gro", "on"]))
        .context("enabling GRO on veth-resp")?;
    let neigh = |ns: &str, ip: String, mac: &str, dev: &str| -> Result<()> {
        cmd::run(Command::new("ip").args([
            "-n",
            ns,
            "neigh",
            "replace",
            &ip,
            "lladdr",
            mac,
            "dev",
            dev,
            "nud",
            "permanent",
        ]))
    };
    neigh(
        resp,
        lab::GEN_IPV4.to_string(),
        lab::GEN_MAC,
        lab::RESP_IFACE,
    )?;
    neigh(
        gen,
        lab::RESP_KERNEL_IPV4.to_string(),
        lab::RESP_MAC,
        lab::GEN_IFACE,
    )?;
    neigh(
        gen,
        lab::RESP_XDP_IPV4.to_string(),
        lab::RESP_MAC,
        lab::GEN_IFACE,
    )?;
    Ok(())
}

/// Every measurement, in order: the five configurations (max, 80%, RTT), then the sweep.
fn measure(b: &mut Bench) -> Result<Results> {
    let mut r = Results::default();
    let args = b.args;
    let n = args.repeats;
    let throughput = |rate: Option<f64>| GenRun {
        load: plan::Load::Udp,
        rate,
        window: args.window,
        warmup: args.warmup,
        sample_every: SAMPLE_EVERY,
    };
    for sc in plan::main_scenarios() {
        let rtt = plan::RTT_KEYS.contains(&sc.key.as_str());
        let planned_runs = 2 * n + if rtt { n } else { 0 };
        let Some(mut server) = b.start_or_skip(&sc, planned_runs, &mut r.max) else {
            continue;
        };
        let pid = sc.has_process().then(|| server.pid());
        let max = b.runs(&sc, &throughput(None), pid, n)?;
        let top = max.rx_pps().map(|s| s.median).unwrap_or(0.0);
        r.max.push(Measured {
            scenario: sc.clone(),
            rate: None,
            runs: max,
        });
        if top > 0.0 {
            let rate = Some(LOSS_LOAD * top);
            let at80 = b.runs(&sc, &throughput(rate), pid, n)?;
            r.at80.push(Measured {
                scenario: sc.clone(),
                rate,
                runs: at80,
            });
        }
        if rtt {
            let rate = Some(args.rtt_rate as f64);
            let run = GenRun {
                load: plan::Load::Udp,
                rate,
                window: args.window,
                warmup: args.warmup.min(0.5),
                sample_every: 1,
            };
            let timed = b.runs(&sc, &run, pid, n)?;
            r.rtt.push(Measured {
                scenario: sc.clone(),
                rate,
                runs: timed,
            });
        }
        if sc.key == plan::keys::NATIVE {
            r.memory = Some(Memory {
                umem_bytes: UMEM_FRAMES * UMEM_FRAME_SIZE,
                frames: UMEM_FRAMES,
                frame_size: UMEM_FRAME_SIZE,
                queues: 1,
                rss_kib: xdp_host::cpu::rss_kib(server.pid()).unwrap_or(0),
            });
        }
        stop_server(&mut server, &sc);
    }
    if !args.no_sweep {
        for sc in plan::sweep_scenarios() {
            let Some(mut server) = b.start_or_skip(&sc, n, &mut r.sweep) else {
                continue;
            };
            let pid = Some(server.pid());
            let max = b.runs(&sc, &throughput(None), pid, n)?;
            r.sweep.push(Measured {
                scenario: sc.clone(),
                rate: None,
                runs: max,
            });
            stop_server(&mut server, &sc);
        }
    }
    Ok(r)
}

impl Bench<'_> {
    /// Starts `sc`'s server in the responder namespace, bounded to `planned_runs` runs plus
    /// slack.
    fn start_server(&self, sc: &Scenario, planned_runs: u32) -> Result<Responder> {
        println!("\nbench: === {} ===", sc.label);
        let args = self.args;
        let secs = (f64::from(planned_runs) * args.run_secs()).ceil() as u64 + SERVER_SLACK_SECS;
        let argv = sc.server_command(&self.bins.responder, &self.bins.gen, args.server_cpu, secs);
        let mut server = Responder::spawn(self.lab.exec_resp(&argv), &format!("[{}] ", sc.key))?;
        server
            .wait_ready_for(READY_TIMEOUT, self.stop, sc.ready_marker())
            .with_context(|| format!("{} did not start", sc.label))?;
        Ok(server)
    }

    /// As [`Bench::start_server`]; a server that does not start is reported and `sc` goes into
    /// `into` as not measured.
    fn start_or_skip(
        &self,
        sc: &Scenario,
        planned_runs: u32,
        into: &mut Vec<Measured>,
    ) -> Option<Responder> {
        match self.start_server(sc, planned_runs) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("bench: {}: not measured: {e:#}", sc.label);
                into.push(Measured {
                    scenario: sc.clone(),
                    rate: None,
                    runs: Runs::default(),
                });
                None
            }
        }
    }

    /// `n` generator runs against `sc`; a failed run is reported and left out.
    fn runs(&mut self, sc: &Scenario, run: &GenRun, pid: Option<u32>, n: u32) -> Result<Runs> {
        let mut out = Runs::default();
        for i in 1..=n {
            if let Some(s) = self.one_run(sc, run, pid, &format!("{i}/{n}"))? {
                out.0.push(s);
            }
        }
        Ok(out)
    }

    /// One generator run against `sc` (`what` names it in the log); `None` if it failed
    /// (reported).
    fn one_run(
        &mut self,
        sc: &Scenario,
        run: &GenRun,
        pid: Option<u32>,
        what: &str,
    ) -> Result<Option<Sample>> {
        if self.stop.load(Ordering::SeqCst) {
            bail!("interrupted");
        }
        let rate = run
            .rate
            .map_or("max".to_string(), |r| format!("{r:.0} pps"));
        let load = run.load.proto();
        let argv = plan::gen_command(&self.bins.gen, sc, run, self.args.gen_cpu, pid);
        let text = match cmd::output(&mut self.lab.exec_gen(&argv)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "bench: {} {load} at {rate}, run {what} failed: {e:#}",
                    sc.label
                );
                return Ok(None);
            }
        };
        let _ = writeln!(
            self.raw,
            "## {} | {load} | rate {rate} | run {what}\n{}",
            sc.key,
            text.trim_end()
        );
        match Sample::from_output(&text) {
            Ok(s) => {
                println!(
                    "bench: {} {load} at {rate}, run {what}: answered {:.3} Mpps (offered {:.3}), loss {:.3}%, invalid {}, server CPU {} ns/answer, rtt p50 {:.1} µs p99 {:.1} µs",
                    sc.key,
                    s.rx_pps / 1e6,
                    s.tx_pps / 1e6,
                    s.loss_pct,
                    s.invalid,
                    s.server_ns_per_reply().map_or("-".to_string(), |n| format!("{n:.0}")),
                    s.rtt_p50_ns as f64 / 1e3,
                    s.rtt_p99_ns as f64 / 1e3
                );
                Ok(Some(s))
            }
            Err(e) => {
                eprintln!("bench: {}: {e:#}", sc.key);
                Ok(None)
            }
        }
    }
}

fn stop_server(server: &mut Responder, sc: &Scenario) {
    match server.stop(STOP_GRACE) {
        Ok(status) if !status.success() => eprintln!(
            "bench: {} exited with {}",
            sc.label,
            cmd::describe_status(status)
        ),
        Ok(_) => {}
        Err(e) => eprintln!("bench: stopping {}: {e:#}", sc.label),
    }
}

/// Share of all CPUs busy over `period`, in percent (from `/proc/stat`).
pub(crate) fn busy_pct(period: Duration) -> Result<f64> {
    let before = SysTimes::now()?;
    std::thread::sleep(period);
    let d = SysTimes::now()?.since(&before);
    let total = (d.busy() + d.idle + d.iowait).max(1);
    Ok(100.0 * d.busy() as f64 / total as f64)
}

fn environment(args: &BenchArgs) -> Env {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu_model = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let started = cmd::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Env {
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu_model,
        started,
        repeats: args.repeats,
        window: args.window,
        warmup: args.warmup,
        gen_cpu: args.gen_cpu,
        server_cpu: args.server_cpu,
        ..Default::default()
    }
}

/// Writes latest.md, latest.svg and latest-raw.txt into `out` and prints the bar.
fn write_results(out: &Path, r: &Results, raw: &str) -> Result<()> {
    let dir = if out.is_absolute() {
        out.to_path_buf()
    } else {
        paths::workspace_root().join(out)
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let md = markdown::render(r);
    for (name, text) in [
        ("latest.md", md.as_str()),
        ("latest.svg", &svg::render(r)),
        ("latest-raw.txt", raw),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("\n{md}");
    println!(
        "bench: wrote {}/latest.md, latest.svg, latest-raw.txt",
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn parse(a: &[&str]) -> Result<BenchArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("bench").chain(a.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn defaults_fit_ten_minutes() {
        let a = parse(&[]).expect("defaults");
        assert_eq!(
            (a.repeats, a.window, a.warmup, a.prefix.as_str()),
            (3, 3.0, 1.0, BENCH_PREFIX)
        );
        // Runs: 5 configurations x (max + 80%) + 3 RTT, plus the sweep, each `repeats` times.
        let runs = f64::from(a.repeats) * (5.0 * 2.0 + 3.0 + plan::sweep_scenarios().len() as f64);
        let server_starts = 5.0 + plan::sweep_scenarios().len() as f64;
        let secs = runs * a.run_secs() + server_starts * 3.0;
        assert!(secs < 600.0, "{secs} s");
    }

    #[test]
    fn quick_and_bounds() {
        let q = parse(&["--quick"]).expect("quick").effective();
        assert_eq!((q.repeats, q.window, q.no_sweep), (1, 2.0, true));
        assert!(parse(&["--repeats", "0"]).is_err());
        assert!(parse(&["--window", "100"]).is_err());
        assert!(parse(&["--prefix", "bad name"]).is_err());
        assert_eq!(
            parse(&["--window", "0.1"])
                .expect("tiny")
                .effective()
                .window,
            0.5
        );
    }
}
