//! ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) messages: both start with type, code and checksum,
//! and their echo messages share one layout (identifier, sequence number, data). They differ
//! in the type numbers ([`v4`], [`v6`]) and in the checksum: ICMPv6's covers the IPv6
//! pseudo-header, ICMPv4's nothing but the message (pass a pseudo-header sum of 0).

use crate::{checksum, get_u16, get_u8, put_u16, put_u8, rest, rest_mut, view};

/// Field ranges of the ICMP header and of the echo message.
pub mod field {
    use crate::{Field, Rest};
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    /// Type and code as one 16-bit word, as the checksum sees them.
    pub const TYPE_CODE: Field = 0..2;
    pub const CHECKSUM: Field = 2..4;
    /// The type-specific second word (echo: identifier and sequence number).
    pub const REST_OF_HEADER: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ: Field = 6..8;
    pub const DATA: Rest = 8..;
}

/// Length of the ICMP header (type, code, checksum and the 4-byte second word).
pub const HEADER_LEN: usize = field::DATA.start;

/// ICMPv4 types.
pub mod v4 {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACHABLE: u8 = 3;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAMETER_PROBLEM: u8 = 12;
    pub const TIMESTAMP: u8 = 13;
}

/// ICMPv6 types.
pub mod v6 {
    pub const DEST_UNREACHABLE: u8 = 1;
    pub const PARAMETER_PROBLEM: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    pub const ROUTER_SOLICITATION: u8 = 133;
    pub const ROUTER_ADVERTISEMENT: u8 = 134;
    pub const NEIGHBOR_SOLICITATION: u8 = 135;
    pub const NEIGHBOR_ADVERTISEMENT: u8 = 136;
}

view! {
    /// A typed view of an ICMPv4 or ICMPv6 message (the whole message: header and body).
    pub struct Packet, HEADER_LEN
}

impl<T: AsRef<[u8]>> Packet<T> {
    #[inline(always)]
    pub fn msg_type(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::TYPE)
    }
    #[inline(always)]
    pub fn code(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::CODE)
    }
    #[inline(always)]
    pub fn type_code_word(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::TYPE_CODE)
    }
    #[inline(always)]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
    #[inline(always)]
    pub fn echo_ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }
    #[inline(always)]
    pub fn echo_seq(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ECHO_SEQ)
    }
    /// The bytes after the 8-byte header.
    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        rest(self.buffer.as_ref(), field::DATA)
    }
    /// Whether the checksum over the whole buffer verifies, with `pseudo` the pseudo-header
    /// sum (0 for ICMPv4).
    #[inline]
    pub fn verify_checksum(&self, pseudo: u16) -> bool {
        checksum::verifies(checksum::add(pseudo, checksum::sum(self.buffer.as_ref())))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline(always)]
    pub fn set_msg_type(&mut self, t: u8) {
        put_u8(self.buffer.as_mut(), field::TYPE, t);
    }
    #[inline(always)]
    pub fn set_code(&mut self, c: u8) {
        put_u8(self.buffer.as_mut(), field::CODE, c);
    }
    #[inline(always)]
    pub fn set_checksum(&mut self, c: u16) {
        put_u16(self.buffer.as_mut(), field::CHECKSUM, c);
    }
    #[inline(always)]
    pub fn set_echo_ident(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), field::ECHO_IDENT, v);
    }
    #[inline(always)]
    pub fn set_echo_seq(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), field::ECHO_SEQ, v);
    }
    #[inline(always)]
    pub fn data_mut(&mut self) -> &mut [u8] {
        rest_mut(self.buffer.as_mut(), field::DATA)
    }
    /// Changes the type and updates the checksum incrementally (RFC 1624): an echo request
    /// becomes its reply without touching the data.
    #[inline(always)]
    pub fn set_type_updating_checksum(&mut self, t: u8) {
        let old = self.type_code_word();
        self.set_msg_type(t);
        let new = self.type_code_word();
        self.set_checksum(checksum::update(self.checksum(), old, new));
    }
    /// Writes the checksum over the whole buffer, `pseudo` being the pseudo-header sum.
    #[inline]
    pub fn fill_checksum(&mut self, pseudo: u16) {
        self.set_checksum(0);
        let c = checksum::finish(checksum::add(pseudo, checksum::sum(self.buffer.as_ref())));
        self.set_checksum(c);
    }
}

/// An echo request or reply's header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EchoRepr {
    pub msg_type: u8,
    pub ident: u16,
    pub seq: u16,
}

impl EchoRepr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Self {
        EchoRepr {
            msg_type: p.msg_type(),
            ident: p.echo_ident(),
            seq: p.echo_seq(),
        }
    }
    /// Writes the header (code 0) and the checksum over the view's buffer, whose data must be
    /// in place; `pseudo` is the pseudo-header sum (0 for ICMPv4).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>, pseudo: u16) {
        p.set_msg_type(self.msg_type);
        p.set_code(0);
        p.set_echo_ident(self.ident);
        p.set_echo_seq(self.seq);
        p.fill_checksum(pseudo);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use etherparse::{Icmpv4Slice, Icmpv4Type, Icmpv6Slice, Icmpv6Type};
    use std::vec;

    #[test]
    fn echo_v4_matches_etherparse_and_turns_around() {
        for n in [0usize, 1, 7, 56, 1000] {
            let mut buf = vec![0u8; 8 + n];
            for (i, b) in buf[8..].iter_mut().enumerate() {
                *b = i as u8 ^ 0x5a;
            }
            let r = EchoRepr {
                msg_type: v4::ECHO_REQUEST,
                ident: 0x1234,
                seq: 7,
            };
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            r.emit(&mut p, 0);
            assert!(p.verify_checksum(0));
            let s = Icmpv4Slice::from_slice(&buf).unwrap();
            assert!(
                matches!(s.icmp_type(), Icmpv4Type::EchoRequest(e) if e.id == 0x1234 && e.seq == 7)
            );
            assert_eq!(s.icmp_type().calc_checksum(s.payload()), s.checksum());
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            p.set_type_updating_checksum(v4::ECHO_REPLY);
            let s = Icmpv4Slice::from_slice(&buf).unwrap();
            assert!(matches!(s.icmp_type(), Icmpv4Type::EchoReply(_)));
            assert_eq!(
                s.icmp_type().calc_checksum(s.payload()),
                s.checksum(),
                "n {n}"
            );
        }
    }

    #[test]
    fn echo_v6_checksum_covers_the_pseudo_header() {
        let src = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let dst = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        let mut buf = [0u8; 8 + 5];
        buf[8..].copy_from_slice(b"hello");
        let pseudo = checksum::pseudo_v6(&src, &dst, 58, buf.len() as u32);
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        EchoRepr {
            msg_type: v6::ECHO_REQUEST,
            ident: 1,
            seq: 2,
        }
        .emit(&mut p, pseudo);
        let s = Icmpv6Slice::from_slice(&buf).unwrap();
        assert!(matches!(s.icmp_type(), Icmpv6Type::EchoRequest(_)));
        assert!(s.is_checksum_valid(src, dst));
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum(pseudo) && !p.verify_checksum(0));
        assert_eq!(p.data(), b"hello");
    }

    #[test]
    fn short_messages_are_refused() {
        assert!(Packet::new_checked(&[0u8; 7][..]).is_err());
        assert!(Packet::new_checked(&[0u8; 8][..])
            .unwrap()
            .data()
            .is_empty());
    }
}
