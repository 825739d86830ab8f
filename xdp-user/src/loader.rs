//! Loads the XDP program ([`Program`]: loaded, maps owned, attached nowhere), attaches it
//! ([`Loader`]: bpf_link, so a killed process leaves nothing behind), and owns its maps: what
//! we answer for, the socket of each queue, and the counters. Dropping the [`Loader`]
//! detaches the program.
use std::net::IpAddr;

use anyhow::{anyhow, Context, Result};
use aya::{
    maps::{Array, HashMap, MapData, PerCpuArray, XskMap},
    programs::{Xdp, XdpMode},
    Ebpf, EbpfLoader,
};
use xdp_common::{config_flags, maps, Config, Counter, SlotLookup, UdpPorts, V4Slots};

use crate::{errors::errno_in_chain, handlers::Identity, netdev::NetDev, xsk::mmap::Mapping};

/// The XDP program's name in the object.
pub const PROGRAM: &str = "xdp_responder";

/// Where the XDP program may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum XdpModeChoice {
    /// Native (driver) mode, falling back to SKB mode if the driver refuses.
    Auto,
    /// Native (driver) mode or fail.
    Native,
    /// SKB (generic) mode: works on any interface, slower, copy-mode sockets only.
    Skb,
}

/// The mode the program was attached in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attached {
    Native,
    Skb,
}

impl Attached {
    pub fn name(self) -> &'static str {
        match self {
            Attached::Native => "native",
            Attached::Skb => "skb",
        }
    }
}

pub struct Loader {
    program: Program,
    pub attached: Attached,
    /// Why native mode was not used, when auto fell back to SKB mode.
    pub native_refusal: Option<String>,
}

/// Whether the running kernel is PREEMPT_RT, by its version string (`uname -v`, which
/// names the preemption model); a kernel whose string cannot be read counts as one.
fn kernel_is_preempt_rt() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/version").map_or(true, |v| is_preempt_rt(&v))
}

/// Whether a kernel version string (`#1 SMP PREEMPT_RT ...`) names PREEMPT_RT.
fn is_preempt_rt(version: &str) -> bool {
    version.split_whitespace().any(|w| w == "PREEMPT_RT")
}

/// The program loaded (verified by the kernel) with its maps, attached nowhere yet.
pub struct Program {
    ebpf: Ebpf,
    v4_slots: V4SlotsMap,
}

/// How the program adds to its per-CPU counters (see [`config_flags::PLAIN_COUNTS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counting {
    /// BPF atomic adds: exact wherever the program runs.
    Atomic,
    /// Plain adds to this CPU's copy: exact where runs never interleave on a CPU.
    Plain,
}

impl Counting {
    /// Plain adds in native mode on a kernel without PREEMPT_RT, where the driver's NAPI
    /// poll runs the program with bottom halves disabled; atomic adds in SKB mode and on
    /// PREEMPT_RT (see [`config_flags::PLAIN_COUNTS`]).
    pub fn choose(attached: Attached, preempt_rt: bool) -> Counting {
        match (attached, preempt_rt) {
            (Attached::Native, false) => Counting::Plain,
            (Attached::Native, true) | (Attached::Skb, _) => Counting::Atomic,
        }
    }

    /// [`Counting::choose`] for the running kernel.
    pub fn for_mode(attached: Attached) -> Counting {
        Counting::choose(attached, kernel_is_preempt_rt())
    }

    fn flags(self) -> u32 {
        match self {
            Counting::Atomic => 0,
            Counting::Plain => config_flags::PLAIN_COUNTS,
        }
    }
}

/// The `V4_SLOTS` map's single value, through a shared mapping of the map: the loader
/// writes the slots with atomic stores there (see [`V4Slots`]).
struct V4SlotsMap {
    map: Mapping,
}

impl V4SlotsMap {
    fn new(ebpf: &Ebpf) -> Result<Self> {
        use std::os::fd::{AsFd as _, AsRawFd as _};
        let data = match ebpf.map(maps::V4_SLOTS) {
            Some(aya::maps::Map::Array(data)) => data,
            _ => {
                return Err(anyhow!(
                    "the XDP object has no array map {}",
                    maps::V4_SLOTS
                ))
            }
        };
        // An array map is mapped from its first value, a whole number of pages long.
        // SAFETY: sysconf has no preconditions.
        let page =
            usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).context("page size")?;
        let map = Mapping::shared(data.fd().as_fd().as_raw_fd(), page, 0)
            .with_context(|| format!("mapping {} (created BPF_F_MMAPABLE)", maps::V4_SLOTS))?;
        if map.len() < std::mem::size_of::<V4Slots>() {
            return Err(anyhow!("a page is smaller than {}", maps::V4_SLOTS));
        }
        Ok(V4SlotsMap { map })
    }

    fn get(&self) -> &V4Slots {
        // SAFETY: the mapping starts at the map's value (index 0), is page aligned and at
        // least size_of::<V4Slots>() bytes long (checked in `new`), and lives as long as
        // `self`, which the returned reference borrows. V4Slots is all AtomicU64, so shared
        // access is sound while the kernel and the XDP program read the same words: the
        // program only loads them, and this loader is their only writer.
        unsafe { self.map.ptr().cast::<V4Slots>().as_ref() }
    }
}

