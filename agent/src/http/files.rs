//! Reading sandbox files for the HTTP files API, confined to the agent's
//! work directory.
//!
//! A path from a request is relative to the work directory. It is refused
//! if it is absolute, has a `..` component or a NUL byte, and — since tasks
//! write their sandboxes and can plant symlinks there — if its canonical
//! path (every symlink resolved) is not inside the work directory's
//! canonical path. The opened file's own path is checked again through
//! `/proc/self/fd`, so a symlink swapped in between the check and the open
//! is caught too.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// The most bytes one `read` returns (1 MiB); ask again with a larger
/// offset for more.
pub const MAX_READ_BYTES: u64 = 1024 * 1024;

/// The most entries one `browse` lists, sorted by name; sandboxes hold a
/// handful, so only a pathological directory is cut.
pub const MAX_BROWSE_ENTRIES: usize = 10_000;

/// Why a file request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The path is absolute; it must be relative to the work directory.
    #[error("path '{0}' is absolute; give it relative to the agent's work directory")]
    Absolute(String),
    /// The path has a `..` component.
    #[error("path '{0}' contains '..'; give it relative to the agent's work directory")]
    ParentDir(String),
    /// The path holds a NUL byte.
    #[error("path holds a NUL byte")]
    Nul,
    /// The path resolves (through symlinks) outside the work directory.
    #[error("path '{0}' leads outside the agent's work directory")]
    Escapes(String),
    /// The path is the agent's own checkpoint, not a sandbox.
    #[error("path '{0}' is the agent's checkpoint, not a sandbox")]
    Private(String),
    /// Nothing is there.
    #[error("no such file or directory: '{0}'")]
    NotFound(String),
    /// A file was asked for and the path is a directory.
    #[error("'{0}' is a directory")]
    IsDir(String),
    /// A directory was asked for and the path is not one.
    #[error("'{0}' is not a directory")]
    NotDir(String),
    /// The file system failed.
    #[error("cannot read '{path}': {reason}")]
    Io {
        /// The path asked for.
        path: String,
        /// What the OS said.
        reason: String,
    },
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its file name.
    pub name: String,
    /// Its path relative to the work directory (to browse or read it next).
    pub path: String,
    /// Its size in bytes (of the link itself, for a symlink).
    pub size: u64,
    /// Whether it is a directory (a symlink to one is not: links are not
    /// followed).
    pub is_dir: bool,
    /// When it was last modified, Unix ms (0 if unknown).
    pub mtime_ms: u64,
}

/// A piece of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The bytes read, as UTF-8 (invalid sequences, such as a character cut
    /// at the chunk's edge, become U+FFFD).
    pub data: String,
    /// Where in the file they start.
    pub offset: u64,
    /// How many bytes of the file they are (the next chunk starts at
    /// `offset + length`).
    pub length: u64,
}

/// The files under one agent's work directory.
#[derive(Clone, Debug)]
pub struct SandboxFiles {
    work_dir: PathBuf,
}

impl SandboxFiles {
    /// The files under `work_dir` (which need not exist yet: the agent
    /// creates it with the first sandbox).
    pub fn new(work_dir: PathBuf) -> SandboxFiles {
        SandboxFiles { work_dir }
    }

    /// The entries of directory `rel` (empty: the work directory itself),
    /// sorted by name.
    pub fn browse(&self, rel: &str) -> Result<Vec<Entry>, FileError> {
        let (root, dir) = self.resolve(rel)?;
        if !dir.is_dir() {
            return Err(FileError::NotDir(rel.to_owned()));
        }
        let io = |e: io::Error| io_error(rel, &e);
        let mut entries = Vec::new();
        for item in fs::read_dir(&dir).map_err(io)? {
            let item = item.map_err(io)?;
            let meta = item.metadata().map_err(io)?; // does not follow links
            let path = dir.join(item.file_name());
            entries.push(Entry {
                name: item.file_name().to_string_lossy().into_owned(),
                path: relative(&root, &path),
                size: meta.len(),
                is_dir: meta.is_dir(),
                mtime_ms: meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as u64),
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries.truncate(MAX_BROWSE_ENTRIES);
        Ok(entries)
    }

    /// Up to `length` bytes (default and cap [`MAX_READ_BYTES`]) of file
    /// `rel` from `offset`; past the end, no data.
    pub fn read(&self, rel: &str, offset: u64, length: Option<u64>) -> Result<Chunk, FileError> {
        let (mut file, size) = self.open(rel)?;
        let want = length.unwrap_or(MAX_READ_BYTES).min(MAX_READ_BYTES);
        let want = want.min(size.saturating_sub(offset));
        let mut buf = Vec::new();
        if want > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| io_error(rel, &e))?;
            file.take(want)
                .read_to_end(&mut buf)
                .map_err(|e| io_error(rel, &e))?;
        }
        Ok(Chunk {
            data: String::from_utf8_lossy(&buf).into_owned(),
            offset,
            length: buf.len() as u64,
        })
    }

