//! The slot loop: a task fills numbered slots, each ending as one record or one reject,
//! written in slot order; accepted records are checked for duplicates against every record
//! before them; run.json sums the run up.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use quarry_core::{
    Counts, DedupSummary, DuplicateCluster, RECORD_SCHEMA_VERSION, Record, RecordId, Reject, Role, RunSummary,
    RunTotals, Shard, Task, TokenUsage,
};
use serde_json::{Value, json};

use super::Engine;
use super::record::{Attempt, Outcome, SlotEnd, Totals, duplicate_reject};
use crate::GenError;
use crate::dedup::{DedupConfig, Deduper};
use crate::run_dir::{RunDir, SHARD_KEY};

/// Progress of a run, after every slot.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub accepted: usize,
    pub rejected: usize,
    pub target: usize,
}

/// What the slot loop needs of a task besides its slots: the engine, the run id, how many
/// records are wanted and how many slots may be tried.
pub struct Slots {
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

/// The run id of a task: a short hash of what makes the run (task, seed, source).
pub fn run_id(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..8].to_owned()
}

/// A task that fills numbered slots, each ending as one record or one reject. A new task
/// implements this (see `tasks/`); [`run`] does the rest.
// The slot futures run on one task (`buffered`), so they need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait SlotTask: Sync {
    /// The task's kind, on every record it writes.
    const TASK: Task;
    fn slots(&self) -> &Slots;
    /// The configuration recorded in run.json (a run directory refuses another).
    fn config(&self) -> Value;
    /// Task-specific parts of run.json (seed plan, parents).
    fn extra_json(&self) -> Value {
        json!({})
    }
    /// Works one slot to a record, or stops with a reject (`a.fail(...)`) or an error.
    async fn work(&self, slot: u64, a: &mut Attempt) -> Result<Record, SlotEnd>;
}

/// The text a record is judged a duplicate by.
pub fn dedup_key(r: &Record) -> String {
    let users = |skip: usize| {
        r.turns.iter().filter(|t| t.role == Role::User).skip(skip).map(|t| t.content.as_str()).collect::<Vec<_>>()
    };
    match r.task {
        Task::Followup => users(1).join(" "),
        Task::Conversation => users(0).join(" "),
        Task::Pretrain => r.answer.clone(),
        Task::Qa | Task::Dpo | Task::Topic => r.question.clone(),
    }
}

/// The records of `records` (in slot order) that duplicate one before them, as rejects
/// naming it: the dedup pass of a run, and of `quarry dedup` on a finished one.
/// `embeddings[i]` belongs to `records[i]` (empty: no paraphrase check).
pub fn dedup_records(records: &[Record], embeddings: &[Vec<f32>], cfg: DedupConfig) -> Vec<Reject> {
    let mut d: Deduper = Deduper::new(cfg);
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let key = dedup_key(r);
        let e = embeddings.get(i).cloned().unwrap_or_default();
        match d.check(&key, &e) {
            Some(dup) => out.push(duplicate_reject(r, &dup)),
            None => d.add(r.id.clone(), &key, e),
        }
    }
    out
}

/// The records most often repeated, most first (at most `max`), from the duplicates'
/// `duplicate_of`.
pub fn largest_clusters(rejects: &[Reject], max: usize) -> Vec<(RecordId, Vec<RecordId>)> {
    let mut clusters: BTreeMap<&RecordId, Vec<RecordId>> = BTreeMap::new();
    for r in rejects {
        if let Some(of) = &r.duplicate_of {
            clusters.entry(of).or_default().push(r.id.clone());
        }
    }
    let mut largest: Vec<(RecordId, Vec<RecordId>)> = clusters.into_iter().map(|(k, v)| (k.clone(), v)).collect();
    largest.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    largest.truncate(max);
    largest
}

