//! Finding the CPUs and I/O APICs in the firmware's ACPI tables: the root
//! pointer (RSDP), the root table (XSDT, else RSDT) and the MADT ("APIC").
//!
//! Pure: the kernel hands in a view of physical memory ([`Memory`]) and gets
//! back what the MADT lists, or the reason the tables were refused (a bad
//! checksum, a table shorter than it claims, an entry running past its
//! table). Nothing here trusts a length it has not checked.

use core::fmt;

/// Physical memory as the kernel sees it (the direct map).
pub trait Memory {
    /// `len` bytes at physical address `pa`, or `None` if they are not mapped.
    fn bytes(&self, pa: u64, len: usize) -> Option<&[u8]>;
}

/// Why the tables were not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No root pointer was given or found.
    NoRsdp,
    /// The root pointer's first 20 bytes do not sum to 0.
    RsdpChecksum,
    /// An ACPI 2.0 root pointer whose whole length does not sum to 0.
    RsdpExtendedChecksum,
    /// A table's address is outside mapped memory.
    Unreadable { pa: u64 },
    /// A table shorter than its header, or than the length it states.
    Truncated { sig: [u8; 4], len: u32 },
    /// A table whose bytes do not sum to 0.
    Checksum { sig: [u8; 4] },
    /// The table at an address is not the one expected there.
    Signature { expected: [u8; 4], found: [u8; 4] },
    /// The root table lists no sound table with this signature.
    Missing { sig: [u8; 4] },
    /// A MADT entry shorter than 2 bytes, shorter than its type needs, or
    /// running past the end of the table.
    MadtEntry { offset: usize, kind: u8, len: u8 },
}

struct Sig<'a>(&'a [u8; 4]);

impl fmt::Display for Sig<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &c in self.0 {
            if c.is_ascii_graphic() {
                write!(f, "{}", c as char)?;
            } else {
                write!(f, "\\x{c:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoRsdp => write!(f, "no ACPI root pointer (RSDP)"),
            Error::RsdpChecksum => write!(f, "bad RSDP checksum"),
            Error::RsdpExtendedChecksum => write!(f, "bad RSDP extended checksum"),
            Error::Unreadable { pa } => write!(f, "table at {pa:#x} is outside memory"),
            Error::Truncated { sig, len } => write!(f, "{} table truncated (length {len})", Sig(sig)),
            Error::Checksum { sig } => write!(f, "bad {} checksum", Sig(sig)),
            Error::Signature { expected, found } => write!(f, "expected {} table, found {}", Sig(expected), Sig(found)),
            Error::Missing { sig } => write!(f, "no {} table", Sig(sig)),
            Error::MadtEntry { offset, kind, len } => write!(f, "malformed MADT entry type {kind} length {len} at offset {offset}"),
        }
    }
}

/// Length of the common table header.
pub const HEADER_LEN: usize = 36;
/// Length of an ACPI 1.0 root pointer; 2.0 ones are [`RSDP_V2_LEN`].
pub const RSDP_V1_LEN: usize = 20;
pub const RSDP_V2_LEN: usize = 36;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u32_at(b, at) as u64 | (u32_at(b, at + 4) as u64) << 32
}
fn sum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |s, &c| s.wrapping_add(c))
}

/// Where the root tables are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rsdp {
    pub revision: u8,
    /// Physical address of the RSDT (32-bit entries).
    pub rsdt: u32,
    /// Physical address of the XSDT (64-bit entries), 0 if none (ACPI 1.0).
    pub xsdt: u64,
}

