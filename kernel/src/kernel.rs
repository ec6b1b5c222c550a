//! The kernel's state and its scheduler. IPC is in ipc.rs, kernel calls in
//! kcall.rs, trap routing in trap.rs; all are methods on [`Kernel`].

use crate::cpu::{self, FpuState};
use crate::gdt;
use crate::mem::Frames;
use crate::paging::{self, KernelTables};
use crate::percpu;
use crate::smp::MAX_CPUS;
use crate::task::{Account, Outgoing, Space, State, Task, MAX_SPACES, MAX_TASKS, NONE};
use crate::time::Clock;
use core::sync::atomic::Ordering;
use sion_abi::{SpaceId, TaskId};
use sion_kerncore::runqueue::RunQueue;

/// Length of a time slice when other tasks wait.
pub const SLICE_NS: u64 = 10_000_000;

/// What the CPU's FS/GS selectors, bases and TLS descriptors hold now.
#[derive(Clone, Copy)]
pub struct HwSegments {
    pub fs_sel: u16,
    pub gs_sel: u16,
    pub fs_base: u64,
    pub gs_base: u64,
    /// The bases are those of the last 64-bit task (a compat task's come
    /// from its descriptors).
    pub bases_known: bool,
    pub tls: [u64; sion_abi::regs::TLS_SLOTS],
}

/// One CPU's part of the kernel state (`Kernel::cpus`, indexed by
/// `percpu::index`): what runs on it and what its registers hold. Under the
/// kernel lock like the rest; another CPU reads it to choose whom to wake,
/// and writes only `kicked` and `fpu_owner` (see `Kernel::kick`, `fpu_switch`).
pub struct CpuState {
    /// The task whose state is on the CPU (valid when `has_current`).
    pub current: usize,
    pub has_current: bool,
    pub slice_start: u64,
    pub run_start: u64,
    pub preempt: bool,
    /// The task whose FPU/SSE state is in the registers. Switching sets CR0.TS
    /// when another task runs; its first FPU instruction traps (#NM) and the
    /// state moves then (servers, soft-float, never pay for it).
    pub fpu_owner: Option<usize>,
    pub ts_set: bool,
    /// The thread-pointer state the CPU holds now, to skip reloading it.
    pub hw: HwSegments,
    /// Time spent halted in the idle loop (TSC ticks).
    pub idle_tsc: u64,
    /// It has nothing to run and halts, the lock given up (since `idle_since`).
    pub idle: bool,
    pub idle_since: u64,
    /// An IPI was sent to it since it last took the lock (one is enough).
    pub kicked: bool,
    /// Its timer is armed for the end of its slice (others wait for a CPU).
    pub slice_timer: bool,
    /// The TSC deadline its one-shot LAPIC timer is armed for (0 = stopped).
    pub timer_armed: u64,
    /// The I/O ports open in its TSS bitmap (for the task it runs).
    pub io_open: Option<(u16, u16)>,
}

impl CpuState {
    pub const EMPTY: CpuState = CpuState {
        current: 0,
        has_current: false,
        slice_start: 0,
        run_start: 0,
        preempt: false,
        fpu_owner: None,
        ts_set: false,
        hw: HwSegments { fs_sel: 0, gs_sel: 0, fs_base: 0, gs_base: 0, bases_known: false, tls: [0; sion_abi::regs::TLS_SLOTS] },
        idle_tsc: 0,
        idle: false,
        idle_since: 0,
        kicked: false,
        slice_timer: false,
        timer_armed: 0,
        io_open: None,
    };
}

/// The running CPU's entry of `cpus` (`Kernel::cpus`): a borrow of that
/// field alone, so the rest of the kernel state stays usable beside it.
#[inline(always)]
pub fn this_cpu(cpus: &mut [CpuState; MAX_CPUS]) -> &mut CpuState {
    let off = percpu::state_offset();
    // SAFETY: `off` is the running CPU's index times the element size, the
    // index below MAX_CPUS (percpu::init): an element of `cpus`, borrowed
    // through `cpus` for as long as it is.
    unsafe { &mut *cpus.as_mut_ptr().byte_add(off) }
}

#[inline(always)]
pub fn this_cpu_ref(cpus: &[CpuState; MAX_CPUS]) -> &CpuState {
    let off = percpu::state_offset();
    // SAFETY: as `this_cpu`.
    unsafe { &*cpus.as_ptr().byte_add(off) }
}

