//! Packet handlers: pure functions that turn a request frame into its reply *in place*.
//!
//! A handler sees one UMEM frame as `&mut [u8]` (the whole chunk, so a reply may use the room
//! after the received bytes) plus the number of bytes received, and returns a [`Verdict`]:
//! either "the reply is the first N bytes of this same buffer" or "drop, because R".
//! No handler allocates, copies payload, or does I/O; all are testable without root.
//!
//! The formats, views and checksums are [`xdp_wire`]'s; each module here is the policy of one
//! protocol: what to accept (as Linux does) and how the reply's fields are set. The modules
//! form a tree, rooted here:
//!
//! * this module: the reply and verdict types, and [`handle`], which validates the link
//!   header (Linux's link-layer address checks, see `link_tests`), dispatches by
//!   EtherType and addresses the reply;
//! * `arp`; `ipv4` (header checks shared by ICMP and UDP) → `icmp4`, `udp`;
//!   `ipv6` (header checks, ICMPv6 type dispatch) → `icmp6` (echo), `ndp` (NS → NA), `udp`;
//!   `echo` holds the echo turn-around both ICMP versions share.
//!
//! Who we answer for is [`crate::identity::Identity`]; the stateful echo rate limit is
//! [`crate::ratelimit`], applied by the worker after the handler.
//!
//! Reply sizes: ARP replies are always 42 bytes; IP replies are exactly `14 + the request's IP
//! length` (total length for IPv4, 40 + payload length for IPv6; a UDP reply less the IPv4
//! options it leaves out, and it starts that much later in the frame), so Ethernet padding on
//! the request is never echoed; a Neighbor Advertisement is 78 bytes (answering a unicast
//! solicitation) or 86 (with our link-layer address), longer than the request only for a
//! DAD solicitation without options. Frames under 60 bytes are left to the NIC to pad, as
//! for the kernel's own replies. Nothing here panics on any input: lengths are checked before every access.
//! docs/ROBUSTNESS.md lists what happens to each kind of bad frame; the properties every reply
//! has are checked by `tests/handler_props.rs` (proptest) and the cargo-fuzz target in `fuzz/`.
// Production code may not index slices, unwrap or panic (constant indices into fixed-size
// arrays stay allowed: they are checked at compile time); test code may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod arp;
mod chain;
mod echo;
mod icmp4;
mod icmp6;
mod ipv4;
mod ipv6;
#[cfg(test)]
mod link_tests;
mod ndp;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
mod udp;

pub use crate::identity::Identity;
pub use chain::Tail;
use xdp_wire::ethernet::{self, ethertype, is_group, is_valid_unicast};

/// What to do with a frame after its handler ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The buffer now holds the reply: send the `len` bytes that start `offset` bytes into
    /// the same frame. `offset` is 0 except where headers were removed (a UDP reply drops the
    /// request's IPv4 options): the headers before them moved forward, the payload stayed.
    Reply {
        offset: usize,
        len: usize,
        kind: Answer,
    },
    /// Send nothing; count the frame under this reason.
    Drop(DropReason),
}

xdp_common::named_enum! {
    /// The kinds of answer we send.
    pub enum Answer: usize {
        Arp => "arp",
        Icmp4Echo => "icmp4_echo",
        Icmp6Echo => "icmp6_echo",
        Ndp => "ndp",
        Udp4 => "udp4",
        Udp6 => "udp6",
    }
}

xdp_common::named_enum! {
    /// Why a frame got no answer. Every frame that reaches user space and is not answered is
    /// counted under exactly one of these.
    pub enum DropReason: usize {
        /// Shorter than the headers it claims (Ethernet, ARP, IP, ICMP, UDP), or length fields
        /// inconsistent with the frame (IHL < 5, IP total length past the frame, UDP length ...).
        Truncated => "truncated",
        /// A header field we do not accept: IP version, ARP hardware/protocol type, ...
        Malformed => "malformed",
        /// IPv4 header, ICMP, ICMPv6 or UDP checksum does not verify.
        BadChecksum => "bad_checksum",
        /// An IPv4 fragment (MF set or offset != 0): never answered as if whole.
        Fragment => "fragment",
        /// Not addressed to one of our addresses / ports, or a protocol switched off, or a unicast
        /// frame for another host's MAC (Linux's `PACKET_OTHERHOST`).
        NotOurs => "not_ours",
        /// Source MAC or IP is broadcast, multicast, unspecified or otherwise not answerable, or a
        /// UDP source port an echo must not go to (0, or a loop-prone service port).
        BadSource => "bad_source",
        /// Destination is broadcast or multicast where Linux would not reply.
        BadDestination => "bad_destination",
        /// A well-formed frame of a kind we do not answer (ARP reply, gratuitous ARP, ICMP types
        /// other than echo request, IPv6 extension headers, NDP with hop limit != 255, IPv4
        /// source routes, ...).
        Unsupported => "unsupported",
        /// The reply would not fit the frame buffer.
        TooBig => "too_big",
        /// An echo reply held back by the per-source rate limit (`--echo-rate`; set by the
        /// worker, never by `handle`).
        RateLimited => "rate_limited",
        /// A multi-buffer frame spanning more buffers than a reply may (`--max-chain`; the
        /// kernel's copy-mode limit is 18): set by the worker, which never sends such a chain.
        ChainTooLong => "chain_too_long",
    }
}

/// The time of day as the IPv4 timestamp option carries it (RFC 791): milliseconds since
/// midnight UTC, as Linux's `inet_current_timestamp` computes it. The handlers read no clock:
/// the worker takes the time once per batch and passes it in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeOfDay(pub u32);

