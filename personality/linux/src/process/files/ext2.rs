//! ext2 file systems on loop devices (`sion_ext2`). A mount reads the
//! image's tree into the VFS, as a file system of its own `dev`: the VFS is
//! its cache, as Linux's page cache and inode cache are. What changed goes
//! back to the image (the loop device's backing file) when Linux would
//! have written it at the latest: `sync`, `syncfs`, `fsync`, `fdatasync`,
//! `sync_file_range`, `statfs` (its figures are the image's), a remount
//! read-only and the unmount. Inodes keep their numbers on the image; new
//! ones get free numbers, those whose last name went (and are not open) are
//! freed with their blocks.

use super::*;
use alloc::collections::BTreeMap;
use sion_ext2::{Content, Disk, Fs, Meta, ROOT};
use sion_vfs::MS_RDONLY;
use sion_vfs::FileData;

/// A mounted ext2 file system.
pub struct Ext2Mount {
    pub fs: Fs,
    /// The loop device it is on.
    pub loop_n: u32,
    pub root: Ino,
    /// VFS inode -> inode on the image.
    pub map: VecMap<Ino, u32>,
    /// The tree's clock at the last write-back: an inode whose change and
    /// modification times are older is on the image as it is.
    pub synced: u64,
    /// Mounted read-write (the image is marked in use).
    pub rw: bool,
    /// Unmounted with files still open (`MNT_DETACH`): written back and
    /// let go when the last closes.
    pub detached: bool,
}

/// A loop device's bytes: its backing file (from its offset, within its
/// size), taken out of the tree while the driver works on it.
pub struct LoopDisk {
    data: FileData,
    offset: u64,
    size: u64,
    ino: Ino,
}

impl Disk for LoopDisk {
    fn read(&mut self, off: u64, buf: &mut [u8]) -> sion_ext2::Result<()> {
        if off + buf.len() as u64 > self.size {
            return Err(sion_ext2::EIO);
        }
        let n = self.data.read(self.offset + off, buf);
        buf[n..].fill(0);
        Ok(())
    }
    fn write(&mut self, off: u64, data: &[u8]) -> sion_ext2::Result<()> {
        if off + data.len() as u64 > self.size {
            return Err(sion_ext2::EIO);
        }
        self.data.write(self.offset + off, data);
        Ok(())
    }
}

fn secs(ns: u64) -> u32 {
    (ns / 1_000_000_000) as u32
}

fn kind_of(n: &sion_vfs::Inode) -> u16 {
    (n.type_bits() & 0o170000) as u16
}

impl JobState {
    /// Take loop device `n`'s bytes out of the tree (`ENXIO` unbound).
    pub(crate) fn take_disk(&mut self, n: u32) -> Result<LoopDisk, Errno> {
        let d = self.loops.get(&n).ok_or(Errno::ENXIO)?;
        let ino = d.backing.ok_or(Errno::ENXIO)?;
        let (offset, limit) = (d.offset, d.sizelimit);
        let data = self.vfs.swap_data(ino, FileData::default());
        let mut size = data.len().saturating_sub(offset);
        if limit != 0 {
            size = size.min(limit);
        }
        Ok(LoopDisk { data, offset, size: size & !511, ino })
    }

    pub(crate) fn put_disk(&mut self, d: LoopDisk) {
        self.vfs.swap_data(d.ino, d.data);
    }

