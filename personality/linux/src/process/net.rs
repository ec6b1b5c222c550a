//! Linux sockets: AF_INET stream (TCP) and datagram (UDP) sockets served by
//! the netstack server over `sion_abi::net`. The netstack never blocks; a
//! blocking socket call that would wait keeps its caller waiting (a deferred
//! reply, `Pending::Net`) and is run again when the netstack says something
//! changed (`NOTIFY_NET`, see [`Process::net_changed`]).
//!
//! AF_UNIX sockets are `process/unix.rs`; the calls here hand them over.
//! Not yet: IPv6, control messages on AF_INET.

use super::files::{FileLike, Obj, OpenFile, O_NONBLOCK, O_RDWR};
use super::{Pending, Process, BLOCK};
use crate::errno::{Errno, SysResult};
use crate::host::Host;
use crate::layout::Abi;
use crate::socket::{MSG_DONTWAIT, MSG_PEEK, socket_kind, MsgHdr, SockAddr, SockOpts, SocketCall, SocketKind, AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM};
use crate::socket::SocketOp as N;
use crate::layout::StatInfo;
use alloc::format;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use sion_abi::net::{events, kind, op, Reply, Request, MAX_DATA};

const FIONREAD: u32 = 0x541b;

/// Where a stream socket is in its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    Idle,
    /// connect() started; `blocking`: a blocked caller waits for it.
    Connecting { blocking: bool },
    Connected,
    Listening,
}

/// A socket's state beside its netstack handle.
#[derive(Clone, Debug)]
pub struct Sock {
    pub handle: u32,
    pub kind: SocketKind,
    pub opts: SockOpts,
    /// Pending error (SO_ERROR), as a positive errno.
    pub error: i32,
    /// Readiness from the netstack's last STATUS (`sion_abi::net::events`).
    pub events: u32,
    pub conn: Conn,
    pub bound: bool,
    /// shutdown(SHUT_RD) was called: poll says readable and POLLRDHUP.
    pub shut_rd: bool,
}

impl Process {
    /// The netstack signalled a change: socket readiness is refreshed before
    /// the next look at it.
    pub fn net_changed(&mut self) {
        self.job.net_dirty = true;
    }

    /// One request to the netstack; a negative answer is the errno.
    fn net(&mut self, h: &mut dyn Host, req: Request, data: &[u8]) -> Result<(Reply, Vec<u8>), Errno> {
        let Some((reply, data)) = h.net(&req, data) else { return Err(Errno::ENETDOWN) };
        let r = reply.result();
        if r < 0 {
            return Err(Errno((-r) as i32));
        }
        Ok((reply, data))
    }

    /// Close what was closed, and refresh readiness, if the netstack changed.
    pub(super) fn sync_sockets(&mut self, h: &mut dyn Host) {
        for handle in core::mem::take(&mut self.job.sockets_closed) {
            let _ = h.net(&Request { op: op::CLOSE, handle, ..Default::default() }, &[]);
        }
        if !self.job.net_dirty {
            return;
        }
        self.job.net_dirty = false;
        let ids: Vec<u32> = self.job.sockets.keys().copied().collect();
        for id in ids {
            self.refresh(h, id);
        }
    }

    fn refresh(&mut self, h: &mut dyn Host, id: u32) {
        let Some(handle) = self.job.sockets.get(&id).map(|s| s.handle) else { return };
        if let Some((r, _)) = h.net(&Request { op: op::STATUS, handle, ..Default::default() }, &[]) {
            let s = self.job.sockets.get_mut(&id).unwrap();
            s.events = r.events;
            if r.result() < 0 {
                s.error = (-r.result()) as i32;
            }
        }
    }

    /// (readable, writable) as last known.
    pub(super) fn sock_ready(&self, id: u32) -> (bool, bool) {
        let Some(s) = self.job.sockets.get(&id) else { return (false, false) };
        let e = s.events;
        (s.shut_rd || e & (events::IN | events::HUP | events::ERR) != 0, e & (events::OUT | events::ERR | events::HUP) != 0)
    }

