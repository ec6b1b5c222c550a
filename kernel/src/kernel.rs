//! The kernel's state and its scheduler. IPC is in ipc.rs, kernel calls in
//! kcall.rs, trap routing in trap.rs; all are methods on [`Kernel`].

use crate::cpu::{self, FpuState};
use crate::gdt;
use crate::mem::Frames;
use crate::paging::{self, KernelTables};
use crate::task::{Account, Outgoing, Space, State, Task, MAX_SPACES, MAX_TASKS, NONE};
use crate::time::Clock;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use sion_abi::{SpaceId, TaskId};
use sion_kerncore::runqueue::RunQueue;

/// Length of a time slice when other tasks wait.
pub const SLICE_NS: u64 = 10_000_000;

/// Set by the timer interrupt when it arrives while the CPU idles in the kernel.
pub static TIMER_FIRED: AtomicBool = AtomicBool::new(false);
/// Device interrupt lines that fired while the CPU idled (bit n = GSI n).
pub static PENDING_IRQS: AtomicU64 = AtomicU64::new(0);

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
    /// The task whose state is on the CPU (valid when `has_current`).
    pub current: usize,
    pub has_current: bool,
    pub slice_start: u64,
    pub run_start: u64,
    pub preempt: bool,
    pub clean_fpu: FpuState,
    /// The task whose FPU/SSE state is in the registers. Switching sets CR0.TS
    /// when another task runs; its first FPU instruction traps (#NM) and the
    /// state moves then (servers, soft-float, never pay for it).
    pub fpu_owner: Option<usize>,
    pub ts_set: bool,
    /// The thread-pointer state the CPU holds now, to skip reloading it.
    pub hw: HwSegments,
    /// Length of a time slice in TSC ticks.
    pub slice_tsc: u64,
    pub loaded_space: Option<usize>,
    pub hw_rng: (bool, bool),
    pub idle_tsc: u64,
    /// Who receives each device interrupt line: (task id, notification bits).
    pub irq_bindings: [Option<(u32, u64)>; crate::ioapic::MAX_GSI as usize],
    /// The earliest task timer deadline (TSC), or a lower bound of it; 0 = none.
    pub next_timer: u64,
    pub servers: [Option<ServerName>; 8],
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
            current: 0,
            has_current: false,
            slice_start: 0,
            run_start: 0,
            preempt: false,
            clean_fpu: FpuState::zeroed(),
            fpu_owner: None,
            ts_set: false,
            hw: HwSegments { fs_sel: 0, gs_sel: 0, fs_base: 0, gs_base: 0, bases_known: false, tls: [0; sion_abi::regs::TLS_SLOTS] },
            slice_tsc: 0,
            loaded_space: None,
            hw_rng: (false, false),
            idle_tsc: 0,
            irq_bindings: [None; crate::ioapic::MAX_GSI as usize],
            next_timer: 0,
            servers: [None; 8],
        }
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
        let slot = (0..MAX_TASKS).find(|&s| self.tasks[s].state == State::Free)?;
        let t = &mut self.tasks[slot];
        // A new generation on every reuse makes ids of dead tasks stale (and no id is 0).
        let generation = t.generation.wrapping_add(1).max(1);
        *t = Task::EMPTY;
        t.generation = generation;
        t.fpu = self.clean_fpu;
        t.state = State::Stopped;
        Some(slot)
    }

    pub fn alloc_space(&mut self, owner: u16) -> Option<usize> {
        let slot = (0..MAX_SPACES).find(|&s| !self.spaces[s].in_use)?;
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
        if !self.tasks[slot].held && !(self.has_current && self.current == slot) {
            self.runq.push(slot);
        }
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
        // Whoever waits on this task cannot be answered any more.
        for s in 0..MAX_TASKS {
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
        for s in 0..MAX_TASKS {
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
        for sp in 0..MAX_SPACES {
            if self.spaces[sp].in_use && self.spaces[sp].owner as usize == slot {
                let empty = !self.tasks.iter().any(|t| t.state != State::Free && t.space as usize == sp);
                if sp != self.tasks[slot].space as usize || empty {
                    self.destroy_space(sp);
                }
            }
        }
        if self.fpu_owner == Some(slot) {
            self.fpu_owner = None;
        }
        if self.has_current && self.current == slot {
            self.has_current = false;
        }
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
            let Some(new) = self.frames.alloc() else { return false };
            crate::mem::frame_bytes(new).copy_from_slice(crate::mem::frame_bytes(old));
            self.frames.release(old);
            *e = new | flags;
        }
        crate::paging::flush(pml4, va & !0xfff);
        true
    }

    /// Kill every task of space `s` and free its frames and tables.
    pub fn destroy_space(&mut self, s: usize) {
        for t in 0..MAX_TASKS {
            if self.tasks[t].state != State::Free && self.tasks[t].space as usize == s {
                self.kill(t);
            }
        }
        if !self.spaces[s].in_use {
            return; // a task's death took it already
        }
        if self.loaded_space == Some(s) {
            // Run on the kernel's own tables until the next switch loads a space.
            cpu::write_cr3(self.tables.pml4);
            self.loaded_space = None;
        }
        crate::paging::destroy_space(&mut self.frames, self.spaces[s].pml4);
        let pages = self.spaces[s].pages;
        self.uncharge(s, pages);
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
            for s in 0..MAX_TASKS {
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
        if self.has_current && now.saturating_sub(self.slice_start) >= self.slice_tsc {
            self.preempt = true;
        }
    }

    /// A lower bound of the task timers' deadlines (an early wake-up only
    /// rescans): exact after `expire_timers`.
    fn earliest_timer(&self) -> Option<u64> {
        (self.next_timer != 0).then_some(self.next_timer)
    }

    /// Choose the task to run next, idling until there is one, and load its
    /// context. Returns its slot; the caller copies its frame out.
    pub fn schedule(&mut self) -> usize {
        let cur_runnable = self.has_current && self.tasks[self.current].state == State::Runnable;
        let next = if cur_runnable && (!self.preempt || self.runq.is_empty()) {
            self.current
        } else {
            if cur_runnable {
                self.runq.push(self.current);
            }
            loop {
                if let Some(n) = self.runq.pop() {
                    self.slice_start = cpu::rdtsc();
                    break n;
                }
                self.idle();
            }
        };
        self.preempt = false;
        let slice_end = (!self.runq.is_empty()).then(|| self.slice_start + self.slice_tsc);
        let deadline = match (slice_end, self.earliest_timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.clock.arm(deadline);
        self.switch_to(next);
        next
    }

    /// Nothing to run: sleep until the next timer, with the CPU halted.
    fn idle(&mut self) {
        if self.has_current {
            self.save_current();
            self.has_current = false;
        }
        self.clock.arm(self.earliest_timer());
        let t0 = cpu::rdtsc();
        loop {
            let timer = TIMER_FIRED.swap(false, Ordering::AcqRel);
            let irqs = PENDING_IRQS.swap(0, Ordering::AcqRel);
            if timer || irqs != 0 {
                if timer {
                    self.clock.fired();
                }
                self.idle_tsc += cpu::rdtsc() - t0;
                for gsi in 0..64 {
                    if irqs & (1 << gsi) != 0 {
                        self.device_interrupt(gsi);
                    }
                }
                self.expire_timers();
                return;
            }
            cpu::idle_wait();
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
        let cur = self.current;
        let now = cpu::rdtsc();
        let t = &mut self.tasks[cur];
        t.cpu_tsc += now.saturating_sub(self.run_start);
        if t.state == State::Free {
            return;
        }
        let (fs, gs) = gdt::read_user_selectors();
        if (fs, gs) != (self.hw.fs_sel, self.hw.gs_sel) {
            // The task loaded a selector itself: in 64-bit mode that reloads
            // the base too, so read it back.
            self.hw.fs_sel = fs;
            self.hw.gs_sel = gs;
            self.hw.bases_known = false;
            if !t.is_compat() {
                self.hw.fs_base = cpu::rdmsr(cpu::msr::FS_BASE);
                self.hw.gs_base = cpu::rdmsr(cpu::msr::GS_BASE);
                self.hw.bases_known = true;
            }
        }
        t.fs_sel = fs;
        t.gs_sel = gs;
        if !t.is_compat() && self.hw.bases_known {
            t.fs_base = self.hw.fs_base;
            t.gs_base = self.hw.gs_base;
        }
    }

    /// The task's first FPU instruction since it was switched in (#NM with
    /// CR0.TS set): move the FPU state to it.
    pub fn fpu_switch(&mut self, cur: usize) {
        cpu::clear_ts();
        self.ts_set = false;
        if let Some(o) = self.fpu_owner {
            self.tasks[o].fpu.save();
        }
        self.tasks[cur].fpu.restore();
        self.fpu_owner = Some(cur);
    }

    /// Bring task `t`'s FPU state out of the CPU into its save area when it
    /// is the lazy owner (not the caller), so the area can be read or
    /// replaced; the next FPU instruction of the running task traps as usual.
    pub fn fpu_flush(&mut self, t: usize) {
        if self.fpu_owner == Some(t) && !(self.has_current && self.current == t) {
            cpu::clear_ts();
            self.tasks[t].fpu.save();
            cpu::set_ts();
            self.ts_set = true;
            self.fpu_owner = None;
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
        if self.has_current && self.current == next {
            return;
        }
        if self.has_current {
            self.save_current();
        }
        let space = self.tasks[next].space as usize;
        if self.loaded_space != Some(space) {
            cpu::write_cr3(self.spaces[space].pml4);
            self.loaded_space = Some(space);
        }
        let t = &self.tasks[next];
        // Slot by slot: an array comparison would call memcmp on every switch.
        let tls_changed = t.tls.iter().zip(&self.hw.tls).any(|(a, b)| a != b);
        if tls_changed {
            gdt::set_tls(&t.tls);
            self.hw.tls = t.tls;
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
        if tls_changed || sels != (self.hw.fs_sel, self.hw.gs_sel) {
            gdt::load_user_selectors(sels.0, sels.1);
            self.hw.fs_sel = sels.0;
            self.hw.gs_sel = sels.1;
            self.hw.bases_known = false;
        }
        if !t.is_compat() {
            if !self.hw.bases_known || t.fs_base != self.hw.fs_base {
                cpu::wrmsr(cpu::msr::FS_BASE, t.fs_base);
            }
            if !self.hw.bases_known || t.gs_base != self.hw.gs_base {
                cpu::wrmsr(cpu::msr::GS_BASE, t.gs_base);
            }
            self.hw.fs_base = t.fs_base;
            self.hw.gs_base = t.gs_base;
            self.hw.bases_known = true;
        }
        gdt::set_io_ports(t.io);
        let want_ts = self.fpu_owner != Some(next);
        if want_ts != self.ts_set {
            if want_ts {
                cpu::set_ts();
            } else {
                cpu::clear_ts();
            }
            self.ts_set = want_ts;
        }
        crate::idt::set_user_frame(&mut self.tasks[next].frame);
        self.current = next;
        self.has_current = true;
        self.run_start = cpu::rdtsc();
    }

    pub fn free_frames(&self) -> u64 {
        self.frames.free_frames()
    }
}
