//! What every task shares: the index and model, retrieval, prompt requests, the citation
//! schema, verification of a cited text, totals, and the slot loop that writes a run
//! directory (dedup included).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use quarry_audit::{PassageView, RawCitation, Verification, VerifyConfig};
use quarry_core::{RECORD_SCHEMA_VERSION, Record, Reject, SamplingRecord, TokenUsage, heading_path_display};
use quarry_index::{Hit, Index, Mode, SearchOptions};
use quarry_llm::{ChatModel, ChatRequest, ChatResponse, LlmError, Message, Purpose, Sampling};
use serde::Serialize;
use serde_json::{Value, json};

use crate::dedup::{DedupConfig, Deduper};
use crate::run_dir::RunDir;
use crate::seeds::{ChunkInfo, Plan, PlanBuilder};
use crate::topics::TopicTree;
use crate::{GenError, Prompts};

/// Per-task overrides of the sampling defaults.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SamplingOverride {
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub max_tokens: Option<u32>,
}

impl SamplingOverride {
    pub fn apply(&self, purpose: Purpose) -> Sampling {
        let d = purpose.sampling();
        Sampling {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_p: self.top_p.unwrap_or(d.top_p),
            max_tokens: self.max_tokens.unwrap_or(d.max_tokens),
        }
    }
}

/// Progress of a run, after every slot.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub accepted: usize,
    pub rejected: usize,
    pub target: usize,
}

/// How a run ended.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub target: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Whether n records were reached.
    pub complete: bool,
    pub run_json: Value,
}

/// One slot's outcome.
pub(crate) enum Outcome {
    Accepted(Box<Record>),
    Rejected(Box<Reject>),
}

/// Sums over a slot or a session, for run.json.
#[derive(Default)]
pub(crate) struct Totals {
    pub usage: TokenUsage,
    pub llm_ms: f64,
    pub other_ms: f64,
}

impl Totals {
    /// Counts one model call (a cache hit costs no model time).
    pub fn add_call(&mut self, r: &ChatResponse) {
        if !r.cached {
            self.llm_ms += r.timings.total_ms;
        }
        self.usage.prompt_tokens += r.usage.prompt_tokens;
        self.usage.completion_tokens += r.usage.completion_tokens;
    }

    /// Adds a slot's totals to the session's.
    pub fn add(&mut self, t: &Totals) {
        self.usage.prompt_tokens += t.usage.prompt_tokens;
        self.usage.completion_tokens += t.usage.completion_tokens;
        self.llm_ms += t.llm_ms;
        self.other_ms += t.other_ms;
    }

    /// Times `f` as work outside the model.
    pub fn other<T>(&mut self, f: impl FnOnce() -> T) -> (T, f64) {
        let t0 = Instant::now();
        let v = f();
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        self.other_ms += ms;
        (v, ms)
    }
}

/// The index, the model and the prompts of a run.
pub(crate) struct Engine {
    pub index: Arc<Index>,
    pub model: Arc<dyn ChatModel>,
    pub prompts: Prompts,
    pub verify: VerifyConfig,
}

/// Corpus text inside the delimiters: a closing marker in the text itself is defused.
pub(crate) fn data(text: &str) -> String {
    text.replace("PASSAGE>>>", "PASSAGE> > >").replace("<<<PASSAGE", "< < <PASSAGE")
}

pub(crate) fn heading_of(title: &str, path: &[String]) -> String {
    if path.is_empty() { title.to_owned() } else { heading_path_display(path) }
}

/// The quotable sentences of a passage: each a substring of it, at most 300 bytes.
pub(crate) fn quotable(text: &str) -> Vec<String> {
    let cut = |s: &str| {
        let mut end = s.len().min(300);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].trim_end().to_owned()
    };
    let mut out: Vec<String> = Vec::new();
    for r in quarry_audit::split_sentences(text) {
        let s = text[r].trim();
        if s.len() < 20 {
            continue;
        }
        let s = cut(s);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        out.push(cut(text.trim()));
    }
    out
}

/// The schema of a list of citations of the shown passages. Each is one of the passages with
/// a quote drawn from that passage's own sentences (an enum): with a grammar-constrained
/// backend the model cannot invent a quote. The verifier checks every citation all the same.
pub(crate) fn citations_schema(passages: &[&str], max: usize) -> Value {
    let quotes: Vec<Vec<String>> = passages.iter().map(|t| quotable(t)).collect();
    citations_schema_of(&quotes, max)
}