/// Read a root pointer from its bytes (at least 20; 36 for revision 2 and later).
pub fn parse_rsdp(b: &[u8]) -> Result<Rsdp, Error> {
    if b.len() < RSDP_V1_LEN || &b[..8] != b"RSD PTR " {
        return Err(Error::NoRsdp);
    }
    if sum(&b[..RSDP_V1_LEN]) != 0 {
        return Err(Error::RsdpChecksum);
    }
    let revision = b[15];
    let rsdt = u32_at(b, 16);
    if revision < 2 {
        return Ok(Rsdp { revision, rsdt, xsdt: 0 });
    }
    if b.len() < RSDP_V2_LEN {
        return Err(Error::RsdpExtendedChecksum);
    }
    let len = (u32_at(b, 20) as usize).clamp(RSDP_V2_LEN, b.len());
    if sum(&b[..len]) != 0 {
        return Err(Error::RsdpExtendedChecksum);
    }
    Ok(Rsdp { revision, rsdt, xsdt: u64_at(b, 24) })
}

/// The offset of the first valid root pointer in `region` (searched on
/// 16-byte boundaries, as the firmware places it in the EBDA or in
/// 0xE0000-0xFFFFF).
pub fn scan_rsdp(region: &[u8]) -> Option<usize> {
    (0..region.len().saturating_sub(RSDP_V1_LEN - 1)).step_by(16).find(|&at| parse_rsdp(&region[at..]).is_ok())
}

/// The table at `pa`, checked: its length is at least a header and fits in
/// memory, its bytes sum to 0, and its signature is `expected` (if given).
pub fn table<'m, M: Memory>(mem: &'m M, pa: u64, expected: Option<&[u8; 4]>) -> Result<&'m [u8], Error> {
    let head = mem.bytes(pa, HEADER_LEN).ok_or(Error::Unreadable { pa })?;
    let sig: [u8; 4] = [head[0], head[1], head[2], head[3]];
    if let Some(e) = expected {
        if *e != sig {
            return Err(Error::Signature { expected: *e, found: sig });
        }
    }
    let len = u32_at(head, 4);
    if (len as usize) < HEADER_LEN {
        return Err(Error::Truncated { sig, len });
    }
    let t = mem.bytes(pa, len as usize).ok_or(Error::Truncated { sig, len })?;
    if sum(t) != 0 {
        return Err(Error::Checksum { sig });
    }
    Ok(t)
}

/// Find the table with signature `sig` through the XSDT (when the root
/// pointer names one and it is sound) or else the RSDT.
pub fn find_table<'m, M: Memory>(mem: &'m M, rsdp: &Rsdp, sig: &[u8; 4]) -> Result<&'m [u8], Error> {
    let search = |root: &[u8], width: usize| -> Result<&'m [u8], Error> {
        let mut first_error = None;
        for at in (HEADER_LEN..root.len()).step_by(width) {
            if at + width > root.len() {
                break;
            }
            let pa = if width == 8 { u64_at(root, at) } else { u32_at(root, at) as u64 };
            // A table the root lists but that is unreadable or damaged is
            // skipped; the one we look for may still be sound.
            match mem.bytes(pa, 4) {
                Some(s) if s == sig => match table(mem, pa, Some(sig)) {
                    Ok(t) => return Ok(t),
                    Err(e) => first_error = first_error.or(Some(e)),
                },
                _ => {}
            }
        }
        Err(first_error.unwrap_or(Error::Missing { sig: *sig }))
    };
    let xsdt_result = if rsdp.xsdt != 0 { Some(table(mem, rsdp.xsdt, Some(b"XSDT")).and_then(|root| search(root, 8))) } else { None };
    match xsdt_result {
        Some(Ok(t)) => Ok(t),
        Some(Err(e)) => {
            // Fall back to the RSDT, but report the XSDT's fault if that fails too.
            let root = table(mem, rsdp.rsdt as u64, Some(b"RSDT")).map_err(|_| e)?;
            search(root, 4).map_err(|_| e)
        }
        None => search(table(mem, rsdp.rsdt as u64, Some(b"RSDT"))?, 4),
    }
}

