//! Files: the job's file tree, file descriptors and the file system calls.
//!
//! The model: a descriptor (`fds`) points at a shared open file description
//! ([`OpenFile`]: what is open, the access mode and status flags, the offset),
//! as `dup` and Linux do; the description points at a VFS inode or at one of
//! the job console's streams (stdin, stdout, stderr, which behave as pipes).

use super::*;
use crate::syscalls::table::StatLayout;
pub use crate::linux::*;
use alloc::rc::Rc;
use alloc::vec;
use core::cell::RefCell;
use sion_vfs::{Cred, Data, Found, Ino, Vfs, R_OK, W_OK, X_OK};

const O_VALID: u32 = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | O_TMPFILE;
/// Flags F_SETFL may change.
const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;


/// /proc/mounts and /etc/mtab: busybox df and libc's getmntent read them.
const MOUNTS: &str = "tmpfs / tmpfs rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\ndevtmpfs /dev devtmpfs rw,nosuid 0 0\n";

/// Free memory the node keeps when files grow (ENOSPC below it).
pub const FREE_RESERVE: u64 = 16 << 20;

/// `st_dev` of the file systems.
pub const DEV_ROOT: u64 = 0x1e;
pub const DEV_PROC: u64 = 0x15;
pub const DEV_DEV: u64 = 0x05;
/// Device numbers (makedev) of the character devices.
pub const RDEV_NULL: u64 = 0x103;
pub const RDEV_ZERO: u64 = 0x105;
pub const RDEV_FULL: u64 = 0x107;
pub const RDEV_RANDOM: u64 = 0x108;
pub const RDEV_URANDOM: u64 = 0x109;
pub const RDEV_TTY: u64 = 0x500;

/// Tags of generated /proc files. A process's own files (`SELF_*`) carry
/// its pid too ([`tag::of`]): `/proc/<pid>/stat` is generated from process
/// `pid`, whoever opens it.
pub mod tag {
    /// The tag of kind `kind` for process `pid`.
    pub const fn of(kind: u32, pid: u32) -> u32 {
        kind | pid << 8
    }
    pub const fn kind(tag: u32) -> u32 {
        tag & 0xff
    }
    pub const fn pid(tag: u32) -> u32 {
        tag >> 8
    }
    pub const CPUINFO: u32 = 1;
    pub const MEMINFO: u32 = 2;
    pub const UPTIME: u32 = 3;
    pub const LOADAVG: u32 = 4;
    pub const STAT: u32 = 5;
    pub const SELF_MAPS: u32 = 10;
    pub const SELF_STAT: u32 = 11;
    pub const SELF_STATUS: u32 = 12;
    pub const SELF_CMDLINE: u32 = 13;
    pub const SELF_ENVIRON: u32 = 14;
    pub const SELF_FD: u32 = 15;
    pub const SELF_STATM: u32 = 16;
    pub const FILESYSTEMS: u32 = 17;
    /// /proc/<pid> itself, while still empty (see `add_proc_stub`).
    pub const PROC_DIR: u32 = 19;
    pub const MOUNTS: u32 = 18;
}

/// What an open file description refers to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Obj {
    Stdin,
    Stdout,
    Stderr,
    Node(Ino),
    /// An epoll instance (its interest list is `Files::epolls[id]`).
    Epoll(u32),
    /// A socket (its state is `Files::sockets[id]`, see `process/net.rs`).
    Socket(u32),
    /// An AF_UNIX socket (`JobState::unix[id]`, see `process/unix.rs`).
    Unix(u32),
    /// One end of a pipe (`Files::pipes[id]`, see `process/pipe.rs`).
    Pipe { id: u32, write: bool },
    /// An eventfd counter (`JobState::eventfds[id]`, see `process/eventfd.rs`).
    EventFd(u32),
    /// A signalfd (`JobState::signalfds[id]`, see `process/signalfd.rs`).
    SignalFd(u32),
}

#[derive(Debug)]
pub struct OpenFile {
    pub obj: Obj,
    /// Access mode and status flags (O_*; not O_CLOEXEC).
    pub flags: u32,
    pub off: u64,
    /// Contents of a generated file, taken at open.
    pub snapshot: Option<Vec<u8>>,
}

impl OpenFile {
    fn readable(&self) -> bool {
        self.flags & O_PATH == 0 && self.flags & O_ACCMODE != O_WRONLY && self.flags & O_ACCMODE != 3
    }
    fn writable(&self) -> bool {
        self.flags & O_PATH == 0 && matches!(self.flags & O_ACCMODE, O_WRONLY | O_RDWR)
    }
}

#[derive(Clone, Debug)]
pub struct FdEntry {
    pub file: Rc<RefCell<OpenFile>>,
    pub cloexec: bool,
}

/// The file state of a process.
pub struct Files {
    pub fds: BTreeMap<i32, FdEntry>,
    pub cwd: Ino,
    pub umask: u32,
    pub cred: Cred,
    /// /proc/<pid>/fd needs to be rebuilt.
    pub fd_dirty: bool,
    pub proc_fd_dir: Ino,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
}

impl Files {
    /// The same descriptors (sharing their open file descriptions), as fork.
    pub fn fork(&self) -> Files {
        Files {
            fds: self.fds.clone(),
            cwd: self.cwd,
            umask: self.umask,
            cred: self.cred.clone(),
            fd_dirty: true,
            proc_fd_dir: self.proc_fd_dir,
            argv: self.argv.clone(),
            envp: self.envp.clone(),
        }
    }
}

fn dirent_name_ok(name: &[u8]) -> bool {
    !name.is_empty()
}

/// Build the job's file tree.
/// How a job whose `--file`s exceed the file space fails to start.
pub const FILES_DO_NOT_FIT: &str = "the job's files do not fit in the node's memory";

/// Memory kept for the job itself when staging its files (or an eighth of
/// the node's, if more); `sion exec` refuses a tree past it before booting.
pub const STAGING_RESERVE: u64 = 32 << 20;

/// A staged regular file, its bytes copied once, straight into the file's
/// blocks (no whole copy in between: a large file would need twice its size).
fn put_staged(v: &mut Vfs, path: &[u8], data: &[u8], perm: u32, uid: u32, gid: u32) -> Result<Ino, sion_vfs::Errno> {
    let i = v.put_file(path, Vec::new(), perm, uid, gid)?;
    // Staging is bounded by the caller's check, not by the file space (the
    // job's own writes are).
    let cap = core::mem::replace(&mut v.capacity, u64::MAX);
    let written = v.write_at(i, 0, data);
    v.capacity = cap;
    written.map(|_| i)
}

