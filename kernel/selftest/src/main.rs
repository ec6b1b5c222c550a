//! The kernel's self-test: a native server booted alone in QEMU. Each check
//! drives the real kernel through its kernel calls and prints `ok` or `FAIL`;
//! the machine powers off with code 0 only if every check passed, which
//! `cargo xtask test` reads from QEMU's exit status (isa-debug-exit).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use sion_abi::call::{prot, Error, TaskKind, MAX_CPUS};
use sion_abi::msg::{self, Header, Kind, LinuxAbi, LinuxReply, LinuxSyscall, NOTIFY_TIMER};
use sion_abi::regs::{Mode, TaskRegs};
use sion_abi::{SpaceId, TaskId};
use sion_rt as rt;

sion_rt::entry!(main);

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x5000_0000;
const PAGE: u64 = 4096;

struct Suite {
    passed: u32,
    failed: u32,
}

impl Suite {
    fn check(&mut self, name: &str, ok: bool) {
        if ok {
            self.passed += 1;
            rt::log!("selftest: ok   {}", name);
        } else {
            self.failed += 1;
            rt::log!("selftest: FAIL {}", name);
        }
    }
}

/// Receive one message: (header, payload bytes).
fn recv(buf: &mut [u8; 512]) -> (Header, &[u8]) {
    let n = rt::ipc_recv(buf).expect("recv");
    let h = Header::decode(&buf[..]).expect("header");
    (h, &buf[Header::SIZE..n])
}

fn reply(task: TaskId, flags: u64, rax: u64) {
    rt::ipc_reply(task, &LinuxReply { flags, rax }.encode()).expect("reply");
}

/// A Linux task running `code` at CODE in a fresh space.
fn linux_task(code: &[u8], mode: Mode) -> (SpaceId, TaskId) {
    let space = rt::space_create().expect("space");
    rt::mem_map(space, CODE, PAGE, prot::READ | prot::WRITE).expect("map code");
    assert_eq!(rt::mem_write(space, CODE, code), Ok(code.len()));
    rt::mem_protect(space, CODE, PAGE, prot::READ | prot::EXEC).expect("protect");
    let task = rt::task_create(space, TaskKind::Linux).expect("task");
    let regs = TaskRegs { rip: CODE, rsp: 0, rflags: 0x202, mode: mode as u64, ..Default::default() };
    rt::task_set_regs(task, &regs).expect("regs");
    rt::task_start(task).expect("start");
    (space, task)
}

/// A 64-bit Linux task running `code` with `rbx` set (its own value to keep).
fn linux_task_with_rbx(code: &[u8], rbx: u64) -> (SpaceId, TaskId) {
    let (space, task) = linux_task(&[0xeb, 0xfe], Mode::Long);
    // Stop it, give it the real code and the value, run it again.
    rt::task_kill(task).expect("kill");
    let task = rt::task_create(space, TaskKind::Linux).expect("task");
    rt::mem_protect(space, CODE, PAGE, prot::READ | prot::WRITE).expect("protect");
    rt::mem_write(space, CODE, code).expect("code");
    rt::mem_protect(space, CODE, PAGE, prot::READ | prot::EXEC).expect("protect");
    let regs = TaskRegs { rip: CODE, rflags: 0x202, rbx, mode: Mode::Long as u64, ..Default::default() };
    rt::task_set_regs(task, &regs).expect("regs");
    rt::task_start(task).expect("start");
    (space, task)
}

fn trap_routing(s: &mut Suite) {
    // mov eax,39; syscall; mov ebx,eax; mov eax,20; int 0x80; ud2
    let code = [0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc3, 0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0x0f, 0x0b];
    let (space, task) = linux_task(&code, Mode::Long);
    let mut buf = [0u8; 512];
    let (h, p) = recv(&mut buf);
    let m = LinuxSyscall::decode(p).unwrap_or_default();
    s.check("syscall from a Linux task is an x86_64 message", h.kind() == Some(Kind::LinuxSyscall) && h.sender() == task && m.abi() == LinuxAbi::X86_64 && m.nr == 39);
    reply(task, 0, 1234);
    let (h, p) = recv(&mut buf);
    let m = LinuxSyscall::decode(p).unwrap_or_default();
    s.check("int 0x80 from 64-bit code is an i386 message", h.kind() == Some(Kind::LinuxSyscall) && m.abi() == LinuxAbi::I386 && m.nr == 20);
    s.check("the reply value reached the task's rax", m.args[0] == 1234);
    reply(task, 0, 0);
    let (h, p) = recv(&mut buf);
    let f = msg::Fault::decode(p).unwrap_or_default();
    s.check("#UD in a Linux task is a fault message", h.kind() == Some(Kind::Fault) && f.vector == 6 && f.rip == CODE + 16);
    rt::task_kill(task).expect("kill");
    s.check("a killed task's id goes stale", rt::task_kill(task) == Err(Error::NoSuchObject));
    rt::space_destroy(space).expect("destroy");
}

