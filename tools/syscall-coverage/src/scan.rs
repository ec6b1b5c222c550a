//! What a static program needs, from its code: every `syscall`, `int 0x80`,
//! `sysenter` and i386 `call *%gs:0x10` (glibc's vsyscall entry), with the
//! call number recovered where the code makes it constant.
//!
//! The method: decode the executable sections (iced-x86, linear sweep), build
//! the predecessors of every instruction (fall-through and direct jumps), and
//! from each site walk backwards along every path to the nearest write of the
//! number's register (eax/rax). `mov reg, imm`, `xor reg, reg` and `push imm;
//! pop reg` give a constant; `mov reg, reg2` and `mov reg, [rsp+N]` carry the
//! search on to that register or stack slot. A path that reaches a function's
//! entry carries on at every direct `call` or tail `jmp` to it, with the same
//! register (or the caller's stack slot): that is how numbers passed through
//! libc wrappers (musl's `__syscall_cp`, glibc's `syscall()`, i386
//! `__vsyscall`) are found at the wrappers' call sites.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::{bail, Context, Result};
use iced_x86::{Code, Decoder, DecoderOptions, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SectionKind, SymbolKind};
use serde::Serialize;
use sion_linux::layout::Abi;

/// How a site enters the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    Syscall,
    Int80,
    Sysenter,
    /// i386 glibc: `call *%gs:0x10` (AT_SYSINFO through the thread block).
    GsCall,
}

impl SiteKind {
    /// The ABI whose numbers the site uses.
    pub fn abi(self, bits: u32) -> Abi {
        match self {
            SiteKind::Syscall if bits == 64 => Abi::X86_64,
            _ => Abi::I386,
        }
    }
    pub fn text(self) -> &'static str {
        match self {
            SiteKind::Syscall => "syscall",
            SiteKind::Int80 => "int 0x80",
            SiteKind::Sysenter => "sysenter",
            SiteKind::GsCall => "call *%gs:0x10",
        }
    }
}

/// One system call site and what reaches it.
#[derive(Clone, Debug, Serialize)]
pub struct Site {
    pub addr: u64,
    pub kind: SiteKind,
    /// The enclosing function, if the file has symbols.
    pub function: Option<String>,
    /// Constant numbers that reach the site.
    pub numbers: BTreeSet<u64>,
    /// Why some path gave no constant (empty: fully resolved).
    pub unresolved: BTreeSet<String>,
    /// i386 `socketcall` and `ipc` multiplex several calls on the number in
    /// ebx: the ones found (named as strace names them: `socket`, `semget`).
    pub subcalls: BTreeSet<String>,
    /// The number arrives unchanged from the entry of a function that has no
    /// direct callers (a syscall trampoline reached through a pointer, such as
    /// glibc i386's `_dl_sysinfo_int80`): its callers are sites of their own.
    pub trampoline: bool,
}

/// Where a value lives at a point of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Loc {
    Reg(Register),
    /// `[sp + off]`.
    Stack(i64),
}

#[derive(Clone, Debug, Default)]
struct Values {
    consts: BTreeSet<u64>,
    unknown: BTreeSet<String>,
    /// Reached the entry of a function with no direct callers.
    indirect_entry: bool,
}

impl Values {
    fn merge(&mut self, o: &Values) {
        self.consts.extend(o.consts.iter().copied());
        self.unknown.extend(o.unknown.iter().cloned());
        self.indirect_entry |= o.indirect_entry;
    }
}

enum Step {
    Const(u64),
    Go(Loc),
    Both(Loc, Loc),
    Unknown(String),
}

/// The decoded program.
pub struct Program {
    pub bits: u32,
    insns: Vec<Instruction>,
    index: HashMap<u64, usize>,
    /// Direct jumps into each instruction.
    jump_preds: Vec<Vec<usize>>,
    /// Function entries: symbols and direct call targets.
    entries: HashSet<u64>,
    /// Direct calls and jumps to each function entry.
    callers: HashMap<u64, Vec<usize>>,
    /// Function symbols, by address.
    symbols: BTreeMap<u64, (u64, String)>,
    memo: RefCell<HashMap<(u64, Loc), Values>>,
}