/// A boot server's name, for `server_lookup`.
#[derive(Clone, Copy)]
pub struct ServerName {
    pub name: [u8; 32],
    pub len: usize,
    pub task: u32,
}

pub struct Kernel {
    pub frames: Frames,
    pub tables: KernelTables,
    pub clock: Clock,
    pub tasks: [Task; MAX_TASKS],
    pub spaces: [Space; MAX_SPACES],
    /// Memory accounts (at most one per space).
    pub accounts: [Account; MAX_SPACES],
    pub runq: RunQueue<MAX_TASKS>,
    /// Each CPU's own state (see [`CpuState`]).
    pub cpus: [CpuState; MAX_CPUS],
    pub clean_fpu: FpuState,
    /// Length of a time slice in TSC ticks.
    pub slice_tsc: u64,
    pub hw_rng: (bool, bool),
    /// Who receives each device interrupt line: (task id, notification bits).
    pub irq_bindings: [Option<(u32, u64)>; crate::ioapic::MAX_GSI as usize],
    /// The earliest task timer deadline (TSC), or a lower bound of it; 0 = none.
    pub next_timer: u64,
    pub servers: [Option<ServerName>; 8],
    /// The CPUs that run tasks (bit n = CPU n): the boot CPU, and each AP
    /// once it has joined (`cpu_joins`).
    pub active_cpus: u32,
    /// Tasks not free (`sys_info`'s count, kept so no call scans the table).
    pub live_tasks: u64,
    /// One past the highest task and space slots ever taken: the tables
    /// hold 4,096 of each, and slots are taken lowest first, so the scans
    /// (a task's death, a space's, the timers) stop here, not at the end.
    pub task_high: usize,
    pub space_high: usize,
}

impl Kernel {
    pub const fn new() -> Self {
        Kernel {
            frames: Frames::empty(),
            tables: KernelTables { pml4: 0 },
            clock: Clock::empty(),
            tasks: [Task::EMPTY; MAX_TASKS],
            spaces: [Space::EMPTY; MAX_SPACES],
            accounts: [Account::EMPTY; MAX_SPACES],
            runq: RunQueue::new(),
            cpus: [CpuState::EMPTY; MAX_CPUS],
            clean_fpu: FpuState::zeroed(),
            slice_tsc: 0,
            hw_rng: (false, false),
            irq_bindings: [None; crate::ioapic::MAX_GSI as usize],
            next_timer: 0,
            servers: [None; 8],
            active_cpus: 0,
            live_tasks: 0,
            task_high: 0,
            space_high: 0,
        }
    }

    /// The running CPU's state.
    #[inline(always)]
    pub fn cpu(&mut self) -> &mut CpuState {
        this_cpu(&mut self.cpus)
    }

    #[inline(always)]
    pub fn cpu_ref(&self) -> &CpuState {
        this_cpu_ref(&self.cpus)
    }

    /// Is `slot` the task this CPU runs?
    #[inline(always)]
    pub fn is_current(&self, slot: usize) -> bool {
        let c = self.cpu_ref();
        c.has_current && c.current == slot
    }

    /// Idle time of all CPUs (TSC ticks).
    pub fn idle_tsc(&self) -> u64 {
        self.cpus.iter().map(|c| c.idle_tsc).sum()
    }

    /// Arm this CPU's one-shot timer for `deadline` (or stop it).
    #[inline(always)]
    pub fn arm_timer(&mut self, deadline: Option<u64>) {
        self.clock.arm(&mut this_cpu(&mut self.cpus).timer_armed, deadline);
    }

    pub fn task_id(&self, slot: usize) -> TaskId {
        TaskId::new(slot as u16, self.tasks[slot].generation)
    }

    pub fn space_id(&self, slot: usize) -> SpaceId {
        SpaceId::new(slot as u16, self.spaces[slot].generation)
    }

    /// The slot of a live task named by `id`.
    pub fn task_slot(&self, id: u64) -> Option<usize> {
        let id = TaskId(id as u32);
        let s = id.index();
        (s < MAX_TASKS && self.tasks[s].state != State::Free && self.tasks[s].generation == id.generation()).then_some(s)
    }

    pub fn space_slot(&self, id: u64) -> Option<usize> {
        let id = SpaceId(id as u32);
        let s = id.index();
        (s < MAX_SPACES && self.spaces[s].in_use && self.spaces[s].generation == id.generation()).then_some(s)
    }

