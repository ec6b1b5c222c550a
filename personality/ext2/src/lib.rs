//! The ext2 file system (revision 0 and 1) as Linux's ext2 driver keeps it:
//! the superblock and group descriptors, block and inode bitmaps, inodes
//! with direct, indirect, double and triple indirect blocks, linear
//! directories (with file types; a `dir_index` hash tree is ignored and a
//! directory rewritten here loses its index flag, as the hashes would be
//! stale), fast and slow symbolic links, device inodes, `sparse_super` and
//! `large_file`.
//!
//! The driver works on a [`Disk`] (bytes at offsets) and keeps only the
//! superblock's and group descriptors' figures in memory; every inode,
//! bitmap and directory block is read from and written to the disk as it
//! is needed. [`Fs::open`] refuses an image with an incompatible feature
//! it does not implement (with the reason, naming the flag), and opens one
//! with an unknown read-only-compatible feature read-only, as Linux does.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Linux errnos the driver answers.
pub const EIO: i32 = 5;
pub const EINVAL: i32 = 22;
pub const EFBIG: i32 = 27;
pub const ENOSPC: i32 = 28;
pub const EROFS: i32 = 30;
/// Linux's `EFSCORRUPTED` (`EUCLEAN`): the image contradicts itself.
pub const EUCLEAN: i32 = 117;

pub type Result<T> = core::result::Result<T, i32>;

/// `statfs`'s `f_type`.
pub const EXT2_SUPER_MAGIC: u16 = 0xef53;
/// The root directory's inode.
pub const ROOT: u32 = 2;

const COMPAT_HAS_JOURNAL: u32 = 4;
const INCOMPAT_FILETYPE: u32 = 2;
const INCOMPAT_RECOVER: u32 = 4;
const RO_COMPAT_SPARSE_SUPER: u32 = 1;
const RO_COMPAT_LARGE_FILE: u32 = 2;
const RO_COMPAT_BTREE_DIR: u32 = 4;
const RO_COMPAT_SUPP: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;
const STATE_VALID: u16 = 1;
const INDEX_FL: u32 = 0x1000;

/// Mode bits of the inode types.
pub const S_IFMT: u16 = 0o170000;
pub const S_IFSOCK: u16 = 0o140000;
pub const S_IFLNK: u16 = 0o120000;
pub const S_IFREG: u16 = 0o100000;
pub const S_IFBLK: u16 = 0o060000;
pub const S_IFDIR: u16 = 0o040000;
pub const S_IFCHR: u16 = 0o020000;
pub const S_IFIFO: u16 = 0o010000;

/// What the file system lives on: bytes at offsets (a loop device's file).
pub trait Disk {
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()>;
    fn write(&mut self, off: u64, data: &[u8]) -> Result<()>;
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A group descriptor's figures.
#[derive(Clone, Copy, Debug, Default)]
struct Group {
    block_bitmap: u32,
    inode_bitmap: u32,
    inode_table: u32,
    free_blocks: u16,
    free_inodes: u16,
    dirs: u16,
}

/// Why an image cannot be mounted: the errno and a line for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub errno: i32,
    pub why: String,
}

fn refuse(errno: i32, why: String) -> Refusal {
    Refusal { errno, why }
}

/// An open file system.
#[derive(Clone, Debug)]
pub struct Fs {
    /// The superblock's 1,024 bytes (written back with new counts).
    sb: Vec<u8>,
    groups: Vec<Group>,
    /// Block size in bytes.
    pub bs: u32,
    ipg: u32,
    bpg: u32,
    first_data: u32,
    blocks: u32,
    inodes: u32,
    isize: u32,
    first_ino: u32,
    filetype: bool,
    /// Unknown read-only-compatible features: writing is refused.
    pub ro_only: bool,
    /// Open for writing (mounted read-write): the superblock says so.
    rw: bool,
    /// The state the superblock had when opened (clean or not).
    state: u16,
    /// Where the next block search starts: after the last block allocated.
    hint: u32,
}

/// An inode's bytes (the first 128 or the whole on-disk inode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    pub raw: Vec<u8>,
}

