//! The embedded backend with the real SmolLM2-135M GGUF.

use quarry_llm::{ChatModel, ChatRequest, FinishReason, LlamaChat, LlamaConfig, LlmError, Message, Purpose};
use serde_json::json;

use crate::util::embedded;

fn ask(q: &str) -> ChatRequest {
    let mut r = ChatRequest::new(vec![Message::user(q)], Purpose::Factual);
    r.max_tokens = 48;
    r
}

#[tokio::test]
async fn chat_reply_from_the_real_model() {
    let m = embedded();
    assert!(m.backend().starts_with("llama.cpp:"), "{}", m.backend());
    assert_eq!(m.model(), "SmolLM2-135M-Instruct.Q4_1");
    let r = m.chat(&ask("What is the capital of France? Answer in one word.")).await.unwrap();
    assert!(r.text.to_lowercase().contains("paris"), "{:?}", r.text);
    assert!(r.usage.prompt_tokens > 10 && r.usage.completion_tokens > 0, "{:?}", r.usage);
    assert!(matches!(r.finish_reason, FinishReason::Stop | FinishReason::Length));
    assert_eq!(r.timings.attempts, 1);
}

#[tokio::test]
async fn schema_valid_json_from_a_grammar() {
    let schema = json!({
        "type": "object",
        "properties": {
            "answer": {"type": "string", "maxLength": 120},
            "citations": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}
        },
        "required": ["answer", "citations"],
        "additionalProperties": false
    });
    let mut r = ask(
        "Passage 1: Water boils at 100 degrees Celsius at sea level.\nAt what temperature does water boil? Cite the passage number.",
    );
    r.max_tokens = 96;
    let r = r.with_schema(schema);
    let reply = embedded().chat(&r).await.unwrap();
    let v = reply.json.expect("a parsed reply");
    assert!(v["answer"].is_string(), "{v}");
    assert!(!v["citations"].as_array().unwrap().is_empty(), "{v}");
}

#[tokio::test]
async fn same_seed_same_reply_and_stop_strings_cut() {
    let m = embedded();
    let mut r = ask("Write a short sentence about the sea.");
    r.temperature = 0.9;
    r.top_k = Some(40);
    let r = r.with_seed(7);
    let a = m.chat(&r).await.unwrap();
    let b = m.chat(&r).await.unwrap();
    assert_eq!(a.text, b.text);
    let mut stopped = r.clone();
    stopped.stop = vec![" ".into()];
    let c = m.chat(&stopped).await.unwrap();
    assert!(!c.text.trim().contains(' '), "{:?}", c.text);
    assert_eq!(c.finish_reason, FinishReason::Stop);
}

#[tokio::test]
async fn concurrent_requests_share_a_batch_and_all_finish() {
    let m = embedded();
    let questions = ["What is 2 plus 2?", "Name a colour.", "What is water made of?", "Name a planet.", "What is ice?"];
    let requests: Vec<ChatRequest> = questions.iter().map(|q| ask(q)).collect();
    let replies = futures::future::join_all(requests.iter().map(|r| m.chat(r))).await;
    for (q, r) in questions.iter().zip(replies) {
        let r = r.unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(!r.text.trim().is_empty(), "{q}: empty reply");
    }
    let n = m.chat_n(&ask("Name a fruit.").with_seed(1), 3).await.unwrap();
    assert_eq!(n.len(), 3);
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_is_a_clear_error() {
    let long = "word ".repeat(5000);
    let err = embedded().chat(&ask(&long)).await.unwrap_err();
    assert!(err.to_string().contains("exceed the model's context"), "{err}");
}

#[test]
fn a_missing_or_broken_model_file_is_a_clear_error() {
    let err = LlamaChat::load(LlamaConfig::new("/nonexistent/model.gguf")).unwrap_err();
    assert!(matches!(err, LlmError::Config(_)));
    assert!(err.to_string().contains("/nonexistent/model.gguf"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.gguf");
    std::fs::write(&bad, b"not a gguf").unwrap();
    let err = LlamaChat::load(LlamaConfig::new(&bad)).unwrap_err();
    assert!(err.to_string().contains("bad.gguf"), "{err}");
}
