//! The boot job as the archive carries it: `job/argv`, `job/env`, `job/config`.

use alloc::string::String;
use alloc::vec::Vec;

/// Split a block of NUL-terminated strings (a missing last NUL is tolerated).
pub fn split_nul(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = bytes.split(|&b| b == 0).map(|s| s.to_vec()).collect();
    if bytes.last() == Some(&0) || bytes.is_empty() {
        v.pop();
    }
    v
}

/// `job/config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobConfig {
    /// The program's absolute path as the host saw it (`/proc/self/exe`, AT_EXECFN).
    pub exe: Option<String>,
    pub cwd: String,
    /// Whether stdin is a stream from the host (`stdin=stream`) or empty.
    pub stdin_stream: bool,
    pub uid: u32,
    pub gid: u32,
    /// Extra CSPRNG seed from the host.
    pub seed: Option<[u8; 32]>,
    pub mem_limit: Option<u64>,
    /// `--out` paths: absolute guest paths sent back to the host at the end.
    pub outs: Vec<String>,
    /// `trace=1` or `trace=counts` (see [`Trace`]).
    pub trace: Trace,
    /// `share=PATH`: paths of the workstation the job sees, on demand
    /// (`sion_abi::console::fs`): everything under them, and the
    /// directories on the way to them.
    pub shares: Vec<String>,
    /// `writeback=DIR`: what the job made or changed under DIR (its shared
    /// working directory) goes back to the workstation at the end.
    pub writeback: Option<String>,
    /// Lines not understood, for the log.
    pub unknown: Vec<String>,
}

/// What the personality tells the host of the system calls it answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trace {
    #[default]
    Off,
    /// `trace=1`: one `up::TRACE` line per call (`sion exec --trace`).
    Calls,
    /// `trace=counts`: at the job's end, one `up::TRACE` line per distinct
    /// call with how often it was made and answered ENOSYS (`sion exec
    /// --trace-counts`; cheap enough for every LTP run).
    Counts,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig { exe: None, cwd: "/".into(), stdin_stream: false, uid: 0, gid: 0, seed: None, mem_limit: None, outs: Vec::new(), trace: Trace::Off, shares: Vec::new(), writeback: None, unknown: Vec::new() }
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (b[2 * i] as char).to_digit(16)?;
        let lo = (b[2 * i + 1] as char).to_digit(16)?;
        *o = (hi * 16 + lo) as u8;
    }
    Some(out)
}

impl JobConfig {
    pub fn parse(text: &str) -> JobConfig {
        let mut c = JobConfig::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some((k, v)) = line.split_once('=') else {
                c.unknown.push(line.into());
                continue;
            };
            let ok = match k.trim() {
                "exe" => {
                    c.exe = Some(v.into());
                    true
                }
                "cwd" => {
                    c.cwd = v.into();
                    true
                }
                "stdin" => {
                    c.stdin_stream = v == "stream";
                    v == "stream" || v == "none"
                }
                "uid" => v.parse().map(|x| c.uid = x).is_ok(),
                "gid" => v.parse().map(|x| c.gid = x).is_ok(),
                "seed" => hex32(v).map(|x| c.seed = Some(x)).is_some(),
                "mem_limit" => v.parse().map(|x| c.mem_limit = Some(x)).is_ok(),
                "trace" => {
                    c.trace = match v {
                        "1" => Trace::Calls,
                        "counts" => Trace::Counts,
                        _ => Trace::Off,
                    };
                    v == "1" || v == "0" || v == "counts"
                }
                "out" => {
                    c.outs.push(v.into());
                    v.starts_with('/')
                }
                "writeback" if v.starts_with('/') => {
                    c.writeback = Some(v.into());
                    true
                }
                "share" if v.starts_with('/') => {
                    c.shares.push(v.into());
                    true
                }
                _ => false,
            };
            if !ok {
                c.unknown.push(line.into());
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn nul_lists() {
        assert_eq!(split_nul(b"a\0bc\0\0"), [b"a".to_vec(), b"bc".to_vec(), vec![]]);
        assert_eq!(split_nul(b"a\0b"), [b"a".to_vec(), b"b".to_vec()]);
        assert!(split_nul(b"").is_empty());
    }

    #[test]
    fn config() {
        let seed = "00".repeat(31) + "ff";
        let c = JobConfig::parse(&alloc::format!("exe=/home/u/a.out\ncwd=/tmp\nstdin=stream\nuid=1000\ngid=100\nseed={seed}\nout=/tmp/r\nbogus\nx=1\n"));
        assert_eq!(c.outs, ["/tmp/r"]);
        assert_eq!(c.exe.as_deref(), Some("/home/u/a.out"));
        assert_eq!(c.cwd, "/tmp");
        assert!(c.stdin_stream);
        assert_eq!((c.uid, c.gid), (1000, 100));
        assert_eq!(c.seed.unwrap()[31], 0xff);
        assert_eq!(c.unknown, ["bogus", "x=1"]);
        let d = JobConfig::parse("");
        assert_eq!(d, JobConfig::default());
        assert!(JobConfig::parse("seed=zz").unknown.len() == 1);
        assert!(JobConfig::parse("trace=1").trace == Trace::Calls && c.trace == Trace::Off);
        assert_eq!(JobConfig::parse("trace=0").trace, Trace::Off);
        assert_eq!(JobConfig::parse("trace=counts").trace, Trace::Counts);
    }
}
