//! Real OS processes for the node's actors: the node host's side of
//! [`ProcessRequest`].
//!
//! Each launch runs `/bin/sh -c <command>` as the leader of a new process
//! group, so a signal reaches the command and everything it started. A task on
//! the event loop waits for the leader and hands its end to the kernel with
//! [`Kernel::handle_process_exit`](crate::Kernel::handle_process_exit), then
//! wakes the loop; a launch that fails is reported the same way, as
//! [`ExitStatus::FailedToStart`].
//!
//! # Reaping under actix-rt
//! actix-rt runs a tokio current-thread runtime built with `enable_all()`, so
//! with tokio's `process` feature the runtime has its process driver. On Linux
//! 5.3+ tokio waits on a pidfd registered with the I/O driver; elsewhere it
//! falls back to a `SIGCHLD` handler (the signal driver, also part of that
//! runtime). Either way `Child::wait` completes on this loop with no thread of
//! our own.
//!
//! # Shutdown
//! Processes outlive the node: shutting the node down drops the waiting tasks
//! without killing anything (an agent's tasks must survive an agent restart).
//! Their exits are then never reported; tokio keeps the dropped children in
//! its orphan queue, and once this OS process exits they are re-parented to
//! init (or the nearest subreaper), which reaps them.

use std::fs::OpenOptions;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Stdio;
use std::rc::Rc;

use super::host::Host;
use crate::process::{ExitStatus, ProcessId, ProcessRequest, ProcessSpec, Signal};

/// Carries out one request of the kernel. Call with the kernel not borrowed.
pub(crate) fn handle(host: &Rc<Host>, req: ProcessRequest) {
    match req {
        ProcessRequest::Launch { id, spec } => launch(host, id, &spec),
        ProcessRequest::Signal { id, signal } => send_signal(host, id, signal),
    }
}

fn launch(host: &Rc<Host>, id: ProcessId, spec: &ProcessSpec) {
    let spawned = command(spec).and_then(|mut cmd| cmd.spawn().map_err(|e| e.to_string()));
    let mut child = match spawned {
        Ok(child) => child,
        Err(message) => {
            tracing::debug!(?id, %message, "process failed to start");
            report_exit(host, id, ExitStatus::FailedToStart(message));
            return;
        }
    };
    // A child not yet waited for always has its pid.
    let pgid = child.id().expect("a fresh child has a pid");
    let previous = host.processes.borrow_mut().insert(id, pgid);
    assert!(previous.is_none(), "process {id:?} launched twice");
    tracing::debug!(?id, pgid, "process started");
    let host = host.clone();
    actix_rt::spawn(async move {
        let status = match child.wait().await {
            Ok(status) => exit_status(status),
            // Only when someone else reaped our child (ECHILD).
            Err(e) => ExitStatus::FailedToStart(format!("lost track of the process: {e}")),
        };
        // Forget the pid in the same poll that reaped it, before the OS can
        // reuse it, so a later signal cannot hit a stranger.
        host.processes.borrow_mut().remove(&id);
        tracing::debug!(?id, ?status, "process ended");
        report_exit(&host, id, status);
    });
}

fn report_exit(host: &Host, id: ProcessId, status: ExitStatus) {
    host.kernel.borrow_mut().handle_process_exit(id, status);
    host.wake.notify_one();
}

fn send_signal(host: &Host, id: ProcessId, signal: Signal) {
    // Absent: it already ended (or never started); nothing to signal.
    let Some(pgid) = host.processes.borrow().get(&id).copied() else {
        return;
    };
    if let Err(e) = kill_group(pgid, signal.number()) {
        // ESRCH: the whole group is gone and the exit is on its way.
        tracing::debug!(?id, pgid, error = %e, "signal not delivered");
    }
}

