//! Opening one AF_XDP socket with its own UMEM on one RX queue, walking the mode ladder:
//! zero-copy first, then copy. The XDP attach mode (native or SKB) was chosen before, by the
//! loader; a copy-mode socket on an SKB-mode program is what "SKB mode" means for AF_XDP.
//!
//! A queue another AF_XDP socket holds (EBUSY) is retried with backoff for
//! [`BUSY_RETRY_FOR`]: the kernel releases a closed socket's queue asynchronously, so a
//! responder restarted right after the previous one exited (or was killed) can see the queue
//! busy for a moment. If it stays busy, the error names the holder when it can be found
//! (see [`holder`]).
use std::{
    ffi::CString,
    num::NonZeroU32,
    os::fd::AsRawFd,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Result};
use xsk_rs::{
    config::{BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig},
    CompQueue, FillQueue, FrameDesc, RxQueue, TxQueue, Umem,
};

use super::sys;
use crate::errors::errno_in_chain;

/// Which bind mode to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BindMode {
    /// Zero-copy if the driver offers it, else copy.
    Auto,
    /// Zero-copy or fail (XDP_ZEROCOPY).
    ZeroCopy,
    /// Copy mode (XDP_COPY).
    Copy,
}

/// UMEM and ring dimensions, and socket options.
#[derive(Clone, Debug)]
pub struct SocketOptions {
    pub frame_size: u32,
    pub frame_count: u32,
    pub ring_size: u32,
    pub need_wakeup: bool,
    pub huge_pages: bool,
    pub bind: BindMode,
    /// Copy-mode TX budget: descriptors one `sendto()` moves (`XDP_MAX_TX_SKB_BUDGET`),
    /// clamped to `32..=ring_size`; 0 leaves the kernel's default (32).
    pub tx_budget: u32,
    /// Bind with XDP_USE_SG: frames longer than a UMEM frame arrive as chains of buffers.
    pub multi_buffer: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            frame_size: 4096,
            frame_count: 4096,
            ring_size: 2048,
            need_wakeup: true,
            huge_pages: false,
            bind: BindMode::Auto,
            tx_budget: DEFAULT_TX_BUDGET,
            multi_buffer: false,
        }
    }
}

/// Default copy-mode TX budget per `sendto()` (clamped to the TX ring size): a whole ring,
/// so one kick moves everything queued (see docs/BENCHMARK.md for the measurement).
pub const DEFAULT_TX_BUDGET: u32 = 2048;

/// Bytes of a UMEM frame before the packet: the kernel's XDP_PACKET_HEADROOM.
pub const XDP_PACKET_HEADROOM: u32 = 256;

impl SocketOptions {
    /// Largest frame (Ethernet header included) one UMEM frame can hold.
    pub fn frame_capacity(&self) -> u32 {
        self.frame_size.saturating_sub(XDP_PACKET_HEADROOM)
    }

    /// Rejects dimensions the kernel would refuse, with a message that says what to pick.
    pub fn validate(&self) -> Result<()> {
        if !(2048..=4096).contains(&self.frame_size) || !self.frame_size.is_power_of_two() {
            bail!(
                "--frame-size must be 2048 or 4096 (a power of two no larger than a page), got {}",
                self.frame_size
            );
        }
        if !self.ring_size.is_power_of_two() || self.ring_size < 64 {
            bail!(
                "--ring-size must be a power of two >= 64, got {}",
                self.ring_size
            );
        }
        if self.frame_count < 2 * self.ring_size {
            bail!(
                "--frame-count ({}) must be at least twice --ring-size ({}): the fill ring and the TX ring each need a ring's worth of frames",
                self.frame_count,
                self.ring_size
            );
        }
        Ok(())
    }
}

/// One bound AF_XDP socket and everything it owns.
pub struct XskQueue {
    pub queue: u32,
    pub umem: Umem,
    pub fill: FillQueue,
    pub comp: CompQueue,
    pub tx: TxQueue,
    pub rx: RxQueue,
    /// Every frame of the UMEM, all in user space (none handed to the kernel yet).
    pub frames: Vec<FrameDesc>,
    /// The kernel confirmed zero-copy (XDP_OPTIONS).
    pub zero_copy: bool,
    /// Why zero-copy was not used, when it was not.
    pub zero_copy_refusal: Option<String>,
    /// Entries in each of the four rings.
    pub ring_size: u32,
    pub frame_size: u32,
    pub frame_count: u32,
    /// The copy-mode TX budget in force.
    pub tx_budget: sys::TxBudget,
}

