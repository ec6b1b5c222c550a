//! The one definition of everything that crosses the kernel/user boundary in SiON,
//! and of the formats the host tools share with the node:
//!
//! - [`call`]: kernel call numbers, argument conventions and error codes;
//! - [`msg`]: the messages a server receives (native calls, Linux traps, faults,
//!   notifications) and the reply a Linux task gets;
//! - [`regs`]: the register set of a task as servers see and set it;
//! - [`boot`]: what the kernel hands the first server at start;
//! - [`bootfs`]: the boot archive (cpio "newc") that carries servers and the job;
//! - [`console`]: the framing on the job serial port between node and host.
//!
//! The kernel and every server depend on this crate; nothing here allocates
//! unless the `alloc` feature is on.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;

pub mod boot;
pub mod bootfs;
pub mod call;
pub mod console;
pub mod msg;
pub mod net;
pub mod regs;

/// Slots in the kernel's task table: the most tasks (threads of every
/// space, servers included) a node runs at once. A task slot index is 16
/// bits, below `u16::MAX` (the kernel's "no task").
pub const MAX_TASKS: usize = 4096;
/// Slots in the kernel's address-space table (and memory accounts).
pub const MAX_SPACES: usize = 4096;

/// Identifies a task (a thread of execution). The low 16 bits are the slot in
/// the kernel's task table, the high 16 bits a generation that changes each time
/// the slot is reused, so a stale id never names a new task.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
#[repr(transparent)]
pub struct TaskId(pub u32);

impl TaskId {
    pub const fn new(index: u16, generation: u16) -> Self {
        TaskId(((generation as u32) << 16) | index as u32)
    }
    pub const fn index(self) -> usize {
        (self.0 & 0xffff) as usize
    }
    pub const fn generation(self) -> u16 {
        (self.0 >> 16) as u16
    }
}

/// Identifies an address space, with the same index/generation scheme as [`TaskId`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
#[repr(transparent)]
pub struct SpaceId(pub u32);

impl SpaceId {
    pub const fn new(index: u16, generation: u16) -> Self {
        SpaceId(((generation as u32) << 16) | index as u32)
    }
    pub const fn index(self) -> usize {
        (self.0 & 0xffff) as usize
    }
    pub const fn generation(self) -> u16 {
        (self.0 >> 16) as u16
    }
}

pub const PAGE_SIZE: usize = 4096;

/// Highest user address + 1 (the canonical lower half).
pub const USER_END: u64 = 0x0000_8000_0000_0000;
