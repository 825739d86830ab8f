//! Request frames, built with the wire layer's `emit` functions. Every field is the caller's;
//! nothing is validated.

use xdp_wire::{arp, checksum, ethernet, icmp, ipv4, ipv6, ndp, udp};

pub use xdp_wire::ethernet::ethertype;
pub use xdp_wire::ipv4::protocol;
pub use xdp_wire::ipv6::{multicast_mac, solicited_node, ALL_NODES};

/// An Ethernet frame: the header, then `payload`.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; ethernet::HEADER_LEN + payload.len()];
    let mut v = ethernet::Frame::new_unchecked(&mut f[..]);
    ethernet::Repr {
        dst,
        src,
        ethertype,
    }
    .emit(&mut v);
    v.payload_mut().copy_from_slice(payload);
    f
}

/// An Ethernet/IPv4 ARP packet from `sha`/`spa` about `tpa` (target hardware address zero).
pub fn arp(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    op: u16,
    sha: [u8; 6],
    spa: [u8; 4],
    tpa: [u8; 4],
) -> Vec<u8> {
    let r = arp::Repr {
        op,
        sha,
        spa,
        tha: [0; 6],
        tpa,
    };
    arp_packet(eth_dst, eth_src, &r)
}

/// An Ethernet frame holding the ARP packet `r` (every address chosen, target hardware
/// address included).
pub fn arp_packet(eth_dst: [u8; 6], eth_src: [u8; 6], r: &arp::Repr) -> Vec<u8> {
    let mut a = [0u8; arp::LEN];
    r.emit(&mut arp::Packet::new_unchecked(&mut a[..]));
    ethernet(eth_dst, eth_src, ethertype::ARP, &a)
}

/// The IPv4 header fields the test frames use unless a test chooses others: `src` -> `dst`
/// over `protocol`, TTL 64, DF, identification 0x1234 ([`ipv4()`] sets the payload length).
pub fn ipv4_repr(src: [u8; 4], dst: [u8; 4], protocol: u8) -> ipv4::Repr {
    ipv4::Repr {
        ident: 0x1234,
        ..ipv4::Repr::new(src, dst, protocol, 0)
    }
}

/// An IPv4 packet in an Ethernet frame: the header `ip` with `options` (a multiple of 4
/// bytes, at most 40) and its checksum, then `l4` as given. The payload length is `l4`'s,
/// whatever `ip.payload_len` says.
pub fn ipv4(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    ip: &ipv4::Repr,
    options: &[u8],
    l4: &[u8],
) -> Vec<u8> {
    let hl = ipv4::Repr::header_len(options);
    let mut p = vec![0u8; hl + l4.len()];
    ipv4::Repr {
        payload_len: l4.len(),
        ..*ip
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut p[..]), options)
    .expect("IPv4 options: a multiple of 4 bytes, at most 40; packet at most 65535 bytes");
    if let Some(rest) = p.get_mut(hl..) {
        rest.copy_from_slice(l4);
    }
    ethernet(eth_dst, eth_src, ethertype::IPV4, &p)
}

/// An IPv4 packet with [`ipv4_repr`]'s header fields and `options`, then `l4` as given.
pub fn ipv4_to(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    protocol: u8,
    options: &[u8],
    l4: &[u8],
) -> Vec<u8> {
    ipv4(
        eth_dst,
        eth_src,
        &ipv4_repr(src, dst, protocol),
        options,
        l4,
    )
}

/// An IPv6 packet in an Ethernet frame (traffic class and flow label 0), payload `l4`.
pub fn ipv6(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    src: [u8; 16],
    dst: [u8; 16],
    next_header: u8,
    hop_limit: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut p = vec![0u8; ipv6::HEADER_LEN + l4.len()];
    let mut v = ipv6::Packet::new_unchecked(&mut p[..]);
    ipv6::Repr {
        src,
        dst,
        next_header,
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
        payload_len: u16::try_from(l4.len()).expect("IPv6 payload over 65535 bytes"),
    }
    .emit(&mut v);
    v.rest_mut().copy_from_slice(l4);
    ethernet(eth_dst, eth_src, ethertype::IPV6, &p)
}

/// An ICMP message: type, code, checksum, then `rest` (the second header word and the body).
/// The checksum covers the message plus `pseudo` (0 for ICMPv4; see [`pseudo_v6`]).
pub fn icmp(msg_type: u8, code: u8, rest: &[u8], pseudo: u16) -> Vec<u8> {
    let mut m = vec![msg_type, code, 0, 0];
    m.extend_from_slice(rest);
    let mut v = icmp::Packet::new_unchecked(&mut m[..]);
    v.fill_checksum(pseudo);
    m
}

/// An ICMPv4 message (type, code, then `rest`), checksum over the message.
pub fn icmp4(msg_type: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    icmp(msg_type, code, rest, 0)
}

