//! Bad frames and floods, live: the responder never crashes, never answers what Linux would
//! not answer, counts every frame it does not answer under a reason, and loses none.
//!
//! * `bad_frames_get_no_answer_and_are_counted` sends crafted frames (runts, broken lengths and
//!   checksums, fragments, extension headers, VLAN tags, ARP oddities, group and martian
//!   sources, broadcast destinations, ...) from the generator namespace through an AF_PACKET
//!   socket, captures on a second one, and checks that none is answered by the responder, that
//!   each is accounted for exactly where docs/ROBUSTNESS.md says (dropped by the XDP program as
//!   malformed, passed to the kernel, or dropped in user space with its reason), and that the
//!   responder still answers afterwards. Positive controls first prove the capture sees answers
//!   and that answers are never longer than their requests.
//! * `soak_flood_keeps_accounting_exact_and_memory_flat` floods the responder (UDP from many
//!   sockets in threads, pings, a stream of mutated raw frames) for `XDP_SOAK_SECS` seconds
//!   (default 12), samples its RSS, and checks the frame accounting is exact and memory flat
//!   afterwards, and that it still answers.
//!
//! Run with `--test-threads=1` (the tests share kernel state). Bounded in count and time; no
//! assertion about speed.
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use integration_tests::{frames::*, raw::PacketSocket, *};
use xdp_testkit::rng::XorShift;
use xtask::{echo::udp_echo_check, responder::Responder};

const V4: &str = "198.18.0.2";
const V6: &str = "2001:2::2";
/// How long to watch for an answer that must not come: the responder answers within
/// microseconds once a frame is in its RX ring.
const QUIET: Duration = Duration::from_millis(200);

/// Where a frame ends up, by the design in docs/ROBUSTNESS.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// The XDP program drops it (`xdp program malformed=`): too short to classify.
    XdpMalformed,
    /// The XDP program passes it to the kernel, which does not answer it either (forwarding
    /// is off; nothing in the kernel owns the responder's addresses).
    Kernel,
    /// Passed to the kernel, which may answer it from its own address, as Linux does for an
    /// ICMPv6 echo to ff02::1; never the responder.
    KernelMayAnswer,
    /// Redirected to user space and dropped under this reason.
    Drop(&'static str),
}

struct Case {
    name: &'static str,
    frame: Vec<u8>,
    fate: Fate,
}

fn case(name: &'static str, frame: Vec<u8>, fate: Fate) -> Case {
    Case { name, frame, fate }
}

fn echo4(eth_dst: [u8; 6], eth_src: [u8; 6], src: [u8; 4], dst: [u8; 4], data: &[u8]) -> Vec<u8> {
    let echo = icmp4(8, 0, &echo_body(0x5151, 1, data));
    ipv4(eth_dst, eth_src, &ip4(src, dst, 1), &[], &echo)
}

/// An IPv4 packet from the generator to the responder's address (see `frames::ip4`), with
/// the flags/fragment word `frag` and `options`.
fn to_us4(proto: u8, frag: u16, options: &[u8], l4: &[u8]) -> Vec<u8> {
    let ip = xdp_wire::ipv4::Repr {
        flags_frag: frag,
        ..ip4(GEN_V4, XDP_V4, proto)
    };
    ipv4(RESP_MAC, GEN_MAC, &ip, options, l4)
}

fn good_echo4() -> Vec<u8> {
    echo4(
        RESP_MAC,
        GEN_MAC,
        GEN_V4,
        XDP_V4,
        b"robustness test payload",
    )
}

fn good_udp4(sport: u16, data: &[u8]) -> Vec<u8> {
    to_us4(17, 0x4000, &[], &udp4(GEN_V4, XDP_V4, sport, 7, data))
}

fn echo6(eth_dst: [u8; 6], src: [u8; 16], dst: [u8; 16], hop: u8) -> Vec<u8> {
    ipv6(
        eth_dst,
        GEN_MAC,
        src,
        dst,
        58,
        hop,
        &icmp6(src, dst, 128, 0, &echo_body(0x6161, 1, b"v6 robustness")),
    )
}

fn udp6_frame(sport: u16, data: &[u8]) -> Vec<u8> {
    ipv6(
        RESP_MAC,
        GEN_MAC,
        GEN_V6,
        XDP_V6,
        17,
        64,
        &udp6(GEN_V6, XDP_V6, sport, 7, data),
    )
}

fn ns(
    eth_dst: [u8; 6],
    src: [u8; 16],
    dst: [u8; 16],
    hop: u8,
    target: [u8; 16],
    options: &[u8],
) -> Vec<u8> {
    ns_frame(eth_dst, GEN_MAC, src, dst, hop, target, options)
}

fn sllao() -> [u8; 8] {
    xdp_testkit::frame::sllao(GEN_MAC)
}

/// `f` with bytes overwritten at `at`, then the IPv4 header checksum recomputed.
fn patch4(mut f: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    f[at..at + bytes.len()].copy_from_slice(bytes);
    fix_ipv4_header(&mut f);
    f
}

fn vlan(tpid: u16, inner: &[u8]) -> Vec<u8> {
    let mut f = inner[..12].to_vec();
    f.extend_from_slice(&tpid.to_be_bytes());
    f.extend_from_slice(&[0x00, 0x2a]);
    f.extend_from_slice(&inner[12..]);
    f
}