/// The fast path of a forwarded Linux call (kernel/src/fastpath.rs) and the
/// general path it falls back to give the same results.
fn fast_path(s: &mut Suite) {
    // mov eax,39; syscall; mov edi,eax; mov eax,40; syscall; mov ebx,eax;
    // mov eax,20; int 0x80; ud2
    let code = [0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc7, 0xb8, 40, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc3, 0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0x0f, 0x0b];
    let mut buf = [0u8; 512];
    let call = |got: rt::Result<rt::Incoming>| match got {
        Ok(rt::Incoming::Syscall { sender, call }) => Some((sender, call)),
        _ => None,
    };
    // The handler waits first: the trap is handed over in its registers.
    let (space, task) = linux_task(&code, Mode::Long);
    let first = call(rt::linux_reply_recv(None, &mut buf));
    s.check("a Linux call reaches a waiting handler in registers", first.is_some_and(|(t, m)| t == task && m.abi() == LinuxAbi::X86_64 && m.nr == 39 && m.rip == CODE + 7));
    let second = call(rt::linux_reply_recv(Some((task, LinuxReply { flags: 0, rax: 777 })), &mut buf));
    s.check("the answer from registers reached the task's rax", second.is_some_and(|(_, m)| m.nr == 40 && m.args[0] == 777));
    // Another task is runnable: the answer takes the general path.
    let (spin_space, spin) = linux_task(&[0xeb, 0xfe], Mode::Long);
    let third = call(rt::linux_reply_recv(Some((task, LinuxReply { flags: 0, rax: 555 })), &mut buf));
    s.check("... and through the general path with others runnable (an i386 call in registers)", third.is_some_and(|(_, m)| m.abi() == LinuxAbi::I386 && m.nr == 20 && m.args[0] == 555));
    rt::task_kill(spin).expect("kill");
    rt::space_destroy(spin_space).expect("destroy");
    // A fault does not qualify: it is written into the buffer as by recv.
    let fault = rt::linux_reply_recv(Some((task, LinuxReply { flags: 0, rax: 0 })), &mut buf);
    let in_buffer = match fault {
        Ok(rt::Incoming::InBuffer(n)) => Header::decode(&buf[..n]).filter(|h| h.kind() == Some(Kind::Fault) && h.sender() == task),
        _ => None,
    };
    s.check("a fault comes through the buffer", in_buffer.is_some());
    rt::task_kill(task).expect("kill");
    rt::space_destroy(space).expect("destroy");

    // The handler is busy when the task traps: the call waits in its queue
    // and still comes in registers.
    let (space, task) = linux_task(&code, Mode::Long);
    for _ in 0..4 {
        rt::yield_now();
    }
    let queued = call(rt::linux_reply_recv(None, &mut buf));
    s.check("a call queued while the handler was busy comes in registers", queued.is_some_and(|(t, m)| t == task && m.nr == 39));
    let mut small = [0u8; 32];
    s.check("a receive buffer too small for a call is refused", matches!(rt::linux_reply_recv(Some((task, LinuxReply { flags: 0, rax: 1 })), &mut small), Err(Error::Invalid)));
    let after = call(rt::linux_reply_recv(None, &mut buf));
    s.check("... after the answer went (the task's next call arrives)", after.is_some_and(|(_, m)| m.nr == 40 && m.args[0] == 1));
    rt::task_kill(task).expect("kill");
    rt::space_destroy(space).expect("destroy");
}

fn compat_mode(s: &mut Suite) {
    // 32-bit: mov eax,20; mov ebx,5; int 0x80; ud2
    let code = [0xb8, 20, 0, 0, 0, 0xbb, 5, 0, 0, 0, 0xcd, 0x80, 0x0f, 0x0b];
    let (space, task) = linux_task(&code, Mode::Compat32);
    let mut buf = [0u8; 512];
    let (h, p) = recv(&mut buf);
    let m = LinuxSyscall::decode(p).unwrap_or_default();
    s.check("int 0x80 from 32-bit compatibility mode is an i386 message", h.kind() == Some(Kind::LinuxSyscall) && m.abi() == LinuxAbi::I386 && m.nr == 20 && m.args[0] == 5);
    let regs = rt::task_get_regs(task).unwrap_or_default();
    s.check("the task runs in compatibility mode", regs.mode == Mode::Compat32 as u64);
    rt::task_kill(task).expect("kill");
    rt::space_destroy(space).expect("destroy");
}

fn demand_paging(s: &mut Suite) {
    // mov rax,[0x50000000]; syscall; ud2
    let code = [0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x50, 0x0f, 0x05, 0x0f, 0x0b];
    let (space, task) = linux_task(&code, Mode::Long);
    let mut buf = [0u8; 512];
    let (h, p) = recv(&mut buf);
    let f = msg::Fault::decode(p).unwrap_or_default();
    s.check("a read of an unmapped page is a page-fault message", h.kind() == Some(Kind::Fault) && f.vector == 14 && f.addr == DATA && f.error_code & msg::pf::USER != 0);
    rt::mem_map(space, DATA, PAGE, prot::READ).expect("map data");
    s.check("mem_write into a read-only page copies nothing", rt::mem_write(space, DATA, &99u64.to_le_bytes()) == Ok(0));
    rt::mem_protect(space, DATA, PAGE, prot::READ | prot::WRITE).expect("protect");
    s.check("mem_write into a writable page", rt::mem_write(space, DATA, &99u64.to_le_bytes()) == Ok(8));
    rt::mem_protect(space, DATA, PAGE, prot::READ).expect("protect");
    reply(task, msg::reply_flags::KEEP_REGS, 0);
    let (h, p) = recv(&mut buf);
    let m = LinuxSyscall::decode(p).unwrap_or_default();
    s.check("the task resumed at the faulting instruction and read the page", h.kind() == Some(Kind::LinuxSyscall) && m.nr == 99);
    let mut back = [0u8; 8];
    s.check("mem_read of an unmapped page copies nothing", rt::mem_read(space, DATA + PAGE, &mut back) == Ok(0));
    s.check("mem_map over a mapped page is refused", rt::mem_map(space, DATA, PAGE, prot::READ) == Err(Error::Exists));
    s.check("mem_map outside the user half is refused", rt::mem_map(space, 0xffff_8000_0000_0000, PAGE, prot::READ) == Err(Error::Invalid));
    s.check("mem_map of an unaligned range is refused", rt::mem_map(space, DATA + 1, PAGE, prot::READ) == Err(Error::Invalid));
    let bad = TaskRegs { rip: 0xffff_ffff_8000_0000, ..Default::default() };
    s.check("task_set_regs refuses a kernel rip", rt::task_set_regs(task, &bad) == Err(Error::Invalid));
    rt::task_kill(task).expect("kill");
    rt::space_destroy(space).expect("destroy");
}

