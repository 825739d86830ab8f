//! `cargo xtask ladder`: the copy ladder, measured. Every rung runs on the same veth lab and
//! load; copies, system calls and context switches are counted in the kernel by
//! `xdp-ladder count` (BPF), CPU time from `/proc`, throughput from the load. Writes
//! `results/ladder.md`. See docs/LADDER.md.
//!
//! * packet rungs (UDP echo at the generator's maximum rate, `xdp-gen`, the servers of
//!   `cargo xtask bench`): recvfrom/sendto, recvmmsg/sendmmsg, AF_XDP with the XDP program in
//!   SKB mode, AF_XDP native copy mode, AF_XDP zero-copy (absent on veth);
//! * file rungs (`xdp-ladder file-server` / `file-client`, a 1 MiB file over TCP, every
//!   delivery compared byte for byte): read+write, mmap+write, sendfile, splice, MSG_ZEROCOPY.

pub mod svg;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::bench::plan::{self, GenRun, Scenario};
use super::bench::sample::Sample;
use super::build;
use crate::lab::{self, Lab, LabSpec};
use crate::responder::Responder;
use crate::{cmd, paths, privilege, setup, signals};

/// Namespace prefix of the ladder's lab.
pub const LADDER_PREFIX: &str = "ladder";
/// Size of the served file.
pub const FILE_SIZE: usize = 1 << 20;
/// TCP port of the file server.
const FILE_PORT: u16 = 8080;
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Options of `cargo xtask ladder`.
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct LadderArgs {
    /// About a minute: 1.5-second windows.
    #[arg(long)]
    pub quick: bool,
    /// Measured window per rung and run, in seconds.
    #[arg(long, default_value_t = 4.0)]
    pub window: f64,
    /// Runs per rung; the table shows medians.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub repeats: u32,
    /// A real NIC for the AF_XDP zero-copy rung (needs load from another machine; not
    /// measured by this task yet, the row says so).
    #[arg(long)]
    pub iface: Option<String>,
    /// Only these rungs (keys, comma-separated; default all).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Namespace prefix of the lab.
    #[arg(long, default_value = LADDER_PREFIX)]
    pub prefix: String,
    /// Directory for ladder.md (relative: to the workspace).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
}

impl LadderArgs {
    fn effective(&self) -> LadderArgs {
        let mut a = self.clone();
        if a.quick {
            a.window = a.window.min(1.5);
            a.repeats = 1;
        }
        a.window = a.window.clamp(1.0, 30.0);
        a
    }
}

