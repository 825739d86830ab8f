//! The ABI between the BPF programs (`xdp-ebpf`) and the user-space programs that load them
//! and read their maps. `no_std`: the bpf target and the host compile the same definitions,
//! so a map's name, key and value type are written down exactly once.
//!
//! * The responder's XDP program and `xdp-user`: the map names ([`maps`]), the single
//!   [`Config`] value (the [`proto`] switches built from [`Protocol`]), the IPv4 and IPv6
//!   address slots ([`V4Slots`], [`V6Slots`]), the UDP port bitmap ([`UdpPorts`]), the
//!   per-CPU outcome counters ([`Counter`], one slot per frame, with the totals user space
//!   derives from them) and the XSKMAP and address-map sizes.
//! * [`generator`]: the contract between the generator's programs and `xdp-gen`.
//! * [`ladder`]: the contract between the copy ladder's counters and `xdp-ladder count`.
//! * [`named_enum!`]: the one list a name table comes from (counters, protocols, and in
//!   `xdp-user` the answer kinds and drop reasons): `COUNT`, `ALL`, `NAMES`, `name()` and
//!   `from_name()` cannot drift apart.
//!
//! Everything here is `#[repr(C)]` plain data or a constant (the address slots are atomic
//! words, shared with a running program). Frame formats are not: they are
//! `xdp-wire`'s. The `user` feature adds the `aya::Pod` impls the loaders need to read and
//! write the map values.
#![no_std]

use core::sync::atomic::{AtomicU64, Ordering};

pub mod generator;
pub mod ladder;

/// Size of the XSKMAP in the object file (index = RX queue id). The loader resizes the map
/// to the interface's RX queue count before loading, so this is only a placeholder.
pub const XSKS_PLACEHOLDER_ENTRIES: u32 = 64;
/// Highest number of IPv4 / IPv6 addresses we answer for: the [`V4Slots::SLOTS`] slots plus
/// the `V4_ADDRS` hash map, sized [`V4_MAP_ENTRIES`], and the [`V6Slots::SLOTS`] slots plus
/// the `V6_ADDRS` hash map, sized [`V6_MAP_ENTRIES`]. (An IPv6 slot freed where the loader
/// cannot wait for a grace period stays unused, one address less; see [`V6Slots`].)
pub const MAX_ADDRS: u32 = 256;
/// Size of the `V4_ADDRS` hash map: the IPv4 addresses that do not fit in [`V4Slots`].
pub const V4_MAP_ENTRIES: u32 = MAX_ADDRS - V4Slots::SLOTS as u32;
/// Size of the `V6_ADDRS` hash map: the IPv6 addresses that do not fit in [`V6Slots`].
pub const V6_MAP_ENTRIES: u32 = MAX_ADDRS - V6Slots::SLOTS as u32;

/// Map names, as declared in the XDP program and looked up by the loader.
pub mod maps {
    /// `XskMap`: RX queue index -> AF_XDP socket fd.
    pub const XSKS: &str = "XSKS";
    /// `Array<Config>` with a single entry (index 0).
    pub const CONFIG: &str = "CONFIG";
    /// `Array<V4Slots>` with a single entry (index 0), created `BPF_F_MMAPABLE`: the first
    /// [`crate::V4Slots::SLOTS`] IPv4 addresses we answer for.
    pub const V4_SLOTS: &str = "V4_SLOTS";
    /// `HashMap<[u8; 4], u8>`: the IPv4 addresses we answer for that found no free slot in
    /// `V4_SLOTS` (network byte order). Value unused.
    pub const V4_ADDRS: &str = "V4_ADDRS";
    /// `Array<V6Slots>` with a single entry (index 0), created `BPF_F_MMAPABLE`: the first
    /// [`crate::V6Slots::SLOTS`] IPv6 addresses we answer for.
    pub const V6_SLOTS: &str = "V6_SLOTS";
    /// `HashMap<[u8; 16], u8>`: the IPv6 addresses we answer for that found no free slot in
    /// `V6_SLOTS`. Value unused.
    pub const V6_ADDRS: &str = "V6_ADDRS";
    /// `Array<UdpPorts>` with a single entry (index 0): the UDP destination ports we echo on.
    pub const UDP_PORTS: &str = "UDP_PORTS";
    /// `PerCpuArray<u64>` indexed by [`crate::Counter`].
    pub const COUNTERS: &str = "COUNTERS";
}