/// The bad frames, each with its fate.
fn bad_frames() -> Vec<Case> {
    use Fate::*;
    let other_mac = [0x02, 0, 0, 0, 0, 0x99];
    let mcast_mac = [0x01, 0x00, 0x5e, 0, 0, 0x01];
    let g = solicited_node(&XDP_V6);
    let mut not_ours_v6 = XDP_V6;
    not_ours_v6[15] = 9;
    let mut lo6 = [0u8; 16];
    lo6[15] = 1;
    let echo = good_echo4();
    let ip_total = |f: &[u8]| u16::from_be_bytes([f[16], f[17]]);

    // IHL 15 (60-byte header) with a total length of 40: the XDP program still finds an echo
    // request type at offset 14 + 60, so the frame reaches user space, which must refuse it.
    let mut ihl_past_total = echo4(RESP_MAC, GEN_MAC, GEN_V4, XDP_V4, &[0u8; 64]);
    ihl_past_total[14 + 60] = 8;
    let ihl_past_total = patch4(
        patch4(ihl_past_total, 14, &[0x4f]),
        16,
        &40u16.to_be_bytes(),
    );

    // Total length 4 bytes short of the frame: the ICMP checksum covers the whole frame, so
    // over the shorter message it is wrong (Linux trims the packet, then drops it the same way).
    let short_total = patch4(echo.clone(), 16, &(ip_total(&echo) - 4).to_be_bytes());

    let mut bad_hdr_sum = echo.clone();
    bad_hdr_sum[24] ^= 0x5a;
    let mut bad_icmp_sum = echo.clone();
    bad_icmp_sum[36] ^= 0x5a;
    let mut icmp_code1 = echo4(RESP_MAC, GEN_MAC, GEN_V4, XDP_V4, b"code");
    icmp_code1[35] = 1;
    let icmp_code1 = {
        let mut f = icmp_code1;
        f[36] = 0;
        f[37] = 0;
        let c = !xdp_testkit::reference::sum(&[&f[34..]]);
        f[36..38].copy_from_slice(&c.to_be_bytes());
        f
    };

    let udp = good_udp4(40001, b"udp robustness");
    let udp_len = |f: &[u8], v: u16| {
        let mut f = f.to_vec();
        f[38..40].copy_from_slice(&v.to_be_bytes());
        f
    };
    let udp_len_now = u16::from_be_bytes([udp[38], udp[39]]);
    let mut bad_udp_sum = udp.clone();
    bad_udp_sum[41] ^= 0x5a;
    let mut udp6_zero = udp6_frame(40002, b"zero checksum");
    udp6_zero[60] = 0;
    udp6_zero[61] = 0;
    let mut plen_past = udp6_frame(40003, b"payload length");
    let plen = u16::from_be_bytes([plen_past[18], plen_past[19]]) + 16;
    plen_past[18..20].copy_from_slice(&plen.to_be_bytes());
    let mut bad_icmp6_sum = echo6(RESP_MAC, GEN_V6, XDP_V6, 64);
    bad_icmp6_sum[56] ^= 0x5a;

    // IPv6 extension headers in front of a valid echo request.
    let ext = |next: u8, hdr: &[u8]| {
        let msg = icmp6(GEN_V6, XDP_V6, 128, 0, &echo_body(0x6161, 2, b"ext"));
        let mut payload = hdr.to_vec();
        payload.extend_from_slice(&msg);
        ipv6(RESP_MAC, GEN_MAC, GEN_V6, XDP_V6, next, 64, &payload)
    };

    let mut ns_bad_sum = ns(RESP_MAC, GEN_V6, XDP_V6, 255, XDP_V6, &sllao());
    ns_bad_sum[57] ^= 0x5a;

    vec![
        // Runts and truncation at every layer.
        case(
            "14-byte frame (IPv4 EtherType, nothing after)",
            ethernet(RESP_MAC, GEN_MAC, 0x0800, &[]),
            XdpMalformed,
        ),
        case(
            "ARP cut at 30 bytes",
            arp(BROADCAST, GEN_MAC, 1, GEN_MAC, GEN_V4, XDP_V4)[..30].to_vec(),
            XdpMalformed,
        ),
        case(
            "IPv4 header cut at 30 bytes",
            echo[..30].to_vec(),
            XdpMalformed,
        ),
        case(
            "IPv4 header without ICMP (34 bytes)",
            echo[..34].to_vec(),
            XdpMalformed,
        ),
        case(
            "IPv6 header cut at 50 bytes",
            echo6(RESP_MAC, GEN_V6, XDP_V6, 64)[..50].to_vec(),
            XdpMalformed,
        ),
        case(
            "IPv6 to us without an ICMPv6 header",
            ipv6(RESP_MAC, GEN_MAC, GEN_V6, XDP_V6, 58, 64, &[]),
            XdpMalformed,
        ),
        case("IHL 4", patch4(echo.clone(), 14, &[0x44]), XdpMalformed),
        case("IHL 0", patch4(echo.clone(), 14, &[0x40]), XdpMalformed),
        case(
            "IPv4 version 5",
            patch4(echo.clone(), 14, &[0x55]),
            XdpMalformed,
        ),
        case(
            "IHL 15 past the end of the frame",
            patch4(echo4(RESP_MAC, GEN_MAC, GEN_V4, XDP_V4, b""), 14, &[0x4f]),
            XdpMalformed,
        ),
        case(
            "IHL 15 past the total length",
            ihl_past_total,
            Drop("truncated"),
        ),
        case(
            "total length 10 past the frame",
            patch4(echo.clone(), 16, &(ip_total(&echo) + 10).to_be_bytes()),
            Drop("truncated"),
        ),
        case(
            "total length below the header",
            patch4(echo.clone(), 16, &10u16.to_be_bytes()),
            Drop("truncated"),
        ),
        case(
            "total length 4 short of the frame",
            short_total,
            Drop("bad_checksum"),
        ),
        case(
            "ICMP message of 4 bytes inside an 8-byte one",
            patch4(
                echo4(RESP_MAC, GEN_MAC, GEN_V4, XDP_V4, b""),
                16,
                &24u16.to_be_bytes(),
            ),
            Drop("truncated"),
        ),
        // Checksums.
        case(
            "bad IPv4 header checksum",
            bad_hdr_sum,
            Drop("bad_checksum"),
        ),
        case("bad ICMP checksum", bad_icmp_sum, Drop("bad_checksum")),
        case("bad UDP checksum", bad_udp_sum, Drop("bad_checksum")),
        case(
            "UDP over IPv6 with checksum 0",
            udp6_zero,
            Drop("bad_checksum"),
        ),
        case("bad ICMPv6 checksum", bad_icmp6_sum, Drop("bad_checksum")),
        case("bad NS checksum", ns_bad_sum, Drop("bad_checksum")),
        // Fragments, options, extension headers, tags.
        case(
            "IPv4 fragment: MF set",
            patch4(echo.clone(), 20, &[0x20, 0x00]),
            Kernel,
        ),
        case(
            "IPv4 fragment: offset 185",
            patch4(echo.clone(), 20, &[0x00, 185]),
            Kernel,
        ),
        case(
            "IPv4 option with length 1",
            to_us4(
                1,
                0,
                &[0x44, 0x01, 0, 0],
                &icmp4(8, 0, &echo_body(1, 1, b"opt")),
            ),
            Drop("malformed"),
        ),
        case(
            "IPv4 loose source route",
            to_us4(
                1,
                0,
                &[0x83, 7, 4, 198, 18, 0, 1, 0],
                &icmp4(8, 0, &echo_body(1, 1, b"lsrr")),
            ),
            Drop("unsupported"),
        ),
        case(
            "IPv6 hop-by-hop header, then echo",
            ext(0, &[58, 0, 1, 4, 0, 0, 0, 0]),
            Kernel,
        ),
        case(
            "IPv6 destination options header, then echo",
            ext(60, &[58, 0, 1, 4, 0, 0, 0, 0]),
            Kernel,
        ),
        case(
            "IPv6 fragment header, then echo",
            ext(44, &[58, 0, 0, 0, 0, 0, 0, 1]),
            Kernel,
        ),
        case("802.1Q-tagged echo", vlan(0x8100, &echo), Kernel),
        case("802.1ad-tagged echo", vlan(0x88a8, &echo), Kernel),
        case(
            "LLDP EtherType",
            {
                let mut f = echo.clone();
                f[12..14].copy_from_slice(&0x88ccu16.to_be_bytes());
                f
            },
            Kernel,
        ),
        // UDP lengths and ports.
        case(
            "UDP length 1 past the IP payload",
            udp_len(&udp, udp_len_now + 1),
            Drop("truncated"),
        ),
        case(
            "UDP length 1 short of the IP payload",
            udp_len(&udp, udp_len_now - 1),
            Drop("truncated"),
        ),
        case("UDP length 0", udp_len(&udp, 0), Drop("truncated")),
        case(
            "UDP from port 0",
            good_udp4(0, b"port zero"),
            Drop("bad_source"),
        ),
        case(
            "UDP from echo port 7 (echo loop)",
            good_udp4(7, b"loop"),
            Drop("bad_source"),
        ),
        case(
            "UDP from chargen port 19 (echo loop)",
            good_udp4(19, b"loop"),
            Drop("bad_source"),
        ),
        case(
            "UDP to a port not served (9)",
            to_us4(17, 0, &[], &udp4(GEN_V4, XDP_V4, 40004, 9, b"discard")),
            Kernel,
        ),
        case(
            "IPv6 payload length past the frame",
            plen_past,
            Drop("truncated"),
        ),
        // ICMP kinds we do not answer.
        case(
            "ICMP echo request with code 1",
            icmp_code1,
            Drop("unsupported"),
        ),
        case(
            "ICMP echo reply to us",
            to_us4(1, 0, &[], &icmp4(0, 0, &echo_body(1, 1, b"reply"))),
            Kernel,
        ),
        case(
            "ICMP timestamp request to us",
            to_us4(1, 0, &[], &icmp4(13, 0, &[0; 16])),
            Kernel,
        ),
        // ARP.
        case(
            "ARP request for 198.18.0.9 (not ours)",
            arp(BROADCAST, GEN_MAC, 1, GEN_MAC, GEN_V4, [198, 18, 0, 9]),
            Kernel,
        ),
        case(
            "gratuitous ARP claiming 198.18.0.2",
            arp(BROADCAST, GEN_MAC, 1, GEN_MAC, XDP_V4, XDP_V4),
            Drop("unsupported"),
        ),
        case(
            "gratuitous ARP of the generator",
            arp(BROADCAST, GEN_MAC, 1, GEN_MAC, GEN_V4, GEN_V4),
            Kernel,
        ),
        case(
            "ARP reply to us",
            arp(RESP_MAC, GEN_MAC, 2, GEN_MAC, GEN_V4, XDP_V4),
            Drop("unsupported"),
        ),
        case(
            "ARP request from a broadcast source MAC",
            arp(BROADCAST, BROADCAST, 1, GEN_MAC, GEN_V4, XDP_V4),
            Drop("bad_source"),
        ),
        case(
            "ARP request with a multicast sender MAC",
            arp(BROADCAST, GEN_MAC, 1, mcast_mac, GEN_V4, XDP_V4),
            Drop("bad_source"),
        ),
        case(
            "ARP request from 224.0.0.5",
            arp(BROADCAST, GEN_MAC, 1, GEN_MAC, [224, 0, 0, 5], XDP_V4),
            Drop("bad_source"),
        ),
        case(
            "ARP request from 127.0.0.1",
            arp(BROADCAST, GEN_MAC, 1, GEN_MAC, [127, 0, 0, 1], XDP_V4),
            Drop("bad_source"),
        ),
        case(
            "ARP with hardware type 32 (InfiniBand)",
            {
                let mut f = arp(BROADCAST, GEN_MAC, 1, GEN_MAC, GEN_V4, XDP_V4);
                f[15] = 32;
                f
            },
            Kernel,
        ),
        // Sources that must never get an answer (no reflection).
        case(
            "echo from a broadcast source MAC",
            echo4(RESP_MAC, BROADCAST, GEN_V4, XDP_V4, b"x"),
            Drop("bad_source"),
        ),
        case(
            "echo from a multicast source MAC",
            echo4(RESP_MAC, mcast_mac, GEN_V4, XDP_V4, b"x"),
            Drop("bad_source"),
        ),
        case(
            "echo from MAC 00:00:00:00:00:00",
            echo4(RESP_MAC, [0; 6], GEN_V4, XDP_V4, b"x"),
            Drop("bad_source"),
        ),
        case(
            "echo from 255.255.255.255",
            echo4(RESP_MAC, GEN_MAC, [255; 4], XDP_V4, b"x"),
            Drop("bad_source"),
        ),
        case(
            "echo from 224.0.0.1",
            echo4(RESP_MAC, GEN_MAC, [224, 0, 0, 1], XDP_V4, b"x"),
            Drop("bad_source"),
        ),
        case(
            "echo from 0.0.0.0",
            echo4(RESP_MAC, GEN_MAC, [0; 4], XDP_V4, b"x"),
            Drop("bad_source"),
        ),
        case(
            "echo from 127.0.0.1",
            echo4(RESP_MAC, GEN_MAC, [127, 0, 0, 1], XDP_V4, b"x"),
            Drop("bad_source"),
        ),
        case(
            "echo from our own 198.18.0.2",
            echo4(RESP_MAC, GEN_MAC, XDP_V4, XDP_V4, b"x"),
            Drop("bad_source"),
        ),
        case(
            "ICMPv6 echo from ff02::1",
            echo6(RESP_MAC, ALL_NODES, XDP_V6, 64),
            Drop("bad_source"),
        ),
        case(
            "ICMPv6 echo from ::",
            echo6(RESP_MAC, [0; 16], XDP_V6, 64),
            Drop("bad_source"),
        ),
        case(
            "ICMPv6 echo from ::1",
            echo6(RESP_MAC, lo6, XDP_V6, 64),
            Drop("bad_source"),
        ),
        case(
            "ICMPv6 echo from our own 2001:2::2",
            echo6(RESP_MAC, XDP_V6, XDP_V6, 64),
            Drop("bad_source"),
        ),
        // Destinations that are not ours to answer.
        case(
            "echo to 255.255.255.255",
            echo4(BROADCAST, GEN_MAC, GEN_V4, [255; 4], b"x"),
            Kernel,
        ),
        case(
            "echo to 198.18.0.255 (subnet broadcast)",
            echo4(BROADCAST, GEN_MAC, GEN_V4, [198, 18, 0, 255], b"x"),
            Kernel,
        ),
        case(
            "echo to 224.0.0.1",
            echo4(mcast_mac, GEN_MAC, GEN_V4, [224, 0, 0, 1], b"x"),
            Kernel,
        ),
        case(
            "ICMPv6 echo to ff02::1",
            echo6([0x33, 0x33, 0, 0, 0, 1], GEN_V6, ALL_NODES, 64),
            KernelMayAnswer,
        ),
        case(
            "echo to us in a frame for another host's MAC",
            echo4(other_mac, GEN_MAC, GEN_V4, XDP_V4, b"x"),
            Drop("not_ours"),
        ),
        case(
            "ARP for us in a frame for another host's MAC",
            arp(other_mac, GEN_MAC, 1, GEN_MAC, GEN_V4, XDP_V4),
            Drop("not_ours"),
        ),
        // Neighbor Discovery.
        case(
            "NS with hop limit 64",
            ns(multicast_mac(&g), GEN_V6, g, 64, XDP_V6, &sllao()),
            Drop("unsupported"),
        ),
        case(
            "NS for 2001:2::9 (not ours)",
            ns(
                multicast_mac(&solicited_node(&not_ours_v6)),
                GEN_V6,
                solicited_node(&not_ours_v6),
                255,
                not_ours_v6,
                &sllao(),
            ),
            Kernel,
        ),
        case(
            "DAD NS carrying a source link-layer option",
            ns(multicast_mac(&g), [0; 16], g, 255, XDP_V6, &sllao()),
            Drop("malformed"),
        ),
        case(
            "NS with a zero-length option",
            ns(
                multicast_mac(&g),
                GEN_V6,
                g,
                255,
                XDP_V6,
                &[1, 0, 0, 0, 0, 0, 0, 0],
            ),
            Drop("malformed"),
        ),
        case(
            "NS to all-routers, a group a host is not in",
            ns(
                [0x33, 0x33, 0, 0, 0, 2],
                GEN_V6,
                {
                    let mut routers = ALL_NODES;
                    routers[15] = 2;
                    routers
                },
                255,
                XDP_V6,
                &sllao(),
            ),
            Drop("bad_destination"),
        ),
    ]
}

