//! What inotify watches see: the events of the operations on the tree, for
//! the inodes someone watches ([`Vfs::watched`], set by the personality's
//! inotify instances; nothing is recorded while it is empty). Each event
//! names the watched inode it is for: the inode itself (no name), or a
//! watched directory holding it (with its name there), as Linux's fsnotify
//! reports to the inode and to its parent.

use super::*;

pub const IN_ACCESS: u32 = 0x1;
pub const IN_MODIFY: u32 = 0x2;
pub const IN_ATTRIB: u32 = 0x4;
pub const IN_CLOSE_WRITE: u32 = 0x8;
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
pub const IN_OPEN: u32 = 0x20;
pub const IN_MOVED_FROM: u32 = 0x40;
pub const IN_MOVED_TO: u32 = 0x80;
pub const IN_CREATE: u32 = 0x100;
pub const IN_DELETE: u32 = 0x200;
pub const IN_DELETE_SELF: u32 = 0x400;
pub const IN_MOVE_SELF: u32 = 0x800;
/// The file system under a watched inode was unmounted (the watch goes).
pub const IN_UNMOUNT: u32 = 0x2000;
pub const IN_ISDIR: u32 = 0x4000_0000;

/// One event for the watches of `ino`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsEvent {
    pub ino: Ino,
    pub mask: u32,
    pub cookie: u32,
    pub name: Vec<u8>,
    /// For a directory's watch about a file whose name there went while it
    /// stayed open (what IN_EXCL_UNLINK leaves out).
    pub unlinked: bool,
}

impl Vfs {
    pub(crate) fn isdir(&self, ino: Ino) -> u32 {
        if self.get(ino).is_some_and(|n| n.is_dir()) {
            IN_ISDIR
        } else {
            0
        }
    }

    /// An event of `ino` for its own watches only (IN_DELETE_SELF,
    /// IN_MOVE_SELF, the link count's IN_ATTRIB).
    pub fn self_event(&mut self, ino: Ino, mask: u32) {
        if self.watched.contains(&ino) {
            // Linux says IN_ISDIR of a directory's events but its own going or moving.
            let mask = if mask & (IN_DELETE_SELF | IN_MOVE_SELF) != 0 { mask } else { mask | self.isdir(ino) };
            self.events.push(FsEvent { ino, mask, cookie: 0, name: Vec::new(), unlinked: false });
        }
    }

    /// An event of `ino` (opened, read, written, closed, its attributes)
    /// for its own watches and those of the watched directories holding it.
    pub fn event(&mut self, ino: Ino, mask: u32) {
        if self.watched.is_empty() {
            return;
        }
        let own = mask;
        let mask = mask | self.isdir(ino);
        let dirs: Vec<Ino> = self.watched.iter().copied().filter(|&d| d != ino).collect();
        for d in dirs {
            let names: Vec<Vec<u8>> = match self.get(d).map(|n| &n.data) {
                Some(Data::Dir(e)) => e.iter().filter(|(_, &i)| i == ino).map(|(n, _)| n.clone()).collect(),
                _ => continue,
            };
            for name in names {
                self.events.push(FsEvent { ino: d, mask, cookie: 0, name, unlinked: false });
            }
        }
        // An open file unlinked from a watched directory is still its child
        // there (Linux's dentry keeps its parent and name).
        let gone: Vec<(Ino, Vec<u8>)> = self.orphans.iter().filter(|o| o.0 == ino && self.watched.contains(&o.1)).map(|o| (o.1, o.2.clone())).collect();
        for (d, name) in gone {
            self.events.push(FsEvent { ino: d, mask, cookie: 0, name, unlinked: true });
        }
        // The parent's watches hear first, as Linux's fsnotify_handle_event.
        self.self_event(ino, own);
    }

    /// An event of directory `dir` about its entry `name` (`mask` has
    /// IN_ISDIR when that is a directory).
    pub(crate) fn dir_event(&mut self, dir: Ino, mask: u32, name: &[u8], cookie: u32) {
        if self.watched.contains(&dir) {
            self.events.push(FsEvent { ino: dir, mask, cookie, name: name.to_vec(), unlinked: false });
        }
    }

    /// A cookie tying a rename's IN_MOVED_FROM to its IN_MOVED_TO.
    pub(crate) fn next_cookie(&mut self) -> u32 {
        self.cookie = self.cookie.wrapping_add(1).max(1);
        self.cookie
    }
}
