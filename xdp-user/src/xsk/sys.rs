//! The few raw syscalls the AF_XDP crate does not wrap: the `XDP_OPTIONS`,
//! `XDP_STATISTICS` and `XDP_MAX_TX_SKB_BUDGET` socket options, socket busy polling, and the
//! driver name of an interface (`ETHTOOL_GDRVINFO`).
use std::{io, mem, os::fd::RawFd};

const SOL_XDP: libc::c_int = 283;
const XDP_STATISTICS: libc::c_int = 7;
const XDP_OPTIONS: libc::c_int = 8;
const XDP_OPTIONS_ZEROCOPY: u32 = 1;
const XDP_MAX_TX_SKB_BUDGET: libc::c_int = 9;

/// Descriptors one copy-mode `sendto()` moves when nothing else is set: the kernel's
/// `TX_BATCH_SIZE` (net/xdp/xsk.c), also the smallest `XDP_MAX_TX_SKB_BUDGET` it accepts.
pub const KERNEL_TX_BUDGET: u32 = 32;

/// What became of the copy-mode TX budget of a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxBudget {
    /// `XDP_MAX_TX_SKB_BUDGET` set to this many descriptors per `sendto()`.
    Set(u32),
    /// Not asked for: the kernel's default ([`KERNEL_TX_BUDGET`]).
    Default,
    /// The kernel has no `XDP_MAX_TX_SKB_BUDGET` (ENOPROTOOPT; Linux < 6.18): its default.
    Unsupported,
    /// The kernel refused the value (errno text); its default applies.
    Refused(String),
}

impl TxBudget {
    /// Descriptors one `sendto()` moves in copy mode.
    pub fn per_kick(&self) -> u32 {
        match self {
            TxBudget::Set(n) => *n,
            _ => KERNEL_TX_BUDGET,
        }
    }

    /// For the start-up report.
    pub fn describe(&self) -> String {
        match self {
            TxBudget::Set(n) => format!("{n} descriptors per sendto() (XDP_MAX_TX_SKB_BUDGET)"),
            TxBudget::Default => format!("{KERNEL_TX_BUDGET} descriptors per sendto() (kernel default)"),
            TxBudget::Unsupported => format!(
                "{KERNEL_TX_BUDGET} descriptors per sendto() (kernel default: this kernel has no XDP_MAX_TX_SKB_BUDGET)"
            ),
            TxBudget::Refused(e) => format!(
                "{KERNEL_TX_BUDGET} descriptors per sendto() (kernel default: XDP_MAX_TX_SKB_BUDGET refused: {e})"
            ),
        }
    }
}

/// Sets the copy-mode TX budget (descriptors per `sendto()`) of a socket whose TX ring
/// exists. The kernel accepts `KERNEL_TX_BUDGET..=TX ring size` (EACCES otherwise, also
/// before the TX ring is created); kernels without the option answer ENOPROTOOPT.
pub fn set_tx_budget(fd: RawFd, budget: u32) -> TxBudget {
    // SAFETY: `budget` is a valid u32 for the duration of the call; the kernel reads exactly
    // `size_of::<u32>()` bytes.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            SOL_XDP,
            XDP_MAX_TX_SKB_BUDGET,
            (&budget as *const u32).cast(),
            mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return TxBudget::Set(budget);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOPROTOOPT) => TxBudget::Unsupported,
        _ => TxBudget::Refused(e.to_string()),
    }
}

/// `struct xdp_statistics` from `<linux/if_xdp.h>` (kernel >= 5.9 layout, six counters).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpStatistics {
    pub rx_dropped: u64,
    pub rx_invalid_descs: u64,
    pub tx_invalid_descs: u64,
    pub rx_ring_full: u64,
    pub rx_fill_ring_empty_descs: u64,
    pub tx_ring_empty_descs: u64,
}

