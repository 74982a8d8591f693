//! How a result is stored, the same on every backend: its metadata as JSON without the output,
//! and each output stream as raw UTF-8, deflated when that saves room.

use super::StoreError;
use crate::model::VersionResult;

/// Most bytes of one output stream that are stored; the rest is cut (the runner's own limit is
/// far below this unless it is raised).
const MAX_STORED_STREAM: usize = 256 * 1024;

/// A saved result's row: its metadata JSON and its output streams (NULL in rows from before the
/// compact form).
pub(super) type StoredRow = (String, Option<Vec<u8>>, Option<Vec<u8>>);

/// A result as it is stored: its metadata as JSON without the output, and each output stream as
/// raw UTF-8, deflated when that saves room (first byte: 0 raw, 1 deflated).
pub(super) struct Compact {
    pub meta: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Compact {
    /// Streams longer than this are deflated.
    const DEFLATE_FROM: usize = 256;

    pub fn of(result: &VersionResult) -> Result<Self, StoreError> {
        let mut meta = result.clone();
        let (stdout, cut_out) = Self::pack(&std::mem::take(&mut meta.outcome.stdout))?;
        let (stderr, cut_err) = Self::pack(&std::mem::take(&mut meta.outcome.stderr))?;
        meta.outcome.truncated |= cut_out || cut_err;
        Ok(Self {
            meta: serde_json::to_string(&meta)?,
            stdout,
            stderr,
        })
    }

    pub fn size(&self) -> usize {
        self.meta.len() + self.stdout.len() + self.stderr.len()
    }

    /// The stored form of one stream, cut at [`MAX_STORED_STREAM`]; true when it was cut.
    fn pack(text: &str) -> Result<(Vec<u8>, bool), StoreError> {
        use std::io::Write;
        let mut end = text.len().min(MAX_STORED_STREAM);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let bytes = &text.as_bytes()[..end];
        if bytes.len() < Self::DEFLATE_FROM {
            return Ok(([&[0], bytes].concat(), end < text.len()));
        }
        let mut encoder = flate2::write::DeflateEncoder::new(vec![1], flate2::Compression::fast());
        encoder
            .write_all(bytes)
            .map_err(|e| StoreError::Stream(e.to_string()))?;
        let deflated = encoder.finish().map_err(|e| StoreError::Stream(e.to_string()))?;
        Ok((deflated, end < text.len()))
    }

    fn unpack(stored: &[u8]) -> Result<String, StoreError> {
        use std::io::Read;
        let bytes = match stored.split_first() {
            None => Vec::new(),
            Some((0, raw)) => raw.to_vec(),
            Some((1, deflated)) => {
                let mut inflated = Vec::new();
                flate2::read::DeflateDecoder::new(deflated)
                    .take(MAX_STORED_STREAM as u64 + 1)
                    .read_to_end(&mut inflated)
                    .map_err(|e| StoreError::Stream(e.to_string()))?;
                inflated
            }
            Some((format, _)) => return Err(StoreError::Stream(format!("unknown stream format {format}"))),
        };
        String::from_utf8(bytes).map_err(|e| StoreError::Stream(e.to_string()))
    }

    /// A stored result; rows from before the compact form have no streams (NULL) and their
    /// output in the JSON.
    pub fn read(
        meta: &str,
        stdout: Option<&[u8]>,
        stderr: Option<&[u8]>,
    ) -> Result<VersionResult, StoreError> {
        let mut result: VersionResult = serde_json::from_str(meta)?;
        if let Some(stdout) = stdout {
            result.outcome.stdout = Self::unpack(stdout)?;
        }
        if let Some(stderr) = stderr {
            result.outcome.stderr = Self::unpack(stderr)?;
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_with(stdout: &str, stderr: &str) -> VersionResult {
        super::super::tests::result_with(stdout, stderr)
    }

    #[test]
    fn output_is_stored_raw_and_deflated_when_large_and_reads_back_the_same() {
        let nul = "\0".repeat(64 * 1024);
        for (stdout, stderr) in [("hi", ""), (nul.as_str(), "\u{FFFD}x"), ("", nul.as_str())] {
            let result = result_with(stdout, stderr);
            let compact = Compact::of(&result).unwrap();
            assert!(!compact.meta.contains("\\u0000"), "the output is not in the JSON");
            assert!(compact.size() < 2048, "{} bytes", compact.size());
            let read = Compact::read(&compact.meta, Some(&compact.stdout), Some(&compact.stderr)).unwrap();
            assert_eq!(read, result);
        }
    }

    #[test]
    fn a_stream_over_the_stored_limit_is_cut_at_a_character_and_marked() {
        let long = "é".repeat(MAX_STORED_STREAM);
        let compact = Compact::of(&result_with(&long, "")).unwrap();
        let read = Compact::read(&compact.meta, Some(&compact.stdout), Some(&compact.stderr)).unwrap();
        assert!(read.outcome.truncated);
        assert_eq!(read.outcome.stdout.len(), MAX_STORED_STREAM);
    }

    #[test]
    fn rows_from_before_the_compact_form_still_read() {
        let old = serde_json::to_string(&result_with("out", "err")).unwrap();
        assert_eq!(
            Compact::read(&old, None, None).unwrap(),
            result_with("out", "err")
        );
    }
}
