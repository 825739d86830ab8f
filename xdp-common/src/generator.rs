//! The contract between the packet generator's XDP programs (the `gen` binary of `xdp-ebpf`)
//! and user space (`xdp-gen`): names, frame offsets, stamp layout, state and counter slots,
//! and the RTT histogram's bucket arithmetic. Both the bpf target and the host compile it.

/// Program names in the object.
pub mod progs {
    /// Run with `BPF_PROG_RUN` live frames: stamps each frame and returns `XDP_TX`.
    pub const TX: &str = "xdp_gen_tx";
    /// Attached to the generator's interface: counts and times replies, drops them.
    pub const SINK: &str = "xdp_gen_sink";
    /// Attached to the responder's interface: swaps addresses and ports, returns `XDP_TX`.
    pub const BOUNCE: &str = "xdp_bounce";
}

/// Map names in the object.
pub mod maps {
    /// `PerCpuArray<[u64; GEN_WORDS]>`, one entry: the transmitter's state (see [`super::gen`]).
    pub const GEN_STATE: &str = "GEN_STATE";
    /// `PerCpuArray<[u64; SINK_WORDS]>`, one entry: the sink's counters (see [`super::sink`]).
    pub const SINK_STATS: &str = "SINK_STATS";
    /// `PerCpuArray<u64>`: per-CPU count of frames the bounce program turned around.
    pub const BOUNCE_STATS: &str = "BOUNCE_STATS";
}

/// Read-only globals (`.rodata`), set by the loader before the programs are loaded. The
/// verifier sees them as constants, so branches on them cost nothing.
pub mod globals {
    /// `u32`: [`super::KIND_UDP`] or [`super::KIND_ICMP`].
    pub const KIND: &str = "GEN_KIND";
    /// `u16`: first UDP source port the transmitter uses (host order).
    pub const PORT_BASE: &str = "GEN_PORT_BASE";
    /// `u16`: source ports are `PORT_BASE + (seq & PORT_MASK)`; a power of two minus one.
    pub const PORT_MASK: &str = "GEN_PORT_MASK";
    /// `[u8; 6]`: the generator's MAC (replies go to it).
    pub const OUR_MAC: &str = "SINK_OUR_MAC";
    /// `[u8; 6]`: the target's MAC (replies come from it).
    pub const PEER_MAC: &str = "SINK_PEER_MAC";
    /// `[u8; 4]`: the generator's IPv4 address (network order).
    pub const OUR_IP: &str = "SINK_OUR_IP";
    /// `[u8; 4]`: the target's IPv4 address (network order).
    pub const PEER_IP: &str = "SINK_PEER_IP";
    /// `u16`: the target's UDP port (host order): replies come from it.
    pub const PEER_PORT: &str = "SINK_PEER_PORT";
    /// `u16`: ICMP echo identifier (host order) of our requests.
    pub const ICMP_ID: &str = "GEN_ICMP_ID";
    /// `u32`: length of the UDP datagram / ICMP message (header + payload) of each frame.
    pub const L4_LEN: &str = "GEN_L4_LEN";
    /// `[u8; 2]`: the template's UDP / ICMP checksum field, as it lies in the frame.
    pub const L4_CSUM: &str = "GEN_L4_CSUM";
    /// `u32`: index of the interface the transmitter sends from. The transmitter is also
    /// attached (generic mode) to the namespace's loopback, only so that the kernel keeps it in
    /// its XDP dispatcher: otherwise every `BPF_PROG_RUN` call with `repeat > 1` adds it and
    /// removes it again, each time with a text patch and an RCU grace period (~10 ms in this
    /// VM). Frames from any other interface are passed untouched.
    pub const IFINDEX: &str = "GEN_IFINDEX";
    /// `u64`: a frame is *sampled* when `seq & SAMPLE_MASK == 0`: the transmitter stamps a
    /// timestamp into it, and the sink verifies its IPv4 and L4 checksums and records its RTT.
    /// Every reply gets the other checks (addresses, ports, lengths, ICMP fields, stamp).
    pub const SAMPLE_MASK: &str = "GEN_SAMPLE_MASK";
    /// `u32`: what a valid reply looks like. [`super::EXPECT_ECHO`]: an echo (addresses and
    /// ports swapped, ICMP type 0). [`super::EXPECT_MACSWAP`]: the request with only its
    /// Ethernet addresses swapped (what a MAC-swap forwarder such as DPDK testpmd's `macswap`
    /// mode sends back); lengths, stamp and, for sampled frames, checksums are checked alike.
    pub const EXPECT: &str = "SINK_EXPECT";
    /// `u16`: UDP destination port the bounce program turns around (host order).
    pub const BOUNCE_PORT: &str = "BOUNCE_PORT";
    /// `[u64; 5]`: the template's first 40 bytes (Ethernet, IPv4, most of UDP / ICMP), written
    /// into every frame before it is stamped (with aligned 8-byte stores). In live-frames mode the kernel recycles frame
    /// pages without restoring their content, and on veth the receiver's XDP program works on
    /// those very pages (a bounce swaps their addresses in place), so the transmitter must not
    /// trust what a page holds.
    pub const HEADER: &str = "GEN_HEADER";
}

