//! An optional per-source rate limit for echo replies: a small token bucket per source address,
//! in a fixed-size table owned by one worker (no locks, no allocation after construction).
//!
//! With `--echo-rate`, the worker calls [`SourceLimiter::allow`] for each ICMP / ICMPv6 echo
//! and UDP echo reply the handlers produced (through [`SourceLimiter::allow_reply`], with the
//! reply's destination, see [`reply_peer`], and a per-batch timestamp), and recycles the frame
//! as a `rate_limited` drop when it says no. ARP and NDP are never limited (address resolution
//! must keep working).
//!
//! Applied to UDP echo, the limit also ends any echo loop: two echo services (ours or another
//! host's, on ports we do not know) can bounce one spoofed datagram between each other at the
//! speed of their round trip, far above any per-source rate; once that source's burst is spent
//! the next reply is refused and the datagram dies. (Datagrams from our own echo ports and the
//! well-known loop-prone ports are never answered at all: `handlers::udp::is_loop_prone_source`.)
//!
//! Linux does not rate-limit echo replies by default (`icmp_ratemask` leaves type 0 out), so
//! the limit is off unless configured. Design:
//! * buckets are direct-mapped by a keyed hash of the address (seeded per limiter): a flood
//!   from many sources only evicts buckets, which resets them to a full burst, so a victim is
//!   never starved by someone else's traffic; a global bucket bounds the total instead;
//! * credit is kept exactly, in token-nanoseconds (one token = `1e9` units; `rate` tokens per
//!   second add `rate` units per nanosecond), so requests arriving faster than any clock
//!   granularity still accumulate their fractional credit: at 10/s, requests 50 µs apart get
//!   about 10 replies per second, not fewer.

use crate::handlers::Answer;
use xdp_wire::{ethernet, ipv4, ipv6};

/// Credit units per token: credit is counted in token-nanoseconds.
const UNIT: u64 = 1_000_000_000;

/// Limits of one limiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Replies per second per source address.
    pub per_source: u32,
    /// Replies a source may get at once after being idle.
    pub burst: u32,
    /// Replies per second in total (0: no global limit).
    pub total: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    key: [u8; 16],
    used: bool,
    /// Credit in token-nanoseconds ([`UNIT`] per token).
    credit: u64,
    last_ns: u64,
}

impl Bucket {
    /// Refills for the time since the last use (at `rate` tokens per second, i.e. `rate`
    /// units per nanosecond, at most `cap` units) and takes one token if there is one. No
    /// division, so no remainder is lost however short the interval.
    fn take(&mut self, now_ns: u64, rate: u32, cap: u64) -> bool {
        let elapsed = now_ns.saturating_sub(self.last_ns);
        let refill = u64::from(rate).saturating_mul(elapsed);
        self.credit = self.credit.saturating_add(refill).min(cap);
        // A clock that steps back gives no credit, now or later.
        self.last_ns = self.last_ns.max(now_ns);
        if self.credit >= UNIT {
            self.credit -= UNIT;
            true
        } else {
            false
        }
    }
}

/// Per-source token buckets for one worker.
pub struct SourceLimiter {
    limits: Limits,
    seed: u64,
    buckets: Vec<Bucket>,
    global: Bucket,
    /// Replies refused so far.
    pub refused: u64,
}

impl SourceLimiter {
    /// A limiter with `slots` buckets (rounded up to a power of two, at least 64) and a hash
    /// seed (use a random one, e.g. from the clock and the pid, so that senders cannot aim at
    /// one bucket).
    pub fn new(limits: Limits, slots: usize, seed: u64) -> Self {
        let n = slots.max(64).next_power_of_two();
        SourceLimiter {
            limits,
            seed,
            buckets: vec![Bucket::default(); n],
            // The global bucket starts with one second's worth.
            global: Bucket {
                used: true,
                credit: u64::from(limits.total.max(1)).saturating_mul(UNIT),
                ..Bucket::default()
            },
            refused: 0,
        }
    }

    /// Whether a reply to `peer` may go out at `now_ns` (a monotonic clock in nanoseconds).
    pub fn allow(&mut self, peer: &[u8; 16], now_ns: u64) -> bool {
        let cap = u64::from(self.limits.burst.max(1)).saturating_mul(UNIT);
        let mask = self.buckets.len() - 1;
        let slot = (hash(self.seed, peer) as usize) & mask;
        let Some(b) = self.buckets.get_mut(slot) else {
            return true;
        };
        if !b.used || b.key != *peer {
            *b = Bucket {
                key: *peer,
                used: true,
                credit: cap,
                last_ns: now_ns,
            };
        }
        let mut ok = b.take(now_ns, self.limits.per_source, cap);
        if ok && self.limits.total > 0 {
            let total = u64::from(self.limits.total).saturating_mul(UNIT);
            ok = self.global.take(now_ns, self.limits.total, total);
        }
        if !ok {
            self.refused += 1;
        }
        ok
    }
}