impl XdpStatistics {
    /// Field names and values, in the kernel's order.
    pub fn fields(&self) -> [(&'static str, u64); 6] {
        [
            ("rx_dropped", self.rx_dropped),
            ("rx_invalid_descs", self.rx_invalid_descs),
            ("tx_invalid_descs", self.tx_invalid_descs),
            ("rx_ring_full", self.rx_ring_full),
            ("rx_fill_ring_empty_descs", self.rx_fill_ring_empty_descs),
            ("tx_ring_empty_descs", self.tx_ring_empty_descs),
        ]
    }

    pub fn add(&mut self, o: &XdpStatistics) {
        self.rx_dropped += o.rx_dropped;
        self.rx_invalid_descs += o.rx_invalid_descs;
        self.tx_invalid_descs += o.tx_invalid_descs;
        self.rx_ring_full += o.rx_ring_full;
        self.rx_fill_ring_empty_descs += o.rx_fill_ring_empty_descs;
        self.tx_ring_empty_descs += o.tx_ring_empty_descs;
    }
}

fn getsockopt<T: Copy + Default>(fd: RawFd, name: libc::c_int) -> io::Result<T> {
    let mut value = T::default();
    let mut len = mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a valid, writable T of `len` bytes; the kernel writes at most `len`.
    let rc =
        unsafe { libc::getsockopt(fd, SOL_XDP, name, (&mut value as *mut T).cast(), &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// The socket's `XDP_STATISTICS`.
pub fn xdp_statistics(fd: RawFd) -> io::Result<XdpStatistics> {
    getsockopt(fd, XDP_STATISTICS)
}

/// Whether the bound socket runs in zero-copy mode (`XDP_OPTIONS_ZEROCOPY`).
pub fn is_zero_copy(fd: RawFd) -> io::Result<bool> {
    let flags: u32 = getsockopt(fd, XDP_OPTIONS)?;
    Ok(flags & XDP_OPTIONS_ZEROCOPY != 0)
}

/// The kernel driver behind an interface (`veth`, `mlx5_core`, `ice`, ...), as `ethtool -i`.
pub fn driver_name(ifname: &str) -> io::Result<String> {
    const ETHTOOL_GDRVINFO: u32 = 0x3;
    #[repr(C)]
    struct DrvInfo {
        cmd: u32,
        driver: [u8; 32],
        version: [u8; 32],
        fw_version: [u8; 32],
        bus_info: [u8; 32],
        erom_version: [u8; 32],
        reserved2: [u8; 12],
        n_priv_flags: u32,
        n_stats: u32,
        testinfo_len: u32,
        eedump_len: u32,
        regdump_len: u32,
    }
    // SAFETY: DrvInfo is plain C data; all-zero is a valid value.
    let mut info: DrvInfo = unsafe { mem::zeroed() };
    info.cmd = ETHTOOL_GDRVINFO;
    // SAFETY: DrvInfo is the `struct ethtool_drvinfo` ETHTOOL_GDRVINFO fills in.
    unsafe { ethtool(ifname, &mut info) }?;
    let end = info
        .driver
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(info.driver.len());
    Ok(String::from_utf8_lossy(&info.driver[..end]).into_owned())
}

/// Whether the driver strips 802.1Q tags into packet metadata before XDP runs
/// (`rx-vlan-offload`, ETHTOOL_GFLAGS' ETH_FLAG_RXVLAN).
pub fn rx_vlan_offload(ifname: &str) -> io::Result<bool> {
    const ETHTOOL_GFLAGS: u32 = 0x25;
    const ETH_FLAG_RXVLAN: u32 = 1 << 8;
    #[repr(C)]
    struct Value {
        cmd: u32,
        data: u32,
    }
    let mut value = Value {
        cmd: ETHTOOL_GFLAGS,
        data: 0,
    };
    // SAFETY: Value is the `struct ethtool_value` ETHTOOL_GFLAGS fills in.
    unsafe { ethtool(ifname, &mut value) }?;
    Ok(value.data & ETH_FLAG_RXVLAN != 0)
}

/// One `SIOCETHTOOL` ioctl on `ifname` with `data` as the command block (its first field the
/// ethtool command), through a plain datagram socket.
///
/// # Safety
/// `T` must be the C struct the kernel reads and writes for the command in its first field.
unsafe fn ethtool<T>(ifname: &str, data: &mut T) -> io::Result<()> {
    if ifname.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: ifreq is plain C data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(ifname.bytes()) {
        *dst = src as libc::c_char;
    }
    req.ifr_ifru.ifru_data = (data as *mut T).cast();
    // SAFETY: a plain datagram socket, closed below; the ioctl writes into `data` (of the
    // command's type, the caller's contract), which outlives the call.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(io::Error::last_os_error());
        }
        let rc = libc::ioctl(sock, libc::SIOCETHTOOL, &mut req);
        let err = io::Error::last_os_error();
        libc::close(sock);
        if rc < 0 {
            return Err(err);
        }
    }
    Ok(())
}

/// Socket-level busy polling for an AF_XDP socket: the kernel polls the driver from our
/// syscalls instead of waiting for interrupts (SO_PREFER_BUSY_POLL, SO_BUSY_POLL = `usecs`,
/// SO_BUSY_POLL_BUDGET = `budget`). Drivers without NAPI busy-poll support ignore it.
pub fn enable_busy_poll(fd: RawFd, usecs: u32, budget: u32) -> io::Result<()> {
    const SO_BUSY_POLL: libc::c_int = 46;
    const SO_PREFER_BUSY_POLL: libc::c_int = 69;
    const SO_BUSY_POLL_BUDGET: libc::c_int = 70;
    for (name, value) in [
        (SO_PREFER_BUSY_POLL, 1),
        (SO_BUSY_POLL, usecs as libc::c_int),
        (SO_BUSY_POLL_BUDGET, budget as libc::c_int),
    ] {
        // SAFETY: `value` is a valid c_int for the duration of the call.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&value as *const libc::c_int).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw AF_XDP socket, closed on drop; `None` without CAP_NET_RAW or AF_XDP.
    struct RawXsk(RawFd);

    impl RawXsk {
        fn new() -> Option<RawXsk> {
            // SAFETY: a plain socket() call; the fd is owned by the returned value.
            let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
            (fd >= 0).then_some(RawXsk(fd))
        }

        /// Creates the TX ring with `entries` descriptors (XDP_TX_RING).
        fn tx_ring(&self, entries: u32) -> io::Result<()> {
            const XDP_TX_RING: libc::c_int = 3;
            // SAFETY: `entries` is a valid u32 for the duration of the call.
            let rc = unsafe {
                libc::setsockopt(
                    self.0,
                    SOL_XDP,
                    XDP_TX_RING,
                    (&entries as *const u32).cast(),
                    mem::size_of::<u32>() as libc::socklen_t,
                )
            };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }
    }

    impl Drop for RawXsk {
        fn drop(&mut self) {
            // SAFETY: our own fd, closed once.
            unsafe { libc::close(self.0) };
        }
    }

    #[test]
    fn tx_budget_needs_the_tx_ring_and_stays_in_range() {
        let Some(sock) = RawXsk::new() else {
            eprintln!("skipped: no AF_XDP socket (needs CAP_NET_RAW)");
            return;
        };
        let before = set_tx_budget(sock.0, 64);
        if before == TxBudget::Unsupported {
            eprintln!("skipped: this kernel has no XDP_MAX_TX_SKB_BUDGET");
            return;
        }
        assert!(
            matches!(before, TxBudget::Refused(_)),
            "accepted before the TX ring exists: {before:?}"
        );
        sock.tx_ring(256).expect("XDP_TX_RING");
        assert_eq!(set_tx_budget(sock.0, 64), TxBudget::Set(64));
        assert_eq!(set_tx_budget(sock.0, 256), TxBudget::Set(256));
        assert!(matches!(set_tx_budget(sock.0, 257), TxBudget::Refused(_)));
        assert!(matches!(
            set_tx_budget(sock.0, KERNEL_TX_BUDGET - 1),
            TxBudget::Refused(_)
        ));
        assert_eq!(TxBudget::Set(256).per_kick(), 256);
        assert_eq!(TxBudget::Unsupported.per_kick(), KERNEL_TX_BUDGET);
        assert!(TxBudget::Unsupported
            .describe()
            .contains("no XDP_MAX_TX_SKB_BUDGET"));
    }
}
