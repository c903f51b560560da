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
    /// Keep only the k most likely tokens (the embedded backend and servers that take it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub top_k: Option<u32>,
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
            top_k: None,
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

    /// `n` independent replies to one request. The default makes `n` calls with seeds
    /// `seed, seed+1, ...`; backends that can do better (one request with `n`, or one batch)
    /// override it.
    async fn chat_n(&self, request: &ChatRequest, n: u32) -> Result<Vec<ChatResponse>, LlmError> {
        separate_calls(self, request, n).await
    }

    /// How the server was loaded (requests in flight, 429s): a server's client reports it;
    /// `None` for the embedded model.
    fn load(&self) -> Option<crate::LoadReport> {
        None
    }
}

#[async_trait::async_trait]
impl<T: ChatModel + ?Sized> ChatModel for std::sync::Arc<T> {
    fn backend(&self) -> String {
        (**self).backend()
    }
    fn model(&self) -> String {
        (**self).model()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        (**self).chat(request).await
    }
    async fn chat_n(&self, request: &ChatRequest, n: u32) -> Result<Vec<ChatResponse>, LlmError> {
        (**self).chat_n(request, n).await
    }
    fn load(&self) -> Option<crate::LoadReport> {
        (**self).load()
    }
}

/// `n` replies as `n` calls with seeds `seed, seed+1, ...`, run concurrently.
pub async fn separate_calls<M: ChatModel + ?Sized>(
    model: &M,
    request: &ChatRequest,
    n: u32,
) -> Result<Vec<ChatResponse>, LlmError> {
    let requests: Vec<ChatRequest> = (0..n as u64)
        .map(|i| {
            let mut r = request.clone();
            r.seed = Some(request.seed.unwrap_or(0).wrapping_add(i));
            r
        })
        .collect();
    let calls = requests.iter().map(|r| model.chat(r));
    futures::future::join_all(calls).await.into_iter().collect()
}

/// A backend's single unvalidated completion; [`validated`] adds the schema check and
/// the one repair attempt that every backend shares.
#[async_trait::async_trait]
pub(crate) trait Complete: Send + Sync {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;
}

/// Runs `request`; when it carries a schema, parses and validates the reply, and on a
/// mismatch shows the model its reply and the problem once. A reply that still fails is a
/// [`LlmError::Schema`] with the raw text kept.
pub(crate) async fn validated(backend: &dyn Complete, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
    let mut response = backend.complete(request).await?;
    let Some(schema) = &request.schema else { return Ok(response) };
    match crate::schema::check(schema, &response.text) {
        Ok(v) => response.json = Some(v),
        Err(problem) => {
            let mut repair = request.clone();
            repair.messages.push(Message::assistant(response.text.clone()));
            repair.messages.push(Message::user(format!(
                "That reply is not valid: {problem}. Reply again with only the corrected JSON object."
            )));
            let fixed = backend.complete(&repair).await?;
            response.usage.prompt_tokens += fixed.usage.prompt_tokens;
            response.usage.completion_tokens += fixed.usage.completion_tokens;
            response.timings.total_ms += fixed.timings.total_ms;
            response.timings.attempts += fixed.timings.attempts;
            match crate::schema::check(schema, &fixed.text) {
                Ok(v) => {
                    response.text = fixed.text;
                    response.json = Some(v);
                    response.finish_reason = fixed.finish_reason;
                }
                Err(problem) => {
                    return Err(LlmError::Schema { message: problem, raw: fixed.text, usage: response.usage });
                }
            }
        }
    }
    Ok(response)
}
