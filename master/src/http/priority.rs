//! The HTTP server's threads yield the CPU to the master's event loop.
//!
//! Serving `/state` of a large cluster is CPU-heavy off the master's loop
//! (a body of tens of MB rendered once per publication, then written to
//! every poller), and on a small machine those threads and the master's
//! share the cores: at 10,000 agents, ten pollers on two cores stretched
//! the master's ~30 ms publication to over 100 ms of wall time, and every
//! agent and framework waited behind it. Readers can wait; the agents'
//! pings and the frameworks' calls should not. So the server's threads
//! run at a lower priority (a higher nice value) than the master's.

/// How much nicer than the master the server's threads are: at 10 the
/// kernel gives a busy master about ten times their share of a core.
pub const NICER_BY: i32 = 10;

/// Lowers the calling thread's priority by [`NICER_BY`], once per thread;
/// threads it starts later inherit it. A failure is logged and ignored:
/// the server only runs as it did before.
pub fn yield_to_master() {
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's id; no
        // memory is shared with the kernel.
        let rc = unsafe {
            let tid = libc::gettid();
            let now = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, now + NICER_BY)
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            tracing::warn!(%e, "cannot lower the HTTP server's priority");
        }
    }
}
