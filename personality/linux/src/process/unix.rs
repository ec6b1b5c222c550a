//! AF_UNIX sockets between the processes of a job: stream, datagram and
//! seqpacket; socketpair; names in the job's file tree (a socket inode the
//! personality maps to the socket) or in the abstract namespace (a leading
//! NUL), autobind; SCM_RIGHTS; SO_PEERCRED; shutdown, EOF, EPIPE and SIGPIPE.
//!
//! Nothing of this goes to the netstack: a socket is `JobState::unix[id]`,
//! reached from open descriptions `Obj::Unix(id)`. A call that has to wait
//! (an empty queue, a full peer, an empty accept queue) runs again after the
//! next change in the job, as a pipe does. Names are per job: each job has its
//! own file tree, and its abstract namespace with it.

use super::files::{FileLike, Obj, OpenFile, VfsRes, O_NONBLOCK, O_RDWR};
use super::*;
use crate::socket::{socket_kind, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_PEEK, MSG_TRUNC, MsgHdr, SockAddr, SockOpts, SocketKind, AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET};
use crate::socket::SocketOp as N;
use alloc::rc::Rc;
use core::cell::RefCell;
use sion_vfs::{Data, Ino};

/// Bytes queued toward one receiver before a sender waits (Linux's default
/// socket buffer, net.core.wmem_default).
pub const CAPACITY: usize = 212_992;
/// Datagrams queued at a socket from senders it is not connected to
/// (net.unix.max_dgram_qlen).
const DGRAM_QLEN: usize = 10;
const SCM_RIGHTS: u32 = 1;
const SCM_CREDENTIALS: u32 = 2;
/// Most descriptors in one SCM_RIGHTS message.
const SCM_MAX_FD: usize = 253;
/// Largest control buffer taken from sendmsg.
const MAX_CONTROL: u64 = 64 * 1024;


/// `struct ucred`, as SO_PEERCRED returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ucred {
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    fn bytes(self) -> Vec<u8> {
        [self.pid, self.uid, self.gid].iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}

/// What one send put in a receive queue.
#[derive(Debug)]
pub struct Message {
    pub data: Vec<u8>,
    /// The sender's name (datagrams), if it had one.
    pub from: Option<Vec<u8>>,
    /// Open descriptions passed with SCM_RIGHTS.
    pub rights: Vec<Rc<RefCell<OpenFile>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Unconnected,
    Listening { backlog: usize },
    Connected,
}

#[derive(Debug)]
pub struct UnixSock {
    /// SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
    pub ty: u32,
    pub state: State,
    /// The bound name: a path as given (without its NUL) or an abstract name
    /// (leading NUL, every byte significant).
    pub name: Option<Vec<u8>>,
    /// The inode a path name created.
    ino: Option<Ino>,
    /// The other end of a connection; for datagrams, the default destination.
    /// A connected stream whose peer closed keeps `Connected` with `None`.
    pub peer: Option<u32>,
    /// Connections made to a listening socket, not accepted yet.
    backlog: VecDeque<u32>,
    rx: VecDeque<Message>,
    rx_bytes: usize,
    /// Linux's RCV_SHUTDOWN and SEND_SHUTDOWN (a peer's shutdown or close sets ours).
    shut_rd: bool,
    shut_wr: bool,
    /// Who created it (or listened on it): what the other end's SO_PEERCRED reads.
    cred: Ucred,
    peer_cred: Option<Ucred>,
    pub opts: SockOpts,
    /// Pending error (SO_ERROR; ECONNRESET when a peer closed with unread data).
    error: i32,
}

impl UnixSock {
    fn new(ty: u32, cred: Ucred) -> UnixSock {
        UnixSock {
            ty,
            state: State::Unconnected,
            name: None,
            ino: None,
            peer: None,
            backlog: VecDeque::new(),
            rx: VecDeque::new(),
            rx_bytes: 0,
            shut_rd: false,
            shut_wr: false,
            cred,
            peer_cred: None,
            opts: SockOpts { sndbuf: CAPACITY as u32, rcvbuf: CAPACITY as u32, ..SockOpts::default() },
            error: 0,
        }
    }

    fn connection(&self) -> bool {
        self.ty != SOCK_DGRAM
    }

    /// Room for `len` more bytes from `from` in this socket's receive queue.
    fn has_room(&self, from: u32, len: usize) -> bool {
        if self.ty == SOCK_STREAM {
            return self.rx_bytes < CAPACITY;
        }
        if self.ty == SOCK_DGRAM && self.peer != Some(from) && self.rx.len() >= DGRAM_QLEN {
            return false;
        }
        self.rx_bytes + len <= CAPACITY
    }
}

/// Where the bytes of a send come from.
pub(super) enum Source<'a> {
    /// The caller's iovec.
    User(&'a [(u64, u64)]),
    /// Bytes the server already holds (sendfile).
    Held(&'a [u8]),
}

impl Source<'_> {
    fn len(&self) -> u64 {
        match self {
            Source::User(iov) => iov.iter().map(|&(_, l)| l).sum(),
            Source::Held(b) => b.len() as u64,
        }
    }
}

