//! Threads: several tasks sharing one process (its memory, descriptors and
//! signal actions). What each thread has of its own is a [`Thread`]; the
//! thread being served has its state in the [`Process`] fields themselves
//! (so every call is written once, for "the calling thread"), the others
//! are parked in [`Process::threads`] and swapped in when they call.

use super::{Pending, Process};
use sion_abi::msg::LinuxSyscall;

/// A thread's own state while another thread of its process is served.
#[derive(Debug)]
pub struct Thread {
    pub tid: u32,
    /// Its kernel task (the process table swaps it with the running one).
    pub task: u64,
    pub pending: Option<Pending>,
    pub last_call: LinuxSyscall,
    pub partial_write: u64,
    pub raise: Option<u8>,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub mask: u64,
    /// Signals sent to this thread alone (tkill, tgkill).
    pub private: u64,
    pub altstack: (u64, u32, u64),
    pub suspend_mask: Option<u64>,
}

impl Thread {
    /// A new thread `tid` running as `task`, with the signal mask of its creator.
    pub fn new(tid: u32, task: u64, mask: u64, clear_child_tid: u64) -> Thread {
        Thread {
            tid,
            task,
            pending: None,
            last_call: LinuxSyscall::default(),
            partial_write: 0,
            raise: None,
            clear_child_tid,
            robust_list: (0, 0),
            mask,
            private: 0,
            altstack: (0, crate::signal::SS_DISABLE, 0),
            suspend_mask: None,
        }
    }
}

impl Process {
    /// Exchange the served thread's state with `t`'s (the task stays with
    /// the caller, who keeps the served thread's task).
    pub fn swap_thread(&mut self, t: &mut Thread) {
        use core::mem::swap;
        swap(&mut self.tid, &mut t.tid);
        swap(&mut self.pending, &mut t.pending);
        swap(&mut self.last_call, &mut t.last_call);
        swap(&mut self.partial_write, &mut t.partial_write);
        swap(&mut self.raise, &mut t.raise);
        swap(&mut self.clear_child_tid, &mut t.clear_child_tid);
        swap(&mut self.robust_list, &mut t.robust_list);
        swap(&mut self.sig.mask, &mut t.mask);
        swap(&mut self.sig.private, &mut t.private);
        swap(&mut self.sig.altstack, &mut t.altstack);
        swap(&mut self.sig.suspend_mask, &mut t.suspend_mask);
    }

    /// Threads in the process (the served one and the parked ones).
    pub fn thread_count(&self) -> usize {
        1 + self.threads.len()
    }

    /// Is `tid` one of this process's threads?
    pub fn has_thread(&self, tid: u32) -> bool {
        self.tid == tid || self.threads.iter().any(|t| t.tid == tid)
    }

    /// The pending call of thread `tid`, served or parked.
    pub fn pending_of(&mut self, tid: u32) -> Option<&mut Option<Pending>> {
        if self.tid == tid {
            return Some(&mut self.pending);
        }
        self.threads.iter_mut().find(|t| t.tid == tid).map(|t| &mut t.pending)
    }

    /// (tid, pending call) of every thread, the served one first.
    pub fn pendings(&self) -> impl Iterator<Item = (u32, Option<&Pending>)> + '_ {
        core::iter::once((self.tid, self.pending.as_ref())).chain(self.threads.iter().map(|t| (t.tid, t.pending.as_ref())))
    }

    /// (tid, signal mask, thread-directed pending signals) of every thread.
    pub fn masks(&self) -> impl Iterator<Item = (u32, u64, u64)> + '_ {
        core::iter::once((self.tid, self.sig.mask, self.sig.private)).chain(self.threads.iter().map(|t| (t.tid, t.mask, t.private)))
    }

    /// A thread that can run a handler for a pending signal now; with
    /// `blocked`, only one waiting in a call (the others see it at their next call).
    pub fn taker(&self, blocked: bool) -> Option<u32> {
        self.masks().zip(self.pendings()).find(|((_, mask, private), (_, p))| (!blocked || p.is_some()) && self.sig.deliverable_to(*mask, *private).is_some()).map(|((tid, _, _), _)| tid)
    }

    /// Add a thread-directed signal to thread `tid`.
    pub fn add_private(&mut self, tid: u32, sig: u8) {
        let b = crate::signal::bit(sig);
        if self.tid == tid {
            self.sig.private |= b;
        } else if let Some(t) = self.threads.iter_mut().find(|t| t.tid == tid) {
            t.private |= b;
        }
    }
}
