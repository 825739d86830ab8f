//! Neighbor Discovery (RFC 4861): answer Neighbor Solicitations for our addresses with a
//! Neighbor Advertisement, written in place over the solicitation, as Linux's
//! `ndisc_recv_ns` / `ndisc_send_na` (net/ipv6/ndisc.c) answer them.
//!
//! Checks, in order (first failure wins):
//! * NDP switched on (`NotOurs`); hop limit 255 (`Unsupported`: it did not come from the link);
//! * at least 24 bytes (`Truncated`), code 0 (`Malformed`), checksum (`BadChecksum`);
//! * target not multicast (`Malformed`) and one of ours (`NotOurs`);
//! * destination one of our addresses or a group we would be in: all-nodes or the
//!   solicited-node group of one of our addresses (`BadDestination`; Linux's IPv6 input
//!   drops the rest);
//! * options as `ndisc_parse_options` wants them: none of length 0, none past the end
//!   (`Malformed`); a source link-layer address option must be 8 bytes long, the length of
//!   an Ethernet address option (`ndisc_opt_addr_data`; `Malformed`) and carry a unicast
//!   MAC (`BadSource`: Linux does not check it, but we never answer to a group); when it
//!   appears twice the first one counts, as in Linux;
//! * DAD (source `::`): destination a solicited-node group (`BadDestination`) and no source
//!   link-layer address option (`Malformed`);
//! * a multicast solicitation from a unicast source without a source link-layer address:
//!   `Unsupported` (Linux answers it only when it already has a neighbour entry for the
//!   source, which a responder without a neighbour cache cannot know).
//!
//! The reply: hop limit 255, traffic class and flow label 0, source = the target. As Linux:
//! * to DAD: destination ff02::1 / 33:33:00:00:00:01, flag O, a Target Link-Layer Address
//!   option (32-byte NA);
//! * to a multicast solicitation: destination = the solicitor, flags S|O, the target
//!   link-layer address option (32 bytes);
//! * to a unicast solicitation: destination = the solicitor, flag S only and no option
//!   (24 bytes), whether or not the solicitation carried a source link-layer address.
//!
//! On the link the NA goes to the MAC in the source link-layer address option when there is
//! one (Linux records it in its neighbour entry and sends there), else to the frame's source
//! (where Linux would first resolve the solicitor with an NS of its own).
//! Only the answer to a DAD solicitation without options is longer than the request (78 bytes
//! in, 86 out): if the frame buffer cannot hold it, `TooBig`.

use super::{Answer, DropReason, Identity, LinkDst, NetReply};
use xdp_common::proto;
use xdp_wire::checksum;
use xdp_wire::ethernet::is_valid_unicast;
use xdp_wire::ipv6::{self, is_multicast, is_unspecified, next_header};
use xdp_wire::ndp::{self, option, NaRepr, FLAG_OVERRIDE, FLAG_SOLICITED};

pub use xdp_wire::icmp::v6::NEIGHBOR_SOLICITATION as TYPE_NEIGHBOR_SOLICITATION;
pub use xdp_wire::ipv6::{solicited_node, ALL_NODES};
pub use xdp_wire::ndp::HOP_LIMIT;
/// Ethernet address of ff02::1 (RFC 2464 §7).
pub const ALL_NODES_MAC: [u8; 6] = ipv6::multicast_mac(&ALL_NODES);

/// Walks the options after the NS header (`ndisc_parse_options`). Returns the MAC of the first
/// Source Link-Layer Address option, if any; `Malformed` for an option of length 0, one
/// running past the message, or a source link-layer address option that is not 8 bytes.
fn scan_options(opts: ndp::Options<'_>) -> Result<Option<[u8; 6]>, DropReason> {
    let mut sllao = None;
    for opt in opts {
        let opt = opt.map_err(|_| DropReason::Malformed)?;
        if opt.kind == option::SOURCE_LLADDR {
            let mac = opt.lladdr().ok_or(DropReason::Malformed)?;
            sllao.get_or_insert(mac);
        }
    }
    Ok(sllao)
}