/// A socket address as Linux returns it: the family, then the name.
fn encode_name(name: Option<&Vec<u8>>) -> Vec<u8> {
    SockAddr::Unix { path: name.cloned().unwrap_or_default() }.encode()
}

/// Sizes of `struct cmsghdr` and the alignment of control messages on `abi`.
fn cmsg_header(abi: Abi) -> (usize, usize) {
    match abi {
        Abi::X86_64 => (16, 8),
        Abi::I386 => (12, 4),
    }
}

impl Process {
    fn ucred(&self) -> Ucred {
        Ucred { pid: self.pid, uid: self.uid, gid: self.gid }
    }

    fn unix_new(&mut self, ty: u32) -> u32 {
        let id = self.job.next_unix;
        self.job.next_unix += 1;
        let cred = self.ucred();
        self.job.unix.insert(id, UnixSock::new(ty, cred));
        id
    }

    fn unix_install(&mut self, id: u32, nonblock: bool, cloexec: bool) -> Result<i32, Errno> {
        let f = self.new_file(Obj::Unix(id), O_RDWR | if nonblock { O_NONBLOCK } else { 0 });
        match self.fd_install(f.clone(), 0, cloexec) {
            Ok(fd) => Ok(fd),
            Err(e) => {
                self.release(f);
                Err(e)
            }
        }
    }

    /// The AF_UNIX socket behind `fd`, if it is one, and whether its
    /// description is non-blocking.
    pub(super) fn unix_fd(&self, fd: u64) -> Result<Option<(u32, bool)>, Errno> {
        let f = self.io_file(fd)?;
        let f = f.borrow();
        Ok(match f.obj {
            Obj::Unix(id) => Some((id, f.flags & O_NONBLOCK != 0)),
            _ => None,
        })
    }

    fn usock(&self, id: u32) -> Result<&UnixSock, Errno> {
        self.job.unix.get(&id).ok_or(Errno::EBADF)
    }

    fn usock_mut(&mut self, id: u32) -> Result<&mut UnixSock, Errno> {
        self.job.unix.get_mut(&id).ok_or(Errno::EBADF)
    }

    pub(super) fn unix_socket(&mut self, k: SocketKind) -> SysResult {
        let id = self.unix_new(k.ty);
        self.unix_install(id, k.nonblock, k.cloexec).map(|fd| fd as u64)
    }

    pub(super) fn sys_socketpair(&mut self, h: &mut dyn Host, abi: Abi, domain: u32, ty: u32, protocol: u32, sv: u64) -> SysResult {
        let k = socket_kind(domain, ty, protocol)?;
        if k.domain != AF_UNIX {
            return Err(Errno::EOPNOTSUPP);
        }
        self.check_range(abi, sv, 8)?;
        let (a, b) = (self.unix_new(k.ty), self.unix_new(k.ty));
        let cred = self.ucred();
        for (me, other) in [(a, b), (b, a)] {
            let s = self.job.unix.get_mut(&me).unwrap();
            s.state = State::Connected;
            s.peer = Some(other);
            s.peer_cred = Some(cred);
        }
        let status = O_RDWR | if k.nonblock { O_NONBLOCK } else { 0 };
        let files = [a, b].map(|id| self.new_file(Obj::Unix(id), status));
        self.install_pair(h, abi, files, k.cloexec, sv)
    }

    /// The last description of a socket closed: the peer sees EOF (and
    /// ECONNRESET if this end left data unread), connections never accepted
    /// are dropped, the name is free again, passed descriptions are closed.
    pub(super) fn unix_closed(&mut self, id: u32) {
        self.unix_drop(id, false)
    }

    /// `embryo`: a connection never accepted, dropped with its listener.
    fn unix_drop(&mut self, id: u32, embryo: bool) {
        let Some(s) = self.job.unix.remove(&id) else { return };
        if let Some(name) = &s.name {
            if self.job.unix_names.get(name) == Some(&id) {
                self.job.unix_names.remove(name);
            }
        }
        if let Some(ino) = s.ino {
            if self.job.unix_paths.get(&ino) == Some(&id) {
                self.job.unix_paths.remove(&ino);
            }
        }
        for pending in &s.backlog {
            self.unix_drop(*pending, true);
        }
        if s.connection() {
            if let Some(p) = s.peer.and_then(|p| self.job.unix.get_mut(&p)) {
                p.shut_rd = true;
                p.shut_wr = true;
                p.peer = None;
                if !s.rx.is_empty() || embryo {
                    p.error = Errno::ECONNRESET.0;
                }
            }
        }
        for m in s.rx {
            for f in m.rights {
                self.release(f);
            }
        }
    }

    /// The socket a name designates, or connect's error for it.
    fn unix_lookup(&mut self, name: &[u8]) -> Result<u32, Errno> {
        if name.first() == Some(&0) {
            return self.job.unix_names.get(name).copied().ok_or(Errno::ECONNREFUSED);
        }
        let start = self.at_dir(AT_FDCWD, name)?;
        let ino = self.job.vfs.lookup(start, name, true, &self.files.cred).ex()?;
        if !matches!(self.job.vfs.node(ino).data, Data::Sock) {
            return Err(Errno::ECONNREFUSED);
        }
        self.job.unix_paths.get(&ino).copied().ok_or(Errno::ECONNREFUSED)
    }

