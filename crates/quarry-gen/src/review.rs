//! A person's review of a run: the decisions made in the report's review mode
//! (`decisions.json`), applied back to the run directory by `quarry review apply`.
//!
//! A rejected record moves to rejects with stage `review`, the reviewer's category as its
//! reason and the note and reviewer in its detail, the whole record kept (`raw`), so nothing
//! is lost. A kept record is confirmed by a person: `review.json` in the run directory lists
//! every confirmation (exports can be limited to them). Applying the same decisions again
//! changes nothing; a decision for an id that is not in the run refuses the whole file.

use std::collections::BTreeMap;
use std::path::Path;

use quarry_core::{Record, RecordId, Reject};
use serde::{Deserialize, Serialize};

use crate::GenError;
use crate::run_dir;

/// The run directory's file of confirmed records.
pub const REVIEW_JSON: &str = "review.json";
/// The stage of a reject a person made.
pub const REVIEW_STAGE: &str = "review";

/// Keep or reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Keep,
    Reject,
}

/// One decision, as the report's review mode downloads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub id: RecordId,
    pub decision: Verdict,
    /// Why it was rejected (one of the judged set's categories: `wrong_answer`,
    /// `unsupported`, …); may be empty for a kept record.
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub reviewer: String,
    /// When it was decided (ISO 8601, from the browser).
    #[serde(default)]
    pub time: String,
}

/// `decisions.json`: the decisions, and which run they are for.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Decisions {
    #[serde(default)]
    pub run_id: String,
    pub decisions: Vec<Decision>,
}

impl Decisions {
    /// Reads `decisions.json` (an object with `decisions`, or a bare list of them).
    pub fn read(path: &Path) -> Result<Decisions, GenError> {
        let bytes = std::fs::read(path).map_err(|e| GenError::io(path, e))?;
        let bad = |source| GenError::BadJson { path: path.to_owned(), what: "not a decisions file", source };
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(bad)?;
        if v.is_array() {
            return Ok(Decisions { run_id: String::new(), decisions: serde_json::from_value(v).map_err(bad)? });
        }
        serde_json::from_value(v).map_err(bad)
    }
}

/// What applying decisions did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Applied {
    /// Records moved to rejects now.
    pub rejected: usize,
    /// Records confirmed now.
    pub confirmed: usize,
    /// Decisions already applied before (nothing to do).
    pub unchanged: usize,
}

