//! Placing a citation's quote inside its chunk's text.

use quarry_core::Citation;

use crate::ChunkView;

/// Where a citation's quote is in its chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement<'a> {
    /// The quote lies in the chunk text: `before`, `quote`, `after` concatenate to the
    /// chunk text. `by_span` is false when the span did not fit (or did not match) and
    /// the quote was found by searching the chunk instead.
    InChunk { before: &'a str, quote: &'a str, after: &'a str, by_span: bool },
    /// The chunk is unknown, or the quote is not in it: show the quote on its own.
    Apart,
}

/// Places `citation.quote` in `chunk`: first by the citation's document span shifted by
/// the chunk's start (checked for bounds, character boundaries and equality with the
/// quote), else by searching the chunk for the quote. Never panics.
pub(crate) fn place<'a>(citation: &Citation, chunk: Option<&'a ChunkView>) -> Placement<'a> {
    let Some(chunk) = chunk else { return Placement::Apart };
    let text = chunk.text.as_str();
    let local = citation
        .span
        .start()
        .checked_sub(chunk.chunk_start)
        .zip(citation.span.end().checked_sub(chunk.chunk_start))
        .and_then(|(s, e)| text.get(s..e).map(|q| (s, e, q)));
    if let Some((s, e, q)) = local
        && q == citation.quote
    {
        return Placement::InChunk { before: &text[..s], quote: q, after: &text[e..], by_span: true };
    }
    if !citation.quote.is_empty()
        && let Some(s) = text.find(citation.quote.as_str())
    {
        let e = s + citation.quote.len();
        return Placement::InChunk { before: &text[..s], quote: &text[s..e], after: &text[e..], by_span: false };
    }
    Placement::Apart
}

#[cfg(test)]
mod tests {
    use quarry_core::{QuoteMatch, Span};

    use super::*;

    fn cite(quote: &str, start: usize, end: usize) -> Citation {
        Citation {
            passage: 1,
            chunk_id: "c".into(),
            doc_id: "d".into(),
            doc_title: "D".into(),
            heading_path: vec![],
            quote: quote.into(),
            model_quote: quote.into(),
            span: Span::new(start, end).unwrap(),
            match_kind: QuoteMatch::Exact,
            match_score: 1.0,
        }
    }

    fn chunk(start: usize, text: &str) -> ChunkView {
        ChunkView {
            chunk_id: "c".into(),
            doc_id: "d".into(),
            doc_title: "D".into(),
            heading_path: vec![],
            chunk_start: start,
            text: text.into(),
        }
    }

    #[test]
    fn places_by_span_then_by_search() {
        let ch = chunk(100, "naïve — über");
        // "über" starts at byte 11 of the chunk.
        assert_eq!(
            place(&cite("über", 111, 116), Some(&ch)),
            Placement::InChunk { before: "naïve — ", quote: "über", after: "", by_span: true }
        );
        // Span inside a multi-byte character: found by search instead.
        assert_eq!(
            place(&cite("ïve", 103, 106), Some(&ch)),
            Placement::InChunk { before: "na", quote: "ïve", after: " — über", by_span: false }
        );
        // Before the chunk, past its end, or not there at all.
        assert_eq!(place(&cite("zzz", 5, 8), Some(&ch)), Placement::Apart);
        assert_eq!(place(&cite("zzz", 200, 203), Some(&ch)), Placement::Apart);
        assert_eq!(place(&cite("über", 111, 116), None), Placement::Apart);
        assert_eq!(place(&cite("", 500, 500), Some(&ch)), Placement::Apart);
    }
}
