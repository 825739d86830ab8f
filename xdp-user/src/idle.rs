//! When a queue worker with an empty RX ring goes to sleep in poll(2): the adaptive idle
//! policy.
//!
//! Spinning on an empty ring costs the core; sleeping costs a poll() call, a context switch and
//! a cross-CPU wake-up when frames come back, plus the wake-up's latency, during which frames
//! pile up. So the worker spins while frames keep arriving and sleeps only after the RX ring
//! has stayed empty for a measured *time*, the spin threshold, which adapts:
//!
//! * **grow** (x2, up to `max`): a sleep was followed by traffic at once: the sleep returned
//!   within [`AT_ONCE`] with frames waiting (they came while the worker went to sleep, so the
//!   sleep bought nothing), or a full batch had piled up during it (the load outran the
//!   wake-up). A sleep that ended with a frame after a real wait is what sleeping is for and
//!   changes nothing;
//! * **shrink** (/2, down to `min`): a long idle (a sleep of [`LONG_IDLE`] or more), or, over a
//!   [`PERIOD`] with traffic (a long idle starts a new one), more than half of the awake time
//!   spent spinning on an empty ring (a low load, where spinning through every gap would keep
//!   the core busy for nothing).
//!
//! Under load the ring is rarely empty for long, so the threshold only grows and the worker
//! does not sleep; at a low load it shrinks and the worker sleeps between bursts, so its CPU
//! use follows the load.
//!
//! **Coalescing** (between the two): at a moderate load frames come a few microseconds
//! apart, too close for a poll(2) sleep to pay (each would be woken by the next frame, at
//! the cost of a wake-up per frame) and too far apart for spinning to be anything but waste.
//! There the worker does what a NIC's interrupt moderation (`ethtool -C rx-usecs`) does: once
//! the arrival rate, measured over each [`PERIOD`], promises at least [`NAP_MIN_FRAMES`]
//! frames within the coalescing time (`IdleConfig::coalesce`), an empty ring means a timed
//! nap (not a poll: no wake-up per frame) for as long as a batch takes to arrive at that
//! rate, at most the coalescing time, and the frames that came meanwhile are handled as one
//! batch. A full load never finds the ring empty, so it never naps; the RX ring holds what
//! comes during a nap (a few batches at most, at any rate the ring itself can take). Nor does
//! the worker nap right after a full batch: the ring handed it all it asked for, so frames
//! come at least as fast as it handles them, and a ring that is empty a moment later (a gap
//! in a bursty sender, or the kernel short of fill-ring frames) says nothing about the rate;
//! a nap there would leave the core idle while the load waits.
//!
//! The policy reads time only through a [`Clock`], which also sleeps the naps, so it is
//! tested with a clock the test moves.
use std::{
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use crate::handlers::TimeOfDay;

/// A sleep that returns this quickly with frames waiting did not really sleep.
pub const AT_ONCE: Duration = Duration::from_micros(5);
/// A sleep this long (or longer) is a long idle: the threshold shrinks.
pub const LONG_IDLE: Duration = Duration::from_millis(50);
/// The spin share and the arrival rate are judged over periods of this length.
pub const PERIOD: Duration = Duration::from_millis(20);
/// Nap only when the arrival rate promises at least this many frames per nap: below that a
/// nap gathers no batch and a poll(2) sleep costs no more.
pub const NAP_MIN_FRAMES: u64 = 4;

/// Monotonic nanoseconds since some fixed start, and the time of day.
pub trait Clock: Send {
    fn now_ns(&self) -> u64;
    /// The wall-clock time of day (UTC) that replies record (the IPv4 timestamp option).
    fn time_of_day(&self) -> TimeOfDay {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        TimeOfDay::from_unix(since_epoch)
    }
    /// Sleeps for `d` (a coalescing nap).
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Lets the calling thread's timed sleeps end within [`TIMER_SLACK_NS`] of their due time.
///
/// The kernel may delay a thread's timers by its timer slack (50 µs by default) to merge
/// wake-ups; that would double a coalescing nap of 50 µs. Best effort: without it naps are
/// only longer.
pub fn fine_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and changes only this thread's
    // timer slack; the unused arguments are zero as prctl(2) asks.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0) };
}

/// The timer slack of a worker thread, nanoseconds.
pub const TIMER_SLACK_NS: libc::c_ulong = 1_000;

/// The real clock (`Instant`, CLOCK_MONOTONIC).
pub struct MonotonicClock(Instant);

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock(Instant::now())
    }
}

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// A clock that moves only when told to (tests, the in-memory model); clones share the time.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_nanos() as u64, Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.0.load(Relaxed)
    }
    /// Its own time, read as time since midnight UTC (so tests know what replies record).
    fn time_of_day(&self) -> TimeOfDay {
        TimeOfDay::from_unix(Duration::from_nanos(self.now_ns()))
    }
    /// A nap moves the time on.
    fn sleep(&self, d: Duration) {
        self.advance(d);
    }
}

