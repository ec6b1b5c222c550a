//! Path walks (relative to a directory descriptor or the working
//! directory, /dev/fd/N and /proc/self/fd/N as Linux's magic links), open,
//! and the calls on paths.

use super::*;

const O_VALID: u32 = O_ACCMODE
    | O_CREAT
    | O_EXCL
    | O_NOCTTY
    | O_TRUNC
    | O_APPEND
    | O_NONBLOCK
    | O_DSYNC
    | O_ASYNC
    | O_DIRECT
    | O_LARGEFILE
    | O_DIRECTORY
    | O_NOFOLLOW
    | O_NOATIME
    | O_CLOEXEC
    | O_SYNC
    | O_PATH
    | O_TMPFILE;

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
    // A file system mounted noexec runs nothing.
    if v.dev_flags(node.dev) & sion_vfs::MS_NOEXEC != 0 {
        return Err(Errno::EACCES);
    }
    // Not while it is open for writing (Linux's deny_write_access).
    v.may_run(ino).ex()?;
    v.need_content(ino).ex()?;
    let bytes = v.read_range(ino, 0, node.size() as usize);
    let exe = v.path_of(ino).map(|p| String::from_utf8_lossy(&p).into_owned()).unwrap_or_else(|| String::from_utf8_lossy(path).into_owned());
    Ok((bytes, exe))
}

