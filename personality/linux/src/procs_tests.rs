//! Host tests of the process table ([`Procs`]): fork, wait, exec, signals,
//! threads and futexes, driven through its entry points as the personality
//! server drives it (`syscall` and `fault` with the kernel's messages,
//! `poll`, then the `answers`), against a [`SimHost`] that simulates the
//! kernel's spaces and tasks.
//!
//! [`Job`] plays the kernel's and the server loop's part: after each
//! message the table is polled (as the loop does before it sends answers);
//! a task that makes a call waits until it is answered; an answer sets the
//! task's rax (or keeps the registers the server set); and every answer
//! must go to a live task that waits for one, at most once. `Job::poll` is
//! the loop going round on a timer or notification.

use crate::errno::Errno;
use crate::process::{Outcome, FIRST_PID};
use crate::procs::Procs;
use crate::signal::{self, bit, SigAction};
use crate::sim::SimHost;
use crate::syscalls::names::x86_64 as n;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use sion_abi::console::Exit;
use sion_abi::msg::{Fault, LinuxAbi, LinuxSyscall, VECTOR_INTERRUPT};
use sion_abi::regs::TaskRegs;

/// Where a task stands after its `syscall` (the tiny program's entry is one).
const AFTER_SYSCALL: u64 = 0x401002;
/// A signal handler and its restorer, in the tiny program's image.
const HANDLER: u64 = 0x401100;
const RESTORER: u64 = 0x401200;
const SIGUSR1: u8 = 10;
const SIGUSR2: u8 = 12;

const WNOHANG: u64 = 1;
const CLD_EXITED: i32 = 1;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_PRIVATE: u64 = 128;

/// What glibc's pthread_create passes to clone.
const THREAD_FLAGS: u64 = 0x100 | 0x200 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x10_0000 | 0x20_0000;

fn err(e: Errno) -> i64 {
    -(e.0 as i64)
}

struct Job {
    h: SimHost,
    procs: Procs,
    /// Tasks in a call or fault, waiting for their answer.
    waiting: BTreeSet<u64>,
    /// Answers given and not yet looked at by the test, in order.
    inbox: Vec<(u64, Outcome)>,
    /// Calls answered by the fast dispatch.
    quick: usize,
}

impl Job {
    /// The job's first process (pid 2), started as the server starts it,
    /// with an anonymous read-write page at [`Job::scratch`].
    fn new() -> (Job, u64) {
        let (p, h) = crate::tests::spawn_process();
        // `spawn` loaded the program into the host's first space and put its
        // registers in the first task, as `task_start` would.
        let task = SimHost::FIRST_TASK;
        let procs = Procs::new(p, SimHost::FIRST_SPACE, task);
        let mut j = Job { h, procs, waiting: BTreeSet::new(), inbox: Vec::new(), quick: 0 };
        let at = j.ok(task, n::MMAP, &[0, 0x4000, 3, 0x22, u64::MAX, 0]) as u64;
        assert_eq!(at, Job::scratch(), "the scratch area");
        (j, task)
    }

    /// Where every process of a test keeps its data (mapped before any fork).
    fn scratch() -> u64 {
        crate::process::MMAP_TOP_64 - 0x4000
    }

    /// A system call of `task` as the kernel delivers it: the registers as
    /// `syscall` leaves them, the message, then what the server answers
    /// (to `task`: returned; to others: kept in the inbox).
    fn call(&mut self, task: u64, nr: u32, args: &[u64]) -> Option<Outcome> {
        assert!(self.h.task_alive(task), "task {task} is dead");
        assert!(!self.waiting.contains(&task), "task {task} is waiting in a call");
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        let mut r = self.h.task_regs(task).expect("registers");
        r.rip = AFTER_SYSCALL;
        r.rcx = AFTER_SYSCALL;
        r.r11 = r.rflags;
        r.rax = nr as u64;
        (r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9) = (a[0], a[1], a[2], a[3], a[4], a[5]);
        self.h.set_task_regs(task, &r);
        self.waiting.insert(task);
        let sc = LinuxSyscall { abi: LinuxAbi::X86_64 as u32, reserved: 0, nr: nr as u64, args: a, rip: r.rip, rsp: r.rsp };
        self.procs.syscall(&mut self.h, task, &sc);
        match self.procs.take_quick_answer() {
            // A quiet call: the server answers it with its next receive,
            // without going round its loop (the fast dispatch).
            Some(a) => {
                self.quick += 1;
                self.procs.answers.push(a);
            }
            // The server's loop goes round before it answers.
            None => self.procs.poll(&mut self.h),
        }
        self.deliver();
        self.answer(task)
    }

    /// A call that must be answered at once with a value.
    fn ok(&mut self, task: u64, nr: u32, args: &[u64]) -> i64 {
        match self.call(task, nr, args) {
            Some(Outcome::Reply(v)) => v as i64,
            o => panic!("call {nr} of task {task}: expected a reply, got {o:?}"),
        }
    }

    /// A call that must leave its caller waiting.
    fn blocks(&mut self, task: u64, nr: u32, args: &[u64]) {
        assert_eq!(self.call(task, nr, args), None, "call {nr} of task {task} should wait");
    }

    /// A fault of `task` (`VECTOR_INTERRUPT`: stopped by `task_interrupt`).
    fn fault(&mut self, task: u64, f: &Fault) -> Option<Outcome> {
        assert!(self.h.task_alive(task) && !self.waiting.contains(&task));
        self.waiting.insert(task);
        self.procs.fault(&mut self.h, task, f);
        self.procs.poll(&mut self.h);
        self.deliver();
        self.answer(task)
    }

    /// The server's loop came round: deferred replies that can be given now.
    fn poll(&mut self) {
        self.procs.poll(&mut self.h);
        self.deliver();
    }

    /// The kernel delivers the answers: rax set, or the registers kept.
    fn deliver(&mut self) {
        for a in core::mem::take(&mut self.procs.answers) {
            assert!(self.h.task_alive(a.task), "answer {:?} to a dead task", a);
            assert!(self.waiting.remove(&a.task), "answer {:?} to a task not waiting", a);
            match a.outcome {
                Outcome::Reply(v) => {
                    let mut r = self.h.task_regs(a.task).expect("registers");
                    r.rax = v;
                    self.h.set_task_regs(a.task, &r);
                }
                Outcome::KeepRegs => {}
                o => panic!("answer with {o:?}"),
            }
            self.inbox.push((a.task, a.outcome));
        }
        // A dead task waits no more.
        self.waiting.retain(|t| self.h.task_alive(*t));
    }

    /// The answer `task` got (and forget it).
    fn answer(&mut self, task: u64) -> Option<Outcome> {
        let i = self.inbox.iter().position(|a| a.0 == task)?;
        Some(self.inbox.remove(i).1)
    }

    /// The value `task` was answered with.
    fn reply(&mut self, task: u64) -> i64 {
        match self.answer(task) {
            Some(Outcome::Reply(v)) => v as i64,
            o => panic!("task {task}: expected a reply, got {o:?}"),
        }
    }

    fn regs(&self, task: u64) -> TaskRegs {
        self.h.task_regs(task).expect("a live task")
    }

    fn peek(&self, task: u64, addr: u64, len: usize) -> Vec<u8> {
        self.h.peek_in(self.h.space_of(task).expect("a live task"), addr, len)
    }
    /// Write into `task`'s process as a call of it would (lazy pages mapped).
    fn poke(&mut self, task: u64, addr: u64, data: &[u8]) {
        let pid = self.procs.pid_of(task).expect("a task of the job");
        let wrote = self.procs.serve(&mut self.h, pid, |p, h| p.write_user(h, crate::layout::Abi::X86_64, addr, data));
        assert_eq!(wrote, Some(Ok(())), "poke at {addr:#x}");
    }
    fn word(&self, task: u64, addr: u64) -> u32 {
        u32::from_le_bytes(self.peek(task, addr, 4).try_into().unwrap())
    }

    /// The newest task (the one a fork or clone just started).
    fn newest(&self) -> u64 {
        *self.h.tasks.keys().last().unwrap()
    }

    /// fork: the child's pid and task.
    fn fork(&mut self, task: u64) -> (u32, u64) {
        let pid = self.ok(task, n::FORK, &[]) as u32;
        let child = self.newest();
        assert_eq!(self.procs.pid_of(child), Some(pid));
        (pid, child)
    }

    /// A thread as pthread_create makes it: its tid and task; the tid is
    /// written at `tid_at` (which CLONE_CHILD_CLEARTID clears at its end).
    fn thread(&mut self, task: u64, tid_at: u64) -> (u32, u64) {
        let stack = Job::scratch() + 0x3000;
        let tid = self.ok(task, n::CLONE, &[THREAD_FLAGS, stack, tid_at, tid_at, 0x7000]) as u32;
        let t = self.newest();
        assert_eq!(self.procs.pid_of(t), self.procs.pid_of(task), "a thread of the caller's process");
        assert_eq!(self.h.space_of(t), self.h.space_of(task), "in the caller's space");
        let r = self.regs(t);
        assert_eq!((r.rax, r.rsp, r.fs_base, r.rip), (0, stack, 0x7000, AFTER_SYSCALL));
        (tid, t)
    }

    /// rt_sigaction(sig, {handler, flags | SA_RESTORER, RESTORER, mask}) by `task`.
    fn sigaction(&mut self, task: u64, sig: u8, handler: u64, flags: u64, mask: u64) {
        let at = Job::scratch() + 0x2000 + sig as u64 * 64;
        let act = SigAction { handler, flags: flags | signal::SA_RESTORER, restorer: RESTORER, mask };
        self.poke(task, at, &act.encode(crate::layout::Abi::X86_64));
        assert_eq!(self.ok(task, n::RT_SIGACTION, &[sig as u64, at, 0, 8]), 0);
    }

    /// The handler for `sig` runs in `task` (answered KeepRegs, registers
    /// at the handler): the frame's siginfo and its saved rax, rip.
    fn in_handler(&mut self, task: u64, sig: u8) -> Frame {
        assert_eq!(self.answer(task), Some(Outcome::KeepRegs), "task {task} sent to its handler");
        self.frame(task, sig)
    }

    /// The frame of the handler `task` was just sent to.
    fn frame(&self, task: u64, sig: u8) -> Frame {
        let r = self.regs(task);
        assert_eq!((r.rip, r.rdi), (HANDLER, sig as u64));
        let word = |j: &Job, at: u64| u64::from_le_bytes(j.peek(task, at, 8).try_into().unwrap());
        assert_eq!(word(self, r.rsp), RESTORER, "the handler returns to the restorer");
        let mctx = r.rsp + 48;
        let info = self.peek(task, r.rsi, 128);
        let i32_at = |i: usize| i32::from_le_bytes(info[i..i + 4].try_into().unwrap());
        Frame { rax: word(self, mctx + 13 * 8), rip: word(self, mctx + 16 * 8), mask: word(self, r.rsp + 8 + 296), signo: i32_at(0), code: i32_at(8), pid: i32_at(16), status: i32_at(24) }
    }

    /// The handler of `task` returns: `ret` to the restorer, rt_sigreturn.
    fn sigreturn(&mut self, task: u64) -> TaskRegs {
        let mut r = self.regs(task);
        r.rsp += 8;
        self.h.set_task_regs(task, &r);
        assert_eq!(self.call(task, n::RT_SIGRETURN, &[]), Some(Outcome::KeepRegs));
        self.regs(task)
    }

    fn pending(&mut self, task: u64) -> u64 {
        let at = Job::scratch() + 0x1f00;
        assert_eq!(self.ok(task, n::RT_SIGPENDING, &[at, 8]), 0);
        u64::from_le_bytes(self.peek(task, at, 8).try_into().unwrap())
    }
}