    /// Write what changed in ext2 file system `dev` back to its image
    /// (nothing for another file system). `EIO` when the image cannot take it.
    pub fn ext2_sync(&mut self, dev: u64) -> Result<(), Errno> {
        let Some(mut m) = self.ext2.remove(&dev) else { return Ok(()) };
        let r = if m.rw {
            match self.take_disk(m.loop_n) {
                Ok(mut disk) => {
                    let r = write_back(&self.vfs, dev, &mut m, &mut disk);
                    self.put_disk(disk);
                    r.map_err(|e| {
                        self.klog_line(self.vfs.now, &format!("EXT2-fs (loop{}): error {e} writing back", m.loop_n));
                        Errno::EIO
                    })
                }
                Err(e) => Err(e),
            }
        } else {
            Ok(())
        };
        self.ext2.insert(dev, m);
        r
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
            self.ext2_close(dev, true);
            self.vfs.free_fs(dev);
        }
    }

    /// Stop writing ext2 file system `dev` (after a write-back): its image
    /// is marked clean again. `unmount` forgets it too.
    pub fn ext2_close(&mut self, dev: u64, unmount: bool) {
        let Some(mut m) = self.ext2.remove(&dev) else { return };
        if m.rw {
            if let Ok(mut disk) = self.take_disk(m.loop_n) {
                let _ = m.fs.close(&mut disk, secs(self.vfs.now));
                self.put_disk(disk);
            }
            m.rw = false;
        }
        if !unmount {
            self.ext2.insert(dev, m);
        }
    }
}

/// The tree of `dev` onto the image.
fn write_back(vfs: &Vfs, dev: u64, m: &mut Ext2Mount, disk: &mut LoopDisk) -> sion_ext2::Result<()> {
    let now = vfs.now;
    let live: Vec<Ino> = vfs.inodes_of(dev).into_iter().filter(|&i| vfs.node(i).nlink > 0).collect();
    // What went (its last name, and it is not open or is open unlinked).
    let gone: Vec<(Ino, u32)> = m.map.iter().filter(|(i, _)| live.binary_search(i).is_err()).map(|(&i, &e)| (i, e)).collect();
    for (i, e) in gone {
        m.fs.free_inode(disk, e, secs(now))?;
        m.map.remove(&i);
    }
    let mut fresh = Vec::new();
    for &i in &live {
        if !m.map.contains_key(&i) {
            let n = vfs.node(i);
            let near = m.map.get(&n.parent).copied().unwrap_or(ROOT);
            let e = m.fs.new_inode(disk, n.is_dir(), near)?;
            m.map.insert(i, e);
            fresh.push(i);
        }
    }
    let bs = m.fs.bs as u64;
    for &i in &live {
        let n = vfs.node(i);
        let e = m.map[&i];
        let dirty = fresh.contains(&i) || n.ctime >= m.synced || n.mtime >= m.synced;
        let meta = Meta {
            mode: n.mode() as u16,
            uid: n.uid,
            gid: n.gid,
            links: n.nlink.min(u16::MAX as u32) as u16,
            atime: secs(n.atime),
            mtime: secs(n.mtime),
            ctime: secs(n.ctime),
        };
        let mut fill;
        let ents: Vec<(u32, u16, &[u8])>;
        let c = match &n.data {
            _ if !dirty => Content::Keep,
            Data::Reg(f) => {
                fill = |l: u64, buf: &mut [u8]| {
                    f.read(l * bs, buf);
                    buf.iter().any(|&b| b != 0)
                };
                Content::File(f.len(), &mut fill)
            }
            Data::Dir(entries) => {
                let up = if i == m.root { ROOT } else { m.map.get(&n.parent).copied().unwrap_or(ROOT) };
                let mut v: Vec<(u32, u16, &[u8])> = vec![(e, sion_ext2::S_IFDIR, b"."), (up, sion_ext2::S_IFDIR, b"..")];
                v.extend(entries.iter().filter_map(|(name, c)| Some((*m.map.get(c)?, kind_of(vfs.node(*c)), name.as_slice()))));
                ents = v;
                Content::Dir(&ents)
            }
            Data::Symlink(t) => Content::Symlink(t),
            Data::Chr(r) | Data::Blk(r) => Content::Dev(*r),
            Data::Fifo | Data::Sock => Content::None,
        };
        m.fs.put(disk, e, &meta, c)?;
    }
    m.fs.flush(disk, secs(now))?;
    m.synced = now;
    Ok(())
}

