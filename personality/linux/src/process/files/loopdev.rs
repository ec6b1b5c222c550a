//! Loop block devices: `/dev/loop-control` (`LOOP_CTL_GET_FREE`, `_ADD`,
//! `_REMOVE`) and `/dev/loopN` (block devices, major 7) bound to a file of
//! the job's tree by `LOOP_SET_FD` or `LOOP_CONFIGURE`: reads and writes of
//! the device go to that file (from `lo_offset`), `BLKGETSIZE64` is its
//! size. What LTP's `tst_acquire_device` needs; there is no file-system
//! driver to mount one with (tmpfs needs no device).

use super::*;
use crate::process::LoopDev;

/// `st_rdev` of /dev/loop-control (10:237) and of /dev/loopN (7:N).
pub const RDEV_LOOP_CONTROL: u64 = (10 << 8) | 237;
pub const LOOP_MAJOR: u64 = 7;
/// Loop devices in /dev at start.
pub const LOOPS_AT_START: u32 = 8;

const LOOP_SET_FD: u32 = 0x4C00;
const LOOP_CLR_FD: u32 = 0x4C01;
const LOOP_SET_STATUS: u32 = 0x4C02;
const LOOP_GET_STATUS: u32 = 0x4C03;
const LOOP_SET_STATUS64: u32 = 0x4C04;
const LOOP_GET_STATUS64: u32 = 0x4C05;
const LOOP_SET_CAPACITY: u32 = 0x4C07;
const LOOP_SET_DIRECT_IO: u32 = 0x4C08;
const LOOP_SET_BLOCK_SIZE: u32 = 0x4C09;
const LOOP_CONFIGURE: u32 = 0x4C0A;
const LOOP_CTL_ADD: u32 = 0x4C80;
const LOOP_CTL_REMOVE: u32 = 0x4C81;
const LOOP_CTL_GET_FREE: u32 = 0x4C82;
const BLKROGET: u32 = 0x125e;
const BLKGETSIZE: u32 = 0x1260;
const BLKFLSBUF: u32 = 0x1261;
const BLKSSZGET: u32 = 0x1268;
/// `_IOR(0x12, 112/114, size_t)`: size_t is 8 bytes on x86_64, 4 on i386.
const BLKBSZGET_64: u32 = 0x8008_1270;
const BLKBSZGET_32: u32 = 0x8004_1270;
const BLKGETSIZE64_64: u32 = 0x8008_1272;
const BLKGETSIZE64_32: u32 = 0x8004_1272;

pub(crate) const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;
const LO_FLAGS_PARTSCAN: u32 = 8;
const LO_FLAGS_DIRECT_IO: u32 = 16;
const LO_NAME_SIZE: usize = 64;

/// The loop device number of `rdev`, if it is one.
pub fn loop_number(rdev: u64) -> Option<u32> {
    (rdev >> 8 == LOOP_MAJOR).then_some((rdev & 0xff) as u32)
}

pub fn is_loop_node(d: &Data) -> bool {
    matches!(d, Data::Blk(r) if loop_number(*r).is_some()) || matches!(d, Data::Chr(RDEV_LOOP_CONTROL))
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn cname(b: &[u8]) -> Vec<u8> {
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len()).min(LO_NAME_SIZE - 1);
    b[..n].to_vec()
}

impl Process {
    fn dev_dir(&self) -> Option<Ino> {
        let v = &self.job.vfs;
        v.child(v.root, b"dev").ok().flatten()
    }

    /// The bytes a bound loop device shows: its file's size from the
    /// offset, within the size limit, in whole sectors.
    pub(crate) fn loop_size(&self, n: u32) -> u64 {
        let Some(d) = self.job.loops.get(&n) else { return 0 };
        let Some(ino) = d.backing else { return 0 };
        let Some(node) = self.job.vfs.get(ino) else { return 0 };
        let mut size = node.size().saturating_sub(d.offset);
        if d.sizelimit != 0 {
            size = size.min(d.sizelimit);
        }
        size & !511
    }

    /// Where I/O on block device `rdev` goes: (the backing file, the offset
    /// to add), `ENXIO` for an unbound loop device, `EIO` for another.
    pub(crate) fn loop_backing(&self, rdev: u64) -> Result<(Ino, u64), Errno> {
        let n = loop_number(rdev).ok_or(Errno::EIO)?;
        let d = self.job.loops.get(&n).ok_or(Errno::ENXIO)?;
        Ok((d.backing.ok_or(Errno::ENXIO)?, d.offset))
    }

    /// Make /dev/loopN (root's, group disk, 0660).
    fn add_loop_node(&mut self, n: u32) -> Result<(), Errno> {
        let dev = self.dev_dir().ok_or(Errno::ENODEV)?;
        let name = format!("loop{n}");
        if self.job.vfs.child(dev, name.as_bytes()).ok().flatten().is_some() {
            return Err(Errno::EEXIST);
        }
        self.job.vfs.add(dev, name.as_bytes(), Data::Blk((LOOP_MAJOR << 8) | n as u64), 0o660, 0, 6);
        self.job.loops.insert(n, LoopDev::default());
        Ok(())
    }

