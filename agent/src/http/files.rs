//! Reading sandbox files for the HTTP files API, confined to the agent's
//! work directory.
//!
//! A path from a request is either absolute, naming a place inside the
//! work directory (as Mesos's tools give the `directory` of
//! `/slave(1)/state`), or relative to the work directory (Corral's own
//! form, as `/state`'s `sandbox` gives it). An absolute path elsewhere is
//! not found, as in Mesos, whose agent serves only what it attached. Any
//! path is refused if it has a `..` component or a NUL byte, and — since
//! tasks write their sandboxes and can plant symlinks there — if its
//! canonical path (every symlink resolved) is not inside the work
//! directory's canonical path. The opened file's own path is checked again
//! through `/proc/self/fd`, so a symlink swapped in between the check and
//! the open is caught too.
//!
//! Each call also takes who may read what (the `access_sandboxes` and
//! `access_mesos_logs` ACLs, decided by the caller): a gate asked about
//! the [`Owner`] of the path as written, before the disk is touched (so a
//! refused reader cannot tell which sandboxes exist), and again of the
//! canonical path and of the opened file, so that a symlink a task plants
//! to another framework's sandbox is decided as that framework's.

use std::collections::BTreeMap;
use std::fs::{self, File, FileType};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use corral_http::files::{read_span, Chunk, Span, MAX_READ_BYTES};

/// The most entries one `browse` lists, sorted by name; sandboxes hold a
/// handful, so only a pathological directory is cut.
pub const MAX_BROWSE_ENTRIES: usize = 10_000;

/// Why a file request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The path is absolute and not under the work directory.
    #[error("'{0}' is not under the agent's work directory")]
    Outside(String),
    /// The path has a `..` component.
    #[error("path '{0}' contains '..'")]
    ParentDir(String),
    /// The path holds a NUL byte.
    #[error("path holds a NUL byte")]
    Nul,
    /// The path resolves (through symlinks) outside the work directory.
    #[error("path '{0}' leads outside the agent's work directory")]
    Escapes(String),
    /// The reader may not read what the path names (the ACLs).
    #[error("the ACLs (access_sandboxes, access_mesos_logs) do not let this reader read '{0}'")]
    Denied(String),
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

/// One entry of a directory listing, Mesos's `FileInfo` as its
/// `/files/browse` writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path asked for joined with the entry's name: absolute if the
    /// request's was, else relative to the work directory (either way, to
    /// browse or read it next).
    pub path: String,
    /// Its number of hard links.
    pub nlink: u64,
    /// Its size in bytes (of the link itself, for a symlink).
    pub size: u64,
    /// When it was last modified, whole seconds since the epoch.
    pub mtime: i64,
    /// Its kind and permissions as `ls -l` writes them (`drwxr-xr-x`; a
    /// symlink is `l`, as links are not followed).
    pub mode: String,
    /// Its owner's user name (the number, if the name is not known).
    pub uid: String,
    /// Its group's name (the number, if the name is not known).
    pub gid: String,
}

/// Whose files a path is, for the ACLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner<'a> {
    /// The agent's own log ([`LOG_PATH`]).
    Log,
    /// Under `frameworks/ID`: the sandboxes of the framework of this id.
    Framework(&'a str),
    /// Above every framework's folder (the work directory, or its
    /// `frameworks` folder, which names the frameworks), or nobody's.
    Agent,
}

/// Whether the reader may read what an [`Owner`] owns.
pub type Gate<'g> = &'g dyn Fn(Owner<'_>) -> bool;

/// The owner of `rel`, a path relative to the work directory.
fn owner_of(rel: &Path) -> Owner<'_> {
    let mut parts = rel.components().filter(|c| *c != Component::CurDir);
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(top)), Some(Component::Normal(id)))
            if top == crate::sandbox::FRAMEWORKS_DIR =>
        {
            // Not UTF-8: not an id the agent made, so no framework's.
            id.to_str().map_or(Owner::Agent, Owner::Framework)
        }
        _ => Owner::Agent,
    }
}

