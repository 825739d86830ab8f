//! UDP (RFC 768).

use crate::{checksum, get_u16, put_u16, rest, rest_mut, view};

/// Field ranges of the UDP header.
pub mod field {
    use crate::{Field, Rest};
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    /// Both ports, the words a reply swaps.
    pub const PORTS: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    pub const PAYLOAD: Rest = 8..;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

view! {
    /// A typed view of a UDP datagram (header and payload).
    pub struct Packet, HEADER_LEN
}

impl<T: AsRef<[u8]>> Packet<T> {
    #[inline(always)]
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::SRC_PORT)
    }
    #[inline(always)]
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::DST_PORT)
    }
    #[inline(always)]
    pub fn length(&self) -> usize {
        usize::from(get_u16(self.buffer.as_ref(), field::LENGTH))
    }
    #[inline(always)]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
    #[inline(always)]
    pub fn payload(&self) -> &[u8] {
        rest(self.buffer.as_ref(), field::PAYLOAD)
    }
    /// Whether the checksum over the whole buffer verifies, with `pseudo` the pseudo-header
    /// sum. A field of 0 is not special here: the caller decides what it means (none over
    /// IPv4, invalid over IPv6).
    #[inline]
    pub fn verify_checksum(&self, pseudo: u16) -> bool {
        checksum::verifies(checksum::add(pseudo, checksum::sum(self.buffer.as_ref())))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline(always)]
    pub fn set_src_port(&mut self, port: u16) {
        put_u16(self.buffer.as_mut(), field::SRC_PORT, port);
    }
    #[inline(always)]
    pub fn set_dst_port(&mut self, port: u16) {
        put_u16(self.buffer.as_mut(), field::DST_PORT, port);
    }
    #[inline(always)]
    pub fn set_length(&mut self, len: u16) {
        put_u16(self.buffer.as_mut(), field::LENGTH, len);
    }
    #[inline(always)]
    pub fn set_checksum(&mut self, c: u16) {
        put_u16(self.buffer.as_mut(), field::CHECKSUM, c);
    }
    #[inline(always)]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        rest_mut(self.buffer.as_mut(), field::PAYLOAD)
    }
    /// Writes the checksum over the whole buffer, `pseudo` being the pseudo-header sum; a
    /// computed 0 is sent as 0xffff (0 would mean "none" over IPv4 and is invalid over IPv6).
    #[inline]
    pub fn fill_checksum(&mut self, pseudo: u16) {
        self.set_checksum(0);
        let c = checksum::finish_udp(checksum::add(pseudo, checksum::sum(self.buffer.as_ref())));
        self.set_checksum(c);
    }
}

/// The UDP header's ports (length and checksum follow from the buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Self {
        Repr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
        }
    }
    /// Writes the header over the view's buffer, which is the whole datagram with its payload
    /// in place: ports, length = the buffer's length (`Malformed` past 65535), and the checksum
    /// (`pseudo` the pseudo-header sum for that length; `None` writes 0, "no checksum", which
    /// only IPv4 allows).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut Packet<T>,
        pseudo: Option<u16>,
    ) -> Result<(), crate::Error> {
        let len = u16::try_from(p.as_bytes().len()).map_err(|_| crate::Error::Malformed)?;
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_length(len);
        match pseudo {
            Some(ps) => p.fill_checksum(ps),
            None => p.set_checksum(0),
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use etherparse::UdpHeader;
    use std::vec;

    #[test]
    fn emit_matches_etherparse_v4_and_v6() {
        let (s4, d4) = ([198, 18, 0, 1], [198, 18, 0, 2]);
        let (s6, d6) = ([0x20; 16], [0x21; 16]);
        for n in [0usize, 1, 2, 3, 100, 1472] {
            let mut buf = vec![0u8; 8 + n];
            for (i, b) in buf[8..].iter_mut().enumerate() {
                *b = (i * 7) as u8;
            }
            let r = Repr {
                src_port: 40000,
                dst_port: 7,
            };
            let len = buf.len() as u16;
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            r.emit(&mut p, Some(checksum::pseudo_v4(s4, d4, 17, len)))
                .unwrap();
            let (h, _) = UdpHeader::from_slice(&buf).unwrap();
            assert_eq!(
                h.checksum,
                h.calc_checksum_ipv4_raw(s4, d4, &buf[8..]).unwrap()
            );
            assert_eq!(usize::from(h.length), 8 + n);
            let p = Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(Repr::parse(&p), r);
            assert!(p.verify_checksum(checksum::pseudo_v4(s4, d4, 17, len)));
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            r.emit(
                &mut p,
                Some(checksum::pseudo_v6(&s6, &d6, 17, u32::from(len))),
            )
            .unwrap();
            let (h, _) = UdpHeader::from_slice(&buf).unwrap();
            assert_eq!(
                h.checksum,
                h.calc_checksum_ipv6_raw(s6, d6, &buf[8..]).unwrap()
            );
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            r.emit(&mut p, None).unwrap();
            assert_eq!(p.checksum(), 0);
        }
        assert!(Packet::new_checked(&[0u8; 7][..]).is_err());
    }
}