impl Process {
    pub(super) fn user_path(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<Vec<u8>, Errno> {
        let p = self.read_path(h, abi, addr)?;
        self.job.vfs.now = h.realtime_ns();
        // /proc/self/fd is reachable through any path (/dev/fd, links, ..).
        self.sync_proc();
        Ok(p)
    }

    /// The directory a relative path starts from.
    pub(in crate::process) fn at_dir(&self, dirfd: i32, path: &[u8]) -> Result<Ino, Errno> {
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
            return self.fd_resolved(dirfd as u32 as u64);
        }
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        if follow {
            // /dev/fd/N: what the descriptor refers to (a pipe, a socket, a
            // file renamed or unlinked since, an O_TMPFILE file).
            if let Some(fd) = self.magic_fd(&p) {
                return self.fd_resolved(fd as u32 as u64);
            }
            if let Some(obj) = self.magic_ns_link(dirfd, &p) {
                return Ok(Resolved::Console(obj));
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
        // execveat's flags before the file, as Linux's do_open_execat.
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
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

    pub(crate) fn sys_openat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, flags: u32, mode: u32) -> SysResult {
        if flags & !O_VALID != 0 && flags & !O_VALID & !0o20 != 0 {
            // Unknown bits are ignored by open (not by openat2).
        }
        if flags & O_TMPFILE != 0 {
            // O_TMPFILE is __O_TMPFILE | O_DIRECTORY, without O_CREAT, to be
            // opened for writing (build_open_flags).
            if flags & (O_TMPFILE | O_DIRECTORY | O_CREAT) != O_TMPFILE | O_DIRECTORY || flags & O_ACCMODE == 0 || flags & O_PATH != 0 {
                return Err(Errno::EINVAL);
            }
            return self.open_tmpfile(h, abi, dirfd, path, flags, mode);
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
        if flags & O_NOFOLLOW == 0 {
            if let Some(obj) = self.magic_ns_link(dirfd, &p) {
                let file = self.new_file(obj, flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC));
                return match self.fd_install(file.clone(), 0, flags & O_CLOEXEC != 0) {
                    Ok(fd) => Ok(fd as u64),
                    Err(e) => {
                        self.release(file);
                        Err(e)
                    }
                };
            }
            // A file through its descriptor's magic link: the very inode,
            // renamed, unlinked or unnamed (O_TMPFILE) as it may be.
            if let Some(Ok(Resolved::Node(ino))) = self.magic_fd(&p).map(|fd| self.fd_resolved(fd as u32 as u64)) {
                if flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
                    return Err(Errno::EEXIST);
                }
                return self.open_inode(h, ino, flags, false);
            }
        }
        let start = self.at_dir(dirfd, &p)?;
        let cred = self.files.cred.clone();
        let creat = flags & O_CREAT != 0 && flags & O_PATH == 0;
        let follow = flags & O_NOFOLLOW == 0 && !(creat && flags & O_EXCL != 0);
        let f = self.job.vfs.walk(start, &p, follow, &cred).ex()?;
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
        self.open_inode(h, ino, flags, f.trailing)
    }

    /// Open inode `ino`, found by a path (`trailing`: the path ended in
    /// "/") or by a file handle: the checks of open(2) on what exists.
    fn open_inode(&mut self, h: &mut dyn Host, ino: Ino, flags: u32, trailing: bool) -> SysResult {
        let cred = self.files.cred.clone();
        let acc = flags & O_ACCMODE;
        let n = self.job.vfs.node(ino);
        if n.is_symlink() {
            if flags & O_PATH != 0 && flags & O_NOFOLLOW != 0 {
                return self.finish_open(ino, flags, false);
            }
            return Err(Errno::ELOOP);
        }
        let is_dir = n.is_dir();
        if (trailing || flags & O_DIRECTORY != 0) && !is_dir {
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
        if want & W_OK != 0 {
            self.check_write_rofs(ino)?;
            if n.immutable() {
                return Err(Errno::EPERM);
            }
        }
        if !self.job.vfs.may(ino, want, &cred) {
            return Err(Errno::EACCES);
        }
        // An append-only file opens for writing only to append, never to truncate.
        if n.append_only() && ((acc != 0 && flags & O_APPEND == 0) || flags & O_TRUNC != 0) {
            return Err(Errno::EPERM);
        }
        // O_NOATIME: only the file's owner or CAP_FOWNER.
        if flags & O_NOATIME != 0 && cred.uid != n.uid && !self.capable(crate::linux::CAP_FOWNER) {
            return Err(Errno::EPERM);
        }
        // /proc/sys grants root only the owner's bits (Linux's test_perm).
        if tag::kind(n.tag) == tag::SYSCTL && want & W_OK != 0 && n.perm & 0o200 == 0 {
            return Err(Errno::EACCES);
        }
        match n.data {
            // No controlling terminal; a socket's name is for connect, not
            // open; a device without a driver here (root's mknod) is ENXIO.
            Data::Chr(_) | Data::Blk(_) if self.mounted_with(ino, sion_vfs::MS_NODEV) => return Err(Errno::EACCES),
            Data::Chr(RDEV_NULL | RDEV_ZERO | RDEV_FULL | RDEV_RANDOM | RDEV_URANDOM) => {}
            ref d if super::loopdev::is_loop_node(d) => {}
            Data::Chr(_) | Data::Blk(_) | Data::Sock => return Err(Errno::ENXIO),
            Data::Fifo => return self.fifo_open(ino, flags),
            _ => {}
        }
        if n.tag != 0 {
            self.node = h.node_info();
        }
        let truncating = flags & O_TRUNC != 0 && n.is_reg() && acc != 0;
        if n.is_reg() && acc != 0 {
            // Not a running program's file (get_write_access).
            self.job.vfs.may_write_access(ino).ex()?;
        }
        if n.is_reg() && self.job.locks.any_leases() {
            self.break_leases(h, ino, acc != 0, flags & O_NONBLOCK != 0)?;
        }
        if !truncating {
            // A workstation file's bytes come before it opens.
            self.job.vfs.need_content(ino).ex()?;
        }
        if truncating {
            self.job.vfs.truncate(ino, 0).ex()?;
            self.file_shrunk(h, ino, 0);
        }
        self.finish_open(ino, flags, false)
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

    /// open(dir, O_TMPFILE | O_RDWR or O_WRONLY [| O_EXCL], mode): a file
    /// with no name in the directory's file system, which linkat may give
    /// one unless O_EXCL said otherwise.
    fn open_tmpfile(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, flags: u32, mode: u32) -> SysResult {
        let p = self.user_path(h, abi, path)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        let start = self.at_dir(dirfd, &p)?;
        let cred = self.files.cred.clone();
        let dir = match self.magic_fd(&p).map(|fd| self.fd_resolved(fd as u32 as u64)) {
            Some(Ok(Resolved::Node(ino))) if flags & O_NOFOLLOW == 0 => ino,
            _ => self.job.vfs.lookup(start, &p, flags & O_NOFOLLOW == 0, &cred).ex()?,
        };
        if !self.job.vfs.node(dir).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let perm = mode & 0o7777 & !self.files.umask;
        let ino = self.job.vfs.tmpfile(dir, perm, flags & O_EXCL == 0, &cred).ex()?;
        self.finish_open(ino, flags & !(O_TMPFILE | O_DIRECTORY), true)
    }

    /// The descriptor `/dev/fd/N`, `/proc/self/fd/N` (...) names, if it is
    /// open. Followed, such a magic link lands on the descriptor's file
    /// itself, an O_PATH descriptor's symbolic link too (not followed on).
    pub(crate) fn magic_fd(&self, p: &[u8]) -> Option<i32> {
        let pid = format!("/proc/{}/fd/", self.pid);
        let rest = [&b"/dev/fd/"[..], b"/proc/self/fd/", b"/proc/thread-self/fd/", pid.as_bytes()].iter().find_map(|pre| p.strip_prefix(*pre))?;
        if rest.first() == Some(&b'0') && rest.len() > 1 {
            return None;
        }
        let fd: i32 = core::str::from_utf8(rest).ok()?.parse().ok()?;
        self.files.fds.contains_key(&fd).then_some(fd)
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

    /// `/proc/<pid>/ns/NAME` followed: the namespace its link names (Linux's
    /// nsfs magic links), whatever path reaches the link.
    fn magic_ns_link(&self, dirfd: i32, p: &[u8]) -> Option<Obj> {
        if !p.windows(4).any(|w| w == b"/ns/") && !p.starts_with(b"ns/") {
            return None;
        }
        let start = self.at_dir(dirfd, p).ok()?;
        let ino = self.job.vfs.lookup(start, p, false, &self.files.cred).ok()?;
        let n = self.job.vfs.node(ino);
        let Data::Symlink(t) = &n.data else { return None };
        let name = p.rsplit(|&b| b == b'/').next()?;
        let (kind, id) = crate::ns::Kind::parse_link(name, t)?;
        (n.dev == DEV_PROC).then_some(Obj::Ns { kind, id })
    }

    fn reopen_fd(&mut self, fd: i32, flags: u32) -> SysResult {
        let Some(ent) = self.files.fds.get(&fd).cloned() else { return Err(Errno::ENOENT) };
        let obj = ent.file.borrow().obj;
        obj.with(|k| k.reopen(flags))?;
        obj.with(|k| k.reopened(self, flags));
        let file = self.new_file(obj, flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC));
        match self.fd_install(file.clone(), 0, flags & O_CLOEXEC != 0) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                self.release(file);
                Err(e)
            }
        }
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
            let mut kind = tag::kind(tagv);
            if kind == tag::FDINFO {
                // fdinfo/<fd>: the descriptor is the file's name.
                let path = self.job.vfs.path_of(ino).unwrap_or_default();
                let fd: u32 = core::str::from_utf8(path.rsplit(|&b| b == b'/').next().unwrap_or_default()).ok().and_then(|n| n.parse().ok()).unwrap_or(u32::MAX >> 8);
                kind |= fd << 8;
            }
            match tag::owner(tagv) {
                // Another process's file: the process table generates it
                // from that process before the call is answered.
                owner if owner != 0 && owner != self.pid => {
                    file.borrow_mut().snapshot = Some(Vec::new());
                    self.job.proc_reads.push((file.clone(), owner, kind));
                }
                _ if kind == tag::SYSCTL => file.borrow_mut().snapshot = Some(self.sysctl_text(tag::pid(tagv))),
                _ => {
                    let tid = super::task_of_file(&self.job.vfs, ino);
                    file.borrow_mut().snapshot = Some(self.generate_for(kind, tid));
                }
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
        // Linux 6.1: linking a descriptor's file takes CAP_DAC_READ_SEARCH.
        if flags & AT_EMPTY_PATH != 0 && !self.capable(CAP_DAC_READ_SEARCH) {
            return Err(Errno::ENOENT);
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
        // The raw call answers ERANGE for any short size, 0 included (libc's
        // wrappers turn size 0 with a buffer into EINVAL themselves).
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
        if mode & W_OK != 0 {
            self.check_write_rofs(ino)?;
        }
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

    pub(crate) fn truncate_path(&mut self, h: &mut dyn Host, r: Resolved, len: i64) -> SysResult {
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
        self.check_write_rofs(ino)?;
        if n.immutable() {
            return Err(Errno::EPERM);
        }
        if !self.job.vfs.may(ino, W_OK, &self.files.cred) {
            return Err(Errno::EACCES);
        }
        if n.append_only() {
            return Err(Errno::EPERM);
        }
        self.job.vfs.may_write_access(ino).ex()?;
        if len as u64 > self.rlimits[1].0 {
            return Err(Errno::EFBIG);
        }
        if self.job.locks.any_leases() {
            self.break_leases(h, ino, true, false)?;
        }
        self.job.vfs.truncate(ino, len as u64).ex()?;
        self.file_shrunk(h, ino, len as u64);
        Ok(0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_utimensat(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, times: u64, flags: u32, bits: TimeBits) -> SysResult {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
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
        self.set_file_times(h, abi, dirfd, path, flags, t)
    }

    /// utime, utimes and futimesat: `times` a `struct utimbuf` (two longs of
    /// seconds, `micro` false) or two `struct timeval` (`micro`); NULL: now.
    pub(crate) fn sys_utimes(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, times: u64, micro: bool) -> SysResult {
        let mut t = [(0i64, UTIME_NOW); 2];
        if times != 0 {
            let w = abi.word();
            let b = self.read_user(h, abi, times, if micro { 4 * w } else { 2 * w })?;
            let long = |i: usize| match abi {
                Abi::X86_64 => i64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap()),
                Abi::I386 => i32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap()) as i64,
            };
            for (i, slot) in t.iter_mut().enumerate() {
                *slot = if micro {
                    let usec = long(2 * i + 1);
                    if !(0..1_000_000).contains(&usec) {
                        return Err(Errno::EINVAL);
                    }
                    (long(2 * i), usec * 1000)
                } else {
                    (long(i), 0)
                };
            }
        }
        self.set_file_times(h, abi, dirfd, path, 0, t)
    }

    /// Set a file's access and modification times, (seconds, nanoseconds)
    /// each, UTIME_NOW or UTIME_OMIT in the nanoseconds.
    fn set_file_times(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, flags: u32, t: [(i64, i64); 2]) -> SysResult {
        let now = h.realtime_ns();
        let r = if path == 0 {
            if dirfd == AT_FDCWD {
                return Err(Errno::EFAULT);
            }
            self.fd_resolved(dirfd as u32 as u64)?
        } else {
            self.resolve_at(h, abi, dirfd, path, flags)?
        };
        let Resolved::Node(ino) = r else { return Ok(0) };
        self.check_write_rofs(ino)?;
        let explicit = t.iter().any(|x| x.1 != UTIME_NOW && x.1 != UTIME_OMIT);
        let n = self.job.vfs.node(ino);
        // notify_change: no times set on a frozen inode, not even "now" on an immutable one.
        if (explicit && n.frozen()) || (t.iter().any(|x| x.1 == UTIME_NOW) && n.immutable()) {
            return Err(Errno::EPERM);
        }
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
        self.job.vfs.event(ino, sion_vfs::IN_ATTRIB);
        Ok(0)
    }
}

/// name_to_handle_at's handle: the inode number and the file system's
/// device (inode numbers are never reused in the job's tree, so a handle
/// of a removed file is stale, not another file's).
const HANDLE_BYTES: usize = 16;
/// Its `handle_type` (a value of our own, as each Linux file system has).
const HANDLE_TYPE: i32 = 0x53;
/// Linux's MAX_HANDLE_SZ.
const MAX_HANDLE_SZ: u32 = 128;
const AT_SYMLINK_FOLLOW: u32 = 0x400;

impl Process {
    /// name_to_handle_at(dirfd, path, handle, mount_id, flags).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_name_to_handle_at(&mut self, h: &mut dyn Host, abi: Abi, dirfd: i32, path: u64, handle: u64, mount_id: u64, flags: u32) -> SysResult {
        if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        // The path is looked up without following a final link unless asked.
        let lookup = (flags & AT_EMPTY_PATH) | if flags & AT_SYMLINK_FOLLOW == 0 { AT_SYMLINK_NOFOLLOW } else { 0 };
        let Resolved::Node(ino) = self.resolve_at(h, abi, dirfd, path, lookup)? else { return Err(Errno::EOPNOTSUPP) };
        let b = self.read_user(h, abi, handle, 4)?;
        let room = u32::from_le_bytes(b[..4].try_into().unwrap());
        if room > MAX_HANDLE_SZ {
            return Err(Errno::EINVAL);
        }
        // The mount id is written first, even for a handle that does not
        // fit (EOVERFLOW), as Linux does.
        let id = self.job.vfs.mount_of(ino).map_or(0, |m| m.id) as i32;
        self.write_user(h, abi, mount_id, &id.to_le_bytes())?;
        if (room as usize) < HANDLE_BYTES {
            self.write_user(h, abi, handle, &(HANDLE_BYTES as u32).to_le_bytes())?;
            return Err(Errno::EOVERFLOW);
        }
        let dev = self.job.vfs.node(ino).dev;
        let mut out = Vec::with_capacity(8 + HANDLE_BYTES);
        out.extend_from_slice(&(HANDLE_BYTES as u32).to_le_bytes());
        out.extend_from_slice(&HANDLE_TYPE.to_le_bytes());
        out.extend_from_slice(&(ino as u64).to_le_bytes());
        out.extend_from_slice(&dev.to_le_bytes());
        self.write_user(h, abi, handle, &out)?;
        Ok(0)
    }

    /// open_by_handle_at(mount_fd, handle, flags): CAP_DAC_READ_SEARCH
    /// (root's); ESTALE for a file that is gone or a handle not ours.
    pub(crate) fn sys_open_by_handle_at(&mut self, h: &mut dyn Host, abi: Abi, mount_fd: i32, handle: u64, flags: u32) -> SysResult {
        if !self.capable(crate::linux::CAP_DAC_READ_SEARCH) {
            return Err(Errno::EPERM);
        }
        // The handle is looked up in the file system `mount_fd` is on.
        let mount_dev = if mount_fd == AT_FDCWD {
            Some(self.job.vfs.node(self.files.cwd).dev)
        } else {
            match self.file(mount_fd as u32 as u64)?.borrow().obj {
                Obj::Node(i) => Some(self.job.vfs.node(i).dev),
                _ => None,
            }
        };
        let b = self.read_user(h, abi, handle, 8)?;
        let bytes = u32::from_le_bytes(b[..4].try_into().unwrap());
        if bytes == 0 || bytes > MAX_HANDLE_SZ {
            return Err(Errno::EINVAL);
        }
        let kind = i32::from_le_bytes(b[4..8].try_into().unwrap());
        let body = self.read_user(h, abi, handle + 8, bytes as usize)?;
        if kind != HANDLE_TYPE || bytes as usize != HANDLE_BYTES {
            return Err(Errno::ESTALE);
        }
        let ino = u64::from_le_bytes(body[..8].try_into().unwrap()) as Ino;
        let dev = u64::from_le_bytes(body[8..16].try_into().unwrap());
        match self.job.vfs.get(ino) {
            Some(n) if n.dev == dev && mount_dev == Some(dev) && (n.nlink > 0 || n.is_dir()) => {}
            _ => return Err(Errno::ESTALE),
        }
        if flags & O_CREAT != 0 {
            return Err(Errno::EINVAL);
        }
        self.open_inode(h, ino, flags, false)
    }
}