/// CPUs the MADT lists beyond this many are counted but not listed.
pub const MAX_MADT_CPUS: usize = 256;
pub const MAX_IOAPICS: usize = 8;
pub const MAX_OVERRIDES: usize = 16;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoApic {
    pub id: u8,
    pub addr: u32,
    /// The first global system interrupt (GSI) it serves.
    pub gsi_base: u32,
}

/// An ISA interrupt that arrives on another GSI or with other polarity/trigger.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Override {
    pub irq: u8,
    pub gsi: u32,
    /// MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3.
    pub flags: u16,
}

/// What the MADT says.
#[derive(Clone, Copy, Debug)]
pub struct Madt {
    /// Physical address of the local APICs (an address override applied).
    pub lapic_addr: u64,
    /// The machine also has dual 8259 PICs (flag PCAT_COMPAT).
    pub pcat_compat: bool,
    cpus: [u32; MAX_MADT_CPUS],
    cpu_count: usize,
    /// Enabled CPUs listed, including any past [`MAX_MADT_CPUS`].
    pub cpus_enabled: usize,
    /// CPUs listed but disabled (absent, or only hot-pluggable).
    pub cpus_disabled: usize,
    ioapics: [IoApic; MAX_IOAPICS],
    ioapic_count: usize,
    overrides: [Override; MAX_OVERRIDES],
    override_count: usize,
}

impl Madt {
    /// Local APIC ids of the enabled CPUs, in table order, without duplicates
    /// (a CPU listed both as local APIC and as x2APIC counts once).
    pub fn cpus(&self) -> &[u32] {
        &self.cpus[..self.cpu_count]
    }
    pub fn ioapics(&self) -> &[IoApic] {
        &self.ioapics[..self.ioapic_count]
    }
    pub fn overrides(&self) -> &[Override] {
        &self.overrides[..self.override_count]
    }

    fn add_cpu(&mut self, apic_id: u32, flags: u32) {
        if flags & 1 == 0 {
            self.cpus_disabled += 1;
            return;
        }
        if self.cpus().contains(&apic_id) {
            return;
        }
        self.cpus_enabled += 1;
        if self.cpu_count < MAX_MADT_CPUS {
            self.cpus[self.cpu_count] = apic_id;
            self.cpu_count += 1;
        }
    }
}

/// MADT entry types this reads, and their least lengths.
mod entry {
    pub const LOCAL_APIC: u8 = 0;
    pub const IO_APIC: u8 = 1;
    pub const SOURCE_OVERRIDE: u8 = 2;
    pub const LAPIC_ADDRESS_OVERRIDE: u8 = 5;
    pub const LOCAL_X2APIC: u8 = 9;

    pub fn min_len(kind: u8) -> usize {
        match kind {
            LOCAL_APIC => 8,
            IO_APIC => 12,
            SOURCE_OVERRIDE => 10,
            LAPIC_ADDRESS_OVERRIDE => 12,
            LOCAL_X2APIC => 16,
            _ => 2,
        }
    }
}

