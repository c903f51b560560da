//! Finding a model's quote in the chunk it cites: exactly, after normalisation, or by fuzzy
//! word alignment.

use quarry_core::QuoteMatch;

use crate::text::{Word, stem, words};

/// The default lowest fuzzy alignment score at which a quote counts as found.
pub const DEFAULT_MIN_FUZZY: f32 = 0.8;

/// Where a quote was found in a chunk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuoteLocation {
    /// First byte of the match in the chunk text (a char boundary).
    pub start: usize,
    /// One past the last byte of the match (a char boundary, `start < end <= len`).
    pub end: usize,
    /// How the quote was matched.
    pub kind: QuoteMatch,
    /// 1.0 for exact and normalised matches; the alignment score (0..1) for fuzzy ones.
    pub score: f32,
}

/// Finds `quote` in `chunk_text`.
///
/// Tries, in order: the quote byte for byte (as given, then trimmed); the quote after
/// normalising both texts (case folded, whitespace runs collapsed, curly quotes made straight,
/// dashes made `-`, `…` made `...`, the quote's surrounding quote marks and punctuation dropped;
/// an ellipsis inside the quote may stand for elided text); and finally the best fuzzy alignment
/// of the quote's words with a run of the chunk's words (word edit distance, near-identical words
/// costing half), accepted when its score `1 - distance / quote words` is at least `min_fuzzy`.
/// The returned offsets are byte offsets into `chunk_text` on char boundaries; fuzzy matches
/// start and end on word boundaries. Empty or whitespace-only quotes give `None`.
pub fn locate_quote(chunk_text: &str, quote: &str, min_fuzzy: f32) -> Option<QuoteLocation> {
    if quote.trim().is_empty() || chunk_text.is_empty() {
        return None;
    }
    for q in [quote, quote.trim()] {
        if let Some(start) = chunk_text.find(q) {
            return Some(QuoteLocation { start, end: start + q.len(), kind: QuoteMatch::Exact, score: 1.0 });
        }
    }
    if let Some((start, end)) = normalized_match(chunk_text, quote) {
        return Some(QuoteLocation { start, end, kind: QuoteMatch::Normalized, score: 1.0 });
    }
    fuzzy_match(chunk_text, quote)
        .filter(|&(_, _, score)| score >= min_fuzzy)
        .map(|(start, end, score)| QuoteLocation { start, end, kind: QuoteMatch::Fuzzy, score })
}

/// Appends the normalised form of `c` to `out`.
fn push_normalized(c: char, out: &mut String) {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => out.push('\''),
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}' | '\u{2033}' => out.push('"'),
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}' => out.push('-'),
        '\u{2026}' => out.push_str("..."),
        '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' => {}
        c => out.extend(c.to_lowercase()),
    }
}

/// `text` normalised, plus for every byte of the result the source byte range it came from.
fn normalize_mapped(text: &str) -> (String, Vec<(u32, u32)>) {
    let mut out = String::with_capacity(text.len());
    let mut map: Vec<(u32, u32)> = Vec::with_capacity(text.len());
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        let end = (i + c.len_utf8()) as u32;
        if c.is_whitespace() {
            if in_space {
                // Extend the collapsed space over this character.
                if let Some(last) = map.last_mut() {
                    last.1 = end;
                }
            } else {
                out.push(' ');
                map.push((i as u32, end));
                in_space = true;
            }
            continue;
        }
        in_space = false;
        let before = out.len();
        push_normalized(c, &mut out);
        map.extend(std::iter::repeat_n((i as u32, end), out.len() - before));
    }
    (out, map)
}

/// The quote normalised, with surrounding whitespace, quote marks and punctuation removed.
fn normalize_quote(quote: &str) -> String {
    let mut out = String::with_capacity(quote.len());
    let mut in_space = false;
    for c in quote.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            in_space = false;
            push_normalized(c, &mut out);
        }
    }
    out.trim_matches(|c: char| !c.is_alphanumeric()).to_owned()
}

fn normalized_match(text: &str, quote: &str) -> Option<(usize, usize)> {
    let needle = normalize_quote(quote);
    if needle.is_empty() {
        return None;
    }
    let (hay, map) = normalize_mapped(text);
    let (s, e) = match hay.find(&needle) {
        Some(s) => (s, s + needle.len()),
        None => {
            // An ellipsis may stand for elided text: find the pieces in order.
            let parts: Vec<&str> = needle
                .split("...")
                .map(|p| p.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|p| !p.is_empty())
                .collect();
            if parts.len() < 2 {
                return None;
            }
            let first = hay.find(parts[0])?;
            let mut pos = first + parts[0].len();
            for p in &parts[1..] {
                pos = pos + hay[pos..].find(p)? + p.len();
            }
            // Elisions may not swallow more than the quote itself.
            if pos - first > 4 * needle.len() + 200 {
                return None;
            }
            (first, pos)
        }
    };
    let start = map[s].0 as usize;
    let end = map[e - 1].1 as usize;
    (start < end).then_some((start, end))
}

/// Whether two different words are near-identical: same stem, or one edit apart when long.
fn near(a: &Word, sa: &str, b: &Word, sb: &str) -> bool {
    if sa == sb {
        return true;
    }
    let (x, y) = (a.lower.as_bytes(), b.lower.as_bytes());
    let min = x.len().min(y.len());
    min >= 4 && x.len().abs_diff(y.len()) <= 1 && within_one_edit(x, y)
}

fn within_one_edit(x: &[u8], y: &[u8]) -> bool {
    let (x, y) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    let prefix = x.iter().zip(y).take_while(|(a, b)| a == b).count();
    if x.len() == y.len() { x[prefix + 1..] == y[prefix + 1..] } else { x[prefix..] == y[prefix + 1..] }
}