impl Inode {
    pub fn mode(&self) -> u16 {
        le16(&self.raw, 0)
    }
    pub fn kind(&self) -> u16 {
        self.mode() & S_IFMT
    }
    pub fn uid(&self) -> u32 {
        le16(&self.raw, 2) as u32 | (le16(&self.raw, 120) as u32) << 16
    }
    pub fn gid(&self) -> u32 {
        le16(&self.raw, 24) as u32 | (le16(&self.raw, 122) as u32) << 16
    }
    pub fn size(&self) -> u64 {
        let hi = if self.kind() == S_IFREG { le32(&self.raw, 108) as u64 } else { 0 };
        le32(&self.raw, 4) as u64 | hi << 32
    }
    fn set_size(&mut self, s: u64) {
        put32(&mut self.raw, 4, s as u32);
        put32(&mut self.raw, 108, (s >> 32) as u32);
    }
    /// (atime, mtime, ctime) in seconds.
    pub fn times(&self) -> (u32, u32, u32) {
        (le32(&self.raw, 8), le32(&self.raw, 16), le32(&self.raw, 12))
    }
    pub fn links(&self) -> u16 {
        le16(&self.raw, 26)
    }
    /// 512-byte sectors held (data, indirect and extended-attribute blocks).
    pub fn sectors(&self) -> u32 {
        le32(&self.raw, 28)
    }
    fn add_sectors(&mut self, n: i64) {
        let v = (self.sectors() as i64 + n) as u32;
        put32(&mut self.raw, 28, v);
    }
    pub fn flags(&self) -> u32 {
        le32(&self.raw, 32)
    }
    fn block(&self, i: usize) -> u32 {
        le32(&self.raw, 40 + 4 * i)
    }
    fn set_block(&mut self, i: usize, v: u32) {
        put32(&mut self.raw, 40 + 4 * i, v)
    }
    fn file_acl(&self) -> u32 {
        le32(&self.raw, 104)
    }
    /// A device inode's number (`makedev`'s encoding): the old 16-bit form
    /// in the first block slot, else the new one in the second.
    pub fn rdev(&self) -> u64 {
        match self.block(0) {
            0 => self.block(1) as u64,
            old => old as u64,
        }
    }
}

/// The metadata [`Fs::put`] writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Type and permission bits.
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub links: u16,
    pub atime: u32,
    pub mtime: u32,
    pub ctime: u32,
}

/// What [`Fs::put`] writes as an inode's contents.
pub enum Content<'a> {
    /// Leave the blocks as they are.
    Keep,
    /// A regular file of this size; `fill(block, buf)` puts the bytes of a
    /// block into `buf` and says whether any is not zero (else a hole).
    File(u64, &'a mut dyn FnMut(u64, &mut [u8]) -> bool),
    /// A directory's entries (inode, `S_IF*` type, name), `.` and `..` first.
    Dir(&'a [(u32, u16, &'a [u8])]),
    Symlink(&'a [u8]),
    /// A device's number.
    Dev(u64),
    /// No contents (FIFO, socket).
    None,
}

/// `statfs` figures (in blocks of `bs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statfs {
    pub bs: u32,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
}

/// ext2's directory-entry file type of an `S_IF*` type.
fn ftype(kind: u16) -> u8 {
    match kind {
        S_IFREG => 1,
        S_IFDIR => 2,
        S_IFCHR => 3,
        S_IFBLK => 4,
        S_IFIFO => 5,
        S_IFSOCK => 6,
        S_IFLNK => 7,
        _ => 0,
    }
}

/// Does group `g` hold a superblock backup (`sparse_super`: 0, 1 and the
/// powers of 3, 5 and 7)?
fn has_super(g: u32, sparse: bool) -> bool {
    if !sparse || g <= 1 {
        return true;
    }
    [3u32, 5, 7].iter().any(|&p| {
        let mut n = p;
        while n < g {
            n *= p;
        }
        n == g
    })
}

