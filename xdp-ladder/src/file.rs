//! The file rungs: a static file served over TCP in five ways, and a client that verifies
//! every delivery byte for byte.
//!
//! The server sends the whole file again and again on each connection (one *request* = one
//! delivery of the file; the client sends nothing, so the server copies no request bytes
//! and the counters see the serving path only):
//!
//! * `read`: `pread()` into a 64 KiB buffer, `write()` it to the socket;
//! * `mmap`: the file mapped once; `write()` from the mapping;
//! * `sendfile`: `sendfile()` from the file to the socket;
//! * `splice`: `splice()` file -> pipe, `splice()` pipe -> socket;
//! * `zerocopy`: `send(MSG_ZEROCOPY)` from the mapping (`SO_ZEROCOPY`), completions reaped
//!   from the error queue; the kernel says in each whether it had to copy after all
//!   (`SO_EE_CODE_ZEROCOPY_COPIED`), and those are counted.
//!
//! libc is used directly: these are the system calls under study, one each, nothing between
//! them and the program.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// `ee_origin` of a MSG_ZEROCOPY completion (`linux/errqueue.h`; not in the libc crate).
const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
/// `ee_code` flag: the kernel copied the data after all (`linux/errqueue.h`).
const SO_EE_CODE_ZEROCOPY_COPIED: u8 = 1;

/// Chunk of one read/write/splice/send call.
pub const CHUNK: usize = 64 * 1024;

/// How the server sends the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Read,
    Mmap,
    Sendfile,
    Splice,
    Zerocopy,
}

/// What server and client must agree on: the file and the server's TCP address.
#[derive(clap::Args, Debug)]
pub struct Service {
    /// The file served (the client reads it too, to verify every delivery).
    #[arg(long)]
    pub file: std::path::PathBuf,
    /// The server's address: where it listens, where the client connects.
    #[arg(long)]
    pub addr: IpAddr,
    /// The server's TCP port.
    #[arg(long)]
    pub port: u16,
    /// Pin to this CPU.
    #[arg(long)]
    pub cpu: Option<usize>,
}

/// Options of `xdp-ladder file-server`.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// How the file is sent.
    #[arg(long, value_enum)]
    pub mode: Mode,
    #[command(flatten)]
    pub service: Service,
    /// Exit after this many seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
}

/// Options of `xdp-ladder file-client`.
#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    #[command(flatten)]
    pub service: Service,
    /// Receive for this many seconds.
    #[arg(long)]
    pub seconds: f64,
}

/// Pins the calling thread to `cpu`.
pub fn pin(cpu: Option<usize>) -> Result<()> {
    if let Some(cpu) = cpu {
        let mut set = nix::sched::CpuSet::new();
        set.set(cpu).context("CPU number out of range")?;
        nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
            .with_context(|| format!("pinning to CPU {cpu}"))?;
    }
    Ok(())
}

/// Converts a libc return value into a result.
fn check(ret: isize, what: &str) -> std::io::Result<usize> {
    if ret < 0 {
        let e = std::io::Error::last_os_error();
        Err(std::io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(ret as usize)
    }
}

/// `splice(2)` of up to `len` bytes from `from` to `to` (`SPLICE_F_MOVE | SPLICE_F_MORE`),
/// reading at `*from_off` (which it advances) when `from` is the file, from the pipe's head
/// when it is `None`; `what` names the call in an error. Returns the bytes moved.
fn splice(
    from: RawFd,
    from_off: Option<&mut libc::loff_t>,
    to: RawFd,
    len: usize,
    what: &str,
) -> std::io::Result<usize> {
    let off = from_off.map_or(std::ptr::null_mut(), |o| o as *mut libc::loff_t);
    // SAFETY: splice between two fds; `off` is null or points to a live `loff_t` for the
    // duration of the call; the output side takes no offset (a pipe or a socket).
    let n = unsafe {
        libc::splice(
            from,
            off,
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE,
        )
    };
    check(n, what)
}

/// The file, opened and mapped.
struct Source {
    file: std::fs::File,
    len: usize,
    map: *const u8,
}

impl Source {
    fn open(path: &std::path::Path) -> Result<Source> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let len = usize::try_from(file.metadata()?.len())?;
        if len == 0 {
            bail!("{} is empty", path.display());
        }
        // SAFETY: a fresh read-only shared mapping of an open file; the result is checked.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            bail!("mmap: {}", std::io::Error::last_os_error());
        }
        Ok(Source {
            file,
            len,
            map: map.cast(),
        })
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        // SAFETY: `map` is the mapping of `len` bytes made in `open`, unmapped only here.
        unsafe { libc::munmap(self.map as *mut libc::c_void, self.len) };
    }
}

