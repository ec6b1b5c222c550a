//! Starting the servers found in the boot archive.

use crate::kernel::Kernel;
use crate::mem::{frame_bytes, phys_slice};
use crate::paging;
use sion_abi::boot::{self, BootInfo};
use sion_kerncore::elf;
use sion_kerncore::memmap::Range;
use sion_kerncore::paging::pte;

const PAGE: u64 = 4096;

#[derive(Debug)]
pub enum LoadError {
    Elf(elf::ElfError),
    NoMemory,
    NoTask,
}

impl Kernel {
    /// Map a fresh frame at `va` (or reuse the one there) and return it.
    fn server_page(&mut self, space: usize, va: u64, flags: u64) -> Result<u64, LoadError> {
        let pml4 = self.spaces[space].pml4;
        if let Some(e) = paging::translate(pml4, va) {
            let merged = (e | (flags & (pte::WRITABLE | pte::USER))) & !(if flags & pte::NO_EXECUTE == 0 { pte::NO_EXECUTE } else { 0 });
            *paging::leaf(pml4, va, None).unwrap() = merged;
            return Ok(e & pte::ADDR_MASK);
        }
        let frame = self.frames.alloc().ok_or(LoadError::NoMemory)?;
        let e = paging::leaf(pml4, va, Some(&mut self.frames)).ok_or(LoadError::NoMemory)?;
        *e = frame | flags;
        // Boot servers have no limit: the charge cannot fail.
        self.charge(space, 1);
        Ok(frame)
    }

    /// Load a server image into a new space and make it runnable.
    pub fn start_server(&mut self, name: &str, image: &[u8], archive: Range, cmdline: &str, privileged: bool, grants: Grants) -> Result<usize, LoadError> {
        let img = elf::parse(image).map_err(LoadError::Elf)?;
        let t = self.alloc_task().ok_or(LoadError::NoTask)?;
        let s = self.alloc_space(t as u16).ok_or(LoadError::NoMemory)?;
        for seg in img.segments() {
            let flags = paging::user_flags(seg.prot());
            let start = seg.vaddr & !(PAGE - 1);
            let end = (seg.vaddr + seg.mem_size).div_ceil(PAGE) * PAGE;
            let mut va = start;
            while va < end {
                let frame = self.server_page(s, va, flags)?;
                // The part of the file that lands in this page.
                let lo = va.max(seg.vaddr);
                let hi = (va + PAGE).min(seg.vaddr + seg.file_size);
                if hi > lo {
                    let from = (seg.file_offset + (lo - seg.vaddr)) as usize;
                    let dst = &mut frame_bytes(frame)[(lo - va) as usize..(hi - va) as usize];
                    dst.copy_from_slice(&image[from..from + dst.len()]);
                }
                va += PAGE;
            }
        }
        let rw = paging::user_flags(sion_abi::call::prot::READ | sion_abi::call::prot::WRITE);
        let ro = paging::user_flags(sion_abi::call::prot::READ);
        let mut va = boot::SERVER_STACK_TOP - boot::SERVER_STACK_SIZE;
        while va < boot::SERVER_STACK_TOP {
            self.server_page(s, va, rw)?;
            va += PAGE;
        }
        // The archive, read-only and shared with the boot module itself.
        let base = archive.start & !(PAGE - 1);
        let offset = archive.start - base;
        let mut pa = base;
        while pa < archive.end {
            let e = paging::leaf(self.spaces[s].pml4, boot::ARCHIVE_ADDR + (pa - base), Some(&mut self.frames)).ok_or(LoadError::NoMemory)?;
            *e = pa | ro | pte::BORROWED;
            pa += PAGE;
        }
        let info = BootInfo {
            magic: boot::BOOT_MAGIC,
            self_task: self.task_id(t).0,
            self_space: self.space_id(s).0,
            archive_addr: boot::ARCHIVE_ADDR + offset,
            archive_len: archive.len(),
            cmdline_addr: boot::BOOT_INFO_ADDR + BootInfo::SIZE as u64,
            cmdline_len: cmdline.len().min(PAGE as usize - BootInfo::SIZE) as u64,
            total_memory: self.frames.total * PAGE,
        };
        let frame = self.server_page(s, boot::BOOT_INFO_ADDR, ro)?;
        let page = frame_bytes(frame);
        page[..BootInfo::SIZE].copy_from_slice(&info.encode());
        let n = info.cmdline_len as usize;
        page[BootInfo::SIZE..BootInfo::SIZE + n].copy_from_slice(&cmdline.as_bytes()[..n]);

        let task = &mut self.tasks[t];
        task.space = s as u16;
        task.owner = t as u16;
        task.privileged = privileged;
        task.io = grants.io;
        task.mmio = grants.mmio;
        task.irqs = grants.irqs;
        task.frame.rip = img.entry;
        task.frame.rsp = boot::SERVER_STACK_TOP - 8;
        task.frame.rdi = boot::BOOT_INFO_ADDR;
        task.frame.cs = sion_abi::regs::selector::USER_CODE64 as u64;
        task.frame.ss = sion_abi::regs::selector::USER_DATA as u64;
        task.frame.rflags = 0x202;
        self.make_runnable(t);
        let id = self.task_id(t).0;
        if let Some(slot) = self.servers.iter_mut().find(|s| s.is_none()) {
            let mut n = crate::kernel::ServerName { name: [0; 32], len: name.len().min(32), task: id };
            n.name[..n.len].copy_from_slice(&name.as_bytes()[..n.len]);
            *slot = Some(n);
        }
        crate::kprintln!("started server {} as task {:#x} ({} pages){}", name, self.task_id(t).0, self.spaces[s].pages, if grants.mmio.iter().any(Option::is_some) || grants.irqs.is_some() { " with device grants" } else { "" });
        Ok(t)
    }

