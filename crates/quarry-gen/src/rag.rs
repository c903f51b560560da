//! Examples for training a model to answer from retrieved passages (RAFT-style): each Q&A
//! record becomes a prompt holding the passages it was answered from (its cited passages and
//! the others retrieval showed, plus `distractors` more retrieved with the question, in an
//! order shuffled by the record id) and an answer citing them inline as `[n]`; a share of
//! records also gives an unanswerable example, whose passages (found by retrieval) the
//! verifier confirms do not support the answer, answered with a fixed sentence.
//!
//! `quarry export --format rag` renders them (quarry-report's `export_rag`).

use std::collections::HashSet;

use quarry_core::{ChunkId, RagCitation, RagExample, RagPassage, Record, Task, Verdict};
use quarry_index::{Index, Mode, SearchOptions};
use serde::Serialize;

use crate::GenError;

/// How examples are made.
#[derive(Clone, Debug)]
pub struct RagConfig {
    /// Passages retrieved with the question added to each prompt, beside those shown.
    pub distractors: usize,
    /// Share of records (0..1) that also give an unanswerable example.
    pub unanswerable: f32,
    /// The answer of an unanswerable example.
    pub unanswerable_answer: String,
    /// Seed of the shuffles and of which records give unanswerable examples.
    pub seed: u64,
}

impl Default for RagConfig {
    fn default() -> Self {
        RagConfig { distractors: 2, unanswerable: 0.0, unanswerable_answer: DEFAULT_UNANSWERABLE.into(), seed: 0 }
    }
}

/// What an unanswerable example answers unless told otherwise.
pub const DEFAULT_UNANSWERABLE: &str = "The passages do not contain the answer to this question.";

/// What was made and what was skipped.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RagStats {
    pub answerable: usize,
    pub unanswerable: usize,
    /// Records of another task than Q&A.
    pub skipped_task: usize,
    /// Records drawn for an unanswerable example whose retrieved passages all supported the
    /// answer (or were too few).
    pub no_unsupporting_passages: usize,
}

