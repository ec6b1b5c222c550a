//! Kernel calls of native tasks: one handler per [`Call`], one signature.

use crate::ipc::Ret;
use crate::kernel::Kernel;
use crate::paging::{self, Side};
use crate::task::State;
use crate::{cpu, gdt, kprintln, serial};
use sion_abi::call::{Call, Error, SysInfo, TaskInfo, TaskKind};
use sion_abi::regs::{Mode, TaskRegs};
use sion_kerncore::paging::{check_user_range, pte};

const PAGE: u64 = 4096;

impl Kernel {
    pub fn kernel_call(&mut self, cur: usize) {
        let f = &self.tasks[cur].frame;
        let a = [f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9];
        let ret = match Call::from_u64(f.rax) {
            None => Ret::Err(Error::NoSuchCall),
            Some(call) => self.dispatch(cur, call, a),
        };
        match ret {
            Ret::Value(v) => self.tasks[cur].frame.rax = v,
            Ret::Err(e) => self.tasks[cur].frame.rax = e.as_ret(),
            Ret::Blocked => {}
        }
    }

    fn dispatch(&mut self, cur: usize, call: Call, a: [u64; 6]) -> Ret {
        match call {
            Call::Log => self.k_log(cur, a[0], a[1]),
            Call::Yield => {
                self.cpu().preempt = true;
                Ret::Value(0)
            }
            Call::Exit => {
                kprintln!("task {:#x} exited ({})", self.task_id(cur).0, a[0] as i64);
                let boot = self.tasks[cur].privileged;
                self.kill(cur);
                if boot {
                    kprintln!("the boot server exited: powering off");
                    crate::poweroff(0x7d);
                }
                Ret::Blocked
            }
            Call::IpcCall => self.call(cur, a[0], a[1], a[2], a[3], a[4]),
            Call::IpcRecv => self.recv(cur, a[0], a[1], false),
            Call::IpcReply => self.reply(cur, a[0], a[1], a[2]),
            Call::IpcReplyRecv => {
                // A caller that died meanwhile is no reason not to receive.
                let _ = self.reply(cur, a[0], a[1], a[2]);
                self.recv(cur, a[3], a[4], false)
            }
            Call::LinuxReplyRecv => {
                // Until a message comes back in registers, r15 says "in the buffer".
                self.tasks[cur].frame.r15 = 0;
                if let Some(t) = self.task_slot(a[0]).filter(|_| a[0] != 0) {
                    // As reply_recv: a caller gone meanwhile is no reason not to receive.
                    let _ = self.linux_reply(cur, t, &sion_abi::msg::LinuxReply { rax: a[1], flags: a[2] });
                }
                self.recv(cur, a[3], a[4], true)
            }
            Call::Notify => match self.task_slot(a[0]) {
                Some(t) => {
                    self.notify(t, a[1]);
                    Ret::Value(0)
                }
                None => Ret::Err(Error::NoSuchObject),
            },
            Call::TimerSet => {
                let d = if a[0] == 0 { 0 } else { self.clock.ns_to_tsc(a[0]).max(1) };
                self.timer_set(cur, d);
                Ret::Value(0)
            }
            Call::ClockInfo => {
                let c = self.clock.info;
                let words = [c.tsc_hz, c.tsc_at_boot, c.realtime_at_boot_ns, c.source];
                self.put_words(cur, a[0], &words)
            }
            Call::SpaceCreate => {
                // a[0]: a space whose memory account the new one shares (0: its own).
                let like = match a[0] {
                    0 => None,
                    id => match self.controlled_space(cur, id) {
                        Some(s) => Some(s),
                        None => return Ret::Err(Error::Denied),
                    },
                };
                match self.alloc_space(cur as u16) {
                    Some(s) => {
                        if let Some(l) = like {
                            self.share_account(s, l);
                        }
                        Ret::Value(self.space_id(s).0 as u64)
                    }
                    None => Ret::Err(Error::NoMemory),
                }
            }
            Call::SpaceDestroy => self.k_space_destroy(cur, a[0]),
            Call::SpaceClone => self.k_space_clone(cur, a[0]),
            Call::MemMap => self.k_mem_map(cur, a[0], a[1], a[2], a[3]),
            Call::MemUnmap => self.k_mem_unmap(cur, a[0], a[1], a[2]),
            Call::MemProtect => self.k_mem_protect(cur, a[0], a[1], a[2], a[3]),
            Call::MemWrite | Call::MemRead => {
                let Some(s) = self.controlled_space(cur, a[0]) else { return Ret::Err(Error::Denied) };
                let (theirs, mine) = (self.spaces[s].pml4, self.spaces[self.tasks[cur].space as usize].pml4);
                let len = a[3] as usize;
                let n = if call == Call::MemWrite {
                    self.unshare_range(s, a[1], a[3]);
                    paging::copy(Side::User { pml4: mine, va: a[2] }, Side::User { pml4: theirs, va: a[1] }, len)
                } else {
                    paging::copy(Side::User { pml4: theirs, va: a[1] }, Side::User { pml4: mine, va: a[2] }, len)
                };
                Ret::Value(n as u64)
            }
            Call::MemShare => self.k_mem_share(cur, a),
            Call::MemCmpxchg32 => {
                let Some(s) = self.controlled_space(cur, a[0]) else { return Ret::Err(Error::Denied) };
                if a[1] % 4 != 0 {
                    return Ret::Err(Error::Invalid);
                }
                self.unshare_range(s, a[1], 4);
                match paging::cmpxchg32(self.spaces[s].pml4, a[1], a[2] as u32, a[3] as u32) {
                    Some(old) => Ret::Value(old as u64),
                    None => Ret::Err(Error::Fault),
                }
            }
            Call::TaskCreate => self.k_task_create(cur, a[0], a[1]),
            Call::TaskSetRegs => self.k_task_set_regs(cur, a[0], a[1]),
            Call::TaskGetRegs => self.k_task_get_regs(cur, a[0], a[1]),
            Call::TaskStart => match self.owned_task(cur, a[0]) {
                Ok(t) if self.tasks[t].state == State::Stopped => {
                    self.make_runnable(t);
                    Ret::Value(0)
                }
                Ok(_) => Ret::Err(Error::BadState),
                Err(e) => Ret::Err(e),
            },
            Call::TaskHold => match self.owned_task(cur, a[0]) {
                Ok(t) if t == cur => Ret::Err(Error::BadState),
                Ok(t) => {
                    let held = a[1] != 0;
                    let was = core::mem::replace(&mut self.tasks[t].held, held);
                    match self.tasks[t].cpu() {
                        // It runs on another CPU, which stops it at the IPI
                        // (or, released meanwhile, goes on with it). The
                        // hold is synchronous: the task has left user mode
                        // before the caller goes on, so a stop it reports
                        // (waitid's CLD_STOPPED) means the threads no
                        // longer run.
                        Some(c) => {
                            if held {
                                self.kick(c);
                                self.sync_with(c);
                            }
                        }
                        None if held => self.runq.remove(t),
                        None if was && self.tasks[t].state == State::Runnable => self.ready(t),
                        None => {}
                    }
                    Ret::Value(0)
                }
                Err(e) => Ret::Err(e),
            },
            Call::TaskInterrupt => self.k_task_interrupt(cur, a[0]),
            Call::TaskGetFpu => self.k_task_get_fpu(cur, a[0], a[1]),
            Call::TaskSetFpu => self.k_task_set_fpu(cur, a[0], a[1]),
            Call::TaskKill => match self.owned_task(cur, a[0]) {
                Ok(t) => {
                    self.kill(t);
                    Ret::Value(0)
                }
                Err(e) => Ret::Err(e),
            },
            Call::Poweroff => {
                if !self.tasks[cur].privileged {
                    return Ret::Err(Error::Denied);
                }
                crate::poweroff(a[0] as u32)
            }
            Call::SysInfo => {
                let now = self.clock.now_ns();
                let idle_ns = self.clock.info.tsc_to_ns(self.clock.info.tsc_at_boot + self.idle_tsc());
                let tasks = self.live_tasks;
                let (cpus, cpus_found) = (crate::smp::online() as u64, crate::smp::found() as u64);
                let i = SysInfo { total_frames: self.frames.total, free_frames: self.free_frames(), tasks, uptime_ns: now, idle_ns, cpus, cpus_found };
                self.put_words(cur, a[0], &[i.total_frames, i.free_frames, i.tasks, i.uptime_ns, i.idle_ns, i.cpus, i.cpus_found])
            }
            Call::TaskInfo => {
                let t = if a[0] == self.task_id(cur).0 as u64 {
                    cur
                } else {
                    match self.owned_task(cur, a[0]) {
                        Ok(t) => t,
                        Err(e) => return Ret::Err(e),
                    }
                };
                let mut cpu_tsc = self.tasks[t].cpu_tsc;
                // Its time on the CPU it runs on now, this one or another
                // (the TSCs of a machine's CPUs agree).
                if let Some(c) = self.tasks[t].cpu() {
                    cpu_tsc += cpu::rdtsc().saturating_sub(self.cpus[c].run_start);
                }
                let info = TaskInfo { cpu_ns: self.clock.info.tsc_to_ns(self.clock.info.tsc_at_boot + cpu_tsc), space_bytes: self.spaces[self.tasks[t].space as usize].pages * PAGE };
                self.put_words(cur, a[1], &[info.cpu_ns, info.space_bytes])
            }
            Call::HwRandom => {
                let len = a[1].min(256) as usize;
                let mut buf = [0u8; 256];
                let mut n = 0;
                while n < len {
                    let Some(v) = cpu::hw_random_u64(self.hw_rng.0, self.hw_rng.1) else { break };
                    let b = v.to_le_bytes();
                    let k = (len - n).min(8);
                    buf[n..n + k].copy_from_slice(&b[..k]);
                    n += k;
                }
                if !paging::write_user(self.pml4(cur), a[0], &buf[..n]) {
                    return Ret::Err(Error::Fault);
                }
                Ret::Value(n as u64)
            }
            Call::DevMap => self.k_dev_map(cur, a[0], a[1], a[2], a[3]),
            Call::DmaAlloc => self.k_dma_alloc(cur, a[0], a[1], a[2]),
            Call::IrqBind => {
                let gsi = a[0] as u32;
                match self.tasks[cur].irqs {
                    Some((lo, hi)) if (lo..=hi).contains(&gsi) && gsi < crate::ioapic::MAX_GSI => {
                        if !crate::ioapic::route(gsi) {
                            return Ret::Err(Error::NoSuchObject);
                        }
                        self.irq_bindings[gsi as usize] = Some((self.task_id(cur).0, a[1]));
                        Ret::Value(0)
                    }
                    _ => Ret::Err(Error::Denied),
                }
            }
            Call::ServerLookup => {
                let mut name = [0u8; 32];
                let len = a[1] as usize;
                if len > name.len() || !paging::read_user(self.pml4(cur), a[0], &mut name[..len]) {
                    return Ret::Err(Error::Fault);
                }
                match self.servers.iter().flatten().find(|s| s.name[..s.len] == name[..len]) {
                    Some(s) if self.task_slot(s.task as u64).is_some() => Ret::Value(s.task as u64),
                    _ => Ret::Err(Error::NoSuchObject),
                }
            }
            Call::SpaceSetLimit => match self.controlled_space(cur, a[0]) {
                Some(s) => {
                    self.accounts[self.spaces[s].account as usize].limit_pages = a[1] / PAGE;
                    Ret::Value(0)
                }
                None => Ret::Err(Error::Denied),
            },
        }
    }

