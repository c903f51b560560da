//! The chat vocabulary and the one trait every backend implements.

use serde::{Deserialize, Serialize};

use crate::error::LlmError;

/// Who speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Message {
        Message { role: Role::System, content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Message {
        Message { role: Role::User, content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> Message {
        Message { role: Role::Assistant, content: content.into() }
    }
}

/// What a call is for; each purpose has its own sampling defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Grounded factual answers: low temperature and top_p.
    Factual,
    /// Writing questions: some variety.
    Questions,
    /// Conversations: more variety.
    Conversation,
    /// Prose passages.
    Prose,
    /// Judging and checking: deterministic.
    Judge,
}

/// Sampling parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
}

impl Purpose {
    /// The defaults for this purpose; every field can be overridden per task.
    pub fn sampling(self) -> Sampling {
        match self {
            Purpose::Factual => Sampling { temperature: 0.2, top_p: 0.9, max_tokens: 512 },
            Purpose::Questions => Sampling { temperature: 0.7, top_p: 0.95, max_tokens: 256 },
            Purpose::Conversation => Sampling { temperature: 0.9, top_p: 0.95, max_tokens: 1024 },
            Purpose::Prose => Sampling { temperature: 0.8, top_p: 0.95, max_tokens: 1024 },
            Purpose::Judge => Sampling { temperature: 0.0, top_p: 1.0, max_tokens: 256 },
        }
    }
}

/// One chat call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub stop: Vec<String>,
    /// A JSON schema the reply must satisfy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
}

impl ChatRequest {
    /// A request with the sampling defaults of `purpose`.
    pub fn new(messages: Vec<Message>, purpose: Purpose) -> ChatRequest {
        let s = purpose.sampling();
        ChatRequest {
            messages,
            temperature: s.temperature,
            top_p: s.top_p,
            max_tokens: s.max_tokens,
            seed: None,
            stop: Vec::new(),
            schema: None,
        }
    }

    pub fn with_schema(mut self, schema: serde_json::Value) -> ChatRequest {
        self.schema = Some(schema);
        self
    }

    pub fn with_seed(mut self, seed: u64) -> ChatRequest {
        self.seed = Some(seed);
        self
    }

    /// A rough token count of the prompt (4 characters a token), to notice
    /// servers that silently truncate.
    pub fn estimated_prompt_tokens(&self) -> u64 {
        self.messages.iter().map(|m| m.content.chars().count() as u64 / 4 + 4).sum()
    }
}

/// Why generation stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    Other,
}

/// Token usage of one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// How long a call took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Wall time including retries and waits, in milliseconds.
    pub total_ms: f64,
    /// Attempts made (1 when the first succeeded; 0 for a cache hit).
    pub attempts: u32,
}

/// The answer to a chat call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    /// The parsed reply, when a schema was asked for (it validates against it).
    pub json: Option<serde_json::Value>,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    pub timings: Timings,
    /// The model that answered, as the server names it.
    pub model: String,
    /// Served from the response cache.
    #[serde(default)]
    pub cached: bool,
}

/// A chat model: an HTTP server or an embedded one.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync {
    /// `openai:<base url>` or `llama.cpp:<gguf path>`; part of every cache key.
    fn backend(&self) -> String;
    /// The model name.
    fn model(&self) -> String;
    /// One chat call.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;
}