/// What a signal frame holds.
#[derive(Debug)]
struct Frame {
    rax: u64,
    rip: u64,
    mask: u64,
    signo: i32,
    code: i32,
    pid: i32,
    status: i32,
}

// ----- fork and wait -----

#[test]
fn fork_then_wait4_gets_the_childs_exit_status() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    j.poke(parent, Job::scratch() + 0x100, b"before");
    let (pid, child) = j.fork(parent);
    assert_eq!(pid, FIRST_PID + 1);
    // The child: the parent's registers with rax 0, a copy of its memory, in a space of its own.
    assert_eq!(j.regs(child).rip, AFTER_SYSCALL);
    assert_eq!(j.regs(child).rax, 0);
    assert_ne!(j.h.space_of(child), j.h.space_of(parent));
    j.poke(parent, Job::scratch() + 0x100, b"after!");
    assert_eq!(j.peek(child, Job::scratch() + 0x100, 6), b"before");
    assert_eq!(j.ok(child, n::GETPID, &[]), pid as i64);
    assert_eq!(j.ok(child, n::GETPPID, &[]), FIRST_PID as i64);
    // Not yet exited: WNOHANG says 0 and leaves the status alone.
    j.poke(parent, status, &[0xee; 4]);
    assert_eq!(j.ok(parent, n::WAIT4, &[u64::MAX, status, WNOHANG, 0]), 0);
    assert_eq!(j.peek(parent, status, 4), [0xee; 4]);
    // A wait that waits; the child's exit answers it.
    j.blocks(parent, n::WAIT4, &[pid as u64, status, 0, 0]);
    let child_space = j.h.space_of(child).unwrap();
    assert_eq!(j.call(child, n::EXIT_GROUP, &[7]), None, "exit is never answered");
    assert!(!j.h.task_alive(child), "the child's task is gone");
    assert!(!j.h.space_alive(child_space), "and its space");
    j.poll();
    assert_eq!(j.reply(parent), pid as i64);
    assert_eq!(j.word(parent, status), 7 << 8, "WIFEXITED, WEXITSTATUS 7");
    // Reaped: nothing is left to wait for.
    assert_eq!(j.ok(parent, n::WAIT4, &[u64::MAX, status, 0, 0]), err(Errno::ECHILD));
    assert_eq!(j.procs.running(), 1);
}

#[test]
fn wait4_wnohang_takes_a_child_that_already_exited() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    let (pid, child) = j.fork(parent);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[300]), None);
    // exit_group's status is the low byte.
    assert_eq!(j.ok(parent, n::WAIT4, &[pid as u64, status, WNOHANG, 0]), pid as i64);
    assert_eq!(j.word(parent, status), 44 << 8);
    assert_eq!(j.ok(parent, n::WAIT4, &[u64::MAX, status, WNOHANG, 0]), err(Errno::ECHILD));
}

// ----- SIGCHLD -----

#[test]
fn sigchld_is_ignored_by_default_and_the_zombie_stays() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    let (pid, child) = j.fork(parent);
    // The parent computes; the child ends.
    j.h.computing.push(parent);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[5]), None);
    j.poll();
    assert!(j.h.interrupted.is_empty(), "nobody is stopped for an ignored signal");
    assert!(j.inbox.is_empty());
    assert_eq!(j.pending(parent), 0, "SIGCHLD discarded, not pending");
    // The default action does not reap: the child waits for its parent's wait.
    assert_eq!(j.ok(parent, n::WAIT4, &[u64::MAX, status, WNOHANG, 0]), pid as i64);
    assert_eq!(j.word(parent, status), 5 << 8);
}

#[test]
fn sigchld_handler_runs_when_a_child_ends() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    j.sigaction(parent, signal::SIGCHLD, HANDLER, signal::SA_SIGINFO, 0);
    let (pid, child) = j.fork(parent);
    // The parent computes when the child ends: it is stopped where it is
    // (task_interrupt) and, at the fault that brings it, runs its handler.
    j.h.computing.push(parent);
    let before = j.regs(parent);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[5]), None);
    j.poll();
    assert_eq!(j.h.interrupted, [parent]);
    let f = Fault { vector: VECTOR_INTERRUPT, error_code: 0, addr: 0, rip: before.rip, rsp: before.rsp };
    assert_eq!(j.fault(parent, &f), Some(Outcome::KeepRegs));
    let fr = j.frame(parent, signal::SIGCHLD);
    assert_eq!((fr.signo, fr.code, fr.pid, fr.status), (signal::SIGCHLD as i32, CLD_EXITED, pid as i32, 5));
    assert_eq!((fr.rip, fr.rax, fr.mask), (before.rip, before.rax, 0));
    assert_eq!(j.procs.serve(&mut j.h, FIRST_PID, |p, _| p.sig.mask), Some(bit(signal::SIGCHLD)), "blocked while its handler runs");
    let after = j.sigreturn(parent);
    assert_eq!((after.rip, after.rsp, after.rax), (before.rip, before.rsp, before.rax), "back where it computed");
    assert_eq!(j.procs.serve(&mut j.h, FIRST_PID, |p, _| p.sig.mask), Some(0));
    assert_eq!(j.ok(parent, n::WAIT4, &[u64::MAX, status, WNOHANG, 0]), pid as i64);
    j.h.computing.clear();

    // A parent waiting in wait4 gets the child's pid, then its handler runs.
    let (pid, child) = j.fork(parent);
    j.blocks(parent, n::WAIT4, &[u64::MAX, status, 0, 0]);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[6]), None);
    j.poll();
    let fr = j.in_handler(parent, signal::SIGCHLD);
    assert_eq!((fr.pid, fr.status), (pid as i32, 6));
    assert_eq!((fr.rax, fr.rip), (pid as u64, AFTER_SYSCALL), "wait4's result is in the frame");
    assert_eq!(j.word(parent, status), 6 << 8);
    assert_eq!(j.sigreturn(parent).rax, pid as u64);
}

#[test]
fn sigchld_ignored_reaps_at_once() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    j.sigaction(parent, signal::SIGCHLD, signal::SIG_IGN, 0, 0);
    let (_, child) = j.fork(parent);
    // A wait for the only child ends with ECHILD when it is reaped.
    j.blocks(parent, n::WAIT4, &[u64::MAX, status, 0, 0]);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[5]), None);
    j.poll();
    assert_eq!(j.reply(parent), err(Errno::ECHILD));
    assert_eq!(j.procs.running(), 1);
}

// ----- interrupted calls -----

/// A pipe made by `task` before it forks: (read end, write end).
fn pipe(j: &mut Job, task: u64) -> (u64, u64) {
    let at = Job::scratch() + 0x300;
    assert_eq!(j.ok(task, n::PIPE2, &[at, 0]), 0);
    (j.word(task, at) as u64, j.word(task, at + 4) as u64)
}

#[test]
fn a_signal_interrupts_a_blocked_call_with_eintr_without_sa_restart() {
    let (mut j, parent) = Job::new();
    let buf = Job::scratch() + 0x800;
    let (r, w) = pipe(&mut j, parent);
    j.sigaction(parent, SIGUSR1, HANDLER, 0, 0);
    let (_, child) = j.fork(parent);
    j.blocks(parent, n::READ, &[r, buf, 16]);
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    let fr = j.in_handler(parent, SIGUSR1);
    assert_eq!((fr.rax, fr.rip), (err(Errno::EINTR) as u64, AFTER_SYSCALL), "read returns EINTR to the handler's frame");
    assert_eq!((fr.pid, fr.code), (FIRST_PID as i32 + 1, 0), "SI_USER from the child");
    let back = j.sigreturn(parent);
    assert_eq!((back.rax, back.rip), (err(Errno::EINTR) as u64, AFTER_SYSCALL));
    // The call is over: the pipe's data goes to the next read.
    assert_eq!(j.ok(child, n::WRITE, &[w, buf, 3]), 3);
    j.poll();
    assert!(j.inbox.is_empty(), "nobody reads");
    assert_eq!(j.ok(parent, n::READ, &[r, buf, 16]), 3);
}

#[test]
fn sa_restart_restarts_a_blocked_call_after_the_handler() {
    let (mut j, parent) = Job::new();
    let buf = Job::scratch() + 0x800;
    let (r, w) = pipe(&mut j, parent);
    j.sigaction(parent, SIGUSR1, HANDLER, signal::SA_RESTART, 0);
    let (cpid, child) = j.fork(parent);
    // A call the process serves (a pipe read) ...
    j.blocks(parent, n::READ, &[r, buf, 16]);
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    let fr = j.in_handler(parent, SIGUSR1);
    assert_eq!((fr.rip, fr.rax), (AFTER_SYSCALL - 2, n::READ as u64), "back on the syscall instruction, rax the call's number");
    let back = j.sigreturn(parent);
    assert_eq!((back.rip, back.rax), (AFTER_SYSCALL - 2, n::READ as u64));
    // ... which the program makes again, and this time it gets data.
    j.blocks(parent, n::READ, &[r, buf, 16]);
    j.poke(child, buf, b"hey");
    assert_eq!(j.ok(child, n::WRITE, &[w, buf, 3]), 3);
    j.poll();
    assert_eq!(j.reply(parent), 3);
    assert_eq!(j.peek(parent, buf, 3), b"hey");

    // A call the table serves (wait4) restarts the same way.
    j.blocks(parent, n::WAIT4, &[cpid as u64, 0, 0, 0]);
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    let fr = j.in_handler(parent, SIGUSR1);
    assert_eq!((fr.rip, fr.rax), (AFTER_SYSCALL - 2, n::WAIT4 as u64));
    j.sigreturn(parent);

    // nanosleep is never restarted (Linux gives EINTR whatever SA_RESTART says).
    let ts = Job::scratch() + 0x900;
    j.poke(parent, ts, &[1u64.to_le_bytes(), 0u64.to_le_bytes()].concat());
    j.blocks(parent, n::NANOSLEEP, &[ts, 0]);
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    let fr = j.in_handler(parent, SIGUSR1);
    assert_eq!((fr.rip, fr.rax), (AFTER_SYSCALL, err(Errno::EINTR) as u64));
}

// ----- exec -----

/// execve(path, [path], []) by `task` with its strings in the scratch area.
fn execve(j: &mut Job, task: u64, path: &str) -> Option<Outcome> {
    let at = Job::scratch() + 0xa00;
    let mut s = path.as_bytes().to_vec();
    s.push(0);
    j.poke(task, at, &s);
    let argv = at + 0x100;
    j.poke(task, argv, &[at.to_le_bytes(), 0u64.to_le_bytes()].concat());
    j.call(task, n::EXECVE, &[at, argv, argv + 8])
}

/// The handler `task`'s process has for `sig` (rt_sigaction with no new action).
fn handler_of(j: &mut Job, task: u64, sig: u8) -> u64 {
    let old = Job::scratch() + 0x1e00;
    assert_eq!(j.ok(task, n::RT_SIGACTION, &[sig as u64, 0, old, 8]), 0);
    u64::from_le_bytes(j.peek(task, old, 8).try_into().unwrap())
}

fn sigmask(j: &mut Job, task: u64, how: u64, set: u64) -> u64 {
    let (new, old) = (Job::scratch() + 0x1d00, Job::scratch() + 0x1d08);
    j.poke(task, new, &set.to_le_bytes());
    let r = j.call(task, n::RT_SIGPROCMASK, &[how, new, old, 8]);
    if r.is_none() {
        return u64::MAX;
    }
    assert_eq!(r, Some(Outcome::Reply(0)));
    u64::from_le_bytes(j.peek(task, old, 8).try_into().unwrap())
}
const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;