/// Totals of a server run, printed at exit.
#[derive(Debug, Default)]
struct ServerTotals {
    files: u64,
    zc_sends: u64,
    zc_completed: u64,
    zc_copied: u64,
}

/// Runs the file server.
pub fn serve(args: &ServerArgs) -> Result<()> {
    let svc = &args.service;
    pin(svc.cpu)?;
    let src = Source::open(&svc.file)?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let listener = TcpListener::bind(SocketAddr::new(svc.addr, svc.port))
        .with_context(|| format!("binding {}:{}", svc.addr, svc.port))?;
    listener.set_nonblocking(true)?;
    println!(
        "ready: file-server mode={:?} addr={}:{} size={} pid={}",
        args.mode,
        svc.addr,
        svc.port,
        src.len,
        std::process::id()
    );
    let mut totals = ServerTotals::default();
    let (pipe_r, pipe_w) = nix::unistd::pipe().context("pipe")?;
    let mut buf = vec![0u8; CHUNK];
    while Instant::now() < deadline {
        let sock = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(e) => return Err(e).context("accept"),
        };
        sock.set_nonblocking(false)?;
        sock.set_write_timeout(Some(Duration::from_secs(2)))?;
        if args.mode == Mode::Zerocopy {
            let one: libc::c_int = 1;
            // SAFETY: setsockopt on our socket with a pointer to a live c_int and its size.
            let r = unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ZEROCOPY,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            check(r as isize, "setsockopt(SO_ZEROCOPY)")?;
        }
        let fds = Fds {
            sock: sock.as_raw_fd(),
            file: src.file.as_raw_fd(),
            pipe_r: pipe_r.as_raw_fd(),
            pipe_w: pipe_w.as_raw_fd(),
        };
        // A connection ends when the client goes away (or at the deadline).
        while Instant::now() < deadline {
            match send_file(args.mode, &fds, &src, &mut buf, &mut totals) {
                Ok(()) => totals.files += 1,
                Err(_) => break,
            }
        }
        if args.mode == Mode::Zerocopy {
            reap(fds.sock, &mut totals, Duration::from_millis(200));
        }
        drop(sock);
    }
    println!(
        "file-server: files={} zerocopy_sends={} zerocopy_completed={} zerocopy_copied={}",
        totals.files, totals.zc_sends, totals.zc_completed, totals.zc_copied
    );
    Ok(())
}

struct Fds {
    sock: RawFd,
    file: RawFd,
    pipe_r: RawFd,
    pipe_w: RawFd,
}

/// Sends the whole file once on `fds.sock`.
fn send_file(
    mode: Mode,
    fds: &Fds,
    src: &Source,
    buf: &mut [u8],
    totals: &mut ServerTotals,
) -> std::io::Result<()> {
    let mut off = 0usize;
    while off < src.len {
        let want = CHUNK.min(src.len - off);
        match mode {
            Mode::Read => {
                // SAFETY: `buf` is a live buffer of at least `want` bytes.
                let n = check(
                    unsafe {
                        libc::pread(fds.file, buf.as_mut_ptr().cast(), want, off as libc::off_t)
                    },
                    "pread",
                )?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                write_all(fds.sock, &buf[..n])?;
                off += n;
            }
            Mode::Mmap => {
                // SAFETY: `off + want <= len` bytes of the live read-only mapping.
                let part = unsafe { std::slice::from_raw_parts(src.map.add(off), want) };
                write_all(fds.sock, part)?;
                off += want;
            }
            Mode::Sendfile => {
                let mut o = off as libc::off_t;
                // SAFETY: plain sendfile between two open fds with a live offset.
                let n = check(
                    unsafe { libc::sendfile(fds.sock, fds.file, &mut o, want) },
                    "sendfile",
                )?;
                if n == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                off += n;
            }
            Mode::Splice => {
                let mut o = off as libc::loff_t;
                let n = splice(
                    fds.file,
                    Some(&mut o),
                    fds.pipe_w,
                    want,
                    "splice file->pipe",
                )?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                let mut left = n;
                while left > 0 {
                    let m = splice(fds.pipe_r, None, fds.sock, left, "splice pipe->socket")?;
                    if m == 0 {
                        return Err(std::io::ErrorKind::WriteZero.into());
                    }
                    left -= m;
                }
                off += n;
            }
            Mode::Zerocopy => {
                // SAFETY: `off + want <= len` bytes of the live mapping, which stays mapped
                // (and unmodified) until the process exits, i.e. after every completion.
                let r = unsafe {
                    libc::send(fds.sock, src.map.add(off).cast(), want, libc::MSG_ZEROCOPY)
                };
                match check(r, "send(MSG_ZEROCOPY)") {
                    Ok(n) => {
                        totals.zc_sends += 1;
                        off += n;
                    }
                    // Too many notifications outstanding: collect them, then send again.
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        reap(fds.sock, totals, Duration::from_millis(10));
                    }
                    Err(e) => return Err(e),
                }
                reap(fds.sock, totals, Duration::ZERO);
            }
        }
    }
    Ok(())
}

