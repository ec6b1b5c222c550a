//! The virtual memory areas of a process: which ranges of its address space
//! exist, with which protection, whatever pages the kernel has actually
//! mapped (most are mapped lazily, on the first fault).
//!
//! Ranges are half-open, page aligned, and never overlap.

use sion_vecmap::VecMap;
use alloc::vec::Vec;

pub const PAGE: u64 = 4096;

pub const fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}
/// Round up to a page; `None` on overflow.
pub const fn page_up(a: u64) -> Option<u64> {
    match a.checked_add(PAGE - 1) {
        Some(x) => Some(x & !(PAGE - 1)),
        None => None,
    }
}

/// What a VMA holds (for /proc/self/maps later, and for brk bookkeeping).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VmaKind {
    /// A segment of the program image.
    Image,
    /// A segment of its interpreter (the dynamic loader).
    Interp,
    /// The heap grown by brk.
    Brk,
    /// The main thread's stack.
    Stack,
    /// Anonymous mmap.
    Anon,
    /// The vDSO's image (`[vdso]`, see [`crate::vdso`]).
    Vdso,
    /// The vDSO's data page (`[vvar]`).
    Vvar,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    /// `PROT_*` bits (READ 1, WRITE 2, EXEC 4).
    pub prot: u64,
    pub kind: VmaKind,
    /// `flag::*` bits (madvise and mlock state: VM_DONTDUMP, VM_LOCKED, VM_WIPEONFORK).
    pub flags: u8,
}

/// A VMA's flags beside its protection, as Linux's `vm_flags` keep them.
pub mod flag {
    /// MADV_DONTDUMP: left out of core dumps.
    pub const DONTDUMP: u8 = 1;
    /// mlock, MAP_LOCKED, mlockall: counted in VmLck.
    pub const LOCKED: u8 = 2;
    /// MADV_WIPEONFORK: a fork's child sees zeros here.
    pub const WIPEONFORK: u8 = 4;
    /// MADV_DONTFORK: not in a fork's child.
    pub const DONTFORK: u8 = 8;
    /// A private mapping of a file (Linux's vm_file).
    pub const FILE: u8 = 16;
    /// A shared mapping (VM_SHARED: MAP_SHARED, System V).
    pub const SHARED: u8 = 32;
    /// May never be made writable (Linux's VM_MAYWRITE clear: MAP_SHARED
    /// of a descriptor not open for writing): mprotect(PROT_WRITE) is EACCES.
    pub const NOWRITE: u8 = 64;
}

#[derive(Default, Clone, Debug)]
pub struct VmaMap {
    /// start -> (end, prot, kind, flags)
    map: VecMap<u64, (u64, u64, VmaKind, u8)>,
}

