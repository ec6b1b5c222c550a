//! Process-level tests against the simulated host.

use crate::elf::tests::tiny_elf64;
use crate::errno::Errno;
use crate::layout::Abi;
use crate::process::{Outcome, Process, Spawn, MMAP_TOP_64};
use crate::procs::Procs;
use crate::sim::SimHost;
use crate::stack::{STACK_SIZE, STACK_TOP_64};
use crate::syscalls::names::{i386 as n32, x86_64 as n64};
use crate::vma::VmaKind;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use goblin::elf::header::{EM_X86_64, ET_EXEC};
use sion_abi::console::{up, Exit};
use sion_abi::msg::{pf, Fault, LinuxAbi, LinuxSyscall};

/// A process of its own for a test: its calls go through a process table
/// made for each call (as the server runs them), its state stays at hand.
struct Proc(Option<Process>);

impl core::ops::Deref for Proc {
    type Target = Process;
    fn deref(&self) -> &Process {
        self.0.as_ref().expect("the process")
    }
}

impl core::ops::DerefMut for Proc {
    fn deref_mut(&mut self) -> &mut Process {
        self.0.as_mut().expect("the process")
    }
}

fn spawn() -> (Proc, SimHost) {
    let (p, h) = spawn_process();
    (Proc(Some(p)), h)
}

/// A small static program's process, as the server starts the first one.
pub(crate) fn spawn_process() -> (Process, SimHost) {
    let prog = tiny_elf64(ET_EXEC, EM_X86_64, false);
    let mut h = SimHost::new();
    let s = Spawn {
        program: &prog,
        argv: vec![b"prog".to_vec(), b"arg".to_vec()],
        envp: vec![b"K=V".to_vec()],
        exe: "/home/user/prog".into(),
        uid: 1000,
        gid: 1000,
        seed: [7; 32],
        hwcap: 0,
        stdin_stream: true,
        memory: 1 << 30,
        files: vec![],
        cwd: "/".into(),
        shares: vec![],
    };
    let (p, regs) = Process::spawn(&mut h, &s).unwrap();
    h.regs = regs;
    (p, h)
}

fn sys(p: &mut Proc, h: &mut SimHost, abi: Abi, nr: u32, args: &[u64]) -> Outcome {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    let abi = match abi {
        Abi::X86_64 => LinuxAbi::X86_64,
        Abi::I386 => LinuxAbi::I386,
    };
    let call = LinuxSyscall { abi: abi as u32, reserved: 0, nr: nr as u64, args: a, rip: 0, rsp: 0 };
    let pid = p.pid;
    let mut procs = Procs::new(p.0.take().expect("the process"), SimHost::FIRST_SPACE, SimHost::FIRST_TASK);
    let o = procs.call(h, pid, &call);
    p.0 = procs.into_first();
    o
}

fn ret(o: Outcome) -> i64 {
    match o {
        Outcome::Reply(v) => v as i64,
        o => panic!("expected a reply, got {o:?}"),
    }
}

fn c64(p: &mut Proc, h: &mut SimHost, nr: u32, args: &[u64]) -> i64 {
    ret(sys(p, h, Abi::X86_64, nr, args))
}
fn c32(p: &mut Proc, h: &mut SimHost, nr: u32, args: &[u64]) -> i64 {
    ret(sys(p, h, Abi::I386, nr, args))
}
fn err(e: Errno) -> i64 {
    -(e.0 as i64)
}

/// An anonymous RW mapping to put test data in.
fn scratch(p: &mut Proc, h: &mut SimHost, len: u64) -> u64 {
    c64(p, h, n64::MMAP, &[0, len, 3, 0x22, u64::MAX, 0]) as u64
}

#[test]
fn spawn_maps_image_and_stack() {
    let (p, h) = spawn();
    assert_eq!(h.regs.rip, 0x401000);
    assert_eq!(h.regs.rflags, 0x202);
    assert_eq!(h.regs.rsp % 16, 0);
    assert_eq!(h.prot_of(0x400000), Some(5), "image page protected RX after loading");
    assert_eq!(h.peek(0x401000, 2), [0x0f, 0x05]);
    assert!(!h.is_mapped(0x402000), "bss-only pages are lazy");
    assert_eq!(p.vmas.lookup(0x402000).unwrap().kind, VmaKind::Image);
    let st = p.vmas.lookup(STACK_TOP_64 - 1).unwrap();
    assert_eq!((st.start, st.end, st.kind), (STACK_TOP_64 - STACK_SIZE, STACK_TOP_64, VmaKind::Stack));
    assert!(h.is_mapped(h.regs.rsp));
    assert!(!h.is_mapped(STACK_TOP_64 - 0x10000), "the rest of the stack is lazy");
    assert_eq!(h.peek(h.regs.rsp, 8), 2u64.to_le_bytes(), "argc");
}

#[test]
fn brk_grows_lazily_and_shrinks() {
    let (mut p, mut h) = spawn();
    let start = c64(&mut p, &mut h, n64::BRK, &[0]) as u64;
    assert_eq!(start, 0x403000);
    assert_eq!(c64(&mut p, &mut h, n64::BRK, &[start - 1]) as u64, start, "below the start: unchanged");
    let maps = h.map_calls;
    assert_eq!(c64(&mut p, &mut h, n64::BRK, &[start + 0x4321]) as u64, start + 0x4321);
    assert_eq!(h.map_calls, maps, "nothing mapped yet");
    // A page fault inside the heap maps the page.
    let f = Fault { vector: 14, error_code: 6, addr: start + 0x10, rip: 0x401000, rsp: 0 };
    assert_eq!(p.handle_fault(&mut h, &f), Outcome::KeepRegs);
    assert!(h.is_mapped(start));
    // A syscall writing into the heap faults pages in itself.
    p.write_user(&mut h, Abi::X86_64, start + 0x3000, b"hi").unwrap();
    assert!(h.is_mapped(start + 0x3000));
    // Past the break: EFAULT.
    assert_eq!(p.write_user(&mut h, Abi::X86_64, start + 0x5000, b"x"), Err(Errno::EFAULT));
    // Shrink: pages unmapped, VMA cut.
    assert_eq!(c64(&mut p, &mut h, n64::BRK, &[start + 0x100]) as u64, start + 0x100);
    assert!(!h.is_mapped(start + 0x3000));
    assert!(h.is_mapped(start));
    assert_eq!(p.vmas.lookup(start + 0x1000), None);
    // Back to the start removes the VMA; growing again works.
    assert_eq!(c64(&mut p, &mut h, n64::BRK, &[start]) as u64, start);
    assert_eq!(p.vmas.lookup(start), None);
    assert_eq!(c64(&mut p, &mut h, n64::BRK, &[start + 0x2000]) as u64, start + 0x2000);
    // Growing into an existing mapping fails and keeps the break.
    c64(&mut p, &mut h, n64::MMAP, &[start + 0x10000, 0x1000, 3, 0x32, u64::MAX, 0]);
    assert_eq!(c64(&mut p, &mut h, n64::BRK, &[start + 0x20000]) as u64, start + 0x2000);
}

