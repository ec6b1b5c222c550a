//! SiON's in-memory file system: the root file system of a job.
//!
//! Inodes (regular files, directories, symbolic links, character devices)
//! live in one table keyed by inode number. Path resolution follows Linux:
//! absolute and relative paths, `.` and `..`, symbolic links (at most 40 per
//! resolution, then `ELOOP`), trailing slashes (the last component must then
//! be a directory), `ENAMETOOLONG` for a component over 255 bytes, `ENOTDIR`
//! for a path through a non-directory, search and write permissions checked
//! against [`Cred`] (uid 0 bypasses them as `CAP_DAC_OVERRIDE` does). Every
//! operation answers Linux's errno for the same bad input.
//!
//! Inodes carry a file-system id (`dev`): `link` and `rename` across two of
//! them fail with `EXDEV`, as between mounts. An inode whose last link goes
//! away stays alive while it is open ([`Vfs::open_ref`]/[`Vfs::close_ref`]).
//!
//! The caller sets [`Vfs::now`] (nanoseconds since the epoch) before
//! operations that stamp times, and [`Vfs::asker`] (the process and thread
//! on whose behalf paths resolve) for the links whose target is who asks
//! ([`TAG_SELF_LINK`], [`TAG_THREAD_SELF_LINK`]: `/proc/self`, `/proc/thread-self`).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

mod filedata;
pub use filedata::{FileData, CHUNK};
mod mount;
mod notify;
pub use notify::*;
pub use mount::*;

#[cfg(test)]
mod tests;

/// A Linux error number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const EACCES: Errno = Errno(13);
    pub const EAGAIN: Errno = Errno(11);
    pub const EBUSY: Errno = Errno(16);
    pub const EEXIST: Errno = Errno(17);
    pub const EXDEV: Errno = Errno(18);
    pub const ENOTDIR: Errno = Errno(20);
    pub const EISDIR: Errno = Errno(21);
    pub const EINVAL: Errno = Errno(22);
    pub const ETXTBSY: Errno = Errno(26);
    pub const EFBIG: Errno = Errno(27);
    pub const ENOSPC: Errno = Errno(28);
    pub const EROFS: Errno = Errno(30);
    pub const EOPNOTSUPP: Errno = Errno(95);
    /// Not an errno of Linux's: what the call needs is on the workstation
    /// and not here yet ([`Vfs::take_missing`] says which inode). The caller
    /// fetches it and runs the operation again.
    pub const FETCH: Errno = Errno(4000);
    pub const EMLINK: Errno = Errno(31);
    pub const ENAMETOOLONG: Errno = Errno(36);
    pub const ENOTEMPTY: Errno = Errno(39);
    pub const ELOOP: Errno = Errno(40);
}

pub type Result<T> = core::result::Result<T, Errno>;

pub type Ino = u64;

/// Longest file name (one component).
pub const NAME_MAX: usize = 255;
/// Longest path, with its NUL.
pub const PATH_MAX: usize = 4096;
/// Most symbolic links followed in one resolution.
pub const MAX_SYMLINKS: u32 = 40;
/// Largest regular file.
pub const MAX_FILE: u64 = 1 << 40;

/// File type bits of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFSOCK: u32 = 0o140000;

/// `rename` flags.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Cred {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Cred {
    pub fn root() -> Cred {
        Cred::default()
    }
    fn in_group(&self, g: u32) -> bool {
        self.gid == g || self.groups.contains(&g)
    }
}

/// Access bits for [`Vfs::may`].
pub const R_OK: u32 = 4;
pub const W_OK: u32 = 2;
pub const X_OK: u32 = 1;

/// Inode flags ([`Inode::attr`]): no change at all, and only appending.
pub const FS_IMMUTABLE_FL: u32 = 0x10;
pub const FS_APPEND_FL: u32 = 0x20;
pub const FS_NODUMP_FL: u32 = 0x40;
pub const FS_NOATIME_FL: u32 = 0x80;
/// The flags tmpfs lets FS_IOC_SETFLAGS set (Linux 6.0 and later).
pub const FS_TMPFS_FLAGS: u32 = FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | FS_NOATIME_FL;

/// [`Inode::tag`] of a symbolic link whose target is the asking process's
/// id (`/proc/self`), whatever its stored target says.
pub const TAG_SELF_LINK: u32 = u32::MAX;
/// [`Inode::tag`] of a link to `PID/task/TID` of the asker (`/proc/thread-self`).
pub const TAG_THREAD_SELF_LINK: u32 = u32::MAX - 1;

/// What an inode holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    Reg(FileData),
    /// Entries by name (never `.` or `..`), sorted.
    Dir(BTreeMap<Vec<u8>, Ino>),
    Symlink(Vec<u8>),
    /// A character device: its device number (`makedev`).
    Chr(u64),
    /// A name an AF_UNIX socket is bound to (the socket itself lives in
    /// the Linux personality, which maps the inode to it).
    Sock,
    /// A named pipe (mkfifo): its data lives in the Linux personality's
    /// pipes while it is open.
    Fifo,
    /// A block device: its device number (`makedev`).
    Blk(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    pub data: Data,
    /// Permission bits (0o7777); the type comes from `data`.
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    /// Nanoseconds since the epoch.
    pub atime: u64,
    pub mtime: u64,
    pub ctime: u64,
    /// The file system this inode belongs to (`st_dev`).
    pub dev: u64,
    /// Directories: the parent directory (the root is its own parent).
    pub parent: Ino,
    /// A tag the owner of the VFS may use (generated files such as /proc's).
    pub tag: u32,
    /// Open file descriptions referring to it.
    pub opens: u32,
    /// Of those, the ones open for writing, and the programs running it
    /// (Linux's `i_writecount`, positive or negative): each excludes the
    /// other with ETXTBSY.
    pub writers: u32,
    pub runners: u32,
    /// A file made nameless by O_TMPFILE (without O_EXCL) that `link` may
    /// still name (Linux's `I_LINKABLE`), until it does.
    pub linkable: bool,
    /// Inode flags (`FS_IOC_GETFLAGS`): what tmpfs keeps, `FS_IMMUTABLE_FL`,
    /// `FS_APPEND_FL`, `FS_NODUMP_FL`, `FS_NOATIME_FL`.
    pub attr: u32,
    /// Read-only file system (writes and new names fail with EROFS... or EACCES).
    pub readonly: bool,
    /// Its contents are on the workstation and not here yet: a directory's
    /// entries (those here already win over the workstation's), a regular
    /// file's bytes (its size is known: the file is a hole until fetched).
    pub remote: bool,
    /// The workstation's figures for it while it is as it came from there:
    /// (size, 512-byte blocks) for `stat` (a directory's size, `du`).
    pub host: Option<(u64, u64)>,
    /// What it was on the workstation when the job first saw it (size,
    /// mtime in ns), kept when the job changes it: a write-back leaves alone
    /// a file the workstation changed meanwhile.
    pub origin: Option<(u64, u64)>,
}

