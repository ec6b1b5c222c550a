//! What the Linux logic needs from the machine: the memory and registers of
//! the process's task, clocks, and the job console. The personality server
//! implements it with kernel calls; [`crate::sim::SimHost`] simulates it for tests.

use sion_abi::regs::TaskRegs;

/// Why a `mem_map` failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapError {
    /// A page in the range is already mapped.
    Exists,
    /// Out of memory (frames or the space's limit).
    NoMemory,
    /// Anything else (a bug: bad alignment or address).
    Other,
}

/// Figures of the node and of the process's task, for /proc and sysinfo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeInfo {
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub uptime_ns: u64,
    pub idle_ns: u64,
    pub realtime_ns: u64,
    pub tasks: u64,
    pub cpus: u64,
    pub tsc_hz: u64,
    pub vendor: alloc::string::String,
    pub model: alloc::string::String,
    /// CPU time and mapped bytes of the process's task.
    pub cpu_ns: u64,
    pub space_bytes: u64,
}

/// The machine as one process sees it.
pub trait Host {
    /// Back `[addr, addr+len)` (page aligned) with zeroed pages of protection `prot`.
    fn mem_map(&mut self, addr: u64, len: u64, prot: u64) -> Result<(), MapError>;
    /// Unmap; holes are fine.
    fn mem_unmap(&mut self, addr: u64, len: u64);
    /// Change the protection of the mapped pages in the range; holes are fine.
    fn mem_protect(&mut self, addr: u64, len: u64, prot: u64);
    /// Copy from the process; stops at the first page not mapped user-readable
    /// and returns the count copied.
    fn mem_read(&mut self, addr: u64, buf: &mut [u8]) -> usize;
    /// Copy into the process; stops at the first page not mapped user-writable.
    fn mem_write(&mut self, addr: u64, data: &[u8]) -> usize;
    /// Compare-and-exchange the aligned word at `addr`, atomically against
    /// the process's threads on other CPUs: the old word, `None` when the
    /// page is not mapped user-writable.
    fn mem_cmpxchg32(&mut self, addr: u64, expected: u32, new: u32) -> Option<u32>;
    /// The process's address space, as the kernel names it (for
    /// `mem_share_from` by another process of the job).
    fn space(&self) -> u64;
    /// Map at `addr` the frames space `from_space` maps shared at
    /// `from_addr` (a MAP_SHARED mapping of the same file in another
    /// process); false if the kernel refused (that space or mapping is gone).
    fn mem_share_from(&mut self, from_space: u64, from_addr: u64, addr: u64, len: u64, prot: u64) -> bool;
    /// System V shared memory: a new, empty space of the job (charged to
    /// its memory account) that holds every segment's pages
    /// (`crate::sysv::Pool`); `None` when there is none (the simulation:
    /// shmget is ENOMEM there).
    fn shm_space(&mut self) -> Option<u64> {
        None
    }
    /// Back `[addr, addr+len)` of that space with zeroed shared pages, read-write.
    fn shm_map(&mut self, _space: u64, _addr: u64, _len: u64) -> bool {
        false
    }
    /// Unmap `[addr, addr+len)` of that space (a segment is gone).
    fn shm_unmap(&mut self, _space: u64, _addr: u64, _len: u64) {}
    /// The registers of the (blocked) task; `None` if the kernel refused.
    fn get_regs(&mut self) -> Option<TaskRegs>;
    fn set_regs(&mut self, regs: &TaskRegs) -> bool;
    /// Monotonic nanoseconds since boot.
    fn now_ns(&mut self) -> u64;
    /// Nanoseconds since the Unix epoch.
    fn realtime_ns(&mut self) -> u64;
    /// CPU time used by the process.
    fn cpu_ns(&mut self) -> u64;
    /// The clock the vDSO's data page carries, the one `now_ns` and
    /// `realtime_ns` read (`None`: programs get no vDSO and make the calls).
    fn vdso_clock(&mut self) -> Option<crate::vdso::Clock> {
        None
    }
    /// Bytes for the host: `tag` is a `sion_abi::console::up` value; the
    /// implementation splits them into frames of at most `MAX_PAYLOAD`.
    fn console_write(&mut self, tag: u8, bytes: &[u8]);
    /// A log line (kernel log and an `up::LOG` frame).
    fn log(&mut self, line: &str);
    /// A process of the job is killed because it could not get a page (as
    /// by Linux's OOM killer); the server tells the host when the job ends.
    fn oom_kill(&mut self) {}
    /// Bytes of free memory on the node (file data lives in the server's heap).
    fn free_memory(&mut self) -> u64 {
        self.node_info().free_bytes
    }
    /// One request to the netstack server (`sion_abi::net`): its reply and
    /// data, or `None` when the node has no network.
    fn net(&mut self, _req: &sion_abi::net::Request, _data: &[u8]) -> Option<(sion_abi::net::Reply, alloc::vec::Vec<u8>)> {
        None
    }
    // Processes. Spaces and tasks are opaque handles; the calls above act on
    // the space and task last given to `select`.

    /// A copy-on-write copy of the selected space (fork).
    fn space_fork(&mut self) -> Option<u64> {
        None
    }
    /// A new, empty space (execve).
    fn space_new(&mut self) -> Option<u64> {
        None
    }
    fn space_drop(&mut self, _space: u64) {}
    /// A running task in `space` with these registers.
    fn task_start(&mut self, _space: u64, _regs: &TaskRegs) -> Option<u64> {
        None
    }
    fn task_kill(&mut self, _task: u64) {}
    /// Hold a task off the CPU (a stopped process), or release it.
    fn task_hold(&mut self, _task: u64, _held: bool) {}
    /// Stop a runnable task where it computes: the server then hears of it
    /// as a fault with vector `VECTOR_INTERRUPT` (a signal for a thread
    /// making no calls). False when it is not runnable (in a call, held).
    fn task_interrupt(&mut self, _task: u64) -> bool {
        false
    }
    /// The selected task's FPU state (FXSAVE image), for a signal frame.
    fn get_fpu(&mut self) -> Option<[u8; crate::signal::FPU_SIZE]> {
        None
    }
    fn set_fpu(&mut self, _state: &[u8; crate::signal::FPU_SIZE]) -> bool {
        false
    }
    /// Make `space` and `task` (0: none) the ones memory and register calls act on.
    fn select(&mut self, _space: u64, _task: u64) {}
    /// Figures of the node (the simulation reports a small fixed machine).
    fn node_info(&mut self) -> NodeInfo {
        NodeInfo { total_bytes: 256 << 20, free_bytes: 200 << 20, uptime_ns: self.now_ns(), realtime_ns: self.realtime_ns(), cpus: 1, tasks: 2, cpu_ns: self.cpu_ns(), ..Default::default() }
    }
}
