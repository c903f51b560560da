//! Documents, their sections and their chunks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ChunkId, DocId, Span};

/// One normalised document: a book, an article, a page of a dump, a line of a
/// JSONL file.
///
/// `text` is the normalised text every span in quarry points into: chunk spans,
/// citation spans and quote spans are byte offsets into it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Stable id, derived from the source key (see [`DocId::from_source`]).
    pub id: DocId,
    /// The source key: the input file's path relative to the ingest root,
    /// e.g. `books/1228.txt`. Several documents share a source when one file
    /// holds many (a dump, a JSONL file).
    pub source: String,
    /// Where in the source this document is, when the source holds many
    /// (`page 12`, `line 7`); empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub locator: String,
    /// The document's title.
    pub title: String,
    /// The loader that read it (`text`, `markdown`, `gutenberg`, `wikipedia`,
    /// `html`, `epub`, `jsonl`).
    pub format: String,
    /// The normalised text.
    pub text: String,
    /// The sections in text order; they do not overlap. Chunks never cross a
    /// section boundary.
    pub sections: Vec<Section>,
    /// Free-form metadata (author, language, url, ...), sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// A run of a document's text under one heading path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Book › Chapter › Section, outermost first; the document title is not
    /// repeated here.
    pub heading_path: Vec<String>,
    /// The section's body in the document text (the heading line itself is
    /// not part of it).
    pub span: Span,
}

/// A piece of a document sized for retrieval and prompting.
///
/// Invariant: `text == document.text[span]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// `<doc id>-<ordinal>`.
    pub id: ChunkId,
    /// The document this chunk is part of.
    pub doc_id: DocId,
    /// The heading path of the section the chunk lies in.
    pub heading_path: Vec<String>,
    /// Byte span in the document's normalised text.
    pub span: Span,
    /// Tokens in the chunk, counted with the chunker's tokenizer.
    pub token_count: u32,
    /// The chunk's text, equal to `document.text[span]`.
    pub text: String,
}

/// A heading path for people: `Lecture I › The flame`.
pub fn heading_path_display(path: &[String]) -> String {
    path.join(" › ")
}

impl Document {
    /// The chunk `chunk` is taken from this document: checks the span
    /// invariant, so callers can rely on `chunk.text == self.text[chunk.span]`.
    pub fn check_chunk(&self, chunk: &Chunk) -> bool {
        chunk.doc_id == self.id && chunk.span.slice(&self.text).is_ok_and(|t| t == chunk.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_round_trips_through_json() {
        let text = "Intro.\n\nBody text.".to_owned();
        let doc = Document {
            id: DocId::from_source("a.md"),
            source: "a.md".into(),
            locator: String::new(),
            title: "A".into(),
            format: "markdown".into(),
            sections: vec![Section { heading_path: vec!["Body".into()], span: Span::within(&text, 8, 18).unwrap() }],
            text,
            metadata: BTreeMap::new(),
        };
        let json = serde_json::to_string(&doc).unwrap();
        assert!(!json.contains("locator"));
        let back: Document = serde_json::from_str(&json).unwrap();
        assert_eq!(back, doc);
        let chunk = Chunk {
            id: doc.id.chunk(0),
            doc_id: doc.id.clone(),
            heading_path: vec!["Body".into()],
            span: Span::new(8, 18).unwrap(),
            token_count: 3,
            text: "Body text.".into(),
        };
        assert!(doc.check_chunk(&chunk));
        assert!(!doc.check_chunk(&Chunk { span: Span::new(0, 10).unwrap(), ..chunk }));
    }
}
