//! UDP echo (RFC 768, RFC 862 style) over IPv4 and IPv6: the datagram goes back with its
//! ports swapped.
//!
//! The IP layer passes the datagram (exactly the IP payload) and the pseudo-header sum.
//! Checks, in order: header present and UDP length == IP payload length (`Truncated`),
//! destination port ours (`NotOurs`), source port not 0 (`BadSource`: nowhere to answer) and
//! not a loop-prone port ([`is_loop_prone_source`], `BadSource`), checksum (`BadChecksum`) —
//! where 0 means "none" over IPv4 and is invalid over IPv6 (RFC 8200 §8.1).
//!
//! Linux trims a datagram whose UDP length is *shorter* than the IP payload; we drop it
//! (`Truncated`) instead: stricter, never an answer Linux would not give.
//!
//! The reply keeps the checksum field as it is: swapping ports here and addresses in the IP
//! layer only reorders the words of a commutative sum, so a valid checksum stays valid and an
//! absent one (0, IPv4) stays absent. The payload is never touched.

use super::{DropReason, Identity, Tail};
use xdp_common::proto;
use xdp_wire::checksum;

/// Source ports of the small services that answer any datagram: echo (7), daytime (13),
/// quote of the day (17), chargen (19) and time (37). Echoing to one of them makes the two
/// services bounce packets between each other for ever (the UDP echo/chargen loop, CERT
/// CA-1996-01); inetd refuses these sources for the same reason.
pub const LOOP_PRONE_PORTS: [u16; 5] = [7, 13, 17, 19, 37];

/// Whether a datagram from `port` must not be echoed: a [`LOOP_PRONE_PORTS`] service, or one
/// of our own echo ports (another responder, or a spoofed loop between two of them).
pub fn is_loop_prone_source(port: u16, id: &Identity) -> bool {
    (port < 64 && LOOP_PRONE_MASK & (1 << port) != 0) || id.owns_udp_port(port)
}

/// [`LOOP_PRONE_PORTS`] as a bit set (all are below 64): one test per datagram, not a scan.
/// Evaluated at compile time, where an index or port out of range fails the build.
#[allow(clippy::indexing_slicing)]
const LOOP_PRONE_MASK: u64 = {
    let mut mask = 0u64;
    let mut i = 0;
    while i < LOOP_PRONE_PORTS.len() {
        assert!(LOOP_PRONE_PORTS[i] < 64);
        mask |= 1 << LOOP_PRONE_PORTS[i];
        i += 1;
    }
    mask
};

/// What a zero checksum field means for this IP version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeroChecksum {
    /// IPv4: the sender computed no checksum; accept.
    MeansNone,
    /// IPv6: the checksum is mandatory; 0 is a bad checksum.
    Invalid,
}

/// The UDP header view of the datagram `dgram`, or `Truncated` if it has no 8 bytes.
fn view(dgram: &mut [u8]) -> Result<xdp_wire::udp::Packet<&mut [u8]>, DropReason> {
    xdp_wire::udp::Packet::new_checked(dgram).map_err(|_| DropReason::Truncated)
}

