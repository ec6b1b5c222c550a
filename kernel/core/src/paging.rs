//! x86-64 four-level paging arithmetic: indexes, entry flags from protections.

use sion_abi::call::prot;

pub const PAGE_SIZE: u64 = 4096;
pub const LARGE_PAGE_SIZE: u64 = 2 * 1024 * 1024;

/// Page-table entry bits.
pub mod pte {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITABLE: u64 = 1 << 1;
    pub const USER: u64 = 1 << 2;
    pub const WRITE_THROUGH: u64 = 1 << 3;
    pub const NO_CACHE: u64 = 1 << 4;
    pub const HUGE: u64 = 1 << 7;
    pub const GLOBAL: u64 = 1 << 8;
    /// Software bit: the frame is not owned by the space (boot modules mapped
    /// read-only, device memory) and must not be freed with it.
    pub const BORROWED: u64 = 1 << 9;
    /// Software bit: the page is writable for its space but shares its frame
    /// with another space (after `space_clone`); the first write copies it.
    pub const COW: u64 = 1 << 10;
    /// Software bit: the page is shared memory (`prot::SHARED`): clones of
    /// the space share the frame writable, never copy-on-write.
    pub const SHARED: u64 = 1 << 11;
    pub const NO_EXECUTE: u64 = 1 << 63;
    pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
}

/// The four table indexes of a virtual address, PML4 first.
pub fn indexes(va: u64) -> [usize; 4] {
    [((va >> 39) & 511) as usize, ((va >> 30) & 511) as usize, ((va >> 21) & 511) as usize, ((va >> 12) & 511) as usize]
}

/// Is `va` a canonical lower-half (user) address?
pub fn is_user(va: u64) -> bool {
    va < sion_abi::USER_END
}

/// Leaf entry flags for a user page with Linux-style protection bits.
/// No access at all (PROT_NONE) keeps the page present but supervisor-only, so
/// any user access faults with the present bit set (a protection fault).
pub fn user_leaf_flags(p: u64) -> u64 {
    let mut f = pte::PRESENT;
    if p & (prot::READ | prot::WRITE | prot::EXEC) != 0 {
        f |= pte::USER;
    }
    if p & prot::WRITE != 0 {
        f |= pte::WRITABLE;
    }
    if p & prot::EXEC == 0 {
        f |= pte::NO_EXECUTE;
    }
    if p & prot::SHARED != 0 {
        f |= pte::SHARED;
    }
    f
}

/// Does a leaf entry allow a user read (and write, if `write`)?
pub fn user_allows(entry: u64, write: bool) -> bool {
    entry & pte::PRESENT != 0 && entry & pte::USER != 0 && (!write || entry & pte::WRITABLE != 0)
}

/// Page-aligned range check for user memory calls: `[va, va+len)` must be
/// page aligned, non-empty and inside the user half.
pub fn check_user_range(va: u64, len: u64) -> bool {
    va.is_multiple_of(PAGE_SIZE) && len.is_multiple_of(PAGE_SIZE) && len > 0 && va.checked_add(len).is_some_and(|end| end <= sion_abi::USER_END)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_math() {
        assert_eq!(indexes(0), [0, 0, 0, 0]);
        assert_eq!(indexes(0xffff_8000_0000_0000), [256, 0, 0, 0]);
        assert_eq!(indexes(0xffff_ffff_8010_0000), [511, 510, 0, 256]);
        assert_eq!(indexes(0x40_1000), [0, 0, 2, 1]);
    }

    #[test]
    fn protections() {
        let rw = user_leaf_flags(prot::READ | prot::WRITE);
        assert!(user_allows(rw, true));
        assert!(rw & pte::NO_EXECUTE != 0);
        let rx = user_leaf_flags(prot::READ | prot::EXEC);
        assert!(user_allows(rx, false) && !user_allows(rx, true));
        assert!(rx & pte::NO_EXECUTE == 0);
        let none = user_leaf_flags(0);
        assert!(!user_allows(none, false));
        assert!(none & pte::PRESENT != 0);
    }

    #[test]
    fn user_ranges() {
        assert!(check_user_range(0x1000, 0x1000));
        assert!(!check_user_range(0x1001, 0x1000));
        assert!(!check_user_range(0x1000, 0));
        assert!(!check_user_range(0x7fff_ffff_f000, 0x2000));
        assert!(!check_user_range(u64::MAX & !0xfff, 0x1000));
    }
}
