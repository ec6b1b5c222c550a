//! Time: the TSC as the clock, the local APIC timer for preemption and timeouts.
//!
//! The TSC frequency comes from CPUID (leaf 0x15, or the hypervisor leaf
//! 0x40000010) when the CPU says it, otherwise from a 20 ms measurement against
//! the PIT. The LAPIC timer runs one-shot, armed only for the next event (the
//! end of a time slice when others wait, or the earliest task timer), so an
//! idle node or a node with one runnable task takes no ticks.

use crate::cpu::{self, inb, outb, rdmsr, rdtsc};
use crate::mem::DIRECT_MAP;
use core::sync::atomic::{AtomicU64, Ordering};
use sion_abi::call::ClockInfo;

const LAPIC_PHYS_DEFAULT: u64 = 0xfee0_0000;
const REG_EOI: u64 = 0xb0;
const REG_SVR: u64 = 0xf0;
const REG_LVT_TIMER: u64 = 0x320;
const REG_INITIAL_COUNT: u64 = 0x380;
const REG_CURRENT_COUNT: u64 = 0x390;
const REG_DIVIDE: u64 = 0x3e0;

pub struct Clock {
    pub info: ClockInfo,
    /// LAPIC timer ticks per second (divide by 1).
    pub lapic_hz: u64,
    /// The local APIC's registers: each CPU reaches its own at this address.
    lapic_base: u64,
}

impl Clock {
    pub const fn empty() -> Self {
        Clock { info: ClockInfo { tsc_hz: 0, tsc_at_boot: 0, realtime_at_boot_ns: 0, source: 0 }, lapic_hz: 0, lapic_base: 0 }
    }

    fn lapic_write(&self, reg: u64, v: u32) {
        // SAFETY: the LAPIC page is mapped uncached in the direct map.
        unsafe { core::ptr::write_volatile((self.lapic_base + reg) as *mut u32, v) }
    }

    fn lapic_read(&self, reg: u64) -> u32 {
        // SAFETY: as lapic_write.
        unsafe { core::ptr::read_volatile((self.lapic_base + reg) as *const u32) }
    }

    pub fn init(&mut self, realtime_ns: Option<u64>) {
        // Mask the 8259 PIC: firmware may leave IRQ0 on vector 8.
        outb(0x21, 0xff);
        outb(0xa1, 0xff);
        let base = rdmsr(cpu::msr::APIC_BASE);
        let phys = if base & (1 << 11) != 0 { base & 0xffff_f000 } else { LAPIC_PHYS_DEFAULT };
        self.lapic_base = DIRECT_MAP + phys;
        LAPIC_BASE.store(self.lapic_base, Ordering::Relaxed);
        cpu::wrmsr(cpu::msr::APIC_BASE, base | (1 << 11));
        self.lapic_write(REG_SVR, 0x100 | crate::idt::VECTOR_SPURIOUS as u32);
        self.lapic_write(REG_DIVIDE, 0b1011); // divide by 1
        self.lapic_write(REG_LVT_TIMER, 1 << 16); // masked until armed

        let (tsc_hz, source) = cpuid_tsc_hz().unwrap_or((0, 2));
        // Measure the LAPIC (and the TSC, if CPUID was silent) against the PIT.
        self.lapic_write(REG_LVT_TIMER, crate::idt::VECTOR_TIMER as u32 | (1 << 16));
        self.lapic_write(REG_INITIAL_COUNT, u32::MAX);
        let t0 = rdtsc();
        pit_wait_ms(20);
        let t1 = rdtsc();
        let lapic_elapsed = u32::MAX - self.lapic_read(REG_CURRENT_COUNT);
        self.lapic_write(REG_INITIAL_COUNT, 0);
        let measured_tsc = (t1 - t0) * 50;
        self.lapic_hz = lapic_elapsed as u64 * 50;
        self.info.tsc_hz = if tsc_hz != 0 { tsc_hz } else { measured_tsc };
        self.info.source = source;
        self.info.tsc_at_boot = crate::BOOT_TSC.load(core::sync::atomic::Ordering::Relaxed);
        let since_boot = self.info.tsc_to_ns(rdtsc());
        self.info.realtime_at_boot_ns = match realtime_ns {
            Some(ns) => ns.saturating_sub(since_boot),
            None => rtc_unix_seconds().map(|s| (s * 1_000_000_000).saturating_sub(since_boot)).unwrap_or(0),
        };
    }

