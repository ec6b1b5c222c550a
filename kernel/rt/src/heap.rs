//! The global allocator: a linked-list heap at SERVER_HEAP_BASE that maps more
//! pages into the server's own space (mem_map, READ|WRITE) when it runs out.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicU64, Ordering};
use linked_list_allocator::LockedHeap;
use sion_abi::boot::SERVER_HEAP_BASE;
use sion_abi::call::prot;

/// Grow by at least this much at a time.
const GROW_MIN: u64 = 256 * 1024;
/// Never grow past this (a runaway server stops at an allocation failure).
const HEAP_MAX: u64 = 1 << 32;

pub struct GrowingHeap {
    heap: LockedHeap,
    /// Bytes mapped so far from SERVER_HEAP_BASE.
    mapped: AtomicU64,
}

#[cfg_attr(target_os = "none", global_allocator)]
#[allow(dead_code)]
static HEAP: GrowingHeap = GrowingHeap { heap: LockedHeap::empty(), mapped: AtomicU64::new(0) };

// SAFETY: allocation goes through linked_list_allocator under its spin lock;
// memory handed to it is freshly mapped, zeroed, exclusively owned pages
// directly above what it already manages.
unsafe impl GlobalAlloc for GrowingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut h = self.heap.lock();
        loop {
            if let Ok(p) = h.allocate_first_fit(layout) {
                return p.as_ptr();
            }
            let want = (layout.size() as u64 + layout.align() as u64 + 4096).max(GROW_MIN);
            let want = (want + 0xfff) & !0xfff;
            let mapped = self.mapped.load(Ordering::Relaxed);
            if mapped + want > HEAP_MAX {
                return null_mut();
            }
            if crate::call::mem_map(crate::self_space(), SERVER_HEAP_BASE + mapped, want, prot::READ | prot::WRITE).is_err() {
                return null_mut();
            }
            self.mapped.store(mapped + want, Ordering::Relaxed);
            if mapped == 0 {
                // SAFETY: [SERVER_HEAP_BASE, +want) was just mapped RW for us
                // and nothing else uses it.
                unsafe { h.init(SERVER_HEAP_BASE as *mut u8, want as usize) };
            } else {
                // SAFETY: the new pages directly follow the heap's current top.
                unsafe { h.extend(want as usize) };
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with this layout (GlobalAlloc contract).
            unsafe { self.heap.lock().deallocate(p, layout) };
        }
    }
}
