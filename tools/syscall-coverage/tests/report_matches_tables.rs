//! The implemented set in syscall-coverage's JSON report is exactly the
//! personality's dispatch tables: number, name and complete/partial status of
//! every entry, for both ABIs. (It runs with the host crates' `cargo test`;
//! xtask does not link the personality, whose vDSO needs what setup installs.)

use serde_json::Value;
use sion_linux::syscalls::table::{Status, I386, X86_64};
use sion_linux::syscalls::Entry;

/// Compares a report with the tables; a one-line summary or what differs.
fn check(report: &Value) -> Result<String, String> {
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
        let want: Vec<(u64, String, String)> = table.iter().map(|e| (e.nr as u64, e.name.to_string(), status(e).to_string())).collect();
        if got != want {
            let extra: Vec<_> = got.iter().filter(|x| !want.contains(x)).collect();
            let lacking: Vec<_> = want.iter().filter(|x| !got.contains(x)).collect();
            return Err(format!("{abi}: the report differs from the dispatch table: extra {extra:?}, lacking {lacking:?}"));
        }
        summary.push(format!("{abi} {}", want.len()));
    }
    Ok(format!("implemented = dispatch tables: {}", summary.join(", ")))
}

fn status(e: &Entry) -> &'static str {
    match e.status {
        Status::Complete => "complete",
        Status::Partial(_) => "partial",
    }
}

#[test]
fn the_json_report_lists_exactly_the_dispatch_tables() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syscall-coverage")).args(["--format", "json"]).output().expect("run syscall-coverage");
    assert!(out.status.success(), "syscall-coverage failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("the report is JSON");
    let summary = check(&report).unwrap();
    assert!(summary.contains("x86_64") && summary.contains("i386"), "{summary}");
}

#[test]
fn a_report_that_strays_from_the_tables_fails() {
    let calls = |t: &[Entry]| -> Value { t.iter().map(|e| serde_json::json!({"nr": e.nr, "name": e.name, "status": status(e)})).collect() };
    let mut r = serde_json::json!({"abis": [{"abi": "x86_64", "calls": calls(X86_64)}, {"abi": "i386", "calls": calls(I386)}]});
    assert!(check(&r).is_ok());
    r["abis"][1]["calls"].as_array_mut().unwrap().push(serde_json::json!({"nr": 9999, "name": "bogus", "status": "complete"}));
    assert!(check(&r).unwrap_err().contains("bogus"));
    r["abis"][1]["calls"].as_array_mut().unwrap().pop();
    r["abis"][0]["calls"].as_array_mut().unwrap().remove(0);
    assert!(check(&r).unwrap_err().contains("lacking"));
}
