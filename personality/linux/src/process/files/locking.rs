//! The lock calls on a descriptor: `fcntl`'s record locks (F_GETLK,
//! F_SETLK, F_SETLKW, their 64-bit i386 forms and the F_OFD_* ones) and
//! `flock`, decoded here and kept in the job's lock table
//! ([`crate::locks::Locks`], `JobState::locks`), which every process of the
//! job shares. A lock that must wait is a deferred reply
//! ([`Process::block_retry`]): the call runs again after anything in the
//! job changed (an unlock, a close, an exit), with the request it decoded
//! the first time; a signal with a handler ends it with EINTR (or restarts
//! it with SA_RESTART).
//!
//! Locks are kept for what has an inode (files, directories, devices,
//! FIFOs); on a pipe, a socket or the console streams they are granted and
//! not kept.

use super::*;
use crate::locks::{range_of, FlockOp, Owner, RecordLock, Wait, F_RDLCK, F_UNLCK, F_WRLCK};

/// `flock` operations.
const LOCK_SH: u32 = 1;
const LOCK_EX: u32 = 2;
const LOCK_NB: u32 = 4;
const LOCK_UN: u32 = 8;
const LOCK_MAND: u32 = 32;

/// The identity of an open file description (the owner of its OFD and
/// flock locks): where it lives, which stays put while it is referenced;
/// its locks go when its last reference is released.
pub(crate) fn description_id(f: &Rc<RefCell<OpenFile>>) -> u64 {
    Rc::as_ptr(f) as *const u8 as usize as u64
}

/// The layout of a `struct flock` for an ABI and command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// x86_64 `struct flock` (= flock64): 32 bytes.
    X86_64,
    /// i386 `struct flock` with 32-bit offsets: 16 bytes.
    I386,
    /// i386 `struct flock64` (packed): 24 bytes.
    I386_64,
}

impl Layout {
    fn size(self) -> usize {
        match self {
            Layout::X86_64 => 32,
            Layout::I386 => 16,
            Layout::I386_64 => 24,
        }
    }
    /// Offsets of l_start, l_len, l_pid and the width of the first two.
    fn fields(self) -> (usize, usize, usize, usize) {
        match self {
            Layout::X86_64 => (8, 16, 24, 8),
            Layout::I386 => (4, 8, 12, 4),
            Layout::I386_64 => (4, 12, 20, 8),
        }
    }
}

fn get_int(b: &[u8], at: usize, width: usize) -> i64 {
    if width == 8 {
        i64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    } else {
        i32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as i64
    }
}

fn put_int(b: &mut [u8], at: usize, width: usize, v: i64) {
    if width == 8 {
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    } else {
        b[at..at + 4].copy_from_slice(&(v as i32).to_le_bytes());
    }
}

impl Process {
    /// What a descriptor's locks are kept under: its inode, if it has one.
    fn lock_ino(&self, f: &Rc<RefCell<OpenFile>>) -> Option<Ino> {
        let obj = f.borrow().obj;
        obj.with(|k| k.inode(self))
    }

    /// A descriptor of the process closes: its POSIX locks on the file go,
    /// whichever descriptor took them.
    pub(super) fn drop_posix_locks(&mut self, f: &Rc<RefCell<OpenFile>>) {
        if self.job.locks.is_empty() {
            return;
        }
        if let Some(ino) = self.lock_ino(f) {
            self.job.locks.close_posix(ino, self.pid);
        }
    }

    /// fcntl's lock commands.
    pub(super) fn fcntl_lock(&mut self, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, cmd: u32, arg: u64) -> SysResult {
        let layout = match (abi, cmd) {
            (Abi::I386, F_GETLK | F_SETLK | F_SETLKW) => Layout::I386,
            (Abi::I386, _) => Layout::I386_64,
            _ => Layout::X86_64,
        };
        let get = matches!(cmd, F_GETLK | F_GETLK64 | F_OFD_GETLK);
        let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
        let wait = matches!(cmd, F_SETLKW | F_SETLKW64 | F_OFD_SETLKW);
        let owner = if ofd { Owner::File(description_id(f)) } else { Owner::Process(self.pid) };
        let ino = self.lock_ino(f);
        // A call that waited runs again with the request it decoded then.
        let before = self.job.locks.take_wait(self.pid, self.tid);
        if let (true, Some(ino), Some(Wait::Record(wino, req))) = (wait, ino, before) {
            if wino == ino && req.owner == owner {
                return self.set_record_lock(ino, req, true);
            }
        }
        let mut b = self.read_user(h, abi, arg, layout.size())?;
        let ltype = u16::from_le_bytes([b[0], b[1]]);
        let whence = u16::from_le_bytes([b[2], b[3]]);
        let (s_at, l_at, p_at, width) = layout.fields();
        let (l_start, l_len) = (get_int(&b, s_at, width), get_int(&b, l_at, width));
        let l_pid = i32::from_le_bytes(b[p_at..p_at + 4].try_into().unwrap());
        if get && !ofd && ltype != F_RDLCK && ltype != F_WRLCK {
            return Err(Errno::EINVAL);
        }
        let (pos, size) = (f.borrow().off, ino.map_or(0, |i| self.job.vfs.node(i).size()));
        let (start, end) = range_of(whence, l_start, l_len, pos, size)?;
        if ltype > F_UNLCK {
            return Err(Errno::EINVAL);
        }
        if !get {
            let acc = f.borrow().flags & O_ACCMODE;
            let readable = acc == 0 || acc == O_RDWR;
            let writable = acc == O_WRONLY || acc == O_RDWR;
            if (ltype == F_RDLCK && !readable) || (ltype == F_WRLCK && !writable) {
                return Err(Errno::EBADF);
            }
        }
        if ofd && l_pid != 0 {
            return Err(Errno::EINVAL);
        }
        let req = RecordLock { owner, ltype, start, end };
        let Some(ino) = ino else {
            // Nothing to keep them under: granted, and nothing in the way.
            if get {
                b[0..2].copy_from_slice(&F_UNLCK.to_le_bytes());
                self.write_user(h, abi, arg, &b)?;
            }
            return Ok(0);
        };
        if !get {
            return self.set_record_lock(ino, req, wait);
        }
        match self.job.locks.test(ino, &req) {
            None => b[0..2].copy_from_slice(&F_UNLCK.to_le_bytes()),
            Some(l) => {
                if layout == Layout::I386 && (l.start > i32::MAX as u64 || (l.end != crate::locks::OFFSET_MAX && l.end > i32::MAX as u64)) {
                    return Err(Errno::EOVERFLOW);
                }
                b[0..2].copy_from_slice(&l.ltype.to_le_bytes());
                b[2..4].copy_from_slice(&0u16.to_le_bytes());
                put_int(&mut b, s_at, width, l.start as i64);
                put_int(&mut b, l_at, width, l.l_len());
                b[p_at..p_at + 4].copy_from_slice(&l.owner.l_pid().to_le_bytes());
            }
        }
        self.write_user(h, abi, arg, &b).map(|_| 0)
    }

