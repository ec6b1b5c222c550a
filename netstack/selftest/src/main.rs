//! The network self-test server, booted as the boot server beside the
//! netstack. It serves, over the netstack's socket service:
//! - TCP 7: echo; UDP 7: echo (datagrams back to their sender);
//! - TCP 9: discard, answering the byte count as text when the client shuts
//!   down its side (so the host can time a bulk transfer end to end);
//! - TCP 1: any connection powers the node off (the test is over).
//!
//! With `nettest.lan=1` on the command line it also looks for peers: it
//! broadcasts its address on UDP 9999 twice a second, and when it hears
//! another node, opens a TCP connection to that node's echo port and logs
//! `nettest: peer A.B.C.D answered over TCP` once it got its bytes back (the
//! node with the lower address greets; the other logs `heard peer`).
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

    fn ip(a: u32) -> alloc::string::String {
        format!("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)
    }

    /// Wait for a netstack change or `ms` milliseconds.
    fn wait(ms: u64) {
        let c = rt::clock_info().unwrap();
        let _ = rt::timer_set(c.tsc_to_ns(rt::rdtsc()) + ms * 1_000_000);
        let mut b = [0u8; 64];
        let _ = rt::ipc_recv(&mut b);
    }

    /// TCP to a peer's echo port and back.
    fn greet(net: &Netstack, peer: u32) -> bool {
        let Ok(s) = net.tcp() else { return false };
        if s.connect(peer, 7).is_err() || s.send(b"ping", None).is_err() {
            return false;
        }
        let mut got = Vec::new();
        while got.len() < 4 {
            match s.recv(16) {
                Ok((d, _, _)) if !d.is_empty() => got.extend_from_slice(&d),
                _ => return false,
            }
        }
        got == b"ping"
    }

    fn main(boot: rt::Boot) -> ! {
        let lan = sion_abi::boot::cmdline_value(boot.cmdline, "nettest.lan") == Some("1");
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
        let (me, _, _) = net.info().unwrap_or((0, 0, 0));
        let beacon = net.udp().expect("udp");
        beacon.bind(0, 9999).expect("bind 9999");
        let mut greeted: Vec<u32> = Vec::new();
        let clock = rt::clock_info().unwrap();
        let mut next_beacon = 0u64;
        let mut conns: Vec<Conn> = Vec::new();
        loop {
            let mut progress = false;
            if lan {
                let now = clock.tsc_to_ns(rt::rdtsc());
                if now >= next_beacon {
                    let _ = beacon.try_send(format!("sion-nettest {}", ip(me)).as_bytes(), Some((0xffff_ffff, 9999)));
                    next_beacon = now + 500_000_000;
                }
                while let Ok((_, from, _)) = beacon.try_recv(256) {
                    if from != me && !greeted.contains(&from) {
                        greeted.push(from);
                        // Only the lower address greets: two nodes greeting each
                        // other from this single-threaded loop would each wait
                        // for the other's echo.
                        if from < me {
                            rt::log!("nettest: heard peer {}", ip(from));
                        } else if greet(&net, from) {
                            rt::log!("nettest: peer {} answered over TCP", ip(from));
                        } else {
                            rt::log!("nettest: peer {} heard but TCP failed", ip(from));
                            greeted.pop();
                        }
                    }
                }
            }
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
                if lan {
                    wait(100);
                } else {
                    wait_for_change();
                }
            }
        }
    }
}
