//! `quarry search`.

use std::sync::Arc;

use anyhow::{Context, Result};
use quarry_core::{DocId, heading_path_display};
use quarry_index::{Embedder, Index, ModelSpec, Precision, SearchOptions};

use crate::args::SearchArgs;
use crate::exit;

/// Opens an index with the embedder it records (or `model`, which must be the same one).
pub fn open_index(dir: &std::path::Path, model: Option<&str>) -> Result<Index> {
    let manifest = Index::read_manifest(dir)
        .with_context(|| format!("{} is not an index; build one with `quarry index`", dir.display()))?;
    let spec = match model {
        Some(m) => ModelSpec::parse(m, manifest.embedder.precision.unwrap_or(Precision::Int8)),
        None => manifest.embedder.spec(),
    };
    let embedder = Arc::new(Embedder::load(&spec, None)?);
    Ok(Index::open(dir, embedder, None)?)
}

pub fn run(a: SearchArgs) -> Result<u8> {
    let index = open_index(&a.index, a.model.as_deref())?;
    let docs = a.docs.iter().map(|d| d.parse::<DocId>()).collect::<Result<Vec<_>, _>>()?;
    let opts = a.fusion.apply(SearchOptions {
        mode: a.mode.parse()?,
        k: a.k,
        docs,
        mmr: a.mmr,
        expand: a.expand,
        ..SearchOptions::default()
    })?;
    let hits = index.search(&a.query, &opts)?;
    if a.json {
        println!("{}", serde_json::to_string(&serde_json::json!({"query": a.query, "mode": opts.mode, "hits": hits}))?);
    } else {
        for h in &hits {
            println!(
                "{:>2}. {:.4}  {}  {}  [{}, {})",
                h.rank,
                h.score,
                h.chunk_id,
                heading_path_display(&h.heading_path),
                h.span[0],
                h.span[1]
            );
            let text: String = h.text.split_whitespace().collect::<Vec<_>>().join(" ");
            let short: String = text.chars().take(240).collect();
            println!("    {short}{}", if short.len() < text.len() { "…" } else { "" });
            for n in &h.neighbours {
                let t: String = n.text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(120).collect();
                println!("    {:+} {}  {t}…", n.offset, n.chunk_id);
            }
        }
        if hits.is_empty() {
            eprintln!("no results");
        }
    }
    Ok(if hits.is_empty() { exit::NOTHING } else { exit::OK })
}
