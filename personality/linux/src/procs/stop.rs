//! Stop and continue (job control without a terminal): a stop signal holds
//! every task of the process off the CPU (the kernel's `task_hold`), SIGCONT
//! releases them; the parent hears of both through SIGCHLD (unless
//! SA_NOCLDSTOP) and wait4's WUNTRACED / WCONTINUED, or waitid.

use super::{Life, Procs};
use crate::host::Host;
use crate::signal::{self, SigInfo, SIGCHLD};

/// What a parent's wait can learn about a child that did not end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Report {
    Stopped(u8),
    Continued,
}

impl Report {
    /// The wait status (WIFSTOPPED with WSTOPSIG, or WIFCONTINUED).
    pub fn wait_status(self) -> u32 {
        match self {
            Report::Stopped(sig) => (sig as u32) << 8 | 0x7f,
            Report::Continued => 0xffff,
        }
    }

    /// SIGCHLD's (and waitid's) siginfo for child `pid`.
    pub fn info(self, pid: u32, uid: u32) -> SigInfo {
        let (code, status) = match self {
            Report::Stopped(sig) => (signal::CLD_STOPPED, sig as i32),
            Report::Continued => (signal::CLD_CONTINUED, signal::SIGCONT as i32),
        };
        SigInfo { signo: SIGCHLD, code, pid, uid, status: Some(status), ..Default::default() }
    }
}

impl Procs {
    /// A stop signal's default action.
    pub(super) fn stop(&mut self, h: &mut dyn Host, pid: u32, sig: u8) {
        match self.members.get_mut(&pid) {
            Some(m) if !m.stopped && matches!(m.life, Life::Running { .. }) => {
                m.stopped = true;
                m.report = Some(Report::Stopped(sig));
            }
            _ => return,
        }
        for t in self.tasks_of(pid) {
            h.task_hold(t, true);
        }
        // A pending SIGCONT is discarded by a stop.
        if let Some(p) = self.proc_mut(pid) {
            p.sig.pending &= !signal::bit(signal::SIGCONT);
        }
        self.tell_parent(h, pid, Report::Stopped(sig));
    }

    /// SIGCONT: a stopped process runs again.
    pub(super) fn resume(&mut self, h: &mut dyn Host, pid: u32) {
        match self.members.get_mut(&pid) {
            Some(m) if m.stopped => {
                m.stopped = false;
                m.report = Some(Report::Continued);
            }
            _ => return,
        }
        for t in self.tasks_of(pid) {
            h.task_hold(t, false);
        }
        // Pending stop signals are discarded by a continue.
        if let Some(p) = self.proc_mut(pid) {
            let stops = [signal::SIGSTOP, signal::SIGTSTP, signal::SIGTTIN, signal::SIGTTOU].iter().fold(0, |m, &s| m | signal::bit(s));
            p.sig.pending &= !stops;
        }
        // Handlers that waited while the process was held run now, in a
        // thread computing or blocked in a call alike.
        if self.proc_ref(pid).is_some_and(|p| p.taker(false).is_some()) {
            self.interrupt.push((pid, None));
        }
        self.tell_parent(h, pid, Report::Continued);
    }

    fn tell_parent(&mut self, h: &mut dyn Host, pid: u32, r: Report) {
        self.changed = true;
        let Some(ppid) = self.members.get(&pid).map(|m| m.ppid) else { return };
        let Some(parent) = self.proc_ref(ppid) else { return };
        if parent.sig.action(SIGCHLD).flags & signal::SA_NOCLDSTOP != 0 {
            return;
        }
        let uid = parent.uid;
        self.send(h, ppid, SIGCHLD, r.info(pid, uid));
    }

    /// A child of `pid` among those `sel` names with a stop (if `stopped`)
    /// or continue (if `continued`) to report.
    pub(super) fn reported(&self, pid: u32, sel: i32, stopped: bool, continued: bool) -> Option<(u32, Report)> {
        self.waitable(pid, sel).find_map(|(cpid, m)| match m.report {
            Some(r @ Report::Stopped(_)) if stopped => Some((cpid, r)),
            Some(r @ Report::Continued) if continued => Some((cpid, r)),
            _ => None,
        })
    }
}
