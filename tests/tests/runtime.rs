//! Starting and running on real-NIC-like setups: many RX queues, run-time address changes,
//! the echo rate limit on UDP, the control socket's owner, the metrics endpoint under a slow
//! client, and RX VLAN offload. Run with `--test-threads=1`: the tests share kernel state.
use std::{
    net::{SocketAddr, UdpSocket},
    time::Duration,
};

use integration_tests::*;

fn stop_and_collect(mut r: xtask::responder::Responder) -> Vec<String> {
    let status = r.stop(Duration::from_secs(10)).expect("stop responder");
    assert!(status.success(), "responder exited with {status:?}");
    r.output()
}

fn args_with(extra: &[&str]) -> Vec<String> {
    let mut args = default_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `--queues all` on a veth with 80 RX queues: the XSKMAP is sized to the interface, so
/// every queue gets its socket, past the object file's 64-entry placeholder.
#[test]
fn all_80_queues_of_a_veth_are_served() {
    if !privileged() {
        return;
    }
    let lab = lab("q80", 80);
    // Small UMEMs: 80 queues of the default 16 MiB would be 1.3 GiB of pinned memory.
    let r = start(
        &lab,
        &args_with(&[
            "--queues",
            "all",
            "--frame-count",
            "128",
            "--ring-size",
            "64",
        ]),
    );
    let out = r.output();
    for q in [0u32, 63, 64, 79] {
        assert!(
            out.iter()
                .any(|l| l.starts_with(&format!("queue {q}: socket mode"))),
            "queue {q} has no socket: {out:?}"
        );
    }
    assert!(
        gen_ok(
            &lab,
            &["ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2"]
        ),
        "ping over the 80-queue veth"
    );
    let out = stop_and_collect(r);
    assert!(totals_field(&out, "answers", "icmp4_echo") >= 3, "{out:?}");
}

/// `addr add` refuses addresses that are not unicast, and a full address map leaves the
/// map and the workers' identity agreeing (the address is answered by neither).
#[test]
fn addr_add_validates_and_rolls_back_on_a_full_map() {
    if !privileged() {
        return;
    }
    let lab = lab("addrs", 1);
    let r = start(&lab, &default_args());
    for bad in [
        "224.0.0.1",
        "255.255.255.255",
        "0.0.0.0",
        "127.0.0.1",
        "ff02::1",
        "::1",
        "::",
    ] {
        let out = responder_cmd(&lab, &["addr", "add", "--iface", lab::RESP_IFACE, bad]);
        assert!(!out.status.success(), "addr add {bad} accepted");
        assert!(text(&out).contains("only for unicast"), "{}", text(&out));
    }
    // The slots and the hash map hold 256 IPv4 addresses; 198.18.0.2 is one. Fill them up.
    let max = xdp_common::MAX_ADDRS;
    for i in 0..max - 1 {
        let ip = format!("198.19.{}.{}", i / 250, 1 + i % 250);
        let out = responder_cmd(&lab, &["addr", "add", "--iface", lab::RESP_IFACE, &ip]);
        assert!(out.status.success(), "addr add {ip}: {}", text(&out));
    }
    let out = responder_cmd(
        &lab,
        &["addr", "add", "--iface", lab::RESP_IFACE, "198.18.0.77"],
    );
    assert!(!out.status.success(), "a 257th address was accepted");
    assert!(
        text(&out).contains("not answering for 198.18.0.77"),
        "{}",
        text(&out)
    );
    let status = responder_cmd(&lab, &["status", "--iface", lab::RESP_IFACE]);
    let status = text(&status);
    assert!(status.contains("198.19.1.5"), "{status}");
    assert!(
        !status.contains("198.18.0.77"),
        "rolled-back address still listed: {status}"
    );
    // Room again after a delete: the same address now goes in.
    let out = responder_cmd(
        &lab,
        &["addr", "del", "--iface", lab::RESP_IFACE, "198.19.0.1"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = responder_cmd(
        &lab,
        &["addr", "add", "--iface", lab::RESP_IFACE, "198.18.0.77"],
    );
    assert!(out.status.success(), "{}", text(&out));
    stop_and_collect(r);
}

/// `--echo-rate` limits UDP echo too: 40 datagrams from one source at 5/s, burst 5.
#[test]
fn echo_rate_limits_udp_echo() {
    if !privileged() {
        return;
    }
    let lab = lab("udprate", 1);
    // A static neighbour: no ARP round trip while the datagrams go out.
    assert!(pin_neighbour(&lab, "198.18.0.2"));
    let r = start(&lab, &args_with(&["--echo-rate", "5/5"]));
    let got = lab
        .in_gen(|| {
            let s = UdpSocket::bind("0.0.0.0:0").expect("bind");
            s.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let to: SocketAddr = "198.18.0.2:7".parse().unwrap();
            for i in 0..40u32 {
                let _ = s.send_to(&i.to_be_bytes(), to);
                std::thread::sleep(Duration::from_millis(10));
            }
            let mut n = 0;
            let mut buf = [0u8; 64];
            while s.recv_from(&mut buf).is_ok() {
                n += 1;
            }
            n
        })
        .expect("in generator namespace");
    let out = stop_and_collect(r);
    let answered = totals_field(&out, "answers", "udp4");
    let limited = totals_field(&out, "drops", "rate_limited");
    assert_eq!(answered + limited, 40, "{out:?}");
    assert_eq!(got, answered, "replies received vs answers counted");
    assert!(
        (5..=9).contains(&answered),
        "answered {answered} of 40 at 5/s, burst 5"
    );
}

/// An unprivileged user (uid 65534) who binds the abstract name `xdp-responder/<if>` (an
/// abstract Unix name belongs to whoever binds it first) and tries to create the
/// control socket first cannot keep root's responder from starting, nor answer its clients;
/// a second responder on the interface names the first one's pid.
#[test]
fn the_control_socket_cannot_be_squatted() {
    if !privileged() {
        return;
    }
    let lab = lab("squat", 1);
    let script = r#"
import os, socket, sys, time
a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
a.bind("\0xdp-responder/veth-resp"); a.listen(1)
print("abstract bound", flush=True)
d = "/run/xdp-responder/net-%d" % os.stat("/proc/self/ns/net").st_ino
try:
    os.makedirs(d, exist_ok=True)
    f = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    f.bind(d + "/veth-resp.sock"); f.listen(1)
    print("filesystem bound", flush=True)
except OSError as e:
    print("filesystem refused", e.errno, flush=True)
time.sleep(60)
"#;
    let mut squatter = lab
        .exec_resp(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            script,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the squatter");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        squatter.stdout.take().expect("squatter stdout"),
    ));
    let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let second = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let result = std::panic::catch_unwind(|| {
        assert_eq!(first, "abstract bound", "squatter did not start");
        assert!(
            second.starts_with("filesystem refused"),
            "uid 65534: {second}"
        );
        let r = start(&lab, &default_args());
        let status = responder_cmd(&lab, &["status", "--iface", lab::RESP_IFACE]);
        assert!(status.status.success(), "{}", text(&status));
        assert!(
            text(&status).contains(&format!("xdp-responder pid {}", r.pid())),
            "status did not come from our responder: {}",
            text(&status)
        );
        let second = responder_cmd(
            &lab,
            &["run", "--iface", lab::RESP_IFACE, "--addr", "198.18.0.9"],
        );
        assert!(!second.status.success());
        let e = text(&second);
        assert!(
            e.contains("already serves")
                && e.contains(&format!("pid {}", r.pid()))
                && e.contains("uid 0"),
            "{e}"
        );
        stop_and_collect(r);
    });
    let _ = squatter.kill();
    let _ = squatter.wait();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

/// With RX VLAN offload on (the veth default), the start says what to turn off; with it off,
/// nothing is said.
#[test]
fn rx_vlan_offload_is_reported_at_start() {
    if !privileged() {
        return;
    }
    let lab = lab("rxvlan", 1);
    let r = start(&lab, &default_args());
    let out = stop_and_collect(r);
    assert!(
        out.iter().any(|l| l.contains("rx-vlan-offload is on")
            && l.contains(&format!("ethtool -K {} rxvlan off", lab::RESP_IFACE))),
        "{out:?}"
    );
    let off = lab
        .exec_resp(&["ethtool", "-K", lab::RESP_IFACE, "rxvlan", "off"])
        .status()
        .expect("ethtool");
    assert!(off.success());
    let r = start(&lab, &default_args());
    let out = stop_and_collect(r);
    assert!(
        !out.iter().any(|l| l.contains("rx-vlan-offload")),
        "{out:?}"
    );
}

/// `--busy-poll` on a veth keeps the default idle policy and says why; `--busy-poll=force`
/// busy-polls (recvfrom on every empty pass) and reports the interface's NAPI settings.
#[test]
fn busy_poll_on_a_veth_says_why_it_is_not_used_unless_forced() {
    if !privileged() {
        return;
    }
    let lab = lab("busypoll", 1);
    let r = start(&lab, &args_with(&["--busy-poll"]));
    let out = stop_and_collect(r);
    assert!(
        out.iter().any(
            |l| l.contains(&format!("busy poll: not used on {}", lab::RESP_IFACE))
                && l.contains("veth")
                && l.contains("keeping the default idle policy")
        ),
        "{out:?}"
    );
    assert_eq!(Totals::from_output(&out).get("busy_polls"), 0);
    assert!(
        !out.iter().any(|l| l.contains("napi_defer_hard_irqs")),
        "{out:?}"
    );

    let r = start(&lab, &args_with(&["--busy-poll=force"]));
    let out = stop_and_collect(r);
    assert!(
        out.iter().any(|l| l.contains("busy poll: forced on")),
        "{out:?}"
    );
    assert!(
        out.iter().any(|l| l.contains(&format!(
            "busy poll: {}: napi_defer_hard_irqs=",
            lab::RESP_IFACE
        ))),
        "{out:?}"
    );
    assert!(Totals::from_output(&out).get("busy_polls") > 0, "{out:?}");

    // --busy-poll-tune sets the NAPI settings while running and restores them at exit.
    let read = |f: &str| -> String {
        let o = lab
            .exec_resp(&["cat", &format!("/sys/class/net/{}/{f}", lab::RESP_IFACE)])
            .output()
            .expect("cat");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let before = (read("napi_defer_hard_irqs"), read("gro_flush_timeout"));
    let r = start(&lab, &args_with(&["--busy-poll=force", "--busy-poll-tune"]));
    let during = (read("napi_defer_hard_irqs"), read("gro_flush_timeout"));
    let out = stop_and_collect(r);
    assert_eq!(during, ("2".to_string(), "200000".to_string()), "{out:?}");
    assert_eq!(
        (read("napi_defer_hard_irqs"), read("gro_flush_timeout")),
        before
    );
    assert!(
        out.iter().any(|l| l.contains("set by --busy-poll-tune")),
        "{out:?}"
    );
}

/// Sends `first`, then one more byte every 1.9 s for at most `secs` seconds, to `connect()`'s
/// stream; returns how long the server kept the connection open.
fn trickle<S: std::io::Write>(mut s: S, first: &[u8], secs: u64) -> Duration {
    let t = std::time::Instant::now();
    if s.write_all(first).is_err() {
        return t.elapsed();
    }
    while t.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(1900));
        if s.write_all(b"X").and_then(|_| s.flush()).is_err() {
            break;
        }
    }
    t.elapsed()
}

/// A scrape client (and a control client) trickling a byte every 1.9 s: other scrapes are
/// still answered, the slow connection is cut at its deadline, and SIGINT ends the
/// responder within a second whatever the clients do.
#[test]
fn slow_clients_neither_block_scrapes_nor_hold_shutdown() {
    if !privileged() {
        return;
    }
    let lab = lab("slowcli", 1);
    let mut r = start(&lab, &args_with(&["--prometheus", "127.0.0.1:19435"]));
    let scrape = || {
        lab.in_resp(|| {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect("127.0.0.1:19435").ok()?;
            s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .ok()?;
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            Some(text)
        })
        .expect("in responder namespace")
    };
    // One slow client, cut at the connection deadline (5 s) rather than after 12 s.
    let slow = lab
        .in_resp(|| {
            let s = std::net::TcpStream::connect("127.0.0.1:19435").expect("connect");
            let h = std::thread::spawn(move || trickle(s, b"GET /metr", 12));
            std::thread::sleep(Duration::from_millis(500));
            h
        })
        .expect("in responder namespace");
    let text = scrape().unwrap_or_default();
    assert!(
        text.starts_with("HTTP/1.1 200") && text.contains("xdp_responder_rx_packets_total"),
        "a scrape behind a slow client: {text:?}"
    );
    let held = slow.join().expect("slow client");
    assert!(
        held >= Duration::from_secs(4) && held < Duration::from_secs(9),
        "the slow connection was held {held:?}"
    );

    // Now slow clients on both endpoints while SIGINT arrives.
    let ctl = lab
        .in_resp(|| {
            use std::os::unix::fs::MetadataExt;
            let ns = std::fs::metadata("/proc/thread-self/ns/net")
                .expect("netns")
                .ino();
            std::path::Path::new("/run/xdp-responder")
                .join(format!("net-{ns}/{}.sock", lab::RESP_IFACE))
        })
        .expect("in responder namespace");
    assert!(ctl.exists(), "no control socket at {}", ctl.display());
    let _slow_scrape = lab
        .in_resp(|| {
            let s = std::net::TcpStream::connect("127.0.0.1:19435").expect("connect");
            std::thread::spawn(move || trickle(s, b"GET /", 8))
        })
        .expect("in responder namespace");
    std::thread::sleep(Duration::from_millis(2500));
    let _slow_control = lab
        .in_resp(move || {
            let s = std::os::unix::net::UnixStream::connect(ctl).expect("control connect");
            std::thread::spawn(move || trickle(s, b"sta", 8))
        })
        .expect("in responder namespace");
    std::thread::sleep(Duration::from_millis(300));
    let t = std::time::Instant::now();
    let status = r.stop(Duration::from_secs(10)).expect("stop");
    let took = t.elapsed();
    eprintln!("SIGINT to exit: {took:?}");
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(1),
        "SIGINT took {took:?} with slow clients"
    );
}

/// A tc program for the generator's veth egress that moves every frame onto VLAN 5 with the
/// tag in skb metadata (`bpf_skb_vlan_push` on an untagged skb sets `vlan_tci`), as a NIC
/// with RX VLAN offload delivers it. This kernel has no 8021q, `act_vlan` or bridge VLAN
/// filtering, so a 10-line BPF fixture is the only way to produce such a frame; clang-22 is
/// one of the packages `cargo xtask setup` installs.
const VLAN_PUSH_C: &str = r#"
typedef unsigned short u16;
static long (*bpf_skb_vlan_push)(void *skb, u16 proto, u16 vlan_tci) = (void *)18;
__attribute__((section("tc"), used)) int vlan_push(void *skb) {
    bpf_skb_vlan_push(skb, __builtin_bswap16(0x8100), 5);
    return 0;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
"#;

/// A VLAN 5 frame whose tag travels in metadata reaches XDP looking untagged (the limit the
/// start warns about); with the sender's `txvlan` off the tag is in the frame, and the XDP
/// program passes it to the kernel instead of answering.
#[test]
fn an_offloaded_vlan_tag_is_invisible_to_xdp_and_the_advice_removes_it() {
    if !privileged() {
        return;
    }
    let lab = lab("vlantag", 1);
    let dir = std::env::temp_dir().join(format!("xdp-vlan-push-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (src, obj) = (dir.join("vlan_push.c"), dir.join("vlan_push.o"));
    std::fs::write(&src, VLAN_PUSH_C).expect("write fixture");
    let built = std::process::Command::new("clang-22")
        .args(["-O2", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .expect("run clang-22");
    assert!(built.success(), "clang-22 could not build the tc fixture");
    let obj = obj.to_string_lossy().into_owned();
    assert!(gen_ok(
        &lab,
        &["tc", "qdisc", "add", "dev", lab::GEN_IFACE, "clsact"]
    ));
    assert!(gen_ok(
        &lab,
        &[
            "tc",
            "filter",
            "add",
            "dev",
            lab::GEN_IFACE,
            "egress",
            "bpf",
            "da",
            "obj",
            &obj,
            "sec",
            "tc"
        ]
    ));
    // No ARP over a VLAN the responder side does not have: a static neighbour.
    assert!(pin_neighbour(&lab, "198.18.0.2"));

    let r = start(&lab, &default_args());
    assert!(
        r.output()
            .iter()
            .any(|l| l.contains("rx-vlan-offload is on")),
        "no warning at start"
    );
    gen_ok(
        &lab,
        &["ping", "-c", "3", "-i", "0.2", "-W", "1", "198.18.0.2"],
    );
    let out = stop_and_collect(r);
    assert_eq!(
        totals_field(&out, "answers", "icmp4_echo"),
        3,
        "with the tag in metadata XDP sees untagged frames (the documented limit)"
    );

    assert!(gen_ok(
        &lab,
        &["ethtool", "-K", lab::GEN_IFACE, "txvlan", "off"]
    ));
    let r = start(&lab, &default_args());
    gen_ok(
        &lab,
        &["ping", "-c", "3", "-i", "0.2", "-W", "1", "198.18.0.2"],
    );
    let out = stop_and_collect(r);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(totals_field(&out, "answers", "icmp4_echo"), 0, "{out:?}");
    assert!(totals_field(&out, "xdp program", "passed") >= 3, "{out:?}");
}
