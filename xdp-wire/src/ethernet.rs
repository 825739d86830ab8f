//! Ethernet II (IEEE 802.3 framing with an EtherType; no FCS: the NIC strips it on receive and
//! adds it on send).

use crate::{get, get_u16, put, put_u16, rest, rest_mut, view};

/// Field ranges of the Ethernet II header.
pub mod field {
    use crate::{Field, Rest};
    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// Smallest frame on the wire without FCS; shorter frames are padded by the NIC.
pub const MIN_FRAME: usize = 60;
/// The broadcast address.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// EtherType values we look at.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const IPV6: u16 = 0x86dd;
    /// IEEE 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad service tag (QinQ).
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ tag.
    pub const QINQ_OLD: u16 = 0x9100;

    /// Whether `t` is one of the VLAN tag protocol identifiers above.
    #[inline(always)]
    pub const fn is_vlan_tag(t: u16) -> bool {
        matches!(t, VLAN | QINQ | QINQ_OLD)
    }
}

/// Whether a MAC address is a group (multicast or broadcast) address: I/G bit set.
#[inline(always)]
pub const fn is_group(mac: &[u8; 6]) -> bool {
    mac[0] & 0x01 != 0
}

/// Whether a MAC address can be the destination of a reply: unicast and not all-zero
/// (Linux's `is_valid_ether_addr`).
#[inline(always)]
pub fn is_valid_unicast(mac: &[u8; 6]) -> bool {
    !is_group(mac) && *mac != [0; 6]
}

view! {
    /// A typed view of an Ethernet II frame.
    pub struct Frame, HEADER_LEN
}

impl<T: AsRef<[u8]>> Frame<T> {
    #[inline(always)]
    pub fn dst(&self) -> [u8; 6] {
        get(self.buffer.as_ref(), field::DST.start)
    }
    #[inline(always)]
    pub fn src(&self) -> [u8; 6] {
        get(self.buffer.as_ref(), field::SRC.start)
    }
    #[inline(always)]
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ETHERTYPE)
    }
    /// The bytes after the header (empty if there are none).
    #[inline(always)]
    pub fn payload(&self) -> &[u8] {
        rest(self.buffer.as_ref(), field::PAYLOAD)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    #[inline(always)]
    pub fn set_dst(&mut self, mac: [u8; 6]) {
        put(self.buffer.as_mut(), field::DST.start, mac);
    }
    #[inline(always)]
    pub fn set_src(&mut self, mac: [u8; 6]) {
        put(self.buffer.as_mut(), field::SRC.start, mac);
    }
    #[inline(always)]
    pub fn set_ethertype(&mut self, t: u16) {
        put_u16(self.buffer.as_mut(), field::ETHERTYPE, t);
    }
    #[inline(always)]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        rest_mut(self.buffer.as_mut(), field::PAYLOAD)
    }
}

/// The Ethernet header's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub ethertype: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(f: &Frame<T>) -> Self {
        Repr {
            dst: f.dst(),
            src: f.src(),
            ethertype: f.ethertype(),
        }
    }
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, f: &mut Frame<T>) {
        f.set_dst(self.dst);
        f.set_src(self.src);
        f.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use etherparse::{EtherType, Ethernet2Header};

    #[test]
    fn view_and_emit_agree_with_etherparse() {
        let r = Repr {
            dst: [1, 2, 3, 4, 5, 6],
            src: [2, 0, 0, 0, 0, 9],
            ethertype: ethertype::IPV6,
        };
        let mut buf = [0u8; 20];
        r.emit(&mut Frame::new_checked(&mut buf[..]).unwrap());
        let (h, rest) = Ethernet2Header::from_slice(&buf).unwrap();
        assert_eq!((h.destination, h.source), (r.dst, r.src));
        assert_eq!(h.ether_type, EtherType::IPV6);
        assert_eq!(rest.len(), 6);
        let f = Frame::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&f), r);
        assert_eq!(f.payload().len(), 6);
    }

    #[test]
    fn short_buffers_are_refused_and_unchecked_views_never_panic() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                Frame::new_checked(&[0u8; 14][..n]).unwrap_err(),
                crate::Error::Truncated
            );
            let mut b = [0xaau8; 14];
            let mut f = Frame::new_unchecked(&mut b[..n]);
            f.set_ethertype(1);
            f.set_src([0; 6]);
            assert!(f.payload_mut().is_empty());
            assert_eq!(f.ethertype(), if n >= 14 { 1 } else { 0 });
        }
    }

    #[test]
    fn address_classes() {
        assert!(is_group(&BROADCAST) && is_group(&[0x33, 0x33, 0, 0, 0, 1]));
        assert!(!is_valid_unicast(&[0; 6]) && is_valid_unicast(&[2, 0, 0, 0, 0, 1]));
        assert!(ethertype::is_vlan_tag(0x8100) && !ethertype::is_vlan_tag(0x0800));
    }
}
