//! Signals: numbers, default actions, the per-process signal state, and the
//! layouts of `struct sigaction` and `stack_t` per ABI.

use crate::layout::Abi;
use sion_abi::regs::TaskRegs;

pub const SIGHUP: u8 = 1;
pub const SIGINT: u8 = 2;
pub const SIGQUIT: u8 = 3;
pub const SIGILL: u8 = 4;
pub const SIGTRAP: u8 = 5;
pub const SIGBUS: u8 = 7;
pub const SIGFPE: u8 = 8;
pub const SIGKILL: u8 = 9;
pub const SIGSEGV: u8 = 11;
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
pub const SIGXCPU: u8 = 24;
pub const SIGIO: u8 = 29;
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

/// The signals of `set`, lowest first (checked on every call: an empty set
/// costs one test).
pub fn signals_in(mut set: u64) -> impl Iterator<Item = u8> {
    core::iter::from_fn(move || {
        if set == 0 {
            return None;
        }
        let sig = set.trailing_zeros() as u8 + 1;
        set &= set - 1;
        Some(sig)
    })
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);

/// What a signal does when its action is SIG_DFL.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DefaultAction {
    Terminate,
    /// Terminate with a core dump (`Procs::exit`, `process/dump.rs`).
    Core,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: u8) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        // SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGSEGV SIGXCPU SIGXFSZ SIGSYS
        3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31 => DefaultAction::Core,
        _ => DefaultAction::Terminate,
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
    /// The served thread's mask.
    pub mask: u64,
    /// Sent to the process (any thread that does not block them takes them).
    pub pending: u64,
    /// Sent to the served thread alone (tkill, tgkill).
    pub private: u64,
    /// sigaltstack: (ss_sp, ss_flags, ss_size).
    pub altstack: (u64, u32, u64),
    /// What the handler of each pending signal will be told.
    /// (Real-time signals queue every instance; a standard one keeps its first.)
    pub info: sion_vecmap::VecMap<u8, alloc::collections::VecDeque<SigInfo>>,
    /// The mask before sigsuspend (restored after its handler).
    pub suspend_mask: Option<u64>,
}

