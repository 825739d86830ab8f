//! Faults: each ends with a clear message (or a clean exit) and leaves no XDP program, socket
//! or process behind. Complements `clear_errors_for_bad_setups` and the SIGKILL test in
//! `responder.rs` (zero-copy refused, missing queue, MTU too large, two responders, no root).
//!
//! * a queue another AF_XDP socket holds (EBUSY): retried for a bounded time, then a one-line
//!   error that names the holder; and a queue released during the retry is taken;
//! * the UMEM refused because of the memlock limit (no CAP_IPC_LOCK): says what to do;
//! * the interface deleted while running: a clean exit within seconds, with totals.
//!
//! Run with `--test-threads=1`.
use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

use integration_tests::*;
use nix::libc;
use xtask::responder::Responder;

const V4: &str = "198.18.0.2";

/// A bare AF_XDP socket bound (copy mode) to one queue: it holds the queue the way another
/// AF_XDP program would. Closing it (drop) releases the queue.
struct XskHolder {
    fd: Option<OwnedFd>,
    area: usize,
    len: usize,
}

const SOL_XDP: libc::c_int = 283;
const XDP_RX_RING: libc::c_int = 2;
const XDP_UMEM_REG: libc::c_int = 4;
const XDP_UMEM_FILL_RING: libc::c_int = 5;
const XDP_UMEM_COMPLETION_RING: libc::c_int = 6;
const XDP_COPY: u16 = 1 << 1;

#[repr(C)]
struct UmemReg {
    addr: u64,
    len: u64,
    chunk_size: u32,
    headroom: u32,
    flags: u32,
    tx_metadata_len: u32,
}

#[repr(C)]
struct SockaddrXdp {
    family: u16,
    flags: u16,
    ifindex: u32,
    queue_id: u32,
    shared_umem_fd: u32,
}

impl XskHolder {
    /// Binds to `queue` of `ifname`; run inside the interface's namespace.
    fn bind(ifname: &str, queue: u32) -> std::io::Result<XskHolder> {
        let last = std::io::Error::last_os_error;
        let len = 16 * 4096;
        // SAFETY: plain syscalls; every resource ends up owned by the returned value (or is
        // released on the error paths by its drop).
        unsafe {
            let raw = libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0);
            if raw < 0 {
                return Err(last());
            }
            let fd = OwnedFd::from_raw_fd(raw);
            let sock = fd.as_raw_fd();
            let area = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if area == libc::MAP_FAILED {
                return Err(last());
            }
            let holder = XskHolder {
                fd: Some(fd),
                area: area as usize,
                len,
            };
            let reg = UmemReg {
                addr: area as u64,
                len: len as u64,
                chunk_size: 4096,
                headroom: 0,
                flags: 0,
                tx_metadata_len: 0,
            };
            let opt = |name, val: *const libc::c_void, size: usize| {
                libc::setsockopt(sock, SOL_XDP, name, val, size as u32)
            };
            if opt(
                XDP_UMEM_REG,
                (&reg as *const UmemReg).cast(),
                std::mem::size_of::<UmemReg>(),
            ) < 0
            {
                return Err(last());
            }
            let entries: libc::c_int = 16;
            for ring in [XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING] {
                if opt(ring, (&entries as *const libc::c_int).cast(), 4) < 0 {
                    return Err(last());
                }
            }
            let name = std::ffi::CString::new(ifname).expect("name");
            let ifindex = libc::if_nametoindex(name.as_ptr());
            if ifindex == 0 {
                return Err(last());
            }
            let sa = SockaddrXdp {
                family: libc::AF_XDP as u16,
                flags: XDP_COPY,
                ifindex,
                queue_id: queue,
                shared_umem_fd: 0,
            };
            if libc::bind(
                sock,
                (&sa as *const SockaddrXdp).cast(),
                std::mem::size_of::<SockaddrXdp>() as u32,
            ) < 0
            {
                return Err(last());
            }
            Ok(holder)
        }
    }
}

impl Drop for XskHolder {
    fn drop(&mut self) {
        // The socket first (its UMEM pins the area), then the area.
        drop(self.fd.take());
        // SAFETY: `area..area + len` is the mapping made in `bind`, used by nothing else now.
        unsafe { libc::munmap(self.area as *mut libc::c_void, self.len) };
    }
}

fn run_args(extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "run",
        "--iface",
        lab::RESP_IFACE,
        "--addr",
        V4,
        "--duration",
        "30",
    ]
    .map(String::from)
    .to_vec();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Exactly one `error:` line, no panic; returns stderr.
fn one_error_line(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure, got success");
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "not exactly one error line: {err}"
    );
    assert!(
        err.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("error:")),
        "the error is not the last line: {err}"
    );
    err
}