impl Fs {
    /// Read the superblock and the group descriptors; `Refusal` for what is
    /// not ext2 or asks for a feature this driver lacks (`EINVAL`, as
    /// Linux's "couldn't mount because of unsupported optional features").
    pub fn open(d: &mut dyn Disk) -> core::result::Result<Fs, Refusal> {
        let mut sb = vec![0u8; 1024];
        d.read(1024, &mut sb).map_err(|e| refuse(e, String::from("cannot read the superblock")))?;
        if le16(&sb, 56) != EXT2_SUPER_MAGIC {
            return Err(refuse(EINVAL, String::from("no ext2 superblock (magic 0xef53) at byte 1024")));
        }
        let rev = le32(&sb, 76);
        let (compat, incompat, ro_compat) = if rev >= 1 { (le32(&sb, 92), le32(&sb, 96), le32(&sb, 100)) } else { (0, 0, 0) };
        if incompat & INCOMPAT_RECOVER != 0 {
            return Err(refuse(EINVAL, String::from("the journal needs recovery (INCOMPAT_RECOVER 0x4): this driver keeps no journal")));
        }
        let unknown = incompat & !INCOMPAT_FILETYPE;
        if unknown != 0 {
            return Err(refuse(EINVAL, format!("unsupported incompatible features 0x{unknown:x} (only filetype 0x2)")));
        }
        let _ = compat & COMPAT_HAS_JOURNAL;
        let log = le32(&sb, 24);
        if log > 2 {
            return Err(refuse(EINVAL, format!("block size {} is not 1, 2 or 4 KiB", 1024u64 << log.min(20))));
        }
        let bs = 1024u32 << log;
        let (blocks, inodes, first_data, bpg, ipg) = (le32(&sb, 4), le32(&sb, 0), le32(&sb, 20), le32(&sb, 32), le32(&sb, 40));
        let (isize, first_ino) = if rev >= 1 { (le16(&sb, 88) as u32, le32(&sb, 84)) } else { (128, 11) };
        if bpg == 0 || ipg == 0 || bpg > bs * 8 || ipg > bs * 8 || !(128..=bs).contains(&isize) || !isize.is_power_of_two() || blocks <= first_data {
            return Err(refuse(EINVAL, String::from("corrupt superblock (group or inode geometry)")));
        }
        let ngroups = (blocks - first_data).div_ceil(bpg);
        let mut gdt = vec![0u8; (ngroups as usize * 32).div_ceil(bs as usize) * bs as usize];
        d.read((first_data as u64 + 1) * bs as u64, &mut gdt).map_err(|e| refuse(e, String::from("cannot read the group descriptors")))?;
        let groups = (0..ngroups as usize)
            .map(|g| {
                let b = &gdt[g * 32..g * 32 + 32];
                Group {
                    block_bitmap: le32(b, 0),
                    inode_bitmap: le32(b, 4),
                    inode_table: le32(b, 8),
                    free_blocks: le16(b, 12),
                    free_inodes: le16(b, 14),
                    dirs: le16(b, 16),
                }
            })
            .collect::<Vec<_>>();
        if groups.iter().any(|g| [g.block_bitmap, g.inode_bitmap, g.inode_table].iter().any(|&b| b < first_data || b >= blocks)) {
            return Err(refuse(EINVAL, String::from("corrupt group descriptors (bitmap or inode table outside the file system)")));
        }
        let state = le16(&sb, 58);
        let ro_only = ro_compat & !RO_COMPAT_SUPP != 0;
        Ok(Fs {
            sb,
            groups,
            bs,
            ipg,
            bpg,
            first_data,
            blocks,
            inodes,
            isize,
            first_ino,
            filetype: incompat & INCOMPAT_FILETYPE != 0,
            ro_only,
            rw: false,
            state,
            hint: 0,
        })
    }

    /// The read-only-compatible features this driver does not know (it
    /// opens the image read-only).
    pub fn unknown_ro_compat(&self) -> u32 {
        le32(&self.sb, 100) & !RO_COMPAT_SUPP
    }

    /// Start writing (a read-write mount at `now`): the mount count goes
    /// up and the file system is marked not clean until [`Fs::close`].
    pub fn start_writing(&mut self, d: &mut dyn Disk, now: u32) -> Result<()> {
        if self.ro_only {
            return Err(EROFS);
        }
        self.rw = true;
        put32(&mut self.sb, 44, now);
        let count = le16(&self.sb, 52).wrapping_add(1);
        put16(&mut self.sb, 52, count);
        put16(&mut self.sb, 58, self.state & !STATE_VALID);
        self.flush(d, now)
    }

    /// Stop writing (unmount, or remount read-only): the state the file
    /// system had when opened comes back (clean if it was).
    pub fn close(&mut self, d: &mut dyn Disk, now: u32) -> Result<()> {
        if !self.rw {
            return Ok(());
        }
        put16(&mut self.sb, 58, self.state);
        self.flush(d, now)?;
        self.rw = false;
        Ok(())
    }

    fn ngroups(&self) -> u32 {
        self.groups.len() as u32
    }

