//! The OpenAI-compatible chat-completions backend (vLLM, llama.cpp's server,
//! Ollama, SGLang, OpenAI and the like).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};

use crate::chat::{
    ChatModel, ChatRequest, ChatResponse, Complete, FinishReason, Message, Timings, Usage, separate_calls, validated,
};
use crate::error::LlmError;
use crate::key::ApiKey;

/// How replies are constrained to a JSON schema. Servers differ, so the first
/// structured call finds out and the client remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredMode {
    /// `response_format: {"type": "json_schema", ...}` (OpenAI, vLLM, SGLang).
    JsonSchema,
    /// `response_format: {"type": "json_object", "schema": ...}` (llama-cpp-python).
    JsonObject,
    /// The schema in the prompt only; the reply is still validated.
    Prompt,
}

/// Retries: exponential backoff with jitter, `Retry-After` honoured.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(60) }
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    /// e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    /// Per-request timeout.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Requests in flight at once, at most.
    pub max_concurrency: usize,
    /// Requests in flight at least: below `max_concurrency` the limit adapts between the two
    /// (see [`crate::Limiter`]); equal to it, the limit is fixed.
    pub min_concurrency: usize,
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
}

impl OpenAiConfig {
    /// Settings from the environment: QUARRY_BASE_URL or OPENAI_BASE_URL,
    /// QUARRY_MODEL_NAME or OPENAI_MODEL, QUARRY_API_KEY or OPENAI_API_KEY.
    pub fn from_env() -> Result<OpenAiConfig, LlmError> {
        let var = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
        let base_url = var(&["QUARRY_BASE_URL", "OPENAI_BASE_URL"]).ok_or_else(|| {
            LlmError::Config("no server: set QUARRY_BASE_URL or OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1)".into())
        })?;
        Ok(OpenAiConfig {
            base_url,
            model: var(&["QUARRY_MODEL_NAME", "OPENAI_MODEL"]).unwrap_or_else(|| "default".into()),
            api_key: ApiKey::from_env(&["QUARRY_API_KEY", "OPENAI_API_KEY"]),
            ..OpenAiConfig::new("", "")
        })
    }

    /// Defaults around a base URL and model.
    pub fn new(base_url: &str, model: &str) -> OpenAiConfig {
        OpenAiConfig {
            base_url: base_url.to_owned(),
            model: model.to_owned(),
            api_key: None,
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            max_concurrency: 8,
            min_concurrency: 8,
            requests_per_minute: None,
            tokens_per_minute: None,
        }
    }
}

/// Requests and tokens sent in the current minute window.
#[derive(Debug)]
struct Window {
    started: Instant,
    requests: u32,
    tokens: u64,
}

/// An OpenAI-compatible chat client.
pub struct OpenAiClient {
    cfg: OpenAiConfig,
    http: reqwest::Client,
    url: String,
    slots: crate::Limiter,
    mode: Mutex<Option<StructuredMode>>,
    window: tokio::sync::Mutex<Window>,
    totals: Mutex<Usage>,
    /// The server was found not to give `n` choices in one request.
    n_refused: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient").field("url", &self.url).field("model", &self.cfg.model).finish()
    }
}

/// The outcome of one HTTP attempt.
enum Attempt {
    Done(Value),
    /// Worth another try, after at least this long.
    Retry(LlmError, Option<Duration>),
    Fail(LlmError),
}

