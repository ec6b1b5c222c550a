//! Linux native AIO (io_setup, io_submit, io_getevents, io_pgetevents,
//! io_cancel, io_destroy). A context is a ring mapped in the process (its
//! address is the context's id, as Linux's `aio_context_t`): a `struct
//! aio_ring` header (AIO_RING_MAGIC, so libaio reads it) and `struct
//! io_event`s. Reads, writes and fsyncs complete at submission, as Linux's
//! do on tmpfs: their event goes into the ring at once (and IOCB_FLAG_RESFD
//! adds 1 to an eventfd); IOCB_CMD_POLL completes when its file is ready,
//! looked at when events are read (io_getevents, including a waiting one).
//! Contexts belong to the memory: a fork's child has none, exec ends them.

use super::files::{Obj, OpenFile};
use super::*;
use alloc::rc::Rc;
use alloc::vec;
use core::cell::RefCell;

pub const AIO_RING_MAGIC: u32 = 0xa10a_10a1;
const RING_HEADER: u64 = 32;
const EVENT_SIZE: u64 = 32;
const IOCB_SIZE: usize = 64;
/// `aio_key` of a submitted iocb (KIOCB_KEY).
const KIOCB_KEY: u32 = 0;
pub const IOCB_CMD_PREAD: u16 = 0;
pub const IOCB_CMD_PWRITE: u16 = 1;
pub const IOCB_CMD_FSYNC: u16 = 2;
pub const IOCB_CMD_FDSYNC: u16 = 3;
pub const IOCB_CMD_POLL: u16 = 5;
pub const IOCB_CMD_PREADV: u16 = 7;
pub const IOCB_CMD_PWRITEV: u16 = 8;
pub const IOCB_FLAG_RESFD: u32 = 1;
pub const IOCB_FLAG_IOPRIO: u32 = 2;
/// RWF_HIPRI, DSYNC, SYNC, NOWAIT, APPEND.
const RWF_SUPPORTED: u32 = 0x1f;
const RWF_NOWAIT: u32 = 0x8;

/// A poll request not ready yet.
#[derive(Clone, Debug)]
pub struct AioPoll {
    pub fd: i32,
    pub events: u32,
    pub data: u64,
    pub obj: u64,
    pub resfd: Option<Rc<RefCell<OpenFile>>>,
}

/// An AIO context of the process.
#[derive(Clone, Debug)]
pub struct AioCtx {
    /// The ring's address (the context's id) and size.
    pub ring: u64,
    pub size: u64,
    /// Events the ring holds (Linux's nr_events), what io_setup asked.
    pub nr: u32,
    pub max_reqs: u32,
    /// Where the next event goes (the ring's tail, which we alone write).
    pub tail: u32,
    pub polls: Vec<AioPoll>,
}

/// The ring's events for io_setup's `nr` (Linux's ioctx_alloc on `cpus`
/// CPUs: at least 4 a CPU, doubled; the pages' room): (events, bytes), or
/// the errno.
pub fn ring_size(nr: u32, cpus: u32, max_nr: u64) -> Result<(u32, u64), Errno> {
    let n = nr.max(cpus * 4).wrapping_mul(2);
    if n as u64 > 0x1000_0000 / EVENT_SIZE {
        return Err(Errno::EINVAL);
    }
    if n == 0 || nr as u64 > max_nr {
        return Err(Errno::EAGAIN);
    }
    let size = (RING_HEADER + n as u64 * EVENT_SIZE).div_ceil(PAGE) * PAGE;
    Ok((((size - RING_HEADER) / EVENT_SIZE) as u32, size))
}

/// `struct io_event`.
fn event(data: u64, obj: u64, res: i64) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&data.to_le_bytes());
    b[8..16].copy_from_slice(&obj.to_le_bytes());
    b[16..24].copy_from_slice(&res.to_le_bytes());
    b
}

impl Process {
    fn actx(&self, ctx: u64) -> Result<&AioCtx, Errno> {
        self.aio.iter().find(|c| c.ring == ctx).ok_or(Errno::EINVAL)
    }

    fn actx_mut(&mut self, ctx: u64) -> Result<&mut AioCtx, Errno> {
        self.aio.iter_mut().find(|c| c.ring == ctx).ok_or(Errno::EINVAL)
    }