/// Validates the datagram `dgram` (the whole IP payload) and swaps its ports in place.
/// `pseudo` is the IP pseudo-header sum for this datagram's length. `tail` holds the datagram's
/// bytes in further buffers ([`Tail::NONE`] for a frame in one buffer): read once, by the
/// checksum, never written.
pub fn handle(
    dgram: &mut [u8],
    tail: Tail,
    pseudo: u16,
    zero: ZeroChecksum,
    id: &Identity,
) -> Result<(), DropReason> {
    if !id.enabled(proto::UDP) {
        return Err(DropReason::NotOurs);
    }
    if dgram.len() < xdp_wire::udp::HEADER_LEN && !tail.is_empty() {
        // The header continues in the next buffer: we rewrite headers only in the first.
        return Err(DropReason::Unsupported);
    }
    let ip_payload_len = dgram.len() + tail.len();
    let (sport, dport, check) = {
        let udp = view(dgram)?;
        if udp.length() != ip_payload_len {
            return Err(DropReason::Truncated);
        }
        (udp.src_port(), udp.dst_port(), udp.checksum())
    };
    if !id.owns_udp_port(dport) {
        return Err(DropReason::NotOurs);
    }
    if sport == 0 || is_loop_prone_source(sport, id) {
        return Err(DropReason::BadSource);
    }
    let valid = match (check, zero) {
        (0, ZeroChecksum::MeansNone) => true,
        (0, ZeroChecksum::Invalid) => false,
        _ => {
            let head = checksum::add(pseudo, checksum::sum(dgram));
            checksum::verifies(checksum::add(head, tail.sum_at(dgram.len())))
        }
    };
    if !valid {
        return Err(DropReason::BadChecksum);
    }
    let mut udp = view(dgram)?;
    udp.set_src_port(dport);
    udp.set_dst_port(sport);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Answer, DropReason, Verdict};
    use etherparse::{PacketBuilder, UdpHeaderSlice};

    fn expected4(sport: u16, dport: u16, p: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(OUR_MAC, PEER_MAC)
            .ipv4(OUR_V4, PEER_V4, 64)
            .udp(sport, dport)
            .write(&mut v, p)
            .unwrap();
        v
    }

    fn expected6(sport: u16, dport: u16, p: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(OUR_MAC, PEER_MAC)
            .ipv6(OUR_V6, PEER_V6, 64)
            .udp(sport, dport)
            .write(&mut v, p)
            .unwrap();
        v
    }

    /// Offsets of the UDP header in our test frames.
    const UDP4: usize = 34;
    const UDP6: usize = 54;

    #[test]
    fn udp4_echo_every_payload_size() {
        for n in 0..=1472 {
            let p = payload(n);
            let r = reply(&udp4_request(&p), Answer::Udp4);
            let u = UdpHeaderSlice::from_slice(&r[UDP4..]).unwrap();
            assert_eq!(
                (u.source_port(), u.destination_port()),
                (UDP_PORT, PEER_PORT)
            );
            assert_eq!(usize::from(u.length()), 8 + n);
            assert_eq!(&r[UDP4 + 8..], &p[..]);
            assert_eq!(r, expected4(UDP_PORT, PEER_PORT, &p), "payload {n}");
        }
    }

    #[test]
    fn udp6_echo_every_payload_size() {
        for n in 0..=1452 {
            let p = payload(n);
            let r = reply(&udp6_request(&p), Answer::Udp6);
            let u = UdpHeaderSlice::from_slice(&r[UDP6..]).unwrap();
            assert_eq!(
                (u.source_port(), u.destination_port()),
                (UDP_PORT, PEER_PORT)
            );
            assert_eq!(&r[UDP6 + 8..], &p[..]);
            assert_eq!(r[21], 64, "hop limit");
            assert_eq!(
                r,
                with_flow_label_of(expected6(UDP_PORT, PEER_PORT, &p), &r),
                "payload {n}"
            );
        }
    }

    #[test]
    fn second_port_and_second_address() {
        let f = udp4(PEER_V4, OUR_V4_B, 5353, UDP_PORT_B, b"x");
        let r = reply(&f, Answer::Udp4);
        assert_eq!(&r[26..30], &OUR_V4_B);
        assert_eq!(&r[UDP4..UDP4 + 4], &[0x23, 0x28, 0x14, 0xe9]);
        let f = udp6(PEER_V6, OUR_V6_LL, 5353, UDP_PORT_B, b"y");
        let r = reply(&f, Answer::Udp6);
        assert_eq!(&r[22..38], &OUR_V6_LL);
    }

    #[test]
    fn padded_udp4_replies_with_ip_length() {
        let req = udp4_request(b"hi");
        let mut padded = req.clone();
        padded.resize(60, 0x55);
        let r = reply(&padded, Answer::Udp4);
        assert_eq!(r, expected4(UDP_PORT, PEER_PORT, b"hi"));
        let mut padded6 = udp6_request(b"");
        padded6.extend_from_slice(&[0x55; 10]);
        let r = reply(&padded6, Answer::Udp6);
        assert_eq!(
            r,
            with_flow_label_of(expected6(UDP_PORT, PEER_PORT, b""), &r)
        );
    }

    #[test]
    fn udp4_without_checksum_is_accepted_and_keeps_zero() {
        for n in [0, 1, 2, 99] {
            let mut f = udp4_request(&payload(n));
            f[UDP4 + 6..UDP4 + 8].copy_from_slice(&[0, 0]);
            let r = reply(&f, Answer::Udp4);
            assert_eq!(&r[UDP4 + 6..UDP4 + 8], &[0, 0]);
            let mut want = expected4(UDP_PORT, PEER_PORT, &payload(n));
            want[UDP4 + 6..UDP4 + 8].copy_from_slice(&[0, 0]);
            assert_eq!(r, want);
        }
    }

    #[test]
    fn udp6_reply_class_0_and_own_flow_label() {
        // A Linux UDP socket sends with its own traffic class (0) and an automatic flow label
        // (auto_flowlabels), whatever the request carried.
        let plain = reply(&udp6_request(b"fl"), Answer::Udp6);
        for word in [[0x60, 0x3a, 0xbc, 0xde], [0x6b, 0xb0, 0, 0]] {
            let mut f = udp6_request(b"fl");
            f[14..18].copy_from_slice(&word);
            let r = reply(&f, Answer::Udp6);
            assert_eq!((r[14], r[15] & 0xf0), (0x60, 0), "version 6, class 0");
            assert_eq!(flow_label_of(&r), flow_label_of(&plain), "the flow's label");
        }
        let other = reply(
            &udp6(PEER_V6, OUR_V6, PEER_PORT + 1, UDP_PORT, b"fl"),
            Answer::Udp6,
        );
        assert_ne!(flow_label_of(&other), flow_label_of(&plain), "another flow");
    }

    #[test]
    fn udp6_zero_checksum_is_bad() {
        let mut f = udp6_request(b"zero");
        f[UDP6 + 6..UDP6 + 8].copy_from_slice(&[0, 0]);
        assert_eq!(drop_reason(&f), DropReason::BadChecksum);
    }

    #[test]
    fn checksum_ffff_survives_the_swap() {
        // Choose the last payload word so the sum is -0: the checksum is sent as 0xffff.
        for v6 in [false, true] {
            let mut p = payload(10);
            p[8] = 0;
            p[9] = 0;
            let mut f = if v6 {
                udp6_request(&p)
            } else {
                udp4_request(&p)
            };
            let (u, plen) = if v6 { (UDP6, 10 + 8) } else { (UDP4, 10 + 8) };
            f[u + 6] = 0;
            f[u + 7] = 0;
            let pseudo = if v6 {
                [&f[22..54], &(plen as u32).to_be_bytes()[..], &[0, 0, 0, 17]].concat()
            } else {
                [&f[26..34], &[0, 17], &(plen as u16).to_be_bytes()[..]].concat()
            };
            let s = reference::sum(&[&pseudo, &f[u..]]);
            f[u + 16..u + 18].copy_from_slice(&(!s).to_be_bytes());
            f[u + 6..u + 8].copy_from_slice(&[0xff, 0xff]);
            assert_eq!(reference::sum(&[&pseudo, &f[u..]]), 0xffff);
            let r = reply(&f, if v6 { Answer::Udp6 } else { Answer::Udp4 });
            assert_eq!(&r[u + 6..u + 8], &[0xff, 0xff]);
        }
    }

    #[test]
    fn bad_checksum() {
        for n in [0, 1, 64] {
            let mut f = udp4_request(&payload(n));
            f[UDP4 + 7] ^= 0x04;
            assert_eq!(drop_reason(&f), DropReason::BadChecksum, "v4 payload {n}");
            let mut f = udp6_request(&payload(n));
            f[UDP6 + 7] ^= 0x04;
            assert_eq!(drop_reason(&f), DropReason::BadChecksum, "v6 payload {n}");
        }
    }

    #[test]
    fn wrong_port_is_not_ours() {
        assert_eq!(
            drop_reason(&udp4(PEER_V4, OUR_V4, PEER_PORT, 8, b"x")),
            DropReason::NotOurs
        );
        assert_eq!(
            drop_reason(&udp6(PEER_V6, OUR_V6, PEER_PORT, 8, b"x")),
            DropReason::NotOurs
        );
    }

    #[test]
    fn source_port_zero_is_bad_source() {
        assert_eq!(
            drop_reason(&udp4(PEER_V4, OUR_V4, 0, UDP_PORT, b"x")),
            DropReason::BadSource
        );
        assert_eq!(
            drop_reason(&udp6(PEER_V6, OUR_V6, 0, UDP_PORT, b"x")),
            DropReason::BadSource
        );
    }

    #[test]
    fn loop_prone_source_ports_are_bad_source() {
        // echo, daytime, qotd, chargen, time, and our own second echo port.
        for sport in [7u16, 13, 17, 19, 37, UDP_PORT_B] {
            assert_eq!(
                drop_reason(&udp4(PEER_V4, OUR_V4, sport, UDP_PORT, b"loop")),
                DropReason::BadSource,
                "v4 from port {sport}"
            );
            assert_eq!(
                drop_reason(&udp6(PEER_V6, OUR_V6, sport, UDP_PORT_B, b"loop")),
                DropReason::BadSource,
                "v6 from port {sport}"
            );
        }
        // Neighbouring ports are answered.
        for sport in [6u16, 8, 9, 53, 63, 64, 71, 77, 1024, 65535] {
            reply(&udp4(PEER_V4, OUR_V4, sport, UDP_PORT, b"ok"), Answer::Udp4);
        }
    }

    #[test]
    fn length_mismatch_is_truncated() {
        for (u, f) in [
            (UDP4, udp4_request(b"abcdef")),
            (UDP6, udp6_request(b"abcdef")),
        ] {
            let len = u16::from_be_bytes([f[u + 4], f[u + 5]]);
            for bad in [len - 1, len + 1, 0, 7, u16::MAX] {
                let mut g = f.clone();
                g[u + 4..u + 6].copy_from_slice(&bad.to_be_bytes());
                assert_eq!(
                    drop_reason(&g),
                    DropReason::Truncated,
                    "UDP length {bad} vs {len}"
                );
            }
        }
    }

    #[test]
    fn ip_payload_shorter_than_udp_header_is_truncated() {
        for ip_payload in 0..8u16 {
            let mut f = udp4_request(b"");
            f[16..18].copy_from_slice(&(20 + ip_payload).to_be_bytes());
            fix_ipv4_header(&mut f);
            assert_eq!(drop_reason(&f), DropReason::Truncated);
            let mut f = udp6_request(b"");
            f[18..20].copy_from_slice(&ip_payload.to_be_bytes());
            assert_eq!(drop_reason(&f), DropReason::Truncated);
        }
    }

    #[test]
    fn unspecified_or_multicast_v6_addresses() {
        assert_eq!(
            drop_reason(&udp6([0; 16], OUR_V6, PEER_PORT, UDP_PORT, b"x")),
            DropReason::BadSource
        );
        assert_eq!(
            drop_reason(&udp6(PEER_V6, ALL_NODES, PEER_PORT, UDP_PORT, b"x")),
            DropReason::BadDestination
        );
        assert_eq!(
            drop_reason(&udp6(PEER_V6, OTHER_V6, PEER_PORT, UDP_PORT, b"x")),
            DropReason::NotOurs
        );
    }

    #[test]
    fn switched_off_is_not_ours() {
        let id = identity_with(xdp_common::proto::ALL & !xdp_common::proto::UDP);
        assert_eq!(
            run_with(&udp4_request(b"x"), &id).0,
            Verdict::Drop(DropReason::NotOurs)
        );
        assert_eq!(
            run_with(&udp6_request(b"x"), &id).0,
            Verdict::Drop(DropReason::NotOurs)
        );
    }
}
