//! Memory policy on a node with one memory node (node 0), as Linux runs on
//! a machine without NUMA: set_mempolicy, mbind, get_mempolicy,
//! migrate_pages and move_pages check their arguments as Linux does, keep
//! the policies they set and report them; every page is on node 0.

use super::*;

pub const MPOL_DEFAULT: u32 = 0;
pub const MPOL_PREFERRED: u32 = 1;
pub const MPOL_BIND: u32 = 2;
pub const MPOL_INTERLEAVE: u32 = 3;
pub const MPOL_LOCAL: u32 = 4;
pub const MPOL_PREFERRED_MANY: u32 = 5;
/// Mode flags.
pub const MPOL_F_NUMA_BALANCING: u32 = 1 << 13;
pub const MPOL_F_RELATIVE_NODES: u32 = 1 << 14;
pub const MPOL_F_STATIC_NODES: u32 = 1 << 15;
/// get_mempolicy flags.
pub const MPOL_F_NODE: u32 = 1;
pub const MPOL_F_ADDR: u32 = 2;
pub const MPOL_F_MEMS_ALLOWED: u32 = 4;
/// mbind and move_pages flags.
pub const MPOL_MF_STRICT: u32 = 1;
pub const MPOL_MF_MOVE: u32 = 2;
pub const MPOL_MF_MOVE_ALL: u32 = 4;

/// The nodes that exist: node 0.
const NODES: u64 = 1;

/// A memory policy: its mode (with mode flags) and node mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemPolicy {
    pub mode: u32,
    pub nodes: u64,
}

impl MemPolicy {
    /// Check a mode and the nodes given with it as Linux's mpol_new and
    /// sanitize_mpol_flags do (only node 0 is online).
    pub fn new(mode: u32, nodes: u64) -> Result<MemPolicy, Errno> {
        let flags = mode & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING);
        let base = mode & !flags;
        if base > MPOL_PREFERRED_MANY || flags & MPOL_F_STATIC_NODES != 0 && flags & MPOL_F_RELATIVE_NODES != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MPOL_F_NUMA_BALANCING != 0 && base != MPOL_BIND {
            return Err(Errno::EINVAL);
        }
        match base {
            MPOL_DEFAULT | MPOL_LOCAL if nodes != 0 => Err(Errno::EINVAL),
            MPOL_DEFAULT | MPOL_LOCAL if flags != 0 => Err(Errno::EINVAL),
            MPOL_DEFAULT => Ok(MemPolicy::default()),
            MPOL_LOCAL => Ok(MemPolicy { mode: MPOL_LOCAL, nodes: 0 }),
            MPOL_PREFERRED if nodes == 0 && flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES) != 0 => Err(Errno::EINVAL),
            MPOL_PREFERRED => Ok(MemPolicy { mode, nodes: nodes & NODES }),
            _ if nodes == 0 => Err(Errno::EINVAL),
            // Relative nodes are numbered within the allowed set: any maps to 0.
            _ if flags & MPOL_F_RELATIVE_NODES != 0 => Ok(MemPolicy { mode, nodes: NODES }),
            _ if nodes & NODES == 0 => Err(Errno::EINVAL),
            _ => Ok(MemPolicy { mode, nodes: nodes & NODES }),
        }
    }
}

impl Process {
    /// A node mask of `maxnode` bits at `at` (Linux's get_nodes; NULL or
    /// no bits: empty). Bits past the nodes that exist must be clear.
    fn read_nodes(&mut self, h: &mut dyn Host, abi: Abi, at: u64, maxnode: u64) -> Result<u64, Errno> {
        let maxnode = maxnode.saturating_sub(1);
        if at == 0 || maxnode == 0 {
            return Ok(0);
        }
        if maxnode > PAGE * 8 {
            return Err(Errno::EINVAL);
        }
        // Whole `unsigned long`s of the ABI (4 bytes on i386), little-endian.
        let w = abi.word() as u64;
        let b = self.read_user(h, abi, at, (maxnode.div_ceil(8 * w) * w) as usize)?;
        let mut mask = 0u64;
        for (i, &byte) in b.iter().enumerate() {
            let bits = maxnode.saturating_sub(i as u64 * 8).min(8);
            let byte = if bits < 8 { byte & ((1u8 << bits) - 1) } else { byte };
            if i < 8 {
                mask |= (byte as u64) << (8 * i);
            } else if byte != 0 {
                // A node past 63: none such is online.
                return Err(Errno::EINVAL);
            }
        }
        Ok(mask)
    }

    /// Write `nodes` as a mask of `maxnode` bits (Linux's copy_nodes_to_user).
    fn write_nodes(&mut self, h: &mut dyn Host, abi: Abi, at: u64, maxnode: u64, nodes: u64) -> Result<(), Errno> {
        if at == 0 {
            return Ok(());
        }
        let w = abi.word() as u64;
        let bytes = (maxnode.saturating_sub(1).div_ceil(8 * w) * w) as usize;
        if bytes > PAGE as usize {
            return Err(Errno::EINVAL);
        }
        let mut b = alloc::vec![0u8; bytes];
        let n = bytes.min(8);
        b[..n].copy_from_slice(&nodes.to_le_bytes()[..n]);
        self.write_user(h, abi, at, &b)
    }

