//! `xdp-responder run`: checks the interface, attaches the program, opens one AF_XDP socket
//! per queue, runs one worker thread per socket, reports counters, and tears all down on
//! SIGINT/SIGTERM, at the end of --duration, or when the interface goes away.
//!
//! Order at start: a socket goes into the XSKMAP only after its worker filled the fill ring,
//! and `ready` is printed once every queue's socket is there. At the end the sockets leave
//! the XSKMAP first (the program passes frames to the kernel again), the workers answer
//! what was already redirected, then stop and drain their TX rings.
use std::{
    net::IpAddr,
    os::fd::AsRawFd,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use xdp_common::Protocol;

use crate::{
    busy_poll::{self, BusyPollChoice, NapiSettings, NapiTuning},
    control,
    errors::{is_root, NEED_ROOT},
    handlers::Identity,
    idle::IdleConfig,
    live_identity::LiveIdentity,
    loader::{Attached, Counting, Loader, XdpModeChoice},
    metrics,
    netdev::NetDev,
    report::{self, Out, Report, Sources},
    stats::QueueStats,
    worker::{self, IdleMode, WorkerOptions},
    xsk::{
        mmap::XskRings,
        socket::{self, BindMode, SocketOptions},
        sys,
    },
};

/// Options of `xdp-responder run`.
#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// Interface to serve (a veth end or a NIC), in the current network namespace.
    #[arg(short, long)]
    pub iface: String,
    /// An IPv4 or IPv6 address to answer for (repeatable). Give addresses the kernel does
    /// not also own, or both will answer.
    #[arg(short, long = "addr", required = true, value_name = "IP")]
    pub addrs: Vec<IpAddr>,
    /// UDP port to echo on (repeatable).
    #[arg(short = 'p', long = "udp-port", value_name = "PORT", default_values_t = [7u16])]
    pub udp_ports: Vec<u16>,
    /// What to answer: comma-separated list of arp, icmp4, icmp6, ndp, udp.
    #[arg(long, value_delimiter = ',', value_parser = parse_protocol, default_values = Protocol::NAMES)]
    pub protocols: Vec<Protocol>,
    /// RX queues to serve: `all`, or a comma-separated list like `0,1`.
    #[arg(short, long, default_value = "all")]
    pub queues: String,
    /// Where the XDP program runs: native (driver) mode with SKB fallback, or forced.
    #[arg(long, value_enum, default_value_t = XdpModeChoice::Auto)]
    pub xdp_mode: XdpModeChoice,
    /// AF_XDP bind mode: zero-copy when the driver offers it else copy, or forced.
    #[arg(long, value_enum, default_value_t = BindMode::Auto)]
    pub bind_mode: BindMode,
    /// UMEM frame size in bytes (2048 or 4096); the frame must hold MTU + 14.
    #[arg(long, default_value_t = 4096)]
    pub frame_size: u32,
    /// UMEM frames per queue (at least twice --ring-size).
    #[arg(long, default_value_t = 4096)]
    pub frame_count: u32,
    /// Size of each of the four rings (power of two).
    #[arg(long, default_value_t = 2048)]
    pub ring_size: u32,
    /// Frames taken from the RX ring and handled per batch; the answers of a batch go
    /// on the TX ring and are kicked together (docs/BENCHMARK.md measures other sizes).
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Copy-mode TX budget: descriptors one sendto() moves (XDP_MAX_TX_SKB_BUDGET, clamped
    /// to 32..=--ring-size); 0 keeps the kernel's default of 32. Kernels without the option
    /// keep their default.
    #[arg(long, default_value_t = crate::xsk::socket::DEFAULT_TX_BUDGET)]
    pub tx_budget: u32,
    /// Bind with XDP_USE_SG: frames longer than a UMEM frame arrive as chains of buffers and
    /// are answered from the same buffers. On by default when the interface's MTU needs more
    /// than one frame (MTU + 18 > --frame-size - 256).
    #[arg(long)]
    pub multi_buffer: bool,
    /// With multi-buffer: the most buffers a frame may span to be answered (1..=18, the
    /// kernel's copy-mode TX limit); a longer one is dropped as `chain_too_long`.
    #[arg(long, default_value_t = crate::xsk::ring::MAX_TX_CHAIN, value_parser = parse_max_chain)]
    pub max_chain: usize,
    /// Do not set XDP_USE_NEED_WAKEUP: kick the kernel on every batch.
    #[arg(long)]
    pub no_need_wakeup: bool,
    /// Spin this long (microseconds) on an empty RX ring before sleeping in poll(2), at start;
    /// the worker adapts it between 2 µs (or this value, if lower) and --idle-spin-max-us:
    /// longer when a sleep is followed by traffic at once, shorter during long idle and at
    /// low load. 0 sleeps as soon as the ring is empty (the adaptation may still grow it).
    #[arg(long, default_value_t = 50, value_name = "US")]
    pub idle_spin_us: u64,
    /// Upper bound of the adaptive spin time, microseconds.
    #[arg(long, default_value_t = 2000, value_name = "US")]
    pub idle_spin_max_us: u64,
    /// Interrupt moderation in user space, as a NIC's `ethtool -C rx-usecs`: at a moderate
    /// load (when the measured arrival rate brings at least 4 frames in this time) an empty
    /// RX ring means a timed nap of up to this many microseconds, long enough for a batch to
    /// arrive, instead of spinning or a poll(2) wake-up per frame; what came is handled as
    /// one batch. Saves CPU between a trickle and full load, adds up to this much delay.
    /// 0 never naps; at most 10000 (a nap also delays the response to a stop request).
    #[arg(long, default_value_t = crate::idle::DEFAULT_COALESCE.as_micros() as u64, value_name = "US",
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub coalesce_us: u64,
    /// Socket busy polling as xdpsock -B does it: SO_PREFER_BUSY_POLL, SO_BUSY_POLL (20 µs)
    /// and SO_BUSY_POLL_BUDGET (= --batch) on each socket, and a loop that never sleeps and
    /// calls recvfrom() whenever its RX ring is empty, which runs the driver's NAPI from the
    /// worker's thread. Where that cannot help (veth, SKB mode) the default idle policy stays
    /// and the start says why; `--busy-poll=force` busy-polls anyway (to measure it).
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "auto", value_name = "auto|force")]
    pub busy_poll: Option<BusyPollChoice>,
    /// With busy polling on: set the interface's napi_defer_hard_irqs=2 and
    /// gro_flush_timeout=200000 (ns) while running, and restore them at exit.
    #[arg(long)]
    pub busy_poll_tune: bool,
    /// Back the UMEM with huge pages (needs HugePages_Total > 0).
    #[arg(long)]
    pub huge_pages: bool,
    /// Pin the worker of queue N to CPU N (modulo the CPU count).
    #[arg(long)]
    pub pin_cpus: bool,
    /// Seconds between counter lines; 0 prints only the totals at exit.
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Limit ICMP, ICMPv6 and UDP echo replies per source address: RATE per second, with
    /// bursts of BURST (default RATE), and at most TOTAL per second per queue (default: no
    /// total). Off by default, as in Linux. ARP and NDP are never limited.
    #[arg(long, value_name = "RATE[/BURST[/TOTAL]]", value_parser = parse_echo_rate)]
    pub echo_rate: Option<crate::ratelimit::Limits>,
    /// Print one JSON object per interval (and the totals) on stdout; human text goes to
    /// stderr. Field names are documented in the README.
    #[arg(long)]
    pub json: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (default 127.0.0.1:9435 when given
    /// without a value; loopback unless you name another address).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = crate::metrics::DEFAULT_ADDR)]
    pub prometheus: Option<std::net::SocketAddr>,
}

