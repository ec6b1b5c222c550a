//! The initial stack of a Linux process: argc, argv, envp, the aux vector and
//! the strings they point to, laid out as Linux's `create_elf_tables` does.

use crate::layout::{push_word, Abi};
use alloc::vec::Vec;

/// Aux vector keys.
pub mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const PLATFORM: u64 = 15;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const HWCAP2: u64 = 26;
    pub const EXECFN: u64 = 31;
    pub const SYSINFO: u64 = 32;
    pub const SYSINFO_EHDR: u64 = 33;
    pub const MINSIGSTKSZ: u64 = 51;
}

/// AT_MINSIGSTKSZ: a signal frame with its FXSAVE image (under 1.2 KiB on
/// either ABI) plus the red zone, rounded up to the traditional MINSIGSTKSZ.
pub const MIN_SIGSTACK: u64 = 2048;

/// Top of the stack (one past its highest byte) of a 64-bit program.
pub const STACK_TOP_64: u64 = 0x7fff_ffff_f000;
/// Top of the stack of a 32-bit program: below 4 GiB.
pub const STACK_TOP_32: u64 = 0xffff_d000;
/// Size of the stack VMA (RLIMIT_STACK's default).
pub const STACK_SIZE: u64 = 8 << 20;

/// What goes on the stack besides the strings.
#[derive(Clone, Debug)]
pub struct StackParams<'a> {
    pub abi: Abi,
    pub top: u64,
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    /// AT_EXECFN: the program's path.
    pub execfn: &'a [u8],
    /// AT_RANDOM's 16 bytes.
    pub random: [u8; 16],
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    pub entry: u64,
    /// AT_BASE: where the interpreter was loaded (0 for a static program).
    pub base: u64,
    pub uid: u32,
    pub gid: u32,
    pub hwcap: u64,
    /// AT_SYSINFO_EHDR: where the vDSO is (0: none, the entry is left out).
    pub sysinfo_ehdr: u64,
    /// AT_SYSINFO (i386): the vDSO's system-call entry (0: left out).
    pub sysinfo: u64,
}

/// The bytes of the stack's top part: `bytes` land at `sp` and run up to `top`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    pub sp: u64,
    pub bytes: Vec<u8>,
    /// Addresses of a few items, for tests and logs.
    pub random_addr: u64,
    pub execfn_addr: u64,
    pub platform_addr: u64,
    /// The aux vector: its address and length in bytes (AT_NULL included).
    pub auxv: (u64, u64),
    /// Where argv's and envp's strings are (Linux's mm arg_start, arg_end,
    /// env_start, env_end).
    pub args: (u64, u64),
    pub env: (u64, u64),
    /// The aux vector as written (Linux keeps it as mm->saved_auxv).
    pub saved_auxv: Vec<(u64, u64)>,
}

/// Linux's AT_PLATFORM string for the ABI.
pub fn platform(abi: Abi) -> &'static [u8] {
    match abi {
        Abi::X86_64 => b"x86_64",
        Abi::I386 => b"i686",
    }
}

