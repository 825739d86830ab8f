//! Loading the generator's XDP object with its read-only globals, loading and attaching its
//! programs (through bpf_links, so a killed process leaves nothing attached), and its maps.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{anyhow, Context, Result};
use aya::{
    maps::{MapData, PerCpuArray, PerCpuValues},
    programs::{Xdp, XdpMode},
    Ebpf, EbpfLoader,
};

use crate::abi::{frame, gen, globals, maps, progs, sink, EXPECT_ECHO, KIND_ICMP, KIND_UDP};
use crate::frame::{FlowSpec, Proto};
use crate::stats::SinkTotals;

/// The object built from `xdp-ebpf/src/bin/gen` by the build script.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/gen"));

/// Values of the object's read-only globals (see [`crate::abi::globals`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Globals {
    pub kind: u32,
    pub port_base: u16,
    pub port_mask: u16,
    pub icmp_id: u16,
    pub l4_len: u32,
    pub our_mac: [u8; 6],
    pub peer_mac: [u8; 6],
    pub our_ip: [u8; 4],
    pub peer_ip: [u8; 4],
    pub peer_port: u16,
    /// What a valid reply looks like: [`EXPECT_ECHO`] or `EXPECT_MACSWAP`
    /// (see [`globals::EXPECT`]).
    pub expect: u32,
    pub bounce_port: u16,
    /// The interface the transmitter sends from (see [`globals::IFINDEX`]).
    pub ifindex: u32,
    /// Sampled frames: `seq & sample_mask == 0` (see [`globals::SAMPLE_MASK`]).
    pub sample_mask: u64,
    /// The template's first 40 bytes (see [`globals::HEADER`]).
    pub header: [u64; 5],
    /// The template's L4 checksum field (see [`globals::L4_CSUM`]).
    pub l4_csum: [u8; 2],
}

impl Globals {
    /// Globals for a generator sending `template` (built from `flow`) from `ifindex` with
    /// `ports` source ports and one frame in `sample_every` sampled (both powers of two).
    pub fn for_flow(
        flow: &FlowSpec,
        template: &[u8],
        ifindex: u32,
        ports: u16,
        sample_every: u64,
    ) -> Globals {
        let byte = |i: usize| template.get(i).copied().unwrap_or(0);
        let mut header = [0u64; 5];
        for (i, word) in header.iter_mut().enumerate() {
            *word = u64::from_ne_bytes(std::array::from_fn(|j| byte(8 * i + j)));
        }
        let csum_at = match flow.proto {
            Proto::Udp { .. } => frame::UDP_CSUM,
            Proto::Icmp { .. } => frame::ICMP_CSUM,
        };
        let (kind, port_base, peer_port, icmp_id) = match flow.proto {
            Proto::Udp { src_port, dst_port } => (KIND_UDP, src_port, dst_port, 0),
            Proto::Icmp { id } => (KIND_ICMP, 0, 0, id),
        };
        Globals {
            kind,
            port_base,
            port_mask: ports.saturating_sub(1),
            icmp_id,
            l4_len: flow.l4_len() as u32,
            our_mac: flow.src_mac,
            peer_mac: flow.dst_mac,
            our_ip: flow.src_ip.octets(),
            peer_ip: flow.dst_ip.octets(),
            peer_port,
            expect: EXPECT_ECHO,
            bounce_port: 0,
            ifindex,
            sample_mask: sample_every.max(1) - 1,
            header,
            l4_csum: [byte(csum_at), byte(csum_at + 1)],
        }
    }

    /// Globals for the bounce program alone.
    pub fn for_bounce(port: u16) -> Globals {
        Globals {
            kind: KIND_UDP,
            port_base: 0,
            port_mask: 0,
            icmp_id: 0,
            l4_len: 0,
            our_mac: [0; 6],
            peer_mac: [0; 6],
            our_ip: Ipv4Addr::UNSPECIFIED.octets(),
            peer_ip: Ipv4Addr::UNSPECIFIED.octets(),
            peer_port: 0,
            expect: EXPECT_ECHO,
            bounce_port: port,
            ifindex: 0,
            sample_mask: 0,
            header: [0; 5],
            l4_csum: [0; 2],
        }
    }
}

/// The loaded object.
pub struct Programs {
    ebpf: Ebpf,
}

impl Programs {
    /// Creates the object's maps with `g` as its read-only globals (no program loaded yet).
    pub fn load(g: &Globals) -> Result<Programs> {
        raise_memlock_limit();
        let ebpf = EbpfLoader::new()
            .override_global(globals::KIND, &g.kind, true)
            .override_global(globals::PORT_BASE, &g.port_base, true)
            .override_global(globals::PORT_MASK, &g.port_mask, true)
            .override_global(globals::ICMP_ID, &g.icmp_id, true)
            .override_global(globals::L4_LEN, &g.l4_len, true)
            .override_global(globals::OUR_MAC, &g.our_mac, true)
            .override_global(globals::PEER_MAC, &g.peer_mac, true)
            .override_global(globals::OUR_IP, &g.our_ip, true)
            .override_global(globals::PEER_IP, &g.peer_ip, true)
            .override_global(globals::PEER_PORT, &g.peer_port, true)
            .override_global(globals::EXPECT, &g.expect, true)
            .override_global(globals::BOUNCE_PORT, &g.bounce_port, true)
            .override_global(globals::HEADER, &g.header, true)
            .override_global(globals::IFINDEX, &g.ifindex, true)
            .override_global(globals::SAMPLE_MASK, &g.sample_mask, true)
            .override_global(globals::L4_CSUM, &g.l4_csum, true)
            .load(OBJECT)
            .map_err(|e| {
                anyhow!("loading the generator's XDP object failed: {e:#} (needs root)")
            })?;
        Ok(Programs { ebpf })
    }

