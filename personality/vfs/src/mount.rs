//! The mount table: file systems mounted over directories of the tree.
//!
//! Every file system lives in the one inode table, told apart by its `dev`.
//! A mount covers a directory (its mount point) with the root directory of
//! a file system: a new tmpfs (an empty directory of a new `dev`, freed at
//! unmount), or a directory already in the tree (a bind mount, a view of
//! /proc). Path resolution ([`Vfs::walk`]) crosses mount points both ways:
//! into the covering root, and `..` of a mount's root to the mount point's
//! parent. The file systems that exist from the start (the root, /proc,
//! /dev) are mounts "in place" (their root is their own mount point), so
//! that /proc/mounts and statfs describe them too.
//!
//! Flags are Linux's `MS_*`. `MS_RDONLY` makes every change to the tree
//! under the file system `EROFS` (kept per file system: a bind mount of a
//! read-only file system is read-only too); `MS_NOEXEC`, `MS_NODEV` and
//! `MS_NOSUID` are kept for the caller to honour ([`Vfs::mount_of`]).

use super::*;
use alloc::string::String;

pub const MS_RDONLY: u64 = 1;
pub const MS_NOSUID: u64 = 2;
pub const MS_NODEV: u64 = 4;
pub const MS_NOEXEC: u64 = 8;
pub const MS_SYNCHRONOUS: u64 = 16;
pub const MS_REMOUNT: u64 = 32;
pub const MS_MANDLOCK: u64 = 64;
pub const MS_DIRSYNC: u64 = 128;
pub const MS_NOSYMFOLLOW: u64 = 256;
pub const MS_NOATIME: u64 = 1024;
pub const MS_NODIRATIME: u64 = 2048;
pub const MS_BIND: u64 = 4096;
pub const MS_MOVE: u64 = 8192;
pub const MS_REC: u64 = 16384;
pub const MS_SILENT: u64 = 32768;
pub const MS_UNBINDABLE: u64 = 1 << 17;
pub const MS_PRIVATE: u64 = 1 << 18;
pub const MS_SLAVE: u64 = 1 << 19;
pub const MS_SHARED: u64 = 1 << 20;
pub const MS_RELATIME: u64 = 1 << 21;
pub const MS_STRICTATIME: u64 = 1 << 24;
pub const MS_LAZYTIME: u64 = 1 << 25;
/// The flags a mount keeps (what /proc/mounts and statfs show).
pub const MS_PER_MOUNT: u64 =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_NOSYMFOLLOW | MS_SYNCHRONOUS | MS_DIRSYNC;

/// umount2 flags.
pub const MNT_FORCE: u32 = 1;
pub const MNT_DETACH: u32 = 2;
pub const MNT_EXPIRE: u32 = 4;
pub const UMOUNT_NOFOLLOW: u32 = 8;
/// Not Linux's: [`Vfs::umount`] leaves the file system's inodes in place
/// (its driver writes them back, then frees them: [`Vfs::free_fs`]).
pub const UMOUNT_KEEP: u32 = 1 << 31;

/// Where new file systems' `dev` numbers start (major 0, as Linux's
/// anonymous devices).
const FIRST_DEV: u64 = 0x30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Its id (`/proc/self/mountinfo`).
    pub id: u32,
    /// The mount it is mounted in (itself for the root).
    pub parent: u32,
    /// The directory it shows at its mount point.
    pub root: Ino,
    /// The directory it covers (`root` itself for the mounts in place).
    pub point: Ino,
    /// A file system there from the start (the root, /proc, /dev): it
    /// covers nothing and is never unmounted.
    pub in_place: bool,
    /// Its file system (`st_dev` of what is under it).
    pub dev: u64,
    /// The file system's type and the source given (`/proc/mounts`).
    pub fstype: String,
    pub source: String,
    /// `MS_*` flags of [`MS_PER_MOUNT`].
    pub flags: u64,
    /// The file system's options as /proc/mounts shows them after the
    /// flags (`size=1024k,mode=755`), empty for none.
    pub options: String,
    /// A tmpfs made for this mount: freed when unmounted.
    pub owned: bool,
    /// Bytes its files may hold (tmpfs `size=`), `u64::MAX` for no limit.
    pub limit: u64,
    /// `MNT_EXPIRE` marked it; a path walk into it clears the mark (Linux's `mntput`).
    pub expiry_mark: core::cell::Cell<bool>,
}