/// Read the image's tree into directory `root` (a new file system's root):
/// VFS inode -> image inode.
fn load(vfs: &mut Vfs, fs: &mut Fs, disk: &mut LoopDisk, root: Ino) -> sion_ext2::Result<VecMap<Ino, u32>> {
    let mut map = VecMap::new();
    let mut back: VecMap<u32, Ino> = VecMap::new();
    let r = fs.inode(disk, ROOT)?;
    if r.kind() != sion_ext2::S_IFDIR {
        return Err(sion_ext2::EUCLEAN);
    }
    let mut times = vec![(root, r.times())];
    let n = vfs.node_mut(root);
    (n.perm, n.uid, n.gid) = ((r.mode() & 0o7777) as u32, r.uid(), r.gid());
    map.insert(root, ROOT);
    back.insert(ROOT, root);
    let mut queue = vec![(root, r)];
    while let Some((dir, dn)) = queue.pop() {
        for (ce, name) in fs.dir(disk, &dn)? {
            if let Some(&v) = back.get(&ce) {
                if vfs.node(v).is_dir() {
                    return Err(sion_ext2::EUCLEAN);
                }
                vfs.add_link(dir, &name, v);
                continue;
            }
            let cn = fs.inode(disk, ce)?;
            let data = match cn.kind() {
                sion_ext2::S_IFREG => {
                    let mut v = vec![0u8; cn.size() as usize];
                    fs.read(disk, &cn, 0, &mut v)?;
                    Data::Reg(FileData::from(v))
                }
                sion_ext2::S_IFDIR => Data::Dir(BTreeMap::new()),
                sion_ext2::S_IFLNK => Data::Symlink(fs.link_target(disk, &cn)?),
                sion_ext2::S_IFCHR => Data::Chr(cn.rdev()),
                sion_ext2::S_IFBLK => Data::Blk(cn.rdev()),
                sion_ext2::S_IFIFO => Data::Fifo,
                sion_ext2::S_IFSOCK => Data::Sock,
                _ => return Err(sion_ext2::EUCLEAN),
            };
            let v = vfs.add(dir, &name, data, (cn.mode() & 0o7777) as u32, cn.uid(), cn.gid());
            map.insert(v, ce);
            back.insert(ce, v);
            times.push((v, cn.times()));
            if cn.kind() == sion_ext2::S_IFDIR {
                queue.push((v, cn));
            }
        }
    }
    for (v, (a, m, c)) in times {
        let n = vfs.node_mut(v);
        (n.atime, n.mtime, n.ctime) = (a as u64 * 1_000_000_000, m as u64 * 1_000_000_000, c as u64 * 1_000_000_000);
    }
    Ok(map)
}

