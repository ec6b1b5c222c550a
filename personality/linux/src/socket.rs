//! Linux socket arguments, decoded per ABI, and the socket options a program
//! may set: the pure half of the socket calls. (Serving them over the
//! netstack's `sion_abi::net` protocol, and the descriptor plumbing, is the
//! process's part; see docs/network.md.)
//!
//! Everything here checks its input the way Linux does and answers Linux's
//! errno for bad input.

use crate::errno::Errno;
use crate::layout::Abi;
use alloc::vec::Vec;

pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const SOCK_STREAM: u32 = 1;
pub const SOCK_DGRAM: u32 = 2;
pub const SOCK_RAW: u32 = 3;
pub const SOCK_SEQPACKET: u32 = 5;
pub const SOCK_NONBLOCK: u32 = 0o4000;
pub const SOCK_CLOEXEC: u32 = 0o2000000;
pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;
pub const SOL_SOCKET: u32 = 1;
/// `send`/`recv` flags.
pub const MSG_PEEK: u64 = 0x2;
pub const MSG_CTRUNC: u32 = 0x8;
pub const MSG_TRUNC: u64 = 0x20;
pub const MSG_DONTWAIT: u64 = 0x40;
pub const MSG_NOSIGNAL: u64 = 0x4000;
pub const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
/// `sun_path` length.
pub const UNIX_PATH_MAX: usize = 108;

/// A socket address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr {
    /// IPv4 address (host order) and port.
    Inet { ip: u32, port: u16 },
    /// A path (possibly empty: unnamed); a leading NUL is Linux's abstract namespace.
    Unix { path: Vec<u8> },
}

impl SockAddr {
    /// Decode `struct sockaddr_*` of `len` bytes (the same layout on both ABIs).
    pub fn decode(b: &[u8]) -> Result<SockAddr, Errno> {
        if b.len() < 2 {
            return Err(Errno::EINVAL);
        }
        let family = u16::from_le_bytes([b[0], b[1]]);
        match family {
            AF_INET => {
                if b.len() < 16 {
                    return Err(Errno::EINVAL);
                }
                Ok(SockAddr::Inet { port: u16::from_be_bytes([b[2], b[3]]), ip: u32::from_be_bytes([b[4], b[5], b[6], b[7]]) })
            }
            AF_UNIX => {
                let raw = &b[2..];
                if raw.len() > UNIX_PATH_MAX {
                    return Err(Errno::EINVAL);
                }
                // A path ends at its first NUL, unless it is abstract (starts with one).
                let path = if raw.first() == Some(&0) { raw.to_vec() } else { raw.iter().take_while(|&&c| c != 0).copied().collect() };
                Ok(SockAddr::Unix { path })
            }
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// Encode as Linux returns it (getsockname, accept, recvfrom).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            SockAddr::Inet { ip, port } => {
                let mut v = Vec::with_capacity(16);
                v.extend_from_slice(&AF_INET.to_le_bytes());
                v.extend_from_slice(&port.to_be_bytes());
                v.extend_from_slice(&ip.to_be_bytes());
                v.extend_from_slice(&[0; 8]);
                v
            }
            SockAddr::Unix { path } => {
                let mut v = Vec::with_capacity(2 + path.len() + 1);
                v.extend_from_slice(&AF_UNIX.to_le_bytes());
                v.extend_from_slice(path);
                if path.first() != Some(&0) && !path.is_empty() {
                    v.push(0);
                }
                v
            }
        }
    }
}

/// What `socket(domain, type, protocol)` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketKind {
    pub domain: u16,
    /// SOCK_STREAM or SOCK_DGRAM.
    pub ty: u32,
    pub nonblock: bool,
    pub cloexec: bool,
}

