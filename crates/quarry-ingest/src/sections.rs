//! Headings to sections: the heading path of every part of a document.
//!
//! Loaders either keep a file's text as it is and mark where its headings are
//! ([`build_sections`]), or write a fresh text from a parsed tree
//! ([`DocBuilder`]). Both give the same kind of [`Section`] list.

use quarry_core::{Section, Span};

/// A heading found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadingMark {
    /// Where the heading's first line starts.
    pub start: usize,
    /// Where the body under the heading starts (after the heading lines).
    pub body_start: usize,
    /// 1 is outermost.
    pub level: u8,
    pub title: String,
}

/// Sections for a text with these headings (in text order). The root title
/// heads every path; text before the first heading sits under the root alone.
/// Section spans are trimmed of surrounding whitespace; empty ones are dropped.
pub fn build_sections(text: &str, root: &str, marks: &[HeadingMark]) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut path: Vec<(u8, String)> = Vec::new();
    let root_path = |path: &[(u8, String)]| {
        std::iter::once(root.to_owned()).chain(path.iter().map(|(_, t)| t.clone())).collect::<Vec<_>>()
    };
    let first = marks.first().map_or(text.len(), |m| m.start);
    push_section(&mut sections, text, 0, first, root_path(&path));
    for (i, mark) in marks.iter().enumerate() {
        while path.last().is_some_and(|(level, _)| *level >= mark.level) {
            path.pop();
        }
        path.push((mark.level, mark.title.clone()));
        let end = marks.get(i + 1).map_or(text.len(), |m| m.start);
        push_section(&mut sections, text, mark.body_start, end, root_path(&path));
    }
    sections
}

fn push_section(out: &mut Vec<Section>, text: &str, start: usize, end: usize, heading_path: Vec<String>) {
    if start >= end {
        return;
    }
    let body = &text[start..end];
    let trimmed_start = body.len() - body.trim_start().len();
    let trimmed_end = body.trim_end().len();
    if trimmed_start >= trimmed_end {
        return;
    }
    let span = Span::new(start + trimmed_start, start + trimmed_end).expect("ordered");
    out.push(Section { heading_path, span });
}

/// Writes a document's text block by block, recording its headings.
#[derive(Debug)]
pub struct DocBuilder {
    root: String,
    text: String,
    marks: Vec<HeadingMark>,
}

impl DocBuilder {
    /// A new document titled `root`.
    pub fn new(root: &str) -> DocBuilder {
        DocBuilder { root: root.to_owned(), text: String::new(), marks: Vec::new() }
    }

    fn separate(&mut self) {
        if !self.text.is_empty() {
            while !self.text.ends_with("\n\n") {
                self.text.push('\n');
            }
        }
    }

    /// A heading at `level` (1 outermost). Empty titles are ignored.
    pub fn heading(&mut self, level: u8, title: &str) {
        let title = crate::text::squash_whitespace(title);
        if title.is_empty() {
            return;
        }
        self.separate();
        let start = self.text.len();
        self.text.push_str(&title);
        self.text.push('\n');
        self.marks.push(HeadingMark { start, body_start: self.text.len(), level: level.max(1), title });
    }

    /// A paragraph (or any block) of text; surrounding whitespace is trimmed.
    pub fn block(&mut self, block: &str) {
        let block = block.trim();
        if block.is_empty() {
            return;
        }
        self.separate();
        self.text.push_str(block);
    }

    /// Whether any body text has been written.
    pub fn has_body(&self) -> bool {
        let heading_bytes: usize = self.marks.iter().map(|m| m.body_start - m.start).sum();
        self.text.len() > heading_bytes + 2 * self.marks.len()
    }

    /// The text and its sections.
    pub fn finish(mut self) -> (String, Vec<Section>) {
        let trimmed = self.text.trim_end().len();
        self.text.truncate(trimmed);
        let sections = build_sections(&self.text, &self.root, &self.marks);
        (self.text, sections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_tracks_heading_paths() {
        let mut b = DocBuilder::new("Book");
        b.block("Lead paragraph.");
        b.heading(1, "History");
        b.block("Old times.");
        b.heading(2, "  Early   days ");
        b.block("Very old.");
        b.heading(1, "Empty");
        b.heading(1, "Uses");
        b.block("Many.\n\n");
        let (text, sections) = b.finish();
        let got: Vec<(String, &str)> =
            sections.iter().map(|s| (s.heading_path.join("/"), s.span.slice(&text).unwrap())).collect();
        assert_eq!(
            got,
            vec![
                ("Book".into(), "Lead paragraph."),
                ("Book/History".into(), "Old times."),
                ("Book/History/Early days".into(), "Very old."),
                ("Book/Uses".into(), "Many."),
            ]
        );
        assert!(text.ends_with("Many."));
    }
}