impl XskQueue {
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.rx.fd().as_raw_fd()
    }
}

fn bind_once(
    ifname: &str,
    queue: u32,
    opts: &SocketOptions,
    flags: BindFlags,
) -> Result<XskQueue, (Option<i32>, String)> {
    let fail = |what: &str, e: &(dyn std::error::Error + 'static)| {
        (errno_in_chain(e), format!("{what}: {e:?}"))
    };
    let ring = QueueSize::new(opts.ring_size).map_err(|e| (None, format!("ring size: {e:?}")))?;
    let umem_cfg = UmemConfig::builder()
        .frame_size(
            FrameSize::new(opts.frame_size).map_err(|e| (None, format!("frame size: {e:?}")))?,
        )
        .fill_queue_size(ring)
        .comp_queue_size(ring)
        .build()
        .map_err(|e| (None, format!("UMEM config: {e:?}")))?;
    let count = NonZeroU32::new(opts.frame_count).ok_or((None, "frame count is 0".to_string()))?;
    let (umem, frames) =
        Umem::new(umem_cfg, count, opts.huge_pages).map_err(|e| fail("creating UMEM", &e))?;
    let mut bind = flags;
    if opts.need_wakeup {
        bind |= BindFlags::XDP_USE_NEED_WAKEUP;
    }
    if opts.multi_buffer {
        bind |= BindFlags::XDP_USE_SG;
    }
    let sock_cfg = SocketConfig::builder()
        .rx_queue_size(ring)
        .tx_queue_size(ring)
        .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
        .bind_flags(bind)
        .build();
    let name =
        CString::new(ifname).map_err(|_| (None, "interface name has a NUL byte".to_string()))?;
    // SAFETY: the UMEM is new and not shared, so the shared-UMEM double-free caveat of
    // `Socket::new` does not apply (and INHIBIT_PROG_LOAD is set anyway).
    let (tx, rx, rings) =
        unsafe { xsk_rs::Socket::new(sock_cfg, &umem, &Interface::new(name), queue) }
            .map_err(|e| fail("binding AF_XDP socket", &e))?;
    let (fill, comp) = rings.ok_or((
        None,
        "no fill/completion rings returned for a fresh UMEM".to_string(),
    ))?;
    let zero_copy = sys::is_zero_copy(rx.fd().as_raw_fd()).unwrap_or(false);
    // The TX ring exists now (xsk-rs creates the rings and binds in Socket::new).
    let tx_budget = match opts.tx_budget {
        0 => sys::TxBudget::Default,
        b => sys::set_tx_budget(
            rx.fd().as_raw_fd(),
            b.clamp(sys::KERNEL_TX_BUDGET, opts.ring_size),
        ),
    };
    Ok(XskQueue {
        queue,
        umem,
        fill,
        comp,
        tx,
        rx,
        frames,
        zero_copy,
        zero_copy_refusal: None,
        ring_size: opts.ring_size,
        frame_size: opts.frame_size,
        frame_count: opts.frame_count,
        tx_budget,
    })
}

/// How long a busy queue (EBUSY) is retried before giving up.
pub const BUSY_RETRY_FOR: Duration = Duration::from_secs(2);
/// First pause between two binds of a busy queue; it doubles up to [`BUSY_RETRY_MAX_PAUSE`].
const BUSY_RETRY_FIRST_PAUSE: Duration = Duration::from_millis(20);
const BUSY_RETRY_MAX_PAUSE: Duration = Duration::from_millis(400);