fn memory_accounting(s: &mut Suite) {
    let before = rt::sys_info().expect("sysinfo").free_frames;
    let space = rt::space_create().expect("space");
    rt::mem_map(space, DATA, 256 * PAGE, prot::READ | prot::WRITE).expect("map 1 MiB");
    let during = rt::sys_info().expect("sysinfo").free_frames;
    rt::space_set_limit(space, 300 * PAGE).expect("limit");
    s.check("a space's memory limit holds", rt::mem_map(space, DATA + 256 * PAGE, 64 * PAGE, prot::READ) == Err(Error::NoMemory));
    rt::space_destroy(space).expect("destroy");
    let after = rt::sys_info().expect("sysinfo").free_frames;
    s.check("mapping 1 MiB takes at least 256 frames", before - during >= 256);
    s.check("destroying the space gives every frame back", after == before);
}

fn copy_on_write(s: &mut Suite) {
    let before = rt::sys_info().expect("sysinfo").free_frames;
    // mov qword [0x50000000], 7; syscall; ud2
    let code = [0x48, 0xc7, 0x04, 0x25, 0x00, 0x00, 0x00, 0x50, 0x07, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x0f, 0x0b];
    let parent = rt::space_create().expect("space");
    rt::mem_map(parent, CODE, PAGE, prot::READ | prot::WRITE).expect("map code");
    rt::mem_write(parent, CODE, &code).expect("code");
    rt::mem_protect(parent, CODE, PAGE, prot::READ | prot::EXEC).expect("protect");
    rt::mem_map(parent, DATA, 64 * PAGE, prot::READ | prot::WRITE).expect("map data");
    rt::mem_write(parent, DATA, &1u64.to_le_bytes()).expect("write");
    let shm = DATA + 64 * PAGE;
    rt::mem_map(parent, shm, PAGE, prot::READ | prot::WRITE | prot::SHARED).expect("map shared");
    let mapped = rt::sys_info().expect("sysinfo").free_frames;
    let child = rt::space_clone(parent).expect("clone");
    let cloned = rt::sys_info().expect("sysinfo").free_frames;
    s.check("space_clone shares frames (only page tables are new)", mapped - cloned < 8);
    let read = |space| {
        let mut b = [0u8; 8];
        rt::mem_read(space, DATA, &mut b).expect("read");
        u64::from_le_bytes(b)
    };
    s.check("a clone sees the source's memory", read(child) == 1);
    s.check("mem_write into a copy-on-write page copies it", rt::mem_write(parent, DATA, &2u64.to_le_bytes()) == Ok(8) && read(parent) == 2 && read(child) == 1);
    let word = |space| {
        let mut b = [0u8; 8];
        rt::mem_read(space, shm, &mut b).expect("read");
        u64::from_le_bytes(b)
    };
    rt::mem_protect(child, shm, PAGE, prot::READ | prot::WRITE).expect("protect shared");
    s.check("shared memory stays shared after a clone (and an mprotect)", rt::mem_write(child, shm, &9u64.to_le_bytes()) == Ok(8) && word(parent) == 9);
    let task = rt::task_create(child, TaskKind::Linux).expect("task");
    let regs = TaskRegs { rip: CODE, rsp: 0, rflags: 0x202, mode: Mode::Long as u64, ..Default::default() };
    rt::task_set_regs(task, &regs).expect("regs");
    rt::task_start(task).expect("start");
    let mut buf = [0u8; 512];
    let (h, _) = recv(&mut buf);
    s.check("a task's write to a copy-on-write page is served by the kernel", h.kind() == Some(Kind::LinuxSyscall) && h.sender() == task);
    s.check("the write went to the clone's own copy", read(child) == 7 && read(parent) == 2);
    rt::task_kill(task).expect("kill");
    rt::space_destroy(child).expect("destroy");
    // One memory account for a space, its clones and spaces created like it
    // (the parent holds 66 pages: code, 64 of data, 1 shared).
    rt::space_set_limit(parent, 76 * PAGE).expect("limit");
    let like = rt::space_create_like(parent).expect("space like");
    let over = rt::mem_map(like, DATA, 16 * PAGE, prot::READ | prot::WRITE);
    let fits = rt::mem_map(like, DATA, 4 * PAGE, prot::READ | prot::WRITE);
    // The account pays for frames, once: a clone shares the source's and
    // pays for each copy it makes (70 of 76 pages taken: 6 copies fit).
    let clone = rt::space_clone(parent);
    let copies = clone.map_or(0, |c| (0..8u64).filter(|i| rt::mem_write(c, DATA + i * PAGE, &[5]) == Ok(1)).count());
    s.check("a clone and a space created like it share the source's memory limit", over.is_err() && fits.is_ok() && clone.is_ok() && copies == 6);
    if let Ok(c) = clone {
        rt::space_destroy(c).expect("destroy");
    }
    rt::space_destroy(like).expect("destroy");
    rt::space_destroy(parent).expect("destroy");
    let after = rt::sys_info().expect("sysinfo").free_frames;
    s.check("destroying both spaces gives every shared frame back", after == before);
}

fn timers(s: &mut Suite) {
    let clock = rt::clock_info().expect("clock");
    s.check("the TSC frequency is known", clock.tsc_hz > 1_000_000);
    let t0 = clock.tsc_to_ns(rt::rdtsc());
    rt::timer_set(t0 + 20_000_000).expect("timer");
    let mut buf = [0u8; 512];
    let (h, p) = recv(&mut buf);
    let t1 = clock.tsc_to_ns(rt::rdtsc());
    let bits = p.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap())).unwrap_or(0);
    s.check("a timer notification arrives", h.kind() == Some(Kind::Notification) && bits & NOTIFY_TIMER != 0);
    s.check("not before its deadline (20 ms)", t1 - t0 >= 20_000_000);
    s.check("nor much after it (< 200 ms)", t1 - t0 < 200_000_000);
}

