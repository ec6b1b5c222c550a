//! The register state of a user task as its handler reads and sets it
//! (`task_get_regs` / `task_set_regs`).

/// Execution mode of a task's user code.
#[repr(u64)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// 64-bit long mode (user code selector 0x2b).
    Long = 0,
    /// 32-bit compatibility mode (user code selector 0x1b), for i386 programs.
    Compat32 = 1,
}

/// Number of TLS descriptor slots per task (as Linux's GDT_ENTRY_TLS_ENTRIES).
pub const TLS_SLOTS: usize = 3;
/// GDT index of the first TLS slot: selector = (index << 3) | 3.
pub const TLS_FIRST_GDT_INDEX: usize = 8;

/// Selectors user code sees (the GDT layout is fixed; see the kernel's gdt.rs).
pub mod selector {
    pub const USER_CODE32: u16 = 0x1b;
    pub const USER_DATA: u16 = 0x23;
    pub const USER_CODE64: u16 = 0x2b;
}

/// The general registers, instruction pointer and thread-pointer state.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TaskRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    /// FS base (64-bit TLS, `arch_prctl(ARCH_SET_FS)`).
    pub fs_base: u64,
    pub gs_base: u64,
    /// A [`Mode`] value.
    pub mode: u64,
    /// Segment selectors of a 32-bit task (fs, gs), 0 = null.
    pub fs_sel: u64,
    pub gs_sel: u64,
    /// The task's TLS descriptors, raw 8-byte GDT entries (`set_thread_area`),
    /// installed at GDT index [`TLS_FIRST_GDT_INDEX`] + i when the task runs.
    pub tls: [u64; TLS_SLOTS],
}

impl TaskRegs {
    pub const SIZE: usize = 8 * (23 + TLS_SLOTS);

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        for (i, v) in self.as_array().iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<TaskRegs> {
        if bytes.len() < Self::SIZE {
            return None;
        }
        let mut a = [0u64; Self::SIZE / 8];
        for (i, v) in a.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            *v = u64::from_le_bytes(b);
        }
        Some(Self::from_array(&a))
    }

    fn as_array(&self) -> [u64; Self::SIZE / 8] {
        [
            self.rax, self.rbx, self.rcx, self.rdx, self.rsi, self.rdi, self.rbp, self.rsp, self.r8, self.r9,
            self.r10, self.r11, self.r12, self.r13, self.r14, self.r15, self.rip, self.rflags, self.fs_base,
            self.gs_base, self.mode, self.fs_sel, self.gs_sel, self.tls[0], self.tls[1], self.tls[2],
        ]
    }

    fn from_array(a: &[u64; Self::SIZE / 8]) -> TaskRegs {
        TaskRegs {
            rax: a[0],
            rbx: a[1],
            rcx: a[2],
            rdx: a[3],
            rsi: a[4],
            rdi: a[5],
            rbp: a[6],
            rsp: a[7],
            r8: a[8],
            r9: a[9],
            r10: a[10],
            r11: a[11],
            r12: a[12],
            r13: a[13],
            r14: a[14],
            r15: a[15],
            rip: a[16],
            rflags: a[17],
            fs_base: a[18],
            gs_base: a[19],
            mode: a[20],
            fs_sel: a[21],
            gs_sel: a[22],
            tls: [a[23], a[24], a[25]],
        }
    }
}

/// Build a 32-bit data/code segment descriptor as `set_thread_area` describes it
/// (Linux's `struct user_desc` fields). Returns the raw GDT entry; an "empty"
/// request gives 0.
pub fn tls_descriptor(base: u32, limit: u32, seg_32bit: bool, contents: u32, read_exec_only: bool, limit_in_pages: bool, seg_not_present: bool) -> u64 {
    // Linux treats all-zero (apart from read_exec_only/seg_not_present) as "clear".
    if base == 0 && limit == 0 && contents == 0 && read_exec_only && !seg_32bit && !limit_in_pages && seg_not_present {
        return 0;
    }
    let mut d: u64 = 0;
    d |= (limit & 0xffff) as u64;
    d |= ((base & 0xffffff) as u64) << 16;
    // type: data (bit 4 = S, code/data), writable unless read_exec_only; contents<<2 selects expand-down/code.
    let ty: u64 = 0x10 | (((!read_exec_only) as u64) << 1) | ((contents as u64 & 3) << 2);
    d |= ty << 40;
    d |= 3 << 45; // DPL 3
    d |= ((!seg_not_present) as u64) << 47;
    d |= (((limit >> 16) & 0xf) as u64) << 48;
    d |= 1 << 52; // AVL ("useable" in Linux)
    d |= (seg_32bit as u64) << 54;
    d |= (limit_in_pages as u64) << 55;
    d |= ((base >> 24) as u64) << 56;
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regs_round_trip() {
        let mut r = TaskRegs::default();
        r.rip = 0x401000;
        r.tls = [1, 2, 3];
        r.mode = Mode::Compat32 as u64;
        assert_eq!(TaskRegs::decode(&r.encode()), Some(r));
    }

    #[test]
    fn glibc_tls_descriptor() {
        // glibc i386: base=X, limit=0xfffff, seg_32bit=1, limit_in_pages=1, useable=1.
        let d = tls_descriptor(0x0804_c000, 0xfffff, true, 0, false, true, false);
        // A flat writable data segment, DPL3, present, G=1, D=1, base split.
        assert_eq!(d & 0xffff, 0xffff);
        assert_eq!((d >> 16) & 0xffffff, 0x04c000);
        assert_eq!(d >> 56, 0x08);
        assert_eq!((d >> 40) & 0xff, 0xf2);
        assert_eq!((d >> 52) & 0xf, 0xd);
    }
}
