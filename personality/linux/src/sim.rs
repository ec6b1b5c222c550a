//! A simulated [`Host`]: page-granular memory with protections, registers, a
//! settable clock and a recorded console. Used by the tests here and by other
//! crates' tests.

use crate::host::{Host, MapError};
use crate::vma::PAGE;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use sion_abi::regs::TaskRegs;

#[derive(Default)]
pub struct SimHost {
    /// page address -> (bytes, prot)
    pub pages: BTreeMap<u64, (Box<[u8; PAGE as usize]>, u64)>,
    pub regs: TaskRegs,
    pub now: u64,
    pub realtime_offset: u64,
    pub cpu: u64,
    /// Console frames in order: (tag, bytes) as written (unsplit).
    pub console: Vec<(u8, Vec<u8>)>,
    pub logs: Vec<String>,
    /// Number of mem_map calls (to check laziness).
    pub map_calls: usize,
    /// Fail mem_map with NoMemory once this many pages are mapped.
    pub page_limit: Option<usize>,
    /// The selected task's FPU state (`None`: the host offers none).
    pub fpu: Option<[u8; crate::signal::FPU_SIZE]>,
    /// Tasks `task_interrupt` stopped (it succeeds when `computing` holds them).
    pub interrupted: Vec<u64>,
    pub computing: Vec<u64>,
}

impl SimHost {
    pub fn new() -> Self {
        SimHost { realtime_offset: 1_700_000_000_000_000_000, ..Default::default() }
    }
    pub fn is_mapped(&self, addr: u64) -> bool {
        self.pages.contains_key(&(addr & !(PAGE - 1)))
    }
    pub fn prot_of(&self, addr: u64) -> Option<u64> {
        self.pages.get(&(addr & !(PAGE - 1))).map(|p| p.1)
    }
    /// Read memory regardless of protection (a test's view).
    pub fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
        (0..len as u64)
            .map(|i| {
                let a = addr + i;
                self.pages.get(&(a & !(PAGE - 1))).map(|p| p.0[(a % PAGE) as usize]).unwrap_or(0)
            })
            .collect()
    }
    /// Write memory regardless of protection (pages must be mapped).
    pub fn poke(&mut self, addr: u64, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            let a = addr + i as u64;
            let p = self.pages.get_mut(&(a & !(PAGE - 1))).expect("poke on an unmapped page");
            p.0[(a % PAGE) as usize] = *b;
        }
    }
    /// All bytes written to a console stream, concatenated.
    pub fn stream(&self, tag: u8) -> Vec<u8> {
        self.console.iter().filter(|c| c.0 == tag).flat_map(|c| c.1.iter().copied()).collect()
    }

    fn copy(&mut self, addr: u64, len: usize, need: u64, mut f: impl FnMut(&mut [u8; PAGE as usize], usize, usize)) -> usize {
        let mut done = 0usize;
        while done < len {
            let a = match addr.checked_add(done as u64) {
                Some(a) => a,
                None => break,
            };
            let page = a & !(PAGE - 1);
            let Some((bytes, prot)) = self.pages.get_mut(&page) else { break };
            if *prot & need != need || *prot == 0 {
                break;
            }
            let off = (a - page) as usize;
            let n = (PAGE as usize - off).min(len - done);
            f(bytes, off, done);
            let _ = n;
            done += n;
        }
        done
    }
}

impl Host for SimHost {
    fn mem_map(&mut self, addr: u64, len: u64, prot: u64) -> Result<(), MapError> {
        if addr % PAGE != 0 || len % PAGE != 0 || len == 0 {
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
            self.pages.insert(addr + i * PAGE, (Box::new([0; PAGE as usize]), prot));
        }
        Ok(())
    }
    fn mem_unmap(&mut self, addr: u64, len: u64) {
        let keys: Vec<u64> = self.pages.range(addr..addr.saturating_add(len)).map(|(k, _)| *k).collect();
        for k in keys {
            self.pages.remove(&k);
        }
    }
    fn mem_protect(&mut self, addr: u64, len: u64, prot: u64) {
        for (_, p) in self.pages.range_mut(addr..addr.saturating_add(len)) {
            p.1 = prot;
        }
    }
    fn mem_read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        let len = buf.len();
        self.copy(addr, len, 1, |page, off, done| {
            let n = (PAGE as usize - off).min(len - done);
            buf[done..done + n].copy_from_slice(&page[off..off + n]);
        })
    }
    fn mem_write(&mut self, addr: u64, data: &[u8]) -> usize {
        let len = data.len();
        self.copy(addr, len, 2, |page, off, done| {
            let n = (PAGE as usize - off).min(len - done);
            page[off..off + n].copy_from_slice(&data[done..done + n]);
        })
    }
    fn get_regs(&mut self) -> Option<TaskRegs> {
        Some(self.regs)
    }
    fn set_regs(&mut self, regs: &TaskRegs) -> bool {
        self.regs = *regs;
        true
    }
    fn get_fpu(&mut self) -> Option<[u8; crate::signal::FPU_SIZE]> {
        self.fpu
    }
    fn set_fpu(&mut self, state: &[u8; crate::signal::FPU_SIZE]) -> bool {
        self.fpu = Some(*state);
        true
    }
    fn task_interrupt(&mut self, task: u64) -> bool {
        let ok = self.computing.contains(&task);
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
    fn console_write(&mut self, tag: u8, bytes: &[u8]) {
        self.console.push((tag, bytes.to_vec()));
    }
    fn log(&mut self, line: &str) {
        self.logs.push(line.into());
    }
}
