//! Memory extras (mremap, madvise, msync, mincore) and time and identity
//! calls (times, getrusage, sysinfo, scheduler queries, the id family,
//! groups, sethostname).

use super::*;
use crate::syscalls::table::MiscCall as M;

const NGROUPS_MAX: u64 = 65536;

impl Process {
    pub(super) fn misc_call<H: Host>(&mut self, h: &mut H, abi: Abi, call: M, a: [u64; 6]) -> Outcome {
        let r: SysResult = match call {
            M::Mremap => self.sys_mremap(h, abi, a[0], a[1], a[2], a[3] as u32, a[4]),
            M::Madvise => self.sys_madvise(h, abi, a[0], a[1], a[2] as u32),
            M::Msync => self.sys_msync(h, abi, a[0], a[1], a[2] as u32),
            M::Mincore => self.sys_mincore(h, abi, a[0], a[1], a[2]),
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
                push_word(abi, &mut b, self.files.vfs.used() / unit); // shared (tmpfs)
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
                            self.files.hostname = b;
                            Ok(0)
                        }
                        Err(e) => Err(e),
                    }
                }
            }
            M::Getpgrp => Ok(self.pid as u64),
            M::Getpgid | M::Getsid => {
                let pid = a[0] as i32;
                if pid == 0 || pid as u32 == self.pid {
                    Ok(self.pid as u64)
                } else {
                    Err(Errno::ESRCH)
                }
            }
        };
        r.into()
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
    fn sys_mremap<H: Host>(&mut self, h: &mut H, abi: Abi, old: u64, old_len: u64, new_len: u64, flags: u32, new_addr: u64) -> SysResult {
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

    fn sys_madvise<H: Host>(&mut self, h: &mut H, abi: Abi, addr: u64, len: u64, advice: u32) -> SysResult {
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

    fn sys_msync<H: Host>(&mut self, h: &mut H, abi: Abi, addr: u64, len: u64, flags: u32) -> SysResult {
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

    fn sys_mincore<H: Host>(&mut self, h: &mut H, abi: Abi, addr: u64, len: u64, vec: u64) -> SysResult {
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
