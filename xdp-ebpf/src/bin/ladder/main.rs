//! The copy ladder's counters (`xdp-ladder count` loads them): fentry programs on the kernel
//! functions that copy payload, and BTF tracepoints on system-call entry and context switches.
//! Each adds to per-CPU counters of the *role* (server or load, see `abi::role`) of the
//! process it runs in, if that process is watched (`LADDER_WATCH`); everything else on the
//! machine is ignored. The byte count is the length argument of the copy function, i.e. what
//! the caller asked to copy.
//!
//! `skb_copy_bits` called inside `skb_pp_cow_data` (an skb copied into a fresh page so that an
//! XDP program can run on it) is counted in its own slot: on veth that is the conversion of
//! every reply the generator's sink receives, and of frames received by generic XDP.
//!
//! Slots, names and the probed functions are `xdp_common::ladder`, shared with `xdp-ladder`.
//!
//! On the host this file builds to an empty binary, so that the workspace builds with stable.
#![cfg_attr(target_arch = "bpf", no_std, no_main)]

#[cfg(target_arch = "bpf")]
mod program {
    use aya_ebpf::{
        helpers::bpf_get_current_pid_tgid,
        macros::{btf_tracepoint, fentry, fexit, map},
        maps::{HashMap, PerCpuArray},
        programs::{BtfTracePointContext, FEntryContext, FExitContext},
    };

    use xdp_common::ladder::{nr, role, slot, task, MAP_TYPE_XSKMAP, MSG_ZEROCOPY, WORDS};

    #[map]
    static LADDER_WATCH: HashMap<u32, u32> = HashMap::with_max_entries(64, 0);
    #[map]
    static LADDER_COUNTS: PerCpuArray<[u64; WORDS]> = PerCpuArray::with_max_entries(role::COUNT, 0);
    #[map]
    static LADDER_TASK: HashMap<u32, [u64; task::WORDS]> = HashMap::with_max_entries(4096, 0);
    #[map]
    static LADDER_IN_COW: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

    /// The role of the current process, if it is watched.
    #[inline(always)]
    fn current_role() -> Option<u32> {
        let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        // SAFETY: the value is a plain u32 that the verifier bounds-checks; we copy it out.
        let role = unsafe { LADDER_WATCH.get(&tgid) }.copied()?;
        (role < role::COUNT).then_some(role)
    }

    /// Adds `bytes` and one call to `slot` of the current process's role.
    #[inline(always)]
    fn add(slot: usize, bytes: u64) {
        let Some(role) = current_role() else { return };
        let Some(words) = LADDER_COUNTS.get_ptr_mut(role) else {
            return;
        };
        if slot >= slot::ALL {
            return;
        }
        // SAFETY: `words` points at this CPU's `[u64; WORDS]` entry, valid for the program's
        // run; `2 * slot + 1 < WORDS`. Plain adds (the bpf target has no atomic
        // read-modify-write in `core`): the entry is this CPU's, so only a softirq that
        // interrupts this program and counts the same slot can make one update get lost.
        unsafe {
            (*words)[2 * slot] += bytes;
            (*words)[2 * slot + 1] += 1;
        }
    }

    /// Depth of `skb_pp_cow_data` calls on this CPU.
    #[inline(always)]
    fn cow_depth() -> Option<*mut u64> {
        LADDER_IN_COW.get_ptr_mut(0)
    }

    /// Argument `n` of the traced function, as an unsigned length (the low `bits` bits).
    #[inline(always)]
    fn len_arg(ctx: &FEntryContext, n: usize, bits: u32) -> u64 {
        let raw: u64 = ctx.arg(n);
        if bits >= 64 {
            raw
        } else {
            raw & ((1u64 << bits) - 1)
        }
    }

    /// One fentry program per copy function: `slot`, length argument `n` of `bits` bits.
    macro_rules! copy_probe {
        ($name:ident, $func:literal, $slot:expr, $n:expr, $bits:expr) => {
            #[fentry(function = $func)]
            pub fn $name(ctx: FEntryContext) -> u32 {
                add($slot, len_arg(&ctx, $n, $bits));
                0
            }
        };
    }

