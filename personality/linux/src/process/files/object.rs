//! What an open file description refers to ([`Obj`]) and how each kind of
//! file behaves ([`FileLike`]).
//!
//! A kind is a small handle: an inode number, or an id into one of the
//! job's tables (pipes, sockets, eventfds...), because processes share open
//! files across fork and the tables are the job's. [`Obj::with`] is the one
//! place that turns what is open into its kind; everything a kind does lives
//! in its own module, and what it does not do answers Linux's errno from the
//! trait's defaults.

use super::super::console::ConsoleFile;
use super::super::epoll::EpollFile;
use super::super::eventfd::EventFdFile;
use super::super::inotify::InotifyFile;
use super::super::mqueue::MqFile;
use super::super::net::SocketFile;
use super::super::pidfd::PidFdFile;
use super::super::pipe::PipeFile;
use super::super::signalfd::SignalFdFile;
use super::super::timerfd::TimerFdFile;
use super::super::unix::UnixFile;
use super::inode::InodeFile;
use super::*;

/// What an open file description refers to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Obj {
    Stdin,
    Stdout,
    Stderr,
    Node(Ino),
    /// An epoll instance (its interest list is `JobState::epolls[id]`).
    Epoll(u32),
    /// A socket (its state is `JobState::sockets[id]`, see `process/net.rs`).
    Socket(u32),
    /// An AF_UNIX socket (`JobState::unix[id]`, see `process/unix.rs`).
    Unix(u32),
    /// One end of a pipe (`JobState::pipes[id]`, see `process/pipe.rs`).
    Pipe {
        id: u32,
        write: bool,
    },
    /// An eventfd counter (`JobState::eventfds[id]`, see `process/eventfd.rs`).
    EventFd(u32),
    /// A signalfd (`JobState::signalfds[id]`, see `process/signalfd.rs`).
    SignalFd(u32),
    /// A timerfd (`JobState::timerfds[id]`, see `process/timerfd.rs`).
    TimerFd(u32),
    /// A pidfd naming a process of the job (see `process/pidfd.rs`).
    PidFd(u32),
    /// A POSIX message queue (`JobState::ipc.mq.queues[id]`, see `process/mqueue.rs`).
    Mq(u32),
    /// An inotify instance (`JobState::inotify[id]`, see `process/inotify.rs`).
    Inotify(u32),
    /// A namespace, opened through /proc/<pid>/ns (see `crate::ns`).
    Ns { kind: crate::ns::Kind, id: u32 },
}

impl Obj {
    /// Run `f` on the kind of file this is.
    pub(crate) fn with<R>(self, f: impl FnOnce(&dyn FileLike) -> R) -> R {
        match self {
            Obj::Stdin => f(&ConsoleFile { stream: 0 }),
            Obj::Stdout => f(&ConsoleFile { stream: 1 }),
            Obj::Stderr => f(&ConsoleFile { stream: 2 }),
            Obj::Node(ino) => f(&InodeFile(ino)),
            Obj::Epoll(id) => f(&EpollFile(id)),
            Obj::Socket(id) => f(&SocketFile(id)),
            Obj::Unix(id) => f(&UnixFile(id)),
            Obj::Pipe { id, write } => f(&PipeFile { id, write }),
            Obj::EventFd(id) => f(&EventFdFile(id)),
            Obj::SignalFd(id) => f(&SignalFdFile(id)),
            Obj::TimerFd(id) => f(&TimerFdFile(id)),
            Obj::PidFd(pid) => f(&PidFdFile(pid)),
            Obj::Mq(id) => f(&MqFile(id)),
            Obj::Inotify(id) => f(&InotifyFile(id)),
            Obj::Ns { kind, id } => f(&NsFile { kind, id }),
        }
    }
}

/// lseek on an anonymous inode (eventfd, signalfd, epoll): Linux's
/// `noop_llseek`, the position unchanged (0), not ESPIPE.
/// A namespace file (Linux's nsfs): its inode number is the namespace's.
pub struct NsFile {
    pub kind: crate::ns::Kind,
    pub id: u32,
}

/// nsfs's device (an anonymous one, 0:4 on Linux).
const DEV_NSFS: u64 = 4;
/// ioctl NS_GET_NSTYPE.
const NS_GET_NSTYPE: u32 = 0xb703;

impl FileLike for NsFile {
    fn stat(&self, _p: &Process) -> StatInfo {
        StatInfo { dev: DEV_NSFS, ino: self.id as u64, mode: 0o100444, nlink: 1, blksize: 4096, ..Default::default() }
    }

    fn seek(&self, _p: &mut Process, f: &Rc<RefCell<OpenFile>>, _off: i64, _whence: u32) -> Result<u64, Errno> {
        noop_seek(f)
    }