    fn bread(&self, d: &mut dyn Disk, b: u32) -> Result<Vec<u8>> {
        if b == 0 || b >= self.blocks {
            return Err(EUCLEAN);
        }
        let mut v = vec![0u8; self.bs as usize];
        d.read(b as u64 * self.bs as u64, &mut v)?;
        Ok(v)
    }

    fn bwrite(&self, d: &mut dyn Disk, b: u32, data: &[u8]) -> Result<()> {
        if b == 0 || b >= self.blocks {
            return Err(EUCLEAN);
        }
        d.write(b as u64 * self.bs as u64, data)
    }

    /// Write the superblock (with the groups' free counts) and the group
    /// descriptors of the primary copy, as Linux's ext2 does.
    pub fn flush(&mut self, d: &mut dyn Disk, now: u32) -> Result<()> {
        let fb: u32 = self.groups.iter().map(|g| g.free_blocks as u32).sum();
        let fi: u32 = self.groups.iter().map(|g| g.free_inodes as u32).sum();
        put32(&mut self.sb, 12, fb);
        put32(&mut self.sb, 16, fi);
        put32(&mut self.sb, 48, now);
        let mut gdt = vec![0u8; (self.groups.len() * 32).div_ceil(self.bs as usize) * self.bs as usize];
        let at = (self.first_data as u64 + 1) * self.bs as u64;
        d.read(at, &mut gdt)?;
        for (i, g) in self.groups.iter().enumerate() {
            let b = &mut gdt[i * 32..i * 32 + 32];
            put32(b, 0, g.block_bitmap);
            put32(b, 4, g.inode_bitmap);
            put32(b, 8, g.inode_table);
            put16(b, 12, g.free_blocks);
            put16(b, 14, g.free_inodes);
            put16(b, 16, g.dirs);
        }
        d.write(at, &gdt)?;
        d.write(1024, &self.sb)
    }

    /// `statfs`: Linux's figures (the metadata of every group is overhead).
    pub fn statfs(&self) -> Statfs {
        let sparse = le32(&self.sb, 100) & RO_COMPAT_SPARSE_SUPER != 0;
        let gdb = (self.ngroups() * 32).div_ceil(self.bs);
        let itb = (self.ipg * self.isize).div_ceil(self.bs);
        let over: u64 =
            self.first_data as u64 + (0..self.ngroups()).map(|g| if has_super(g, sparse) { 1 + gdb as u64 } else { 0 } + 2 + itb as u64).sum::<u64>();
        let bfree: u64 = self.groups.iter().map(|g| g.free_blocks as u64).sum();
        let r = le32(&self.sb, 8) as u64;
        Statfs {
            bs: self.bs,
            blocks: self.blocks as u64 - over,
            bfree,
            bavail: bfree.saturating_sub(r),
            files: self.inodes as u64,
            ffree: self.groups.iter().map(|g| g.free_inodes as u64).sum(),
        }
    }

    /// 512-byte sectors a file of `data` blocks takes with its indirect
    /// blocks (`st_blocks`).
    pub fn sectors_for(&self, data: u64) -> u64 {
        let p = self.ppb();
        let mut n = data;
        if data > 12 {
            n += 1;
        }
        if data > 12 + p {
            n += 1 + (data - 12 - p).min(p * p).div_ceil(p);
        }
        if data > 12 + p + p * p {
            let r = data - 12 - p - p * p;
            n += 1 + r.div_ceil(p * p) + r.div_ceil(p);
        }
        n * (self.bs as u64 / 512)
    }

    fn inode_at(&self, ino: u32) -> Result<u64> {
        if ino == 0 || ino > self.inodes {
            return Err(EUCLEAN);
        }
        let (g, i) = ((ino - 1) / self.ipg, (ino - 1) % self.ipg);
        Ok(self.groups[g as usize].inode_table as u64 * self.bs as u64 + i as u64 * self.isize as u64)
    }

    pub fn inode(&self, d: &mut dyn Disk, ino: u32) -> Result<Inode> {
        let mut raw = vec![0u8; self.isize as usize];
        d.read(self.inode_at(ino)?, &mut raw)?;
        Ok(Inode { raw })
    }

    fn write_inode(&self, d: &mut dyn Disk, ino: u32, n: &Inode) -> Result<()> {
        d.write(self.inode_at(ino)?, &n.raw)
    }

    /// Pointers per indirect block.
    fn ppb(&self) -> u64 {
        self.bs as u64 / 4
    }

