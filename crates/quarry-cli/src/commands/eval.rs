//! `quarry eval retrieval`.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use quarry_index::eval::{evaluate, load_beir, write_trec};
use quarry_index::{Index, IndexError, Mode, SearchOptions};
use serde_json::json;

use crate::args::{ChunkArgs, EvalCommand, EvalRetrievalArgs};
use crate::commands::index::load_embedder;
use crate::commands::ingest::ingest_into;
use crate::exit;
use crate::progress::Bar;

pub fn run(c: EvalCommand, quiet: bool) -> Result<u8> {
    match c {
        EvalCommand::Retrieval(a) => retrieval(a, quiet),
        EvalCommand::Verify(a) => verify(a),
    }
}

fn verify(a: crate::args::EvalVerifyArgs) -> Result<u8> {
    use quarry_audit::SupportConfig;
    use quarry_audit::eval::{squad_cases, squad_eval, squad_eval_with};
    let cases =
        squad_cases(&a.squad, a.per_kind, a.seed).map_err(|e| anyhow::anyhow!("{}: {}", a.squad.display(), e.0))?;
    let embedder = load_embedder(&a.model)?;
    embedder.enable_memo();
    let embed = |texts: &[&str]| embedder.embed(texts).unwrap_or_default();
    let lexical = squad_eval(&cases, &SupportConfig::default());
    let mut mixed = Vec::new();
    for w in [0.8f32, 0.7, 0.6, 0.5, 0.4] {
        let cfg = SupportConfig { semantic_in_verdict: true, lexical_weight: w, ..SupportConfig::default() };
        let t = Instant::now();
        let r = squad_eval_with(&cases, &cfg, Some(&embed));
        mixed.push(json!({"lexical_weight": w, "seconds": t.elapsed().as_secs_f64(), "report": r}));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({"cases": cases.len(), "lexical": lexical, "with_embeddings": mixed}))?
    );
    Ok(exit::OK)
}

fn retrieval(a: EvalRetrievalArgs, quiet: bool) -> Result<u8> {
    let beir = load_beir(&a.beir_dir)?;
    if beir.queries.is_empty() {
        bail!("{}: no queries with relevance judgements", a.beir_dir.display());
    }
    let embedder = load_embedder(&a.model)?;
    let index_dir = a.index.clone().unwrap_or_else(|| a.beir_dir.join(format!("quarry-index-{}", a.model.precision)));
    let mut index = Index::open_or_create(&index_dir, embedder, None, "store")?;
    if a.index.is_none() {
        // Build (or bring up to date) the cached index of the corpus.
        let chunk = ChunkArgs {
            tokenizer: None,
            target_tokens: 200,
            max_tokens: 256,
            overlap: 0,
            include: Vec::new(),
            exclude: Vec::new(),
            language: None,
        };
        let store_dir = quarry_index::index::store_dir(&index_dir);
        ingest_into(&[a.beir_dir.join("corpus.jsonl")], &store_dir, &chunk, false, 0, quiet)?;
        let store = quarry_ingest::Store::open(&store_dir)?;
        let bar = Bar::items(quiet, "embed");
        let docs = || {
            store
                .documents()
                .map(|r| r.map_err(|e| IndexError::Index { path: store_dir.clone(), message: e.to_string() }))
        };
        index.update(&docs, json!({"beir": a.beir_dir.display().to_string()}), &|d, t| bar.set(d, t))?;
        bar.finish();
    }
    // Chunk documents → BEIR ids.
    let store = crate::commands::open_store(&index_dir)?;
    let mut beir_id: HashMap<String, String> = HashMap::new();
    for item in store.documents() {
        let (doc, _) = item.context("read the index's store")?;
        let id = doc.metadata.get("source_id").cloned().unwrap_or_else(|| doc.id.to_string());
        beir_id.insert(doc.id.to_string(), id);
    }
    let modes: Vec<Mode> =
        if a.mode == "all" { vec![Mode::Bm25, Mode::Dense, Mode::Hybrid] } else { vec![a.mode.parse()?] };
    let queries: Vec<&(String, String)> = beir.queries.iter().take(a.limit.unwrap_or(usize::MAX)).collect();
    let qrels: HashMap<String, HashMap<String, u32>> =
        queries.iter().filter_map(|(q, _)| Some((q.clone(), beir.qrels.get(q)?.clone()))).collect();
    let mut results = serde_json::Map::new();
    for mode in modes {
        let bar = Bar::items(quiet, "queries");
        let started = Instant::now();
        let mut run: BTreeMap<String, Vec<(String, f32)>> = BTreeMap::new();
        let opts = a.fusion.apply(SearchOptions {
            mode,
            k: a.depth * 2,
            candidates: (a.depth * 2).max(100),
            ..SearchOptions::default()
        })?;
        for (i, (qid, text)) in queries.iter().enumerate() {
            let hits = index.search(text, &opts)?;
            let mut ranked: Vec<(String, f32)> = Vec::new();
            for h in hits {
                let id = beir_id.get(h.doc_id.as_str()).cloned().unwrap_or_else(|| h.doc_id.to_string());
                if !ranked.iter().any(|(d, _)| *d == id) {
                    ranked.push((id, h.score));
                }
            }
            ranked.truncate(a.depth);
            run.insert(qid.clone(), ranked);
            bar.set(i as u64 + 1, queries.len() as u64);
        }
        bar.finish();
        let seconds = started.elapsed().as_secs_f64();
        let metrics = evaluate(&run, &qrels);
        let name = serde_json::to_value(mode)?.as_str().unwrap_or("mode").to_owned();
        if let Some(out) = &a.run_out {
            let path = if a.mode == "all" { out.with_extension(format!("{}.trec", name)) } else { out.clone() };
            write_trec(&path, &run, &format!("quarry-{name}"))?;
        }
        let mut v = serde_json::to_value(&metrics)?;
        v["seconds"] = json!(seconds);
        v["queries_per_s"] = json!(queries.len() as f64 / seconds);
        results.insert(name, v);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "dataset": a.beir_dir.display().to_string(),
            "index": index_dir.display().to_string(),
            "embedder": index.manifest().embedder,
            "documents": index.manifest().counts.documents,
            "chunks": index.manifest().counts.chunks,
            "queries": queries.len(),
            "modes": results,
        }))?
    );
    Ok(exit::OK)
}