/// Opens and binds a socket on `queue`, preferring zero-copy when `opts.bind` allows.
/// A busy queue is retried for [`BUSY_RETRY_FOR`] (one note on stderr says so).
pub fn open(ifname: &str, queue: u32, opts: &SocketOptions, skb_mode: bool) -> Result<XskQueue> {
    let started = Instant::now();
    let mut pause = BUSY_RETRY_FIRST_PAUSE;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        match open_once(ifname, queue, opts, skb_mode) {
            Ok(q) => return Ok(q),
            Err((Some(libc::EBUSY), _)) => {
                if started.elapsed() + pause > BUSY_RETRY_FOR {
                    let who = holder(ifname, queue).unwrap_or_else(|| HOLDER_UNKNOWN.to_string());
                    bail!(
                        "AF_XDP socket on {ifname} queue {queue}: the queue is already bound by another AF_XDP socket (EBUSY) and stayed busy for {:.1} s ({attempts} binds); {who}. Stop that program (another xdp-responder?) or pick other queues with --queues",
                        started.elapsed().as_secs_f64()
                    );
                }
                if attempts == 1 {
                    eprintln!(
                        "note: queue {queue} of {ifname} is busy (EBUSY: another AF_XDP socket holds it); retrying for up to {:.1} s",
                        BUSY_RETRY_FOR.as_secs_f64()
                    );
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(BUSY_RETRY_MAX_PAUSE);
            }
            Err((_, e)) => return Err(e),
        }
    }
}

/// One pass over the mode ladder. The error carries the errno that decided it.
fn open_once(
    ifname: &str,
    queue: u32,
    opts: &SocketOptions,
    skb_mode: bool,
) -> Result<XskQueue, (Option<i32>, anyhow::Error)> {
    let try_zc = matches!(opts.bind, BindMode::Auto | BindMode::ZeroCopy) && !skb_mode;
    let mut refusal = None;
    if skb_mode && opts.bind == BindMode::ZeroCopy {
        return Err((None, anyhow!("zero-copy was forced (--bind-mode zero-copy) but the XDP program is in SKB (generic) mode, which only supports copy mode: use --xdp-mode native")));
    }
    if skb_mode {
        refusal =
            Some("the XDP program runs in SKB (generic) mode, which has no zero-copy".to_string());
    }
    if try_zc {
        match bind_once(ifname, queue, opts, BindFlags::XDP_ZEROCOPY) {
            Ok(q) => return Ok(q),
            Err((errno, msg)) => {
                let why = zero_copy_refusal_reason(ifname, errno, &msg);
                if opts.bind == BindMode::ZeroCopy {
                    return Err((
                        errno,
                        bind_error(ifname, queue, opts, errno, &msg)
                            .context(format!("zero-copy forced: {why}")),
                    ));
                }
                if matches!(
                    errno,
                    Some(libc::EBUSY)
                        | Some(libc::ENOBUFS)
                        | Some(libc::ENOMEM)
                        | Some(libc::EPERM)
                ) {
                    return Err((errno, bind_error(ifname, queue, opts, errno, &msg)));
                }
                refusal = Some(why);
            }
        }
    }
    let mut q = bind_once(ifname, queue, opts, BindFlags::XDP_COPY)
        .map_err(|(errno, msg)| (errno, bind_error(ifname, queue, opts, errno, &msg)))?;
    q.zero_copy_refusal = refusal;
    Ok(q)
}

fn zero_copy_refusal_reason(ifname: &str, errno: Option<i32>, msg: &str) -> String {
    let driver = sys::driver_name(ifname).unwrap_or_else(|_| "unknown".into());
    match errno {
        Some(libc::EOPNOTSUPP) => {
            format!("driver {driver} does not offer AF_XDP zero-copy on {ifname} (EOPNOTSUPP)")
        }
        _ => format!("zero-copy bind failed on {ifname} (driver {driver}): {msg}"),
    }
}

/// Turns a bind failure into a message that says what to do.
fn bind_error(
    ifname: &str,
    queue: u32,
    opts: &SocketOptions,
    errno: Option<i32>,
    msg: &str,
) -> anyhow::Error {
    let hint = match errno {
        Some(libc::EBUSY) => format!("queue {queue} of {ifname} is already bound by another AF_XDP socket: stop the other program (another xdp-responder?) or pick other queues with --queues"),
        Some(libc::ENOBUFS) | Some(libc::ENOMEM) => memlock_hint(opts),
        Some(libc::EPERM) | Some(libc::EACCES) => "permission denied: AF_XDP needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF)".to_string(),
        Some(libc::EINVAL) => format!("queue {queue} does not exist on {ifname} or the ring/frame sizes were refused: check `ethtool -l {ifname}` and --queues"),
        Some(libc::ENODEV) | Some(libc::ENXIO) => format!("{ifname} went away or is down: `ip link set {ifname} up`"),
        Some(libc::EOPNOTSUPP) => format!("{ifname} does not support this AF_XDP mode: try --bind-mode copy or --xdp-mode skb"),
        _ => String::new(),
    };
    if hint.is_empty() {
        anyhow!("AF_XDP socket on {ifname} queue {queue}: {msg}")
    } else {
        anyhow!("AF_XDP socket on {ifname} queue {queue}: {hint} ({msg})")
    }
}