#[test]
fn exec_resets_handlers_keeps_ignored_signals_the_mask_and_pending_ones() {
    let (mut j, task) = Job::new();
    j.sigaction(task, SIGUSR1, HANDLER, signal::SA_RESTART, 0);
    j.sigaction(task, SIGUSR2, signal::SIG_IGN, 0, 0);
    j.sigaction(task, signal::SIGINT, HANDLER, 0, 0);
    let blocked = bit(signal::SIGINT) | bit(signal::SIGTERM);
    sigmask(&mut j, task, SIG_BLOCK, blocked);
    for sig in [signal::SIGINT, signal::SIGTERM] {
        assert_eq!(j.ok(task, n::KILL, &[FIRST_PID as u64, sig as u64]), 0);
    }
    assert_eq!(j.pending(task), blocked);
    let (old_space, maps) = (j.h.space_of(task).unwrap(), j.h.dropped.len());

    assert_eq!(execve(&mut j, task, "/home/user/prog"), None, "an exec is not answered: the new program starts");
    assert!(!j.h.task_alive(task), "the old task is gone");
    assert_eq!(j.h.dropped[maps..], [old_space], "with its space");
    let new = j.newest();
    assert_eq!(j.procs.pid_of(new), Some(FIRST_PID), "the same process");
    assert_ne!(j.h.space_of(new), Some(old_space));
    let r = j.regs(new);
    assert_eq!(r.rip, 0x401000, "at the program's entry");
    assert_eq!(j.peek(new, r.rsp, 8), 1u64.to_le_bytes(), "argc");

    // Some memory of its own to look with.
    assert_eq!(j.ok(new, n::MMAP, &[0, 0x4000, 3, 0x22, u64::MAX, 0]) as u64, Job::scratch());
    assert_eq!(handler_of(&mut j, new, SIGUSR1), signal::SIG_DFL, "a caught signal goes back to its default");
    assert_eq!(handler_of(&mut j, new, signal::SIGINT), signal::SIG_DFL);
    assert_eq!(handler_of(&mut j, new, SIGUSR2), signal::SIG_IGN, "an ignored one stays ignored");
    assert_eq!(sigmask(&mut j, new, SIG_BLOCK, 0), blocked, "the mask is kept");
    assert_eq!(j.pending(new), blocked, "and the pending signals");
    // SIGTERM, pending through the exec, now has its default action when unblocked.
    assert_eq!(sigmask(&mut j, new, SIG_UNBLOCK, bit(signal::SIGTERM)), u64::MAX, "the call ends the process");
    assert_eq!(j.procs.ended, Some(Exit::Signal(signal::SIGTERM)));
    assert!(j.h.tasks.is_empty(), "every task is gone");
}

#[test]
fn exec_of_a_missing_file_fails_and_the_program_goes_on() {
    let (mut j, task) = Job::new();
    let space = j.h.space_of(task);
    assert_eq!(execve(&mut j, task, "/nonexistent"), Some(Outcome::Reply(err(Errno::ENOENT) as u64)));
    assert_eq!(j.h.space_of(task), space);
    assert_eq!(j.h.tasks.len(), 1);
}

// ----- futexes -----

#[allow(clippy::too_many_arguments)]
fn futex(j: &mut Job, task: u64, addr: u64, op: u64, val: u64, val2: u64, addr2: u64, val3: u64) -> Option<Outcome> {
    j.call(task, n::FUTEX, &[addr, op, val, val2, addr2, val3])
}

#[test]
fn futex_wait_wake_and_cmp_requeue() {
    let (mut j, main) = Job::new();
    let (f1, f2) = (Job::scratch() + 0x400, Job::scratch() + 0x404);
    j.poke(main, f1, &5u32.to_le_bytes());
    let threads: Vec<u64> = (0..3).map(|i| j.thread(main, Job::scratch() + 0x500 + i * 4).1).collect();
    let (wait, wake, requeue) = (FUTEX_WAIT | FUTEX_PRIVATE, FUTEX_WAKE | FUTEX_PRIVATE, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE);
    // The word is checked: not the value expected, no wait.
    assert_eq!(futex(&mut j, threads[0], f1, wait, 4, 0, 0, 0), Some(Outcome::Reply(err(Errno::EAGAIN) as u64)));
    for &t in &threads {
        assert_eq!(futex(&mut j, t, f1, wait, 5, 0, 0, 0), None, "waits");
    }
    // A shared wake does not reach private waiters (another futex, as on Linux).
    assert_eq!(futex(&mut j, main, f1, FUTEX_WAKE, 10, 0, 0, 0), Some(Outcome::Reply(0)));
    // Woken first come, first served.
    assert_eq!(futex(&mut j, main, f1, wake, 1, 0, 0, 0), Some(Outcome::Reply(1)));
    assert_eq!(j.reply(threads[0]), 0);
    assert!(j.inbox.is_empty());
    // CMP_REQUEUE checks the word, wakes nr_wake, moves nr_requeue to the second futex.
    assert_eq!(futex(&mut j, main, f1, requeue, 0, 1, f2, 4), Some(Outcome::Reply(err(Errno::EAGAIN) as u64)));
    assert_eq!(futex(&mut j, main, f1, requeue, 0, 1, f2, 5), Some(Outcome::Reply(1)), "one moved");
    assert!(j.inbox.is_empty(), "nobody woken");
    assert_eq!(futex(&mut j, main, f1, wake, i32::MAX as u64, 0, 0, 0), Some(Outcome::Reply(1)), "only the one left on f1");
    assert_eq!(j.reply(threads[2]), 0);
    assert_eq!(futex(&mut j, main, f2, wake, 1, 0, 0, 0), Some(Outcome::Reply(1)), "the moved one is on f2");
    assert_eq!(j.reply(threads[1]), 0);
    // With a wake too: the first waiter woken, the second moved.
    assert_eq!(futex(&mut j, threads[0], f1, wait, 5, 0, 0, 0), None);
    assert_eq!(futex(&mut j, threads[1], f1, wait, 5, 0, 0, 0), None);
    assert_eq!(futex(&mut j, main, f1, requeue, 1, i32::MAX as u64, f2, 5), Some(Outcome::Reply(2)), "woken plus moved");
    assert_eq!(j.reply(threads[0]), 0);
    assert_eq!(futex(&mut j, main, f2, wake, 1, 0, 0, 0), Some(Outcome::Reply(1)));
    assert_eq!(j.reply(threads[1]), 0);
}

#[test]
fn futex_wait_times_out() {
    let (mut j, main) = Job::new();
    let (f, ts) = (Job::scratch() + 0x400, Job::scratch() + 0x410);
    j.poke(main, ts, &[0u64.to_le_bytes(), 1_000_000u64.to_le_bytes()].concat());
    j.h.now = 5_000;
    assert_eq!(futex(&mut j, main, f, FUTEX_WAIT | FUTEX_PRIVATE, 0, ts, 0, 0), None);
    assert_eq!(j.procs.next_deadline(j.h.now), Some(1_005_000));
    j.h.now = 1_004_999;
    j.poll();
    assert!(j.inbox.is_empty());
    j.h.now = 1_005_000;
    j.poll();
    assert_eq!(j.reply(main), err(Errno::ETIMEDOUT));
}

#[test]
fn a_shared_futex_in_shared_memory_reaches_another_process() {
    let (mut j, parent) = Job::new();
    let shm = j.ok(parent, n::MMAP, &[0, 0x1000, 3, 0x21, u64::MAX, 0]) as u64;
    let (_, child) = j.fork(parent);
    assert_eq!(futex(&mut j, child, shm + 8, FUTEX_WAIT, 0, 0, 0, 0), None);
    j.poke(parent, shm + 8, &1u32.to_le_bytes());
    assert_eq!(j.word(child, shm + 8), 1, "one page for both");
    assert_eq!(futex(&mut j, parent, shm + 8, FUTEX_WAKE, 1, 0, 0, 0), Some(Outcome::Reply(1)));
    assert_eq!(j.reply(child), 0);
}

// ----- threads -----

#[test]
fn a_threads_exit_clears_its_tid_and_wakes_the_joiner() {
    let (mut j, main) = Job::new();
    let tid_at = Job::scratch() + 0x500;
    let (tid, t) = j.thread(main, tid_at);
    assert_eq!(j.word(main, tid_at), tid, "CLONE_PARENT_SETTID");
    assert_eq!(j.ok(t, n::GETTID, &[]), tid as i64);
    assert_eq!(j.ok(t, n::GETPID, &[]), FIRST_PID as i64);
    // pthread_join: wait while the word holds the tid.
    assert_eq!(futex(&mut j, main, tid_at, FUTEX_WAIT, tid as u64, 0, 0, 0), None);
    assert_eq!(j.call(t, n::EXIT, &[0]), None, "exit is not answered");
    assert!(!j.h.task_alive(t));
    assert_eq!(j.word(main, tid_at), 0, "CLONE_CHILD_CLEARTID");
    assert_eq!(j.reply(main), 0, "the joiner woken");
    assert_eq!(j.procs.pid_of(t), None);
    assert_eq!(j.procs.running(), 1);
    assert_eq!(j.ok(main, n::GETTID, &[]), FIRST_PID as i64);
}

#[test]
fn exit_group_ends_every_thread() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    let (r, _) = pipe(&mut j, parent);
    let (pid, main) = j.fork(parent);
    let (_, reader) = j.thread(main, Job::scratch() + 0x500);
    let (_, waiter) = j.thread(main, Job::scratch() + 0x504);
    let (_, last) = j.thread(main, Job::scratch() + 0x508);
    let space = j.h.space_of(main).unwrap();
    j.blocks(reader, n::READ, &[r, Job::scratch() + 0x800, 16]);
    assert_eq!(futex(&mut j, waiter, Job::scratch() + 0x400, FUTEX_WAIT | FUTEX_PRIVATE, 0, 0, 0, 0), None);
    // The main thread may end first: the process goes on.
    assert_eq!(j.call(main, n::EXIT, &[1]), None);
    assert!(!j.h.task_alive(main));
    assert_eq!(j.ok(parent, n::WAIT4, &[pid as u64, status, WNOHANG, 0]), 0, "not ended");
    // Any thread's exit_group ends them all, answering none.
    assert_eq!(j.call(last, n::EXIT_GROUP, &[9]), None);
    j.poll();
    for t in [reader, waiter, last] {
        assert!(!j.h.task_alive(t), "task {t} killed");
        assert_eq!(j.procs.pid_of(t), None);
    }
    assert!(!j.h.space_alive(space));
    assert!(j.inbox.is_empty());
    assert_eq!(j.ok(parent, n::WAIT4, &[pid as u64, status, 0, 0]), pid as i64);
    assert_eq!(j.word(parent, status), 9 << 8);
    assert_eq!(j.h.tasks.keys().copied().collect::<Vec<_>>(), [parent]);
}

// ----- more of the table -----

#[test]
fn vfork_holds_the_parent_until_the_child_execs_or_exits() {
    let (mut j, parent) = Job::new();
    assert_eq!(j.call(parent, n::VFORK, &[]), None, "the parent waits");
    let child = j.newest();
    let pid = j.procs.pid_of(child).unwrap();
    assert_eq!(j.regs(child).rax, 0);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[3]), None);
    assert_eq!(j.reply(parent), pid as i64, "answered at the child's exit");

    assert_eq!(j.call(parent, n::VFORK, &[]), None);
    let child = j.newest();
    let pid = j.procs.pid_of(child).unwrap();
    assert_eq!(execve(&mut j, child, "/home/user/prog"), None);
    assert_eq!(j.reply(parent), pid as i64, "answered at the child's exec");
    let new = j.newest();
    assert_eq!((j.procs.pid_of(new), j.regs(new).rip), (Some(pid), 0x401000));
}

