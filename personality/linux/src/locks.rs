//! File locks as Linux keeps them (`fs/locks.c`), for all the processes of
//! a job, which live in this one server: POSIX record locks (`fcntl`
//! F_SETLK/F_SETLKW/F_GETLK), open-file-description record locks (F_OFD_*)
//! and `flock` locks, kept per inode. Pure: no memory of any process, no
//! host; the descriptor layer (`process/files/fd.rs`) decodes the calls and
//! turns "would block" into a deferred reply.
//!
//! - A record lock is a byte range (inclusive, `OFFSET_MAX` for "to the end
//!   of the file, whatever it grows to") of one type, read or write, held by
//!   an [`Owner`]: a process (POSIX locks, shared by its threads, not
//!   inherited by fork) or an open file description (OFD locks, shared by
//!   every descriptor and process that holds the description). Locks of one
//!   owner never overlap: a new lock replaces what its range covers, splits
//!   a lock it lands inside, and merges with adjacent or overlapping locks of
//!   the same type. Locks of different owners conflict when they overlap and
//!   one of them is a write lock; POSIX and OFD locks are different owners
//!   even in one process.
//! - The locks of an inode are kept in Linux's order (each owner's locks
//!   together, sorted by start, owners in the order they first locked), so
//!   F_GETLK reports the conflicting lock Linux would report first.
//! - `flock` locks (shared or exclusive) are owned by an open file
//!   description and are independent of record locks; converting one drops
//!   the old lock first, as Linux does (not atomic).
//! - Waits: a call that must wait (F_SETLKW, F_OFD_SETLKW, `flock` without
//!   LOCK_NB) is recorded by thread ([`Locks::wait`]) with its decoded
//!   request, so that it runs again with the same range and so that a POSIX
//!   wait can find a deadlock: `EDEADLK` when the owner holding the lock a
//!   process waits for is itself waiting, through a chain of POSIX waits, for
//!   a lock of that process (Linux's `posix_locks_deadlock`, at most 10
//!   steps; OFD waits take no part).

use crate::errno::Errno;
use sion_vecmap::VecMap;
use alloc::vec::Vec;

pub type Ino = u64;

/// The last byte a lock may cover (Linux's `OFFSET_MAX`).
pub const OFFSET_MAX: u64 = i64::MAX as u64;

/// `l_type` values.
pub const F_RDLCK: u16 = 0;
pub const F_WRLCK: u16 = 1;
pub const F_UNLCK: u16 = 2;

/// Linux's `MAX_DEADLK_ITERATIONS`.
const MAX_DEADLOCK_STEPS: usize = 10;

/// Who holds a record lock.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Owner {
    /// A POSIX lock: the process (thread group) id.
    Process(u32),
    /// An OFD lock: the open file description.
    File(u64),
}

impl Owner {
    /// `l_pid` as F_GETLK reports it: the process, or -1 for an OFD lock.
    pub fn l_pid(self) -> i32 {
        match self {
            Owner::Process(p) => p as i32,
            Owner::File(_) => -1,
        }
    }
}

/// A record lock held, or asked for (`ltype` F_UNLCK only in a request).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RecordLock {
    pub owner: Owner,
    pub ltype: u16,
    /// First and last byte, inclusive.
    pub start: u64,
    pub end: u64,
}

impl RecordLock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }

    /// Whether `self` (held) stops request `r`: another owner, an overlap,
    /// and a write lock on either side (F_UNLCK, only F_OFD_GETLK's, is
    /// stopped by any lock, as Linux 6.3 on).
    fn conflicts(&self, r: &RecordLock) -> bool {
        self.owner != r.owner && self.overlaps(r.start, r.end) && (r.ltype != F_RDLCK || self.ltype == F_WRLCK)
    }

    /// `l_len` as F_GETLK reports it (0: to the end of the file).
    pub fn l_len(&self) -> i64 {
        if self.end == OFFSET_MAX {
            0
        } else {
            (self.end - self.start + 1) as i64
        }
    }
}