/// A staged symbolic link (`--file` keeps them), its target unchanged,
/// dangling or not; the directories above it are created as for files.
fn put_symlink(v: &mut Vfs, path: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Ino, sion_vfs::Errno> {
    let (dirpath, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    };
    if name.is_empty() || target.is_empty() {
        return Err(sion_vfs::Errno::ENOENT);
    }
    let dir = v.mkdir_p(dirpath, uid, gid)?;
    if let Some(old) = v.child(dir, name)? {
        if v.node(old).is_dir() {
            return Err(sion_vfs::Errno::EISDIR);
        }
    }
    Ok(v.add(dir, name, Data::Symlink(target.to_vec()), 0o777, uid, gid))
}

pub fn build_tree(s: &Spawn, now: u64, pid: u32) -> Result<(Files, JobState), String> {
    let mut v = Vfs::new();
    v.now = now;
    // Files live in the server's memory: at most half the node's.
    v.capacity = s.memory / 2;
    v.node_mut(v.root).dev = DEV_ROOT;
    let (uid, gid) = (s.uid, s.gid);
    let mkdir = |v: &mut Vfs, p: &str, perm: u32| -> Result<Ino, String> {
        let d = v.mkdir_p(p.as_bytes(), 0, 0).map_err(|e| format!("{p}: errno {}", e.0))?;
        v.node_mut(d).perm = perm;
        Ok(d)
    };
    for d in ["/bin", "/usr/bin", "/home", "/root", "/var/tmp"] {
        mkdir(&mut v, d, 0o755)?;
    }
    mkdir(&mut v, "/root", 0o700)?;
    mkdir(&mut v, "/tmp", 0o1777)?;
    mkdir(&mut v, "/var/tmp", 0o1777)?;
    // /etc: enough for libc's lookups of the user and the host.
    let user = if uid == 0 { String::from("root") } else { String::from("user") };
    let home = if uid == 0 { String::from("/root") } else { String::from("/home/user") };
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
    if uid != 0 {
        passwd += &format!("{user}:x:{uid}:{gid}:{user}:{home}:/bin/sh\n");
    }
    passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    let mut group = String::from("root:x:0:\n");
    if gid != 0 {
        group += &format!("users:x:{gid}:{user}\n");
    }
    group += "nogroup:x:65534:\n";
    let etc: [(&str, String); 6] = [
        ("passwd", passwd),
        ("group", group),
        ("hostname", String::from("sion\n")),
        ("hosts", String::from("127.0.0.1\tlocalhost\n127.0.1.1\tsion\n::1\tlocalhost ip6-localhost ip6-loopback\n")),
        ("nsswitch.conf", String::from("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n")),
        ("mtab", String::from(MOUNTS)),
    ];
    for (name, text) in etc {
        // With the workstation's /etc shared, its hosts file names hosts as
        // the program would see them there; the job's identity stays ours.
        if name == "hosts" && shared(b"/etc/hosts", &s.shares) {
            continue;
        }
        v.put_file(format!("/etc/{name}").as_bytes(), text.into_bytes(), 0o644, 0, 0).map_err(|e| format!("/etc/{name}: errno {}", e.0))?;
    }
    if uid != 0 {
        let h = mkdir(&mut v, &home, 0o755)?;
        v.node_mut(h).uid = uid;
        v.node_mut(h).gid = gid;
    }
    // /dev
    let dev = mkdir(&mut v, "/dev", 0o755)?;
    v.node_mut(dev).dev = DEV_DEV;
    for (name, rdev, perm) in [("null", RDEV_NULL, 0o666), ("zero", RDEV_ZERO, 0o666), ("full", RDEV_FULL, 0o666), ("random", RDEV_RANDOM, 0o666), ("urandom", RDEV_URANDOM, 0o666), ("tty", RDEV_TTY, 0o666)] {
        v.add(dev, name.as_bytes(), Data::Chr(rdev), perm, 0, 0);
    }
    for (name, target) in [("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("fd", "/proc/self/fd")] {
        v.add(dev, name.as_bytes(), Data::Symlink(target.as_bytes().to_vec()), 0o777, 0, 0);
    }
    let shm = v.add(dev, b"shm", Data::Dir(BTreeMap::new()), 0o1777, 0, 0);
    let _ = shm;
    // /proc: the node's files; /proc/<pid> for each process (see add_proc_dir).
    let proc_ = mkdir(&mut v, "/proc", 0o555)?;
    v.node_mut(proc_).dev = DEV_PROC;
    let me = v.add(proc_, b"self", Data::Symlink(Vec::new()), 0o777, 0, 0);
    v.node_mut(me).tag = sion_vfs::TAG_SELF_LINK;
    let me = v.add(proc_, b"thread-self", Data::Symlink(Vec::new()), 0o777, 0, 0);
    v.node_mut(me).tag = sion_vfs::TAG_THREAD_SELF_LINK;
    for (name, t) in [("cpuinfo", tag::CPUINFO), ("meminfo", tag::MEMINFO), ("uptime", tag::UPTIME), ("loadavg", tag::LOADAVG), ("stat", tag::STAT), ("filesystems", tag::FILESYSTEMS)] {
        let i = v.add(proc_, name.as_bytes(), Data::Reg(Default::default()), 0o444, 0, 0);
        v.node_mut(i).tag = t;
    }
    v.add(proc_, b"mounts", Data::Symlink(b"self/mounts".to_vec()), 0o777, 0, 0);
    v.asker = (pid, pid);
    // The job's files, the program itself, then the working directory.
    for (path, data, mode) in &s.files {
        // Checked before copying: past what the node holds the copy would
        // exhaust the server's heap. The job keeps a reserve for itself.
        let need = (data.len() as u64).div_ceil(sion_vfs::CHUNK as u64) * sion_vfs::CHUNK as u64;
        let room = s.memory.saturating_sub((s.memory / 8).max(STAGING_RESERVE));
        if v.used() + need > room {
            return Err(format!("{FILES_DO_NOT_FIT} (at most {} MiB of files in {} MiB): {path}", room >> 20, s.memory >> 20));
        }
        let staged = if mode & 0o170000 == 0o120000 {
            put_symlink(&mut v, path.as_bytes(), data, uid, gid)
        } else {
            put_staged(&mut v, path.as_bytes(), data, mode & 0o7777, uid, gid)
        };
        staged.map_err(|e| format!("{path}: errno {}", e.0))?;
    }
    if s.exe.starts_with('/') && v.lookup(v.root, s.exe.as_bytes(), true, &Cred::root()).is_err() {
        v.put_file(s.exe.as_bytes(), s.program.to_vec(), 0o755, uid, gid).map_err(|e| format!("{}: errno {}", s.exe, e.0))?;
    }
    let cwd = match v.lookup(v.root, s.cwd.as_bytes(), true, &Cred::root()) {
        Ok(i) if v.node(i).is_dir() => i,
        _ => {
            let d = v.mkdir_p(s.cwd.as_bytes(), uid, gid).map_err(|e| format!("cwd {}: errno {}", s.cwd, e.0))?;
            d
        }
    };
    // Directories created for the job belong to the job's user.
    for p in [s.cwd.as_str()] {
        if let Ok(i) = v.lookup(v.root, p.as_bytes(), true, &Cred::root()) {
            if i != v.root {
                v.node_mut(i).uid = uid;
                v.node_mut(i).gid = gid;
            }
        }
    }
    v.open_ref(cwd);
    mark_shared(&mut v, &s.shares);
    let cwd_path = v.path_of(cwd).unwrap_or_else(|| b"/".to_vec());
    let proc_fd_dir = add_proc_dir(&mut v, pid, (uid, gid), s.exe.as_bytes(), &cwd_path);
    let mut fds = BTreeMap::new();
    for (fd, obj, flags) in [(0, Obj::Stdin, 0), (1, Obj::Stdout, O_WRONLY), (2, Obj::Stderr, O_WRONLY)] {
        fds.insert(fd, FdEntry { file: Rc::new(RefCell::new(OpenFile { obj, flags, off: 0, snapshot: None })), cloexec: false });
    }
    let files = Files {
        fds,
        cwd,
        umask: 0o022,
        cred: Cred { uid, gid, groups: Vec::new() },
        fd_dirty: true,
        proc_fd_dir,
        argv: s.argv.clone(),
        envp: s.envp.clone(),
    };
    let job = JobState { vfs: v, stdin_eof: !s.stdin_stream, ..JobState::default() };
    Ok((files, job))
}

/// Whether `path` is under a shared path or on the way to one.
pub fn shared(path: &[u8], shares: &[String]) -> bool {
    let under = |root: &[u8], p: &[u8]| root == b"/" || p == root || (p.starts_with(root) && p.get(root.len()) == Some(&b'/'));
    shares.iter().any(|s| under(s.as_bytes(), path) || under(path, s.as_bytes()))
}

/// Every directory of the job's tree that the workstation shares (or that
/// leads to what it shares) gets the workstation's entries merged under its
/// own on first need: it becomes remote. /proc and /dev stay the node's.
fn mark_shared(v: &mut Vfs, shares: &[String]) {
    if shares.is_empty() {
        return;
    }
    let mut todo = alloc::vec![(v.root, b"/".to_vec())];
    while let Some((dir, path)) = todo.pop() {
        if path == b"/proc" || path == b"/dev" || !shared(&path, shares) {
            continue;
        }
        for e in v.readdir(dir).unwrap_or_default().into_iter().skip(2) {
            if v.node(e.ino).is_dir() {
                let mut p = if path == b"/" { Vec::new() } else { path.clone() };
                p.push(b'/');
                p.extend_from_slice(&e.name);
                todo.push((e.ino, p));
            }
        }
        v.node_mut(dir).remote = true;
    }
}

/// The files of /proc/<pid>/ and of /proc/<pid>/task/<tid>/ (a thread's
/// view is its process's; its `fd` is a link to the process's).
const PROC_FILES: [(&str, u32, u32); 7] = [
    ("maps", tag::SELF_MAPS, 0o444),
    ("stat", tag::SELF_STAT, 0o444),
    ("statm", tag::SELF_STATM, 0o444),
    ("status", tag::SELF_STATUS, 0o444),
    ("cmdline", tag::SELF_CMDLINE, 0o444),
    ("environ", tag::SELF_ENVIRON, 0o400),
    ("mounts", tag::MOUNTS, 0o444),
];

fn proc_dir(v: &Vfs) -> Ino {
    v.child(v.root, b"proc").ok().flatten().unwrap_or(v.root)
}

/// Make /proc/<pid> for a new process (the job's first) with `exe`, `cwd`,
/// `fd/`, the generated files and `task/<pid>/`; the owner is the
/// process's (uid, gid). Returns its `fd` directory.
pub fn add_proc_dir(v: &mut Vfs, pid: u32, (uid, gid): (u32, u32), exe: &[u8], cwd: &[u8]) -> Ino {
    let pd = add_proc_stub(v, pid, (uid, gid));
    fill_proc_dir(v, pd, pid, exe, cwd, &[pid])
}

/// Make /proc/<pid> of a fork's child empty: its files are made when first
/// looked for (`fill_proc_dir`, through the VFS's `FETCH`, answered by the
/// process table at once), so a fork does not pay for a tree few look at.
pub fn add_proc_stub(v: &mut Vfs, pid: u32, (uid, gid): (u32, u32)) -> Ino {
    let proc_ = proc_dir(v);
    let name = format!("{pid}");
    v.remove_tree(proc_, name.as_bytes());
    let pd = v.add(proc_, name.as_bytes(), Data::Dir(BTreeMap::new()), 0o555, uid, gid);
    let n = v.node_mut(pd);
    n.tag = tag::of(tag::PROC_DIR, pid);
    n.remote = true;
    pd
}

/// The process whose /proc directory `ino` is, if it is one still empty.
pub fn proc_stub_of(v: &Vfs, ino: Ino) -> Option<u32> {
    let n = v.node(ino);
    (n.remote && n.is_dir() && tag::kind(n.tag) == tag::PROC_DIR).then(|| tag::pid(n.tag))
}

/// Fill /proc/<pid> (directory `pd`) with its files and a `task/<tid>/`
/// per thread of `tids`. Returns its `fd` directory.
pub fn fill_proc_dir(v: &mut Vfs, pd: Ino, pid: u32, exe: &[u8], cwd: &[u8], tids: &[u32]) -> Ino {
    let (uid, gid) = (v.node(pd).uid, v.node(pd).gid);
    v.node_mut(pd).remote = false;
    proc_files(v, pd, pid, (uid, gid), exe, cwd);
    let fdd = v.add(pd, b"fd", Data::Dir(BTreeMap::new()), 0o500, uid, gid);
    v.node_mut(fdd).tag = tag::of(tag::SELF_FD, pid);
    v.add(pd, b"task", Data::Dir(BTreeMap::new()), 0o555, uid, gid);
    for &tid in tids {
        add_task_dir(v, pid, tid, exe, cwd);
    }
    fdd
}

fn proc_files(v: &mut Vfs, dir: Ino, pid: u32, (uid, gid): (u32, u32), exe: &[u8], cwd: &[u8]) {
    for (name, kind, perm) in PROC_FILES {
        let i = v.add(dir, name.as_bytes(), Data::Reg(Default::default()), perm, uid, gid);
        v.node_mut(i).tag = tag::of(kind, pid);
    }
    v.add(dir, b"exe", Data::Symlink(exe.to_vec()), 0o777, uid, gid);
    v.add(dir, b"cwd", Data::Symlink(cwd.to_vec()), 0o777, uid, gid);
}

/// /proc/<pid>/task/<tid> for a thread of process `pid`.
pub fn add_task_dir(v: &mut Vfs, pid: u32, tid: u32, exe: &[u8], cwd: &[u8]) {
    let Ok(task) = v.lookup(v.root, format!("/proc/{pid}/task").as_bytes(), false, &Cred::root()) else { return };
    let (uid, gid) = (v.node(task).uid, v.node(task).gid);
    let name = format!("{tid}");
    v.remove_tree(task, name.as_bytes());
    let td = v.add(task, name.as_bytes(), Data::Dir(BTreeMap::new()), 0o555, uid, gid);
    proc_files(v, td, pid, (uid, gid), exe, cwd);
    v.add(td, b"fd", Data::Symlink(b"../../fd".to_vec()), 0o777, uid, gid);
}

/// A thread ended: its /proc/<pid>/task/<tid> goes.
pub fn remove_task_dir(v: &mut Vfs, pid: u32, tid: u32) {
    if let Ok(task) = v.lookup(v.root, format!("/proc/{pid}/task").as_bytes(), false, &Cred::root()) {
        v.remove_tree(task, format!("{tid}").as_bytes());
    }
}

/// A process ended: /proc/<pid> goes (files open in it live on).
pub fn remove_proc_dir(v: &mut Vfs, pid: u32) {
    let proc_ = proc_dir(v);
    v.remove_tree(proc_, format!("{pid}").as_bytes());
}

/// Point the links named `name` (`exe`, `cwd`) of /proc/<pid> and of each
/// of its threads at `target`.
pub fn set_proc_link(v: &mut Vfs, pid: u32, name: &[u8], target: &[u8]) {
    let Ok(pd) = v.lookup(v.root, format!("/proc/{pid}").as_bytes(), false, &Cred::root()) else { return };
    let mut dirs = alloc::vec![pd];
    if let Ok(Some(task)) = v.child(pd, b"task") {
        dirs.extend(v.readdir(task).unwrap_or_default().into_iter().skip(2).map(|e| e.ino));
    }
    for d in dirs {
        if let Ok(Some(l)) = v.child(d, name) {
            if let Data::Symlink(t) = &mut v.node_mut(l).data {
                *t = target.to_vec();
            }
        }
    }
}

/// The bytes and absolute path of the file at `path` (from `cwd` when
/// relative), which must be a regular file `cred` may execute: how the first
/// program's interpreter is found, with execve's errnos.
pub fn read_executable(v: &Vfs, cwd: Ino, path: &[u8], cred: &Cred) -> Result<(Vec<u8>, String), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let ino = v.lookup(cwd, path, true, cred).ex()?;
    executable(v, ino, path, cred)
}

/// Inode `ino` (reached by `path`) as a program: EACCES unless a regular
/// file that `cred` may execute and someone may.
fn executable(v: &Vfs, ino: Ino, path: &[u8], cred: &Cred) -> Result<(Vec<u8>, String), Errno> {
    let node = v.node(ino);
    if !node.is_reg() || !v.may(ino, X_OK, cred) || node.mode() & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    v.need_content(ino).ex()?;
    let bytes = v.read_range(ino, 0, node.size() as usize);
    let exe = v.path_of(ino).map(|p| String::from_utf8_lossy(&p).into_owned()).unwrap_or_else(|| String::from_utf8_lossy(path).into_owned());
    Ok((bytes, exe))
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

fn stat_blocks(size: u64) -> u64 {
    size.div_ceil(4096) * 8
}

impl Process {
    // ----- descriptors -----

    pub(crate) fn fd_get(&self, fd: u64) -> Result<FdEntry, Errno> {
        let fd = fd as u32 as i32;
        self.files.fds.get(&fd).cloned().ok_or(Errno::EBADF)
    }

    pub(crate) fn file(&self, fd: u64) -> Result<Rc<RefCell<OpenFile>>, Errno> {
        Ok(self.fd_get(fd)?.file)
    }

    /// A descriptor usable for I/O (not O_PATH).
    pub(crate) fn io_file(&self, fd: u64) -> Result<Rc<RefCell<OpenFile>>, Errno> {
        let f = self.file(fd)?;
        if f.borrow().flags & O_PATH != 0 {
            return Err(Errno::EBADF);
        }
        Ok(f)
    }

    fn nofile(&self) -> i32 {
        self.rlimits[7].0.min(1 << 20) as i32
    }

    /// Install a description at the lowest free descriptor >= `min`.
    pub(crate) fn fd_install(&mut self, file: Rc<RefCell<OpenFile>>, min: i32, cloexec: bool) -> Result<i32, Errno> {
        let limit = self.nofile();
        let mut fd = min;
        for (&k, _) in self.files.fds.range(min..) {
            if k != fd {
                break;
            }
            fd += 1;
        }
        if fd >= limit {
            return Err(Errno::EMFILE);
        }
        self.files.fds.insert(fd, FdEntry { file, cloexec });
        self.files.fd_dirty = true;
        Ok(fd)
    }

    pub(crate) fn fd_close(&mut self, fd: i32) -> Result<(), Errno> {
        let ent = self.files.fds.remove(&fd).ok_or(Errno::EBADF)?;
        self.files.fd_dirty = true;
        self.release(ent.file);
        Ok(())
    }

    pub(super) fn release(&mut self, file: Rc<RefCell<OpenFile>>) {
        if Rc::strong_count(&file) == 1 {
            let (obj, flags) = (file.borrow().obj, file.borrow().flags);
            if let Some(ino) = self.fifo_of(obj) {
                self.fifo_closed(ino, flags);
                return;
            }
            match file.borrow().obj {
                Obj::Node(ino) => self.job.vfs.close_ref(ino),
                Obj::Epoll(id) => {
                    self.job.epolls.remove(&id);
                }
                Obj::Socket(id) => {
                    if let Some(sock) = self.job.sockets.remove(&id) {
                        self.job.sockets_closed.push(sock.handle);
                    }
                }
                Obj::Pipe { id, write } => self.pipe_end_closed(id, write),
                Obj::Unix(id) => self.unix_closed(id),
                Obj::EventFd(id) => {
                    self.job.eventfds.remove(&id);
                }
                Obj::SignalFd(id) => {
                    self.job.signalfds.remove(&id);
                }
                _ => {}
            }
        }
    }

    /// Install two new descriptions and write their descriptors, two ints,
    /// at `out` (pipe2, socketpair): both or neither.
    pub(super) fn install_pair(&mut self, h: &mut dyn Host, abi: Abi, pair: [Rc<RefCell<OpenFile>>; 2], cloexec: bool, out: u64) -> SysResult {
        let [a, b] = pair;
        let fa = match self.fd_install(a.clone(), 0, cloexec) {
            Ok(fd) => fd,
            Err(e) => {
                self.release(a);
                self.release(b);
                return Err(e);
            }
        };
        let fb = match self.fd_install(b.clone(), 0, cloexec) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = self.fd_close(fa);
                self.release(b);
                return Err(e);
            }
        };
        let mut bytes = (fa as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&(fb as u32).to_le_bytes());
        if let Err(e) = self.write_user(h, abi, out, &bytes) {
            let _ = self.fd_close(fa);
            let _ = self.fd_close(fb);
            return Err(e);
        }
        Ok(0)
    }

    pub(super) fn new_file(&mut self, obj: Obj, flags: u32) -> Rc<RefCell<OpenFile>> {
        if let Obj::Node(ino) = obj {
            self.job.vfs.open_ref(ino);
        }
        Rc::new(RefCell::new(OpenFile { obj, flags, off: 0, snapshot: None }))
    }

    // ----- paths -----

    /// Rebuild /proc/<pid>/fd when descriptors changed.
    fn sync_proc(&mut self) {
        if !self.files.fd_dirty {
            return;
        }
        let dir = self.files.proc_fd_dir;
        if dir == 0 {
            return; // /proc/<pid> not made yet: it will be, with its fd/
        }
        self.files.fd_dirty = false;
        let old: Vec<Vec<u8>> = self.job.vfs.readdir(dir).unwrap_or_default().into_iter().skip(2).map(|e| e.name).collect();
        for name in old {
            let _ = self.job.vfs.unlink(dir, &name, &Cred::root());
        }
        let entries: Vec<(i32, Obj)> = self.files.fds.iter().map(|(&fd, e)| (fd, e.file.borrow().obj)).collect();
        for (fd, obj) in entries {
            let target = self.obj_path(obj);
            let name = format!("{fd}");
            self.job.vfs.add(dir, name.as_bytes(), Data::Symlink(target), 0o700, self.uid, self.gid);
        }
    }

    fn obj_path(&self, obj: Obj) -> Vec<u8> {
        match obj {
            Obj::Stdin => b"pipe:[10]".to_vec(),
            Obj::Stdout => b"pipe:[11]".to_vec(),
            Obj::Stderr => b"pipe:[12]".to_vec(),
            Obj::Epoll(_) => b"anon_inode:[eventpoll]".to_vec(),
            Obj::EventFd(_) => b"anon_inode:[eventfd]".to_vec(),
            Obj::SignalFd(_) => b"anon_inode:[signalfd]".to_vec(),
            Obj::Socket(id) => format!("socket:[{}]", 20000 + id).into_bytes(),
            Obj::Unix(id) => format!("socket:[{}]", 40000 + id).into_bytes(),
            Obj::Pipe { id, .. } => format!("pipe:[{}]", 30000 + id).into_bytes(),
            Obj::Node(ino) => match self.job.vfs.path_of(ino) {
                Some(p) => p,
                None => {
                    let mut p = b"/".to_vec();
                    p.extend_from_slice(b"(deleted)");
                    p
                }
            },
        }
    }

    /// The directory a relative path starts from.
    pub(super) fn at_dir(&self, dirfd: i32, path: &[u8]) -> Result<Ino, Errno> {
        if path.first() == Some(&b'/') {
            return Ok(self.job.vfs.root);
        }
        if dirfd == AT_FDCWD {
            return Ok(self.files.cwd);
        }
        let f = self.file(dirfd as u32 as u64)?;
        let obj = f.borrow().obj;
        match obj {
            Obj::Node(ino) if self.job.vfs.node(ino).is_dir() => Ok(ino),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn user_path(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<Vec<u8>, Errno> {
        let p = self.read_path(h, abi, addr)?;
        self.job.vfs.now = h.realtime_ns();
        // /proc/self/fd is reachable through any path (/dev/fd, links, ..).
        self.sync_proc();
        Ok(p)
    }

    /// Resolve `dirfd` + `path` (with AT_EMPTY_PATH: the fd itself) to an inode.
    pub(crate) fn resolve_at(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, flags: u32) -> Result<Resolved, Errno> {
        let p = self.user_path(h, abi, path)?;
        if p.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(Errno::ENOENT);
            }
            if dirfd == AT_FDCWD {
                return Ok(Resolved::Node(self.files.cwd));
            }
            let f = self.file(dirfd as u32 as u64)?;
            let obj = f.borrow().obj;
            let fifo = self.fifo_of(obj);
            return Ok(match (obj, fifo) {
                (_, Some(i)) | (Obj::Node(i), _) => Resolved::Node(i),
                (o, None) => Resolved::Console(o),
            });
        }
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        if follow {
            // /dev/fd/N of a pipe or socket: what the descriptor refers to.
            if let Some(fd) = self.magic_fd_link(&p) {
                return self.fd_resolved(fd as u32 as u64);
            }
        }
        let start = self.at_dir(dirfd, &p)?;
        self.job.vfs.lookup(start, &p, follow, &self.files.cred).ex().map(Resolved::Node)
    }

    pub(crate) fn walk_at(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, follow: bool) -> Result<(Vec<u8>, Ino, Found), Errno> {
        let p = self.user_path(h, abi, path)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        let start = self.at_dir(dirfd, &p)?;
        let f = self.job.vfs.walk(start, &p, follow, &self.files.cred).ex()?;
        Ok((p, start, f))
    }

    /// The bytes of a program to exec, and its absolute path: `dirfd` +
    /// `path` (AT_EMPTY_PATH: the fd itself), which must be a regular file
    /// the process may execute.
    pub(crate) fn exec_file(&mut self, dirfd: i32, path: &[u8], flags: u32) -> Result<(Vec<u8>, String), Errno> {
        let ino = if path.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(Errno::ENOENT);
            }
            match self.file(dirfd as u32 as u64)?.borrow().obj {
                Obj::Node(i) => i,
                _ => return Err(Errno::EACCES),
            }
        } else {
            self.sync_proc();
            let start = self.at_dir(dirfd, path)?;
            self.job.vfs.lookup(start, path, flags & AT_SYMLINK_NOFOLLOW == 0, &self.files.cred).ex()?
        };
        executable(&self.job.vfs, ino, path, &self.files.cred)
    }

    // ----- open -----

    pub(crate) fn sys_openat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, flags: u32, mode: u32) -> SysResult {
        if flags & !O_VALID != 0 && flags & !O_VALID & !0o20 != 0 {
            // Unknown bits are ignored by open (not by openat2).
        }
        if flags & O_TMPFILE == O_TMPFILE && flags & O_DIRECTORY != 0 {
            if flags & O_ACCMODE == 0 {
                return Err(Errno::EINVAL);
            }
            return Err(Errno::EOPNOTSUPP);
        }
        if flags & (O_CREAT | O_DIRECTORY) == O_CREAT | O_DIRECTORY {
            return Err(Errno::EINVAL);
        }
        let p = self.user_path(h, abi, path)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        if let Some(fd) = self.magic_fd_link(&p) {
            return self.reopen_fd(fd, flags);
        }
        let start = self.at_dir(dirfd, &p)?;
        let cred = self.files.cred.clone();
        let creat = flags & O_CREAT != 0 && flags & O_PATH == 0;
        let follow = flags & O_NOFOLLOW == 0 && !(creat && flags & O_EXCL != 0);
        let f = self.job.vfs.walk(start, &p, follow, &cred).ex()?;
        let acc = flags & O_ACCMODE;
        let ino = match f.ino {
            None => {
                if !creat {
                    return Err(Errno::ENOENT);
                }
                if f.trailing {
                    return Err(Errno::EISDIR);
                }
                let perm = mode & 0o7777 & !self.files.umask;
                let ino = self.job.vfs.create(&f, Data::Reg(Default::default()), perm, &cred).ex()?;
                // A new file may be opened for writing even if its mode forbids it.
                return self.finish_open(ino, flags, true);
            }
            Some(i) => i,
        };
        if creat && flags & O_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        let n = self.job.vfs.node(ino);
        if n.is_symlink() {
            if flags & O_PATH != 0 && flags & O_NOFOLLOW != 0 {
                return self.finish_open(ino, flags, false);
            }
            return Err(Errno::ELOOP);
        }
        let is_dir = n.is_dir();
        if (f.trailing || flags & O_DIRECTORY != 0) && !is_dir {
            return Err(Errno::ENOTDIR);
        }
        if flags & O_PATH != 0 {
            return self.finish_open(ino, flags, false);
        }
        if is_dir && (acc != 0 || flags & (O_CREAT | O_TRUNC) != 0) {
            return Err(Errno::EISDIR);
        }
        let want = match acc {
            0 => R_OK,
            1 => W_OK,
            _ => R_OK | W_OK,
        } | if flags & O_TRUNC != 0 { W_OK } else { 0 };
        if !self.job.vfs.may(ino, want, &cred) {
            return Err(Errno::EACCES);
        }
        match n.data {
            // No controlling terminal; a socket's name is for connect, not
            // open; a device without a driver here (root's mknod) is ENXIO.
            Data::Chr(RDEV_NULL | RDEV_ZERO | RDEV_FULL | RDEV_RANDOM | RDEV_URANDOM) => {}
            Data::Chr(_) | Data::Blk(_) | Data::Sock => return Err(Errno::ENXIO),
            Data::Fifo => return self.fifo_open(ino, flags),
            _ => {}
        }
        if n.tag != 0 {
            self.node = h.node_info();
        }
        let truncating = flags & O_TRUNC != 0 && n.is_reg() && acc != 0;
        if !truncating {
            // A workstation file's bytes come before it opens.
            self.job.vfs.need_content(ino).ex()?;
        }
        if truncating {
            self.job.vfs.truncate(ino, 0).ex()?;
        }
        self.finish_open(ino, flags, false)
    }

    /// `/dev/std{in,out,err}`, `/dev/fd/N`, `/proc/self/fd/N` and
    /// `/proc/<pid>/fd/N` are Linux's magic links: opening one opens what the
    /// descriptor refers to, even a pipe.
    fn magic_fd_link(&self, p: &[u8]) -> Option<i32> {
        let pid = format!("/proc/{}/fd/", self.pid);
        let rest = match p {
            b"/dev/stdin" => return Some(0),
            b"/dev/stdout" => return Some(1),
            b"/dev/stderr" => return Some(2),
            _ => [&b"/dev/fd/"[..], b"/proc/self/fd/", b"/proc/thread-self/fd/", pid.as_bytes()].iter().find_map(|pre| p.strip_prefix(*pre))?,
        };
        let fd: i32 = core::str::from_utf8(rest).ok()?.parse().ok()?;
        // Only for the console streams: files reopen through their path.
        match self.files.fds.get(&fd)?.file.borrow().obj {
            Obj::Node(_) => None,
            _ => Some(fd),
        }
    }

    fn reopen_fd(&mut self, fd: i32, flags: u32) -> SysResult {
        let Some(ent) = self.files.fds.get(&fd).cloned() else { return Err(Errno::ENOENT) };
        let obj = ent.file.borrow().obj;
        let acc = flags & O_ACCMODE;
        let ok = match obj {
            // Linux opens a pipe read-write through its link too.
            Obj::Stdin => acc != O_WRONLY,
            Obj::Stdout | Obj::Stderr => acc != 0,
            Obj::Node(_) | Obj::Epoll(_) | Obj::EventFd(_) | Obj::SignalFd(_) => true,
            // Linux cannot reopen a socket through /proc/self/fd.
            Obj::Socket(_) | Obj::Unix(_) => return Err(Errno::ENXIO),
            Obj::Pipe { write, .. } => super::pipe::pipe_reopen_ok(write, flags),
        };
        if !ok {
            return Err(Errno::EACCES);
        }
        let file = self.new_file(obj, flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC));
        self.fd_install(file, 0, flags & O_CLOEXEC != 0).map(|f| f as u64)
    }

    fn finish_open(&mut self, ino: Ino, flags: u32, _created: bool) -> SysResult {
        let mut fl = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
        if self.abi == Abi::X86_64 {
            fl |= O_LARGEFILE;
        }
        if fl & O_PATH != 0 {
            fl &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_LARGEFILE;
        }
        let file = self.new_file(Obj::Node(ino), fl);
        let tagv = self.job.vfs.node(ino).tag;
        if tagv != 0 && flags & O_PATH == 0 && self.job.vfs.node(ino).is_reg() {
            match tag::pid(tagv) {
                // Another process's file: the process table generates it
                // from that process before the call is answered.
                owner if owner != 0 && owner != self.pid => {
                    file.borrow_mut().snapshot = Some(Vec::new());
                    self.job.proc_reads.push((file.clone(), owner, tag::kind(tagv)));
                }
                _ => file.borrow_mut().snapshot = Some(self.generate(tag::kind(tagv))),
            }
        }
        match self.fd_install(file.clone(), 0, flags & O_CLOEXEC != 0) {
            Ok(fd) => Ok(fd as u64),
            Err(er) => {
                self.release(file);
                Err(er)
            }
        }
    }

    // ----- read and write -----

    pub(crate) fn read_file(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, iov: Vec<(u64, u64)>, at: Option<u64>) -> SysResult {
        let f = self.io_file(fd)?;
        let obj = f.borrow().obj;
        if !f.borrow().readable() {
            return Err(Errno::EBADF);
        }
        for &(base, len) in &iov {
            self.check_range(abi, base, len)?;
        }
        let ino = match obj {
            Obj::Stdin => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                return self.sys_read(h, abi, 0, iov);
            }
            Obj::Stdout | Obj::Stderr => return Err(Errno::EBADF),
            Obj::Epoll(_) => return Err(Errno::EINVAL),
            Obj::Socket(id) => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.sock_read(h, abi, id, iov, nonblock);
            }
            Obj::Unix(id) => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.unix_read(h, abi, id, &iov, nonblock);
            }
            Obj::Pipe { id, .. } => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.pipe_read(h, id, &iov, nonblock);
            }
            Obj::EventFd(id) => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.eventfd_read(h, abi, id, &iov, nonblock);
            }
            Obj::SignalFd(id) => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.signalfd_read(h, abi, id, &iov, nonblock);
            }
            Obj::Node(i) => i,
        };
        self.job.vfs.now = h.realtime_ns();
        let mut total = 0u64;
        let chr = match self.job.vfs.node(ino).data {
            Data::Dir(_) => return Err(Errno::EISDIR),
            Data::Chr(r) => Some(r),
            Data::Symlink(_) | Data::Sock | Data::Fifo | Data::Blk(_) => return Err(Errno::EBADF),
            Data::Reg(_) => None,
        };
        let mut off = at.unwrap_or(f.borrow().off);
        let mut buf = vec![0u8; 0];
        for (base, len) in iov {
            let mut done = 0u64;
            while done < len {
                let n = (len - done).min(1 << 16) as usize;
                buf.resize(n, 0);
                let got = match chr {
                    Some(RDEV_NULL) => 0,
                    Some(RDEV_ZERO) | Some(RDEV_FULL) => {
                        buf.fill(0);
                        n
                    }
                    Some(RDEV_RANDOM) | Some(RDEV_URANDOM) => {
                        self.random_bytes(&mut buf[..n]);
                        n
                    }
                    Some(_) => return Err(Errno::EIO),
                    None => {
                        let snap = f.borrow().snapshot.clone();
                        match snap {
                            Some(s) => {
                                let o = (off as usize).min(s.len());
                                let k = n.min(s.len() - o);
                                buf[..k].copy_from_slice(&s[o..o + k]);
                                k
                            }
                            None => self.job.vfs.read_at(ino, off, &mut buf[..n]).ex()?,
                        }
                    }
                };
                if got == 0 {
                    break;
                }
                let w = self.write_partial(h, base + done, &buf[..got]);
                done += w as u64;
                total += w as u64;
                if chr.is_none() {
                    off += w as u64;
                }
                if w < got {
                    if total == 0 {
                        return Err(Errno::EFAULT);
                    }
                    break;
                }
                if got < n {
                    break;
                }
            }
            if done < len {
                break;
            }
        }
        if at.is_none() && chr.is_none() {
            f.borrow_mut().off = off;
        }
        Ok(total)
    }

    pub(crate) fn write_file(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, iov: Vec<(u64, u64)>, at: Option<u64>) -> SysResult {
        let f = self.io_file(fd)?;
        let obj = f.borrow().obj;
        if !f.borrow().writable() {
            return Err(Errno::EBADF);
        }
        let ino = match obj {
            Obj::Stdout | Obj::Stderr => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                return self.sys_write(h, abi, if obj == Obj::Stdout { 1 } else { 2 }, iov);
            }
            Obj::Stdin => return Err(Errno::EBADF),
            Obj::Epoll(_) => return Err(Errno::EINVAL),
            Obj::Socket(id) => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.sock_write(h, abi, id, iov, nonblock);
            }
            Obj::Unix(id) => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.unix_write(h, abi, id, &iov, nonblock);
            }
            Obj::Pipe { id, .. } => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.pipe_write(h, abi, id, &iov, nonblock);
            }
            Obj::EventFd(id) => {
                if at.is_some() {
                    return Err(Errno::ESPIPE);
                }
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                return self.eventfd_write(h, abi, id, &iov, nonblock);
            }
            Obj::SignalFd(_) => return Err(Errno::EINVAL),
            Obj::Node(i) => i,
        };
        self.job.vfs.now = h.realtime_ns();
        let chr = match self.job.vfs.node(ino).data {
            Data::Chr(r) => Some(r),
            Data::Dir(_) => return Err(Errno::EISDIR),
            _ => None,
        };
        let total_len: u64 = iov.iter().map(|x| x.1).sum();
        match chr {
            Some(RDEV_FULL) => return if total_len == 0 { Ok(0) } else { Err(Errno::ENOSPC) },
            Some(_) => {
                for &(base, len) in &iov {
                    self.check_range(abi, base, len)?;
                }
                return Ok(total_len.min(MAX_RW));
            }
            None => {}
        }
        let append = f.borrow().flags & O_APPEND != 0;
        let mut off = match at {
            Some(o) => o,
            None if append => self.job.vfs.node(ino).size(),
            None => f.borrow().off,
        };
        if at.is_some() && append {
            off = self.job.vfs.node(ino).size();
        }
        let fsize = self.rlimits[1].0;
        let mut total = 0u64;
        let mut buf = Vec::new();
        'outer: for (base, len) in iov {
            let mut done = 0u64;
            while done < len {
                let n = (len - done).min(1 << 16) as usize;
                buf.resize(n, 0);
                let got = if self.check_range(abi, base + done, n as u64).is_ok() { self.read_partial(h, base + done, &mut buf[..n]) } else { 0 };
                if got == 0 {
                    if total == 0 {
                        return Err(Errno::EFAULT);
                    }
                    break 'outer;
                }
                if off + got as u64 > fsize {
                    if total == 0 {
                        return Err(Errno::EFBIG);
                    }
                    break 'outer;
                }
                // File data lives in the server's memory: keep a reserve so
                // that a growing file ends in ENOSPC, never in a dead node.
                let grow = self.job.vfs.write_growth(ino, off, got);
                if grow > 0 && h.free_memory() < grow + FREE_RESERVE {
                    if total == 0 {
                        return Err(Errno::ENOSPC);
                    }
                    break 'outer;
                }
                match self.job.vfs.write_at(ino, off, &buf[..got]) {
                    Ok(w) => {
                        off += w as u64;
                        total += w as u64;
                        done += w as u64;
                    }
                    Err(er) => {
                        if total == 0 {
                            return Err(e(er));
                        }
                        break 'outer;
                    }
                }
                if got < n {
                    break 'outer;
                }
            }
        }
        if at.is_none() {
            f.borrow_mut().off = off;
        }
        Ok(total)
    }

    pub(crate) fn iov_list(&mut self, h: &mut dyn Host, abi: Abi, iov: u64, cnt: u64) -> Result<Vec<(u64, u64)>, Errno> {
        let cnt = cnt as u32 as i32;
        if cnt < 0 || cnt as u64 > UIO_MAXIOV {
            return Err(Errno::EINVAL);
        }
        let sz = iovec_size(abi);
        let raw = self.read_user(h, abi, iov, sz * cnt as usize)?;
        let mut out = Vec::with_capacity(cnt as usize);
        let mut total: u64 = 0;
        let signed_max = if abi == Abi::I386 { i32::MAX as u64 } else { i64::MAX as u64 };
        for i in 0..cnt as usize {
            let (base, len) = decode_iovec(abi, &raw[i * sz..]);
            if len > signed_max {
                return Err(Errno::EINVAL);
            }
            total = total.checked_add(len).filter(|t| *t <= signed_max).ok_or(Errno::EINVAL)?;
            out.push((base, len));
        }
        Ok(out)
    }

    // ----- stat -----

    pub(crate) fn stat_of(&self, r: Resolved) -> StatInfo {
        match r {
            Resolved::Console(Obj::Epoll(_) | Obj::EventFd(_) | Obj::SignalFd(_)) => StatInfo { dev: 0xe, ino: 1, mode: 0o600, nlink: 1, uid: self.uid, gid: self.gid, blksize: 4096, ..Default::default() },
            Resolved::Console(Obj::Pipe { id, .. }) => StatInfo { dev: 0xc, ino: 30000 + id as u64, mode: S_IFIFO | 0o600, nlink: 1, uid: self.uid, gid: self.gid, blksize: 4096, ..Default::default() },
            Resolved::Console(Obj::Socket(id)) => StatInfo { dev: 0x8, ino: 20000 + id as u64, mode: 0o140777, nlink: 1, uid: self.uid, gid: self.gid, blksize: 4096, ..Default::default() },
            Resolved::Console(Obj::Unix(id)) => StatInfo { dev: 0x8, ino: 40000 + id as u64, mode: 0o140777, nlink: 1, uid: self.uid, gid: self.gid, blksize: 4096, ..Default::default() },
            Resolved::Console(o) => self.stat_info(match o {
                Obj::Stdin => 0,
                Obj::Stdout => 1,
                _ => 2,
            }),
            Resolved::Node(ino) => {
                let n = self.job.vfs.node(ino);
                let ts = |ns: u64| Timespec::from_ns(ns);
                // As the workstation has it, while it is as it came from there.
                let size = match (n.tag, n.host) {
                    (0, Some((size, _))) if n.is_dir() => size,
                    (0, _) => n.size(),
                    _ => 0,
                };
                StatInfo {
                    dev: n.dev,
                    ino,
                    mode: n.mode(),
                    nlink: n.nlink,
                    uid: n.uid,
                    gid: n.gid,
                    rdev: n.rdev(),
                    size: size as i64,
                    blksize: 4096,
                    blocks: match n.host {
                        Some((_, blocks)) => blocks,
                        None if n.is_reg() || n.is_dir() => stat_blocks(size),
                        None => 0,
                    },
                    atime: ts(n.atime),
                    mtime: ts(n.mtime),
                    ctime: ts(n.ctime),
                }
            }
        }
    }

    pub(crate) fn encode_stat(&self, r: Resolved, l: StatLayout) -> Result<Vec<u8>, Errno> {
        let s = self.stat_of(r);
        Ok(match l {
            StatLayout::Stat64 => encode_stat_x86_64(&s),
            StatLayout::I386Stat64 => encode_stat64_i386(&s),
            StatLayout::I386Old => {
                if s.size > i32::MAX as i64 || s.ino > u32::MAX as u64 {
                    return Err(Errno::EOVERFLOW);
                }
                encode_stat_i386(&s)
            }
        })
    }

    pub(crate) fn fd_resolved(&self, fd: u64) -> Result<Resolved, Errno> {
        let f = self.file(fd)?;
        let obj = f.borrow().obj;
        let fifo = self.fifo_of(obj);
        Ok(match (obj, fifo) {
            (_, Some(i)) | (Obj::Node(i), _) => Resolved::Node(i),
            (o, None) => Resolved::Console(o),
        })
    }

    // ----- directories -----

    pub(crate) fn sys_getdents(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, buf: u64, count: u64, d64: bool) -> SysResult {
        let f = self.io_file(fd)?;
        let ino = match f.borrow().obj {
            Obj::Node(i) => i,
            _ => return Err(Errno::ENOTDIR),
        };
        if !self.job.vfs.node(ino).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if ino == self.files.proc_fd_dir {
            self.sync_proc();
        }
        let count = (count as u32).min(i32::MAX as u32) as usize;
        self.check_range(abi, buf, count as u64)?;
        let list = self.job.vfs.readdir(ino).ex()?;
        let mut pos = f.borrow().off as usize;
        let mut out: Vec<u8> = Vec::new();
        let word = if d64 { 8 } else { abi.word() };
        while pos < list.len() {
            let ent = &list[pos];
            if !dirent_name_ok(&ent.name) {
                pos += 1;
                continue;
            }
            let reclen = if d64 { (19 + ent.name.len() + 1).div_ceil(8) * 8 } else { (2 * word + 2 + ent.name.len() + 2).div_ceil(word) * word };
            if out.len() + reclen > count {
                if out.is_empty() {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            let start = out.len();
            out.resize(start + reclen, 0);
            let r = &mut out[start..];
            let next = (pos + 1) as u64;
            if d64 {
                r[0..8].copy_from_slice(&ent.ino.to_le_bytes());
                r[8..16].copy_from_slice(&next.to_le_bytes());
                r[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
                r[18] = ent.dtype;
                r[19..19 + ent.name.len()].copy_from_slice(&ent.name);
            } else {
                if word == 4 && ent.ino > u32::MAX as u64 {
                    return Err(Errno::EOVERFLOW);
                }
                r[..word].copy_from_slice(&ent.ino.to_le_bytes()[..word]);
                r[word..2 * word].copy_from_slice(&next.to_le_bytes()[..word]);
                r[2 * word..2 * word + 2].copy_from_slice(&(reclen as u16).to_le_bytes());
                let s = 2 * word + 2;
                r[s..s + ent.name.len()].copy_from_slice(&ent.name);
                r[reclen - 1] = ent.dtype;
            }
            pos += 1;
        }
        self.write_user(h, abi, buf, &out)?;
        f.borrow_mut().off = pos as u64;
        Ok(out.len() as u64)
    }

    // ----- seek -----

    pub(crate) fn do_lseek(&mut self, fd: u64, off: i64, whence: u32) -> Result<u64, Errno> {
        let f = self.io_file(fd)?;
        let obj = f.borrow().obj;
        let ino = match obj {
            Obj::Node(i) => i,
            _ => return Err(Errno::ESPIPE),
        };
        let n = self.job.vfs.node(ino);
        if matches!(n.data, Data::Chr(_)) {
            if whence > 4 {
                return Err(Errno::EINVAL);
            }
            f.borrow_mut().off = 0;
            return Ok(0);
        }
        let size = match &f.borrow().snapshot {
            Some(s) => s.len() as u64,
            None => n.size(),
        } as i64;
        let cur = f.borrow().off as i64;
        let new = match whence {
            0 => off,
            1 => cur.checked_add(off).ok_or(Errno::EOVERFLOW)?,
            2 => {
                if n.is_dir() {
                    return Err(Errno::EINVAL);
                }
                size.checked_add(off).ok_or(Errno::EOVERFLOW)?
            }
            3 | 4 => {
                if n.is_dir() || off < 0 || off >= size {
                    return Err(Errno::ENXIO);
                }
                if whence == 3 {
                    off
                } else {
                    size
                }
            }
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        f.borrow_mut().off = new as u64;
        Ok(new as u64)
    }

    // ----- the dispatcher -----

    pub(crate) fn dup_to(&mut self, f: Rc<RefCell<OpenFile>>, new: i32, cloexec: bool) -> SysResult {
        if new < 0 || new >= self.nofile() {
            return Err(Errno::EBADF);
        }
        if let Some(old) = self.files.fds.insert(new, FdEntry { file: f, cloexec }) {
            self.release(old.file);
        }
        self.files.fd_dirty = true;
        Ok(new as u64)
    }

    pub(crate) fn sys_openat2(&mut self, h: &mut dyn Host, abi: Abi, a: [u64; 6]) -> SysResult {
        let size = a[3];
        if size < 24 {
            return Err(Errno::EINVAL);
        }
        if size > 4096 {
            return Err(Errno::E2BIG);
        }
        let b = self.read_user(h, abi, a[2], size as usize)?;
        if b[24..].iter().any(|&x| x != 0) {
            return Err(Errno::E2BIG);
        }
        let flags = u64::from_le_bytes(b[0..8].try_into().unwrap());
        let mode = u64::from_le_bytes(b[8..16].try_into().unwrap());
        let resolve = u64::from_le_bytes(b[16..24].try_into().unwrap());
        if flags & !(O_VALID as u64) != 0 || resolve & !0x3f != 0 {
            return Err(Errno::EINVAL);
        }
        if mode & !0o7777 != 0 || (mode != 0 && flags as u32 & O_CREAT == 0) {
            return Err(Errno::EINVAL);
        }
        if resolve != 0 {
            // RESOLVE_NO_SYMLINKS, BENEATH and the rest are not enforced yet.
            return Err(Errno::EINVAL);
        }
        self.sys_openat(h, abi, a[0] as i32, a[1], flags as u32, mode as u32)
    }

    pub(crate) fn sys_close_range(&mut self, first: u32, last: u32, flags: u32) -> SysResult {
        if flags & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0 || first > last {
            return Err(Errno::EINVAL);
        }
        let fds: Vec<i32> = self.files.fds.keys().copied().filter(|&f| f as u32 >= first && f as u32 <= last).collect();
        for fd in fds {
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                if let Some(e) = self.files.fds.get_mut(&fd) {
                    e.cloexec = true;
                }
            } else {
                let _ = self.fd_close(fd);
            }
        }
        Ok(0)
    }

    pub(crate) fn sys_fcntl(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, cmd: u32, arg: u64) -> SysResult {
        let ent = self.fd_get(fd)?;
        let is_path = ent.file.borrow().flags & O_PATH != 0;
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let min = arg as u32 as i32;
                if min < 0 || min >= self.nofile() {
                    return Err(Errno::EINVAL);
                }
                self.fd_install(ent.file, min, cmd == F_DUPFD_CLOEXEC).map(|f| f as u64)
            }
            F_GETFD => Ok(ent.cloexec as u64),
            F_SETFD => {
                if let Some(e) = self.files.fds.get_mut(&(fd as u32 as i32)) {
                    e.cloexec = arg & 1 != 0;
                }
                Ok(0)
            }
            F_GETFL => Ok(ent.file.borrow().flags as u64),
            F_SETFL => {
                if is_path {
                    return Err(Errno::EBADF);
                }
                let mut f = ent.file.borrow_mut();
                f.flags = (f.flags & !SETFL_MASK) | (arg as u32 & SETFL_MASK);
                Ok(0)
            }
            F_GETLK | F_SETLK | F_SETLKW | F_GETLK64 | F_SETLK64 | F_SETLKW64 | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
                if is_path {
                    return Err(Errno::EBADF);
                }
                // struct flock: l_type (short) first. One process holds every
                // lock there is, so a lock is always granted and GETLK reports
                // the range unlocked.
                let size = match (abi, cmd) {
                    (Abi::I386, F_GETLK | F_SETLK | F_SETLKW) => 16,
                    (Abi::I386, _) => 24,
                    _ => 32,
                };
                let mut b = self.read_user(h, abi, arg, size)?;
                let ltype = u16::from_le_bytes([b[0], b[1]]);
                if ltype > 2 {
                    return Err(Errno::EINVAL);
                }
                let acc = ent.file.borrow().flags & O_ACCMODE;
                if matches!(cmd, F_SETLK | F_SETLKW | F_SETLK64 | F_SETLKW64 | F_OFD_SETLK | F_OFD_SETLKW) {
                    if (ltype == 0 && acc == O_WRONLY) || (ltype == 1 && acc == 0) {
                        return Err(Errno::EBADF);
                    }
                    return Ok(0);
                }
                b[0..2].copy_from_slice(&2u16.to_le_bytes());
                self.write_user(h, abi, arg, &b).map(|_| 0)
            }
            F_GETPIPE_SZ => match ent.file.borrow().obj {
                Obj::Pipe { id, .. } => Ok(self.pipe_get_size(id)),
                Obj::Stdin | Obj::Stdout | Obj::Stderr => Ok(65536),
                _ => Err(Errno::EBADF),
            },
            F_SETPIPE_SZ => match ent.file.borrow().obj {
                Obj::Pipe { id, .. } => self.pipe_set_size(id, arg as u32 as u64),
                Obj::Stdin | Obj::Stdout | Obj::Stderr => super::pipe::pipe_size_for(arg as u32 as u64),
                _ => Err(Errno::EBADF),
            },
            _ => Err(Errno::EINVAL),
        }
    }

    pub(crate) fn sys_ioctl_fd(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, req: u32, arg: u64) -> SysResult {
        let ent = self.fd_get(fd)?;
        if ent.file.borrow().flags & O_PATH != 0 {
            return Err(Errno::EBADF);
        }
        let obj = ent.file.borrow().obj;
        match req {
            FIOCLEX | FIONCLEX => {
                if let Some(e) = self.files.fds.get_mut(&(fd as u32 as i32)) {
                    e.cloexec = req == FIOCLEX;
                }
                return Ok(0);
            }
            FIONBIO => {
                let b = self.read_user(h, abi, arg, 4)?;
                let on = u32::from_le_bytes(b.try_into().unwrap()) != 0;
                let mut f = ent.file.borrow_mut();
                if on {
                    f.flags |= O_NONBLOCK
                } else {
                    f.flags &= !O_NONBLOCK
                }
                return Ok(0);
            }
            _ => {}
        }
        match obj {
            Obj::Stdin | Obj::Stdout | Obj::Stderr => {
                if req == FIONREAD {
                    let n = if obj == Obj::Stdin { self.stdin_buffered() as u32 } else { 0 };
                    return self.write_user(h, abi, arg, &n.to_le_bytes()).map(|_| 0);
                }
                Err(Errno::ENOTTY)
            }
            Obj::Epoll(_) | Obj::EventFd(_) | Obj::SignalFd(_) => Err(Errno::ENOTTY),
            Obj::Socket(id) => self.sock_ioctl(h, abi, id, req, arg),
            Obj::Unix(id) => {
                if req != 0x541b {
                    return Err(Errno::ENOTTY); // only FIONREAD
                }
                let n = self.unix_fionread(id)?;
                self.write_user(h, abi, arg, &n.to_le_bytes()).map(|_| 0)
            }
            Obj::Pipe { id, .. } => {
                if req == FIONREAD {
                    let n = self.pipe_fionread(id);
                    return self.write_user(h, abi, arg, &n.to_le_bytes()).map(|_| 0);
                }
                Err(Errno::ENOTTY)
            }
            Obj::Node(ino) => {
                if let Some(r) = self.inode_flags_ioctl(h, abi, ino, req, arg) {
                    return r;
                }
                let n = self.job.vfs.node(ino);
                if req == FIONREAD && n.is_reg() {
                    let left = n.size().saturating_sub(ent.file.borrow().off) as u32;
                    return self.write_user(h, abi, arg, &left.to_le_bytes()).map(|_| 0);
                }
                if n.is_dir() && req == FIONREAD {
                    return Err(Errno::ENOTTY);
                }
                Err(Errno::ENOTTY)
            }
        }
    }

    pub(crate) fn sys_mkdirat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, mode: u32) -> SysResult {
        let (p, start, _) = self.walk_at(h, abi, dirfd, path, false)?;
        let perm = mode & 0o7777 & !self.files.umask & 0o1777;
        self.job.vfs.mkdir(start, &p, perm, &self.files.cred).ex().map(|_| 0)
    }

    pub(crate) fn sys_unlinkat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, flags: u32) -> SysResult {
        if flags & !AT_REMOVEDIR != 0 {
            return Err(Errno::EINVAL);
        }
        let (p, start, _) = self.walk_at(h, abi, dirfd, path, false)?;
        let cred = self.files.cred.clone();
        if flags & AT_REMOVEDIR != 0 {
            self.job.vfs.rmdir(start, &p, &cred).ex().map(|_| 0)
        } else {
            self.job.vfs.unlink(start, &p, &cred).ex().map(|_| 0)
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_renameat(&mut self, h: &mut dyn Host, abi: Abi, ofd: i32, old: u64, nfd: i32, new: u64, flags: u32) -> SysResult {
        let op = self.user_path(h, abi, old)?;
        let np = self.user_path(h, abi, new)?;
        if op.is_empty() || np.is_empty() {
            return Err(Errno::ENOENT);
        }
        let os = self.at_dir(ofd, &op)?;
        let ns = self.at_dir(nfd, &np)?;
        let cred = self.files.cred.clone();
        self.job.vfs.rename(os, &op, ns, &np, flags, &cred).ex().map(|_| 0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_linkat(&mut self, h: &mut dyn Host, abi: Abi, ofd: i32, old: u64, nfd: i32, new: u64, flags: u32) -> SysResult {
        if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let fl = if flags & AT_SYMLINK_FOLLOW != 0 { 0 } else { AT_SYMLINK_NOFOLLOW } | (flags & AT_EMPTY_PATH);
        let r = self.resolve_at(h, abi, ofd, old, fl)?;
        let Resolved::Node(ino) = r else { return Err(Errno::EXDEV) };
        let np = self.user_path(h, abi, new)?;
        if np.is_empty() {
            return Err(Errno::ENOENT);
        }
        let ns = self.at_dir(nfd, &np)?;
        let cred = self.files.cred.clone();
        self.job.vfs.link(ino, ns, &np, &cred).ex().map(|_| 0)
    }

    pub(crate) fn sys_symlinkat(&mut self, h: &mut dyn Host, abi: Abi, target: u64, dirfd: i32, path: u64) -> SysResult {
        let t = self.read_path(h, abi, target)?;
        let p = self.user_path(h, abi, path)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        let start = self.at_dir(dirfd, &p)?;
        let cred = self.files.cred.clone();
        self.job.vfs.symlink(&t, start, &p, &cred).ex().map(|_| 0)
    }

    pub(crate) fn sys_readlinkat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, buf: u64, size: u64) -> SysResult {
        let size = size as u32 as i32;
        let p = self.user_path(h, abi, path)?;
        if p.is_empty() {
            // readlinkat(fd, "") reads the link the O_PATH fd names.
            let r = if dirfd == AT_FDCWD { Resolved::Node(self.files.cwd) } else { self.fd_resolved(dirfd as u32 as u64)? };
            return match r {
                Resolved::Node(i) if self.job.vfs.node(i).is_symlink() => {
                    let t = self.job.vfs.link_target(i);
                    if size <= 0 {
                        return Err(Errno::EINVAL);
                    }
                    let n = t.len().min(size as usize);
                    self.write_user(h, abi, buf, &t[..n]).map(|_| n as u64)
                }
                _ => Err(Errno::ENOENT),
            };
        }
        let start = self.at_dir(dirfd, &p)?;
        let t = self.job.vfs.readlink(start, &p, &self.files.cred).ex()?;
        if size <= 0 {
            return Err(Errno::EINVAL);
        }
        let n = t.len().min(size as usize);
        self.write_user(h, abi, buf, &t[..n])?;
        Ok(n as u64)
    }

    pub(crate) fn chdir_to(&mut self, ino: Ino) -> SysResult {
        if !self.job.vfs.node(ino).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !self.job.vfs.may(ino, X_OK, &self.files.cred) {
            return Err(Errno::EACCES);
        }
        // The working directory holds its inode as an open file does.
        self.job.vfs.open_ref(ino);
        let old = core::mem::replace(&mut self.files.cwd, ino);
        self.job.vfs.close_ref(old);
        let path = self.job.vfs.path_of(ino).unwrap_or_else(|| b"/".to_vec());
        set_proc_link(&mut self.job.vfs, self.pid, b"cwd", &path);
        Ok(0)
    }

    pub(crate) fn sys_getcwd(&mut self, h: &mut dyn Host, abi: Abi, buf: u64, size: u64) -> SysResult {
        let Some(mut p) = self.job.vfs.path_of(self.files.cwd) else { return Err(Errno::ENOENT) };
        p.push(0);
        if size == 0 && buf != 0 {
            return Err(Errno::EINVAL);
        }
        if (size as usize) < p.len() {
            return Err(Errno::ERANGE);
        }
        self.write_user(h, abi, buf, &p)?;
        Ok(p.len() as u64)
    }

    pub(crate) fn sys_faccessat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, mode: u32, flags: u32) -> SysResult {
        if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let r = self.resolve_at(h, abi, dirfd, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))?;
        let Resolved::Node(ino) = r else { return Ok(0) };
        if mode == 0 || self.job.vfs.may(ino, mode, &self.files.cred) {
            Ok(0)
        } else {
            Err(Errno::EACCES)
        }
    }

    pub(crate) fn chmod_r(&mut self, r: Resolved, mode: u32) -> SysResult {
        match r {
            Resolved::Node(i) => self.job.vfs.chmod(i, mode, &self.files.cred).ex().map(|_| 0),
            Resolved::Console(_) => Ok(0),
        }
    }

    pub(crate) fn chown_r(&mut self, r: Resolved, uid: u64, gid: u64, bits16: bool) -> SysResult {
        let conv = |x: u64| id_arg(x, bits16);
        match r {
            Resolved::Node(i) => self.job.vfs.chown(i, conv(uid), conv(gid), &self.files.cred).ex().map(|_| 0),
            Resolved::Console(_) => Ok(0),
        }
    }

    pub(crate) fn truncate_path(&mut self, r: Resolved, len: i64) -> SysResult {
        let Resolved::Node(ino) = r else { return Err(Errno::EINVAL) };
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        let n = self.job.vfs.node(ino);
        if n.is_dir() {
            return Err(Errno::EISDIR);
        }
        if !n.is_reg() {
            return Err(Errno::EINVAL);
        }
        if !self.job.vfs.may(ino, W_OK, &self.files.cred) {
            return Err(Errno::EACCES);
        }
        if len as u64 > self.rlimits[1].0 {
            return Err(Errno::EFBIG);
        }
        self.job.vfs.truncate(ino, len as u64).ex().map(|_| 0)
    }

    pub(crate) fn sys_ftruncate(&mut self, fd: u64, len: i64) -> SysResult {
        let f = self.io_file(fd)?;
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        let obj = f.borrow().obj;
        let Obj::Node(ino) = obj else { return Err(Errno::EINVAL) };
        if !self.job.vfs.node(ino).is_reg() || !f.borrow().writable() {
            return Err(Errno::EINVAL);
        }
        if len as u64 > self.rlimits[1].0 {
            return Err(Errno::EFBIG);
        }
        self.job.vfs.truncate(ino, len as u64).ex().map(|_| 0)
    }

    pub(crate) fn sys_fallocate(&mut self, fd: u64, mode: u32, off: i64, len: i64) -> SysResult {
        let f = self.io_file(fd)?;
        if off < 0 || len <= 0 {
            return Err(Errno::EINVAL);
        }
        if !f.borrow().writable() {
            return Err(Errno::EBADF);
        }
        let obj = f.borrow().obj;
        let Obj::Node(ino) = obj else { return Err(Errno::ESPIPE) };
        let n = self.job.vfs.node(ino);
        if n.is_dir() {
            return Err(Errno::EISDIR);
        }
        if !n.is_reg() {
            return Err(Errno::ENODEV);
        }
        let end = off.checked_add(len).ok_or(Errno::EFBIG)? as u64;
        let size = n.size();
        match mode {
            0 | FALLOC_FL_KEEP_SIZE => {
                if mode == 0 && end > size {
                    self.job.vfs.truncate(ino, end).ex()?;
                }
                Ok(0)
            }
            m if m == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE || m == FALLOC_FL_ZERO_RANGE || m == FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE => {
                let zend = if m & FALLOC_FL_KEEP_SIZE != 0 { end.min(size) } else { end };
                if zend > off as u64 {
                    let zeros = vec![0u8; (zend - off as u64) as usize];
                    self.job.vfs.write_at(ino, off as u64, &zeros).ex()?;
                }
                Ok(0)
            }
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_utimensat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, times: u64, flags: u32, bits: TimeBits) -> SysResult {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let now = h.realtime_ns();
        let mut t = [(0i64, UTIME_NOW); 2];
        if times != 0 {
            let sz = bits.size();
            let b = self.read_user(h, abi, times, 2 * sz)?;
            for (i, slot) in t.iter_mut().enumerate() {
                let ts = Timespec::decode(bits, &b[i * sz..]);
                if ts.nsec != UTIME_NOW && ts.nsec != UTIME_OMIT && !(0..1_000_000_000).contains(&ts.nsec) {
                    return Err(Errno::EINVAL);
                }
                *slot = (ts.sec, ts.nsec);
            }
        }
        let r = if path == 0 {
            if dirfd == AT_FDCWD {
                return Err(Errno::EFAULT);
            }
            self.fd_resolved(dirfd as u32 as u64)?
        } else {
            self.resolve_at(h, abi, dirfd, path, flags)?
        };
        let Resolved::Node(ino) = r else { return Ok(0) };
        let explicit = t.iter().any(|x| x.1 != UTIME_NOW && x.1 != UTIME_OMIT);
        let n = self.job.vfs.node(ino);
        let owner = self.files.cred.uid == 0 || self.files.cred.uid == n.uid;
        if explicit && !owner {
            return Err(Errno::EPERM);
        }
        if !explicit && !owner && !self.job.vfs.may(ino, W_OK, &self.files.cred) {
            return Err(Errno::EACCES);
        }
        let n = self.job.vfs.node_mut(ino);
        for (i, (sec, nsec)) in t.into_iter().enumerate() {
            let v = match nsec {
                UTIME_OMIT => continue,
                UTIME_NOW => now,
                _ => (sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64),
            };
            if i == 0 {
                n.atime = v;
            } else {
                n.mtime = v;
            }
        }
        n.ctime = now;
        Ok(0)
    }

    pub(crate) fn put_statfs(&mut self, h: &mut dyn Host, abi: Abi, r: Resolved, buf: u64, sized: bool, size: u64) -> SysResult {
        // tmpfs-like figures for the root, proc's for /proc.
        let (ftype, blocks, bfree, files, ffree): (u64, u64, u64, u64, u64) = match r {
            Resolved::Node(i) if self.job.vfs.node(i).dev == DEV_PROC => (0x9fa0, 0, 0, 0, 0),
            Resolved::Console(_) => (0x50495045, 0, 0, 0, 0),
            Resolved::Node(i) if self.job.vfs.node(i).dev == DEV_DEV => (0x01021994, 0, 0, 0, 0),
            _ => {
                let total = self.memory / 4096 / 2;
                let used = self.job.vfs.used().div_ceil(4096);
                (0x01021994, total, total.saturating_sub(used), 65536, 65536 - (self.job.vfs.inode_count() as u64).min(65536))
            }
        };
        let w64 = abi == Abi::X86_64 || sized;
        let mut b = Vec::new();
        let word = |b: &mut Vec<u8>, v: u64| push_word(abi, b, v);
        if abi == Abi::X86_64 {
            for v in [ftype, 4096, blocks, bfree, bfree, files, ffree, 0, 255, 4096, 0x20] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.resize(120, 0);
        } else if sized {
            if size != 84 && size != 88 {
                return Err(Errno::EINVAL);
            }
            b.extend_from_slice(&(ftype as u32).to_le_bytes());
            b.extend_from_slice(&4096u32.to_le_bytes());
            for v in [blocks, bfree, bfree, files, ffree] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&[0u8; 8]);
            for v in [255u32, 4096, 0x20] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.resize(size as usize, 0);
        } else {
            for v in [ftype, 4096, blocks, bfree, bfree, files, ffree, 0, 0, 255, 4096, 0x20] {
                word(&mut b, v);
            }
            b.resize(64, 0);
        }
        let _ = w64;
        self.write_user(h, abi, buf, &b).map(|_| 0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_sendfile(&mut self, h: &mut dyn Host, abi: Abi, out_fd: u64, in_fd: u64, offp: u64, count: u64, off64: bool) -> SysResult {
        let inf = self.io_file(in_fd)?;
        let outf = self.io_file(out_fd)?;
        if !inf.borrow().readable() || !outf.borrow().writable() {
            return Err(Errno::EBADF);
        }
        let in_ino = match inf.borrow().obj {
            Obj::Node(i) if self.job.vfs.node(i).is_reg() => i,
            Obj::Node(_) => return Err(Errno::EINVAL),
            _ => return Err(Errno::EINVAL),
        };
        if outf.borrow().flags & O_APPEND != 0 {
            return Err(Errno::EINVAL);
        }
        let osz = if off64 || abi == Abi::X86_64 { 8 } else { 4 };
        let mut off = if offp != 0 {
            let b = self.read_user(h, abi, offp, osz)?;
            let v = if osz == 8 { i64::from_le_bytes(b.try_into().unwrap()) } else { i32::from_le_bytes(b.try_into().unwrap()) as i64 };
            if v < 0 {
                return Err(Errno::EINVAL);
            }
            v as u64
        } else {
            inf.borrow().off
        };
        let count = count.min(MAX_RW);
        let snap = inf.borrow().snapshot.clone();
        let chunk = match &snap {
            Some(s) => {
                let start = (off as usize).min(s.len());
                s[start..(start + count as usize).min(s.len())].to_vec()
            }
            None => self.job.vfs.read_range(in_ino, off, count as usize),
        };
        let n = self.write_bytes(h, out_fd, &chunk)?;
        off += n;
        if offp != 0 {
            let b = if osz == 8 { off.to_le_bytes().to_vec() } else { (off as u32).to_le_bytes().to_vec() };
            self.write_user(h, abi, offp, &b)?;
        } else {
            inf.borrow_mut().off = off;
        }
        Ok(n)
    }

    /// Write server-held bytes to a descriptor (sendfile, copy_file_range).
    fn write_bytes(&mut self, h: &mut dyn Host, fd: u64, data: &[u8]) -> SysResult {
        let f = self.io_file(fd)?;
        let obj = f.borrow().obj;
        match obj {
            Obj::Epoll(_) | Obj::EventFd(_) | Obj::SignalFd(_) => Err(Errno::EINVAL),
            Obj::Socket(id) => {
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                self.sock_send_bytes(h, id, data, nonblock)
            }
            Obj::Unix(id) => {
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                self.unix_send_bytes(h, Abi::X86_64, id, data, nonblock)
            }
            Obj::Stdout => {
                h.console_write(up::STDOUT, data);
                Ok(data.len() as u64)
            }
            Obj::Stderr => {
                h.console_write(up::STDERR, data);
                Ok(data.len() as u64)
            }
            Obj::Stdin => Err(Errno::EBADF),
            Obj::Pipe { id, .. } => {
                let nonblock = f.borrow().flags & O_NONBLOCK != 0;
                self.pipe_push(id, data, nonblock)
            }
            Obj::Node(ino) => match self.job.vfs.node(ino).data {
                Data::Chr(RDEV_FULL) => Err(Errno::ENOSPC),
                Data::Chr(_) => Ok(data.len() as u64),
                _ => {
                    let off = if f.borrow().flags & O_APPEND != 0 { self.job.vfs.node(ino).size() } else { f.borrow().off };
                    let n = self.job.vfs.write_at(ino, off, data).ex()?;
                    f.borrow_mut().off = off + n as u64;
                    Ok(n as u64)
                }
            },
        }
    }

    pub(crate) fn sys_copy_file_range(&mut self, h: &mut dyn Host, abi: Abi, a: [u64; 6]) -> SysResult {
        let (in_fd, in_off, out_fd, out_off, len, flags) = (a[0], a[1], a[2], a[3], a[4], a[5] as u32);
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let inf = self.io_file(in_fd)?;
        let outf = self.io_file(out_fd)?;
        if !inf.borrow().readable() || !outf.borrow().writable() || outf.borrow().flags & O_APPEND != 0 {
            return Err(Errno::EBADF);
        }
        let (Obj::Node(ii), Obj::Node(oi)) = (inf.borrow().obj, outf.borrow().obj) else { return Err(Errno::EINVAL) };
        let (ni, no) = (self.job.vfs.node(ii), self.job.vfs.node(oi));
        if ni.is_dir() || no.is_dir() {
            return Err(Errno::EISDIR);
        }
        if !ni.is_reg() || !no.is_reg() {
            return Err(Errno::EINVAL);
        }
        let read_off = |p: &mut Self, h: &mut dyn Host, at: u64, f: &Rc<RefCell<OpenFile>>| -> Result<u64, Errno> {
            if at == 0 {
                Ok(f.borrow().off)
            } else {
                let b = p.read_user(h, abi, at, 8)?;
                let v = i64::from_le_bytes(b.try_into().unwrap());
                if v < 0 {
                    Err(Errno::EINVAL)
                } else {
                    Ok(v as u64)
                }
            }
        };
        let ro = read_off(self, h, in_off, &inf)?;
        let wo = read_off(self, h, out_off, &outf)?;
        if ii == oi && ro < wo + len && wo < ro + len {
            return Err(Errno::EINVAL);
        }
        let chunk = self.job.vfs.read_range(ii, ro, len.min(MAX_RW) as usize);
        let n = self.job.vfs.write_at(oi, wo, &chunk).ex()? as u64;
        if in_off == 0 {
            inf.borrow_mut().off = ro + n;
        } else {
            self.write_user(h, abi, in_off, &(ro + n).to_le_bytes())?;
        }
        if out_off == 0 {
            outf.borrow_mut().off = wo + n;
        } else {
            self.write_user(h, abi, out_off, &(wo + n).to_le_bytes())?;
        }
        Ok(n)
    }

    /// Readiness of a descriptor: (readable, writable), or None if not open.
    fn ready(&self, fd: i32) -> Option<(bool, bool)> {
        let e = self.files.fds.get(&fd)?;
        let f = e.file.borrow();
        Some(match f.obj {
            Obj::Stdin => (self.stdin_buffered() > 0 || self.job.stdin_eof, false),
            Obj::Stdout | Obj::Stderr => (false, true),
            Obj::Node(_) => (true, true),
            Obj::Epoll(id) => (self.epoll_ready(id).next().is_some(), false),
            Obj::Socket(id) => self.sock_ready(id),
            Obj::Unix(id) => {
                let (r, w, _) = self.unix_ready(id);
                (r, w)
            }
            Obj::Pipe { id, .. } if f.flags & O_ACCMODE == O_RDWR => (self.pipe_ready(id, false).0, self.pipe_ready(id, true).1),
            Obj::Pipe { id, write } => {
                let (r, w, _) = self.pipe_ready(id, write);
                (r, w)
            }
            Obj::EventFd(id) => self.eventfd_ready(id),
            Obj::SignalFd(id) => (self.signalfd_ready(id), false),
        })
    }

    /// POLLHUP (0x10) and POLLERR (0x08) of a descriptor: poll and epoll
    /// report them whatever was asked.
    fn hangup(&self, fd: i32) -> u16 {
        let Some(e) = self.files.fds.get(&fd) else { return 0 };
        let obj = e.file.borrow().obj;
        match obj {
            Obj::Unix(id) => self.unix_ready(id).2,
            Obj::Pipe { id, write } => match self.pipe_ready(id, write) {
                (_, _, true) if write => 0x08,
                (_, _, true) => 0x10,
                _ => 0,
            },
            _ => 0,
        }
    }

    /// The ready entries of an epoll instance: (events, data), level-triggered.
    fn epoll_ready(&self, id: u32) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.job.epolls.get(&id).into_iter().flat_map(move |list| {
            list.iter().filter_map(move |(&fd, &(events, data))| {
                let (r, w) = match self.files.fds.get(&fd) {
                    Some(e) if matches!(e.file.borrow().obj, Obj::Epoll(x) if x == id) => (false, false),
                    Some(_) => self.ready(fd)?,
                    None => return None,
                };
                let mut rev = self.hangup(fd) as u32;
                if r {
                    rev |= events & 0x001; // EPOLLIN
                }
                if w {
                    rev |= events & 0x004; // EPOLLOUT
                }
                (rev != 0).then_some((rev, data))
            })
        })
    }

    pub(crate) fn sys_epoll_create(&mut self, flags: u32) -> SysResult {
        if flags & !O_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.job.next_epoll;
        self.job.next_epoll += 1;
        self.job.epolls.insert(id, BTreeMap::new());
        let file = self.new_file(Obj::Epoll(id), O_RDWR);
        self.fd_install(file, 0, flags & O_CLOEXEC != 0).map(|f| f as u64)
    }

    pub(crate) fn sys_epoll_ctl(&mut self, h: &mut dyn Host, abi: Abi, epfd: u64, op: u32, fd: i32, ev: u64) -> SysResult {
        let ep = self.file(epfd)?;
        let target = self.file(fd as u32 as u64)?;
        let Obj::Epoll(id) = ep.borrow().obj else { return Err(Errno::EINVAL) };
        let tobj = target.borrow().obj;
        if Rc::ptr_eq(&ep, &target) {
            return Err(Errno::EINVAL);
        }
        if let Obj::Node(ino) = tobj {
            // Regular files, directories, null, zero and full cannot be watched (no poll).
            if matches!(self.job.vfs.node(ino).data, Data::Reg(_) | Data::Dir(_) | Data::Chr(RDEV_NULL | RDEV_ZERO | RDEV_FULL)) {
                return Err(Errno::EPERM);
            }
        }
        let event = if op != EPOLL_CTL_DEL {
            let b = self.read_user(h, abi, ev, 12)?;
            Some((u32::from_le_bytes(b[0..4].try_into().unwrap()), u64::from_le_bytes(b[4..12].try_into().unwrap())))
        } else {
            None
        };
        let list = self.job.epolls.get_mut(&id).ok_or(Errno::EINVAL)?;
        match op {
            EPOLL_CTL_ADD => {
                if list.contains_key(&fd) {
                    return Err(Errno::EEXIST);
                }
                list.insert(fd, event.unwrap());
            }
            EPOLL_CTL_MOD => {
                let e = list.get_mut(&fd).ok_or(Errno::ENOENT)?;
                *e = event.unwrap();
            }
            EPOLL_CTL_DEL => {
                list.remove(&fd).ok_or(Errno::ENOENT)?;
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(0)
    }

    pub(crate) fn sys_epoll_wait(&mut self, h: &mut dyn Host, abi: Abi, epfd: u64, events: u64, max: i32, timeout_ms: i64) -> SysResult {
        let ep = self.file(epfd)?;
        let Obj::Epoll(id) = ep.borrow().obj else { return Err(Errno::EINVAL) };
        if max <= 0 || max as u64 > (i32::MAX as u64) / 12 {
            return Err(Errno::EINVAL);
        }
        self.check_range(abi, events, max as u64 * 12)?;
        // Closed descriptors leave the interest list, as their last close does on Linux.
        let open: Vec<i32> = self.files.fds.keys().copied().collect();
        if let Some(list) = self.job.epolls.get_mut(&id) {
            list.retain(|fd, _| open.contains(fd));
        }
        let ready: Vec<(u32, u64)> = self.epoll_ready(id).take(max as usize).collect();
        if ready.is_empty() && timeout_ms != 0 {
            let deadline = (timeout_ms > 0).then(|| h.now_ns().saturating_add(timeout_ms as u64 * 1_000_000));
            self.pending = Some(Pending::Wait { call: WaitCall::Epoll { abi, epfd, events, max }, deadline });
            return Err(BLOCK);
        }
        let mut out = Vec::with_capacity(ready.len() * 12);
        for (ev, data) in &ready {
            out.extend_from_slice(&ev.to_le_bytes());
            out.extend_from_slice(&data.to_le_bytes());
        }
        self.write_user(h, abi, events, &out)?;
        Ok(ready.len() as u64)
    }

    pub(crate) fn sys_poll(&mut self, h: &mut dyn Host, abi: Abi, fds: u64, nfds: u64, timeout_ms: i64) -> SysResult {
        if nfds > self.nofile() as u64 {
            return Err(Errno::EINVAL);
        }
        let mut b = self.read_user(h, abi, fds, 8 * nfds as usize)?;
        let mut n = 0;
        for i in 0..nfds as usize {
            let r = &mut b[i * 8..i * 8 + 8];
            let fd = i32::from_le_bytes(r[0..4].try_into().unwrap());
            let events = u16::from_le_bytes([r[4], r[5]]);
            let mut rev: u16 = 0;
            if fd >= 0 {
                match self.ready(fd) {
                    None => rev = 0x20, // POLLNVAL
                    Some((rd, wr)) => {
                        rev |= self.hangup(fd);
                        if rd {
                            rev |= events & (0x001 | 0x040); // POLLIN | POLLRDNORM
                        }
                        if wr {
                            rev |= events & (0x004 | 0x100); // POLLOUT | POLLWRNORM
                        }
                    }
                }
            }
            r[6..8].copy_from_slice(&rev.to_le_bytes());
            if rev != 0 {
                n += 1;
            }
        }
        if n == 0 && timeout_ms != 0 {
            // Only stdin can become ready later: wait for it or the timeout.
            let deadline = (timeout_ms > 0).then(|| h.now_ns().saturating_add(timeout_ms as u64 * 1_000_000));
            self.pending = Some(Pending::Wait { call: WaitCall::Poll { abi, fds, nfds }, deadline });
            return Err(BLOCK);
        }
        self.write_user(h, abi, fds, &b)?;
        Ok(n)
    }

    #[allow(clippy::too_many_arguments)]
    /// select and pselect6: `ts` is the timespec's layout for pselect6, None for select's timeval.
    pub(crate) fn sys_select(&mut self, h: &mut dyn Host, abi: Abi, nfds: i32, rd: u64, wr: u64, ex: u64, tv: u64, ts: Option<TimeBits>) -> SysResult {
        if nfds < 0 {
            return Err(Errno::EINVAL);
        }
        let nfds = nfds.min(self.nofile()) as usize;
        let bytes = nfds.div_ceil(8 * abi.word()) * abi.word();
        let get = |p: &mut Self, h: &mut dyn Host, a: u64| -> Result<Option<Vec<u8>>, Errno> { if a == 0 { Ok(None) } else { p.read_user(h, abi, a, bytes).map(Some) } };
        let r = get(self, h, rd)?;
        let w = get(self, h, wr)?;
        let x = get(self, h, ex)?;
        let timeout_ns: Option<u64> = if tv == 0 {
            None
        } else if let Some(bits) = ts {
            Some(self.read_timespec(h, abi, tv, bits)?)
        } else {
            let b = self.read_user(h, abi, tv, 2 * abi.word())?;
            let (s, us) = (get_word(abi, &b) as i64, get_word(abi, &b[abi.word()..]) as i64);
            let (s, us) = if abi == Abi::I386 { (s as i32 as i64, us as i32 as i64) } else { (s, us) };
            if s < 0 || !(0..1_000_000).contains(&us) {
                return Err(Errno::EINVAL);
            }
            Some(s as u64 * 1_000_000_000 + us as u64 * 1000)
        };
        let sets = [r, w, x];
        let (n, outs) = self.select_eval(nfds, bytes, &sets)?;
        if n == 0 && timeout_ns != Some(0) {
            let deadline = timeout_ns.map(|t| h.now_ns().saturating_add(t));
            self.pending = Some(Pending::Wait { call: WaitCall::Select { abi, nfds, addrs: [rd, wr, ex], sets }, deadline });
            return Err(BLOCK);
        }
        self.select_write(h, abi, [rd, wr, ex], &outs)?;
        Ok(n)
    }

    fn select_write(&mut self, h: &mut dyn Host, abi: Abi, addrs: [u64; 3], outs: &[Vec<u8>; 3]) -> Result<(), Errno> {
        for (a, o) in addrs.iter().zip(outs) {
            if *a != 0 {
                self.write_user(h, abi, *a, o)?;
            }
        }
        Ok(())
    }

    /// Which of the requested descriptors are ready: the count and the sets.
    fn select_eval(&self, nfds: usize, bytes: usize, sets: &[Option<Vec<u8>>; 3]) -> Result<(u64, [Vec<u8>; 3]), Errno> {
        let [r, w, x] = sets;
        let mut outs = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
        let mut n = 0;
        for fd in 0..nfds {
            let bit = |s: &Option<Vec<u8>>| s.as_ref().is_some_and(|v| v[fd / 8] & (1 << (fd % 8)) != 0);
            let (br, bw, bx) = (bit(&r), bit(&w), bit(&x));
            if !(br || bw || bx) {
                continue;
            }
            let Some((cr, cw)) = self.ready(fd as i32) else { return Err(Errno::EBADF) };
            if br && cr {
                outs[0][fd / 8] |= 1 << (fd % 8);
                n += 1;
            }
            if bw && cw {
                outs[1][fd / 8] |= 1 << (fd % 8);
                n += 1;
            }
        }
        Ok((n, outs))
    }

    /// Look again at a blocked poll, select or epoll_wait: `None` while
    /// nothing is ready and the deadline has not passed.
    pub(super) fn retry_wait(&mut self, h: &mut dyn Host, call: &WaitCall, deadline: Option<u64>) -> Option<SysResult> {
        let expired = deadline.is_some_and(|d| h.now_ns() >= d);
        let r = match call {
            WaitCall::Poll { abi, fds, nfds } => {
                // With no timeout the call never blocks; it rewrites revents.
                let saved = self.pending.take();
                let r = self.sys_poll(h, *abi, *fds, *nfds, 0);
                self.pending = saved;
                r
            }
            WaitCall::Select { abi, nfds, addrs, sets } => {
                let bytes = sets.iter().flatten().map(|v| v.len()).next().unwrap_or(0);
                match self.select_eval(*nfds, bytes, sets) {
                    Ok((n, outs)) if n > 0 || expired => self.select_write(h, *abi, *addrs, &outs).map(|_| n),
                    Ok(_) => Ok(0),
                    Err(e) => Err(e),
                }
            }
            WaitCall::Epoll { abi, epfd, events, max } => self.sys_epoll_wait(h, *abi, *epfd, *events, *max, 0),
        };
        match r {
            Ok(0) if !expired => None,
            r => Some(r),
        }
    }

    pub(crate) fn sys_memfd_create(&mut self, h: &mut dyn Host, abi: Abi, name: u64, flags: u32) -> SysResult {
        if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        let n = self.read_path(h, abi, name)?;
        if n.len() > 249 {
            return Err(Errno::EINVAL);
        }
        // An inode with no name: it lives while it is open.
        let cred = Cred::root();
        let tmp = self.job.vfs.lookup(self.job.vfs.root, b"/dev/shm", true, &cred).ex()?;
        let mut tname = b".memfd:".to_vec();
        tname.extend_from_slice(&n);
        let mut k = 0u32;
        let f = loop {
            let mut nm = tname.clone();
            nm.extend_from_slice(format!(".{k}").as_bytes());
            let f = self.job.vfs.walk(tmp, &nm, false, &cred).ex()?;
            if f.ino.is_none() {
                break f;
            }
            k += 1;
        };
        let ino = self.job.vfs.create(&f, Data::Reg(Default::default()), 0o777, &cred).ex()?;
        self.job.vfs.node_mut(ino).uid = self.uid;
        self.job.vfs.node_mut(ino).gid = self.gid;
        let file = self.new_file(Obj::Node(ino), O_RDWR | if self.abi == Abi::X86_64 { O_LARGEFILE } else { 0 });
        let _ = self.job.vfs.unlink(tmp, &f.name, &cred);
        match self.fd_install(file.clone(), 0, flags & MFD_CLOEXEC != 0) {
            Ok(fd) => Ok(fd as u64),
            Err(x) => {
                self.release(file);
                Err(x)
            }
        }
    }

    // ----- /proc -----

    /// The text of the generated /proc file of kind `t`, for this process.
    pub fn generate(&mut self, t: u32) -> Vec<u8> {
        let s: String = match t {
            tag::CPUINFO => {
                let mhz = self.node.tsc_hz / 1_000_000;
                let mut s = String::new();
                for cpu in 0..self.node.cpus.max(1) {
                    s += &format!(
                        "processor\t: {cpu}\nvendor_id\t: {}\nmodel name\t: {}\ncpu MHz\t\t: {mhz}.000\ncache size\t: 512 KB\nphysical id\t: 0\nsiblings\t: {}\ncore id\t\t: {cpu}\ncpu cores\t: {}\nfpu\t\t: yes\nflags\t\t: fpu tsc sse sse2\nbogomips\t: {}.00\n\n",
                        self.node.vendor, self.node.model, self.node.cpus, self.node.cpus, mhz * 2
                    );
                }
                s
            }
            tag::MEMINFO => {
                let kb = |b: u64| b / 1024;
                let (total, free) = (self.node.total_bytes, self.node.free_bytes);
                format!(
                    "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\nBuffers:               0 kB\nCached:         {:8} kB\nSwapCached:            0 kB\nShmem:          {:8} kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
                    kb(total),
                    kb(free),
                    kb(free),
                    kb(self.job.vfs.used()),
                    kb(self.job.vfs.used())
                )
            }
            tag::UPTIME => {
                let up = self.node.uptime_ns;
                let idle = self.node.idle_ns;
                format!("{}.{:02} {}.{:02}\n", up / 1_000_000_000, up / 10_000_000 % 100, idle / 1_000_000_000, idle / 10_000_000 % 100)
            }
            tag::LOADAVG => format!("0.00 0.00 0.00 1/{} {}\n", self.node.tasks.max(1), self.pid),
            tag::STAT => {
                let ticks = |ns: u64| ns / 10_000_000;
                let busy = ticks(self.node.uptime_ns.saturating_sub(self.node.idle_ns));
                let idle = ticks(self.node.idle_ns);
                let boot = (self.node.realtime_ns.saturating_sub(self.node.uptime_ns)) / 1_000_000_000;
                format!("cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 {busy} 0 0 {idle} 0 0 0 0 0 0\nintr 0\nctxt 0\nbtime {boot}\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n")
            }
            tag::FILESYSTEMS => String::from("nodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\n"),
            tag::MOUNTS => String::from(MOUNTS),
            tag::SELF_MAPS => {
                let mut s = String::new();
                for v in self.vmas.iter() {
                    let p = |b: u64, c: char| if v.prot & b != 0 { c } else { '-' };
                    let name = match v.kind {
                        VmaKind::Stack => "[stack]",
                        VmaKind::Brk => "[heap]",
                        VmaKind::Vdso => "[vdso]",
                        VmaKind::Vvar => "[vvar]",
                        VmaKind::Image => self.exe.as_str(),
                        VmaKind::Interp => core::str::from_utf8(self.plan.interp.as_deref().unwrap_or_default()).unwrap_or(""),
                        _ => "",
                    };
                    s += &format!("{:08x}-{:08x} {}{}{}p 00000000 00:00 0", v.start, v.end, p(1, 'r'), p(2, 'w'), p(4, 'x'));
                    if !name.is_empty() {
                        s += &format!("                          {name}");
                    }
                    s += "\n";
                }
                s
            }
            tag::SELF_STAT => {
                let comm = self.comm();
                let cpu = self.node.cpu_ns / 10_000_000;
                let vsize: u64 = self.vmas.iter().map(|v| v.end - v.start).sum();
                let start = self.node.uptime_ns.saturating_sub(self.node.cpu_ns.max(1)) / 10_000_000;
                let (ppid, pgid, sid) = self.family;
                format!(
                    "{} ({comm}) {} {ppid} {pgid} {sid} 0 -1 4194304 0 0 0 0 {cpu} 0 0 0 20 0 {} 0 {start} {vsize} {} {} 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                    self.pid,
                    self.state_letter(),
                    self.threads.len() + 1,
                    self.node.space_bytes / 4096,
                    u64::MAX
                )
            }
            tag::SELF_STATM => {
                let vsize: u64 = self.vmas.iter().map(|v| v.end - v.start).sum();
                format!("{} {} 0 0 0 0 0\n", vsize / 4096, self.node.space_bytes / 4096)
            }
            tag::SELF_STATUS => {
                let vsize: u64 = self.vmas.iter().map(|v| v.end - v.start).sum();
                format!(
                    "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\nUid:\t{u}\t{u}\t{u}\t{u}\nGid:\t{g}\t{g}\t{g}\t{g}\nFDSize:\t64\nGroups:\t\nVmSize:\t{:8} kB\nVmRSS:\t{:8} kB\nThreads:\t{}\nSigQ:\t0/63439\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\nCpus_allowed:\t1\nCpus_allowed_list:\t0\n",
                    self.comm(),
                    self.files.umask,
                    if self.state_letter() == 'R' { "R (running)" } else { "S (sleeping)" },
                    self.pid,
                    self.pid,
                    self.family.0,
                    vsize / 1024,
                    self.node.space_bytes / 1024,
                    self.threads.len() + 1,
                    u = self.uid,
                    g = self.gid
                )
            }
            tag::SELF_CMDLINE => {
                let mut v = Vec::new();
                for a in &self.files.argv {
                    v.extend_from_slice(a);
                    v.push(0);
                }
                return v;
            }
            tag::SELF_ENVIRON => {
                let mut v = Vec::new();
                for a in &self.files.envp {
                    v.extend_from_slice(a);
                    v.push(0);
                }
                return v;
            }
            _ => String::new(),
        };
        s.into_bytes()
    }

    /// `R` when the process is being served or computing, `S` when its
    /// thread waits in a call (as Linux's interruptible sleep).
    fn state_letter(&self) -> char {
        if self.pending.is_some() {
            'S'
        } else {
            'R'
        }
    }

    pub(crate) fn comm(&self) -> String {
        if let Some(n) = &self.name {
            return String::from_utf8_lossy(n).into_owned();
        }
        let exe = self.exe.rsplit('/').next().unwrap_or("");
        String::from(&exe[..exe.len().min(15)])
    }
}

/// What a path or descriptor names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Resolved {
    Node(Ino),
    Console(Obj),
}

/// A blocked poll, select or epoll_wait, looked at again when stdin data
/// arrives and at its deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitCall {
    Poll { abi: Abi, fds: u64, nfds: u64 },
    Select { abi: Abi, nfds: usize, addrs: [u64; 3], sets: [Option<Vec<u8>>; 3] },
    Epoll { abi: Abi, epfd: u64, events: u64, max: i32 },
}

/// `dir/name` of a directory's path and an entry's name.
fn child_path(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// What the job changed under its working directory (shared from the
/// workstation), written back there when the job ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteBack {
    /// A directory the job made.
    Dir { path: Vec<u8>, mode: u32 },
    /// A file the job made or changed; `origin`: (size, mtime in ns) of the
    /// workstation's file when the job first saw it.
    File { path: Vec<u8>, mode: u32, origin: Option<(u64, u64)>, data: Vec<u8> },
}

/// One thing `--out` brings back to the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutItem {
    Dir { path: Vec<u8>, mode: u32 },
    File { path: Vec<u8>, mode: u32, data: Vec<u8> },
    Symlink { path: Vec<u8>, target: Vec<u8> },
    Missing { path: Vec<u8> },
}

