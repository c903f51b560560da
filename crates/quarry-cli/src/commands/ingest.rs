//! `quarry ingest`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use quarry_ingest::{Chunker, IngestOptions, Summary, chunker::default_tokenizer_path};

use crate::args::{ChunkArgs, IngestArgs};
use crate::exit;
use crate::progress::Bar;

pub fn run(a: IngestArgs, quiet: bool) -> Result<u8> {
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("cannot set --threads")?;
    }
    let summary = ingest_into(&a.paths, &a.out, &a.chunk, a.prune, a.commit_bytes, quiet)?;
    if a.json {
        println!("{}", serde_json::to_string(&serde_json::json!({"type": "summary", "data": summary}))?);
    } else if !quiet {
        print_summary(&summary);
    }
    let nothing = summary.store_documents == 0;
    if nothing && !quiet {
        eprintln!("error: nothing could be ingested; see the skipped inputs above");
    }
    Ok(if nothing { exit::NOTHING } else { exit::OK })
}

/// Ingests `paths` into the store at `out` with a progress bar.
pub fn ingest_into(
    paths: &[PathBuf],
    out: &Path,
    chunk: &ChunkArgs,
    prune: bool,
    commit_bytes: u64,
    quiet: bool,
) -> Result<Summary> {
    let tokenizer = chunk.tokenizer.clone().unwrap_or_else(default_tokenizer_path);
    let chunker = Chunker::from_file(&tokenizer, chunk.target_tokens, chunk.max_tokens, chunk.overlap)?;
    let opts = IngestOptions {
        paths: paths.to_vec(),
        out: out.to_owned(),
        include: chunk.include.clone(),
        exclude: chunk.exclude.clone(),
        prune,
        commit_bytes,
        language: chunk.language.clone(),
    };
    let bar = Bar::new(quiet, "ingest");
    quarry_ingest::ingest(&opts, &chunker, &bar).with_context(|| format!("ingest into {}", out.display()))
}

/// The human summary of an ingest run, on stderr.
pub fn print_summary(summary: &Summary) {
    eprintln!(
        "ingested {} documents, {} chunks from {} sources into {} ({:.1} MB in {:.2}s, {:.2} MB/s)",
        summary.documents,
        summary.chunks,
        summary.sources_ingested,
        summary.out,
        summary.input_bytes as f64 / 1e6,
        summary.seconds,
        summary.mb_per_s
    );
    if summary.sources_unchanged > 0 {
        eprintln!("unchanged: {} sources already in the store (nothing to do for them)", summary.sources_unchanged);
    }
    if summary.sources_resumed > 0 {
        eprintln!("resumed: {} sources an earlier run left unfinished", summary.sources_resumed);
    }
    if summary.sources_pruned > 0 {
        eprintln!("pruned: {} sources no longer among the inputs", summary.sources_pruned);
    }
    if !summary.skipped.is_empty() {
        let parts: Vec<String> = summary.skipped.iter().map(|(r, n)| format!("{r} {n}")).collect();
        eprintln!("skipped: {}", parts.join(", "));
    }
    eprintln!("store: {} documents, {} chunks", summary.store_documents, summary.store_chunks);
}