/// Bounds and start of the spin threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdleConfig {
    /// Threshold at start.
    pub start: Duration,
    /// The threshold never shrinks below this.
    pub min: Duration,
    /// The threshold never grows above this.
    pub max: Duration,
    /// The longest coalescing nap; zero never naps.
    pub coalesce: Duration,
}

/// The default coalescing time: at a few hundred thousand frames per second a nap gathers
/// tens of frames, and the delay it adds stays well below a millisecond-scale RTT.
pub const DEFAULT_COALESCE: Duration = Duration::from_micros(50);

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            start: Duration::from_micros(50),
            min: Duration::from_micros(2),
            max: Duration::from_millis(2),
            coalesce: DEFAULT_COALESCE,
        }
    }
}

impl IdleConfig {
    /// `start` clamped into `min..=max` (`min` lowered to `start` when above it).
    pub fn new(start: Duration, max: Duration, coalesce: Duration) -> Self {
        let d = IdleConfig::default();
        let max = max.max(start);
        IdleConfig {
            start,
            min: d.min.min(start),
            max,
            coalesce,
        }
    }
}

/// What to do on an empty RX ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Spin,
    /// Sleep in poll(2) until a frame comes.
    Sleep,
    /// Sleep this long whatever comes, then handle what came as one batch.
    Nap(Duration),
}

/// What the policy did so far (for the statistics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdleCounts {
    /// Sleeps in poll(2).
    pub sleeps: u64,
    /// Sleeps after which frames were waiting at once.
    pub woken_by_traffic: u64,
    /// Coalescing naps.
    pub naps: u64,
    pub grown: u64,
    pub shrunk: u64,
}

/// The adaptive spin-then-sleep policy of one worker.
#[derive(Clone, Debug)]
pub struct IdlePolicy {
    cfg: IdleConfig,
    threshold: u64,
    /// Start of the current spin on an empty ring (`None` while frames flow).
    idle_since: Option<u64>,
    /// This idle stretch already slept once: sleep again at once (no new spin).
    slept_this_idle: bool,
    /// Length of the sleep just taken, judged by what the next receive finds.
    pending: Option<u64>,
    period_start: u64,
    spun: u64,
    slept: u64,
    /// Frames received since `rate_start`.
    rate_frames: u64,
    rate_start: u64,
    /// Arrivals per second over the last full [`PERIOD`].
    rate: u64,
    /// Frames per batch, as the worker last said.
    batch: u64,
    /// The last receive filled a whole batch.
    last_full: bool,
    counts: IdleCounts,
}

impl IdlePolicy {
    pub fn new(cfg: IdleConfig, now: u64) -> Self {
        IdlePolicy {
            cfg,
            threshold: ns(cfg.start),
            idle_since: None,
            slept_this_idle: false,
            pending: None,
            period_start: now,
            spun: 0,
            slept: 0,
            rate_frames: 0,
            rate_start: now,
            rate: 0,
            batch: 1,
            last_full: false,
            counts: IdleCounts::default(),
        }
    }

