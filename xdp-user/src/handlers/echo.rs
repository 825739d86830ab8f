//! ICMP echo request → echo reply, shared by ICMPv4 (RFC 792) and ICMPv6 (RFC 4443).
//!
//! Both use the same layout — type, code, checksum, identifier, sequence number, data — and
//! differ only in the type numbers and in whether the checksum covers a pseudo-header. The
//! reply changes only the type byte, so the checksum is updated incrementally (RFC 1624) and
//! the data is never touched or copied.

use super::DropReason;
use xdp_wire::icmp;

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
    let mut m = icmp::Packet::new_checked(msg).map_err(|_| DropReason::Truncated)?;
    if !m.verify_checksum(pseudo) {
        return Err(DropReason::BadChecksum);
    }
    if m.msg_type() != types.request || m.code() != 0 {
        return Err(DropReason::Unsupported);
    }
    m.set_type_updating_checksum(types.reply);
    Ok(())
}