impl Inode {
    /// FS_IMMUTABLE_FL.
    pub fn immutable(&self) -> bool {
        self.attr & FS_IMMUTABLE_FL != 0
    }
    /// FS_APPEND_FL.
    pub fn append_only(&self) -> bool {
        self.attr & FS_APPEND_FL != 0
    }
    /// Immutable or append-only: its name, mode, owner and times stay.
    pub fn frozen(&self) -> bool {
        self.attr & (FS_IMMUTABLE_FL | FS_APPEND_FL) != 0
    }
    pub fn is_dir(&self) -> bool {
        matches!(self.data, Data::Dir(_))
    }
    pub fn is_symlink(&self) -> bool {
        matches!(self.data, Data::Symlink(_))
    }
    pub fn is_reg(&self) -> bool {
        matches!(self.data, Data::Reg(_))
    }
    /// `S_IF*` bits.
    pub fn type_bits(&self) -> u32 {
        match self.data {
            Data::Reg(_) => S_IFREG,
            Data::Dir(_) => S_IFDIR,
            Data::Symlink(_) => S_IFLNK,
            Data::Chr(_) => S_IFCHR,
            Data::Sock => S_IFSOCK,
            Data::Fifo => S_IFIFO,
            Data::Blk(_) => S_IFBLK,
        }
    }
    /// The device number of a device inode (`st_rdev`), 0 for others.
    pub fn rdev(&self) -> u64 {
        match self.data {
            Data::Chr(r) | Data::Blk(r) => r,
            _ => 0,
        }
    }
    /// `st_mode`.
    pub fn mode(&self) -> u32 {
        self.type_bits() | self.perm
    }
    /// `st_size`.
    pub fn size(&self) -> u64 {
        match &self.data {
            Data::Reg(f) => f.len(),
            Data::Symlink(v) => v.len() as u64,
            Data::Dir(e) => 4096 * (1 + e.len() as u64 / 128),
            Data::Chr(_) | Data::Sock | Data::Fifo | Data::Blk(_) => 0,
        }
    }
    /// `d_type` of getdents.
    pub fn dtype(&self) -> u8 {
        match self.data {
            Data::Reg(_) => 8,
            Data::Dir(_) => 4,
            Data::Symlink(_) => 10,
            Data::Chr(_) => 2,
            Data::Sock => 12,
            Data::Fifo => 1,
            Data::Blk(_) => 6,
        }
    }
}

/// The result of resolving a path up to its last component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The directory holding the last component.
    pub dir: Ino,
    /// The last component (may be `.` or `..`).
    pub name: Vec<u8>,
    /// What the last component names, if it exists.
    pub ino: Option<Ino>,
    /// The path ended with `/` (or was `/`).
    pub trailing: bool,
}

impl Found {
    /// The last component is `.` or `..`.
    pub fn is_dot(&self) -> bool {
        self.name == b"." || self.name == b".."
    }
}

/// One directory entry as `getdents` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: Ino,
    pub dtype: u8,
}

/// The file system.
#[derive(Clone, Debug)]
pub struct Vfs {
    nodes: BTreeMap<Ino, Inode>,
    next: Ino,
    pub root: Ino,
    /// The time operations stamp (ns since the epoch); set by the caller.
    pub now: u64,
    /// Bytes the regular files may hold in all (ENOSPC beyond).
    pub capacity: u64,
    used: u64,
    /// The process and thread paths are resolved for (set by the caller).
    pub asker: (u32, u32),
    /// The remote inode the last operation that failed with `FETCH` needed.
    missing: core::cell::Cell<Option<Ino>>,
    /// The mount table (see `mount.rs`) of the active mount namespace.
    mounts: Vec<Mount>,
    next_mount_id: u32,
    /// The active mount namespace's name, and the other namespaces' tables.
    mnt_ns: u32,
    other_mnt_ns: Vec<(u32, Vec<Mount>)>,
    /// Bytes held by regular files, by file system.
    usage: BTreeMap<u64, u64>,
    /// Inodes inotify watches, and the events on them not yet taken (see `notify.rs`).
    pub watched: Vec<Ino>,
    pub events: Vec<FsEvent>,
    cookie: u32,
    /// (file, directory, name) of open files unlinked from a watched directory.
    orphans: Vec<(Ino, Ino, Vec<u8>)>,
}

/// One entry of a workstation directory, as [`Vfs::fill_dir`] takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteEntry {
    pub name: Vec<u8>,
    pub kind: RemoteKind,
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// Nanoseconds since the epoch.
    pub mtime: u64,
    /// The workstation's `st_size` (a directory's too) and `st_blocks`.
    pub size: u64,
    pub blocks: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteKind {
    Dir,
    File { size: u64 },
    Symlink(Vec<u8>),
}

impl Default for Vfs {
    fn default() -> Self {
        Vfs::new()
    }
}

/// The bytes of whole pages a file holds (what a tmpfs size limit counts):
/// its size in pages, less the chunks its holes leave out.
fn footprint(f: &FileData) -> u64 {
    f.allocated().min(f.len().div_ceil(4096) * 4096)
}

fn valid_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

impl Vfs {
    /// A file system with an empty root directory (mode 0755, owned by root, dev 1).
    pub fn new() -> Vfs {
        let mut v = Vfs {
            nodes: BTreeMap::new(),
            next: 2,
            root: 2,
            now: 0,
            capacity: u64::MAX,
            used: 0,
            asker: (1, 1),
            missing: core::cell::Cell::new(None),
            mounts: Vec::new(),
            next_mount_id: 21,
            mnt_ns: 0,
            other_mnt_ns: Vec::new(),
            usage: BTreeMap::new(),
            watched: Vec::new(),
            events: Vec::new(),
            cookie: 0,
            orphans: Vec::new(),
        };
        let root = v.alloc(Data::Dir(BTreeMap::new()), 0o755, 0, 0, 1);
        v.node_mut(root).parent = root;
        v.node_mut(root).nlink = 2;
        v.root = root;
        v
    }

    fn alloc(&mut self, data: Data, perm: u32, uid: u32, gid: u32, dev: u64) -> Ino {
        let ino = self.next;
        self.next += 1;
        let t = self.now;
        self.nodes.insert(
            ino,
            Inode {
                data,
                perm: perm & 0o7777,
                uid,
                gid,
                nlink: 0,
                atime: t,
                mtime: t,
                ctime: t,
                dev,
                parent: 0,
                tag: 0,
                opens: 0,
                writers: 0,
                runners: 0,
                linkable: false,
                attr: 0,
                readonly: false,
                remote: false,
                host: None,
                origin: None,
            },
        );
        ino
    }

