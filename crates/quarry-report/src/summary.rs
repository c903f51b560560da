//! Counts and distributions over a run's records, shared by the HTML report and the
//! dataset card.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use quarry_core::{Record, Reject};

use crate::ChunkView;
use crate::task::task_name;

/// Number of bins of the support histogram over `0..=1`.
pub(crate) const BINS: usize = 10;

/// The bin of a support score (scores outside `0..=1` are clamped; NaN has none).
pub(crate) fn bin(score: f32) -> Option<usize> {
    if score.is_nan() {
        return None;
    }
    let b = (score.clamp(0.0, 1.0) * BINS as f32).floor() as usize;
    Some(b.min(BINS - 1))
}

/// A document a record draws on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DocRef {
    pub doc_id: String,
    pub title: String,
}

/// The documents and sections a record draws on: those of its citations, else those of
/// its seed chunks.
pub(crate) fn record_sources(
    record: &Record,
    chunks: &HashMap<String, ChunkView>,
) -> (BTreeSet<DocRef>, BTreeSet<(DocRef, Vec<String>)>) {
    let mut docs = BTreeSet::new();
    let mut sections = BTreeSet::new();
    for c in &record.citations {
        let d = DocRef { doc_id: c.doc_id.clone(), title: c.doc_title.clone() };
        docs.insert(d.clone());
        sections.insert((d, c.heading_path.clone()));
    }
    if docs.is_empty() {
        for ch in record.seed_chunks.iter().filter_map(|id| chunks.get(id)) {
            let d = DocRef { doc_id: ch.doc_id.clone(), title: ch.doc_title.clone() };
            docs.insert(d.clone());
            sections.insert((d, ch.heading_path.clone()));
        }
    }
    (docs, sections)
}

/// The documents a reject's seed chunks come from.
pub(crate) fn reject_docs(reject: &Reject, chunks: &HashMap<String, ChunkView>) -> BTreeSet<DocRef> {
    reject
        .seed_chunks
        .iter()
        .filter_map(|id| chunks.get(id))
        .map(|ch| DocRef { doc_id: ch.doc_id.clone(), title: ch.doc_title.clone() })
        .collect()
}

/// Counts over a run.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Records per task (`qa` for v1 records).
    pub by_task: BTreeMap<String, usize>,
    pub by_verdict: BTreeMap<String, usize>,
    /// Records per question type (records without one, such as dialogues, are not counted).
    pub by_type: BTreeMap<String, usize>,
    /// Records per document (a record counts once for each document it cites).
    pub by_doc: BTreeMap<DocRef, usize>,
    /// Records per (document, heading path).
    pub by_section: BTreeMap<(DocRef, Vec<String>), usize>,
    /// Documents of rejects, so the document filter lists them too.
    pub reject_docs: BTreeSet<DocRef>,
    pub reject_types: BTreeSet<String>,
    pub by_reason: BTreeMap<String, usize>,
    pub by_stage: BTreeMap<String, usize>,
    /// Support histogram of accepted records.
    pub support_hist: [usize; BINS],
    /// Support histogram of rejects that reached the verifier.
    pub reject_hist: [usize; BINS],
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Summed stage timings of the records, in ms: question, retrieval, answer, verify.
    pub stage_ms: [f64; 4],
}

impl Summary {
    pub(crate) fn of_records(records: &[Record], chunks: &HashMap<String, ChunkView>) -> Summary {
        let mut s = Summary::default();
        for r in records {
            *s.by_task.entry(task_name(r).to_owned()).or_default() += 1;
            *s.by_verdict.entry(r.verdict.as_str().to_owned()).or_default() += 1;
            if !r.question_type.is_empty() {
                *s.by_type.entry(r.question_type.clone()).or_default() += 1;
            }
            let (docs, sections) = record_sources(r, chunks);
            for d in docs {
                *s.by_doc.entry(d).or_default() += 1;
            }
            for sec in sections {
                *s.by_section.entry(sec).or_default() += 1;
            }
            if let Some(b) = bin(r.scores.support) {
                s.support_hist[b] += 1;
            }
            s.prompt_tokens += r.usage.prompt_tokens;
            s.completion_tokens += r.usage.completion_tokens;
            let t = &r.timings;
            for (acc, v) in s.stage_ms.iter_mut().zip([t.question_ms, t.retrieval_ms, t.answer_ms, t.verify_ms]) {
                if v.is_finite() {
                    *acc += v;
                }
            }
        }
        s
    }

    pub(crate) fn of_run(records: &[Record], rejects: &[Reject], chunks: &HashMap<String, ChunkView>) -> Summary {
        let mut s = Summary::of_records(records, chunks);
        for r in rejects {
            *s.by_reason.entry(r.reason.clone()).or_default() += 1;
            *s.by_stage.entry(r.stage.clone()).or_default() += 1;
            s.reject_docs.extend(reject_docs(r, chunks));
            if !r.question_type.is_empty() {
                s.reject_types.insert(r.question_type.clone());
            }
            if r.verdict.is_some()
                && let Some(b) = bin(r.support)
            {
                s.reject_hist[b] += 1;
            }
            s.prompt_tokens += r.usage.prompt_tokens;
            s.completion_tokens += r.usage.completion_tokens;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_zero_to_one() {
        assert_eq!(bin(0.0), Some(0));
        assert_eq!(bin(0.099), Some(0));
        assert_eq!(bin(0.1), Some(1));
        assert_eq!(bin(0.95), Some(9));
        assert_eq!(bin(1.0), Some(9));
        assert_eq!(bin(-3.0), Some(0));
        assert_eq!(bin(7.0), Some(9));
        assert_eq!(bin(f32::NAN), None);
    }
}
