//! IPv6 (RFC 8200): header validation, dispatch to ICMPv6 / UDP, and the reply's IP header.
//!
//! Checks, in order (first failure wins):
//! 1. 40 bytes present (`Truncated`), version 6 (`Malformed`);
//! 2. `40 + payload length <= bytes received` (`Truncated`) — bytes past it are padding;
//! 3. source not multicast, not `::1`, not IPv4-mapped (`BadSource`, as Linux's `ipv6_rcv`);
//! 4. next header ICMPv6 ([`super::icmp6`]) or UDP ([`super::udp`]); extension headers and
//!    any other protocol are `Unsupported`.
//!
//! Echo and UDP replies go back to the sender ([`check_unicast_exchange`],
//! [`reply_to_sender`]): addresses swapped, hop limit 64, **length = 40 + the request's
//! payload length** (request padding is never echoed). Traffic class: the request's for an
//! echo reply (`icmpv6_echo_reply` copies it, ECN included), 0 for UDP (the socket's). Flow
//! label: neither reflects the request's (`flowlabel_reflect` is 0 by default); Linux labels
//! both automatically (`auto_flowlabels`, `ip6_make_flowlabel`) with a hash of the flow keyed
//! by a per-boot random secret; ours is [`flow_label`], the same kind of per-flow hash with
//! fixed constants, so a flow always gets the same label and tests can predict it.
//! Neighbor Advertisements are addressed by [`super::ndp`] itself.

use super::{icmp6, ndp, udp, Answer, DropReason, Identity, LinkDst, NetReply, Tail};
use xdp_wire::ipv6::{
    self, is_loopback, is_multicast, is_unspecified, is_v4_mapped, next_header, HEADER_LEN,
};

/// The fixed IPv6 header, as the handlers see it.
pub type Ipv6Header<'a> = ipv6::Packet<&'a mut [u8]>;
/// Hop limit of echo and UDP replies (Linux's default `hop_limit`).
pub const REPLY_HOP_LIMIT: u8 = 64;
pub use xdp_wire::ipv6::FLOW_LABEL_MASK;

/// The flow label of a reply from `src` to `dst`: a multiply-xorshift hash over five 64-bit
/// words (the two addresses' halves, then the next header and the four `ports` bytes: UDP
/// source and destination port; for ICMPv6 the type and code, then two zero bytes, as Linux's
/// flow keys hold them), its top 20 bits. Linux hashes the same keys with a secret (see the
/// module docs); this one needs no state and gives a flow one label for ever. Word-wise, so
/// five multiplies per reply where a byte-wise hash (FNV-1a) takes 37 in a dependent chain.
pub fn flow_label(src: &[u8; 16], dst: &[u8; 16], next_header: u8, ports: [u8; 4]) -> u32 {
    // 2^64 / the golden ratio, odd: the multiplier of Fibonacci hashing.
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let halves = |a: &[u8; 16]| {
        let v = u128::from_be_bytes(*a);
        ((v >> 64) as u64, v as u64)
    };
    let (s0, s1) = halves(src);
    let (d0, d1) = halves(dst);
    let last = (u64::from(next_header) << 32) | u64::from(u32::from_be_bytes(ports));
    let mut h = 0u64;
    for w in [s0, s1, d0, d1, last] {
        // The multiply carries every input bit upwards; the shift brings the high half back
        // down, so the next multiply spreads it again.
        h = (h ^ w).wrapping_mul(K);
        h ^= h >> 32;
    }
    // The top bits of the last product are the best mixed: every input bit reaches them.
    (h >> 44) as u32 & FLOW_LABEL_MASK
}

/// Handles the IPv6 packet at the start of `pkt`. `received` bytes came off the wire; the
/// rest of `pkt` is free room a reply may grow into (only NDP does). `tail` is the frame's
/// continuation in further buffers ([`Tail::NONE`] for one buffer).
pub fn handle(
    pkt: &mut [u8],
    received: usize,
    tail: Tail,
    id: &Identity,
) -> Result<NetReply, DropReason> {
    if received < HEADER_LEN {
        return Err(DropReason::Truncated);
    }
    let (hdr, room) = pkt
        .split_first_chunk_mut::<HEADER_LEN>()
        .ok_or(DropReason::Truncated)?;
    let mut ip = Ipv6Header::new_unchecked(&mut hdr[..]);
    if ip.version() != 6 {
        return Err(DropReason::Malformed);
    }
    let plen = ip.payload_len();
    if usize::from(plen) > received - HEADER_LEN + tail.len() {
        return Err(DropReason::Truncated);
    }
    // The payload's part in this buffer and in the tail; the rest of both is padding.
    let head_plen = usize::from(plen).min(received - HEADER_LEN);
    let src = ip.src();
    if is_multicast(&src) || is_loopback(&src) || is_v4_mapped(&src) {
        return Err(DropReason::BadSource);
    }
    match ip.next_header() {
        next_header::ICMPV6 => icmpv6(&mut ip, room, head_plen, plen, tail, id),
        next_header::UDP => {
            check_unicast_exchange(&ip, id)?;
            let dgram = room.get_mut(..head_plen).ok_or(DropReason::Truncated)?;
            let pseudo = ip.pseudo_sum(next_header::UDP, plen);
            let l4_tail = tail.prefix(usize::from(plen) - head_plen);
            udp::handle(dgram, l4_tail, pseudo, udp::ZeroChecksum::Invalid, id)?;
            // After the swap: the reply's source and destination ports.
            let ports = dgram
                .first_chunk::<4>()
                .copied()
                .ok_or(DropReason::Truncated)?;
            Ok(reply_to_sender(&mut ip, plen, Answer::Udp6, 0, ports))
        }
        // Hop-by-hop, routing, fragment, destination options, ESP/AH, TCP, ...
        _ => Err(DropReason::Unsupported),
    }
}