    /// Arrivals per second measured over the last full period.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Closes the rate's period once it is [`PERIOD`] long.
    fn roll_rate(&mut self, now: u64) {
        let elapsed = now.saturating_sub(self.rate_start);
        if elapsed >= ns(PERIOD) {
            self.rate = (u128::from(self.rate_frames) * 1_000_000_000 / u128::from(elapsed))
                .min(u128::from(u64::MAX)) as u64;
            self.rate_frames = 0;
            self.rate_start = now;
        }
    }

    /// The nap an empty ring calls for at the measured rate, if any: long enough for a batch
    /// to arrive, at most the coalescing time, and only if that gathers [`NAP_MIN_FRAMES`];
    /// never right after a full batch.
    fn nap(&self) -> Option<Duration> {
        let max = ns(self.cfg.coalesce);
        let expected = u128::from(self.rate) * u128::from(max) / 1_000_000_000;
        if max == 0 || self.last_full || expected < u128::from(NAP_MIN_FRAMES) {
            return None;
        }
        let for_batch = u128::from(self.batch) * 1_000_000_000 / u128::from(self.rate);
        Some(Duration::from_nanos(for_batch.min(u128::from(max)) as u64))
    }

    /// The current spin threshold.
    pub fn threshold(&self) -> Duration {
        Duration::from_nanos(self.threshold)
    }

    pub fn counts(&self) -> IdleCounts {
        self.counts
    }

    /// The RX ring was empty at `now`: spin on, nap, or sleep.
    pub fn on_empty(&mut self, now: u64) -> Decision {
        // A sleep that found no traffic after it: nothing to judge (a long one shrank already).
        self.pending = None;
        self.roll_rate(now);
        if let Some(d) = self.nap() {
            // The spin so far (if any) ends here; the nap is sleep, not spin.
            if let Some(since) = self.idle_since.take() {
                self.spun += now.saturating_sub(since);
            }
            return Decision::Nap(d);
        }
        if self.slept_this_idle {
            return Decision::Sleep;
        }
        let since = *self.idle_since.get_or_insert(now);
        let spun = now.saturating_sub(since);
        if spun >= self.threshold {
            self.spun += spun;
            self.slept_this_idle = true;
            Decision::Sleep
        } else {
            Decision::Spin
        }
    }

    /// A nap that started at `from` ended at `to`.
    pub fn napped(&mut self, from: u64, to: u64) {
        self.counts.naps += 1;
        self.slept += to.saturating_sub(from);
    }

    /// A sleep that started at `from` ended at `to`.
    pub fn woke(&mut self, from: u64, to: u64) {
        let d = to.saturating_sub(from);
        self.counts.sleeps += 1;
        self.slept += d;
        if d >= ns(LONG_IDLE) {
            self.shrink();
            // The spin share is judged over stretches with traffic: start a new period.
            self.period_start = to;
            self.spun = 0;
            self.slept = 0;
        }
        self.pending = Some(d);
        self.roll_rate(to);
    }

    /// `n` frames were received at `now` (batches of `batch`). Returns whether this judged a
    /// sleep (the counts or the threshold may have changed).
    pub fn on_frames(&mut self, now: u64, n: usize, batch: usize) -> bool {
        self.batch = batch.max(1) as u64;
        self.last_full = n as u64 >= self.batch;
        self.rate_frames += n as u64;
        self.roll_rate(now);
        if let Some(since) = self.idle_since.take() {
            if !self.slept_this_idle {
                self.spun += now.saturating_sub(since);
            }
        }
        self.slept_this_idle = false;
        let judged = self.pending.take().is_some_and(|d| {
            self.counts.woken_by_traffic += 1;
            if d < ns(AT_ONCE) || n >= batch {
                self.grow();
            }
            true
        });
        let elapsed = now.saturating_sub(self.period_start);
        if elapsed >= ns(PERIOD) {
            let awake = elapsed.saturating_sub(self.slept);
            if 2 * self.spun > awake {
                self.shrink();
            }
            self.period_start = now;
            self.spun = 0;
            self.slept = 0;
        }
        judged
    }

