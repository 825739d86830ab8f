//! One queue's loop. Data flows one way: RX ring -> handler -> TX ring -> completion ring ->
//! fill ring (dropped frames go straight back to the free list, then the fill ring).
//! The reply is the request's own frame: the TX descriptor carries the RX descriptor's address.
use std::{
    sync::{
        atomic::{AtomicBool, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Result;
use xsk_rs::FrameDesc;

use crate::{
    handlers::{self, ratelimit, Answer, DropReason, Identity, Verdict},
    live_identity::LiveIdentity,
    stats::{BatchCounts, QueueStats},
    xsk::{frames::FrameLedger, socket::XskQueue, sys},
};

/// How the loop waits and batches.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Frames taken from the RX ring per batch.
    pub batch: usize,
    /// Never sleep: spin on the rings (lowest latency, one full core per queue).
    pub busy_poll: bool,
    /// Empty polls before sleeping in poll(2) when not busy polling.
    pub spins_before_sleep: u32,
    /// Whether the socket was bound with XDP_USE_NEED_WAKEUP.
    pub need_wakeup: bool,
    /// Per-source limit on ICMP, ICMPv6 and UDP echo replies (`--echo-rate`); off when `None`.
    pub echo_limit: Option<ratelimit::Limits>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            batch: 32,
            busy_poll: false,
            spins_before_sleep: 2000,
            need_wakeup: true,
            echo_limit: None,
        }
    }
}

/// Sleep at most this long in poll(2), so a stop request is seen promptly.
const IDLE_POLL_MS: i32 = 100;
/// Check the frame ledger every this many batches (and always at exit).
const LEDGER_CHECK_EVERY: u32 = 256;

/// Final account of a worker, for the shutdown report and tests.
#[derive(Clone, Debug)]
pub struct WorkerExit {
    pub queue: u32,
    pub ledger: FrameLedger,
    pub ledger_ok: Result<(), String>,
}

/// Runs until `stop` is set. Returns the final frame accounting.
pub fn run(
    mut q: XskQueue,
    stats: Arc<QueueStats>,
    live: Arc<LiveIdentity>,
    stop: Arc<AtomicBool>,
    opts: WorkerOptions,
) -> Result<WorkerExit> {
    let batch = opts.batch.max(1);
    let mut free: Vec<FrameDesc> = std::mem::take(&mut q.frames);
    let mut ledger = FrameLedger::new(free.len() as u64);
    let mut rx_descs = vec![FrameDesc::default(); batch];
    let mut tx_descs: Vec<FrameDesc> = Vec::with_capacity(batch);
    // The answer kind of each reply in `tx_descs`.
    let mut tx_kinds: Vec<Answer> = Vec::with_capacity(batch);
    let mut comp_descs = vec![FrameDesc::default(); 2 * batch];
    let (mut generation, mut identity) = live.load();
    // One limiter per worker: no sharing between queues. Seeded per process and queue.
    let mut limiter = opts.echo_limit.map(|l| {
        ratelimit::SourceLimiter::new(
            l,
            4096,
            (u64::from(std::process::id()) << 32) | u64::from(q.queue),
        )
    });
    let clock = Instant::now();
    let mut idle_spins = 0u32;
    let mut batches = 0u32;

    refill(&mut q, &mut free, &mut ledger, &stats, &opts);
    while !stop.load(Relaxed) {
        reap_completions(&mut q, &mut free, &mut ledger, &mut comp_descs);
        refill(&mut q, &mut free, &mut ledger, &stats, &opts);

        // SAFETY: `rx_descs` only receives descriptors; frames of this UMEM only.
        let n = unsafe { q.rx.consume(&mut rx_descs) };
        if n == 0 {
            kick_tx(&q, &ledger, &stats, &opts);
            idle_spins += 1;
            if !opts.busy_poll && idle_spins >= opts.spins_before_sleep {
                idle_spins = 0;
                stats.idle_sleeps.fetch_add(1, Relaxed);
                // A poll error (e.g. the device went away) ends the idle wait; the
                // supervisor notices a vanished interface and stops us.
                let _ = q.rx.poll(IDLE_POLL_MS);
            }
            continue;
        }
        idle_spins = 0;
        ledger.receive(n as u64);
        if live.generation() != generation {
            (generation, identity) = live.load();
        }

        let mut counts = BatchCounts::default();
        let mut recycled = 0u64;
        let now_ns = clock.elapsed().as_nanos() as u64;
        for (i, desc) in rx_descs[..n].iter_mut().enumerate() {
            let rx_len = desc.lengths().data();
            counts.rx_packets += 1;
            counts.rx_bytes += rx_len as u64;
            // Time one packet per batch: two clock reads per batch cost next to nothing.
            let verdict = if i == 0 {
                let t = Instant::now();
                let v = answer_in_place(&q, desc, rx_len, &identity);
                stats.handler_ns.record(t.elapsed().as_nanos() as u64);
                v
            } else {
                answer_in_place(&q, desc, rx_len, &identity)
            };
            let verdict = match (verdict, limiter.as_mut()) {
                (Verdict::Reply { kind, .. }, Some(l)) => {
                    // SAFETY: as in answer_in_place; the frame is in hand, only read here.
                    let reply = unsafe { q.umem.data(desc) };
                    if l.allow_reply(reply.contents(), kind, now_ns) {
                        verdict
                    } else {
                        Verdict::Drop(DropReason::RateLimited)
                    }
                }
                _ => verdict,
            };
            match verdict {
                Verdict::Reply { kind, .. } => {
                    tx_descs.push(*desc);
                    tx_kinds.push(kind);
                }
                Verdict::Drop(reason) => {
                    counts.drops[reason as usize] += 1;
                    free.push(*desc);
                    recycled += 1;
                }
            }
        }
        ledger.recycle(recycled);

        // SAFETY: the TX ring has at least `room` free slots, so produce() takes all of
        // `tx_descs[..room]`; each descriptor is a frame in hand, owned by no ring.
        let room = (q.tx.nb_free(tx_descs.len() as u32) as usize).min(tx_descs.len());
        let sent = if room > 0 {
            unsafe { q.tx.produce(&tx_descs[..room]) }
        } else {
            0
        };
        ledger.send(sent as u64);
        counts.tx_packets = sent as u64;
        for (desc, kind) in tx_descs[..sent].iter().zip(&tx_kinds) {
            counts.answers[*kind as usize] += 1;
            counts.tx_bytes += desc.lengths().data() as u64;
        }
        let unsent = tx_descs.len() - sent;
        if unsent > 0 {
            counts.tx_ring_full = unsent as u64;
            free.extend_from_slice(&tx_descs[sent..]);
            ledger.recycle(unsent as u64);
        }
        tx_descs.clear();
        tx_kinds.clear();
        kick_tx(&q, &ledger, &stats, &opts);
        stats.publish(&counts);

        batches = batches.wrapping_add(1);
        if batches.is_multiple_of(LEDGER_CHECK_EVERY) {
            publish_ledger(&stats, &ledger, free.len());
        }
    }

    drain(
        &mut q,
        &mut free,
        &mut ledger,
        &mut comp_descs,
        &stats,
        &opts,
    );
    publish_ledger(&stats, &ledger, free.len());
    if let Ok(x) = sys::xdp_statistics(q.fd()) {
        *stats.xdp_final.lock().unwrap_or_else(|p| p.into_inner()) = Some(x);
    }
    Ok(WorkerExit {
        queue: q.queue,
        ledger,
        ledger_ok: ledger.check(free.len()),
    })
}