    fn word_at(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<u64, Errno> {
        let b = self.read_user(h, abi, addr, abi.word())?;
        Ok(get_word(abi, &b))
    }

    pub(crate) fn sys_io_setup(&mut self, h: &mut dyn Host, abi: Abi, nr: u32, ctxp: u64) -> SysResult {
        let ctx = self.word_at(h, abi, ctxp)?;
        if ctx != 0 || nr == 0 {
            return Err(Errno::EINVAL);
        }
        let max_nr = self.job.tunables.aio_max_nr;
        let (events, size) = ring_size(nr, self.node.cpus.max(1) as u32, max_nr)?;
        if self.job.aio_nr + nr as u64 > max_nr {
            return Err(Errno::EAGAIN);
        }
        let ring = self.sys_mmap(h, abi, 0, size, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
        let id = self.aio.len() as u32;
        let mut head = Vec::with_capacity(32);
        for w in [id, events, 0, 0, AIO_RING_MAGIC, 1, 0, RING_HEADER as u32] {
            head.extend_from_slice(&w.to_le_bytes());
        }
        let put = self.write_user(h, abi, ring, &head).and_then(|_| {
            let w = abi.word();
            self.write_user(h, abi, ctxp, &ring.to_le_bytes()[..w])
        });
        if let Err(e) = put {
            let _ = self.sys_munmap(h, abi, ring, size);
            return Err(e);
        }
        self.job.aio_nr += nr as u64;
        self.aio.push(AioCtx { ring, size, nr: events, max_reqs: nr, tail: 0, polls: Vec::new() });
        Ok(0)
    }

    pub(crate) fn sys_io_destroy(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64) -> SysResult {
        let at = self.aio.iter().position(|c| c.ring == ctx).ok_or(Errno::EINVAL)?;
        let c = self.aio.remove(at);
        self.job.aio_nr = self.job.aio_nr.saturating_sub(c.max_reqs as u64);
        let _ = self.sys_munmap(h, abi, c.ring, c.size);
        Ok(0)
    }

    /// The process's contexts end (exec, exit).
    pub(crate) fn aio_exit(&mut self) {
        let total: u64 = self.aio.iter().map(|c| c.max_reqs as u64).sum();
        self.job.aio_nr = self.job.aio_nr.saturating_sub(total);
        self.aio = Vec::new();
    }

    /// The ring's head, as the program may have moved it.
    fn aio_head(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64) -> Result<u32, Errno> {
        let nr = self.actx(ctx)?.nr;
        let b = self.read_user(h, abi, ctx + 8, 4)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap()) % nr)
    }

