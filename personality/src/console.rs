//! The job console: COM2 for the boot job of `sion exec`, or IPC to the
//! group server that started this personality for an offloaded job
//! (`sion_abi::console::ipc`). The frames are the same either way.

use crate::uart;
use core::sync::atomic::{AtomicU32, Ordering};
use sion_abi::boot::cmdline_value;
use sion_abi::console::{ipc, up, Exit, MAX_PAYLOAD};
use sion_abi::TaskId;
use sion_rt as rt;

const SERIAL: u32 = u32::MAX;

/// The console server's task, or `SERIAL`.
static SERVER: AtomicU32 = AtomicU32::new(SERIAL);

fn server() -> Option<TaskId> {
    match SERVER.load(Ordering::Relaxed) {
        SERIAL => None,
        t => Some(TaskId(t)),
    }
}

/// Set up the console named on the command line (COM2 when none is).
pub fn init(cmdline: &str) {
    match cmdline_value(cmdline, ipc::CMDLINE_KEY).and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok()) {
        Some(t) => SERVER.store(t, Ordering::Relaxed),
        None => uart::init(),
    }
}

/// Whether the console is the group server's (an offloaded job).
pub fn is_ipc() -> bool {
    server().is_some()
}

/// Send bytes on a channel, in frames of at most MAX_PAYLOAD.
pub fn send(tag: u8, bytes: &[u8]) {
    let Some(s) = server() else { return uart::send(tag, bytes) };
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

/// Input bytes: from the UART (what has arrived), or fetched from the
/// console server after its `NOTIFY_CONSOLE`. They are encoded frames.
pub fn read_input(buf: &mut [u8], notified: bool) -> usize {
    match server() {
        None => {
            let mut n = 0;
            while n < buf.len() {
                match uart::get() {
                    Some(b) => {
                        buf[n] = b;
                        n += 1;
                    }
                    None => break,
                }
            }
            n
        }
        Some(s) if notified => rt::ipc_call(s, &[ipc::FETCH], buf).unwrap_or(0),
        Some(_) => 0,
    }
}

/// The node failed (not the program): tell the host why, then stop as
/// `finish` does, with no EXIT.
pub fn fail(why: &[u8]) -> ! {
    send(up::FAILED, &why[..why.len().min(MAX_PAYLOAD)]);
    if is_ipc() {
        rt::exit(134)
    }
    uart::flush();
    rt::poweroff(134)
}

/// End the job: tell the host, then stop the machine (a boot job) or this
/// server (an offloaded job; the group server frees what is left).
pub fn finish(exit: Exit) -> ! {
    send(up::EXIT, &exit.encode());
    if is_ipc() {
        rt::exit(0)
    }
    uart::flush();
    rt::poweroff(0)
}
