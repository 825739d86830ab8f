//! The wire layer: the one definition of every frame format the responder, its XDP programs,
//! the generator and the tests touch, in the manner of smoltcp's `wire` module.
//!
//! Per protocol a module with
//! * a `field` module: the byte ranges of the header's fields ([`Field`]), the only place
//!   where offsets are written down;
//! * the protocol's constants (types, codes, option kinds, lengths);
//! * a typed view `Packet<T: AsRef<[u8]>>` (`Frame` for Ethernet) with getters, and setters
//!   where `T: AsMut<[u8]>`; `new_checked` refuses a buffer shorter than the fixed header;
//! * a `Repr` (the header's fields as plain values) whose `emit` writes them through the view,
//!   symmetric to `Repr::parse`.
//!
//! [`checksum`] holds the Internet checksum: full sums, pseudo-headers, RFC 1624 incremental
//! updates, and the wide-accumulator forms the XDP programs use.
//!
//! Modules: [`ethernet`], [`arp`], [`ipv4`] (options included), [`ipv6`] (extension header
//! numbers and their generic view), [`icmp`] (the header ICMPv4 and ICMPv6 share, echo),
//! [`ndp`] (Neighbor Solicitation / Advertisement and their options), [`udp`]; [`tlv`] holds
//! the option-list iteration IPv4 and NDP share.
//!
//! # Why our own and not etherparse or `smoltcp::wire`
//! * It must build for the bpf target and pass the verifier: the XDP classifier and the
//!   generator's programs use the field ranges, constants and checksum arithmetic from here.
//!   Neither crate is built or tested for bpf, and their accessors index slices (a panic path,
//!   which a BPF program cannot have).
//! * The responder rewrites a request into its reply in place, a few header words at a time,
//!   with incremental checksum updates; etherparse parses into owned headers and writes them
//!   out again (a copy of every header per packet), smoltcp's `Repr`s likewise, and neither
//!   has the IPv4 option framing Linux applies (`ip_options_compile`), which the handlers need.
//! * No accessor here can panic: every read and write goes through `get`/`get_mut` with a
//!   fallback, so even a view built with `new_unchecked` over too short a buffer reads zeros
//!   and drops writes. After `new_checked` the compiler proves the fallbacks dead (the length
//!   check dominates them), so the hot path pays for one length check per header.
//!
//! etherparse remains the independent reference: every view and `emit` is tested against it.
#![no_std]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

#[cfg(test)]
extern crate std;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod ndp;
pub mod tlv;
pub mod udp;

/// The byte range of a fixed-size field within its header.
pub type Field = core::ops::Range<usize>;
/// The bytes from an offset to the end of the buffer (a payload, options).
pub type Rest = core::ops::RangeFrom<usize>;

/// Why a buffer cannot be viewed as a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the header (or than what its length fields claim).
    Truncated,
    /// A length or framing field that cannot be right (an option of length 0, ...).
    Malformed,
}

/// Length of a field, for the `N` of a fixed-size read: `read::<{ len(F) }>(F.start)`.
#[inline(always)]
pub const fn len(f: Field) -> usize {
    f.end - f.start
}

/// The `N` bytes at `at`, or zeros when the buffer ends before `at + N` (never panics).
#[inline(always)]
pub(crate) fn get<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    match b.get(at..).and_then(<[u8]>::first_chunk::<N>) {
        Some(a) => *a,
        None => [0; N],
    }
}

/// Writes `v` at `at`; a write past the end of the buffer is dropped (never panics).
#[inline(always)]
pub(crate) fn put<const N: usize>(b: &mut [u8], at: usize, v: [u8; N]) {
    if let Some(d) = b.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<N>) {
        *d = v;
    }
}

#[inline(always)]
pub(crate) fn get_u16(b: &[u8], f: Field) -> u16 {
    u16::from_be_bytes(get(b, f.start))
}

#[inline(always)]
pub(crate) fn put_u16(b: &mut [u8], f: Field, v: u16) {
    put(b, f.start, v.to_be_bytes());
}

#[inline(always)]
pub(crate) fn get_u8(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

#[inline(always)]
pub(crate) fn put_u8(b: &mut [u8], at: usize, v: u8) {
    if let Some(d) = b.get_mut(at) {
        *d = v;
    }
}

/// The bytes of `b` from `r.start` on, or none when the buffer ends before (never panics).
#[inline(always)]
pub(crate) fn rest(b: &[u8], r: Rest) -> &[u8] {
    b.get(r).unwrap_or(&[])
}

/// [`rest`], writable.
#[inline(always)]
pub(crate) fn rest_mut(b: &mut [u8], r: Rest) -> &mut [u8] {
    b.get_mut(r).unwrap_or(&mut [])
}

/// Defines a view type: the struct over a buffer `T` and the parts every view shares,
/// `new_unchecked`, `new_checked` (the buffer holds at least `$min` bytes), `into_inner`,
/// `as_bytes` and `as_bytes_mut`.
macro_rules! view {
    ($(#[$meta:meta])* pub struct $name:ident, $min:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// A view over `buffer` without a length check. Safe (reads past the end give
            /// zeros, writes are dropped) but only meaningful after a check.
            #[inline(always)]
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// A view over `buffer`, which must hold the fixed header.
            #[inline(always)]
            pub fn new_checked(buffer: T) -> Result<Self, $crate::Error> {
                if buffer.as_ref().len() < $min {
                    Err($crate::Error::Truncated)
                } else {
                    Ok(Self { buffer })
                }
            }

            /// The buffer back.
            #[inline(always)]
            pub fn into_inner(self) -> T {
                self.buffer
            }

            /// The whole buffer the view is over.
            #[inline(always)]
            pub fn as_bytes(&self) -> &[u8] {
                self.buffer.as_ref()
            }
        }

        impl<T: AsRef<[u8]> + AsMut<[u8]>> $name<T> {
            /// The whole buffer the view is over, writable.
            #[inline(always)]
            pub fn as_bytes_mut(&mut self) -> &mut [u8] {
                self.buffer.as_mut()
            }
        }
    };
}
pub(crate) use view;