impl core::default::Default for Signals {
    fn default() -> Self {
        Signals { actions: [SigAction::default(); NSIG as usize + 1], mask: 0, pending: 0, private: 0, altstack: (0, SS_DISABLE, 0), info: sion_vecmap::VecMap::new(), suspend_mask: None }
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
        a.handler == SIG_IGN || (a.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
    }

    /// What a signal arriving now does.
    pub fn disposition(&self, sig: u8) -> Disposition {
        self.disposition_masked(sig, self.mask)
    }

    /// What a signal arriving now does when `mask` blocks signals (for a
    /// process: what every thread blocks).
    pub fn disposition_masked(&self, sig: u8, mask: u64) -> Disposition {
        if sig == SIGKILL {
            return Disposition::Terminate { core: false };
        }
        if sig == SIGSTOP {
            return Disposition::Stop;
        }
        // An ignored signal is discarded, unless blocked: Linux keeps a
        // blocked one pending (sigtimedwait and signalfd may take it).
        // SIGCONT continues even when ignored.
        if self.ignored(sig) && (sig == SIGCONT || mask & bit(sig) == 0) {
            return if sig == SIGCONT { Disposition::Continue } else { Disposition::Discard };
        }
        if mask & bit(sig) != 0 || self.action(sig).handler != SIG_DFL {
            return Disposition::Pending;
        }
        match default_action(sig) {
            DefaultAction::Terminate => Disposition::Terminate { core: false },
            DefaultAction::Core => Disposition::Terminate { core: true },
            DefaultAction::Ignore => Disposition::Discard,
            DefaultAction::Stop => Disposition::Stop,
            DefaultAction::Continue => Disposition::Continue,
        }
    }

    /// The lowest pending signal a handler should run for now.
    pub fn deliverable(&self) -> Option<u8> {
        self.deliverable_to(self.mask, self.private)
    }

    /// The lowest pending signal a thread with `mask` and its own pending
    /// set `private` should run a handler for.
    pub fn deliverable_to(&self, mask: u64, private: u64) -> Option<u8> {
        let ready = (self.pending | private) & !mask;
        signals_in(ready).find(|&s| self.action(s).handler != SIG_DFL && self.action(s).handler != SIG_IGN)
    }

    /// Take the lowest pending signal of `set` (the thread's own first) and
    /// what its receiver is told.
    pub fn dequeue(&mut self, set: u64) -> Option<(u8, SigInfo)> {
        let ready = (self.pending | self.private) & set;
        let sig = signals_in(ready).next()?;
        Some((sig, self.take(sig)))
    }

    /// Record what the receiver of `sig` will be told, `was_pending` if it
    /// already was: real-time signals queue every instance, a standard
    /// signal keeps its first.
    pub fn record(&mut self, sig: u8, info: SigInfo, was_pending: bool) {
        let q = self.info.entry(sig).or_default();
        if sig >= SIGRTMIN {
            q.push_back(info);
        } else if !was_pending || q.is_empty() {
            q.clear();
            q.push_back(info);
        }
    }

    /// Take one instance of `sig` (the thread's own first) and what its
    /// receiver is told; it stays pending while real-time instances remain.
    pub fn take(&mut self, sig: u8) -> SigInfo {
        let info = self.info.get_mut(&sig).and_then(|q| q.pop_front()).unwrap_or(SigInfo { signo: sig, ..Default::default() });
        if self.info.get(&sig).is_none_or(|q| q.is_empty()) {
            self.info.remove(&sig);
            if self.private & bit(sig) != 0 {
                self.private &= !bit(sig);
            } else {
                self.pending &= !bit(sig);
            }
        }
        info
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
    fn signals_in_lists_a_set_lowest_first() {
        assert_eq!(signals_in(0).count(), 0);
        let set = bit(1) | bit(9) | bit(17) | bit(64);
        assert_eq!(signals_in(set).collect::<alloc::vec::Vec<u8>>(), [1, 9, 17, 64]);
    }

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

// ----- delivery: the frames a handler runs on, and sigreturn -----

pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = -6;
pub const SI_QUEUE: i32 = -1;
/// A POSIX timer expired (its id in `pid`, its overruns in `uid`: the `_timer` layout).
pub const SI_TIMER: i32 = -2;
/// The first real-time signal (the kernel's; libcs keep two or three).
pub const SIGRTMIN: u8 = 32;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRERR: i32 = 2;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// What a handler learns of a signal (the fields of siginfo_t SiON fills).
#[derive(Clone, Copy, Debug, PartialEq, Eq, core::default::Default)]
pub struct SigInfo {
    pub signo: u8,
    pub code: i32,
    /// Sender (kill) or child (SIGCHLD).
    pub pid: u32,
    pub uid: u32,
    /// The faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE).
    pub addr: Option<u64>,
    /// SIGCHLD: exit code or signal.
    pub status: Option<i32>,
    /// sigqueue's value (si_value).
    pub value: Option<u64>,
    /// SIGIO of O_ASYNC and dnotify with F_SETSIG: (si_band, si_fd).
    pub poll: Option<(i64, i32)>,
}

impl SigInfo {
    /// SIGCHLD's siginfo for a child that ended (waitid writes the same).
    pub fn child(pid: u32, uid: u32, exit: sion_abi::console::Exit) -> SigInfo {
        Self::child_core(pid, uid, exit, false)
    }

    /// The same for a child whose end dumped core (`core`): CLD_DUMPED.
    pub fn child_core(pid: u32, uid: u32, exit: sion_abi::console::Exit, core: bool) -> SigInfo {
        let (code, status) = match exit {
            sion_abi::console::Exit::Code(c) => (CLD_EXITED, c as i32),
            sion_abi::console::Exit::Signal(s) if core => (CLD_DUMPED, s as i32),
            sion_abi::console::Exit::Signal(s) => (CLD_KILLED, s as i32),
        };
        SigInfo { signo: SIGCHLD, code, pid, uid, addr: None, status: Some(status), value: None, poll: None }
    }

    /// What a program put in the siginfo_t it gave rt_sigqueueinfo.
    pub fn decode_queued(abi: Abi, signo: u8, b: &[u8]) -> SigInfo {
        let w = |i: usize| u32::from_le_bytes(b.get(i..i + 4).and_then(|s| s.try_into().ok()).unwrap_or([0; 4]));
        let u = if abi == Abi::X86_64 { 16 } else { 12 };
        let value = if abi == Abi::X86_64 { w(u + 8) as u64 | (w(u + 12) as u64) << 32 } else { w(u + 8) as u64 };
        SigInfo { signo, code: w(8) as i32, pid: w(u), uid: w(u + 4), addr: None, status: None, value: Some(value), poll: None }
    }

    /// siginfo_t (128 bytes); the union starts at 16 (x86_64) or 12 (i386).
    pub fn encode(&self, abi: Abi) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&(self.signo as i32).to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        let u = if abi == Abi::X86_64 { 16 } else { 12 };
        if let Some((band, fd)) = self.poll {
            // SIGPOLL's fields: long si_band, int si_fd.
            let w = if abi == Abi::X86_64 { 8 } else { 4 };
            b[u..u + w].copy_from_slice(&band.to_le_bytes()[..w]);
            b[u + w..u + w + 4].copy_from_slice(&fd.to_le_bytes());
            return b;
        }
        match self.addr {
            Some(a) if abi == Abi::X86_64 => b[u..u + 8].copy_from_slice(&a.to_le_bytes()),
            Some(a) => b[u..u + 4].copy_from_slice(&(a as u32).to_le_bytes()),
            None => {
                b[u..u + 4].copy_from_slice(&self.pid.to_le_bytes());
                b[u + 4..u + 8].copy_from_slice(&self.uid.to_le_bytes());
                if let Some(s) = self.status {
                    b[u + 8..u + 12].copy_from_slice(&s.to_le_bytes());
                }
                match self.value {
                    Some(v) if abi == Abi::X86_64 => b[u + 8..u + 16].copy_from_slice(&v.to_le_bytes()),
                    Some(v) => b[u + 8..u + 12].copy_from_slice(&(v as u32).to_le_bytes()),
                    None => {}
                }
            }
        }
        b
    }
}

/// A frame to write at `sp` and the registers the handler starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub sp: u64,
    pub bytes: alloc::vec::Vec<u8>,
    pub regs: TaskRegs,
}

/// Which frame a handler got: it decides how sigreturn finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// x86_64 rt_sigframe, i386 rt_sigframe (SA_SIGINFO).
    Rt,
    /// i386 sigframe (no SA_SIGINFO), returned from by sigreturn(119).
    Plain32,
}

