//! The socket service: `sion_abi::net` requests on smoltcp sockets. Every
//! operation answers at once (`-EAGAIN` when it would block); clients learn
//! of changes from the `NOTIFY_NET` notification and retry.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use sion_abi::net::{events, kind, op, Reply, Request, MAX_DATA};
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address};

mod errno {
    pub const EPIPE: i64 = 32;
    pub const EBADF: i64 = 9;
    pub const EAGAIN: i64 = 11;
    pub const ENOMEM: i64 = 12;
    pub const EINVAL: i64 = 22;
    pub const EDESTADDRREQ: i64 = 89;
    pub const EMSGSIZE: i64 = 90;
    pub const EOPNOTSUPP: i64 = 95;
    pub const EADDRINUSE: i64 = 98;
    pub const ENETUNREACH: i64 = 101;
    pub const ECONNRESET: i64 = 104;
    pub const EISCONN: i64 = 106;
    pub const ENOTCONN: i64 = 107;
    pub const ECONNREFUSED: i64 = 111;
    pub const EALREADY: i64 = 114;
    pub const EINPROGRESS: i64 = 115;
}

const TCP_BUFFER: usize = 64 * 1024;
const UDP_BUFFER: usize = 64 * 1024;
const UDP_PACKETS: usize = 32;
const MAX_BACKLOG: u64 = 8;

enum Kind {
    Tcp {
        /// The connection (None until connect, or while only listening).
        conn: Option<SocketHandle>,
        /// Listening sockets (smoltcp takes one connection per socket).
        listen: Vec<SocketHandle>,
        /// Connected once (so a later Closed state means end, not "not yet").
        was_connected: bool,
        connecting: bool,
        /// A pending error for `Status` (SO_ERROR), as a positive errno.
        error: i64,
    },
    Udp {
        socket: SocketHandle,
        peer: Option<IpEndpoint>,
    },
}

struct Entry {
    owner: u32,
    kind: Kind,
    local: IpListenEndpoint,
}

#[derive(Default)]
pub struct Service {
    entries: BTreeMap<u32, Entry>,
    next_handle: u32,
    next_port: u16,
    /// Closed TCP connections still finishing (FIN exchange) before removal.
    closing: Vec<SocketHandle>,
}

fn to_ip(a: u32) -> IpAddress {
    IpAddress::Ipv4(Ipv4Address::from(a))
}

fn ip_u32(a: IpAddress) -> u32 {
    match a {
        IpAddress::Ipv4(v) => u32::from(v),
    }
}

fn new_tcp() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; TCP_BUFFER]), tcp::SocketBuffer::new(vec![0; TCP_BUFFER]));
    // Acknowledge at once: a delayed ACK against a sender with a small
    // congestion window caps a transfer at one segment per delay (~0.1 MB/s).
    s.set_ack_delay(None);
    s
}

fn ok(v: u64) -> Reply {
    Reply { result: v, ..Default::default() }
}

impl Service {
    fn ephemeral(&mut self) -> u16 {
        // IANA dynamic range, as Linux picks from (roughly).
        self.next_port = if self.next_port < 49152 { 49152 } else { self.next_port.wrapping_add(1).max(49152) };
        self.next_port
    }

    /// Is `port` taken by a socket of the same protocol (TCP and UDP ports are apart)?
    fn port_in_use(&self, port: u16, tcp: bool) -> bool {
        self.entries.values().any(|e| e.local.port == port && matches!(e.kind, Kind::Tcp { .. }) == tcp)
    }

    /// Drop finished connections of closed sockets.
    pub fn reap(&mut self, sockets: &mut SocketSet<'static>) {
        self.closing.retain(|&h| {
            let done = matches!(sockets.get::<tcp::Socket>(h).state(), tcp::State::Closed | tcp::State::TimeWait);
            if done {
                sockets.remove(h);
            }
            !done
        });
    }