/// i386 `socketcall` and its calls (linux/net.h SYS_*).
const SOCKETCALL: u64 = 102;
const SOCKETCALLS: [&str; 21] = [
    "", "socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername", "socketpair", "send", "recv", "sendto", "recvfrom", "shutdown",
    "setsockopt", "getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg",
];
/// i386 `ipc` and its calls (linux/ipc.h).
const IPC: u64 = 117;
const IPCS: [(u64, &str); 12] = [
    (1, "semop"), (2, "semget"), (3, "semctl"), (4, "semtimedop"), (11, "msgsnd"), (12, "msgrcv"), (13, "msgget"), (14, "msgctl"), (21, "shmat"), (22, "shmdt"), (23, "shmget"), (24, "shmctl"),
];

const SEARCH_LIMIT: usize = 4000;
const MAX_DEPTH: u32 = 6;

fn ends_flow(i: &Instruction) -> bool {
    matches!(i.mnemonic(), Mnemonic::Jmp | Mnemonic::Ret | Mnemonic::Retf | Mnemonic::Hlt | Mnemonic::Ud2 | Mnemonic::Int3 | Mnemonic::Iret | Mnemonic::Iretd | Mnemonic::Iretq)
        || i.code() == Code::INVALID
}

/// A short description of an instruction (no formatter in this lean build).
fn desc(i: &Instruction) -> String {
    format!("{:?}", i.mnemonic()).to_lowercase()
}

/// Padding: `nop`, `xchg ax, ax`, `lea esi, [esi+0]`, `mov edi, edi`.
fn is_nop(i: &Instruction) -> bool {
    match i.mnemonic() {
        Mnemonic::Nop => true,
        Mnemonic::Xchg | Mnemonic::Mov => i.op0_kind() == OpKind::Register && i.op1_kind() == OpKind::Register && i.op0_register() == i.op1_register(),
        Mnemonic::Lea => {
            i.op0_kind() == OpKind::Register
                && i.memory_base() == i.op0_register()
                && i.memory_index() == Register::None
                && i.memory_displacement64() == 0
        }
        _ => false,
    }
}

fn is_gs_call(i: &Instruction) -> bool {
    i.mnemonic() == Mnemonic::Call
        && i.op0_kind() == OpKind::Memory
        && i.segment_prefix() == Register::GS
        && i.memory_base() == Register::None
        && i.memory_index() == Register::None
        && i.memory_displacement64() == 0x10
}

fn site_kind(i: &Instruction) -> Option<SiteKind> {
    match i.mnemonic() {
        Mnemonic::Syscall => Some(SiteKind::Syscall),
        Mnemonic::Sysenter => Some(SiteKind::Sysenter),
        Mnemonic::Int if i.immediate8() == 0x80 => Some(SiteKind::Int80),
        _ if is_gs_call(i) => Some(SiteKind::GsCall),
        _ => None,
    }
}

