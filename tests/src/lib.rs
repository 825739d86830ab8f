//! Harness for the privileged integration tests: a lab per test (deleted on drop, even on
//! panic), the responder started inside it (killed if the test binary dies), the traffic
//! tools run from the generator namespace, and the responder's JSON totals read strictly.
//!
//! A test that needs root and does not have it fails, unless `XDP_SKIP_PRIVILEGED=1` is set
//! (`cargo xtask test --skip-privileged` sets it): then it returns early and records the skip
//! in the file named by `XDP_SKIP_LOG`, so that `cargo xtask test` counts it as skipped, not
//! passed. Tests that skip for a reason of the machine (no huge pages) record it the same way.
use std::{
    collections::BTreeMap,
    io::Write as _,
    os::unix::process::CommandExt as _,
    process::{Child, Command, Output},
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

use serde_json::Value;
pub use xtask::lab::{self, Lab, LabSpec};
use xtask::{paths, responder::Responder};

pub use xtask::tasks::ci::{SKIP_LOG_ENV, SKIP_PRIVILEGED_ENV};

/// Records that the current test is skipped for `reason`: a note on stderr and a line in
/// `XDP_SKIP_LOG` (when set), which `cargo xtask test` counts. The caller returns right after.
pub fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string();
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(path) = std::env::var_os(SKIP_LOG_ENV) {
        let line = format!("{test}: {reason}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!("cannot record the skip in {}: {e}", path.to_string_lossy());
        }
    }
}

/// True when privileged tests can run. When not root: a counted skip (false) if
/// `XDP_SKIP_PRIVILEGED` is set, else the test fails, so that a run without root can never
/// look like a run that tested something.
pub fn privileged() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os(SKIP_PRIVILEGED_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        skip("needs root (network namespaces, XDP, AF_XDP)");
        return false;
    }
    panic!(
        "this test needs root (it creates network namespaces and attaches XDP): run `sudo cargo xtask test`, \
         or skip the privileged tests explicitly with `cargo xtask test --skip-privileged` \
         ({SKIP_PRIVILEGED_ENV}=1 for plain cargo test); skipped tests are reported as skipped"
    );
}

/// Makes a spawned process die with SIGKILL when the thread that spawned it exits (a test
/// thread that panicked past its guards, or a test binary that was killed): `ip netns exec`
/// execs its command, so the setting reaches the responder or tool itself.
pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe calls
    // (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            if nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the prctl: then nobody would signal us.
            if nix::libc::getppid() as u32 != parent {
                nix::libc::_exit(1);
            }
            Ok(())
        })
    };
    cmd
}

