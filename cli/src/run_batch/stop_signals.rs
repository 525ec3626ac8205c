//! SIGINT and SIGTERM as events rather than sudden death: blocked in every
//! thread and taken by one thread of their own with `sigwait`, so that
//! `corral execute` can tear its framework down before it exits.

use std::io;

/// SIGINT and SIGTERM, blocked in the thread that made this and in every
/// thread it starts afterwards.
pub struct StopSignals {
    set: libc::sigset_t,
}

impl StopSignals {
    /// Blocks SIGINT and SIGTERM. Call before starting any thread: a
    /// thread started earlier would still die of them. A signal the
    /// process was started ignoring (a shell's background job) stays
    /// ignored.
    pub fn block() -> io::Result<StopSignals> {
        // SAFETY: `set` is initialised by sigemptyset before any other use,
        // and the calls only read and write it and this thread's mask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(StopSignals { set })
        }
    }

    /// Calls `on` with each signal's number as it arrives, on a thread of
    /// its own, until `on` returns false.
    pub fn forward(self, mut on: impl FnMut(i32) -> bool + Send + 'static) -> io::Result<()> {
        let set = self.set;
        std::thread::Builder::new()
            .name("stop-signals".to_owned())
            .spawn(move || loop {
                let mut signal = 0;
                // SAFETY: `set` is a valid, initialised signal set.
                let rc = unsafe { libc::sigwait(&set, &mut signal) };
                if rc != 0 || !on(signal) {
                    return;
                }
            })?;
        Ok(())
    }
}
