//! The veth lab: two network namespaces joined by one veth pair.
//!
//! ```text
//!  namespace {prefix}-gen (client / traffic generator)   namespace {prefix}-resp (responder)
//!  ┌──────────────────────────────────────┐             ┌─────────────────────────────────────────┐
//!  │ veth-gen  02:00:00:00:00:01          │◄──── veth ──►│ veth-resp  02:00:00:00:00:02            │
//!  │   198.18.0.1/24, 2001:2::1/64        │             │   kernel:  198.18.0.3/24, 2001:2::3/64  │
//!  │                                      │             │   XDP:     198.18.0.2,    2001:2::2     │
//!  └──────────────────────────────────────┘             └─────────────────────────────────────────┘
//! ```
//!
//! * The responder's XDP-owned addresses ([`RESP_XDP_IPV4`], [`RESP_XDP_IPV6`]) are not
//!   configured in any kernel: only the AF_XDP responder answers for them (ARP/NDP, ping,
//!   UDP echo).
//! * [`RESP_KERNEL_IPV4`] / [`RESP_KERNEL_IPV6`] are ordinary kernel addresses on
//!   `veth-resp`: traffic to them must pass through the XDP program to the kernel.
//! * Both veth ends have the same number of RX and TX queues ([`LabSpec::queues`]).
//! * TX checksum offload is off on both ends (`ethtool -K <dev> tx off`): on veth, frames
//!   with partial checksums skip the peer's XDP program.
//! * All addresses are from the benchmarking ranges (198.18.0.0/15, RFC 2544;
//!   2001:2::/48, RFC 5180) and only ever exist inside the lab's own namespaces.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cmd;
use crate::netns::{self, netns_exists};

/// Run a closure inside a named namespace (re-exported from [`crate::netns`]).
pub use crate::netns::in_netns;

/// Prefix used when none is given.
pub const DEFAULT_PREFIX: &str = "xdplab";
/// Suffix of the client / traffic generator namespace: `{prefix}-gen`.
pub const GEN_NS_SUFFIX: &str = "gen";
/// Suffix of the responder namespace: `{prefix}-resp`.
pub const RESP_NS_SUFFIX: &str = "resp";

/// veth end in the client namespace.
pub const GEN_IFACE: &str = "veth-gen";
/// veth end in the responder namespace (the responder attaches here).
pub const RESP_IFACE: &str = "veth-resp";

/// MAC of `veth-gen`.
pub const GEN_MAC: &str = "02:00:00:00:00:01";
/// MAC of `veth-gen` as bytes.
pub const GEN_MAC_BYTES: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// MAC of `veth-resp`.
pub const RESP_MAC: &str = "02:00:00:00:00:02";
/// MAC of `veth-resp` as bytes.
pub const RESP_MAC_BYTES: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// Prefix length of the lab's IPv4 subnet (198.18.0.0/24).
pub const IPV4_PREFIX_LEN: u8 = 24;
/// Prefix length of the lab's IPv6 subnet (2001:2::/64).
pub const IPV6_PREFIX_LEN: u8 = 64;

/// Client IPv4 address, on `veth-gen`.
pub const GEN_IPV4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Responder's XDP-owned IPv4 address (in no kernel).
pub const RESP_XDP_IPV4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// Kernel-served IPv4 address on `veth-resp` (pass-through check).
pub const RESP_KERNEL_IPV4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);

/// Client IPv6 address, on `veth-gen` (nodad).
pub const GEN_IPV6: Ipv6Addr = Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 1);
/// Responder's XDP-owned IPv6 address (in no kernel).
pub const RESP_XDP_IPV6: Ipv6Addr = Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 2);
/// Kernel-served IPv6 address on `veth-resp` (nodad; pass-through check).
pub const RESP_KERNEL_IPV6: Ipv6Addr = Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 3);

/// UDP port the demo asks the responder to echo on.
pub const UDP_ECHO_PORT: u16 = 7;

/// Most queues a lab veth end may get.
pub const MAX_QUEUES: u32 = 128;
/// Largest lab MTU: the usual jumbo-frame MTU.
pub const MAX_MTU: u32 = 9000;

/// Name of the client namespace for `prefix`.
pub fn gen_ns_name(prefix: &str) -> String {
    format!("{prefix}-{GEN_NS_SUFFIX}")
}