    // size_t _copy_to_iter(const void *addr, size_t bytes, struct iov_iter *i)
    copy_probe!(
        ladder_copy_to_iter,
        "_copy_to_iter",
        slot::COPY_TO_ITER,
        1,
        64
    );
    // size_t _copy_from_iter(void *addr, size_t bytes, struct iov_iter *i)
    copy_probe!(
        ladder_copy_from_iter,
        "_copy_from_iter",
        slot::COPY_FROM_ITER,
        1,
        64
    );
    // size_t _copy_from_iter_nocache(void *addr, size_t bytes, struct iov_iter *i)
    copy_probe!(
        ladder_copy_from_iter_nocache,
        "_copy_from_iter_nocache",
        slot::COPY_FROM_ITER_NOCACHE,
        1,
        64
    );
    // size_t csum_and_copy_to_iter(const void *addr, size_t bytes, void *csstate, struct iov_iter *i)
    copy_probe!(
        ladder_csum_and_copy_to_iter,
        "csum_and_copy_to_iter",
        slot::CSUM_COPY_TO_ITER,
        1,
        64
    );
    // bool csum_and_copy_from_iter_full(void *addr, size_t bytes, __wsum *csum, struct iov_iter *i)
    copy_probe!(
        ladder_csum_and_copy_from_iter_full,
        "csum_and_copy_from_iter_full",
        slot::CSUM_COPY_FROM_ITER,
        1,
        64
    );
    // size_t copy_folio_from_iter_atomic(struct folio *folio, size_t offset, size_t bytes, struct iov_iter *i)
    copy_probe!(
        ladder_copy_folio_from_iter_atomic,
        "copy_folio_from_iter_atomic",
        slot::FOLIO_FROM_ITER,
        2,
        64
    );
    // int skb_store_bits(struct sk_buff *skb, int offset, const void *from, int len)
    copy_probe!(
        ladder_skb_store_bits,
        "skb_store_bits",
        slot::SKB_STORE_BITS,
        3,
        31
    );
    // static int __xsk_rcv(struct xdp_sock *xs, struct xdp_buff *xdp, u32 len)
    copy_probe!(ladder_xsk_rcv, "__xsk_rcv", slot::XSK_RCV, 2, 32);
    // int skb_copy_ubufs(struct sk_buff *skb, gfp_t gfp_mask): the length is not an argument.
    copy_probe!(
        ladder_skb_copy_ubufs,
        "skb_copy_ubufs",
        slot::SKB_COPY_UBUFS,
        0,
        0
    );

    // int skb_copy_bits(const struct sk_buff *skb, int offset, void *to, int len)
    #[fentry(function = "skb_copy_bits")]
    pub fn ladder_skb_copy_bits(ctx: FEntryContext) -> u32 {
        // SAFETY: `d` is this CPU's u64 entry, valid while the program runs.
        let in_cow = cow_depth().is_some_and(|d| unsafe { *d } > 0);
        let slot = if in_cow {
            slot::SKB_TO_XDP
        } else {
            slot::SKB_COPY_BITS
        };
        add(slot, len_arg(&ctx, 3, 31));
        0
    }

    #[fentry(function = "skb_pp_cow_data")]
    pub fn ladder_cow_enter(_ctx: FEntryContext) -> u32 {
        if let Some(d) = cow_depth() {
            // SAFETY: this CPU's u64 entry, valid while the program runs.
            unsafe { *d += 1 };
        }
        0
    }

    #[fexit(function = "skb_pp_cow_data")]
    pub fn ladder_cow_exit(_ctx: FExitContext) -> u32 {
        if let Some(d) = cow_depth() {
            // SAFETY: this CPU's u64 entry, valid while the program runs.
            unsafe { *d = (*d).saturating_sub(1) };
        }
        0
    }

    /// Word `i` of a `struct pt_regs` (x86_64: r10 is word 7, dx word 12).
    #[inline(always)]
    fn reg(regs: *const u64, i: usize) -> u64 {
        // SAFETY: `regs` is the tracepoint's BTF-typed `struct pt_regs *`; the load is
        // checked (and made fault-tolerant) by the verifier.
        unsafe { *regs.add(i) }
    }

    /// The current thread's id.
    #[inline(always)]
    fn tid() -> u32 {
        bpf_get_current_pid_tgid() as u32
    }

    // TP_PROTO(struct pt_regs *regs, long id)
    #[btf_tracepoint(function = "sys_enter")]
    pub fn ladder_sys_enter(ctx: BtfTracePointContext) -> i32 {
        if current_role().is_none() {
            return 0;
        }
        add(slot::SYSCALLS, 0);
        let id: u64 = ctx.arg(1);
        let regs: *const u64 = ctx.arg(0);
        let flags = match id {
            nr::SENDTO => reg(regs, 7),
            nr::SENDMSG => reg(regs, 12),
            _ => 0,
        };
        let zc = if flags & MSG_ZEROCOPY != 0 {
            task::ZEROCOPY
        } else {
            0
        };
        let _ = LADDER_TASK.insert(&tid(), &[id, zc], 0);
        0
    }

