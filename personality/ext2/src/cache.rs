//! An ext2 image mounted in the personality's tree (`sion-vfs`): the VFS is
//! its cache, as Linux's page and inode caches are. [`mount`] reads the
//! image's tree into a new file system of the VFS; [`Mounted::sync`] writes
//! what changed back to the image (a loop device's backing file, taken out
//! of the tree while the driver works on it). Inodes keep their numbers on
//! the image; new ones get free numbers near their directory, and those
//! whose last name went (and are not open) are freed with their blocks.

use super::*;
use alloc::collections::BTreeMap;
use sion_vecmap::VecMap;
use sion_vfs::{Data, FileData, Ino, MountKind, Vfs, MS_RDONLY};

/// Where the image is: a regular file of the tree, from `offset`, at most
/// `limit` bytes (0: to its end).
#[derive(Clone, Copy, Debug)]
pub struct Backing {
    pub ino: Ino,
    pub offset: u64,
    pub limit: u64,
}

/// The image's bytes while the driver works on them.
struct Image {
    data: FileData,
    b: Backing,
    size: u64,
}

impl Disk for Image {
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        if off + buf.len() as u64 > self.size {
            return Err(EIO);
        }
        let n = self.data.read(self.b.offset + off, buf);
        buf[n..].fill(0);
        Ok(())
    }
    fn write(&mut self, off: u64, data: &[u8]) -> Result<()> {
        if off + data.len() as u64 > self.size {
            return Err(EIO);
        }
        self.data.write(self.b.offset + off, data);
        Ok(())
    }
}

impl Image {
    fn take(vfs: &mut Vfs, b: Backing) -> Image {
        let data = vfs.swap_data(b.ino, FileData::default());
        let mut size = data.len().saturating_sub(b.offset);
        if b.limit != 0 {
            size = size.min(b.limit);
        }
        Image { data, b, size: size & !511 }
    }
    fn put(self, vfs: &mut Vfs) {
        vfs.swap_data(self.b.ino, self.data);
    }
}

/// A mounted ext2 file system.
pub struct Mounted {
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

fn secs(ns: u64) -> u32 {
    (ns / 1_000_000_000) as u32
}

/// Mount the image at `b` (on loop device `loop_n`) over directory
/// `point`: the mount's id and the file system, and a line for the log
/// when it went read-only; else the errno and the reason.
#[allow(clippy::too_many_arguments)]
pub fn mount(
    vfs: &mut Vfs,
    b: Backing,
    loop_n: u32,
    point: Ino,
    fstype: &str,
    source: &str,
    mut flags: u64,
) -> core::result::Result<(Mounted, Option<String>), (i32, String)> {
    let now = vfs.now;
    let mut img = Image::take(vfs, b);
    let r = (|| {
        let mut fs = Fs::open(&mut img).map_err(|r| (r.errno, r.why))?;
        let mut note = None;
        if flags & MS_RDONLY == 0 && fs.ro_only {
            note = Some(format!("unknown read-only-compatible features 0x{:x}: mounted read-only", fs.unknown_ro_compat()));
            flags |= MS_RDONLY;
        }
        let kind = MountKind::Tmpfs { perm: 0o755, uid: 0, gid: 0, limit: u64::MAX };
        let id = vfs.mount(point, kind, fstype, source, flags, "").map_err(|e| (e.0, String::new()))?;
        let m = vfs.mounts().iter().find(|m| m.id == id).expect("mount");
        let (root, flags) = (m.root, m.flags);
        let rw = flags & MS_RDONLY == 0;
        let loaded = load(vfs, &mut fs, &mut img, root);
        let r = loaded.and_then(|map| if rw { fs.start_writing(&mut img, secs(now)).map(|_| map) } else { Ok(map) });
        let map = match r {
            Ok(map) => map,
            Err(e) => {
                let _ = vfs.umount(root, sion_vfs::MNT_DETACH);
                return Err((EINVAL, format!("error {e} reading the file system")));
            }
        };
        // Files may take what the image has free.
        let st = fs.statfs();
        let limit = vfs.dev_used(vfs.node(root).dev) + st.bavail * st.bs as u64;
        let _ = vfs.remount(root, flags, Some(("", limit)));
        Ok((Mounted { fs, loop_n, root, map, synced: now, rw, detached: false }, note))
    })();
    img.put(vfs);
    r
}

impl Mounted {
    /// Write what changed in the file system (its `dev`) back to the image.
    pub fn sync(&mut self, vfs: &mut Vfs, dev: u64, b: Backing) -> Result<()> {
        if !self.rw {
            return Ok(());
        }
        let mut img = Image::take(vfs, b);
        let r = self.write_back(vfs, dev, &mut img);
        img.put(vfs);
        r
    }

