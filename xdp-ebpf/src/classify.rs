//! Frame classification: is this frame ours (and of which kind), the kernel's, or malformed?
//!
//! The logic is written against two small traits so that the very same code runs in the XDP
//! program (where [`Frame`] is the packet between `data` and `data_end`, and [`Tables`] are the
//! BPF maps) and in host unit tests (where both are plain slices). It is `no_std`, allocation
//! free, and every packet read goes through [`Frame::read`], which the XDP side implements with
//! the `ptr + size <= data_end` check the verifier wants to see before each access.
//!
//! Rules, in the order they are applied:
//! - Header length checks come before protocol switches: a frame too short for the header that
//!   classifies it (Ethernet, ARP, IPv4, IPv6) is [`Verdict::Malformed`], whatever the switches.
//! - An L4 header (ICMP, ICMPv6, UDP) is only looked at once the frame is addressed to us; if it
//!   is cut short then, the frame is [`Verdict::Malformed`].
//! - VLAN-tagged frames, IPv4 fragments and IPv6 extension headers go to the kernel.

use xdp_common::proto;
use xdp_wire::ethernet::{self, ethertype};
use xdp_wire::ipv4::{self, protocol};
use xdp_wire::{arp, icmp, ipv6, ndp, udp};

/// Read access to a received frame.
pub trait Frame {
    /// The `N` bytes at `offset`, or `None` if the frame ends before `offset + N`.
    fn read<const N: usize>(&self, offset: usize) -> Option<[u8; N]>;
}

impl Frame for [u8] {
    #[inline(always)]
    fn read<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        self.get(offset..offset.checked_add(N)?)?.try_into().ok()
    }
}

/// The sets of addresses and ports we answer for.
pub trait Tables {
    /// Is this IPv4 address (network order) one of ours?
    fn has_v4(&self, addr: &[u8; 4]) -> bool;
    /// Is this IPv6 address one of ours?
    fn has_v6(&self, addr: &[u8; 16]) -> bool;
    /// Do we echo on this UDP port (host order)?
    fn has_udp_port(&self, port: u16) -> bool;
}

/// What we take, once a frame is ours: the protocol kinds of `xdp-common`, with their switch
/// bits and per-kind counters.
pub use xdp_common::Protocol as Kind;

/// The outcome of [`classify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not ours: the kernel's.
    Pass,
    /// Too short or inconsistent to classify: drop.
    Malformed,
    /// Ours: goes to the AF_XDP socket.
    Ours(Kind),
}

#[inline(always)]
fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

/// Classifies `frame`, taking only the protocols enabled in `protocols` (a [`proto`] bit set).
#[inline(always)]
pub fn classify<F: Frame + ?Sized, T: Tables + ?Sized>(
    frame: &F,
    protocols: u32,
    tables: &T,
) -> Verdict {
    let Some(ethertype) = frame.read::<2>(ethernet::field::ETHERTYPE.start) else {
        return Verdict::Malformed; // shorter than an Ethernet header
    };
    match be16(ethertype) {
        ethertype::ARP => arp(frame, protocols, tables),
        ethertype::IPV4 => ipv4(frame, protocols, tables),
        ethertype::IPV6 => ipv6(frame, protocols, tables),
        // We don't answer on VLANs; this is said explicitly, it is not an oversight.
        ethertype::VLAN | ethertype::QINQ => Verdict::Pass,
        _ => Verdict::Pass,
    }
}

