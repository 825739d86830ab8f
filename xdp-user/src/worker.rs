//! One queue's loop, as its steps: complete -> receive -> fill -> handle -> transmit -> kick.
//!
//! * **complete**: frames the kernel sent come back from the completion ring to the pool;
//! * **receive**: a batch of descriptors from the RX ring, now in hand;
//! * **fill**: the pool lends free frames to the fill ring (and wakes a driver that asked);
//!   in copy mode no more than the RX ring has room for (see [`Worker::fill`]);
//! * **handle**: each frame is answered in place by [`handlers::handle`]; a reply is a span of
//!   the same frame (it may start after the request's start), a drop goes back to the pool.
//!   A multi-buffer frame (descriptors chained by `XDP_PKT_CONTD`) is collected into one
//!   packet, its first buffer as the frame and the rest as its [`Tail`], and answered by
//!   [`handlers::handle_chain`]; the reply leaves from the same descriptors with the
//!   continuation bits set (see `Worker::answer_chain`). A chain whose last buffer is not
//!   on the RX ring yet is kept for the next batch; one longer than `max_chain` is dropped
//!   (`chain_too_long`), all its buffers back to the pool;
//! * **transmit**: the replies go onto the TX ring, whole chains only (the kernel would join
//!   a chain's first part to the next frame); what a full ring refuses is counted and
//!   recycled;
//! * **kick**: a copy-mode kernel (or a sleeping zero-copy driver) transmits only when kicked;
//!   the kick repeats until the TX ring is drained, the kernel stops making progress, or it
//!   refuses (see [`Worker::kick`]).
//!
//! An empty RX ring is the idle stage: spin, nap to gather a batch, or sleep in poll(2), as
//! [`crate::idle`] decides (or never sleep: [`IdleMode::Spin`], [`IdleMode::BusyPoll`]).
//!
//! The worker is generic over [`Rings`], so the same code runs over a real socket
//! ([`crate::xsk::mmap::XskRings`]) and over the in-memory kernel model
//! ([`crate::xsk::model::KernelModel`]).
use std::{
    sync::{
        atomic::{AtomicBool, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Result;

use crate::{
    handlers::{self, Answer, DropReason, Identity, Tail, TimeOfDay, Verdict},
    idle::{Clock, Decision, IdleConfig, IdlePolicy, MonotonicClock},
    live_identity::LiveIdentity,
    ratelimit,
    stats::{request_class, BatchCounts, QueueStats, RequestClass},
    xsk::{
        frames::{audit, Audit, FramePool, Moves},
        ring::{Desc, Kick, Rings, MAX_TX_CHAIN, XDP_PKT_CONTD},
    },
};

/// How the loop waits and batches.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Frames taken from the RX ring per batch.
    pub batch: usize,
    /// What the loop does when the RX ring is empty.
    pub idle: IdleMode,
    /// Whether the socket was bound with XDP_USE_NEED_WAKEUP.
    pub need_wakeup: bool,
    /// Per-source limit on ICMP, ICMPv6 and UDP echo replies (`--echo-rate`); off when `None`.
    pub echo_limit: Option<ratelimit::Limits>,
    /// Time one packet per batch in the handler (`handler_ns`).
    pub time_handler: bool,
    /// The most buffers a multi-buffer frame may span to be answered (at most, and by
    /// default, [`MAX_TX_CHAIN`], what the kernel sends in copy mode); a longer one is
    /// dropped as `chain_too_long`.
    pub max_chain: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            batch: 32,
            idle: IdleMode::Adaptive(IdleConfig::default()),
            need_wakeup: true,
            echo_limit: None,
            time_handler: true,
            max_chain: MAX_TX_CHAIN,
        }
    }
}

