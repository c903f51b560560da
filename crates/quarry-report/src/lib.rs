//! Renders a quarry generation run for people and exports it to fine-tuning formats.
//!
//! - [`render_html`]: one self-contained, offline HTML audit report of a run (summary,
//!   charts, every record with its cited passages highlighted, every reject).
//! - [`render_terminal`] / [`render_reject_terminal`]: one record or reject for
//!   `quarry audit <run-dir> <record-id>`.
//! - [`export`]: `data/train.jsonl` in an OpenAI / ShareGPT / Alpaca / TRL / raw JSONL shape
//!   plus a Hugging Face dataset card (`README.md`).
//!
//! Everything here is pure rendering except [`export`] and [`write_html`], which write
//! files atomically (temporary file in the same directory, fsync, rename).

mod escape;
mod export;
mod fsutil;
mod highlight;
mod html;
mod summary;
mod terminal;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use quarry_core::{Record, Reject};

pub use export::{CardInfo, ExportFormat, ExportSummary, export, render_card, size_category};
pub use html::{render_html, write_html};
pub use terminal::{render_reject_terminal, render_terminal};

/// A chunk as the report shows it: where it is and its text (the verifier's passage view).
pub use quarry_audit::PassageView as ChunkView;

/// A generation run as the report reads it.
#[derive(Clone, Debug, Default)]
pub struct RunView {
    /// `run.json` (config, counts, tokens, time). Known keys are shown in the summary;
    /// everything is also shown generically. Missing keys are fine.
    pub run: serde_json::Value,
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
    /// Every chunk a record cites or shows, by chunk id. Missing chunks are tolerated
    /// (the citation's quote is shown on its own).
    pub chunks: HashMap<String, ChunkView>,
}

/// The chunk ids a [`RunView`] needs for these records and rejects: every cited chunk,
/// every passage shown to the model and every seed chunk, sorted.
pub fn needed_chunks(records: &[Record], rejects: &[Reject]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for r in records {
        ids.extend(r.citations.iter().map(|c| c.chunk_id.clone()));
        ids.extend(r.passages.iter().cloned());
        ids.extend(r.seed_chunks.iter().cloned());
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
    #[error("unknown export format {0:?} (expected openai, sharegpt, alpaca, trl or jsonl)")]
    UnknownFormat(String),
}