/// The range `l_whence`, `l_start`, `l_len` name (Linux's
/// `flock64_to_posix_lock`): `pos` is the description's offset (SEEK_CUR),
/// `size` the file's size (SEEK_END). `l_len` 0 is to the end of the file,
/// a negative `l_len` the bytes before `l_start`.
pub fn range_of(whence: u16, l_start: i64, l_len: i64, pos: u64, size: u64) -> Result<(u64, u64), Errno> {
    let base = match whence {
        0 => 0i64,
        1 => pos as i64,
        2 => size as i64,
        _ => return Err(Errno::EINVAL),
    };
    if l_start > i64::MAX - base {
        return Err(Errno::EOVERFLOW);
    }
    let mut start = base + l_start;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let end;
    if l_len > 0 {
        if l_len - 1 > i64::MAX - start {
            return Err(Errno::EOVERFLOW);
        }
        end = start + (l_len - 1);
    } else if l_len < 0 {
        if start + l_len < 0 {
            return Err(Errno::EINVAL);
        }
        end = start - 1;
        start += l_len;
    } else {
        end = i64::MAX;
    }
    Ok((start as u64, end as u64))
}

/// A `flock` lock: its open file description and whether it is exclusive.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FlockLock {
    pub file: u64,
    pub exclusive: bool,
}

/// What `flock` asks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FlockOp {
    Shared,
    Exclusive,
    Unlock,
}

/// A lease (`F_SETLEASE`) of an open file description.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Lease {
    pub file: u64,
    /// The process that set it, which a break signals.
    pub pid: u32,
    /// F_RDLCK or F_WRLCK.
    pub ltype: u16,
    /// A break is pending: what the lease must become (F_RDLCK or
    /// F_UNLCK) and by when (monotonic ns), after which it becomes that.
    pub breaking: Option<(u16, u64)>,
}

#[derive(Default, Debug)]
struct FileLocks {
    records: Vec<RecordLock>,
    flocks: Vec<FlockLock>,
    leases: Vec<Lease>,
}

impl FileLocks {
    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.flocks.is_empty() && self.leases.is_empty()
    }
}

/// How long a lease holder has to give way (Linux's default
/// `/proc/sys/fs/lease-break-time`, 45 s).
pub const LEASE_BREAK_NS: u64 = 45_000_000_000;

/// Open file descriptions of an inode (not O_PATH): read-only ones and
/// those open for writing (Linux's `i_readcount`, `i_writecount`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Opens {
    pub readers: u32,
    pub writers: u32,
}

/// What an open (or truncate) must do about the leases of its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// Nothing in the way.
    Go,
    /// Leases in the way: wait (or EWOULDBLOCK); the processes to signal
    /// (SIGIO) for leases whose break starts now.
    Wait(Vec<u32>),
}

/// A thread's call waiting for a lock: the inode and the request as it was
/// decoded (a record request, or a `flock` one).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    Record(Ino, RecordLock),
    Flock(Ino, u64, FlockOp),
}

/// The locks of a job.
#[derive(Default, Debug)]
pub struct Locks {
    files: VecMap<Ino, FileLocks>,
    /// Calls waiting, by (pid, tid).
    waits: VecMap<(u32, u32), Wait>,
    /// Open descriptions of inodes that have any (leases look at them).
    opens: VecMap<Ino, Opens>,
    /// Inodes with leases.
    leased: usize,
    /// Processes to send SIGIO: their lease is being broken (the process
    /// table sends them after the call).
    pub sigio: Vec<u32>,
}

impl Locks {
    pub fn new() -> Locks {
        Locks::default()
    }

    /// The first lock that stops `req` (F_GETLK), in Linux's order.
    pub fn test(&self, ino: Ino, req: &RecordLock) -> Option<RecordLock> {
        self.files.get(&ino)?.records.iter().find(|l| l.conflicts(req)).copied()
    }

