//! The run directory: `records.jsonl`, `rejects.jsonl`, `run.json` (and `report.html`,
//! written by the caller).
//!
//! Every slot ends as exactly one line, in `records.jsonl` (accepted) or `rejects.jsonl`,
//! appended in slot order and synced before the next. A kill -9 can only cut the last line
//! short; opening the directory again drops such a torn tail and resumes after the last
//! whole line, so no slot is written twice and none is lost. `run.json` holds the config;
//! a different config for an existing directory is refused, never mixed.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use quarry_core::{Record, RecordId, Reject, RunSummary, Shard, Task};
use serde_json::Value;

use crate::GenError;

pub const RECORDS: &str = "records.jsonl";
pub const REJECTS: &str = "rejects.jsonl";
pub const RUN_JSON: &str = "run.json";
pub const REPORT: &str = "report.html";

/// An open run directory.
#[derive(Debug)]
pub struct RunDir {
    pub dir: PathBuf,
    records: File,
    rejects: File,
    /// Accepted records so far (earlier sessions included).
    pub records_so_far: Vec<Record>,
    /// Rejects so far.
    pub rejects_so_far: Vec<Reject>,
    /// The first slot not yet written.
    pub next_slot: u64,
    /// run.json as found (earlier sessions), if any.
    pub previous: Option<RunSummary>,
}

fn io(path: &Path, e: std::io::Error) -> GenError {
    GenError::io(path, e)
}

/// Reads a JSONL file of `T`, cutting a torn last line off the file.
fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, GenError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() {
        tracing::warn!(file = %path.display(), bytes = bytes.len() - whole, "dropping a torn last line (the previous run was killed mid-write)");
        let f = OpenOptions::new().write(true).open(path).map_err(|e| io(path, e))?;
        f.set_len(whole as u64).map_err(|e| io(path, e))?;
        f.sync_all().map_err(|e| io(path, e))?;
    }
    let mut out = Vec::new();
    for (i, line) in BufReader::new(&bytes[..whole]).lines().enumerate() {
        let line = line.map_err(|e| io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let v = serde_json::from_str(&line).map_err(|source| GenError::BadLine {
            path: path.to_owned(),
            line: i + 1,
            source,
        })?;
        out.push(v);
    }
    Ok(out)
}

/// The keys of two configs that differ, with both values (the first read as the run's, the
/// second as now).
pub(crate) fn differences(old: &Value, new: &Value) -> Vec<String> {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return vec!["config".into()];
    };
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| {
            format!(
                "{k}: {} (run) vs {} (now)",
                o.get(k).map_or("absent".into(), |v| v.to_string()),
                n.get(k).map_or("absent".into(), |v| v.to_string())
            )
        })
        .collect()
}

impl RunDir {
    /// Opens (or creates) `dir` for a run with `config`, or for one shard of it (`--shard`).
    /// A directory holds one shard or a whole run, never a mix: another shard, or a whole
    /// run in a shard's directory, is refused like another config.
    pub fn open(dir: &Path, config: &Value, shard: Option<Shard>) -> Result<RunDir, GenError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let run_json = dir.join(RUN_JSON);
        let previous: Option<RunSummary> = if run_json.exists() {
            let bytes = std::fs::read(&run_json).map_err(|e| io(&run_json, e))?;
            Some(parse_run_json(&run_json, &bytes)?)
        } else {
            None
        };
        if let Some(prev) = &previous {
            let diff = differences(&prev.config, config);
            if !diff.is_empty() {
                return Err(GenError::ConfigChanged { dir: dir.to_owned(), diff: diff.join("; ") });
            }
            let was = shard_of(prev);
            if was != shard {
                let say = |s: Option<Shard>| s.map_or("the whole run".to_owned(), |s| format!("shard {s}"));
                return Err(GenError::ConfigChanged {
                    dir: dir.to_owned(),
                    diff: format!("it holds {}, not {}", say(was), say(shard)),
                });
            }
        } else if dir.join(RECORDS).exists() || dir.join(REJECTS).exists() {
            return Err(GenError::ConfigChanged {
                dir: dir.to_owned(),
                diff: "it holds records but no run.json".into(),
            });
        }
        // (A run directory is created with its run.json first; see below.)
        let (records_so_far, rejects_so_far) = load_both(dir)?;
        let next_slot = records_so_far
            .iter()
            .map(|r| r.slot)
            .chain(rejects_so_far.iter().map(|r| r.slot))
            .max()
            .map_or(0, |m| m + 1);
        let open = |name: &str| {
            let p = dir.join(name);
            OpenOptions::new().create(true).append(true).open(&p).map_err(|e| io(&p, e))
        };
        let rd = RunDir {
            dir: dir.to_owned(),
            records: open(RECORDS)?,
            rejects: open(REJECTS)?,
            records_so_far,
            rejects_so_far,
            next_slot,
            previous,
        };
        // The config is on disk before the first line is, so a run killed at any moment
        // can be resumed (and a different config refused).
        if rd.previous.is_none() {
            let mut extra: serde_json::Map<String, Value> =
                [("status".to_owned(), Value::from("running"))].into_iter().collect();
            if let Some(s) = shard {
                extra.insert(SHARD_KEY.into(), serde_json::json!({"index": s.index, "count": s.count}));
            }
            let first = RunSummary {
                config: config.clone(),
                extra,
                key_order: vec!["status".into(), "config".into()],
                ..RunSummary::default()
            };
            rd.write_run_json(&first)?;
        }
        Ok(rd)
    }

    fn append(file: &mut File, path: &Path, line: String) -> Result<(), GenError> {
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        quarry_fs::append_synced(file, &bytes).map_err(|e| io(path, e))
    }

    /// Appends an accepted record (synced before it returns).
    pub fn append_record(&mut self, r: Record) -> Result<(), GenError> {
        let line = serde_json::to_string(&r).expect("serialisable");
        Self::append(&mut self.records, &self.dir.join(RECORDS), line)?;
        self.next_slot = self.next_slot.max(r.slot + 1);
        self.records_so_far.push(r);
        Ok(())
    }

    /// Appends a reject (synced before it returns).
    pub fn append_reject(&mut self, r: Reject) -> Result<(), GenError> {
        let line = serde_json::to_string(&r).expect("serialisable");
        Self::append(&mut self.rejects, &self.dir.join(REJECTS), line)?;
        self.next_slot = self.next_slot.max(r.slot + 1);
        self.rejects_so_far.push(r);
        Ok(())
    }

    /// Writes run.json atomically and durably.
    pub fn write_run_json(&self, run: &RunSummary) -> Result<(), GenError> {
        let path = self.dir.join(RUN_JSON);
        let text = serde_json::to_string_pretty(&run.to_json()).expect("serialisable");
        quarry_fs::write_bytes_atomic(&path, text.as_bytes()).map_err(|e| io(&path, e))
    }
}