#[test]
fn a_fork_that_cannot_start_its_task_gives_its_space_back() {
    let (mut j, parent) = Job::new();
    j.h.task_limit = Some(1);
    assert_eq!(j.ok(parent, n::FORK, &[]), err(Errno::EAGAIN));
    assert_eq!(j.h.dropped.len(), 1, "the copy is dropped");
    assert_eq!(j.h.spaces.len(), 0);
    j.h.task_limit = None;
    j.h.fail_spaces = true;
    assert_eq!(j.ok(parent, n::FORK, &[]), err(Errno::ENOMEM));
    j.h.fail_spaces = false;
    // The job's limit of processes and threads.
    j.procs.set_threads_max(2);
    j.fork(parent);
    assert_eq!(j.ok(parent, n::FORK, &[]), err(Errno::EAGAIN));
    assert_eq!(j.ok(parent, n::CLONE, &[THREAD_FLAGS, Job::scratch() + 0x3000, 0, 0, 0]), err(Errno::EAGAIN));
}

#[test]
fn rlimit_nproc_and_threads_max_bound_forks() {
    let (mut j, parent) = Job::new();
    // threads-max from the node's memory (the simulation's 256 MiB: 2048),
    // RLIMIT_NPROC half of it, as Linux's fork_init.
    let (max, nproc) = j.procs.serve(&mut j.h, FIRST_PID, |p, _| (p.job.tunables.threads_max, p.rlimits[crate::linux::RLIMIT_NPROC])).unwrap();
    assert_eq!((max, nproc), (2048, (1024, 1024)));
    // A user (1000 here) at its RLIMIT_NPROC: EAGAIN, for threads too.
    j.procs.serve(&mut j.h, FIRST_PID, |p, _| p.rlimits[crate::linux::RLIMIT_NPROC] = (2, 2));
    let (_, child) = j.fork(parent);
    assert_eq!(j.ok(parent, n::FORK, &[]), err(Errno::EAGAIN));
    assert_eq!(j.ok(parent, n::CLONE, &[THREAD_FLAGS, Job::scratch() + 0x3000, 0, 0, 0]), err(Errno::EAGAIN));
    // A zombie no longer counts for its user.
    assert_eq!(j.call(child, n::EXIT_GROUP, &[0]), None);
    j.fork(parent);
    // Root is not bound by it (threads-max still is).
    j.procs.serve(&mut j.h, FIRST_PID, |p, _| p.ids.ruid = 0);
    j.fork(parent);
}

#[test]
fn fork_from_a_thread_copies_that_thread_only() {
    let (mut j, main) = Job::new();
    let (tid, t) = j.thread(main, Job::scratch() + 0x500);
    let (pid, child) = j.fork(t);
    assert_eq!(j.h.tasks_in(j.h.space_of(child).unwrap()), [child], "one task");
    assert_eq!(j.regs(child).rsp, j.regs(t).rsp, "the calling thread's registers");
    assert_eq!(j.ok(child, n::GETTID, &[]), pid as i64);
    assert_eq!(j.ok(child, n::GETPPID, &[]), FIRST_PID as i64);
    assert_eq!(j.ok(t, n::GETTID, &[]), tid as i64);
    assert_eq!(j.ok(main, n::GETTID, &[]), FIRST_PID as i64);
}

#[test]
fn exec_from_a_thread_ends_the_others() {
    let (mut j, main) = Job::new();
    let (_, t) = j.thread(main, Job::scratch() + 0x500);
    let (_, u) = j.thread(main, Job::scratch() + 0x504);
    assert_eq!(futex(&mut j, main, Job::scratch() + 0x400, FUTEX_WAIT | FUTEX_PRIVATE, 0, 0, 0, 0), None);
    assert_eq!(execve(&mut j, t, "/home/user/prog"), None);
    for task in [main, t, u] {
        assert!(!j.h.task_alive(task));
        assert_eq!(j.procs.pid_of(task), None);
    }
    assert!(j.inbox.is_empty(), "the waiting thread is not answered");
    let new = j.newest();
    assert_eq!(j.h.tasks.len(), 1);
    assert_eq!(j.ok(new, n::GETTID, &[]), FIRST_PID as i64, "the thread takes the process's id");
}

#[test]
fn stop_and_continue_hold_and_release_every_task() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    let (pid, child) = j.fork(parent);
    let (_, t) = j.thread(child, Job::scratch() + 0x500);
    assert_eq!(j.ok(parent, n::KILL, &[pid as u64, signal::SIGSTOP as u64]), 0);
    assert!(j.h.held(child) && j.h.held(t));
    assert_eq!(j.ok(parent, n::WAIT4, &[pid as u64, status, WNOHANG, 0]), 0, "a stop is not reported without WUNTRACED");
    assert_eq!(j.ok(parent, n::WAIT4, &[pid as u64, status, WNOHANG | 2, 0]), pid as i64);
    assert_eq!(j.word(parent, status), 0x137f, "WIFSTOPPED by SIGSTOP");
    assert_eq!(j.ok(parent, n::KILL, &[pid as u64, signal::SIGCONT as u64]), 0);
    assert!(!j.h.held(child) && !j.h.held(t));
    assert_eq!(j.ok(parent, n::WAIT4, &[pid as u64, status, WNOHANG | 8, 0]), pid as i64);
    assert_eq!(j.word(parent, status), 0xffff, "WIFCONTINUED");
}

#[test]
fn a_process_signal_goes_to_a_thread_that_does_not_block_it() {
    let (mut j, parent) = Job::new();
    let (r, _) = pipe(&mut j, parent);
    j.sigaction(parent, SIGUSR1, HANDLER, signal::SA_RESTART, 0);
    j.sigaction(parent, SIGUSR2, HANDLER, 0, 0);
    let (_, child) = j.fork(parent);
    let (_, t) = j.thread(parent, Job::scratch() + 0x500);
    sigmask(&mut j, parent, SIG_BLOCK, bit(SIGUSR1));
    j.blocks(parent, n::READ, &[r, Job::scratch() + 0x800, 16]);
    assert_eq!(futex(&mut j, t, Job::scratch() + 0x400, FUTEX_WAIT | FUTEX_PRIVATE, 0, 0, 0, 0), None);
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    // The thread that does not block it takes it; a futex wait is never restarted.
    let fr = j.in_handler(t, SIGUSR1);
    assert_eq!(fr.rax, err(Errno::EINTR) as u64);
    assert!(j.inbox.is_empty(), "the main thread blocks it and goes on waiting");
    j.sigreturn(t);
    // The interrupted wait is over: a wake finds nobody.
    assert_eq!(futex(&mut j, t, Job::scratch() + 0x400, FUTEX_WAKE | FUTEX_PRIVATE, 1, 0, 0, 0), Some(Outcome::Reply(0)));
    // tgkill reaches the thread named.
    assert_eq!(j.ok(t, n::TGKILL, &[FIRST_PID as u64, FIRST_PID as u64, SIGUSR2 as u64]), 0);
    j.poll();
    let fr = j.in_handler(parent, SIGUSR2);
    assert_eq!(fr.rax, err(Errno::EINTR) as u64);
    assert_eq!(fr.code, -6, "SI_TKILL");
    assert_eq!(fr.pid, FIRST_PID as i32);
}

#[test]
fn orphans_go_to_the_first_process() {
    let (mut j, first) = Job::new();
    let status = Job::scratch();
    let (a, ta) = j.fork(first);
    let (b, tb) = j.fork(ta);
    assert_eq!(j.ok(tb, n::GETPPID, &[]), a as i64);
    assert_eq!(j.call(ta, n::EXIT_GROUP, &[1]), None);
    assert_eq!(j.ok(tb, n::GETPPID, &[]), FIRST_PID as i64, "adopted");
    assert_eq!(j.ok(first, n::WAIT4, &[u64::MAX, status, 0, 0]), a as i64);
    j.blocks(first, n::WAIT4, &[u64::MAX, status, 0, 0]);
    assert_eq!(j.call(tb, n::EXIT_GROUP, &[2]), None);
    j.poll();
    assert_eq!(j.reply(first), b as i64);
    assert_eq!(j.word(first, status), 2 << 8);
}

#[test]
fn sigkill_ends_a_process_whose_threads_wait() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    let (r, _) = pipe(&mut j, parent);
    let (pid, child) = j.fork(parent);
    let (_, t) = j.thread(child, Job::scratch() + 0x500);
    j.blocks(child, n::READ, &[r, Job::scratch() + 0x800, 16]);
    j.blocks(t, n::READ, &[r, Job::scratch() + 0x800, 16]);
    assert_eq!(j.ok(parent, n::KILL, &[pid as u64, signal::SIGKILL as u64]), 0);
    j.poll();
    assert!(!j.h.task_alive(child) && !j.h.task_alive(t));
    assert!(j.inbox.is_empty());
    assert_eq!(j.ok(parent, n::WAIT4, &[pid as u64, status, 0, 0]), pid as i64);
    assert_eq!(j.word(parent, status), 9, "WIFSIGNALED by SIGKILL");
}

#[test]
fn a_thread_of_the_parent_waits_for_its_child() {
    let (mut j, main) = Job::new();
    let status = Job::scratch();
    let (_, t) = j.thread(main, Job::scratch() + 0x500);
    let (pid, child) = j.fork(main);
    j.blocks(t, n::WAIT4, &[u64::MAX, status, 0, 0]);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[4]), None);
    j.poll();
    assert_eq!(j.reply(t), pid as i64);
    assert_eq!(j.word(main, status), 4 << 8);
}

#[test]
fn the_first_process_ending_ends_the_job() {
    let (mut j, first) = Job::new();
    let (r, _) = pipe(&mut j, first);
    let (_, child) = j.fork(first);
    let (_, t) = j.thread(first, Job::scratch() + 0x500);
    j.blocks(child, n::READ, &[r, Job::scratch() + 0x800, 16]);
    j.blocks(t, n::READ, &[r, Job::scratch() + 0x800, 16]);
    assert_eq!(j.call(first, n::EXIT_GROUP, &[4]), None);
    assert_eq!(j.procs.ended, Some(Exit::Code(4)));
    assert!(j.h.tasks.is_empty(), "every task of the job is gone");
    assert!(j.h.spaces.is_empty() && !j.h.space_alive(j.h.space), "and every space");
    j.poll();
    assert!(j.inbox.is_empty());
}

// ----- signals: more ways in -----

#[test]
fn a_signal_on_its_way_is_delivered_with_the_next_answer() {
    let (mut j, parent) = Job::new();
    let (r, _) = pipe(&mut j, parent);
    j.sigaction(parent, SIGUSR1, HANDLER, 0, 0);
    let (_, child) = j.fork(parent);
    // The parent cannot be stopped where it is (on its way here with a
    // call): its next answer runs the handler, with the call's result.
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    assert!(j.inbox.is_empty());
    assert_eq!(j.call(parent, n::GETPID, &[]), Some(Outcome::KeepRegs));
    let fr = j.frame(parent, SIGUSR1);
    assert_eq!(fr.rax, FIRST_PID as u64);
    assert_eq!(j.sigreturn(parent).rax, FIRST_PID as u64);
    // A call that would wait ends at once with EINTR.
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    assert_eq!(j.call(parent, n::READ, &[r, Job::scratch() + 0x800, 16]), Some(Outcome::KeepRegs));
    assert_eq!(j.frame(parent, SIGUSR1).rax, err(Errno::EINTR) as u64);
}