    fn pml4(&self, cur: usize) -> u64 {
        self.spaces[self.tasks[cur].space as usize].pml4
    }

    fn put_words(&self, cur: usize, ptr: u64, words: &[u64]) -> Ret {
        let mut b = [0u8; 64];
        for (i, w) in words.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        if paging::write_user(self.pml4(cur), ptr, &b[..words.len() * 8]) {
            Ret::Value(0)
        } else {
            Ret::Err(Error::Fault)
        }
    }

    fn k_log(&mut self, cur: usize, ptr: u64, len: u64) -> Ret {
        let mut buf = [0u8; 512];
        let mut done = 0u64;
        let len = len.min(64 * 1024);
        while done < len {
            let n = (len - done).min(512) as usize;
            if !paging::read_user(self.pml4(cur), ptr + done, &mut buf[..n]) {
                return Ret::Err(Error::Fault);
            }
            serial::write_bytes(&buf[..n]);
            done += n as u64;
        }
        Ret::Value(len)
    }

    /// A space the caller may change: its own, or one it created.
    fn controlled_space(&self, cur: usize, id: u64) -> Option<usize> {
        let s = self.space_slot(id)?;
        (s == self.tasks[cur].space as usize || self.spaces[s].owner as usize == cur).then_some(s)
    }