    /// Wait (deferred reply, run again on a netstack change) or answer EAGAIN.
    fn would_block(&mut self, nonblock: bool) -> Errno {
        if nonblock {
            return Errno::EAGAIN;
        }
        self.pending = Some(Pending::Net { call: self.last_call });
        BLOCK
    }

    /// The socket behind `fd` and whether its descriptor is non-blocking.
    fn sock_fd(&self, fd: u64) -> Result<(u32, bool), Errno> {
        let f = self.io_file(fd)?;
        let f = f.borrow();
        match f.obj {
            Obj::Socket(id) => Ok((id, f.flags & O_NONBLOCK != 0)),
            _ => Err(Errno::ENOTSOCK),
        }
    }

    fn read_addr(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64) -> Result<(u32, u16), Errno> {
        let len = len as u32 as i32;
        if !(0..=128).contains(&len) {
            return Err(Errno::EINVAL);
        }
        let b = self.read_user(h, abi, addr, len as usize)?;
        match SockAddr::decode(&b)? {
            SockAddr::Inet { ip, port } => Ok((ip, port)),
            SockAddr::Unix { .. } => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// Write a socket address the Linux way: `*lenp` in, truncated copy, the
    /// full length out.
    fn write_addr(&mut self, h: &mut dyn Host, abi: Abi, addrp: u64, lenp: u64, ip: u32, port: u16) -> Result<(), Errno> {
        self.put_sockaddr(h, abi, addrp, lenp, &SockAddr::Inet { ip, port }.encode())
    }

    /// The `int` at `lenp` that bounds what a call writes back; negative is EINVAL.
    fn room_at(&mut self, h: &mut dyn Host, abi: Abi, lenp: u64) -> Result<usize, Errno> {
        let lb = self.read_user(h, abi, lenp, 4)?;
        let room = i32::from_le_bytes(lb[..4].try_into().unwrap());
        usize::try_from(room).map_err(|_| Errno::EINVAL)
    }

    /// Write an encoded socket address back (either family): `*lenp` in, a
    /// truncated copy, the full length out. Nothing when `addrp` is null.
    pub(super) fn put_sockaddr(&mut self, h: &mut dyn Host, abi: Abi, addrp: u64, lenp: u64, bytes: &[u8]) -> Result<(), Errno> {
        if addrp == 0 {
            return Ok(());
        }
        let n = self.room_at(h, abi, lenp)?.min(bytes.len());
        self.write_user(h, abi, addrp, &bytes[..n])?;
        self.write_user(h, abi, lenp, &(bytes.len() as u32).to_le_bytes())
    }

    /// setsockopt's value bytes (no option is longer than 64).
    pub(super) fn sockopt_in(&mut self, h: &mut dyn Host, abi: Abi, valp: u64, len: u64) -> Result<Vec<u8>, Errno> {
        let len = usize::try_from(len as u32 as i32).map_err(|_| Errno::EINVAL)?;
        self.read_user(h, abi, valp, len.min(64))
    }

    /// getsockopt's answer: `*lenp` is checked before `value` runs (reading
    /// SO_ERROR clears it), then a truncated copy and the length written.
    pub(super) fn sockopt_out(&mut self, h: &mut dyn Host, abi: Abi, valp: u64, lenp: u64, value: impl FnOnce(&mut Self) -> Result<Vec<u8>, Errno>) -> SysResult {
        let room = self.room_at(h, abi, lenp)?;
        let v = value(self)?;
        let n = room.min(v.len());
        self.write_user(h, abi, valp, &v[..n])?;
        self.write_user(h, abi, lenp, &(n as u32).to_le_bytes()).map(|_| 0)
    }

    fn new_socket_fd(&mut self, sock: Sock, nonblock: bool, cloexec: bool) -> SysResult {
        let id = self.job.next_socket;
        self.job.next_socket += 1;
        let handle = sock.handle;
        self.job.sockets.insert(id, sock);
        let file = self.new_file(Obj::Socket(id), O_RDWR | if nonblock { O_NONBLOCK } else { 0 });
        match self.fd_install(file, 0, cloexec) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                self.job.sockets.remove(&id);
                self.job.sockets_closed.push(handle);
                Err(e)
            }
        }
    }