/// What to do when the kernel refuses to pin the UMEM: it is charged to RLIMIT_MEMLOCK unless
/// the process has CAP_IPC_LOCK.
fn memlock_hint(opts: &SocketOptions) -> String {
    let umem_mib = (u64::from(opts.frame_size) * u64::from(opts.frame_count)).div_ceil(1 << 20);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into a valid, writable struct.
    let limit = if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } == 0 {
        if limit.rlim_cur == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            format!("{} KiB", limit.rlim_cur / 1024)
        }
    } else {
        "unknown".to_string()
    };
    let ipc_lock = match has_effective_cap(CAP_IPC_LOCK) {
        Some(true) => "has CAP_IPC_LOCK",
        Some(false) => "lacks CAP_IPC_LOCK",
        None => "may lack CAP_IPC_LOCK",
    };
    format!(
        "the kernel refused to pin the {umem_mib} MiB UMEM (memlock limit {limit}, and the process {ipc_lock}): run with CAP_IPC_LOCK (root normally has it), or raise the limit (`ulimit -l unlimited`, systemd `LimitMEMLOCK=infinity`), or lower --frame-count"
    )
}

const CAP_IPC_LOCK: u32 = 14;

/// Whether capability `cap` is in this process's effective set (`CapEff` of /proc/self/status).
fn has_effective_cap(cap: u32) -> Option<bool> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    let bits = u64::from_str_radix(hex, 16).ok()?;
    Some(bits & (1u64 << cap) != 0)
}

/// Said when the holder of a busy queue cannot be found.
const HOLDER_UNKNOWN: &str = "its holder was not found: `ss --xdp -p` lists AF_XDP sockets and their processes (on kernels with CONFIG_XDP_SOCKETS_DIAG); also look for other XDP programs (`ip -d link show`, `bpftool net`)";

/// Who holds `queue` of `ifname`, as a phrase for an error message, if it can be found.
///
/// Exact where the kernel has AF_XDP socket diagnostics (CONFIG_XDP_SOCKETS_DIAG): the
/// sock_diag dump gives the inode of the socket bound to (ifindex, queue), and /proc/*/fd
/// gives the processes holding that inode. Without them, the processes holding any AF_XDP
/// socket (found through /proc/*/fd and `pidfd_getfd` + `SO_DOMAIN`, which root may use) are
/// listed as candidates.
pub fn holder(ifname: &str, queue: u32) -> Option<String> {
    let name = CString::new(ifname).ok()?;
    // SAFETY: if_nametoindex reads a NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    let me = std::process::id();
    if ifindex != 0 {
        if let Ok(inodes) = diag::xdp_socket_inodes(ifindex, queue) {
            let owners: Vec<String> = socket_owners(|_, _, ino| inodes.contains(&ino))
                .into_iter()
                .filter(|(pid, _)| *pid != me)
                .map(|(pid, comm)| format!("pid {pid} ({comm})"))
                .collect();
            if !owners.is_empty() {
                return Some(format!("it is held by {}", owners.join(", ")));
            }
            if !inodes.is_empty() {
                return Some(format!("it is held by AF_XDP socket inode {} of no process visible here (another PID namespace?)", inodes.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")));
            }
        }
    }
    let candidates: Vec<String> =
        socket_owners(|pid, fd, _| pid != me && is_xdp_socket_of(pid, fd))
            .into_iter()
            .map(|(pid, comm)| format!("pid {pid} ({comm})"))
            .collect();
    (!candidates.is_empty()).then(|| format!("processes holding AF_XDP sockets: {} (this kernel cannot say which socket holds which queue)", candidates.join(", ")))
}

/// Processes (pid, command name) with a socket fd for which `pick(pid, fd, inode)` holds,
/// each listed once.
fn socket_owners(mut pick: impl FnMut(u32, i32, u64) -> bool) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Some(fd_num) = fd.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Some(ino) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok())
            else {
                continue;
            };
            if pick(pid, fd_num, ino) {
                let comm = std::fs::read_to_string(p.path().join("comm"))
                    .map(|c| c.trim().to_string())
                    .unwrap_or_else(|_| "?".into());
                found.push((pid, comm));
                break;
            }
        }
    }
    found
}