/// Sends `signal` to every process of group `pgid`.
fn kill_group(pgid: u32, signal: i32) -> std::io::Result<()> {
    let pgid = i32::try_from(pgid).map_err(|_| std::io::Error::other("pid out of range"))?;
    assert!(pgid > 1, "refusing to signal process group {pgid}");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a
    // negative pid names the group, and `pgid > 1` rules out the broadcast
    // forms (0: our own group, -1: every process we may signal).
    let rc = unsafe { libc::kill(-pgid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The command for `spec`: a shell in a process group of its own, with only
/// the spec's environment (plus the node's `PATH` unless the spec sets one).
fn command(spec: &ProcessSpec) -> Result<tokio::process::Command, String> {
    // Created first: an agent's sandbox is the working directory that also
    // holds the stdout and stderr files opened below.
    let user = match &spec.user {
        Some(name) => Some(switch_to(name)?),
        None => None,
    };
    if let Some(cwd) = &spec.cwd {
        std::fs::create_dir_all(cwd)
            .map_err(|e| format!("cannot create {}: {e}", cwd.display()))?;
        give(cwd, user.as_ref())?;
    }
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&spec.command)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(output(spec.stdout.as_deref(), user.as_ref())?)
        .stderr(output(spec.stderr.as_deref(), user.as_ref())?)
        .process_group(0);
    if !spec.env.iter().any(|(k, _)| k == "PATH") {
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
    }
    if let Some(u) = &user {
        for (key, value) in [
            ("HOME", u.home.as_str()),
            ("USER", &u.name),
            ("LOGNAME", &u.name),
        ] {
            if !spec.env.iter().any(|(k, _)| k == key) {
                cmd.env(key, value);
            }
        }
        // std drops root's supplementary groups before it switches.
        cmd.uid(u.uid).gid(u.gid);
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    Ok(tokio::process::Command::from(cmd))
}

/// Appends to `path` (created if missing, and made `user`'s), or discards
/// without one.
fn output(path: Option<&Path>, user: Option<&User>) -> Result<Stdio, String> {
    let Some(path) = path else {
        return Ok(Stdio::null());
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    give(path, user)?;
    Ok(file.into())
}

/// An OS user a process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
struct User {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

/// The user `name`, if this host may run processes as it: root may run as
/// anyone, any other user only as itself.
fn switch_to(name: &str) -> Result<User, String> {
    let user = lookup(name)?.ok_or_else(|| format!("no user {name:?} on this machine"))?;
    // SAFETY: geteuid(2) takes nothing and cannot fail.
    let me = unsafe { libc::geteuid() };
    if me != 0 && me != user.uid {
        return Err(format!(
            "cannot run as user {name:?}: the agent runs as uid {me}, not root \
             (run it as root, or with --switch-user false)"
        ));
    }
    Ok(user)
}

/// The uid and primary gid of host user `name` in the user database
/// (passwd, LDAP, ...); None when there is no such user. For a process
/// that starts others as that user by other means than this host (an
/// executor that runs containers through the Docker daemon).
pub fn user_ids(name: &str) -> Result<Option<(u32, u32)>, String> {
    Ok(lookup(name)?.map(|u| (u.uid, u.gid)))
}

/// Looks `name` up in the user database (passwd, LDAP, ...).
fn lookup(name: &str) -> Result<Option<User>, String> {
    let c_name = std::ffi::CString::new(name).map_err(|_| format!("bad user name {name:?}"))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain data that getpwnam_r fills in.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call: the name is a NUL-ended
    // C string, `pwd` and `found` are ours, and `buf` is as long as said.
    // The strings `pwd` points to live in `buf`, read below while it lives.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 {
        return Err(format!(
            "cannot look up user {name:?}: {}",
            std::io::Error::from_raw_os_error(rc)
        ));
    }
    if found.is_null() {
        return Ok(None);
    }
    let home = if pwd.pw_dir.is_null() {
        String::from("/")
    } else {
        // SAFETY: a non-null pw_dir is a NUL-ended string inside `buf`.
        unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) }
            .to_string_lossy()
            .into_owned()
    };
    Ok(Some(User {
        name: name.to_owned(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home,
    }))
}

/// Makes `path` `user`'s (nothing without a user).
fn give(path: &Path, user: Option<&User>) -> Result<(), String> {
    let Some(u) = user else {
        return Ok(());
    };
    std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))
        .map_err(|e| format!("cannot give {} to user {:?}: {e}", path.display(), u.name))
}

fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus::Exited(code),
        (None, Some(signal)) => ExitStatus::Signaled(signal),
        // wait(2) without WUNTRACED reports only exits and deaths by signal;
        // this is the OS's answer, so no panic on the loop over it.
        (None, None) => ExitStatus::Exited(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_looked_up_and_unknown_ones_are_an_error_in_words() {
        let root = lookup("root").unwrap().expect("every machine has root");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(lookup("no-such-user-corral").unwrap(), None);
        let e = switch_to("no-such-user-corral").unwrap_err();
        assert_eq!(e, "no user \"no-such-user-corral\" on this machine");
    }

    #[test]
    fn wait_statuses_map_to_exits_and_signals() {
        // Raw wait(2) statuses: the code in bits 8..16, the signal in 0..7.
        assert_eq!(
            exit_status(std::process::ExitStatus::from_raw(3 << 8)),
            ExitStatus::Exited(3)
        );
        assert_eq!(
            exit_status(std::process::ExitStatus::from_raw(9)),
            ExitStatus::Signaled(9)
        );
    }
}
