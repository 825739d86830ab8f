//! Harness for the privileged integration tests: a lab per test (deleted on drop, even on
//! panic), the responder started inside it, and the traffic tools run from the generator
//! namespace. Tests that need root skip with a message when not root, except under CI,
//! where skipping would hide a broken setup.
use std::{
    process::Output,
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

pub use xtask::lab::{self, Lab, LabSpec};
use xtask::{paths, responder::Responder};

/// True when privileged tests can run; false (with a note) when they must be skipped.
pub fn privileged() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("privileged integration tests need root (they create network namespaces); CI runs as root");
    }
    eprintln!(
        "skipping: needs root (network namespaces, XDP, AF_XDP); run `sudo cargo xtask test`"
    );
    false
}

/// The responder binary built by `cargo build` (the test command builds it first).
pub fn responder_bin() -> std::path::PathBuf {
    let bin = paths::responder_binary(false);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p xdp-user` (or `cargo xtask test`) first",
        bin.display()
    );
    bin
}

/// A lab with a test-specific prefix: `it-{name}`, or `it{tag}-{name}` when `XDP_TEST_TAG`
/// is set, so that test runs from several checkouts on one machine use distinct namespaces.
pub fn lab(name: &str, queues: u32) -> Lab {
    Lab::up(LabSpec::new(lab_prefix(name), queues)).expect("lab up")
}

/// The namespace prefix of test lab `name` (see [`lab`]).
pub fn lab_prefix(name: &str) -> String {
    let tag = std::env::var("XDP_TEST_TAG").unwrap_or_default();
    format!("it{tag}-{name}")
}

/// The standard arguments: our two addresses on the responder's veth end, UDP port 7.
pub fn default_args() -> Vec<String> {
    [
        "run",
        "--iface",
        lab::RESP_IFACE,
        "--addr",
        "198.18.0.2",
        "--addr",
        "2001:2::2",
        "--udp-port",
        "7",
        "--interval",
        "1",
        "--duration",
        "120",
    ]
    .map(String::from)
    .to_vec()
}

/// Starts the responder in the lab's responder namespace and waits for `ready`.
pub fn start(lab: &Lab, args: &[String]) -> Responder {
    let bin = responder_bin();
    let mut cmd_args = vec![bin.to_string_lossy().into_owned()];
    cmd_args.extend(args.iter().cloned());
    let mut r =
        Responder::spawn(lab.exec_resp(&cmd_args), "[responder] ").expect("spawn responder");
    r.wait_ready(Duration::from_secs(30), &AtomicBool::new(false))
        .expect("responder ready");
    r
}

/// Runs the responder binary to completion in the responder namespace (for error cases
/// and control commands).
pub fn responder_cmd(lab: &Lab, args: &[&str]) -> Output {
    let bin = responder_bin();
    let mut cmd_args = vec![bin.to_string_lossy().into_owned()];
    cmd_args.extend(args.iter().map(|a| a.to_string()));
    let out = lab.exec_resp(&cmd_args).output().expect("run responder");
    eprintln!(
        "$ xdp-responder {} -> {:?}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command in the generator namespace, echoing its output; true on exit status 0.
pub fn gen_ok(lab: &Lab, args: &[&str]) -> bool {
    let out = lab
        .exec_gen(args)
        .output()
        .expect("run command in generator namespace");
    eprintln!(
        "$ {} -> {:?}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.success()
}

/// Whether an XDP program is attached to the responder's veth end.
pub fn xdp_attached(lab: &Lab) -> bool {
    let out = lab
        .exec_resp(&["ip", "-d", "link", "show", "dev", lab::RESP_IFACE])
        .output()
        .expect("ip link show");
    let text = String::from_utf8_lossy(&out.stdout);
    text.contains("prog/xdp") || text.contains(" xdp ") || text.contains("xdpgeneric")
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Parses `name=value` pairs out of the totals line that starts with `label`.
pub fn totals_field(lines: &[String], label: &str, name: &str) -> u64 {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| {
            panic!(
                "no line starting with {label:?} in responder output:\n{}",
                lines.join("\n")
            )
        });
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.parse().expect("counter value"))
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Robustness and fault tests (tests/tests/robustness.rs, tests/tests/faults.rs): raw frames
// through packet sockets, the totals' exact accounting, memory of a running process.
// ---------------------------------------------------------------------------------------

/// The number right after `label` on the totals line that starts with it, e.g.
/// `rx packets     123 (1.0k avg)` or `tx ring full   0`.
pub fn totals_number(lines: &[String], label: &str) -> u64 {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| {
            panic!(
                "no line starting with {label:?} in responder output:\n{}",
                lines.join("\n")
            )
        });
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?}: {line}"))
}

/// The sum of every `name=value` counter on the totals line that starts with `label`.
pub fn totals_sum(lines: &[String], label: &str) -> u64 {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| {
            panic!(
                "no line starting with {label:?} in responder output:\n{}",
                lines.join("\n")
            )
        });
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum()
}

/// Asserts the totals account for every frame, exactly:
/// * every queue's frame ledger closed `(ok)`;
/// * every frame user space received was answered, dropped with a reason, or recycled because
///   the TX ring was full: `rx packets = answers + drops + tx ring full`;
/// * every frame the XDP program redirected reached user space or was counted by the kernel's
///   AF_XDP socket as dropped (no fill-ring frame, or too big) or refused (RX ring full):
///   `redirected = rx packets + rx_dropped + rx_ring_full`.
pub fn assert_exact_accounting(out: &[String]) {
    let frames: Vec<&String> = out
        .iter()
        .filter(|l| l.trim_start().starts_with("frames q"))
        .collect();
    assert!(!frames.is_empty(), "no frame ledger lines in the totals");
    for l in &frames {
        assert!(
            l.trim_end().ends_with("(ok)"),
            "frame accounting drifted: {l}"
        );
    }
    let rx = totals_number(out, "rx packets");
    let answers = totals_sum(out, "answers");
    let drops = totals_sum(out, "drops");
    let ring_full = totals_number(out, "tx ring full");
    assert_eq!(
        rx,
        answers + drops + ring_full,
        "rx packets {rx} != answers {answers} + drops {drops} + tx ring full {ring_full}"
    );
    let redirected = totals_field(out, "xdp program", "redirected");
    let xsk_dropped = totals_field(out, "xsk statistics", "rx_dropped");
    let xsk_full = totals_field(out, "xsk statistics", "rx_ring_full");
    assert_eq!(
        redirected,
        rx + xsk_dropped + xsk_full,
        "XDP redirected {redirected} frames but user space received {rx} and the sockets dropped {xsk_dropped} and refused {xsk_full}"
    );
}

/// Resident set size of process `pid` in KiB (`VmRSS` of /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Raw Ethernet frames in and out of one interface, through AF_PACKET sockets.
pub mod raw {
    use nix::libc;
    use std::{
        io,
        os::fd::{AsRawFd, FromRawFd, OwnedFd},
        time::{Duration, Instant},
    };

    const ETH_P_ALL: u16 = 0x0003;
    const PACKET_OUTGOING: u8 = 4;

    /// An AF_PACKET socket bound to one interface of the network namespace it was opened in.
    /// Open it inside that namespace (e.g. in `lab.in_gen`); it can be used from any thread.
    pub struct PacketSocket {
        fd: OwnedFd,
    }

    impl PacketSocket {
        /// With `capture`, the socket receives every frame of the interface (ETH_P_ALL, a
        /// large receive buffer); without, it only sends.
        pub fn open(ifname: &str, capture: bool) -> io::Result<PacketSocket> {
            let proto = if capture { ETH_P_ALL.to_be() } else { 0 };
            // SAFETY: plain socket creation; the fd is owned below.
            let raw = unsafe {
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    i32::from(proto),
                )
            };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a fresh descriptor nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            let name = std::ffi::CString::new(ifname)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            // SAFETY: a NUL-terminated name.
            let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if ifindex == 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: sockaddr_ll is plain data; all-zero is valid.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto;
            sll.sll_ifindex = ifindex as i32;
            // SAFETY: binds to a valid sockaddr_ll of the given size.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            if capture {
                let size: libc::c_int = 4 << 20;
                // SAFETY: sets an int option from a live int.
                unsafe {
                    libc::setsockopt(
                        fd.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_RCVBUFFORCE,
                        (&size as *const libc::c_int).cast(),
                        4,
                    )
                };
            }
            Ok(PacketSocket { fd })
        }

        /// Sends one frame as it is (no padding is added: veth sends runts as they are).
        pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
            // SAFETY: sends `frame.len()` bytes from a live buffer.
            let n =
                unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }

        /// The next frame that arrived on the interface (frames we sent are skipped), waiting
        /// at most `wait`.
        pub fn recv(&self, wait: Duration) -> Option<Vec<u8>> {
            let deadline = Instant::now() + wait;
            let mut buf = vec![0u8; 65536];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let mut pfd = libc::pollfd {
                    fd: self.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: polls one live pollfd.
                let ready = unsafe {
                    libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32)
                };
                if ready <= 0 {
                    return None;
                }
                // SAFETY: sockaddr_ll is plain data.
                let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
                let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                // SAFETY: receives into live buffers of the sizes given.
                let n = unsafe {
                    libc::recvfrom(
                        self.fd.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        libc::MSG_DONTWAIT,
                        (&mut from as *mut libc::sockaddr_ll).cast(),
                        &mut len,
                    )
                };
                if n < 0 {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    continue;
                }
                if from.sll_pkttype == PACKET_OUTGOING {
                    continue;
                }
                return Some(buf[..n as usize].to_vec());
            }
        }

        /// Every frame that arrives within `wait`.
        pub fn collect(&self, wait: Duration) -> Vec<Vec<u8>> {
            let deadline = Instant::now() + wait;
            let mut frames = Vec::new();
            while let Some(f) = self.recv(deadline.saturating_duration_since(Instant::now())) {
                frames.push(f);
            }
            frames
        }

        /// Throws away whatever is queued.
        pub fn drain(&self) {
            while self.recv(Duration::ZERO).is_some() {}
        }
    }
}

/// Hand-built frames with correct checksums (nothing is validated: bad frames are the point),
/// and a recognizer for the responder's answers.
pub mod frames {
    pub const GEN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    pub const RESP_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
    pub const BROADCAST: [u8; 6] = [0xff; 6];
    pub const GEN_V4: [u8; 4] = [198, 18, 0, 1];
    /// The responder's (XDP-owned) addresses.
    pub const XDP_V4: [u8; 4] = [198, 18, 0, 2];
    pub const KERNEL_V4: [u8; 4] = [198, 18, 0, 3];
    pub const GEN_V6: [u8; 16] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    pub const XDP_V6: [u8; 16] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    pub const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    /// RFC 1071 one's-complement sum (not complemented) over the concatenation of `parts`.
    pub fn csum(parts: &[&[u8]]) -> u16 {
        let bytes: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        let mut s: u64 = bytes
            .chunks(2)
            .map(|c| u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
            .sum();
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
        let mut f = Vec::with_capacity(1514);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    }

    pub fn arp(
        eth_dst: [u8; 6],
        eth_src: [u8; 6],
        op: u16,
        sha: [u8; 6],
        spa: [u8; 4],
        tpa: [u8; 4],
    ) -> Vec<u8> {
        let mut f = eth(eth_dst, eth_src, 0x0806);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4]);
        f.extend_from_slice(&op.to_be_bytes());
        f.extend_from_slice(&sha);
        f.extend_from_slice(&spa);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&tpa);
        f
    }

    /// An IPv4 packet: header with `options` and flags/fragment word `frag`, then `l4` as given;
    /// the header checksum is computed.
    #[allow(clippy::too_many_arguments)]
    pub fn ipv4(
        eth_dst: [u8; 6],
        eth_src: [u8; 6],
        src: [u8; 4],
        dst: [u8; 4],
        proto: u8,
        frag: u16,
        options: &[u8],
        l4: &[u8],
    ) -> Vec<u8> {
        let mut f = eth(eth_dst, eth_src, 0x0800);
        let hl = 20 + options.len();
        f.push(0x40 | (hl / 4) as u8);
        f.push(0);
        f.extend_from_slice(&((hl + l4.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0xab, 0xcd]);
        f.extend_from_slice(&frag.to_be_bytes());
        f.extend_from_slice(&[64, proto, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(options);
        fix_ipv4_header(&mut f);
        f.extend_from_slice(l4);
        f
    }

    /// Recomputes the IPv4 header checksum over the IHL the header claims (as far as present).
    pub fn fix_ipv4_header(f: &mut [u8]) {
        let hl = usize::from(f[14] & 0x0f) * 4;
        let end = (14 + hl).min(f.len());
        f[24] = 0;
        f[25] = 0;
        let c = !csum(&[&f[14..end]]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
    }

    /// An ICMP message (type, code, rest), checksum over the message (ICMPv4).
    pub fn icmp4(ty: u8, code: u8, rest: &[u8]) -> Vec<u8> {
        let mut m = vec![ty, code, 0, 0];
        m.extend_from_slice(rest);
        let c = !csum(&[&m]);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    }

    /// Echo body: identifier, sequence, data.
    pub fn echo_body(ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
        let mut b = ident.to_be_bytes().to_vec();
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(data);
        b
    }

    /// A UDP datagram with a correct checksum for the IPv4 pseudo-header.
    pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
        let mut m = udp_header(sport, dport, data);
        let len = (m.len() as u16).to_be_bytes();
        let mut c = !csum(&[&src, &dst, &[0, 17], &len, &m]);
        if c == 0 {
            c = 0xffff;
        }
        m[6..8].copy_from_slice(&c.to_be_bytes());
        m
    }

    fn udp_header(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
        let mut m = sport.to_be_bytes().to_vec();
        m.extend_from_slice(&dport.to_be_bytes());
        m.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(data);
        m
    }

    pub fn ipv6(
        eth_dst: [u8; 6],
        eth_src: [u8; 6],
        src: [u8; 16],
        dst: [u8; 16],
        next: u8,
        hop_limit: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut f = eth(eth_dst, eth_src, 0x86dd);
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        f.extend_from_slice(&[next, hop_limit]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(payload);
        f
    }

    fn v6_sum(src: &[u8; 16], dst: &[u8; 16], next: u8, m: &[u8]) -> u16 {
        csum(&[
            src,
            dst,
            &(m.len() as u32).to_be_bytes(),
            &[0, 0, 0, next],
            m,
        ])
    }

    /// An ICMPv6 message with its checksum over the pseudo-header of `src` -> `dst`.
    pub fn icmp6(src: [u8; 16], dst: [u8; 16], ty: u8, code: u8, rest: &[u8]) -> Vec<u8> {
        let mut m = vec![ty, code, 0, 0];
        m.extend_from_slice(rest);
        let c = !v6_sum(&src, &dst, 58, &m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    }

    pub fn udp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
        let mut m = udp_header(sport, dport, data);
        let mut c = !v6_sum(&src, &dst, 17, &m);
        if c == 0 {
            c = 0xffff;
        }
        m[6..8].copy_from_slice(&c.to_be_bytes());
        m
    }

    pub fn solicited_node(a: [u8; 16]) -> [u8; 16] {
        [
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, a[13], a[14], a[15],
        ]
    }

    pub fn v6_mcast_mac(a: [u8; 16]) -> [u8; 6] {
        [0x33, 0x33, a[12], a[13], a[14], a[15]]
    }

    fn be16(f: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]))
    }

    /// If `f` is an answer sent by the responder (from its MAC, and from one of its own
    /// addresses: an ARP reply for 198.18.0.2, IPv4 from 198.18.0.2, IPv6 from 2001:2::2),
    /// what it is. The kernel's answers (from .3/::3) and its chatter are not.
    pub fn responder_answer(f: &[u8]) -> Option<String> {
        if f.get(6..12)? != RESP_MAC {
            return None;
        }
        match be16(f, 12)? {
            0x0806 if be16(f, 20)? == 2 && f.get(28..32)? == XDP_V4 => {
                Some(format!("ARP reply ({} bytes)", f.len()))
            }
            0x0800 if f.get(26..30)? == XDP_V4 => Some(format!(
                "IPv4 protocol {} from 198.18.0.2 ({} bytes)",
                f.get(23)?,
                f.len()
            )),
            0x86dd if f.get(22..38)? == XDP_V6 => Some(format!(
                "IPv6 next header {} type {} from 2001:2::2 ({} bytes)",
                f.get(20)?,
                f.get(54).copied().unwrap_or(0),
                f.len()
            )),
            _ => None,
        }
    }
}
