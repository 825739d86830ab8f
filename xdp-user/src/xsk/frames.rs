//! Frame accounting: the pool that owns the free frames, and the audit that proves every UMEM
//! frame is in exactly one place.
//!
//! A frame is always in one of: the [`FramePool`] (user space, idle), in hand (received this
//! batch, being answered), the partial chain (the first buffers of a multi-buffer frame whose
//! last buffer is not on the RX ring yet, kept by the worker between batches), or with the
//! kernel — its RX side (fill ring, taken by the kernel or
//! driver, RX ring) or its TX side (TX ring, being sent, completion ring). The pool holds the
//! free frames' chunk addresses and nothing else counts them, so its length is the number of
//! free frames by construction.
//!
//! [`audit`] checks the pool against sources the worker does not compute: the four rings'
//! producer and consumer indices read from ring memory (the indices the kernel reads and
//! writes too), and the pool's addresses themselves (each inside the UMEM, chunk-aligned, none
//! twice). The worker's own move counters ([`Moves`]) are compared with the rings' indices as
//! a second source. A frame lost or duplicated anywhere makes the sum differ from the UMEM's
//! frame count.
use std::fmt;

use super::ring::{RingIndex, RingIndices};

/// The free frames, by chunk address.
#[derive(Debug)]
pub struct FramePool {
    free: Vec<u64>,
    frame_size: u32,
    frame_count: u32,
}

impl FramePool {
    /// A pool owning all `frame_count` frames of a UMEM.
    pub fn new(frame_size: u32, frame_count: u32) -> Self {
        FramePool {
            free: (0..u64::from(frame_count))
                .map(|i| i * u64::from(frame_size))
                .collect(),
            frame_size,
            frame_count,
        }
    }

    pub fn len(&self) -> usize {
        self.free.len()
    }
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
    pub fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// The chunk an address (RX or TX descriptor, completion) belongs to.
    #[inline]
    pub fn chunk(&self, addr: u64) -> u64 {
        addr & !(u64::from(self.frame_size) - 1)
    }

    /// Takes a frame back (by any address inside it).
    #[inline]
    pub fn put(&mut self, addr: u64) {
        let c = self.chunk(addr);
        self.free.push(c);
    }

    /// Takes frames back from completion addresses.
    pub fn put_all(&mut self, addrs: &[u64]) {
        let mask = !(u64::from(self.frame_size) - 1);
        self.free.extend(addrs.iter().map(|a| a & mask));
    }

    /// Offers up to `max` frames to `give` (which returns how many it took) and keeps the rest.
    pub fn lend(&mut self, max: usize, give: impl FnOnce(&[u64]) -> usize) -> usize {
        let k = max.min(self.free.len());
        let start = self.free.len() - k;
        let taken = give(&self.free[start..]).min(k);
        // The ring takes from the front of the offered slice.
        self.free.drain(start..start + taken);
        taken
    }

    /// The free addresses (for the audit).
    pub fn addresses(&self) -> &[u64] {
        &self.free
    }
}

/// Moves the worker made, counted by it (cumulative, wrapping like the rings' indices).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moves {
    pub filled: u64,
    pub received: u64,
    pub sent: u64,
    pub completed: u64,
    /// Received and given back to the pool (dropped, or refused by a full TX ring).
    pub recycled: u64,
}

impl Moves {
    /// Frames on the kernel's RX side (fill ring, taken by the kernel, RX ring) by these
    /// counts: filled and not yet received.
    pub fn kernel_rx(&self) -> u64 {
        self.filled.wrapping_sub(self.received)
    }

    /// Frames on the kernel's TX side (TX ring, being sent, completion ring) by these
    /// counts: sent and not yet completed.
    pub fn kernel_tx(&self) -> u64 {
        self.sent.wrapping_sub(self.completed)
    }
}

/// Where the frames are, from the pool and the rings' indices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    pub total: u64,
    pub free: u64,
    pub in_hand: u64,
    /// Buffers of a multi-buffer frame received without its last buffer yet.
    pub rx_partial: u64,
    /// Fill ring + taken by the kernel + RX ring: fill producer - RX consumer.
    pub kernel_rx: u64,
    /// TX ring + being sent + completion ring: TX producer - completion consumer.
    pub kernel_tx: u64,
    pub indices: RingIndices,
    /// Everything that does not add up; empty when the accounting holds.
    pub problems: Vec<String>,
}

impl Audit {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
    pub fn result(&self) -> Result<(), String> {
        if self.ok() {
            Ok(())
        } else {
            Err(format!("frame audit failed: {}", self.problems.join("; ")))
        }
    }
}

