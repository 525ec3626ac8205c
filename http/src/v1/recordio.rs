//! Mesos's RecordIO framing of a stream of events (`docs/recordio.md`):
//! each record is its length in bytes, in decimal, a newline, then the
//! record.

/// One record, framed.
pub fn frame(record: &[u8]) -> Vec<u8> {
    let mut out = format!("{}\n", record.len()).into_bytes();
    out.extend_from_slice(record);
    out
}

/// Splits a byte stream into records as its pieces arrive.
#[derive(Debug, Default)]
pub struct Records {
    buffer: Vec<u8>,
}

/// The stream is not RecordIO.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a RecordIO stream: {0}")]
pub struct FramingError(String);

/// The longest length prefix read before giving up on a stream (20 digits
/// hold any u64).
const MAX_PREFIX: usize = 20;

impl Records {
    /// An empty reader.
    pub fn new() -> Records {
        Records::default()
    }

    /// Adds `bytes` as they came, and returns every record now complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, FramingError> {
        self.buffer.extend_from_slice(bytes);
        let mut records = Vec::new();
        loop {
            let Some(newline) = self.buffer.iter().position(|&b| b == b'\n') else {
                if self.buffer.len() > MAX_PREFIX {
                    return Err(FramingError("a length prefix without its newline".into()));
                }
                return Ok(records);
            };
            let prefix = std::str::from_utf8(&self.buffer[..newline])
                .ok()
                .and_then(|text| text.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    let shown = String::from_utf8_lossy(&self.buffer[..newline.min(MAX_PREFIX)]);
                    FramingError(format!("{shown:?} is not a length"))
                })?;
            let start = newline + 1;
            let Some(end) = start
                .checked_add(prefix)
                .filter(|&end| end <= self.buffer.len())
            else {
                return Ok(records);
            };
            records.push(self.buffer[start..end].to_vec());
            self.buffer.drain(..end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_however_the_bytes_are_cut() {
        let stream: Vec<u8> = [&b"{}"[..], b"", "caf\u{e9}".as_bytes()]
            .iter()
            .flat_map(|r| frame(r))
            .collect();
        assert_eq!(&stream[..4], b"2\n{}");
        for cut in 1..stream.len() {
            let mut reader = Records::new();
            let mut got = reader.push(&stream[..cut]).expect("first part");
            got.extend(reader.push(&stream[cut..]).expect("second part"));
            assert_eq!(
                got,
                vec![b"{}".to_vec(), Vec::new(), "caf\u{e9}".as_bytes().to_vec()]
            );
        }
    }

    #[test]
    fn a_stream_that_is_not_recordio_says_so() {
        assert!(Records::new().push(b"HTTP/1.1 200\n").is_err());
        assert!(Records::new().push(&[b'1'; 30]).is_err());
    }
}
