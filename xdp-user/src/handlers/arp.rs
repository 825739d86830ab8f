//! ARP (RFC 826) for Ethernet/IPv4: answer "who-has" requests for our addresses in place,
//! as Linux's `arp_process` / `arp_send_dst` (net/ipv4/arp.c) answer them.
//!
//! Accepted: htype 1 (Ethernet) or 6 (IEEE 802, which Linux accepts on Ethernet too), ptype
//! 0x0800, hlen 6, plen 4, op 1 (request), a unicast sender MAC, a sender IP that is 0.0.0.0
//! (an RFC 5227 probe, which Linux answers) or a usable unicast address other than ours, and
//! a target IP that is ours. ARP replies, other opcodes and gratuitous ARP (spa == tpa) are
//! not answered.
//!
//! The reply is written over the request, as Linux builds it: htype 1, op 2, sha = our MAC,
//! spa = the address asked for, tha = the requester's sha, tpa = the requester's spa (0.0.0.0
//! for a probe), and **the Ethernet destination is the ARP sender hardware address**, not the
//! frame's source (they differ behind MAC-rewriting bridges and proxies).
//! Linux does not check the sender hardware address; we refuse group and all-zero ones
//! (`BadSource`) so that a reply never goes to a group or to nobody.
//! **Reply length: 28 bytes of ARP, 42-byte frame**, whatever padding the request carried; the
//! NIC pads it to the 60-byte minimum as it does for the Linux stack's own ARP replies.

use super::ipv4::is_usable_unicast;
use super::{Answer, DropReason, Identity};
use super::{LinkDst, NetReply};
use xdp_common::proto;
use xdp_wire::ethernet::is_valid_unicast;

use xdp_wire::arp::{HLEN_ETHERNET, PLEN_IPV4};
pub use xdp_wire::arp::{HTYPE_ETHERNET, HTYPE_IEEE802, LEN, OP_REPLY, OP_REQUEST, PTYPE_IPV4};

