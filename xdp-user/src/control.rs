//! The local control socket of a running responder, and the one-responder-per-interface lock.
//!
//! Where: `/run/xdp-responder/net-<netns inode>/<ifname>.sock`, a filesystem Unix socket in a
//! directory that only its owner (root, or the responder's uid) can enter, one directory per
//! network namespace (the inode of `/proc/self/ns/net`), so that nobody else can create the
//! endpoint first (an abstract socket name could be bound by any user of the namespace).
//! Next to it, `<ifname>.lock` is held with `flock` for the responder's lifetime: the kernel
//! releases it even on SIGKILL, and a start that finds it held names the holder (its pid and
//! uid, from `SO_PEERCRED` on the socket). A socket file left by a killed responder is removed
//! by the next start, which holds the lock. Both sides check the other's credentials: the
//! server answers only root or its own uid, and clients talk only to a server running as
//! root or as themselves.
//!
//! Protocol: the client sends one line, the server answers with lines and closes.
//! `addr add <ip>`, `addr del <ip>`, `status`. Answers start with `ok` or `error`.
use std::{
    fs::File,
    io::{BufReader, Read, Write},
    net::IpAddr,
    os::unix::{
        fs::{DirBuilderExt, MetadataExt},
        net::{UnixListener, UnixStream},
    },
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::Duration,
};

use anyhow::{anyhow, bail, Context, Result};

use crate::{live_identity::LiveIdentity, loader::Loader};

/// Where the control sockets of all namespaces live.
pub const RUN_DIR: &str = "/run/xdp-responder";

/// The control socket and lock file of `ifname` in the current network namespace.
fn paths(ifname: &str) -> Result<(PathBuf, PathBuf, PathBuf)> {
    if ifname.is_empty() || ifname.contains('/') || ifname.starts_with('.') {
        bail!("{ifname:?} is not an interface name");
    }
    let ns = std::fs::metadata("/proc/self/ns/net")
        .context("reading /proc/self/ns/net (is /proc mounted?)")?
        .ino();
    let dir = Path::new(RUN_DIR).join(format!("net-{ns}"));
    Ok((
        dir.join(format!("{ifname}.sock")),
        dir.join(format!("{ifname}.lock")),
        dir,
    ))
}

/// Creates `dir` (mode 0700) if missing, and checks that it is a real directory that only
/// its owner can enter, owned by root or by us: then nobody else can have put anything in it.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if let Err(e) = std::fs::DirBuilder::new().mode(0o700).create(dir) {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(anyhow!("creating {}: {e}", dir.display()));
        }
    }
    let m = std::fs::symlink_metadata(dir).with_context(|| format!("{}", dir.display()))?;
    let me = nix::unistd::geteuid().as_raw();
    if !m.file_type().is_dir() {
        bail!("{} is not a directory: remove it", dir.display());
    }
    if m.uid() != 0 && m.uid() != me {
        bail!(
            "{} belongs to uid {}, not root or uid {me}: refusing to use it (remove it)",
            dir.display(),
            m.uid()
        );
    }
    if m.mode() & 0o077 != 0 {
        bail!(
            "{} has mode {:o}: others could create the control socket first; refusing (`chmod 700` it)",
            dir.display(),
            m.mode() & 0o777
        );
    }
    Ok(())
}

/// Who serves a Unix socket: pid and uid from `SO_PEERCRED`.
fn peer(stream: &UnixStream) -> Result<(i32, u32)> {
    let c = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)?;
    Ok((c.pid(), c.uid()))
}

