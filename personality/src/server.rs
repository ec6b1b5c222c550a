//! Boot, load and the event loop.

use crate::console;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use sion_abi::boot::names;
use sion_abi::bootfs::Reader;
use sion_abi::call::{ClockInfo, Error, TaskKind};
use sion_abi::console::{down, up, Decoder, Event, Exit};
use sion_abi::msg::{reply_flags, Fault, Header, Kind, LinuxReply, LinuxSyscall, NOTIFY_TIMER};
use sion_abi::regs::TaskRegs;
use sion_abi::{SpaceId, TaskId};
use sion_linux::host::{Host, MapError, NodeInfo};
use sion_linux::job::{split_nul, JobConfig, Trace};
use sion_linux::layout::Abi;
use sion_linux::process::{OutItem, Outcome, Process, Spawn, WriteBack};
use sion_linux::procs::{Answer, Procs};
use sion_rt as rt;

sion_rt::entry!(main);

/// How often the serial console is read when nothing else wakes the server.
const SERIAL_POLL_NS: u64 = 20_000_000;

/// The machine as the program's process sees it, through kernel calls.
struct KernelHost {
    space: SpaceId,
    task: Option<TaskId>,
    clock: ClockInfo,
    /// The netstack server, found on first use (None: not looked up yet;
    /// Some(None): the node has none).
    netstack: Option<Option<TaskId>>,
    net_reply: Vec<u8>,
    /// Processes killed for want of a page, and the job's memory limit.
    oom_kills: u32,
    mem_limit: u64,
}

