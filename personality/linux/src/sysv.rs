//! System V IPC of a job (its IPC namespace): shared memory segments,
//! semaphore sets with their undo lists, message queues, their keys and
//! ids and permissions, as Linux's `ipc/` keeps them. Pure and host-tested;
//! the calls decode their arguments and write the structures in
//! `sys/ipc.rs`. The segments' pages live in one space of the job's, the
//! pool ([`Pool`], `Host::shm_space`), each at its own address, and every
//! attach shares them from there (`Host::mem_share_from`).

use crate::errno::Errno;
use crate::linux::*;
use alloc::collections::VecDeque;
use sion_vecmap::{VecMap, VecSet};
use alloc::vec::Vec;

/// Where segments go in the pool space: from here to `POOL_END`.
pub const SHM_BASE: u64 = 0x1000_0000;
pub const POOL_END: u64 = 0x7fff_0000_0000;

/// The space holding every segment's pages and where each is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pool {
    /// The space (0: not made yet).
    pub space: u64,
    next: u64,
    /// Ranges given back: (address, length).
    free: Vec<(u64, u64)>,
}

impl Pool {
    /// An address for `len` bytes (page multiple): the first range given
    /// back that holds it, else past the last.
    pub fn alloc(&mut self, len: u64) -> Option<u64> {
        if let Some(i) = self.free.iter().position(|&(_, l)| l >= len) {
            let (a, l) = self.free[i];
            if l == len {
                self.free.swap_remove(i);
            } else {
                self.free[i] = (a + len, l - len);
            }
            return Some(a);
        }
        let a = self.next.max(SHM_BASE);
        let end = a.checked_add(len).filter(|&e| e <= POOL_END)?;
        self.next = end;
        Some(a)
    }
    pub fn release(&mut self, addr: u64, len: u64) {
        self.free.push((addr, len));
    }
}

/// Ids are `index + seq * IPCMNI_SEQ`, as Linux's `ipc_buildid`.
pub const SEQ_MULTIPLIER: i32 = 32768;

/// Who asks: its effective ids, and root (every IPC capability).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cred {
    pub uid: u32,
    pub gid: u32,
    pub root: bool,
}

/// `struct kern_ipc_perm`'s fields the calls show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// Permission bits and the kind's flags (`SHM_DEST`, `SHM_LOCKED`).
    pub mode: u32,
    pub seq: u16,
}

/// Read and write, as `ipcperms` asks them (octal "other" bits).
pub const READ: u32 = 4;
pub const WRITE: u32 = 2;

impl Perm {
    fn new(key: i32, flg: u32, c: &Cred) -> Perm {
        Perm { key, uid: c.uid, gid: c.gid, cuid: c.uid, cgid: c.gid, mode: flg & 0o777, seq: 0 }
    }
    /// Linux's `ipcperms`: `want` is a set of READ/WRITE (or the mode bits
    /// of a get call, folded).
    pub fn allows(&self, c: &Cred, want: u32) -> bool {
        if c.root {
            return true;
        }
        let granted = if c.uid == self.cuid || c.uid == self.uid {
            self.mode >> 6
        } else if c.gid == self.cgid || c.gid == self.gid {
            self.mode >> 3
        } else {
            self.mode
        } & 7;
        want & 7 & !granted == 0
    }
    /// IPC_SET and IPC_RMID: the creator, the owner or root.
    pub fn owner(&self, c: &Cred) -> bool {
        c.root || c.uid == self.cuid || c.uid == self.uid
    }
    /// IPC_SET's uid, gid and permission bits.
    pub fn set(&mut self, uid: u32, gid: u32, mode: u32) {
        self.uid = uid;
        self.gid = gid;
        self.mode = (self.mode & !0o777) | (mode & 0o777);
    }
}

/// One kind's objects by index, their keys, the free indices.
#[derive(Clone, Debug)]
pub struct Ids<T> {
    pub items: VecMap<u32, (Perm, T)>,
    seq: u16,
    /// At most this many objects (msgmni, shmmni, semmni).
    pub max: u32,
    keys: VecMap<i32, u32>,
    /// Indices below `high` not in use.
    free: VecSet<u32>,
    high: u32,
    /// The id the next object gets (/proc/sys/kernel/*_next_id), -1: any.
    pub next_id: i32,
}