impl Program {
    /// Decodes the executable parts of a static ELF file.
    pub fn from_elf(data: &[u8]) -> Result<Program> {
        let file = object::File::parse(data).context("not an object file object can read")?;
        if file.architecture() != object::Architecture::X86_64 && file.architecture() != object::Architecture::I386 {
            bail!("not an x86 program ({:?})", file.architecture());
        }
        if let Some(interp) = file.section_by_name(".interp") {
            let path = interp.data().ok().map(|d| String::from_utf8_lossy(d).trim_end_matches('\0').to_string()).unwrap_or_default();
            bail!("dynamically linked (interpreter {path}): its calls are made in shared libraries; SiON runs static programs only");
        }
        let bits = if file.is_64() { 64 } else { 32 };
        let mut chunks: Vec<(u64, Vec<u8>)> = Vec::new();
        for s in file.sections() {
            if s.kind() == SectionKind::Text && s.size() > 0 {
                if let Ok(d) = s.data() {
                    chunks.push((s.address(), d.to_vec()));
                }
            }
        }
        if chunks.is_empty() {
            // No section headers: the executable segments.
            for seg in file.segments() {
                if let object::SegmentFlags::Elf { p_flags } = seg.flags() {
                    if p_flags & 1 != 0 {
                        if let Ok(d) = seg.data() {
                            chunks.push((seg.address(), d.to_vec()));
                        }
                    }
                }
            }
        }
        let mut symbols = BTreeMap::new();
        for sym in file.symbols() {
            if sym.kind() == SymbolKind::Text && sym.address() != 0 {
                if let Ok(name) = sym.name() {
                    symbols.insert(sym.address(), (sym.size(), name.to_string()));
                }
            }
        }
        Ok(Program::decode(bits, &chunks, symbols))
    }

    /// Decodes raw code chunks `(address, bytes)`.
    pub fn decode(bits: u32, chunks: &[(u64, Vec<u8>)], symbols: BTreeMap<u64, (u64, String)>) -> Program {
        let mut insns = Vec::new();
        for (addr, bytes) in chunks {
            let mut d = Decoder::with_ip(bits, bytes, *addr, DecoderOptions::NONE);
            let mut i = Instruction::default();
            while d.can_decode() {
                d.decode_out(&mut i);
                insns.push(i);
            }
        }
        insns.sort_by_key(|i| i.ip());
        let index: HashMap<u64, usize> = insns.iter().enumerate().map(|(n, i)| (i.ip(), n)).collect();
        let mut jump_preds = vec![Vec::new(); insns.len()];
        let mut entries: HashSet<u64> = symbols.keys().copied().collect();
        let mut callers: HashMap<u64, Vec<usize>> = HashMap::new();
        for (n, i) in insns.iter().enumerate() {
            let direct = matches!(i.op0_kind(), OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64);
            if !direct {
                continue;
            }
            let target = i.near_branch_target();
            if i.mnemonic() == Mnemonic::Call {
                entries.insert(target);
                callers.entry(target).or_default().push(n);
            } else if let Some(&t) = index.get(&target) {
                jump_preds[t].push(n);
                if i.mnemonic() == Mnemonic::Jmp {
                    // A tail call, if the target is an entry (checked when used).
                    callers.entry(target).or_default().push(n);
                }
            }
        }
        Program { bits, insns, index, jump_preds, entries, callers, symbols, memo: RefCell::new(HashMap::new()) }
    }

    fn word(&self) -> i64 {
        (self.bits / 8) as i64
    }

    fn full(&self, r: Register) -> Register {
        if self.bits == 64 {
            r.full_register()
        } else {
            r.full_register32()
        }
    }

    fn sp(&self) -> Register {
        if self.bits == 64 {
            Register::RSP
        } else {
            Register::ESP
        }
    }

    fn ax(&self) -> Register {
        if self.bits == 64 {
            Register::RAX
        } else {
            Register::EAX
        }
    }

    fn caller_saved(&self, r: Register) -> bool {
        if self.bits == 64 {
            matches!(r, Register::RAX | Register::RCX | Register::RDX | Register::RSI | Register::RDI | Register::R8 | Register::R9 | Register::R10 | Register::R11)
        } else {
            matches!(r, Register::EAX | Register::ECX | Register::EDX)
        }
    }

    /// The function symbol containing `addr`.
    pub fn function_of(&self, addr: u64) -> Option<String> {
        let (start, (size, name)) = self.symbols.range(..=addr).next_back()?;
        if *size == 0 || addr < start + size {
            Some(if addr == *start { name.clone() } else { format!("{name}+{:#x}", addr - start) })
        } else {
            None
        }
    }

