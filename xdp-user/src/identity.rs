//! Who we are: the interface MAC and the addresses, ports and protocols we answer for.
use std::net::{Ipv4Addr, Ipv6Addr};

/// Our identity as the handlers see it. Lookups are linear: the sets are small (a few
/// addresses), and a scan over a few entries beats hashing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// The MAC address of the interface we answer on (source MAC of every reply).
    pub mac: [u8; 6],
    pub v4: Vec<Ipv4Addr>,
    pub v6: Vec<Ipv6Addr>,
    /// UDP destination ports we echo on.
    pub udp_ports: Vec<u16>,
    /// Bit set of `xdp_common::proto` switches.
    pub protocols: u32,
}

impl Identity {
    pub fn owns_v4(&self, ip: [u8; 4]) -> bool {
        self.v4.iter().any(|a| a.octets() == ip)
    }
    pub fn owns_v6(&self, ip: &[u8; 16]) -> bool {
        self.v6.iter().any(|a| &a.octets() == ip)
    }
    // An inlined scan: `slice::contains` is an out-of-line call, about 40 instructions per
    // lookup for the one or two ports a responder usually has, where this is a few.
    #[allow(clippy::manual_contains)]
    pub fn owns_udp_port(&self, port: u16) -> bool {
        self.udp_ports.iter().any(|&p| p == port)
    }
    pub fn enabled(&self, proto: u32) -> bool {
        self.protocols & proto != 0
    }
}