const X64_FRAME: u64 = 8 + 304 + 128;
const X64_UC: usize = 8;
const X64_MCTX: usize = X64_UC + 40;
const X64_MASK: usize = X64_UC + 296;
const X64_INFO: usize = 312;
const I386_RT_FRAME: u64 = 268;
const I386_PLAIN_FRAME: u64 = 108;
/// Arithmetic and control flags a frame may give back (Linux's FIX_EFLAGS).
const FIX_EFLAGS: u64 = 0x40dd5;
const USER_CS32: u64 = 0x1b;
const USER_DS: u64 = 0x23;

fn put(b: &mut [u8], at: usize, v: u64, size: usize) {
    b[at..at + size].copy_from_slice(&v.to_le_bytes()[..size]);
}

fn get(b: &[u8], at: usize, size: usize) -> u64 {
    let mut w = [0u8; 8];
    w[..size].copy_from_slice(&b[at..at + size]);
    u64::from_le_bytes(w)
}

/// The stack a handler runs on: the alternate stack when asked for and not
/// already on it, else below the interrupted stack (past x86_64's red zone).
fn stack_top(abi: Abi, regs: &TaskRegs, act: &SigAction, alt: (u64, u32, u64)) -> u64 {
    let sp = if abi == Abi::X86_64 { regs.rsp } else { regs.rsp & 0xffff_ffff };
    let on_alt = alt.1 & SS_DISABLE == 0 && sp > alt.0 && sp <= alt.0 + alt.2;
    if act.flags & SA_ONSTACK != 0 && alt.1 & SS_DISABLE == 0 && !on_alt {
        return alt.0 + alt.2;
    }
    if abi == Abi::X86_64 {
        sp - 128
    } else {
        sp
    }
}

