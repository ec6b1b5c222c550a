//! POSIX timers (timer_create and friends), per process: a [`Timer`] on a
//! clock with what its expiry does (a signal to the process or to one of
//! its threads, or nothing). The process table's upkeep expires them and
//! sends the signals (`Procs::fire_timers`); fork does not copy them, exec
//! and exit drop them.

use super::*;
use crate::signal::{SigInfo, NSIG, SIGALRM, SI_TIMER};
use crate::timer::Timer;

/// Timers one process may hold (Linux bounds them by RLIMIT_SIGPENDING).
const MAX_TIMERS: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PosixTimer {
    /// `CLOCK_REALTIME`, `CLOCK_MONOTONIC`, `CLOCK_BOOTTIME`, `CLOCK_TAI`
    /// or a CPU clock (`CLOCK_PROCESS_CPUTIME_ID`,
    /// `CLOCK_THREAD_CPUTIME_ID`).
    pub clock: i32,
    /// `SIGEV_SIGNAL` (or `SIGEV_THREAD`, which the kernel signals too),
    /// `SIGEV_NONE`, `SIGEV_THREAD_ID`.
    pub notify: i32,
    pub signo: u8,
    /// sigev_value, given to the handler as si_value.
    pub value: u64,
    /// SIGEV_THREAD_ID's thread; for the CPU clocks, the thread whose CPU
    /// time they count (the creator).
    pub tid: u32,
    /// On the monotonic clock for the wall clocks, on the CPU clock for the
    /// CPU ones.
    pub t: Timer,
    /// CPU clocks: when the upkeep looks next (monotonic).
    pub check_at: u64,
    /// Real-time clocks: real time less monotonic time (the server's
    /// timer is on the monotonic clock).
    pub offset: u64,
    /// Overruns of the signal last queued (counted while it is pending).
    pub overrun: i32,
    /// Overruns of the signal delivered before it (timer_getoverrun).
    pub overrun_last: i32,
}

impl PosixTimer {
    pub fn cpu(&self) -> bool {
        matches!(self.clock, CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID)
    }

    /// The siginfo of its signal (with the overruns counted so far).
    pub fn info(&self, id: i32) -> SigInfo {
        SigInfo { signo: self.signo, code: SI_TIMER, pid: id as u32, uid: self.overrun as u32, value: Some(self.value), ..Default::default() }
    }

    /// Its signal, still queued in `sig` (not yet delivered)?
    pub fn queued(&self, id: i32, sig: &crate::signal::Signals) -> bool {
        sig.info.get(&self.signo).is_some_and(|q| q.iter().any(|i| i.code == SI_TIMER && i.pid == id as u32))
    }
}