/// The bound control socket and the interface lock, held until dropped (the socket file is
/// removed then; the lock goes with the file descriptor, even on SIGKILL).
pub struct Listener {
    listener: UnixListener,
    path: PathBuf,
    _lock: nix::fcntl::Flock<File>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Takes the lock of `ifname` and binds its control socket; fails, naming the holder, if
/// another responder holds it.
pub fn bind(ifname: &str) -> Result<Listener> {
    let (path, lock_path, dir) = paths(ifname)?;
    ensure_private_dir(Path::new(RUN_DIR))?;
    ensure_private_dir(&dir)?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    let lock = match nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(held) => held,
        Err((_, errno)) => {
            let holder = match UnixStream::connect(&path).ok().and_then(|s| peer(&s).ok()) {
                Some((pid, uid)) => format!(" (pid {pid}, uid {uid})"),
                None => format!(
                    " (holding {}; see `fuser -v {}`)",
                    lock_path.display(),
                    lock_path.display()
                ),
            };
            bail!(
                "another xdp-responder{holder} already serves {ifname} in this network namespace: stop it first (see `xdp-responder status --iface {ifname}`) ({errno})"
            );
        }
    };
    // We hold the lock, so no responder serves this interface. A socket file left behind is
    // stale, unless something else listens on it.
    if path.exists() {
        if let Ok(s) = UnixStream::connect(&path) {
            let who = peer(&s)
                .map(|(pid, uid)| format!("pid {pid}, uid {uid}"))
                .unwrap_or_else(|_| "an unknown process".into());
            bail!(
                "{} is held by {who}, which is not an xdp-responder holding {}: stop it or remove the socket",
                path.display(),
                lock_path.display()
            );
        }
        std::fs::remove_file(&path)
            .with_context(|| format!("removing the stale control socket {}", path.display()))?;
    }
    let listener = UnixListener::bind(&path)
        .map_err(|e| anyhow!("binding the control socket {}: {e}", path.display()))?;
    Ok(Listener {
        listener,
        path,
        _lock: lock,
    })
}

/// What the server needs to act on commands.
pub struct ControlContext {
    pub loader: Arc<Mutex<Loader>>,
    pub identity: Arc<LiveIdentity>,
    /// Renders the `status` answer.
    pub status: Box<dyn Fn() -> String + Send>,
}

/// Serves commands until `stop` is set.
pub fn serve(
    bound: Listener,
    ctx: ControlContext,
    stop: Arc<AtomicBool>,
) -> Result<thread::JoinHandle<()>> {
    bound.listener.set_nonblocking(true)?;
    Ok(thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match bound.listener.accept() {
                    Ok((stream, _)) => {
                        let _ = handle_client(stream, &ctx, &stop);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(50))
                    }
                    Err(_) => thread::sleep(Duration::from_millis(50)),
                }
            }
        })?)
}

/// Longest time a client may take to send its command (the server serves one at a time).
const COMMAND_DEADLINE: Duration = Duration::from_secs(2);

/// Reads one command line (at most 4 KiB) within [`COMMAND_DEADLINE`] in total, however
/// slowly the client sends it, and gives up as soon as `stop` is set.
fn read_command(stream: &UnixStream, stop: &AtomicBool) -> Result<String> {
    let deadline = std::time::Instant::now() + COMMAND_DEADLINE;
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    while !line.contains(&b'\n') && line.len() < 4096 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || stop.load(Ordering::Relaxed) {
            bail!("no command within {COMMAND_DEADLINE:?}");
        }
        stream.set_read_timeout(Some(left.min(Duration::from_millis(50))))?;
        let n = match (&*stream).read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            break;
        }
        line.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    Ok(String::from_utf8_lossy(line.get(..end).unwrap_or_default()).into_owned())
}

fn handle_client(stream: UnixStream, ctx: &ControlContext, stop: &AtomicBool) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(COMMAND_DEADLINE))?;
    let mut out = stream.try_clone()?;
    let creds = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)?;
    let me = nix::unistd::geteuid().as_raw();
    if creds.uid() != 0 && creds.uid() != me {
        writeln!(
            out,
            "error permission denied: only root or uid {me} may control this responder"
        )?;
        return Ok(());
    }
    let line = read_command(&stream, stop)?;
    let answer = match execute(line.trim(), ctx) {
        Ok(text) => format!("ok {text}"),
        Err(e) => format!("error {e:#}"),
    };
    writeln!(out, "{answer}")?;
    Ok(())
}

fn execute(line: &str, ctx: &ControlContext) -> Result<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["status"] => Ok((ctx.status)()),
        ["addr", op @ ("add" | "del"), ip] => {
            let ip: IpAddr = ip
                .parse()
                .with_context(|| format!("{ip:?} is not an IP address"))?;
            let mut loader = ctx
                .loader
                .lock()
                .map_err(|_| anyhow!("loader lock poisoned"))?;
            if *op == "add" {
                add_addr(&mut *loader, &ctx.identity, ip)
            } else {
                del_addr(&mut *loader, &ctx.identity, ip)
            }
        }
        _ => bail!("unknown command {line:?}; commands: `status`, `addr add IP`, `addr del IP`"),
    }
}

/// The kernel side of the address set: the XDP program's address maps.
pub trait AddrTable {
    fn add_addr(&mut self, ip: IpAddr) -> Result<()>;
    fn remove_addr(&mut self, ip: IpAddr) -> Result<()>;
}

