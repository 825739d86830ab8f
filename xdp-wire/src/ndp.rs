//! Neighbor Discovery (RFC 4861): Neighbor Solicitation and Advertisement messages (ICMPv6
//! types 135 and 136) and their options. The ICMPv6 header (type, code, checksum) is the
//! [`crate::icmp`] layout; this view adds the NS/NA body.

use crate::{get, get_u8, icmp, put, rest, rest_mut, tlv, view, Error};

/// Field ranges of a Neighbor Solicitation / Advertisement.
pub mod field {
    pub use crate::icmp::field::{CHECKSUM, CODE, TYPE};
    use crate::{Field, Rest};
    /// NA: the R, S and O flags (NS: reserved).
    pub const FLAGS: usize = 4;
    /// Flags and reserved bytes.
    pub const FLAGS_RESERVED: Field = 4..8;
    pub const TARGET: Field = 8..24;
    pub const OPTIONS: Rest = 24..;
}

/// Length of an NS or NA without options.
pub const HEADER_LEN: usize = field::OPTIONS.start;
/// NDP messages must arrive, and are sent, with this hop limit (RFC 4861 §7.1).
pub const HOP_LIMIT: u8 = 255;

/// NA flags (in the byte at [`field::FLAGS`]).
pub const FLAG_ROUTER: u8 = 0x80;
pub const FLAG_SOLICITED: u8 = 0x40;
pub const FLAG_OVERRIDE: u8 = 0x20;

/// Option types.
pub mod option {
    pub const SOURCE_LLADDR: u8 = 1;
    pub const TARGET_LLADDR: u8 = 2;
    pub const PREFIX_INFO: u8 = 3;
    pub const REDIRECTED_HEADER: u8 = 4;
    pub const MTU: u8 = 5;
    /// RFC 7527 (Enhanced DAD).
    pub const NONCE: u8 = 14;
    /// Options are counted in units of this many bytes.
    pub const UNIT: usize = 8;
    /// Length of a link-layer address option for Ethernet (one unit).
    pub const LLADDR_LEN: usize = 8;
}

/// The link-layer address option of `kind` ([`option::SOURCE_LLADDR`] or
/// [`option::TARGET_LLADDR`]) for an Ethernet address.
#[inline(always)]
pub const fn lladdr_option(kind: u8, mac: [u8; 6]) -> [u8; option::LLADDR_LEN] {
    [kind, 1, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]]
}

view! {
    /// A typed view of a Neighbor Solicitation or Advertisement (the whole ICMPv6 message).
    pub struct Packet, HEADER_LEN
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The ICMPv6 header view of the same bytes.
    #[inline(always)]
    pub fn icmp(&self) -> icmp::Packet<&[u8]> {
        icmp::Packet::new_unchecked(self.buffer.as_ref())
    }
    #[inline(always)]
    pub fn flags(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::FLAGS)
    }
    #[inline(always)]
    pub fn target(&self) -> [u8; 16] {
        get(self.buffer.as_ref(), field::TARGET.start)
    }
    #[inline(always)]
    pub fn options(&self) -> Options<'_> {
        Options::new(rest(self.buffer.as_ref(), field::OPTIONS))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline(always)]
    pub fn icmp_mut(&mut self) -> icmp::Packet<&mut [u8]> {
        icmp::Packet::new_unchecked(self.buffer.as_mut())
    }
    /// Sets the flags byte and zeroes the three reserved bytes after it.
    #[inline(always)]
    pub fn set_flags(&mut self, flags: u8) {
        put(
            self.buffer.as_mut(),
            field::FLAGS_RESERVED.start,
            [flags, 0, 0, 0],
        );
    }
    #[inline(always)]
    pub fn set_target(&mut self, a: &[u8; 16]) {
        put(self.buffer.as_mut(), field::TARGET.start, *a);
    }
    #[inline(always)]
    pub fn options_mut(&mut self) -> &mut [u8] {
        rest_mut(self.buffer.as_mut(), field::OPTIONS)
    }
}

/// NDP option framing: every option has a length byte counting units of
/// [`option::UNIT`] bytes; a length of 0 is a framing error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing;

impl tlv::Framing for Framing {
    #[inline]
    fn len(_kind: u8, len: Option<u8>) -> Option<usize> {
        Some(len.map_or(0, |u| usize::from(u) * option::UNIT))
    }
}

/// One NDP option.
pub type Opt<'a> = tlv::Opt<'a, Framing>;

impl Opt<'_> {
    /// The Ethernet address of a link-layer address option of one unit, else `None`.
    pub fn lladdr(&self) -> Option<[u8; 6]> {
        match self.bytes {
            [_, 1, a, b, c, d, e, f] => Some([*a, *b, *c, *d, *e, *f]),
            _ => None,
        }
    }
}

/// The options of an NS/NA ([`Framing`]): a length of 0 or an option running past the
/// message is yielded once as `Err(Malformed)`, then the iteration ends.
pub type Options<'a> = tlv::Options<'a, Framing>;

/// A Neighbor Advertisement's fields, with an optional Target Link-Layer Address option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaRepr {
    pub flags: u8,
    pub target: [u8; 16],
    pub target_lladdr: Option<[u8; 6]>,
}

impl NaRepr {
    /// Length of the message [`Self::emit`] writes.
    pub const fn msg_len(&self) -> usize {
        match self.target_lladdr {
            Some(_) => HEADER_LEN + option::LLADDR_LEN,
            None => HEADER_LEN,
        }
    }

