//! An in-memory kernel: the other end of the four rings, for testing and measuring the worker
//! without root, a NIC or a kernel.
//!
//! The rings are the same [`Producer`]/[`Consumer`] code the real socket uses, over heap
//! memory; the model holds the kernel's ends and acts as the kernel does (net/xdp/xsk.c,
//! xsk_buff_pool.c) in one of two modes:
//!
//! * **Copy** (`xsk_generic_xmit`, `__xsk_rcv`): a received frame is copied into a frame taken
//!   from the fill ring (or from the frames the kernel already holds); an empty fill ring drops
//!   it (`rx_dropped`, `rx_fill_ring_empty_descs`); a full RX ring, found only after the copy,
//!   keeps the frame for the next one and counts `rx_ring_full` (and
//!   [`KernelModel::refused_copies`]). A TX kick sends at most the TX budget (32) descriptors and
//!   answers EAGAIN when more are left or when the completion ring has no room; completions
//!   appear during the kick. With need_wakeup the TX ring always asks for a kick and the fill
//!   ring never does.
//! * **Zero-copy** (a driver's NAPI): completions arrive later and in bursts
//!   ([`KernelModel::complete_in_flight`]); the driver sets need_wakeup on the fill ring when it
//!   finds it empty and drops arriving frames (counting `rx_fill_ring_empty_descs`) until woken
//!   with `recvfrom`; it sets need_wakeup on the TX ring when it has nothing left to send and
//!   clears it when kicked, taking everything on the TX ring at once.
//!
//! Multi-buffer (`ModelConfig::multi_buffer`, a socket bound with `XDP_USE_SG`): a frame
//! longer than a buffer (`frame_size` - headroom) arrives as a chain of buffers, each filled
//! to the buffer size, all but the last with `XDP_PKT_CONTD` (`__xsk_rcv`); it needs that
//! many fill entries and RX slots or is dropped whole (`rx_dropped`, `rx_ring_full`). Without
//! it such a frame is dropped (`rx_dropped`). On TX the kernel joins descriptors into one frame
//! up to the one without `XDP_PKT_CONTD`, holding the first ones meanwhile (a kick's budget
//! counts descriptors); a chain longer than [`MAX_TX_CHAIN`] is refused as invalid, which the
//! tests treat as a worker bug (the kernel would drop it with `-EOVERFLOW`).
//!
//! Frames arrive when a test calls [`KernelModel::arrive`], or, with a [`Source`], whenever the
//! worker finds its RX ring empty (the benchmark's way: the source rewrites a request into the
//! frame, which is the model's own per-packet cost).
use std::{collections::VecDeque, io, ptr::NonNull, time::Duration};

use crate::idle::ManualClock;

use super::{
    ring::{
        Consumer, Desc, Kick, Producer, RingMem, Rings, Umem, UserSide, MAX_TX_CHAIN, XDP_PKT_CONTD,
    },
    socket::XDP_PACKET_HEADROOM,
    sys::XdpStatistics,
};

/// Copy-mode TX budget per `sendto()` (the kernel's `TX_BATCH_SIZE` default).
pub const COPY_TX_BUDGET: u32 = 32;

/// How the modelled kernel moves frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Copy mode with this TX budget per kick.
    Copy { tx_budget: u32 },
    /// A zero-copy driver.
    ZeroCopy,
}

/// Dimensions and mode.
#[derive(Clone, Copy, Debug)]
pub struct ModelConfig {
    pub mode: Mode,
    pub frame_size: u32,
    pub frame_count: u32,
    pub ring_size: u32,
    /// Bound with XDP_USE_NEED_WAKEUP.
    pub need_wakeup: bool,
    /// Bound with XDP_USE_SG: frames longer than a buffer arrive as chains.
    pub multi_buffer: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            mode: Mode::Copy {
                tx_budget: COPY_TX_BUDGET,
            },
            frame_size: 4096,
            frame_count: 4096,
            ring_size: 2048,
            need_wakeup: true,
            multi_buffer: false,
        }
    }
}

/// Writes the next arriving frame into the buffer and returns its length, or `None` when it
/// has no more.
pub type Source = Box<dyn FnMut(&mut [u8]) -> Option<usize> + Send>;

