//! `quarry merge` of a run's shards (`quarry generate … --shard I/N`): one run directory
//! holding exactly what one process would have kept.
//!
//! One process writes every slot in order and stops at the slot whose record is the n-th
//! accepted one, each accepted record checked for duplicates against the records kept
//! before it. The merge does the same over the shards' lines: it takes the slots in order
//! up to the first one no shard wrote (the shards stop independently), re-judges
//! duplicates in that order across every shard (the shards keep theirs), and stops at the
//! n-th kept record. If the shards stopped before that, the merged directory is that one
//! process's run cut short at the same slot, and resuming it (the same `generate` command
//! without `--shard`, on one machine) finishes it exactly as one process would have.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quarry_core::{Record, Reject, RunSummary, RunTotals, Shard};
use serde_json::{Value, json};

use crate::GenError;
use crate::dedup::{DedupConfig, Deduper};
use crate::engine::record::duplicate_reject;
use crate::engine::slots::{RunFacts, dedup_key};
use crate::run_dir::{self, RunDir, SHARD_KEY};

/// The file a merged run directory keeps its provenance in: the shards, where each
/// stopped, and their run.json loads (their timings are summed into run.json).
pub const MERGE_JSON: &str = "merge.json";

/// One shard's directory, read.
#[derive(Debug)]
pub struct ShardRun {
    pub dir: PathBuf,
    pub shard: Shard,
    pub summary: RunSummary,
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
}

/// What a merge wrote.
#[derive(Debug)]
pub struct Merged {
    pub summary: RunSummary,
    /// The first slot no shard wrote (every slot before it is in the merged run).
    pub covered: u64,
    /// Slots the shards wrote that the merged run leaves out (after its n-th record, or
    /// beyond the first slot no shard wrote).
    pub left_out: u64,
}

fn refuse(msg: String) -> GenError {
    GenError::Config(msg)
}

/// Reads the shard directories and checks that they are one run's every shard, each
/// finished: the same config and run id, the same shard count, every index once.
pub fn read_shards(dirs: &[PathBuf]) -> Result<Vec<ShardRun>, GenError> {
    if dirs.is_empty() {
        return Err(refuse("name the shard directories to merge".into()));
    }
    let mut shards = Vec::new();
    for dir in dirs {
        let (summary, records, rejects) = run_dir::read(dir)?;
        let shard = run_dir::shard_of(&summary).ok_or_else(|| {
            refuse(format!("{} is not a shard: it was not written with `quarry generate … --shard I/N`", dir.display()))
        })?;
        shards.push(ShardRun { dir: dir.clone(), shard, summary, records, rejects });
    }
    shards.sort_by_key(|s| s.shard.index);
    for s in &shards {
        let finished = s.summary.extra.get(SHARD_KEY).and_then(|x| x.get("finished")).and_then(Value::as_bool);
        if finished != Some(true) {
            return Err(refuse(format!(
                "shard {} ({}) is not finished ({} records and {} rejects written): run its command again, it resumes",
                s.shard,
                s.dir.display(),
                s.records.len(),
                s.rejects.len()
            )));
        }
        if let Some(line) = s
            .records
            .iter()
            .map(|r| r.slot)
            .chain(s.rejects.iter().map(|r| r.slot))
            .find(|&slot| !s.shard.owns_slot(slot))
        {
            return Err(refuse(format!("{} holds slot {line}, which is not shard {}'s", s.dir.display(), s.shard)));
        }
    }
    let first = &shards[0];
    let count = first.shard.count;
    for s in &shards[1..] {
        let name = |r: &ShardRun| format!("{} (shard {})", r.dir.display(), r.shard);
        if s.shard.count != count {
            return Err(refuse(format!("{} and {} split the run differently", name(first), name(s))));
        }
        if s.summary.config != first.summary.config {
            return Err(refuse(format!(
                "{} and {} are not shards of one run: their configs differ in {}",
                name(first),
                name(s),
                run_dir::differences(&first.summary.config, &s.summary.config).join("; ")
            )));
        }
        if s.summary.run_id != first.summary.run_id || wanted(s) != wanted(first) {
            return Err(refuse(format!(
                "{} and {} are not shards of one run: run id {} vs {}, records wanted {} vs {}",
                name(first),
                name(s),
                first.summary.run_id.as_deref().unwrap_or("?"),
                s.summary.run_id.as_deref().unwrap_or("?"),
                wanted(first),
                wanted(s)
            )));
        }
    }
    let given: Vec<u64> = shards.iter().map(|s| s.shard.index).collect();
    for i in 0..count {
        match given.iter().filter(|&&g| g == i).count() {
            0 => {
                return Err(refuse(format!(
                    "shard {i}/{count} is missing (given: {}); merge every shard of the run",
                    shards.iter().map(|s| s.shard.to_string()).collect::<Vec<_>>().join(", ")
                )));
            }
            1 => {}
            _ => return Err(refuse(format!("shard {i}/{count} is given more than once"))),
        }
    }
    Ok(shards)
}