    /// A `struct sockaddr_un` from the caller: the name (empty: the family alone).
    fn unix_addr_in(&mut self, h: &mut dyn Host, abi: Abi, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
        let len = len as u32 as i32;
        if !(2..=110).contains(&len) {
            return Err(Errno::EINVAL);
        }
        let b = self.read_user(h, abi, addr, len as usize)?;
        if u16::from_le_bytes([b[0], b[1]]) != AF_UNIX {
            return Err(Errno::EINVAL);
        }
        match SockAddr::decode(&b)? {
            SockAddr::Unix { path } => Ok(path),
            SockAddr::Inet { .. } => Err(Errno::EINVAL),
        }
    }

    pub(super) fn unix_call(&mut self, h: &mut dyn Host, abi: Abi, call: N, id: u32, nonblock: bool, a: [u64; 6]) -> SysResult {
        match call {
            N::Bind => self.unix_bind(h, abi, id, a[1], a[2]),
            N::Connect => self.unix_connect(h, abi, id, a[1], a[2], nonblock),
            N::Listen => self.unix_listen(id, a[1] as u32 as i32),
            N::Accept => self.unix_accept(h, abi, id, a[1], a[2], 0, nonblock),
            N::Accept4 => self.unix_accept(h, abi, id, a[1], a[2], a[3] as u32, nonblock),
            N::SendTo => {
                let to = if a[4] != 0 { Some(self.unix_addr_in(h, abi, a[4], a[5])?) } else { None };
                self.check_range(abi, a[1], a[2])?;
                let iov = [(a[1], a[2])];
                self.unix_send(h, abi, id, Source::User(&iov), to, Vec::new(), a[3], nonblock)
            }
            N::RecvFrom => {
                let iov = [(a[1], a[2])];
                let got = self.unix_recv(h, abi, id, &iov, a[3], nonblock)?;
                if a[4] != 0 {
                    let from = got.from.map(|n| encode_name(Some(&n))).unwrap_or_default();
                    self.put_sockaddr(h, abi, a[4], a[5], &from)?;
                }
                for f in got.rights {
                    self.release(f);
                }
                Ok(got.result)
            }
            N::Shutdown => {
                let how = a[1] as u32;
                if how > 2 {
                    return Err(Errno::EINVAL);
                }
                let s = self.usock_mut(id)?;
                if s.connection() && s.state != State::Connected {
                    return Err(Errno::ENOTCONN);
                }
                let (rd, wr) = (how != 1, how != 0);
                s.shut_rd |= rd;
                s.shut_wr |= wr;
                let peer = if s.connection() { s.peer } else { None };
                if let Some(p) = peer.and_then(|p| self.job.unix.get_mut(&p)) {
                    p.shut_wr |= rd;
                    p.shut_rd |= wr;
                }
                Ok(0)
            }
            N::GetSockName => {
                let bytes = encode_name(self.usock(id)?.name.as_ref());
                if a[1] == 0 {
                    return Err(Errno::EFAULT);
                }
                self.put_sockaddr(h, abi, a[1], a[2], &bytes).map(|_| 0)
            }
            N::GetPeerName => {
                let s = self.usock(id)?;
                let peer = s.peer.ok_or(Errno::ENOTCONN)?;
                let bytes = encode_name(self.job.unix.get(&peer).and_then(|p| p.name.as_ref()));
                if a[1] == 0 {
                    return Err(Errno::EFAULT);
                }
                self.put_sockaddr(h, abi, a[1], a[2], &bytes).map(|_| 0)
            }
            N::SetSockOpt => {
                let v = self.sockopt_in(h, abi, a[3], a[4])?;
                let (level, name) = (a[1] as u32, a[2] as u32);
                if level == SOL_SOCKET && name == crate::socket::SO_PASSCRED {
                    // Credentials are not attached to messages; accepted so servers start.
                    return if v.len() < 4 { Err(Errno::EINVAL) } else { Ok(0) };
                }
                self.usock_mut(id)?.opts.set(level, name, &v).map(|_| 0)
            }
            N::GetSockOpt => {
                use crate::socket::{SO_ACCEPTCONN, SO_DOMAIN, SO_PEERCRED, SO_PROTOCOL};
                self.sockopt_out(h, abi, a[3], a[4], |p| {
                    let s = p.usock_mut(id)?;
                    let int = |v: u32| v.to_le_bytes().to_vec();
                    Ok(match (a[1] as u32, a[2] as u32) {
                        (SOL_SOCKET, SO_PEERCRED) => s.peer_cred.unwrap_or(Ucred { pid: 0, uid: 65534, gid: 65534 }).bytes(),
                        (SOL_SOCKET, SO_ACCEPTCONN) => int(matches!(s.state, State::Listening { .. }) as u32),
                        (SOL_SOCKET, SO_DOMAIN) => int(AF_UNIX as u32),
                        (SOL_SOCKET, SO_PROTOCOL) => int(0),
                        (level, name) => {
                            let ty = s.ty;
                            let mut err = s.error;
                            let v = s.opts.get(level, name, ty, &mut err)?;
                            s.error = err;
                            v
                        }
                    })
                })
            }
            N::SendMsg => self.unix_sendmsg(h, abi, id, a[1], a[2], nonblock),
            N::RecvMsg => self.unix_recvmsg(h, abi, id, a[1], a[2], nonblock),
            N::Socket | N::SocketPair | N::SendMmsg | N::RecvMmsg | N::SocketCall => Err(Errno::EINVAL),
        }
    }