/// The confirmations in `review.json` (empty when there is none).
pub fn confirmed(dir: &Path) -> Result<BTreeMap<RecordId, Decision>, GenError> {
    let path = dir.join(REVIEW_JSON);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice::<Vec<Decision>>(&b)
            .map(|v| v.into_iter().map(|d| (d.id.clone(), d)).collect())
            .map_err(|source| GenError::BadJson { path, what: "not a review file", source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(GenError::io(&path, e)),
    }
}

/// A record rejected by a person: stage `review`, the category as reason, the note and the
/// reviewer as detail, the whole record kept in `raw`.
pub fn review_reject(r: &Record, d: &Decision) -> Reject {
    let who = if d.reviewer.is_empty() { "a reviewer".to_owned() } else { d.reviewer.clone() };
    let detail = if d.note.is_empty() { format!("rejected by {who}") } else { format!("{} ({who})", d.note) };
    let reason = if d.category.is_empty() { "review" } else { d.category.as_str() };
    let mut j = crate::manual_reject(r, REVIEW_STAGE, reason, &detail);
    j.raw = serde_json::to_string(r).expect("serialisable");
    j
}

/// Applies `decisions` to the run in `dir`. Checks every id first: one that is neither a
/// record nor a record already rejected in review refuses the file, and nothing is written.
pub fn apply(dir: &Path, decisions: &Decisions) -> Result<Applied, GenError> {
    let (run, records, rejects) = run_dir::read(dir)?;
    if !decisions.run_id.is_empty() && run.run_id.as_deref().is_some_and(|id| id != decisions.run_id) {
        return Err(GenError::Config(format!(
            "the decisions are for run {}, and {} holds run {}",
            decisions.run_id,
            dir.display(),
            run.run_id.as_deref().unwrap_or("?")
        )));
    }
    let by_id: BTreeMap<&RecordId, &Record> = records.iter().map(|r| (&r.id, r)).collect();
    let reviewed: BTreeMap<&RecordId, &Reject> =
        rejects.iter().filter(|r| r.stage == REVIEW_STAGE).map(|r| (&r.id, r)).collect();
    let unknown: Vec<String> = decisions
        .decisions
        .iter()
        .filter(|d| !by_id.contains_key(&d.id) && !reviewed.contains_key(&d.id))
        .map(|d| d.id.to_string())
        .collect();
    if !unknown.is_empty() {
        return Err(GenError::Config(format!(
            "{} decisions name records that are not in {} (nothing applied): {}",
            unknown.len(),
            dir.display(),
            unknown.join(", ")
        )));
    }
    let mut confirmations = confirmed(dir)?;
    let mut applied = Applied::default();
    let mut moves = Vec::new();
    // The last decision for a record is the one that holds.
    let mut last: BTreeMap<&RecordId, &Decision> = BTreeMap::new();
    for d in &decisions.decisions {
        last.insert(&d.id, d);
    }
    for (id, d) in last {
        match (d.decision, by_id.get(id)) {
            (Verdict::Reject, Some(r)) => {
                moves.push(review_reject(r, d));
                confirmations.remove(id);
                applied.rejected += 1;
            }
            (Verdict::Reject, None) => applied.unchanged += 1,
            (Verdict::Keep, Some(_)) => {
                if confirmations.get(id) == Some(d) {
                    applied.unchanged += 1;
                } else {
                    confirmations.insert(id.clone(), d.clone());
                    applied.confirmed += 1;
                }
            }
            (Verdict::Keep, None) => {
                return Err(GenError::Config(format!(
                    "{id} was rejected in an earlier review ({}); a rejected record is not brought back",
                    reviewed.get(id).map_or(String::new(), |r| r.detail.clone())
                )));
            }
        }
    }
    // Confirmations first (a crash between the two leaves a record confirmed and not yet
    // moved, which the next apply moves), then the moves.
    let path = dir.join(REVIEW_JSON);
    let list: Vec<&Decision> = confirmations.values().collect();
    let text = serde_json::to_string_pretty(&list).expect("serialisable");
    quarry_fs::write_bytes_atomic(&path, text.as_bytes()).map_err(|e| GenError::io(&path, e))?;
    run_dir::move_to_rejects(dir, moves)?;
    Ok(applied)
}

/// Where judged items come from and which part of the judged set they join.
#[derive(Clone, Debug)]
pub struct JudgedSource {
    /// The corpus's short name (`sample`, `enwiki`, …): items of one corpus stay in one part.
    pub corpus: String,
    /// `tuning` or `held_out`.
    pub part: String,
    /// What wrote the records (`embedded`, `replay-short`, a model name).
    pub source: String,
}

/// The judged-set items and judgments (tests/judged/ format) of a reviewed run: every record
/// a person kept (`good`) or rejected (`bad`, with the category and note given), each with
/// the passages it was answered from. Q&A-shaped records only (a question and an answer).
pub fn judged_items(
    dir: &Path,
    index: &quarry_index::Index,
    src: &JudgedSource,
) -> Result<Vec<(serde_json::Value, serde_json::Value)>, GenError> {
    use serde_json::json;
    let (run, records, rejects) = run_dir::read(dir)?;
    let kept = confirmed(dir)?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let extractive = run.config.get("extractive").and_then(serde_json::Value::as_bool).unwrap_or(false);
    let mut reviewed: Vec<(Record, &str, String, String)> = Vec::new();
    for r in &records {
        if let Some(d) = kept.get(&r.id) {
            let who = if d.reviewer.is_empty() { "a reviewer".to_owned() } else { d.reviewer.clone() };
            let reason =
                if d.note.is_empty() { format!("kept in review by {who}") } else { format!("{} ({who})", d.note) };
            reviewed.push((r.clone(), "good", String::new(), reason));
        }
    }
    for j in rejects.iter().filter(|j| j.stage == REVIEW_STAGE) {
        if let Ok(r) = serde_json::from_str::<Record>(&j.raw) {
            reviewed.push((r, "bad", j.reason.clone(), j.detail.clone()));
        }
    }
    reviewed.sort_by_key(|(r, ..)| r.slot);
    let mut out = Vec::new();
    for (r, label, category, reason) in reviewed {
        if r.question.is_empty() || r.answer.is_empty() {
            continue;
        }
        let mut passages = Vec::new();
        for id in &r.passages {
            let Ok(cid) = id.parse::<quarry_core::ChunkId>() else { continue };
            if let Some(c) = index.chunk(&cid)? {
                passages.push(json!({
                    "chunk_id": id, "doc_id": c.doc_id.to_string(), "doc_title": c.title,
                    "heading_path": c.heading_path, "chunk_start": c.span.start(), "text": c.text,
                }));
            }
        }
        let citations: Vec<serde_json::Value> = r
            .citations
            .iter()
            .filter_map(|c| {
                let n = r.passages.iter().position(|p| *p == c.chunk_id)? + 1;
                let quote = if c.model_quote.is_empty() { &c.quote } else { &c.model_quote };
                Some(json!({"passage": n, "quote": quote}))
            })
            .collect();
        let mut seed_texts = Vec::new();
        for s in &r.seed_chunks {
            if let Ok(cid) = s.parse::<quarry_core::ChunkId>()
                && let Some(c) = index.chunk(&cid)?
            {
                seed_texts.push(c.text);
            }
        }
        let id = format!("{}/{name}/{}", src.corpus, r.id);
        let item = json!({
            "id": id, "corpus": src.corpus, "part": src.part, "source": src.source,
            "task": r.task, "extractive": extractive,
            "question": r.question, "answer": r.answer, "citations": citations,
            "passages": passages, "seed_texts": seed_texts,
            "generated": {"accepted": true, "verdict": r.verdict.as_str(), "reviewed": label},
        });
        let judgment = json!({"id": id, "label": label, "category": category, "reason": reason});
        out.push((item, judgment));
    }
    Ok(out)
}
