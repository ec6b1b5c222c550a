//! The loopback interface's device: packets sent are received in order.
//! (Our own rather than smoltcp's, to see whether packets wait.)

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use smoltcp::phy::{ChecksumCapabilities, Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;

#[derive(Default)]
pub struct Lo {
    queue: VecDeque<Vec<u8>>,
}

impl Lo {
    pub fn pending(&self) -> bool {
        !self.queue.is_empty()
    }
}

pub struct LoRx(Vec<u8>);
pub struct LoTx<'a>(&'a mut VecDeque<Vec<u8>>);

impl Device for Lo {
    type RxToken<'a> = LoRx;
    type TxToken<'a> = LoTx<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.max_transmission_unit = 65535;
        c.medium = Medium::Ip;
        c.checksum = ChecksumCapabilities::ignored();
        c
    }

    fn receive(&mut self, _t: Instant) -> Option<(LoRx, LoTx<'_>)> {
        let p = self.queue.pop_front()?;
        Some((LoRx(p), LoTx(&mut self.queue)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<LoTx<'_>> {
        Some(LoTx(&mut self.queue))
    }
}

impl RxToken for LoRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for LoTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut b = vec![0u8; len];
        let r = f(&mut b);
        self.0.push_back(b);
        r
    }
}
