//! The embedded backend: a GGUF model run in-process by llama.cpp (through `llama-cpp-2`).
//!
//! One worker thread owns the model and its context. Calls queue on a channel; the worker
//! takes up to `parallel` of them at once and decodes them as separate sequences of one
//! batch, so generation (bound by memory bandwidth, not arithmetic) serves several requests
//! for little more than the price of one. Prompts use the model's own chat template; a
//! JSON schema becomes a GBNF grammar that constrains sampling.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use serde::Serialize;

use crate::chat::{ChatModel, ChatRequest, ChatResponse, Complete, FinishReason, Role, Timings, Usage, validated};
use crate::error::LlmError;

/// Settings of the embedded model.
#[derive(Clone, Debug)]
pub struct LlamaConfig {
    /// The GGUF file.
    pub path: PathBuf,
    /// Context length of each sequence, in tokens (prompt and reply).
    pub n_ctx: u32,
    /// CPU threads; 0 means all cores.
    pub threads: usize,
    /// Requests decoded together in one batch.
    pub parallel: usize,
}

impl LlamaConfig {
    pub fn new(path: impl Into<PathBuf>) -> LlamaConfig {
        LlamaConfig { path: path.into(), n_ctx: 4096, threads: 0, parallel: 4 }
    }
}

/// What was loaded.
#[derive(Clone, Debug, Serialize)]
pub struct LlamaInfo {
    pub path: String,
    /// The file name without `.gguf`.
    pub name: String,
    pub parameters: u64,
    pub size_bytes: u64,
    pub n_ctx_train: u32,
    pub n_ctx: u32,
    pub threads: usize,
    pub parallel: usize,
}

struct Job {
    request: ChatRequest,
    reply: tokio::sync::oneshot::Sender<Result<ChatResponse, LlmError>>,
}

/// A GGUF chat model running in this process.
pub struct LlamaChat {
    jobs: mpsc::Sender<Job>,
    info: LlamaInfo,
}

impl std::fmt::Debug for LlamaChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaChat").field("path", &self.info.path).finish()
    }
}

/// llama.cpp's backend may be initialised once per process.
fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut b = LlamaBackend::init().map_err(|e| e.to_string())?;
            b.void_logs();
            Ok(b)
        })
        .as_ref()
        .map_err(|e| LlmError::Config(format!("cannot start llama.cpp: {e}")))
}

impl LlamaChat {
    /// Loads the model (on its worker thread) and returns once it is ready.
    pub fn load(cfg: LlamaConfig) -> Result<LlamaChat, LlmError> {
        if !cfg.path.is_file() {
            return Err(LlmError::Config(format!(
                "model file {} not found (scripts/setup.sh installs the default; any GGUF file works)",
                cfg.path.display()
            )));
        }
        let backend = backend()?;
        let threads = if cfg.threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            cfg.threads
        };
        let parallel = cfg.parallel.clamp(1, 64);
        let (ready_tx, ready_rx) = mpsc::channel::<Result<LlamaInfo, LlmError>>();
        let (jobs, rx) = mpsc::channel::<Job>();
        let thread_cfg = cfg.clone();
        std::thread::Builder::new()
            .name("quarry-llama".into())
            .spawn(move || worker(backend, thread_cfg, threads, parallel, ready_tx, rx))
            .map_err(|e| LlmError::Config(format!("cannot start the model thread: {e}")))?;
        let info = ready_rx.recv().map_err(|_| {
            LlmError::Config(format!("loading {} failed: the model thread stopped", cfg.path.display()))
        })??;
        Ok(LlamaChat { jobs, info })
    }

    pub fn info(&self) -> &LlamaInfo {
        &self.info
    }

    async fn submit(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job { request, reply })
            .map_err(|_| LlmError::Config("the embedded model stopped (see the log above)".into()))?;
        rx.await.map_err(|_| LlmError::Config("the embedded model stopped while answering".into()))?
    }
}

#[async_trait::async_trait]
impl Complete for LlamaChat {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.submit(request.clone()).await
    }
}

