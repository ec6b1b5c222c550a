//! System V IPC calls of a process against the job's namespace
//! (`JobState::ipc`, [`crate::sysv::Ipc`], pure and host-tested): the
//! arguments read and the structures written here, in the caller's ABI
//! ([`IpcLayout`]). A segment's pages live in the job's pool space
//! (`Host::shm_space`); an attach maps those very frames (`mem_share_from`),
//! so every process that attaches a segment, and every fork of one, sees the
//! same bytes, and the segment outlives its attaches until IPC_RMID. A
//! semop, msgsnd or msgrcv that must wait is a deferred reply
//! ([`Process::block_retry`]), run again after anything in the job changed;
//! its wait is kept in the namespace (GETNCNT/GETZCNT count them, removal
//! gives EIDRM, semtimedop's deadline EAGAIN).

use super::*;
use crate::sysv::{Cred, SemOp, SemOutcome, Wait, WaitFor};

/// Linux's capabilities the calls consult.
const CAP_IPC_LOCK: u32 = 14;
const CAP_IPC_OWNER: u32 = 15;
const RLIMIT_MEMLOCK: usize = 8;

fn seconds(h: &mut dyn Host) -> u64 {
    h.realtime_ns() / 1_000_000_000
}

impl Process {
    fn ipc_cred(&self) -> Cred {
        Cred { uid: self.uid, gid: self.gid, root: self.capable(CAP_IPC_OWNER) }
    }

    fn put_user(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, b: &[u8]) -> Result<(), Errno> {
        self.write_user(h, abi, addr, b)
    }

    // ----- shared memory -----

    pub(crate) fn sys_shmget(&mut self, h: &mut dyn Host, key: i32, size: u64, flg: u32) -> SysResult {
        let (c, pid, now) = (self.ipc_cred(), self.pid, seconds(h));
        if self.job.ipc.pool.space == 0 {
            self.job.ipc.pool.space = h.shm_space().ok_or(Errno::ENOMEM)?;
        }
        let pool = self.job.ipc.pool.space;
        let mut next = self.job.next_shm;
        let r = self.job.ipc.shmget(key, size, flg, &c, pid, now, |addr, len| {
            if !h.shm_map(pool, addr, len) {
                return Err(Errno::ENOMEM);
            }
            next += 1;
            Ok(next - 1)
        });
        self.job.next_shm = next;
        r.map(|id| id as u64)
    }

    pub(crate) fn sys_shmat(&mut self, h: &mut dyn Host, abi: Abi, id: i32, addr: u64, flg: u32) -> SysResult {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let mut addr = addr;
        if addr != 0 {
            if addr % PAGE != 0 {
                if flg & SHM_RND == 0 {
                    return Err(Errno::EINVAL);
                }
                addr = page_down(addr);
                if addr == 0 && flg & SHM_REMAP != 0 {
                    return Err(Errno::EINVAL);
                }
            }
        } else if flg & SHM_REMAP != 0 {
            return Err(Errno::EINVAL);
        }
        let c = self.ipc_cred();
        let seg = self.job.ipc.shm_for_attach(id, &c, flg)?;
        let (from, size, name) = (seg.addr, seg.size, seg.name);
        let space = self.job.ipc.pool.space;
        let len = page_up(size).ok_or(Errno::EINVAL)?;
        let prot = if flg & SHM_RDONLY != 0 { 1 } else { 3 } | if flg & SHM_EXEC != 0 { 4 } else { 0 };
        let limit = self.limit(abi);
        let start = if addr != 0 {
            let end = addr.checked_add(len).filter(|e| *e <= limit).ok_or(Errno::EINVAL)?;
            if !self.vmas.is_free(addr, end) {
                if flg & SHM_REMAP == 0 {
                    return Err(Errno::EINVAL);
                }
                self.sys_munmap(h, abi, addr, len)?;
            }
            addr
        } else {
            self.vmas.find_free_top_down(len, MMAP_MIN, self.mmap_top.min(limit)).ok_or(Errno::ENOMEM)?
        };
        if !self.vmas.insert(start, start + len, prot, VmaKind::Anon) {
            return Err(Errno::ENOMEM);
        }
        self.vmas.set_flags(start, start + len, crate::vma::flag::SHARED, 0);
        if !h.mem_share_from(space, from, start, len, prot | sion_abi::call::prot::SHARED) {
            self.vmas.remove_range(start, start + len);
            return Err(Errno::ENOMEM);
        }
        self.shm.push((start, start + len, name, 0));
        self.sysv_shm.push((start, start + len, id));
        let now = seconds(h);
        self.job.ipc.shm_attached(id, self.pid, now);
        Ok(start)
    }