/// What a worker does when it finds its RX ring empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleMode {
    /// Spin, and sleep in poll(2) once the ring has been empty for the adaptive idle time;
    /// at a moderate load, nap to gather batches ([`crate::idle`]).
    Adaptive(IdleConfig),
    /// Never sleep: spin on the rings (one full core per queue).
    Spin,
    /// Never sleep; every pass that finds the RX ring empty calls `recvfrom(MSG_DONTWAIT)`,
    /// which on a socket with busy polling enabled (`SO_PREFER_BUSY_POLL`, `SO_BUSY_POLL`)
    /// runs the driver's NAPI poll from this thread (what xdpsock `-B` does).
    BusyPoll,
}

/// Sleep at most this long in poll(2), so a stop request is seen promptly.
const IDLE_POLL_MS: i32 = 100;
/// Audit the frames every this many batches (and always at exit).
const AUDIT_EVERY: u32 = 256;
/// Kicks per loop at most: enough to drain a full ring at the copy-mode budget of 32.
const MAX_KICKS: u32 = 128;
/// How long the exit waits for frames in flight.
const DRAIN_FOR: Duration = Duration::from_millis(200);

/// Final account of a worker, for the shutdown report and tests.
#[derive(Clone, Debug)]
pub struct WorkerExit {
    pub queue: u32,
    pub moves: Moves,
    /// The frame audit at exit (pool and ring indices).
    pub audit: Audit,
}

impl WorkerExit {
    pub fn audit_ok(&self) -> Result<(), String> {
        self.audit.result()
    }
}

/// What one kick stage did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KickReport {
    pub kicks: u32,
    /// Kicks answered EAGAIN (budget used up with more left, or no completion room).
    pub again: u32,
    /// Descriptors left on the TX ring after the last kick.
    pub left: u32,
}

/// A reply: the span of the frame to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reply {
    /// Bytes from the RX address to the reply's first byte.
    offset: usize,
    len: usize,
    kind: Answer,
}

/// What `tx` holds for one reply: its kind, how many descriptors it spans and its bytes.
#[derive(Clone, Copy, Debug)]
struct TxMeta {
    kind: Answer,
    descs: u32,
    bytes: u32,
}

/// Runs the handler over the frame in place.
fn answer(
    buf: &mut [u8],
    rx_len: usize,
    id: &Identity,
    now: TimeOfDay,
) -> Result<Reply, DropReason> {
    let len = rx_len.min(buf.len());
    match handlers::handle(buf, len, id, now) {
        Verdict::Reply { offset, len, kind } => Ok(Reply { offset, len, kind }),
        Verdict::Drop(reason) => Err(reason),
    }
}

/// One queue's worker: its rings, its frames and its batch buffers.
pub struct Worker<R: Rings> {
    pub rings: R,
    pool: FramePool,
    moves: Moves,
    /// Frames in hand (received, not yet sent or recycled), the partial chain excepted.
    in_hand: u64,
    /// RX descriptors: the partial chain at the front (`carry` of them), then the batch.
    rx: Vec<Desc>,
    /// The first buffers of a multi-buffer frame whose last buffer has not been received.
    carry: usize,
    /// The rest of a chain already dropped as too long is dropped as it arrives.
    discarding: bool,
    tx: Vec<Desc>,
    /// One entry per reply in `tx`, in order.
    tx_meta: Vec<TxMeta>,
    comp: Vec<u64>,
    stats: Arc<QueueStats>,
    live: Arc<LiveIdentity>,
    generation: u64,
    identity: Arc<Identity>,
    limiter: Option<ratelimit::SourceLimiter>,
    opts: WorkerOptions,
    queue: u32,
    clock: Box<dyn Clock>,
    policy: IdlePolicy,
    batches: u32,
    /// The time of day replies record, read from `clock` once per batch.
    time_of_day: TimeOfDay,
}

impl<R: Rings> Worker<R> {
    pub fn new(
        rings: R,
        queue: u32,
        stats: Arc<QueueStats>,
        live: Arc<LiveIdentity>,
        opts: WorkerOptions,
    ) -> Self {
        Self::with_clock(
            rings,
            queue,
            stats,
            live,
            opts,
            Box::new(MonotonicClock::default()),
        )
    }