/// Name of the responder namespace for `prefix`.
pub fn resp_ns_name(prefix: &str) -> String {
    format!("{prefix}-{RESP_NS_SUFFIX}")
}

/// clap value parser for lab prefixes ([`validate_prefix`]).
pub fn parse_prefix(s: &str) -> Result<String, String> {
    validate_prefix(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// Check that `prefix` makes valid, tidy namespace names: 1-32 characters of
/// `[A-Za-z0-9_-]`, not starting with `-`.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() || prefix.len() > 32 {
        bail!("lab prefix must be 1-32 characters, got {prefix:?}");
    }
    if prefix.starts_with('-')
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("lab prefix may only contain letters, digits, '-' and '_' (and not start with '-'), got {prefix:?}");
    }
    Ok(())
}

/// What lab to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabSpec {
    /// Namespace name prefix: namespaces are `{prefix}-gen` and `{prefix}-resp`.
    pub prefix: String,
    /// RX and TX queue count of each veth end (1..=[`MAX_QUEUES`]).
    pub queues: u32,
    /// MTU of both veth ends (68..=[`MAX_MTU`]); `None` keeps veth's 1500.
    pub mtu: Option<u32>,
}

impl LabSpec {
    /// A spec with the given prefix and queue count.
    pub fn new(prefix: impl Into<String>, queues: u32) -> Self {
        Self {
            prefix: prefix.into(),
            queues,
            mtu: None,
        }
    }

    /// The same lab with this MTU on both ends.
    pub fn with_mtu(self, mtu: u32) -> Self {
        Self {
            mtu: Some(mtu),
            ..self
        }
    }

    /// Check prefix and queue count.
    pub fn validate(&self) -> Result<()> {
        validate_prefix(&self.prefix)?;
        if !(1..=MAX_QUEUES).contains(&self.queues) {
            bail!("lab queues must be 1..={MAX_QUEUES}, got {}", self.queues);
        }
        if let Some(m) = self.mtu {
            if !(68..=MAX_MTU).contains(&m) {
                bail!("lab MTU must be 68..={MAX_MTU}, got {m}");
            }
        }
        Ok(())
    }
}

impl Default for LabSpec {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX, 1)
    }
}

/// A running lab. Dropping it deletes both namespaces (and with them the veth pair),
/// unless [`Lab::persist`] was called.
#[derive(Debug)]
pub struct Lab {
    spec: LabSpec,
    gen_ns: String,
    resp_ns: String,
    keep: bool,
}

impl Lab {
    /// Build the lab described by `spec`, quietly. Leftovers of a lab with the same prefix
    /// are removed first. Needs root.
    pub fn up(spec: LabSpec) -> Result<Lab> {
        Self::up_with(spec, false)
    }

    /// Like [`Lab::up`]; with `echo`, print each command (`$ ...`) as it runs.
    pub fn up_with(spec: LabSpec, echo: bool) -> Result<Lab> {
        spec.validate()?;
        crate::privilege::require_root("lab up")?;
        Self::down_with(&spec.prefix, echo)?;
        let lab = Lab {
            gen_ns: gen_ns_name(&spec.prefix),
            resp_ns: resp_ns_name(&spec.prefix),
            spec,
            keep: false,
        };
        // From here on, `lab` is a guard: any error drops it and tears everything down.
        lab.create(echo)?;
        Ok(lab)
    }