/// Parses one `--protocols` name.
fn parse_protocol(s: &str) -> Result<Protocol, String> {
    Protocol::from_name(s).ok_or_else(|| {
        format!(
            "unknown protocol {s:?}: one of {}",
            Protocol::NAMES.join(", ")
        )
    })
}

/// Parses `--max-chain N`, 1..=[`crate::xsk::ring::MAX_TX_CHAIN`].
fn parse_max_chain(s: &str) -> Result<usize, String> {
    let max = crate::xsk::ring::MAX_TX_CHAIN;
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: give a number of buffers from 1 to {max} (the kernel's copy-mode limit)"
        )),
    }
}

/// Parses `--echo-rate RATE[/BURST[/TOTAL]]`.
fn parse_echo_rate(s: &str) -> Result<crate::ratelimit::Limits, String> {
    let n: Vec<u32> = s
        .split('/')
        .map(|p| {
            p.trim().parse::<u32>().map_err(|_| {
                format!("{p:?} is not a number: use RATE[/BURST[/TOTAL]], e.g. 10/20/1000")
            })
        })
        .collect::<Result<_, _>>()?;
    match n.as_slice() {
        [rate, rest @ ..] if *rate > 0 && rest.len() <= 2 => Ok(crate::ratelimit::Limits {
            per_source: *rate,
            burst: rest.first().copied().unwrap_or(*rate).max(1),
            total: rest.get(1).copied().unwrap_or(0),
        }),
        _ => Err("use RATE[/BURST[/TOTAL]] with RATE > 0, e.g. 10/20/1000".into()),
    }
}