/// Build the frame for delivering `info.signo` with action `act` to a task
/// stopped with `regs`; `old_mask` is the mask sigreturn restores. `None`
/// when the stack would wrap (the caller kills the process with SIGSEGV).
///
/// `fpu`, the task's FXSAVE image, goes above the frame (64-byte aligned, as
/// Linux places it) and the frame's `fpstate` points at it, so a handler
/// that interrupted floating-point code gives it back intact at sigreturn.
pub fn frame(abi: Abi, regs: &TaskRegs, act: &SigAction, info: &SigInfo, old_mask: u64, alt: (u64, u32, u64), fpu: Option<&[u8; FPU_SIZE]>) -> Option<Frame> {
    let top = stack_top(abi, regs, act, alt);
    let Some(fpu) = fpu else { return frame_below(abi, top, regs, act, info, old_mask, alt, 0) };
    let fp = top.checked_sub(fpstate_size(abi))? & !63;
    let mut f = frame_below(abi, fp, regs, act, info, old_mask, alt, fp)?;
    let at = (fp - f.sp) as usize;
    f.bytes.resize(at + fpstate_size(abi) as usize, 0);
    match abi {
        Abi::X86_64 => f.bytes[at..].copy_from_slice(fpu),
        Abi::I386 => fpstate32(&mut f.bytes[at..], fpu),
    }
    Some(f)
}

/// Bytes of the FXSAVE image the kernel gives (`task_get_fpu`).
pub const FPU_SIZE: usize = 512;
/// Where the FXSAVE image starts in i386's `struct _fpstate_32` (after the
/// legacy FSAVE-format header, `status` and `magic`).
const FPSTATE32_FXSAVE: u64 = 112;

fn fpstate_size(abi: Abi) -> u64 {
    match abi {
        Abi::X86_64 => FPU_SIZE as u64,
        Abi::I386 => FPSTATE32_FXSAVE + FPU_SIZE as u64,
    }
}

/// i386's `struct _fpstate_32`: the FSAVE-format environment and registers
/// (converted from the FXSAVE image as Linux's `convert_from_fxsr` does),
/// `magic` 0 (FXSR data follows), then the FXSAVE image itself.
fn fpstate32(out: &mut [u8], fx: &[u8; FPU_SIZE]) {
    let w = |at: usize, n: usize| get(fx, at, n);
    let (fcw, fsw, ftw, fop) = (w(0, 2), w(2, 2), w(4, 1), w(6, 2));
    let top = (fsw >> 11) & 7;
    let mut tag = 0u64;
    for phys in 0..8u64 {
        let st = ((phys + 8 - top) & 7) as usize;
        let reg = &fx[32 + st * 16..32 + st * 16 + 10];
        let t = if ftw & (1 << phys) == 0 {
            3 // empty
        } else {
            let exp = get(reg, 8, 2) & 0x7fff;
            let mant = get(reg, 0, 8);
            match exp {
                0x7fff => 2,
                0 if mant == 0 => 1,
                0 => 2,
                _ if mant >> 63 == 0 => 2,
                _ => 0,
            }
        };
        tag |= t << (phys * 2);
    }
    let words = [fcw | 0xffff_0000, fsw | 0xffff_0000, tag | 0xffff_0000, w(8, 4), w(12, 2) | fop << 16, w(16, 4), w(20, 2) | 0xffff_0000];
    for (i, v) in words.iter().enumerate() {
        put(out, i * 4, *v, 4);
    }
    for st in 0..8 {
        out[28 + st * 10..38 + st * 10].copy_from_slice(&fx[32 + st * 16..42 + st * 16]);
    }
    put(out, 108, fsw, 2); // status
    put(out, 110, 0, 2); // magic: X86_FXSR_MAGIC
    out[FPSTATE32_FXSAVE as usize..].copy_from_slice(fx);
}

