//! The interface between a queue worker and the kernel: the four AF_XDP rings, the wake-up
//! calls and the socket's statistics, as the [`Rings`] trait.
//!
//! Two implementations: [`super::mmap::XskRings`] over a socket bound with xsk-rs (the
//! kernel's rings, mapped into this process), and [`super::model::KernelModel`], an in-memory
//! kernel that runs the same ring code against a simulated copy-mode or zero-copy kernel, so
//! that the worker's loop is tested and measured without root.
//!
//! The rings themselves are single-producer single-consumer queues over shared memory with the
//! kernel's layout (`struct xdp_ring`: producer, consumer, flags, then the entries).
//! [`Producer`] and [`Consumer`] are the two ends; user space holds the producer end of the fill
//! and TX rings and the consumer end of the RX and completion rings, the (real or modelled)
//! kernel the other ends. Each end caches the other side's index as libxdp does, so the shared
//! cache line is read only when the cache runs short. Every call that moves entries returns
//! how many it moved and is `#[must_use]`: a partial move (a full ring) cannot be ignored by
//! accident.
//!
//! Written here rather than taken from xsk-rs because the worker needs what its ring types do
//! not offer: TX descriptors at any address (a reply may start after the request's start), the
//! rings' raw producer/consumer indices for the frame audit, and the errno of a TX kick.
use std::{
    io,
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicU32, Ordering},
};

use super::{socket::XDP_PACKET_HEADROOM, sys::XdpStatistics};

/// `XDP_RING_NEED_WAKEUP` in a ring's flags word.
pub const XDP_RING_NEED_WAKEUP: u32 = 1;

/// `XDP_PKT_CONTD` in a descriptor's `options`: the frame continues in the next descriptor
/// (multi-buffer, sockets bound with `XDP_USE_SG`). Every buffer of a frame but the last
/// carries it, on RX as the kernel writes them and on TX as the kernel reads them.
pub const XDP_PKT_CONTD: u32 = 1;

/// The most descriptors one TX frame may span in copy mode: the skb's linear part plus
/// `MAX_SKB_FRAGS` (17) fragments (`xsk_build_skb` drops a longer chain with `-EOVERFLOW`).
pub const MAX_TX_CHAIN: usize = 18;

/// One RX or TX descriptor, `struct xdp_desc`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Desc {
    /// UMEM offset of the packet's first byte.
    pub addr: u64,
    pub len: u32,
    pub options: u32,
}

/// The memory of one ring: pointers to its producer index, consumer index, flags word and
/// entries, and its size (a power of two).
#[derive(Clone, Copy, Debug)]
pub struct RingMem {
    pub producer: NonNull<AtomicU32>,
    pub consumer: NonNull<AtomicU32>,
    pub flags: NonNull<AtomicU32>,
    pub entries: NonNull<u8>,
    pub size: u32,
}

impl RingMem {
    fn producer(&self) -> &AtomicU32 {
        // SAFETY: `RingMem` is only built over live ring memory (a kernel mapping or the
        // model's allocation) that outlives every end made from it; the index is an aligned u32
        // shared with the other side, so it is only accessed atomically.
        unsafe { self.producer.as_ref() }
    }
    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as in `producer`.
        unsafe { self.consumer.as_ref() }
    }
    /// The ring's flags word (`XDP_RING_NEED_WAKEUP`).
    pub fn flags(&self) -> u32 {
        // SAFETY: as in `producer`.
        unsafe { self.flags.as_ref() }.load(Ordering::Relaxed)
    }
    /// Sets or clears `XDP_RING_NEED_WAKEUP` (the kernel's side of the flag; the model's use).
    pub fn set_need_wakeup(&self, on: bool) {
        // SAFETY: as in `producer`.
        let f = unsafe { self.flags.as_ref() };
        if on {
            f.fetch_or(XDP_RING_NEED_WAKEUP, Ordering::Relaxed);
        } else {
            f.fetch_and(!XDP_RING_NEED_WAKEUP, Ordering::Relaxed);
        }
    }
    /// The ring's producer and consumer indices as they are in memory now.
    pub fn indices(&self) -> RingIndex {
        RingIndex {
            producer: self.producer().load(Ordering::Acquire),
            consumer: self.consumer().load(Ordering::Acquire),
        }
    }
}