    fn unix_bind(&mut self, h: &mut dyn Host, abi: Abi, id: u32, addr: u64, len: u64) -> SysResult {
        let name = self.unix_addr_in(h, abi, addr, len)?;
        if self.usock(id)?.name.is_some() {
            return Err(Errno::EINVAL);
        }
        if name.is_empty() {
            return self.unix_autobind(id).map(|_| 0);
        }
        if name[0] == 0 {
            if self.job.unix_names.contains_key(&name) {
                return Err(Errno::EADDRINUSE);
            }
            self.job.unix_names.insert(name.clone(), id);
        } else {
            let start = self.at_dir(AT_FDCWD, &name)?;
            let cred = self.files.cred.clone();
            let found = self.job.vfs.walk(start, &name, false, &cred).ex()?;
            let perm = 0o777 & !self.files.umask;
            let ino = self.job.vfs.create(&found, Data::Sock, perm, &cred).ex().map_err(|e| if e == Errno::EEXIST { Errno::EADDRINUSE } else { e })?;
            self.job.unix_paths.insert(ino, id);
            self.usock_mut(id)?.ino = Some(ino);
        }
        self.usock_mut(id)?.name = Some(name);
        Ok(0)
    }

    /// Bind to a fresh abstract name of five hex digits, as Linux does.
    fn unix_autobind(&mut self, id: u32) -> Result<(), Errno> {
        if self.usock(id)?.name.is_some() {
            return Ok(());
        }
        for _ in 0..0x10_0000 {
            let n = self.job.next_autobind & 0xf_ffff;
            self.job.next_autobind = self.job.next_autobind.wrapping_add(1);
            let mut name = alloc::vec![0u8];
            name.extend_from_slice(format!("{n:05x}").as_bytes());
            if !self.job.unix_names.contains_key(&name) {
                self.job.unix_names.insert(name.clone(), id);
                self.usock_mut(id)?.name = Some(name);
                return Ok(());
            }
        }
        Err(Errno::ENOSPC)
    }

    fn unix_listen(&mut self, id: u32, backlog: i32) -> SysResult {
        let cred = self.ucred();
        let s = self.usock_mut(id)?;
        if s.ty == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        if s.name.is_none() || s.state == State::Connected {
            return Err(Errno::EINVAL);
        }
        s.state = State::Listening { backlog: backlog.clamp(0, 4096) as usize };
        // Clients read the listener's credentials as of listen().
        s.cred = cred;
        Ok(0)
    }

