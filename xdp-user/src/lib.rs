//! User space of the AF_XDP responder, the library behind the `xdp-responder` binary.
//!
//! Its build script builds the XDP program (`xdp-ebpf`, through `xdp-build`) and embeds it;
//! the ABI with that program is `xdp-common`'s, the frame formats and checksums are
//! `xdp-wire`'s.
//!
//! Data flows one way: RX ring -> [`handlers`] -> TX ring -> completion ring -> fill ring.
//! - [`loader`]: the XDP program and its maps; [`netdev`]: the interface (queues, MTU,
//!   driver).
//! - [`xsk`]: AF_XDP sockets, UMEM, frame accounting, the ring trait and the in-memory kernel
//!   model.
//! - [`handlers`]: pure functions that turn a request frame into its reply in place, for the
//!   [`identity`] we answer as ([`live_identity`]: changed at run time); [`ratelimit`]: the
//!   optional per-source echo limit.
//! - [`worker`]: one queue's loop ([`idle`]: when it sleeps; [`busy_poll`]: `--busy-poll`);
//!   [`runner`]: the `run` command around the workers; [`errors`]: the errno behind a library
//!   error, for messages that say what to do.
//! - [`stats`], [`sample`], [`report`] and [`latency`]: counters, handler time and what is
//!   printed; [`metrics`]: `--prometheus`; [`control`]: the local socket for `addr`/`status`.
//! - [`bench`](mod@bench) and [`requests`]: `bench-datapath`, the worker and handlers over the in-memory
//!   model.
pub mod bench;
pub mod busy_poll;
pub mod control;
pub mod errors;
pub mod handlers;
pub mod identity;
pub mod idle;
pub mod latency;
pub mod live_identity;
pub mod loader;
pub mod metrics;
pub mod netdev;
pub mod ratelimit;
pub mod report;
pub mod requests;
pub mod runner;
pub mod sample;
pub mod stats;
pub mod worker;
pub mod xsk;