    /// An event into the ring (Linux's aio_complete), and 1 to the eventfd.
    fn aio_complete(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64, ev: [u8; 32], resfd: Option<Rc<RefCell<OpenFile>>>) -> Result<(), Errno> {
        let c = self.actx(ctx)?;
        let (tail, nr) = (c.tail, c.nr);
        self.write_user(h, abi, ctx + RING_HEADER + tail as u64 * EVENT_SIZE, &ev)?;
        let next = (tail + 1) % nr;
        self.write_user(h, abi, ctx + 12, &next.to_le_bytes())?;
        if let Ok(c) = self.actx_mut(ctx) {
            c.tail = next;
        }
        if let Some(f) = resfd {
            if let Obj::EventFd(id) = f.borrow().obj {
                if let Some(e) = self.job.eventfds.get_mut(&id) {
                    // Linux's eventfd_signal: up to the all-ones value.
                    e.count = e.count.saturating_add(1);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn sys_io_submit(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64, nr: i64, iocbpp: u64) -> SysResult {
        if nr < 0 {
            return Err(Errno::EINVAL);
        }
        let ring_nr = self.actx(ctx)?.nr;
        let nr = (nr as u64).min(ring_nr as u64);
        let mut done = 0u64;
        let mut err = None;
        for i in 0..nr {
            let r = self.word_at(h, abi, iocbpp + i * abi.word() as u64).and_then(|p| self.aio_submit_one(h, abi, ctx, p));
            match r {
                Ok(()) => done += 1,
                // A read or write that must wait (a pipe, a socket): the call
                // waits for it if it is the first, else ends before it.
                Err(e) if e == BLOCK && done > 0 => {
                    self.pending = None;
                    break;
                }
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        match (done, err) {
            (0, Some(e)) => Err(e),
            (n, _) => Ok(n),
        }
    }

    fn aio_submit_one(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64, user: u64) -> Result<(), Errno> {
        let b = self.read_user(h, abi, user, IOCB_SIZE)?;
        let le = |at: usize, n: usize| b[at..at + n].iter().rev().fold(0u64, |a, &x| a << 8 | x as u64);
        let (data, rw_flags, opcode, fd, buf, nbytes, offset, reserved2, flags, resfd) =
            (le(0, 8), le(12, 4) as u32, le(16, 2) as u16, le(20, 4) as u32 as i32, le(24, 8), le(32, 8), le(40, 8) as i64, le(48, 8), le(56, 4) as u32, le(60, 4) as u32);
        if reserved2 != 0 {
            return Err(Errno::EINVAL);
        }
        let narrow = abi == Abi::I386 && (buf > u32::MAX as u64 || nbytes > u32::MAX as u64);
        if narrow || (nbytes as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        // A free slot: the ring keeps one empty.
        let head = self.aio_head(h, abi, ctx)?;
        let c = self.actx(ctx)?;
        let queued = (c.tail + c.nr - head) % c.nr + c.polls.len() as u32;
        if queued + 1 >= c.nr {
            return Err(Errno::EAGAIN);
        }
        let file = self.file(fd as u32 as u64)?;
        let resfd = if flags & IOCB_FLAG_RESFD != 0 {
            let f = self.file(resfd as u64)?;
            if !matches!(f.borrow().obj, Obj::EventFd(_)) {
                return Err(Errno::EINVAL);
            }
            Some(f)
        } else {
            None
        };
        self.write_user(h, abi, user + 8, &KIOCB_KEY.to_le_bytes())?;
        let res: i64 = match opcode {
            IOCB_CMD_PREAD | IOCB_CMD_PWRITE | IOCB_CMD_PREADV | IOCB_CMD_PWRITEV => {
                if rw_flags & !RWF_SUPPORTED != 0 {
                    return Err(Errno::EOPNOTSUPP);
                }
                let read = matches!(opcode, IOCB_CMD_PREAD | IOCB_CMD_PREADV);
                let f = file.borrow();
                if (read && !f.readable()) || (!read && !f.writable()) {
                    return Err(Errno::EBADF);
                }
                // Files have an offset; streams (pipes, sockets) do not use one.
                let node = matches!(f.obj, Obj::Node(_));
                let at = node.then_some(offset as u64);
                drop(f);
                // RWF_NOWAIT: what can wait (pipes, sockets) answers EAGAIN
                // instead; tmpfs files cannot say (EOPNOTSUPP, as Linux 6.1).
                let nowait = rw_flags & RWF_NOWAIT != 0;
                if nowait && node {
                    return Err(Errno::EOPNOTSUPP);
                }
                let iov = if matches!(opcode, IOCB_CMD_PREADV | IOCB_CMD_PWRITEV) { self.iov_list(h, abi, buf, nbytes)? } else { vec![(buf, nbytes)] };
                let was = file.borrow().flags;
                if nowait {
                    file.borrow_mut().flags |= super::files::O_NONBLOCK;
                }
                let r = if read { self.read_file(h, abi, fd as u32 as u64, iov, at) } else { self.write_file(h, abi, fd as u32 as u64, iov, at) };
                if nowait {
                    let mut f = file.borrow_mut();
                    f.flags = (f.flags & !super::files::O_NONBLOCK) | (was & super::files::O_NONBLOCK);
                }
                match r {
                    Ok(n) => n as i64,
                    Err(e) if e == BLOCK => return Err(e),
                    Err(e) => -(e.0 as i64),
                }
            }
            IOCB_CMD_FSYNC | IOCB_CMD_FDSYNC => {
                if buf != 0 || offset != 0 || nbytes != 0 || rw_flags != 0 {
                    return Err(Errno::EINVAL);
                }
                // What Linux syncs (files, directories, block devices): 0;
                // what has no fsync: EINVAL at submission.
                match file.borrow().obj {
                    Obj::Node(ino) if matches!(self.job.vfs.node(ino).data, sion_vfs::Data::Reg(_) | sion_vfs::Data::Dir(_) | sion_vfs::Data::Blk(_)) => 0,
                    _ => return Err(Errno::EINVAL),
                }
            }
            IOCB_CMD_POLL => {
                if buf > u16::MAX as u64 || offset != 0 || nbytes != 0 || rw_flags != 0 {
                    return Err(Errno::EINVAL);
                }
                let events = buf as u32 | 0x18;
                let c = self.actx_mut(ctx)?;
                c.polls.push(AioPoll { fd, events, data, obj: user, resfd });
                self.aio_polls(h, abi, ctx);
                return Ok(());
            }
            _ => return Err(Errno::EINVAL),
        };
        self.aio_complete(h, abi, ctx, event(data, user, res), resfd)
    }

    /// Poll requests whose files are ready now complete.
    fn aio_polls(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64) {
        let Ok(c) = self.actx(ctx) else { return };
        let polls = c.polls.clone();
        let mut left = Vec::new();
        for p in polls {
            let Some((r, w)) = self.ready(p.fd) else {
                left.push(p);
                continue;
            };
            let mut mask = self.hangup(p.fd) as u32;
            if r {
                mask |= 0x41;
            }
            if w {
                mask |= 0x104;
            }
            let mask = mask & p.events;
            if mask == 0 {
                left.push(p);
                continue;
            }
            if let Ok(c) = self.actx_mut(ctx) {
                c.polls = left.clone();
            }
            let _ = self.aio_complete(h, abi, ctx, event(p.data, p.obj, mask as i64), p.resfd.clone());
        }
        if let Ok(c) = self.actx_mut(ctx) {
            c.polls = left;
        }
    }

    /// io_getevents and io_pgetevents: at least `min_nr` events (waiting up
    /// to `timeout` ns, None: for ever), at most `nr`, into `events`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_io_getevents(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64, min_nr: i64, nr: i64, events: u64, timeout: Option<u64>) -> SysResult {
        if self.actx(ctx).is_err() || min_nr > nr || min_nr < 0 {
            return Err(Errno::EINVAL);
        }
        self.aio_polls(h, abi, ctx);
        let head = self.aio_head(h, abi, ctx)?;
        let c = self.actx(ctx)?;
        let (tail, ring_nr) = (c.tail, c.nr);
        let avail = ((tail + ring_nr - head) % ring_nr) as i64;
        if avail < min_nr && timeout != Some(0) {
            let deadline = timeout.map(|t| h.now_ns().saturating_add(t));
            self.pending = Some(Pending::Wait { call: super::files::WaitCall::Aio { abi, ctx, min_nr, nr, events }, deadline });
            return Err(BLOCK);
        }
        let n = avail.min(nr).max(0) as u32;
        let mut out = Vec::with_capacity(n as usize * EVENT_SIZE as usize);
        for i in 0..n {
            let at = ctx + RING_HEADER + ((head + i) % ring_nr) as u64 * EVENT_SIZE;
            out.extend_from_slice(&self.read_user(h, abi, at, EVENT_SIZE as usize)?);
        }
        if n > 0 {
            self.write_user(h, abi, events, &out)?;
            self.write_user(h, abi, ctx + 8, &((head + n) % ring_nr).to_le_bytes())?;
        }
        Ok(n as u64)
    }

    /// A waiting io_getevents looks again: None while too few events and
    /// before the deadline.
    pub(in crate::process) fn aio_retry(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64, min_nr: i64, nr: i64, events: u64, expired: bool) -> Option<SysResult> {
        let Ok(_) = self.actx(ctx) else { return Some(Err(Errno::EINVAL)) };
        self.aio_polls(h, abi, ctx);
        let head = self.aio_head(h, abi, ctx).ok()?;
        let c = self.actx(ctx).ok()?;
        let avail = ((c.tail + c.nr - head) % c.nr) as i64;
        if avail < min_nr && !expired {
            return None;
        }
        let saved = self.pending.take();
        let r = self.sys_io_getevents(h, abi, ctx, min_nr, nr, events, Some(0));
        self.pending = saved;
        Some(r)
    }

    /// io_cancel: a poll request not completed yet completes with 0
    /// (EINPROGRESS); anything else has completed (EINVAL).
    pub(crate) fn sys_io_cancel(&mut self, h: &mut dyn Host, abi: Abi, ctx: u64, iocb: u64, _result: u64) -> SysResult {
        let b = self.read_user(h, abi, iocb + 8, 4)?;
        if u32::from_le_bytes(b.try_into().unwrap()) != KIOCB_KEY {
            return Err(Errno::EINVAL);
        }
        let c = self.actx_mut(ctx)?;
        let Some(at) = c.polls.iter().position(|p| p.obj == iocb) else { return Err(Errno::EINVAL) };
        let p = c.polls.remove(at);
        self.aio_complete(h, abi, ctx, event(p.data, p.obj, 0), p.resfd)?;
        Err(Errno::EINPROGRESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_sizes_as_linux() {
        // One event asked on one CPU: 8, in one page: 127 fit.
        assert_eq!(ring_size(1, 1, 65536), Ok((127, 4096)));
        assert_eq!(ring_size(u32::MAX, 1, 65536), Err(Errno::EINVAL));
        assert_eq!(ring_size(65537, 1, 65536), Err(Errno::EAGAIN));
        assert_eq!(ring_size(200, 1, 65536), Ok((511, 16384)));
    }
}
