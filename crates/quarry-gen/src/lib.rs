//! Grounded synthetic data generation.
//!
//! `qa` is the main task: seed chunks chosen to cover the corpus ([`seeds`]), a question
//! written from each ([`prompts`], filtered by [`filters`]), retrieval with the question,
//! an answer with citations from the passages retrieval shows, and verification of every
//! citation down to the span (quarry-audit). Results go to a resumable run directory
//! ([`run_dir`]). Models are reached only through quarry-llm's `ChatModel`.

pub mod controls;
pub mod conversation;
pub mod dedup;
pub mod dpo;
pub mod engine;
pub mod filters;
pub mod followup;
pub mod pretrain;
pub mod prompts;
pub mod qa;
pub mod run_dir;
pub mod seeds;
pub mod topics;

pub use engine::{Progress, RunSummary, SamplingOverride};
pub use prompts::{Prompts, Template};
pub use qa::{QaConfig, QaGenerator, QuestionType};
pub use run_dir::RunDir;

/// Errors of generation.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}")]
    Corrupt(String),
    #[error("{0} was made with another configuration ({1}); use a new --out directory, or the same settings to resume")]
    ConfigChanged(String, String),
    #[error("{0}")]
    Prompt(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Index(#[from] quarry_index::IndexError),
    #[error(transparent)]
    Llm(#[from] quarry_llm::LlmError),
}