#[test]
fn mmap_munmap_mprotect_bookkeeping() {
    let (mut p, mut h) = spawn();
    let a = scratch(&mut p, &mut h, 0x3000);
    assert_eq!(a, MMAP_TOP_64 - 0x3000, "top-down from the mmap base");
    let b = scratch(&mut p, &mut h, 1);
    assert_eq!(b, a - 0x1000, "length rounded to a page, placed below");
    assert!(!h.is_mapped(a), "lazy");
    // mprotect splits; the kernel gets the call.
    p.write_user(&mut h, Abi::X86_64, a + 0x1000, b"x").unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::MPROTECT, &[a + 0x1000, 0x1000, 1]), 0);
    assert_eq!(h.prot_of(a + 0x1000), Some(1));
    assert_eq!(p.vmas.iter().filter(|v| v.kind == VmaKind::Anon).count(), 4);
    assert_eq!(p.write_user(&mut h, Abi::X86_64, a + 0x1000, b"y"), Err(Errno::EFAULT), "read-only now");
    assert_eq!(c64(&mut p, &mut h, n64::MPROTECT, &[a + 0x1000, 0x1000, 3]), 0);
    assert_eq!(p.vmas.lookup(a).unwrap().end, a + 0x3000, "merged back");
    // Errors.
    assert_eq!(c64(&mut p, &mut h, n64::MPROTECT, &[a + 1, 0x1000, 1]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::MPROTECT, &[a, 0x1000, 0x80]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::MPROTECT, &[0x1_0000_0000, 0x1000, 1]), err(Errno::ENOMEM));
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0, 0, 3, 0x22, u64::MAX, 0]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 3, 0x20, u64::MAX, 0]), err(Errno::EINVAL), "no MAP_PRIVATE/SHARED");
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 3, 0x02, 1, 0]), err(Errno::EACCES), "file mapping of write-only stdout");
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 3, 0x02, 0, 0]), err(Errno::ENODEV), "file mapping of stdin, a pipe");
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 3, 0x02, 5, 0]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0x10001, 0x1000, 3, 0x32, u64::MAX, 0]), err(Errno::EINVAL), "unaligned MAP_FIXED");
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 3, 0x22, u64::MAX, 0x10]), err(Errno::EINVAL), "unaligned offset");
    // MAP_FIXED replaces (and unmaps what was there); NOREPLACE refuses.
    assert!(h.is_mapped(a + 0x1000));
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[a + 0x1000, 0x1000, 1, 0x32, u64::MAX, 0]) as u64, a + 0x1000);
    assert!(!h.is_mapped(a + 0x1000), "old page dropped");
    assert_eq!(p.vmas.lookup(a + 0x1000).unwrap().prot, 1);
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[a, 0x1000, 3, 0x100022, u64::MAX, 0]), err(Errno::EEXIST));
    // A free hint is honoured.
    let hint = 0x1234_5000u64;
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[hint, 0x2000, 3, 0x22, u64::MAX, 0]) as u64, hint);
    // MAP_32BIT lands below 2 GiB.
    let low = c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 3, 0x62, u64::MAX, 0]) as u64;
    assert!((0x4000_0000..0x8000_0000).contains(&low));
    // munmap splits and unmaps.
    p.write_user(&mut h, Abi::X86_64, hint, b"z").unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::MUNMAP, &[hint, 0x1000]), 0);
    assert!(!h.is_mapped(hint));
    assert_eq!(p.vmas.lookup(hint + 0x1000).unwrap().start, hint + 0x1000);
    assert_eq!(c64(&mut p, &mut h, n64::MUNMAP, &[hint + 1, 0x1000]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::MUNMAP, &[hint, 0]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::MUNMAP, &[0x7000_0000, 0x1000]), 0, "unmapping nothing is fine");
    // A huge request fails cleanly.
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0, 1 << 50, 3, 0x22, u64::MAX, 0]), err(Errno::ENOMEM));
}

#[test]
fn i386_mmap2_and_old_mmap_stay_below_4g() {
    let (mut p, mut h) = spawn();
    let a = c32(&mut p, &mut h, n32::MMAP2, &[0, 0x2000, 3, 0x22, 0xffff_ffff, 0]) as u64;
    assert!(a < 0x1_0000_0000 && a % 0x1000 == 0);
    // old_mmap: six u32 in memory.
    let mut args = Vec::new();
    for v in [0u32, 0x1000, 3, 0x22, 0xffff_ffff, 0] {
        args.extend_from_slice(&v.to_le_bytes());
    }
    p.write_user(&mut h, Abi::I386, a, &args).unwrap();
    let b = c32(&mut p, &mut h, n32::MMAP, &[a]) as u64;
    assert!(b < 0x1_0000_0000 && b != a);
    assert_eq!(c32(&mut p, &mut h, n32::MMAP, &[0xdead_0000]), err(Errno::EFAULT));
    args[20] = 1; // unaligned offset
    p.write_user(&mut h, Abi::I386, a, &args).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::MMAP, &[a]), err(Errno::EINVAL));
}

#[test]
fn writev_gathers_and_frames() {
    let (mut p, mut h) = spawn();
    let m = scratch(&mut p, &mut h, 0x10000);
    p.write_user(&mut h, Abi::X86_64, m + 0x100, b"hello, ").unwrap();
    p.write_user(&mut h, Abi::X86_64, m + 0x200, b"world\n").unwrap();
    let big = vec![b'x'; 10000];
    p.write_user(&mut h, Abi::X86_64, m + 0x1000, &big).unwrap();
    let mut iov = Vec::new();
    for (b, l) in [(m + 0x100, 7u64), (m + 0x200, 6), (0, 0), (m + 0x1000, 10000)] {
        iov.extend_from_slice(&b.to_le_bytes());
        iov.extend_from_slice(&l.to_le_bytes());
    }
    p.write_user(&mut h, Abi::X86_64, m + 0x8000, &iov).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::WRITEV, &[1, m + 0x8000, 4]), 10013);
    let out = h.stream(up::STDOUT);
    assert_eq!(&out[..13], b"hello, world\n");
    assert_eq!(out.len(), 10013);
    assert!(h.console.iter().all(|c| c.1.len() <= sion_abi::console::MAX_PAYLOAD));
    // stderr through write(2).
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[2, m + 0x100, 5]), 5);
    assert_eq!(h.stream(up::STDERR), b"hello");
    // i386 iovecs are two u32.
    let mut iov32 = Vec::new();
    for (b, l) in [(m as u32, 0u32)] {
        iov32.extend_from_slice(&b.to_le_bytes());
        iov32.extend_from_slice(&l.to_le_bytes());
    }
    let low = c32(&mut p, &mut h, n32::MMAP2, &[0, 0x1000, 3, 0x22, 0xffff_ffff, 0]) as u64;
    p.write_user(&mut h, Abi::I386, low, b"abc").unwrap();
    let mut iov32 = Vec::new();
    for (b, l) in [(low as u32, 2u32), (low as u32 + 2, 1)] {
        iov32.extend_from_slice(&b.to_le_bytes());
        iov32.extend_from_slice(&l.to_le_bytes());
    }
    p.write_user(&mut h, Abi::I386, low + 0x100, &iov32).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::WRITEV, &[2, low + 0x100, 2]), 3);
    assert_eq!(h.stream(up::STDERR), b"helloabc");
    // Bad descriptors and counts.
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[0, m, 1]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[3, m, 1]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[u64::MAX, m, 1]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::WRITEV, &[1, m + 0x8000, 1025]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::WRITEV, &[1, m + 0x8000, u64::MAX]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::WRITEV, &[1, 0x10, 1]), err(Errno::EFAULT));
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[1, m, 0]), 0);
}

#[test]
fn wild_pointers_give_efault() {
    let (mut p, mut h) = spawn();
    let wild = [0u64, 0x10, 0xdead_0000, 0x7fff_ffff_ffff, u64::MAX - 3, 1 << 63];
    for w in wild {
        assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[1, w, 16]), err(Errno::EFAULT), "write from {w:#x}");
        assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETTIME, &[1, w]), err(Errno::EFAULT));
        assert_eq!(c64(&mut p, &mut h, n64::UNAME, &[w]), err(Errno::EFAULT));
        assert_eq!(c64(&mut p, &mut h, n64::GETRANDOM, &[w, 16, 0]), err(Errno::EFAULT));
        assert_eq!(c64(&mut p, &mut h, n64::READLINK, &[w, 0x1000, 16]), err(Errno::EFAULT));
        assert_eq!(c64(&mut p, &mut h, n64::NANOSLEEP, &[w, 0]), err(Errno::EFAULT));
    }
    // Read-only image and PROT_NONE memory are not writable by calls.
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETTIME, &[1, 0x400100]), err(Errno::EFAULT));
    let none = c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 0, 0x22, u64::MAX, 0]) as u64;
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[1, none, 1]), err(Errno::EFAULT));
    assert!(!h.is_mapped(none));
    // A write straddling into unmapped space writes the first part (as Linux: partial count).
    let m = scratch(&mut p, &mut h, 0x1000);
    p.write_user(&mut h, Abi::X86_64, m + 0xff0, &[b'q'; 16]).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[1, m + 0xff0, 0x20]), 16);
    // i386 calls cannot reach above 4 GiB.
    assert_eq!(c32(&mut p, &mut h, n32::WRITE, &[1, m, 1]), err(Errno::EFAULT));
}