    fn owned_task(&self, cur: usize, id: u64) -> Result<usize, Error> {
        let t = self.task_slot(id).ok_or(Error::NoSuchObject)?;
        if self.tasks[t].owner as usize != cur {
            return Err(Error::Denied);
        }
        Ok(t)
    }

    fn k_space_destroy(&mut self, cur: usize, id: u64) -> Ret {
        let Some(s) = self.space_slot(id) else { return Ret::Err(Error::NoSuchObject) };
        if self.spaces[s].owner as usize != cur || s == self.tasks[cur].space as usize {
            return Ret::Err(Error::Denied);
        }
        self.destroy_space(s);
        Ret::Value(0)
    }

    fn k_mem_map(&mut self, cur: usize, id: u64, va: u64, len: u64, prot: u64) -> Ret {
        let Some(s) = self.controlled_space(cur, id) else { return Ret::Err(Error::Denied) };
        if !check_user_range(va, len) || prot & !sion_abi::call::prot::ALL != 0 {
            return Ret::Err(Error::Invalid);
        }
        let pml4 = self.spaces[s].pml4;
        let pages = len / PAGE;
        if (0..pages).any(|i| paging::translate(pml4, va + i * PAGE).is_some()) {
            return Ret::Err(Error::Exists);
        }
        if pages > self.free_frames() || !self.charge(s, pages) {
            return Ret::Err(Error::NoMemory);
        }
        let flags = paging::user_flags(prot);
        for i in 0..pages {
            let page = va + i * PAGE;
            let ok = match self.frames.alloc() {
                Some(frame) => match paging::leaf(pml4, page, Some(&mut self.frames)) {
                    Some(e) => {
                        *e = frame | flags;
                        true
                    }
                    None => {
                        self.frames.release(frame);
                        false
                    }
                },
                None => false,
            };
            if !ok {
                self.uncharge(s, pages - i);
                self.unmap_range(s, va, i * PAGE);
                return Ret::Err(Error::NoMemory);
            }
        }
        Ret::Value(0)
    }