    /// As [`Worker::new`], reading time from `clock` (the idle policy and the echo limit).
    pub fn with_clock(
        rings: R,
        queue: u32,
        stats: Arc<QueueStats>,
        live: Arc<LiveIdentity>,
        opts: WorkerOptions,
        clock: Box<dyn Clock>,
    ) -> Self {
        let batch = opts.batch.max(1);
        let max_chain = opts.max_chain.clamp(1, MAX_TX_CHAIN);
        let idle_cfg = match opts.idle {
            IdleMode::Adaptive(c) => c,
            IdleMode::Spin | IdleMode::BusyPoll => IdleConfig::default(),
        };
        let policy = IdlePolicy::new(idle_cfg, clock.now_ns());
        stats
            .idle_spin_ns
            .store(policy.threshold().as_nanos() as u64, Relaxed);
        let umem = rings.umem();
        let (generation, identity) = live.load();
        // One limiter per worker: no sharing between queues. Seeded per process and queue.
        let limiter = opts.echo_limit.map(|l| {
            ratelimit::SourceLimiter::new(
                l,
                4096,
                (u64::from(std::process::id()) << 32) | u64::from(queue),
            )
        });
        Worker {
            pool: FramePool::new(umem.frame_size, umem.frame_count),
            rings,
            moves: Moves::default(),
            in_hand: 0,
            rx: vec![Desc::default(); batch + max_chain],
            carry: 0,
            discarding: false,
            tx: Vec::with_capacity(batch + max_chain),
            tx_meta: Vec::with_capacity(batch),
            comp: vec![0; 2 * batch],
            stats,
            live,
            generation,
            identity,
            limiter,
            opts: WorkerOptions {
                batch,
                max_chain,
                ..opts
            },
            queue,
            clock,
            policy,
            batches: 0,
            time_of_day: TimeOfDay::default(),
        }
    }

    pub fn pool(&self) -> &FramePool {
        &self.pool
    }
    pub fn moves(&self) -> &Moves {
        &self.moves
    }
    /// The buffers of the incomplete multi-buffer frame held between batches.
    pub fn rx_partial(&self) -> &[Desc] {
        &self.rx[..self.carry]
    }

    /// One pass of the loop. Returns the number of frames received.
    pub fn step(&mut self) -> usize {
        self.complete();
        let n = self.receive();
        // Right after the receive, so that the RX ring's room the batch just made is
        // matched by fill frames before more arrive (see `Worker::fill`).
        self.fill();
        if n == 0 {
            self.kick();
            self.idle();
            return 0;
        }
        let now = self.clock.now_ns();
        if self.policy.on_frames(now, n, self.opts.batch) {
            self.publish_idle();
        }
        // One reading of the wall clock per batch: the time replies record.
        self.time_of_day = self.clock.time_of_day();
        let mut counts = BatchCounts::default();
        self.handle(n, now, &mut counts);
        self.transmit(&mut counts);
        self.kick();
        self.stats.publish(&counts);
        self.batches = self.batches.wrapping_add(1);
        if self.batches.is_multiple_of(AUDIT_EVERY) {
            self.publish_audit();
        }
        n
    }

    /// Completion ring -> pool.
    pub fn complete(&mut self) {
        let n = self.rings.complete(&mut self.comp);
        if n > 0 {
            self.pool.put_all(&self.comp[..n]);
            self.moves.completed += n as u64;
        }
    }