/// run.json's key for the shard a directory holds (`--shard`).
pub const SHARD_KEY: &str = "shard";

/// The shard a run directory holds, from its run.json (`None`: a whole run).
pub fn shard_of(run: &RunSummary) -> Option<Shard> {
    let s = run.extra.get(SHARD_KEY)?;
    Some(Shard { index: s.get("index")?.as_u64()?, count: s.get("count")?.as_u64()? })
}

/// Reads a finished (or interrupted) run directory: run.json, records and rejects.
pub fn read(dir: &Path) -> Result<(RunSummary, Vec<Record>, Vec<Reject>), GenError> {
    let run = read_summary(dir)?;
    let (records, rejects) = load_both(dir)?;
    Ok((run, records, rejects))
}

/// A run directory's run.json alone (its index, model, counts), without its records.
pub fn read_summary(dir: &Path) -> Result<RunSummary, GenError> {
    let run_json = dir.join(RUN_JSON);
    let bytes = std::fs::read(&run_json).map_err(|e| io(&run_json, e))?;
    parse_run_json(&run_json, &bytes)
}

fn parse_run_json(path: &Path, bytes: &[u8]) -> Result<RunSummary, GenError> {
    let bad = |source| GenError::BadJson { path: path.to_owned(), what: "not a run's run.json", source };
    RunSummary::from_json(serde_json::from_slice(bytes).map_err(bad)?).map_err(bad)
}

/// Records and rejects; a record that was moved to rejects (its id is in both files, which
/// a crash in the middle of a move leaves) counts as rejected.
fn load_both(dir: &Path) -> Result<(Vec<Record>, Vec<Reject>), GenError> {
    let mut records: Vec<Record> = load(&dir.join(RECORDS))?;
    let mut rejects: Vec<Reject> = load(&dir.join(REJECTS))?;
    for r in &mut rejects {
        upgrade_duplicate(r);
    }
    let moved: std::collections::HashSet<&RecordId> = rejects.iter().map(|r| &r.id).collect();
    records.retain(|r| !moved.contains(&r.id));
    Ok((records, rejects))
}

/// Moves records to rejects (`quarry dedup`, `quarry reject`): the rejects are appended and
/// synced first, then records.jsonl is rewritten without them (temporary file, fsync,
/// rename). Returns how many records moved.
pub fn move_to_rejects(dir: &Path, moves: Vec<Reject>) -> Result<usize, GenError> {
    if moves.is_empty() {
        return Ok(0);
    }
    let (_, records, _) = read(dir)?;
    let ids: std::collections::HashSet<&RecordId> = moves.iter().map(|r| &r.id).collect();
    let n = records.iter().filter(|r| ids.contains(&r.id)).count();
    let rejects_path = dir.join(REJECTS);
    let mut f = OpenOptions::new().create(true).append(true).open(&rejects_path).map_err(|e| io(&rejects_path, e))?;
    for r in &moves {
        RunDir::append(&mut f, &rejects_path, serde_json::to_string(r).expect("serialisable"))?;
    }
    let kept: String = records
        .iter()
        .filter(|r| !ids.contains(&r.id))
        .map(|r| serde_json::to_string(r).expect("serialisable") + "\n")
        .collect();
    let path = dir.join(RECORDS);
    quarry_fs::write_bytes_atomic(&path, kept.as_bytes()).map_err(|e| io(&path, e))?;
    Ok(n)
}