/// Parses `all` or `0,2,3` against the interface's queue count.
pub fn parse_queues(spec: &str, available: u32) -> Result<Vec<u32>> {
    if spec == "all" {
        return Ok((0..available).collect());
    }
    let mut out = Vec::new();
    for part in spec.split(',') {
        let q: u32 = part.trim().parse().with_context(|| {
            format!("--queues: {part:?} is not a queue number (use `all` or e.g. `0,1`)")
        })?;
        if q >= available {
            bail!("--queues: queue {q} does not exist: the interface has {available} RX queue(s) (0..{}); see `ethtool -l`", available - 1);
        }
        if !out.contains(&q) {
            out.push(q);
        }
    }
    if out.is_empty() {
        bail!("--queues: no queue given");
    }
    Ok(out)
}

fn identity(args: &RunArgs, mac: [u8; 6]) -> Identity {
    let mut id = Identity {
        mac,
        udp_ports: args.udp_ports.clone(),
        protocols: args.protocols.iter().fold(0, |acc, p| acc | p.bit()),
        ..Default::default()
    };
    for ip in &args.addrs {
        control::add_ip(&mut id, *ip);
    }
    id
}

fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads a valid rlimit struct; failure is harmless (kernels >= 5.11
    // account BPF memory to the cgroup, and root has CAP_IPC_LOCK for the UMEM).
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}

