//! The response cache survives a kill -9 in the middle of writes.

use std::process::Command;
use std::time::{Duration, Instant};

use quarry_llm::{Cache, ChatRequest, ChatResponse, FinishReason, Message, Purpose, Timings, Usage};

const CHILD_ENV: &str = "QUARRY_TEST_CACHE_WRITER";

fn entry(i: u64) -> (ChatRequest, ChatResponse) {
    let request = ChatRequest::new(vec![Message::user(format!("question {i}"))], Purpose::Factual);
    let response = ChatResponse {
        // Large enough that a write spans many pages.
        text: format!("answer {i} ").repeat(2000),
        json: None,
        finish_reason: FinishReason::Stop,
        usage: Usage { prompt_tokens: i, completion_tokens: i },
        timings: Timings::default(),
        model: "m".into(),
        cached: false,
    };
    (request, response)
}

/// Not a test on its own: the child process of `kill_9_during_writes_leaves_a_readable_cache`,
/// which writes entries until it is killed. Without the variable it returns at once.
#[test]
fn cache_writer_child_process() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let cache = Cache::open(std::path::Path::new(&path)).unwrap();
    for i in 0.. {
        let (req, resp) = entry(i);
        cache.put(&Cache::key("b", "m", &req), &resp).unwrap();
    }
}

#[test]
fn kill_9_during_writes_leaves_a_readable_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "cache::cache_writer_child_process", "--nocapture"])
            .env(CHILD_ENV, &path)
            .spawn()
            .unwrap();
        // Let it write for a while (longer each round), then kill it mid-write.
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(400 + 300 * round) {
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let cache = Cache::open(&path).expect("the cache opens after a kill -9");
        let n = cache.stats().unwrap().entries;
        assert!(n > 0, "round {round}: the child wrote nothing");
        // Every entry that is there reads back whole and right.
        for i in 0..n {
            let (req, resp) = entry(i);
            let got =
                cache.get(&Cache::key("b", "m", &req)).unwrap().unwrap_or_else(|| panic!("entry {i} of {n} lost"));
            assert_eq!(got.text, resp.text, "entry {i}");
        }
    }
}
