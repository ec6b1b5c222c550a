//! prctl(PR_SET_MM): a checkpoint/restore tool sets where the process's
//! code, data, heap, stack, arguments and environment are, its saved aux
//! vector and its executable, as Linux's prctl_set_mm and prctl_set_mm_map
//! (kernel/sys.c) with their checks in order.

use super::*;
use crate::linux::{CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, RLIMIT_DATA};
use crate::mm_map::{self, MmMap, PRCTL_MM_MAP_SIZE, SAVED_AUXV_BYTES};
use crate::mm_map::{PR_SET_MM_ARG_END, PR_SET_MM_ARG_START, PR_SET_MM_AUXV, PR_SET_MM_ENV_END, PR_SET_MM_ENV_START, PR_SET_MM_EXE_FILE, PR_SET_MM_MAP, PR_SET_MM_MAP_SIZE, PR_SET_MM_START_STACK};

impl Process {
    /// TASK_SIZE of the process's ABI.
    fn task_size(&self) -> u64 {
        match self.abi {
            Abi::X86_64 => crate::stack::STACK_TOP_64,
            Abi::I386 => 0xffff_e000,
        }
    }

    /// The landmarks with the heap's as brk keeps them.
    pub(crate) fn mm_map(&self) -> MmMap {
        MmMap { start_brk: self.brk_start, brk: self.brk, ..self.mm }
    }

    fn set_mm_map(&mut self, m: MmMap) {
        self.mm = m;
        self.brk_start = m.start_brk;
        self.brk = m.brk;
    }

    fn validate_mm(&self, m: &MmMap) -> Result<(), Errno> {
        m.validate(self.task_size(), MMAP_MIN, self.rlimits[RLIMIT_DATA].0)
    }

    /// prctl(PR_SET_MM, opt, addr, arg4, arg5).
    pub(crate) fn prctl_set_mm(&mut self, h: &mut dyn Host, abi: Abi, opt: u32, addr: u64, arg4: u64, arg5: u64) -> SysResult {
        if arg5 != 0 || (arg4 != 0 && !matches!(opt, PR_SET_MM_AUXV | PR_SET_MM_MAP | PR_SET_MM_MAP_SIZE)) {
            return Err(Errno::EINVAL);
        }
        if opt == PR_SET_MM_MAP_SIZE {
            return self.write_user(h, abi, addr, &(PRCTL_MM_MAP_SIZE as u32).to_le_bytes()).map(|_| 0);
        }
        if opt == PR_SET_MM_MAP {
            return self.prctl_set_mm_map(h, abi, addr, arg4);
        }
        if !self.capable(CAP_SYS_RESOURCE) {
            return Err(Errno::EPERM);
        }
        if opt == PR_SET_MM_EXE_FILE {
            return self.set_exe_file(addr as u32 as u64).map(|_| 0);
        }
        if opt == PR_SET_MM_AUXV {
            if addr == 0 || arg4 > SAVED_AUXV_BYTES as u64 {
                return Err(Errno::EINVAL);
            }
            let b = self.read_user(h, abi, addr, arg4 as usize)?;
            self.saved_auxv = mm_map::saved_auxv(&b);
            return Ok(0);
        }
        if addr >= self.task_size() || addr < MMAP_MIN {
            return Err(Errno::EINVAL);
        }
        let mut m = self.mm_map();
        m.set(opt, addr)?;
        self.validate_mm(&m)?;
        // The stack, arguments and environment need a mapping at or above.
        if matches!(opt, PR_SET_MM_START_STACK | PR_SET_MM_ARG_START | PR_SET_MM_ARG_END | PR_SET_MM_ENV_START | PR_SET_MM_ENV_END) && !self.vmas.iter().any(|v| v.end > addr) {
            return Err(Errno::EFAULT);
        }
        self.set_mm_map(m);
        Ok(0)
    }

    /// PR_SET_MM_MAP: every landmark at once from a `struct prctl_mm_map`
    /// of `size` bytes, the aux vector and the executable if given.
    fn prctl_set_mm_map(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, size: u64) -> SysResult {
        if size != PRCTL_MM_MAP_SIZE as u64 {
            return Err(Errno::EINVAL);
        }
        let b = self.read_user(h, abi, addr, PRCTL_MM_MAP_SIZE)?;
        let req = MmMap::decode(&b).ok_or(Errno::EFAULT)?;
        self.validate_mm(&req.map)?;
        let mut auxv = None;
        if req.auxv_size != 0 {
            if req.auxv == 0 || req.auxv_size as usize > SAVED_AUXV_BYTES {
                return Err(Errno::EINVAL);
            }
            auxv = Some(mm_map::saved_auxv(&self.read_user(h, abi, req.auxv, req.auxv_size as usize)?));
        }
        if req.exe_fd != u32::MAX {
            // checkpoint_restore_ns_capable.
            if !self.capable(CAP_SYS_ADMIN) && !self.capable(CAP_CHECKPOINT_RESTORE) {
                return Err(Errno::EPERM);
            }
            self.set_exe_file(req.exe_fd as u64)?;
        }
        self.set_mm_map(req.map);
        if let Some(a) = auxv {
            self.saved_auxv = a;
        }
        Ok(0)
    }

    /// prctl_set_mm_exe_file: a regular file the process may execute, on a
    /// file system that allows it, and only once the old executable is no
    /// longer mapped (its image segments unmapped): EBUSY before.
    fn set_exe_file(&mut self, fd: u64) -> Result<(), Errno> {
        let f = self.io_file(fd)?;
        let Obj::Node(ino) = f.borrow().obj else { return Err(Errno::EACCES) };
        let v = &self.job.vfs;
        let node = v.node(ino);
        if !node.is_reg() || v.dev_flags(node.dev) & sion_vfs::MS_NOEXEC != 0 || !v.may(ino, sion_vfs::X_OK, &self.files.cred) {
            return Err(Errno::EACCES);
        }
        if self.vmas.iter().any(|v| v.kind == VmaKind::Image) {
            return Err(Errno::EBUSY);
        }
        let path = v.path_of(ino).unwrap_or_default();
        files::set_proc_link(&mut self.job.vfs, self.pid, b"exe", &path);
        self.exe = String::from_utf8_lossy(&path).into_owned();
        Ok(())
    }
}