    pub fn alloc_task(&mut self) -> Option<usize> {
        // Not a slot some CPU still has as its current task (a task killed
        // while it ran there: that CPU's next entry saves into its frame).
        let slot = (0..MAX_TASKS).find(|&s| self.tasks[s].state == State::Free && self.tasks[s].on_cpu == crate::task::NO_CPU)?;
        let t = &mut self.tasks[slot];
        // A new generation on every reuse makes ids of dead tasks stale (and no id is 0).
        let generation = t.generation.wrapping_add(1).max(1);
        *t = Task::EMPTY;
        t.generation = generation;
        t.fpu = self.clean_fpu;
        t.state = State::Stopped;
        self.live_tasks += 1;
        self.task_high = self.task_high.max(slot + 1);
        Some(slot)
    }

    pub fn alloc_space(&mut self, owner: u16) -> Option<usize> {
        let slot = (0..MAX_SPACES).find(|&s| !self.spaces[s].in_use)?;
        self.space_high = self.space_high.max(slot + 1);
        // As many accounts as spaces, each live space holding one: one is free.
        let account = (0..MAX_SPACES).find(|&a| self.accounts[a].refs == 0)?;
        let pml4 = paging::new_space(&mut self.frames, &self.tables)?;
        self.accounts[account] = Account { pages: 0, limit_pages: u64::MAX, refs: 1 };
        let s = &mut self.spaces[slot];
        s.generation = s.generation.wrapping_add(1).max(1);
        s.in_use = true;
        s.pml4 = pml4;
        s.owner = owner;
        s.pages = 0;
        s.account = account as u16;
        Some(slot)
    }

    /// Charge space `s` with `pages` more pages to its account's limit now
    /// (false, charging nothing, if they do not fit).
    pub fn charge(&mut self, s: usize, pages: u64) -> bool {
        let a = &mut self.accounts[self.spaces[s].account as usize];
        if a.pages.saturating_add(pages) > a.limit_pages {
            return false;
        }
        a.pages += pages;
        self.spaces[s].pages += pages;
        true
    }

    pub fn uncharge(&mut self, s: usize, pages: u64) {
        let a = &mut self.accounts[self.spaces[s].account as usize];
        a.pages = a.pages.saturating_sub(pages);
        self.spaces[s].pages = self.spaces[s].pages.saturating_sub(pages);
    }

    /// An account pays for the frames its spaces brought into being, once
    /// however many of its spaces map them (copy-on-write clones share
    /// them): charge `pages` new frames of space `s` to its account alone
    /// (false, charging nothing, if they do not fit).
    pub fn charge_frames(&mut self, s: usize, pages: u64) -> bool {
        let a = &mut self.accounts[self.spaces[s].account as usize];
        if a.pages.saturating_add(pages) > a.limit_pages {
            return false;
        }
        a.pages += pages;
        true
    }

    /// Space `s` freed `pages` frames: its account is paid back.
    pub fn uncharge_frames(&mut self, s: usize, pages: u64) {
        let a = &mut self.accounts[self.spaces[s].account as usize];
        a.pages = a.pages.saturating_sub(pages);
    }

    /// Charge space `s` to the account of space `like` from now on (it has
    /// no pages yet).
    pub fn share_account(&mut self, s: usize, like: usize) {
        let own = self.spaces[s].account as usize;
        self.accounts[own].refs -= 1;
        let shared = self.spaces[like].account;
        self.accounts[shared as usize].refs += 1;
        self.spaces[s].account = shared;
    }

    pub fn make_runnable(&mut self, slot: usize) {
        self.tasks[slot].state = State::Runnable;
        // A task some CPU has as its current one runs there already.
        if !self.tasks[slot].held && self.tasks[slot].on_cpu == crate::task::NO_CPU {
            self.ready(slot);
        }
    }

    /// Queue a runnable task. Other CPUs hear of it when this entry ends
    /// (`share_queued`), if this CPU has not taken it by then.
    pub fn ready(&mut self, slot: usize) {
        self.runq.push(slot);
    }

