//! The job console's streams as open files: stdin, stdout and stderr behave
//! as pipes (fstat says FIFO, lseek is ESPIPE, terminal ioctls ENOTTY). The
//! bytes themselves go through `Process::sys_read` and `sys_write`.

use super::files::{FileLike, OpenFile, O_ACCMODE, O_WRONLY};
use super::*;
use alloc::rc::Rc;
use core::cell::RefCell;

/// Stream 0 (stdin), 1 (stdout) or 2 (stderr).
pub struct ConsoleFile {
    pub stream: u64,
}

impl FileLike for ConsoleFile {
    fn read(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, _f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        match self.stream {
            0 => p.sys_read(h, abi, 0, iov),
            _ => Err(Errno::EBADF),
        }
    }

    fn read_at(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _iov: Vec<(u64, u64)>, _off: u64) -> SysResult {
        match self.stream {
            0 => Err(Errno::ESPIPE),
            _ => Err(Errno::EBADF),
        }
    }

    fn write(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, _f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        match self.stream {
            0 => Err(Errno::EBADF),
            s => p.sys_write(h, abi, s, iov),
        }
    }

    fn write_at(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _iov: Vec<(u64, u64)>, _off: u64) -> SysResult {
        match self.stream {
            0 => Err(Errno::EBADF),
            _ => Err(Errno::ESPIPE),
        }
    }

    fn write_bytes(&self, _p: &mut Process, h: &mut dyn Host, _f: &Rc<RefCell<OpenFile>>, data: &[u8]) -> SysResult {
        let tag = match self.stream {
            1 => up::STDOUT,
            2 => up::STDERR,
            _ => return Err(Errno::EBADF),
        };
        h.console_write(tag, data);
        Ok(data.len() as u64)
    }

    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        match self.stream {
            0 => (p.stdin_buffered() > 0 || p.job.stdin_eof, false),
            _ => (false, true),
        }
    }

    fn stat(&self, p: &Process) -> StatInfo {
        p.stat_info(self.stream)
    }

    fn ioctl(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, _f: &Rc<RefCell<OpenFile>>, req: u32, arg: u64) -> SysResult {
        if req == FIONREAD {
            let n = if self.stream == 0 { p.stdin_buffered() as u32 } else { 0 };
            return p.write_user(h, abi, arg, &n.to_le_bytes()).map(|_| 0);
        }
        Err(Errno::ENOTTY)
    }

    fn pipe_size(&self, p: &mut Process, set: Option<u64>) -> SysResult {
        match set {
            None => Ok(65536),
            Some(want) => super::pipe::pipe_size_for(want, 65536, p.job.tunables.pipe_max_size, p.capable(crate::linux::CAP_SYS_RESOURCE)),
        }
    }

    fn reopen(&self, flags: u32) -> Result<(), Errno> {
        // Linux opens a pipe read-write through its link too.
        let ok = match self.stream {
            0 => flags & O_ACCMODE != O_WRONLY,
            _ => flags & O_ACCMODE != 0,
        };
        if ok {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        format!("pipe:[{}]", 10 + self.stream).into_bytes()
    }
}
