//! Signals: numbers, default actions, the per-process signal state, and the
//! layouts of `struct sigaction` and `stack_t` per ABI.

use crate::layout::Abi;

pub const SIGHUP: u8 = 1;
pub const SIGINT: u8 = 2;
pub const SIGQUIT: u8 = 3;
pub const SIGKILL: u8 = 9;
pub const SIGPIPE: u8 = 13;
pub const SIGALRM: u8 = 14;
pub const SIGTERM: u8 = 15;
pub const SIGCHLD: u8 = 17;
pub const SIGCONT: u8 = 18;
pub const SIGSTOP: u8 = 19;
pub const SIGTSTP: u8 = 20;
pub const SIGTTIN: u8 = 21;
pub const SIGTTOU: u8 = 22;
pub const SIGURG: u8 = 23;
pub const SIGWINCH: u8 = 28;
/// Highest signal number (real-time signals included).
pub const NSIG: u8 = 64;

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

pub const SA_NOCLDSTOP: u64 = 1;
pub const SA_NOCLDWAIT: u64 = 2;
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const MINSIGSTKSZ: u64 = 2048;

/// The bit of signal `sig` in a signal set.
pub const fn bit(sig: u8) -> u64 {
    1u64 << (sig - 1)
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);

/// What a signal does when its action is SIG_DFL.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Default {
    Terminate,
    /// Terminate with a core dump (SiON writes none: as Terminate, reported as dumped).
    Core,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: u8) -> Default {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => Default::Ignore,
        SIGCONT => Default::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Default::Stop,
        // SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGSEGV SIGXCPU SIGXFSZ SIGSYS
        3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31 => Default::Core,
        _ => Default::Terminate,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, core::default::Default)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

impl SigAction {
    /// `struct sigaction` as rt_sigaction takes it (x86_64: handler, flags,
    /// restorer, mask as 8-byte words; i386: 4-byte handler, flags, restorer,
    /// then the 8-byte mask).
    pub fn size(abi: Abi) -> usize {
        match abi {
            Abi::X86_64 => 32,
            Abi::I386 => 20,
        }
    }
    pub fn decode(abi: Abi, b: &[u8]) -> SigAction {
        let w64 = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        let w32 = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4])) as u64;
        match abi {
            Abi::X86_64 => SigAction { handler: w64(0), flags: w64(8), restorer: w64(16), mask: w64(24) },
            Abi::I386 => SigAction { handler: w32(0), flags: w32(4), restorer: w32(8), mask: w64(12) },
        }
    }
    pub fn encode(&self, abi: Abi) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec::Vec::new();
        match abi {
            Abi::X86_64 => {
                for w in [self.handler, self.flags, self.restorer, self.mask] {
                    v.extend_from_slice(&w.to_le_bytes());
                }
            }
            Abi::I386 => {
                for w in [self.handler, self.flags, self.restorer] {
                    v.extend_from_slice(&(w as u32).to_le_bytes());
                }
                v.extend_from_slice(&self.mask.to_le_bytes());
            }
        }
        v
    }
    /// The i386 `old_sigaction` of sigaction(2): handler, 32-bit mask, flags, restorer.
    pub fn decode_old(b: &[u8]) -> SigAction {
        let w = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4])) as u64;
        SigAction { handler: w(0), mask: w(4), flags: w(8), restorer: w(12) }
    }
    pub fn encode_old(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec::Vec::new();
        for w in [self.handler, self.mask & 0xffff_ffff, self.flags, self.restorer] {
            v.extend_from_slice(&(w as u32).to_le_bytes());
        }
        v
    }
}

/// A process's signals: actions, blocked set, pending set, alternate stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signals {
    /// Index = signal number (0 unused).
    pub actions: [SigAction; NSIG as usize + 1],
    pub mask: u64,
    pub pending: u64,
    /// sigaltstack: (ss_sp, ss_flags, ss_size).
    pub altstack: (u64, u32, u64),
}

impl core::default::Default for Signals {
    fn default() -> Self {
        Signals { actions: [SigAction::default(); NSIG as usize + 1], mask: 0, pending: 0, altstack: (0, SS_DISABLE, 0) }
    }
}