impl std::ops::Deref for Loader {
    type Target = Program;
    fn deref(&self) -> &Program {
        &self.program
    }
}

impl std::ops::DerefMut for Loader {
    fn deref_mut(&mut self) -> &mut Program {
        &mut self.program
    }
}

impl Loader {
    /// Loads the program, with an XSKMAP of one slot per RX queue of `dev`, and attaches it
    /// to `dev` in the chosen mode.
    pub fn attach(dev: &NetDev, choice: XdpModeChoice) -> Result<Loader> {
        let mut program = Program::load(xsks_entries(dev.rx_queues), Some(dev))?;
        let prog = program.xdp()?;
        let (attached, native_refusal) = match choice {
            XdpModeChoice::Native => {
                prog.attach_to_if_index(dev.ifindex, XdpMode::Driver)
                    .map_err(|e| attach_error(dev, "native", &e))?;
                (Attached::Native, None)
            }
            XdpModeChoice::Skb => {
                prog.attach_to_if_index(dev.ifindex, XdpMode::Skb)
                    .map_err(|e| attach_error(dev, "skb", &e))?;
                (Attached::Skb, None)
            }
            XdpModeChoice::Auto => match prog.attach_to_if_index(dev.ifindex, XdpMode::Driver) {
                Ok(_) => (Attached::Native, None),
                Err(e) if errno_in_chain(&e) == Some(libc::EBUSY) => {
                    return Err(attach_error(dev, "native", &e))
                }
                Err(e) => {
                    let why = attach_error(dev, "native", &e).to_string();
                    prog.attach_to_if_index(dev.ifindex, XdpMode::Skb)
                        .map_err(|e| attach_error(dev, "skb", &e))?;
                    (Attached::Skb, Some(why))
                }
            },
        };
        Ok(Loader {
            program,
            attached,
            native_refusal,
        })
    }
}

impl Program {
    /// Loads the object and the program into the kernel, with an XSKMAP of `slots` slots
    /// (`dev`, when given, is named in the error if the kernel refuses that size).
    pub fn load(slots: u32, dev: Option<&NetDev>) -> Result<Program> {
        let mut ebpf = EbpfLoader::new()
            .btf(aya::Btf::from_sys_fs().ok().as_ref())
            .map_max_entries(maps::XSKS, slots)
            .load(aya::include_bytes_aligned!(concat!(
                env!("OUT_DIR"),
                "/xdp-ebpf"
            )))
            .map_err(|e| match (&e, dev) {
                (aya::EbpfError::MapError(aya::maps::MapError::CreateError { name, .. }), Some(dev))
                    if name == maps::XSKS =>
                {
                    load_error(&e).context(format!(
                        "the kernel refused an XSKMAP of {slots} slots (one per RX queue of {}); serve fewer queues with `ethtool -L {} combined N`",
                        dev.name, dev.name
                    ))
                }
                _ => load_error(&e),
            })?;
        let prog: &mut Xdp = ebpf
            .program_mut(PROGRAM)
            .ok_or_else(|| anyhow!("the XDP object has no program {PROGRAM}"))?
            .try_into()
            .context("program type")?;
        prog.load().map_err(|e| load_error(&e))?;
        let v4_slots = V4SlotsMap::new(&ebpf)?;
        Ok(Program { ebpf, v4_slots })
    }

    fn xdp(&mut self) -> Result<&mut Xdp> {
        self.ebpf
            .program_mut(PROGRAM)
            .ok_or_else(|| anyhow!("the XDP object has no program {PROGRAM}"))?
            .try_into()
            .context("program type")
    }

