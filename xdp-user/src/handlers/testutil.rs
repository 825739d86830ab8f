//! Test support shared by the handler modules: our identity, requests addressed to it (built
//! by `xdp-testkit` with the field values etherparse's `PacketBuilder` writes, so that the
//! etherparse-built expected replies match), and reply checkers that verify checksums
//! *independently* of `xdp_wire::checksum` (etherparse's own checksum code plus the textbook
//! RFC 1071 sum of `xdp_testkit::reference`).

use super::{handle, Answer, DropReason, Identity, TimeOfDay, Verdict};

/// The time of day the handler tests answer at: 12:34:56.789 UTC.
pub const NOW: TimeOfDay = TimeOfDay(((12 * 60 + 34) * 60 + 56) * 1000 + 789);
use etherparse::{ArpOperation, Icmpv4Slice, Icmpv6Slice, Ipv4Header, Ipv4HeaderSlice, UdpHeader};
use std::net::{Ipv4Addr, Ipv6Addr};
use xdp_testkit::frame;
pub use xdp_testkit::frame::{
    fix_checksums, fix_ipv4_header, multicast_mac, ns_frame, sllao, solicited_node,
};
pub use xdp_testkit::reference;
pub use xdp_testkit::rng::XorShift;
use xdp_wire::ipv4::{self, protocol};
pub use xdp_wire::ipv6::ALL_NODES;

pub const OUR_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
pub const PEER_MAC: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
pub const BROADCAST_MAC: [u8; 6] = xdp_wire::ethernet::BROADCAST;

pub const OUR_V4: [u8; 4] = [192, 0, 2, 1];
/// A second address of ours (replies must come from the one that was asked).
pub const OUR_V4_B: [u8; 4] = [198, 51, 100, 7];
pub const PEER_V4: [u8; 4] = [192, 0, 2, 100];
pub const OTHER_V4: [u8; 4] = [192, 0, 2, 2];

pub const OUR_V6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
];
pub const OUR_V6_LL: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34];
pub const PEER_V6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
];
pub const OTHER_V6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
];

pub const UDP_PORT: u16 = 7;
pub const UDP_PORT_B: u16 = 9000;
pub const PEER_PORT: u16 = 40000;

/// The UMEM chunk size the responder uses (room for replies that grow).
pub const CHUNK: usize = 2048;

pub fn identity() -> Identity {
    identity_with(xdp_common::proto::ALL)
}

pub fn identity_with(protocols: u32) -> Identity {
    Identity {
        mac: OUR_MAC,
        v4: vec![Ipv4Addr::from(OUR_V4), Ipv4Addr::from(OUR_V4_B)],
        v6: vec![Ipv6Addr::from(OUR_V6), Ipv6Addr::from(OUR_V6_LL)],
        udp_ports: vec![UDP_PORT, UDP_PORT_B],
        protocols,
    }
}

// ---------------------------------------------------------------------------------------
// Running the handler
// ---------------------------------------------------------------------------------------

/// Runs `handle` on `frame` copied into a UMEM-sized buffer with the given identity.
/// Returns the verdict and the whole buffer afterwards.
pub fn run_with(frame: &[u8], id: &Identity) -> (Verdict, Vec<u8>) {
    let mut buf = vec![0u8; CHUNK.max(frame.len())];
    buf[..frame.len()].copy_from_slice(frame);
    let v = handle(&mut buf, frame.len(), id, NOW);
    if let Verdict::Reply { offset, len, .. } = v {
        assert!(offset + len <= buf.len());
    }
    (v, buf)
}

/// The verdict for `frame` with the default identity.
pub fn run(frame: &[u8]) -> Verdict {
    run_with(frame, &identity()).0
}

/// The drop reason for `frame` with the default identity; panics on a reply.
pub fn drop_reason(frame: &[u8]) -> DropReason {
    match run(frame) {
        Verdict::Drop(r) => r,
        v => panic!("expected a drop, got {v:?}"),
    }
}

/// Expects a reply of `kind`; returns exactly the reply bytes. Always checks checksums.
pub fn reply_with(frame: &[u8], id: &Identity, kind: Answer) -> Vec<u8> {
    let (v, mut buf) = run_with(frame, id);
    match v {
        Verdict::Reply {
            offset,
            len,
            kind: k,
        } => {
            assert_eq!(k, kind, "answer kind");
            buf.truncate(offset + len);
            buf.drain(..offset);
            assert_checksums_valid(&buf);
            assert_addressed_back(frame, &buf);
            buf
        }
        other => panic!("expected {kind:?} reply, got {other:?}"),
    }
}

