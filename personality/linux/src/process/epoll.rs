//! epoll instances as open files: an interest list in `JobState::epolls`,
//! level-triggered.

use super::files::{FileLike, OpenFile};
use super::*;
use alloc::rc::Rc;
use core::cell::RefCell;

/// The epoll instance `JobState::epolls[id]`.
pub struct EpollFile(pub u32);

impl FileLike for EpollFile {
    // pread and pwrite are EINVAL too, as read and write (Linux: ESPIPE).
    fn read_at(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _iov: Vec<(u64, u64)>, _off: u64) -> SysResult {
        Err(Errno::EINVAL)
    }

    fn write_at(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _iov: Vec<(u64, u64)>, _off: u64) -> SysResult {
        Err(Errno::EINVAL)
    }

    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        (p.epoll_ready(self.0).next().is_some(), false)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        p.job.epolls.remove(&self.0);
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        b"anon_inode:[eventpoll]".to_vec()
    }
}
