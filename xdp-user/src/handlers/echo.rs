//! ICMP echo request → echo reply, shared by ICMPv4 (RFC 792) and ICMPv6 (RFC 4443).
//!
//! Both use the same layout — type, code, checksum, identifier, sequence number, data — and
//! differ only in the type numbers and in whether the checksum covers a pseudo-header. The
//! reply changes only the type byte, so the checksum is updated incrementally (RFC 1624) and
//! the data is never touched or copied.

use super::checksum;
use super::DropReason;

/// Length of the echo header (type, code, checksum, identifier, sequence).
pub const HEADER_LEN: usize = 8;

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
/// (`Unsupported`).
pub fn answer(msg: &mut [u8], pseudo: u16, types: EchoTypes) -> Result<(), DropReason> {
    if msg.len() < HEADER_LEN {
        return Err(DropReason::Truncated);
    }
    if !checksum::verifies(checksum::add(pseudo, checksum::sum(msg))) {
        return Err(DropReason::BadChecksum);
    }
    let hdr = msg
        .first_chunk_mut::<HEADER_LEN>()
        .ok_or(DropReason::Truncated)?;
    if hdr[0] != types.request || hdr[1] != 0 {
        return Err(DropReason::Unsupported);
    }
    let old = u16::from_be_bytes([hdr[0], hdr[1]]);
    hdr[0] = types.reply;
    let new = u16::from_be_bytes([hdr[0], hdr[1]]);
    let c = checksum::update(u16::from_be_bytes([hdr[2], hdr[3]]), old, new);
    hdr[2..4].copy_from_slice(&c.to_be_bytes());
    Ok(())
}
