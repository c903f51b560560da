//! Ingest benchmark; prints one JSON object on stdout.
//!
//! ```sh
//! cargo bench -p quarry-ingest --bench ingest            # or scripts/bench-ingest.sh
//! ```
//!
//! Cases, each run in a fresh child process so its peak memory (VmHWM) is its own:
//! - `floor`: the five shared books and the shared Wikipedia dump are loaded
//!   once; then (a) every document is tokenized once with the chunker's
//!   tokenizer and (b) every document is chunked, both across all cores. The
//!   ratio chunk/tokenize is the target (>= 0.5).
//! - `books`, `wiki_1x`, `wiki_20x`: a whole `ingest()` run (read, decode,
//!   strip, convert, chunk, write) on the books, on the dump as plain XML, and
//!   on that dump made 20 times larger by repeating its pages with new ids.
//!   Peak memory of 1x and 20x should be within 20%.
//!
//! Needs the shared data (`QUARRY_SHARED_DATA`, default `../shared/data`) and
//! the tokenizer from scripts/setup.sh.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use quarry_ingest::{Chunker, IngestOptions, NoProgress, chunker::default_tokenizer_path};
use rayon::prelude::*;
use serde_json::{Value, json};

const DUMP: &str = "wikipedia/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2";

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn chunker() -> Chunker {
    Chunker::from_file(&default_tokenizer_path(), 200, 256, 0).expect("tokenizer: run scripts/setup.sh")
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn books() -> Vec<PathBuf> {
    ["1228.txt", "14474.txt", "2931.txt", "33504.txt", "5001.txt"]
        .iter()
        .map(|b| shared().join("books").join(b))
        .collect()
}

/// The dump as plain XML, `times` copies of every page with fresh ids.
fn make_dump(dir: &Path, times: usize) -> PathBuf {
    let mut xml = String::new();
    bzip2::read::MultiBzDecoder::new(std::fs::File::open(shared().join(DUMP)).expect("dump"))
        .read_to_string(&mut xml)
        .expect("decompress");
    let first = xml.find("<page>").expect("pages");
    let last = xml.rfind("</page>").expect("pages") + "</page>".len();
    let (head, pages, tail) = (&xml[..first], &xml[first..last], &xml[last..]);
    let path = dir.join(format!("dump-{times}x.xml"));
    let mut out = String::with_capacity(head.len() + pages.len() * times + tail.len());
    out.push_str(head);
    for k in 0..times {
        if k == 0 {
            out.push_str(pages);
        } else {
            // New page ids: <id>N</id> directly after </ns> becomes <id>N+k*10^7</id>.
            let mut rest = pages;
            while let Some(i) = rest.find("</ns>") {
                out.push_str(&rest[..i + 5]);
                rest = &rest[i + 5..];
                let t = rest.trim_start();
                if let Some(after) = t.strip_prefix("<id>") {
                    let end = after.find("</id>").expect("id end");
                    let id: u64 = after[..end].parse().expect("numeric id");
                    out.push_str(&format!("\n    <id>{}</id>", id + k as u64 * 10_000_000));
                    rest = &after[end + 5..];
                }
            }
            out.push_str(rest);
        }
    }
    out.push_str(tail);
    std::fs::write(&path, out).expect("write dump");
    path
}

fn run_ingest(paths: Vec<PathBuf>) -> Value {
    let chunker = chunker();
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = IngestOptions { paths, out: tmp.path().join("store"), ..IngestOptions::default() };
    let s = quarry_ingest::ingest(&opts, &chunker, &NoProgress).expect("ingest");
    json!({
        "input_mb": s.input_bytes as f64 / 1e6,
        "text_mb": s.text_bytes as f64 / 1e6,
        "documents": s.documents,
        "chunks": s.chunks,
        "seconds": s.seconds,
        "input_mb_per_s": s.mb_per_s,
        "text_mb_per_s": s.text_bytes as f64 / 1e6 / s.seconds,
        "peak_rss_mb": peak_rss_mb(),
    })
}

fn floor_case() -> Value {
    let chunker = chunker();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dump = make_dump(tmp.path(), 1);
    let mut result = serde_json::Map::new();
    for (name, paths) in [("books", books()), ("wiki", vec![dump])] {
        // Load once through a real ingest, then read the documents back.
        let out = tmp.path().join(format!("store-{name}"));
        let opts = IngestOptions { paths, out: out.clone(), ..IngestOptions::default() };
        quarry_ingest::ingest(&opts, &chunker, &NoProgress).expect("ingest");
        let store = quarry_ingest::Store::open(&out).expect("store");
        let docs: Vec<quarry_core::Document> = store.documents().map(|d| d.expect("doc").0).collect();
        let mb = docs.iter().map(|d| d.text.len()).sum::<usize>() as f64 / 1e6;
        let best = |f: &dyn Fn() -> usize| {
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(f());
                    t.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let tokenize = best(&|| docs.par_iter().map(|d| chunker.token_starts(&d.text).len()).sum());
        let chunk = best(&|| docs.par_iter().map(|d| chunker.chunk(d).len()).sum());
        result.insert(
            name.to_owned(),
            json!({
                "text_mb": mb,
                "tokenize_once_mb_per_s": mb / tokenize,
                "chunk_mb_per_s": mb / chunk,
                "chunk_to_tokenize_ratio": tokenize / chunk,
            }),
        );
    }
    Value::Object(result)
}

fn child(case: &str) {
    let v = match case {
        "floor" => floor_case(),
        "books" => run_ingest(books()),
        "wiki_1x" | "wiki_20x" => {
            let times = if case == "wiki_1x" { 1 } else { 20 };
            let tmp = tempfile::tempdir().expect("tempdir");
            let dump = make_dump(tmp.path(), times);
            // The dump is built in this process; measure the ingest from a
            // grandchild so its peak memory is the ingest's alone.
            let out = Command::new(std::env::current_exe().expect("exe"))
                .args(["--case", "ingest-file", dump.to_str().expect("utf-8 path")])
                .output()
                .expect("run case");
            serde_json::from_slice(&out.stdout).expect("case JSON")
        }
        "ingest-file" => {
            let path = std::env::args().nth(3).expect("path");
            run_ingest(vec![PathBuf::from(path)])
        }
        other => panic!("unknown case {other}"),
    };
    println!("{v}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        child(&args[i + 1]);
        return;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut report = serde_json::Map::new();
    report.insert("threads".into(), json!(threads));
    for case in ["floor", "books", "wiki_1x", "wiki_20x"] {
        eprintln!("bench: {case} ...");
        let out =
            Command::new(std::env::current_exe().expect("exe")).args(["--case", case]).output().expect("run case");
        assert!(out.status.success(), "case {case} failed: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("case JSON");
        report.insert(case.into(), v);
    }
    let one = report["wiki_1x"]["peak_rss_mb"].as_f64().unwrap_or(0.0);
    let twenty = report["wiki_20x"]["peak_rss_mb"].as_f64().unwrap_or(0.0);
    report.insert("wiki_peak_rss_20x_over_1x".into(), json!(twenty / one));
    println!("{}", serde_json::to_string_pretty(&Value::Object(report)).expect("json"));
}