/// Runs the responder until stopped, then prints the totals.
pub fn run(args: RunArgs) -> Result<()> {
    let sock_opts = SocketOptions {
        frame_size: args.frame_size,
        frame_count: args.frame_count,
        ring_size: args.ring_size,
        need_wakeup: !args.no_need_wakeup,
        huge_pages: args.huge_pages,
        bind: args.bind_mode,
        tx_budget: args.tx_budget,
        multi_buffer: args.multi_buffer,
    };
    sock_opts.validate()?;
    for ip in &args.addrs {
        control::check_addr(*ip).context("--addr")?;
    }
    if !is_root() {
        bail!("xdp-responder {NEED_ROOT}");
    }
    let dev = NetDev::open(&args.iface)?;
    let max_frame = dev.mtu + 14 + 4;
    let mut sock_opts = sock_opts;
    let buffers = max_frame.div_ceil(sock_opts.frame_capacity().max(1));
    let out = Out { json: args.json };
    if buffers > 1 && !sock_opts.multi_buffer {
        sock_opts.multi_buffer = true;
        out.human(&format!(
            "note: multi-buffer on: a frame of MTU {} needs {buffers} buffers of {} bytes (XDP_USE_SG)",
            dev.mtu,
            sock_opts.frame_capacity()
        ));
    }
    if sock_opts.multi_buffer && buffers as usize > args.max_chain {
        out.human(&format!(
            "note: a full frame of MTU {} needs {buffers} buffers of {} bytes, more than --max-chain {}: frames longer than {} bytes are dropped as chain_too_long",
            dev.mtu,
            sock_opts.frame_capacity(),
            args.max_chain,
            args.max_chain as u32 * sock_opts.frame_capacity()
        ));
    }
    // Unreachable with multi-buffer switched on above for every MTU that needs it; kept as
    // the guard for a frame that one buffer cannot hold.
    if !sock_opts.multi_buffer && max_frame > sock_opts.frame_capacity() {
        bail!(
            "the MTU of {} ({}) is too large for XDP with {}-byte UMEM frames (room for {} bytes of frame): lower it, e.g. `ip link set dev {} mtu 1500`",
            dev.name,
            dev.mtu,
            sock_opts.frame_size,
            sock_opts.frame_capacity(),
            dev.name
        );
    }
    let queues = parse_queues(&args.queues, dev.rx_queues)?;
    let listener = control::bind(&dev.name)?;
    xdp_host::signals::install()?;
    raise_memlock_limit();

    let id = identity(&args, dev.mac);
    let mut loader = Loader::attach(&dev, args.xdp_mode)?;
    let counting = Counting::for_mode(loader.attached);
    loader.configure(&id, counting)?;
    let live = Arc::new(LiveIdentity::new(id));
    if let Some(why) = &loader.native_refusal {
        out.human(&format!(
            "note: native XDP refused, running in SKB mode: {why}"
        ));
    }

    let busy = busy_poll_decision(&args, &dev.driver, loader.attached, &dev.name, out);
    // Restores the interface's NAPI settings when the run ends (also on error).
    let _tuning = match busy {
        true => napi_settings(&args, &dev.name, out),
        false => None,
    };

    let stop = Arc::new(AtomicBool::new(false));
    let (mut workers, mut sockets) = (Vec::new(), Vec::new());
    if let Err(e) = spawn_workers(
        &args,
        busy,
        &dev.name,
        &queues,
        &sock_opts,
        &mut loader,
        &live,
        &stop,
        out,
        &mut workers,
        &mut sockets,
    ) {
        // Stop what did start before reporting the failure.
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            let _ = w.join();
        }
        return Err(e);
    }

    let loader = Arc::new(Mutex::new(loader));
    let started = Instant::now();
    let mut report = Report::new(
        Sources {
            iface: dev.name.clone(),
            loader: loader.clone(),
            queues: sockets,
            live: live.clone(),
        },
        out,
    );
    let status_src = report.sources();
    let control = control::serve(
        listener,
        control::ControlContext {
            loader: loader.clone(),
            identity: live.clone(),
            status: Box::new(move || report::status_json(&status_src, started.elapsed())),
        },
        stop.clone(),
    )?;
    let metrics = match args.prometheus {
        Some(addr) => {
            let server = metrics::serve(addr, report.sources(), started, stop.clone())?;
            out.human(&format!("prometheus: serving http://{addr}/metrics"));
            Some(server)
        }
        None => None,
    };

    if let Some(note) = vlan_offload_note(&dev.name, sys::rx_vlan_offload(&dev.name).ok()) {
        out.human(&note);
    }
    out.human(&format!(
        "ready: iface={} mac={} driver={} xdp={} queues={:?} addrs={} udp_ports={:?}",
        dev.name,
        xdp_host::mac::format_mac(&dev.mac),
        dev.driver,
        report.modes(),
        queues,
        args.addrs
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(","),
        args.udp_ports
    ));

    let interval = (args.interval > 0.0).then(|| Duration::from_secs_f64(args.interval));
    let deadline = args
        .duration
        .map(|d| started + Duration::from_secs_f64(d.max(0.0)));
    let mut next_line = interval.map(|i| started + i);
    let stop_reason = loop {
        thread::sleep(Duration::from_millis(50));
        if xdp_host::signals::stopped() {
            break "signal";
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break "duration reached";
        }
        if workers.iter().any(|w| w.is_finished()) {
            break "a worker stopped";
        }
        if !std::path::Path::new("/sys/class/net")
            .join(&dev.name)
            .exists()
        {
            break "interface went away";
        }
        if let (Some(at), Some(every)) = (next_line, interval) {
            if Instant::now() >= at {
                report.interval(started.elapsed());
                next_line = Some(at + every);
            }
        }
    };
    // The XDP program stops redirecting before the workers stop: with every socket out of the
    // XSKMAP it passes our frames to the kernel, so no frame lands on an RX ring nobody reads.
    // The workers keep answering for a moment, until what was redirected before has arrived.
    {
        let mut l = loader.lock().unwrap_or_else(|p| p.into_inner());
        for &q in &queues {
            if let Err(e) = l.unregister_socket(q) {
                out.human(&format!("queue {q}: {e:#}"));
            }
        }
    }
    thread::sleep(UNREGISTER_GRACE);
    stop.store(true, Ordering::SeqCst);
    let mut exits = Vec::new();
    let mut failure = None;
    for w in workers {
        match w.join() {
            Ok(Ok(exit)) => exits.push(exit),
            Ok(Err(e)) => failure = Some(e),
            Err(_) => failure = Some(anyhow::anyhow!("a worker panicked")),
        }
    }
    let _ = control.join();
    if let Some(m) = metrics {
        let _ = m.join();
    }
    out.human(&format!("stopping ({stop_reason})"));
    report.totals(started.elapsed(), &exits);
    // Detach before returning: the loader's drop removes the bpf_link.
    drop(report);
    drop(loader);
    if let Some(e) = failure {
        return Err(e.context("worker failed"));
    }
    if let Some((queue, msg)) = exits
        .iter()
        .find_map(|e| e.audit_ok().err().map(|m| (e.queue, m)))
    {
        bail!("queue {queue}: {msg}");
    }
    Ok(())
}

