//! UDP echo check: send datagrams with a recognizable pattern and verify each reply is
//! byte-for-byte what was sent. Bounded: one datagram per size, at most `timeout` each.

use std::fmt;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Largest UDP payload the check will send (fits an IPv4 datagram).
pub const MAX_PAYLOAD: usize = 65_507;

/// Outcome of [`udp_echo_check`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EchoReport {
    /// Target that was checked.
    pub target: Option<SocketAddr>,
    /// Datagrams sent.
    pub sent: usize,
    /// Replies identical to what was sent.
    pub ok: usize,
    /// Replies that differed from what was sent.
    pub mismatch: usize,
    /// Datagrams without a reply within the timeout.
    pub timeout: usize,
    /// Replies to earlier (timed-out) datagrams that arrived late; ignored.
    pub late: usize,
    /// One line per failed datagram.
    pub failures: Vec<String>,
}

impl EchoReport {
    /// True if every datagram was echoed exactly.
    pub fn all_ok(&self) -> bool {
        self.sent > 0 && self.ok == self.sent
    }
}

impl fmt::Display for EchoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target {
            Some(t) => write!(f, "udp echo {t}: ")?,
            None => write!(f, "udp echo: ")?,
        }
        write!(
            f,
            "sent {} ok {} mismatch {} timeout {}",
            self.sent, self.ok, self.mismatch, self.timeout
        )?;
        if self.late > 0 {
            write!(f, " late {}", self.late)?;
        }
        for line in &self.failures {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// The payload for datagram `seq` of `size` bytes: an 8-byte header `"XE"`, size (u16 BE,
/// saturating), seq (u32 BE), then a filler depending on seq and offset; truncated to `size`.
pub fn pattern(seq: u32, size: usize) -> Vec<u8> {
    let size16 = u16::try_from(size).unwrap_or(u16::MAX);
    let mut p = Vec::with_capacity(size.max(8));
    p.extend_from_slice(b"XE");
    p.extend_from_slice(&size16.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    let mut i = 0usize;
    while p.len() < size {
        // Mix seq and offset so that shifted or swapped data is detected.
        p.push((i as u8).wrapping_mul(31).wrapping_add(seq as u8) ^ 0x5a);
        i += 1;
    }
    p.truncate(size);
    p
}

/// What happened to one datagram.
enum Outcome {
    /// Echoed exactly.
    Ok,
    /// A reply arrived but differs (description).
    Mismatch(String),
    /// No usable reply (description).
    Lost(String),
}

/// Describe how `got` differs from `want`.
fn describe_mismatch(want: &[u8], got: &[u8]) -> String {
    if want.len() != got.len() {
        return format!("length {} instead of {}", got.len(), want.len());
    }
    let first = want.iter().zip(got).position(|(a, b)| a != b).unwrap_or(0);
    format!(
        "byte {first} is {:#04x} instead of {:#04x}",
        got[first], want[first]
    )
}

/// Send one datagram per entry of `sizes` to `target` (a UDP echo server), wait up to
/// `timeout` for each reply and compare it with what was sent. Run it inside the client
/// namespace with [`crate::netns::in_netns`]. Errors only on socket failures; lost or
/// wrong replies are counted in the report.
pub fn udp_echo_check(
    target: SocketAddr,
    sizes: &[usize],
    timeout: Duration,
) -> Result<EchoReport> {
    let bind: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(bind).with_context(|| format!("binding UDP socket to {bind}"))?;
    sock.connect(target)
        .with_context(|| format!("connecting UDP socket to {target} (is there a route?)"))?;

    let mut report = EchoReport {
        target: Some(target),
        ..EchoReport::default()
    };
    let mut earlier: Vec<Vec<u8>> = Vec::new();
    let mut buf = vec![0u8; MAX_PAYLOAD + 1];

    for (seq, &size) in sizes.iter().enumerate() {
        anyhow::ensure!(
            size <= MAX_PAYLOAD,
            "UDP payload size {size} exceeds {MAX_PAYLOAD}"
        );
        let seq = u32::try_from(seq).unwrap_or(u32::MAX);
        let want = pattern(seq, size);
        sock.send(&want)
            .with_context(|| format!("sending {size}-byte datagram to {target}"))?;
        report.sent += 1;

        let deadline = Instant::now() + timeout;
        let outcome = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Outcome::Lost(format!(
                    "#{seq} ({size} bytes): no reply within {timeout:?}"
                ));
            }
            sock.set_read_timeout(Some(left))
                .context("setting socket read timeout")?;
            match sock.recv(&mut buf) {
                Ok(n) if buf[..n] == want[..] => break Outcome::Ok,
                Ok(n) if earlier.iter().any(|e| e[..] == buf[..n]) => report.late += 1,
                Ok(n) => {
                    break Outcome::Mismatch(format!(
                        "#{seq} ({size} bytes): reply differs: {}",
                        describe_mismatch(&want, &buf[..n])
                    ))
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                // ICMP port/host unreachable surfaces as ECONNREFUSED on a connected socket.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    break Outcome::Lost(format!(
                        "#{seq} ({size} bytes): connection refused (ICMP port unreachable)"
                    ))
                }
                Err(e) => return Err(e).with_context(|| format!("receiving from {target}")),
            }
        };
        match outcome {
            Outcome::Ok => report.ok += 1,
            Outcome::Mismatch(line) => {
                report.mismatch += 1;
                report.failures.push(line);
            }
            Outcome::Lost(line) => {
                report.timeout += 1;
                report.failures.push(line);
            }
        }
        earlier.push(want);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_sizes_and_uniqueness() {
        for size in [0, 1, 7, 8, 9, 64, 1472] {
            assert_eq!(pattern(3, size).len(), size);
        }
        assert_eq!(&pattern(5, 8), b"XE\x00\x08\x00\x00\x00\x05");
        assert_ne!(pattern(1, 64), pattern(2, 64));
        assert_ne!(pattern(1, 64)[..63], pattern(1, 63)[..]);
    }

    #[test]
    fn echo_against_local_server() {
        let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = server.local_addr().expect("addr");
        let handle = std::thread::spawn(move || {
            let mut buf = vec![0u8; 2048];
            for i in 0..4 {
                let (n, peer) = server.recv_from(&mut buf).expect("recv");
                match i {
                    // echo, corrupt, drop, echo
                    1 => {
                        let mut bad = buf[..n].to_vec();
                        if let Some(b) = bad.last_mut() {
                            *b ^= 1;
                        }
                        server.send_to(&bad, peer).expect("send");
                    }
                    2 => {}
                    _ => {
                        server.send_to(&buf[..n], peer).expect("send");
                    }
                }
            }
        });
        let r = udp_echo_check(addr, &[0, 64, 100, 1472], Duration::from_secs(2)).expect("check");
        handle.join().expect("server thread");
        assert_eq!((r.sent, r.ok, r.mismatch, r.timeout), (4, 2, 1, 1), "{r}");
        assert!(!r.all_ok());
        assert!(
            r.to_string().contains("sent 4 ok 2 mismatch 1 timeout 1"),
            "{r}"
        );
    }

    #[test]
    fn refused_port_counts_as_failure_not_error() {
        // Reserve a port, then close it so nothing listens there.
        let addr = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("addr");
        let r = udp_echo_check(addr, &[10], Duration::from_secs(2)).expect("check");
        assert_eq!((r.sent, r.ok, r.timeout), (1, 0, 1), "{r}");
    }
}
