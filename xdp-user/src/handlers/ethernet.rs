//! Ethernet II: validate the link header, dispatch by EtherType, address the reply.
//!
//! The network-layer handlers see the frame after the 14-byte header and return a
//! [`NetReply`]; this module then writes the reply's MAC addresses (destination = the
//! requester's source MAC unless the handler names another, source = our MAC) and adds the
//! header length. VLAN-tagged frames (802.1Q, 802.1ad, the old 0x9100 QinQ tag) are not
//! answered: the XDP program passes them to the kernel, and replying untagged would be wrong.
//!
//! Link-layer address checks, as Linux applies them before any protocol sees a frame:
//! * the destination MAC must be ours or a group address: a unicast frame for another host
//!   (seen in promiscuous mode, on a mirror port or a veth) is `NotOurs`, as Linux drops
//!   `PACKET_OTHERHOST` frames in `ip_rcv` / `ipv6_rcv` / `arp_rcv`;
//! * the source MAC must be a valid unicast address, where the reply can go: a group address
//!   or 00:00:00:00:00:00 is `BadSource` (we never reflect a reply to a group).

use super::{arp, ipv4, ipv6, Answer, DropReason, Identity};

/// Length of the Ethernet II header (no FCS: the NIC strips it on receive, adds it on send).
pub const HEADER_LEN: usize = 14;

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
}

/// Whether a MAC address is a group (multicast or broadcast) address: I/G bit set.
#[inline]
pub fn is_group(mac: &[u8; 6]) -> bool {
    mac[0] & 0x01 != 0
}

/// Whether a MAC address can be the destination of a reply: unicast and not all-zero
/// (Linux's `is_valid_ether_addr`).
#[inline]
pub fn is_valid_unicast(mac: &[u8; 6]) -> bool {
    !is_group(mac) && *mac != [0; 6]
}

/// Where the reply goes on the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkDst {
    /// Back to the source MAC of the request (IP answers).
    Requester,
    /// To this MAC: the ARP sender hardware address, the NS source link-layer address, or
    /// all-nodes for an NA answering Duplicate Address Detection.
    Mac([u8; 6]),
}

/// What a network-layer handler produced: the reply is the first `len` bytes after the
/// Ethernet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetReply {
    pub len: usize,
    pub kind: Answer,
    pub dst: LinkDst,
}

/// Typed view of the Ethernet II header.
pub struct EthernetHeader<'a>(&'a mut [u8; HEADER_LEN]);

impl<'a> EthernetHeader<'a> {
    pub fn new(bytes: &'a mut [u8; HEADER_LEN]) -> Self {
        Self(bytes)
    }
    pub fn dst(&self) -> [u8; 6] {
        let h = &*self.0;
        [h[0], h[1], h[2], h[3], h[4], h[5]]
    }
    pub fn src(&self) -> [u8; 6] {
        let h = &*self.0;
        [h[6], h[7], h[8], h[9], h[10], h[11]]
    }
    pub fn ethertype(&self) -> u16 {
        u16::from_be_bytes([self.0[12], self.0[13]])
    }
    pub fn set_dst(&mut self, mac: [u8; 6]) {
        self.0[0..6].copy_from_slice(&mac);
    }
    pub fn set_src(&mut self, mac: [u8; 6]) {
        self.0[6..12].copy_from_slice(&mac);
    }
}