    fn create(&self, echo: bool) -> Result<()> {
        let run = |args: &[&str]| -> Result<()> {
            let mut c = Command::new("ip");
            c.args(args);
            if echo {
                cmd::echo(&c);
            }
            cmd::output(&mut c).map(drop)
        };
        let (gen, resp) = (self.gen_ns.as_str(), self.resp_ns.as_str());
        let q = self.spec.queues.to_string();

        for ns in [gen, resp] {
            run(&["netns", "add", ns])
                .context("ip netns add failed: are you root? (needs CAP_NET_ADMIN)")?;
        }
        run(&[
            "-n",
            gen,
            "link",
            "add",
            GEN_IFACE,
            "numrxqueues",
            &q,
            "numtxqueues",
            &q,
            "address",
            GEN_MAC,
            "type",
            "veth",
            "peer",
            "name",
            RESP_IFACE,
            "numrxqueues",
            &q,
            "numtxqueues",
            &q,
            "address",
            RESP_MAC,
            "netns",
            resp,
        ])
        .context("creating the veth pair failed (is the veth module available?)")?;

        let v4 = |a: Ipv4Addr| format!("{a}/{IPV4_PREFIX_LEN}");
        let v6 = |a: Ipv6Addr| format!("{a}/{IPV6_PREFIX_LEN}");
        for (ns, dev, a4, a6) in [
            (gen, GEN_IFACE, v4(GEN_IPV4), v6(GEN_IPV6)),
            (resp, RESP_IFACE, v4(RESP_KERNEL_IPV4), v6(RESP_KERNEL_IPV6)),
        ] {
            run(&["-n", ns, "link", "set", "dev", "lo", "up"])?;
            run(&["-n", ns, "addr", "add", &a4, "dev", dev])?;
            run(&["-n", ns, "addr", "add", &a6, "dev", dev, "nodad"])
                .context("adding the IPv6 address failed (is IPv6 disabled?)")?;
        }
        for (ns, dev) in [(gen, GEN_IFACE), (resp, RESP_IFACE)] {
            let mut c = self.exec_in(ns, &["ethtool", "-K", dev, "tx", "off"]);
            if echo {
                cmd::echo(&c);
            }
            cmd::output(&mut c)
                .context("turning TX checksum offload off failed (is ethtool installed?)")?;
        }
        if let Some(mtu) = self.spec.mtu {
            let mtu = mtu.to_string();
            for (ns, dev) in [(gen, GEN_IFACE), (resp, RESP_IFACE)] {
                run(&["-n", ns, "link", "set", "dev", dev, "mtu", &mtu])?;
            }
        }
        for (ns, dev) in [(gen, GEN_IFACE), (resp, RESP_IFACE)] {
            run(&["-n", ns, "link", "set", "dev", dev, "up"])?;
        }
        for (ns, dev) in [(gen, GEN_IFACE), (resp, RESP_IFACE)] {
            wait_link_up(ns, dev, Duration::from_secs(5))?;
        }
        Ok(())
    }

    /// Delete the namespaces of lab `prefix`, quietly. Works when nothing exists, after a
    /// crash, and without a [`Lab`] value. Processes still running inside keep an
    /// (unnamed) namespace alive until they exit.
    pub fn down(prefix: &str) -> Result<()> {
        Self::down_with(prefix, false)
    }

    /// Like [`Lab::down`]; with `echo`, print each command.
    pub fn down_with(prefix: &str, echo: bool) -> Result<()> {
        validate_prefix(prefix)?;
        for ns in [gen_ns_name(prefix), resp_ns_name(prefix)] {
            if !netns_exists(&ns) {
                continue;
            }
            let mut c = Command::new("ip");
            c.args(["netns", "del", &ns]);
            if echo {
                cmd::echo(&c);
            }
            cmd::output(&mut c)
                .context("ip netns del failed: are you root? (needs CAP_NET_ADMIN)")?;
        }
        Ok(())
    }

    /// Keep the lab when this value is dropped (for `cargo xtask lab up`).
    pub fn persist(mut self) {
        self.keep = true;
    }

    /// The spec the lab was built from.
    pub fn spec(&self) -> &LabSpec {
        &self.spec
    }

    /// Name of the client namespace, `{prefix}-gen`.
    pub fn gen_ns(&self) -> &str {
        &self.gen_ns
    }

    /// Name of the responder namespace, `{prefix}-resp`.
    pub fn resp_ns(&self) -> &str {
        &self.resp_ns
    }

    /// `ip netns exec <ns> <args...>` as a [`Command`] (not started).
    pub fn exec_in<S: AsRef<OsStr>>(&self, ns: &str, args: &[S]) -> Command {
        exec_in(ns, args)
    }

    /// `ip netns exec {prefix}-gen <args...>` (not started).
    pub fn exec_gen<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        exec_in(&self.gen_ns, args)
    }

    /// `ip netns exec {prefix}-resp <args...>` (not started).
    pub fn exec_resp<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        exec_in(&self.resp_ns, args)
    }

    /// Run `f` on a thread inside the client namespace (see [`netns::in_netns`]).
    pub fn in_gen<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        netns::in_netns(&self.gen_ns, f)
    }

    /// Run `f` on a thread inside the responder namespace (see [`netns::in_netns`]).
    pub fn in_resp<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        netns::in_netns(&self.resp_ns, f)
    }

    /// Human-readable description of this lab (see [`layout`]).
    pub fn layout(&self) -> String {
        layout(&self.spec)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Err(e) = Lab::down(&self.spec.prefix) {
            eprintln!(
                "warning: tearing down lab {:?} failed: {e:#} (run `cargo xtask lab down --prefix {}`)",
                self.spec.prefix, self.spec.prefix
            );
        }
    }
}