/// What happens to a signal sent to a process now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Disposition {
    /// Dropped (ignored explicitly or by default).
    Discard,
    /// Kept pending: blocked, or caught by a handler.
    Pending,
    /// The process dies of it.
    Terminate { core: bool },
    Stop,
    Continue,
}

impl Signals {
    pub fn action(&self, sig: u8) -> SigAction {
        self.actions[sig as usize]
    }

    /// Is the signal ignored (explicitly, or by default)?
    pub fn ignored(&self, sig: u8) -> bool {
        let a = self.action(sig);
        a.handler == SIG_IGN || (a.handler == SIG_DFL && default_action(sig) == Default::Ignore)
    }

    /// What a signal arriving now does.
    pub fn disposition(&self, sig: u8) -> Disposition {
        if sig == SIGKILL {
            return Disposition::Terminate { core: false };
        }
        if sig == SIGSTOP {
            return Disposition::Stop;
        }
        if self.ignored(sig) {
            // SIGCONT continues even when ignored.
            return if sig == SIGCONT { Disposition::Continue } else { Disposition::Discard };
        }
        if self.mask & bit(sig) != 0 || self.action(sig).handler != SIG_DFL {
            return Disposition::Pending;
        }
        match default_action(sig) {
            Default::Terminate => Disposition::Terminate { core: false },
            Default::Core => Disposition::Terminate { core: true },
            Default::Ignore => Disposition::Discard,
            Default::Stop => Disposition::Stop,
            Default::Continue => Disposition::Continue,
        }
    }

    /// After execve: caught signals go back to their default action; ignored
    /// ones stay ignored; the mask and pending set survive; no alternate stack.
    pub fn reset_for_exec(&mut self) {
        for a in self.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            } else {
                a.flags = 0;
            }
        }
        self.altstack = (0, SS_DISABLE, 0);
    }
}

/// The wait status of a process that exited with `code` or died of `sig`.
pub fn wait_status(exit: sion_abi::console::Exit, core: bool) -> u32 {
    match exit {
        sion_abi::console::Exit::Code(c) => (c as u32) << 8,
        sion_abi::console::Exit::Signal(s) => s as u32 | if core { 0x80 } else { 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions() {
        let mut s = Signals::default();
        assert_eq!(s.disposition(SIGCHLD), Disposition::Discard);
        assert_eq!(s.disposition(SIGPIPE), Disposition::Terminate { core: false });
        assert_eq!(s.disposition(11), Disposition::Terminate { core: true });
        s.actions[SIGPIPE as usize].handler = SIG_IGN;
        assert_eq!(s.disposition(SIGPIPE), Disposition::Discard);
        s.mask = bit(SIGTERM);
        assert_eq!(s.disposition(SIGTERM), Disposition::Pending);
        assert_eq!(s.disposition(SIGKILL), Disposition::Terminate { core: false });
        s.actions[SIGINT as usize].handler = 0x401000;
        assert_eq!(s.disposition(SIGINT), Disposition::Pending);
        s.reset_for_exec();
        assert_eq!(s.action(SIGINT).handler, SIG_DFL);
        assert_eq!(s.action(SIGPIPE).handler, SIG_IGN);
    }

    #[test]
    fn sigaction_layouts_round_trip() {
        let a = SigAction { handler: 0x1234, flags: SA_RESTORER | SA_RESTART, restorer: 0x5678, mask: bit(SIGINT) | bit(40) };
        for abi in [Abi::X86_64, Abi::I386] {
            let b = a.encode(abi);
            assert_eq!(b.len(), SigAction::size(abi));
            assert_eq!(SigAction::decode(abi, &b), a);
        }
        let old = SigAction { mask: bit(SIGINT), ..a };
        assert_eq!(SigAction::decode_old(&old.encode_old()), old);
    }

    #[test]
    fn wait_statuses() {
        assert_eq!(wait_status(sion_abi::console::Exit::Code(3), false), 0x300);
        assert_eq!(wait_status(sion_abi::console::Exit::Signal(9), false), 9);
        assert_eq!(wait_status(sion_abi::console::Exit::Signal(11), true), 0x8b);
    }
}
