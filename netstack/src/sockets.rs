//! The socket service: `sion_abi::net` requests on smoltcp sockets. Every
//! operation answers at once (`-EAGAIN` when it would block); clients learn
//! of changes from the `NOTIFY_NET` notification and retry.
//!
//! Two interfaces: the Ethernet one and the loopback (127.0.0.0/8), each with
//! its own smoltcp socket set. A socket bound to any address listens or
//! receives on both; a connection or a datagram goes through the interface
//! of its destination.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use sion_netstack::neighbors::Neighbors;
use sion_abi::net::{events, kind, op, Reply, Request, MAX_DATA};
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address};

/// Which interface (and socket set) a smoltcp socket lives on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Net {
    Eth,
    Lo,
}

/// Both interfaces with their socket sets.
pub struct Nets {
    pub eth: Interface,
    pub eth_set: SocketSet<'static>,
    pub lo: Interface,
    pub lo_set: SocketSet<'static>,
}

impl Nets {
    fn set(&mut self, n: Net) -> &mut SocketSet<'static> {
        match n {
            Net::Eth => &mut self.eth_set,
            Net::Lo => &mut self.lo_set,
        }
    }

    fn set_ref(&self, n: Net) -> &SocketSet<'static> {
        match n {
            Net::Eth => &self.eth_set,
            Net::Lo => &self.lo_set,
        }
    }

    fn iface(&mut self, n: Net) -> &mut Interface {
        match n {
            Net::Eth => &mut self.eth,
            Net::Lo => &mut self.lo,
        }
    }
}

/// The interface that reaches `addr` (host order).
fn net_for(addr: u32) -> Net {
    if addr >> 24 == 127 {
        Net::Lo
    } else {
        Net::Eth
    }
}

/// The interfaces a socket bound to `addr` listens on.
fn nets_for_local(addr: Option<IpAddress>) -> &'static [Net] {
    match addr {
        None => &[Net::Eth, Net::Lo],
        Some(a) if net_for(ip_u32(a)) == Net::Lo => &[Net::Lo],
        Some(_) => &[Net::Eth],
    }
}

pub mod errno {
    pub const EPIPE: i64 = 32;
    pub const EBADF: i64 = 9;
    pub const EAGAIN: i64 = 11;
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
        conn: Option<(Net, SocketHandle)>,
        /// Listening sockets (smoltcp takes one connection per socket).
        listen: Vec<(Net, SocketHandle)>,
        /// Connected once (so a later Closed state means end, not "not yet").
        was_connected: bool,
        connecting: bool,
        /// A pending error for `Status` (SO_ERROR), as a positive errno.
        error: i64,
    },
    Udp {
        /// One smoltcp socket per interface, bound alike.
        eth: SocketHandle,
        lo: SocketHandle,
        peer: Option<IpEndpoint>,
    },
}

struct Entry {
    owner: u32,
    kind: Kind,
    local: IpListenEndpoint,
}

/// A datagram for a LAN neighbour smoltcp may not know yet, held here and
/// not in the socket: smoltcp would hold every later datagram of the socket
/// behind it (the group server's, to every member) until ARP answered.
struct Held {
    handle: u32,
    to: IpEndpoint,
    data: Vec<u8>,
    since_ns: u64,
}

/// Datagrams held for unresolved neighbours (then the oldest go, as Linux's
/// neighbour queue), and for how long.
const MAX_HELD: usize = 64;
const HOLD_NS: u64 = 1_000_000_000;

pub struct Service {
    entries: BTreeMap<u32, Entry>,
    next_handle: u32,
    next_port: u16,
    /// Closed TCP connections still finishing (FIN exchange) before removal.
    closing: Vec<(Net, SocketHandle)>,
    /// LAN addresses the last request sends to (for the neighbour table).
    pub wanted: Vec<u32>,
    neighbors: Rc<RefCell<Neighbors>>,
    held: Vec<Held>,
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

fn new_udp() -> udp::Socket<'static> {
    let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], vec![0; UDP_BUFFER]);
    let tx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], vec![0; UDP_BUFFER]);
    udp::Socket::new(rx, tx)
}