impl Process {
    /// `mount(source, point, "ext2", flags)`: `mflags` are the mount's.
    pub(super) fn mount_ext2(&mut self, h: &mut dyn Host, point: Ino, fstype: &str, source: Option<String>, mut mflags: u64) -> SysResult {
        let Some(source) = source else { return Err(Errno::EINVAL) };
        let start = self.at_dir(AT_FDCWD, source.as_bytes())?;
        let devi = self.job.vfs.lookup(start, source.as_bytes(), true, &self.files.cred).ex()?;
        let Data::Blk(rdev) = self.job.vfs.node(devi).data else { return Err(Errno::ENOTBLK) };
        if self.mounted_with(devi, sion_vfs::MS_NODEV) {
            return Err(Errno::EACCES);
        }
        let n = loopdev::loop_number(rdev).ok_or(Errno::ENXIO)?;
        let lo = self.job.loops.get(&n).cloned().unwrap_or_default();
        if lo.backing.is_none() {
            return Err(Errno::ENXIO);
        }
        // One mount per device (Linux would share its superblock).
        self.job.ext2_reap();
        if self.job.ext2.values().any(|m| m.loop_n == n) {
            return Err(Errno::EBUSY);
        }
        let rw = mflags & MS_RDONLY == 0;
        if rw && lo.flags & loopdev::LO_FLAGS_READ_ONLY != 0 {
            return Err(Errno::EACCES);
        }
        let now = self.job.vfs.now;
        let mut disk = self.job.take_disk(n)?;
        let opened = Fs::open(&mut disk);
        let mut fs = match opened {
            Ok(fs) => fs,
            Err(r) => {
                self.job.put_disk(disk);
                let line = format!("EXT2-fs (loop{n}): error: {}", r.why);
                h.log(&line);
                self.job.klog_line(now, &line);
                return Err(Errno(r.errno));
            }
        };
        if rw && fs.ro_only {
            let line = format!("EXT2-fs (loop{n}): unknown read-only-compatible features 0x{:x}: mounted read-only", fs.unknown_ro_compat());
            h.log(&line);
            self.job.klog_line(now, &line);
            mflags |= MS_RDONLY;
        }
        let rw = mflags & MS_RDONLY == 0;
        let v = &mut self.job.vfs;
        let kind = sion_vfs::MountKind::Tmpfs { perm: 0o755, uid: 0, gid: 0, limit: u64::MAX };
        let id = match v.mount(point, kind, fstype, &source, mflags, "") {
            Ok(id) => id,
            Err(e) => {
                self.job.put_disk(disk);
                return Err(Errno(e.0));
            }
        };
        let root = v.mounts().iter().find(|m| m.id == id).map(|m| m.root).expect("mount");
        let dev = v.node(root).dev;
        let loaded = load(v, &mut fs, &mut disk, root);
        let started = if rw && loaded.is_ok() { fs.start_writing(&mut disk, secs(now)) } else { Ok(()) };
        self.job.put_disk(disk);
        let map = match (loaded, started) {
            (Ok(map), Ok(())) => map,
            (Err(e), _) | (_, Err(e)) => {
                let _ = self.job.vfs.umount(root, sion_vfs::MNT_DETACH);
                let line = format!("EXT2-fs (loop{n}): error {e} reading the file system");
                h.log(&line);
                self.job.klog_line(now, &line);
                return Err(Errno::EINVAL);
            }
        };
        // Files may take what the image has free.
        let v = &mut self.job.vfs;
        let st = fs.statfs();
        let limit = v.dev_used(dev) + st.bavail * st.bs as u64;
        let flags = v.mounts().iter().find(|m| m.id == id).map_or(mflags, |m| m.flags);
        v.remount(root, flags, Some(("", limit))).ex()?;
        self.job.ext2.insert(dev, Ext2Mount { fs, loop_n: n, root, map, synced: now, rw, detached: false });
        Ok(0)
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
            self.job.ext2_close(dev, false);
        } else if !ro && !m.rw {
            if m.fs.ro_only {
                return Err(Errno::EROFS);
            }
            let n = m.loop_n;
            if self.job.loops.get(&n).is_some_and(|d| d.flags & loopdev::LO_FLAGS_READ_ONLY != 0) {
                return Err(Errno::EACCES);
            }
            let mut disk = self.job.take_disk(n)?;
            let now = self.job.vfs.now;
            let m = self.job.ext2.get_mut(&dev).expect("mount");
            let r = m.fs.start_writing(&mut disk, secs(now));
            m.rw = r.is_ok();
            m.synced = now;
            self.job.put_disk(disk);
            r.map_err(|_| Errno::EIO)?;
        }
        Ok(())
    }

    /// `statfs` of ext2 file system `dev` (written back first): the image's figures.
    pub(crate) fn ext2_statfs(&mut self, dev: u64) -> Option<sion_ext2::Statfs> {
        let _ = self.job.ext2_sync(dev);
        self.job.ext2.get(&dev).map(|m| m.fs.statfs())
    }
}