    /// Start every `servers/*` entry of every boot archive; the first is the boot server.
    pub fn start_servers(&mut self, modules: &[Range], cmdline: &str) -> usize {
        let mut started = 0;
        for m in modules {
            let bytes = phys_slice(m.start, m.len() as usize);
            for entry in sion_abi::bootfs::Reader::new(bytes) {
                let e = match entry {
                    Ok(e) => e,
                    Err(err) => {
                        crate::kprintln!("boot archive at {:#x} refused: {:?}", m.start, err);
                        break;
                    }
                };
                let Some(name) = e.name.strip_prefix(boot::names::SERVERS) else { continue };
                let first = started == 0;
                let grants = Grants::from_cmdline(cmdline, name, first);
                match self.start_server(name, e.data, *m, cmdline, first, grants) {
                    Ok(_) => started += 1,
                    Err(err) => crate::kprintln!("server {} refused: {:?}", name, err),
                }
            }
        }
        started
    }
}

/// What a server may touch of the hardware, from the kernel command line:
/// `io=BASE:COUNT` (the boot server's I/O ports), `NAME.io=BASE:COUNT`,
/// `NAME.mmio=BASE:LEN[,BASE:LEN...]` (hex, up to four windows), `NAME.irq=LO-HI`. The policy is the command
/// line's (composed by the tools); the kernel only enforces it.
#[derive(Clone, Copy, Default)]
pub struct Grants {
    pub io: Option<(u16, u16)>,
    pub mmio: [Option<(u64, u64)>; crate::task::MAX_MMIO_WINDOWS],
    pub irqs: Option<(u32, u32)>,
}

fn hex(v: &str) -> Option<u64> {
    u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
}

impl Grants {
    fn from_cmdline(cmdline: &str, name: &str, boot_server: bool) -> Grants {
        let mut g = Grants::default();
        for word in cmdline.split_ascii_whitespace() {
            let Some((key, value)) = word.split_once('=') else { continue };
            let field = match key.split_once('.') {
                Some((server, field)) if server == name => field,
                None if boot_server && key == "io" => "io",
                _ => continue,
            };
            match field {
                "io" => {
                    g.io = value.split_once(':').and_then(|(b, c)| Some((hex(b)? as u16, c.parse().ok()?)));
                }
                "mmio" => {
                    for (slot, window) in g.mmio.iter_mut().zip(value.split(',')) {
                        *slot = window.split_once(':').and_then(|(b, l)| Some((hex(b)?, hex(l)?)));
                    }
                }
                "irq" => g.irqs = value.split_once('-').and_then(|(lo, hi)| Some((lo.parse().ok()?, hi.parse().ok()?))),
                _ => {}
            }
        }
        g
    }
}
