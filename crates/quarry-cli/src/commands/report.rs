//! `quarry report` and `quarry audit`: reading a run directory with the chunks it cites.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use quarry_index::Index;
use quarry_report::{ChunkView, RunView};

use crate::args::{AuditArgs, ReportArgs};
use crate::commands::search::open_index;
use crate::exit;

/// The chunks a run's records and rejects cite or show, from its index.
fn chunk_views(index: &Index, ids: impl IntoIterator<Item = String>) -> Result<HashMap<String, ChunkView>> {
    let mut out = HashMap::new();
    for id in ids {
        let Ok(cid) = id.parse::<quarry_core::ChunkId>() else { continue };
        if let Some(c) = index.chunk(&cid)? {
            out.insert(
                id.clone(),
                ChunkView {
                    chunk_id: id,
                    doc_id: c.doc_id.to_string(),
                    doc_title: c.title,
                    heading_path: c.heading_path,
                    chunk_start: c.span.start(),
                    text: c.text,
                },
            );
        }
    }
    Ok(out)
}

fn load_view(run: &Path, index: &Index) -> Result<RunView> {
    let (run_json, records, rejects) = quarry_gen::run_dir::read(run)?;
    let chunks = chunk_views(index, quarry_report::needed_chunks(&records, &rejects))?;
    // Records by the language of their seed document (the language they are written in).
    let seed_doc = |r: &quarry_core::Record| {
        r.seed_chunks.first().and_then(|c| c.parse::<quarry_core::ChunkId>().ok()).map(|c| c.doc_id().to_string())
    };
    let docs: std::collections::HashSet<String> = records.iter().filter_map(seed_doc).collect();
    let found = super::export::doc_languages(&quarry_index::index::store_dir(index.dir()), Some(&docs));
    let mut languages = std::collections::BTreeMap::new();
    for r in &records {
        if let Some(l) = seed_doc(r).and_then(|d| found.get(&d)) {
            *languages.entry(l.clone()).or_default() += 1;
        }
    }
    Ok(RunView { run: run_json, records, rejects, chunks, languages })
}

pub(crate) fn run_index(run: &Path) -> Result<Index> {
    let run_json = quarry_gen::run_dir::read_summary(run)?;
    let Some(dir) = run_json.index.as_deref().filter(|d| !d.is_empty()) else {
        bail!("{}/run.json names no index (a topic tree made without --index cites nothing)", run.display())
    };
    open_index(Path::new(dir), None).with_context(|| format!("open the run's index {dir}"))
}

/// Writes `<run>/report.html` and returns its path.
pub fn write_report(run: &Path, index: &Index) -> Result<PathBuf> {
    let view = load_view(run, index)?;
    let path = run.join(quarry_gen::run_dir::REPORT);
    quarry_report::write_html(&view, &path)?;
    Ok(path)
}

pub fn report(a: ReportArgs) -> Result<u8> {
    let index = run_index(&a.run)?;
    let view = load_view(&a.run, &index)?;
    let path = a.out.unwrap_or_else(|| a.run.join(quarry_gen::run_dir::REPORT));
    quarry_report::write_html(&view, &path)?;
    println!("{}", path.display());
    Ok(exit::OK)
}

pub fn audit(a: AuditArgs) -> Result<u8> {
    let (run_json, records, rejects) = quarry_gen::run_dir::read(&a.run)?;
    let Some(id) = a.id else {
        if a.json {
            println!("{}", serde_json::to_string_pretty(&run_json.to_json())?);
        } else {
            println!(
                "{}: {} records, {} rejects; verdicts {}; reject reasons {}",
                a.run.display(),
                records.len(),
                rejects.len(),
                serde_json::json!(run_json.counts_by_verdict),
                serde_json::json!(run_json.counts_by_reason)
            );
            for r in &records {
                println!("{}  {:<11} {:.2}  {}", r.id, r.verdict.as_str(), r.scores.support, r.question);
            }
        }
        return Ok(exit::OK);
    };
    if let Some(r) = records.iter().find(|r| r.id.to_string() == id) {
        if a.json {
            println!("{}", serde_json::to_string_pretty(r)?);
        } else {
            let index = run_index(&a.run)?;
            let chunks = chunk_views(&index, r.citations.iter().map(|c| c.chunk_id.clone()))?;
            print!("{}", quarry_report::render_terminal(r, &chunks, std::io::stdout().is_terminal()));
        }
        return Ok(exit::OK);
    }
    if let Some(r) = rejects.iter().find(|r| r.id.to_string() == id) {
        if a.json {
            println!("{}", serde_json::to_string_pretty(r)?);
        } else {
            print!("{}", quarry_report::render_reject_terminal(r));
        }
        return Ok(exit::OK);
    }
    eprintln!("no record or reject {id} in {}", a.run.display());
    Ok(exit::NOTHING)
}
