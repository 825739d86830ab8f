//! Integer arithmetic the generator's XDP programs share with user space (which tests it):
//! RFC 1071 one's complement folding, RFC 1624 incremental checksum updates, and the RTT
//! histogram's bucket function. No loops, no panics: the verifier and `no_std` are happy.

use super::abi::hist::{BUCKETS, SUB, SUB_BITS};

/// Folds a wide one's complement accumulator to 16 bits.
#[inline(always)]
pub fn fold(mut sum: u64) -> u16 {
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// RFC 1624 eqn. 3 for one 16-bit word: the accumulator `~HC + ~m + m'`, to be continued
/// with more words and finished with [`finish_update`]. Start with `!old_checksum as u64`.
#[inline(always)]
pub fn update_word(acc: u64, old: u16, new: u16) -> u64 {
    acc + u64::from(!old) + u64::from(new)
}

/// Ends an incremental update: the new checksum field. `udp` maps a zero result to 0xffff
/// (over IPv4, 0 would mean "no checksum").
#[inline(always)]
pub fn finish_update(acc: u64, udp: bool) -> u16 {
    let c = !fold(acc);
    if udp && c == 0 {
        0xffff
    } else {
        c
    }
}

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
