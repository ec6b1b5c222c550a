//! What one run of an LTP test says, and the rule that turns it into a
//! verdict (docs/testing.md, "LTP").
//!
//! LTP reports in two places: a result line per check (`file.c:12: TPASS: ...`
//! from the new library, `name  1  TPASS  :  ...` from the old one) and, at
//! the end, the library's summary (`passed N`, `failed N`, `broken N`,
//! `skipped N`, `warnings N`) with an exit status that is 0 only when nothing
//! failed or broke. The summary lives in a MAP_SHARED file mapping that the
//! test's forked children write into; where that mapping is not shared across
//! fork (SiON today) the summary reads zeros and the exit status is 0 whatever
//! the children found. So both are read, and the larger count of each kind
//! wins.

use crate::util::Outcome;

/// Counts of each kind of result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pass: u32,
    pub fail: u32,
    pub brok: u32,
    pub conf: u32,
    pub warn: u32,
}

impl Counts {
    fn max(self, o: Counts) -> Counts {
        Counts {
            pass: self.pass.max(o.pass),
            fail: self.fail.max(o.fail),
            brok: self.brok.max(o.brok),
            conf: self.conf.max(o.conf),
            warn: self.warn.max(o.warn),
        }
    }
}

/// What a test printed: its result lines and LTP's summary, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Result lines counted by kind.
    pub lines: Counts,
    /// LTP's closing summary, when the test printed one.
    pub summary: Option<Counts>,
    /// The first TFAIL, TBROK or TWARN line, and the first TCONF line (for reasons).
    pub first_bad: Option<String>,
    pub first_conf: Option<String>,
}

/// The kind of a result line: the first of its first three words (trailing
/// `:` removed) that names a kind. The new library writes `file.c:12: TPASS:
/// msg`, the old one `name  1  TPASS  :  msg`; `TINFO` and `TDEBUG` lines
/// count as nothing, whatever their message says.
fn line_kind(line: &str) -> Option<&'static str> {
    for w in line.split_whitespace().take(3) {
        return match w.trim_end_matches(':') {
            "TPASS" => Some("TPASS"),
            "TFAIL" => Some("TFAIL"),
            "TBROK" => Some("TBROK"),
            "TCONF" => Some("TCONF"),
            "TWARN" => Some("TWARN"),
            "TINFO" | "TDEBUG" => None,
            _ => continue,
        };
    }
    None
}

/// Read a test's stdout and stderr.
pub fn parse(stdout: &[u8], stderr: &[u8]) -> Report {
    let mut r = Report::default();
    let mut summary = Counts::default();
    let mut summary_fields = 0;
    for text in [String::from_utf8_lossy(stdout), String::from_utf8_lossy(stderr)] {
        let mut in_summary = false;
        for line in text.lines() {
            if line.trim() == "Summary:" {
                in_summary = true;
                continue;
            }
            match line_kind(line) {
                Some("TPASS") => r.lines.pass += 1,
                Some("TCONF") => {
                    r.lines.conf += 1;
                    r.first_conf.get_or_insert_with(|| line.trim().to_string());
                }
                Some(k) => {
                    match k {
                        "TFAIL" => r.lines.fail += 1,
                        "TBROK" => r.lines.brok += 1,
                        _ => r.lines.warn += 1,
                    }
                    r.first_bad.get_or_insert_with(|| line.trim().to_string());
                }
                None if in_summary => {
                    let mut w = line.split_whitespace();
                    let (Some(key), Some(n), None) = (w.next(), w.next().and_then(|n| n.parse::<u32>().ok()), w.next()) else { continue };
                    let field = match key {
                        "passed" => &mut summary.pass,
                        "failed" => &mut summary.fail,
                        "broken" => &mut summary.brok,
                        "skipped" => &mut summary.conf,
                        "warnings" => &mut summary.warn,
                        _ => continue,
                    };
                    *field = n;
                    summary_fields += 1;
                }
                None => {}
            }
        }
    }
    if summary_fields >= 5 {
        r.summary = Some(summary);
    }
    r
}

/// A run's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Run {
    /// No TFAIL, TBROK or TWARN, exit status 0, and at least one TPASS (or,
    /// from the old library, which prints no summary, nothing at all).
    Pass(u32),
    /// Nothing tested: only TCONF, exit status 0 or 32 (LTP's TCONF).
    Conf,
    /// Anything else; the short reason (`TFAIL 2`, `timeout 150s`, `exit 125`).
    Fail(String),
}

impl Run {
    pub fn passed(&self) -> bool {
        matches!(self, Run::Pass(_))
    }

    /// For the table: `pass`, `conf`, `TFAIL 1`, `timeout 150s`...
    pub fn short(&self) -> String {
        match self {
            Run::Pass(_) => "pass".into(),
            Run::Conf => "conf".into(),
            Run::Fail(s) => s.clone(),
        }
    }
}

/// LTP's exit status when a test only reported TCONF.
const EXIT_TCONF: i32 = 32;