    /// Pool -> fill ring, and the wake-up a driver asked for.
    ///
    /// In copy mode the RX side (fill ring and RX ring together) gets at most as many frames
    /// as the RX ring holds ([`Worker::rx_side_limit`]). The kernel takes a fill frame and
    /// copies an arriving frame into it before it looks for room on the RX ring
    /// (`__xsk_rcv`): with a full fill ring behind a full RX ring, every frame it then drops
    /// costs the receiving CPU an allocation, a copy and a free. Lent no more frames than
    /// the RX ring holds, the RX ring cannot fill up, and the kernel drops the same frames
    /// at its first check, an empty fill ring, before the copy: the RX side still takes a
    /// frame exactly when the RX ring has room, so nothing more is dropped, and the drops
    /// count as `rx_fill_ring_empty_descs` instead of `rx_ring_full`.
    pub fn fill(&mut self) {
        let lent = self.moves.kernel_rx();
        let want = (self.pool.len() as u64).min(self.rx_side_limit().saturating_sub(lent)) as u32;
        if want > 0 {
            let room = self.rings.fill_room(want).min(want) as usize;
            if room > 0 {
                let rings = &mut self.rings;
                let n = self.pool.lend(room, |a| rings.fill(a));
                self.moves.filled += n as u64;
            }
        }
        if self.opts.need_wakeup && self.rings.fill_needs_wakeup() {
            self.stats.fill_wakeups.fetch_add(1, Relaxed);
            // An error here (device gone) shows again in the next poll; the supervisor
            // notices a vanished interface and stops us.
            let _ = self.rings.wake_rx();
        }
    }

    /// The most frames the RX side (fill ring, taken by the kernel, RX ring) may hold: the
    /// RX ring's size in copy mode (see [`Worker::fill`]); no limit for a zero-copy driver,
    /// which keeps fill frames in its hardware ring and drops on a full RX ring without
    /// copying.
    fn rx_side_limit(&self) -> u64 {
        if self.rings.zero_copy() {
            u64::MAX
        } else {
            u64::from(self.rings.user().rx.mem().size)
        }
    }

    /// RX ring -> in hand (after the partial chain, if one is held).
    pub fn receive(&mut self) -> usize {
        let (start, end) = (self.carry, self.carry + self.opts.batch);
        let n = self.rings.receive(&mut self.rx[start..end]);
        self.moves.received += n as u64;
        self.in_hand += n as u64;
        n
    }

    /// Answers the `n` frames received (after the partial chain held from the last batch):
    /// replies to `self.tx`, drops back to the pool.
    fn handle(&mut self, n: usize, now_ns: u64, counts: &mut BatchCounts) {
        // A new identity is taken between batches, so one batch is answered for one identity.
        if self.live.generation() != self.generation {
            (self.generation, self.identity) = self.live.load();
        }
        // The partial chain is in hand again while the batch is handled.
        let total = self.carry + n;
        // The frames' first cache lines, where the headers are, all requested before the
        // first is read (see `Umem::prefetch`).
        let umem = self.rings.umem();
        for d in &self.rx[self.carry..total] {
            umem.prefetch(d.addr);
        }
        self.in_hand += self.carry as u64;
        self.carry = 0;
        let mut i = 0;
        while i < total {
            let d = self.rx[i];
            if d.options & XDP_PKT_CONTD == 0 && !self.discarding {
                self.answer_one(d, i == 0, now_ns, counts);
                i += 1;
                continue;
            }
            // A chain: up to the first descriptor without the continuation bit.
            let end = (i..total).find(|&k| self.rx[k].options & XDP_PKT_CONTD == 0);
            let Some(last) = end else {
                // Its last buffer is not here yet: keep it for the next batch, unless it is
                // already longer than we answer (then drop what came and the rest as it comes).
                let k = total - i;
                if self.discarding || k >= self.opts.max_chain {
                    if !self.discarding {
                        self.count_unanswered_chain(i, DropReason::ChainTooLong, counts);
                    }
                    self.discarding = true;
                    self.recycle_rx(i, total, counts);
                } else {
                    self.rx.copy_within(i..total, 0);
                    self.carry = k;
                    self.in_hand -= k as u64;
                }
                break;
            };
            if self.discarding {
                // The end of a chain dropped (and counted) already.
                self.discarding = false;
                self.recycle_rx(i, last + 1, counts);
            } else if last + 1 - i > self.opts.max_chain {
                self.count_unanswered_chain(i, DropReason::ChainTooLong, counts);
                self.recycle_rx(i, last + 1, counts);
            } else {
                self.answer_chain(i, last + 1, now_ns, counts);
            }
            i = last + 1;
        }
    }