    fn grow(&mut self) {
        // From 0 (sleep at once), the first step is 1 µs.
        let t = self
            .threshold
            .saturating_mul(2)
            .max(1_000)
            .min(ns(self.cfg.max));
        if t != self.threshold {
            self.threshold = t;
            self.counts.grown += 1;
        }
    }

    fn shrink(&mut self) {
        let t = (self.threshold / 2).max(ns(self.cfg.min));
        if t != self.threshold {
            self.threshold = t;
            self.counts.shrunk += 1;
        }
    }
}

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: u64 = 1_000;

    /// The spin-then-sleep policy alone (no coalescing).
    fn policy() -> IdlePolicy {
        IdlePolicy::new(
            IdleConfig {
                start: Duration::from_micros(50),
                min: Duration::from_micros(2),
                max: Duration::from_micros(400),
                coalesce: Duration::ZERO,
            },
            0,
        )
    }

    /// With a coalescing time of 50 µs.
    fn coalescing() -> IdlePolicy {
        IdlePolicy::new(
            IdleConfig {
                coalesce: Duration::from_micros(50),
                ..IdleConfig::default()
            },
            0,
        )
    }

    /// One frame every `gap` ns for `periods` rate periods from `t`, each followed by an
    /// empty ring; returns the time after and the decisions on the empty ring.
    fn steady(p: &mut IdlePolicy, mut t: u64, gap: u64, periods: u64) -> (u64, Vec<Decision>) {
        let mut seen = Vec::new();
        let end = t + periods * ns(PERIOD);
        while t < end {
            p.on_frames(t, 1, 32);
            t += gap / 2;
            let d = p.on_empty(t);
            if let Decision::Nap(n) = d {
                p.napped(t, t + ns(n));
            }
            seen.push(d);
            t += gap / 2;
        }
        (t, seen)
    }

    /// Spins from `t` in steps of `step` until the policy says sleep; returns that time.
    fn spin_until_sleep(p: &mut IdlePolicy, mut t: u64, step: u64) -> u64 {
        for _ in 0..100_000 {
            if p.on_empty(t) == Decision::Sleep {
                return t;
            }
            t += step;
        }
        panic!("never slept");
    }

    #[test]
    fn sleeps_after_the_threshold_in_time_not_in_spins() {
        let mut p = policy();
        // Many fast empty polls within 50 µs: no sleep.
        for i in 0..10_000 {
            assert_eq!(p.on_empty(i * 4), Decision::Spin);
        }
        assert_eq!(p.on_empty(49 * US), Decision::Spin);
        assert_eq!(p.on_empty(50 * US), Decision::Sleep);
        // Few slow empty polls: the time counts, not their number.
        let mut q = policy();
        assert_eq!(q.on_empty(0), Decision::Spin);
        assert_eq!(q.on_empty(60 * US), Decision::Sleep);
    }

    #[test]
    fn traffic_restarts_the_idle_clock() {
        let mut p = policy();
        assert_eq!(p.on_empty(0), Decision::Spin);
        p.on_frames(40 * US, 1, 32);
        assert_eq!(p.on_empty(41 * US), Decision::Spin);
        assert_eq!(p.on_empty(80 * US), Decision::Spin, "39 µs since the frame");
        assert_eq!(p.on_empty(91 * US), Decision::Sleep);
    }

    #[test]
    fn a_sleep_followed_by_traffic_at_once_grows_the_threshold() {
        let mut p = policy();
        let t = spin_until_sleep(&mut p, 0, US);
        p.woke(t, t + 2 * US);
        p.on_frames(t + 2 * US, 3, 32);
        assert_eq!(p.threshold(), Duration::from_micros(100));
        assert_eq!(p.counts().grown, 1);
        assert_eq!(p.counts().woken_by_traffic, 1);
        // Again and again: capped at max.
        let mut t = t + 2 * US;
        for _ in 0..10 {
            t = spin_until_sleep(&mut p, t + US, US);
            p.woke(t, t + US);
            p.on_frames(t + US, 1, 32);
        }
        assert_eq!(p.threshold(), Duration::from_micros(400));
    }

    #[test]
    fn a_real_sleep_ended_by_a_few_frames_changes_nothing() {
        let mut p = policy();
        let t = spin_until_sleep(&mut p, 0, US);
        // 20 µs asleep (shorter than the threshold, longer than AT_ONCE), 3 frames.
        p.woke(t, t + 20 * US);
        p.on_frames(t + 20 * US, 3, 32);
        assert_eq!(p.threshold(), Duration::from_micros(50));
        assert_eq!(p.counts().woken_by_traffic, 1);
        assert_eq!(p.counts().grown, 0);
    }

    #[test]
    fn a_full_batch_after_a_long_wake_up_grows_the_threshold() {
        let mut p = policy();
        let t = spin_until_sleep(&mut p, 0, US);
        // Slept 300 µs (longer than the threshold), but a full batch waited: grow.
        p.woke(t, t + 300 * US);
        p.on_frames(t + 300 * US, 32, 32);
        assert_eq!(p.threshold(), Duration::from_micros(100));
        // A sleep longer than the threshold that found only a few frames: no change.
        let t = spin_until_sleep(&mut p, t + 301 * US, US);
        p.woke(t, t + 300 * US);
        p.on_frames(t + 300 * US, 2, 32);
        assert_eq!(p.threshold(), Duration::from_micros(100));
    }

    #[test]
    fn long_idle_shrinks_the_threshold_and_sleeps_again_at_once() {
        let mut p = policy();
        let mut t = spin_until_sleep(&mut p, 0, US);
        for _ in 0..10 {
            p.woke(t, t + 100_000 * US);
            t += 100_000 * US;
            // Woken without traffic: back to sleep without spinning again.
            assert_eq!(p.on_empty(t), Decision::Sleep);
        }
        assert_eq!(p.threshold(), Duration::from_micros(2), "at min");
        assert_eq!(p.counts().sleeps, 10);
        assert_eq!(p.counts().woken_by_traffic, 0);
    }

    #[test]
    fn a_low_steady_load_shrinks_the_threshold_until_it_sleeps() {
        // One frame every 10 µs, 2 µs of work each: 80% of the awake time would be spinning.
        // A sleep ends 15 µs after the frame that ends it arrived (the wake-up's latency).
        let mut p = policy();
        let mut t = 0;
        let mut sleeps_in_last_period = 0;
        for i in 0..20_000u64 {
            p.on_frames(t, 1, 32);
            t += 2 * US;
            let next = (i + 1) * 10 * US;
            let before = p.counts().sleeps;
            while t < next {
                if p.on_empty(t) == Decision::Sleep {
                    // Sleeps until the next frame arrives.
                    p.woke(t, next + 15 * US);
                    t = next + 15 * US;
                    break;
                }
                t += US / 2;
            }
            if i >= 18_000 {
                sleeps_in_last_period += p.counts().sleeps - before;
            }
            t = t.max(next);
        }
        assert!(
            p.threshold() < Duration::from_micros(10),
            "{:?}",
            p.threshold()
        );
        assert!(sleeps_in_last_period > 500, "{sleeps_in_last_period}");
    }

    #[test]
    fn a_high_load_with_short_gaps_never_sleeps() {
        // Frames every 3 µs, 2.5 µs of work: the ring is empty for 0.5 µs at a time.
        let mut p = policy();
        let mut t = 0;
        for _ in 0..100_000 {
            p.on_frames(t, 1, 32);
            t += 2_500;
            assert_eq!(p.on_empty(t), Decision::Spin);
            t += 500;
        }
        assert_eq!(p.counts().sleeps, 0);
        assert_eq!(p.threshold(), Duration::from_micros(50));
    }

    #[test]
    fn config_keeps_start_within_its_bounds() {
        let c = IdleConfig::new(Duration::ZERO, Duration::from_micros(100), Duration::ZERO);
        assert_eq!(c.min, Duration::ZERO);
        let mut p = IdlePolicy::new(c, 0);
        assert_eq!(p.on_empty(0), Decision::Sleep, "0 µs: sleep at once");
        let c = IdleConfig::new(
            Duration::from_micros(500),
            Duration::from_micros(100),
            Duration::ZERO,
        );
        assert_eq!(c.max, Duration::from_micros(500));
    }

    #[test]
    fn a_moderate_load_naps_for_a_batch_once_its_rate_is_measured() {
        let mut p = coalescing();
        // 250 000 frames/s (one every 4 µs): the first period has no rate yet, so the ring's
        // short gaps are spun through; from the second on, an empty ring is a nap of 50 µs
        // (a batch of 32 takes 128 µs at that rate: capped at the coalescing time).
        let (t, first) = steady(&mut p, 0, 4 * US, 1);
        assert!(first.iter().all(|d| *d == Decision::Spin), "{first:?}");
        let (_, next) = steady(&mut p, t, 4 * US, 1);
        let rate = p.rate();
        assert!((240_000..=260_000).contains(&rate), "{rate}");
        assert!(
            next.iter()
                .all(|d| *d == Decision::Nap(Duration::from_micros(50))),
            "{next:?}"
        );
        assert_eq!(p.counts().naps, next.len() as u64);
        assert_eq!(p.counts().sleeps, 0);
    }

    #[test]
    fn an_empty_ring_right_after_a_full_batch_spins_instead_of_napping() {
        let mut p = coalescing();
        // A measured rate that calls for naps (250 000 frames/s) ...
        let (mut t, _) = steady(&mut p, 0, 4 * US, 2);
        assert!(matches!(p.on_empty(t), Decision::Nap(_)));
        // ... but a receive that filled its batch says frames come faster than they are
        // handled: the empty ring after it is spun on, not napped through.
        t += US;
        p.on_frames(t, 32, 32);
        t += US;
        assert_eq!(p.on_empty(t), Decision::Spin);
        // A short batch after it: napping resumes.
        p.on_frames(t, 3, 32);
        assert!(matches!(p.on_empty(t + US), Decision::Nap(_)));
    }

    #[test]
    fn a_faster_load_naps_only_as_long_as_a_batch_takes() {
        let mut p = coalescing();
        // 2 000 000 frames/s: 32 frames take 16 µs.
        let (t, _) = steady(&mut p, 0, 500, 1);
        let (_, next) = steady(&mut p, t, 500, 1);
        let want = Duration::from_micros(16);
        assert!(
            next.iter().all(
                |d| matches!(d, Decision::Nap(n) if n.abs_diff(want) < Duration::from_micros(1))
            ),
            "{:?}",
            &next[..4]
        );
    }

    #[test]
    fn a_trickle_never_naps_and_a_stop_ends_the_naps() {
        let mut p = coalescing();
        // 20 000 frames/s: one frame per 50 µs nap is below NAP_MIN_FRAMES: spin, then sleep.
        let (t, seen) = steady(&mut p, 0, 50 * US, 3);
        assert!(
            !seen.iter().any(|d| matches!(d, Decision::Nap(_))),
            "{seen:?}"
        );
        // A moderate load naps; when it stops, the next period's rate is 0 and the empty ring
        // goes back to spin-then-sleep instead of napping on forever.
        let (mut t, _) = steady(&mut p, t, 4 * US, 2);
        assert!(matches!(p.on_empty(t), Decision::Nap(_)));
        let mut last = Decision::Spin;
        for _ in 0..10_000 {
            t += US;
            last = p.on_empty(t);
            if let Decision::Nap(n) = last {
                p.napped(t, t + ns(n));
                t += ns(n);
            } else if last == Decision::Sleep {
                break;
            }
        }
        assert_eq!(last, Decision::Sleep);
        assert_eq!(p.rate(), 0);
    }

    #[test]
    fn coalescing_off_never_naps() {
        let mut p = policy();
        let (_, seen) = steady(&mut p, 0, 4 * US, 3);
        assert!(!seen.iter().any(|d| matches!(d, Decision::Nap(_))));
        assert_eq!(p.counts().naps, 0);
    }
}