    fn imm(&self, i: &Instruction, op: u32) -> Option<u64> {
        match i.op_kind(op) {
            OpKind::Immediate8 | OpKind::Immediate16 | OpKind::Immediate32 | OpKind::Immediate64 | OpKind::Immediate8to16 | OpKind::Immediate8to32 | OpKind::Immediate8to64 | OpKind::Immediate32to64 => {
                let v = i.immediate(op);
                Some(if self.bits == 32 || i.op0_register().size() == 4 { v & 0xffff_ffff } else { v })
            }
            _ => None,
        }
    }

    /// How `loc` after instruction `i` relates to what was before it.
    fn step(&self, n: usize, loc: Loc) -> Step {
        let i = &self.insns[n];
        let w = self.word();
        let m = i.mnemonic();
        let sp = self.sp();
        match loc {
            Loc::Reg(r) => {
                if let Some(k) = site_kind(i) {
                    // The kernel writes eax (and rcx, r11 for `syscall`) only.
                    let clobbered = r == self.ax() || (k == SiteKind::Syscall && matches!(r, Register::RCX | Register::R11));
                    return if clobbered { Step::Unknown("result of an earlier system call".into()) } else { Step::Go(loc) };
                }
                if m == Mnemonic::Call {
                    if let Some(t) = self.pc_thunk(i) {
                        return if t == r { Step::Unknown("a PC thunk's result".into()) } else { Step::Go(loc) };
                    }
                    return if self.caller_saved(r) { Step::Unknown("result of a call".into()) } else { Step::Go(loc) };
                }
                let op0_is_r = i.op_count() > 0 && i.op0_kind() == OpKind::Register && self.full(i.op0_register()) == r;
                if op0_is_r {
                    let size = i.op0_register().size();
                    let partial = size < 4;
                    match m {
                        Mnemonic::Mov if !partial => {
                            if let Some(v) = self.imm(i, 1) {
                                return Step::Const(v);
                            }
                            match i.op1_kind() {
                                OpKind::Register if i.op1_register().size() >= 4 => return Step::Go(Loc::Reg(self.full(i.op1_register()))),
                                OpKind::Memory if self.full(i.memory_base()) == sp && i.memory_index() == Register::None && i.segment_prefix() == Register::None => {
                                    return Step::Go(Loc::Stack(i.memory_displacement64() as i64));
                                }
                                _ => return Step::Unknown(format!("loaded by `{}` at {:#x}", desc(i), i.ip())),
                            }
                        }
                        Mnemonic::Xor | Mnemonic::Sub if i.op1_kind() == OpKind::Register && self.full(i.op1_register()) == r && !partial => return Step::Const(0),
                        Mnemonic::Pop => return Step::Go(Loc::Stack(0)),
                        Mnemonic::Xchg if i.op1_kind() == OpKind::Register && !partial => return Step::Go(Loc::Reg(self.full(i.op1_register()))),
                        _ if format!("{:?}", i.mnemonic()).starts_with("Cmov") && i.op1_kind() == OpKind::Register => {
                            return Step::Both(Loc::Reg(self.full(i.op1_register())), loc)
                        }
                        _ => {}
                    }
                }
                if m == Mnemonic::Xchg && i.op1_kind() == OpKind::Register && self.full(i.op1_register()) == r && i.op0_kind() == OpKind::Register {
                    return Step::Go(Loc::Reg(self.full(i.op0_register())));
                }
                if self.writes(i, r) {
                    return Step::Unknown(format!("computed by `{}` at {:#x}", desc(i), i.ip()));
                }
                Step::Go(loc)
            }
            Loc::Stack(off) => {
                let sp_op0 = i.op_count() > 0 && i.op0_kind() == OpKind::Register && self.full(i.op0_register()) == sp;
                match m {
                    Mnemonic::Push => {
                        if off == 0 {
                            if let Some(v) = self.imm(i, 0) {
                                return Step::Const(v);
                            }
                            return match i.op0_kind() {
                                OpKind::Register => Step::Go(Loc::Reg(self.full(i.op0_register()))),
                                _ => Step::Unknown(format!("pushed by `{}` at {:#x}", desc(i), i.ip())),
                            };
                        }
                        return if off > 0 { Step::Go(Loc::Stack(off - w)) } else { Step::Unknown("below the stack pointer".into()) };
                    }
                    Mnemonic::Pop => return Step::Go(Loc::Stack(off + w)),
                    Mnemonic::Sub if sp_op0 => {
                        return match self.imm(i, 1) {
                            Some(v) if off - v as i64 >= 0 => Step::Go(Loc::Stack(off - v as i64)),
                            _ => Step::Unknown(format!("stack moved by `{}` at {:#x}", desc(i), i.ip())),
                        }
                    }
                    Mnemonic::Add if sp_op0 => {
                        return match self.imm(i, 1) {
                            Some(v) => Step::Go(Loc::Stack(off + v as i64)),
                            None => Step::Unknown(format!("stack moved by `{}` at {:#x}", desc(i), i.ip())),
                        }
                    }
                    Mnemonic::Call => return Step::Go(loc),
                    Mnemonic::Mov if i.op0_kind() == OpKind::Memory && self.full(i.memory_base()) == sp && i.memory_index() == Register::None => {
                        let d = i.memory_displacement64() as i64;
                        let size = i.memory_size().size() as i64;
                        if d == off && size >= 4 {
                            if let Some(v) = self.imm(i, 1) {
                                return Step::Const(v & if size == 4 { 0xffff_ffff } else { u64::MAX });
                            }
                            if i.op1_kind() == OpKind::Register {
                                return Step::Go(Loc::Reg(self.full(i.op1_register())));
                            }
                        }
                        if d < off + w && off < d + size {
                            return Step::Unknown(format!("stack slot written by `{}` at {:#x}", desc(i), i.ip()));
                        }
                        return Step::Go(loc);
                    }
                    _ => {}
                }
                if self.writes(i, sp) {
                    return Step::Unknown(format!("stack pointer changed by `{}` at {:#x}", desc(i), i.ip()));
                }
                Step::Go(loc)
            }
        }
    }

