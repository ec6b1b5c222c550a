//! A simulated [`Host`]: page-granular memory with protections, registers, a
//! settable clock and a recorded console; and, for the process table, several
//! address spaces and tasks (fork, exec, threads). Used by the tests here and
//! by other crates' tests.
//!
//! It mirrors what the personality server's `KernelHost` gets from the
//! kernel (see `Call` in `sion_abi::call`):
//! - memory and register calls act on the space and task last given to
//!   `select` (task 0: none, and `get_regs` fails); a new host has
//!   [`SimHost::FIRST_SPACE`] and [`SimHost::FIRST_TASK`] selected, so a
//!   test driving one `Process` needs no setup;
//! - `space_fork` copies the selected space: private pages are copied (as
//!   the kernel's copy-on-write makes them once written), pages mapped with
//!   `prot::SHARED` share their frame with the copy; `mem_protect` keeps a
//!   page's `SHARED` bit, as the kernel does;
//! - `space_drop` frees a space and kills its tasks; calls on a dropped
//!   space fail (`mem_map` is `Other`, reads and writes copy nothing);
//! - `task_start` needs a live space; a killed task's registers cannot be had.
//!
//! The selected space's pages are in [`SimHost::pages`] and the selected
//! task's registers in [`SimHost::regs`] (and FPU state in [`SimHost::fpu`]),
//! so tests read them directly; the others are parked in
//! [`SimHost::spaces`] and [`SimHost::tasks`] and swapped in by `select`.
//! [`SimHost::peek_in`], [`SimHost::task_regs`] and friends reach any space
//! or task whatever is selected.

use crate::host::{Host, MapError};
use crate::vma::PAGE;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use sion_abi::call::prot;
use sion_abi::regs::TaskRegs;

/// A physical page: spaces that share it (`prot::SHARED` pages after a
/// fork) hold the same frame.
pub type Frame = Rc<RefCell<Box<[u8; PAGE as usize]>>>;
/// A space's pages: page address -> (frame, prot).
pub type Pages = BTreeMap<u64, (Frame, u64)>;

/// A task of the simulated kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimTask {
    pub space: u64,
    /// Its registers (while it is not the selected task; see [`SimHost::regs`]).
    pub regs: TaskRegs,
    pub fpu: Option<[u8; crate::signal::FPU_SIZE]>,
    /// Held off the CPU (`task_hold`).
    pub held: bool,
}

pub struct SimHost {
    /// The selected space's pages.
    pub pages: Pages,
    /// The selected task's registers.
    pub regs: TaskRegs,
    pub now: u64,
    pub realtime_offset: u64,
    pub cpu: u64,
    /// Console frames in order: (tag, bytes) as written (unsplit).
    pub console: Vec<(u8, Vec<u8>)>,
    pub logs: Vec<String>,
    /// Number of mem_map calls (to check laziness).
    pub map_calls: usize,
    /// Fail mem_map with NoMemory once this many pages are mapped (in the selected space).
    pub page_limit: Option<usize>,
    /// The selected task's FPU state (`None`: the host offers none).
    pub fpu: Option<[u8; crate::signal::FPU_SIZE]>,
    /// Tasks `task_interrupt` stopped (it succeeds when `computing` holds
    /// them, they live and are not held).
    pub interrupted: Vec<u64>,
    pub computing: Vec<u64>,
    /// The selected space and task (`None`: no task selected).
    pub space: u64,
    pub task: Option<u64>,
    /// Whether the selected space is alive (not dropped).
    pub space_alive: bool,
    /// The live spaces other than the selected one.
    pub spaces: BTreeMap<u64, Pages>,
    /// Live tasks. The selected one's registers and FPU state are in
    /// `regs` and `fpu` while it is selected.
    pub tasks: BTreeMap<u64, SimTask>,
    /// Fail `task_start` while this many tasks live.
    pub task_limit: Option<usize>,
    /// Fail `space_fork` and `space_new` (as the kernel out of memory).
    pub fail_spaces: bool,
    /// Tasks killed (by `task_kill` or with their space) and spaces dropped, in order.
    pub killed: Vec<u64>,
    pub dropped: Vec<u64>,
    next_space: u64,
    next_task: u64,
}

impl Default for SimHost {
    fn default() -> Self {
        Self::new()
    }
}

fn new_frame() -> Frame {
    Rc::new(RefCell::new(Box::new([0; PAGE as usize])))
}

