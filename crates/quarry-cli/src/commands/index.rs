//! `quarry index`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use quarry_index::vectors::Backend;
use quarry_index::{Embedder, Index, IndexError, ModelSpec, Precision, UpdateStats};
use quarry_ingest::Store;
use serde_json::json;

use crate::args::{IndexArgs, ModelArgs};
use crate::commands::ingest::{ingest_into, print_summary};
use crate::exit;
use crate::progress::Bar;

/// Loads the embedder `--model`/`--precision` name.
pub fn load_embedder(m: &ModelArgs) -> Result<Arc<Embedder>> {
    let precision = if m.precision == "fp32" { Precision::Fp32 } else { Precision::Int8 };
    let spec = ModelSpec::parse(&m.model, precision);
    Ok(Arc::new(Embedder::load(&spec, m.threads)?))
}

fn is_store(path: &Path) -> bool {
    std::fs::read(path.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["format"] == quarry_ingest::store::STORE_FORMAT)
}

pub fn run(a: IndexArgs, quiet: bool) -> Result<u8> {
    let dir = match (&a.out, &a.name) {
        (Some(o), _) => o.clone(),
        (None, Some(n)) => PathBuf::from("indexes").join(n),
        (None, None) => bail!("say where the index goes: --name NAME (indexes/NAME) or --out DIR"),
    };
    // An ingest output directory given alone is read in place.
    let external = (a.paths.len() == 1 && is_store(&a.paths[0]))
        .then(|| std::fs::canonicalize(&a.paths[0]))
        .transpose()
        .context("resolve the store path")?;
    let store_setting = external.as_ref().map_or_else(|| "store".to_owned(), |p| p.display().to_string());
    let backend = a.vectors.as_deref().map(Backend::parse).transpose()?;
    let shard = crate::commands::generate::shard(a.shard.as_deref())?;
    let embedder = load_embedder(&a.model)?;
    let mut index = Index::open_or_create(&dir, embedder, backend, &store_setting)
        .with_context(|| format!("open index {}", dir.display()))?;
    index.claim_shard(shard)?;
    if index.manifest().store != store_setting {
        bail!(
            "{} was built from {}, not {}; use a new --out directory",
            dir.display(),
            index.manifest().store,
            store_setting
        );
    }
    let store_dir = quarry_index::index::store_dir(&dir);
    let ingest = if external.is_none() {
        let s = ingest_into(&a.paths, &store_dir, &a.chunk, a.prune, 0, quiet)?;
        if !quiet && !a.json {
            print_summary(&s);
        }
        Some(s)
    } else {
        None
    };
    let store = Store::open(&store_dir)?;
    let bar = Bar::items(quiet, "embed");
    // A shard indexes only its own documents.
    let docs = || {
        store
            .documents()
            .map(|r| r.map_err(|e| IndexError::Index { path: store_dir.clone(), message: e.to_string() }))
            .filter(|r| r.as_ref().map_or(true, |(d, _)| shard.is_none_or(|s| s.owns_doc(&d.id))))
    };
    let stats = index
        .update(&docs, corpus_json(&store), &|done, total| bar.set(done, total))
        .with_context(|| format!("index {}", dir.display()))?;
    bar.finish();
    let manifest = index.manifest();
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&json!({"type": "summary", "data": {
                "index": dir.display().to_string(),
                "ingest": ingest,
                "update": stats,
                "counts": manifest.counts,
                "embedder": manifest.embedder,
                "vectors": manifest.vectors,
            }}))?
        );
    } else if !quiet {
        print_update(&dir, &stats, index.manifest());
    }
    // A shard may own none of a small corpus's documents; the merge has the others.
    Ok(if manifest.counts.chunks == 0 && shard.is_none() { exit::NOTHING } else { exit::OK })
}

/// What the manifest records of the store an index was built from: its chunker and sources.
pub fn corpus_json(store: &Store) -> serde_json::Value {
    let m = store.manifest();
    let sources: serde_json::Map<String, serde_json::Value> = m
        .sources
        .iter()
        .map(|(k, s)| (k.clone(), json!({"fingerprint": s.fingerprint, "documents": s.documents})))
        .collect();
    json!({"chunker": m.chunker, "sources": sources})
}

pub fn print_update(dir: &Path, s: &UpdateStats, m: &quarry_index::IndexManifest) {
    if s.chunks_embedded == 0 && s.documents_removed == 0 {
        eprintln!(
            "index {}: nothing changed ({} documents unchanged; no embedding work)",
            dir.display(),
            s.documents_unchanged
        );
    } else {
        let rate = if s.embed_seconds > 0.0 { s.chunks_embedded as f64 / s.embed_seconds } else { 0.0 };
        eprintln!(
            "index {}: indexed {} documents ({} chunks embedded at {:.0} chunks/s), {} unchanged, {} removed, in {:.1}s",
            dir.display(),
            s.documents_indexed,
            s.chunks_embedded,
            rate,
            s.documents_unchanged,
            s.documents_removed,
            s.seconds
        );
    }
    eprintln!(
        "index: {} documents, {} chunks, {} vectors; embedder {}; vectors in {}",
        m.counts.documents,
        m.counts.chunks,
        m.counts.vectors,
        m.embedder.describe(),
        m.vectors.describe()
    );
}