/// An echo message (request or reply by `msg_type`, code 0) with its checksum over the message
/// plus `pseudo` (0 for ICMPv4).
pub fn echo(msg_type: u8, ident: u16, seq: u16, data: &[u8], pseudo: u16) -> Vec<u8> {
    let mut m = vec![0u8; icmp::HEADER_LEN + data.len()];
    let mut v = icmp::Packet::new_unchecked(&mut m[..]);
    v.data_mut().copy_from_slice(data);
    icmp::EchoRepr {
        msg_type,
        ident,
        seq,
    }
    .emit(&mut v, pseudo);
    m
}

/// A UDP datagram with its checksum for the pseudo-header sum `pseudo` (`None`: checksum 0).
pub fn udp(src_port: u16, dst_port: u16, data: &[u8], pseudo: Option<u16>) -> Vec<u8> {
    let mut m = vec![0u8; udp::HEADER_LEN + data.len()];
    let mut v = udp::Packet::new_unchecked(&mut m[..]);
    v.payload_mut().copy_from_slice(data);
    udp::Repr { src_port, dst_port }
        .emit(&mut v, pseudo)
        .expect("UDP datagram over 65535 bytes");
    m
}

/// The body of an echo message after type, code and checksum: identifier, sequence, `data`.
pub fn echo_body(ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(4 + data.len());
    b.extend_from_slice(&ident.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(data);
    b
}

/// An ICMPv6 message from `src` to `dst` (type, code, then `rest`), checksum over the
/// message and its pseudo-header.
pub fn icmp6(src: [u8; 16], dst: [u8; 16], msg_type: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    // Type, code and checksum, then `rest`.
    let len = 4 + rest.len();
    icmp(
        msg_type,
        code,
        rest,
        pseudo_v6(src, dst, protocol::ICMPV6, len),
    )
}

/// A UDP datagram from `src` to `dst` over IPv4, checksum computed (never 0 on the wire).
pub fn udp4(src: [u8; 4], dst: [u8; 4], src_port: u16, dst_port: u16, data: &[u8]) -> Vec<u8> {
    let len = udp::HEADER_LEN + data.len();
    udp(
        src_port,
        dst_port,
        data,
        Some(pseudo_v4(src, dst, protocol::UDP, len)),
    )
}

/// A UDP datagram from `src` to `dst` over IPv6, checksum computed (never 0 on the wire).
pub fn udp6(src: [u8; 16], dst: [u8; 16], src_port: u16, dst_port: u16, data: &[u8]) -> Vec<u8> {
    let len = udp::HEADER_LEN + data.len();
    udp(
        src_port,
        dst_port,
        data,
        Some(pseudo_v6(src, dst, protocol::UDP, len)),
    )
}

/// A Neighbor Solicitation for `target` with raw `options`, checksum over `pseudo`.
pub fn ns(target: [u8; 16], options: &[u8], pseudo: u16) -> Vec<u8> {
    let mut m = vec![0u8; ndp::HEADER_LEN + options.len()];
    let mut v = ndp::Packet::new_unchecked(&mut m[..]);
    v.options_mut().copy_from_slice(options);
    ndp::NsRepr { target }.emit(&mut v, pseudo);
    m
}

/// A whole Neighbor Solicitation frame: Ethernet, IPv6 from `src` to `dst` with `hop_limit`,
/// the solicitation for `target` with raw `options`, checksum computed.
pub fn ns_frame(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    src: [u8; 16],
    dst: [u8; 16],
    hop_limit: u8,
    target: [u8; 16],
    options: &[u8],
) -> Vec<u8> {
    let len = ndp::HEADER_LEN + options.len();
    let m = ns(target, options, pseudo_v6(src, dst, protocol::ICMPV6, len));
    ipv6(eth_dst, eth_src, src, dst, protocol::ICMPV6, hop_limit, &m)
}

/// The source link-layer address option for `mac`.
pub fn sllao(mac: [u8; 6]) -> [u8; 8] {
    ndp::lladdr_option(ndp::option::SOURCE_LLADDR, mac)
}

/// IPv4 pseudo-header sum for `len` bytes of `protocol` from `src` to `dst`.
pub fn pseudo_v4(src: [u8; 4], dst: [u8; 4], protocol: u8, len: usize) -> u16 {
    checksum::pseudo_v4(src, dst, protocol, len as u16)
}

/// IPv6 pseudo-header sum for `len` bytes of `next_header` from `src` to `dst`.
pub fn pseudo_v6(src: [u8; 16], dst: [u8; 16], next_header: u8, len: usize) -> u16 {
    checksum::pseudo_v6(&src, &dst, next_header, len as u32)
}

/// Recomputes the IPv4 header checksum (over the IHL the header claims, as far as the frame
/// holds it) of a hand-edited frame.
pub fn fix_ipv4_header(f: &mut [u8]) {
    if let Some(ip) = f.get_mut(ethernet::HEADER_LEN..) {
        let mut p = ipv4::Packet::new_unchecked(ip);
        p.fill_checksum();
    }
}

/// Recomputes every checksum of a frame where its (possibly mutated) length fields allow it:
/// the IPv4 header, then ICMP / UDP (IPv4 or IPv6, no extension headers) / ICMPv6. A UDP-over-
/// IPv4 checksum of 0 ("none") is left alone. Written for garbage: never panics.
pub fn fix_checksums(f: &mut [u8]) {
    let Ok(mut eth) = ethernet::Frame::new_checked(&mut *f) else {
        return;
    };
    match eth.ethertype() {
        ethertype::IPV4 => {
            let Ok(mut ip) = ipv4::Packet::new_checked(eth.payload_mut()) else {
                return;
            };
            let hl = ip.header_len();
            if hl < ipv4::MIN_HEADER_LEN || hl > ip.as_bytes().len() {
                return;
            }
            ip.fill_checksum();
            if ip.check_len().is_err() {
                return;
            }
            let (proto, len) = (ip.protocol(), ip.total_len() - hl);
            let pseudo = ip.pseudo_sum(proto, len as u16);
            let l4 = ip.payload_mut();
            match proto {
                protocol::ICMP if len >= 4 => icmp::Packet::new_unchecked(l4).fill_checksum(0),
                protocol::UDP if len >= udp::HEADER_LEN => {
                    let mut u = udp::Packet::new_unchecked(l4);
                    if u.checksum() != 0 {
                        u.fill_checksum(pseudo);
                    }
                }
                _ => {}
            }
        }
        ethertype::IPV6 => {
            let Ok(mut ip) = ipv6::Packet::new_checked(eth.payload_mut()) else {
                return;
            };
            if ip.check_len().is_err() {
                return;
            }
            let (nh, plen) = (ip.next_header(), ip.payload_len());
            let pseudo = ip.pseudo_sum(nh, plen);
            let Some(l4) = ip.rest_mut().get_mut(..usize::from(plen)) else {
                return;
            };
            match nh {
                protocol::UDP if l4.len() >= udp::HEADER_LEN => {
                    udp::Packet::new_unchecked(l4).fill_checksum(pseudo)
                }
                protocol::ICMPV6 if l4.len() >= 4 => {
                    icmp::Packet::new_unchecked(l4).fill_checksum(pseudo)
                }
                _ => {}
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;

    const A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const B: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const S4: [u8; 4] = [198, 18, 0, 1];
    const D4: [u8; 4] = [198, 18, 0, 2];
    const S6: [u8; 16] = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const D6: [u8; 16] = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    #[test]
    fn checksums_verify_with_the_reference() {
        let u = udp(40000, 7, b"hello", Some(pseudo_v4(S4, D4, 17, 13)));
        let f = ipv4(B, A, &ipv4_repr(S4, D4, protocol::UDP), &[], &u);
        assert_eq!(reference::sum(&[&f[14..34]]), 0xffff);
        let p = reference::pseudo_v4(&S4, &D4, 17, 13);
        assert_eq!(reference::sum(&[&p, &f[34..]]), 0xffff);

        let e = echo(128, 1, 2, b"ping", pseudo_v6(S6, D6, 58, 12));
        let f = ipv6(B, A, S6, D6, protocol::ICMPV6, 64, &e);
        let p = reference::pseudo_v6(&S6, &D6, 58, 12);
        assert_eq!(reference::sum(&[&p, &f[54..]]), 0xffff);
    }

    #[test]
    fn fix_checksums_repairs_edits_and_survives_garbage() {
        let ip = ipv4_repr(S4, D4, protocol::ICMP);
        let mut f = ipv4(B, A, &ip, &[1, 1, 1, 0], &echo(8, 1, 1, b"abc", 0));
        f[14 + 24 + 8] ^= 0xff;
        f[22] = 3;
        fix_checksums(&mut f);
        assert_eq!(reference::sum(&[&f[14..38]]), 0xffff);
        assert_eq!(reference::sum(&[&f[38..]]), 0xffff);
        let mut n = ipv6(B, A, S6, D6, 58, 255, &ns(D6, &sllao(A), 0));
        fix_checksums(&mut n);
        let p = reference::pseudo_v6(&S6, &D6, 58, 32);
        assert_eq!(reference::sum(&[&p, &n[54..]]), 0xffff);
        for len in 0..80 {
            let mut g = f.clone();
            g.truncate(len.min(g.len()));
            fix_checksums(&mut g);
            let mut h: Vec<u8> = (0..len as u8).collect();
            fix_checksums(&mut h);
        }
    }

    #[test]
    fn arp_and_layout() {
        let f = arp(ethernet::BROADCAST, A, arp::OP_REQUEST, A, S4, D4);
        assert_eq!(f.len(), 42);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[38..42], &D4);
    }
}