    /// One multi-buffer frame, starting at `rx[first]`, dropped unanswered for `reason`:
    /// counted once (its buffers may come in several batches; their bytes are counted as
    /// they come, by [`Worker::recycle_rx`]), in the class its first buffer shows.
    fn count_unanswered_chain(
        &mut self,
        first: usize,
        reason: DropReason,
        counts: &mut BatchCounts,
    ) {
        let d = self.rx[first];
        // SAFETY: the descriptor came from our RX ring and its frame is still in hand (see
        // `answer_one`); this shared slice is the only reference while it lives.
        let class = match unsafe { self.rings.umem().frame_mut(d.addr) } {
            Some(buf) => request_class(buf.get(..d.len as usize).unwrap_or(buf)),
            None => RequestClass::Other,
        };
        counts.rx_packets += 1;
        counts.drops[reason as usize] += 1;
        counts.drop_classes[class as usize] += 1;
    }

    /// Gives the received buffers `rx[from..to]` back to the pool, counting their bytes.
    fn recycle_rx(&mut self, from: usize, to: usize, counts: &mut BatchCounts) {
        for k in from..to {
            let d = self.rx[k];
            counts.rx_bytes += u64::from(d.len);
            self.pool.put(d.addr);
        }
        self.in_hand -= (to - from) as u64;
        self.moves.recycled += (to - from) as u64;
    }

    /// Answers one single-buffer frame.
    fn answer_one(&mut self, d: Desc, timed: bool, now_ns: u64, counts: &mut BatchCounts) {
        let umem = self.rings.umem();
        let rx_len = d.len as usize;
        counts.rx_packets += 1;
        counts.rx_bytes += rx_len as u64;
        // SAFETY: the descriptor came from our RX ring: the kernel handed the frame over
        // and touches it again only after we give it back through the TX or fill ring;
        // no other reference to it exists while `buf` lives (one frame at a time).
        let Some(buf) = (unsafe { umem.frame_mut(d.addr) }) else {
            // An address outside the UMEM cannot come from a kernel that validated our
            // fill entries; count it and keep nothing.
            counts.drops[DropReason::Malformed as usize] += 1;
            counts.drop_classes[RequestClass::Other as usize] += 1;
            self.in_hand -= 1;
            self.moves.recycled += 1;
            return;
        };
        let verdict = if timed && self.opts.time_handler {
            let t = Instant::now();
            let v = answer(buf, rx_len, &self.identity, self.time_of_day);
            self.stats.handler_ns.record(t.elapsed().as_nanos() as u64);
            v
        } else {
            answer(buf, rx_len, &self.identity, self.time_of_day)
        };
        let verdict = match (verdict, self.limiter.as_mut()) {
            (Ok(r), Some(l)) => {
                let reply = buf.get(r.offset..r.offset + r.len).unwrap_or(&[]);
                if l.allow_reply(reply, r.kind, now_ns) {
                    verdict
                } else {
                    Err(DropReason::RateLimited)
                }
            }
            _ => verdict,
        };
        match verdict {
            Ok(r) => {
                self.tx.push(Desc {
                    addr: d.addr + r.offset as u64,
                    len: r.len as u32,
                    options: 0,
                });
                self.tx_meta.push(TxMeta {
                    kind: r.kind,
                    descs: 1,
                    bytes: r.len as u32,
                });
            }
            Err(reason) => {
                counts.drops[reason as usize] += 1;
                // The frame still holds the request (a drop leaves it untouched; a
                // rate-limited echo holds its reply, of the same class).
                let frame = buf.get(..rx_len).unwrap_or(buf);
                counts.drop_classes[request_class(frame) as usize] += 1;
                self.pool.put(d.addr);
                self.in_hand -= 1;
                self.moves.recycled += 1;
            }
        }
    }

