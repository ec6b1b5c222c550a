//! A virtio-console driver for a byte stream at full speed: QEMU's
//! `virtio-serial-device` (virtio-mmio) with one `virtserialport` at port 1.
//!
//! Why port 1 and the multiport protocol: QEMU *drops* what a `virtconsole`
//! (port 0) cannot write to its chardev at once (its `flush_buf` does not
//! throttle console ports), while a `virtserialport` holds the guest's buffers
//! until the host reads; and only port 0 works without multiport. So the
//! driver negotiates `VIRTIO_CONSOLE_F_MULTIPORT`, tells the device it is
//! ready and opens port 1 on the control queue, then uses port 1's queues.
//!
//! Unlike `virtio_drivers::device::console` (one page-sized receive buffer,
//! copied out byte by byte) it keeps [`RX_BUFS`] receive buffers of 4 KiB
//! queued (QEMU fills at most 4 KiB per chardev read) and packs output into
//! [`TX_BUFS`] buffers of [`TX_BUF`] bytes, all in DMA memory (no bounce
//! copies). Used receive buffers raise the interrupt; transmit completions
//! do not (they are collected when a buffer is needed).

use crate::hal::{self, SionHal};
use core::ptr::NonNull;
use sion_rt as rt;
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};

/// Size of one virtio-mmio slot on QEMU microvm.
pub const MMIO_SLOT: u64 = 0x200;

/// Receive buffers kept queued, 4 KiB each.
pub const RX_BUFS: usize = 64;
const RX_BUF: usize = 4096;
/// Transmit buffers and their size.
pub const TX_BUFS: usize = 16;
pub const TX_BUF: usize = 32 * 1024;

const PORT: u32 = 1;
const Q_CONTROL_TX: u16 = 3;
const Q_RX: u16 = 4; // port 1's receiveq: 2 * (1 + 1)
const Q_TX: u16 = 5;

const DEVICE_READY: u16 = 0;
const PORT_READY: u16 = 3;
const PORT_OPEN: u16 = 6;

bitflags::bitflags! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Features: u64 {
        const MULTIPORT = 1 << 1;
        const VERSION_1 = 1 << 32;
    }
}

pub struct Console {
    transport: MmioTransport<'static>,
    rxq: VirtQueue<SionHal, RX_BUFS>,
    txq: VirtQueue<SionHal, TX_BUFS>,
    rx_va: u64,
    /// The receive buffer of each token (descriptor index).
    rx_of_token: [u8; RX_BUFS],
    tx_va: u64,
    /// Transmit buffers free to fill.
    tx_free: [u8; TX_BUFS],
    tx_nfree: usize,
    /// Submitted transmit buffers, oldest first: (token, buffer, length).
    tx_flight: [(u16, u8, u32); TX_BUFS],
    tx_head: usize,
    tx_count: usize,
    /// The buffer being filled and its length.
    fill: Option<(u8, usize)>,
}

/// Why a console could not be set up.
#[derive(Debug)]
pub enum Error {
    NoDevice,
    NoMultiport,
    NoMemory,
    Queue(virtio_drivers::Error),
}

fn slice(va: u64, len: usize) -> &'static mut [u8] {
    // SAFETY: `va` is DMA memory from `hal::dma`, mapped for the server's
    // life; each buffer is handed out by one owner at a time (the queue or
    // the driver).
    unsafe { core::slice::from_raw_parts_mut(va as *mut u8, len) }
}

impl Console {
    /// The first virtio-console device among the virtio-mmio slots of the
    /// window (`base`, `len`), set up with port 1 open: the console and its slot.
    pub fn probe(base: u64, len: u64) -> Result<(Console, u64), Error> {
        let va = hal::map_mmio(base, len).ok_or(Error::NoDevice)?;
        for slot in 0..len / MMIO_SLOT {
            let header = NonNull::new((va + slot * MMIO_SLOT) as *mut VirtIOHeader).ok_or(Error::NoDevice)?;
            // SAFETY: the slot lies inside the device window just mapped and
            // holds a virtio-mmio register block (QEMU fills every slot).
            let Ok(t) = (unsafe { MmioTransport::new(header, MMIO_SLOT as usize) }) else { continue };
            if t.device_type() == DeviceType::Console {
                return Console::new(t).map(|c| (c, slot));
            }
            // Another server's device (the netstack's virtio-net shares the
            // window): dropping a transport resets its device (virtio-drivers'
            // `Drop for MmioTransport`), which killed the network of a node
            // whose netstack had set it up first. Forget it instead.
            core::mem::forget(t);
        }
        Err(Error::NoDevice)
    }