    /// The inode (panics on a stale number: a bug of the caller).
    #[track_caller]
    pub fn node(&self, ino: Ino) -> &Inode {
        &self.nodes[&ino]
    }
    #[track_caller]
    pub fn node_mut(&mut self, ino: Ino) -> &mut Inode {
        self.nodes.get_mut(&ino).expect("stale inode")
    }
    pub fn get(&self, ino: Ino) -> Option<&Inode> {
        self.nodes.get(&ino)
    }
    pub fn inode_count(&self) -> usize {
        self.nodes.len()
    }
    /// Bytes held by regular files.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// May `cred` access `ino` for `want` (R_OK|W_OK|X_OK)?
    pub fn may(&self, ino: Ino, want: u32, cred: &Cred) -> bool {
        let n = self.node(ino);
        if want & W_OK != 0 && n.readonly {
            return false;
        }
        if cred.uid == 0 {
            // Root may do anything but execute a file no one may execute.
            return want & X_OK == 0 || n.is_dir() || n.perm & 0o111 != 0;
        }
        let bits = if n.uid == cred.uid {
            n.perm >> 6
        } else if cred.in_group(n.gid) {
            n.perm >> 3
        } else {
            n.perm
        } & 7;
        bits & want == want
    }

    fn entries(&self, dir: Ino) -> Result<&BTreeMap<Vec<u8>, Ino>> {
        match &self.node(dir).data {
            Data::Dir(e) => Ok(e),
            _ => Err(Errno::ENOTDIR),
        }
    }
    fn entries_mut(&mut self, dir: Ino) -> Result<&mut BTreeMap<Vec<u8>, Ino>> {
        match &mut self.node_mut(dir).data {
            Data::Dir(e) => Ok(e),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The entry `name` of directory `dir` (`.` and `..` included). A name
    /// not here in a directory whose entries are on the workstation is
    /// `FETCH` (the directory).
    pub fn child(&self, dir: Ino, name: &[u8]) -> Result<Option<Ino>> {
        let e = self.entries(dir)?;
        let found = match name {
            b"." => Some(dir),
            b".." => Some(self.node(dir).parent),
            n => e.get(n).copied(),
        };
        if found.is_none() && self.node(dir).remote {
            return Err(self.fetch(dir));
        }
        Ok(found)
    }

    fn fetch(&self, ino: Ino) -> Errno {
        self.missing.set(Some(ino));
        Errno::FETCH
    }

    /// The inode the last `FETCH` failure needs from the workstation.
    pub fn take_missing(&self) -> Option<Ino> {
        self.missing.take()
    }

    /// `FETCH` unless the bytes of `ino` are here (before opening a file).
    pub fn need_content(&self, ino: Ino) -> Result<()> {
        if self.node(ino).remote && self.node(ino).is_reg() {
            return Err(self.fetch(ino));
        }
        Ok(())
    }

    /// The workstation's entries of remote directory `dir` arrived: each
    /// name not here already is added (directories and files remote, their
    /// contents to come; links whole), owned and dated as there.
    pub fn fill_dir(&mut self, dir: Ino, entries: Vec<RemoteEntry>) {
        if !self.node(dir).is_dir() {
            return;
        }
        // The directory keeps the workstation's times and figures.
        let (mtime, ctime, host) = (self.node(dir).mtime, self.node(dir).ctime, self.node(dir).host);
        for e in entries {
            if e.name.is_empty() || e.name == b"." || e.name == b".." || e.name.contains(&b'/') || self.entries(dir).is_ok_and(|m| m.contains_key(&e.name)) {
                continue;
            }
            let (data, remote, size) = match e.kind {
                RemoteKind::Dir => (Data::Dir(BTreeMap::new()), true, 0),
                RemoteKind::File { size } => (Data::Reg(FileData::default()), size > 0, size),
                RemoteKind::Symlink(t) => (Data::Symlink(t), false, 0),
            };
            let ino = self.add(dir, &e.name, data, e.perm, e.uid, e.gid);
            if size > 0 {
                // A hole of the file's size until its bytes come: no memory.
                let _ = self.truncate(ino, size.min(MAX_FILE));
            }
            let n = self.node_mut(ino);
            n.remote = remote;
            (n.mtime, n.ctime, n.atime) = (e.mtime, e.mtime, e.mtime);
            n.host = Some((e.size, e.blocks));
            n.origin = Some((e.size, e.mtime));
        }
        let d = self.node_mut(dir);
        d.remote = false;
        (d.mtime, d.ctime, d.host) = (mtime, ctime, host);
    }

    /// The bytes of remote file `ino` arrived.
    pub fn fill_file(&mut self, ino: Ino, bytes: Vec<u8>) -> Result<()> {
        let n = self.node(ino);
        if !n.is_reg() || !n.remote {
            return Ok(());
        }
        let mtime = n.mtime;
        let new = FileData::from(bytes);
        if self.used - self.allocated_of(ino) + new.allocated() > self.capacity {
            return Err(Errno::ENOSPC);
        }
        let (dev, before) = (n.dev, self.allocated_of(ino));
        let pb = self.pages_of(ino);
        self.charge(dev, (before, pb), (new.allocated(), footprint(&new)));
        let n = self.node_mut(ino);
        n.data = Data::Reg(new);
        n.remote = false;
        (n.mtime, n.ctime) = (mtime, mtime);
        Ok(())
    }

    fn pages_of(&self, ino: Ino) -> u64 {
        match &self.node(ino).data {
            Data::Reg(f) => footprint(f),
            _ => 0,
        }
    }

    fn allocated_of(&self, ino: Ino) -> u64 {
        match &self.node(ino).data {
            Data::Reg(f) => f.allocated(),
            _ => 0,
        }
    }

    /// Resolve `path` from directory `start` up to its last component, which
    /// is followed when it is a symbolic link and `follow` is set (or the
    /// path has a trailing slash).
    pub fn walk(&self, start: Ino, path: &[u8], follow: bool, cred: &Cred) -> Result<Found> {
        let mut links = 0;
        self.walk_inner(start, path, follow, cred, &mut links)
    }

    fn walk_inner(&self, start: Ino, path: &[u8], follow: bool, cred: &Cred, links: &mut u32) -> Result<Found> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut dir = if path[0] == b'/' { self.cover(self.root) } else { start };
        let trailing = path.ends_with(b"/");
        let comps: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
        if comps.is_empty() {
            return Ok(Found { dir, name: b".".to_vec(), ino: Some(dir), trailing: true });
        }
        let n = comps.len();
        for (i, c) in comps.into_iter().enumerate() {
            valid_name(c)?;
            if !self.node(dir).is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if !self.may(dir, X_OK, cred) {
                return Err(Errno::EACCES);
            }
            let child = if c == b".." { Some(self.dotdot(dir)) } else { self.child(dir, c)?.map(|i| self.cover(i)) };
            let last = i + 1 == n;
            if last {
                if let Some(ino) = child {
                    if (follow || trailing) && self.node(ino).is_symlink() {
                        let mut f = self.follow_link(dir, ino, cred, links)?;
                        f.trailing |= trailing;
                        return Ok(f);
                    }
                }
                return Ok(Found { dir, name: c.to_vec(), ino: child, trailing });
            }
            let mut ino = child.ok_or(Errno::ENOENT)?;
            if self.node(ino).is_symlink() {
                ino = self.follow_link(dir, ino, cred, links)?.ino.ok_or(Errno::ENOENT)?;
            }
            dir = ino;
        }
        unreachable!()
    }

    fn follow_link(&self, dir: Ino, link: Ino, cred: &Cred, links: &mut u32) -> Result<Found> {
        // A file system mounted nosymfollow follows no links.
        if self.dev_flags(self.node(link).dev) & MS_NOSYMFOLLOW != 0 {
            return Err(Errno::ELOOP);
        }
        *links += 1;
        if *links > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        let target = self.link_target(link);
        self.walk_inner(dir, &target, true, cred, links)
    }

    /// The target of symbolic link `ino`: what it holds, or for the links
    /// that name the asker, its process (and thread).
    pub fn link_target(&self, ino: Ino) -> Vec<u8> {
        let n = self.node(ino);
        let (pid, tid) = self.asker;
        match (&n.data, n.tag) {
            (Data::Symlink(_), TAG_SELF_LINK) => alloc::format!("{pid}").into_bytes(),
            (Data::Symlink(_), TAG_THREAD_SELF_LINK) => alloc::format!("{pid}/task/{tid}").into_bytes(),
            (Data::Symlink(t), _) => t.clone(),
            _ => Vec::new(),
        }
    }

    /// Resolve a path to an existing inode.
    pub fn lookup(&self, start: Ino, path: &[u8], follow: bool, cred: &Cred) -> Result<Ino> {
        let f = self.walk(start, path, follow, cred)?;
        let ino = f.ino.ok_or(Errno::ENOENT)?;
        if f.trailing && !self.node(ino).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(ino)
    }

    /// The parent of a new name must be writable and searchable, and the
    /// name must not exist.
    fn check_new(&self, f: &Found, cred: &Cred) -> Result<()> {
        if f.ino.is_some() {
            return Err(Errno::EEXIST);
        }
        if self.node(f.dir).nlink == 0 {
            return Err(Errno::ENOENT);
        }
        self.check_rofs(f.dir)?;
        if self.node(f.dir).immutable() {
            return Err(Errno::EPERM);
        }
        if self.node(f.dir).readonly {
            return Err(Errno::EACCES);
        }
        if !self.may(f.dir, W_OK | X_OK, cred) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    fn insert_entry(&mut self, dir: Ino, name: &[u8], ino: Ino) {
        self.node_mut(dir).host = None;
        let now = self.now;
        self.entries_mut(dir).expect("dir").insert(name.to_vec(), ino);
        let d = self.node_mut(dir);
        d.mtime = now;
        d.ctime = now;
        let n = self.node_mut(ino);
        n.nlink += 1;
        n.ctime = now;
    }

    fn new_owner(&self, dir: Ino, cred: &Cred) -> (u32, u32, u64) {
        let d = self.node(dir);
        // setgid directories pass their group on.
        let gid = if d.perm & 0o2000 != 0 { d.gid } else { cred.gid };
        (cred.uid, gid, d.dev)
    }

    /// Create a new inode named `name` in `dir` (no checks; the tree builder's
    /// tool). Returns the inode.
    pub fn add(&mut self, dir: Ino, name: &[u8], data: Data, perm: u32, uid: u32, gid: u32) -> Ino {
        let is_dir = matches!(data, Data::Dir(_));
        let dev = self.node(dir).dev;
        if let Data::Reg(f) = &data {
            self.charge(dev, (0, 0), (f.allocated(), footprint(f)));
        }
        let ino = self.alloc(data, perm, uid, gid, dev);
        if let Some(old) = self.entries(dir).expect("dir").get(name).copied() {
            self.drop_link(dir, old);
        }
        self.insert_entry(dir, name, ino);
        // Other files keep it as a hint for path_of.
        self.node_mut(ino).parent = dir;
        if is_dir {
            self.node_mut(ino).nlink += 1;
            self.node_mut(dir).nlink += 1;
        }
        ino
    }

    /// Create the directories of an absolute path as needed (mode 0755,
    /// owner root) and return the last one.
    pub fn mkdir_p(&mut self, path: &[u8], uid: u32, gid: u32) -> Result<Ino> {
        let mut dir = self.root;
        for c in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            valid_name(c)?;
            dir = match self.child(dir, c)? {
                Some(i) if self.node(i).is_dir() => i,
                Some(i) if self.node(i).is_symlink() => self.lookup(dir, c, true, &Cred::root())?,
                Some(_) => return Err(Errno::ENOTDIR),
                None => self.add(dir, c, Data::Dir(BTreeMap::new()), 0o755, uid, gid),
            };
        }
        Ok(dir)
    }

    /// Place a file at an absolute path, creating its directories (the job's
    /// input files).
    pub fn put_file(&mut self, path: &[u8], data: Vec<u8>, perm: u32, uid: u32, gid: u32) -> Result<Ino> {
        let (dirpath, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&b""[..], path),
        };
        if name.is_empty() {
            return Err(Errno::EISDIR);
        }
        valid_name(name)?;
        let dir = self.mkdir_p(dirpath, uid, gid)?;
        if let Some(old) = self.child(dir, name)? {
            if self.node(old).is_dir() {
                return Err(Errno::EISDIR);
            }
        }
        Ok(self.add(dir, name, Data::Reg(FileData::from(data)), perm, uid, gid))
    }

