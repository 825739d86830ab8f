//! ICMP echo request → echo reply, shared by ICMPv4 (RFC 792) and ICMPv6 (RFC 4443).
//!
//! Both use the same layout — type, code, checksum, identifier, sequence number, data — and
//! differ only in the type numbers and in whether the checksum covers a pseudo-header. The
//! reply changes only the type byte, so the checksum is updated incrementally (RFC 1624) and
//! the data is never touched or copied.

use super::{DropReason, Tail};
use xdp_wire::{checksum, icmp};

/// Type numbers of one ICMP version's echo messages.
#[derive(Clone, Copy, Debug)]
pub struct EchoTypes {
    pub request: u8,
    pub reply: u8,
}

/// Turns the echo request `msg` (the whole ICMP message, exactly as long as the IP layer
/// says) into an echo reply in place.
///
/// `pseudo` is the pseudo-header sum (0 for ICMPv4, which has none). Checks, in order: at
/// least 8 bytes (`Truncated`), checksum (`BadChecksum`), type `request` with code 0
/// (`Unsupported`). `tail` holds the message's bytes in further buffers ([`Tail::NONE`] for
/// a frame in one buffer); the checksum covers them, nothing is written there.
pub fn answer(msg: &mut [u8], tail: Tail, pseudo: u16, types: EchoTypes) -> Result<(), DropReason> {
    if msg.len() < icmp::HEADER_LEN && !tail.is_empty() {
        // The header continues in the next buffer: we rewrite headers only in the first.
        return Err(DropReason::Unsupported);
    }
    // With a tail the payload continues there: the message's sum is its first buffer's part
    // plus the tail's, each read once.
    let tail_sum = (!tail.is_empty()).then(|| tail.sum_at(msg.len()));
    let head_sum = tail_sum.map(|_| checksum::sum(msg));
    let mut m = icmp::Packet::new_checked(msg).map_err(|_| DropReason::Truncated)?;
    let valid = match (head_sum, tail_sum) {
        (Some(h), Some(t)) => checksum::verifies(checksum::add(checksum::add(pseudo, h), t)),
        _ => m.verify_checksum(pseudo),
    };
    if !valid {
        return Err(DropReason::BadChecksum);
    }
    if m.msg_type() != types.request || m.code() != 0 {
        return Err(DropReason::Unsupported);
    }
    m.set_type_updating_checksum(types.reply);
    Ok(())
}