impl Host for KernelHost {
    fn mem_map(&mut self, addr: u64, len: u64, prot: u64) -> Result<(), MapError> {
        rt::mem_map(self.space, addr, len, prot).map_err(|e| match e {
            Error::Exists => MapError::Exists,
            Error::NoMemory => MapError::NoMemory,
            _ => MapError::Other,
        })
    }
    fn mem_unmap(&mut self, addr: u64, len: u64) {
        if let Err(e) = rt::mem_unmap(self.space, addr, len) {
            rt::log!("personality: mem_unmap {addr:#x}+{len:#x}: {e:?}");
        }
    }
    fn mem_protect(&mut self, addr: u64, len: u64, prot: u64) {
        if let Err(e) = rt::mem_protect(self.space, addr, len, prot) {
            rt::log!("personality: mem_protect {addr:#x}+{len:#x}: {e:?}");
        }
    }
    fn mem_read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        rt::mem_read(self.space, addr, buf).unwrap_or(0)
    }
    fn mem_write(&mut self, addr: u64, data: &[u8]) -> usize {
        rt::mem_write(self.space, addr, data).unwrap_or(0)
    }
    fn space(&self) -> u64 {
        self.space.0 as u64
    }
    fn mem_share_from(&mut self, from_space: u64, from_addr: u64, addr: u64, len: u64, prot: u64) -> bool {
        rt::mem_share(SpaceId(from_space as u32), from_addr, self.space, addr, len, prot).is_ok()
    }
    fn shm_space(&mut self) -> Option<u64> {
        rt::space_create_like(self.space).ok().map(|s| s.0 as u64)
    }
    fn shm_map(&mut self, space: u64, addr: u64, len: u64) -> bool {
        let prot = sion_abi::call::prot::READ | sion_abi::call::prot::WRITE | sion_abi::call::prot::SHARED;
        rt::mem_map(SpaceId(space as u32), addr, len, prot).is_ok()
    }
    fn shm_unmap(&mut self, space: u64, addr: u64, len: u64) {
        let _ = rt::mem_unmap(SpaceId(space as u32), addr, len);
    }
    fn mem_cmpxchg32(&mut self, addr: u64, expected: u32, new: u32) -> Option<u32> {
        rt::mem_cmpxchg32(self.space, addr, expected, new).ok()
    }
    fn get_regs(&mut self) -> Option<TaskRegs> {
        rt::task_get_regs(self.task?).ok()
    }
    fn set_regs(&mut self, regs: &TaskRegs) -> bool {
        self.task.is_some_and(|t| rt::task_set_regs(t, regs).is_ok())
    }
    fn now_ns(&mut self) -> u64 {
        self.clock.tsc_to_ns(rt::rdtsc())
    }
    fn realtime_ns(&mut self) -> u64 {
        self.clock.realtime_at_boot_ns + self.now_ns()
    }
    fn cpu_ns(&mut self) -> u64 {
        self.task.and_then(|t| rt::task_info(t).ok()).map(|i| i.cpu_ns).unwrap_or(0)
    }
    fn vdso_clock(&mut self) -> Option<sion_linux::vdso::Clock> {
        Some(sion_linux::vdso::Clock::from_info(&self.clock))
    }
    fn console_write(&mut self, tag: u8, bytes: &[u8]) {
        console::send(tag, bytes);
    }
    fn log(&mut self, line: &str) {
        rt::log!("personality: {line}");
        console::send(up::LOG, line.as_bytes());
    }
    fn oom_kill(&mut self) {
        self.oom_kills += 1;
    }
    fn free_memory(&mut self) -> u64 {
        rt::sys_info().map(|s| s.free_frames * 4096).unwrap_or(0)
    }
    fn net(&mut self, req: &sion_abi::net::Request, data: &[u8]) -> Option<(sion_abi::net::Reply, Vec<u8>)> {
        let netstack = (*self.netstack.get_or_insert_with(|| rt::server_lookup("netstack").ok()))?;
        let mut msg = Vec::with_capacity(sion_abi::net::Request::SIZE + data.len());
        msg.extend_from_slice(&req.encode());
        msg.extend_from_slice(data);
        if self.net_reply.is_empty() {
            self.net_reply = alloc::vec![0u8; sion_abi::net::Reply::SIZE + sion_abi::net::MAX_DATA];
        }
        let n = rt::ipc_call(netstack, &msg, &mut self.net_reply).ok()?;
        let reply = sion_abi::net::Reply::decode(&self.net_reply[..n])?;
        Some((reply, self.net_reply[sion_abi::net::Reply::SIZE..n].to_vec()))
    }

    fn space_fork(&mut self) -> Option<u64> {
        match rt::space_clone(self.space) {
            Ok(s) => Some(s.0 as u64),
            Err(e) => {
                rt::log!("personality: space_clone: {e:?}");
                None
            }
        }
    }
    /// A space for an exec, charged to the job's memory account (that of
    /// the selected space: every space of the job shares the first one's,
    /// so `--mem` limits the job as a whole).
    fn space_new(&mut self) -> Option<u64> {
        let s = rt::space_create_like(self.space).ok()?;
        Some(s.0 as u64)
    }
    fn space_drop(&mut self, space: u64) {
        let _ = rt::space_destroy(SpaceId(space as u32));
    }
    fn task_start(&mut self, space: u64, regs: &TaskRegs) -> Option<u64> {
        let t = rt::task_create(SpaceId(space as u32), TaskKind::Linux).ok()?;
        if rt::task_set_regs(t, regs).and_then(|_| rt::task_start(t)).is_err() {
            let _ = rt::task_kill(t);
            return None;
        }
        Some(t.0 as u64)
    }
    fn task_kill(&mut self, task: u64) {
        let _ = rt::task_kill(TaskId(task as u32));
    }
    fn task_hold(&mut self, task: u64, held: bool) {
        if let Err(e) = rt::task_hold(TaskId(task as u32), held) {
            rt::log!("personality: task_hold {task:#x}: {e:?}");
        }
    }
    fn task_interrupt(&mut self, task: u64) -> bool {
        rt::task_interrupt(TaskId(task as u32)).is_ok()
    }
    fn get_fpu(&mut self) -> Option<[u8; sion_linux::signal::FPU_SIZE]> {
        rt::task_get_fpu(self.task?).ok()
    }
    fn set_fpu(&mut self, state: &[u8; sion_linux::signal::FPU_SIZE]) -> bool {
        self.task.is_some_and(|t| rt::task_set_fpu(t, state).is_ok())
    }
    fn select(&mut self, space: u64, task: u64) {
        self.space = SpaceId(space as u32);
        self.task = (task != 0).then_some(TaskId(task as u32));
    }

    fn node_info(&mut self) -> NodeInfo {
        let s = rt::sys_info().unwrap_or_default();
        let t = self.task.and_then(|t| rt::task_info(t).ok()).unwrap_or_default();
        let word = |r: u32| r.to_le_bytes();
        let (_, b, c, d) = rt::cpuid(0);
        let vendor: Vec<u8> = [word(b), word(d), word(c)].concat();
        let mut model = Vec::new();
        if rt::cpuid(0x8000_0000).0 >= 0x8000_0004 {
            for leaf in 0x8000_0002..=0x8000_0004u32 {
                let (a, b, c, d) = rt::cpuid(leaf);
                for r in [a, b, c, d] {
                    model.extend_from_slice(&word(r));
                }
            }
        }
        let clean = |v: Vec<u8>| String::from(String::from_utf8_lossy(&v).trim_matches(|c: char| c == '\0' || c == ' '));
        NodeInfo {
            total_bytes: s.total_frames * 4096,
            free_bytes: s.free_frames * 4096,
            uptime_ns: s.uptime_ns,
            idle_ns: s.idle_ns,
            realtime_ns: self.realtime_ns(),
            tasks: s.tasks,
            cpus: s.cpus.max(1),
            tsc_hz: self.clock.tsc_hz,
            vendor: clean(vendor),
            model: clean(model),
            cpu_ns: t.cpu_ns,
            space_bytes: t.space_bytes,
        }
    }
}