impl<T> Ids<T> {
    fn new(max: u32) -> Self {
        Ids { items: VecMap::new(), seq: 0, max, keys: VecMap::new(), free: VecSet::new(), high: 0, next_id: -1 }
    }
    pub fn id_of(perm: &Perm, idx: u32) -> i32 {
        perm.seq as i32 * SEQ_MULTIPLIER + idx as i32
    }
    fn idx(id: i32) -> Result<u32, Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        Ok((id % SEQ_MULTIPLIER) as u32)
    }
    pub fn get(&self, id: i32) -> Result<&(Perm, T), Errno> {
        let idx = Self::idx(id)?;
        self.items.get(&idx).filter(|(p, _)| Self::id_of(p, idx) == id).ok_or(Errno::EINVAL)
    }
    pub fn get_mut(&mut self, id: i32) -> Result<&mut (Perm, T), Errno> {
        let idx = Self::idx(id)?;
        self.items.get_mut(&idx).filter(|(p, _)| Self::id_of(p, idx) == id).ok_or(Errno::EINVAL)
    }
    pub fn exists(&self, id: i32) -> bool {
        self.get(id).is_ok()
    }
    fn find_key(&self, key: i32) -> Option<i32> {
        let idx = *self.keys.get(&key)?;
        self.items.get(&idx).map(|(p, _)| Self::id_of(p, idx))
    }
    /// The lowest free index from `from` on.
    fn alloc_idx(&mut self, from: u32) -> u32 {
        let idx =
            if from == 0 { self.free.iter().next().copied().unwrap_or(self.high) } else { (from..).find(|i| !self.items.contains_key(i)).unwrap_or(from) };
        if idx >= self.high {
            self.free.extend(self.high..idx);
            self.high = idx + 1;
        } else {
            self.free.remove(&idx);
        }
        idx
    }
    fn insert(&mut self, mut perm: Perm, v: T) -> Result<i32, Errno> {
        if self.items.len() as u32 >= self.max {
            return Err(Errno::ENOSPC);
        }
        let idx = if self.next_id >= 0 {
            perm.seq = (self.next_id / SEQ_MULTIPLIER) as u16;
            let idx = self.alloc_idx((self.next_id % SEQ_MULTIPLIER) as u32);
            self.next_id = -1;
            idx
        } else {
            perm.seq = self.seq;
            self.seq = self.seq.wrapping_add(1);
            self.alloc_idx(0)
        };
        let id = Self::id_of(&perm, idx);
        if perm.key != IPC_PRIVATE {
            self.keys.insert(perm.key, idx);
        }
        self.items.insert(idx, (perm, v));
        Ok(id)
    }
    fn remove(&mut self, id: i32) -> Option<(Perm, T)> {
        let idx = Self::idx(id).ok()?;
        self.get(id).ok()?;
        let o = self.items.remove(&idx)?;
        if self.keys.get(&o.0.key) == Some(&idx) {
            self.keys.remove(&o.0.key);
        }
        self.free.insert(idx);
        Some(o)
    }
    /// The object's key becomes IPC_PRIVATE (a removed segment still attached).
    fn forget_key(&mut self, id: i32) {
        if let Ok((p, _)) = self.get(id) {
            let key = p.key;
            self.keys.remove(&key);
        }
        if let Ok((p, _)) = self.get_mut(id) {
            p.key = IPC_PRIVATE;
        }
    }
    /// The highest index in use (IPC_INFO and the *_INFO calls answer it).
    pub fn max_idx(&self) -> i32 {
        self.items.keys().next_back().map_or(0, |&i| i as i32)
    }
    /// *_STAT: the object at an index, with its id.
    pub fn by_index(&self, idx: i32) -> Result<(i32, &(Perm, T)), Errno> {
        let o = u32::try_from(idx).ok().and_then(|i| self.items.get(&i)).ok_or(Errno::EINVAL)?;
        Ok((Self::id_of(&o.0, idx as u32), o))
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The id of every object, by index.
    pub fn ids(&self) -> Vec<i32> {
        self.items.iter().map(|(&i, (p, _))| Self::id_of(p, i)).collect()
    }

    /// `ipcget`: a new object for IPC_PRIVATE or a missing key with
    /// IPC_CREAT, else the key's (EEXIST with IPC_EXCL, EACCES for the mode
    /// bits asked, then the kind's own `check`).
    fn get_or_create(
        &mut self,
        key: i32,
        flg: u32,
        c: &Cred,
        check: impl FnOnce(&T) -> Result<(), Errno>,
        create: impl FnOnce() -> Result<T, Errno>,
    ) -> Result<i32, Errno> {
        if key != IPC_PRIVATE {
            if let Some(id) = self.find_key(key) {
                if flg & IPC_CREAT != 0 && flg & IPC_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                let (p, v) = self.get(id)?;
                let want = (flg >> 6) | (flg >> 3) | flg;
                if !p.allows(c, want) {
                    return Err(Errno::EACCES);
                }
                check(v)?;
                return Ok(id);
            }
            if flg & IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
        }
        if self.items.len() as u32 >= self.max {
            return Err(Errno::ENOSPC);
        }
        let v = create()?;
        self.insert(Perm::new(key, flg, c), v)
    }
}

// ----- shared memory -----

/// A shared memory segment: its bytes live in the pool space at `addr`,
/// which every attach shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    pub size: u64,
    pub addr: u64,
    /// Its name for shared futexes (`Process::shm`).
    pub name: u64,
    pub atime: u64,
    pub dtime: u64,
    pub ctime: u64,
    pub cpid: u32,
    pub lpid: u32,
    pub nattch: u64,
}

impl Seg {
    pub fn pages(&self) -> u64 {
        self.size.div_ceil(4096)
    }
}

// ----- semaphores -----

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sem {
    pub val: i32,
    pub pid: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SemSet {
    pub sems: Vec<Sem>,
    pub otime: u64,
    pub ctime: u64,
}

/// One `struct sembuf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemOp {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

// ----- message queues -----

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub mtype: i64,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    pub msgs: VecDeque<Msg>,
    pub cbytes: u64,
    pub qbytes: u64,
    pub stime: u64,
    pub rtime: u64,
    pub ctime: u64,
    pub lspid: u32,
    pub lrpid: u32,
}

