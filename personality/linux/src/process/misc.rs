//! Memory extras (mremap, madvise, msync, mincore) and time and identity
//! calls (times, getrusage, sysinfo, scheduler queries, the id family,
//! groups, sethostname).

use super::*;
use crate::syscalls::table::MiscCall as M;

const NGROUPS_MAX: u64 = 65536;
const RLIMIT_MEMLOCK: usize = 8;

/// `struct itimerval` (interval, value), each a timeval of words.
fn itimerval(abi: Abi, (interval, left): (u64, u64)) -> Vec<u8> {
    let mut b = Vec::new();
    for ns in [interval, left] {
        push_word(abi, &mut b, ns / 1_000_000_000);
        // Linux rounds a remaining time that is not zero up to 1 µs.
        push_word(abi, &mut b, (ns % 1_000_000_000).div_ceil(1000));
    }
    b
}

impl Process {
    pub(super) fn misc_call(&mut self, h: &mut dyn Host, abi: Abi, call: M, a: [u64; 6]) -> Outcome {
        let r: SysResult = match call {
            M::Mremap => self.sys_mremap(h, abi, a[0], a[1], a[2], a[3] as u32, a[4]),
            M::Madvise => self.sys_madvise(h, abi, a[0], a[1], a[2] as u32),
            M::Msync => self.sys_msync(h, abi, a[0], a[1], a[2] as u32),
            M::Mincore => self.sys_mincore(h, abi, a[0], a[1], a[2]),
            M::Mlock => self.sys_mlock(abi, a[0], a[1], 0, true),
            M::Mlock2 => self.sys_mlock(abi, a[0], a[1], a[2] as u32, true),
            M::Munlock => self.sys_mlock(abi, a[0], a[1], 0, false),
            M::Mlockall => self.sys_mlockall(a[0] as u32),
            M::Munlockall => Ok(0),
            M::Times => {
                let ticks = h.cpu_ns() / 10_000_000;
                if a[0] != 0 {
                    let mut b = Vec::new();
                    for v in [ticks, 0, 0, 0] {
                        push_word(abi, &mut b, v);
                    }
                    if let Err(e) = self.write_user(h, abi, a[0], &b) {
                        return e.into();
                    }
                }
                // Clock ticks since boot (the value Linux returns, offset as Linux does).
                let t = h.now_ns() / 10_000_000;
                Ok(if abi == Abi::I386 { t & 0xffff_ffff } else { t })
            }
            M::Getrusage => {
                let who = a[0] as i32;
                if !matches!(who, 0 | -1 | 1) {
                    Err(Errno::EINVAL)
                } else {
                    let cpu = if who == -1 { 0 } else { h.cpu_ns() };
                    let mut b = Vec::new();
                    push_word(abi, &mut b, cpu / 1_000_000_000);
                    push_word(abi, &mut b, cpu % 1_000_000_000 / 1000);
                    push_word(abi, &mut b, 0);
                    push_word(abi, &mut b, 0);
                    let maxrss = if who == -1 { 0 } else { h.node_info().space_bytes / 1024 };
                    push_word(abi, &mut b, maxrss);
                    for _ in 0..13 {
                        push_word(abi, &mut b, 0);
                    }
                    self.write_user(h, abi, a[1], &b).map(|_| 0)
                }
            }
            M::Sysinfo => {
                let n = h.node_info();
                let mut b = Vec::new();
                push_word(abi, &mut b, n.uptime_ns / 1_000_000_000);
                for _ in 0..3 {
                    push_word(abi, &mut b, 0); // loads
                }
                let unit = if abi == Abi::I386 && n.total_bytes > u32::MAX as u64 { 4096 } else { 1 };
                push_word(abi, &mut b, n.total_bytes / unit);
                push_word(abi, &mut b, n.free_bytes / unit);
                push_word(abi, &mut b, self.job.vfs.used() / unit); // shared (tmpfs)
                push_word(abi, &mut b, 0); // buffers
                push_word(abi, &mut b, 0); // total swap
                push_word(abi, &mut b, 0); // free swap
                b.extend_from_slice(&(n.tasks.max(1) as u16).to_le_bytes());
                b.extend_from_slice(&[0, 0]);
                if abi == Abi::X86_64 {
                    b.extend_from_slice(&[0, 0, 0, 0]);
                }
                push_word(abi, &mut b, 0); // total high
                push_word(abi, &mut b, 0); // free high
                b.extend_from_slice(&(unit as u32).to_le_bytes());
                let size = if abi == Abi::X86_64 { 112 } else { 64 };
                b.resize(size, 0);
                self.write_user(h, abi, a[0], &b).map(|_| 0)
            }
            M::SchedYield => Ok(0),
            M::SchedGetaffinity => {
                let (pid, len, mask) = (a[0] as i32, a[1] as u32 as usize, a[2]);
                let w = abi.word();
                if pid != 0 && pid as u32 != self.pid {
                    Err(Errno::ESRCH)
                } else if len % w != 0 || len * 8 < 1 {
                    Err(Errno::EINVAL)
                } else {
                    // One CPU: the mask is one word with bit 0.
                    let mut b = alloc::vec![0u8; w];
                    b[0] = 1;
                    self.write_user(h, abi, mask, &b).map(|_| w as u64)
                }
            }
            M::SchedSetaffinity => {
                let (pid, len, mask) = (a[0] as i32, a[1] as u32 as usize, a[2]);
                if pid != 0 && pid as u32 != self.pid {
                    Err(Errno::ESRCH)
                } else {
                    match self.read_user(h, abi, mask, len.min(128)) {
                        Ok(b) if b.first().is_some_and(|x| x & 1 != 0) => Ok(0),
                        Ok(_) => Err(Errno::EINVAL),
                        Err(e) => Err(e),
                    }
                }
            }
            M::Getcpu => {
                let mut r = Ok(0);
                for p in [a[0], a[1]] {
                    if p != 0 && r.is_ok() {
                        r = self.write_user(h, abi, p, &0u32.to_le_bytes()).map(|_| 0);
                    }
                }
                r
            }
            M::Getgroups { bits16 } => {
                let size = a[0] as i32;
                let n = self.files.cred.groups.len() as i32;
                if size < 0 {
                    Err(Errno::EINVAL)
                } else if size == 0 {
                    Ok(n as u64)
                } else if size < n {
                    Err(Errno::EINVAL)
                } else {
                    let mut b = Vec::new();
                    for &g in &self.files.cred.groups {
                        if bits16 {
                            b.extend_from_slice(&(id16(g, true) as u16).to_le_bytes());
                        } else {
                            b.extend_from_slice(&g.to_le_bytes());
                        }
                    }
                    self.write_user(h, abi, a[1], &b).map(|_| n as u64)
                }
            }
            M::Setgroups { bits16 } => {
                let size = a[0] as i32;
                if size < 0 || size as u64 > NGROUPS_MAX {
                    Err(Errno::EINVAL)
                } else if self.uid != 0 {
                    Err(Errno::EPERM)
                } else {
                    let w = if bits16 { 2 } else { 4 };
                    match self.read_user(h, abi, a[1], size as usize * w) {
                        Ok(b) => {
                            let mut g: Vec<u32> = b.chunks(w).map(|c| if bits16 { u16::from_le_bytes([c[0], c[1]]) as u32 } else { u32::from_le_bytes([c[0], c[1], c[2], c[3]]) }).collect();
                            g.sort_unstable();
                            g.dedup();
                            self.files.cred.groups = g;
                            Ok(0)
                        }
                        Err(e) => Err(e),
                    }
                }
            }
            M::Getresuid { bits16 } | M::Getresgid { bits16 } => {
                let v = if matches!(call, M::Getresuid { .. }) { self.uid } else { self.gid };
                let mut r = Ok(0);
                for p in [a[0], a[1], a[2]] {
                    if r.is_ok() {
                        r = if bits16 { self.write_user(h, abi, p, &(id16(v, true) as u16).to_le_bytes()) } else { self.write_user(h, abi, p, &v.to_le_bytes()) }.map(|_| 0);
                    }
                }
                r
            }
            M::Setuid { bits16 } | M::Setgid { bits16 } => {
                let id = if bits16 { a[0] as u16 as u32 } else { a[0] as u32 };
                self.set_ids(matches!(call, M::Setuid { .. }), &[id])
            }
            M::Setreuid { bits16 } | M::Setregid { bits16 } | M::Setresuid { bits16 } | M::Setresgid { bits16 } => {
                let n = if matches!(call, M::Setreuid { .. } | M::Setregid { .. }) { 2 } else { 3 };
                let ids: Vec<u32> = a[..n].iter().map(|&x| if bits16 { if x as u16 == 0xffff { u32::MAX } else { x as u16 as u32 } } else { x as u32 }).filter(|&x| x != u32::MAX).collect();
                self.set_ids(matches!(call, M::Setreuid { .. } | M::Setresuid { .. }), &ids)
            }
            M::Sethostname => {
                let len = a[1] as u32 as i32;
                if !(0..=64).contains(&len) {
                    Err(Errno::EINVAL)
                } else if self.uid != 0 {
                    Err(Errno::EPERM)
                } else {
                    match self.read_user(h, abi, a[0], len as usize) {
                        Ok(b) => {
                            self.job.hostname = b;
                            Ok(0)
                        }
                        Err(e) => Err(e),
                    }
                }
            }
            M::Getitimer => {
                let which = a[0] as u32;
                if which > 2 {
                    Err(Errno::EINVAL)
                } else {
                    let v = self.itimer_now(h, which as usize);
                    self.write_user(h, abi, a[1], &itimerval(abi, v)).map(|_| 0)
                }
            }
            M::Setitimer => {
                let which = a[0] as u32;
                if which > 2 {
                    Err(Errno::EINVAL)
                } else {
                    let w = abi.word();
                    match if a[1] == 0 { Ok(alloc::vec![0u8; 4 * w]) } else { self.read_user(h, abi, a[1], 4 * w) } {
                        Ok(b) => {
                            let f = |i: usize| {
                                let v = get_word(abi, &b[i * w..]);
                                if abi == Abi::I386 {
                                    v as u32 as i32 as i64
                                } else {
                                    v as i64
                                }
                            };
                            let (isec, iusec, vsec, vusec) = (f(0), f(1), f(2), f(3));
                            if isec < 0 || vsec < 0 || !(0..1_000_000).contains(&iusec) || !(0..1_000_000).contains(&vusec) {
                                Err(Errno::EINVAL)
                            } else {
                                let old = self.itimer_now(h, which as usize);
                                let ns = |s: i64, us: i64| (s as u64).saturating_mul(1_000_000_000).saturating_add(us as u64 * 1000);
                                let value = ns(vsec, vusec);
                                let now = self.itimer_clock(h, which as usize);
                                self.itimers[which as usize] = (if value == 0 { 0 } else { now.saturating_add(value) }, ns(isec, iusec));
                                if a[2] != 0 {
                                    self.write_user(h, abi, a[2], &itimerval(abi, old)).map(|_| 0)
                                } else {
                                    Ok(0)
                                }
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            }
            M::Alarm => {
                let (_, left) = self.itimer_now(h, 0);
                let now = h.now_ns();
                let secs = a[0] as u32 as u64;
                self.itimers[0] = (if secs == 0 { 0 } else { now + secs * 1_000_000_000 }, 0);
                // Seconds left of the previous alarm, rounded up as Linux does.
                Ok(left.div_ceil(1_000_000_000))
            }
            M::Prctl => {
                const PR_SET_NAME: u32 = 15;
                const PR_GET_NAME: u32 = 16;
                const PR_GET_DUMPABLE: u32 = 3;
                const PR_SET_PDEATHSIG: u32 = 1;
                const PR_GET_PDEATHSIG: u32 = 2;
                match a[0] as u32 {
                    PR_SET_NAME => match self.read_user_str(h, abi, a[1], 16) {
                        Ok(mut n) => {
                            n.truncate(15);
                            self.name = Some(n);
                            Ok(0)
                        }
                        Err(e) => Err(e),
                    },
                    PR_GET_NAME => {
                        let mut n = self.comm().into_bytes();
                        n.resize(16, 0);
                        self.write_user(h, abi, a[1], &n).map(|_| 0)
                    }
                    PR_GET_DUMPABLE => Ok(1),
                    PR_SET_PDEATHSIG => {
                        if a[1] > crate::signal::NSIG as u64 {
                            Err(Errno::EINVAL)
                        } else {
                            self.pdeathsig = a[1] as u8;
                            Ok(0)
                        }
                    }
                    PR_GET_PDEATHSIG => self.write_user(h, abi, a[1], &(self.pdeathsig as u32).to_le_bytes()).map(|_| 0),
                    _ => Err(Errno::EINVAL),
                }
            }
            M::SchedGetscheduler | M::SchedGetparam => {
                let pid = a[0] as i32;
                if pid < 0 {
                    Err(Errno::EINVAL)
                } else if pid != 0 && pid as u32 != self.pid {
                    Err(Errno::ESRCH)
                } else if call == M::SchedGetparam {
                    self.write_user(h, abi, a[1], &0u32.to_le_bytes()).map(|_| 0)
                } else {
                    Ok(0) // SCHED_OTHER
                }
            }
            M::SchedGetPriorityMax | M::SchedGetPriorityMin => match a[0] as u32 {
                0 | 3 | 5 => Ok(0),
                1 | 2 => Ok(if call == M::SchedGetPriorityMax { 99 } else { 1 }),
                _ => Err(Errno::EINVAL),
            },
        };
        r.into()
    }

    fn itimer_clock(&mut self, h: &mut dyn Host, which: usize) -> u64 {
        if which == 0 {
            h.now_ns()
        } else {
            h.cpu_ns()
        }
    }

    /// (interval, time left) of an interval timer, rolling it over when it
    /// has expired and repeats (the signal itself waits for part 2).
    fn itimer_now(&mut self, h: &mut dyn Host, which: usize) -> (u64, u64) {
        let now = self.itimer_clock(h, which);
        let (deadline, interval) = self.itimers[which];
        if deadline == 0 {
            return (interval, 0);
        }
        if now >= deadline {
            if interval == 0 {
                self.itimers[which].0 = 0;
                return (0, 0);
            }
            let periods = (now - deadline) / interval + 1;
            let next = deadline + periods * interval;
            self.itimers[which].0 = next;
            return (interval, next - now);
        }
        (interval, deadline - now)
    }

    /// A NUL-terminated string of at most `max` bytes (without its NUL).
    fn read_user_str(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        for i in 0..max as u64 {
            let b = self.read_user(h, abi, addr + i, 1)?;
            if b[0] == 0 {
                break;
            }
            out.push(b[0]);
        }
        Ok(out)
    }

    /// setuid/setgid and friends: root may set any id; others only their own.
    fn set_ids(&mut self, user: bool, ids: &[u32]) -> SysResult {
        let cur = if user { self.uid } else { self.gid };
        if ids.iter().any(|&i| i == u32::MAX && ids.len() == 1) {
            return Err(Errno::EINVAL);
        }
        if self.uid != 0 && ids.iter().any(|&i| i != cur) {
            return Err(Errno::EPERM);
        }
        if let Some(&id) = ids.last() {
            if id != cur && id != u32::MAX {
                // Linux clears the parent-death signal when credentials change.
                self.pdeathsig = 0;
            }
            if user {
                self.uid = id;
                self.files.cred.uid = id;
            } else {
                self.gid = id;
                self.files.cred.gid = id;
            }
        }
        Ok(0)
    }

    #[allow(clippy::too_many_arguments)]
    fn sys_mremap(&mut self, h: &mut dyn Host, abi: Abi, old: u64, old_len: u64, new_len: u64, flags: u32, new_addr: u64) -> SysResult {
        const MAYMOVE: u32 = 1;
        const FIXED: u32 = 2;
        const DONTUNMAP: u32 = 4;
        if flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0 || old % PAGE != 0 || (flags & FIXED != 0 && flags & MAYMOVE == 0) {
            return Err(Errno::EINVAL);
        }
        if flags & DONTUNMAP != 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::ENOMEM)?;
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let limit = self.limit(abi);
        if old.checked_add(old_len).is_none_or(|e| e > limit) {
            return Err(Errno::EINVAL);
        }
        let Some(v) = self.vmas.lookup(old) else { return Err(Errno::EFAULT) };
        if old + old_len.max(PAGE) > v.end {
            return Err(Errno::EFAULT);
        }
        if flags & FIXED == 0 {
            if new_len <= old_len {
                if new_len < old_len {
                    self.vmas.remove_range(old + new_len, old + old_len);
                    h.mem_unmap(old + new_len, old_len - new_len);
                }
                return Ok(old);
            }
            let (ext_start, ext_end) = (old + old_len, old + new_len);
            if ext_end <= limit && self.vmas.is_free(ext_start, ext_end) && ext_end <= self.mmap_top.max(v.end) {
                if !self.vmas.insert(ext_start, ext_end, v.prot, v.kind) {
                    return Err(Errno::ENOMEM);
                }
                return Ok(old);
            }
            if flags & MAYMOVE == 0 {
                return Err(Errno::ENOMEM);
            }
        }
        let dest = if flags & FIXED != 0 {
            if new_addr % PAGE != 0 || new_addr.checked_add(new_len).is_none_or(|e| e > limit) {
                return Err(Errno::EINVAL);
            }
            if new_addr < old + old_len && old < new_addr + new_len {
                return Err(Errno::EINVAL);
            }
            if new_addr < MMAP_MIN && self.uid != 0 {
                return Err(Errno::EPERM);
            }
            self.vmas.remove_range(new_addr, new_addr + new_len);
            h.mem_unmap(new_addr, new_len);
            new_addr
        } else {
            self.vmas.find_free_top_down(new_len, MMAP_MIN, self.mmap_top.min(limit)).ok_or(Errno::ENOMEM)?
        };
        if !self.vmas.insert(dest, dest + new_len, v.prot, v.kind) {
            return Err(Errno::ENOMEM);
        }
        // Move the pages that exist.
        let copy = old_len.min(new_len);
        let mut page = alloc::vec![0u8; PAGE as usize];
        for off in (0..copy).step_by(PAGE as usize) {
            if h.mem_read(old + off, &mut page) == 0 {
                continue;
            }
            if h.mem_map(dest + off, PAGE, v.prot | 2).is_err() {
                return Err(Errno::ENOMEM);
            }
            h.mem_write(dest + off, &page);
            if v.prot & 2 == 0 {
                h.mem_protect(dest + off, PAGE, v.prot);
            }
        }
        for m in self.shared.iter_mut() {
            if m.0 == old {
                m.0 = dest;
                m.1 = dest + copy;
            }
        }
        self.vmas.remove_range(old, old + old_len);
        h.mem_unmap(old, old_len);
        Ok(dest)
    }

    fn sys_madvise(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64, advice: u32) -> SysResult {
        const DONTNEED: u32 = 4;
        let known = matches!(advice, 0..=4 | 8..=23 | 100 | 101);
        if addr % PAGE != 0 || !known {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Ok(0);
        }
        let end = addr.checked_add(len).filter(|e| *e <= self.limit(abi)).ok_or(Errno::EINVAL)?;
        if !self.vmas.is_covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        if advice == DONTNEED && !self.shared.iter().any(|m| m.0 < end && addr < m.1) {
            // Private pages are dropped: the next touch sees zeros (anonymous
            // memory; private file pages also read back as zeros here).
            h.mem_unmap(addr, len);
        }
        Ok(0)
    }

    fn sys_msync(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64, flags: u32) -> SysResult {
        const ASYNC: u32 = 1;
        const INVALIDATE: u32 = 2;
        const SYNC: u32 = 4;
        if addr % PAGE != 0 || flags & !(ASYNC | INVALIDATE | SYNC) != 0 || flags & (ASYNC | SYNC) == ASYNC | SYNC {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).filter(|e| *e <= self.limit(abi)).ok_or(Errno::ENOMEM)?;
        if !self.vmas.is_covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        self.shared_sync(h, addr, end);
        Ok(0)
    }

    /// mlock, mlock2 (`lock`) and munlock: the range must be mapped (and,
    /// for mlock without MLOCK_ONFAULT, accessible, as Linux faults it in).
    /// SiON never swaps, so every page is as resident as a locked one and
    /// nothing else is done. Without CAP_IPC_LOCK (root), RLIMIT_MEMLOCK
    /// bounds one call's range (Linux bounds the sum of locked pages).
    fn sys_mlock(&mut self, abi: Abi, addr: u64, len: u64, flags: u32, lock: bool) -> SysResult {
        const MLOCK_ONFAULT: u32 = 1;
        if flags & !MLOCK_ONFAULT != 0 {
            return Err(Errno::EINVAL);
        }
        let limit = self.rlimits[RLIMIT_MEMLOCK].0;
        if lock && self.uid != 0 && limit == 0 {
            return Err(Errno::EPERM);
        }
        let start = page_down(addr);
        let len = (len.wrapping_add(addr - start)).wrapping_add(PAGE - 1) & !(PAGE - 1);
        if lock && self.uid != 0 && len > limit {
            return Err(Errno::ENOMEM);
        }
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(0);
        }
        if end > self.limit(abi) || !self.vmas.is_covered(start, end) {
            return Err(Errno::ENOMEM);
        }
        if lock && flags & MLOCK_ONFAULT == 0 && self.vmas.iter().any(|v| v.start < end && v.end > start && v.prot == 0) {
            // Linux's mlock cannot fault PROT_NONE pages in: ENOMEM.
            return Err(Errno::ENOMEM);
        }
        Ok(0)
    }

    fn sys_mlockall(&mut self, flags: u32) -> SysResult {
        const MCL_CURRENT: u32 = 1;
        const MCL_FUTURE: u32 = 2;
        const MCL_ONFAULT: u32 = 4;
        if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
            return Err(Errno::EINVAL);
        }
        let limit = self.rlimits[RLIMIT_MEMLOCK].0;
        if self.uid != 0 && limit == 0 {
            return Err(Errno::EPERM);
        }
        let total: u64 = self.vmas.iter().map(|v| v.end - v.start).sum();
        if flags & MCL_CURRENT != 0 && self.uid != 0 && total > limit {
            return Err(Errno::ENOMEM);
        }
        Ok(0)
    }

    fn sys_mincore(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64, vec: u64) -> SysResult {
        if addr % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).filter(|e| *e <= self.limit(abi)).ok_or(Errno::ENOMEM)?;
        if !self.vmas.is_covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        let mut out = Vec::new();
        let mut one = [0u8; 1];
        for p in (addr..end).step_by(PAGE as usize) {
            out.push((h.mem_read(p, &mut one) == 1) as u8);
        }
        self.write_user(h, abi, vec, &out).map(|_| 0)
    }
}