/// Sends `frame` and returns every answer from the responder within `wait`.
fn answers_to(
    tx: &PacketSocket,
    rx: &PacketSocket,
    frame: &[u8],
    wait: Duration,
) -> Vec<(String, Vec<u8>)> {
    rx.drain();
    answers_to_no_drain(tx, rx, frame, wait)
}

/// [`answers_to`] without throwing away what arrived before (the caller looks at it).
fn answers_to_no_drain(
    tx: &PacketSocket,
    rx: &PacketSocket,
    frame: &[u8],
    wait: Duration,
) -> Vec<(String, Vec<u8>)> {
    tx.send(frame)
        .unwrap_or_else(|e| panic!("sending a {}-byte frame: {e}", frame.len()));
    rx.collect(wait)
        .into_iter()
        .filter_map(|f| responder_answer(&f).map(|what| (what, f)))
        .collect()
}

/// The protocol a frame carries, as far as telling answers apart goes: EtherType and the
/// IPv4 protocol or IPv6 next header.
fn proto_of(f: &[u8]) -> (u16, u8) {
    let ethertype = u16::from_be_bytes([f[12], f[13]]);
    let l4 = match ethertype {
        0x0800 => f.get(23).copied().unwrap_or(0),
        0x86dd => f.get(20).copied().unwrap_or(0),
        _ => 0,
    };
    (ethertype, l4)
}