impl OpenAiClient {
    pub fn new(cfg: OpenAiConfig) -> Result<OpenAiClient, LlmError> {
        if cfg.base_url.is_empty() {
            return Err(LlmError::Config("no base URL for the OpenAI-compatible server".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build an HTTP client: {e}")))?;
        let url = format!("{}/chat/completions", cfg.base_url.trim_end_matches('/'));
        Ok(OpenAiClient {
            slots: crate::Limiter::new(cfg.min_concurrency.min(cfg.max_concurrency), cfg.max_concurrency),
            http,
            url,
            mode: Mutex::new(None),
            window: tokio::sync::Mutex::new(Window { started: Instant::now(), requests: 0, tokens: 0 }),
            totals: Mutex::new(Usage::default()),
            n_refused: std::sync::atomic::AtomicBool::new(false),
            cfg,
        })
    }

    /// What structured-output mode the server was found to take, once known.
    pub fn structured_mode(&self) -> Option<StructuredMode> {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tokens used by every call of this client so far.
    pub fn usage(&self) -> Usage {
        *self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the request and token budgets of the current minute allow one more call.
    async fn wait_for_budget(&self, tokens: u64) {
        if self.cfg.requests_per_minute.is_none() && self.cfg.tokens_per_minute.is_none() {
            return;
        }
        loop {
            let mut w = self.window.lock().await;
            if w.started.elapsed() >= Duration::from_secs(60) {
                *w = Window { started: Instant::now(), requests: 0, tokens: 0 };
            }
            let rpm_ok = self.cfg.requests_per_minute.is_none_or(|r| w.requests < r);
            let tpm_ok = self.cfg.tokens_per_minute.is_none_or(|t| w.tokens == 0 || w.tokens + tokens <= t as u64);
            if rpm_ok && tpm_ok {
                w.requests += 1;
                w.tokens += tokens;
                return;
            }
            let wait = Duration::from_secs(60).saturating_sub(w.started.elapsed());
            drop(w);
            tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
        }
    }

    fn body(&self, request: &ChatRequest, mode: Option<StructuredMode>) -> Value {
        let mut messages = request.messages.clone();
        let mut body = json!({
            "model": self.cfg.model,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
        });
        if let Some(k) = request.top_k {
            body["top_k"] = json!(k);
        }
        if let Some(seed) = request.seed {
            body["seed"] = json!(seed);
        }
        if !request.stop.is_empty() {
            body["stop"] = json!(request.stop);
        }
        if let Some(schema) = &request.schema {
            // Every mode also says it in words: servers that ignore the field
            // still answer, and the reply is validated either way.
            let instruction = format!(
                "Reply with only a JSON object, no other text, that satisfies this JSON schema:\n{}",
                serde_json::to_string(schema).expect("serialisable")
            );
            messages.insert(0, Message::system(instruction));
            match mode.unwrap_or(StructuredMode::JsonSchema) {
                StructuredMode::JsonSchema => {
                    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "reply", "strict": true, "schema": schema}});
                }
                StructuredMode::JsonObject => {
                    body["response_format"] = json!({"type": "json_object", "schema": schema});
                }
                StructuredMode::Prompt => {}
            }
        }
        body["messages"] = serde_json::to_value(&messages).expect("serialisable");
        body
    }

    async fn attempt(&self, body: &Value) -> Attempt {
        let mut req = self.http.post(&self.url).json(body);
        if let Some(key) = &self.cfg.api_key {
            let mut v =
                HeaderValue::from_str(&format!("Bearer {}", key.expose())).unwrap_or(HeaderValue::from_static(""));
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(
                    LlmError::Timeout { url: self.url.clone(), seconds: self.cfg.timeout.as_secs(), attempts: 0 },
                    None,
                );
            }
            Err(e) => {
                return Attempt::Retry(LlmError::Unreachable { url: self.url.clone(), message: redacted(&e) }, None);
            }
        };
        let status = resp.status();
        let retry_after = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(
                    LlmError::Timeout { url: self.url.clone(), seconds: self.cfg.timeout.as_secs(), attempts: 0 },
                    None,
                );
            }
            Err(e) => {
                return Attempt::Retry(
                    LlmError::BadReply { url: self.url.clone(), message: format!("body cut off: {}", redacted(&e)) },
                    None,
                );
            }
        };
        if status.is_success() {
            return match serde_json::from_str::<Value>(&text) {
                Ok(v) if v["choices"][0]["message"].is_object() => Attempt::Done(v),
                Ok(_) => Attempt::Retry(
                    LlmError::BadReply { url: self.url.clone(), message: "no choices[0].message in the reply".into() },
                    None,
                ),
                Err(e) => Attempt::Retry(
                    LlmError::BadReply { url: self.url.clone(), message: format!("not JSON: {e}") },
                    None,
                ),
            };
        }
        let body: String = text.chars().take(500).collect();
        let err = LlmError::Status { url: self.url.clone(), status: status.as_u16(), attempts: 0, body };
        if matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error() {
            Attempt::Retry(err, retry_after)
        } else {
            Attempt::Fail(err)
        }
    }

    /// Sends with retries; returns the reply and the attempts made.
    async fn send(&self, body: &Value, structured_probe: bool) -> Result<(Value, u32), LlmError> {
        let policy = self.cfg.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            // A place in flight is held for one attempt, not through the backoff after it:
            // a request waiting to retry leaves its place to one the server can take now.
            let place = self.slots.acquire().await;
            let sent = Instant::now();
            let outcome = self.attempt(body).await;
            let (err, after) = match outcome {
                Attempt::Done(v) => {
                    // The server's speed, from replies at the first attempt only.
                    if attempt == 1 {
                        place.done(sent.elapsed(), v["usage"]["completion_tokens"].as_u64().unwrap_or(0));
                    }
                    return Ok((v, attempt));
                }
                Attempt::Fail(e) => return Err(with_attempts(e, attempt)),
                Attempt::Retry(e, after) => (e, after),
            };
            drop(place);
            // The server is full: fewer requests at once.
            if let LlmError::Status { status: 429 | 503, .. } = &err {
                self.slots.throttled();
            }
            // A server that rejects the structured-output field answers with
            // an error naming it: that is not a transient failure.
            if structured_probe
                && let LlmError::Status { status, body, .. } = &err
                && (*status == 400 || *status == 422 || *status == 500)
                && mentions_response_format(body)
            {
                return Err(with_attempts(err, attempt));
            }
            if attempt >= policy.max_attempts {
                return Err(with_attempts(err, attempt));
            }
            let backoff = policy.base_delay.saturating_mul(1 << (attempt - 1).min(16)).min(policy.max_delay);
            let jitter = backoff.mul_f64(fastrand::f64() * 0.25);
            let wait = after.map_or(backoff + jitter, |a| a.max(backoff / 2)).min(policy.max_delay);
            tracing::info!(url = %self.url, attempt, wait_ms = wait.as_millis() as u64, "retrying after {err}");
            tokio::time::sleep(wait).await;
        }
    }

    fn parse(&self, v: &Value, attempts: u32, started: Instant) -> ChatResponse {
        let choice = &v["choices"][0];
        let text = choice["message"]["content"].as_str().unwrap_or_default().to_owned();
        let finish_reason = match choice["finish_reason"].as_str() {
            Some("stop") => FinishReason::Stop,
            Some("length") => FinishReason::Length,
            _ => FinishReason::Other,
        };
        let usage = Usage {
            prompt_tokens: v["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
            completion_tokens: v["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        };
        ChatResponse {
            text,
            json: None,
            finish_reason,
            usage,
            timings: Timings { total_ms: started.elapsed().as_secs_f64() * 1e3, attempts },
            model: v["model"].as_str().unwrap_or(&self.cfg.model).to_owned(),
            cached: false,
        }
    }

    /// One completion, structured-output detection included.
    async fn complete_once(&self, request: &ChatRequest, started: Instant) -> Result<ChatResponse, LlmError> {
        let known = self.structured_mode();
        if request.schema.is_none() || known.is_some() {
            let (v, attempts) = self.send(&self.body(request, known), false).await?;
            return Ok(self.parse(&v, attempts, started));
        }
        let mut attempts = 0;
        for mode in [StructuredMode::JsonSchema, StructuredMode::JsonObject, StructuredMode::Prompt] {
            match self.send(&self.body(request, Some(mode)), mode != StructuredMode::Prompt).await {
                Ok((v, n)) => {
                    *self.mode.lock().unwrap_or_else(|p| p.into_inner()) = Some(mode);
                    tracing::info!(url = %self.url, ?mode, "structured output mode");
                    return Ok(self.parse(&v, attempts + n, started));
                }
                Err(LlmError::Status { status, body, attempts: n, .. })
                    if mode != StructuredMode::Prompt && mentions_response_format(&body) && status != 429 =>
                {
                    attempts += n;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the prompt mode returns")
    }
}

fn mentions_response_format(body: &str) -> bool {
    let b = body.to_lowercase();
    b.contains("response_format") || b.contains("json_schema") || b.contains("json_object") || b.contains("schema")
}

fn with_attempts(e: LlmError, n: u32) -> LlmError {
    match e {
        LlmError::Status { url, status, body, .. } => LlmError::Status { url, status, attempts: n, body },
        LlmError::Timeout { url, seconds, .. } => LlmError::Timeout { url, seconds, attempts: n },
        other => other,
    }
}

/// reqwest errors can carry the URL; ours never holds the key, but strip
/// query strings anyway.
fn redacted(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url()
        && let Some(q) = u.query()
    {
        s = s.replace(q, "…");
    }
    s
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<f64>() {
        return (secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(v.trim()).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[async_trait::async_trait]
impl Complete for OpenAiClient {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.wait_for_budget(request.estimated_prompt_tokens() + request.max_tokens as u64).await;
        let response = self.complete_once(request, Instant::now()).await?;
        self.warn_if_truncated(request, &response);
        Ok(response)
    }
}

impl OpenAiClient {
    fn warn_if_truncated(&self, request: &ChatRequest, response: &ChatResponse) {
        let estimate = request.estimated_prompt_tokens();
        if response.usage.prompt_tokens > 0 && response.usage.prompt_tokens * 2 < estimate {
            tracing::warn!(
                url = %self.url,
                prompt_tokens = response.usage.prompt_tokens,
                estimate,
                "the server counted far fewer prompt tokens than were sent: it may be truncating prompts (check its context size)"
            );
        }
    }

    fn add_usage(&self, usage: Usage) {
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals.prompt_tokens += usage.prompt_tokens;
        totals.completion_tokens += usage.completion_tokens;
    }

    /// `n` choices in one request, when the server gives them; `None` when it refuses or
    /// answers with fewer (then the caller falls back to separate requests, for the run).
    async fn one_request_n(&self, request: &ChatRequest, n: u32) -> Option<Vec<ChatResponse>> {
        self.wait_for_budget(request.estimated_prompt_tokens() + request.max_tokens as u64 * n as u64).await;
        let started = Instant::now();
        let mut body = self.body(request, None);
        body["n"] = json!(n);
        let (v, attempts) = self.send(&body, false).await.ok()?;
        let choices = v["choices"].as_array()?;
        if choices.len() != n as usize {
            return None;
        }
        let usage = self.parse(&v, attempts, started).usage;
        self.add_usage(usage);
        let out = (0..choices.len())
            .map(|i| {
                let mut one = v.clone();
                one["choices"] = json!([choices[i].clone()]);
                let mut r = self.parse(&one, attempts, started);
                // The usage is the request's; count it once, on the first choice.
                if i > 0 {
                    r.usage = Usage::default();
                }
                r
            })
            .collect();
        Some(out)
    }
}

#[async_trait::async_trait]
impl ChatModel for OpenAiClient {
    fn backend(&self) -> String {
        format!("openai:{}", self.cfg.base_url.trim_end_matches('/'))
    }

    fn model(&self) -> String {
        self.cfg.model.clone()
    }

    fn load(&self) -> Option<crate::LoadReport> {
        Some(self.slots.report())
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        // Places in flight are taken per attempt, in `send`.
        let response = validated(self, request).await?;
        self.add_usage(response.usage);
        Ok(response)
    }

    async fn chat_n(&self, request: &ChatRequest, n: u32) -> Result<Vec<ChatResponse>, LlmError> {
        // Structured replies are validated one by one, so they always go separately.
        if n > 1 && request.schema.is_none() && !self.n_refused.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(out) = self.one_request_n(request, n).await {
                return Ok(out);
            }
            tracing::info!(url = %self.url, n, "the server does not give n choices in one request; sending separate requests");
            self.n_refused.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        separate_calls(self, request, n).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_as_seconds_or_date() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let d = parse_retry_after(&future).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30), "{d:?}");
        assert_eq!(parse_retry_after("garbage"), None);
    }
}
