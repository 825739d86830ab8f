//! ICMPv4 (RFC 792): echo requests to our addresses get echo replies; nothing else is answered.
//!
//! The IPv4 layer ([`super::ipv4`]) has validated the header, addresses and lengths and
//! writes the reply's IP header; this module only turns the message around (see
//! [`super::echo`]). Only type 8 code 0 is answered — other types (including echo replies,
//! timestamps, errors) are `Unsupported`.

use super::echo::{self, EchoTypes};
use super::{Answer, DropReason, Identity, Tail};
use xdp_common::proto;

pub use xdp_wire::icmp::v4::{ECHO_REPLY as TYPE_ECHO_REPLY, ECHO_REQUEST as TYPE_ECHO_REQUEST};

const TYPES: EchoTypes = EchoTypes {
    request: TYPE_ECHO_REQUEST,
    reply: TYPE_ECHO_REPLY,
};

/// Handles the ICMPv4 message `msg` (the IP payload, exactly `total length - IHL*4` bytes).
pub fn handle(msg: &mut [u8], tail: Tail, id: &Identity) -> Result<Answer, DropReason> {
    if !id.enabled(proto::ICMP4_ECHO) {
        return Err(DropReason::NotOurs);
    }
    // ICMPv4 has no pseudo-header.
    echo::answer(msg, tail, 0, TYPES)?;
    Ok(Answer::Icmp4Echo)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Answer, DropReason, Verdict};
    use etherparse::{Icmpv4Slice, Icmpv4Type, PacketBuilder};

    fn expected_reply(id: u16, seq: u16, p: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(OUR_MAC, PEER_MAC)
            .ipv4(OUR_V4, PEER_V4, 64)
            .icmpv4_echo_reply(id, seq)
            .write(&mut v, p)
            .unwrap();
        without_df(v)
    }

    #[test]
    fn echo_reply_for_payload_sizes() {
        for n in [0, 1, 2, 3, 17, 55, 56, 57, 63, 64, 1000, 1471, 1472] {
            let p = payload(n);
            let req = icmp4_request(&p);
            let r = reply(&req, Answer::Icmp4Echo);
            // Field by field, re-parsed by etherparse.
            let icmp = Icmpv4Slice::from_slice(&r[34..]).unwrap();
            match icmp.icmp_type() {
                Icmpv4Type::EchoReply(e) => {
                    assert_eq!((e.id, e.seq), (0x1234, 7));
                }
                t => panic!("not an echo reply: {t:?}"),
            }
            assert_eq!(icmp.code_u8(), 0);
            assert_eq!(icmp.payload(), &p[..], "payload untouched (n = {n})");
            // Byte-exact against an independently built reply (checksum included).
            assert_eq!(r, expected_reply(0x1234, 7, &p), "payload {n}");
        }
    }

    #[test]
    fn extreme_checksum_values_update_correctly() {
        // Search identifiers so that the request checksum takes the edge values 0x0000 (whose
        // equally valid twin is 0xffff) and 0xf7ff (where type 8 -> 0 crosses the end-around
        // carry).
        let (mut zero, mut f7ff) = (false, false);
        for id in 0..=u16::MAX {
            let req = icmp4_echo(PEER_V4, OUR_V4, id, 0, b"edge");
            match u16::from_be_bytes([req[36], req[37]]) {
                0x0000 => {
                    zero = true;
                    assert_eq!(
                        reply(&req, Answer::Icmp4Echo),
                        expected_reply(id, 0, b"edge")
                    );
                    // -0 in one's complement: the same message with checksum 0xffff.
                    let mut twin = req.clone();
                    twin[36..38].copy_from_slice(&[0xff, 0xff]);
                    let r = reply(&twin, Answer::Icmp4Echo); // checksums verified inside
                    assert_eq!(&r[..36], &expected_reply(id, 0, b"edge")[..36]);
                }
                0xf7ff => {
                    f7ff = true;
                    assert_eq!(
                        reply(&req, Answer::Icmp4Echo),
                        expected_reply(id, 0, b"edge")
                    );
                }
                _ => {}
            }
        }
        assert!(zero && f7ff, "edge checksums not reached");
    }

    #[test]
    fn bad_icmp_checksum() {
        for n in [0, 1, 56] {
            let mut f = icmp4_request(&payload(n));
            f[36] ^= 0x80;
            assert_eq!(
                run(&f),
                Verdict::Drop(DropReason::BadChecksum),
                "payload {n}"
            );
            // A flipped payload bit is caught too.
            if n > 0 {
                let mut f = icmp4_request(&payload(n));
                let last = f.len() - 1;
                f[last] ^= 0x01;
                assert_eq!(run(&f), Verdict::Drop(DropReason::BadChecksum));
            }
        }
    }

    #[test]
    fn non_echo_types_are_unsupported() {
        let types = [
            Icmpv4Type::EchoReply(etherparse::IcmpEchoHeader { id: 1, seq: 2 }),
            Icmpv4Type::TimestampRequest(etherparse::icmpv4::TimestampMessage {
                id: 1,
                seq: 2,
                originate_timestamp: 3,
                receive_timestamp: 0,
                transmit_timestamp: 0,
            }),
            Icmpv4Type::Unknown {
                type_u8: 13 + 2,
                code_u8: 0,
                bytes5to8: [0; 4],
            },
        ];
        for t in types {
            let mut v = Vec::new();
            PacketBuilder::ethernet2(PEER_MAC, OUR_MAC)
                .ipv4(PEER_V4, OUR_V4, 64)
                .icmpv4(t.clone())
                .write(&mut v, b"data")
                .unwrap();
            assert_eq!(run(&v), Verdict::Drop(DropReason::Unsupported), "{t:?}");
        }
        // Echo request with a non-zero code.
        let mut f = icmp4_request(b"code");
        f[35] = 1;
        fix_checksums(&mut f);
        assert_eq!(run(&f), Verdict::Drop(DropReason::Unsupported));
    }

    #[test]
    fn icmp_shorter_than_8_is_truncated() {
        for icmp_len in 0..8u16 {
            let mut f = icmp4_request(&[]);
            f[16..18].copy_from_slice(&(20 + icmp_len).to_be_bytes());
            fix_ipv4_header(&mut f);
            assert_eq!(
                run(&f),
                Verdict::Drop(DropReason::Truncated),
                "ICMP length {icmp_len}"
            );
        }
    }

    #[test]
    fn switched_off_is_not_ours() {
        let id = identity_with(xdp_common::proto::ALL & !xdp_common::proto::ICMP4_ECHO);
        assert_eq!(
            run_with(&icmp4_request(b"x"), &id).0,
            Verdict::Drop(DropReason::NotOurs)
        );
    }
}