/// Sends a request that must be answered once; returns the answer.
fn expect_answer(tx: &PacketSocket, rx: &PacketSocket, what: &str, frame: &[u8]) -> Vec<u8> {
    let want = proto_of(frame);
    let got: Vec<_> = answers_to(tx, rx, frame, Duration::from_secs(2))
        .into_iter()
        .filter(|(_, f)| proto_of(f) == want)
        .collect();
    assert_eq!(
        got.len(),
        1,
        "{what}: expected one answer from the responder, got {got:?}"
    );
    got.into_iter().next().map(|(_, f)| f).unwrap_or_default()
}

fn ping(lab: &Lab, v6: bool, count: u32) -> bool {
    let count = count.to_string();
    let mut args = vec![
        "ping",
        "-c",
        &count,
        "-i",
        "0.2",
        "-W",
        "2",
        if v6 { V6 } else { V4 },
    ];
    if v6 {
        args.insert(1, "-6");
    }
    gen_ok(lab, &args)
}

fn udp_echo_works(lab: &Lab) -> bool {
    let r = lab
        .in_gen(|| {
            let t4: SocketAddr = format!("{V4}:7").parse().expect("addr");
            let t6: SocketAddr = format!("[{V6}]:7").parse().expect("addr");
            (
                udp_echo_check(t4, &[0, 100, 1472], Duration::from_secs(2)),
                udp_echo_check(t6, &[0, 100, 1452], Duration::from_secs(2)),
            )
        })
        .expect("udp echo in the generator namespace");
    matches!(r, (Ok(a), Ok(b)) if a.all_ok() && b.all_ok())
}

/// The responder still answers everything it should (bounded retries: the generator's
/// neighbour entries may need to be learned afresh after a flood).
fn still_answers(lab: &Lab) {
    gen_ok(lab, &["ip", "neigh", "flush", "dev", lab::GEN_IFACE]);
    assert!(
        eventually(Duration::from_secs(15), || ping(lab, false, 1)),
        "no ICMP answer from {V4} afterwards"
    );
    assert!(
        eventually(Duration::from_secs(15), || ping(lab, true, 1)),
        "no ICMPv6 answer from {V6} afterwards"
    );
    assert!(
        gen_ok(
            lab,
            &["arping", "-c", "2", "-w", "5", "-I", lab::GEN_IFACE, V4]
        ),
        "no ARP answer afterwards"
    );
    assert!(
        eventually(Duration::from_secs(15), || udp_echo_works(lab)),
        "no exact UDP echo afterwards"
    );
}