/// Runs the handler over the frame in place and sets the descriptor's length to the reply's.
fn answer_in_place(q: &XskQueue, desc: &mut FrameDesc, rx_len: usize, id: &Identity) -> Verdict {
    // SAFETY: the descriptor came from our RX ring, so the kernel handed this frame to us and
    // touches it again only after we give it back through the TX or fill ring; no other
    // reference to this frame exists in user space.
    let mut data = unsafe { q.umem.data_mut(desc) };
    let capacity = data.cursor().buf_len();
    data.cursor().set_pos(capacity);
    let verdict = handlers::handle(data.contents_mut(), rx_len.min(capacity), id);
    let len = match verdict {
        Verdict::Reply { len, .. } => len,
        Verdict::Drop(_) => rx_len,
    };
    data.cursor().set_pos(len);
    verdict
}

fn reap_completions(
    q: &mut XskQueue,
    free: &mut Vec<FrameDesc>,
    ledger: &mut FrameLedger,
    comp: &mut [FrameDesc],
) {
    // SAFETY: `comp` only receives descriptors of frames this UMEM sent.
    let n = unsafe { q.comp.consume(comp) };
    if n > 0 {
        free.extend_from_slice(&comp[..n]);
        ledger.complete(n as u64);
    }
}

fn refill(
    q: &mut XskQueue,
    free: &mut Vec<FrameDesc>,
    ledger: &mut FrameLedger,
    stats: &QueueStats,
    opts: &WorkerOptions,
) {
    let room = (q.fill.nb_free(free.len() as u32) as usize).min(free.len());
    if room > 0 {
        let start = free.len() - room;
        // SAFETY: the ring has `room` free slots; the frames are in the free list, owned by
        // no ring and not referenced elsewhere.
        let n = unsafe { q.fill.produce(&free[start..]) };
        free.truncate(free.len() - n);
        ledger.fill(n as u64);
    }
    if opts.need_wakeup && q.fill.needs_wakeup() {
        stats.fill_wakeups.fetch_add(1, Relaxed);
        let _ = q.fill.wakeup(q.rx.fd_mut(), 0);
    }
}

/// Copy-mode TX (and need_wakeup) needs a sendto() to move frames out of the TX ring.
fn kick_tx(q: &XskQueue, ledger: &FrameLedger, stats: &QueueStats, opts: &WorkerOptions) {
    if ledger.sent > ledger.completed && (!opts.need_wakeup || q.tx.needs_wakeup()) {
        stats.tx_wakeups.fetch_add(1, Relaxed);
        let _ = q.tx.wakeup();
    }
}

/// At exit, wait briefly for frames in flight so the final accounting is exact.
fn drain(
    q: &mut XskQueue,
    free: &mut Vec<FrameDesc>,
    ledger: &mut FrameLedger,
    comp: &mut [FrameDesc],
    stats: &QueueStats,
    opts: &WorkerOptions,
) {
    let deadline = Instant::now() + Duration::from_millis(200);
    while ledger.sent > ledger.completed && Instant::now() < deadline {
        kick_tx(q, ledger, stats, opts);
        reap_completions(q, free, ledger, comp);
    }
}

fn publish_ledger(stats: &QueueStats, ledger: &FrameLedger, free_len: usize) {
    let p = ledger.places();
    stats.frames_free.store(p.free, Relaxed);
    stats.frames_kernel_rx.store(p.kernel_rx, Relaxed);
    stats.frames_kernel_tx.store(p.kernel_tx, Relaxed);
    if ledger.check(free_len).is_err() {
        stats.ledger_errors.fetch_add(1, Relaxed);
    }
}