fn ok(v: u64) -> Reply {
    Reply { result: v, ..Default::default() }
}

fn established(s: &tcp::Socket) -> bool {
    matches!(s.state(), tcp::State::Established | tcp::State::CloseWait)
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

    /// Drop finished connections of closed sockets; reset those the peer
    /// goes on sending to (nobody will read it: Linux answers with RST).
    /// True if it reset any (a poll sends the RST).
    pub fn reap(&mut self, nets: &mut Nets) -> bool {
        let mut reset = false;
        self.closing.retain(|&(n, h)| {
            let s = nets.set(n).get_mut::<tcp::Socket>(h);
            if s.recv_queue() > 0 && s.state() != tcp::State::Closed {
                s.abort();
                reset = true;
            }
            // An aborted socket keeps its peer until its RST went out.
            let done = match s.state() {
                tcp::State::Closed => s.remote_endpoint().is_none(),
                tcp::State::TimeWait => true,
                _ => false,
            };
            if done {
                nets.set(n).remove(h);
            }
            !done
        });
        reset
    }

    pub fn new(neighbors: Rc<RefCell<Neighbors>>) -> Service {
        Service { entries: BTreeMap::new(), next_handle: 0, next_port: 0, closing: Vec::new(), wanted: Vec::new(), neighbors, held: Vec::new() }
    }

    /// Give smoltcp the held datagrams whose neighbour is now known (true if
    /// any: a poll sends them); drop those whose neighbour did not answer in
    /// time (UDP promises no delivery).
    pub fn release_held(&mut self, nets: &mut Nets, now_ns: u64) -> bool {
        if self.held.is_empty() {
            return false;
        }
        let mut released = false;
        let neighbors = self.neighbors.borrow();
        let mut keep = Vec::new();
        for h in core::mem::take(&mut self.held) {
            if neighbors.trusted(now_ns, ip_u32(h.to.addr).to_be_bytes()) {
                if let Some(Entry { kind: Kind::Udp { eth, .. }, .. }) = self.entries.get(&h.handle) {
                    match nets.eth_set.get_mut::<udp::Socket>(*eth).send_slice(&h.data, h.to) {
                        Err(udp::SendError::BufferFull) => keep.push(h),
                        r => released |= r.is_ok(),
                    }
                }
            } else if now_ns.saturating_sub(h.since_ns) < HOLD_NS {
                keep.push(h);
            }
        }
        self.held = keep;
        released
    }

    pub fn handle(&mut self, nets: &mut Nets, client: u32, req: &Request, data: &[u8], now_ns: u64) -> (Reply, Vec<u8>) {
        if req.op == op::SOCKET {
            return (self.socket(nets, client, req.arg), Vec::new());
        }
        if req.op == op::INFO {
            let mut r = ok(0);
            if let Some(cidr) = nets.eth.ip_addrs().first() {
                r.addr = ip_u32(cidr.address());
                r.port = cidr.prefix_len() as u32;
            }
            let mac = match nets.eth.hardware_addr() {
                smoltcp::wire::HardwareAddress::Ethernet(m) => m.0.to_vec(),
                _ => Vec::new(),
            };
            return (r, mac);
        }
        let Some(entry) = self.entries.get(&req.handle) else { return (Reply::error(errno::EBADF), Vec::new()) };
        if entry.owner != client {
            return (Reply::error(errno::EBADF), Vec::new());
        }
        match req.op {
            op::BIND => (self.bind(nets, req), Vec::new()),
            op::LISTEN => (self.listen(nets, req), Vec::new()),
            op::ACCEPT => (self.accept(nets, client, req), Vec::new()),
            op::CONNECT => (self.connect(nets, req), Vec::new()),
            op::SEND => (self.send(nets, req, data, now_ns), Vec::new()),
            op::RECV => self.recv(nets, req),
            op::STATUS => (self.status(nets, req.handle), Vec::new()),
            op::SHUTDOWN => (self.shutdown(nets, req), Vec::new()),
            op::CLOSE => (self.close(nets, req.handle), Vec::new()),
            _ => (Reply::error(errno::EINVAL), Vec::new()),
        }
    }

    fn socket(&mut self, nets: &mut Nets, client: u32, k: u64) -> Reply {
        let kind = match k {
            kind::TCP => Kind::Tcp { conn: None, listen: Vec::new(), was_connected: false, connecting: false, error: 0 },
            kind::UDP => Kind::Udp { eth: nets.eth_set.add(new_udp()), lo: nets.lo_set.add(new_udp()), peer: None },
            _ => return Reply::error(errno::EOPNOTSUPP),
        };
        self.next_handle += 1;
        let h = self.next_handle;
        self.entries.insert(h, Entry { owner: client, kind, local: IpListenEndpoint { addr: None, port: 0 } });
        Reply { result: 0, handle: h, ..Default::default() }
    }

    fn bind_udp(nets: &mut Nets, eth: SocketHandle, lo: SocketHandle, local: IpListenEndpoint) -> bool {
        let a = nets.eth_set.get_mut::<udp::Socket>(eth).bind(local).is_ok();
        let b = nets.lo_set.get_mut::<udp::Socket>(lo).bind(local).is_ok();
        a && b
    }

    fn bind(&mut self, nets: &mut Nets, req: &Request) -> Reply {
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
        if let Kind::Udp { eth, lo, .. } = e.kind {
            if !Self::bind_udp(nets, eth, lo, e.local) {
                return Reply::error(errno::EINVAL);
            }
        }
        Reply { local_addr: req.addr, local_port: port as u32, ..ok(0) }
    }

    fn listen(&mut self, nets: &mut Nets, req: &Request) -> Reply {
        let e = self.entries.get_mut(&req.handle).unwrap();
        let Kind::Tcp { conn: None, listen, .. } = &mut e.kind else { return Reply::error(errno::EOPNOTSUPP) };
        if e.local.port == 0 {
            return Reply::error(errno::EDESTADDRREQ);
        }
        let want = req.arg.clamp(1, MAX_BACKLOG) as usize;
        for &n in nets_for_local(e.local.addr) {
            while listen.iter().filter(|(ln, _)| *ln == n).count() < want {
                let mut s = new_tcp();
                if s.listen(e.local).is_err() {
                    return Reply::error(errno::EINVAL);
                }
                listen.push((n, nets.set(n).add(s)));
            }
        }
        ok(0)
    }

    fn accept(&mut self, nets: &mut Nets, client: u32, req: &Request) -> Reply {
        let local = self.entries[&req.handle].local;
        let Kind::Tcp { listen, .. } = &mut self.entries.get_mut(&req.handle).unwrap().kind else { return Reply::error(errno::EOPNOTSUPP) };
        if listen.is_empty() {
            return Reply::error(errno::EINVAL);
        }
        let Some(i) = listen.iter().position(|&(n, h)| established(nets.set_ref(n).get::<tcp::Socket>(h))) else {
            return Reply::error(errno::EAGAIN);
        };
        let (n, conn) = listen[i];
        let mut fresh = new_tcp();
        let _ = fresh.listen(local);
        listen[i] = (n, nets.set(n).add(fresh));
        let s = nets.set_ref(n).get::<tcp::Socket>(conn);
        let (peer, me) = (s.remote_endpoint(), s.local_endpoint());
        self.next_handle += 1;
        let h = self.next_handle;
        let me_l = me.map(|m| IpListenEndpoint { addr: Some(m.addr), port: m.port }).unwrap_or(local);
        self.entries.insert(h, Entry { owner: client, kind: Kind::Tcp { conn: Some((n, conn)), listen: Vec::new(), was_connected: true, connecting: false, error: 0 }, local: me_l });
        let mut r = Reply { handle: h, ..ok(0) };
        if let Some(p) = peer {
            r.addr = ip_u32(p.addr);
            r.port = p.port as u32;
        }
        r
    }

    fn connect(&mut self, nets: &mut Nets, req: &Request) -> Reply {
        let remote = IpEndpoint::new(to_ip(req.addr), req.port as u16);
        let net = net_for(req.addr);
        if self.entries[&req.handle].local.port == 0 {
            let p = self.ephemeral();
            self.entries.get_mut(&req.handle).unwrap().local.port = p;
        }
        let e = self.entries.get_mut(&req.handle).unwrap();
        match &mut e.kind {
            Kind::Udp { eth, lo, peer } => {
                if !nets.eth_set.get::<udp::Socket>(*eth).is_open() && !Self::bind_udp(nets, *eth, *lo, e.local) {
                    return Reply::error(errno::EINVAL);
                }
                *peer = Some(remote);
                ok(0)
            }
            Kind::Tcp { conn, listen, connecting, was_connected, .. } => {
                if !listen.is_empty() {
                    return Reply::error(errno::EINVAL);
                }
                if let Some((n, h)) = conn {
                    let st = nets.set_ref(*n).get::<tcp::Socket>(*h).state();
                    return match st {
                        tcp::State::SynSent => Reply::error(errno::EALREADY),
                        _ if *was_connected || st == tcp::State::Established => Reply::error(errno::EISCONN),
                        _ => Reply::error(errno::EALREADY),
                    };
                }
                let mut s = new_tcp();
                let local = e.local;
                if net == Net::Eth {
                    self.wanted.push(req.addr);
                }
                match s.connect(nets.iface(net).context(), remote, local) {
                    Ok(()) => {
                        *conn = Some((net, nets.set(net).add(s)));
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
    fn settle(entry: &mut Entry, nets: &Nets) {
        if let Kind::Tcp { conn: Some((n, h)), connecting, was_connected, error, .. } = &mut entry.kind {
            let st = nets.set_ref(*n).get::<tcp::Socket>(*h).state();
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

    fn send(&mut self, nets: &mut Nets, req: &Request, data: &[u8], now_ns: u64) -> Reply {
        let e = self.entries.get_mut(&req.handle).unwrap();
        Self::settle(e, nets);
        match &mut e.kind {
            Kind::Udp { eth, lo, peer } => {
                let to = if req.port != 0 { Some(IpEndpoint::new(to_ip(req.addr), req.port as u16)) } else { *peer };
                let Some(to) = to else { return Reply::error(errno::EDESTADDRREQ) };
                if data.len() > UDP_BUFFER / 2 {
                    return Reply::error(errno::EMSGSIZE);
                }
                let (eth, lo) = (*eth, *lo);
                if !nets.eth_set.get::<udp::Socket>(eth).is_open() {
                    if e.local.port == 0 {
                        self.next_port = if self.next_port < 49152 { 49152 } else { self.next_port + 1 };
                        e.local.port = self.next_port;
                    }
                    if !Self::bind_udp(nets, eth, lo, e.local) {
                        return Reply::error(errno::EINVAL);
                    }
                }
                let (net, h) = match net_for(ip_u32(to.addr)) {
                    Net::Lo => (Net::Lo, lo),
                    Net::Eth => {
                        self.wanted.push(ip_u32(to.addr));
                        if !self.neighbors.borrow().trusted(now_ns, ip_u32(to.addr).to_be_bytes()) {
                            if self.held.len() >= MAX_HELD {
                                self.held.remove(0);
                            }
                            self.held.push(Held { handle: req.handle, to, data: data.to_vec(), since_ns: now_ns });
                            return ok(data.len() as u64);
                        }
                        (Net::Eth, eth)
                    }
                };
                match nets.set(net).get_mut::<udp::Socket>(h).send_slice(data, to) {
                    Ok(()) => ok(data.len() as u64),
                    Err(udp::SendError::BufferFull) => Reply::error(errno::EAGAIN),
                    Err(udp::SendError::Unaddressable) => Reply::error(errno::ENETUNREACH),
                }
            }
            Kind::Tcp { conn: Some((n, h)), .. } => {
                let s = nets.set(*n).get_mut::<tcp::Socket>(*h);
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

    fn recv(&mut self, nets: &mut Nets, req: &Request) -> (Reply, Vec<u8>) {
        let max = (req.arg as usize).min(MAX_DATA);
        let peek = req.flags & 1 != 0;
        let e = self.entries.get_mut(&req.handle).unwrap();
        Self::settle(e, nets);
        match &mut e.kind {
            Kind::Udp { eth, lo, .. } => {
                let mut buf = vec![0u8; max];
                for (net, h) in [(Net::Lo, *lo), (Net::Eth, *eth)] {
                    let s = nets.set(net).get_mut::<udp::Socket>(h);
                    let got = if peek { s.peek_slice(&mut buf).map(|(n, m)| (n, m.endpoint)) } else { s.recv_slice(&mut buf).map(|(n, m)| (n, m.endpoint)) };
                    if let Ok((n, from)) = got {
                        buf.truncate(n);
                        return (Reply { addr: ip_u32(from.addr), port: from.port as u32, ..ok(n as u64) }, buf);
                    }
                }
                (Reply::error(errno::EAGAIN), Vec::new())
            }
            Kind::Tcp { conn: Some((n, h)), was_connected, .. } => {
                let s = nets.set(*n).get_mut::<tcp::Socket>(*h);
                if s.can_recv() {
                    // A buffer the size of what is there, not of what was asked:
                    // zeroing 64 KiB per read was the netstack's largest cost.
                    let mut buf = vec![0u8; s.recv_queue().min(max)];
                    let got = if peek { s.peek_slice(&mut buf).unwrap_or(0) } else { s.recv_slice(&mut buf).unwrap_or(0) };
                    buf.truncate(got);
                    return (ok(got as u64), buf);
                }
                if *was_connected && !s.may_recv() {
                    return (ok(0), Vec::new()); // end of stream
                }
                (Reply::error(errno::EAGAIN), Vec::new())
            }
            Kind::Tcp { conn: None, .. } => (Reply::error(errno::ENOTCONN), Vec::new()),
        }
    }

    fn status(&mut self, nets: &mut Nets, handle: u32) -> Reply {
        let e = self.entries.get_mut(&handle).unwrap();
        Self::settle(e, nets);
        let mut r = ok(0);
        r.local_addr = e.local.addr.map(ip_u32).unwrap_or(0);
        r.local_port = e.local.port as u32;
        match &mut e.kind {
            Kind::Udp { eth, lo, peer } => {
                let (a, b) = (nets.eth_set.get::<udp::Socket>(*eth), nets.lo_set.get::<udp::Socket>(*lo));
                if a.can_recv() || b.can_recv() {
                    r.events |= events::IN;
                }
                if a.can_send() && b.can_send() {
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
                for &(n, h) in listen.iter() {
                    if established(nets.set_ref(n).get::<tcp::Socket>(h)) {
                        r.events |= events::IN;
                    }
                }
                if let Some((n, h)) = conn {
                    let s = nets.set_ref(*n).get::<tcp::Socket>(*h);
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

    fn shutdown(&mut self, nets: &mut Nets, req: &Request) -> Reply {
        let e = self.entries.get_mut(&req.handle).unwrap();
        match &e.kind {
            Kind::Tcp { conn: Some((n, h)), .. } => {
                if req.arg >= 1 {
                    nets.set(*n).get_mut::<tcp::Socket>(*h).close();
                }
                ok(0)
            }
            Kind::Tcp { conn: None, .. } => Reply::error(errno::ENOTCONN),
            Kind::Udp { .. } => ok(0),
        }
    }

    fn close(&mut self, nets: &mut Nets, handle: u32) -> Reply {
        let Some(e) = self.entries.remove(&handle) else { return Reply::error(errno::EBADF) };
        match e.kind {
            Kind::Udp { eth, lo, .. } => {
                nets.eth_set.remove(eth);
                nets.lo_set.remove(lo);
            }
            Kind::Tcp { conn, listen, .. } => {
                for (n, h) in listen {
                    nets.set(n).remove(h);
                }
                if let Some((n, h)) = conn {
                    let s = nets.set(n).get_mut::<tcp::Socket>(h);
                    // As Linux: closing with unread data resets the
                    // connection, so a peer still sending learns of it
                    // instead of waiting on a window that never opens.
                    if s.recv_queue() > 0 {
                        s.abort();
                    } else {
                        s.close();
                    }
                    self.closing.push((n, h));
                }
            }
        }
        ok(0)
    }
}
