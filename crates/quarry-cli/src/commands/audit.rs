//! `quarry audit`, `quarry report` and `quarry export`: reading a run directory.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use quarry_index::Index;
use quarry_report::{CardInfo, ChunkView, ExportFormat, RunView};

use crate::args::{AuditArgs, DedupArgs, ExportArgs, RejectArgs, ReportArgs, SimilarArgs};
use crate::commands::search::open_index;
use crate::exit;

/// The chunks a run's records and rejects cite or show, from its index.
fn chunk_views(index: &Index, ids: impl IntoIterator<Item = String>) -> Result<HashMap<String, ChunkView>> {
    let mut out = HashMap::new();
    for id in ids {
        let Some(cid) = quarry_gen::qa::chunk_id(&id) else { continue };
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
    Ok(RunView { run: run_json, records, rejects, chunks })
}

fn run_index(run: &Path) -> Result<Index> {
    let (run_json, _, _) = quarry_gen::run_dir::read(run)?;
    let Some(dir) = run_json["index"].as_str().filter(|d| !d.is_empty()) else {
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
            println!("{}", serde_json::to_string_pretty(&run_json)?);
        } else {
            println!(
                "{}: {} records, {} rejects; verdicts {}; reject reasons {}",
                a.run.display(),
                records.len(),
                rejects.len(),
                run_json["counts_by_verdict"],
                run_json["counts_by_reason"]
            );
            for r in &records {
                println!("{}  {:<11} {:.2}  {}", r.id, r.verdict.as_str(), r.scores.support, r.question);
            }
        }
        return Ok(exit::OK);
    };
    if let Some(r) = records.iter().find(|r| r.id == id) {
        if a.json {
            println!("{}", serde_json::to_string_pretty(r)?);
        } else {
            let index = run_index(&a.run)?;
            let chunks = chunk_views(&index, r.citations.iter().map(|c| c.chunk_id.clone()))?;
            print!("{}", quarry_report::render_terminal(r, &chunks, std::io::stdout().is_terminal()));
        }
        return Ok(exit::OK);
    }
    if let Some(r) = rejects.iter().find(|r| r.id == id) {
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

/// The card's name (default: the exported directory's name), license and languages.
fn card_info(a: &ExportArgs, fallback: &str) -> CardInfo {
    let name = a.name.clone().unwrap_or_else(|| {
        a.run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| fallback.into())
    });
    CardInfo {
        name,
        license: a.license.clone(),
        language: a.language.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
        ..CardInfo::default()
    }
}

/// `quarry export <index> --format text`: the corpus chunks that pass the quality filters.
fn export_corpus(a: ExportArgs) -> Result<u8> {
    let store_dir = quarry_index::index::store_dir(&a.run);
    let store_dir = if store_dir.is_dir() { store_dir } else { a.run.clone() };
    let mut chunks = Vec::new();
    quarry_gen::engine::for_each_store_chunk(&store_dir, |c| {
        chunks.push(quarry_report::CorpusChunk {
            chunk_id: c.chunk_id,
            doc_id: c.doc_id,
            title: c.title,
            heading_path: c.heading_path,
            text: c.text,
        })
    })
    .with_context(|| format!("{} is neither a run directory nor an index", a.run.display()))?;
    let card = card_info(&a, "quarry-corpus");
    let cfg = quarry_report::TextQuality::default();
    let s = quarry_report::export_corpus_text(chunks.into_iter(), &cfg, &a.out, &card)?;
    let why: Vec<String> = s.skipped.iter().filter(|(_, n)| **n > 0).map(|(r, n)| format!("{n} {r}")).collect();
    println!(
        "{} chunks of {} documents to {}; {} skipped ({}); card {}",
        s.kept,
        s.documents,
        s.path.display(),
        s.skipped_total(),
        if why.is_empty() { "none".into() } else { why.join(", ") },
        s.card_path.display()
    );
    Ok(if s.kept == 0 { exit::NOTHING } else { exit::OK })
}

pub fn export(a: ExportArgs) -> Result<u8> {
    if a.format == "text" && !a.run.join(quarry_gen::run_dir::RUN_JSON).exists() {
        return export_corpus(a);
    }
    let (run_json, records, _) = quarry_gen::run_dir::read(&a.run)?;
    let format: ExportFormat = a.format.parse()?;
    let mut sources: Vec<String> =
        records.iter().flat_map(|r| r.citations.iter().map(|c| c.doc_title.clone())).collect();
    sources.sort();
    sources.dedup();
    let card = CardInfo {
        sources,
        model: run_json["model"].as_str().unwrap_or_default().to_owned(),
        backend: run_json["backend"].as_str().unwrap_or_default().to_owned(),
        system_prompt: match run_json["task"].as_str().unwrap_or("qa") {
            "conversation" => "You are an expert in a conversation: reply accurately to what the other person says.",
            "pretrain" => "Write a clear, accurate textbook section on the topic.",
            _ => "Answer the question accurately and concisely.",
        }
        .into(),
        run_id: run_json["run_id"].as_str().unwrap_or_default().to_owned(),
        ..card_info(&a, "quarry-dataset")
    };
    let s = quarry_report::export(&records, format, &a.out, &card)?;
    println!("{} rows to {}; card {}", s.rows, s.path.display(), s.card_path.display());
    Ok(if s.rows == 0 { exit::NOTHING } else { exit::OK })
}

/// Embeddings of the records' dedup keys (the question; a dialogue's user turns; a passage).
fn embed_questions(index: &Index, records: &[quarry_core::Record]) -> Result<Vec<Vec<f32>>> {
    let keys: Vec<String> = records.iter().map(quarry_gen::engine::dedup_key).collect();
    let qs: Vec<&str> = keys.iter().map(String::as_str).collect();
    Ok(index.embedder().embed(&qs)?)
}

pub fn dedup(a: DedupArgs) -> Result<u8> {
    use quarry_gen::dedup::{DedupConfig, Deduper};
    let (_, mut records, _) = quarry_gen::run_dir::read(&a.run)?;
    records.sort_by_key(|r| r.slot);
    let index = run_index(&a.run)?;
    let embeddings = embed_questions(&index, &records)?;
    let mut d = Deduper::new(DedupConfig { near: a.near, semantic: a.semantic });
    let mut moves = Vec::new();
    let mut clusters: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (r, e) in records.iter().zip(embeddings) {
        let key = quarry_gen::engine::dedup_key(r);
        match d.check(&key, &e) {
            Some(dup) => {
                let of = match &dup {
                    quarry_gen::dedup::Duplicate::Exact { of }
                    | quarry_gen::dedup::Duplicate::Near { of, .. }
                    | quarry_gen::dedup::Duplicate::Semantic { of, .. } => of.clone(),
                };
                clusters.entry(of).or_default().push(r.id.clone());
                moves.push(quarry_gen::qa::duplicate_reject(r, &dup));
            }
            None => d.add(&r.id, &key, e),
        }
    }
    let found = moves.len();
    let details: Vec<(String, String)> = moves.iter().map(|m| (m.id.clone(), m.detail.clone())).collect();
    let moved = if a.dry_run { 0 } else { quarry_gen::run_dir::move_to_rejects(&a.run, moves)? };
    let mut largest: Vec<(String, Vec<String>)> = clusters.into_iter().collect();
    largest.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    largest.truncate(10);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "records": records.len(), "duplicates": found, "moved": moved,
                "largest_clusters": largest, "duplicates_detail": details,
            }))?
        );
    } else {
        for (id, detail) in &details {
            println!("{id}: {detail}");
        }
        println!("{} records, {found} duplicates, {moved} moved to rejects", records.len());
    }
    Ok(exit::OK)
}