impl SourceLimiter {
    /// The worker's check of one reply: whether the reply `reply` of kind `kind` may go out
    /// at `now_ns`. ICMP, ICMPv6 and UDP echo replies are limited per destination; ARP and NDP
    /// answers always pass.
    pub fn allow_reply(&mut self, reply: &[u8], kind: Answer, now_ns: u64) -> bool {
        match reply_peer(reply, kind) {
            Some(peer) => self.allow(&peer, now_ns),
            None => true,
        }
    }
}

/// FNV-1a over the seed and the address, finished with a multiply-xorshift mix.
fn hash(seed: u64, key: &[u8; 16]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in key {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The address a reply goes to, as the limiter keys it (IPv4 as v4-mapped IPv6), for the
/// answers a limit applies to: ICMP and ICMPv6 echo, and UDP echo. `None` for ARP and NDP.
pub fn reply_peer(reply: &[u8], kind: Answer) -> Option<[u8; 16]> {
    match kind {
        Answer::Icmp4Echo | Answer::Udp4 => {
            let at = ethernet::HEADER_LEN + ipv4::field::DST.start;
            let d: [u8; 4] = reply.get(at..at + 4)?.try_into().ok()?;
            let mut k = [0u8; 16];
            k[10] = 0xff;
            k[11] = 0xff;
            k[12..].copy_from_slice(&d);
            Some(k)
        }
        Answer::Icmp6Echo | Answer::Udp6 => {
            let at = ethernet::HEADER_LEN + ipv6::field::DST.start;
            reply.get(at..at + 16)?.try_into().ok()
        }
        Answer::Arp | Answer::Ndp => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    /// A limiter of `slots` buckets and hash `seed` with limits (per source, burst, total).
    fn limiter(
        (per_source, burst, total): (u32, u32, u32),
        slots: usize,
        seed: u64,
    ) -> SourceLimiter {
        SourceLimiter::new(
            Limits {
                per_source,
                burst,
                total,
            },
            slots,
            seed,
        )
    }

    fn peer(n: u8) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[15] = n;
        a[0] = 0x20;
        a
    }

    #[test]
    fn burst_then_rate() {
        let mut l = limiter((10, 5, 0), 64, 1);
        let p = peer(1);
        let t0 = 5 * S;
        assert_eq!((0..5).filter(|_| l.allow(&p, t0)).count(), 5, "burst");
        assert!(!l.allow(&p, t0), "burst used up");
        // 10 per second: one more token after 100 ms, not before.
        assert!(!l.allow(&p, t0 + 99 * MS));
        assert!(l.allow(&p, t0 + 100 * MS + 99 * MS));
        // Over 10 s of steady asking, about 10/s get through.
        let mut ok = 0;
        for i in 0..10_000u64 {
            ok += u64::from(l.allow(&p, t0 + S + i * MS));
        }
        assert!((95..=106).contains(&ok), "{ok} replies in 10 s at 10/s");
        assert!(l.refused > 9000);
    }

    #[test]
    fn sources_are_independent_and_idle_ones_refill_to_the_burst() {
        let mut l = limiter((1, 2, 0), 1024, 7);
        let t = 3 * S;
        for n in 0..50 {
            assert!(l.allow(&peer(n), t) && l.allow(&peer(n), t), "source {n}");
            assert!(!l.allow(&peer(n), t), "source {n} over its burst");
        }
        // An hour later every source has its full burst again, not more.
        let later = t + 3600 * S;
        assert!(l.allow(&peer(3), later) && l.allow(&peer(3), later) && !l.allow(&peer(3), later));
    }

    #[test]
    fn global_limit_bounds_many_sources() {
        let mut l = limiter((1000, 10, 100), 4096, 3);
        let t = 10 * S;
        let ok = (0..=255u8).filter(|n| l.allow(&peer(*n), t)).count();
        assert_eq!(ok, 100, "the global burst is one second's worth");
    }

    #[test]
    fn a_clock_going_backwards_never_panics_or_refills() {
        let mut l = limiter((1, 1, 1), 64, 0);
        assert!(l.allow(&peer(1), 100 * S));
        assert!(!l.allow(&peer(1), 50 * S));
        assert!(!l.allow(&peer(1), 0));
        // Back at 100 s: no credit for the steps back; a second later, one token.
        assert!(!l.allow(&peer(1), 100 * S));
        assert!(l.allow(&peer(1), 101 * S));
        assert!(!l.allow(&peer(1), 101 * S));
    }

    #[test]
    fn sub_millisecond_arrivals_keep_their_fractional_credit() {
        // 10/s per source, burst 1, one request every 50 µs for 10 s: 200 000 requests, each
        // bringing half a thousandth of a token. About 100 replies, not a handful.
        let mut l = limiter((10, 1, 0), 64, 5);
        let p = peer(2);
        let t0 = 7 * S;
        let ok = (0..200_000u64)
            .filter(|i| l.allow(&p, t0 + i * 50_000))
            .count();
        assert!((100..=101).contains(&ok), "{ok} replies in 10 s at 10/s");

        // The same for the global bucket: 1000/s in total, 100 sources taking turns every
        // microsecond for 2 s, each allowed far more than its share.
        let mut l = limiter((1_000_000, 1000, 1000), 1024, 9);
        let ok = (0..2_000_000u64)
            .filter(|i| l.allow(&peer((i % 100) as u8), t0 + i * 1000))
            .count();
        // One second's worth to start with, then 1000/s for 2 s.
        assert!(
            (2999..=3001).contains(&ok),
            "{ok} replies in 2 s at 1000/s total"
        );
    }

    /// Two UDP echo services on ports the other does not know (5000 here, 6000 there), and
    /// one spoofed datagram "from" the second to the first: without a limit they bounce it
    /// forever; with `--echo-rate` on both, it dies once a burst is spent.
    #[test]
    fn a_spoofed_datagram_between_two_echo_services_dies_under_the_limit() {
        use crate::handlers::{handle, Identity, TimeOfDay, Verdict};
        use std::net::Ipv4Addr;
        let (mac_a, mac_b) = ([2, 0, 0, 0, 0, 0xa], [2, 0, 0, 0, 0, 0xb]);
        let (ip_a, ip_b) = ([198, 18, 0, 10], [198, 18, 0, 11]);
        let id = |mac, ip, port| Identity {
            mac,
            v4: vec![Ipv4Addr::from(ip)],
            udp_ports: vec![port],
            protocols: xdp_common::proto::ALL,
            ..Identity::default()
        };
        let (a, b) = (id(mac_a, ip_a, 5000), id(mac_b, ip_b, 6000));
        let mut spoofed = Vec::new();
        etherparse::PacketBuilder::ethernet2(mac_b, mac_a)
            .ipv4(ip_b, ip_a, 64)
            .udp(6000, 5000)
            .write(&mut spoofed, b"ping-pong")
            .unwrap();

        // Bounces the datagram at most `hops` times, one hop every 30 µs; returns the hops made.
        let bounce = |mut limiters: Option<[SourceLimiter; 2]>, hops: u64| -> u64 {
            let mut frame = spoofed.clone();
            frame.resize(2048, 0);
            let mut len = spoofed.len();
            for hop in 0..hops {
                let side = (hop % 2) as usize;
                let me = if side == 0 { &a } else { &b };
                let Verdict::Reply {
                    offset: 0,
                    len: n,
                    kind,
                } = handle(&mut frame, len, me, TimeOfDay::default())
                else {
                    return hop;
                };
                if let Some(l) = limiters.as_mut() {
                    if !l[side].allow_reply(&frame[..n], kind, 5 * S + hop * 30_000) {
                        return hop;
                    }
                }
                len = n;
            }
            hops
        };
        assert_eq!(
            bounce(None, 10_000),
            10_000,
            "without a limit the loop goes on"
        );
        let limits = Limits {
            per_source: 10,
            burst: 5,
            total: 0,
        };
        let limiters = [
            SourceLimiter::new(limits, 64, 1),
            SourceLimiter::new(limits, 64, 2),
        ];
        let hops = bounce(Some(limiters), 10_000);
        assert!(hops <= 12, "the loop ended after {hops} hops");
    }

    #[test]
    fn arp_and_ndp_are_never_limited() {
        let mut l = limiter((1, 1, 1), 64, 0);
        let r = vec![0u8; 60];
        assert!((0..100).all(|_| l.allow_reply(&r, Answer::Arp, S)));
        assert!((0..100).all(|_| l.allow_reply(&r, Answer::Ndp, S)));
        assert!(l.allow_reply(&r, Answer::Udp4, S));
        assert!(!l.allow_reply(&r, Answer::Udp4, S));
    }

    #[test]
    fn peers_of_replies() {
        let mut r4 = vec![0u8; 42];
        r4[30..34].copy_from_slice(&[198, 18, 0, 1]);
        let k = reply_peer(&r4, Answer::Icmp4Echo).unwrap();
        assert_eq!(&k[10..], &[0xff, 0xff, 198, 18, 0, 1]);
        let mut r6 = vec![0u8; 62];
        r6[38..54].copy_from_slice(&peer(9));
        assert_eq!(reply_peer(&r6, Answer::Udp6), Some(peer(9)));
        assert_eq!(reply_peer(&r6, Answer::Ndp), None);
        assert_eq!(reply_peer(&r4, Answer::Arp), None);
        assert_eq!(reply_peer(&r4[..20], Answer::Icmp4Echo), None);
    }
}