    fn unix_connect(&mut self, h: &mut dyn Host, abi: Abi, id: u32, addr: u64, len: u64, nonblock: bool) -> SysResult {
        let ty = self.usock(id)?.ty;
        if ty == SOCK_DGRAM {
            // AF_UNSPEC dissolves the association.
            let lb = self.read_user(h, abi, addr, 2.min(len as usize))?;
            if lb.len() == 2 && lb == [0, 0] {
                self.usock_mut(id)?.peer = None;
                return Ok(0);
            }
        }
        let name = self.unix_addr_in(h, abi, addr, len)?;
        if name.is_empty() {
            return Err(Errno::EINVAL);
        }
        match self.usock(id)?.state {
            State::Connected if ty != SOCK_DGRAM => return Err(Errno::EISCONN),
            State::Listening { .. } => return Err(Errno::EINVAL),
            _ => {}
        }
        let target = self.unix_lookup(&name)?;
        let t = self.usock(target)?;
        if t.ty != ty {
            return Err(Errno::EPROTOTYPE);
        }
        if ty == SOCK_DGRAM {
            if t.peer.is_some() && t.peer != Some(id) && target != id {
                return Err(Errno::EPERM);
            }
            self.usock_mut(id)?.peer = Some(target);
            return Ok(0);
        }
        let State::Listening { backlog } = t.state else { return Err(Errno::ECONNREFUSED) };
        if t.backlog.len() > backlog {
            return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry() };
        }
        let (listener_name, listener_cred) = (t.name.clone(), t.cred);
        // The server's end is made now; accept() hands it out.
        let server = self.unix_new(ty);
        let my_cred = self.ucred();
        let s = self.job.unix.get_mut(&server).unwrap();
        s.state = State::Connected;
        s.peer = Some(id);
        s.name = listener_name;
        s.cred = listener_cred;
        s.peer_cred = Some(my_cred);
        let me = self.usock_mut(id)?;
        me.state = State::Connected;
        me.peer = Some(server);
        me.peer_cred = Some(listener_cred);
        self.usock_mut(target)?.backlog.push_back(server);
        self.job.fasync.event(Obj::Unix(target), super::fasync::POLL_IN);
        Ok(0)
    }

    #[allow(clippy::too_many_arguments)]
    fn unix_accept(&mut self, h: &mut dyn Host, abi: Abi, id: u32, addrp: u64, lenp: u64, flags: u32, nonblock: bool) -> SysResult {
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        let s = self.usock(id)?;
        if s.ty == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        if !matches!(s.state, State::Listening { .. }) {
            return Err(Errno::EINVAL);
        }
        let Some(server) = self.usock_mut(id)?.backlog.pop_front() else {
            return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry() };
        };
        let client = self.job.unix.get(&server).and_then(|s| s.peer);
        let peer_name = encode_name(client.and_then(|c| self.job.unix.get(&c)).and_then(|c| c.name.as_ref()));
        let fd = self.unix_install(server, flags & SOCK_NONBLOCK != 0, flags & SOCK_CLOEXEC != 0)?;
        if let Err(e) = self.put_sockaddr(h, abi, addrp, lenp, &peer_name) {
            let _ = self.fd_close(fd);
            return Err(e);
        }
        Ok(fd as u64)
    }

    /// The bytes `[skip, skip + n)` of a send's source.
    fn source_bytes(&mut self, h: &mut dyn Host, abi: Abi, src: &Source, skip: u64, n: u64) -> Result<Vec<u8>, Errno> {
        match src {
            Source::Held(b) => Ok(b[skip as usize..(skip + n) as usize].to_vec()),
            Source::User(iov) => {
                let mut out = Vec::with_capacity(n as usize);
                let mut skip = skip;
                for &(base, len) in iov.iter() {
                    if out.len() as u64 >= n {
                        break;
                    }
                    if skip >= len {
                        skip -= len;
                        continue;
                    }
                    let take = (len - skip).min(n - out.len() as u64);
                    out.extend_from_slice(&self.read_user(h, abi, base + skip, take as usize)?);
                    skip = 0;
                }
                Ok(out)
            }
        }
    }

    /// EPIPE, with SIGPIPE to the caller unless MSG_NOSIGNAL.
    pub(super) fn broken_pipe(&mut self, flags: u64) -> Errno {
        if flags & MSG_NOSIGNAL == 0 {
            self.raise = Some(super::pipe::SIGPIPE);
        }
        Errno::EPIPE
    }

    /// One send: a stream goes in pieces as room frees (a blocking caller
    /// waits until all of it went), a datagram or a record goes whole.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn unix_send(&mut self, h: &mut dyn Host, abi: Abi, id: u32, src: Source, to: Option<Vec<u8>>, rights: Vec<Rc<RefCell<OpenFile>>>, flags: u64, nonblock: bool) -> SysResult {
        let r = self.unix_send_inner(h, abi, id, &src, to, rights, flags, nonblock || flags & MSG_DONTWAIT != 0);
        if matches!(r, Err(e) if e != BLOCK) {
            self.partial_write = 0;
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn unix_send_inner(&mut self, h: &mut dyn Host, abi: Abi, id: u32, src: &Source, to: Option<Vec<u8>>, mut rights: Vec<Rc<RefCell<OpenFile>>>, flags: u64, nonblock: bool) -> SysResult {
        let s = self.usock(id)?;
        let ty = s.ty;
        let total = src.len();
        let target = if ty == SOCK_DGRAM {
            if s.shut_wr {
                return Err(self.broken_pipe(flags));
            }
            let target = match to {
                Some(name) if !name.is_empty() => self.unix_lookup(&name)?,
                Some(_) => return Err(Errno::EINVAL),
                None => {
                    let Some(p) = s.peer else { return Err(Errno::ENOTCONN) };
                    if !self.job.unix.contains_key(&p) {
                        // The socket we were connected to is gone.
                        self.usock_mut(id)?.peer = None;
                        return Err(Errno::ECONNREFUSED);
                    }
                    p
                }
            };
            let t = self.usock(target)?;
            if t.ty != SOCK_DGRAM {
                return Err(Errno::EPROTOTYPE);
            }
            if t.peer.is_some() && t.peer != Some(id) && target != id {
                return Err(Errno::EPERM);
            }
            if t.shut_rd {
                return Err(Errno::EPIPE);
            }
            target
        } else {
            if ty == SOCK_STREAM && to.is_some() {
                return Err(if s.state == State::Connected { Errno::EISCONN } else { Errno::EOPNOTSUPP });
            }
            if s.state != State::Connected {
                return Err(Errno::ENOTCONN);
            }
            match s.peer {
                Some(p) if !s.shut_wr && !self.usock(p)?.shut_rd => p,
                _ => return Err(self.broken_pipe(flags)),
            }
        };
        let from = if ty == SOCK_DGRAM { self.usock(id)?.name.clone() } else { None };
        if ty != SOCK_STREAM {
            if total as usize > CAPACITY - 32 {
                return Err(Errno::EMSGSIZE);
            }
            if !self.usock(target)?.has_room(id, total as usize) {
                return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry() };
            }
            let data = self.source_bytes(h, abi, src, 0, total)?;
            let t = self.usock_mut(target)?;
            t.rx_bytes += data.len();
            t.rx.push_back(Message { data, from, rights });
            self.job.fasync.event(Obj::Unix(target), super::fasync::POLL_IN);
            return Ok(total);
        }
        // A stream: bytes [done_before, total) are left of this call.
        let done_before = core::mem::take(&mut self.partial_write);
        if total == 0 {
            return Ok(0);
        }
        let t = self.usock(target)?;
        let room = CAPACITY.saturating_sub(t.rx_bytes) as u64;
        let n = (total - done_before).min(room);
        if n == 0 {
            return if done_before > 0 && nonblock {
                Ok(done_before)
            } else if nonblock {
                Err(Errno::EAGAIN)
            } else {
                self.partial_write = done_before;
                self.block_retry()
            };
        }
        let data = self.source_bytes(h, abi, src, done_before, n)?;
        if done_before > 0 {
            // Passed descriptions travel with the first piece only.
            for f in core::mem::take(&mut rights) {
                self.release(f);
            }
        }
        let t = self.usock_mut(target)?;
        t.rx_bytes += data.len();
        t.rx.push_back(Message { data, from: None, rights });
        self.job.fasync.event(Obj::Unix(target), super::fasync::POLL_IN);
        let sent = done_before + n;
        if sent < total && !nonblock {
            self.partial_write = sent;
            return self.block_retry();
        }
        Ok(sent)
    }

    /// One receive into `iov`. A stream reads across sends up to a message
    /// that carries descriptions; a datagram or a record is taken whole (the
    /// rest of it is lost, MSG_TRUNC says so).
    pub(super) fn unix_recv(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], flags: u64, nonblock: bool) -> Result<Received, Errno> {
        let want: u64 = iov.iter().map(|&(_, l)| l).sum();
        let (data, mut got) = self.unix_take(id, want, flags, nonblock)?;
        if let Err(e) = self.scatter(h, abi, iov.to_vec(), &data) {
            for f in core::mem::take(&mut got.rights) {
                self.release(f);
            }
            return Err(e);
        }
        Ok(got)
    }

    /// A receive of up to `want` bytes, as bytes (recv, and splice from a socket).
    pub(super) fn unix_take(&mut self, id: u32, want: u64, flags: u64, nonblock: bool) -> Result<(Vec<u8>, Received), Errno> {
        let nonblock = nonblock || flags & MSG_DONTWAIT != 0;
        let peek = flags & MSG_PEEK != 0;
        let s = self.usock_mut(id)?;
        match (s.ty, s.state) {
            (_, State::Listening { .. }) => return Err(Errno::EINVAL),
            (SOCK_STREAM, State::Unconnected) => return Err(Errno::EINVAL),
            (SOCK_SEQPACKET, State::Unconnected) => return Err(Errno::ENOTCONN),
            _ => {}
        }
        if s.error != 0 {
            return Err(Errno(core::mem::take(&mut s.error)));
        }
        if s.rx.is_empty() {
            if s.shut_rd {
                return Ok((Vec::new(), Received::default()));
            }
            return if nonblock { Err(Errno::EAGAIN) } else { self.block_retry().map(|_| (Vec::new(), Received::default())) };
        }
        let want = want.min(MAX_RW) as usize;
        let mut got = Received::default();
        let mut data = Vec::new();
        if s.ty == SOCK_STREAM {
            // Walk the queue without changing it, then consume what was read.
            let (mut whole, mut part) = (0usize, 0usize);
            for (i, m) in s.rx.iter().enumerate() {
                if data.len() == want || (i > 0 && !m.rights.is_empty()) {
                    break;
                }
                let n = (want - data.len()).min(m.data.len());
                data.extend_from_slice(&m.data[..n]);
                if i == 0 {
                    got.rights = m.rights.clone();
                }
                if n < m.data.len() {
                    part = n;
                    break;
                }
                whole += 1;
                if !m.rights.is_empty() {
                    break;
                }
            }
            if !peek {
                for _ in 0..whole {
                    let m = s.rx.pop_front().unwrap();
                    s.rx_bytes -= m.data.len();
                }
                if part > 0 {
                    let m = s.rx.front_mut().unwrap();
                    m.data.drain(..part);
                    m.rights.clear();
                    s.rx_bytes -= part;
                }
            }
            got.result = data.len() as u64;
        } else {
            let m = s.rx.front().unwrap();
            let n = want.min(m.data.len());
            data.extend_from_slice(&m.data[..n]);
            got.truncated = m.data.len() > want;
            got.result = if flags & MSG_TRUNC != 0 { m.data.len() as u64 } else { n as u64 };
            got.from = m.from.clone();
            got.rights = m.rights.clone();
            if !peek {
                let m = s.rx.pop_front().unwrap();
                s.rx_bytes -= m.data.len();
            }
        }
        Ok((data, got))
    }

    pub(super) fn unix_read(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        let got = self.unix_recv(h, abi, id, iov, 0, nonblock)?;
        for f in got.rights {
            self.release(f);
        }
        Ok(got.result)
    }

    pub(super) fn unix_write(&mut self, h: &mut dyn Host, abi: Abi, id: u32, iov: &[(u64, u64)], nonblock: bool) -> SysResult {
        self.unix_send(h, abi, id, Source::User(iov), None, Vec::new(), 0, nonblock)
    }

    /// The descriptions of a sendmsg's SCM_RIGHTS messages.
    fn unix_rights_in(&mut self, h: &mut dyn Host, abi: Abi, control: u64, len: u64) -> Result<Vec<Rc<RefCell<OpenFile>>>, Errno> {
        if len == 0 {
            return Ok(Vec::new());
        }
        if len > MAX_CONTROL {
            return Err(Errno::ENOBUFS);
        }
        let b = self.read_user(h, abi, control, len as usize)?;
        let (hdr, align) = cmsg_header(abi);
        let mut rights = Vec::new();
        let mut at = 0;
        while at + hdr <= b.len() {
            let clen = if abi == Abi::X86_64 { u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize } else { u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize };
            let level = u32::from_le_bytes(b[at + hdr - 8..at + hdr - 4].try_into().unwrap());
            let ty = u32::from_le_bytes(b[at + hdr - 4..at + hdr].try_into().unwrap());
            if clen < hdr || at + clen > b.len() {
                return Err(Errno::EINVAL);
            }
            match (level, ty) {
                (SOL_SOCKET, SCM_RIGHTS) => {
                    for c in b[at + hdr..at + clen].chunks_exact(4) {
                        let fd = i32::from_le_bytes(c.try_into().unwrap());
                        rights.push(self.file(fd as u32 as u64)?);
                    }
                    if rights.len() > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                }
                // Accepted (the receiver gets no credentials message: SO_PASSCRED is not kept).
                (SOL_SOCKET, SCM_CREDENTIALS) if clen == hdr + 12 => {}
                _ => return Err(Errno::EINVAL),
            }
            at += clen.div_ceil(align) * align;
        }
        Ok(rights)
    }

    fn unix_sendmsg(&mut self, h: &mut dyn Host, abi: Abi, id: u32, msg: u64, flags: u64, nonblock: bool) -> SysResult {
        let m = MsgHdr::decode(abi, &self.read_user(h, abi, msg, MsgHdr::size(abi))?).ok_or(Errno::EFAULT)?;
        let iov = self.iov_list(h, abi, m.iov, m.iovlen)?;
        let to = if m.name != 0 && m.namelen != 0 { Some(self.unix_addr_in(h, abi, m.name, m.namelen as u64)?) } else { None };
        let rights = self.unix_rights_in(h, abi, m.control, m.controllen)?;
        self.unix_send(h, abi, id, Source::User(&iov), to, rights, flags, nonblock)
    }

    fn unix_recvmsg(&mut self, h: &mut dyn Host, abi: Abi, id: u32, msg: u64, flags: u64, nonblock: bool) -> SysResult {
        let m = MsgHdr::decode(abi, &self.read_user(h, abi, msg, MsgHdr::size(abi))?).ok_or(Errno::EFAULT)?;
        let iov = self.iov_list(h, abi, m.iov, m.iovlen)?;
        let got = self.unix_recv(h, abi, id, &iov, flags, nonblock)?;
        let (off_namelen, off_controllen, off_flags) = MsgHdr::out_offsets(abi);
        let mut out_flags = if got.truncated { MSG_TRUNC as u32 } else { 0 };
        if m.name != 0 {
            let bytes = got.from.as_ref().map(|n| encode_name(Some(n))).unwrap_or_default();
            let n = (m.namelen as usize).min(bytes.len());
            self.write_user(h, abi, m.name, &bytes[..n])?;
            self.write_user(h, abi, msg + off_namelen as u64, &(bytes.len() as u32).to_le_bytes())?;
        }
        let (used, ctrunc) = self.unix_rights_out(h, abi, m.control, m.controllen, got.rights, flags & MSG_CMSG_CLOEXEC != 0)?;
        if ctrunc {
            out_flags |= MSG_CTRUNC;
        }
        let word = (used as u64).to_le_bytes();
        self.write_user(h, abi, msg + off_controllen as u64, &word[..abi.word()])?;
        self.write_user(h, abi, msg + off_flags as u64, &out_flags.to_le_bytes())?;
        Ok(got.result)
    }

    /// Install received descriptions and describe them in one SCM_RIGHTS
    /// message: (control bytes used, truncated). What does not fit is closed.
    fn unix_rights_out(&mut self, h: &mut dyn Host, abi: Abi, control: u64, room: u64, rights: Vec<Rc<RefCell<OpenFile>>>, cloexec: bool) -> Result<(usize, bool), Errno> {
        if rights.is_empty() {
            return Ok((0, false));
        }
        let (hdr, align) = cmsg_header(abi);
        let fit = if control == 0 || (room as usize) < hdr { 0 } else { ((room as usize - hdr) / 4).min(rights.len()) };
        let mut fds = Vec::new();
        let mut truncated = fit < rights.len();
        for (i, f) in rights.into_iter().enumerate() {
            if i < fit && !truncated {
                match self.fd_install(f.clone(), 0, cloexec) {
                    Ok(fd) => {
                        fds.push(fd);
                        continue;
                    }
                    Err(_) => truncated = true,
                }
            }
            self.release(f);
        }
        if fds.is_empty() {
            return Ok((0, truncated));
        }
        let len = hdr + 4 * fds.len();
        let mut b = Vec::with_capacity(len);
        if abi == Abi::X86_64 {
            b.extend_from_slice(&(len as u64).to_le_bytes());
        } else {
            b.extend_from_slice(&(len as u32).to_le_bytes());
        }
        b.extend_from_slice(&SOL_SOCKET.to_le_bytes());
        b.extend_from_slice(&SCM_RIGHTS.to_le_bytes());
        for fd in &fds {
            b.extend_from_slice(&(*fd as u32).to_le_bytes());
        }
        if let Err(e) = self.write_user(h, abi, control, &b) {
            for fd in fds {
                let _ = self.fd_close(fd);
            }
            return Err(e);
        }
        Ok(((len.div_ceil(align) * align).min(room as usize), truncated))
    }

    /// (readable, writable, poll's POLLHUP/POLLERR bits).
    pub(super) fn unix_ready(&self, id: u32) -> (bool, bool, u16) {
        let Some(s) = self.job.unix.get(&id) else { return (true, true, 0x10) };
        let mut extra = 0;
        if s.error != 0 {
            extra |= 0x08; // POLLERR
        }
        if (s.shut_rd && s.shut_wr) || (s.connection() && s.state == State::Unconnected) {
            extra |= 0x10; // POLLHUP
        }
        if s.shut_rd {
            extra |= crate::linux::POLLRDHUP;
        }
        let readable = !s.rx.is_empty() || s.shut_rd || !s.backlog.is_empty();
        let writable = match s.state {
            State::Listening { .. } => false,
            _ => match s.peer.and_then(|p| self.job.unix.get(&p)) {
                Some(p) if s.ty == SOCK_STREAM => p.rx_bytes < CAPACITY,
                Some(p) => p.has_room(id, 1),
                None => true,
            },
        };
        (readable, writable, extra)
    }

    pub(super) fn unix_fionread(&self, id: u32) -> Result<u32, Errno> {
        let s = self.usock(id)?;
        Ok(match s.state {
            State::Listening { .. } => return Err(Errno::EINVAL),
            _ if s.ty == SOCK_STREAM => s.rx_bytes as u32,
            _ => s.rx.front().map_or(0, |m| m.data.len() as u32),
        })
    }

    /// sendfile into a socket.
    pub(super) fn unix_send_bytes(&mut self, h: &mut dyn Host, abi: Abi, id: u32, data: &[u8], nonblock: bool) -> SysResult {
        self.unix_send(h, abi, id, Source::Held(data), None, Vec::new(), 0, nonblock)
    }
}