fn finish(exit: Exit) -> ! {
    console::finish(exit)
}

/// The job cannot start: the reason on the job's stderr (the program never
/// ran, so nothing of its own is there) as `sion: ...`, and `code` (126,
/// 127, as a shell's).
fn fail(why: &str, code: u8) -> ! {
    rt::log!("personality: {why}");
    console::send(up::LOG, why.as_bytes());
    console::send(up::STDERR, format!("sion: {why}\n").as_bytes());
    finish(Exit::Code(code))
}

/// The personality server itself failed (a bug, or its heap ran out: more
/// files than the node's memory holds): a node failure with the panic's
/// message, not a program killed by SIGABRT.
fn on_panic(message: &[u8]) {
    // No allocation here: the heap may be what ran out.
    let message = message.strip_prefix(b"server panic: ").unwrap_or(message);
    let mut why = [0u8; 512];
    let prefix = b"the personality server failed: ";
    why[..prefix.len()].copy_from_slice(prefix);
    let mut n = prefix.len();
    let mut space = false;
    for &b in message {
        if n == why.len() {
            break;
        }
        // One line: the newline after Rust's "panicked at FILE:LINE:COL:" becomes a space.
        if b == b'\n' || b == b'\r' || b == b' ' {
            space = n > prefix.len();
            continue;
        }
        if space && n + 1 < why.len() {
            why[n] = b' ';
            n += 1;
        }
        space = false;
        why[n] = b;
        n += 1;
    }
    console::fail(&why[..n])
}

/// Memory kept back from a job with no configured limit, at least (a
/// sixteenth of what is free if that is more).
const JOB_MEMORY_RESERVE: u64 = 16 << 20;