#[test]
fn faults_become_signals() {
    let (mut p, mut h) = spawn();
    let stack_low = STACK_TOP_64 - 0x10_0000;
    let f = |vector, error_code, addr| Fault { vector, error_code, addr, rip: 0x401000, rsp: 0 };
    assert_eq!(p.handle_fault(&mut h, &f(14, 6, stack_low)), Outcome::KeepRegs, "stack grows on touch");
    assert!(h.is_mapped(stack_low));
    // Two threads fault on the same new page: the second fault, queued
    // while the first mapped it, finds it mapped and simply resumes.
    assert_eq!(p.handle_fault(&mut h, &f(14, 6, stack_low)), Outcome::KeepRegs, "a fault on a page mapped meanwhile resumes");
    assert_eq!(p.handle_fault(&mut h, &f(14, 7, stack_low)), Outcome::Exit(Exit::Signal(11)), "a protection fault on a present page is a signal");
    assert_eq!(p.handle_fault(&mut h, &f(14, 4, 0)), Outcome::Exit(Exit::Signal(11)));
    assert_eq!(p.handle_fault(&mut h, &f(14, 6, 0x402000 - 0x2000)), Outcome::Exit(Exit::Signal(11)), "write to text");
    assert_eq!(p.handle_fault(&mut h, &f(14, 0x14, 0x402000)), Outcome::KeepRegs, "exec in the RX image's lazy part");
    let data = scratch(&mut p, &mut h, 0x1000);
    assert_eq!(p.handle_fault(&mut h, &f(14, 0x14, data)), Outcome::Exit(Exit::Signal(11)), "exec on NX data");
    assert_eq!(p.handle_fault(&mut h, &f(14, 4, data)), Outcome::KeepRegs);
    assert_eq!(p.handle_fault(&mut h, &f(6, 0, 0)), Outcome::Exit(Exit::Signal(4)));
    assert_eq!(p.handle_fault(&mut h, &f(0, 0, 0)), Outcome::Exit(Exit::Signal(8)));
    assert_eq!(p.handle_fault(&mut h, &f(13, 0, 0)), Outcome::Exit(Exit::Signal(11)));
    assert_eq!(p.handle_fault(&mut h, &f(5, 0, 0)), Outcome::Exit(Exit::Signal(11)));
    assert!(h.logs.iter().any(|l| l.contains("signal 4")));
}

#[test]
fn arch_prctl_and_tls() {
    let (mut p, mut h) = spawn();
    assert_eq!(c64(&mut p, &mut h, n64::ARCH_PRCTL, &[0x1002, 0x7000_1000]), 0);
    assert_eq!(h.regs.fs_base, 0x7000_1000);
    assert_eq!(c64(&mut p, &mut h, n64::ARCH_PRCTL, &[0x1001, 0x7000_2000]), 0);
    assert_eq!(h.regs.gs_base, 0x7000_2000);
    let m = scratch(&mut p, &mut h, 0x1000);
    assert_eq!(c64(&mut p, &mut h, n64::ARCH_PRCTL, &[0x1003, m]), 0);
    assert_eq!(h.peek(m, 8), 0x7000_1000u64.to_le_bytes());
    assert_eq!(c64(&mut p, &mut h, n64::ARCH_PRCTL, &[0x1003, 8]), err(Errno::EFAULT));
    assert_eq!(c64(&mut p, &mut h, n64::ARCH_PRCTL, &[0x1002, 1 << 47]), err(Errno::EPERM));
    assert_eq!(c64(&mut p, &mut h, n64::ARCH_PRCTL, &[0x3001, m]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::SET_TID_ADDRESS, &[m]), 2);
    assert_eq!(c64(&mut p, &mut h, n64::SET_ROBUST_LIST, &[m, 24]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::SET_ROBUST_LIST, &[m, 12]), err(Errno::EINVAL));
    assert_eq!(c32(&mut p, &mut h, n32::SET_ROBUST_LIST, &[m, 12]), 0);
    // Not implemented (no restartable sequences; libcs carry on without):
    // ENOSYS, and the log says so at the end.
    assert_eq!(c64(&mut p, &mut h, n64::RSEQ, &[m, 32, 0, 0]), err(Errno::ENOSYS));
    assert!(p.job.unimplemented.contains_key(&"rseq"), "rseq is logged as not implemented");
}

#[test]
fn set_thread_area_picks_slots() {
    use crate::layout::UserDesc;
    let (mut p, mut h) = spawn();
    let m = c32(&mut p, &mut h, n32::MMAP2, &[0, 0x1000, 3, 0x22, 0xffff_ffff, 0]) as u64;
    let d = UserDesc { entry_number: u32::MAX, base_addr: 0x0804_c000, limit: 0xfffff, seg_32bit: true, limit_in_pages: true, useable: true, ..Default::default() };
    p.write_user(&mut h, Abi::I386, m, &d.encode()).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::SET_THREAD_AREA, &[m]), 0);
    assert_eq!(h.peek(m, 4), 8u32.to_le_bytes(), "entry number written back");
    let want = sion_abi::regs::tls_descriptor(0x0804_c000, 0xfffff, true, 0, false, true, false);
    assert_eq!(h.regs.tls, [want, 0, 0]);
    // Two more slots, then ESRCH.
    p.write_user(&mut h, Abi::I386, m, &d.encode()).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::SET_THREAD_AREA, &[m]), 0);
    assert_eq!(h.peek(m, 4), 9u32.to_le_bytes());
    p.write_user(&mut h, Abi::I386, m, &d.encode()).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::SET_THREAD_AREA, &[m]), 0);
    p.write_user(&mut h, Abi::I386, m, &d.encode()).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::SET_THREAD_AREA, &[m]), err(Errno::ESRCH));
    // Explicit slot, clear, bad slot, code segment, bad pointer.
    let clear = UserDesc { entry_number: 9, read_exec_only: true, seg_not_present: true, ..Default::default() };
    p.write_user(&mut h, Abi::I386, m, &clear.encode()).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::SET_THREAD_AREA, &[m]), 0);
    assert_eq!(h.regs.tls[1], 0);
    let bad = UserDesc { entry_number: 12, ..d };
    p.write_user(&mut h, Abi::I386, m, &bad.encode()).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::SET_THREAD_AREA, &[m]), err(Errno::EINVAL));
    let code = UserDesc { entry_number: 8, contents: 2, ..d };
    p.write_user(&mut h, Abi::I386, m, &code.encode()).unwrap();
    assert_eq!(c32(&mut p, &mut h, n32::SET_THREAD_AREA, &[m]), err(Errno::EINVAL));
    assert_eq!(c32(&mut p, &mut h, n32::SET_THREAD_AREA, &[0x10]), err(Errno::EFAULT));
}

#[test]
fn getrandom_flags_and_bytes() {
    let (mut p, mut h) = spawn();
    let m = scratch(&mut p, &mut h, 0x2000);
    assert_eq!(c64(&mut p, &mut h, n64::GETRANDOM, &[m, 64, 0]), 64);
    let a = h.peek(m, 64);
    assert!(a.iter().any(|&b| b != 0));
    assert_eq!(c64(&mut p, &mut h, n64::GETRANDOM, &[m, 64, 1]), 64);
    assert_ne!(h.peek(m, 64), a, "a stream, not a repeat");
    assert_eq!(c64(&mut p, &mut h, n64::GETRANDOM, &[m, 16, 2]), 16);
    assert_eq!(c64(&mut p, &mut h, n64::GETRANDOM, &[m, 16, 6]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::GETRANDOM, &[m, 16, 8]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::GETRANDOM, &[m, 0, 0]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::GETRANDOM, &[m + 0x1ff0, 64, 0]), 16, "partial up to the end of the mapping");
}