    /// Set, change or remove (F_UNLCK) the owner's locks over the request's
    /// range. A conflict leaves everything as it was and gives the lock in
    /// the way.
    pub fn set(&mut self, ino: Ino, req: RecordLock) -> Result<(), RecordLock> {
        if req.ltype != F_UNLCK {
            if let Some(l) = self.test(ino, &req) {
                return Err(l);
            }
        }
        let fl = self.files.entry(ino).or_default();
        let at = fl.records.iter().position(|l| l.owner == req.owner);
        let mut mine: Vec<RecordLock> = Vec::new();
        let mut others: Vec<RecordLock> = Vec::with_capacity(fl.records.len());
        for l in fl.records.drain(..) {
            if l.owner == req.owner {
                mine.push(l);
            } else {
                others.push(l);
            }
        }
        let (mut start, mut end) = (req.start, req.end);
        let mut kept: Vec<RecordLock> = Vec::with_capacity(mine.len() + 2);
        for l in mine {
            let adjacent = l.end.saturating_add(1) >= start && end.saturating_add(1) >= l.start;
            if req.ltype != F_UNLCK && l.ltype == req.ltype && adjacent {
                // Same type, touching or overlapping: one lock.
                start = start.min(l.start);
                end = end.max(l.end);
            } else if l.overlaps(req.start, req.end) {
                // What lies outside the request stays, as one or two locks.
                if l.start < req.start {
                    kept.push(RecordLock { end: req.start - 1, ..l });
                }
                if l.end > req.end {
                    kept.push(RecordLock { start: req.end + 1, ..l });
                }
            } else {
                kept.push(l);
            }
        }
        if req.ltype != F_UNLCK {
            kept.push(RecordLock { start, end, ..req });
        }
        kept.sort_by_key(|l| l.start);
        // The owner's locks stay where its first one was, or go last.
        let at = at.unwrap_or(others.len()).min(others.len());
        others.splice(at..at, kept);
        fl.records = others;
        if fl.is_empty() {
            self.files.remove(&ino);
        }
        Ok(())
    }

    /// Whether process `pid`, about to wait for `blocker`, would wait for
    /// itself: the blocker's owner waits (through a chain of POSIX waits)
    /// for a lock of `pid`.
    pub fn deadlock(&self, pid: u32, blocker: &RecordLock) -> bool {
        let mut owner = blocker.owner;
        for _ in 0..MAX_DEADLOCK_STEPS {
            let Owner::Process(holder) = owner else { return false };
            // What the holder (any of its threads) waits for now.
            let next = self.waits.iter().filter(|((p, _), _)| *p == holder).find_map(|(_, w)| match w {
                Wait::Record(ino, r) if matches!(r.owner, Owner::Process(_)) => self.test(*ino, r),
                _ => None,
            });
            let Some(next) = next else { return false };
            if next.owner == Owner::Process(pid) {
                return true;
            }
            owner = next.owner;
        }
        false
    }

    /// Take `flock` lock `op` for description `file`. An existing lock of
    /// the description of the other kind goes first (even when the new one
    /// cannot be had, as Linux); `Err(())` when another description's lock
    /// is in the way.
    pub fn flock(&mut self, ino: Ino, file: u64, op: FlockOp) -> Result<(), ()> {
        let fl = self.files.entry(ino).or_default();
        let want = match op {
            FlockOp::Shared => Some(false),
            FlockOp::Exclusive => Some(true),
            FlockOp::Unlock => None,
        };
        let r = (|| {
            if let Some(i) = fl.flocks.iter().position(|l| l.file == file) {
                if Some(fl.flocks[i].exclusive) == want {
                    return Ok(());
                }
                fl.flocks.remove(i);
            }
            let Some(exclusive) = want else { return Ok(()) };
            if fl.flocks.iter().any(|l| l.file != file && (exclusive || l.exclusive)) {
                return Err(());
            }
            fl.flocks.push(FlockLock { file, exclusive });
            Ok(())
        })();
        if fl.is_empty() {
            self.files.remove(&ino);
        }
        r
    }

    /// A process closed a descriptor of `ino`: its POSIX locks on it go
    /// (any descriptor, as POSIX says).
    pub fn close_posix(&mut self, ino: Ino, pid: u32) {
        if let Some(fl) = self.files.get_mut(&ino) {
            fl.records.retain(|l| l.owner != Owner::Process(pid));
            if fl.is_empty() {
                self.files.remove(&ino);
            }
        }
    }

