//! What the kernel hands the boot server (the first server in the boot archive)
//! and the fixed addresses of a server's address space.
//!
//! The boot server starts at its ELF entry with `rdi` = [`BOOT_INFO_ADDR`], where
//! the kernel placed an encoded [`BootInfo`]. The boot archive is mapped
//! read-only at [`ARCHIVE_ADDR`] and the kernel command line follows the
//! `BootInfo` on the same page.

/// Where servers are linked (their linker scripts agree with this).
pub const SERVER_BASE: u64 = 0x0040_0000;
/// The boot info page, read-only.
pub const BOOT_INFO_ADDR: u64 = 0x1000_0000;
/// The boot archive, read-only.
pub const ARCHIVE_ADDR: u64 = 0x1_0000_0000;
/// Top of a server's initial stack; the stack grows down from here.
pub const SERVER_STACK_TOP: u64 = 0x7fff_0000_0000;
/// Size of a server's initial stack.
pub const SERVER_STACK_SIZE: u64 = 256 * 1024;
/// Where a server may put its heap (it maps it itself with `mem_map`).
pub const SERVER_HEAP_BASE: u64 = 0x2000_0000_0000;

/// Magic value that starts an encoded [`BootInfo`] ("SiONboot").
pub const BOOT_MAGIC: u64 = 0x746f_6f62_4e4f_6953;

/// Archive entry names with a meaning to the kernel or the personality.
pub mod names {
    /// Entries under this prefix are servers; the kernel starts each in archive
    /// order, the first being the boot server.
    pub const SERVERS: &str = "servers/";
    /// Server images started on demand, not at boot: `images/personality` is
    /// the personality a group server starts for each offloaded job.
    pub const PERSONALITY_IMAGE: &str = "images/personality";
    /// The program of the boot job (a static Linux ELF).
    pub const JOB_PROGRAM: &str = "job/program";
    /// NUL-terminated arguments (argv[0] first).
    pub const JOB_ARGV: &str = "job/argv";
    /// NUL-terminated `KEY=VALUE` environment strings.
    pub const JOB_ENV: &str = "job/env";
    /// `key=value` lines: `cwd=/path`, `mem_limit=BYTES`, `stdin=none|stream`.
    pub const JOB_CONFIG: &str = "job/config";
    /// Input files, by guest path: `job/files/etc/x` lands at `/etc/x`.
    pub const JOB_FILES: &str = "job/files/";
}


/// Encoded on the boot info page.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct BootInfo {
    pub magic: u64,
    /// The boot server's own task and space.
    pub self_task: u32,
    pub self_space: u32,
    pub archive_addr: u64,
    pub archive_len: u64,
    /// The kernel command line, right after the encoded `BootInfo`.
    pub cmdline_addr: u64,
    pub cmdline_len: u64,
    /// Physical memory, for /proc/meminfo.
    pub total_memory: u64,
}

impl BootInfo {
    pub const SIZE: usize = 8 * 7;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        let words = [
            self.magic,
            (self.self_task as u64) | ((self.self_space as u64) << 32),
            self.archive_addr,
            self.archive_len,
            self.cmdline_addr,
            self.cmdline_len,
            self.total_memory,
        ];
        for (i, w) in words.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    pub fn decode(b: &[u8]) -> Option<BootInfo> {
        if b.len() < Self::SIZE {
            return None;
        }
        let w = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_le_bytes(x)
        };
        if w(0) != BOOT_MAGIC {
            return None;
        }
        Some(BootInfo {
            magic: w(0),
            self_task: w(1) as u32,
            self_space: (w(1) >> 32) as u32,
            archive_addr: w(2),
            archive_len: w(3),
            cmdline_addr: w(4),
            cmdline_len: w(5),
            total_memory: w(6),
        })
    }
}

/// Find `key=value` in a kernel command line.
pub fn cmdline_value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline.split_ascii_whitespace().find_map(|word| {
        let (k, v) = word.split_once('=')?;
        (k == key).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_info_round_trip() {
        let b = BootInfo { magic: BOOT_MAGIC, self_task: 3, self_space: 0x10001, archive_addr: ARCHIVE_ADDR, archive_len: 99, cmdline_addr: 1, cmdline_len: 2, total_memory: 3 };
        assert_eq!(BootInfo::decode(&b.encode()), Some(b));
        let mut bad = b.encode();
        bad[0] ^= 1;
        assert_eq!(BootInfo::decode(&bad), None);
    }

    #[test]
    fn cmdline() {
        assert_eq!(cmdline_value("console=com1 realtime=123 io=0x2f8:8", "realtime"), Some("123"));
        assert_eq!(cmdline_value("console=com1", "realtime"), None);
    }
}
