//! Neighbor Discovery (RFC 4861): answer Neighbor Solicitations for our addresses with a
//! Neighbor Advertisement, written in place over the solicitation.
//!
//! Checks, in order (first failure wins), following RFC 4861 §7.1.1 and Linux `ndisc_recv_ns`:
//! * NDP switched on (`NotOurs`); hop limit 255 (`Unsupported`: it did not come from the link);
//! * at least 24 bytes (`Truncated`), code 0 (`Malformed`), checksum (`BadChecksum`);
//! * target not multicast (`Malformed`) and one of ours (`NotOurs`);
//! * destination the target itself or its solicited-node group (`BadDestination`);
//! * options well-formed: none of length 0, none past the end (`Malformed`);
//! * DAD (source `::`): destination must be the solicited-node group (`BadDestination`) and no
//!   source link-layer address option may be present (`Malformed`).
//!
//! The reply (payload length 32, hop limit 255, traffic class and flow label 0, source = the
//! target) is a 24-byte NA header plus a Target Link-Layer Address option with our MAC:
//! * to a unicast solicitor: destination = its address and Ethernet source, flags S|O;
//! * to DAD: destination ff02::1 / 33:33:00:00:00:01, flag O only (RFC 4861 §7.2.4).
//!
//! The reply is 86 bytes and can be longer than the solicitation (a 78-byte NS without
//! options): if the frame buffer cannot hold it, `TooBig`.

use super::checksum;
use super::ethernet::{LinkDst, NetReply};
use super::ipv6::{is_multicast, is_unspecified, Ipv6Header, HEADER_LEN, NEXT_ICMPV6};
use super::{Answer, DropReason, Identity};
use xdp_common::proto;

pub const TYPE_NEIGHBOR_SOLICITATION: u8 = 135;
pub const TYPE_NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// NDP messages must arrive, and are sent, with this hop limit.
pub const HOP_LIMIT: u8 = 255;
/// NS header: type, code, checksum, reserved, target address.
pub const NS_LEN: usize = 24;
/// The NA we send: 24-byte header + one 8-byte Target Link-Layer Address option.
pub const NA_LEN: usize = 32;
pub const OPT_SOURCE_LLADDR: u8 = 1;
pub const OPT_TARGET_LLADDR: u8 = 2;
pub const NA_FLAG_SOLICITED: u8 = 0x40;
pub const NA_FLAG_OVERRIDE: u8 = 0x20;
/// ff02::1, all nodes on the link.
pub const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
/// Ethernet address of ff02::1 (RFC 2464 §7).
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 0x01];

/// Solicited-node multicast group of `a`: ff02::1:ff00:0/104 + the low 24 bits of `a`.
pub fn solicited_node(a: &[u8; 16]) -> [u8; 16] {
    [
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, a[13], a[14], a[15],
    ]
}

/// Walks the options after the NS header. Returns whether a Source Link-Layer Address option
/// is present; `Malformed` for an option of length 0 or one running past the message.
fn scan_options(mut opts: &[u8]) -> Result<bool, DropReason> {
    let mut has_sllao = false;
    while !opts.is_empty() {
        let [kind, units, ..] = *opts else {
            return Err(DropReason::Malformed);
        };
        let len = usize::from(units) * 8;
        if len == 0 {
            return Err(DropReason::Malformed);
        }
        let (_, rest) = opts.split_at_checked(len).ok_or(DropReason::Malformed)?;
        has_sllao |= kind == OPT_SOURCE_LLADDR;
        opts = rest;
    }
    Ok(has_sllao)
}