    fn ioctl(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, req: u32, _arg: u64) -> SysResult {
        match req {
            NS_GET_NSTYPE => Ok(self.kind.flag()),
            // NS_GET_USERNS, NS_GET_PARENT, NS_GET_OWNER_UID: no user or PID namespaces.
            _ => Err(Errno::ENOTTY),
        }
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        self.kind.link(self.id).into_bytes()
    }
}

pub(crate) fn noop_seek(f: &Rc<RefCell<OpenFile>>) -> Result<u64, Errno> {
    Ok(f.borrow().off)
}

/// What a kind of open file does, after the descriptor layer checked what
/// is the same for all (`O_PATH`, the access mode, the user buffers of a
/// read). Modelled on Asterinas's `FileLike`: a default is Linux's answer
/// for a file that lacks the operation. `p` is the calling process (the
/// job's tables are `p.job`), `f` the open file description.
pub(crate) trait FileLike {
    /// read, readv: from the description's offset, if the kind has one.
    /// Linux without a read operation: EINVAL.
    fn read(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _iov: Vec<(u64, u64)>) -> SysResult {
        Err(Errno::EINVAL)
    }

    /// pread, preadv at `off`: a stream has no offset (ESPIPE).
    fn read_at(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _iov: Vec<(u64, u64)>, _off: u64) -> SysResult {
        Err(Errno::ESPIPE)
    }

    /// write, writev. Without a write operation: EINVAL.
    fn write(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _iov: Vec<(u64, u64)>) -> SysResult {
        Err(Errno::EINVAL)
    }

    /// pwrite, pwritev at `off`: ESPIPE on a stream.
    fn write_at(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _iov: Vec<(u64, u64)>, _off: u64) -> SysResult {
        Err(Errno::ESPIPE)
    }

    /// Bytes the server already holds (the output of sendfile).
    fn write_bytes(&self, _p: &mut Process, _h: &mut dyn Host, _f: &Rc<RefCell<OpenFile>>, _data: &[u8]) -> SysResult {
        Err(Errno::EINVAL)
    }

    /// (readable, writable) for poll, select and epoll. Linux's
    /// DEFAULT_POLLMASK for a file that cannot wait: both, always.
    fn ready(&self, _p: &Process, _f: &OpenFile) -> (bool, bool) {
        (true, true)
    }

    /// POLLHUP (0x10) and POLLERR (0x08): poll and epoll report them
    /// whatever was asked; POLLRDHUP (0x2000) only when asked.
    fn hangup(&self, _p: &Process) -> u16 {
        0
    }

    /// What fstat says. By default Linux's one anonymous inode (epoll,
    /// eventfd, signalfd share it).
    fn stat(&self, p: &Process) -> StatInfo {
        StatInfo { dev: 0xe, ino: 1, mode: 0o600, nlink: 1, uid: p.uid, gid: p.gid, blksize: 4096, ..Default::default() }
    }

    /// lseek: a stream cannot (ESPIPE).
    fn seek(&self, _p: &mut Process, _f: &Rc<RefCell<OpenFile>>, _off: i64, _whence: u32) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }

    /// An ioctl other than those of every descriptor (FIOCLEX, FIONCLEX,
    /// FIONBIO): not a terminal (ENOTTY).
    fn ioctl(&self, _p: &mut Process, _h: &mut dyn Host, _abi: Abi, _f: &Rc<RefCell<OpenFile>>, _req: u32, _arg: u64) -> SysResult {
        Err(Errno::ENOTTY)
    }

    /// F_GETPIPE_SZ (`set` None) and F_SETPIPE_SZ: only pipes have a size.
    fn pipe_size(&self, _p: &mut Process, _set: Option<u64>) -> SysResult {
        Err(Errno::EBADF)
    }

    /// Whether it may be opened again with `flags` through
    /// /proc/self/fd/N (and /dev/stdin...).
    fn reopen(&self, _flags: u32) -> Result<(), Errno> {
        // Anonymous inodes (eventfd, signalfd, epoll) cannot be opened
        // again, as on Linux.
        Err(Errno::ENXIO)
    }

    /// It was opened again through /proc/self/fd/N as a new description
    /// (`flags`: the new one's): count what `release` will uncount.
    fn reopened(&self, _p: &mut Process, _flags: u32) {}

    /// The last reference to its open file description went (`flags`:
    /// the description's).
    fn release(&self, _p: &mut Process, _flags: u32) {}

    /// The target of its /proc/<pid>/fd/N link.
    fn path(&self, p: &Process) -> Vec<u8>;

    /// The inode it is, if any (a file, or the FIFO a pipe was opened
    /// through): what fstat, `*at(fd, "")` and xattrs look at.
    fn inode(&self, _p: &Process) -> Option<Ino> {
        None
    }
}