/// Handles the ARP packet at the start of `pkt` (`received` bytes of it came off the wire).
pub fn handle(pkt: &mut [u8], received: usize, id: &Identity) -> Result<NetReply, DropReason> {
    if !id.enabled(proto::ARP) {
        return Err(DropReason::NotOurs);
    }
    if received < LEN {
        return Err(DropReason::Truncated);
    }
    let bytes = pkt.get_mut(..LEN).ok_or(DropReason::Truncated)?;
    let mut arp = xdp_wire::arp::Packet::new_checked(bytes).map_err(|_| DropReason::Truncated)?;

    if !matches!(arp.htype(), HTYPE_ETHERNET | HTYPE_IEEE802)
        || arp.ptype() != PTYPE_IPV4
        || arp.hlen() != HLEN_ETHERNET
        || arp.plen() != PLEN_IPV4
    {
        return Err(DropReason::Malformed);
    }
    // Replies (op 2) and anything else (RARP, InARP, ...) are not requests we answer.
    if arp.op() != OP_REQUEST {
        return Err(DropReason::Unsupported);
    }
    let (sha, spa, tpa) = (arp.sha(), arp.spa(), arp.tpa());
    if !is_valid_unicast(&sha) {
        return Err(DropReason::BadSource);
    }
    // Gratuitous ARP announces the sender's own address: nothing to answer.
    if spa == tpa {
        return Err(DropReason::Unsupported);
    }
    // 0.0.0.0 is an address probe (RFC 5227) and is answered; other unusable senders, and
    // senders claiming one of our addresses, fail Linux's route check as martians.
    if spa != [0; 4] && (!is_usable_unicast(spa) || id.owns_v4(spa)) {
        return Err(DropReason::BadSource);
    }
    if !id.owns_v4(tpa) {
        return Err(DropReason::NotOurs);
    }

    arp.set_htype(HTYPE_ETHERNET);
    arp.set_op(OP_REPLY);
    arp.set_tha(sha);
    arp.set_tpa(spa);
    arp.set_sha(id.mac);
    arp.set_spa(tpa);
    Ok(NetReply {
        offset: 0,
        len: LEN,
        kind: Answer::Arp,
        dst: LinkDst::Mac(sha),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Answer, DropReason, Verdict};
    use etherparse::{ArpOperation, ArpPacketSlice, EtherType, Ethernet2HeaderSlice};

    /// Checks an ARP reply field by field (re-parsed with etherparse).
    fn check_reply(r: &[u8], to_mac: [u8; 6], to_ip: [u8; 4], for_ip: [u8; 4]) {
        assert_eq!(r.len(), 42);
        let eth = Ethernet2HeaderSlice::from_slice(r).unwrap();
        assert_eq!(eth.destination(), to_mac);
        assert_eq!(eth.source(), OUR_MAC);
        assert_eq!(eth.ether_type(), EtherType::ARP);
        let arp = ArpPacketSlice::from_slice(&r[14..]).unwrap();
        assert_eq!(arp.hw_addr_type(), etherparse::ArpHardwareId::ETHERNET);
        assert_eq!(arp.proto_addr_type(), EtherType::IPV4);
        assert_eq!(arp.hw_addr_size(), 6);
        assert_eq!(arp.proto_addr_size(), 4);
        assert_eq!(arp.operation(), ArpOperation::REPLY);
        assert_eq!(arp.sender_hw_addr(), OUR_MAC);
        assert_eq!(arp.sender_protocol_addr(), for_ip);
        assert_eq!(arp.target_hw_addr(), to_mac);
        assert_eq!(arp.target_protocol_addr(), to_ip);
    }

    #[test]
    fn request_gets_reply_with_all_fields() {
        let req = arp_request(PEER_MAC, PEER_V4, OUR_V4);
        let r = reply(&req, Answer::Arp);
        check_reply(&r, PEER_MAC, PEER_V4, OUR_V4);
        // Byte-exact against an independently built reply.
        let want = arp_frame(
            OUR_MAC,
            ArpOperation::REPLY,
            OUR_MAC,
            OUR_V4,
            PEER_MAC,
            PEER_V4,
        );
        assert_eq!(&r[14..], &want[14..]);
        assert_eq!(&r[..6], &PEER_MAC);
    }

    #[test]
    fn reply_goes_to_the_sender_hardware_address() {
        // arp_send_dst(..., dest_hw = sha, ..., target_hw = sha): the frame's source does not
        // matter (a MAC-rewriting bridge in between).
        let sha = [0x02, 0x12, 0x34, 0x56, 0x78, 0x9a];
        for spa in [PEER_V4, [0; 4]] {
            let mut f = arp_frame(PEER_MAC, ArpOperation::REQUEST, sha, spa, [0; 6], OUR_V4);
            let r = reply(&f, Answer::Arp);
            check_reply(&r, sha, spa, OUR_V4);
            let want = arp_frame(OUR_MAC, ArpOperation::REPLY, OUR_MAC, OUR_V4, sha, spa);
            assert_eq!(&r[14..], &want[14..]);
            // IEEE 802 hardware type (6), which Linux accepts: the reply says Ethernet (1).
            f[15] = 6;
            check_reply(&reply(&f, Answer::Arp), sha, spa, OUR_V4);
        }
    }

    #[test]
    fn zero_sender_hardware_address_is_bad_source() {
        let f = arp_frame(
            PEER_MAC,
            ArpOperation::REQUEST,
            [0; 6],
            PEER_V4,
            [0; 6],
            OUR_V4,
        );
        assert_eq!(run(&f), Verdict::Drop(DropReason::BadSource));
    }

    #[test]
    fn second_address_is_answered_from_that_address() {
        let r = reply(&arp_request(PEER_MAC, PEER_V4, OUR_V4_B), Answer::Arp);
        check_reply(&r, PEER_MAC, PEER_V4, OUR_V4_B);
    }

    #[test]
    fn padded_request_gets_42_byte_reply() {
        let mut req = arp_request(PEER_MAC, PEER_V4, OUR_V4);
        req.resize(60, 0xa5);
        let r = reply(&req, Answer::Arp);
        check_reply(&r, PEER_MAC, PEER_V4, OUR_V4);
    }

    #[test]
    fn probe_from_unspecified_is_answered() {
        // RFC 5227 probe: spa 0.0.0.0; Linux answers with tpa = 0.0.0.0, tha = prober's MAC.
        let r = reply(&arp_request(PEER_MAC, [0; 4], OUR_V4), Answer::Arp);
        check_reply(&r, PEER_MAC, [0; 4], OUR_V4);
    }

    #[test]
    fn request_for_other_address_is_not_ours() {
        assert_eq!(
            run(&arp_request(PEER_MAC, PEER_V4, OTHER_V4)),
            Verdict::Drop(DropReason::NotOurs)
        );
    }

    #[test]
    fn gratuitous_arp_is_unsupported() {
        // Announcement of the peer's own address, and a conflict announcement for ours.
        assert_eq!(
            run(&arp_request(PEER_MAC, PEER_V4, PEER_V4)),
            Verdict::Drop(DropReason::Unsupported)
        );
        assert_eq!(
            run(&arp_request(PEER_MAC, OUR_V4, OUR_V4)),
            Verdict::Drop(DropReason::Unsupported)
        );
    }

    #[test]
    fn arp_reply_is_unsupported() {
        let f = arp_frame(
            PEER_MAC,
            ArpOperation::REPLY,
            PEER_MAC,
            PEER_V4,
            OUR_MAC,
            OUR_V4,
        );
        assert_eq!(run(&f), Verdict::Drop(DropReason::Unsupported));
        let f = arp_frame(
            PEER_MAC,
            ArpOperation(3),
            PEER_MAC,
            PEER_V4,
            OUR_MAC,
            OUR_V4,
        );
        assert_eq!(run(&f), Verdict::Drop(DropReason::Unsupported));
    }

    #[test]
    fn group_sender_hardware_address_is_bad_source() {
        for sha in [[0xff; 6], [0x01, 0, 0x5e, 1, 2, 3]] {
            let f = arp_frame(
                PEER_MAC,
                ArpOperation::REQUEST,
                sha,
                PEER_V4,
                [0; 6],
                OUR_V4,
            );
            assert_eq!(run(&f), Verdict::Drop(DropReason::BadSource));
        }
    }

    #[test]
    fn unusable_sender_ip_is_bad_source() {
        for spa in [
            [255, 255, 255, 255],
            [224, 0, 0, 1],
            [127, 0, 0, 1],
            [0, 1, 2, 3],
            OUR_V4_B, // one of our own addresses, asking for another
        ] {
            assert_eq!(
                run(&arp_request(PEER_MAC, spa, OUR_V4)),
                Verdict::Drop(DropReason::BadSource),
                "{spa:?}"
            );
        }
    }

    #[test]
    fn wrong_hardware_or_protocol_fields_are_malformed() {
        let good = arp_request(PEER_MAC, PEER_V4, OUR_V4);
        for (at, val) in [
            (14, 1u8),
            (15, 7),
            (15, 0),
            (16, 0x86),
            (17, 0xdd),
            (18, 8),
            (19, 16),
        ] {
            let mut f = good.clone();
            f[at] = val;
            assert_eq!(
                run(&f),
                Verdict::Drop(DropReason::Malformed),
                "byte {at} = {val}"
            );
        }
    }

    #[test]
    fn truncated_arp_is_truncated() {
        let good = arp_request(PEER_MAC, PEER_V4, OUR_V4);
        for n in 14..42 {
            assert_eq!(
                run(&good[..n]),
                Verdict::Drop(DropReason::Truncated),
                "len {n}"
            );
        }
    }

    #[test]
    fn switched_off_is_not_ours() {
        let id = identity_with(xdp_common::proto::ALL & !xdp_common::proto::ARP);
        assert_eq!(
            run_with(&arp_request(PEER_MAC, PEER_V4, OUR_V4), &id).0,
            Verdict::Drop(DropReason::NotOurs)
        );
    }
}