    /// The loaded program's file descriptor (for `BPF_PROG_TEST_RUN`).
    pub fn fd(&mut self) -> Result<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd as _;
        Ok(self
            .xdp()?
            .fd()
            .context("the program is not loaded")?
            .as_fd())
    }

    /// Writes the whole identity into the maps (protocols, addresses, ports), replacing
    /// whatever was there, and how the program is to count into `CONFIG`.
    pub fn configure(&mut self, id: &Identity, counting: Counting) -> Result<()> {
        let flags = counting.flags();
        let mut cfg: Array<_, Config> = Array::try_from(self.map(maps::CONFIG)?)?;
        cfg.set(
            0,
            Config {
                protocols: id.protocols,
                flags,
            },
            0,
        )
        .context("writing CONFIG")?;
        for ip in &id.v4 {
            self.add_addr(IpAddr::V4(*ip))?;
        }
        for ip in &id.v6 {
            self.add_addr(IpAddr::V6(*ip))?;
        }
        let mut ports: Array<_, UdpPorts> = Array::try_from(self.map(maps::UDP_PORTS)?)?;
        ports
            .set(0, UdpPorts::from_ports(id.udp_ports.iter().copied()), 0)
            .context("writing UDP_PORTS")
    }

    /// Starts answering for `ip` (the kernel side only; the caller updates the workers). An
    /// IPv4 address takes a free slot of `V4_SLOTS`, or else goes into `V4_ADDRS`.
    pub fn add_addr(&mut self, ip: IpAddr) -> Result<()> {
        let why = || {
            format!(
                "adding address {ip} (at most {} per family)",
                xdp_common::MAX_ADDRS
            )
        };
        match ip {
            IpAddr::V4(v4) => {
                let key = v4.octets();
                let slots = self.v4_slots.get();
                let mut overflow =
                    HashMap::<_, [u8; 4], u8>::try_from(map_mut(&mut self.ebpf, maps::V4_ADDRS)?)?;
                if slots.find(&key) == SlotLookup::Ours
                    || overflow.get(&key, 0).is_ok()
                    || slots.insert(&key)
                {
                    return Ok(());
                }
                overflow.insert(key, 1, 0).with_context(why)?;
                slots.overflow_added();
                Ok(())
            }
            IpAddr::V6(v6) => HashMap::<_, [u8; 16], u8>::try_from(self.map(maps::V6_ADDRS)?)?
                .insert(v6.octets(), 1, 0)
                .with_context(why),
        }
    }

    /// Stops answering for `ip`. Removing an address we do not have is not an error.
    pub fn remove_addr(&mut self, ip: IpAddr) -> Result<()> {
        let res = match ip {
            IpAddr::V4(v4) => {
                let key = v4.octets();
                let slots = self.v4_slots.get();
                slots.remove(&key);
                let res =
                    HashMap::<_, [u8; 4], u8>::try_from(map_mut(&mut self.ebpf, maps::V4_ADDRS)?)?
                        .remove(&key);
                if res.is_ok() {
                    slots.overflow_removed();
                }
                res
            }
            IpAddr::V6(v6) => HashMap::<_, [u8; 16], u8>::try_from(self.map(maps::V6_ADDRS)?)?
                .remove(&v6.octets()),
        };
        match res {
            Err(e) if errno_in_chain(&e) == Some(libc::ENOENT) => Ok(()),
            Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            other => other.with_context(|| format!("removing address {ip}")),
        }
    }

    /// Puts the AF_XDP socket `fd` in the XSKMAP slot of `queue`. The caller must hold the
    /// socket open for the duration of the call; afterwards its lifetime is the kernel's
    /// business: the map entry does not depend on our fd, and closing the socket removes the
    /// entry (`xsk_release` -> `xsk_delete_from_maps`), so a map never points at a dead socket.
    pub fn register_socket(&mut self, queue: u32, fd: std::os::fd::RawFd) -> Result<()> {
        let mut xsks = XskMap::try_from(self.map(maps::XSKS)?)?;
        // SAFETY: BorrowedFd only needs `fd` open while it is borrowed, i.e. during this
        // call, which the contract above requires; nothing keeps the BorrowedFd past it.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        xsks.set(queue, fd, 0)
            .with_context(|| format!("registering the socket of queue {queue} in XSKS"))
    }

    /// Empties the XSKMAP slot of `queue`: from then on the XDP program passes that queue's
    /// frames to the kernel (its redirect falls back to `XDP_PASS`). An empty slot is fine.
    pub fn unregister_socket(&mut self, queue: u32) -> Result<()> {
        let mut xsks = XskMap::try_from(self.map(maps::XSKS)?)?;
        match xsks.unset(queue) {
            Err(e) if errno_in_chain(&e) == Some(libc::ENOENT) => Ok(()),
            Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            other => {
                other.with_context(|| format!("removing the socket of queue {queue} from XSKS"))
            }
        }
    }

    /// The program's counters, summed over CPUs, with the totals derived
    /// ([`Counter::totals`]), in [`Counter`] order.
    pub fn counters(&self) -> Result<[u64; Counter::COUNT]> {
        let map = self
            .ebpf
            .map(maps::COUNTERS)
            .ok_or_else(|| anyhow!("no map {}", maps::COUNTERS))?;
        let arr: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map)?;
        let mut out = [0u64; Counter::COUNT];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = arr.get(&(i as u32), 0)?.iter().sum();
        }
        Ok(Counter::totals(out))
    }

    fn map(&mut self, name: &str) -> Result<&mut aya::maps::Map> {
        map_mut(&mut self.ebpf, name)
    }
}