/// `ip netns exec <ns> <args...>` as a [`Command`] (not started).
pub fn exec_in<S: AsRef<OsStr>>(ns: &str, args: &[S]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]);
    c.args(args);
    c
}

/// Wait until `dev` in `ns` reports carrier (`LOWER_UP`).
fn wait_link_up(ns: &str, dev: &str, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let out =
            cmd::output(Command::new("ip").args(["-n", ns, "-o", "link", "show", "dev", dev]))?;
        if out.contains("LOWER_UP") {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!(
                "{dev} in {ns} did not come up within {timeout:?}: {}",
                out.trim()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lab layout (names, addresses, MACs) and example commands, for humans.
pub fn layout(spec: &LabSpec) -> String {
    let (gen, resp) = (gen_ns_name(&spec.prefix), resp_ns_name(&spec.prefix));
    let bin = crate::paths::responder_binary(true);
    let root = crate::paths::workspace_root();
    let bin = bin.strip_prefix(&root).unwrap_or(&bin).display();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "lab {:?}: veth pair with {} RX/TX queue(s) per end",
        spec.prefix, spec.queues
    );
    let _ = writeln!(s, "  namespace {gen}  (client / traffic generator)");
    let _ = writeln!(
        s,
        "    {GEN_IFACE:<10} {GEN_MAC}  {GEN_IPV4}/{IPV4_PREFIX_LEN}  {GEN_IPV6}/{IPV6_PREFIX_LEN}"
    );
    let _ = writeln!(s, "  namespace {resp}  (responder)");
    let _ = writeln!(
        s,
        "    {RESP_IFACE:<10} {RESP_MAC}  {RESP_KERNEL_IPV4}/{IPV4_PREFIX_LEN}  {RESP_KERNEL_IPV6}/{IPV6_PREFIX_LEN}  (kernel-served: pass-through)"
    );
    let _ = writeln!(
        s,
        "    XDP-owned (in no kernel): {RESP_XDP_IPV4}  {RESP_XDP_IPV6}  (UDP echo port {UDP_ECHO_PORT})"
    );
    if let Some(mtu) = spec.mtu {
        let _ = writeln!(s, "  MTU {mtu} on both ends");
    }
    let _ = writeln!(s, "  TX checksum offload off on both ends");
    let _ = writeln!(s, "examples:");
    let _ = writeln!(s, "  cargo xtask build --release");
    let _ = writeln!(
        s,
        "  ip netns exec {resp} {bin} run --iface {RESP_IFACE} --addr {RESP_XDP_IPV4} --addr {RESP_XDP_IPV6} --udp-port {UDP_ECHO_PORT} --interval 1"
    );
    let _ = writeln!(s, "  ip netns exec {gen} ping -c 3 {RESP_XDP_IPV4}");
    let _ = writeln!(s, "  ip netns exec {gen} ping -6 -c 3 {RESP_XDP_IPV6}");
    let _ = writeln!(
        s,
        "  ip netns exec {gen} arping -c 3 -I {GEN_IFACE} {RESP_XDP_IPV4}"
    );
    let _ = writeln!(
        s,
        "  ip netns exec {gen} ping -c 3 {RESP_KERNEL_IPV4}    # kernel pass-through"
    );
    let _ = write!(s, "  cargo xtask lab down --prefix {}", spec.prefix);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn v4_net(a: Ipv4Addr) -> u32 {
        u32::from(a) >> (32 - IPV4_PREFIX_LEN)
    }

    fn v6_net(a: Ipv6Addr) -> u128 {
        u128::from(a) >> (128 - IPV6_PREFIX_LEN)
    }

    #[test]
    fn mac_strings_match_bytes_and_are_local_unicast() {
        for (s, b) in [(GEN_MAC, GEN_MAC_BYTES), (RESP_MAC, RESP_MAC_BYTES)] {
            assert_eq!(xdp_host::mac::parse_mac(s).expect("a MAC address"), b);
            assert_eq!(b[0] & 0x01, 0, "unicast");
            assert_eq!(b[0] & 0x02, 0x02, "locally administered");
        }
        assert_ne!(GEN_MAC_BYTES, RESP_MAC_BYTES);
    }

    #[test]
    fn addresses_share_one_subnet_and_are_distinct() {
        let v4 = [GEN_IPV4, RESP_XDP_IPV4, RESP_KERNEL_IPV4];
        let v6 = [GEN_IPV6, RESP_XDP_IPV6, RESP_KERNEL_IPV6];
        for a in v4 {
            assert_eq!(v4_net(a), v4_net(GEN_IPV4));
            // 198.18.0.0/15: RFC 2544 benchmarking range.
            assert_eq!(
                u32::from(a) >> 17,
                u32::from(Ipv4Addr::new(198, 18, 0, 0)) >> 17
            );
        }
        for a in v6 {
            assert_eq!(v6_net(a), v6_net(GEN_IPV6));
            // 2001:2::/48: RFC 5180 benchmarking range.
            assert_eq!(
                u128::from(a) >> 80,
                u128::from(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0)) >> 80
            );
        }
        let all: Vec<IpAddr> = v4
            .iter()
            .map(|&a| a.into())
            .chain(v6.iter().map(|&a| a.into()))
            .collect();
        for (i, a) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(a), "{a} duplicated");
        }
    }

    #[test]
    fn host_parts_line_up_between_families() {
        for (a4, a6) in [
            (GEN_IPV4, GEN_IPV6),
            (RESP_XDP_IPV4, RESP_XDP_IPV6),
            (RESP_KERNEL_IPV4, RESP_KERNEL_IPV6),
        ] {
            assert_eq!(u128::from(a4.octets()[3]), u128::from(a6) & 0xffff);
        }
    }

    #[test]
    fn address_strings() {
        assert_eq!(GEN_IPV4.to_string(), "198.18.0.1");
        assert_eq!(RESP_XDP_IPV4.to_string(), "198.18.0.2");
        assert_eq!(RESP_KERNEL_IPV4.to_string(), "198.18.0.3");
        assert_eq!(GEN_IPV6.to_string(), "2001:2::1");
        assert_eq!(RESP_XDP_IPV6.to_string(), "2001:2::2");
        assert_eq!(RESP_KERNEL_IPV6.to_string(), "2001:2::3");
    }

    #[test]
    fn namespace_names() {
        assert_eq!(gen_ns_name("x"), "x-gen");
        assert_eq!(resp_ns_name("x"), "x-resp");
        assert_eq!(gen_ns_name(DEFAULT_PREFIX), "xdplab-gen");
    }

    #[test]
    fn prefix_validation() {
        for ok in ["xdplab", "t1", "a_b-c", "A"] {
            validate_prefix(ok).expect(ok);
        }
        for bad in ["", "-x", "a b", "a/b", "a.b", &"x".repeat(33)] {
            assert!(validate_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn spec_validation() {
        LabSpec::default().validate().expect("default ok");
        assert!(LabSpec::new("x", 0).validate().is_err());
        assert!(LabSpec::new("x", MAX_QUEUES + 1).validate().is_err());
        LabSpec::new("x", MAX_QUEUES).validate().expect("max ok");
    }

    #[test]
    fn exec_wraps_ip_netns_exec() {
        let c = exec_in("x-gen", &["ping", "-c", "1", "198.18.0.2"]);
        assert_eq!(cmd::display(&c), "ip netns exec x-gen ping -c 1 198.18.0.2");
    }

    #[test]
    fn layout_mentions_everything() {
        let text = layout(&LabSpec::new("demo", 2));
        for needle in [
            "demo-gen",
            "demo-resp",
            GEN_IFACE,
            RESP_IFACE,
            GEN_MAC,
            RESP_MAC,
            "198.18.0.1/24",
            "198.18.0.2",
            "198.18.0.3/24",
            "2001:2::1/64",
            "2001:2::2",
            "2001:2::3/64",
            "2 RX/TX",
            "lab down --prefix demo",
        ] {
            assert!(text.contains(needle), "layout lacks {needle}:\n{text}");
        }
    }

    #[test]
    fn down_of_missing_lab_is_ok_without_root() {
        // Nothing exists under this prefix, so nothing is run.
        Lab::down("xtask-unit-test-nothing-here").expect("idempotent");
    }
}
