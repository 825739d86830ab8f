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
use xdp_common::{
    config_flags, maps, Config, Counter, Overflow, SlotLookup, UdpPorts, V4Slots, V6Slots,
};

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
    v4_slots: SlotsMap<V4Slots>,
    v6_slots: SlotsMap<V6Slots>,
    /// Whether [`rcu_grace_period`] can work here ([`grace_periods_work`]).
    grace_periods: bool,
}

/// `MEMBARRIER_CMD_GLOBAL` of `<linux/membarrier.h>` (`MEMBARRIER_CMD_SHARED` before 4.16).
const MEMBARRIER_CMD_GLOBAL: libc::c_int = 1;

/// Waits for an RCU grace period: `membarrier(MEMBARRIER_CMD_GLOBAL)` is `synchronize_rcu()`
/// while more than one CPU is online (the kernel's BPF selftests wait for RCU the same way),
/// and every XDP program run is an RCU read-side section (native mode: the driver's NAPI poll
/// with bottom halves disabled; SKB mode and `BPF_PROG_TEST_RUN`: `rcu_read_lock`), so every
/// run that began before the call has ended when it returns. With one CPU online the kernel
/// returns at once, which does not wait for a run preempted in SKB mode: then this fails.
fn rcu_grace_period() -> std::io::Result<()> {
    if !several_cpus_online() {
        return Err(std::io::Error::other("one CPU online"));
    }
    // SAFETY: membarrier takes two integers and touches no memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if !several_cpus_online() {
        return Err(std::io::Error::other("one CPU online"));
    }
    Ok(())
}

/// Whether [`rcu_grace_period`] can work here: more than one CPU online, and a kernel that
/// offers its command (not one booted with `nohz_full=`, whose membarrier query leaves
/// `MEMBARRIER_CMD_GLOBAL` out).
fn grace_periods_work() -> bool {
    // SAFETY: as in rcu_grace_period; command 0 (MEMBARRIER_CMD_QUERY) returns a bit set.
    let mask = unsafe { libc::syscall(libc::SYS_membarrier, 0, 0) };
    several_cpus_online() && mask > 0 && mask & libc::c_long::from(MEMBARRIER_CMD_GLOBAL) != 0
}

fn several_cpus_online() -> bool {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }) > 1
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

/// Map values that the loader shares with the running program through a mapping of the map:
/// all atomic words, written only by the loader.
///
/// # Safety
/// The type must be `#[repr(C)]` and consist of atomics only, so that every bit pattern is a
/// valid value and shared access from the kernel's side is sound.
unsafe trait SharedValue {}
// SAFETY: #[repr(C)], AtomicU64 words only.
unsafe impl SharedValue for V4Slots {}
// SAFETY: #[repr(C)], AtomicU64 words only.
unsafe impl SharedValue for V6Slots {}

/// The single value of an array map created `BPF_F_MMAPABLE` (`V4_SLOTS`, `V6_SLOTS`),
/// through a shared mapping of the map: the loader writes the slots with atomic stores there.
struct SlotsMap<T> {
    map: Mapping,
    value: std::marker::PhantomData<T>,
}