    /// At the end of an entry, tasks still queued get CPUs: idle ones are
    /// woken, one per task; when none is idle, busy ones not armed to end
    /// their slice are told to. Waiting until the end keeps a task woken
    /// by a call that then blocks (a server's reply and receive) on this
    /// CPU, with no IPI and no migration.
    fn share_queued(&mut self) {
        let me = percpu::index();
        let mut queued = self.runq.len();
        let mut idle_left = false;
        for c in 0..MAX_CPUS {
            if queued == 0 {
                return;
            }
            let cs = &self.cpus[c];
            if c != me && self.active_cpus & (1 << c) != 0 && cs.idle {
                if !cs.kicked {
                    self.kick(c);
                }
                queued -= 1;
                idle_left = true;
            }
        }
        if idle_left && queued == 0 {
            return;
        }
        for c in 0..MAX_CPUS {
            let cs = &self.cpus[c];
            if c != me && self.active_cpus & (1 << c) != 0 && cs.has_current && !cs.slice_timer && !cs.kicked {
                self.kick(c);
            }
        }
    }

    /// Interrupt CPU `c` (not this one) so that it takes the lock and
    /// looks at its state: a task to run, its current task killed, held or
    /// to interrupt, its slice to arm.
    pub fn kick(&mut self, c: usize) {
        if c != percpu::index() {
            self.cpus[c].kicked = true;
            crate::smp::send_ipi_to(c);
        }
    }

    /// This CPU starts running tasks (the boot CPU at start, an AP when it
    /// first takes the lock).
    pub fn cpu_joins(&mut self) {
        self.active_cpus |= 1 << percpu::index();
    }


    /// Destroy a task: take it out of every queue, fail its waiting senders,
    /// and free its slot (a new generation makes old ids stale).
    pub fn kill(&mut self, slot: usize) {
        match self.tasks[slot].state {
            State::Free => return,
            State::Runnable => self.runq.remove(slot),
            State::Send { to } => self.unqueue(to as usize, slot),
            _ => {}
        }
        self.tasks[slot].state = State::Free;
        self.live_tasks = self.live_tasks.saturating_sub(1);
        // Whoever waits on this task cannot be answered any more.
        for s in 0..self.task_high {
            let waits = match self.tasks[s].state {
                State::Send { to } => to as usize == slot,
                State::Reply { from } => from as usize == slot,
                _ => false,
            };
            if waits {
                self.fail_waiter(s);
            }
        }
        // Tasks it handled lose their handler: they go too.
        for s in 0..self.task_high {
            if self.tasks[s].state != State::Free && self.tasks[s].handler as usize == slot && s != slot {
                self.kill(s);
            }
        }
        let t = &mut self.tasks[slot];
        t.queue_head = NONE;
        t.queue_tail = NONE;
        t.timer_deadline = 0;
        // Spaces it owned go with it (a personality's program spaces, a
        // server's own space once nothing runs in it).
        for sp in 0..self.space_high {
            if self.spaces[sp].in_use && self.spaces[sp].owner as usize == slot {
                let empty = !self.tasks[..self.task_high].iter().any(|t| t.state != State::Free && t.space as usize == sp);
                if sp != self.tasks[slot].space as usize || empty {
                    self.destroy_space(sp);
                }
            }
        }
        // Its FPU state, wherever it is held lazily, is of no use any more.
        for c in &mut self.cpus {
            if c.fpu_owner == Some(slot) {
                c.fpu_owner = None;
            }
        }
        if self.is_current(slot) {
            self.cpu().has_current = false;
            self.tasks[slot].on_cpu = crate::task::NO_CPU;
        } else if let Some(c) = self.tasks[slot].cpu() {
            // It runs on another CPU: that one leaves it at the IPI (its
            // slot stays reserved until then).
            self.kick(c);
        }
    }

    /// A write fault at `va` of space `s`: `None` if the page is not
    /// copy-on-write, else whether it got its own copy (`unshare_page`).
    pub fn cow_write(&mut self, s: usize, va: u64) -> Option<bool> {
        use sion_kerncore::paging::pte;
        let e = *crate::paging::leaf(self.spaces[s].pml4, va, None)?;
        if e & pte::PRESENT == 0 || e & pte::COW == 0 {
            return None;
        }
        Some(self.unshare_page(s, va))
    }

