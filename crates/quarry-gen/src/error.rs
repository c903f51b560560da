//! Errors of generation. Each keeps the path it concerns and the error underneath, so a
//! message names the file and `source()` walks to the cause.

use std::path::PathBuf;

/// Errors of generation.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// Reading or writing a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of a JSONL file (records, rejects) is not what quarry wrote.
    #[error("{} line {line}: {source}", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    /// A JSON file (run.json, tree.json) is not what quarry wrote; `what` says what it
    /// should have been.
    #[error("{}: {what}: {source}", path.display())]
    BadJson {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A run directory exists with another configuration.
    #[error(
        "{} was made with another configuration ({diff}); use a new --out directory, or the same settings to resume",
        dir.display()
    )]
    ConfigChanged { dir: PathBuf, diff: String },
    /// A recorded chunk id is not in the index (the index was rebuilt or is another one).
    #[error("chunk {chunk} is not in {}", index.display())]
    UnknownChunk { chunk: String, index: PathBuf },
    /// A recorded chunk id does not have the shape of one.
    #[error(transparent)]
    BadChunkId(#[from] quarry_core::IdError),
    /// The index's store could not be read.
    #[error("reading the store {}: {source}", dir.display())]
    Store {
        dir: PathBuf,
        #[source]
        source: quarry_ingest::IngestError,
    },
    /// A prompt template is malformed, or cannot be written.
    #[error("{0}")]
    Prompt(String),
    /// A setting cannot work (a flag's value, a controls file, an empty plan).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Index(#[from] quarry_index::IndexError),
    #[error(transparent)]
    Llm(#[from] quarry_llm::LlmError),
    /// The model server cannot do the run's work (unreachable from the start, the key
    /// refused, no such model or endpoint, or gone for several calls in a row): the run stops
    /// at once rather than spend its slots on failures.
    #[error(
        "{source}\n{why}: the run stopped; every record accepted so far is kept, and the same command resumes once the server answers"
    )]
    LlmDown {
        why: String,
        #[source]
        source: quarry_llm::LlmError,
    },
}

impl GenError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> GenError {
        GenError::Io { path: path.into(), source }
    }
}
