//! smoltcp's view of the virtio-net device. Received ARP packets are also
//! copied aside for the link-local address logic, which smoltcp does not do,
//! and every received frame teaches the neighbour table, whose ARP replies
//! smoltcp receives before the device's next frame (`sion_netstack::neighbors`).

use crate::virtnet::{Received, VirtNet};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use sion_netstack::ether::{self, ARP_FRAME_LEN};
use sion_netstack::linklocal::Arp;
use sion_netstack::neighbors::Neighbors;
use sion_netstack::checksum::{self, Verdict};
use smoltcp::phy::{Checksum, Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;

pub use crate::virtnet::QUEUE_SIZE;

pub type Net = VirtNet;

pub struct Nic {
    pub net: Rc<RefCell<Net>>,
    /// ARP packets seen since the last look.
    pub arp: Rc<RefCell<Vec<Arp>>>,
    pub neighbors: Rc<RefCell<Neighbors>>,
    pub rx_packets: u64,
    /// TCP segments dropped for a wrong checksum.
    pub bad_checksums: u64,
    pub tx_packets: Rc<RefCell<u64>>,
}

enum Frame {
    Device(Received),
    /// An ARP reply from the neighbour table, never seen on the wire.
    Fed([u8; ARP_FRAME_LEN]),
}

pub struct NicRx {
    net: Rc<RefCell<Net>>,
    frame: Option<Frame>,
    arp: Rc<RefCell<Vec<Arp>>>,
    neighbors: Rc<RefCell<Neighbors>>,
    now_ns: u64,
}

pub struct NicTx {
    net: Rc<RefCell<Net>>,
    count: Rc<RefCell<u64>>,
}

impl Nic {
    /// Send a frame we built ourselves (ARP probes and announcements).
    pub fn send_raw(&mut self, frame: &[u8]) {
        NicTx { net: self.net.clone(), count: self.tx_packets.clone() }.consume(frame.len(), |b| b.copy_from_slice(frame));
    }
}

impl Device for Nic {
    type RxToken<'a> = NicRx;
    type TxToken<'a> = NicTx;

    fn receive(&mut self, t: Instant) -> Option<(NicRx, NicTx)> {
        let fed = self.neighbors.borrow_mut().next_feed();
        let frame = match fed {
            Some(f) => Frame::Fed(f),
            None => {
                // TCP checksums are verified here, faster than smoltcp does
                // (`sion_netstack::checksum`); a bad segment is dropped.
                let received = loop {
                    let r = self.net.borrow_mut().take_rx()?;
                    self.rx_packets += 1;
                    if checksum::verify_tcp(r.packet()) != Verdict::Bad {
                        break r;
                    }
                    self.bad_checksums += 1;
                    self.net.borrow_mut().recycle(r);
                };
                Frame::Device(received)
            }
        };
        let rx = NicRx { net: self.net.clone(), frame: Some(frame), arp: self.arp.clone(), neighbors: self.neighbors.clone(), now_ns: t.total_micros() as u64 * 1000 };
        Some((rx, NicTx { net: self.net.clone(), count: self.tx_packets.clone() }))
    }

    fn transmit(&mut self, _t: Instant) -> Option<NicTx> {
        self.net.borrow_mut().can_send().then(|| NicTx { net: self.net.clone(), count: self.tx_packets.clone() })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = 1514;
        // smoltcp caps the TCP window it advertises at this many segments:
        // as many as the device has receive buffers. (One, as before, made
        // every TCP sender stop and wait for an ACK after each segment.)
        caps.max_burst_size = Some(QUEUE_SIZE);
        caps.medium = Medium::Ethernet;
        // Received TCP segments were verified in `receive`.
        caps.checksum.tcp = Checksum::Tx;
        caps
    }
}

impl RxToken for NicRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(mut self, f: F) -> R {
        let r = match self.frame.as_ref().expect("consumed once") {
            Frame::Device(received) => {
                let packet = received.packet();
                if let Some(a) = ether::parse_arp(packet) {
                    self.arp.borrow_mut().push(a);
                }
                self.neighbors.borrow_mut().observe(self.now_ns, packet);
                f(packet)
            }
            Frame::Fed(frame) => f(frame),
        };
        self.recycle();
        r
    }
}

impl NicRx {
    fn recycle(&mut self) {
        if let Some(Frame::Device(received)) = self.frame.take() {
            self.net.borrow_mut().recycle(received);
        }
    }
}

impl Drop for NicRx {
    fn drop(&mut self) {
        // A token smoltcp dropped unconsumed still gives its buffer back.
        self.recycle();
    }
}

impl TxToken for NicTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut f = Some(f);
        let sent = self.net.borrow_mut().send_with(len, |b| (f.take().expect("once"))(b));
        match sent {
            Some(r) => {
                *self.count.borrow_mut() += 1;
                r
            }
            // Every slot in flight: smoltcp's frame is built and dropped,
            // as a full wire would lose it (TCP sends it again).
            None => (f.take().expect("not called"))(&mut alloc::vec![0u8; len]),
        }
    }
}
