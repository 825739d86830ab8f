//! Linux fidelity, live: the same crafted frame goes to the responder (198.18.0.2, 2001:2::2)
//! and to the Linux stack of the responder's namespace (198.18.0.3, 2001:2::3, with a UDP
//! echo socket on port 7), and the two answers are compared field by field: where Linux
//! answers we answer the same way, where Linux does not we do not either (docs/ROBUSTNESS.md,
//! "Linux fidelity"). Frames are sent and captured with packet sockets in the generator
//! namespace.
//!
//! Run with `--test-threads=1` (the tests share kernel state). Bounded in count and time.
use std::{
    net::UdpSocket,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use integration_tests::{frames::*, raw::PacketSocket, *};
use xdp_testkit::frame::sllao;

const KERNEL_V6: [u8; 16] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];
/// A source address nobody owns, for solicitations whose answer must not depend on the
/// kernel's neighbour entry of the generator.
const LONE_V6: [u8; 16] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x77];
/// A MAC that is neither end of the veth: where the request says it wants the answer.
const OTHER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];
/// How long to wait for an answer (the kernel may first resolve the requester).
const WAIT: Duration = Duration::from_secs(2);
/// How long to watch for an answer that must not come.
const QUIET: Duration = Duration::from_millis(300);

struct Link {
    tx: PacketSocket,
    rx: PacketSocket,
}

/// The failure when the kernel and we differ in whether `what` was answered at all.
fn answered_differently(
    what: impl std::fmt::Display,
    k: &Option<Vec<u8>>,
    o: &Option<Vec<u8>>,
) -> String {
    format!(
        "{what}: kernel answered {}, we answered {}",
        k.is_some(),
        o.is_some()
    )
}

impl Link {
    /// Sends `frame` and returns the first frame within `wait` that `want` accepts.
    fn exchange(
        &self,
        frame: &[u8],
        wait: Duration,
        want: impl Fn(&[u8]) -> bool,
    ) -> Option<Vec<u8>> {
        self.rx.drain();
        self.tx.send(frame).expect("send a crafted frame");
        let deadline = Instant::now() + wait;
        while let Some(f) = self
            .rx
            .recv(deadline.saturating_duration_since(Instant::now()))
        {
            if want(&f) {
                return Some(f);
            }
        }
        None
    }
}

/// Builds a request addressed to one of the two targets.
type FrameFor = fn(Target) -> Vec<u8>;

/// The two targets of every comparison.
#[derive(Clone, Copy)]
struct Target {
    v4: [u8; 4],
    v6: [u8; 16],
}
const KERNEL: Target = Target {
    v4: KERNEL_V4,
    v6: KERNEL_V6,
};
const OURS: Target = Target {
    v4: XDP_V4,
    v6: XDP_V6,
};

fn ihl(f: &[u8]) -> usize {
    usize::from(f[14] & 0x0f) * 4
}

/// An ICMPv4 message from `from` (any type).
fn icmp4_from(from: [u8; 4]) -> impl Fn(&[u8]) -> bool {
    move |f| f.len() >= 42 && f[12..14] == [8, 0] && f[23] == 1 && f[26..30] == from
}

fn echo_reply4_from(from: [u8; 4]) -> impl Fn(&[u8]) -> bool {
    move |f| icmp4_from(from)(f) && f.get(14 + ihl(f)) == Some(&0)
}

fn udp4_from(from: [u8; 4]) -> impl Fn(&[u8]) -> bool {
    move |f| f.len() >= 42 && f[12..14] == [8, 0] && f[23] == 17 && f[26..30] == from
}

fn arp_reply_from(from: [u8; 4]) -> impl Fn(&[u8]) -> bool {
    move |f| f.len() >= 42 && f[12..14] == [8, 6] && f[20..22] == [0, 2] && f[28..32] == from
}

/// IPv6 from `from` with next header `next` and, for ICMPv6, first byte `ty`.
fn v6_from(from: [u8; 16], next: u8, ty: Option<u8>) -> impl Fn(&[u8]) -> bool {
    move |f| {
        f.len() >= 62
            && f[12..14] == [0x86, 0xdd]
            && f[20] == next
            && f[22..38] == from
            && ty.is_none_or(|t| f[54] == t)
    }
}