    /// File `rel`, opened for reading, with its size.
    pub fn open(&self, rel: &str) -> Result<(File, u64), FileError> {
        let (root, path) = self.resolve(rel)?;
        if path.is_dir() {
            return Err(FileError::IsDir(rel.to_owned()));
        }
        let file = File::open(&path).map_err(|e| io_error(rel, &e))?;
        // The path checked above may have been swapped for a symlink since:
        // check where the open actually landed.
        if let Some(opened) = opened_path(&file) {
            if !opened.starts_with(&root) {
                return Err(FileError::Escapes(rel.to_owned()));
            }
        }
        let meta = file.metadata().map_err(|e| io_error(rel, &e))?;
        if meta.is_dir() {
            return Err(FileError::IsDir(rel.to_owned()));
        }
        Ok((file, meta.len()))
    }

    /// The canonical work directory and the canonical path of `rel` inside
    /// it, or why `rel` is refused.
    fn resolve(&self, rel: &str) -> Result<(PathBuf, PathBuf), FileError> {
        check_relative(rel)?;
        let root = fs::canonicalize(&self.work_dir).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => FileError::NotFound(rel.to_owned()),
            _ => io_error(rel, &e),
        })?;
        let path = fs::canonicalize(root.join(rel)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => FileError::NotFound(rel.to_owned()),
            _ => io_error(rel, &e),
        })?;
        if !path.starts_with(&root) {
            return Err(FileError::Escapes(rel.to_owned()));
        }
        if path.starts_with(root.join(crate::checkpoint::META_DIR)) {
            return Err(FileError::Private(rel.to_owned()));
        }
        Ok((root, path))
    }
}

/// Refuses absolute paths, `..` components and NUL bytes, before the file
/// system is touched.
pub fn check_relative(rel: &str) -> Result<(), FileError> {
    if rel.contains('\0') {
        return Err(FileError::Nul);
    }
    let path = Path::new(rel);
    if path.has_root() {
        return Err(FileError::Absolute(rel.to_owned()));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(FileError::ParentDir(rel.to_owned()));
    }
    Ok(())
}

/// `path` relative to `root`, as text.
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn io_error(rel: &str, e: &io::Error) -> FileError {
    FileError::Io {
        path: rel.to_owned(),
        reason: e.to_string(),
    }
}

