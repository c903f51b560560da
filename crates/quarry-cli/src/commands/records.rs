//! `quarry dedup`, `quarry reject` and `quarry similar`: judging a finished run's records
//! again, and moving those that fail to rejects.

use anyhow::{Result, bail};
use quarry_index::Index;

use crate::args::{DedupArgs, RejectArgs, ReviewCommand, SimilarArgs};
use crate::commands::report::run_index;
use crate::exit;

/// Embeddings of the records' dedup keys (the question; a dialogue's user turns; a passage).
fn embed_questions(index: &Index, records: &[quarry_core::Record]) -> Result<Vec<Vec<f32>>> {
    let keys: Vec<String> = records.iter().map(quarry_gen::engine::slots::dedup_key).collect();
    let qs: Vec<&str> = keys.iter().map(String::as_str).collect();
    Ok(index.embedder().embed(&qs)?)
}

pub fn dedup(a: DedupArgs) -> Result<u8> {
    let (_, mut records, _) = quarry_gen::run_dir::read(&a.run)?;
    records.sort_by_key(|r| r.slot);
    let index = run_index(&a.run)?;
    let embeddings = embed_questions(&index, &records)?;
    let cfg = quarry_gen::dedup::DedupConfig { near: a.near, semantic: a.semantic };
    let moves = quarry_gen::engine::slots::dedup_records(&records, &embeddings, cfg);
    let largest = quarry_gen::engine::slots::largest_clusters(&moves, 10);
    let found = moves.len();
    let details: Vec<(String, String)> = moves.iter().map(|m| (m.id.to_string(), m.detail.clone())).collect();
    let moved = if a.dry_run { 0 } else { quarry_gen::run_dir::move_to_rejects(&a.run, moves)? };
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
        let Some(r) = records.iter().find(|r| r.id.to_string() == *id) else {
            bail!("no record {id} in {}", a.run.display());
        };
        moves.push(quarry_gen::manual_reject(r, "manual", "manual", &a.reason));
    }
    let n = quarry_gen::run_dir::move_to_rejects(&a.run, moves)?;
    println!("moved {n} records to rejects");
    Ok(exit::OK)
}

pub fn review(c: ReviewCommand) -> Result<u8> {
    match c {
        ReviewCommand::Apply(a) => {
            let decisions = quarry_gen::review::Decisions::read(&a.decisions)?;
            let done = quarry_gen::review::apply(&a.run, &decisions)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&done)?);
            } else {
                println!(
                    "{} decisions: {} records moved to rejects, {} confirmed, {} already applied",
                    decisions.decisions.len(),
                    done.rejected,
                    done.confirmed,
                    done.unchanged
                );
            }
            Ok(exit::OK)
        }
        ReviewCommand::ExportJudged(a) => export_judged(a),
    }
}

/// `quarry review export-judged`: appends the reviewed records the judged set lacks.
fn export_judged(a: crate::args::ReviewExportJudgedArgs) -> Result<u8> {
    let index = match &a.index {
        Some(dir) => crate::commands::search::open_index(dir, None)?,
        None => run_index(&a.run)?,
    };
    let src =
        quarry_gen::review::JudgedSource { corpus: a.corpus.clone(), part: a.part.clone(), source: a.source.clone() };
    let items = quarry_gen::review::judged_items(&a.run, &index, &src)?;
    std::fs::create_dir_all(&a.to)?;
    let (items_path, judgments_path) = (a.to.join("items.jsonl"), a.to.join("judgments.jsonl"));
    let present: std::collections::HashSet<String> = std::fs::read_to_string(&items_path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect();
    let new: Vec<&(serde_json::Value, serde_json::Value)> =
        items.iter().filter(|(i, _)| !present.contains(i["id"].as_str().unwrap_or_default())).collect();
    let append = |path: &std::path::Path, rows: Vec<&serde_json::Value>| -> Result<()> {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let text: String = rows.iter().map(|v| v.to_string() + "\n").collect();
        quarry_fs::append_synced(&mut f, text.as_bytes())?;
        Ok(())
    };
    // Judgments first: an item is never in the set without its judgment.
    append(&judgments_path, new.iter().map(|(_, j)| j).collect())?;
    append(&items_path, new.iter().map(|(i, _)| i).collect())?;
    let good = new.iter().filter(|(_, j)| j["label"] == "good").count();
    println!(
        "{} reviewed records: {} added to {} ({good} good, {} bad), {} there already",
        items.len(),
        new.len(),
        a.to.display(),
        new.len() - good,
        items.len() - new.len()
    );
    Ok(exit::OK)
}

pub fn similar(a: SimilarArgs) -> Result<u8> {
    let (_, records, rejects) = quarry_gen::run_dir::read(&a.run)?;
    // A record rejected after the run (in review, by hand, as a duplicate) is found among the
    // rejects: its kind is what a reviewer looks for next.
    let key = match records.iter().find(|r| r.id.to_string() == a.id) {
        Some(r) => quarry_gen::engine::slots::dedup_key(r),
        None => match rejects.iter().rev().find(|r| r.id.to_string() == a.id) {
            Some(j) => serde_json::from_str::<quarry_core::Record>(&j.raw)
                .map(|r| quarry_gen::engine::slots::dedup_key(&r))
                .unwrap_or_else(|_| j.question.clone()),
            None => {
                eprintln!("no record {} in {}", a.id, a.run.display());
                return Ok(exit::NOTHING);
            }
        },
    };
    let index = run_index(&a.run)?;
    let e = embed_questions(&index, &records)?;
    let target = index.embedder().embed(&[key.as_str()])?.pop().unwrap_or_default();
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
    let mut near: Vec<(f32, &quarry_core::Record)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.id.to_string() != a.id)
        .map(|(i, r)| (dot(&target, &e[i]), r))
        .collect();
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