    fn new(mut transport: MmioTransport<'static>) -> Result<Console, Error> {
        let features = transport.begin_init(Features::MULTIPORT | Features::VERSION_1);
        if !features.contains(Features::MULTIPORT) {
            return Err(Error::NoMultiport);
        }
        let mut control = VirtQueue::<SionHal, 4>::new(&mut transport, Q_CONTROL_TX, false, false).map_err(Error::Queue)?;
        let rxq = VirtQueue::<SionHal, RX_BUFS>::new(&mut transport, Q_RX, false, false).map_err(Error::Queue)?;
        let mut txq = VirtQueue::<SionHal, TX_BUFS>::new(&mut transport, Q_TX, false, false).map_err(Error::Queue)?;
        transport.finish_init();
        // Transmit completions are collected when needed: no interrupt for them.
        txq.set_dev_notify(false);

        let (_, rx_va) = hal::dma((RX_BUFS * RX_BUF) as u64).ok_or(Error::NoMemory)?;
        let (_, tx_va) = hal::dma((TX_BUFS * TX_BUF) as u64).ok_or(Error::NoMemory)?;
        let (_, ctl_va) = hal::dma(4096).ok_or(Error::NoMemory)?;
        let mut c = Console {
            transport,
            rxq,
            txq,
            rx_va,
            rx_of_token: [0; RX_BUFS],
            tx_va,
            tx_free: core::array::from_fn(|i| (TX_BUFS - 1 - i) as u8),
            tx_nfree: TX_BUFS,
            tx_flight: [(0, 0, 0); TX_BUFS],
            tx_head: 0,
            tx_count: 0,
            fill: None,
        };
        // The device is ready, port 1 is ready and open (control messages:
        // port id u32, event u16, value u16). What the device answers on the
        // control receive queue is not needed: that queue is left unset.
        let ctl = slice(ctl_va, 8);
        for (port, event) in [(0, DEVICE_READY), (PORT, PORT_READY), (PORT, PORT_OPEN)] {
            ctl[..4].copy_from_slice(&u32::to_le_bytes(port));
            ctl[4..6].copy_from_slice(&event.to_le_bytes());
            ctl[6..8].copy_from_slice(&1u16.to_le_bytes());
            control.add_notify_wait_pop(&[&ctl[..]], &mut [], &mut c.transport).map_err(Error::Queue)?;
        }
        for i in 0..RX_BUFS {
            c.give_rx(i as u8)?;
        }
        c.transport.notify(Q_RX);
        Ok(c)
    }

