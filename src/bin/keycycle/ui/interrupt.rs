//! Ctrl-C during a command that records its progress (the ceremony): the
//! first one is noted — a prompt returns at once, work in progress
//! finishes its step — and the command stops, saying where; a second one
//! stops the process at once.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: async-signal-safe calls: back to the default, then again.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::raise(libc::SIGINT);
        }
    }
}

/// Note Ctrl-C instead of dying of it, for the rest of the process.
pub fn catch() {
    // SAFETY: installs a handler that only touches an atomic (and, the
    // second time, restores the default disposition).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

/// Whether Ctrl-C was pressed (only known after [`catch`]).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Note an interruption seen another way (a prompt read Ctrl-C).
pub(super) fn note() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}
