//! `quarry export`: a run's records as training data (or an index's corpus as text), with a
//! dataset card.

use anyhow::{Context, Result};
use quarry_core::Task;
use quarry_report::{CardInfo, ExportFormat};

use crate::args::ExportArgs;
use crate::exit;

/// The card's name (default: the exported directory's name), license and languages (given,
/// or `found`: those of the documents exported).
fn card_info(a: &ExportArgs, fallback: &str, found: Vec<String>) -> CardInfo {
    let name = a.name.clone().unwrap_or_else(|| {
        a.run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| fallback.into())
    });
    let language = match &a.language {
        Some(l) => l.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
        None => found,
    };
    CardInfo { name, license: a.license.clone(), language, ..CardInfo::default() }
}

/// The language (as ingest recorded it; never empty) of each of a store's documents, of those
/// in `docs` only when given, by document id. Empty when the store cannot be read.
pub(crate) fn doc_languages(
    store_dir: &std::path::Path,
    docs: Option<&std::collections::HashSet<String>>,
) -> std::collections::HashMap<String, String> {
    let Ok(store) = quarry_ingest::Store::open(store_dir) else { return Default::default() };
    let mut out = std::collections::HashMap::new();
    for (doc, _) in store.documents().flatten() {
        let id = doc.id.to_string();
        if docs.is_none_or(|d| d.contains(&id))
            && let Some(l) = doc.metadata.get("language").filter(|l| !l.is_empty())
        {
            out.insert(id, l.clone());
        }
    }
    out
}

/// The languages of a store's documents (of those in `docs` only when given); sorted, each
/// once.
fn languages(store_dir: &std::path::Path, docs: Option<&std::collections::HashSet<String>>) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = doc_languages(store_dir, docs).into_values().collect();
    set.into_iter().collect()
}

/// `quarry export <index> --format text`: the corpus chunks that pass the quality filters.
fn export_corpus(a: ExportArgs) -> Result<u8> {
    let store_dir = quarry_index::index::store_dir(&a.run);
    let store_dir = if store_dir.is_dir() { store_dir } else { a.run.clone() };
    let store = quarry_ingest::Store::open(&store_dir)
        .with_context(|| format!("{} is neither a run directory nor an index", a.run.display()))?;
    let mut chunks = Vec::new();
    for item in store.chunks() {
        let s = item.with_context(|| format!("reading the store {}", store_dir.display()))?;
        chunks.push(quarry_report::CorpusChunk {
            chunk_id: s.chunk.id.to_string(),
            doc_id: s.chunk.doc_id.to_string(),
            title: s.title,
            heading_path: s.chunk.heading_path,
            text: s.chunk.text,
        });
    }
    let card = card_info(&a, "quarry-corpus", languages(&store_dir, None));
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
    let (run_json, mut records, _) = quarry_gen::run_dir::read(&a.run)?;
    if a.reviewed_only {
        let kept = quarry_gen::review::confirmed(&a.run)?;
        if kept.is_empty() {
            anyhow::bail!(
                "{} has no record kept in review: review it in its report.html, then `quarry review apply`",
                a.run.display()
            );
        }
        records.retain(|r| kept.contains_key(&r.id));
    }
    if a.format == "rag" {
        return export_rag(&a, &run_json, &records);
    }
    let format: ExportFormat = a.format.parse()?;
    let mut sources: Vec<String> =
        records.iter().flat_map(|r| r.citations.iter().map(|c| c.doc_title.clone())).collect();
    sources.sort();
    sources.dedup();
    let found = if a.language.is_some() {
        Vec::new()
    } else {
        let cited: std::collections::HashSet<String> =
            records.iter().flat_map(|r| r.citations.iter().map(|c| c.doc_id.clone())).collect();
        let store = run_json.index.as_deref().map(|i| quarry_index::index::store_dir(std::path::Path::new(i)));
        store.map(|s| languages(&s, Some(&cited))).unwrap_or_default()
    };
    let card = CardInfo {
        sources,
        model: run_json.model.clone().unwrap_or_default(),
        backend: run_json.backend.clone().unwrap_or_default(),
        system_prompt: match run_json.task.unwrap_or_default() {
            Task::Conversation => {
                "You are an expert in a conversation: reply accurately to what the other person says."
            }
            Task::Pretrain => "Write a clear, accurate textbook section on the topic.",
            Task::Qa | Task::Followup | Task::Dpo | Task::Topic => "Answer the question accurately and concisely.",
        }
        .into(),
        run_id: run_json.run_id.clone().unwrap_or_default(),
        ..card_info(&a, "quarry-dataset", found)
    };
    let s = quarry_report::export(&records, format, &a.out, &card)?;
    println!("{} rows to {}; card {}", s.rows, s.path.display(), s.card_path.display());
    Ok(if s.rows == 0 { exit::NOTHING } else { exit::OK })
}

/// `--format rag`: each Q&A record as a prompt of numbered passages and an answer citing
/// them, with distractors and unanswerable examples (quarry-gen's `rag`).
fn export_rag(a: &ExportArgs, run_json: &quarry_core::RunSummary, records: &[quarry_core::Record]) -> Result<u8> {
    let style: quarry_report::RagStyle = a.style.parse()?;
    if !(0.0..=1.0).contains(&a.unanswerable) {
        anyhow::bail!("--unanswerable {}: a share from 0 to 1", a.unanswerable);
    }
    let index = match &a.index {
        Some(dir) => crate::commands::search::open_index(dir, None)?,
        None => crate::commands::report::run_index(&a.run)?,
    };
    let cfg = quarry_gen::rag::RagConfig {
        distractors: a.distractors,
        unanswerable: a.unanswerable,
        unanswerable_answer: a.unanswerable_answer.clone(),
        seed: a.seed,
    };
    let (examples, stats) = quarry_gen::rag::examples(records, &index, &cfg)?;
    let cited: std::collections::HashSet<String> =
        records.iter().flat_map(|r| r.citations.iter().map(|c| c.doc_id.clone())).collect();
    let found = if a.language.is_some() {
        Vec::new()
    } else {
        languages(&quarry_index::index::store_dir(index.dir()), Some(&cited))
    };
    let card = CardInfo {
        model: run_json.model.clone().unwrap_or_default(),
        backend: run_json.backend.clone().unwrap_or_default(),
        run_id: run_json.run_id.clone().unwrap_or_default(),
        ..card_info(a, "quarry-rag", found)
    };
    let s = quarry_report::export_rag(&examples, style, &a.out, &card)?;
    println!(
        "{} rows to {} ({} answerable, {} unanswerable; {} records of other tasks skipped, {} with no unsupporting passages for an unanswerable example); card {}",
        s.rows,
        s.path.display(),
        stats.answerable,
        stats.unanswerable,
        stats.skipped_task,
        stats.no_unsupporting_passages,
        s.card_path.display()
    );
    Ok(if s.rows == 0 { exit::NOTHING } else { exit::OK })
}
