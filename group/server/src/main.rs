//! The group manager of a SiON node: the same protocol core as `sion daemon`
//! on a workstation (`sion-group`), fed from a UDP socket of the netstack.
//! The node finds the group by broadcast, takes part in SWIM liveness, and
//! keeps its status vector (CPUs, load per CPU, memory, CPU speed) current.
//!
//! The group key comes from the kernel command line (`group.key=<64 hex>`,
//! put there by the tool that composed the image); without one the node does
//! not join, since it could prove nothing and should accept nothing.
//!
//! Offloaded jobs arrive over TCP on the same port (`jobs`): each runs in a
//! personality server of its own that this server starts and serves as its
//! console.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![forbid(unsafe_code)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("sion-group-server runs on SiON: build it with --target x86_64-unknown-none");
}

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod jobs;

#[cfg(target_os = "none")]
mod server {
    use alloc::format;
    use alloc::string::String;
    use sion_abi::boot::cmdline_value;
    use crate::jobs::Jobs;
    use sion_abi::call::ClockInfo;
    use sion_abi::msg::{Fault, Header, Kind};
    use sion_group::{Addr, Admission, Config, Event, Key, Node, NodeId, Status};
    use sion_rt as rt;
    use sion_rt::net::Netstack;

    sion_rt::entry!(main);

    const PORT: u16 = 7470;
    const STATUS_EVERY_MS: u64 = 2_000;

    fn parse_key(hex: &str) -> Option<Key> {
        if hex.len() != 64 {
            return None;
        }
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(Key(k))
    }

    fn ms(clock: &ClockInfo) -> u64 {
        // Wall-clock ms: the protocol's replay check compares timestamps across members.
        (clock.realtime_at_boot_ns + clock.tsc_to_ns(rt::rdtsc())) / 1_000_000
    }

    /// Arm the timer for `deadline_ms` (wall clock).
    fn arm(clock: &ClockInfo, deadline_ms: u64) {
        let now = ms(clock);
        let delta_ns = deadline_ms.saturating_sub(now).max(1) * 1_000_000;
        let _ = rt::timer_set(clock.tsc_to_ns(rt::rdtsc()) + delta_ns);
    }

    fn sleep_until(clock: &ClockInfo, deadline_ms: u64) {
        arm(clock, deadline_ms);
        let mut b = [0u8; 64];
        let _ = rt::ipc_recv(&mut b);
    }

