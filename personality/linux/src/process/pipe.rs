//! Pipes: a byte queue shared by the processes of the job, with Linux's
//! semantics (blocking and O_NONBLOCK, EOF once every writer is closed,
//! EPIPE and SIGPIPE once every reader is closed, writes of up to PIPE_BUF
//! bytes never interleaved, 64 KiB by default, F_SETPIPE_SZ).
//!
//! The two ends are open file descriptions (`Obj::Pipe`, behaving as
//! [`PipeFile`]); `readers` and `writers` count the descriptions of each end
//! still open anywhere in the job.

use super::files::{FileLike, Obj, OpenFile, O_ACCMODE, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDWR, O_WRONLY};
use super::*;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::vec;
use core::cell::RefCell;
use sion_vfs::Ino;

/// Writes up to this size are atomic.
pub const PIPE_BUF: u64 = 4096;
/// Capacity of a new pipe (Linux: 16 pages).
pub const PIPE_DEFAULT: u64 = 65536;
/// Capacity of a new pipe of a user past /proc/sys/fs/pipe-user-pages-soft
/// (Linux: PIPE_MIN_DEF_BUFFERS pages).
pub const PIPE_SOFT_LIMITED: u64 = 2 * PAGE;
/// Largest F_SETPIPE_SZ for anyone (Linux's round_pipe_size refuses more).
pub const PIPE_SIZE_LIMIT: u64 = 1 << 31;
pub use crate::signal::SIGPIPE;

#[derive(Debug, Default)]
pub struct Pipe {
    pub buf: VecDeque<u8>,
    pub capacity: u64,
    pub readers: u32,
    pub writers: u32,
    /// The user whose pipe pages it counts in (its maker).
    pub owner: u32,
}

impl Pipe {
    fn space(&self) -> u64 {
        self.capacity.saturating_sub(self.buf.len() as u64)
    }
}

/// F_SETPIPE_SZ rounds up to a power-of-two number of pages; growing past
/// `max` (/proc/sys/fs/pipe-max-size) takes privilege (root here).
pub fn pipe_size_for(want: u64, now: u64, max: u64, privileged: bool) -> Result<u64, Errno> {
    if want > PIPE_SIZE_LIMIT {
        return Err(Errno::EINVAL);
    }
    let size = want.max(PAGE).next_power_of_two();
    if size > now && size > max && !privileged {
        return Err(Errno::EPERM);
    }
    Ok(size)
}