type Worker = thread::JoinHandle<Result<worker::WorkerExit>>;

/// Opens one socket per queue, starts its worker and, once the worker has filled its fill
/// ring, puts the socket into the XSKMAP; adds to `workers` and `sockets` as it goes, so
/// that on error the caller can stop what started.
#[allow(clippy::too_many_arguments)]
fn spawn_workers(
    args: &RunArgs,
    busy: bool,
    ifname: &str,
    queues: &[u32],
    sock_opts: &SocketOptions,
    loader: &mut Loader,
    live: &Arc<LiveIdentity>,
    stop: &Arc<AtomicBool>,
    out: Out,
    workers: &mut Vec<Worker>,
    sockets: &mut Vec<report::QueueInfo>,
) -> Result<()> {
    let worker_opts = WorkerOptions {
        batch: args.batch,
        idle: default_idle(args),
        need_wakeup: sock_opts.need_wakeup,
        echo_limit: args.echo_rate,
        max_chain: args.max_chain,
        ..Default::default()
    };
    let cpus = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    for &queue in queues {
        let q = socket::open(ifname, queue, sock_opts, loader.attached == Attached::Skb)?;
        let rings = XskRings::new(q).with_context(|| format!("queue {queue}"))?;
        let q = &rings.socket;
        // Our own descriptor of the socket, for the XSKMAP update after the worker (which
        // owns the socket) has filled its fill ring: the socket stays open while we hold it.
        // SAFETY: `q.fd()` is the open socket of `rings`, alive for this borrow.
        let map_fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(q.fd()) }
            .try_clone_to_owned()
            .with_context(|| format!("queue {queue}: duplicating the socket descriptor"))?;
        let mut opts = worker_opts.clone();
        if busy {
            match sys::enable_busy_poll(q.fd(), busy_poll::BUSY_POLL_USECS, args.batch as u32) {
                Ok(()) => opts.idle = IdleMode::BusyPoll,
                Err(e) => out.human(&format!(
                    "queue {queue}: socket busy polling not enabled ({e}); keeping the default idle policy"
                )),
            }
        }
        let mode = socket_mode(q.zero_copy, loader.attached);
        match &q.zero_copy_refusal {
            Some(why) => out.human(&format!(
                "queue {queue}: socket mode {mode} (zero-copy not used: {why})"
            )),
            None => out.human(&format!("queue {queue}: socket mode {mode}")),
        }
        if sock_opts.multi_buffer {
            out.human(&format!(
                "queue {queue}: multi-buffer (XDP_USE_SG), frames of up to {} buffers answered",
                args.max_chain
            ));
        }
        if !q.zero_copy {
            out.human(&format!(
                "queue {queue}: copy-mode TX budget {}",
                q.tx_budget.describe()
            ));
        }
        let stats = Arc::new(QueueStats::default());
        sockets.push(report::QueueInfo {
            queue,
            fd: q.fd(),
            mode,
            stats: stats.clone(),
        });
        let (live, stop) = (live.clone(), stop.clone());
        let pin = args.pin_cpus.then_some(queue as usize % cpus);
        let (primed_tx, primed) = mpsc::channel();
        let worker = thread::Builder::new()
            .name(format!("xsk-q{queue}"))
            .spawn(move || {
                if let Some(cpu) = pin {
                    pin_to_cpu(cpu);
                }
                crate::idle::fine_timer_slack();
                worker::run(rings, queue, stats, live, stop, opts, move || {
                    let _ = primed_tx.send(());
                })
            })
            .context("spawning worker")?;
        workers.push(worker);
        // Into the XSKMAP only once its fill ring is full: before, the XDP program passes the
        // queue's frames to the kernel instead of dropping them on an empty fill ring.
        primed.recv_timeout(PRIME_WAIT).map_err(|_| {
            anyhow::anyhow!(
                "queue {queue}: the worker did not fill its fill ring within {PRIME_WAIT:?}"
            )
        })?;
        loader.register_socket(queue, map_fd.as_raw_fd())?;
        drop(map_fd);
    }
    Ok(())
}