/// `GEN_KIND`: UDP datagrams.
pub const KIND_UDP: u32 = 0;
/// `GEN_KIND`: ICMP echo requests.
pub const KIND_ICMP: u32 = 1;
/// `SINK_EXPECT`: replies are echoes.
pub const EXPECT_ECHO: u32 = 0;
/// `SINK_EXPECT`: replies are the requests with their MAC addresses swapped.
pub const EXPECT_MACSWAP: u32 = 1;

/// Frame layout: Ethernet (no VLAN), IPv4 without options, an 8-byte UDP or ICMP header.
/// Every offset is a field of [`xdp_wire`] placed at its header's position.
pub mod frame {
    use xdp_wire::{ethernet, icmp, ipv4, udp};

    /// Ethernet header length.
    pub const ETH_LEN: usize = ethernet::HEADER_LEN;
    /// IPv4 header length (IHL 5).
    pub const IPV4_LEN: usize = ipv4::MIN_HEADER_LEN;
    /// Offset of the IPv4 header.
    pub const IP: usize = ETH_LEN;
    /// Offset of the UDP / ICMP header.
    pub const L4: usize = ETH_LEN + IPV4_LEN;
    /// UDP and ICMP echo headers are both 8 bytes.
    pub const L4_HDR_LEN: usize = udp::HEADER_LEN;
    const _: () = assert!(udp::HEADER_LEN == icmp::HEADER_LEN);
    /// Offset of the payload (the generator's stamp).
    pub const PAYLOAD: usize = L4 + L4_HDR_LEN;
    /// Offset of the IPv4 total length.
    pub const IP_TOTAL_LEN: usize = IP + ipv4::field::TOTAL_LEN.start;
    /// Offset of the IPv4 protocol.
    pub const IP_PROTOCOL: usize = IP + ipv4::field::PROTOCOL;
    /// Offset of the IPv4 source address.
    pub const IP_SRC: usize = IP + ipv4::field::SRC.start;
    /// Offset of the IPv4 destination address.
    pub const IP_DST: usize = IP + ipv4::field::DST.start;
    /// Offset of the UDP source port.
    pub const UDP_SPORT: usize = L4 + udp::field::SRC_PORT.start;
    /// Offset of the UDP destination port.
    pub const UDP_DPORT: usize = L4 + udp::field::DST_PORT.start;
    /// Offset of the UDP length.
    pub const UDP_LEN: usize = L4 + udp::field::LENGTH.start;
    /// Offset of the UDP checksum.
    pub const UDP_CSUM: usize = L4 + udp::field::CHECKSUM.start;
    /// Offset of the ICMP type.
    pub const ICMP_TYPE: usize = L4 + icmp::field::TYPE;
    /// Offset of the ICMP checksum.
    pub const ICMP_CSUM: usize = L4 + icmp::field::CHECKSUM.start;
    /// Offset of the ICMP echo identifier.
    pub const ICMP_ID: usize = L4 + icmp::field::ECHO_IDENT.start;
    /// Offset of the ICMP echo sequence number.
    pub const ICMP_SEQ: usize = L4 + icmp::field::ECHO_SEQ.start;
    /// Largest IPv4 frame on a 1500-byte MTU.
    pub const MAX_FRAME: usize = ETH_LEN + 1500;
}

/// The generator's stamp at the start of every payload. Multi-byte fields other than the
/// magic are in the host's byte order (only this host writes and reads them). In live-frames
/// mode a frame starts 8-byte aligned, so with the payload at offset 42 every field below is
/// naturally aligned (the transmitter writes them with single aligned stores).
pub mod stamp {
    /// Bytes 0..2 (frame offset 42): the magic, big-endian `XG`.
    pub const MAGIC: usize = 0;
    /// Bytes 2..6 (offset 44): low 32 bits of the per-CPU sequence number.
    pub const SEQ: usize = 2;
    /// Bytes 6..14 (offset 48): `bpf_ktime_get_ns()` when the frame was sent, or 0 if the
    /// frame is not one of the sampled ones (see [`super::globals::SAMPLE_MASK`]).
    pub const TS: usize = 6;
    /// Bytes 14..16 (offset 56): the [`super::phase`] the frame was sent in.
    pub const PHASE: usize = 14;
    /// Smallest payload that holds the stamp.
    pub const LEN: usize = 16;
    /// The magic's value.
    pub const MAGIC_VALUE: [u8; 2] = *b"XG";
}