impl Process {
    pub(crate) fn sys_pipe2(&mut self, h: &mut dyn Host, abi: Abi, fds: u64, flags: u32) -> SysResult {
        if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
            return Err(Errno::EINVAL);
        }
        self.check_range(abi, fds, 8)?;
        let id = self.job.next_pipe;
        self.job.next_pipe += 1;
        let capacity = self.new_pipe_capacity();
        self.job.pipes.insert(id, Pipe { capacity, readers: 1, writers: 1, owner: self.uid, ..Default::default() });
        let status = flags & (O_NONBLOCK | O_DIRECT);
        let r = self.new_file(Obj::Pipe { id, write: false }, status);
        let w = self.new_file(Obj::Pipe { id, write: true }, status | O_WRONLY);
        self.install_pair(h, abi, [r, w], flags & O_CLOEXEC != 0, fds)
    }

    /// The last description of one end closed.
    pub(super) fn pipe_end_closed(&mut self, id: u32, write: bool) {
        let Some(p) = self.job.pipes.get_mut(&id) else { return };
        if write {
            p.writers = p.writers.saturating_sub(1);
        } else {
            p.readers = p.readers.saturating_sub(1);
        }
        if p.readers == 0 && p.writers == 0 {
            self.job.pipes.remove(&id);
            self.job.fasync.forget(Obj::Pipe { id, write: false });
            self.job.fasync.forget(Obj::Pipe { id, write: true });
            return;
        }
        // When one side is gone, the other hears of it (Linux's pipe_release).
        if (p.readers == 0) == (p.writers == 0) {
            return;
        }
        self.job.fasync.ready(Obj::Pipe { id, write: false }, super::fasync::POLL_IN);
        self.job.fasync.ready(Obj::Pipe { id, write: true }, super::fasync::POLL_OUT);
    }

    pub(super) fn pipe_read(&mut self, h: &mut dyn Host, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        let Some(p) = self.job.pipes.get(&id) else { return Ok(0) };
        let want: u64 = iov.iter().map(|x| x.1).sum();
        if want == 0 {
            return Ok(0);
        }
        if p.buf.is_empty() {
            return if p.writers == 0 {
                Ok(0)
            } else if nonblock {
                Err(Errno::EAGAIN)
            } else {
                self.block_retry()
            };
        }
        let mut total = 0u64;
        let was_full = p.space() < PIPE_BUF.min(p.capacity);
        for &(base, len) in iov {
            let Some(p) = self.job.pipes.get_mut(&id) else { break };
            let n = (len.min(p.buf.len() as u64)) as usize;
            if n == 0 {
                break;
            }
            // The bytes go straight from the pipe's ring to the reader (the
            // ring is out of the table meanwhile: writing needs `self`).
            let mut ring = core::mem::take(&mut p.buf);
            let (a, b) = ring.as_slices();
            let a = &a[..n.min(a.len())];
            let b = &b[..n - a.len()];
            let mut w = self.write_partial(h, base, a);
            if w == a.len() && !b.is_empty() {
                w += self.write_partial(h, base + a.len() as u64, b);
            }
            ring.drain(..w);
            if let Some(p) = self.job.pipes.get_mut(&id) {
                p.buf = ring;
            }
            total += w as u64;
            if w > 0 {
                self.job.fasync.event(Obj::Pipe { id, write: true }, super::fasync::POLL_OUT);
                // Linux wakes the writers when the pipe was full.
                if was_full {
                    self.job.fasync.wake(Obj::Pipe { id, write: true });
                }
            }
            if w < n {
                return if total > 0 { Ok(total) } else { Err(Errno::EFAULT) };
            }
        }
        Ok(total)
    }

    pub(super) fn pipe_write(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        let want: u64 = iov.iter().map(|x| x.1).sum::<u64>().min(MAX_RW);
        // Bytes of this call already written by an earlier, blocked attempt.
        let done_before = core::mem::take(&mut self.partial_write);
        let Some(p) = self.job.pipes.get(&id) else { return Err(Errno::EPIPE) };
        if p.readers == 0 {
            self.raise = Some(SIGPIPE);
            return if done_before > 0 { Ok(done_before) } else { Err(Errno::EPIPE) };
        }
        if want == 0 {
            return Ok(0);
        }
        let space = p.space();
        let left = want - done_before;
        // Small writes go in whole or wait; large ones go in pieces.
        let n = if want <= PIPE_BUF { if space >= left { left } else { 0 } } else { left.min(space) };
        if n == 0 {
            if nonblock {
                return if done_before > 0 { Ok(done_before) } else { Err(Errno::EAGAIN) };
            }
            self.partial_write = done_before;
            return self.block_retry();
        }
        // Gather bytes [done_before, done_before + n) of the iovec.
        let mut data = vec![0u8; n as usize];
        let mut filled = 0usize;
        let mut skip = done_before;
        for &(base, len) in iov {
            if filled as u64 >= n {
                break;
            }
            if skip >= len {
                skip -= len;
                continue;
            }
            let take = (len - skip).min(n - filled as u64) as usize;
            self.check_range(abi, base + skip, take as u64)?;
            let got = self.read_partial(h, base + skip, &mut data[filled..filled + take]);
            filled += got;
            if got < take {
                break;
            }
            skip = 0;
        }
        data.truncate(filled);
        if data.is_empty() {
            return if done_before > 0 { Ok(done_before) } else { Err(Errno::EFAULT) };
        }
        let short = (data.len() as u64) < n;
        if let Some(p) = self.job.pipes.get_mut(&id) {
            p.buf.extend(&data);
        }
        self.job.fasync.ready(Obj::Pipe { id, write: false }, super::fasync::POLL_IN);
        let total = done_before + data.len() as u64;
        if total < want && !short && !nonblock {
            self.partial_write = total;
            return self.block_retry();
        }
        Ok(total)
    }

    /// Bytes the server holds (sendfile, copy_file_range) into a pipe: as
    /// many as fit, waiting (or EAGAIN) only when none do.
    pub(super) fn pipe_push(&mut self, id: u32, data: &[u8], nonblock: bool) -> SysResult {
        let Some(p) = self.job.pipes.get_mut(&id) else { return Err(Errno::EPIPE) };
        if p.readers == 0 {
            self.raise = Some(SIGPIPE);
            return Err(Errno::EPIPE);
        }
        let n = (p.space() as usize).min(data.len());
        if n == 0 && !data.is_empty() {
            return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry() };
        }
        p.buf.extend(&data[..n]);
        if n > 0 {
            self.job.fasync.ready(Obj::Pipe { id, write: false }, super::fasync::POLL_IN);
        }
        Ok(n as u64)
    }

    /// (readable, writable, hung up) of a pipe end.
    pub(super) fn pipe_ready(&self, id: u32, write: bool) -> (bool, bool, bool) {
        match self.job.pipes.get(&id) {
            None => (!write, write, true),
            Some(p) if write => (false, p.readers == 0 || p.space() >= PIPE_BUF.min(p.capacity), p.readers == 0),
            Some(p) => (!p.buf.is_empty() || p.writers == 0, false, p.writers == 0),
        }
    }

    pub(super) fn pipe_fionread(&self, id: u32) -> u32 {
        self.job.pipes.get(&id).map_or(0, |p| p.buf.len() as u32)
    }

    pub(super) fn pipe_get_size(&self, id: u32) -> u64 {
        self.job.pipes.get(&id).map_or(PIPE_DEFAULT, |p| p.capacity)
    }

    /// The capacity of a new pipe: Linux's 16 pages, or 2 once the user's
    /// pipes hold more than /proc/sys/fs/pipe-user-pages-soft (not for root).
    pub(super) fn new_pipe_capacity(&self) -> u64 {
        let soft = self.job.tunables.pipe_user_pages_soft;
        if self.uid == 0 || soft == 0 {
            return PIPE_DEFAULT;
        }
        let pages: u64 = self.job.pipes.values().filter(|p| p.owner == self.uid).map(|p| p.capacity / PAGE).sum();
        if pages + PIPE_DEFAULT / PAGE > soft {
            PIPE_SOFT_LIMITED
        } else {
            PIPE_DEFAULT
        }
    }

    pub(super) fn pipe_set_size(&mut self, id: u32, want: u64) -> SysResult {
        let now = self.pipe_get_size(id);
        let size = pipe_size_for(want, now, self.job.tunables.pipe_max_size, self.capable(crate::linux::CAP_SYS_RESOURCE))?;
        let p = self.job.pipes.get_mut(&id).ok_or(Errno::EBADF)?;
        if (p.buf.len() as u64) > size {
            return Err(Errno::EBUSY);
        }
        p.capacity = size;
        Ok(size)
    }
}

