//! The network stack server's pure logic, tested on the host: link-local
//! addressing, the neighbour table, the frames the server reads and builds, TCP
//! checksums of received frames. The server
//! itself (virtio-net, smoltcp, the socket service) is `main.rs`, built for
//! SiON with `--target x86_64-unknown-none`.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod checksum;
pub mod ether;
pub mod linklocal;
pub mod neighbors;
