//! Extended attributes and the inode flags ioctls. SiON's file tree (a
//! tmpfs) stores no extended attributes: lists are empty, reads find no
//! attribute (ENODATA), writes are refused (EOPNOTSUPP), after the checks
//! Linux makes first (flags, the name, the size, the path, permissions),
//! with Linux's errnos. FS_IOC_GETFLAGS reports no flags, FS_IOC_SETFLAGS
//! accepts "no flags" from the owner.

use super::files::{Resolved, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_PATH};
use super::*;
use crate::syscalls::table::{XattrOn, XattrOp};
use sion_vfs::{Ino, R_OK, W_OK};

const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: u64 = 65536;
const XATTR_CREATE: u32 = 1;
const XATTR_REPLACE: u32 = 2;

/// What an attribute call names: a file-tree inode or another object.
enum Target {
    Node(Ino),
    Other,
}

impl Process {
    pub(crate) fn sys_xattr(&mut self, h: &mut dyn Host, abi: Abi, op: XattrOp, on: XattrOn, a: [u64; 6]) -> SysResult {
        // Copy-in first, as Linux: flags, name, value.
        let name = match op {
            XattrOp::List => Vec::new(),
            _ => {
                if op == XattrOp::Set && a[4] as u32 & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
                    return Err(Errno::EINVAL);
                }
                self.xattr_name(h, abi, a[1])?
            }
        };
        if op == XattrOp::Set {
            let size = a[3];
            if size > XATTR_SIZE_MAX {
                return Err(Errno::E2BIG);
            }
            if size > 0 {
                self.read_user(h, abi, a[2], size as usize)?;
            }
        }
        let target = match on {
            XattrOn::Fd => {
                let f = self.file(a[0] as u32 as u64)?;
                if f.borrow().flags & O_PATH != 0 {
                    return Err(Errno::EBADF);
                }
                let obj = f.borrow().obj;
                match obj.with(|k| k.inode(self)) {
                    Some(i) => Target::Node(i),
                    None => Target::Other,
                }
            }
            XattrOn::Path | XattrOn::Link => {
                let flags = if on == XattrOn::Link { AT_SYMLINK_NOFOLLOW } else { 0 };
                match self.resolve_at(h, abi, AT_FDCWD, a[0], flags)? {
                    Resolved::Node(i) => Target::Node(i),
                    Resolved::Console(_) => Target::Other,
                }
            }
        };
        let write = op != XattrOp::Get;
        let Target::Node(ino) = target else {
            // Pipes, sockets and the console: no attributes, no handlers;
            // user.* is refused first, as on any inode that is not a
            // regular file or a directory.
            let root = self.files.cred.uid == 0;
            return match op {
                XattrOp::List => Ok(0),
                _ if name.starts_with(b"user.") || (!root && name.starts_with(b"trusted.")) => Err(if write { Errno::EPERM } else { Errno::ENODATA }),
                _ => Err(Errno::EOPNOTSUPP),
            };
        };
        if op == XattrOp::List {
            return Ok(0);
        }
        // Setting or removing on a read-only mount, as mnt_want_write.
        if write && self.job.vfs.rofs(ino) {
            return Err(Errno::EROFS);
        }
        self.xattr_permission(ino, &name, write)?;
        let known = ["user.", "trusted.", "security."].iter().any(|p| name.starts_with(p.as_bytes()))
            || name == b"system.posix_acl_access"
            || name == b"system.posix_acl_default";
        match op {
            XattrOp::Set if known => Err(Errno::EOPNOTSUPP),
            _ if known => Err(Errno::ENODATA),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// The attribute name: at most 255 bytes and not empty (ERANGE).
    fn xattr_name(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() <= XATTR_NAME_MAX {
            let chunk = ((PAGE - at % PAGE) as usize).min(XATTR_NAME_MAX + 1 - out.len());
            self.check_range(abi, at, chunk as u64)?;
            let mut buf = alloc::vec![0u8; chunk];
            let n = self.read_partial(h, at, &mut buf);
            if let Some(z) = buf[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..z]);
                return if out.is_empty() { Err(Errno::ERANGE) } else { Ok(out) };
            }
            if n < chunk {
                return Err(Errno::EFAULT);
            }
            out.extend_from_slice(&buf);
            at += chunk as u64;
        }
        Err(Errno::ERANGE)
    }

    /// Linux's xattr_permission.
    fn xattr_permission(&self, ino: Ino, name: &[u8], write: bool) -> Result<(), Errno> {
        if write && self.job.vfs.node(ino).frozen() {
            return Err(Errno::EPERM);
        }
        if name.starts_with(b"security.") || name.starts_with(b"system.") {
            return Ok(());
        }
        let root = self.files.cred.uid == 0;
        if name.starts_with(b"trusted.") {
            return if root {
                Ok(())
            } else if write {
                Err(Errno::EPERM)
            } else {
                Err(Errno::ENODATA)
            };
        }
        let n = self.job.vfs.node(ino);
        if name.starts_with(b"user.") {
            if !n.is_reg() && !n.is_dir() {
                return Err(if write { Errno::EPERM } else { Errno::ENODATA });
            }
            if n.is_dir() && n.perm & 0o1000 != 0 && write && !root && n.uid != self.files.cred.uid {
                return Err(Errno::EPERM);
            }
        }
        if self.job.vfs.may(ino, if write { W_OK } else { R_OK }, &self.files.cred) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// FS_IOC_GETFLAGS / FS_IOC_SETFLAGS on a file-tree inode, as tmpfs
    /// (Linux 6.0 and later) keeps them: FS_IMMUTABLE_FL, FS_APPEND_FL,
    /// FS_NODUMP_FL, FS_NOATIME_FL, the first two changed only with
    /// CAP_LINUX_IMMUTABLE, by the owner or CAP_FOWNER; other flags are
    /// EOPNOTSUPP, other file systems' files (/proc) ENOTTY. None: not such
    /// a request.
    pub(super) fn inode_flags_ioctl(&mut self, h: &mut dyn Host, abi: Abi, ino: Ino, req: u32, arg: u64) -> Option<SysResult> {
        let (get, set) = match abi {
            Abi::X86_64 => (0x8008_6601, 0x4008_6602),
            Abi::I386 => (0x8004_6601, 0x4004_6602),
        };
        if req != get && req != set {
            return None;
        }
        let n = self.job.vfs.node(ino);
        let tmpfs = matches!(self.job.vfs.mount_of(ino).map(|m| m.fstype.as_str()), Some("tmpfs" | "devtmpfs") | None);
        if (!n.is_reg() && !n.is_dir()) || n.tag != 0 || !tmpfs {
            return Some(Err(Errno::ENOTTY));
        }
        let (owner, old) = (n.uid, n.attr);
        // Linux reads and writes an int whatever the request's size says.
        if req == get {
            return Some(self.write_user(h, abi, arg, &old.to_le_bytes()).map(|_| 0));
        }
        Some((|| {
            let b = self.read_user(h, abi, arg, 4)?;
            let new = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            self.check_write_rofs(ino)?;
            if self.files.cred.uid != owner && !self.capable(CAP_FOWNER) {
                return Err(Errno::EPERM);
            }
            if (new ^ old) & (sion_vfs::FS_IMMUTABLE_FL | sion_vfs::FS_APPEND_FL) != 0 && !self.capable(CAP_LINUX_IMMUTABLE) {
                return Err(Errno::EPERM);
            }
            if new & !sion_vfs::FS_TMPFS_FLAGS != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            let now = self.job.vfs.now;
            let n = self.job.vfs.node_mut(ino);
            n.attr = new;
            n.ctime = now;
            self.job.vfs.event(ino, sion_vfs::IN_ATTRIB);
            Ok(0)
        })())
    }
}