    /// Create a regular file, directory, symlink, device, FIFO or socket
    /// name at a resolved, non-existing name.
    pub fn create(&mut self, f: &Found, data: Data, perm: u32, cred: &Cred) -> Result<Ino> {
        if f.is_dot() {
            return Err(Errno::EEXIST);
        }
        self.check_new(f, cred)?;
        let is_dir = matches!(data, Data::Dir(_));
        if f.trailing && !is_dir {
            return Err(if f.ino.is_none() && matches!(data, Data::Reg(_)) { Errno::EISDIR } else { Errno::ENOENT });
        }
        let (uid, gid, _) = self.new_owner(f.dir, cred);
        let mut perm = perm;
        if is_dir && self.node(f.dir).perm & 0o2000 != 0 {
            perm |= 0o2000;
        }
        let ino = self.add(f.dir, &f.name, data, perm, uid, gid);
        // tmpfs passes a directory's nodump and noatime flags on.
        self.node_mut(ino).attr = self.node(f.dir).attr & (FS_NODUMP_FL | FS_NOATIME_FL);
        self.dir_event(f.dir, IN_CREATE | self.isdir(ino), &f.name, 0);
        Ok(ino)
    }

    /// `open(dir, O_TMPFILE)`: a regular file with no name on `dir`'s file
    /// system (a tmpfs), `linkable` unless O_EXCL; the caller opens it (it
    /// lives while open).
    pub fn tmpfile(&mut self, dir: Ino, perm: u32, linkable: bool, cred: &Cred) -> Result<Ino> {
        if self.node(dir).nlink == 0 {
            return Err(Errno::ENOENT);
        }
        self.check_rofs(dir)?;
        if self.node(dir).immutable() {
            return Err(Errno::EPERM);
        }
        if !self.may(dir, W_OK | X_OK, cred) {
            return Err(Errno::EACCES);
        }
        if self.node(dir).readonly || self.node(dir).tag != 0 || !matches!(self.mount_of(dir).map(|m| m.fstype.as_str()), Some("tmpfs" | "devtmpfs") | None) {
            return Err(Errno::EOPNOTSUPP);
        }
        let (uid, gid, dev) = self.new_owner(dir, cred);
        let ino = self.alloc(Data::Reg(FileData::default()), perm, uid, gid, dev);
        let n = self.node_mut(ino);
        n.parent = dir;
        n.linkable = linkable;
        Ok(ino)
    }

