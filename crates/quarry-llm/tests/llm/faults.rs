//! The OpenAI-compatible client against a fault-injecting server: wiremock for
//! statuses, delays and bodies, and a raw TCP server for cut-off replies.
//! Every case ends in a retry then success or a clear error after the
//! configured attempts, never a hang or a panic.

use std::time::{Duration, Instant};

use quarry_llm::{
    ApiKey, Cache, Cached, ChatModel, ChatRequest, LlmError, Message, OpenAiClient, OpenAiConfig, Purpose, RetryPolicy,
    StructuredMode,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn reply(text: &str) -> Value {
    json!({
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3}
    })
}

fn config(uri: &str) -> OpenAiConfig {
    let mut c = OpenAiConfig::new(&format!("{uri}/v1"), "test-model");
    c.retry = RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(20), max_delay: Duration::from_secs(5) };
    c.timeout = Duration::from_secs(5);
    c
}

fn request() -> ChatRequest {
    ChatRequest::new(vec![Message::user("What is the capital of France?")], Purpose::Factual)
}

fn schema() -> Value {
    json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": false})
}

/// Answers with the given responses in turn, the last one forever.
struct Sequence(Vec<ResponseTemplate>, std::sync::atomic::AtomicUsize);

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0[i.min(self.0.len() - 1)].clone()
    }
}

