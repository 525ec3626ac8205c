//! Sandboxes: one directory per task under the agent's work directory, with
//! the executor's (and task's) stdout and stderr files inside.
//!
//! Layout: `{work_dir}/frameworks/{framework_id}/tasks/{task_id}`, and for a
//! framework's own executor, shared by its tasks,
//! `{work_dir}/frameworks/{framework_id}/executors/{executor_id}`. Ids become
//! path components, so the agent refuses (TASK_ERROR) any id that
//! [`safe_id`] rejects: no id can name `..`, hold a `/`, or otherwise escape
//! the work directory. The master validates ids too; this is the agent's own
//! guard.

use std::path::{Path, PathBuf};

/// The work directory's folder of every framework's sandboxes.
pub const FRAMEWORKS_DIR: &str = "frameworks";

/// A framework's folder of its command tasks' sandboxes.
pub const TASKS_DIR: &str = "tasks";

/// A framework's folder of its own executors' sandboxes.
pub const EXECUTORS_DIR: &str = "executors";

/// The longest id accepted as a path component, in bytes (a common file
/// name limit).
pub const MAX_ID_BYTES: usize = 255;

/// Where one task's files live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sandbox {
    /// The task's directory (the executor's working directory).
    pub dir: PathBuf,
    /// The executor's standard output.
    pub stdout: PathBuf,
    /// The executor's standard error.
    pub stderr: PathBuf,
}

impl Sandbox {
    /// The sandbox of `task_id` of `framework_id`, or None if either id is
    /// not [`safe_id`].
    pub fn new(work_dir: &Path, framework_id: &str, task_id: &str) -> Option<Sandbox> {
        Sandbox::under(work_dir, framework_id, TASKS_DIR, task_id)
    }

    /// The sandbox of custom executor `executor_id` of `framework_id`, or
    /// None if either id is not [`safe_id`].
    pub fn of_executor(work_dir: &Path, framework_id: &str, executor_id: &str) -> Option<Sandbox> {
        Sandbox::under(work_dir, framework_id, EXECUTORS_DIR, executor_id)
    }

    fn under(work_dir: &Path, framework_id: &str, kind: &str, id: &str) -> Option<Sandbox> {
        if !safe_id(framework_id) || !safe_id(id) {
            return None;
        }
        let dir = work_dir
            .join(FRAMEWORKS_DIR)
            .join(framework_id)
            .join(kind)
            .join(id);
        Some(Sandbox {
            stdout: dir.join("stdout"),
            stderr: dir.join("stderr"),
            dir,
        })
    }
}

/// Whether `id` can be used as one path component: 1 to 255 bytes of
/// `[A-Za-z0-9._-]`, and neither `.` nor `..`.
pub fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids_are_plain_names() {
        for ok in ["a", "task-1", "web.2_x", "...", ".hidden", &"x".repeat(255)] {
            assert!(safe_id(ok), "{ok:?}");
        }
        let long = "x".repeat(256);
        for bad in [
            "", ".", "..", "../x", "a/b", "/abs", "a b", "a\0b", "ä", "a\\b", &long,
        ] {
            assert!(!safe_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn sandboxes_nest_under_the_work_dir() {
        let s = Sandbox::new(Path::new("/w"), "fw-1", "t.1").unwrap();
        assert_eq!(s.dir, PathBuf::from("/w/frameworks/fw-1/tasks/t.1"));
        assert_eq!(
            s.stdout,
            PathBuf::from("/w/frameworks/fw-1/tasks/t.1/stdout")
        );
        assert_eq!(
            s.stderr,
            PathBuf::from("/w/frameworks/fw-1/tasks/t.1/stderr")
        );
        assert!(s.dir.starts_with("/w"));
        assert_eq!(Sandbox::new(Path::new("/w"), "fw", ".."), None);
        assert_eq!(Sandbox::new(Path::new("/w"), "../fw", "t"), None);
    }
}
