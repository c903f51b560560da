//! Running the binary and reading what it wrote.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The `quarry` binary with a clean environment: no QUARRY_* settings but the
/// cache root, which holds the tokenizer that scripts/setup.sh fetched.
pub fn quarry() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quarry"));
    for (k, _) in std::env::vars() {
        if k.starts_with("QUARRY_") && k != "QUARRY_CACHE" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The rows of a JSONL file (none when it does not exist).
pub fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Lines a run directory holds: records and rejects.
pub fn run_lines(out: &Path) -> usize {
    lines(&out.join("records.jsonl")).len() + lines(&out.join("rejects.jsonl")).len()
}

/// Starts `command` once per point and kills it with SIGKILL: 1.5 s after it starts (0), or
/// once `at` more lines are in the run directory `out`. Asserts that no kill loses a written
/// line; returns how many were written in the end.
pub fn kill_at_points(out: &Path, points: &[usize], mut command: impl FnMut() -> Command) -> usize {
    use std::time::{Duration, Instant};
    let mut before = 0;
    for &at in points {
        let mut child =
            command().stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        let started = Instant::now();
        while run_lines(out) < before + at && started.elapsed() < Duration::from_secs(300) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if at == 0 {
            std::thread::sleep(Duration::from_millis(1500));
        }
        let _ = child.kill();
        child.wait().unwrap();
        assert!(run_lines(out) >= before, "a kill lost written slots");
        before = run_lines(out);
    }
    before
}

/// Held by every test that runs the embedded model: llama.cpp's OpenMP threads spin while
/// they wait, so two model processes on a 2-core machine slow each other down many times
/// over. Tests that only ingest, index or read run beside them.
pub fn model_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs quarry with these arguments.
pub fn run<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(args: I) -> Output {
    quarry().args(args).output().expect("quarry runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts a zero exit status, showing stderr otherwise.
#[track_caller]
pub fn ok(o: &Output) {
    assert!(o.status.success(), "quarry failed ({:?}):\n{}", o.status, stderr(o));
}

/// The shared test data folder beside the clone (`../shared/data`), or
/// QUARRY_SHARED_DATA. Missing data is a failure, not a skip: CI has it.
pub fn shared(rel: &str) -> PathBuf {
    let base = std::env::var_os("QUARRY_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../../shared/data")
    });
    let p = base.join(rel);
    assert!(p.exists(), "test data {} is missing: the shared data folder must sit beside the clone", p.display());
    p
}

/// The repo root.
pub fn repo(rel: &str) -> PathBuf {
    std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()))
        .join("../..")
        .join(rel)
}

/// Ingests `paths` into `out` and returns the run's JSON summary.
#[track_caller]
pub fn ingest(paths: &[&Path], out: &Path, extra: &[&str]) -> Value {
    let mut cmd = quarry();
    cmd.arg("ingest").args(paths).arg("--out").arg(out).arg("--json").args(extra);
    let o = cmd.output().expect("quarry runs");
    ok(&o);
    let v: Value = serde_json::from_str(stdout(&o).trim()).expect("summary is JSON");
    assert_eq!(v["type"], "summary");
    v["data"].clone()
}

/// A store's documents and chunks, via `quarry inspect --jsonl`.
pub struct Dump {
    pub docs: Vec<Value>,
    pub chunks: Vec<Value>,
    pub raw: String,
}

impl Dump {
    pub fn doc_by_source(&self, suffix: &str) -> &Value {
        self.docs
            .iter()
            .find(|d| d["source"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no document from {suffix}"))
    }

    pub fn chunks_of<'a>(&'a self, doc: &'a Value) -> impl Iterator<Item = &'a Value> + 'a {
        self.chunks.iter().filter(move |c| c["doc_id"] == doc["id"])
    }
}

#[track_caller]
pub fn inspect(dir: &Path) -> Dump {
    let o = run(["inspect".as_ref(), dir.as_os_str(), "--jsonl".as_ref()]);
    ok(&o);
    let raw = stdout(&o);
    let mut docs = Vec::new();
    let mut chunks = Vec::new();
    for line in raw.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        match v["type"].as_str() {
            Some("document") => docs.push(v),
            Some("chunk") => chunks.push(v),
            other => panic!("unexpected row type {other:?}"),
        }
    }
    Dump { docs, chunks, raw }
}

/// Every chunk's text is its document's text at its span (bytes), chunks do
/// not overlap and come in order, and every chunk lies inside one section.
#[track_caller]
pub fn check_spans(d: &Dump) {
    let docs: HashMap<&str, &Value> = d.docs.iter().map(|doc| (doc["id"].as_str().unwrap(), doc)).collect();
    let mut last_end: HashMap<&str, u64> = HashMap::new();
    for c in &d.chunks {
        let doc = docs[c["doc_id"].as_str().unwrap()];
        let text = doc["text"].as_str().unwrap().as_bytes();
        let (s, e) = (c["span"][0].as_u64().unwrap(), c["span"][1].as_u64().unwrap());
        assert!(s < e && e as usize <= text.len(), "chunk {} span out of range", c["id"]);
        assert_eq!(
            &text[s as usize..e as usize],
            c["text"].as_str().unwrap().as_bytes(),
            "chunk {} text != document text at span",
            c["id"]
        );
        let prev = last_end.insert(c["doc_id"].as_str().unwrap(), e).unwrap_or(0);
        assert!(s >= prev, "chunk {} overlaps or is out of order", c["id"]);
        let in_section = doc["sections"].as_array().unwrap().iter().any(|sec| {
            sec["span"][0].as_u64().unwrap() <= s
                && e <= sec["span"][1].as_u64().unwrap()
                && sec["heading_path"] == c["heading_path"]
        });
        assert!(in_section, "chunk {} crosses a section boundary", c["id"]);
        assert!(c["token_count"].as_u64().unwrap() <= 256 + 8, "chunk {} too long", c["id"]);
    }
}

/// Heading paths of a document's chunks, joined with " › ".
pub fn heading_paths(d: &Dump, doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in d.chunks_of(doc) {
        let p: Vec<&str> = c["heading_path"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        let p = p.join(" › ");
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}
