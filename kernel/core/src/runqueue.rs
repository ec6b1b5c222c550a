//! The round-robin run queue: a fixed ring of task slots, each present at most once.

#[derive(Debug)]
pub struct RunQueue<const N: usize> {
    ring: [u16; N],
    queued: [bool; N],
    head: usize,
    len: usize,
}

impl<const N: usize> Default for RunQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RunQueue<N> {
    pub const fn new() -> Self {
        RunQueue { ring: [0; N], queued: [false; N], head: 0, len: 0 }
    }

    /// Append `slot` at the back unless it is already queued.
    pub fn push(&mut self, slot: usize) {
        if self.queued[slot] {
            return;
        }
        self.queued[slot] = true;
        self.ring[(self.head + self.len) % N] = slot as u16;
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let slot = self.ring[self.head] as usize;
        self.head = (self.head + 1) % N;
        self.len -= 1;
        self.queued[slot] = false;
        Some(slot)
    }

    /// Take `slot` out wherever it is (a task that dies while runnable).
    pub fn remove(&mut self, slot: usize) {
        if !self.queued[slot] {
            return;
        }
        let mut kept = 0;
        for i in 0..self.len {
            let s = self.ring[(self.head + i) % N];
            if s as usize != slot {
                self.ring[(self.head + kept) % N] = s;
                kept += 1;
            }
        }
        self.len = kept;
        self.queued[slot] = false;
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn contains(&self, slot: usize) -> bool {
        self.queued[slot]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_order_and_no_duplicates() {
        let mut q: RunQueue<4> = RunQueue::new();
        q.push(1);
        q.push(2);
        q.push(1);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some(1));
        q.push(3);
        q.push(1);
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn wraps_and_removes() {
        let mut q: RunQueue<3> = RunQueue::new();
        for round in 0..10 {
            q.push(0);
            q.push(1);
            q.push(2);
            q.remove(1);
            assert!(!q.contains(1), "round {round}");
            assert_eq!(q.pop(), Some(0));
            assert_eq!(q.pop(), Some(2));
            assert!(q.is_empty());
        }
    }
}
