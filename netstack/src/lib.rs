//! The network stack server's pure logic, tested on the host. The server
//! itself (virtio-net, smoltcp, the socket service) is `main.rs`, built for
//! SiON with `--target x86_64-unknown-none`.
#![no_std]
#![forbid(unsafe_code)]

pub mod linklocal;
