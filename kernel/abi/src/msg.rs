//! Messages a task receives with `recv`, and the reply a Linux task gets.
//!
//! Every received message starts with a [`Header`]; the payload follows. All
//! fields are little-endian and every structure here has a fixed size, encoded
//! and decoded explicitly so no side needs `unsafe` to read them.

use crate::TaskId;

/// What a received message is.
#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A native task's `call`: the payload is its bytes; answer with `reply`.
    Native = 0,
    /// A Linux task made a system call: payload [`LinuxSyscall`]; answer with a
    /// [`LinuxReply`] (possibly much later: the task stays blocked until then).
    LinuxSyscall = 1,
    /// A task the receiver handles faulted: payload [`Fault`]. The task is
    /// blocked; answer with a [`LinuxReply`] to resume it, or kill it.
    Fault = 2,
    /// Notification bits were raised: payload one `u64` with the bits (now cleared).
    Notification = 3,
}

impl Kind {
    pub fn from_u32(v: u32) -> Option<Kind> {
        Some(match v {
            0 => Kind::Native,
            1 => Kind::LinuxSyscall,
            2 => Kind::Fault,
            3 => Kind::Notification,
            _ => return None,
        })
    }
}

/// Notification bit raised by the kernel when the task's `timer_set` deadline passes.
pub const NOTIFY_TIMER: u64 = 1 << 63;

/// A fixed-size little-endian field of a wire structure.
pub trait WireField: Sized {
    const SIZE: usize;
    fn put(&self, out: &mut [u8]);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl WireField for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn put(&self, out: &mut [u8]) {
                out[..Self::SIZE].copy_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut b = [0u8; core::mem::size_of::<$t>()];
                b.copy_from_slice(&bytes[..Self::SIZE]);
                <$t>::from_le_bytes(b)
            }
        }
    )*};
}
wire_int!(u32, u64);

impl<const N: usize> WireField for [u64; N] {
    const SIZE: usize = 8 * N;
    fn put(&self, out: &mut [u8]) {
        for (i, v) in self.iter().enumerate() {
            v.put(&mut out[i * 8..]);
        }
    }
    fn get(bytes: &[u8]) -> Self {
        core::array::from_fn(|i| u64::get(&bytes[i * 8..]))
    }
}

/// A fixed-layout structure of [`WireField`]s with `SIZE`, `encode` and
/// `decode` (used here and in [`crate::net`]).
macro_rules! wire_struct {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }

        impl $name {
            /// Encoded size in bytes.
            pub const SIZE: usize = 0 $(+ <$ty as WireField>::SIZE)*;

            pub fn encode(&self) -> [u8; Self::SIZE] {
                let mut out = [0u8; Self::SIZE];
                let mut _at = 0usize;
                $(
                    self.$field.put(&mut out[_at..]);
                    _at += <$ty as WireField>::SIZE;
                )*
                out
            }

            /// Decode from the start of `bytes`; `None` if it is too short.
            pub fn decode(bytes: &[u8]) -> Option<Self> {
                if bytes.len() < Self::SIZE {
                    return None;
                }
                let mut _at = 0usize;
                $(
                    let $field = <$ty as WireField>::get(&bytes[_at..]);
                    _at += <$ty as WireField>::SIZE;
                )*
                Some($name { $($field),* })
            }
        }
    };
}

pub(crate) use wire_struct;

wire_struct! {
    /// Written at the start of the `recv` buffer.
    pub struct Header {
        /// A [`Kind`] value.
        pub kind: u32,
        /// The sending task (the faulting or trapping task for Linux traps and
        /// faults, 0 for notifications).
        pub sender: u32,
        /// Full payload length (it may have been truncated to the buffer).
        pub len: u32,
        pub reserved: u32,
    }
}

impl Header {
    pub fn kind(&self) -> Option<Kind> {
        Kind::from_u32(self.kind)
    }
    pub fn sender(&self) -> TaskId {
        TaskId(self.sender)
    }
}

/// Which trap a Linux system call came through; it decides the argument
/// registers and the call-number table.
#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinuxAbi {
    /// `syscall` from 64-bit code: number in rax, args rdi, rsi, rdx, r10, r8, r9.
    X86_64 = 0,
    /// `int 0x80` (from 32-bit or 64-bit code): number in eax, args ebx, ecx,
    /// edx, esi, edi, ebp (zero-extended).
    I386 = 1,
}

wire_struct! {
    /// Payload of [`Kind::LinuxSyscall`]: the trap, decoded per ABI by the kernel.
    pub struct LinuxSyscall {
        /// A [`LinuxAbi`] value.
        pub abi: u32,
        pub reserved: u32,
        /// The system call number (of the table of that ABI).
        pub nr: u64,
        pub args: [u64; 6],
        /// User instruction pointer after the trapping instruction.
        pub rip: u64,
        pub rsp: u64,
    }
}

impl LinuxSyscall {
    pub fn abi(&self) -> LinuxAbi {
        if self.abi == LinuxAbi::I386 as u32 {
            LinuxAbi::I386
        } else {
            LinuxAbi::X86_64
        }
    }
}

