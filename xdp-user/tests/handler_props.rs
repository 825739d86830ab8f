//! Property tests (stable Rust, proptest) over the handler entry point
//! `xdp_user::handlers::handle`: whatever the frame, a reply is never longer than the request
//! (except the documented 78 -> 86-byte Neighbor Advertisement), always has valid checksums and
//! always goes back to the sender; group and unusable sources never get one; nothing panics.
//! The properties themselves live in the `xdp-handler-props` crate, shared with the cargo-fuzz
//! target.
//!
//! Bounded: a few thousand generated cases per property (about a second in a debug build).
//! `PROPTEST_CASES=100000 cargo test -p xdp-user --test handler_props` runs a longer campaign.

use proptest::prelude::*;
use xdp_handler_props::*;
use xdp_user::handlers::{Answer, Verdict};

fn config(cases: u32) -> ProptestConfig {
    // An explicit PROPTEST_CASES wins, so that a longer run needs no code change.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn src_mac() -> impl Strategy<Value = [u8; 6]> {
    prop_oneof![
        8 => Just(PEER_MAC),
        1 => Just(BROADCAST_MAC),
        1 => Just(V4_MCAST_MAC),
        1 => Just(ALL_NODES_MAC),
        1 => Just([0u8; 6]),
        1 => Just(OUR_MAC),
        2 => any::<[u8; 6]>(),
    ]
}

fn dst_mac() -> impl Strategy<Value = [u8; 6]> {
    prop_oneof![
        6 => Just(OUR_MAC),
        2 => Just(BROADCAST_MAC),
        1 => Just(ALL_NODES_MAC),
        1 => Just(multicast_mac(&solicited_node(&OUR_V6[0]))),
        1 => Just(OTHER_MAC),
        1 => any::<[u8; 6]>(),
    ]
}

fn v4_src() -> impl Strategy<Value = [u8; 4]> {
    prop_oneof![
        8 => Just(PEER_V4),
        1 => Just([0u8; 4]),
        1 => Just([0, 1, 2, 3]),
        1 => Just([127, 0, 0, 1]),
        1 => Just([224, 0, 0, 1]),
        1 => Just([239, 255, 255, 250]),
        1 => Just([255u8; 4]),
        1 => Just(OUR_V4[0]),
        1 => Just(OUR_V4[1]),
        2 => any::<[u8; 4]>(),
    ]
}

fn v4_dst() -> impl Strategy<Value = [u8; 4]> {
    prop_oneof![
        6 => Just(OUR_V4[0]),
        2 => Just(OUR_V4[1]),
        1 => Just(OTHER_V4),
        1 => Just([255u8; 4]),
        1 => Just([198, 18, 0, 255]),
        1 => Just([224, 0, 0, 1]),
        1 => any::<[u8; 4]>(),
    ]
}

fn v6_src() -> impl Strategy<Value = [u8; 16]> {
    let mut lo = [0u8; 16];
    lo[15] = 1;
    let mut mapped = [0u8; 16];
    mapped[10..].copy_from_slice(&[0xff, 0xff, 198, 18, 0, 1]);
    prop_oneof![
        8 => Just(PEER_V6),
        2 => Just([0u8; 16]),
        1 => Just(ALL_NODES),
        1 => Just(lo),
        1 => Just(mapped),
        1 => Just(OUR_V6[0]),
        2 => any::<[u8; 16]>(),
    ]
}

fn v6_dst() -> impl Strategy<Value = [u8; 16]> {
    prop_oneof![
        6 => Just(OUR_V6[0]),
        2 => Just(OUR_V6[1]),
        3 => Just(solicited_node(&OUR_V6[0])),
        1 => Just(solicited_node(&OUR_V6[1])),
        1 => Just(OTHER_V6),
        1 => Just(ALL_NODES),
        1 => any::<[u8; 16]>(),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![
        6 => Just(PEER_PORT),
        1 => Just(0u16),
        1 => Just(7u16),
        1 => Just(19u16),
        1 => Just(9000u16),
        3 => any::<u16>(),
    ]
}

fn our_port() -> impl Strategy<Value = u16> {
    prop_oneof![6 => Just(7u16), 2 => Just(9000u16), 1 => Just(8u16), 1 => any::<u16>()]
}

fn v4_options() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => Just(vec![]),
        1 => Just(vec![1, 1, 1, 0]),
        1 => Just(vec![0x94, 4, 0, 0]),
        1 => Just(vec![0x83, 7, 4, 1, 2, 3, 4, 0]),
        1 => Just(vec![0x07, 7, 4, 0, 0, 0, 0, 0]),
        2 => prop::collection::vec(any::<u8>(), 1..=10).prop_map(|mut v| {
            v.resize(v.len().div_ceil(4) * 4, 0);
            v
        }),
    ]
}

