//! The virtio-net device with its buffers in DMA memory and transmission
//! that does not wait.
//!
//! `virtio_drivers`' `VirtIONet` keeps its buffers on the heap (so SiON's
//! `Hal` copies every frame through a bounce slot) and its `send` spins
//! until the device has taken the frame. Under QEMU the device takes it in
//! its own thread, later: a profile of a bulk transfer found the netstack
//! spinning there 77% of its time (one wait per ACK). Here, over
//! `VirtIONetRaw`: receive and transmit buffers are slots of one block of
//! DMA memory (shared with the device in place, no copy), a transmitted
//! frame's slot is reclaimed when the device reports it used, and only when
//! every slot is in flight does a sender wait (smoltcp then keeps the frame
//! for its next poll).

use crate::hal::NetHal;
use sion_virtio::hal::dma;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::SomeTransport;
use virtio_drivers::Error;

/// Descriptors per virtio queue: as many receive buffers wait for frames.
pub const QUEUE_SIZE: usize = 64;
/// Frames in flight to the device at once.
const TX_SLOTS: usize = 32;
/// One slot: the virtio-net header and an Ethernet frame of 1514 bytes.
const SLOT: usize = 2048;

pub struct VirtNet {
    raw: VirtIONetRaw<NetHal, SomeTransport<'static>, QUEUE_SIZE>,
    /// Start of the DMA block: QUEUE_SIZE receive slots, then TX_SLOTS transmit slots.
    base: *mut u8,
    /// The receive slot of each descriptor token the device holds.
    rx_slot: [usize; QUEUE_SIZE],
    /// The transmit slot of each descriptor token in flight.
    tx_slot: [Option<usize>; QUEUE_SIZE],
    tx_free: alloc::vec::Vec<usize>,
}

/// A frame the device filled: its slot and where the packet lies in it.
pub struct Received {
    slot: usize,
    packet: *const u8,
    len: usize,
}

impl Received {
    /// The frame's bytes. They need no borrow of the device: smoltcp may
    /// send (an ARP or TCP answer) while it reads them.
    pub fn packet(&self) -> &[u8] {
        // SAFETY: `take_rx` took the slot back from the device and nothing
        // writes it until `recycle`, which consumes `self`.
        unsafe { core::slice::from_raw_parts(self.packet, self.len) }
    }
}

impl VirtNet {
    pub fn new(transport: SomeTransport<'static>) -> Result<VirtNet, Error> {
        let raw = VirtIONetRaw::new(transport)?;
        let (_, va) = dma(((QUEUE_SIZE + TX_SLOTS) * SLOT) as u64).ok_or(Error::DmaError)?;
        let mut net = VirtNet { raw, base: va as *mut u8, rx_slot: [0; QUEUE_SIZE], tx_slot: [None; QUEUE_SIZE], tx_free: (0..TX_SLOTS).rev().collect() };
        for slot in 0..QUEUE_SIZE {
            net.post_rx(slot)?;
        }
        Ok(net)
    }

    pub fn mac_address(&self) -> [u8; 6] {
        self.raw.mac_address()
    }

    pub fn ack_interrupt(&mut self) {
        let _ = self.raw.ack_interrupt();
    }

    /// Whether a received frame waits.
    pub fn can_recv(&self) -> bool {
        self.raw.poll_receive().is_some()
    }

    /// Slot `slot` (receive slots first, then transmit slots).
    ///
    /// # Safety
    /// The device must not own the slot (not posted, or reported used).
    unsafe fn slot(&mut self, slot: usize) -> &mut [u8] {
        // SAFETY: the block holds QUEUE_SIZE + TX_SLOTS slots of SLOT bytes,
        // mapped for the server's life; the caller says the device is done with it.
        unsafe { core::slice::from_raw_parts_mut(self.base.add(slot * SLOT), SLOT) }
    }

    /// Give receive slot `slot` to the device.
    fn post_rx(&mut self, slot: usize) -> Result<(), Error> {
        // SAFETY: the slot is ours until the device reports it used; it is
        // not touched before `take_rx` gets it back.
        let token = unsafe {
            let buf: *mut [u8] = self.slot(slot);
            self.raw.receive_begin(&mut *buf)?
        };
        self.rx_slot[token as usize] = slot;
        Ok(())
    }

    /// The next frame the device received, if any.
    pub fn take_rx(&mut self) -> Option<Received> {
        let token = self.raw.poll_receive()?;
        let slot = self.rx_slot[token as usize];
        // SAFETY: the device reported this token used: the slot is ours again,
        // and it is the buffer `post_rx` gave with this token.
        let done = unsafe {
            let buf: *mut [u8] = self.slot(slot);
            self.raw.receive_complete(token, &mut *buf)
        };
        match done {
            // SAFETY: inside the slot (checked), which lies in the DMA block.
            Ok((start, len)) if start + len <= SLOT => Some(Received { slot, packet: unsafe { self.base.add(slot * SLOT + start) }, len }),
            _ => {
                // A malformed completion: give the slot back and drop the frame.
                let _ = self.post_rx(slot);
                None
            }
        }
    }

    /// Give a received frame's slot back to the device.
    pub fn recycle(&mut self, r: Received) {
        let _ = self.post_rx(r.slot);
    }

    /// Take back the transmit slots of frames the device has sent.
    fn reclaim(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let Some(slot) = self.tx_slot[token as usize].take() else { break };
            // SAFETY: the token is one `send_with` began with this slot's bytes.
            let _ = unsafe {
                let buf: *mut [u8] = self.slot(QUEUE_SIZE + slot);
                self.raw.transmit_complete(token, &*buf)
            };
            self.tx_free.push(slot);
        }
    }

    /// Whether a frame can be handed over now.
    pub fn can_send(&mut self) -> bool {
        self.reclaim();
        !self.tx_free.is_empty() && self.raw.can_send()
    }

    /// Build a `len`-byte frame with `fill` in a free transmit slot and hand
    /// it to the device without waiting; false if no slot was free.
    pub fn send_with<R>(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        // smoltcp asked `can_send` for this token already: reclaim again
        // only when no slot is left.
        if self.tx_free.is_empty() {
            self.reclaim();
        }
        if !self.raw.can_send() {
            return None;
        }
        let slot = self.tx_free.pop()?;
        // SAFETY: a free transmit slot is not the device's.
        let buf: *mut [u8] = unsafe { self.slot(QUEUE_SIZE + slot) };
        // SAFETY: as above; the slot's bytes stay untouched until `reclaim`.
        let buf = unsafe { &mut *buf };
        let Ok(header) = self.raw.fill_buffer_header(buf) else {
            self.tx_free.push(slot);
            return None;
        };
        let end = (header + len).min(SLOT);
        let r = fill(&mut buf[header..end]);
        // SAFETY: the slot stays untouched until the device reports it used.
        match unsafe { self.raw.transmit_begin(&buf[..end]) } {
            Ok(token) => {
                self.tx_slot[token as usize] = Some(slot);
                Some(r)
            }
            Err(_) => {
                self.tx_free.push(slot);
                None
            }
        }
    }
}