impl Mount {
    /// The options of /proc/mounts: `rw` or `ro`, the flags, the file
    /// system's own.
    pub fn option_text(&self) -> String {
        let mut s = String::from(if self.flags & MS_RDONLY != 0 { "ro" } else { "rw" });
        for (bit, name) in [
            (MS_NOSUID, "nosuid"),
            (MS_NODEV, "nodev"),
            (MS_NOEXEC, "noexec"),
            (MS_SYNCHRONOUS, "sync"),
            (MS_DIRSYNC, "dirsync"),
            (MS_NOATIME, "noatime"),
            (MS_NODIRATIME, "nodiratime"),
            (MS_RELATIME, "relatime"),
            (MS_NOSYMFOLLOW, "nosymfollow"),
        ] {
            if self.flags & bit != 0 {
                s.push(',');
                s.push_str(name);
            }
        }
        if !self.options.is_empty() {
            s.push(',');
            s.push_str(&self.options);
        }
        s
    }
}

/// What a new mount is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// A new, empty tmpfs: its root's mode and owner, its size limit.
    Tmpfs { perm: u32, uid: u32, gid: u32, limit: u64 },
    /// A directory already in the tree (a bind mount, /proc's view).
    Existing(Ino),
}

impl Vfs {
    /// Every mount of every mount namespace.
    pub(crate) fn all_mounts(&self) -> impl Iterator<Item = &Mount> {
        self.mounts.iter().chain(self.other_mnt_ns.iter().flat_map(|(_, t)| t.iter()))
    }

    /// The name of the active mount namespace (0 until named).
    pub fn mnt_ns(&self) -> u32 {
        self.mnt_ns
    }

    /// Name the active mount namespace.
    pub fn name_mnt_ns(&mut self, id: u32) {
        self.mnt_ns = id;
    }

    /// Make mount namespace `id`'s table the one paths resolve by (false if
    /// there is no such namespace).
    pub fn enter_mnt_ns(&mut self, id: u32) -> bool {
        if id == self.mnt_ns {
            return true;
        }
        let Some(i) = self.other_mnt_ns.iter().position(|(n, _)| *n == id) else { return false };
        let (n, table) = self.other_mnt_ns.swap_remove(i);
        let old = core::mem::replace(&mut self.mounts, table);
        self.other_mnt_ns.push((self.mnt_ns, old));
        self.mnt_ns = n;
        true
    }

    /// A new mount namespace `id`: a copy of the active one's table (as
    /// Linux's copy_mnt_ns, its mounts get new ids). The active one stays.
    pub fn copy_mnt_ns(&mut self, id: u32) {
        let mut table = self.mounts.clone();
        let mut ids: Vec<(u32, u32)> = Vec::with_capacity(table.len());
        for m in table.iter_mut() {
            ids.push((m.id, self.next_mount_id));
            m.id = self.next_mount_id;
            m.expiry_mark.set(false);
            self.next_mount_id += 1;
        }
        for m in table.iter_mut() {
            if let Some(&(_, new)) = ids.iter().find(|(old, _)| *old == m.parent) {
                m.parent = new;
            }
        }
        self.other_mnt_ns.push((id, table));
    }

    /// Mount namespace `id` (not the active one) is gone: the file systems
    /// made for its mounts and mounted nowhere else go with it.
    pub fn drop_mnt_ns(&mut self, id: u32) {
        let Some(i) = self.other_mnt_ns.iter().position(|(n, _)| *n == id) else { return };
        let (_, table) = self.other_mnt_ns.swap_remove(i);
        for m in table.iter().filter(|m| m.owned) {
            if !self.all_mounts().any(|o| o.dev == m.dev) {
                self.free_dev(m.dev);
            }
        }
    }