/// Which message msgrcv takes.
pub fn select_msg(q: &Queue, msgtyp: i64, flg: u32) -> Option<usize> {
    if flg & MSG_COPY != 0 {
        return usize::try_from(msgtyp).ok().filter(|&i| i < q.msgs.len());
    }
    if msgtyp == 0 {
        return (!q.msgs.is_empty()).then_some(0);
    }
    if msgtyp < 0 {
        let limit = if msgtyp == i64::MIN { i64::MAX } else { -msgtyp };
        let mut best: Option<usize> = None;
        for (i, m) in q.msgs.iter().enumerate() {
            if m.mtype <= limit && best.is_none_or(|b| m.mtype < q.msgs[b].mtype) {
                best = Some(i);
            }
        }
        return best;
    }
    if flg & MSG_EXCEPT != 0 {
        q.msgs.iter().position(|m| m.mtype != msgtyp)
    } else {
        q.msgs.iter().position(|m| m.mtype == msgtyp)
    }
}

// ----- the namespace -----

/// What a blocked call waits for (its set or queue: gone means EIDRM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// semop: the semaphore whose operation blocked, and whether it waits
    /// for zero (GETZCNT) or for an increase (GETNCNT).
    Sem {
        id: i32,
        num: u16,
        zero: bool,
    },
    MsgSend {
        id: i32,
    },
    MsgRecv {
        id: i32,
    },
    /// mq_timedsend (`send`) or mq_timedreceive on a POSIX queue.
    Mq {
        id: u32,
        send: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub what: WaitFor,
    /// Monotonic ns (semtimedop), and whether it passed (the server looked).
    pub deadline: Option<u64>,
    pub expired: bool,
}

/// How a semop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemOutcome {
    Done,
    /// It must wait: the operation that could not be done.
    Block {
        num: u16,
        zero: bool,
    },
}

/// A job's IPC namespace.
#[derive(Clone, Debug)]
pub struct Ipc {
    pub shm: Ids<Seg>,
    pub sem: Ids<SemSet>,
    pub msg: Ids<Queue>,
    /// SEM_UNDO adjustments by (pid, set id), one per semaphore.
    pub undo: VecMap<(u32, i32), Vec<i32>>,
    /// Blocked calls by (pid, tid).
    pub waits: VecMap<(u32, u32), Wait>,
    /// The limits, /proc/sys/kernel/{msgmax,msgmnb,msgmni,shmmni,sem}
    /// (semmsl, semmns, semopm, semmni): the job may change them.
    pub msgmax: u64,
    pub msgmnb: u64,
    pub msgmni: u32,
    pub shmmni: u32,
    pub shmmax: u64,
    /// In pages.
    pub shmall: u64,
    pub sem_limits: [u32; 4],
    /// Pages of all segments, semaphores of all sets.
    pub shm_total: u64,
    pub sem_total: usize,
    pub pool: Pool,
    /// POSIX message queues (`mqueue.rs`).
    pub mq: crate::mqueue::Mqueues,
}

impl Default for Ipc {
    fn default() -> Self {
        Ipc {
            shm: Ids::new(SHMMNI),
            sem: Ids::new(SEMMNI),
            msg: Ids::new(MSGMNI),
            undo: VecMap::new(),
            waits: VecMap::new(),
            msgmax: MSGMAX as u64,
            msgmnb: MSGMNB as u64,
            msgmni: MSGMNI,
            shmmni: SHMMNI,
            shmmax: SHMMAX,
            shmall: SHMALL,
            sem_limits: [SEMMSL, SEMMNS, SEMOPM, SEMMNI],
            shm_total: 0,
            sem_total: 0,
            pool: Pool::default(),
            mq: Default::default(),
        }
    }
}

impl Ipc {
    pub fn is_empty(&self) -> bool {
        self.shm.is_empty() && self.sem.is_empty() && self.msg.is_empty()
    }

    // ----- shared memory -----

    /// shmget. `create(addr, len)` maps the segment's pages at `addr` in the
    /// pool (made already) and names them (shared futexes).
    pub fn shmget(
        &mut self,
        key: i32,
        size: u64,
        flg: u32,
        c: &Cred,
        pid: u32,
        now: u64,
        create: impl FnOnce(u64, u64) -> Result<u64, Errno>,
    ) -> Result<i32, Errno> {
        let (total, shmmax, shmall) = (self.shm_total, self.shmmax, self.shmall);
        self.shm.max = self.shmmni;
        let mut made = 0;
        let pool = &mut self.pool;
        let r = self.shm.get_or_create(
            key,
            flg,
            c,
            |s| if size > s.size { Err(Errno::EINVAL) } else { Ok(()) },
            || {
                if !(SHMMIN..=shmmax).contains(&size) {
                    return Err(Errno::EINVAL);
                }
                if total.saturating_add(size.div_ceil(4096)) > shmall {
                    return Err(Errno::ENOSPC);
                }
                if flg & SHM_HUGETLB != 0 {
                    return Err(Errno::EINVAL);
                }
                let len = size.div_ceil(4096) * 4096;
                let addr = pool.alloc(len).ok_or(Errno::ENOMEM)?;
                let name = match create(addr, len) {
                    Ok(n) => n,
                    Err(e) => {
                        pool.release(addr, len);
                        return Err(e);
                    }
                };
                made = size.div_ceil(4096);
                Ok(Seg { size, addr, name, atime: 0, dtime: 0, ctime: now, cpid: pid, lpid: 0, nattch: 0 })
            },
        );
        self.shm_total += made;
        r
    }

    /// A segment goes: its range of the pool, to unmap there.
    fn shm_remove(&mut self, id: i32) -> Option<(u64, u64)> {
        let (_, s) = self.shm.remove(id)?;
        self.shm_total -= s.pages();
        let len = s.pages() * 4096;
        self.pool.release(s.addr, len);
        Some((s.addr, len))
    }