pub fn reply(frame: &[u8], kind: Answer) -> Vec<u8> {
    reply_with(frame, &identity(), kind)
}

// ---------------------------------------------------------------------------------------
// Request builders
// ---------------------------------------------------------------------------------------

/// The IPv4 header etherparse's `PacketBuilder::ipv4` writes: identification 0, DF, TOS 0.
fn ip4(src: [u8; 4], dst: [u8; 4], protocol: u8, ttl: u8) -> ipv4::Repr {
    ipv4::Repr {
        ttl,
        ..ipv4::Repr::new(src, dst, protocol, 0)
    }
}

pub fn arp_frame(
    eth_src: [u8; 6],
    op: ArpOperation,
    sha: [u8; 6],
    spa: [u8; 4],
    tha: [u8; 6],
    tpa: [u8; 4],
) -> Vec<u8> {
    let r = xdp_wire::arp::Repr {
        op: op.0,
        sha,
        spa,
        tha,
        tpa,
    };
    frame::arp_packet(BROADCAST_MAC, eth_src, &r)
}

/// Who-has `tpa` tell `spa`, from `sha` (Ethernet source = `sha`), to broadcast.
pub fn arp_request(sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    arp_frame(sha, ArpOperation::REQUEST, sha, spa, [0; 6], tpa)
}

pub fn icmp4_echo(src: [u8; 4], dst: [u8; 4], id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let echo = frame::echo(8, id, seq, payload, 0);
    let ip = ip4(src, dst, protocol::ICMP, 20);
    frame::ipv4(OUR_MAC, PEER_MAC, &ip, &[], &echo)
}

/// Echo request from the peer to our first address.
pub fn icmp4_request(payload: &[u8]) -> Vec<u8> {
    icmp4_echo(PEER_V4, OUR_V4, 0x1234, 7, payload)
}

/// IPv4 header with the given options, for the expected replies (etherparse).
pub fn ipv4_header(src: [u8; 4], dst: [u8; 4], ttl: u8, options: &[u8]) -> Ipv4Header {
    let mut h = Ipv4Header::new(0, ttl, etherparse::IpNumber::ICMP, src, dst).unwrap();
    h.options = etherparse::Ipv4Options::try_from(options).unwrap();
    h.identification = 0xbeef;
    h
}

/// Echo request with IPv4 options (`options.len()` a multiple of 4, at most 40), the header
/// [`ipv4_header`] describes.
pub fn icmp4_request_with_options(options: &[u8], payload: &[u8]) -> Vec<u8> {
    let ip = ipv4::Repr {
        ident: 0xbeef,
        ..ip4(PEER_V4, OUR_V4, protocol::ICMP, 20)
    };
    let echo = frame::echo(8, 0x1234, 7, payload, 0);
    frame::ipv4(OUR_MAC, PEER_MAC, &ip, options, &echo)
}

pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let udp = frame::udp4(src, dst, sport, dport, payload);
    let ip = ip4(src, dst, protocol::UDP, 20);
    frame::ipv4(OUR_MAC, PEER_MAC, &ip, &[], &udp)
}

pub fn udp4_request(payload: &[u8]) -> Vec<u8> {
    udp4(PEER_V4, OUR_V4, PEER_PORT, UDP_PORT, payload)
}

pub fn icmp6_echo(src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let pseudo = frame::pseudo_v6(src, dst, protocol::ICMPV6, len);
    let echo = frame::echo(128, 0x4321, 9, payload, pseudo);
    frame::ipv6(OUR_MAC, PEER_MAC, src, dst, protocol::ICMPV6, 20, &echo)
}

pub fn icmp6_request(payload: &[u8]) -> Vec<u8> {
    icmp6_echo(PEER_V6, OUR_V6, payload)
}

pub fn udp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let udp = frame::udp6(src, dst, sport, dport, payload);
    frame::ipv6(OUR_MAC, PEER_MAC, src, dst, protocol::UDP, 20, &udp)
}

