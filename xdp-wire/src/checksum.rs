//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Two representations:
//! * a *folded sum*, `u16`, not yet complemented: [`sum`], [`add`], [`pseudo_v4`],
//!   [`pseudo_v6`]. The sum is commutative, which is why swapping source and destination
//!   addresses or ports never changes a checksum. A field is written as [`finish`]`(sum)`; a
//!   received message verifies when the sum over it, checksum field included (plus the
//!   pseudo-header where the protocol has one), is `0xffff` ([`verifies`]).
//! * a *wide accumulator*, `u64`, for code that adds many words before folding once (the XDP
//!   programs, whose verifier wants no loops): [`fold`], [`update_word`], [`finish_update`].
//!
//! Everything here is loop-free except [`sum`] (and [`pseudo_v6`]'s fixed four words per
//! address, unrolled) and panic-free: it builds for the bpf target.

/// One's-complement addition of two folded sums.
#[inline(always)]
pub fn add(a: u16, b: u16) -> u16 {
    let s = u32::from(a) + u32::from(b);
    // At most one carry out of bit 15; adding it back cannot carry again.
    ((s & 0xffff) + (s >> 16)) as u16
}

/// Folded one's-complement sum of `data` as big-endian 16-bit words; an odd trailing byte is
/// the high byte of a word padded with zero (RFC 1071).
///
/// Eight bytes per step into a 64-bit accumulator with end-around carry (2^16 == 1 (mod
/// 0xffff), so a 64-bit word contributes exactly its four 16-bit halves once folded, and a
/// carry out of bit 63 counts 1; a sum that carried is at most 2^64 - 2, so putting the carry
/// back cannot carry again). The at most seven bytes left are added as a 32-bit, a 16-bit and
/// an 8-bit piece: each starts at an even offset, so its place in the accumulator does not
/// matter. For a header of 8 to 60 bytes the loop runs a few times and the tail three steps at
/// most, with no byte loop.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    let (words, rest) = data.as_chunks::<8>();
    let mut acc = 0u64;
    for w in words {
        acc = add_carry(acc, u64::from_be_bytes(*w));
    }
    let mut tail = 0u64;
    let rest = match rest.split_first_chunk::<4>() {
        Some((w, r)) => {
            tail += u64::from(u32::from_be_bytes(*w));
            r
        }
        None => rest,
    };
    let rest = match rest.split_first_chunk::<2>() {
        Some((w, r)) => {
            tail += u64::from(u16::from_be_bytes(*w));
            r
        }
        None => rest,
    };
    if let Some(b) = rest.first() {
        tail += u64::from(*b) << 8;
    }
    fold(add_carry(acc, tail))
}

/// `a + b` in one's-complement arithmetic on 64 bits: the carry out goes back in.
#[inline(always)]
fn add_carry(a: u64, b: u64) -> u64 {
    let (s, c) = a.overflowing_add(b);
    s + u64::from(c)
}

/// The folded sum of `data` as it counts inside a larger message where it starts at byte
/// `offset`: the same bytes at an odd offset fill the other half of each 16-bit word, which
/// byte-swaps their sum (RFC 1071, "byte order independence"). Summing the pieces of a message
/// split at any byte boundaries (the buffers of a multi-buffer frame) with their offsets and
/// [`add`]ing the results gives [`sum`] of the whole.
#[inline]
pub fn sum_at(data: &[u8], offset: usize) -> u16 {
    let s = sum(data);
    if offset % 2 == 1 {
        s.swap_bytes()
    } else {
        s
    }
}

/// Folds a wide one's-complement accumulator to 16 bits with end-around carry (loop-free):
/// the two 32-bit halves, then the two 16-bit halves, each added with its carry put back
/// (which cannot carry again: a sum that carried is at most `2 * MAX - 2^n`).
#[inline(always)]
pub fn fold(acc: u64) -> u16 {
    let (s, c) = (acc as u32).overflowing_add((acc >> 32) as u32);
    let s = s + u32::from(c);
    let (t, c) = (s as u16).overflowing_add((s >> 16) as u16);
    t + u16::from(c)
}

/// The folded sum in big-endian words (the form of [`sum`]) of a wide accumulator of 16-bit
/// words read in the machine's byte order (`u16::from_ne_bytes`, or what the kernel's
/// `bpf_csum_diff` returns). The one's complement sum is byte-order independent (RFC 1071
/// §2 B): summing byte-swapped words gives the byte-swapped sum.
#[inline(always)]
pub fn from_native(acc: u64) -> u16 {
    u16::from_be(fold(acc))
}