    /// shmat's checks: the segment (EINVAL), the rights (EACCES).
    pub fn shm_for_attach(&self, id: i32, c: &Cred, flg: u32) -> Result<&Seg, Errno> {
        let (p, s) = self.shm.get(id)?;
        let want = if flg & SHM_RDONLY != 0 { READ } else { READ | WRITE } | if flg & SHM_EXEC != 0 { 1 } else { 0 };
        if !p.allows(c, want) {
            return Err(Errno::EACCES);
        }
        Ok(s)
    }

    /// A process attached the segment (shmat, or a fork of an attached one).
    pub fn shm_attached(&mut self, id: i32, pid: u32, now: u64) {
        if let Ok((_, s)) = self.shm.get_mut(id) {
            s.nattch += 1;
            s.atime = now;
            s.lpid = pid;
        }
    }

    /// A process detached it (shmdt, exit, exec): the memory's space to
    /// free when it was removed and this was its last attach.
    pub fn shm_detached(&mut self, id: i32, pid: u32, now: u64) -> Option<(u64, u64)> {
        let (p, s) = self.shm.get_mut(id).ok()?;
        s.nattch = s.nattch.saturating_sub(1);
        s.dtime = now;
        s.lpid = pid;
        if s.nattch == 0 && p.mode & SHM_DEST != 0 {
            return self.shm_remove(id);
        }
        None
    }

    /// IPC_RMID of a segment: gone now when no one has it attached (its
    /// space to free), else private and marked SHM_DEST until the last detach.
    pub fn shm_rmid(&mut self, id: i32, c: &Cred) -> Result<Option<(u64, u64)>, Errno> {
        let (p, s) = self.shm.get_mut(id)?;
        if !p.owner(c) {
            return Err(Errno::EPERM);
        }
        if s.nattch == 0 {
            return Ok(self.shm_remove(id));
        }
        p.mode |= SHM_DEST;
        self.shm.forget_key(id);
        Ok(None)
    }

    // ----- semaphores -----

    pub fn semget(&mut self, key: i32, nsems: i32, flg: u32, c: &Cred, now: u64) -> Result<i32, Errno> {
        if nsems < 0 || nsems as u32 > self.sem_limits[0] {
            return Err(Errno::EINVAL);
        }
        let (total, semmns) = (self.sem_total, self.sem_limits[1] as usize);
        self.sem.max = self.sem_limits[3];
        let mut made = 0;
        let r = self.sem.get_or_create(
            key,
            flg,
            c,
            |s| if nsems as usize > s.sems.len() { Err(Errno::EINVAL) } else { Ok(()) },
            || {
                if nsems == 0 {
                    return Err(Errno::EINVAL);
                }
                if total + nsems as usize > semmns {
                    return Err(Errno::ENOSPC);
                }
                made = nsems as usize;
                Ok(SemSet { sems: alloc::vec![Sem::default(); nsems as usize], otime: 0, ctime: now })
            },
        );
        self.sem_total += made;
        r
    }

    /// semop's work on a set, all or nothing: EFBIG, EACCES, ERANGE,
    /// EAGAIN (IPC_NOWAIT), or done, or where it must wait.
    pub fn semop(&mut self, id: i32, ops: &[SemOp], c: &Cred, pid: u32, now: u64) -> Result<SemOutcome, Errno> {
        let (p, set) = self.sem.get(id)?;
        if ops.iter().any(|o| o.num as usize >= set.sems.len()) {
            return Err(Errno::EFBIG);
        }
        let alter = ops.iter().any(|o| o.op != 0);
        if !p.allows(c, if alter { WRITE } else { READ }) {
            return Err(Errno::EACCES);
        }
        let mut vals: Vec<i32> = set.sems.iter().map(|s| s.val).collect();
        let mut adj = self.undo.get(&(pid, id)).cloned().unwrap_or_else(|| alloc::vec![0; vals.len()]);
        for o in ops {
            let n = o.num as usize;
            let cur = vals[n];
            let blocked = if o.op == 0 { cur != 0 } else { cur + (o.op as i32) < 0 };
            if blocked {
                if o.flg as u32 & IPC_NOWAIT != 0 {
                    return Err(Errno::EAGAIN);
                }
                return Ok(SemOutcome::Block { num: o.num, zero: o.op == 0 });
            }
            let new = cur + o.op as i32;
            if new > SEMVMX {
                return Err(Errno::ERANGE);
            }
            if o.flg as u16 & SEM_UNDO != 0 {
                let a = adj[n] - o.op as i32;
                if !(-SEMAEM - 1..=SEMAEM).contains(&a) {
                    return Err(Errno::ERANGE);
                }
                adj[n] = a;
            }
            vals[n] = new;
        }
        let (_, set) = self.sem.get_mut(id)?;
        for o in ops {
            set.sems[o.num as usize].pid = pid;
        }
        for (s, v) in set.sems.iter_mut().zip(vals) {
            s.val = v;
        }
        set.otime = now;
        if ops.iter().any(|o| o.flg as u16 & SEM_UNDO != 0) {
            self.undo.insert((pid, id), adj);
        }
        Ok(SemOutcome::Done)
    }

    /// GETNCNT and GETZCNT: the calls waiting on a semaphore.
    pub fn sem_waiting(&self, id: i32, num: u16, zero: bool) -> u64 {
        self.waits.values().filter(|w| w.what == WaitFor::Sem { id, num, zero }).count() as u64
    }

