//! Privileged test of the copy ladder's counters: a short run of one rung that copies
//! (UDP recvfrom/sendto) and one meant to copy nothing in user space (sendfile), in an own
//! lab, with the binaries of `cargo build`. It checks that the in-kernel counters move
//! where payload is copied and stay at zero where it is not; no speed is asserted.

use std::sync::atomic::AtomicBool;

use integration_tests::{lab, privileged};
use xtask::paths;
use xtask::tasks::ladder::{self, Bins, LadderArgs, Measured};

fn bins() -> Bins {
    let dir = paths::target_dir().join("debug");
    let bin = |n: &str| {
        let p = dir.join(n);
        assert!(
            p.exists(),
            "{} is missing: run `cargo build --workspace` first",
            p.display()
        );
        p
    };
    Bins {
        responder: bin(paths::RESPONDER_BIN),
        gen: bin("xdp-gen"),
        ladder: bin("xdp-ladder"),
    }
}

fn runs<'a>(table: &'a ladder::Table, key: &str) -> &'a [Measured] {
    let (_, r) = table
        .iter()
        .find(|(rung, _)| rung.key == key)
        .unwrap_or_else(|| panic!("rung {key} not run"));
    match r {
        Ok(runs) => runs,
        Err(e) => panic!("rung {key} failed: {e}"),
    }
}

#[test]
fn counters_move_for_copies_and_stay_zero_for_sendfile() {
    if !privileged() {
        return;
    }
    let lab = lab("ladder", 1);
    ladder::prepare(&lab).expect("tune lab");
    let dir = paths::target_dir().join(format!(
        "ladder-test{}",
        std::env::var("XDP_TEST_TAG").unwrap_or_default()
    ));
    let file = ladder::make_file(&dir).expect("file");
    let args = LadderArgs {
        quick: true,
        window: 2.0,
        repeats: 1,
        iface: None,
        only: vec!["recvfrom".into(), "sendfile".into()],
        prefix: lab.spec().prefix.clone(),
        out: dir.clone(),
    };
    let table =
        ladder::measure(&lab, &bins(), &args, &file, &AtomicBool::new(false)).expect("measure");

    // recvfrom/sendto: every answered datagram's 18-byte payload went through the server's
    // user buffer twice (recvfrom: kernel -> user, sendto: user -> kernel), as the socket
    // tracepoints count it, and the server made system calls.
    let udp = &runs(&table, "recvfrom")[0];
    assert!(udp.units > 0.0, "no packet answered: {udp:?}");
    let syscalls = udp.per_unit("server.syscalls.calls").expect("syscalls");
    assert!(syscalls >= 1.0, "{syscalls} system calls per packet");
    let rx = udp.per_unit("server.sock_user_rx.bytes").expect("rx bytes");
    let tx = udp.per_unit("server.sock_user_tx.bytes").expect("tx bytes");
    assert!(
        rx > 0.0 && tx > 0.0,
        "{rx} / {tx} bytes copied to / from user per packet"
    );
    // Per message the kernel copied exactly the 18-byte payload each way (a ratio of two
    // kernel counters, independent of how the window's packet count is estimated).
    let per_msg = |dir: &str| {
        let c = &udp.counts;
        c[&format!("server.sock_user_{dir}.bytes")] / c[&format!("server.sock_user_{dir}.calls")]
    };
    assert_eq!(
        (per_msg("rx"), per_msg("tx")),
        (18.0, 18.0),
        "bytes per datagram"
    );
    if let Some(user) = ladder::user_copy_bytes(udp) {
        assert!(
            user >= 18.0,
            "{user} user<->kernel bytes per packet (fentry)"
        );
    }

    // sendfile: files were delivered (and verified byte for byte by the client), sent
    // without a user buffer, and the server's user<->kernel copies stay at 0.
    let sf = &runs(&table, "sendfile")[0];
    assert!(sf.units > 0.0, "no file delivered: {sf:?}");
    let user = ladder::user_bytes(sf).expect("user bytes");
    assert_eq!(
        user, 0.0,
        "sendfile server moved {user} bytes per request through user buffers"
    );
    let kernel_tx = sf
        .per_unit("server.sock_kernel_tx.bytes")
        .expect("kernel tx");
    assert!(
        kernel_tx >= ladder::FILE_SIZE as f64 * 0.5,
        "{kernel_tx} bytes per request sent by sendfile"
    );
    if let Some(user) = ladder::user_copy_bytes(sf) {
        assert_eq!(
            user, 0.0,
            "sendfile server copied {user} bytes per request (fentry)"
        );
    }
    // The client did copy what it received: the counters see its role too.
    let client = sf
        .per_unit("peer.sock_user_rx.bytes")
        .expect("client bytes");
    assert!(client > 0.0, "the client's receive copies were not counted");
    let _ = std::fs::remove_dir_all(&dir);
}
