//! The job console, one of three transports carrying the same
//! `sion_abi::console` frames:
//!
//! - a virtio serial port (`sion exec`: QEMU `virtio-serial-device` with a
//!   `virtserialport`, granted as `personality.mmio=` and `personality.irq=`):
//!   input arrives by interrupt into 64 queued buffers, output is packed
//!   into 32 KiB DMA buffers and sent when one fills or the server is about
//!   to wait ([`flush`]); stdin is flow-controlled (`up::READY` gives the
//!   window, `up::STDIN_TAKEN` reports what the program read);
//! - IPC to the group server that started this personality for an offloaded
//!   job (`sion_abi::console::ipc`);
//! - COM2, polled, where neither is granted (`io=0x2f8:8`).

use crate::uart;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use sion_abi::boot::cmdline_value;
use sion_abi::console::{frame_header, ipc, up, Exit, MAX_PAYLOAD};
use sion_abi::TaskId;
use sion_rt as rt;
use sion_virtio::console::Console;
use spin::Mutex;

/// How many stdin bytes the host may send beyond what the program has taken.
pub const STDIN_WINDOW: u64 = 1 << 20;

const SERIAL: u8 = 0;
const IPC: u8 = 1;
const VIRTIO: u8 = 2;

static KIND: AtomicU8 = AtomicU8::new(SERIAL);
/// The console server's task (IPC).
static SERVER: AtomicU32 = AtomicU32::new(0);
static VIRTIO_CONSOLE: Mutex<Option<Console>> = Mutex::new(None);

fn kind() -> u8 {
    KIND.load(Ordering::Relaxed)
}

fn range(v: &str) -> Option<(u64, u64)> {
    let (a, b) = v.split_once(':')?;
    Some((u64::from_str_radix(a.trim_start_matches("0x"), 16).ok()?, u64::from_str_radix(b.trim_start_matches("0x"), 16).ok()?))
}

/// Set up the console named on the command line: IPC (`job.console=`), a
/// virtio serial port (`personality.mmio=`), else COM2.
pub fn init(cmdline: &str) {
    if let Some(t) = cmdline_value(cmdline, ipc::CMDLINE_KEY).and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok()) {
        SERVER.store(t, Ordering::Relaxed);
        KIND.store(IPC, Ordering::Relaxed);
        return;
    }
    if let Some((base, len)) = cmdline_value(cmdline, "personality.mmio").and_then(range) {
        match Console::probe(base, len) {
            Ok((c, slot)) => {
                if let Some((lo, hi)) = cmdline_value(cmdline, "personality.irq").and_then(|v| v.split_once('-')).and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?))) {
                    for gsi in lo..=hi {
                        let _ = rt::irq_bind(gsi, ipc::NOTIFY_CONSOLE);
                    }
                }
                rt::log!("personality: job console on virtio-mmio slot {} ({:#x})", slot, base + slot * sion_virtio::console::MMIO_SLOT);
                let mut c = c;
                c.ack_interrupt();
                *VIRTIO_CONSOLE.lock() = Some(c);
                KIND.store(VIRTIO, Ordering::Relaxed);
                send(up::READY, &(STDIN_WINDOW as u32).to_le_bytes());
                flush();
                return;
            }
            Err(e) => rt::log!("personality: no virtio console in {base:#x}+{len:#x}: {e:?}; trying COM2"),
        }
    }
    uart::init();
}

/// Whether input arrives by interrupt or notification (no polling needed).
pub fn notifies() -> bool {
    kind() != SERIAL
}

/// Whether stdin is flow-controlled (`up::STDIN_TAKEN` expected).
pub fn flow_controlled() -> bool {
    kind() == VIRTIO
}

/// Send bytes on a channel, in frames of at most MAX_PAYLOAD.
pub fn send(tag: u8, bytes: &[u8]) {
    match kind() {
        VIRTIO => {
            // Never taken here unless a panic interrupted the driver: then
            // the frame is lost rather than the server hung.
            let Some(mut c) = VIRTIO_CONSOLE.try_lock() else { return };
            let Some(c) = c.as_mut() else { return };
            let mut chunks = bytes.chunks(MAX_PAYLOAD);
            let first = chunks.next().unwrap_or(&[]);
            for chunk in core::iter::once(first).chain(chunks) {
                c.write(&frame_header(tag, chunk.len()));
                c.write(chunk);
            }
        }
        IPC => {
            let s = TaskId(SERVER.load(Ordering::Relaxed));
            let mut msg = [0u8; 1 + MAX_PAYLOAD];
            msg[0] = tag;
            let mut chunks = bytes.chunks(MAX_PAYLOAD);
            let first = chunks.next().unwrap_or(&[]);
            for chunk in core::iter::once(first).chain(chunks) {
                msg[1..1 + chunk.len()].copy_from_slice(chunk);
                // A server gone means the job is being torn down: nothing to tell.
                let _ = rt::ipc_call(s, &msg[..1 + chunk.len()], &mut []);
            }
        }
        _ => uart::send(tag, bytes),
    }
}

/// Send what is buffered (the server calls this before it waits).
pub fn flush() {
    if kind() == VIRTIO {
        if let Some(c) = VIRTIO_CONSOLE.lock().as_mut() {
            c.flush();
        }
    }
}

/// Input bytes (encoded frames), appended to `out`: what the virtio port or
/// the UART has received, or what the console server holds after its
/// `NOTIFY_CONSOLE`. `notified`: the console's notification came.
pub fn read_input(out: &mut Vec<u8>, notified: bool) {
    match kind() {
        VIRTIO => {
            let mut c = VIRTIO_CONSOLE.lock();
            let Some(c) = c.as_mut() else { return };
            if notified {
                c.ack_interrupt();
            }
            c.receive(|b| out.extend_from_slice(b));
        }
        IPC if notified => {
            let at = out.len();
            out.resize(at + ipc::MAX_REPLY, 0);
            let n = rt::ipc_call(TaskId(SERVER.load(Ordering::Relaxed)), &[ipc::FETCH], &mut out[at..]).unwrap_or(0);
            out.truncate(at + n);
        }
        IPC => {}
        _ => {
            while let Some(b) = uart::get() {
                out.push(b);
                if out.len() >= ipc::MAX_REPLY {
                    break;
                }
            }
        }
    }
}

/// The node failed (not the program): tell the host why, then stop as
/// `finish` does, with no EXIT.
pub fn fail(why: &[u8]) -> ! {
    send(up::FAILED, &why[..why.len().min(MAX_PAYLOAD)]);
    match kind() {
        IPC => rt::exit(134),
        VIRTIO => {
            // Never taken here unless the panic interrupted the driver.
            if let Some(mut c) = VIRTIO_CONSOLE.try_lock() {
                if let Some(c) = c.as_mut() {
                    c.drain(10_000_000_000);
                }
            }
        }
        _ => uart::flush(),
    }
    rt::poweroff(134)
}

/// End the job: tell the host, then stop the machine (a boot job) or this
/// server (an offloaded job; the group server frees what is left).
pub fn finish(exit: Exit) -> ! {
    send(up::EXIT, &exit.encode());
    match kind() {
        IPC => rt::exit(0),
        VIRTIO => {
            if let Some(c) = VIRTIO_CONSOLE.lock().as_mut() {
                c.drain(10_000_000_000);
            }
        }
        _ => uart::flush(),
    }
    rt::poweroff(0)
}