    /// SETVAL and SETALL: the values change, the undo adjustments of those
    /// semaphores (every process's) go.
    pub fn sem_set(&mut self, id: i32, first: usize, vals: &[i32], pid: u32, now: u64) -> Result<(), Errno> {
        let (_, set) = self.sem.get_mut(id)?;
        if vals.iter().any(|&v| !(0..=SEMVMX).contains(&v)) {
            return Err(Errno::ERANGE);
        }
        for (i, &v) in vals.iter().enumerate() {
            set.sems[first + i] = Sem { val: v, pid };
        }
        set.ctime = now;
        for ((_, sid), adj) in self.undo.iter_mut() {
            if *sid == id {
                for a in adj.iter_mut().skip(first).take(vals.len()) {
                    *a = 0;
                }
            }
        }
        Ok(())
    }

    /// IPC_RMID of a set (its waiters get EIDRM when they look again).
    pub fn sem_rmid(&mut self, id: i32, c: &Cred) -> Result<(), Errno> {
        let (p, _) = self.sem.get(id)?;
        if !p.owner(c) {
            return Err(Errno::EPERM);
        }
        if let Some((_, set)) = self.sem.remove(id) {
            self.sem_total -= set.sems.len();
        }
        self.undo.retain(|&(_, sid), _| sid != id);
        Ok(())
    }

    /// A process ends: its SEM_UNDO adjustments are applied (clamped to
    /// 0..=SEMVMX, as Linux's `exit_sem`). True if a value changed.
    pub fn sem_exit(&mut self, pid: u32) -> bool {
        let mine: Vec<(i32, Vec<i32>)> = self.undo.iter().filter(|((p, _), _)| *p == pid).map(|(&(_, id), a)| (id, a.clone())).collect();
        self.undo.retain(|&(p, _), _| p != pid);
        let mut changed = false;
        for (id, adj) in mine {
            let Ok((_, set)) = self.sem.get_mut(id) else { continue };
            for (s, a) in set.sems.iter_mut().zip(adj) {
                if a != 0 {
                    s.val = (s.val + a).clamp(0, SEMVMX);
                    s.pid = pid;
                    changed = true;
                }
            }
        }
        changed
    }

    // ----- messages -----

    pub fn msgget(&mut self, key: i32, flg: u32, c: &Cred, now: u64) -> Result<i32, Errno> {
        let qbytes = self.msgmnb;
        self.msg.max = self.msgmni;
        self.msg.get_or_create(
            key,
            flg,
            c,
            |_| Ok(()),
            || Ok(Queue { msgs: VecDeque::new(), cbytes: 0, qbytes, stime: 0, rtime: 0, ctime: now, lspid: 0, lrpid: 0 }),
        )
    }

    /// msgsnd: Ok(true) sent, Ok(false) the queue is full (wait).
    pub fn msgsnd(&mut self, id: i32, mtype: i64, data: &[u8], flg: u32, c: &Cred, pid: u32, now: u64) -> Result<bool, Errno> {
        let (p, q) = self.msg.get_mut(id)?;
        if !p.allows(c, WRITE) {
            return Err(Errno::EACCES);
        }
        let len = data.len() as u64;
        if q.cbytes + len > q.qbytes || q.msgs.len() as u64 + 1 > q.qbytes {
            if flg & IPC_NOWAIT != 0 {
                return Err(Errno::EAGAIN);
            }
            return Ok(false);
        }
        q.msgs.push_back(Msg { mtype, data: data.to_vec() });
        q.cbytes += len;
        q.lspid = pid;
        q.stime = now;
        Ok(true)
    }

    /// msgrcv: the message taken (or copied, MSG_COPY), cut to `size` with
    /// MSG_NOERROR (E2BIG without it); Ok(None) when none is there (wait).
    pub fn msgrcv(&mut self, id: i32, size: u64, msgtyp: i64, flg: u32, c: &Cred, pid: u32, now: u64) -> Result<Option<Msg>, Errno> {
        let (p, q) = self.msg.get_mut(id)?;
        if !p.allows(c, READ) {
            return Err(Errno::EACCES);
        }
        let Some(i) = select_msg(q, msgtyp, flg) else {
            if flg & IPC_NOWAIT != 0 {
                return Err(Errno::ENOMSG);
            }
            return Ok(None);
        };
        if q.msgs[i].data.len() as u64 > size && flg & MSG_NOERROR == 0 {
            return Err(Errno::E2BIG);
        }
        let mut m = if flg & MSG_COPY != 0 {
            q.msgs[i].clone()
        } else {
            let m = q.msgs.remove(i).unwrap_or(Msg { mtype: 0, data: Vec::new() });
            q.cbytes -= m.data.len() as u64;
            q.lrpid = pid;
            q.rtime = now;
            m
        };
        m.data.truncate(size as usize);
        Ok(Some(m))
    }

    pub fn msg_rmid(&mut self, id: i32, c: &Cred) -> Result<(), Errno> {
        let (p, _) = self.msg.get(id)?;
        if !p.owner(c) {
            return Err(Errno::EPERM);
        }
        self.msg.remove(id);
        Ok(())
    }

    // ----- blocked calls -----

    /// The wait a call recorded when it blocked (it runs again: take it).
    pub fn take_wait(&mut self, pid: u32, tid: u32) -> Option<Wait> {
        self.waits.remove(&(pid, tid))
    }