    pub(crate) fn net_call(&mut self, h: &mut dyn Host, abi: Abi, call: N, a: [u64; 6]) -> SysResult {
        // AF_UNIX sockets never touch the netstack: no sync before, no refresh after.
        if let Some((id, nonblock)) = self.unix_target(call, a[0])? {
            return self.unix_call(h, abi, call, id, nonblock, a);
        }
        self.sync_sockets(h);
        let r = self.net_call_inner(h, abi, call, a);
        // Whatever we asked may have changed readiness (ours or a peer's in the node).
        self.job.net_dirty = true;
        r
    }

    /// The AF_UNIX socket a call on descriptor `fd` is for, if it is one.
    fn unix_target(&self, call: N, fd: u64) -> Result<Option<(u32, bool)>, Errno> {
        match call {
            N::Socket | N::SocketCall | N::SocketPair | N::SendMmsg | N::RecvMmsg => Ok(None),
            _ => self.unix_fd(fd),
        }
    }

    fn net_call_inner(&mut self, h: &mut dyn Host, abi: Abi, call: N, a: [u64; 6]) -> SysResult {
        // i386 socketcall comes here directly.
        if let Some((id, nonblock)) = self.unix_target(call, a[0])? {
            return self.unix_call(h, abi, call, id, nonblock, a);
        }
        match call {
            N::SocketPair => self.sys_socketpair(h, abi, a[0] as u32, a[1] as u32, a[2] as u32, a[3]),
            N::RecvMmsg => self.sys_recvmmsg(h, abi, a[0], a[1], a[2] as u32, a[3]),
            N::Socket => self.sys_socket(h, a[0] as u32, a[1] as u32, a[2] as u32),
            N::Bind => self.sys_bind(h, abi, a[0], a[1], a[2]),
            N::Connect => self.sys_connect(h, abi, a[0], a[1], a[2]),
            N::Listen => self.sys_listen(h, a[0], a[1] as u32 as i32),
            N::Accept => self.sys_accept(h, abi, a[0], a[1], a[2], 0),
            N::Accept4 => self.sys_accept(h, abi, a[0], a[1], a[2], a[3] as u32),
            N::SendTo => self.sys_sendto(h, abi, a[0], a[1], a[2], a[3], a[4], a[5]),
            N::RecvFrom => self.sys_recvfrom(h, abi, a[0], a[1], a[2], a[3], a[4], a[5]),
            N::Shutdown => {
                let (id, _) = self.sock_fd(a[0])?;
                let how = a[1] as u32;
                if how > 2 {
                    return Err(Errno::EINVAL);
                }
                let handle = self.job.sockets[&id].handle;
                self.net(h, Request { op: op::SHUTDOWN, handle, arg: how as u64, ..Default::default() }, &[])?;
                if how != 1 {
                    if let Some(s) = self.job.sockets.get_mut(&id) {
                        s.shut_rd = true;
                    }
                }
                Ok(0)
            }
            N::GetSockName | N::GetPeerName => {
                let (id, _) = self.sock_fd(a[0])?;
                let handle = self.job.sockets[&id].handle;
                let (r, _) = self.net(h, Request { op: op::STATUS, handle, ..Default::default() }, &[])?;
                let (ip, port) = if call == N::GetSockName { (r.local_addr, r.local_port) } else { (r.addr, r.port) };
                if call == N::GetPeerName && port == 0 {
                    return Err(Errno::ENOTCONN);
                }
                if a[1] == 0 {
                    return Err(Errno::EFAULT);
                }
                self.write_addr(h, abi, a[1], a[2], ip, port as u16).map(|_| 0)
            }
            N::SetSockOpt => {
                let (id, _) = self.sock_fd(a[0])?;
                let v = self.sockopt_in(h, abi, a[3], a[4])?;
                self.job.sockets.get_mut(&id).unwrap().opts.set(a[1] as u32, a[2] as u32, &v).map(|_| 0)
            }
            N::GetSockOpt => {
                let (id, _) = self.sock_fd(a[0])?;
                self.refresh(h, id);
                self.sockopt_out(h, abi, a[3], a[4], |p| {
                    let s = p.job.sockets.get_mut(&id).unwrap();
                    let ty = s.kind.ty;
                    let mut err = s.error;
                    let v = s.opts.get(a[1] as u32, a[2] as u32, ty, &mut err)?;
                    s.error = err;
                    Ok(v)
                })
            }
            N::SendMsg => self.sys_sendmsg(h, abi, a[0], a[1], a[2]),
            N::RecvMsg => self.sys_recvmsg(h, abi, a[0], a[1], a[2]),
            N::SendMmsg => self.sys_sendmmsg(h, abi, a[0], a[1], a[2] as u32, a[3]),
            N::SocketCall => self.sys_socketcall(h, abi, a[0] as u32, a[1]),
        }
    }

