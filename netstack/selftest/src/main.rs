//! The network self-test server, booted as the boot server beside the
//! netstack. It serves, over the netstack's socket service:
//! - TCP 7: echo; UDP 7: echo (datagrams back to their sender);
//! - TCP 9: discard, answering the byte count as text when the client shuts
//!   down its side (so the host can time a bulk transfer end to end);
//! - TCP 1: any connection powers the node off (the test is over).
//!
//! `cargo xtask test` drives it from the host through QEMU port forwarding.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![forbid(unsafe_code)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("sion-netstack-selftest runs on SiON: build it with --target x86_64-unknown-none");
}

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod server {
    use alloc::format;
    use alloc::vec::Vec;
    use sion_rt as rt;
    use sion_rt::net::{wait_for_change, NetError, Netstack, Socket};

    sion_rt::entry!(main);

    const EAGAIN: NetError = NetError(11);

    struct Conn {
        sock: Socket,
        /// Bytes received (discard) or waiting to go back (echo).
        count: u64,
        pending: Vec<u8>,
        echo: bool,
        done: bool,
    }

    fn main(_boot: rt::Boot) -> ! {
        let net = Netstack::find().expect("no netstack server");
        // Wait for an address.
        loop {
            match net.info() {
                Ok((addr, _, _)) if addr != 0 => {
                    rt::log!("nettest: serving on {}.{}.{}.{}", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
                    break;
                }
                _ => {
                    let c = rt::clock_info().unwrap();
                    let _ = rt::timer_set(c.tsc_to_ns(rt::rdtsc()) + 50_000_000);
                    let mut b = [0u8; 64];
                    let _ = rt::ipc_recv(&mut b);
                }
            }
        }
        let listen = |port: u16| {
            let s = net.tcp().expect("socket");
            s.bind(0, port).expect("bind");
            s.listen(4).expect("listen");
            s
        };
        let (echo, discard, quit) = (listen(7), listen(9), listen(1));
        let udp = net.udp().expect("udp");
        udp.bind(0, 7).expect("bind udp");
        let mut conns: Vec<Conn> = Vec::new();
        loop {
            let mut progress = false;
            if quit.try_accept().is_ok() {
                rt::log!("nettest: quit");
                rt::poweroff(0);
            }
            for (l, is_echo) in [(&echo, true), (&discard, false)] {
                while let Ok((sock, _, _)) = l.try_accept() {
                    conns.push(Conn { sock, count: 0, pending: Vec::new(), echo: is_echo, done: false });
                    progress = true;
                }
            }
            while let Ok((data, from, port)) = udp.try_recv(2048) {
                let _ = udp.try_send(&data, Some((from, port)));
                progress = true;
            }
            for c in conns.iter_mut() {
                if !c.pending.is_empty() {
                    match c.sock.try_send(&c.pending, None) {
                        Ok(n) => {
                            c.pending.drain(..n);
                            progress = true;
                        }
                        Err(e) if e == EAGAIN => {}
                        Err(_) => c.done = true,
                    }
                    continue;
                }
                match c.sock.try_recv(16 * 1024) {
                    Ok((data, _, _)) if data.is_empty() => {
                        // End of stream: discard answers its count, then both close.
                        if !c.echo {
                            let _ = c.sock.send(format!("{}\n", c.count).as_bytes(), None);
                        }
                        let _ = c.sock.shutdown(2);
                        c.done = true;
                    }
                    Ok((data, _, _)) => {
                        c.count += data.len() as u64;
                        if c.echo {
                            c.pending = data;
                        }
                        progress = true;
                    }
                    Err(e) if e == EAGAIN => {}
                    Err(_) => c.done = true,
                }
            }
            conns.retain(|c| !c.done);
            if !progress {
                wait_for_change();
            }
        }
    }
}
