//! A model server that cannot do the work stops a run at once, with exit 2 and one message
//! naming the URL and the cause: nothing listening, a refused key, no such model or
//! endpoint, or a server that dies in the middle of the run. Transient faults (429, 5xx)
//! keep their retries and cost only their slot. What was accepted stays, and the same
//! command resumes once the server is back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::languages::{fixture, hindi_index};
use crate::replay::Replay;
use crate::util::*;

/// A server on 127.0.0.1 that answers every request with `status` and counts the requests.
fn fault_server(status: u16) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                seen.fetch_add(1, Ordering::SeqCst);
                let reply = r#"{"error":{"message":"injected fault"}}"#;
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} Fault\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            });
        }
    });
    (url, count)
}

fn generate(index: &Path, out: &Path, url: &str, n: usize, extra: &[&str]) -> Output {
    quarry()
        .args(["generate", "qa", "--index"])
        .arg(index)
        .args(["--n", &n.to_string(), "--budget", "1", "--seed", "1", "--out"])
        .arg(out)
        .args(["--base-url", url, "--llm-model", "replay", "--no-cache", "--attempts", "2", "-q"])
        .args(extra)
        .output()
        .unwrap()
}

fn golden_index(tmp: &Path) -> PathBuf {
    let index = tmp.join("index");
    ok(&run([Path::new("index"), &repo("tests/fixtures/golden/corpus"), Path::new("--out"), &index, Path::new("-q")]));
    index
}