    /// The mounts, in the order they were made.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// Record directory `dir` (already in the tree with its own `dev`) as a
    /// file system mounted in place: the root, /proc, /dev at start.
    pub fn mount_in_place(&mut self, dir: Ino, fstype: &str, source: &str, flags: u64) -> u32 {
        let id = self.next_mount_id;
        self.next_mount_id += 1;
        let parent = if dir == self.root { id } else { self.mount_of(self.node(dir).parent).map_or(id, |m| m.id) };
        let dev = self.node(dir).dev;
        let m = Mount {
            id,
            parent,
            root: dir,
            point: dir,
            in_place: true,
            dev,
            fstype: fstype.into(),
            source: source.into(),
            flags: flags & MS_PER_MOUNT,
            options: String::new(),
            owned: false,
            limit: u64::MAX,
            expiry_mark: core::cell::Cell::new(false),
        };
        self.mounts.push(m);
        id
    }

    /// The directory that shows at `ino`: the root of the last mount over
    /// it (and over that one's root...), or `ino` itself.
    pub fn cover(&self, mut ino: Ino) -> Ino {
        while let Some(m) = self.mounts.iter().rev().find(|m| m.point == ino && m.root != ino) {
            m.expiry_mark.set(false);
            ino = m.root;
        }
        ino
    }

    /// The mount whose root `dir` is, if it is the root of a file system
    /// made for a mount (a tmpfs: it has no place in the tree but the
    /// mount point). A view of a directory keeps the directory's own place:
    /// `..` and its path are those of the directory (not of the mount
    /// point, as Linux has them).
    pub(crate) fn mount_rooted(&self, dir: Ino) -> Option<&Mount> {
        self.mounts.iter().rev().find(|m| m.root == dir && m.owned)
    }

    /// Does the name `f` resolved show a mount over what the directory
    /// holds under that name (it cannot be removed or renamed: `EBUSY`)?
    pub(crate) fn covered(&self, f: &Found) -> bool {
        match f.ino {
            Some(ino) if !f.is_dot() => self.entries(f.dir).ok().and_then(|e| e.get(&f.name).copied()) != Some(ino),
            _ => false,
        }
    }

    /// `..` of directory `dir`, crossing out of mounts.
    pub(crate) fn dotdot(&self, mut dir: Ino) -> Ino {
        while dir != self.root {
            match self.mount_rooted(dir) {
                Some(m) => dir = m.point,
                None => break,
            }
        }
        if dir == self.root {
            return dir;
        }
        self.node(dir).parent
    }

    /// Is `ino` the root of a mount shown over another directory (it
    /// cannot be removed or renamed: `EBUSY`)?
    pub fn is_mount_root(&self, ino: Ino) -> bool {
        self.mount_rooted(ino).is_some()
    }

    /// The mount a directory or file `ino` is seen through: the last mount
    /// of its file system (its flags are the file system's).
    pub fn mount_of(&self, ino: Ino) -> Option<&Mount> {
        let dev = self.get(ino)?.dev;
        self.mounts.iter().rev().find(|m| m.dev == dev)
    }

    /// The mount whose root is exactly the directory `ino` (as umount and
    /// remount name it).
    pub fn mount_at(&self, ino: Ino) -> Option<&Mount> {
        self.mounts.iter().rev().find(|m| m.root == ino)
    }

    /// Is `ino` on a read-only file system?
    pub fn rofs(&self, ino: Ino) -> bool {
        match self.get(ino) {
            Some(n) => self.dev_flags(n.dev) & MS_RDONLY != 0,
            None => false,
        }
    }

    /// The flags of file system `dev` (its mounts' union).
    pub fn dev_flags(&self, dev: u64) -> u64 {
        self.mounts.iter().filter(|m| m.dev == dev).fold(0, |a, m| a | m.flags)
    }