/// What one receive got.
#[derive(Default)]
pub(super) struct Received {
    /// The call's answer: bytes copied (a datagram's full length with MSG_TRUNC).
    pub result: u64,
    pub truncated: bool,
    pub from: Option<Vec<u8>>,
    pub rights: Vec<Rc<RefCell<OpenFile>>>,
}

/// The AF_UNIX socket `JobState::unix[id]`.
pub struct UnixFile(pub u32);

impl FileLike for UnixFile {
    fn read(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.unix_read(h, abi, self.0, &iov, nonblock)
    }

    fn write(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, f: &Rc<RefCell<OpenFile>>, iov: Vec<(u64, u64)>) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.unix_write(h, abi, self.0, &iov, nonblock)
    }

    fn write_bytes(&self, p: &mut Process, h: &mut dyn Host, f: &Rc<RefCell<OpenFile>>, data: &[u8]) -> SysResult {
        let nonblock = f.borrow().nonblock();
        p.unix_send_bytes(h, Abi::X86_64, self.0, data, nonblock)
    }

    fn ready(&self, p: &Process, _f: &OpenFile) -> (bool, bool) {
        let (r, w, _) = p.unix_ready(self.0);
        (r, w)
    }

    fn hangup(&self, p: &Process) -> u16 {
        p.unix_ready(self.0).2
    }

    fn stat(&self, p: &Process) -> StatInfo {
        StatInfo { dev: 0x8, ino: 40000 + self.0 as u64, mode: 0o140777, nlink: 1, uid: p.uid, gid: p.gid, blksize: 4096, ..Default::default() }
    }

    fn ioctl(&self, p: &mut Process, h: &mut dyn Host, abi: Abi, _f: &Rc<RefCell<OpenFile>>, req: u32, arg: u64) -> SysResult {
        if req != FIONREAD {
            return Err(Errno::ENOTTY);
        }
        let n = p.unix_fionread(self.0)?;
        p.write_user(h, abi, arg, &n.to_le_bytes()).map(|_| 0)
    }

    fn reopen(&self, _flags: u32) -> Result<(), Errno> {
        // Linux cannot reopen a socket through /proc/self/fd.
        Err(Errno::ENXIO)
    }

    fn release(&self, p: &mut Process, _flags: u32) {
        p.unix_closed(self.0);
    }

    fn path(&self, _p: &Process) -> Vec<u8> {
        format!("socket:[{}]", 40000 + self.0).into_bytes()
    }
}
