//! Page tables: the kernel's own, and one per user address space.

use crate::cpu;
use crate::mem::{self, table, Frames, DIRECT_MAP, KERNEL_VMA, PAGE};
use sion_kerncore::paging::{indexes, pte, user_allows, LARGE_PAGE_SIZE};

/// The kernel half (PML4 entries 256..512) every space shares.
pub struct KernelTables {
    pub pml4: u64,
}

/// Whether the CPU has NX (EFER.NXE was set by the boot stub).
pub fn nx_enabled() -> bool {
    cpu::rdmsr(cpu::msr::EFER) & (1 << 11) != 0
}

fn strip_nx(flags: u64) -> u64 {
    if nx_enabled() {
        flags
    } else {
        flags & !pte::NO_EXECUTE
    }
}

/// Build the kernel's page tables: the direct map of `[0, max(ram_end, 4 GiB))`
/// with 2 MiB pages (device holes uncached) and the kernel image at
/// `KERNEL_VMA`. Called while the boot stub's identity map still covers the
/// first GiB, where the allocator's first frames lie.
pub fn build_kernel_tables(frames: &mut Frames) -> KernelTables {
    let pml4 = frames.alloc().expect("no frame for the kernel PML4");
    let end = frames.ram_end.max(4 << 30);
    let gib = end.div_ceil(1 << 30);
    assert!(gib <= 512 * 4, "more than 2 TiB of physical memory");
    let nx = strip_nx(pte::NO_EXECUTE);
    for g in 0..gib {
        let slot = 256 + (g / 512) as usize;
        if table(pml4)[slot] == 0 {
            let pdpt = frames.alloc().expect("no frame for the direct map");
            table(pml4)[slot] = pdpt | pte::PRESENT | pte::WRITABLE;
        }
        let pdpt = table(pml4)[slot] & pte::ADDR_MASK;
        let pd = frames.alloc().expect("no frame for the direct map");
        table(pdpt)[(g % 512) as usize] = pd | pte::PRESENT | pte::WRITABLE;
        for i in 0..512u64 {
            let pa = (g << 30) + i * LARGE_PAGE_SIZE;
            let mut f = pte::PRESENT | pte::WRITABLE | pte::HUGE | nx;
            if !frames.is_ram(pa) {
                f |= pte::NO_CACHE | pte::WRITE_THROUGH;
            }
            table(pd)[i as usize] = pa | f;
        }
    }
    // The kernel image: physical 0..1 GiB at KERNEL_VMA (the linker puts it at 1 MiB + KERNEL_VMA).
    let pdpt = frames.alloc().expect("no frame for the kernel map");
    let pd = frames.alloc().expect("no frame for the kernel map");
    table(pml4)[511] = pdpt | pte::PRESENT | pte::WRITABLE;
    let [_, kpdpt_index, _, _] = indexes(KERNEL_VMA);
    table(pdpt)[kpdpt_index] = pd | pte::PRESENT | pte::WRITABLE;
    for i in 0..512u64 {
        table(pd)[i as usize] = (i * LARGE_PAGE_SIZE) | pte::PRESENT | pte::WRITABLE | pte::HUGE;
    }
    cpu::write_cr3(pml4);
    KernelTables { pml4 }
}

/// A new user space: a PML4 whose kernel half is the kernel's.
pub fn new_space(frames: &mut Frames, kernel: &KernelTables) -> Option<u64> {
    let pml4 = frames.alloc()?;
    let k = table(kernel.pml4);
    let t = table(pml4);
    t[256..].copy_from_slice(&k[256..]);
    Some(pml4)
}

/// The leaf entry for `va`, creating intermediate tables when `create`.
/// Returns `None` if a table is missing (and not created) or memory ran out.
pub fn leaf(pml4: u64, va: u64, create: Option<&mut Frames>) -> Option<&'static mut u64> {
    let idx = indexes(va);
    let mut t = pml4;
    let mut frames = create;
    for &i in &idx[..3] {
        let e = &mut table(t)[i];
        if *e & pte::PRESENT == 0 {
            let f = frames.as_deref_mut()?.alloc()?;
            *e = f | pte::PRESENT | pte::WRITABLE | pte::USER;
        }
        if *e & pte::HUGE != 0 {
            return None;
        }
        t = *e & pte::ADDR_MASK;
    }
    Some(&mut table(t)[idx[3]])
}

/// The leaf entry of a mapped page, if any.
pub fn translate(pml4: u64, va: u64) -> Option<u64> {
    let e = *leaf(pml4, va, None)?;
    (e & pte::PRESENT != 0).then_some(e)
}

