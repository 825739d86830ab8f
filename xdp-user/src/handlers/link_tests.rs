//! Tests of the link-layer checks [`super::handle`] applies (the Ethernet header itself is
//! `xdp_wire::ethernet`).

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
        let frames = [
            icmp4_request(b"x"),
            udp4_request(b"x"),
            icmp6_request(b"x"),
            udp6_request(b"x"),
            arp_request(PEER_MAC, PEER_V4, OUR_V4),
            ns_to_group(OUR_V6, &sllao(PEER_MAC)),
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
                handle(&mut buf, n, &identity(), NOW),
                Verdict::Drop(DropReason::Truncated)
            );
        }
        // A buffer shorter than the claimed length: we read only what exists.
        let mut small = [0u8; 10];
        assert_eq!(
            handle(&mut small, 64, &identity(), NOW),
            Verdict::Drop(DropReason::Truncated)
        );
    }

    #[test]
    fn reply_len_is_clamped_to_bytes_present_when_len_overstates() {
        // len > buf.len() is a caller bug; we must still neither panic nor over-read.
        let f = icmp4_request(b"abc");
        let mut buf = f.clone();
        assert!(matches!(
            handle(&mut buf, f.len() + 100, &identity(), NOW),
            Verdict::Reply { len, .. } if len == f.len()
        ));
    }
}
