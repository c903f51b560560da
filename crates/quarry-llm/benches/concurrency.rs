//! Adaptive concurrency against a server of fixed capacity; prints JSON.
//!
//!     cargo bench -p quarry-llm --bench concurrency [-- REQUESTS LATENCY_MS]
//!
//! A test server on 127.0.0.1 serves at most C requests at once, each taking a fixed latency,
//! and answers 429 to any request above C (as a serving stack with a full batch does). For
//! several C, the client sends the same requests with every fixed concurrency of a sweep and
//! with the adaptive limit (floor 1, ceiling 64, never told C). Throughput is requests per
//! minute; a Q&A slot is two requests, so accepted records per minute are proportional to it
//! (times the acceptance rate). The target: adaptive within 10% of the best fixed setting.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use quarry_llm::{ChatModel, ChatRequest, Message, OpenAiClient, OpenAiConfig, Purpose, RetryPolicy};
use serde_json::json;

/// A server of capacity `c` and fixed `latency`; returns its base URL and its 429 count.
fn server(c: usize, latency: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let r = refused.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (in_flight, refused) = (in_flight.clone(), r.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut length = 0usize;
                    let mut first = true;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if first && line.trim().is_empty() {
                            continue;
                        }
                        first = false;
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    let (status, reply) = if now > c {
                        refused.fetch_add(1, Ordering::SeqCst);
                        (429, json!({"error": {"message": "busy"}}).to_string())
                    } else {
                        std::thread::sleep(latency);
                        let content = json!({"answer": "ok"}).to_string();
                        let reply = json!({
                            "id": "x", "object": "chat.completion", "model": "m",
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 100, "completion_tokens": 20}
                        });
                        (200, reply.to_string())
                    };
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let _ = write!(
                        conn,
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
                        reply.len()
                    );
                }
            });
        }
    });
    (url, refused)
}

/// Requests per minute for `requests` requests at concurrency between `floor` and `ceiling`.
async fn throughput(url: &str, requests: usize, floor: usize, ceiling: usize) -> (f64, serde_json::Value) {
    let mut cfg = OpenAiConfig::new(url, "m");
    cfg.max_concurrency = ceiling;
    cfg.min_concurrency = floor;
    // The same retries for every setting: up to 20 attempts, backoff from 100 ms to 2 s.
    cfg.retry =
        RetryPolicy { max_attempts: 20, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(2) };
    let client = OpenAiClient::new(cfg).unwrap();
    let started = Instant::now();
    let done: Vec<bool> = futures::stream::iter(0..requests)
        .map(|i| {
            let client = &client;
            async move {
                let req = ChatRequest::new(vec![Message::user(format!("request {i}"))], Purpose::Factual);
                client.chat(&req).await.is_ok()
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    assert!(done.iter().all(|d| *d), "a request failed");
    let load = client.load().map(|l| json!({"final_limit": l.limit, "peak_in_flight": l.peak_in_flight, "throttled": l.throttled, "slowdowns": l.slowdowns})).unwrap_or_default();
    (requests as f64 * 60.0 / secs, load)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let requests: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let latency = Duration::from_millis(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100));
    let mut out = Vec::new();
    for c in [4usize, 16] {
        let (url, _) = server(c, latency);
        let mut fixed = Vec::new();
        for k in [1usize, 2, 4, 8, 16, 32] {
            let (rpm, load) = throughput(&url, requests, k, k).await;
            fixed.push(json!({"concurrency": k, "requests_per_minute": rpm.round(), "load": load}));
        }
        let best = fixed.iter().map(|f| f["requests_per_minute"].as_f64().unwrap()).fold(0.0, f64::max);
        let (adaptive, load) = throughput(&url, requests, 1, 64).await;
        out.push(json!({
            "server_capacity": c,
            "fixed": fixed,
            "best_fixed_requests_per_minute": best,
            "adaptive_requests_per_minute": adaptive.round(),
            "adaptive_over_best": (adaptive / best * 1000.0).round() / 1000.0,
            "adaptive_load": load,
        }));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "requests": requests, "latency_ms": latency.as_millis() as u64,
            "target": "adaptive_over_best >= 0.9", "servers": out
        }))
        .unwrap()
    );
}