fn main(boot: rt::Boot) -> ! {
    console::init(boot.cmdline);
    rt::set_panic_hook(on_panic);
    let archive = boot.archive;
    let file = |name: &str| Reader::find(archive, name).map(|e| e.data);
    let Some(program) = file(names::JOB_PROGRAM) else { fail("no job/program in the boot archive", 127) };
    let argv = split_nul(file(names::JOB_ARGV).unwrap_or(b""));
    let envp = split_nul(file(names::JOB_ENV).unwrap_or(b""));
    let config = JobConfig::parse(core::str::from_utf8(file(names::JOB_CONFIG).unwrap_or(b"")).unwrap_or(""));
    let inputs: Vec<(String, &[u8], u32)> = Reader::new(archive)
        .filter_map(Result::ok)
        .filter(|e| e.name.starts_with(names::JOB_FILES))
        // The type bits stay: a symbolic link is S_IFLNK with its target as data.
        .map(|e| (format!("/{}", &e.name[names::JOB_FILES.len()..]), e.data, e.mode & 0o177777))
        .collect();
    rt::log!("personality: job of {} bytes, {} args, {} env, {} input files", program.len(), argv.len(), envp.len(), inputs.len());
    let mut tracer = Tracer { mode: config.trace, counts: Vec::new() };
    for u in &config.unknown {
        rt::log!("personality: job/config line not understood: {u}");
    }

    // CSPRNG seed: hardware entropy, the host's seed and the TSC.
    let mut seed = [0u8; 32];
    let got = rt::hw_random(&mut seed).unwrap_or(0);
    if got < 32 {
        rt::log!("personality: only {got} bytes of hardware entropy");
    }
    if let Some(s) = config.seed {
        for (a, b) in seed.iter_mut().zip(s) {
            *a ^= b;
        }
    }
    for (a, b) in seed.iter_mut().zip(rt::rdtsc().to_le_bytes()) {
        *a ^= b;
    }

    let clock = rt::clock_info().unwrap_or_default();
    let space = match rt::space_create() {
        Ok(s) => s,
        Err(e) => fail(&format!("space_create: {e:?}"), 126),
    };
    // One memory limit for the whole job (its processes' spaces share this
    // one's account): the configured one, or what is free now less a
    // reserve, so a job that eats memory fails inside itself and the node's
    // servers keep theirs.
    let free = rt::sys_info().map(|i| i.free_frames * 4096).unwrap_or(0);
    let limit = config.mem_limit.unwrap_or(free.saturating_sub((free / 16).max(JOB_MEMORY_RESERVE)));
    if limit > 0 {
        let _ = rt::space_set_limit(space, limit);
    }
    let mut host = KernelHost { space, task: None, clock, netstack: None, net_reply: Vec::new(), oom_kills: 0, mem_limit: limit };
    let exe: String = config.exe.clone().unwrap_or_else(|| String::from("/job/program"));
    let argv: Vec<Vec<u8>> = if argv.is_empty() { alloc::vec![exe.clone().into_bytes()] } else { argv };
    let spawn = Spawn {
        program,
        argv,
        envp,
        exe,
        uid: config.uid,
        gid: config.gid,
        seed,
        hwcap: rt::cpuid(1).3 as u64,
        stdin_stream: config.stdin_stream,
        memory: boot.info.total_memory,
        files: inputs,
        cwd: config.cwd.clone(),
        shares: config.shares.clone(),
    };
    let (process, regs) = match Process::spawn(&mut host, &spawn) {
        Ok(x) => x,
        // Files past the node's memory: a node failure (125), not the program's.
        Err(why) if why.contains(sion_linux::process::FILES_DO_NOT_FIT) => console::fail(why.as_bytes()),
        Err(why) => fail(&format!("cannot run the program: {why}"), 126),
    };
    let abi = process.abi;
    let Some(task) = host.task_start(space.0 as u64, &regs) else { fail("starting the program failed", 126) };
    rt::log!("personality: started {:?} program, entry {:#x}, sp {:#x}", abi, regs.rip, regs.rsp);
    let mut procs = Procs::new(process, space.0 as u64, task);

    let mut decoder = Decoder::new();
    let mut buf = alloc::vec![0u8; 512];
    let mut armed: u64 = 0;
    let mut input = Vec::new();
    // The console said it holds input (its interrupt, or the console
    // server's notification for offloaded jobs).
    let mut console_notified = false;
    // Stdin flow control: bytes received, and the count of taken bytes last
    // reported to the host.
    let (mut stdin_received, mut stdin_reported) = (0u64, 0u64);
    loop {
        // The console first: stdin for the program.
        input.clear();
        console::read_input(&mut input, core::mem::take(&mut console_notified));
        let mut rest = &input[..];
        let mut stdin_moved = false;
        while !rest.is_empty() {
            let (used, event) = decoder.push_slice(rest);
            rest = &rest[used..];
            match event {
                Event::Frame { tag: down::STDIN, payload } => {
                    stdin_received += payload.len() as u64;
                    procs.job().stdin_data(payload);
                    stdin_moved = true;
                }
                Event::Frame { tag: down::STDIN_EOF, .. } => {
                    procs.job().stdin_eof();
                    stdin_moved = true;
                }
                Event::Frame { tag: down::SIGNAL, payload } => {
                    if let Some(&sig) = payload.first() {
                        procs.signal_from_host(&mut host, sig);
                    }
                }
                Event::Frame { tag: down::FS_DATA, payload } if payload.len() >= 4 => {
                    procs.fs_data(u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]), &payload[4..]);
                }
                Event::Frame { tag: down::FS_END, payload } if payload.len() >= 8 => {
                    let word = |i: usize| [payload[i], payload[i + 1], payload[i + 2], payload[i + 3]];
                    procs.fs_end(&mut host, u32::from_le_bytes(word(0)), i32::from_le_bytes(word(4)));
                }
                Event::Frame { tag, .. } => rt::log!("personality: unknown console frame {tag}"),
                Event::Malformed => rt::log!("personality: malformed console frame"),
                Event::Pending => {}
            }
        }
        if stdin_moved {
            procs.stdin_changed();
        }
        procs.poll(&mut host);
        // Ask the workstation for what calls wait on.
        for r in core::mem::take(&mut procs.fs_out) {
            let req = sion_abi::console::fs::Request { id: r.id, size: r.size, mtime_ns: r.mtime_ns, path: &r.path };
            let mut p = alloc::vec![0u8; req.len()];
            req.encode(&mut p);
            console::send(if r.dir { up::FS_LIST } else { up::FS_READ }, &p);
        }
        if let Some(exit) = procs.ended {
            end_job(&mut procs, &mut host, exit, &config.outs, config.writeback.as_deref(), &mut tracer);
        }
        if console::flow_controlled() {
            // Tell the host what the program took once a quarter of the
            // window has gone, so its sending never stalls on us.
            let taken = stdin_received - procs.job().stdin_buffered() as u64;
            if taken - stdin_reported >= console::STDIN_WINDOW / 4 {
                console::send(up::STDIN_TAKEN, &taken.to_le_bytes());
                stdin_reported = taken;
            }
        }
        let now = host.now_ns();
        let mut next = procs.next_deadline(now);
        if !console::notifies() {
            // The serial console has no interrupt here: look at it now and
            // then, so a forwarded ^C reaches a job that sleeps or computes.
            next = Some(next.map_or(now + SERIAL_POLL_NS, |d| d.min(now + SERIAL_POLL_NS)));
        }
        let want = next.map(|d| d.max(1)).unwrap_or(0);
        if want != armed {
            let _ = rt::timer_set(want);
            armed = want;
        }

        // Answers go out; the last one with the next receive (one kernel
        // entry instead of two per system call).
        let last = procs.answers.pop();
        for a in &procs.answers {
            send_answer(a, &mut tracer, false);
        }
        procs.answers.clear();
        // Output waiting in the console's buffer goes before the server waits.
        console::flush();
        // The next system call comes back in registers (the kernel's fast
        // path), written into `buf` by the runtime.
        let mut answer = last.map(|a| {
            send_answer(&a, &mut tracer, true);
            (TaskId(a.task as u32), reply_of(a.outcome))
        });
        // Quiet calls (getpid, the clocks...) are answered with the next
        // receive at once, without the upkeep above: they changed nothing
        // it looks at (the personality's fast dispatch).
        loop {
            let n = match rt::linux_reply_recv(answer.take(), &mut buf) {
                Ok(rt::Incoming::Syscall { sender, call }) => {
                    // From a task that is not (or no longer) ours: dropped.
                    procs.syscall(&mut host, sender.0 as u64, &call);
                    if let Some(a) = procs.take_quick_answer() {
                        send_answer(&a, &mut tracer, true);
                        answer = Some((TaskId(a.task as u32), reply_of(a.outcome)));
                        continue;
                    }
                    break;
                }
                Ok(rt::Incoming::InBuffer(n)) => n,
                Err(e) => {
                    rt::log!("personality: recv: {e:?}");
                    break;
                }
            };
            let Some(h) = Header::decode(&buf[..n]) else { break };
            let payload = &buf[Header::SIZE..n];
            let sender = h.sender().0 as u64;
            match h.kind() {
                Some(Kind::LinuxSyscall) if procs.pid_of(sender).is_some() => {
                    if let Some(sc) = LinuxSyscall::decode(payload) {
                        procs.syscall(&mut host, sender, &sc);
                    }
                }
                Some(Kind::Fault) if procs.pid_of(sender).is_some() => {
                    if let Some(f) = Fault::decode(payload) {
                        procs.fault(&mut host, sender, &f);
                    }
                }
                Some(Kind::Notification) => {
                    let bits = payload.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).unwrap_or(0);
                    if bits & NOTIFY_TIMER != 0 {
                        armed = 0;
                    }
                    if bits & sion_abi::net::NOTIFY_NET != 0 {
                        procs.net_changed();
                    }
                    if bits & sion_abi::console::ipc::NOTIFY_CONSOLE != 0 {
                        console_notified = true;
                    }
                }
                Some(Kind::Native) => {
                    // Nobody calls the personality yet: answer empty so the caller goes on.
                    let _ = rt::ipc_reply(h.sender(), &[]);
                }
                _ => rt::log!("personality: unexpected message kind {} from {}", h.kind, h.sender),
            }
            break;
        }
    }
}

