//! The packet generator's XDP programs (`xdp-gen` loads them):
//!
//! * `xdp_gen_tx`: `xdp-gen gen` runs it with `BPF_PROG_RUN` in live-frames mode on the
//!   generator's veth. It writes the template's headers into the frame, stamps a sequence
//!   number, a phase and (for sampled frames) `bpf_ktime_get_ns()` into the payload, varies the
//!   UDP source port (or the ICMP sequence number), sets the checksum and returns `XDP_TX`,
//!   which the kernel turns into a transmission on that veth.
//! * `xdp_gen_sink`, attached to the generator's veth: it checks that each reply from the
//!   target really answers one of our requests (addresses and ports swapped, lengths, ICMP
//!   fields, our stamp; for sampled frames also the IPv4 and UDP/ICMP checksums), counts it per
//!   phase, records the RTT of sampled ones in a histogram and drops it, so the generator's
//!   kernel never spends time on replies. Everything else (ARP, NDP, other traffic) is passed.
//! * `xdp_bounce` is the in-kernel bound: on the responder's side it turns UDP datagrams to one
//!   port (and ICMP echo requests) around with `XDP_TX`, no user space involved.
//!
//! Names, offsets and slots are `xdp_common::generator`, shared with `xdp-gen` (its frame
//! offsets are `xdp_wire`'s field ranges); protocol constants and the checksum arithmetic (sums,
//! pseudo-header, RFC 1624 updates) are `xdp_wire`'s. Frame bytes are read through the bounds-
//! checked `Pkt` accessors and a stack copy of the headers rather than `xdp_wire`'s views: the
//! verifier needs each packet access checked against `data_end` right before it, which a view
//! over a slice of packet memory does not do.
//!
//! On the host this file builds to an empty binary, so that the workspace builds with stable.
#![cfg_attr(target_arch = "bpf", no_std, no_main)]

#[cfg(target_arch = "bpf")]
mod program {
    use core::mem::size_of;

    use aya_ebpf::{
        bindings::xdp_action::{XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX},
        helpers::generated::{bpf_csum_diff, bpf_ktime_get_ns, bpf_xdp_load_bytes},
        macros::{map, xdp},
        maps::PerCpuArray,
        programs::XdpContext,
        EbpfContext,
    };

    use xdp_common::generator::{
        self as abi, frame, gen, phase, sink, stamp, EXPECT_ECHO, KIND_ICMP, KIND_UDP,
    };
    use xdp_wire::checksum::{self, finish_update, update_word};
    use xdp_wire::{ethernet, icmp, ipv4};

    /// The transmitter's per-CPU state: sequence number and phase.
    #[map]
    static GEN_STATE: PerCpuArray<[u64; gen::WORDS]> = PerCpuArray::with_max_entries(1, 0);
    /// The sink's per-CPU counters and RTT histogram.
    #[map]
    static SINK_STATS: PerCpuArray<[u64; sink::WORDS]> = PerCpuArray::with_max_entries(1, 0);
    /// Frames the bounce program turned around, per CPU.
    #[map]
    static BOUNCE_STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

    // Read-only globals, set by the loader (see `abi::globals`).
    #[unsafe(no_mangle)]
    static GEN_KIND: u32 = KIND_UDP;
    #[unsafe(no_mangle)]
    static GEN_PORT_BASE: u16 = 10_000;
    #[unsafe(no_mangle)]
    static GEN_PORT_MASK: u16 = 0;
    #[unsafe(no_mangle)]
    static GEN_ICMP_ID: u16 = 0;
    #[unsafe(no_mangle)]
    static GEN_L4_LEN: u32 = 0;
    #[unsafe(no_mangle)]
    static GEN_L4_CSUM: [u8; 2] = [0; 2];
    #[unsafe(no_mangle)]
    static GEN_IFINDEX: u32 = 0;
    #[unsafe(no_mangle)]
    static GEN_SAMPLE_MASK: u64 = 0;
    #[unsafe(no_mangle)]
    static GEN_HEADER: [u64; 5] = [0; 5];
    #[unsafe(no_mangle)]
    static SINK_OUR_MAC: [u8; 6] = [0; 6];
    #[unsafe(no_mangle)]
    static SINK_PEER_MAC: [u8; 6] = [0; 6];
    #[unsafe(no_mangle)]
    static SINK_OUR_IP: [u8; 4] = [0; 4];
    #[unsafe(no_mangle)]
    static SINK_PEER_IP: [u8; 4] = [0; 4];
    #[unsafe(no_mangle)]
    static SINK_PEER_PORT: u16 = 0;
    #[unsafe(no_mangle)]
    static SINK_EXPECT: u32 = EXPECT_ECHO;
    #[unsafe(no_mangle)]
    static BOUNCE_PORT: u16 = 7;

