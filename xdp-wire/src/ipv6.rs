//! IPv6 (RFC 8200): the fixed header, the extension header numbers and their generic framing.

use crate::{checksum, get, get_u16, get_u8, put, put_u16, put_u8, rest, rest_mut, view};

/// Field ranges of the fixed IPv6 header.
pub mod field {
    use crate::{Field, Rest};
    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER_TC_FLOW: Field = 0..4;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Field = 8..24;
    pub const DST: Field = 24..40;
    pub const PAYLOAD: Rest = 40..;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// The 20 bits of the flow label.
pub const FLOW_LABEL_MASK: u32 = 0x000f_ffff;

/// Next-header values: the extension headers (RFC 8200 §4, RFC 4302/4303) and the upper layers
/// we look at (the numbers are IP protocol numbers, shared with IPv4).
pub mod next_header {
    pub use crate::ipv4::protocol::{ICMPV6, TCP, UDP};
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const NO_NEXT: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;

    /// Whether `nh` is an extension header rather than an upper-layer protocol.
    #[inline(always)]
    pub const fn is_extension(nh: u8) -> bool {
        matches!(
            nh,
            HOP_BY_HOP | ROUTING | FRAGMENT | ESP | AH | DEST_OPTS | MOBILITY | HIP | SHIM6
        )
    }
}

/// ff02::1, all nodes on the link.
pub const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
/// ::1.
pub const LOOPBACK: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
/// ::.
pub const UNSPECIFIED: [u8; 16] = [0; 16];

#[inline(always)]
pub const fn is_multicast(a: &[u8; 16]) -> bool {
    a[0] == 0xff
}

#[inline(always)]
pub fn is_unspecified(a: &[u8; 16]) -> bool {
    *a == UNSPECIFIED
}

#[inline(always)]
pub fn is_loopback(a: &[u8; 16]) -> bool {
    *a == LOOPBACK
}

/// ::ffff:0:0/96.
#[inline(always)]
pub fn is_v4_mapped(a: &[u8; 16]) -> bool {
    a.get(..12) == Some(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff][..])
}

/// Solicited-node multicast group of `a`: ff02::1:ff00:0/104 + the low 24 bits of `a`.
#[inline(always)]
pub const fn solicited_node(a: &[u8; 16]) -> [u8; 16] {
    [
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, a[13], a[14], a[15],
    ]
}

/// Ethernet address of an IPv6 multicast group: 33:33 + its low 32 bits (RFC 2464 §7).
#[inline(always)]
pub const fn multicast_mac(a: &[u8; 16]) -> [u8; 6] {
    [0x33, 0x33, a[12], a[13], a[14], a[15]]
}

view! {
    /// A typed view of an IPv6 packet.
    pub struct Packet, HEADER_LEN
}

impl<T: AsRef<[u8]>> Packet<T> {
    #[inline(always)]
    pub fn version(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::VER_TC_FLOW.start) >> 4
    }
    #[inline(always)]
    pub fn traffic_class(&self) -> u8 {
        let [a, b, _, _] = get::<4>(self.buffer.as_ref(), field::VER_TC_FLOW.start);
        (a << 4) | (b >> 4)
    }
    #[inline(always)]
    pub fn flow_label(&self) -> u32 {
        u32::from_be_bytes(get(self.buffer.as_ref(), field::VER_TC_FLOW.start)) & FLOW_LABEL_MASK
    }
    #[inline(always)]
    pub fn payload_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::PAYLOAD_LEN)
    }
    #[inline(always)]
    pub fn next_header(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::NEXT_HEADER)
    }
    #[inline(always)]
    pub fn hop_limit(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::HOP_LIMIT)
    }
    #[inline(always)]
    pub fn src(&self) -> [u8; 16] {
        get(self.buffer.as_ref(), field::SRC.start)
    }
    #[inline(always)]
    pub fn dst(&self) -> [u8; 16] {
        get(self.buffer.as_ref(), field::DST.start)
    }
    /// `Truncated` unless the buffer holds `40 + payload length` bytes (more is padding).
    #[inline(always)]
    pub fn check_len(&self) -> Result<(), crate::Error> {
        if HEADER_LEN + usize::from(self.payload_len()) > self.buffer.as_ref().len() {
            Err(crate::Error::Truncated)
        } else {
            Ok(())
        }
    }
    /// The payload: `payload length` bytes after the header (empty unless
    /// [`Self::check_len`] holds).
    #[inline(always)]
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }
    /// Everything after the fixed header, to the end of the buffer, whatever the payload
    /// length says (empty if the buffer ends before).
    #[inline(always)]
    pub fn rest(&self) -> &[u8] {
        rest(self.buffer.as_ref(), field::PAYLOAD)
    }
    /// Pseudo-header sum for an upper-layer message of `len` bytes with this header's addresses.
    #[inline]
    pub fn pseudo_sum(&self, next_header: u8, len: u16) -> u16 {
        checksum::pseudo_v6(&self.src(), &self.dst(), next_header, u32::from(len))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 6, the traffic class and the flow label (its low 20 bits).
    #[inline(always)]
    pub fn set_version_class_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let w = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & FLOW_LABEL_MASK);
        put(
            self.buffer.as_mut(),
            field::VER_TC_FLOW.start,
            w.to_be_bytes(),
        );
    }
    #[inline(always)]
    pub fn set_payload_len(&mut self, len: u16) {
        put_u16(self.buffer.as_mut(), field::PAYLOAD_LEN, len);
    }
    #[inline(always)]
    pub fn set_next_header(&mut self, nh: u8) {
        put_u8(self.buffer.as_mut(), field::NEXT_HEADER, nh);
    }
    #[inline(always)]
    pub fn set_hop_limit(&mut self, hops: u8) {
        put_u8(self.buffer.as_mut(), field::HOP_LIMIT, hops);
    }
    #[inline(always)]
    pub fn set_src(&mut self, a: &[u8; 16]) {
        put(self.buffer.as_mut(), field::SRC.start, *a);
    }
    #[inline(always)]
    pub fn set_dst(&mut self, a: &[u8; 16]) {
        put(self.buffer.as_mut(), field::DST.start, *a);
    }
    /// Everything after the fixed header, to the end of the buffer (the payload and any
    /// room behind it).
    #[inline(always)]
    pub fn rest_mut(&mut self) -> &mut [u8] {
        rest_mut(self.buffer.as_mut(), field::PAYLOAD)
    }
}