    /// i386 position-independent code calls `__x86.get_pc_thunk.REG`
    /// (`mov REG, [esp]; ret`): it writes REG only.
    fn pc_thunk(&self, i: &Instruction) -> Option<Register> {
        if !matches!(i.op0_kind(), OpKind::NearBranch32 | OpKind::NearBranch64) {
            return None;
        }
        let &t = self.index.get(&i.near_branch_target())?;
        let (a, b) = (self.insns.get(t)?, self.insns.get(t + 1)?);
        let loads_ret = a.mnemonic() == Mnemonic::Mov
            && a.op0_kind() == OpKind::Register
            && a.op1_kind() == OpKind::Memory
            && self.full(a.memory_base()) == self.sp()
            && a.memory_displacement64() == 0
            && a.memory_index() == Register::None;
        (loads_ret && b.mnemonic() == Mnemonic::Ret).then(|| self.full(a.op0_register()))
    }

    fn writes(&self, i: &Instruction, r: Register) -> bool {
        let mut f = InstructionInfoFactory::new();
        let info = f.info(i);
        info.used_registers().iter().any(|u| {
            self.full(u.register()) == r && matches!(u.access(), OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite)
        })
    }

    /// The values `loc` may hold just before instruction `start` runs.
    fn back(&self, start: usize, loc: Loc, depth: u32) -> Values {
        let mut out = Values::default();
        let mut work = vec![(start, loc)];
        let mut seen: HashSet<(usize, Loc)> = HashSet::new();
        while let Some((pos, loc)) = work.pop() {
            if !seen.insert((pos, loc)) {
                continue;
            }
            if seen.len() > SEARCH_LIMIT {
                out.unknown.insert("search limit reached".into());
                break;
            }
            let ip = self.insns[pos].ip();
            let is_entry = self.entries.contains(&ip);
            if is_entry {
                let v = self.param(ip, loc, depth);
                out.merge(&v);
            }
            let mut preds = self.jump_preds[pos].clone();
            if !is_entry && pos > 0 {
                let p = &self.insns[pos - 1];
                if !ends_flow(p) && p.next_ip() == ip {
                    preds.push(pos - 1);
                }
            }
            if preds.is_empty() && !is_entry && is_nop(&self.insns[pos]) {
                continue; // alignment padding after a jump: never runs
            }
            if preds.is_empty() && !is_entry {
                out.unknown.insert(format!("{ip:#x} has no known predecessor (a computed jump)"));
            }
            for p in preds {
                match self.step(p, loc) {
                    Step::Const(v) => {
                        out.consts.insert(v);
                    }
                    Step::Go(l) => work.push((p, l)),
                    Step::Both(a, b) => {
                        work.push((p, a));
                        work.push((p, b));
                    }
                    Step::Unknown(why) => {
                        out.unknown.insert(why);
                    }
                }
            }
        }
        out
    }

