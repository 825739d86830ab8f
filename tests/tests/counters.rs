//! Counters people can read: JSON lines whose totals equal the traffic sent, a Prometheus
//! endpoint scraped over loopback, and `status` from a second process.
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use integration_tests::*;
use serde_json::Value;
use xtask::{echo::udp_echo_check, responder::Stream};

const PINGS: u64 = 5;
const UDP_SIZES: [usize; 8] = [0, 1, 17, 64, 100, 512, 1000, 1472];
/// Datagrams sent to a port the responder does not echo on.
const OTHER_PORT_DATAGRAMS: u64 = 3;

fn scrape(lab: &Lab) -> String {
    lab.in_resp(|| {
        let mut s = TcpStream::connect("127.0.0.1:9435").expect("connect to the metrics endpoint");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .expect("request");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("response");
        body
    })
    .expect("scrape in the responder namespace")
}

/// Checks OpenMetrics text: HELP/TYPE comments, samples `name{labels} value`, `# EOF` last.
fn assert_valid_exposition(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"# EOF"),
        "exposition does not end with # EOF"
    );
    for l in &lines {
        if l.starts_with('#') {
            assert!(
                l.starts_with("# HELP ") || l.starts_with("# TYPE ") || *l == "# EOF",
                "bad comment line {l:?}"
            );
            continue;
        }
        let (name, value) = l
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad sample line {l:?}"));
        assert!(value.parse::<f64>().is_ok(), "bad value in {l:?}");
        let metric = name.split('{').next().unwrap_or("");
        assert!(
            !metric.is_empty()
                && metric
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad metric name in {l:?}"
        );
        if name.contains('{') {
            assert!(name.ends_with('}'), "unterminated labels in {l:?}");
        }
    }
}