#[test]
fn a_server_that_cannot_do_the_work_stops_the_run_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let index = golden_index(tmp.path());

    // Nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let out = tmp.path().join("dead");
    let started = Instant::now();
    let o = generate(&index, &out, &url, 4, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&url) && err.contains("cannot be reached") && err.contains("resumes"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    // No slot was spent on the failure.
    assert_eq!(run_lines(&out), 0, "{err}");

    // A refused key, a missing model: one request each (no retries), then the cause.
    for (status, cause) in
        [(401, "refused the API key"), (403, "refused the API key"), (404, "no such model or endpoint")]
    {
        let (url, count) = fault_server(status);
        let out = tmp.path().join(format!("status-{status}"));
        let o = generate(&index, &out, &url, 4, &["--concurrency", "1"]);
        assert_eq!(o.status.code(), Some(2), "{status}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&url) && err.contains(&status.to_string()) && err.contains(cause), "{status}: {err}");
        assert_eq!(count.load(Ordering::SeqCst), 1, "{status}: requests made");
        assert_eq!(run_lines(&out), 0);
    }

    // Rate limits and server errors are transient: retried, and each costs only its slot.
    for status in [429, 503] {
        let (url, count) = fault_server(status);
        let out = tmp.path().join(format!("status-{status}"));
        let o = generate(&index, &out, &url, 2, &["--concurrency", "1"]);
        assert_eq!(o.status.code(), Some(1), "{status}: {}", stderr(&o));
        let rejects = lines(&out.join("rejects.jsonl"));
        assert_eq!(rejects.len(), 2, "{status}");
        assert!(rejects.iter().all(|r| r["reason"] == "llm_error"), "{status}: {rejects:?}");
        assert_eq!(count.load(Ordering::SeqCst), 4, "{status}: two attempts per slot");
    }
}

#[test]
fn a_server_that_dies_mid_run_stops_it_and_the_same_command_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let index = hindi_index(tmp.path());
    let data = fixture().join("corpus.json");
    // A slow server, so the run is still going when it dies.
    let mut replay = Replay::start_on(&data, "short", free_port(), 0.3);
    let out = tmp.path().join("run");
    let url = replay.url.clone();
    let command = || {
        let mut c = quarry();
        c.args(["generate", "qa", "--index"])
            .arg(&index)
            .args(["--n", "10", "--budget", "1", "--seed", "1", "--concurrency", "1", "--out"])
            .arg(&out)
            .args(["--base-url", &url, "--llm-model", "replay", "--no-cache", "--attempts", "2", "-q"]);
        c
    };
    let mut child = command().stderr(std::process::Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while run_lines(&out) < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "no slot finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    replay.kill();
    let killed_at = Instant::now();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains(&url) && err.contains("stopped answering"), "{err}");
    assert!(killed_at.elapsed() < Duration::from_secs(60), "took {:?} to stop", killed_at.elapsed());
    let kept = lines(&out.join("records.jsonl"));
    let done = run_lines(&out);
    assert!((2..10).contains(&done), "{done} slots written before the server died");
    // The failed call wrote no reject: its slot is done again on resume.
    assert!(lines(&out.join("rejects.jsonl")).iter().all(|r| r["reason"] != "llm_error"));

    // The server is back on the same URL: the same command finishes the run and keeps what
    // was accepted.
    let replay_back = Replay::start_on(&data, "short", replay.port, 0.0);
    assert_eq!(replay_back.url, url);
    let o = command().output().unwrap();
    assert!(o.status.code().unwrap() <= 1, "{}", stderr(&o));
    let records = lines(&out.join("records.jsonl"));
    assert_eq!(&records[..kept.len()], &kept[..], "records accepted before the death are kept as they were");
    assert_eq!(run_lines(&out), 10, "every slot done once");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_run_is_estimated_before_any_call_and_again_from_a_finished_one() {
    let tmp = tempfile::tempdir().unwrap();
    let index = golden_index(tmp.path());
    let estimate = |extra: &[&str]| -> serde_json::Value {
        let o = quarry().arg("estimate").arg(&index).args(["--json", "--n", "8"]).args(extra).output().unwrap();
        ok(&o);
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let e = estimate(&["--acceptance", "0.5", "--machines", "4", "--corpus-gb", "1"]);
    assert_eq!(e["corpus"]["documents"], 3);
    assert_eq!(e["estimate"]["slots"], 16);
    assert_eq!(e["estimate"]["llm_calls"], 32);
    assert_eq!(e["estimate"]["measured"], false);
    assert!(e["estimate"]["prompt_tokens"].as_u64().unwrap() > 16 * 200, "{e}");
    let (one, four) = (e["model_seconds_one_machine"].as_f64().unwrap(), e["model_seconds"].as_f64().unwrap());
    assert!((one / 4.0 - four).abs() <= 1.0, "{e}");
    assert!(e["corpus_to_index"]["chunks"].as_f64().unwrap() > 1e5, "{e}");

    // A finished run replaces the assumptions with what it measured.
    let replay = Replay::start(&fixture().join("corpus.json"), "short");
    let hindi = hindi_index(tmp.path());
    let out = tmp.path().join("run");
    let o = quarry()
        .args(["generate", "qa", "--index"])
        .arg(&hindi)
        .args(["--n", "4", "--budget", "1", "--out"])
        .arg(&out)
        .args(["--base-url", &replay.url, "--llm-model", "replay", "--no-cache", "-q"])
        .output()
        .unwrap();
    assert!(o.status.code().unwrap() <= 1, "{}", stderr(&o));
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    // run.json tells how the server was loaded: the adaptive limit, requests, 429s.
    let load = &run["load"];
    assert_eq!(load["adaptive"], true, "{run}");
    assert_eq!((load["floor"].as_u64(), load["ceiling"].as_u64()), (Some(1), Some(8)), "{load}");
    assert!(load["requests"].as_u64().unwrap() >= 4 && load["throttled"] == 0, "{load}");
    assert!(!load["in_flight_over_time"].as_array().unwrap().is_empty(), "{load}");
    let o =
        quarry().arg("estimate").arg(&hindi).args(["--json", "--n", "100", "--from-run"]).arg(&out).output().unwrap();
    ok(&o);
    let m: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(m["estimate"]["measured"], true);
    let acceptance = run["accepted"].as_f64().unwrap() / run["slots_used"].as_f64().unwrap();
    assert!((m["acceptance"].as_f64().unwrap() - acceptance).abs() < 1e-9, "{m}");
    let per_slot = run["usage"]["prompt_tokens"].as_f64().unwrap() / run["slots_used"].as_f64().unwrap();
    assert!((m["estimate"]["prompt_tokens_per_slot"].as_f64().unwrap() - per_slot).abs() < 1.0, "{m}");
    // Another task's run is refused.
    let o = quarry().arg("estimate").arg(&hindi).args(["--task", "pretrain", "--from-run"]).arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a qa run"), "{}", stderr(&o));
}

/// A real llama.cpp server (llama-cpp-python's, serving the embedded GGUF), started by the test
/// and killed in the middle of a run.
struct LlamaServer(std::process::Child);

impl LlamaServer {
    fn start(port: u16) -> LlamaServer {
        let python = quarry_core::cache_dir().join("test-venv/bin/python");
        assert!(python.is_file(), "{} is missing: run scripts/setup-test-tools.sh", python.display());
        let gguf = quarry_llm::default_gguf();
        assert!(gguf.is_file(), "{} is missing: run scripts/setup.sh --tests", gguf.display());
        let child = std::process::Command::new(&python)
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(&gguf)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--n_ctx", "4096", "--n_threads", "2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start llama_cpp.server");
        let started = Instant::now();
        // Ready when it answers its model list.
        loop {
            let o = std::process::Command::new("curl")
                .args(["-sf", &format!("http://127.0.0.1:{port}/v1/models")])
                .output()
                .unwrap();
            if o.status.success() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "llama_cpp.server did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        LlamaServer(child)
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn a_llama_cpp_server_killed_mid_run_stops_it_and_the_same_command_resumes() {
    let _model = model_lock();
    let tmp = tempfile::tempdir().unwrap();
    let index = golden_index(tmp.path());
    let port = free_port();
    let mut server = LlamaServer::start(port);
    let url = format!("http://127.0.0.1:{port}/v1");
    let out = tmp.path().join("run");
    let command = || {
        let mut c = quarry();
        c.args(["generate", "qa", "--index"])
            .arg(&index)
            .args(["--n", "4", "--budget", "1", "--seed", "1", "--concurrency", "1", "--extractive", "--out"])
            .arg(&out)
            .args(["--base-url", &url, "--llm-model", "smollm2", "--no-cache", "--attempts", "2", "-q"]);
        c
    };
    let mut child = command().stderr(std::process::Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while run_lines(&out) < 1 {
        assert!(started.elapsed() < Duration::from_secs(300), "no slot finished");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before the server was killed");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains(&url) && (err.contains("stopped answering") || err.contains("cannot reach")), "{err}");
    let before = (lines(&out.join("records.jsonl")), lines(&out.join("rejects.jsonl")));
    let done = run_lines(&out);
    assert!((1..4).contains(&done), "{done} slots written before the server died");
    assert!(before.1.iter().all(|r| r["reason"] != "llm_error"), "the failed call wrote a reject");

    // Back on the same URL: the same command finishes the run, keeping every line written.
    let _server = LlamaServer::start(port);
    let o = command().output().unwrap();
    assert!(o.status.code().unwrap() <= 1, "{}", stderr(&o));
    let after = (lines(&out.join("records.jsonl")), lines(&out.join("rejects.jsonl")));
    assert_eq!(&after.0[..before.0.len()], &before.0[..], "records written before the kill changed");
    assert_eq!(&after.1[..before.1.len()], &before.1[..], "rejects written before the kill changed");
    assert_eq!(run_lines(&out), 4, "every slot done once");
}