/// [`citations_schema`] over given quotes per passage (passage `i + 1` may be quoted with
/// `quotes[i]`); a passage without quotes cannot be cited.
pub(crate) fn citations_schema_of(quotes: &[Vec<String>], max: usize) -> Value {
    let choices: Vec<Value> = quotes
        .iter()
        .enumerate()
        .filter(|(_, q)| !q.is_empty())
        .map(|(i, q)| {
            json!({
                "type": "object",
                "properties": {
                    "passage": {"const": i + 1},
                    "quote": {"enum": q}
                },
                "required": ["passage", "quote"],
                "additionalProperties": false
            })
        })
        .collect();
    json!({"type": "array", "minItems": 1, "maxItems": max, "items": {"anyOf": choices}})
}

/// The quotable sentences of the shown passages that a question's answer may be, for an
/// extractive answer: the `max` sentences that share the most content words with the question
/// (at least one), per passage in passage order. With `max` 0, or when no sentence shares a
/// word, every quotable sentence. This is sentence-level retrieval: the model still picks the
/// sentence, and the verifier still checks that it answers.
pub(crate) fn answer_candidates(question: &str, passages: &[&str], max: usize) -> Vec<Vec<String>> {
    let all: Vec<Vec<String>> = passages.iter().map(|t| quotable(t)).collect();
    if max == 0 {
        return all;
    }
    let q: HashSet<String> = quarry_audit::content_words(question).into_iter().collect();
    let mut ranked: Vec<(usize, usize, usize)> = Vec::new();
    for (p, sents) in all.iter().enumerate() {
        for (i, s) in sents.iter().enumerate() {
            let words: HashSet<String> = quarry_audit::content_words(s).into_iter().collect();
            let shared = words.intersection(&q).count();
            if shared > 0 {
                ranked.push((shared, p, i));
            }
        }
    }
    if ranked.is_empty() {
        return all;
    }
    // Most shared words first; ties in passage (retrieval) order, then sentence order.
    ranked.sort_by_key(|&(n, p, i)| (std::cmp::Reverse(n), p, i));
    ranked.truncate(max);
    ranked.sort_by_key(|&(_, p, i)| (p, i));
    let mut out: Vec<Vec<String>> = vec![Vec::new(); all.len()];
    for (_, p, i) in ranked {
        out[p].push(all[p][i].clone());
    }
    out
}

/// The citations of a reply object (`{"passage": n, "quote": "..."}` items).
pub(crate) fn raw_citations(v: &Value) -> Vec<RawCitation> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    Some(RawCitation { passage: c["passage"].as_u64()? as u32, quote: c["quote"].as_str()?.to_owned() })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The answer without the JSON debris small models leave at its end (`"...less.},  {"`).
pub(crate) fn clean_answer(a: &str) -> String {
    let a = a.trim();
    let kept = a.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '{' | '}' | '[' | ']' | ','));
    if kept.len() < a.len() && a[kept.len()..].contains(['{', '}']) { kept.to_owned() } else { a.to_owned() }
}

/// The reject of a failed model call; the tokens a reply that failed its schema spent are
/// counted in `totals` and on the reject.
pub(crate) fn llm_reject(mut r: Reject, e: LlmError, totals: &mut Totals) -> Outcome {
    r.stage = "llm".into();
    match e {
        LlmError::Schema { message, raw, usage } => {
            totals.usage.prompt_tokens += usage.prompt_tokens;
            totals.usage.completion_tokens += usage.completion_tokens;
            r.reason = "invalid_reply".into();
            r.detail = message;
            r.raw = raw;
        }
        other => {
            r.reason = "llm_error".into();
            r.detail = other.to_string();
        }
    }
    r.usage = totals.usage;
    Outcome::Rejected(Box::new(r))
}

/// `r` with its stage, reason and detail set.
pub(crate) fn fail(mut r: Reject, stage: &str, reason: &str, detail: String) -> Outcome {
    r.stage = stage.into();
    r.reason = reason.into();
    r.detail = detail;
    Outcome::Rejected(Box::new(r))
}

