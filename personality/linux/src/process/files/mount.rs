//! mount, umount2 and umount over the VFS's mount table
//! (`sion_vfs::mount`): tmpfs, views of /proc and /dev, bind mounts,
//! remounts, moves; /proc/mounts and /proc/self/mountinfo.

use super::*;
use sion_vfs::{tmpfs_options, MountKind, MNT_DETACH, MNT_EXPIRE, MNT_FORCE, UMOUNT_NOFOLLOW};
use sion_vfs::{MS_BIND, MS_MOVE, MS_NOATIME, MS_PRIVATE, MS_RDONLY, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_UNBINDABLE};

const MS_MGC_MSK: u64 = 0xffff_0000;
const MS_MGC_VAL: u64 = 0xc0ed_0000;
const MS_PROPAGATION: u64 = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

/// The file systems `mount` knows (as /proc/filesystems lists them).
pub const FILESYSTEMS: &str = "nodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\n\text2\n";

impl Process {
    fn mount_string(&mut self, h: &mut dyn Host, abi: Abi, addr: u64) -> Result<Option<String>, Errno> {
        if addr == 0 {
            return Ok(None);
        }
        let b = self.read_path(h, abi, addr)?;
        Ok(Some(String::from_utf8_lossy(&b).into_owned()))
    }

    fn mount_target(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, follow: bool) -> Result<Ino, Errno> {
        let p = self.user_path(h, abi, addr)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        if follow {
            // A magic link to an O_PATH descriptor of a symbolic link lands
            // on that link, where nothing mounts: ENOENT, as Linux.
            if let Some(Ok(Resolved::Node(ino))) = self.magic_fd(&p).map(|fd| self.fd_resolved(fd as u32 as u64)) {
                return if self.job.vfs.node(ino).is_symlink() { Err(Errno::ENOENT) } else { Ok(ino) };
            }
        }
        let start = self.at_dir(AT_FDCWD, &p)?;
        self.job.vfs.lookup(start, &p, follow, &self.files.cred).ex()
    }

    /// `mount(source, target, fstype, flags, data)`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_mount(&mut self, h: &mut dyn Host, abi: Abi, src: u64, target: u64, fstype: u64, flags: u64, data: u64) -> SysResult {
        let mut flags = flags;
        if flags & MS_MGC_MSK == MS_MGC_VAL {
            flags &= !MS_MGC_MSK;
        }
        let fstype = self.mount_string(h, abi, fstype)?;
        let source = self.mount_string(h, abi, src)?;
        let data = if data == 0 { Vec::new() } else { self.read_path(h, abi, data)? };
        let point = self.mount_target(h, abi, target, true)?;
        if !self.capable(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        // The access-time flags: relatime unless told otherwise.
        let mut mflags = flags & sion_vfs::MS_PER_MOUNT;
        if flags & MS_NOATIME == 0 {
            mflags |= MS_RELATIME;
        }
        if flags & MS_STRICTATIME != 0 {
            mflags &= !(MS_RELATIME | MS_NOATIME);
        }
        let vfs = &mut self.job.vfs;
        if flags & MS_REMOUNT != 0 {
            let Some(m) = vfs.mount_at(point).cloned() else { return Err(Errno::EINVAL) };
            // No time flag given: the mount keeps its own.
            let atime = MS_NOATIME | sion_vfs::MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
            if flags & atime == 0 {
                mflags = (mflags & !atime) | (m.flags & atime);
            }
            if flags & MS_BIND != 0 {
                // The mount's own flags; read-only stays the file system's here.
                return vfs.remount(point, mflags, None).ex().map(|_| 0);
            }
            if self.job.ext2.contains_key(&m.dev) && m.owned {
                self.remount_ext2(m.dev, flags & MS_RDONLY != 0)?;
                let opts = Some((m.options.as_str(), m.limit));
                return self.job.vfs.remount(point, mflags, opts).ex().map(|_| 0);
            }
            let opts = if m.fstype == "tmpfs" && m.owned && !data.is_empty() {
                let (_, _, _, limit, _) = tmpfs_options(&data, self.memory / 2, 0, 0).ex()?;
                // Only the size changes on a remount; the rest stays.
                let mut shown: Vec<String> = m.options.split(',').filter(|o| !o.is_empty() && !o.starts_with("size=")).map(String::from).collect();
                if limit != u64::MAX {
                    shown.insert(0, format!("size={}k", limit >> 10));
                }
                Some((shown.join(","), limit))
            } else {
                None
            };
            let opts_ref = opts.as_ref().map(|(s, l)| (s.as_str(), *l));
            return vfs.remount(point, mflags, opts_ref).ex().map(|_| 0);
        }
        if flags & MS_BIND != 0 {
            let from = self.mount_target(h, abi, src, true)?;
            let vfs = &mut self.job.vfs;
            if !vfs.node(from).is_dir() || !vfs.node(point).is_dir() {
                return Err(if vfs.node(from).is_dir() != vfs.node(point).is_dir() { Errno::ENOTDIR } else { Errno::EINVAL });
            }
            let (fstype, source) = match vfs.mount_of(from) {
                Some(m) => (m.fstype.clone(), m.source.clone()),
                None => (String::from("tmpfs"), String::from("tmpfs")),
            };
            let ro = vfs.dev_flags(vfs.node(from).dev) & MS_RDONLY;
            return vfs.mount(point, MountKind::Existing(from), &fstype, &source, mflags | ro, "").ex().map(|_| 0);
        }
        if flags & MS_PROPAGATION != 0 {
            // One job, one namespace: propagation changes nothing.
            return if vfs.mount_at(point).is_some() { Ok(0) } else { Err(Errno::EINVAL) };
        }
        if flags & MS_MOVE != 0 {
            let from = self.mount_target(h, abi, src, true)?;
            return self.job.vfs.move_mount(from, point).ex().map(|_| 0);
        }
        let Some(fstype) = fstype else { return Err(Errno::EINVAL) };
        let source = source.unwrap_or_else(|| String::from("none"));
        let vfs = &mut self.job.vfs;
        match fstype.as_str() {
            "tmpfs" => {
                let (uid, gid) = (self.files.cred.uid, self.files.cred.gid);
                let (perm, uid, gid, limit, shown) = tmpfs_options(&data, self.memory / 2, uid, gid).ex()?;
                vfs.mount(point, MountKind::Tmpfs { perm, uid, gid, limit }, "tmpfs", &source, mflags, &shown).ex().map(|_| 0)
            }
            "proc" | "devtmpfs" => {
                let dir = if fstype == "proc" { b"/proc" as &[u8] } else { b"/dev" };
                let root = vfs.root;
                let from = vfs.lookup(root, dir, true, &Cred::root()).ex()?;
                vfs.mount(point, MountKind::Existing(from), &fstype, &source, mflags, "").ex().map(|_| 0)
            }
            "ext2" => self.mount_ext2(h, point, &fstype, Some(source).filter(|_| src != 0), mflags),
            _ => Err(Errno::ENODEV),
        }
    }