    /// The set or queue a call waited for: EIDRM when it is gone, EAGAIN
    /// when its deadline passed.
    pub fn check_wait(&self, w: &Wait, now: u64) -> Result<(), Errno> {
        let gone = match w.what {
            WaitFor::Sem { id, .. } => !self.sem.exists(id),
            WaitFor::MsgSend { id } | WaitFor::MsgRecv { id } => !self.msg.exists(id),
            WaitFor::Mq { id, .. } => self.mq.get(id).is_none(),
        };
        if gone {
            return Err(Errno::EIDRM);
        }
        if w.deadline.is_some_and(|d| now >= d) {
            return Err(Errno::EAGAIN);
        }
        Ok(())
    }

    /// A signal ended the wait, or its thread or process went.
    pub fn cancel(&mut self, pid: u32, tid: Option<u32>) {
        self.waits.retain(|&(p, t), _| p != pid || tid.is_some_and(|x| x != t));
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.waits.values().filter(|w| !w.expired).filter_map(|w| w.deadline).min()
    }

    /// Mark the waits whose deadline passed: true if any (they must look again).
    pub fn expire(&mut self, now: u64) -> bool {
        let mut any = false;
        for w in self.waits.values_mut() {
            if !w.expired && w.deadline.is_some_and(|d| now >= d) {
                w.expired = true;
                any = true;
            }
        }
        any
    }
}

/// /proc/sysvipc/shm, sem and msg, as Linux's `sysvipc_*_proc_show`.
impl Ipc {
    pub fn proc_shm(&self) -> alloc::string::String {
        let mut s = alloc::string::String::from("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n");
        for (&i, (p, g)) in &self.shm.items {
            s += &alloc::format!(
                "{:>10} {:>10}  {:>4o} {:>21} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>21} {:>21}\n",
                p.key,
                Ids::<Seg>::id_of(p, i),
                p.mode,
                g.size,
                g.cpid,
                g.lpid,
                g.nattch,
                p.uid,
                p.gid,
                p.cuid,
                p.cgid,
                g.atime,
                g.dtime,
                g.ctime,
                g.pages() * 4096,
                0
            );
        }
        s
    }
    pub fn proc_sem(&self) -> alloc::string::String {
        let mut s = alloc::string::String::from("       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n");
        for (&i, (p, m)) in &self.sem.items {
            s += &alloc::format!(
                "{:>10} {:>10}  {:>4o} {:>10} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10}\n",
                p.key,
                Ids::<SemSet>::id_of(p, i),
                p.mode,
                m.sems.len(),
                p.uid,
                p.gid,
                p.cuid,
                p.cgid,
                m.otime,
                m.ctime
            );
        }
        s
    }
    pub fn proc_msg(&self) -> alloc::string::String {
        let mut s = alloc::string::String::from(
            "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n",
        );
        for (&i, (p, q)) in &self.msg.items {
            s += &alloc::format!(
                "{:>10} {:>10}  {:>4o}  {:>10} {:>10} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10}\n",
                p.key,
                Ids::<Queue>::id_of(p, i),
                p.mode,
                q.cbytes,
                q.msgs.len(),
                q.lspid,
                q.lrpid,
                p.uid,
                p.gid,
                p.cuid,
                p.cgid,
                q.stime,
                q.rtime,
                q.ctime
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Cred = Cred { uid: 0, gid: 0, root: true };
    const ALICE: Cred = Cred { uid: 1000, gid: 1000, root: false };
    const BOB: Cred = Cred { uid: 1001, gid: 1001, root: false };

    fn mem(_addr: u64, _len: u64) -> Result<u64, Errno> {
        Ok(9)
    }

    #[test]
    fn keys_and_ids() {
        let mut ipc = Ipc::default();
        let a = ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1).unwrap();
        let b = ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1).unwrap();
        assert_eq!((a, b), (0, SEQ_MULTIPLIER + 1));
        assert_eq!(ipc.msgget(42, 0o600, &ALICE, 1), Err(Errno::ENOENT));
        let k = ipc.msgget(42, IPC_CREAT | 0o640, &ALICE, 1).unwrap();
        assert_eq!(ipc.msgget(42, 0, &ALICE, 1), Ok(k));
        assert_eq!(ipc.msgget(42, IPC_CREAT, &ALICE, 1), Ok(k));
        assert_eq!(ipc.msgget(42, IPC_CREAT | IPC_EXCL, &ALICE, 1), Err(Errno::EEXIST));
        assert_eq!(ipc.msgget(42, 0o600, &BOB, 1), Err(Errno::EACCES));
        assert_eq!(ipc.msgget(42, 0, &BOB, 1), Ok(k));
        assert_eq!(ipc.msg_rmid(k, &BOB), Err(Errno::EPERM));
        ipc.msg_rmid(k, &ALICE).unwrap();
        assert_eq!(ipc.msg.get(k).err(), Some(Errno::EINVAL));
        // The index is used again with a new sequence number.
        let again = ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1).unwrap();
        assert_eq!(again % SEQ_MULTIPLIER, k % SEQ_MULTIPLIER);
        assert_ne!(again, k);
        assert_eq!(ipc.msg.get(-1).err(), Some(Errno::EINVAL));
    }