#[test]
fn clocks_and_time() {
    let (mut p, mut h) = spawn();
    let m = scratch(&mut p, &mut h, 0x1000);
    h.now = 5_000_000_123;
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETTIME, &[1, m]), 0);
    assert_eq!(h.peek(m, 16), [5u64.to_le_bytes(), 123u64.to_le_bytes()].concat());
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETTIME, &[0, m]), 0);
    let sec = u64::from_le_bytes(h.peek(m, 8).try_into().unwrap());
    assert_eq!(sec, (h.realtime_offset + h.now) / 1_000_000_000);
    for clock in [4u64, 5, 6, 7, 2, 3] {
        assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETTIME, &[clock, m]), 0, "clock {clock}");
    }
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETTIME, &[6, m]), 0);
    assert_eq!(u64::from_le_bytes(h.peek(m + 8, 8).try_into().unwrap()) % 4_000_000, 0, "coarse is tick-granular");
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETTIME, &[10, m]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETTIME, &[(-2i64) as u64, m]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETRES, &[1, m]), 0);
    assert_eq!(h.peek(m, 16), [0u64.to_le_bytes(), 1u64.to_le_bytes()].concat());
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETRES, &[1, 0]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_GETRES, &[99, 0]), err(Errno::EINVAL));
    // i386: 32-bit timespec, clock_gettime64 64-bit.
    let low = c32(&mut p, &mut h, n32::MMAP2, &[0, 0x1000, 3, 0x22, 0xffff_ffff, 0]) as u64;
    assert_eq!(c32(&mut p, &mut h, n32::CLOCK_GETTIME, &[1, low]), 0);
    assert_eq!(h.peek(low, 8), [5u32.to_le_bytes(), 123u32.to_le_bytes()].concat());
    assert_eq!(c32(&mut p, &mut h, n32::CLOCK_GETTIME64, &[1, low]), 0);
    assert_eq!(h.peek(low, 16), [5u64.to_le_bytes(), 123u64.to_le_bytes()].concat());
    // gettimeofday / time.
    assert_eq!(c64(&mut p, &mut h, n64::GETTIMEOFDAY, &[m, m + 64]), 0);
    let usec = u64::from_le_bytes(h.peek(m + 8, 8).try_into().unwrap());
    assert!(usec < 1_000_000);
    assert_eq!(c64(&mut p, &mut h, n64::GETTIMEOFDAY, &[0, 0]), 0);
    let t = c64(&mut p, &mut h, n64::TIME, &[m]) as u64;
    assert_eq!(t, (h.realtime_offset + h.now) / 1_000_000_000);
    assert_eq!(h.peek(m, 8), t.to_le_bytes());
    assert_eq!(c32(&mut p, &mut h, n32::TIME, &[low]) as u64, t);
    assert_eq!(h.peek(low, 4), (t as u32).to_le_bytes());
    assert_eq!(c32(&mut p, &mut h, n32::GETTIMEOFDAY, &[low, 0]), 0);
    assert_eq!(h.peek(low, 4), (t as u32).to_le_bytes());
}

#[test]
fn sleeping_is_deferred() {
    let (mut p, mut h) = spawn();
    let m = scratch(&mut p, &mut h, 0x1000);
    h.now = 1_000;
    p.write_user(&mut h, Abi::X86_64, m, &[0u64.to_le_bytes(), 5_000_000u64.to_le_bytes()].concat()).unwrap();
    assert_eq!(sys(&mut p, &mut h, Abi::X86_64, n64::NANOSLEEP, &[m, 0]), Outcome::Blocked);
    assert_eq!(p.next_deadline(h.now), Some(5_001_000));
    h.now = 5_000_999;
    assert_eq!(p.poll(&mut h), None);
    h.now = 5_001_000;
    assert_eq!(p.poll(&mut h), Some(Outcome::Reply(0)));
    assert_eq!(p.next_deadline(h.now), None);
    // Bad nanoseconds.
    p.write_user(&mut h, Abi::X86_64, m, &[0u64.to_le_bytes(), 1_000_000_000u64.to_le_bytes()].concat()).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::NANOSLEEP, &[m, 0]), err(Errno::EINVAL));
    p.write_user(&mut h, Abi::X86_64, m, &[u64::MAX.to_le_bytes(), 0u64.to_le_bytes()].concat()).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::NANOSLEEP, &[m, 0]), err(Errno::EINVAL), "negative seconds");
    // clock_nanosleep absolute on MONOTONIC, in the past: immediate.
    p.write_user(&mut h, Abi::X86_64, m, &[0u64.to_le_bytes(), 10u64.to_le_bytes()].concat()).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_NANOSLEEP, &[1, 1, m, 0]), 0);
    // Absolute REALTIME in the future.
    let rt = h.realtime_offset + h.now + 2_000_000;
    p.write_user(&mut h, Abi::X86_64, m, &[(rt / 1_000_000_000).to_le_bytes(), (rt % 1_000_000_000).to_le_bytes()].concat()).unwrap();
    assert_eq!(sys(&mut p, &mut h, Abi::X86_64, n64::CLOCK_NANOSLEEP, &[0, 1, m, 0]), Outcome::Blocked);
    // (A microsecond late: the program's vDSO clock may trail the server's.)
    assert_eq!(p.next_deadline(h.now), Some(h.now + 2_000_000 + crate::vdso::REALTIME_SLACK_NS));
    h.now += 2_000_000 + crate::vdso::REALTIME_SLACK_NS;
    assert_eq!(p.poll(&mut h), Some(Outcome::Reply(0)));
    // No sleeping on CPU time here (Linux sleeps on the process's): EOPNOTSUPP; no such clock: EINVAL.
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_NANOSLEEP, &[2, 0, m, 0]), err(Errno::EOPNOTSUPP));
    assert_eq!(c64(&mut p, &mut h, n64::CLOCK_NANOSLEEP, &[12, 0, m, 0]), err(Errno::EINVAL));
    // i386 nanosleep with a 32-bit timespec.
    let low = c32(&mut p, &mut h, n32::MMAP2, &[0, 0x1000, 3, 0x22, 0xffff_ffff, 0]) as u64;
    p.write_user(&mut h, Abi::I386, low, &[1u32.to_le_bytes(), 0u32.to_le_bytes()].concat()).unwrap();
    assert_eq!(sys(&mut p, &mut h, Abi::I386, n32::NANOSLEEP, &[low, 0]), Outcome::Blocked);
    assert_eq!(p.next_deadline(h.now), Some(h.now + 1_000_000_000));
}

#[test]
fn stdin_reads_block_until_data_or_eof() {
    let (mut p, mut h) = spawn();
    let m = scratch(&mut p, &mut h, 0x1000);
    assert_eq!(sys(&mut p, &mut h, Abi::X86_64, n64::READ, &[0, m, 100]), Outcome::Blocked);
    assert_eq!(p.next_deadline(10), Some(10 + crate::process::STDIN_POLL_NS));
    assert_eq!(p.poll(&mut h), None);
    p.job.stdin_data(b"line one\nline two\n");
    assert_eq!(p.poll(&mut h), Some(Outcome::Reply(18)));
    assert_eq!(h.peek(m, 18), b"line one\nline two\n");
    // Data already there: immediate, and a short buffer leaves the rest.
    p.job.stdin_data(b"abcdef");
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[0, m, 4]), 4);
    assert_eq!(p.stdin_buffered(), 2);
    // readv scatters.
    let mut iov = Vec::new();
    for (b, l) in [(m + 0x100, 1u64), (m + 0x200, 8)] {
        iov.extend_from_slice(&b.to_le_bytes());
        iov.extend_from_slice(&l.to_le_bytes());
    }
    p.write_user(&mut h, Abi::X86_64, m + 0x800, &iov).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::READV, &[0, m + 0x800, 2]), 2);
    assert_eq!(h.peek(m + 0x100, 1), b"e");
    assert_eq!(h.peek(m + 0x200, 1), b"f");
    // Wild buffer with data: EFAULT and the data stays.
    p.job.stdin_data(b"xyz");
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[0, 0x1000, 3]), err(Errno::EFAULT));
    assert_eq!(p.stdin_buffered(), 3);
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[0, m, 3]), 3);
    // EOF: blocked read answers 0, later reads too.
    assert_eq!(sys(&mut p, &mut h, Abi::X86_64, n64::READ, &[0, m, 3]), Outcome::Blocked);
    p.job.stdin_eof();
    assert_eq!(p.poll(&mut h), Some(Outcome::Reply(0)));
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[0, m, 3]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[1, m, 3]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[2, m, 3]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[7, m, 3]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[0, m, 0]), 0);
}