/// The best alignment of the quote's words with a run of the text's words (semi-global word
/// edit distance: the run may start and end anywhere for free). Returns byte start, byte end and
/// score `1 - distance / quote words`.
fn fuzzy_match(text: &str, quote: &str) -> Option<(usize, usize, f32)> {
    let q = words(quote);
    let t = words(text);
    if q.is_empty() || t.is_empty() {
        return None;
    }
    let qs: Vec<String> = q.iter().map(|w| stem(&w.lower)).collect();
    let ts: Vec<String> = t.iter().map(|w| stem(&w.lower)).collect();
    let m = t.len();
    // (cost, index of the first text word of the run).
    let mut prev: Vec<(f32, usize)> = (0..=m).map(|j| (0.0, j)).collect();
    let mut cur: Vec<(f32, usize)> = vec![(0.0, 0); m + 1];
    for (i, qw) in q.iter().enumerate() {
        cur[0] = ((i + 1) as f32, 0);
        for j in 1..=m {
            let tw = &t[j - 1];
            let sub = if qw.lower == tw.lower {
                0.0
            } else if near(qw, &qs[i], tw, &ts[j - 1]) {
                0.5
            } else {
                1.0
            };
            let diag = (prev[j - 1].0 + sub, prev[j - 1].1);
            let up = (prev[j].0 + 1.0, prev[j].1);
            let left = (cur[j - 1].0 + 1.0, cur[j - 1].1);
            let mut best = diag;
            if up.0 < best.0 {
                best = up;
            }
            if left.0 < best.0 {
                best = left;
            }
            cur[j] = best;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let (end, &(cost, start)) = prev
        .iter()
        .enumerate()
        .filter(|(j, (_, s))| j > s)
        // On a tie, the longer run (it covers more of the quote).
        .min_by(|a, b| a.1.0.total_cmp(&b.1.0).then((b.0 - b.1.1).cmp(&(a.0 - a.1.1))))?;
    let score = (1.0 - cost / q.len() as f32).max(0.0);
    Some((t[start].range.start, t[end - 1].range.end, score))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TEXT: &str = "The game was played on February 7, 2016, at Levi\u{2019}s Stadium in the San Francisco Bay Area \
                        \u{2014} at Santa Clara,\n  California.";

    #[test]
    fn exact_then_normalized_then_fuzzy() {
        let l = locate_quote(TEXT, "February 7, 2016", DEFAULT_MIN_FUZZY).unwrap();
        assert_eq!((l.kind, &TEXT[l.start..l.end]), (QuoteMatch::Exact, "February 7, 2016"));

        let l = locate_quote(
            TEXT,
            "\"at levi's stadium in the San Francisco bay area - at Santa Clara, California.\"",
            0.8,
        )
        .unwrap();
        assert_eq!(l.kind, QuoteMatch::Normalized);
        assert_eq!(
            &TEXT[l.start..l.end],
            "at Levi\u{2019}s Stadium in the San Francisco Bay Area \u{2014} at Santa Clara,\n  California"
        );

        let l = locate_quote(TEXT, "The game was played … at Levi's Stadium", 0.8).unwrap();
        assert_eq!(l.kind, QuoteMatch::Normalized);
        assert_eq!(&TEXT[l.start..l.end], "The game was played on February 7, 2016, at Levi\u{2019}s Stadium");

        let l = locate_quote(TEXT, "the game was held on February 7 2016 at Levis Stadium", 0.6).unwrap();
        assert_eq!(l.kind, QuoteMatch::Fuzzy);
        assert_eq!(&TEXT[l.start..l.end], "The game was played on February 7, 2016, at Levi\u{2019}s Stadium");
        assert!(l.score >= 0.6 && l.score < 1.0, "{}", l.score);

        assert!(locate_quote(TEXT, "the match happened in Paris during a heatwave", 0.8).is_none());
        assert!(locate_quote(TEXT, "  \n", 0.8).is_none());
        assert!(locate_quote(TEXT, "\"...\"", 0.8).is_none());
    }

    #[test]
    fn one_typo_is_fuzzy() {
        let l = locate_quote(TEXT, "played on Febuary 7, 2016, at Levi's Stadium", 0.8).unwrap();
        assert_eq!(l.kind, QuoteMatch::Fuzzy);
        assert_eq!(&TEXT[l.start..l.end], "played on February 7, 2016, at Levi\u{2019}s Stadium");
    }

    proptest! {
        #[test]
        fn any_substring_is_found_exactly(text in "\\PC{1,80}", a in 0usize..100, b in 0usize..100) {
            let cut = |i: usize| { let mut i = i.min(text.len()); while !text.is_char_boundary(i) { i -= 1; } i };
            let (s, e) = (cut(a.min(b)), cut(a.max(b)));
            let q = &text[s..e];
            prop_assume!(!q.trim().is_empty());
            let l = locate_quote(&text, q, DEFAULT_MIN_FUZZY).unwrap();
            prop_assert_eq!(l.kind, QuoteMatch::Exact);
            prop_assert_eq!(&text[l.start..l.end], q);
        }

        #[test]
        fn offsets_are_char_boundaries(
            text in "[a-zé \u{2019}\u{201C}\u{2014}\u{2026}.İ\n]{0,60}",
            quote in "[a-zé \u{2019}\"\\-.İ]{0,30}",
            min in 0.0f32..1.0,
        ) {
            if let Some(l) = locate_quote(&text, &quote, min) {
                prop_assert!(l.start < l.end && l.end <= text.len());
                prop_assert!(text.is_char_boundary(l.start) && text.is_char_boundary(l.end));
                prop_assert!((0.0..=1.0).contains(&l.score));
            }
        }
    }
}