impl Process {
    /// The clock a timer runs on, or EINVAL: the CPU clocks of the caller
    /// (also as glibc names them, `~0 << 3 | CPUCLOCK_SCHED` and with the
    /// thread bit) become `CLOCK_PROCESS_CPUTIME_ID` and
    /// `CLOCK_THREAD_CPUTIME_ID`; another process's or thread's CPU clock is EINVAL.
    fn timer_clock(&self, clock: i32) -> Result<i32, Errno> {
        match clock {
            CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID | CLOCK_BOOTTIME | CLOCK_TAI => Ok(clock),
            // Linux's alarm timers need an RTC that can wake the machine
            // (checked before CAP_WAKE_ALARM): a node has none.
            CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM => Err(Errno::EOPNOTSUPP),
            c if c < 0 => {
                let id = !(c >> 3) as u32;
                if c & 7 == 7 || c & CPUCLOCK_CLOCK_MASK == 3 {
                    return Err(Errno::EINVAL);
                }
                if c & CPUCLOCK_PERTHREAD != 0 {
                    if id == 0 || id == self.tid {
                        return Ok(CLOCK_THREAD_CPUTIME_ID);
                    }
                } else if id == 0 || id == self.pid {
                    return Ok(CLOCK_PROCESS_CPUTIME_ID);
                }
                Err(Errno::EINVAL)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// The time on a timer's own deadline clock: the CPU time, the real
    /// time (`CLOCK_REALTIME`, `CLOCK_TAI` and `CLOCK_REALTIME_ALARM`
    /// timers keep real-time deadlines, so an absolute time before boot
    /// counts its periods as Linux does), or the monotonic time.
    pub(crate) fn timer_now(h: &mut dyn Host, clock: i32) -> u64 {
        match clock {
            CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => h.cpu_ns(),
            c if realtime_clock(c) => h.realtime_ns(),
            _ => h.now_ns(),
        }
    }

    /// A deadline on a timer's deadline clock for a setting `value` (ns),
    /// relative or absolute, and the offset of that clock from the
    /// monotonic one (real-time clocks; 0 for the others).
    pub(crate) fn timer_deadline(h: &mut dyn Host, clock: i32, value: u64, abs: bool) -> (u64, u64) {
        let now = Self::timer_now(h, clock);
        let offset = if realtime_clock(clock) { now.saturating_sub(h.now_ns()) } else { 0 };
        (if abs { value } else { now.saturating_add(value) }, offset)
    }

    /// timer_create(clock, sevp, timerid).
    pub(crate) fn sys_timer_create(&mut self, h: &mut dyn Host, abi: Abi, clock: i32, sev: u64, out: u64) -> SysResult {
        let ev = if sev != 0 { Some(self.read_user(h, abi, sev, 64)?) } else { None };
        let clock = self.timer_clock(clock)?;
        if self.timers.len() >= MAX_TIMERS {
            return Err(Errno::EAGAIN);
        }
        let id = (0..=i32::MAX).map(|i| self.next_timer_id.wrapping_add(i) & i32::MAX).find(|i| !self.timers.contains_key(i)).ok_or(Errno::EAGAIN)?;
        self.next_timer_id = id.wrapping_add(1) & i32::MAX;
        let mut t = PosixTimer {
            clock,
            notify: SIGEV_SIGNAL,
            signo: SIGALRM,
            value: id as u64,
            tid: self.tid,
            t: Timer::default(),
            check_at: 0,
            offset: 0,
            overrun: 0,
            overrun_last: 0,
        };
        if let Some(b) = ev {
            let w = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
            // sigval, signo, notify, then the union (the thread id first).
            let (value, at) = if abi == Abi::X86_64 { (w(0) as u64 | (w(4) as u64) << 32, 8) } else { (w(0) as u64, 4) };
            let (signo, notify, tid) = (w(at) as i32, w(at + 4) as i32, w(at + 8));
            match notify {
                SIGEV_THREAD_ID if !self.has_thread(tid) => return Err(Errno::EINVAL),
                SIGEV_SIGNAL | SIGEV_THREAD | SIGEV_THREAD_ID if signo <= 0 || signo > NSIG as i32 => return Err(Errno::EINVAL),
                SIGEV_SIGNAL | SIGEV_THREAD | SIGEV_THREAD_ID | SIGEV_NONE => {}
                _ => return Err(Errno::EINVAL),
            }
            t.notify = notify;
            t.signo = signo as u8;
            t.value = value;
            if notify == SIGEV_THREAD_ID {
                t.tid = tid;
            }
        }
        self.write_user(h, abi, out, &id.to_le_bytes())?;
        self.timers.insert(id, t);
        Ok(0)
    }

    /// (interval, time left) of timer `id`.
    fn timer_setting(&mut self, h: &mut dyn Host, id: i32) -> Result<(u64, u64), Errno> {
        let clock = self.timers.get(&id).ok_or(Errno::EINVAL)?.clock;
        let now = Self::timer_now(h, clock);
        let t = &self.timers[&id].t;
        Ok((t.interval, t.left(now)))
    }

    /// timer_settime(id, flags, new, old) with the ABI's timespecs (`bits`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_timer_settime(&mut self, h: &mut dyn Host, abi: Abi, id: i32, flags: u32, new: u64, old: u64, bits: TimeBits) -> SysResult {
        if new == 0 {
            return Err(Errno::EINVAL);
        }
        let b = self.read_user(h, abi, new, 2 * bits.size())?;
        let interval = Timespec::decode(bits, &b).to_ns().ok_or(Errno::EINVAL)?;
        let value = Timespec::decode(bits, &b[bits.size()..]).to_ns().ok_or(Errno::EINVAL)?;
        let prev = self.timer_setting(h, id)?;
        let clock = self.timers[&id].clock;
        // An absolute time in a time namespace, as the node's clock reads it.
        let value = if flags & TIMER_ABSTIME != 0 && value != 0 { self.to_node_clock(clock, value).max(1) } else { value };
        let (deadline, offset) = Self::timer_deadline(h, clock, value, flags & TIMER_ABSTIME != 0);
        if let Some(t) = self.timers.get_mut(&id) {
            t.t.set((value != 0).then_some(deadline), interval);
            t.offset = offset;
            t.check_at = 0;
            t.overrun = 0;
            t.overrun_last = 0;
        }
        if old != 0 {
            self.write_user(h, abi, old, &itimerspec(prev, bits))?;
        }
        Ok(0)
    }

    pub(crate) fn sys_timer_gettime(&mut self, h: &mut dyn Host, abi: Abi, id: i32, out: u64, bits: TimeBits) -> SysResult {
        let cur = self.timer_setting(h, id)?;
        self.write_user(h, abi, out, &itimerspec(cur, bits)).map(|_| 0)
    }

    /// The overruns of the timer's last delivered signal.
    pub(crate) fn sys_timer_getoverrun(&mut self, id: i32) -> SysResult {
        let t = self.timers.get(&id).ok_or(Errno::EINVAL)?;
        Ok(if t.queued(id, &self.sig) { t.overrun_last } else { t.overrun } as u64)
    }

    pub(crate) fn sys_timer_delete(&mut self, id: i32) -> SysResult {
        self.timers.remove(&id).map(|_| 0).ok_or(Errno::EINVAL)
    }
}

/// Does a timer on `clock` keep real-time deadlines?
pub fn realtime_clock(clock: i32) -> bool {
    matches!(clock, CLOCK_REALTIME | CLOCK_REALTIME_ALARM | CLOCK_TAI)
}

/// `struct itimerspec` (interval, value) in timespecs of `bits`.
pub(crate) fn itimerspec((interval, left): (u64, u64), bits: TimeBits) -> Vec<u8> {
    let mut b = Timespec::from_ns(interval).encode(bits);
    b.extend_from_slice(&Timespec::from_ns(left).encode(bits));
    b
}
