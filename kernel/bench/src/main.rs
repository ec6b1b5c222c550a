//! The native benchmark server, booted with the kernel alone by `cargo xtask
//! bench`. The boot archive holds this binary twice: `servers/bench` (the boot
//! server, the client that measures) and `servers/echo` (a second server in
//! its own address space that answers every call with as many bytes as it
//! got). Each figure is the median over batches of the per-iteration guest
//! cycles (rdtsc; under QEMU `-icount shift=0` one cycle is one guest
//! instruction), printed on the kernel console as `BENCH name value unit`,
//! the format of the C workloads. The machine then powers off.
//!
//! - `kcall.yield`: a kernel call that does nothing (yield with no other
//!   runnable task): the cost of entering and leaving the kernel;
//! - `kcall.clock_info`: a kernel call that writes a `ClockInfo` into the caller;
//! - `ipc.SIZE`: a native call of SIZE bytes + a reply of SIZE bytes between
//!   the two servers (the echo server answers with `reply_recv`) (two address-space switches, two copies); `ipc.0` carries no bytes;
//! - `linux_trap`: a Linux task's `syscall` forwarded as a message to this
//!   server, which replies at once: the kernel's share of a forwarded Linux
//!   system call, with no personality work at all; answered with
//!   `reply_recv` as the personality does (`linux_trap.reply_then_recv`:
//!   with two kernel calls).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use sion_abi::call::{prot, TaskKind};
use sion_abi::msg::{Header, Kind, LinuxReply};
use sion_abi::regs::{Mode, TaskRegs};
use sion_abi::TaskId;
use sion_rt as rt;

sion_rt::entry!(main);

const SIZES: [usize; 6] = [4, 1024, 4096, 8192, 16384, 65500];
const BATCHES: usize = 9;
const MAX: usize = 65536;

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Median over BATCHES of the cycles per iteration of `f` run `n` times.
fn measure(n: u64, mut f: impl FnMut()) -> u64 {
    for _ in 0..n.min(100) {
        f();
    }
    let mut v = Vec::new();
    for _ in 0..BATCHES {
        let t0 = rt::rdtsc();
        for _ in 0..n {
            f();
        }
        v.push((rt::rdtsc() - t0) / n);
    }
    median(v)
}

fn report(name: &str, value: u64) {
    rt::log!("BENCH {} {} cycles", name, value);
}

/// The echo server: answer each call with the same number of bytes.
fn echo() -> ! {
    // Two buffers: answer from the one just received while the next call
    // lands in the other (no copy in between).
    let mut buf = vec![0u8; Header::SIZE + MAX];
    let mut next = vec![0u8; Header::SIZE + MAX];
    let mut n = rt::ipc_recv(&mut buf).unwrap_or(0);
    loop {
        n = match Header::decode(&buf) {
            // Answer and wait for the next call in one kernel entry.
            Some(h) if h.kind() == Some(Kind::Native) && n >= Header::SIZE => rt::ipc_reply_recv(h.sender(), &buf[Header::SIZE..n], &mut next).unwrap_or(0),
            _ => rt::ipc_recv(&mut next).unwrap_or(0),
        };
        core::mem::swap(&mut buf, &mut next);
    }
}

/// A Linux task looping on `syscall` (getppid) in a space of its own; this
/// server is its handler.
fn linux_trap() -> u64 {
    // mov eax, 110; syscall; jmp back to the mov
    let code = [0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7];
    const CODE: u64 = 0x40_0000;
    let space = rt::space_create().expect("space");
    rt::mem_map(space, CODE, 4096, prot::READ | prot::WRITE).expect("map");
    rt::mem_write(space, CODE, &code).expect("code");
    rt::mem_protect(space, CODE, 4096, prot::READ | prot::EXEC).expect("protect");
    let task = rt::task_create(space, TaskKind::Linux).expect("task");
    rt::task_set_regs(task, &TaskRegs { rip: CODE, rflags: 0x202, mode: Mode::Long as u64, ..Default::default() }).expect("regs");
    rt::task_start(task).expect("start");
    let mut buf = [0u8; 256];
    let reply = LinuxReply { flags: 0, rax: 1 }.encode();
    rt::ipc_recv(&mut buf).expect("first trap");
    // As the personality does: reply and receive the next call in one
    // entry, the call handed over in registers.
    let cycles = measure(2000, || {
        let got = rt::linux_reply_recv(Some((task, LinuxReply { flags: 0, rax: 1 })), &mut buf).expect("linux_reply_recv");
        assert!(matches!(got, rt::Incoming::Syscall { .. }), "a trap not handed over in registers");
    });
    // The same with the message and the reply through memory (page walks).
    let in_memory = measure(2000, || {
        rt::ipc_reply_recv(task, &reply, &mut buf).expect("reply_recv");
    });
    report("linux_trap.in_memory", in_memory);
    // The older way, two kernel entries: reply, then receive.
    let two_calls = measure(2000, || {
        rt::ipc_reply(task, &reply).expect("reply");
        rt::ipc_recv(&mut buf).expect("trap");
    });
    report("linux_trap.reply_then_recv", two_calls);
    let _ = rt::task_kill(task);
    let _ = rt::space_destroy(space);
    cycles
}

fn client(server: TaskId) {
    report("kcall.yield", measure(5000, rt::yield_now));
    // A kernel call that writes a small struct into the caller (a page-table walk).
    report("kcall.clock_info", measure(5000, || {
        rt::clock_info().expect("clock");
    }));
    let msg = vec![0x5au8; MAX];
    let mut answer = vec![0u8; MAX];
    // An empty call + reply: the fixed cost without any payload copy.
    for size in core::iter::once(0).chain(SIZES) {
        let n = if size > 8192 { 300 } else { 2000 };
        let cycles = measure(n, || {
            let got = rt::ipc_call(server, &msg[..size], &mut answer).expect("call");
            assert_eq!(got, size);
        });
        report(&alloc::format!("ipc.{size}"), cycles);
    }
    report("linux_trap", linux_trap());
}

fn main(_boot: rt::Boot) -> ! {
    let me = rt::self_task();
    if rt::server_lookup("bench") != Ok(me) {
        echo();
    }
    match rt::server_lookup("echo") {
        Ok(server) => client(server),
        Err(e) => rt::log!("bench: no echo server ({:?})", e),
    }
    rt::log!("bench: done");
    rt::poweroff(0)
}