/// Read a MADT (a checked table: see [`table`]).
pub fn parse_madt(t: &[u8]) -> Result<Madt, Error> {
    if t.len() < HEADER_LEN {
        return Err(Error::Truncated { sig: *b"APIC", len: t.len() as u32 });
    }
    let sig = [t[0], t[1], t[2], t[3]];
    if sig != *b"APIC" {
        return Err(Error::Signature { expected: *b"APIC", found: sig });
    }
    if t.len() < HEADER_LEN + 8 {
        return Err(Error::Truncated { sig, len: t.len() as u32 });
    }
    let mut m = Madt {
        lapic_addr: u32_at(t, HEADER_LEN) as u64,
        pcat_compat: u32_at(t, HEADER_LEN + 4) & 1 != 0,
        cpus: [0; MAX_MADT_CPUS],
        cpu_count: 0,
        cpus_enabled: 0,
        cpus_disabled: 0,
        ioapics: [IoApic::default(); MAX_IOAPICS],
        ioapic_count: 0,
        overrides: [Override::default(); MAX_OVERRIDES],
        override_count: 0,
    };
    let mut at = HEADER_LEN + 8;
    while at < t.len() {
        if at + 2 > t.len() {
            return Err(Error::MadtEntry { offset: at, kind: t[at], len: 0 });
        }
        let (kind, len) = (t[at], t[at + 1]);
        if (len as usize) < entry::min_len(kind) || at + len as usize > t.len() {
            return Err(Error::MadtEntry { offset: at, kind, len });
        }
        let e = &t[at..at + len as usize];
        match kind {
            entry::LOCAL_APIC => m.add_cpu(e[3] as u32, u32_at(e, 4)),
            entry::LOCAL_X2APIC => m.add_cpu(u32_at(e, 4), u32_at(e, 8)),
            entry::IO_APIC if m.ioapic_count < MAX_IOAPICS => {
                m.ioapics[m.ioapic_count] = IoApic { id: e[2], addr: u32_at(e, 4), gsi_base: u32_at(e, 8) };
                m.ioapic_count += 1;
            }
            entry::SOURCE_OVERRIDE if m.override_count < MAX_OVERRIDES => {
                m.overrides[m.override_count] = Override { irq: e[3], gsi: u32_at(e, 4), flags: u16_at(e, 8) };
                m.override_count += 1;
            }
            entry::LAPIC_ADDRESS_OVERRIDE => m.lapic_addr = u64_at(e, 4),
            _ => {}
        }
        at += len as usize;
    }
    Ok(m)
}