/// Entries the rings hold: `u64` UMEM addresses (fill, completion) or [`Desc`] (RX, TX).
pub trait Entry: Copy {}
impl Entry for u64 {}
impl Entry for Desc {}

/// The producing end of a ring.
pub struct Producer<T: Entry> {
    mem: RingMem,
    mask: u32,
    /// Our producer index (published on every `produce`).
    prod: u32,
    /// The consumer index as last read.
    cached_cons: u32,
    _t: PhantomData<T>,
}

/// The consuming end of a ring.
pub struct Consumer<T: Entry> {
    mem: RingMem,
    mask: u32,
    /// Our consumer index (published on every `consume`).
    cons: u32,
    /// The producer index as last read.
    cached_prod: u32,
    _t: PhantomData<T>,
}

// SAFETY: an end is the only user of its side of the ring; the memory it points to is shared
// with the other side only through atomics and entries that side handed over.
unsafe impl<T: Entry> Send for Producer<T> {}
// SAFETY: as for `Producer`.
unsafe impl<T: Entry> Send for Consumer<T> {}

impl<T: Entry> Producer<T> {
    /// # Safety
    /// `mem` must describe a live ring of `T` entries that outlives this end, and this end must
    /// be the only producer of that ring.
    pub unsafe fn new(mem: RingMem) -> Self {
        let i = mem.indices();
        Producer {
            mem,
            mask: mem.size - 1,
            prod: i.producer,
            cached_cons: i.consumer,
            _t: PhantomData,
        }
    }

    pub fn mem(&self) -> &RingMem {
        &self.mem
    }

    /// Free slots, reading the consumer index only when the cache shows fewer than `want`.
    pub fn free(&mut self, want: u32) -> u32 {
        let free = self.mem.size - self.prod.wrapping_sub(self.cached_cons);
        if free >= want {
            return free;
        }
        self.cached_cons = self.mem.consumer().load(Ordering::Acquire);
        self.mem.size - self.prod.wrapping_sub(self.cached_cons)
    }

    /// Entries produced but not yet consumed by the other side (reads its index).
    pub fn outstanding(&mut self) -> u32 {
        self.cached_cons = self.mem.consumer().load(Ordering::Acquire);
        self.prod.wrapping_sub(self.cached_cons)
    }

    /// Puts as many of `items` as fit, in order, and publishes them. Returns how many.
    #[must_use]
    pub fn produce(&mut self, items: &[T]) -> usize {
        let n = (self.free(items.len() as u32) as usize).min(items.len());
        let base = self.mem.entries.as_ptr().cast::<T>();
        for (i, item) in items[..n].iter().enumerate() {
            let slot = (self.prod.wrapping_add(i as u32) & self.mask) as usize;
            // SAFETY: `slot < size`, inside the ring's entry array; the slot is free (between
            // the consumer and the producer index + free), so the other side does not read it
            // until the store below publishes it.
            unsafe { base.add(slot).write(*item) };
        }
        if n > 0 {
            self.prod = self.prod.wrapping_add(n as u32);
            self.mem.producer().store(self.prod, Ordering::Release);
        }
        n
    }

    /// Whether the other side asked to be woken (`XDP_RING_NEED_WAKEUP`).
    pub fn needs_wakeup(&self) -> bool {
        self.mem.flags() & XDP_RING_NEED_WAKEUP != 0
    }
}

impl<T: Entry> Consumer<T> {
    /// # Safety
    /// As [`Producer::new`], for the only consumer of the ring.
    pub unsafe fn new(mem: RingMem) -> Self {
        let i = mem.indices();
        Consumer {
            mem,
            mask: mem.size - 1,
            cons: i.consumer,
            cached_prod: i.producer,
            _t: PhantomData,
        }
    }

    pub fn mem(&self) -> &RingMem {
        &self.mem
    }

    /// Entries ready, reading the producer index only when the cache shows fewer than `want`.
    pub fn available(&mut self, want: u32) -> u32 {
        let avail = self.cached_prod.wrapping_sub(self.cons);
        if avail >= want {
            return avail;
        }
        self.cached_prod = self.mem.producer().load(Ordering::Acquire);
        self.cached_prod.wrapping_sub(self.cons)
    }