/// The frame proper, below `top`; `fpstate` is what its sigcontext points at.
#[allow(clippy::too_many_arguments)]
fn frame_below(abi: Abi, top: u64, regs: &TaskRegs, act: &SigAction, info: &SigInfo, old_mask: u64, alt: (u64, u32, u64), fpstate: u64) -> Option<Frame> {
    let alt_flags = if alt.1 & SS_DISABLE != 0 { SS_DISABLE as u64 } else { 0 };
    let mut r = *regs;
    r.rflags &= !(0x400 | 0x100); // DF, TF
    match abi {
        Abi::X86_64 => {
            let sp = (top.checked_sub(X64_FRAME)? & !15) - 8;
            let mut b = alloc::vec![0u8; X64_FRAME as usize];
            put(&mut b, 0, act.restorer, 8);
            put(&mut b, X64_UC + 16, alt.0, 8);
            put(&mut b, X64_UC + 24, alt_flags, 4);
            put(&mut b, X64_UC + 32, alt.2, 8);
            let words = [regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15, regs.rdi, regs.rsi, regs.rbp, regs.rbx, regs.rdx, regs.rax, regs.rcx, regs.rsp, regs.rip, regs.rflags, 0x2b | (USER_DS << 48)];
            for (i, w) in words.iter().enumerate() {
                put(&mut b, X64_MCTX + i * 8, *w, 8);
            }
            put(&mut b, X64_MCTX + 21 * 8, old_mask, 8); // oldmask
            put(&mut b, X64_MCTX + 22 * 8, info.addr.unwrap_or(0), 8); // cr2
            put(&mut b, X64_MCTX + 23 * 8, fpstate, 8);
            put(&mut b, X64_MASK, old_mask, 8);
            b[X64_INFO..X64_INFO + 128].copy_from_slice(&info.encode(abi));
            r.rip = act.handler;
            r.rsp = sp;
            r.rdi = info.signo as u64;
            r.rsi = sp + X64_INFO as u64;
            r.rdx = sp + X64_UC as u64;
            r.rax = 0;
            Some(Frame { sp, bytes: b, regs: r })
        }
        Abi::I386 if act.flags & SA_SIGINFO != 0 => {
            let sp = (top.checked_sub(I386_RT_FRAME)? & !15) - 4;
            let mut b = alloc::vec![0u8; I386_RT_FRAME as usize];
            let pretcode = if act.flags & SA_RESTORER != 0 { act.restorer } else { sp + 260 };
            put(&mut b, 0, pretcode, 4);
            put(&mut b, 4, info.signo as u64, 4);
            put(&mut b, 8, sp + 16, 4);
            put(&mut b, 12, sp + 144, 4);
            b[16..144].copy_from_slice(&info.encode(abi));
            put(&mut b, 152, alt.0, 4);
            put(&mut b, 156, alt_flags, 4);
            put(&mut b, 160, alt.2, 4);
            sigcontext32(&mut b[164..252], regs, old_mask, info, fpstate);
            put(&mut b, 252, old_mask, 8);
            // movl $173, %eax; int $0x80
            b[260..267].copy_from_slice(&[0xb8, 173, 0, 0, 0, 0xcd, 0x80]);
            r.rip = act.handler;
            r.rsp = sp;
            r.rax = info.signo as u64;
            r.rdx = sp + 16;
            r.rcx = sp + 144;
            Some(Frame { sp, bytes: b, regs: r })
        }
        Abi::I386 => {
            let sp = (top.checked_sub(I386_PLAIN_FRAME)? & !15) - 4;
            let mut b = alloc::vec![0u8; I386_PLAIN_FRAME as usize];
            let pretcode = if act.flags & SA_RESTORER != 0 { act.restorer } else { sp + 100 };
            put(&mut b, 0, pretcode, 4);
            put(&mut b, 4, info.signo as u64, 4);
            sigcontext32(&mut b[8..96], regs, old_mask, info, fpstate);
            put(&mut b, 96, old_mask >> 32, 4);
            // popl %eax; movl $119, %eax; int $0x80
            b[100..108].copy_from_slice(&[0x58, 0xb8, 119, 0, 0, 0, 0xcd, 0x80]);
            r.rip = act.handler;
            r.rsp = sp;
            r.rax = info.signo as u64;
            r.rdx = 0;
            r.rcx = 0;
            Some(Frame { sp, bytes: b, regs: r })
        }
    }
}