    /// The values `loc` holds at the entry of the function at `entry`, from
    /// its direct callers.
    fn param(&self, entry: u64, loc: Loc, depth: u32) -> Values {
        if let Some(v) = self.memo.borrow().get(&(entry, loc)) {
            return v.clone();
        }
        // Breaks recursion: a function reached again while being resolved.
        self.memo.borrow_mut().insert((entry, loc), Values::default());
        let mut out = Values::default();
        let callers = self.callers.get(&entry).map(|v| v.as_slice()).unwrap_or(&[]);
        // Direct calls, and jumps to the entry (tail calls).
        let calls = callers;
        if calls.is_empty() {
            out.indirect_entry = true;
            out.unknown.insert(format!("from the callers of {} (reached only through a pointer)", self.function_of(entry).unwrap_or_else(|| format!("{entry:#x}"))));
        } else if depth >= MAX_DEPTH {
            out.unknown.insert("wrappers nested too deep".into());
        } else {
            for &c in calls {
                let at_call = match (self.insns[c].mnemonic(), loc) {
                    (Mnemonic::Call, Loc::Stack(0)) => {
                        out.unknown.insert("return address".into());
                        continue;
                    }
                    (Mnemonic::Call, Loc::Stack(off)) => Loc::Stack(off - self.word()),
                    (_, l) => l,
                };
                let v = self.back(c, at_call, depth + 1);
                out.merge(&v);
            }
        }
        self.memo.borrow_mut().insert((entry, loc), out.clone());
        out
    }

    /// Every system call site with what reaches it.
    pub fn sites(&self) -> Vec<Site> {
        let mut sites = Vec::new();
        for (n, i) in self.insns.iter().enumerate() {
            let Some(kind) = site_kind(i) else { continue };
            let reg = if kind.abi(self.bits) == Abi::X86_64 || self.bits == 64 { Register::RAX } else { Register::EAX };
            let reg = self.full(reg);
            let v = self.back(n, Loc::Reg(reg), 0);
            let trampoline = v.indirect_entry && v.consts.is_empty() && v.unknown.len() == 1;
            let mut subcalls = BTreeSet::new();
            if kind.abi(self.bits) == Abi::I386 && (v.consts.contains(&SOCKETCALL) || v.consts.contains(&IPC)) {
                let sub = self.back(n, Loc::Reg(self.full(Register::EBX)), 0);
                for &c in &sub.consts {
                    if v.consts.contains(&SOCKETCALL) {
                        subcalls.extend(SOCKETCALLS.get(c as usize).filter(|s| !s.is_empty()).map(|s| s.to_string()));
                    }
                    if v.consts.contains(&IPC) {
                        subcalls.extend(IPCS.iter().find(|x| x.0 == c).map(|x| x.1.to_string()));
                    }
                }
            }
            sites.push(Site {
                subcalls,
                addr: i.ip(),
                kind,
                function: self.function_of(i.ip()),
                numbers: v.consts,
                unresolved: if trampoline { BTreeSet::new() } else { v.unknown },
                trampoline,
            });
        }
        sites
    }

