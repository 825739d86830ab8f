//! The independent reference arithmetic.

/// RFC 1071 one's-complement sum (not complemented) over the concatenation of `parts`, one
/// 16-bit word at a time; an odd byte at the very end is padded with zero.
pub fn sum(parts: &[&[u8]]) -> u16 {
    let mut s: u64 = 0;
    let mut odd: Option<u8> = None;
    for p in parts {
        for &b in *p {
            match odd.take() {
                Some(hi) => s += u64::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        s += u64::from(u16::from_be_bytes([hi, 0]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The IPv4 pseudo-header bytes (RFC 768) for `len` bytes of `protocol`.
pub fn pseudo_v4(src: &[u8], dst: &[u8], protocol: u8, len: usize) -> Vec<u8> {
    [src, dst, &[0, protocol], &(len as u16).to_be_bytes()].concat()
}

/// The IPv6 pseudo-header bytes (RFC 8200 §8.1) for `len` bytes of `next`.
pub fn pseudo_v6(src: &[u8], dst: &[u8], next: u8, len: usize) -> Vec<u8> {
    [src, dst, &(len as u32).to_be_bytes(), &[0, 0, 0, next]].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_and_split_words() {
        assert_eq!(
            sum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            0xddf2
        );
        // A word split across two parts is still one word.
        assert_eq!(
            sum(&[&[0x00, 0x01, 0xf2], &[0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            0xddf2
        );
        assert_eq!(sum(&[&[0xab]]), 0xab00);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn agrees_with_the_wire_layer() {
        let data: Vec<u8> = (0..999u32).map(|i| (i * 131 % 251) as u8).collect();
        assert_eq!(sum(&[&data]), xdp_wire::checksum::sum(&data));
    }
}
