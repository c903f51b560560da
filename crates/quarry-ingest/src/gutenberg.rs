//! Project Gutenberg books: strip the header, licence and footer in every style
//! the archive has used, and read the title and author from the header.

use std::sync::LazyLock;

use regex::Regex;

/// Where a book's own text lies inside a Gutenberg file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    pub start: usize,
    pub end: usize,
    pub title: Option<String>,
    pub author: Option<String>,
    pub language: Option<String>,
}

static START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*{2,}\s*START\s*OF\s*(THE|THIS)?\s*PROJECT\s*GUTENBERG").expect("valid regex")
});
static SMALL_PRINT_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\*\s*END\s*\*\s*THE\s+SMALL\s+PRINT").expect("valid regex"));
static END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(\*{2,}\s*END\s*OF\s*(THE|THIS)?\s*PROJECT\s*GUTENBERG|END\s+OF\s+(THE\s+|THIS\s+)?PROJECT\s+GUTENBERG|\*{2,}\s*START:?\s*FULL\s+LICEN[CS]E|\*{2,}\s*START\s*\*\*\s*THE\s+SMALL\s+PRINT)",
    )
    .expect("valid regex")
});
static CREDITS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*((this\s+)?e-?text\s+(was\s+)?(prepared|produced)|produced\s+by|prepared\s+by|transcribed\s+by)\b",
    )
    .expect("valid regex")
});
static FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^(Title|Author|Language):[ \t]*(.+)$").expect("valid regex"));

/// Whether the text is a Project Gutenberg file.
pub fn is_gutenberg(text: &str) -> bool {
    let head = &text[..floor_char_boundary(text, 20_000)];
    let lower = head.to_ascii_lowercase();
    lower.contains("project gutenberg") || lower.contains("*end*the small print")
}

fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Lines as (start, end-without-newline).
fn line_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
        out.push((start, nl));
        start = nl + 1;
        if start > text.len() {
            break;
        }
    }
    out
}

/// Finds the book's own text. Returns `None` when no start marker is found.
pub fn find_body(text: &str) -> Option<Body> {
    let lines = line_ranges(text);
    let line = |i: usize| &text[lines[i].0..lines[i].1];
    // A marker may be wrapped over two lines: test each line joined with the next.
    let joined = |i: usize| {
        let mut s = line(i).to_owned();
        if i + 1 < lines.len() {
            s.push(' ');
            s.push_str(line(i + 1));
        }
        s
    };
    let mut body_line = None;
    for i in 0..lines.len() {
        let l = line(i);
        if START.is_match(l) || (l.trim_start().starts_with("**") && START.is_match(&joined(i))) {
            // The marker ends on the line that closes its asterisks.
            let mut end = i;
            while end < i + 2 && end + 1 < lines.len() && !line(end).trim_end().ends_with('*') {
                end += 1;
            }
            body_line = Some(end + 1);
            break;
        }
        if SMALL_PRINT_END.is_match(l) {
            body_line = Some(i + 1);
            // A later START marker still wins: keep looking.
        }
    }
    let mut first = body_line?;
    // Skip blank lines and the volunteers' credits paragraph(s).
    loop {
        while first < lines.len() && line(first).trim().is_empty() {
            first += 1;
        }
        if first < lines.len() && CREDITS.is_match(line(first)) {
            while first < lines.len() && !line(first).trim().is_empty() {
                first += 1;
            }
            continue;
        }
        break;
    }
    let mut last = lines.len();
    for i in first..lines.len() {
        let l = line(i);
        if END.is_match(l) || (l.trim_start().starts_with("**") && END.is_match(&joined(i))) {
            last = i;
            break;
        }
    }
    let start = lines.get(first).map_or(text.len(), |l| l.0);
    let end = if last < lines.len() { lines[last].0 } else { text.len() };
    let end = start + text[start..end.max(start)].trim_end().len();

    let header = &text[..lines.get(body_line.unwrap_or(0)).map_or(0, |l| l.0)];
    let mut body = Body { start, end, title: None, author: None, language: None };
    for c in FIELD.captures_iter(header) {
        let value = crate::text::squash_whitespace(&c[2]);
        match &c[1] {
            "Title" => body.title.get_or_insert(value),
            "Author" => body.author.get_or_insert(value),
            _ => body.language.get_or_insert(value),
        };
    }
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_modern_markers() {
        let text = "The Project Gutenberg EBook of X\n\nTitle: A Book\n\nAuthor: Someone\n\n\
                    *** START OF THIS PROJECT GUTENBERG EBOOK A BOOK ***\n\n\n\nProduced by Volunteers\nand more\n\n\
                    First paragraph.\n\nLast paragraph.\n\nEnd of the Project Gutenberg EBook of A Book\n\n\
                    *** END OF THIS PROJECT GUTENBERG EBOOK A BOOK ***\nlicence";
        let b = find_body(text).unwrap();
        assert_eq!(&text[b.start..b.end], "First paragraph.\n\nLast paragraph.");
        assert_eq!(b.title.as_deref(), Some("A Book"));
        assert_eq!(b.author.as_deref(), Some("Someone"));
    }

    #[test]
    fn strips_wrapped_and_spaceless_markers_and_small_print() {
        let text = "header\n***START OF THE PROJECT\nGUTENBERG EBOOK FOO***\nBody.\n***END OF THE PROJECT GUTENBERG EBOOK FOO***\n";
        let b = find_body(text).unwrap();
        assert_eq!(&text[b.start..b.end], "Body.");
        let old = "legal\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\nThe text.\n\n\
                   ***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN EBOOKS**START***\nlaw";
        let b = find_body(old).unwrap();
        assert_eq!(&old[b.start..b.end], "The text.");
        assert!(find_body("no markers here").is_none());
    }
}
