//! Host-side helpers that the responder, the generator, `cargo xtask` and the integration tests
//! all need, written once:
//! * [`cpu`]: CPU time (per process and for the machine) and resident memory from `/proc`;
//! * [`mac`]: parsing and formatting Ethernet addresses;
//! * [`netdev`]: an interface's index, MAC, MTU and RX queue count from sysfs;
//! * [`signals`]: the SIGINT/SIGTERM flag that long-running commands poll (signal-hook);
//! * [`testrun`]: `BPF_PROG_TEST_RUN` on an XDP program, timed or in live-frames mode.

pub mod cpu;
pub mod mac;
pub mod netdev;
pub mod signals;
pub mod testrun;
