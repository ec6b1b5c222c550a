//! SiON's group manager protocol core.
//!
//! Sans-IO and `no_std` + `alloc`: the host (the `sion daemon` on Linux, the
//! node's group server on SiON, or the simulator in [`sim`]) feeds it
//! datagrams and the time, and carries out what it asks: datagrams to send
//! ([`Transmit`]) and a deadline for the next [`Node::tick`]. It never reads a
//! clock, a socket or a random source of its own.
//!
//! - [`wire`]: the versioned, authenticated wire format (HMAC-SHA256 under the
//!   group key; docs/group-protocol.md);
//! - [`replay`]: per-sender sequence windows and the timestamp bound;
//! - [`node`]: discovery by broadcast, SWIM-style liveness (direct probe,
//!   indirect probes through k members, suspicion with refutation by
//!   incarnation numbers, piggybacked gossip, death notices, graceful leave)
//!   and placement (allocation requests, admission, weighted ranking);
//! - [`status`]: the status vector, admission and the placement score;
//! - [`job`]: the job stream between `sion run` and a node;
//! - [`cache`]: a node's cache of workstations' files, shared by its jobs;
//! - [`sim`]: a deterministic network simulator for tests and `cargo xtask sim`.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod cache;
pub mod job;
pub mod node;
pub mod replay;
pub mod rng;
pub mod sim;
pub mod status;
pub mod wire;

pub use node::{Config, Event, Member, Node, PlaceError, PlaceRequest, Placement, State, Stats, Transmit};
pub use status::{Admission, JobNeed, Refusal, Status, Weights};
pub use wire::Key;

/// A member's identity: random, chosen by the member when it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodeId(pub u64);

impl core::fmt::Display for NodeId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// An IPv4 address and UDP (and job TCP) port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Addr {
    pub ip: [u8; 4],
    pub port: u16,
}

impl core::fmt::Display for Addr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d] = self.ip;
        write!(f, "{a}.{b}.{c}.{d}:{}", self.port)
    }
}