/// Whether fd `fd` of process `pid` is an AF_XDP socket: a duplicate of it is taken with
/// `pidfd_getfd` (needs ptrace rights over `pid`, which root has), asked for `SO_DOMAIN`, and
/// closed again. The other process's socket is not touched.
fn is_xdp_socket_of(pid: u32, fd: i32) -> bool {
    // SAFETY: plain syscalls on integers; every fd we get is closed before returning.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) as i32;
        if pidfd < 0 {
            return false;
        }
        let dup = libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) as i32;
        libc::close(pidfd);
        if dup < 0 {
            return false;
        }
        let mut domain: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let rc = libc::getsockopt(
            dup,
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            (&mut domain as *mut libc::c_int).cast(),
            &mut len,
        );
        libc::close(dup);
        rc == 0 && domain == libc::AF_XDP
    }
}

/// The AF_XDP sock_diag interface (`<linux/xdp_diag.h>`), for finding the socket bound to a
/// queue.
mod diag {
    use std::io;

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const XDP_SHOW_INFO: u32 = 1;
    const XDP_DIAG_INFO: u16 = 1;
    const NLMSG_HDRLEN: usize = 16;
    /// `struct xdp_diag_msg`: family, type, pad, inode, cookie.
    const DIAG_MSG_LEN: usize = 16;