fn round_robin(s: &mut Suite) {
    let spin = [0xeb, 0xfe]; // jmp $
    let (s1, t1) = linux_task(&spin, Mode::Long);
    let (s2, t2) = linux_task(&spin, Mode::Long);
    let clock = rt::clock_info().expect("clock");
    rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + 100_000_000).expect("timer");
    let mut buf = [0u8; 512];
    let (h, _) = recv(&mut buf);
    let (c1, c2) = (rt::task_info(t1).map(|i| i.cpu_ns).unwrap_or(0), rt::task_info(t2).map(|i| i.cpu_ns).unwrap_or(0));
    rt::log!("selftest: two spinning tasks got {} ms and {} ms of 100 ms", c1 / 1_000_000, c2 / 1_000_000);
    s.check("a sleeping server wakes while others spin", h.kind() == Some(Kind::Notification));
    s.check("two spinning tasks share the CPU round-robin", c1 >= 20_000_000 && c2 >= 20_000_000);
    // A held task is not scheduled; released, it runs again. (A hold of a
    // task running on another CPU takes effect at the IPI, which a busy
    // host may deliver late: wait until its time stops growing.)
    rt::task_hold(t1, true).expect("hold");
    let cpu = |t| rt::task_info(t).map(|i| i.cpu_ns).unwrap_or(0);
    let mut last = u64::MAX;
    for _ in 0..100 {
        rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + 10_000_000).expect("timer");
        let _ = recv(&mut buf);
        let now = cpu(t1);
        if now == last {
            break;
        }
        last = now;
    }
    let (h1, h2) = (cpu(t1), cpu(t2));
    rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + 50_000_000).expect("timer");
    let _ = recv(&mut buf);
    s.check("a held task gets no CPU while the others run", cpu(t1) == h1 && cpu(t2) > h2 + 20_000_000);
    rt::task_hold(t1, false).expect("release");
    rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + 50_000_000).expect("timer");
    let _ = recv(&mut buf);
    s.check("a released task runs again", cpu(t1) > h1 + 10_000_000);
    for (space, task) in [(s1, t1), (s2, t2)] {
        rt::task_kill(task).expect("kill");
        rt::space_destroy(space).expect("destroy");
    }
}

fn native_ipc(s: &mut Suite) {
    // A native task in a space of its own calls us; the message is copied
    // straight from its memory, and our reply straight into it.
    // mov rax,3 (IpcCall); mov rdi,ME; lea rsi,[msg]; mov rdx,4; lea r10,[reply]; mov r8,8; syscall;
    // mov rbx,rax; mov rax,2 (Exit); mov rdi, rbx... (exit code = reply length); syscall
    let me = rt::self_task().0 as u32;
    let mut code = [0u8; 64];
    let prog: &[u8] = &[
        0x48, 0xc7, 0xc0, 3, 0, 0, 0, // mov rax, 3
        0xbf, 0, 0, 0, 0, // mov edi, ME (patched)
        0x48, 0xc7, 0xc6, 0x00, 0x00, 0x00, 0x50, // mov rsi, 0x50000000
        0x48, 0xc7, 0xc2, 4, 0, 0, 0, // mov rdx, 4
        0x49, 0xc7, 0xc2, 0x00, 0x01, 0x00, 0x50, // mov r10, 0x50000100
        0x49, 0xc7, 0xc0, 8, 0, 0, 0, // mov r8, 8
        0x0f, 0x05, // syscall
        0x48, 0x89, 0xc7, // mov rdi, rax
        0x48, 0xc7, 0xc0, 2, 0, 0, 0, // mov rax, 2 (exit)
        0x0f, 0x05, // syscall
        0xeb, 0xfe,
    ];
    code[..prog.len()].copy_from_slice(prog);
    code[8..12].copy_from_slice(&me.to_le_bytes());
    let space = rt::space_create().expect("space");
    rt::mem_map(space, CODE, PAGE, prot::READ | prot::WRITE).expect("map");
    rt::mem_write(space, CODE, &code).expect("code");
    rt::mem_protect(space, CODE, PAGE, prot::READ | prot::EXEC).expect("protect");
    rt::mem_map(space, DATA, PAGE, prot::READ | prot::WRITE).expect("map data");
    rt::mem_write(space, DATA, b"ping").expect("data");
    let task = rt::task_create(space, TaskKind::Native).expect("task");
    rt::task_set_regs(task, &TaskRegs { rip: CODE, rflags: 0x202, ..Default::default() }).expect("regs");
    rt::task_start(task).expect("start");
    let mut buf = [0u8; 512];
    let (h, p) = recv(&mut buf);
    s.check("a native call arrives with its bytes", h.kind() == Some(Kind::Native) && h.sender() == task && p == b"ping");
    rt::ipc_reply(task, b"pong!").expect("reply");
    // Let it run to its exit, then look at what our reply wrote into its memory.
    let clock = rt::clock_info().expect("clock");
    rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + 5_000_000).expect("timer");
    recv(&mut buf);
    let mut got = [0u8; 5];
    rt::mem_read(space, DATA + 0x100, &mut got).expect("read");
    s.check("the reply was copied into the caller's buffer", &got == b"pong!");
    s.check("the caller exited and its id went stale", rt::task_kill(task) == Err(Error::NoSuchObject));
    rt::space_destroy(space).expect("destroy");
}