impl TimeOfDay {
    const MS_PER_DAY: u64 = 86_400_000;

    /// The time of day `since_epoch` after 1970-01-01 00:00 UTC (days are 86 400 s: the Unix
    /// clock has no leap seconds, nor has Linux's).
    pub fn from_unix(since_epoch: std::time::Duration) -> Self {
        let ms = (since_epoch.as_secs() % 86_400) * 1000 + u64::from(since_epoch.subsec_millis());
        // Below 86 400 000, so it fits.
        TimeOfDay((ms % Self::MS_PER_DAY) as u32)
    }
}

/// Entry point: classify the frame and, if it is a request we answer, rewrite it into the
/// reply in place. `buf` is the whole frame buffer, `len` the received length (`len <= buf.len()`).
/// `now` is written where a reply records the time (the IPv4 timestamp option).
///
/// A reply never exceeds `buf.len()`. If `len > buf.len()` (a caller bug) only the bytes
/// present are considered.
pub fn handle(buf: &mut [u8], len: usize, id: &Identity, now: TimeOfDay) -> Verdict {
    handle_chain(buf, len, Tail::NONE, id, now)
}

/// [`handle`] for a frame that continues in further buffers (`tail`, see [`Tail`]): `buf`
/// is its first buffer, of which `len` bytes were received. The reply leaves from the same
/// buffers: `len` of the verdict counts the tail's bytes too (the worker sends that many,
/// from the first buffer on). Only UDP and ICMP/ICMPv6 echo span buffers; their headers
/// must all be in the first buffer (`Unsupported` otherwise). A tail past the packet's end
/// is padding, as in one buffer (an ARP request is answered from the first buffer); a
/// Neighbor Solicitation in a multi-buffer frame is `Unsupported` (its reply may grow).
pub fn handle_chain(
    buf: &mut [u8],
    len: usize,
    tail: Tail,
    id: &Identity,
    now: TimeOfDay,
) -> Verdict {
    match dispatch(buf, len, tail, id, now) {
        Ok((offset, len, kind)) => Verdict::Reply { offset, len, kind },
        Err(reason) => Verdict::Drop(reason),
    }
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

/// What a network-layer handler produced: the reply is the `len` bytes that start `offset`
/// bytes after the request's network header (0 unless the handler removed header bytes in
/// front of the payload and moved what precedes them forward by `offset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetReply {
    pub offset: usize,
    pub len: usize,
    pub kind: Answer,
    pub dst: LinkDst,
}

/// The network-layer handlers see the frame after the 14-byte header and return a
/// [`NetReply`]; this module then writes the reply's MAC addresses (destination = the
/// requester's source MAC unless the handler names another, source = our MAC) and adds the
/// header length. VLAN-tagged frames (802.1Q, 802.1ad, the old 0x9100 QinQ tag) are not
/// answered: the XDP program passes them to the kernel, and replying untagged would be wrong.
///
/// Link-layer address checks, as Linux applies them before any protocol sees a frame:
/// * the destination MAC must be ours or a group address: a unicast frame for another host
///   (seen in promiscuous mode, on a mirror port or a veth) is `NotOurs`, as Linux drops
///   `PACKET_OTHERHOST` frames in `ip_rcv` / `ipv6_rcv` / `arp_rcv`;
/// * the source MAC must be a valid unicast address, where the reply can go: a group address
///   or 00:00:00:00:00:00 is `BadSource` (we never reflect a reply to a group).
///
/// When the network layer's reply starts later in the frame (`NetReply::offset`), the
/// Ethernet header is moved forward by as much, so that it directly precedes it.
///
/// `buf` is the whole frame buffer, the first `len` bytes were received. Returns the reply's
/// offset in the frame, its length (Ethernet header included) and kind.
fn dispatch(
    buf: &mut [u8],
    len: usize,
    tail: Tail,
    id: &Identity,
    now: TimeOfDay,
) -> Result<(usize, usize, Answer), DropReason> {
    // `len` can only exceed the buffer through a caller bug; trust the bytes we have.
    let received = len.min(buf.len());
    let (hdr, rest) = buf
        .split_at_mut_checked(ethernet::HEADER_LEN)
        .ok_or(DropReason::Truncated)?;
    let net_received = received
        .checked_sub(ethernet::HEADER_LEN)
        .ok_or(DropReason::Truncated)?;
    let mut eth = ethernet::Frame::new_unchecked(hdr);

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
        ethertype::IPV4 => ipv4::handle(rest, net_received, tail, id, now)?,
        ethertype::IPV6 => ipv6::handle(rest, net_received, tail, id)?,
        // A reply would have to carry the tag; the XDP program leaves tagged traffic to the kernel.
        t if ethertype::is_vlan_tag(t) => return Err(DropReason::Unsupported),
        // Everything else (LLDP, 802.3 length fields, ...) is not ours to answer either.
        _ => return Err(DropReason::Unsupported),
    };
    eth.set_dst(match reply.dst {
        LinkDst::Requester => requester,
        LinkDst::Mac(mac) => mac,
    });
    eth.set_src(id.mac);
    if reply.offset > 0 {
        // The network layer checked that its reply lies inside the frame, so the moved
        // header does too; `get_mut` keeps that from being a panic if it ever did not.
        buf.get_mut(..reply.offset + ethernet::HEADER_LEN)
            .ok_or(DropReason::Truncated)?
            .copy_within(..ethernet::HEADER_LEN, reply.offset);
    }
    Ok((reply.offset, ethernet::HEADER_LEN + reply.len, reply.kind))
}
