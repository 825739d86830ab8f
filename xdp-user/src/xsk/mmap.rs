//! The real [`Rings`]: the kernel's four rings of a socket bound by xsk-rs, mapped a second
//! time into this process and driven by [`super::ring`]'s producer and consumer ends.
//!
//! xsk-rs creates the UMEM, binds the socket and unmaps everything at the end; it stays the
//! owner of the socket (kept in [`XskRings::socket`]). Its own ring views are not used after
//! the bind: ours give the worker TX descriptors at any address, the raw indices for the frame
//! audit and the errno of a kick. Mapping a ring of a bound socket needs a kernel that allows
//! it (Linux 6.5 and later); older kernels answer EBUSY, reported as such. [`Mapping`] is also
//! the loader's view of the `V4_SLOTS` and `V6_SLOTS` maps.
use std::{
    io, mem,
    os::fd::{AsRawFd, RawFd},
    ptr::{self, NonNull},
};

use anyhow::{Context, Result};

use super::{
    ring::{Consumer, Kick, Producer, RingMem, Rings, Umem, UserSide},
    socket::XskQueue,
    sys::{self, XdpStatistics},
};

const SOL_XDP: libc::c_int = 283;
const XDP_MMAP_OFFSETS: libc::c_int = 1;
const XDP_PGOFF_RX_RING: i64 = 0;
const XDP_PGOFF_TX_RING: i64 = 0x8000_0000;
const XDP_UMEM_PGOFF_FILL_RING: i64 = 0x1_0000_0000;
const XDP_UMEM_PGOFF_COMPLETION_RING: i64 = 0x1_8000_0000;

/// `struct xdp_ring_offset`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct RingOffset {
    producer: u64,
    consumer: u64,
    desc: u64,
    flags: u64,
}

/// `struct xdp_mmap_offsets`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct MmapOffsets {
    rx: RingOffset,
    tx: RingOffset,
    fr: RingOffset,
    cr: RingOffset,
}