    pub fn handle(&mut self, iface: &mut Interface, sockets: &mut SocketSet<'static>, client: u32, req: &Request, data: &[u8]) -> (Reply, Vec<u8>) {
        if req.op == op::SOCKET {
            return (self.socket(sockets, client, req.arg), Vec::new());
        }
        if req.op == op::INFO {
            let mut r = ok(0);
            if let Some(cidr) = iface.ip_addrs().first() {
                r.addr = ip_u32(cidr.address());
                r.port = cidr.prefix_len() as u32;
            }
            let mac = match iface.hardware_addr() {
                smoltcp::wire::HardwareAddress::Ethernet(m) => m.0.to_vec(),
            };
            return (r, mac);
        }
        let Some(entry) = self.entries.get(&req.handle) else { return (Reply::error(errno::EBADF), Vec::new()) };
        if entry.owner != client {
            return (Reply::error(errno::EBADF), Vec::new());
        }
        match req.op {
            op::BIND => (self.bind(sockets, req), Vec::new()),
            op::LISTEN => (self.listen(sockets, req), Vec::new()),
            op::ACCEPT => (self.accept(sockets, client, req), Vec::new()),
            op::CONNECT => (self.connect(iface, sockets, req), Vec::new()),
            op::SEND => (self.send(sockets, req, data), Vec::new()),
            op::RECV => self.recv(sockets, req),
            op::STATUS => (self.status(sockets, req.handle), Vec::new()),
            op::SHUTDOWN => (self.shutdown(sockets, req), Vec::new()),
            op::CLOSE => (self.close(sockets, req.handle), Vec::new()),
            _ => (Reply::error(errno::EINVAL), Vec::new()),
        }
    }