fn seq(r: Vec<ResponseTemplate>) -> Sequence {
    Sequence(r, Default::default())
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(seq(vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            ResponseTemplate::new(200).set_body_json(reply("Paris")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let client = OpenAiClient::new(config(&server.uri())).unwrap();
    let t = Instant::now();
    let r = client.chat(&request()).await.unwrap();
    assert_eq!(r.text, "Paris");
    assert_eq!(r.timings.attempts, 2);
    assert!(t.elapsed() >= Duration::from_millis(950), "Retry-After not honoured: {:?}", t.elapsed());
    assert_eq!(r.usage.prompt_tokens, 12);
}

#[tokio::test]
async fn retries_server_errors_then_gives_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(seq(vec![
            ResponseTemplate::new(500),
            ResponseTemplate::new(503),
            ResponseTemplate::new(200).set_body_json(reply("ok")),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    let client = OpenAiClient::new(config(&server.uri())).unwrap();
    assert_eq!(client.chat(&request()).await.unwrap().timings.attempts, 3);

    let down = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(3)
        .mount(&down)
        .await;
    let client = OpenAiClient::new(config(&down.uri())).unwrap();
    match client.chat(&request()).await.unwrap_err() {
        LlmError::Status { status, attempts, body, .. } => {
            assert_eq!((status, attempts), (502, 3));
            assert!(body.contains("bad gateway"));
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string("bad key"))
        .expect(1)
        .mount(&server)
        .await;
    let client = OpenAiClient::new(config(&server.uri())).unwrap();
    let e = client.chat(&request()).await.unwrap_err();
    assert!(matches!(e, LlmError::Status { status: 401, attempts: 1, .. }), "{e}");
}

#[tokio::test]
async fn a_hang_past_the_timeout_is_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply("late")).set_delay(Duration::from_secs(3)))
        .expect(2)
        .mount(&server)
        .await;
    let mut c = config(&server.uri());
    c.timeout = Duration::from_millis(300);
    c.retry.max_attempts = 2;
    let client = OpenAiClient::new(c).unwrap();
    let t = Instant::now();
    let e = client.chat(&request()).await.unwrap_err();
    assert!(matches!(e, LlmError::Timeout { attempts: 2, .. }), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "did not time out: {:?}", t.elapsed());
}

#[tokio::test]
async fn invalid_json_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(seq(vec![
            ResponseTemplate::new(200).set_body_string("{\"choices\": [ not json"),
            ResponseTemplate::new(200).set_body_json(reply("fine")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let client = OpenAiClient::new(config(&server.uri())).unwrap();
    assert_eq!(client.chat(&request()).await.unwrap().text, "fine");
}

#[tokio::test]
async fn a_body_cut_off_or_a_reset_connection_is_retried() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let good = serde_json::to_string(&reply("whole")).unwrap();
    tokio::spawn(async move {
        for i in 0..3 {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 65536];
            let _ = sock.read(&mut buf).await;
            match i {
                // Promise 500 bytes, send 20, hang up.
                0 => {
                    let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"choices\": [{\"mess").await;
                }
                // Reset without a reply.
                1 => drop(sock),
                _ => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        good.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(good.as_bytes()).await;
                }
            }
        }
    });
    let client = OpenAiClient::new(config(&format!("http://{addr}"))).unwrap();
    let r = client.chat(&request()).await.unwrap();
    assert_eq!((r.text.as_str(), r.timings.attempts), ("whole", 3));
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = OpenAiClient::new(config(&format!("http://127.0.0.1:{port}"))).unwrap();
    let e = client.chat(&request()).await.unwrap_err();
    assert!(matches!(e, LlmError::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[tokio::test]
async fn detects_json_object_support_and_remembers_it() {
    let server = MockServer::start().await;
    // Like llama-cpp-python: json_schema is refused with a 500, json_object + schema works.
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"response_format": {"type": "json_schema"}})))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_string("1 validation error: response_format.type must be 'text' or 'json_object'"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"response_format": {"type": "json_object"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply("{\"answer\": \"Paris\"}")))
        .expect(2)
        .mount(&server)
        .await;
    let client = OpenAiClient::new(config(&server.uri())).unwrap();
    let req = request().with_schema(schema());
    let r = client.chat(&req).await.unwrap();
    assert_eq!(r.json.unwrap()["answer"], "Paris");
    assert_eq!(client.structured_mode(), Some(StructuredMode::JsonObject));
    client.chat(&req).await.unwrap();
}

#[tokio::test]
async fn a_reply_that_ignores_the_schema_gets_one_repair() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(seq(vec![
            ResponseTemplate::new(200).set_body_json(reply("The answer is Paris.")),
            ResponseTemplate::new(200).set_body_json(reply("{\"answer\": \"Paris\"}")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let client = OpenAiClient::new(config(&server.uri())).unwrap();
    let r = client.chat(&request().with_schema(schema())).await.unwrap();
    assert_eq!(r.json.unwrap()["answer"], "Paris");
    let repair: Value = serde_json::from_slice(&server.received_requests().await.unwrap()[1].body).unwrap();
    let last = repair["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_owned();
    assert!(last.contains("not valid"), "{last}");

    let stubborn = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply("no")))
        .expect(2)
        .mount(&stubborn)
        .await;
    let client = OpenAiClient::new(config(&stubborn.uri())).unwrap();
    match client.chat(&request().with_schema(schema())).await.unwrap_err() {
        LlmError::Schema { raw, usage, .. } => {
            assert_eq!(raw, "no");
            // Both calls are paid for, and the error says so.
            assert_eq!((usage.prompt_tokens, usage.completion_tokens), (24, 6));
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply("x")).set_delay(Duration::from_millis(200)))
        .mount(&server)
        .await;
    let mut c = config(&server.uri());
    c.max_concurrency = 2;
    let client = std::sync::Arc::new(OpenAiClient::new(c).unwrap());
    let t = Instant::now();
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.chat(&request().with_seed(i)).await.unwrap() })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
    assert!(t.elapsed() >= Duration::from_millis(390), "more than 2 in flight: {:?}", t.elapsed());
    assert_eq!(client.usage().prompt_tokens, 48);
}

#[tokio::test]
async fn cache_hits_skip_the_server_and_never_hold_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer sk-very-secret-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply("Paris")))
        .expect(1)
        .mount(&server)
        .await;
    let tmp = tempfile::tempdir().unwrap();
    let mut c = config(&server.uri());
    c.api_key = ApiKey::new("sk-very-secret-key");
    assert!(!format!("{c:?}").contains("sk-very"));
    let cache_path = tmp.path().join("responses.redb");
    let model = Cached::new(OpenAiClient::new(c).unwrap(), Cache::open(&cache_path).unwrap());
    let first = model.chat(&request()).await.unwrap();
    let second = model.chat(&request()).await.unwrap();
    assert!(!first.cached && second.cached);
    assert_eq!(first.text, second.text);
    assert!(!format!("{:?}", model.inner()).contains("sk-very"));
    drop(model);
    let bytes = std::fs::read(&cache_path).unwrap();
    assert!(!bytes.windows(8).any(|w| w == b"sk-very-"), "the key reached the cache file");
    let cache = Cache::open(&cache_path).unwrap();
    assert_eq!(cache.stats().unwrap().entries, 1);
    assert_eq!(cache.clear().unwrap(), 1);
    assert_eq!(cache.stats().unwrap().entries, 0);
}

#[tokio::test]
async fn failures_are_not_cached() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(seq(vec![
            ResponseTemplate::new(400).set_body_string("nope"),
            ResponseTemplate::new(200).set_body_json(reply("ok")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let tmp = tempfile::tempdir().unwrap();
    let model = Cached::new(
        OpenAiClient::new(config(&server.uri())).unwrap(),
        Cache::open(&tmp.path().join("c.redb")).unwrap(),
    );
    assert!(model.chat(&request()).await.is_err());
    assert_eq!(model.chat(&request()).await.unwrap().text, "ok");
}