/// A shared mapping of a kernel object (a socket's ring, a BPF map), unmapped on drop.
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a mapping is plain memory owned by this value; it is unmapped once, on drop.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` at page offset `pgoff`, readable and writable, shared with
    /// the kernel and prefaulted.
    pub(crate) fn shared(fd: RawFd, len: usize, pgoff: i64) -> io::Result<Mapping> {
        // SAFETY: a fresh shared mapping, placed by the kernel; the kernel checks that `fd`
        // can be mapped at that offset and length.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                pgoff,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave NULL"))?;
        Ok(Mapping { ptr, len })
    }

    /// The first mapped byte (page aligned).
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// The mapped length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; nothing uses the mapping after
        // its users are gone (ring ends are dropped first, see `XskRings`; a map's view
        // borrows its owner).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

fn map_ring(
    fd: RawFd,
    pgoff: i64,
    off: &RingOffset,
    size: u32,
    entry: usize,
) -> io::Result<(Mapping, RingMem)> {
    let map = Mapping::shared(fd, off.desc as usize + size as usize * entry, pgoff)?;
    let base = map.ptr();
    // SAFETY: the offsets come from XDP_MMAP_OFFSETS and lie inside the bytes mapped.
    let at = |o: u64| unsafe { NonNull::new_unchecked(base.as_ptr().add(o as usize)) };
    let mem = RingMem {
        producer: at(off.producer).cast(),
        consumer: at(off.consumer).cast(),
        flags: at(off.flags).cast(),
        entries: at(off.desc),
        size,
    };
    Ok((map, mem))
}

/// A bound socket's rings, UMEM and fd.
pub struct XskRings {
    user: UserSide,
    fd: RawFd,
    zero_copy: bool,
    ring_size: u32,
    // Dropped after the ring ends above (fields drop in declaration order).
    _maps: [Mapping; 4],
    /// The xsk-rs socket and UMEM: keep the fd and the UMEM memory alive.
    pub socket: XskQueue,
}

impl XskRings {
    /// Maps the rings of a socket xsk-rs has bound.
    pub fn new(mut q: XskQueue) -> Result<Self> {
        let fd = q.fd();
        let mut off = MmapOffsets::default();
        let mut len = mem::size_of::<MmapOffsets>() as libc::socklen_t;
        // SAFETY: `off` is a writable MmapOffsets of `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                SOL_XDP,
                XDP_MMAP_OFFSETS,
                (&mut off as *mut MmapOffsets).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error()).context("XDP_MMAP_OFFSETS");
        }
        let n = q.ring_size;
        let what = "mapping the rings of the bound AF_XDP socket (needs Linux 6.5+)";
        let (mf, fill) = map_ring(fd, XDP_UMEM_PGOFF_FILL_RING, &off.fr, n, 8).context(what)?;
        let (mc, comp) =
            map_ring(fd, XDP_UMEM_PGOFF_COMPLETION_RING, &off.cr, n, 8).context(what)?;
        let (mr, rx) = map_ring(fd, XDP_PGOFF_RX_RING, &off.rx, n, 16).context(what)?;
        let (mt, tx) = map_ring(fd, XDP_PGOFF_TX_RING, &off.tx, n, 16).context(what)?;
        let first = q
            .frames
            .first_mut()
            .copied()
            .context("the UMEM has no frames")?;
        let mut first_desc = first;
        // SAFETY: frame 0 is in user space (nothing was given to the kernel yet); the slice is
        // used only to learn where the UMEM starts and is dropped at once.
        let p = unsafe { q.umem.data_mut(&mut first_desc) }
            .contents_mut()
            .as_mut_ptr();
        // xsk-rs frame descriptors point at chunk start + its own headroom (0 here).
        // SAFETY: `first.addr()` bytes back from frame 0's data is the region's start.
        let base = unsafe { p.sub(first.addr()) };
        let base = NonNull::new(base).context("UMEM base is NULL")?;
        // SAFETY: xsk-rs mapped `frame_size * frame_count` bytes at `base`, kept alive by
        // `socket.umem` for as long as this value lives.
        let umem = unsafe { Umem::new(base, q.frame_size, q.frame_count) };
        Ok(XskRings {
            // SAFETY: each RingMem is a live mapping held in `_maps`, dropped after the ends;
            // xsk-rs's own views of these rings are never used after the bind, so each end is
            // the only one on its side.
            user: unsafe {
                UserSide {
                    umem,
                    fill: Producer::new(fill),
                    rx: Consumer::new(rx),
                    tx: Producer::new(tx),
                    comp: Consumer::new(comp),
                }
            },
            fd,
            zero_copy: q.zero_copy,
            ring_size: n,
            _maps: [mf, mc, mr, mt],
            socket: q,
        })
    }

    pub fn fd(&self) -> RawFd {
        self.fd
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl Rings for XskRings {
    fn user(&self) -> &UserSide {
        &self.user
    }
    fn user_mut(&mut self) -> &mut UserSide {
        &mut self.user
    }
    fn zero_copy(&self) -> bool {
        self.zero_copy
    }
    fn fill_size(&self) -> u32 {
        self.ring_size
    }
    fn kick_tx(&mut self) -> Kick {
        // SAFETY: a zero-length sendto on our socket; no buffer is read.
        let rc =
            unsafe { libc::sendto(self.fd, ptr::null(), 0, libc::MSG_DONTWAIT, ptr::null(), 0) };
        if rc >= 0 {
            return Kick::Done;
        }
        match errno() {
            libc::EAGAIN => Kick::Again,
            e @ (libc::EBUSY | libc::ENOBUFS | libc::ENETDOWN) => Kick::Busy(e),
            e => Kick::Error(e),
        }
    }
    fn wake_rx(&mut self) -> io::Result<()> {
        // SAFETY: a zero-length recvfrom on our socket; no buffer is written.
        let rc = unsafe {
            libc::recvfrom(
                self.fd,
                ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if rc < 0 && !matches!(errno(), libc::EAGAIN | libc::EBUSY | libc::ENETDOWN) {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    fn wait(&mut self, timeout_ms: i32) -> io::Result<()> {
        let mut p = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut p, 1, timeout_ms) } < 0 && errno() != libc::EINTR {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    fn statistics(&self) -> io::Result<XdpStatistics> {
        sys::xdp_statistics(self.fd)
    }
}

impl AsRawFd for XskRings {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}
