//! A checked byte span into a document's normalised text.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A half-open byte range `[start, end)` with `start <= end`.
///
/// Serialised as a two-element array `[start, end]`. A span says nothing about
/// which text it belongs to; [`Span::slice`] checks that it fits the text it is
/// applied to and falls on UTF-8 character boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "[usize; 2]", into = "[usize; 2]")]
pub struct Span {
    start: usize,
    end: usize,
}

/// A span that cannot be built or does not fit a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanError {
    /// `start > end`.
    Reversed { start: usize, end: usize },
    /// The span ends past the end of the text.
    OutOfBounds { span: Span, len: usize },
    /// An end of the span falls inside a UTF-8 character.
    NotCharBoundary { span: Span },
}

impl fmt::Display for SpanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpanError::Reversed { start, end } => {
                write!(f, "span start {start} is after its end {end}")
            }
            SpanError::OutOfBounds { span, len } => {
                write!(f, "span {span} is outside a text of {len} bytes")
            }
            SpanError::NotCharBoundary { span } => {
                write!(f, "span {span} does not fall on character boundaries")
            }
        }
    }
}

impl std::error::Error for SpanError {}

impl Span {
    /// A span from `start` to `end`; fails when `start > end`.
    pub fn new(start: usize, end: usize) -> Result<Span, SpanError> {
        if start > end {
            return Err(SpanError::Reversed { start, end });
        }
        Ok(Span { start, end })
    }

    /// A span that is checked to fit `text` on character boundaries.
    pub fn within(text: &str, start: usize, end: usize) -> Result<Span, SpanError> {
        let span = Span::new(start, end)?;
        span.slice(text)?;
        Ok(span)
    }

    /// The first byte.
    pub fn start(self) -> usize {
        self.start
    }

    /// One past the last byte.
    pub fn end(self) -> usize {
        self.end
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end - self.start
    }

    /// Whether the span is empty.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The span as a range.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }

    /// The span shifted right by `offset` bytes.
    pub fn shift(self, offset: usize) -> Span {
        Span { start: self.start + offset, end: self.end + offset }
    }

    /// Whether `other` lies entirely inside this span.
    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The text this span covers, checked.
    pub fn slice(self, text: &str) -> Result<&str, SpanError> {
        if self.end > text.len() {
            return Err(SpanError::OutOfBounds { span: self, len: text.len() });
        }
        text.get(self.range()).ok_or(SpanError::NotCharBoundary { span: self })
    }
}

impl TryFrom<[usize; 2]> for Span {
    type Error = SpanError;
    fn try_from([start, end]: [usize; 2]) -> Result<Span, SpanError> {
        Span::new(start, end)
    }
}

impl From<Span> for [usize; 2] {
    fn from(s: Span) -> [usize; 2] {
        [s.start, s.end]
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rejects_reversed_and_out_of_bounds() {
        assert!(Span::new(3, 2).is_err());
        assert_eq!(Span::within("abc", 0, 3).unwrap().slice("abc").unwrap(), "abc");
        assert!(matches!(Span::within("abc", 1, 4), Err(SpanError::OutOfBounds { .. })));
        assert!(matches!(Span::within("é", 0, 1), Err(SpanError::NotCharBoundary { .. })));
        assert!(serde_json::from_str::<Span>("[5, 1]").is_err());
    }

    proptest! {
        #[test]
        fn slice_is_checked(text in "\\PC{0,40}", a in 0usize..60, b in 0usize..60) {
            let (start, end) = (a.min(b), a.max(b));
            match Span::within(&text, start, end) {
                Ok(span) => {
                    prop_assert_eq!(span.slice(&text).unwrap(), &text[start..end]);
                    let json = serde_json::to_string(&span).unwrap();
                    prop_assert_eq!(json, format!("[{start},{end}]"));
                    prop_assert_eq!(serde_json::from_str::<Span>(&format!("[{start},{end}]")).unwrap(), span);
                }
                Err(_) => prop_assert!(end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end)),
            }
        }

        #[test]
        fn shift_keeps_length(start in 0usize..1000, len in 0usize..1000, off in 0usize..1000) {
            let s = Span::new(start, start + len).unwrap();
            prop_assert_eq!(s.shift(off).len(), len);
            prop_assert!(Span::new(0, start + len + off).unwrap().contains(s.shift(off)));
        }
    }
}
