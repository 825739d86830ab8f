//! A small deterministic generator for tests that want reproducible pseudo-random input
//! (mutations, schedules, floods): Marsaglia's xorshift64 (13, 7, 17). Not for anything that
//! needs statistical quality or secrecy.

/// xorshift64 state. A zero state stays zero: seed with a non-zero value.
#[derive(Clone, Debug)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n` (`n` > 0; slightly biased, which tests do not mind).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sequence_and_range() {
        let mut r = XorShift(1);
        assert_eq!(r.next_u64(), 1082269761);
        let mut r = XorShift(0x9e37_79b9);
        for n in 1..50 {
            assert!(r.below(n) < n);
        }
        assert_eq!(XorShift(0).next_u64(), 0);
    }
}
