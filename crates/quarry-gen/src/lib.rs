//! Grounded synthetic data generation.
//!
//! `qa` is the main task: seed chunks chosen to cover the corpus ([`seeds`]), a question
//! written from each ([`prompts`], filtered by [`filters`]), retrieval with the question,
//! an answer with citations from the passages retrieval shows, and verification of every
//! citation down to the span (quarry-audit). Results go to a resumable run directory
//! ([`run_dir`]). Models are reached only through quarry-llm's `ChatModel`.
//!
//! Layout: [`engine`] is what every task shares (model calls, schemas, the slot loop,
//! run.json, dedup); [`tasks`] holds one module per task; nothing in `engine` imports a task.

pub mod dedup;
pub mod engine;
mod error;
pub mod filters;
pub mod prompts;
pub mod run_dir;
pub mod seeds;
pub mod tasks;
pub mod topic_tree;

pub use engine::slots::{Progress, SlotTask};
pub use engine::{SamplingOverride, record::manual_reject};
pub use error::GenError;
pub use prompts::{Prompts, Template};
pub use run_dir::RunDir;
pub use tasks::qa::{QaConfig, QaGenerator, QuestionType};