#[test]
fn identity_and_system_info() {
    let (mut p, mut h) = spawn();
    // A page with nothing mapped above it (the vDSO's data page is above the mmap area).
    let m = scratch(&mut p, &mut h, 0x2000);
    assert_eq!(c64(&mut p, &mut h, n64::MUNMAP, &[m + 0x1000, 0x1000]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::GETPID, &[]), 2);
    assert_eq!(c64(&mut p, &mut h, n64::GETTID, &[]), 2);
    assert_eq!(c64(&mut p, &mut h, n64::GETUID, &[]), 1000);
    assert_eq!(c64(&mut p, &mut h, n64::GETEGID, &[]), 1000);
    assert_eq!(c32(&mut p, &mut h, n32::GETUID32, &[]), 1000);
    p.uid = 100_000;
    p.ids.ruid = 100_000;
    assert_eq!(c32(&mut p, &mut h, n32::GETUID, &[]), 65534, "16-bit overflow id");
    assert_eq!(c32(&mut p, &mut h, n32::GETEUID32, &[]), 100_000);
    assert_eq!(c64(&mut p, &mut h, n64::UNAME, &[m]), 0);
    assert_eq!(h.peek(m, 6), b"Linux\0");
    assert_eq!(h.peek(m + 65, 5), b"sion\0");
    assert_eq!(h.peek(m + 130, 11), b"6.1.0-sion\0");
    assert_eq!(h.peek(m + 195, 8), b"#1 SiON\0");
    assert_eq!(h.peek(m + 260, 7), b"x86_64\0");
    // readlink /proc/self/exe.
    p.write_user(&mut h, Abi::X86_64, m + 0x400, b"/proc/self/exe\0").unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::READLINK, &[m + 0x400, m + 0x800, 100]), 15);
    assert_eq!(h.peek(m + 0x800, 15), b"/home/user/prog");
    assert_eq!(c64(&mut p, &mut h, n64::READLINK, &[m + 0x400, m + 0x800, 5]), 5, "truncated, no NUL");
    assert_eq!(c64(&mut p, &mut h, n64::READLINK, &[m + 0x400, m + 0x800, 0]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::READLINKAT, &[(-100i64) as u64, m + 0x400, m + 0x800, 100]), 15);
    p.write_user(&mut h, Abi::X86_64, m + 0x400, b"/etc/passwd\0").unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::READLINK, &[m + 0x400, m + 0x800, 100]), err(Errno::EINVAL));
    p.write_user(&mut h, Abi::X86_64, m + 0x400, b"/etc/nope\0").unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::READLINK, &[m + 0x400, m + 0x800, 100]), err(Errno::ENOENT));
    // A path running into unmapped memory without a NUL.
    p.write_user(&mut h, Abi::X86_64, m + 0xffc, b"abcd").unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::READLINK, &[m + 0xffc, m, 100]), err(Errno::EFAULT));
    // ioctl and fstat on the console streams.
    assert_eq!(c64(&mut p, &mut h, n64::IOCTL, &[1, 0x5413, m]), err(Errno::ENOTTY));
    assert_eq!(c64(&mut p, &mut h, n64::IOCTL, &[0, 0x5401, m]), err(Errno::ENOTTY));
    assert_eq!(c64(&mut p, &mut h, n64::IOCTL, &[3, 0x5413, m]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::FSTAT, &[1, m]), 0);
    assert_eq!(u32::from_le_bytes(h.peek(m + 24, 4).try_into().unwrap()), 0o010600);
    assert_eq!(c64(&mut p, &mut h, n64::FSTAT, &[9, m]), err(Errno::EBADF));
    p.write_user(&mut h, Abi::X86_64, m + 0x400, b"\0").unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::NEWFSTATAT, &[1, m + 0x400, m, 0x1000]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::NEWFSTATAT, &[1, m + 0x400, m, 0]), err(Errno::ENOENT));
    assert_eq!(c64(&mut p, &mut h, n64::NEWFSTATAT, &[5, m + 0x400, m, 0x1000]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::NEWFSTATAT, &[1, m + 0x400, m, 0x1]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::STATX, &[2, m + 0x400, 0x1000, 0x7ff, m + 0x100]), 0);
    assert_eq!(u16::from_le_bytes(h.peek(m + 0x100 + 28, 2).try_into().unwrap()), 0o010600);
    let low = c32(&mut p, &mut h, n32::MMAP2, &[0, 0x1000, 3, 0x22, 0xffff_ffff, 0]) as u64;
    assert_eq!(c32(&mut p, &mut h, n32::FSTAT64, &[1, low]), 0);
    assert_eq!(u32::from_le_bytes(h.peek(low + 16, 4).try_into().unwrap()), 0o010600);
}

#[test]
fn rlimits() {
    let (mut p, mut h) = spawn();
    let m = scratch(&mut p, &mut h, 0x1000);
    assert_eq!(c64(&mut p, &mut h, n64::GETRLIMIT, &[3, m]), 0);
    assert_eq!(h.peek(m, 16), [(8u64 << 20).to_le_bytes(), u64::MAX.to_le_bytes()].concat());
    assert_eq!(c64(&mut p, &mut h, n64::PRLIMIT64, &[0, 7, 0, m]), 0);
    assert_eq!(h.peek(m, 16), [1024u64.to_le_bytes(), 4096u64.to_le_bytes()].concat());
    p.write_user(&mut h, Abi::X86_64, m, &[2048u64.to_le_bytes(), 4096u64.to_le_bytes()].concat()).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::PRLIMIT64, &[0, 7, m, m + 0x100]), 0);
    assert_eq!(h.peek(m + 0x100, 8), 1024u64.to_le_bytes(), "old value reported");
    assert_eq!(c64(&mut p, &mut h, n64::GETRLIMIT, &[7, m]), 0);
    assert_eq!(h.peek(m, 8), 2048u64.to_le_bytes());
    p.write_user(&mut h, Abi::X86_64, m, &[5000u64.to_le_bytes(), 4096u64.to_le_bytes()].concat()).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::SETRLIMIT, &[7, m]), err(Errno::EINVAL), "soft above hard");
    assert_eq!(c64(&mut p, &mut h, n64::PRLIMIT64, &[99, 7, 0, m]), err(Errno::ESRCH));
    assert_eq!(c64(&mut p, &mut h, n64::GETRLIMIT, &[16, m]), err(Errno::EINVAL));
    // Raising a hard limit needs privilege (uid 1000 here).
    p.write_user(&mut h, Abi::X86_64, m, &[5000u64.to_le_bytes(), 8192u64.to_le_bytes()].concat()).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::SETRLIMIT, &[7, m]), err(Errno::EPERM));
    // i386: ugetrlimit (u32, infinity 0xffffffff) and the old getrlimit (0x7fffffff).
    let low = c32(&mut p, &mut h, n32::MMAP2, &[0, 0x1000, 3, 0x22, 0xffff_ffff, 0]) as u64;
    assert_eq!(c32(&mut p, &mut h, n32::UGETRLIMIT, &[3, low]), 0);
    assert_eq!(h.peek(low, 8), [(8u32 << 20).to_le_bytes(), u32::MAX.to_le_bytes()].concat());
    assert_eq!(c32(&mut p, &mut h, n32::GETRLIMIT, &[3, low]), 0);
    assert_eq!(h.peek(low + 4, 4), 0x7fff_ffffu32.to_le_bytes());
}

