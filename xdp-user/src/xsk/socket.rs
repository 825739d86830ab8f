//! Opening one AF_XDP socket with its own UMEM on one RX queue, walking the mode ladder:
//! zero-copy first, then copy. The XDP attach mode (native or SKB) was chosen before, by the
//! loader; a copy-mode socket on an SKB-mode program is what "SKB mode" means for AF_XDP.
use std::{ffi::CString, num::NonZeroU32, os::fd::AsRawFd};

use anyhow::{anyhow, bail, Context, Result};
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
        }
    }
}

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
            bail!("--frame-size must be 2048 or 4096 (a power of two no larger than a page), got {}", self.frame_size);
        }
        if !self.ring_size.is_power_of_two() || self.ring_size < 64 {
            bail!("--ring-size must be a power of two >= 64, got {}", self.ring_size);
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
}

impl XskQueue {
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.rx.fd().as_raw_fd()
    }
}

fn bind_once(ifname: &str, queue: u32, opts: &SocketOptions, flags: BindFlags) -> Result<XskQueue, (Option<i32>, String)> {
    let fail = |what: &str, e: &(dyn std::error::Error + 'static)| (errno_in_chain(e), format!("{what}: {e:?}"));
    let ring = QueueSize::new(opts.ring_size).map_err(|e| (None, format!("ring size: {e:?}")))?;
    let umem_cfg = UmemConfig::builder()
        .frame_size(FrameSize::new(opts.frame_size).map_err(|e| (None, format!("frame size: {e:?}")))?)
        .fill_queue_size(ring)
        .comp_queue_size(ring)
        .build()
        .map_err(|e| (None, format!("UMEM config: {e:?}")))?;
    let count = NonZeroU32::new(opts.frame_count).ok_or((None, "frame count is 0".to_string()))?;
    let (umem, frames) = Umem::new(umem_cfg, count, opts.huge_pages).map_err(|e| fail("creating UMEM", &e))?;
    let mut bind = flags;
    if opts.need_wakeup {
        bind |= BindFlags::XDP_USE_NEED_WAKEUP;
    }
    let sock_cfg = SocketConfig::builder()
        .rx_queue_size(ring)
        .tx_queue_size(ring)
        .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
        .bind_flags(bind)
        .build();
    let name = CString::new(ifname).map_err(|_| (None, "interface name has a NUL byte".to_string()))?;
    // SAFETY: the UMEM is new and not shared, so the shared-UMEM double-free caveat of
    // `Socket::new` does not apply (and INHIBIT_PROG_LOAD is set anyway).
    let (tx, rx, rings) = unsafe { xsk_rs::Socket::new(sock_cfg, &umem, &Interface::new(name), queue) }
        .map_err(|e| fail("binding AF_XDP socket", &e))?;
    let (fill, comp) = rings.ok_or((None, "no fill/completion rings returned for a fresh UMEM".to_string()))?;
    let zero_copy = sys::is_zero_copy(rx.fd().as_raw_fd()).unwrap_or(false);
    Ok(XskQueue { queue, umem, fill, comp, tx, rx, frames, zero_copy, zero_copy_refusal: None })
}

/// Opens and binds a socket on `queue`, preferring zero-copy when `opts.bind` allows.
pub fn open(ifname: &str, queue: u32, opts: &SocketOptions, skb_mode: bool) -> Result<XskQueue> {
    let try_zc = matches!(opts.bind, BindMode::Auto | BindMode::ZeroCopy) && !skb_mode;
    let mut refusal = None;
    if skb_mode && opts.bind == BindMode::ZeroCopy {
        bail!("zero-copy was forced (--bind-mode zero-copy) but the XDP program is in SKB (generic) mode, which only supports copy mode: use --xdp-mode native");
    }
    if skb_mode {
        refusal = Some("the XDP program runs in SKB (generic) mode, which has no zero-copy".to_string());
    }
    if try_zc {
        match bind_once(ifname, queue, opts, BindFlags::XDP_ZEROCOPY) {
            Ok(q) => return Ok(q),
            Err((errno, msg)) => {
                let why = zero_copy_refusal_reason(ifname, errno, &msg);
                if opts.bind == BindMode::ZeroCopy {
                    return Err(bind_error(ifname, queue, errno, &msg)).context(format!("zero-copy forced: {why}"));
                }
                if matches!(errno, Some(libc::EBUSY) | Some(libc::ENOBUFS) | Some(libc::ENOMEM) | Some(libc::EPERM)) {
                    return Err(bind_error(ifname, queue, errno, &msg));
                }
                refusal = Some(why);
            }
        }
    }
    let mut q = bind_once(ifname, queue, opts, BindFlags::XDP_COPY)
        .map_err(|(errno, msg)| bind_error(ifname, queue, errno, &msg))?;
    q.zero_copy_refusal = refusal;
    Ok(q)
}

fn zero_copy_refusal_reason(ifname: &str, errno: Option<i32>, msg: &str) -> String {
    let driver = sys::driver_name(ifname).unwrap_or_else(|_| "unknown".into());
    match errno {
        Some(libc::EOPNOTSUPP) => format!("driver {driver} does not offer AF_XDP zero-copy on {ifname} (EOPNOTSUPP)"),
        _ => format!("zero-copy bind failed on {ifname} (driver {driver}): {msg}"),
    }
}

/// Turns a bind failure into a message that says what to do.
fn bind_error(ifname: &str, queue: u32, errno: Option<i32>, msg: &str) -> anyhow::Error {
    let hint = match errno {
        Some(libc::EBUSY) => format!("queue {queue} of {ifname} is already bound by another AF_XDP socket: stop the other program (another xdp-responder?) or pick other queues with --queues"),
        Some(libc::ENOBUFS) | Some(libc::ENOMEM) => "the kernel refused to pin the UMEM (memlock limit): run as root, `ulimit -l unlimited`, or lower --frame-count".to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_validation_says_what_to_pick() {
        assert!(SocketOptions::default().validate().is_ok());
        let bad = SocketOptions { frame_size: 3000, ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("--frame-size"));
        let bad = SocketOptions { frame_count: 1024, ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("--frame-count"));
        let bad = SocketOptions { ring_size: 100, ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("--ring-size"));
        assert_eq!(SocketOptions::default().frame_capacity(), 3840);
    }

    #[test]
    fn busy_queue_error_names_the_fix() {
        let e = bind_error("eth0", 3, Some(libc::EBUSY), "x").to_string();
        assert!(e.contains("already bound") && e.contains("queue 3"), "{e}");
    }
}
