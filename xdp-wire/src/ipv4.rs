//! IPv4 (RFC 791), options included.

use crate::{checksum, get, get_u16, get_u8, put, put_u16, put_u8, tlv, view, Error, Field};

/// Field ranges of the IPv4 header.
pub mod field {
    use crate::{Field, Rest};
    /// Version (high nibble) and IHL (low nibble, in 32-bit words).
    pub const VER_IHL: usize = 0;
    /// DSCP (high six bits) and ECN (low two bits), the old TOS byte.
    pub const DSCP_ECN: usize = 1;
    pub const TOTAL_LEN: Field = 2..4;
    pub const IDENT: Field = 4..6;
    /// Flags (reserved, DF, MF) and the fragment offset.
    pub const FLAGS_FRAG: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    /// TTL and protocol as one 16-bit word, as the checksum sees them.
    pub const TTL_PROTOCOL: Field = 8..10;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC: Field = 12..16;
    pub const DST: Field = 16..20;
    /// Source and destination, the words a reply swaps.
    pub const ADDRS: Field = 12..20;
    /// Options, up to the header length.
    pub const OPTIONS: Rest = 20..;
}

/// Length of an IPv4 header without options (IHL 5).
pub const MIN_HEADER_LEN: usize = field::DST.end;
/// Length of an IPv4 header with the most options (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;
/// The version-and-IHL byte of a header without options.
pub const VER_IHL_NO_OPTIONS: u8 = 0x45;

/// Don't Fragment, in the flags/fragment word.
pub const FLAG_DF: u16 = 0x4000;
/// More Fragments.
pub const FLAG_MF: u16 = 0x2000;
/// The reserved ("evil") bit.
pub const FLAG_RESERVED: u16 = 0x8000;
/// The fragment offset, in 8-byte units.
pub const FRAG_OFFSET_MASK: u16 = 0x1fff;
/// The ECN bits of the DSCP/ECN byte.
pub const ECN_MASK: u8 = 0x03;

/// IP protocol numbers (also IPv6 next-header values) we look at.
pub mod protocol {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
}

/// IPv4 option types (RFC 791 and the ones Linux's `ip_options_compile` knows).
pub mod option {
    /// End of option list: the rest of the header is padding.
    pub const END: u8 = 0;
    /// No operation: a single byte.
    pub const NOP: u8 = 1;
    /// Record route.
    pub const RR: u8 = 7;
    /// Timestamp.
    pub const TIMESTAMP: u8 = 68;
    /// Security (RFC 1108).
    pub const SEC: u8 = 130;
    /// Loose source and record route.
    pub const LSRR: u8 = 131;
    /// Commercial IP security option.
    pub const CIPSO: u8 = 134;
    /// Strict source and record route.
    pub const SSRR: u8 = 137;
    /// Router alert (RFC 2113).
    pub const RA: u8 = 148;
}

/// Multicast (224.0.0.0/4).
#[inline(always)]
pub const fn is_multicast(ip: [u8; 4]) -> bool {
    ip[0] & 0xf0 == 0xe0
}

/// Limited broadcast (255.255.255.255).
#[inline(always)]
pub fn is_broadcast(ip: [u8; 4]) -> bool {
    ip == [255; 4]
}

/// Multicast or limited broadcast.
#[inline(always)]
pub fn is_group(ip: [u8; 4]) -> bool {
    is_multicast(ip) || is_broadcast(ip)
}