/// Check `socket()` arguments in Linux's order of checks.
pub fn socket_kind(domain: u32, ty: u32, protocol: u32) -> Result<SocketKind, Errno> {
    if ty & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut base = ty & 0xf;
    let domain = match domain {
        1 => AF_UNIX,
        2 => AF_INET,
        // IPv6 (10) and the rest: not on SiON's network.
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    if base > 10 {
        return Err(Errno::EINVAL);
    }
    if domain == AF_UNIX && protocol != 0 && protocol != AF_UNIX as u32 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    match (domain, base) {
        (_, SOCK_STREAM | SOCK_DGRAM) | (AF_UNIX, SOCK_SEQPACKET) => {}
        // Linux takes SOCK_RAW for AF_UNIX as SOCK_DGRAM.
        (AF_UNIX, SOCK_RAW) => base = SOCK_DGRAM,
        // Linux's inet_create: the raw entry matches any protocol but 0.
        (AF_INET, SOCK_RAW) if protocol == 0 => return Err(Errno::EPROTONOSUPPORT),
        _ => return Err(Errno::ESOCKTNOSUPPORT), // rdm, packet; raw and seqpacket over IP
    }
    let ok_protocol = match (domain, base) {
        (AF_INET, SOCK_STREAM) => protocol == 0 || protocol == IPPROTO_TCP,
        (AF_INET, SOCK_DGRAM) => protocol == 0 || protocol == IPPROTO_UDP,
        _ => true,
    };
    if !ok_protocol {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(SocketKind { domain, ty: base, nonblock: ty & SOCK_NONBLOCK != 0, cloexec: ty & SOCK_CLOEXEC != 0 })
}

/// The i386 `socketcall(call, args)` multiplexer: which call, and how many
/// 32-bit words of arguments to read at `args`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketCall {
    Socket,
    Bind,
    Connect,
    Listen,
    Accept,
    GetSockName,
    GetPeerName,
    SocketPair,
    Send,
    Recv,
    SendTo,
    RecvFrom,
    Shutdown,
    SetSockOpt,
    GetSockOpt,
    SendMsg,
    RecvMsg,
    Accept4,
    RecvMmsg,
    SendMmsg,
}

impl SocketCall {
    /// The call and its argument count, or EINVAL (as Linux) for others.
    pub fn decode(call: u32) -> Result<(SocketCall, usize), Errno> {
        use SocketCall::*;
        Ok(match call {
            1 => (Socket, 3),
            2 => (Bind, 3),
            3 => (Connect, 3),
            4 => (Listen, 2),
            5 => (Accept, 3),
            6 => (GetSockName, 3),
            7 => (GetPeerName, 3),
            8 => (SocketPair, 4),
            9 => (Send, 4),
            10 => (Recv, 4),
            11 => (SendTo, 6),
            12 => (RecvFrom, 6),
            13 => (Shutdown, 2),
            14 => (SetSockOpt, 5),
            15 => (GetSockOpt, 5),
            16 => (SendMsg, 3),
            17 => (RecvMsg, 3),
            18 => (Accept4, 4),
            19 => (RecvMmsg, 5),
            20 => (SendMmsg, 4),
            _ => return Err(Errno::EINVAL),
        })
    }
}

/// The options a socket remembers. Linux doubles a requested buffer size
/// (room for its bookkeeping) and clamps it; programs read back the doubled
/// value, so we do the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockOpts {
    pub reuseaddr: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub nodelay: bool,
    pub sndbuf: u32,
    pub rcvbuf: u32,
    /// SO_LINGER: (on, seconds).
    pub linger: (u32, u32),
}

impl Default for SockOpts {
    fn default() -> Self {
        // Linux's defaults (net.core.wmem_default / rmem_default, TCP's own).
        SockOpts { reuseaddr: false, keepalive: false, broadcast: false, nodelay: false, sndbuf: 16384, rcvbuf: 131072, linger: (0, 0) }
    }
}