#[test]
fn busy_queue_is_retried_then_named() {
    if !privileged() {
        return;
    }
    let lab = lab("flt-busy", 1);
    let holder = lab
        .in_resp(|| XskHolder::bind(lab::RESP_IFACE, 0))
        .expect("namespace")
        .expect("bind a holder socket to queue 0");

    // Held for good: a bounded retry, then an error naming the holder (this test process).
    let started = Instant::now();
    let args = run_args(&[]);
    let out = responder_cmd(&lab, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let took = started.elapsed();
    let err = one_error_line(&out);
    assert!(
        err.contains("is busy (EBUSY"),
        "no note about the retry: {err}"
    );
    for needle in [
        "stayed busy",
        "already bound by another AF_XDP socket",
        &format!("pid {}", std::process::id()),
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    }
    assert!(
        took < Duration::from_secs(20),
        "giving up on a busy queue took {took:?}"
    );
    assert!(!xdp_attached(&lab), "a failed start left XDP attached");

    // Released while the responder retries: it takes the queue and answers.
    let bin = responder_bin();
    let mut cmd = vec![bin.to_string_lossy().into_owned()];
    cmd.extend(run_args(&[]));
    let mut cmd = lab.exec_resp(&cmd);
    die_with_parent(&mut cmd);
    let mut r = Responder::spawn(cmd, "[responder] ").expect("spawn responder");
    assert!(
        eventually(Duration::from_secs(10), || r
            .output()
            .iter()
            .any(|l| l.contains("is busy (EBUSY"))),
        "the responder did not report the busy queue"
    );
    drop(holder);
    r.wait_ready(Duration::from_secs(15), &AtomicBool::new(false))
        .expect("the responder took the queue once it was released");
    assert!(
        gen_ok(&lab, &["ping", "-c", "2", "-i", "0.2", "-W", "2", V4]),
        "no answer after taking the released queue"
    );
    let status = r.stop(Duration::from_secs(10)).expect("stop");
    assert!(status.success(), "responder exited with {status:?}");
    assert!(!xdp_attached(&lab), "XDP left attached");
}

#[test]
fn memlock_refusal_says_what_to_do() {
    if !privileged() {
        return;
    }
    let lab = lab("flt-memlock", 1);
    let bin = responder_bin();
    // Without CAP_IPC_LOCK the UMEM is charged to RLIMIT_MEMLOCK (64 KiB here, and without
    // CAP_SYS_RESOURCE the responder cannot raise it): the kernel refuses it with ENOBUFS.
    let mut cmd: Vec<String> = [
        "setpriv",
        "--bounding-set",
        "-ipc_lock,-sys_resource",
        "--inh-caps",
        "-ipc_lock,-sys_resource",
        "--",
        "prlimit",
        "--memlock=65536:65536",
    ]
    .map(String::from)
    .to_vec();
    cmd.push(bin.to_string_lossy().into_owned());
    cmd.extend(run_args(&[]));
    let mut cmd = lab.exec_resp(&cmd);
    let out = die_with_parent(&mut cmd)
        .output()
        .expect("run the responder without CAP_IPC_LOCK");
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let err = one_error_line(&out);
    for needle in [
        "refused to pin",
        "memlock limit 64 KiB",
        "lacks CAP_IPC_LOCK",
        "ulimit -l unlimited",
        "--frame-count",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    }
    assert!(!xdp_attached(&lab), "a failed start left XDP attached");

    // With the limit raised it starts (nothing stale was left behind).
    let r = start(&lab, &default_args());
    assert!(
        gen_ok(&lab, &["ping", "-c", "1", "-W", "2", V4]),
        "no answer after the failed start"
    );
    drop(r);
}

#[test]
fn interface_deleted_while_running_exits_cleanly() {
    if !privileged() {
        return;
    }
    let lab = lab("flt-linkdel", 1);
    let mut r = start(&lab, &default_args());
    assert!(
        gen_ok(&lab, &["ping", "-c", "1", "-W", "2", V4]),
        "no answer before the deletion"
    );
    // Traffic in flight while the interface goes: a ping runs on (its errors are expected).
    let pinger =
        KillOnDrop::spawn_quiet(lab.exec_gen(&["ping", "-q", "-i", "0.01", "-w", "3", V4]));
    std::thread::sleep(Duration::from_millis(300));
    assert!(lab
        .exec_resp(&["ip", "link", "del", "dev", lab::RESP_IFACE])
        .status()
        .expect("ip link del")
        .success());
    let gone = Instant::now();
    let mut status = None;
    while gone.elapsed() < Duration::from_secs(10) {
        if let Some(s) = r.try_status().expect("status") {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(pinger);
    let status = status.unwrap_or_else(|| {
        panic!(
            "the responder still runs {:?} after its interface was deleted",
            gone.elapsed()
        )
    });
    let status = r.stop(Duration::from_secs(5)).unwrap_or(status);
    let out = r.output();
    assert!(
        status.success(),
        "responder exited with {status:?}:\n{}",
        out.join("\n")
    );
    assert!(
        out.iter()
            .any(|l| l.contains("stopping (interface went away)")),
        "no stop reason printed:\n{}",
        out.join("\n")
    );
    assert!(
        out.iter().any(|l| l.starts_with("totals after")),
        "no totals printed"
    );
    assert!(!out.iter().any(|l| l.contains("panicked")), "panicked");
    // The totals are complete after the interface went: the echo answered before the
    // deletion is there, and nothing was handled that the XDP program did not redirect.
    let t = Totals::from_output(&out);
    assert!(
        t.answer("icmp4_echo") >= 1,
        "the answer before the deletion is missing"
    );
    assert!(
        t.get("rx_packets") <= t.xdp("redirected"),
        "user space received {} frames, the XDP program redirected {}",
        t.get("rx_packets"),
        t.xdp("redirected")
    );
    assert_eq!(t.xdp("aborted"), 0);
}
