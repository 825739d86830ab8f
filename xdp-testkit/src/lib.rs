//! Test support shared by the handler unit tests, the handler properties (`xdp-handler-props`,
//! and through it the property tests and the fuzz target), the privileged integration tests,
//! `xdp-wire`'s tests and the request frames of the in-memory data-path benchmark
//! (`xdp-user`'s `requests`).
//!
//! * [`frame`]: request frames with every field chosen by the caller, written with
//!   [`xdp_wire`]'s `emit` functions (the same code the generator's templates use), and
//!   [`frame::fix_checksums`] to repair a frame after a test broke one of its fields.
//! * [`reference`](mod@reference): a textbook RFC 1071 sum, deliberately *not*
//!   `xdp_wire::checksum`, so that checks of a reply do not trust the code that produced it.
//!   Byte-exact expectations are built with etherparse by the tests themselves.
//! * [`rng`]: a deterministic xorshift generator for mutations and schedules.
//!
//! Builders never validate: a bad frame is often the point of a test. They panic only on
//! arguments no frame can hold (a UDP payload over 64 KiB, IPv4 options not a multiple of 4).

pub mod frame;
pub mod reference;
pub mod rng;
