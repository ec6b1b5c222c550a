//! Synchronous IPC: call, receive, reply, and notifications.
//!
//! A sender blocks until the receiver takes its message; the bytes go once,
//! from the sender's pages to the receiver's, through the direct map. A Linux
//! task's system call or fault is a message too, built from its registers at
//! delivery time. A receiver may answer its callers in any order, and later.

use crate::kernel::Kernel;
use crate::paging::{self, Side};
use crate::task::{Outgoing, State};
use sion_abi::call::{Error, TaskKind};
use sion_abi::msg::{self, Header, InRegs, Kind, LinuxAbi, LinuxReply, LinuxSyscall};

pub enum Ret {
    Value(u64),
    Err(Error),
    /// The caller blocked; its result is written when it wakes.
    Blocked,
}

impl Kernel {
    fn pml4_of(&self, slot: usize) -> u64 {
        self.spaces[self.tasks[slot].space as usize].pml4
    }

    /// Send the sender's pending message to `dest`, delivering now if it waits in `recv`.
    pub fn send(&mut self, sender: usize, dest: usize) {
        if let State::Recv { buf, cap, regs } = self.tasks[dest].state {
            match self.deliver(sender, dest, buf, cap, regs) {
                Ok(len) => {
                    self.tasks[dest].frame.rax = len;
                    self.tasks[sender].state = State::Reply { from: dest as u16 };
                    self.make_runnable(dest);
                    return;
                }
                Err(()) => {
                    self.tasks[dest].frame.rax = Error::Fault.as_ret();
                    self.make_runnable(dest);
                }
            }
        }
        self.tasks[sender].state = State::Send { to: dest as u16 };
        self.enqueue(dest, sender);
    }

    /// Write header and payload of `sender`'s message into `receiver`'s
    /// buffer (a Linux system call into its registers, with `regs`).
    fn deliver(&mut self, sender: usize, receiver: usize, buf: u64, cap: u64, regs: bool) -> Result<u64, ()> {
        if regs {
            if let Outgoing::LinuxSyscall { abi } = self.tasks[sender].outgoing {
                let m = InRegs::of(self.task_id(sender).0, &self.syscall_message(sender, abi));
                self.tasks[receiver].frame.put_message(&m);
                return Ok((Header::SIZE + LinuxSyscall::SIZE) as u64);
            }
        }
        let rpml4 = self.pml4_of(receiver);
        let spml4 = self.pml4_of(sender);
        let id = self.task_id(sender).0;
        let room = cap.saturating_sub(Header::SIZE as u64);
        let (kind, copied, full) = match self.tasks[sender].outgoing {
            Outgoing::Native { ptr, len, .. } => {
                let n = len.min(room) as usize;
                let copied = paging::copy(Side::User { pml4: spml4, va: ptr }, Side::User { pml4: rpml4, va: buf + Header::SIZE as u64 }, n);
                (Kind::Native, copied as u64, len)
            }
            Outgoing::LinuxSyscall { abi } => {
                let m = self.syscall_message(sender, abi);
                (Kind::LinuxSyscall, self.put(rpml4, buf, room, &m.encode()), LinuxSyscall::SIZE as u64)
            }
            Outgoing::Fault { vector, error, addr } => {
                let f = &self.tasks[sender].frame;
                let m = msg::Fault { vector, error_code: error, addr, rip: f.rip, rsp: f.rsp };
                (Kind::Fault, self.put(rpml4, buf, room, &m.encode()), msg::Fault::SIZE as u64)
            }
            Outgoing::None => return Err(()),
        };
        let h = Header { kind: kind as u32, sender: id, len: full as u32, reserved: 0 };
        if !paging::write_user(rpml4, buf, &h.encode()) {
            return Err(());
        }
        Ok(Header::SIZE as u64 + copied)
    }

    /// A Linux task's trap as its handler sees it, decoded per ABI.
    pub fn syscall_message(&self, sender: usize, abi: LinuxAbi) -> LinuxSyscall {
        let f = &self.tasks[sender].frame;
        match abi {
            LinuxAbi::X86_64 => LinuxSyscall { abi: abi as u32, reserved: 0, nr: f.rax, args: [f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9], rip: f.rip, rsp: f.rsp },
            LinuxAbi::I386 => {
                let lo = |v: u64| v & 0xffff_ffff;
                LinuxSyscall { abi: abi as u32, reserved: 0, nr: lo(f.rax), args: [lo(f.rbx), lo(f.rcx), lo(f.rdx), lo(f.rsi), lo(f.rdi), lo(f.rbp)], rip: f.rip, rsp: f.rsp }
            }
        }
    }

    fn put(&self, pml4: u64, buf: u64, room: u64, bytes: &[u8]) -> u64 {
        let n = (bytes.len() as u64).min(room) as usize;
        paging::copy(Side::KernelRo(&bytes[..n]), Side::User { pml4, va: buf + Header::SIZE as u64 }, n) as u64
    }

    fn deliver_notification(&mut self, receiver: usize, buf: u64, cap: u64) -> Result<u64, ()> {
        let bits = core::mem::take(&mut self.tasks[receiver].notify);
        let pml4 = self.pml4_of(receiver);
        let h = Header { kind: Kind::Notification as u32, sender: 0, len: 8, reserved: 0 };
        let mut out = [0u8; Header::SIZE + 8];
        out[..Header::SIZE].copy_from_slice(&h.encode());
        out[Header::SIZE..].copy_from_slice(&bits.to_le_bytes());
        let n = (out.len() as u64).min(cap) as usize;
        if n < Header::SIZE || !paging::write_user(pml4, buf, &out[..n]) {
            self.tasks[receiver].notify |= bits;
            return Err(());
        }
        Ok(n as u64)
    }