/// Field ranges of the generic extension header framing (hop-by-hop, routing, destination
/// options: next header, length in 8-byte units not counting the first 8).
pub mod ext_field {
    pub const NEXT_HEADER: usize = 0;
    pub const LEN: usize = 1;
    /// Smallest extension header.
    pub const MIN_LEN: usize = 8;
}

/// Next header and length in bytes of the extension header at the start of `b`, for the
/// headers with the generic framing (hop-by-hop, routing, destination options); AH counts in
/// 4-byte units (RFC 4302), the fragment header is always 8 bytes. `Truncated` if `b` is
/// shorter than the header.
pub fn ext_header(nh: u8, b: &[u8]) -> Result<(u8, usize), crate::Error> {
    let (&next, rest) = b.split_first().ok_or(crate::Error::Truncated)?;
    let units = usize::from(*rest.first().ok_or(crate::Error::Truncated)?);
    let len = match nh {
        next_header::FRAGMENT => ext_field::MIN_LEN,
        next_header::AH => (units + 2) * 4,
        _ => (units + 1) * 8,
    };
    if b.len() < len {
        return Err(crate::Error::Truncated);
    }
    Ok((next, len))
}

/// The fixed IPv6 header's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub next_header: u8,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
    pub payload_len: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Self {
        Repr {
            src: p.src(),
            dst: p.dst(),
            next_header: p.next_header(),
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
            payload_len: p.payload_len(),
        }
    }
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_version_class_flow(self.traffic_class, self.flow_label);
        p.set_payload_len(self.payload_len);
        p.set_next_header(self.next_header);
        p.set_hop_limit(self.hop_limit);
        p.set_src(&self.src);
        p.set_dst(&self.dst);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use etherparse::{IpNumber, Ipv6FlowLabel, Ipv6Header};

    #[test]
    fn emit_matches_etherparse() {
        let r = Repr {
            src: [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            dst: ALL_NODES,
            next_header: next_header::ICMPV6,
            hop_limit: 255,
            traffic_class: 0xb8,
            flow_label: 0xabcde,
            payload_len: 32,
        };
        let mut buf = [0u8; 72];
        r.emit(&mut Packet::new_checked(&mut buf[..]).unwrap());
        let want = Ipv6Header {
            traffic_class: 0xb8,
            flow_label: Ipv6FlowLabel::try_new(0xabcde).unwrap(),
            payload_length: 32,
            next_header: IpNumber::IPV6_ICMP,
            hop_limit: 255,
            source: r.src,
            destination: r.dst,
        };
        assert_eq!(&buf[..40], &want.to_bytes()[..]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(Repr::parse(&p), r);
        assert_eq!(p.check_len(), Ok(()));
        assert_eq!(p.payload().len(), 32);
        assert_eq!(p.rest().len(), 32);
        assert_eq!(Packet::new_unchecked(&buf[..41]).rest().len(), 1);
        assert!(Packet::new_unchecked(&buf[..39]).rest().is_empty());
        assert_eq!(
            Packet::new_checked(&buf[..71]).unwrap().check_len(),
            Err(crate::Error::Truncated)
        );
    }

    #[test]
    fn extension_headers() {
        assert!(next_header::is_extension(0) && next_header::is_extension(44));
        assert!(!next_header::is_extension(58) && !next_header::is_extension(17));
        assert_eq!(ext_header(0, &[58, 0, 1, 4, 0, 0, 0, 0]), Ok((58, 8)));
        assert_eq!(
            ext_header(60, &[17, 1, 0, 0, 0, 0, 0, 0]),
            Err(crate::Error::Truncated)
        );
        assert_eq!(
            ext_header(51, &[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Ok((17, 12))
        );
        assert_eq!(ext_header(44, &[17, 200, 0, 0, 0, 0, 0, 0]), Ok((17, 8)));
        assert_eq!(ext_header(0, &[58]), Err(crate::Error::Truncated));
    }

    #[test]
    fn address_helpers() {
        let a = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0xef];
        let g = solicited_node(&a);
        assert_eq!(
            g,
            [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xab, 0xcd, 0xef]
        );
        assert_eq!(multicast_mac(&g), [0x33, 0x33, 0xff, 0xab, 0xcd, 0xef]);
        assert!(is_multicast(&g) && !is_multicast(&a));
        let mut m = [0u8; 16];
        m[10..].copy_from_slice(&[0xff, 0xff, 192, 0, 2, 1]);
        assert!(is_v4_mapped(&m) && !is_v4_mapped(&a));
        assert!(is_loopback(&LOOPBACK) && is_unspecified(&[0; 16]));
    }
}