/// Where an open file really is, from Linux's `/proc/self/fd`; None where
/// that is not available (the canonical-path check then stands alone).
fn opened_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A work dir with a sandbox file, and a secret outside it.
    fn setup(test: &str) -> (PathBuf, SandboxFiles) {
        let base = std::env::temp_dir().join(format!("corral-files-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let work = base.join("work");
        let sandbox = work.join("frameworks/fw/tasks/t");
        fs::create_dir_all(&sandbox).unwrap();
        fs::write(sandbox.join("stdout"), "hello\nworld\n").unwrap();
        fs::write(base.join("secret"), "do not show").unwrap();
        (base, SandboxFiles::new(work))
    }

    #[test]
    fn reads_a_sandbox_file_in_pieces() {
        let (_base, files) = setup("pieces");
        let rel = "frameworks/fw/tasks/t/stdout";
        let all = files.read(rel, 0, None).unwrap();
        assert_eq!(all.data, "hello\nworld\n");
        assert_eq!((all.offset, all.length), (0, 12));
        let part = files.read(rel, 6, Some(3)).unwrap();
        assert_eq!(part.data, "wor");
        let past = files.read(rel, 100, Some(5)).unwrap();
        assert_eq!((past.data.as_str(), past.offset, past.length), ("", 100, 0));
        let at_end = files.read(rel, 12, None).unwrap();
        assert_eq!(at_end.data, "");
        // "./" components are harmless.
        assert_eq!(
            files
                .read("./frameworks/fw/tasks/t/stdout", 0, Some(5))
                .unwrap()
                .data,
            "hello"
        );
    }

    #[test]
    fn browses_directories_sorted() {
        let (_base, files) = setup("browse");
        let top = files.browse("").unwrap();
        assert_eq!(top.len(), 1);
        assert_eq!((top[0].name.as_str(), top[0].is_dir), ("frameworks", true));
        let sandbox = files.browse("frameworks/fw/tasks/t").unwrap();
        assert_eq!(sandbox.len(), 1);
        assert_eq!(sandbox[0].path, "frameworks/fw/tasks/t/stdout");
        assert_eq!(sandbox[0].size, 12);
        assert!(!sandbox[0].is_dir);
        assert!(sandbox[0].mtime_ms > 0);
    }

    #[test]
    fn the_checkpoint_is_not_served() {
        let (base, files) = setup("private");
        let meta = base.join("work").join(crate::checkpoint::META_DIR);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("node.redb"), "state").unwrap();
        for rel in ["meta", "meta/node.redb", "frameworks/../meta/node.redb"] {
            let refused = files.read(rel, 0, None).is_err() && files.browse(rel).is_err();
            assert!(refused, "{rel}");
        }
        assert!(matches!(
            files.read("meta/node.redb", 0, None),
            Err(FileError::Private(_))
        ));
        // A symlink from a sandbox to the checkpoint does not reach it either.
        let sandbox = base.join("work/frameworks/fw/tasks/t");
        std::os::unix::fs::symlink(meta.join("node.redb"), sandbox.join("peek")).unwrap();
        assert!(matches!(
            files.read("frameworks/fw/tasks/t/peek", 0, None),
            Err(FileError::Private(_))
        ));
    }

    #[test]
    fn traversal_is_refused() {
        let (base, files) = setup("traversal");
        let secret = base.join("secret");
        assert!(matches!(
            files.read("../secret", 0, None),
            Err(FileError::ParentDir(_))
        ));
        assert!(matches!(
            files.read("frameworks/../../secret", 0, None),
            Err(FileError::ParentDir(_))
        ));
        let abs = secret.display().to_string();
        assert!(matches!(
            files.read(&abs, 0, None),
            Err(FileError::Absolute(_))
        ));
        assert!(matches!(files.read("a\0b", 0, None), Err(FileError::Nul)));
        // A symlink a task planted in its sandbox, to a file and to a dir.
        let sandbox = base.join("work/frameworks/fw/tasks/t");
        std::os::unix::fs::symlink(&secret, sandbox.join("link")).unwrap();
        std::os::unix::fs::symlink(&base, sandbox.join("dirlink")).unwrap();
        for rel in [
            "frameworks/fw/tasks/t/link",
            "frameworks/fw/tasks/t/dirlink/secret",
        ] {
            assert!(
                matches!(files.read(rel, 0, None), Err(FileError::Escapes(_))),
                "{rel}"
            );
        }
        assert!(matches!(
            files.browse("frameworks/fw/tasks/t/dirlink"),
            Err(FileError::Escapes(_))
        ));
        // Listing shows the link without following it.
        let listed = files.browse("frameworks/fw/tasks/t").unwrap();
        let link = listed.iter().find(|e| e.name == "dirlink").unwrap();
        assert!(!link.is_dir);
    }

    #[test]
    fn wrong_kinds_and_missing_paths_say_so() {
        let (_base, files) = setup("kinds");
        assert!(matches!(
            files.read("frameworks", 0, None),
            Err(FileError::IsDir(_))
        ));
        assert!(matches!(
            files.browse("frameworks/fw/tasks/t/stdout"),
            Err(FileError::NotDir(_))
        ));
        assert!(matches!(
            files.read("nope", 0, None),
            Err(FileError::NotFound(_))
        ));
        let missing = SandboxFiles::new(PathBuf::from("/nonexistent/corral/work"));
        assert!(matches!(missing.browse(""), Err(FileError::NotFound(_))));
    }

    #[test]
    fn reads_are_capped() {
        let (base, files) = setup("cap");
        let big = vec![b'a'; (MAX_READ_BYTES + 10) as usize];
        fs::write(base.join("work/big"), big).unwrap();
        let chunk = files.read("big", 0, Some(u64::MAX)).unwrap();
        assert_eq!(chunk.length, MAX_READ_BYTES);
        let rest = files.read("big", MAX_READ_BYTES, None).unwrap();
        assert_eq!(rest.length, 10);
    }
}
