//! The SiON Linux personality server: loads a job's static Linux program,
//! answers its system calls and faults (all Linux logic is in the
//! `sion-linux` crate), and carries its stdin, stdout, stderr and exit status
//! over the job console: COM2 for the boot job of `sion exec`, IPC to the
//! group server for a job offloaded with `sion run` (one personality per job).
#![cfg_attr(target_os = "none", no_std, no_main)]
#![forbid(unsafe_code)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("sion-personality runs on SiON: build it with --target x86_64-unknown-none");
}

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod server;
#[cfg(target_os = "none")]
mod uart;
