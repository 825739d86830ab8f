//! End to end in a veth lab: the responder side has no kernel IP for the addresses we
//! answer (198.18.0.2, 2001:2::2), so every answer to them comes from our AF_XDP sockets.
//! Run with `--test-threads=1`: the tests share kernel state (namespaces, XDP).
use std::{net::SocketAddr, time::Duration};

use integration_tests::*;
use xtask::echo::udp_echo_check;

const V4: &str = "198.18.0.2";
const V6: &str = "2001:2::2";
const KERNEL_V4: &str = "198.18.0.3";
const KERNEL_V6: &str = "2001:2::3";

fn stop_and_collect(mut r: xtask::responder::Responder) -> Vec<String> {
    let status = r.stop(Duration::from_secs(10)).expect("stop responder");
    assert!(status.success(), "responder exited with {status:?}");
    r.output()
}

fn ping(lab: &Lab, v6: bool, size: usize, count: u32, target: &str) -> bool {
    let (size, count) = (size.to_string(), count.to_string());
    let mut args = vec![
        "ping", "-c", &count, "-i", "0.2", "-W", "2", "-s", &size, target,
    ];
    if v6 {
        args.insert(1, "-6");
    }
    gen_ok(lab, &args)
}

#[test]
fn attaches_detaches_and_survives_sigkill() {
    if !privileged() {
        return;
    }
    let lab = lab("attach", 1);
    let r = start(&lab, &default_args());
    assert!(xdp_attached(&lab), "XDP program not attached while running");
    let out = stop_and_collect(r);
    assert!(
        out.iter().any(|l| l.starts_with("totals after")),
        "no totals printed"
    );
    assert!(
        !xdp_attached(&lab),
        "XDP program left attached after a clean exit"
    );

    let r = start(&lab, &default_args());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(r.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("SIGKILL");
    drop(r);
    assert!(
        eventually(Duration::from_secs(3), || !xdp_attached(&lab)),
        "XDP program left attached after SIGKILL (bpf_link should have gone with the process)"
    );

    // A restart works at once, and answers.
    let r = start(&lab, &default_args());
    assert!(ping(&lab, false, 56, 2, V4), "no answer after a restart");
    stop_and_collect(r);
}

fn answers_everything(queues: u32) {
    let lab = lab(&format!("answer{queues}"), queues);
    let r = start(&lab, &default_args());

    // ICMP echo, several sizes up to the MTU (1500 - 20 - 8 = 1472; IPv6: 1500 - 40 - 8).
    let v4_sizes = [56usize, 1, 0, 999, 1472];
    let v6_sizes = [56usize, 1, 0, 999, 1452];
    for s in v4_sizes {
        assert!(
            ping(&lab, false, s, 3, V4),
            "ping -s {s} {V4} got no replies"
        );
    }
    for s in v6_sizes {
        assert!(
            ping(&lab, true, s, 3, V6),
            "ping -6 -s {s} {V6} got no replies"
        );
    }
    assert!(
        gen_ok(
            &lab,
            &["arping", "-c", "2", "-w", "5", "-I", lab::GEN_IFACE, V4]
        ),
        "arping got no replies"
    );

    // UDP echo: exact bytes back, for sizes 0 ..= MTU-28, from many sockets (flows), so that
    // on a 2-queue veth the flows spread over both queues.
    let v4_udp: Vec<usize> = vec![0, 1, 2, 7, 8, 63, 64, 65, 511, 1000, 1471, 1472];
    let v6_udp: Vec<usize> = vec![0, 1, 7, 64, 1000, 1451, 1452];
    let flows = 16;
    for _ in 0..flows {
        let (a, b) = (v4_udp.clone(), v6_udp.clone());
        let (r4, r6) = lab
            .in_gen(move || {
                let t4: SocketAddr = format!("{V4}:7").parse().expect("addr");
                let t6: SocketAddr = format!("[{V6}]:7").parse().expect("addr");
                (
                    udp_echo_check(t4, &a, Duration::from_secs(2)),
                    udp_echo_check(t6, &b, Duration::from_secs(2)),
                )
            })
            .expect("udp in generator namespace");
        let (r4, r6) = (r4.expect("udp v4"), r6.expect("udp v6"));
        assert!(r4.all_ok(), "UDP v4 echo: {r4}");
        assert!(r6.all_ok(), "UDP v6 echo: {r6}");
    }

    // Traffic we do not own still reaches the kernel.
    assert!(
        ping(&lab, false, 56, 2, KERNEL_V4),
        "kernel-served {KERNEL_V4} did not answer"
    );
    assert!(
        ping(&lab, true, 56, 2, KERNEL_V6),
        "kernel-served {KERNEL_V6} did not answer"
    );

    let out = stop_and_collect(r);
    // The counters match the traffic sent.
    assert_eq!(
        totals_field(&out, "answers", "icmp4_echo"),
        3 * v4_sizes.len() as u64,
        "ICMPv4 answers"
    );
    assert_eq!(
        totals_field(&out, "answers", "icmp6_echo"),
        3 * v6_sizes.len() as u64,
        "ICMPv6 answers"
    );
    assert_eq!(
        totals_field(&out, "answers", "udp4"),
        (flows * v4_udp.len()) as u64,
        "UDP v4 answers"
    );
    assert_eq!(
        totals_field(&out, "answers", "udp6"),
        (flows * v6_udp.len()) as u64,
        "UDP v6 answers"
    );
    assert!(totals_field(&out, "answers", "arp") >= 2, "ARP answers");
    assert!(totals_field(&out, "answers", "ndp") >= 1, "NDP answers");
    let drops_line = out
        .iter()
        .find(|l| l.trim_start().starts_with("drops"))
        .expect("drops line");
    assert!(
        drops_line.trim_end().ends_with('-'),
        "unexpected drops: {drops_line}"
    );
    let replies = totals_field(&out, "xdp program", "redirected");
    assert!(
        replies >= 3 * (v4_sizes.len() + v6_sizes.len()) as u64,
        "BPF redirected counter too low: {replies}"
    );
    for q in 0..queues {
        let label = format!("queue {q} ");
        assert!(
            totals_field(&out, &label, "rx") > 0,
            "queue {q} saw no traffic: flows did not spread"
        );
    }
    assert!(
        out.iter()
            .filter(|l| l.trim_start().starts_with("frames q"))
            .all(|l| l.ends_with("(ok)")),
        "frame accounting drifted"
    );

    // Stopping the responder makes the same ping fail: the answers were ours.
    assert!(
        !ping(&lab, false, 56, 2, V4),
        "{V4} still answers with the responder stopped"
    );
}

#[test]
fn answers_on_a_one_queue_veth() {
    if privileged() {
        answers_everything(1);
    }
}

#[test]
fn answers_on_a_two_queue_veth() {
    if privileged() {
        answers_everything(2);
    }
}

#[test]
fn address_added_and_removed_at_run_time() {
    if !privileged() {
        return;
    }
    let lab = lab("config", 1);
    let extra = "198.18.0.4";
    let r = start(&lab, &default_args());
    assert!(
        !ping(&lab, false, 56, 1, extra),
        "{extra} answered before it was added"
    );
    let out = responder_cmd(&lab, &["addr", "add", "--iface", lab::RESP_IFACE, extra]);
    assert!(out.status.success(), "addr add failed");
    // The failed probe above left the generator's neighbour entry for the address in
    // INCOMPLETE/FAILED; start resolution afresh so that only the responder is tested.
    gen_ok(&lab, &["ip", "neigh", "flush", "dev", lab::GEN_IFACE]);
    assert!(
        ping(&lab, false, 56, 2, extra),
        "{extra} did not answer after addr add"
    );
    let status = responder_cmd(&lab, &["status", "--iface", lab::RESP_IFACE]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains(extra),
        "status does not list {extra}"
    );
    let out = responder_cmd(&lab, &["addr", "del", "--iface", lab::RESP_IFACE, extra]);
    assert!(out.status.success(), "addr del failed");
    assert!(
        !ping(&lab, false, 56, 1, extra),
        "{extra} still answers after addr del"
    );
    assert!(ping(&lab, false, 56, 1, V4), "{V4} stopped answering");
    stop_and_collect(r);
}

fn assert_fails_with(out: &std::process::Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, got success");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "error is not one line: {err}"
    );
}