/// `b` with every 4-byte run equal to the kernel's address replaced by ours.
fn as_ours(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    for i in 0..v.len().saturating_sub(3) {
        if v[i..i + 4] == KERNEL_V4 {
            v[i..i + 4].copy_from_slice(&XDP_V4);
        }
    }
    v
}

/// `opts` (echoed options) with each time a timestamp option recorded replaced by `TIME`
/// when it is within 10 s of this machine's clock (milliseconds since midnight UTC), so
/// answers recorded at different moments compare equal and implausible times do not.
fn mask_times(opts: &[u8]) -> Vec<u8> {
    const TIME: [u8; 4] = [0xee; 4];
    let mut v = opts.to_vec();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let now = ((now.as_secs() % 86_400) * 1000 + u64::from(now.subsec_millis())) as i64;
    let mut i = 0;
    while i + 1 < v.len() {
        match v[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let len = usize::from(v[i + 1]).max(2);
                if kind == 68 && len >= 4 && i + len <= v.len() {
                    let (pointer, flags) = (usize::from(v[i + 2]), v[i + 3] & 0x0f);
                    // Time slots: every 4 bytes from 5 (flag 0), every second one (1, 3).
                    let (first, step) = if flags == 0 { (4, 4) } else { (8, 8) };
                    let mut at = first;
                    while at + 4 <= len && at < pointer.saturating_sub(1) {
                        let s = i + at;
                        let t = i64::from(u32::from_be_bytes([v[s], v[s + 1], v[s + 2], v[s + 3]]));
                        let d = (t - now).rem_euclid(86_400_000);
                        if d.min(86_400_000 - d) <= 10_000 {
                            v[s..s + 4].copy_from_slice(&TIME);
                        }
                        at += step;
                    }
                }
                i += len;
            }
        }
    }
    v
}

fn echo4_to(t: Target, tos: u8, options: &[u8]) -> Vec<u8> {
    let ip = xdp_wire::ipv4::Repr {
        dscp_ecn: tos,
        flags_frag: 0,
        ..ip4(GEN_V4, t.v4, 1)
    };
    let echo = icmp4(8, 0, &echo_body(0x4242, 1, b"fidelity"));
    ipv4(RESP_MAC, GEN_MAC, &ip, options, &echo)
}

fn udp4_to(t: Target, tos: u8, frag: u16, options: &[u8]) -> Vec<u8> {
    let ip = xdp_wire::ipv4::Repr {
        dscp_ecn: tos,
        flags_frag: frag,
        ..ip4(GEN_V4, t.v4, 17)
    };
    let udp = udp4(GEN_V4, t.v4, 40123, 7, b"fidelity over udp");
    ipv4(RESP_MAC, GEN_MAC, &ip, options, &udp)
}

/// Version, traffic class and flow label word `vtf` on an IPv6 frame.
fn with_vtf(mut f: Vec<u8>, vtf: u32) -> Vec<u8> {
    f[14..18].copy_from_slice(&vtf.to_be_bytes());
    f
}

fn class(f: &[u8]) -> u8 {
    (f[14] << 4) | (f[15] >> 4)
}

fn flow(f: &[u8]) -> u32 {
    u32::from_be_bytes([0, f[15] & 0x0f, f[16], f[17]])
}

fn ns_to(eth_dst: [u8; 6], src: [u8; 16], dst: [u8; 16], target: [u8; 16], opts: &[u8]) -> Vec<u8> {
    ns_frame(eth_dst, GEN_MAC, src, dst, 255, target, opts)
}

/// What an NA says, with the target-specific parts left out: Ethernet destination, IPv6
/// destination, traffic class/flow label word, payload length, flags, options.
fn na_shape(f: &[u8]) -> ([u8; 6], [u8; 16], [u8; 4], u16, u8, Vec<u8>) {
    (
        f[0..6].try_into().unwrap(),
        f[38..54].try_into().unwrap(),
        f[14..18].try_into().unwrap(),
        u16::from_be_bytes([f[18], f[19]]),
        f[58],
        f[78..].to_vec(),
    )
}

/// The resp namespace's kernel forgets its neighbours, so each solicitation starts afresh.
fn flush_neighbours(lab: &Lab) {
    let out = lab
        .exec_resp(&["ip", "neigh", "flush", "dev", lab::RESP_IFACE])
        .output()
        .expect("ip neigh flush");
    assert!(out.status.success(), "ip neigh flush failed");
}