/// A reject of `slot` before anything is known of it.
pub(crate) fn blank_reject(run_id: &str, slot: u64, seed_chunks: Vec<String>) -> Reject {
    Reject {
        schema_version: RECORD_SCHEMA_VERSION,
        id: format!("{run_id}-{slot:06}"),
        slot,
        seed_chunks,
        ..Reject::default()
    }
}

pub(crate) fn sampling_record(r: &ChatRequest) -> SamplingRecord {
    SamplingRecord { temperature: r.temperature, top_p: r.top_p, max_tokens: r.max_tokens, seed: r.seed.unwrap_or(0) }
}

/// Whether a task accepts a verification: a supported (or, when asked, partial) verdict
/// with at least one located citation.
pub(crate) fn acceptable(v: &Verification, accept_partial: bool) -> bool {
    let verdict = match v.verdict {
        quarry_core::Verdict::Supported => true,
        quarry_core::Verdict::Partial => accept_partial,
        quarry_core::Verdict::Unsupported => false,
    };
    verdict && !v.citations.is_empty()
}

/// Calls `f` with every chunk of the index's store, in corpus order.
pub(crate) fn for_each_chunk(index: &Index, f: impl FnMut(ChunkInfo)) -> Result<(), GenError> {
    for_each_store_chunk(&quarry_index::index::store_dir(index.dir()), f)
}

/// Calls `f` with every chunk of the store in `store_dir`, in corpus order.
pub fn for_each_store_chunk(store_dir: &std::path::Path, mut f: impl FnMut(ChunkInfo)) -> Result<(), GenError> {
    let store = quarry_ingest::Store::open(store_dir)
        .map_err(|e| GenError::Config(format!("cannot open the store {}: {e}", store_dir.display())))?;
    for item in store.documents() {
        let (doc, doc_chunks) = item.map_err(|e| GenError::Config(format!("reading the store: {e}")))?;
        for c in doc_chunks {
            f(ChunkInfo {
                chunk_id: c.id.to_string(),
                doc_id: doc.id.to_string(),
                title: doc.title.clone(),
                heading_path: c.heading_path.clone(),
                token_count: c.token_count,
                text: c.text,
                topic_path: Vec::new(),
            });
        }
    }
    Ok(())
}

/// The seed plan of a run over `index`: every eligible chunk, or the grounded nodes of a
/// topic tree (each seeding with its best passage). The plan keeps no chunk text.
pub(crate) fn plan(index: &Index, n: usize, seed: u64, topics: Option<&TopicTree>) -> Result<Plan, GenError> {
    let plan = match topics {
        None => {
            let mut b = PlanBuilder::default();
            for_each_chunk(index, |c| b.add(c))?;
            b.finish(n, seed)
        }
        Some(tree) => {
            let wanted: std::collections::HashMap<String, Vec<String>> =
                tree.grounded_seeds().into_iter().map(|(path, chunk)| (chunk, path)).collect();
            let mut seeds = Vec::new();
            for_each_chunk(index, |c| {
                if let Some(path) = wanted.get(&c.chunk_id) {
                    seeds.push(ChunkInfo { topic_path: path.clone(), ..c });
                }
            })?;
            if seeds.is_empty() {
                return Err(GenError::Config(
                    "the topic tree has no grounded node whose passage is in this index".into(),
                ));
            }
            Plan::from_seeds(seeds, n, seed)
        }
    };
    if plan.eligible.is_empty() {
        return Err(GenError::Config(format!(
            "no chunk of {} can seed a record (excluded: {:?}); index longer prose",
            index.dir().display(),
            plan.excluded
        )));
    }
    Ok(plan)
}

impl Engine {
    pub fn new(index: Arc<Index>, model: Arc<dyn ChatModel>, prompts: Prompts) -> Engine {
        Engine { index, model, prompts, verify: VerifyConfig::default() }
    }

    pub fn search(&self, query: &str, k: usize) -> Result<Vec<Hit>, GenError> {
        Ok(self.index.search(query, &SearchOptions { mode: Mode::Hybrid, k, ..SearchOptions::default() })?)
    }

