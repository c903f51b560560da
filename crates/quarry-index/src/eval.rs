//! Retrieval evaluation on BEIR folders: reading corpus, queries and qrels,
//! and the standard metrics (nDCG@10, Recall@k, MRR, MAP).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::{IndexError, Result};

/// Queries and relevance judgements of a BEIR folder.
#[derive(Clone, Debug, Default)]
pub struct Beir {
    /// (query id, text), in file order.
    pub queries: Vec<(String, String)>,
    /// query id → document id → relevance grade.
    pub qrels: HashMap<String, HashMap<String, u32>>,
}

fn bad(path: &Path, line: usize, msg: impl std::fmt::Display) -> IndexError {
    IndexError::Index { path: path.to_owned(), message: format!("line {line}: {msg}") }
}

/// Reads `queries.jsonl` and `qrels/test.tsv` (queries without judgements are dropped).
pub fn load_beir(dir: &Path) -> Result<Beir> {
    let qpath = dir.join("queries.jsonl");
    let f = std::fs::File::open(&qpath).map_err(|e| IndexError::io(&qpath, e))?;
    let mut queries = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| IndexError::io(&qpath, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(&qpath, i + 1, e))?;
        let id = match &v["_id"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(bad(&qpath, i + 1, "no _id")),
        };
        let text = v["text"].as_str().ok_or_else(|| bad(&qpath, i + 1, "no text"))?.to_owned();
        queries.push((id, text));
    }
    let rpath = dir.join("qrels/test.tsv");
    let f = std::fs::File::open(&rpath).map_err(|e| IndexError::io(&rpath, e))?;
    let mut qrels: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| IndexError::io(&rpath, e))?;
        let cols: Vec<&str> = line.split('\t').collect();
        if i == 0 && cols.first().is_some_and(|c| c.starts_with("query")) || line.trim().is_empty() {
            continue;
        }
        if cols.len() < 3 {
            return Err(bad(&rpath, i + 1, "expected query-id, corpus-id, score"));
        }
        let grade: i64 = cols[2].trim().parse().map_err(|e| bad(&rpath, i + 1, e))?;
        if grade > 0 {
            qrels.entry(cols[0].to_owned()).or_default().insert(cols[1].to_owned(), grade as u32);
        }
    }
    queries.retain(|(id, _)| qrels.contains_key(id));
    Ok(Beir { queries, qrels })
}

/// Averages over the evaluated queries.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Metrics {
    pub queries: usize,
    pub ndcg_at_10: f64,
    pub recall_at_5: f64,
    pub recall_at_20: f64,
    pub recall_at_100: f64,
    pub mrr: f64,
    pub map: f64,
}

/// Metrics of a run: query id → documents ranked best first.
pub fn evaluate(run: &BTreeMap<String, Vec<(String, f32)>>, qrels: &HashMap<String, HashMap<String, u32>>) -> Metrics {
    let mut m = Metrics::default();
    for (qid, rel) in qrels {
        let ranked: Vec<&str> = run.get(qid).map(|r| r.iter().map(|(d, _)| d.as_str()).collect()).unwrap_or_default();
        m.queries += 1;
        // nDCG@10 with graded relevance (2^rel - 1 gain).
        let gain = |g: u32| 2f64.powi(g as i32) - 1.0;
        let dcg: f64 = ranked
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, d)| rel.get(*d).map_or(0.0, |g| gain(*g)) / ((i + 2) as f64).log2())
            .sum();
        let mut ideal: Vec<u32> = rel.values().copied().collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let idcg: f64 = ideal.iter().take(10).enumerate().map(|(i, g)| gain(*g) / ((i + 2) as f64).log2()).sum();
        m.ndcg_at_10 += if idcg > 0.0 { dcg / idcg } else { 0.0 };
        let recall =
            |k: usize| ranked.iter().take(k).filter(|d| rel.contains_key(**d)).count() as f64 / rel.len() as f64;
        m.recall_at_5 += recall(5);
        m.recall_at_20 += recall(20);
        m.recall_at_100 += recall(100);
        m.mrr += ranked.iter().position(|d| rel.contains_key(*d)).map_or(0.0, |p| 1.0 / (p + 1) as f64);
        let mut hits = 0usize;
        let mut ap = 0.0;
        for (i, d) in ranked.iter().enumerate() {
            if rel.contains_key(*d) {
                hits += 1;
                ap += hits as f64 / (i + 1) as f64;
            }
        }
        m.map += ap / rel.len() as f64;
    }
    if m.queries > 0 {
        let n = m.queries as f64;
        m.ndcg_at_10 /= n;
        m.recall_at_5 /= n;
        m.recall_at_20 /= n;
        m.recall_at_100 /= n;
        m.mrr /= n;
        m.map /= n;
    }
    m
}

/// Writes a TREC run file: `qid Q0 docid rank score tag`.
pub fn write_trec(path: &Path, run: &BTreeMap<String, Vec<(String, f32)>>, tag: &str) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| IndexError::io(path, e))?);
    for (qid, docs) in run {
        for (i, (doc, score)) in docs.iter().enumerate() {
            writeln!(out, "{qid} Q0 {doc} {} {score:.6} {tag}", i + 1).map_err(|e| IndexError::io(path, e))?;
        }
    }
    out.flush().map_err(|e| IndexError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_a_known_run() {
        let qrels: HashMap<String, HashMap<String, u32>> = HashMap::from([
            ("q1".into(), HashMap::from([("a".into(), 1)])),
            ("q2".into(), HashMap::from([("b".into(), 1), ("c".into(), 1)])),
        ]);
        let run: BTreeMap<String, Vec<(String, f32)>> = BTreeMap::from([
            ("q1".into(), vec![("a".into(), 3.0), ("x".into(), 2.0)]),
            ("q2".into(), vec![("x".into(), 3.0), ("b".into(), 2.0)]),
        ]);
        let m = evaluate(&run, &qrels);
        assert_eq!(m.queries, 2);
        assert!((m.mrr - (1.0 + 0.5) / 2.0).abs() < 1e-9);
        assert!((m.recall_at_5 - (1.0 + 0.5) / 2.0).abs() < 1e-9);
        // q2: DCG = 1/log2(3); IDCG = 1 + 1/log2(3).
        let q2 = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((m.ndcg_at_10 - (1.0 + q2) / 2.0).abs() < 1e-9);
        assert!((m.map - (1.0 + 0.25) / 2.0).abs() < 1e-9);
    }
}
