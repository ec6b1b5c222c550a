//! Physical memory: the direct map and the frame allocator.
//!
//! All RAM (and the first 4 GiB, for device registers) is mapped at
//! [`DIRECT_MAP`] in the kernel half of every space, so the kernel reaches any
//! frame — page tables, user pages while copying messages — without
//! temporary mappings. Free frames are handed out lowest first from the boot
//! memory map; freed frames go on a stack threaded through the frames.
//! Frames of user pages carry a reference count so address spaces can share
//! them copy-on-write after `space_clone`.

use sion_kerncore::memmap::{Bump, Range, RangeSet};

pub const DIRECT_MAP: u64 = 0xffff_8000_0000_0000;
pub const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;
pub const PAGE: u64 = 4096;

pub fn phys_to_virt(pa: u64) -> *mut u8 {
    (DIRECT_MAP + pa) as *mut u8
}

/// A frame seen through the direct map.
pub fn frame_bytes(pa: u64) -> &'static mut [u8; 4096] {
    // SAFETY: `pa` is a page-aligned frame of RAM, mapped at DIRECT_MAP + pa;
    // the kernel is single-threaded with interrupts off, so no other reference
    // is live while the caller uses it.
    unsafe { &mut *(phys_to_virt(pa) as *mut [u8; 4096]) }
}

pub fn table(pa: u64) -> &'static mut [u64; 512] {
    // SAFETY: as frame_bytes; page tables are frames too.
    unsafe { &mut *(phys_to_virt(pa) as *mut [u64; 512]) }
}

/// Bytes of physical memory (boot modules, boot information) through the direct map.
pub fn phys_slice(pa: u64, len: usize) -> &'static [u8] {
    // SAFETY: the caller names RAM the firmware described (modules, tables),
    // reserved from the frame allocator and never freed.
    unsafe { core::slice::from_raw_parts(phys_to_virt(pa), len) }
}

pub struct Frames {
    bump: Bump<64>,
    free_head: u64,
    free_count: u64,
    pub total: u64,
    /// Highest RAM address + 1, for the direct map.
    pub ram_end: u64,
    /// The usable RAM ranges before reservations (to tell RAM from device holes).
    pub ram: RangeSet<64>,
    /// References to each frame of RAM from user page tables (index pa / PAGE);
    /// empty until [`Frames::init_refs`] runs on the direct map.
    /// (A raw pointer: the kernel object starts zeroed, before memory is known.)
    refs_ptr: *mut u16,
    refs_len: usize,
}

impl Frames {
    pub const fn empty() -> Self {
        Frames { bump: Bump { free: RangeSet::new() }, free_head: 0, free_count: 0, total: 0, ram_end: 0, ram: RangeSet::new(), refs_ptr: core::ptr::null_mut(), refs_len: 0 }
    }

    pub fn init(&mut self, ram: RangeSet<64>, reserved: &[Range]) {
        self.ram = ram;
        self.ram_end = ram.as_slice().iter().map(|r| r.end).max().unwrap_or(0);
        let mut free = ram;
        // Page 0 stays unused so 0 can mean "no frame"; the first MiB holds firmware data.
        free.remove(Range::new(0, 0x10_0000));
        for r in reserved {
            free.remove(*r);
        }
        self.total = free.total() / PAGE;
        self.bump = Bump::new(free);
    }

    /// The reference-count table, taken from free memory once the direct
    /// map exists.
    pub fn init_refs(&mut self) {
        let count = (self.ram_end / PAGE) as usize;
        let pages = (count * 2).div_ceil(PAGE as usize) as u64;
        let pa = self.alloc_contiguous(pages).expect("no memory for frame reference counts");
        self.total -= pages;
        self.refs_ptr = phys_to_virt(pa) as *mut u16;
        self.refs_len = count;
    }

    fn ref_of(&mut self, pa: u64) -> Option<&mut u16> {
        let i = (pa / PAGE) as usize;
        // SAFETY: `refs_ptr` covers `refs_len` counters in frames taken for
        // good by init_refs; `&mut self` makes this the only reference.
        (i < self.refs_len).then(|| unsafe { &mut *self.refs_ptr.add(i) })
    }

    /// A zeroed frame (one reference).
    pub fn alloc(&mut self) -> Option<u64> {
        let pa = if self.free_head != 0 {
            let pa = self.free_head;
            self.free_head = table(pa)[0];
            self.free_count -= 1;
            pa
        } else {
            self.bump.take()?
        };
        frame_bytes(pa).fill(0);
        if let Some(r) = self.ref_of(pa) {
            *r = 1;
        }
        Some(pa)
    }

    /// One more space maps the frame (copy-on-write sharing).
    pub fn share(&mut self, pa: u64) {
        if let Some(r) = self.ref_of(pa) {
            *r = r.saturating_add(1);
        }
    }

    /// How many spaces map the frame.
    pub fn refs(&mut self, pa: u64) -> u16 {
        self.ref_of(pa).map_or(1, |r| *r)
    }

    /// Drop one reference to a user frame; the last one frees it (true).
    pub fn release(&mut self, pa: u64) -> bool {
        if let Some(r) = self.ref_of(pa) {
            if *r > 1 {
                *r -= 1;
                return false;
            }
            *r = 0;
        }
        self.free(pa);
        true
    }

    /// `pages` physically contiguous zeroed frames (for device DMA), taken from
    /// memory never handed out before.
    pub fn alloc_contiguous(&mut self, pages: u64) -> Option<u64> {
        let r = self.bump.free.as_mut_slice().iter_mut().find(|r| r.len() >= pages * PAGE)?;
        let pa = r.start;
        r.start += pages * PAGE;
        for i in 0..pages {
            frame_bytes(pa + i * PAGE).fill(0);
        }
        Some(pa)
    }

    pub fn free(&mut self, pa: u64) {
        table(pa)[0] = self.free_head;
        self.free_head = pa;
        self.free_count += 1;
    }

    pub fn free_frames(&self) -> u64 {
        self.bump.remaining_frames() + self.free_count
    }

    /// A page of RAM below 1 MiB for the application processors' start code
    /// (a start-up IPI names a page below 1 MiB): the highest page between
    /// 4 KiB and 640 KiB that the memory map calls RAM (the EBDA is not) and
    /// that no range in `avoid` touches. The allocator never hands out the
    /// first MiB (see [`Frames::init`]), so the page stays reserved for it.
    pub fn low_page(&self, avoid: &[Range]) -> Option<u64> {
        let mut pa = 0xa_0000 - PAGE;
        while pa >= 0x1000 {
            let page = Range::new(pa, pa + PAGE);
            let in_ram = self.ram.as_slice().iter().any(|r| r.start <= page.start && page.end <= r.end);
            if in_ram && !avoid.iter().any(|a| a.start < page.end && page.start < a.end) {
                return Some(pa);
            }
            pa -= PAGE;
        }
        None
    }

    pub fn is_ram(&self, pa: u64) -> bool {
        self.ram.as_slice().iter().any(|r| r.start <= pa && pa < r.end)
    }
}
