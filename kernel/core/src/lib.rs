//! The SiON kernel's pure algorithms: no hardware, no `unsafe`, tested on the
//! host with `cargo test -p sion-kerncore`. The kernel (bare metal) links them.
#![no_std]
#![forbid(unsafe_code)]

pub mod acpi;
pub mod elf;
pub mod memmap;
pub mod paging;
pub mod runqueue;