#[test]
fn unimplemented_calls_logged_once_by_name() {
    let (mut p, mut h) = spawn();
    assert_eq!(c64(&mut p, &mut h, 425, &[]), err(Errno::ENOSYS)); // io_uring_setup
    assert_eq!(c64(&mut p, &mut h, 425, &[]), err(Errno::ENOSYS));
    assert_eq!(c32(&mut p, &mut h, 425, &[]), err(Errno::ENOSYS)); // i386 io_uring_setup
    assert_eq!(c64(&mut p, &mut h, 100_000, &[]), err(Errno::ENOSYS));
    assert_eq!(h.logs.iter().filter(|l| l.contains("io_uring_setup")).count(), 1);
    assert_eq!(p.job.unimplemented.get("io_uring_setup"), Some(&3));
    assert_eq!(p.job.unimplemented.get("unknown"), Some(&1));
    p.report_unimplemented(&mut h);
    assert!(h.logs.iter().any(|l| l == "unimplemented syscall io_uring_setup: called 3 time(s)"));
}

#[test]
fn exit_codes() {
    let (mut p, mut h) = spawn();
    assert_eq!(sys(&mut p, &mut h, Abi::X86_64, n64::EXIT_GROUP, &[3]), Outcome::Exit(Exit::Code(3)));
    assert_eq!(sys(&mut p, &mut h, Abi::I386, n32::EXIT_GROUP, &[u64::MAX]), Outcome::Exit(Exit::Code(255)));
}

#[test]
fn out_of_memory_at_spawn_is_an_error() {
    let prog = tiny_elf64(ET_EXEC, EM_X86_64, false);
    let mut h = SimHost::new();
    h.page_limit = Some(1);
    let s = Spawn { program: &prog, argv: vec![], envp: vec![], exe: String::new(), uid: 0, gid: 0, seed: [0; 32], hwcap: 0, stdin_stream: false, memory: 1 << 30, files: vec![], cwd: "/".into(), shares: vec![] };
    assert!(Process::spawn(&mut h, &s).is_err());
}

#[test]
fn staged_symlinks_stay_links_and_files_must_fit() {
    let prog = tiny_elf64(ET_EXEC, EM_X86_64, false);
    let mut h = SimHost::new();
    let s = Spawn {
        program: &prog,
        argv: vec![b"prog".to_vec()],
        envp: vec![],
        exe: "/bin/prog".into(),
        uid: 0,
        gid: 0,
        seed: [1; 32],
        hwcap: 0,
        stdin_stream: false,
        memory: 1 << 30,
        files: vec![
            ("/w/real.txt".into(), &b"real"[..], 0o100644),
            ("/w/valid".into(), &b"real.txt"[..], 0o120777),
            ("/w/sub/dangling".into(), &b"/nonexistent/x"[..], 0o120777),
        ],
        cwd: "/w".into(),
        shares: vec![],
    };
    let (p, regs) = Process::spawn(&mut h, &s).unwrap();
    let mut p = Proc(Some(p));
    h.regs = regs;
    let m = scratch(&mut p, &mut h, 0x4000);
    let buf = m + 0x1000;
    for (path, target) in [("/w/valid", &b"real.txt"[..]), ("/w/sub/dangling", b"/nonexistent/x")] {
        let a = put_str(&mut p, &mut h, m, path);
        let r = c64(&mut p, &mut h, n64::READLINK, &[a, buf, 100]);
        assert_eq!(h.peek(buf, r.max(0) as usize), target, "{path}");
        assert_eq!(c64(&mut p, &mut h, n64::LSTAT, &[a, buf]), 0);
        assert_eq!(u32::from_le_bytes(h.peek(buf + 24, 4).try_into().unwrap()) & 0o170000, 0o120000, "{path} is a link");
    }
    // The valid one leads to the file, the dangling one nowhere.
    let a = put_str(&mut p, &mut h, m, "/w/valid");
    assert_eq!(c64(&mut p, &mut h, n64::OPEN, &[a, 0, 0]), 3);
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[3, buf, 100]), 4);
    let a = put_str(&mut p, &mut h, m, "/w/sub/dangling");
    assert_eq!(c64(&mut p, &mut h, n64::OPEN, &[a, 0, 0]), err(Errno::ENOENT));
    // Files past what the node holds (less a reserve for the job) are
    // refused before they are copied.
    let big = vec![0u8; 300 << 10];
    let s = Spawn { memory: 32 << 20, files: vec![("/big".into(), &big[..], 0o644)], ..s };
    let why = Process::spawn(&mut SimHost::new(), &s).err().expect("refused");
    assert!(why.contains("do not fit"), "{why}");
}

fn spawn_with_files() -> (Proc, SimHost) {
    let prog = tiny_elf64(ET_EXEC, EM_X86_64, false);
    let mut h = SimHost::new();
    let data: &[u8] = b"line one\nline two\n";
    let s = Spawn {
        program: &prog,
        argv: vec![b"prog".to_vec()],
        envp: vec![],
        exe: "/home/user/bin/prog".into(),
        uid: 1000,
        gid: 100,
        seed: [1; 32],
        hwcap: 0,
        stdin_stream: false,
        memory: 1 << 30,
        files: vec![("/data/in.txt".into(), data, 0o640)],
        cwd: "/work/dir".into(),
        shares: vec![],
    };
    let (p, regs) = Process::spawn(&mut h, &s).unwrap();
    h.regs = regs;
    (Proc(Some(p)), h)
}

fn put_str(p: &mut Proc, h: &mut SimHost, at: u64, s: &str) -> u64 {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    p.write_user(h, Abi::X86_64, at, &b).unwrap();
    at
}

#[test]
fn job_tree_files_and_descriptors() {
    let (mut p, mut h) = spawn_with_files();
    let m = scratch(&mut p, &mut h, 0x4000);
    let path = put_str(&mut p, &mut h, m, "/data/in.txt");
    let buf = m + 0x1000;
    // The job file, its mode and owner; the working directory was created.
    let fd = c64(&mut p, &mut h, n64::OPEN, &[path, 0, 0]);
    assert_eq!(fd, 3);
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[3, buf, 100]), 18);
    assert_eq!(h.peek(buf, 18), b"line one\nline two\n");
    assert_eq!(c64(&mut p, &mut h, n64::FSTAT, &[3, buf]), 0);
    assert_eq!(u32::from_le_bytes(h.peek(buf + 24, 4).try_into().unwrap()), 0o100640);
    assert_eq!(u32::from_le_bytes(h.peek(buf + 28, 4).try_into().unwrap()), 1000);
    assert_eq!(c64(&mut p, &mut h, n64::GETCWD, &[buf, 100]), 10);
    assert_eq!(h.peek(buf, 10), b"/work/dir\0");
    // The program is at its path, /etc and /dev exist.
    for path in ["/home/user/bin/prog", "/etc/passwd", "/etc/hostname", "/dev/null", "/tmp", "/proc/self/maps"] {
        let a = put_str(&mut p, &mut h, m + 0x200, path);
        assert_eq!(c64(&mut p, &mut h, n64::STAT, &[a, buf]), 0, "{path}");
    }
    // Write a new file relative to the cwd, read it back through a dup.
    let name = put_str(&mut p, &mut h, m + 0x300, "out.txt");
    let w = c64(&mut p, &mut h, n64::OPENAT, &[(-100i64) as u64, name, 0o1102, 0o666]);
    assert_eq!(w, 4);
    put_str(&mut p, &mut h, buf, "written");
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[4, buf, 7]), 7);
    assert_eq!(c64(&mut p, &mut h, n64::DUP, &[4]), 5);
    assert_eq!(c64(&mut p, &mut h, n64::LSEEK, &[5, 0, 0]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[4, buf + 0x100, 100]), 7);
    assert_eq!(h.peek(buf + 0x100, 7), b"written");
    assert_eq!(c64(&mut p, &mut h, n64::FSTAT, &[4, buf]), 0);
    assert_eq!(u32::from_le_bytes(h.peek(buf + 24, 4).try_into().unwrap()), 0o100644, "umask 022");
    assert_eq!(c64(&mut p, &mut h, n64::CLOSE, &[4]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::CLOSE, &[4]), err(Errno::EBADF));
    // Errors: a path through a file, a missing file, a bad pointer.
    let bad = put_str(&mut p, &mut h, m + 0x400, "/data/in.txt/x");
    assert_eq!(c64(&mut p, &mut h, n64::OPEN, &[bad, 0, 0]), err(Errno::ENOTDIR));
    let missing = put_str(&mut p, &mut h, m + 0x400, "/nope");
    assert_eq!(c64(&mut p, &mut h, n64::OPEN, &[missing, 0, 0]), err(Errno::ENOENT));
    assert_eq!(c64(&mut p, &mut h, n64::OPEN, &[8, 0, 0]), err(Errno::EFAULT));
    // getdents64 of the cwd: ., .., out.txt.
    let dot = put_str(&mut p, &mut h, m + 0x400, ".");
    let d = c64(&mut p, &mut h, n64::OPEN, &[dot, 0o200000, 0]);
    let n = c64(&mut p, &mut h, n64::GETDENTS64, &[d as u64, buf, 0x800]);
    assert!(n > 0);
    let raw = h.peek(buf, n as usize);
    let mut names = Vec::new();
    let mut off = 0;
    while off < raw.len() {
        let reclen = u16::from_le_bytes([raw[off + 16], raw[off + 17]]) as usize;
        let name: Vec<u8> = raw[off + 19..off + reclen].iter().copied().take_while(|&b| b != 0).collect();
        names.push(String::from_utf8(name).unwrap());
        off += reclen;
    }
    assert_eq!(names, [".", "..", "out.txt"]);
    assert_eq!(c64(&mut p, &mut h, n64::GETDENTS64, &[d as u64, buf, 0x800]), 0);
    // /proc/self/fd lists the open descriptors.
    let link = put_str(&mut p, &mut h, m + 0x400, "/proc/self/fd/3");
    let r = c64(&mut p, &mut h, n64::READLINK, &[link, buf, 100]);
    assert_eq!(h.peek(buf, r as usize), b"/data/in.txt");
    // --out collects what the program wrote.
    let items = p.collect_out("/work/dir");
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[1], crate::process::OutItem::File { path, data, .. } if path == b"/work/dir/out.txt" && data == b"written"));
    assert!(matches!(&p.collect_out("/none")[0], crate::process::OutItem::Missing { .. }));
}