    /// `EROFS` if `ino` is on a read-only file system.
    pub fn check_rofs(&self, ino: Ino) -> Result<()> {
        if self.rofs(ino) {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// Bytes the files of `dev` hold.
    pub fn dev_used(&self, dev: u64) -> u64 {
        self.usage.get(&dev).copied().unwrap_or(0)
    }

    /// Inodes of `dev`.
    pub fn dev_inodes(&self, dev: u64) -> u64 {
        self.nodes.values().filter(|n| n.dev == dev).count() as u64
    }

    /// Memory held by files changed from `before` to `after` bytes (chunks),
    /// their pages (what a file system's size limit counts) from
    /// `pages_before` to `pages_after` bytes.
    pub(crate) fn charge(&mut self, dev: u64, (before, pages_before): (u64, u64), (after, pages_after): (u64, u64)) {
        self.used = self.used + after - before;
        let u = self.usage.entry(dev).or_insert(0);
        *u = *u + pages_after - pages_before;
    }

    /// Would `dev` pass its size limit growing by `grow` bytes?
    pub(crate) fn over_limit(&self, dev: u64, grow: u64) -> bool {
        if grow == 0 {
            return false;
        }
        match self.mounts.iter().rev().find(|m| m.dev == dev) {
            Some(m) if m.limit != u64::MAX => self.dev_used(dev) + grow > m.limit,
            _ => false,
        }
    }

    /// Mount `kind` over directory `point` (already resolved through the
    /// mounts there: a second mount stacks on the first). Returns its id.
    pub fn mount(&mut self, point: Ino, kind: MountKind, fstype: &str, source: &str, flags: u64, options: &str) -> Result<u32> {
        if !self.node(point).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.node(point).nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let parent = self.mount_of(point).map_or(0, |m| m.id);
        let (root, dev, owned, limit) = match kind {
            MountKind::Tmpfs { perm, uid, gid, limit } => {
                let dev = self.new_dev();
                let root = self.alloc(Data::Dir(BTreeMap::new()), perm, uid, gid, dev);
                let n = self.node_mut(root);
                n.parent = root;
                n.nlink = 2;
                (root, dev, true, limit)
            }
            MountKind::Existing(dir) => {
                if !self.node(dir).is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                (dir, self.node(dir).dev, false, u64::MAX)
            }
        };
        let id = self.next_mount_id;
        self.next_mount_id += 1;
        self.mounts.push(Mount {
            id,
            parent,
            root,
            point,
            in_place: false,
            dev,
            fstype: fstype.into(),
            source: source.into(),
            flags: flags & MS_PER_MOUNT,
            options: options.into(),
            owned,
            limit,
            expiry_mark: core::cell::Cell::new(false),
        });
        Ok(id)
    }

    fn new_dev(&self) -> u64 {
        let mut d = FIRST_DEV;
        while self.mounts.iter().any(|m| m.dev == d) || self.nodes.values().any(|n| n.dev == d) {
            d += 1;
        }
        d
    }

    /// Change the flags (and options, limit) of the mount rooted at `root`
    /// (`MS_REMOUNT`): `EINVAL` if `root` is no mount's root.
    pub fn remount(&mut self, root: Ino, flags: u64, options: Option<(&str, u64)>) -> Result<()> {
        let i = self.mounts.iter().rposition(|m| m.root == root).ok_or(Errno::EINVAL)?;
        let dev = self.mounts[i].dev;
        if let Some((_, limit)) = options {
            if limit != u64::MAX && self.dev_used(dev) > limit {
                return Err(Errno::EINVAL);
            }
        }
        let m = &mut self.mounts[i];
        m.flags = flags & MS_PER_MOUNT;
        if let Some((opts, limit)) = options {
            m.options = opts.into();
            m.limit = limit;
        }
        m.expiry_mark.set(false);
        // Read-only is the file system's: every mount of it follows.
        let ro = flags & MS_RDONLY;
        for m in self.mounts.iter_mut().filter(|m| m.dev == dev) {
            m.flags = (m.flags & !MS_RDONLY) | ro;
        }
        Ok(())
    }

    /// Is anything of the mount rooted at `root` in use: an open file or a
    /// working directory under it (they hold `opens`), or a mount on a
    /// directory of it?
    fn mount_busy(&self, i: usize) -> bool {
        let m = &self.mounts[i];
        let others = self.mounts.iter().enumerate().any(|(j, o)| j != i && o.parent == m.id && !o.in_place);
        if others {
            return true;
        }
        if !m.owned {
            // A view of a directory: what is open there is open through
            // the directory's own file system as well, and the tree cannot
            // tell which; only mounts on it keep it.
            return false;
        }
        self.nodes.values().any(|n| n.dev == m.dev && n.opens > 0)
    }

    /// `umount2` of the mount rooted at `root` (the caller resolved the
    /// target and checked the flags): `EINVAL` for a directory that is no
    /// mount's root, `EBUSY` while in use (unless `MNT_DETACH`: it goes from
    /// the tree at once and its files live while open), `EAGAIN` for the
    /// first `MNT_EXPIRE`.
    pub fn umount(&mut self, root: Ino, flags: u32) -> Result<()> {
        let i = self.mounts.iter().rposition(|m| m.root == root && !m.in_place).ok_or_else(|| {
            // The file systems in place (/, /proc, /dev) stay.
            if self.mounts.iter().any(|m| m.root == root) {
                Errno::EBUSY
            } else {
                Errno::EINVAL
            }
        })?;
        // A mount covered by another is busy.
        if self.mounts.iter().any(|m| m.point == root && m.root != root) {
            return Err(Errno::EBUSY);
        }
        let busy = self.mount_busy(i);
        if flags & MNT_EXPIRE != 0 {
            if busy {
                return Err(Errno::EBUSY);
            }
            if !self.mounts[i].expiry_mark.replace(true) {
                return Err(Errno::EAGAIN);
            }
        }
        if busy && flags & MNT_DETACH == 0 {
            return Err(Errno::EBUSY);
        }
        let m = self.mounts.remove(i);
        if m.owned {
            // Mounts under it go with it (MNT_DETACH).
            let subs: Vec<Ino> = self.mounts.iter().filter(|o| o.parent == m.id && !o.in_place).map(|o| o.root).collect();
            for s in subs {
                let _ = self.umount(s, MNT_DETACH);
            }
            // Another mount namespace's copy keeps the file system.
            if !self.all_mounts().any(|o| o.dev == m.dev) {
                // Watches of its inodes hear IN_UNMOUNT (and go).
                for ino in self.inodes_of(m.dev) {
                    self.self_event(ino, IN_UNMOUNT);
                }
                if flags & UMOUNT_KEEP == 0 {
                    self.free_dev(m.dev);
                }
            }
        }
        Ok(())
    }

    /// Free the inodes of file system `dev` left by `UMOUNT_KEEP` (those
    /// open live until closed).
    pub fn free_fs(&mut self, dev: u64) {
        self.free_dev(dev);
    }

    /// `MS_MOVE`: the mount rooted at `root` moves over directory `point`
    /// (`EINVAL` if `root` is no mount's root or `point` is under it).
    pub fn move_mount(&mut self, root: Ino, point: Ino) -> Result<()> {
        let i = self.mounts.iter().rposition(|m| m.root == root && !m.in_place).ok_or(Errno::EINVAL)?;
        if !self.node(point).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        // Not into itself.
        let mut d = point;
        loop {
            if d == root {
                return Err(Errno::ELOOP);
            }
            let up = self.dotdot(d);
            if up == d {
                break;
            }
            d = up;
        }
        let parent = self.mount_of(point).map_or(0, |m| m.id);
        let m = &mut self.mounts[i];
        m.point = point;
        m.parent = parent;
        Ok(())
    }

    /// The inodes of file system `dev`.
    pub fn inodes_of(&self, dev: u64) -> Vec<Ino> {
        self.nodes.iter().filter(|(_, n)| n.dev == dev).map(|(&i, _)| i).collect()
    }

    /// One more name `name` in directory `dir` for the inode `ino`, with no
    /// checks (a file system's hard links as its driver loads them).
    pub fn add_link(&mut self, dir: Ino, name: &[u8], ino: Ino) {
        self.insert_entry(dir, name, ino);
    }

    /// Put `f` in place of the bytes of regular file `ino` (its memory
    /// counted anew) and return what it held: a driver takes a device's
    /// backing file out of the tree while it works on it.
    pub fn swap_data(&mut self, ino: Ino, f: FileData) -> FileData {
        let n = self.node_mut(ino);
        let dev = n.dev;
        let Data::Reg(old) = &mut n.data else { return f };
        let before = (old.allocated(), footprint(old));
        let after = (f.allocated(), footprint(&f));
        let old = core::mem::replace(old, f);
        self.charge(dev, before, after);
        old
    }

    /// Free every inode of `dev` not open (an unmounted tmpfs); those open
    /// live until closed.
    fn free_dev(&mut self, dev: u64) {
        let dead: Vec<Ino> = self.nodes.iter().filter(|(_, n)| n.dev == dev).map(|(&i, _)| i).collect();
        for ino in dead {
            let n = self.node_mut(ino);
            if n.is_dir() {
                if let Data::Dir(e) = &mut n.data {
                    e.clear();
                }
            }
            n.nlink = 0;
            self.maybe_free(ino);
        }
    }
}

/// The options of a tmpfs mount (`size=`, `nr_inodes=`, `mode=`, `uid=`,
/// `gid=`, comma-separated; the owner defaults to `uid`, `gid`): (root mode, uid, gid, size limit in bytes or
/// `u64::MAX`, the options as /proc/mounts shows them). `memory` is what a
/// `size=N%` is a percentage of. `EINVAL` for anything else, as Linux's
/// "tmpfs: Unknown parameter".
pub fn tmpfs_options(data: &[u8], memory: u64, uid: u32, gid: u32) -> Result<(u32, u32, u32, u64, String)> {
    let (mut perm, mut uid, mut gid, mut limit) = (0o1777u32, uid, gid, u64::MAX);
    let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    for opt in text.split(',').filter(|o| !o.is_empty()) {
        let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
        match k {
            "size" => {
                let (num, unit) = v.find(|c: char| !c.is_ascii_digit()).map_or((v, ""), |i| v.split_at(i));
                let n: u64 = num.parse().map_err(|_| Errno::EINVAL)?;
                let bytes = match unit.to_ascii_lowercase().as_str() {
                    "" => n,
                    "k" => n << 10,
                    "m" => n << 20,
                    "g" => n << 30,
                    "t" => n << 40,
                    "%" => memory / 100 * n,
                    _ => return Err(Errno::EINVAL),
                };
                // Whole pages, as Linux counts it; 0 means no limit.
                limit = if bytes == 0 { u64::MAX } else { bytes.div_ceil(4096) * 4096 };
            }
            "nr_inodes" | "huge" | "mpol" | "inode64" | "inode32" | "noswap" => {}
            "mode" => perm = u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)? & 0o7777,
            "uid" => uid = v.parse().map_err(|_| Errno::EINVAL)?,
            "gid" => gid = v.parse().map_err(|_| Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        }
    }
    let mut shown = String::new();
    let mut add = |s: String| {
        if !shown.is_empty() {
            shown.push(',');
        }
        shown.push_str(&s);
    };
    if limit != u64::MAX {
        add(alloc::format!("size={}k", limit >> 10));
    }
    if perm != 0o1777 {
        add(alloc::format!("mode={perm:o}"));
    }
    if uid != 0 {
        add(alloc::format!("uid={uid}"));
    }
    if gid != 0 {
        add(alloc::format!("gid={gid}"));
    }
    Ok((perm, uid, gid, limit, shown))
}
