//! `quarry llm check`, `quarry cache stats|clear`, and the chat model every generating
//! command builds from its `LlmArgs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use quarry_llm::{
    ApiKey, Cache, Cached, ChatModel, ChatRequest, LlamaChat, LlamaConfig, LlmError, Message, OpenAiClient,
    OpenAiConfig, Purpose, RetryPolicy,
};
use serde_json::{Value, json};

use crate::args::{CacheArgs, CacheCommand, LlmArgs, LlmCheckArgs, LlmCommand};
use crate::exit;

/// A chat model ready to use, and what it is.
pub struct Llm {
    pub model: Arc<dyn ChatModel>,
    /// Backend details for run.json and `llm check` (never the key).
    pub details: Value,
    /// The response cache the model is behind, if any (a second model may share it).
    pub cache: Option<Cache>,
}

/// Builds the model `a` describes, behind the response cache unless `--no-cache`
/// (or `use_cache` is false).
pub fn build(a: &LlmArgs, use_cache: bool) -> Result<Llm> {
    let (model, details): (Arc<dyn ChatModel>, Value) = match &a.base_url {
        Some(url) => {
            let name = a
                .llm_model
                .clone()
                .or_else(|| ["QUARRY_MODEL_NAME", "OPENAI_MODEL"].iter().find_map(|n| std::env::var(n).ok()))
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "default".into());
            let mut cfg = OpenAiConfig::new(url, &name);
            cfg.api_key = ApiKey::from_env(&["QUARRY_API_KEY", "OPENAI_API_KEY"]);
            cfg.timeout = Duration::from_secs(a.timeout.max(1));
            cfg.retry = RetryPolicy { max_attempts: a.attempts.max(1), ..RetryPolicy::default() };
            cfg.max_concurrency = a.concurrency.max(1);
            cfg.min_concurrency = a.min_concurrency.clamp(1, cfg.max_concurrency);
            cfg.requests_per_minute = a.rpm;
            cfg.tokens_per_minute = a.tpm;
            let details = json!({
                "backend": "openai",
                "base_url": url,
                "model": name,
                "api_key": if cfg.api_key.is_some() { "set (hidden)" } else { "none" },
                "concurrency": cfg.max_concurrency,
                "min_concurrency": cfg.min_concurrency,
                "rpm": a.rpm,
                "tpm": a.tpm,
            });
            (Arc::new(OpenAiClient::new(cfg)?), details)
        }
        None => {
            let path = a.gguf.clone().unwrap_or_else(quarry_llm::default_gguf);
            let mut cfg = LlamaConfig::new(&path);
            cfg.n_ctx = a.ctx;
            cfg.parallel = a.parallel.max(1);
            let m = LlamaChat::load(cfg)?;
            let details = json!({"backend": "embedded", "info": m.info()});
            (Arc::new(m), details)
        }
    };
    if !use_cache || a.no_cache {
        return Ok(Llm { model, details, cache: None });
    }
    let path = a.cache.clone().unwrap_or_else(quarry_llm::default_cache_path);
    let cache = Cache::open(&path).with_context(|| {
        format!(
            "open the response cache {} (another quarry process may hold it; use --cache or --no-cache)",
            path.display()
        )
    })?;
    Ok(Llm { model: Arc::new(Cached::new(model, cache.clone())), details, cache: Some(cache) })
}

/// A second model (`--rejected-model`): `embedded` (the default GGUF), a path to a .gguf
/// file, or a model name at the same --base-url. It shares the first model's cache.
pub fn build_second(a: &LlmArgs, spec: &str, cache: Option<Cache>) -> Result<Arc<dyn ChatModel>> {
    let mut b = a.clone();
    b.no_cache = true;
    if spec == "embedded" {
        b.base_url = None;
        b.gguf = None;
    } else if spec.ends_with(".gguf") {
        b.base_url = None;
        b.gguf = Some(spec.into());
    } else {
        anyhow::ensure!(
            a.base_url.is_some(),
            "--rejected-model {spec}: a model name needs --base-url (or give `embedded` or a .gguf path)"
        );
        b.llm_model = Some(spec.to_owned());
    }
    let m = build(&b, false)?.model;
    Ok(match cache {
        Some(c) => Arc::new(Cached::new(m, c)),
        None => m,
    })
}

pub fn run(c: LlmCommand) -> Result<u8> {
    match c {
        LlmCommand::Check(a) => check(a),
    }
}