#[test]
fn file_mappings_private_and_shared() {
    let (mut p, mut h) = spawn_with_files();
    let m = scratch(&mut p, &mut h, 0x2000);
    let path = put_str(&mut p, &mut h, m, "/data/in.txt");
    let fd = c64(&mut p, &mut h, n64::OPEN, &[path, 2, 0]) as u64;
    let a = c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 1, 0x02, fd, 0]) as u64;
    assert_eq!(h.peek(a, 8), b"line one");
    assert_eq!(h.prot_of(a), Some(1));
    let s = c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 3, 0x01, fd, 0]) as u64;
    h.poke(s, b"LINE");
    assert_eq!(c64(&mut p, &mut h, n64::MSYNC, &[s, 0x1000, 4]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::PREAD64, &[fd, m + 0x100, 4, 0]), 4);
    assert_eq!(h.peek(m + 0x100, 4), b"LINE");
    // A read-only descriptor cannot back a shared writable mapping.
    let ro = c64(&mut p, &mut h, n64::OPEN, &[path, 0, 0]) as u64;
    assert_eq!(c64(&mut p, &mut h, n64::MMAP, &[0, 0x1000, 3, 0x01, ro, 0]), err(Errno::EACCES));
    // Past the end of the file: zeros.
    assert_eq!(h.peek(a + 18, 4), [0; 4]);
}

#[test]
fn out_of_memory_is_sigkill_and_files_stop_at_enospc() {
    let (mut p, mut h) = spawn_with_files();
    let m = scratch(&mut p, &mut h, 0x1000);
    let big = c64(&mut p, &mut h, n64::MMAP, &[0, 0x10_0000, 3, 0x22, u64::MAX, 0]) as u64;
    h.page_limit = Some(h.pages.len());
    let o = p.handle_fault(&mut h, &Fault { vector: 14, error_code: pf::WRITE, addr: big, rip: 0, rsp: 0 });
    assert_eq!(o, Outcome::Exit(Exit::Signal(9)));
    h.page_limit = None;
    // Files: the node's free memory bounds them.
    let path = put_str(&mut p, &mut h, m, "/tmp/f");
    let fd = c64(&mut p, &mut h, n64::OPEN, &[path, 0o101, 0o644]) as u64;
    assert_eq!(c64(&mut p, &mut h, n64::PWRITE64, &[fd, m, 16, 1 << 30]), 16, "a hole before it takes no memory");
    assert_eq!(c64(&mut p, &mut h, n64::FTRUNCATE, &[fd, 1 << 31]), 0);
    p.job.vfs.capacity = p.job.vfs.used();
    assert_eq!(c64(&mut p, &mut h, n64::PWRITE64, &[fd, m, 16, 0]), err(Errno::ENOSPC));
}