    pub fn recv(&mut self, cur: usize, buf: u64, cap: u64, regs: bool) -> Ret {
        if cap < Header::SIZE as u64 || (regs && cap < (Header::SIZE + LinuxSyscall::SIZE) as u64) {
            return Ret::Err(Error::Invalid);
        }
        if self.tasks[cur].notify != 0 {
            return match self.deliver_notification(cur, buf, cap) {
                Ok(n) => Ret::Value(n),
                Err(()) => Ret::Err(Error::Fault),
            };
        }
        if let Some(sender) = self.dequeue(cur) {
            return match self.deliver(sender, cur, buf, cap, regs) {
                Ok(n) => {
                    self.tasks[sender].state = State::Reply { from: cur as u16 };
                    Ret::Value(n)
                }
                Err(()) => {
                    self.requeue_front(cur, sender);
                    Ret::Err(Error::Fault)
                }
            };
        }
        self.tasks[cur].state = State::Recv { buf, cap, regs };
        Ret::Blocked
    }

    pub fn reply(&mut self, cur: usize, target: u64, ptr: u64, len: u64) -> Ret {
        let Some(t) = self.task_slot(target) else { return Ret::Err(Error::NoSuchObject) };
        if self.tasks[t].state != (State::Reply { from: cur as u16 }) {
            return Ret::Err(Error::BadState);
        }
        let my = self.pml4_of(cur);
        match self.tasks[t].outgoing {
            Outgoing::Native { reply_ptr, reply_cap, .. } => {
                let n = paging::copy(Side::User { pml4: my, va: ptr }, Side::User { pml4: self.pml4_of(t), va: reply_ptr }, len.min(reply_cap) as usize);
                self.tasks[t].frame.rax = n as u64;
            }
            Outgoing::LinuxSyscall { .. } | Outgoing::Fault { .. } => {
                let mut b = [0u8; LinuxReply::SIZE];
                if len < LinuxReply::SIZE as u64 || !paging::read_user(my, ptr, &mut b) {
                    return Ret::Err(Error::Fault);
                }
                return self.linux_reply(cur, t, &LinuxReply::decode(&b).unwrap());
            }
            Outgoing::None => return Ret::Err(Error::BadState),
        }
        self.tasks[t].outgoing = Outgoing::None;
        self.make_runnable(t);
        Ret::Value(0)
    }

    /// Answer the Linux trap or fault task slot `t` waits on (its reply from `cur`).
    pub fn linux_reply(&mut self, cur: usize, t: usize, r: &LinuxReply) -> Ret {
        let waiting = matches!(self.tasks[t].outgoing, Outgoing::LinuxSyscall { .. } | Outgoing::Fault { .. });
        if self.tasks[t].state != (State::Reply { from: cur as u16 }) || !waiting {
            return Ret::Err(Error::BadState);
        }
        if r.flags & msg::reply_flags::KEEP_REGS == 0 {
            self.tasks[t].frame.rax = r.rax;
        }
        self.tasks[t].outgoing = Outgoing::None;
        self.make_runnable(t);
        Ret::Value(0)
    }

    pub fn notify(&mut self, target: usize, bits: u64) {
        self.tasks[target].notify |= bits;
        if let State::Recv { buf, cap, .. } = self.tasks[target].state {
            let r = match self.deliver_notification(target, buf, cap) {
                Ok(n) => n,
                Err(()) => Error::Fault.as_ret(),
            };
            self.tasks[target].frame.rax = r;
            self.make_runnable(target);
        }
    }

    /// A native task calls another native task.
    pub fn call(&mut self, cur: usize, dest: u64, ptr: u64, len: u64, reply_ptr: u64, reply_cap: u64) -> Ret {
        let Some(d) = self.task_slot(dest) else { return Ret::Err(Error::NoSuchObject) };
        if d == cur || self.tasks[d].kind != TaskKind::Native {
            return Ret::Err(Error::Invalid);
        }
        if len > 1 << 20 {
            return Ret::Err(Error::Invalid);
        }
        self.tasks[cur].outgoing = Outgoing::Native { ptr, len, reply_ptr, reply_cap };
        self.send(cur, d);
        Ret::Blocked
    }

    /// A Linux task trapped (system call or fault): a message to its handler.
    /// Whether `cur` has a handler other than itself that is alive.
    pub fn has_live_handler(&self, cur: usize) -> bool {
        let h = self.tasks[cur].handler;
        h != crate::task::NONE && h as usize != cur && self.tasks[h as usize].state != State::Free
    }

    pub fn linux_trap(&mut self, cur: usize, outgoing: Outgoing) {
        let handler = self.tasks[cur].handler as usize;
        if self.tasks[cur].handler == crate::task::NONE || self.tasks[handler].state == State::Free {
            crate::kprintln!("task {} trapped with no handler: killed", cur);
            self.kill(cur);
            return;
        }
        self.tasks[cur].outgoing = outgoing;
        self.send(cur, handler);
    }
}
