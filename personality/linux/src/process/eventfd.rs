//! eventfd: a 64-bit counter shared by the job's processes. A write adds
//! (waiting while the sum would pass 2^64 - 2), a read takes the whole count
//! (or one, with EFD_SEMAPHORE), waiting while it is zero.

use super::files::{FileLike, Obj, OpenFile, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use super::*;
use alloc::rc::Rc;
use core::cell::RefCell;

const EFD_SEMAPHORE: u32 = 1;
/// The largest count (Linux: ULLONG_MAX - 1).
const MAX: u64 = u64::MAX - 1;

#[derive(Debug, Default)]
pub struct EventFd {
    pub count: u64,
    pub semaphore: bool,
}

impl Process {
    pub(crate) fn sys_eventfd2(&mut self, count: u32, flags: u32) -> SysResult {
        if flags & !(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.job.next_eventfd;
        self.job.next_eventfd += 1;
        self.job.eventfds.insert(id, EventFd { count: count as u64, semaphore: flags & EFD_SEMAPHORE != 0 });
        let f = self.new_file(Obj::EventFd(id), O_RDWR | (flags & O_NONBLOCK));
        match self.fd_install(f.clone(), 0, flags & O_CLOEXEC != 0) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                self.release(f);
                Err(e)
            }
        }
    }

    pub(super) fn eventfd_read(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        let base = record_buffer(iov, 8)?.0;
        let e = self.job.eventfds.get(&id).ok_or(Errno::EBADF)?;
        if e.count == 0 {
            return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry() };
        }
        let v = if e.semaphore { 1 } else { e.count };
        self.write_user(h, abi, base, &v.to_le_bytes())?;
        if let Some(e) = self.job.eventfds.get_mut(&id) {
            e.count -= v;
        }
        Ok(8)
    }

    pub(super) fn eventfd_write(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        let base = record_buffer(iov, 8)?.0;
        let b = self.read_user(h, abi, base, 8)?;
        let v = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let e = self.job.eventfds.get_mut(&id).ok_or(Errno::EBADF)?;
        if MAX - e.count < v {
            return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry() };
        }
        e.count += v;
        Ok(8)
    }

    /// (readable, writable).
    pub(super) fn eventfd_ready(&self, id: u32) -> (bool, bool) {
        self.job.eventfds.get(&id).map_or((false, false), |e| (e.count > 0, e.count < MAX))
    }
}

/// The buffer a fixed-size record (an eventfd count, a signalfd_siginfo) is
/// read into or taken from: the first non-empty one of `iov`, which must
/// hold at least `size` bytes (EINVAL otherwise, as on Linux).
pub(super) fn record_buffer(iov: &[(u64, u64)], size: u64) -> Result<(u64, u64), Errno> {
    let (base, len) = iov.iter().copied().find(|&(_, l)| l > 0).unwrap_or((0, 0));
    if len < size {
        return Err(Errno::EINVAL);
    }
    Ok((base, len))
}

/// The counter `JobState::eventfds[id]`.
pub struct EventFdFile(pub u32);

impl FileLike for EventFdFile {
    fn seek(&self, _p: &mut Process, f: &Rc<RefCell<OpenFile>>, _off: i64, _whence: u32) -> Result<u64, Errno> {
        super::files::noop_seek(f)
    }

    fn read(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.eventfd_read(h, abi, self.0, &iov, nonblock)
    }

    fn write(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.eventfd_write(h, abi, self.0, &iov, nonblock)
    }

    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        p.eventfd_ready(self.0)
    }

    /// A count the kernel side (an AIO completion) took to the all-ones
    /// value, which no write can make: POLLERR, as eventfd_poll.
    fn hangup(&self, p: &Process) -> u16 {
        if p.job.eventfds.get(&self.0).is_some_and(|e| e.count == u64::MAX) {
            0x08
        } else {
            0
        }
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        p.job.eventfds.remove(&self.0);
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        b"anon_inode:[eventfd]".to_vec()
    }
}
