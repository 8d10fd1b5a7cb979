//! Bounds-checked reading of client packets and the few writing helpers that
//! mysql_common does not offer for the server side. A short packet is an
//! error value, never a panic.

use std::fmt;

/// The packet ended before a field it must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed packet: truncated")
    }
}

impl std::error::Error for Truncated {}

/// A cursor over one packet's payload.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if self.buf.len() < n {
            return Err(Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Truncated> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, Truncated> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-encoded integer.
    pub fn lenenc_int(&mut self) -> Result<u64, Truncated> {
        match self.u8()? {
            0xfc => Ok(self.u16()? as u64),
            0xfd => {
                let b = self.take(3)?;
                Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64)
            }
            0xfe => self.u64(),
            n => Ok(n as u64),
        }
    }

    /// A length-encoded string.
    pub fn lenenc_bytes(&mut self) -> Result<&'a [u8], Truncated> {
        let len = self.lenenc_int()?;
        let len = usize::try_from(len).map_err(|_| Truncated)?;
        self.take(len)
    }

    /// A NUL-terminated string (the NUL is consumed, not returned); a missing
    /// NUL at the very end is tolerated, as clients omit it.
    pub fn nul_bytes(&mut self) -> &'a [u8] {
        match self.buf.iter().position(|&c| c == 0) {
            Some(n) => {
                let s = &self.buf[..n];
                self.buf = &self.buf[n + 1..];
                s
            }
            None => std::mem::take(&mut self.buf),
        }
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

/// Appends a length-encoded integer.
pub fn put_lenenc_int(out: &mut Vec<u8>, n: u64) {
    if n < 251 {
        out.push(n as u8);
    } else if n < 1 << 16 {
        out.push(0xfc);
        out.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n < 1 << 24 {
        out.push(0xfd);
        out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
    } else {
        out.push(0xfe);
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// Appends a length-encoded string.
pub fn put_lenenc_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_lenenc_int(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_round_trip() {
        for n in [
            0u64,
            250,
            251,
            65535,
            65536,
            (1 << 24) - 1,
            1 << 24,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_lenenc_int(&mut out, n);
            assert_eq!(Reader::new(&out).lenenc_int(), Ok(n));
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert_eq!(Reader::new(&[0xfc, 1]).lenenc_int(), Err(Truncated));
        assert_eq!(Reader::new(&[5, b'a']).lenenc_bytes(), Err(Truncated));
        assert_eq!(Reader::new(&[1, 2, 3]).u32(), Err(Truncated));
        let mut r = Reader::new(b"abc");
        assert_eq!(r.nul_bytes(), b"abc");
        assert!(r.is_empty());
    }
}