fn reply_of(o: Outcome) -> LinuxReply {
    match o {
        Outcome::KeepRegs => LinuxReply { flags: reply_flags::KEEP_REGS, rax: 0 },
        Outcome::Reply(rax) => LinuxReply { flags: 0, rax },
        // Never answered (the table keeps these).
        Outcome::Blocked | Outcome::Exit(_) => LinuxReply { flags: 0, rax: 0 },
    }
}

/// What the job asked to know of its system calls (`job/config`'s `trace`).
struct Tracer {
    mode: Trace,
    /// With `trace=counts`: (ABI, number) -> (calls, ENOSYS answers), sorted.
    counts: Vec<((Abi, u64), (u64, u64))>,
}

impl Tracer {
    fn note(&mut self, abi: Abi, nr: u64, o: Outcome) {
        match self.mode {
            Trace::Off => {}
            Trace::Calls => trace(abi, nr, o),
            Trace::Counts => {
                let key = (abi, nr);
                let i = match self.counts.binary_search_by_key(&key, |e| e.0) {
                    Ok(i) => i,
                    Err(i) => {
                        self.counts.insert(i, (key, (0, 0)));
                        i
                    }
                };
                let c = &mut self.counts[i].1;
                c.0 += 1;
                c.1 += matches!(o, Outcome::Reply(r) if r == sion_linux::errno::Errno::ENOSYS.as_ret()) as u64;
            }
        }
    }

