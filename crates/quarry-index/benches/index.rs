//! Index benchmark; prints one JSON object on stdout.
//!
//! ```sh
//! cargo bench -p quarry-index --bench index      # scripts/bench-index.sh adds retrieval quality
//! ```
//!
//! Each case runs in a child process (ONNX Runtime allows one environment per
//! process, and the raw baseline builds its own):
//! - `embed_raw <fp32|int8>`: tokenizers + ONNX Runtime called directly (batch
//!   32, 2 threads, mean pooling, L2), passages per second;
//! - `embed_quarry <fp32|int8>`: the same passages through quarry's Embedder;
//! - `build`: index the five shared books and the SQuAD dev paragraphs (int8),
//!   then re-index the unchanged input;
//! - `latency`: query latency per mode at about 10k and 100k chunks (100k =
//!   the 10k corpus repeated 12 times under new ids; repeated texts are embedded once).
//!
//! Needs `QUARRY_SHARED_DATA` (default ../shared/data), `QUARRY_BENCH_SQUAD`
//! (a BEIR folder made by scripts/make-beir.py; scripts/bench-index.sh makes
//! it) and the model files from scripts/setup.sh.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use quarry_index::embed::{default_model_dir, onnxruntime_path};
use quarry_index::{Embedder, Index, IndexError, Mode, ModelSpec, Precision, SearchOptions};
use quarry_ingest::{Chunker, IngestOptions, NoProgress, Store, chunker::default_tokenizer_path};
use serde_json::{Value, json};

const THREADS: usize = 2;
const BATCH: usize = 32;

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn squad() -> PathBuf {
    PathBuf::from(std::env::var_os("QUARRY_BENCH_SQUAD").expect("QUARRY_BENCH_SQUAD: a BEIR folder of SQuAD dev"))
}

fn precision(s: &str) -> Precision {
    if s == "fp32" { Precision::Fp32 } else { Precision::Int8 }
}

/// 256 passages of about 200 tokens: the first chunks of the five books.
fn passages() -> Vec<String> {
    let tmp = tempfile::tempdir().expect("tmp");
    let chunker = Chunker::from_file(&default_tokenizer_path(), 200, 256, 0).expect("tokenizer");
    let opts = IngestOptions {
        paths: vec![shared().join("books")],
        out: tmp.path().join("s"),
        exclude: vec!["SOURCES.md".into()],
        ..Default::default()
    };
    quarry_ingest::ingest(&opts, &chunker, &NoProgress).expect("ingest");
    let store = Store::open(&tmp.path().join("s")).expect("store");
    let mut out = Vec::new();
    for item in store.documents() {
        let (_, chunks) = item.expect("doc");
        out.extend(chunks.into_iter().filter(|c| c.token_count >= 150).take(52).map(|c| c.text));
    }
    out.truncate(256);
    out
}

fn best_of<F: FnMut() -> usize>(runs: usize, mut f: F) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn embed_quarry(p: &str) -> Value {
    let texts = passages();
    let spec = ModelSpec::Dir { path: default_model_dir(), precision: precision(p) };
    let e = Embedder::load(&spec, Some(THREADS)).expect("embedder");
    e.embed(&texts[..BATCH]).expect("warm up");
    let secs = best_of(3, || e.embed(&texts).expect("embed").len());
    json!({"passages": texts.len(), "passages_per_s": texts.len() as f64 / secs})
}

