//! The properties every answer of [`xdp_user::handlers::handle`] must have, checked
//! *independently* of the handlers (own parsing, the RFC 1071 sum of
//! [`xdp_testkit::reference`]), plus the seed requests and the one-input driver [`fuzz_one`].
//! Two users check exactly the same things through this crate: xdp-user's stable property
//! tests (`xdp-user/tests/handler_props.rs`, proptest) and the cargo-fuzz target
//! (`fuzz/fuzz_targets/handle.rs`, libFuzzer). It is a crate of its own, not a module of
//! xdp-testkit, because it calls into xdp-user, which itself depends on xdp-testkit.
//!
//! For any input frame, buffer size and claimed length:
//! * no panic; a dropped frame's buffer is left exactly as it was;
//! * a reply fits the buffer and is **never longer than the request**, except the documented
//!   Neighbor Advertisement case (86 bytes answering a 78..86-byte DAD solicitation);
//! * every checksum of a reply verifies and every length field describes exactly the reply;
//! * a reply **goes back to the sender**: Ethernet destination = the request's source MAC
//!   (ARP: its sender hardware address; NA: the solicitation's source link-layer address
//!   when it has one, as Linux sends them), network destination = the request's source
//!   address (ARP: tha/tpa = sha/spa), source = our MAC and the address that was asked; the
//!   only exception is the answer to Duplicate Address Detection (source `::`), which
//!   RFC 4861 sends to ff02::1;
//! * the reply's header fields are those Linux writes: ICMP echo keeps the TOS / traffic
//!   class, UDP sends TOS / class 0, over IPv4 UDP sets DF and ICMP clears DF (both keep the
//!   request's ID), and
//!   IPv6 echo / UDP replies never reflect the request's flow label (unless by collision);
//! * never a reply to a group (broadcast/multicast) or all-zero source MAC, nor to a
//!   broadcast/multicast/unusable source IP, nor to a UDP source port 0.

use std::net::{Ipv4Addr, Ipv6Addr};

pub use xdp_testkit::frame::{
    arp, echo, fix_checksums, ipv4_to, ipv6, multicast_mac, ns, solicited_node, udp,
};
use xdp_testkit::reference::{pseudo_v4, pseudo_v6, sum};
use xdp_user::handlers::{handle, Answer, Identity, TimeOfDay, Verdict};

/// The time of day the properties answer at (any fixed time: replies are checked against it).
pub const NOW: TimeOfDay = TimeOfDay(43_200_000);

pub const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const OTHER_MAC: [u8; 6] = [0x02, 0x99, 0, 0, 0, 0x99];
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
pub const V4_MCAST_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0, 0, 1];
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