/// The rule (docs/testing.md): counts from the result lines and the summary,
/// whichever is larger, and the exit status.
pub fn judge(outcome: &Outcome, report: &Report) -> Run {
    let code = match outcome {
        Outcome::Exited(c) => *c,
        Outcome::Signaled(s) => return Run::Fail(format!("signal {s}")),
        Outcome::TimedOut(t) => return Run::Fail(format!("timeout {t}s")),
        Outcome::NotRun(_) => return Run::Fail("not run".into()),
    };
    let c = report.summary.map_or(report.lines, |s| s.max(report.lines));
    let mut bad = Vec::new();
    for (n, what) in [(c.fail, "TFAIL"), (c.brok, "TBROK"), (c.warn, "TWARN")] {
        if n > 0 {
            bad.push(format!("{what} {n}"));
        }
    }
    if !bad.is_empty() {
        return Run::Fail(bad.join(" "));
    }
    match code {
        0 if c.pass > 0 => Run::Pass(c.pass),
        0 | EXIT_TCONF if c.conf > 0 => Run::Conf,
        // The old library prints failures only and no summary: its exit
        // status (no shared page involved) is the verdict.
        0 if report.summary.is_none() => Run::Pass(0),
        0 | EXIT_TCONF => Run::Fail("no result".into()),
        c => Run::Fail(format!("exit {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW_LIB_PASS: &str = "tst_test.c:1900: TINFO: LTP version: 20250930\n\
        tst_test.c:1904: TINFO: Tested kernel: 6.1.0\n\
        dup201.c:44: TPASS: dup2(1001, 5) : EBADF (9)\n\
        dup201.c:44: TPASS: dup2(5, -1) : EBADF (9)\n\
        \n\
        Summary:\n\
        passed   2\n\
        failed   0\n\
        broken   0\n\
        skipped  0\n\
        warnings 0\n";

    #[test]
    fn new_library_pass() {
        let r = parse(b"", NEW_LIB_PASS.as_bytes());
        assert_eq!(r.lines, Counts { pass: 2, ..Default::default() });
        assert_eq!(r.summary, Some(Counts { pass: 2, ..Default::default() }));
        assert_eq!(judge(&Outcome::Exited(0), &r), Run::Pass(2));
    }

    #[test]
    fn old_library_lines() {
        let out = "fcntl01     1  TPASS  :  Test passed\nfcntl01     2  TFAIL  :  fcntl01.c:80: it broke\n";
        let r = parse(out.as_bytes(), b"");
        assert_eq!(r.lines, Counts { pass: 1, fail: 1, ..Default::default() });
        assert_eq!(r.summary, None);
        assert_eq!(r.first_bad.as_deref(), Some("fcntl01     2  TFAIL  :  fcntl01.c:80: it broke"));
        assert_eq!(judge(&Outcome::Exited(1), &r), Run::Fail("TFAIL 1".into()));
    }

    #[test]
    fn lost_summary_still_fails_on_result_lines() {
        // SiON today: the child's TFAIL is printed, the parent's summary reads zeros and it exits 0.
        let err = "x.c:10: TFAIL: read() returned 3\n\nSummary:\npassed   0\nfailed   0\nbroken   0\nskipped  0\nwarnings 0\n";
        let r = parse(b"", err.as_bytes());
        assert_eq!(r.summary, Some(Counts::default()));
        assert_eq!(judge(&Outcome::Exited(0), &r), Run::Fail("TFAIL 1".into()));
        // And passes still count when only the lines carry them.
        let r = parse(b"", b"x.c:10: TPASS: ok\n\nSummary:\npassed   0\nfailed   0\nbroken   0\nskipped  0\nwarnings 0\n");
        assert_eq!(judge(&Outcome::Exited(0), &r), Run::Pass(1));
    }

    #[test]
    fn only_tconf_is_conf_and_exit_status_counts() {
        let r = parse(b"", b"x.c:5: TCONF: not supported\n\nSummary:\npassed   0\nfailed   0\nbroken   0\nskipped  1\nwarnings 0\n");
        assert_eq!(judge(&Outcome::Exited(32), &r), Run::Conf);
        assert_eq!(r.first_conf.as_deref(), Some("x.c:5: TCONF: not supported"));
        let r = parse(b"", b"x.c:10: TPASS: ok\n");
        assert_eq!(judge(&Outcome::Exited(2), &r), Run::Fail("exit 2".into()));
        assert_eq!(judge(&Outcome::Signaled(9), &r), Run::Fail("signal 9".into()));
        assert_eq!(judge(&Outcome::TimedOut(150), &r), Run::Fail("timeout 150s".into()));
        // The new library's summary with nothing reported is no pass...
        let r = parse(b"", b"\nSummary:\npassed   0\nfailed   0\nbroken   0\nskipped  0\nwarnings 0\n");
        assert_eq!(judge(&Outcome::Exited(0), &r), Run::Fail("no result".into()));
        // ...but the old library says nothing when all went well.
        let r = parse(b"fcntl01     0  TINFO  :  Using /tmp/LTP_fcnQVyLDj as tmpdir\n", b"");
        assert_eq!(judge(&Outcome::Exited(0), &r), Run::Pass(0));
        assert_eq!(judge(&Outcome::Exited(1), &r), Run::Fail("exit 1".into()));
    }

    #[test]
    fn words_later_in_a_line_are_not_results() {
        let r = parse(b"", b"x.c:3: TINFO: expecting TFAIL or TPASS here\nTBROK later: no\n");
        assert_eq!(r.lines, Counts { brok: 1, ..Default::default() });
        let r = parse(b"", b"x.c:3: TINFO: TFAIL is what the child said\n");
        assert_eq!(r.lines, Counts::default());
    }
}