/// How long the start waits for a worker to fill its fill ring.
const PRIME_WAIT: Duration = Duration::from_secs(10);
/// How long the XDP program's redirects already made take to reach the RX rings once the
/// sockets left the XSKMAP (they complete within the driver's poll that made them).
const UNREGISTER_GRACE: Duration = Duration::from_millis(20);

/// The idle policy of `--idle-spin-us`, `--idle-spin-max-us` and `--coalesce-us`.
fn default_idle(args: &RunArgs) -> IdleMode {
    IdleMode::Adaptive(IdleConfig::new(
        Duration::from_micros(args.idle_spin_us),
        Duration::from_micros(args.idle_spin_max_us),
        Duration::from_micros(args.coalesce_us),
    ))
}

/// Whether the workers busy-poll, said at start either way when `--busy-poll` was given.
fn busy_poll_decision(
    args: &RunArgs,
    driver: &str,
    attached: Attached,
    ifname: &str,
    out: Out,
) -> bool {
    let Some(choice) = args.busy_poll else {
        return false;
    };
    match (busy_poll::refusal(driver, attached), choice) {
        (None, _) => true,
        (Some(why), BusyPollChoice::Auto) => {
            out.human(&format!(
                "busy poll: not used on {ifname}: {why}; keeping the default idle policy (--busy-poll=force busy-polls anyway)"
            ));
            false
        }
        (Some(why), BusyPollChoice::Force) => {
            out.human(&format!("busy poll: forced on {ifname}, although {why}"));
            true
        }
    }
}

