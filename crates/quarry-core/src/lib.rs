//! The shared vocabulary of quarry: documents, chunks, spans, ids and the on-disk
//! record types that every stage reads and writes.
//!
//! This crate does no I/O. Everything here is plain data plus pure functions, so
//! every other crate can depend on it without pulling in a runtime. (The one exception,
//! [`cache_dir`], reads two environment variables.)

mod document;
mod id;
mod rag;
mod record;
mod run;
pub mod script;
mod shard;
mod span;

pub use document::{Chunk, Document, Section, heading_path_display};
pub use id::{ChunkId, DocId, IdError};
pub use rag::{RagCitation, RagExample, RagPassage};
pub use record::{
    Citation, Controls, Preference, QuoteMatch, RECORD_SCHEMA_VERSION, Record, RecordId, Reject, Role, SamplingRecord,
    Scores, SentenceSupport, StageTimings, Task, TokenUsage, TopicStatus, Turn, Verdict, empty_none,
};
pub use run::{Counts, DedupSummary, DuplicateCluster, RunSummary, RunTotals};
pub use shard::{SHARD_VARIABLES, Shard};
pub use span::{Span, SpanError};

/// The version of the on-disk store format written by `quarry ingest`.
///
/// Readers refuse a store whose version they do not know instead of guessing.
pub const STORE_FORMAT_VERSION: u32 = 1;

/// quarry's cache root (models, libraries, the LLM response cache): `$QUARRY_CACHE`, else
/// `~/.cache/quarry`. Reads the environment only; touches no file.
pub fn cache_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(dir) = std::env::var_os("QUARRY_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/quarry")
}
