//! The contract between the copy-ladder counters (the `ladder` binary of `xdp-ebpf`) and
//! their loader (`xdp-ladder count`): the functions and tracepoints counted, their slots, and
//! the map layout. Plain constants only: both the bpf target and the host compile it.

/// A kernel function whose calls (and bytes, where the length is an argument) are counted.
pub struct Probe {
    /// Kernel function (the fentry target).
    pub function: &'static str,
    /// Program name in the object.
    pub program: &'static str,
    /// Counter slot.
    pub slot: usize,
    /// What kind of copy it is (see [`kind`]).
    pub kind: u8,
    /// What it copies, for the docs and the report.
    pub what: &'static str,
}

/// Kinds of copy.
pub mod kind {
    /// Between user memory and the kernel (the iov_iter copy routines).
    pub const USER: u8 = 0;
    /// Kernel to kernel: between skbs, from an xdp_buff into UMEM, from UMEM into an skb.
    pub const KERNEL: u8 = 1;
    /// Counted calls only: the bytes are not an argument (`skb_copy_ubufs`).
    pub const CALLS: u8 = 2;
}

/// Counter slots.
pub mod slot {
    pub const COPY_TO_ITER: usize = 0;
    pub const COPY_FROM_ITER: usize = 1;
    pub const COPY_FROM_ITER_NOCACHE: usize = 2;
    pub const CSUM_COPY_TO_ITER: usize = 3;
    pub const CSUM_COPY_FROM_ITER: usize = 4;
    pub const FOLIO_FROM_ITER: usize = 5;
    pub const SKB_COPY_BITS: usize = 6;
    pub const SKB_STORE_BITS: usize = 7;
    pub const XSK_RCV: usize = 8;
    pub const SKB_COPY_UBUFS: usize = 9;
    /// `skb_copy_bits` called from inside `skb_pp_cow_data` (an skb turned into an XDP buffer:
    /// native XDP on a veth receiving skbs, or generic XDP), counted apart from slot 6.
    pub const SKB_TO_XDP: usize = 10;
    /// Tracepoint `skb:skb_copy_datagram_iovec` (in `skb_copy_datagram_iter`: an skb's data
    /// copied to user memory by a receive call). A tracepoint, so it works where fentry is
    /// not allowed.
    pub const TP_DATAGRAM_IOVEC: usize = 11;
    /// Number of copy slots.
    pub const COPIES: usize = 12;
    /// `raw_syscalls:sys_enter`.
    pub const SYSCALLS: usize = 12;
    /// `sched:sched_switch` with the watched task switched out.
    pub const SWITCHES: usize = 13;
    /// Bytes received by a socket into a user buffer (`sock:sock_recv_length` during a
    /// read/recv-family system call): each byte copied kernel -> user.
    pub const SOCK_USER_RX: usize = 14;
    /// Bytes sent from a user buffer (`sock:sock_send_length` during write/send-family calls
    /// without MSG_ZEROCOPY): each byte copied user -> kernel.
    pub const SOCK_USER_TX: usize = 15;
    /// Bytes sent without a user buffer (`sock:sock_send_length` during sendfile, splice) or
    /// with MSG_ZEROCOPY: no user -> kernel copy.
    pub const SOCK_KERNEL_TX: usize = 16;
    /// Bytes read from a file (not a socket) into a user buffer (`sys_exit` of read-family
    /// calls): the page cache -> user copy.
    pub const FILE_TO_USER: usize = 17;
    /// Bytes written from a user buffer to a file or pipe (`sys_exit` of write-family calls).
    pub const FILE_FROM_USER: usize = 18;
    /// Frames redirected into an XSKMAP (`xdp:xdp_redirect`, no error): in copy mode each is
    /// copied into UMEM.
    pub const XSK_REDIRECT: usize = 19;
    /// All slots.
    pub const ALL: usize = 20;
}

/// Processes are watched in roles; each role has its own counters.
pub mod role {
    /// The server under test.
    pub const SERVER: u32 = 0;
    /// The load: the packet generator (whose system call runs the server's receive path on
    /// veth) or the file client.
    pub const PEER: u32 = 1;
    /// Number of roles.
    pub const COUNT: u32 = 2;
}

/// Map names.
pub mod maps {
    /// `HashMap<u32 tgid, u32 role>`: the processes whose work is counted.
    pub const WATCH: &str = "LADDER_WATCH";
    /// `PerCpuArray<[u64; 2 * slot::ALL]>`, indexed by role: per slot, bytes then calls.
    pub const COUNTS: &str = "LADDER_COUNTS";
    /// `PerCpuArray<u64>`, one entry: inside `skb_pp_cow_data` on this CPU (nesting depth).
    pub const IN_COW: &str = "LADDER_IN_COW";
    /// `HashMap<u32 thread id, [u64; task::WORDS]>`: the current system call of watched threads.
    pub const TASK: &str = "LADDER_TASK";
}

/// Words per role in [`maps::COUNTS`]: bytes at `2 * slot`, calls at `2 * slot + 1`.
pub const WORDS: usize = 2 * slot::ALL;

