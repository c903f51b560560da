//! LLM access for quarry: one async chat trait, an OpenAI-compatible HTTP
//! backend, structured (JSON-schema) output with validation and one repair
//! attempt, retries that honour `Retry-After`, bounded concurrency and rate
//! limits, and a persistent content-addressed response cache.
//!
//! The only crate that speaks HTTP to a model; the only one that holds an API key.

mod cache;
mod chat;
mod error;
mod key;
mod openai;
mod schema;

pub use cache::{Cache, CacheStats, Cached};
pub use chat::{ChatModel, ChatRequest, ChatResponse, FinishReason, Message, Purpose, Role, Sampling, Timings, Usage};
pub use error::LlmError;
pub use key::ApiKey;
pub use openai::{OpenAiClient, OpenAiConfig, RetryPolicy, StructuredMode};