    /// Reads a global through a volatile load, so the compiler keeps the load and the
    /// loader's value (not the compile-time default) is what the program sees.
    macro_rules! global {
        ($g:ident) => {
            // SAFETY: a plain read of an initialized static; nothing writes it at run time.
            unsafe { core::ptr::read_volatile(&$g) }
        };
    }

    /// The frame `data..data_end` with bounds-checked access. Every access checks
    /// `start + N <= data_end` right before it, the form the verifier accepts.
    struct Pkt {
        data: usize,
        end: usize,
    }

    impl Pkt {
        #[inline(always)]
        fn new(ctx: &XdpContext) -> Pkt {
            Pkt {
                data: ctx.data(),
                end: ctx.data_end(),
            }
        }

        #[inline(always)]
        fn len(&self) -> usize {
            self.end - self.data
        }

        #[inline(always)]
        fn has(&self, len: usize) -> bool {
            self.data + len <= self.end
        }

        /// `N` bytes at `off`, any alignment.
        #[inline(always)]
        fn get<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
            let start = self.data + off;
            if start + N > self.end {
                return None;
            }
            // SAFETY: `start..start + N` lies inside the frame (checked above);
            // `read_unaligned` has no alignment requirement.
            Some(unsafe { (start as *const [u8; N]).read_unaligned() })
        }

        /// Writes `N` bytes at `off`, any alignment.
        #[inline(always)]
        fn set<const N: usize>(&self, off: usize, v: [u8; N]) -> Option<()> {
            let start = self.data + off;
            if start + N > self.end {
                return None;
            }
            // SAFETY: as in `get`; the frame is writable in XDP and ours for this run.
            unsafe { (start as *mut [u8; N]).write_unaligned(v) };
            Some(())
        }

        /// Writes `v` at `off` with one aligned store. Only for live frames, which start
        /// 8-byte aligned (page + two `xdp_buff` + 256 bytes of headroom), at offsets that
        /// are multiples of `size_of::<T>()`.
        #[inline(always)]
        fn put<T: Copy>(&self, off: usize, v: T) -> Option<()> {
            let start = self.data + off;
            if start + size_of::<T>() > self.end {
                return None;
            }
            // SAFETY: in range (checked above) and writable; aligned because the frame start
            // is 8-byte aligned and `off` is a multiple of `size_of::<T>()` (callers use the
            // `abi` offsets, which are laid out for that).
            unsafe { (start as *mut T).write(v) };
            Some(())
        }