impl SimHost {
    /// The space selected when the host is made (where `Process::spawn` loads).
    pub const FIRST_SPACE: u64 = 1;
    /// The task selected when the host is made, in `FIRST_SPACE`.
    pub const FIRST_TASK: u64 = 1001;

    pub fn new() -> Self {
        let mut tasks = BTreeMap::new();
        tasks.insert(Self::FIRST_TASK, SimTask { space: Self::FIRST_SPACE, regs: TaskRegs::default(), fpu: None, held: false });
        SimHost {
            pages: BTreeMap::new(),
            regs: TaskRegs::default(),
            now: 0,
            realtime_offset: 1_700_000_000_000_000_000,
            cpu: 0,
            console: Vec::new(),
            logs: Vec::new(),
            map_calls: 0,
            page_limit: None,
            fpu: None,
            interrupted: Vec::new(),
            computing: Vec::new(),
            space: Self::FIRST_SPACE,
            task: Some(Self::FIRST_TASK),
            space_alive: true,
            spaces: BTreeMap::new(),
            tasks,
            task_limit: None,
            fail_spaces: false,
            killed: Vec::new(),
            dropped: Vec::new(),
            next_space: Self::FIRST_SPACE + 1,
            next_task: Self::FIRST_TASK + 1,
        }
    }
    pub fn is_mapped(&self, addr: u64) -> bool {
        self.pages.contains_key(&(addr & !(PAGE - 1)))
    }
    pub fn prot_of(&self, addr: u64) -> Option<u64> {
        self.pages.get(&(addr & !(PAGE - 1))).map(|p| p.1)
    }
    /// Read memory regardless of protection (a test's view).
    pub fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
        peek_pages(&self.pages, addr, len)
    }
    /// Write memory regardless of protection (pages must be mapped).
    pub fn poke(&mut self, addr: u64, data: &[u8]) {
        poke_pages(&self.pages, addr, data)
    }
    /// All bytes written to a console stream, concatenated.
    pub fn stream(&self, tag: u8) -> Vec<u8> {
        self.console.iter().filter(|c| c.0 == tag).flat_map(|c| c.1.iter().copied()).collect()
    }

    // ----- any space or task, whatever is selected (a test's view) -----

    /// The pages of live space `space`.
    pub fn pages_of(&self, space: u64) -> Option<&Pages> {
        if space == self.space {
            return self.space_alive.then_some(&self.pages);
        }
        self.spaces.get(&space)
    }
    pub fn space_alive(&self, space: u64) -> bool {
        self.pages_of(space).is_some()
    }
    /// Read memory of `space` regardless of protection (zeros where unmapped).
    pub fn peek_in(&self, space: u64, addr: u64, len: usize) -> Vec<u8> {
        self.pages_of(space).map(|p| peek_pages(p, addr, len)).unwrap_or_else(|| alloc::vec![0; len])
    }
    /// Write memory of `space` regardless of protection (pages must be mapped).
    pub fn poke_in(&mut self, space: u64, addr: u64, data: &[u8]) {
        poke_pages(self.pages_of(space).expect("poke in a dropped space"), addr, data)
    }
    pub fn task_alive(&self, task: u64) -> bool {
        self.tasks.contains_key(&task)
    }
    /// The space of a live task.
    pub fn space_of(&self, task: u64) -> Option<u64> {
        self.tasks.get(&task).map(|t| t.space)
    }
    /// The registers of a live task.
    pub fn task_regs(&self, task: u64) -> Option<TaskRegs> {
        if self.task == Some(task) {
            return self.tasks.contains_key(&task).then_some(self.regs);
        }
        self.tasks.get(&task).map(|t| t.regs)
    }
    /// Set the registers of a live task (as the kernel does on a reply).
    pub fn set_task_regs(&mut self, task: u64, regs: &TaskRegs) {
        if self.task == Some(task) {
            self.regs = *regs;
        } else if let Some(t) = self.tasks.get_mut(&task) {
            t.regs = *regs;
        }
    }
    pub fn held(&self, task: u64) -> bool {
        self.tasks.get(&task).is_some_and(|t| t.held)
    }
    /// The live tasks of `space`.
    pub fn tasks_in(&self, space: u64) -> Vec<u64> {
        self.tasks.iter().filter(|(_, t)| t.space == space).map(|(&id, _)| id).collect()
    }

    fn remove_task(&mut self, task: u64) {
        if self.tasks.remove(&task).is_some() {
            self.killed.push(task);
        }
        if self.task == Some(task) {
            self.regs = TaskRegs::default();
            self.fpu = None;
        }
    }

    fn copy(&mut self, addr: u64, len: usize, need: u64, mut f: impl FnMut(&mut [u8; PAGE as usize], usize, usize)) -> usize {
        let mut done = 0usize;
        while done < len {
            let a = match addr.checked_add(done as u64) {
                Some(a) => a,
                None => break,
            };
            let page = a & !(PAGE - 1);
            let Some((frame, prot)) = self.pages.get(&page) else { break };
            if *prot & need != need || *prot & (prot::READ | prot::WRITE | prot::EXEC) == 0 {
                break;
            }
            let off = (a - page) as usize;
            let n = (PAGE as usize - off).min(len - done);
            f(&mut frame.borrow_mut(), off, done);
            done += n;
        }
        done
    }
}