/// Records the whole run wants (a shard's run.json keeps it beside its own share).
fn wanted(s: &ShardRun) -> u64 {
    s.summary.extra.get(SHARD_KEY).and_then(|x| x.get("n")).and_then(Value::as_u64).unwrap_or(0)
}

enum Line {
    Record(Box<Record>),
    Reject(Box<Reject>),
}

/// Writes the merged run into `out` (a new directory). `embed` is the index's embedder, for
/// the paraphrase check of dedup (as a run embeds each record's text on its own).
pub fn merge(shards: Vec<ShardRun>, out: &Path, embed: &dyn Fn(&str) -> Vec<f32>) -> Result<Merged, GenError> {
    if out.join(run_dir::RUN_JSON).exists() || out.join(run_dir::RECORDS).exists() {
        return Err(refuse(format!("{} already holds a run; merge into a new directory", out.display())));
    }
    let first = shards[0].summary.clone();
    let first = &first;
    let n = wanted(&shards[0]);
    let max_slots = first.slot_budget.unwrap_or(0);
    let mut lines: BTreeMap<u64, Line> = BTreeMap::new();
    let mut totals = RunTotals::default();
    let mut loads = Vec::new();
    let mut stops = Vec::new();
    for s in &shards {
        let t = s.summary.totals.unwrap_or_default();
        totals.elapsed_s += t.elapsed_s;
        totals.llm_s += t.llm_s;
        totals.other_s += t.other_s;
        if let Some(load) = s.summary.extra.get("load") {
            loads.push(json!({"shard": s.shard.to_string(), "load": load}));
        }
        stops.push(json!({
            "shard": s.shard.to_string(), "dir": s.dir.display().to_string(),
            "accepted": s.records.len(), "rejected": s.rejects.len(), "slots_used": s.summary.slots_used,
        }));
    }
    let written: usize = shards.iter().map(|s| s.records.len() + s.rejects.len()).sum();
    // Tokens every shard spent, the slots the merge leaves out included (run.json counts the
    // kept slots', as one process would have spent).
    let spent: u64 = shards
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.usage).chain(s.rejects.iter().map(|r| r.usage)))
        .map(|u| u.prompt_tokens + u.completion_tokens)
        .sum();
    for s in shards {
        lines.extend(s.records.into_iter().map(|r| (r.slot, Line::Record(Box::new(r)))));
        lines.extend(s.rejects.into_iter().map(|r| (r.slot, Line::Reject(Box::new(r)))));
    }
    let covered = (0..max_slots).find(|slot| !lines.contains_key(slot)).unwrap_or(max_slots);
    let mut dir = RunDir::open(out, &first.config, None)?;
    let mut dedup: Deduper = Deduper::new(DedupConfig::default());
    let mut accepted = 0u64;
    let mut kept = 0usize;
    for (_, line) in lines.range(..covered) {
        if accepted >= n {
            break;
        }
        kept += 1;
        match line {
            Line::Reject(r) => dir.append_reject(r.as_ref().clone())?,
            Line::Record(r) => {
                let key = dedup_key(r);
                let e = embed(&key);
                if let Some(dup) = dedup.check(&key, &e) {
                    dir.append_reject(duplicate_reject(r, &dup))?;
                } else {
                    dedup.add(r.id.clone(), &key, e);
                    dir.append_record(r.as_ref().clone())?;
                    accepted += 1;
                }
            }
        }
    }
    let mut extra = first.extra.clone();
    for k in [SHARD_KEY, "load", "status"] {
        extra.remove(k);
    }
    if !loads.is_empty() {
        extra.insert("load".into(), json!({ "shards": loads }));
    }
    let facts = RunFacts {
        task: first.task.ok_or_else(|| refuse(format!("{}'s run.json names no task", out.display())))?,
        run_id: first.run_id.clone().unwrap_or_default(),
        target: n,
        max_slots,
        model: first.model.clone().unwrap_or_default(),
        backend: first.backend.clone().unwrap_or_default(),
        index: first.index.clone().unwrap_or_default(),
        config: first.config.clone(),
        extra,
    };
    let summary = facts.summarise(&dir, totals);
    dir.write_run_json(&summary)?;
    let left_out = (written - kept) as u64;
    let provenance = json!({"shards": stops, "covered_slots": covered, "left_out": left_out, "tokens_spent": spent});
    let path = out.join(MERGE_JSON);
    quarry_fs::write_bytes_atomic(&path, serde_json::to_string_pretty(&provenance).expect("json").as_bytes())
        .map_err(|e| GenError::io(&path, e))?;
    Ok(Merged { summary, covered, left_out })
}
