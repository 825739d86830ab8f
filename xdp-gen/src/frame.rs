//! The request frame template: Ethernet + IPv4 + UDP or ICMP echo + payload, with valid
//! checksums. The transmitter program later stamps each copy (phase, sequence, timestamp,
//! source port) and updates the L4 checksum incrementally, so the template's stamp is zero.

use std::net::Ipv4Addr;

use anyhow::{bail, Result};

use xdp_wire::{ethernet, icmp, ipv4, udp};

use crate::abi::{frame, stamp};

/// What to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// UDP datagrams from `src_port` (the transmitter varies it) to `dst_port`.
    Udp { src_port: u16, dst_port: u16 },
    /// ICMP echo requests with identifier `id` (the transmitter varies the sequence number).
    Icmp { id: u16 },
}

/// One flow: addresses, protocol and payload size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowSpec {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub proto: Proto,
    /// Payload bytes after the UDP / ICMP header, stamp included (at least [`stamp::LEN`]).
    pub payload_len: usize,
}

/// IPv4 time to live of our requests.
pub const TTL: u8 = 64;

impl FlowSpec {
    /// Length of the UDP datagram / ICMP message (header + payload).
    pub fn l4_len(&self) -> usize {
        frame::L4_HDR_LEN + self.payload_len
    }

    /// Length of the whole frame (no FCS).
    pub fn frame_len(&self) -> usize {
        frame::L4 + self.l4_len()
    }

    /// Checks the payload size against the stamp and a 1500-byte MTU.
    pub fn validate(&self) -> Result<()> {
        let max = frame::MAX_FRAME - frame::PAYLOAD;
        if self.payload_len < stamp::LEN || self.payload_len > max {
            bail!(
                "--size must be {}..={max} bytes (the payload holds a {}-byte stamp; the frame must fit a 1500-byte MTU), got {}",
                stamp::LEN,
                stamp::LEN,
                self.payload_len
            );
        }
        Ok(())
    }

    /// The frame template with valid IPv4 and L4 checksums, written with the wire layer's
    /// `emit` functions.
    pub fn build(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let mut f = vec![0u8; self.frame_len()];
        let payload = &mut f[frame::PAYLOAD..];
        payload[stamp::MAGIC..stamp::MAGIC + 2].copy_from_slice(&stamp::MAGIC_VALUE);
        for (i, b) in payload.iter_mut().enumerate().skip(stamp::LEN) {
            *b = i as u8;
        }

        let (src, dst) = (self.src_ip.octets(), self.dst_ip.octets());
        let l4_len = self.l4_len();
        let protocol = match self.proto {
            Proto::Udp { .. } => ipv4::protocol::UDP,
            Proto::Icmp { .. } => ipv4::protocol::ICMP,
        };
        let mut eth = ethernet::Frame::new_checked(&mut f[..]).map_err(wire_error)?;
        ethernet::Repr {
            dst: self.dst_mac,
            src: self.src_mac,
            ethertype: ethernet::ethertype::IPV4,
        }
        .emit(&mut eth);
        let mut ip = ipv4::Packet::new_checked(eth.payload_mut()).map_err(wire_error)?;
        ipv4::Repr {
            src,
            dst,
            protocol,
            ttl: TTL,
            dscp_ecn: 0,
            ident: 0,
            flags_frag: ipv4::FLAG_DF,
            payload_len: l4_len,
        }
        .emit(&mut ip, &[])
        .map_err(wire_error)?;
        let pseudo = ip.pseudo_sum(protocol, l4_len as u16);
        let l4 = ip.payload_mut();
        match self.proto {
            Proto::Udp { src_port, dst_port } => {
                let mut u = udp::Packet::new_checked(l4).map_err(wire_error)?;
                udp::Repr { src_port, dst_port }
                    .emit(&mut u, Some(pseudo))
                    .map_err(wire_error)?;
            }
            Proto::Icmp { id } => {
                let mut m = icmp::Packet::new_checked(l4).map_err(wire_error)?;
                icmp::EchoRepr {
                    msg_type: icmp::v4::ECHO_REQUEST,
                    ident: id,
                    seq: 0,
                }
                .emit(&mut m, 0);
            }
        }
        Ok(f)
    }
}