impl Process {
    /// What `--out PATH` sends back: the file, link or directory (with
    /// everything under it, parents before children) at the absolute guest
    /// path, not following a final symbolic link.
    pub fn collect_out(&self, path: &str) -> Vec<OutItem> {
        let v = &self.job.vfs;
        let mut out = Vec::new();
        let p = path.as_bytes().to_vec();
        match v.lookup(v.root, &p, false, &Cred::root()) {
            Ok(ino) => self.collect_node(ino, p, &mut out, 0),
            Err(_) => out.push(OutItem::Missing { path: p }),
        }
        out
    }

    /// The directories and files under `dir` the job made or changed (not
    /// those it only read, nor links), parents first.
    pub fn collect_write_back(&self, dir: &str) -> Vec<WriteBack> {
        let v = &self.job.vfs;
        let mut out = Vec::new();
        if let Ok(ino) = v.lookup(v.root, dir.as_bytes(), false, &Cred::root()) {
            self.write_back_node(ino, dir.as_bytes().to_vec(), &mut out, 0);
        }
        out
    }

    fn write_back_node(&self, dir: Ino, path: Vec<u8>, out: &mut Vec<WriteBack>, depth: u32) {
        let v = &self.job.vfs;
        let Data::Dir(entries) = &v.node(dir).data else { return };
        if depth > 64 {
            return;
        }
        for (name, &child) in entries {
            let cp = child_path(&path, name);
            let n = v.node(child);
            match &n.data {
                Data::Reg(d) if !n.remote && n.host.is_none() && n.tag == 0 => out.push(WriteBack::File { path: cp, mode: n.perm, origin: n.origin, data: d.to_vec() }),
                Data::Dir(_) if !n.remote => {
                    if n.origin.is_none() {
                        out.push(WriteBack::Dir { path: cp.clone(), mode: n.perm });
                    }
                    self.write_back_node(child, cp, out, depth + 1);
                }
                _ => {}
            }
        }
    }

    fn collect_node(&self, ino: Ino, path: Vec<u8>, out: &mut Vec<OutItem>, depth: u32) {
        let v = &self.job.vfs;
        let n = v.node(ino);
        match &n.data {
            // The workstation has a shared file the job never opened.
            Data::Reg(_) if n.remote => {}
            Data::Reg(d) => out.push(OutItem::File { path, mode: n.perm, data: if n.tag != 0 { Vec::new() } else { d.to_vec() } }),
            Data::Symlink(t) => out.push(OutItem::Symlink { path, target: t.clone() }),
            Data::Dir(entries) => {
                out.push(OutItem::Dir { path: path.clone(), mode: n.perm });
                if depth > 64 {
                    return;
                }
                for (name, &child) in entries {
                    self.collect_node(child, child_path(&path, name), out, depth + 1);
                }
            }
            Data::Chr(_) | Data::Sock | Data::Fifo | Data::Blk(_) => out.push(OutItem::Missing { path }),
        }
    }
}