pub const OUR_V4: [[u8; 4]; 2] = [[198, 18, 0, 2], [192, 0, 2, 1]];
pub const PEER_V4: [u8; 4] = [198, 18, 0, 1];
pub const OTHER_V4: [u8; 4] = [198, 18, 0, 9];
pub const OUR_V6: [[u8; 16]; 2] = [
    [0x20, 0x01, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02],
    [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02],
];
pub const PEER_V6: [u8; 16] = [0x20, 0x01, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
pub const OTHER_V6: [u8; 16] = [0x20, 0x01, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09];
pub const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
pub const PORTS: [u16; 2] = [7, 9000];
pub const PEER_PORT: u16 = 40000;

/// The UMEM frame room the responder gives a handler with `--frame-size 2048`.
pub const CHUNK: usize = 2048 - 256;
/// Length of the Neighbor Advertisement we send, and of the smallest solicitation.
pub const NA_FRAME: usize = 86;
pub const NS_MIN_FRAME: usize = 78;

pub fn identity() -> Identity {
    Identity {
        mac: OUR_MAC,
        v4: OUR_V4.iter().map(|a| Ipv4Addr::from(*a)).collect(),
        v6: OUR_V6.iter().map(|a| Ipv6Addr::from(*a)).collect(),
        udp_ports: PORTS.to_vec(),
        protocols: xdp_common::proto::ALL,
    }
}

// ---------------------------------------------------------------------------------------
// Independent arithmetic (the sums are xdp_testkit::reference's, not the handlers')
// ---------------------------------------------------------------------------------------

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn is_group_mac(m: &[u8]) -> bool {
    m[0] & 1 != 0
}

fn is_group_v4(a: &[u8]) -> bool {
    a[0] & 0xf0 == 0xe0 || a == [255; 4]
}

fn usable_v4_source(a: &[u8]) -> bool {
    !(a[0] == 0 || a[0] == 127 || is_group_v4(a))
}

/// An IPv6 source an echo may be sent back to: not `::`, `::1`, v4-mapped (`::ffff:0:0/96`,
/// which Linux refuses on the wire), multicast, or one of our own addresses (a reflection to
/// ourselves).
fn usable_v6_source(a: &[u8], id: &Identity) -> bool {
    let mut lo = [0u8; 16];
    lo[15] = 1;
    let mapped = a[..10] == [0; 10] && a[10..12] == [0xff, 0xff];
    a != [0; 16]
        && a != lo
        && !mapped
        && a[0] != 0xff
        && !id.owns_v6(&<[u8; 16]>::try_from(a).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Runs `handle` on `frame` copied into a buffer of `buf_len` bytes (cut or zero-extended),
/// claiming `len` received bytes, and checks every property. Returns the verdict.
pub fn check(frame: &[u8], buf_len: usize, len: usize, id: &Identity) -> Result<Verdict, String> {
    let mut buf = frame.to_vec();
    buf.resize(buf_len, 0);
    let before = buf.clone();
    let verdict = handle(&mut buf, len, id, NOW);
    // What the handler may treat as the request: the bytes received and present.
    let req = &before[..len.min(before.len())];
    match verdict {
        Verdict::Drop(reason) => {
            ensure!(
                buf == before,
                "dropped ({reason:?}) but the buffer was modified"
            );
        }
        Verdict::Reply {
            offset,
            len: rlen,
            kind,
        } => {
            ensure!(
                offset + rlen <= buf.len(),
                "reply of {rlen} bytes at offset {offset} exceeds the {}-byte buffer",
                buf.len()
            );
            // Only a UDP reply starts later: by exactly the request's IPv4 option bytes.
            let options = match (kind, req.get(14)) {
                (Answer::Udp4, Some(v)) => (usize::from(v & 0x0f) * 4).saturating_sub(20),
                _ => 0,
            };
            ensure!(
                offset == options,
                "{kind:?} reply at offset {offset}, the request had {options} option bytes"
            );
            // The payload never moves: the bytes after the UDP header are where they were.
            ensure!(
                offset == 0 || buf[offset + 42..offset + rlen] == req[offset + 42..offset + rlen],
                "the datagram moved or changed when the options were removed"
            );
            let ndp_growth = kind == Answer::Ndp && rlen == NA_FRAME && req.len() >= NS_MIN_FRAME;
            ensure!(
                rlen <= req.len() || ndp_growth,
                "{kind:?} reply of {rlen} bytes is longer than the {}-byte request (amplification)",
                req.len()
            );
            check_reply(req, &buf[offset..offset + rlen], kind, id).map_err(|e| {
                format!(
                    "{kind:?} reply: {e}\n request {req:02x?}\n reply {:02x?}",
                    &buf[offset..offset + rlen]
                )
            })?;
        }
    }
    Ok(verdict)
}

/// Checks one reply against the request it answers.
pub fn check_reply(req: &[u8], rep: &[u8], kind: Answer, id: &Identity) -> Result<(), String> {
    ensure!(
        rep.len() >= 42 && req.len() >= 42,
        "reply {} / request {} bytes: too short to be an answer",
        rep.len(),
        req.len()
    );
    ensure!(rep[6..12] == id.mac, "reply source MAC is not ours");
    let req_src_mac = &req[6..12];
    ensure!(
        !is_group_mac(req_src_mac) && req_src_mac != [0; 6],
        "answered a group or zero source MAC {req_src_mac:02x?}"
    );
    let req_dst_mac = &req[0..6];
    ensure!(
        is_group_mac(req_dst_mac) || req_dst_mac == id.mac,
        "answered a frame for another host's MAC"
    );
    ensure!(
        rep[12..14] == req[12..14],
        "reply EtherType differs from the request's"
    );
    match kind {
        Answer::Arp => check_arp(req, rep, id),
        Answer::Icmp4Echo | Answer::Udp4 => check_v4(req, rep, kind, id),
        Answer::Icmp6Echo | Answer::Udp6 | Answer::Ndp => check_v6(req, rep, kind, id),
    }
}

fn check_arp(req: &[u8], rep: &[u8], id: &Identity) -> Result<(), String> {
    ensure!(be16(rep, 12) == 0x0806, "ARP answer is not ARP");
    ensure!(rep.len() == 42, "ARP reply is {} bytes, not 42", rep.len());
    ensure!(
        rep[0..6] == req[14 + 8..14 + 14],
        "ARP reply not sent to the sender hardware address"
    );
    let (q, a) = (&req[14..42], &rep[14..42]);
    ensure!(
        (q[0..8] == [0, 1, 8, 0, 6, 4, 0, 1] || q[0..8] == [0, 6, 8, 0, 6, 4, 0, 1]),
        "answered an ARP packet that is no Ethernet/IPv4 request: {:02x?}",
        &q[0..8]
    );
    ensure!(
        a[0..8] == [0, 1, 8, 0, 6, 4, 0, 2],
        "reply header {:02x?}",
        &a[0..8]
    );
    let (sha, spa, tpa) = (&q[8..14], &q[14..18], &q[24..28]);
    ensure!(spa != tpa, "answered a gratuitous ARP");
    ensure!(
        id.owns_v4([tpa[0], tpa[1], tpa[2], tpa[3]]),
        "answered an ARP for an address not ours"
    );
    ensure!(
        spa == [0; 4] || (usable_v4_source(spa) && !id.owns_v4([spa[0], spa[1], spa[2], spa[3]])),
        "answered an ARP from unusable sender {spa:?}"
    );
    ensure!(
        !is_group_mac(sha) && sha != [0; 6],
        "answered an ARP from a group or zero sender hardware address"
    );
    ensure!(a[8..14] == id.mac, "sha is not our MAC");
    ensure!(a[14..18] == *tpa, "spa is not the address asked for");
    ensure!(
        a[18..24] == *sha && a[24..28] == *spa,
        "tha/tpa are not the requester's sha/spa"
    );
    Ok(())
}

fn check_v4(req: &[u8], rep: &[u8], kind: Answer, id: &Identity) -> Result<(), String> {
    ensure!(be16(rep, 12) == 0x0800, "IPv4 answer is not IPv4");
    ensure!(
        rep[0..6] == req[6..12],
        "reply not sent to the requester's MAC"
    );
    let (q, ip) = (&req[14..], &rep[14..]);
    ensure!(ip[0] >> 4 == 4, "reply version {}", ip[0] >> 4);
    let hl = usize::from(ip[0] & 0x0f) * 4;
    ensure!(
        hl >= 20 && hl + 8 <= ip.len(),
        "reply IHL {hl} for {} bytes",
        ip.len()
    );
    ensure!(
        usize::from(be16(ip, 2)) == ip.len(),
        "reply total length {} but {} bytes sent",
        be16(ip, 2),
        ip.len()
    );
    ensure!(
        sum(&[&ip[..hl]]) == 0xffff,
        "reply IPv4 header checksum does not verify"
    );
    // The request was a whole, valid datagram; an ICMP reply has its header length, a UDP
    // reply none of its options (checked below).
    let qhl = usize::from(q[0] & 0x0f) * 4;
    ensure!(
        q.len() >= qhl && (qhl == hl || (kind == Answer::Udp4 && hl == 20 && qhl > 20)),
        "request IHL {qhl} differs from the reply's {hl}"
    );
    ensure!(
        sum(&[&q[..qhl]]) == 0xffff,
        "answered a request whose header checksum is bad"
    );
    ensure!(be16(q, 6) & 0x3fff == 0, "answered an IPv4 fragment");
    let qtotal = usize::from(be16(q, 2));
    ensure!(
        qtotal == ip.len() + (qhl - hl) && qtotal <= q.len(),
        "reply length {} vs request total length {qtotal} with {} option bytes removed",
        ip.len(),
        qhl - hl
    );
    let (qsrc, qdst) = (&q[12..16], &q[16..20]);
    ensure!(
        ip[16..20] == *qsrc,
        "IPv4 reply not sent to the request's source"
    );
    ensure!(
        ip[12..16] == *qdst,
        "IPv4 reply not sent from the address asked"
    );
    ensure!(
        id.owns_v4([qdst[0], qdst[1], qdst[2], qdst[3]]),
        "answered for an address not ours"
    );
    ensure!(
        usable_v4_source(qsrc),
        "answered an unusable (broadcast/multicast/zero/loopback) source {qsrc:?}"
    );
    ensure!(
        !id.owns_v4([qsrc[0], qsrc[1], qsrc[2], qsrc[3]]),
        "answered a request from our own address"
    );
    ensure!(ip[8] == 64, "reply TTL {}", ip[8]);
    ensure!(ip[9] == q[9], "reply protocol differs");
    if kind == Answer::Udp4 {
        ensure!(hl == 20, "UDP reply with IP options");
        ensure!(
            ip[1] == 0 && be16(ip, 4) == be16(q, 4) && be16(ip, 6) == 0x4000,
            "UDP reply TOS {:#x} ID {:#x} flags {:#x}: not 0, the request's ID, DF",
            ip[1],
            be16(ip, 4),
            be16(ip, 6)
        );
    } else {
        ensure!(
            ip[1] == q[1] && be16(ip, 4) == be16(q, 4) && be16(ip, 6) == 0,
            "ICMP reply TOS {:#x} ID {:#x} flags {:#x}: not the request's TOS and ID, DF clear",
            ip[1],
            be16(ip, 4),
            be16(ip, 6)
        );
    }
    let (ql4, l4) = (&q[qhl..qtotal], &ip[hl..]);
    match kind {
        Answer::Icmp4Echo => {
            ensure!(ip[9] == 1, "ICMP answer with protocol {}", ip[9]);
            ensure!(
                ql4[0] == 8 && ql4[1] == 0,
                "answered ICMP type {} code {}",
                ql4[0],
                ql4[1]
            );
            ensure!(
                sum(&[ql4]) == 0xffff,
                "answered an ICMP message with a bad checksum"
            );
            ensure!(
                l4[0] == 0 && l4[1] == 0,
                "reply ICMP type {} code {}",
                l4[0],
                l4[1]
            );
            ensure!(sum(&[l4]) == 0xffff, "reply ICMP checksum does not verify");
            ensure!(
                l4[4..] == ql4[4..],
                "echo identifier, sequence or data changed"
            );
        }
        Answer::Udp4 => {
            ensure!(ip[9] == 17, "UDP answer with protocol {}", ip[9]);
            check_udp(
                ql4,
                l4,
                &pseudo_v4(qsrc, qdst, 17, ql4.len()),
                &pseudo_v4(&ip[12..16], &ip[16..20], 17, l4.len()),
                false,
                id,
            )?;
        }
        _ => return Err(format!("{kind:?} over IPv4")),
    }
    Ok(())
}

fn check_udp(
    q: &[u8],
    u: &[u8],
    qpseudo: &[u8],
    pseudo: &[u8],
    v6: bool,
    id: &Identity,
) -> Result<(), String> {
    ensure!(
        usize::from(be16(q, 4)) == q.len(),
        "answered a UDP length {} for {} bytes",
        be16(q, 4),
        q.len()
    );
    ensure!(
        usize::from(be16(u, 4)) == u.len(),
        "reply UDP length {} for {} bytes",
        be16(u, 4),
        u.len()
    );
    let (sport, dport) = (be16(q, 0), be16(q, 2));
    ensure!(
        id.owns_udp_port(dport),
        "answered UDP to port {dport}, not ours"
    );
    ensure!(sport != 0, "answered UDP from port 0");
    ensure!(
        !id.owns_udp_port(sport) && ![7, 13, 17, 19, 37].contains(&sport),
        "answered UDP from loop-prone port {sport}"
    );
    ensure!(
        be16(u, 0) == dport && be16(u, 2) == sport,
        "ports not swapped"
    );
    let (qc, c) = (be16(q, 6), be16(u, 6));
    if v6 {
        ensure!(qc != 0 && c != 0, "UDP over IPv6 without checksum");
    }
    if qc != 0 {
        ensure!(
            sum(&[qpseudo, q]) == 0xffff,
            "answered a UDP datagram with a bad checksum"
        );
    }
    if c != 0 {
        ensure!(
            sum(&[pseudo, u]) == 0xffff,
            "reply UDP checksum does not verify"
        );
    }
    ensure!(u[8..] == q[8..], "UDP payload changed");
    Ok(())
}

fn check_v6(req: &[u8], rep: &[u8], kind: Answer, id: &Identity) -> Result<(), String> {
    ensure!(be16(rep, 12) == 0x86dd, "IPv6 answer is not IPv6");
    ensure!(
        rep.len() >= 54 + 8 && req.len() >= 54 + 8,
        "IPv6 answer or request too short"
    );
    let (q, ip) = (&req[14..], &rep[14..]);
    ensure!(ip[0] >> 4 == 6, "reply version {}", ip[0] >> 4);
    let plen = usize::from(be16(ip, 4));
    ensure!(
        40 + plen == ip.len(),
        "reply payload length {plen} for {} bytes",
        ip.len()
    );
    let qplen = usize::from(be16(q, 4));
    ensure!(
        40 + qplen <= q.len(),
        "answered a request whose payload length runs past the frame"
    );
    let (src, dst, next) = (&ip[8..24], &ip[24..40], ip[6]);
    let (qsrc, qdst) = (&q[8..24], &q[24..40]);
    ensure!(
        next == q[6],
        "reply next header {next} differs from the request's {}",
        q[6]
    );
    ensure!(qsrc[0] != 0xff, "answered a multicast source");
    let l4 = &ip[40..];
    let ql4 = &q[40..40 + qplen];
    ensure!(
        sum(&[&pseudo_v6(src, dst, next, plen), l4]) == 0xffff,
        "reply upper-layer checksum does not verify"
    );
    ensure!(
        sum(&[&pseudo_v6(qsrc, qdst, q[6], qplen), ql4]) == 0xffff,
        "answered a request with a bad checksum"
    );
    match kind {
        Answer::Ndp => {
            ensure!(
                next == 58 && l4[0] == 136 && l4[1] == 0,
                "NDP answer is no Neighbor Advertisement"
            );
            ensure!(
                ql4[0] == 135 && ql4[1] == 0 && q[7] == 255,
                "answered an ICMPv6 {}/{} with hop limit {}",
                ql4[0],
                ql4[1],
                q[7]
            );
            let qdst_group = qdst[0] == 0xff;
            // Unicast solicitation: 24-byte NA, flag S; otherwise (multicast, DAD) 32 bytes
            // with our target link-layer address.
            let want_plen = if qdst_group { 32 } else { 24 };
            ensure!(
                plen == want_plen && ip[7] == 255,
                "NA payload {plen} hop limit {} (want {want_plen})",
                ip[7]
            );
            ensure!(
                ip[0..4] == [0x60, 0, 0, 0],
                "NA traffic class / flow label not 0"
            );
            let target = &l4[8..24];
            ensure!(
                *target == ql4[8..24],
                "NA target differs from the solicited target"
            );
            ensure!(
                id.owns_v6(&<[u8; 16]>::try_from(target).unwrap_or_default()),
                "NA for a target not ours"
            );
            ensure!(src == target, "NA not sent from the target address");
            if qdst_group {
                ensure!(
                    l4[24..26] == [2, 1] && l4[26..32] == id.mac,
                    "NA lacks our target link-layer address"
                );
            }
            // The first source link-layer address option of the solicitation, if any.
            let mut sllao = None;
            let mut opts = &ql4[24..];
            while let [t, units, ..] = *opts {
                let n = usize::from(units) * 8;
                ensure!(n != 0 && n <= opts.len(), "answered an NS with bad options");
                if t == 1 && sllao.is_none() {
                    ensure!(n == 8, "answered an NS whose SLLAO is {n} bytes");
                    sllao = Some(&opts[2..8]);
                }
                opts = &opts[n..];
            }
            ensure!(opts.is_empty(), "answered an NS with a stray option byte");
            if qsrc == [0; 16] {
                ensure!(sllao.is_none(), "answered DAD with an SLLAO");
                ensure!(
                    dst == ALL_NODES && rep[0..6] == ALL_NODES_MAC && l4[4] == 0x20,
                    "DAD answer must go to ff02::1 with O only"
                );
            } else {
                let mac = sllao.unwrap_or(&req[6..12]);
                ensure!(
                    !is_group_mac(mac) && mac != [0; 6],
                    "NA to a group or zero MAC"
                );
                ensure!(
                    dst == qsrc && rep[0..6] == *mac,
                    "NA not sent back to the solicitor's link-layer address"
                );
                let flags = if qdst_group { 0x60 } else { 0x40 };
                ensure!(l4[4] == flags, "NA flags {:#x}, want {flags:#x}", l4[4]);
                ensure!(
                    !qdst_group || sllao.is_some(),
                    "answered a multicast NS without SLLAO"
                );
            }
        }
        Answer::Icmp6Echo | Answer::Udp6 => {
            ensure!(
                rep[0..6] == req[6..12],
                "reply not sent to the requester's MAC"
            );
            ensure!(
                dst == qsrc && src == qdst,
                "IPv6 reply not sent back to the request's source"
            );
            ensure!(qsrc != [0; 16], "answered the unspecified source");
            ensure!(
                usable_v6_source(qsrc, id),
                "answered an unusable IPv6 source {qsrc:02x?} (loopback, v4-mapped, multicast or our own)"
            );
            ensure!(
                id.owns_v6(&<[u8; 16]>::try_from(qdst).unwrap_or_default()),
                "answered for an address not ours"
            );
            ensure!(plen == qplen, "reply payload {plen} vs request {qplen}");
            ensure!(ip[7] == 64, "reply hop limit {}", ip[7]);
            let class = |h: &[u8]| (h[0] << 4) | (h[1] >> 4);
            let want_class = if kind == Answer::Icmp6Echo {
                class(q)
            } else {
                0
            };
            ensure!(
                class(ip) == want_class,
                "reply traffic class {:#x}, want {want_class:#x}",
                class(ip)
            );
            if kind == Answer::Icmp6Echo {
                ensure!(
                    next == 58 && ql4[0] == 128 && ql4[1] == 0,
                    "answered ICMPv6 {}/{}",
                    ql4[0],
                    ql4[1]
                );
                ensure!(l4[0] == 129 && l4[1] == 0, "reply ICMPv6 type {}", l4[0]);
                ensure!(
                    l4[4..] == ql4[4..],
                    "echo identifier, sequence or data changed"
                );
            } else {
                ensure!(next == 17, "UDP answer with next header {next}");
                check_udp(
                    ql4,
                    l4,
                    &pseudo_v6(qsrc, qdst, 17, qplen),
                    &pseudo_v6(src, dst, 17, plen),
                    true,
                    id,
                )?;
            }
        }
        _ => return Err(format!("{kind:?} over IPv6")),
    }
    Ok(())
}

/// One valid request of every kind we answer, and near misses, all with valid checksums.
pub fn seeds() -> Vec<Vec<u8>> {
    let data: Vec<u8> = (0..61u8).map(|i| i.wrapping_mul(37)).collect();
    let g = solicited_node(&OUR_V6[0]);
    let mut v = vec![
        arp(BROADCAST_MAC, PEER_MAC, 1, PEER_MAC, PEER_V4, OUR_V4[0]),
        arp(OUR_MAC, PEER_MAC, 1, PEER_MAC, [0; 4], OUR_V4[1]),
        ipv4_to(
            OUR_MAC,
            PEER_MAC,
            PEER_V4,
            OUR_V4[0],
            1,
            &[],
            &echo(8, 1, 2, &data, 0),
        ),
        ipv4_to(
            OUR_MAC,
            PEER_MAC,
            PEER_V4,
            OUR_V4[1],
            1,
            &[1, 1, 1, 0],
            &echo(8, 1, 2, &data[..7], 0),
        ),
        ipv4_to(
            OUR_MAC,
            PEER_MAC,
            PEER_V4,
            OUR_V4[0],
            17,
            &[],
            &udp(PEER_PORT, 7, &data, None),
        ),
        ipv4_to(
            BROADCAST_MAC,
            PEER_MAC,
            PEER_V4,
            OUR_V4[0],
            1,
            &[0x94, 4, 0, 0],
            &echo(8, 5, 6, &data[..3], 0),
        ),
        ipv4_to(
            BROADCAST_MAC,
            PEER_MAC,
            PEER_V4,
            OUR_V4[0],
            17,
            &[],
            &udp(PEER_PORT, 9000, &data[..3], None),
        ),
        ipv6(
            OUR_MAC,
            PEER_MAC,
            PEER_V6,
            OUR_V6[0],
            58,
            64,
            &echo(128, 3, 4, &data, 0),
        ),
        ipv6(
            OUR_MAC,
            PEER_MAC,
            PEER_V6,
            OUR_V6[1],
            17,
            64,
            &udp(PEER_PORT, 7, &data[..20], None),
        ),
        ipv6(
            multicast_mac(&g),
            PEER_MAC,
            PEER_V6,
            g,
            58,
            255,
            &ns(OUR_V6[0], &[1, 1, 2, 0, 0, 0, 0, 1], 0),
        ),
        ipv6(
            OUR_MAC,
            PEER_MAC,
            PEER_V6,
            OUR_V6[1],
            58,
            255,
            &ns(OUR_V6[1], &[], 0),
        ),
        ipv6(
            multicast_mac(&g),
            PEER_MAC,
            [0; 16],
            g,
            58,
            255,
            &ns(OUR_V6[0], &[], 0),
        ),
    ];
    for f in &mut v {
        fix_checksums(f);
    }
    v
}

/// The seeds, built once per process (the fuzzer calls the driver millions of times).
pub fn seeds_cached() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(seeds)
}

/// Sparse damage to a valid request: each `(at, x)` pair XORs `x` into byte `at` (modulo the
/// frame length, so most land in the headers of these short frames); the rest of the frame
/// stays as it was, so with checksum repair most damaged frames still reach a handler.
pub fn sparse_damage(frame: &mut [u8], pairs: &[u8]) {
    if frame.is_empty() {
        return;
    }
    for p in pairs.chunks_exact(2) {
        let at = usize::from(p[0]) % frame.len();
        frame[at] ^= p[1];
    }
}

/// The fuzz driver: turns arbitrary bytes into one `check` call.
///
/// `data[0]` holds flags: bit 0 repairs the checksums after building the frame (so input
/// reaches past them), bit 1 starts from a valid seed request chosen by `data[1]` and applies
/// the rest of the input as sparse damage (pairs of offset and XOR value, see
/// [`sparse_damage`]), bit 2 gives the handler a full UMEM frame of room instead of the
/// frame's own length, bit 3 claims more bytes than were received, bit 4 cuts the frame to
/// `data[2]` bytes (with bit 1). Without bit 1 the frame is `data[1..]` as it is.
pub fn fuzz_one(data: &[u8]) -> Result<Verdict, String> {
    let Some((&flags, rest)) = data.split_first() else {
        return check(&[], 0, 0, &identity());
    };
    let mut frame = if flags & 2 != 0 {
        let seeds = seeds_cached();
        let pick = rest.first().copied().unwrap_or(0);
        let mut f = seeds[usize::from(pick) % seeds.len()].clone();
        sparse_damage(&mut f, rest.get(1..).unwrap_or(&[]));
        if flags & 16 != 0 {
            f.truncate(usize::from(rest.get(1).copied().unwrap_or(0)));
        }
        f
    } else {
        rest.to_vec()
    };
    if flags & 1 != 0 {
        fix_checksums(&mut frame);
    }
    let buf_len = if flags & 4 != 0 {
        CHUNK.max(frame.len())
    } else {
        frame.len()
    };
    let len = if flags & 8 != 0 {
        frame.len() + usize::from(flags >> 5) * 9
    } else {
        frame.len()
    };
    check(&frame, buf_len, len, &identity())
}
