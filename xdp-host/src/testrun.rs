//! `BPF_PROG_RUN` (a.k.a. `BPF_PROG_TEST_RUN`) on an XDP program, without libbpf:
//! * [`LiveFrames`], live-frames mode: the kernel runs the program `repeat` times over copies
//!   of one frame and *acts* on its verdict; `XDP_TX` becomes a transmission on the interface
//!   named in the context (`ingress_ifindex`). This is the mechanism of xdp-trafficgen.
//! * [`timed`]: the plain test run, which reports the verdict and the kernel's own time per
//!   run (`duration`, nanoseconds, averaged over `repeat` runs of the same frame).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{bail, Result};

/// `BPF_PROG_TEST_RUN` command number (linux/bpf.h, `enum bpf_cmd`).
const BPF_PROG_TEST_RUN: libc::c_long = 10;
/// `BPF_F_TEST_XDP_LIVE_FRAMES`: act on the program's verdict instead of reporting it.
pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
/// The kernel's largest live-frames batch (`TEST_XDP_MAX_BATCH`).
pub const MAX_BATCH: u32 = 256;

/// The `test` member of `union bpf_attr` (linux/bpf.h), field for field.
#[repr(C)]
#[derive(Debug, Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    /// Explicit tail padding: the kernel rejects non-zero bytes after the last field, and
    /// implicit padding bytes have no defined value.
    _pad: u32,
}

/// `struct xdp_md` (linux/bpf.h), the context handed to the program.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpMd {
    pub data: u32,
    pub data_end: u32,
    pub data_meta: u32,
    pub ingress_ifindex: u32,
    pub rx_queue_index: u32,
    pub egress_ifindex: u32,
}

/// Sends copies of one frame through an XDP program in live-frames mode.
pub struct LiveFrames<'a> {
    prog: BorrowedFd<'a>,
    frame: &'a [u8],
    ctx: XdpMd,
    batch: u32,
}

impl<'a> LiveFrames<'a> {
    /// `prog` must be a loaded XDP program; frames appear to arrive on `ifindex` queue
    /// `rx_queue`, and `XDP_TX` sends them out of that interface. `batch` frames are handled
    /// per kernel batch (1..=256).
    pub fn new(
        prog: BorrowedFd<'a>,
        frame: &'a [u8],
        ifindex: u32,
        rx_queue: u32,
        batch: u32,
    ) -> Result<Self> {
        if !(1..=MAX_BATCH).contains(&batch) {
            bail!("--batch must be 1..={MAX_BATCH}, got {batch}");
        }
        if frame.len() < 14 {
            bail!(
                "a frame needs at least an Ethernet header, got {} bytes",
                frame.len()
            );
        }
        let ctx = XdpMd {
            // No metadata; `data_end` must equal the frame length.
            data_end: frame.len() as u32,
            ingress_ifindex: ifindex,
            rx_queue_index: rx_queue,
            ..Default::default()
        };
        Ok(LiveFrames {
            prog,
            frame,
            ctx,
            batch,
        })
    }

    /// Runs the program over `repeat` frames (the kernel transmits the `XDP_TX` ones).
    pub fn send(&self, repeat: u32) -> io::Result<()> {
        if repeat == 0 {
            return Ok(());
        }
        let mut attr = TestRunAttr {
            prog_fd: self.prog.as_raw_fd() as u32,
            data_size_in: self.frame.len() as u32,
            data_in: self.frame.as_ptr() as u64,
            repeat,
            ctx_size_in: std::mem::size_of::<XdpMd>() as u32,
            ctx_in: &self.ctx as *const XdpMd as u64,
            flags: BPF_F_TEST_XDP_LIVE_FRAMES,
            batch_size: self.batch.min(repeat),
            ..Default::default()
        };
        // SAFETY: `data_in` (the frame) and `ctx_in` (our `XdpMd`) point into `self`, alive
        // and unchanged for the call, with their sizes; no output buffers are given (live
        // mode forbids them).
        unsafe { test_run(&mut attr) }
    }
}