#[test]
fn unblocking_a_pending_signal_runs_its_handler_at_once() {
    let (mut j, task) = Job::new();
    j.sigaction(task, SIGUSR1, HANDLER, 0, 0);
    sigmask(&mut j, task, SIG_BLOCK, bit(SIGUSR1));
    assert_eq!(j.ok(task, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    assert_eq!(j.pending(task), bit(SIGUSR1));
    let new = Job::scratch() + 0x1d00;
    j.poke(task, new, &bit(SIGUSR1).to_le_bytes());
    assert_eq!(j.call(task, n::RT_SIGPROCMASK, &[SIG_UNBLOCK, new, 0, 8]), Some(Outcome::KeepRegs));
    let fr = j.frame(task, SIGUSR1);
    assert_eq!((fr.rax, fr.mask), (0, 0), "sigprocmask's 0, and the mask sigreturn gives back");
    j.sigreturn(task);
    assert_eq!(j.pending(task), 0);
}

#[test]
fn sigsuspend_waits_with_its_mask_and_restores_the_old_one() {
    let (mut j, parent) = Job::new();
    j.sigaction(parent, SIGUSR1, HANDLER, signal::SA_RESTART, 0);
    let (_, child) = j.fork(parent);
    sigmask(&mut j, parent, SIG_BLOCK, bit(SIGUSR1) | bit(SIGUSR2));
    let set = Job::scratch() + 0x1c00;
    j.poke(parent, set, &bit(SIGUSR2).to_le_bytes());
    j.blocks(parent, n::RT_SIGSUSPEND, &[set, 8]);
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    let fr = j.in_handler(parent, SIGUSR1);
    assert_eq!(fr.rax, err(Errno::EINTR) as u64, "never restarted");
    assert_eq!(fr.mask, bit(SIGUSR1) | bit(SIGUSR2), "the mask before sigsuspend comes back at sigreturn");
    j.sigreturn(parent);
    assert_eq!(sigmask(&mut j, parent, SIG_BLOCK, 0), bit(SIGUSR1) | bit(SIGUSR2));
}

#[test]
fn sigcont_continues_a_stopped_process_and_runs_its_handler() {
    let (mut j, parent) = Job::new();
    let (r, _) = pipe(&mut j, parent);
    let (pid, child) = j.fork(parent);
    j.sigaction(child, signal::SIGCONT, HANDLER, 0, 0);
    j.blocks(child, n::READ, &[r, Job::scratch() + 0x800, 16]);
    assert_eq!(j.ok(parent, n::KILL, &[pid as u64, signal::SIGSTOP as u64]), 0);
    j.poll();
    assert!(j.h.held(child) && j.inbox.is_empty());
    assert_eq!(j.ok(parent, n::KILL, &[pid as u64, signal::SIGCONT as u64]), 0);
    j.poll();
    assert!(!j.h.held(child));
    assert_eq!(j.in_handler(child, signal::SIGCONT).rax, err(Errno::EINTR) as u64);
}

#[test]
fn faults_run_a_handler_or_kill() {
    let (mut j, parent) = Job::new();
    let status = Job::scratch();
    let (pid, child) = j.fork(parent);
    let bad = Fault { vector: 14, error_code: sion_abi::msg::pf::WRITE | sion_abi::msg::pf::USER, addr: 0x10, rip: AFTER_SYSCALL, rsp: j.regs(parent).rsp };
    // With a handler: SEGV_MAPERR at the address.
    j.sigaction(parent, signal::SIGSEGV, HANDLER, signal::SA_SIGINFO, 0);
    assert_eq!(j.fault(parent, &bad), Some(Outcome::KeepRegs));
    let fr = j.frame(parent, signal::SIGSEGV);
    assert_eq!(fr.code, signal::SEGV_MAPERR);
    assert_eq!(u64::from_le_bytes(j.peek(parent, j.regs(parent).rsi + 16, 8).try_into().unwrap()), 0x10, "si_addr");
    // Without one (the child's): the process dies of it.
    assert_eq!(j.fault(child, &bad), None);
    assert!(!j.h.task_alive(child));
    assert_eq!(j.ok(parent, n::WAIT4, &[pid as u64, status, 0, 0]), pid as i64);
    assert_eq!(j.word(parent, status) & 0x7f, signal::SIGSEGV as u32);
}

#[test]
fn a_dying_thread_releases_its_robust_futexes() {
    let (mut j, main) = Job::new();
    let (head, lock) = (Job::scratch() + 0x600, Job::scratch() + 0x640);
    let (tid, t) = j.thread(main, Job::scratch() + 0x500);
    // The thread holds `lock` (its tid, with waiters), listed on its robust list
    // (entry at lock - 0x20, futex_offset 0x20).
    let entry = lock - 0x20;
    j.poke(main, head, &[entry.to_le_bytes(), 0x20u64.to_le_bytes(), 0u64.to_le_bytes()].concat());
    j.poke(main, entry, &head.to_le_bytes());
    j.poke(main, lock, &(tid | crate::futex::FUTEX_WAITERS).to_le_bytes());
    assert_eq!(j.ok(t, n::SET_ROBUST_LIST, &[head, 24]), 0);
    assert_eq!(futex(&mut j, main, lock, FUTEX_WAIT, (tid | crate::futex::FUTEX_WAITERS) as u64, 0, 0, 0), None);
    assert_eq!(j.call(t, n::EXIT, &[0]), None);
    assert_eq!(j.word(main, lock), crate::futex::FUTEX_OWNER_DIED | crate::futex::FUTEX_WAITERS);
    assert_eq!(j.reply(main), 0, "a waiter woken");
}

#[test]
fn waitid_wnowait_leaves_the_zombie() {
    let (mut j, parent) = Job::new();
    let info = Job::scratch() + 0xc00;
    let (pid, child) = j.fork(parent);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[8]), None);
    const P_PID: u64 = 1;
    const WEXITED: u64 = 4;
    const WNOWAIT: u64 = 0x0100_0000;
    assert_eq!(j.ok(parent, n::WAITID, &[P_PID, pid as u64, info, WEXITED | WNOWAIT, 0]), 0);
    let i32_at = |j: &Job, o: u64| i32::from_le_bytes(j.peek(parent, info + o, 4).try_into().unwrap());
    assert_eq!((i32_at(&j, 0), i32_at(&j, 8), i32_at(&j, 16), i32_at(&j, 24)), (signal::SIGCHLD as i32, CLD_EXITED, pid as i32, 8));
    assert_eq!(j.ok(parent, n::WAITID, &[P_PID, pid as u64, info, WEXITED, 0]), 0, "still there");
    assert_eq!(j.ok(parent, n::WAITID, &[P_PID, pid as u64, info, WEXITED | WNOHANG, 0]), err(Errno::ECHILD), "reaped");
}

#[test]
fn kill_reaches_a_process_group() {
    let (mut j, first) = Job::new();
    let status = Job::scratch();
    let (a, ta) = j.fork(first);
    let (b, tb) = j.fork(first);
    // a leads a group of its own; b joins it.
    assert_eq!(j.ok(ta, n::SETPGID, &[0, 0]), 0);
    assert_eq!(j.ok(first, n::SETPGID, &[b as u64, a as u64]), 0);
    assert_eq!(j.ok(first, n::KILL, &[(-(a as i64)) as u64, signal::SIGTERM as u64]), 0);
    assert!(!j.h.task_alive(ta) && !j.h.task_alive(tb));
    assert!(j.h.task_alive(first), "not in the group");
    for pid in [a, b] {
        assert_eq!(j.ok(first, n::WAIT4, &[pid as u64, status, 0, 0]), pid as i64);
        assert_eq!(j.word(first, status), signal::SIGTERM as u32);
    }
}

#[test]
fn a_blocked_sigchld_stays_pending_for_sigtimedwait() {
    // Linux never discards a blocked signal, even one whose action is to be
    // ignored (sig_ignored(): "Blocked signals are never ignored, since the
    // signal handler may change by the time it is unblocked"): a program
    // that blocks SIGCHLD waits for its children with sigwaitinfo or a
    // signalfd.
    let (mut j, parent) = Job::new();
    let (set, info) = (Job::scratch() + 0x1c00, Job::scratch() + 0xc00);
    sigmask(&mut j, parent, SIG_BLOCK, bit(signal::SIGCHLD));
    let (pid, child) = j.fork(parent);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[3]), None);
    j.poll();
    assert_eq!(j.pending(parent), bit(signal::SIGCHLD), "pending, blocked");
    j.poke(parent, set, &bit(signal::SIGCHLD).to_le_bytes());
    assert_eq!(j.ok(parent, n::RT_SIGTIMEDWAIT, &[set, info, 0, 8]), signal::SIGCHLD as i64);
    let i32_at = |j: &Job, o: u64| i32::from_le_bytes(j.peek(parent, info + o, 4).try_into().unwrap());
    assert_eq!((i32_at(&j, 8), i32_at(&j, 16), i32_at(&j, 24)), (CLD_EXITED, pid as i32, 3));
    // And a wait that began before the child's end.
    let (_, child) = j.fork(parent);
    j.blocks(parent, n::RT_SIGTIMEDWAIT, &[set, info, 0, 8]);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[4]), None);
    j.poll();
    assert_eq!(j.reply(parent), signal::SIGCHLD as i64);
}

#[test]
fn a_signal_sent_during_vfork_runs_its_handler_when_vfork_returns() {
    // Linux's vfork parent waits killably only: a handled signal sent
    // meanwhile is delivered as vfork returns, its result in the frame.
    let (mut j, parent) = Job::new();
    j.sigaction(parent, SIGUSR1, HANDLER, 0, 0);
    assert_eq!(j.call(parent, n::VFORK, &[]), None);
    let child = j.newest();
    let pid = j.procs.pid_of(child).unwrap();
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    assert!(j.inbox.is_empty(), "still in vfork");
    assert_eq!(j.call(child, n::EXIT_GROUP, &[0]), None);
    j.poll();
    let fr = j.in_handler(parent, SIGUSR1);
    assert_eq!((fr.rax, fr.rip), (pid as u64, AFTER_SYSCALL));
}

#[test]
fn alarm_interrupts_pause() {
    let (mut j, task) = Job::new();
    j.sigaction(task, signal::SIGALRM, HANDLER, signal::SA_RESTART, 0);
    j.h.now = 1_000;
    assert_eq!(j.ok(task, n::ALARM, &[2]), 0);
    j.blocks(task, n::PAUSE, &[]);
    assert_eq!(j.procs.next_deadline(j.h.now), Some(2_000_001_000));
    j.h.now = 2_000_000_999;
    j.poll();
    assert!(j.inbox.is_empty());
    j.h.now = 2_000_001_000;
    j.poll();
    let fr = j.in_handler(task, signal::SIGALRM);
    assert_eq!((fr.rax, fr.code), (err(Errno::EINTR) as u64, signal::SI_KERNEL), "pause is never restarted");
}

#[test]
fn a_parent_death_signal_reaches_the_orphan() {
    let (mut j, first) = Job::new();
    let status = Job::scratch();
    let (a, ta) = j.fork(first);
    let (b, tb) = j.fork(ta);
    const PR_SET_PDEATHSIG: u64 = 1;
    assert_eq!(j.ok(tb, n::PRCTL, &[PR_SET_PDEATHSIG, signal::SIGTERM as u64]), 0);
    assert_eq!(j.call(ta, n::EXIT_GROUP, &[0]), None);
    assert!(!j.h.task_alive(tb), "killed by its SIGTERM");
    assert_eq!(j.ok(first, n::WAIT4, &[a as u64, status, 0, 0]), a as i64);
    assert_eq!(j.ok(first, n::WAIT4, &[b as u64, status, 0, 0]), b as i64, "the orphan's status goes to the first process");
    assert_eq!(j.word(first, status), signal::SIGTERM as u32);
}

