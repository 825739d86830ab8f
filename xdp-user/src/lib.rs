//! User space of the AF_XDP responder.
//!
//! Data flows one way: RX ring -> [`handlers`] -> TX ring -> completion ring -> fill ring.
//! - [`loader`]: the XDP program and its maps.
//! - [`xsk`]: AF_XDP sockets, UMEM, frame accounting.
//! - [`handlers`]: pure functions that turn a request frame into its reply in place, for the
//!   [`identity`] we answer as; [`ratelimit`]: the optional per-source echo limit.
//! - [`worker`]: one queue's loop ([`idle`]: when it sleeps; [`busy_poll`]: `--busy-poll`); [`runner`]: the `run` command around the workers.
//! - [`stats`] and [`report`]: counters and what is printed; [`control`]: the local socket.
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