/// Runs (or resumes) a task in `dir` until its target of records is accepted or the slot
/// budget is spent. Outcomes are written in slot order as they complete; an accepted record
/// that duplicates an earlier one goes to rejects naming it.
///
/// With `shard`, only the shard's slots are worked, until the shard's share of the target
/// ([`Shard::target`]) is accepted, and duplicates are left for `quarry merge` to find in
/// slot order across every shard (the `merge` module).
pub async fn run<T: SlotTask>(
    t: &T,
    dir: &mut RunDir,
    shard: Option<Shard>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RunSummary, GenError> {
    let started = Instant::now();
    let slots = t.slots();
    let (max_slots, engine) = (slots.max_slots, &slots.engine);
    let n = shard.map_or(slots.target, |s| s.target(slots.target));
    let mine = move |slot: &u64| shard.is_none_or(|s| s.owns_slot(*slot));
    let mut totals = Totals::default();
    let mut accepted = dir.records_so_far.len();
    progress(Progress { accepted, rejected: dir.rejects_so_far.len(), target: n });
    // Duplicates are judged against every record before them, in slot order.
    let mut dedup: Option<Deduper> = shard.is_none().then(|| Deduper::new(DedupConfig::default()));
    if let Some(dedup) = &mut dedup {
        let keys: Vec<String> = dir.records_so_far.iter().map(dedup_key).collect();
        let embeddings = engine.embed_all(&keys);
        for (i, r) in dir.records_so_far.iter().enumerate() {
            dedup.add(r.id.clone(), &keys[i], embeddings.get(i).cloned().unwrap_or_default());
        }
    }
    if accepted < n && dir.next_slot < max_slots {
        let run_id = slots.run_id.as_str();
        let mut outcomes = futures::stream::iter((dir.next_slot..max_slots).filter(mine))
            .map(|slot| async move {
                let mut a = Attempt::new(run_id, slot);
                let end = t.work(slot, &mut a).await;
                a.finish(end)
            })
            .buffered(slots.concurrency.max(1));
        while let Some(result) = outcomes.next().await {
            let (outcome, s) = result?;
            totals.add(&s);
            match outcome {
                Outcome::Accepted(r) => match &mut dedup {
                    Some(dedup) => {
                        let key = dedup_key(&r);
                        let e = engine.embed(&key);
                        if let Some(dup) = dedup.check(&key, &e) {
                            dir.append_reject(duplicate_reject(&r, &dup))?;
                        } else {
                            dedup.add(r.id.clone(), &key, e);
                            dir.append_record(*r)?;
                            accepted += 1;
                        }
                    }
                    None => {
                        dir.append_record(*r)?;
                        accepted += 1;
                    }
                },
                Outcome::Rejected(r) => dir.append_reject(*r)?,
            }
            progress(Progress { accepted, rejected: dir.rejects_so_far.len(), target: n });
            if accepted >= n {
                break;
            }
        }
    }
    let extra = match t.extra_json() {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    let facts = RunFacts {
        task: T::TASK,
        run_id: slots.run_id.clone(),
        target: n as u64,
        max_slots,
        model: engine.model.model(),
        backend: engine.model.backend(),
        index: engine.index.dir().display().to_string(),
        config: t.config(),
        extra,
    };
    let mut summary = facts.summarise(dir, session_totals(dir, &totals, started.elapsed().as_secs_f64()));
    // How the server was loaded: the concurrency limit over time and the 429s seen.
    if let Some(load) = engine.model.load() {
        summary.extra.insert("load".into(), serde_json::to_value(load).unwrap_or_default());
    }
    if let Some(s) = shard {
        // Finished: its share accepted, or none of its slots left in the budget.
        let finished = accepted >= n || !(dir.next_slot..max_slots).any(|x| mine(&x));
        summary.extra.insert(
            SHARD_KEY.into(),
            json!({"index": s.index, "count": s.count, "n": slots.target, "finished": finished}),
        );
    }
    dir.write_run_json(&summary)?;
    Ok(summary)
}

/// run.json's totals: this session's added to those of the sessions before it.
pub(crate) fn session_totals(dir: &RunDir, session: &Totals, session_s: f64) -> RunTotals {
    let prev = dir.previous.as_ref().and_then(|p| p.totals).unwrap_or_default();
    RunTotals {
        elapsed_s: prev.elapsed_s + session_s,
        llm_s: prev.llm_s + session.llm_ms / 1e3,
        other_s: prev.other_s + session.other_ms / 1e3,
    }
}

/// What run.json says of a run besides what its lines count: the task, its ids, its model
/// and index, its config. A run gets them from its task; a merge from its shards' run.json.
pub struct RunFacts {
    pub task: Task,
    pub run_id: String,
    /// Accepted records wanted.
    pub target: u64,
    pub max_slots: u64,
    pub model: String,
    pub backend: String,
    pub index: String,
    pub config: Value,
    /// Task-specific keys (seed plan, parents).
    pub extra: serde_json::Map<String, Value>,
}

impl RunFacts {
    /// run.json for the records and rejects of `dir`, with `totals` of time spent.
    pub fn summarise(self, dir: &RunDir, totals: RunTotals) -> RunSummary {
        let mut by_verdict = Counts::new();
        let mut by_reason = Counts::new();
        let mut by_stage = Counts::new();
        let mut by_type = Counts::new();
        let mut by_doc = Counts::new();
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
            if let Some(v) = r.verdict {
                *by_verdict.entry(v.as_str().into()).or_default() += 1;
            }
            usage.prompt_tokens += r.usage.prompt_tokens;
            usage.completion_tokens += r.usage.completion_tokens;
        }
        let accepted = dir.records_so_far.len();
        let per_accepted = |x: f64| if accepted > 0 { x / accepted as f64 } else { 0.0 };
        RunSummary {
            run_id: Some(self.run_id),
            task: Some(self.task),
            quarry_version: Some(env!("CARGO_PKG_VERSION").into()),
            record_schema_version: Some(RECORD_SCHEMA_VERSION),
            target: Some(self.target),
            accepted: Some(accepted as u64),
            rejected: Some(dir.rejects_so_far.len() as u64),
            complete: Some(accepted as u64 >= self.target),
            slots_used: Some(dir.next_slot),
            slot_budget: Some(self.max_slots),
            counts_by_verdict: Some(by_verdict),
            counts_by_reason: Some(by_reason),
            counts_by_stage: Some(by_stage),
            counts_by_question_type: Some(by_type),
            citations_by_document: Some(by_doc),
            round_trip_recall: Some(per_accepted(round_trip_hits as f64)),
            usage: Some(usage),
            tokens_per_accepted: Some(per_accepted((usage.prompt_tokens + usage.completion_tokens) as f64)),
            elapsed_s: Some(totals.elapsed_s),
            totals: Some(totals),
            model: Some(self.model),
            backend: Some(self.backend),
            index: Some(self.index),
            dedup: Some(DedupSummary {
                duplicates: dir.rejects_so_far.iter().filter(|r| r.duplicate_of.is_some()).count(),
                largest_clusters: largest_clusters(&dir.rejects_so_far, 10)
                    .into_iter()
                    .map(|(record, duplicates)| DuplicateCluster { record, duplicates })
                    .collect(),
            }),
            config: self.config,
            extra: self.extra,
            key_order: Vec::new(),
        }
    }
}