    /// The physical block of logical block `l` of `n` (0: a hole); with
    /// `alloc`, allocate what is missing (indirect blocks zeroed) near group `goal`.
    fn map(&mut self, d: &mut dyn Disk, n: &mut Inode, l: u64, alloc: bool, goal: u32) -> Result<u32> {
        let p = self.ppb();
        let (slot, path): (usize, Vec<u64>) = if l < 12 {
            (l as usize, Vec::new())
        } else if l - 12 < p {
            (12, vec![l - 12])
        } else if l - 12 - p < p * p {
            let r = l - 12 - p;
            (13, vec![r / p, r % p])
        } else if l - 12 - p - p * p < p * p * p {
            let r = l - 12 - p - p * p;
            (14, vec![r / (p * p), (r / p) % p, r % p])
        } else {
            return Err(EFBIG);
        };
        let mut cur = n.block(slot);
        if cur == 0 {
            if !alloc {
                return Ok(0);
            }
            cur = self.alloc_block(d, n, goal, !path.is_empty())?;
            n.set_block(slot, cur);
        }
        let depth = path.len();
        for (k, &i) in path.iter().enumerate() {
            let mut tab = self.bread(d, cur)?;
            let mut next = le32(&tab, i as usize * 4);
            if next == 0 {
                if !alloc {
                    return Ok(0);
                }
                // The last step maps a data block; the others indirect ones.
                next = self.alloc_block(d, n, goal, k + 1 < depth)?;
                put32(&mut tab, i as usize * 4, next);
                self.bwrite(d, cur, &tab)?;
            }
            cur = next;
        }
        Ok(cur)
    }

    /// Allocate a block (the first free one from group `goal` on), counted
    /// in `n`'s sectors; `zero` clears it (an indirect block).
    fn alloc_block(&mut self, d: &mut dyn Disk, n: &mut Inode, goal: u32, zero: bool) -> Result<u32> {
        let ng = self.ngroups();
        // On from the last block allocated when it is in the goal group.
        let hint = self.hint.saturating_sub(self.first_data);
        let (g0, from) = if hint / self.bpg == goal % ng { (hint / self.bpg, hint % self.bpg) } else { (goal % ng, 0) };
        for k in 0..=ng {
            let g = (g0 + k) % ng;
            if self.groups[g as usize].free_blocks == 0 {
                continue;
            }
            let first = self.first_data + g * self.bpg;
            let count = self.bpg.min(self.blocks - first);
            let bm = self.groups[g as usize].block_bitmap;
            let mut map = self.bread(d, bm)?;
            let mut i = if k == 0 { from } else { 0 };
            while i < count && map[(i / 8) as usize] & (1 << (i % 8)) != 0 {
                i += if i % 8 == 0 && map[(i / 8) as usize] == 0xff { 8 } else { 1 };
            }
            if i >= count {
                continue;
            }
            map[(i / 8) as usize] |= 1 << (i % 8);
            self.bwrite(d, bm, &map)?;
            self.groups[g as usize].free_blocks -= 1;
            n.add_sectors(self.bs as i64 / 512);
            let b = first + i;
            self.hint = b + 1;
            if zero {
                self.bwrite(d, b, &vec![0u8; self.bs as usize])?;
            }
            return Ok(b);
        }
        Err(ENOSPC)
    }

    fn free_block(&mut self, d: &mut dyn Disk, n: &mut Inode, b: u32) -> Result<()> {
        if b < self.first_data || b >= self.blocks {
            return Err(EUCLEAN);
        }
        let (g, bit) = ((b - self.first_data) / self.bpg, (b - self.first_data) % self.bpg);
        let bm = self.groups[g as usize].block_bitmap;
        let mut map = self.bread(d, bm)?;
        map[(bit / 8) as usize] &= !(1 << (bit % 8));
        self.bwrite(d, bm, &map)?;
        self.groups[g as usize].free_blocks += 1;
        n.add_sectors(-(self.bs as i64 / 512));
        Ok(())
    }

