//! The network stack server: virtio-net through `virtio-drivers`, smoltcp on
//! top, sockets served over IPC to the personality and the group manager.
//!
//! Not written yet: issue #4 builds it. The crate exists so the workspace has
//! its place in the layout; it contains no code that pretends to work.
#![no_std]
#![forbid(unsafe_code)]
