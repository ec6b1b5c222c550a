//! Turning the firmware's memory map into the frames the kernel may hand out.

/// A half-open physical range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub const fn new(start: u64, end: u64) -> Self {
        Range { start, end }
    }
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

const PAGE: u64 = 4096;

/// A fixed-capacity list of ranges (the kernel has no heap).
#[derive(Clone, Copy, Debug)]
pub struct RangeSet<const N: usize> {
    ranges: [Range; N],
    len: usize,
}

impl<const N: usize> Default for RangeSet<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RangeSet<N> {
    pub const fn new() -> Self {
        RangeSet { ranges: [Range::new(0, 0); N], len: 0 }
    }

    pub fn as_slice(&self) -> &[Range] {
        &self.ranges[..self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [Range] {
        &mut self.ranges[..self.len]
    }

    /// Add a usable range, shrunk to whole pages. Returns false if the set is full.
    pub fn add(&mut self, r: Range) -> bool {
        let r = Range::new((r.start + PAGE - 1) & !(PAGE - 1), r.end & !(PAGE - 1));
        if r.is_empty() {
            return true;
        }
        if self.len == N {
            return false;
        }
        self.ranges[self.len] = r;
        self.len += 1;
        self.sort();
        true
    }

    /// Remove `[hole.start, hole.end)` (widened to whole pages) from every range.
    pub fn remove(&mut self, hole: Range) -> bool {
        let hole = Range::new(hole.start & !(PAGE - 1), (hole.end + PAGE - 1) & !(PAGE - 1));
        let mut i = 0;
        while i < self.len {
            let r = self.ranges[i];
            if hole.end <= r.start || hole.start >= r.end {
                i += 1;
                continue;
            }
            let left = Range::new(r.start, hole.start.max(r.start));
            let right = Range::new(hole.end.min(r.end), r.end);
            match (left.is_empty(), right.is_empty()) {
                (true, true) => {
                    self.ranges.copy_within(i + 1..self.len, i);
                    self.len -= 1;
                    continue;
                }
                (false, true) => self.ranges[i] = left,
                (true, false) => self.ranges[i] = right,
                (false, false) => {
                    if self.len == N {
                        return false;
                    }
                    self.ranges[i] = left;
                    self.ranges.copy_within(i + 1..self.len, i + 2);
                    self.ranges[i + 1] = right;
                    self.len += 1;
                    i += 1;
                }
            }
            i += 1;
        }
        true
    }

    pub fn total(&self) -> u64 {
        self.as_slice().iter().map(Range::len).sum()
    }

    fn sort(&mut self) {
        // Insertion sort: tiny N, no allocation.
        for i in 1..self.len {
            let mut j = i;
            while j > 0 && self.ranges[j - 1].start > self.ranges[j].start {
                self.ranges.swap(j - 1, j);
                j -= 1;
            }
        }
    }
}

/// Hands out frames from a [`RangeSet`] lowest first, and recycles freed frames
/// through a caller-kept free stack (the kernel keeps that intrusively in the
/// free frames themselves).
#[derive(Debug)]
pub struct Bump<const N: usize> {
    pub free: RangeSet<N>,
}

impl<const N: usize> Bump<N> {
    pub fn new(free: RangeSet<N>) -> Self {
        Bump { free }
    }

    /// Take one frame (its physical address), lowest first.
    pub fn take(&mut self) -> Option<u64> {
        let r = self.free.as_mut_slice().iter_mut().find(|r| !r.is_empty())?;
        let f = r.start;
        r.start += PAGE;
        Some(f)
    }

    pub fn remaining_frames(&self) -> u64 {
        self.free.total() / PAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_split_ranges() {
        let mut s: RangeSet<8> = RangeSet::new();
        assert!(s.add(Range::new(0x10_0000, 0x800_0000)));
        assert!(s.add(Range::new(0, 0x9f000)));
        assert!(s.remove(Range::new(0x10_0000, 0x20_0123))); // kernel
        assert!(s.remove(Range::new(0x400_0000, 0x410_0000))); // a module
        assert!(s.remove(Range::new(0, 0x1000))); // page 0
        let v = s.as_slice();
        assert_eq!(v, &[Range::new(0x1000, 0x9f000), Range::new(0x20_1000, 0x400_0000), Range::new(0x410_0000, 0x800_0000)]);
    }

    #[test]
    fn unaligned_ranges_shrink_to_pages() {
        let mut s: RangeSet<4> = RangeSet::new();
        s.add(Range::new(0x1001, 0x3fff));
        assert_eq!(s.as_slice(), &[Range::new(0x2000, 0x3000)]);
        s.add(Range::new(0x5000, 0x5fff));
        assert_eq!(s.as_slice().len(), 1, "a range smaller than a page vanishes");
    }

    #[test]
    fn hole_covering_everything_empties() {
        let mut s: RangeSet<4> = RangeSet::new();
        s.add(Range::new(0x1000, 0x5000));
        s.remove(Range::new(0, 0x10000));
        assert!(s.as_slice().is_empty());
    }

    #[test]
    fn bump_hands_out_each_frame_once() {
        let mut s: RangeSet<4> = RangeSet::new();
        s.add(Range::new(0x1000, 0x3000));
        s.add(Range::new(0x8000, 0x9000));
        let mut b = Bump::new(s);
        assert_eq!(b.remaining_frames(), 3);
        assert_eq!(b.take(), Some(0x1000));
        assert_eq!(b.take(), Some(0x2000));
        assert_eq!(b.take(), Some(0x8000));
        assert_eq!(b.take(), None);
    }

    #[test]
    fn full_set_reports_failure() {
        let mut s: RangeSet<1> = RangeSet::new();
        assert!(s.add(Range::new(0x1000, 0x10000)));
        assert!(!s.remove(Range::new(0x4000, 0x5000)), "splitting needs a second slot");
    }
}
