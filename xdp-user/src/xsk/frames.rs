//! Frame accounting: every UMEM frame is in exactly one place at any time.
//!
//! The places are: the free list (user space, idle), the kernel's RX side (fill ring, driver,
//! RX ring), in hand (being handled this batch), and the kernel's TX side (TX ring, in flight,
//! completion ring). The ledger counts the moves between places; [`FrameLedger::check`]
//! proves that the counts add up to the UMEM size. It never drifts unless a frame is lost or
//! duplicated, which is exactly the bug it exists to catch.

/// Where the frames are, as counted by the moves the worker made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameLedger {
    pub total: u64,
    /// Frames in the free list.
    pub free: u64,
    /// Frames currently in hand (between RX consume and TX produce / recycle).
    pub in_hand: u64,
    /// Frames given to the fill ring.
    pub filled: u64,
    /// Frames taken from the RX ring.
    pub received: u64,
    /// Frames given to the TX ring.
    pub sent: u64,
    /// Frames taken back from the completion ring.
    pub completed: u64,
}

/// Where the frames are right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramePlaces {
    pub free: u64,
    pub in_hand: u64,
    /// Fill ring + driver + RX ring.
    pub kernel_rx: u64,
    /// TX ring + in flight + completion ring.
    pub kernel_tx: u64,
}

impl FramePlaces {
    pub fn sum(&self) -> u64 {
        self.free + self.in_hand + self.kernel_rx + self.kernel_tx
    }
}

impl FrameLedger {
    /// A ledger for a UMEM of `total` frames, all in the free list.
    pub fn new(total: u64) -> Self {
        FrameLedger {
            total,
            free: total,
            ..Default::default()
        }
    }
    /// `n` frames moved free list -> fill ring.
    pub fn fill(&mut self, n: u64) {
        self.free -= n;
        self.filled += n;
    }
    /// `n` frames moved RX ring -> in hand.
    pub fn receive(&mut self, n: u64) {
        self.received += n;
        self.in_hand += n;
    }
    /// `n` frames moved in hand -> TX ring.
    pub fn send(&mut self, n: u64) {
        self.in_hand -= n;
        self.sent += n;
    }
    /// `n` frames moved in hand -> free list (dropped, or not accepted by a full TX ring).
    pub fn recycle(&mut self, n: u64) {
        self.in_hand -= n;
        self.free += n;
    }
    /// `n` frames moved completion ring -> free list.
    pub fn complete(&mut self, n: u64) {
        self.completed += n;
        self.free += n;
    }

    pub fn places(&self) -> FramePlaces {
        FramePlaces {
            free: self.free,
            in_hand: self.in_hand,
            kernel_rx: self.filled.wrapping_sub(self.received),
            kernel_tx: self.sent.wrapping_sub(self.completed),
        }
    }

    /// Ok when every frame is in exactly one place and the free-list count matches the
    /// list the worker really holds.
    pub fn check(&self, free_list_len: usize) -> Result<(), String> {
        if self.received > self.filled || self.completed > self.sent {
            return Err(format!("frame accounting drifted: the kernel returned more frames than it was given; ledger {self:?}"));
        }
        let p = self.places();
        if p.sum() != self.total || p.free != free_list_len as u64 {
            return Err(format!("frame accounting drifted: {p:?} (sum {}) vs total {}, free list holds {free_list_len}; ledger {self:?}", p.sum(), self.total));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_keep_the_total() {
        let mut l = FrameLedger::new(8);
        l.fill(6);
        assert!(l.check(2).is_ok());
        l.receive(4);
        l.send(3);
        l.recycle(1);
        assert!(l.check(3).is_ok());
        assert_eq!(
            l.places(),
            FramePlaces {
                free: 3,
                in_hand: 0,
                kernel_rx: 2,
                kernel_tx: 3
            }
        );
        l.complete(3);
        assert!(l.check(6).is_ok());
        // a lost frame is caught
        assert!(l.check(5).is_err());
    }

    #[test]
    fn more_received_than_filled_is_caught() {
        let mut l = FrameLedger::new(4);
        l.fill(1);
        l.receive(2);
        l.recycle(2);
        assert!(l.check(5).is_err());
    }
}
