//! The kernel's own reader of server images: static ELF64 x86-64 executables
//! with PT_LOAD segments. (Linux programs are loaded by the personality
//! server, with goblin; the kernel only starts servers.)

/// A loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub file_offset: u64,
    pub file_size: u64,
    /// `PF_X` = 1, `PF_W` = 2, `PF_R` = 4, as in the ELF header.
    pub flags: u32,
}

impl Segment {
    /// The Linux-style protection bits (`PROT_*`) of this segment.
    pub fn prot(&self) -> u64 {
        use sion_abi::call::prot;
        let mut p = 0;
        if self.flags & 4 != 0 {
            p |= prot::READ;
        }
        if self.flags & 2 != 0 {
            p |= prot::WRITE;
        }
        if self.flags & 1 != 0 {
            p |= prot::EXEC;
        }
        p
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    TooShort,
    NotElf,
    Not64Bit,
    NotLittleEndian,
    NotX86_64,
    NotExecutable,
    BadProgramHeaders,
    SegmentOutOfFile,
    SegmentNotUser,
    TooManySegments,
}

pub const MAX_SEGMENTS: usize = 8;

/// The parsed image: entry and segments.
#[derive(Clone, Copy, Debug)]
pub struct Image {
    pub entry: u64,
    pub segments: [Segment; MAX_SEGMENTS],
    pub count: usize,
}

impl Image {
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// Parse a static ELF64 x86-64 executable, checking every offset.
pub fn parse(b: &[u8]) -> Result<Image, ElfError> {
    if b.len() < 64 {
        return Err(ElfError::TooShort);
    }
    if &b[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if b[4] != 2 {
        return Err(ElfError::Not64Bit);
    }
    if b[5] != 1 {
        return Err(ElfError::NotLittleEndian);
    }
    if u16_at(b, 18) != 62 {
        return Err(ElfError::NotX86_64);
    }
    if u16_at(b, 16) != 2 {
        return Err(ElfError::NotExecutable);
    }
    let entry = u64_at(b, 24);
    let phoff = u64_at(b, 32) as usize;
    let phentsize = u16_at(b, 54) as usize;
    let phnum = u16_at(b, 56) as usize;
    if phentsize < 56 || phoff.checked_add(phentsize * phnum).is_none_or(|end| end > b.len()) {
        return Err(ElfError::BadProgramHeaders);
    }
    let mut img = Image { entry, segments: [Segment { vaddr: 0, mem_size: 0, file_offset: 0, file_size: 0, flags: 0 }; MAX_SEGMENTS], count: 0 };
    for i in 0..phnum {
        let h = &b[phoff + i * phentsize..];
        if u32_at(h, 0) != 1 {
            continue; // not PT_LOAD
        }
        let seg = Segment { flags: u32_at(h, 4), file_offset: u64_at(h, 8), vaddr: u64_at(h, 16), file_size: u64_at(h, 32), mem_size: u64_at(h, 40) };
        if seg.file_size > seg.mem_size || seg.file_offset.checked_add(seg.file_size).is_none_or(|end| end > b.len() as u64) {
            return Err(ElfError::SegmentOutOfFile);
        }
        if seg.vaddr.checked_add(seg.mem_size).is_none_or(|end| end > sion_abi::USER_END) {
            return Err(ElfError::SegmentNotUser);
        }
        if img.count == MAX_SEGMENTS {
            return Err(ElfError::TooManySegments);
        }
        img.segments[img.count] = seg;
        img.count += 1;
    }
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn elf(entry: u64, segs: &[(u64, u64, u64, u64, u32)]) -> Vec<u8> {
        let mut b = std::vec![0u8; 64 + 56 * segs.len()];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&62u16.to_le_bytes());
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        for (i, (vaddr, mem, off, file, flags)) in segs.iter().enumerate() {
            let h = 64 + i * 56;
            b[h..h + 4].copy_from_slice(&1u32.to_le_bytes());
            b[h + 4..h + 8].copy_from_slice(&flags.to_le_bytes());
            b[h + 8..h + 16].copy_from_slice(&off.to_le_bytes());
            b[h + 16..h + 24].copy_from_slice(&vaddr.to_le_bytes());
            b[h + 32..h + 40].copy_from_slice(&file.to_le_bytes());
            b[h + 40..h + 48].copy_from_slice(&mem.to_le_bytes());
        }
        b
    }

    #[test]
    fn parses_segments() {
        let b = elf(0x401000, &[(0x400000, 0x100, 0, 0x78, 5), (0x401000, 0x2000, 0, 0x10, 6)]);
        let img = parse(&b).unwrap();
        assert_eq!(img.entry, 0x401000);
        assert_eq!(img.segments().len(), 2);
        assert_eq!(img.segments()[1].prot(), sion_abi::call::prot::READ | sion_abi::call::prot::WRITE);
    }

    #[test]
    fn refuses_bad_images() {
        assert_eq!(parse(b"hello").unwrap_err(), ElfError::TooShort);
        let mut b = elf(0, &[]);
        b[0] = 0;
        assert_eq!(parse(&b).unwrap_err(), ElfError::NotElf);
        let b = elf(0, &[(0x400000, 0x10, 0, 0x1000, 5)]);
        assert_eq!(parse(&b).unwrap_err(), ElfError::SegmentOutOfFile);
        let b = elf(0, &[(0xffff_ffff_8000_0000, 0x10, 0, 0x10, 5)]);
        assert_eq!(parse(&b).unwrap_err(), ElfError::SegmentNotUser);
        let mut b = elf(0, &[(0x400000, 0x10, 0, 0x10, 5)]);
        b[56] = 200; // phnum beyond the file
        assert_eq!(parse(&b).unwrap_err(), ElfError::BadProgramHeaders);
    }
}