    #[test]
    fn next_id_and_free_indices() {
        let mut ipc = Ipc::default();
        let ids: Vec<i32> = (0..3).map(|_| ipc.semget(IPC_PRIVATE, 1, 0o600, &ALICE, 1).unwrap()).collect();
        assert_eq!(ids.iter().map(|i| i % SEQ_MULTIPLIER).collect::<Vec<_>>(), [0, 1, 2]);
        ipc.sem_rmid(ids[1], &ALICE).unwrap();
        assert_eq!(ipc.sem_total, 2);
        assert_eq!(ipc.semget(IPC_PRIVATE, 1, 0o600, &ALICE, 1).unwrap() % SEQ_MULTIPLIER, 1);
        assert_eq!(ipc.semget(IPC_PRIVATE, 1, 0o600, &ALICE, 1).unwrap() % SEQ_MULTIPLIER, 3);
        ipc.msg.next_id = 3 * SEQ_MULTIPLIER + 10;
        assert_eq!(ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1), Ok(3 * SEQ_MULTIPLIER + 10));
        assert_eq!(ipc.msg.next_id, -1);
        assert_eq!(ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1).unwrap() % SEQ_MULTIPLIER, 0);
        ipc.msg.next_id = 10;
        assert_eq!(ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1), Ok(11));
        ipc.msgmni = 4;
        ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1).unwrap();
        assert_eq!(ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1), Err(Errno::ENOSPC));
    }

    #[test]
    fn permissions() {
        let p = Perm { key: 1, uid: 1000, gid: 1000, cuid: 1000, cgid: 1000, mode: 0o640, seq: 0 };
        assert!(p.allows(&ALICE, READ | WRITE));
        assert!(p.allows(&Cred { uid: 5, gid: 1000, root: false }, READ));
        assert!(!p.allows(&Cred { uid: 5, gid: 1000, root: false }, WRITE));
        assert!(!p.allows(&BOB, READ));
        assert!(p.allows(&ROOT, READ | WRITE));
        assert!(p.owner(&ALICE) && !p.owner(&BOB) && p.owner(&ROOT));
    }

    #[test]
    fn shm_lives_until_last_detach() {
        let mut ipc = Ipc::default();
        assert_eq!(ipc.shmget(IPC_PRIVATE, 0, 0o600, &ALICE, 2, 1, mem), Err(Errno::EINVAL));
        let id = ipc.shmget(5, 4096, IPC_CREAT | 0o600, &ALICE, 2, 1, mem).unwrap();
        assert_eq!(ipc.shmget(5, 8192, 0o600, &ALICE, 2, 1, mem), Err(Errno::EINVAL));
        assert_eq!(ipc.shmget(5, 100, 0o600, &ALICE, 2, 1, mem), Ok(id));
        assert_eq!(ipc.shm_for_attach(id, &BOB, SHM_RDONLY).err(), Some(Errno::EACCES));
        ipc.shm_attached(id, 2, 5);
        ipc.shm_attached(id, 3, 6);
        assert_eq!(ipc.shm_rmid(id, &ALICE), Ok(None));
        let (p, s) = ipc.shm.get(id).unwrap();
        assert_eq!((p.mode & SHM_DEST, p.key, s.nattch, s.lpid), (SHM_DEST, IPC_PRIVATE, 2, 3));
        // The key is free again.
        assert_eq!(ipc.shmget(5, 100, 0o600, &ALICE, 2, 1, mem), Err(Errno::ENOENT));
        assert_eq!(ipc.shm_detached(id, 2, 7), None);
        assert_eq!(ipc.shm_detached(id, 3, 8), Some((SHM_BASE, 4096)));
        // Its range of the pool is used again.
        let id2 = ipc.shmget(IPC_PRIVATE, 100, 0o600, &ALICE, 2, 1, mem).unwrap();
        assert_eq!(ipc.shm.get(id2).unwrap().1.addr, SHM_BASE);
        let id3 = ipc.shmget(IPC_PRIVATE, 5000, 0o600, &ALICE, 2, 1, mem).unwrap();
        assert_eq!(ipc.shm.get(id3).unwrap().1.addr, SHM_BASE + 4096);
        assert_eq!(ipc.shm_total, 3);
        assert!(ipc.shm.get(id).is_err());
    }

    fn op(num: u16, op: i16, flg: i16) -> SemOp {
        SemOp { num, op, flg }
    }

    #[test]
    fn semop_all_or_nothing_and_undo() {
        let mut ipc = Ipc::default();
        assert_eq!(ipc.semget(IPC_PRIVATE, 0, 0o600, &ALICE, 1), Err(Errno::EINVAL));
        let id = ipc.semget(IPC_PRIVATE, 2, 0o600, &ALICE, 1).unwrap();
        assert_eq!(ipc.semop(id, &[op(2, 1, 0)], &ALICE, 2, 1), Err(Errno::EFBIG));
        assert_eq!(ipc.semop(id, &[op(0, 1, 0)], &BOB, 2, 1), Err(Errno::EACCES));
        // The second operation blocks: the first is not done either.
        assert_eq!(ipc.semop(id, &[op(0, 1, 0), op(1, -1, 0)], &ALICE, 2, 1), Ok(SemOutcome::Block { num: 1, zero: false }));
        assert_eq!(ipc.sem.get(id).unwrap().1.sems[0].val, 0);
        assert_eq!(ipc.semop(id, &[op(1, -1, IPC_NOWAIT as i16)], &ALICE, 2, 1), Err(Errno::EAGAIN));
        assert_eq!(ipc.semop(id, &[op(0, 3, SEM_UNDO as i16)], &ALICE, 2, 1), Ok(SemOutcome::Done));
        assert_eq!(ipc.semop(id, &[op(0, 0, 0)], &ALICE, 3, 1), Ok(SemOutcome::Block { num: 0, zero: true }));
        assert_eq!(ipc.semop(id, &[op(0, i16::MAX, 0)], &ALICE, 3, 1), Err(Errno::ERANGE));
        assert_eq!(ipc.sem.get(id).unwrap().1.sems[0], Sem { val: 3, pid: 2 });
        assert!(ipc.sem_exit(2));
        assert_eq!(ipc.sem.get(id).unwrap().1.sems[0].val, 0);
        // SETVAL clears the adjustments.
        ipc.semop(id, &[op(1, 2, SEM_UNDO as i16)], &ALICE, 4, 1).unwrap();
        ipc.sem_set(id, 1, &[5], 9, 2).unwrap();
        assert!(!ipc.sem_exit(4));
        assert_eq!(ipc.sem.get(id).unwrap().1.sems[1], Sem { val: 5, pid: 9 });
        assert_eq!(ipc.sem_set(id, 0, &[SEMVMX + 1], 9, 2), Err(Errno::ERANGE));
    }

    #[test]
    fn waits_see_removal_and_deadlines() {
        let mut ipc = Ipc::default();
        let id = ipc.semget(IPC_PRIVATE, 1, 0o600, &ALICE, 1).unwrap();
        let w = Wait { what: WaitFor::Sem { id, num: 0, zero: false }, deadline: Some(100), expired: false };
        ipc.waits.insert((2, 2), w);
        assert_eq!(ipc.sem_waiting(id, 0, false), 1);
        assert_eq!(ipc.sem_waiting(id, 0, true), 0);
        assert_eq!(ipc.next_deadline(), Some(100));
        assert!(!ipc.expire(99));
        assert!(ipc.expire(100));
        assert!(!ipc.expire(101));
        assert_eq!(ipc.check_wait(&w, 50), Ok(()));
        assert_eq!(ipc.check_wait(&w, 100), Err(Errno::EAGAIN));
        ipc.sem_rmid(id, &ALICE).unwrap();
        assert_eq!(ipc.check_wait(&w, 50), Err(Errno::EIDRM));
        ipc.cancel(2, Some(3));
        assert_eq!(ipc.waits.len(), 1);
        ipc.cancel(2, None);
        assert!(ipc.waits.is_empty());
    }

    #[test]
    fn proc_files() {
        let mut ipc = Ipc::default();
        ipc.msgget(7, IPC_CREAT | 0o600, &ALICE, 5).unwrap();
        ipc.semget(IPC_PRIVATE, 2, 0o640, &ALICE, 5).unwrap();
        let msg = ipc.proc_msg();
        assert_eq!(msg.lines().count(), 2);
        assert_eq!(
            msg.lines().nth(1).unwrap().split_whitespace().collect::<Vec<_>>(),
            ["7", "0", "600", "0", "0", "0", "0", "1000", "1000", "1000", "1000", "0", "0", "5"]
        );
        assert_eq!(ipc.proc_sem().lines().nth(1).unwrap().split_whitespace().nth(3), Some("2"));
        assert_eq!(ipc.proc_shm().lines().count(), 1);
    }

    #[test]
    fn messages_by_type() {
        let mut ipc = Ipc::default();
        let id = ipc.msgget(IPC_PRIVATE, 0o600, &ALICE, 1).unwrap();
        for (t, d) in [(3, "c"), (1, "a1"), (2, "b"), (1, "a2")] {
            assert_eq!(ipc.msgsnd(id, t, d.as_bytes(), 0, &ALICE, 2, 1), Ok(true));
        }
        let q = &ipc.msg.get(id).unwrap().1;
        assert_eq!(select_msg(q, 0, 0), Some(0));
        assert_eq!(select_msg(q, 2, 0), Some(2));
        assert_eq!(select_msg(q, 3, MSG_EXCEPT), Some(1));
        assert_eq!(select_msg(q, -2, 0), Some(1));
        assert_eq!(select_msg(q, -3, 0), Some(1));
        assert_eq!(select_msg(q, 4, 0), None);
        assert_eq!(select_msg(q, 3, MSG_COPY), Some(3));
        assert_eq!(select_msg(q, 4, MSG_COPY), None);
        assert_eq!(ipc.msgrcv(id, 1, 1, 0, &ALICE, 3, 2), Err(Errno::E2BIG));
        assert_eq!(ipc.msgrcv(id, 1, 1, MSG_NOERROR, &ALICE, 3, 2).unwrap().unwrap().data, b"a");
        assert_eq!(ipc.msgrcv(id, 10, 2, MSG_COPY, &ALICE, 3, 2).unwrap().unwrap().data, b"a2");
        assert_eq!(ipc.msgrcv(id, 10, -5, 0, &ALICE, 3, 2).unwrap().unwrap().data, b"a2");
        assert_eq!(ipc.msgrcv(id, 10, 7, 0, &ALICE, 3, 2), Ok(None));
        assert_eq!(ipc.msgrcv(id, 10, 7, IPC_NOWAIT, &ALICE, 3, 2), Err(Errno::ENOMSG));
        let q = &ipc.msg.get(id).unwrap().1;
        assert_eq!((q.msgs.len(), q.cbytes, q.lrpid, q.lspid), (2, 2, 3, 2));
        // A full queue.
        ipc.msg.get_mut(id).unwrap().1.qbytes = 4;
        assert_eq!(ipc.msgsnd(id, 1, b"xyz", 0, &ALICE, 2, 1), Ok(false));
        assert_eq!(ipc.msgsnd(id, 1, b"xyz", IPC_NOWAIT, &ALICE, 2, 1), Err(Errno::EAGAIN));
        assert_eq!(ipc.msgsnd(id, 1, b"xy", IPC_NOWAIT, &ALICE, 2, 1), Ok(true));
    }
}