pub const SO_TYPE: u32 = 3;
pub const SO_ERROR: u32 = 4;
pub const SO_REUSEADDR: u32 = 2;
pub const SO_BROADCAST: u32 = 6;
pub const SO_SNDBUF: u32 = 7;
pub const SO_RCVBUF: u32 = 8;
pub const SO_KEEPALIVE: u32 = 9;
pub const SO_LINGER: u32 = 13;
pub const SO_PASSCRED: u32 = 16;
pub const SO_PEERCRED: u32 = 17;
pub const SO_ACCEPTCONN: u32 = 30;
pub const SO_PROTOCOL: u32 = 38;
pub const SO_DOMAIN: u32 = 39;
pub const TCP_NODELAY: u32 = 1;

/// Size of an option's value, for both ABIs (all are `int` but SO_LINGER).
fn opt_size(level: u32, name: u32) -> usize {
    if level == SOL_SOCKET && name == SO_LINGER {
        8
    } else {
        4
    }
}

impl SockOpts {
    /// `setsockopt(level, name, value)`.
    pub fn set(&mut self, level: u32, name: u32, value: &[u8]) -> Result<(), Errno> {
        if value.len() < opt_size(level, name) {
            return Err(Errno::EINVAL);
        }
        let int = i32::from_le_bytes([value[0], value[1], value[2], value[3]]);
        match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => self.reuseaddr = int != 0,
            (SOL_SOCKET, SO_KEEPALIVE) => self.keepalive = int != 0,
            (SOL_SOCKET, SO_BROADCAST) => self.broadcast = int != 0,
            (SOL_SOCKET, SO_SNDBUF) => self.sndbuf = (int.max(0) as u32).clamp(2048, 212_992 / 2) * 2,
            (SOL_SOCKET, SO_RCVBUF) => self.rcvbuf = (int.max(0) as u32).clamp(1152, 212_992 / 2) * 2,
            (SOL_SOCKET, SO_LINGER) => self.linger = (u32::from_le_bytes(value[0..4].try_into().unwrap()), u32::from_le_bytes(value[4..8].try_into().unwrap())),
            (SOL_SOCKET, SO_TYPE | SO_ERROR) => return Err(Errno::ENOPROTOOPT),
            (IPPROTO_TCP, TCP_NODELAY) => self.nodelay = int != 0,
            (SOL_SOCKET, _) | (IPPROTO_TCP, _) => return Err(Errno::ENOPROTOOPT),
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    /// `getsockopt(level, name)`: the value's bytes. `ty` is the socket type
    /// and `error` the pending error (SO_ERROR reads and clears it).
    pub fn get(&self, level: u32, name: u32, ty: u32, error: &mut i32) -> Result<Vec<u8>, Errno> {
        let int = |v: u32| (v as i32).to_le_bytes().to_vec();
        Ok(match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => int(self.reuseaddr as u32),
            (SOL_SOCKET, SO_KEEPALIVE) => int(self.keepalive as u32),
            (SOL_SOCKET, SO_BROADCAST) => int(self.broadcast as u32),
            (SOL_SOCKET, SO_SNDBUF) => int(self.sndbuf),
            (SOL_SOCKET, SO_RCVBUF) => int(self.rcvbuf),
            (SOL_SOCKET, SO_TYPE) => int(ty),
            (SOL_SOCKET, SO_ERROR) => int(core::mem::take(error) as u32),
            (SOL_SOCKET, SO_LINGER) => {
                let mut v = self.linger.0.to_le_bytes().to_vec();
                v.extend_from_slice(&self.linger.1.to_le_bytes());
                v
            }
            (IPPROTO_TCP, TCP_NODELAY) => int(self.nodelay as u32),
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }
}

/// A `struct msghdr` as `sendmsg`/`recvmsg` pass it, per ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MsgHdr {
    pub name: u64,
    pub namelen: u32,
    pub iov: u64,
    pub iovlen: u64,
    pub control: u64,
    pub controllen: u64,
    pub flags: u32,
}

impl MsgHdr {
    /// Bytes of `struct msghdr` on `abi`.
    pub const fn size(abi: Abi) -> usize {
        match abi {
            Abi::X86_64 => 56,
            Abi::I386 => 28,
        }
    }