    /// Free the blocks of the tree at `blk` (`depth` 0: a data block) that
    /// map logical blocks from `keep` on (relative to the tree); true when
    /// `blk` itself went.
    fn trunc_tree(&mut self, d: &mut dyn Disk, n: &mut Inode, blk: u32, depth: u32, keep: u64) -> Result<bool> {
        if depth == 0 {
            if keep == 0 {
                self.free_block(d, n, blk)?;
                return Ok(true);
            }
            return Ok(false);
        }
        let span = self.ppb().pow(depth - 1);
        let mut tab = self.bread(d, blk)?;
        let (mut changed, mut kept) = (false, false);
        for i in 0..self.ppb() {
            let c = le32(&tab, i as usize * 4);
            if c == 0 {
                continue;
            }
            let start = i * span;
            if self.trunc_tree(d, n, c, depth - 1, keep.saturating_sub(start))? {
                put32(&mut tab, i as usize * 4, 0);
                changed = true;
            } else {
                kept = true;
            }
        }
        if !kept {
            self.free_block(d, n, blk)?;
            return Ok(true);
        }
        if changed {
            self.bwrite(d, blk, &tab)?;
        }
        Ok(false)
    }

    /// Keep only the first `keep` logical blocks of `n`.
    fn truncate_blocks(&mut self, d: &mut dyn Disk, n: &mut Inode, keep: u64) -> Result<()> {
        let p = self.ppb();
        for i in 0..12 {
            let b = n.block(i);
            if b != 0 && i as u64 >= keep {
                self.free_block(d, n, b)?;
                n.set_block(i, 0);
            }
        }
        let mut base = 12u64;
        for (slot, depth) in [(12usize, 1u32), (13, 2), (14, 3)] {
            let b = n.block(slot);
            if b != 0 && self.trunc_tree(d, n, b, depth, keep.saturating_sub(base))? {
                n.set_block(slot, 0);
            }
            base += p.pow(depth);
        }
        Ok(())
    }

    /// The bytes of `n` from `off` into `buf` (holes read as zeros): how many.
    pub fn read(&mut self, d: &mut dyn Disk, n: &Inode, off: u64, buf: &mut [u8]) -> Result<usize> {
        let size = n.size();
        if off >= size {
            return Ok(0);
        }
        let len = buf.len().min((size - off) as usize);
        let bs = self.bs as u64;
        let mut done = 0;
        let mut n2 = n.clone();
        while done < len {
            let pos = off + done as u64;
            let (l, within) = (pos / bs, (pos % bs) as usize);
            let take = (bs as usize - within).min(len - done);
            let b = self.map(d, &mut n2, l, false, 0)?;
            if b == 0 {
                buf[done..done + take].fill(0);
            } else {
                d.read(b as u64 * bs + within as u64, &mut buf[done..done + take])?;
            }
            done += take;
        }
        Ok(len)
    }

    /// A directory's entries but `.` and `..`: (inode, name).
    pub fn dir(&mut self, d: &mut dyn Disk, n: &Inode) -> Result<Vec<(u32, Vec<u8>)>> {
        let mut data = vec![0u8; n.size() as usize];
        self.read(d, n, 0, &mut data)?;
        let mut out = Vec::new();
        for blk in data.chunks(self.bs as usize) {
            let mut at = 0;
            while at + 8 <= blk.len() {
                let (ino, rec) = (le32(blk, at), le16(blk, at + 4) as usize);
                let nlen = if self.filetype { blk[at + 6] as usize } else { le16(blk, at + 6) as usize };
                if rec < 8 || at + rec > blk.len() || 8 + nlen > rec {
                    return Err(EUCLEAN);
                }
                let name = &blk[at + 8..at + 8 + nlen];
                if ino != 0 && name != b"." && name != b".." {
                    out.push((ino, name.to_vec()));
                }
                at += rec;
            }
        }
        Ok(out)
    }

    /// Is `n` a symbolic link whose target is in the inode (Linux's
    /// `ext2_inode_is_fast_symlink`: no block but an attribute block)?
    fn fast_link(&self, n: &Inode) -> bool {
        n.kind() == S_IFLNK && n.sectors() == if n.file_acl() != 0 { self.bs / 512 } else { 0 }
    }

    /// A symbolic link's target: in the inode (fast) or in its block.
    pub fn link_target(&mut self, d: &mut dyn Disk, n: &Inode) -> Result<Vec<u8>> {
        let size = n.size() as usize;
        if self.fast_link(n) {
            return Ok(n.raw[40..40 + size.min(60)].to_vec());
        }
        let mut v = vec![0u8; size];
        self.read(d, n, 0, &mut v)?;
        Ok(v)
    }