fn fpu_isolation(s: &mut Suite) {
    // Each task keeps its own value in xmm0 across ~16M loop rounds while the
    // two are preempted in turn; each reports 1 (kept) or 2 (lost) by syscall.
    let code = [
        0x66, 0x48, 0x0f, 0x6e, 0xc3, // movq xmm0, rbx
        0xb9, 0x00, 0x00, 0x00, 0x01, // mov ecx, 0x1000000
        0x66, 0x48, 0x0f, 0x7e, 0xc0, // loop: movq rax, xmm0
        0x48, 0x39, 0xd8, // cmp rax, rbx
        0x75, 0x0c, // jne bad
        0x48, 0xff, 0xc9, // dec rcx
        0x75, 0xf1, // jnz loop
        0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, // mov eax, 1; syscall
        0xb8, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x05, // bad: mov eax, 2; syscall
        0x0f, 0x0b,
    ];
    let mut tasks = [(SpaceId(0), TaskId(0)); 2];
    for (i, t) in tasks.iter_mut().enumerate() {
        *t = linux_task_with_rbx(&code, 0x1111_2222_3333_0000 + i as u64);
    }
    let mut buf = [0u8; 512];
    let mut verdicts = [0u64; 2];
    for _ in 0..2 {
        let (h, p) = recv(&mut buf);
        let m = LinuxSyscall::decode(p).unwrap_or_default();
        if let Some(i) = tasks.iter().position(|t| t.1 == h.sender()) {
            verdicts[i] = m.nr;
        }
    }
    s.check("two tasks' SSE registers stay their own across preemption (lazy FPU)", verdicts == [1, 1]);
    for (space, task) in tasks {
        rt::task_kill(task).expect("kill");
        rt::space_destroy(space).expect("destroy");
    }
}

fn interrupt_and_fpu_state(s: &mut Suite) {
    // movq xmm0, rbx; spin: jmp spin; movq rax, xmm0; syscall; ud2
    let code = [0x66, 0x48, 0x0f, 0x6e, 0xc3, 0xeb, 0xfe, 0x66, 0x48, 0x0f, 0x7e, 0xc0, 0x0f, 0x05, 0x0f, 0x0b];
    let (space, task) = linux_task_with_rbx(&code, 0xabcd_ef01_2345_6789);
    // Let it reach its loop (it owns the FPU state now), then stop it there.
    let mut buf = [0u8; 512];
    rt::timer_set(rt::clock_info().map(|c| c.tsc_to_ns(rt::rdtsc())).unwrap_or(0) + 20_000_000).expect("timer");
    let (h, _) = recv(&mut buf);
    s.check("a computing task got the CPU meanwhile", h.kind() == Some(Kind::Notification));
    s.check("task_interrupt stops a runnable Linux task", rt::task_interrupt(task) == Ok(()));
    let (h, p) = recv(&mut buf);
    let f = msg::Fault::decode(p).unwrap_or_default();
    s.check("... which reaches its handler as a VECTOR_INTERRUPT fault where it was", h.kind() == Some(Kind::Fault) && h.sender() == task && f.vector == msg::VECTOR_INTERRUPT && f.rip == CODE + 5);
    s.check("a task waiting for its handler cannot be interrupted", rt::task_interrupt(task) == Err(Error::BadState));
    let fx = rt::task_get_fpu(task).unwrap_or([0; 512]);
    s.check("task_get_fpu gives the task's live SSE state (xmm0 it loaded)", fx[160..168] == 0xabcd_ef01_2345_6789u64.to_le_bytes() && fx[24..28] == 0x1f80u32.to_le_bytes());
    let mut new = fx;
    new[160..168].copy_from_slice(&0x1234u64.to_le_bytes());
    new[24..28].copy_from_slice(&u32::MAX.to_le_bytes()); // MXCSR with reserved bits
    s.check("task_set_fpu loads a state", rt::task_set_fpu(task, &new) == Ok(()));
    let back = rt::task_get_fpu(task).unwrap_or([0; 512]);
    let mask = u32::from_le_bytes([fx[28], fx[29], fx[30], fx[31]]);
    let mask = if mask == 0 { 0xffbf } else { mask };
    s.check("... with the MXCSR bits the CPU lacks cleared", u32::from_le_bytes([back[24], back[25], back[26], back[27]]) == mask);
    let mut r = rt::task_get_regs(task).unwrap_or_default();
    r.rip = CODE + 7;
    rt::task_set_regs(task, &r).expect("regs");
    reply(task, msg::reply_flags::KEEP_REGS, 0);
    let (h, p) = recv(&mut buf);
    let m = LinuxSyscall::decode(p).unwrap_or_default();
    s.check("the task resumed with the state set (xmm0 read back by the task)", h.kind() == Some(Kind::LinuxSyscall) && h.sender() == task && m.nr == 0x1234);
    rt::task_kill(task).expect("kill");
    rt::space_destroy(space).expect("destroy");
}

fn owned_spaces_die_with_their_owner(s: &mut Suite) {
    // A native task creates a space of its own and maps 1 MiB into it; when
    // the task is killed, that space and its frames must go too.
    let code = [
        0xb8, 0x09, 0x00, 0x00, 0x00, 0x0f, 0x05, // mov eax, 9 (space_create); syscall
        0x48, 0x89, 0xc7, // mov rdi, rax
        0xbe, 0x00, 0x00, 0x00, 0x50, // mov esi, 0x50000000
        0xba, 0x00, 0x00, 0x10, 0x00, // mov edx, 0x100000
        0x41, 0xba, 0x03, 0x00, 0x00, 0x00, // mov r10d, 3
        0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x05, // mov eax, 11 (mem_map); syscall
        0xeb, 0xfe, // jmp $
    ];
    let before = rt::sys_info().expect("sysinfo").free_frames;
    let space = rt::space_create().expect("space");
    rt::mem_map(space, CODE, PAGE, prot::READ | prot::WRITE).expect("map");
    rt::mem_write(space, CODE, &code).expect("code");
    rt::mem_protect(space, CODE, PAGE, prot::READ | prot::EXEC).expect("protect");
    let task = rt::task_create(space, TaskKind::Native).expect("task");
    rt::task_set_regs(task, &TaskRegs { rip: CODE, rflags: 0x202, ..Default::default() }).expect("regs");
    rt::task_start(task).expect("start");
    let clock = rt::clock_info().expect("clock");
    rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + 20_000_000).expect("timer");
    let mut buf = [0u8; 512];
    recv(&mut buf);
    let during = rt::sys_info().expect("sysinfo").free_frames;
    rt::task_kill(task).expect("kill");
    rt::space_destroy(space).expect("destroy");
    let after = rt::sys_info().expect("sysinfo").free_frames;
    s.check("a task's own space holds what it mapped", before - during >= 256);
    s.check("killing a task frees the spaces it created", after == before);
}