    pub fn decode(abi: Abi, b: &[u8]) -> Option<MsgHdr> {
        if b.len() < Self::size(abi) {
            return None;
        }
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        Some(match abi {
            // void *name; socklen_t namelen; (pad) struct iovec *iov; size_t iovlen;
            // void *control; size_t controllen; int flags;
            Abi::X86_64 => MsgHdr { name: u64_at(0), namelen: u32_at(8), iov: u64_at(16), iovlen: u64_at(24), control: u64_at(32), controllen: u64_at(40), flags: u32_at(48) },
            Abi::I386 => MsgHdr { name: u32_at(0) as u64, namelen: u32_at(4), iov: u32_at(8) as u64, iovlen: u32_at(12) as u64, control: u32_at(16) as u64, controllen: u32_at(20) as u64, flags: u32_at(24) },
        })
    }

    /// Offsets of the fields `recvmsg` writes back: (namelen, controllen, flags).
    pub const fn out_offsets(abi: Abi) -> (usize, usize, usize) {
        match abi {
            Abi::X86_64 => (8, 40, 48),
            Abi::I386 => (4, 20, 24),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_addresses_round_trip() {
        let a = SockAddr::Inet { ip: 0x7f00_0001, port: 8080 };
        let b = a.encode();
        assert_eq!(b.len(), 16);
        assert_eq!(&b[..8], &[2, 0, 0x1f, 0x90, 127, 0, 0, 1]);
        assert_eq!(SockAddr::decode(&b), Ok(a));
        assert_eq!(SockAddr::decode(&b[..15]), Err(Errno::EINVAL));
        assert_eq!(SockAddr::decode(&[10, 0, 0, 0]), Err(Errno::EAFNOSUPPORT));
        assert_eq!(SockAddr::decode(&[2]), Err(Errno::EINVAL));
    }

    #[test]
    fn unix_addresses() {
        let mut raw = alloc::vec![1u8, 0];
        raw.extend_from_slice(b"/tmp/sock\0garbage");
        assert_eq!(SockAddr::decode(&raw), Ok(SockAddr::Unix { path: b"/tmp/sock".to_vec() }));
        let abs = [1u8, 0, 0, b'x', b'y'];
        assert_eq!(SockAddr::decode(&abs), Ok(SockAddr::Unix { path: alloc::vec![0, b'x', b'y'] }));
        let long = [&[1u8, 0][..], &[b'a'; 109][..]].concat();
        assert_eq!(SockAddr::decode(&long), Err(Errno::EINVAL));
        assert_eq!(SockAddr::Unix { path: b"/s".to_vec() }.encode(), alloc::vec![1, 0, b'/', b's', 0]);
    }

    #[test]
    fn socket_arguments_checked_like_linux() {
        assert!(socket_kind(2, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap().nonblock);
        assert_eq!(socket_kind(2, SOCK_DGRAM, IPPROTO_UDP).unwrap().ty, SOCK_DGRAM);
        assert_eq!(socket_kind(2, SOCK_STREAM, IPPROTO_UDP), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(socket_kind(99, SOCK_STREAM, 0), Err(Errno::EAFNOSUPPORT));
        assert_eq!(socket_kind(2, 0x100000 | SOCK_STREAM, 0), Err(Errno::EINVAL));
        // Raw IP: protocol 0 matches no entry (Linux's inet_create), another
        // one would need raw sockets, which SiON's network does not have.
        assert_eq!(socket_kind(2, 3, 0), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(socket_kind(2, 3, 1), Err(Errno::ESOCKTNOSUPPORT));
        assert!(socket_kind(1, SOCK_DGRAM | SOCK_CLOEXEC, 0).unwrap().cloexec);
        assert_eq!(socket_kind(1, SOCK_SEQPACKET, 0).unwrap().ty, SOCK_SEQPACKET);
        assert_eq!(socket_kind(1, SOCK_RAW, 0).unwrap().ty, SOCK_DGRAM);
        assert_eq!(socket_kind(1, SOCK_STREAM, 1).unwrap().ty, SOCK_STREAM);
        assert_eq!(socket_kind(1, SOCK_STREAM, 6), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(socket_kind(2, SOCK_SEQPACKET, 0), Err(Errno::ESOCKTNOSUPPORT));
        assert_eq!(socket_kind(1, 11, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn socketcall_table() {
        assert_eq!(SocketCall::decode(1), Ok((SocketCall::Socket, 3)));
        assert_eq!(SocketCall::decode(11), Ok((SocketCall::SendTo, 6)));
        assert_eq!(SocketCall::decode(20), Ok((SocketCall::SendMmsg, 4)));
        assert_eq!(SocketCall::decode(0), Err(Errno::EINVAL));
        assert_eq!(SocketCall::decode(21), Err(Errno::EINVAL));
    }

    #[test]
    fn options_read_back_as_linux_does() {
        let mut o = SockOpts::default();
        o.set(SOL_SOCKET, SO_RCVBUF, &4096i32.to_le_bytes()).unwrap();
        let mut err = 0;
        assert_eq!(o.get(SOL_SOCKET, SO_RCVBUF, SOCK_STREAM, &mut err).unwrap(), 8192i32.to_le_bytes());
        o.set(SOL_SOCKET, SO_REUSEADDR, &1i32.to_le_bytes()).unwrap();
        assert_eq!(o.get(SOL_SOCKET, SO_REUSEADDR, SOCK_STREAM, &mut err).unwrap(), 1i32.to_le_bytes());
        assert_eq!(o.set(SOL_SOCKET, SO_REUSEADDR, &[1, 0]), Err(Errno::EINVAL));
        assert_eq!(o.set(SOL_SOCKET, 999, &1i32.to_le_bytes()), Err(Errno::ENOPROTOOPT));
        let mut pending = 111;
        assert_eq!(o.get(SOL_SOCKET, SO_ERROR, SOCK_STREAM, &mut pending).unwrap(), 111i32.to_le_bytes());
        assert_eq!(pending, 0, "SO_ERROR clears the pending error");
        assert_eq!(o.get(SOL_SOCKET, SO_TYPE, SOCK_DGRAM, &mut pending).unwrap(), 2i32.to_le_bytes());
    }

    #[test]
    fn msghdr_layouts() {
        let mut b = alloc::vec![0u8; 56];
        b[0..8].copy_from_slice(&0x1000u64.to_le_bytes());
        b[8..12].copy_from_slice(&16u32.to_le_bytes());
        b[16..24].copy_from_slice(&0x2000u64.to_le_bytes());
        b[24..32].copy_from_slice(&2u64.to_le_bytes());
        let m = MsgHdr::decode(Abi::X86_64, &b).unwrap();
        assert_eq!((m.name, m.namelen, m.iov, m.iovlen), (0x1000, 16, 0x2000, 2));
        let mut c = alloc::vec![0u8; 28];
        c[8..12].copy_from_slice(&0x3000u32.to_le_bytes());
        c[12..16].copy_from_slice(&1u32.to_le_bytes());
        let m = MsgHdr::decode(Abi::I386, &c).unwrap();
        assert_eq!((m.iov, m.iovlen), (0x3000, 1));
        assert!(MsgHdr::decode(Abi::I386, &c[..27]).is_none());
    }
}

/// The socket calls, as one value: AF_UNIX and AF_INET sockets route them
/// apart (`process/unix.rs`, `process/net.rs`), and i386 `socketcall` names
/// them by number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SocketOp {
    Socket,
    Bind,
    Connect,
    Listen,
    Accept,
    Accept4,
    SendTo,
    RecvFrom,
    Shutdown,
    GetSockName,
    GetPeerName,
    SetSockOpt,
    GetSockOpt,
    SendMsg,
    RecvMsg,
    SendMmsg,
    SocketPair,
    RecvMmsg,
    /// i386 `socketcall(call, args)`: the calls above through one entry.
    SocketCall,
}