    /// The last reference to open file description `file` of `ino` went:
    /// its OFD and `flock` locks and its lease go.
    pub fn release_file(&mut self, ino: Ino, file: u64) {
        if let Some(fl) = self.files.get_mut(&ino) {
            fl.records.retain(|l| l.owner != Owner::File(file));
            fl.flocks.retain(|l| l.file != file);
            let leases = fl.leases.len();
            fl.leases.retain(|l| l.file != file);
            let changed = fl.leases.len() != leases;
            if fl.is_empty() {
                self.files.remove(&ino);
            }
            if changed {
                self.recount_leased();
            }
        }
    }

    /// Process `pid` ended: its POSIX locks and its waits go.
    pub fn exit(&mut self, pid: u32) {
        self.files.retain(|_, fl| {
            fl.records.retain(|l| l.owner != Owner::Process(pid));
            !fl.is_empty()
        });
        self.waits.retain(|&(p, _), _| p != pid);
    }

    /// Thread (`pid`, `tid`) waits with request `w`.
    pub fn wait(&mut self, pid: u32, tid: u32, w: Wait) {
        self.waits.insert((pid, tid), w);
    }

    /// The wait of (`pid`, `tid`), taken (its call runs again).
    pub fn take_wait(&mut self, pid: u32, tid: u32) -> Option<Wait> {
        self.waits.remove(&(pid, tid))
    }

    /// The waits of a process (all its threads with `tid` None) end: a
    /// signal interrupted them, or the threads are gone.
    pub fn cancel(&mut self, pid: u32, tid: Option<u32>) {
        self.waits.retain(|&(p, t), _| p != pid || tid.is_some_and(|x| x != t));
    }

    /// A description of `ino` was opened (`read`/`write`: its access).
    pub fn opened(&mut self, ino: Ino, read: bool, write: bool) {
        let o = self.opens.entry(ino).or_default();
        if write {
            o.writers += 1;
        } else if read {
            o.readers += 1;
        }
    }

    /// ... and released.
    pub fn closed(&mut self, ino: Ino, read: bool, write: bool) {
        if let Some(o) = self.opens.get_mut(&ino) {
            if write {
                o.writers = o.writers.saturating_sub(1);
            } else if read {
                o.readers = o.readers.saturating_sub(1);
            }
            if *o == Opens::default() {
                self.opens.remove(&ino);
            }
        }
    }

    pub fn opens(&self, ino: Ino) -> Opens {
        self.opens.get(&ino).copied().unwrap_or_default()
    }

    /// F_SETLEASE of description `file` (open with `read`/`write`) of
    /// regular file `ino`, by process `pid` (Linux's `generic_setlease`):
    /// a read lease needs no description of the file open for writing, a
    /// write lease no other description at all; a write lease needs no
    /// other lease, and none is set over a lease being broken to F_UNLCK;
    /// F_UNLCK of no lease is EAGAIN.
    pub fn set_lease(&mut self, ino: Ino, file: u64, pid: u32, ltype: u16, read: bool, write: bool) -> Result<(), Errno> {
        let fl = self.files.entry(ino).or_default();
        let mine = fl.leases.iter().position(|l| l.file == file);
        let r = (|| {
            if ltype == F_UNLCK {
                fl.leases.remove(mine.ok_or(Errno::EAGAIN)?);
                return Ok(());
            }
            let o = self.opens.get(&ino).copied().unwrap_or_default();
            // A break to F_UNLCK stands for an open for writing on its way.
            let unlocking = fl.leases.iter().any(|l| matches!(l.breaking, Some((F_UNLCK, _))));
            let conflict = match ltype {
                F_RDLCK => o.writers > 0 || unlocking,
                _ => o.writers != write as u32 || o.readers != (read && !write) as u32 || fl.leases.iter().any(|l| l.file != file),
            };
            if conflict || fl.leases.iter().any(|l| l.file != file && matches!(l.breaking, Some((F_UNLCK, _)))) {
                return Err(Errno::EAGAIN);
            }
            match mine {
                Some(i) => {
                    let l = &mut fl.leases[i];
                    l.ltype = ltype;
                    // Giving way as a break asks ends the break.
                    if l.breaking.is_some_and(|(to, _)| to == F_RDLCK) {
                        l.breaking = None;
                    }
                }
                None => fl.leases.push(Lease { file, pid, ltype, breaking: None }),
            }
            Ok(())
        })();
        if fl.is_empty() {
            self.files.remove(&ino);
        }
        self.recount_leased();
        r
    }