    /// Loads program `name` into the kernel (the verifier runs here).
    fn program(&mut self, name: &str) -> Result<&mut Xdp> {
        let prog: &mut Xdp = self
            .ebpf
            .program_mut(name)
            .ok_or_else(|| anyhow!("the generator's XDP object has no program {name}"))?
            .try_into()
            .with_context(|| format!("{name} is not an XDP program"))?;
        if prog.fd().is_err() {
            prog.load()
                .map_err(|e| anyhow!("loading {name} failed: {e:#}"))?;
        }
        Ok(prog)
    }

    /// Loads the transmitter, keeps it in the kernel's XDP dispatcher by attaching it (in
    /// generic mode) to this namespace's loopback, where it passes everything (see
    /// [`globals::IFINDEX`]), and returns its fd (for `BPF_PROG_RUN`).
    pub fn tx(&mut self) -> Result<BorrowedFd<'_>> {
        let lo = nix::net::if_::if_nametoindex("lo").context("no loopback interface")?;
        self.attach(progs::TX, lo, "lo", true)?;
        let prog = self.program(progs::TX)?;
        Ok(prog.fd().context("transmitter fd")?.as_fd())
    }

    /// Loads program `name` and attaches it to `ifindex` (`iface` names it in messages),
    /// natively or in SKB mode. Detached when `self` is dropped.
    pub fn attach(&mut self, name: &str, ifindex: u32, iface: &str, skb: bool) -> Result<()> {
        let mode = if skb { XdpMode::Skb } else { XdpMode::Driver };
        self.program(name)?
            .attach_to_if_index(ifindex, mode)
            .map_err(|e| {
                anyhow!(
                    "attaching {name} to {iface} ({}) failed: {e:#} (another XDP program on it? `ip link show {iface}`)",
                    if skb { "skb mode" } else { "native mode" }
                )
            })?;
        Ok(())
    }

    /// Takes the transmitter's state map out of the object.
    pub fn take_gen_state(&mut self) -> Result<GenState> {
        let map = self
            .ebpf
            .take_map(maps::GEN_STATE)
            .ok_or_else(|| anyhow!("no map {}", maps::GEN_STATE))?;
        Ok(GenState(
            PerCpuArray::try_from(map).context("GEN_STATE map type")?,
        ))
    }

    /// Takes the sink's counter map out of the object.
    pub fn take_sink_stats(&mut self) -> Result<SinkStats> {
        let map = self
            .ebpf
            .take_map(maps::SINK_STATS)
            .ok_or_else(|| anyhow!("no map {}", maps::SINK_STATS))?;
        Ok(SinkStats(
            PerCpuArray::try_from(map).context("SINK_STATS map type")?,
        ))
    }

    /// Frames the bounce program turned around so far (all CPUs).
    pub fn bounced(&self) -> Result<u64> {
        let map = self
            .ebpf
            .map(maps::BOUNCE_STATS)
            .ok_or_else(|| anyhow!("no map {}", maps::BOUNCE_STATS))?;
        let arr: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(map).context("BOUNCE_STATS map type")?;
        Ok(arr.get(&0, 0).context("reading BOUNCE_STATS")?.iter().sum())
    }
}

/// The transmitter's per-CPU state.
pub struct GenState(PerCpuArray<MapData, [u64; gen::WORDS]>);

impl GenState {
    /// Applies `f` to every CPU's words (call between runs only).
    fn update(&mut self, f: impl Fn(&mut [u64; gen::WORDS])) -> Result<()> {
        let mut values: Vec<[u64; gen::WORDS]> =
            self.0.get(&0, 0).context("reading GEN_STATE")?.to_vec();
        for v in &mut values {
            f(v);
        }
        let values = PerCpuValues::try_from(values).context("per-CPU values")?;
        self.0.set(0, values, 0).context("writing GEN_STATE")
    }

    /// Sets the phase stamped into the frames sent from now on.
    pub fn set_phase(&mut self, phase: u64) -> Result<()> {
        self.update(|v| v[gen::PHASE] = phase)
    }

    /// Sets the pacing interval (0: maximum rate); the next frame is due at once.
    pub fn set_interval(&mut self, interval_ns: u64) -> Result<()> {
        self.update(|v| {
            v[gen::INTERVAL_NS] = interval_ns;
            v[gen::NEXT_NS] = 0;
        })
    }

    /// Frames sent so far, all CPUs.
    pub fn sent(&self) -> Result<u64> {
        Ok(self
            .0
            .get(&0, 0)
            .context("reading GEN_STATE")?
            .iter()
            .map(|v| v[gen::SEQ])
            .sum())
    }
}

/// The sink's per-CPU counters.
pub struct SinkStats(PerCpuArray<MapData, [u64; sink::WORDS]>);

impl SinkStats {
    /// Reads and sums the counters.
    pub fn read(&self) -> Result<SinkTotals> {
        let values = self.0.get(&0, 0).context("reading SINK_STATS")?;
        Ok(SinkTotals::sum(values.iter().map(|v| v.as_slice())))
    }
}

fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads a valid rlimit struct; failure is harmless (kernels >= 5.11
    // charge BPF memory to the cgroup instead).
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}