impl AddrTable for Loader {
    fn add_addr(&mut self, ip: IpAddr) -> Result<()> {
        crate::loader::Program::add_addr(self, ip)
    }
    fn remove_addr(&mut self, ip: IpAddr) -> Result<()> {
        crate::loader::Program::remove_addr(self, ip)
    }
}

/// Refuses addresses a host cannot answer for as its own: multicast, the limited broadcast,
/// unspecified and loopback addresses (Linux's `ip_route_input` and `ipv6_rcv` treat these
/// as martians, so no reply from them would be right).
pub fn check_addr(ip: IpAddr) -> Result<()> {
    let why = match ip {
        IpAddr::V4(a) if a.is_multicast() => Some("a multicast address"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        IpAddr::V6(a) if a.is_multicast() => Some("a multicast address"),
        a if a.is_unspecified() => Some("the unspecified address"),
        a if a.is_loopback() => Some("a loopback address"),
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => {
            Some("an IPv4-mapped IPv6 address (give the IPv4 address itself)")
        }
        _ => None,
    };
    match why {
        Some(why) => bail!("{ip} is {why}: the responder answers only for unicast addresses"),
        None => Ok(()),
    }
}

/// `addr add`: validates `ip`, then updates the workers first (so the first redirected frame
/// is already answered) and the maps second; if the map update fails (e.g. the map is full),
/// the workers' identity is put back as it was, so both sides always agree.
pub fn add_addr(table: &mut dyn AddrTable, live: &LiveIdentity, ip: IpAddr) -> Result<String> {
    check_addr(ip)?;
    let (_, before) = live.load();
    let had = match ip {
        IpAddr::V4(a) => before.v4.contains(&a),
        IpAddr::V6(a) => before.v6.contains(&a),
    };
    if had {
        return Ok(format!("already answering for {ip}"));
    }
    live.update(|id| add_ip(id, ip));
    if let Err(e) = table.add_addr(ip) {
        live.update(|id| remove_ip(id, ip));
        return Err(e.context(format!("not answering for {ip}")));
    }
    Ok(format!("answering for {ip}"))
}

/// `addr del`: the maps first (no more frames redirected for `ip`), then the workers; if the
/// map update fails, the workers keep answering for it, as the map still sends its frames.
pub fn del_addr(table: &mut dyn AddrTable, live: &LiveIdentity, ip: IpAddr) -> Result<String> {
    table
        .remove_addr(ip)
        .with_context(|| format!("still answering for {ip}"))?;
    live.update(|id| remove_ip(id, ip));
    Ok(format!("no longer answering for {ip}"))
}

pub fn add_ip(id: &mut crate::handlers::Identity, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) if !id.v4.contains(&v4) => id.v4.push(v4),
        IpAddr::V6(v6) if !id.v6.contains(&v6) => id.v6.push(v6),
        _ => {}
    }
}

fn remove_ip(id: &mut crate::handlers::Identity, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => id.v4.retain(|a| *a != v4),
        IpAddr::V6(v6) => id.v6.retain(|a| *a != v6),
    }
}