    fn recount_leased(&mut self) {
        self.leased = self.files.values().filter(|f| !f.leases.is_empty()).count();
    }

    /// F_GETLEASE of description `file`: the lease's type, or what a
    /// pending break makes it; F_UNLCK without one.
    pub fn get_lease(&self, ino: Ino, file: u64) -> u16 {
        self.files.get(&ino).and_then(|f| f.leases.iter().find(|l| l.file == file)).map_or(F_UNLCK, |l| l.breaking.map_or(l.ltype, |(to, _)| to))
    }

    /// Whether any file has a lease (opens skip the rest when none has).
    pub fn any_leases(&self) -> bool {
        self.leased > 0
    }

    /// An open (`write`: for writing; a path truncate is one) of `ino` at
    /// `now` meets the leases (Linux's `__break_lease`): leases whose break
    /// time passed become what the break asked; a write lease stops any
    /// open, a read lease an open for writing; each lease in the way starts
    /// its break (to F_UNLCK for a writer, F_RDLCK for a reader), its
    /// holder to be signalled, once.
    pub fn break_leases(&mut self, ino: Ino, write: bool, now: u64, grace: u64) -> Break {
        let Some(fl) = self.files.get_mut(&ino) else { return Break::Go };
        if fl.leases.is_empty() {
            return Break::Go;
        }
        // Breaks that timed out take effect.
        fl.leases.retain_mut(|l| match l.breaking {
            Some((to, at)) if now >= at => {
                l.breaking = None;
                l.ltype = to;
                to != F_UNLCK
            }
            _ => true,
        });
        let mut signal = Vec::new();
        let mut stopped = false;
        for l in fl.leases.iter_mut() {
            if !(write || l.ltype == F_WRLCK) {
                continue;
            }
            stopped = true;
            let to = if write { F_UNLCK } else { F_RDLCK };
            match l.breaking {
                Some((F_UNLCK, _)) => {}
                Some(_) if !write => {}
                _ => {
                    l.breaking = Some((to, now + grace));
                    signal.push(l.pid);
                }
            }
        }
        if fl.is_empty() {
            self.files.remove(&ino);
        }
        self.recount_leased();
        if stopped {
            Break::Wait(signal)
        } else {
            Break::Go
        }
    }

    /// Breaks whose time passed by `now` take effect (the lease becomes
    /// what the break asked); whether any did.
    pub fn expire_leases(&mut self, now: u64) -> bool {
        if self.leased == 0 {
            return false;
        }
        let mut any = false;
        self.files.retain(|_, fl| {
            fl.leases.retain_mut(|l| match l.breaking {
                Some((to, at)) if now >= at => {
                    any = true;
                    l.breaking = None;
                    l.ltype = to;
                    to != F_UNLCK
                }
                _ => true,
            });
            !fl.is_empty()
        });
        self.recount_leased();
        any
    }

    /// When the next pending lease break times out, if one is pending.
    pub fn next_lease_deadline(&self) -> Option<u64> {
        if self.leased == 0 {
            return None;
        }
        self.files.values().flat_map(|f| f.leases.iter()).filter_map(|l| l.breaking.map(|(_, at)| at)).min()
    }

    /// The record locks of `ino`, in order (tests, /proc/locks).
    pub fn records(&self, ino: Ino) -> &[RecordLock] {
        self.files.get(&ino).map_or(&[], |f| &f.records)
    }

    /// The `flock` locks of `ino`.
    pub fn flocks(&self, ino: Ino) -> &[FlockLock] {
        self.files.get(&ino).map_or(&[], |f| &f.flocks)
    }

