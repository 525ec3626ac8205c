//! Reading the machine: what an agent offers when the operator gives no
//! `--resources`, and its host name.
//!
//! These functions read files, the file system and the OS, so they belong
//! to the binary edge (`corral agent`, `corral local`): call them before
//! starting the actor and put the result in [`AgentConfig`](crate::AgentConfig).
//! The actor never calls them; in simulation the machine is whatever the
//! test says.

// Resource detection is the binary's edge: it reads the machine before the
// agent's actor starts.
#![allow(clippy::disallowed_methods)]

use std::ffi::CString;
use std::path::{Path, PathBuf};

use corral_api::resources::{RangeSet, Resources};

use crate::error::AgentError;

/// Memory kept for the OS and the agent: at most this much, MB (Mesos: 1 GiB).
const MEM_RESERVE_MAX_MB: u64 = 1024;
/// Disk kept for the OS and logs: at most this much, MB (Mesos: 5 GiB).
const DISK_RESERVE_MAX_MB: u64 = 5 * 1024;
/// Mesos's default port range.
const PORTS: (u64, u64) = (31_000, 32_000);

/// Detects what this machine can offer, the way Mesos's agent does when no
/// `--resources` are given:
///
/// - `cpus`: the available parallelism;
/// - `mem`: total memory (`/proc/meminfo`) minus min(1 GiB, half), in MB;
/// - `disk`: free space of `work_dir`'s file system (of its nearest existing
///   ancestor if it does not exist yet) minus min(5 GiB, half), in MB;
/// - `ports`: `[31000-32000]`.
///
/// Reads the machine: call it from binaries only, never from the actor.
pub fn detect_resources(work_dir: &Path) -> Result<Resources, AgentError> {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .map_err(|e| detect_error("cpus", e))?;
    let mem_mb = after_reserve(total_memory_mb()?, MEM_RESERVE_MAX_MB);
    let disk_mb = after_reserve(free_disk_mb(work_dir)?, DISK_RESERVE_MAX_MB);
    let ports = RangeSet::from_pairs([PORTS]).ok_or_else(|| detect_error("ports", "bad range"))?;
    Resources::scalar("cpus", cpus as f64)
        .and_then(|r| r.with_scalar("mem", mem_mb as f64))
        .and_then(|r| r.with_scalar("disk", disk_mb as f64))
        .and_then(|r| r.with_ranges("ports", ports))
        .map_err(|e| detect_error("resources", e))
}

/// This machine's host name (`gethostname`), or `localhost` when it has none
/// that reads as UTF-8. Reads the machine: binaries only.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes at
    // most that many and `name_or_localhost` reads only up to the first NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    name_or_localhost((rc == 0).then_some(&buf[..]))
}

/// The host name in a NUL-terminated `gethostname` buffer (`None`: the call
/// failed), trimmed; `localhost` when there is none that reads as UTF-8, so
/// an agent always registers under some name.
fn name_or_localhost(buf: Option<&[u8]>) -> String {
    let name = buf.and_then(|buf| {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        std::str::from_utf8(&buf[..end]).ok()
    });
    match name.map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => "localhost".to_owned(),
    }
}

/// What is left after keeping min(`reserve_max`, half) back.
fn after_reserve(total: u64, reserve_max: u64) -> u64 {
    total - reserve_max.min(total / 2)
}

fn detect_error(what: &'static str, reason: impl std::fmt::Display) -> AgentError {
    AgentError::Detect {
        what,
        reason: reason.to_string(),
    }
}

/// `MemTotal` from `/proc/meminfo`, in MB.
fn total_memory_mb() -> Result<u64, AgentError> {
    let text = std::fs::read_to_string("/proc/meminfo").map_err(|e| detect_error("mem", e))?;
    parse_meminfo_total_kb(&text)
        .map(|kb| kb / 1024)
        .ok_or_else(|| detect_error("mem", "/proc/meminfo has no MemTotal line"))
}