fn device_grants(s: &mut Suite) {
    // The self-test has no device grant: the kernel must refuse every device call.
    s.check("dev_map without a grant is refused", rt::dev_map(0x6000_0000, 0xfeb0_0000, PAGE) == Err(Error::Denied));
    s.check("dma_alloc without a grant is refused", rt::dma_alloc(0x6000_0000, PAGE) == Err(Error::Denied));
    s.check("irq_bind without a grant is refused", rt::irq_bind(47, 1) == Err(Error::Denied));
    s.check("server_lookup finds this server by name", rt::server_lookup("selftest") == Ok(rt::self_task()));
    s.check("server_lookup of an unknown name fails", rt::server_lookup("nosuch") == Err(Error::NoSuchObject));
}

/// Code for `segment_bases`: forever { spin r14 rounds; trap with eax = `nr`
/// (`syscall`); ud2 unless gs:[0] == r12 and fs:[0] == r13; add 1 to fs:[8] }.
fn bases_loop(nr: u8) -> [u8; 55] {
    [
        0x44, 0x89, 0xf1, // 0: mov ecx, r14d
        0xff, 0xc9, // 3: dec ecx
        0x75, 0xfc, // 5: jnz 3
        0xb8, nr, 0, 0, 0, // 7: mov eax, nr
        0x0f, 0x05, // 12: syscall
        0x65, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, // 14: mov rax, gs:[0]
        0x4c, 0x39, 0xe0, // 23: cmp rax, r12
        0x75, 0x19, // 26: jne 53
        0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, // 28: mov rax, fs:[0]
        0x4c, 0x39, 0xe8, // 37: cmp rax, r13
        0x75, 0x0b, // 40: jne 53
        0x64, 0x48, 0xff, 0x04, 0x25, 8, 0, 0, 0, // 42: inc qword ptr fs:[8]
        0xeb, 0xcb, // 51: jmp 0
        0x0f, 0x0b, // 53: ud2
    ]
}

/// A task running `bases_loop(nr)` with its GS base at DATA (gs:[0] = `gs`)
/// and its FS base at DATA + PAGE (fs:[0] = `fs`, fs:[8] its count of good
/// rounds; read-only at first unless `fs_writable`), spinning `spin` rounds.
fn bases_task(kind: TaskKind, nr: u8, gs: u64, fs: u64, spin: u64, fs_writable: bool) -> (SpaceId, TaskId) {
    let space = rt::space_create().expect("space");
    rt::mem_map(space, CODE, PAGE, prot::READ | prot::WRITE).expect("map code");
    rt::mem_write(space, CODE, &bases_loop(nr)).expect("code");
    rt::mem_protect(space, CODE, PAGE, prot::READ | prot::EXEC).expect("protect");
    rt::mem_map(space, DATA, 2 * PAGE, prot::READ | prot::WRITE).expect("map data");
    rt::mem_write(space, DATA, &gs.to_le_bytes()).expect("gs word");
    rt::mem_write(space, DATA + PAGE, &fs.to_le_bytes()).expect("fs word");
    if !fs_writable {
        rt::mem_protect(space, DATA + PAGE, PAGE, prot::READ).expect("protect");
    }
    let task = rt::task_create(space, kind).expect("task");
    let regs = TaskRegs { rip: CODE, rflags: 0x202, r12: gs, r13: fs, r14: spin, fs_base: DATA + PAGE, gs_base: DATA, mode: Mode::Long as u64, ..Default::default() };
    rt::task_set_regs(task, &regs).expect("regs");
    rt::task_start(task).expect("start");
    (space, task)
}