fn write_all(sock: RawFd, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        // SAFETY: `data` is a live slice.
        let n = check(
            unsafe { libc::write(sock, data.as_ptr().cast(), data.len()) },
            "write",
        )?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    Ok(())
}

/// Collects MSG_ZEROCOPY completions from the socket's error queue (waiting up to `wait`
/// for the first one).
fn reap(sock: RawFd, totals: &mut ServerTotals, wait: Duration) {
    let until = Instant::now() + wait;
    loop {
        let mut control = [0u64; 16];
        // SAFETY: msghdr is plain data; zeroed is a valid "no name, no iov" header.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: `msg` points at our live control buffer of the given size.
        let r = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
        if r < 0 {
            if Instant::now() >= until {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within
        // `msg_controllen`; the payload of an IP_RECVERR/IPV6_RECVERR message is a
        // sock_extended_err, read unaligned.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let level = (*c).cmsg_level;
                let ty = (*c).cmsg_type;
                if (level == libc::SOL_IP && ty == libc::IP_RECVERR)
                    || (level == libc::SOL_IPV6 && ty == libc::IPV6_RECVERR)
                {
                    let e: libc::sock_extended_err =
                        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    if e.ee_origin == SO_EE_ORIGIN_ZEROCOPY {
                        let n = u64::from(e.ee_data.wrapping_sub(e.ee_info)) + 1;
                        totals.zc_completed += n;
                        if e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED != 0 {
                            totals.zc_copied += n;
                        }
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
}

/// Runs the client: connects, receives the file again and again for `--seconds`, compares
/// every byte of every delivery with the file, and prints a `RESULT` line.
pub fn client(args: &ClientArgs) -> Result<()> {
    let svc = &args.service;
    pin(svc.cpu)?;
    if !(0.1..=3600.0).contains(&args.seconds) {
        bail!("--seconds must be 0.1..=3600");
    }
    let expected =
        std::fs::read(&svc.file).with_context(|| format!("reading {}", svc.file.display()))?;
    if expected.is_empty() {
        bail!("{} is empty", svc.file.display());
    }
    let addr = SocketAddr::new(svc.addr, svc.port);
    let mut sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connecting to {addr}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let mut buf = vec![0u8; CHUNK];
    let (mut files, mut bytes) = (0u64, 0u64);
    while Instant::now() < deadline {
        let mut at = 0usize;
        while at < expected.len() {
            let want = CHUNK.min(expected.len() - at);
            let n = sock.read(&mut buf[..want]).context("receiving the file")?;
            if n == 0 {
                bail!("the server closed the connection after {files} files and {at} bytes");
            }
            if buf[..n] != expected[at..at + n] {
                bail!(
                    "delivery {files}: bytes {at}..{} differ from the file",
                    at + n
                );
            }
            at += n;
            bytes += n as u64;
        }
        files += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = sock.flush();
    println!(
        "RESULT files={files} bytes={bytes} size={} elapsed_s={elapsed:.6} verified={files}",
        expected.len()
    );
    Ok(())
}