view! {
    /// A typed view of an IPv4 packet.
    pub struct Packet, MIN_HEADER_LEN
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length fields against the buffer: `20 <= IHL*4 <= total length <= buffer`
    /// (`Truncated` otherwise). Bytes past the total length are link-layer padding.
    #[inline]
    pub fn check_len(&self) -> Result<(), Error> {
        let (hl, total) = (self.header_len(), self.total_len());
        if hl < MIN_HEADER_LEN || total < hl || total > self.buffer.as_ref().len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }
    #[inline(always)]
    pub fn version(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::VER_IHL) >> 4
    }
    /// Header length in bytes (`IHL * 4`).
    #[inline(always)]
    pub fn header_len(&self) -> usize {
        usize::from(get_u8(self.buffer.as_ref(), field::VER_IHL) & 0x0f) * 4
    }
    #[inline(always)]
    pub fn dscp_ecn(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::DSCP_ECN)
    }
    #[inline(always)]
    pub fn total_len(&self) -> usize {
        usize::from(get_u16(self.buffer.as_ref(), field::TOTAL_LEN))
    }
    #[inline(always)]
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::IDENT)
    }
    /// The flags/fragment-offset word.
    #[inline(always)]
    pub fn flags_frag(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::FLAGS_FRAG)
    }
    #[inline(always)]
    pub fn dont_fragment(&self) -> bool {
        self.flags_frag() & FLAG_DF != 0
    }
    #[inline(always)]
    pub fn more_fragments(&self) -> bool {
        self.flags_frag() & FLAG_MF != 0
    }
    #[inline(always)]
    pub fn frag_offset(&self) -> u16 {
        self.flags_frag() & FRAG_OFFSET_MASK
    }
    /// A fragment: MF set or a non-zero offset.
    #[inline(always)]
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & (FLAG_MF | FRAG_OFFSET_MASK) != 0
    }
    #[inline(always)]
    pub fn ttl(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::TTL)
    }
    #[inline(always)]
    pub fn protocol(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::PROTOCOL)
    }
    #[inline(always)]
    pub fn ttl_protocol_word(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::TTL_PROTOCOL)
    }
    #[inline(always)]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
    #[inline(always)]
    pub fn src(&self) -> [u8; 4] {
        get(self.buffer.as_ref(), field::SRC.start)
    }
    #[inline(always)]
    pub fn dst(&self) -> [u8; 4] {
        get(self.buffer.as_ref(), field::DST.start)
    }
    /// The header, options included (as far as the buffer holds it).
    #[inline(always)]
    pub fn header(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(..self.header_len()).unwrap_or(b)
    }
    /// The options: bytes 20..IHL*4 (empty if the buffer or IHL does not reach them).
    #[inline(always)]
    pub fn options(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(MIN_HEADER_LEN..self.header_len())
            .unwrap_or(&[])
    }
    /// The payload: IHL*4..total length (empty unless [`Self::check_len`] holds).
    #[inline(always)]
    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(self.header_len()..self.total_len())
            .unwrap_or(&[])
    }
    /// Whether the header checksum (over IHL*4 bytes, options included) verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::verifies(checksum::sum(self.header()))
    }
    /// The pseudo-header sum for an upper-layer message of `len` bytes of `protocol`.
    #[inline]
    pub fn pseudo_sum(&self, protocol: u8, len: u16) -> u16 {
        checksum::pseudo_v4(self.src(), self.dst(), protocol, len)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 4 and the header length (a multiple of 4, 20..=60).
    #[inline(always)]
    pub fn set_version_header_len(&mut self, header_len: usize) {
        let ihl = ((header_len / 4) & 0x0f) as u8;
        put_u8(self.buffer.as_mut(), field::VER_IHL, 0x40 | ihl);
    }
    #[inline(always)]
    pub fn set_dscp_ecn(&mut self, v: u8) {
        put_u8(self.buffer.as_mut(), field::DSCP_ECN, v);
    }
    #[inline(always)]
    pub fn set_total_len(&mut self, len: u16) {
        put_u16(self.buffer.as_mut(), field::TOTAL_LEN, len);
    }
    #[inline(always)]
    pub fn set_ident(&mut self, id: u16) {
        put_u16(self.buffer.as_mut(), field::IDENT, id);
    }
    #[inline(always)]
    pub fn set_flags_frag(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), field::FLAGS_FRAG, v);
    }
    #[inline(always)]
    pub fn set_ttl(&mut self, ttl: u8) {
        put_u8(self.buffer.as_mut(), field::TTL, ttl);
    }
    #[inline(always)]
    pub fn set_protocol(&mut self, p: u8) {
        put_u8(self.buffer.as_mut(), field::PROTOCOL, p);
    }
    #[inline(always)]
    pub fn set_checksum(&mut self, c: u16) {
        put_u16(self.buffer.as_mut(), field::CHECKSUM, c);
    }
    #[inline(always)]
    pub fn set_src(&mut self, ip: [u8; 4]) {
        put(self.buffer.as_mut(), field::SRC.start, ip);
    }
    #[inline(always)]
    pub fn set_dst(&mut self, ip: [u8; 4]) {
        put(self.buffer.as_mut(), field::DST.start, ip);
    }
    /// Replaces the 16-bit header word at `f` (not the checksum) and updates the header
    /// checksum incrementally (RFC 1624).
    #[inline(always)]
    fn set_word_updating_checksum(&mut self, f: Field, new: u16) {
        let old = get_u16(self.buffer.as_ref(), f.clone());
        put_u16(self.buffer.as_mut(), f, new);
        self.set_checksum(checksum::update(self.checksum(), old, new));
    }
    /// Sets the TTL and updates the header checksum incrementally (RFC 1624).
    #[inline(always)]
    pub fn set_ttl_updating_checksum(&mut self, ttl: u8) {
        let new = u16::from_be_bytes([ttl, self.protocol()]);
        self.set_word_updating_checksum(field::TTL_PROTOCOL, new);
    }
    /// Sets the DSCP/ECN byte and updates the header checksum incrementally.
    #[inline(always)]
    pub fn set_dscp_ecn_updating_checksum(&mut self, v: u8) {
        let b = self.buffer.as_ref();
        let new = u16::from_be_bytes([get_u8(b, field::VER_IHL), v]);
        self.set_word_updating_checksum(field::VER_IHL..field::DSCP_ECN + 1, new);
    }
    /// Sets the flags/fragment word and updates the header checksum incrementally.
    #[inline(always)]
    pub fn set_flags_frag_updating_checksum(&mut self, v: u16) {
        self.set_word_updating_checksum(field::FLAGS_FRAG, v);
    }
    /// Writes the header checksum over IHL*4 bytes.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::finish(checksum::sum(self.header()));
        self.set_checksum(c);
    }
    #[inline(always)]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        self.buffer
            .as_mut()
            .get_mut(MIN_HEADER_LEN..hl)
            .unwrap_or(&mut [])
    }
    #[inline(always)]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (hl, total) = (self.header_len(), self.total_len());
        self.buffer.as_mut().get_mut(hl..total).unwrap_or(&mut [])
    }
}

