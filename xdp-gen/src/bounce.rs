//! `xdp-gen bounce`: attaches `xdp_bounce` (the in-kernel bound: UDP to one port and ICMP
//! echo requests turned around with `XDP_TX`, no user space) for a bounded time, then
//! detaches it and prints how many frames it turned around.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::abi::progs;
use crate::programs::{Globals, Programs};
use xdp_host::netdev::NetDev;
use xdp_host::signals;

/// Options of `xdp-gen bounce`.
#[derive(clap::Args, Clone, Debug)]
pub struct BounceArgs {
    /// Interface to attach to (the responder side of the lab).
    #[arg(long, default_value = "veth-resp")]
    pub iface: String,
    /// UDP destination port to turn around (ICMP echo requests are turned around too).
    #[arg(long, default_value_t = 7)]
    pub port: u16,
    /// Detach and exit after this many seconds (always bounded).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
    /// Attach in SKB (generic) mode instead of natively.
    #[arg(long)]
    pub skb: bool,
}

/// Runs `xdp-gen bounce`.
pub fn run(args: &BounceArgs) -> Result<()> {
    signals::install()?;
    let dev = NetDev::open(&args.iface)?;
    let mut programs = Programs::load(&Globals::for_bounce(args.port))?;
    programs.attach(progs::BOUNCE, dev.ifindex, &dev.name, args.skb)?;
    println!(
        "ready: bounce iface={} port={} mode={} pid={}",
        dev.name,
        args.port,
        if args.skb { "skb" } else { "native" },
        std::process::id()
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    while !signals::stopped() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let n = programs.bounced()?;
    drop(programs);
    println!(
        "bounce: turned around {n} frames in {:.3} s (detached)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