/// A task's FS and GS bases survive its system calls, faults, interrupts,
/// preemption and the switches between tasks, though the kernel has its own
/// GS base (the per-CPU area) and swaps it in and out (`swapgs`) on every
/// entry and exit.
fn segment_bases(s: &mut Suite) {
    let count = |space: SpaceId| {
        let mut w = [0u8; 8];
        rt::mem_read(space, DATA + PAGE + 8, &mut w).ok().map(|_| u64::from_le_bytes(w)).unwrap_or(0)
    };
    // A native task making kernel calls (yield) and a Linux task making
    // forwarded calls, its FS page read-only at first (a page fault).
    let (nspace, native) = bases_task(TaskKind::Native, 1, 0x4e47_0000_0000_0001, 0x4e46_0000_0000_0002, 0x1000, true);
    let (lspace, linux) = bases_task(TaskKind::Linux, 39, 0x4c47_0000_0000_0003, 0x4c46_0000_0000_0004, 0x1000, false);
    let mut buf = [0u8; 512];
    let mut answer = None;
    let (mut calls, mut faults, mut wrong) = (0u64, 0u64, 0u64);
    let step = |answer: Option<(TaskId, LinuxReply)>, buf: &mut [u8; 512], calls: &mut u64, faults: &mut u64, wrong: &mut u64| match rt::linux_reply_recv(answer, buf) {
        Ok(rt::Incoming::Syscall { sender, call }) if sender == linux && call.nr == 39 => {
            *calls += 1;
            Some((linux, LinuxReply { flags: 0, rax: 0 }))
        }
        Ok(rt::Incoming::InBuffer(n)) => {
            let h = Header::decode(&buf[..n]);
            let f = msg::Fault::decode(&buf[Header::SIZE.min(n)..n]).unwrap_or_default();
            let first_write = h.is_some_and(|h| h.kind() == Some(Kind::Fault) && h.sender() == linux) && f.vector == 14 && f.addr == DATA + PAGE + 8 && *faults == 0;
            if first_write && rt::mem_protect(lspace, DATA + PAGE, PAGE, prot::READ | prot::WRITE).is_ok() {
                *faults += 1;
                Some((linux, LinuxReply { flags: msg::reply_flags::KEEP_REGS, rax: 0 }))
            } else {
                *wrong += 1;
                None
            }
        }
        _ => {
            *wrong += 1;
            None
        }
    };
    while calls < 200 && wrong == 0 {
        answer = step(answer, &mut buf, &mut calls, &mut faults, &mut wrong);
    }
    let counted = count(lspace);
    s.check(
        "a Linux task's GS and FS bases survive 200 forwarded calls, a page fault and the switches (swapgs)",
        wrong == 0 && calls == 200 && faults == 1 && counted == 199,
    );
    // A long computation (some 130M instructions) while the native task is
    // runnable: the timer preempts it, and the native task runs meanwhile.
    let mut regs = rt::task_get_regs(linux).unwrap_or_default();
    regs.r14 = 0x400_0000;
    let set = wrong == 0 && rt::task_set_regs(linux, &regs).is_ok();
    let before = count(nspace);
    if set {
        answer = Some((linux, LinuxReply { flags: msg::reply_flags::KEEP_REGS, rax: 0 }));
        while calls < 201 && wrong == 0 {
            answer = step(answer, &mut buf, &mut calls, &mut faults, &mut wrong);
        }
    }
    let ran = count(nspace) - before;
    rt::log!("selftest: the native task made {} calls while the Linux task computed", ran);
    s.check("... and its preemption in a long computation (another task ran meanwhile)", set && wrong == 0 && calls == 201 && count(lspace) == 200 && ran >= 3);
    s.check("a native task's GS and FS bases survive its kernel calls and the switches", wrong == 0 && count(nspace) > 100 && rt::task_kill(native).is_ok());
    let _ = answer;
    rt::task_kill(linux).expect("kill");
    rt::space_destroy(lspace).expect("destroy");
    rt::space_destroy(nspace).expect("destroy");
}

fn cpus(s: &mut Suite) {
    // The kernel starts every CPU the firmware lists (up to MAX_CPUS) and
    // parks the others; the harness also compares the count with QEMU's -smp.
    let i = rt::sys_info().unwrap_or_default();
    rt::log!("selftest: {} CPUs found, {} online", i.cpus_found, i.cpus);
    s.check("every CPU found was started", i.cpus >= 1 && i.cpus == i.cpus_found.min(MAX_CPUS as u64));
}

fn shared_frames(s: &mut Suite) {
    // mem_share: the frames one space maps shared, mapped in another.
    let free = rt::sys_info().expect("sysinfo").free_frames;
    let a = rt::space_create().expect("space");
    let b = rt::space_create().expect("space");
    rt::mem_map(a, DATA, 2 * PAGE, prot::READ | prot::WRITE | prot::SHARED).expect("map shared");
    rt::mem_map(a, DATA + 4 * PAGE, PAGE, prot::READ | prot::WRITE).expect("map private");
    let shared = rt::mem_share(a, DATA, b, DATA + 8 * PAGE, 2 * PAGE, prot::READ | prot::WRITE);
    rt::mem_write(b, DATA + 9 * PAGE + 8, b"both").expect("write");
    let mut got = [0u8; 4];
    rt::mem_read(a, DATA + PAGE + 8, &mut got).expect("read");
    s.check("mem_share maps the same frames in another space (a write there is seen here)", shared.is_ok() && &got == b"both");
    s.check(
        "mem_share refuses a private page and a mapped destination",
        rt::mem_share(a, DATA + 4 * PAGE, b, DATA + 20 * PAGE, PAGE, prot::READ) == Err(Error::Invalid) && rt::mem_share(a, DATA, b, DATA + 8 * PAGE, PAGE, prot::READ) == Err(Error::Exists),
    );
    // The frames outlive the first space while the second maps them.
    rt::space_destroy(a).expect("destroy");
    rt::mem_read(b, DATA + 9 * PAGE + 8, &mut got).expect("read");
    s.check("a shared frame stays while another space maps it", &got == b"both");
    rt::space_destroy(b).expect("destroy");
    s.check("... and comes back when the last one goes", rt::sys_info().expect("sysinfo").free_frames == free);
}

fn atomic_words(s: &mut Suite) {
    // mem_cmpxchg32: a compare-and-exchange on a word of another space.
    let a = rt::space_create().expect("space");
    rt::mem_map(a, DATA, PAGE, prot::READ | prot::WRITE).expect("map");
    rt::mem_write(a, DATA + 16, &5u32.to_le_bytes()).expect("write");
    let swapped = rt::mem_cmpxchg32(a, DATA + 16, 5, 9);
    let refused = rt::mem_cmpxchg32(a, DATA + 16, 5, 1);
    let mut w = [0u8; 4];
    rt::mem_read(a, DATA + 16, &mut w).expect("read");
    s.check("mem_cmpxchg32 swaps a matching word and gives the old one", swapped == Ok(5) && refused == Ok(9) && u32::from_le_bytes(w) == 9);
    s.check(
        "mem_cmpxchg32 refuses a misaligned word and an unmapped page",
        rt::mem_cmpxchg32(a, DATA + 2, 0, 0) == Err(Error::Invalid) && rt::mem_cmpxchg32(a, DATA + PAGE, 0, 0) == Err(Error::Fault),
    );
    rt::space_destroy(a).expect("destroy");
}

/// Sleep `ms` milliseconds (a timer notification).
fn sleep_ms(ms: u64) {
    let clock = rt::clock_info().expect("clock");
    rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + ms * 1_000_000).expect("timer");
    let mut buf = [0u8; 512];
    while recv(&mut buf).0.kind() != Some(Kind::Notification) {}
}

