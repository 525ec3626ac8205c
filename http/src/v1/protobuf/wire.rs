//! Protobuf's wire format at its lowest: varints, fixed-width numbers and
//! length-delimited runs of bytes. Reading never indexes past the input:
//! a truncated or overlong value is an error.

/// Wire type of varints (ints, bools, enums).
pub(super) const VARINT: u64 = 0;
/// Wire type of 8-byte values (double).
pub(super) const FIXED64: u64 = 1;
/// Wire type of length-delimited values (strings, bytes, messages, packed
/// repeated numbers).
pub(super) const LEN: u64 = 2;
/// Wire type of 4-byte values (float).
pub(super) const FIXED32: u64 = 5;

/// The longest varint: 10 bytes of 7 bits hold 64.
const MAX_VARINT_BYTES: usize = 10;

/// Reads values off a message's bytes.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// Whether every byte was read.
    pub fn done(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for (i, &b) in self.bytes.iter().take(MAX_VARINT_BYTES).enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.bytes = &self.bytes[i + 1..];
                return Ok(value);
            }
        }
        if self.bytes.len() < MAX_VARINT_BYTES {
            Err("a varint is cut short".into())
        } else {
            Err("a varint is longer than 10 bytes".into())
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err(format!("{n} bytes announced, {} left", self.bytes.len()));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub fn fixed64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    pub fn fixed32(&mut self) -> Result<u32, String> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    /// A length-delimited value.
    pub fn delimited(&mut self) -> Result<&'a [u8], String> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| format!("a length of {len}"))?;
        self.take(len)
    }

    /// Passes over a value of `wire` type (a field the subset lacks).
    pub fn skip(&mut self, wire: u64) -> Result<(), String> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.fixed64().map(drop),
            LEN => self.delimited().map(drop),
            FIXED32 => self.fixed32().map(drop),
            3 | 4 => Err("groups (wire types 3 and 4) are not supported".into()),
            other => Err(format!("wire type {other} does not exist")),
        }
    }
}

/// Appends `value` as a varint.
pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a field's key: its number and wire type.
pub(super) fn put_key(out: &mut Vec<u8>, number: u32, wire: u64) {
    put_varint(out, (u64::from(number) << 3) | wire);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_go_out_and_come_back() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut r = Reader::new(&out);
            assert_eq!(r.varint(), Ok(v));
            assert!(r.done());
        }
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn short_and_overlong_input_is_an_error() {
        assert!(Reader::new(&[0x80]).varint().is_err());
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
        assert!(Reader::new(&[0x05, b'a']).delimited().is_err());
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
                .delimited()
                .is_err()
        );
        assert!(Reader::new(&[1, 2, 3]).fixed64().is_err());
        assert!(Reader::new(&[]).skip(3).is_err());
        assert!(Reader::new(&[]).skip(7).is_err());
    }
}