    fn socket(&mut self, sockets: &mut SocketSet<'static>, client: u32, k: u64) -> Reply {
        let kind = match k {
            kind::TCP => Kind::Tcp { conn: None, listen: Vec::new(), was_connected: false, connecting: false, error: 0 },
            kind::UDP => {
                let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], vec![0; UDP_BUFFER]);
                let tx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], vec![0; UDP_BUFFER]);
                Kind::Udp { socket: sockets.add(udp::Socket::new(rx, tx)), peer: None }
            }
            _ => return Reply::error(errno::EOPNOTSUPP),
        };
        self.next_handle += 1;
        let h = self.next_handle;
        self.entries.insert(h, Entry { owner: client, kind, local: IpListenEndpoint { addr: None, port: 0 } });
        Reply { result: 0, handle: h, ..Default::default() }
    }

    fn bind(&mut self, sockets: &mut SocketSet<'static>, req: &Request) -> Reply {
        let mut port = req.port as u16;
        if self.entries[&req.handle].local.port != 0 {
            return Reply::error(errno::EINVAL);
        }
        let tcp = matches!(self.entries[&req.handle].kind, Kind::Tcp { .. });
        if port != 0 && self.port_in_use(port, tcp) {
            return Reply::error(errno::EADDRINUSE);
        }
        if port == 0 {
            port = self.ephemeral();
        }
        let addr = (req.addr != 0).then(|| to_ip(req.addr));
        let e = self.entries.get_mut(&req.handle).unwrap();
        e.local = IpListenEndpoint { addr, port };
        if let Kind::Udp { socket, .. } = e.kind {
            if sockets.get_mut::<udp::Socket>(socket).bind(e.local).is_err() {
                return Reply::error(errno::EINVAL);
            }
        }
        Reply { local_addr: req.addr, local_port: port as u32, ..ok(0) }
    }

    fn listen(&mut self, sockets: &mut SocketSet<'static>, req: &Request) -> Reply {
        let e = self.entries.get_mut(&req.handle).unwrap();
        let Kind::Tcp { conn: None, listen, .. } = &mut e.kind else { return Reply::error(errno::EOPNOTSUPP) };
        if e.local.port == 0 {
            return Reply::error(errno::EDESTADDRREQ);
        }
        let want = req.arg.clamp(1, MAX_BACKLOG) as usize;
        while listen.len() < want {
            let mut s = new_tcp();
            if s.listen(e.local).is_err() {
                return Reply::error(errno::EINVAL);
            }
            listen.push(sockets.add(s));
        }
        ok(0)
    }

    fn accept(&mut self, sockets: &mut SocketSet<'static>, client: u32, req: &Request) -> Reply {
        let local = self.entries[&req.handle].local;
        let Kind::Tcp { listen, .. } = &mut self.entries.get_mut(&req.handle).unwrap().kind else { return Reply::error(errno::EOPNOTSUPP) };
        if listen.is_empty() {
            return Reply::error(errno::EINVAL);
        }
        let Some(i) = listen.iter().position(|&h| {
            let s = sockets.get::<tcp::Socket>(h);
            matches!(s.state(), tcp::State::Established | tcp::State::CloseWait)
        }) else {
            return Reply::error(errno::EAGAIN);
        };
        let conn = listen[i];
        let mut fresh = new_tcp();
        let _ = fresh.listen(local);
        listen[i] = sockets.add(fresh);
        let s = sockets.get::<tcp::Socket>(conn);
        let (peer, me) = (s.remote_endpoint(), s.local_endpoint());
        self.next_handle += 1;
        let h = self.next_handle;
        let me_l = me.map(|m| IpListenEndpoint { addr: Some(m.addr), port: m.port }).unwrap_or(local);
        self.entries.insert(h, Entry { owner: client, kind: Kind::Tcp { conn: Some(conn), listen: Vec::new(), was_connected: true, connecting: false, error: 0 }, local: me_l });
        let mut r = Reply { handle: h, ..ok(0) };
        if let Some(p) = peer {
            r.addr = ip_u32(p.addr);
            r.port = p.port as u32;
        }
        r
    }

    fn connect(&mut self, iface: &mut Interface, sockets: &mut SocketSet<'static>, req: &Request) -> Reply {
        let remote = IpEndpoint::new(to_ip(req.addr), req.port as u16);
        if self.entries[&req.handle].local.port == 0 {
            let p = self.ephemeral();
            self.entries.get_mut(&req.handle).unwrap().local.port = p;
        }
        let e = self.entries.get_mut(&req.handle).unwrap();
        match &mut e.kind {
            Kind::Udp { socket, peer } => {
                let s = sockets.get_mut::<udp::Socket>(*socket);
                if !s.is_open() && s.bind(e.local).is_err() {
                    return Reply::error(errno::EINVAL);
                }
                *peer = Some(remote);
                ok(0)
            }
            Kind::Tcp { conn, listen, connecting, was_connected, .. } => {
                if !listen.is_empty() {
                    return Reply::error(errno::EINVAL);
                }
                if let Some(h) = conn {
                    let st = sockets.get::<tcp::Socket>(*h).state();
                    return match st {
                        tcp::State::SynSent => Reply::error(errno::EALREADY),
                        _ if *was_connected || st == tcp::State::Established => Reply::error(errno::EISCONN),
                        _ => Reply::error(errno::EALREADY),
                    };
                }
                let mut s = new_tcp();
                match s.connect(iface.context(), remote, e.local) {
                    Ok(()) => {
                        *conn = Some(sockets.add(s));
                        *connecting = true;
                        Reply::error(errno::EINPROGRESS)
                    }
                    Err(tcp::ConnectError::Unaddressable) => Reply::error(errno::ENETUNREACH),
                    Err(_) => Reply::error(errno::EINVAL),
                }
            }
        }
    }

    /// Update a TCP socket's bookkeeping from smoltcp's state.
    fn settle(entry: &mut Entry, sockets: &SocketSet<'static>) {
        if let Kind::Tcp { conn: Some(h), connecting, was_connected, error, .. } = &mut entry.kind {
            let st = sockets.get::<tcp::Socket>(*h).state();
            if *connecting {
                match st {
                    tcp::State::SynSent => {}
                    tcp::State::Closed => {
                        *connecting = false;
                        *error = errno::ECONNREFUSED;
                    }
                    _ => {
                        *connecting = false;
                        *was_connected = true;
                    }
                }
            }
        }
    }

    fn send(&mut self, sockets: &mut SocketSet<'static>, req: &Request, data: &[u8]) -> Reply {
        let e = self.entries.get_mut(&req.handle).unwrap();
        Self::settle(e, sockets);
        match &mut e.kind {
            Kind::Udp { socket, peer } => {
                let to = if req.port != 0 { Some(IpEndpoint::new(to_ip(req.addr), req.port as u16)) } else { *peer };
                let Some(to) = to else { return Reply::error(errno::EDESTADDRREQ) };
                if data.len() > UDP_BUFFER / 2 {
                    return Reply::error(errno::EMSGSIZE);
                }
                let s = sockets.get_mut::<udp::Socket>(*socket);
                if !s.is_open() {
                    let p = if e.local.port == 0 {
                        self.next_port = if self.next_port < 49152 { 49152 } else { self.next_port + 1 };
                        self.next_port
                    } else {
                        e.local.port
                    };
                    e.local.port = p;
                    if s.bind(e.local).is_err() {
                        return Reply::error(errno::EINVAL);
                    }
                }
                match s.send_slice(data, to) {
                    Ok(()) => ok(data.len() as u64),
                    Err(udp::SendError::BufferFull) => Reply::error(errno::EAGAIN),
                    Err(udp::SendError::Unaddressable) => Reply::error(errno::ENETUNREACH),
                }
            }
            Kind::Tcp { conn: Some(h), .. } => {
                let s = sockets.get_mut::<tcp::Socket>(*h);
                if s.state() == tcp::State::SynSent {
                    return Reply::error(errno::EAGAIN);
                }
                if !s.may_send() {
                    return Reply::error(if s.state() == tcp::State::Closed { errno::ECONNRESET } else { errno::EPIPE });
                }
                if !s.can_send() {
                    return Reply::error(errno::EAGAIN);
                }
                match s.send_slice(data) {
                    Ok(n) => ok(n as u64),
                    Err(_) => Reply::error(errno::EPIPE),
                }
            }
            Kind::Tcp { conn: None, .. } => Reply::error(errno::ENOTCONN),
        }
    }

    fn recv(&mut self, sockets: &mut SocketSet<'static>, req: &Request) -> (Reply, Vec<u8>) {
        let max = (req.arg as usize).min(MAX_DATA);
        let peek = req.flags & 1 != 0;
        let e = self.entries.get_mut(&req.handle).unwrap();
        Self::settle(e, sockets);
        let mut buf = vec![0u8; max];
        match &mut e.kind {
            Kind::Udp { socket, .. } => {
                let s = sockets.get_mut::<udp::Socket>(*socket);
                let got = if peek { s.peek_slice(&mut buf).map(|(n, m)| (n, m.endpoint)) } else { s.recv_slice(&mut buf).map(|(n, m)| (n, m.endpoint)) };
                match got {
                    Ok((n, from)) => {
                        buf.truncate(n);
                        (Reply { addr: ip_u32(from.addr), port: from.port as u32, ..ok(n as u64) }, buf)
                    }
                    Err(_) => (Reply::error(errno::EAGAIN), Vec::new()),
                }
            }
            Kind::Tcp { conn: Some(h), was_connected, .. } => {
                let s = sockets.get_mut::<tcp::Socket>(*h);
                if s.can_recv() {
                    let n = if peek { s.peek_slice(&mut buf).unwrap_or(0) } else { s.recv_slice(&mut buf).unwrap_or(0) };
                    buf.truncate(n);
                    let r = ok(n as u64);
                    return (r, buf);
                }
                if *was_connected && !s.may_recv() {
                    return (ok(0), Vec::new()); // end of stream
                }
                (Reply::error(errno::EAGAIN), Vec::new())
            }
            Kind::Tcp { conn: None, .. } => (Reply::error(errno::ENOTCONN), Vec::new()),
        }
    }

    fn status(&mut self, sockets: &mut SocketSet<'static>, handle: u32) -> Reply {
        let e = self.entries.get_mut(&handle).unwrap();
        Self::settle(e, sockets);
        let mut r = ok(0);
        r.local_addr = e.local.addr.map(ip_u32).unwrap_or(0);
        r.local_port = e.local.port as u32;
        match &mut e.kind {
            Kind::Udp { socket, peer } => {
                let s = sockets.get::<udp::Socket>(*socket);
                if s.can_recv() {
                    r.events |= events::IN;
                }
                if s.can_send() {
                    r.events |= events::OUT;
                }
                if let Some(p) = peer {
                    r.addr = ip_u32(p.addr);
                    r.port = p.port as u32;
                }
            }
            Kind::Tcp { conn, listen, was_connected, error, .. } => {
                if *error != 0 {
                    r.result = (-core::mem::take(error)) as u64;
                    r.events |= events::ERR | events::OUT | events::HUP;
                }
                for &h in listen.iter() {
                    if matches!(sockets.get::<tcp::Socket>(h).state(), tcp::State::Established | tcp::State::CloseWait) {
                        r.events |= events::IN;
                    }
                }
                if let Some(h) = conn {
                    let s = sockets.get::<tcp::Socket>(*h);
                    if s.can_recv() || (*was_connected && !s.may_recv()) {
                        r.events |= events::IN;
                    }
                    if s.can_send() {
                        r.events |= events::OUT;
                    }
                    if *was_connected && matches!(s.state(), tcp::State::Closed | tcp::State::TimeWait) {
                        r.events |= events::HUP;
                    }
                    if let Some(p) = s.remote_endpoint() {
                        r.addr = ip_u32(p.addr);
                        r.port = p.port as u32;
                    }
                    if let Some(l) = s.local_endpoint() {
                        r.local_addr = ip_u32(l.addr);
                        r.local_port = l.port as u32;
                    }
                }
            }
        }
        r
    }

    fn shutdown(&mut self, sockets: &mut SocketSet<'static>, req: &Request) -> Reply {
        let e = self.entries.get_mut(&req.handle).unwrap();
        match &e.kind {
            Kind::Tcp { conn: Some(h), .. } => {
                if req.arg >= 1 {
                    sockets.get_mut::<tcp::Socket>(*h).close();
                }
                ok(0)
            }
            Kind::Tcp { conn: None, .. } => Reply::error(errno::ENOTCONN),
            Kind::Udp { .. } => ok(0),
        }
    }

    fn close(&mut self, sockets: &mut SocketSet<'static>, handle: u32) -> Reply {
        let Some(e) = self.entries.remove(&handle) else { return Reply::error(errno::EBADF) };
        match e.kind {
            Kind::Udp { socket, .. } => {
                sockets.remove(socket);
            }
            Kind::Tcp { conn, listen, .. } => {
                for h in listen {
                    sockets.remove(h);
                }
                if let Some(h) = conn {
                    sockets.get_mut::<tcp::Socket>(h).close();
                    self.closing.push(h);
                }
            }
        }
        ok(0)
    }

    /// Every socket of a client that went away.
    #[allow(dead_code)]
    pub fn drop_client(&mut self, sockets: &mut SocketSet<'static>, client: u32) {
        let mine: Vec<u32> = self.entries.iter().filter(|(_, e)| e.owner == client).map(|(&h, _)| h).collect();
        for h in mine {
            self.close(sockets, h);
        }
    }

    #[allow(dead_code)]
    pub fn out_of_memory() -> Reply {
        Reply::error(errno::ENOMEM)
    }
}