/// A [`LinuxSyscall`] returned by `linux_reply_recv` in the receiver's
/// registers: the six arguments where Linux's x86_64 ABI has them, the rest
/// in r12-r15. `rax` holds the length a `recv` would have returned
/// (`Header::SIZE + LinuxSyscall::SIZE`); the message is in registers only
/// when `r15` has [`InRegs::MARK`], otherwise it was written to the buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct InRegs {
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub r10: u64,
    pub r8: u64,
    pub r9: u64,
    /// The call number.
    pub r12: u64,
    /// The user rip after the trapping instruction.
    pub r13: u64,
    /// The user rsp.
    pub r14: u64,
    /// [`InRegs::MARK`] | the [`LinuxAbi`] << 32 | the sending task's id.
    pub r15: u64,
}

impl InRegs {
    pub const MARK: u64 = 1 << 63;

    pub fn of(sender: u32, m: &LinuxSyscall) -> InRegs {
        let a = m.args;
        InRegs { rdi: a[0], rsi: a[1], rdx: a[2], r10: a[3], r8: a[4], r9: a[5], r12: m.nr, r13: m.rip, r14: m.rsp, r15: Self::MARK | (m.abi as u64) << 32 | sender as u64 }
    }

    /// The message, or `None` when `r15` says it is in the buffer.
    pub fn message(&self) -> Option<(Header, LinuxSyscall)> {
        if self.r15 & Self::MARK == 0 {
            return None;
        }
        let abi = (self.r15 >> 32) as u32 & 0x7fff_ffff;
        let h = Header { kind: Kind::LinuxSyscall as u32, sender: self.r15 as u32, len: LinuxSyscall::SIZE as u32, reserved: 0 };
        let args = [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9];
        Some((h, LinuxSyscall { abi, reserved: 0, nr: self.r12, args, rip: self.r13, rsp: self.r14 }))
    }
}

wire_struct! {
    /// Payload of [`Kind::Fault`].
    pub struct Fault {
        /// The exception vector (14 page fault, 13 general protection, 6 invalid
        /// opcode, 0 divide error, ...).
        pub vector: u64,
        /// The CPU's error code (0 when the exception has none).
        pub error_code: u64,
        /// The faulting address (CR2) for page faults, else 0.
        pub addr: u64,
        pub rip: u64,
        pub rsp: u64,
    }
}

/// [`Fault::vector`] of a task its handler stopped with `task_interrupt`:
/// not an exception; the registers are where the task was computing.
pub const VECTOR_INTERRUPT: u64 = 256;

/// Page-fault error code bits.
pub mod pf {
    pub const PRESENT: u64 = 1;
    pub const WRITE: u64 = 2;
    pub const USER: u64 = 4;
    pub const INSTRUCTION: u64 = 16;
    /// Not the CPU's: set by the kernel when a write to a copy-on-write
    /// page could not get its copy (the space's memory account or the
    /// node's frames are exhausted).
    pub const NO_MEMORY: u64 = 1 << 32;
}

wire_struct! {
    /// What a Linux task (or a faulted task) gets from its handler through `reply`.
    pub struct LinuxReply {
        /// [`reply_flags`] bits.
        pub flags: u64,
        /// The value for `rax` (a Linux result: >= 0 or -errno).
        pub rax: u64,
    }
}

/// Bits of [`LinuxReply::flags`].
pub mod reply_flags {
    /// Leave the registers as they are (set them with `task_set_regs` first):
    /// used after exec, signal delivery and fault fix-ups.
    pub const KEEP_REGS: u64 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_syscall_round_trips_through_registers() {
        for abi in [LinuxAbi::X86_64, LinuxAbi::I386] {
            let m = LinuxSyscall { abi: abi as u32, reserved: 0, nr: 110, args: [1, 2, 3, 4, 5, u64::MAX], rip: 0x40_1000, rsp: 0x7fff_0000 };
            let (h, back) = InRegs::of(0xabcd_1234, &m).message().unwrap();
            assert_eq!(back, m);
            assert_eq!((h.kind(), h.sender, h.len as usize), (Some(Kind::LinuxSyscall), 0xabcd_1234, LinuxSyscall::SIZE));
        }
        assert_eq!(InRegs::default().message(), None);
    }

    #[test]
    fn structs_round_trip() {
        let s = LinuxSyscall { abi: 1, reserved: 0, nr: 4, args: [1, 2, 3, 4, 5, 6], rip: 0x401000, rsp: 0x7ffe0000 };
        let b = s.encode();
        assert_eq!(b.len(), LinuxSyscall::SIZE);
        assert_eq!(LinuxSyscall::SIZE, 8 + 8 + 48 + 16);
        assert_eq!(LinuxSyscall::decode(&b), Some(s));
        assert_eq!(LinuxSyscall::decode(&b[..10]), None);
        let h = Header { kind: Kind::Fault as u32, sender: 7, len: Fault::SIZE as u32, reserved: 0 };
        assert_eq!(Header::decode(&h.encode()), Some(h));
        assert_eq!(Header::SIZE, 16);
    }
}