/// Handles the Neighbor Solicitation of `plen` bytes at the start of `room`; `room` runs on to
/// the end of the frame buffer and receives the 32-byte advertisement.
pub fn handle(
    ip: &mut Ipv6Header,
    room: &mut [u8],
    plen: u16,
    id: &Identity,
) -> Result<NetReply, DropReason> {
    if !id.enabled(proto::NDP) {
        return Err(DropReason::NotOurs);
    }
    if ip.hop_limit() != HOP_LIMIT {
        return Err(DropReason::Unsupported);
    }
    let msg = room.get(..usize::from(plen)).ok_or(DropReason::Truncated)?;
    let (ns, options) = msg
        .split_first_chunk::<NS_LEN>()
        .ok_or(DropReason::Truncated)?;
    if ns[1] != 0 {
        return Err(DropReason::Malformed);
    }
    if !checksum::verifies(checksum::add(
        ip.pseudo_sum(NEXT_ICMPV6, plen),
        checksum::sum(msg),
    )) {
        return Err(DropReason::BadChecksum);
    }
    let mut target = [0u8; 16];
    target.copy_from_slice(&ns[8..24]);
    if is_multicast(&target) {
        return Err(DropReason::Malformed);
    }
    if !id.owns_v6(&target) {
        return Err(DropReason::NotOurs);
    }
    let (src, dst) = (ip.src(), ip.dst());
    let group = solicited_node(&target);
    if dst != target && dst != group {
        return Err(DropReason::BadDestination);
    }
    let has_sllao = scan_options(options)?;
    let dad = is_unspecified(&src);
    if dad && dst != group {
        return Err(DropReason::BadDestination);
    }
    if dad && has_sllao {
        return Err(DropReason::Malformed);
    }

    let (reply_dst, link_dst, flags) = if dad {
        (ALL_NODES, LinkDst::Mac(ALL_NODES_MAC), NA_FLAG_OVERRIDE)
    } else {
        (
            src,
            LinkDst::Requester,
            NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
        )
    };
    let na = room.first_chunk_mut::<NA_LEN>().ok_or(DropReason::TooBig)?;
    // Type, code, checksum (filled in below), R|S|O flags + reserved, target, TLLAO.
    na[..8].copy_from_slice(&[TYPE_NEIGHBOR_ADVERTISEMENT, 0, 0, 0, flags, 0, 0, 0]);
    na[8..24].copy_from_slice(&target);
    na[24..26].copy_from_slice(&[OPT_TARGET_LLADDR, 1]);
    na[26..].copy_from_slice(&id.mac);

    ip.reset_version_class_flow();
    ip.set_payload_len(NA_LEN as u16);
    ip.set_hop_limit(HOP_LIMIT);
    ip.set_src(&target);
    ip.set_dst(&reply_dst);
    let c = checksum::finish(checksum::add(
        ip.pseudo_sum(NEXT_ICMPV6, NA_LEN as u16),
        checksum::sum(na),
    ));
    na[2..4].copy_from_slice(&c.to_be_bytes());
    Ok(NetReply {
        len: HEADER_LEN + NA_LEN,
        kind: Answer::Ndp,
        dst: link_dst,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{handle, Answer, DropReason, Verdict};
    use etherparse::icmpv6::NeighborAdvertisementHeader;
    use etherparse::{Icmpv6Slice, Icmpv6Type, Ipv6HeaderSlice, PacketBuilder};

    /// The NA we expect, built independently with etherparse.
    fn expected_na(eth_dst: [u8; 6], dst: [u8; 16], target: [u8; 16], solicited: bool) -> Vec<u8> {
        let mut payload = target.to_vec();
        payload.extend_from_slice(&[2, 1]);
        payload.extend_from_slice(&OUR_MAC);
        let mut v = Vec::new();
        PacketBuilder::ethernet2(OUR_MAC, eth_dst)
            .ipv6(target, dst, 255)
            .icmpv6(Icmpv6Type::NeighborAdvertisement(
                NeighborAdvertisementHeader {
                    router: false,
                    solicited,
                    r#override: true,
                },
            ))
            .write(&mut v, &payload)
            .unwrap();
        v
    }

    fn drop_reason(frame: &[u8]) -> DropReason {
        match run(frame) {
            Verdict::Drop(r) => r,
            v => panic!("expected a drop, got {v:?}"),
        }
    }

    /// Field-by-field check of an NA reply.
    fn check_na(r: &[u8], dst: [u8; 16], target: [u8; 16], flags: u8) {
        assert_eq!(r.len(), 86);
        let ip = Ipv6HeaderSlice::from_slice(&r[14..]).unwrap();
        assert_eq!(ip.version(), 6);
        assert_eq!((ip.traffic_class(), ip.flow_label().value()), (0, 0));
        assert_eq!(ip.payload_length(), 32);
        assert_eq!(ip.next_header(), etherparse::IpNumber::IPV6_ICMP);
        assert_eq!(ip.hop_limit(), 255);
        assert_eq!(ip.source(), target);
        assert_eq!(ip.destination(), dst);
        let icmp = Icmpv6Slice::from_slice(&r[54..]).unwrap();
        assert_eq!((icmp.type_u8(), icmp.code_u8()), (136, 0));
        assert!(icmp.is_checksum_valid(target, dst));
        assert_eq!(icmp.bytes5to8(), [flags, 0, 0, 0]);
        assert_eq!(&r[62..78], &target, "target address");
        assert_eq!(&r[78..80], &[2, 1], "TLLAO type/length");
        assert_eq!(&r[80..86], &OUR_MAC, "TLLAO address");
    }

    #[test]
    fn ns_from_unicast_with_sllao_to_solicited_node() {
        let req = ns_request(OUR_V6);
        assert_eq!(req.len(), 86);
        let r = reply(&req, Answer::Ndp);
        check_na(&r, PEER_V6, OUR_V6, 0x60);
        assert_eq!(&r[..6], &PEER_MAC);
        assert_eq!(r, expected_na(PEER_MAC, PEER_V6, OUR_V6, true));
    }

    #[test]
    fn ns_to_the_target_itself_without_options_grows_the_frame() {
        // NUD probe: unicast to the target, no options: 78 bytes in, 86 out.
        let req = ns_frame(OUR_MAC, PEER_V6, OUR_V6_LL, 255, OUR_V6_LL, &[]);
        assert_eq!(req.len(), 78);
        let r = reply(&req, Answer::Ndp);
        check_na(&r, PEER_V6, OUR_V6_LL, 0x60);
        assert_eq!(r, expected_na(PEER_MAC, PEER_V6, OUR_V6_LL, true));
    }

    #[test]
    fn dad_gets_all_nodes_advertisement() {
        let g = solicited_node(OUR_V6);
        let req = ns_frame(v6_multicast_mac(g), [0; 16], g, 255, OUR_V6, &[]);
        let r = reply(&req, Answer::Ndp);
        check_na(&r, ALL_NODES, OUR_V6, 0x20);
        assert_eq!(&r[..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(
            r,
            expected_na([0x33, 0x33, 0, 0, 0, 1], ALL_NODES, OUR_V6, false)
        );
        // With a nonce option (RFC 7527) too.
        let req = ns_frame(
            v6_multicast_mac(g),
            [0; 16],
            g,
            255,
            OUR_V6,
            &[14, 1, 1, 2, 3, 4, 5, 6],
        );
        check_na(&reply(&req, Answer::Ndp), ALL_NODES, OUR_V6, 0x20);
    }

    #[test]
    fn dad_rules() {
        let g = solicited_node(OUR_V6);
        // DAD must go to the solicited-node group ...
        let f = ns_frame(OUR_MAC, [0; 16], OUR_V6, 255, OUR_V6, &[]);
        assert_eq!(drop_reason(&f), DropReason::BadDestination);
        // ... and must not carry a source link-layer address.
        let f = ns_frame(
            v6_multicast_mac(g),
            [0; 16],
            g,
            255,
            OUR_V6,
            &sllao(PEER_MAC),
        );
        assert_eq!(drop_reason(&f), DropReason::Malformed);
    }

    #[test]
    fn wrong_target_is_not_ours() {
        let g = solicited_node(OTHER_V6);
        let f = ns_frame(
            v6_multicast_mac(g),
            PEER_V6,
            g,
            255,
            OTHER_V6,
            &sllao(PEER_MAC),
        );
        assert_eq!(drop_reason(&f), DropReason::NotOurs);
    }

    #[test]
    fn multicast_target_is_malformed() {
        let f = ns_frame(OUR_MAC, PEER_V6, ALL_NODES, 255, ALL_NODES, &[]);
        assert_eq!(drop_reason(&f), DropReason::Malformed);
    }

    #[test]
    fn hop_limit_other_than_255_is_unsupported() {
        for hl in [64, 254, 1] {
            let g = solicited_node(OUR_V6);
            let f = ns_frame(
                v6_multicast_mac(g),
                PEER_V6,
                g,
                hl,
                OUR_V6,
                &sllao(PEER_MAC),
            );
            assert_eq!(drop_reason(&f), DropReason::Unsupported, "hop limit {hl}");
        }
    }

    #[test]
    fn wrong_destination_is_bad_destination() {
        // All-nodes, another solicited-node group, another unicast address of ours.
        for dst in [ALL_NODES, solicited_node(OTHER_V6), OUR_V6_LL] {
            let f = ns_frame(OUR_MAC, PEER_V6, dst, 255, OUR_V6, &sllao(PEER_MAC));
            assert_eq!(drop_reason(&f), DropReason::BadDestination, "{dst:02x?}");
        }
    }

    #[test]
    fn bad_checksum() {
        let mut f = ns_request(OUR_V6);
        f[56] ^= 0xff;
        assert_eq!(drop_reason(&f), DropReason::BadChecksum);
        // The target is covered too.
        let mut f = ns_request(OUR_V6);
        f[77] ^= 1;
        assert_eq!(drop_reason(&f), DropReason::BadChecksum);
    }

    #[test]
    fn bad_options_are_malformed() {
        let g = solicited_node(OUR_V6);
        for opts in [
            &[1u8, 0, 0, 0, 0, 0, 0, 0][..],  // length 0
            &[1, 2, 1, 2, 3, 4, 5, 6][..],    // runs past the end
            &[1, 1, 1, 2, 3, 4, 5, 6, 9][..], // one stray byte after a good option
        ] {
            let f = ns_frame(v6_multicast_mac(g), PEER_V6, g, 255, OUR_V6, opts);
            assert_eq!(drop_reason(&f), DropReason::Malformed, "{opts:?}");
        }
    }

    #[test]
    fn nonzero_code_is_malformed() {
        let mut f = ns_request(OUR_V6);
        f[55] = 1;
        fix_v6_l4_checksum(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Malformed);
    }

    #[test]
    fn short_ns_is_truncated() {
        // Cut the message (and the payload length) below 24 bytes.
        for plen in 8..24u16 {
            let mut f = ns_request(OUR_V6);
            f.truncate(54 + usize::from(plen));
            f[18..20].copy_from_slice(&plen.to_be_bytes());
            fix_v6_l4_checksum(&mut f);
            assert_eq!(drop_reason(&f), DropReason::Truncated, "ICMP length {plen}");
        }
    }

    #[test]
    fn reply_that_does_not_fit_is_too_big() {
        let req = ns_frame(OUR_MAC, PEER_V6, OUR_V6, 255, OUR_V6, &[]);
        for size in 78..86 {
            let mut buf = req.clone();
            buf.resize(size, 0);
            assert_eq!(
                handle(&mut buf, 78, &identity()),
                Verdict::Drop(DropReason::TooBig),
                "buffer {size}"
            );
        }
        let mut buf = req.clone();
        buf.resize(86, 0);
        assert_eq!(
            handle(&mut buf, 78, &identity()),
            Verdict::Reply {
                len: 86,
                kind: Answer::Ndp
            }
        );
    }

    #[test]
    fn switched_off_is_not_ours() {
        let id = identity_with(xdp_common::proto::ALL & !xdp_common::proto::NDP);
        assert_eq!(
            run_with(&ns_request(OUR_V6), &id).0,
            Verdict::Drop(DropReason::NotOurs)
        );
    }
}
