//! The group on a test LAN: `sion up -n 3` (three SiON nodes in QEMU on a
//! bridge in a network namespace, and a workstation daemon), then the group
//! as `sion nodes --json` shows it: every member alive with the status
//! vector it measured, with no configuration but the shared key; then
//! `sion down`. Needs root, like the test LAN.

use crate::util::{self, Outcome, Result};
use std::process::Command;
use std::time::Duration;

pub struct Group {
    pub members: usize,
    pub nodes: usize,
    pub summary: String,
}

fn sion(args: &[&str], timeout: u64) -> util::Captured {
    let mut c = Command::new(util::sion_binary());
    c.args(args);
    util::capture(&mut c, None, Duration::from_secs(timeout))
}

pub fn run() -> Result<Group> {
    let key = util::target_dir().join("group-tests/test-group.key");
    std::fs::create_dir_all(key.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(&key, "3c".repeat(32)).map_err(|e| e.to_string())?;
    // A group left over from an interrupted run would make `up` refuse.
    let _ = sion(&["down"], 30);
    let key_arg = key.to_string_lossy().into_owned();
    let up = sion(&["up", "-n", "3", "--mem", "128M,192M,256M", "--key-file", &key_arg, "--wait", "90"], 150);
    let result = (|| {
        if up.outcome != Outcome::Exited(0) {
            return Err(format!("sion up: {} {}", up.outcome.short(), String::from_utf8_lossy(&up.stderr).lines().last().unwrap_or("")));
        }
        let nodes = sion(&["nodes", "--json"], 30);
        let text = String::from_utf8_lossy(&nodes.stdout).into_owned();
        let members: Vec<&str> = text.lines().filter(|l| l.contains("\"id\"")).collect();
        let alive = members.iter().filter(|l| l.contains("\"state\":\"alive\"")).count();
        let sion_nodes: Vec<&&str> = members.iter().filter(|l| l.contains("\"workstation\":false")).collect();
        if alive != 4 || sion_nodes.len() != 3 {
            return Err(format!("expected 4 alive members (3 SiON nodes): {text}"));
        }
        // Each node reports what it measured: memory near its size, a CPU speed.
        for l in &sion_nodes {
            if l.contains("\"cpu_speed\":0,") || l.contains("\"total_mem_mib\":0,") {
                return Err(format!("a node reported no measurements: {l}"));
            }
        }
        Ok(Group { members: members.len(), nodes: sion_nodes.len(), summary: String::new() })
    })();
    let down = sion(&["down"], 30);
    let mut g = result?;
    if down.outcome != Outcome::Exited(0) {
        return Err(format!("sion down: {}", String::from_utf8_lossy(&down.stderr).trim()));
    }
    g.summary = format!("sion up -n 3: {} members alive ({} SiON nodes + this workstation) with their measured status; sion down", g.members, g.nodes);
    Ok(g)
}