/// The value to store in a checksum field for a message whose sum (checksum field zeroed,
/// pseudo-header included) is `sum`.
#[inline(always)]
pub fn finish(sum: u16) -> u16 {
    !sum
}

/// [`finish`] for UDP over IPv4, where a field of 0 means "no checksum": a computed 0 is sent
/// as its equal 0xffff (RFC 768).
#[inline(always)]
pub fn finish_udp(sum: u16) -> u16 {
    match !sum {
        0 => 0xffff,
        c => c,
    }
}

/// Whether a sum taken over a received message *including* its checksum field is valid.
#[inline(always)]
pub fn verifies(sum: u16) -> bool {
    sum == 0xffff
}

/// RFC 1624 incremental update (eqn. 3): `HC' = ~(~HC + ~m + m')`, where 16-bit word `m` of the
/// message became `m_new`. Correct for every input, including a field that was `0xffff`.
#[inline(always)]
pub fn update(check: u16, old: u16, new: u16) -> u16 {
    !add(add(!check, !old), new)
}

/// RFC 1624 eqn. 3 for one 16-bit word on a wide accumulator: `acc + ~m + m'`, to be continued
/// with more words and ended with [`finish_update`]. Start with `u64::from(!old_checksum)`.
#[inline(always)]
pub fn update_word(acc: u64, old: u16, new: u16) -> u64 {
    acc + u64::from(!old) + u64::from(new)
}

/// Ends an incremental update on a wide accumulator: the new checksum field. `udp` maps a zero
/// result to 0xffff (over IPv4, 0 would mean "no checksum").
#[inline(always)]
pub fn finish_update(acc: u64, udp: bool) -> u16 {
    let c = !fold(acc);
    if udp && c == 0 {
        0xffff
    } else {
        c
    }
}