    /// The workload `sion daemon` measures too (tools/sion/src/group/sysinfo.rs):
    /// xorshift rounds per second of one CPU, in millions.
    fn cpu_speed(clock: &ClockInfo) -> u32 {
        let mut best = 0u64;
        for _ in 0..3 {
            let start = rt::rdtsc();
            let limit = start + clock.tsc_hz / 50; // 20 ms
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            let mut n = 0u64;
            while rt::rdtsc() < limit {
                for _ in 0..10_000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                }
                n += 10_000;
            }
            core::hint::black_box(x);
            let ns = clock.tsc_to_ns(clock.tsc_at_boot + (rt::rdtsc() - start)).max(1);
            best = best.max(n * 1_000_000_000 / ns);
        }
        (best / 1_000_000) as u32
    }

    /// The CPUs the kernel has online (at least 1).
    fn online_cpus() -> u16 {
        rt::sys_info().map(|i| i.cpus.clamp(1, u16::MAX as u64) as u16).unwrap_or(1)
    }

    /// CPU load (permille of all CPUs) since the last sample, from the
    /// kernel's idle time (summed over its CPUs).
    struct Load {
        last_uptime: u64,
        last_idle: u64,
    }

    impl Load {
        fn sample(&mut self, cpus: u16) -> u16 {
            let Ok(i) = rt::sys_info() else { return 0 };
            let (du, di) = (i.uptime_ns.saturating_sub(self.last_uptime), i.idle_ns.saturating_sub(self.last_idle));
            self.last_uptime = i.uptime_ns;
            self.last_idle = i.idle_ns;
            sion_group::status::measured_load(du, di, cpus)
        }
    }

    fn status(name: &str, speed: u32, cpus: u16, load: u16, version: u32, jobs: &Jobs) -> Status {
        let i = rt::sys_info().unwrap_or_default();
        Status {
            version,
            cpu_load: load,
            ncpus: cpus,
            cpu_speed: speed,
            free_mem_mib: ((i.free_frames * 4096) >> 20) as u32,
            total_mem_mib: ((i.total_frames * 4096) >> 20) as u32,
            net_mbps: 0,
            jobs: jobs.running() as u16,
            accepting: jobs.can_run(),
            workstation: false,
            name: String::from(name),
        }
    }

    fn ip_str(ip: [u8; 4]) -> String {
        format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
    }

    fn main(boot: rt::Boot) -> ! {
        let clock = rt::clock_info().expect("clock");
        let Some(key) = cmdline_value(boot.cmdline, "group.key").and_then(parse_key) else {
            rt::log!("group: no group key on the command line (group.key=<64 hex>): not joining");
            loop {
                sleep_until(&clock, u64::MAX / 2);
            }
        };
        let net = Netstack::find().expect("no netstack server");
        let (addr, prefix) = loop {
            match net.info() {
                Ok((a, p, _)) if a != 0 => break (a, p),
                _ => sleep_until(&clock, ms(&clock) + 100),
            }
        };
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let me = Addr { ip: addr.to_be_bytes(), port: PORT };
        let brd = Addr { ip: (addr | !mask).to_be_bytes(), port: PORT };
        let mut seed = [0u8; 8];
        let _ = rt::hw_random(&mut seed);
        let seed = u64::from_le_bytes(seed) ^ rt::rdtsc();
        let id = NodeId(seed.rotate_left(17) ^ 0x5100_0000_0000_0000);
        let name = format!("sion-{}", ip_str(me.ip));
        let speed = cpu_speed(&clock);
        let cpus = online_cpus();
        let mut load = Load { last_uptime: 0, last_idle: 0 };
        load.sample(cpus);
        let mut version = 1;
        let mut jobs = Jobs::new(net, PORT, key.clone(), boot.archive);
        let mut cfg = Config::new(id, me, brd, key);
        // A job per CPU, and a few more time-shared: the node refuses by job
        // count and memory, and the requesters' ranking by load per CPU
        // spreads the work.
        cfg.admission = Admission::node(cpus);
        let mut node = Node::new(cfg, status(&name, speed, cpus, 0, version, &jobs), ms(&clock), seed);
        let udp = net.udp().expect("udp socket");
        udp.bind(0, PORT).expect("bind the group port");
        rt::log!("group: member {} at {}:{} (broadcast {}), {} CPUs, CPU speed {}", id, ip_str(me.ip), PORT, ip_str(brd.ip), cpus, speed);
        // Job stream nonces must never repeat; they need not be secret.
        let mut rng = sion_group::rng::Rng::new(seed ^ 0x6a6f_6273);
        let mut nonce = move || {
            let mut n = [0u8; 16];
            if rt::hw_random(&mut n).unwrap_or(0) < 16 {
                n[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
                n[8..].copy_from_slice(&(rng.next_u64() ^ rt::rdtsc()).to_le_bytes());
            }
            n
        };
        let mut next_status = ms(&clock) + STATUS_EVERY_MS;
        let mut running = 0;
        let mut buf = alloc::vec![0u8; Header::SIZE + 1 + sion_abi::console::MAX_PAYLOAD + 64];
        loop {
            let now = ms(&clock);
            while let Ok((data, from, port)) = udp.try_recv(2048) {
                node.handle_datagram(now, Addr { ip: from.to_be_bytes(), port }, &data);
            }
            jobs.pump(now, &mut nonce);
            for _ in 0..jobs.take_started() {
                node.job_started();
            }
            if now >= node.next_deadline() {
                node.tick(now);
            }
            if now >= next_status || jobs.running() != running {
                let changed = jobs.running() != running;
                running = jobs.running();
                let sampled = load.sample(cpus);
                // Right after a job starts or ends, the last window says
                // nothing of now: each running job keeps a CPU busy.
                let now_load = if changed { sion_group::status::jobs_load(running.min(u16::MAX as u32) as u16, cpus) } else { sampled };
                version += 1;
                node.set_status(status(&name, speed, cpus, now_load, version, &jobs));
                next_status = now + STATUS_EVERY_MS;
            }
            while let Some(t) = node.poll_transmit() {
                let _ = udp.try_send(&t.data, Some((u32::from_be_bytes(t.to.ip), t.to.port)));
            }
            while let Some(e) = node.poll_event() {
                match e {
                    Event::Up { id, addr } => rt::log!("group: {} up at {}", id, addr),
                    Event::Down { id, state } => rt::log!("group: {} {}", id, state.name()),
                    Event::Suspect { id, .. } => rt::log!("group: {} suspected", id),
                    Event::Refuted { incarnation } => rt::log!("group: refuted a suspicion (incarnation {})", incarnation),
                    Event::AllocRequested { from, verdict } => rt::log!("group: allocation request from {}: {:?}", from, verdict),
                    Event::Rejected { from, reason } => rt::log!("group: refused a datagram from {}: {}", from, reason.describe()),
                    Event::Placed { .. } => {}
                }
            }
            // Wait for the next deadline, a socket change or a console call.
            arm(&clock, node.next_deadline().min(next_status));
            let Ok(n) = rt::ipc_recv(&mut buf) else { continue };
            let Some(h) = Header::decode(&buf[..n]) else { continue };
            let payload = &buf[Header::SIZE..n];
            match h.kind() {
                Some(Kind::Native) => {
                    if !jobs.console_call(h.sender(), payload) {
                        let _ = rt::ipc_reply(h.sender(), &[]);
                    }
                }
                Some(Kind::Fault) => {
                    if !jobs.fault(h.sender(), Fault::decode(payload)) {
                        rt::log!("group: a fault message from task {:#x}, not a job's", h.sender().0);
                    }
                }
                // The timer or a socket change: the loop looks at everything.
                _ => {}
            }
        }
    }
}
