//! The `virtio_drivers::Hal` of SiON servers: DMA memory from the kernel
//! (`dma_alloc`: contiguous frames whose physical address we learn), device
//! registers mapped with `dev_map`, and bounce buffers for buffers the
//! driver shares with the device from the heap (the heap is not DMA memory,
//! so `share` copies those through a pool of DMA slots; a buffer that already
//! lies in DMA memory from [`dma`] is shared as it is, without a copy).
//!
//! This is driver code: the `unsafe` here is the contract `Hal` requires.

use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use sion_rt as rt;
use spin::Mutex;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

/// Where DMA memory goes in our space.
const DMA_VA: u64 = 0x3000_0000_0000;
/// Where device registers get mapped.
const MMIO_VA: u64 = 0x3100_0000_0000;
const SLOT: usize = 2048;
const SLOTS: usize = 96;

static NEXT_DMA: AtomicU64 = AtomicU64::new(DMA_VA);

/// DMA memory handed out so far: (virtual start, physical start, length).
static DMA: Mutex<Vec<(u64, u64, u64)>> = Mutex::new(Vec::new());

/// Device register ranges mapped so far: (physical start, length, virtual start).
static MMIO: Mutex<Vec<(u64, u64, u64)>> = Mutex::new(Vec::new());
static NEXT_MMIO: AtomicU64 = AtomicU64::new(MMIO_VA);

/// The virtual address of device registers at `phys` (`len` bytes), mapping
/// them (uncached, through the kernel's grant check) on first use.
pub fn map_mmio(phys: u64, len: u64) -> Option<u64> {
    let mut maps = MMIO.lock();
    if let Some(&(p, _, v)) = maps.iter().find(|&&(p, l, _)| phys >= p && phys + len <= p + l) {
        return Some(v + (phys - p));
    }
    let start = phys & !0xfff;
    let size = (phys + len).next_multiple_of(4096) - start;
    let va = NEXT_MMIO.fetch_add(size + 4096, Ordering::Relaxed);
    rt::dev_map(va, start, size).ok()?;
    maps.push((start, size, va));
    Some(va + (phys - start))
}

struct Pool {
    va: u64,
    pa: u64,
    used: [bool; SLOTS],
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

/// Physically contiguous, zeroed DMA memory of `len` bytes (rounded up to
/// pages), mapped for the life of the server: (physical, virtual) address.
pub fn dma(len: u64) -> Option<(u64, u64)> {
    let len = len.next_multiple_of(4096);
    let va = NEXT_DMA.fetch_add(len, Ordering::Relaxed);
    let pa = rt::dma_alloc(va, len).ok()?;
    DMA.lock().push((va, pa, len));
    Some((pa, va))
}

/// The physical address of `len` bytes at `va` if they lie in one block of [`dma`] memory.
fn dma_phys(va: u64, len: u64) -> Option<u64> {
    DMA.lock().iter().find(|&&(v, _, l)| va >= v && va + len <= v + l).map(|&(v, p, _)| p + (va - v))
}

/// Set up the bounce pool (for drivers that share heap buffers, as
/// `VirtIONet` does).
pub fn init() -> Result<(), &'static str> {
    let (pa, va) = dma((SLOT * SLOTS) as u64).ok_or("no DMA memory for the bounce pool")?;
    *POOL.lock() = Some(Pool { va, pa, used: [false; SLOTS] });
    Ok(())
}

pub struct SionHal;

// SAFETY: dma_alloc returns zeroed, contiguous, mapped memory that stays
// mapped for the life of the server; share returns the physical address of
// DMA memory the buffer already is, or of a pool slot that stays reserved
// until unshare.
unsafe impl Hal for SionHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        match dma(pages as u64 * 4096) {
            Some((pa, va)) => (pa, NonNull::new(va as *mut u8).unwrap()),
            None => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        // Queues live as long as the server; nothing to give back.
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let va = map_mmio(paddr, size as u64).expect("virtio: device registers outside the granted windows");
        NonNull::new(va as *mut u8).unwrap()
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let len = buffer.len();
        if let Some(pa) = dma_phys(buffer.as_ptr() as *const u8 as u64, len as u64) {
            return pa;
        }
        assert!(len <= SLOT, "virtio: a {len}-byte DMA buffer exceeds the bounce slot");
        let mut pool = POOL.lock();
        let pool = pool.as_mut().expect("hal::init first");
        let i = pool.used.iter().position(|u| !u).expect("virtio: bounce pool exhausted");
        pool.used[i] = true;
        let slot = (pool.va + (i * SLOT) as u64) as *mut u8;
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the slot is SLOT bytes of our DMA memory; buffer is valid for len.
            unsafe { core::ptr::copy_nonoverlapping(buffer.as_ptr() as *const u8, slot, len) };
        }
        pool.pa + (i * SLOT) as u64
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let mut pool = POOL.lock();
        let Some(pool) = pool.as_mut() else { return };
        if paddr < pool.pa || paddr >= pool.pa + (SLOT * SLOTS) as u64 {
            return; // shared in place (DMA memory): nothing to copy back
        }
        let i = ((paddr - pool.pa) as usize) / SLOT;
        if direction != BufferDirection::DriverToDevice {
            let slot = (pool.va + (i * SLOT) as u64) as *const u8;
            // SAFETY: as in share; the device has finished with the slot.
            unsafe { core::ptr::copy_nonoverlapping(slot, buffer.as_ptr() as *mut u8, buffer.len()) };
        }
        pool.used[i] = false;
    }
}
