//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Partial sums are carried as a folded 16-bit one's-complement sum (`u16`, *not* yet
//! complemented), so they combine with [`add`] in any order: the sum is commutative, which is
//! why swapping source and destination addresses or ports never changes a checksum.
//!
//! * a checksum field is written as `!sum` ([`finish`]);
//! * a received message verifies when the sum over it, checksum field included (plus the
//!   pseudo-header where the protocol has one), is `0xffff` ([`verifies`]).

/// One's-complement addition of two folded sums.
#[inline]
pub fn add(a: u16, b: u16) -> u16 {
    let s = u32::from(a) + u32::from(b);
    // At most one carry out of bit 15; adding it back cannot carry again.
    ((s & 0xffff) + (s >> 16)) as u16
}

/// Folded one's-complement sum of `data` as big-endian 16-bit words; an odd trailing byte is
/// the high byte of a word padded with zero (RFC 1071).
pub fn sum(data: &[u8]) -> u16 {
    // 32-bit words into a 64-bit accumulator: 2^16 == 1 (mod 0xffff), so a 32-bit word
    // contributes exactly its two 16-bit halves once folded. No overflow below 2^32 words.
    let (words, rest) = data.as_chunks::<4>();
    let mut acc: u64 = 0;
    for w in words {
        acc += u64::from(u32::from_be_bytes(*w));
    }
    let mut tail = [0u8; 4];
    for (t, b) in tail.iter_mut().zip(rest) {
        *t = *b;
    }
    acc += u64::from(u32::from_be_bytes(tail));
    fold(acc)
}

/// Folds a wide accumulator of 16-bit words down to 16 bits with end-around carry.
#[inline]
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The value to store in a checksum field for a message whose sum (checksum field zeroed,
/// pseudo-header included) is `sum`.
#[inline]
pub fn finish(sum: u16) -> u16 {
    !sum
}

/// Whether a sum taken over a received message *including* its checksum field is valid.
#[inline]
pub fn verifies(sum: u16) -> bool {
    sum == 0xffff
}

/// RFC 1624 incremental update (eqn. 3): `HC' = ~(~HC + ~m + m')`, where 16-bit word `m` of the
/// message became `m_new`. Correct for every input, including a field that was `0xffff`.
#[inline]
pub fn update(check: u16, old: u16, new: u16) -> u16 {
    !add(add(!check, !old), new)
}

/// Sum of the IPv4 pseudo-header (RFC 768 / RFC 793): addresses, zero + protocol, length.
pub fn pseudo_v4(src: [u8; 4], dst: [u8; 4], protocol: u8, len: u16) -> u16 {
    let s = add(sum(&src), sum(&dst));
    add(add(s, u16::from(protocol)), len)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1): addresses, 32-bit upper-layer length,
/// three zero bytes + next header.
pub fn pseudo_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, len: u32) -> u16 {
    let s = add(sum(src), sum(dst));
    let s = add(s, sum(&len.to_be_bytes()));
    add(s, u16::from(next_header))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn xorshift(state: &mut u64) -> u64 {
        let mut x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        x
    }

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
        let mut st = 0x1234_5678_9abc_def0;
        for len in 0..200 {
            let data: Vec<u8> = (0..len).map(|_| xorshift(&mut st) as u8).collect();
            assert_eq!(sum(&data), reference(&data), "len {len}");
        }
        assert_eq!(sum(&[0xff; 1500]), reference(&[0xff; 1500]));
        assert_eq!(sum(&[]), 0);
        assert_eq!(sum(&[0xab]), 0xab00);
    }

    #[test]
    fn incremental_update_matches_recompute() {
        let mut st = 0xdead_beef_cafe_f00d;
        for _ in 0..5000 {
            let mut msg: Vec<u8> = (0..32).map(|_| xorshift(&mut st) as u8).collect();
            msg[2] = 0;
            msg[3] = 0;
            let c = finish(sum(&msg));
            msg[2..4].copy_from_slice(&c.to_be_bytes());
            assert!(verifies(sum(&msg)));
            let old = u16::from_be_bytes([msg[0], msg[1]]);
            let new = xorshift(&mut st) as u16;
            msg[0..2].copy_from_slice(&new.to_be_bytes());
            let c2 = update(c, old, new);
            msg[2..4].copy_from_slice(&c2.to_be_bytes());
            assert!(verifies(sum(&msg)), "old {old:04x} new {new:04x} c {c:04x}");
        }
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