/// What became of one arriving frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// On the RX ring at this address.
    Received(u64),
    /// No fill entry (or, zero-copy, the driver waits for a wake-up): dropped.
    FillEmpty,
    /// The RX ring was full: dropped, the frame stays with the kernel.
    RxFull,
    /// Longer than a frame can hold: dropped.
    TooLong,
}

/// Heap memory laid out as a kernel ring: producer, consumer and flags each on their own
/// cache line, then the entries.
struct RingAlloc {
    _mem: Box<[u64]>,
}

const RING_HEADER: usize = 192;

impl RingAlloc {
    fn new(size: u32, entry: usize) -> (Self, RingMem) {
        let words = (RING_HEADER + size as usize * entry).div_ceil(8);
        let mut mem = vec![0u64; words].into_boxed_slice();
        let base = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: all offsets are inside the allocation (header 192 bytes, entries after);
        // u64 alignment covers u32 and `Desc`.
        let at = |o: usize| unsafe { NonNull::new_unchecked(base.add(o)) };
        let ring = RingMem {
            producer: at(0).cast(),
            consumer: at(64).cast(),
            flags: at(128).cast(),
            entries: at(RING_HEADER),
            size,
        };
        (RingAlloc { _mem: mem }, ring)
    }
}

/// The modelled kernel with the user's ends of its rings.
pub struct KernelModel {
    cfg: ModelConfig,
    user: UserSide,
    // Kernel ends.
    k_fill: Consumer<u64>,
    k_rx: Producer<Desc>,
    k_tx: Consumer<Desc>,
    k_comp: Producer<u64>,
    /// Frames taken from the fill ring and not on the RX ring (copy mode: the pool's free
    /// list after an RX-ring-full drop; zero-copy: the driver's RX buffers).
    held: Vec<u64>,
    /// TX descriptors of a chain taken from the TX ring whose last descriptor is not taken
    /// yet (the kernel's `xs->skb` being built).
    tx_chain: Vec<Desc>,
    /// Zero-copy: sent by the driver, completion not yet written.
    in_flight: VecDeque<u64>,
    /// Zero-copy: the driver waits for a wake-up before it takes fill entries again.
    fill_asleep: bool,
    stats: XdpStatistics,
    source: Option<Source>,
    /// Frames the source delivers per refill of an empty RX ring.
    pub source_burst: usize,
    /// Keep the bytes of every sent frame in [`KernelModel::sent`].
    pub capture: bool,
    /// Zero-copy: the driver sends and completes everything on the TX ring whenever the
    /// worker looks at the completion ring (a NIC that is never the bottleneck).
    pub auto_driver: bool,
    /// Sent frames (with `capture`): TX address and bytes.
    pub sent: Vec<(u64, Vec<u8>)>,
    /// Frames sent (always counted).
    pub sent_count: u64,
    /// TX kicks and RX wake-ups the worker made.
    pub kicks: u64,
    pub rx_wakeups: u64,
    /// Sleeps (`poll`) the worker made.
    pub waits: u64,
    /// Each sleep moves this clock on by this much (the worker's idle policy reads it).
    pub sleep_clock: Option<(ManualClock, Duration)>,
    /// Descriptors the kernel refused as invalid (frame lost, as the kernel loses it).
    pub invalid: Vec<Desc>,
    /// Copy mode: frames copied into a fill frame and then refused by a full RX ring, the
    /// receiving CPU's wasted work.
    pub refused_copies: u64,
    // Owners of the memory the ring ends and the UMEM point into; dropped last.
    _rings: [RingAlloc; 4],
    _umem_mem: Box<[u64]>,
}