/// ICMPv6 (RFC 4443): echo requests to our addresses get echo replies ([`icmp6`]); Neighbor
/// Solicitations go to [`ndp`]; every other type is `Unsupported`. The message is `plen` bytes
/// at the start of `room` (which continues past the received bytes into free buffer space),
/// `head_plen` of them in this buffer and the rest at the start of `tail` (the frame's
/// further buffers).
///
/// Echo: the destination must be one of our unicast addresses (multicast → `BadDestination`,
/// e.g. a ping to ff02::1, which Linux would answer but we leave to the kernel), the source
/// not `::`. The reply keeps the request's traffic class and gets its own flow label.
fn icmpv6(
    ip: &mut Ipv6Header,
    room: &mut [u8],
    head_plen: usize,
    plen: u16,
    tail: Tail,
    id: &Identity,
) -> Result<NetReply, DropReason> {
    let msg_type = *room
        .get(..head_plen)
        .and_then(<[u8]>::first)
        .ok_or(DropReason::Truncated)?;
    match msg_type {
        icmp6::TYPE_ECHO_REQUEST => {
            check_unicast_exchange(ip, id)?;
            let msg = room.get_mut(..head_plen).ok_or(DropReason::Truncated)?;
            let tail = tail.prefix(usize::from(plen) - head_plen);
            icmp6::answer_echo(msg, tail, ip.pseudo_sum(next_header::ICMPV6, plen), id)?;
            // `icmpv6_echo_reply`: the request's traffic class, an automatic flow label.
            let class = ip.traffic_class();
            Ok(reply_to_sender(
                ip,
                plen,
                Answer::Icmp6Echo,
                class,
                [icmp6::TYPE_ECHO_REPLY, 0, 0, 0],
            ))
        }
        // The advertisement may grow into the first buffer's free room, which a frame that
        // continues in further buffers does not have: not answered.
        ndp::TYPE_NEIGHBOR_SOLICITATION if !tail.is_empty() => Err(DropReason::Unsupported),
        ndp::TYPE_NEIGHBOR_SOLICITATION => ndp::handle(ip, room, plen, id),
        _ => Err(DropReason::Unsupported),
    }
}

/// Address checks for a request answered to its sender (echo, UDP): the destination is one of
/// our unicast addresses (multicast → `BadDestination`, other → `NotOurs`) and the source is
/// neither `::` (only DAD may use it) nor one of our own addresses (Linux would answer such a
/// request over loopback, never on the wire) → `BadSource`.
pub fn check_unicast_exchange(ip: &Ipv6Header, id: &Identity) -> Result<(), DropReason> {
    let dst = ip.dst();
    if is_multicast(&dst) {
        return Err(DropReason::BadDestination);
    }
    if !id.owns_v6(&dst) {
        return Err(DropReason::NotOurs);
    }
    let src = ip.src();
    if is_unspecified(&src) || id.owns_v6(&src) {
        return Err(DropReason::BadSource);
    }
    Ok(())
}