    /// Answers the multi-buffer frame `rx[from..to]` (at most `max_chain` buffers, the last
    /// without `XDP_PKT_CONTD`): the first buffer is the frame the handler rewrites, the
    /// others its read-only [`Tail`]. The reply is sent from the same descriptors, each as
    /// long as the reply's bytes in it, all but the last with `XDP_PKT_CONTD`; buffers past
    /// the reply's end (padding past the IP length) go back to the pool.
    fn answer_chain(&mut self, from: usize, to: usize, now_ns: u64, counts: &mut BatchCounts) {
        let umem = self.rings.umem();
        counts.rx_packets += 1;
        let chain = &self.rx[from..to];
        counts.rx_bytes += chain.iter().map(|d| u64::from(d.len)).sum::<u64>();
        let mut segs: [&[u8]; MAX_TX_CHAIN] = [&[]; MAX_TX_CHAIN];
        let mut valid = true;
        for (seg, d) in segs.iter_mut().zip(&chain[1..]) {
            // SAFETY: each descriptor of the chain came from our RX ring (see `answer_one`)
            // and names its own UMEM frame (the kernel gives each buffer once); these
            // shared slices and the first buffer's below are the only references to them.
            match unsafe { umem.frame_mut(d.addr) } {
                Some(b) => *seg = b.get(..d.len as usize).unwrap_or(b),
                None => valid = false,
            }
        }
        let head = chain[0];
        // SAFETY: as above, for the chain's first frame.
        let buf = unsafe { umem.frame_mut(head.addr) };
        let (Some(buf), true) = (buf, valid) else {
            counts.drops[DropReason::Malformed as usize] += 1;
            counts.drop_classes[RequestClass::Other as usize] += 1;
            self.recycle_rx(from, to, &mut BatchCounts::default());
            return;
        };
        let head_len = (head.len as usize).min(buf.len());
        let tail = Tail::new(&segs[..to - from - 1]);
        let verdict = handlers::handle_chain(buf, head_len, tail, &self.identity, self.time_of_day);
        let verdict = match (verdict, self.limiter.as_mut()) {
            (Verdict::Reply { offset, len, kind }, Some(l)) => {
                let reply = buf
                    .get(offset..offset + len.min(head_len.saturating_sub(offset)))
                    .unwrap_or(&[]);
                if l.allow_reply(reply, kind, now_ns) {
                    verdict
                } else {
                    Verdict::Drop(DropReason::RateLimited)
                }
            }
            _ => verdict,
        };
        match verdict {
            Verdict::Reply { offset, len, kind } => {
                // The reply starts `offset` bytes into the first buffer (headers moved
                // forward), then runs on through the buffers as received.
                let mut left = len;
                let mut used = from;
                let mut skip = offset;
                while used < to && left > 0 {
                    let d = self.rx[used];
                    let l = left.min((d.len as usize).saturating_sub(skip));
                    self.tx.push(Desc {
                        addr: d.addr + skip as u64,
                        len: l as u32,
                        options: XDP_PKT_CONTD,
                    });
                    left -= l;
                    used += 1;
                    skip = 0;
                }
                if let Some(last) = self.tx.last_mut() {
                    last.options = 0;
                }
                self.tx_meta.push(TxMeta {
                    kind,
                    descs: (used - from) as u32,
                    bytes: (len - left) as u32,
                });
                self.recycle_rx(used, to, &mut BatchCounts::default());
            }
            Verdict::Drop(reason) => {
                counts.drops[reason as usize] += 1;
                let frame = buf.get(..head_len).unwrap_or(buf);
                counts.drop_classes[request_class(frame) as usize] += 1;
                self.recycle_rx(from, to, &mut BatchCounts::default());
            }
        }
    }