/// struct sigcontext of i386 (22 words).
fn sigcontext32(b: &mut [u8], regs: &TaskRegs, old_mask: u64, info: &SigInfo, fpstate: u64) {
    let words = [regs.gs_sel, regs.fs_sel, USER_DS, USER_DS, regs.rdi, regs.rsi, regs.rbp, regs.rsp, regs.rbx, regs.rdx, regs.rcx, regs.rax, 0, 0, regs.rip, USER_CS32, regs.rflags, regs.rsp, USER_DS, fpstate, old_mask & 0xffff_ffff, info.addr.unwrap_or(0)];
    for (i, w) in words.iter().enumerate() {
        put(b, i * 4, *w & 0xffff_ffff, 4);
    }
}

/// Where sigreturn finds the frame, given the stack pointer at the call
/// (the handler's return popped the return address; i386's plain restorer
/// also popped the signal number), and how many bytes it spans.
pub fn frame_at(abi: Abi, kind: FrameKind, sp: u64) -> (u64, usize) {
    match (abi, kind) {
        (Abi::X86_64, _) => (sp.wrapping_sub(8), X64_FRAME as usize),
        (Abi::I386, FrameKind::Rt) => (sp.wrapping_sub(4) & 0xffff_ffff, I386_RT_FRAME as usize),
        (Abi::I386, FrameKind::Plain32) => (sp.wrapping_sub(8) & 0xffff_ffff, I386_PLAIN_FRAME as usize),
    }
}

/// Where the FXSAVE image a frame points at is (0: the frame has none),
/// as sigreturn finds it in the frame's bytes.
pub fn fxsave_at(abi: Abi, kind: FrameKind, b: &[u8]) -> u64 {
    let p = match (abi, kind) {
        (Abi::X86_64, _) => get(b, X64_MCTX + 23 * 8, 8),
        (Abi::I386, FrameKind::Rt) => get(b, 164 + 19 * 4, 4),
        (Abi::I386, FrameKind::Plain32) => get(b, 8 + 19 * 4, 4),
    };
    match (abi, p) {
        (_, 0) => 0,
        (Abi::X86_64, p) => p,
        (Abi::I386, p) => (p + FPSTATE32_FXSAVE) & 0xffff_ffff,
    }
}

/// Restore the registers a frame saved into `regs`; returns the signal mask
/// to go back to.
pub fn restore(abi: Abi, kind: FrameKind, b: &[u8], regs: &mut TaskRegs) -> u64 {
    let flags = |saved: u64, cur: u64| (cur & !FIX_EFLAGS) | (saved & FIX_EFLAGS);
    match abi {
        Abi::X86_64 => {
            let w = |i: usize| get(b, X64_MCTX + i * 8, 8);
            regs.r8 = w(0);
            regs.r9 = w(1);
            regs.r10 = w(2);
            regs.r11 = w(3);
            regs.r12 = w(4);
            regs.r13 = w(5);
            regs.r14 = w(6);
            regs.r15 = w(7);
            regs.rdi = w(8);
            regs.rsi = w(9);
            regs.rbp = w(10);
            regs.rbx = w(11);
            regs.rdx = w(12);
            regs.rax = w(13);
            regs.rcx = w(14);
            regs.rsp = w(15);
            regs.rip = w(16);
            regs.rflags = flags(w(17), regs.rflags);
            get(b, X64_MASK, 8)
        }
        Abi::I386 => {
            let (sc, mask) = match kind {
                FrameKind::Rt => (164, get(b, 252, 8)),
                FrameKind::Plain32 => (8, get(b, 8 + 20 * 4, 4) | get(b, 96, 4) << 32),
            };
            let w = |i: usize| get(b, sc + i * 4, 4);
            regs.rdi = w(4);
            regs.rsi = w(5);
            regs.rbp = w(6);
            regs.rsp = w(7);
            regs.rbx = w(8);
            regs.rdx = w(9);
            regs.rcx = w(10);
            regs.rax = w(11);
            regs.rip = w(14);
            regs.rflags = flags(w(16), regs.rflags);
            mask
        }
    }
}