    /// Writes the advertisement into the first [`Self::msg_len`] bytes of the view's buffer
    /// (`Truncated` if it is shorter) with its checksum, `pseudo` being the IPv6 pseudo-header
    /// sum for [`Self::msg_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut Packet<T>,
        pseudo: u16,
    ) -> Result<(), Error> {
        let msg = p
            .as_bytes_mut()
            .get_mut(..self.msg_len())
            .ok_or(Error::Truncated)?;
        let mut na = Packet::new_unchecked(&mut *msg);
        {
            let mut h = na.icmp_mut();
            h.set_msg_type(icmp::v6::NEIGHBOR_ADVERTISEMENT);
            h.set_code(0);
        }
        na.set_flags(self.flags);
        na.set_target(&self.target);
        if let Some(mac) = self.target_lladdr {
            put(
                na.options_mut(),
                0,
                lladdr_option(option::TARGET_LLADDR, mac),
            );
        }
        icmp::Packet::new_unchecked(msg).fill_checksum(pseudo);
        Ok(())
    }
}

/// A Neighbor Solicitation's fields; its options are the bytes after the header in the
/// buffer, written by the caller before [`NsRepr::emit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsRepr {
    pub target: [u8; 16],
}

impl NsRepr {
    /// Writes type, code, reserved bytes and target, then the checksum over the whole buffer
    /// (options included), `pseudo` being the IPv6 pseudo-header sum for that length.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>, pseudo: u16) {
        {
            let mut h = p.icmp_mut();
            h.set_msg_type(icmp::v6::NEIGHBOR_SOLICITATION);
            h.set_code(0);
        }
        p.set_flags(0);
        p.set_target(&self.target);
        p.icmp_mut().fill_checksum(pseudo);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checksum;
    use etherparse::icmpv6::NeighborAdvertisementHeader;
    use etherparse::{Icmpv6Header, Icmpv6Slice, Icmpv6Type};
    use std::vec::Vec;

    const SRC: [u8; 16] = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const DST: [u8; 16] = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

    #[test]
    fn na_matches_etherparse() {
        for tlla in [Some(MAC), None] {
            let r = NaRepr {
                flags: FLAG_SOLICITED | FLAG_OVERRIDE,
                target: SRC,
                target_lladdr: tlla,
            };
            let mut buf = [0u8; 40];
            let pseudo = checksum::pseudo_v6(&SRC, &DST, 58, r.msg_len() as u32);
            r.emit(&mut Packet::new_checked(&mut buf[..]).unwrap(), pseudo)
                .unwrap();
            let mut body = SRC.to_vec();
            if let Some(m) = tlla {
                body.extend_from_slice(&lladdr_option(2, m));
            }
            let h = Icmpv6Header::with_checksum(
                Icmpv6Type::NeighborAdvertisement(NeighborAdvertisementHeader {
                    router: false,
                    solicited: true,
                    r#override: true,
                }),
                SRC,
                DST,
                &body,
            )
            .unwrap();
            let mut want = h.to_bytes().to_vec();
            want.extend_from_slice(&body);
            assert_eq!(&buf[..r.msg_len()], &want[..]);
            assert!(Icmpv6Slice::from_slice(&buf[..r.msg_len()])
                .unwrap()
                .is_checksum_valid(SRC, DST));
            let p = Packet::new_checked(&buf[..r.msg_len()]).unwrap();
            assert_eq!((p.flags(), p.target()), (0x60, SRC));
        }
        let mut short = [0u8; 31];
        let r = NaRepr {
            flags: 0,
            target: SRC,
            target_lladdr: Some(MAC),
        };
        assert_eq!(
            r.emit(&mut Packet::new_checked(&mut short[..]).unwrap(), 0),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn ns_matches_etherparse_and_options_parse() {
        let mut buf = [0u8; 32];
        buf[24..].copy_from_slice(&lladdr_option(option::SOURCE_LLADDR, MAC));
        let pseudo = checksum::pseudo_v6(&DST, &SRC, 58, 32);
        NsRepr { target: SRC }.emit(&mut Packet::new_checked(&mut buf[..]).unwrap(), pseudo);
        let s = Icmpv6Slice::from_slice(&buf).unwrap();
        assert!(matches!(s.icmp_type(), Icmpv6Type::NeighborSolicitation));
        assert!(s.is_checksum_valid(DST, SRC));
        let p = Packet::new_checked(&buf[..]).unwrap();
        let opts: Vec<_> = p.options().collect();
        assert_eq!(opts.len(), 1);
        let o = opts[0].unwrap();
        assert_eq!((o.kind, o.lladdr()), (option::SOURCE_LLADDR, Some(MAC)));
    }

    #[test]
    fn bad_options_are_malformed() {
        for bad in [
            &[1u8, 0, 0, 0, 0, 0, 0, 0][..],
            &[1, 2, 1, 2, 3, 4, 5, 6],
            &[1, 1, 1, 2, 3, 4, 5, 6, 9],
        ] {
            let mut it = Options::new(bad);
            assert!(it.any(|o| o == Err(Error::Malformed)), "{bad:?}");
            assert!(it.next().is_none());
        }
        let two = Options::new(&[
            14, 1, 1, 2, 3, 4, 5, 6, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        let v: Vec<_> = two.map(|o| o.unwrap()).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].lladdr(), None, "two units is not an Ethernet address");
    }
}