fn ns_options() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(vec![]),
        3 => Just(vec![1, 1, 2, 0, 0, 0, 0, 1]),
        1 => Just(vec![14, 1, 1, 2, 3, 4, 5, 6]),
        1 => Just(vec![1, 0, 0, 0, 0, 0, 0, 0]),
        1 => prop::collection::vec(any::<u8>(), 1..24),
    ]
}

/// A request of some kind we answer, with every address and port field drawn from a mix of
/// good, bad (group, zero, ours, other) and random values.
fn request() -> BoxedStrategy<Vec<u8>> {
    let data = prop::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        // ARP: op 1 mostly, then replies and junk opcodes.
        ((dst_mac(), src_mac()), prop_oneof![6 => Just(1u16), 1 => Just(2u16), 1 => any::<u16>()], src_mac(), prop_oneof![Just([0u8; 4]), v4_src()], v4_dst())
            .prop_map(|((d, s), op, sha, spa, tpa)| arp(d, s, op, sha, spa, tpa)).boxed(),
        // ICMPv4 echo (and other types).
        ((dst_mac(), src_mac()), v4_src(), v4_dst(), v4_options(), prop_oneof![6 => Just(8u8), 1 => Just(0u8), 1 => any::<u8>()], any::<(u16, u16)>(), data.clone())
            .prop_map(|((d, s), src, dst, opts, ty, (i, q), p)| ipv4_to(d, s, src, dst, 1, &opts, &echo(ty, i, q, &p, 0))).boxed(),
        // UDP over IPv4.
        ((dst_mac(), src_mac()), v4_src(), v4_dst(), v4_options(), port(), our_port(), data.clone())
            .prop_map(|((d, s), src, dst, opts, sp, dp, p)| ipv4_to(d, s, src, dst, 17, &opts, &udp(sp, dp, &p, None))).boxed(),
        // ICMPv6 echo (and other types).
        ((dst_mac(), src_mac()), v6_src(), v6_dst(), prop_oneof![6 => Just(128u8), 1 => Just(129u8), 1 => any::<u8>()], any::<(u16, u16)>(), data.clone(), any::<u8>())
            .prop_map(|((d, s), src, dst, ty, (i, q), p, hl)| ipv6(d, s, src, dst, 58, hl, &echo(ty, i, q, &p, 0))).boxed(),
        // UDP over IPv6.
        ((dst_mac(), src_mac()), v6_src(), v6_dst(), port(), our_port(), data)
            .prop_map(|((d, s), src, dst, sp, dp, p)| ipv6(d, s, src, dst, 17, 64, &udp(sp, dp, &p, None))).boxed(),
        // Neighbor Solicitations.
        ((dst_mac(), src_mac()), v6_src(), v6_dst(), prop_oneof![4 => Just(255u8), 1 => any::<u8>()], prop_oneof![4 => Just(OUR_V6[0]), 2 => Just(OUR_V6[1]), 1 => Just(ALL_NODES), 1 => any::<[u8; 16]>()], ns_options())
            .prop_map(|((d, s), src, dst, hl, target, opts)| ipv6(d, s, src, dst, 58, hl, &ns(target, &opts, 0))).boxed(),
    ]
    .boxed()
}

/// What happens to a request before the handler sees it: byte overwrites (mostly in the
/// headers), a cut, junk padding, checksum repair, buffer room and an overstated length.
#[derive(Clone, Debug)]
struct Damage {
    writes: Vec<(usize, u8)>,
    cut: Option<usize>,
    pad: Vec<u8>,
    repair: bool,
    full_buffer: bool,
    overstate: usize,
}

