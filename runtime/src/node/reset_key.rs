//! The node's QUIC stateless-reset key, kept in a file so that it outlives
//! the process.
//!
//! A node restarted on its address receives packets of the connections its
//! earlier run had. QUIC answers such a packet with a stateless reset,
//! signed with a key of the endpoint; the peer closes the connection at
//! once when the signature is the one the earlier run promised, and ignores
//! the reset otherwise. quinn draws that key at random per endpoint, so
//! without a kept key the peers ignore the resets, keep sending into the
//! void and notice the restart only at their link timeout. (quinn also
//! resets only packets whose connection id bears a per-endpoint signature,
//! so the node's ids are plain random ones: see [`RandomCids`].)
//!
//! The key must stay secret (whoever holds it can close the node's
//! connections): the file is created readable by its owner only, and a
//! looser mode is warned of at each start.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The key file's name in a node's `data_dir`.
pub const RESET_KEY_FILE: &str = "reset.key";

/// Length of the key: one HMAC-SHA256 block, as quinn's own random key.
pub const RESET_KEY_BYTES: usize = 64;

/// Why the key file cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ResetKeyError {
    /// The file or its directory could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file is not one key long: damaged, or not written by a node.
    #[error(
        "it holds {found_bytes} bytes, not {RESET_KEY_BYTES}; if it is damaged, delete it and \
         the node writes a new one (peers then notice this one restart only at their link timeout)"
    )]
    WrongLength {
        /// The file's length.
        found_bytes: u64,
    },
}

/// quinn's endpoint settings with `key` signing the stateless resets.
pub(crate) fn endpoint_config(key: &[u8; RESET_KEY_BYTES]) -> quinn::EndpointConfig {
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut cfg = quinn::EndpointConfig::new(Arc::new(hmac));
    cfg.cid_generator(|| Box::new(RandomCids));
    cfg
}

/// Connection ids of 8 random bytes, every one of which the endpoint
/// accepts as possibly its own.
///
/// quinn's default generator signs its ids with a key drawn per endpoint
/// and answers a packet for an unknown connection with a stateless reset
/// only when the packet's id bears that signature: a restarted node would
/// drop the packets of its earlier run's connections unanswered, kept reset
/// key or not. Resets stay cheap without the check: each is smaller than
/// the packet that called for it, and quinn sends at most one per 20 ms.
struct RandomCids;

/// quinn's own length.
const CID_BYTES: usize = 8;

impl quinn::ConnectionIdGenerator for RandomCids {
    // The node host is the seam: it may draw from the OS's entropy.
    #[allow(clippy::disallowed_methods)]
    fn generate_cid(&mut self) -> quinn::ConnectionId {
        let mut id = [0u8; CID_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut id);
        quinn::ConnectionId::new(&id)
    }

    fn cid_len(&self) -> usize {
        CID_BYTES
    }

    fn cid_lifetime(&self) -> Option<std::time::Duration> {
        None
    }
}

/// The key in `path`; when there is no such file, `fresh` is written there
/// first (its directory created if missing). Two nodes starting at once on
/// the same file both end up with the one key that got there first.
pub(crate) fn load_or_create(
    path: &Path,
    fresh: &[u8; RESET_KEY_BYTES],
) -> Result<[u8; RESET_KEY_BYTES], ResetKeyError> {
    match read(path) {
        Err(ResetKeyError::Io(e)) if e.kind() == ErrorKind::NotFound => {}
        known => return known,
    }
    create(path, fresh)?;
    read(path)
}

fn read(path: &Path) -> Result<[u8; RESET_KEY_BYTES], ResetKeyError> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.len() != RESET_KEY_BYTES as u64 {
        return Err(ResetKeyError::WrongLength {
            found_bytes: meta.len(),
        });
    }
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{:o}", meta.permissions().mode() & 0o777),
            "the reset key file is readable by others, who could close this node's connections; chmod 600 it"
        );
    }
    let mut key = [0u8; RESET_KEY_BYTES];
    file.read_exact(&mut key)?;
    Ok(key)
}

/// Writes `key` whole to a private temporary file, then links it in place:
/// a reader never sees a half-written key, and a link never replaces a key
/// another start put there first (that one wins; `AlreadyExists` is fine).
fn create(path: &Path, key: &[u8; RESET_KEY_BYTES]) -> Result<(), ResetKeyError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        fs::create_dir_all(dir)?;
    }
    let tmp = temp_path(path);
    // A leftover of a crashed start with our pid may hold another mode.
    let _ = fs::remove_file(&tmp);
    let linked = write_private(&tmp, key).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Some(dir) = dir {
                // The link itself survives a machine crash only once its
                // directory is synced; without it the next start writes a
                // new key, which costs peers one slow notice, no more.
                let _ = File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn write_private(path: &Path, key: &[u8; RESET_KEY_BYTES]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key)?;
    file.sync_all()
}

/// A temporary name beside `path`, unique among this process's starts.
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("corral-reset-key-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn the_first_start_writes_a_private_key_that_later_starts_read() {
        let d = dir("kept");
        let path = d.join("sub").join(RESET_KEY_FILE);
        let first = load_or_create(&path, &[7; RESET_KEY_BYTES]).unwrap();
        assert_eq!(first, [7; RESET_KEY_BYTES]);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "only the owner reads the key");
        // A later start's fresh key is not used: the kept one is.
        assert_eq!(load_or_create(&path, &[9; RESET_KEY_BYTES]).unwrap(), first);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [RESET_KEY_FILE], "no temporary file is left behind");
        let _ = fs::remove_dir_all(d);
    }

    #[test]
    fn starts_racing_on_one_file_all_get_the_key_that_got_there_first() {
        let d = dir("race");
        let path = d.join(RESET_KEY_FILE);
        let keys: Vec<[u8; RESET_KEY_BYTES]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || load_or_create(path, &[i; RESET_KEY_BYTES]).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let kept = fs::read(&path).unwrap();
        assert!(keys.iter().all(|k| k[..] == kept[..]), "{keys:?}");
        let _ = fs::remove_dir_all(d);
    }

    #[test]
    fn a_short_key_file_is_an_error_that_says_its_length() {
        let d = dir("short");
        fs::create_dir_all(&d).unwrap();
        let path = d.join(RESET_KEY_FILE);
        fs::write(&path, [1u8; 10]).unwrap();
        let err = load_or_create(&path, &[2; RESET_KEY_BYTES]).unwrap_err();
        assert!(
            matches!(err, ResetKeyError::WrongLength { found_bytes: 10 }),
            "{err:?}"
        );
        assert!(err.to_string().contains("holds 10 bytes, not 64"), "{err}");
        assert_eq!(
            fs::read(&path).unwrap(),
            [1u8; 10],
            "the file is left as found"
        );
        let _ = fs::remove_dir_all(d);
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_an_io_error() {
        let d = dir("blocked");
        fs::create_dir_all(&d).unwrap();
        let file = d.join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let err = load_or_create(&file.join(RESET_KEY_FILE), &[3; RESET_KEY_BYTES]).unwrap_err();
        assert!(matches!(err, ResetKeyError::Io(_)), "{err:?}");
        let _ = fs::remove_dir_all(d);
    }
}