    /// `mkdir(path, mode)` (mode already masked by the umask).
    pub fn mkdir(&mut self, start: Ino, path: &[u8], perm: u32, cred: &Cred) -> Result<Ino> {
        let f = self.walk(start, path, false, cred)?;
        self.create(&f, Data::Dir(BTreeMap::new()), perm, cred)
    }

    /// `symlink(target, path)`.
    pub fn symlink(&mut self, target: &[u8], start: Ino, path: &[u8], cred: &Cred) -> Result<Ino> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        let f = self.walk(start, path, false, cred)?;
        if f.trailing && f.ino.is_none() {
            return Err(Errno::ENOENT);
        }
        self.create(&Found { trailing: false, ..f }, Data::Symlink(target.to_vec()), 0o777, cred)
    }

    /// `readlink`.
    pub fn readlink(&self, start: Ino, path: &[u8], cred: &Cred) -> Result<Vec<u8>> {
        let ino = self.lookup(start, path, false, cred)?;
        match &self.node(ino).data {
            Data::Symlink(_) => Ok(self.link_target(ino)),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Sticky directories: only the owner of the file or of the directory
    /// (or root) may remove or rename.
    fn sticky_ok(&self, dir: Ino, ino: Ino, cred: &Cred) -> bool {
        let d = self.node(dir);
        d.perm & 0o1000 == 0 || cred.uid == 0 || cred.uid == d.uid || cred.uid == self.node(ino).uid
    }

    fn may_delete(&self, dir: Ino, ino: Ino, cred: &Cred) -> Result<()> {
        self.check_rofs(dir)?;
        if self.is_mount_root(ino) {
            return Err(Errno::EBUSY);
        }
        if self.node(dir).immutable() {
            return Err(Errno::EPERM);
        }
        if self.node(dir).readonly {
            return Err(Errno::EACCES);
        }
        if !self.may(dir, W_OK | X_OK, cred) {
            return Err(Errno::EACCES);
        }
        // An append-only directory keeps its names, a frozen inode its own.
        if !self.sticky_ok(dir, ino, cred) || self.node(dir).append_only() || self.node(ino).frozen() {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// Remove one link of `ino` from `dir`; frees it when no link and no open remain.
    fn drop_link(&mut self, dir: Ino, ino: Ino) {
        let now = self.now;
        let name = self.entries(dir).ok().and_then(|e| e.iter().find(|(_, &i)| i == ino).map(|(n, _)| n.clone()));
        if let Some(name) = name {
            self.entries_mut(dir).expect("dir").remove(&name);
        }
        let d = self.node_mut(dir);
        d.mtime = now;
        d.ctime = now;
        let is_dir = self.node(ino).is_dir();
        if is_dir {
            self.node_mut(dir).nlink -= 1;
            self.node_mut(ino).nlink = 0;
        } else {
            let n = self.node_mut(ino);
            n.nlink = n.nlink.saturating_sub(1);
            n.ctime = now;
        }
        self.maybe_free(ino);
    }

    fn remove_name(&mut self, dir: Ino, name: &[u8]) {
        self.node_mut(dir).host = None;
        let ino = self.entries_mut(dir).expect("dir").remove(name).expect("entry");
        let now = self.now;
        let d = self.node_mut(dir);
        d.mtime = now;
        d.ctime = now;
        if self.node(ino).is_dir() {
            self.node_mut(dir).nlink -= 1;
            self.node_mut(ino).nlink = 0;
        } else {
            let n = self.node_mut(ino);
            n.nlink = n.nlink.saturating_sub(1);
            n.ctime = now;
        }
        self.maybe_free(ino);
    }

    fn maybe_free(&mut self, ino: Ino) {
        let n = self.node(ino);
        if n.nlink == 0 && n.opens == 0 && ino != self.root && !self.all_mounts().any(|m| m.root == ino) {
            self.self_event(ino, IN_DELETE_SELF);
            if !self.orphans.is_empty() {
                self.orphans.retain(|o| o.0 != ino);
            }
            let n = self.node(ino);
            if let Data::Reg(f) = &n.data {
                let (dev, a, p) = (n.dev, f.allocated(), footprint(f));
                self.charge(dev, (a, p), (0, 0));
            }
            self.nodes.remove(&ino);
        }
    }

    /// An open file description now refers to `ino`.
    pub fn open_ref(&mut self, ino: Ino) {
        self.node_mut(ino).opens += 1;
    }
    /// One went away.
    pub fn close_ref(&mut self, ino: Ino) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.opens = n.opens.saturating_sub(1);
            self.maybe_free(ino);
        }
    }

    /// May `ino` be opened for writing (Linux's `get_write_access`)? Not
    /// while a program runs it: ETXTBSY.
    pub fn may_write_access(&self, ino: Ino) -> Result<()> {
        if self.node(ino).runners > 0 {
            return Err(Errno::ETXTBSY);
        }
        Ok(())
    }
    /// A description open for writing came (`true`) or went.
    pub fn writer(&mut self, ino: Ino, came: bool) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.writers = if came { n.writers + 1 } else { n.writers.saturating_sub(1) };
        }
    }
    /// May `ino` be run (`deny_write_access`)? Not while it is open for
    /// writing: ETXTBSY.
    pub fn may_run(&self, ino: Ino) -> Result<()> {
        if self.node(ino).writers > 0 {
            return Err(Errno::ETXTBSY);
        }
        Ok(())
    }
    /// A process began running `ino` (`true`: it holds the inode as an open
    /// file does) or stopped.
    pub fn runner(&mut self, ino: Ino, came: bool) {
        if ino == 0 || !self.nodes.contains_key(&ino) {
            return;
        }
        if came {
            self.open_ref(ino);
            self.node_mut(ino).runners += 1;
        } else {
            let n = self.node_mut(ino);
            n.runners = n.runners.saturating_sub(1);
            self.close_ref(ino);
        }
    }

    /// `unlink(path)`.
    pub fn unlink(&mut self, start: Ino, path: &[u8], cred: &Cred) -> Result<()> {
        let f = self.walk(start, path, false, cred)?;
        if !f.is_dot() {
            self.check_rofs(f.dir)?;
        }
        if self.covered(&f) {
            return Err(Errno::EBUSY);
        }
        let ino = f.ino.ok_or(Errno::ENOENT)?;
        if f.is_dot() || self.node(ino).is_dir() {
            return Err(Errno::EISDIR);
        }
        if f.trailing {
            return Err(Errno::ENOTDIR);
        }
        self.may_delete(f.dir, ino, cred)?;
        // Linux drops the name (IN_DELETE_SELF when it was the last) before
        // it tells the directory.
        self.self_event(ino, IN_ATTRIB);
        self.remove_name(f.dir, &f.name);
        if self.watched.contains(&f.dir) && self.get(ino).is_some() {
            self.orphans.push((ino, f.dir, f.name.clone()));
        }
        self.dir_event(f.dir, IN_DELETE, &f.name, 0);
        Ok(())
    }

    /// `rmdir(path)`.
    pub fn rmdir(&mut self, start: Ino, path: &[u8], cred: &Cred) -> Result<()> {
        let f = self.walk(start, path, false, cred)?;
        let ino = f.ino.ok_or(Errno::ENOENT)?;
        if ino == self.root && f.trailing {
            return Err(Errno::EBUSY);
        }
        if f.name == b"." {
            return Err(Errno::EINVAL);
        }
        if f.name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        self.check_rofs(f.dir)?;
        if self.covered(&f) {
            return Err(Errno::EBUSY);
        }
        if !self.node(ino).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if ino == self.root {
            return Err(Errno::EBUSY);
        }
        self.may_delete(f.dir, ino, cred)?;
        if !self.entries(ino)?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        self.remove_name(f.dir, &f.name);
        self.dir_event(f.dir, IN_DELETE | IN_ISDIR, &f.name, 0);
        Ok(())
    }

    /// Remove `name` in `dir` and, if it is a directory, everything under
    /// it, whatever the permissions (the owner's tool: /proc entries of a
    /// process that ended). Open inodes live on until closed.
    pub fn remove_tree(&mut self, dir: Ino, name: &[u8]) {
        if name == b"." || name == b".." {
            return;
        }
        let Ok(Some(ino)) = self.child(dir, name) else { return };
        if let Ok(entries) = self.entries(ino) {
            let names: Vec<Vec<u8>> = entries.keys().cloned().collect();
            for n in names {
                self.remove_tree(ino, &n);
            }
        }
        self.remove_name(dir, name);
    }

    /// `link(old, new)`: `old` already resolved (linkat follows it only with
    /// AT_SYMLINK_FOLLOW).
    pub fn link(&mut self, old: Ino, start: Ino, new: &[u8], cred: &Cred) -> Result<()> {
        if self.node(old).is_dir() {
            return Err(Errno::EPERM);
        }
        let f = self.walk(start, new, false, cred)?;
        if f.ino.is_some() || f.is_dot() {
            return Err(Errno::EEXIST);
        }
        if f.trailing {
            return Err(Errno::ENOENT);
        }
        if self.node(f.dir).dev != self.node(old).dev {
            return Err(Errno::EXDEV);
        }
        self.check_new(&f, cred)?;
        if self.node(old).frozen() {
            return Err(Errno::EPERM);
        }
        if self.node(old).nlink == 0 && !self.node(old).linkable {
            return Err(Errno::ENOENT);
        }
        self.node_mut(old).linkable = false;
        if self.node(old).nlink >= 65000 {
            return Err(Errno::EMLINK);
        }
        self.insert_entry(f.dir, &f.name, old);
        self.self_event(old, IN_ATTRIB);
        self.dir_event(f.dir, IN_CREATE, &f.name, 0);
        Ok(())
    }

    /// Is `a` the directory `b` or an ancestor of it?
    fn is_ancestor(&self, a: Ino, mut b: Ino) -> bool {
        loop {
            if a == b {
                return true;
            }
            let p = self.node(b).parent;
            if p == b || p == 0 {
                return false;
            }
            b = p;
        }
    }

    /// `renameat2(old, new, flags)`.
    pub fn rename(&mut self, ostart: Ino, old: &[u8], nstart: Ino, new: &[u8], flags: u32, cred: &Cred) -> Result<()> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
            return Err(Errno::EINVAL);
        }
        let of = self.walk(ostart, old, false, cred)?;
        let nf = self.walk(nstart, new, false, cred)?;
        if of.is_dot() || nf.is_dot() {
            return Err(if flags & RENAME_NOREPLACE != 0 && nf.is_dot() { Errno::EEXIST } else { Errno::EBUSY });
        }
        if self.node(of.dir).dev != self.node(nf.dir).dev {
            return Err(Errno::EXDEV);
        }
        self.check_rofs(of.dir)?;
        if self.covered(&of) || self.covered(&nf) {
            return Err(Errno::EBUSY);
        }
        let oino = of.ino.ok_or(Errno::ENOENT)?;
        let odir = self.node(oino).is_dir();
        if flags & RENAME_EXCHANGE != 0 && nf.ino.is_none() {
            return Err(Errno::ENOENT);
        }
        if flags & RENAME_NOREPLACE != 0 && nf.ino.is_some() {
            return Err(Errno::EEXIST);
        }
        if (of.trailing || nf.trailing) && !odir && flags & RENAME_EXCHANGE == 0 {
            return Err(Errno::ENOTDIR);
        }
        if self.node(of.dir).dev != self.node(nf.dir).dev {
            return Err(Errno::EXDEV);
        }
        self.may_delete(of.dir, oino, cred)?;
        if self.node(nf.dir).immutable() {
            return Err(Errno::EPERM);
        }
        if self.node(nf.dir).readonly || !self.may(nf.dir, W_OK | X_OK, cred) {
            return Err(Errno::EACCES);
        }
        if let Some(nino) = nf.ino {
            self.may_delete(nf.dir, nino, cred)?;
        }
        if flags & RENAME_EXCHANGE != 0 {
            let nino = nf.ino.expect("checked");
            if oino == nino {
                return Ok(());
            }
            let ndir = self.node(nino).is_dir();
            if (odir && self.is_ancestor(oino, nf.dir)) || (ndir && self.is_ancestor(nino, of.dir)) {
                return Err(Errno::EINVAL);
            }
            self.entries_mut(of.dir)?.insert(of.name.clone(), nino);
            self.entries_mut(nf.dir)?.insert(nf.name.clone(), oino);
            if odir != ndir {
                let (a, b) = (of.dir, nf.dir);
                if odir {
                    self.node_mut(a).nlink -= 1;
                    self.node_mut(b).nlink += 1;
                } else {
                    self.node_mut(a).nlink += 1;
                    self.node_mut(b).nlink -= 1;
                }
            }
            self.node_mut(oino).parent = nf.dir;
            self.node_mut(nino).parent = of.dir;
            self.touch_dirs(of.dir, nf.dir, &[oino, nino]);
            return Ok(());
        }
        if let Some(nino) = nf.ino {
            if nino == oino {
                return Ok(());
            }
            let ndir = self.node(nino).is_dir();
            if odir && !ndir {
                return Err(Errno::ENOTDIR);
            }
            if !odir && ndir {
                return Err(Errno::EISDIR);
            }
            if odir && self.is_ancestor(oino, nf.dir) {
                return Err(Errno::EINVAL);
            }
            if ndir {
                if nino == self.root {
                    return Err(Errno::EBUSY);
                }
                if !self.entries(nino)?.is_empty() {
                    return Err(Errno::ENOTEMPTY);
                }
            }
            if odir && self.is_ancestor(nino, of.dir) {
                return Err(Errno::ENOTEMPTY);
            }
            self.remove_name(nf.dir, &nf.name);
        } else {
            if odir && self.is_ancestor(oino, nf.dir) {
                return Err(Errno::EINVAL);
            }
            if self.node(nf.dir).nlink == 0 {
                return Err(Errno::ENOENT);
            }
        }
        self.entries_mut(of.dir)?.remove(&of.name);
        self.entries_mut(nf.dir)?.insert(nf.name.clone(), oino);
        if odir {
            self.node_mut(of.dir).nlink -= 1;
            self.node_mut(nf.dir).nlink += 1;
        }
        self.node_mut(oino).parent = nf.dir;
        self.touch_dirs(of.dir, nf.dir, &[oino]);
        if !self.watched.is_empty() {
            let cookie = self.next_cookie();
            let d = self.isdir(oino);
            self.dir_event(of.dir, IN_MOVED_FROM | d, &of.name, cookie);
            self.dir_event(nf.dir, IN_MOVED_TO | d, &nf.name, cookie);
            self.self_event(oino, IN_MOVE_SELF);
        }
        Ok(())
    }

    fn touch_dirs(&mut self, a: Ino, b: Ino, inos: &[Ino]) {
        let now = self.now;
        for d in [a, b] {
            let n = self.node_mut(d);
            n.mtime = now;
            n.ctime = now;
        }
        for &i in inos {
            self.node_mut(i).ctime = now;
        }
    }

    /// The entries of a directory as getdents lists them: `.`, `..`, then by name.
    pub fn readdir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let e = self.entries(dir)?;
        if self.node(dir).remote {
            return Err(self.fetch(dir));
        }
        let mut out = Vec::with_capacity(e.len() + 2);
        out.push(DirEntry { name: b".".to_vec(), ino: dir, dtype: 4 });
        if self.node(dir).nlink == 0 {
            return Ok(Vec::new());
        }
        out.push(DirEntry { name: b"..".to_vec(), ino: self.node(dir).parent, dtype: 4 });
        for (name, &ino) in e {
            out.push(DirEntry { name: name.clone(), ino, dtype: self.node(ino).dtype() });
        }
        Ok(out)
    }

    /// Read at an offset of a regular file (the caller updates the access
    /// time: [`Vfs::touch_atime`]).
    pub fn read_at(&mut self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize> {
        let n = self.node(ino);
        let Data::Reg(f) = &n.data else { return Err(Errno::EISDIR) };
        Ok(f.read(off, buf))
    }

    /// The file or directory `ino` was read: its access time becomes now as
    /// its file system's mount says (Linux's `touch_atime`): never with
    /// `noatime` (or `nodiratime` for a directory), always with
    /// `strictatime`, and with `relatime` (the default) only when it is not
    /// after the modification or change time or is a day old.
    pub fn touch_atime(&mut self, ino: Ino) {
        let now = self.now;
        let Some(n) = self.get(ino) else { return };
        let flags = self.dev_flags(n.dev);
        if flags & MS_NOATIME != 0 || (n.is_dir() && flags & MS_NODIRATIME != 0) || n.readonly || self.rofs(ino) {
            return;
        }
        if flags & MS_RELATIME != 0 && n.atime > n.mtime && n.atime > n.ctime && now.saturating_sub(n.atime) < 86_400_000_000_000 {
            return;
        }
        self.node_mut(ino).atime = now;
    }

    /// Up to `len` bytes of a regular file from `off` (empty for other inodes).
    pub fn read_range(&self, ino: Ino, off: u64, len: usize) -> Vec<u8> {
        match &self.node(ino).data {
            Data::Reg(f) => f.read_range(off, len),
            _ => Vec::new(),
        }
    }

    /// All the bytes of a regular file.
    pub fn contents(&self, ino: Ino) -> Option<Vec<u8>> {
        match &self.node(ino).data {
            Data::Reg(f) => Some(f.to_vec()),
            _ => None,
        }
    }

    /// Write at an offset of a regular file (extending it with a hole as needed).
    pub fn write_at(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<usize> {
        let end = off.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE {
            return Err(Errno::EFBIG);
        }
        let now = self.now;
        let (cap, used) = (self.capacity, self.used);
        let dev = self.node(ino).dev;
        let grow = self.write_growth(ino, off, data.len());
        let (alloc, len, pages) = match &self.node(ino).data {
            Data::Reg(f) => (f.allocated(), f.len(), footprint(f)),
            _ => (0, 0, 0),
        };
        let new_pages = (alloc + grow).min(len.max(end).div_ceil(4096) * 4096);
        if self.over_limit(dev, new_pages.saturating_sub(pages)) {
            return Err(Errno::ENOSPC);
        }
        let n = self.node_mut(ino);
        let Data::Reg(f) = &mut n.data else { return Err(Errno::EISDIR) };
        if used + grow > cap {
            return Err(Errno::ENOSPC);
        }
        if data.is_empty() {
            return Ok(0);
        }
        f.write(off, data);
        n.host = None;
        n.mtime = now;
        n.ctime = now;
        let after = footprint(f);
        self.charge(dev, (0, pages), (grow, after));
        self.event(ino, IN_MODIFY);
        Ok(data.len())
    }

    /// Bytes of memory a write of `n` bytes at `off` would add.
    pub fn write_growth(&self, ino: Ino, off: u64, n: usize) -> u64 {
        match &self.node(ino).data {
            Data::Reg(f) => f.growth(off, n),
            _ => 0,
        }
    }

    /// Set the size of a regular file (growing it adds a hole: no memory).
    pub fn truncate(&mut self, ino: Ino, len: u64) -> Result<()> {
        if len > MAX_FILE {
            return Err(Errno::EFBIG);
        }
        // A workstation file cut to nothing needs none of its bytes; cut
        // to a length, it needs them first.
        if self.node(ino).remote && self.node(ino).is_reg() {
            if len > 0 {
                return Err(self.fetch(ino));
            }
            self.node_mut(ino).remote = false;
        }
        let now = self.now;
        let n = self.node_mut(ino);
        let Data::Reg(f) = &mut n.data else {
            return Err(if n.is_dir() { Errno::EISDIR } else { Errno::EINVAL });
        };
        let (before, pb) = (f.allocated(), footprint(f));
        f.truncate(len);
        let (after, pa) = (f.allocated(), footprint(f));
        n.host = None;
        n.mtime = now;
        n.ctime = now;
        let dev = n.dev;
        self.charge(dev, (before, pb), (after, pa));
        self.event(ino, IN_MODIFY);
        Ok(())
    }

    /// FALLOC_FL_PUNCH_HOLE: bytes [off, off + len) become zeros, their
    /// whole pages holes (freed when a chunk has no data left).
    pub fn punch_hole(&mut self, ino: Ino, off: u64, len: u64) -> Result<()> {
        self.need_content(ino)?;
        let now = self.now;
        let n = self.node_mut(ino);
        let Data::Reg(f) = &mut n.data else { return Err(Errno::EINVAL) };
        let (before, pb) = (f.allocated(), footprint(f));
        f.punch(off, len);
        let (after, pa) = (f.allocated(), footprint(f));
        n.mtime = now;
        n.ctime = now;
        let dev = n.dev;
        self.charge(dev, (before, pb), (after, pa));
        self.event(ino, IN_MODIFY);
        Ok(())
    }

    /// lseek's SEEK_DATA (`hole` false) or SEEK_HOLE on a regular file:
    /// None is ENXIO (see [`FileData::seek`]).
    pub fn seek_data(&self, ino: Ino, off: u64, hole: bool) -> Option<u64> {
        match &self.node(ino).data {
            Data::Reg(f) if !self.node(ino).remote => f.seek(off, hole),
            // Bytes not fetched yet: data all through, as a file without holes.
            n => {
                let size = if let Data::Reg(f) = n { f.len() } else { 0 };
                (off < size).then_some(if hole { size } else { off })
            }
        }
    }

    /// `chmod`: only the owner or root.
    pub fn chmod(&mut self, ino: Ino, perm: u32, cred: &Cred) -> Result<()> {
        self.check_rofs(ino)?;
        let now = self.now;
        let n = self.node_mut(ino);
        if n.frozen() {
            return Err(Errno::EPERM);
        }
        if cred.uid != 0 && cred.uid != n.uid {
            return Err(Errno::EPERM);
        }
        if n.readonly {
            return Err(Errno::EROFS);
        }
        let mut perm = perm & 0o7777;
        // A non-root owner outside the file's group loses setgid.
        if cred.uid != 0 && !cred.in_group(n.gid) {
            perm &= !0o2000;
        }
        n.perm = perm;
        n.ctime = now;
        self.event(ino, IN_ATTRIB);
        Ok(())
    }

    /// `chown` (`u32::MAX` leaves an id unchanged): root may do anything; an
    /// owner may only change the group to one of its own.
    pub fn chown(&mut self, ino: Ino, uid: u32, gid: u32, cred: &Cred) -> Result<()> {
        self.check_rofs(ino)?;
        let now = self.now;
        let n = self.node_mut(ino);
        if n.frozen() && (uid != u32::MAX || gid != u32::MAX) {
            return Err(Errno::EPERM);
        }
        if n.readonly {
            return Err(Errno::EROFS);
        }
        if cred.uid != 0 {
            let uid_ok = uid == u32::MAX || uid == n.uid;
            let gid_ok = gid == u32::MAX || (cred.uid == n.uid && cred.in_group(gid));
            if !uid_ok || !gid_ok || cred.uid != n.uid {
                return Err(Errno::EPERM);
            }
        }
        if uid != u32::MAX {
            n.uid = uid;
        }
        if gid != u32::MAX {
            n.gid = gid;
        }
        if !n.is_dir() && (uid != u32::MAX || gid != u32::MAX) {
            n.perm &= !0o4000;
            if n.perm & 0o010 != 0 {
                n.perm &= !0o2000;
            }
        }
        n.ctime = now;
        self.event(ino, IN_ATTRIB);
        Ok(())
    }

    /// The path of `ino` from the root (directories, or files through their
    /// first found name): for getcwd and /proc/self/fd. `None` if unlinked.
    pub fn path_of(&self, ino: Ino) -> Option<Vec<u8>> {
        if ino == self.root || ino == self.cover(self.root) {
            return Some(b"/".to_vec());
        }
        if let Some(m) = self.mount_rooted(ino) {
            let point = m.point;
            return self.path_of(point);
        }
        let n = self.get(ino)?;
        if n.nlink == 0 {
            return None;
        }
        // A file's `parent` is where it was made or last moved to: a hint,
        // true unless that name went and another link remains.
        let hinted = n.parent != 0 && matches!(self.get(n.parent).map(|d| &d.data), Some(Data::Dir(e)) if e.values().any(|&i| i == ino));
        let parent = if n.is_dir() || hinted { n.parent } else { self.find_parent(ino)? };
        let name = self.entries(parent).ok()?.iter().find(|(_, &i)| i == ino)?.0.clone();
        let mut p = self.path_of(parent)?;
        if p != b"/" {
            p.push(b'/');
        }
        p.extend_from_slice(&name);
        Some(p)
    }

    fn find_parent(&self, ino: Ino) -> Option<Ino> {
        self.nodes.iter().find(|(_, n)| matches!(&n.data, Data::Dir(e) if e.values().any(|&i| i == ino))).map(|(&i, _)| i)
    }
}