#[inline(always)]
fn arp<F: Frame + ?Sized, T: Tables + ?Sized>(frame: &F, protocols: u32, tables: &T) -> Verdict {
    let Some(arp) = frame.read::<{ arp::LEN }>(ethernet::HEADER_LEN) else {
        return Verdict::Malformed;
    };
    use arp::field::{HLEN, HTYPE, PLEN, PTYPE, TPA};
    // Ethernet or IEEE 802 hardware (Linux's `arp_process` takes both on an Ethernet
    // device), IPv4 protocol, address lengths 6 and 4.
    let htype = be16([arp[HTYPE.start], arp[HTYPE.start + 1]]);
    let eth_ipv4 = (htype == arp::HTYPE_ETHERNET || htype == arp::HTYPE_IEEE802)
        && be16([arp[PTYPE.start], arp[PTYPE.start + 1]]) == arp::PTYPE_IPV4
        && arp[HLEN] == arp::HLEN_ETHERNET
        && arp[PLEN] == arp::PLEN_IPV4;
    if !eth_ipv4 || protocols & proto::ARP == 0 {
        return Verdict::Pass;
    }
    let t = TPA.start;
    let target = [arp[t], arp[t + 1], arp[t + 2], arp[t + 3]];
    if tables.has_v4(&target) {
        Verdict::Ours(Kind::Arp)
    } else {
        Verdict::Pass
    }
}

#[inline(always)]
fn ipv4<F: Frame + ?Sized, T: Tables + ?Sized>(frame: &F, protocols: u32, tables: &T) -> Verdict {
    let Some(ip) = frame.read::<{ ipv4::MIN_HEADER_LEN }>(ethernet::HEADER_LEN) else {
        return Verdict::Malformed;
    };
    use ipv4::field::{DST, FLAGS_FRAG, PROTOCOL, VER_IHL};
    // Masking keeps the L4 offset within 14 + 60 bytes, a bound the verifier can see.
    let ihl = (ip[VER_IHL] & 0x0f) as usize;
    if ip[VER_IHL] >> 4 != 4 || ihl * 4 < ipv4::MIN_HEADER_LEN {
        return Verdict::Malformed;
    }
    let dst = [
        ip[DST.start],
        ip[DST.start + 1],
        ip[DST.start + 2],
        ip[DST.start + 3],
    ];
    if !tables.has_v4(&dst) {
        return Verdict::Pass;
    }
    // MF flag or a fragment offset: the kernel reassembles (or drops) fragments.
    let flags_frag = be16([ip[FLAGS_FRAG.start], ip[FLAGS_FRAG.start + 1]]);
    if flags_frag & (ipv4::FLAG_MF | ipv4::FRAG_OFFSET_MASK) != 0 {
        return Verdict::Pass;
    }
    let l4 = ethernet::HEADER_LEN + ihl * 4;
    match ip[PROTOCOL] {
        protocol::ICMP => match frame.read::<{ icmp::HEADER_LEN }>(l4) {
            None => Verdict::Malformed,
            Some(icmp)
                if icmp[icmp::field::TYPE] == icmp::v4::ECHO_REQUEST
                    && protocols & proto::ICMP4_ECHO != 0 =>
            {
                Verdict::Ours(Kind::Icmp4)
            }
            Some(_) => Verdict::Pass,
        },
        protocol::UDP => udp(frame, l4, protocols, tables),
        _ => Verdict::Pass,
    }
}

#[inline(always)]
fn ipv6<F: Frame + ?Sized, T: Tables + ?Sized>(frame: &F, protocols: u32, tables: &T) -> Verdict {
    let Some(ip) = frame.read::<{ ipv6::HEADER_LEN }>(ethernet::HEADER_LEN) else {
        return Verdict::Malformed;
    };
    if ip[ipv6::field::VER_TC_FLOW.start] >> 4 != 6 {
        return Verdict::Malformed;
    }
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&ip[ipv6::field::DST]);
    let l4 = ethernet::HEADER_LEN + ipv6::HEADER_LEN;
    match ip[ipv6::field::NEXT_HEADER] {
        protocol::ICMPV6 => {
            // A Neighbor Solicitation goes to a solicited-node multicast address: look at the
            // type before deciding on the destination, and look the destination up only
            // where it decides (one address lookup per solicitation, for its target).
            let Some(icmp) = frame.read::<{ icmp::HEADER_LEN }>(l4) else {
                return if tables.has_v6(&dst) {
                    Verdict::Malformed
                } else {
                    Verdict::Pass
                };
            };
            match icmp[icmp::field::TYPE] {
                icmp::v6::ECHO_REQUEST
                    if protocols & proto::ICMP6_ECHO != 0 && tables.has_v6(&dst) =>
                {
                    Verdict::Ours(Kind::Icmp6)
                }
                icmp::v6::NEIGHBOR_SOLICITATION => {
                    match frame.read::<16>(l4 + ndp::field::TARGET.start) {
                        None => Verdict::Malformed,
                        Some(target) if protocols & proto::NDP != 0 && tables.has_v6(&target) => {
                            Verdict::Ours(Kind::Ndp)
                        }
                        Some(_) => Verdict::Pass,
                    }
                }
                _ => Verdict::Pass,
            }
        }
        protocol::UDP if tables.has_v6(&dst) => udp(frame, l4, protocols, tables),
        // Not to us, another protocol, or an extension header: the kernel's.
        _ => Verdict::Pass,
    }
}

