//! Whole-pipeline properties of [`super::handle`]: runts never get answers, hostile input never
//! panics, and every reply — whatever the input — is well-formed and goes back to the sender.

use super::testutil::*;
use super::{handle, Answer, Verdict};

/// One valid request of every kind we answer (and a few variants).
fn seeds() -> Vec<(Vec<u8>, Answer)> {
    let g = solicited_node(&OUR_V6);
    let mut udp4_nosum = udp4_request(&payload(21));
    udp4_nosum[40] = 0;
    udp4_nosum[41] = 0;
    let mut arp_padded = arp_request(PEER_MAC, PEER_V4, OUR_V4);
    arp_padded.resize(60, 0);
    vec![
        (arp_request(PEER_MAC, PEER_V4, OUR_V4), Answer::Arp),
        (arp_padded, Answer::Arp),
        (arp_request(PEER_MAC, [0; 4], OUR_V4_B), Answer::Arp),
        (icmp4_request(&payload(18)), Answer::Icmp4Echo),
        (icmp4_request(&payload(57)), Answer::Icmp4Echo),
        (
            icmp4_request_with_options(&[1, 1, 1, 0], &payload(33)),
            Answer::Icmp4Echo,
        ),
        (
            icmp4_request_with_options(&[1; 40], &payload(5)),
            Answer::Icmp4Echo,
        ),
        (udp4_request(&payload(18)), Answer::Udp4),
        (udp4_nosum, Answer::Udp4),
        (icmp6_request(&payload(7)), Answer::Icmp6Echo),
        (icmp6_request(&payload(100)), Answer::Icmp6Echo),
        (udp6_request(&payload(13)), Answer::Udp6),
        (ns_request(OUR_V6), Answer::Ndp),
        (
            ns_frame(OUR_MAC, PEER_MAC, PEER_V6, OUR_V6_LL, 255, OUR_V6_LL, &[]),
            Answer::Ndp,
        ),
        (
            ns_frame(multicast_mac(&g), PEER_MAC, [0; 16], g, 255, OUR_V6, &[]),
            Answer::Ndp,
        ),
    ]
}

#[test]
fn seeds_are_answered() {
    for (f, kind) in seeds() {
        reply(&f, kind);
    }
}

/// Every strict prefix of every request (so every runt 0..60 and more), both as an exact-size
/// buffer (any over-read panics) and inside a full buffer holding the rest of the request
/// (any read past `len` could turn into a reply): never a reply, never a panic.
#[test]
fn runts_never_reply() {
    let id = identity();
    for (f, _) in seeds() {
        // Padding is not part of the request: the ARP body ends at 42 bytes.
        let whole = if be16(&f, 12) == 0x0806 { 42 } else { f.len() };
        for n in 0..whole {
            let mut exact = f[..n].to_vec();
            let v = handle(&mut exact, n, &id, NOW);
            assert!(
                matches!(v, Verdict::Drop(_)),
                "prefix {n} of {whole}: {v:?}"
            );
            let mut full = f.clone();
            full.resize(CHUNK, 0);
            let v = handle(&mut full, n, &id, NOW);
            assert!(
                matches!(v, Verdict::Drop(_)),
                "len {n} of {whole} in full buffer: {v:?}"
            );
            assert_eq!(
                &full[..f.len()],
                &f[..],
                "a dropped frame is left untouched"
            );
        }
    }
}

/// A few thousand random mutations of valid requests: `handle` never panics, and every reply
/// fits the buffer, carries valid checksums (checked independently) and goes back to the
/// (mutated) request's source.
#[test]
fn mutated_requests_never_panic_and_replies_are_sound() {
    let id = identity();
    let seeds = seeds();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut replies = 0usize;
    for round in 0..20_000 {
        let (seed, _) = &seeds[rng.below(seeds.len())];
        let mut f = seed.clone();
        for _ in 0..=rng.below(4) {
            match rng.below(6) {
                // Flip a bit, mostly in the headers.
                0 | 1 => {
                    let at = rng.below(f.len().clamp(1, 80));
                    if let Some(b) = f.get_mut(at) {
                        *b ^= 1 << rng.below(8);
                    }
                }
                // Overwrite a byte with an interesting value.
                2 => {
                    let at = rng.below(f.len().max(1));
                    let v = [0u8, 0xff, 0x80, 0x01, 0x7f, 0x05, 0x0f, 0x40][rng.below(8)];
                    if let Some(b) = f.get_mut(at) {
                        *b = v;
                    }
                }
                // Truncate.
                3 => {
                    let n = rng.below(f.len() + 1);
                    f.truncate(n);
                }
                // Extend with junk (padding or more).
                4 => {
                    for _ in 0..rng.below(70) {
                        f.push(rng.next_u64() as u8);
                    }
                }
                // Rewrite a 16-bit length-ish field at a random header offset.
                _ => {
                    let at = rng.below(f.len().clamp(1, 60));
                    let v = (rng.next_u64() as u16).to_be_bytes();
                    if let Some(w) = f.get_mut(at..at + 2) {
                        w.copy_from_slice(&v);
                    }
                }
            }
        }
        if rng.below(2) == 0 {
            fix_checksums(&mut f);
        }
        // Buffer: exactly the frame, or a full UMEM chunk; `len` occasionally overstated.
        let len = if rng.below(20) == 0 {
            f.len() + rng.below(100)
        } else {
            f.len()
        };
        let mut buf = f.clone();
        if rng.below(2) == 0 {
            buf.resize(CHUNK.max(f.len()), 0);
        }
        let before = buf.clone();
        let v = handle(&mut buf, len, &id, NOW);
        if let Verdict::Drop(reason) = v {
            assert_eq!(
                buf, before,
                "round {round}: dropped ({reason:?}) frame was modified"
            );
        }
        if let Verdict::Reply {
            offset,
            len: rlen,
            kind,
        } = v
        {
            replies += 1;
            assert!(
                offset + rlen <= buf.len(),
                "round {round}: reply {rlen} > buffer {}",
                buf.len()
            );
            // No amplification: never longer than what was received, except the documented
            // 86-byte Neighbor Advertisement answering a 78..85-byte solicitation.
            let received = len.min(buf.len());
            assert!(
                rlen <= received || (kind == Answer::Ndp && rlen == 86 && received >= 78),
                "round {round}: {kind:?} reply of {rlen} bytes to a {received}-byte request"
            );
            let r = &buf[offset..offset + rlen];
            assert_checksums_valid(r);
            assert_addressed_back(&f, r);
            let expect_kind = match (
                be16(r, 12),
                r.get(23).copied(),
                r.get(20).copied(),
                r.get(54).copied(),
            ) {
                (0x0806, ..) => Answer::Arp,
                (0x0800, Some(1), ..) => Answer::Icmp4Echo,
                (0x0800, Some(17), ..) => Answer::Udp4,
                (0x86dd, _, Some(17), _) => Answer::Udp6,
                (0x86dd, _, Some(58), Some(129)) => Answer::Icmp6Echo,
                (0x86dd, _, Some(58), Some(136)) => Answer::Ndp,
                _ => panic!("round {round}: unexpected reply {r:02x?}"),
            };
            assert_eq!(kind, expect_kind, "round {round}");
        }
    }
    // The repairs must let a fair share through, or the deep paths went untested.
    assert!(replies > 2_000, "only {replies} replies");
}