/// The next message, or `None` after `ms` milliseconds without one.
fn recv_within(buf: &mut [u8; 512], ms: u64) -> Option<(Header, &[u8])> {
    let clock = rt::clock_info().expect("clock");
    rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + ms * 1_000_000).expect("timer");
    let n = rt::ipc_recv(buf).expect("recv");
    let h = Header::decode(&buf[..]).expect("header");
    if h.kind() == Some(Kind::Notification) {
        return None;
    }
    rt::timer_set(0).expect("timer off");
    Some((h, &buf[Header::SIZE..n]))
}

/// With two CPUs or more: tasks run at once, and what one CPU does to a
/// task or a space that another runs reaches it (IPIs, TLB shootdown).
fn smp(s: &mut Suite) {
    let cpus = rt::sys_info().unwrap_or_default().cpus;
    if cpus < 2 {
        rt::log!("selftest: one CPU: the SMP checks are skipped");
        return;
    }
    let cpu = |t| rt::task_info(t).map(|i| i.cpu_ns).unwrap_or(0);
    // Two spinning tasks, 100 ms: more than 100 ms between them is parallel.
    let spin = [0xeb, 0xfe];
    let (s1, t1) = linux_task(&spin, Mode::Long);
    let (s2, t2) = linux_task(&spin, Mode::Long);
    sleep_ms(100);
    let (c1, c2) = (cpu(t1), cpu(t2));
    rt::log!("selftest: on {} CPUs two spinning tasks got {} ms and {} ms of 100 ms", cpus, c1 / 1_000_000, c2 / 1_000_000);
    s.check("two spinning tasks run at once on two CPUs", c1 >= 55_000_000 && c2 >= 55_000_000);
    // One computes on another CPU (this one sleeps); task_interrupt stops it there.
    rt::task_kill(t2).expect("kill");
    rt::space_destroy(s2).expect("destroy");
    let mut buf = [0u8; 512];
    let stopped = rt::task_interrupt(t1).is_ok()
        && recv_within(&mut buf, 500).is_some_and(|(h, p)| h.kind() == Some(Kind::Fault) && h.sender() == t1 && msg::Fault::decode(p).is_some_and(|f| f.vector == msg::VECTOR_INTERRUPT));
    s.check("task_interrupt stops a task computing on another CPU (IPI)", stopped);
    rt::task_kill(t1).expect("kill");
    rt::space_destroy(s1).expect("destroy");

    // A task counting in a data page on another CPU: mov rax, DATA; 1: inc qword [rax]; jmp 1b
    let mut code = [0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0xff, 0x00, 0xeb, 0xfb];
    code[2..10].copy_from_slice(&DATA.to_le_bytes());
    let counter = |space| {
        let mut w = [0u8; 8];
        rt::mem_read(space, DATA, &mut w).ok().map(|_| u64::from_le_bytes(w)).unwrap_or(0)
    };
    let free = rt::sys_info().expect("sysinfo").free_frames;
    let counting = |code: &[u8]| {
        let (space, task) = linux_task(&[0xeb, 0xfe], Mode::Long);
        rt::task_kill(task).expect("kill");
        rt::mem_map(space, DATA, PAGE, prot::READ | prot::WRITE).expect("map data");
        rt::mem_protect(space, CODE, PAGE, prot::READ | prot::WRITE).expect("protect");
        rt::mem_write(space, CODE, code).expect("code");
        rt::mem_protect(space, CODE, PAGE, prot::READ | prot::EXEC).expect("protect");
        let task = rt::task_create(space, TaskKind::Linux).expect("task");
        let regs = TaskRegs { rip: CODE, rflags: 0x202, mode: Mode::Long as u64, ..Default::default() };
        rt::task_set_regs(task, &regs).expect("regs");
        rt::task_start(task).expect("start");
        sleep_ms(20);
        (space, task)
    };
    let (space, task) = counting(&code);
    let before = counter(space);
    // Its page taken away while it writes there: without a shootdown the
    // other CPU's TLB would let it go on writing to a freed frame.
    rt::mem_unmap(space, DATA, PAGE).expect("unmap");
    let faulted = recv_within(&mut buf, 500).is_some_and(|(h, p)| h.kind() == Some(Kind::Fault) && h.sender() == task && msg::Fault::decode(p).is_some_and(|f| f.vector == 14 && f.addr == DATA));
    s.check("a task writing on another CPU faults as soon as its page is unmapped (TLB shootdown)", before > 1000 && faulted);
    rt::task_kill(task).expect("kill");
    rt::space_destroy(space).expect("destroy");
    // Killed while it counts on another CPU: it stops, and its space goes.
    let (space, task) = counting(&code);
    rt::task_kill(task).expect("kill");
    // (It stops at the IPI, within microseconds: 5 ms is ample.)
    sleep_ms(5);
    let (a, b) = (counter(space), {
        sleep_ms(20);
        counter(space)
    });
    s.check("a task killed while it runs on another CPU stops there", a > 1000 && a == b);
    rt::space_destroy(space).expect("destroy");
    s.check("... and its space's frames all come back", rt::sys_info().expect("sysinfo").free_frames == free);
}

fn main(_boot: rt::Boot) -> ! {
    let mut s = Suite { passed: 0, failed: 0 };
    trap_routing(&mut s);
    fast_path(&mut s);
    compat_mode(&mut s);
    demand_paging(&mut s);
    memory_accounting(&mut s);
    copy_on_write(&mut s);
    shared_frames(&mut s);
    atomic_words(&mut s);
    timers(&mut s);
    round_robin(&mut s);
    native_ipc(&mut s);
    device_grants(&mut s);
    fpu_isolation(&mut s);
    interrupt_and_fpu_state(&mut s);
    owned_spaces_die_with_their_owner(&mut s);
    segment_bases(&mut s);
    cpus(&mut s);
    smp(&mut s);
    rt::log!("selftest: {} passed, {} failed", s.passed, s.failed);
    rt::poweroff(if s.failed == 0 { 0 } else { 1 })
}