    /// A chunk by id, as a retrieval hit (for passages recorded by an earlier run).
    pub fn hit(&self, chunk_id: &str) -> Result<Hit, GenError> {
        let id = crate::qa::chunk_id(chunk_id).ok_or_else(|| GenError::Corrupt(format!("bad chunk id {chunk_id}")))?;
        let c = self
            .index
            .chunk(&id)?
            .ok_or_else(|| GenError::Corrupt(format!("chunk {chunk_id} is not in {}", self.index.dir().display())))?;
        Ok(Hit {
            rank: 0,
            score: 0.0,
            bm25: None,
            dense: None,
            chunk_id: c.chunk_id,
            doc_id: c.doc_id,
            title: c.title,
            heading_path: c.heading_path,
            span: [c.span.start(), c.span.end()],
            text: c.text,
            neighbours: Vec::new(),
        })
    }

    pub fn request(
        &self,
        system: String,
        user: String,
        purpose: Purpose,
        o: &SamplingOverride,
        seed: u64,
    ) -> ChatRequest {
        let s = o.apply(purpose);
        let mut r = ChatRequest::new(vec![Message::system(system), Message::user(user)], purpose).with_seed(seed);
        r.temperature = s.temperature;
        r.top_p = s.top_p;
        r.max_tokens = s.max_tokens;
        r
    }