#[test]
fn json_prometheus_and_status_agree_with_the_traffic() {
    if !privileged() {
        return;
    }
    let lab = lab("counters", 1);
    let mut args = with_arg(default_args(), "--interval", "0.5");
    args.push("--prometheus".into());
    let r = start(&lab, &args);

    let count = PINGS.to_string();
    let out = gen_output(
        &lab,
        &["ping", "-c", &count, "-i", "0.2", "-W", "2", "198.18.0.2"],
    );
    assert_eq!(ping_received(&out), PINGS, "not every ping was answered");
    let report = lab
        .in_gen(|| {
            udp_echo_check(
                "198.18.0.2:7".parse::<SocketAddr>().expect("addr"),
                &UDP_SIZES,
                Duration::from_secs(2),
            )
        })
        .expect("udp in generator namespace")
        .expect("udp echo");
    assert!(report.all_ok(), "{report}");
    // Datagrams to a port we do not echo on go to the kernel: none is redirected.
    lab.in_gen(|| {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        for _ in 0..OTHER_PORT_DATAGRAMS {
            s.send_to(b"not ours", "198.18.0.2:9").expect("send");
        }
    })
    .expect("udp in generator namespace");
    std::thread::sleep(Duration::from_millis(700)); // one more interval line

    // status from a second process sees the running responder's counters and modes.
    let out = responder_cmd(&lab, &["status", "--iface", lab::RESP_IFACE, "--json"]);
    assert!(out.status.success(), "status failed");
    let status: Value = serde_json::from_slice(&out.stdout).expect("status is JSON");
    assert_eq!(
        status["pid"].as_u64(),
        Some(r.pid() as u64),
        "status answered by another process"
    );
    assert_eq!(status["program"], "xdp_responder");
    assert_eq!(status["xdp_mode"], "native");
    assert_eq!(
        status["queues"][0]["mode"], "copy",
        "veth sockets are copy mode"
    );
    assert_eq!(status["answers"]["icmp4_echo"].as_u64(), Some(PINGS));
    assert_eq!(
        status["answers"]["udp4"].as_u64(),
        Some(UDP_SIZES.len() as u64)
    );
    assert_eq!(status["v4"][0], "198.18.0.2");
    let text = responder_cmd(&lab, &["status", "--iface", lab::RESP_IFACE]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("attached in native mode") && text.contains("0:copy"),
        "status text: {text}"
    );

    // The Prometheus endpoint serves valid exposition text with the same counts.
    let body = scrape(&lab);
    let (head, text) = body.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert_valid_exposition(text);
    assert!(
        text.contains(&format!(
            "xdp_responder_answers_total{{queue=\"0\",kind=\"icmp4_echo\"}} {PINGS}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "xdp_responder_answers_total{{queue=\"0\",kind=\"udp4\"}} {}",
            UDP_SIZES.len()
        )),
        "{text}"
    );
    // The XDP program's own count of the echo requests it redirected: one per ping.
    assert!(
        text.contains(&format!(
            "xdp_responder_xdp_program_total{{outcome=\"redirected_icmp4\"}} {PINGS}"
        )),
        "{text}"
    );
    // By default the endpoint listens on loopback only: not on the interface's own address,
    // neither from inside the namespace nor from the generator.
    let kernel_addr: SocketAddr = "198.18.0.3:9435".parse().expect("addr");
    let reach = |r: std::io::Result<TcpStream>| r.is_ok();
    let from_resp = lab
        .in_resp(move || {
            reach(TcpStream::connect_timeout(
                &kernel_addr,
                Duration::from_secs(2),
            ))
        })
        .expect("namespace");
    let from_gen = lab
        .in_gen(move || {
            reach(TcpStream::connect_timeout(
                &kernel_addr,
                Duration::from_secs(2),
            ))
        })
        .expect("namespace");
    assert!(
        !from_resp && !from_gen,
        "the metrics endpoint answers on {kernel_addr} (from the responder namespace: {from_resp}, from the generator: {from_gen})"
    );

    let mut r = r;
    let status = r.stop(Duration::from_secs(10)).expect("stop");
    assert!(status.success());
    // With --json, stdout carries only JSON objects: every line parses.
    let json: Vec<Value> = r
        .lines()
        .iter()
        .filter(|l| l.stream == Stream::Stdout)
        .map(|l| {
            serde_json::from_str(&l.text)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {}", l.text))
        })
        .collect();
    let intervals: Vec<&Value> = json.iter().filter(|v| v["type"] == "interval").collect();
    assert!(
        intervals.len() >= 2,
        "expected interval lines, got {}",
        intervals.len()
    );
    for v in &intervals {
        for key in [
            "rx_pps",
            "tx_pps",
            "rx_bps",
            "tx_bps",
            "tx_wakeups_per_s",
            "fill_ring_empty_per_s",
        ] {
            assert!(v[key].is_number(), "{key} missing in {v}");
        }
        assert!(
            v["xsk"]["rx_dropped"].is_u64()
                && v["xdp"]["seen"].is_u64()
                && v["handler_ns"]["p99"].is_u64(),
            "{v}"
        );
        // The frame gauges, published at start and whenever the worker goes to sleep
        // (between these pings): all 4096 UMEM frames (the default --frame-count) are free
        // or with the kernel, the fill ring among them.
        let gauge = |k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("{k} missing in {v}"))
        };
        assert!(gauge("frames_kernel_rx") > 0, "{v}");
        assert_eq!(
            gauge("frames_free") + gauge("frames_kernel_rx") + gauge("frames_kernel_tx"),
            4096,
            "{v}"
        );
    }
    let totals = json
        .iter()
        .find(|v| v["type"] == "totals")
        .expect("a totals object");
    // The totals equal the traffic sent.
    assert_eq!(totals["answers"]["icmp4_echo"].as_u64(), Some(PINGS));
    assert_eq!(
        totals["answers"]["udp4"].as_u64(),
        Some(UDP_SIZES.len() as u64)
    );
    // Byte counters against the bytes sent: echo requests of 98 bytes (14 + 20 + 8 + 56),
    // datagrams of 42 + payload bytes, ARP requests of 42; every answer is as long.
    let t = Totals((*totals).clone());
    let want_bytes =
        PINGS * 98 + UDP_SIZES.iter().map(|s| 42 + *s as u64).sum::<u64>() + 42 * t.answer("arp");
    assert_eq!(t.get("rx_bytes"), want_bytes, "rx bytes");
    assert_eq!(t.get("tx_bytes"), want_bytes, "tx bytes");
    assert_accounting(&t, true);
    // The XDP program counts one outcome per frame; the port bitmap took exactly the
    // datagrams to our port (not those to port 9), and every frame it saw had an outcome.
    assert_eq!(t.xdp("redirected_udp"), UDP_SIZES.len() as u64);
    assert_eq!(t.xdp("redirected_icmp4"), PINGS);
    assert!(
        t.xdp("passed") >= OTHER_PORT_DATAGRAMS
            && t.xdp("redirected") >= PINGS + UDP_SIZES.len() as u64
            && t.xdp("seen") >= t.xdp("redirected") + OTHER_PORT_DATAGRAMS,
        "seen {} redirected {} passed {}",
        t.xdp("seen"),
        t.xdp("redirected"),
        t.xdp("passed")
    );
    assert!(
        totals["handler_ns"]["samples"].as_u64().unwrap_or(0) > 0,
        "no handler timing samples"
    );
}