    fn rx_buf(&self, i: u8) -> &'static mut [u8] {
        slice(self.rx_va + (i as usize * RX_BUF) as u64, RX_BUF)
    }

    fn tx_buf(&self, i: u8) -> &'static mut [u8] {
        slice(self.tx_va + (i as usize * TX_BUF) as u64, TX_BUF)
    }

    fn give_rx(&mut self, i: u8) -> Result<(), Error> {
        let buf = self.rx_buf(i);
        // SAFETY: the buffer is DMA memory the driver does not touch until
        // the device gives it back (pop_used in `receive`).
        let token = unsafe { self.rxq.add(&[], &mut [buf]) }.map_err(Error::Queue)?;
        self.rx_of_token[token as usize] = i;
        Ok(())
    }

    /// Acknowledge the device's interrupt (call when it was signalled,
    /// before [`Console::receive`], so data arriving meanwhile raises a new one).
    pub fn ack_interrupt(&mut self) {
        let _ = self.transport.ack_interrupt();
    }

    /// Hand everything received so far to `f`, in order, and queue the
    /// buffers again.
    pub fn receive(&mut self, mut f: impl FnMut(&[u8])) {
        let mut gave = false;
        while let Some(token) = self.rxq.peek_used() {
            let i = self.rx_of_token[token as usize];
            let buf = self.rx_buf(i);
            // SAFETY: the buffer of this token, as added.
            let Ok(len) = (unsafe { self.rxq.pop_used(token, &[], &mut [buf]) }) else { break };
            f(&self.rx_buf(i)[..(len as usize).min(RX_BUF)]);
            if self.give_rx(i).is_ok() {
                gave = true;
            }
        }
        // Always kick: QEMU stops reading its chardev while no buffer is
        // queued and resumes on this notification.
        if gave {
            self.transport.notify(Q_RX);
        }
    }

    /// Take back the transmit buffers the device has finished with.
    fn reclaim(&mut self) {
        while self.tx_count > 0 {
            let Some(token) = self.txq.peek_used() else { break };
            let (t, i, len) = self.tx_flight[self.tx_head];
            if t != token {
                break; // the device completes in order; never expected
            }
            let buf = &self.tx_buf(i)[..len as usize];
            // SAFETY: the buffer of this token, as added.
            if unsafe { self.txq.pop_used(token, &[buf], &mut []) }.is_err() {
                break;
            }
            self.tx_head = (self.tx_head + 1) % TX_BUFS;
            self.tx_count -= 1;
            self.tx_free[self.tx_nfree] = i;
            self.tx_nfree += 1;
        }
    }

    /// A free transmit buffer, waiting for the host to read if all are in flight.
    fn take_tx(&mut self) -> u8 {
        let mut spins = 0u32;
        loop {
            self.reclaim();
            if self.tx_nfree > 0 {
                self.tx_nfree -= 1;
                return self.tx_free[self.tx_nfree];
            }
            spins = spins.wrapping_add(1);
            if spins % 64 == 0 {
                self.transport.notify(Q_TX);
            }
            rt::yield_now();
        }
    }

    /// Queue bytes for the host; they leave when a buffer fills or at [`Console::flush`].
    pub fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let (i, len) = match self.fill {
                Some(f) => f,
                None => (self.take_tx(), 0),
            };
            let n = bytes.len().min(TX_BUF - len);
            self.tx_buf(i)[len..len + n].copy_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            self.fill = Some((i, len + n));
            if len + n == TX_BUF {
                self.flush();
            }
        }
    }

    /// Send the buffer being filled.
    pub fn flush(&mut self) {
        let Some((i, len)) = self.fill.take() else { return };
        if len == 0 {
            self.tx_free[self.tx_nfree] = i;
            self.tx_nfree += 1;
            return;
        }
        let buf = &self.tx_buf(i)[..len];
        // SAFETY: the buffer is DMA memory the driver does not touch until
        // the device gives it back (pop_used in `reclaim`).
        let token = match unsafe { self.txq.add(&[buf], &mut []) } {
            Ok(t) => t,
            Err(_) => {
                // Cannot happen: as many descriptors as buffers.
                self.fill = Some((i, len));
                return;
            }
        };
        self.tx_flight[(self.tx_head + self.tx_count) % TX_BUFS] = (token, i, len as u32);
        self.tx_count += 1;
        self.transport.notify(Q_TX);
    }

    /// Whether output is still waiting in the driver or the device.
    pub fn busy(&mut self) -> bool {
        self.reclaim();
        self.tx_count > 0 || self.fill.is_some_and(|(_, l)| l > 0)
    }

    /// Send everything and wait until the device has taken it all (or
    /// `timeout_ns` passed: a host that stopped reading must not keep the
    /// node up forever).
    pub fn drain(&mut self, timeout_ns: u64) {
        self.flush();
        let clock = rt::clock_info().unwrap_or_default();
        let end = clock.tsc_to_ns(rt::rdtsc()).saturating_add(timeout_ns);
        let mut spins = 0u32;
        while self.busy() && clock.tsc_to_ns(rt::rdtsc()) < end {
            spins = spins.wrapping_add(1);
            if spins % 64 == 0 {
                self.transport.notify(Q_TX);
            }
            rt::yield_now();
        }
    }
}