    fn unmap_range(&mut self, s: usize, va: u64, len: u64) {
        let pml4 = self.spaces[s].pml4;
        for i in 0..len / PAGE {
            let page = va + i * PAGE;
            if let Some(e) = paging::leaf(pml4, page, None) {
                if *e & pte::PRESENT != 0 {
                    let old = *e;
                    *e = 0;
                    paging::flush(pml4, page);
                    // The account pays for frames, not mappings: it is
                    // paid back when the last mapping of a frame goes.
                    if old & pte::BORROWED == 0 && self.frames.release(old & pte::ADDR_MASK) {
                        self.uncharge_frames(s, 1);
                    }
                    self.spaces[s].pages = self.spaces[s].pages.saturating_sub(1);
                }
            }
        }
        // Before anything else may take the frames released above.
        self.shootdown(s, false);
    }

    fn k_space_clone(&mut self, cur: usize, id: u64) -> Ret {
        let Some(src) = self.controlled_space(cur, id) else { return Ret::Err(Error::Denied) };
        if src == self.tasks[cur].space as usize {
            return Ret::Err(Error::Denied);
        }
        let Some(dst) = self.alloc_space(cur as u16) else { return Ret::Err(Error::NoMemory) };
        let (from, to) = (self.spaces[src].pml4, self.spaces[dst].pml4);
        match paging::clone_user_half(&mut self.frames, from, to) {
            Some(pages) => {
                // The source lost write access to its pages: drop stale TLB
                // entries, here and on other CPUs running its threads.
                if crate::percpu::this().loaded_pml4.load(core::sync::atomic::Ordering::Relaxed) == from {
                    cpu::write_cr3(from);
                }
                self.shootdown(src, false);
                // The clone is charged to the source's account: a job's
                // processes share one limit. The frames are the source's,
                // already paid for; a copy-on-write copy is charged when
                // it is made (`unshare_page`).
                self.share_account(dst, src);
                self.spaces[dst].pages = pages;
                Ret::Value(self.space_id(dst).0 as u64)
            }
            None => {
                self.destroy_space(dst);
                Ret::Err(Error::NoMemory)
            }
        }
    }

