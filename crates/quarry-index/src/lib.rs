//! Embeddings, BM25, vector stores and hybrid retrieval over quarry's chunks.
//!
//! The only crate that touches tantivy, fastembed/ONNX Runtime or Qdrant.

pub mod analyzer;
pub mod bm25;
pub mod embed;
mod error;
pub mod vectors;

pub use embed::{Embedder, EmbedderInfo, ModelSpec, Precision};
pub use error::{IndexError, Result};
pub mod eval;
pub mod index;

pub use index::{Fusion, Hit, Index, IndexManifest, Mode, SearchOptions, UpdateStats};