fn quiet_forwarding(lab: &Lab) {
    // The kernel of the responder namespace must not forward what the XDP program passes it
    // (IPv4 devconf is inherited from the host, which may forward).
    assert!(lab
        .exec_resp(&[
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=0",
            "net.ipv6.conf.all.forwarding=0"
        ])
        .status()
        .expect("sysctl")
        .success());
}

fn stop_and_collect(mut r: xtask::responder::Responder) -> Vec<String> {
    let status = r.stop(Duration::from_secs(10)).expect("stop responder");
    let out = r.output();
    assert!(status.success(), "responder exited with {status:?}");
    assert!(
        !out.iter().any(|l| l.contains("panicked")),
        "the responder panicked"
    );
    out
}

#[test]
fn bad_frames_get_no_answer_and_are_counted() {
    if !privileged() {
        return;
    }
    let lab = lab("rob-bad", 1);
    quiet_forwarding(&lab);
    let r = start(&lab, &default_args());
    let (tx, rx) = lab
        .in_gen(|| {
            (
                PacketSocket::open(lab::GEN_IFACE, false),
                PacketSocket::open(lab::GEN_IFACE, true),
            )
        })
        .expect("packet sockets in the generator namespace");
    let (tx, rx) = (tx.expect("send socket"), rx.expect("capture socket"));
    // The generator's kernel sees the answers to our raw requests (and may answer them, e.g.
    // port unreachable); pinned neighbour entries keep it from resolving the responder's
    // addresses meanwhile, so that every answer captured below is one to a frame we sent.
    let pin = |v: &str, on: bool| {
        if on {
            assert!(pin_neighbour(&lab, v), "ip neigh replace");
        } else {
            assert!(
                gen_ok(&lab, &["ip", "neigh", "del", v, "dev", lab::GEN_IFACE]),
                "ip neigh del"
            );
        }
    };
    pin(V4, true);
    pin(V6, true);

    // Positive controls: the capture sees answers, and answers are never longer than requests.
    let echo = good_echo4();
    assert_eq!(
        expect_answer(&tx, &rx, "ICMP echo", &echo).len(),
        echo.len()
    );
    let mut padded = echo.clone();
    padded.extend_from_slice(&[0xee; 18]);
    assert_eq!(
        expect_answer(&tx, &rx, "padded ICMP echo", &padded).len(),
        echo.len(),
        "Ethernet padding was echoed"
    );
    let a = expect_answer(
        &tx,
        &rx,
        "echo in an L2 broadcast frame",
        &echo4(BROADCAST, GEN_MAC, GEN_V4, XDP_V4, b"bcast"),
    );
    assert_eq!(
        &a[..6],
        &GEN_MAC,
        "answer not sent back to the requester's MAC"
    );
    let req = arp(BROADCAST, GEN_MAC, 1, GEN_MAC, GEN_V4, XDP_V4);
    assert_eq!(expect_answer(&tx, &rx, "ARP request", &req).len(), 42);
    let probe = arp(BROADCAST, GEN_MAC, 1, GEN_MAC, [0; 4], XDP_V4);
    let a = expect_answer(&tx, &rx, "ARP probe (RFC 5227)", &probe);
    assert_eq!(&a[38..42], &[0; 4], "probe answer must go to 0.0.0.0");
    let u = good_udp4(40010, b"udp control");
    assert_eq!(expect_answer(&tx, &rx, "UDP echo", &u).len(), u.len());
    let u6 = udp6_frame(40011, b"udp6 control");
    assert_eq!(
        expect_answer(&tx, &rx, "UDP echo over IPv6", &u6).len(),
        u6.len()
    );
    let e6 = echo6(RESP_MAC, GEN_V6, XDP_V6, 64);
    assert_eq!(expect_answer(&tx, &rx, "ICMPv6 echo", &e6).len(), e6.len());
    // A unicast NS gets the 78-byte NA Linux sends (flag S, no option); the one documented
    // growth is the answer to a bare 78-byte DAD NS, an 86-byte NA.
    let bare_ns = ns(RESP_MAC, GEN_V6, XDP_V6, 255, XDP_V6, &[]);
    assert_eq!(bare_ns.len(), 78);
    assert_eq!(expect_answer(&tx, &rx, "bare NS", &bare_ns).len(), 78);
    let g = solicited_node(&XDP_V6);
    let dad_ns = ns(multicast_mac(&g), [0; 16], g, 255, XDP_V6, &[]);
    assert_eq!(expect_answer(&tx, &rx, "bare DAD NS", &dad_ns).len(), 86);
    let full_ns = ns(multicast_mac(&g), GEN_V6, g, 255, XDP_V6, &sllao());
    assert_eq!(expect_answer(&tx, &rx, "NS with SLLAO", &full_ns).len(), 86);

    // The bad frames, one at a time: after each, exactly one counter has moved, by one (the
    // XDP program's `malformed` or `passed`, or the user-space drop reason the table names,
    // with the drop counted under the class the XDP program redirected it as), and nothing
    // from the responder arrives within the case's window. A frame of the generator's own
    // kernel arriving meanwhile (`seen` moved by more than one) makes the case run again.
    let cases = bad_frames();
    let mut failures = Vec::new();
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    let mut prev = status(&lab);
    for c in &cases {
        let mut verdict = Err("not run".to_string());
        for _attempt in 0..3 {
            // Whatever arrived since the previous case's window closed is still that case's
            // (or background) traffic: an answer from the responder there is a late answer.
            for f in rx.collect(Duration::ZERO) {
                if let Some(what) = responder_answer(&f) {
                    failures.push(format!("late answer before {:?}: {what}", c.name));
                }
            }
            let got = answers_to_no_drain(&tx, &rx, &c.frame, QUIET);
            let now = status(&lab);
            let delta = moved(&prev, &now);
            prev = now;
            if !got.is_empty() {
                verdict = Err(format!(
                    "answered with {:?}",
                    got.iter().map(|(w, _)| w).collect::<Vec<_>>()
                ));
                break;
            }
            if delta.get("xdp.seen").copied().unwrap_or(0) != 1 {
                verdict = Err(format!("other traffic during the case: {delta:?}"));
                continue;
            }
            verdict = check_case_delta(c, &delta);
            break;
        }
        match verdict {
            Ok(counter) => *counted.entry(counter).or_default() += 1,
            Err(e) => failures.push(format!("{} ({:?}): {e}", c.name, c.fate)),
        }
    }
    assert!(
        failures.is_empty(),
        "bad frames not handled as documented:\n{}",
        failures.join("\n")
    );

    // Larger than the responder's MTU (and so than what its UMEM frames are sized for): the
    // kernel drops it before the XDP program. The generator end may send it once its own MTU
    // allows (veth_xdp_set caps the peer's MTU while an XDP program is attached).
    assert!(lab
        .exec_gen(&["ip", "link", "set", "dev", lab::GEN_IFACE, "mtu", "3000"])
        .status()
        .expect("ip")
        .success());
    let big = echo4(RESP_MAC, GEN_MAC, GEN_V4, XDP_V4, &[0x42; 2000]);
    rx.drain();
    match tx.send(&big) {
        // veth reports the drop at once (is_skb_forwardable fails on the receiving end).
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {}
        Err(e) => panic!("sending a {}-byte frame: {e}", big.len()),
    }
    assert!(
        rx.collect(QUIET)
            .iter()
            .all(|f| responder_answer(f).is_none()),
        "a frame larger than the MTU was answered"
    );
    assert!(lab
        .exec_gen(&["ip", "link", "set", "dev", lab::GEN_IFACE, "mtu", "1500"])
        .status()
        .expect("ip")
        .success());

    pin(V4, false);
    pin(V6, false);
    still_answers(&lab);
    let out = stop_and_collect(r);

    let t = Totals::from_output(&out);
    // Every frame sent (cases, controls, pings, ARP and UDP afterwards) is accounted for.
    assert_accounting(&t, true);
    eprintln!("{} bad frames: {counted:?}", cases.len());
}