/// Says the interface's NAPI settings for busy polling, and sets them with --busy-poll-tune.
fn napi_settings(args: &RunArgs, ifname: &str, out: Out) -> Option<NapiTuning> {
    let tuning = if args.busy_poll_tune {
        match NapiTuning::apply(ifname) {
            Ok(t) => Some(t),
            Err(e) => {
                out.human(&format!(
                    "busy poll: --busy-poll-tune could not set the NAPI settings of {ifname}: {e}"
                ));
                None
            }
        }
    } else {
        None
    };
    out.human(&busy_poll::settings_note(
        ifname,
        &NapiSettings::read(ifname),
        tuning.is_some(),
    ));
    tuning
}

/// What to tell the user at start about RX VLAN offload (`offload`: the driver's
/// `rx-vlan-offload`, if known). With it on, the driver moves an 802.1Q tag into metadata
/// before XDP runs, so the XDP program (which passes tagged frames to the kernel) sees the
/// frame as untagged and the reply would leave without the tag, on the native VLAN. Reading
/// the tag from metadata (`bpf_xdp_metadata_rx_vlan_tag`) needs a device-bound program and
/// kfunc calls, which the loader (aya 0.14) cannot do yet; so the user is told what to turn off.
pub fn vlan_offload_note(ifname: &str, offload: Option<bool>) -> Option<String> {
    match offload {
        Some(true) => Some(format!(
            "warning: rx-vlan-offload is on for {ifname}: the driver strips 802.1Q tags before XDP, so a tagged frame to our addresses looks untagged and would be answered without its tag. If VLANs reach {ifname}, turn it off: `ethtool -K {ifname} rxvlan off` (on a veth, also `ethtool -K PEER txvlan off` on its peer)"
        )),
        Some(false) => None,
        None => Some(format!(
            "note: could not read rx-vlan-offload of {ifname}; if the driver strips 802.1Q tags, tagged frames would be answered untagged: `ethtool -K {ifname} rxvlan off`"
        )),
    }
}

fn socket_mode(zero_copy: bool, attached: Attached) -> &'static str {
    match (zero_copy, attached) {
        (true, _) => "zero-copy",
        (false, Attached::Native) => "copy",
        (false, Attached::Skb) => "skb",
    }
}

fn pin_to_cpu(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_specs() {
        assert_eq!(parse_queues("all", 2).unwrap(), vec![0, 1]);
        assert_eq!(parse_queues("1,0,1", 2).unwrap(), vec![1, 0]);
        let e = parse_queues("2", 2).unwrap_err().to_string();
        assert!(e.contains("queue 2 does not exist"), "{e}");
        assert!(parse_queues("x", 2).is_err());
    }

    #[test]
    fn vlan_offload_is_reported_when_on_or_unknown() {
        let on = vlan_offload_note("eth1", Some(true)).unwrap();
        assert!(on.contains("ethtool -K eth1 rxvlan off"), "{on}");
        assert!(vlan_offload_note("eth1", Some(false)).is_none());
        assert!(vlan_offload_note("eth1", None)
            .unwrap()
            .contains("rxvlan off"));
    }

    #[test]
    fn echo_rate_specs() {
        let l = parse_echo_rate("10/5/100").unwrap();
        assert_eq!((l.per_source, l.burst, l.total), (10, 5, 100));
        let l = parse_echo_rate("7").unwrap();
        assert_eq!((l.per_source, l.burst, l.total), (7, 7, 0));
        assert!(parse_echo_rate("0").is_err());
        assert!(parse_echo_rate("1/2/3/4").is_err());
        assert!(parse_echo_rate("x").is_err());
    }
}