    /// Takes up to `out.len()` entries into `out` and releases their slots. Returns how many.
    #[must_use]
    pub fn consume(&mut self, out: &mut [T]) -> usize {
        let n = (self.available(out.len() as u32) as usize).min(out.len());
        let base = self.mem.entries.as_ptr().cast::<T>();
        for (i, o) in out[..n].iter_mut().enumerate() {
            let slot = (self.cons.wrapping_add(i as u32) & self.mask) as usize;
            // SAFETY: `slot < size`; the entry was published by the producer's release store,
            // which the acquire load in `available` saw.
            *o = unsafe { base.add(slot).read() };
        }
        if n > 0 {
            self.cons = self.cons.wrapping_add(n as u32);
            self.mem.consumer().store(self.cons, Ordering::Release);
        }
        n
    }
}

/// A ring's two indices (free-running u32 counters, as the kernel keeps them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingIndex {
    pub producer: u32,
    pub consumer: u32,
}

impl RingIndex {
    /// Entries in the ring.
    pub fn len(&self) -> u32 {
        self.producer.wrapping_sub(self.consumer)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The four rings' indices, read from ring memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingIndices {
    pub fill: RingIndex,
    pub rx: RingIndex,
    pub tx: RingIndex,
    pub comp: RingIndex,
}

/// What one TX kick (`sendto(MSG_DONTWAIT)`) answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// The kernel took what it could (0).
    Done,
    /// EAGAIN: the kernel stopped at its TX budget (copy mode) with more left in the ring.
    Again,
    /// EBUSY / ENOBUFS / ENETDOWN: the kernel could not send now (completion ring full,
    /// device busy or down); frames stay in the ring.
    Busy(i32),
    /// Any other errno.
    Error(i32),
}

/// A UMEM region: the frames' memory, `frame_count` chunks of `frame_size` bytes.
#[derive(Clone, Copy, Debug)]
pub struct Umem {
    base: NonNull<u8>,
    pub frame_size: u32,
    pub frame_count: u32,
}

// SAFETY: a `Umem` is a pointer plus geometry; access goes through `frame_mut`, whose contract
// makes the caller the frame's only user.
unsafe impl Send for Umem {}

impl Umem {
    /// # Safety
    /// `base` must point at `frame_size * frame_count` bytes that stay mapped while this value
    /// (or a copy) is used.
    pub unsafe fn new(base: NonNull<u8>, frame_size: u32, frame_count: u32) -> Self {
        Umem {
            base,
            frame_size,
            frame_count,
        }
    }

