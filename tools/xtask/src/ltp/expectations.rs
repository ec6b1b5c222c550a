//! `tools/ltp/expectations.txt`: the LTP tests SiON is known to fail, one
//! per line, `TEST  reason`; `#` starts a comment (the file groups its lines
//! by cause under comment headers). A reason starting with `flaky:` accepts
//! either outcome (a test that fails only now and then on SiON).

use crate::util::{self, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn path() -> PathBuf {
    util::root().join("tools/ltp/expectations.txt")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub reason: String,
    /// 1-based line number, for messages.
    pub line: usize,
}

impl Known {
    pub fn flaky(&self) -> bool {
        self.reason.starts_with("flaky:")
    }
}

/// Test name -> why SiON fails it.
pub type Expectations = BTreeMap<String, Known>;

pub fn parse(text: &str) -> Result<Expectations> {
    let mut map = Expectations::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (name, reason) = line.split_once(char::is_whitespace).map_or((line, ""), |(n, r)| (n, r.trim()));
        if reason.is_empty() {
            return Err(format!("line {}: {name}: no reason (write `TEST  reason`)", i + 1));
        }
        if let Some(prev) = map.insert(name.to_string(), Known { reason: reason.to_string(), line: i + 1 }) {
            return Err(format!("line {}: {name} is listed twice (also line {})", i + 1, prev.line));
        }
    }
    Ok(map)
}

/// The repository's file; a missing file is an empty list.
pub fn load() -> Result<Expectations> {
    let p = path();
    match std::fs::read_to_string(&p) {
        Ok(text) => parse(&text).map_err(|e| format!("{}: {e}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Expectations::new()),
        Err(e) => Err(format!("{}: {e}", p.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_comments_and_groups() {
        let e =
            parse("# no block device\nrename01   needs mkfs and mount\n\nfork07  job limit  # 64 processes\nfutex_wait05 flaky: sleeps overshoot\n").unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e["rename01"], Known { reason: "needs mkfs and mount".into(), line: 2 });
        assert_eq!(e["fork07"].reason, "job limit");
        assert!(e["futex_wait05"].flaky());
        assert!(!e["fork07"].flaky());
    }

    #[test]
    fn refuses_duplicates_and_missing_reasons() {
        assert!(parse("a reason\na again\n").unwrap_err().contains("listed twice"));
        assert!(parse("lonely\n").unwrap_err().contains("no reason"));
    }

    #[test]
    fn the_repository_file_parses() {
        load().unwrap();
    }
}
