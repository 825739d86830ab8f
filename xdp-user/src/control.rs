//! The local control socket of a running responder: an abstract Unix socket named after the
//! interface, so it lives in the responder's network namespace, vanishes with the process
//! (even on SIGKILL), and doubles as the one-responder-per-interface lock.
//!
//! Protocol: the client sends one line, the server answers with lines and closes.
//! `addr add <ip>`, `addr del <ip>`, `status`. Answers start with `ok` or `error`.
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::IpAddr,
    os::linux::net::SocketAddrExt,
    os::unix::net::{SocketAddr, UnixListener, UnixStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::Duration,
};

use anyhow::{anyhow, bail, Context, Result};

use crate::{live_identity::LiveIdentity, loader::Loader};

fn address(ifname: &str) -> Result<SocketAddr> {
    SocketAddr::from_abstract_name(format!("xdp-responder/{ifname}").as_bytes())
        .context("control socket name")
}

/// Binds the control socket for `ifname`; fails if another responder holds it.
pub fn bind(ifname: &str) -> Result<UnixListener> {
    UnixListener::bind_addr(&address(ifname)?).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow!(
                "another xdp-responder already serves {ifname} in this network namespace: stop it first (see `xdp-responder status --iface {ifname}`)"
            )
        } else {
            anyhow!("binding the control socket for {ifname}: {e}")
        }
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
    listener: UnixListener,
    ctx: ControlContext,
    stop: Arc<AtomicBool>,
) -> Result<thread::JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    Ok(thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = handle_client(stream, &ctx);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(50))
                    }
                    Err(_) => thread::sleep(Duration::from_millis(50)),
                }
            }
        })?)
}

fn handle_client(stream: UnixStream, ctx: &ControlContext) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
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
    let mut line = String::new();
    BufReader::new(stream.take(4096)).read_line(&mut line)?;
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
                // Workers learn it first, so the first redirected frame is already answered.
                ctx.identity.update(|id| add_ip(id, ip));
                loader.add_addr(ip)?;
                Ok(format!("answering for {ip}"))
            } else {
                loader.remove_addr(ip)?;
                ctx.identity.update(|id| remove_ip(id, ip));
                Ok(format!("no longer answering for {ip}"))
            }
        }
        _ => bail!("unknown command {line:?}; commands: `status`, `addr add IP`, `addr del IP`"),
    }
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
pub fn request(ifname: &str, command: &str) -> Result<String> {
    let stream = UnixStream::connect_addr(&address(ifname)?).map_err(|e| {
        anyhow!("no xdp-responder is running on {ifname} in this network namespace ({e}); start one with `xdp-responder run --iface {ifname} ...`")
    })?;
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
}
