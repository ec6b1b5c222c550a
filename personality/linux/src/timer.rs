//! The job's one timer mechanism: `ITIMER_REAL` (and `alarm`), POSIX timers
//! (`timer_create`) and timerfds are each a [`Timer`], a deadline on some
//! clock with an interval, kept here as pure arithmetic (no host, no
//! process) so it is tested on the host. The process table's upkeep
//! (`Procs::fire_timers`) expires them; `Procs::next_deadline` tells the
//! server when to look next.

/// The most overruns a POSIX timer reports (Linux's `DELAYTIMER_MAX`).
pub const DELAYTIMER_MAX: i32 = i32::MAX;

/// A deadline on a clock (ns), 0 when disarmed, repeating by `interval`
/// (0: once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timer {
    pub deadline: u64,
    pub interval: u64,
}

impl Timer {
    /// Arm at `deadline` (None disarms; the interval is kept either way, as
    /// Linux reports it). A deadline already passed expires at the next look.
    pub fn set(&mut self, deadline: Option<u64>, interval: u64) {
        self.deadline = deadline.map_or(0, |d| d.max(1));
        self.interval = interval;
    }

    pub fn armed(&self) -> bool {
        self.deadline != 0
    }

    /// The next expiry, if armed.
    pub fn next(&self) -> Option<u64> {
        self.armed().then_some(self.deadline)
    }

    /// How many times it expired up to `now` since it was last expired: the
    /// deadline moves past `now` by whole intervals, or the timer goes off.
    pub fn expire(&mut self, now: u64) -> u64 {
        if !self.armed() || now < self.deadline {
            return 0;
        }
        if self.interval == 0 {
            self.deadline = 0;
            return 1;
        }
        let n = (now - self.deadline) / self.interval + 1;
        self.deadline = self.deadline.saturating_add(n.saturating_mul(self.interval));
        n
    }

    /// Time left until the next expiry at `now` (without expiring it): 0
    /// when disarmed or a one-shot expiry has passed; a periodic timer
    /// whose deadline passed counts to the expiry after `now`.
    pub fn left(&self, now: u64) -> u64 {
        if !self.armed() {
            return 0;
        }
        if now < self.deadline {
            return self.deadline - now;
        }
        if self.interval == 0 {
            return 0;
        }
        let n = (now - self.deadline) / self.interval + 1;
        self.deadline.saturating_add(n.saturating_mul(self.interval)) - now
    }
}

/// Overruns `cur` plus `n` more, saturating at [`DELAYTIMER_MAX`].
pub fn add_overruns(cur: i32, n: u64) -> i32 {
    (cur as i64).saturating_add(n.min(i32::MAX as u64) as i64).min(DELAYTIMER_MAX as i64) as i32
}

/// When to look again (monotonic ns) at a timer on a CPU-time clock whose
/// clock reads `cpu_now` and expires at `cpu_deadline`: the clock advances
/// at most `cpus` times as fast as the wall clock (the threads of a process
/// on every CPU), so the expiry cannot come before the wall clock moved
/// `(cpu_deadline - cpu_now) / cpus`; at least 1 ms on, so a busy loop is
/// not looked at without end.
pub fn cpu_check_at(now: u64, cpu_now: u64, cpu_deadline: u64, cpus: u64) -> u64 {
    let left = cpu_deadline.saturating_sub(cpu_now) / cpus.max(1);
    now.saturating_add(left.max(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_expires_once() {
        let mut t = Timer::default();
        t.set(Some(100), 0);
        assert_eq!(t.left(40), 60);
        assert_eq!(t.expire(99), 0);
        assert_eq!(t.expire(100), 1);
        assert!(!t.armed());
        assert_eq!(t.expire(1000), 0);
        assert_eq!(t.left(1000), 0);
    }

    #[test]
    fn periodic_counts_missed_periods() {
        let mut t = Timer::default();
        t.set(Some(100), 10);
        assert_eq!(t.expire(100), 1);
        assert_eq!(t.deadline, 110);
        // 110, 120, 130, 140 passed by 145.
        assert_eq!(t.expire(145), 4);
        assert_eq!(t.deadline, 150);
        assert_eq!(t.left(145), 5);
        // Not expired: left counts to the next period after now.
        assert_eq!(t.left(171), 9);
        assert_eq!(t.deadline, 150);
    }

    #[test]
    fn disarmed_keeps_interval() {
        let mut t = Timer::default();
        t.set(None, 7);
        assert!(!t.armed());
        assert_eq!(t.interval, 7);
        assert_eq!(t.expire(u64::MAX), 0);
        // A deadline of 0 (already passed) still arms.
        t.set(Some(0), 0);
        assert!(t.armed());
        assert_eq!(t.expire(5), 1);
    }

    #[test]
    fn overruns_saturate() {
        assert_eq!(add_overruns(3, 4), 7);
        assert_eq!(add_overruns(i32::MAX - 1, 5), DELAYTIMER_MAX);
        assert_eq!(add_overruns(0, u64::MAX), DELAYTIMER_MAX);
    }

    #[test]
    fn cpu_checks() {
        assert_eq!(cpu_check_at(1000, 0, 100_000_000, 2), 1000 + 50_000_000);
        assert_eq!(cpu_check_at(1000, 200, 100, 1), 1000 + 1_000_000);
    }
}
