//! Starting a server image in a new address space from user space: what the
//! kernel does for the boot archive's servers, done by a server for servers it
//! starts on demand (the group server starts a personality per job). The
//! caller owns the new space and is the new task's handler: it hears of the
//! task's faults and frees everything with `space_destroy`.

use crate::{mem_map, mem_protect, mem_write, space_create, space_destroy, task_create, task_set_regs, task_start, Result};
use alloc::vec;
use sion_abi::boot::{self, BootInfo};
use sion_abi::call::{prot, Error, TaskKind};
use sion_abi::regs::TaskRegs;
use sion_abi::{SpaceId, TaskId};
use sion_kerncore::elf;

const PAGE: u64 = 4096;

fn round_up(v: u64) -> u64 {
    v.div_ceil(PAGE) * PAGE
}

/// Copy `data` to `addr` of `space` (already mapped writable), all of it.
fn write_all(space: SpaceId, addr: u64, data: &[u8]) -> Result<()> {
    let mut done = 0;
    while done < data.len() {
        let n = mem_write(space, addr + done as u64, &data[done..])?;
        if n == 0 {
            return Err(Error::Fault);
        }
        done += n;
    }
    Ok(())
}

/// What a started server gets besides its image.
pub struct Start<'a> {
    /// Mapped read-only at [`boot::ARCHIVE_ADDR`], as the boot archive is for boot servers.
    pub archive: &'a [u8],
    /// Its command line (in the boot info page).
    pub cmdline: &'a str,
    /// A cap on the memory of its space (0: none).
    pub mem_limit: u64,
}

/// Load `image` (a static ELF64 server) into a new space and start it.
pub fn start_server(image: &[u8], start: &Start) -> core::result::Result<(TaskId, SpaceId), Error> {
    let img = elf::parse(image).map_err(|_| Error::Invalid)?;
    let space = space_create()?;
    let built = (|| -> Result<TaskId> {
        if start.mem_limit != 0 {
            crate::space_set_limit(space, start.mem_limit)?;
        }
        let rw = prot::READ | prot::WRITE;
        for seg in img.segments() {
            let lo = seg.vaddr & !(PAGE - 1);
            let hi = round_up(seg.vaddr + seg.mem_size);
            mem_map(space, lo, hi - lo, rw)?;
            let from = seg.file_offset as usize;
            write_all(space, seg.vaddr, &image[from..from + seg.file_size as usize])?;
            mem_protect(space, lo, hi - lo, seg.prot())?;
        }
        mem_map(space, boot::SERVER_STACK_TOP - boot::SERVER_STACK_SIZE, boot::SERVER_STACK_SIZE, rw)?;
        if !start.archive.is_empty() {
            let len = round_up(start.archive.len() as u64);
            mem_map(space, boot::ARCHIVE_ADDR, len, rw)?;
            write_all(space, boot::ARCHIVE_ADDR, start.archive)?;
            mem_protect(space, boot::ARCHIVE_ADDR, len, prot::READ)?;
        }
        let task = task_create(space, TaskKind::Native)?;
        let cmdline = &start.cmdline.as_bytes()[..start.cmdline.len().min(PAGE as usize - BootInfo::SIZE)];
        let info = BootInfo {
            magic: boot::BOOT_MAGIC,
            self_task: task.0,
            self_space: space.0,
            archive_addr: boot::ARCHIVE_ADDR,
            archive_len: start.archive.len() as u64,
            cmdline_addr: boot::BOOT_INFO_ADDR + BootInfo::SIZE as u64,
            cmdline_len: cmdline.len() as u64,
            total_memory: crate::sys_info().map(|i| i.total_frames * PAGE).unwrap_or(0),
        };
        let mut page = vec![0u8; BootInfo::SIZE + cmdline.len()];
        page[..BootInfo::SIZE].copy_from_slice(&info.encode());
        page[BootInfo::SIZE..].copy_from_slice(cmdline);
        mem_map(space, boot::BOOT_INFO_ADDR, PAGE, rw)?;
        write_all(space, boot::BOOT_INFO_ADDR, &page)?;
        mem_protect(space, boot::BOOT_INFO_ADDR, PAGE, prot::READ)?;
        let regs = TaskRegs { rip: img.entry, rsp: boot::SERVER_STACK_TOP - 8, rdi: boot::BOOT_INFO_ADDR, rflags: 0x202, ..Default::default() };
        task_set_regs(task, &regs)?;
        task_start(task)?;
        Ok(task)
    })();
    match built {
        Ok(task) => Ok((task, space)),
        Err(e) => {
            let _ = space_destroy(space);
            Err(e)
        }
    }
}