    /// If the page at `va` of space `s` is copy-on-write, make it the space's
    /// own and writable: the last sharer keeps the frame, others get a copy.
    /// `false` if it is not copy-on-write or no frame could be had.
    pub fn unshare_page(&mut self, s: usize, va: u64) -> bool {
        use sion_kerncore::paging::pte;
        let pml4 = self.spaces[s].pml4;
        let Some(e) = crate::paging::leaf(pml4, va, None) else { return false };
        if *e & pte::PRESENT == 0 || *e & pte::COW == 0 {
            return false;
        }
        let old = *e & pte::ADDR_MASK;
        let flags = (*e & !(pte::ADDR_MASK | pte::COW)) | pte::WRITABLE;
        if self.frames.refs(old) <= 1 {
            *e = old | flags;
        } else {
            // The copy is a new frame for the space's account.
            if !self.charge_frames(s, 1) {
                return false;
            }
            let Some(new) = self.frames.alloc() else {
                self.uncharge_frames(s, 1);
                return false;
            };
            crate::mem::frame_bytes(new).copy_from_slice(crate::mem::frame_bytes(old));
            self.frames.release(old);
            *e = new | flags;
        }
        crate::paging::flush(pml4, va & !0xfff);
        self.shootdown(s, false);
        true
    }

    /// Space `s`'s mappings lost pages or rights: every other CPU that has
    /// its tables loaded drops its TLB entries (with `leave`, the space
    /// dies and they move to the kernel's tables) before this returns, so a
    /// frame the space lost is never reached through a stale entry. The
    /// caller has flushed this CPU's own entries.
    pub fn shootdown(&mut self, s: usize, leave: bool) {
        if !crate::lock::enabled() {
            return;
        }
        let pml4 = self.spaces[s].pml4;
        let me = percpu::index();
        let mut asked = 0u32;
        for c in 0..MAX_CPUS {
            if c != me && self.active_cpus & (1 << c) != 0 && percpu::of(c).loaded_pml4.load(Ordering::Acquire) == pml4 {
                percpu::request_shootdown(c, pml4, leave);
                crate::smp::send_ipi_to(c);
                asked |= 1 << c;
            }
        }
        for c in 0..MAX_CPUS {
            if asked & (1 << c) != 0 {
                while !percpu::shootdown_done(c) {
                    core::hint::spin_loop();
                }
            }
        }
    }

    /// Wait until CPU `c` has taken an IPI: it acknowledges in the handler,
    /// before it waits for the kernel lock this CPU holds, so whatever user
    /// code it ran is interrupted when this returns. (A shootdown request
    /// naming no space: served as one, nothing flushed.)
    pub fn sync_with(&mut self, c: usize) {
        if !crate::lock::enabled() || c == percpu::index() {
            return;
        }
        percpu::request_shootdown(c, percpu::SHOOTDOWN_PING, false);
        crate::smp::send_ipi_to(c);
        while !percpu::shootdown_done(c) {
            core::hint::spin_loop();
        }
    }

    /// Kill every task of space `s` and free its frames and tables.
    pub fn destroy_space(&mut self, s: usize) {
        for t in 0..self.task_high {
            if self.tasks[t].state != State::Free && self.tasks[t].space as usize == s {
                self.kill(t);
            }
        }
        if !self.spaces[s].in_use {
            return; // a task's death took it already
        }
        // Run on the kernel's own tables until the next switch loads a
        // space, here and on every CPU that has it loaded.
        if percpu::this().loaded_pml4.load(Ordering::Relaxed) == self.spaces[s].pml4 {
            percpu::load_space(0);
        }
        self.shootdown(s, true);
        let freed = crate::paging::destroy_space(&mut self.frames, self.spaces[s].pml4);
        self.uncharge_frames(s, freed);
        self.spaces[s].pages = 0;
        self.accounts[self.spaces[s].account as usize].refs -= 1;
        self.spaces[s].in_use = false;
    }

    fn fail_waiter(&mut self, s: usize) {
        if let State::Send { to } = self.tasks[s].state {
            self.unqueue(to as usize, s);
        }
        match self.tasks[s].kind {
            sion_abi::call::TaskKind::Native => {
                self.tasks[s].outgoing = Outgoing::None;
                self.tasks[s].frame.rax = sion_abi::call::Error::NoSuchObject.as_ret();
                self.make_runnable(s);
            }
            sion_abi::call::TaskKind::Linux => self.kill(s),
        }
    }

    pub fn enqueue(&mut self, server: usize, sender: usize) {
        self.tasks[sender].next_in_queue = NONE;
        let tail = self.tasks[server].queue_tail;
        if tail == NONE {
            self.tasks[server].queue_head = sender as u16;
        } else {
            self.tasks[tail as usize].next_in_queue = sender as u16;
        }
        self.tasks[server].queue_tail = sender as u16;
    }

