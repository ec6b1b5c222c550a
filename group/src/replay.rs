//! Replay protection: a datagram is fresh when its timestamp is within
//! `max_skew` of the receiver's clock and its sequence number was not seen
//! from that sender (a 64-entry sliding window, as IPsec's). A sender's window
//! is kept for twice `max_skew` after its last datagram, so a recorded
//! datagram is refused by the window while its timestamp is still acceptable
//! and by the timestamp afterwards.

use alloc::collections::BTreeMap;

use crate::NodeId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stale {
    /// Timestamp too far from the receiver's clock.
    Clock,
    /// Sequence number already seen, or older than the window.
    Replay,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    top: u64,
    /// Bit i set: `top - i` seen.
    seen: u64,
    last: u64,
}

#[derive(Debug, Default)]
pub struct Replay {
    senders: BTreeMap<NodeId, Window>,
}

impl Replay {
    /// Checks and records (sender, seq, timestamp) at local time `now` (ms).
    pub fn check(&mut self, sender: NodeId, seq: u64, timestamp: u64, now: u64, max_skew: u64) -> Result<(), Stale> {
        if timestamp.abs_diff(now) > max_skew {
            return Err(Stale::Clock);
        }
        let w = self.senders.entry(sender).or_insert(Window { top: 0, seen: 0, last: now });
        if seq > w.top {
            let shift = seq - w.top;
            w.seen = if shift >= 64 { 0 } else { w.seen << shift };
            w.seen |= 1;
            w.top = seq;
        } else {
            let back = w.top - seq;
            if back >= 64 || w.seen & (1 << back) != 0 {
                return Err(Stale::Replay);
            }
            w.seen |= 1 << back;
        }
        w.last = now;
        Ok(())
    }

    /// Forgets senders silent for more than `2 * max_skew`.
    pub fn expire(&mut self, now: u64, max_skew: u64) {
        self.senders.retain(|_, w| now.saturating_sub(w.last) <= 2 * max_skew);
    }

    pub fn len(&self) -> usize {
        self.senders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window() {
        let mut r = Replay::default();
        let id = NodeId(1);
        let ok = |r: &mut Replay, s| r.check(id, s, 1000, 1000, 10);
        assert_eq!(ok(&mut r, 5), Ok(()));
        assert_eq!(ok(&mut r, 5), Err(Stale::Replay));
        assert_eq!(ok(&mut r, 3), Ok(())); // reordered, inside the window
        assert_eq!(ok(&mut r, 3), Err(Stale::Replay));
        assert_eq!(ok(&mut r, 100), Ok(()));
        assert_eq!(ok(&mut r, 36), Err(Stale::Replay)); // fell out of the window
        assert_eq!(ok(&mut r, 37), Ok(()));
        assert_eq!(r.check(NodeId(2), 5, 1000, 1000, 10), Ok(())); // per sender
        assert_eq!(r.check(NodeId(2), 6, 1011, 1000, 10), Err(Stale::Clock));
        assert_eq!(r.check(NodeId(2), 6, 989, 1000, 10), Err(Stale::Clock));
        r.expire(1021, 10);
        assert!(r.is_empty());
    }
}