#[async_trait::async_trait]
impl ChatModel for LlamaChat {
    fn backend(&self) -> String {
        format!("llama.cpp:{}", self.info.path)
    }

    fn model(&self) -> String {
        self.info.name.clone()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        validated(self, request).await
    }
}

fn worker(
    backend: &'static LlamaBackend,
    cfg: LlamaConfig,
    threads: usize,
    parallel: usize,
    ready: mpsc::Sender<Result<LlamaInfo, LlmError>>,
    jobs: mpsc::Receiver<Job>,
) {
    let fail = |m: String| LlmError::Config(m);
    let model = match LlamaModel::load_from_file(backend, &cfg.path, &LlamaModelParams::default()) {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(fail(format!("cannot load {} as a GGUF model: {e}", cfg.path.display()))));
            return;
        }
    };
    let template = match model.chat_template(None) {
        Ok(t) => t,
        Err(e) => {
            let _ = ready.send(Err(fail(format!(
                "{} has no chat template ({e}); quarry needs an instruction-tuned (chat) model",
                cfg.path.display()
            ))));
            return;
        }
    };
    let n_ctx = cfg.n_ctx.min(model.n_ctx_train().max(512));
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx * parallel as u32))
        .with_n_batch(2048)
        .with_n_seq_max(parallel as u32)
        .with_kv_unified(true)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads as i32);
    let mut ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(fail(format!("cannot create a llama.cpp context: {e}"))));
            return;
        }
    };
    let info = LlamaInfo {
        path: cfg.path.display().to_string(),
        name: model_name(&cfg.path),
        parameters: model.n_params(),
        size_bytes: model.size(),
        n_ctx_train: model.n_ctx_train(),
        n_ctx,
        threads,
        parallel,
    };
    let engine = Engine { model: &model, template, n_ctx, name: info.name.clone() };
    if ready.send(Ok(info)).is_err() {
        return;
    }
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < parallel {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        engine.run(&mut ctx, group);
    }
}

fn model_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().trim_end_matches(".gguf").to_owned()).unwrap_or_default()
}

struct Engine<'m> {
    model: &'m LlamaModel,
    template: LlamaChatTemplate,
    n_ctx: u32,
    name: String,
}

/// One sequence being generated.
struct Seq {
    reply: Option<tokio::sync::oneshot::Sender<Result<ChatResponse, LlmError>>>,
    request: ChatRequest,
    sampler: LlamaSampler,
    prompt_tokens: usize,
    /// Position of the next token to decode.
    pos: i32,
    /// The token sampled last, to be decoded next.
    next: Option<LlamaToken>,
    bytes: Vec<u8>,
    generated: u32,
    finish: Option<FinishReason>,
    started: Instant,
}

impl Seq {
    /// Samples from the logits at `idx` of the last decode and decides whether to go on.
    fn step(&mut self, ctx: &LlamaContext<'_>, vocab: &llama_cpp_2::vocab::LlamaVocab<'_>, idx: i32) {
        // `sample` also accepts the token into every sampler (the grammar included);
        // accepting it again would corrupt the grammar state.
        let token = self.sampler.sample(ctx, idx);
        self.next = None;
        if vocab.is_eog(token) {
            self.finish = Some(FinishReason::Stop);
            return;
        }
        self.bytes.extend(vocab.token_to_piece(token, false, None));
        self.generated += 1;
        if let Some(cut) = stop_at(&self.bytes, &self.request.stop) {
            self.bytes.truncate(cut);
            self.finish = Some(FinishReason::Stop);
        } else if self.generated >= self.request.max_tokens {
            self.finish = Some(FinishReason::Length);
        } else {
            self.next = Some(token);
        }
    }
}