    pub(crate) fn sys_shmdt(&mut self, h: &mut dyn Host, addr: u64) -> SysResult {
        if addr % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        let i = self.sysv_shm.iter().position(|a| a.0 == addr).ok_or(Errno::EINVAL)?;
        let (s, e, id) = self.sysv_shm.remove(i);
        self.shm.retain(|&(a, b, _, _)| b <= s || a >= e);
        if !self.vmas.remove_range(s, e).is_empty() {
            h.mem_unmap(s, e - s);
        }
        self.shm_detached(h, id);
        Ok(0)
    }

    /// remap_file_pages(start, size, prot, pgoff, flags) as Linux emulates
    /// it since 3.16: the shared mapping at `start` mapped again over
    /// `[start, start + size)` from page `pgoff` of what it maps (an
    /// mmap(MAP_SHARED|MAP_FIXED) of the same object). Done for System V
    /// segments (a segment removed meanwhile: the range is left unmapped and
    /// the call is EINVAL, as Linux's shm_mmap); a private mapping is EINVAL;
    /// shared file and anonymous mappings are not offered (EINVAL, logged).
    pub(crate) fn sys_remap_file_pages(&mut self, h: &mut dyn Host, abi: Abi, start: u64, size: u64, prot: u64, pgoff: u64) -> SysResult {
        if prot != 0 {
            return Err(Errno::EINVAL);
        }
        let (start, size) = (page_down(start), page_down(size));
        let end = start.checked_add(size).filter(|&e| e > start).ok_or(Errno::EINVAL)?;
        if pgoff.checked_add(size / PAGE).is_none() {
            return Err(Errno::EINVAL);
        }
        let v = self.vmas.lookup(start).ok_or(Errno::EINVAL)?;
        let Some(&(s, e, id)) = self.sysv_shm.iter().find(|&&(s, e, _)| s <= start && start < e) else {
            let shared = self.shared.iter().any(|m| m.0 <= start && start < m.1) || self.shm.iter().any(|m| m.0 <= start && start < m.1);
            if shared {
                h.log("remap_file_pages of a shared file or anonymous mapping: not offered: EINVAL");
            }
            return Err(Errno::EINVAL);
        };
        // Within the attach, mapped all along (its pages may show other
        // pages of the segment after earlier remaps).
        if end > e || !self.vmas.is_covered(start, end) {
            return Err(Errno::EINVAL);
        }
        let prot = v.prot;
        let off = pgoff.checked_mul(PAGE).ok_or(Errno::EINVAL)?;
        // What futexes in the rest of the attach are keyed by.
        let kept: Vec<(u64, u64, u64, u64)> = self.shm.iter().filter(|m| m.0 < end && start < m.1).copied().collect();
        // do_mmap(MAP_FIXED): the old mapping goes first (a whole attach
        // with its record, the segment too if it was removed and this was
        // its last attach).
        let whole = (s, e) == (start, end);
        self.sys_munmap(h, abi, start, size)?;
        for (s0, e0, n0, b0) in kept {
            if s0 < start {
                self.shm.push((s0, start, n0, b0));
            }
            if e0 > end {
                self.shm.push((end, e0, n0, b0 + (end - s0)));
            }
        }
        let c = self.ipc_cred();
        let flg = if prot & 2 == 0 { SHM_RDONLY } else { 0 } | if prot & 4 != 0 { SHM_EXEC } else { 0 };
        let seg = self.job.ipc.shm_for_attach(id, &c, flg).map_err(|_| Errno::EINVAL)?;
        let (from, seg_len, name) = (seg.addr, page_up(seg.size).unwrap_or(seg.size), seg.name);
        if off.checked_add(size).is_none_or(|x| x > seg_len) {
            return Err(Errno::EINVAL);
        }
        let space = self.job.ipc.pool.space;
        if !self.vmas.insert(start, end, prot, VmaKind::Anon) {
            return Err(Errno::ENOMEM);
        }
        if !h.mem_share_from(space, from + off, start, size, prot | sion_abi::call::prot::SHARED) {
            self.vmas.remove_range(start, end);
            return Err(Errno::ENOMEM);
        }
        self.shm.push((start, end, name, off));
        if whole {
            self.sysv_shm.push((start, end, id));
            let now = seconds(h);
            self.job.ipc.shm_attached(id, self.pid, now);
        }
        Ok(0)
    }

