//! `xdp-gen gen`: send requests with `BPF_PROG_RUN` live frames, count and time the replies
//! with the sink, report.
//!
//! A run has three phases, stamped into every frame: warm-up, the measured window, and a
//! drain (nothing sent; late replies still count for the phase their request was sent in).
//! The window ends after `--seconds` or `--count` frames, whichever comes first.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::abi::{phase, progs, EXPECT_ECHO, EXPECT_MACSWAP};
use crate::frame::{FlowSpec, Proto};
use crate::pacing::Rate;
use crate::programs::{GenState, Globals, Programs};
use crate::report::GenResult;
use crate::testrun::{self, LiveFrames};
use xdp_host::cpu::{self, SysTimes};
use xdp_host::mac::parse_mac;
use xdp_host::netdev::NetDev;
use xdp_host::signals;

/// Which requests to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtoChoice {
    /// UDP datagrams to --dst-port.
    Udp,
    /// ICMP echo requests.
    Icmp,
}

/// What a valid reply is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Expect {
    /// An echo: addresses and ports swapped (UDP), or an ICMP echo reply.
    Echo,
    /// The request with only its MAC addresses swapped (a MAC-swap forwarder such as DPDK
    /// testpmd's `macswap` mode); everything else is checked as for an echo.
    Macswap,
}

/// Options of `xdp-gen gen`. Defaults are the lab's (see `xtask/src/lab.rs`).
#[derive(clap::Args, Clone, Debug)]
pub struct GenArgs {
    /// Interface to send from and to receive replies on (the sink attaches here).
    #[arg(long, default_value = "veth-gen")]
    pub iface: String,
    /// Destination MAC: the target's interface.
    #[arg(long, default_value = "02:00:00:00:00:02", value_parser = parse_mac)]
    pub dst_mac: [u8; 6],
    /// Source MAC (default: the interface's own).
    #[arg(long, value_parser = parse_mac)]
    pub src_mac: Option<[u8; 6]>,
    /// Source IPv4 address: replies come back to it.
    #[arg(long, default_value = "198.18.0.1")]
    pub src_ip: Ipv4Addr,
    /// Destination IPv4 address: the target.
    #[arg(long, default_value = "198.18.0.2")]
    pub dst_ip: Ipv4Addr,
    /// What to send.
    #[arg(long, value_enum, default_value_t = ProtoChoice::Udp)]
    pub proto: ProtoChoice,
    /// What a valid reply is.
    #[arg(long, value_enum, default_value_t = Expect::Echo)]
    pub expect: Expect,
    /// UDP destination port.
    #[arg(long, default_value_t = 7)]
    pub dst_port: u16,
    /// First UDP source port.
    #[arg(long, default_value_t = 10_000)]
    pub src_port: u16,
    /// How many UDP source ports to cycle through (a power of two), so that flows spread
    /// wherever RX queues are chosen by hash.
    #[arg(long, default_value_t = 64)]
    pub ports: u16,
    /// Payload bytes after the UDP / ICMP header (16..=1472; 18 makes a 60-byte frame).
    #[arg(long, default_value_t = 18)]
    pub size: usize,
    /// Send rate: `max` or packets per second (`250000`, `250k`, `1.5M`).
    #[arg(long, default_value = "max", value_parser = Rate::parse)]
    pub rate: Rate,
    /// Length of the measured window in seconds (always bounded).
    #[arg(long, default_value_t = 5.0, value_parser = parse_seconds)]
    pub seconds: f64,
    /// Stop the window after this many frames (if before --seconds).
    #[arg(long)]
    pub count: Option<u64>,
    /// Warm-up before the window, in seconds (replies counted apart).
    #[arg(long, default_value_t = 0.5, value_parser = parse_warmup)]
    pub warmup: f64,
    /// How long to wait for late replies after the window, in milliseconds.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub drain_ms: u64,
    /// Pin the sending thread to this CPU (veth delivers to the peer on the sending CPU).
    #[arg(long)]
    pub cpu: Option<usize>,
    /// Frames per kernel batch inside one BPF_PROG_RUN call (1..=256).
    #[arg(long, default_value_t = 64)]
    pub batch: u32,
    /// Sample one frame in N (a power of two): sampled frames carry a timestamp, and their
    /// replies get their checksums verified and their RTT recorded (every reply gets the other
    /// checks). Default: 16 at `--rate max`, 1 (all) at a fixed rate.
    #[arg(long)]
    pub sample_every: Option<u64>,
    /// RX queue index the frames pretend to arrive on (must exist on --iface).
    #[arg(long, default_value_t = 0)]
    pub rx_queue: u32,
    /// ICMP echo identifier (default: from the process id).
    #[arg(long)]
    pub icmp_id: Option<u16>,
    /// Report the CPU time of this process (all its threads) during the window (repeatable).
    #[arg(long = "watch-pid", value_name = "PID")]
    pub watch_pids: Vec<u32>,
    /// Attach the sink in SKB (generic) mode instead of natively.
    #[arg(long)]
    pub skb_sink: bool,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.01..=3600.0).contains(&v) {
        return Err(format!("must be 0.01..=3600 seconds, got {v}"));
    }
    Ok(v)
}