/// Measurement phases, carried in each frame's stamp: replies are counted per phase, so the
/// measured window is exact however long replies take.
pub mod phase {
    /// Before the window: warms caches, rings and the server up.
    pub const WARMUP: u64 = 0;
    /// The measured window (RTT histogram is kept for this phase only).
    pub const WINDOW: u64 = 1;
    /// After the window.
    pub const COOLDOWN: u64 = 2;
    /// Number of phases (slots are reserved for all of them).
    pub const COUNT: usize = 4;
}

/// Word indices of the transmitter's per-CPU state (`GEN_STATE`, one `[u64; GEN_WORDS]`).
/// User space writes it only between `BPF_PROG_RUN` calls (the same thread makes them).
pub mod gen {
    /// Frames sent so far on this CPU (also the next sequence number).
    pub const SEQ: usize = 0;
    /// Current phase.
    pub const PHASE: usize = 1;
    /// Pacing: `bpf_ktime_get_ns()` at which the next frame is due.
    pub const NEXT_NS: usize = 2;
    /// Pacing: ns between frames; 0 sends every frame (maximum rate). A frame that is not
    /// due yet is dropped before it leaves (`XDP_DROP`), so one long `BPF_PROG_RUN` call paces
    /// itself in the kernel, with no per-call cost and no bursts.
    pub const INTERVAL_NS: usize = 3;
    /// Words per CPU.
    pub const WORDS: usize = 4;
    /// After a stall, at most this many frames go out back to back to catch up.
    pub const CATCH_UP: u64 = 64;
}

/// Word indices of the sink's per-CPU counters (`SINK_STATS`, one `[u64; sink::WORDS]`).
pub mod sink {
    /// Per phase `p`, counters start at `p * PHASE_STRIDE`.
    pub const PHASE_STRIDE: usize = 4;
    /// Valid replies.
    pub const REPLIES: usize = 0;
    /// Of those, the sampled ones (checksums verified, RTT recorded for the window).
    pub const SAMPLED: usize = 3;
    /// Bytes of valid replies (frame length, no FCS).
    pub const BYTES: usize = 1;
    /// Replies from the target that failed a check (see the `BAD_*` reasons).
    pub const INVALID: usize = 2;
    /// First of the invalid-reply reason counters (all phases together).
    pub const REASONS: usize = super::phase::COUNT * PHASE_STRIDE;
    /// Reason: Ethernet addresses not swapped.
    pub const BAD_MAC: usize = 0;
    /// Reason: IP total length or L4 length differ from the request's.
    pub const BAD_LEN: usize = 1;
    /// Reason: IPv4 header checksum does not verify.
    pub const BAD_IP_CSUM: usize = 2;
    /// Reason: wrong UDP ports, ICMP type/code or identifier.
    pub const BAD_L4: usize = 3;
    /// Reason: UDP / ICMP checksum does not verify.
    pub const BAD_L4_CSUM: usize = 4;
    /// Reason: unknown phase in the stamp.
    pub const BAD_PHASE: usize = 5;
    /// Number of reason slots.
    pub const REASON_COUNT: usize = 8;
    /// Sum of the RTTs (ns) of the window's valid replies.
    pub const RTT_SUM: usize = REASONS + REASON_COUNT;
    /// Largest RTT (ns) of the window.
    pub const RTT_MAX: usize = RTT_SUM + 1;
    /// First histogram bucket (see [`super::hist`]).
    pub const HIST: usize = RTT_SUM + 4;
    /// Words per CPU.
    pub const WORDS: usize = HIST + super::hist::BUCKETS;
}

/// RTT histogram: log2 buckets with [`hist::SUB_BITS`] bits of mantissa (relative width 1/8).
/// The functions are loop- and panic-free: the sink program calls [`hist::bucket`].
pub mod hist {
    /// Mantissa bits per power of two.
    pub const SUB_BITS: u32 = 3;
    /// Sub-buckets per power of two.
    pub const SUB: u64 = 1 << SUB_BITS;
    /// Buckets cover every `u64`.
    pub const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

    /// Histogram bucket of a value: exact below [`SUB`], then [`SUB`] buckets per power of two.
    #[inline(always)]
    pub fn bucket(v: u64) -> usize {
        if v < SUB {
            return v as usize;
        }
        let msb = 63 - v.leading_zeros() as u64;
        let mantissa = (v >> (msb - u64::from(SUB_BITS))) & (SUB - 1);
        let b = ((msb - u64::from(SUB_BITS) + 1) * SUB + mantissa) as usize;
        if b < BUCKETS {
            b
        } else {
            BUCKETS - 1
        }
    }

    /// Smallest value that falls in bucket `b`.
    #[inline(always)]
    pub fn bucket_low(b: usize) -> u64 {
        let b = b as u64;
        if b < SUB {
            return b;
        }
        let exp = b / SUB - 1;
        (SUB + b % SUB) << exp
    }

    /// Number of values in bucket `b`.
    #[inline(always)]
    pub fn bucket_width(b: usize) -> u64 {
        let b = b as u64;
        if b < SUB {
            1
        } else {
            1 << (b / SUB - 1)
        }
    }
}
