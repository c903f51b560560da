//! `quarry merge`: the shards of a run or of an index, joined into one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use quarry_index::vectors::Backend;
use quarry_index::{Embedder, Index, IndexError};
use quarry_ingest::Store;
use serde_json::json;

use crate::args::MergeArgs;
use crate::commands::generate::{finish, print_json};
use crate::commands::index::{corpus_json, print_update};
use crate::commands::report::write_report;
use crate::commands::search::open_index;
use crate::exit;
use crate::progress::Bar;

pub fn run(a: MergeArgs, quiet: bool) -> Result<u8> {
    let first = a.dirs.first().context("name the shard directories to merge")?;
    if quarry_index::index::is_index(first) {
        merge_indexes(&a, quiet)
    } else if first.join(quarry_gen::run_dir::RUN_JSON).exists() {
        merge_runs(&a, quiet)
    } else {
        bail!("{} is neither a run directory (no run.json) nor an index (no index manifest.json)", first.display())
    }
}

fn merge_runs(a: &MergeArgs, quiet: bool) -> Result<u8> {
    let shards = quarry_gen::merge::read_shards(&a.dirs)?;
    let recorded = shards[0].summary.index.clone().unwrap_or_default();
    let index_dir = a.index.clone().unwrap_or_else(|| PathBuf::from(&recorded));
    let index = open_index(&index_dir, None).with_context(|| {
        format!("open the run's index {} (give --index where it is on this machine)", index_dir.display())
    })?;
    let n = shards.len();
    let embed = |t: &str| index.embedder().embed(&[t]).ok().and_then(|mut v| v.pop()).unwrap_or_default();
    let merged = quarry_gen::merge::merge(shards, &a.out, &embed)?;
    let s = &merged.summary;
    let (accepted, target, budget) =
        (s.accepted.unwrap_or_default(), s.target.unwrap_or_default(), s.slot_budget.unwrap_or_default());
    if !quiet && !a.json {
        eprintln!(
            "merged {n} shards into {}: every slot below {} ({} lines left out: after the {target}th record or past the first slot no shard wrote)",
            a.out.display(),
            merged.covered,
            merged.left_out
        );
    }
    if accepted < target && merged.covered < budget {
        let report = write_report(&a.out, &index)?;
        if a.json {
            print_json(s, Some(&report))?;
        }
        eprintln!(
            "the shards stopped before the run's {target}th record: {} holds {accepted}. Finish it on one machine with the same `quarry generate` command, without --shard and with --out {}",
            a.out.display(),
            a.out.display()
        );
        return Ok(exit::NOTHING);
    }
    finish(s, &a.out, &index, a.json, quiet)
}

fn merge_indexes(a: &MergeArgs, quiet: bool) -> Result<u8> {
    let manifest = Index::read_manifest(&a.dirs[0])?;
    let embedder = Arc::new(Embedder::load(&manifest.embedder.spec(), None)?);
    let shards = Index::open_shards(&a.dirs, embedder.clone())?;
    // A merge cut short is finished by the same command: what is indexed already is skipped.
    let store_setting = manifest.store.clone();
    if store_setting == "store" {
        copy_dir(&quarry_index::index::store_dir(&a.dirs[0]), &a.out.join("store"))?;
    }
    let backend = a.vectors.as_deref().map(Backend::parse).transpose()?;
    let mut index = Index::open_or_create(&a.out, embedder, backend, &store_setting)
        .with_context(|| format!("create index {}", a.out.display()))?;
    index.claim_shard(None)?;
    let store_dir = quarry_index::index::store_dir(&a.out);
    let store = Store::open(&store_dir)?;
    let docs = || {
        store.documents().map(|r| r.map_err(|e| IndexError::Index { path: store_dir.clone(), message: e.to_string() }))
    };
    let bar = Bar::items(quiet, "copy");
    let stats = index
        .update_from(&docs, corpus_json(&store), &|done, total| bar.set(done, total), &shards)
        .with_context(|| format!("merge into {}", a.out.display()))?;
    bar.finish();
    let m = index.manifest();
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&json!({"type": "summary", "data": {
                "index": a.out.display().to_string(),
                "shards": a.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
                "update": stats,
                "counts": m.counts,
                "embedder": m.embedder,
                "vectors": m.vectors,
            }}))?
        );
    } else if !quiet {
        eprintln!("merged {} shard indexes: {} chunks' vectors copied, none embedded", shards.len(), m.counts.vectors);
        print_update(&a.out, &stats, m);
    }
    Ok(if m.counts.chunks == 0 { exit::NOTHING } else { exit::OK })
}

/// Copies a directory tree (a store: a manifest and segment files).
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("create {}", to.display()))?;
    for e in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)
                .with_context(|| format!("copy {} to {}", e.path().display(), target.display()))?;
        }
    }
    Ok(())
}