    pub fn now_ns(&self) -> u64 {
        self.info.tsc_to_ns(rdtsc())
    }

    pub fn ns_to_tsc(&self, ns: u64) -> u64 {
        self.info.tsc_at_boot + ((ns as u128 * self.info.tsc_hz as u128) / 1_000_000_000) as u64
    }

    /// Arm this CPU's one-shot timer to fire at TSC value `deadline`, or
    /// stop it. `armed` is the CPU's note of the deadline it is armed for (0 =
    /// stopped, and set to 0 when it fires): re-arming for the same event is
    /// skipped, saving two LAPIC writes per kernel entry.
    pub fn arm(&self, armed: &mut u64, deadline: Option<u64>) {
        let want = deadline.unwrap_or(0);
        if want == *armed {
            return;
        }
        *armed = want;
        match deadline {
            None => self.lapic_write(REG_INITIAL_COUNT, 0),
            Some(d) => {
                let now = rdtsc();
                let dt = d.saturating_sub(now).max(1);
                let ticks = (dt as u128 * self.lapic_hz as u128 / self.info.tsc_hz.max(1) as u128).clamp(1, u32::MAX as u128) as u32;
                self.lapic_write(REG_LVT_TIMER, crate::idt::VECTOR_TIMER as u32);
                self.lapic_write(REG_INITIAL_COUNT, ticks);
            }
        }
    }

}

/// The LAPIC's address, for the interrupt path that has no kernel state at hand.
static LAPIC_BASE: AtomicU64 = AtomicU64::new(0);

/// Acknowledge the interrupt being handled.
pub fn eoi() {
    let base = LAPIC_BASE.load(Ordering::Relaxed);
    if base != 0 {
        // SAFETY: the LAPIC page is mapped uncached in the direct map.
        unsafe { core::ptr::write_volatile((base + REG_EOI) as *mut u32, 0) }
    }
}

fn cpuid_tsc_hz() -> Option<(u64, u64)> {
    let c = raw_cpuid::CpuId::new();
    if let Some(info) = c.get_tsc_info() {
        if let Some(hz) = info.tsc_frequency() {
            if hz > 0 {
                return Some((hz, 0));
            }
        }
    }
    if let Some(hv) = c.get_hypervisor_info() {
        if let Some(khz) = hv.tsc_frequency() {
            if khz > 0 {
                return Some((khz as u64 * 1000, 1));
            }
        }
    }
    None
}

/// Busy-wait `ms` (at most 50) milliseconds by reading back PIT channel 0,
/// which needs no speaker gate (port 0x61 is absent on microvm).
fn pit_wait_ms(ms: u32) {
    let ticks = (1_193_182u32 * ms.min(50) / 1000) as u16;
    outb(0x43, 0b0011_0000); // channel 0, lo/hi, mode 0 (interrupt on terminal count; IRQ0 is masked)
    outb(0x40, 0xff);
    outb(0x40, 0xff);
    let read = || {
        outb(0x43, 0); // latch channel 0
        let lo = inb(0x40) as u16;
        let hi = inb(0x40) as u16;
        (hi << 8) | lo
    };
    let start = read();
    let mut spins: u64 = 0;
    loop {
        let now = read();
        if start.wrapping_sub(now) >= ticks {
            break;
        }
        spins += 1;
        if spins > 50_000_000 {
            break; // no PIT: the figures will be off, but the node still boots
        }
    }
}

fn cmos(reg: u8) -> u8 {
    outb(0x70, reg);
    inb(0x71)
}

/// Wall-clock seconds from the CMOS RTC, if one answers sensibly.
fn rtc_unix_seconds() -> Option<u64> {
    let mut spins = 0;
    while cmos(0x0a) & 0x80 != 0 {
        spins += 1;
        if spins > 1_000_000 {
            return None;
        }
    }
    let b = cmos(0x0b);
    let bcd = b & 0x04 == 0;
    let conv = |v: u8| if bcd { (v & 0x0f) + (v >> 4) * 10 } else { v };
    let sec = conv(cmos(0x00)) as u64;
    let min = conv(cmos(0x02)) as u64;
    let hour = conv(cmos(0x04) & 0x7f) as u64;
    let day = conv(cmos(0x07)) as u64;
    let month = conv(cmos(0x08)) as u64;
    let year = 2000 + conv(cmos(0x09)) as u64;
    if !(1..=12).contains(&month) || day == 0 || day > 31 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + hour * 3600 + min * 60 + sec)
}