    /// Give space `s` its own copy of every copy-on-write page in the range
    /// (before the kernel writes there on someone's behalf).
    fn unshare_range(&mut self, s: usize, va: u64, len: u64) {
        let Some(end) = va.checked_add(len) else { return };
        let mut page = va & !(PAGE - 1);
        while page < end && page < sion_abi::USER_END {
            self.unshare_page(s, page);
            page += PAGE;
        }
    }

    fn k_mem_share(&mut self, cur: usize, a: [u64; 6]) -> Ret {
        let (Some(from), Some(to)) = (self.controlled_space(cur, a[0]), self.controlled_space(cur, a[2])) else { return Ret::Err(Error::Denied) };
        let (src, dst, len, prot) = (a[1], a[3], a[4], a[5]);
        if !check_user_range(src, len) || !check_user_range(dst, len) || prot & !sion_abi::call::prot::ALL != 0 {
            return Ret::Err(Error::Invalid);
        }
        let (spml4, dpml4) = (self.spaces[from].pml4, self.spaces[to].pml4);
        let pages = len / PAGE;
        for i in 0..pages {
            match paging::translate(spml4, src + i * PAGE) {
                Some(e) if e & pte::SHARED != 0 && e & pte::BORROWED == 0 => {}
                _ => return Ret::Err(Error::Invalid),
            }
            if paging::translate(dpml4, dst + i * PAGE).is_some() {
                return Ret::Err(Error::Exists);
            }
        }
        // The frames exist and are paid for already (accounts pay for
        // frames, not mappings): the space maps more pages, its account
        // pays nothing more.
        self.spaces[to].pages += pages;
        let flags = paging::user_flags(prot) | pte::SHARED;
        for i in 0..pages {
            let frame = paging::translate(spml4, src + i * PAGE).map(|e| e & pte::ADDR_MASK).unwrap_or(0);
            match paging::leaf(dpml4, dst + i * PAGE, Some(&mut self.frames)) {
                Some(e) => {
                    self.frames.share(frame);
                    *e = frame | flags;
                }
                None => {
                    // Out of frames for a page table: undo what was mapped.
                    self.spaces[to].pages -= pages - i;
                    self.unmap_range(to, dst, i * PAGE);
                    return Ret::Err(Error::NoMemory);
                }
            }
        }
        Ret::Value(0)
    }

    fn k_mem_unmap(&mut self, cur: usize, id: u64, va: u64, len: u64) -> Ret {
        let Some(s) = self.controlled_space(cur, id) else { return Ret::Err(Error::Denied) };
        if !check_user_range(va, len) {
            return Ret::Err(Error::Invalid);
        }
        self.unmap_range(s, va, len);
        Ret::Value(0)
    }