    // TP_PROTO(struct pt_regs *regs, long ret)
    #[btf_tracepoint(function = "sys_exit")]
    pub fn ladder_sys_exit(ctx: BtfTracePointContext) -> i32 {
        if current_role().is_none() {
            return 0;
        }
        let t = tid();
        // SAFETY: a plain copy out of the map value.
        let Some(state) = (unsafe { LADDER_TASK.get(&t) }).copied() else {
            return 0;
        };
        let _ = LADDER_TASK.remove(&t);
        let ret: i64 = ctx.arg(1);
        if ret <= 0 || state[1] & task::SOCKET != 0 {
            return 0;
        }
        match state[0] {
            nr::READ | nr::PREAD64 | nr::READV | nr::PREADV => add(slot::FILE_TO_USER, ret as u64),
            nr::WRITE | nr::PWRITE64 | nr::WRITEV | nr::PWRITEV => {
                add(slot::FILE_FROM_USER, ret as u64)
            }
            _ => {}
        }
        0
    }

    /// Socket bytes of one `sock_*_length` event, classified by the current system call.
    #[inline(always)]
    fn sock_bytes(ret: i32, send: bool) {
        if ret <= 0 || current_role().is_none() {
            return;
        }
        let t = tid();
        let Some(state) = LADDER_TASK.get_ptr_mut(&t) else {
            return;
        };
        // SAFETY: `state` points at this thread's live map value.
        let (id, flags) = unsafe {
            (*state)[1] |= task::SOCKET;
            ((*state)[0], (*state)[1])
        };
        let user_buffer = matches!(
            id,
            nr::READ
                | nr::WRITE
                | nr::READV
                | nr::WRITEV
                | nr::SENDTO
                | nr::RECVFROM
                | nr::SENDMSG
                | nr::RECVMSG
                | nr::RECVMMSG
                | nr::SENDMMSG
        );
        let slot = match (send, user_buffer && flags & task::ZEROCOPY == 0) {
            (false, true) => slot::SOCK_USER_RX,
            (true, true) => slot::SOCK_USER_TX,
            (true, false) => slot::SOCK_KERNEL_TX,
            (false, false) => return,
        };
        add(slot, ret as u64);
    }

    // TP_PROTO(struct sock *sk, int ret, int flags)
    #[btf_tracepoint(function = "sock_send_length")]
    pub fn ladder_sock_send_length(ctx: BtfTracePointContext) -> i32 {
        sock_bytes(ctx.arg(1), true);
        0
    }

    #[btf_tracepoint(function = "sock_recv_length")]
    pub fn ladder_sock_recv_length(ctx: BtfTracePointContext) -> i32 {
        let flags: i32 = ctx.arg(2);
        // MSG_PEEK copies without consuming; counted like the kernel's own tracepoint: not.
        if flags & 2 == 0 {
            sock_bytes(ctx.arg(1), false);
        }
        0
    }

    // TP_PROTO(const struct net_device *dev, const struct bpf_prog *xdp, const void *tgt,
    //          int err, enum bpf_map_type map_type, u32 map_id, u32 index)
    #[btf_tracepoint(function = "xdp_redirect")]
    pub fn ladder_xdp_redirect(ctx: BtfTracePointContext) -> i32 {
        let err: i32 = ctx.arg(3);
        let map_type: u64 = ctx.arg(4);
        if err == 0 && map_type & 0xffff_ffff == MAP_TYPE_XSKMAP {
            add(slot::XSK_REDIRECT, 0);
        }
        0
    }

    // Runs in the context of the task being switched out.
    #[btf_tracepoint(function = "sched_switch")]
    pub fn ladder_sched_switch(_ctx: BtfTracePointContext) -> i32 {
        add(slot::SWITCHES, 0);
        0
    }

    // TP_PROTO(const struct sk_buff *skb, int len)
    #[btf_tracepoint(function = "skb_copy_datagram_iovec")]
    pub fn ladder_skb_copy_datagram_iovec(ctx: BtfTracePointContext) -> i32 {
        let len: u64 = ctx.arg(1);
        add(slot::TP_DATAGRAM_IOVEC, len & 0x7fff_ffff);
        0
    }

    #[cfg(not(test))]
    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo) -> ! {
        loop {}
    }

    /// Tracing programs must be GPL-compatible.
    #[unsafe(link_section = "license")]
    #[unsafe(no_mangle)]
    static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
}

#[cfg(not(target_arch = "bpf"))]
fn main() {}