#[test]
fn quiet_calls_are_answered_at_once_and_wake_nobody() {
    let (mut j, parent) = Job::new();
    let (rd, wr) = pipe(&mut j, parent);
    let (_, ctask) = j.fork(parent);
    // The child waits on the pipe; the parent's quiet calls leave it waiting.
    j.blocks(ctask, n::READ, &[rd, Job::scratch(), 4]);
    let before = j.quick;
    assert_eq!(j.ok(parent, n::GETPID, &[]), FIRST_PID as i64);
    assert_eq!(j.ok(parent, n::GETTID, &[]), FIRST_PID as i64);
    const CLOCK_MONOTONIC: u64 = 1;
    assert_eq!(j.ok(parent, n::CLOCK_GETTIME, &[CLOCK_MONOTONIC, Job::scratch() + 0x100]), 0);
    assert_eq!(j.ok(parent, n::CLOCK_GETTIME, &[CLOCK_MONOTONIC, 8]), err(Errno::EFAULT), "a bad pointer, answered at once too");
    assert_eq!(j.quick - before, 4, "answered by the fast dispatch");
    assert!(j.waiting.contains(&ctask) && j.answer(ctask).is_none(), "the reader still waits");
    // A write is not quiet: the loop goes round and the reader gets the bytes.
    j.poke(parent, Job::scratch(), b"ping");
    assert_eq!(j.ok(parent, n::WRITE, &[wr, Job::scratch(), 4]), 4);
    assert_eq!(j.quick - before, 4);
    assert_eq!(j.reply(ctask), 4);
    assert_eq!(j.peek(ctask, Job::scratch(), 4), b"ping");
}

// ----- the vDSO -----

/// AT_SYSINFO_EHDR in the aux vector of a task that has not run yet.
fn sysinfo_ehdr(j: &Job, task: u64) -> Option<u64> {
    let sp = j.regs(task).rsp;
    let word = |i: u64| u64::from_le_bytes(j.peek(task, sp + 8 * i, 8).try_into().unwrap());
    let mut i = 1 + word(0) + 1;
    while word(i) != 0 {
        i += 1;
    }
    i += 1;
    while word(i) != 0 {
        if word(i) == crate::stack::at::SYSINFO_EHDR {
            return Some(word(i + 1));
        }
        i += 2;
    }
    None
}

#[test]
fn the_vdso_is_in_every_program_survives_fork_and_is_remade_at_exec() {
    let (mut j, task) = Job::new();
    let at = crate::vdso::data_base(crate::layout::Abi::X86_64) + 0x1000;
    let image = crate::vdso::IMAGE_64;
    assert_eq!(sysinfo_ehdr(&j, task), Some(at), "AT_SYSINFO_EHDR");
    assert_eq!(j.peek(task, at, image.len()), image);

    // /proc/self/maps names both pages as Linux does.
    let path = Job::scratch() + 0x100;
    j.poke(task, path, b"/proc/self/maps\0");
    let fd = j.ok(task, n::OPEN, &[path, 0, 0]) as u64;
    let buf = Job::scratch() + 0x1000;
    let n = j.ok(task, n::READ, &[fd, buf, 0x2000]) as usize;
    let maps = alloc::string::String::from_utf8(j.peek(task, buf, n)).unwrap();
    let line = |name: &str| -> &str { maps.lines().find(|l| l.ends_with(name)).unwrap_or_else(|| panic!("no {name} in\n{maps}")) };
    assert!(line("[vvar]").starts_with(&alloc::format!("{:08x}-{:08x} r--p", at - 0x1000, at)), "{maps}");
    assert!(line("[vdso]").starts_with(&alloc::format!("{:08x}-{:08x} r-xp", at, at + 0x2000)), "{maps}");

    // A fork's child has it where its parent had it.
    let (_, child) = j.fork(task);
    assert_eq!(j.peek(child, at, image.len()), image);
    assert_eq!(j.peek(child, at - 0x1000, 8), j.peek(task, at - 0x1000, 8), "and its data page");

    // An exec maps it afresh in the new space and tells the program.
    assert_eq!(execve(&mut j, child, "/home/user/prog"), None);
    let new = j.newest();
    assert_eq!(sysinfo_ehdr(&j, new), Some(at));
    assert_eq!(j.peek(new, at, image.len()), image);
}

/// Open `path`, write `text` (or read when None), close: the call's result.
fn proc_file(j: &mut Job, task: u64, path: &str, text: Option<&str>) -> Result<alloc::string::String, i64> {
    let at = Job::scratch() + 0x100;
    j.poke(task, at, alloc::format!("{path}\0").as_bytes());
    let fd = j.ok(task, n::OPEN, &[at, if text.is_some() { 1 } else { 0 }, 0]);
    if fd < 0 {
        return Err(fd);
    }
    let buf = Job::scratch() + 0x1000;
    let r = match text {
        Some(t) => {
            j.poke(task, buf, t.as_bytes());
            let n = j.ok(task, n::WRITE, &[fd as u64, buf, t.len() as u64]);
            if n < 0 {
                Err(n)
            } else {
                Ok(alloc::string::String::new())
            }
        }
        None => {
            let n = j.ok(task, n::READ, &[fd as u64, buf, 0x1000]);
            Ok(alloc::string::String::from_utf8(j.peek(task, buf, n as usize)).unwrap())
        }
    };
    j.ok(task, n::CLOSE, &[fd as u64]);
    r
}

#[test]
fn proc_sys_tunables_read_write_and_govern() {
    let (mut j, task) = Job::new();
    // A user may not write them (0644, root's).
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/pid_max", Some("400\n")), Err(err(Errno::EACCES)));
    let uid = j.procs.serve(&mut j.h, crate::process::FIRST_PID, |p, _| {
            p.files.cred.uid = 0;
            p.caps = crate::process::Caps::of(0);
            core::mem::replace(&mut p.uid, 0)
        })
        .unwrap();
    assert_ne!(uid, 0);
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/pid_max", None).as_deref(), Ok("32768\n"));
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/tainted", None).as_deref(), Ok("0\n"));
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/osrelease", None).as_deref(), Ok("6.1.0-sion\n"));
    assert!(proc_file(&mut j, task, "/boot/config-6.1.0-sion", None).unwrap().contains("\nCONFIG_EVENTFD=y\n"));
    // Out of Linux's bounds, not a number, or a fixed file: refused.
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/pid_max", Some("100\n")), Err(err(Errno::EINVAL)));
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/pid_max", Some("many\n")), Err(err(Errno::EINVAL)));
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/tainted", Some("1\n")), Err(err(Errno::EACCES)), "0444, for root too (as Linux)");
    // pid_max governs the ids: past it they wrap to 300.
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/pid_max", Some("301\n")).as_deref(), Ok(""));
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/pid_max", None).as_deref(), Ok("301\n"));
    // Children made and reaped: 3, 4, ... 300, then 300 again.
    let mut pids = Vec::new();
    for _ in 0..300 {
        let (pid, child) = j.fork(task);
        pids.push(pid);
        assert_eq!(j.call(child, n::EXIT_GROUP, &[0]), None);
        assert_eq!(j.ok(task, n::WAIT4, &[pid as u64, 0, 0, 0]), pid as i64);
    }
    assert_eq!(pids[..3], [3, 4, 5]);
    assert_eq!(pids[297..], [300, 300, 300], "past pid_max the ids wrap to 300");
    // With 300 taken, no id is left: fork fails as Linux's with EAGAIN.
    let (_, child) = j.fork(task);
    assert_eq!(j.ok(task, n::FORK, &[]), err(Errno::EAGAIN));
    assert_eq!(j.call(child, n::EXIT_GROUP, &[0]), None);
    // pipe-max-size bounds F_SETPIPE_SZ for others than root.
    assert_eq!(proc_file(&mut j, task, "/proc/sys/fs/pipe-max-size", Some("65536")).as_deref(), Ok(""));
    let fds = Job::scratch() + 0x200;
    assert_eq!(j.ok(task, n::PIPE2, &[fds, 0]), 0);
    let w = u32::from_le_bytes(j.peek(task, fds + 4, 4).try_into().unwrap()) as u64;
    const F_SETPIPE_SZ: u64 = 1031;
    assert_eq!(j.ok(task, n::FCNTL, &[w, F_SETPIPE_SZ, 1 << 20]), 1 << 20, "root may pass it");
    assert_eq!(j.ok(task, n::FCNTL, &[w, F_SETPIPE_SZ, (1 << 31) + 1]), err(Errno::EINVAL));
    j.procs.serve(&mut j.h, crate::process::FIRST_PID, |p, _| {
        p.uid = uid;
        p.files.cred.uid = uid;
        p.caps = crate::process::Caps::of(uid);
    });
    assert_eq!(j.ok(task, n::FCNTL, &[w, F_SETPIPE_SZ, 1 << 21]), err(Errno::EPERM), "a user may not");
    assert_eq!(j.ok(task, n::FCNTL, &[w, F_SETPIPE_SZ, 4096]), 4096, "shrinking is always allowed");
}

// ----- POSIX timers and timerfds -----

const SI_TIMER: i32 = -2;

/// timer_create(CLOCK_MONOTONIC) sending `sig` with value `value`: its id.
fn timer_create(j: &mut Job, task: u64, sig: u8, value: u64) -> u64 {
    let (sev, id) = (Job::scratch() + 0x100, Job::scratch() + 0x180);
    let mut ev = [0u8; 64];
    ev[..8].copy_from_slice(&value.to_le_bytes());
    ev[8..12].copy_from_slice(&(sig as u32).to_le_bytes());
    j.poke(task, sev, &ev);
    assert_eq!(j.ok(task, n::TIMER_CREATE, &[1, sev, id]), 0);
    j.word(task, id) as u64
}

/// An itimerspec (interval, value) in ns at a scratch address.
fn itimerspec(j: &mut Job, task: u64, interval: u64, value: u64) -> u64 {
    let at = Job::scratch() + 0x200;
    let ts = |ns: u64| [(ns / 1_000_000_000).to_le_bytes(), (ns % 1_000_000_000).to_le_bytes()].concat();
    j.poke(task, at, &[ts(interval), ts(value)].concat());
    at
}

#[test]
fn a_periodic_timer_counts_overruns_while_its_signal_is_blocked() {
    let (mut j, task) = Job::new();
    j.sigaction(task, SIGUSR1, HANDLER, signal::SA_SIGINFO, 0);
    sigmask(&mut j, task, SIG_BLOCK, bit(SIGUSR1));
    let id = timer_create(&mut j, task, SIGUSR1, 42);
    assert_eq!(id, 0, "ids start at 0");
    j.h.now = 1_000;
    let spec = itimerspec(&mut j, task, 10_000_000, 10_000_000);
    assert_eq!(j.ok(task, n::TIMER_SETTIME, &[id, 0, spec, 0]), 0);
    assert_eq!(j.procs.next_deadline(j.h.now), Some(10_001_000));
    j.h.now = 10_001_000;
    j.poll();
    assert_eq!(j.pending(task), bit(SIGUSR1));
    // Three more periods pass while it is pending: overruns, not signals.
    j.h.now = 45_001_000;
    j.poll();
    assert_eq!(j.ok(task, n::TIMER_GETOVERRUN, &[id]), 0, "nothing delivered yet");
    // Unblocked: the handler gets SI_TIMER, the timer id, 3 overruns, the value.
    let new = Job::scratch() + 0x1d00;
    j.poke(task, new, &bit(SIGUSR1).to_le_bytes());
    assert_eq!(j.call(task, n::RT_SIGPROCMASK, &[SIG_UNBLOCK, new, 0, 8]), Some(Outcome::KeepRegs));
    let r = j.regs(task);
    let info = j.peek(task, r.rsi, 128);
    let i32_at = |i: usize| i32::from_le_bytes(info[i..i + 4].try_into().unwrap());
    assert_eq!((i32_at(0), i32_at(8), i32_at(16), i32_at(20), i32_at(24)), (SIGUSR1 as i32, SI_TIMER, id as i32, 3, 42));
    j.sigreturn(task);
    assert_eq!(j.ok(task, n::TIMER_GETOVERRUN, &[id]), 3);
    // timer_gettime: the interval and the time to the next period.
    let cur = Job::scratch() + 0x300;
    assert_eq!(j.ok(task, n::TIMER_GETTIME, &[id, cur]), 0);
    let words: Vec<u64> = (0..4).map(|i| u64::from_le_bytes(j.peek(task, cur + 8 * i, 8).try_into().unwrap())).collect();
    assert_eq!(words, [0, 10_000_000, 0, 5_000_000]);
    assert_eq!(j.ok(task, n::TIMER_DELETE, &[id]), 0);
    assert_eq!(j.ok(task, n::TIMER_DELETE, &[id]), err(Errno::EINVAL));
    assert_eq!(j.procs.next_deadline(j.h.now), None);
}