    /// The counts, one `up::TRACE` line per distinct call: `ABI NR NAME calls=N enosys=M`.
    fn send_counts(&self) {
        for &((abi, nr), (calls, enosys)) in &self.counts {
            let name = sion_linux::syscalls::name_of(abi, nr).unwrap_or("unknown");
            console::send(up::TRACE, format!("{} {nr} {name} calls={calls} enosys={enosys}", abi_name(abi)).as_bytes());
        }
    }
}

fn abi_name(abi: Abi) -> &'static str {
    match abi {
        Abi::X86_64 => "x86_64",
        Abi::I386 => "i386",
    }
}

/// Trace an answer (`trace=1` or `counts`) and, unless the loop sends it
/// with its receive, send it.
fn send_answer(a: &Answer, tracer: &mut Tracer, deferred: bool) {
    if a.call.1 != u64::MAX {
        tracer.note(a.call.0, a.call.1, a.outcome);
    }
    if !deferred {
        if let Err(e) = rt::ipc_reply(TaskId(a.task as u32), &reply_of(a.outcome).encode()) {
            rt::log!("personality: reply to {:#x}: {e:?}", a.task);
        }
    }
}

/// One `up::TRACE` line: `ABI NR NAME = RESULT` (see `sion_abi::console::up::TRACE`).
fn trace(abi: Abi, nr: u64, o: Outcome) {
    let name = sion_linux::syscalls::name_of(abi, nr).unwrap_or("unknown");
    let abi = abi_name(abi);
    let result = match o {
        Outcome::Reply(rax) if (rax as i64) < 0 && (rax as i64) >= -4095 => {
            let e = sion_linux::errno::Errno(-(rax as i64) as i32);
            format!("-{} {}", e.0, e.name())
        }
        Outcome::Reply(rax) if rax < 0x10000 => format!("{rax}"),
        Outcome::Reply(rax) => format!("{rax:#x}"),
        Outcome::KeepRegs => String::from("regs"),
        Outcome::Blocked => String::from("blocked"),
        Outcome::Exit(_) => String::from("exit"),
    };
    console::send(up::TRACE, format!("{abi} {nr} {name} = {result}").as_bytes());
}

