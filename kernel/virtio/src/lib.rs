//! virtio for SiON's native servers: the `virtio_drivers` HAL (`hal`) shared
//! by the netstack (virtio-net) and the personality, and the job console's
//! virtio-console driver (`console`).
#![no_std]

extern crate alloc;

pub mod console;
pub mod hal;

pub use virtio_drivers;
