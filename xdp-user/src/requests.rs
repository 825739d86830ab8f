//! Valid requests of every kind the responder answers, for the in-memory data-path tests and
//! the `bench-datapath` measurement: a peer at 198.18.0.1 / 2001:2::1 asks us at 198.18.0.2 /
//! 2001:2::2. Built with `xdp-testkit`'s builders (the wire layer's `emit` functions).
use std::net::{Ipv4Addr, Ipv6Addr};

use xdp_testkit::frame;
use xdp_wire::{
    arp, ethernet, icmp,
    ipv4::{self, protocol},
};

use crate::handlers::{Answer, Identity};

pub const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const OUR_V4: [u8; 4] = [198, 18, 0, 2];
pub const PEER_V4: [u8; 4] = [198, 18, 0, 1];
pub const OUR_V6: [u8; 16] = [0x20, 0x01, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02];
pub const PEER_V6: [u8; 16] = [0x20, 0x01, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
pub const UDP_PORT: u16 = 7;
const PEER_PORT: u16 = 40000;

/// The kinds of request, in the order the benchmark reports them.
pub const KINDS: [Answer; 6] = [
    Answer::Udp4,
    Answer::Udp6,
    Answer::Icmp4Echo,
    Answer::Icmp6Echo,
    Answer::Arp,
    Answer::Ndp,
];

/// Short name of a kind in benchmark output: the answer's name without its `_echo` suffix
/// (udp4 udp6 icmp4 icmp6 arp ndp).
pub fn short_name(kind: Answer) -> &'static str {
    let name = kind.name();
    name.strip_suffix("_echo").unwrap_or(name)
}

/// The identity the requests are addressed to.
pub fn identity() -> Identity {
    Identity {
        mac: OUR_MAC,
        v4: vec![Ipv4Addr::from(OUR_V4)],
        v6: vec![Ipv6Addr::from(OUR_V6)],
        udp_ports: vec![UDP_PORT],
        protocols: xdp_common::proto::ALL,
    }
}

/// The smallest frame of a kind (an NDP solicitation with its source link-layer option is
/// 86 bytes, an ARP request 42).
pub fn min_len(kind: Answer) -> usize {
    match kind {
        Answer::Udp4 => 14 + 20 + 8,
        Answer::Udp6 => 14 + 40 + 8,
        Answer::Icmp4Echo => 14 + 20 + 8,
        Answer::Icmp6Echo => 14 + 40 + 8,
        Answer::Arp => 42,
        Answer::Ndp => 86,
    }
}

/// A request of `kind`, `size` bytes long (Ethernet header included, no FCS) where the kind
/// allows: UDP and ICMP carry a payload that fills the frame; ARP and NDP, which have fixed
/// lengths, are padded after the packet as Ethernet padding. Never shorter than
/// [`min_len`]. `seq` varies the payload / identifier.
pub fn request(kind: Answer, size: usize, seq: u16) -> Vec<u8> {
    let size = size.max(min_len(kind));
    let payload = |hdr: usize| -> Vec<u8> {
        (0..size.saturating_sub(hdr))
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seq as u8))
            .collect()
    };
    let sport = PEER_PORT.wrapping_add(seq % 1000);
    let ip4 = frame::ipv4_repr(PEER_V4, OUR_V4, protocol::ICMP);
    let mut f = match kind {
        Answer::Udp4 => frame::ipv4(
            OUR_MAC,
            PEER_MAC,
            &ipv4::Repr {
                protocol: protocol::UDP,
                ..ip4
            },
            &[],
            &frame::udp4(PEER_V4, OUR_V4, sport, UDP_PORT, &payload(42)),
        ),
        Answer::Udp6 => frame::ipv6(
            OUR_MAC,
            PEER_MAC,
            PEER_V6,
            OUR_V6,
            protocol::UDP,
            64,
            &frame::udp6(PEER_V6, OUR_V6, sport, UDP_PORT, &payload(62)),
        ),
        Answer::Icmp4Echo => frame::ipv4(
            OUR_MAC,
            PEER_MAC,
            &ip4,
            &[],
            &frame::echo(icmp::v4::ECHO_REQUEST, 0x1234, seq, &payload(42), 0),
        ),
        Answer::Icmp6Echo => {
            let data = payload(62);
            let len = icmp::HEADER_LEN + data.len();
            let pseudo = frame::pseudo_v6(PEER_V6, OUR_V6, protocol::ICMPV6, len);
            frame::ipv6(
                OUR_MAC,
                PEER_MAC,
                PEER_V6,
                OUR_V6,
                protocol::ICMPV6,
                64,
                &frame::echo(icmp::v6::ECHO_REQUEST, 0x1234, seq, &data, pseudo),
            )
        }
        Answer::Arp => frame::arp(
            ethernet::BROADCAST,
            PEER_MAC,
            arp::OP_REQUEST,
            PEER_MAC,
            PEER_V4,
            OUR_V4,
        ),
        Answer::Ndp => {
            let group = frame::solicited_node(&OUR_V6);
            frame::ns_frame(
                frame::multicast_mac(&group),
                PEER_MAC,
                PEER_V6,
                group,
                255,
                OUR_V6,
                &frame::sllao(PEER_MAC),
            )
        }
    };
    f.resize(size, 0);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::{handle, TimeOfDay, Verdict};

    #[test]
    fn short_names() {
        let names = KINDS.map(short_name);
        assert_eq!(names, ["udp4", "udp6", "icmp4", "icmp6", "arp", "ndp"]);
    }

    #[test]
    fn every_request_is_answered_at_every_size() {
        let id = identity();
        for kind in KINDS {
            for size in [60, 64, 128, 1500] {
                let req = request(kind, size, 3);
                assert_eq!(req.len(), size.max(min_len(kind)));
                let mut buf = req.clone();
                buf.resize(3840, 0);
                match handle(&mut buf, req.len(), &id, TimeOfDay::default()) {
                    Verdict::Reply { kind: k, .. } => assert_eq!(k, kind, "{kind:?} {size}"),
                    v => panic!("{kind:?} at {size} bytes: {v:?}"),
                }
            }
        }
    }
}