/// UDP at `l4`, on a frame already known to be addressed to us.
#[inline(always)]
fn udp<F: Frame + ?Sized, T: Tables + ?Sized>(
    frame: &F,
    l4: usize,
    protocols: u32,
    tables: &T,
) -> Verdict {
    let Some(udp) = frame.read::<{ udp::HEADER_LEN }>(l4) else {
        return Verdict::Malformed;
    };
    if protocols & proto::UDP != 0
        && tables.has_udp_port(be16([
            udp[udp::field::DST_PORT.start],
            udp[udp::field::DST_PORT.start + 1],
        ]))
    {
        Verdict::Ours(Kind::Udp)
    } else {
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xdp_common::Counter;

    const V4: [u8; 4] = [192, 0, 2, 1];
    const V6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const PORT: u16 = 7;

    struct Ours;
    impl Tables for Ours {
        fn has_v4(&self, addr: &[u8; 4]) -> bool {
            *addr == V4
        }
        fn has_v6(&self, addr: &[u8; 16]) -> bool {
            *addr == V6
        }
        fn has_udp_port(&self, port: u16) -> bool {
            port == PORT
        }
    }

    fn check(frame: &[u8], protocols: u32) -> Verdict {
        classify(frame, protocols, &Ours)
    }

    fn eth(ethertype: u16, payload: &[u8]) -> [u8; 256] {
        let mut f = [0u8; 256];
        f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        f[14..14 + payload.len()].copy_from_slice(payload);
        f
    }

    fn arp_frame(target: [u8; 4]) -> [u8; 256] {
        let mut a = [0u8; arp::LEN];
        a[..8].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        a[24..28].copy_from_slice(&target);
        eth(ethertype::ARP, &a)
    }

    /// IPv4 frame with `ihl` words of header, then `l4`; returns the frame and its length.
    fn ipv4_frame(dst: [u8; 4], proto: u8, ihl: u8, frag: u16, l4: &[u8]) -> ([u8; 256], usize) {
        let hl = ihl as usize * 4;
        let mut p = [0u8; 200];
        p[0] = 0x40 | ihl;
        p[6..8].copy_from_slice(&frag.to_be_bytes());
        p[8] = 64;
        p[9] = proto;
        p[16..20].copy_from_slice(&dst);
        p[hl..hl + l4.len()].copy_from_slice(l4);
        (
            eth(ethertype::IPV4, &p),
            ethernet::HEADER_LEN + hl + l4.len(),
        )
    }

    fn ipv6_frame(dst: [u8; 16], next: u8, l4: &[u8]) -> ([u8; 256], usize) {
        let mut p = [0u8; 200];
        p[0] = 0x60;
        p[6] = next;
        p[7] = 255;
        p[24..40].copy_from_slice(&dst);
        p[40..40 + l4.len()].copy_from_slice(l4);
        (
            eth(ethertype::IPV6, &p),
            ethernet::HEADER_LEN + ipv6::HEADER_LEN + l4.len(),
        )
    }

    fn udp_hdr(port: u16) -> [u8; 8] {
        let mut u = [0u8; 8];
        u[0..2].copy_from_slice(&40000u16.to_be_bytes());
        u[2..4].copy_from_slice(&port.to_be_bytes());
        u
    }

    fn ns(target: [u8; 16]) -> [u8; 24] {
        let mut n = [0u8; 24];
        n[0] = icmp::v6::NEIGHBOR_SOLICITATION;
        n[8..24].copy_from_slice(&target);
        n
    }

    #[test]
    fn ethernet() {
        assert_eq!(check(&[0u8; 13], proto::ALL), Verdict::Malformed);
        assert_eq!(check(&eth(0x88cc, &[])[..14], proto::ALL), Verdict::Pass);
        assert_eq!(
            check(&eth(ethertype::VLAN, &[])[..64], proto::ALL),
            Verdict::Pass
        );
        assert_eq!(
            check(&eth(ethertype::QINQ, &[])[..64], proto::ALL),
            Verdict::Pass
        );
    }

    #[test]
    fn arp() {
        let f = arp_frame(V4);
        assert_eq!(check(&f[..42], proto::ALL), Verdict::Ours(Kind::Arp));
        assert_eq!(check(&f[..41], proto::ALL), Verdict::Malformed);
        assert_eq!(check(&f[..42], proto::ALL & !proto::ARP), Verdict::Pass);
        assert_eq!(
            check(&arp_frame([192, 0, 2, 2])[..42], proto::ALL),
            Verdict::Pass
        );
        let mut not_ipv4 = f;
        not_ipv4[ethernet::HEADER_LEN + 3] = 0x06;
        assert_eq!(check(&not_ipv4[..42], proto::ALL), Verdict::Pass);
        // Hardware type 6 (IEEE 802) is ours as 1 is; others (0, 2, 0x0106) the kernel's.
        for (htype, want) in [
            (6u16, Verdict::Ours(Kind::Arp)),
            (0, Verdict::Pass),
            (2, Verdict::Pass),
            (0x0106, Verdict::Pass),
        ] {
            let mut g = f;
            g[ethernet::HEADER_LEN..ethernet::HEADER_LEN + 2].copy_from_slice(&htype.to_be_bytes());
            assert_eq!(check(&g[..42], proto::ALL), want, "hardware type {htype}");
        }
    }

    #[test]
    fn ipv4_icmp() {
        let echo = [icmp::v4::ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 1];
        let (f, n) = ipv4_frame(V4, protocol::ICMP, 5, 0, &echo);
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Ours(Kind::Icmp4));
        assert_eq!(
            check(&f[..n], proto::ALL & !proto::ICMP4_ECHO),
            Verdict::Pass
        );
        assert_eq!(check(&f[..n - 1], proto::ALL), Verdict::Malformed);
        // With options, the ICMP header moves.
        let (f, n) = ipv4_frame(V4, protocol::ICMP, 15, 0, &echo);
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Ours(Kind::Icmp4));
        // An echo reply is the kernel's.
        let (f, n) = ipv4_frame(V4, protocol::ICMP, 5, 0, &[0; 8]);
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Pass);
        // Not our address: short L4 doesn't matter.
        let (f, n) = ipv4_frame([10, 0, 0, 1], protocol::ICMP, 5, 0, &echo);
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Pass);
        assert_eq!(check(&f[..n - 4], proto::ALL), Verdict::Pass);
    }

    #[test]
    fn ipv4_header() {
        let (f, _) = ipv4_frame(V4, protocol::UDP, 5, 0, &udp_hdr(PORT));
        assert_eq!(
            check(&f[..ethernet::HEADER_LEN + 19], proto::ALL),
            Verdict::Malformed
        );
        let (f, n) = ipv4_frame(V4, protocol::UDP, 4, 0, &[0; 12]);
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Malformed);
        let (mut f, n) = ipv4_frame(V4, protocol::UDP, 5, 0, &udp_hdr(PORT));
        f[ethernet::HEADER_LEN] = 0x65; // version 6 in an IPv4 ethertype
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Malformed);
        // First fragment (MF), later fragment (offset), DF alone is fine.
        for (frag, v) in [
            (0x2000, Verdict::Pass),
            (0x0001, Verdict::Pass),
            (0x4000, Verdict::Ours(Kind::Udp)),
        ] {
            let (f, n) = ipv4_frame(V4, protocol::UDP, 5, frag, &udp_hdr(PORT));
            assert_eq!(check(&f[..n], proto::ALL), v);
        }
        let (f, n) = ipv4_frame(V4, 6, 5, 0, &[0; 20]);
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Pass);
    }

    #[test]
    fn ipv4_udp() {
        let (f, n) = ipv4_frame(V4, protocol::UDP, 5, 0, &udp_hdr(PORT));
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Ours(Kind::Udp));
        assert_eq!(check(&f[..n], proto::ALL & !proto::UDP), Verdict::Pass);
        assert_eq!(check(&f[..n - 1], proto::ALL), Verdict::Malformed);
        let (f, n) = ipv4_frame(V4, protocol::UDP, 5, 0, &udp_hdr(PORT + 1));
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Pass);
        let (f, n) = ipv4_frame(V4, protocol::UDP, 7, 0, &udp_hdr(PORT));
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Ours(Kind::Udp));
    }

    #[test]
    fn ipv6_icmp() {
        let echo = [icmp::v6::ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 1];
        let (f, n) = ipv6_frame(V6, protocol::ICMPV6, &echo);
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Ours(Kind::Icmp6));
        assert_eq!(
            check(&f[..n], proto::ALL & !proto::ICMP6_ECHO),
            Verdict::Pass
        );
        assert_eq!(check(&f[..n - 1], proto::ALL), Verdict::Malformed);
        assert_eq!(
            check(&f[..ethernet::HEADER_LEN + 39], proto::ALL),
            Verdict::Malformed
        );
        let mut other = V6;
        other[15] = 2;
        let (f, n) = ipv6_frame(other, protocol::ICMPV6, &echo);
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Pass);
        assert_eq!(check(&f[..n - 1], proto::ALL), Verdict::Pass);
    }

    #[test]
    fn ipv6_ndp() {
        let solicited_node = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1];
        let (f, n) = ipv6_frame(solicited_node, protocol::ICMPV6, &ns(V6));
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Ours(Kind::Ndp));
        assert_eq!(check(&f[..n], proto::ALL & !proto::NDP), Verdict::Pass);
        assert_eq!(check(&f[..n - 1], proto::ALL), Verdict::Malformed);
        let mut other = V6;
        other[15] = 2;
        let (f, n) = ipv6_frame(solicited_node, protocol::ICMPV6, &ns(other));
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Pass);
    }

    #[test]
    fn ipv6_udp_and_extension_headers() {
        let (f, n) = ipv6_frame(V6, protocol::UDP, &udp_hdr(PORT));
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Ours(Kind::Udp));
        assert_eq!(check(&f[..n - 1], proto::ALL), Verdict::Malformed);
        assert_eq!(check(&f[..n], proto::ALL & !proto::UDP), Verdict::Pass);
        let mut other = V6;
        other[0] = 0x30;
        let (f, n) = ipv6_frame(other, protocol::UDP, &udp_hdr(PORT));
        assert_eq!(check(&f[..n], proto::ALL), Verdict::Pass);
        // Hop-by-hop options, fragment header: the kernel's.
        for next in [0, 44] {
            let (f, n) = ipv6_frame(V6, next, &[0; 16]);
            assert_eq!(check(&f[..n], proto::ALL), Verdict::Pass);
        }
    }

    #[test]
    fn kinds_map_to_their_counters() {
        assert_eq!(Kind::Arp.counter(), Counter::RedirectedArp);
        assert_eq!(Kind::Udp.counter(), Counter::RedirectedUdp);
    }
}