/// The files under one agent's work directory.
#[derive(Clone, Debug)]
pub struct SandboxFiles {
    work_dir: PathBuf,
    /// The agent's own log, attached as [`LOG_PATH`].
    log_file: Option<PathBuf>,
}

/// Where the agent's log is attached, as Mesos's agent attaches its own.
pub const LOG_PATH: &str = "/slave/log";

impl SandboxFiles {
    /// The files under `work_dir`, an absolute path (which need not exist
    /// yet: the agent creates it with the first sandbox).
    pub fn new(work_dir: PathBuf) -> SandboxFiles {
        SandboxFiles {
            work_dir,
            log_file: None,
        }
    }

    /// These files, and the agent's log `file` (an absolute path) as
    /// [`LOG_PATH`].
    pub fn with_log(self, file: Option<PathBuf>) -> SandboxFiles {
        SandboxFiles {
            log_file: file,
            ..self
        }
    }

    /// The entries of directory `path` (empty: the work directory itself),
    /// sorted by name.
    pub fn browse(&self, path: &str, may: Gate<'_>) -> Result<Vec<Entry>, FileError> {
        let dir = self.resolve(path, may)?.real;
        if !dir.is_dir() {
            return Err(FileError::NotDir(path.to_owned()));
        }
        let io = |e: io::Error| io_error(path, &e);
        let users = Names::of("/etc/passwd");
        let groups = Names::of("/etc/group");
        let mut entries = Vec::new();
        for item in fs::read_dir(&dir).map_err(io)? {
            let item = item.map_err(io)?;
            let meta = item.metadata().map_err(io)?; // does not follow links
            let name = item.file_name().to_string_lossy().into_owned();
            entries.push(Entry {
                path: joined(path, &name),
                nlink: meta.nlink(),
                size: meta.len(),
                mtime: meta.mtime(),
                mode: mode_text(meta.file_type(), meta.mode()),
                uid: users.name(meta.uid()),
                gid: groups.name(meta.gid()),
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.truncate(MAX_BROWSE_ENTRIES);
        Ok(entries)
    }

    /// The `span` of file `path`.
    pub fn read(&self, path: &str, span: Span, may: Gate<'_>) -> Result<Chunk, FileError> {
        let (mut file, size) = self.open(path, may)?;
        read_span(&mut file, size, span).map_err(|e| io_error(path, &e))
    }

    /// File `path`, opened for reading, with its size.
    pub fn open(&self, path: &str, may: Gate<'_>) -> Result<(File, u64), FileError> {
        let found = self.resolve(path, may)?;
        if found.real.is_dir() {
            return Err(FileError::IsDir(path.to_owned()));
        }
        let file = File::open(&found.real).map_err(|e| io_error(path, &e))?;
        // The path checked above may have been swapped for a symlink since:
        // check where the open actually landed, and whose that is.
        if let Some(opened) = opened_path(&file) {
            let Ok(rel) = opened.strip_prefix(&found.root) else {
                return Err(FileError::Escapes(path.to_owned()));
            };
            if found.in_work_dir && !may(owner_of(rel)) {
                return Err(FileError::Denied(path.to_owned()));
            }
        }
        let meta = file.metadata().map_err(|e| io_error(path, &e))?;
        if meta.is_dir() {
            return Err(FileError::IsDir(path.to_owned()));
        }
        Ok((file, meta.len()))
    }

    /// Where `path` is, canonical, or why it is refused (`may` refusing
    /// its owner as written or as resolved among the reasons).
    fn resolve(&self, path: &str, may: Gate<'_>) -> Result<Resolved, FileError> {
        check_lexically(path)?;
        let denied = || FileError::Denied(path.to_owned());
        if let Some(log) = self.log_file.as_ref() {
            if path.trim_end_matches('/') == LOG_PATH {
                if !may(Owner::Log) {
                    return Err(denied());
                }
                return Ok(Resolved {
                    root: log.parent().unwrap_or(Path::new("/")).to_path_buf(),
                    real: log.clone(),
                    in_work_dir: false,
                });
            }
        }
        let not_found = |e: io::Error| match e.kind() {
            io::ErrorKind::NotFound => FileError::NotFound(path.to_owned()),
            _ => io_error(path, &e),
        };
        let root = fs::canonicalize(&self.work_dir).map_err(not_found)?;
        let rel = self.relative_part(path, &root)?;
        if !may(owner_of(rel)) {
            return Err(denied());
        }
        let real = fs::canonicalize(root.join(rel)).map_err(not_found)?;
        let Ok(real_rel) = real.strip_prefix(&root) else {
            return Err(FileError::Escapes(path.to_owned()));
        };
        if real_rel.starts_with(crate::checkpoint::META_DIR) {
            return Err(FileError::Private(path.to_owned()));
        }
        if !may(owner_of(real_rel)) {
            return Err(denied());
        }
        Ok(Resolved {
            root,
            real,
            in_work_dir: true,
        })
    }

    /// `path` relative to the work directory: as it is if relative; if
    /// absolute, what follows the work directory as configured or as
    /// canonical (`root`).
    fn relative_part<'p>(&self, path: &'p str, root: &Path) -> Result<&'p Path, FileError> {
        let p = Path::new(path);
        if !p.has_root() {
            return Ok(p);
        }
        p.strip_prefix(&self.work_dir)
            .or_else(|_| p.strip_prefix(root))
            .map_err(|_| FileError::Outside(path.to_owned()))
    }
}

/// A path a request may be served from.
struct Resolved {
    /// What it must stay under: the canonical work directory (or the log's
    /// directory).
    root: PathBuf,
    /// The path, canonical.
    real: PathBuf,
    /// Whether it is under the work directory (else it is the log).
    in_work_dir: bool,
}

/// Refuses `..` components and NUL bytes, before the file system is
/// touched.
pub fn check_lexically(path: &str) -> Result<(), FileError> {
    if path.contains('\0') {
        return Err(FileError::Nul);
    }
    if Path::new(path)
        .components()
        .any(|c| c == Component::ParentDir)
    {
        return Err(FileError::ParentDir(path.to_owned()));
    }
    Ok(())
}

/// `dir` (a request's path: empty for the work directory, maybe ending
/// in `/`) joined with `name`.
fn joined(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        return name.to_owned();
    }
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// `ls -l`'s ten characters for a file of `kind` with `mode` bits.
fn mode_text(kind: FileType, mode: u32) -> String {
    let first = if kind.is_dir() {
        'd'
    } else if kind.is_symlink() {
        'l'
    } else if kind.is_char_device() {
        'c'
    } else if kind.is_block_device() {
        'b'
    } else if kind.is_fifo() {
        'p'
    } else if kind.is_socket() {
        's'
    } else {
        '-'
    };
    let mut out = String::with_capacity(10);
    out.push(first);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

/// The name of user `uid` in `/etc/passwd` (the number, if it has none
/// there), as listings write owners.
pub fn user_name(uid: u32) -> String {
    Names::of("/etc/passwd").name(uid)
}

/// Names by number from a `name:x:number:...` file (`/etc/passwd`,
/// `/etc/group`). Users only a directory service knows (NSS) are written
/// as their numbers, as Mesos writes those it cannot look up.
struct Names(BTreeMap<u32, String>);

impl Names {
    fn of(file: &str) -> Names {
        let text = fs::read_to_string(file).unwrap_or_default();
        Names(parse_names(&text))
    }

    fn name(&self, id: u32) -> String {
        self.0.get(&id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// The first name given each number in `passwd`- or `group`-style text.
fn parse_names(text: &str) -> BTreeMap<u32, String> {
    let mut names = BTreeMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(id) = id.parse::<u32>() {
            names.entry(id).or_insert_with(|| name.to_owned());
        }
    }
    names
}

fn io_error(path: &str, e: &io::Error) -> FileError {
    FileError::Io {
        path: path.to_owned(),
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

    /// A gate that lets every reader read everything.
    const ANYONE: Gate<'static> = &|_| true;

    fn at(offset: u64, length: Option<u64>) -> Span {
        Span::Bytes { offset, length }
    }

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
        let all = files.read(rel, at(0, None), ANYONE).unwrap();
        assert_eq!(all.data, "hello\nworld\n");
        assert_eq!(all.offset, 0);
        let part = files.read(rel, at(6, Some(3)), ANYONE).unwrap();
        assert_eq!(part.data, "wor");
        let past = files.read(rel, at(100, Some(5)), ANYONE).unwrap();
        assert_eq!((past.data.as_str(), past.offset), ("", 100));
        let at_end = files.read(rel, at(12, None), ANYONE).unwrap();
        assert_eq!(at_end.data, "");
        let none = files.read(rel, at(3, Some(0)), ANYONE).unwrap();
        assert_eq!((none.data.as_str(), none.offset), ("", 3));
        // Mesos's offset=-1: the size, no data.
        let size = files.read(rel, Span::Size, ANYONE).unwrap();
        assert_eq!((size.data.as_str(), size.offset), ("", 12));
        // "./" components are harmless.
        assert_eq!(
            files
                .read("./frameworks/fw/tasks/t/stdout", at(0, Some(5)), ANYONE)
                .unwrap()
                .data,
            "hello"
        );
    }

    #[test]
    fn absolute_paths_inside_the_work_dir_are_served() {
        let (base, files) = setup("absolute");
        let sandbox = base.join("work/frameworks/fw/tasks/t");
        let stdout = sandbox.join("stdout").display().to_string();
        assert_eq!(
            files.read(&stdout, at(0, None), ANYONE).unwrap().data,
            "hello\nworld\n"
        );
        // Through the canonical path too (the temp dir may be a symlink).
        let real = fs::canonicalize(&stdout).unwrap().display().to_string();
        assert_eq!(files.read(&real, Span::Size, ANYONE).unwrap().offset, 12);
        let dir = sandbox.display().to_string();
        let listed = files.browse(&dir, ANYONE).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].path, stdout, "absolute in, absolute out");
        let listed = files.browse(&format!("{dir}/"), ANYONE).unwrap();
        assert_eq!(listed[0].path, stdout);
        // The work dir itself, absolute.
        let top = files
            .browse(&base.join("work").display().to_string(), ANYONE)
            .unwrap();
        assert_eq!(top.len(), 1);
        assert!(top[0].path.ends_with("/work/frameworks"), "{top:?}");
    }

    #[test]
    fn browses_directories_sorted() {
        let (base, files) = setup("browse");
        let top = files.browse("", ANYONE).unwrap();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].path, "frameworks");
        assert!(top[0].mode.starts_with('d'), "{:?}", top[0]);
        let sandbox = files.browse("frameworks/fw/tasks/t", ANYONE).unwrap();
        assert_eq!(sandbox.len(), 1);
        let stdout = &sandbox[0];
        assert_eq!(stdout.path, "frameworks/fw/tasks/t/stdout");
        assert_eq!((stdout.size, stdout.nlink), (12, 1));
        assert_eq!(stdout.mode.len(), 10);
        assert!(stdout.mode.starts_with("-rw"), "{stdout:?}");
        // Seconds, not milliseconds.
        let modified = fs::metadata(base.join("work/frameworks/fw/tasks/t/stdout"))
            .and_then(|m| m.modified())
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        assert_eq!(stdout.mtime, modified.as_secs() as i64);
        assert!(!stdout.uid.is_empty() && !stdout.gid.is_empty());
    }