#[cfg(test)]
mod frame_tests {
    use super::*;

    fn regs() -> TaskRegs {
        TaskRegs { rax: 7, rbx: 1, rcx: 2, rdx: 3, rsi: 4, rdi: 5, rbp: 6, rsp: 0x7fff_0000_1008, r8: 8, r15: 15, rip: 0x401234, rflags: 0x246, ..core::default::Default::default() }
    }

    #[test]
    fn x86_64_frame_round_trips() {
        let act = SigAction { handler: 0x402000, flags: SA_SIGINFO | SA_RESTORER, restorer: 0x403000, mask: 0 };
        let info = SigInfo { signo: SIGINT, code: SI_USER, pid: 2, uid: 0, ..core::default::Default::default() };
        let f = frame(Abi::X86_64, &regs(), &act, &info, 0x55, (0, SS_DISABLE, 0), None).unwrap();
        assert_eq!(f.sp % 16, 8, "as after a call");
        assert!(f.sp + X64_FRAME <= 0x7fff_0000_1008 - 128, "below the red zone");
        assert_eq!((f.regs.rip, f.regs.rdi, f.regs.rsi - f.sp, f.regs.rdx - f.sp), (0x402000, 2, 312, 8));
        assert_eq!(get(&f.bytes, 0, 8), 0x403000, "returns to the restorer");
        // The handler returns (pops the restorer address) and calls rt_sigreturn.
        let (at, len) = frame_at(Abi::X86_64, FrameKind::Rt, f.sp + 8);
        assert_eq!((at, len), (f.sp, f.bytes.len()));
        let mut back = f.regs;
        assert_eq!(restore(Abi::X86_64, FrameKind::Rt, &f.bytes, &mut back), 0x55);
        let r = regs();
        assert_eq!((back.rax, back.rsp, back.rip, back.r15, back.rflags), (r.rax, r.rsp, r.rip, r.r15, r.rflags));
    }

    #[test]
    fn i386_frames_round_trip() {
        let mut r = regs();
        r.rsp = 0xffff_d008;
        for (flags, kind) in [(SA_SIGINFO | SA_RESTORER, FrameKind::Rt), (SA_RESTORER, FrameKind::Plain32), (0, FrameKind::Plain32)] {
            let act = SigAction { handler: 0x8049000, flags, restorer: 0x8049100, mask: 0 };
            let info = SigInfo { signo: SIGTERM, ..core::default::Default::default() };
            let f = frame(Abi::I386, &r, &act, &info, (1 << 40) | 4, (0, SS_DISABLE, 0), None).unwrap();
            assert_eq!((f.sp + 4) % 16, 0);
            let popped = if kind == FrameKind::Rt { f.sp + 4 } else { f.sp + 8 };
            let (at, _) = frame_at(Abi::I386, kind, popped);
            assert_eq!(at, f.sp);
            let mut back = f.regs;
            assert_eq!(restore(Abi::I386, kind, &f.bytes, &mut back), (1 << 40) | 4);
            assert_eq!((back.rax, back.rsp, back.rip), (7, 0xffff_d008, 0x401234));
        }
    }

