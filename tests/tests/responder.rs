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

fn stop_totals(r: xtask::responder::Responder) -> Totals {
    Totals::from_output(&stop_and_collect(r))
}

fn ping_args(v6: bool, size: usize, count: u32, target: &str) -> Vec<String> {
    let mut args: Vec<String> = ["ping", "-c", &count.to_string(), "-i", "0.2", "-W", "2"]
        .map(String::from)
        .to_vec();
    if v6 {
        args.insert(1, "-6".into());
    }
    args.extend(["-s".into(), size.to_string(), target.into()]);
    args
}

fn ping(lab: &Lab, v6: bool, size: usize, count: u32, target: &str) -> bool {
    let args = ping_args(v6, size, count, target);
    gen_ok(lab, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Pings `count` times and asserts every reply came back; returns the bytes of one request
/// frame (14 Ethernet + IP header + 8 ICMP + data).
fn ping_all(lab: &Lab, v6: bool, size: usize, count: u32, target: &str) -> u64 {
    let args = ping_args(v6, size, count, target);
    let out = gen_output(lab, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        ping_received(&out),
        u64::from(count),
        "ping -s {size} {target}: not every request was answered"
    );
    14 + if v6 { 40 } else { 20 } + 8 + size as u64
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
    // Each queue gets its own senders: the generator's TX queue k (the responder's RX queue
    // k) is CPU k's, and every sender below is pinned to the CPU of its queue.
    if queues > 1 {
        steer_queues_by_cpu(&lab, queues);
    }
    let r = start(&lab, &default_args());

    // ICMP echo, several sizes up to the MTU (1500 - 20 - 8 = 1472; IPv6: 1500 - 40 - 8).
    let v4_sizes = [56usize, 1, 0, 999, 1472];
    let v6_sizes = [56usize, 1, 0, 999, 1452];
    let mut bytes = 0u64;
    for s in v4_sizes {
        bytes += 3 * ping_all(&lab, false, s, 3, V4);
    }
    for s in v6_sizes {
        bytes += 3 * ping_all(&lab, true, s, 3, V6);
    }
    assert!(
        gen_ok(
            &lab,
            &["arping", "-c", "2", "-w", "5", "-I", lab::GEN_IFACE, V4]
        ),
        "arping got no replies"
    );

    // UDP echo: exact bytes back, for sizes 0 ..= MTU-28, from several sockets per queue,
    // one thread per queue pinned to that queue's CPU.
    let v4_udp: Vec<usize> = vec![0, 1, 2, 7, 8, 63, 64, 65, 511, 1000, 1471, 1472];
    let v6_udp: Vec<usize> = vec![0, 1, 7, 64, 1000, 1451, 1452];
    let flows_per_queue = 4;
    for q in 0..queues {
        let (a, b) = (v4_udp.clone(), v6_udp.clone());
        let (r4, r6) = lab
            .in_gen(move || {
                pin_to_cpu(q as usize);
                let t4: SocketAddr = format!("{V4}:7").parse().expect("addr");
                let t6: SocketAddr = format!("[{V6}]:7").parse().expect("addr");
                let (mut r4, mut r6) = (Vec::new(), Vec::new());
                for _ in 0..flows_per_queue {
                    r4.push(udp_echo_check(t4, &a, Duration::from_secs(2)));
                    r6.push(udp_echo_check(t6, &b, Duration::from_secs(2)));
                }
                (r4, r6)
            })
            .expect("udp in generator namespace");
        for r in r4 {
            let r = r.expect("udp v4");
            assert!(r.all_ok(), "UDP v4 echo on queue {q}: {r}");
        }
        for r in r6 {
            let r = r.expect("udp v6");
            assert!(r.all_ok(), "UDP v6 echo on queue {q}: {r}");
        }
    }
    let flows = (flows_per_queue * queues) as usize;
    bytes += flows as u64
        * (v4_udp.iter().map(|s| 42 + *s as u64).sum::<u64>()
            + v6_udp.iter().map(|s| 62 + *s as u64).sum::<u64>());

    // Traffic we do not own still reaches the kernel.
    assert!(
        ping(&lab, false, 56, 2, KERNEL_V4),
        "kernel-served {KERNEL_V4} did not answer"
    );
    assert!(
        ping(&lab, true, 56, 2, KERNEL_V6),
        "kernel-served {KERNEL_V6} did not answer"
    );

    let t = stop_totals(r);
    // The counters match the traffic sent.
    assert_eq!(
        t.answer("icmp4_echo"),
        3 * v4_sizes.len() as u64,
        "ICMPv4 answers"
    );
    assert_eq!(
        t.answer("icmp6_echo"),
        3 * v6_sizes.len() as u64,
        "ICMPv6 answers"
    );
    assert_eq!(
        t.answer("udp4"),
        (flows * v4_udp.len()) as u64,
        "UDP v4 answers"
    );
    assert_eq!(
        t.answer("udp6"),
        (flows * v6_udp.len()) as u64,
        "UDP v6 answers"
    );
    assert!(t.answer("arp") >= 2, "ARP answers");
    assert!(t.answer("ndp") >= 1, "NDP answers");
    assert_eq!(t.drops_total(), 0, "unexpected drops: {:?}", t.map("drops"));
    // Byte counters: every answer is as long as its request (ARP 42, an NS with a source
    // link-layer option and its NA 86 bytes), so both equal what was sent.
    let want_bytes = bytes + 42 * t.answer("arp") + 86 * t.answer("ndp");
    assert_eq!(t.get("tx_bytes"), want_bytes, "tx bytes");
    assert_eq!(t.get("rx_bytes"), want_bytes, "rx bytes");
    assert_accounting(&t, true);
    // Each queue received exactly its senders' datagrams (and, on queue 0 or 1, whatever the
    // unpinned ping, arping and neighbour discovery sent).
    if queues > 1 {
        let udp_per_queue = (flows_per_queue as usize * (v4_udp.len() + v6_udp.len())) as u64;
        for q in 0..queues as usize {
            let got = Totals(t.0["queues"][q].clone());
            assert!(
                got.answer("udp4") + got.answer("udp6") == udp_per_queue,
                "queue {q} answered {} UDP datagrams, its senders sent {udp_per_queue}",
                got.answer("udp4") + got.answer("udp6")
            );
        }
    }

    // Stopping the responder makes the same ping fail: the answers were ours.
    assert!(
        !ping(&lab, false, 56, 2, V4),
        "{V4} still answers with the responder stopped"
    );
}

/// Stopping while requests keep arriving: the sockets leave the XSKMAP before the workers
/// stop, so every frame the XDP program redirected was read and answered (or dropped and
/// counted) by user space, and the kernel gets the rest. Also the start: right after
/// `ready`, a burst finds every fill ring full (no `rx_dropped`).
#[test]
fn starts_and_stops_under_load_without_losing_a_redirected_frame() {
    if !privileged() {
        return;
    }
    let lab = lab("startstop", 2);
    for round in 0..2 {
        let r = start(&lab, &default_args());
        // Two flows (the queues are chosen by hash), 500 requests a second each, from the
        // moment `ready` is printed until after the stop.
        let floods: Vec<KillOnDrop> = [&["-i", "0.002"][..], &["-6", "-i", "0.002"]]
            .iter()
            .map(|a| {
                let target = if a.contains(&"-6") { V6 } else { V4 };
                let mut args = vec!["ping", "-q", "-w", "3"];
                args.extend_from_slice(a);
                args.push(target);
                KillOnDrop::spawn_quiet(lab.exec_gen(&args))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        let t = stop_totals(r);
        drop(floods);
        let answered = t.answer("icmp4_echo") + t.answer("icmp6_echo");
        assert!(
            answered > 100,
            "round {round}: only {answered} echo answers"
        );
        assert_accounting(&t, true);
    }
}

#[test]
fn answers_on_a_one_queue_veth() {
    if privileged() {
        answers_everything(1);
    }
}

#[test]
fn answers_on_a_two_queue_veth() {
    if !privileged() {
        return;
    }
    if cpus() < 2 {
        skip("steering two queues needs two CPUs");
        return;
    }
    answers_everything(2);
}

/// Adds `extra`, pings it (both answered), lists it, deletes it, and checks that it is
/// neither answered nor redirected any more.
fn added_answered_removed(lab: &Lab, extra: &str, v6: bool) {
    assert!(
        !ping(lab, v6, 56, 1, extra),
        "{extra} answered before it was added"
    );
    // The failed probe left the generator's neighbour entry for the address INCOMPLETE,
    // with the echo request queued behind it: flush it before the address is added, or
    // the next resolution retry would release that request, to be answered late.
    gen_ok(lab, &["ip", "neigh", "flush", "dev", lab::GEN_IFACE]);
    let out = responder_cmd(lab, &["addr", "add", "--iface", lab::RESP_IFACE, extra]);
    assert!(out.status.success(), "addr add {extra} failed");
    ping_all(lab, v6, 56, 2, extra);
    let listed = status(lab);
    let key = if v6 { "v6" } else { "v4" };
    assert!(
        listed.0[key]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == extra)),
        "status does not list {extra}: {}",
        listed.0[key]
    );
    let out = responder_cmd(lab, &["addr", "del", "--iface", lab::RESP_IFACE, extra]);
    assert!(out.status.success(), "addr del {extra} failed");
    let before = status(lab);
    assert!(
        !ping(lab, v6, 56, 1, extra),
        "{extra} still answers after addr del"
    );
    let after = status(lab);
    let class = if v6 { "icmp6" } else { "icmp4" };
    assert_eq!(
        after.xdp(&format!("redirected_{class}")),
        before.xdp(&format!("redirected_{class}")),
        "the XDP program still redirects echo requests for {extra} after addr del"
    );
}

/// Run-time `addr add` / `addr del`, for IPv4 and IPv6 both ways the XDP program holds an
/// address: in one of its slots (for IPv6 also in a slot freed by an earlier `addr del`,
/// which it takes again after a grace period), and, once other addresses fill every slot,
/// in its hash map.
#[test]
fn address_added_and_removed_at_run_time() {
    if !privileged() {
        return;
    }
    let lab = lab("config", 1);
    let r = start(&lab, &default_args());
    added_answered_removed(&lab, "198.18.0.4", false);
    added_answered_removed(&lab, "2001:2::4", true);
    added_answered_removed(&lab, "2001:2::5", true);
    added_answered_removed(&lab, "2001:2::4", true);
    let fill = |addrs: Vec<String>| {
        for a in addrs {
            let out = responder_cmd(&lab, &["addr", "add", "--iface", lab::RESP_IFACE, &a]);
            assert!(out.status.success(), "addr add {a} failed");
        }
    };
    fill(
        (1..=xdp_common::V4Slots::SLOTS)
            .map(|i| format!("198.19.0.{i}"))
            .collect(),
    );
    fill(
        (1..=xdp_common::V6Slots::SLOTS)
            .map(|i| format!("2001:2:0:1::{i}"))
            .collect(),
    );
    added_answered_removed(&lab, "198.18.0.4", false);
    added_answered_removed(&lab, "2001:2::4", true);
    ping_all(&lab, false, 56, 1, V4);
    ping_all(&lab, true, 56, 1, V6);
    let t = stop_totals(r);
    assert_eq!(t.answer("icmp4_echo"), 5);
    assert_eq!(t.answer("icmp6_echo"), 9);
    assert_accounting(&t, true);
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

fn set_mtu(lab: &Lab, gen: u32, resp: u32) {
    assert!(lab
        .exec_gen(&[
            "ip",
            "link",
            "set",
            "dev",
            lab::GEN_IFACE,
            "mtu",
            &gen.to_string()
        ])
        .status()
        .expect("ip")
        .success());
    assert!(lab
        .exec_resp(&[
            "ip",
            "link",
            "set",
            "dev",
            lab::RESP_IFACE,
            "mtu",
            &resp.to_string()
        ])
        .status()
        .expect("ip")
        .success());
}

#[test]
fn clear_errors_for_bad_setups() {
    if !privileged() {
        return;
    }
    let lab = lab("errors", 2);
    let run = |iface: &str, extra: &[&str]| {
        let mut a = vec!["run", "--iface", iface, "--addr", V4, "--duration", "5"];
        a.extend_from_slice(extra);
        responder_cmd(&lab, &a)
    };
    assert_fails_with(&run("nosuch0", &[]), "no interface named \"nosuch0\"");
    // Zero-copy is refused by the kernel at bind time, after the XDP program was attached:
    // the failed start must take the program away again.
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

    // An MTU larger than one UMEM buffer: multi-buffer is switched on, and the frags-aware
    // program attaches natively (veth refuses a program without frags above about 3500).
    set_mtu(&lab, 9000, 9000);
    let r = start(&lab, &default_args());
    assert!(
        r.output().iter().any(|l| l.contains("multi-buffer on")),
        "no note about multi-buffer"
    );
    assert_eq!(status(&lab).0["xdp_mode"], "native");
    ping_all(&lab, false, 8972, 2, V4);
    assert_accounting(&stop_totals(r), true);
    set_mtu(&lab, 1500, 1500);
    // Native XDP on veth refuses a device with fewer RX queues than its peer has TX queues
    // (ENOSPC).
    let channels = |rx: &str| {
        let ok = lab
            .exec_resp(&["ethtool", "-L", lab::RESP_IFACE, "rx", rx])
            .status()
            .expect("ethtool")
            .success();
        assert!(ok, "ethtool -L rx {rx}");
    };
    channels("1");
    assert_fails_with(
        &run(lab::RESP_IFACE, &["--xdp-mode", "native"]),
        "fewer RX queues than its peer has TX queues",
    );
    assert!(!xdp_attached(&lab), "a refused attach left XDP attached");
    // Left to choose, the responder falls back to skb (generic) mode, says so, and answers.
    let r = start(&lab, &default_args());
    assert!(
        r.output()
            .iter()
            .any(|l| l.contains("native XDP refused, running in SKB mode")),
        "no note about the fallback"
    );
    answers_in_skb_mode(&lab, r);
    channels("2");
    // `--xdp-mode skb` asked for.
    let r = start(&lab, &with_arg(default_args(), "--xdp-mode", "skb"));
    answers_in_skb_mode(&lab, r);
}

/// The running responder `r` reports SKB mode and answers two pings each over IPv4 and IPv6;
/// then it is stopped and its accounting checked.
fn answers_in_skb_mode(lab: &Lab, r: xtask::responder::Responder) {
    let s = status(lab);
    assert_eq!(s.0["xdp_mode"], "skb", "{}", s.0);
    ping_all(lab, false, 56, 2, V4);
    ping_all(lab, true, 56, 2, V6);
    let t = stop_totals(r);
    assert_eq!(t.answer("icmp4_echo") + t.answer("icmp6_echo"), 4);
    assert_accounting(&t, true);
}

/// Frames for our addresses on a queue no socket serves go to the kernel (`no_socket`),
/// which does not own the addresses and stays silent; the served queue answers as usual.
#[test]
fn unserved_queue_falls_back_to_the_kernel() {
    if !privileged() {
        return;
    }
    if cpus() < 2 {
        skip("steering two queues needs two CPUs");
        return;
    }
    let lab = lab("noqueue", 2);
    steer_queues_by_cpu(&lab, 2);
    let r = start(&lab, &with_arg(default_args(), "--queues", "0"));
    // A permanent neighbour entry: no ARP exchange, whose reply could release the queued
    // request from the CPU of the other queue.
    assert!(pin_neighbour(&lab, V4));
    let args = on_cpu(0, &["ping", "-c", "1", "-W", "2", V4]);
    assert!(
        gen_ok(&lab, &args.iter().map(String::as_str).collect::<Vec<_>>()),
        "no answer on the served queue 0"
    );
    let before = status(&lab);
    let sent = 5u64;
    let report = lab
        .in_gen(move || {
            pin_to_cpu(1);
            let t: SocketAddr = format!("{V4}:7").parse().expect("addr");
            udp_echo_check(t, &[10; 5], Duration::from_millis(400))
        })
        .expect("udp in the generator namespace")
        .expect("udp");
    assert_eq!(report.sent as u64, sent);
    assert!(
        !report.all_ok(),
        "a queue without a socket answered: {report}"
    );
    let args = on_cpu(0, &["ping", "-c", "2", "-i", "0.2", "-W", "2", V4]);
    let out = gen_output(&lab, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        ping_received(&out),
        2,
        "the served queue 0 stopped answering"
    );
    let after = status(&lab);
    assert_eq!(
        after.xdp("no_socket") - before.xdp("no_socket"),
        sent,
        "datagrams to the unserved queue 1 not passed to the kernel as no_socket"
    );
    let t = stop_totals(r);
    assert_eq!(t.answer("udp4"), 0);
    assert_accounting(&t, true);
}

/// One start per data-path option that changes how the loop or the sockets run: each must
/// answer every kind exactly and keep the accounting.
#[test]
fn every_loop_and_socket_option_answers() {
    if !privileged() {
        return;
    }
    let lab = lab("options", 1);
    for extra in [
        &["--busy-poll"][..],
        &["--busy-poll=force"],
        &["--idle-spin-us", "0", "--idle-spin-max-us", "0"],
        &["--no-need-wakeup"],
        &["--frame-size", "2048"],
        &["--batch", "1"],
    ] {
        eprintln!("--- option {extra:?}");
        let mut args = default_args();
        args.extend(extra.iter().map(|s| s.to_string()));
        check_answers(&lab, &args, extra);
    }
}

/// `--huge-pages` when the machine has huge pages free (a counted skip otherwise).
#[test]
fn huge_pages_answer() {
    if !privileged() {
        return;
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (free, size_kib) = (field("HugePages_Free:"), field("Hugepagesize:"));
    // One queue's UMEM: 4096 frames of 4096 bytes.
    if free * size_kib * 1024 < 4096 * 4096 {
        skip(&format!(
            "no huge pages for a 16 MiB UMEM (HugePages_Free {free} of {size_kib} kB)"
        ));
        return;
    }
    let lab = lab("huge", 1);
    let mut args = default_args();
    args.push("--huge-pages".into());
    check_answers(&lab, &args, &["--huge-pages"]);
}

fn check_answers(lab: &Lab, args: &[String], what: &[&str]) {
    let r = start(lab, args);
    ping_all(lab, false, 1000, 2, V4);
    ping_all(lab, true, 1000, 2, V6);
    let rep = lab
        .in_gen(|| {
            (
                udp_echo_check(
                    format!("{V4}:7").parse().expect("addr"),
                    &[0, 100, 1472],
                    Duration::from_secs(2),
                ),
                udp_echo_check(
                    format!("[{V6}]:7").parse().expect("addr"),
                    &[0, 100, 1452],
                    Duration::from_secs(2),
                ),
            )
        })
        .expect("udp in the generator namespace");
    let (r4, r6) = (rep.0.expect("udp v4"), rep.1.expect("udp v6"));
    assert!(r4.all_ok() && r6.all_ok(), "{what:?}: {r4} / {r6}");
    let t = stop_totals(r);
    assert_eq!(t.answer("icmp4_echo"), 2, "{what:?}");
    assert_eq!(t.answer("icmp6_echo"), 2, "{what:?}");
    assert_eq!(t.answer("udp4") + t.answer("udp6"), 6, "{what:?}");
    assert_accounting(&t, true);
}

/// Duplicate Address Detection, live: the generator's kernel tries to configure one of the
/// responder's addresses, sends its DAD solicitation, gets the responder's advertisement and
/// marks the address `dadfailed`, as it would against a Linux host owning it.
#[test]
fn duplicate_address_detection_is_answered_live() {
    if !privileged() {
        return;
    }
    let lab = lab("dad", 1);
    let r = start(&lab, &default_args());
    let before = status(&lab);
    for sysctl in [
        format!("net.ipv6.conf.{}.accept_dad=1", lab::GEN_IFACE),
        format!("net.ipv6.conf.{}.dad_transmits=1", lab::GEN_IFACE),
    ] {
        assert!(gen_ok(&lab, &["sysctl", "-qw", &sysctl]));
    }
    assert!(gen_ok(
        &lab,
        &[
            "ip",
            "-6",
            "addr",
            "add",
            &format!("{V6}/64"),
            "dev",
            lab::GEN_IFACE
        ]
    ));
    let failed = eventually(Duration::from_secs(10), || {
        let out = lab
            .exec_gen(&["ip", "-6", "addr", "show", "dev", lab::GEN_IFACE])
            .output()
            .expect("ip addr");
        String::from_utf8_lossy(&out.stdout).contains("dadfailed")
    });
    let after = status(&lab);
    let _ = gen_ok(
        &lab,
        &[
            "ip",
            "-6",
            "addr",
            "del",
            &format!("{V6}/64"),
            "dev",
            lab::GEN_IFACE,
        ],
    );
    assert!(
        failed,
        "the generator's kernel did not see {V6} as a duplicate: no DAD answer"
    );
    assert!(
        after.answer("ndp") > before.answer("ndp"),
        "no NDP answer counted for the DAD probe"
    );
    let t = stop_totals(r);
    assert_accounting(&t, true);
}