    pub fn instruction_count(&self) -> usize {
        self.insns.len()
    }

    #[allow(dead_code)]
    pub fn has(&self, addr: u64) -> bool {
        self.index.contains_key(&addr)
    }
}


#[cfg(test)]
mod tests {
    //! The resolver on real compiled code: small assembly and C programs
    //! built by gcc and musl-gcc (skipped, saying so, when they are missing).
    use super::*;
    use std::process::Command;

    /// Builds `source` (file name `name`, so `.S` or `.c`) with `cc args`;
    /// None (and a printed reason) if the compiler is missing or fails.
    fn build(cc: &str, args: &[&str], name: &str, source: &str) -> Option<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join(name);
        std::fs::write(&src, source).unwrap();
        let out = dir.path().join("a.out");
        match Command::new(cc).args(args).arg(&src).arg("-o").arg(&out).output() {
            Ok(o) if o.status.success() => Some(std::fs::read(&out).unwrap()),
            Ok(o) => {
                eprintln!("skipped: {cc} {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
                None
            }
            Err(e) => {
                eprintln!("skipped: {cc} not available ({e})");
                None
            }
        }
    }

    fn sites_of(bin: &[u8]) -> Vec<Site> {
        Program::from_elf(bin).unwrap().sites()
    }

    fn site_in<'a>(sites: &'a [Site], function: &str) -> Vec<&'a Site> {
        sites.iter().filter(|s| s.function.as_deref().is_some_and(|f| f == function || f.starts_with(&format!("{function}+")))).collect()
    }

    fn all_numbers(sites: &[Site]) -> BTreeSet<u64> {
        sites.iter().flat_map(|s| s.numbers.iter().copied()).collect()
    }

    const ASM64: &str = r#"
        .intel_syntax noprefix
        .text
        .globl _start
    .type _start, @function
    _start:
        push 60
        pop rax
        syscall
    .type branches, @function
    branches:
        test edi, edi
        jz 1f
        mov eax, 1
        jmp 2f
    1:  mov eax, 2
    2:  syscall
        ret
    .type wrapper, @function
    wrapper:
        mov rax, rdi
        mov rdi, rsi
        syscall
        ret
    .type calls_wrapper, @function
    calls_wrapper:
        mov edi, 39
        call wrapper
        mov edi, 102
        mov esi, 0
        call wrapper
        mov edx, 110
        mov edi, edx
        jmp wrapper
    .type from_memory, @function
    from_memory:
        mov eax, [rip + value]
        syscall
        ret
    .type moved, @function
    moved:
        mov ecx, 231
        mov eax, ecx
        xor edi, edi
        syscall
    .type zero, @function
    zero:
        xor eax, eax
        syscall
        ret
        .data
    value: .long 3
    "#;

    #[test]
    fn constants_paths_and_wrappers_x86_64() {
        let Some(bin) = build("gcc", &["-nostdlib", "-static", "-no-pie"], "a.S", ASM64) else { return };
        let s = sites_of(&bin);
        assert_eq!(s.len(), 6, "{s:#?}");
        let n = |f: &str| site_in(&s, f).iter().flat_map(|x| x.numbers.iter().copied()).collect::<Vec<_>>();
        assert_eq!(n("_start"), [60], "push imm; pop rax");
        assert_eq!(n("branches"), [1, 2], "both paths");
        assert_eq!(n("wrapper"), [39, 102, 110], "through the wrapper's callers, a tail call and a copy");
        assert_eq!(n("moved"), [231], "mov eax, ecx");
        assert_eq!(n("zero"), [0], "xor eax, eax");
        let mem = site_in(&s, "from_memory");
        assert!(mem[0].numbers.is_empty() && !mem[0].unresolved.is_empty(), "{mem:?}");
        assert!(site_in(&s, "branches")[0].unresolved.is_empty());
    }

    const ASM32: &str = r#"
        .intel_syntax noprefix
        .text
        .globl _start
    .type _start, @function
    _start:
        push 20
        call stack_wrapper
        add esp, 4
        mov eax, 102
        mov ebx, 1
        int 0x80
        mov eax, 1
        sysenter
        mov eax, 224
        call dword ptr gs:0x10
        mov eax, offset trampoline
        ret
    .type stack_wrapper, @function
    stack_wrapper:
        push ebx
        mov eax, [esp + 8]
        int 0x80
        pop ebx
        ret
    .type trampoline, @function
    trampoline:
        int 0x80
        ret
    "#;

    #[test]
    fn i386_stack_arguments_socketcall_and_trampolines() {
        let Some(bin) = build("gcc", &["-m32", "-nostdlib", "-static", "-no-pie"], "a.S", ASM32) else { return };
        let s = sites_of(&bin);
        assert_eq!(s.len(), 5, "{s:#?}");
        let w = site_in(&s, "stack_wrapper");
        assert_eq!(w[0].numbers.iter().copied().collect::<Vec<_>>(), [20], "the caller's pushed argument");
        let start = site_in(&s, "_start");
        let kinds: Vec<SiteKind> = start.iter().map(|x| x.kind).collect();
        assert_eq!(kinds, [SiteKind::Int80, SiteKind::Sysenter, SiteKind::GsCall]);
        assert_eq!(start[0].subcalls.iter().cloned().collect::<Vec<_>>(), ["socket"]);
        assert_eq!(start[2].numbers.iter().copied().collect::<Vec<_>>(), [224]);
        let t = site_in(&s, "trampoline");
        assert!(t[0].trampoline && t[0].unresolved.is_empty(), "{t:?}");
    }

    const C_RAW: &str = r#"
        #include <unistd.h>
        #include <sys/syscall.h>
        int main(int argc, char **argv)
        {
            /* kcmp and pidfd_open: calls libc itself never makes. */
            if (argc > 5)
                syscall(SYS_kcmp, 1, 1, 0, 0, 0);
            return syscall(SYS_pidfd_open, 1, 0) < 0;
        }
    "#;

    fn c_finds(cc: &str, flags: &[&str], want: &[&str]) {
        let Some(bin) = build(cc, flags, "a.c", C_RAW) else { return };
        let p = Program::from_elf(&bin).unwrap();
        let abi = if p.bits == 64 { Abi::X86_64 } else { Abi::I386 };
        let names: BTreeSet<&str> = all_numbers(&p.sites()).iter().filter_map(|&n| sion_linux::syscalls::name_of(abi, n)).collect();
        for w in want {
            assert!(names.contains(w), "{cc} {flags:?}: {w} not found in {names:?}");
        }
    }

    #[test]
    fn dynamic_programs_are_refused_and_static_pie_is_read() {
        if let Some(bin) = build("gcc", &["-O1"], "a.c", C_RAW) {
            let err = Program::from_elf(&bin).err().expect("a dynamic program was analysed");
            assert!(err.to_string().contains("dynamically linked"), "{err}");
        }
        c_finds("gcc", &["-static-pie", "-O1"], &["kcmp", "pidfd_open"]);
    }

    #[test]
    fn through_libc_syscall_wrappers() {
        // musl's syscall() and glibc's (x86_64: number in rdi; i386: on the stack).
        c_finds("musl-gcc", &["-static", "-O1"], &["kcmp", "pidfd_open", "exit_group", "set_tid_address"]);
        c_finds("gcc", &["-static", "-O1"], &["kcmp", "pidfd_open", "exit_group", "write"]);
        c_finds("gcc", &["-m32", "-static", "-O1"], &["kcmp", "pidfd_open", "exit_group", "write", "set_thread_area"]);
    }
}