    #[test]
    fn fpu_state_rides_above_the_frame() {
        let mut fx = [0u8; FPU_SIZE];
        put(&mut fx, 0, 0x37f, 2); // fcw
        put(&mut fx, 2, 6 << 11, 2); // fsw: top 6
        fx[4] = 1 << 6; // physical register 6 (st0) valid
        put(&mut fx, 32 + 8, 0x3fff, 2); // st0 = 1.0: exponent 0x3fff,
        put(&mut fx, 32, 1 << 63, 8); // explicit integer bit
        put(&mut fx, 24, 0x1f80, 4);
        fx[160] = 0xab; // xmm0
        let act = SigAction { handler: 0x402000, flags: SA_SIGINFO | SA_RESTORER, restorer: 0x403000, mask: 0 };
        let info = SigInfo { signo: SIGURG, ..core::default::Default::default() };
        let f = frame(Abi::X86_64, &regs(), &act, &info, 0, (0, SS_DISABLE, 0), Some(&fx)).unwrap();
        let at = fxsave_at(Abi::X86_64, FrameKind::Rt, &f.bytes);
        assert_eq!(at % 64, 0, "64-byte aligned");
        assert!(at >= f.sp + X64_FRAME && at + 512 <= 0x7fff_0000_1008 - 128, "between the frame and the red zone");
        let off = (at - f.sp) as usize;
        assert_eq!(&f.bytes[off..off + 512], &fx[..]);
        let mut r = regs();
        r.rsp = 0xffff_d008;
        for (flags, kind) in [(SA_SIGINFO | SA_RESTORER, FrameKind::Rt), (SA_RESTORER, FrameKind::Plain32)] {
            let act = SigAction { handler: 0x8049000, flags, restorer: 0x8049100, mask: 0 };
            let f = frame(Abi::I386, &r, &act, &info, 0, (0, SS_DISABLE, 0), Some(&fx)).unwrap();
            let at = fxsave_at(Abi::I386, kind, &f.bytes);
            let base = (at - FPSTATE32_FXSAVE - f.sp) as usize;
            assert_eq!((at - FPSTATE32_FXSAVE) % 64, 0);
            assert_eq!(&f.bytes[base + 112..base + 624], &fx[..], "the FXSAVE image after the legacy header");
            assert_eq!(get(&f.bytes, base, 4), 0xffff_037f, "cw");
            // Physical 6 valid (00), the rest empty (11).
            assert_eq!(get(&f.bytes, base + 8, 4) & 0xffff, 0xffff & !(3 << 12), "tag word");
            assert_eq!(get(&f.bytes, base + 28 + 8, 2), 0x3fff, "st0's exponent");
            assert_eq!(get(&f.bytes, base + 110, 2), 0, "FXSR magic");
            assert!(at + 512 <= 0xffff_d008);
        }
        let f = frame(Abi::X86_64, &regs(), &act, &info, 0, (0, SS_DISABLE, 0), None).unwrap();
        assert_eq!(fxsave_at(Abi::X86_64, FrameKind::Rt, &f.bytes), 0, "no state, no pointer");
    }

    #[test]
    fn sigchld_info_layouts() {
        let b = SigInfo::child(7, 1000, sion_abi::console::Exit::Code(3)).encode(Abi::X86_64);
        assert_eq!(&b[16..20], &7u32.to_le_bytes());
        assert_eq!(&b[24..28], &3i32.to_le_bytes());
        let b = SigInfo::child(7, 1000, sion_abi::console::Exit::Signal(9)).encode(Abi::I386);
        assert_eq!(&b[8..12], &2i32.to_le_bytes());
        assert_eq!(&b[20..24], &9i32.to_le_bytes());
    }

    #[test]
    fn alternate_stack_is_used_when_asked() {
        let act = SigAction { handler: 1, flags: SA_ONSTACK | SA_RESTORER, restorer: 2, mask: 0 };
        let f = frame(Abi::X86_64, &regs(), &act, &<SigInfo as core::default::Default>::default(), 0, (0x10_0000, 0, 0x4000), None).unwrap();
        assert!(f.sp > 0x10_0000 && f.sp < 0x10_4000);
    }
}
