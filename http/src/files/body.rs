//! A file streamed as a response body, so a large stdout is never
//! held in memory whole.

use std::fs::File;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;

/// Bytes read per chunk.
const CHUNK_BYTES: u64 = 64 * 1024;

/// The first `size` bytes of a file, read chunk by chunk as the client
/// takes them.
///
/// Reads are plain blocking reads on the server's worker: a 64 KiB read of a
/// local sandbox file takes microseconds, far less than a trip through the
/// blocking pool would.
pub struct FileBody {
    file: File,
    size: u64,
    left: u64,
}

impl FileBody {
    /// The first `size` bytes of `file` (its size when it was opened: a
    /// file still being written is sent as it was then).
    pub fn new(file: File, size: u64) -> FileBody {
        FileBody {
            file,
            size,
            left: size,
        }
    }
}

impl MessageBody for FileBody {
    type Error = io::Error;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.size)
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let want = self.left.min(CHUNK_BYTES);
        let mut buf = vec![0; want as usize];
        let read = match self.file.read(&mut buf) {
            // Shrunk since it was opened: the announced length cannot be
            // kept, so the connection ends in error.
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was sent",
            )),
            Ok(n) => {
                buf.truncate(n);
                self.left -= n as u64;
                Ok(Bytes::from(buf))
            }
            Err(e) => Err(e),
        };
        Poll::Ready(Some(read))
    }
}