    /// Replies -> TX ring, whole chains only; what does not fit is recycled and counted.
    fn transmit(&mut self, counts: &mut BatchCounts) {
        let room = self.rings.tx_room(self.tx.len() as u32) as usize;
        let (mut fit, mut replies) = (0usize, 0usize);
        for m in &self.tx_meta {
            if fit + m.descs as usize > room {
                break;
            }
            fit += m.descs as usize;
            replies += 1;
        }
        let sent = self.rings.transmit(&self.tx[..fit]);
        debug_assert_eq!(sent, fit, "the TX ring had room for {fit}");
        self.moves.sent += sent as u64;
        self.in_hand -= sent as u64;
        counts.tx_packets = replies as u64;
        for m in &self.tx_meta[..replies] {
            counts.answers[m.kind as usize] += 1;
            counts.tx_bytes += u64::from(m.bytes);
        }
        let unsent = self.tx.len() - sent;
        if unsent > 0 {
            counts.tx_ring_full = (self.tx_meta.len() - replies) as u64;
            for d in &self.tx[sent..] {
                self.pool.put(d.addr);
            }
            self.in_hand -= unsent as u64;
            self.moves.recycled += unsent as u64;
        }
        self.tx.clear();
        self.tx_meta.clear();
    }

    /// Makes the kernel send what is on the TX ring.
    ///
    /// A copy-mode `sendto()` moves at most the socket's TX budget and answers EAGAIN when
    /// more is left, so one kick per loop leaves frames waiting a whole loop. This kicks again
    /// while the ring keeps draining, and stops when it is empty, when a kick made no progress
    /// (the completion ring is full, or a zero-copy driver works asynchronously), on a refusal
    /// (EBUSY, ENOBUFS, ENETDOWN ...) or after `MAX_KICKS` kicks.
    pub fn kick(&mut self) -> KickReport {
        let mut report = KickReport::default();
        let mut left = self.rings.tx_outstanding();
        // Busy polling: the sendto() itself runs the driver's NAPI (which sends), so it is
        // made whenever frames wait, asked for or not (as xdpsock -B does).
        let asked = !self.opts.need_wakeup
            || self.rings.tx_needs_wakeup()
            || self.opts.idle == IdleMode::BusyPoll;
        if left == 0 || !asked {
            report.left = left;
            return report;
        }
        while report.kicks < MAX_KICKS {
            report.kicks += 1;
            let k = self.rings.kick_tx();
            let now = self.rings.tx_outstanding();
            let progress = now < left;
            left = now;
            match k {
                Kick::Again => report.again += 1,
                Kick::Done => {}
                Kick::Busy(_) | Kick::Error(_) => break,
            }
            if left == 0 || !progress {
                break;
            }
        }
        report.left = left;
        self.stats
            .tx_wakeups
            .fetch_add(u64::from(report.kicks), Relaxed);
        if report.again > 0 {
            self.stats
                .tx_kick_again
                .fetch_add(u64::from(report.again), Relaxed);
        }
        report
    }

    /// The RX ring was empty: spin, busy-poll the driver, or sleep.
    fn idle(&mut self) {
        match self.opts.idle {
            IdleMode::Spin => {}
            IdleMode::BusyPoll => {
                self.stats.busy_polls.fetch_add(1, Relaxed);
                // As for the fill wake-up: errors show again in the next call.
                let _ = self.rings.wake_rx();
            }
            IdleMode::Adaptive(_) => {
                let now = self.clock.now_ns();
                match self.policy.on_empty(now) {
                    Decision::Spin => {}
                    Decision::Nap(d) => {
                        self.stats.idle_naps.fetch_add(1, Relaxed);
                        self.clock.sleep(d);
                        self.policy.napped(now, self.clock.now_ns());
                    }
                    Decision::Sleep => {
                        self.stats.idle_sleeps.fetch_add(1, Relaxed);
                        // The frame gauges, current while traffic is away (under load they
                        // are refreshed with every AUDIT_EVERY batches' audit).
                        self.publish_gauges();
                        // A poll error (e.g. the device went away) ends the idle wait; the
                        // supervisor notices a vanished interface and stops us.
                        let _ = self.rings.wait(IDLE_POLL_MS);
                        self.policy.woke(now, self.clock.now_ns());
                        self.publish_idle();
                    }
                }
            }
        }
    }