/// A number from a key, fixed for a seed: the order of a shuffle.
fn hash(key: &str, seed: u64) -> u64 {
    let h = blake3::hash(format!("{seed}\u{1f}{key}").as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// A number in 0..1 from a key, fixed for a seed: a draw.
fn unit(key: &str, seed: u64) -> f64 {
    hash(key, seed) as f64 / u64::MAX as f64
}

/// `text` with `marks` ("[1][3]") before its final punctuation.
fn with_marks(text: &str, marks: &str) -> String {
    if marks.is_empty() {
        return text.to_owned();
    }
    let trimmed = text.trim_end();
    match trimmed.char_indices().last() {
        Some((i, '.' | '!' | '?' | '。' | '।' | '؟')) => {
            format!("{} {marks}{}", trimmed[..i].trim_end(), &trimmed[i..])
        }
        _ => format!("{trimmed} {marks}"),
    }
}

fn passage(index: &Index, id: &ChunkId, cited: bool, distractor: bool) -> Result<Option<RagPassage>, GenError> {
    let Some(c) = index.chunk(id).map_err(GenError::from)? else { return Ok(None) };
    Ok(Some(RagPassage {
        n: 0,
        chunk_id: c.chunk_id.to_string(),
        doc_id: c.doc_id.to_string(),
        title: c.title,
        heading_path: c.heading_path,
        text: c.text,
        cited,
        distractor,
    }))
}

/// The examples of `records` (Q&A records; others are counted and skipped).
pub fn examples(records: &[Record], index: &Index, cfg: &RagConfig) -> Result<(Vec<RagExample>, RagStats), GenError> {
    let mut out = Vec::new();
    let mut stats = RagStats::default();
    for r in records {
        if r.task != Task::Qa {
            stats.skipped_task += 1;
            continue;
        }
        let rid = r.id.to_string();
        let cited: HashSet<&str> = r.citations.iter().map(|c| c.chunk_id.as_str()).collect();
        let mut passages = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for id in &r.passages {
            let Ok(cid) = id.parse::<ChunkId>() else { continue };
            if let Some(p) = passage(index, &cid, cited.contains(id.as_str()), false)? {
                seen.insert(p.chunk_id.clone());
                passages.push(p);
            }
        }
        let want = passages.len() + cfg.distractors + 8;
        let opts = SearchOptions { mode: Mode::Hybrid, k: want.max(10), ..SearchOptions::default() };
        let hits = index.search(&r.question, &opts).map_err(GenError::from)?;
        let mut added = 0;
        for h in &hits {
            if added >= cfg.distractors {
                break;
            }
            if seen.insert(h.chunk_id.to_string())
                && let Some(p) = passage(index, &h.chunk_id, false, true)?
            {
                passages.push(p);
                added += 1;
            }
        }
        // A fixed shuffle per record: the cited passage is not always first.
        passages.sort_by_cached_key(|p| hash(&format!("{rid}/{}", p.chunk_id), cfg.seed));
        for (i, p) in passages.iter_mut().enumerate() {
            p.n = i + 1;
        }
        let number = |chunk: &str| passages.iter().find(|p| p.chunk_id == chunk).map(|p| p.n);
        let citations: Vec<RagCitation> = r
            .citations
            .iter()
            .filter_map(|c| {
                Some(RagCitation {
                    n: number(&c.chunk_id)?,
                    chunk_id: c.chunk_id.clone(),
                    quote: c.quote.clone(),
                    span: c.span.into(),
                })
            })
            .collect();
        let shown = passages.len();
        let mut ns: Vec<usize> = citations.iter().map(|c| c.n).collect();
        ns.sort_unstable();
        ns.dedup();
        let marks: String = ns.iter().map(|n| format!("[{n}]")).collect();
        out.push(RagExample {
            id: rid.clone(),
            record_id: rid.clone(),
            question: r.question.clone(),
            answer: with_marks(&r.answer, &marks),
            citations,
            passages,
            unanswerable: false,
        });
        stats.answerable += 1;

        if cfg.unanswerable <= 0.0 || unit(&format!("{rid}/unanswerable"), cfg.seed) >= cfg.unanswerable as f64 {
            continue;
        }
        // Passages retrieval finds for the question that do not hold the answer: never the
        // cited ones, nor any of their documents, and each confirmed by the verifier.
        let cited_docs: HashSet<&str> = r.citations.iter().map(|c| c.doc_id.as_str()).collect();
        let wide = SearchOptions { mode: Mode::Hybrid, k: 30, ..SearchOptions::default() };
        let support_cfg = quarry_audit::SupportConfig::default();
        let mut chosen: Vec<RagPassage> = Vec::new();
        for h in index.search(&r.question, &wide).map_err(GenError::from)? {
            if chosen.len() >= shown.max(2) {
                break;
            }
            if cited_docs.contains(h.doc_id.as_str()) {
                continue;
            }
            let s = quarry_audit::support(&r.question, &r.answer, &[h.text.as_str()], None, &support_cfg);
            if s.verdict == Verdict::Unsupported
                && let Some(p) = passage(index, &h.chunk_id, false, true)?
            {
                chosen.push(p);
            }
        }
        let texts: Vec<&str> = chosen.iter().map(|p| p.text.as_str()).collect();
        let together = quarry_audit::support(&r.question, &r.answer, &texts, None, &support_cfg);
        if chosen.is_empty() || together.verdict != Verdict::Unsupported {
            stats.no_unsupporting_passages += 1;
            continue;
        }
        chosen.sort_by_cached_key(|p| hash(&format!("{rid}/u/{}", p.chunk_id), cfg.seed));
        for (i, p) in chosen.iter_mut().enumerate() {
            p.n = i + 1;
        }
        out.push(RagExample {
            id: format!("{rid}-unanswerable"),
            record_id: rid,
            question: r.question.clone(),
            passages: chosen,
            answer: cfg.unanswerable_answer.replace("{{question}}", &r.question),
            citations: Vec::new(),
            unanswerable: true,
        });
        stats.unanswerable += 1;
    }
    if out.is_empty() {
        return Err(GenError::Config("no Q&A record to make RAG examples from (--format rag takes a Q&A run)".into()));
    }
    Ok((out, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_go_before_the_final_stop() {
        assert_eq!(with_marks("It melts.", "[2]"), "It melts [2].");
        assert_eq!(with_marks("It melts", "[1][3]"), "It melts [1][3]");
        assert_eq!(with_marks("वह पिघलता है।", "[1]"), "वह पिघलता है [1]।");
        assert_eq!(with_marks("It melts.", ""), "It melts.");
    }

    #[test]
    fn the_shuffle_and_the_draw_are_fixed_by_the_seed() {
        assert_eq!(unit("a", 1), unit("a", 1));
        assert_ne!(unit("a", 1), unit("a", 2));
        let drawn = (0..1000).filter(|i| unit(&format!("r{i}/unanswerable"), 0) < 0.2).count();
        assert!((150..250).contains(&drawn), "{drawn}");
    }
}
