//! Renders a quarry generation run for people and exports it to fine-tuning formats.
//!
//! - [`render_html`]: one self-contained, offline HTML audit report of a run (summary,
//!   charts, every record with its cited passages highlighted, every reject).
//! - [`render_terminal`] / [`render_reject_terminal`]: one record or reject for
//!   `quarry audit <run-dir> <record-id>`.
//! - [`export`]: `data/train.jsonl` in an OpenAI / ShareGPT / Alpaca / TRL / plain-text / raw
//!   JSONL shape, chosen per task (Q&A, dialogues, preference pairs, passages), plus a
//!   Hugging Face dataset card (`README.md`).
//! - [`text_quality`] / [`export_corpus_text`]: corpus chunks as pre-training text, with a
//!   quality filter (length, symbols, repetition).
//!
//! Every task of the v2 record schema is rendered in its own shape: Q&A, dialogues
//! (`followup`, `conversation`) turn by turn with each turn's evidence, passages
//! (`pretrain`) paragraph by paragraph, preference pairs (`dpo`) chosen beside rejected,
//! and topic-tree nodes (`topic`) under their path.
//!
//! Everything here is pure rendering except [`export`], [`export_corpus_text`] and
//! [`write_html`], which write files atomically (temporary file in the same directory,
//! fsync, rename).

mod corpus;
mod escape;
mod export;
mod fsutil;
mod highlight;
mod html;
mod rag;
mod summary;
mod task;
mod terminal;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use quarry_core::{Record, Reject};

pub use corpus::{
    CorpusChunk, CorpusTextSummary, TextQuality, TextReject, export_corpus_text, render_corpus_card, text_quality,
};
pub use export::{CardInfo, ExportFormat, ExportSummary, export, render_card, size_category};
pub use html::{REVIEW_CATEGORIES, render_html, write_html};
pub use rag::{RAG_SYSTEM, RagStyle, export_rag, rag_prompt};
pub use terminal::{render_reject_terminal, render_terminal};

/// A chunk as the report shows it: where it is and its text (the verifier's passage view).
pub use quarry_audit::PassageView as ChunkView;

/// A generation run as the report reads it.
#[derive(Clone, Debug, Default)]
pub struct RunView {
    /// `run.json` (config, counts, tokens, time). Known keys are shown in the summary;
    /// everything is also shown generically. Missing keys are fine.
    pub run: quarry_core::RunSummary,
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
    /// Every chunk a record cites or shows, by chunk id. Missing chunks are tolerated
    /// (the citation's quote is shown on its own).
    pub chunks: HashMap<String, ChunkView>,
    /// Accepted records by the language of their seed document (ISO 639-1), when known.
    pub languages: std::collections::BTreeMap<String, usize>,
}

/// The chunk ids a [`RunView`] needs for these records and rejects: every cited chunk,
/// every passage shown to the model and every seed chunk (those of each turn included),
/// sorted.
pub fn needed_chunks(records: &[Record], rejects: &[Reject]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for r in records {
        ids.extend(r.citations.iter().map(|c| c.chunk_id.clone()));
        ids.extend(r.passages.iter().cloned());
        ids.extend(r.seed_chunks.iter().cloned());
        for t in &r.turns {
            ids.extend(t.citations.iter().map(|c| c.chunk_id.clone()));
            ids.extend(t.passages.iter().cloned());
        }
    }
    for r in rejects {
        ids.extend(r.seed_chunks.iter().cloned());
    }
    ids
}

/// What can go wrong while exporting or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise record {id}: {source}")]
    Json {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("unknown export format {0:?} (expected openai, sharegpt, alpaca, trl, text, jsonl or rag)")]
    UnknownFormat(String),
    /// A topic run (a topic tree) exported in a format other than `jsonl`.
    #[error(
        "topic runs are exported as jsonl (or use the run's tree.json), not as {format}: a topic-tree node is no \
         training example"
    )]
    TopicExport { format: String },
    /// Preference pairs and other tasks in one export whose rows would not share a shape.
    #[error(
        "a {format} export cannot mix dpo records with other tasks ({tasks}): their rows have different shapes; \
         export them separately, or as jsonl or text"
    )]
    MixedTasks { format: String, tasks: String },
}
