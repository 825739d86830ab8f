//! The worker's loop over the in-memory kernel model, without root: every step of the data
//! path (fill, RX, handle, TX, kick, completion) under the conditions a real kernel or
//! driver produces, and a property test over random schedules that checks every frame is
//! always in exactly one place.
use std::{
    net::Ipv4Addr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use std::time::Duration;

use proptest::prelude::*;
use xdp_user::{
    handlers::{Answer, DropReason, TimeOfDay},
    idle::{Clock, IdleConfig, ManualClock},
    live_identity::LiveIdentity,
    requests::{self, KINDS},
    stats::QueueStats,
    worker::{self, IdleMode, Worker, WorkerOptions},
    xsk::{
        model::{Arrival, KernelModel, Mode, ModelConfig, COPY_TX_BUDGET},
        ring::Rings,
    },
};

fn copy_cfg(frames: u32, ring: u32) -> ModelConfig {
    ModelConfig {
        mode: Mode::Copy {
            tx_budget: COPY_TX_BUDGET,
        },
        frame_size: 4096,
        frame_count: frames,
        ring_size: ring,
        need_wakeup: true,
        multi_buffer: false,
    }
}

/// As `cfg`, bound with XDP_USE_SG.
fn sg(cfg: ModelConfig) -> ModelConfig {
    ModelConfig {
        multi_buffer: true,
        ..cfg
    }
}

fn zc_cfg(frames: u32, ring: u32) -> ModelConfig {
    ModelConfig {
        mode: Mode::ZeroCopy,
        ..copy_cfg(frames, ring)
    }
}

fn opts(batch: usize) -> WorkerOptions {
    WorkerOptions {
        batch,
        idle: IdleMode::Spin,
        time_handler: false,
        ..Default::default()
    }
}

struct Rig {
    w: Worker<KernelModel>,
    stats: Arc<QueueStats>,
    live: Arc<LiveIdentity>,
}

fn rig(cfg: ModelConfig, batch: usize) -> Rig {
    let mut m = KernelModel::new(cfg);
    m.capture = true;
    let stats = Arc::new(QueueStats::default());
    let live = Arc::new(LiveIdentity::new(requests::identity()));
    let w = Worker::new(m, 0, stats.clone(), live.clone(), opts(batch));
    Rig { w, stats, live }
}

impl Rig {
    fn model(&mut self) -> &mut KernelModel {
        &mut self.w.rings
    }
    /// Lets the worker fill the fill ring before anything arrives.
    fn prime(&mut self) {
        self.w.complete();
        self.w.fill();
    }
    fn arrive(&mut self, kind: Answer, n: usize) -> Vec<Arrival> {
        (0..n)
            .map(|i| {
                let f = requests::request(kind, 64, i as u16);
                self.model().arrive(&f)
            })
            .collect()
    }
    fn assert_audit(&self) {
        let a = self.w.audit();
        assert!(a.ok(), "{:?}", a.problems);
    }
}

/// Checks that a sent frame is a reply to our peer (Ethernet destination = the peer).
fn is_reply_to_peer(frame: &[u8]) -> bool {
    frame.get(..6) == Some(&requests::PEER_MAC[..])
        && frame.get(6..12) == Some(&requests::OUR_MAC[..])
}

#[test]
fn every_kind_is_answered_through_the_rings_in_both_modes() {
    for cfg in [copy_cfg(256, 64), zc_cfg(256, 64)] {
        let mut r = rig(cfg, 16);
        r.prime();
        for kind in KINDS {
            let got = r.arrive(kind, 10);
            assert!(
                got.iter().all(|a| matches!(a, Arrival::Received(_))),
                "{got:?}"
            );
        }
        for _ in 0..20 {
            r.w.step();
            r.model().driver_tx();
            let n = r.model().in_flight();
            r.model().complete_in_flight(n);
        }
        assert_eq!(r.model().sent_count, 60, "{:?}", cfg.mode);
        assert!(r.model().sent.iter().all(|(_, f)| is_reply_to_peer(f)));
        let s = r.stats.snapshot();
        for kind in KINDS {
            assert_eq!(s.answers[kind as usize], 10, "{kind:?} in {:?}", cfg.mode);
        }
        r.assert_audit();
        assert_eq!(
            r.w.pool().len() as u32 + r.model().kernel_frames().len() as u32,
            256
        );
    }
}

/// `frame` (an option-free IPv4 request) with the IPv4 options `opts` inserted after the
/// fixed header: IHL, total length and header checksum fixed; the UDP checksum needs no
/// change (the options are not in its pseudo-header).
fn with_ipv4_options(frame: &[u8], opts: &[u8]) -> Vec<u8> {
    let mut f = [&frame[..34], opts, &frame[34..]].concat();
    let mut ip = xdp_wire::ipv4::Packet::new_unchecked(&mut f[14..]);
    let total = ip.total_len() + opts.len();
    ip.set_version_header_len(20 + opts.len());
    ip.set_total_len(total as u16);
    ip.fill_checksum();
    f
}

#[test]
fn a_reply_that_starts_later_in_the_frame_goes_out_from_there() {
    // A UDP reply drops the request's IPv4 options: the handler moves the headers forward,
    // the worker puts `RX address + offset` on the TX ring, and the completion's address
    // (inside the chunk) gives the whole chunk back to the pool.
    let opts = [148u8, 4, 0, 0, 1, 1, 1, 0];
    for cfg in [copy_cfg(64, 16), zc_cfg(64, 16)] {
        let mut r = rig(cfg, 8);
        r.prime();
        let plain = requests::request(Answer::Udp4, 64, 3);
        let req = with_ipv4_options(&plain, &opts);
        let Arrival::Received(rx_addr) = r.model().arrive(&req) else {
            panic!("not received");
        };
        r.w.step();
        r.model().driver_tx();
        let n = r.model().in_flight();
        r.model().complete_in_flight(n);
        r.w.step();
        assert_eq!(r.model().sent.len(), 1, "{:?}", cfg.mode);
        let (tx_addr, bytes) = r.model().sent[0].clone();
        assert_eq!(tx_addr, rx_addr + opts.len() as u64, "{:?}", cfg.mode);
        assert_eq!(bytes.len(), req.len() - opts.len(), "{:?}", cfg.mode);
        // The reply is exactly the one to the same request without options.
        let mut want = plain.clone();
        want.resize(4096, 0);
        let v = xdp_user::handlers::handle(
            &mut want,
            plain.len(),
            &requests::identity(),
            TimeOfDay::default(),
        );
        assert!(
            matches!(v, xdp_user::handlers::Verdict::Reply { offset: 0, len, .. } if len == plain.len()),
            "{v:?}"
        );
        assert_eq!(bytes, want[..plain.len()], "{:?}", cfg.mode);
        assert_eq!(r.stats.snapshot().answers[Answer::Udp4 as usize], 1);
        r.assert_audit();
        every_frame_once(&r.w, 64).unwrap();
        assert_eq!(r.w.moves().completed, 1);
    }
}

#[test]
fn the_time_replies_record_is_the_workers_clock_per_batch() {
    // An echo request with a timestamp option (timestamps only, one slot): the reply carries
    // the worker clock's time of day, read once per batch.
    let clock = ManualClock::default();
    // 01:02:03.456 after midnight.
    clock.advance(Duration::from_millis(3_723_456));
    let mut m = KernelModel::new(copy_cfg(64, 16));
    m.capture = true;
    let stats = Arc::new(QueueStats::default());
    let live = Arc::new(LiveIdentity::new(requests::identity()));
    let mut w = Worker::with_clock(m, 0, stats, live, opts(8), Box::new(clock.clone()));
    w.complete();
    w.fill();
    let plain = requests::request(Answer::Icmp4Echo, 64, 1);
    let req = with_ipv4_options(&plain, &[68, 8, 5, 0, 0, 0, 0, 0]);
    for (i, later) in [0u64, 1000].into_iter().enumerate() {
        clock.advance(Duration::from_millis(later));
        assert!(matches!(w.rings.arrive(&req), Arrival::Received(_)));
        w.step();
        let sent = &w.rings.sent[i].1;
        let want = (3_723_456 + later as u32).to_be_bytes();
        assert_eq!(
            &sent[34..42],
            &[68, 8, 9, 0, want[0], want[1], want[2], want[3]]
        );
    }
}

#[test]
fn a_full_tx_ring_recycles_and_counts_the_replies() {
    // Zero-copy with need_wakeup: the driver is "busy" (TX flag clear) and never runs, so
    // nothing leaves the TX ring and the worker makes no kick.
    let mut r = rig(zc_cfg(512, 64), 32);
    r.prime();
    let mut arrived = 0;
    for _ in 0..4 {
        arrived += r
            .arrive(Answer::Udp4, 32)
            .iter()
            .filter(|a| matches!(a, Arrival::Received(_)))
            .count();
        r.w.step();
        r.assert_audit();
    }
    assert_eq!(arrived, 128);
    let s = r.stats.snapshot();
    assert_eq!(s.tx_packets, 64, "the TX ring holds 64");
    assert_eq!(s.tx_ring_full, 64);
    assert_eq!(r.model().sent_count, 0);
    assert_eq!(r.w.rings.tx_outstanding(), 64);
    // The refused replies went back to the pool: 512 - 64 in the fill ring side... all accounted.
    let a = r.w.audit();
    assert_eq!(a.kernel_tx, 64);
    assert_eq!(a.free + a.kernel_rx + a.kernel_tx, 512);
}

#[test]
fn lagging_completions_keep_frames_with_the_kernel_until_they_come() {
    let mut r = rig(zc_cfg(256, 64), 32);
    r.prime();
    r.arrive(Answer::Icmp4Echo, 40);
    r.w.step();
    r.w.step();
    r.model().driver_tx();
    assert_eq!(r.model().in_flight(), 40);
    let a = r.w.audit();
    assert_eq!(a.kernel_tx, 40);
    // Completions trickle back in bursts of 7.
    let mut back = 0;
    while r.model().in_flight() > 0 {
        back += r.model().complete_in_flight(7);
        r.w.step();
        r.assert_audit();
        assert_eq!(r.w.audit().kernel_tx, 40 - back as u64);
    }
    assert_eq!(r.w.moves().completed, 40);
}

#[test]
fn fill_starvation_drops_counts_and_wakes_the_driver() {
    // 64 frames, completions withheld: after 64 answers every frame is in flight.
    let mut r = rig(zc_cfg(64, 64), 64);
    r.prime();
    assert_eq!(r.w.pool().len(), 0, "all 64 frames lent to the fill ring");
    r.arrive(Answer::Udp6, 64);
    r.w.step();
    r.model().driver_tx();
    assert_eq!(r.model().in_flight(), 64);
    let lost = r.arrive(Answer::Udp6, 5);
    assert!(lost.iter().all(|a| *a == Arrival::FillEmpty), "{lost:?}");
    assert_eq!(r.model().stats().rx_fill_ring_empty_descs, 5);
    assert_eq!(
        r.model().stats().rx_dropped,
        0,
        "a zero-copy driver drops without rx_dropped"
    );
    assert!(r.w.rings.fill_needs_wakeup(), "driver asks for a wake-up");
    // Frames come back; the worker refills and wakes the driver; traffic flows again.
    r.model().complete_in_flight(64);
    let wakeups = r.model().rx_wakeups;
    r.w.step();
    assert_eq!(r.model().rx_wakeups, wakeups + 1);
    assert!(!r.w.rings.fill_needs_wakeup());
    let again = r.arrive(Answer::Udp6, 3);
    assert!(again.iter().all(|a| matches!(a, Arrival::Received(_))));
    r.assert_audit();
}

#[test]
fn copy_mode_drops_on_an_empty_fill_ring_with_rx_dropped() {
    let mut r = rig(copy_cfg(64, 64), 64);
    // No prime: the fill ring is empty.
    assert_eq!(r.arrive(Answer::Arp, 2), vec![Arrival::FillEmpty; 2]);
    let s = r.model().stats();
    assert_eq!((s.rx_dropped, s.rx_fill_ring_empty_descs), (2, 2));
    assert!(
        !r.w.rings.fill_needs_wakeup(),
        "copy mode never asks for a fill wake-up"
    );
}

/// Overload in copy mode: the RX ring is full when the worker takes a batch. The worker lends
/// the RX side no more frames than the RX ring holds, so the kernel drops what the ring
/// cannot take at the empty fill ring, before copying it, and takes exactly as many frames
/// as the ring has room for. A zero-copy driver gets every frame the fill ring takes.
#[test]
fn copy_mode_lends_the_rx_side_only_what_the_rx_ring_holds() {
    let mut r = rig(copy_cfg(512, 64), 32);
    r.prime();
    let first = r.arrive(Answer::Udp4, 100);
    let received = |got: &[Arrival]| {
        got.iter()
            .filter(|a| matches!(a, Arrival::Received(_)))
            .count()
    };
    assert_eq!(received(&first), 64);
    // One batch of 32 out, 32 fill frames in: the RX side holds 64 again.
    r.w.step();
    r.assert_audit();
    assert_eq!(r.w.audit().kernel_rx, 64);
    // Room for 32 on the RX ring: 32 taken, the rest dropped uncopied.
    let second = r.arrive(Answer::Udp4, 100);
    assert_eq!(received(&second), 32);
    let s = r.model().stats();
    assert_eq!(s.rx_ring_full, 0, "the RX ring never fills up");
    assert_eq!(r.model().refused_copies, 0);
    assert_eq!(
        (s.rx_dropped, s.rx_fill_ring_empty_descs),
        (36 + 68, 36 + 68)
    );
    // Everything received is answered.
    for _ in 0..4 {
        r.w.step();
    }
    assert_eq!(r.stats.snapshot().tx_packets, 96);
    r.assert_audit();

    let mut z = rig(zc_cfg(512, 64), 32);
    z.prime();
    z.arrive(Answer::Udp4, 64);
    z.w.step();
    assert_eq!(
        z.w.audit().kernel_rx,
        32 + 64,
        "zero-copy: a full fill ring behind the 32 frames left on the RX ring"
    );
}

#[test]
fn budget_limited_kicks_leave_nothing_on_the_tx_ring() {
    let mut r = rig(copy_cfg(1024, 512), 256);
    r.prime();
    r.arrive(Answer::Udp4, 200);
    r.w.step();
    assert_eq!(
        r.w.rings.tx_outstanding(),
        0,
        "nothing stays on the TX ring"
    );
    assert_eq!(r.model().sent_count, 200);
    // 200 frames at 32 per sendto: 7 kicks, the first 6 answered EAGAIN.
    assert_eq!(r.model().kicks, 7);
    let s = r.stats.snapshot();
    assert_eq!(s.tx_kick_again, 6);
    assert_eq!(s.tx_wakeups, 7);
    r.assert_audit();
}

#[test]
fn zero_copy_tx_is_kicked_only_when_the_driver_asks() {
    let mut r = rig(zc_cfg(256, 64), 32);
    r.prime();
    r.arrive(Answer::Udp4, 8);
    r.w.step();
    assert_eq!(
        r.model().kicks,
        0,
        "TX need_wakeup clear: the driver is running, no kick"
    );
    r.model().driver_tx();
    assert_eq!(r.model().sent_count, 8);
    r.model().complete_in_flight(8);
    assert!(
        r.w.rings.tx_needs_wakeup(),
        "idle driver sets need_wakeup on the TX ring"
    );
    r.arrive(Answer::Udp4, 8);
    r.w.step();
    assert_eq!(r.model().kicks, 1, "one kick for a sleeping driver");
    assert_eq!(r.model().sent_count, 16);
    assert!(
        !r.w.rings.tx_needs_wakeup(),
        "kicked driver runs: flag clear while in flight"
    );
    r.model().complete_in_flight(8);
    assert!(r.w.rings.tx_needs_wakeup());
    r.assert_audit();
}

#[test]
fn without_need_wakeup_copy_mode_is_kicked_every_time() {
    let mut cfg = copy_cfg(256, 64);
    cfg.need_wakeup = false;
    let mut m = KernelModel::new(cfg);
    m.capture = false;
    let stats = Arc::new(QueueStats::default());
    let live = Arc::new(LiveIdentity::new(requests::identity()));
    let mut o = opts(32);
    o.need_wakeup = false;
    let mut w = Worker::new(m, 0, stats, live, o);
    w.fill();
    for i in 0..5 {
        let f = requests::request(Answer::Udp4, 64, i);
        w.rings.arrive(&f);
    }
    w.step();
    assert_eq!(w.rings.sent_count, 5);
    assert!(!w.rings.tx_needs_wakeup());
}

#[test]
fn shutdown_with_frames_in_flight_accounts_for_them() {
    let mut r = rig(zc_cfg(128, 64), 32);
    r.prime();
    r.arrive(Answer::Icmp6Echo, 20);
    r.w.step();
    r.model().driver_tx();
    r.model().complete_in_flight(5);
    let Rig { w, .. } = r;
    let (exit, model) = w.finish();
    assert!(exit.audit.ok(), "{:?}", exit.audit.problems);
    // 15 never completed: the exit audit puts them on the kernel's TX side.
    assert_eq!(model.in_flight(), 15);
    assert_eq!(exit.audit.kernel_tx, 15);
    assert_eq!(exit.moves.sent, 20);
    assert_eq!(exit.moves.completed, 5);
    assert_eq!(
        exit.audit.free + exit.audit.kernel_rx + exit.audit.kernel_tx,
        128
    );
}

#[test]
fn an_identity_change_applies_between_batches_never_within_one() {
    let mut r = rig(copy_cfg(256, 64), 4);
    r.prime();
    r.arrive(Answer::Udp4, 8);
    r.w.step(); // 4 answered for the old identity
                // The address goes away while 4 requests for it wait on the RX ring.
    r.live
        .update(|id| id.v4 = vec![Ipv4Addr::new(198, 18, 0, 77)]);
    r.w.step();
    r.w.step();
    let s = r.stats.snapshot();
    assert_eq!(s.answers[Answer::Udp4 as usize], 4);
    assert_eq!(s.drops[DropReason::NotOurs as usize], 4);
    assert_eq!(r.model().sent_count, 4);
    r.assert_audit();
}

#[test]
fn worker_run_over_the_model_answers_everything_then_stops() {
    let mut m = KernelModel::new(copy_cfg(4096, 2048));
    let stop = Arc::new(AtomicBool::new(false));
    let (stop2, mut left) = (stop.clone(), 10_000u32);
    let req = requests::request(Answer::Udp4, 64, 1);
    m.set_source(Box::new(move |buf| {
        if left == 0 {
            stop2.store(true, Ordering::Relaxed);
            return None;
        }
        left -= 1;
        let b = buf.get_mut(..req.len())?;
        b.copy_from_slice(&req);
        Some(req.len())
    }));
    let stats = Arc::new(QueueStats::default());
    let live = Arc::new(LiveIdentity::new(requests::identity()));
    let exit = worker::run(m, 0, stats.clone(), live, stop, opts(64), || {}).unwrap();
    assert!(exit.audit.ok(), "{:?}", exit.audit.problems);
    assert_eq!(stats.snapshot().answers[Answer::Udp4 as usize], 10_000);
    assert_eq!(exit.moves.sent, 10_000);
    assert_eq!(exit.moves.completed, 10_000);
    assert_eq!(exit.audit.free + exit.audit.kernel_rx, 4096);
}

/// A copy-mode worker with the adaptive idle policy on a clock the test moves, without
/// coalescing; every sleep in the model lasts `sleep`.
fn idle_rig(sleep: Duration) -> (Worker<KernelModel>, Arc<QueueStats>, ManualClock) {
    coalescing_rig(sleep, Duration::ZERO)
}

/// As [`idle_rig`], with naps of up to `coalesce` (0: none).
fn coalescing_rig(
    sleep: Duration,
    coalesce: Duration,
) -> (Worker<KernelModel>, Arc<QueueStats>, ManualClock) {
    let clock = ManualClock::default();
    let mut m = KernelModel::new(copy_cfg(1024, 256));
    m.sleep_clock = Some((clock.clone(), sleep));
    let stats = Arc::new(QueueStats::default());
    let live = Arc::new(LiveIdentity::new(requests::identity()));
    let o = WorkerOptions {
        idle: IdleMode::Adaptive(IdleConfig {
            start: Duration::from_micros(50),
            min: Duration::from_micros(2),
            max: Duration::from_micros(400),
            coalesce,
        }),
        ..opts(32)
    };
    let mut w = Worker::with_clock(m, 0, stats.clone(), live, o, Box::new(clock.clone()));
    w.complete();
    w.fill();
    (w, stats, clock)
}

fn arrive_n(w: &mut Worker<KernelModel>, n: usize) {
    for i in 0..n {
        let f = requests::request(Answer::Udp4, 64, i as u16);
        assert!(matches!(w.rings.arrive(&f), Arrival::Received(_)));
    }
}

const US: Duration = Duration::from_micros(1);

/// The frame gauges (`frames_free`, `frames_kernel_rx`, `frames_kernel_tx`) say where the
/// frames are once the worker goes to sleep, however few batches came before.
#[test]
fn the_frame_gauges_are_current_when_the_worker_sleeps() {
    let (mut w, stats, clock) = idle_rig(Duration::from_millis(100));
    arrive_n(&mut w, 4);
    let mut passes = 0;
    while w.rings.waits == 0 && passes < 1000 {
        w.step();
        clock.advance(US);
        passes += 1;
    }
    assert_eq!(w.rings.waits, 1, "asleep after the idle time");
    assert_eq!(w.rings.sent_count, 4);
    let (a, s) = (w.audit(), stats.snapshot());
    assert!(a.ok(), "{:?}", a.problems);
    assert_eq!(
        (s.frames_free, s.frames_kernel_rx, s.frames_kernel_tx),
        (a.free, a.kernel_rx, a.kernel_tx)
    );
    assert_eq!(
        s.frames_kernel_rx, 256,
        "the fill ring, as many as the RX ring holds"
    );
}

#[test]
fn the_idle_policy_spins_under_load_sleeps_after_the_idle_time_and_adapts() {
    let (mut w, stats, clock) = idle_rig(Duration::from_millis(100));
    // Under load: 4 frames, 30 µs of work, then 10 µs of empty ring (10 passes), 1000 times
    // (two 20 ms periods): no sleep.
    for _ in 0..1000 {
        arrive_n(&mut w, 4);
        w.step();
        clock.advance(30 * US);
        for _ in 0..10 {
            w.step();
            clock.advance(US);
        }
    }
    assert_eq!(w.rings.waits, 0, "no sleep while frames keep coming");
    assert_eq!(stats.snapshot().idle_sleeps, 0);
    assert_eq!(w.rings.sent_count, 4000);
    // Traffic stops: the first sleep comes once the ring has been empty for 50 µs, measured
    // in time (a pass per µs here), not after a count of passes.
    arrive_n(&mut w, 4);
    w.step();
    let mut passes = 0;
    while w.rings.waits == 0 && passes < 1000 {
        clock.advance(US);
        w.step();
        passes += 1;
    }
    assert_eq!(
        passes, 51,
        "empty since the first pass after the batch, 50 µs later"
    );
    // Long idle (each sleep 100 ms): the worker sleeps again at once, and the threshold
    // shrinks to its minimum.
    for _ in 0..10 {
        w.step();
    }
    assert_eq!(w.rings.waits, 11);
    let s = stats.snapshot();
    assert_eq!(s.idle_sleeps, 11);
    assert_eq!(s.idle_spin_ns, 2_000);
    assert_eq!(s.idle_woken, 0);
    // A full batch waiting after a sleep: traffic came at once, the threshold grows.
    arrive_n(&mut w, 64);
    w.step();
    let s = stats.snapshot();
    assert_eq!(s.idle_woken, 1);
    assert_eq!(s.idle_spin_ns, 4_000);
    assert_eq!(w.idle_policy().counts().grown, 1);
    for _ in 0..4 {
        w.step();
    }
    assert_eq!(w.rings.sent_count, 4068);
    let a = w.audit();
    assert!(a.ok(), "{:?}", a.problems);
}

/// Frames arrive every `gap` of the model's time for `for_ns`, each pass of the worker
/// taking 1 µs; returns the frames per receiving pass after the first 25 ms (the rate's
/// first period, and then some) and the frames that arrived.
fn paced(
    w: &mut Worker<KernelModel>,
    clock: &ManualClock,
    gap: Duration,
    run: Duration,
) -> (f64, u64) {
    let ns = |d: Duration| d.as_nanos() as u64;
    let start = clock.now_ns();
    let (mut due, mut arrived) = (start, 0u64);
    let (mut frames, mut passes) = (0u64, 0u64);
    while clock.now_ns() < start + ns(run) {
        while due <= clock.now_ns() {
            arrive_n(w, 1);
            arrived += 1;
            due += ns(gap);
        }
        let n = w.step() as u64;
        if n > 0 && clock.now_ns() > start + ns(Duration::from_millis(25)) {
            frames += n;
            passes += 1;
        }
        clock.advance(US);
    }
    (frames as f64 / passes.max(1) as f64, arrived)
}

#[test]
fn a_moderate_load_is_coalesced_into_batches_by_timed_naps() {
    // 250 000 frames/s for 60 ms. With a coalescing time of 50 µs the worker naps (no poll
    // sleeps: each would be woken by the next frame) and handles about 12 frames a batch;
    // without it, it spins and handles them one by one.
    let (mut w, stats, clock) = coalescing_rig(Duration::from_millis(1), 50 * US);
    let (per_batch, arrived) = paced(&mut w, &clock, 4 * US, Duration::from_millis(60));
    for _ in 0..4 {
        w.step();
    }
    let s = stats.snapshot();
    assert!(per_batch >= 10.0, "{per_batch} frames per batch");
    assert!(s.idle_naps > 500, "{}", s.idle_naps);
    assert_eq!(s.idle_sleeps, 0);
    assert_eq!(w.rings.waits, 0);
    assert_eq!(w.rings.sent_count, arrived, "every frame answered");
    let a = w.audit();
    assert!(a.ok(), "{:?}", a.problems);

    let (mut w, stats, clock) = idle_rig(Duration::from_millis(1));
    let (per_batch, _) = paced(&mut w, &clock, 4 * US, Duration::from_millis(60));
    assert!(per_batch < 2.0, "{per_batch} frames per batch");
    assert_eq!(stats.snapshot().idle_naps, 0);
}

#[test]
fn a_low_load_makes_the_worker_sleep_between_frames() {
    // 2 frames every 45 µs (below the 50 µs start threshold), sleeps of 30 µs: after a 20 ms
    // period spent mostly spinning, the threshold halves and the worker sleeps in the gaps.
    let (mut w, stats, clock) = idle_rig(30 * US);
    for _ in 0..2000 {
        arrive_n(&mut w, 2);
        w.step();
        let waits = w.rings.waits;
        for _ in 0..45 {
            w.step();
            if w.rings.waits > waits {
                break;
            }
            clock.advance(US);
        }
    }
    // One more frame: the last sleep ends with traffic too.
    arrive_n(&mut w, 2);
    w.step();
    let s = stats.snapshot();
    assert_eq!(w.rings.sent_count, 4002);
    assert!(s.idle_spin_ns <= 25_000, "{}", s.idle_spin_ns);
    assert!(s.idle_sleeps > 1000, "{}", s.idle_sleeps);
    assert_eq!(
        s.idle_woken, s.idle_sleeps,
        "every sleep ended with a frame waiting"
    );
}

#[test]
fn busy_poll_mode_calls_recvfrom_on_every_empty_pass_and_never_sleeps() {
    let mut m = KernelModel::new(copy_cfg(256, 64));
    m.sleep_clock = None;
    let stats = Arc::new(QueueStats::default());
    let live = Arc::new(LiveIdentity::new(requests::identity()));
    let o = WorkerOptions {
        idle: IdleMode::BusyPoll,
        ..opts(32)
    };
    let mut w = Worker::new(m, 0, stats.clone(), live, o);
    w.fill();
    for _ in 0..100 {
        w.step();
    }
    arrive_n(&mut w, 3);
    w.step();
    assert_eq!(
        w.rings.rx_wakeups, 100,
        "one recvfrom per empty pass, none with frames"
    );
    assert_eq!(stats.snapshot().busy_polls, 100);
    assert_eq!(w.rings.waits, 0);
    assert_eq!(w.rings.sent_count, 3);
}

#[test]
fn busy_poll_mode_kicks_zero_copy_tx_even_when_the_driver_did_not_ask() {
    // The driver runs (TX need_wakeup clear): the default loop makes no kick
    // (zero_copy_tx_is_kicked_only_when_the_driver_asks); busy polling kicks, because its
    // sendto() is what runs the driver's NAPI.
    let m = KernelModel::new(zc_cfg(256, 64));
    let stats = Arc::new(QueueStats::default());
    let live = Arc::new(LiveIdentity::new(requests::identity()));
    let o = WorkerOptions {
        idle: IdleMode::BusyPoll,
        ..opts(32)
    };
    let mut w = Worker::new(m, 0, stats, live, o);
    w.fill();
    assert!(!w.rings.tx_needs_wakeup());
    arrive_n(&mut w, 8);
    w.step();
    assert_eq!(w.rings.kicks, 1);
    assert_eq!(w.rings.sent_count, 8);
}

// ---------------------------------------------------------------------------------------
// Multi-buffer frames (XDP_USE_SG)
// ---------------------------------------------------------------------------------------

const ECHOES: [Answer; 4] = [
    Answer::Udp4,
    Answer::Udp6,
    Answer::Icmp4Echo,
    Answer::Icmp6Echo,
];

/// `frame` cut into at most `buf`-byte pieces, the first cut moved by `cut` (so pieces end
/// at odd offsets too); never more pieces than four.
fn cut_frame(frame: &[u8], cut: u16, buf: usize) -> Vec<&[u8]> {
    let first = (frame.len().min(buf))
        .saturating_sub(usize::from(cut) % 64)
        .max(1);
    let mut segs = vec![&frame[..first.min(frame.len())]];
    let mut rest = &frame[first.min(frame.len())..];
    while !rest.is_empty() {
        let n = rest.len().min(buf);
        segs.push(&rest[..n]);
        rest = &rest[n..];
    }
    segs
}

/// The reply the handler gives to `req` in one buffer.
fn reply_in_one_buffer(req: &[u8]) -> Vec<u8> {
    let mut buf = req.to_vec();
    match xdp_user::handlers::handle(
        &mut buf,
        req.len(),
        &requests::identity(),
        TimeOfDay::default(),
    ) {
        xdp_user::handlers::Verdict::Reply { offset, len, .. } => {
            buf[offset..offset + len].to_vec()
        }
        v => panic!("not answered in one buffer: {v:?}"),
    }
}

#[test]
fn jumbo_frames_are_answered_from_their_own_chains_in_both_modes() {
    for cfg in [sg(copy_cfg(256, 64)), sg(zc_cfg(256, 64))] {
        let mut r = rig(cfg, 16);
        r.prime();
        // 9014 bytes: a 9000-byte IP packet, three buffers; 3841: two, the second of 1 byte.
        let mut want = Vec::new();
        for kind in ECHOES {
            for size in [9014, 3841, 7681] {
                let req = requests::request(kind, size, 3);
                assert!(matches!(r.model().arrive(&req), Arrival::Received(_)));
                want.push(reply_in_one_buffer(&req));
            }
        }
        for _ in 0..10 {
            r.w.step();
            r.model().driver_tx();
            let n = r.model().in_flight();
            r.model().complete_in_flight(n);
            r.assert_audit();
        }
        let sent: Vec<Vec<u8>> = r.model().sent.iter().map(|(_, f)| f.clone()).collect();
        assert_eq!(sent, want, "{:?}", cfg.mode);
        assert!(r.model().invalid.is_empty());
        let s = r.stats.snapshot();
        assert_eq!(s.rx_packets, 12);
        assert_eq!(s.tx_packets, 12);
        assert_eq!(s.tx_bytes, want.iter().map(|f| f.len() as u64).sum::<u64>());
        // Every buffer of every chain came back: 3 + 2 + 3 per kind.
        assert_eq!(r.w.moves().sent, 4 * 8);
        assert_eq!(r.w.moves().completed, 4 * 8);
        assert!(every_frame_once(&r.w, 256).is_ok());
    }
}

#[test]
fn without_xdp_use_sg_a_jumbo_frame_is_dropped_by_the_kernel() {
    let mut r = rig(copy_cfg(64, 64), 16);
    r.prime();
    let req = requests::request(Answer::Udp4, 9014, 1);
    assert_eq!(r.model().arrive(&req), Arrival::TooLong);
    assert_eq!(r.model().stats().rx_dropped, 1);
}

#[test]
fn a_chain_cut_by_the_batch_is_held_then_answered() {
    let mut r = rig(sg(copy_cfg(64, 64)), 2);
    r.prime();
    let req = requests::request(Answer::Icmp4Echo, 9014, 1);
    r.model().arrive(&req);
    r.w.step();
    assert_eq!(r.w.rx_partial().len(), 2, "two of three buffers held");
    let a = r.w.audit();
    assert!(a.ok(), "{:?}", a.problems);
    assert_eq!(a.rx_partial, 2);
    assert!(every_frame_once(&r.w, 64).is_ok());
    r.w.step();
    assert!(r.w.rx_partial().is_empty());
    assert_eq!(r.model().sent_count, 1);
    assert_eq!(r.model().sent[0].1, reply_in_one_buffer(&req));
    r.assert_audit();
}

#[test]
fn a_chain_longer_than_max_chain_is_dropped_counted_and_recycled() {
    for batch in [16, 2, 1] {
        let mut m = KernelModel::new(sg(copy_cfg(64, 64)));
        m.capture = true;
        let stats = Arc::new(QueueStats::default());
        let live = Arc::new(LiveIdentity::new(requests::identity()));
        let mut o = opts(batch);
        o.max_chain = 2;
        let mut w = Worker::new(m, 0, stats.clone(), live, o);
        w.fill();
        // Three buffers (too long), then two (allowed), then one.
        for size in [9014, 7000, 1000] {
            let f = requests::request(Answer::Udp6, size, 1);
            assert!(matches!(w.rings.arrive(&f), Arrival::Received(_)));
        }
        for _ in 0..8 {
            w.step();
            assert!(w.audit().ok(), "{:?}", w.audit().problems);
            assert!(every_frame_once(&w, 64).is_ok());
        }
        let s = stats.snapshot();
        assert_eq!(
            s.drops[DropReason::ChainTooLong as usize],
            1,
            "batch {batch}"
        );
        assert_eq!(s.answers[Answer::Udp6 as usize], 2, "batch {batch}");
        assert_eq!(s.rx_packets, 3);
        assert_eq!(w.rings.sent_count, 2);
        assert_eq!(w.moves().received, 6);
        assert_eq!(w.moves().recycled, 3);
    }
}

#[test]
fn a_partial_chain_at_shutdown_is_accounted_for() {
    let mut r = rig(sg(zc_cfg(64, 64)), 2);
    r.prime();
    r.model().arrive(&requests::request(Answer::Udp4, 9014, 1));
    r.w.step();
    assert_eq!(r.w.rx_partial().len(), 2);
    let Rig { w, stats, .. } = r;
    let (exit, model) = w.finish();
    assert!(exit.audit.ok(), "{:?}", exit.audit.problems);
    // The two buffers went back to the pool; the third is still on the RX ring.
    assert_eq!(exit.audit.rx_partial, 0);
    assert_eq!(exit.audit.indices.rx.len(), 1);
    assert_eq!(exit.moves.recycled, 2);
    assert_eq!(stats.snapshot().drops[DropReason::Truncated as usize], 1);
    assert_eq!(model.sent_count, 0);
}

#[test]
fn only_whole_chains_go_onto_a_nearly_full_tx_ring() {
    // Rings of 8; the driver is busy (need_wakeup clear, no kick), so four small replies
    // stay on the TX ring and leave room for 4: one 3-buffer reply fits, the second does
    // not and is recycled whole.
    let mut r = rig(sg(zc_cfg(64, 8)), 16);
    r.prime();
    r.arrive(Answer::Udp4, 4);
    r.w.step();
    r.w.fill();
    for _ in 0..2 {
        let f = requests::request(Answer::Udp4, 9014, 2);
        assert!(matches!(r.model().arrive(&f), Arrival::Received(_)));
    }
    r.w.step();
    assert_eq!(r.w.rings.tx_outstanding(), 7);
    let s = r.stats.snapshot();
    assert_eq!((s.tx_packets, s.tx_ring_full), (5, 1));
    r.assert_audit();
    r.model().driver_tx();
    assert_eq!(r.model().sent_count, 5);
    assert!(r.model().invalid.is_empty());
}

// ---------------------------------------------------------------------------------------
// Random schedules
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Arrive(usize, u8),
    /// A frame of this many bytes (one to four buffers), of an echo kind, cut at random.
    Jumbo(usize, u8, u16),
    Step,
    DriverTx,
    Complete(usize),
    Kick,
    Garbage(u8),
    ChangeIdentity,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..40, 0u8..6).prop_map(|(n, k)| Op::Arrive(n, k)),
        3 => (100usize..15_000, 0u8..4, any::<u16>()).prop_map(|(n, k, c)| Op::Jumbo(n, k, c)),
        4 => Just(Op::Step),
        2 => Just(Op::DriverTx),
        2 => (1usize..50).prop_map(Op::Complete),
        1 => Just(Op::Kick),
        1 => any::<u8>().prop_map(Op::Garbage),
        1 => Just(Op::ChangeIdentity),
    ]
}