/// A Linux UDP echo service on the kernel's addresses, port 7, until `stop` (at most 60 s).
fn kernel_udp_echo(lab: &Lab, stop: Arc<AtomicBool>) -> Vec<thread::JoinHandle<()>> {
    ["198.18.0.3:7", "[2001:2::3]:7"]
        .into_iter()
        .map(|addr| {
            let sock = lab
                .in_resp(move || UdpSocket::bind(addr))
                .expect("enter the responder namespace")
                .expect("bind the kernel's UDP echo socket");
            sock.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("read timeout");
            let stop = stop.clone();
            thread::spawn(move || {
                let end = Instant::now() + Duration::from_secs(60);
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                        let _ = sock.send_to(&buf[..n], peer);
                    }
                }
            })
        })
        .collect()
}

#[test]
fn answers_match_the_linux_stacks() {
    if !privileged() {
        return;
    }
    let lab = lab("fidelity", 1);
    let stop = Arc::new(AtomicBool::new(false));
    let echo_threads = kernel_udp_echo(&lab, stop.clone());
    let mut r = start(&lab, &default_args());
    let (tx, rx) = lab
        .in_gen(|| {
            (
                PacketSocket::open(lab::GEN_IFACE, false),
                PacketSocket::open(lab::GEN_IFACE, true),
            )
        })
        .expect("packet sockets in the generator namespace");
    let link = Link {
        tx: tx.expect("send socket"),
        rx: rx.expect("capture socket"),
    };
    let mut failures: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };

    // ICMP echo: TOS byte (with ECN CE) and DF as the kernel's reply has them.
    for tos in [0x03u8, 0xb9] {
        let k = link.exchange(
            &echo4_to(KERNEL, tos, &[]),
            WAIT,
            echo_reply4_from(KERNEL_V4),
        );
        let o = link.exchange(&echo4_to(OURS, tos, &[]), WAIT, echo_reply4_from(XDP_V4));
        match (k, o) {
            (Some(k), Some(o)) => check(
                (k[15], k[20] & 0x40) == (o[15], o[20] & 0x40),
                format!(
                    "ICMP echo TOS {tos:#04x}: kernel TOS {:#04x} DF {}, ours TOS {:#04x} DF {}",
                    k[15],
                    k[20] & 0x40 != 0,
                    o[15],
                    o[20] & 0x40 != 0
                ),
            ),
            (k, o) => check(
                false,
                answered_differently(format!("ICMP echo TOS {tos:#04x}"), &k, &o),
            ),
        }
    }

    // IPv4 options: accepted ones are answered by both, with the options Linux echoes (the
    // kernel's address in them read as ours; our header may be longer, END-padded); rejected
    // ones by neither.
    let mut ping_r = vec![1u8, 7, 39, 4];
    ping_r.resize(40, 0);
    let options: &[(&str, &[u8], bool)] = &[
        ("RR with room", &[7, 7, 4, 0, 0, 0, 0, 0], true),
        (
            "RR with two slots",
            &[7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            true,
        ),
        ("ping -R", &ping_r, true),
        ("RR full", &[7, 7, 8, 1, 2, 3, 4, 0], true),
        ("TS full, overflow 14", &[68, 8, 9, 0xe0, 1, 2, 3, 4], true),
        (
            "TS full, then RR full",
            &[68, 8, 9, 0, 1, 2, 3, 4, 7, 7, 8, 5, 6, 7, 8, 0],
            true,
        ),
        ("router alert", &[148, 4, 0, 0], true),
        ("unknown option 0x9e", &[0x9e, 4, 0xab, 0xcd], true),
        ("TS with room", &[68, 8, 5, 0, 0, 0, 0, 0], true),
        (
            "TS with room for two",
            &[68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            true,
        ),
        (
            "TS address and time, two entries",
            &[68, 20, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            true,
        ),
        (
            "TS prespecified, the target twice",
            &[
                68, 20, 5, 3, 198, 18, 0, 3, 0, 0, 0, 0, 198, 18, 0, 3, 0, 0, 0, 0,
            ],
            true,
        ),
        (
            "TS prespecified, another host first",
            &[
                68, 20, 5, 3, 198, 18, 0, 1, 0, 0, 0, 0, 198, 18, 0, 3, 0, 0, 0, 0,
            ],
            true,
        ),
        (
            "TS address and time, 4 bytes left after one entry",
            &[68, 16, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            false,
        ),
        (
            "RR with 1 byte after a slot",
            &[7, 8, 4, 0, 0, 0, 0, 0],
            false,
        ),
        ("RR pointer 3", &[7, 7, 3, 0, 0, 0, 0, 0], false),
        (
            "RR pointer inside, no room",
            &[7, 7, 5, 0, 0, 0, 0, 0],
            false,
        ),
        (
            "RR twice",
            &[7, 7, 4, 0, 0, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0, 0],
            false,
        ),
        ("TS pointer 4", &[68, 8, 4, 0, 0, 0, 0, 0], false),
        ("TS full, overflow 15", &[68, 8, 9, 0xf0, 1, 2, 3, 4], false),
        ("router alert length 2", &[148, 2, 0, 0], false),
        ("CIPSO", &[134, 8, 0, 0, 0, 1, 1, 2], false),
        ("LSRR", &[131, 7, 4, 198, 18, 0, 1, 0], false),
        ("SSRR pointer 3", &[137, 7, 3, 198, 18, 0, 1, 0], false),
    ];
    for (what, opts, answered) in options {
        let wait = if *answered { WAIT } else { QUIET };
        let k = link.exchange(
            &echo4_to(KERNEL, 0, opts),
            wait,
            echo_reply4_from(KERNEL_V4),
        );
        check(
            k.is_some() == *answered,
            format!(
                "options {what}: the kernel answered {}, the table says {answered}",
                k.is_some()
            ),
        );
        // The kernel's address in a prespecified timestamp is ours in the request to us.
        let opts_ours = as_ours(opts);
        let o = link.exchange(&echo4_to(OURS, 0, &opts_ours), wait, icmp4_from(XDP_V4));
        check(
            o.is_some() == k.is_some(),
            answered_differently(format!("options {what}"), &k, &o),
        );
        if let (Some(k), Some(o)) = (&k, &o) {
            let kopts = mask_times(&as_ours(&k[34..14 + ihl(k)]));
            let oopts = &mask_times(&o[34..14 + ihl(o)])[..];
            check(
                oopts.starts_with(&kopts) && oopts[kopts.len()..].iter().all(|&b| b == 0),
                format!("options {what}: kernel echoed {kopts:02x?}, we {oopts:02x?}"),
            );
        }
    }

    // UDP over IPv4: a Linux socket's reply has TOS 0 and DF.
    for (tos, frag) in [(0x03u8, 0u16), (0xbb, 0x4000)] {
        let k = link.exchange(&udp4_to(KERNEL, tos, frag, &[]), WAIT, udp4_from(KERNEL_V4));
        let o = link.exchange(&udp4_to(OURS, tos, frag, &[]), WAIT, udp4_from(XDP_V4));
        match (k, o) {
            (Some(k), Some(o)) => {
                // The ID is not compared: Linux draws it from hashed counters.
                let fields = |f: &[u8]| (f[15], f[20] & 0xe0, ihl(f));
                check(
                    fields(&k) == fields(&o),
                    format!(
                        "UDP TOS {tos:#04x}: kernel (TOS, flags, IHL) {:?}, ours {:?}",
                        fields(&k),
                        fields(&o)
                    ),
                );
            }
            (k, o) => check(false, answered_differently("UDP", &k, &o)),
        }
    }
    // With IP options a Linux socket answers without them, and so do we: header, lengths and
    // datagram compared (not the ID, see above), the checksums verified here.
    for (what, opts) in [
        ("NOPs", &[1u8, 1, 1, 0][..]),
        ("router alert", &[148, 4, 0, 0]),
        ("RR with room", &[7, 7, 4, 0, 0, 0, 0, 0]),
        ("TS with room", &[68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ] {
        let k = link.exchange(&udp4_to(KERNEL, 0, 0, opts), WAIT, udp4_from(KERNEL_V4));
        let o = link.exchange(&udp4_to(OURS, 0, 0, opts), WAIT, udp4_from(XDP_V4));
        match (k, o) {
            (Some(k), Some(o)) => {
                // Version/IHL, TOS, total length, flags, TTL, protocol; then the datagram
                // from the UDP header on, ports included, its checksum left out (it covers
                // the source address, which differs) and verified on its own.
                let fields = |f: &[u8]| {
                    let ip = &f[14..];
                    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
                    let mut dgram = f.get(14 + ihl(f)..14 + total).map(<[u8]>::to_vec);
                    if let Some(d) = dgram.as_mut().filter(|d| d.len() >= 8) {
                        d[6..8].fill(0);
                    }
                    (
                        [ip[0], ip[1], ip[2], ip[3], ip[6] & 0xe0, ip[8], ip[9]],
                        f.len().min(14 + total) - 14,
                        dgram,
                    )
                };
                let valid = |f: &[u8]| {
                    let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
                    let (ip, udp) = (&f[14..34], &f[34..(14 + total).min(f.len())]);
                    xdp_testkit::reference::sum(&[ip]) == 0xffff
                        && xdp_testkit::reference::sum(&[
                            &ip[12..20],
                            &[0, 17],
                            &(udp.len() as u16).to_be_bytes(),
                            udp,
                        ]) == 0xffff
                };
                check(
                    fields(&k) == fields(&o) && valid(&k) && valid(&o),
                    format!(
                        "UDP with options {what}: kernel {:02x?}, ours {:02x?} (checksums valid {})",
                        fields(&k),
                        fields(&o),
                        valid(&o)
                    ),
                );
            }
            (k, o) => check(
                false,
                answered_differently(format!("UDP with options {what}"), &k, &o),
            ),
        }
    }

    // UDP over IPv6 behind a hop-by-hop header (PadN): Linux delivers it and its socket answers
    // without the header; the XDP program passes extension headers to the kernel, which does
    // not own our address, so we do not answer (docs/ROBUSTNESS.md).
    let hbh_udp6 = |t: Target| {
        let mut l4 = vec![17u8, 0, 1, 4, 0, 0, 0, 0];
        l4.extend_from_slice(&udp6(GEN_V6, t.v6, 40125, 7, b"hop-by-hop"));
        ipv6(RESP_MAC, GEN_MAC, GEN_V6, t.v6, 0, 64, &l4)
    };
    let k = link.exchange(&hbh_udp6(KERNEL), WAIT, v6_from(KERNEL_V6, 17, None));
    check(
        k.as_ref()
            .is_some_and(|k| u16::from_be_bytes([k[18], k[19]]) == 8 + 10),
        format!(
            "UDP over IPv6 with hop-by-hop: the kernel's answer {k:02x?} is not 18 bytes of UDP"
        ),
    );
    let o = link.exchange(&hbh_udp6(OURS), QUIET, v6_from(XDP_V6, 17, None));
    check(
        o.is_none(),
        "UDP over IPv6 with hop-by-hop: we answered (update docs/ROBUSTNESS.md)".into(),
    );

    // IPv6: traffic class as the kernel sets it; the request's flow label never reflected.
    let vtf = 0x6031_2345u32; // class 0x03, label 0x12345
    for (what, next, ty) in [
        ("ICMPv6 echo", 58u8, Some(129u8)),
        ("UDP over IPv6", 17, None),
    ] {
        let frame = |t: Target| {
            let l4 = if next == 58 {
                icmp6(GEN_V6, t.v6, 128, 0, &echo_body(0x4343, 2, b"fidelity v6"))
            } else {
                udp6(GEN_V6, t.v6, 40124, 7, b"fidelity v6 udp")
            };
            with_vtf(ipv6(RESP_MAC, GEN_MAC, GEN_V6, t.v6, next, 64, &l4), vtf)
        };
        let k = link.exchange(&frame(KERNEL), WAIT, v6_from(KERNEL_V6, next, ty));
        let o = link.exchange(&frame(OURS), WAIT, v6_from(XDP_V6, next, ty));
        match (k, o) {
            (Some(k), Some(o)) => {
                check(
                    class(&k) == class(&o),
                    format!(
                        "{what}: kernel class {:#04x}, ours {:#04x}",
                        class(&k),
                        class(&o)
                    ),
                );
                check(
                    flow(&k) != 0x12345 && flow(&o) != 0x12345,
                    format!(
                        "{what}: flow label reflected (kernel {:#x}, ours {:#x})",
                        flow(&k),
                        flow(&o)
                    ),
                );
            }
            (k, o) => check(false, answered_differently(what, &k, &o)),
        }
    }

    // ARP: to the sender hardware address, also for a probe; hardware type 6 (IEEE 802) is
    // accepted on Ethernet and answered with type 1; type 2 is answered by neither.
    for (what, spa, htype) in [
        ("request", GEN_V4, 1u16),
        ("probe", [0u8; 4], 1),
        ("request, hardware type 6", GEN_V4, 6),
        ("probe, hardware type 6", [0u8; 4], 6),
        ("request, hardware type 2", GEN_V4, 2),
    ] {
        let frame = |t: Target| {
            let mut f = arp(BROADCAST, GEN_MAC, 1, OTHER_MAC, spa, t.v4);
            f[14..16].copy_from_slice(&htype.to_be_bytes());
            f
        };
        let k = link.exchange(&frame(KERNEL), WAIT, arp_reply_from(KERNEL_V4));
        let wait = if k.is_some() { WAIT } else { QUIET };
        let o = link.exchange(&frame(OURS), wait, arp_reply_from(XDP_V4));
        check(
            k.is_some() == (htype != 2),
            format!("ARP {what}: the kernel answered {}", k.is_some()),
        );
        match (k, o) {
            (None, None) => {}
            (Some(k), Some(o)) => {
                // Ethernet destination, hardware/protocol header, op, sha, tha, tpa.
                let shape = |f: &[u8]| [&f[0..6], &f[14..22], &f[22..28], &f[32..42]].concat();
                check(
                    shape(&k) == shape(&o),
                    format!(
                        "ARP {what}: kernel {:02x?}, ours {:02x?}",
                        shape(&k),
                        shape(&o)
                    ),
                );
            }
            (k, o) => check(false, answered_differently(format!("ARP {what}"), &k, &o)),
        }
    }

    // Neighbor Solicitations.
    let na_from = |t: [u8; 16]| v6_from(t, 58, Some(136));
    let cases: [(&str, FrameFor); 6] = [
        ("unicast NS without SLLAO", |t: Target| {
            ns_to(RESP_MAC, GEN_V6, t.v6, t.v6, &[])
        }),
        ("unicast NS with SLLAO", |t: Target| {
            ns_to(RESP_MAC, LONE_V6, t.v6, t.v6, &sllao(OTHER_MAC))
        }),
        ("multicast NS with SLLAO", |t: Target| {
            let g = solicited_node(&t.v6);
            ns_to(multicast_mac(&g), LONE_V6, g, t.v6, &sllao(OTHER_MAC))
        }),
        ("DAD NS", |t: Target| {
            let g = solicited_node(&t.v6);
            ns_to(multicast_mac(&g), [0; 16], g, t.v6, &[])
        }),
        ("multicast NS without SLLAO", |t: Target| {
            let g = solicited_node(&t.v6);
            ns_to(multicast_mac(&g), LONE_V6, g, t.v6, &[])
        }),
        ("NS with a 16-byte SLLAO", |t: Target| {
            let g = solicited_node(&t.v6);
            let mut o = vec![1, 2];
            o.extend_from_slice(&OTHER_MAC);
            o.extend_from_slice(&[0; 8]);
            ns_to(multicast_mac(&g), LONE_V6, g, t.v6, &o)
        }),
    ];
    for (what, frame) in &cases {
        flush_neighbours(&lab);
        let k = link.exchange(&frame(KERNEL), WAIT, na_from(KERNEL_V6));
        let wait = if k.is_some() { WAIT } else { QUIET };
        let o = link.exchange(&frame(OURS), wait, na_from(XDP_V6));
        match (k, o) {
            (Some(k), Some(o)) => {
                let (mut ks, mut os) = (na_shape(&k), na_shape(&o));
                // The target link-layer address is RESP_MAC in both: compare it as it is.
                ks.5.truncate(8);
                os.5.truncate(8);
                check(
                    ks == os,
                    format!("{what}: kernel NA {ks:02x?}, ours {os:02x?}"),
                );
            }
            (None, None) => {}
            (k, o) => check(false, answered_differently(what, &k, &o)),
        }
    }

    stop.store(true, Ordering::Relaxed);
    for t in echo_threads {
        let _ = t.join();
    }
    let status = r.stop(Duration::from_secs(10)).expect("stop the responder");
    let out = r.output();
    assert!(status.success(), "responder exited with {status:?}");
    assert!(
        !out.iter().any(|l| l.contains("panicked")),
        "the responder panicked"
    );
    assert!(
        failures.is_empty(),
        "answers that differ from the Linux stack's:\n{}",
        failures.join("\n")
    );
}