/// Client side: sends one command to the responder serving `ifname`, returns its answer.
/// Talks only to a server running as root or as the caller's uid.
pub fn request(ifname: &str, command: &str) -> Result<String> {
    let (path, _, _) = paths(ifname)?;
    let stream = UnixStream::connect(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => anyhow!(
            "permission denied on {}: only root (or the uid the responder runs as) may control it",
            path.display()
        ),
        _ => anyhow!("no xdp-responder is running on {ifname} in this network namespace ({e}); start one with `xdp-responder run --iface {ifname} ...`"),
    })?;
    let (pid, uid) = peer(&stream)?;
    let me = nix::unistd::geteuid().as_raw();
    if uid != 0 && uid != me {
        bail!(
            "{} is served by pid {pid} with uid {uid}, neither root nor uid {me}: not talking to it",
            path.display()
        );
    }
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut w = stream.try_clone()?;
    writeln!(w, "{command}")?;
    let mut answer = String::new();
    BufReader::new(stream).read_to_string(&mut answer)?;
    let answer = answer.trim_end().to_string();
    match answer.strip_prefix("ok") {
        Some(rest) => Ok(rest.trim_start().to_string()),
        None => bail!("{}", answer.strip_prefix("error ").unwrap_or(&answer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::Identity;

    #[test]
    fn add_and_remove_addresses_without_duplicates() {
        let mut id = Identity::default();
        let a: IpAddr = "198.18.0.7".parse().unwrap();
        let b: IpAddr = "2001:2::7".parse().unwrap();
        add_ip(&mut id, a);
        add_ip(&mut id, a);
        add_ip(&mut id, b);
        assert_eq!((id.v4.len(), id.v6.len()), (1, 1));
        remove_ip(&mut id, a);
        assert!(id.v4.is_empty());
    }

    /// An address map that holds at most `room` addresses, like the XDP program's maps.
    struct Table {
        room: usize,
        held: Vec<IpAddr>,
        fail_removes: bool,
    }

    impl AddrTable for Table {
        fn add_addr(&mut self, ip: IpAddr) -> Result<()> {
            if self.held.len() >= self.room {
                bail!("adding address {ip}: map full (E2BIG)");
            }
            self.held.push(ip);
            Ok(())
        }
        fn remove_addr(&mut self, ip: IpAddr) -> Result<()> {
            if self.fail_removes {
                bail!("removing address {ip}: EPERM");
            }
            self.held.retain(|a| *a != ip);
            Ok(())
        }
    }

    fn ids(live: &LiveIdentity) -> Vec<IpAddr> {
        let (_, id) = live.load();
        id.v4
            .iter()
            .map(|a| IpAddr::V4(*a))
            .chain(id.v6.iter().map(|a| IpAddr::V6(*a)))
            .collect()
    }

    #[test]
    fn the_socket_directory_must_be_private_and_ours() {
        let base = std::env::temp_dir().join(format!("xdp-ctl-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir(&base).unwrap();
        let dir = base.join("d");
        ensure_private_dir(&dir).unwrap();
        let m = std::fs::metadata(&dir).unwrap();
        assert_eq!(m.mode() & 0o777, 0o700);
        ensure_private_dir(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = ensure_private_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("mode 777"), "{e}");
        let link = base.join("l");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(
            ensure_private_dir(&link).is_err(),
            "a symlink is not our directory"
        );
        std::fs::remove_dir_all(&base).unwrap();
        assert!(paths("a/b").is_err() && paths("").is_err() && paths("..").is_err());
    }

    #[test]
    fn addresses_that_are_not_unicast_are_refused() {
        let live = LiveIdentity::new(Identity::default());
        let mut t = Table {
            room: 10,
            held: vec![],
            fail_removes: false,
        };
        for bad in [
            "224.0.0.1",
            "239.1.2.3",
            "255.255.255.255",
            "0.0.0.0",
            "127.0.0.1",
            "127.1.2.3",
            "ff02::1",
            "ff05::2",
            "::",
            "::1",
            "::ffff:198.18.0.9",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            let e = add_addr(&mut t, &live, ip).unwrap_err().to_string();
            assert!(e.contains("only for unicast"), "{bad}: {e}");
        }
        assert!(t.held.is_empty() && ids(&live).is_empty());
        for good in ["198.18.0.9", "2001:2::9", "10.0.0.1", "fe80::1"] {
            add_addr(&mut t, &live, good.parse().unwrap()).unwrap();
        }
        let mut held = t.held.clone();
        held.sort();
        let mut known = ids(&live);
        known.sort();
        assert_eq!(held, known);
    }

    #[test]
    fn a_failed_map_update_leaves_map_and_identity_agreeing() {
        let live = LiveIdentity::new(Identity::default());
        let mut t = Table {
            room: 2,
            held: vec![],
            fail_removes: false,
        };
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "198.18.0.2".parse().unwrap();
        let c: IpAddr = "2001:2::3".parse().unwrap();
        add_addr(&mut t, &live, a).unwrap();
        add_addr(&mut t, &live, b).unwrap();
        let e = format!("{:#}", add_addr(&mut t, &live, c).unwrap_err());
        assert!(
            e.contains("not answering for 2001:2::3") && e.contains("map full"),
            "{e}"
        );
        assert_eq!(ids(&live), vec![a, b], "rolled back");
        assert_eq!(t.held, vec![a, b]);
        // Adding one we have is not a second entry.
        assert!(add_addr(&mut t, &live, a).unwrap().contains("already"));
        assert_eq!(t.held, vec![a, b]);
        // A failed removal keeps the address on both sides.
        t.fail_removes = true;
        assert!(del_addr(&mut t, &live, a).is_err());
        assert_eq!(ids(&live), vec![a, b]);
        assert_eq!(t.held, vec![a, b]);
        t.fail_removes = false;
        del_addr(&mut t, &live, a).unwrap();
        assert_eq!(ids(&live), vec![b]);
        assert_eq!(t.held, vec![b]);
    }
}
