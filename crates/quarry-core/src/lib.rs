//! The shared vocabulary of quarry: documents, chunks, spans, ids and the on-disk
//! record types that every stage reads and writes.
//!
//! This crate does no I/O. Everything here is plain data plus pure functions, so
//! every other crate can depend on it without pulling in a runtime.

mod document;
mod id;
mod span;

pub use document::{Chunk, Document, Section, heading_path_display};
pub use id::{ChunkId, DocId, IdError};
pub use span::{Span, SpanError};

/// The version of the on-disk store format written by `quarry ingest`.
///
/// Readers refuse a store whose version they do not know instead of guessing.
pub const STORE_FORMAT_VERSION: u32 = 1;
