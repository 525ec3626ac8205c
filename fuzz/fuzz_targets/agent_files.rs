//! The agent's files API (`/files/browse`, `/files/read`,
//! `/files/download`): the `path` and `offset` a request gives, against a
//! real work directory holding a sandbox, symlinks a task could plant that
//! lead outside it, the agent's checkpoint, and the sandbox of a
//! framework the reader may not read (the `access_sandboxes` ACLs' gate),
//! with a link to it from the sandbox it may.
//!
//! The input is one byte choosing browse, read or open, eight bytes of
//! offset, then the path.
//!
//! Holds: nothing panics; nothing outside the work directory, nothing of
//! the checkpoint and nothing of the refused framework is ever listed or
//! read.
#![no_main]
// A harness, not actor code: it builds a work directory on disk, and
// libfuzzer-sys's macro writes files, which clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use corral_agent::checkpoint::META_DIR;
use corral_agent::http::files::{Gate, Owner, SandboxFiles, Span};
use libfuzzer_sys::fuzz_target;

/// What the files outside the sandboxes hold; no answer may contain it.
const SECRET: &str = "OUTSIDE-THE-WORK-DIR";
/// What the checkpoint holds.
const PRIVATE: &str = "THE-AGENT-CHECKPOINT";
/// What the refused framework's sandbox holds.
const THEIRS: &str = "ANOTHER-FRAMEWORKS-OUTPUT";

/// The reader's gate: every framework's sandboxes but `theirs`.
const NOT_THEIRS: Gate<'static> = &|o| o != Owner::Framework("theirs");

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the fixture's directory");
    }
    std::fs::write(path, text).expect("the fixture's file");
}

fn link(target: &Path, at: &Path) {
    std::os::unix::fs::symlink(target, at).expect("the fixture's symlink");
}

/// A work directory (made once per process) beside a directory it must
/// not leak: `work/frameworks/fw/tasks/t/{stdout,up,abs,file-out,peek}`,
/// `work/frameworks/theirs/tasks/u/private`, `work/meta/checkpoint`,
/// `outside/secret`.
fn files() -> &'static SandboxFiles {
    static FILES: OnceLock<SandboxFiles> = OnceLock::new();
    FILES.get_or_init(|| {
        let base: PathBuf =
            std::env::temp_dir().join(format!("corral-fuzz-agent-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let outside = base.join("outside");
        write(&outside.join("secret"), SECRET);
        let work = base.join("work");
        let sandbox = work.join("frameworks/fw/tasks/t");
        write(&sandbox.join("stdout"), "hello from the task\n");
        write(&work.join(META_DIR).join("checkpoint"), PRIVATE);
        link(Path::new("../../../../../outside"), &sandbox.join("up"));
        link(&outside, &sandbox.join("abs"));
        link(&outside.join("secret"), &sandbox.join("file-out"));
        link(&work.join(META_DIR), &sandbox.join("meta-link"));
        let theirs = work.join("frameworks/theirs/tasks/u");
        write(&theirs.join("private"), THEIRS);
        link(Path::new("../../../theirs/tasks/u"), &sandbox.join("peek"));
        SandboxFiles::new(work)
    })
}

fuzz_target!(|data: &[u8]| {
    let [op, o0, o1, o2, o3, o4, o5, o6, o7, path @ ..] = data else {
        return;
    };
    let Ok(rel) = std::str::from_utf8(path) else {
        return;
    };
    let offset = u64::from_le_bytes([*o0, *o1, *o2, *o3, *o4, *o5, *o6, *o7]);
    let files = files();
    match op % 3 {
        0 => {
            if let Ok(entries) = files.browse(rel, NOT_THEIRS) {
                for e in entries {
                    let name = e.path.rsplit('/').next().unwrap_or_default();
                    assert!(
                        name != "secret" && name != "checkpoint" && name != "private",
                        "{rel:?} listed {e:?}"
                    );
                }
            }
        }
        1 => {
            let length = offset % 4096;
            let span = Span::Bytes {
                offset,
                length: Some(length),
            };
            if let Ok(chunk) = files.read(rel, span, NOT_THEIRS) {
                assert!(
                    !chunk.data.contains(SECRET),
                    "{rel:?} read outside the work dir"
                );
                assert!(!chunk.data.contains(PRIVATE), "{rel:?} read the checkpoint");
                assert!(
                    !chunk.data.contains(THEIRS),
                    "{rel:?} read a refused sandbox"
                );
                // Each byte read is at most one character (a byte that is
                // not UTF-8 becomes one U+FFFD).
                assert!(chunk.data.chars().count() as u64 <= length);
            }
        }
        _ => {
            if let Ok((file, size)) = files.open(rel, NOT_THEIRS) {
                use std::io::Read;
                let mut text = String::new();
                let _ = file.take(size.min(4096)).read_to_string(&mut text);
                assert!(
                    !text.contains(SECRET) && !text.contains(PRIVATE) && !text.contains(THEIRS),
                    "{rel:?} opened {text:?}"
                );
            }
        }
    }
});