    /// The idle policy's threshold and wake-ups into the statistics.
    fn publish_idle(&self) {
        let c = self.policy.counts();
        self.stats
            .idle_spin_ns
            .store(self.policy.threshold().as_nanos() as u64, Relaxed);
        self.stats.idle_woken.store(c.woken_by_traffic, Relaxed);
    }

    /// The idle policy (its threshold and counts).
    pub fn idle_policy(&self) -> &IdlePolicy {
        &self.policy
    }

    /// The frame audit now.
    pub fn audit(&self) -> Audit {
        audit(
            &self.pool,
            self.in_hand,
            self.carry as u64,
            self.opts.max_chain as u64,
            &self.moves,
            self.rings.indices(),
            self.rings.fill_size(),
        )
    }

    /// The frame gauges from the worker's own counts: no ring index read, no allocation, so
    /// cheap enough for every sleep. The audit checks the same counts against the rings.
    fn publish_gauges(&self) {
        self.stats
            .frames_free
            .store(self.pool.len() as u64, Relaxed);
        self.stats
            .frames_kernel_rx
            .store(self.moves.kernel_rx(), Relaxed);
        self.stats
            .frames_kernel_tx
            .store(self.moves.kernel_tx(), Relaxed);
    }

    fn publish_audit(&self) {
        self.publish_gauges();
        if !self.audit().ok() {
            self.stats.ledger_errors.fetch_add(1, Relaxed);
        }
    }

    /// Waits briefly for frames in flight, takes the last statistics and audits the frames.
    pub fn finish(mut self) -> (WorkerExit, R) {
        if self.carry > 0 {
            // The first buffers of a frame whose last never came: not answered, back to the
            // pool (the rest, if it comes, stays with the kernel's RX side).
            let mut counts = BatchCounts::default();
            self.count_unanswered_chain(0, DropReason::Truncated, &mut counts);
            self.in_hand += self.carry as u64;
            let k = self.carry;
            self.carry = 0;
            self.recycle_rx(0, k, &mut counts);
            self.stats.publish(&counts);
        }
        let deadline = Instant::now() + DRAIN_FOR;
        while self.moves.sent > self.moves.completed && Instant::now() < deadline {
            self.kick();
            self.complete();
            if self.moves.sent > self.moves.completed {
                let _ = self.rings.wait(1);
            }
        }
        self.publish_audit();
        if let Ok(x) = self.rings.statistics() {
            *self
                .stats
                .xdp_final
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(x);
        }
        let exit = WorkerExit {
            queue: self.queue,
            moves: self.moves,
            audit: self.audit(),
        };
        (exit, self.rings)
    }
}

/// Runs until `stop` is set and returns the final frame accounting, calling `primed` once the
/// fill ring holds every frame it takes and before the first receive: from then on a frame the
/// kernel puts on this socket finds a buffer (the runner puts the socket into the XSKMAP only
/// after this).
pub fn run<R: Rings>(
    rings: R,
    queue: u32,
    stats: Arc<QueueStats>,
    live: Arc<LiveIdentity>,
    stop: Arc<AtomicBool>,
    opts: WorkerOptions,
    primed: impl FnOnce(),
) -> Result<WorkerExit> {
    let mut w = Worker::new(rings, queue, stats, live, opts);
    w.complete();
    w.fill();
    w.publish_gauges();
    primed();
    while !stop.load(Relaxed) {
        w.step();
    }
    Ok(w.finish().0)
}