    /// The numbered passages block of a prompt.
    pub fn passages_block(hits: &[Hit]) -> String {
        hits.iter()
            .enumerate()
            .map(|(i, h)| {
                format!(
                    "[{}] {}\n<<<PASSAGE\n{}\nPASSAGE>>>\n",
                    i + 1,
                    heading_of(&h.title, &h.heading_path),
                    data(&h.text)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn views(hits: &[Hit]) -> Vec<PassageView> {
        hits.iter()
            .map(|h| PassageView {
                chunk_id: h.chunk_id.to_string(),
                doc_id: h.doc_id.to_string(),
                doc_title: h.title.clone(),
                heading_path: h.heading_path.clone(),
                chunk_start: h.span[0],
                text: h.text.clone(),
            })
            .collect()
    }

    /// Verifies a cited text (an answer, a dialogue turn, a paragraph) against the passages
    /// it was written from. The embedding similarity is recorded beside the lexical score;
    /// the verdict follows the lexical rule measured by `quarry eval verify`.
    pub fn verify(&self, question: &str, text: &str, raw: &[RawCitation], hits: &[Hit]) -> Verification {
        let embedder = self.index.embedder();
        let embed = |texts: &[&str]| embedder.embed(texts).unwrap_or_default();
        quarry_audit::verify(question, text, raw, &Self::views(hits), Some(&embed), &self.verify)
    }

    /// An embedding for dedup (empty when embedding fails).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        self.index.embedder().embed(&[text]).ok().and_then(|mut v| v.pop()).unwrap_or_default()
    }
}

/// What the slot loop needs of a task besides its slots: the engine, the run id, how many
/// records are wanted and how many slots may be tried.
pub(crate) struct Slots {
    pub engine: Engine,
    pub run_id: String,
    /// Accepted records wanted.
    pub target: usize,
    /// Slots tried at most.
    pub max_slots: u64,
    /// Slots worked on at once.
    pub concurrency: usize,
}

impl Slots {
    /// `n` records wanted within `budget` × n slots (at least n).
    pub fn budgeted(engine: Engine, run_id: String, n: usize, budget: f32, concurrency: usize) -> Slots {
        let max_slots = ((n as f32 * budget).ceil() as u64).max(n as u64);
        Slots { engine, run_id, target: n, max_slots, concurrency }
    }

    /// One slot per source record (follow-ups, DPO pairs): at most `n` of `sources`.
    pub fn per_source(engine: Engine, run_id: String, n: usize, sources: usize, concurrency: usize) -> Slots {
        Slots { engine, run_id, target: n.min(sources), max_slots: sources as u64, concurrency }
    }
}

/// A task that fills numbered slots, each ending as one record or one reject.
pub(crate) trait SlotTask: Sync {
    fn task(&self) -> &'static str;
    fn slots(&self) -> &Slots;
    /// The configuration recorded in run.json (a run directory refuses another).
    fn config(&self) -> Value;
    /// Task-specific parts of run.json (seed plan, parents).
    fn extra_json(&self) -> Value {
        json!({})
    }
    async fn slot(&self, slot: u64) -> Result<(Outcome, Totals), GenError>;
}

/// The text a record is judged a duplicate by.
pub fn dedup_key(r: &Record) -> String {
    match r.task.as_str() {
        "followup" => r
            .turns
            .iter()
            .filter(|t| t.role == "user")
            .skip(1)
            .map(|t| t.content.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        "conversation" => {
            r.turns.iter().filter(|t| t.role == "user").map(|t| t.content.as_str()).collect::<Vec<_>>().join(" ")
        }
        "pretrain" => r.answer.clone(),
        _ => r.question.clone(),
    }
}

/// Runs (or resumes) a task in `dir` until its target of records is accepted or the slot
/// budget is spent. Outcomes are written in slot order as they complete; an accepted record
/// that duplicates an earlier one goes to rejects naming it.
pub(crate) async fn run_slots<T: SlotTask>(
    t: &T,
    dir: &mut RunDir,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RunSummary, GenError> {
    let started = Instant::now();
    let n = t.slots().target;
    let max_slots = t.slots().max_slots;
    let mut totals = Totals::default();
    let mut accepted = dir.records_so_far.len();
    progress(Progress { accepted, rejected: dir.rejects_so_far.len(), target: n });
    // Duplicates are judged against every record before them, in slot order.
    let mut dedup = Deduper::new(DedupConfig::default());
    let keys: Vec<String> = dir.records_so_far.iter().map(dedup_key).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let embeddings = t.slots().engine.index.embedder().embed(&refs).unwrap_or_default();
    for (i, r) in dir.records_so_far.iter().enumerate() {
        dedup.add(&r.id, &keys[i], embeddings.get(i).cloned().unwrap_or_default());
    }
    if accepted < n && dir.next_slot < max_slots {
        let concurrency = t.slots().concurrency.max(1);
        let mut outcomes =
            futures::stream::iter(dir.next_slot..max_slots).map(|slot| t.slot(slot)).buffered(concurrency);
        while let Some(result) = outcomes.next().await {
            let (outcome, s) = result?;
            totals.add(&s);
            match outcome {
                Outcome::Accepted(r) => {
                    let key = dedup_key(&r);
                    let e = t.slots().engine.embed(&key);
                    if let Some(dup) = dedup.check(&key, &e) {
                        dir.append_reject(crate::qa::duplicate_reject(&r, &dup))?;
                    } else {
                        dedup.add(&r.id, &key, e);
                        dir.append_record(*r)?;
                        accepted += 1;
                    }
                }
                Outcome::Rejected(r) => dir.append_reject(*r)?,
            }
            progress(Progress { accepted, rejected: dir.rejects_so_far.len(), target: n });
            if accepted >= n {
                break;
            }
        }
    }
    let run_json = run_json(t, dir, &totals, started.elapsed().as_secs_f64());
    dir.write_run_json(&run_json)?;
    Ok(RunSummary {
        run_id: t.slots().run_id.as_str().to_owned(),
        target: n,
        accepted: dir.records_so_far.len().min(n),
        rejected: dir.rejects_so_far.len(),
        complete: dir.records_so_far.len() >= n,
        run_json,
    })
}

fn run_json<T: SlotTask>(t: &T, dir: &RunDir, session: &Totals, session_s: f64) -> Value {
    let prev = dir.previous.clone().unwrap_or(Value::Null);
    let prev_f = |k: &str| prev["totals"][k].as_f64().unwrap_or(0.0);
    let elapsed_s = prev_f("elapsed_s") + session_s;
    let llm_s = prev_f("llm_s") + session.llm_ms / 1e3;
    let other_s = prev_f("other_s") + session.other_ms / 1e3;
    let mut by_verdict: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_stage: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_doc: BTreeMap<String, u64> = BTreeMap::new();
    let mut usage = TokenUsage::default();
    let mut round_trip_hits = 0;
    for r in &dir.records_so_far {
        *by_verdict.entry(r.verdict.as_str().into()).or_default() += 1;
        *by_type.entry(r.question_type.clone()).or_default() += 1;
        for c in &r.citations {
            *by_doc.entry(c.doc_title.clone()).or_default() += 1;
        }
        usage.prompt_tokens += r.usage.prompt_tokens;
        usage.completion_tokens += r.usage.completion_tokens;
        round_trip_hits += usize::from(r.scores.round_trip_hit);
    }
    for r in &dir.rejects_so_far {
        *by_reason.entry(r.reason.clone()).or_default() += 1;
        *by_stage.entry(r.stage.clone()).or_default() += 1;
        if !r.verdict.is_empty() {
            *by_verdict.entry(r.verdict.clone()).or_default() += 1;
        }
        usage.prompt_tokens += r.usage.prompt_tokens;
        usage.completion_tokens += r.usage.completion_tokens;
    }
    let accepted = dir.records_so_far.len();
    // Dedup: the records most often repeated (a duplicate's detail names its original).
    let id_re = regex::Regex::new(r"[0-9a-f]{8}-\d{6}").expect("valid regex");
    let mut clusters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in dir.rejects_so_far.iter().filter(|r| r.reason == "duplicate") {
        if let Some(m) = id_re.find(&r.detail) {
            clusters.entry(m.as_str().to_owned()).or_default().push(r.id.clone());
        }
    }
    let duplicates: usize = clusters.values().map(Vec::len).sum();
    let mut largest: Vec<(String, Vec<String>)> = clusters.into_iter().collect();
    largest.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    largest.truncate(10);
    let engine = &t.slots().engine;
    let mut out = json!({
        "dedup": {
            "duplicates": duplicates,
            "largest_clusters": largest.iter().map(|(of, dups)| json!({"record": of, "duplicates": dups})).collect::<Vec<_>>(),
        },
        "run_id": t.slots().run_id.as_str(),
        "task": t.task(),
        "quarry_version": env!("CARGO_PKG_VERSION"),
        "record_schema_version": RECORD_SCHEMA_VERSION,
        "target": t.slots().target,
        "accepted": accepted,
        "rejected": dir.rejects_so_far.len(),
        "complete": accepted >= t.slots().target,
        "slots_used": dir.next_slot,
        "slot_budget": t.slots().max_slots,
        "counts_by_verdict": by_verdict,
        "counts_by_reason": by_reason,
        "counts_by_stage": by_stage,
        "counts_by_question_type": by_type,
        "citations_by_document": by_doc,
        "round_trip_recall": if accepted > 0 { round_trip_hits as f64 / accepted as f64 } else { 0.0 },
        "usage": usage,
        "tokens_per_accepted": if accepted > 0 { (usage.prompt_tokens + usage.completion_tokens) as f64 / accepted as f64 } else { 0.0 },
        "elapsed_s": elapsed_s,
        "totals": {"elapsed_s": elapsed_s, "llm_s": llm_s, "other_s": other_s},
        "model": engine.model.model(),
        "backend": engine.model.backend(),
        "index": engine.index.dir().display().to_string(),
        "config": t.config(),
    });
    if let (Some(o), Value::Object(extra)) = (out.as_object_mut(), t.extra_json()) {
        o.extend(extra);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractive_candidates_are_the_sentences_sharing_most_question_words() {
        let a = "The wick draws melted wax up to the flame. Candles were once made of tallow from sheep.";
        let b = "A candle flame is bright because carbon particles glow in it. The room was quiet that evening.";
        let q = "Why is a candle flame bright?";
        let c = answer_candidates(q, &[a, b], 2);
        // The two sentences with most of "candle", "flame", "bright", in passage order.
        assert_eq!(c[0], vec!["The wick draws melted wax up to the flame.".to_owned()]);
        assert_eq!(c[1], vec!["A candle flame is bright because carbon particles glow in it.".to_owned()]);
        // The schema offers only those; a passage without one cannot be cited.
        let schema = citations_schema_of(&c, 1);
        let choices = schema["items"]["anyOf"].as_array().unwrap();
        assert_eq!(choices.len(), 2);
        let one = answer_candidates(q, &[a, b], 1);
        assert!(one[0].is_empty());
        assert_eq!(citations_schema_of(&one, 1)["items"]["anyOf"].as_array().unwrap().len(), 1);
        assert_eq!(citations_schema_of(&one, 1)["items"]["anyOf"][0]["properties"]["passage"]["const"], 2);
        // 0, or a question sharing no word, offers every sentence.
        assert_eq!(answer_candidates(q, &[a, b], 0), vec![quotable(a), quotable(b)]);
        assert_eq!(answer_candidates("Who wrote Hamlet?", &[a, b], 2), vec![quotable(a), quotable(b)]);
    }
}