/// What went wrong, in words a user can act on.
fn explain(e: &LlmError, a: &LlmArgs) -> String {
    match e {
        LlmError::Unreachable { url, .. } => format!(
            "the server at {url} cannot be reached: is it running, and is --base-url right (it usually ends in /v1)?"
        ),
        LlmError::Timeout { .. } => "the server did not answer in time: it may be overloaded or the model too slow; raise --timeout".into(),
        LlmError::Status { status: 401 | 403, .. } => {
            "the server refused the API key: set QUARRY_API_KEY (or OPENAI_API_KEY)".into()
        }
        LlmError::Status { status: 404, .. } => format!(
            "the server has no such endpoint or model: check --base-url (usually ending in /v1) and --llm-model ({})",
            a.llm_model.as_deref().unwrap_or("default")
        ),
        LlmError::Schema { .. } => {
            "the model does not follow a JSON schema: the server ignores structured-output requests and the model does not obey the instruction; use a larger model or a server with json_schema support".into()
        }
        LlmError::Config(m) if m.contains("not found") => format!("{m}. Run scripts/setup.sh, or give --gguf PATH"),
        other => other.to_string(),
    }
}

fn check(a: LlmCheckArgs) -> Result<u8> {
    let llm = match build(&a.llm, false) {
        Ok(l) => l,
        Err(e) => {
            let msg = match e.downcast_ref::<LlmError>() {
                Some(le) => explain(le, &a.llm),
                None => format!("{e:#}"),
            };
            return report_failure(&a, json!({"backend": "unknown"}), "load", &msg);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut chat = ChatRequest::new(vec![Message::user("Say hello in one short sentence.")], Purpose::Factual);
    chat.max_tokens = 48;
    let t = Instant::now();
    let reply = match rt.block_on(llm.model.chat(&chat)) {
        Ok(r) => r,
        Err(e) => return report_failure(&a, llm.details, "chat", &explain(&e, &a.llm)),
    };
    let chat_s = t.elapsed().as_secs_f64();
    let schema = json!({
        "type": "object",
        "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
        "required": ["answer", "confidence"],
        "additionalProperties": false
    });
    let mut structured =
        ChatRequest::new(vec![Message::user("What is the capital of France?")], Purpose::Factual).with_schema(schema);
    structured.max_tokens = 64;
    let t = Instant::now();
    let sreply = match rt.block_on(llm.model.chat(&structured)) {
        Ok(r) => r,
        Err(e) => return report_failure(&a, llm.details, "structured output", &explain(&e, &a.llm)),
    };
    let structured_s = t.elapsed().as_secs_f64();
    let tps = |tokens: u64, s: f64| if s > 0.0 { tokens as f64 / s } else { 0.0 };
    let out = json!({
        "ok": true,
        "model": llm.model.model(),
        "details": llm.details,
        "chat": {
            "reply": reply.text,
            "prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens,
            "seconds": chat_s,
            "tokens_per_second": tps(reply.usage.completion_tokens, chat_s),
        },
        "structured": {
            "reply": sreply.json,
            "completion_tokens": sreply.usage.completion_tokens,
            "seconds": structured_s,
            "tokens_per_second": tps(sreply.usage.completion_tokens, structured_s),
        },
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("backend     {}", llm.model.backend());
        println!("model       {}", llm.model.model());
        println!(
            "chat        ok: {:?} ({} tokens, {:.1} tokens/s)",
            reply.text.trim(),
            reply.usage.completion_tokens,
            tps(reply.usage.completion_tokens, chat_s)
        );
        println!(
            "structured  ok: {} ({:.1} tokens/s)",
            sreply.json.map(|v| v.to_string()).unwrap_or_default(),
            tps(sreply.usage.completion_tokens, structured_s)
        );
    }
    Ok(exit::OK)
}

fn report_failure(a: &LlmCheckArgs, details: Value, step: &str, msg: &str) -> Result<u8> {
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"ok": false, "details": details, "failed": step, "error": msg}))?
        );
    } else {
        eprintln!("llm check failed at {step}: {msg}");
    }
    Ok(exit::ERROR)
}

pub fn cache(c: CacheCommand) -> Result<u8> {
    let (a, clear) = match c {
        CacheCommand::Stats(a) => (a, false),
        CacheCommand::Clear(a) => (a, true),
    };
    let CacheArgs { cache, json } = a;
    let path = cache.unwrap_or_else(quarry_llm::default_cache_path);
    let cache = Cache::open(&path).with_context(|| format!("open the response cache {}", path.display()))?;
    if clear {
        let n = cache.clear()?;
        if json {
            println!("{}", json!({"path": path, "removed": n}));
        } else {
            println!("removed {n} cached responses from {}", path.display());
        }
        return Ok(exit::OK);
    }
    let stats = cache.stats()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!("{}: {} responses, {:.1} MB", stats.path, stats.entries, stats.bytes as f64 / 1e6);
    }
    Ok(exit::OK)
}
