//! `xdp_responder`: the XDP program of the AF_XDP responder.
//!
//! It classifies every frame with [`xdp_ebpf::classify`] against the maps that user space
//! fills (`CONFIG`, `V4_SLOTS` and `V4_ADDRS`, `V6_SLOTS` and `V6_ADDRS`, `UDP_PORTS`), and
//! redirects the frames that are ours to the AF_XDP socket bound to the frame's RX queue
//! (`XSKS`). Everything else goes to the kernel, except frames too short to classify, which
//! are dropped. Each frame adds one to exactly one per-CPU outcome counter in `COUNTERS`,
//! indexed by [`xdp_common::Counter`]; user space derives the totals (`Counter::totals`), so
//! the program pays one add per frame (a plain one in native mode, see
//! [`xdp_common::config_flags::PLAIN_COUNTS`]).
//!
//! The program runs on the CPU that receives (on veth, the sender's), before the frame reaches
//! the socket: every instruction here is one the sender does not get. So the redirect is not
//! preceded by an XSKMAP lookup (an empty slot makes `bpf_redirect_map` return its fallback
//! action, which we count as `no_socket`), the UDP ports are a bitmap in an array map, not
//! a hash map, and the first IPv4 and IPv6 addresses are compared in place
//! ([`xdp_common::V4Slots`], [`xdp_common::V6Slots`]).
//!
//! On the host this file builds to an empty binary, so that the workspace builds with stable.
#![cfg_attr(target_arch = "bpf", no_std, no_main)]
// The counters' atomic add is one BPF instruction written as inline assembly.
#![cfg_attr(target_arch = "bpf", feature(asm_experimental_arch))]

#[cfg(target_arch = "bpf")]
mod program {
    use aya_ebpf::{
        bindings::{
            xdp_action::{XDP_ABORTED, XDP_DROP, XDP_PASS},
            BPF_F_MMAPABLE,
        },
        macros::{map, xdp},
        maps::{Array, HashMap, PerCpuArray, XskMap},
        programs::XdpContext,
    };
    use xdp_common::{
        config_flags, Config, Counter, UdpPorts, V4Slots, V6Slots, V4_MAP_ENTRIES, V6_MAP_ENTRIES,
        XSKS_PLACEHOLDER_ENTRIES,
    };
    use xdp_ebpf::classify::{classify, Frame, Tables, Verdict};

