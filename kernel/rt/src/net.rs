//! Sockets for native servers, through the netstack server (`sion_abi::net`).
//!
//! The netstack never blocks; these helpers do, by waiting for its
//! `NOTIFY_NET` notification between retries. A server that must stay
//! responsive uses the non-blocking calls (`try_*`) from its own event loop.

use crate::{ipc_call, ipc_recv, server_lookup, Result as KResult};
use alloc::vec::Vec;
use sion_abi::msg::{Header, Kind};
use sion_abi::net::{kind, op, Reply, Request, MAX_DATA, NOTIFY_NET};
use sion_abi::TaskId;

const EAGAIN: i64 = 11;
const EINPROGRESS: i64 = 115;

/// A Linux errno from the netstack (positive), or a kernel-call failure (0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetError(pub i64);

pub type Result<T> = core::result::Result<T, NetError>;

/// The netstack server.
#[derive(Clone, Copy, Debug)]
pub struct Netstack(pub TaskId);

impl Netstack {
    pub fn find() -> KResult<Netstack> {
        server_lookup("netstack").map(Netstack)
    }

    /// One request; the reply and its data.
    pub fn request(&self, req: &Request, data: &[u8]) -> Result<(Reply, Vec<u8>)> {
        let mut msg = Vec::with_capacity(Request::SIZE + data.len());
        msg.extend_from_slice(&req.encode());
        msg.extend_from_slice(data);
        let mut head = [0u8; Reply::SIZE];
        let mut data = Vec::new();
        // The reply's fixed part, then its data straight into `data`: one
        // kernel copy, nothing zeroed or moved.
        let n = crate::call::ipc_call_into(self.0, &msg, &mut data, Reply::SIZE + MAX_DATA).map_err(|_| NetError(0))?;
        if n < Reply::SIZE {
            return Err(NetError(0));
        }
        head.copy_from_slice(&data[..Reply::SIZE]);
        let r = Reply::decode(&head).ok_or(NetError(0))?;
        if r.result() < 0 {
            return Err(NetError(-r.result()));
        }
        data.drain(..Reply::SIZE);
        if data.capacity() > 4 * data.len() {
            data.shrink_to_fit(); // do not keep 16 KiB for a few bytes
        }
        Ok((r, data))
    }

    pub fn socket(&self, k: u64) -> Result<Socket> {
        let (r, _) = self.request(&Request { op: op::SOCKET, arg: k, ..Default::default() }, &[])?;
        Ok(Socket { net: *self, handle: r.handle })
    }

    pub fn tcp(&self) -> Result<Socket> {
        self.socket(kind::TCP)
    }

    pub fn udp(&self) -> Result<Socket> {
        self.socket(kind::UDP)
    }

    /// The interface: (address, prefix length, how configured).
    pub fn info(&self) -> Result<(u32, u32, u32)> {
        let (r, _) = self.request(&Request { op: op::INFO, ..Default::default() }, &[])?;
        Ok((r.addr, r.port, r.events))
    }
}

/// Wait for the netstack's next change notification (other messages that
/// arrive meanwhile are dropped: use this only in simple servers and tests).
pub fn wait_for_change() {
    let mut buf = [0u8; Header::SIZE + 8];
    loop {
        if let Ok(n) = ipc_recv(&mut buf) {
            if let Some(h) = Header::decode(&buf[..n]) {
                if h.kind() == Some(Kind::Notification) && u64::from_le_bytes(buf[Header::SIZE..Header::SIZE + 8].try_into().unwrap()) & NOTIFY_NET != 0 {
                    return;
                }
            }
        }
    }
}

pub struct Socket {
    pub net: Netstack,
    pub handle: u32,
}

impl Socket {
    fn req(&self, op: u32) -> Request {
        Request { op, handle: self.handle, ..Default::default() }
    }

    pub fn bind(&self, addr: u32, port: u16) -> Result<Reply> {
        self.net.request(&Request { addr, port: port as u32, ..self.req(op::BIND) }, &[]).map(|r| r.0)
    }

    pub fn listen(&self, backlog: u64) -> Result<()> {
        self.net.request(&Request { arg: backlog, ..self.req(op::LISTEN) }, &[]).map(|_| ())
    }

    pub fn try_accept(&self) -> Result<(Socket, u32, u16)> {
        let (r, _) = self.net.request(&self.req(op::ACCEPT), &[])?;
        Ok((Socket { net: self.net, handle: r.handle }, r.addr, r.port as u16))
    }

    pub fn accept(&self) -> Result<(Socket, u32, u16)> {
        self.blocking(|s| s.try_accept())
    }

    /// Connect and wait until established (or refused).
    pub fn connect(&self, addr: u32, port: u16) -> Result<()> {
        match self.net.request(&Request { addr, port: port as u32, ..self.req(op::CONNECT) }, &[]) {
            Ok(_) => return Ok(()),
            Err(NetError(EINPROGRESS)) => {}
            Err(e) => return Err(e),
        }
        loop {
            let r = self.status()?;
            if r.result() < 0 {
                return Err(NetError(-r.result()));
            }
            if r.events & sion_abi::net::events::OUT != 0 {
                return Ok(());
            }
            wait_for_change();
        }
    }

    pub fn status(&self) -> Result<Reply> {
        // STATUS carries a pending error in `result` without failing the call.
        let mut msg = [0u8; Request::SIZE];
        msg.copy_from_slice(&self.req(op::STATUS).encode());
        let mut reply = [0u8; Reply::SIZE];
        ipc_call(self.net.0, &msg, &mut reply).map_err(|_| NetError(0))?;
        Reply::decode(&reply).ok_or(NetError(0))
    }

    pub fn try_send(&self, data: &[u8], to: Option<(u32, u16)>) -> Result<usize> {
        let (addr, port) = to.map(|(a, p)| (a, p as u32)).unwrap_or((0, 0));
        let n = data.len().min(MAX_DATA);
        self.net.request(&Request { addr, port, ..self.req(op::SEND) }, &data[..n]).map(|(r, _)| r.result as usize)
    }

    /// Send all of `data` (TCP) or one datagram (UDP), waiting for room.
    pub fn send(&self, data: &[u8], to: Option<(u32, u16)>) -> Result<usize> {
        let mut done = 0;
        while done < data.len() || data.is_empty() {
            let n = self.blocking(|s| s.try_send(&data[done..], to))?;
            done += n;
            if to.is_some() || data.is_empty() {
                break;
            }
        }
        Ok(done)
    }

    /// Up to `max` bytes (0 at end of stream), with the source for UDP.
    pub fn try_recv(&self, max: usize) -> Result<(Vec<u8>, u32, u16)> {
        let (r, data) = self.net.request(&Request { arg: max as u64, ..self.req(op::RECV) }, &[])?;
        Ok((data, r.addr, r.port as u16))
    }

    pub fn recv(&self, max: usize) -> Result<(Vec<u8>, u32, u16)> {
        self.blocking(|s| s.try_recv(max))
    }

    pub fn shutdown(&self, how: u64) -> Result<()> {
        self.net.request(&Request { arg: how, ..self.req(op::SHUTDOWN) }, &[]).map(|_| ())
    }

    fn blocking<T>(&self, mut f: impl FnMut(&Self) -> Result<T>) -> Result<T> {
        loop {
            match f(self) {
                Err(NetError(EAGAIN)) => wait_for_change(),
                other => return other,
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.net.request(&self.req(op::CLOSE), &[]);
    }
}