/// Access mode of a pipe end opened again through /proc/self/fd.
pub fn pipe_reopen_ok(write: bool, flags: u32) -> bool {
    let acc = flags & O_ACCMODE;
    acc == O_RDWR || (acc == O_WRONLY) == write
}

/// One end of pipe `JobState::pipes[id]` (of a FIFO's pipe too).
pub struct PipeFile {
    pub id: u32,
    pub write: bool,
}

impl FileLike for PipeFile {
    fn read(&self, p: &mut Process, h: &mut dyn Host, _abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.pipe_read(h, self.id, &iov, nonblock)
    }

    fn write(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.pipe_write(h, abi, self.id, &iov, nonblock)
    }

    fn write_bytes(&self, p: &mut Process, _h: &mut dyn Host, f: &Rc<RefCell<OpenFile>>, data: &[u8]) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.pipe_push(self.id, data, nonblock)
    }

    fn ready(&self, p: &Process, f: &OpenFile) -> (bool, bool) {
        if f.flags & O_ACCMODE == O_RDWR {
            // A FIFO opened for both: either end's readiness.
            return (p.pipe_ready(self.id, false).0, p.pipe_ready(self.id, true).1);
        }
        // An empty pipe without writers is not readable for poll (Linux
        // reports POLLHUP alone, `hangup`); select counts the hang-up as
        // readable itself.
        let (r, w, hup) = p.pipe_ready(self.id, self.write);
        (r && !(hup && !self.write && p.pipe_fionread(self.id) == 0), w)
    }

    fn hangup(&self, p: &Process) -> u16 {
        match p.pipe_ready(self.id, self.write) {
            (_, _, true) if self.write => 0x08,
            (_, _, true) => 0x10,
            _ => 0,
        }
    }

    fn stat(&self, p: &Process) -> StatInfo {
        StatInfo { dev: 0xc, ino: 30000 + self.id as u64, mode: S_IFIFO | 0o600, nlink: 1, uid: p.uid, gid: p.gid, blksize: 4096, ..Default::default() }
    }

    fn ioctl(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, _f: &Rc<RefCell<OpenFile>>, req: u32, arg: u64) -> SysResult {
        if req == FIONREAD {
            let n = p.pipe_fionread(self.id);
            return p.write_user(h, abi, arg, &n.to_le_bytes()).map(|_| 0);
        }
        Err(Errno::ENOTTY)
    }

    fn pipe_size(&self, p: &mut Process, set: Option<u64>) -> SysResult {
        match set {
            None => Ok(p.pipe_get_size(self.id)),
            Some(want) => p.pipe_set_size(self.id, want),
        }
    }

    fn reopen(&self, flags: u32) -> Result<(), Errno> {
        if pipe_reopen_ok(self.write, flags) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    fn reopened(&self, p: &mut Process, flags: u32) {
        // A new description is a new reader or writer, as a FIFO's open:
        // counted the way `release` will uncount it.
        let fifo = p.fifo_of(self.id).is_some();
        let Some(pipe) = p.job.pipes.get_mut(&self.id) else { return };
        let acc = flags & O_ACCMODE;
        let (reader, writer) = if fifo { (acc != O_WRONLY, acc != 0) } else { (!self.write, self.write) };
        pipe.readers += reader as u32;
        pipe.writers += writer as u32;
    }

    fn release(&self, p: &mut Process, flags: u32) {
        match p.fifo_of(self.id) {
            Some(ino) => p.fifo_closed(ino, flags),
            None => p.pipe_end_closed(self.id, self.write),
        }
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        format!("pipe:[{}]", 30000 + self.id).into_bytes()
    }

    fn inode(&self, p: &Process) -> Option<Ino> {
        p.fifo_of(self.id)
    }
}