impl Engine<'_> {
    fn prompt(&self, request: &ChatRequest) -> Result<Vec<LlamaToken>, LlmError> {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        let bad = |e: llama_cpp_2::NewLlamaChatMessageError| LlmError::Config(format!("bad message: {e}"));
        if request.schema.is_some() {
            // The grammar enforces the schema; the prompt only says what kind of reply it is
            // (a schema in the prompt would repeat the passages its enums hold).
            messages.push(LlamaChatMessage::new("system".into(), "Reply with a JSON object.".into()).map_err(bad)?);
        }
        for m in &request.messages {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            // A NUL byte cannot cross into C; it has no meaning in a prompt anyway.
            messages.push(LlamaChatMessage::new(role.into(), m.content.replace('\0', "")).map_err(bad)?);
        }
        let text = self
            .model
            .apply_chat_template(&self.template, &messages, true)
            .map_err(|e| LlmError::Config(format!("the model's chat template failed: {e}")))?;
        let vocab = self.model.vocab();
        Ok(vocab.tokenize(text.as_bytes(), vocab.should_add_bos(), true))
    }

    fn sampler(&self, request: &ChatRequest) -> Result<LlamaSampler, LlmError> {
        let mut chain = Vec::new();
        if let Some(schema) = &request.schema {
            let grammar = llama_cpp_2::json_schema_to_grammar(&ordered(schema))
                .map_err(|e| LlmError::Config(format!("cannot turn the JSON schema into a grammar: {e}")))?;
            chain.push(
                LlamaSampler::grammar(self.model, &grammar, "root")
                    .map_err(|e| LlmError::Config(format!("llama.cpp rejected the grammar: {e}")))?,
            );
        }
        if request.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            if let Some(k) = request.top_k {
                chain.push(LlamaSampler::top_k(k as i32));
            }
            if request.top_p < 1.0 {
                chain.push(LlamaSampler::top_p(request.top_p, 1));
            }
            chain.push(LlamaSampler::temp(request.temperature));
            chain.push(LlamaSampler::dist(request.seed.unwrap_or(0) as u32));
        }
        Ok(LlamaSampler::chain_simple(chain))
    }

    fn prepare(&self, request: &ChatRequest) -> Result<(Vec<LlamaToken>, LlamaSampler), LlmError> {
        let tokens = self.prompt(request)?;
        let need = tokens.len() as u64 + request.max_tokens as u64;
        if need > self.n_ctx as u64 {
            return Err(LlmError::Config(format!(
                "the prompt ({} tokens) and max_tokens ({}) exceed the model's context of {} tokens",
                tokens.len(),
                request.max_tokens,
                self.n_ctx
            )));
        }
        Ok((tokens, self.sampler(request)?))
    }

    /// Answers a group of requests, decoded together as sequences 0, 1, ...
    fn run(&self, ctx: &mut LlamaContext<'_>, group: Vec<Job>) {
        ctx.clear_kv_cache();
        let vocab = self.model.vocab();
        let mut seqs: Vec<Seq> = Vec::with_capacity(group.len());
        for job in group {
            let started = Instant::now();
            let id = seqs.len() as i32;
            let prefilled = self.prepare(&job.request).and_then(|(tokens, sampler)| {
                let idx = self.prefill(ctx, id, &tokens)?;
                Ok((tokens.len(), sampler, idx))
            });
            match prefilled {
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                    let _ = ctx.clear_kv_cache_seq(Some(id as u32), None, None);
                }
                Ok((n, sampler, idx)) => {
                    let mut s = Seq {
                        reply: Some(job.reply),
                        request: job.request,
                        sampler,
                        prompt_tokens: n,
                        pos: n as i32,
                        next: None,
                        bytes: Vec::new(),
                        generated: 0,
                        finish: None,
                        started,
                    };
                    s.step(ctx, &vocab, idx);
                    seqs.push(s);
                }
            }
        }
        let mut batch = LlamaBatch::new(seqs.len().max(1), 1);
        loop {
            batch.clear();
            let mut order = Vec::with_capacity(seqs.len());
            for (i, s) in seqs.iter_mut().enumerate() {
                let Some(token) = s.next else {
                    if let Some(reply) = s.reply.take() {
                        let _ = reply.send(Ok(response(s, &self.name)));
                    }
                    continue;
                };
                if let Err(e) = batch.add(token, s.pos, &[i as i32], true) {
                    if let Some(reply) = s.reply.take() {
                        let _ = reply.send(Err(LlmError::Config(format!("llama.cpp batch: {e}"))));
                    }
                    s.next = None;
                    continue;
                }
                s.pos += 1;
                order.push((i, order.len() as i32));
            }
            if order.is_empty() {
                break;
            }
            if let Err(e) = ctx.decode(&mut batch) {
                for s in seqs.iter_mut() {
                    if let Some(reply) = s.reply.take() {
                        let _ = reply.send(Err(LlmError::Config(format!("llama.cpp decode failed: {e}"))));
                    }
                }
                break;
            }
            for (i, idx) in order {
                seqs[i].step(ctx, &vocab, idx);
            }
        }
    }

    /// Feeds a prompt to sequence `id`, in chunks of the context's batch size; returns the
    /// index of the last token's logits in the last chunk.
    fn prefill(&self, ctx: &mut LlamaContext<'_>, id: i32, tokens: &[LlamaToken]) -> Result<i32, LlmError> {
        let n_batch = ctx.n_batch() as usize;
        let mut batch = LlamaBatch::new(n_batch, 1);
        for (c, chunk) in tokens.chunks(n_batch).enumerate() {
            batch.clear();
            let last_chunk = (c + 1) * n_batch >= tokens.len();
            for (j, t) in chunk.iter().enumerate() {
                let pos = (c * n_batch + j) as i32;
                let logits = last_chunk && j + 1 == chunk.len();
                batch.add(*t, pos, &[id], logits).map_err(|e| LlmError::Config(format!("batch: {e}")))?;
            }
            ctx.decode(&mut batch).map_err(|e| LlmError::Config(format!("llama.cpp decode failed: {e}")))?;
        }
        Ok(((tokens.len() - 1) % n_batch) as i32)
    }
}