/// IPv4 option framing, as Linux's `ip_options_compile` frames options: END ends the list,
/// NOP is one byte, every other option has a length byte of at least 2 that stays inside the
/// options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing;

impl tlv::Framing for Framing {
    #[inline]
    fn len(kind: u8, len: Option<u8>) -> Option<usize> {
        match kind {
            option::END => None,
            option::NOP => Some(1),
            // A missing length or one under 2 is a framing error (length 0).
            _ => Some(match len {
                Some(l) if l >= 2 => usize::from(l),
                _ => 0,
            }),
        }
    }
}

/// One IPv4 option.
pub type Opt<'a> = tlv::Opt<'a, Framing>;

impl Opt<'_> {
    /// The option's data after its type and length bytes.
    pub fn data(&self) -> &[u8] {
        self.bytes.get(2..).unwrap_or(&[])
    }
}

/// The options of a header ([`Framing`]). A framing error is yielded once as
/// `Err(Malformed)`, then the iteration ends.
pub type Options<'a> = tlv::Options<'a, Framing>;

/// The IPv4 header's fields (options are passed to [`Repr::emit`] as bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub protocol: u8,
    pub ttl: u8,
    pub dscp_ecn: u8,
    pub ident: u16,
    /// The flags/fragment-offset word (e.g. [`FLAG_DF`]).
    pub flags_frag: u16,
    /// Bytes after the header (options excluded).
    pub payload_len: usize,
}

