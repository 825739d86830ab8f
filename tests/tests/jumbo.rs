//! Jumbo frames on a 9000-byte MTU veth, answered by us across multi-buffer chains
//! (XDP_USE_SG, a frags-aware XDP program): the responder side has no kernel IP for
//! 198.18.0.2 / 2001:2::2, so every answer to them is ours. A frame of MTU 9000 is 9014
//! bytes, three UMEM buffers of 3840 (4096 - 256 headroom): sizes below sit on the
//! one/two/three-buffer boundaries. Run with `--test-threads=1`.
use std::{net::SocketAddr, time::Duration};

use integration_tests::*;
use xtask::echo::udp_echo_check;

const V4: &str = "198.18.0.2";
const V6: &str = "2001:2::2";
const MTU: u32 = 9000;
/// Bytes of frame one RX buffer holds.
const BUFFER: usize = 3840;

/// ICMP data sizes (IPv4 frame = 42 + size, IPv6 = 62 + size): one, two and three buffers,
/// each side of each boundary, up to the MTU.
fn ping_sizes(v6: bool) -> Vec<usize> {
    let hdr = if v6 { 62 } else { 42 };
    let max = MTU as usize - if v6 { 48 } else { 28 };
    let mut v = vec![56, 1472];
    for b in [BUFFER, 2 * BUFFER] {
        v.extend([b - hdr, b - hdr + 1]);
    }
    v.push(max);
    v
}

fn stop_totals(mut r: xtask::responder::Responder) -> Totals {
    let status = r.stop(Duration::from_secs(10)).expect("stop responder");
    assert!(status.success(), "responder exited with {status:?}");
    Totals::from_output(&r.output())
}

