//! ICMPv6 echo (RFC 4443): the IPv6 layer ([`super::ipv6`]) has dispatched by type and checked
//! the addresses; length, checksum (with the pseudo-header) and code 0 are checked by
//! [`super::echo`]. The reply is type 129 with the checksum updated incrementally; its IPv6
//! header keeps the request's traffic class and gets its own flow label (see [`super::ipv6`]).

use super::echo::{self, EchoTypes};
use super::{DropReason, Identity, Tail};
use xdp_common::proto;

pub use xdp_wire::icmp::v6::{ECHO_REPLY as TYPE_ECHO_REPLY, ECHO_REQUEST as TYPE_ECHO_REQUEST};

const TYPES: EchoTypes = EchoTypes {
    request: TYPE_ECHO_REQUEST,
    reply: TYPE_ECHO_REPLY,
};

/// Turns the echo request `msg` (exactly the IPv6 payload) into its reply, `pseudo` being the
/// pseudo-header sum; `NotOurs` when ICMPv6 echo is switched off.
pub fn answer_echo(
    msg: &mut [u8],
    tail: Tail,
    pseudo: u16,
    id: &Identity,
) -> Result<(), DropReason> {
    if !id.enabled(proto::ICMP6_ECHO) {
        return Err(DropReason::NotOurs);
    }
    echo::answer(msg, tail, pseudo, TYPES)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Answer, DropReason, Verdict};
    use etherparse::{Icmpv6Slice, Icmpv6Type, Ipv6HeaderSlice, PacketBuilder};

    fn expected(src: [u8; 16], p: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(OUR_MAC, PEER_MAC)
            .ipv6(src, PEER_V6, 64)
            .icmpv6_echo_reply(0x4321, 9)
            .write(&mut v, p)
            .unwrap();
        v
    }

    #[test]
    fn echo_reply_for_payload_sizes() {
        for n in [0, 1, 2, 3, 55, 56, 57, 1000, 1231, 1232, 1451, 1452] {
            let p = payload(n);
            let r = reply(&icmp6_request(&p), Answer::Icmp6Echo);
            let ip = Ipv6HeaderSlice::from_slice(&r[14..]).unwrap();
            assert_eq!(ip.source(), OUR_V6);
            assert_eq!(ip.destination(), PEER_V6);
            assert_eq!(ip.hop_limit(), 64);
            assert_eq!(usize::from(ip.payload_length()), 8 + n);
            let icmp = Icmpv6Slice::from_slice(&r[54..]).unwrap();
            match icmp.icmp_type() {
                Icmpv6Type::EchoReply(e) => assert_eq!((e.id, e.seq), (0x4321, 9)),
                t => panic!("not an echo reply: {t:?}"),
            }
            assert!(icmp.is_checksum_valid(OUR_V6, PEER_V6));
            assert_eq!(icmp.payload(), &p[..]);
            assert_eq!(
                r,
                with_flow_label_of(expected(OUR_V6, &p), &r),
                "payload {n}"
            );
        }
    }

    #[test]
    fn link_local_destination_answers_from_it() {
        let r = reply(&icmp6_echo(PEER_V6, OUR_V6_LL, b"ll"), Answer::Icmp6Echo);
        assert_eq!(r, with_flow_label_of(expected(OUR_V6_LL, b"ll"), &r));
    }

    #[test]
    fn traffic_class_kept_flow_label_not_reflected() {
        // icmpv6_echo_reply: tclass = the request's (ECN bits included); the flow label is
        // the reply's own (flowlabel_reflect is off by default), whatever the request's.
        let plain = reply(&icmp6_request(b"tc"), Answer::Icmp6Echo);
        for word in [
            [0x6b, 0x8a, 0xbc, 0xde],
            [0x60, 0x3f, 0xff, 0xff],
            [0x6f, 0xf0, 0, 1],
        ] {
            let mut f = icmp6_request(b"tc");
            f[14..18].copy_from_slice(&word);
            let r = reply(&f, Answer::Icmp6Echo);
            let class = (word[0] << 4) | (word[1] >> 4);
            assert_eq!(
                (r[14] << 4) | (r[15] >> 4),
                class,
                "traffic class {class:#04x}"
            );
            assert_eq!(
                flow_label_of(&r),
                flow_label_of(&plain),
                "label of the flow"
            );
        }
        // Another flow (another peer) gets another label.
        let mut peer2 = PEER_V6;
        peer2[15] = 0x77;
        let r2 = reply(&icmp6_echo(peer2, OUR_V6, b"tc"), Answer::Icmp6Echo);
        assert_ne!(flow_label_of(&r2), flow_label_of(&plain));
    }

    #[test]
    fn bad_checksum() {
        for n in [0, 1, 56] {
            let mut f = icmp6_request(&payload(n));
            f[56] ^= 0x10;
            assert_eq!(drop_reason(&f), DropReason::BadChecksum);
        }
        // A checksum computed without the pseudo-header (ICMPv4 style) is wrong.
        let mut f = icmp6_request(b"nopseudo");
        f[56] = 0;
        f[57] = 0;
        let c = !reference::sum(&[&f[54..]]);
        f[56..58].copy_from_slice(&c.to_be_bytes());
        assert_eq!(drop_reason(&f), DropReason::BadChecksum);
    }

    #[test]
    fn destinations() {
        assert_eq!(
            drop_reason(&icmp6_echo(PEER_V6, OTHER_V6, b"x")),
            DropReason::NotOurs
        );
        assert_eq!(
            drop_reason(&icmp6_echo(PEER_V6, ALL_NODES, b"x")),
            DropReason::BadDestination
        );
        assert_eq!(
            drop_reason(&icmp6_echo(PEER_V6, solicited_node(&OUR_V6), b"x")),
            DropReason::BadDestination
        );
    }

    #[test]
    fn unspecified_source_is_bad_for_echo() {
        assert_eq!(
            drop_reason(&icmp6_echo([0; 16], OUR_V6, b"x")),
            DropReason::BadSource
        );
    }

    #[test]
    fn other_types_and_codes_are_unsupported() {
        let mut f = icmp6_request(b"x");
        f[54] = 129; // an echo reply
        fix_checksums(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Unsupported);
        let mut f = icmp6_request(b"x");
        f[54] = 133; // router solicitation
        fix_checksums(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Unsupported);
        let mut f = icmp6_request(b"x");
        f[55] = 1; // echo request, code 1
        fix_checksums(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Unsupported);
    }

    #[test]
    fn short_messages_are_truncated() {
        for plen in 0..8u16 {
            let mut f = icmp6_request(b"");
            f[18..20].copy_from_slice(&plen.to_be_bytes());
            assert_eq!(
                drop_reason(&f),
                DropReason::Truncated,
                "payload length {plen}"
            );
        }
    }

    #[test]
    fn switched_off_is_not_ours() {
        let id = identity_with(xdp_common::proto::ALL & !xdp_common::proto::ICMP6_ECHO);
        assert_eq!(
            run_with(&icmp6_request(b"x"), &id).0,
            Verdict::Drop(DropReason::NotOurs)
        );
    }
}