    /// Inodes of the AF_XDP sockets bound to (`ifindex`, `queue`) in this network namespace.
    /// An error when the kernel has no AF_XDP socket diagnostics.
    pub fn xdp_socket_inodes(ifindex: u32, queue: u32) -> io::Result<Vec<u64>> {
        // SAFETY: a plain netlink socket, closed by the OwnedFd.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        const REQ_LEN: usize = NLMSG_HDRLEN + 16;
        let mut req = [0u8; REQ_LEN];
        req[0..4].copy_from_slice(&(REQ_LEN as u32).to_ne_bytes());
        req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        req[6..8].copy_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16).to_ne_bytes());
        req[8..12].copy_from_slice(&1u32.to_ne_bytes());
        req[16] = libc::AF_XDP as u8;
        req[24..28].copy_from_slice(&XDP_SHOW_INFO.to_ne_bytes());
        // SAFETY: sends `req.len()` bytes from a live buffer.
        if unsafe { libc::send(raw, req.as_ptr().cast(), req.len(), 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut found = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        for _ in 0..1024 {
            // SAFETY: receives at most `buf.len()` bytes into a live buffer.
            let n = unsafe { libc::recv(raw, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let chunk = buf.get(..n as usize).unwrap_or(&[]);
            if parse(chunk, ifindex, queue, &mut found)? {
                return Ok(found);
            }
        }
        Ok(found)
    }

    fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
    }

    fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }

    /// Parses one datagram of the dump into `found`; true once the dump is done.
    pub(super) fn parse(
        mut b: &[u8],
        ifindex: u32,
        queue: u32,
        found: &mut Vec<u64>,
    ) -> io::Result<bool> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed sock_diag answer");
        while b.len() >= NLMSG_HDRLEN {
            let len = u32_at(b, 0).ok_or_else(bad)? as usize;
            let kind = u16_at(b, 4).ok_or_else(bad)?;
            if len < NLMSG_HDRLEN || len > b.len() {
                return Err(bad());
            }
            let msg = b.get(NLMSG_HDRLEN..len).ok_or_else(bad)?;
            match kind as i32 {
                libc::NLMSG_DONE => return Ok(true),
                libc::NLMSG_ERROR => {
                    let errno = u32_at(msg, 0).map(|e| -(e as i32)).unwrap_or(libc::EINVAL);
                    return Err(io::Error::from_raw_os_error(errno));
                }
                _ => {
                    let ino = u32_at(msg, 4).ok_or_else(bad)?;
                    let mut attrs = msg.get(DIAG_MSG_LEN..).unwrap_or(&[]);
                    while attrs.len() >= 4 {
                        let alen = usize::from(u16_at(attrs, 0).ok_or_else(bad)?);
                        let atype = u16_at(attrs, 2).ok_or_else(bad)?;
                        if alen < 4 || alen > attrs.len() {
                            break;
                        }
                        if atype == XDP_DIAG_INFO
                            && u32_at(attrs, 4) == Some(ifindex)
                            && u32_at(attrs, 8) == Some(queue)
                        {
                            found.push(u64::from(ino));
                        }
                        attrs = attrs.get((alen + 3) & !3..).unwrap_or(&[]);
                    }
                }
            }
            b = b.get((len + 3) & !3..).unwrap_or(&[]);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_validation_says_what_to_pick() {
        assert!(SocketOptions::default().validate().is_ok());
        let bad = SocketOptions {
            frame_size: 3000,
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--frame-size"));
        let bad = SocketOptions {
            frame_count: 1024,
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--frame-count"));
        let bad = SocketOptions {
            ring_size: 100,
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--ring-size"));
        assert_eq!(SocketOptions::default().frame_capacity(), 3840);
    }

    #[test]
    fn busy_queue_error_names_the_fix() {
        let e =
            bind_error("eth0", 3, &SocketOptions::default(), Some(libc::EBUSY), "x").to_string();
        assert!(e.contains("already bound") && e.contains("queue 3"), "{e}");
    }

    #[test]
    fn memlock_refusal_says_what_to_do() {
        let e = bind_error(
            "eth0",
            0,
            &SocketOptions::default(),
            Some(libc::ENOBUFS),
            "x",
        )
        .to_string();
        for needle in [
            "16 MiB UMEM",
            "memlock limit",
            "CAP_IPC_LOCK",
            "ulimit -l unlimited",
            "--frame-count",
        ] {
            assert!(e.contains(needle), "{needle:?} missing: {e}");
        }
    }

    /// A netlink message: header (len, type, flags, seq, pid) + payload, padded to 4.
    fn nlmsg(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    fn xdp_diag_msg(ino: u32, ifindex: u32, queue: u32) -> Vec<u8> {
        let mut p = vec![libc::AF_XDP as u8, libc::SOCK_RAW as u8, 0, 0];
        p.extend_from_slice(&ino.to_ne_bytes());
        p.extend_from_slice(&[0; 8]);
        // XDP_DIAG_UID (ignored), then XDP_DIAG_INFO.
        p.extend_from_slice(&8u16.to_ne_bytes());
        p.extend_from_slice(&2u16.to_ne_bytes());
        p.extend_from_slice(&0u32.to_ne_bytes());
        p.extend_from_slice(&12u16.to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(&ifindex.to_ne_bytes());
        p.extend_from_slice(&queue.to_ne_bytes());
        nlmsg(20, &p)
    }

    #[test]
    fn diag_dump_finds_the_socket_of_a_queue() {
        let mut dump = xdp_diag_msg(100, 7, 0);
        dump.extend(xdp_diag_msg(101, 7, 1));
        dump.extend(xdp_diag_msg(102, 8, 0));
        let mut found = Vec::new();
        assert!(!diag::parse(&dump, 7, 1, &mut found).unwrap());
        assert_eq!(found, vec![101]);
        let mut found = Vec::new();
        assert!(diag::parse(&nlmsg(libc::NLMSG_DONE as u16, &[0; 4]), 7, 1, &mut found).unwrap());
        let err = diag::parse(
            &nlmsg(libc::NLMSG_ERROR as u16, &(-libc::ENOENT).to_ne_bytes()),
            7,
            1,
            &mut found,
        )
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        // Garbage never panics.
        for cut in 0..dump.len() {
            let _ = diag::parse(&dump[..cut], 7, 1, &mut Vec::new());
        }
        assert!(diag::parse(&[0xff; 40], 7, 1, &mut Vec::new()).is_err());
    }

    #[test]
    fn holder_lookup_never_fails_hard() {
        // No such interface here: no panic, and an answer or None.
        let _ = holder("no-such-if0", 0);
    }
}
