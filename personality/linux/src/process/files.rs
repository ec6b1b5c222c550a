//! Files: the job's file tree, file descriptors and the file system calls.
//!
//! The model: a descriptor (`fds`) points at a shared open file description
//! ([`OpenFile`]: what is open, the access mode and status flags, the offset),
//! as `dup` and Linux do; the description points at what is open ([`Obj`]),
//! which behaves as its kind of file ([`FileLike`]).
//!
//! - `fd`: the descriptor table, and the calls on a descriptor, which hand
//!   what differs per kind to the kind;
//! - `path`: path walks, open, and the calls on paths;
//! - `procfs`: /proc, its directories and the text of its generated files;
//! - `tree`: the job's file tree, built before the program starts and
//!   collected after it ends (`--out`, the write-back);
//! - `object`: [`Obj`] and [`FileLike`]; `inode`: the kind for files,
//!   directories and devices, and the calls only they answer (the other
//!   kinds are `process/{console, pipe, epoll, eventfd, signalfd, net,
//!   unix}.rs`);
//! - `poll`: readiness, poll and select;
//! - `locking`: fcntl's record locks and flock, kept in the job's lock
//!   table (`crate::locks`).

use super::*;
pub use crate::linux::*;
use crate::syscalls::table::StatLayout;
use alloc::rc::Rc;
use alloc::vec;
use core::cell::RefCell;
use sion_vfs::{Cred, Data, Found, Ino, Vfs, R_OK, W_OK, X_OK};

mod ext2;
mod fd;
mod inode;
mod locking;
mod loopdev;
mod mount;
mod object;
mod path;
mod poll;
mod procfs;
mod splice;
mod sysctl;
mod tree;
use locking::description_id;
pub(crate) use object::{noop_seek, FileLike};
pub use object::Obj;
pub use ext2::Ext2Mount;
pub use mount::FILESYSTEMS;
pub use path::read_executable;
pub use poll::WaitCall;
pub use procfs::{task_of_file, proc_dir_pid, add_proc_dir, add_proc_stub, add_task_dir, fill_proc_dir, proc_stub_of, remove_proc_dir, remove_task_dir, set_proc_link, tag};
pub use sysctl::{threads_max, Tunables, KERNEL_CONFIG};
pub use tree::{build_tree, OutItem, WriteBack, FILES_DO_NOT_FIT};

/// Free memory the node keeps when files grow (ENOSPC below it).
pub const FREE_RESERVE: u64 = 16 << 20;

/// `st_dev` of the file systems.
pub const DEV_ROOT: u64 = 0x1e;

pub const DEV_PROC: u64 = 0x15;

pub const DEV_SYS: u64 = 0x16;

pub const DEV_DEV: u64 = 0x05;


/// Device numbers (makedev) of the character devices.
pub const RDEV_NULL: u64 = 0x103;

pub const RDEV_ZERO: u64 = 0x105;

pub const RDEV_FULL: u64 = 0x107;

pub const RDEV_RANDOM: u64 = 0x108;

pub const RDEV_URANDOM: u64 = 0x109;

pub const RDEV_TTY: u64 = 0x500;

#[derive(Debug)]
pub struct OpenFile {
    pub obj: Obj,
    /// Access mode and status flags (O_*; not O_CLOEXEC).
    pub flags: u32,
    pub off: u64,
    /// Contents of a generated file, taken at open.
    pub snapshot: Option<Vec<u8>>,
    /// F_SETOWN/F_SETOWN_EX: (F_OWNER_TID/PID/PGRP, id), and F_SETSIG's
    /// signal. Kept and reported; SIGIO for O_ASYNC is not sent.
    pub owner: (u32, i32),
    pub sig: u32,
}

impl OpenFile {
    pub(crate) fn readable(&self) -> bool {
        self.flags & O_PATH == 0 && self.flags & O_ACCMODE != O_WRONLY && self.flags & O_ACCMODE != 3
    }
    pub(crate) fn writable(&self) -> bool {
        self.flags & O_PATH == 0 && matches!(self.flags & O_ACCMODE, O_WRONLY | O_RDWR)
    }
    pub(crate) fn nonblock(&self) -> bool {
        self.flags & O_NONBLOCK != 0
    }
}

#[derive(Clone, Debug)]
pub struct FdEntry {
    pub file: Rc<RefCell<OpenFile>>,
    pub cloexec: bool,
}

/// The file state of a process.
pub struct Files {
    pub fds: VecMap<i32, FdEntry>,
    pub cwd: Ino,
    pub umask: u32,
    pub cred: Cred,
    /// /proc/<pid>/fd needs to be rebuilt whole.
    pub fd_dirty: bool,
    /// Descriptors changed since /proc/<pid>/fd was last brought up to date
    /// (when it is not `fd_dirty`): only their links are redone, so opening
    /// the 1,000th file does not rebuild 999 links.
    pub fd_changed: Vec<i32>,
    pub proc_fd_dir: Ino,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
}

impl Files {
    /// Descriptor `fd` was installed, replaced or closed.
    pub fn touched(&mut self, fd: i32) {
        if self.fd_dirty {
            return;
        }
        if self.fd_changed.len() >= 64 {
            self.fd_dirty = true;
            self.fd_changed.clear();
        } else {
            self.fd_changed.push(fd);
        }
    }

    /// The same descriptors (sharing their open file descriptions), as fork.
    pub fn fork(&self) -> Files {
        Files {
            fds: self.fds.clone(),
            cwd: self.cwd,
            umask: self.umask,
            cred: self.cred.clone(),
            fd_dirty: true,
            fd_changed: Vec::new(),
            proc_fd_dir: self.proc_fd_dir,
            argv: self.argv.clone(),
            envp: self.envp.clone(),
        }
    }
}

/// What a path or descriptor names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Resolved {
    Node(Ino),
    Console(Obj),
}

fn e(x: sion_vfs::Errno) -> Errno {
    Errno(x.0)
}

pub(crate) trait VfsRes<T> {
    fn ex(self) -> Result<T, Errno>;
}

impl<T> VfsRes<T> for Result<T, sion_vfs::Errno> {
    fn ex(self) -> Result<T, Errno> {
        self.map_err(e)
    }
}