/// Pings `count` times from the generator (pinned to `cpu`) and returns the replies.
fn ping_count(lab: &Lab, v6: bool, size: usize, count: u32, cpu: Option<usize>) -> u64 {
    let mut args: Vec<String> = ["ping", "-c", &count.to_string(), "-i", "0.2", "-W", "2"]
        .map(String::from)
        .to_vec();
    if v6 {
        args.insert(1, "-6".into());
    }
    args.extend([
        "-s".into(),
        size.to_string(),
        if v6 { V6 } else { V4 }.into(),
    ]);
    let args = match cpu {
        Some(c) => on_cpu(c, &args.iter().map(String::as_str).collect::<Vec<_>>()),
        None => args,
    };
    ping_received(&gen_output(
        lab,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
}

fn jumbo_answers(queues: u32, extra: &[&str]) {
    let lab = lab_with_mtu(&format!("jumbo{queues}"), queues, MTU);
    if queues > 1 {
        steer_queues_by_cpu(&lab, queues);
    }
    let mut args = default_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = start(&lab, &args);
    let mut sent_bytes = 0u64;
    let (mut icmp4, mut icmp6) = (0u64, 0u64);
    for q in 0..queues as usize {
        let cpu = (queues > 1).then_some(q);
        for v6 in [false, true] {
            for s in ping_sizes(v6) {
                let got = ping_count(&lab, v6, s, 2, cpu);
                assert_eq!(got, 2, "ping -s {s} (v6 {v6}, queue {q}): not answered");
                sent_bytes += 2 * (if v6 { 62 } else { 42 } + s as u64);
                if v6 {
                    icmp6 += 2;
                } else {
                    icmp4 += 2;
                }
            }
        }
    }
    // UDP echo, exact bytes back, on the same boundaries up to 8972 / 8952.
    let v4_udp: Vec<usize> = vec![0, 1472, 3797, 3798, 3799, 7637, 7638, 7639, 8971, 8972];
    let v6_udp: Vec<usize> = vec![0, 1452, 3777, 3778, 3779, 7617, 7618, 7619, 8951, 8952];
    for q in 0..queues {
        let (a, b) = (v4_udp.clone(), v6_udp.clone());
        let (r4, r6) = lab
            .in_gen(move || {
                if queues > 1 {
                    pin_to_cpu(q as usize);
                }
                let t4: SocketAddr = format!("{V4}:7").parse().expect("addr");
                let t6: SocketAddr = format!("[{V6}]:7").parse().expect("addr");
                (
                    udp_echo_check(t4, &a, Duration::from_secs(2)),
                    udp_echo_check(t6, &b, Duration::from_secs(2)),
                )
            })
            .expect("udp in generator namespace");
        let (r4, r6) = (r4.expect("udp v4"), r6.expect("udp v6"));
        assert!(r4.all_ok(), "UDP v4 jumbo echo, queue {q}: {r4}");
        assert!(r6.all_ok(), "UDP v6 jumbo echo, queue {q}: {r6}");
    }
    let q = u64::from(queues);
    sent_bytes += q * v4_udp.iter().map(|s| 42 + *s as u64).sum::<u64>();
    sent_bytes += q * v6_udp.iter().map(|s| 62 + *s as u64).sum::<u64>();

    let t = stop_totals(r);
    assert_eq!(t.answer("icmp4_echo"), icmp4, "ICMPv4 answers");
    assert_eq!(t.answer("icmp6_echo"), icmp6, "ICMPv6 answers");
    assert_eq!(t.answer("udp4"), q * v4_udp.len() as u64, "UDP v4 answers");
    assert_eq!(t.answer("udp6"), q * v6_udp.len() as u64, "UDP v6 answers");
    assert_eq!(t.drops_total(), 0, "unexpected drops: {:?}", t.map("drops"));
    // Every answer is as long as its request, so the byte counters equal what was sent.
    let want = sent_bytes + 42 * t.answer("arp") + 86 * t.answer("ndp");
    assert_eq!(t.get("rx_bytes"), want, "rx bytes");
    assert_eq!(t.get("tx_bytes"), want, "tx bytes");
    assert_accounting(&t, true);
    if queues > 1 {
        for k in 0..queues as usize {
            let got = Totals(t.0["queues"][k].clone());
            assert!(
                got.answer("udp4") + got.answer("udp6") == (v4_udp.len() + v6_udp.len()) as u64,
                "queue {k} answered {} UDP datagrams",
                got.answer("udp4") + got.answer("udp6")
            );
        }
    }
}

#[test]
fn jumbo_frames_are_answered_on_a_one_queue_veth() {
    if !privileged() {
        return;
    }
    jumbo_answers(1, &[]);
}

#[test]
fn jumbo_frames_are_answered_on_a_two_queue_veth() {
    if !privileged() {
        return;
    }
    if cpus() < 2 {
        skip("needs 2 CPUs to steer each queue's traffic");
        return;
    }
    jumbo_answers(2, &[]);
}

#[test]
fn jumbo_frames_are_answered_in_skb_mode() {
    if !privileged() {
        return;
    }
    jumbo_answers(1, &["--xdp-mode", "skb"]);
}

#[test]
fn a_frame_over_max_chain_is_dropped_and_counted() {
    if !privileged() {
        return;
    }
    let lab = lab_with_mtu("jumbolong", 1, MTU);
    let mut args = default_args();
    args.extend(["--max-chain", "2"].map(String::from));
    let r = start(&lab, &args);
    // Two buffers (5000-byte frames) are answered; three (8000) are dropped.
    assert_eq!(ping_count(&lab, false, 5000, 2, None), 2, "ping -s 5000");
    assert_eq!(
        ping_count(&lab, false, 8000, 2, None),
        0,
        "ping -s 8000 answered"
    );
    let (ok, long) = lab
        .in_gen(|| {
            let t: SocketAddr = format!("{V4}:7").parse().expect("addr");
            (
                udp_echo_check(t, &[7000], Duration::from_secs(2)),
                udp_echo_check(t, &[7800], Duration::from_millis(500)),
            )
        })
        .expect("udp in generator namespace");
    assert!(
        ok.expect("udp").all_ok(),
        "a 2-buffer datagram was not echoed"
    );
    let long = long.expect("udp");
    assert_eq!(
        (long.ok, long.timeout),
        (0, 1),
        "a 3-buffer datagram: {long}"
    );
    let t = stop_totals(r);
    assert_eq!(t.drop("chain_too_long"), 3, "drops: {:?}", t.map("drops"));
    assert_eq!(t.drops_total(), 3, "drops: {:?}", t.map("drops"));
    assert_eq!(t.answer("icmp4_echo"), 2);
    assert_eq!(t.answer("udp4"), 1);
    assert_accounting(&t, true);
}