    fn sys_sendmsg(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, msg: u64, flags: u64) -> SysResult {
        if let Some((id, nonblock)) = self.unix_fd(fd)? {
            return self.unix_call(h, abi, N::SendMsg, id, nonblock, [fd, msg, flags, 0, 0, 0]);
        }
        let (id, nonblock) = self.sock_fd(fd)?;
        let m = MsgHdr::decode(abi, &self.read_user(h, abi, msg, MsgHdr::size(abi))?).ok_or(Errno::EFAULT)?;
        if m.controllen != 0 {
            return Err(Errno::EINVAL);
        }
        let iov = self.iov_list(h, abi, m.iov, m.iovlen)?;
        let data = self.gather(h, abi, iov)?;
        let to = if m.name != 0 && self.job.sockets[&id].kind.ty == SOCK_DGRAM { Some(self.read_addr(h, abi, m.name, m.namelen as u64)?) } else { None };
        self.send_on(h, id, &data, to, nonblock || flags & MSG_DONTWAIT != 0, flags)
    }

    fn sys_recvmsg(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, msg: u64, flags: u64) -> SysResult {
        if let Some((id, nonblock)) = self.unix_fd(fd)? {
            return self.unix_call(h, abi, N::RecvMsg, id, nonblock, [fd, msg, flags, 0, 0, 0]);
        }
        let (id, nonblock) = self.sock_fd(fd)?;
        let m = MsgHdr::decode(abi, &self.read_user(h, abi, msg, MsgHdr::size(abi))?).ok_or(Errno::EFAULT)?;
        let iov = self.iov_list(h, abi, m.iov, m.iovlen)?;
        let total: u64 = iov.iter().map(|&(_, l)| l).sum();
        let (data, ip, port) = self.recv_on(h, id, (total as usize).min(MAX_DATA), flags & MSG_PEEK != 0, nonblock || flags & MSG_DONTWAIT != 0)?;
        self.scatter(h, abi, iov, &data)?;
        let (off_namelen, off_controllen, off_flags) = MsgHdr::out_offsets(abi);
        if m.name != 0 {
            let bytes = SockAddr::Inet { ip, port }.encode();
            let n = (m.namelen as usize).min(bytes.len());
            self.write_user(h, abi, m.name, &bytes[..n])?;
            self.write_user(h, abi, msg + off_namelen as u64, &(bytes.len() as u32).to_le_bytes())?;
        }
        let zero = [0u8; 8];
        self.write_user(h, abi, msg + off_controllen as u64, &zero[..abi.word()])?;
        self.write_user(h, abi, msg + off_flags as u64, &0u32.to_le_bytes())?;
        Ok(data.len() as u64)
    }

    /// sendmmsg: each message in turn; stops at the first failure (which it
    /// answers only if nothing was sent).
    fn sys_sendmmsg(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, vec: u64, count: u32, flags: u64) -> SysResult {
        let entry = MsgHdr::size(abi) + if abi == Abi::X86_64 { 8 } else { 4 };
        let mut sent = 0u64;
        for i in 0..count.min(1024) as u64 {
            let at = vec + i * entry as u64;
            match self.sys_sendmsg(h, abi, fd, at, flags) {
                Ok(n) => {
                    self.write_user(h, abi, at + MsgHdr::size(abi) as u64, &(n as u32).to_le_bytes())?;
                    sent += 1;
                }
                Err(e) if sent == 0 => return Err(e),
                Err(_) => {
                    // A blocked later message is not waited for: report what went.
                    self.pending = None;
                    break;
                }
            }
        }
        Ok(sent)
    }

