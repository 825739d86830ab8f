//! IPv4 (RFC 791): header validation shared by ICMP and UDP, and the reply's IP header.
//!
//! Checks, in order (first failure wins):
//! 1. 20 bytes present, version 4 (`Malformed` otherwise);
//! 2. `IHL >= 5` and `IHL*4 <= total length <= bytes received` (`Truncated`) — bytes past the
//!    total length are Ethernet padding and are ignored;
//! 3. header checksum over `IHL*4` bytes, options included (`BadChecksum`);
//! 4. not a fragment: MF clear and offset 0 (`Fragment`);
//! 5. destination: broadcast / multicast → `BadDestination`, not ours → `NotOurs`;
//! 6. source a usable unicast ([`is_usable_unicast`]) and not one of our own addresses
//!    (Linux rejects local sources as martians unless `accept_local` is set), else `BadSource`;
//! 7. options accepted by Linux's `ip_options_compile` rules for received packets
//!    ([`check_options`]: `Malformed`), and no source route, which a Linux host drops
//!    (`accept_source_route` off) (`Unsupported`);
//! 8. protocol: ICMP → [`super::icmp4`], UDP → [`super::udp`], others `Unsupported`.
//!
//! The reply reuses the header with source and destination swapped, TTL 64 and an
//! incrementally updated header checksum; the other fields are set as Linux sets them:
//! * ICMP echo reply (`icmp_reply`): TOS kept (ECN included), DF clear, ID kept, options as
//!   [`echo_options`] makes them (record route filled in, as Linux echoes them);
//! * UDP (an unconnected UDP socket's `sendto`): TOS 0, DF set, ID kept, and no options (a
//!   socket's datagram carries none unless it set `IP_OPTIONS`): a request's options are
//!   removed by moving the fixed header (and, in [`super::dispatch`], the Ethernet header)
//!   forward by the options' length, so the reply starts that much later in the frame
//!   ([`NetReply::offset`]) and the payload never moves. IHL, total length and the header
//!   checksum are those of the 20-byte header; the UDP checksum needs no change (options are
//!   not in the pseudo-header).
//!
//! **Its length is the request's total length** (less the removed options), so request
//! padding is never echoed.

use super::{icmp4, udp, Answer, DropReason, Identity, LinkDst, NetReply, Tail, TimeOfDay};
use xdp_wire::checksum;
pub use xdp_wire::ipv4::is_group;
use xdp_wire::ipv4::{self, protocol, FLAG_DF, MAX_HEADER_LEN, MIN_HEADER_LEN};

/// TTL of every reply (Linux's default `ip_default_ttl`).
pub const REPLY_TTL: u8 = 64;

/// Whether `ip` can be the source of a packet we answer: not in 0.0.0.0/8 ("this network"),
/// 127.0.0.0/8 (loopback), 224.0.0.0/4 (multicast) or 255.255.255.255 — the sources Linux's
/// route lookup rejects as martians.
pub fn is_usable_unicast(ip: [u8; 4]) -> bool {
    !(ip[0] == 0 || ip[0] == 127 || is_group(ip))
}

/// IPv4 option types (`xdp_wire::ipv4::option`) and the timestamp flags the checks look at.
pub mod option {
    pub use xdp_wire::ipv4::option::{CIPSO, END, LSRR, NOP, RA, RR, SSRR, TIMESTAMP};
    /// Timestamp flag "prespecified addresses" (the low nibble of the fourth byte).
    pub const TS_PRESPEC: u8 = 3;
    /// Timestamp flag "timestamps only".
    pub const TS_TSONLY: u8 = 0;
    /// Timestamp flag "address and timestamp".
    pub const TS_TSANDADDR: u8 = 1;
}

/// Checks the options of a received packet by the rules of Linux's `__ip_options_compile`
/// (net/ipv4/ip_options.c) and `ip_rcv_options` (net/ipv4/ip_input.c); `Malformed` for what
/// Linux rejects (it drops the packet and answers with an ICMP parameter problem, which we
/// do not send: the drop is counted instead):
/// * END ends the list; NOP is one byte; any other option needs a length byte, a length of at
///   least 2 and no more than the bytes left;
/// * record route: length >= 3, pointer >= 4, not a second one; a pointer inside the option
///   must leave room for one address (`pointer + 3 <= length`); a pointer past it (full) is
///   accepted;
/// * timestamp: length >= 4, pointer >= 5, not a second one; a pointer inside the option must
///   leave room for one entry (4 bytes, 8 with the address and prespecified flags); when full
///   (pointer past the option) an overflow count of 15 is rejected (not for prespecified);
/// * router alert: length >= 4;
/// * CIPSO: rejected (Linux validates it against the configured CIPSO domains, and a host has
///   none unless NetLabel is configured);
/// * source routes (LSRR/SSRR): length >= 3, pointer >= 4, only one, else `Malformed`; a
///   well-formed one is `Unsupported`: Linux drops it silently when `accept_source_route` is
///   off for the interface or for all (the kernel default of `all`).
///
/// Any other option type (security, stream ID, unknown) is accepted, as Linux accepts them on
/// received packets. What an echo reply carries is [`echo_options`]'s.
pub fn check_options(opts: &[u8]) -> Result<(), DropReason> {
    let (mut rr, mut ts, mut srr) = (false, false, false);
    // The framing (END, NOP, length bytes) is `ipv4::Options`'.
    for opt in ipv4::Options::new(opts) {
        let opt = opt.map_err(|_| DropReason::Malformed)?;
        let (kind, len) = (opt.kind, opt.bytes.len());
        if kind == option::NOP {
            continue;
        }
        // Byte `i` of this option, or 0 where the option is too short to have it (every use
        // below is behind a length check that makes it present).
        let byte = |i: usize| opt.bytes.get(i).copied().unwrap_or(0);
        let pointer = usize::from(byte(2));
        match kind {
            option::LSRR | option::SSRR => {
                if len < 3 || pointer < 4 || srr {
                    return Err(DropReason::Malformed);
                }
                srr = true;
            }
            option::RR => {
                if rr || len < 3 || pointer < 4 || (pointer <= len && pointer + 3 > len) {
                    return Err(DropReason::Malformed);
                }
                rr = true;
            }
            option::TIMESTAMP => {
                if ts || len < 4 || pointer < 5 {
                    return Err(DropReason::Malformed);
                }
                let flags = byte(3) & 0x0f;
                if pointer <= len {
                    let entry = match flags {
                        option::TS_TSANDADDR | option::TS_PRESPEC => 8,
                        _ => 4,
                    };
                    if pointer + entry - 1 > len {
                        return Err(DropReason::Malformed);
                    }
                } else if flags != option::TS_PRESPEC && byte(3) >> 4 == 15 {
                    return Err(DropReason::Malformed);
                }
                ts = true;
            }
            option::RA if len < 4 => return Err(DropReason::Malformed),
            option::CIPSO => return Err(DropReason::Malformed),
            _ => {}
        }
    }
    if srr {
        return Err(DropReason::Unsupported);
    }
    Ok(())
}