fn wire_error(e: xdp_wire::Error) -> anyhow::Error {
    anyhow::anyhow!("frame template: {e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Icmpv4Type, NetSlice, SlicedPacket, TransportSlice};
    use xdp_wire::checksum;

    fn spec(proto: Proto, payload_len: usize) -> FlowSpec {
        FlowSpec {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_ip: Ipv4Addr::new(198, 18, 0, 1),
            dst_ip: Ipv4Addr::new(198, 18, 0, 2),
            proto,
            payload_len,
        }
    }

    const UDP: Proto = Proto::Udp {
        src_port: 10_000,
        dst_port: 7,
    };

    #[test]
    fn udp_template_parses_and_checksums_verify() {
        for n in [16, 17, 18, 64, 511, 1472] {
            let s = spec(UDP, n);
            let f = s.build().expect("build");
            assert_eq!(f.len(), 42 + n);
            let p = SlicedPacket::from_ethernet(&f).expect("parse");
            let Some(NetSlice::Ipv4(ip)) = &p.net else {
                panic!("not ipv4")
            };
            let h = ip.header();
            assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
            assert!(h.dont_fragment());
            assert_eq!(h.source_addr(), s.src_ip);
            assert_eq!(h.destination_addr(), s.dst_ip);
            let Some(TransportSlice::Udp(u)) = &p.transport else {
                panic!("not udp")
            };
            assert_eq!((u.source_port(), u.destination_port()), (10_000, 7));
            assert_eq!(usize::from(u.length()), 8 + n);
            let expect = u
                .to_header()
                .calc_checksum_ipv4(&h.to_header(), u.payload())
                .expect("checksum");
            assert_eq!(u.checksum(), expect, "payload {n}");
            assert_eq!(&u.payload()[..2], b"XG");
            assert!(u.payload()[2..16].iter().all(|&b| b == 0), "stamp is zero");
            // The wire layer's verifier agrees.
            let pseudo =
                checksum::pseudo_v4(s.src_ip.octets(), s.dst_ip.octets(), 17, (8 + n) as u16);
            assert!(checksum::verifies(checksum::add(
                pseudo,
                checksum::sum(&f[34..])
            )));
            assert!(checksum::verifies(checksum::sum(&f[14..34])));
        }
    }

    #[test]
    fn icmp_template_parses_and_checksum_verifies() {
        for n in [16, 18, 57, 1000] {
            let f = spec(Proto::Icmp { id: 0x1234 }, n).build().expect("build");
            let p = SlicedPacket::from_ethernet(&f).expect("parse");
            let Some(TransportSlice::Icmpv4(i)) = &p.transport else {
                panic!("not icmp")
            };
            match i.icmp_type() {
                Icmpv4Type::EchoRequest(e) => assert_eq!((e.id, e.seq), (0x1234, 0)),
                other => panic!("{other:?}"),
            }
            assert_eq!(i.checksum(), i.icmp_type().calc_checksum(i.payload()));
            assert!(checksum::verifies(checksum::sum(&f[34..])));
        }
    }

    /// What `xdp_gen_tx` does to a copy of the template, with the same arithmetic
    /// (`checksum::update_word` / `finish_update`, stamp words replacing zeros).
    fn stamp_like_tx(
        template: &[u8],
        udp: bool,
        port_base: u16,
        seq: u64,
        ts: u64,
        phase: u16,
    ) -> Vec<u8> {
        use xdp_wire::checksum::{finish_update, update_word};
        let mut f = template.to_vec();
        let csum_at = if udp {
            frame::UDP_CSUM
        } else {
            frame::ICMP_CSUM
        };
        let word = |b: &[u8], at: usize| u16::from_ne_bytes([b[at], b[at + 1]]);
        let (vary_at, old, new) = if udp {
            (
                frame::UDP_SPORT,
                port_base,
                port_base.wrapping_add(seq as u16 & 63),
            )
        } else {
            (frame::ICMP_SEQ, 0, seq as u16)
        };
        let mut acc = u64::from(!word(template, csum_at));
        acc = update_word(
            acc,
            u16::from_ne_bytes(old.to_be_bytes()),
            u16::from_ne_bytes(new.to_be_bytes()),
        );
        let base = frame::PAYLOAD;
        f[vary_at..vary_at + 2].copy_from_slice(&new.to_be_bytes());
        f[base + stamp::SEQ..base + stamp::SEQ + 4].copy_from_slice(&(seq as u32).to_ne_bytes());
        f[base + stamp::TS..base + stamp::TS + 8].copy_from_slice(&ts.to_ne_bytes());
        f[base + stamp::PHASE..base + stamp::PHASE + 2].copy_from_slice(&phase.to_ne_bytes());
        for at in [
            stamp::SEQ,
            stamp::SEQ + 2,
            stamp::TS,
            stamp::TS + 2,
            stamp::TS + 4,
            stamp::TS + 6,
            stamp::PHASE,
        ] {
            acc = update_word(acc, 0, word(&f, base + at));
        }
        f[csum_at..csum_at + 2].copy_from_slice(&finish_update(acc, udp).to_ne_bytes());
        f
    }

    #[test]
    fn stamped_copies_keep_valid_checksums() {
        let samples = [
            (0u64, 0u64, 0u16),
            (1, 123_456_789, 1),
            (65_535, u64::MAX, 2),
            (1 << 40, 0xdead_beef_cafe, 3),
        ];
        for n in [16, 18, 100, 1472] {
            let s = spec(UDP, n);
            let t = s.build().expect("build");
            for &(seq, ts, phase) in &samples {
                let f = stamp_like_tx(&t, true, 10_000, seq, ts, phase);
                let p = SlicedPacket::from_ethernet(&f).expect("parse");
                let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Udp(u))) =
                    (&p.net, &p.transport)
                else {
                    panic!("not udp/ipv4")
                };
                let expect = u
                    .to_header()
                    .calc_checksum_ipv4(&ip.header().to_header(), u.payload())
                    .expect("checksum");
                assert_eq!(u.checksum(), expect, "size {n} seq {seq}");
                assert_eq!(u.source_port(), 10_000 + (seq as u16 & 63));
            }
            let t = spec(Proto::Icmp { id: 7 }, n).build().expect("build");
            for &(seq, ts, phase) in &samples {
                let f = stamp_like_tx(&t, false, 0, seq, ts, phase);
                assert!(
                    checksum::verifies(checksum::sum(&f[frame::L4..])),
                    "icmp size {n} seq {seq}"
                );
            }
        }
    }

    #[test]
    fn stamp_fields_are_naturally_aligned_in_an_aligned_frame() {
        // The transmitter writes them with aligned stores (the frame starts 8-byte aligned).
        assert_eq!((frame::PAYLOAD + stamp::MAGIC) % 2, 0);
        assert_eq!((frame::PAYLOAD + stamp::SEQ) % 4, 0);
        assert_eq!((frame::PAYLOAD + stamp::TS) % 8, 0);
        assert_eq!((frame::PAYLOAD + stamp::PHASE) % 2, 0);
        assert_eq!(
            frame::UDP_SPORT % 2 + frame::UDP_CSUM % 2 + frame::ICMP_CSUM % 2 + frame::ICMP_SEQ % 2,
            0
        );
        assert_eq!(stamp::PHASE + 2, stamp::LEN);
    }

    #[test]
    fn sizes_are_checked() {
        assert!(spec(UDP, 15).build().is_err());
        assert!(spec(UDP, 1473).build().is_err());
        let e = spec(UDP, 2000).validate().expect_err("too big").to_string();
        assert!(e.contains("--size"), "{e}");
    }
}
