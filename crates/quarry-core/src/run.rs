//! `run.json`: how a run was configured and how it went. quarry-gen writes it after every
//! session of a run (and a first one, holding only the config, before the first line);
//! the CLI and the report read it.
//!
//! Every key may be missing (a run killed in its first session, an older version, a file
//! written by hand), so every field but the config is optional and a missing key stays
//! missing when the file is written again. Keys a task adds of its own (the seed plan, the
//! parents, a topic tree's counts) are kept in `extra`. The JSON is written with its keys
//! sorted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{RecordId, Task, TokenUsage};

/// Counts by a string key (verdict, reason, stage, question type, document).
pub type Counts = BTreeMap<String, u64>;

/// Time spent, in seconds, over every session of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunTotals {
    pub elapsed_s: f64,
    /// In model calls (cache hits cost none).
    pub llm_s: f64,
    /// Outside the model: retrieval, verification, planning.
    pub other_s: f64,
}

/// A record and the later records that repeat it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DuplicateCluster {
    pub record: RecordId,
    pub duplicates: Vec<RecordId>,
}

/// What dedup found in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DedupSummary {
    pub duplicates: usize,
    /// The most repeated records, most first (at most 10).
    pub largest_clusters: Vec<DuplicateCluster>,
}

/// The contents of `run.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup: Option<DedupSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarry_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_schema_version: Option<u32>,
    /// Accepted records wanted (a topic tree: its nodes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<u64>,
    /// Whether the target was reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
    /// Slots written (records and rejects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots_used: Option<u64>,
    /// Slots that may be tried at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot_budget: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts_by_verdict: Option<Counts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts_by_reason: Option<Counts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts_by_stage: Option<Counts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts_by_question_type: Option<Counts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citations_by_document: Option<Counts>,
    /// Share of accepted records whose seed chunk retrieval finds with the question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_recall: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_accepted: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<RunTotals>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// The index the run drew from ("" for a topic tree made without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The configuration; a run directory refuses to resume with another.
    pub config: Value,
    /// Keys of one task (`seed_chunks`, `parents`, `nodes`, `counts_by_status`, `tree`) or of
    /// another version, kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
    /// The order of the keys when written: as read ([`RunSummary::from_json`]), or as a
    /// task chose; empty for the fields' order, then `extra`'s.
    #[serde(skip)]
    pub key_order: Vec<String>,
}

impl RunSummary {
    /// Reads run.json's JSON, remembering the order of its keys so that writing it again
    /// changes nothing but what changed.
    pub fn from_json(v: Value) -> Result<RunSummary, serde_json::Error> {
        let order: Vec<String> = v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let mut s: RunSummary = serde_json::from_value(v)?;
        s.key_order = order;
        Ok(s)
    }

    /// The run as JSON (the form written to run.json): keys in `key_order`, then the rest.
    pub fn to_json(&self) -> Value {
        let v = serde_json::to_value(self).expect("a run summary is JSON");
        let Value::Object(mut fields) = v else { unreachable!("a struct serialises to an object") };
        if self.key_order.is_empty() {
            return Value::Object(fields);
        }
        let mut out = serde_json::Map::new();
        for k in &self.key_order {
            if let Some(x) = fields.remove(k) {
                out.insert(k.clone(), x);
            }
        }
        out.extend(fields);
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_json_reads_and_writes_back_the_same() {
        let text = r#"{"accepted":2,"config":{"seed":1,"task":"qa"},"dedup":{"duplicates":1,"largest_clusters":[{"record":"abcd0123-000001","duplicates":["abcd0123-000004"]}]},"elapsed_s":1.5,"round_trip_recall":0.0,"seed_chunks":{"eligible":3},"task":"qa","totals":{"elapsed_s":1.5,"llm_s":1.0,"other_s":0.25},"usage":{"prompt_tokens":7,"completion_tokens":5}}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let s = RunSummary::from_json(v.clone()).unwrap();
        assert_eq!(s.accepted, Some(2));
        assert_eq!(s.task, Some(Task::Qa));
        assert_eq!(s.dedup.as_ref().unwrap().largest_clusters[0].record.slot, 1);
        assert!(s.extra.contains_key("seed_chunks"));
        assert_eq!(s.to_json(), v);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&s.to_json()), keys(&v), "keys are written in the order read");
        // What a killed first session leaves: the config alone.
        let first = RunSummary::from_json(serde_json::from_str(r#"{"status":"running","config":{"seed":1}}"#).unwrap())
            .unwrap();
        assert_eq!(first.accepted, None);
        assert_eq!(first.to_json(), serde_json::json!({"status": "running", "config": {"seed": 1}}));
    }
}