fn parse_warmup(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=600.0).contains(&v) {
        return Err(format!("must be 0..=600 seconds, got {v}"));
    }
    Ok(v)
}

impl GenArgs {
    /// The flow these options describe, with `src_mac` as the default source MAC.
    pub fn flow(&self, src_mac: [u8; 6]) -> FlowSpec {
        let proto = match self.proto {
            ProtoChoice::Udp => Proto::Udp {
                src_port: self.src_port,
                dst_port: self.dst_port,
            },
            ProtoChoice::Icmp => Proto::Icmp {
                id: self.icmp_id.unwrap_or(std::process::id() as u16),
            },
        };
        FlowSpec {
            src_mac: self.src_mac.unwrap_or(src_mac),
            dst_mac: self.dst_mac,
            src_ip: self.src_ip,
            dst_ip: self.dst_ip,
            proto,
            payload_len: self.size,
        }
    }

    /// One frame in this many is sampled.
    pub fn sample_every(&self) -> u64 {
        self.sample_every.unwrap_or(match self.rate {
            Rate::Max => 16,
            Rate::Pps(_) => 1,
        })
    }

    fn validate(&self) -> Result<()> {
        if !self.ports.is_power_of_two() {
            bail!(
                "--ports must be a power of two (1, 2, 4, ... 32768), got {}",
                self.ports
            );
        }
        if u32::from(self.src_port) + u32::from(self.ports) > 65_536 || self.src_port == 0 {
            bail!(
                "--src-port {} + --ports {} must stay within 1..=65535",
                self.src_port,
                self.ports
            );
        }
        if !(1..=testrun::MAX_BATCH).contains(&self.batch) {
            bail!(
                "--batch must be 1..={}, got {}",
                testrun::MAX_BATCH,
                self.batch
            );
        }
        if let Some(n) = self.sample_every {
            if !n.is_power_of_two() {
                bail!("--sample-every must be a power of two (1, 2, 4, ...), got {n}");
            }
        }
        if self.count == Some(0) {
            bail!("--count must be at least 1");
        }
        Ok(())
    }
}