    /// Start (`rw`) or stop writing the image: stopping marks it clean
    /// again (after a [`Mounted::sync`]).
    pub fn set_rw(&mut self, vfs: &mut Vfs, b: Backing, rw: bool) -> Result<()> {
        if rw == self.rw {
            return Ok(());
        }
        let mut img = Image::take(vfs, b);
        let now = secs(vfs.now);
        let r = if rw { self.fs.start_writing(&mut img, now) } else { self.fs.close(&mut img, now) };
        img.put(vfs);
        if r.is_ok() {
            self.rw = rw;
            self.synced = vfs.now;
        }
        r
    }

    fn write_back(&mut self, vfs: &Vfs, dev: u64, disk: &mut Image) -> Result<()> {
        let now = vfs.now;
        let live: Vec<Ino> = vfs.inodes_of(dev).into_iter().filter(|&i| vfs.node(i).nlink > 0).collect();
        // What went (its last name, and it is not open or is open unlinked).
        let gone: Vec<(Ino, u32)> = self.map.iter().filter(|(i, _)| live.binary_search(i).is_err()).map(|(&i, &e)| (i, e)).collect();
        for (i, e) in gone {
            self.fs.free_inode(disk, e, secs(now))?;
            self.map.remove(&i);
        }
        let mut fresh = Vec::new();
        for &i in &live {
            if !self.map.contains_key(&i) {
                let n = vfs.node(i);
                let near = self.map.get(&n.parent).copied().unwrap_or(ROOT);
                let e = self.fs.new_inode(disk, n.is_dir(), near)?;
                self.map.insert(i, e);
                fresh.push(i);
            }
        }
        let bs = self.fs.bs as u64;
        for &i in &live {
            let n = vfs.node(i);
            let e = self.map[&i];
            let dirty = fresh.contains(&i) || n.ctime >= self.synced || n.mtime >= self.synced;
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
                    let up = if i == self.root { ROOT } else { self.map.get(&n.parent).copied().unwrap_or(ROOT) };
                    let mut v: Vec<(u32, u16, &[u8])> = vec![(e, S_IFDIR, b"."), (up, S_IFDIR, b"..")];
                    v.extend(entries.iter().filter_map(|(name, c)| Some((*self.map.get(c)?, (vfs.node(*c).type_bits() & 0o170000) as u16, name.as_slice()))));
                    ents = v;
                    Content::Dir(&ents)
                }
                Data::Symlink(t) => Content::Symlink(t),
                Data::Chr(r) | Data::Blk(r) => Content::Dev(*r),
                Data::Fifo | Data::Sock => Content::None,
            };
            self.fs.put(disk, e, &meta, c)?;
        }
        self.fs.flush(disk, secs(now))?;
        self.synced = now;
        Ok(())
    }
}

/// Read the image's tree into directory `root` (a new file system's root):
/// VFS inode -> image inode.
fn load(vfs: &mut Vfs, fs: &mut Fs, disk: &mut Image, root: Ino) -> Result<VecMap<Ino, u32>> {
    let mut map = VecMap::new();
    let mut back: VecMap<u32, Ino> = VecMap::new();
    let r = fs.inode(disk, ROOT)?;
    if r.kind() != S_IFDIR {
        return Err(EUCLEAN);
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
                    return Err(EUCLEAN);
                }
                vfs.add_link(dir, &name, v);
                continue;
            }
            let cn = fs.inode(disk, ce)?;
            let data = match cn.kind() {
                S_IFREG => {
                    let mut v = vec![0u8; cn.size() as usize];
                    fs.read(disk, &cn, 0, &mut v)?;
                    Data::Reg(FileData::from(v))
                }
                S_IFDIR => Data::Dir(BTreeMap::new()),
                S_IFLNK => Data::Symlink(fs.link_target(disk, &cn)?),
                S_IFCHR => Data::Chr(cn.rdev()),
                S_IFBLK => Data::Blk(cn.rdev()),
                S_IFIFO => Data::Fifo,
                S_IFSOCK => Data::Sock,
                _ => return Err(EUCLEAN),
            };
            let v = vfs.add(dir, &name, data, (cn.mode() & 0o7777) as u32, cn.uid(), cn.gid());
            map.insert(v, ce);
            back.insert(ce, v);
            times.push((v, cn.times()));
            if cn.kind() == S_IFDIR {
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