#[test]
fn a_timer_that_expires_before_its_callers_answer_is_out_still_interrupts_it() {
    let (mut j, task) = Job::new();
    j.sigaction(task, SIGUSR1, HANDLER, signal::SA_SIGINFO, 0);
    let id = timer_create(&mut j, task, SIGUSR1, 0);
    // An absolute time already past: it expires in the upkeep right after the call.
    let spec = itimerspec(&mut j, task, 0, 1);
    j.h.now = 5_000;
    assert_eq!(j.ok(task, n::TIMER_SETTIME, &[id, 1, spec, 0]), 0);
    // The task now computes; the next upkeep (due at once) stops it.
    assert_eq!(j.procs.next_deadline(j.h.now), Some(5_000));
    j.h.computing.push(task);
    j.poll();
    assert_eq!(j.h.interrupted, [task]);
    let before = j.regs(task);
    let f = Fault { vector: VECTOR_INTERRUPT, error_code: 0, addr: 0, rip: before.rip, rsp: before.rsp };
    assert_eq!(j.fault(task, &f), Some(Outcome::KeepRegs));
    assert_eq!(j.frame(task, SIGUSR1).code, SI_TIMER);
}

#[test]
fn timers_are_not_inherited_by_fork() {
    let (mut j, parent) = Job::new();
    let id = timer_create(&mut j, parent, SIGUSR1, 0);
    let (_, child) = j.fork(parent);
    let cur = Job::scratch() + 0x300;
    assert_eq!(j.ok(child, n::TIMER_GETTIME, &[id, cur]), err(Errno::EINVAL));
    assert_eq!(j.ok(parent, n::TIMER_GETTIME, &[id, cur]), 0);
}

#[test]
fn a_timerfd_read_waits_for_expirations_and_counts_them() {
    let (mut j, task) = Job::new();
    let fd = j.ok(task, n::TIMERFD_CREATE, &[1, 0]) as u64;
    let buf = Job::scratch() + 0x400;
    j.h.now = 1_000;
    let spec = itimerspec(&mut j, task, 1_000_000, 1_000_000);
    assert_eq!(j.ok(task, n::TIMERFD_SETTIME, &[fd, 0, spec, 0]), 0);
    j.blocks(task, n::READ, &[fd, buf, 8]);
    assert_eq!(j.procs.next_deadline(j.h.now), Some(1_001_000));
    j.h.now = 3_500_000;
    j.poll();
    assert_eq!(j.reply(task), 8);
    assert_eq!(u64::from_le_bytes(j.peek(task, buf, 8).try_into().unwrap()), 3);
    // A child shares it: what one reads the other does not.
    let (_, child) = j.fork(task);
    j.h.now = 4_100_000;
    assert_eq!(j.ok(child, n::READ, &[fd, buf, 8]), 8);
    assert_eq!(j.ok(task, n::FCNTL, &[fd, 4, 0o4000]), 0);
    assert_eq!(j.ok(task, n::READ, &[fd, buf, 8]), err(Errno::EAGAIN));
    assert_eq!(j.ok(task, n::READ, &[fd, buf, 4]), err(Errno::EINVAL));
}

// ----- file locks -----

/// struct flock (x86_64) with `ltype`, SEEK_SET, `start`, `len`, written
/// at `at` in `task`'s process.
fn flock_at(j: &mut Job, task: u64, at: u64, ltype: u16, start: i64, len: i64) {
    let mut b = [0u8; 32];
    b[0..2].copy_from_slice(&ltype.to_le_bytes());
    b[8..16].copy_from_slice(&start.to_le_bytes());
    b[16..24].copy_from_slice(&len.to_le_bytes());
    j.poke(task, at, &b);
}

/// F_GETLK's answer at `at`: (type, start, len, pid).
fn flock_of(j: &Job, task: u64, at: u64) -> (u16, i64, i64, i32) {
    let b = j.peek(task, at, 32);
    let i = |a: usize| i64::from_le_bytes(b[a..a + 8].try_into().unwrap());
    (u16::from_le_bytes([b[0], b[1]]), i(8), i(16), i32::from_le_bytes(b[24..28].try_into().unwrap()))
}

const F_GETLK: u64 = 5;
const F_SETLK: u64 = 6;
const F_SETLKW: u64 = 7;

#[test]
fn record_locks_between_processes_wait_wake_and_find_deadlocks() {
    let (mut j, parent) = Job::new();
    let path = Job::scratch() + 0x100;
    j.poke(parent, path, b"/tmp/locked\0");
    let fd = j.ok(parent, n::OPEN, &[path, 0o102, 0o644]) as u64;
    let (pa, ca) = (Job::scratch() + 0x400, Job::scratch() + 0x500);
    flock_at(&mut j, parent, pa, 1, 0, 10);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLK, pa]), 0);
    let (cpid, child) = j.fork(parent);
    // The child does not inherit the lock: it is stopped by it, and sees it.
    flock_at(&mut j, child, ca, 0, 5, 1);
    assert_eq!(j.ok(child, n::FCNTL, &[fd, F_SETLK, ca]), err(Errno::EAGAIN));
    assert_eq!(j.ok(child, n::FCNTL, &[fd, F_GETLK, ca]), 0);
    assert_eq!(flock_of(&j, child, ca), (1, 0, 10, FIRST_PID as i32));
    // F_SETLKW waits until the parent unlocks.
    flock_at(&mut j, child, ca, 1, 5, 1);
    j.blocks(child, n::FCNTL, &[fd, F_SETLKW, ca]);
    flock_at(&mut j, parent, pa, 2, 0, 0);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLK, pa]), 0);
    assert_eq!(j.reply(child), 0);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_GETLK, pa]), err(Errno::EINVAL), "F_GETLK of F_UNLCK");
    flock_at(&mut j, parent, pa, 0, 0, 0);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_GETLK, pa]), 0);
    assert_eq!(flock_of(&j, parent, pa), (1, 5, 1, cpid as i32));
    // A deadlock: the parent holds 20 and waits for 5; the child asks for 20.
    flock_at(&mut j, parent, pa, 1, 20, 1);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLK, pa]), 0);
    flock_at(&mut j, parent, pa, 1, 5, 1);
    j.blocks(parent, n::FCNTL, &[fd, F_SETLKW, pa]);
    flock_at(&mut j, child, ca, 1, 20, 1);
    assert_eq!(j.ok(child, n::FCNTL, &[fd, F_SETLKW, ca]), err(Errno::EDEADLK));
    // Closing any descriptor of the file drops the child's locks: the parent goes on.
    let dup = j.ok(child, n::DUP, &[fd]) as u64;
    assert_eq!(j.ok(child, n::CLOSE, &[dup]), 0);
    assert_eq!(j.reply(parent), 0);
    // A wait ends at the holder's exit too.
    flock_at(&mut j, child, ca, 0, 30, 1);
    assert_eq!(j.ok(child, n::FCNTL, &[fd, F_SETLK, ca]), 0);
    flock_at(&mut j, parent, pa, 1, 30, 1);
    j.blocks(parent, n::FCNTL, &[fd, F_SETLKW, pa]);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[0]), None);
    assert_eq!(j.reply(parent), 0);
}

#[test]
fn a_signal_interrupts_a_lock_wait_and_flock_excludes_descriptions() {
    let (mut j, parent) = Job::new();
    let path = Job::scratch() + 0x100;
    j.poke(parent, path, b"/tmp/locked\0");
    let fd = j.ok(parent, n::OPEN, &[path, 0o102, 0o644]) as u64;
    let fl = Job::scratch() + 0x400;
    flock_at(&mut j, parent, fl, 1, 0, 0);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLK, fl]), 0);
    j.sigaction(parent, SIGUSR1, HANDLER, 0, 0);
    let (_, child) = j.fork(parent);
    j.sigaction(child, SIGUSR1, HANDLER, 0, 0);
    j.blocks(child, n::FCNTL, &[fd, F_SETLKW, fl]);
    assert_eq!(j.ok(parent, n::KILL, &[FIRST_PID as u64 + 1, SIGUSR1 as u64]), 0);
    j.poll();
    let fr = j.in_handler(child, SIGUSR1);
    assert_eq!(fr.rax, err(Errno::EINTR) as u64);
    j.sigreturn(child);

    // flock: the shared description is one owner; another open is another.
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    assert_eq!(j.ok(parent, n::FLOCK, &[fd, LOCK_EX]), 0);
    assert_eq!(j.ok(child, n::FLOCK, &[fd, LOCK_EX | LOCK_NB]), 0, "the same description");
    let other = j.ok(child, n::OPEN, &[path, 2, 0]) as u64;
    assert_eq!(j.ok(child, n::FLOCK, &[other, LOCK_SH | LOCK_NB]), err(Errno::EAGAIN));
    j.blocks(child, n::FLOCK, &[other, LOCK_SH]);
    assert_eq!(j.ok(parent, n::FLOCK, &[fd, LOCK_UN]), 0);
    assert_eq!(j.reply(child), 0);
    // Record locks are another matter: the parent still holds its own.
    assert_eq!(j.ok(child, n::FCNTL, &[other, F_SETLK, fl]), err(Errno::EAGAIN));
    assert_eq!(j.ok(child, n::FLOCK, &[9, LOCK_SH]), err(Errno::EBADF));
    assert_eq!(j.ok(child, n::FLOCK, &[other, LOCK_SH | LOCK_EX]), err(Errno::EINVAL));
}

#[test]
fn a_lease_break_signals_the_holder_and_the_opener_waits_for_it() {
    const F_SETLEASE: u64 = 1024;
    const F_GETLEASE: u64 = 1025;
    const SIGIO: u8 = 29;
    let (mut j, parent) = Job::new();
    let path = Job::scratch() + 0x100;
    j.poke(parent, path, b"/tmp/leased\0");
    let fd = j.ok(parent, n::OPEN, &[path, 0o100, 0o644]) as u64;
    // SIGIO blocked, as fcntl33 does, so it stays pending.
    sigmask(&mut j, parent, 0, bit(SIGIO));
    let (_, child) = j.fork(parent);
    // The child's copy of the descriptor is the same description: one open.
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLEASE, 1]), 0);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_GETLEASE, 0]), 1);
    // A reader's open waits until the holder downgrades; O_NONBLOCK does not wait.
    assert_eq!(j.ok(child, n::OPEN, &[path, 0o4000, 0]), err(Errno::EAGAIN));
    assert_ne!(j.pending(parent) & bit(SIGIO), 0, "the holder got SIGIO");
    j.blocks(child, n::OPEN, &[path, 0, 0]);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_GETLEASE, 0]), 0, "F_GETLEASE: what the break asks");
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLEASE, 0]), 0);
    let rfd = j.reply(child);
    assert!(rfd > 0);
    // A writer's open waits until the lease goes; a downgrade is refused.
    assert_eq!(j.ok(child, n::CLOSE, &[rfd as u64]), 0);
    j.blocks(child, n::OPEN, &[path, 1, 0]);
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLEASE, 0]), err(Errno::EAGAIN));
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLEASE, 2]), 0);
    assert!(j.reply(child) > 0);
    // With a writer open, no read lease.
    assert_eq!(j.ok(parent, n::FCNTL, &[fd, F_SETLEASE, 0]), err(Errno::EAGAIN));
}