    /// `umount2(target, flags)` (`umount` is flags 0).
    pub(crate) fn sys_umount2(&mut self, h: &mut dyn Host, abi: Abi, target: u64, flags: u32) -> SysResult {
        if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
            return Err(Errno::EINVAL);
        }
        // Its own walk to the target does not clear the expiry marks.
        let marks: Vec<bool> = self.job.vfs.mounts().iter().map(|m| m.expiry_mark.get()).collect();
        let ino = self.mount_target(h, abi, target, flags & UMOUNT_NOFOLLOW == 0);
        for (m, k) in self.job.vfs.mounts().iter().zip(marks) {
            m.expiry_mark.set(k);
        }
        let ino = ino?;
        if !self.capable(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        if flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0 {
            return Err(Errno::EINVAL);
        }
        // An ext2 file system is written back first, and let go once gone.
        let dev = self.job.vfs.mount_at(ino).filter(|m| m.owned).map(|m| m.dev);
        if let Some(dev) = dev.filter(|d| self.job.ext2.contains_key(d)) {
            self.job.vfs.umount(ino, flags | sion_vfs::UMOUNT_KEEP).ex()?;
            self.job.ext2_unmounted(dev);
            return Ok(0);
        }
        self.job.vfs.umount(ino, flags).ex().map(|_| 0)
    }

    /// /proc/mounts (`info` false) or /proc/self/mountinfo.
    pub(crate) fn mounts_text(&self, info: bool) -> String {
        let v = &self.job.vfs;
        let mut s = String::new();
        for m in v.mounts() {
            let point = v.path_of(m.point).unwrap_or_else(|| b"/".to_vec());
            let point = String::from_utf8_lossy(&point).replace(' ', "\\040");
            let opts = m.option_text();
            if info {
                let root = if m.owned || m.in_place {
                    String::from("/")
                } else {
                    // A view of a directory: its path inside its file system.
                    let p = v.path_of(m.root).unwrap_or_default();
                    let base = v.mounts().iter().find(|o| o.dev == m.dev && (o.owned || o.in_place)).and_then(|o| v.path_of(o.root)).unwrap_or_default();
                    let rel = p.strip_prefix(base.as_slice()).unwrap_or(&p);
                    let rel = String::from_utf8_lossy(rel).into_owned();
                    if rel.starts_with('/') {
                        rel
                    } else {
                        format!("/{rel}")
                    }
                };
                let (major, minor) = ((m.dev >> 8) & 0xfff, (m.dev & 0xff) | ((m.dev >> 12) & 0xfff00));
                let mopts = opts.split(',').filter(|o| !o.contains('=')).collect::<Vec<_>>().join(",");
                let sopts = if m.flags & MS_RDONLY != 0 { "ro" } else { "rw" };
                let extra = if m.options.is_empty() { String::new() } else { format!(",{}", m.options) };
                s += &format!("{} {} {major}:{minor} {root} {point} {mopts} - {} {} {sopts}{extra}\n", m.id, m.parent, m.fstype, m.source);
            } else {
                s += &format!("{} {point} {} {opts} 0 0\n", m.source, m.fstype);
            }
        }
        s
    }

    /// `EROFS` when `ino` is a file, directory or link on a read-only file
    /// system (devices, FIFOs and sockets may still be written).
    pub(crate) fn check_write_rofs(&self, ino: Ino) -> Result<(), Errno> {
        let v = &self.job.vfs;
        let n = v.node(ino);
        if (n.is_reg() || n.is_dir() || n.is_symlink()) && v.rofs(ino) {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// Is `ino` on a file system mounted with `flag` (`MS_NOEXEC`, `MS_NODEV`)?
    pub(crate) fn mounted_with(&self, ino: Ino, flag: u64) -> bool {
        let v = &self.job.vfs;
        v.dev_flags(v.node(ino).dev) & flag != 0
    }
}