/// Runs `xdp-gen gen` and prints the result.
pub fn run(args: &GenArgs) -> Result<()> {
    args.validate()?;
    signals::install()?;
    let dev = NetDev::open(&args.iface)?;
    let flow = args.flow(dev.mac);
    let template = flow.build()?;
    let mut globals = Globals::for_flow(
        &flow,
        &template,
        dev.ifindex,
        args.ports,
        args.sample_every(),
    );
    globals.expect = match args.expect {
        Expect::Echo => EXPECT_ECHO,
        Expect::Macswap => EXPECT_MACSWAP,
    };
    let mut programs = Programs::load(&globals)?;
    programs.attach(progs::SINK, dev.ifindex, &dev.name, args.skb_sink)?;
    let mut state = programs.take_gen_state()?;
    let sink = programs.take_sink_stats()?;
    if let Some(cpu) = args.cpu {
        pin_to_cpu(cpu)?;
    }
    let live = LiveFrames::new(
        programs.tx()?,
        &template,
        dev.ifindex,
        args.rx_queue,
        args.batch,
    )?;
    state.set_interval(args.rate.interval_ns())?;
    let mut sender = Sender {
        live: &live,
        state,
        per_call: args.rate.runs_per_call(),
        interrupted: false,
    };

    sender.state.set_phase(phase::WARMUP)?;
    let warmup_sent = sender.run_for(Duration::from_secs_f64(args.warmup), None)?;

    sender.state.set_phase(phase::WINDOW)?;
    let watched_before = watched_cpu(&args.watch_pids)?;
    let sys_before = SysTimes::now()?;
    let t0 = Instant::now();
    let sent = sender.run_for(Duration::from_secs_f64(args.seconds), args.count)?;
    let window = t0.elapsed();
    let sys = SysTimes::now()?.since(&sys_before);
    let watched_after = watched_cpu(&args.watch_pids)?;

    sender.state.set_phase(phase::COOLDOWN)?;
    let drain_until = Instant::now() + Duration::from_millis(args.drain_ms);
    while Instant::now() < drain_until && !signals::stopped() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let result = GenResult {
        proto: match args.proto {
            ProtoChoice::Udp => "udp",
            ProtoChoice::Icmp => "icmp",
        },
        frame_len: template.len(),
        rate: match args.rate {
            Rate::Max => None,
            Rate::Pps(p) => Some(p),
        },
        window,
        sent,
        warmup_sent,
        sink: sink.read()?,
        watched_cpu_ns: match (watched_before, watched_after) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        },
        sys,
        tick: cpu::tick(),
        interrupted: sender.interrupted || signals::stopped(),
    };
    println!("{}", result.human());
    println!("{}", result.machine_line());
    Ok(())
}

/// Repeated `BPF_PROG_RUN` calls; the transmitter paces itself and counts what it sends.
struct Sender<'a> {
    live: &'a LiveFrames<'a>,
    state: GenState,
    /// Program runs per call.
    per_call: u32,
    interrupted: bool,
}

impl Sender<'_> {
    /// Sends for `duration` or until `limit` frames; returns the frames sent. Never more than
    /// `limit`: a call runs the program at most as often as frames remain, and each run sends
    /// at most one frame.
    fn run_for(&mut self, duration: Duration, limit: Option<u64>) -> Result<u64> {
        let deadline = Instant::now() + duration;
        let before = self.state.sent()?;
        let limit = limit.unwrap_or(u64::MAX);
        let mut sent = 0u64;
        while sent < limit && !self.interrupted {
            if signals::stopped() {
                self.interrupted = true;
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            let runs = u64::from(self.per_call).min(limit - sent) as u32;
            match self.live.send(runs) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => self.interrupted = true,
                Err(e) => return Err(anyhow!(testrun::explain(&e))),
            }
            sent = self.state.sent()?.wrapping_sub(before);
        }
        Ok(sent)
    }
}

/// Summed on-CPU time of the watched processes (`None` if none are watched).
fn watched_cpu(pids: &[u32]) -> Result<Option<u64>> {
    if pids.is_empty() {
        return Ok(None);
    }
    let mut total = 0;
    for &pid in pids {
        total += cpu::process_cpu_ns(pid)?;
    }
    Ok(Some(total))
}

/// Pins the calling thread to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)
        .with_context(|| format!("CPU {cpu} is out of range"))?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .with_context(|| format!("pinning to CPU {cpu} failed (does it exist? `nproc`)"))
}