/// Copy between user memory of two spaces (or kernel memory when a side is
/// `None`), chunk by chunk through the direct map. Stops at the first page that
/// does not allow the access and returns how many bytes were copied.
pub enum Side<'a> {
    User { pml4: u64, va: u64 },
    Kernel(&'a mut [u8]),
    KernelRo(&'a [u8]),
}

fn user_chunk(pml4: u64, va: u64, write: bool, max: usize) -> Option<(*mut u8, usize)> {
    if va >= sion_abi::USER_END {
        return None;
    }
    let e = translate(pml4, va)?;
    if !user_allows(e, write) {
        return None;
    }
    let off = va & (PAGE - 1);
    let n = ((PAGE - off) as usize).min(max);
    Some(((DIRECT_MAP + (e & pte::ADDR_MASK) + off) as *mut u8, n))
}

/// Compare-and-exchange the 32-bit word at `va` (4-byte aligned) of a
/// space, atomically against other CPUs: the old word, or `None` when the
/// page is not mapped user-writable.
pub fn cmpxchg32(pml4: u64, va: u64, expected: u32, new: u32) -> Option<u32> {
    let (p, _) = user_chunk(pml4, va, true, 4)?;
    // SAFETY: `p` is the word's address in the direct map of a frame the
    // space maps user-writable, aligned (the caller checked va % 4 == 0).
    let word = unsafe { core::sync::atomic::AtomicU32::from_ptr(p as *mut u32) };
    Some(match word.compare_exchange(expected, new, core::sync::atomic::Ordering::SeqCst, core::sync::atomic::Ordering::SeqCst) {
        Ok(old) | Err(old) => old,
    })
}

pub fn copy(src: Side, dst: Side, len: usize) -> usize {
    let mut done = 0;
    while done < len {
        let want = len - done;
        let (sp, sn): (*const u8, usize) = match &src {
            Side::User { pml4, va } => match user_chunk(*pml4, va + done as u64, false, want) {
                Some((p, n)) => (p, n),
                None => break,
            },
            Side::Kernel(b) => (b[done..].as_ptr(), want.min(b.len() - done)),
            Side::KernelRo(b) => (b[done..].as_ptr(), want.min(b.len() - done)),
        };
        let (dp, dn): (*mut u8, usize) = match &dst {
            Side::User { pml4, va } => match user_chunk(*pml4, va + done as u64, true, want) {
                Some((p, n)) => (p, n),
                None => break,
            },
            Side::Kernel(b) => (b[done..].as_ptr() as *mut u8, want.min(b.len() - done)),
            Side::KernelRo(_) => break,
        };
        let n = sn.min(dn);
        if n == 0 {
            break;
        }
        // SAFETY: both pointers cover at least `n` bytes of distinct pages (or
        // of kernel buffers) checked above; copy handles overlap anyway.
        unsafe { core::ptr::copy(sp, dp, n) };
        done += n;
    }
    done
}

/// Copy `dst.len()` bytes from user memory; `false` if any byte was unreadable.
pub fn read_user(pml4: u64, va: u64, dst: &mut [u8]) -> bool {
    let n = dst.len();
    copy(Side::User { pml4, va }, Side::Kernel(dst), n) == n
}

pub fn write_user(pml4: u64, va: u64, src: &[u8]) -> bool {
    copy(Side::KernelRo(src), Side::User { pml4, va }, src.len()) == src.len()
}

/// Make `to` (an empty user half) map every page `from` maps, sharing the
/// frames: writable pages become copy-on-write in both. Returns the pages
/// mapped, or `None` when tables could not be had (`to` is then partial).
pub fn clone_user_half(frames: &mut Frames, from: u64, to: u64) -> Option<u64> {
    fn level(frames: &mut Frames, src: u64, dst: u64, depth: usize, pages: &mut u64) -> Option<()> {
        let limit = if depth == 0 { 256 } else { 512 };
        for i in 0..limit {
            let e = table(src)[i];
            if e & pte::PRESENT == 0 {
                continue;
            }
            if depth < 3 {
                let t = frames.alloc()?;
                table(dst)[i] = t | (e & !pte::ADDR_MASK);
                level(frames, e & pte::ADDR_MASK, t, depth + 1, pages)?;
            } else {
                let mut leaf = e;
                if e & pte::BORROWED == 0 {
                    frames.share(e & pte::ADDR_MASK);
                    if e & pte::WRITABLE != 0 && e & pte::SHARED == 0 {
                        leaf = (e & !pte::WRITABLE) | pte::COW;
                        table(src)[i] = leaf;
                    }
                }
                table(dst)[i] = leaf;
                *pages += 1;
            }
        }
        Some(())
    }
    let mut pages = 0;
    level(frames, from, to, 0, &mut pages)?;
    Some(pages)
}

/// Free every user frame and table of a space, then its PML4. Returns the
/// user frames freed (those no other space still maps).
pub fn destroy_space(frames: &mut Frames, pml4: u64) -> u64 {
    fn free_level(frames: &mut Frames, t: u64, level: usize, freed: &mut u64) {
        for i in 0..512 {
            let e = table(t)[i];
            if e & pte::PRESENT == 0 {
                continue;
            }
            let pa = e & pte::ADDR_MASK;
            if level < 3 {
                free_level(frames, pa, level + 1, freed);
                frames.free(pa);
            } else if e & pte::BORROWED == 0 && frames.release(pa) {
                *freed += 1;
            }
        }
    }
    let mut freed = 0;
    for i in 0..256 {
        let e = table(pml4)[i];
        if e & pte::PRESENT != 0 {
            free_level(frames, e & pte::ADDR_MASK, 1, &mut freed);
            frames.free(e & pte::ADDR_MASK);
        }
    }
    frames.free(pml4);
    freed
}

/// Leaf flags for user pages, dropping NX when the CPU lacks it.
pub fn user_flags(prot: u64) -> u64 {
    strip_nx(sion_kerncore::paging::user_leaf_flags(prot))
}

pub fn flush(pml4: u64, va: u64) {
    if cpu::read_cr3() & pte::ADDR_MASK == pml4 {
        cpu::invlpg(va);
    }
}

#[allow(dead_code)]
pub fn direct(pa: u64) -> u64 {
    mem::phys_to_virt(pa) as u64
}