        /// The one's complement sum (not folded) of `len` bytes at `off`: `len` a multiple of
        /// four, at most 512 (`bpf_csum_diff`'s limits) and a constant the verifier knows.
        #[inline(always)]
        fn csum(&self, off: usize, len: usize) -> Option<u64> {
            if len == 0 {
                return Some(0);
            }
            if len > 512 || len & 3 != 0 {
                return None;
            }
            let start = self.data + off;
            if start + len > self.end {
                return None;
            }
            // SAFETY: `start..start + len` lies inside the frame (checked above); the helper
            // only reads `to` and takes no `from` buffer.
            let s = unsafe {
                bpf_csum_diff(core::ptr::null_mut(), 0, start as *mut u32, len as u32, 0)
            };
            (s >= 0).then_some(s as u64)
        }
    }

    // ------------------------------------------------------------------ transmitter

    #[xdp]
    pub fn xdp_gen_tx(ctx: XdpContext) -> u32 {
        // Attached to the loopback only to stay in the dispatcher (`abi::globals::IFINDEX`).
        if ctx.ingress_ifindex() as u32 != global!(GEN_IFINDEX) {
            return XDP_PASS;
        }
        match stamp_frame(&Pkt::new(&ctx)) {
            Some(true) => XDP_TX,
            // Not due yet (pacing): never leaves.
            Some(false) => XDP_DROP,
            None => XDP_ABORTED,
        }
    }

    /// Writes the template's headers into the frame (a recycled page may hold anything: a
    /// bounce swaps addresses in place), stamps it and sets its checksum: the template's,
    /// updated (RFC 1624) for the words that differ from the template, i.e. the varied header
    /// word and the stamp (zero in the template but for the magic). `Some(false)`: the frame
    /// is not due yet (pacing, see `abi::gen::INTERVAL_NS`).
    #[inline(always)]
    fn stamp_frame(p: &Pkt) -> Option<bool> {
        if !p.has(frame::PAYLOAD + stamp::LEN) {
            return None;
        }
        let state = GEN_STATE.get_ptr_mut(0)?;
        // SAFETY: this CPU's slot of a per-CPU map; an XDP program is not preempted on its
        // CPU, and user space writes the slot only between runs.
        let s = unsafe { &mut *state };
        let interval = s[gen::INTERVAL_NS];
        let mut now = 0;
        if interval != 0 {
            // SAFETY: a helper without arguments.
            now = unsafe { bpf_ktime_get_ns() };
            let next = s[gen::NEXT_NS];
            if now < next {
                return Some(false);
            }
            // After a stall, catch up with at most CATCH_UP frames back to back.
            let floor = now.saturating_sub(interval.saturating_mul(gen::CATCH_UP));
            s[gen::NEXT_NS] = next.max(floor).saturating_add(interval);
        }
        let seq = s[gen::SEQ];
        s[gen::SEQ] = seq.wrapping_add(1);
        let ph = s[gen::PHASE];
        let ts = if seq & global!(GEN_SAMPLE_MASK) != 0 {
            0
        } else if now != 0 {
            now
        } else {
            // SAFETY: a helper without arguments.
            unsafe { bpf_ktime_get_ns() }
        };
        let udp = global!(GEN_KIND) != KIND_ICMP;
        let seq32 = seq as u32;
        let phase16 = ph as u16;
        // The varied header word: the UDP source port or the ICMP sequence number.
        let (old, new) = if udp {
            let base = global!(GEN_PORT_BASE);
            (base, base.wrapping_add(seq as u16 & global!(GEN_PORT_MASK)))
        } else {
            (0, seq as u16)
        };
        let (old, new) = (old.to_be_bytes(), new.to_be_bytes());
        let s = seq32.to_ne_bytes();
        let t = ts.to_ne_bytes();
        // Words in memory order: the incremental update is byte-order independent.
        let mut acc = u64::from(!u16::from_ne_bytes(global!(GEN_L4_CSUM)));
        acc = update_word(acc, u16::from_ne_bytes(old), u16::from_ne_bytes(new));
        // The stamp words replace the template's zeros.
        for word in [
            [s[0], s[1]],
            [s[2], s[3]],
            [t[0], t[1]],
            [t[2], t[3]],
            [t[4], t[5]],
            [t[6], t[7]],
            phase16.to_ne_bytes(),
        ] {
            acc = update_word(acc, 0, u16::from_ne_bytes(word));
        }
        let csum = finish_update(acc, udp).to_ne_bytes();

        let header = global!(GEN_HEADER);
        p.put(0, header[0])?;
        p.put(8, header[1])?;
        p.put(16, header[2])?;
        p.put(24, header[3])?;
        p.put(32, header[4])?;
        if udp {
            p.put(frame::UDP_SPORT, new)?;
            p.put(frame::UDP_CSUM, csum)?;
        } else {
            p.put(frame::ICMP_CSUM, csum)?;
            p.put(frame::ICMP_SEQ, new)?;
        }
        let base = frame::PAYLOAD;
        p.put(base + stamp::MAGIC, stamp::MAGIC_VALUE)?;
        p.put(base + stamp::SEQ, seq32)?;
        p.put(base + stamp::TS, ts)?;
        p.put(base + stamp::PHASE, phase16)?;
        Some(true)
    }

    // ------------------------------------------------------------------ sink

    /// The first [`HEAD_LEN`] bytes of a frame (headers and stamp), copied with one
    /// `bpf_xdp_load_bytes` call into an aligned stack buffer, so that every field below is
    /// read with one aligned load whatever the frame's own alignment (the replies reach the
    /// sink through several kernel paths).
    #[repr(C, align(8))]
    struct Head([u8; 64]);

    /// Bytes of [`Head`] filled: headers and the stamp.
    const HEAD_LEN: usize = frame::PAYLOAD + stamp::LEN;

    impl Head {
        /// Fills the first [`HEAD_LEN`] bytes of `h` from the frame; false if the frame is
        /// shorter (then `h` stays uninitialized).
        #[inline(always)]
        fn load(h: &mut core::mem::MaybeUninit<Head>, ctx: &XdpContext) -> bool {
            // SAFETY: the helper writes at most HEAD_LEN (< 64) bytes into our buffer (it takes
            // uninitialized memory) and fails (non-zero) if the frame is shorter.
            let rc = unsafe {
                bpf_xdp_load_bytes(
                    ctx.as_ptr().cast(),
                    0,
                    h.as_mut_ptr().cast(),
                    HEAD_LEN as u32,
                )
            };
            rc == 0
        }

        /// The 16-bit word at even offset `off`, in memory order.
        #[inline(always)]
        fn w16(&self, off: usize) -> u16 {
            u16::from_ne_bytes([self.0[off], self.0[off + 1]])
        }

        #[inline(always)]
        fn w32(&self, off: usize) -> u32 {
            u32::from_ne_bytes([
                self.0[off],
                self.0[off + 1],
                self.0[off + 2],
                self.0[off + 3],
            ])
        }

        #[inline(always)]
        fn w64(&self, off: usize) -> u64 {
            let b = &self.0;
            u64::from_ne_bytes([
                b[off],
                b[off + 1],
                b[off + 2],
                b[off + 3],
                b[off + 4],
                b[off + 5],
                b[off + 6],
                b[off + 7],
            ])
        }

        /// The bytes `from..to` (constants within [`HEAD_LEN`]; empty otherwise).
        #[inline(always)]
        fn bytes(&self, from: usize, to: usize) -> &[u8] {
            self.0.get(from..to).unwrap_or(&[])
        }

        /// Whether the 4 bytes at even `off` are `a` (two aligned 16-bit loads).
        #[inline(always)]
        fn holds(&self, off: usize, a: [u8; 4]) -> bool {
            self.w16(off) == u16::from_ne_bytes([a[0], a[1]])
                && self.w16(off + 2) == u16::from_ne_bytes([a[2], a[3]])
        }

        /// The 4 bytes at `off` (an IPv4 address).
        #[inline(always)]
        fn addr(&self, off: usize) -> [u8; 4] {
            [
                self.0[off],
                self.0[off + 1],
                self.0[off + 2],
                self.0[off + 3],
            ]
        }
    }

    /// What the sink decided about a frame.
    enum Seen {
        /// Not a reply to us: the kernel's.
        Other,
        /// A reply that passed every check, sent in `phase`, with the stamp's timestamp
        /// (0 for frames that were not sampled).
        Valid { phase: usize, sent_ns: u64 },
        /// A reply from the target that failed check `reason` (a `sink::BAD_*`).
        Invalid { phase: usize, reason: usize },
    }

    #[xdp]
    pub fn xdp_gen_sink(ctx: XdpContext) -> u32 {
        let p = Pkt::new(&ctx);
        // Not zeroed: the helper fills it (zeroing costs a memset call per frame).
        let mut h = core::mem::MaybeUninit::<Head>::uninit();
        let seen = if Head::load(&mut h, &ctx) {
            // SAFETY: `load` returned true: the helper wrote the first HEAD_LEN bytes, and
            // only those are read (the type is plain bytes, any value is valid).
            inspect(&p, unsafe { h.assume_init_ref() })
        } else {
            Seen::Other
        };
        if let Seen::Other = seen {
            return XDP_PASS;
        }
        let Some(stats) = SINK_STATS.get_ptr_mut(0) else {
            return XDP_DROP;
        };
        // SAFETY: this CPU's slot of a per-CPU map; XDP programs are not preempted on their
        // CPU and user space only reads it.
        let s = unsafe { &mut *stats };
        match seen {
            Seen::Other => XDP_PASS,
            Seen::Valid { phase, sent_ns } => {
                let base = (phase & (phase::COUNT - 1)) * sink::PHASE_STRIDE;
                s[base + sink::REPLIES] += 1;
                s[base + sink::BYTES] += p.len() as u64;
                if sent_ns != 0 {
                    s[base + sink::SAMPLED] += 1;
                    if phase as u64 == phase::WINDOW {
                        record_rtt(s, sent_ns);
                    }
                }
                XDP_DROP
            }
            Seen::Invalid { phase, reason } => {
                let base = (phase & (phase::COUNT - 1)) * sink::PHASE_STRIDE;
                s[base + sink::INVALID] += 1;
                s[sink::REASONS + (reason & (sink::REASON_COUNT - 1))] += 1;
                XDP_DROP
            }
        }
    }

    #[inline(always)]
    fn record_rtt(s: &mut [u64; sink::WORDS], sent_ns: u64) {
        // SAFETY: a helper without arguments.
        let rtt = unsafe { bpf_ktime_get_ns() }.saturating_sub(sent_ns);
        s[sink::RTT_SUM] += rtt;
        if rtt > s[sink::RTT_MAX] {
            s[sink::RTT_MAX] = rtt;
        }
        // The verifier cannot bound the bucket arithmetic, and the compiler drops a check it
        // can prove redundant: a volatile reload hides the value from the compiler so that
        // the bounds check below stays for the verifier.
        let b = abi::hist::bucket(rtt);
        // SAFETY: a volatile read of a local that was just written.
        let b = unsafe { core::ptr::read_volatile(&b) };
        if b < abi::hist::BUCKETS {
            s[sink::HIST + b] += 1;
        }
    }

    const ETH_P_IPV4: [u8; 2] = ethernet::ethertype::IPV4.to_be_bytes();
    const IPPROTO_ICMP: u8 = ipv4::protocol::ICMP;
    const IPPROTO_UDP: u8 = ipv4::protocol::UDP;
    const ETHERTYPE: usize = ethernet::field::ETHERTYPE.start;

    /// Classifies a frame on the generator's side.
    #[inline(always)]
    fn inspect(p: &Pkt, h: &Head) -> Seen {
        let udp = global!(GEN_KIND) != KIND_ICMP;
        let wanted = if udp { IPPROTO_UDP } else { IPPROTO_ICMP };
        // An echo comes from the target to us; a MAC-swapped request still goes from us to it.
        let (src_ip, dst_ip) = if global!(SINK_EXPECT) == EXPECT_ECHO {
            (global!(SINK_PEER_IP), global!(SINK_OUR_IP))
        } else {
            (global!(SINK_OUR_IP), global!(SINK_PEER_IP))
        };
        if h.w16(ETHERTYPE) != u16::from_ne_bytes(ETH_P_IPV4)
            || h.0[frame::IP + ipv4::field::VER_IHL] != ipv4::VER_IHL_NO_OPTIONS
            || h.0[frame::IP_PROTOCOL] != wanted
            || !h.holds(frame::IP_SRC, src_ip)
            || !h.holds(frame::IP_DST, dst_ip)
            || h.w16(frame::PAYLOAD + stamp::MAGIC) != u16::from_ne_bytes(stamp::MAGIC_VALUE)
        {
            return Seen::Other;
        }
        // From the target, to us, over our protocol, with our stamp: a reply to check.
        let phase = usize::from(h.w16(frame::PAYLOAD + stamp::PHASE));
        if phase >= phase::COUNT {
            return Seen::Invalid {
                phase: phase::COOLDOWN as usize,
                reason: sink::BAD_PHASE,
            };
        }
        let sent_ns = h.w64(frame::PAYLOAD + stamp::TS);
        match check_reply(p, h, udp, sent_ns != 0) {
            Ok(()) => Seen::Valid { phase, sent_ns },
            Err(reason) => Seen::Invalid { phase, reason },
        }
    }

    /// The checks a reply must pass (checksums only when `sampled`); `Err` carries the
    /// `sink::BAD_*` reason.
    #[inline(always)]
    fn check_reply(p: &Pkt, h: &Head, udp: bool, sampled: bool) -> Result<(), usize> {
        let our = global!(SINK_OUR_MAC);
        let peer = global!(SINK_PEER_MAC);
        let (dst, src) = (ethernet::field::DST.start, ethernet::field::SRC.start);
        if h.w16(dst) != u16::from_ne_bytes([our[0], our[1]])
            || h.w32(dst + 2) != u32::from_ne_bytes([our[2], our[3], our[4], our[5]])
            || h.w16(src) != u16::from_ne_bytes([peer[0], peer[1]])
            || h.w32(src + 2) != u32::from_ne_bytes([peer[2], peer[3], peer[4], peer[5]])
        {
            return Err(sink::BAD_MAC);
        }
        let l4_len = global!(GEN_L4_LEN) as usize;
        let total = usize::from(u16::from_be(h.w16(frame::IP_TOTAL_LEN)));
        if total != frame::IPV4_LEN + l4_len || !p.has(frame::L4 + l4_len) {
            return Err(sink::BAD_LEN);
        }
        let echo = global!(SINK_EXPECT) == EXPECT_ECHO;
        if udp {
            let sport = u16::from_be(h.w16(frame::UDP_SPORT));
            let dport = u16::from_be(h.w16(frame::UDP_DPORT));
            // An echo swaps the ports; a MAC-swapped request keeps them.
            let (peer_port, our_port) = if echo { (sport, dport) } else { (dport, sport) };
            let base = global!(GEN_PORT_BASE);
            if peer_port != global!(SINK_PEER_PORT)
                || our_port.wrapping_sub(base) > global!(GEN_PORT_MASK)
            {
                return Err(sink::BAD_L4);
            }
            if usize::from(u16::from_be(h.w16(frame::UDP_LEN))) != l4_len {
                return Err(sink::BAD_LEN);
            }
        } else if h.w16(frame::ICMP_TYPE)
            != if echo {
                u16::from_ne_bytes([icmp::v4::ECHO_REPLY, 0])
            } else {
                u16::from_ne_bytes([icmp::v4::ECHO_REQUEST, 0])
            }
            || u16::from_be(h.w16(frame::ICMP_ID)) != global!(GEN_ICMP_ID)
        {
            return Err(sink::BAD_L4);
        }
        if !sampled {
            return Ok(());
        }
        if !checksum::verifies(checksum::sum(h.bytes(frame::IP, frame::L4))) {
            return Err(sink::BAD_IP_CSUM);
        }
        // UDP's checksum covers a pseudo-header (addresses, protocol, length); ICMP's does not.
        let mut sum = checksum::sum(h.bytes(frame::L4, HEAD_LEN));
        if udp {
            let (src, dst) = (h.addr(frame::IP_SRC), h.addr(frame::IP_DST));
            let pseudo = checksum::pseudo_v4(src, dst, IPPROTO_UDP, l4_len as u16);
            sum = checksum::add(sum, pseudo);
        }
        let rest = rest_sum(p, l4_len + frame::L4 - HEAD_LEN).ok_or(sink::BAD_LEN)?;
        if checksum::verifies(checksum::add(sum, rest)) {
            Ok(())
        } else {
            Err(sink::BAD_L4_CSUM)
        }
    }

    /// The folded sum ([`checksum::sum`]'s form) of the `len` payload bytes after the stamp
    /// (at most 1456): at most three helper calls of up to 512 bytes, then the 0..3 tail bytes.
    /// The bulk is `bpf_csum_diff`'s, not `checksum::sum`'s: the payload is packet memory of a
    /// length the verifier does not know, which a loop over it could not be proven to stay in.
    #[inline(always)]
    fn rest_sum(p: &Pkt, len: usize) -> Option<u16> {
        let whole = len & !3;
        let a = whole.min(512);
        let b = (whole - a).min(512);
        let c = whole - a - b;
        let mut off = HEAD_LEN;
        let mut sum = p.csum(off, a)?;
        off += a;
        sum += p.csum(off, b)?;
        off += b;
        sum += p.csum(off, c)?;
        off += c;
        let mut sum = checksum::from_native(sum);
        let tail = len & 3;
        if tail >= 2 {
            sum = checksum::add(sum, checksum::sum(&p.get::<2>(off)?));
            off += 2;
        }
        if tail & 1 == 1 {
            sum = checksum::add(sum, checksum::sum(&p.get::<1>(off)?));
        }
        Some(sum)
    }

    // ------------------------------------------------------------------ bounce

    #[xdp]
    pub fn xdp_bounce(ctx: XdpContext) -> u32 {
        let p = Pkt::new(&ctx);
        match bounce(&p) {
            Some(true) => {
                if let Some(n) = BOUNCE_STATS.get_ptr_mut(0) {
                    // SAFETY: this CPU's slot; XDP programs are not preempted on their CPU.
                    unsafe { *n += 1 };
                }
                XDP_TX
            }
            _ => XDP_PASS,
        }
    }

    /// Turns a UDP datagram to `BOUNCE_PORT` or an ICMP echo request around in place.
    /// `Some(true)`: send it back; otherwise leave it to the kernel.
    #[inline(always)]
    fn bounce(p: &Pkt) -> Option<bool> {
        let (eth_dst, eth_src) = (ethernet::field::DST.start, ethernet::field::SRC.start);
        if p.get::<2>(ETHERTYPE)? != ETH_P_IPV4
            || p.get::<1>(frame::IP + ipv4::field::VER_IHL)?[0] != ipv4::VER_IHL_NO_OPTIONS
        {
            return Some(false);
        }
        match p.get::<1>(frame::IP_PROTOCOL)?[0] {
            IPPROTO_UDP => {
                let (sport, dport) = (p.get::<2>(frame::UDP_SPORT)?, p.get::<2>(frame::UDP_DPORT)?);
                if u16::from_be_bytes(dport) != global!(BOUNCE_PORT) {
                    return Some(false);
                }
                p.set(frame::UDP_SPORT, dport)?;
                p.set(frame::UDP_DPORT, sport)?;
            }
            IPPROTO_ICMP => {
                let request = [icmp::v4::ECHO_REQUEST, 0];
                if p.get::<2>(frame::ICMP_TYPE)? != request {
                    return Some(false);
                }
                // Request -> reply: only the type/code word of the checksum changes.
                let reply = [icmp::v4::ECHO_REPLY, 0];
                let acc = update_word(
                    u64::from(!u16::from_ne_bytes(p.get::<2>(frame::ICMP_CSUM)?)),
                    u16::from_ne_bytes(request),
                    u16::from_ne_bytes(reply),
                );
                p.set(frame::ICMP_TYPE, reply)?;
                p.set(frame::ICMP_CSUM, finish_update(acc, false).to_ne_bytes())?;
            }
            _ => return Some(false),
        }
        let (mac_dst, mac_src) = (p.get::<6>(eth_dst)?, p.get::<6>(eth_src)?);
        p.set(eth_dst, mac_src)?;
        p.set(eth_src, mac_dst)?;
        let (ip_src, ip_dst) = (p.get::<4>(frame::IP_SRC)?, p.get::<4>(frame::IP_DST)?);
        p.set(frame::IP_SRC, ip_dst)?;
        p.set(frame::IP_DST, ip_src)?;
        Some(true)
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
