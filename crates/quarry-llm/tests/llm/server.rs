//! The OpenAI-compatible client against a real llama.cpp server (llama-cpp-python's),
//! serving the same GGUF on 127.0.0.1.

use std::time::Duration;

use quarry_llm::{Cache, Cached, ChatModel, ChatRequest, Message, OpenAiClient, OpenAiConfig, Purpose, StructuredMode};
use serde_json::json;

use crate::util::{Server, start_server};

fn client(server: &Server) -> OpenAiClient {
    let mut cfg = OpenAiConfig::new(&server.base_url, "smollm2");
    cfg.timeout = Duration::from_secs(120);
    OpenAiClient::new(cfg).unwrap()
}

fn ask(q: &str) -> ChatRequest {
    let mut r = ChatRequest::new(vec![Message::user(q)], Purpose::Factual);
    r.max_tokens = 32;
    r
}

/// Waits for the server's access log to catch up, then counts completions.
fn completions(server: &Server) -> usize {
    std::thread::sleep(Duration::from_millis(300));
    server.completions()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_schema_usage_concurrency_and_cache_against_a_real_server() {
    let server = start_server(None);
    let c = client(&server);

    // Chat, with usage.
    let r = c.chat(&ask("What is the capital of France? One word.")).await.unwrap();
    assert!(r.text.to_lowercase().contains("paris"), "{:?}", r.text);
    assert!(r.usage.prompt_tokens > 10 && r.usage.completion_tokens > 0, "{:?}", r.usage);
    assert_eq!(c.usage(), r.usage);

    // Structured output: json_schema is refused by this server, json_object + schema taken.
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]});
    let r = c.chat(&ask("What is the capital of France?").with_schema(schema.clone())).await.unwrap();
    assert!(r.json.as_ref().unwrap()["answer"].is_string(), "{:?}", r.text);
    assert_eq!(c.structured_mode(), Some(StructuredMode::JsonObject));

    // Eight at once.
    let requests: Vec<ChatRequest> = (0..8).map(|i| ask(&format!("Say the number {i}.")).with_seed(i)).collect();
    let replies = futures::future::join_all(requests.iter().map(|r| c.chat(r))).await;
    assert_eq!(replies.iter().filter(|r| r.as_ref().is_ok_and(|r| !r.text.is_empty())).count(), 8, "{replies:?}");

    // n > 1: this server answers one choice, so the client falls back to separate requests.
    let before = completions(&server);
    let n = c.chat_n(&ask("Name a fruit."), 3).await.unwrap();
    assert_eq!(n.len(), 3);
    assert!(completions(&server) >= before + 3);

    // The cache: a second identical call makes no request.
    let dir = tempfile::tempdir().unwrap();
    let cached = Cached::new(client(&server), Cache::open(&dir.path().join("cache.redb")).unwrap());
    let q = ask("Name an ocean.").with_seed(3);
    let first = cached.chat(&q).await.unwrap();
    assert!(!first.cached);
    let before = completions(&server);
    let second = cached.chat(&q).await.unwrap();
    assert!(second.cached);
    assert_eq!(second.text, first.text);
    assert_eq!(completions(&server), before, "a cache hit reached the server");
}