    fn set_record_lock(&mut self, ino: Ino, req: RecordLock, wait: bool) -> SysResult {
        let Err(blocker) = self.job.locks.set(ino, req) else { return Ok(0) };
        if !wait {
            return Err(Errno::EAGAIN);
        }
        if matches!(req.owner, Owner::Process(_)) && self.job.locks.deadlock(self.pid, &blocker) {
            return Err(Errno::EDEADLK);
        }
        self.job.locks.wait(self.pid, self.tid, Wait::Record(ino, req));
        self.block_retry()
    }

    /// flock(2).
    pub(crate) fn sys_flock(&mut self, fd: u64, op: u32) -> SysResult {
        // LOCK_MAND is obsolete: Linux ignores the request and succeeds.
        if op & LOCK_MAND != 0 {
            return Ok(0);
        }
        let what = match op & !LOCK_NB {
            LOCK_SH => FlockOp::Shared,
            LOCK_EX => FlockOp::Exclusive,
            LOCK_UN => FlockOp::Unlock,
            _ => return Err(Errno::EINVAL),
        };
        let f = self.io_file(fd)?;
        let acc = f.borrow().flags & O_ACCMODE;
        if what != FlockOp::Unlock && acc == 3 {
            return Err(Errno::EBADF);
        }
        let _ = self.job.locks.take_wait(self.pid, self.tid);
        let Some(ino) = self.lock_ino(&f) else { return Ok(0) };
        let id = description_id(&f);
        if self.job.locks.flock(ino, id, what).is_ok() {
            return Ok(0);
        }
        if op & LOCK_NB != 0 {
            return Err(Errno::EAGAIN);
        }
        self.job.locks.wait(self.pid, self.tid, Wait::Flock(ino, id, what));
        self.block_retry()
    }

    /// F_SETLEASE and F_GETLEASE: leases of regular files the caller owns
    /// (or any, for root), owned by the open file description; the holder
    /// is sent SIGIO when an open that conflicts starts its break.
    pub(super) fn fcntl_lease(&mut self, f: &Rc<RefCell<OpenFile>>, cmd: u32, arg: u64) -> SysResult {
        let ino = self.lock_ino(f);
        let id = description_id(f);
        if cmd == F_GETLEASE {
            return Ok(ino.map_or(F_UNLCK, |i| self.job.locks.get_lease(i, id)) as u64);
        }
        let Some(ino) = ino else { return Err(Errno::EINVAL) };
        let n = self.job.vfs.node(ino);
        if n.uid != self.files.cred.uid && self.files.cred.uid != 0 {
            return Err(Errno::EACCES);
        }
        if !n.is_reg() {
            return Err(Errno::EINVAL);
        }
        let ltype = match arg as u32 {
            0 => F_RDLCK,
            1 => F_WRLCK,
            2 => F_UNLCK,
            _ => return Err(Errno::EINVAL),
        };
        let (read, write) = (f.borrow().readable(), f.borrow().writable());
        self.job.locks.set_lease(ino, id, self.pid, ltype, read, write)?;
        Ok(0)
    }

    /// An open (`write`: for writing) or a truncate of regular file `ino`
    /// meets its leases: the holders of leases in the way are signalled
    /// and the call waits (a deferred reply, looked at again after any
    /// change and when the break times out), or is EWOULDBLOCK with
    /// O_NONBLOCK. Linux's `break_lease`.
    pub(in crate::process) fn break_leases(&mut self, h: &mut dyn Host, ino: Ino, write: bool, nonblock: bool) -> Result<(), Errno> {
        let now = h.now_ns();
        match self.job.locks.break_leases(ino, write, now, self.job.tunables.lease_break_time.saturating_mul(1_000_000_000)) {
            crate::locks::Break::Go => Ok(()),
            crate::locks::Break::Wait(signal) => {
                self.job.locks.sigio.extend(signal);
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                self.block_retry().map(|_| ())
            }
        }
    }
}
