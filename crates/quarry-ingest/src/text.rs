//! Bytes to normalised text: encoding detection, line endings, and the checks
//! that tell prose from binary or generated files.

use std::borrow::Cow;

use crate::error::SkipReason;

/// Longest line accepted as prose; longer lines mean a minified or generated
/// file, which would make useless chunks.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How a file's bytes were decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Not valid UTF-8, decoded as Windows-1252 (a superset of Latin-1's
    /// printable range).
    Windows1252,
}

/// Decoded, normalised text and how it was decoded.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub encoding: Encoding,
}

/// Decodes a whole file: UTF-8 (BOM stripped), or Windows-1252 when the bytes
/// are not UTF-8 but look like legacy 8-bit text. Line endings become `\n`.
pub fn decode(bytes: &[u8]) -> Result<Decoded, (SkipReason, String)> {
    if looks_binary(bytes) {
        return Err((SkipReason::Binary, "binary data (NUL bytes), not text".into()));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (text, encoding) = match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), Encoding::Utf8),
        Err(e) => {
            if !plausible_windows_1252(bytes) {
                return Err((
                    SkipReason::Encoding,
                    format!("invalid UTF-8 at byte {} and not plausible Windows-1252 text", e.valid_up_to()),
                ));
            }
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (s, Encoding::Windows1252)
        }
    };
    if let Some((line, len)) = overlong_line(&text) {
        return Err((
            SkipReason::LineTooLong,
            format!("line {line} is {len} bytes long (limit {MAX_LINE_BYTES}); not prose"),
        ));
    }
    Ok(Decoded { text: normalize_newlines(&text), encoding })
}

/// NUL bytes in the first 8 KiB mean binary data.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}

/// Windows-1252 text has few high bytes and no C0 control characters other
/// than tab, newline, carriage return and form feed, and none of the five
/// bytes the code page leaves undefined.
fn plausible_windows_1252(bytes: &[u8]) -> bool {
    let mut high = 0usize;
    for &b in bytes {
        match b {
            b'\t' | b'\n' | b'\r' | 0x0c => {}
            0x00..=0x1f | 0x7f => return false,
            0x81 | 0x8d | 0x8f | 0x90 | 0x9d => return false,
            0x80..=0xff => high += 1,
            _ => {}
        }
    }
    high * 10 <= bytes.len()
}

/// The first line longer than [`MAX_LINE_BYTES`], as (1-based line, bytes).
fn overlong_line(text: &str) -> Option<(usize, usize)> {
    if text.len() <= MAX_LINE_BYTES {
        return None;
    }
    let mut start = 0;
    for (n, nl) in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]).enumerate() {
        if nl - start > MAX_LINE_BYTES {
            return Some((n + 1, nl - start));
        }
        start = nl + 1;
    }
    None
}

/// `\r\n` and lone `\r` become `\n`; trailing spaces on lines are kept.
pub fn normalize_newlines(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
        }
    }
    out.push_str(rest);
    out
}

/// Collapses runs of whitespace to one space and trims: for titles and headings.
pub fn squash_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_and_latin1() {
        assert_eq!(decode(b"\xEF\xBB\xBFa\r\nb\rc").unwrap().text, "a\nb\nc");
        let d = decode(b"the \xE6ther is here").unwrap();
        assert_eq!(d.encoding, Encoding::Windows1252);
        assert_eq!(d.text, "the \u{e6}ther is here");
    }

    #[test]
    fn rejects_binary_and_garbage() {
        assert_eq!(decode(b"ab\0cd").unwrap_err().0, SkipReason::Binary);
        let garbage: Vec<u8> = (0..200u8).map(|i| 0x80 | (i % 0x7f)).collect();
        assert_eq!(decode(&garbage).unwrap_err().0, SkipReason::Encoding);
        assert_eq!(decode(b"ok \x01\xff").unwrap_err().0, SkipReason::Encoding);
    }

    #[test]
    fn rejects_overlong_lines() {
        let mut long = "short line\n".to_owned();
        long.push_str(&"x".repeat(MAX_LINE_BYTES + 1));
        let (reason, msg) = decode(long.as_bytes()).unwrap_err();
        assert_eq!(reason, SkipReason::LineTooLong);
        assert!(msg.starts_with("line 2 is"), "{msg}");
    }
}
