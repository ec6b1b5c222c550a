//! The socket service of the netstack server, spoken over IPC by the Linux
//! personality and by native servers (the group manager).
//!
//! Every request is non-blocking: the netstack answers at once, with
//! `-EAGAIN` (Linux errno values throughout) when a call would block. After
//! anything that may change a socket's readiness, the netstack raises
//! [`NOTIFY_NET`] on every client, which then retries what it waits for. So a
//! client never blocks in the netstack, and the personality keeps its Linux
//! callers waiting with deferred replies.
//!
//! A request is a [`Request`] followed by data (for `Send`); a reply is a
//! [`Reply`] followed by data (for `Recv`). Addresses are IPv4, in host order.

use crate::msg::{wire_struct, WireField};

/// Notification bit the netstack raises on its clients when sockets changed.
pub const NOTIFY_NET: u64 = 1 << 62;

/// Largest data in one request or reply.
pub const MAX_DATA: usize = 16 * 1024;

/// Operations.
pub mod op {
    /// `kind` = [`super::kind`]: a new socket; reply `handle`.
    pub const SOCKET: u32 = 1;
    /// Bind `handle` to `addr:port` (port 0: any).
    pub const BIND: u32 = 2;
    /// TCP: listen with backlog `arg`.
    pub const LISTEN: u32 = 3;
    /// TCP: a connection from the backlog: reply `handle`, peer `addr:port`.
    pub const ACCEPT: u32 = 4;
    /// TCP: start connecting to `addr:port` (`-EINPROGRESS`, then writable
    /// or an error in `Status`); UDP: set the default peer.
    pub const CONNECT: u32 = 5;
    /// Send the data (UDP: to `addr:port`, or the default peer if port is 0).
    /// Reply: bytes taken.
    pub const SEND: u32 = 6;
    /// Receive up to `arg` bytes (`flags` bit 0: peek). Reply: the data, with the
    /// source `addr:port` for UDP; result 0 at TCP end of stream.
    pub const RECV: u32 = 7;
    pub const CLOSE: u32 = 8;
    /// Readiness `events`, local and peer addresses, pending error in `result`.
    pub const STATUS: u32 = 9;
    /// TCP: `arg` = 0 read, 1 write, 2 both (as Linux `how`).
    pub const SHUTDOWN: u32 = 10;
    /// The interface: `addr`/`port` = address/prefix length, `events` = how it
    /// was configured ([`config`]); data = the MAC address (6 bytes).
    pub const INFO: u32 = 11;
}

/// Socket kinds.
pub mod kind {
    pub const TCP: u64 = 1;
    pub const UDP: u64 = 2;
}

/// Readiness bits (the `poll` ones).
pub mod events {
    pub const IN: u32 = 0x001;
    pub const OUT: u32 = 0x004;
    pub const ERR: u32 = 0x008;
    pub const HUP: u32 = 0x010;
}

/// How the interface got its address.
pub mod config {
    pub const NONE: u32 = 0;
    pub const DHCP: u32 = 1;
    pub const LINK_LOCAL: u32 = 2;
}

wire_struct! {
    /// A request to the netstack.
    pub struct Request {
        pub op: u32,
        pub handle: u32,
        pub arg: u64,
        pub addr: u32,
        pub port: u32,
        pub flags: u64,
    }
}

wire_struct! {
    /// The netstack's answer.
    pub struct Reply {
        /// >= 0 on success (a count, or 0), else -errno.
        pub result: u64,
        pub handle: u32,
        pub events: u32,
        pub addr: u32,
        pub port: u32,
        pub local_addr: u32,
        pub local_port: u32,
    }
}

impl Reply {
    pub fn error(errno: i64) -> Reply {
        Reply { result: (-errno) as u64, ..Default::default() }
    }
    pub fn result(&self) -> i64 {
        self.result as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = Request { op: op::CONNECT, handle: 3, arg: 0, addr: 0xa9fe_0102, port: 80, flags: 0 };
        assert_eq!(Request::decode(&r.encode()), Some(r));
        let p = Reply::error(11);
        assert_eq!(p.result(), -11);
        assert_eq!(Reply::decode(&p.encode()), Some(p));
        assert_eq!(Reply::decode(&[0; 3]), None);
    }
}