/// Build the stack. Returns `None` if the strings do not fit in a quarter of
/// the stack (Linux's E2BIG rule) or the top is not 16-byte aligned.
pub fn build(p: &StackParams) -> Option<StackImage> {
    if p.top % 16 != 0 {
        return None;
    }
    let w = p.abi.word() as u64;
    let strings: u64 = p.argv.iter().chain(p.envp.iter()).map(|s| s.len() as u64 + 1).sum::<u64>() + p.execfn.len() as u64 + 1;
    if strings > STACK_SIZE / 4 {
        return None;
    }
    // Work downward from the top in a scratch area of `top - low` bytes.
    let mut pos = p.top - w; // a zero word at the very top, as Linux leaves
    let mut strings_area: Vec<(u64, &[u8])> = Vec::new();
    pos -= p.execfn.len() as u64 + 1;
    let execfn_addr = pos;
    strings_area.push((pos, p.execfn));
    let mut env_addrs = Vec::with_capacity(p.envp.len());
    for s in p.envp.iter().rev() {
        pos -= s.len() as u64 + 1;
        env_addrs.push(pos);
        strings_area.push((pos, s));
    }
    env_addrs.reverse();
    let mut arg_addrs = Vec::with_capacity(p.argv.len());
    for s in p.argv.iter().rev() {
        pos -= s.len() as u64 + 1;
        arg_addrs.push(pos);
        strings_area.push((pos, s));
    }
    arg_addrs.reverse();
    pos &= !15;
    let plat = platform(p.abi);
    pos -= plat.len() as u64 + 1;
    let platform_addr = pos;
    strings_area.push((pos, plat));
    pos -= 16;
    let random_addr = pos;
    pos &= !15;

    let auxv: [(u64, u64); 23] = [
        // First, as Linux's ARCH_DLINFO puts them.
        (at::SYSINFO, p.sysinfo),
        (at::SYSINFO_EHDR, p.sysinfo_ehdr),
        (at::HWCAP, p.hwcap),
        (at::HWCAP2, 0),
        (at::MINSIGSTKSZ, MIN_SIGSTACK),
        (at::PAGESZ, 4096),
        (at::CLKTCK, 100),
        (at::PHDR, p.phdr),
        (at::PHENT, p.phent),
        (at::PHNUM, p.phnum),
        (at::BASE, p.base),
        (at::FLAGS, 0),
        (at::ENTRY, p.entry),
        (at::UID, p.uid as u64),
        (at::EUID, p.uid as u64),
        (at::GID, p.gid as u64),
        (at::EGID, p.gid as u64),
        (at::SECURE, 0),
        (at::RANDOM, random_addr),
        (at::EXECFN, execfn_addr),
        (at::PLATFORM, platform_addr),
        (at::NULL, 0),
        (at::NULL, 0),
    ];
    let auxv: Vec<(u64, u64)> = auxv[..22].iter().copied().filter(|&(k, v)| v != 0 || !matches!(k, at::SYSINFO | at::SYSINFO_EHDR)).collect();
    let items = 1 + (p.argv.len() as u64 + 1) + (p.envp.len() as u64 + 1) + 2 * auxv.len() as u64;
    let sp = (pos - items * w) & !15;

    let mut table = Vec::with_capacity((items * w) as usize);
    push_word(p.abi, &mut table, p.argv.len() as u64);
    for a in &arg_addrs {
        push_word(p.abi, &mut table, *a);
    }
    push_word(p.abi, &mut table, 0);
    for e in &env_addrs {
        push_word(p.abi, &mut table, *e);
    }
    push_word(p.abi, &mut table, 0);
    let auxv_at = sp + table.len() as u64;
    for (k, v) in &auxv {
        push_word(p.abi, &mut table, *k);
        push_word(p.abi, &mut table, *v);
    }
    let auxv_span = (auxv_at, sp + table.len() as u64 - auxv_at);

    let mut bytes = alloc::vec![0u8; (p.top - sp) as usize];
    let at = |addr: u64| (addr - sp) as usize;
    bytes[..table.len()].copy_from_slice(&table);
    bytes[at(random_addr)..at(random_addr) + 16].copy_from_slice(&p.random);
    for (addr, s) in strings_area {
        bytes[at(addr)..at(addr) + s.len()].copy_from_slice(s);
        // The NUL is already there.
    }
    let args_start = arg_addrs.first().copied().unwrap_or(env_addrs.first().copied().unwrap_or(execfn_addr));
    let env_start = env_addrs.first().copied().unwrap_or(execfn_addr);
    Some(StackImage { sp, bytes, random_addr, execfn_addr, platform_addr, args: (args_start, env_start), env: (env_start, execfn_addr), auxv: auxv_span, saved_auxv: auxv })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::get_word;
    use alloc::vec;

    fn params<'a>(abi: Abi, argv: &'a [&'a [u8]], envp: &'a [&'a [u8]]) -> StackParams<'a> {
        StackParams {
            abi,
            top: if abi == Abi::X86_64 { STACK_TOP_64 } else { STACK_TOP_32 },
            argv,
            envp,
            execfn: b"/bin/hello",
            random: *b"0123456789abcdef",
            phdr: 0x400040,
            phent: 56,
            phnum: 9,
            entry: 0x401000,
            base: 0,
            uid: 1000,
            gid: 100,
            hwcap: 0x178bfbff,
            sysinfo_ehdr: 0,
            sysinfo: 0,
        }
    }

    fn cstr(img: &StackImage, addr: u64) -> Vec<u8> {
        let at = (addr - img.sp) as usize;
        let end = img.bytes[at..].iter().position(|&b| b == 0).unwrap();
        img.bytes[at..at + end].to_vec()
    }

    /// Walk the stack as a libc's start code does.
    fn walk(abi: Abi, img: &StackImage) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<(u64, u64)>) {
        let w = abi.word();
        let word = |i: usize| get_word(abi, &img.bytes[i * w..]);
        let argc = word(0) as usize;
        let argv: Vec<_> = (0..argc).map(|i| cstr(img, word(1 + i))).collect();
        assert_eq!(word(1 + argc), 0);
        let mut i = 2 + argc;
        let mut envp = vec![];
        while word(i) != 0 {
            envp.push(cstr(img, word(i)));
            i += 1;
        }
        i += 1;
        let mut aux = vec![];
        loop {
            let (k, v) = (word(i), word(i + 1));
            aux.push((k, v));
            i += 2;
            if k == 0 {
                break;
            }
        }
        (argv, envp, aux)
    }

    #[test]
    fn layout_64_walks_back() {
        let argv: [&[u8]; 2] = [b"hello", b"world"];
        let envp: [&[u8]; 1] = [b"A=1"];
        let p = params(Abi::X86_64, &argv, &envp);
        let img = build(&p).unwrap();
        assert_eq!(img.sp % 16, 0);
        assert_eq!(img.sp + img.bytes.len() as u64, STACK_TOP_64);
        let (a, e, aux) = walk(Abi::X86_64, &img);
        assert_eq!(a, [b"hello".to_vec(), b"world".to_vec()]);
        assert_eq!(e, [b"A=1".to_vec()]);
        let get = |k| aux.iter().find(|(kk, _)| *kk == k).map(|x| x.1);
        assert_eq!(get(at::PHDR), Some(0x400040));
        assert_eq!(get(at::PHENT), Some(56));
        assert_eq!(get(at::PHNUM), Some(9));
        assert_eq!(get(at::PAGESZ), Some(4096));
        assert_eq!(get(at::BASE), Some(0));
        assert_eq!(get(at::FLAGS), Some(0));
        assert_eq!(get(at::ENTRY), Some(0x401000));
        assert_eq!(get(at::UID), Some(1000));
        assert_eq!(get(at::EUID), Some(1000));
        assert_eq!(get(at::GID), Some(100));
        assert_eq!(get(at::EGID), Some(100));
        assert_eq!(get(at::SECURE), Some(0));
        assert_eq!(get(at::CLKTCK), Some(100));
        assert_eq!(get(at::HWCAP), Some(0x178bfbff));
        let r = get(at::RANDOM).unwrap();
        assert_eq!(&img.bytes[(r - img.sp) as usize..][..16], b"0123456789abcdef");
        assert_eq!(cstr(&img, get(at::EXECFN).unwrap()), b"/bin/hello");
        assert_eq!(cstr(&img, get(at::PLATFORM).unwrap()), b"x86_64");
        assert_eq!(aux.last(), Some(&(0, 0)));
        // The top word stays zero.
        assert_eq!(&img.bytes[img.bytes.len() - 8..], &[0; 8]);
    }

    #[test]
    fn layout_64_byte_exact() {
        let argv: [&[u8]; 1] = [b"a"];
        let p = params(Abi::X86_64, &argv, &[]);
        let img = build(&p).unwrap();
        let top = STACK_TOP_64;
        // Strings: zero word at top-8, "/bin/hello\0" (11) at top-19, "a\0" at top-21.
        assert_eq!(img.execfn_addr, top - 19);
        let argv0 = top - 21;
        // Align 16 -> top-32; "x86_64\0" at top-39; random at top-55; align -> top-64.
        assert_eq!(img.platform_addr, top - 39);
        assert_eq!(img.random_addr, top - 55);
        // items: argc + 2 (argv) + 1 (envp) + 40 (20 aux pairs) = 44 words = 352 bytes.
        assert_eq!(img.sp, top - 64 - 352);
        let mut want: Vec<u64> = vec![1, argv0, 0, 0];
        want.extend_from_slice(&[
            16, 0x178bfbff, 26, 0, 51, MIN_SIGSTACK, 6, 4096, 17, 100, 3, 0x400040, 4, 56, 5, 9, 7, 0, 8, 0, 9, 0x401000, 11, 1000, 12, 1000,
            13, 100, 14, 100, 23, 0, 25, top - 55, 31, top - 19, 15, top - 39, 0, 0,
        ]);
        let got: Vec<u64> = (0..want.len()).map(|i| get_word(Abi::X86_64, &img.bytes[i * 8..])).collect();
        assert_eq!(got, want);
        assert_eq!(&img.bytes[(argv0 - img.sp) as usize..][..2], b"a\0");
    }

    #[test]
    fn layout_32() {
        let argv: [&[u8]; 3] = [b"prog", b"-x", b""];
        let envp: [&[u8]; 2] = [b"HOME=/", b"PATH=/bin"];
        let p = params(Abi::I386, &argv, &envp);
        let img = build(&p).unwrap();
        assert_eq!(img.sp % 16, 0);
        assert!(img.sp < 0x1_0000_0000);
        assert_eq!(img.sp + img.bytes.len() as u64, STACK_TOP_32);
        let (a, e, aux) = walk(Abi::I386, &img);
        assert_eq!(a, [b"prog".to_vec(), b"-x".to_vec(), vec![]]);
        assert_eq!(e.len(), 2);
        assert_eq!(aux.len(), 20);
        let plat = aux.iter().find(|x| x.0 == at::PLATFORM).unwrap().1;
        assert_eq!(cstr(&img, plat), b"i686");
        // 4-byte words: argc then argv[0] pointer.
        assert_eq!(u32::from_le_bytes(img.bytes[0..4].try_into().unwrap()), 3);
    }

    #[test]
    fn huge_arguments_refused() {
        let big = vec![b'x'; (STACK_SIZE / 4) as usize];
        let argv: [&[u8]; 1] = [&big];
        assert!(build(&params(Abi::X86_64, &argv, &[])).is_none());
    }

    #[test]
    fn vdso_entries_lead_the_aux_vector_when_given() {
        let argv: [&[u8]; 1] = [b"a"];
        let (_, _, aux) = walk(Abi::X86_64, &build(&params(Abi::X86_64, &argv, &[])).unwrap());
        assert!(!aux.iter().any(|a| a.0 == at::SYSINFO || a.0 == at::SYSINFO_EHDR), "none without a vDSO");
        let p = StackParams { sysinfo_ehdr: 0xf7ff_f000, sysinfo: 0xf7ff_f920, ..params(Abi::I386, &argv, &[]) };
        let (_, _, aux) = walk(Abi::I386, &build(&p).unwrap());
        assert_eq!(aux[..2], [(at::SYSINFO, 0xf7ff_f920), (at::SYSINFO_EHDR, 0xf7ff_f000)]);
        assert_eq!(aux.iter().filter(|a| a.0 == at::NULL).count(), 1);
    }
}
