//! Examples for training a model to answer from retrieved passages: made by quarry-gen's
//! `rag` module from Q&A records, written by quarry-report's `export_rag`.

use serde::{Deserialize, Serialize};

/// A passage in a prompt, numbered from 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RagPassage {
    pub n: usize,
    pub chunk_id: String,
    pub doc_id: String,
    pub title: String,
    pub heading_path: Vec<String>,
    pub text: String,
    /// The record cites it.
    pub cited: bool,
    /// Added by retrieval with the question (not shown when the record was made).
    pub distractor: bool,
}

/// A citation of the answer, by its passage number in the prompt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RagCitation {
    pub n: usize,
    pub chunk_id: String,
    pub quote: String,
    /// Bytes of the document's text: `text[start..end] == quote`.
    pub span: [usize; 2],
}

/// One training example.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RagExample {
    /// `<record id>` or `<record id>-unanswerable`.
    pub id: String,
    pub record_id: String,
    pub question: String,
    pub passages: Vec<RagPassage>,
    /// The answer with `[n]` citations (or the unanswerable sentence).
    pub answer: String,
    pub citations: Vec<RagCitation>,
    pub unanswerable: bool,
}