/// The `MemTotal:  N kB` value of a `/proc/meminfo` text.
fn parse_meminfo_total_kb(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Free space (for unprivileged users) of the file system holding `dir`, MB.
fn free_disk_mb(dir: &Path) -> Result<u64, AgentError> {
    let space = disk_space(dir).map_err(|e| detect_error("disk", e))?;
    Ok(space.available_bytes / (1024 * 1024))
}

/// The size of a file system and what is left of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DiskSpace {
    /// Its size.
    pub total_bytes: u64,
    /// Not used by any file.
    pub free_bytes: u64,
    /// What unprivileged users may still write.
    pub available_bytes: u64,
}

impl DiskSpace {
    /// The used fraction, 0 to 1 (Mesos's measure for sandbox collection).
    pub fn usage(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        let used = self.total_bytes.saturating_sub(self.free_bytes);
        used as f64 / self.total_bytes as f64
    }
}

/// The file system holding `dir` (or its nearest existing ancestor).
pub(crate) fn disk_space(dir: &Path) -> Result<DiskSpace, String> {
    let existing =
        nearest_existing(dir).ok_or_else(|| format!("no part of {} exists", dir.display()))?;
    let c_path =
        CString::new(existing.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: statvfs is plain old data; zeroed is a valid value for it.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is a NUL-terminated string and `stat` a valid out
    // pointer, both alive for the call.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(format!("statvfs {}: {err}", existing.display()));
    }
    let bytes = |blocks| {
        let b = u128::from(blocks) * u128::from(stat.f_frsize);
        u64::try_from(b).unwrap_or(u64::MAX)
    };
    Ok(DiskSpace {
        total_bytes: bytes(stat.f_blocks),
        free_bytes: bytes(stat.f_bfree),
        available_bytes: bytes(stat.f_bavail),
    })
}

/// `dir` itself or its nearest ancestor that exists.
fn nearest_existing(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|p| p.exists()).map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detected_resources_are_positive_and_have_the_mesos_ports() {
        let dir = std::env::temp_dir().join("corral-agent-detect/does/not/exist");
        let r = detect_resources(&dir).unwrap();
        assert!(r.cpus() >= 1.0, "{r}");
        assert!(r.mem_mb() > 0.0, "{r}");
        assert!(r.get("disk") > 0.0, "{r}");
        assert_eq!(
            r.ranges("ports"),
            RangeSet::from_pairs([(31_000, 32_000)]).unwrap()
        );
    }

    #[test]
    fn reserves_take_at_most_half() {
        assert_eq!(after_reserve(16_384, 1024), 15_360);
        assert_eq!(after_reserve(1000, 1024), 500);
        assert_eq!(after_reserve(1, 1024), 1);
        assert_eq!(after_reserve(0, 1024), 0);
    }

    #[test]
    fn meminfo_total_is_read_in_kb() {
        let text = "MemTotal:       16318712 kB\nMemFree:         1000 kB\n";
        assert_eq!(parse_meminfo_total_kb(text), Some(16_318_712));
        assert_eq!(parse_meminfo_total_kb("MemFree: 1 kB"), None);
    }

    #[test]
    fn the_name_ends_at_the_first_nul_and_is_trimmed() {
        assert_eq!(name_or_localhost(Some(b"node-7\0\0\0")), "node-7");
        assert_eq!(name_or_localhost(Some(b" node-7 \0junk")), "node-7");
        // Truncated without a NUL: all of it.
        assert_eq!(name_or_localhost(Some(b"node-7")), "node-7");
    }

    #[test]
    fn no_usable_name_falls_back_to_localhost() {
        assert_eq!(name_or_localhost(None), "localhost");
        assert_eq!(name_or_localhost(Some(b"\0node-7")), "localhost");
        assert_eq!(name_or_localhost(Some(b"  \t\0")), "localhost");
        assert_eq!(name_or_localhost(Some(b"\xff\xfe\0")), "localhost");
    }

    #[test]
    fn hostname_is_the_kernels_host_name() {
        // Linux publishes the same UTS name gethostname reads (with a
        // newline, which trimming drops).
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(hostname(), name_or_localhost(Some(kernel.as_bytes())));
    }
}