    fn k_mem_protect(&mut self, cur: usize, id: u64, va: u64, len: u64, prot: u64) -> Ret {
        let Some(s) = self.controlled_space(cur, id) else { return Ret::Err(Error::Denied) };
        if !check_user_range(va, len) || prot & !sion_abi::call::prot::ALL != 0 {
            return Ret::Err(Error::Invalid);
        }
        let pml4 = self.spaces[s].pml4;
        let flags = paging::user_flags(prot);
        for i in 0..len / PAGE {
            let page = va + i * PAGE;
            if let Some(e) = paging::leaf(pml4, page, None) {
                if *e & pte::PRESENT != 0 {
                    let pa = *e & pte::ADDR_MASK;
                    // Shared memory stays shared whatever the new protection.
                    let mut f = flags | (*e & pte::SHARED);
                    // A frame shared copy-on-write stays write-protected: writable means copy-on-write.
                    if f & pte::WRITABLE != 0 && f & pte::SHARED == 0 && *e & pte::BORROWED == 0 && self.frames.refs(pa) > 1 {
                        f = (f & !pte::WRITABLE) | pte::COW;
                    }
                    *e = (*e & (pte::ADDR_MASK | pte::BORROWED)) | f;
                    paging::flush(pml4, page);
                }
            }
        }
        self.shootdown(s, false);
        Ret::Value(0)
    }

    fn k_dev_map(&mut self, cur: usize, id: u64, va: u64, pa: u64, len: u64) -> Ret {
        let Some(s) = self.controlled_space(cur, id) else { return Ret::Err(Error::Denied) };
        let windows = self.tasks[cur].mmio;
        if windows.iter().all(Option::is_none) {
            return Ret::Err(Error::Denied);
        }
        let inside = windows.iter().flatten().any(|&(base, size)| pa >= base && pa.saturating_add(len) <= base + size);
        if !check_user_range(va, len) || !pa.is_multiple_of(PAGE) || !inside {
            return Ret::Err(Error::Invalid);
        }
        if (0..len / PAGE).any(|i| self.frames.is_ram(pa + i * PAGE)) {
            return Ret::Err(Error::Denied);
        }
        let pml4 = self.spaces[s].pml4;
        if (0..len / PAGE).any(|i| paging::translate(pml4, va + i * PAGE).is_some()) {
            return Ret::Err(Error::Exists);
        }
        let flags = paging::user_flags(sion_abi::call::prot::READ | sion_abi::call::prot::WRITE) | pte::NO_CACHE | pte::WRITE_THROUGH | pte::BORROWED;
        for i in 0..len / PAGE {
            match paging::leaf(pml4, va + i * PAGE, Some(&mut self.frames)) {
                Some(e) => *e = (pa + i * PAGE) | flags,
                None => return Ret::Err(Error::NoMemory),
            }
        }
        Ret::Value(0)
    }

    fn k_dma_alloc(&mut self, cur: usize, id: u64, va: u64, len: u64) -> Ret {
        let Some(s) = self.controlled_space(cur, id) else { return Ret::Err(Error::Denied) };
        if self.tasks[cur].mmio.iter().all(Option::is_none) && self.tasks[cur].irqs.is_none() {
            return Ret::Err(Error::Denied);
        }
        if !check_user_range(va, len) {
            return Ret::Err(Error::Invalid);
        }
        let pml4 = self.spaces[s].pml4;
        let pages = len / PAGE;
        if (0..pages).any(|i| paging::translate(pml4, va + i * PAGE).is_some()) {
            return Ret::Err(Error::Exists);
        }
        if !self.charge(s, pages) {
            return Ret::Err(Error::NoMemory);
        }
        let Some(pa) = self.frames.alloc_contiguous(pages) else {
            self.uncharge(s, pages);
            return Ret::Err(Error::NoMemory);
        };
        let flags = paging::user_flags(sion_abi::call::prot::READ | sion_abi::call::prot::WRITE);
        for i in 0..pages {
            match paging::leaf(pml4, va + i * PAGE, Some(&mut self.frames)) {
                Some(e) => *e = (pa + i * PAGE) | flags,
                None => {
                    self.uncharge(s, pages - i);
                    return Ret::Err(Error::NoMemory);
                }
            }
        }
        Ret::Value(pa)
    }

