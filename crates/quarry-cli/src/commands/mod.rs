//! One module per command group: `report` (report, audit), `export`, `records` (dedup,
//! reject, similar), `generate` (generate, prompts, controls), `llm` (llm, cache), and one
//! each for ingest, index, merge, search, show, inspect and eval.

pub mod estimate;
pub mod eval;
pub mod export;
pub mod generate;
pub mod index;
pub mod ingest;
pub mod inspect;
pub mod llm;
pub mod merge;
pub mod records;
pub mod report;
pub mod search;
pub mod show;

use std::path::{Path, PathBuf};

use anyhow::Result;
use quarry_ingest::Store;

/// The store behind a directory: a store itself, or an index's store.
pub fn open_store(dir: &Path) -> Result<Store> {
    let store_dir: PathBuf =
        if quarry_index::index::is_index(dir) { quarry_index::index::store_dir(dir) } else { dir.to_owned() };
    Ok(Store::open(&store_dir)?)
}