/// What each kind of open file answers where it cannot do what was asked:
/// the errnos of the descriptor layer and of each kind's defaults.
#[test]
fn file_objects_answer_their_errnos() {
    let (mut p, mut h) = spawn();
    let m = scratch(&mut p, &mut h, 0x4000);
    let buf = m + 0x1000;
    let open = |p: &mut Proc, h: &mut SimHost, path: &str, flags: u64| {
        let a = put_str(p, h, m + 0x200, path);
        c64(p, h, n64::OPEN, &[a, flags, 0])
    };
    let fds = |h: &SimHost, at: u64| {
        let b = h.peek(at, 8);
        (u32::from_le_bytes(b[..4].try_into().unwrap()) as u64, u32::from_le_bytes(b[4..].try_into().unwrap()) as u64)
    };
    assert_eq!(c64(&mut p, &mut h, n64::PIPE2, &[m, 0]), 0);
    let (r, w) = fds(&h, m);
    let ev = c64(&mut p, &mut h, n64::EVENTFD2, &[1, 0]) as u64;
    p.write_user(&mut h, Abi::X86_64, m + 0x100, &(1u64 << 9).to_le_bytes()).unwrap();
    let sfd = c64(&mut p, &mut h, n64::SIGNALFD4, &[u64::MAX, m + 0x100, 8, 0o4000]) as u64;
    let ep = c64(&mut p, &mut h, n64::EPOLL_CREATE1, &[0]) as u64;
    assert_eq!(c64(&mut p, &mut h, n64::SOCKETPAIR, &[1, 1, 0, m + 0x10]), 0);
    let (u, _) = fds(&h, m + 0x10);
    let null = open(&mut p, &mut h, "/dev/null", 2) as u64;
    let file = open(&mut p, &mut h, "/etc/hostname", 0) as u64;
    let stdin_rw = open(&mut p, &mut h, "/dev/stdin", 2) as u64;
    let stdout_rw = open(&mut p, &mut h, "/dev/stdout", 2) as u64;
    // Anonymous inodes cannot be opened again (ENXIO, as Linux answers).
    for fd in [ev, sfd, ep] {
        assert_eq!(open(&mut p, &mut h, &format!("/proc/self/fd/{fd}"), 2), err(Errno::ENXIO), "reopen {fd}");
    }
    assert_eq!(open(&mut p, &mut h, "/dev/stdout", 0), err(Errno::EACCES));
    assert_eq!(open(&mut p, &mut h, &format!("/proc/self/fd/{u}"), 2), err(Errno::ENXIO));
    assert_eq!(open(&mut p, &mut h, &format!("/proc/self/fd/{w}"), 0), err(Errno::EACCES));

    // pread and pwrite: streams and anonymous inodes have no offset (ESPIPE, as Linux).
    let pread = |p: &mut Proc, h: &mut SimHost, fd: u64| c64(p, h, n64::PREAD64, &[fd, buf, 8, 0]);
    let pwrite = |p: &mut Proc, h: &mut SimHost, fd: u64| c64(p, h, n64::PWRITE64, &[fd, buf, 8, 0]);
    for (fd, want) in [
        (r, Errno::ESPIPE),
        (ev, Errno::ESPIPE),
        (sfd, Errno::ESPIPE),
        (ep, Errno::ESPIPE),
        (u, Errno::ESPIPE),
        (0, Errno::ESPIPE),
        // Linux looks for a position before the open mode (ksys_pread64).
        (1, Errno::ESPIPE),
        (stdout_rw, Errno::ESPIPE),
    ] {
        assert_eq!(pread(&mut p, &mut h, fd), err(want), "pread {fd}");
    }
    for (fd, want) in [
        (w, Errno::ESPIPE),
        (r, Errno::ESPIPE),
        (ev, Errno::ESPIPE),
        (sfd, Errno::ESPIPE),
        (ep, Errno::ESPIPE),
        (u, Errno::ESPIPE),
        (0, Errno::ESPIPE),
        (stdin_rw, Errno::ESPIPE),
        (1, Errno::ESPIPE),
    ] {
        assert_eq!(pwrite(&mut p, &mut h, fd), err(want), "pwrite {fd}");
    }
    assert_eq!(pread(&mut p, &mut h, file), 5);
    assert_eq!(pread(&mut p, &mut h, null), 0);
    assert_eq!(pwrite(&mut p, &mut h, null), 8);
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[ep, buf, 8]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[ep, buf, 8]), err(Errno::EINVAL));
    // A signalfd is open read-write, as on Linux: a write is EINVAL (no write operation).
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[sfd, buf, 8]), err(Errno::EINVAL));
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[sfd, buf, 128]), err(Errno::EAGAIN));
    assert_eq!(c64(&mut p, &mut h, n64::READ, &[stdout_rw, buf, 8]), err(Errno::EBADF));
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[stdin_rw, buf, 8]), err(Errno::EBADF));

    // lseek: streams cannot (ESPIPE); anonymous inodes ignore it (0, Linux's noop_llseek).
    for fd in [r, w, u, 0, 1] {
        assert_eq!(c64(&mut p, &mut h, n64::LSEEK, &[fd, 0, 0]), err(Errno::ESPIPE), "lseek {fd}");
    }
    for fd in [ev, sfd, ep] {
        assert_eq!(c64(&mut p, &mut h, n64::LSEEK, &[fd, 5, 0]), 0, "lseek {fd}");
    }
    assert_eq!(c64(&mut p, &mut h, n64::LSEEK, &[file, 2, 0]), 2);
    assert_eq!(c64(&mut p, &mut h, n64::LSEEK, &[null, 7, 0]), 0);

    // ioctl: no terminals; FIONREAD where there is something to count.
    for fd in [r, ev, sfd, ep, u, 0, 1, file, null] {
        assert_eq!(c64(&mut p, &mut h, n64::IOCTL, &[fd, 0x5401, buf]), err(Errno::ENOTTY), "TCGETS {fd}");
    }
    assert_eq!(c64(&mut p, &mut h, n64::WRITE, &[w, buf, 3]), 3);
    assert_eq!(c64(&mut p, &mut h, n64::IOCTL, &[r, 0x541b, buf]), 0);
    assert_eq!(h.peek(buf, 4), 3u32.to_le_bytes());
    assert_eq!(c64(&mut p, &mut h, n64::IOCTL, &[ev, 0x541b, buf]), err(Errno::ENOTTY));

    // F_GETPIPE_SZ: pipes and the console's streams only.
    for (fd, want) in [(r, 65536), (1, 65536), (file, err(Errno::EBADF)), (ev, err(Errno::EBADF)), (u, err(Errno::EBADF))] {
        assert_eq!(c64(&mut p, &mut h, n64::FCNTL, &[fd, 1032, 0]), want, "F_GETPIPE_SZ {fd}");
    }
    assert_eq!(c64(&mut p, &mut h, n64::FCNTL, &[1, 1031, 5000]), 8192);

    // fstat's modes and /proc/self/fd's names.
    for (fd, mode, name) in [
        (r, 0o10600, String::from("pipe:[30001]")),
        (ev, 0o600, String::from("anon_inode:[eventfd]")),
        (sfd, 0o600, String::from("anon_inode:[signalfd]")),
        (ep, 0o600, String::from("anon_inode:[eventpoll]")),
        (u, 0o140777, String::from("socket:[40001]")),
        (1, 0o10600, String::from("pipe:[11]")),
        (file, 0o100644, String::from("/etc/hostname")),
    ] {
        assert_eq!(c64(&mut p, &mut h, n64::FSTAT, &[fd, buf]), 0);
        assert_eq!(u32::from_le_bytes(h.peek(buf + 24, 4).try_into().unwrap()), mode, "mode of {fd}");
        let link = put_str(&mut p, &mut h, m + 0x200, &format!("/proc/self/fd/{fd}"));
        let n = c64(&mut p, &mut h, n64::READLINK, &[link, buf, 100]);
        assert_eq!(h.peek(buf, n as usize), name.as_bytes(), "link of {fd}");
    }

    // poll: (fd, events asked, revents).
    let polled = [(r, 1u16, 1u16), (w, 4, 4), (ev, 5, 5), (sfd, 1, 0), (ep, 1, 0), (u, 4, 4), (1, 5, 4), (file, 5, 5)];
    let mut b = Vec::new();
    for (fd, events, _) in polled {
        b.extend_from_slice(&(fd as i32).to_le_bytes());
        b.extend_from_slice(&events.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
    }
    p.write_user(&mut h, Abi::X86_64, buf, &b).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::POLL, &[buf, polled.len() as u64, 0]), 6);
    for (i, (fd, _, want)) in polled.iter().enumerate() {
        let got = u16::from_le_bytes(h.peek(buf + 8 * i as u64 + 6, 2).try_into().unwrap());
        assert_eq!(got, *want, "revents of {fd}");
    }

    // Closing the write end hangs up the read end; every close is once.
    assert_eq!(c64(&mut p, &mut h, n64::CLOSE, &[w]), 0);
    p.write_user(&mut h, Abi::X86_64, buf, &[r as u8, 0, 0, 0, 1, 0, 0, 0]).unwrap();
    assert_eq!(c64(&mut p, &mut h, n64::POLL, &[buf, 1, 0]), 1);
    assert_eq!(h.peek(buf + 6, 2), [0x11, 0]);
    for fd in [r, ev, sfd, ep, u, null, file, stdin_rw, stdout_rw] {
        assert_eq!(c64(&mut p, &mut h, n64::CLOSE, &[fd]), 0);
        assert_eq!(c64(&mut p, &mut h, n64::CLOSE, &[fd]), err(Errno::EBADF));
    }
}

/// Root drops its effective user id and takes it back through the saved
/// one (what LTP's tests do around each unprivileged check).
#[test]
fn saved_set_user_id() {
    let (mut p, mut h) = spawn();
    p.uid = 0;
    p.ids = crate::creds::RealSaved::of(0, 0);
    p.files.cred.uid = 0;
    p.caps = crate::process::Caps::of(0);
    let keep = u64::from(u32::MAX);
    assert_eq!(c64(&mut p, &mut h, n64::SETRESUID, &[keep, 65534, keep]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::GETEUID, &[]), 65534);
    assert_eq!(c64(&mut p, &mut h, n64::GETUID, &[]), 0);
    assert_eq!(p.files.cred.uid, 65534, "file access as nobody");
    assert_eq!(p.caps.effective, 0, "no effective capabilities as nobody");
    // Unprivileged now: another id is refused, the saved root taken back.
    assert_eq!(c64(&mut p, &mut h, n64::SETRESUID, &[keep, 1234, keep]), err(Errno::EPERM));
    assert_eq!(c64(&mut p, &mut h, n64::SETRESUID, &[keep, 0, keep]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::GETEUID, &[]), 0);
    assert_ne!(p.caps.effective, 0, "capabilities back from the permitted set");
    // setuid(nobody) as root leaves root for good.
    assert_eq!(c64(&mut p, &mut h, n64::SETUID, &[65534]), 0);
    assert_eq!(c64(&mut p, &mut h, n64::SETUID, &[0]), err(Errno::EPERM));
    assert_eq!((p.caps.effective, p.caps.permitted), (0, 0));
}