#[test]
fn clear_errors_for_bad_setups() {
    if !privileged() {
        return;
    }
    let lab = lab("errors", 1);
    let run = |iface: &str, extra: &[&str]| {
        let mut a = vec!["run", "--iface", iface, "--addr", V4, "--duration", "5"];
        a.extend_from_slice(extra);
        responder_cmd(&lab, &a)
    };
    assert_fails_with(&run("nosuch0", &[]), "no interface named \"nosuch0\"");
    assert_fails_with(
        &run(lab::RESP_IFACE, &["--bind-mode", "zero-copy"]),
        "zero-copy",
    );
    assert!(!xdp_attached(&lab), "a failed start left XDP attached");
    assert_fails_with(
        &run(lab::RESP_IFACE, &["--queues", "3"]),
        "queue 3 does not exist",
    );

    // Without privileges.
    let bin = responder_bin();
    let out = lab
        .exec_resp(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            &bin.to_string_lossy(),
            "run",
            "--iface",
            lab::RESP_IFACE,
            "--addr",
            V4,
        ])
        .output()
        .expect("setpriv");
    assert_fails_with(&out, "needs root");

    // Two responders on one interface.
    let r = start(&lab, &default_args());
    assert_fails_with(&run(lab::RESP_IFACE, &[]), "already serves");
    stop_and_collect(r);

    // An MTU too large for XDP on veth.
    assert!(lab
        .exec_gen(&["ip", "link", "set", "dev", lab::GEN_IFACE, "mtu", "9000"])
        .status()
        .expect("ip")
        .success());
    assert!(lab
        .exec_resp(&["ip", "link", "set", "dev", lab::RESP_IFACE, "mtu", "9000"])
        .status()
        .expect("ip")
        .success());
    assert_fails_with(&run(lab::RESP_IFACE, &[]), "too large");
    assert!(!xdp_attached(&lab), "a failed start left XDP attached");
}