/// The MADT reached from a root pointer.
pub fn read_madt<M: Memory>(mem: &M, rsdp: &Rsdp) -> Result<Madt, Error> {
    parse_madt(find_table(mem, rsdp, b"APIC")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// Physical memory made of a few regions.
    struct Mem(Vec<(u64, Vec<u8>)>);

    impl Memory for Mem {
        fn bytes(&self, pa: u64, len: usize) -> Option<&[u8]> {
            self.0.iter().find_map(|(base, b)| {
                let off = pa.checked_sub(*base)? as usize;
                b.get(off..off.checked_add(len)?)
            })
        }
    }

    fn fix_checksum(t: &mut [u8], at: usize, len: usize) {
        t[at] = 0;
        t[at] = 0u8.wrapping_sub(sum(&t[..len]));
    }

    /// A table with a header and `body`, its length and checksum set.
    fn sdt(sig: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut t = std::vec![0u8; HEADER_LEN];
        t[..4].copy_from_slice(sig);
        t[8] = 1; // revision
        t[10..16].copy_from_slice(b"SIONTS");
        t.extend_from_slice(body);
        let len = t.len() as u32;
        t[4..8].copy_from_slice(&len.to_le_bytes());
        let n = t.len();
        fix_checksum(&mut t, 9, n);
        t
    }

    fn rsdp(revision: u8, rsdt: u32, xsdt: u64) -> Vec<u8> {
        let mut r = std::vec![0u8; RSDP_V2_LEN];
        r[..8].copy_from_slice(b"RSD PTR ");
        r[9..15].copy_from_slice(b"SIONTS");
        r[15] = revision;
        r[16..20].copy_from_slice(&rsdt.to_le_bytes());
        r[20..24].copy_from_slice(&(RSDP_V2_LEN as u32).to_le_bytes());
        r[24..32].copy_from_slice(&xsdt.to_le_bytes());
        fix_checksum(&mut r, 8, RSDP_V1_LEN);
        fix_checksum(&mut r, 32, RSDP_V2_LEN);
        if revision < 2 {
            r.truncate(RSDP_V1_LEN);
        }
        r
    }

    fn lapic(uid: u8, id: u8, flags: u32) -> Vec<u8> {
        let mut e = std::vec![0, 8, uid, id];
        e.extend_from_slice(&flags.to_le_bytes());
        e
    }
    fn x2apic(id: u32, flags: u32, uid: u32) -> Vec<u8> {
        let mut e = std::vec![9, 16, 0, 0];
        e.extend_from_slice(&id.to_le_bytes());
        e.extend_from_slice(&flags.to_le_bytes());
        e.extend_from_slice(&uid.to_le_bytes());
        e
    }
    fn ioapic(id: u8, addr: u32, gsi: u32) -> Vec<u8> {
        let mut e = std::vec![1, 12, id, 0];
        e.extend_from_slice(&addr.to_le_bytes());
        e.extend_from_slice(&gsi.to_le_bytes());
        e
    }
    fn iso(irq: u8, gsi: u32, flags: u16) -> Vec<u8> {
        let mut e = std::vec![2, 10, 0, irq];
        e.extend_from_slice(&gsi.to_le_bytes());
        e.extend_from_slice(&flags.to_le_bytes());
        e
    }
    fn madt(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&0xfee0_0000u32.to_le_bytes());
        body.extend_from_slice(&1u32.to_le_bytes()); // PCAT_COMPAT
        for e in entries {
            body.extend_from_slice(e);
        }
        sdt(b"APIC", &body)
    }
    /// A QEMU-like MADT: 4 possible CPUs, 2 present, two I/O APICs, IRQ0 -> GSI 2.
    fn qemu_madt() -> Vec<u8> {
        madt(&[
            lapic(0, 0, 1),
            lapic(1, 1, 1),
            lapic(2, 2, 0),
            lapic(3, 3, 0),
            ioapic(0, 0xfec0_0000, 0),
            ioapic(1, 0xfec1_0000, 24),
            iso(0, 2, 0),
            iso(9, 9, 0xd),
        ])
    }

    const RSDT_PA: u64 = 0x7fe_0000;
    const XSDT_PA: u64 = 0x7fe_0100;
    const FACP_PA: u64 = 0x7fe_0200;
    const MADT_PA: u64 = 0x7fe_0400;

    /// A machine with RSDT and XSDT both listing a FACP and the MADT.
    fn machine(madt_bytes: Vec<u8>) -> (Mem, Vec<u8>) {
        let mut rsdt_body = Vec::new();
        for pa in [FACP_PA as u32, MADT_PA as u32] {
            rsdt_body.extend_from_slice(&pa.to_le_bytes());
        }
        let mut xsdt_body = Vec::new();
        for pa in [FACP_PA, MADT_PA] {
            xsdt_body.extend_from_slice(&pa.to_le_bytes());
        }
        let mem = Mem(std::vec![
            (RSDT_PA, sdt(b"RSDT", &rsdt_body)),
            (XSDT_PA, sdt(b"XSDT", &xsdt_body)),
            (FACP_PA, sdt(b"FACP", &[0u8; 80])),
            (MADT_PA, madt_bytes),
        ]);
        (mem, rsdp(2, RSDT_PA as u32, XSDT_PA))
    }

    #[test]
    fn finds_enabled_cpus_and_io_apics() {
        let (mem, r) = machine(qemu_madt());
        let root = parse_rsdp(&r).unwrap();
        assert_eq!(root, Rsdp { revision: 2, rsdt: RSDT_PA as u32, xsdt: XSDT_PA });
        let m = read_madt(&mem, &root).unwrap();
        assert_eq!(m.cpus(), &[0, 1]);
        assert_eq!((m.cpus_enabled, m.cpus_disabled), (2, 2));
        assert_eq!(m.lapic_addr, 0xfee0_0000);
        assert!(m.pcat_compat);
        assert_eq!(m.ioapics(), &[IoApic { id: 0, addr: 0xfec0_0000, gsi_base: 0 }, IoApic { id: 1, addr: 0xfec1_0000, gsi_base: 24 }]);
        assert_eq!(m.overrides(), &[Override { irq: 0, gsi: 2, flags: 0 }, Override { irq: 9, gsi: 9, flags: 0xd }]);
    }

    #[test]
    fn acpi_1_root_pointer_uses_the_rsdt() {
        let (mem, _) = machine(qemu_madt());
        let r = rsdp(0, RSDT_PA as u32, 0);
        assert_eq!(r.len(), RSDP_V1_LEN);
        let root = parse_rsdp(&r).unwrap();
        assert_eq!(root.xsdt, 0);
        assert_eq!(read_madt(&mem, &root).unwrap().cpus(), &[0, 1]);
    }

    #[test]
    fn x2apic_entries_count_once_and_disabled_ones_not_at_all() {
        let t = madt(&[lapic(0, 0, 1), x2apic(0, 1, 0), x2apic(300, 1, 1), x2apic(301, 0, 2), lapic(1, 5, 1)]);
        let m = parse_madt(&t).unwrap();
        assert_eq!(m.cpus(), &[0, 300, 5]);
        assert_eq!((m.cpus_enabled, m.cpus_disabled), (3, 1));
    }

    #[test]
    fn lapic_address_override_applies() {
        let mut e = std::vec![5, 12, 0, 0];
        e.extend_from_slice(&0x1_2345_6000u64.to_le_bytes());
        let m = parse_madt(&madt(&[lapic(0, 0, 1), e])).unwrap();
        assert_eq!(m.lapic_addr, 0x1_2345_6000);
    }

    #[test]
    fn unknown_entries_are_skipped() {
        let m = parse_madt(&madt(&[std::vec![0x7f, 6, 1, 2, 3, 4], lapic(0, 3, 1)])).unwrap();
        assert_eq!(m.cpus(), &[3]);
    }

    #[test]
    fn bad_rsdp_checksums_are_refused() {
        let mut r = rsdp(2, RSDT_PA as u32, XSDT_PA);
        r[16] ^= 1;
        assert_eq!(parse_rsdp(&r), Err(Error::RsdpChecksum));
        let mut r = rsdp(2, RSDT_PA as u32, XSDT_PA);
        r[25] ^= 1;
        assert_eq!(parse_rsdp(&r), Err(Error::RsdpExtendedChecksum));
        assert_eq!(parse_rsdp(b"RSD PTX 0123456789ab"), Err(Error::NoRsdp));
        assert_eq!(parse_rsdp(b"RSD PTR "), Err(Error::NoRsdp));
        // A revision-2 pointer cut to 20 bytes cannot be checked.
        assert_eq!(parse_rsdp(&rsdp(2, RSDT_PA as u32, XSDT_PA)[..20]), Err(Error::RsdpExtendedChecksum));
    }

    #[test]
    fn scan_finds_the_pointer_on_a_16_byte_boundary() {
        let mut region = std::vec![0u8; 0x400];
        let r = rsdp(2, RSDT_PA as u32, XSDT_PA);
        // A signature with a bad checksum first, then an unaligned copy: both skipped.
        region[0x40..0x48].copy_from_slice(b"RSD PTR ");
        region[0x108..0x108 + r.len()].copy_from_slice(&r);
        assert_eq!(scan_rsdp(&region), None);
        region[0x200..0x200 + r.len()].copy_from_slice(&r);
        assert_eq!(scan_rsdp(&region), Some(0x200));
        // A pointer at the very end of a region still fits (20 bytes, ACPI 1.0).
        let mut tail = std::vec![0u8; 0x30];
        tail[0x10..0x24].copy_from_slice(&rsdp(0, 1, 0));
        assert_eq!(scan_rsdp(&tail[..0x24]), Some(0x10));
    }

    #[test]
    fn bad_madt_checksum_is_refused() {
        let mut t = qemu_madt();
        t[HEADER_LEN + 10] ^= 0xff;
        let (mem, r) = machine(t);
        assert_eq!(read_madt(&mem, &parse_rsdp(&r).unwrap()).unwrap_err(), Error::Checksum { sig: *b"APIC" });
    }

    #[test]
    fn truncated_tables_are_refused() {
        // The MADT claims more bytes than memory holds.
        let mut t = qemu_madt();
        let n = t.len();
        t.truncate(n - 8);
        let (mem, r) = machine(t);
        let e = read_madt(&mem, &parse_rsdp(&r).unwrap()).unwrap_err();
        assert_eq!(e, Error::Truncated { sig: *b"APIC", len: n as u32 });
        assert_eq!(std::format!("{e}"), std::format!("APIC table truncated (length {n})"));
        // A header stating a length below the header's own.
        let mut t = qemu_madt();
        t[4..8].copy_from_slice(&10u32.to_le_bytes());
        let (mem, _) = machine(t);
        assert_eq!(table(&mem, MADT_PA, Some(b"APIC")), Err(Error::Truncated { sig: *b"APIC", len: 10 }));
        // A MADT too short for its fixed fields.
        assert_eq!(parse_madt(&sdt(b"APIC", &[0; 4])).unwrap_err(), Error::Truncated { sig: *b"APIC", len: 40 });
    }

    #[test]
    fn entries_running_past_the_table_are_refused() {
        // An entry whose length runs past the end.
        let mut e = lapic(1, 1, 1);
        e[1] = 12;
        let t = madt(&[lapic(0, 0, 1), e]);
        assert_eq!(parse_madt(&t).unwrap_err(), Error::MadtEntry { offset: HEADER_LEN + 16, kind: 0, len: 12 });
        // A zero-length entry (would loop forever).
        let t = madt(&[lapic(0, 0, 1), std::vec![0x80, 0]]);
        assert_eq!(parse_madt(&t).unwrap_err(), Error::MadtEntry { offset: HEADER_LEN + 16, kind: 0x80, len: 0 });
        // An entry shorter than its type needs.
        let t = madt(&[std::vec![9, 8, 0, 0, 1, 0, 0, 0]]);
        assert!(matches!(parse_madt(&t), Err(Error::MadtEntry { kind: 9, len: 8, .. })));
        // One stray byte at the end.
        let t = madt(&[lapic(0, 0, 1), std::vec![0]]);
        assert!(matches!(parse_madt(&t), Err(Error::MadtEntry { len: 0, .. })));
    }

    #[test]
    fn a_damaged_xsdt_falls_back_to_the_rsdt() {
        let (mut mem, r) = machine(qemu_madt());
        mem.0[1].1[HEADER_LEN] ^= 1; // XSDT entry byte: checksum now wrong
        let root = parse_rsdp(&r).unwrap();
        assert_eq!(read_madt(&mem, &root).unwrap().cpus(), &[0, 1]);
        // If the RSDT is damaged too, the XSDT's fault is reported.
        mem.0[0].1[HEADER_LEN] ^= 1;
        assert_eq!(read_madt(&mem, &root).unwrap_err(), Error::Checksum { sig: *b"XSDT" });
    }

    #[test]
    fn missing_or_unreadable_tables() {
        let (mut mem, r) = machine(qemu_madt());
        let root = parse_rsdp(&r).unwrap();
        mem.0.pop(); // no MADT where the root tables point
        assert_eq!(read_madt(&mem, &root).unwrap_err(), Error::Missing { sig: *b"APIC" });
        assert_eq!(std::format!("{}", Error::Missing { sig: *b"APIC" }), "no APIC table");
        let far = Rsdp { revision: 0, rsdt: 0xdead_0000, xsdt: 0 };
        assert_eq!(read_madt(&mem, &far).unwrap_err(), Error::Unreadable { pa: 0xdead_0000 });
        // The RSDT pointer names a FACP, not an RSDT.
        let wrong = Rsdp { revision: 0, rsdt: FACP_PA as u32, xsdt: 0 };
        assert_eq!(read_madt(&mem, &wrong).unwrap_err(), Error::Signature { expected: *b"RSDT", found: *b"FACP" });
    }
}
