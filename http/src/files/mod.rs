//! What the master's and the agent's `/files/*` endpoints share, after
//! Mesos's files API: the query (`path`, `offset`, `length`, `jsonp`)
//! with Mesos's number rules ([`FilesQuery`]), the part of a file a read
//! answers ([`Span`], [`Chunk`], [`read_span`]), and a file streamed as a
//! download ([`FileBody`], [`attachment_name`]). Which paths each node
//! serves is its own: an agent's sandboxes, a master's log.

mod body;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

pub use self::body::FileBody;
use crate::ApiError;

/// The most bytes one `/files/read` answers, as Mesos's agent does by
/// default.
pub const MAX_READ_BYTES: u64 = 1024 * 1024;

/// A piece of a file, as Mesos's `/files/read` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The bytes read, as UTF-8 (invalid sequences, such as a character cut
    /// at the chunk's edge, become U+FFFD).
    pub data: String,
    /// Where in the file they start; for a request for the size
    /// ([`Span::Size`]), the file's size.
    pub offset: u64,
}

/// What part of a file a read asks for, after Mesos's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// Only the file's size (Mesos's `offset=-1`, or no offset at all).
    Size,
    /// Up to `length` bytes (default and cap [`MAX_READ_BYTES`]) from
    /// `offset`; past the end, none.
    Bytes {
        /// The first byte.
        offset: u64,
        /// How many bytes at most, if limited.
        length: Option<u64>,
    },
}

/// The `span` of `file`, whose size is `size`.
pub fn read_span(file: &mut File, size: u64, span: Span) -> io::Result<Chunk> {
    let (offset, length) = match span {
        Span::Size => {
            return Ok(Chunk {
                data: String::new(),
                offset: size,
            })
        }
        Span::Bytes { offset, length } => (offset, length),
    };
    let want = length.unwrap_or(MAX_READ_BYTES).min(MAX_READ_BYTES);
    let want = want.min(size.saturating_sub(offset));
    let mut buf = Vec::new();
    if want > 0 {
        file.seek(SeekFrom::Start(offset))?;
        file.take(want).read_to_end(&mut buf)?;
    }
    Ok(Chunk {
        data: String::from_utf8_lossy(&buf).into_owned(),
        offset,
    })
}

/// The query of the files endpoints, as text: numbers are parsed by hand
/// so a bad one gets a message naming it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FilesQuery {
    /// The file or directory.
    pub path: Option<String>,
    /// Mesos's `offset` (bytes; -1 or absent: the size only).
    pub offset: Option<String>,
    /// Mesos's `length` (bytes; -1 or absent: up to the cap).
    pub length: Option<String>,
    /// Mesos's `jsonp`: the answer wrapped as a call of that function.
    pub jsonp: Option<String>,
}

impl FilesQuery {
    /// The path asked for; `hint` says, when there is none, what to give.
    pub fn path(&self, hint: &str) -> Result<&str, ApiError> {
        self.path.as_deref().ok_or_else(|| {
            ApiError::bad_request(format!("the path parameter is missing: give ?path={hint}"))
        })
    }

    /// The part of the file asked for, by Mesos's rules: no `offset` or
    /// `offset=-1` asks for the size; no `length` or `length=-1` reads to
    /// the cap; below -1 either is refused.
    pub fn span(&self) -> Result<Span, ApiError> {
        let offset = mesos_number("offset", self.offset.as_deref())?;
        let length = mesos_number("length", self.length.as_deref())?;
        Ok(match offset {
            None => Span::Size,
            Some(offset) => Span::Bytes { offset, length },
        })
    }
}

/// `name`'s value as a whole number of bytes: None when absent or -1
/// (Mesos's "not given"), refused when not a number or below -1.
fn mesos_number(name: &str, value: Option<&str>) -> Result<Option<u64>, ApiError> {
    let Some(text) = value else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(format!(
            "{name} must be a whole number of bytes (or -1), not '{}'",
            crate::echo(text)
        ))
    };
    match text.parse::<i64>().map_err(|_| bad())? {
        -1 => Ok(None),
        n => u64::try_from(n).map(Some).map_err(|_| bad()),
    }
}

/// A file name fit for a header: printable ASCII, no quote or semicolon
/// (a task names its files, and a header must not be split by them).
pub fn attachment_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | ';' | '\\') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_parameters_name_what_is_wrong() {
        assert_eq!(mesos_number("offset", None).unwrap(), None);
        assert_eq!(mesos_number("offset", Some("-1")).unwrap(), None);
        assert_eq!(mesos_number("offset", Some("12")).unwrap(), Some(12));
        for bad in ["abc", "-2", "1.5", "", "99999999999999999999999"] {
            let e = mesos_number("offset", Some(bad)).unwrap_err();
            assert!(e.message().starts_with("offset must be"), "{e}");
        }
    }

    #[test]
    fn spans_follow_mesos() {
        let q = |offset: Option<&str>, length: Option<&str>| FilesQuery {
            path: Some("p".into()),
            offset: offset.map(Into::into),
            length: length.map(Into::into),
            jsonp: None,
        };
        assert_eq!(q(None, None).span().unwrap(), Span::Size);
        assert_eq!(q(Some("-1"), Some("5")).span().unwrap(), Span::Size);
        assert_eq!(
            q(Some("3"), Some("-1")).span().unwrap(),
            Span::Bytes {
                offset: 3,
                length: None
            }
        );
        assert_eq!(
            q(Some("0"), Some("0")).span().unwrap(),
            Span::Bytes {
                offset: 0,
                length: Some(0)
            }
        );
        assert!(q(Some("0"), Some("-2")).span().is_err());
    }

    #[test]
    fn attachment_names_cannot_split_the_header() {
        assert_eq!(attachment_name("stdout"), "stdout");
        assert_eq!(attachment_name("a b;c\"\r\n"), "a_b_c___");
    }
}
