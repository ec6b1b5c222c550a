//! smoltcp's view of the virtio-net device. Received ARP packets are also
//! copied aside for the link-local address logic, which smoltcp does not do.

use crate::hal::NetHal;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use sion_netstack::linklocal::Arp;
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;
use virtio_drivers::device::net::{RxBuffer, VirtIONet};
use virtio_drivers::transport::SomeTransport;

pub type Net = VirtIONet<NetHal, SomeTransport<'static>, 16>;

pub struct Nic {
    pub net: Rc<RefCell<Net>>,
    /// ARP packets seen since the last look.
    pub arp: Rc<RefCell<Vec<Arp>>>,
    pub rx_packets: u64,
    pub tx_packets: Rc<RefCell<u64>>,
}

pub struct NicRx {
    net: Rc<RefCell<Net>>,
    buf: Option<RxBuffer>,
    arp: Rc<RefCell<Vec<Arp>>>,
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

    fn receive(&mut self, _t: Instant) -> Option<(NicRx, NicTx)> {
        let buf = {
            let mut net = self.net.borrow_mut();
            if !net.can_recv() {
                return None;
            }
            net.receive().ok()?
        };
        self.rx_packets += 1;
        Some((NicRx { net: self.net.clone(), buf: Some(buf), arp: self.arp.clone() }, NicTx { net: self.net.clone(), count: self.tx_packets.clone() }))
    }

    fn transmit(&mut self, _t: Instant) -> Option<NicTx> {
        self.net.borrow().can_send().then(|| NicTx { net: self.net.clone(), count: self.tx_packets.clone() })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = 1514;
        caps.max_burst_size = Some(1);
        caps.medium = Medium::Ethernet;
        caps
    }
}

/// The ARP fields the link-local logic needs, from an Ethernet frame.
pub fn parse_arp(frame: &[u8]) -> Option<Arp> {
    if frame.len() < 42 || frame[12..14] != [0x08, 0x06] {
        return None;
    }
    let a = &frame[14..];
    if a[0..2] != [0, 1] || a[2..4] != [0x08, 0x00] || a[4] != 6 || a[5] != 4 {
        return None;
    }
    Some(Arp { sender_mac: a[8..14].try_into().ok()?, sender_ip: a[14..18].try_into().ok()?, target_ip: a[24..28].try_into().ok()? })
}

/// An ARP request frame: a probe has sender IP 0.0.0.0, an announcement has sender = target.
pub fn arp_frame(mac: [u8; 6], sender_ip: [u8; 4], target_ip: [u8; 4]) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&[0x08, 0x06]);
    f[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&sender_ip);
    f[38..42].copy_from_slice(&target_ip);
    f
}

impl RxToken for NicRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(mut self, f: F) -> R {
        let buf = self.buf.as_ref().expect("consumed once");
        if let Some(a) = parse_arp(buf.packet()) {
            self.arp.borrow_mut().push(a);
        }
        let r = f(buf.packet());
        if let Some(b) = self.buf.take() {
            let _ = self.net.borrow_mut().recycle_rx_buffer(b);
        }
        r
    }
}

impl Drop for NicRx {
    fn drop(&mut self) {
        // A token smoltcp dropped unconsumed still gives its buffer back.
        if let Some(b) = self.buf.take() {
            let _ = self.net.borrow_mut().recycle_rx_buffer(b);
        }
    }
}

impl TxToken for NicTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut net = self.net.borrow_mut();
        let mut tx = net.new_tx_buffer(len);
        let r = f(tx.packet_mut());
        if net.send(tx).is_ok() {
            *self.count.borrow_mut() += 1;
        }
        r
    }
}