/// The most option bytes an IPv4 header holds.
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - MIN_HEADER_LEN;

/// The options of an ICMP echo reply to a request with `opts` (already accepted by
/// [`check_options`]), sent from `our`, as Linux's `ip_options_compile` (on receipt),
/// `ip_options_echo` and `ip_options_build` (on sending) make them, padded with END to the
/// request's option length:
/// * only record route and timestamp are echoed, record route first; every other option
///   (NOP, router alert, security, unknown types) is left out;
/// * record route with room: our address is recorded on receipt and again on sending (when
///   there is room for a second address), the pointer advanced each time; when one byte to
///   three are left after the first, Linux sends no reply (`ip_options_echo` fails):
///   `Malformed`;
/// * timestamp: as [`echo_timestamp`] fills it in, with the time `now`.
///
/// Linux's reply header is shorter when options were left out; ours keeps the request's
/// length (the END padding is longer) because a shorter header would have to start later in
/// the frame.
pub fn echo_options(
    opts: &[u8],
    our: [u8; 4],
    id: &Identity,
    now: TimeOfDay,
) -> Result<[u8; MAX_OPTIONS_LEN], DropReason> {
    let mut out = [option::END; MAX_OPTIONS_LEN];
    let (mut rr, mut ts): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    for opt in ipv4::Options::new(opts) {
        let opt = opt.map_err(|_| DropReason::Malformed)?;
        match opt.kind {
            option::RR => rr = Some(opt.bytes),
            option::TIMESTAMP => ts = Some(opt.bytes),
            _ => {}
        }
    }
    let mut at = 0;
    if let Some(opt) = rr {
        let dst = out
            .get_mut(at..at + opt.len())
            .ok_or(DropReason::Malformed)?;
        dst.copy_from_slice(opt);
        let len = opt.len();
        // Recorded on receipt, then again on sending if there is room for it.
        for _ in 0..2 {
            let pointer = usize::from(dst.get(2).copied().unwrap_or(0));
            if pointer > len {
                break;
            }
            // A slot of 4 bytes at `pointer` (1-based); none left: `ip_options_echo` fails.
            let slot = pointer
                .checked_sub(1)
                .and_then(|at| dst.get_mut(at..at + 4))
                .ok_or(DropReason::Malformed)?;
            slot.copy_from_slice(&our);
            if let Some(p) = dst.get_mut(2) {
                *p = p.wrapping_add(4);
            }
        }
        at += len;
    }
    if let Some(opt) = ts {
        let dst = out
            .get_mut(at..at + opt.len())
            .ok_or(DropReason::Malformed)?;
        dst.copy_from_slice(opt);
        echo_timestamp(dst, our, id, now)?;
    }
    Ok(out)
}

/// Whether Linux's `inet_addr_type` would call `a` `RTN_UNICAST` (someone else's address):
/// not one of ours, not in 0.0.0.0/8 or 255.255.255.255 (`RTN_BROADCAST`), not multicast,
/// not loopback (`RTN_LOCAL` by the kernel's `127.0.0.0/8` local route). The kernel's own
/// addresses on this host and its subnet broadcasts are not known here and count as
/// unicast.
fn is_others_unicast(a: [u8; 4], id: &Identity) -> bool {
    !(id.owns_v4(a) || a[0] == 0 || a[0] == 127 || is_group(a))
}

/// The 4 bytes of `opt` at the 1-based option `pointer`, if the option holds them.
fn slot(opt: &mut [u8], pointer: usize) -> Result<&mut [u8; 4], DropReason> {
    pointer
        .checked_sub(1)
        .and_then(|at| opt.get_mut(at..at + 4))
        .and_then(|s| <&mut [u8; 4]>::try_from(s).ok())
        .ok_or(DropReason::Malformed)
}

/// The timestamp option `opt` (already accepted by [`check_options`]) of an echo reply sent
/// from `our` at `now`, filled in as Linux fills it: first as `__ip_options_compile` does on
/// receipt, then as `ip_options_echo` and `ip_options_build` do on sending.
///
/// On receipt, when the pointer is inside the option:
/// * timestamps only (flag 0): the time at the pointer, pointer + 4;
/// * address and timestamp (flag 1): our address and the time, pointer + 8;
/// * prespecified (flag 3): if the address at the pointer is not someone else's unicast
///   address ([`is_others_unicast`]), the time after it and pointer + 8; else nothing;
/// * other flags: nothing.
///
/// When full (pointer past the option), the overflow count goes up by one (not for
/// prespecified; 15 was refused by [`check_options`]).
///
/// On sending, if the pointer (after receipt) is still inside the option and receipt wrote
/// an entry: one more entry of the same kind, for prespecified only if the next address is
/// not someone else's either. No room for it (1 to 3 bytes left, or 4 to 7 with the
/// address) and `ip_options_echo` fails: no reply (`Malformed`).
///
/// The time is milliseconds since midnight UTC in network order (`inet_current_timestamp`).
pub fn echo_timestamp(
    opt: &mut [u8],
    our: [u8; 4],
    id: &Identity,
    now: TimeOfDay,
) -> Result<(), DropReason> {
    let len = opt.len();
    let (Some(&pointer), Some(&flags_byte)) = (opt.get(2), opt.get(3)) else {
        return Err(DropReason::Malformed);
    };
    let (pointer, flags) = (usize::from(pointer), flags_byte & 0x0f);
    let time = now.0.to_be_bytes();
    // Receipt.
    let (mut need_addr, mut need_time) = (false, false);
    let mut advance = 0u8;
    if pointer <= len {
        match flags {
            option::TS_TSONLY => {
                *slot(opt, pointer)? = time;
                need_time = true;
                advance = 4;
            }
            option::TS_TSANDADDR => {
                *slot(opt, pointer)? = our;
                *slot(opt, pointer + 4)? = time;
                (need_addr, need_time) = (true, true);
                advance = 8;
            }
            option::TS_PRESPEC => {
                let addr = *slot(opt, pointer)?;
                if !is_others_unicast(addr, id) {
                    *slot(opt, pointer + 4)? = time;
                    need_time = true;
                    advance = 8;
                }
            }
            _ => {}
        }
    } else if flags != option::TS_PRESPEC {
        if let Some(f) = opt.get_mut(3) {
            *f = flags_byte.wrapping_add(0x10);
        }
    }
    let mut pointer = pointer + usize::from(advance);
    // Sending: `ip_options_echo` decides, `ip_options_build` writes.
    if pointer > len {
        return write_pointer(opt, pointer);
    }
    let (mut send_addr, mut send_time) = (false, false);
    if need_addr {
        if pointer + 3 > len {
            return Err(DropReason::Malformed);
        }
        send_addr = true;
        pointer += 4;
    }
    if need_time {
        if pointer + 3 > len {
            return Err(DropReason::Malformed);
        }
        if flags != option::TS_PRESPEC {
            send_time = true;
            pointer += 4;
        } else if pointer + 7 <= len {
            let addr = *slot(opt, pointer)?;
            if !is_others_unicast(addr, id) {
                send_time = true;
                pointer += 8;
            }
        }
    }
    write_pointer(opt, pointer)?;
    if send_addr {
        *slot(opt, pointer - 8)? = our;
    }
    if send_time {
        *slot(opt, pointer - 4)? = time;
    }
    Ok(())
}

