//! The job console: a 16550 UART on COM2 (ports 0x2f8..0x2ff, granted to the
//! boot server by the kernel), polled, carrying `sion_abi::console` frames.

use sion_abi::console::{frame_header, MAX_PAYLOAD};
use sion_rt::io::{inb, outb};

pub const COM2: u16 = 0x2f8;

const DATA: u16 = 0;
const IER: u16 = 1;
const FCR: u16 = 2;
const LCR: u16 = 3;
const MCR: u16 = 4;
const LSR: u16 = 5;

const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;
const LSR_TX_IDLE: u8 = 1 << 6;

/// 115200 baud 8N1, FIFOs on and cleared, interrupts off.
pub fn init() {
    outb(COM2 + IER, 0);
    outb(COM2 + LCR, 0x80); // divisor latch
    outb(COM2 + DATA, 1); // 115200
    outb(COM2 + IER, 0);
    outb(COM2 + LCR, 0x03); // 8N1
    outb(COM2 + FCR, 0xc7); // FIFO on, clear both, 14-byte threshold
    outb(COM2 + MCR, 0x03); // DTR, RTS; OUT2 off: no interrupts
    // The FIFO reset above drops whatever arrived before; the host holds stdin
    // back until it sees this.
    send(sion_abi::console::up::READY, &[]);
}

pub fn put(b: u8) {
    while inb(COM2 + LSR) & LSR_THR_EMPTY == 0 {
        core::hint::spin_loop();
    }
    outb(COM2 + DATA, b);
}

/// A received byte, if one is waiting.
pub fn get() -> Option<u8> {
    (inb(COM2 + LSR) & LSR_DATA_READY != 0).then(|| inb(COM2 + DATA))
}

/// Wait until everything written has left the UART.
pub fn flush() {
    while inb(COM2 + LSR) & LSR_TX_IDLE == 0 {
        core::hint::spin_loop();
    }
}

/// Send bytes on a channel, in frames of at most MAX_PAYLOAD.
pub fn send(tag: u8, bytes: &[u8]) {
    if bytes.is_empty() {
        for b in frame_header(tag, 0) {
            put(b);
        }
        return;
    }
    for chunk in bytes.chunks(MAX_PAYLOAD) {
        for b in frame_header(tag, chunk.len()) {
            put(b);
        }
        for &b in chunk {
            put(b);
        }
    }
}