    fn k_task_create(&mut self, cur: usize, space: u64, kind: u64) -> Ret {
        let Some(s) = self.controlled_space(cur, space) else { return Ret::Err(Error::Denied) };
        let kind = match kind {
            0 => TaskKind::Native,
            1 => TaskKind::Linux,
            _ => return Ret::Err(Error::Invalid),
        };
        let Some(t) = self.alloc_task() else { return Ret::Err(Error::NoMemory) };
        let task = &mut self.tasks[t];
        task.kind = kind;
        task.space = s as u16;
        task.handler = cur as u16;
        task.owner = cur as u16;
        task.frame.cs = sion_abi::regs::selector::USER_CODE64 as u64;
        task.frame.ss = sion_abi::regs::selector::USER_DATA as u64;
        task.frame.rflags = 0x202;
        Ret::Value(self.task_id(t).0 as u64)
    }

    /// Registers may change only while the task is not running: stopped, or
    /// blocked on its handler (the caller).
    fn settable(&self, cur: usize, t: usize) -> bool {
        match self.tasks[t].state {
            State::Stopped => true,
            State::Reply { from } => from as usize == cur,
            _ => false,
        }
    }

    /// A runnable Linux task leaves the run queue as if it had faulted
    /// where it stands; its handler hears of it with `VECTOR_INTERRUPT`.
    fn k_task_interrupt(&mut self, cur: usize, id: u64) -> Ret {
        let t = match self.owned_task(cur, id) {
            Ok(t) => t,
            Err(e) => return Ret::Err(e),
        };
        let task = &self.tasks[t];
        if task.kind != TaskKind::Linux {
            return Ret::Err(Error::Invalid);
        }
        if t == cur || task.state != State::Runnable || task.held {
            return Ret::Err(Error::BadState);
        }
        if let Some(c) = task.cpu() {
            // It computes on another CPU: stopped there at the IPI.
            self.tasks[t].interrupt_pending = true;
            self.kick(c);
            return Ret::Value(0);
        }
        self.runq.remove(t);
        self.linux_trap(t, crate::task::Outgoing::Fault { vector: sion_abi::msg::VECTOR_INTERRUPT, error: 0, addr: 0 });
        Ret::Value(0)
    }

    fn k_task_get_fpu(&mut self, cur: usize, id: u64, ptr: u64) -> Ret {
        let t = match self.owned_task(cur, id) {
            Ok(t) => t,
            Err(e) => return Ret::Err(e),
        };
        self.fpu_flush(t);
        if paging::write_user(self.pml4(cur), ptr, &self.tasks[t].fpu.0) {
            Ret::Value(0)
        } else {
            Ret::Err(Error::Fault)
        }
    }