    pub(crate) fn sys_set_mempolicy(&mut self, h: &mut dyn Host, abi: Abi, mode: u32, nmask: u64, maxnode: u64) -> SysResult {
        let nodes = self.read_nodes(h, abi, nmask, maxnode)?;
        self.mempolicy = MemPolicy::new(mode, nodes)?;
        Ok(0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_mbind(&mut self, h: &mut dyn Host, abi: Abi, start: u64, len: u64, mode: u32, nmask: u64, maxnode: u64, flags: u32) -> SysResult {
        if flags & !(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) != 0 || start % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MPOL_MF_MOVE_ALL != 0 && !self.capable(crate::linux::CAP_SYS_NICE) {
            return Err(Errno::EPERM);
        }
        let nodes = self.read_nodes(h, abi, nmask, maxnode)?;
        let policy = MemPolicy::new(mode, nodes)?;
        let end = start.checked_add(len.checked_add(PAGE - 1).ok_or(Errno::EINVAL)? & !(PAGE - 1)).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(0);
        }
        if !self.vmas.is_covered(start, end) {
            return Err(Errno::EFAULT);
        }
        // The newest policy of a range wins; older ones it covers go.
        self.range_policies.retain(|&(s, e, _)| s < start || e > end);
        self.range_policies.push((start, end, policy));
        Ok(0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_get_mempolicy(&mut self, h: &mut dyn Host, abi: Abi, mode_at: u64, nmask: u64, maxnode: u64, addr: u64, flags: u32) -> SysResult {
        if flags & !(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED) != 0 {
            return Err(Errno::EINVAL);
        }
        if nmask != 0 && maxnode < NODES.count_ones() as u64 {
            return Err(Errno::EINVAL);
        }
        if flags & MPOL_F_MEMS_ALLOWED != 0 {
            if flags & (MPOL_F_NODE | MPOL_F_ADDR) != 0 {
                return Err(Errno::EINVAL);
            }
            if mode_at != 0 {
                self.write_user(h, abi, mode_at, &0u32.to_le_bytes())?;
            }
            self.write_nodes(h, abi, nmask, maxnode, NODES)?;
            return Ok(0);
        }
        let policy = if flags & MPOL_F_ADDR != 0 {
            if self.vmas.lookup(addr).is_none() {
                return Err(Errno::EFAULT);
            }
            self.range_policies.iter().rev().find(|&&(s, e, _)| (s..e).contains(&addr)).map_or(MemPolicy::default(), |r| r.2)
        } else if addr != 0 {
            return Err(Errno::EINVAL);
        } else {
            self.mempolicy
        };
        // With MPOL_F_NODE: the node of the page at `addr`, or the next node
        // of an interleaving process policy: always 0; other policies EINVAL.
        if flags & (MPOL_F_NODE | MPOL_F_ADDR) == MPOL_F_NODE && policy.mode & 0xff != MPOL_INTERLEAVE {
            return Err(Errno::EINVAL);
        }
        if mode_at != 0 {
            let mode = if flags & MPOL_F_NODE != 0 { 0 } else { policy.mode };
            self.write_user(h, abi, mode_at, &mode.to_le_bytes())?;
        }
        let shown = match policy.mode & 0xff {
            MPOL_DEFAULT => 0,
            // PREFERRED with no node is MPOL_LOCAL: the node it runs on.
            MPOL_PREFERRED if policy.nodes == 0 => 0,
            _ => policy.nodes,
        };
        self.write_nodes(h, abi, nmask, maxnode, shown)?;
        Ok(0)
    }

    /// migrate_pages for a process of the job: nothing to move between
    /// nodes; the masks are checked (nodes that are not online: EINVAL).
    pub(crate) fn check_migrate_nodes(&mut self, h: &mut dyn Host, abi: Abi, maxnode: u64, old: u64, new: u64) -> SysResult {
        let from = self.read_nodes(h, abi, old, maxnode)?;
        let to = self.read_nodes(h, abi, new, maxnode)?;
        if (from | to) & !NODES != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(0)
    }

    /// move_pages on the caller's own memory: each page's node (0) or
    /// -EFAULT when nothing is mapped there; a target node other than 0 is
    /// -ENODEV for the whole call.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_move_pages(&mut self, h: &mut dyn Host, abi: Abi, count: u64, pages: u64, nodes: u64, status: u64, flags: u32) -> SysResult {
        if flags & !(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MPOL_MF_MOVE_ALL != 0 && !self.capable(crate::linux::CAP_SYS_NICE) {
            return Err(Errno::EPERM);
        }
        let w = abi.word();
        if count > (1 << 20) {
            return Err(Errno::E2BIG);
        }
        let addrs = self.read_user(h, abi, pages, count as usize * w)?;
        let targets = if nodes != 0 { Some(self.read_user(h, abi, nodes, count as usize * 4)?) } else { None };
        let mut out = Vec::with_capacity(count as usize * 4);
        for i in 0..count as usize {
            let addr = match abi {
                Abi::X86_64 => u64::from_le_bytes(addrs[8 * i..8 * i + 8].try_into().unwrap()),
                Abi::I386 => u32::from_le_bytes(addrs[4 * i..4 * i + 4].try_into().unwrap()) as u64,
            };
            if let Some(t) = &targets {
                let node = i32::from_le_bytes(t[4 * i..4 * i + 4].try_into().unwrap());
                if node != 0 {
                    return Err(Errno::ENODEV);
                }
            }
            let st: i32 = if self.vmas.lookup(addr).is_some() { 0 } else { -(Errno::EFAULT.0 as i32) };
            out.extend_from_slice(&st.to_le_bytes());
        }
        self.write_user(h, abi, status, &out)?;
        Ok(0)
    }
}
