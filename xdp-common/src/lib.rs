//! The ABI between the XDP program (`xdp-ebpf`) and user space (`xdp-user`).
//!
//! Everything here is `#[repr(C)]` plain data or a constant; both sides compile this crate,
//! so a map's name, key and value type are written down exactly once.
#![no_std]

pub mod generator;
pub mod ladder;

/// Size of the XSKMAP in the object file (index = RX queue id). The loader resizes the map
/// to the interface's RX queue count before loading, so this is only a placeholder.
pub const XSKS_PLACEHOLDER_ENTRIES: u32 = 64;
/// Highest number of IPv4 / IPv6 addresses we answer for.
pub const MAX_ADDRS: u32 = 256;
/// Highest number of UDP ports we echo on.
pub const MAX_UDP_PORTS: u32 = 256;

/// Map names, as declared in the XDP program and looked up by the loader.
pub mod maps {
    /// `XskMap`: RX queue index -> AF_XDP socket fd.
    pub const XSKS: &str = "XSKS";
    /// `Array<Config>` with a single entry (index 0).
    pub const CONFIG: &str = "CONFIG";
    /// `HashMap<[u8; 4], u8>`: IPv4 addresses we answer for (network byte order). Value unused.
    pub const V4_ADDRS: &str = "V4_ADDRS";
    /// `HashMap<[u8; 16], u8>`: IPv6 addresses we answer for. Value unused.
    pub const V6_ADDRS: &str = "V6_ADDRS";
    /// `HashMap<u16, u8>`: UDP destination ports (host byte order) we echo on. Value unused.
    pub const UDP_PORTS: &str = "UDP_PORTS";
    /// `PerCpuArray<u64>` indexed by [`crate::Counter`].
    pub const COUNTERS: &str = "COUNTERS";
}

/// Protocol switches in [`Config::protocols`].
pub mod proto {
    /// ARP requests for our IPv4 addresses.
    pub const ARP: u32 = 1 << 0;
    /// ICMPv4 echo requests to our IPv4 addresses.
    pub const ICMP4_ECHO: u32 = 1 << 1;
    /// ICMPv6 echo requests to our IPv6 addresses.
    pub const ICMP6_ECHO: u32 = 1 << 2;
    /// Neighbor Solicitations for our IPv6 addresses.
    pub const NDP: u32 = 1 << 3;
    /// UDP datagrams to our addresses on one of `UDP_PORTS`.
    pub const UDP: u32 = 1 << 4;
    /// Everything above.
    pub const ALL: u32 = ARP | ICMP4_ECHO | ICMP6_ECHO | NDP | UDP;
}

/// The single value of the `CONFIG` map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Bit set of [`proto`] switches: which traffic to our addresses we take.
    pub protocols: u32,
    /// Reserved, zero.
    pub _pad: u32,
}

/// The XDP program's per-CPU counters, one slot per outcome in the `COUNTERS` map.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Every frame the program saw.
    Seen = 0,
    /// Passed to the kernel: not ours (other address, protocol, port, VLAN, fragment, ...).
    Passed = 1,
    /// Ours, but no AF_XDP socket sits on this RX queue: passed to the kernel instead.
    NoSocket = 2,
    /// Dropped: too short or inconsistent to classify (the kernel would drop it too).
    Malformed = 3,
    /// The program hit an unexpected state (XDP_ABORTED).
    Aborted = 4,
    /// Redirected to the AF_XDP socket of the frame's RX queue (sum of the five below).
    Redirected = 5,
    /// Redirected: ARP for one of our IPv4 addresses.
    RedirectedArp = 6,
    /// Redirected: ICMPv4 echo request.
    RedirectedIcmp4 = 7,
    /// Redirected: ICMPv6 echo request.
    RedirectedIcmp6 = 8,
    /// Redirected: Neighbor Solicitation for one of our IPv6 addresses.
    RedirectedNdp = 9,
    /// Redirected: UDP to one of our ports.
    RedirectedUdp = 10,
}

impl Counter {
    /// Number of counter slots.
    pub const COUNT: u32 = 11;
    /// All counters, in slot order.
    pub const ALL: [Counter; Self::COUNT as usize] = [
        Counter::Seen,
        Counter::Passed,
        Counter::NoSocket,
        Counter::Malformed,
        Counter::Aborted,
        Counter::Redirected,
        Counter::RedirectedArp,
        Counter::RedirectedIcmp4,
        Counter::RedirectedIcmp6,
        Counter::RedirectedNdp,
        Counter::RedirectedUdp,
    ];

    /// Stable snake_case name, used in output and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::Seen => "seen",
            Counter::Passed => "passed",
            Counter::NoSocket => "no_socket",
            Counter::Malformed => "malformed",
            Counter::Aborted => "aborted",
            Counter::Redirected => "redirected",
            Counter::RedirectedArp => "redirected_arp",
            Counter::RedirectedIcmp4 => "redirected_icmp4",
            Counter::RedirectedIcmp6 => "redirected_icmp6",
            Counter::RedirectedNdp => "redirected_ndp",
            Counter::RedirectedUdp => "redirected_udp",
        }
    }
}

// SAFETY: Config is #[repr(C)], has no padding (two u32) and every bit pattern is valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Config {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_dense_and_named_uniquely() {
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as u32, i as u32);
            for d in &Counter::ALL[i + 1..] {
                assert_ne!(c.name(), d.name());
            }
        }
    }
}
