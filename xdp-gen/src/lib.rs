//! `xdp-gen`: a packet generator and its measuring instruments, for benchmarking the AF_XDP
//! responder against the kernel's own paths on a veth pair.
//!
//! * [`gen`]: sends UDP or ICMP echo requests with `BPF_PROG_RUN` in XDP live-frames mode
//!   ([`testrun`]), from one frame template ([`frame`]), at a fixed rate or as fast as it can
//!   ([`pacing`]); an XDP sink on the generator's interface checks, counts, times and drops the
//!   replies ([`programs`], [`stats`], [`hist`]), and the result is printed ([`report`]).
//! * [`echo`]: kernel UDP echo servers (`recvfrom`/`sendto`, `recvmmsg`/`sendmmsg`).
//! * [`bounce`]: attaches the in-kernel bound, an XDP program that turns requests around with
//!   `XDP_TX`.
//! * The interfaces' index and MAC come from `xdp_host::netdev`; CPU time and memory of
//!   processes and of the machine from `xdp_host::cpu`.
//!
//! The XDP programs live in `xdp-ebpf/src/bin/gen/` (built by this crate's build script
//! through `xdp-build`); [`abi`] (`xdp_common::generator`) is the contract both sides compile,
//! frame formats and checksums are [`xdp_wire`]'s. `cargo xtask bench` and `cargo xtask
//! ladder` run the binary in the veth lab.

pub use xdp_common::generator as abi;

pub mod bounce;
pub mod echo;
pub mod frame;
pub mod gen;
pub mod hist;
pub mod pacing;
pub mod programs;
pub mod report;
pub mod stats;
pub use xdp_host::testrun;