    /// RX queue index -> AF_XDP socket; sized to the interface's RX queues at load time.
    #[map]
    static XSKS: XskMap = XskMap::with_max_entries(XSKS_PLACEHOLDER_ENTRIES, 0);
    /// The single [`Config`], at index 0.
    #[map]
    static CONFIG: Array<Config> = Array::with_max_entries(1, 0);
    /// Our first IPv4 addresses, as one [`V4Slots`] at index 0; mappable, so that user space
    /// can write each slot with one atomic store.
    #[map]
    static V4_SLOTS: Array<V4Slots> = Array::with_max_entries(1, BPF_F_MMAPABLE);
    /// Our IPv4 addresses (network order) beyond the slots; the value is unused.
    #[map]
    static V4_ADDRS: HashMap<[u8; 4], u8> = HashMap::with_max_entries(V4_MAP_ENTRIES, 0);
    /// Our first IPv6 addresses, as one [`V6Slots`] at index 0; mappable, as `V4_SLOTS`.
    #[map]
    static V6_SLOTS: Array<V6Slots> = Array::with_max_entries(1, BPF_F_MMAPABLE);
    /// Our IPv6 addresses beyond the slots; the value is unused.
    #[map]
    static V6_ADDRS: HashMap<[u8; 16], u8> = HashMap::with_max_entries(V6_MAP_ENTRIES, 0);
    /// The UDP destination ports we echo on, as one [`UdpPorts`] bitmap at index 0.
    #[map]
    static UDP_PORTS: Array<UdpPorts> = Array::with_max_entries(1, 0);
    /// Per-CPU outcome counters, one slot per [`Counter`].
    #[map]
    static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT as u32, 0);

    /// The received frame, `data..data_end`.
    struct Packet<'a>(&'a XdpContext);

    impl Frame for Packet<'_> {
        #[inline(always)]
        fn read<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
            let start = self.0.data() + offset;
            if start + N > self.0.data_end() {
                return None;
            }
            // SAFETY: `start..start + N` lies within `data..data_end`, checked just above, and
            // `read_unaligned` has no alignment requirement.
            Some(unsafe { (start as *const [u8; N]).read_unaligned() })
        }
    }

    /// The address sets (the slots, then BPF hash maps where only membership matters)
    /// and the port bitmap.
    struct Maps;

    impl Tables for Maps {
        #[inline(always)]
        fn has_v4(&self, addr: &[u8; 4]) -> bool {
            V4_SLOTS.get(0).is_some_and(|slots| {
                slots
                    .find(addr)
                    .ours_or_in(|| V4_ADDRS.get_ptr(addr).is_some())
            })
        }
        #[inline(always)]
        fn has_v6(&self, addr: &[u8; 16]) -> bool {
            V6_SLOTS.get(0).is_some_and(|slots| {
                slots
                    .find(addr)
                    .ours_or_in(|| V6_ADDRS.get_ptr(addr).is_some())
            })
        }
        #[inline(always)]
        fn has_udp_port(&self, port: u16) -> bool {
            UDP_PORTS.get(0).is_some_and(|ports| ports.contains(port))
        }
    }

    /// Adds one to this CPU's copy of `counter`. With `plain` (user space sets
    /// [`config_flags::PLAIN_COUNTS`] in native mode on a kernel without PREEMPT_RT, where no
    /// two runs of the program interleave on one CPU) a plain read-modify-write; otherwise a
    /// BPF atomic add, which cannot lose an update to a run that interleaves on this CPU.
    #[inline(always)]
    fn count(counter: Counter, plain: bool) {
        // A successful lookup's pointer: this CPU's u64 of the slot, valid while the program
        // runs (map values are never freed under a running program) and 8-byte aligned
        // (per-CPU values are rounded up to 8 bytes).
        if let Some(slot) = COUNTERS.get_ptr_mut(counter as u32) {
            if plain {
                // SAFETY: `slot` is valid and aligned (above), and with PLAIN_COUNTS no other
                // run of the program touches this CPU's copy until this one returns.
                unsafe { *slot += 1 };
            } else {
                // SAFETY: `slot` is valid and aligned (above); `lock ... +=` is the BPF
                // atomic add (BPF_ATOMIC | BPF_ADD, no fetch), which writes only those 8
                // bytes and clobbers no register.
                unsafe {
                    core::arch::asm!(
                        "lock *(u64 *)({slot} + 0) += {one}",
                        slot = in(reg) slot,
                        one = in(reg) 1u64,
                        options(nostack, preserves_flags),
                    )
                };
            }
        }
    }

    // `frags` (section `xdp.frags`, loaded with BPF_F_XDP_HAS_FRAGS): the program declares
    // that it handles multi-buffer frames, which drivers require before they attach XDP on
    // an MTU larger than a page (veth refuses a program without it above about 3500 bytes).
    // It changes nothing else: the classifier reads only the first buffer (`data` to
    // `data_end`), where every header we look at is, and the XSKMAP redirect hands the whole
    // frame, all its buffers, to a socket bound with XDP_USE_SG.
    #[xdp(frags)]
    pub fn xdp_responder(ctx: XdpContext) -> u32 {
        let Some(config) = CONFIG.get(0) else {
            count(Counter::Aborted, false);
            return XDP_ABORTED;
        };
        let plain = config.flags & config_flags::PLAIN_COUNTS != 0;
        match classify(&Packet(&ctx), config.protocols, &Maps) {
            Verdict::Pass => {
                count(Counter::Passed, plain);
                XDP_PASS
            }
            Verdict::Malformed => {
                count(Counter::Malformed, plain);
                XDP_DROP
            }
            Verdict::Ours(kind) => {
                // No socket in the queue's slot: the fallback action, XDP_PASS.
                match XSKS.redirect(ctx.rx_queue_index(), XDP_PASS.into()) {
                    Ok(action) => {
                        count(kind.counter(), plain);
                        action
                    }
                    Err(action) => {
                        count(Counter::NoSocket, plain);
                        action
                    }
                }
            }
        }
    }

    #[cfg(not(test))]
    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo) -> ! {
        loop {}
    }

    /// The kernel only lets GPL-compatible programs use some helpers.
    #[unsafe(link_section = "license")]
    #[unsafe(no_mangle)]
    static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
}

#[cfg(not(target_arch = "bpf"))]
fn main() {}