    pub fn dequeue(&mut self, server: usize) -> Option<usize> {
        let head = self.tasks[server].queue_head;
        if head == NONE {
            return None;
        }
        let next = self.tasks[head as usize].next_in_queue;
        self.tasks[server].queue_head = next;
        if next == NONE {
            self.tasks[server].queue_tail = NONE;
        }
        Some(head as usize)
    }

    /// Put a sender back at the front (its delivery failed on the receiver's side).
    pub fn requeue_front(&mut self, server: usize, sender: usize) {
        self.tasks[sender].next_in_queue = self.tasks[server].queue_head;
        if self.tasks[server].queue_tail == NONE {
            self.tasks[server].queue_tail = sender as u16;
        }
        self.tasks[server].queue_head = sender as u16;
    }

    fn unqueue(&mut self, server: usize, sender: usize) {
        let mut prev = NONE;
        let mut at = self.tasks[server].queue_head;
        while at != NONE {
            let next = self.tasks[at as usize].next_in_queue;
            if at as usize == sender {
                if prev == NONE {
                    self.tasks[server].queue_head = next;
                } else {
                    self.tasks[prev as usize].next_in_queue = next;
                }
                if self.tasks[server].queue_tail == at {
                    self.tasks[server].queue_tail = prev;
                }
                return;
            }
            prev = at;
            at = next;
        }
    }

    /// A task's timer was set: keep `next_timer` a lower bound of all deadlines.
    pub fn timer_set(&mut self, slot: usize, deadline_tsc: u64) {
        self.tasks[slot].timer_deadline = deadline_tsc;
        if deadline_tsc != 0 && (self.next_timer == 0 || deadline_tsc < self.next_timer) {
            self.next_timer = deadline_tsc;
        }
    }

    /// Raise expired task timers. The table is scanned only when the earliest
    /// deadline has passed (not on every kernel entry).
    pub fn expire_timers(&mut self) {
        let now = cpu::rdtsc();
        if self.next_timer != 0 && self.next_timer <= now {
            let mut earliest = 0;
            for s in 0..self.task_high {
                let d = self.tasks[s].timer_deadline;
                if d == 0 || self.tasks[s].state == State::Free {
                    continue;
                }
                if d <= now {
                    self.tasks[s].timer_deadline = 0;
                    self.notify(s, sion_abi::msg::NOTIFY_TIMER);
                } else if earliest == 0 || d < earliest {
                    earliest = d;
                }
            }
            self.next_timer = earliest;
        }
        let slice_tsc = self.slice_tsc;
        let c = self.cpu();
        if c.has_current && now.saturating_sub(c.slice_start) >= slice_tsc {
            c.preempt = true;
        }
    }

    /// A lower bound of the task timers' deadlines (an early wake-up only
    /// rescans): exact after `expire_timers`.
    fn earliest_timer(&self) -> Option<u64> {
        (self.next_timer != 0).then_some(self.next_timer)
    }

