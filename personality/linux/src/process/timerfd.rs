//! timerfd: a [`Timer`] whose expirations are counted and read as an
//! 8-byte number (waiting while there are none, or `EAGAIN`), shared by the
//! job's processes as an open file description. The process table's upkeep
//! counts expirations and wakes readers (`Procs::fire_timers`).

use super::files::{FileLike, Obj, OpenFile, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use super::posix_timer::itimerspec;
use super::*;
use crate::timer::Timer;
use alloc::rc::Rc;
use core::cell::RefCell;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimerFd {
    pub clock: i32,
    /// On its clock (real time for `CLOCK_REALTIME`, else monotonic).
    pub t: Timer,
    /// Real time less monotonic time, for a real-time one.
    pub offset: u64,
    /// Expirations not read yet.
    pub ticks: u64,
}

impl TimerFd {
    /// Count the expirations up to `now`.
    pub fn expire(&mut self, now: u64) -> u64 {
        let n = self.t.expire(now);
        self.ticks = self.ticks.saturating_add(n);
        n
    }
}

impl Process {
    pub(crate) fn sys_timerfd_create(&mut self, clock: i32, flags: u32) -> SysResult {
        match clock {
            CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME => {}
            CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM if self.capable(CAP_WAKE_ALARM) => {}
            CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        }
        if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.job.next_timerfd;
        self.job.next_timerfd += 1;
        self.job.timerfds.insert(id, TimerFd { clock, ..Default::default() });
        let f = self.new_file(Obj::TimerFd(id), O_RDWR | (flags & O_NONBLOCK));
        match self.fd_install(f.clone(), 0, flags & O_CLOEXEC != 0) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                self.release(f);
                Err(e)
            }
        }
    }

    /// The timerfd behind descriptor `fd`: EBADF, or EINVAL for another kind.
    fn timerfd_of(&self, fd: i32) -> Result<u32, Errno> {
        let f = self.file(fd as u32 as u64)?;
        let Obj::TimerFd(id) = f.borrow().obj else { return Err(Errno::EINVAL) };
        Ok(id)
    }

    /// (interval, time left), the expirations up to now counted.
    fn timerfd_setting(&mut self, h: &mut dyn Host, id: u32) -> Result<(u64, u64), Errno> {
        let clock = self.job.timerfds.get(&id).ok_or(Errno::EBADF)?.clock;
        let now = Self::timer_now(h, clock);
        let t = self.job.timerfds.get_mut(&id).ok_or(Errno::EBADF)?;
        t.expire(now);
        Ok((t.t.interval, t.t.left(now)))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_timerfd_settime(&mut self, h: &mut dyn Host, abi: Abi, fd: i32, flags: u32, new: u64, old: u64, bits: TimeBits) -> SysResult {
        let b = self.read_user(h, abi, new, 2 * bits.size())?;
        let (interval, value) = (Timespec::decode(bits, &b).to_ns(), Timespec::decode(bits, &b[bits.size()..]).to_ns());
        let (Some(interval), Some(value)) = (interval, value) else { return Err(Errno::EINVAL) };
        if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.timerfd_of(fd)?;
        let prev = self.timerfd_setting(h, id)?;
        let clock = self.job.timerfds[&id].clock;
        // An absolute time in a time namespace, as the node's clock reads it.
        let value = if flags & TFD_TIMER_ABSTIME != 0 && value != 0 { self.to_node_clock(clock as i32, value).max(1) } else { value };
        let (deadline, offset) = Self::timer_deadline(h, clock, value, flags & TFD_TIMER_ABSTIME != 0);
        if let Some(t) = self.job.timerfds.get_mut(&id) {
            t.t.set((value != 0).then_some(deadline), interval);
            t.offset = offset;
            t.ticks = 0;
        }
        if old != 0 {
            self.write_user(h, abi, old, &itimerspec(prev, bits))?;
        }
        Ok(0)
    }

    pub(crate) fn sys_timerfd_gettime(&mut self, h: &mut dyn Host, abi: Abi, fd: i32, out: u64, bits: TimeBits) -> SysResult {
        let id = self.timerfd_of(fd)?;
        let cur = self.timerfd_setting(h, id)?;
        self.write_user(h, abi, out, &itimerspec(cur, bits)).map(|_| 0)
    }

    fn timerfd_read(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        let base = super::eventfd::record_buffer(iov, 8)?.0;
        let clock = self.job.timerfds.get(&id).ok_or(Errno::EBADF)?.clock;
        let now = Self::timer_now(h, clock);
        let t = self.job.timerfds.get_mut(&id).ok_or(Errno::EBADF)?;
        t.expire(now);
        if t.ticks == 0 {
            return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry() };
        }
        let n = t.ticks;
        self.write_user(h, abi, base, &n.to_le_bytes())?;
        if let Some(t) = self.job.timerfds.get_mut(&id) {
            t.ticks = 0;
        }
        Ok(8)
    }
}

/// The timer `JobState::timerfds[id]`.
pub struct TimerFdFile(pub u32);

impl FileLike for TimerFdFile {
    fn seek(&self, _p: &mut Process, f: &Rc<RefCell<OpenFile>>, _off: i64, _whence: u32) -> Result<u64, Errno> {
        super::files::noop_seek(f)
    }

    fn read(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.timerfd_read(h, abi, self.0, &iov, nonblock)
    }

    /// Readable once it expired (the upkeep counts expirations as they come).
    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        (p.job.timerfds.get(&self.0).is_some_and(|t| t.ticks > 0), false)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        p.job.timerfds.remove(&self.0);
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        b"anon_inode:[timerfd]".to_vec()
    }
}