/// The rungs, in ladder order: key, label, what the rung changes, the literature's claim.
pub struct Rung {
    pub key: &'static str,
    pub label: &'static str,
    pub changes: &'static str,
    /// Claimed CPU copies per packet/request and system calls, as the literature states them.
    pub claim_copies: &'static str,
    pub claim_syscalls: &'static str,
    pub kind: RungKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RungKind {
    /// A packet rung served by this bench scenario key.
    Packet(&'static str),
    /// AF_XDP zero-copy: only on a NIC that offers it.
    ZeroCopy,
    /// A file rung with this `xdp-ladder file-server --mode`.
    File(&'static str),
}

pub static RUNGS: [Rung; 10] = [
    Rung {
        key: "recvfrom",
        label: "UDP recvfrom/sendto",
        changes: "the classic path: one system call per datagram each way, payload copied kernel->user and back",
        claim_copies: "2 (skb->user, user->skb)",
        claim_syscalls: "2 per packet",
        kind: RungKind::Packet(plan::keys::SIMPLE),
    },
    Rung {
        key: "mmsg",
        label: "UDP recvmmsg/sendmmsg",
        changes: "batches datagrams per system call; the copies stay",
        claim_copies: "2",
        claim_syscalls: "2 per batch",
        kind: RungKind::Packet(plan::keys::MMSG),
    },
    Rung {
        key: "xsk-skb",
        label: "AF_XDP, XDP in SKB mode",
        changes: "no socket layer; the XDP program runs on the skb, frames copied into UMEM and out of it",
        claim_copies: "2 (skb->UMEM, UMEM->skb)",
        claim_syscalls: "~1 per TX batch",
        kind: RungKind::Packet(plan::keys::SKB),
    },
    Rung {
        key: "xsk-copy",
        label: "AF_XDP, native XDP, copy mode",
        changes: "XDP runs in the driver before any skb exists; still one copy into UMEM and one out",
        claim_copies: "2 (frame->UMEM, UMEM->skb)",
        claim_syscalls: "~1 per TX batch",
        kind: RungKind::Packet(plan::keys::NATIVE),
    },
    Rung {
        key: "xsk-zc",
        label: "AF_XDP, zero-copy",
        changes: "the NIC DMAs into UMEM and out of it: no CPU copy at all",
        claim_copies: "0",
        claim_syscalls: "~0 (need_wakeup)",
        kind: RungKind::ZeroCopy,
    },
    Rung {
        key: "read-write",
        label: "file: read() + write()",
        changes: "page cache -> user buffer -> socket: two CPU copies, two system calls per chunk",
        claim_copies: "2 CPU (+2 DMA)",
        claim_syscalls: "2 per chunk, 4 context switches",
        kind: RungKind::File("read"),
    },
    Rung {
        key: "mmap-write",
        label: "file: mmap() + write()",
        changes: "the file is mapped: the read copy goes, the socket copy stays",
        claim_copies: "1 CPU (+2 DMA)",
        claim_syscalls: "1 per chunk, 4 context switches",
        kind: RungKind::File("mmap"),
    },
    Rung {
        key: "sendfile",
        label: "file: sendfile()",
        changes: "the data never leaves the kernel: page-cache pages are attached to the skb",
        claim_copies: "0 CPU with scatter-gather DMA (1 without)",
        claim_syscalls: "1 per chunk, 2 context switches",
        kind: RungKind::File("sendfile"),
    },
    Rung {
        key: "splice",
        label: "file: splice() through a pipe",
        changes: "page references move file -> pipe -> socket",
        claim_copies: "0 CPU",
        claim_syscalls: "2 per chunk",
        kind: RungKind::File("splice"),
    },
    Rung {
        key: "msg-zerocopy",
        label: "file: send(MSG_ZEROCOPY) from the mapping",
        changes: "user pages pinned and sent; completions on the error queue",
        claim_copies: "0 CPU (copied if the route cannot keep the pages)",
        claim_syscalls: "1 per chunk + completions",
        kind: RungKind::File("zerocopy"),
    },
];

/// What one run of one rung measured (per packet or per request).
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Packets answered or files delivered in the counter's window.
    pub units: f64,
    /// Units per second.
    pub rate: f64,
    /// Payload bytes per unit (file size, or UDP payload).
    pub unit_bytes: f64,
    /// The counter's `RESULT` fields.
    pub counts: HashMap<String, f64>,
    /// Server CPU per unit, ns.
    pub cpu_ns: f64,
    /// Server totals line (file rungs).
    pub server_note: String,
}

impl Measured {
    /// A counter field per unit.
    pub fn per_unit(&self, key: &str) -> Option<f64> {
        let v = self.counts.get(key)?;
        (self.units > 0.0).then(|| v / self.units)
    }

    /// True if the fentry probes were attached.
    pub fn fentry(&self) -> bool {
        self.counts.get("fentry").is_some_and(|v| *v > 0.0)
    }
}

/// Parses the counter's `RESULT key=value ...` line (`fentry=yes` becomes 1.0).
pub fn parse_counts(output: &str) -> Result<HashMap<String, f64>> {
    let m = parse_result(output)?;
    if !m.contains_key("window_s") {
        bail!("RESULT line lacks window_s");
    }
    Ok(m)
}

/// Parses the last `RESULT key=value ...` line of `output`.
pub fn parse_result(output: &str) -> Result<HashMap<String, f64>> {
    let line = output
        .lines()
        .rev()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
        .context("no RESULT line")?;
    let mut m = HashMap::new();
    for kv in line.split_whitespace() {
        if let Some((k, v)) = kv.split_once('=') {
            let x = match v {
                "yes" => 1.0,
                "denied" => 0.0,
                _ => v
                    .parse()
                    .with_context(|| format!("RESULT {k}={v} is not a number"))?,
            };
            m.insert(k.to_string(), x);
        }
    }
    Ok(m)
}

/// Binaries used.
pub struct Bins {
    pub responder: PathBuf,
    pub gen: PathBuf,
    pub ladder: PathBuf,
}

/// Builds the responder, the generator and xdp-ladder (release).
pub fn build() -> Result<Bins> {
    println!("ladder: building the responder, xdp-gen and xdp-ladder (release)...");
    let [responder, gen, ladder] =
        build::build_release([build::RESPONDER, build::GEN, build::LADDER])?;
    Ok(Bins {
        responder,
        gen,
        ladder,
    })
}

/// Writes the served file (deterministic pseudo-random bytes) and returns its path.
pub fn make_file(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("ladder-file.bin");
    let mut rng = xdp_testkit::rng::XorShift(0x9e37_79b9_7f4a_7c15);
    let mut data = Vec::with_capacity(FILE_SIZE);
    while data.len() < FILE_SIZE {
        data.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    data.truncate(FILE_SIZE);
    std::fs::write(&path, &data).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Waits until `p` exits (at most `timeout`), then returns its output lines.
fn wait_exit(p: &mut Responder, timeout: Duration, stop: &AtomicBool) -> Result<String> {
    let start = Instant::now();
    loop {
        if p.try_status()?.is_some() {
            break;
        }
        if stop.load(Ordering::SeqCst) || start.elapsed() > timeout {
            let _ = p.stop(STOP_GRACE);
            bail!("did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = p.stop(STOP_GRACE)?;
    let out = p.output().join("\n");
    if !status.success() {
        bail!(
            "exited with {}: {}",
            cmd::describe_status(status),
            p.stderr_tail()
        );
    }
    Ok(out)
}

/// Starts the counter for `server` and `peer` with a window starting `start_after` seconds
/// from now.
fn start_counter(
    bins: &Bins,
    server: u32,
    peer: u32,
    start_after: f64,
    window: f64,
) -> Result<Responder> {
    let mut c = std::process::Command::new(&bins.ladder);
    c.args([
        "count",
        "--server",
        &server.to_string(),
        "--peer",
        &peer.to_string(),
        "--start-after",
        &format!("{start_after}"),
        "--window",
        &format!("{window}"),
    ]);
    Responder::spawn(c, "[count] ")
}

/// One run of a packet rung against the already running `server`.
fn packet_run(
    lab: &Lab,
    bins: &Bins,
    sc: &Scenario,
    server: u32,
    window: f64,
    stop: &AtomicBool,
) -> Result<Measured> {
    let warmup = 1.0;
    let run = GenRun {
        load: plan::Load::Udp,
        rate: None,
        window,
        warmup,
        sample_every: 16,
    };
    let argv = plan::gen_command(&bins.gen, sc, &run, 0, Some(server));
    let mut gen = Responder::spawn(lab.exec_gen(&argv), "[gen] ")?;
    let mut counter = start_counter(
        bins,
        server,
        gen.pid(),
        warmup + 0.3,
        (window - 0.6).max(0.5),
    )?;
    let limit = Duration::from_secs_f64(window + warmup + 30.0);
    let counted = wait_exit(&mut counter, limit, stop).context("xdp-ladder count");
    let gen_out = wait_exit(&mut gen, limit, stop).context("xdp-gen gen")?;
    let counts = parse_counts(&counted?)?;
    let s = Sample::from_output(&gen_out)?;
    let w = counts["window_s"];
    Ok(Measured {
        units: s.rx_pps * w,
        rate: s.rx_pps,
        unit_bytes: 18.0,
        cpu_ns: s
            .server_cpu_ns
            .map_or(0.0, |ns| ns as f64 / (s.received.max(1) as f64)),
        counts,
        server_note: String::new(),
    })
}

/// One run of a file rung: server, client and counter.
fn file_run(
    lab: &Lab,
    bins: &Bins,
    mode: &str,
    file: &Path,
    window: f64,
    stop: &AtomicBool,
) -> Result<Measured> {
    let s = |x: &str| x.to_string();
    let addr = lab::RESP_KERNEL_IPV4.to_string();
    let total = window + 2.0;
    let server_argv = vec![
        bins.ladder.display().to_string(),
        s("file-server"),
        s("--mode"),
        s(mode),
        s("--file"),
        file.display().to_string(),
        s("--addr"),
        addr.clone(),
        s("--port"),
        FILE_PORT.to_string(),
        s("--seconds"),
        format!("{}", total.ceil() as u64 + 3),
        s("--cpu"),
        s("1"),
    ];
    let mut server = Responder::spawn(lab.exec_resp(&server_argv), &format!("[{mode}] "))?;
    server.wait_ready(READY_TIMEOUT, stop)?;
    let client_argv = vec![
        bins.ladder.display().to_string(),
        s("file-client"),
        s("--file"),
        file.display().to_string(),
        s("--addr"),
        addr,
        s("--port"),
        FILE_PORT.to_string(),
        s("--seconds"),
        format!("{total}"),
        s("--cpu"),
        s("0"),
    ];
    let mut client = Responder::spawn(lab.exec_gen(&client_argv), "[client] ")?;
    let mut counter = start_counter(bins, server.pid(), client.pid(), 1.0, window)?;
    let limit = Duration::from_secs_f64(total + 30.0);
    let counted = wait_exit(&mut counter, limit, stop).context("xdp-ladder count");
    let client_out = wait_exit(&mut client, limit, stop).context("xdp-ladder file-client");
    let server_out = wait_exit(&mut server, limit, stop).context("xdp-ladder file-server");
    let counts = parse_counts(&counted?)?;
    let client_out = client_out?;
    let kv = parse_result(&client_out)?;
    let files = kv.get("files").copied().unwrap_or(0.0);
    let elapsed = kv.get("elapsed_s").copied().unwrap_or(0.0);
    if files < 1.0 || elapsed <= 0.0 {
        bail!("the client received no complete file");
    }
    let rate = files / elapsed;
    let w = counts["window_s"];
    let units = rate * w;
    let cpu = counts.get("server.cpu_ns").copied().unwrap_or(0.0);
    Ok(Measured {
        units,
        rate,
        unit_bytes: FILE_SIZE as f64,
        cpu_ns: if units > 0.0 { cpu / units } else { 0.0 },
        counts,
        server_note: server_out?
            .lines()
            .find(|l| l.contains("file-server:"))
            .unwrap_or("")
            .to_string(),
    })
}

/// The rungs' results, in order (`None`: not measured, with the reason).
pub type Table = Vec<(&'static Rung, Result<Vec<Measured>, String>)>;

/// Measures the selected rungs in `lab` (already tuned).
pub fn measure(
    lab: &Lab,
    bins: &Bins,
    args: &LadderArgs,
    file: &Path,
    stop: &AtomicBool,
) -> Result<Table> {
    let mut table: Table = Vec::new();
    let mut sg_on = false;
    let scenarios = plan::main_scenarios();
    for rung in RUNGS.iter() {
        if !args.only.is_empty() && !args.only.iter().any(|k| k == rung.key) {
            continue;
        }
        if stop.load(Ordering::SeqCst) {
            bail!("interrupted");
        }
        println!("\nladder: === {} ===", rung.label);
        let outcome = match rung.kind {
            RungKind::ZeroCopy => Err(match &args.iface {
                None => "veth has no AF_XDP zero-copy (XDP_ZEROCOPY -> EOPNOTSUPP); run with --iface on a NIC whose driver offers it".to_string(),
                Some(i) => format!("{i}: measuring zero-copy needs load from another machine; this task does not drive one yet"),
            }),
            RungKind::Packet(key) => {
                let sc = scenarios
                    .iter()
                    .find(|s| s.key == key)
                    .context("scenario missing")?;
                let secs = (f64::from(args.repeats) * (args.window + 3.0)).ceil() as u64 + 30;
                let argv = sc.server_command(&bins.responder, &bins.gen, 1, secs);
                let mut server = Responder::spawn(lab.exec_resp(&argv), &format!("[{}] ", rung.key))?;
                let r = server
                    .wait_ready(READY_TIMEOUT, stop)
                    .and_then(|()| {
                        (0..args.repeats)
                            .map(|_| packet_run(lab, bins, sc, server.pid(), args.window, stop))
                            .collect::<Result<Vec<_>>>()
                    })
                    .map_err(|e| format!("{e:#}"));
                let _ = server.stop(STOP_GRACE);
                r
            }
            RungKind::File(_) if !sg_on && {
                sg_on = true;
                let r = enable_sg(lab);
                r.is_err()
            } => Err("enabling scatter-gather on veth-resp failed".to_string()),
            RungKind::File(mode) => (0..args.repeats)
                .map(|_| file_run(lab, bins, mode, file, args.window, stop))
                .collect::<Result<Vec<_>>>()
                .map_err(|e| format!("{e:#}")),
        };
        if let Err(e) = &outcome {
            eprintln!("ladder: {}: not measured: {e}", rung.label);
        }
        table.push((rung, outcome));
    }
    Ok(table)
}

/// The median of `f` over the runs.
pub fn median(runs: &[Measured], f: impl Fn(&Measured) -> Option<f64>) -> Option<f64> {
    let mut v: Vec<f64> = runs.iter().filter_map(f).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// Bytes copied between user memory and the kernel by the server's (and, for packets, the
/// generator's) work, per unit, from the fentry probes.
pub fn user_copy_bytes(m: &Measured) -> Option<f64> {
    fentry_bytes(
        m,
        &[
            "_copy_to_iter",
            "_copy_from_iter",
            "_copy_from_iter_nocache",
            "csum_and_copy_to_iter",
            "csum_and_copy_from_iter_full",
            "copy_folio_from_iter_atomic",
        ],
    )
}

/// Bytes the server moved between user buffers and the kernel per unit, by the socket and
/// file tracepoints classified by system call (each one a CPU copy).
pub fn user_bytes(m: &Measured) -> Option<f64> {
    let keys = [
        "sock_user_rx",
        "sock_user_tx",
        "file_to_user",
        "file_from_user",
    ];
    let mut sum = 0.0;
    for k in keys {
        sum += m.per_unit(&format!("server.{k}.bytes"))?;
    }
    Some(sum)
}

/// Kernel-internal copies (skb, UMEM) per unit, from the fentry probes.
pub fn kernel_copy_bytes(m: &Measured) -> Option<f64> {
    fentry_bytes(m, &["skb_copy_bits", "skb_store_bits", "__xsk_rcv"])
}

/// Bytes the fentry probes on the copy functions `keys` counted per unit: the server's, plus
/// the peer's where they are the server's work ([`packet_peer`]); `None` without fentry.
fn fentry_bytes(m: &Measured, keys: &[&str]) -> Option<f64> {
    if !m.fentry() {
        return None;
    }
    Some(
        keys.iter()
            .map(|k| {
                m.per_unit(&format!("server.{k}.bytes")).unwrap_or(0.0)
                    + m.per_unit(&format!("peer.{k}.bytes")).unwrap_or(0.0) * packet_peer(m)
            })
            .sum(),
    )
}

/// For packet rungs the generator's system call runs the server's receive path (veth), so
/// its copies count; for file rungs the peer is the client, whose copies are not the
/// server's.
fn packet_peer(m: &Measured) -> f64 {
    if m.unit_bytes < 1024.0 {
        1.0
    } else {
        0.0
    }
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.digits$}"))
}

/// The markdown report.
pub fn render(table: &Table, env: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# The copy ladder, measured\n\n{env}\n");
    let _ = writeln!(md, "Per packet (UDP echo, 18-byte payload, generator at its maximum rate) or per request (one delivery of a 1 MiB file over TCP, verified byte for byte). Medians over the runs. Copies, system calls and context switches are counted in the kernel by BPF (`xdp-ladder count`, BTF tracepoints; fentry on the copy functions where the machine allows it); n/a = not measurable on this machine (see docs/LADDER.md). \"User<->kernel copies per payload byte\": bytes the server's sockets and files moved through user buffers (each byte one CPU copy), divided by the payload delivered.\n");
    let _ = writeln!(md, "| rung | claim: CPU copies | measured: user<->kernel copies per payload byte | measured: bytes sent with no user copy | measured: frames copied into UMEM | measured (fentry): user<->kernel / in-kernel copy bytes | claim: syscalls | measured: syscalls | measured: context switches | server CPU | throughput |");
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|");
    for (rung, r) in table {
        match r {
            Err(e) => {
                let _ = writeln!(
                    md,
                    "| {} | {} | absent: {e} | | | | {} | | | | |",
                    rung.label, rung.claim_copies, rung.claim_syscalls
                );
            }
            Ok(runs) => {
                let file = matches!(rung.kind, RungKind::File(_));
                let unit = if file { "req" } else { "pkt" };
                let per_byte = median(runs, |m| user_bytes(m).map(|b| b / m.unit_bytes));
                let kernel_tx = median(runs, |m| m.per_unit("server.sock_kernel_tx.bytes"));
                let umem = median(runs, |m| {
                    Some(
                        m.per_unit("server.xsk_redirect.calls")?
                            + m.per_unit("peer.xsk_redirect.calls")?,
                    )
                });
                let user = median(runs, user_copy_bytes);
                let kern = median(runs, kernel_copy_bytes);
                let sys = median(runs, |m| m.per_unit("server.syscalls.calls"));
                let sw = median(runs, |m| m.per_unit("server.switches.calls"));
                let cpu = median(runs, |m| Some(m.cpu_ns / 1e3));
                let rate = median(runs, |m| Some(m.rate));
                let thr = if file {
                    format!("{} MB/s", fmt(rate.map(|r| r * FILE_SIZE as f64 / 1e6), 0))
                } else {
                    format!("{} Mpps", fmt(rate.map(|r| r / 1e6), 3))
                };
                let fentry = match (user, kern) {
                    (Some(u), Some(k)) => format!("{u:.1} / {k:.1} B/{unit}"),
                    _ => "n/a (fentry denied)".to_string(),
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} B/{unit} | {}/{unit} | {fentry} | {} | {}/{unit} | {}/{unit} | {} µs/{unit} | {thr} |",
                    rung.label,
                    rung.claim_copies,
                    fmt(per_byte, 2),
                    fmt(kernel_tx, 0),
                    fmt(umem, 2),
                    rung.claim_syscalls,
                    fmt(sys, if file { 1 } else { 3 }),
                    fmt(sw, 3),
                    fmt(cpu, if file { 0 } else { 2 }),
                );
            }
        }
    }
    let _ = writeln!(md, "\nWhat each rung changes:\n");
    for (rung, _) in table {
        let _ = writeln!(md, "* **{}**: {}.", rung.label, rung.changes);
    }
    let notes: Vec<String> = table
        .iter()
        .filter_map(|(rung, r)| {
            let runs = r.as_ref().ok()?;
            let note = runs.last()?.server_note.trim().to_string();
            (!note.is_empty()).then(|| format!("* {}: `{}`", rung.label, note))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(md, "\nServer totals of the last run (MSG_ZEROCOPY: how many sends the kernel reported as copied after all):\n");
        for n in notes {
            let _ = writeln!(md, "{n}");
        }
    }
    md
}

/// Runs the ladder.
pub fn ladder(args: &LadderArgs) -> Result<()> {
    let args = args.effective();
    privilege::require_root("ladder")?;
    lab::validate_prefix(&args.prefix)?;
    let stop = signals::install()?;
    setup::ensure_toolchain(false)?;
    let bins = build()?;
    let file = make_file(&paths::target_dir().join("ladder"))?;
    let busy_before = super::bench::busy_pct(Duration::from_secs(1))?;
    let started =
        cmd::output(std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
            .unwrap_or_default();
    println!("ladder: bringing up lab {:?}...", args.prefix);
    let lab = Lab::up_with(LabSpec::new(args.prefix.clone(), 1), true)?;
    let outcome = prepare(&lab).and_then(|()| measure(&lab, &bins, &args, &file, stop));
    let down = Lab::down_with(&args.prefix, true);
    drop(lab);
    let table = outcome?;
    down.context("lab down failed")?;
    let busy_after = super::bench::busy_pct(Duration::from_millis(500))?;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let env = format!(
        "Run started {}, Linux {}, {cpus} CPUs, veth lab; {} run(s) x {:.1} s per rung; machine {busy_before:.0}% busy before, {busy_after:.0}% after (other processes: figures are noisy when busy).",
        started.trim(),
        kernel.trim(),
        args.repeats,
        args.window
    );
    let md = render(&table, &env);
    let dir = if args.out.is_absolute() {
        args.out.clone()
    } else {
        paths::workspace_root().join(&args.out)
    };
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("ladder.md"), &md)?;
    std::fs::write(dir.join("ladder.svg"), svg::render(&table)?)?;
    println!(
        "\n{md}\nladder: wrote {}/ladder.md and ladder.svg",
        dir.display()
    );
    Ok(())
}

/// The bench's lab tuning: GRO on the responder's end, permanent neighbours.
pub fn prepare(lab: &Lab) -> Result<()> {
    super::bench::tune_lab(lab)
}

/// Checksum offload and scatter-gather on the responder's end, for the file rungs (after the
/// packet rungs, whose replies the generator's sink checks): without SG a socket cannot
/// attach page-cache pages to an skb, and sendfile/splice would copy.
pub fn enable_sg(lab: &Lab) -> Result<()> {
    cmd::run(&mut lab.exec_resp(&[
        "ethtool",
        "-K",
        lab::RESP_IFACE,
        "tx",
        "on",
        "sg",
        "on",
        "tso",
        "on",
    ]))
    .context("enabling checksum offload and scatter-gather on veth-resp")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(units: f64, unit_bytes: f64, line: &str) -> Measured {
        Measured {
            units,
            rate: units,
            unit_bytes,
            counts: parse_counts(line).expect("parse"),
            cpu_ns: 0.0,
            server_note: String::new(),
        }
    }

    #[test]
    fn result_lines() {
        let m =
            parse_counts("[count] RESULT window_s=1.5 fentry=denied server.syscalls.calls=30\n")
                .expect("parse");
        assert_eq!(
            (m["window_s"], m["fentry"], m["server.syscalls.calls"]),
            (1.5, 0.0, 30.0)
        );
        assert!(parse_counts("RESULT files=3").is_err());
        assert!(parse_result("RESULT files=x").is_err());
        assert!(parse_result("nothing").is_err());
        assert_eq!(
            parse_result("RESULT files=3 elapsed_s=2").expect("client")["files"],
            3.0
        );
    }

    #[test]
    fn per_unit_figures() {
        let m = measured(
            10.0,
            18.0,
            "RESULT window_s=1 fentry=denied server.sock_user_rx.bytes=180 server.sock_user_tx.bytes=180 \
             server.file_to_user.bytes=0 server.file_from_user.bytes=0",
        );
        assert_eq!(user_bytes(&m), Some(36.0));
        assert_eq!(
            user_copy_bytes(&m),
            None,
            "fentry denied: not measured, not 0"
        );
        let none = measured(0.0, 18.0, "RESULT window_s=1 server.sock_user_rx.bytes=5");
        assert_eq!(none.per_unit("server.sock_user_rx.bytes"), None);
        assert_eq!(
            median(&[m.clone(), m.clone(), none], |x| x
                .per_unit("server.sock_user_rx.bytes")),
            Some(18.0)
        );
    }

    #[test]
    fn rungs_and_report() {
        for (i, a) in RUNGS.iter().enumerate() {
            assert!(
                RUNGS[i + 1..].iter().all(|b| b.key != a.key),
                "{} twice",
                a.key
            );
        }
        let table: Table = vec![(&RUNGS[4], Err("veth has no zero-copy".into()))];
        let md = render(&table, "env");
        assert!(md.contains("absent: veth has no zero-copy"));
        let svg = svg::render(&table).expect("svg");
        assert!(svg.starts_with("<svg"));
    }
}