/// A child process killed (SIGKILL) and reaped when dropped, e.g. when a test panics.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// Spawns `cmd` (with [`die_with_parent`]) with its output discarded.
    pub fn spawn_quiet(mut cmd: Command) -> KillOnDrop {
        let child = die_with_parent(&mut cmd)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        KillOnDrop(child)
    }

    /// Waits at most `timeout` for the child to exit by itself; kills it after that.
    pub fn wait_or_kill(mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.0.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Sets a flag to false when dropped: a sampler thread that loops while the flag is true
/// ends even when the test panics before it would have cleared the flag.
pub struct ClearOnDrop(pub std::sync::Arc<AtomicBool>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The responder binary built by `cargo build` (the test command builds it first).
pub fn responder_bin() -> std::path::PathBuf {
    let bin = paths::responder_binary(false);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p xdp-user` (or `cargo xtask test`) first",
        bin.display()
    );
    bin
}

/// A lab with a test-specific prefix: `it-{name}`, or `it{tag}-{name}` when `XDP_TEST_TAG`
/// is set, so that test runs from several checkouts on one machine use distinct namespaces.
pub fn lab(name: &str, queues: u32) -> Lab {
    Lab::up(LabSpec::new(lab_prefix(name), queues)).expect("lab up")
}

/// As [`lab()`], with `mtu` on both veth ends.
pub fn lab_with_mtu(name: &str, queues: u32, mtu: u32) -> Lab {
    Lab::up(LabSpec::new(lab_prefix(name), queues).with_mtu(mtu)).expect("lab up")
}

/// The namespace prefix of test lab `name` (see [`lab()`]).
pub fn lab_prefix(name: &str) -> String {
    let tag = std::env::var("XDP_TEST_TAG").unwrap_or_default();
    format!("it{tag}-{name}")
}

/// The standard arguments: our two addresses on the responder's veth end, UDP port 7, and
/// `--json`, so that the totals come as a JSON object naming every counter (see [`Totals`]).
pub fn default_args() -> Vec<String> {
    [
        "run",
        "--iface",
        lab::RESP_IFACE,
        "--addr",
        "198.18.0.2",
        "--addr",
        "2001:2::2",
        "--udp-port",
        "7",
        "--interval",
        "1",
        "--duration",
        "120",
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

/// `args` with the value of `flag` replaced (or the flag appended with `value`).
pub fn with_arg(mut args: Vec<String>, flag: &str, value: &str) -> Vec<String> {
    match args.iter().position(|a| a == flag) {
        Some(i) => args[i + 1] = value.to_string(),
        None => args.extend([flag.to_string(), value.to_string()]),
    }
    args
}

/// Starts the responder in the lab's responder namespace and waits for `ready`.
pub fn start(lab: &Lab, args: &[String]) -> Responder {
    let mut r = spawn_responder(lab, args);
    r.wait_ready(Duration::from_secs(30), &AtomicBool::new(false))
        .expect("responder ready");
    r
}

/// Starts the responder without waiting for `ready`.
pub fn spawn_responder(lab: &Lab, args: &[String]) -> Responder {
    let bin = responder_bin();
    let mut cmd_args = vec![bin.to_string_lossy().into_owned()];
    cmd_args.extend(args.iter().cloned());
    let mut cmd = lab.exec_resp(&cmd_args);
    die_with_parent(&mut cmd);
    Responder::spawn(cmd, "[responder] ").expect("spawn responder")
}

/// Runs the responder binary to completion in the responder namespace (for error cases
/// and control commands).
pub fn responder_cmd(lab: &Lab, args: &[&str]) -> Output {
    let out = responder_cmd_quiet(lab, args);
    eprintln!(
        "$ xdp-responder {} -> {:?}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`responder_cmd`] without echoing the output.
pub fn responder_cmd_quiet(lab: &Lab, args: &[&str]) -> Output {
    let bin = responder_bin();
    let mut cmd_args = vec![bin.to_string_lossy().into_owned()];
    cmd_args.extend(args.iter().map(|a| a.to_string()));
    let mut cmd = lab.exec_resp(&cmd_args);
    die_with_parent(&mut cmd).output().expect("run responder")
}

/// The running responder's counters, from `xdp-responder status --json` (a second process
/// talking to it over its control socket).
pub fn status(lab: &Lab) -> Totals {
    let out = responder_cmd_quiet(lab, &["status", "--iface", lab::RESP_IFACE, "--json"]);
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Totals(serde_json::from_slice(&out.stdout).expect("status answers JSON"))
}

/// Runs a command in the generator namespace, echoing its output; true on exit status 0.
pub fn gen_ok(lab: &Lab, args: &[&str]) -> bool {
    gen_output(lab, args).status.success()
}

/// A permanent neighbour entry in the generator namespace: `ip` is at the responder's MAC, so
/// that no request waits for (or races with) address resolution. True if `ip neigh` succeeded.
pub fn pin_neighbour(lab: &Lab, ip: &str) -> bool {
    gen_ok(
        lab,
        &[
            "ip",
            "neigh",
            "replace",
            ip,
            "lladdr",
            lab::RESP_MAC,
            "dev",
            lab::GEN_IFACE,
            "nud",
            "permanent",
        ],
    )
}

/// Runs a command in the generator namespace, echoing its output.
pub fn gen_output(lab: &Lab, args: &[&str]) -> Output {
    let mut cmd = lab.exec_gen(args);
    let out = die_with_parent(&mut cmd)
        .output()
        .expect("run command in generator namespace");
    eprintln!(
        "$ {} -> {:?}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Replies a `ping` run reports (`N received`), from its output.
pub fn ping_received(out: &Output) -> u64 {
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(',')
        .find_map(|part| part.trim().strip_suffix(" received"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `N received` in ping output:\n{text}"))
}

/// Whether an XDP program is attached to the responder's veth end.
pub fn xdp_attached(lab: &Lab) -> bool {
    let out = lab
        .exec_resp(&["ip", "-d", "link", "show", "dev", lab::RESP_IFACE])
        .output()
        .expect("ip link show");
    let text = String::from_utf8_lossy(&out.stdout);
    text.contains("prog/xdp") || text.contains(" xdp ") || text.contains("xdpgeneric")
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------
// Deterministic queue steering on a multi-queue veth: the generator end's TX queue k (which
// is the responder end's RX queue k) is used by CPU k only (XPS), and senders are pinned.
// ---------------------------------------------------------------------------------------

/// CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Maps the generator end's TX queue k to CPU k (XPS), so that what a thread pinned to CPU k
/// sends arrives on the responder end's RX queue k. Needs `queues <= cpus()`.
pub fn steer_queues_by_cpu(lab: &Lab, queues: u32) {
    assert!(
        queues as usize <= cpus(),
        "{queues} queues but {} CPUs",
        cpus()
    );
    for q in 0..queues {
        let path = format!("/sys/class/net/{}/queues/tx-{q}/xps_cpus", lab::GEN_IFACE);
        let mask = format!("{:x}", 1u64 << q);
        assert!(
            lab.exec_gen(&["sh", "-c", &format!("echo {mask} > {path}")])
                .status()
                .expect("sh")
                .success(),
            "cannot set {path}"
        );
    }
}

/// Pins the calling thread to one CPU.
pub fn pin_to_cpu(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu).expect("cpu index");
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .unwrap_or_else(|e| panic!("pinning to CPU {cpu}: {e}"));
}

/// `taskset -c CPU` in front of `args` (for ping and arping).
pub fn on_cpu(cpu: usize, args: &[&str]) -> Vec<String> {
    let mut v = vec!["taskset".to_string(), "-c".into(), cpu.to_string()];
    v.extend(args.iter().map(|a| a.to_string()));
    v
}

// ---------------------------------------------------------------------------------------
// Counters, read strictly from the responder's JSON (`--json` totals, or `status --json`):
// every counter is named there whatever its value, so a renamed or missing counter fails the
// test instead of reading as 0.
// ---------------------------------------------------------------------------------------

/// One JSON sample of the responder (its `totals` object, or a `status` answer).
#[derive(Clone, Debug)]
pub struct Totals(pub Value);

/// The XDP program's redirect classes and the answer kinds user space counts under each.
pub const CLASSES: [(&str, &[&str]); 5] = [
    ("arp", &["arp"]),
    ("icmp4", &["icmp4_echo"]),
    ("icmp6", &["icmp6_echo"]),
    ("ndp", &["ndp"]),
    ("udp", &["udp4", "udp6"]),
];

impl Totals {
    /// The `totals` JSON object in the responder's output (run with `--json`).
    pub fn from_output(lines: &[String]) -> Totals {
        let v = lines
            .iter()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["type"] == "totals")
            .unwrap_or_else(|| {
                panic!(
                    "no JSON totals in the responder output (was it run with --json?):\n{}",
                    lines.join("\n")
                )
            });
        Totals(v)
    }

    fn at(v: &Value, path: &[&str]) -> u64 {
        let mut cur = v;
        for k in path {
            cur = cur.get(k).unwrap_or_else(|| {
                panic!(
                    "counter {} missing in the responder's JSON: {v}",
                    path.join(".")
                )
            });
        }
        cur.as_u64()
            .unwrap_or_else(|| panic!("counter {} is not a count: {cur}", path.join(".")))
    }

    /// A top-level counter, e.g. `rx_packets`, `tx_bytes`, `tx_ring_full`.
    pub fn get(&self, name: &str) -> u64 {
        Self::at(&self.0, &[name])
    }
    /// `answers.<kind>`.
    pub fn answer(&self, kind: &str) -> u64 {
        Self::at(&self.0, &["answers", kind])
    }
    /// `drops.<reason>`.
    pub fn drop(&self, reason: &str) -> u64 {
        Self::at(&self.0, &["drops", reason])
    }
    /// `drops_by_class.<class>`.
    pub fn drop_class(&self, class: &str) -> u64 {
        Self::at(&self.0, &["drops_by_class", class])
    }
    /// The XDP program's counter `xdp.<name>`.
    pub fn xdp(&self, name: &str) -> u64 {
        Self::at(&self.0, &["xdp", name])
    }
    /// The sockets' XDP_STATISTICS field `xsk.<name>`, summed over queues.
    pub fn xsk(&self, name: &str) -> u64 {
        Self::at(&self.0, &["xsk", name])
    }
    /// A counter of queue `q` (by position in the `queues` list).
    pub fn queue(&self, q: usize, name: &str) -> u64 {
        let queue = self.0["queues"]
            .get(q)
            .unwrap_or_else(|| panic!("no queue {q} in {}", self.0));
        Self::at(queue, &[name])
    }
    /// Every `name: count` of the map `key` (`answers`, `drops`, `xdp`, ...).
    pub fn map(&self, key: &str) -> BTreeMap<String, u64> {
        self.0[key]
            .as_object()
            .unwrap_or_else(|| panic!("no map {key:?} in {}", self.0))
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(u64::MAX)))
            .collect()
    }
    pub fn answers_total(&self) -> u64 {
        self.map("answers").values().sum()
    }
    pub fn drops_total(&self) -> u64 {
        self.map("drops").values().sum()
    }
}

/// Every counter that moved between two samples, as `name -> delta` (maps flattened to
/// `map.name`; gauges and timings left out).
pub fn moved(before: &Totals, after: &Totals) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    for key in ["answers", "drops", "drops_by_class", "xdp"] {
        let (b, a) = (before.map(key), after.map(key));
        for (name, v) in &a {
            let d = i128::from(*v) - i128::from(b.get(name).copied().unwrap_or(0));
            if d != 0 {
                out.insert(format!("{key}.{name}"), d);
            }
        }
    }
    for key in ["rx_packets", "tx_packets", "tx_ring_full"] {
        let d = i128::from(after.get(key)) - i128::from(before.get(key));
        if d != 0 {
            out.insert(key.to_string(), d);
        }
    }
    out
}

/// The value of `name=value` on the human totals line that starts with `label`, 0 when the
/// line does not show it (it shows only non-zero counters). Prefer [`Totals`], which fails on
/// a missing counter instead of reading 0.
pub fn totals_field(lines: &[String], label: &str, name: &str) -> u64 {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| {
            panic!(
                "no line starting with {label:?} in responder output:\n{}",
                lines.join("\n")
            )
        });
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.parse().expect("counter value"))
        .unwrap_or(0)
}

/// Checks the totals against sources that are counted apart from each other:
/// * per class, what the XDP program redirected (`xdp.redirected_<class>`, counted in BPF as it
///   classifies) against what user space did with frames it classified the same way from their
///   bytes (`answers` of that class + `drops_by_class.<class>`); frames the kernel's socket lost
///   (`xsk.rx_dropped`, `xsk.rx_ring_full`, counted by the kernel) and replies recycled for a
///   full TX ring are the only allowed difference, and they must account for it exactly in sum;
/// * `redirected = rx_packets + rx_dropped + rx_ring_full` (BPF, user space, kernel);
/// * the kernel saw no invalid descriptor on any ring (`rx_invalid_descs`, `tx_invalid_descs`)
///   and the program never aborted;
/// * user space classified every dropped frame as one the XDP program redirects.
///
/// With `lossless` (a test that sends slowly), nothing may be lost or recycled, and the
/// classes must match exactly: the responder takes its sockets out of the XSKMAP before its
/// workers stop, so even the generator kernel's own ARP/NDP chatter during shutdown is either
/// answered or passed to the kernel, never left on an RX ring.
pub fn assert_accounting(t: &Totals, lossless: bool) {
    let xsk_lost = t.xsk("rx_dropped") + t.xsk("rx_ring_full");
    let ring_full = t.get("tx_ring_full");
    let mut gap = 0u64;
    let mut report = Vec::new();
    for (class, kinds) in CLASSES {
        let redirected = t.xdp(&format!("redirected_{class}"));
        let answered: u64 = kinds.iter().map(|k| t.answer(k)).sum();
        let dropped = t.drop_class(class);
        report.push(format!(
            "{class}: redirected {redirected}, answered {answered} + dropped {dropped}"
        ));
        assert!(
            redirected >= answered + dropped,
            "user space handled more {class} frames ({answered} answered + {dropped} dropped) than the XDP program redirected ({redirected})"
        );
        let missing = redirected - answered - dropped;
        if lossless {
            assert_eq!(
                missing, 0,
                "{class}: XDP redirected {redirected} frames, user space answered {answered} and dropped {dropped}"
            );
        } else {
            gap += missing;
        }
    }
    eprintln!("accounting: {}", report.join("; "));
    assert_eq!(
        t.drop_class("other"),
        0,
        "user space dropped frames of no class the XDP program redirects"
    );
    if lossless {
        assert_eq!(
            xsk_lost + ring_full,
            0,
            "frames lost in a lossless test: the sockets lost {xsk_lost}, {ring_full} replies met a full TX ring"
        );
    } else {
        assert_eq!(
            gap,
            xsk_lost + ring_full,
            "redirected frames missing from user space's answers and drops: {gap}, but the sockets lost {xsk_lost} and {ring_full} replies met a full TX ring"
        );
    }
    let (redirected, rx) = (t.xdp("redirected"), t.get("rx_packets"));
    assert_eq!(
        redirected,
        rx + xsk_lost,
        "XDP redirected {redirected} frames but user space received {rx} and the sockets dropped or refused {xsk_lost}"
    );
    for field in ["rx_invalid_descs", "tx_invalid_descs"] {
        assert_eq!(
            t.xsk(field),
            0,
            "the kernel saw invalid descriptors ({field})"
        );
    }
    assert_eq!(t.xdp("aborted"), 0, "the XDP program aborted");
}

/// Resident set size of process `pid` in KiB (`VmRSS` of /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    xdp_host::cpu::rss_kib(pid).ok()
}

/// Raw Ethernet frames in and out of one interface, through AF_PACKET sockets.
pub mod raw {
    use nix::libc;
    use std::{
        io,
        os::fd::{AsRawFd, FromRawFd, OwnedFd},
        time::{Duration, Instant},
    };

    const ETH_P_ALL: u16 = 0x0003;
    const PACKET_OUTGOING: u8 = 4;

    /// An AF_PACKET socket bound to one interface of the network namespace it was opened in.
    /// Open it inside that namespace (e.g. in `lab.in_gen`); it can be used from any thread.
    pub struct PacketSocket {
        fd: OwnedFd,
    }

    impl PacketSocket {
        /// With `capture`, the socket receives every frame of the interface (ETH_P_ALL, a
        /// large receive buffer); without, it only sends.
        pub fn open(ifname: &str, capture: bool) -> io::Result<PacketSocket> {
            let proto = if capture { ETH_P_ALL.to_be() } else { 0 };
            // SAFETY: plain socket creation; the fd is owned below.
            let raw = unsafe {
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    i32::from(proto),
                )
            };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a fresh descriptor nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            let name = std::ffi::CString::new(ifname)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            // SAFETY: a NUL-terminated name.
            let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if ifindex == 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: sockaddr_ll is plain data; all-zero is valid.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto;
            sll.sll_ifindex = ifindex as i32;
            // SAFETY: binds to a valid sockaddr_ll of the given size.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            if capture {
                let size: libc::c_int = 4 << 20;
                // SAFETY: sets an int option from a live int.
                unsafe {
                    libc::setsockopt(
                        fd.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_RCVBUFFORCE,
                        (&size as *const libc::c_int).cast(),
                        4,
                    )
                };
            }
            Ok(PacketSocket { fd })
        }

        /// Sends one frame as it is (no padding is added: veth sends runts as they are).
        pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
            // SAFETY: sends `frame.len()` bytes from a live buffer.
            let n =
                unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }

        /// The next frame that arrived on the interface (frames we sent are skipped), waiting
        /// at most `wait`.
        pub fn recv(&self, wait: Duration) -> Option<Vec<u8>> {
            let deadline = Instant::now() + wait;
            let mut buf = vec![0u8; 65536];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let mut pfd = libc::pollfd {
                    fd: self.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: polls one live pollfd.
                let ready = unsafe {
                    libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32)
                };
                if ready <= 0 {
                    return None;
                }
                // SAFETY: sockaddr_ll is plain data.
                let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
                let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                // SAFETY: receives into live buffers of the sizes given.
                let n = unsafe {
                    libc::recvfrom(
                        self.fd.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        libc::MSG_DONTWAIT,
                        (&mut from as *mut libc::sockaddr_ll).cast(),
                        &mut len,
                    )
                };
                if n < 0 {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    continue;
                }
                if from.sll_pkttype == PACKET_OUTGOING {
                    continue;
                }
                return Some(buf[..n as usize].to_vec());
            }
        }

        /// Every frame that arrives within `wait`.
        pub fn collect(&self, wait: Duration) -> Vec<Vec<u8>> {
            let deadline = Instant::now() + wait;
            let mut frames = Vec::new();
            while let Some(f) = self.recv(deadline.saturating_duration_since(Instant::now())) {
                frames.push(f);
            }
            frames
        }

        /// Throws away whatever is queued.
        pub fn drain(&self) {
            while self.recv(Duration::ZERO).is_some() {}
        }
    }
}

/// The lab's addresses, request frames built by `xdp-testkit` (correct checksums; nothing is
/// validated: bad frames are the point), and a recognizer for the responder's answers.
pub mod frames {
    pub use xdp_testkit::frame::{
        arp, echo_body, ethernet, fix_ipv4_header, icmp4, icmp6, ipv4, ipv6, multicast_mac,
        ns_frame, solicited_node, udp4, udp6,
    };
    use xdp_wire::{arp, ethernet, icmp, ipv4, ipv6};

    pub const GEN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    pub const RESP_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
    pub const BROADCAST: [u8; 6] = xdp_wire::ethernet::BROADCAST;
    pub const GEN_V4: [u8; 4] = [198, 18, 0, 1];
    /// The responder's (XDP-owned) addresses.
    pub const XDP_V4: [u8; 4] = [198, 18, 0, 2];
    pub const KERNEL_V4: [u8; 4] = [198, 18, 0, 3];
    pub const GEN_V6: [u8; 16] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    pub const XDP_V6: [u8; 16] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    pub const ALL_NODES: [u8; 16] = xdp_wire::ipv6::ALL_NODES;

    /// The IPv4 header fields the lab's tests send: `src` -> `dst` over `protocol`, TTL 64,
    /// DF, identification 0xabcd, TOS 0 ([`ipv4()`] sets the payload length).
    pub fn ip4(src: [u8; 4], dst: [u8; 4], protocol: u8) -> ipv4::Repr {
        ipv4::Repr {
            ident: 0xabcd,
            ..ipv4::Repr::new(src, dst, protocol, 0)
        }
    }

    /// If `f` is an answer sent by the responder (from its MAC, and from one of its own
    /// addresses: an ARP reply for 198.18.0.2, IPv4 from 198.18.0.2, IPv6 from 2001:2::2),
    /// what it is. The kernel's answers (from .3/::3) and its chatter are not.
    pub fn responder_answer(f: &[u8]) -> Option<String> {
        let eth = ethernet::Frame::new_checked(f).ok()?;
        if eth.src() != RESP_MAC {
            return None;
        }
        // The views read zeros past the end of a short frame, and no address compared
        // against is zero: a frame too short for the field it is asked about is no answer.
        match eth.ethertype() {
            ethernet::ethertype::ARP => {
                let a = arp::Packet::new_unchecked(eth.payload());
                (a.op() == arp::OP_REPLY && a.spa() == XDP_V4)
                    .then(|| format!("ARP reply ({} bytes)", f.len()))
            }
            ethernet::ethertype::IPV4 => {
                let ip = ipv4::Packet::new_unchecked(eth.payload());
                (ip.src() == XDP_V4).then(|| {
                    format!(
                        "IPv4 protocol {} from 198.18.0.2 ({} bytes)",
                        ip.protocol(),
                        f.len()
                    )
                })
            }
            ethernet::ethertype::IPV6 => {
                let ip = ipv6::Packet::new_unchecked(eth.payload());
                let l4 = icmp::Packet::new_unchecked(ip.rest());
                (ip.src() == XDP_V6).then(|| {
                    format!(
                        "IPv6 next header {} type {} from 2001:2::2 ({} bytes)",
                        ip.next_header(),
                        l4.msg_type(),
                        f.len()
                    )
                })
            }
            _ => None,
        }
    }
}
