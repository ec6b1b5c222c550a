//! A stage of `cargo xtask test`: the implemented set in syscall-coverage's
//! JSON report is exactly the personality's dispatch tables (number, name and
//! complete/partial status of every entry, for both ABIs).

use crate::util;
use serde_json::Value;
use sion_linux::syscalls::table::{Status, I386, X86_64};

/// Runs `syscall-coverage --format json` and checks it; the stage's result.
pub fn run() -> String {
    let mut cmd = util::cargo();
    cmd.args(["run", "-q", "-p", "syscall-coverage", "--", "--format", "json"]).current_dir(util::root());
    tracing::debug!("$ {}", util::show(&cmd));
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => return format!("FAILED: cannot run syscall-coverage: {e}"),
    };
    if !out.status.success() {
        return format!("FAILED: syscall-coverage: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    match serde_json::from_slice::<Value>(&out.stdout).map_err(|e| e.to_string()).and_then(|v| check(&v)) {
        Ok(s) => s,
        Err(e) => format!("FAILED: {e}"),
    }
}

/// Compares the report with the tables.
pub fn check(report: &Value) -> Result<String, String> {
    let mut summary = Vec::new();
    for (abi, table) in [("x86_64", X86_64), ("i386", I386)] {
        let calls = report["abis"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["abi"] == abi))
            .and_then(|x| x["calls"].as_array())
            .ok_or(format!("no {abi} calls in the report"))?;
        let got: Vec<(u64, String, String)> = calls
            .iter()
            .filter(|c| c["status"] != "absent")
            .map(|c| (c["nr"].as_u64().unwrap_or(u64::MAX), c["name"].as_str().unwrap_or("").to_string(), c["status"].as_str().unwrap_or("").to_string()))
            .collect();
        let want: Vec<(u64, String, String)> = table
            .iter()
            .map(|e| {
                let st = match e.status {
                    Status::Complete => "complete",
                    Status::Partial(_) => "partial",
                };
                (e.nr as u64, e.name.to_string(), st.to_string())
            })
            .collect();
        if got != want {
            let extra: Vec<_> = got.iter().filter(|x| !want.contains(x)).collect();
            let lacking: Vec<_> = want.iter().filter(|x| !got.contains(x)).collect();
            return Err(format!("{abi}: the report differs from the dispatch table: extra {extra:?}, lacking {lacking:?}"));
        }
        summary.push(format!("{abi} {}", want.len()));
    }
    Ok(format!("ok (implemented = dispatch tables: {})", summary.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_that_strays_from_the_tables_fails() {
        let calls = |t: &[sion_linux::syscalls::Entry]| -> Value {
            t.iter().map(|e| serde_json::json!({"nr": e.nr, "name": e.name, "status": if e.status == Status::Complete { "complete" } else { "partial" }})).collect()
        };
        let mut r = serde_json::json!({"abis": [{"abi": "x86_64", "calls": calls(X86_64)}, {"abi": "i386", "calls": calls(I386)}]});
        assert!(check(&r).unwrap().starts_with("ok"));
        r["abis"][1]["calls"].as_array_mut().unwrap().push(serde_json::json!({"nr": 9999, "name": "bogus", "status": "complete"}));
        assert!(check(&r).unwrap_err().contains("bogus"));
        r["abis"][1]["calls"].as_array_mut().unwrap().pop();
        r["abis"][0]["calls"].as_array_mut().unwrap().remove(0);
        assert!(check(&r).unwrap_err().contains("lacking"));
    }
}