    fn bit(&mut self, d: &mut dyn Disk, map: u32, bit: u32, set: bool) -> Result<bool> {
        let mut m = self.bread(d, map)?;
        let (i, mask) = ((bit / 8) as usize, 1u8 << (bit % 8));
        let was = m[i] & mask != 0;
        m[i] = if set { m[i] | mask } else { m[i] & !mask };
        self.bwrite(d, map, &m)?;
        Ok(was)
    }

    /// A new inode (zeroed): a directory in the group with the most free
    /// inodes, anything else from the group `near` (its directory's) on.
    pub fn new_inode(&mut self, d: &mut dyn Disk, dir: bool, near: u32) -> Result<u32> {
        let ng = self.ngroups();
        let near = near.saturating_sub(1) / self.ipg;
        // A directory from the group with the most free inodes on, as
        // Linux's find_group_orlov spreads them; anything else near its own.
        let start = if dir { (0..ng).max_by_key(|&g| self.groups[g as usize].free_inodes).unwrap_or(0) } else { near };
        for g in (0..ng).map(|k| (start + k) % ng) {
            if self.groups[g as usize].free_inodes == 0 {
                continue;
            }
            let map = self.bread(d, self.groups[g as usize].inode_bitmap)?;
            let Some(bit) = (0..self.ipg).find(|&i| map[(i / 8) as usize] & (1 << (i % 8)) == 0 && g * self.ipg + i + 1 >= self.first_ino) else { continue };
            self.bit(d, self.groups[g as usize].inode_bitmap, bit, true)?;
            let gr = &mut self.groups[g as usize];
            gr.free_inodes -= 1;
            if dir {
                gr.dirs += 1;
            }
            let ino = g * self.ipg + bit + 1;
            self.write_inode(d, ino, &Inode { raw: vec![0u8; self.isize as usize] })?;
            return Ok(ino);
        }
        Err(ENOSPC)
    }

    /// Free inode `ino`: its blocks, its extended-attribute block's
    /// reference, its bitmap bit; the inode keeps its deletion time.
    pub fn free_inode(&mut self, d: &mut dyn Disk, ino: u32, now: u32) -> Result<()> {
        let mut n = self.inode(d, ino)?;
        let dir = n.kind() == S_IFDIR;
        if !self.fast_link(&n) && !matches!(n.kind(), S_IFCHR | S_IFBLK) {
            self.truncate_blocks(d, &mut n, 0)?;
        }
        let acl = n.file_acl();
        if acl != 0 {
            // The block is shared by reference count (h_refcount).
            let mut b = self.bread(d, acl)?;
            let refs = le32(&b, 4);
            if refs > 1 {
                put32(&mut b, 4, refs - 1);
                self.bwrite(d, acl, &b)?;
            } else {
                self.free_block(d, &mut n, acl)?;
            }
            put32(&mut n.raw, 104, 0);
        }
        put16(&mut n.raw, 26, 0);
        put32(&mut n.raw, 20, now);
        self.write_inode(d, ino, &n)?;
        let (g, bit) = ((ino - 1) / self.ipg, (ino - 1) % self.ipg);
        if self.bit(d, self.groups[g as usize].inode_bitmap, bit, false)? {
            let gr = &mut self.groups[g as usize];
            gr.free_inodes += 1;
            if dir {
                gr.dirs = gr.dirs.saturating_sub(1);
            }
        }
        Ok(())
    }

    /// Write `n`'s data: `size` bytes, block by block from `fill`, blocks
    /// of zeros left as holes where none is allocated; blocks past the end freed.
    fn put_data(&mut self, d: &mut dyn Disk, n: &mut Inode, ino: u32, size: u64, fill: &mut dyn FnMut(u64, &mut [u8]) -> bool) -> Result<()> {
        let bs = self.bs as u64;
        let nb = size.div_ceil(bs);
        let goal = (ino - 1) / self.ipg;
        let mut buf = vec![0u8; bs as usize];
        for l in 0..nb {
            buf.fill(0);
            let any = fill(l, &mut buf);
            let b = self.map(d, n, l, any, goal)?;
            if b != 0 {
                self.bwrite(d, b, &buf)?;
            }
        }
        self.truncate_blocks(d, n, nb)?;
        if size > i32::MAX as u64 && le32(&self.sb, 100) & RO_COMPAT_LARGE_FILE == 0 {
            let f = le32(&self.sb, 100) | RO_COMPAT_LARGE_FILE;
            put32(&mut self.sb, 100, f);
        }
        n.set_size(size);
        Ok(())
    }

