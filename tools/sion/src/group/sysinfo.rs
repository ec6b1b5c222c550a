//! The workstation's status vector, from /proc and a short measurement.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

/// The real user id (owner of /proc/self).
pub fn uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0)
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "linux".into())
}

pub fn ncpus() -> u16 {
    std::thread::available_parallelism().map(|n| n.get() as u16).unwrap_or(1)
}

/// 1-minute load average over the CPUs, in permille of the whole machine.
pub fn cpu_load(ncpus: u16) -> u16 {
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0.0);
    ((load / ncpus.max(1) as f64) * 1000.0).clamp(0.0, 65535.0) as u16
}

/// (MemAvailable, MemTotal) in MiB.
pub fn memory() -> (u32, u32) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kib| (kib / 1024) as u32)
            .unwrap_or(0)
    };
    (field("MemAvailable:"), field("MemTotal:"))
}

/// CPU speed of one CPU: millions of iterations per second of a fixed
/// integer loop (the same loop the SiON node server runs), best of 3 x 20 ms.
pub fn measure_cpu_speed() -> u32 {
    let mut best = 0u64;
    for _ in 0..3 {
        let start = Instant::now();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(20) {
            for _ in 0..10_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            n += 10_000;
        }
        std::hint::black_box(x);
        best = best.max(n * 1000 / start.elapsed().as_millis().max(1) as u64);
    }
    (best / 1_000_000) as u32
}

/// Link speed in Mbit/s of the interface holding `ip` (from sysfs; 0 if unknown).
/// The loopback has no link speed: it counts as 10 Gbit/s.
pub fn net_speed(ip: [u8; 4]) -> u32 {
    if ip[0] == 127 {
        return 10_000;
    }
    let Ok(out) = std::process::Command::new("ip").args(["-4", "-o", "addr", "show"]).output() else { return 0 };
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!("{}.{}.{}.{}/", ip[0], ip[1], ip[2], ip[3]);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 3 && f[3].starts_with(&want) {
            let dev = f[1];
            if let Ok(s) = std::fs::read_to_string(format!("/sys/class/net/{dev}/speed")) {
                if let Ok(v) = s.trim().parse::<i64>() {
                    return v.max(0) as u32;
                }
            }
        }
    }
    0
}

/// The first global IPv4 address and its broadcast address (`ip` tool), if any.
pub fn default_ipv4() -> Option<([u8; 4], Option<[u8; 4]>)> {
    let out = std::process::Command::new("ip").args(["-4", "-o", "addr", "show", "scope", "global"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?;
    let f: Vec<&str> = line.split_whitespace().collect();
    let parse = |s: &str| s.split('/').next()?.parse::<std::net::Ipv4Addr>().ok().map(|a| a.octets());
    let ip = parse(f.get(3)?)?;
    let brd = f.iter().position(|x| *x == "brd").and_then(|i| f.get(i + 1)).and_then(|s| parse(s));
    Some((ip, brd))
}

#[cfg(test)]
mod tests {
    #[test]
    fn readings_are_sane() {
        let n = super::ncpus();
        assert!(n >= 1);
        let (free, total) = super::memory();
        assert!(total > 0 && free <= total);
        assert!(super::measure_cpu_speed() > 0);
        assert_eq!(super::net_speed([127, 0, 0, 1]), 10_000);
    }
}