/// Issues `BPF_PROG_TEST_RUN` with `attr`; the kernel writes its results into `attr`.
///
/// # Safety
/// Every buffer `attr` names (`data_in`, `ctx_in`, and `data_out`/`ctx_out` if set) must be
/// valid for its given size for the duration of the call, the output ones writable.
unsafe fn test_run(attr: &mut TestRunAttr) -> io::Result<()> {
    // SAFETY: `attr` is a properly laid out `bpf_attr` prefix whose size we pass; the kernel
    // touches only the buffers it names, which the caller guarantees, and `attr` itself.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_TEST_RUN,
            attr as *mut TestRunAttr,
            std::mem::size_of::<TestRunAttr>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// What a timed test run reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timed {
    /// The program's verdict on the last run (`XDP_PASS` = 2, ...).
    pub retval: u32,
    /// Mean nanoseconds per run, as the kernel measured it (`bpf_test_timer`: the clock is
    /// read around the batch of runs, so the figure includes the loop and the context setup
    /// that each run repeats, but no system call).
    pub ns_per_run: u32,
}

/// Runs the XDP program `prog` `repeat` times over `frame` and returns the verdict and the
/// mean time per run. Not live: nothing is sent, and every run sees the kernel's one copy of
/// the frame (a program that rewrites it would see its own rewrite on the next run).
pub fn timed(prog: BorrowedFd<'_>, frame: &[u8], repeat: u32) -> io::Result<Timed> {
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: frame.len() as u32,
        data_in: frame.as_ptr() as u64,
        repeat: repeat.max(1),
        ..Default::default()
    };
    // SAFETY: `data_in` is the borrowed frame, alive and unchanged for the call, with its
    // length; no output buffers and no context are given.
    unsafe { test_run(&mut attr) }?;
    Ok(Timed {
        retval: attr.retval,
        ns_per_run: attr.duration,
    })
}

/// Explains a `BPF_PROG_RUN` failure.
pub fn explain(e: &io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(libc::EINVAL) => "the kernel refused the live-frames run (needs Linux >= 5.18; the frame must fit a page; the interface index and queue must exist)",
        Some(libc::EPERM) => "BPF_PROG_RUN needs root (CAP_BPF and CAP_NET_ADMIN)",
        Some(libc::EINTR) => "interrupted by a signal",
        Some(ENOTSUPP) => "this program type does not support live frames",
        _ => "",
    };
    if hint.is_empty() {
        format!("BPF_PROG_RUN failed: {e}")
    } else {
        format!("BPF_PROG_RUN failed: {hint} ({e})")
    }
}

/// Linux's internal `ENOTSUPP` (524), which `BPF_PROG_RUN` returns for unsupported programs.
const ENOTSUPP: i32 = 524;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn attr_layout_matches_linux_bpf_h() {
        assert_eq!(offset_of!(TestRunAttr, prog_fd), 0);
        assert_eq!(offset_of!(TestRunAttr, retval), 4);
        assert_eq!(offset_of!(TestRunAttr, data_size_in), 8);
        assert_eq!(offset_of!(TestRunAttr, data_size_out), 12);
        assert_eq!(offset_of!(TestRunAttr, data_in), 16);
        assert_eq!(offset_of!(TestRunAttr, data_out), 24);
        assert_eq!(offset_of!(TestRunAttr, repeat), 32);
        assert_eq!(offset_of!(TestRunAttr, duration), 36);
        assert_eq!(offset_of!(TestRunAttr, ctx_size_in), 40);
        assert_eq!(offset_of!(TestRunAttr, ctx_size_out), 44);
        assert_eq!(offset_of!(TestRunAttr, ctx_in), 48);
        assert_eq!(offset_of!(TestRunAttr, ctx_out), 56);
        assert_eq!(offset_of!(TestRunAttr, flags), 64);
        assert_eq!(offset_of!(TestRunAttr, cpu), 68);
        assert_eq!(offset_of!(TestRunAttr, batch_size), 72);
        assert_eq!(size_of::<TestRunAttr>(), 80);
        assert_eq!(size_of::<XdpMd>(), 24);
    }
}