/// Handles the Neighbor Solicitation of `plen` bytes at the start of `room`; `room` runs on to
/// the end of the frame buffer and receives the advertisement.
pub fn handle(
    ip: &mut ipv6::Packet<&mut [u8]>,
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
    let ns = ndp::Packet::new_checked(msg).map_err(|_| DropReason::Truncated)?;
    if ns.icmp().code() != 0 {
        return Err(DropReason::Malformed);
    }
    if !ns
        .icmp()
        .verify_checksum(ip.pseudo_sum(next_header::ICMPV6, plen))
    {
        return Err(DropReason::BadChecksum);
    }
    let target = ns.target();
    if is_multicast(&target) {
        return Err(DropReason::Malformed);
    }
    if !id.owns_v6(&target) {
        return Err(DropReason::NotOurs);
    }
    let (src, dst) = (ip.src(), ip.dst());
    let multicast = is_multicast(&dst);
    let our_group = dst == ALL_NODES || id.v6.iter().any(|a| solicited_node(&a.octets()) == dst);
    if !(id.owns_v6(&dst) || our_group) {
        return Err(DropReason::BadDestination);
    }
    let sllao = scan_options(ns.options())?;
    let dad = is_unspecified(&src);
    // DAD goes to a solicited-node group (of ours, by the check above).
    if dad && !(multicast && dst != ALL_NODES) {
        return Err(DropReason::BadDestination);
    }
    if let Some(mac) = sllao {
        if dad {
            return Err(DropReason::Malformed);
        }
        if !is_valid_unicast(&mac) {
            return Err(DropReason::BadSource);
        }
    } else if multicast && !dad {
        return Err(DropReason::Unsupported);
    }

    // (destination, link destination, flags, with a target link-layer address option)
    let (reply_dst, link_dst, flags, tllao) = if dad {
        (ALL_NODES, LinkDst::Mac(ALL_NODES_MAC), FLAG_OVERRIDE, true)
    } else {
        let link = sllao.map_or(LinkDst::Requester, LinkDst::Mac);
        if multicast {
            (src, link, FLAG_SOLICITED | FLAG_OVERRIDE, true)
        } else {
            (src, link, FLAG_SOLICITED, false)
        }
    };
    let na = NaRepr {
        flags,
        target,
        target_lladdr: tllao.then_some(id.mac),
    };
    let na_len = na.msg_len();
    let pseudo = checksum::pseudo_v6(&target, &reply_dst, next_header::ICMPV6, na_len as u32);
    // Nothing is written unless the advertisement fits.
    na.emit(&mut ndp::Packet::new_unchecked(room), pseudo)
        .map_err(|_| DropReason::TooBig)?;

    ip.set_version_class_flow(0, 0);
    ip.set_payload_len(na_len as u16);
    ip.set_hop_limit(HOP_LIMIT);
    ip.set_src(&target);
    ip.set_dst(&reply_dst);
    Ok(NetReply {
        offset: 0,
        len: ipv6::HEADER_LEN + na_len,
        kind: Answer::Ndp,
        dst: link_dst,
    })
}
#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{handle, Answer, DropReason, Verdict};
    use super::ALL_NODES_MAC;
    use etherparse::icmpv6::NeighborAdvertisementHeader;
    use etherparse::{Icmpv6Slice, Icmpv6Type, Ipv6HeaderSlice, PacketBuilder};

    /// An NA from us to `eth_dst`/`dst` for `target` with the solicited and override flags
    /// and `body` after the header (the target address, then any options), built
    /// independently with etherparse.
    fn etherparse_na(
        eth_dst: [u8; 6],
        dst: [u8; 16],
        target: [u8; 16],
        (solicited, r#override): (bool, bool),
        body: &[u8],
    ) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(OUR_MAC, eth_dst)
            .ipv6(target, dst, 255)
            .icmpv6(Icmpv6Type::NeighborAdvertisement(
                NeighborAdvertisementHeader {
                    router: false,
                    solicited,
                    r#override,
                },
            ))
            .write(&mut v, body)
            .unwrap();
        v
    }

    /// The NA we expect (override set, our TLLAO), built independently with etherparse.
    fn expected_na(eth_dst: [u8; 6], dst: [u8; 16], target: [u8; 16], solicited: bool) -> Vec<u8> {
        let mut body = target.to_vec();
        body.extend_from_slice(&[2, 1]);
        body.extend_from_slice(&OUR_MAC);
        etherparse_na(eth_dst, dst, target, (solicited, true), &body)
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

    /// The 24-byte NA (no option) Linux sends to a unicast solicitation, built by etherparse.
    fn expected_unicast_na(eth_dst: [u8; 6], dst: [u8; 16], target: [u8; 16]) -> Vec<u8> {
        etherparse_na(eth_dst, dst, target, (true, false), &target)
    }

    #[test]
    fn unicast_ns_gets_solicited_na_without_option() {
        // ndisc_recv_ns -> ndisc_send_na(solicited, override = inc = false, inc_opt = false):
        // flag S only and no target link-layer address, with or without an SLLAO in the NS.
        // NUD probe: unicast to the target, no options: 78 bytes in, 78 out.
        let req = ns_frame(OUR_MAC, PEER_MAC, PEER_V6, OUR_V6_LL, 255, OUR_V6_LL, &[]);
        assert_eq!(req.len(), 78);
        let r = reply(&req, Answer::Ndp);
        assert_eq!(r, expected_unicast_na(PEER_MAC, PEER_V6, OUR_V6_LL));
        assert_eq!(r[58], 0x40, "flags S");
        // With an SLLAO naming another MAC than the frame's source: the NA goes to that MAC.
        let other = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        let req = ns_frame(
            OUR_MAC,
            PEER_MAC,
            PEER_V6,
            OUR_V6,
            255,
            OUR_V6,
            &sllao(other),
        );
        let r = reply(&req, Answer::Ndp);
        assert_eq!(r, expected_unicast_na(other, PEER_V6, OUR_V6));
        // To another of our addresses (Linux delivers it, and answers).
        let req = ns_frame(OUR_MAC, PEER_MAC, PEER_V6, OUR_V6_LL, 255, OUR_V6, &[]);
        assert_eq!(
            reply(&req, Answer::Ndp),
            expected_unicast_na(PEER_MAC, PEER_V6, OUR_V6)
        );
    }

    #[test]
    fn multicast_ns_answers_to_the_sllao_mac() {
        let other = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        let req = ns_to_group(OUR_V6, &sllao(other));
        let r = reply(&req, Answer::Ndp);
        check_na(&r, PEER_V6, OUR_V6, 0x60);
        assert_eq!(r, expected_na(other, PEER_V6, OUR_V6, true));
        // To all-nodes, which Linux has joined: answered the same way.
        let req = ns_frame(
            ALL_NODES_MAC,
            PEER_MAC,
            PEER_V6,
            ALL_NODES,
            255,
            OUR_V6,
            &sllao(PEER_MAC),
        );
        let r = reply(&req, Answer::Ndp);
        assert_eq!(r, expected_na(PEER_MAC, PEER_V6, OUR_V6, true));
        // Two SLLAOs: the first counts.
        let opts = [sllao(other), sllao(PEER_MAC)].concat();
        let req = ns_to_group(OUR_V6, &opts);
        assert_eq!(&reply(&req, Answer::Ndp)[..6], &other);
    }

    #[test]
    fn multicast_ns_without_sllao_is_unsupported() {
        // Linux answers it only from an existing neighbour entry of the solicitor.
        let f = ns_to_group(OUR_V6, &[]);
        assert_eq!(drop_reason(&f), DropReason::Unsupported);
    }

    #[test]
    fn sllao_of_wrong_length_or_group_mac() {
        let g = solicited_node(&OUR_V6);
        // ndisc_opt_addr_data: an Ethernet SLLAO is exactly 8 bytes.
        let long = [
            1u8, 2, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        for dst in [g, OUR_V6] {
            let f = ns_frame(OUR_MAC, PEER_MAC, PEER_V6, dst, 255, OUR_V6, &long);
            assert_eq!(drop_reason(&f), DropReason::Malformed);
        }
        for mac in [[0xff; 6], [0x33, 0x33, 0, 0, 0, 1], [0; 6]] {
            let f = ns_to_group(OUR_V6, &sllao(mac));
            assert_eq!(drop_reason(&f), DropReason::BadSource, "{mac:02x?}");
        }
    }

    #[test]
    fn dad_gets_all_nodes_advertisement() {
        let g = solicited_node(&OUR_V6);
        let req = ns_frame(multicast_mac(&g), PEER_MAC, [0; 16], g, 255, OUR_V6, &[]);
        let r = reply(&req, Answer::Ndp);
        check_na(&r, ALL_NODES, OUR_V6, 0x20);
        assert_eq!(&r[..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(
            r,
            expected_na([0x33, 0x33, 0, 0, 0, 1], ALL_NODES, OUR_V6, false)
        );
        // With a nonce option (RFC 7527) too.
        let req = ns_frame(
            multicast_mac(&g),
            PEER_MAC,
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
        let g = solicited_node(&OUR_V6);
        // DAD must go to a solicited-node group ...
        let f = ns_frame(OUR_MAC, PEER_MAC, [0; 16], OUR_V6, 255, OUR_V6, &[]);
        assert_eq!(drop_reason(&f), DropReason::BadDestination);
        let f = ns_frame(
            ALL_NODES_MAC,
            PEER_MAC,
            [0; 16],
            ALL_NODES,
            255,
            OUR_V6,
            &[],
        );
        assert_eq!(drop_reason(&f), DropReason::BadDestination);
        // ... and must not carry a source link-layer address.
        let f = ns_frame(
            multicast_mac(&g),
            PEER_MAC,
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
        let f = ns_to_group(OTHER_V6, &sllao(PEER_MAC));
        assert_eq!(drop_reason(&f), DropReason::NotOurs);
    }

    #[test]
    fn multicast_target_is_malformed() {
        let f = ns_frame(OUR_MAC, PEER_MAC, PEER_V6, ALL_NODES, 255, ALL_NODES, &[]);
        assert_eq!(drop_reason(&f), DropReason::Malformed);
    }

    #[test]
    fn hop_limit_other_than_255_is_unsupported() {
        for hl in [64, 254, 1] {
            let g = solicited_node(&OUR_V6);
            let f = ns_frame(
                multicast_mac(&g),
                PEER_MAC,
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
        // Another host's solicited-node group, another host's address, a group we are not in.
        let mut group = ALL_NODES;
        group[15] = 2;
        for dst in [solicited_node(&OTHER_V6), OTHER_V6, group] {
            let f = ns_frame(
                OUR_MAC,
                PEER_MAC,
                PEER_V6,
                dst,
                255,
                OUR_V6,
                &sllao(PEER_MAC),
            );
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
        for opts in [
            &[1u8, 0, 0, 0, 0, 0, 0, 0][..],  // length 0
            &[1, 2, 1, 2, 3, 4, 5, 6][..],    // runs past the end
            &[1, 1, 1, 2, 3, 4, 5, 6, 9][..], // one stray byte after a good option
        ] {
            let f = ns_to_group(OUR_V6, opts);
            assert_eq!(drop_reason(&f), DropReason::Malformed, "{opts:?}");
        }
    }

    #[test]
    fn nonzero_code_is_malformed() {
        let mut f = ns_request(OUR_V6);
        f[55] = 1;
        fix_checksums(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Malformed);
    }

    #[test]
    fn short_ns_is_truncated() {
        // Cut the message (and the payload length) below 24 bytes.
        for plen in 8..24u16 {
            let mut f = ns_request(OUR_V6);
            f.truncate(54 + usize::from(plen));
            f[18..20].copy_from_slice(&plen.to_be_bytes());
            fix_checksums(&mut f);
            assert_eq!(drop_reason(&f), DropReason::Truncated, "ICMP length {plen}");
        }
    }

    #[test]
    fn reply_that_does_not_fit_is_too_big() {
        // The answer to DAD without options: 78 bytes in, 86 out.
        let g = solicited_node(&OUR_V6);
        let req = ns_frame(multicast_mac(&g), PEER_MAC, [0; 16], g, 255, OUR_V6, &[]);
        for size in 78..86 {
            let mut buf = req.clone();
            buf.resize(size, 0);
            assert_eq!(
                handle(&mut buf, 78, &identity(), NOW),
                Verdict::Drop(DropReason::TooBig),
                "buffer {size}"
            );
        }
        let mut buf = req.clone();
        buf.resize(86, 0);
        assert_eq!(
            handle(&mut buf, 78, &identity(), NOW),
            Verdict::Reply {
                offset: 0,
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