/// Checks the counters that moved during one bad-frame case: the frame was seen once, and
/// the one counter its fate names moved by one, with nothing else but the totals that go
/// with it (`xdp.redirected` and the class, `rx_packets`, the drop class). Returns the
/// counter's name.
fn check_case_delta(c: &Case, delta: &BTreeMap<String, i128>) -> Result<String, String> {
    let mut rest = delta.clone();
    let mut take = |key: &str| -> Result<(), String> {
        match rest.remove(key) {
            Some(1) => Ok(()),
            other => Err(format!("{key} moved by {other:?}, not 1 (all: {delta:?})")),
        }
    };
    take("xdp.seen")?;
    let name = match c.fate {
        Fate::XdpMalformed => {
            take("xdp.malformed")?;
            "xdp.malformed".to_string()
        }
        Fate::Kernel | Fate::KernelMayAnswer => {
            take("xdp.passed")?;
            "xdp.passed".to_string()
        }
        Fate::Drop(reason) => {
            let class = redirect_class(&c.frame);
            take("xdp.redirected")?;
            take(&format!("xdp.redirected_{class}"))?;
            take("rx_packets")?;
            take(&format!("drops_by_class.{class}"))?;
            let key = format!("drops.{reason}");
            take(&key)?;
            key
        }
    };
    if rest.is_empty() {
        Ok(name)
    } else {
        Err(format!("{name} moved, but so did {rest:?}"))
    }
}

/// The class the XDP program redirects a frame as, from its bytes (the frames of the table
/// have no VLAN tag or extension header in front of what is redirected).
fn redirect_class(f: &[u8]) -> &'static str {
    match (
        u16::from_be_bytes([f[12], f[13]]),
        f.get(23),
        f.get(20),
        f.get(54),
    ) {
        (0x0806, ..) => "arp",
        (0x0800, Some(1), ..) => "icmp4",
        (0x0800, Some(17), ..) => "udp",
        (0x86dd, _, Some(58), Some(135)) => "ndp",
        (0x86dd, _, Some(58), _) => "icmp6",
        (0x86dd, _, Some(17), _) => "udp",
        _ => "unknown",
    }
}

// ---------------------------------------------------------------------------------------
// Soak under flood
// ---------------------------------------------------------------------------------------

/// Seconds of flood: `XDP_SOAK_SECS`, default 12 (CI's short form).
fn soak_secs() -> f64 {
    std::env::var("XDP_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(12.0)
}

/// Datagrams each UDP flood thread sends at most (the time bound usually comes first).
const UDP_MAX_PER_THREAD: u64 = 3_000_000;
/// Raw (mutated) frames the garbage thread sends at most.
const RAW_MAX: u64 = 400_000;
const UDP_THREADS: usize = 3;
const SOCKETS_PER_THREAD: usize = 4;

#[derive(Debug, Default)]
struct FloodReport {
    udp_sent: u64,
    udp_errors: u64,
    /// Echo replies the flood sockets read back.
    udp_received: u64,
    raw_sent: u64,
}

/// Runs inside the generator namespace: UDP flood threads and one raw-frame thread, until
/// `secs` pass or their counts run out.
fn flood(secs: f64) -> FloodReport {
    use std::net::UdpSocket;
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..UDP_THREADS {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let socks: Vec<(UdpSocket, SocketAddr)> = (0..SOCKETS_PER_THREAD)
                .map(|i| {
                    let (bind, to) = if (t + i) % 2 == 0 {
                        ("0.0.0.0:0", format!("{V4}:7"))
                    } else {
                        ("[::]:0", format!("[{V6}]:7"))
                    };
                    let s = UdpSocket::bind(bind).expect("bind flood socket");
                    s.set_nonblocking(true).expect("nonblocking");
                    (s, to.parse().expect("addr"))
                })
                .collect();
            let sizes = [0usize, 18, 64, 200, 512, 1000, 1400];
            let payload = vec![0x5au8; 1400];
            let (mut sent, mut errors, mut received) = (0u64, 0u64, 0u64);
            let mut buf = [0u8; 2048];
            while sent + errors < UDP_MAX_PER_THREAD
                && !stop.load(Ordering::Relaxed)
                && Instant::now() < deadline
            {
                for (k, (s, to)) in socks.iter().enumerate() {
                    match s.send_to(&payload[..sizes[(sent as usize + k) % sizes.len()]], to) {
                        Ok(_) => sent += 1,
                        Err(_) => errors += 1,
                    }
                    // Read replies now and then so the sockets do not only fill up.
                    while s.recv_from(&mut buf).is_ok() {
                        received += 1;
                    }
                }
            }
            // The last replies, still on their way.
            std::thread::sleep(Duration::from_millis(200));
            for (s, _) in &socks {
                while s.recv_from(&mut buf).is_ok() {
                    received += 1;
                }
            }
            (sent, errors, received)
        }));
    }
    let raw = std::thread::spawn(move || {
        let tx = PacketSocket::open(lab::GEN_IFACE, false).expect("raw flood socket");
        let g = solicited_node(&XDP_V6);
        let templates = [
            good_echo4(),
            good_udp4(40020, b"raw flood"),
            arp(BROADCAST, GEN_MAC, 1, GEN_MAC, GEN_V4, XDP_V4),
            echo6(RESP_MAC, GEN_V6, XDP_V6, 64),
            udp6_frame(40021, b"raw flood v6"),
            ns(multicast_mac(&g), GEN_V6, g, 255, XDP_V6, &sllao()),
        ];
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut sent = 0u64;
        while sent < RAW_MAX && Instant::now() < deadline {
            let mut f = templates[(rng.next_u64() % templates.len() as u64) as usize].clone();
            // Up to three byte flips in the headers, sometimes a cut, sometimes left whole.
            for _ in 0..rng.next_u64() % 4 {
                let at = (rng.next_u64() % f.len().min(80) as u64) as usize;
                f[at] ^= 1 << (rng.next_u64() % 8);
            }
            if rng.next_u64().is_multiple_of(8) {
                let keep = 14 + (rng.next_u64() % (f.len() as u64 - 13)) as usize;
                f.truncate(keep);
            }
            // Never spoof the responder's own MAC as a source: the veth would not care, but
            // a switch would, and it proves nothing.
            if f[6..12] == RESP_MAC {
                f[6..12].copy_from_slice(&GEN_MAC);
            }
            if tx.send(&f).is_ok() {
                sent += 1;
            }
        }
        sent
    });
    let mut report = FloodReport::default();
    for t in threads {
        let (s, e, r) = t.join().expect("flood thread");
        report.udp_sent += s;
        report.udp_errors += e;
        report.udp_received += r;
    }
    stop.store(true, Ordering::Relaxed);
    report.raw_sent = raw.join().expect("raw flood thread");
    report
}