/// A duplicate written before rejects named what they duplicate (`duplicate_of`) names it
/// only in its detail ("the same question as 1a2b3c4d-000003"): read it from there once, on
/// load, so everything after works with the typed id.
fn upgrade_duplicate(r: &mut Reject) {
    if r.reason != "duplicate" || r.duplicate_of.is_some() {
        return;
    }
    r.duplicate_of = r.detail.split_whitespace().find_map(|w| {
        let (run, slot) = w.rsplit_once('-')?;
        let ok = run.len() == 8 && run.bytes().all(|b| b.is_ascii_hexdigit()) && slot.len() == 6;
        if ok { w.parse::<RecordId>().ok() } else { None }
    });
}

/// The accepted Q&A records of the run in `source`, for a task built on them (follow-ups,
/// DPO pairs); `to` says what is done with them, for the error when there are none.
pub fn qa_parents(source: &Path, to: &str) -> Result<Vec<Record>, GenError> {
    let (_, records, _) = read(source)?;
    let parents: Vec<Record> = records.into_iter().filter(|r| r.task == Task::Qa).collect();
    if parents.is_empty() {
        return Err(GenError::Config(format!(
            "{} has no accepted Q&A record to {to} (run `quarry generate qa` first)",
            source.display()
        )));
    }
    Ok(parents)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn torn_tail_is_dropped_and_config_changes_refused() {
        let d = tempfile::tempdir().unwrap();
        let cfg = json!({"seed": 1});
        {
            let rd = RunDir::open(d.path(), &cfg, None).unwrap();
            rd.write_run_json(&RunSummary { config: cfg.clone(), ..RunSummary::default() }).unwrap();
        }
        std::fs::write(d.path().join(REJECTS), b"{\"torn\": ").unwrap();
        let rd = RunDir::open(d.path(), &cfg, None).unwrap();
        assert_eq!(rd.next_slot, 0);
        assert_eq!(std::fs::read(d.path().join(REJECTS)).unwrap().len(), 0);
        // A record that is also in rejects (a move cut short by a crash) counts as rejected.
        let rec: Record = serde_json::from_value(json!({
            "schema_version": 1, "id": "r-000000", "task": "qa", "slot": 0, "question": "Why?", "question_type": "factual",
            "answer": "Because.", "citations": [], "verdict": "supported", "reasons": [],
            "scores": {"support": 1.0, "quote_match": 1.0, "sentences": [], "round_trip_rank": 1, "round_trip_hit": true},
            "seed_chunks": [], "passages": [], "model": "m", "backend": "b",
            "question_sampling": {"temperature": 0.7, "top_p": 0.9, "max_tokens": 64, "seed": 1},
            "answer_sampling": {"temperature": 0.2, "top_p": 0.9, "max_tokens": 64, "seed": 2},
            "question_prompt_hash": "", "answer_prompt_hash": "",
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            "timings": {"question_ms": 0.0, "retrieval_ms": 0.0, "answer_ms": 0.0, "verify_ms": 0.0}
        }))
        .unwrap();
        let mut rd = RunDir::open(d.path(), &cfg, None).unwrap();
        rd.append_record(rec.clone()).unwrap();
        drop(rd);
        assert_eq!(read(d.path()).unwrap().1.len(), 1);
        let reject = crate::manual_reject(&rec, "manual", "manual", "wrong");
        std::fs::write(d.path().join(REJECTS), serde_json::to_string(&reject).unwrap() + "\n").unwrap();
        let (_, records, rejects) = read(d.path()).unwrap();
        assert!(records.is_empty() && rejects.len() == 1);
        assert_eq!(RunDir::open(d.path(), &cfg, None).unwrap().next_slot, 1);
        let err = RunDir::open(d.path(), &json!({"seed": 2}), None).unwrap_err();
        assert!(err.to_string().contains("seed: 1 (run) vs 2 (now)"), "{err}");
    }

    #[test]
    fn an_old_duplicate_names_its_original_after_loading() {
        let mut r = Reject {
            reason: "duplicate".into(),
            detail: "a near-duplicate of 1a2b3c4d-000003 (shingle Jaccard 0.85)".into(),
            ..Reject::default()
        };
        upgrade_duplicate(&mut r);
        assert_eq!(r.duplicate_of, Some(RecordId::new("1a2b3c4d", 3)));
        let mut other = Reject { reason: "unsupported".into(), detail: "1a2b3c4d-000003".into(), ..Reject::default() };
        upgrade_duplicate(&mut other);
        assert_eq!(other.duplicate_of, None);
    }
}
