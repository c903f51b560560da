//! Errors of the LLM crate.

/// Why a chat call failed. Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The server could not be reached (refused, reset, DNS, TLS).
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    /// No answer within the per-request timeout, after every attempt.
    #[error("{url}: no answer within {seconds}s (after {attempts} attempts)")]
    Timeout { url: String, seconds: u64, attempts: u32 },
    /// The server kept answering with an error status.
    #[error("{url}: HTTP {status} after {attempts} attempts: {body}")]
    Status { url: String, status: u16, attempts: u32, body: String },
    /// The reply could not be read as a chat completion.
    #[error("{url}: unreadable reply: {message}")]
    BadReply { url: String, message: String },
    /// The reply did not satisfy the JSON schema, even after a repair attempt.
    /// `raw` keeps the model's text for the rejects file; `usage` the tokens both calls
    /// spent, so a failed reply is still paid for in the accounts.
    #[error("reply does not match the schema: {message}")]
    Schema { message: String, raw: String, usage: crate::Usage },
    /// The response cache failed.
    #[error("response cache {path}: {message}")]
    Cache { path: String, message: String },
    /// Bad configuration (no base URL, a malformed schema).
    #[error("{0}")]
    Config(String),
}

impl LlmError {
    /// Whether trying again may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, LlmError::Unreachable { .. } | LlmError::Timeout { .. } | LlmError::Status { .. })
    }
}
