//! Plain text and Markdown: the text is kept as it is; headings are found by
//! looking at its lines.

use std::sync::LazyLock;

use regex::Regex;

use crate::sections::HeadingMark;
use crate::text::squash_whitespace;

/// One line of a text: its byte range without the newline.
#[derive(Clone, Copy, Debug)]
struct Line<'a> {
    start: usize,
    end: usize,
    text: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
        if start > text.len() {
            break;
        }
        out.push(Line { start, end: nl, text: &text[start..nl] });
        start = nl + 1;
    }
    out
}

fn is_blank(line: Option<&Line<'_>>) -> bool {
    line.is_none_or(|l| l.text.trim().is_empty())
}

static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?i:(part|book|volume)\s+([ivxlc]+|\d+|one|two|three|four|five|six|seven|eight|nine|ten|the\s+\w+)\b|(chapter|lecture|section|appendix|lesson)\b(\s+([ivxlc]+|\d+)\b)?|(preface|introduction|conclusion|contents|glossary|index|notes|epilogue|prologue|afterword|foreword)\b)",
    )
    .expect("valid regex")
});
static NUMBERED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d+|[IVXLC]+)\.\s+[A-Z][^a-z]*$").expect("valid regex"));

fn keyword_level(line: &str) -> Option<u8> {
    let caps = KEYWORD.captures(line)?;
    if caps.get(1).is_some() { Some(1) } else { Some(2) }
}

fn mostly_upper(line: &str) -> bool {
    let letters: Vec<char> = line.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 4 && letters.iter().filter(|c| c.is_uppercase()).count() * 10 >= letters.len() * 9
}

fn heading_like(line: &str) -> bool {
    let t = line.trim_end();
    !t.is_empty()
        && t.len() <= 90
        && !line.starts_with(char::is_whitespace)
        && !t.ends_with(',')
        && !t.ends_with(';')
        && t.chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Headings of a plain-text book: lines standing alone between blank lines,
/// at the left margin, that look like `CHAPTER IV.`, `LECTURE II.`, `PART I`,
/// `1. VARIATION UNDER DOMESTICATION.`, or short all-capital titles after a
/// wide gap. A numbered heading followed by a capitalised title line
/// (`LECTURE I.` / `A CANDLE: THE FLAME`) becomes one heading.
pub fn plain_headings(text: &str) -> Vec<HeadingMark> {
    let lines = lines(text);
    let mut marks: Vec<HeadingMark> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let before_blank = i == 0 || is_blank(lines.get(i - 1));
        let wide_gap = i < 2 || (is_blank(lines.get(i - 1)) && is_blank(lines.get(i - 2)));
        if !before_blank || !heading_like(line.text) || !is_blank(lines.get(i + 1)) {
            i += 1;
            continue;
        }
        let t = line.text.trim();
        let level = if let Some(level) = keyword_level(t) {
            Some(level)
        } else if NUMBERED.is_match(t) {
            Some(2)
        } else if wide_gap && mostly_upper(t) && t.len() >= 6 {
            Some(3)
        } else {
            None
        };
        let Some(level) = level else {
            i += 1;
            continue;
        };
        let mut title = squash_whitespace(t);
        let mut last = i;
        // A title line right after a numbered heading (`LECTURE I.` then
        // `A CANDLE: ...`) belongs to it.
        if level <= 2 {
            // Up to three capitalised lines, then a blank line.
            let first = i + 2;
            let mut end = first;
            while end < first + 3
                && lines.get(end).is_some_and(|n| mostly_upper(n.text) && keyword_level(n.text.trim()).is_none())
            {
                end += 1;
            }
            if end > first && is_blank(lines.get(end)) && lines.get(first).is_some_and(|n| heading_like(n.text)) {
                for n in &lines[first..end] {
                    title.push(' ');
                    title.push_str(&squash_whitespace(n.text));
                }
                last = end - 1;
            }
        }
        let body_start = (lines[last].end + 1).min(text.len());
        marks.push(HeadingMark { start: line.start, body_start, level, title });
        i = last + 1;
    }
    marks
}

static FENCE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^ {0,3}(```|~~~)").expect("valid regex"));
static ATX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$").expect("valid regex"));

/// Markdown headings: ATX (`## Title`) and setext (a line underlined with `=`
/// or `-`), outside fenced code blocks.
pub fn markdown_headings(text: &str) -> Vec<HeadingMark> {
    let lines = lines(text);
    let mut marks = Vec::new();
    let mut in_fence = false;
    for (i, line) in lines.iter().enumerate() {
        if FENCE.is_match(line.text) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(c) = ATX.captures(line.text) {
            let title = squash_whitespace(&c[2]);
            if !title.is_empty() {
                let body_start = (line.end + 1).min(text.len());
                marks.push(HeadingMark { start: line.start, body_start, level: c[1].len() as u8, title });
            }
            continue;
        }
        if let Some(next) = lines.get(i + 1) {
            let u = next.text.trim();
            let setext =
                !u.is_empty() && (u.bytes().all(|b| b == b'=') || (u.len() >= 2 && u.bytes().all(|b| b == b'-')));
            if setext && !line.text.trim().is_empty() && !line.text.starts_with("    ") {
                let level = if u.starts_with('=') { 1 } else { 2 };
                let body_start = (next.end + 1).min(text.len());
                marks.push(HeadingMark { start: line.start, body_start, level, title: squash_whitespace(line.text) });
            }
        }
    }
    marks
}

/// A markdown document's title: its first level-1 heading, if any.
pub fn markdown_title(marks: &[HeadingMark]) -> Option<String> {
    marks.iter().find(|m| m.level == 1).map(|m| m.title.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(marks: &[HeadingMark]) -> Vec<(u8, &str)> {
        marks.iter().map(|m| (m.level, m.title.as_str())).collect()
    }

    #[test]
    fn finds_book_headings() {
        let text = "Title page\n\n\nLECTURE I.\n\nA CANDLE: THE FLAME.\n\nI purpose to bring before you.\nMore.\n\n\n\
                    PART II\n\nSome text, with\nCHAPTER 3\nin the middle.\n\n1. VARIATION UNDER DOMESTICATION.\n\nBody.\n";
        let marks = plain_headings(text);
        assert_eq!(
            titles(&marks),
            vec![(2, "LECTURE I. A CANDLE: THE FLAME."), (1, "PART II"), (2, "1. VARIATION UNDER DOMESTICATION.")]
        );
        assert!(text[marks[0].body_start..].starts_with("\nI purpose"));
    }

    #[test]
    fn finds_markdown_headings_outside_fences() {
        let text = "# Top\n\nintro\n\n```\n# not a heading\n```\n\nSub\n---\n\ntext\n\n### Deep ###\nx";
        assert_eq!(titles(&markdown_headings(text)), vec![(1, "Top"), (2, "Sub"), (3, "Deep")]);
    }
}
