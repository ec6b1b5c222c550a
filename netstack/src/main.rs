//! The SiON network stack server: drives a virtio-net device (virtio-mmio, as
//! QEMU `microvm` provides) through `virtio-drivers`, runs smoltcp on it, gets
//! an address with DHCP or, without a DHCP server, an IPv4 link-local one
//! (RFC 3927, see `linklocal.rs`), and serves sockets over IPC (the protocol
//! is `sion_abi::net`).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("sion-netstack runs on SiON: build it with --target x86_64-unknown-none");
}

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod hal;
#[cfg(target_os = "none")]
mod lo;
#[cfg(target_os = "none")]
mod virtnet;
#[cfg(target_os = "none")]
mod nic;
#[cfg(target_os = "none")]
mod server;
#[cfg(target_os = "none")]
mod sockets;