fn embed_raw(p: &str) -> Value {
    use ort::session::Session;
    use ort::session::builder::GraphOptimizationLevel;
    use ort::value::Tensor;
    let texts = passages();
    let dir = default_model_dir();
    let file = if p == "fp32" { "model.onnx" } else { "model_int8.onnx" };
    let env = ort::init_from(onnxruntime_path()).expect("ort").build().expect("environment");
    let mut session = Session::builder(&env)
        .expect("builder")
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .expect("opt")
        .with_intra_threads(THREADS)
        .expect("threads")
        .commit_from_file(dir.join(file))
        .expect("session");
    let mut tok = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).expect("tokenizer");
    tok.with_truncation(Some(tokenizers::TruncationParams { max_length: 256, ..Default::default() })).expect("trunc");
    tok.with_padding(Some(tokenizers::PaddingParams {
        strategy: tokenizers::PaddingStrategy::BatchLongest,
        ..Default::default()
    }));
    let mut run = |batch: &[String]| -> usize {
        let enc = tok.encode_batch(batch.to_vec(), true).expect("encode");
        let (b, s) = (enc.len(), enc[0].get_ids().len());
        let ids: Vec<i64> = enc.iter().flat_map(|e| e.get_ids().iter().map(|&x| x as i64)).collect();
        let mask: Vec<i64> = enc.iter().flat_map(|e| e.get_attention_mask().iter().map(|&x| x as i64)).collect();
        let types: Vec<i64> = enc.iter().flat_map(|e| e.get_type_ids().iter().map(|&x| x as i64)).collect();
        let outputs = session
            .run(ort::inputs![
                "input_ids" => Tensor::from_array(([b, s], ids)).expect("t"),
                "attention_mask" => Tensor::from_array(([b, s], mask.clone())).expect("t"),
                "token_type_ids" => Tensor::from_array(([b, s], types)).expect("t"),
            ])
            .expect("run");
        let (_, hidden) = outputs["last_hidden_state"].try_extract_tensor::<f32>().expect("output");
        let dim = hidden.len() / (b * s);
        let mut n = 0;
        for i in 0..b {
            let mut v = vec![0f32; dim];
            let mut count = 0f32;
            for j in 0..s {
                if mask[i * s + j] == 1 {
                    count += 1.0;
                    for (k, x) in v.iter_mut().enumerate() {
                        *x += hidden[(i * s + j) * dim + k];
                    }
                }
            }
            let norm = v.iter().map(|x| (x / count).powi(2)).sum::<f32>().sqrt();
            n += usize::from(norm > 0.0);
        }
        n
    };
    run(&texts[..BATCH]);
    let secs = best_of(3, || texts.chunks(BATCH).map(&mut run).sum());
    json!({"passages": texts.len(), "passages_per_s": texts.len() as f64 / secs})
}

fn build_index(
    paths: Vec<PathBuf>,
    dir: &Path,
    embedder: Arc<Embedder>,
    exclude: Vec<String>,
) -> (f64, f64, u64, quarry_index::UpdateStats) {
    let chunker = Chunker::from_file(&default_tokenizer_path(), 200, 256, 0).expect("tokenizer");
    let t = Instant::now();
    let store_dir = dir.join("store");
    let opts = IngestOptions { paths, out: store_dir.clone(), exclude, ..Default::default() };
    let summary = quarry_ingest::ingest(&opts, &chunker, &NoProgress).expect("ingest");
    let ingest_s = t.elapsed().as_secs_f64();
    let mut index = Index::open_or_create(dir, embedder, None, "store").expect("index");
    let store = Store::open(&store_dir).expect("store");
    let docs = || store.documents().map(|r| r.map_err(|e| IndexError::Usage(e.to_string())));
    let stats = index.update(&docs, Value::Null, &|_, _| {}).expect("update");
    (t.elapsed().as_secs_f64(), ingest_s, summary.input_bytes, stats)
}

