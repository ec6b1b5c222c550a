//! ext2 file systems on loop devices: mount, write-back, remount and
//! unmount over `sion_ext2::cache` (the image's tree read into the VFS,
//! what changed written back when Linux would have written it at the
//! latest: `sync`, `syncfs`, `fsync`, `fdatasync`, `sync_file_range`,
//! `statfs`, a remount read-only and the unmount).

use super::*;
use sion_ext2::cache::{self, Backing};
use sion_vfs::MS_RDONLY;

pub use sion_ext2::cache::Mounted as Ext2Mount;

impl JobState {
    /// Where loop device `n`'s bytes are (`ENXIO` unbound).
    fn backing(&self, n: u32) -> Result<Backing, Errno> {
        let d = self.loops.get(&n).ok_or(Errno::ENXIO)?;
        Ok(Backing { ino: d.backing.ok_or(Errno::ENXIO)?, offset: d.offset, limit: d.sizelimit })
    }

    #[inline(never)]
    fn ext2_log(&mut self, h: Option<&mut dyn Host>, n: u32, what: &str) {
        let line = format!("EXT2-fs (loop{n}): {what}");
        if let Some(h) = h {
            h.log(&line);
        }
        self.klog_line(self.vfs.now, &line);
    }

    /// Write what changed in ext2 file system `dev` back to its image
    /// (nothing for another file system). `EIO` when the image cannot take it.
    pub fn ext2_sync(&mut self, dev: u64) -> Result<(), Errno> {
        let Some(n) = self.ext2.get(&dev).map(|m| m.loop_n) else { return Ok(()) };
        let b = self.backing(n)?;
        let JobState { ext2, vfs, .. } = self;
        let r = ext2.get_mut(&dev).expect("ext2").sync(vfs, dev, b);
        r.map_err(|e| {
            self.ext2_log(None, n, &format!("error {e} writing back"));
            Errno::EIO
        })
    }

    /// Write back every ext2 file system (`sync`).
    pub fn ext2_sync_all(&mut self) {
        self.ext2_reap();
        let devs: Vec<u64> = self.ext2.keys().copied().collect();
        for d in devs {
            let _ = self.ext2_sync(d);
        }
    }

    /// Let go of the detached file systems nothing holds any more: written
    /// back, marked clean, their inodes freed.
    pub fn ext2_reap(&mut self) {
        let devs: Vec<u64> = self.ext2.iter().filter(|(_, m)| m.detached).map(|(&d, _)| d).collect();
        for dev in devs {
            if self.vfs.inodes_of(dev).iter().any(|&i| self.vfs.node(i).opens > 0) {
                continue;
            }
            let _ = self.ext2_sync(dev);
            let _ = self.ext2_set_rw(dev, false);
            self.ext2.remove(&dev);
            self.vfs.free_fs(dev);
        }
    }

    /// Start or stop writing ext2 file system `dev` (stopping marks its
    /// image clean again).
    fn ext2_set_rw(&mut self, dev: u64, rw: bool) -> Result<(), Errno> {
        let Some(n) = self.ext2.get(&dev).map(|m| m.loop_n) else { return Ok(()) };
        let b = self.backing(n)?;
        let JobState { ext2, vfs, .. } = self;
        ext2.get_mut(&dev).expect("ext2").set_rw(vfs, b, rw).map_err(|_| Errno::EIO)
    }

    /// After `umount` of the mount of ext2 file system `dev`: once no mount
    /// shows it, it goes when nothing holds it (see [`JobState::ext2_reap`]).
    pub fn ext2_unmounted(&mut self, dev: u64) {
        if !self.vfs.mounts().iter().any(|m| m.dev == dev) {
            if let Some(m) = self.ext2.get_mut(&dev) {
                m.detached = true;
            }
            self.ext2_reap();
        }
    }
}

impl Process {
    /// `mount(source, point, "ext2", flags)`: `mflags` are the mount's.
    pub(super) fn mount_ext2(&mut self, h: &mut dyn Host, point: Ino, fstype: &str, source: Option<String>, mflags: u64) -> SysResult {
        let Some(source) = source else { return Err(Errno::EINVAL) };
        let start = self.at_dir(AT_FDCWD, source.as_bytes())?;
        let devi = self.job.vfs.lookup(start, source.as_bytes(), true, &self.files.cred).ex()?;
        let Data::Blk(rdev) = self.job.vfs.node(devi).data else { return Err(Errno::ENOTBLK) };
        if self.mounted_with(devi, sion_vfs::MS_NODEV) {
            return Err(Errno::EACCES);
        }
        let n = loopdev::loop_number(rdev).ok_or(Errno::ENXIO)?;
        let b = self.job.backing(n)?;
        // One mount per device (Linux would share its superblock).
        self.job.ext2_reap();
        if self.job.ext2.values().any(|m| m.loop_n == n) {
            return Err(Errno::EBUSY);
        }
        if mflags & MS_RDONLY == 0 && self.job.loops.get(&n).is_some_and(|d| d.flags & loopdev::LO_FLAGS_READ_ONLY != 0) {
            return Err(Errno::EACCES);
        }
        match cache::mount(&mut self.job.vfs, b, n, point, fstype, &source, mflags) {
            Ok((m, note)) => {
                if let Some(note) = note {
                    self.job.ext2_log(Some(h), n, &note);
                }
                let dev = self.job.vfs.node(m.root).dev;
                self.job.ext2.insert(dev, m);
                Ok(0)
            }
            Err((e, why)) => {
                if !why.is_empty() {
                    self.job.ext2_log(Some(h), n, &format!("error: {why}"));
                }
                Err(Errno(e))
            }
        }
    }

    /// `MS_REMOUNT` of ext2 file system `dev` to `ro` or read-write.
    pub(super) fn remount_ext2(&mut self, dev: u64, ro: bool) -> Result<(), Errno> {
        let Some(m) = self.job.ext2.get(&dev) else { return Ok(()) };
        if ro && m.rw {
            // Not while a file of it is open for writing here.
            let busy = self.files.fds.values().any(|f| {
                let f = f.file.borrow();
                matches!(f.obj, Obj::Node(i) if f.writable() && self.job.vfs.get(i).is_some_and(|n| n.dev == dev && n.is_reg()))
            });
            if busy {
                return Err(Errno::EBUSY);
            }
            self.job.ext2_sync(dev)?;
            self.job.ext2_set_rw(dev, false)?;
        } else if !ro && !m.rw {
            if m.fs.ro_only {
                return Err(Errno::EROFS);
            }
            if self.job.loops.get(&m.loop_n).is_some_and(|d| d.flags & loopdev::LO_FLAGS_READ_ONLY != 0) {
                return Err(Errno::EACCES);
            }
            self.job.ext2_set_rw(dev, true)?;
        }
        Ok(())
    }

    /// `statfs` of ext2 file system `dev` (written back first): the image's figures.
    pub(crate) fn ext2_statfs(&mut self, dev: u64) -> Option<sion_ext2::Statfs> {
        let _ = self.job.ext2_sync(dev);
        self.job.ext2.get(&dev).map(|m| m.fs.statfs())
    }
}
