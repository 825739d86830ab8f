//! ARP (RFC 826) for Ethernet and IPv4, the only hardware/protocol pair we speak.

use crate::{get, get_u16, get_u8, put, put_u16, put_u8, view};

/// Field ranges of an Ethernet/IPv4 ARP packet.
pub mod field {
    use crate::Field;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    /// Sender hardware address.
    pub const SHA: Field = 8..14;
    /// Sender protocol address.
    pub const SPA: Field = 14..18;
    /// Target hardware address.
    pub const THA: Field = 18..24;
    /// Target protocol address.
    pub const TPA: Field = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const LEN: usize = field::TPA.end;
pub const HTYPE_ETHERNET: u16 = 1;
/// IEEE 802 networks (RFC 1390); Linux accepts it on Ethernet devices as well.
pub const HTYPE_IEEE802: u16 = 6;
/// The protocol type is an EtherType.
pub const PTYPE_IPV4: u16 = crate::ethernet::ethertype::IPV4;
pub const HLEN_ETHERNET: u8 = 6;
pub const PLEN_IPV4: u8 = 4;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

view! {
    /// A typed view of an ARP packet.
    pub struct Packet, LEN
}

impl<T: AsRef<[u8]>> Packet<T> {
    #[inline(always)]
    pub fn htype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::HTYPE)
    }
    #[inline(always)]
    pub fn ptype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::PTYPE)
    }
    #[inline(always)]
    pub fn hlen(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::HLEN)
    }
    #[inline(always)]
    pub fn plen(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::PLEN)
    }
    /// Whether the packet is for Ethernet hardware addresses and IPv4 protocol addresses.
    #[inline(always)]
    pub fn is_ethernet_ipv4(&self) -> bool {
        self.htype() == HTYPE_ETHERNET
            && self.ptype() == PTYPE_IPV4
            && self.hlen() == HLEN_ETHERNET
            && self.plen() == PLEN_IPV4
    }
    #[inline(always)]
    pub fn op(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::OPER)
    }
    #[inline(always)]
    pub fn sha(&self) -> [u8; 6] {
        get(self.buffer.as_ref(), field::SHA.start)
    }
    #[inline(always)]
    pub fn spa(&self) -> [u8; 4] {
        get(self.buffer.as_ref(), field::SPA.start)
    }
    #[inline(always)]
    pub fn tha(&self) -> [u8; 6] {
        get(self.buffer.as_ref(), field::THA.start)
    }
    #[inline(always)]
    pub fn tpa(&self) -> [u8; 4] {
        get(self.buffer.as_ref(), field::TPA.start)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets htype, ptype, hlen and plen for Ethernet/IPv4.
    #[inline(always)]
    pub fn set_ethernet_ipv4(&mut self) {
        let b = self.buffer.as_mut();
        put_u16(b, field::HTYPE, HTYPE_ETHERNET);
        put_u16(b, field::PTYPE, PTYPE_IPV4);
        put_u8(b, field::HLEN, HLEN_ETHERNET);
        put_u8(b, field::PLEN, PLEN_IPV4);
    }
    #[inline(always)]
    pub fn set_htype(&mut self, htype: u16) {
        put_u16(self.buffer.as_mut(), field::HTYPE, htype);
    }
    #[inline(always)]
    pub fn set_op(&mut self, op: u16) {
        put_u16(self.buffer.as_mut(), field::OPER, op);
    }
    #[inline(always)]
    pub fn set_sha(&mut self, mac: [u8; 6]) {
        put(self.buffer.as_mut(), field::SHA.start, mac);
    }
    #[inline(always)]
    pub fn set_spa(&mut self, ip: [u8; 4]) {
        put(self.buffer.as_mut(), field::SPA.start, ip);
    }
    #[inline(always)]
    pub fn set_tha(&mut self, mac: [u8; 6]) {
        put(self.buffer.as_mut(), field::THA.start, mac);
    }
    #[inline(always)]
    pub fn set_tpa(&mut self, ip: [u8; 4]) {
        put(self.buffer.as_mut(), field::TPA.start, ip);
    }
}

/// An Ethernet/IPv4 ARP packet's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub op: u16,
    pub sha: [u8; 6],
    pub spa: [u8; 4],
    pub tha: [u8; 6],
    pub tpa: [u8; 4],
}

impl Repr {
    /// The fields of `p`; `Malformed` unless it is Ethernet/IPv4.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Self, crate::Error> {
        if !p.is_ethernet_ipv4() {
            return Err(crate::Error::Malformed);
        }
        Ok(Repr {
            op: p.op(),
            sha: p.sha(),
            spa: p.spa(),
            tha: p.tha(),
            tpa: p.tpa(),
        })
    }
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_ethernet_ipv4();
        p.set_op(self.op);
        p.set_sha(self.sha);
        p.set_spa(self.spa);
        p.set_tha(self.tha);
        p.set_tpa(self.tpa);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use etherparse::{ArpHardwareId, ArpOperation, ArpPacket, ArpPacketSlice, EtherType};

    #[test]
    fn emit_matches_etherparse_and_parses_back() {
        let r = Repr {
            op: OP_REPLY,
            sha: [2, 0, 0, 0, 0, 1],
            spa: [198, 18, 0, 2],
            tha: [2, 0, 0, 0, 0, 9],
            tpa: [198, 18, 0, 1],
        };
        let mut buf = [0u8; LEN];
        r.emit(&mut Packet::new_checked(&mut buf[..]).unwrap());
        let want = ArpPacket::new(
            ArpHardwareId::ETHERNET,
            EtherType::IPV4,
            ArpOperation::REPLY,
            &r.sha,
            &r.spa,
            &r.tha,
            &r.tpa,
        )
        .unwrap()
        .to_bytes();
        assert_eq!(&buf[..], &want[..]);
        let s = ArpPacketSlice::from_slice(&buf).unwrap();
        assert_eq!(s.operation(), ArpOperation::REPLY);
        assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), Ok(r));
    }

    #[test]
    fn other_hardware_or_protocol_is_malformed() {
        let mut buf = [0u8; LEN];
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_ethernet_ipv4();
        assert!(p.is_ethernet_ipv4());
        for (at, v) in [(0, 1u8), (2, 0x86), (4, 8), (5, 16)] {
            let mut b = buf;
            b[at] = v;
            let p = Packet::new_checked(&b[..]).unwrap();
            assert_eq!(Repr::parse(&p), Err(crate::Error::Malformed));
        }
        assert!(Packet::new_checked(&buf[..27]).is_err());
    }
}