    /// A directory's blocks: its entries in as many blocks as they take,
    /// never fewer than it has (a directory does not shrink).
    fn dir_bytes(&self, entries: &[(u32, u16, &[u8])], old: u64) -> Vec<u8> {
        let bs = self.bs as usize;
        let mut out: Vec<u8> = Vec::new();
        let mut last = usize::MAX;
        for (ino, kind, name) in entries {
            let rec = (8 + name.len()).div_ceil(4) * 4;
            let used = out.len() % bs;
            if used != 0 && used + rec > bs {
                // Stretch the block's last entry to its end.
                let end = out.len().div_ceil(bs) * bs;
                let r = le16(&out, last + 4) as usize + end - out.len();
                put16(&mut out, last + 4, r as u16);
                out.resize(end, 0);
            }
            last = out.len();
            let mut e = vec![0u8; rec];
            put32(&mut e, 0, *ino);
            put16(&mut e, 4, rec as u16);
            e[6] = name.len() as u8;
            if self.filetype {
                e[7] = ftype(*kind);
            }
            e[8..8 + name.len()].copy_from_slice(name);
            out.extend_from_slice(&e);
        }
        let end = out.len().div_ceil(bs) * bs;
        if last != usize::MAX && end != out.len() {
            let r = le16(&out, last + 4) as usize + end - out.len();
            put16(&mut out, last + 4, r as u16);
        }
        out.resize(end, 0);
        // Empty blocks to keep the directory's size: one unused entry each.
        while (out.len() as u64) < old {
            let at = out.len();
            out.resize(at + bs, 0);
            put16(&mut out, at + 4, bs as u16);
        }
        out
    }

    /// Write inode `ino`: its metadata and its contents.
    pub fn put(&mut self, d: &mut dyn Disk, ino: u32, m: &Meta, c: Content) -> Result<()> {
        if !self.rw {
            return Err(EROFS);
        }
        let mut n = self.inode(d, ino)?;
        let old_kind = n.kind();
        if old_kind != 0 && old_kind != m.mode & S_IFMT {
            return Err(EUCLEAN);
        }
        put16(&mut n.raw, 0, m.mode);
        match c {
            Content::Keep => {}
            Content::File(size, fill) => self.put_data(d, &mut n, ino, size, fill)?,
            Content::Dir(entries) => {
                let bytes = self.dir_bytes(entries, n.size());
                let len = bytes.len() as u64;
                let bs = self.bs as usize;
                self.put_data(d, &mut n, ino, len, &mut |l, buf| {
                    buf.copy_from_slice(&bytes[l as usize * bs..(l as usize + 1) * bs]);
                    true
                })?;
                let fl = n.flags() & !INDEX_FL;
                put32(&mut n.raw, 32, fl);
            }
            // A link's target never changes.
            Content::Symlink(_) if old_kind == S_IFLNK => {}
            Content::Symlink(t) => {
                if t.len() < 60 {
                    // A fast link: the target in the block slots.
                    self.truncate_blocks(d, &mut n, 0)?;
                    n.raw[40..100].fill(0);
                    n.raw[40..40 + t.len()].copy_from_slice(t);
                    n.set_size(t.len() as u64);
                } else {
                    let bs = self.bs as usize;
                    self.put_data(d, &mut n, ino, t.len() as u64, &mut |l, buf| {
                        let s = &t[(l as usize * bs).min(t.len())..];
                        let k = s.len().min(bs);
                        buf[..k].copy_from_slice(&s[..k]);
                        true
                    })?;
                }
            }
            Content::Dev(rdev) => {
                n.raw[40..100].fill(0);
                if rdev < 0x10000 {
                    n.set_block(0, rdev as u32);
                } else {
                    n.set_block(1, rdev as u32);
                }
            }
            Content::None => {}
        }
        put16(&mut n.raw, 2, m.uid as u16);
        put16(&mut n.raw, 120, (m.uid >> 16) as u16);
        put16(&mut n.raw, 24, m.gid as u16);
        put16(&mut n.raw, 122, (m.gid >> 16) as u16);
        put16(&mut n.raw, 26, m.links);
        put32(&mut n.raw, 8, m.atime);
        put32(&mut n.raw, 16, m.mtime);
        put32(&mut n.raw, 12, m.ctime);
        put32(&mut n.raw, 20, 0);
        self.write_inode(d, ino, &n)
    }
}

pub mod cache;

#[cfg(test)]
mod tests;