    #[test]
    fn the_checkpoint_is_not_served() {
        let (base, files) = setup("private");
        let meta = base.join("work").join(crate::checkpoint::META_DIR);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("node.redb"), "state").unwrap();
        for rel in ["meta", "meta/node.redb", "frameworks/../meta/node.redb"] {
            let refused =
                files.read(rel, at(0, None), ANYONE).is_err() && files.browse(rel, ANYONE).is_err();
            assert!(refused, "{rel}");
        }
        assert!(matches!(
            files.read("meta/node.redb", at(0, None), ANYONE),
            Err(FileError::Private(_))
        ));
        // A symlink from a sandbox to the checkpoint does not reach it either.
        let sandbox = base.join("work/frameworks/fw/tasks/t");
        std::os::unix::fs::symlink(meta.join("node.redb"), sandbox.join("peek")).unwrap();
        assert!(matches!(
            files.read("frameworks/fw/tasks/t/peek", at(0, None), ANYONE),
            Err(FileError::Private(_))
        ));
    }

    #[test]
    fn traversal_is_refused() {
        let (base, files) = setup("traversal");
        let secret = base.join("secret");
        let work = base.join("work").display().to_string();
        for path in [
            "../secret".to_owned(),
            "frameworks/../../secret".to_owned(),
            format!("{work}/../secret"),
            format!("{work}/frameworks/../../secret"),
        ] {
            assert!(
                matches!(
                    files.read(&path, at(0, None), ANYONE),
                    Err(FileError::ParentDir(_))
                ),
                "{path}"
            );
        }
        // Absolute paths elsewhere are not there, as far as the agent says.
        let abs = secret.display().to_string();
        for path in [abs.as_str(), "/", "/etc/passwd", &format!("{work}x/y")] {
            assert!(
                matches!(
                    files.read(path, at(0, None), ANYONE),
                    Err(FileError::Outside(_))
                ),
                "{path}"
            );
            assert!(
                matches!(files.browse(path, ANYONE), Err(FileError::Outside(_))),
                "{path}"
            );
        }
        assert!(matches!(
            files.read("a\0b", at(0, None), ANYONE),
            Err(FileError::Nul)
        ));
        // A symlink a task planted in its sandbox, to a file and to a dir.
        let sandbox = base.join("work/frameworks/fw/tasks/t");
        std::os::unix::fs::symlink(&secret, sandbox.join("link")).unwrap();
        std::os::unix::fs::symlink(&base, sandbox.join("dirlink")).unwrap();
        for rel in [
            "frameworks/fw/tasks/t/link".to_owned(),
            "frameworks/fw/tasks/t/dirlink/secret".to_owned(),
            format!("{work}/frameworks/fw/tasks/t/link"),
        ] {
            assert!(
                matches!(
                    files.read(&rel, at(0, None), ANYONE),
                    Err(FileError::Escapes(_))
                ),
                "{rel}"
            );
        }
        assert!(matches!(
            files.browse("frameworks/fw/tasks/t/dirlink", ANYONE),
            Err(FileError::Escapes(_))
        ));
        // Listing shows the link without following it.
        let listed = files.browse("frameworks/fw/tasks/t", ANYONE).unwrap();
        let link = listed
            .iter()
            .find(|e| e.path.ends_with("/dirlink"))
            .unwrap();
        assert!(link.mode.starts_with('l'), "{link:?}");
    }

    #[test]
    fn wrong_kinds_and_missing_paths_say_so() {
        let (_base, files) = setup("kinds");
        assert!(matches!(
            files.read("frameworks", at(0, None), ANYONE),
            Err(FileError::IsDir(_))
        ));
        assert!(matches!(
            files.browse("frameworks/fw/tasks/t/stdout", ANYONE),
            Err(FileError::NotDir(_))
        ));
        assert!(matches!(
            files.read("nope", at(0, None), ANYONE),
            Err(FileError::NotFound(_))
        ));
        let missing = SandboxFiles::new(PathBuf::from("/nonexistent/corral/work"));
        assert!(matches!(
            missing.browse("", ANYONE),
            Err(FileError::NotFound(_))
        ));
    }

    #[test]
    fn reads_are_capped() {
        let (base, files) = setup("cap");
        let big = vec![b'a'; (MAX_READ_BYTES + 10) as usize];
        fs::write(base.join("work/big"), big).unwrap();
        let chunk = files.read("big", at(0, Some(u64::MAX)), ANYONE).unwrap();
        assert_eq!(chunk.data.len() as u64, MAX_READ_BYTES);
        let rest = files.read("big", at(MAX_READ_BYTES, None), ANYONE).unwrap();
        assert_eq!(rest.data.len(), 10);
    }

    #[test]
    fn modes_and_names_read_as_ls_writes_them() {
        let (base, _) = setup("modes");
        let meta = fs::symlink_metadata(base.join("work")).unwrap();
        assert_eq!(mode_text(meta.file_type(), 0o750), "drwxr-x---");
        let meta = fs::symlink_metadata(base.join("secret")).unwrap();
        assert_eq!(mode_text(meta.file_type(), 0o644), "-rw-r--r--");
        let names = parse_names("root:x:0:0::/root:/bin/sh\nbad line\nnobody:x:65534:\n");
        assert_eq!(names.get(&0).map(String::as_str), Some("root"));
        assert_eq!(names.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(Names(names).name(7), "7");
    }

    #[test]
    fn the_gate_is_asked_of_the_path_as_written_and_as_resolved() {
        let (base, files) = setup("gate");
        let log = base.join("agent.log");
        fs::write(&log, "log line").unwrap();
        let files = files.with_log(Some(log));
        let theirs = base.join("work/frameworks/theirs/tasks/u");
        fs::create_dir_all(&theirs).unwrap();
        fs::write(theirs.join("stdout"), "theirs").unwrap();
        // Only framework fw's sandboxes, and nothing else.
        let only_fw: Gate<'_> = &|o| o == Owner::Framework("fw");
        let stdout = "frameworks/fw/tasks/t/stdout";
        assert_eq!(
            files.read(stdout, at(0, None), only_fw).unwrap().data,
            "hello\nworld\n"
        );
        let denied = |r: Result<Chunk, FileError>| matches!(r, Err(FileError::Denied(_)));
        assert!(denied(files.read(
            "frameworks/theirs/tasks/u/stdout",
            at(0, None),
            only_fw
        )));
        // What does not exist is refused as well: the gate goes first.
        assert!(denied(files.read(
            "frameworks/nope/x",
            at(0, None),
            only_fw
        )));
        assert!(denied(files.read(LOG_PATH, at(0, None), only_fw)));
        assert!(matches!(
            files.browse("", only_fw),
            Err(FileError::Denied(_))
        ));
        assert!(matches!(
            files.browse("frameworks", only_fw),
            Err(FileError::Denied(_))
        ));
        // A link fw's task planted to another framework's sandbox is
        // decided as that framework's, for a file and for a directory.
        let sandbox = base.join("work/frameworks/fw/tasks/t");
        std::os::unix::fs::symlink(theirs.join("stdout"), sandbox.join("peek")).unwrap();
        std::os::unix::fs::symlink(&theirs, sandbox.join("peekdir")).unwrap();
        assert!(denied(files.read(
            "frameworks/fw/tasks/t/peek",
            at(0, None),
            only_fw
        )));
        assert!(matches!(
            files.open("frameworks/fw/tasks/t/peek", only_fw),
            Err(FileError::Denied(_))
        ));
        assert!(matches!(
            files.browse("frameworks/fw/tasks/t/peekdir", only_fw),
            Err(FileError::Denied(_))
        ));
        // The owners as the gate is told them.
        let log_only: Gate<'_> = &|o| o == Owner::Log;
        assert_eq!(
            files.read(LOG_PATH, at(0, None), log_only).unwrap().data,
            "log line"
        );
        let top_only: Gate<'_> = &|o| o == Owner::Agent;
        assert_eq!(files.browse("", top_only).unwrap().len(), 1);
        assert_eq!(
            owner_of(Path::new("./frameworks/fw")),
            Owner::Framework("fw")
        );
        assert_eq!(owner_of(Path::new("frameworks")), Owner::Agent);
        assert_eq!(owner_of(Path::new("other/fw")), Owner::Agent);
    }
}
