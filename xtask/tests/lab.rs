//! Privileged test of the lab itself (no responder needed): build a lab, check links,
//! addresses and offloads, run a kernel UDP echo server on the responder side's
//! kernel-served address and check it with `udp_echo_check` from the client namespace,
//! then drop the lab and check nothing is left. Needs root: without it the test fails,
//! unless `XDP_SKIP_PRIVILEGED` is set (`cargo xtask test --skip-privileged`); then it
//! records the skip in `XDP_SKIP_LOG`, which `cargo xtask test` counts as skipped.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use xtask::lab::{self, Lab, LabSpec};
use xtask::netns::{in_netns, netns_exists};
use xtask::tasks::ci;
use xtask::{cmd, privilege, udp_echo_check};

/// `xtasktest`, or `xtasktest{tag}` with `XDP_TEST_TAG` set (runs from several checkouts).
fn prefix() -> String {
    format!(
        "xtasktest{}",
        std::env::var("XDP_TEST_TAG").unwrap_or_default()
    )
}

/// True when the test can run; false after recording a skip; panics when not root and no
/// skip was asked for (the same rule as `integration_tests::privileged`).
fn privileged() -> bool {
    if privilege::is_root() {
        return true;
    }
    let asked =
        std::env::var_os(ci::SKIP_PRIVILEGED_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    assert!(
        asked,
        "this test needs root (it creates network namespaces): run `sudo cargo xtask test`, or \
         skip it explicitly with `cargo xtask test --skip-privileged` ({}=1 for plain cargo test)",
        ci::SKIP_PRIVILEGED_ENV
    );
    let test = std::thread::current()
        .name()
        .unwrap_or("lab test")
        .to_string();
    eprintln!("SKIPPED {test}: needs root");
    if let Some(path) = std::env::var_os(ci::SKIP_LOG_ENV) {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{test}: needs root"))
            .expect("record the skip");
    }
    false
}

fn kernel_echo_server(
    ns: &str,
    addr: IpAddr,
    datagrams: usize,
) -> Result<std::thread::JoinHandle<Result<()>>> {
    let (tx, rx) = mpsc::channel::<Result<SocketAddr, String>>();
    let ns = ns.to_string();
    let handle = std::thread::spawn(move || -> Result<()> {
        in_netns(&ns, move || -> Result<()> {
            let sock = match UdpSocket::bind((addr, lab::UDP_ECHO_PORT)) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return Err(e.into());
                }
            };
            sock.set_read_timeout(Some(Duration::from_secs(5)))?;
            let _ = tx.send(Ok(sock.local_addr()?));
            let mut buf = vec![0u8; 2048];
            for _ in 0..datagrams {
                let (n, peer) = sock.recv_from(&mut buf).context("server recv")?;
                sock.send_to(&buf[..n], peer).context("server send")?;
            }
            Ok(())
        })?
    });
    rx.recv_timeout(Duration::from_secs(5))
        .context("echo server did not start")?
        .map_err(anyhow::Error::msg)
        .context("echo server bind")?;
    Ok(handle)
}

#[test]
fn lab_up_check_and_down() -> Result<()> {
    if !privileged() {
        return Ok(());
    }
    let lab = Lab::up(LabSpec::new(prefix(), 2))?;
    assert!(netns_exists(lab.gen_ns()) && netns_exists(lab.resp_ns()));

    // Queues and MACs on both ends.
    for (out, mac) in [
        (
            cmd::output(&mut lab.exec_gen(&["ip", "-d", "link", "show", lab::GEN_IFACE]))?,
            lab::GEN_MAC,
        ),
        (
            cmd::output(&mut lab.exec_resp(&["ip", "-d", "link", "show", lab::RESP_IFACE]))?,
            lab::RESP_MAC,
        ),
    ] {
        assert!(out.contains("numtxqueues 2 numrxqueues 2"), "{out}");
        assert!(out.contains(mac), "{out}");
        assert!(out.contains("LOWER_UP"), "{out}");
    }
    // TX checksum offload off on both ends.
    for out in [
        cmd::output(&mut lab.exec_gen(&["ethtool", "-k", lab::GEN_IFACE]))?,
        cmd::output(&mut lab.exec_resp(&["ethtool", "-k", lab::RESP_IFACE]))?,
    ] {
        assert!(out.contains("tx-checksumming: off"), "{out}");
    }
    // The XDP-owned addresses are in no kernel.
    let resp_addrs = cmd::output(&mut lab.exec_resp(&["ip", "addr"]))?;
    assert!(
        !resp_addrs.contains(&format!("{}/", lab::RESP_XDP_IPV4)),
        "{resp_addrs}"
    );
    assert!(
        !resp_addrs.contains(&format!("{}/", lab::RESP_XDP_IPV6)),
        "{resp_addrs}"
    );

    // Kernel pass-through address answers ping.
    cmd::output(&mut lab.exec_gen(&[
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        &lab::RESP_KERNEL_IPV4.to_string(),
    ]))?;
    cmd::output(&mut lab.exec_gen(&[
        "ping",
        "-6",
        "-c",
        "1",
        "-W",
        "2",
        &lab::RESP_KERNEL_IPV6.to_string(),
    ]))?;

    // UDP echo from the client namespace against a kernel echo server, both families.
    for (addr, max) in [
        (IpAddr::V4(lab::RESP_KERNEL_IPV4), 1472),
        (IpAddr::V6(lab::RESP_KERNEL_IPV6), 1452),
    ] {
        let sizes = [0, 1, 64, 512, max];
        let server = kernel_echo_server(lab.resp_ns(), addr, sizes.len())?;
        let target = SocketAddr::new(addr, lab::UDP_ECHO_PORT);
        let report =
            lab.in_gen(move || udp_echo_check(target, &sizes, Duration::from_secs(2)))??;
        assert!(report.all_ok(), "{report}");
        assert_eq!(report.sent, sizes.len());
        server
            .join()
            .map_err(|_| anyhow::anyhow!("server panicked"))??;
    }

    // Up again with the same prefix replaces the lab (leftovers removed first).
    let gen = lab.gen_ns().to_string();
    lab.persist();
    let lab = Lab::up(LabSpec::new(prefix(), 1))?;
    let out = cmd::output(&mut lab.exec_gen(&["ip", "-d", "link", "show", lab::GEN_IFACE]))?;
    assert!(out.contains("numtxqueues 1 numrxqueues 1"), "{out}");

    drop(lab);
    assert!(!netns_exists(&gen));
    assert!(!netns_exists(&lab::resp_ns_name(&prefix())));
    // Idempotent.
    Lab::down(&prefix())?;
    Ok(())
}
