//! A process's core file, as Linux's do_coredump writes one to a file
//! named by /proc/sys/kernel/core_pattern (the ELF layout is
//! `crate::coredump`).

use super::*;
use crate::coredump::{self, Backing, ProcessState, Segment, ThreadState};
use crate::vma::{flag, VmaKind};

/// Writes the core into a file of the job's tree.
struct FileSink<'a> {
    vfs: &'a mut sion_vfs::Vfs,
    ino: sion_vfs::Ino,
}

impl coredump::Sink for FileSink<'_> {
    fn write(&mut self, off: u64, data: &[u8]) -> bool {
        self.vfs.write_at(self.ino, off, data).is_ok_and(|n| n == data.len())
    }
}

impl Process {
    /// The served thread's state, for its core.
    pub(crate) fn core_thread(&self, h: &mut dyn Host) -> ThreadState {
        ThreadState {
            tid: self.tid,
            regs: h.get_regs().unwrap_or_default(),
            fpu: h.get_fpu(),
            pending: self.sig.pending | self.sig.private,
            blocked: self.sig.mask,
            utime_ns: h.cpu_ns(),
            stime_ns: 0,
        }
    }

    /// Dump core for the fatal signal `sig` (its siginfo's code, sender
    /// pid and uid in `info`), its other threads' states in `others`.
    /// As Linux: nothing unless the process is dumpable and RLIMIT_CORE is
    /// at least a page; the file (its old self unlinked first) is made
    /// anew, mode 0600, and filled up to RLIMIT_CORE. True when the file
    /// was made: the wait status's core-dump bit.
    pub(crate) fn dump_core(&mut self, h: &mut dyn Host, sig: u8, info: (i32, u32, u32), others: Vec<ThreadState>) -> bool {
        let limit = self.rlimits[RLIMIT_CORE].0;
        if !self.prctl.dumpable || limit < PAGE {
            return false;
        }
        if self.abi != Abi::X86_64 {
            h.log("core dump of an i386 process: not implemented, no core written");
            return false;
        }
        let comm = self.comm();
        let now = h.realtime_ns() / 1_000_000_000;
        let fields = coredump::NameFields {
            pid: self.pid,
            tid: self.tid,
            uid: self.uid,
            gid: self.gid,
            sig,
            time_s: now,
            hostname: &self.job.hostname,
            comm: comm.as_bytes(),
            exe: self.exe.as_bytes(),
            limit,
            dumpable: 1,
        };
        let name = coredump::core_name(&self.job.tunables.core_pattern, self.job.tunables.core_uses_pid != 0, &fields);
        if name.first() == Some(&b'|') {
            h.log("core_pattern pipes the core to a program: not implemented, no core written");
            return false;
        }
        if name.is_empty() {
            return false;
        }
        let cred = self.files.cred.clone();
        let cwd = self.files.cwd;
        let _ = self.job.vfs.unlink(cwd, &name, &cred);
        let ino = match self.job.vfs.walk(cwd, &name, false, &cred) {
            Ok(f) if f.ino.is_none() && !f.trailing => match self.job.vfs.create(&f, sion_vfs::Data::Reg(Default::default()), 0o600, &cred) {
                Ok(i) => i,
                Err(_) => return false,
            },
            _ => return false,
        };
        // What each mapping dumps, by /proc/PID/coredump_filter.
        let filter = self.prctl.coredump_filter;
        let mut segs = Vec::new();
        let mut magic = [0u8; 4];
        for v in self.vmas.iter() {
            let len = v.end - v.start;
            let backing = if v.flags & flag::DONTDUMP != 0 || v.kind == VmaKind::Vvar {
                Backing::Never
            } else if v.kind == VmaKind::Vdso {
                Backing::Vdso
            } else if v.flags & flag::SHARED != 0 {
                if self.shared.iter().any(|&(s, e, _, _)| s < v.end && v.start < e) {
                    Backing::FileShared
                } else {
                    Backing::AnonShared
                }
            } else if v.flags & flag::FILE != 0 || matches!(v.kind, VmaKind::Image | VmaKind::Interp) {
                if v.prot & 2 != 0 {
                    Backing::FilePrivateWritten
                } else {
                    Backing::FilePrivate
                }
            } else {
                Backing::AnonPrivate
            };
            let elf = h.mem_read(v.start, &mut magic) == 4 && magic == *b"\x7fELF";
            segs.push(Segment { start: v.start, end: v.end, prot: v.prot, dump: coredump::dump_size(backing, len, filter, elf) });
        }
        let mut threads = alloc::vec![self.core_thread(h)];
        threads.extend(others);
        let auxv = if self.plan.auxv.1 > 0 { self.read_user(h, self.abi, self.plan.auxv.0, self.plan.auxv.1 as usize).unwrap_or_default() } else { Vec::new() };
        let (ppid, pgid, sid) = self.family;
        let state = ProcessState {
            sig,
            si_code: info.0,
            si_pid: info.1,
            si_uid: info.2,
            pid: self.pid,
            ppid,
            pgid,
            sid,
            uid: self.uid,
            gid: self.gid,
            nice: self.nice as i8,
            comm: comm.as_bytes(),
            args: &self.files.argv,
            auxv: &auxv,
            cutime_ns: 0,
            cstime_ns: 0,
        };
        let mut sink = FileSink { vfs: &mut self.job.vfs, ino };
        let mut read = |addr: u64, buf: &mut [u8]| h.mem_read(addr, buf) == buf.len();
        let size = coredump::write(&mut sink, limit, &state, &threads, &segs, &mut read);
        h.log(&format!("core dumped: {} ({})", String::from_utf8_lossy(&name), size.map_or(String::from("truncated at RLIMIT_CORE"), |s| format!("{s} bytes"))));
        true
    }
}