/// The `--out` files, before EXIT (see `sion_abi::console::up::OUT_DIR`).
/// What the job made or changed under its shared working directory.
fn send_write_back(process: &Process, dir: &str) {
    for item in process.collect_write_back(dir) {
        match item {
            WriteBack::Dir { path, mode } => {
                let mut v = mode.to_le_bytes().to_vec();
                v.extend_from_slice(&path);
                console::send(up::WB_DIR, &v);
            }
            WriteBack::File { path, mode, origin, data } => {
                let mut v = mode.to_le_bytes().to_vec();
                v.push(origin.is_some() as u8);
                let (size, mtime) = origin.unwrap_or((0, 0));
                v.extend_from_slice(&size.to_le_bytes());
                v.extend_from_slice(&mtime.to_le_bytes());
                v.extend_from_slice(&path);
                console::send(up::WB_FILE, &v);
                for chunk in data.chunks(sion_abi::console::MAX_PAYLOAD) {
                    console::send(up::OUT_DATA, chunk);
                }
            }
        }
    }
}

fn send_outs(process: &Process, outs: &[String]) {
    for path in outs {
        for item in process.collect_out(path) {
            let head = |mode: u32, p: &[u8]| -> Vec<u8> {
                let mut v = mode.to_le_bytes().to_vec();
                v.extend_from_slice(p);
                v
            };
            match item {
                OutItem::Dir { path, mode } => console::send(up::OUT_DIR, &head(mode, &path)),
                OutItem::File { path, mode, data } => {
                    console::send(up::OUT_FILE, &head(mode, &path));
                    for chunk in data.chunks(sion_abi::console::MAX_PAYLOAD) {
                        console::send(up::OUT_DATA, chunk);
                    }
                }
                OutItem::Symlink { path, target } => {
                    let mut v = path;
                    v.push(0);
                    v.extend_from_slice(&target);
                    console::send(up::OUT_SYMLINK, &v);
                }
                OutItem::Missing { path } => console::send(up::OUT_MISSING, &path),
            }
        }
    }
}

/// The job's first process ended: report, send the `--out` files, stop.
fn end_job(procs: &mut Procs, host: &mut KernelHost, exit: Exit, outs: &[String], writeback: Option<&str>, tracer: &mut Tracer) -> ! {
    // The call that ended the job is never answered: traced here.
    if let (Some(p), Exit::Code(_)) = (procs.finished(), exit) {
        let call = p.last_call();
        let abi = Abi::from_wire(call.abi());
        if matches!(sion_linux::syscalls::name_of(abi, call.nr), Some("exit" | "exit_group")) {
            tracer.note(abi, call.nr, Outcome::Exit(exit));
        }
    }
    tracer.send_counts();
    if let Some(p) = procs.finished() {
        p.report_unimplemented(host);
        send_outs(p, outs);
        if let Some(dir) = writeback {
            send_write_back(p, dir);
        }
    }
    if exit == Exit::Signal(9) && host.oom_kills > 0 {
        // The host says so on its stderr, as Linux's OOM killer logs it.
        console::send(up::OOM_KILLED, &host.mem_limit.to_le_bytes());
    }
    finish(exit)
}
