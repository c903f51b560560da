//! Errors of the index crate.

use std::path::PathBuf;

/// Everything that can go wrong while building or querying an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// ONNX Runtime's shared library could not be found or loaded.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// The embedding model could not be loaded or run.
    #[error("embedding model {model}: {message}")]
    Model { model: String, message: String },
    /// The index was built with another embedder than the one asked for.
    #[error(
        "{path} was built with embedder {built} but {asked} was asked for; rebuild the index or use the same --model"
    )]
    EmbedderMismatch { path: PathBuf, built: String, asked: String },
    /// The BM25 index failed.
    #[error("BM25 index {path}: {message}")]
    Bm25 { path: PathBuf, message: String },
    /// The vector store failed.
    #[error("vector store {location}: {message}")]
    Vectors { location: String, message: String },
    /// The index directory is not usable.
    #[error("{path}: {message}")]
    Index { path: PathBuf, message: String },
    /// Bad arguments (a vectors URL, a mode name).
    #[error("{0}")]
    Usage(String),
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> IndexError {
        IndexError::Io { path: path.into(), source }
    }

    pub(crate) fn vectors(location: impl Into<String>, message: impl ToString) -> IndexError {
        IndexError::Vectors { location: location.into(), message: message.to_string() }
    }
}

pub type Result<T, E = IndexError> = std::result::Result<T, E>;