    /// Choose the task to run next and load its context: its slot (the
    /// caller copies its frame out), or `None` when there is nothing to run
    /// (the caller idles: `enter_idle`, the lock given up, `leave_idle`).
    pub fn schedule(&mut self) -> Option<usize> {
        let (current, has_current, preempt) = {
            let c = self.cpu_ref();
            (c.current, c.has_current, c.preempt)
        };
        let t = &self.tasks[current];
        // (Held by its owner while it ran here: it stops now.)
        let cur_runnable = has_current && t.state == State::Runnable && !t.held;
        // (`held` only for a task held by another CPU while it ran here.)
        let next = if cur_runnable && (!preempt || self.runq.is_empty()) {
            current
        } else {
            if cur_runnable {
                self.ready(current);
            }
            let n = self.runq.pop()?;
            self.cpu().slice_start = cpu::rdtsc();
            n
        };
        self.cpu().preempt = false;
        let slice_end = (!self.runq.is_empty()).then(|| self.cpu_ref().slice_start + self.slice_tsc);
        self.cpu().slice_timer = slice_end.is_some();
        let deadline = match (slice_end, self.earliest_timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.arm_timer(deadline);
        if slice_end.is_some() && crate::lock::enabled() {
            self.share_queued();
        }
        // The running task goes on: its context is loaded (what `switch_to`
        // would find, without the call).
        if !(cur_runnable && next == current) {
            self.switch_to(next);
        }
        Some(next)
    }

    /// Nothing to run: leave the current task, and arm the timer for the
    /// next task timer. The caller then gives up the lock and halts.
    pub fn enter_idle(&mut self) {
        if self.cpu_ref().has_current {
            self.save_current();
            self.cpu().has_current = false;
        }
        self.arm_timer(self.earliest_timer());
        let c = self.cpu();
        c.slice_timer = false;
        c.idle = true;
        c.idle_since = cpu::rdtsc();
    }

    /// Back from halting, the lock taken again: what happened meanwhile
    /// (this CPU's timer, device interrupts) is handled.
    pub fn leave_idle(&mut self) {
        percpu::this().kicked.store(false, Ordering::Relaxed);
        let c = self.cpu();
        c.idle = false;
        c.idle_tsc += cpu::rdtsc() - c.idle_since;
        self.noted_interrupts();
        self.expire_timers();
    }

    /// Interrupts this CPU took while it halted without the lock (idle, or
    /// waiting for the lock): `kernel_mode_trap` noted them; serve them now.
    #[inline(always)]
    pub fn noted_interrupts(&mut self) {
        let area = percpu::this();
        if area.timer_fired.load(Ordering::Relaxed) || area.pending_irqs.load(Ordering::Relaxed) != 0 {
            self.serve_noted(area);
        }
    }

    #[inline(never)]
    fn serve_noted(&mut self, area: &percpu::PerCpu) {
        if area.timer_fired.swap(false, Ordering::AcqRel) {
            self.cpu().timer_armed = 0; // it fired
            self.expire_timers();
        }
        let irqs = area.pending_irqs.swap(0, Ordering::AcqRel);
        for gsi in 0..64 {
            if irqs & (1 << gsi) != 0 {
                self.device_interrupt(gsi);
            }
        }
    }

    /// A device interrupt: a notification to the task bound to the line.
    pub fn device_interrupt(&mut self, gsi: u32) {
        if let Some(Some((task, bits))) = self.irq_bindings.get(gsi as usize).copied() {
            match self.task_slot(task as u64) {
                Some(t) => self.notify(t, bits),
                None => self.irq_bindings[gsi as usize] = None, // its task died
            }
        }
    }

    fn save_current(&mut self) {
        let smp = crate::lock::enabled();
        let c = this_cpu(&mut self.cpus);
        let now = cpu::rdtsc();
        let t = &mut self.tasks[c.current];
        t.cpu_tsc += now.saturating_sub(c.run_start);
        t.on_cpu = crate::task::NO_CPU;
        if t.state == State::Free {
            return;
        }
        if smp && c.fpu_owner == Some(c.current) && !c.ts_set {
            // It may run on another CPU next, which finds its FPU state in
            // memory: save it now. The registers still hold it, so this CPU
            // stays its owner until another one takes it (`fpu_switch`).
            t.fpu.save();
        }
        let hw = &mut c.hw;
        let (fs, gs) = gdt::read_user_selectors();
        if (fs, gs) != (hw.fs_sel, hw.gs_sel) {
            // The task loaded a selector itself: in 64-bit mode that reloads
            // the base too, so read it back (the user's GS base is in
            // KERNEL_GS_BASE while the kernel runs: see percpu.rs).
            hw.fs_sel = fs;
            hw.gs_sel = gs;
            hw.bases_known = false;
            if !t.is_compat() {
                hw.fs_base = cpu::rdmsr(cpu::msr::FS_BASE);
                hw.gs_base = cpu::rdmsr(cpu::msr::KERNEL_GS_BASE);
                hw.bases_known = true;
            }
        }
        t.fs_sel = fs;
        t.gs_sel = gs;
        if !t.is_compat() && hw.bases_known {
            t.fs_base = hw.fs_base;
            t.gs_base = hw.gs_base;
        }
    }

    /// The task's first FPU instruction since it was switched in (#NM with
    /// CR0.TS set): move the FPU state to it.
    pub fn fpu_switch(&mut self, cur: usize) {
        cpu::clear_ts();
        let me = percpu::index();
        // Another CPU whose registers still hold an older state of this
        // task (saved when it left there) must not take them for current.
        for (i, c) in self.cpus.iter_mut().enumerate() {
            if i != me && c.fpu_owner == Some(cur) {
                c.fpu_owner = None;
            }
        }
        let c = this_cpu(&mut self.cpus);
        c.ts_set = false;
        if let Some(o) = c.fpu_owner {
            self.tasks[o].fpu.save();
        }
        self.tasks[cur].fpu.restore();
        c.fpu_owner = Some(cur);
    }

    /// Bring task `t`'s FPU state out of the CPU into its save area when it
    /// is the lazy owner (not the caller), so the area can be read or
    /// replaced; the next FPU instruction of the running task traps as usual.
    /// Another CPU that owns it saved it when the task left there
    /// (`save_current`): only its claim is dropped, so that the area, once
    /// replaced, is what the task gets next.
    pub fn fpu_flush(&mut self, t: usize) {
        if self.cpu_ref().fpu_owner == Some(t) && !self.is_current(t) {
            cpu::clear_ts();
            self.tasks[t].fpu.save();
            cpu::set_ts();
            let c = self.cpu();
            c.ts_set = true;
            c.fpu_owner = None;
        }
        let me = percpu::index();
        for (i, c) in self.cpus.iter_mut().enumerate() {
            if i != me && c.fpu_owner == Some(t) && !(c.has_current && c.current == t) {
                c.fpu_owner = None;
            }
        }
    }

    /// MXCSR bits this CPU has (from the boot FXSAVE; 0 there means the
    /// architectural default 0xffbf): loading any other one faults.
    pub fn mxcsr_mask(&self) -> u32 {
        let b = &self.clean_fpu.0;
        match u32::from_le_bytes([b[28], b[29], b[30], b[31]]) {
            0 => 0xffbf,
            m => m,
        }
    }

    pub fn switch_to(&mut self, next: usize) {
        let cs = self.cpu_ref();
        if cs.has_current && cs.current == next {
            return;
        }
        if cs.has_current {
            self.save_current();
        }
        let space = self.tasks[next].space as usize;
        percpu::load_space(self.spaces[space].pml4);
        let cs = this_cpu(&mut self.cpus);
        let t = &self.tasks[next];
        let hw = &mut cs.hw;
        // Slot by slot: an array comparison would call memcmp on every switch.
        let tls_changed = t.tls.iter().zip(&hw.tls).any(|(a, b)| a != b);
        if tls_changed {
            gdt::set_tls(&t.tls);
            hw.tls = t.tls;
        }
        let usable = |sel: u16| -> u16 {
            let index = (sel >> 3) as usize;
            let first = sion_abi::regs::TLS_FIRST_GDT_INDEX;
            if (first..first + sion_abi::regs::TLS_SLOTS).contains(&index) && t.tls[index - first] & (1 << 47) == 0 {
                0 // a TLS slot that was cleared: a null selector rather than a fault in the kernel
            } else {
                sel
            }
        };
        let sels = (usable(t.fs_sel), usable(t.gs_sel));
        if tls_changed || sels != (hw.fs_sel, hw.gs_sel) {
            gdt::load_user_selectors(sels.0, sels.1);
            hw.fs_sel = sels.0;
            hw.gs_sel = sels.1;
            hw.bases_known = false;
        }
        if !t.is_compat() {
            if !hw.bases_known || t.fs_base != hw.fs_base {
                cpu::wrmsr(cpu::msr::FS_BASE, t.fs_base);
            }
            // The user's GS base waits in KERNEL_GS_BASE until the return
            // to user mode swaps it in (GS_BASE is the per-CPU area's).
            if !hw.bases_known || t.gs_base != hw.gs_base {
                cpu::wrmsr(cpu::msr::KERNEL_GS_BASE, t.gs_base);
            }
            hw.fs_base = t.fs_base;
            hw.gs_base = t.gs_base;
            hw.bases_known = true;
        }
        if cs.io_open != t.io {
            gdt::set_io_ports(cs.io_open, t.io);
            cs.io_open = t.io;
        }
        let want_ts = cs.fpu_owner != Some(next);
        if want_ts != cs.ts_set {
            if want_ts {
                cpu::set_ts();
            } else {
                cpu::clear_ts();
            }
            cs.ts_set = want_ts;
        }
        crate::idt::set_user_frame(&mut self.tasks[next].frame);
        let cs = this_cpu(&mut self.cpus);
        cs.current = next;
        cs.has_current = true;
        cs.run_start = cpu::rdtsc();
        self.tasks[next].on_cpu = percpu::index() as u8 + 1;
    }

    pub fn free_frames(&self) -> u64 {
        self.frames.free_frames()
    }
}