fn damage() -> BoxedStrategy<Damage> {
    (
        prop_oneof![3 => Just(vec![]), 2 => prop::collection::vec((0usize..100, any::<u8>()), 1..4)],
        prop_oneof![4 => Just(None), 1 => (0usize..120).prop_map(Some)],
        prop_oneof![3 => Just(vec![]), 1 => prop::collection::vec(any::<u8>(), 1..40)],
        prop_oneof![3 => Just(true), 1 => Just(false)],
        any::<bool>(),
        prop_oneof![9 => Just(0usize), 1 => 1usize..64],
    )
        .prop_map(|(writes, cut, pad, repair, full_buffer, overstate)| Damage { writes, cut, pad, repair, full_buffer, overstate })
        .boxed()
}

fn apply(mut f: Vec<u8>, d: &Damage) -> (Vec<u8>, usize, usize) {
    for &(at, v) in &d.writes {
        if let Some(b) = f.get_mut(at) {
            *b = v;
        }
    }
    if let Some(n) = d.cut {
        f.truncate(n);
    }
    if d.repair {
        fix_checksums(&mut f);
    }
    f.extend_from_slice(&d.pad);
    let buf_len = if d.full_buffer {
        CHUNK.max(f.len())
    } else {
        f.len()
    };
    let len = f.len() + d.overstate;
    (f, buf_len, len)
}

proptest! {
    #![proptest_config(config(3000))]

    /// Generated and damaged requests: every reply is sound (see `props`), every drop leaves
    /// the frame untouched, nothing panics.
    #[test]
    fn replies_are_sound_whatever_the_request(req in request(), d in damage()) {
        let (f, buf_len, len) = apply(req, &d);
        if let Err(e) = check(&f, buf_len, len, &identity()) {
            prop_assert!(false, "{}", e);
        }
    }
}

proptest! {
    #![proptest_config(config(1500))]

    /// Arbitrary bytes of any length, in a buffer of any room: no panic, sound replies.
    #[test]
    fn arbitrary_bytes(f in prop::collection::vec(any::<u8>(), 0..160), room in 0usize..200, over in 0usize..8) {
        let buf_len = f.len() + room;
        let len = f.len() + if over < 6 { 0 } else { over };
        if let Err(e) = check(&f, buf_len, len, &identity()) {
            prop_assert!(false, "{}", e);
        }
    }

    /// The fuzz target's driver on stable: the same input format cargo-fuzz feeds it.
    #[test]
    fn fuzz_driver_on_stable(data in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(e) = fuzz_one(&data) {
            prop_assert!(false, "{}", e);
        }
    }

    /// Liveness, so that the properties above cannot hold by dropping everything: a valid
    /// request from any usable unicast peer is answered, with the right kind.
    #[test]
    fn valid_requests_are_answered(
        mac in any::<[u8; 6]>().prop_map(|mut m| { m[0] &= 0xfe; m[5] |= 1; m }),
        v4 in any::<[u8; 4]>().prop_filter("usable unicast source", |a| !matches!(a[0], 0 | 127 | 224..=255) && !OUR_V4.contains(a)),
        v6 in any::<[u8; 16]>().prop_filter("unicast source", |a| a[0] != 0xff && a[..10] != [0; 10]),
        sport in 1024u16..,
        data in prop::collection::vec(any::<u8>(), 0..1400),
        which in 0usize..2,
    ) {
        prop_assume!(sport != 9000);
        let g = solicited_node(&OUR_V6[which]);
        let cases = [
            (arp(BROADCAST_MAC, mac, 1, mac, v4, OUR_V4[which]), Answer::Arp),
            (ipv4_to(OUR_MAC, mac, v4, OUR_V4[which], 1, &[], &echo(8, 1, 1, &data, 0)), Answer::Icmp4Echo),
            (ipv4_to(OUR_MAC, mac, v4, OUR_V4[which], 17, &[], &udp(sport, PORTS[which], &data, None)), Answer::Udp4),
            (ipv6(OUR_MAC, mac, v6, OUR_V6[which], 58, 64, &echo(128, 1, 1, &data, 0)), Answer::Icmp6Echo),
            (ipv6(OUR_MAC, mac, v6, OUR_V6[which], 17, 64, &udp(sport, PORTS[which], &data, None)), Answer::Udp6),
            (ipv6(multicast_mac(&g), mac, v6, g, 58, 255, &ns(OUR_V6[which], &[1, 1, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]], 0)), Answer::Ndp),
        ];
        for (mut f, want) in cases {
            fix_checksums(&mut f);
            match check(&f, CHUNK.max(f.len()), f.len(), &identity()) {
                Ok(Verdict::Reply { kind, .. }) => prop_assert_eq!(kind, want),
                Ok(v) => prop_assert!(false, "valid {:?} request not answered: {:?}", want, v),
                Err(e) => prop_assert!(false, "{}", e),
            }
        }
    }
}

