//! Turns a corpus into normalised documents and chunks with exact spans.
//!
//! Loaders (one module per format) produce [`quarry_core::Document`]s whose
//! `text` is normalised and whose sections carry heading paths; the
//! [`chunker`] cuts each section into token-sized chunks; [`store`] writes both
//! in a versioned, append-only form that later stages read. [`ingest()`] runs
//! the whole thing over files and directories.

pub mod chunker;
mod error;
pub mod gutenberg;
pub mod html;
mod ingest;
pub mod language;
pub mod plain;
pub mod sections;
pub mod sources;
pub mod store;
pub mod text;
pub mod wiki;

pub use chunker::{Chunker, ChunkerSettings};
pub use error::{IngestError, Skip, SkipReason};
pub use ingest::{IngestOptions, NoProgress, Progress, Summary, ingest};
pub use store::{Store, StoreWriter, StoredChunk};

pub use quarry_core::cache_dir;