fn build() -> Value {
    let spec = ModelSpec::Dir { path: default_model_dir(), precision: Precision::Int8 };
    let embedder = Arc::new(Embedder::load(&spec, None).expect("embedder"));
    let mut out = serde_json::Map::new();
    for (name, paths) in [("books", vec![shared().join("books")]), ("squad", vec![squad().join("corpus.jsonl")])] {
        let tmp = tempfile::tempdir().expect("tmp");
        let (secs, ingest_s, bytes, stats) =
            build_index(paths.clone(), tmp.path(), embedder.clone(), vec!["SOURCES.md".into()]);
        let (again, _, _, again_stats) = build_index(paths, tmp.path(), embedder.clone(), vec!["SOURCES.md".into()]);
        out.insert(
            name.into(),
            json!({
                "input_mb": bytes as f64 / 1e6,
                "chunks": stats.chunks_embedded,
                "build_seconds": secs,
                "ingest_seconds": ingest_s,
                "embed_seconds": stats.embed_seconds,
                "build_mb_per_s": bytes as f64 / 1e6 / secs,
                "chunks_per_s": stats.chunks_embedded as f64 / secs,
                "reindex_unchanged_seconds": again,
                "reindex_chunks_embedded": again_stats.chunks_embedded,
                "reindex_over_build": again / secs,
            }),
        );
    }
    Value::Object(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn latency() -> Value {
    let spec = ModelSpec::Dir { path: default_model_dir(), precision: Precision::Int8 };
    let embedder = Arc::new(Embedder::load(&spec, None).expect("embedder"));
    embedder.enable_memo();
    let tmp = tempfile::tempdir().expect("tmp");
    // The 10k corpus: books, the Wikipedia dump and SQuAD paragraphs.
    let base = tmp.path().join("base");
    std::fs::create_dir_all(&base).expect("dir");
    for (from, to) in [
        (shared().join("books/1228.txt"), "1228.txt"),
        (shared().join("books/14474.txt"), "14474.txt"),
        (shared().join("books/2931.txt"), "2931.txt"),
        (shared().join("books/33504.txt"), "33504.txt"),
        (shared().join("books/5001.txt"), "5001.txt"),
        (
            shared().join("wikipedia/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"),
            "wiki.xml.bz2",
        ),
        (squad().join("corpus.jsonl"), "squad.jsonl"),
    ] {
        std::fs::copy(from, base.join(to)).expect("copy");
    }
    let queries: Vec<String> = std::fs::read_to_string(squad().join("queries.jsonl"))
        .expect("queries")
        .lines()
        .step_by(50)
        .take(200)
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut out = serde_json::Map::new();
    for copies in [1usize, 12] {
        let root = tmp.path().join(format!("x{copies}"));
        let mut paths = Vec::new();
        for i in 0..copies {
            let d = root.join(format!("copy{i}"));
            std::fs::create_dir_all(&d).expect("dir");
            for e in std::fs::read_dir(&base).expect("base").flatten() {
                std::fs::hard_link(e.path(), d.join(e.file_name()))
                    .or_else(|_| std::fs::copy(e.path(), d.join(e.file_name())).map(|_| ()))
                    .expect("link");
            }
            paths.push(d);
        }
        let dir = tmp.path().join(format!("idx{copies}"));
        let (secs, _, _, stats) = build_index(paths, &dir, embedder.clone(), vec![]);
        let index = Index::open(&dir, embedder.clone(), None).expect("open");
        let chunks = index.manifest().counts.chunks;
        let mut modes = serde_json::Map::new();
        for mode in [Mode::Bm25, Mode::Dense, Mode::Hybrid] {
            let opts = SearchOptions { mode, k: 10, ..SearchOptions::default() };
            for q in queries.iter().take(10) {
                index.search(q, &opts).expect("warm up");
            }
            let mut times: Vec<f64> = queries
                .iter()
                .map(|q| {
                    let t = Instant::now();
                    index.search(q, &opts).expect("search");
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            times.sort_by(f64::total_cmp);
            modes.insert(
                serde_json::to_value(mode).expect("mode").as_str().expect("str").to_owned(),
                json!({"p50_ms": percentile(&times, 0.5), "p95_ms": percentile(&times, 0.95)}),
            );
        }
        out.insert(
            format!("chunks_{chunks}"),
            json!({"chunks": chunks, "build_seconds": secs, "chunks_embedded": stats.chunks_embedded, "queries": queries.len(), "modes": modes}),
        );
    }
    Value::Object(out)
}

fn child(args: &[String]) {
    let v = match args[0].as_str() {
        "embed_raw" => embed_raw(&args[1]),
        "embed_quarry" => embed_quarry(&args[1]),
        "build" => build(),
        "latency" => latency(),
        other => panic!("unknown case {other}"),
    };
    println!("{v}");
}

fn run_case(args: &[&str]) -> Value {
    eprintln!("bench: {} ...", args.join(" "));
    let out = Command::new(std::env::current_exe().expect("exe")).arg("--case").args(args).output().expect("run");
    assert!(out.status.success(), "case {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("case JSON")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        child(&args[i + 1..]);
        return;
    }
    let only = std::env::var("QUARRY_BENCH_ONLY").unwrap_or_default();
    let want = |c: &str| only.is_empty() || only.split(',').any(|o| o == c);
    let mut report = serde_json::Map::new();
    report.insert("threads".into(), json!(THREADS));
    report.insert("batch".into(), json!(BATCH));
    if want("embed") {
        let mut embed = serde_json::Map::new();
        for p in ["fp32", "int8"] {
            let raw = run_case(&["embed_raw", p]);
            let ours = run_case(&["embed_quarry", p]);
            let ratio = ours["passages_per_s"].as_f64().unwrap_or(0.0) / raw["passages_per_s"].as_f64().unwrap_or(1.0);
            embed.insert(p.into(), json!({"raw_onnxruntime": raw, "quarry": ours, "quarry_over_raw": ratio}));
        }
        report.insert("embedding".into(), Value::Object(embed));
    }
    if want("build") {
        report.insert("build".into(), run_case(&["build"]));
    }
    if want("latency") {
        report.insert("latency".into(), run_case(&["latency"]));
    }
    println!("{}", serde_json::to_string_pretty(&Value::Object(report)).expect("json"));
}