    pub fn len(&self) -> u64 {
        u64::from(self.frame_size) * u64::from(self.frame_count)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Asks the CPU to bring the cache line holding `addr` closer (a hint: it reads nothing,
    /// cannot fault and does nothing for an address outside the UMEM).
    ///
    /// A received frame was written by the CPU that ran the kernel's copy (or by the NIC's
    /// DMA), so the handler's first read of its headers misses in this CPU's caches; the
    /// worker prefetches a whole batch before handling it, so the misses overlap instead of
    /// stalling the handler once per frame.
    #[inline]
    pub fn prefetch(&self, addr: u64) {
        if addr >= self.len() {
            return;
        }
        // `wrapping_add` computes the address without asserting it is in bounds; it is
        // (checked above), and the prefetch does not dereference it anyway.
        let p = self.base.as_ptr().wrapping_add(addr as usize);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: PREFETCHT0 is in the x86_64 baseline (SSE) and only hints the cache; it
        // never faults and reads nothing into the program.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }

    /// The chunk (frame start) an address falls in, if it is inside the UMEM.
    pub fn chunk_of(&self, addr: u64) -> Option<u64> {
        (addr < self.len()).then(|| addr - addr % u64::from(self.frame_size))
    }

    /// The bytes from `addr` to the end of its chunk.
    ///
    /// # Safety
    /// The frame holding `addr` must be in user space (received and not yet given back to a
    /// ring), and no other reference to it may exist while the slice lives.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn frame_mut(&self, addr: u64) -> Option<&mut [u8]> {
        let chunk = self.chunk_of(addr)?;
        let end = chunk + u64::from(self.frame_size);
        // SAFETY: `addr..end` lies inside the region (`chunk_of` checked `addr < len`, and a
        // chunk ends at most at `len`); exclusivity is the caller's contract.
        Some(unsafe {
            std::slice::from_raw_parts_mut(
                self.base.as_ptr().add(addr as usize),
                (end - addr) as usize,
            )
        })
    }
}

/// The user side of a socket: the UMEM and the user-space ends of the four rings, which
/// [`Rings`]' ring calls move entries through.
pub struct UserSide {
    pub umem: Umem,
    pub fill: Producer<u64>,
    pub rx: Consumer<Desc>,
    pub tx: Producer<Desc>,
    pub comp: Consumer<u64>,
}

/// What the worker needs from the kernel: four rings, wake-ups, statistics.
///
/// The ring calls move descriptors and return how many they moved. The wake-up calls are the
/// syscalls a real socket needs: [`Rings::kick_tx`] (`sendto`) to make a copy-mode kernel or a
/// sleeping zero-copy driver transmit, [`Rings::wake_rx`] (`recvfrom`) for a driver that set
/// need_wakeup on the fill ring, [`Rings::wait`] (`poll`) to sleep until frames arrive.
pub trait Rings {
    /// The UMEM the descriptors point into.
    fn umem(&self) -> Umem {
        self.user().umem
    }
    /// Bytes the kernel leaves before a received packet (RX addr = chunk + headroom).
    fn rx_headroom(&self) -> u32 {
        XDP_PACKET_HEADROOM
    }
    /// Whether the socket runs in zero-copy mode.
    fn zero_copy(&self) -> bool;
    /// Slots in the fill ring.
    fn fill_size(&self) -> u32;

    /// The UMEM and the user-space ends of the rings.
    fn user(&self) -> &UserSide;
    fn user_mut(&mut self) -> &mut UserSide;

    /// Gives frames (chunk addresses) to the fill ring.
    #[must_use]
    fn fill(&mut self, addrs: &[u64]) -> usize {
        self.user_mut().fill.produce(addrs)
    }
    /// Free slots in the fill ring (at least `want` if that many are free).
    fn fill_room(&mut self, want: u32) -> u32 {
        self.user_mut().fill.free(want)
    }
    /// Takes received descriptors from the RX ring.
    #[must_use]
    fn receive(&mut self, out: &mut [Desc]) -> usize {
        self.user_mut().rx.consume(out)
    }
    /// Puts descriptors on the TX ring.
    #[must_use]
    fn transmit(&mut self, descs: &[Desc]) -> usize {
        self.user_mut().tx.produce(descs)
    }
    /// Free slots in the TX ring (at least `want` if that many are free).
    fn tx_room(&mut self, want: u32) -> u32 {
        self.user_mut().tx.free(want)
    }
    /// Descriptors on the TX ring the kernel has not taken yet.
    fn tx_outstanding(&mut self) -> u32 {
        self.user_mut().tx.outstanding()
    }
    /// Takes sent frames' addresses from the completion ring.
    #[must_use]
    fn complete(&mut self, out: &mut [u64]) -> usize {
        self.user_mut().comp.consume(out)
    }

    /// need_wakeup on the fill ring: the driver waits for a wake-up to take fill entries.
    fn fill_needs_wakeup(&self) -> bool {
        self.user().fill.needs_wakeup()
    }
    /// need_wakeup on the TX ring: the kernel sends only when kicked.
    fn tx_needs_wakeup(&self) -> bool {
        self.user().tx.needs_wakeup()
    }
    /// One TX kick: `sendto(fd, NULL, 0, MSG_DONTWAIT)`.
    fn kick_tx(&mut self) -> Kick;
    /// Wakes the driver's RX side (`recvfrom(MSG_DONTWAIT)`).
    fn wake_rx(&mut self) -> io::Result<()>;
    /// Sleeps until frames are ready to receive or `timeout_ms` passed (`poll`).
    fn wait(&mut self, timeout_ms: i32) -> io::Result<()>;

    /// The socket's `XDP_STATISTICS`.
    fn statistics(&self) -> io::Result<XdpStatistics>;
    /// The four rings' indices as they are in ring memory.
    fn indices(&self) -> RingIndices {
        let e = self.user();
        RingIndices {
            fill: e.fill.mem().indices(),
            rx: e.rx.mem().indices(),
            tx: e.tx.mem().indices(),
            comp: e.comp.mem().indices(),
        }
    }
}