pub fn udp6_request(payload: &[u8]) -> Vec<u8> {
    udp6(PEER_V6, OUR_V6, PEER_PORT, UDP_PORT, payload)
}

/// The usual address-resolution NS: from the peer, to the target's solicited-node group,
/// with the peer's SLLAO.
pub fn ns_request(target: [u8; 16]) -> Vec<u8> {
    ns_to_group(target, &sllao(PEER_MAC))
}

/// An NS for `target` from the peer to the target's solicited-node group (hop limit 255)
/// with raw `options`.
pub fn ns_to_group(target: [u8; 16], options: &[u8]) -> Vec<u8> {
    let g = solicited_node(&target);
    ns_frame(
        multicast_mac(&g),
        PEER_MAC,
        PEER_V6,
        g,
        255,
        target,
        options,
    )
}

/// Deterministic payload of `n` bytes.
pub fn payload(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Independent checkers
// ---------------------------------------------------------------------------------------

pub fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Asserts every checksum in a reply frame is valid, using etherparse *and* `reference::sum`.
/// Also checks the IP length fields describe exactly the reply.
pub fn assert_checksums_valid(frame: &[u8]) {
    match be16(frame, 12) {
        0x0806 => assert_eq!(frame.len(), 42, "ARP reply length"),
        0x0800 => {
            let ip = &frame[14..];
            let hs = Ipv4HeaderSlice::from_slice(ip).expect("reply IPv4 header parses");
            let hl = hs.slice().len();
            assert_eq!(
                usize::from(hs.total_len()),
                ip.len(),
                "IPv4 total length = reply"
            );
            // etherparse's header model has no field for the reserved flag bit, so its
            // recomputation only applies when that bit is clear; the reference sum always applies.
            if ip[6] & 0x80 == 0 {
                assert_eq!(
                    hs.to_header().calc_header_checksum(),
                    hs.header_checksum(),
                    "IPv4 header checksum"
                );
            }
            assert_eq!(reference::sum(&[&ip[..hl]]), 0xffff, "IPv4 header ref sum");
            let l4 = &ip[hl..];
            match ip[9] {
                1 => {
                    let icmp = Icmpv4Slice::from_slice(l4).unwrap();
                    assert_eq!(
                        icmp.icmp_type().calc_checksum(icmp.payload()),
                        icmp.checksum(),
                        "ICMPv4 checksum"
                    );
                    assert_eq!(reference::sum(&[l4]), 0xffff, "ICMPv4 ref sum");
                }
                17 => {
                    assert_eq!(usize::from(be16(l4, 4)), l4.len(), "UDP length");
                    let c = be16(l4, 6);
                    if c != 0 {
                        let h = UdpHeader::from_slice(l4).unwrap().0;
                        let want = h
                            .calc_checksum_ipv4_raw(hs.source(), hs.destination(), &l4[8..])
                            .unwrap();
                        assert_eq!(c, want, "UDPv4 checksum");
                        let pseudo =
                            [&hs.source()[..], &hs.destination()[..], &[0, 17], &l4[4..6]].concat();
                        assert_eq!(reference::sum(&[&pseudo, l4]), 0xffff, "UDPv4 ref sum");
                    }
                }
                p => panic!("unexpected IPv4 protocol {p} in a reply"),
            }
        }
        0x86dd => {
            let ip = &frame[14..];
            let plen = usize::from(be16(ip, 4));
            assert_eq!(40 + plen, ip.len(), "IPv6 payload length = reply");
            let src: [u8; 16] = ip[8..24].try_into().unwrap();
            let dst: [u8; 16] = ip[24..40].try_into().unwrap();
            let l4 = &ip[40..];
            let pseudo = [
                &src[..],
                &dst[..],
                &(plen as u32).to_be_bytes(),
                &[0, 0, 0, ip[6]],
            ]
            .concat();
            assert_eq!(
                reference::sum(&[&pseudo, l4]),
                0xffff,
                "IPv6 upper-layer ref sum"
            );
            match ip[6] {
                58 => assert!(
                    Icmpv6Slice::from_slice(l4)
                        .unwrap()
                        .is_checksum_valid(src, dst),
                    "ICMPv6 checksum"
                ),
                17 => {
                    assert_eq!(usize::from(be16(l4, 4)), l4.len(), "UDP length");
                    let h = UdpHeader::from_slice(l4).unwrap().0;
                    assert_ne!(h.checksum, 0, "UDPv6 checksum must not be 0");
                    assert_eq!(
                        h.calc_checksum_ipv6_raw(src, dst, &l4[8..]).unwrap(),
                        h.checksum,
                        "UDPv6 checksum"
                    );
                }
                n => panic!("unexpected IPv6 next header {n} in a reply"),
            }
        }
        t => panic!("unexpected ethertype {t:04x} in a reply"),
    }
}

/// An etherparse-built IPv4 reply as `icmp_reply` sends it: etherparse sets DF, Linux's ICMP
/// socket does not (the header checksum is recomputed with `reference::sum`).
pub fn without_df(mut frame: Vec<u8>) -> Vec<u8> {
    frame[20] &= !0x40;
    fix_ipv4_header(&mut frame);
    frame
}

/// The flow label of an IPv6 frame.
pub fn flow_label_of(frame: &[u8]) -> u32 {
    u32::from_be_bytes([0, frame[15] & 0x0f, frame[16], frame[17]])
}

/// `expected` (an etherparse-built IPv6 frame, flow label 0) with the flow label of `reply`:
/// the label is a hash the tests check separately (stable per flow, different across flows).
pub fn with_flow_label_of(mut expected: Vec<u8>, reply: &[u8]) -> Vec<u8> {
    expected[15] = (expected[15] & 0xf0) | (reply[15] & 0x0f);
    expected[16..18].copy_from_slice(&reply[16..18]);
    expected
}

/// Asserts a reply goes back where the request came from: Ethernet destination = request's
/// Ethernet source (or 33:33:00:00:00:01 for a DAD answer), source = our MAC, and the
/// network-layer destination = the request's source (ARP: tha/tpa = request sha/spa;
/// IPv6 DAD answer: ff02::1).
pub fn assert_addressed_back(req: &[u8], reply: &[u8]) {
    assert_eq!(&reply[6..12], &OUR_MAC, "reply source MAC");
    match be16(reply, 12) {
        0x0806 => {
            assert_eq!(
                &reply[..6],
                &req[14 + 8..14 + 14],
                "reply MAC = request sha"
            );
            assert_eq!(
                &reply[14 + 18..14 + 24],
                &req[14 + 8..14 + 14],
                "tha = request sha"
            );
            assert_eq!(
                &reply[14 + 24..14 + 28],
                &req[14 + 14..14 + 18],
                "tpa = request spa"
            );
            assert_eq!(&reply[14 + 8..14 + 14], &OUR_MAC, "sha = our MAC");
        }
        0x0800 => {
            assert_eq!(&reply[..6], &req[6..12], "reply destination MAC");
            assert_eq!(
                &reply[14 + 16..14 + 20],
                &req[14 + 12..14 + 16],
                "IPv4 dst = request src"
            );
            assert_eq!(
                &reply[14 + 12..14 + 16],
                &req[14 + 16..14 + 20],
                "IPv4 src = request dst"
            );
        }
        0x86dd => {
            let req_src = &req[14 + 8..14 + 24];
            if req_src == [0u8; 16] {
                assert_eq!(&reply[..6], &[0x33, 0x33, 0, 0, 0, 1], "DAD answer MAC");
                assert_eq!(
                    &reply[14 + 24..14 + 40],
                    &ALL_NODES,
                    "DAD answer to ff02::1"
                );
            } else {
                // An NA goes to the solicitation's first source link-layer address option
                // when it has one (type 1, length 1, after the 24-byte NS header).
                let mut mac = &req[6..12];
                if reply.get(54) == Some(&136) {
                    let mut opts = &req[54 + 24..];
                    while let [kind, units, ..] = *opts {
                        let len = usize::from(units) * 8;
                        if len == 0 || len > opts.len() {
                            break;
                        }
                        if kind == 1 && units == 1 {
                            mac = &opts[2..8];
                            break;
                        }
                        opts = &opts[len..];
                    }
                }
                assert_eq!(&reply[..6], mac, "reply destination MAC");
                assert_eq!(&reply[14 + 24..14 + 40], req_src, "IPv6 dst = request src");
            }
        }
        t => panic!("unexpected ethertype {t:04x}"),
    }
}