/// Sparse damage with checksum repair reaches the handlers: over a fixed sequence of
/// mutations of every seed, each answer kind is still given in a good share of the cases (so
/// the properties above are checked on real replies, not only on drops), and every reply
/// passes the properties.
#[test]
fn sparse_mutations_reach_every_handler() {
    let mut rng = xdp_testkit::rng::XorShift(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next_u64();
    let rounds = 400;
    let mut tried = [0u32; 6];
    let mut answered = [0u32; 6];
    for (i, seed) in seeds().iter().enumerate() {
        let want = match check(seed, CHUNK, seed.len(), &identity()) {
            Ok(Verdict::Reply { kind, .. }) => kind,
            other => panic!("seed {i} not answered: {other:?}"),
        };
        for _ in 0..rounds {
            let mut f = seed.clone();
            // One or two bytes changed, then the checksums repaired (as a sender would).
            let pairs: Vec<u8> = (0..2 * (1 + next() % 2)).map(|_| next() as u8).collect();
            sparse_damage(&mut f, &pairs);
            fix_checksums(&mut f);
            tried[want as usize] += 1;
            match check(&f, CHUNK, f.len(), &identity()) {
                Ok(Verdict::Reply { .. }) => answered[want as usize] += 1,
                Ok(Verdict::Drop(_)) => {}
                Err(e) => panic!("seed {i} damaged with {pairs:02x?}: {e}"),
            }
        }
    }
    for kind in Answer::ALL {
        let (t, a) = (tried[kind as usize], answered[kind as usize]);
        eprintln!("{kind:?}: {a} of {t} damaged requests answered");
        // A byte of a 42..120-byte request lands in payload or a field the handler does not
        // check about half the time: well over a fifth must still be answered.
        assert!(
            t > 0 && a * 5 >= t,
            "{kind:?}: only {a} of {t} sparsely damaged requests answered"
        );
    }
}

/// The committed fuzz corpus (`fuzz/corpus/handle`) starts the fuzzer from a request of
/// every kind: each file runs through the driver, and every kind is answered by one.
#[test]
fn fuzz_corpus_covers_every_kind() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/handle");
    let mut kinds = std::collections::BTreeSet::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        match fuzz_one(&data) {
            Ok(Verdict::Reply { kind, .. }) => {
                kinds.insert(kind as usize);
            }
            Ok(Verdict::Drop(_)) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    assert_eq!(
        kinds.len(),
        Answer::COUNT,
        "kinds answered by the corpus: {kinds:?}"
    );
}

/// Every seed of the fuzz driver is a request we answer (else the fuzzer starts blind).
#[test]
fn fuzz_seeds_are_answered() {
    for (i, f) in seeds().iter().enumerate() {
        match check(f, CHUNK, f.len(), &identity()) {
            Ok(Verdict::Reply { .. }) => {}
            other => panic!("seed {i} not answered: {other:?}"),
        }
    }
}

/// The documented growth: a 78-byte DAD solicitation without options gets an 86-byte NA,
/// within the buffer, and nothing else ever grows.
#[test]
fn only_the_bare_solicitation_grows() {
    let g = solicited_node(&OUR_V6[1]);
    let mut ns = ipv6(
        multicast_mac(&g),
        PEER_MAC,
        [0; 16],
        g,
        58,
        255,
        &ns(OUR_V6[1], &[], 0),
    );
    fix_checksums(&mut ns);
    assert_eq!(ns.len(), NS_MIN_FRAME);
    match check(&ns, CHUNK, ns.len(), &identity()) {
        Ok(Verdict::Reply {
            offset: 0,
            len,
            kind: Answer::Ndp,
        }) => assert_eq!(len, NA_FRAME),
        other => panic!("{other:?}"),
    }
    // No room for the advertisement: dropped, not written past the buffer.
    for room in NS_MIN_FRAME..NA_FRAME {
        assert!(
            matches!(
                check(&ns, room, ns.len(), &identity()),
                Ok(Verdict::Drop(_))
            ),
            "room {room}"
        );
    }
}
