//! LLM benchmark; prints one JSON object.
//!
//!   cargo bench -p quarry-llm --bench llm
//!
//! Embedded SmolLM2-135M: prompt-processing and generation tokens/s, single sequence and
//! four decoded in one batch; cache-hit latency. Against a real llama.cpp server
//! (llama-cpp-python's, from scripts/setup-test-tools.sh): the client's overhead per request
//! compared with the same requests sent by a bare HTTP client, and throughput with 8
//! concurrent requests, ours vs bare. Ratios are measured in one run.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use quarry_llm::{
    Cache, Cached, ChatModel, ChatRequest, LlamaChat, LlamaConfig, Message, OpenAiClient, OpenAiConfig, Purpose,
};
use serde_json::{Value, json};

fn req(text: &str, max_tokens: u32) -> ChatRequest {
    let mut r = ChatRequest::new(vec![Message::user(text)], Purpose::Factual);
    r.max_tokens = max_tokens;
    r.temperature = 0.0;
    r
}

async fn embedded() -> Value {
    let m =
        LlamaChat::load(LlamaConfig::new(quarry_llm::default_gguf())).expect("the default GGUF (run scripts/setup.sh)");
    let long = "The candle flame is hollow; air rises around it and feeds it. ".repeat(40);
    // Prompt processing: a long prompt, one output token.
    let t = Instant::now();
    let r = m.chat(&req(&long, 1)).await.unwrap();
    let pp = r.usage.prompt_tokens as f64 / t.elapsed().as_secs_f64();
    // Generation, one sequence: a short prompt, 128 tokens (minus prompt time).
    let story = "Write a long story about a candle maker in a small town.";
    let mut g = req(story, 128);
    g.temperature = 0.8;
    let g = g.with_seed(1);
    let t = Instant::now();
    let r = m.chat(&g).await.unwrap();
    let single_s = t.elapsed().as_secs_f64();
    let single = r.usage.completion_tokens as f64 / single_s;
    // Four at once, decoded in one batch.
    let reqs: Vec<ChatRequest> = (0..4).map(|i| g.clone().with_seed(10 + i)).collect();
    let t = Instant::now();
    let rs = futures::future::join_all(reqs.iter().map(|r| m.chat(r))).await;
    let batch_s = t.elapsed().as_secs_f64();
    let tokens: u64 = rs.iter().map(|r| r.as_ref().unwrap().usage.completion_tokens).sum();
    // Cache hits.
    let dir = tempfile::tempdir().unwrap();
    let cached = Cached::new(m, Cache::open(&dir.path().join("c.redb")).unwrap());
    let q = req("Say hi.", 8);
    cached.chat(&q).await.unwrap();
    let n = 200;
    let t = Instant::now();
    for _ in 0..n {
        assert!(cached.chat(&q).await.unwrap().cached);
    }
    let hit_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    json!({
        "model": "SmolLM2-135M-Instruct.Q4_1",
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "prompt_tokens_per_s": pp,
        "generation_tokens_per_s_single": single,
        "generation_tokens_per_s_batch4": tokens as f64 / batch_s,
        "batch4_speedup": (tokens as f64 / batch_s) / single,
        "cache_hit_latency_us": hit_us,
    })
}

async fn server() -> Value {
    let python = quarry_core::cache_dir().join("test-venv/bin/python");
    if !python.is_file() {
        return json!({"skipped": format!("{} missing: run scripts/setup-test-tools.sh", python.display())});
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(&python)
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(quarry_llm::default_gguf())
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--n_ctx", "2048", "--n_threads", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(120), "server did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    let base = format!("http://127.0.0.1:{port}/v1");
    let ours = OpenAiClient::new(OpenAiConfig::new(&base, "m")).unwrap();
    let bare = reqwest::Client::new();
    let url = format!("{base}/chat/completions");
    let body = |i: u64| json!({"model": "m", "messages": [{"role": "user", "content": format!("Count to {i}.")}], "max_tokens": 8, "temperature": 0.0, "top_p": 0.9, "seed": i});
    let ask = |i: u64| req(&format!("Count to {i}."), 8).with_seed(i);
    // Warm up.
    ours.chat(&ask(0)).await.unwrap();
    // Sequential, interleaved so both see the same server state.
    let (mut t_ours, mut t_bare) = (0.0, 0.0);
    let n = 10;
    for i in 1..=n {
        let t = Instant::now();
        bare.post(&url).json(&body(i)).send().await.unwrap().json::<Value>().await.unwrap();
        t_bare += t.elapsed().as_secs_f64();
        let t = Instant::now();
        ours.chat(&ask(i)).await.unwrap();
        t_ours += t.elapsed().as_secs_f64();
    }
    // Eight concurrent.
    let t = Instant::now();
    let futs = (100..108).map(|i| {
        let bare = bare.clone();
        let url = url.clone();
        let b = body(i);
        async move { bare.post(&url).json(&b).send().await.unwrap().json::<Value>().await.unwrap() }
    });
    futures::future::join_all(futs).await;
    let bare8 = t.elapsed().as_secs_f64();
    let reqs: Vec<ChatRequest> = (100..108).map(ask).collect();
    let t = Instant::now();
    let rs = futures::future::join_all(reqs.iter().map(|r| ours.chat(r))).await;
    let ours8 = t.elapsed().as_secs_f64();
    assert!(rs.iter().all(|r| r.is_ok()));
    let _ = child.kill();
    let _ = child.wait();
    json!({
        "requests": n,
        "mean_ms_bare_client": t_bare * 1e3 / n as f64,
        "mean_ms_quarry_client": t_ours * 1e3 / n as f64,
        "client_overhead_ms": (t_ours - t_bare) * 1e3 / n as f64,
        "concurrent8_s_bare": bare8,
        "concurrent8_s_quarry": ours8,
        "concurrent8_throughput_ratio": bare8 / ours8,
    })
}

#[tokio::main]
async fn main() {
    let e = embedded().await;
    let s = server().await;
    println!("{}", serde_json::to_string_pretty(&json!({"embedded": e, "server": s})).unwrap());
}