/// Turns the header around for a reply of `plen` payload bytes (unchanged from the request):
/// addresses swapped, hop limit 64, traffic class `class` and the [`flow_label`] of the reply
/// with `ports`. The upper-layer checksum is unaffected by the swap.
pub fn reply_to_sender(
    ip: &mut Ipv6Header,
    plen: u16,
    kind: Answer,
    class: u8,
    ports: [u8; 4],
) -> NetReply {
    let (src, dst) = (ip.src(), ip.dst());
    ip.set_src(&dst);
    ip.set_dst(&src);
    ip.set_hop_limit(REPLY_HOP_LIMIT);
    let next = ip.next_header();
    ip.set_version_class_flow(class, flow_label(&dst, &src, next, ports));
    NetReply {
        offset: 0,
        len: HEADER_LEN + usize::from(plen),
        kind,
        dst: LinkDst::Requester,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Answer, DropReason};

    #[test]
    fn flow_labels_spread_flows_that_differ_in_one_field() {
        // 4096 flows in 2^20 labels: about 8 pairs share a label if the hash is uniform.
        // A label that ignored the varied field, or used a few of its bits, would repeat.
        let (a, b) = (OUR_V6, PEER_V6);
        let flows = |label: &dyn Fn([u8; 2]) -> u32| {
            (0..4096u16)
                .map(|i| label(i.to_be_bytes()))
                .collect::<Vec<u32>>()
        };
        // The two bytes `i` written at `at` into the address `x`.
        let with = |mut x: [u8; 16], at: usize, i: [u8; 2]| {
            x[at..at + 2].copy_from_slice(&i);
            x
        };
        let by_port = flows(&|[h, l]| super::flow_label(&a, &b, 17, [h, l, 0, 7]));
        let by_dst_port = flows(&|[h, l]| super::flow_label(&a, &b, 17, [0, 7, h, l]));
        let by_addr = flows(&|i| super::flow_label(&a, &with(b, 14, i), 58, [128, 0, 0, 0]));
        let by_prefix = flows(&|i| super::flow_label(&with(a, 2, i), &b, 58, [128, 0, 0, 0]));
        for (what, labels) in [
            ("source port", by_port),
            ("destination port", by_dst_port),
            ("address", by_addr),
            ("prefix", by_prefix),
        ] {
            let mut sorted = labels.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert!(
                sorted.len() >= 4096 - 40,
                "{what}: {} distinct",
                sorted.len()
            );
            assert!(labels.iter().all(|&l| l <= super::FLOW_LABEL_MASK));
            // Every label bit takes both values.
            let (or, and) = labels
                .iter()
                .fold((0, u32::MAX), |(o, n), &l| (o | l, n & l));
            assert_eq!((or, and), (super::FLOW_LABEL_MASK, 0), "{what}");
        }
    }

    #[test]
    fn extension_headers_are_unsupported() {
        // Insert a hop-by-hop options header (PadN) in front of an otherwise valid echo.
        let f = icmp6_request(b"ext");
        for ext_type in [0u8, 43, 44, 60] {
            let mut g = f[..54].to_vec();
            g[20] = ext_type;
            let plen = u16::from_be_bytes([g[18], g[19]]) + 8;
            g[18..20].copy_from_slice(&plen.to_be_bytes());
            g.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
            g.extend_from_slice(&f[54..]);
            assert_eq!(
                drop_reason(&g),
                DropReason::Unsupported,
                "next header {ext_type}"
            );
        }
        // Not an extension but not ours to answer either: TCP, no next header.
        for nh in [6u8, 59] {
            let mut g = f.clone();
            g[20] = nh;
            assert_eq!(drop_reason(&g), DropReason::Unsupported);
        }
    }

    #[test]
    fn bad_sources() {
        let mut lo = [0u8; 16];
        lo[15] = 1;
        let mut mapped = [0u8; 16];
        mapped[10..].copy_from_slice(&[0xff, 0xff, 192, 0, 2, 100]);
        for src in [ALL_NODES, [0xff; 16], lo, mapped] {
            assert_eq!(
                drop_reason(&icmp6_echo(src, OUR_V6, b"x")),
                DropReason::BadSource,
                "{src:02x?}"
            );
            assert_eq!(
                drop_reason(&udp6(src, OUR_V6, PEER_PORT, UDP_PORT, b"x")),
                DropReason::BadSource
            );
        }
    }

    #[test]
    fn version_other_than_6_is_malformed() {
        let mut f = icmp6_request(b"v");
        f[14] = 0x40 | (f[14] & 0x0f);
        assert_eq!(drop_reason(&f), DropReason::Malformed);
    }

    #[test]
    fn payload_length_past_frame_is_truncated() {
        let mut f = icmp6_request(b"0123");
        let plen = u16::from_be_bytes([f[18], f[19]]);
        f[18..20].copy_from_slice(&(plen + 1).to_be_bytes());
        assert_eq!(drop_reason(&f), DropReason::Truncated);
        f[18..20].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(drop_reason(&f), DropReason::Truncated);
    }

    #[test]
    fn padding_is_not_echoed() {
        let req = icmp6_request(b"");
        let mut padded = req.clone();
        padded.extend_from_slice(&[0xee; 20]);
        assert_eq!(
            reply(&padded, Answer::Icmp6Echo),
            reply(&req, Answer::Icmp6Echo)
        );
    }

    #[test]
    fn header_shorter_than_40_is_truncated() {
        let f = icmp6_request(b"");
        for n in 14..54 {
            assert_eq!(drop_reason(&f[..n]), DropReason::Truncated, "len {n}");
        }
    }
}