// ----- System V IPC -----

const IPC_PRIVATE: u64 = 0;
const IPC_CREAT: u64 = 0o1000;
const IPC_RMID: u64 = 0;
const GETVAL: u64 = 12;
const GETNCNT: u64 = 14;
const SETVAL: u64 = 16;
const SEM_UNDO: i16 = 0x1000;

/// `struct sembuf`s at `at`.
fn sembufs(j: &mut Job, task: u64, at: u64, ops: &[(u16, i16, i16)]) {
    let b: Vec<u8> = ops.iter().flat_map(|&(n, o, f)| [n.to_le_bytes(), o.to_le_bytes(), f.to_le_bytes()].concat()).collect();
    j.poke(task, at, &b);
}

#[test]
fn semop_waits_for_another_process_and_sem_undo_is_undone_at_exit() {
    let (mut j, parent) = Job::new();
    let ops = Job::scratch() + 0x100;
    let id = j.ok(parent, n::SEMGET, &[IPC_PRIVATE, 2, IPC_CREAT | 0o600]) as u64;
    let (_, child) = j.fork(parent);
    // The parent waits for semaphore 0 to reach 2.
    sembufs(&mut j, parent, ops, &[(0, -2, 0)]);
    j.blocks(parent, n::SEMOP, &[id, ops, 1]);
    assert_eq!(j.ok(child, n::SEMCTL, &[id, 0, GETNCNT]), 1);
    // The child adds 1 (not enough), then 1 with SEM_UNDO to semaphore 1 too.
    sembufs(&mut j, child, ops + 0x40, &[(0, 1, 0)]);
    assert_eq!(j.ok(child, n::SEMOP, &[id, ops + 0x40, 1]), 0);
    assert!(j.inbox.is_empty(), "one is not enough");
    sembufs(&mut j, child, ops + 0x40, &[(1, 5, SEM_UNDO), (0, 1, 0)]);
    assert_eq!(j.ok(child, n::SEMOP, &[id, ops + 0x40, 2]), 0);
    assert_eq!(j.reply(parent), 0, "the parent's semop went through");
    assert_eq!(j.ok(parent, n::SEMCTL, &[id, 0, GETVAL]), 0);
    assert_eq!(j.ok(parent, n::SEMCTL, &[id, 1, GETVAL]), 5);
    assert_eq!(j.ok(parent, n::SEMCTL, &[id, 0, GETNCNT]), 0);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[0]), None);
    assert_eq!(j.ok(parent, n::SEMCTL, &[id, 1, GETVAL]), 0, "the child's SEM_UNDO was undone");
    // A waiter sees the set go: EIDRM.
    let (_, child2) = j.fork(parent);
    j.blocks(child2, n::SEMOP, &[id, ops, 1]);
    assert_eq!(j.ok(parent, n::SEMCTL, &[id, 0, IPC_RMID]), 0);
    assert_eq!(j.reply(child2), err(Errno::EIDRM));
    assert_eq!(j.ok(parent, n::SEMCTL, &[id, 0, GETVAL]), err(Errno::EINVAL));
}

#[test]
fn semtimedop_times_out_and_a_signal_interrupts_semop() {
    let (mut j, main) = Job::new();
    let (ops, ts) = (Job::scratch() + 0x100, Job::scratch() + 0x200);
    let id = j.ok(main, n::SEMGET, &[IPC_PRIVATE, 1, IPC_CREAT | 0o600]) as u64;
    assert_eq!(j.ok(main, n::SEMCTL, &[id, 0, SETVAL, 1]), 0);
    sembufs(&mut j, main, ops, &[(0, -2, 0)]);
    j.poke(main, ts, &[0u64.to_le_bytes(), 1_000_000u64.to_le_bytes()].concat());
    j.h.now = 5_000;
    j.blocks(main, n::SEMTIMEDOP, &[id, ops, 1, ts]);
    assert_eq!(j.procs.next_deadline(j.h.now), Some(1_005_000));
    j.h.now = 1_004_999;
    j.poll();
    assert!(j.inbox.is_empty());
    j.h.now = 1_005_000;
    j.poll();
    assert_eq!(j.reply(main), err(Errno::EAGAIN));
    assert!(j.procs.next_deadline(j.h.now).is_none());
    // A handler's signal ends a semop with EINTR, even with SA_RESTART.
    j.sigaction(main, SIGUSR1, HANDLER, signal::SA_RESTART, 0);
    let (_, child) = j.fork(main);
    j.blocks(main, n::SEMOP, &[id, ops, 1]);
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    let fr = j.in_handler(main, SIGUSR1);
    assert_eq!(fr.rax, err(Errno::EINTR) as u64);
    assert_eq!(j.ok(child, n::SEMCTL, &[id, 0, GETNCNT]), 0, "the wait is forgotten");
}

#[test]
fn msgrcv_waits_for_a_sender_of_its_type() {
    let (mut j, parent) = Job::new();
    let (snd, rcv) = (Job::scratch() + 0x100, Job::scratch() + 0x200);
    let id = j.ok(parent, n::MSGGET, &[IPC_PRIVATE, IPC_CREAT | 0o600]) as u64;
    let (_, child) = j.fork(parent);
    j.blocks(parent, n::MSGRCV, &[id, rcv, 16, 7, 0]);
    j.poke(child, snd, &[3u64.to_le_bytes().as_slice(), b"three"].concat());
    assert_eq!(j.ok(child, n::MSGSND, &[id, snd, 5, 0]), 0);
    assert!(j.inbox.is_empty(), "not its type");
    j.poke(child, snd, &[7u64.to_le_bytes().as_slice(), b"seven"].concat());
    assert_eq!(j.ok(child, n::MSGSND, &[id, snd, 5, 0]), 0);
    assert_eq!(j.reply(parent), 5);
    assert_eq!(j.peek(parent, rcv, 13), [7u64.to_le_bytes().as_slice(), b"seven"].concat());
    assert_eq!(j.ok(parent, n::MSGRCV, &[id, rcv, 16, 0, 0]), 5, "type 3 is still there");
    j.blocks(child, n::MSGRCV, &[id, rcv, 16, 0, 0]);
    assert_eq!(j.ok(parent, n::MSGCTL, &[id, IPC_RMID, 0]), 0);
    assert_eq!(j.reply(child), err(Errno::EIDRM));
}

#[test]
fn reboot_ends_the_job_as_a_child_pid_namespaces_init() {
    const MAGIC1: u64 = 0xfee1_dead;
    const MAGIC2: u64 = 672_274_793;
    let (mut j, parent) = Job::new();
    assert_eq!(j.ok(parent, n::REBOOT, &[MAGIC1, MAGIC2, 0x0123_4567, 0]), err(Errno::EPERM), "a user may not");
    j.procs.serve(&mut j.h, FIRST_PID, |p, _| {
        p.files.cred.uid = 0;
        p.caps = crate::process::Caps::of(0);
        p.uid = 0;
    });
    let (_, child) = j.fork(parent);
    assert_eq!(j.ok(child, n::REBOOT, &[MAGIC1, 1, 0x0123_4567, 0]), err(Errno::EINVAL), "bad magic");
    assert_eq!(j.ok(child, n::REBOOT, &[MAGIC1, MAGIC2, 100, 0]), err(Errno::EINVAL), "no such command");
    assert_eq!(j.ok(child, n::REBOOT, &[MAGIC1, MAGIC2, 0x89ab_cdef, 0]), err(Errno::EINVAL), "Ctrl-Alt-Del is the node's");
    assert_eq!(j.ok(child, n::SETRESUID, &[65534, 65534, 65534]), 0);
    assert_eq!(j.ok(child, n::REBOOT, &[MAGIC1, MAGIC2, 0x0123_4567, 0]), err(Errno::EPERM), "CAP_SYS_BOOT first");
    assert_eq!(j.ok(child, n::VHANGUP, &[]), err(Errno::EPERM));
    assert_eq!(j.ok(parent, n::VHANGUP, &[]), 0, "no controlling terminal to hang up");
    assert_eq!(j.ok(parent, n::KEXEC_LOAD, &[0, 0, 0, 0]), err(Errno::EPERM), "kexec is the node's");
    let (_, root_child) = j.fork(parent);
    assert_eq!(j.call(root_child, n::REBOOT, &[MAGIC1, MAGIC2, 0x4321_fedc, 0]), None, "the caller exits");
    j.poll();
    assert_eq!(j.procs.ended, Some(Exit::Signal(signal::SIGINT)), "power-off: the job ends as killed by SIGINT");
}

#[test]
fn an_interrupted_relative_sleep_writes_the_time_it_had_left() {
    let (mut j, parent) = Job::new();
    let (req, rem) = (Job::scratch(), Job::scratch() + 0x40);
    let mut ts = 3u64.to_le_bytes().to_vec();
    ts.extend_from_slice(&0u64.to_le_bytes());
    j.poke(parent, req, &ts);
    j.sigaction(parent, SIGUSR1, HANDLER, signal::SA_RESTART, 0);
    let (_, child) = j.fork(parent);
    j.h.now = 1_000_000_000;
    j.blocks(parent, n::NANOSLEEP, &[req, rem]);
    j.h.now = 1_250_000_000;
    assert_eq!(j.ok(child, n::KILL, &[FIRST_PID as u64, SIGUSR1 as u64]), 0);
    j.poll();
    let fr = j.in_handler(parent, SIGUSR1);
    assert_eq!(fr.rax, err(Errno::EINTR) as u64, "EINTR even with SA_RESTART");
    let left = j.peek(parent, rem, 16);
    assert_eq!((u64::from_le_bytes(left[..8].try_into().unwrap()), u64::from_le_bytes(left[8..].try_into().unwrap())), (2, 750_000_000));
}

#[test]
fn ns_last_pid_chooses_the_next_id() {
    let (mut j, task) = Job::new();
    // Root's, as the capability check wants.
    j.procs.serve(&mut j.h, crate::process::FIRST_PID, |p, _| {
        p.files.cred.uid = 0;
        p.caps = crate::process::Caps::of(0);
        p.uid = 0;
    });
    let (first, child) = j.fork(task);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[0]), None);
    assert_eq!(j.ok(task, n::WAIT4, &[first as u64, 0, 0, 0]), first as i64);
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/ns_last_pid", None), Ok(alloc::format!("{first}\n")));
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/ns_last_pid", Some("-1\n")), Err(err(Errno::EINVAL)));
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/ns_last_pid", Some("40000\n")), Err(err(Errno::EINVAL)), "past pid_max");
    // The id of the reaped child again.
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/ns_last_pid", Some(&alloc::format!("{}\n", first - 1))).as_deref(), Ok(""));
    let (again, child) = j.fork(task);
    assert_eq!(again, first);
    assert_eq!(j.call(child, n::EXIT_GROUP, &[0]), None);
    assert_eq!(j.ok(task, n::WAIT4, &[again as u64, 0, 0, 0]), again as i64);
    // Without CAP_SYS_ADMIN (and CAP_CHECKPOINT_RESTORE): EPERM, though the file is 0666.
    j.procs.serve(&mut j.h, crate::process::FIRST_PID, |p, _| p.caps.effective &= !(1 << crate::linux::CAP_SYS_ADMIN | 1 << crate::linux::CAP_CHECKPOINT_RESTORE));
    assert_eq!(proc_file(&mut j, task, "/proc/sys/kernel/ns_last_pid", Some("100\n")), Err(err(Errno::EPERM)));
}