/// The byte-counting probes: function, program, slot, kind, what it copies.
pub const PROBES: [Probe; 10] = [
    Probe {
        function: "_copy_to_iter",
        program: "ladder_copy_to_iter",
        slot: slot::COPY_TO_ITER,
        kind: kind::USER,
        what: "kernel -> user: recv of an skb, read() from the page cache",
    },
    Probe {
        function: "_copy_from_iter",
        program: "ladder_copy_from_iter",
        slot: slot::COPY_FROM_ITER,
        kind: kind::USER,
        what: "user -> kernel: send into an skb's linear part",
    },
    Probe {
        function: "_copy_from_iter_nocache",
        program: "ladder_copy_from_iter_nocache",
        slot: slot::COPY_FROM_ITER_NOCACHE,
        kind: kind::USER,
        what: "user -> kernel: TCP send into skb page fragments",
    },
    Probe {
        function: "csum_and_copy_to_iter",
        program: "ladder_csum_and_copy_to_iter",
        slot: slot::CSUM_COPY_TO_ITER,
        kind: kind::USER,
        what: "kernel -> user with checksum: recv of a UDP datagram not yet verified",
    },
    Probe {
        function: "csum_and_copy_from_iter_full",
        program: "ladder_csum_and_copy_from_iter_full",
        slot: slot::CSUM_COPY_FROM_ITER,
        kind: kind::USER,
        what: "user -> kernel with checksum: UDP send without checksum offload",
    },
    Probe {
        function: "copy_folio_from_iter_atomic",
        program: "ladder_copy_folio_from_iter_atomic",
        slot: slot::FOLIO_FROM_ITER,
        kind: kind::USER,
        what: "user -> page cache: write() to a file, pipe pages",
    },
    Probe {
        function: "skb_copy_bits",
        program: "ladder_skb_copy_bits",
        slot: slot::SKB_COPY_BITS,
        kind: kind::KERNEL,
        what: "skb -> kernel buffer",
    },
    Probe {
        function: "skb_store_bits",
        program: "ladder_skb_store_bits",
        slot: slot::SKB_STORE_BITS,
        kind: kind::KERNEL,
        what: "kernel buffer -> skb: AF_XDP copy-mode TX (UMEM -> skb)",
    },
    Probe {
        function: "__xsk_rcv",
        program: "ladder_xsk_rcv",
        slot: slot::XSK_RCV,
        kind: kind::KERNEL,
        what: "xdp_buff -> UMEM: AF_XDP copy-mode RX",
    },
    Probe {
        function: "skb_copy_ubufs",
        program: "ladder_skb_copy_ubufs",
        slot: slot::SKB_COPY_UBUFS,
        kind: kind::CALLS,
        what: "user pages of a MSG_ZEROCOPY skb copied into kernel pages (bytes not visible)",
    },
];

/// Program names of the non-copy probes.
pub mod progs {
    /// fentry on `skb_pp_cow_data`: marks the CPU as inside it.
    pub const COW_ENTER: &str = "ladder_cow_enter";
    /// fexit on `skb_pp_cow_data`.
    pub const COW_EXIT: &str = "ladder_cow_exit";
    /// `tp_btf/sys_enter`.
    pub const SYS_ENTER: &str = "ladder_sys_enter";
    /// `tp_btf/sched_switch`.
    pub const SCHED_SWITCH: &str = "ladder_sched_switch";
    /// `tp_btf/skb_copy_datagram_iovec`.
    pub const DATAGRAM_IOVEC: &str = "ladder_skb_copy_datagram_iovec";
    /// `tp_btf/sys_exit`.
    pub const SYS_EXIT: &str = "ladder_sys_exit";
    /// `tp_btf/sock_send_length`.
    pub const SOCK_SEND: &str = "ladder_sock_send_length";
    /// `tp_btf/sock_recv_length`.
    pub const SOCK_RECV: &str = "ladder_sock_recv_length";
    /// `tp_btf/xdp_redirect`.
    pub const XDP_REDIRECT: &str = "ladder_xdp_redirect";
}

/// The BTF tracepoints: program, tracepoint.
pub const TRACEPOINTS: [(&str, &str); 7] = [
    (progs::SYS_ENTER, "sys_enter"),
    (progs::SYS_EXIT, "sys_exit"),
    (progs::SCHED_SWITCH, "sched_switch"),
    (progs::DATAGRAM_IOVEC, "skb_copy_datagram_iovec"),
    (progs::SOCK_SEND, "sock_send_length"),
    (progs::SOCK_RECV, "sock_recv_length"),
    (progs::XDP_REDIRECT, "xdp_redirect"),
];

/// x86_64 system call numbers the byte accounting classifies (the loader refuses to run on
/// other architectures).
pub mod nr {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const PREAD64: u64 = 17;
    pub const PWRITE64: u64 = 18;
    pub const READV: u64 = 19;
    pub const WRITEV: u64 = 20;
    pub const SENDFILE: u64 = 40;
    pub const SENDTO: u64 = 44;
    pub const RECVFROM: u64 = 45;
    pub const SENDMSG: u64 = 46;
    pub const RECVMSG: u64 = 47;
    pub const SPLICE: u64 = 275;
    pub const PREADV: u64 = 295;
    pub const PWRITEV: u64 = 296;
    pub const RECVMMSG: u64 = 299;
    pub const SENDMMSG: u64 = 307;
}

/// `MSG_ZEROCOPY`.
pub const MSG_ZEROCOPY: u64 = 0x0400_0000;
/// `BPF_MAP_TYPE_XSKMAP`.
pub const MAP_TYPE_XSKMAP: u64 = 17;

/// Per-thread state between `sys_enter` and `sys_exit` (`LADDER_TASK` values).
pub mod task {
    /// Word 0: the system call number. Word 1: flags.
    pub const WORDS: usize = 2;
    /// A send with MSG_ZEROCOPY.
    pub const ZEROCOPY: u64 = 1;
    /// A socket tracepoint fired during this call (its bytes are socket bytes).
    pub const SOCKET: u64 = 2;
}

/// The function `COW_ENTER`/`COW_EXIT` attach to.
pub const COW_FUNCTION: &str = "skb_pp_cow_data";