    fn k_task_set_fpu(&mut self, cur: usize, id: u64, ptr: u64) -> Ret {
        let t = match self.owned_task(cur, id) {
            Ok(t) => t,
            Err(e) => return Ret::Err(e),
        };
        if !self.settable(cur, t) {
            return Ret::Err(Error::BadState);
        }
        let mut b = [0u8; sion_abi::call::FPU_STATE_SIZE];
        if !paging::read_user(self.pml4(cur), ptr, &mut b) {
            return Ret::Err(Error::Fault);
        }
        // fxrstor faults on MXCSR bits the CPU lacks: keep only real ones.
        let mxcsr = u32::from_le_bytes([b[24], b[25], b[26], b[27]]) & self.mxcsr_mask();
        b[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        self.fpu_flush(t);
        self.tasks[t].fpu.0 = b;
        Ret::Value(0)
    }

    fn k_task_set_regs(&mut self, cur: usize, id: u64, ptr: u64) -> Ret {
        let t = match self.owned_task(cur, id) {
            Ok(t) => t,
            Err(e) => return Ret::Err(e),
        };
        if !self.settable(cur, t) {
            return Ret::Err(Error::BadState);
        }
        let mut b = [0u8; TaskRegs::SIZE];
        if !paging::read_user(self.pml4(cur), ptr, &mut b) {
            return Ret::Err(Error::Fault);
        }
        let r = TaskRegs::decode(&b).unwrap();
        let canonical = |v: u64| v < sion_abi::USER_END;
        let mode = match r.mode {
            0 => Mode::Long,
            1 => Mode::Compat32,
            _ => return Ret::Err(Error::Invalid),
        };
        let tls_ok = r.tls.iter().all(|&d| d == 0 || ((d >> 44) & 1 == 1 && (d >> 45) & 3 == 3));
        if !canonical(r.rip) || !canonical(r.fs_base) || !canonical(r.gs_base) || !gdt::valid_user_selector(r.fs_sel) || !gdt::valid_user_selector(r.gs_sel) || !tls_ok {
            return Ret::Err(Error::Invalid);
        }
        let task = &mut self.tasks[t];
        let f = &mut task.frame;
        f.rax = r.rax;
        f.rbx = r.rbx;
        f.rcx = r.rcx;
        f.rdx = r.rdx;
        f.rsi = r.rsi;
        f.rdi = r.rdi;
        f.rbp = r.rbp;
        f.rsp = r.rsp;
        f.r8 = r.r8;
        f.r9 = r.r9;
        f.r10 = r.r10;
        f.r11 = r.r11;
        f.r12 = r.r12;
        f.r13 = r.r13;
        f.r14 = r.r14;
        f.r15 = r.r15;
        f.rip = r.rip;
        // User-settable flags only (CF PF AF ZF SF TF DF OF AC ID); IF always on.
        f.rflags = (r.rflags & 0x24_0dd5) | 0x202;
        f.cs = match mode {
            Mode::Long => sion_abi::regs::selector::USER_CODE64,
            Mode::Compat32 => sion_abi::regs::selector::USER_CODE32,
        } as u64;
        f.ss = sion_abi::regs::selector::USER_DATA as u64;
        task.fs_base = r.fs_base;
        task.gs_base = r.gs_base;
        task.fs_sel = r.fs_sel as u16;
        task.gs_sel = r.gs_sel as u16;
        task.tls = r.tls;
        Ret::Value(0)
    }

    fn k_task_get_regs(&mut self, cur: usize, id: u64, ptr: u64) -> Ret {
        let t = match self.owned_task(cur, id) {
            Ok(t) => t,
            Err(e) => return Ret::Err(e),
        };
        let task = &self.tasks[t];
        let f = &task.frame;
        let r = TaskRegs {
            rax: f.rax,
            rbx: f.rbx,
            rcx: f.rcx,
            rdx: f.rdx,
            rsi: f.rsi,
            rdi: f.rdi,
            rbp: f.rbp,
            rsp: f.rsp,
            r8: f.r8,
            r9: f.r9,
            r10: f.r10,
            r11: f.r11,
            r12: f.r12,
            r13: f.r13,
            r14: f.r14,
            r15: f.r15,
            rip: f.rip,
            rflags: f.rflags,
            fs_base: task.fs_base,
            gs_base: task.gs_base,
            mode: if task.is_compat() { Mode::Compat32 as u64 } else { Mode::Long as u64 },
            fs_sel: task.fs_sel as u64,
            gs_sel: task.gs_sel as u64,
            tls: task.tls,
        };
        if paging::write_user(self.pml4(cur), ptr, &r.encode()) {
            Ret::Value(0)
        } else {
            Ret::Err(Error::Fault)
        }
    }
}