    /// recvmmsg: the first message as recvmsg would (waiting if it may), then
    /// as many more as are there without waiting. The timeout is not applied.
    fn sys_recvmmsg(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, vec: u64, count: u32, flags: u64) -> SysResult {
        const MSG_WAITFORONE: u64 = 0x10000;
        let entry = MsgHdr::size(abi) + if abi == Abi::X86_64 { 8 } else { 4 };
        let mut got = 0u64;
        for i in 0..count.min(1024) as u64 {
            let at = vec + i * entry as u64;
            let flags = if got > 0 { (flags & !MSG_WAITFORONE) | MSG_DONTWAIT } else { flags & !MSG_WAITFORONE };
            match self.sys_recvmsg(h, abi, fd, at, flags) {
                Ok(n) => {
                    self.write_user(h, abi, at + MsgHdr::size(abi) as u64, &(n as u32).to_le_bytes())?;
                    got += 1;
                }
                Err(e) if got == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(got)
    }

    fn sys_socketcall(&mut self, h: &mut dyn Host, abi: Abi, call: u32, args: u64) -> SysResult {
        let (c, n) = SocketCall::decode(call)?;
        let b = self.read_user(h, abi, args, n * 4)?;
        let mut a = [0u64; 6];
        for (i, w) in a.iter_mut().enumerate().take(n) {
            *w = u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap()) as u64;
        }
        let call = match c {
            SocketCall::Socket => N::Socket,
            SocketCall::Bind => N::Bind,
            SocketCall::Connect => N::Connect,
            SocketCall::Listen => N::Listen,
            SocketCall::Accept => N::Accept,
            SocketCall::Accept4 => N::Accept4,
            SocketCall::GetSockName => N::GetSockName,
            SocketCall::GetPeerName => N::GetPeerName,
            SocketCall::SendTo => N::SendTo,
            SocketCall::RecvFrom => N::RecvFrom,
            // send/recv are sendto/recvfrom without an address.
            SocketCall::Send => {
                a[4] = 0;
                a[5] = 0;
                N::SendTo
            }
            SocketCall::Recv => {
                a[4] = 0;
                a[5] = 0;
                N::RecvFrom
            }
            SocketCall::Shutdown => N::Shutdown,
            SocketCall::SetSockOpt => N::SetSockOpt,
            SocketCall::GetSockOpt => N::GetSockOpt,
            SocketCall::SendMsg => N::SendMsg,
            SocketCall::RecvMsg => N::RecvMsg,
            SocketCall::SendMmsg => N::SendMmsg,
            SocketCall::SocketPair => N::SocketPair,
            SocketCall::RecvMmsg => N::RecvMmsg,
        };
        self.net_call_inner(h, abi, call, a)
    }

    fn sys_socket(&mut self, h: &mut dyn Host, domain: u32, ty: u32, protocol: u32) -> SysResult {
        let k = socket_kind(domain, ty, protocol)?;
        if k.domain == AF_UNIX {
            return self.unix_socket(k);
        }
        let (r, _) = self.net(h, Request { op: op::SOCKET, arg: if k.ty == SOCK_STREAM { kind::TCP } else { kind::UDP }, ..Default::default() }, &[])?;
        let sock = Sock { handle: r.handle, kind: k, opts: SockOpts::default(), error: 0, events: if k.ty == SOCK_DGRAM { events::OUT } else { 0 }, conn: Conn::Idle, bound: false, shut_rd: false };
        self.new_socket_fd(sock, ty & SOCK_NONBLOCK != 0, ty & SOCK_CLOEXEC != 0)
    }

    fn sys_bind(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, addr: u64, len: u64) -> SysResult {
        let (id, _) = self.sock_fd(fd)?;
        let (ip, port) = self.read_addr(h, abi, addr, len)?;
        if self.job.sockets[&id].bound {
            return Err(Errno::EINVAL);
        }
        let handle = self.job.sockets[&id].handle;
        self.net(h, Request { op: op::BIND, handle, addr: ip, port: port as u32, ..Default::default() }, &[])?;
        self.job.sockets.get_mut(&id).unwrap().bound = true;
        Ok(0)
    }

    fn sys_listen(&mut self, h: &mut dyn Host, fd: u64, backlog: i32) -> SysResult {
        let (id, _) = self.sock_fd(fd)?;
        let s = self.job.sockets[&id].clone();
        if s.kind.ty != SOCK_STREAM {
            return Err(Errno::EOPNOTSUPP);
        }
        if matches!(s.conn, Conn::Connected | Conn::Connecting { .. }) {
            return Err(Errno::EINVAL);
        }
        if !s.bound {
            // Linux binds an ephemeral port.
            self.net(h, Request { op: op::BIND, handle: s.handle, ..Default::default() }, &[])?;
        }
        self.net(h, Request { op: op::LISTEN, handle: s.handle, arg: backlog.clamp(1, 128) as u64, ..Default::default() }, &[])?;
        let st = self.job.sockets.get_mut(&id).unwrap();
        st.bound = true;
        st.conn = Conn::Listening;
        Ok(0)
    }

    fn sys_accept(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, addrp: u64, lenp: u64, flags: u32) -> SysResult {
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        let (id, nonblock) = self.sock_fd(fd)?;
        let s = self.job.sockets[&id].clone();
        if s.kind.ty != SOCK_STREAM {
            return Err(Errno::EOPNOTSUPP);
        }
        if s.conn != Conn::Listening {
            return Err(Errno::EINVAL);
        }
        let r = match self.net(h, Request { op: op::ACCEPT, handle: s.handle, ..Default::default() }, &[]) {
            Ok((r, _)) => r,
            Err(Errno::EAGAIN) => return Err(self.would_block(nonblock)),
            Err(e) => return Err(e),
        };
        let sock = Sock { handle: r.handle, kind: SocketKind { nonblock: false, cloexec: false, ..s.kind }, opts: s.opts, error: 0, events: events::OUT, conn: Conn::Connected, bound: true, shut_rd: false };
        let newfd = self.new_socket_fd(sock, flags & SOCK_NONBLOCK != 0, flags & SOCK_CLOEXEC != 0)?;
        if let Err(e) = self.write_addr(h, abi, addrp, lenp, r.addr, r.port as u16) {
            let _ = self.fd_close(newfd as i32);
            return Err(e);
        }
        Ok(newfd)
    }

    fn sys_connect(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, addr: u64, len: u64) -> SysResult {
        let (id, nonblock) = self.sock_fd(fd)?;
        let s = self.job.sockets[&id].clone();
        if s.kind.ty == SOCK_STREAM {
            match s.conn {
                Conn::Connected => return Err(Errno::EISCONN),
                Conn::Listening => return Err(Errno::EISCONN),
                Conn::Connecting { blocking } => {
                    self.refresh(h, id);
                    let st = self.job.sockets.get_mut(&id).unwrap();
                    if st.error != 0 {
                        let e = core::mem::take(&mut st.error);
                        st.conn = Conn::Idle;
                        return Err(Errno(e));
                    }
                    if st.events & events::OUT != 0 {
                        st.conn = Conn::Connected;
                        return if blocking { Ok(0) } else { Err(Errno::EISCONN) };
                    }
                    return Err(if blocking { self.would_block(false) } else { Errno::EALREADY });
                }
                Conn::Idle => {}
            }
        }
        let (ip, port) = self.read_addr(h, abi, addr, len)?;
        match self.net(h, Request { op: op::CONNECT, handle: s.handle, addr: ip, port: port as u32, ..Default::default() }, &[]) {
            Ok(_) => {
                let st = self.job.sockets.get_mut(&id).unwrap();
                st.conn = Conn::Connected;
                st.bound = true;
                Ok(0)
            }
            Err(Errno::EINPROGRESS) => {
                let st = self.job.sockets.get_mut(&id).unwrap();
                st.conn = Conn::Connecting { blocking: !nonblock };
                st.bound = true;
                if nonblock {
                    Err(Errno::EINPROGRESS)
                } else {
                    Err(self.would_block(false))
                }
            }
            Err(e) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sys_sendto(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, buf: u64, len: u64, flags: u64, addr: u64, alen: u64) -> SysResult {
        let (id, nonblock) = self.sock_fd(fd)?;
        let nonblock = nonblock || flags & MSG_DONTWAIT != 0;
        let len = (len as usize).min(MAX_DATA);
        let data = self.read_user(h, abi, buf, len)?;
        let to = if addr != 0 && self.job.sockets[&id].kind.ty == SOCK_DGRAM { Some(self.read_addr(h, abi, addr, alen)?) } else { None };
        self.send_on(h, id, &data, to, nonblock, flags)
    }

    /// A connect() in progress has finished (or failed) by now? Moves the
    /// socket to Connected; a failure becomes the answer.
    fn settle_connect(&mut self, h: &mut dyn Host, id: u32) -> Result<(), Errno> {
        if let Conn::Connecting { .. } = self.job.sockets[&id].conn {
            self.refresh(h, id);
            let st = self.job.sockets.get_mut(&id).unwrap();
            if st.error != 0 {
                st.conn = Conn::Idle;
                return Err(Errno(core::mem::take(&mut st.error)));
            }
            if st.events & events::OUT != 0 {
                st.conn = Conn::Connected;
            }
        }
        Ok(())
    }

    /// `flags`: MSG_NOSIGNAL spares the caller SIGPIPE on a broken connection.
    fn send_on(&mut self, h: &mut dyn Host, id: u32, data: &[u8], to: Option<(u32, u16)>, nonblock: bool, flags: u64) -> SysResult {
        self.settle_connect(h, id)?;
        let s = self.job.sockets[&id].clone();
        if s.kind.ty == SOCK_STREAM && s.conn != Conn::Connected {
            if let Conn::Connecting { .. } = s.conn {
                return Err(self.would_block(nonblock));
            }
            return Err(Errno::ENOTCONN);
        }
        let (ip, port) = to.unwrap_or((0, 0));
        match self.net(h, Request { op: op::SEND, handle: s.handle, addr: ip, port: port as u32, ..Default::default() }, data) {
            Ok((r, _)) => Ok(r.result),
            Err(Errno::EAGAIN) => Err(self.would_block(nonblock)),
            Err(Errno::EPIPE) => Err(self.broken_pipe(flags)),
            Err(e) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sys_recvfrom(&mut self, h: &mut dyn Host, abi: Abi, fd: u64, buf: u64, len: u64, flags: u64, addrp: u64, lenp: u64) -> SysResult {
        let (id, nonblock) = self.sock_fd(fd)?;
        let nonblock = nonblock || flags & MSG_DONTWAIT != 0;
        let len = (len as usize).min(MAX_DATA);
        self.check_range(abi, buf, len as u64)?;
        let (data, ip, port) = self.recv_on(h, id, len, flags & MSG_PEEK != 0, nonblock)?;
        self.write_user(h, abi, buf, &data)?;
        if addrp != 0 && self.job.sockets[&id].kind.ty == SOCK_DGRAM {
            self.write_addr(h, abi, addrp, lenp, ip, port)?;
        }
        Ok(data.len() as u64)
    }

    fn recv_on(&mut self, h: &mut dyn Host, id: u32, len: usize, peek: bool, nonblock: bool) -> Result<(Vec<u8>, u32, u16), Errno> {
        self.settle_connect(h, id)?;
        let s = self.job.sockets[&id].clone();
        if s.kind.ty == SOCK_STREAM {
            match s.conn {
                Conn::Connected => {}
                Conn::Connecting { .. } => return Err(self.would_block(nonblock)),
                _ => return Err(Errno::ENOTCONN),
            }
        }
        match self.net(h, Request { op: op::RECV, handle: s.handle, arg: len as u64, flags: peek as u64, ..Default::default() }, &[]) {
            Ok((r, data)) => Ok((data, r.addr, r.port as u16)),
            Err(Errno::EAGAIN) => Err(self.would_block(nonblock)),
            Err(e) => Err(e),
        }
    }

    /// read()/readv() on a socket.
    pub(super) fn sock_read(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: Vec<(u64, u64)>, nonblock: bool) -> SysResult {
        self.sync_sockets(h);
        let total: u64 = iov.iter().map(|&(_, l)| l).sum();
        if total == 0 {
            return Ok(0);
        }
        let (data, _, _) = self.recv_on(h, id, (total as usize).min(MAX_DATA), false, nonblock)?;
        self.scatter(h, abi, iov, &data)?;
        self.job.net_dirty = true;
        Ok(data.len() as u64)
    }

    /// write()/writev() on a socket.
    pub(super) fn sock_write(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: Vec<(u64, u64)>, nonblock: bool) -> SysResult {
        self.sync_sockets(h);
        let data = self.gather(h, abi, iov)?;
        if data.is_empty() {
            return Ok(0);
        }
        let r = self.send_on(h, id, &data, None, nonblock, 0);
        self.job.net_dirty = true;
        r
    }

    /// The bytes of an iovec list, at most one netstack request's worth.
    fn gather(&mut self, h: &mut dyn Host, abi: Abi, iov: Vec<(u64, u64)>) -> Result<Vec<u8>, Errno> {
        let mut data = Vec::new();
        for (base, l) in iov {
            let room = MAX_DATA - data.len();
            if room == 0 {
                break;
            }
            data.extend_from_slice(&self.read_user(h, abi, base, (l as usize).min(room))?);
        }
        Ok(data)
    }

    /// Spread `data` over an iovec list, in order.
    pub(super) fn scatter(&mut self, h: &mut dyn Host, abi: Abi, iov: Vec<(u64, u64)>, data: &[u8]) -> Result<(), Errno> {
        let mut at = 0;
        for (base, l) in iov {
            if at == data.len() {
                break;
            }
            let n = (l as usize).min(data.len() - at);
            self.write_user(h, abi, base, &data[at..at + n])?;
            at += n;
        }
        Ok(())
    }

    /// Bytes the server already holds (sendfile into a socket).
    pub(super) fn sock_send_bytes(&mut self, h: &mut dyn Host, id: u32, data: &[u8], nonblock: bool) -> SysResult {
        self.sync_sockets(h);
        let n = data.len().min(MAX_DATA);
        self.send_on(h, id, &data[..n], None, nonblock, 0)
    }

    pub(super) fn sock_ioctl(&mut self, h: &mut dyn Host, abi: Abi, id: u32, req: u32, arg: u64) -> SysResult {
        if req != FIONREAD {
            return Err(Errno::ENOTTY);
        }
        // What a peek would return now, without waiting.
        let n = match self.recv_on(h, id, MAX_DATA, true, true) {
            Ok((d, _, _)) => d.len() as u32,
            Err(Errno::EAGAIN) => 0,
            Err(e) => return Err(e),
        };
        self.write_user(h, abi, arg, &n.to_le_bytes()).map(|_| 0)
    }
}

/// The socket `JobState::sockets[id]`.
pub struct SocketFile(pub u32);

impl FileLike for SocketFile {
    fn read(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.sock_read(h, abi, self.0, iov, nonblock)
    }

    fn write(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.sock_write(h, abi, self.0, iov, nonblock)
    }

    fn write_bytes(&self, p: &mut Process, h: &mut dyn Host, f: &Rc<RefCell<OpenFile>>, data: &[u8]) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.sock_send_bytes(h, self.0, data, nonblock)
    }

    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        p.sock_ready(self.0)
    }

    fn hangup(&self, p: &Process) -> u16 {
        // tcp_poll: a read side shut down is POLLRDHUP (reported when asked).
        if p.job.sockets.get(&self.0).is_some_and(|s| s.shut_rd) {
            crate::linux::POLLRDHUP
        } else {
            0
        }
    }

    fn stat(&self, p: &Process) -> StatInfo {
        StatInfo { dev: 0x8, ino: 20000 + self.0 as u64, mode: 0o140777, nlink: 1, uid: p.uid, gid: p.gid, blksize: 4096, ..Default::default() }
    }

    fn ioctl(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, _f: &Rc<RefCell<OpenFile>>, req: u32, arg: u64) -> SysResult {
        p.sock_ioctl(h, abi, self.0, req, arg)
    }

    fn reopen(&self, _flags: u32) -> Result<(), Errno> {
        // Linux cannot reopen a socket through /proc/self/fd.
        Err(Errno::ENXIO)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        if let Some(sock) = p.job.sockets.remove(&self.0) {
            p.job.sockets_closed.push(sock.handle);
        }
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        format!("socket:[{}]", 20000 + self.0).into_bytes()
    }
}