pub fn reject(a: RejectArgs) -> Result<u8> {
    let (_, records, _) = quarry_gen::run_dir::read(&a.run)?;
    let mut moves = Vec::new();
    for id in &a.ids {
        let Some(r) = records.iter().find(|r| &r.id == id) else {
            bail!("no record {id} in {}", a.run.display());
        };
        moves.push(quarry_gen::qa::manual_reject(r, "manual", "manual", &a.reason));
    }
    let n = quarry_gen::run_dir::move_to_rejects(&a.run, moves)?;
    println!("moved {n} records to rejects");
    Ok(exit::OK)
}

pub fn similar(a: SimilarArgs) -> Result<u8> {
    let (_, records, _) = quarry_gen::run_dir::read(&a.run)?;
    let Some(target) = records.iter().position(|r| r.id == a.id) else {
        eprintln!("no record {} in {}", a.id, a.run.display());
        return Ok(exit::NOTHING);
    };
    let index = run_index(&a.run)?;
    let e = embed_questions(&index, &records)?;
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
    let mut near: Vec<(f32, &quarry_core::Record)> =
        records.iter().enumerate().filter(|(i, _)| *i != target).map(|(i, r)| (dot(&e[target], &e[i]), r)).collect();
    near.sort_by(|x, y| y.0.total_cmp(&x.0));
    near.truncate(a.k);
    if a.json {
        let rows: Vec<serde_json::Value> = near
            .iter()
            .map(|(s, r)| {
                serde_json::json!({"id": r.id, "similarity": s, "question": r.question,
                "sources": r.citations.iter().map(|c| c.doc_title.clone()).collect::<Vec<_>>()})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for (s, r) in near {
            let sources: Vec<&str> = r.citations.iter().map(|c| c.doc_title.as_str()).collect();
            println!("{:.3}  {}  {}  [{}]", s, r.id, r.question, sources.join("; "));
        }
    }
    Ok(exit::OK)
}