/// Where a stop string first appears in the generated bytes.
fn stop_at(bytes: &[u8], stops: &[String]) -> Option<usize> {
    stops.iter().filter(|s| !s.is_empty()).filter_map(|s| memfind(bytes, s.as_bytes())).min()
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn response(s: &Seq, model: &str) -> ChatResponse {
    ChatResponse {
        text: String::from_utf8_lossy(&s.bytes).into_owned(),
        json: None,
        finish_reason: s.finish.unwrap_or(FinishReason::Other),
        usage: Usage { prompt_tokens: s.prompt_tokens as u64, completion_tokens: s.generated as u64 },
        timings: Timings { total_ms: s.started.elapsed().as_secs_f64() * 1e3, attempts: 1 },
        model: model.to_owned(),
        cached: false,
    }
}

/// A schema as JSON text whose object properties come in the order of their `required` list
/// (then the rest): llama.cpp generates properties in text order, and serde_json sorts keys.
fn ordered(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            let props_order: Vec<String> = map
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    let val = &map[k];
                    let text = match (k.as_str(), val) {
                        ("properties", Value::Object(props)) => {
                            let mut names: Vec<&String> = props.keys().collect();
                            names.sort_by_key(|n| props_order.iter().position(|r| r == *n).unwrap_or(usize::MAX));
                            let inner: Vec<String> = names
                                .into_iter()
                                .map(|n| format!("{}:{}", Value::String(n.clone()), ordered(&props[n])))
                                .collect();
                            format!("{{{}}}", inner.join(","))
                        }
                        _ => ordered(val),
                    };
                    format!("{}:{}", Value::String(k.clone()), text)
                })
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(ordered).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn ordered_puts_required_properties_first() {
        let s = json!({"type": "object", "properties": {"answer": {"type": "string"}, "citations": {"type": "array"}}, "required": ["citations", "answer"]});
        let text = super::ordered(&s);
        assert!(text.find("\"citations\":").unwrap() < text.find("\"answer\":").unwrap(), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), s);
    }
}