/// Sum of the IPv4 pseudo-header (RFC 768 / RFC 793): addresses, zero + protocol, length.
/// Four words well below 2^34 in all: one fold, no loop.
#[inline(always)]
pub fn pseudo_v4(src: [u8; 4], dst: [u8; 4], protocol: u8, len: u16) -> u16 {
    fold(
        u64::from(u32::from_be_bytes(src))
            + u64::from(u32::from_be_bytes(dst))
            + u64::from(protocol)
            + u64::from(len),
    )
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1): addresses, 32-bit upper-layer length,
/// three zero bytes + next header. Ten 32-bit words in all (below 2^36): one fold.
#[inline(always)]
pub fn pseudo_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, len: u32) -> u16 {
    let words = |a: &[u8; 16]| -> u64 {
        a.as_chunks::<4>()
            .0
            .iter()
            .map(|w| u64::from(u32::from_be_bytes(*w)))
            .sum()
    };
    fold(words(src) + words(dst) + u64::from(len) + u64::from(next_header))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::{vec, vec::Vec};

    /// Textbook RFC 1071 reference: 16-bit words, one at a time, folding as we go.
    fn reference(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        let mut i = 0;
        while i < data.len() {
            let hi = u32::from(data[i]) << 8;
            let lo = data.get(i + 1).map_or(0, |b| u32::from(*b));
            s += hi | lo;
            s = (s & 0xffff) + (s >> 16);
            i += 2;
        }
        s as u16
    }

    use xdp_testkit::rng::XorShift;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(finish(0xddf2), 0x220d);
    }

    #[test]
    fn matches_reference_for_all_lengths_and_odd_tails() {
        let mut st = XorShift(0x1234_5678_9abc_def0);
        for len in 0..200 {
            let data: Vec<u8> = (0..len).map(|_| st.next_u64() as u8).collect();
            assert_eq!(sum(&data), reference(&data), "len {len}");
        }
        assert_eq!(sum(&[0xff; 1500]), reference(&[0xff; 1500]));
        assert_eq!(sum(&[]), 0);
        assert_eq!(sum(&[0xab]), 0xab00);
    }

    #[test]
    fn carries_out_of_the_wide_accumulator_count() {
        // All-ones words wrap the 64-bit accumulator at every step; a small word after them
        // leaves it at all ones with a carry pending; mixes with every tail length.
        let ones = [0xffu8; 8];
        let one = [0, 0, 0, 0, 0, 0, 0, 1];
        for pattern in [
            vec![ones, ones, one],
            vec![ones, one, ones, ones, one],
            vec![one, ones, ones, ones],
        ] {
            let words: Vec<u8> = pattern.concat();
            for tail in 0..8 {
                let mut data = words.clone();
                data.extend(std::iter::repeat_n(0xff, tail));
                assert_eq!(sum(&data), reference(&data), "{pattern:?} + {tail}");
            }
        }
    }

    #[test]
    fn pieces_summed_at_their_offsets_give_the_whole_sum() {
        let mut st = XorShift(0x0bad_cafe_f00d_0001);
        for len in [0usize, 1, 2, 3, 7, 64, 1501, 3840, 9000] {
            let data: Vec<u8> = (0..len).map(|_| st.next_u64() as u8).collect();
            for _ in 0..20 {
                let mut cuts: Vec<usize> = (0..4)
                    .map(|_| (st.next_u64() as usize) % (len + 1))
                    .collect();
                cuts.push(0);
                cuts.push(len);
                cuts.sort_unstable();
                let mut acc = 0u16;
                for w in cuts.windows(2) {
                    acc = add(acc, sum_at(&data[w[0]..w[1]], w[0]));
                }
                assert_eq!(acc, reference(&data), "len {len} cuts {cuts:?}");
            }
        }
    }

    #[test]
    fn native_order_sums_convert_to_the_big_endian_sum() {
        let mut st = XorShift(0x5eed_0000_0000_0042);
        for len in [0usize, 2, 4, 20, 64, 1500] {
            let data: Vec<u8> = (0..len).map(|_| st.next_u64() as u8).collect();
            let native: u64 = data
                .chunks(2)
                .map(|w| u64::from(u16::from_ne_bytes([w[0], w[1]])))
                .sum();
            assert_eq!(from_native(native), sum(&data), "len {len}");
        }
    }

    #[test]
    fn fold_handles_every_carry() {
        assert_eq!(fold(0), 0);
        assert_eq!(fold(0xffff), 0xffff);
        assert_eq!(fold(0x1_0000), 1);
        assert_eq!(fold(u64::MAX), 0xffff);
        let mut st = XorShift(7);
        for _ in 0..10_000 {
            let v = st.next_u64();
            // fold(v) == v mod 0xffff, with 0xffff standing for a non-zero multiple.
            let m = (v % 0xffff) as u16;
            let f = fold(v);
            assert!(f == m || (m == 0 && f == 0xffff && v != 0), "{v:#x}");
        }
    }

    #[test]
    fn incremental_update_matches_recompute() {
        let mut st = XorShift(0xdead_beef_cafe_f00d);
        for _ in 0..5000 {
            let mut msg: Vec<u8> = (0..32).map(|_| st.next_u64() as u8).collect();
            msg[2] = 0;
            msg[3] = 0;
            let c = finish(sum(&msg));
            msg[2..4].copy_from_slice(&c.to_be_bytes());
            assert!(verifies(sum(&msg)));
            let old = u16::from_be_bytes([msg[0], msg[1]]);
            let new = st.next_u64() as u16;
            msg[0..2].copy_from_slice(&new.to_be_bytes());
            let c2 = update(c, old, new);
            msg[2..4].copy_from_slice(&c2.to_be_bytes());
            assert!(verifies(sum(&msg)), "old {old:04x} new {new:04x} c {c:04x}");
            // The wide form gives the same field.
            let wide = finish_update(update_word(u64::from(!c), old, new), false);
            assert_eq!(wide, c2);
        }
    }

    #[test]
    fn udp_finish_never_writes_zero() {
        assert_eq!(finish_udp(0xffff), 0xffff);
        assert_eq!(finish_udp(0x1234), !0x1234);
        assert_eq!(finish_update(u64::from(0xffffu16), true), 0xffff);
    }

    #[test]
    fn pseudo_headers_match_reference_layout() {
        let (s4, d4) = ([192, 0, 2, 1], [198, 51, 100, 7]);
        let mut p = Vec::new();
        p.extend_from_slice(&s4);
        p.extend_from_slice(&d4);
        p.extend_from_slice(&[0, 17, 0x05, 0xdc]);
        assert_eq!(pseudo_v4(s4, d4, 17, 1500), reference(&p));

        let (s6, d6) = ([0x20; 16], [0xfe; 16]);
        let mut p = Vec::new();
        p.extend_from_slice(&s6);
        p.extend_from_slice(&d6);
        p.extend_from_slice(&[0, 0, 0x05, 0xdc, 0, 0, 0, 58]);
        assert_eq!(pseudo_v6(&s6, &d6, 58, 1500), reference(&p));
    }
}