fn peek_pages(pages: &Pages, addr: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| {
            let a = addr + i;
            pages.get(&(a & !(PAGE - 1))).map(|p| p.0.borrow()[(a % PAGE) as usize]).unwrap_or(0)
        })
        .collect()
}

fn poke_pages(pages: &Pages, addr: u64, data: &[u8]) {
    for (i, b) in data.iter().enumerate() {
        let a = addr + i as u64;
        let p = pages.get(&(a & !(PAGE - 1))).expect("poke on an unmapped page");
        p.0.borrow_mut()[(a % PAGE) as usize] = *b;
    }
}

impl Host for SimHost {
    fn mem_map(&mut self, addr: u64, len: u64, prot: u64) -> Result<(), MapError> {
        if !self.space_alive || !addr.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) || len == 0 {
            return Err(MapError::Other);
        }
        if (0..len / PAGE).any(|i| self.pages.contains_key(&(addr + i * PAGE))) {
            return Err(MapError::Exists);
        }
        if let Some(limit) = self.page_limit {
            if self.pages.len() + (len / PAGE) as usize > limit {
                return Err(MapError::NoMemory);
            }
        }
        self.map_calls += 1;
        for i in 0..len / PAGE {
            self.pages.insert(addr + i * PAGE, (new_frame(), prot));
        }
        Ok(())
    }
    fn mem_unmap(&mut self, addr: u64, len: u64) {
        let keys: Vec<u64> = self.pages.range(addr..addr.saturating_add(len)).map(|(k, _)| *k).collect();
        for k in keys {
            self.pages.remove(&k);
        }
    }
    fn mem_protect(&mut self, addr: u64, len: u64, new: u64) {
        for (_, p) in self.pages.range_mut(addr..addr.saturating_add(len)) {
            // Shared memory stays shared whatever the new protection.
            p.1 = new | (p.1 & prot::SHARED);
        }
    }
    fn mem_read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        let len = buf.len();
        self.copy(addr, len, prot::READ, |page, off, done| {
            let n = (PAGE as usize - off).min(len - done);
            buf[done..done + n].copy_from_slice(&page[off..off + n]);
        })
    }
    fn mem_write(&mut self, addr: u64, data: &[u8]) -> usize {
        let len = data.len();
        self.copy(addr, len, prot::WRITE, |page, off, done| {
            let n = (PAGE as usize - off).min(len - done);
            page[off..off + n].copy_from_slice(&data[done..done + n]);
        })
    }
    fn space(&self) -> u64 {
        0
    }
    /// The simulation has one memory per process and no sharing between
    /// them: a second mmap of a file gets a copy, as before `mem_share`.
    fn mem_share_from(&mut self, _from_space: u64, _from_addr: u64, _addr: u64, _len: u64, _prot: u64) -> bool {
        false
    }
    fn mem_cmpxchg32(&mut self, addr: u64, expected: u32, new: u32) -> Option<u32> {
        let mut b = [0u8; 4];
        if addr % 4 != 0 || self.mem_read(addr, &mut b) != 4 {
            return None;
        }
        let old = u32::from_le_bytes(b);
        if old == expected && self.mem_write(addr, &new.to_le_bytes()) != 4 {
            return None;
        }
        Some(old)
    }
    fn get_regs(&mut self) -> Option<TaskRegs> {
        self.task.filter(|t| self.tasks.contains_key(t)).map(|_| self.regs)
    }
    fn set_regs(&mut self, regs: &TaskRegs) -> bool {
        if self.task.is_some_and(|t| self.tasks.contains_key(&t)) {
            self.regs = *regs;
            true
        } else {
            false
        }
    }
    fn get_fpu(&mut self) -> Option<[u8; crate::signal::FPU_SIZE]> {
        self.task.filter(|t| self.tasks.contains_key(t)).and(self.fpu)
    }
    fn set_fpu(&mut self, state: &[u8; crate::signal::FPU_SIZE]) -> bool {
        if self.task.is_some_and(|t| self.tasks.contains_key(&t)) {
            self.fpu = Some(*state);
            true
        } else {
            false
        }
    }
    fn task_interrupt(&mut self, task: u64) -> bool {
        let ok = self.computing.contains(&task) && self.tasks.get(&task).is_some_and(|t| !t.held);
        if ok {
            self.interrupted.push(task);
        }
        ok
    }
    fn now_ns(&mut self) -> u64 {
        self.now
    }
    fn realtime_ns(&mut self) -> u64 {
        self.realtime_offset + self.now
    }
    fn cpu_ns(&mut self) -> u64 {
        self.cpu
    }
    fn vdso_clock(&mut self) -> Option<crate::vdso::Clock> {
        Some(crate::vdso::Clock { tsc_hz: 1_000_000_000, tsc_at_boot: 0, realtime_offset_ns: self.realtime_offset })
    }
    fn console_write(&mut self, tag: u8, bytes: &[u8]) {
        self.console.push((tag, bytes.to_vec()));
    }
    fn log(&mut self, line: &str) {
        self.logs.push(line.into());
    }

    fn space_fork(&mut self) -> Option<u64> {
        if !self.space_alive || self.fail_spaces {
            return None;
        }
        let copy: Pages = self
            .pages
            .iter()
            .map(|(&addr, (frame, p))| {
                let frame = if p & prot::SHARED != 0 { Rc::clone(frame) } else { Rc::new(RefCell::new(frame.borrow().clone())) };
                (addr, (frame, *p))
            })
            .collect();
        let id = self.next_space;
        self.next_space += 1;
        self.spaces.insert(id, copy);
        Some(id)
    }
    fn space_new(&mut self) -> Option<u64> {
        if self.fail_spaces {
            return None;
        }
        let id = self.next_space;
        self.next_space += 1;
        self.spaces.insert(id, BTreeMap::new());
        Some(id)
    }
    fn space_drop(&mut self, space: u64) {
        let was = if space == self.space && self.space_alive {
            self.pages.clear();
            self.space_alive = false;
            true
        } else {
            self.spaces.remove(&space).is_some()
        };
        if was {
            self.dropped.push(space);
            // The space's death takes its tasks.
            for t in self.tasks_in(space) {
                self.remove_task(t);
            }
        }
    }
    fn task_start(&mut self, space: u64, regs: &TaskRegs) -> Option<u64> {
        if !self.space_alive(space) || self.task_limit.is_some_and(|l| self.tasks.len() >= l) {
            return None;
        }
        let id = self.next_task;
        self.next_task += 1;
        self.tasks.insert(id, SimTask { space, regs: *regs, fpu: None, held: false });
        Some(id)
    }
    fn task_kill(&mut self, task: u64) {
        self.remove_task(task);
    }
    fn task_hold(&mut self, task: u64, held: bool) {
        if let Some(t) = self.tasks.get_mut(&task) {
            t.held = held;
        }
    }
    fn select(&mut self, space: u64, task: u64) {
        // Park the selected task and space ...
        if let Some(t) = self.task.and_then(|t| self.tasks.get_mut(&t)) {
            t.regs = self.regs;
            t.fpu = self.fpu;
        }
        if self.space != space {
            if self.space_alive {
                let pages = core::mem::take(&mut self.pages);
                self.spaces.insert(self.space, pages);
            }
            // ... and take out the new ones.
            self.space = space;
            match self.spaces.remove(&space) {
                Some(p) => {
                    self.pages = p;
                    self.space_alive = true;
                }
                None => {
                    self.pages = BTreeMap::new();
                    self.space_alive = false;
                }
            }
        }
        self.task = (task != 0).then_some(task);
        let (regs, fpu) = self.task.and_then(|t| self.tasks.get(&t)).map_or((TaskRegs::default(), None), |t| (t.regs, t.fpu));
        self.regs = regs;
        self.fpu = fpu;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_copies_private_pages_and_shares_shared_ones() {
        let mut h = SimHost::new();
        h.mem_map(0x1000, 0x2000, prot::READ | prot::WRITE).unwrap();
        h.mem_map(0x8000, 0x1000, prot::READ | prot::WRITE | prot::SHARED).unwrap();
        h.mem_write(0x1000, b"parent");
        let child = h.space_fork().unwrap();
        assert_ne!(child, SimHost::FIRST_SPACE);
        assert_eq!(h.peek_in(child, 0x1000, 6), b"parent");
        assert_eq!(h.tasks_in(child), Vec::<u64>::new(), "a fork copies memory, not tasks");
        // Private pages are the child's own; shared ones are one frame.
        h.select(child, 0);
        assert_eq!(h.get_regs(), None, "no task selected");
        assert_eq!(h.mem_write(0x1000, b"child!"), 6);
        assert_eq!(h.mem_write(0x8000, b"both"), 4);
        h.select(SimHost::FIRST_SPACE, SimHost::FIRST_TASK);
        assert_eq!(h.peek(0x1000, 6), b"parent");
        assert_eq!(h.peek(0x8000, 4), b"both");
        // mprotect keeps a page shared.
        h.mem_protect(0x8000, 0x1000, prot::READ);
        assert_eq!(h.prot_of(0x8000), Some(prot::READ | prot::SHARED));
        let empty = h.space_new().unwrap();
        assert_eq!(h.pages_of(empty).map(|p| p.len()), Some(0));
    }

    #[test]
    fn tasks_keep_their_registers_across_select() {
        let mut h = SimHost::new();
        h.regs.rax = 1;
        let s = h.space_fork().unwrap();
        let t = h.task_start(s, &TaskRegs { rax: 2, ..Default::default() }).unwrap();
        assert_eq!(h.space_of(t), Some(s));
        h.select(s, t);
        assert_eq!(h.get_regs().map(|r| r.rax), Some(2));
        h.set_regs(&TaskRegs { rax: 3, ..Default::default() });
        h.select(SimHost::FIRST_SPACE, SimHost::FIRST_TASK);
        assert_eq!(h.regs.rax, 1);
        assert_eq!(h.task_regs(t).map(|r| r.rax), Some(3));
        h.set_task_regs(t, &TaskRegs { rax: 4, ..Default::default() });
        assert_eq!(h.task_regs(t).map(|r| r.rax), Some(4));
        // Held tasks cannot be interrupted; killed ones have no registers.
        h.computing.push(t);
        h.task_hold(t, true);
        assert!(h.held(t));
        assert!(!h.task_interrupt(t));
        h.task_hold(t, false);
        assert!(h.task_interrupt(t));
        h.task_kill(t);
        assert_eq!(h.task_regs(t), None);
        assert_eq!(h.killed, [t]);
        assert!(!h.task_interrupt(t));
    }

    #[test]
    fn dropping_a_space_kills_its_tasks_and_fails_its_calls() {
        let mut h = SimHost::new();
        let s = h.space_fork().unwrap();
        let t1 = h.task_start(s, &TaskRegs::default()).unwrap();
        let t2 = h.task_start(s, &TaskRegs::default()).unwrap();
        h.select(s, t1);
        h.mem_map(0x1000, 0x1000, prot::READ | prot::WRITE).unwrap();
        h.space_drop(s);
        assert_eq!((h.dropped.as_slice(), h.killed.as_slice()), (&[s][..], &[t1, t2][..]));
        assert_eq!(h.get_regs(), None);
        assert_eq!(h.mem_map(0x1000, 0x1000, prot::READ), Err(MapError::Other));
        assert_eq!(h.mem_read(0x1000, &mut [0; 4]), 0);
        assert_eq!(h.task_start(s, &TaskRegs::default()), None);
        // Tasks and spaces can be refused.
        h.select(SimHost::FIRST_SPACE, SimHost::FIRST_TASK);
        h.task_limit = Some(1);
        assert_eq!(h.task_start(SimHost::FIRST_SPACE, &TaskRegs::default()), None);
        h.fail_spaces = true;
        assert_eq!((h.space_fork(), h.space_new()), (None, None));
    }
}