impl<T: SharedValue> SlotsMap<T> {
    fn new(ebpf: &Ebpf, name: &str) -> Result<Self> {
        use std::os::fd::{AsFd as _, AsRawFd as _};
        let data = match ebpf.map(name) {
            Some(aya::maps::Map::Array(data)) => data,
            _ => return Err(anyhow!("the XDP object has no array map {name}")),
        };
        // An array map is mapped from its first value, a whole number of pages long.
        // SAFETY: sysconf has no preconditions.
        let page =
            usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).context("page size")?;
        let map = Mapping::shared(data.fd().as_fd().as_raw_fd(), page, 0)
            .with_context(|| format!("mapping {name} (created BPF_F_MMAPABLE)"))?;
        if map.len() < std::mem::size_of::<T>() {
            return Err(anyhow!("a page is smaller than {name}"));
        }
        Ok(SlotsMap {
            map,
            value: std::marker::PhantomData,
        })
    }

    fn get(&self) -> &T {
        // SAFETY: the mapping starts at the map's value (index 0), is page aligned and at
        // least size_of::<T>() bytes long (checked in `new`), and lives as long as `self`,
        // which the returned reference borrows. T is all atomics (SharedValue), so shared
        // access is sound while the kernel and the XDP program read the same words: the
        // program only loads them, and this loader is their only writer.
        unsafe { self.map.ptr().cast::<T>().as_ref() }
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
        let v4_slots = SlotsMap::new(&ebpf, maps::V4_SLOTS)?;
        let v6_slots = SlotsMap::new(&ebpf, maps::V6_SLOTS)?;
        Ok(Program {
            ebpf,
            v4_slots,
            v6_slots,
            grace_periods: grace_periods_work(),
        })
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
    /// address takes a free slot of `V4_SLOTS` / `V6_SLOTS`, or else goes into `V4_ADDRS` /
    /// `V6_ADDRS`.
    pub fn add_addr(&mut self, ip: IpAddr) -> Result<()> {
        let why = || {
            format!(
                "adding address {ip} (at most {} per family)",
                xdp_common::MAX_ADDRS
            )
        };
        let grace = self.grace_periods;
        let res = match ip {
            IpAddr::V4(v4) => add_to(&mut self.ebpf, self.v4_slots.get(), v4.octets(), grace),
            IpAddr::V6(v6) => add_to(&mut self.ebpf, self.v6_slots.get(), v6.octets(), grace),
        };
        res.with_context(why)
    }

    /// Stops answering for `ip`. Removing an address we do not have is not an error.
    pub fn remove_addr(&mut self, ip: IpAddr) -> Result<()> {
        let res = match ip {
            IpAddr::V4(v4) => remove_from(&mut self.ebpf, self.v4_slots.get(), v4.octets()),
            IpAddr::V6(v6) => remove_from(&mut self.ebpf, self.v6_slots.get(), v6.octets()),
        };
        res.with_context(|| format!("removing address {ip}"))
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

/// One family's address slots, whose overflow is the hash map `MAP`.
trait Places: SharedValue {
    /// The address, in network order: the hash map's key.
    type Key: aya::Pod;
    const MAP: &'static str;
    fn find(&self, key: &Self::Key) -> SlotLookup;
    /// Puts `key` in a free slot; `grace`: [`rcu_grace_period`] may be used to free one.
    fn insert(&self, key: &Self::Key, grace: bool) -> bool;
    /// Frees the slot holding `key`, if one does.
    fn free(&self, key: &Self::Key);
    fn overflow(&self) -> &Overflow;
}

impl Places for V4Slots {
    type Key = [u8; 4];
    const MAP: &'static str = maps::V4_ADDRS;
    fn find(&self, key: &[u8; 4]) -> SlotLookup {
        V4Slots::find(self, key)
    }
    /// One word per slot: a freed slot is free at once.
    fn insert(&self, key: &[u8; 4], _grace: bool) -> bool {
        V4Slots::insert(self, key)
    }
    fn free(&self, key: &[u8; 4]) {
        self.remove(key);
    }
    fn overflow(&self) -> &Overflow {
        &self.overflow
    }
}

impl Places for V6Slots {
    type Key = [u8; 16];
    const MAP: &'static str = maps::V6_ADDRS;
    fn find(&self, key: &[u8; 16]) -> SlotLookup {
        V6Slots::find(self, key)
    }
    /// With no free slot but retired ones, waits for a grace period (one for all the
    /// removals since the last) and takes a reclaimed slot; without grace periods the
    /// retired slots stay unused and the address goes to the hash map.
    fn insert(&self, key: &[u8; 16], grace: bool) -> bool {
        if V6Slots::insert(self, key) {
            return true;
        }
        if !(grace && self.has_retired() && rcu_grace_period().is_ok()) {
            return false;
        }
        self.reclaim_retired();
        V6Slots::insert(self, key)
    }
    fn free(&self, key: &[u8; 16]) {
        self.remove(key);
    }
    fn overflow(&self) -> &Overflow {
        &self.overflow
    }
}

/// Puts `key` in a free slot, or else in the hash map; nothing if it is held already.
fn add_to<S: Places>(ebpf: &mut Ebpf, slots: &S, key: S::Key, grace: bool) -> Result<()> {
    let mut overflow = HashMap::<_, S::Key, u8>::try_from(map_mut(ebpf, S::MAP)?)?;
    if slots.find(&key) == SlotLookup::Ours
        || overflow.get(&key, 0).is_ok()
        || slots.insert(&key, grace)
    {
        return Ok(());
    }
    overflow.insert(key, 1, 0)?;
    slots.overflow().added();
    Ok(())
}

/// Takes `key` out of its slot and out of the hash map; not an error where it is in neither.
fn remove_from<S: Places>(ebpf: &mut Ebpf, slots: &S, key: S::Key) -> Result<()> {
    slots.free(&key);
    match HashMap::<_, S::Key, u8>::try_from(map_mut(ebpf, S::MAP)?)?.remove(&key) {
        Ok(()) => {
            slots.overflow().removed();
            Ok(())
        }
        Err(e) if errno_in_chain(&e) == Some(libc::ENOENT) => Ok(()),
        Err(aya::maps::MapError::KeyNotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The map `name` of the object (a function of the `Ebpf` alone, so that the slots can be
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

    /// As root (skipped otherwise): the slots and the hash map hold [`xdp_common::MAX_ADDRS`]
    /// IPv6 addresses, and the next is refused.
    #[test]
    fn v6_addresses_stop_at_max_addrs() {
        if !crate::errors::is_root() {
            return;
        }
        let mut p = Program::load(1, None).expect("load the XDP program");
        let addr = |i: u32| {
            let [a, b, c, d] = i.to_be_bytes();
            IpAddr::V6(std::net::Ipv6Addr::from([
                0x20, 0x01, 0, 2, 0, 0, 0, 9, 0, 0, 0, 0, a, b, c, d,
            ]))
        };
        for i in 0..xdp_common::MAX_ADDRS {
            p.add_addr(addr(i)).expect("add");
        }
        let err = p
            .add_addr(addr(1000))
            .expect_err("one address too many accepted");
        assert!(format!("{err:#}").contains("at most 256"), "{err:#}");
        // Room again after a removal: in the slot it freed, after a grace period (without
        // grace periods that slot stays unused).
        p.remove_addr(addr(0)).expect("remove");
        if p.grace_periods {
            p.add_addr(addr(1000)).expect("add after a removal");
        }
    }

    /// The loaded program's address places, as root (skipped otherwise): the first IPv6
    /// addresses take slots, the next go to the hash map, and a slot freed by a removal takes
    /// a new address once a grace period has passed (where grace periods work; otherwise the
    /// new address goes to the map).
    #[test]
    fn v6_addresses_fill_the_slots_then_the_map_and_a_freed_slot_is_reused() {
        if !crate::errors::is_root() {
            return;
        }
        let mut p = Program::load(1, None).expect("load the XDP program");
        let addr = |i: u16| std::net::Ipv6Addr::new(0x2001, 2, 0, 9, 0, 0, 0, i);
        let in_map = |p: &mut Program, i: u16| {
            let map = p.map(maps::V6_ADDRS).expect("V6_ADDRS");
            HashMap::<_, [u8; 16], u8>::try_from(map)
                .expect("hash map")
                .get(&addr(i).octets(), 0)
                .is_ok()
        };
        let slots = V6Slots::SLOTS as u16;
        for i in 1..=slots + 1 {
            p.add_addr(IpAddr::V6(addr(i))).expect("add");
        }
        for i in 1..=slots {
            assert!(!in_map(&mut p, i), "address {i} went to the map");
        }
        assert!(
            in_map(&mut p, slots + 1),
            "the address after the slots is not in the map"
        );
        p.remove_addr(IpAddr::V6(addr(3))).expect("remove");
        p.add_addr(IpAddr::V6(addr(100))).expect("add");
        assert_eq!(
            in_map(&mut p, 100),
            !p.grace_periods,
            "grace periods work: {}",
            p.grace_periods
        );
        // Removing from the map and from a slot both take the address away.
        p.remove_addr(IpAddr::V6(addr(slots + 1))).expect("remove");
        p.remove_addr(IpAddr::V6(addr(100))).expect("remove");
        assert!(!in_map(&mut p, slots + 1) && !in_map(&mut p, 100));
        for i in [3, 100, slots + 1] {
            let found = p.v6_slots.get().find(&addr(i).octets());
            assert_eq!(found, SlotLookup::NotOurs, "{i}");
        }
    }
}
