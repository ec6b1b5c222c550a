//! What the memory, timer and identity handlers of `sys/` work with:
//! mremap, madvise, msync, mincore, mlock; interval timers; setting ids.

use super::*;
use crate::creds::{self, IdQuad};
use crate::linux::{CAP_SETGID, CAP_SETUID};
use crate::process::secbit;

impl Process {
    pub(crate) fn itimer_clock(&mut self, h: &mut dyn Host, which: usize) -> u64 {
        if which == 0 {
            h.now_ns()
        } else {
            h.cpu_ns()
        }
    }

    /// (interval, time left) of an interval timer.
    pub(crate) fn itimer_now(&mut self, h: &mut dyn Host, which: usize) -> (u64, u64) {
        let now = self.itimer_clock(h, which);
        let t = self.itimers[which];
        (t.interval, t.left(now))
    }

    /// A NUL-terminated string of at most `max` bytes (without its NUL).
    pub(crate) fn read_user_str(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
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

    /// The four user (or group) ids, gathered from where they live.
    pub(crate) fn id_quad(&self, user: bool) -> IdQuad {
        if user {
            IdQuad { real: self.ids.ruid, effective: self.uid, saved: self.ids.suid, fs: self.files.cred.uid }
        } else {
            IdQuad { real: self.ids.rgid, effective: self.gid, saved: self.ids.sgid, fs: self.files.cred.gid }
        }
    }

    /// A set*id call: `change` gets the current ids and whether the caller
    /// holds CAP_SETUID (CAP_SETGID) and answers the new ids. Capabilities
    /// follow user-id changes; changed effective or file-system ids clear
    /// the parent-death signal, as on Linux.
    pub(crate) fn change_ids(&mut self, user: bool, fs_only: bool, change: impl FnOnce(IdQuad, bool) -> Result<IdQuad, Errno>) -> Result<IdQuad, Errno> {
        let old = self.id_quad(user);
        let new = change(old, self.capable(if user { CAP_SETUID } else { CAP_SETGID }))?;
        if user && self.prctl.securebits & secbit::NO_SETUID_FIXUP == 0 {
            if fs_only {
                self.caps.effective = creds::after_fs_change(old.fs, new.fs, self.caps.effective, self.caps.permitted);
            } else {
                let keep = self.prctl.securebits & secbit::KEEP_CAPS != 0;
                (self.caps.effective, self.caps.permitted) = creds::after_uid_change(old, new, self.caps.effective, self.caps.permitted, keep);
                // The ambient set stays within permitted, and goes with root.
                self.caps.ambient &= self.caps.permitted;
                if old.has_root() && !new.has_root() {
                    self.caps.ambient = 0;
                }
            }
        }
        if user {
            (self.ids.ruid, self.uid, self.ids.suid, self.files.cred.uid) = (new.real, new.effective, new.saved, new.fs);
        } else {
            (self.ids.rgid, self.gid, self.ids.sgid, self.files.cred.gid) = (new.real, new.effective, new.saved, new.fs);
        }
        if new.effective != old.effective || new.fs != old.fs {
            self.pdeathsig = 0;
            self.prctl.dumpable = false;
        }
        Ok(old)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_mremap(&mut self, h: &mut dyn Host, abi: Abi, old: u64, old_len: u64, new_len: u64, flags: u32, new_addr: u64) -> SysResult {
        if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 || old % PAGE != 0 || (flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0) {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_DONTUNMAP != 0 {
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
        if flags & MREMAP_FIXED == 0 {
            if new_len <= old_len {
                if new_len < old_len {
                    self.forget_mapped_files(old + new_len, old + old_len);
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
                self.vmas.set_flags(ext_start, ext_end, v.flags, 0);
                return Ok(old);
            }
            if flags & MREMAP_MAYMOVE == 0 {
                return Err(Errno::ENOMEM);
            }
        }
        let dest = if flags & MREMAP_FIXED != 0 {
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
        self.vmas.set_flags(dest, dest + new_len, v.flags, 0);
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
        // The mapped file moves with its pages.
        let moved: Option<Vec<u8>> = self.mapped_files.iter().find(|m| m.0 <= old && old < m.1).map(|m| m.2.clone());
        self.forget_mapped_files(old, old + old_len);
        if let Some(path) = moved {
            self.forget_mapped_files(dest, dest + new_len);
            self.mapped_files.push((dest, dest + new_len, path));
        }
        self.vmas.remove_range(old, old + old_len);
        h.mem_unmap(old, old_len);
        Ok(dest)
    }

    /// madvise as Linux 6.1's do_madvise, for a kernel without KSM,
    /// transparent huge pages or memory-failure injection (the advice those
    /// add is EINVAL). Each mapping of the range is checked in turn (the
    /// first refusal is the answer, mappings before it keep the advice);
    /// a hole in the range is ENOMEM once every mapping took it.
    pub(crate) fn sys_madvise(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64, advice: u32) -> SysResult {
        use crate::vma::{flag, VmaKind};
        // NORMAL, RANDOM, SEQUENTIAL, WILLNEED, DONTNEED, FREE, REMOVE,
        // DONTFORK, DOFORK, DONTDUMP, DODUMP, WIPEONFORK, KEEPONFORK, COLD,
        // PAGEOUT, POPULATE_READ, POPULATE_WRITE, DONTNEED_LOCKED.
        let known = matches!(advice, 0..=4 | 8..=11 | 16..=24);
        if addr % PAGE != 0 || !known {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Ok(0);
        }
        let end = addr.checked_add(len).filter(|e| *e <= self.limit(abi)).ok_or(Errno::EINVAL)?;
        let vmas: Vec<crate::vma::Vma> = self.vmas.iter().filter(|v| v.start < end && addr < v.end).collect();
        let hole = !self.vmas.is_covered(addr, end);
        for v in vmas {
            let (a, b) = (v.start.max(addr), v.end.min(end));
            let locked = v.flags & flag::LOCKED != 0;
            let shared = v.flags & flag::SHARED != 0;
            // Linux's vm_file: file mappings, shared anonymous memory (shmem), the image.
            let file = v.flags & flag::FILE != 0 || shared || matches!(v.kind, VmaKind::Image | VmaKind::Interp);
            let special = matches!(v.kind, VmaKind::Vdso | VmaKind::Vvar);
            match advice {
                MADV_REMOVE => {
                    if locked || !file || v.kind != VmaKind::Anon {
                        return Err(Errno::EINVAL);
                    }
                    if !shared || v.prot & 2 == 0 {
                        return Err(Errno::EACCES);
                    }
                    // A hole punched in the memory (shared frames: every
                    // mapping sees zeros) and in the file under it.
                    let zeros = alloc::vec![0u8; PAGE as usize];
                    let mut one = [0u8; 1];
                    for p in (a..b).step_by(PAGE as usize) {
                        if h.mem_read(p, &mut one) == 1 {
                            h.mem_write(p, &zeros);
                        }
                    }
                    for (s, e, ino, off) in self.shared.clone() {
                        let (x, y) = (s.max(a), e.min(b));
                        if x >= y || self.job.vfs.get(ino).is_none() {
                            continue;
                        }
                        let (fo, size) = (off + (x - s), self.job.vfs.node(ino).size());
                        let fend = (fo + (y - x)).min(size);
                        if fend > fo {
                            let _ = self.job.vfs.write_at(ino, fo, &alloc::vec![0u8; (fend - fo) as usize]);
                        }
                    }
                }
                MADV_DONTNEED | MADV_FREE | MADV_DONTNEED_LOCKED => {
                    if locked && advice != MADV_DONTNEED_LOCKED || special {
                        return Err(Errno::EINVAL);
                    }
                    if advice == MADV_FREE && file {
                        return Err(Errno::EINVAL);
                    }
                    if !shared {
                        // Private pages are dropped: the next touch sees
                        // zeros (anonymous memory; private file pages also
                        // read back as zeros here).
                        h.mem_unmap(a, b - a);
                    }
                }
                MADV_COLD | MADV_PAGEOUT if locked || special => return Err(Errno::EINVAL),
                MADV_DOFORK if v.kind == VmaKind::Vvar => return Err(Errno::EINVAL),
                MADV_DONTFORK => self.vmas.set_flags(a, b, flag::DONTFORK, 0),
                MADV_DOFORK => self.vmas.set_flags(a, b, 0, flag::DONTFORK),
                MADV_WIPEONFORK if file => return Err(Errno::EINVAL),
                MADV_WIPEONFORK => self.vmas.set_flags(a, b, flag::WIPEONFORK, 0),
                MADV_KEEPONFORK => self.vmas.set_flags(a, b, 0, flag::WIPEONFORK),
                MADV_DONTDUMP => self.vmas.set_flags(a, b, flag::DONTDUMP, 0),
                MADV_DODUMP if special => return Err(Errno::EINVAL),
                MADV_DODUMP => self.vmas.set_flags(a, b, 0, flag::DONTDUMP),
                _ => {}
            }
        }
        if hole {
            return Err(Errno::ENOMEM);
        }
        Ok(0)
    }

    pub(crate) fn sys_msync(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64, flags: u32) -> SysResult {
        if addr % PAGE != 0 || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC {
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
    pub(crate) fn sys_mlock(&mut self, abi: Abi, addr: u64, len: u64, flags: u32, lock: bool) -> SysResult {
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
        // VM_LOCKED: counted in VmLck, refused by MADV_DONTNEED.
        if lock {
            self.vmas.set_flags(start, end, crate::vma::flag::LOCKED, 0);
        } else {
            self.vmas.set_flags(start, end, 0, crate::vma::flag::LOCKED);
        }
        Ok(0)
    }

    pub(crate) fn sys_mlockall(&mut self, flags: u32) -> SysResult {
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
        if flags & MCL_CURRENT != 0 {
            // Every mapping but the special ones (Linux's VM_SPECIAL) is locked.
            let all: Vec<(u64, u64)> = self.vmas.iter().filter(|v| !matches!(v.kind, crate::vma::VmaKind::Vdso | crate::vma::VmaKind::Vvar)).map(|v| (v.start, v.end)).collect();
            for (a, b) in all {
                self.vmas.set_flags(a, b, crate::vma::flag::LOCKED, 0);
            }
        }
        Ok(0)
    }

    pub(crate) fn sys_mincore(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64, vec: u64) -> SysResult {
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