    pub(crate) fn loop_ioctl(&mut self, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, rdev: u64, req: u32, arg: u64) -> SysResult {
        if rdev == RDEV_LOOP_CONTROL {
            return self.loop_control(req, arg);
        }
        let n = loop_number(rdev).ok_or(Errno::ENOTTY)?;
        // A node made by mknod for a number loop-control never added.
        self.job.loops.entry(n).or_default();
        let bound = self.job.loops[&n].backing.is_some();
        let word = |p: &mut Process, h: &mut dyn Host, v: u64, w: usize| p.write_user(h, abi, arg, &v.to_le_bytes()[..w]).map(|_| 0);
        match req {
            LOOP_SET_FD => self.loop_bind(n, f, arg as u32, 0, LoopDev::default()),
            LOOP_CONFIGURE => {
                let b = self.read_user(h, abi, arg, 304)?;
                let (fd, bs) = (le32(&b, 0), le32(&b, 4));
                if b[240..304].iter().any(|&x| x != 0) {
                    return Err(Errno::EINVAL);
                }
                let mut d = LoopDev::default();
                decode_info64(&b[8..240], &mut d, true)?;
                self.loop_bind(n, f, fd, bs, d)
            }
            LOOP_CLR_FD => {
                let d = self.job.loops.get_mut(&n).expect("loop");
                let Some(ino) = d.backing.take() else { return Err(Errno::ENXIO) };
                *d = LoopDev::default();
                self.job.vfs.close_ref(ino);
                Ok(0)
            }
            LOOP_SET_STATUS | LOOP_SET_STATUS64 => {
                if !bound {
                    return Err(Errno::ENXIO);
                }
                let mut d = self.job.loops[&n].clone();
                if req == LOOP_SET_STATUS64 {
                    let b = self.read_user(h, abi, arg, 232)?;
                    decode_info64(&b, &mut d, false)?;
                } else {
                    let b = self.read_user(h, abi, arg, if abi == Abi::X86_64 { 168 } else { 140 })?;
                    let (off, flags, name) = if abi == Abi::X86_64 { (32, 44, 48) } else { (16, 28, 32) };
                    d.offset = le32(&b, off) as i32 as u64;
                    d.flags = (d.flags & !(LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN)) | (le32(&b, flags) & (LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN));
                    d.name = cname(&b[name..name + LO_NAME_SIZE]);
                }
                self.job.loops.insert(n, d);
                Ok(0)
            }
            LOOP_GET_STATUS | LOOP_GET_STATUS64 => {
                let d = self.job.loops[&n].clone();
                let Some(ino) = d.backing else { return Err(Errno::ENXIO) };
                let node = self.job.vfs.node(ino);
                let (dev, rd) = (node.dev, node.rdev());
                let mut name = d.name.clone();
                name.resize(LO_NAME_SIZE, 0);
                let mut b = Vec::new();
                if req == LOOP_GET_STATUS64 {
                    for v in [dev, ino, rd, d.offset, d.sizelimit] {
                        b.extend_from_slice(&v.to_le_bytes());
                    }
                    for v in [n, 0, 0, d.flags] {
                        b.extend_from_slice(&v.to_le_bytes());
                    }
                    b.extend_from_slice(&name);
                    b.resize(232, 0);
                } else if abi == Abi::X86_64 {
                    b.extend_from_slice(&(n as u64).to_le_bytes());
                    for v in [dev, ino, rd] {
                        b.extend_from_slice(&v.to_le_bytes());
                    }
                    for v in [d.offset as u32, 0, 0, d.flags] {
                        b.extend_from_slice(&v.to_le_bytes());
                    }
                    b.extend_from_slice(&name);
                    b.resize(168, 0);
                } else {
                    b.extend_from_slice(&n.to_le_bytes());
                    b.extend_from_slice(&(dev as u32 & 0xffff).to_le_bytes());
                    b.extend_from_slice(&(ino as u32).to_le_bytes());
                    b.extend_from_slice(&(rd as u32 & 0xffff).to_le_bytes());
                    for v in [d.offset as u32, 0, 0, d.flags] {
                        b.extend_from_slice(&v.to_le_bytes());
                    }
                    b.extend_from_slice(&name);
                    b.resize(140, 0);
                }
                self.write_user(h, abi, arg, &b).map(|_| 0)
            }
            LOOP_SET_CAPACITY => {
                if bound {
                    Ok(0)
                } else {
                    Err(Errno::ENXIO)
                }
            }
            LOOP_SET_DIRECT_IO => {
                if !bound {
                    return Err(Errno::ENXIO);
                }
                let d = self.job.loops.get_mut(&n).expect("loop");
                d.flags = if arg != 0 { d.flags | LO_FLAGS_DIRECT_IO } else { d.flags & !LO_FLAGS_DIRECT_IO };
                Ok(0)
            }
            LOOP_SET_BLOCK_SIZE => {
                if !bound {
                    return Err(Errno::ENXIO);
                }
                if !(512..=4096).contains(&arg) || !arg.is_power_of_two() {
                    return Err(Errno::EINVAL);
                }
                self.job.loops.get_mut(&n).expect("loop").block_size = arg as u32;
                Ok(0)
            }
            BLKGETSIZE64_64 | BLKGETSIZE64_32 => {
                let s = self.loop_size(n);
                word(self, h, s, 8)
            }
            BLKGETSIZE => {
                let s = self.loop_size(n) / 512;
                word(self, h, s, abi.word())
            }
            BLKSSZGET | BLKBSZGET_64 | BLKBSZGET_32 => {
                let bs = self.job.loops[&n].block_size.max(512) as u64;
                word(self, h, bs, 4)
            }
            BLKROGET => {
                let ro = (self.job.loops[&n].flags & LO_FLAGS_READ_ONLY != 0) as u64;
                word(self, h, ro, 4)
            }
            BLKFLSBUF => Ok(0),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn loop_bind(&mut self, n: u32, dev_file: &Rc<RefCell<OpenFile>>, fd: u32, block_size: u32, mut d: LoopDev) -> SysResult {
        let file = self.io_file(fd as u64)?;
        if self.job.loops[&n].backing.is_some() {
            return Err(Errno::EBUSY);
        }
        let Obj::Node(ino) = file.borrow().obj else { return Err(Errno::EINVAL) };
        let node = self.job.vfs.node(ino);
        if !node.is_reg() && !matches!(node.data, Data::Blk(_)) {
            return Err(Errno::EINVAL);
        }
        if block_size != 0 && (!(512..=4096).contains(&block_size) || !block_size.is_power_of_two()) {
            return Err(Errno::EINVAL);
        }
        if !file.borrow().writable() || !dev_file.borrow().writable() || self.job.vfs.rofs(ino) {
            d.flags |= LO_FLAGS_READ_ONLY;
        }
        d.backing = Some(ino);
        d.block_size = if block_size == 0 { 512 } else { block_size };
        self.job.vfs.open_ref(ino);
        self.job.loops.insert(n, d);
        Ok(0)
    }

    fn loop_control(&mut self, req: u32, arg: u64) -> SysResult {
        match req {
            LOOP_CTL_GET_FREE => {
                let dev = self.dev_dir().ok_or(Errno::ENODEV)?;
                for n in 0..256u32 {
                    let exists = self.job.vfs.child(dev, format!("loop{n}").as_bytes()).ok().flatten().is_some();
                    if exists && self.job.loops.get(&n).map_or(true, |d| d.backing.is_none()) {
                        return Ok(n as u64);
                    }
                    if !exists {
                        self.add_loop_node(n)?;
                        return Ok(n as u64);
                    }
                }
                Err(Errno::ENOSPC)
            }
            LOOP_CTL_ADD => {
                let n = arg as i64;
                if !(0..256).contains(&n) {
                    return Err(Errno::EINVAL);
                }
                self.add_loop_node(n as u32).map(|_| n as u64)
            }
            LOOP_CTL_REMOVE => {
                let n = arg as i64;
                if !(0..256).contains(&n) {
                    return Err(Errno::EINVAL);
                }
                let dev = self.dev_dir().ok_or(Errno::ENODEV)?;
                let name = format!("loop{n}");
                let Some(ino) = self.job.vfs.child(dev, name.as_bytes()).ok().flatten() else { return Err(Errno::ENODEV) };
                if self.job.loops.get(&(n as u32)).is_some_and(|d| d.backing.is_some()) || self.job.vfs.node(ino).opens > 0 {
                    return Err(Errno::EBUSY);
                }
                self.job.vfs.remove_tree(dev, name.as_bytes());
                self.job.loops.remove(&(n as u32));
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }
}

/// `struct loop_info64` into `d`: offset, size limit, settable flags, name
/// (and with `all`, as LOOP_CONFIGURE takes it, the read-only flag too).
fn decode_info64(b: &[u8], d: &mut LoopDev, all: bool) -> Result<(), Errno> {
    d.offset = le64(b, 24);
    d.sizelimit = le64(b, 32);
    let flags = le32(b, 52);
    let settable = LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN | if all { LO_FLAGS_READ_ONLY | LO_FLAGS_DIRECT_IO } else { 0 };
    d.flags = (d.flags & !settable) | (flags & settable);
    d.name = cname(&b[56..56 + LO_NAME_SIZE]);
    if d.offset & 511 != 0 && all {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