/// The map `name` of the object (a function of the `Ebpf` alone, so that the V4 slots can be
/// borrowed beside it).
fn map_mut<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut aya::maps::Map> {
    ebpf.map_mut(name)
        .ok_or_else(|| anyhow!("the XDP object has no map {name}"))
}

/// XSKMAP slots for an interface with `rx_queues` RX queues: one per queue (the map is
/// indexed by RX queue id), at least one.
pub fn xsks_entries(rx_queues: u32) -> u32 {
    rx_queues.max(1)
}

fn load_error(e: &(dyn std::error::Error + 'static)) -> anyhow::Error {
    match errno_in_chain(e) {
        Some(libc::EPERM) | Some(libc::EACCES) => anyhow!(
            "loading the XDP program: permission denied: {}",
            crate::errors::NEED_ROOT
        ),
        _ => anyhow!("loading the XDP program: {e}"),
    }
}

fn attach_error(dev: &NetDev, mode: &str, e: &(dyn std::error::Error + 'static)) -> anyhow::Error {
    let name = &dev.name;
    let hint = match errno_in_chain(e) {
        Some(libc::EBUSY) | Some(libc::EEXIST) => format!(
            "another XDP program is already attached to {name}: see `ip link show {name}`; stop the other xdp-responder, or detach it with `ip link set dev {name} xdp off`"
        ),
        Some(libc::ERANGE) => format!(
            "the MTU of {name} (or of its veth peer) is too large for {mode} XDP: lower it, e.g. `ip link set dev {name} mtu 1500` (on veth set it on both ends), or use --xdp-mode skb"
        ),
        // veth_xdp_set: "XDP expects number of rx queues not less than peer tx queues".
        Some(libc::ENOSPC) => format!(
            "{name} has fewer RX queues than its peer has TX queues, which {mode} XDP on veth refuses: give both ends as many (`ethtool -L {name} rx N`, or create the pair with numrxqueues/numtxqueues), or use --xdp-mode skb"
        ),
        Some(libc::EOPNOTSUPP) => format!("driver {} has no {mode} XDP support on {name}: use --xdp-mode skb", dev.driver),
        Some(libc::EPERM) | Some(libc::EACCES) => crate::errors::NEED_ROOT.to_string(),
        Some(libc::ENODEV) => format!("{name} disappeared"),
        _ => String::new(),
    };
    if hint.is_empty() {
        anyhow!("attaching XDP in {mode} mode to {name}: {e}")
    } else {
        anyhow!("attaching XDP in {mode} mode to {name}: {hint} ({e})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_counts_in_native_mode_without_preempt_rt_only() {
        assert_eq!(
            Counting::choose(Attached::Native, false).flags(),
            config_flags::PLAIN_COUNTS
        );
        for (mode, rt) in [
            (Attached::Native, true),
            (Attached::Skb, false),
            (Attached::Skb, true),
        ] {
            assert_eq!(Counting::choose(mode, rt).flags(), 0, "{mode:?} rt={rt}");
        }
    }

    #[test]
    fn preempt_rt_is_read_from_the_version_string() {
        assert!(is_preempt_rt(
            "#1 SMP PREEMPT_RT Debian 6.12.57-1 (2025-11-05)\n"
        ));
        assert!(!is_preempt_rt(
            "#1 SMP PREEMPT_DYNAMIC Debian 6.12.57-1 (2025-11-05)\n"
        ));
        assert!(!is_preempt_rt("#1 SMP PREEMPT_DYNAMIC @0\n"));
        assert!(!is_preempt_rt("#1 SMP Thu Jan 1 00:00:00 UTC 1970"));
    }
}