    fn shm_detached(&mut self, h: &mut dyn Host, id: i32) {
        let now = seconds(h);
        if let Some((addr, len)) = self.job.ipc.shm_detached(id, self.pid, now) {
            h.shm_unmap(self.job.ipc.pool.space, addr, len);
        }
    }

    /// `[start, end)` was unmapped: the attaches wholly inside it are gone.
    pub(crate) fn sysv_unmapped(&mut self, h: &mut dyn Host, start: u64, end: u64) {
        if self.sysv_shm.is_empty() {
            return;
        }
        let (gone, kept): (Vec<_>, Vec<_>) = core::mem::take(&mut self.sysv_shm).into_iter().partition(|&(s, e, _)| s >= start && e <= end);
        self.sysv_shm = kept;
        for (_, _, id) in gone {
            self.shm_detached(h, id);
        }
    }

    /// The process ends or execs: every attach goes.
    pub(crate) fn sysv_detach_all(&mut self, h: &mut dyn Host) {
        for (_, _, id) in core::mem::take(&mut self.sysv_shm) {
            self.shm_detached(h, id);
        }
    }

    pub(crate) fn sys_shmctl(&mut self, h: &mut dyn Host, abi: Abi, id: i32, cmd: u32, buf: u64, layout: IpcLayout) -> SysResult {
        let c = self.ipc_cred();
        let _ = abi;
        match cmd {
            IPC_INFO => {
                let ipc = &self.job.ipc;
                let b = layout.shminfo(ipc.shmmni, ipc.shmmax, ipc.shmall);
                self.put_user(h, abi, buf, &b)?;
                Ok(self.job.ipc.shm.max_idx() as u64)
            }
            SHM_INFO => {
                let ipc = &self.job.ipc;
                let pages: u64 = ipc.shm.items.values().map(|(_, s)| s.pages()).sum();
                let b = layout.shm_info(ipc.shm.len() as u32, pages, pages);
                self.put_user(h, abi, buf, &b)?;
                Ok(self.job.ipc.shm.max_idx() as u64)
            }
            IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
                let (rid, (p, s)) = if cmd == IPC_STAT { (0, self.job.ipc.shm.get(id)?) } else { self.job.ipc.shm.by_index(id)? };
                if cmd != SHM_STAT_ANY && !p.allows(&c, crate::sysv::READ) {
                    return Err(Errno::EACCES);
                }
                let b = layout.shmid_ds(p, s);
                self.put_user(h, abi, buf, &b)?;
                Ok(rid as u64)
            }
            IPC_SET => {
                let b = self.read_user(h, abi, buf, layout.shmid_size())?;
                let (uid, gid, mode) = layout.read_set(&b);
                let now = seconds(h);
                let (p, s) = self.job.ipc.shm.get_mut(id)?;
                if !p.owner(&c) {
                    return Err(Errno::EPERM);
                }
                p.set(uid, gid, mode);
                s.ctime = now;
                Ok(0)
            }
            IPC_RMID => {
                if let Some((addr, len)) = self.job.ipc.shm_rmid(id, &c)? {
                    h.shm_unmap(self.job.ipc.pool.space, addr, len);
                }
                Ok(0)
            }
            SHM_LOCK | SHM_UNLOCK => {
                let memlock = self.rlimits[RLIMIT_MEMLOCK].0;
                let lock = self.capable(CAP_IPC_LOCK);
                let (p, _) = self.job.ipc.shm.get_mut(id)?;
                if !lock && (!(c.uid == p.uid || c.uid == p.cuid) || (cmd == SHM_LOCK && memlock == 0)) {
                    return Err(Errno::EPERM);
                }
                if cmd == SHM_LOCK {
                    p.mode |= SHM_LOCKED;
                } else {
                    p.mode &= !SHM_LOCKED;
                }
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    // ----- semaphores -----

    pub(crate) fn sys_semget(&mut self, h: &mut dyn Host, key: i32, nsems: i32, flg: u32) -> SysResult {
        let (c, now) = (self.ipc_cred(), seconds(h));
        self.job.ipc.semget(key, nsems, flg, &c, now).map(|id| id as u64)
    }

    /// semop and semtimedop (`timeout`: the address of its relative time, or 0).
    pub(crate) fn sys_semop(&mut self, h: &mut dyn Host, abi: Abi, id: i32, sops: u64, nsops: u64, timeout: u64, bits: TimeBits) -> SysResult {
        let mono = h.now_ns();
        let before = self.job.ipc.take_wait(self.pid, self.tid);
        if let Some(w) = &before {
            self.job.ipc.check_wait(w, mono)?;
        }
        if nsops < 1 || id < 0 {
            return Err(Errno::EINVAL);
        }
        if nsops > self.job.ipc.sem_limits[2] as u64 {
            return Err(Errno::E2BIG);
        }
        let b = self.read_user(h, abi, sops, nsops as usize * 6)?;
        let ops: Vec<SemOp> = b
            .chunks(6)
            .map(|o| SemOp { num: u16::from_le_bytes([o[0], o[1]]), op: i16::from_le_bytes([o[2], o[3]]), flg: i16::from_le_bytes([o[4], o[5]]) })
            .collect();
        let timeout = if timeout != 0 && before.is_none() { Some(self.read_timespec(h, abi, timeout, bits)?) } else { None };
        let deadline = match &before {
            Some(w) => w.deadline,
            None => timeout.map(|t| mono.saturating_add(t)),
        };
        let (c, pid, now) = (self.ipc_cred(), self.pid, seconds(h));
        match self.job.ipc.semop(id, &ops, &c, pid, now)? {
            SemOutcome::Done => Ok(0),
            SemOutcome::Block { num, zero } => {
                if deadline.is_some_and(|d| d <= mono) {
                    return Err(Errno::EAGAIN);
                }
                self.job.ipc.waits.insert((self.pid, self.tid), Wait { what: WaitFor::Sem { id, num, zero }, deadline, expired: false });
                self.block_retry()
            }
        }
    }

    pub(crate) fn sys_semctl(&mut self, h: &mut dyn Host, abi: Abi, id: i32, num: i32, cmd: u32, arg: u64, layout: IpcLayout) -> SysResult {
        let (c, pid, now) = (self.ipc_cred(), self.pid, seconds(h));
        let ptr = if abi == Abi::I386 { arg & 0xffff_ffff } else { arg };
        match cmd {
            IPC_INFO | SEM_INFO => {
                let ipc = &self.job.ipc;
                let total: usize = ipc.sem.items.values().map(|(_, s)| s.sems.len()).sum();
                let (usz, aem) = if cmd == SEM_INFO { (ipc.sem.len() as u32, total as u32) } else { (SEMUSZ, SEMAEM as u32) };
                let [msl, mns, opm, mni] = ipc.sem_limits;
                let b = IpcLayout::seminfo([mns, mni, mns, mns, msl, opm, opm, usz, SEMVMX as u32, aem]);
                let max = ipc.sem.max_idx();
                self.put_user(h, abi, ptr, &b)?;
                Ok(max as u64)
            }
            IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
                let (rid, (p, s)) = if cmd == IPC_STAT { (0, self.job.ipc.sem.get(id)?) } else { self.job.ipc.sem.by_index(id)? };
                if cmd != SEM_STAT_ANY && !p.allows(&c, crate::sysv::READ) {
                    return Err(Errno::EACCES);
                }
                let b = layout.semid_ds(p, s);
                self.put_user(h, abi, ptr, &b)?;
                Ok(rid as u64)
            }
            IPC_SET => {
                let b = self.read_user(h, abi, ptr, layout.semid_size())?;
                let (uid, gid, mode) = layout.read_set(&b);
                let (p, s) = self.job.ipc.sem.get_mut(id)?;
                if !p.owner(&c) {
                    return Err(Errno::EPERM);
                }
                p.set(uid, gid, mode);
                s.ctime = now;
                Ok(0)
            }
            IPC_RMID => self.job.ipc.sem_rmid(id, &c).map(|_| 0),
            GETVAL | GETPID | GETNCNT | GETZCNT | GETALL | SETALL => {
                let (p, s) = self.job.ipc.sem.get(id)?;
                if !p.allows(&c, if cmd == SETALL { crate::sysv::WRITE } else { crate::sysv::READ }) {
                    return Err(Errno::EACCES);
                }
                let n = s.sems.len();
                if cmd == GETALL {
                    let b: Vec<u8> = s.sems.iter().flat_map(|x| (x.val as u16).to_le_bytes()).collect();
                    self.put_user(h, abi, ptr, &b)?;
                    return Ok(0);
                }
                if cmd == SETALL {
                    let b = self.read_user(h, abi, ptr, n * 2)?;
                    let vals: Vec<i32> = b.chunks(2).map(|v| u16::from_le_bytes([v[0], v[1]]) as i32).collect();
                    self.job.ipc.sem_set(id, 0, &vals, pid, now)?;
                    return Ok(0);
                }
                if num < 0 || num as usize >= n {
                    return Err(Errno::EINVAL);
                }
                let sem = s.sems[num as usize];
                Ok(match cmd {
                    GETVAL => sem.val as u64,
                    GETPID => sem.pid as u64,
                    GETNCNT => self.job.ipc.sem_waiting(id, num as u16, false),
                    _ => self.job.ipc.sem_waiting(id, num as u16, true),
                })
            }
            SETVAL => {
                let val = arg as u32 as i32;
                if !(0..=SEMVMX).contains(&val) {
                    return Err(Errno::ERANGE);
                }
                let (p, s) = self.job.ipc.sem.get(id)?;
                if num < 0 || num as usize >= s.sems.len() {
                    return Err(Errno::EINVAL);
                }
                if !p.allows(&c, crate::sysv::WRITE) {
                    return Err(Errno::EACCES);
                }
                self.job.ipc.sem_set(id, num as usize, &[val], pid, now)?;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    // ----- message queues -----

    pub(crate) fn sys_msgget(&mut self, h: &mut dyn Host, key: i32, flg: u32) -> SysResult {
        let (c, now) = (self.ipc_cred(), seconds(h));
        self.job.ipc.msgget(key, flg, &c, now).map(|id| id as u64)
    }

    fn read_long(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<i64, Errno> {
        let b = self.read_user(h, abi, addr, abi.word())?;
        Ok(if abi == Abi::I386 { i32::from_le_bytes(b[..4].try_into().unwrap()) as i64 } else { i64::from_le_bytes(b[..8].try_into().unwrap()) })
    }

    pub(crate) fn sys_msgsnd(&mut self, h: &mut dyn Host, abi: Abi, id: i32, msgp: u64, size: i64, flg: u32) -> SysResult {
        if let Some(w) = self.job.ipc.take_wait(self.pid, self.tid) {
            self.job.ipc.check_wait(&w, 0)?;
        }
        if size > self.job.ipc.msgmax as i64 || size < 0 || id < 0 {
            return Err(Errno::EINVAL);
        }
        let mtype = self.read_long(h, abi, msgp)?;
        if mtype < 1 {
            return Err(Errno::EINVAL);
        }
        let data = self.read_user(h, abi, msgp + abi.word() as u64, size as usize)?;
        let (c, pid, now) = (self.ipc_cred(), self.pid, seconds(h));
        if self.job.ipc.msgsnd(id, mtype, &data, flg, &c, pid, now)? {
            return Ok(0);
        }
        self.job.ipc.waits.insert((self.pid, self.tid), Wait { what: WaitFor::MsgSend { id }, deadline: None, expired: false });
        self.block_retry()
    }

    pub(crate) fn sys_msgrcv(&mut self, h: &mut dyn Host, abi: Abi, id: i32, msgp: u64, size: i64, msgtyp: i64, flg: u32) -> SysResult {
        if let Some(w) = self.job.ipc.take_wait(self.pid, self.tid) {
            self.job.ipc.check_wait(&w, 0)?;
        }
        if id < 0 || size < 0 {
            return Err(Errno::EINVAL);
        }
        if flg & MSG_COPY != 0 && (flg & MSG_EXCEPT != 0 || flg & IPC_NOWAIT == 0) {
            return Err(Errno::EINVAL);
        }
        let (c, pid, now) = (self.ipc_cred(), self.pid, seconds(h));
        let size = (size as u64).min(if flg & MSG_COPY != 0 { self.job.ipc.msgmax } else { u64::MAX });
        match self.job.ipc.msgrcv(id, size, msgtyp, flg, &c, pid, now)? {
            Some(m) => {
                let w = abi.word();
                let mut b = alloc::vec![0u8; w];
                b.copy_from_slice(&m.mtype.to_le_bytes()[..w]);
                b.extend_from_slice(&m.data);
                self.put_user(h, abi, msgp, &b)?;
                Ok(m.data.len() as u64)
            }
            None => {
                self.job.ipc.waits.insert((self.pid, self.tid), Wait { what: WaitFor::MsgRecv { id }, deadline: None, expired: false });
                self.block_retry()
            }
        }
    }

    pub(crate) fn sys_msgctl(&mut self, h: &mut dyn Host, abi: Abi, id: i32, cmd: u32, buf: u64, layout: IpcLayout) -> SysResult {
        let (c, now) = (self.ipc_cred(), seconds(h));
        match cmd {
            IPC_INFO | MSG_INFO => {
                let ipc = &self.job.ipc;
                let (mnb, max, mni) = (ipc.msgmnb as u32, ipc.msgmax as u32, ipc.msgmni);
                let (pool, map, tql) = if cmd == MSG_INFO {
                    let msgs: usize = ipc.msg.items.values().map(|(_, q)| q.msgs.len()).sum();
                    let bytes: u64 = ipc.msg.items.values().map(|(_, q)| q.cbytes).sum();
                    (ipc.msg.len() as u32, msgs as u32, bytes.min(i32::MAX as u64) as u32)
                } else {
                    (MSGMNI * MSGMNB / 1024, MSGMNB, MSGMNB)
                };
                let b = IpcLayout::msginfo([pool, map, max, mnb, mni, 16, tql], 0xffff);
                let max = ipc.msg.max_idx();
                self.put_user(h, abi, buf, &b)?;
                Ok(max as u64)
            }
            IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
                let (rid, (p, q)) = if cmd == IPC_STAT { (0, self.job.ipc.msg.get(id)?) } else { self.job.ipc.msg.by_index(id)? };
                if cmd != MSG_STAT_ANY && !p.allows(&c, crate::sysv::READ) {
                    return Err(Errno::EACCES);
                }
                let b = layout.msqid_ds(p, q);
                self.put_user(h, abi, buf, &b)?;
                Ok(rid as u64)
            }
            IPC_SET => {
                let b = self.read_user(h, abi, buf, layout.msqid_size())?;
                let (uid, gid, mode) = layout.read_set(&b);
                let qbytes = layout.read_qbytes(&b);
                let resource = self.capable(crate::linux::CAP_SYS_RESOURCE);
                let mnb = self.job.ipc.msgmnb;
                let (p, q) = self.job.ipc.msg.get_mut(id)?;
                if !p.owner(&c) {
                    return Err(Errno::EPERM);
                }
                if qbytes > mnb && !resource {
                    return Err(Errno::EPERM);
                }
                q.qbytes = qbytes;
                p.set(uid, gid, mode);
                q.ctime = now;
                Ok(0)
            }
            IPC_RMID => self.job.ipc.msg_rmid(id, &c).map(|_| 0),
            _ => Err(Errno::EINVAL),
        }
    }
}