/// Defines a field-less enum whose variants are numbered densely from 0 in the order given,
/// each with its stable snake_case name, plus `COUNT`, `ALL` (in discriminant order), `NAMES`,
/// `name()` and `from_name()`: one list, so the tables cannot drift apart. `no_std` and
/// `const`, so the XDP program uses the same definitions as user space.
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $repr:ident {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[repr($repr)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Number of variants.
            pub const COUNT: usize = [$($name::$variant),+].len();
            /// Every variant, in discriminant order (`ALL[v as usize] == v`).
            pub const ALL: [$name; Self::COUNT] = [$($name::$variant),+];
            /// The names, in the order of [`Self::ALL`].
            pub const NAMES: [&'static str; Self::COUNT] = [$($text),+];

            /// Stable snake_case name, used in output, JSON and metrics.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The variant called `name`.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

named_enum! {
    /// The kinds of traffic to our addresses we take: the switches of [`Config::protocols`]
    /// (bit `1 << kind`), the XDP program's per-kind redirect counters and the responder's
    /// `--protocols` names.
    pub enum Protocol: u32 {
        /// ARP requests for our IPv4 addresses.
        Arp => "arp",
        /// ICMPv4 echo requests to our IPv4 addresses.
        Icmp4 => "icmp4",
        /// ICMPv6 echo requests to our IPv6 addresses.
        Icmp6 => "icmp6",
        /// Neighbor Solicitations for our IPv6 addresses.
        Ndp => "ndp",
        /// UDP datagrams to our addresses on one of `UDP_PORTS`.
        Udp => "udp",
    }
}

impl Protocol {
    /// This kind's switch in [`Config::protocols`].
    #[inline(always)]
    pub const fn bit(self) -> u32 {
        1 << self as u32
    }

    /// The per-kind `Redirected*` counter.
    #[inline(always)]
    pub const fn counter(self) -> Counter {
        match self {
            Protocol::Arp => Counter::RedirectedArp,
            Protocol::Icmp4 => Counter::RedirectedIcmp4,
            Protocol::Icmp6 => Counter::RedirectedIcmp6,
            Protocol::Ndp => Counter::RedirectedNdp,
            Protocol::Udp => Counter::RedirectedUdp,
        }
    }
}

impl Counter {
    /// Is this an outcome the program counts, rather than a sum of outcomes?
    pub const fn is_outcome(self) -> bool {
        !matches!(self, Counter::Seen | Counter::Redirected)
    }

    /// Is this one of the per-kind `Redirected*` outcomes?
    pub const fn is_redirect(self) -> bool {
        let mut i = 0;
        while i < Protocol::COUNT {
            if Protocol::ALL[i].counter() as u32 == self as u32 {
                return true;
            }
            i += 1;
        }
        false
    }

    /// The counters as user space reports them: the outcomes as read from the map (summed
    /// over CPUs), with `Seen` and `Redirected` set to their sums.
    pub fn totals(slots: [u64; Counter::COUNT]) -> [u64; Counter::COUNT] {
        let mut out = slots;
        let (mut seen, mut redirected) = (0u64, 0u64);
        for c in Counter::ALL {
            if c.is_outcome() {
                seen = seen.wrapping_add(slots[c as usize]);
            }
            if c.is_redirect() {
                redirected = redirected.wrapping_add(slots[c as usize]);
            }
        }
        out[Counter::Seen as usize] = seen;
        out[Counter::Redirected as usize] = redirected;
        out
    }
}

/// Protocol switches in [`Config::protocols`], as bits ([`Protocol::bit`]).
pub mod proto {
    use super::Protocol;

    pub const ARP: u32 = Protocol::Arp.bit();
    pub const ICMP4_ECHO: u32 = Protocol::Icmp4.bit();
    pub const ICMP6_ECHO: u32 = Protocol::Icmp6.bit();
    pub const NDP: u32 = Protocol::Ndp.bit();
    pub const UDP: u32 = Protocol::Udp.bit();
    /// Every protocol.
    pub const ALL: u32 = {
        let mut bits = 0;
        let mut i = 0;
        while i < Protocol::COUNT {
            bits |= Protocol::ALL[i].bit();
            i += 1;
        }
        bits
    };
}

/// The single value of the `CONFIG` map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Bit set of [`proto`] switches: which traffic to our addresses we take.
    pub protocols: u32,
    /// Bit set of [`config_flags`].
    pub flags: u32,
}

/// The bits of [`Config::flags`].
pub mod config_flags {
    /// Add one to a counter with a plain read-modify-write of this CPU's copy instead of a
    /// BPF atomic add (a locked instruction, the dearest step of a short program). Exact
    /// only where two runs of the program never interleave on one CPU: in native (driver)
    /// mode on a kernel without PREEMPT_RT, where the driver's NAPI poll (also when
    /// threaded or busy-polled) runs the program with bottom halves disabled, and so not
    /// preemptible. On PREEMPT_RT bottom halves are preemptible and need not be serialized
    /// per CPU, and SKB mode can run the program from process context with only migration
    /// disabled: there the atomic add stays, as it does with the flag unset.
    pub const PLAIN_COUNTS: u32 = 1 << 0;
}

named_enum! {
    /// The XDP program's per-CPU counters, one slot per name in the `COUNTERS` map. The
    /// program adds one to exactly one outcome per frame; `Seen` and `Redirected` are sums of
    /// outcomes, which the program does not write: [`Counter::totals`] fills them in.
    pub enum Counter: u32 {
        /// Every frame the program saw (the sum of all outcomes).
        Seen => "seen",
        /// Passed to the kernel: not ours (other address, protocol, port, VLAN, fragment, ...).
        Passed => "passed",
        /// Ours, but no AF_XDP socket sits on this RX queue: passed to the kernel instead.
        NoSocket => "no_socket",
        /// Dropped: too short or inconsistent to classify (the kernel would drop it too).
        Malformed => "malformed",
        /// The program hit an unexpected state (XDP_ABORTED).
        Aborted => "aborted",
        /// Redirected to the AF_XDP socket of the frame's RX queue (sum of the five below).
        Redirected => "redirected",
        /// Redirected: ARP for one of our IPv4 addresses.
        RedirectedArp => "redirected_arp",
        /// Redirected: ICMPv4 echo request.
        RedirectedIcmp4 => "redirected_icmp4",
        /// Redirected: ICMPv6 echo request.
        RedirectedIcmp6 => "redirected_icmp6",
        /// Redirected: Neighbor Solicitation for one of our IPv6 addresses.
        RedirectedNdp => "redirected_ndp",
        /// Redirected: UDP to one of our ports.
        RedirectedUdp => "redirected_udp",
    }
}

/// The single value of the `UDP_PORTS` map: one bit per UDP destination port, set where we
/// echo. A bit test is one array load in the XDP program, where a hash map of ports costs a
/// hash and a bucket walk on every UDP frame, and it has room for every port.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpPorts {
    /// Bit `port % 64` of word `port / 64`.
    pub words: [u64; Self::WORDS],
}

impl UdpPorts {
    /// 65536 ports, 64 to a word.
    pub const WORDS: usize = (u16::MAX as usize + 1) / 64;

    /// No port.
    pub const fn empty() -> Self {
        UdpPorts {
            words: [0; Self::WORDS],
        }
    }

    /// The set holding `ports`.
    pub fn from_ports(ports: impl IntoIterator<Item = u16>) -> Self {
        let mut set = Self::empty();
        for port in ports {
            set.words[usize::from(port >> 6)] |= 1 << (port & 63);
        }
        set
    }

    /// Do we echo on `port`?
    #[inline(always)]
    pub fn contains(&self, port: u16) -> bool {
        self.words[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }
}

/// The single value of the `V4_SLOTS` map: up to [`V4Slots::SLOTS`] of our IPv4 addresses,
/// one to a 64-bit word, and how many more sit in the `V4_ADDRS` hash map.
///
/// The XDP program compares a frame's address with the slots, which costs it a few loads,
/// where a hash map lookup costs a hash and a bucket walk (about half the program's time on
/// an answered IPv4 frame). It consults the hash map only when the count of addresses there
/// is not zero, so frames for the kernel's own addresses skip it too.
///
/// User space changes the slots through a shared mapping of the map (not with map updates,
/// whose copy has no defined width) and writes each slot with one atomic 64-bit store, while
/// the program reads each with one 64-bit load: a frame sees every slot either before or
/// after a change, never a mix of two addresses' bytes. Only the loader writes, one change at
/// a time.
#[repr(C)]
#[derive(Debug, Default)]
pub struct V4Slots {
    /// [`V4Slots::LIVE`] with the address's four bytes in memory order in the low half, or 0.
    slots: [AtomicU64; Self::SLOTS],
    /// How many of our addresses are in the `V4_ADDRS` hash map instead.
    pub overflow: Overflow,
}

/// One 64-bit load of a word shared with another process: an atomic load on the host. On the
/// bpf target, whose LLVM backend cannot select atomic loads for the cpu we build for, it is
/// the same single 64-bit load written as a volatile read (the kernel's `READ_ONCE`).
#[inline(always)]
fn load_word(word: &AtomicU64) -> u64 {
    #[cfg(target_arch = "bpf")]
    {
        // SAFETY: `as_ptr` is aligned and valid for reads while `word` is borrowed. The writer
        // (the loader, another process) stores whole words with 8-byte atomic stores, and an
        // aligned 8-byte load is single-copy atomic on 64-bit CPUs, so this reads one whole
        // value: the old or the new one.
        unsafe { word.as_ptr().read_volatile() }
    }
    #[cfg(not(target_arch = "bpf"))]
    {
        word.load(Ordering::Relaxed)
    }
}

/// How many of our addresses of one family are in its hash map rather than in a slot. The
/// program asks the map only when this is not zero.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Overflow(AtomicU64);

impl Overflow {
    /// What a lookup that found no slot knows: not ours, or ask the hash map.
    #[inline(always)]
    pub fn lookup(&self) -> SlotLookup {
        if load_word(&self.0) == 0 {
            SlotLookup::NotOurs
        } else {
            SlotLookup::AskMap
        }
    }

    /// Counts one more address in the hash map: call after inserting it there.
    pub fn added(&self) {
        self.set(self.0.load(Ordering::Relaxed).wrapping_add(1));
    }

    /// Counts one address less in the hash map: call after deleting it there.
    pub fn removed(&self) {
        self.set(self.0.load(Ordering::Relaxed).saturating_sub(1));
    }

    /// A load and a store, not a read-modify-write: the bpf target has no atomic add, and
    /// there is one writer.
    fn set(&self, n: u64) {
        self.0.store(n, Ordering::Release);
    }
}

/// What [`V4Slots::find`] and [`V6Slots::find`] know about an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotLookup {
    /// In a slot: ours.
    Ours,
    /// In no slot, and the hash map is empty: not ours.
    NotOurs,
    /// In no slot, and the hash map holds some addresses: ask it.
    AskMap,
}

impl SlotLookup {
    /// Whether the address is ours: in a slot, or in the hash map where `in_map` (the map
    /// lookup) is asked only for [`SlotLookup::AskMap`].
    #[inline(always)]
    pub fn ours_or_in(self, in_map: impl FnOnce() -> bool) -> bool {
        match self {
            SlotLookup::Ours => true,
            SlotLookup::AskMap => in_map(),
            SlotLookup::NotOurs => false,
        }
    }
}

impl V4Slots {
    /// Addresses held in slots.
    pub const SLOTS: usize = 8;
    /// Marks a slot in use (so that 0.0.0.0 is not the empty slot's address).
    const LIVE: u64 = 1 << 32;

    #[inline(always)]
    fn word(addr: &[u8; 4]) -> u64 {
        Self::LIVE | u64::from(u32::from_ne_bytes(*addr))
    }

    /// Where to find `addr` (network order): in a slot, nowhere, or maybe in the hash map.
    #[inline(always)]
    pub fn find(&self, addr: &[u8; 4]) -> SlotLookup {
        let word = Self::word(addr);
        for slot in &self.slots {
            if load_word(slot) == word {
                return SlotLookup::Ours;
            }
        }
        self.overflow.lookup()
    }

    /// Puts `addr` in a free slot; `false` if there is none. The caller has checked that
    /// `addr` is not held yet.
    pub fn insert(&self, addr: &[u8; 4]) -> bool {
        match self.slots.iter().find(|s| s.load(Ordering::Relaxed) == 0) {
            Some(slot) => {
                slot.store(Self::word(addr), Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Frees the slot of `addr`; `false` if no slot holds it.
    pub fn remove(&self, addr: &[u8; 4]) -> bool {
        let word = Self::word(addr);
        match self
            .slots
            .iter()
            .find(|s| s.load(Ordering::Relaxed) == word)
        {
            Some(slot) => {
                slot.store(0, Ordering::Release);
                true
            }
            None => false,
        }
    }
}

/// The single value of the `V6_SLOTS` map: up to [`V6Slots::SLOTS`] of our IPv6 addresses,
/// two 64-bit words each, a bit set of the slots in use, and how many more addresses sit in
/// the `V6_ADDRS` hash map. It spares an answered IPv6 frame the hash of a 16-byte key, as
/// [`V4Slots`] does for IPv4.
///
/// Two words cannot change in one store, so the slots follow these rules (the loader is the
/// only writer, through a shared mapping):
/// - [`insert`](Self::insert) writes a free slot's two words first, then sets its bit in
///   `live` with a release store. The program reads `live` first and compares only slots
///   whose bit is set.
/// - [`remove`](Self::remove) clears the bit and marks the slot *retired*: a program run that
///   read `live` before the change may still be comparing the slot's words. A retired slot
///   takes no new address until [`reclaim_retired`](Self::reclaim_retired), which the caller
///   calls only after an RCU grace period that began after the removals (every XDP run is an
///   RCU read-side section), so no run can see one word of the old address and one of the
///   new. The loader waits for one only when an address finds no free slot but a retired one.
///
/// On a CPU that orders loads (x86), a run therefore sees a slot either before or after a
/// change. A CPU that may reorder loads (arm64) may, in the few nanoseconds between an
/// insert's word stores and its bit store, compare words it read before the bit: a frame to
/// an address mixed of the slot's old and new words could then be taken. User space checks
/// every frame's destination again and counts such a frame as a `not_ours` drop.
#[repr(C)]
#[derive(Debug, Default)]
pub struct V6Slots {
    /// Each slot's address, as the two native-endian words of its 16 bytes in memory order.
    slots: [[AtomicU64; 2]; Self::SLOTS],
    /// Bit `i` set: slot `i` holds one of our addresses.
    live: AtomicU64,
    /// How many of our addresses are in the `V6_ADDRS` hash map instead.
    pub overflow: Overflow,
    /// Bit `i` set: slot `i` was freed and awaits a grace period (the loader's; the program
    /// does not read it).
    retired: AtomicU64,
}

impl V6Slots {
    /// Addresses held in slots.
    pub const SLOTS: usize = 8;

    #[inline(always)]
    fn words(addr: &[u8; 16]) -> [u64; 2] {
        let mut hi = [0u8; 8];
        let mut lo = [0u8; 8];
        hi.copy_from_slice(&addr[..8]);
        lo.copy_from_slice(&addr[8..]);
        [u64::from_ne_bytes(hi), u64::from_ne_bytes(lo)]
    }

    /// Where to find `addr`: in a slot, nowhere, or maybe in the hash map.
    #[inline(always)]
    pub fn find(&self, addr: &[u8; 16]) -> SlotLookup {
        let live = load_word(&self.live);
        if live != 0 {
            let [hi, lo] = Self::words(addr);
            for (i, slot) in self.slots.iter().enumerate() {
                if live & (1 << i) != 0 && load_word(&slot[0]) == hi && load_word(&slot[1]) == lo {
                    return SlotLookup::Ours;
                }
            }
        }
        self.overflow.lookup()
    }

    /// Puts `addr` in a slot that is neither live nor retired; `false` if there is none. The
    /// caller has checked that `addr` is not held yet.
    pub fn insert(&self, addr: &[u8; 16]) -> bool {
        let live = self.live.load(Ordering::Relaxed);
        let taken = live | self.retired.load(Ordering::Relaxed);
        let Some(i) = (0..Self::SLOTS).find(|i| taken & (1 << i) == 0) else {
            return false;
        };
        for (word, value) in self.slots[i].iter().zip(Self::words(addr)) {
            word.store(value, Ordering::Relaxed);
        }
        self.live.store(live | 1 << i, Ordering::Release);
        true
    }

    /// Frees the slot of `addr` and retires it; `false` if no live slot holds it.
    pub fn remove(&self, addr: &[u8; 16]) -> bool {
        let live = self.live.load(Ordering::Relaxed);
        let words = Self::words(addr);
        let held = |i: &usize| {
            live & (1 << i) != 0
                && self.slots[*i]
                    .iter()
                    .zip(words)
                    .all(|(word, value)| word.load(Ordering::Relaxed) == value)
        };
        let Some(i) = (0..Self::SLOTS).find(held) else {
            return false;
        };
        self.live.store(live & !(1 << i), Ordering::Release);
        self.retired.store(
            self.retired.load(Ordering::Relaxed) | 1 << i,
            Ordering::Relaxed,
        );
        true
    }

    /// Whether some slot is retired (freed, awaiting a grace period).
    pub fn has_retired(&self) -> bool {
        self.retired.load(Ordering::Relaxed) != 0
    }

    /// Makes the retired slots free again. Call only after an RCU grace period that began
    /// after the last [`remove`](Self::remove).
    pub fn reclaim_retired(&self) {
        self.retired.store(0, Ordering::Relaxed);
    }
}

impl Default for UdpPorts {
    fn default() -> Self {
        Self::empty()
    }
}

// SAFETY: Config is #[repr(C)], has no padding (two u32) and every bit pattern is valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Config {}

// SAFETY: UdpPorts is #[repr(C)], an array of u64 without padding; every bit pattern is valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for UdpPorts {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_dense_and_named_uniquely() {
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as u32, i as u32);
            assert_eq!(c.name(), Counter::NAMES[i]);
            assert_eq!(Counter::from_name(c.name()), Some(*c));
            for d in &Counter::ALL[i + 1..] {
                assert_ne!(c.name(), d.name());
            }
        }
        assert_eq!(Counter::COUNT, 11);
        assert_eq!(Counter::from_name("nope"), None);
    }

    #[test]
    fn totals_sum_the_outcomes() {
        let mut slots = [0u64; Counter::COUNT];
        for (i, c) in Counter::ALL.iter().enumerate() {
            // Distinct powers of two, so every sum names exactly the slots it took.
            slots[*c as usize] = 1 << i;
        }
        let t = Counter::totals(slots);
        let bit = |c: Counter| 1u64 << c as u32;
        let redirects = bit(Counter::RedirectedArp)
            | bit(Counter::RedirectedIcmp4)
            | bit(Counter::RedirectedIcmp6)
            | bit(Counter::RedirectedNdp)
            | bit(Counter::RedirectedUdp);
        let outcomes = redirects
            | bit(Counter::Passed)
            | bit(Counter::NoSocket)
            | bit(Counter::Malformed)
            | bit(Counter::Aborted);
        assert_eq!(t[Counter::Redirected as usize], redirects);
        assert_eq!(t[Counter::Seen as usize], outcomes);
        for c in Counter::ALL.into_iter().filter(|c| c.is_outcome()) {
            assert_eq!(t[c as usize], slots[c as usize], "{}", c.name());
        }
    }

    #[test]
    fn udp_ports_hold_exactly_their_ports() {
        let ports = [0u16, 7, 63, 64, 4791, 65535];
        let set = UdpPorts::from_ports(ports);
        for p in 0..=u16::MAX {
            assert_eq!(set.contains(p), ports.contains(&p), "port {p}");
        }
        assert!(!UdpPorts::empty().contains(7));
    }

    #[test]
    fn v4_slots_hold_their_addresses_and_say_when_to_ask_the_map() {
        let set = V4Slots::default();
        let addr = |i: u8| [198, 18, 0, i];
        assert_eq!(set.find(&[0, 0, 0, 0]), SlotLookup::NotOurs);
        for i in 0..V4Slots::SLOTS as u8 {
            assert!(set.insert(&addr(i)), "slot {i}");
        }
        assert!(!set.insert(&addr(100)), "a ninth address found a slot");
        for i in 0..V4Slots::SLOTS as u8 {
            assert_eq!(set.find(&addr(i)), SlotLookup::Ours);
        }
        // 0.0.0.0 and a byte-swapped address are not the ones held.
        assert_eq!(set.find(&[0, 0, 0, 0]), SlotLookup::NotOurs);
        assert_eq!(set.find(&[3, 0, 18, 198]), SlotLookup::NotOurs);
        set.overflow.added();
        assert_eq!(set.find(&addr(100)), SlotLookup::AskMap);
        assert_eq!(set.find(&addr(3)), SlotLookup::Ours);
        set.overflow.removed();
        assert_eq!(set.find(&addr(100)), SlotLookup::NotOurs);
        // A freed slot takes the next address; the others stay.
        assert!(set.remove(&addr(3)));
        assert!(!set.remove(&addr(3)));
        assert_eq!(set.find(&addr(3)), SlotLookup::NotOurs);
        assert!(set.insert(&addr(100)));
        assert_eq!(set.find(&addr(100)), SlotLookup::Ours);
        assert_eq!(set.find(&addr(7)), SlotLookup::Ours);
    }

    #[test]
    fn v6_slots_compare_both_words_and_reuse_a_slot_only_after_reclaim() {
        let set = V6Slots::default();
        let addr = |i: u8| {
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&[0x20, 0x01, 0x00, 0x02]);
            a[15] = i;
            a
        };
        assert_eq!(set.find(&[0; 16]), SlotLookup::NotOurs);
        assert!(set.insert(&addr(0)));
        // The unspecified address equals the words of the slots not in use: they do not count.
        assert_eq!(set.find(&[0; 16]), SlotLookup::NotOurs);
        for i in 1..V6Slots::SLOTS as u8 {
            assert!(set.insert(&addr(i)), "slot {i}");
        }
        assert!(!set.insert(&addr(100)), "a ninth address found a slot");
        for i in 0..V6Slots::SLOTS as u8 {
            assert_eq!(set.find(&addr(i)), SlotLookup::Ours);
        }
        // Either word alone does not match: a held address's second word with another first
        // word, and its first word with another second word.
        let mut first_differs = addr(1);
        first_differs[0] = 0x30;
        assert_eq!(set.find(&first_differs), SlotLookup::NotOurs);
        assert_eq!(set.find(&addr(200)), SlotLookup::NotOurs);
        set.overflow.added();
        assert_eq!(set.find(&addr(100)), SlotLookup::AskMap);
        set.overflow.removed();
        assert_eq!(set.find(&addr(100)), SlotLookup::NotOurs);

        // A removed address is gone at once; its slot waits for reclaim_retired.
        assert!(set.remove(&addr(3)));
        assert!(!set.remove(&addr(3)));
        assert_eq!(set.find(&addr(3)), SlotLookup::NotOurs);
        assert!(!set.insert(&addr(100)), "a retired slot took an address");
        assert_eq!(set.find(&addr(100)), SlotLookup::NotOurs);
        set.reclaim_retired();
        assert!(set.insert(&addr(100)));
        assert_eq!(set.find(&addr(100)), SlotLookup::Ours);
        assert_eq!(set.find(&addr(3)), SlotLookup::NotOurs);
        for i in (0..V6Slots::SLOTS as u8).filter(|&i| i != 3) {
            assert_eq!(set.find(&addr(i)), SlotLookup::Ours, "address {i}");
        }
    }

    #[test]
    fn protocol_bits_and_counters_follow_the_one_list() {
        assert_eq!(proto::ALL, 0b1_1111);
        assert_eq!(
            [
                proto::ARP,
                proto::ICMP4_ECHO,
                proto::ICMP6_ECHO,
                proto::NDP,
                proto::UDP
            ],
            [1, 2, 4, 8, 16]
        );
        for p in Protocol::ALL {
            let counter = p.counter().name();
            assert_eq!(counter.strip_prefix("redirected_"), Some(p.name()));
        }
    }
}
