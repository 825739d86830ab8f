//! `xdp-gen echo-server`: the kernel's UDP echo paths the responder is compared with.
//!
//! * `simple`: `recvfrom` + `sendto`, one datagram per two syscalls, each copying the payload
//!   between the kernel and this buffer;
//! * `mmsg`: `recvmmsg` + `sendmmsg`, up to `--batch` datagrams per two syscalls (the same
//!   copies).
//!
//! Both are single-threaded, bounded by `--seconds`, stop on SIGINT/SIGTERM, and print one
//! `ready` line once bound and one `echo-server:` totals line at exit.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::gen::pin_to_cpu;
use xdp_host::signals;

/// Which kernel path to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EchoMode {
    /// recvfrom + sendto, one datagram at a time.
    Simple,
    /// recvmmsg + sendmmsg, in batches.
    Mmsg,
}

/// Options of `xdp-gen echo-server`.
#[derive(clap::Args, Clone, Debug)]
pub struct EchoArgs {
    /// Which kernel path to use.
    #[arg(long, value_enum, default_value_t = EchoMode::Simple)]
    pub mode: EchoMode,
    /// UDP port to echo on.
    #[arg(long, default_value_t = 7)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: IpAddr,
    /// Exit after this many seconds (always bounded).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
    /// Datagrams per recvmmsg/sendmmsg call (mmsg mode).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
    /// Pin the server to this CPU.
    #[arg(long)]
    pub cpu: Option<usize>,
    /// Socket receive buffer in bytes (SO_RCVBUFFORCE; 0 keeps the kernel default).
    #[arg(long, default_value_t = 4 << 20)]
    pub rcvbuf: usize,
}

/// Largest datagram we echo (a 1500-byte MTU's worth; larger ones are cut).
const BUF_LEN: usize = 2048;
/// How often a blocked receive returns to check the deadline and signals.
const POLL: Duration = Duration::from_millis(100);

/// Counters of one server run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EchoTotals {
    pub received: u64,
    pub sent: u64,
    pub send_errors: u64,
    pub calls: u64,
}

/// Runs the echo server until the deadline or a signal, then prints the totals.
pub fn run(args: &EchoArgs) -> Result<()> {
    signals::install()?;
    if let Some(cpu) = args.cpu {
        pin_to_cpu(cpu)?;
    }
    let sock = UdpSocket::bind(SocketAddr::new(args.bind, args.port)).with_context(|| {
        format!(
            "binding UDP {}:{} (port in use? ports < 1024 need root)",
            args.bind, args.port
        )
    })?;
    sock.set_read_timeout(Some(POLL)).context("SO_RCVTIMEO")?;
    if args.rcvbuf > 0 {
        nix::sys::socket::setsockopt(
            &sock.as_fd(),
            nix::sys::socket::sockopt::RcvBufForce,
            &args.rcvbuf,
        )
        .context("SO_RCVBUFFORCE (needs root)")?;
    }
    println!(
        "ready: echo-server mode={:?} addr={}:{} pid={}",
        args.mode,
        args.bind,
        args.port,
        std::process::id()
    );
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let totals = match args.mode {
        EchoMode::Simple => serve_simple(&sock, deadline, u64::MAX)?,
        EchoMode::Mmsg => serve_mmsg(&sock, deadline, args.batch as usize, u64::MAX)?,
    };
    println!(
        "echo-server: mode={:?} received={} sent={} send_errors={} calls={} seconds={:.3}",
        args.mode,
        totals.received,
        totals.sent,
        totals.send_errors,
        totals.calls,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// True until the deadline, a signal, or `limit` datagrams received.
fn running(deadline: Instant, t: &EchoTotals, limit: u64) -> bool {
    t.received < limit && !signals::stopped() && Instant::now() < deadline
}

/// True for the errors a receive with SO_RCVTIMEO returns when nothing arrived.
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}

fn serve_simple(sock: &UdpSocket, deadline: Instant, limit: u64) -> Result<EchoTotals> {
    let mut t = EchoTotals::default();
    let mut buf = [0u8; BUF_LEN];
    while running(deadline, &t, limit) {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if is_timeout(&e) => continue,
            Err(e) => return Err(e).context("recvfrom"),
        };
        t.received += 1;
        t.calls += 2;
        match sock.send_to(&buf[..n], from) {
            Ok(_) => t.sent += 1,
            Err(_) => t.send_errors += 1,
        }
    }
    Ok(t)
}