impl KernelModel {
    pub fn new(cfg: ModelConfig) -> Self {
        assert!(cfg.ring_size.is_power_of_two() && cfg.frame_size.is_power_of_two());
        let bytes = cfg.frame_size as usize * cfg.frame_count as usize;
        let mut umem_mem = vec![0u64; bytes.div_ceil(8)].into_boxed_slice();
        // SAFETY: the allocation has `bytes` bytes and lives in `_umem_mem` as long as `self`.
        let umem = unsafe {
            Umem::new(
                NonNull::new(umem_mem.as_mut_ptr().cast()).expect("Box is not null"),
                cfg.frame_size,
                cfg.frame_count,
            )
        };
        let n = cfg.ring_size;
        let (af, mf) = RingAlloc::new(n, 8);
        let (ar, mr) = RingAlloc::new(n, 16);
        let (at, mt) = RingAlloc::new(n, 16);
        let (ac, mc) = RingAlloc::new(n, 8);
        if cfg.need_wakeup && matches!(cfg.mode, Mode::Copy { .. }) {
            // Copy mode: the kernel transmits only from sendto(), so it always asks for it.
            mt.set_need_wakeup(true);
        }
        // SAFETY (all eight): each RingMem lives in `_rings` for as long as `self`; the model
        // makes exactly one producer and one consumer end of each ring.
        unsafe {
            KernelModel {
                cfg,
                user: UserSide {
                    umem,
                    fill: Producer::new(mf),
                    rx: Consumer::new(mr),
                    tx: Producer::new(mt),
                    comp: Consumer::new(mc),
                },
                k_fill: Consumer::new(mf),
                k_rx: Producer::new(mr),
                k_tx: Consumer::new(mt),
                k_comp: Producer::new(mc),
                held: Vec::new(),
                tx_chain: Vec::new(),
                in_flight: VecDeque::new(),
                fill_asleep: false,
                stats: XdpStatistics::default(),
                source: None,
                source_burst: 64,
                capture: false,
                auto_driver: false,
                sent: Vec::new(),
                sent_count: 0,
                kicks: 0,
                rx_wakeups: 0,
                waits: 0,
                sleep_clock: None,
                invalid: Vec::new(),
                refused_copies: 0,
                _rings: [af, ar, at, ac],
                _umem_mem: umem_mem,
            }
        }
    }

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// Frames arrive from `source` whenever the worker finds the RX ring empty.
    pub fn set_source(&mut self, source: Source) {
        self.source = Some(source);
    }

    /// Whether a source is set and not exhausted.
    pub fn has_source(&self) -> bool {
        self.source.is_some()
    }

    /// Frames the kernel side holds outside the four rings (see [`KernelModel::held`]).
    pub fn held(&self) -> usize {
        self.held.len()
    }
    /// Zero-copy frames sent and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Every frame address the kernel side holds: fill ring, held, RX ring, TX ring, in
    /// flight, completion ring (for the property test's "exactly one place").
    pub fn kernel_frames(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let chunk = |a: u64| a - a % u64::from(self.cfg.frame_size);
        let peek64 = |m: &RingMem, out: &mut Vec<u64>| {
            let i = m.indices();
            for k in 0..i.len() {
                let slot = (i.consumer.wrapping_add(k) & (m.size - 1)) as usize;
                // SAFETY: the slot is between consumer and producer: a published entry.
                out.push(unsafe { m.entries.as_ptr().cast::<u64>().add(slot).read() });
            }
        };
        let peekd = |m: &RingMem, out: &mut Vec<u64>| {
            let i = m.indices();
            for k in 0..i.len() {
                let slot = (i.consumer.wrapping_add(k) & (m.size - 1)) as usize;
                // SAFETY: as above.
                out.push(unsafe { m.entries.as_ptr().cast::<Desc>().add(slot).read() }.addr);
            }
        };
        peek64(self.k_fill.mem(), &mut out);
        peekd(self.k_rx.mem(), &mut out);
        peekd(self.k_tx.mem(), &mut out);
        peek64(self.k_comp.mem(), &mut out);
        out.extend(&self.held);
        out.extend(self.tx_chain.iter().map(|d| d.addr));
        out.extend(&self.in_flight);
        out.iter().map(|&a| chunk(a)).collect()
    }

    fn take_frame(&mut self) -> Option<u64> {
        if let Some(a) = self.held.pop() {
            return Some(a);
        }
        if self.fill_asleep {
            return None;
        }
        let mut a = [0u64];
        if self.k_fill.consume(&mut a) == 1 {
            return Some(a[0] - a[0] % u64::from(self.cfg.frame_size));
        }
        if self.cfg.need_wakeup && self.cfg.mode == Mode::ZeroCopy {
            self.fill_asleep = true;
            self.k_fill.mem().set_need_wakeup(true);
        }
        None
    }

