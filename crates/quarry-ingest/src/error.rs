//! Errors and skips.
//!
//! An [`IngestError`] stops the run (the output directory cannot be written, the
//! tokenizer is missing). A [`Skip`] is one bad input — a file, a page, a line —
//! that is reported, counted and passed over while the run goes on.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// What stops an ingest run.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The tokenizer file could not be loaded.
    #[error("cannot load tokenizer {path}: {message}")]
    Tokenizer { path: PathBuf, message: String },
    /// The chunker settings are not usable.
    #[error("bad chunker settings: {0}")]
    ChunkerConfig(String),
    /// The output directory holds something this version cannot use.
    #[error("{path}: {message}")]
    Store { path: PathBuf, message: String },
    /// The inputs cannot be ingested together.
    #[error("{0}")]
    Inputs(String),
}

impl IngestError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> IngestError {
        IngestError::Io { path: path.into(), source }
    }

    pub(crate) fn store(path: impl Into<PathBuf>, message: impl Into<String>) -> IngestError {
        IngestError::Store { path: path.into(), message: message.into() }
    }
}

/// Why an input, or part of one, was passed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The path does not exist.
    NotFound,
    /// Reading failed (permissions, a directory loop, a device error).
    Unreadable,
    /// The file holds binary data.
    Binary,
    /// The bytes are neither UTF-8 nor plausible Windows-1252 text.
    Encoding,
    /// Nothing is left after normalising.
    Empty,
    /// A line is too long to be prose (a minified or generated file).
    LineTooLong,
    /// The file is not well-formed for its format (XML, JSON, EPUB).
    Malformed,
    /// The archive ends early or is corrupt.
    Truncated,
    /// No loader reads this kind of file.
    UnsupportedFormat,
    /// The page is too large to convert within the per-page limits.
    TooLarge,
    /// A Wikipedia redirect page (expected; not an error).
    Redirect,
    /// A Wikipedia disambiguation page (expected; not an error).
    Disambiguation,
    /// A page outside the article namespace (expected; not an error).
    NotArticle,
}

impl SkipReason {
    /// Whether this skip is an expected part of the input (redirects in a
    /// dump) rather than a problem a person should look at.
    pub fn is_expected(self) -> bool {
        matches!(self, SkipReason::Redirect | SkipReason::Disambiguation | SkipReason::NotArticle)
    }

    /// The reason as a short snake_case word, as in the JSON summary.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotFound => "not_found",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Binary => "binary",
            SkipReason::Encoding => "encoding",
            SkipReason::Empty => "empty",
            SkipReason::LineTooLong => "line_too_long",
            SkipReason::Malformed => "malformed",
            SkipReason::Truncated => "truncated",
            SkipReason::UnsupportedFormat => "unsupported_format",
            SkipReason::TooLarge => "too_large",
            SkipReason::Redirect => "redirect",
            SkipReason::Disambiguation => "disambiguation",
            SkipReason::NotArticle => "not_article",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One input, or part of one, that was passed over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// The file, as the user named it or as found under a directory.
    pub path: String,
    /// Where in the file (`page 12 "Title"`, `line 7`), when it matters.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub locator: String,
    pub reason: SkipReason,
    /// A sentence a person can act on.
    pub message: String,
}

impl Skip {
    pub(crate) fn new(path: impl Into<String>, reason: SkipReason, message: impl Into<String>) -> Skip {
        Skip { path: path.into(), locator: String::new(), reason, message: message.into() }
    }

    pub(crate) fn at(mut self, locator: impl Into<String>) -> Skip {
        self.locator = locator.into();
        self
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.locator.is_empty() {
            write!(f, "{}: {} ({})", self.path, self.message, self.reason)
        } else {
            write!(f, "{}: {}: {} ({})", self.path, self.locator, self.message, self.reason)
        }
    }
}