impl VmaMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn iter(&self) -> impl Iterator<Item = Vma> + '_ {
        self.map.iter().map(|(&start, &(end, prot, kind, flags))| Vma { start, end, prot, kind, flags })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The VMA containing `addr`.
    pub fn lookup(&self, addr: u64) -> Option<Vma> {
        let (&start, &(end, prot, kind, flags)) = self.map.range(..=addr).next_back()?;
        (addr < end).then_some(Vma { start, end, prot, kind, flags })
    }

    /// Whether no VMA intersects `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        if start >= end {
            return true;
        }
        if let Some((_, &(e, ..))) = self.map.range(..start).next_back() {
            if e > start {
                return false;
            }
        }
        self.map.range(start..end).next().is_none()
    }

    /// Add a VMA over a free range. Returns false (changing nothing) if the
    /// range is empty, unaligned or not free.
    pub fn insert(&mut self, start: u64, end: u64, prot: u64, kind: VmaKind) -> bool {
        if start >= end || start % PAGE != 0 || end % PAGE != 0 || !self.is_free(start, end) {
            return false;
        }
        self.map.insert(start, (end, prot, kind, 0));
        true
    }

    /// Cut `[start, end)` out of every VMA, splitting those that straddle it.
    /// Returns the pieces removed.
    pub fn remove_range(&mut self, start: u64, end: u64) -> Vec<Vma> {
        let mut removed = Vec::new();
        if start >= end {
            return removed;
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            let (e, prot, kind, flags) = self.map.remove(&k).expect("key just listed");
            removed.push(Vma { start: k, end: e, prot, kind, flags });
        }
        removed
    }

    /// Set the protection of `[start, end)`. Fails (changing nothing) unless
    /// the whole range is covered by VMAs, as Linux's mprotect (ENOMEM).
    pub fn protect_range(&mut self, start: u64, end: u64, prot: u64) -> bool {
        if !self.is_covered(start, end) {
            return false;
        }
        self.split_at(start);
        self.split_at(end);
        for (_, v) in self.map.range_mut(start..end) {
            v.1 = prot;
        }
        self.merge_around(start, end);
        true
    }

    /// Set and clear `flag::*` bits over `[start, end)`, splitting and
    /// merging as `protect_range`; parts not covered are left alone.
    pub fn set_flags(&mut self, start: u64, end: u64, set: u8, clear: u8) {
        if start >= end || set | clear == 0 {
            return;
        }
        self.split_at(start);
        self.split_at(end);
        for (_, v) in self.map.range_mut(start..end) {
            v.3 = (v.3 & !clear) | set;
        }
        self.merge_around(start, end);
    }

    /// Put back a VMA as `remove_range` returned it (mremap's move).
    pub fn insert_vma(&mut self, v: Vma) -> bool {
        if !self.insert(v.start, v.end, v.prot, v.kind) {
            return false;
        }
        self.set_flags(v.start, v.end, v.flags, 0);
        true
    }

    /// Whether every byte of `[start, end)` is inside some VMA.
    pub fn is_covered(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        while at < end {
            match self.lookup(at) {
                Some(v) => at = v.end,
                None => return false,
            }
        }
        true
    }

    /// Change the end of the VMA that starts at `start` (brk). The grown part
    /// must be free.
    pub fn resize(&mut self, start: u64, new_end: u64) -> bool {
        let Some(&(end, prot, kind, flags)) = self.map.get(&start) else { return false };
        if new_end <= start || new_end % PAGE != 0 {
            return false;
        }
        if new_end > end && !self.is_free(end, new_end) {
            return false;
        }
        self.map.insert(start, (new_end, prot, kind, flags));
        true
    }

    /// The highest free range of `len` bytes with `floor <= start` and
    /// `end <= ceiling` (top-down, as Linux's default mmap layout).
    pub fn find_free_top_down(&self, len: u64, floor: u64, ceiling: u64) -> Option<u64> {
        if len == 0 || len % PAGE != 0 || ceiling < len {
            return None;
        }
        let mut hole_end = ceiling;
        for (&s, &(e, ..)) in self.map.range(..ceiling).rev() {
            // The hole between this VMA and the one above is [max(e, floor), hole_end).
            let lo = e.max(floor);
            if hole_end >= lo && hole_end - lo >= len {
                return Some(hole_end - len);
            }
            hole_end = hole_end.min(s);
            if hole_end <= floor {
                return None;
            }
        }
        (hole_end >= floor && hole_end - floor >= len).then(|| hole_end - len)
    }

    fn split_at(&mut self, addr: u64) {
        if let Some((&s, &(e, prot, kind, flags))) = self.map.range(..addr).next_back() {
            if s < addr && addr < e {
                self.map.insert(s, (addr, prot, kind, flags));
                self.map.insert(addr, (e, prot, kind, flags));
            }
        }
    }

    /// Join neighbours with equal protection, kind and flags around a changed range.
    fn merge_around(&mut self, start: u64, end: u64) {
        let lo = self.map.range(..start).next_back().map(|(&k, _)| k).unwrap_or(start);
        let keys: Vec<u64> = self.map.range(lo..=end).map(|(&k, _)| k).collect();
        let mut prev: Option<u64> = None;
        for k in keys {
            if let Some(p) = prev {
                let (pe, pp, pk, pf) = self.map[&p];
                let (e, pr, kd, fl) = self.map[&k];
                // Shared and file mappings are each of their own object:
                // never joined to a neighbour (Linux joins only the same
                // object's), so each keeps its own identity.
                if pe == k && pp == pr && pk == kd && pf == fl && pf & (flag::SHARED | flag::FILE) == 0 {
                    self.map.remove(&k);
                    self.map.insert(p, (e, pp, pk, pf));
                    continue;
                }
            }
            prev = Some(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const RW: u64 = 3;
    const R: u64 = 1;

    fn spans(m: &VmaMap) -> Vec<(u64, u64, u64)> {
        m.iter().map(|v| (v.start, v.end, v.prot)).collect()
    }

    #[test]
    fn insert_lookup_overlap() {
        let mut m = VmaMap::new();
        assert!(m.insert(0x1000, 0x5000, RW, VmaKind::Anon));
        assert!(!m.insert(0x4000, 0x6000, RW, VmaKind::Anon), "overlap refused");
        assert!(!m.insert(0x6001, 0x7000, RW, VmaKind::Anon), "unaligned refused");
        assert!(!m.insert(0x7000, 0x7000, RW, VmaKind::Anon), "empty refused");
        assert!(m.insert(0x5000, 0x6000, R, VmaKind::Anon));
        assert_eq!(m.lookup(0x1000).unwrap().end, 0x5000);
        assert_eq!(m.lookup(0x4fff).unwrap().start, 0x1000);
        assert_eq!(m.lookup(0x5000).unwrap().prot, R);
        assert_eq!(m.lookup(0x6000), None);
        assert_eq!(m.lookup(0xfff), None);
        assert!(m.is_free(0x6000, 0x9000));
        assert!(!m.is_free(0x0, 0x1001));
    }

    #[test]
    fn remove_splits() {
        let mut m = VmaMap::new();
        m.insert(0x1000, 0x9000, RW, VmaKind::Anon);
        let r = m.remove_range(0x3000, 0x5000);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].start, r[0].end), (0x3000, 0x5000));
        assert_eq!(spans(&m), [(0x1000, 0x3000, RW), (0x5000, 0x9000, RW)]);
        // Across a hole and two VMAs.
        let r = m.remove_range(0x2000, 0x6000);
        assert_eq!(r.len(), 2);
        assert_eq!(spans(&m), [(0x1000, 0x2000, RW), (0x6000, 0x9000, RW)]);
        assert!(m.remove_range(0x10000, 0x20000).is_empty());
        m.remove_range(0, u64::MAX & !0xfff);
        assert!(m.is_empty());
    }

    #[test]
    fn protect_splits_and_merges() {
        let mut m = VmaMap::new();
        m.insert(0x1000, 0x9000, RW, VmaKind::Anon);
        assert!(m.protect_range(0x3000, 0x4000, R));
        assert_eq!(spans(&m), [(0x1000, 0x3000, RW), (0x3000, 0x4000, R), (0x4000, 0x9000, RW)]);
        assert!(m.protect_range(0x3000, 0x4000, RW));
        assert_eq!(spans(&m), [(0x1000, 0x9000, RW)]);
        assert!(!m.protect_range(0x8000, 0xa000, R), "not fully covered");
        assert_eq!(spans(&m), [(0x1000, 0x9000, RW)], "unchanged on failure");
    }

    #[test]
    fn free_range_top_down() {
        let mut m = VmaMap::new();
        let top = 0x10_0000;
        assert_eq!(m.find_free_top_down(0x2000, 0x1000, top), Some(top - 0x2000));
        m.insert(top - 0x3000, top, RW, VmaKind::Anon);
        assert_eq!(m.find_free_top_down(0x2000, 0x1000, top), Some(top - 0x5000));
        m.insert(top - 0x6000, top - 0x4000, RW, VmaKind::Anon);
        // One-page hole at top-0x4000..top-0x3000: too small for two pages.
        assert_eq!(m.find_free_top_down(0x2000, 0x1000, top), Some(top - 0x8000));
        assert_eq!(m.find_free_top_down(0x1000, 0x1000, top), Some(top - 0x4000));
        assert_eq!(m.find_free_top_down(top, 0x1000, top), None, "does not fit above the floor");
        assert_eq!(m.find_free_top_down(0x2000, top - 0x8000, top), Some(top - 0x8000));
        assert_eq!(m.find_free_top_down(0x2000, top - 0x7000, top), None);
    }

    #[test]
    fn flags_split_merge_and_survive_a_move() {
        let mut m = VmaMap::new();
        m.insert(0x1000, 0x9000, RW, VmaKind::Anon);
        m.set_flags(0x3000, 0x5000, flag::DONTDUMP | flag::LOCKED, 0);
        let f: Vec<(u64, u64, u8)> = m.iter().map(|v| (v.start, v.end, v.flags)).collect();
        assert_eq!(f, [(0x1000, 0x3000, 0), (0x3000, 0x5000, flag::DONTDUMP | flag::LOCKED), (0x5000, 0x9000, 0)]);
        // Protection changes keep the flags; equal neighbours merge again.
        assert!(m.protect_range(0x3000, 0x4000, R));
        assert_eq!(m.lookup(0x3000).unwrap().flags, flag::DONTDUMP | flag::LOCKED);
        assert!(m.protect_range(0x3000, 0x4000, RW));
        m.set_flags(0x1000, 0x9000, 0, flag::DONTDUMP | flag::LOCKED);
        assert_eq!(spans(&m), [(0x1000, 0x9000, RW)]);
        assert_eq!(m.lookup(0x4000).unwrap().flags, 0);
        // A removed piece goes back with its flags.
        m.set_flags(0x2000, 0x3000, flag::WIPEONFORK, 0);
        let r = m.remove_range(0x2000, 0x3000);
        assert_eq!(r[0].flags, flag::WIPEONFORK);
        assert!(m.insert_vma(Vma { start: 0x20000, end: 0x21000, ..r[0] }));
        assert_eq!(m.lookup(0x20000).unwrap().flags, flag::WIPEONFORK);
        // Nothing to set or clear changes nothing (no merge of separate mappings).
        m.insert(0x21000, 0x22000, RW, VmaKind::Anon);
        m.set_flags(0x21000, 0x22000, 0, 0);
        assert_eq!(m.lookup(0x21000).unwrap().start, 0x21000);
    }

    #[test]
    fn resize_for_brk() {
        let mut m = VmaMap::new();
        m.insert(0x10000, 0x11000, RW, VmaKind::Brk);
        m.insert(0x20000, 0x21000, RW, VmaKind::Anon);
        assert!(m.resize(0x10000, 0x20000));
        assert!(!m.resize(0x10000, 0x21000), "would overlap");
        assert!(m.resize(0x10000, 0x12000));
        assert_eq!(m.lookup(0x11fff).unwrap().kind, VmaKind::Brk);
        assert_eq!(m.lookup(0x12000), None);
    }
}