impl fmt::Display for Audit {
    /// `fill=P/C rx=P/C tx=P/C comp=P/C` (producer/consumer).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.indices;
        let pc = |r: &RingIndex| format!("{}/{}", r.producer, r.consumer);
        write!(
            f,
            "fill={} rx={} tx={} comp={}",
            pc(&i.fill),
            pc(&i.rx),
            pc(&i.tx),
            pc(&i.comp)
        )
    }
}

/// Checks that every frame is in exactly one place. Runs between batches: `in_hand`, the
/// frames the worker counts as held between RX and TX, must be 0; `rx_partial` are the
/// buffers of an incomplete multi-buffer frame the worker holds until its last buffer comes
/// (at most one frame's, fewer than `max_chain`). `ring_size` is the rings' size.
#[allow(clippy::too_many_arguments)]
pub fn audit(
    pool: &FramePool,
    in_hand: u64,
    rx_partial: u64,
    max_chain: u64,
    moves: &Moves,
    idx: RingIndices,
    ring_size: u32,
) -> Audit {
    let total = u64::from(pool.frame_count);
    let mut problems = Vec::new();
    // The pool's addresses: inside the UMEM, chunk starts, each once.
    let fs = u64::from(pool.frame_size);
    let mut seen = vec![false; pool.frame_count as usize];
    let mut bad = 0usize;
    let mut dup = 0usize;
    for &a in pool.addresses() {
        match usize::try_from(a / fs).ok().and_then(|i| seen.get_mut(i)) {
            Some(s) if a % fs == 0 => {
                if *s {
                    dup += 1;
                }
                *s = true;
            }
            _ => bad += 1,
        }
    }
    if bad > 0 {
        problems.push(format!(
            "{bad} free-list addresses outside the UMEM or not a frame start"
        ));
    }
    if dup > 0 {
        problems.push(format!("{dup} frames twice in the free list"));
    }
    // Each stretch between two indices is a count of frames: never more than a ring (for the
    // rings) or the UMEM (for what the kernel holds between rings).
    let stretch = |name: &str, from: u32, to: u32, max: u64, problems: &mut Vec<String>| {
        let n = u64::from(to.wrapping_sub(from));
        if n > max {
            problems.push(format!("{name}: {to} - {from} = {n} exceeds {max}"));
        }
        n
    };
    let rs = u64::from(ring_size);
    let in_fill = stretch(
        "fill ring",
        idx.fill.consumer,
        idx.fill.producer,
        rs,
        &mut problems,
    );
    let kernel_held = stretch(
        "taken from fill, not on RX",
        idx.rx.producer,
        idx.fill.consumer,
        total,
        &mut problems,
    );
    let in_rx = stretch(
        "RX ring",
        idx.rx.consumer,
        idx.rx.producer,
        rs,
        &mut problems,
    );
    let in_tx = stretch(
        "TX ring",
        idx.tx.consumer,
        idx.tx.producer,
        rs,
        &mut problems,
    );
    let sending = stretch(
        "taken from TX, not completed",
        idx.comp.producer,
        idx.tx.consumer,
        total,
        &mut problems,
    );
    let in_comp = stretch(
        "completion ring",
        idx.comp.consumer,
        idx.comp.producer,
        rs,
        &mut problems,
    );
    // The audit runs between batches, when no frame may be in hand.
    if in_hand != 0 {
        problems.push(format!("{in_hand} frames in hand between batches"));
    }
    if rx_partial >= max_chain.max(1) {
        problems.push(format!(
            "{rx_partial} buffers of an incomplete chain held, a chain has at most {max_chain}"
        ));
    }
    let kernel_rx = in_fill + kernel_held + in_rx;
    let kernel_tx = in_tx + sending + in_comp;
    let free = pool.len() as u64;
    let sum = free + in_hand + rx_partial + kernel_rx + kernel_tx;
    if sum != total {
        problems.push(format!(
            "free {free} + in hand {in_hand} + partial chain {rx_partial} + kernel RX side {kernel_rx} + kernel TX side {kernel_tx} = {sum}, but the UMEM has {total} frames"
        ));
    }
    // The worker's own counts against the rings' indices (which wrap at 2^32).
    for (name, counted, ring) in [
        ("filled", moves.filled, idx.fill.producer),
        ("received", moves.received, idx.rx.consumer),
        ("sent", moves.sent, idx.tx.producer),
        ("completed", moves.completed, idx.comp.consumer),
    ] {
        if counted as u32 != ring {
            problems.push(format!(
                "worker counted {counted} {name} but the ring index says {ring}"
            ));
        }
    }
    Audit {
        total,
        free,
        in_hand,
        rx_partial,
        kernel_rx,
        kernel_tx,
        indices: idx,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(fill: (u32, u32), rx: (u32, u32), tx: (u32, u32), comp: (u32, u32)) -> RingIndices {
        let r = |(producer, consumer)| RingIndex { producer, consumer };
        RingIndices {
            fill: r(fill),
            rx: r(rx),
            tx: r(tx),
            comp: r(comp),
        }
    }

    #[test]
    fn a_consistent_picture_passes() {
        let mut pool = FramePool::new(4096, 8);
        assert_eq!(pool.lend(6, |a| a.len()), 6);
        // 6 filled; kernel took 4, put 3 on RX; we received 2 and sent them; kernel sent 1.
        for a in [0u64, 4096] {
            let _ = a;
        }
        let moves = Moves {
            filled: 6,
            received: 2,
            sent: 2,
            completed: 0,
            recycled: 0,
        };
        let a = audit(
            &pool,
            0,
            0,
            18,
            &moves,
            idx((6, 4), (3, 2), (2, 1), (1, 0)),
            4,
        );
        assert!(a.ok(), "{:?}", a.problems);
        assert_eq!((a.free, a.kernel_rx, a.kernel_tx), (2, 4, 2));
    }

    #[test]
    fn a_partial_chain_is_a_place_of_its_own() {
        let mut pool = FramePool::new(4096, 8);
        assert_eq!(pool.lend(6, |a| a.len()), 6);
        let moves = Moves {
            filled: 6,
            received: 3,
            ..Default::default()
        };
        // Three received: the first two buffers of a chain held, one recycled.
        pool.put(2 * 4096);
        let rings = idx((6, 6), (6, 3), (0, 0), (0, 0));
        let a = audit(&pool, 0, 2, 18, &moves, rings, 8);
        assert!(a.ok(), "{:?}", a.problems);
        assert_eq!(a.rx_partial, 2);
        // Not counting them loses two frames; holding more than a chain is caught too.
        assert!(!audit(&pool, 0, 0, 18, &moves, rings, 8).ok());
        let a = audit(&pool, 0, 2, 2, &moves, rings, 8);
        assert!(
            a.problems.iter().any(|p| p.contains("incomplete chain")),
            "{a:?}"
        );
    }

    #[test]
    fn a_lost_frame_is_caught() {
        let mut pool = FramePool::new(4096, 8);
        assert_eq!(pool.lend(6, |a| a.len()), 6);
        let moves = Moves {
            filled: 6,
            received: 1,
            ..Default::default()
        };
        // One frame received and never given back nor sent.
        let a = audit(
            &pool,
            0,
            0,
            18,
            &moves,
            idx((6, 6), (6, 1), (0, 0), (0, 0)),
            8,
        );
        assert!(!a.ok());
        assert!(a.problems[0].contains("= 7"), "{:?}", a.problems);
    }

    #[test]
    fn duplicates_and_strays_in_the_free_list_are_caught() {
        let mut pool = FramePool::new(4096, 4);
        pool.put(4096 + 300); // frame 1 twice
        let a = audit(
            &pool,
            0,
            0,
            18,
            &Moves::default(),
            RingIndices::default(),
            4,
        );
        assert!(a.problems.iter().any(|p| p.contains("twice")), "{a:?}");
        let mut pool = FramePool::new(4096, 4);
        assert_eq!(pool.lend(1, |a| a.len()), 1);
        pool.free.push(4 * 4096);
        let a = audit(
            &pool,
            0,
            0,
            18,
            &Moves::default(),
            idx((1, 1), (1, 1), (0, 0), (0, 0)),
            4,
        );
        assert!(a.problems.iter().any(|p| p.contains("outside")), "{a:?}");
    }

    #[test]
    fn moves_that_disagree_with_the_rings_are_caught() {
        let mut pool = FramePool::new(4096, 4);
        assert_eq!(pool.lend(2, |a| a.len()), 2);
        let moves = Moves {
            filled: 3,
            ..Default::default()
        };
        let a = audit(
            &pool,
            0,
            0,
            18,
            &moves,
            idx((2, 0), (0, 0), (0, 0), (0, 0)),
            4,
        );
        assert!(a.problems.iter().any(|p| p.contains("filled")), "{a:?}");
    }
}