/// Every chunk of the UMEM exactly once across the pool and every kernel-side place.
fn every_frame_once(w: &Worker<KernelModel>, frames: u32) -> Result<(), String> {
    let mut all: Vec<u64> = w.pool().addresses().to_vec();
    all.extend(w.rx_partial().iter().map(|d| d.addr - d.addr % 4096));
    all.extend(w.rings.kernel_frames());
    all.sort_unstable();
    let want: Vec<u64> = (0..u64::from(frames)).map(|i| i * 4096).collect();
    if all != want {
        return Err(format!(
            "{} places for {} frames (first difference near {:?})",
            all.len(),
            frames,
            all.iter().zip(&want).find(|(a, b)| a != b)
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn random_schedules_never_lose_or_duplicate_a_frame(
        zero_copy in any::<bool>(),
        need_wakeup in any::<bool>(),
        frames_log in 5u32..9,
        ring_log in 4u32..7,
        batch in 1usize..80,
        multi_buffer in any::<bool>(),
        max_chain in 1usize..5,
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let frames = 1u32 << frames_log;
        let ring = (1u32 << ring_log).min(frames);
        let cfg = ModelConfig {
            mode: if zero_copy { Mode::ZeroCopy } else { Mode::Copy { tx_budget: COPY_TX_BUDGET } },
            frame_size: 4096,
            frame_count: frames,
            ring_size: ring,
            need_wakeup,
            multi_buffer,
        };
        let m = KernelModel::new(cfg);
        let stats = Arc::new(QueueStats::default());
        let live = Arc::new(LiveIdentity::new(requests::identity()));
        let mut o = opts(batch);
        o.need_wakeup = need_wakeup;
        o.max_chain = max_chain;
        let mut w = Worker::new(m, 0, stats.clone(), live.clone(), o);
        let mut received = 0u64;
        for op in &ops {
            match *op {
                Op::Arrive(n, k) => {
                    for i in 0..n {
                        let f = requests::request(KINDS[k as usize], 64, i as u16);
                        if matches!(w.rings.arrive(&f), Arrival::Received(_)) {
                            received += 1;
                        }
                    }
                }
                Op::Jumbo(size, k, cut) => {
                    let f = requests::request(ECHOES[k as usize], size, cut);
                    let segs = cut_frame(&f, cut, w.rings.rx_buffer_len());
                    let arrived = if multi_buffer {
                        w.rings.arrive_chain(&segs)
                    } else {
                        w.rings.arrive(&f)
                    };
                    if matches!(arrived, Arrival::Received(_)) {
                        received += 1;
                    }
                }
                Op::Step => { w.step(); }
                Op::DriverTx => w.rings.driver_tx(),
                Op::Complete(n) => { w.rings.complete_in_flight(n); }
                Op::Kick => {
                let k = w.kick();
                // The kick loop ends: drained, no progress, or refused.
                prop_assert!(k.kicks <= ring / COPY_TX_BUDGET + 2, "{:?}", k);
            }
                Op::Garbage(b) => {
                    if matches!(w.rings.arrive(&vec![b; 1 + b as usize]), Arrival::Received(_)) {
                        received += 1;
                    }
                }
                Op::ChangeIdentity => {
                    live.update(|id| id.udp_ports.push(9));
                }
            }
            prop_assert!(every_frame_once(&w, frames).is_ok(), "{:?}", every_frame_once(&w, frames));
            let a = w.audit();
            prop_assert!(a.ok(), "{:?}", a.problems);
        }
        // Everything received was either answered, dropped and counted, or refused by a
        // full TX ring and counted; nothing vanished.
        for _ in 0..4 {
            w.rings.driver_tx();
            let n = w.rings.in_flight();
            w.rings.complete_in_flight(n);
            w.step();
        }
        let s = stats.snapshot();
        prop_assert!(s.rx_packets <= w.moves().received);
        let answered: u64 = s.answers.iter().sum();
        let dropped: u64 = s.drops.iter().sum();
        prop_assert_eq!(answered + dropped + s.tx_ring_full, s.rx_packets);
        prop_assert!(s.rx_packets <= received);
        let (exit, model) = w.finish();
        prop_assert!(exit.audit.ok(), "{:?}", exit.audit.problems);
        prop_assert!(model.invalid.is_empty(), "invalid TX descriptors {:?}", model.invalid);
        prop_assert_eq!(model.sent_count, answered);
    }
}
