//! Fuzz target over `xdp_user::handlers::handle`, the handler entry point.
//!
//! The input format and the properties are those of the `xdp-handler-props` crate, shared
//! with the stable property tests, so both check exactly the same things:
//! the first byte chooses between raw bytes and a valid seed request XOR-ed with the input,
//! whether checksums are repaired, how much buffer room the handler gets and whether the
//! length is overstated. Any property violation panics, which libFuzzer reports as a crash:
//! a reply longer than its request (other than the 78 -> 86-byte Neighbor Advertisement), a
//! reply with a bad checksum or length field, a reply not addressed back to the sender, a
//! reply to a group or unusable source, or a dropped frame whose buffer was modified.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = xdp_handler_props::fuzz_one(data) {
        panic!("property violated: {violation}");
    }
});