impl Repr {
    /// A header from `src` to `dst` over `protocol` with the fields a host usually sends:
    /// TTL 64, DF, DSCP/ECN 0, identification 0 (etherparse's `Ipv4Header::new`).
    pub const fn new(src: [u8; 4], dst: [u8; 4], protocol: u8, payload_len: usize) -> Self {
        Repr {
            src,
            dst,
            protocol,
            ttl: 64,
            dscp_ecn: 0,
            ident: 0,
            flags_frag: FLAG_DF,
            payload_len,
        }
    }

    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Self {
        Repr {
            src: p.src(),
            dst: p.dst(),
            protocol: p.protocol(),
            ttl: p.ttl(),
            dscp_ecn: p.dscp_ecn(),
            ident: p.ident(),
            flags_frag: p.flags_frag(),
            payload_len: p.total_len().saturating_sub(p.header_len()),
        }
    }

    /// Header length with `options` bytes of options.
    pub fn header_len(options: &[u8]) -> usize {
        MIN_HEADER_LEN + options.len()
    }

    /// Writes the header with `options` (a multiple of 4 bytes, at most 40: `Malformed`
    /// otherwise; `Truncated` if the view's buffer cannot hold header and payload) and its
    /// checksum. The payload is not touched.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut Packet<T>,
        options: &[u8],
    ) -> Result<(), Error> {
        let hl = Self::header_len(options);
        if !options.len().is_multiple_of(4) || hl > MAX_HEADER_LEN {
            return Err(Error::Malformed);
        }
        let total = hl + self.payload_len;
        let total16 = u16::try_from(total).map_err(|_| Error::Malformed)?;
        if p.as_bytes().len() < total {
            return Err(Error::Truncated);
        }
        p.set_version_header_len(hl);
        p.set_dscp_ecn(self.dscp_ecn);
        p.set_total_len(total16);
        p.set_ident(self.ident);
        p.set_flags_frag(self.flags_frag);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src(self.src);
        p.set_dst(self.dst);
        p.options_mut().copy_from_slice(options);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use etherparse::{IpNumber, Ipv4Header, Ipv4HeaderSlice, Ipv4Options};
    use std::vec;
    use std::vec::Vec;

    fn repr(payload_len: usize) -> Repr {
        Repr {
            src: [198, 18, 0, 1],
            dst: [198, 18, 0, 2],
            protocol: protocol::UDP,
            ttl: 64,
            dscp_ecn: 0xb9,
            ident: 0x1234,
            flags_frag: FLAG_DF,
            payload_len,
        }
    }

    #[test]
    fn emit_matches_etherparse_with_and_without_options() {
        for opts in [
            &[][..],
            &[1, 1, 1, 0][..],
            &[0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0][..],
        ] {
            let r = repr(5);
            let mut buf = vec![0u8; 20 + opts.len() + 5];
            r.emit(&mut Packet::new_checked(&mut buf[..]).unwrap(), opts)
                .unwrap();
            let mut want = Ipv4Header::new(5, 64, IpNumber::UDP, r.src, r.dst).unwrap();
            want.dscp = etherparse::IpDscp::try_new(0xb9 >> 2).unwrap();
            want.ecn = etherparse::IpEcn::try_new(1).unwrap();
            want.identification = 0x1234;
            want.dont_fragment = true;
            want.options = Ipv4Options::try_from(opts).unwrap();
            want.set_payload_len(5).unwrap();
            want.header_checksum = want.calc_header_checksum();
            assert_eq!(&buf[..20 + opts.len()], &want.to_bytes()[..]);
            let p = Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(p.check_len(), Ok(()));
            assert!(p.verify_checksum());
            assert_eq!(p.options(), opts);
            assert_eq!(p.payload().len(), 5);
            assert_eq!(Repr::parse(&p), r);
            let s = Ipv4HeaderSlice::from_slice(&buf).unwrap();
            assert_eq!((s.source(), s.destination()), (r.src, r.dst));
        }
    }

    #[test]
    fn new_is_etherparses_default_header() {
        let (src, dst) = ([198, 18, 0, 1], [198, 18, 0, 2]);
        let r = Repr::new(src, dst, protocol::ICMP, 12);
        let mut buf = [0u8; 32];
        r.emit(&mut Packet::new_checked(&mut buf[..]).unwrap(), &[])
            .unwrap();
        let mut want = Ipv4Header::new(12, 64, IpNumber::ICMP, src, dst).unwrap();
        want.header_checksum = want.calc_header_checksum();
        assert_eq!(&buf[..20], &want.to_bytes()[..]);
        assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), r);
    }

    #[test]
    fn emit_refuses_bad_options_and_short_buffers() {
        let mut buf = [0u8; 80];
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        assert_eq!(repr(0).emit(&mut p, &[1, 1, 1]), Err(Error::Malformed));
        assert_eq!(repr(0).emit(&mut p, &[1; 44]), Err(Error::Malformed));
        assert_eq!(repr(61).emit(&mut p, &[]), Err(Error::Truncated));
        assert_eq!(
            repr(usize::MAX - 30).emit(&mut p, &[]),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn length_checks() {
        let mut buf = [0u8; 40];
        repr(20)
            .emit(&mut Packet::new_checked(&mut buf[..]).unwrap(), &[])
            .unwrap();
        for (ihl, total, ok) in [
            (5u8, 40u16, true),
            (4, 40, false),
            (5, 19, false),
            (5, 41, false),
            (15, 40, false),
            (10, 40, true),
        ] {
            let mut b = buf;
            b[0] = 0x40 | ihl;
            b[2..4].copy_from_slice(&total.to_be_bytes());
            let p = Packet::new_checked(&b[..]).unwrap();
            assert_eq!(p.check_len().is_ok(), ok, "ihl {ihl} total {total}");
        }
        assert!(Packet::new_checked(&buf[..19]).is_err());
    }

    #[test]
    fn fragments_and_flags() {
        let mut buf = [0u8; 20];
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        for (w, frag) in [
            (FLAG_DF, false),
            (FLAG_MF, true),
            (1, true),
            (FLAG_RESERVED, false),
        ] {
            p.set_flags_frag(w);
            assert_eq!(p.is_fragment(), frag, "{w:#x}");
        }
    }

    #[test]
    fn ttl_update_keeps_checksum_valid() {
        let mut buf = [0u8; 24];
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        repr(0).emit(&mut p, &[1, 1, 1, 0]).unwrap();
        for ttl in [0u8, 1, 63, 64, 255] {
            p.set_ttl_updating_checksum(ttl);
            assert!(p.verify_checksum(), "ttl {ttl}");
            assert_eq!(p.ttl(), ttl);
        }
        for v in [0u8, 0xb8, 0xff] {
            p.set_dscp_ecn_updating_checksum(v);
            p.set_flags_frag_updating_checksum(u16::from(v) << 8);
            assert!(p.verify_checksum(), "{v:#x}");
            assert_eq!(
                (p.dscp_ecn(), p.flags_frag(), p.header_len()),
                (v, u16::from(v) << 8, 24)
            );
        }
    }

    #[test]
    fn options_are_framed_like_linux() {
        let ok = |o: &[u8]| -> Vec<u8> { Options::new(o).map(|r| r.unwrap().kind).collect() };
        assert_eq!(ok(&[1, 1, 0x94, 4, 0, 0]), vec![1, 1, 0x94]);
        assert_eq!(ok(&[0, 0xff, 0xff]), Vec::<u8>::new(), "END stops");
        assert_eq!(ok(&[7, 7, 4, 0, 0, 0, 0, 1]), vec![7, 1]);
        let rr = Options::new(&[7, 7, 4, 1, 2, 3, 4])
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(rr.data(), &[4, 1, 2, 3, 4]);
        for bad in [
            &[0x44u8, 0][..],
            &[0x44, 1],
            &[7, 8, 4, 0],
            &[1, 1, 1, 0x44],
        ] {
            let mut it = Options::new(bad);
            assert!(it.any(|r| r == Err(Error::Malformed)), "{bad:?}");
            assert!(it.next().is_none());
        }
    }

    #[test]
    fn address_classes() {
        assert!(is_group([224, 0, 0, 1]) && is_group([239, 1, 1, 1]) && is_group([255; 4]));
        assert!(!is_group([198, 18, 0, 1]) && !is_group([255, 255, 255, 254]));
    }
}