    /// Bytes one RX buffer holds (the frame size less the headroom).
    pub fn rx_buffer_len(&self) -> usize {
        (self.cfg.frame_size - XDP_PACKET_HEADROOM) as usize
    }

    /// A frame arrives as the pieces `segs`, one buffer each, chained with `XDP_PKT_CONTD`
    /// (the kernel fills every buffer but the last; tests may cut anywhere). All buffers are
    /// taken at once or the frame is dropped: `rx_ring_full` without RX slots for all of
    /// them, `rx_dropped` without fill entries for all (the ones taken stay with the
    /// kernel). Returns the first buffer's address.
    pub fn arrive_chain(&mut self, segs: &[&[u8]]) -> Arrival {
        let n = segs.len();
        if n == 0 || segs.iter().any(|s| s.len() > self.rx_buffer_len()) {
            return Arrival::TooLong;
        }
        if (self.k_rx.free(n as u32) as usize) < n {
            self.stats.rx_ring_full += 1;
            return Arrival::RxFull;
        }
        let mut chunks = Vec::with_capacity(n);
        while chunks.len() < n {
            match self.take_frame() {
                Some(c) => chunks.push(c),
                None => {
                    self.held.extend(chunks);
                    self.stats.rx_fill_ring_empty_descs += 1;
                    if matches!(self.cfg.mode, Mode::Copy { .. }) {
                        self.stats.rx_dropped += 1;
                    }
                    return Arrival::FillEmpty;
                }
            }
        }
        let mut descs = Vec::with_capacity(n);
        for (k, (seg, chunk)) in segs.iter().zip(&chunks).enumerate() {
            let addr = chunk + u64::from(XDP_PACKET_HEADROOM);
            // SAFETY: the frame came from the fill ring (or the kernel's held list): user
            // space does not touch it until it is on the RX ring.
            let buf =
                unsafe { self.user.umem.frame_mut(addr) }.expect("fill address inside the UMEM");
            buf[..seg.len()].copy_from_slice(seg);
            descs.push(Desc {
                addr,
                len: seg.len() as u32,
                options: if k + 1 < n { XDP_PKT_CONTD } else { 0 },
            });
        }
        let put = self.k_rx.produce(&descs);
        debug_assert_eq!(put, n, "free slots checked above");
        Arrival::Received(descs[0].addr)
    }

    /// One frame arrives and is redirected to the socket.
    pub fn arrive(&mut self, frame: &[u8]) -> Arrival {
        if frame.len() > self.rx_buffer_len() {
            if !self.cfg.multi_buffer {
                // `__xsk_rcv`: longer than a buffer without XDP_USE_SG.
                self.stats.rx_dropped += 1;
                return Arrival::TooLong;
            }
            let segs: Vec<&[u8]> = frame.chunks(self.rx_buffer_len()).collect();
            return self.arrive_chain(&segs);
        }
        self.arrive_with(|buf| {
            let b = buf.get_mut(..frame.len())?;
            b.copy_from_slice(frame);
            Some(frame.len())
        })
        .unwrap_or(Arrival::TooLong)
    }