/// Handle one frame: `buf` is the whole frame buffer, the first `len` bytes were received.
/// Returns the reply length (Ethernet header included) and kind.
pub fn handle(buf: &mut [u8], len: usize, id: &Identity) -> Result<(usize, Answer), DropReason> {
    // `len` can only exceed the buffer through a caller bug; trust the bytes we have.
    let received = len.min(buf.len());
    let (hdr, rest) = buf
        .split_at_mut_checked(HEADER_LEN)
        .ok_or(DropReason::Truncated)?;
    let hdr: &mut [u8; HEADER_LEN] = hdr.try_into().map_err(|_| DropReason::Truncated)?;
    let net_received = received
        .checked_sub(HEADER_LEN)
        .ok_or(DropReason::Truncated)?;
    let mut eth = EthernetHeader::new(hdr);

    let requester = eth.src();
    if !is_valid_unicast(&requester) {
        return Err(DropReason::BadSource);
    }
    // A unicast frame for another host's MAC: Linux drops it (PACKET_OTHERHOST), so do we.
    let dst = eth.dst();
    if !is_group(&dst) && dst != id.mac {
        return Err(DropReason::NotOurs);
    }
    let reply = match eth.ethertype() {
        ethertype::ARP => arp::handle(rest, net_received, id)?,
        ethertype::IPV4 => ipv4::handle(rest, net_received, id)?,
        ethertype::IPV6 => ipv6::handle(rest, net_received, id)?,
        // A reply would have to carry the tag; the XDP program leaves tagged traffic to the kernel.
        ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => {
            return Err(DropReason::Unsupported)
        }
        // Everything else (LLDP, 802.3 length fields, ...) is not ours to answer either.
        _ => return Err(DropReason::Unsupported),
    };
    eth.set_dst(match reply.dst {
        LinkDst::Requester => requester,
        LinkDst::Mac(mac) => mac,
    });
    eth.set_src(id.mac);
    Ok((HEADER_LEN + reply.len, reply.kind))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{handle, Answer, DropReason, Verdict};
    use etherparse::{PacketBuilder, VlanId};

    #[test]
    fn vlan_tagged_frames_are_unsupported() {
        // A perfectly valid ICMP echo to us, but 802.1Q-tagged.
        let frame = {
            let b = PacketBuilder::ethernet2(PEER_MAC, OUR_MAC)
                .single_vlan(VlanId::try_new(42).unwrap())
                .ipv4(PEER_V4, OUR_V4, 64)
                .icmpv4_echo_request(1, 1);
            let mut v = Vec::new();
            b.write(&mut v, b"ping").unwrap();
            v
        };
        assert_eq!(run(&frame), Verdict::Drop(DropReason::Unsupported));
        // QinQ and the legacy tag too.
        for tpid in [0x88a8u16, 0x9100] {
            let mut f = frame.clone();
            f[12..14].copy_from_slice(&tpid.to_be_bytes());
            assert_eq!(run(&f), Verdict::Drop(DropReason::Unsupported));
        }
    }

    #[test]
    fn unknown_ethertype_and_8023_length_are_unsupported() {
        let mut f = icmp4_request(&[1, 2, 3]);
        f[12..14].copy_from_slice(&0x88ccu16.to_be_bytes()); // LLDP
        assert_eq!(run(&f), Verdict::Drop(DropReason::Unsupported));
        f[12..14].copy_from_slice(&0x0040u16.to_be_bytes()); // 802.3 length
        assert_eq!(run(&f), Verdict::Drop(DropReason::Unsupported));
    }

    #[test]
    fn group_source_mac_is_bad_source() {
        for src in [
            [0xff; 6],
            [0x01, 0x00, 0x5e, 0, 0, 1],
            [0x33, 0x33, 0, 0, 0, 1],
        ] {
            let mut f = icmp4_request(b"x");
            f[6..12].copy_from_slice(&src);
            assert_eq!(run(&f), Verdict::Drop(DropReason::BadSource));
            let mut f = arp_request(PEER_MAC, PEER_V4, OUR_V4);
            f[6..12].copy_from_slice(&src);
            assert_eq!(run(&f), Verdict::Drop(DropReason::BadSource));
        }
    }

    #[test]
    fn zero_source_mac_is_bad_source() {
        let mut f = icmp4_request(b"x");
        f[6..12].copy_from_slice(&[0; 6]);
        assert_eq!(run(&f), Verdict::Drop(DropReason::BadSource));
        let mut f = arp_request(PEER_MAC, PEER_V4, OUR_V4);
        f[6..12].copy_from_slice(&[0; 6]);
        assert_eq!(run(&f), Verdict::Drop(DropReason::BadSource));
    }

    #[test]
    fn unicast_frames_for_another_mac_are_not_ours() {
        // Linux drops PACKET_OTHERHOST frames before IP, ARP or NDP see them; a responder in
        // promiscuous mode (or on a veth, which does not filter) must not answer them either.
        let other = [0x02, 0x99, 0x99, 0x99, 0x99, 0x99];
        let g = solicited_node(OUR_V6);
        let frames = [
            icmp4_request(b"x"),
            udp4_request(b"x"),
            icmp6_request(b"x"),
            udp6_request(b"x"),
            arp_request(PEER_MAC, PEER_V4, OUR_V4),
            ns_frame(
                v6_multicast_mac(g),
                PEER_V6,
                g,
                255,
                OUR_V6,
                &sllao(PEER_MAC),
            ),
        ];
        for f in frames {
            let mut g = f.clone();
            g[..6].copy_from_slice(&other);
            assert_eq!(
                run(&g),
                Verdict::Drop(DropReason::NotOurs),
                "{:02x?}",
                &f[12..14]
            );
        }
    }

    #[test]
    fn group_destination_mac_with_our_ip_is_answered() {
        // Linux answers a unicast IP in an L2 broadcast/multicast frame
        // (net.ipv4.conf.*.drop_unicast_in_l2_multicast defaults to 0).
        for dst in [
            BROADCAST_MAC,
            [0x01, 0x00, 0x5e, 0, 0, 1],
            [0x33, 0x33, 0, 0, 0, 1],
        ] {
            let mut f = icmp4_request(b"bcast");
            f[..6].copy_from_slice(&dst);
            reply(&f, Answer::Icmp4Echo);
            let mut f = icmp6_request(b"mcast");
            f[..6].copy_from_slice(&dst);
            reply(&f, Answer::Icmp6Echo);
        }
        // A unicast ARP request straight to our MAC (as Linux sends to refresh an entry).
        let mut f = arp_request(PEER_MAC, PEER_V4, OUR_V4);
        f[..6].copy_from_slice(&OUR_MAC);
        reply(&f, Answer::Arp);
    }

    #[test]
    fn short_headers_are_truncated() {
        for n in 0..14 {
            let mut buf = [0u8; 14];
            assert_eq!(
                handle(&mut buf, n, &identity()),
                Verdict::Drop(DropReason::Truncated)
            );
        }
        // A buffer shorter than the claimed length: we read only what exists.
        let mut small = [0u8; 10];
        assert_eq!(
            handle(&mut small, 64, &identity()),
            Verdict::Drop(DropReason::Truncated)
        );
    }

    #[test]
    fn reply_len_is_clamped_to_bytes_present_when_len_overstates() {
        // len > buf.len() is a caller bug; we must still neither panic nor over-read.
        let f = icmp4_request(b"abc");
        let mut buf = f.clone();
        assert!(matches!(
            handle(&mut buf, f.len() + 100, &identity()),
            Verdict::Reply { len, .. } if len == f.len()
        ));
    }
}