fn write_pointer(opt: &mut [u8], pointer: usize) -> Result<(), DropReason> {
    let p = opt.get_mut(2).ok_or(DropReason::Malformed)?;
    *p = u8::try_from(pointer).map_err(|_| DropReason::Malformed)?;
    Ok(())
}

/// Handles the IPv4 packet at the start of `pkt` (`received` bytes of it came off the wire).
/// `tail` is the frame's continuation in further buffers ([`Tail::NONE`] for one buffer).
pub fn handle(
    pkt: &mut [u8],
    received: usize,
    tail: Tail,
    id: &Identity,
    now: TimeOfDay,
) -> Result<NetReply, DropReason> {
    let pkt = pkt.get_mut(..received).ok_or(DropReason::Truncated)?;
    let (hl, total) = {
        let fixed = pkt
            .first_chunk_mut::<MIN_HEADER_LEN>()
            .ok_or(DropReason::Truncated)?;
        let ip = ipv4::Packet::new_unchecked(&fixed[..]);
        if ip.version() != 4 {
            return Err(DropReason::Malformed);
        }
        (ip.header_len(), ip.total_len())
    };
    if hl < MIN_HEADER_LEN || total < hl || total > received + tail.len() {
        return Err(DropReason::Truncated);
    }
    if hl > received {
        // Options continue in the next buffer: headers are read only in the first.
        return Err(DropReason::Unsupported);
    }
    // The packet's part in this buffer and in the tail; the rest of both is padding.
    let head_total = total.min(received);
    let l4_tail = tail.prefix(total - head_total);
    let packet = pkt.get_mut(..head_total).ok_or(DropReason::Truncated)?;
    let (header, l4) = packet
        .split_at_mut_checked(hl)
        .ok_or(DropReason::Truncated)?;
    if !checksum::verifies(checksum::sum(header)) {
        return Err(DropReason::BadChecksum);
    }
    // Options stay where they are: they are covered by the checksum and need no change.
    let (fixed, options) = header
        .split_first_chunk_mut::<MIN_HEADER_LEN>()
        .ok_or(DropReason::Truncated)?;
    let mut ip = ipv4::Packet::new_unchecked(&mut fixed[..]);
    if ip.more_fragments() || ip.frag_offset() != 0 {
        return Err(DropReason::Fragment);
    }
    let (src, dst) = (ip.src(), ip.dst());
    if is_group(dst) {
        return Err(DropReason::BadDestination);
    }
    if !id.owns_v4(dst) {
        return Err(DropReason::NotOurs);
    }
    if !is_usable_unicast(src) || id.owns_v4(src) {
        return Err(DropReason::BadSource);
    }
    check_options(options)?;
    // Worked out before anything is written: a drop leaves the frame as it was.
    let reply_options = if ip.protocol() == protocol::ICMP && !options.is_empty() {
        Some(echo_options(options, dst, id, now)?)
    } else {
        None
    };

    let kind = match ip.protocol() {
        protocol::ICMP => icmp4::handle(l4, l4_tail, id)?,
        protocol::UDP => {
            // `l4.len() <= total <= u16::MAX`, so the length always fits the pseudo-header.
            let len = u16::try_from(l4.len() + l4_tail.len()).map_err(|_| DropReason::Truncated)?;
            let pseudo = checksum::pseudo_v4(src, dst, protocol::UDP, len);
            udp::handle(l4, l4_tail, pseudo, udp::ZeroChecksum::MeansNone, id)?;
            Answer::Udp4
        }
        _ => return Err(DropReason::Unsupported),
    };

    // Swapping the addresses leaves the (verified) sum unchanged; the other fields are
    // updated incrementally.
    ip.set_src(dst);
    ip.set_dst(src);
    ip.set_ttl_updating_checksum(REPLY_TTL);
    if kind == Answer::Udp4 {
        // As an unconnected Linux UDP socket sends: TOS 0 (the socket's, so no ECN mark
        // reflected) and DF set (path MTU discovery `IP_PMTUDISC_WANT`, the default).
        ip.set_dscp_ecn_updating_checksum(0);
        ip.set_flags_frag_updating_checksum(FLAG_DF);
    } else {
        // As `icmp_reply`: the request's TOS byte as it is (ECN bits included), DF clear (the
        // ICMP socket does no path MTU discovery).
        ip.set_flags_frag_updating_checksum(0);
    }
    if let Some(new) = reply_options {
        if let Some(new) = new.get(..options.len()) {
            options.copy_from_slice(new);
        }
        ip.set_checksum(0);
        let sum = checksum::add(checksum::sum(ip.as_bytes()), checksum::sum(options));
        ip.set_checksum(checksum::finish(sum));
    }
    // The ID stays the request's. Linux draws it from the hashed per-destination counters
    // of `__ip_select_ident` (random start, random jumps over time), for DF datagrams too;
    // without state on the data path, the requester's own counter is the equivalent we have:
    // it advances per packet of the flow and is deterministic.
    let strip = if kind == Answer::Udp4 {
        options.len()
    } else {
        0
    };
    if strip > 0 {
        // `total - strip >= MIN_HEADER_LEN` since `total >= hl = MIN_HEADER_LEN + strip`.
        let reply_total = u16::try_from(total - strip).map_err(|_| DropReason::Truncated)?;
        ip.set_version_header_len(MIN_HEADER_LEN);
        ip.set_total_len(reply_total);
        ip.fill_checksum();
        // The fixed header now ends where the options ended, directly before the datagram.
        pkt.copy_within(..MIN_HEADER_LEN, strip);
    }
    Ok(NetReply {
        offset: strip,
        len: total - strip,
        kind,
        dst: LinkDst::Requester,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Answer, DropReason, Verdict};
    use etherparse::{IpHeaders, PacketBuilder};

    #[test]
    fn reply_header_fields() {
        let mut req = icmp4_request_with_options(&[], b"hello");
        // Give the request a TOS, an ID and a non-default TTL to see what is kept.
        req[15] = 0xb8;
        req[18..20].copy_from_slice(&0x5a5au16.to_be_bytes());
        req[22] = 3;
        fix_ipv4_header(&mut req);
        let r = reply(&req, Answer::Icmp4Echo);
        let h = etherparse::Ipv4HeaderSlice::from_slice(&r[14..]).unwrap();
        assert_eq!(h.version(), 4);
        assert_eq!(h.ihl(), 5);
        assert_eq!(r[15], 0xb8, "TOS kept");
        assert_eq!(h.identification(), 0x5a5a, "ID kept");
        assert!(!h.dont_fragment(), "DF clear, as icmp_reply sends");
        assert!(!h.more_fragments());
        assert_eq!(h.ttl(), 64);
        assert_eq!(h.protocol(), etherparse::IpNumber::ICMP);
        assert_eq!(h.source(), OUR_V4);
        assert_eq!(h.destination(), PEER_V4);
        assert_eq!(usize::from(h.total_len()), req.len() - 14);
    }

    #[test]
    fn echoed_options_are_covered_by_the_checksum() {
        // IHL 6: a router alert, which Linux does not echo: END padding instead.
        // IHL 15: 36 NOPs and a full timestamp: the timestamp first, its overflow counted.
        let opts6 = [0x94, 0x04, 0x00, 0x00];
        let mut opts15 = [0x01u8; 40];
        opts15[36..].copy_from_slice(&[0x44, 0x04, 0x05, 0x00]);
        let want6 = [0u8; 4];
        let mut want15 = [0u8; 40];
        want15[..4].copy_from_slice(&[0x44, 0x04, 0x05, 0x10]);
        for (opts, echoed) in [(&opts6[..], &want6[..]), (&opts15[..], &want15[..])] {
            for n in [0, 1, 56, 1000] {
                let p = payload(n);
                let req = icmp4_request_with_options(opts, &p);
                assert_eq!(usize::from(req[14] & 0x0f), 5 + opts.len() / 4);
                let r = reply(&req, Answer::Icmp4Echo);
                let want = {
                    let h = ipv4_header(OUR_V4, PEER_V4, 64, echoed);
                    let mut v = Vec::new();
                    PacketBuilder::ethernet2(OUR_MAC, PEER_MAC)
                        .ip(IpHeaders::Ipv4(h, Default::default()))
                        .icmpv4_echo_reply(0x1234, 7)
                        .write(&mut v, &p)
                        .unwrap();
                    without_df(v)
                };
                assert_eq!(r, want, "IHL {} payload {n}", 5 + opts.len() / 4);
            }
        }
    }

    #[test]
    fn badly_framed_options_are_malformed() {
        for opts in [
            [0x44u8, 0x00, 0, 0], // length 0
            [0x44, 0x01, 0, 0],   // length 1
            [0x07, 0x08, 4, 0],   // record route running past the header
            [1, 1, 1, 0x44],      // an option with no room for its length byte
            [0x94, 0x05, 0, 0],   // router alert one byte too long
        ] {
            let f = icmp4_request_with_options(&opts, b"opt");
            assert_eq!(drop_reason(&f), DropReason::Malformed, "{opts:02x?}");
        }
    }

    #[test]
    fn source_routes_are_unsupported() {
        for kind in [0x83u8, 0x89] {
            let opts = [kind, 7, 4, 198, 51, 100, 1, 0];
            let f = icmp4_request_with_options(&opts, b"srr");
            assert_eq!(drop_reason(&f), DropReason::Unsupported, "option {kind:#x}");
            let mut f = udp4_request(b"srr");
            // Same check on the UDP path: rebuild the frame with the option.
            let h = ipv4_header(PEER_V4, OUR_V4, 64, &opts);
            let mut h = h;
            h.protocol = etherparse::IpNumber::UDP;
            f.clear();
            PacketBuilder::ethernet2(PEER_MAC, OUR_MAC)
                .ip(IpHeaders::Ipv4(h, Default::default()))
                .udp(PEER_PORT, UDP_PORT)
                .write(&mut f, b"srr")
                .unwrap();
            assert_eq!(drop_reason(&f), DropReason::Unsupported);
        }
    }

    /// The reply's options as `ip_options_echo` makes them (written out by hand from the
    /// kernel's rules; `tests/tests/fidelity.rs` checks the same against the kernel, live).
    #[test]
    fn options_are_echoed_as_linux_echoes_them() {
        let o = OUR_V4;
        let cases: &[(&str, &[u8], &[u8])] = &[
            // Room for one address: recorded on receipt; no room left for the send side.
            (
                "RR, one slot",
                &[7, 7, 4, 0, 0, 0, 0, 0],
                &[7, 7, 8, o[0], o[1], o[2], o[3], 0],
            ),
            // Two slots: our address twice (receipt and sending), as `ping -R` shows.
            (
                "RR, two slots",
                &[7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                &[7, 11, 12, o[0], o[1], o[2], o[3], o[0], o[1], o[2], o[3], 0],
            ),
            // ping -R: NOP, then RR of nine slots; the NOP is left out, END pads.
            ("ping -R", &PING_R_OPTIONS, &PING_R_REPLY),
            (
                "RR full",
                &[7, 7, 8, 1, 2, 3, 4, 0],
                &[7, 7, 8, 1, 2, 3, 4, 0],
            ),
            ("END, then padding", &[0, 0xff, 0xff, 0xff], &[0, 0, 0, 0]),
            ("unknown option", &[0x9e, 4, 0xab, 0xcd], &[0, 0, 0, 0]),
            // Timestamp with room for two: the time on receipt and again on sending.
            (
                "TS with room",
                &[68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                &[
                    68, 12, 13, 0, T[0], T[1], T[2], T[3], T[0], T[1], T[2], T[3],
                ],
            ),
            (
                "TS full",
                &[68, 8, 9, 0x20, 1, 2, 3, 4],
                &[68, 8, 9, 0x30, 1, 2, 3, 4],
            ),
            (
                "TS prespecified full",
                &[68, 12, 13, 0x23, 1, 2, 3, 4, 5, 6, 7, 8],
                &[68, 12, 13, 0x23, 1, 2, 3, 4, 5, 6, 7, 8],
            ),
            // TS before RR in the request: RR first in the reply.
            (
                "TS then RR",
                &[68, 8, 9, 0, 1, 2, 3, 4, 7, 7, 8, 5, 6, 7, 8, 0],
                &[7, 7, 8, 5, 6, 7, 8, 68, 8, 9, 0x10, 1, 2, 3, 4, 0],
            ),
        ];
        for (what, opts, want) in cases {
            let r = reply(&icmp4_request_with_options(opts, b"ok"), Answer::Icmp4Echo);
            assert_eq!(&r[34..34 + opts.len()], *want, "{what}");
        }
        // One to three bytes left after our first address: ip_options_echo fails, no reply.
        let f = icmp4_request_with_options(&[7, 8, 4, 0, 0, 0, 0, 0], b"rr");
        assert_eq!(drop_reason(&f), DropReason::Malformed);
    }

    /// The time of day the tests answer at, as the option carries it.
    const T: [u8; 4] = NOW.0.to_be_bytes();

    /// The timestamp option as `ip_options_compile` (receipt), `ip_options_echo` and
    /// `ip_options_build` (sending) fill it in, written out by hand from the kernel's code.
    #[test]
    fn timestamps_are_filled_in_as_linux_fills_them() {
        let (o, x, t) = (OUR_V4, PEER_V4, T);
        let z = [0u8; 4];
        let cat = |parts: &[&[u8]]| parts.concat();
        // What, the option, the echoed option (`None`: no reply).
        type Case = (&'static str, Vec<u8>, Option<Vec<u8>>);
        let cases: Vec<Case> = vec![
            (
                "timestamps only, one slot: receipt only",
                cat(&[&[68, 8, 5, 0], &z]),
                Some(cat(&[&[68, 8, 9, 0], &t])),
            ),
            (
                "timestamps only, second slot: receipt fills it, full for sending",
                cat(&[&[68, 12, 9, 0], &[9, 9, 9, 9], &z]),
                Some(cat(&[&[68, 12, 13, 0], &[9, 9, 9, 9], &t])),
            ),
            (
                "timestamps only, 40 bytes (ping -T tsonly): two entries",
                cat(&[&[68, 40, 5, 0], &[0; 36]]),
                Some(cat(&[&[68, 40, 13, 0], &t, &t, &[0; 28]])),
            ),
            (
                "timestamps only, 2 bytes left after receipt: ip_options_echo fails",
                cat(&[&[68, 10, 5, 0], &z, &[0, 0], &[0, 0]]),
                None,
            ),
            (
                "address and timestamp, one entry",
                cat(&[&[68, 12, 5, 1], &z, &z]),
                Some(cat(&[&[68, 12, 13, 1], &o, &t])),
            ),
            (
                "address and timestamp, two entries",
                cat(&[&[68, 20, 5, 1], &z, &z, &z, &z]),
                Some(cat(&[&[68, 20, 21, 1], &o, &t, &o, &t])),
            ),
            (
                "address and timestamp, 4 bytes left after receipt: ip_options_echo fails",
                cat(&[&[68, 16, 5, 1], &z, &z, &z]),
                None,
            ),
            (
                "prespecified, ours",
                cat(&[&[68, 12, 5, 3], &o, &z]),
                Some(cat(&[&[68, 12, 13, 3], &o, &t])),
            ),
            (
                "prespecified, ours twice",
                cat(&[&[68, 20, 5, 3], &o, &z, &o, &z]),
                Some(cat(&[&[68, 20, 21, 3], &o, &t, &o, &t])),
            ),
            (
                "prespecified, ours then another host's",
                cat(&[&[68, 20, 5, 3], &o, &z, &x, &z]),
                Some(cat(&[&[68, 20, 13, 3], &o, &t, &x, &z])),
            ),
            (
                "prespecified, ours, 4 bytes left: no second entry, no failure",
                cat(&[&[68, 16, 5, 3], &o, &z, &z]),
                Some(cat(&[&[68, 16, 13, 3], &o, &t, &z])),
            ),
            (
                "prespecified, another host's first: untouched",
                cat(&[&[68, 20, 5, 3], &x, &z, &o, &z]),
                Some(cat(&[&[68, 20, 5, 3], &x, &z, &o, &z])),
            ),
            (
                "prespecified, 0.0.0.0 (RTN_BROADCAST, not unicast)",
                cat(&[&[68, 12, 5, 3], &z, &z]),
                Some(cat(&[&[68, 12, 13, 3], &z, &t])),
            ),
            (
                "prespecified, multicast",
                cat(&[&[68, 12, 5, 3], &[224, 0, 0, 1], &z]),
                Some(cat(&[&[68, 12, 13, 3], &[224, 0, 0, 1], &t])),
            ),
            (
                "unknown flag 2: untouched",
                cat(&[&[68, 8, 5, 2], &z]),
                Some(cat(&[&[68, 8, 5, 2], &z])),
            ),
            (
                "full: overflow counted, nothing written",
                cat(&[&[68, 8, 9, 0x10], &[9, 9, 9, 9]]),
                Some(cat(&[&[68, 8, 9, 0x20], &[9, 9, 9, 9]])),
            ),
        ];
        for (what, opts, want) in cases {
            let f = icmp4_request_with_options(&opts, b"ts");
            match want {
                Some(want) => {
                    let r = reply(&f, Answer::Icmp4Echo);
                    assert_eq!(&r[34..34 + opts.len()], &want[..], "{what}");
                    // The ICMP message is untouched by the options.
                    assert_eq!(&r[34 + opts.len() + 4..], &f[34 + opts.len() + 4..]);
                }
                None => assert_eq!(drop_reason(&f), DropReason::Malformed, "{what}"),
            }
        }
        // The time is the one passed in: another time, other bytes.
        let f = icmp4_request_with_options(&cat(&[&[68, 8, 5, 0], &z]), b"ts");
        let mut buf = f.clone();
        buf.resize(CHUNK, 0);
        let later = super::super::TimeOfDay(NOW.0 + 1);
        assert!(matches!(
            super::super::handle(&mut buf, f.len(), &identity(), later),
            Verdict::Reply { .. }
        ));
        assert_eq!(&buf[38..42], &(NOW.0 + 1).to_be_bytes());
    }

    #[test]
    fn time_of_day_is_milliseconds_since_midnight_utc() {
        use super::super::TimeOfDay;
        use std::time::Duration;
        // 2023-11-14 22:13:20.123 UTC.
        let d = Duration::from_millis(1_700_000_000_123);
        assert_eq!(TimeOfDay::from_unix(d), TimeOfDay(80_000_123));
        assert_eq!(TimeOfDay::from_unix(Duration::ZERO), TimeOfDay(0));
        let last = Duration::from_secs(86_400) - Duration::from_nanos(1);
        assert_eq!(TimeOfDay::from_unix(last), TimeOfDay(86_399_999));
        assert_eq!(
            TimeOfDay::from_unix(Duration::from_secs(86_400)),
            TimeOfDay(0)
        );
    }

    const PING_R_OPTIONS: [u8; 40] = {
        let mut o = [0u8; 40];
        o[0] = 1;
        o[1] = 7;
        o[2] = 39;
        o[3] = 4;
        o
    };
    const PING_R_REPLY: [u8; 40] = {
        let mut o = [0u8; 40];
        o[0] = 7;
        o[1] = 39;
        o[2] = 12;
        let a = OUR_V4;
        let mut i = 0;
        while i < 4 {
            o[3 + i] = a[i];
            o[7 + i] = a[i];
            i += 1;
        }
        o
    };

    /// Options by the rules of Linux's `__ip_options_compile` for received packets, each padded
    /// with END to a multiple of 4: `None` = answered (options kept), else the drop reason.
    #[test]
    fn options_follow_linux_ip_options_compile() {
        use DropReason::{Malformed, Unsupported};
        let cases: &[(&str, &[u8], Option<DropReason>)] = &[
            ("RR pointer 3", &[7, 7, 3, 0, 0, 0, 0], Some(Malformed)),
            ("RR pointer 4, room for one", &[7, 7, 4, 0, 0, 0, 0], None),
            ("RR full (pointer past it)", &[7, 7, 8, 1, 2, 3, 4], None),
            (
                "RR pointer inside, no room",
                &[7, 7, 5, 0, 0, 0, 0],
                Some(Malformed),
            ),
            ("RR length 2", &[7, 2, 1, 0], Some(Malformed)),
            (
                "RR twice",
                &[7, 7, 4, 0, 0, 0, 0, 7, 7, 4, 0, 0, 0, 0],
                Some(Malformed),
            ),
            ("TS pointer 4", &[68, 8, 4, 0, 0, 0, 0, 0], Some(Malformed)),
            ("TS pointer 5, room", &[68, 8, 5, 0, 0, 0, 0, 0], None),
            ("TS length 3", &[68, 3, 5, 0], Some(Malformed)),
            ("TS full, overflow 14", &[68, 8, 9, 0xe0, 1, 2, 3, 4], None),
            (
                "TS full, overflow 15",
                &[68, 8, 9, 0xf0, 1, 2, 3, 4],
                Some(Malformed),
            ),
            (
                "TS prespecified full, overflow 15",
                &[68, 12, 13, 0xf3, 1, 2, 3, 4, 5, 6, 7, 8],
                None,
            ),
            (
                "TS address+time, 4 bytes left",
                &[68, 8, 5, 0x01, 0, 0, 0, 0],
                Some(Malformed),
            ),
            (
                "TS address+time, room",
                &[68, 12, 5, 0x01, 0, 0, 0, 0, 0, 0, 0, 0],
                None,
            ),
            (
                "TS prespecified, 4 bytes left",
                &[68, 8, 5, 0x03, 192, 0, 2, 1],
                Some(Malformed),
            ),
            ("TS unknown flag 2", &[68, 8, 5, 0x02, 0, 0, 0, 0], None),
            (
                "TS twice",
                &[68, 8, 5, 0, 0, 0, 0, 0, 68, 8, 5, 0, 0, 0, 0, 0],
                Some(Malformed),
            ),
            ("router alert length 2", &[148, 2, 1, 1], Some(Malformed)),
            ("router alert", &[148, 4, 0, 0], None),
            ("CIPSO", &[134, 8, 0, 0, 0, 1, 1, 2], Some(Malformed)),
            ("security (RFC 1108)", &[130, 4, 0xab, 0xcd], None),
            ("length past the header", &[0x9e, 9, 0, 0], Some(Malformed)),
            (
                "LSRR pointer 3",
                &[131, 7, 3, 198, 51, 100, 1],
                Some(Malformed),
            ),
            ("SSRR length 2", &[137, 2, 1, 0], Some(Malformed)),
            ("LSRR", &[131, 7, 4, 198, 51, 100, 1], Some(Unsupported)),
            (
                "SSRR full",
                &[137, 7, 8, 198, 51, 100, 1],
                Some(Unsupported),
            ),
            (
                "two source routes",
                &[131, 7, 4, 198, 51, 100, 1, 137, 7, 4, 198, 51, 100, 1],
                Some(Malformed),
            ),
            (
                "LSRR, then a bad RR",
                &[131, 7, 4, 198, 51, 100, 1, 7, 7, 3, 0, 0, 0, 0],
                Some(Malformed),
            ),
        ];
        for (what, opts, want) in cases {
            let mut o = opts.to_vec();
            while o.len() % 4 != 0 {
                o.push(0);
            }
            let f = icmp4_request_with_options(&o, b"opts");
            match want {
                None => {
                    let r = reply(&f, Answer::Icmp4Echo);
                    assert_eq!(r[14], f[14], "{what}: header length kept");
                }
                Some(reason) => assert_eq!(drop_reason(&f), *reason, "{what}"),
            }
        }
    }

    #[test]
    fn icmp_reply_reflects_the_whole_tos_byte() {
        // icmp_reply sets ipc.tos = the request's TOS, ECN bits included (CE here).
        for tos in [0x03u8, 0xb8, 0xbb, 0x01] {
            let mut f = icmp4_request(b"tos");
            f[15] = tos;
            fix_ipv4_header(&mut f);
            assert_eq!(reply(&f, Answer::Icmp4Echo)[15], tos);
        }
    }

    #[test]
    fn udp_reply_header_is_a_linux_sockets() {
        // An unconnected UDP socket with the default IP_PMTUDISC_WANT: TOS 0, DF; the ID is
        // the request's (Linux's comes from its hashed counters).
        for (tos, flags, ident) in [(0x03u8, 0x00u8, 0x1234u16), (0xbb, 0x40, 0xbeef), (0, 0, 0)] {
            let mut f = udp4_request(b"linux");
            f[15] = tos;
            f[18..20].copy_from_slice(&ident.to_be_bytes());
            f[20] = flags;
            fix_ipv4_header(&mut f);
            let r = reply(&f, Answer::Udp4);
            let h = etherparse::Ipv4HeaderSlice::from_slice(&r[14..]).unwrap();
            assert_eq!(
                r[15], 0,
                "TOS 0 (no ECN reflected) for request TOS {tos:#04x}"
            );
            assert!(h.dont_fragment(), "DF");
            assert_eq!(h.identification(), ident, "ID");
            assert_eq!(h.ttl(), 64);
        }
    }

    /// A UDP request from the peer to our echo port with IPv4 `options` (a multiple of 4).
    fn udp4_request_with_options(options: &[u8], p: &[u8]) -> Vec<u8> {
        let mut h = ipv4_header(PEER_V4, OUR_V4, 64, options);
        h.protocol = etherparse::IpNumber::UDP;
        h.identification = 0x4d2e;
        let mut f = Vec::new();
        PacketBuilder::ethernet2(PEER_MAC, OUR_MAC)
            .ip(IpHeaders::Ipv4(h, Default::default()))
            .udp(PEER_PORT, UDP_PORT)
            .write(&mut f, p)
            .unwrap();
        f
    }

    #[test]
    fn udp_reply_drops_the_options_and_keeps_the_payload_in_place() {
        // A Linux UDP socket's reply carries no options: the reply is the option-free datagram
        // a socket sends, starting `options.len()` bytes into the frame.
        let mut ping_r = vec![1u8, 7, 39, 4];
        ping_r.resize(40, 0);
        let cases: &[(&str, &[u8])] = &[
            ("NOPs", &[1, 1, 1, 0]),
            ("router alert", &[148, 4, 0, 0]),
            ("RR with room", &[7, 7, 4, 0, 0, 0, 0, 0]),
            ("TS with room", &[68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            ("unknown option", &[0x9e, 4, 0xab, 0xcd]),
            ("40 bytes (ping -R)", &ping_r),
        ];
        for (what, opts) in cases {
            for n in [0usize, 1, 17, 1000, 1472 - opts.len()] {
                let p = payload(n);
                let req = udp4_request_with_options(opts, &p);
                let (v, buf) = run_with(&req, &identity());
                let Verdict::Reply { offset, len, kind } = v else {
                    panic!("{what}, payload {n}: {v:?}");
                };
                assert_eq!(
                    (offset, len, kind),
                    (opts.len(), req.len() - opts.len(), Answer::Udp4),
                    "{what}, payload {n}"
                );
                let r = &buf[offset..offset + len];
                // Byte-exact: what etherparse builds for an option-free reply from us, with
                // the request's ID and DF (an unconnected socket's IP_PMTUDISC_WANT).
                let mut h = etherparse::Ipv4Header::new(
                    u16::try_from(8 + n).unwrap(),
                    64,
                    etherparse::IpNumber::UDP,
                    OUR_V4,
                    PEER_V4,
                )
                .unwrap();
                h.identification = 0x4d2e;
                h.dont_fragment = true;
                let mut want = Vec::new();
                PacketBuilder::ethernet2(OUR_MAC, PEER_MAC)
                    .ip(IpHeaders::Ipv4(h, Default::default()))
                    .udp(UDP_PORT, PEER_PORT)
                    .write(&mut want, &p)
                    .unwrap();
                assert_eq!(r, &want[..], "{what}, payload {n}");
                // Checksums verified independently of the handler and of the builder.
                let ip = etherparse::Ipv4HeaderSlice::from_slice(&r[14..]).unwrap();
                assert_eq!((ip.ihl(), usize::from(ip.total_len())), (5, len - 14));
                assert_eq!(
                    xdp_testkit::reference::sum(&[&r[14..34]]),
                    0xffff,
                    "{what}: header checksum"
                );
                let udp = etherparse::UdpHeaderSlice::from_slice(&r[34..]).unwrap();
                assert_eq!(
                    udp.to_header()
                        .calc_checksum_ipv4_raw(OUR_V4, PEER_V4, &r[42..])
                        .unwrap(),
                    udp.checksum(),
                    "{what}: UDP checksum"
                );
                // The datagram's payload was not moved: it is where the request had it.
                let at = 14 + 20 + opts.len() + 8;
                assert_eq!(&buf[at..at + n], &req[at..], "{what}: payload moved");
            }
        }
    }

    #[test]
    fn udp_with_options_linux_rejects_is_not_answered() {
        // The option checks are those of ICMP: a reply only where Linux delivers.
        for (opts, why) in [
            (&[7u8, 7, 3, 0, 0, 0, 0, 0][..], DropReason::Malformed),
            (&[68, 8, 9, 0xf0, 1, 2, 3, 4], DropReason::Malformed),
            (&[131, 7, 4, 198, 51, 100, 1, 0], DropReason::Unsupported),
        ] {
            let req = udp4_request_with_options(opts, b"no");
            let (v, buf) = run_with(&req, &identity());
            assert_eq!(v, Verdict::Drop(why), "{opts:02x?}");
            assert_eq!(
                &buf[..req.len()],
                &req[..],
                "a drop leaves the frame as it was"
            );
        }
    }

    #[test]
    fn udp_with_options_and_a_bad_udp_checksum_is_dropped_untouched() {
        let mut req = udp4_request_with_options(&[1, 1, 1, 0], b"bad");
        let last = req.len() - 1;
        req[last] ^= 1;
        let (v, buf) = run_with(&req, &identity());
        assert_eq!(v, Verdict::Drop(DropReason::BadChecksum));
        assert_eq!(&buf[..req.len()], &req[..]);
    }

    #[test]
    fn padding_is_not_echoed() {
        // 42-byte echo (no data) padded to the 60-byte minimum with junk.
        let req = icmp4_request(&[]);
        assert_eq!(req.len(), 42);
        let mut padded = req.clone();
        padded.resize(60, 0xee);
        let r = reply(&padded, Answer::Icmp4Echo);
        assert_eq!(r.len(), 42);
        assert_eq!(r, reply(&req, Answer::Icmp4Echo));
    }

    #[test]
    fn bad_header_checksum() {
        let mut f = icmp4_request(b"abc");
        f[24] ^= 0x01;
        assert_eq!(drop_reason(&f), DropReason::BadChecksum);
        // Corrupting an option byte is caught too (options are inside the checksum).
        let mut f = icmp4_request_with_options(&[1, 1, 1, 0], b"abc");
        f[34] = 7;
        assert_eq!(drop_reason(&f), DropReason::BadChecksum);
    }

    #[test]
    fn fragments_are_never_answered() {
        for (b20, b21) in [
            (0x20, 0x00),
            (0x00, 0x01),
            (0x20, 0x10),
            (0x1f, 0xff),
            (0x40 | 0x20, 0),
        ] {
            let mut f = icmp4_request(b"fragment");
            f[20] = b20;
            f[21] = b21;
            fix_ipv4_header(&mut f);
            assert_eq!(
                drop_reason(&f),
                DropReason::Fragment,
                "flags/offset {b20:02x}{b21:02x}"
            );
        }
    }

    #[test]
    fn version_other_than_4_is_malformed() {
        let mut f = icmp4_request(b"v");
        f[14] = 0x65;
        fix_ipv4_header(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Malformed);
    }

    #[test]
    fn ihl_below_5_is_truncated() {
        for ihl in 0..5u8 {
            let mut f = icmp4_request(b"abcd");
            f[14] = 0x40 | ihl;
            assert_eq!(drop_reason(&f), DropReason::Truncated, "IHL {ihl}");
        }
    }

    #[test]
    fn ihl_past_total_length_or_frame_is_truncated() {
        // 28-byte packet claiming a 60-byte header.
        let mut f = icmp4_request(&[]);
        f[14] = 0x4f;
        fix_ipv4_header(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Truncated);
        // Header longer than the whole frame, total length consistent with it.
        let mut f = icmp4_request(&[]);
        f[14] = 0x4f;
        f[16..18].copy_from_slice(&60u16.to_be_bytes());
        assert_eq!(drop_reason(&f), DropReason::Truncated);
    }

    #[test]
    fn total_length_past_frame_or_below_header_is_truncated() {
        let mut f = icmp4_request(b"0123456789");
        let tl = u16::from_be_bytes([f[16], f[17]]);
        f[16..18].copy_from_slice(&(tl + 1).to_be_bytes());
        fix_ipv4_header(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Truncated);
        for tl in [0u16, 19] {
            let mut f = icmp4_request(b"0123456789");
            f[16..18].copy_from_slice(&tl.to_be_bytes());
            fix_ipv4_header(&mut f);
            assert_eq!(drop_reason(&f), DropReason::Truncated, "total length {tl}");
        }
    }

    #[test]
    fn total_length_smaller_than_frame_sizes_the_reply() {
        // Shrink the IP packet by 4 bytes of ICMP data; the frame keeps them as "padding".
        let p = payload(30);
        let mut f = icmp4_request(&p);
        let tl = u16::from_be_bytes([f[16], f[17]]) - 4;
        f[16..18].copy_from_slice(&tl.to_be_bytes());
        fix_ipv4_header(&mut f);
        fix_checksums(&mut f);
        let r = reply(&f, Answer::Icmp4Echo);
        assert_eq!(r.len(), 14 + usize::from(tl));
        assert_eq!(&r[42..], &p[..26]);
    }

    #[test]
    fn unusable_source_ip_is_bad_source() {
        for src in [
            [0, 0, 0, 0],
            [0, 1, 2, 3],
            [255, 255, 255, 255],
            [224, 0, 0, 1],
            [239, 1, 2, 3],
            [127, 0, 0, 1],
        ] {
            let f = icmp4_echo(src, OUR_V4, 1, 1, b"x");
            assert_eq!(drop_reason(&f), DropReason::BadSource, "{src:?}");
        }
    }

    #[test]
    fn destination_checks() {
        assert_eq!(
            drop_reason(&icmp4_echo(PEER_V4, OTHER_V4, 1, 1, b"x")),
            DropReason::NotOurs
        );
        assert_eq!(
            drop_reason(&icmp4_echo(PEER_V4, [192, 0, 2, 255], 1, 1, b"x")),
            DropReason::NotOurs
        );
        for dst in [[255, 255, 255, 255], [224, 0, 0, 1]] {
            assert_eq!(
                drop_reason(&icmp4_echo(PEER_V4, dst, 1, 1, b"x")),
                DropReason::BadDestination
            );
        }
        // Our second address answers from itself; our own address is no valid source.
        assert_eq!(
            drop_reason(&icmp4_echo(OUR_V4_B, OUR_V4, 1, 1, b"x")),
            DropReason::BadSource
        );
        assert_eq!(
            drop_reason(&icmp4_echo(OUR_V4, OUR_V4, 1, 1, b"x")),
            DropReason::BadSource
        );
        let r = reply(
            &icmp4_echo(PEER_V4, OUR_V4_B, 1, 1, b"x"),
            Answer::Icmp4Echo,
        );
        assert_eq!(&r[26..30], &OUR_V4_B);
    }

    #[test]
    fn other_protocols_are_unsupported() {
        let mut f = icmp4_request(b"0123456789abcdef0123");
        f[23] = 6; // TCP
        fix_ipv4_header(&mut f);
        assert_eq!(drop_reason(&f), DropReason::Unsupported);
    }

    #[test]
    fn header_shorter_than_20_is_truncated() {
        let f = icmp4_request(b"");
        for n in 14..34 {
            assert_eq!(drop_reason(&f[..n]), DropReason::Truncated, "len {n}");
        }
    }
}