    /// As [`KernelModel::arrive`], with `write` putting the frame into the buffer; `None` when
    /// `write` had nothing (or did not fit).
    fn arrive_with(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> Option<Arrival> {
        let copy = matches!(self.cfg.mode, Mode::Copy { .. });
        // A zero-copy driver's buffer is refused by a full RX ring and freed, never copied.
        if !copy && self.k_rx.free(1) == 0 {
            self.stats.rx_ring_full += 1;
            return Some(Arrival::RxFull);
        }
        let Some(chunk) = self.take_frame() else {
            self.stats.rx_fill_ring_empty_descs += 1;
            if copy {
                self.stats.rx_dropped += 1;
            }
            return Some(Arrival::FillEmpty);
        };
        let addr = chunk + u64::from(XDP_PACKET_HEADROOM);
        // SAFETY: the frame came from the fill ring (or the kernel's held list): user space
        // does not touch it until it is on the RX ring.
        let buf = unsafe { self.user.umem.frame_mut(addr) }.expect("fill address inside the UMEM");
        let Some(len) = write(buf) else {
            self.held.push(chunk);
            return None;
        };
        // Copy mode (`__xsk_rcv`): the frame is copied into the fill frame before the RX ring
        // is looked at; a full one refuses it, and the kernel keeps the frame for the next
        // arrival (its pool's free list). The copy was for nothing.
        if copy && self.k_rx.free(1) == 0 {
            self.held.push(chunk);
            self.stats.rx_ring_full += 1;
            self.refused_copies += 1;
            return Some(Arrival::RxFull);
        }
        let n = self.k_rx.produce(&[Desc {
            addr,
            len: len as u32,
            options: 0,
        }]);
        debug_assert_eq!(n, 1, "free slot checked above");
        Some(Arrival::Received(addr))
    }

    fn deliver_from_source(&mut self) {
        let Some(mut src) = self.source.take() else {
            return;
        };
        // Multi-buffer: the source writes the whole frame into a scratch buffer, which then
        // arrives as a chain (a second copy, part of the model's own cost).
        let mut scratch = if self.cfg.multi_buffer {
            vec![0u8; MAX_TX_CHAIN * self.rx_buffer_len()]
        } else {
            Vec::new()
        };
        for _ in 0..self.source_burst {
            let got = if self.cfg.multi_buffer {
                src(&mut scratch).map(|len| self.arrive(scratch.get(..len).unwrap_or(&[])))
            } else {
                self.arrive_with(&mut src)
            };
            match got {
                Some(Arrival::Received(_)) => {}
                Some(_) => break,
                None => {
                    // Exhausted.
                    return;
                }
            }
        }
        self.source = Some(src);
    }

    fn valid_tx(&self, d: &Desc) -> bool {
        let fs = u64::from(self.cfg.frame_size);
        d.addr < self.user.umem.len() && d.addr % fs + u64::from(d.len) <= fs && d.len > 0
    }

    /// A frame leaves: `descs` is its chain (one descriptor for a single-buffer frame).
    fn send_frame(&mut self, descs: &[Desc]) {
        self.sent_count += 1;
        if self.capture {
            let mut bytes = Vec::new();
            for d in descs {
                // SAFETY: the frame is on the TX side: user space gave it up until completion.
                let buf = unsafe { self.user.umem.frame_mut(d.addr) }.expect("validated");
                bytes.extend_from_slice(buf.get(..d.len as usize).unwrap_or(&[]));
            }
            self.sent.push((descs[0].addr, bytes));
        }
    }

    /// Takes one descriptor into the frame being built. Returns the whole chain when `d` ends
    /// it; `None` while it continues or when it was refused (invalid, or a chain past
    /// [`MAX_TX_CHAIN`]: its descriptors are lost, as the kernel loses invalid ones).
    fn take_tx(&mut self, d: Desc) -> Option<Vec<Desc>> {
        if !self.valid_tx(&d) {
            self.stats.tx_invalid_descs += 1 + self.tx_chain.len() as u64;
            self.invalid.append(&mut self.tx_chain);
            self.invalid.push(d);
            return None;
        }
        self.tx_chain.push(d);
        if d.options & XDP_PKT_CONTD != 0 {
            if self.tx_chain.len() >= MAX_TX_CHAIN {
                self.stats.tx_invalid_descs += self.tx_chain.len() as u64;
                self.invalid.append(&mut self.tx_chain);
            }
            return None;
        }
        Some(std::mem::take(&mut self.tx_chain))
    }

    /// Copy-mode transmit: what `xsk_generic_xmit` does for one `sendto()`: at most `budget`
    /// descriptors, each with a completion slot reserved; a chain's completions are written
    /// when its last descriptor is sent.
    fn copy_xmit(&mut self, budget: u32) -> Kick {
        let mut left = budget;
        loop {
            let mut d = [Desc::default()];
            if self.k_tx.available(1) == 0 {
                self.stats.tx_ring_empty_descs += 1;
                return Kick::Done;
            }
            if left == 0 {
                return Kick::Again;
            }
            if (self.k_comp.free(self.tx_chain.len() as u32 + 1) as usize) < self.tx_chain.len() + 1
            {
                return Kick::Again;
            }
            let _ = self.k_tx.consume(&mut d);
            left -= 1;
            if let Some(chain) = self.take_tx(d[0]) {
                self.send_frame(&chain);
                let addrs: Vec<u64> = chain.iter().map(|d| d.addr).collect();
                let n = self.k_comp.produce(&addrs);
                debug_assert_eq!(n, addrs.len());
            }
        }
    }

    /// Zero-copy driver TX: takes everything on the TX ring (completions come later).
    fn zc_xmit(&mut self) {
        let mut d = [Desc::default(); 64];
        loop {
            let n = self.k_tx.consume(&mut d);
            if n == 0 {
                break;
            }
            for x in &d[..n] {
                if let Some(chain) = self.take_tx(*x) {
                    self.send_frame(&chain);
                    self.in_flight.extend(chain.iter().map(|d| d.addr));
                }
            }
        }
        self.update_zc_tx_flag();
    }

    fn update_zc_tx_flag(&mut self) {
        if self.cfg.need_wakeup {
            let idle = self.k_tx.available(1) == 0 && self.in_flight.is_empty();
            self.k_tx.mem().set_need_wakeup(idle);
        }
    }

    /// Zero-copy: the driver writes up to `n` completions (as many as the ring takes).
    /// Returns how many. Copy mode has nothing in flight.
    pub fn complete_in_flight(&mut self, n: usize) -> usize {
        let mut done = 0;
        while done < n {
            let Some(&a) = self.in_flight.front() else {
                break;
            };
            if self.k_comp.produce(&[a]) == 0 {
                break;
            }
            self.in_flight.pop_front();
            done += 1;
        }
        self.update_zc_tx_flag();
        done
    }

    /// Zero-copy: one NAPI run of the driver without a kick: sends what is on the TX ring
    /// unless it waits for a wake-up.
    pub fn driver_tx(&mut self) {
        if self.cfg.mode == Mode::ZeroCopy
            && !(self.cfg.need_wakeup && self.k_tx.mem().flags() & 1 != 0)
        {
            self.zc_xmit();
        }
    }

    /// The statistics the model keeps, as `XDP_STATISTICS` would report them.
    pub fn stats(&self) -> XdpStatistics {
        self.stats
    }
}

impl Rings for KernelModel {
    fn user(&self) -> &UserSide {
        &self.user
    }
    fn user_mut(&mut self) -> &mut UserSide {
        &mut self.user
    }
    fn zero_copy(&self) -> bool {
        self.cfg.mode == Mode::ZeroCopy
    }
    fn fill_size(&self) -> u32 {
        self.cfg.ring_size
    }
    fn receive(&mut self, out: &mut [Desc]) -> usize {
        if self.source.is_some() && self.user.rx.available(1) == 0 {
            self.deliver_from_source();
        }
        self.user.rx.consume(out)
    }
    fn complete(&mut self, out: &mut [u64]) -> usize {
        if self.auto_driver && self.cfg.mode == Mode::ZeroCopy {
            self.zc_xmit();
            self.complete_in_flight(usize::MAX);
        }
        self.user.comp.consume(out)
    }
    fn kick_tx(&mut self) -> Kick {
        self.kicks += 1;
        match self.cfg.mode {
            Mode::Copy { tx_budget } => self.copy_xmit(tx_budget),
            Mode::ZeroCopy => {
                self.k_tx.mem().set_need_wakeup(false);
                self.zc_xmit();
                Kick::Done
            }
        }
    }
    fn wake_rx(&mut self) -> io::Result<()> {
        self.rx_wakeups += 1;
        if self.fill_asleep {
            self.fill_asleep = false;
            self.k_fill.mem().set_need_wakeup(false);
        }
        Ok(())
    }
    fn wait(&mut self, _timeout_ms: i32) -> io::Result<()> {
        // Nothing sleeps in the model: a wait is a chance for the driver to run, and time
        // passes on the sleep clock.
        self.waits += 1;
        if let Some((clock, d)) = &self.sleep_clock {
            clock.advance(*d);
        }
        self.driver_tx();
        Ok(())
    }
    fn statistics(&self) -> io::Result<XdpStatistics> {
        Ok(self.stats)
    }
}