/// The command name of process `pid` (`/proc/PID/comm`), if it exists.
fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().to_string())
        .ok()
}

#[test]
fn soak_flood_keeps_accounting_exact_and_memory_flat() {
    if !privileged() {
        return;
    }
    let secs = soak_secs();
    let lab = lab("rob-soak", 2);
    quiet_forwarding(&lab);
    let mut args = default_args();
    if let Some(i) = args.iter().position(|a| a == "--duration") {
        args[i + 1] = format!("{}", secs.ceil() as u64 + 300);
    }
    let r = start(&lab, &args);
    let pid = r.pid();
    assert_eq!(
        comm(pid).as_deref(),
        Some("xdp-responder"),
        "pid {pid} is not the responder"
    );
    assert!(
        ping(&lab, false, 1) && ping(&lab, true, 1),
        "no answers before the flood"
    );

    // RSS sampled every 100 ms from now until the flood is over.
    let sampling = Arc::new(AtomicBool::new(true));
    // Ends the sampler even if the test panics before it clears the flag.
    let _sampling_guard = ClearOnDrop(sampling.clone());
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    samples.push((start.elapsed(), kib));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            samples
        })
    };

    let w = format!("{}", secs.ceil() as u64);
    let pings: Vec<KillOnDrop> = [
        vec!["ping", "-q", "-i", "0.01", "-w", &w, V4],
        vec!["ping", "-6", "-q", "-i", "0.01", "-w", &w, V6],
    ]
    .iter()
    .map(|a| KillOnDrop::spawn_quiet(lab.exec_gen(a)))
    .collect();
    let report = lab
        .in_gen(move || flood(secs))
        .expect("flood in the generator namespace");
    for p in pings {
        // Bounded by -w; a ping still running long after is killed (on drop).
        p.wait_or_kill(Duration::from_secs(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.join().expect("sampler");
    let mut r = r;
    assert!(
        r.try_status().expect("responder status").is_none(),
        "the responder exited during the flood"
    );
    assert_eq!(
        comm(pid).as_deref(),
        Some("xdp-responder"),
        "the responder died during the flood"
    );
    eprintln!("flood for {secs} s: {report:?}");

    // Memory stays flat: after a warm-up second, RSS grows by at most 8 MiB.
    let warm = samples
        .iter()
        .find(|(t, _)| *t >= Duration::from_secs(1))
        .or(samples.first())
        .map(|(_, k)| *k)
        .expect("RSS samples");
    let peak = samples.iter().map(|(_, k)| *k).max().unwrap_or(warm);
    let last = samples.last().map(|(_, k)| *k).unwrap_or(warm);
    eprintln!(
        "RSS: {} samples, after warm-up {warm} KiB, peak {peak} KiB, last {last} KiB",
        samples.len()
    );
    assert!(
        peak <= warm + 8 * 1024,
        "RSS grew from {warm} KiB to {peak} KiB under flood"
    );

    still_answers(&lab);
    let t = Totals::from_output(&stop_and_collect(r));
    assert_accounting(&t, false);
    // A flood happened: the senders got datagrams out at a rate no test traffic reaches (a
    // loaded 2-vCPU VM sends well over 20k/s), ...
    let min_sent = (2_000.0 * secs) as u64;
    assert!(
        report.udp_sent >= min_sent,
        "the flood sent only {} datagrams in {secs} s (at least {min_sent} expected): {report:?}",
        report.udp_sent
    );
    assert!(
        report.raw_sent >= min_sent / 10,
        "the raw flood sent only {} frames: {report:?}",
        report.raw_sent
    );
    // ... it reached the responder and was answered: every reply the senders read was one the
    // responder counted, and at least 1% of what was sent came back.
    let udp_answers = t.answer("udp4") + t.answer("udp6");
    let redirected_udp = t.xdp("redirected_udp");
    assert!(
        udp_answers >= report.udp_received,
        "the senders read {} replies but the responder counted {udp_answers} UDP answers",
        report.udp_received
    );
    assert!(
        report.udp_received * 100 >= report.udp_sent,
        "only {} of {} datagrams were answered",
        report.udp_received,
        report.udp_sent
    );
    assert!(
        redirected_udp <= report.udp_sent + report.raw_sent,
        "the XDP program redirected {redirected_udp} UDP frames, more than the {} sent",
        report.udp_sent + report.raw_sent
    );
    let lost = t.xsk("rx_dropped") + t.xsk("rx_ring_full") + t.get("tx_ring_full");
    eprintln!(
        "soak: sent {} UDP + {} raw, responder received {} and answered {udp_answers} UDP, {lost} lost in the sockets or at a full TX ring",
        report.udp_sent,
        report.raw_sent,
        t.get("rx_packets")
    );
}

/// Pings `count` times at `interval` seconds from the generator (IPv4 or IPv6), all runs at
/// once; returns each run's replies and the longest run's wall time.
fn concurrent_pings(lab: &Lab, runs: &[bool], count: u32, interval: f64) -> (Vec<u64>, Duration) {
    let started = Instant::now();
    let handles: Vec<_> = runs
        .iter()
        .map(|&v6| {
            let mut args: Vec<String> = [
                "ping",
                "-c",
                &count.to_string(),
                "-i",
                &interval.to_string(),
                "-W",
                "1",
            ]
            .map(String::from)
            .to_vec();
            if v6 {
                args.insert(1, "-6".into());
            }
            args.push(if v6 { V6 } else { V4 }.into());
            let mut cmd = lab.exec_gen(&args);
            die_with_parent(&mut cmd);
            std::thread::spawn(move || cmd.output().expect("ping"))
        })
        .collect();
    let outs: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("ping thread"))
        .collect();
    let wall = started.elapsed();
    (outs.iter().map(ping_received).collect(), wall)
}

/// The answers a token bucket allows over a run of requests: its burst plus its rate over
/// the run's span, which lies between what the request interval implies and the wall time.
fn bucket_bounds(burst: u64, rate: f64, min_span: f64, wall: Duration) -> (u64, u64) {
    let lo = burst + (rate * min_span).floor() as u64;
    let hi = burst + (rate * wall.as_secs_f64()).ceil() as u64;
    (lo.saturating_sub(1), hi + 1)
}

/// A run of echo requests against `--echo-rate`, as [`rate_limited_pings`] leaves it.
struct RateRun {
    lab: Lab,
    responder: Responder,
    /// The responder's counters before the pings and after them.
    before: Totals,
    after: Totals,
    /// Replies each pinger got: IPv4, then IPv6.
    received: Vec<u64>,
    /// The longest pinger's wall time, and the span its request interval implies.
    wall: Duration,
    min_span: f64,
}

/// Starts the responder with `--echo-rate echo_rate` in a lab of its own, resolves both
/// neighbours first (so that no echo request waits for resolution), waits until the buckets
/// are full again, then pings `count` times 50 ms apart from an IPv4 and an IPv6 source at once.
fn rate_limited_pings(name: &str, echo_rate: &str, count: u32) -> RateRun {
    let interval = 0.05;
    let lab = lab(name, 1);
    let mut args = default_args();
    args.extend(["--echo-rate", echo_rate].map(String::from));
    let responder = start(&lab, &args);
    gen_ok(&lab, &["ping", "-c", "1", "-W", "2", V4]);
    gen_ok(&lab, &["ping", "-6", "-c", "1", "-W", "2", V6]);
    std::thread::sleep(Duration::from_secs(2));
    let before = status(&lab);
    let (received, wall) = concurrent_pings(&lab, &[false, true], count, interval);
    let after = status(&lab);
    RateRun {
        lab,
        responder,
        before,
        after,
        received,
        wall,
        min_span: f64::from(count - 1) * interval,
    }
}

/// `--echo-rate`: each source pinging faster than its limit gets its burst plus the rate over
/// the time it pinged, the rest counted as `rate_limited`; two sources have a bucket each;
/// address resolution (ARP, NDP) is never limited.
#[test]
fn echo_rate_limit_holds_back_fast_pingers() {
    if !privileged() {
        return;
    }
    // 40 requests 50 ms apart from each of two sources (IPv4 and IPv6), against 5/s, burst 5.
    let count = 40;
    let RateRun {
        lab,
        responder: r,
        before,
        after: mid,
        received,
        wall,
        min_span,
    } = rate_limited_pings("ratelimit", "5/5", count);
    let (lo, hi) = bucket_bounds(5, 5.0, min_span, wall);
    for (i, (kind, got)) in [("icmp4_echo", received[0]), ("icmp6_echo", received[1])]
        .into_iter()
        .enumerate()
    {
        let answered = mid.answer(kind) - before.answer(kind);
        assert_eq!(
            answered, got,
            "{kind}: answers counted vs replies the pinger got"
        );
        assert!(
            (lo..=hi).contains(&answered),
            "source {i} ({kind}): {answered} of {count} answered in {wall:?} at 5/s, burst 5; expected {lo}..={hi}"
        );
    }
    let limited = mid.drop("rate_limited") - before.drop("rate_limited");
    let answered = received.iter().sum::<u64>();
    assert_eq!(
        answered + limited,
        2 * u64::from(count),
        "every echo request is either answered or limited"
    );

    // ARP and NDP at 100/s: all answered, none limited.
    let (tx, g) = (
        lab.in_gen(|| PacketSocket::open(lab::GEN_IFACE, false))
            .expect("namespace")
            .expect("send socket"),
        solicited_node(&XDP_V6),
    );
    let arp_req = arp(BROADCAST, GEN_MAC, 1, GEN_MAC, GEN_V4, XDP_V4);
    let ns_req = ns(multicast_mac(&g), GEN_V6, g, 255, XDP_V6, &sllao());
    for _ in 0..30 {
        tx.send(&arp_req).expect("send ARP");
        tx.send(&ns_req).expect("send NS");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(QUIET);
    let after = status(&lab);
    for (kind, class) in [("arp", "arp"), ("ndp", "ndp")] {
        assert!(
            after.answer(kind) - mid.answer(kind) >= 30,
            "{kind}: {} of 30 answered",
            after.answer(kind) - mid.answer(kind)
        );
        assert_eq!(after.drop_class(class), 0, "{kind} frames dropped");
    }
    let t = Totals::from_output(&stop_and_collect(r));
    assert_accounting(&t, true);
}

/// `--echo-rate RATE/BURST/TOTAL`: the global bucket caps the answers to all sources
/// together, whatever each source's own allowance.
#[test]
fn echo_rate_global_limit_caps_all_sources() {
    if !privileged() {
        return;
    }
    let count = 20;
    let RateRun {
        responder: r,
        before,
        after,
        received,
        wall,
        min_span,
        ..
    } = rate_limited_pings("ratetotal", "1000/1000/5", count);
    let answered: u64 = received.iter().sum();
    let (lo, hi) = bucket_bounds(5, 5.0, min_span, wall);
    assert!(
        (lo..=hi).contains(&answered),
        "{answered} of {} answered from two sources in {wall:?} under a global 5/s, burst 5; expected {lo}..={hi}",
        2 * count
    );
    assert_eq!(
        after.drop("rate_limited") - before.drop("rate_limited") + answered,
        2 * u64::from(count)
    );
    let t = Totals::from_output(&stop_and_collect(r));
    assert_accounting(&t, true);
}