    /// Whether nothing is locked, leased or waited for.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.waits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, ltype: u16, start: u64, end: u64) -> RecordLock {
        RecordLock { owner: Owner::Process(pid), ltype, start, end }
    }

    fn spans(l: &Locks, ino: Ino) -> Vec<(Owner, u16, u64, u64)> {
        l.records(ino).iter().map(|r| (r.owner, r.ltype, r.start, r.end)).collect()
    }

    #[test]
    fn ranges_as_linux() {
        assert_eq!(range_of(0, 10, 5, 0, 0), Ok((10, 14)));
        assert_eq!(range_of(0, 10, 0, 0, 0), Ok((10, OFFSET_MAX)));
        assert_eq!(range_of(0, 10, -5, 0, 0), Ok((5, 9)));
        assert_eq!(range_of(0, 3, -5, 0, 0), Err(Errno::EINVAL));
        assert_eq!(range_of(1, -2, 2, 7, 0), Ok((5, 6)));
        assert_eq!(range_of(2, -1, 1, 0, 100), Ok((99, 99)));
        assert_eq!(range_of(0, -1, 1, 0, 0), Err(Errno::EINVAL));
        assert_eq!(range_of(3, 0, 0, 0, 0), Err(Errno::EINVAL));
        assert_eq!(range_of(0xffff, 0, 0, 0, 0), Err(Errno::EINVAL));
        assert_eq!(range_of(2, i64::MAX, 1, 0, 10), Err(Errno::EOVERFLOW));
        assert_eq!(range_of(0, 2, i64::MAX, 0, 0), Err(Errno::EOVERFLOW));
        assert_eq!(range_of(0, 1, i64::MAX, 0, 0), Ok((1, OFFSET_MAX)));
        assert_eq!(p(1, F_RDLCK, 3, OFFSET_MAX).l_len(), 0);
        assert_eq!(p(1, F_RDLCK, 3, 4).l_len(), 2);
    }

    #[test]
    fn own_locks_split_and_merge() {
        let mut l = Locks::new();
        l.set(1, p(7, F_WRLCK, 0, 99)).unwrap();
        // A read lock inside splits the write lock in three.
        l.set(1, p(7, F_RDLCK, 10, 19)).unwrap();
        let o = Owner::Process(7);
        assert_eq!(spans(&l, 1), [(o, F_WRLCK, 0, 9), (o, F_RDLCK, 10, 19), (o, F_WRLCK, 20, 99)]);
        // Writing it back merges the three.
        l.set(1, p(7, F_WRLCK, 10, 19)).unwrap();
        assert_eq!(spans(&l, 1), [(o, F_WRLCK, 0, 99)]);
        // Adjacent locks of one type merge; of another type they do not.
        l.set(1, p(7, F_WRLCK, 100, 109)).unwrap();
        assert_eq!(spans(&l, 1), [(o, F_WRLCK, 0, 109)]);
        l.set(1, p(7, F_RDLCK, 110, 119)).unwrap();
        assert_eq!(spans(&l, 1), [(o, F_WRLCK, 0, 109), (o, F_RDLCK, 110, 119)]);
        // Unlocking a hole, then across the two.
        l.set(1, p(7, F_UNLCK, 50, 59)).unwrap();
        assert_eq!(spans(&l, 1), [(o, F_WRLCK, 0, 49), (o, F_WRLCK, 60, 109), (o, F_RDLCK, 110, 119)]);
        l.set(1, p(7, F_UNLCK, 100, 114)).unwrap();
        assert_eq!(spans(&l, 1), [(o, F_WRLCK, 0, 49), (o, F_WRLCK, 60, 99), (o, F_RDLCK, 115, 119)]);
        l.set(1, p(7, F_UNLCK, 0, OFFSET_MAX)).unwrap();
        assert!(l.is_empty());
        // Filling a gap between two read locks makes one.
        l.set(1, p(7, F_RDLCK, 0, 4)).unwrap();
        l.set(1, p(7, F_RDLCK, 10, 14)).unwrap();
        l.set(1, p(7, F_RDLCK, 5, 9)).unwrap();
        assert_eq!(spans(&l, 1), [(o, F_RDLCK, 0, 14)]);
        // To the end of the file.
        l.set(1, p(7, F_WRLCK, 12, OFFSET_MAX)).unwrap();
        assert_eq!(spans(&l, 1), [(o, F_RDLCK, 0, 11), (o, F_WRLCK, 12, OFFSET_MAX)]);
    }

    #[test]
    fn conflicts_between_owners() {
        let mut l = Locks::new();
        l.set(1, p(2, F_RDLCK, 0, 9)).unwrap();
        // Readers share; a writer is stopped by a reader.
        l.set(1, p(3, F_RDLCK, 5, 14)).unwrap();
        assert_eq!(l.set(1, p(4, F_WRLCK, 12, 12)), Err(p(3, F_RDLCK, 5, 14)));
        assert_eq!(l.test(1, &p(4, F_WRLCK, 0, OFFSET_MAX)), Some(p(2, F_RDLCK, 0, 9)));
        assert_eq!(l.test(1, &p(4, F_RDLCK, 0, OFFSET_MAX)), None);
        // One's own locks never stop it; a failed upgrade keeps the old lock.
        assert_eq!(l.set(1, p(2, F_WRLCK, 0, 9)), Err(p(3, F_RDLCK, 5, 14)));
        assert_eq!(l.records(1)[0], p(2, F_RDLCK, 0, 9));
        l.set(1, p(2, F_WRLCK, 0, 4)).unwrap();
        // Linux's order: the owner's locks stay together, where they were.
        assert_eq!(l.records(1), [p(2, F_WRLCK, 0, 4), p(2, F_RDLCK, 5, 9), p(3, F_RDLCK, 5, 14)]);
        // An OFD lock of the same process is another owner.
        let ofd = RecordLock { owner: Owner::File(99), ltype: F_WRLCK, start: 0, end: 0 };
        assert_eq!(l.set(1, ofd), Err(p(2, F_WRLCK, 0, 4)));
        assert_eq!(ofd.owner.l_pid(), -1);
        // F_UNLCK (F_OFD_GETLK) finds any lock.
        assert_eq!(l.test(1, &RecordLock { ltype: F_UNLCK, ..ofd }), Some(p(2, F_WRLCK, 0, 4)));
        // Other files are other files.
        assert_eq!(l.test(2, &p(4, F_WRLCK, 0, OFFSET_MAX)), None);
        // Closing any descriptor drops the process's locks on the file.
        l.close_posix(1, 2);
        assert_eq!(l.records(1), [p(3, F_RDLCK, 5, 14)]);
        l.exit(3);
        assert!(l.is_empty());
    }

    #[test]
    fn deadlocks() {
        // fcntl17: 1 holds 2-6, 2 holds 9-13, 3 holds 17-21; 2 waits for 3's.
        let mut l = Locks::new();
        l.set(1, p(1, F_WRLCK, 2, 6)).unwrap();
        l.set(1, p(2, F_WRLCK, 9, 13)).unwrap();
        l.set(1, p(3, F_WRLCK, 17, 21)).unwrap();
        let w2 = p(2, F_WRLCK, 17, 21);
        let b = l.set(1, w2).unwrap_err();
        assert!(!l.deadlock(2, &b));
        l.wait(2, 20, Wait::Record(1, w2));
        // 3 asks for 2-15: 1's lock is first in the way, and 1 waits for nothing.
        let w3 = p(3, F_WRLCK, 2, 15);
        let b = l.set(1, w3).unwrap_err();
        assert_eq!(b.owner, Owner::Process(1));
        assert!(!l.deadlock(3, &b));
        // 1 unlocks: now 2's lock is in the way, and 2 waits for 3.
        l.set(1, p(1, F_UNLCK, 0, OFFSET_MAX)).unwrap();
        let b = l.set(1, w3).unwrap_err();
        assert!(l.deadlock(3, &b));
        // Once 2's wait is over (a signal), no deadlock.
        l.cancel(2, Some(20));
        assert!(!l.deadlock(3, &b));
        l.wait(2, 20, Wait::Record(1, w2));
        assert_eq!(l.take_wait(2, 20), Some(Wait::Record(1, w2)));
        assert_eq!(l.take_wait(2, 20), None);
    }

    #[test]
    fn flock_locks() {
        let mut l = Locks::new();
        l.flock(1, 10, FlockOp::Shared).unwrap();
        l.flock(1, 11, FlockOp::Shared).unwrap();
        assert_eq!(l.flock(1, 12, FlockOp::Exclusive), Err(()));
        // Converting drops the old lock first, even when it cannot be had.
        assert_eq!(l.flock(1, 10, FlockOp::Exclusive), Err(()));
        assert_eq!(l.flocks(1), [FlockLock { file: 11, exclusive: false }]);
        l.flock(1, 11, FlockOp::Exclusive).unwrap();
        l.flock(1, 11, FlockOp::Exclusive).unwrap();
        assert_eq!(l.flock(1, 10, FlockOp::Shared), Err(()));
        // Record locks are another world.
        l.set(1, p(5, F_WRLCK, 0, OFFSET_MAX)).unwrap();
        l.release_file(1, 11);
        l.flock(1, 10, FlockOp::Exclusive).unwrap();
        l.flock(1, 10, FlockOp::Unlock).unwrap();
        l.flock(1, 10, FlockOp::Unlock).unwrap();
        l.exit(5);
        assert!(l.is_empty());
    }

    #[test]
    fn leases_and_their_breaks() {
        let mut l = Locks::new();
        // fcntl27: a read lease on a description open for writing.
        l.opened(1, true, true);
        assert_eq!(l.set_lease(1, 10, 2, F_RDLCK, true, true), Err(Errno::EAGAIN));
        l.closed(1, true, true);
        // fcntl23: a read lease, F_GETLEASE, F_UNLCK; F_UNLCK again is EAGAIN.
        l.opened(1, true, false);
        l.set_lease(1, 10, 2, F_RDLCK, true, false).unwrap();
        assert_eq!(l.get_lease(1, 10), F_RDLCK);
        l.set_lease(1, 10, 2, F_UNLCK, true, false).unwrap();
        assert_eq!(l.set_lease(1, 10, 2, F_UNLCK, true, false), Err(Errno::EAGAIN));
        assert_eq!(l.get_lease(1, 10), F_UNLCK);
        // A write lease with the caller's own read-only open alone.
        l.set_lease(1, 10, 2, F_WRLCK, true, false).unwrap();
        assert!(l.any_leases());
        // A reader's open starts a downgrade, once; the holder downgrades.
        assert_eq!(l.break_leases(1, false, 0, LEASE_BREAK_NS), Break::Wait(alloc::vec![2]));
        assert_eq!(l.break_leases(1, false, 1, LEASE_BREAK_NS), Break::Wait(alloc::vec![]));
        assert_eq!(l.get_lease(1, 10), F_RDLCK);
        assert_eq!(l.next_lease_deadline(), Some(LEASE_BREAK_NS));
        l.set_lease(1, 10, 2, F_RDLCK, true, false).unwrap();
        assert_eq!(l.break_leases(1, false, 2, LEASE_BREAK_NS), Break::Go);
        assert_eq!(l.next_lease_deadline(), None);
        // A writer's open: the lease must go; downgrading is not enough.
        assert_eq!(l.break_leases(1, true, 10, LEASE_BREAK_NS), Break::Wait(alloc::vec![2]));
        assert_eq!(l.get_lease(1, 10), F_UNLCK);
        assert_eq!(l.set_lease(1, 10, 2, F_RDLCK, true, false), Err(Errno::EAGAIN));
        // Nobody answers: the break takes effect at its time.
        assert_eq!(l.break_leases(1, true, 10 + LEASE_BREAK_NS - 1, LEASE_BREAK_NS), Break::Wait(alloc::vec![]));
        assert_eq!(l.break_leases(1, true, 10 + LEASE_BREAK_NS, LEASE_BREAK_NS), Break::Go);
        assert!(!l.any_leases());
        // A write lease needs no other open; closing the description drops it.
        l.opened(1, true, false);
        assert_eq!(l.set_lease(1, 10, 2, F_WRLCK, true, false), Err(Errno::EAGAIN));
        l.closed(1, true, false);
        l.set_lease(1, 10, 2, F_WRLCK, true, false).unwrap();
        l.release_file(1, 10);
        assert!(!l.any_leases());
        l.closed(1, true, false);
        assert_eq!(l.opens(1), Opens::default());
        assert!(l.is_empty());
    }
}