fn serve_mmsg(sock: &UdpSocket, deadline: Instant, batch: usize, limit: u64) -> Result<EchoTotals> {
    let mut t = EchoTotals::default();
    let mut b = mmsg::Batch::new(batch);
    while running(deadline, &t, limit) {
        let n = match b.recv(sock) {
            Ok(n) => n,
            Err(e) if is_timeout(&e) => continue,
            Err(e) => return Err(e).context("recvmmsg"),
        };
        t.received += n as u64;
        t.calls += 1;
        let mut done = 0;
        while done < n {
            t.calls += 1;
            match b.send(sock, done, n) {
                Ok(k) if k > 0 => {
                    t.sent += k as u64;
                    done += k;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // The datagram at `done` failed: count it, skip it, send the rest.
                Ok(_) | Err(_) => {
                    t.send_errors += 1;
                    done += 1;
                }
            }
        }
    }
    Ok(t)
}

/// `recvmmsg`/`sendmmsg` over a fixed set of buffers: the only unsafe code of the servers.
mod mmsg {
    use std::io;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    use super::BUF_LEN;

    /// `n` buffers with their iovecs, peer addresses and message headers. The headers point
    /// into the other vectors, which are allocated once and never resized, so the pointers
    /// stay valid for the life of the batch (moving the `Batch` does not move heap data).
    pub struct Batch {
        bufs: Vec<[u8; BUF_LEN]>,
        iovs: Vec<libc::iovec>,
        names: Vec<libc::sockaddr_storage>,
        hdrs: Vec<libc::mmsghdr>,
    }

    impl Batch {
        pub fn new(n: usize) -> Batch {
            let n = n.max(1);
            // SAFETY: sockaddr_storage and mmsghdr are plain C structs of integers and raw
            // pointers, for which all-zero bytes are a valid (empty, null) value.
            let (names, hdrs) = unsafe {
                (
                    vec![std::mem::zeroed::<libc::sockaddr_storage>(); n],
                    vec![std::mem::zeroed::<libc::mmsghdr>(); n],
                )
            };
            let mut b = Batch {
                bufs: vec![[0u8; BUF_LEN]; n],
                iovs: Vec::with_capacity(n),
                names,
                hdrs,
            };
            for buf in &mut b.bufs {
                b.iovs.push(libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: BUF_LEN,
                });
            }
            for i in 0..n {
                let h = &mut b.hdrs[i].msg_hdr;
                h.msg_iov = &mut b.iovs[i];
                h.msg_iovlen = 1;
                h.msg_name = (&mut b.names[i] as *mut libc::sockaddr_storage).cast();
            }
            b
        }

        /// Receives up to a batch (blocks for the first datagram up to SO_RCVTIMEO).
        pub fn recv(&mut self, sock: &UdpSocket) -> io::Result<usize> {
            for (h, iov) in self.hdrs.iter_mut().zip(&mut self.iovs) {
                h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
                h.msg_len = 0;
                iov.iov_len = BUF_LEN;
            }
            // SAFETY: every header points at a live iovec over a live BUF_LEN buffer and at
            // a live sockaddr_storage whose size is in msg_namelen; the kernel writes at most
            // that much into each, and at most `hdrs.len()` headers.
            let n = unsafe {
                libc::recvmmsg(
                    sock.as_raw_fd(),
                    self.hdrs.as_mut_ptr(),
                    self.hdrs.len() as u32,
                    libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(n as usize)
        }

        /// Sends received datagrams `from..to` back to their senders; returns how many went.
        pub fn send(&mut self, sock: &UdpSocket, from: usize, to: usize) -> io::Result<usize> {
            let to = to.min(self.hdrs.len());
            if from >= to {
                return Ok(0);
            }
            for i in from..to {
                self.iovs[i].iov_len = (self.hdrs[i].msg_len as usize).min(BUF_LEN);
            }
            // SAFETY: headers `from..to` point at live buffers holding the received bytes
            // (iov_len set to their length) and at the sender addresses recvmmsg filled in;
            // the kernel only reads them (and writes each header's msg_len).
            let n = unsafe {
                libc::sendmmsg(
                    sock.as_raw_fd(),
                    self.hdrs[from..to].as_mut_ptr(),
                    (to - from) as u32,
                    0,
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(n as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a server thread on a loopback port and checks it echoes, in both modes.
    #[test]
    fn both_modes_echo_on_loopback() {
        for mode in [EchoMode::Simple, EchoMode::Mmsg] {
            let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
            server.set_read_timeout(Some(POLL)).expect("timeout");
            let addr = server.local_addr().expect("addr");
            // The limit ends the server after the 20 datagrams; the deadline only bounds a
            // broken run.
            let deadline = Instant::now() + Duration::from_secs(60);
            let handle = std::thread::spawn(move || match mode {
                EchoMode::Simple => serve_simple(&server, deadline, 20),
                EchoMode::Mmsg => serve_mmsg(&server, deadline, 8, 20),
            });
            let client = UdpSocket::bind("127.0.0.1:0").expect("client");
            client
                .set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
            for i in 0..20u8 {
                let msg = vec![i; 1 + usize::from(i) * 50];
                client.send_to(&msg, addr).expect("send");
                let mut buf = [0u8; BUF_LEN];
                let (n, from) = client.recv_from(&mut buf).expect("echo");
                assert_eq!((from, &buf[..n]), (addr, msg.as_slice()), "{mode:?} #{i}");
            }
            let t = handle.join().expect("join").expect("serve");
            assert_eq!((t.received, t.sent, t.send_errors), (20, 20, 0), "{mode:?}");
        }
    }
}
