//! `quarry export --format rag`: prompts of numbered passages (the record's, distractors
//! retrieved with the question), answers citing them as [n], and unanswerable examples whose
//! passages the verifier confirms do not hold the answer. Every row loads with `datasets`.

use std::collections::HashSet;

use crate::golden::{generate, indexed};
use crate::stub::Stub;
use crate::tasks::load_dataset;
use crate::util::*;

#[test]
fn rag_exports_cite_passages_of_their_prompt_and_say_when_they_cannot_answer() {
    let tmp_dir = indexed();
    let t = tmp_dir.path();
    let stub = Stub::start();
    ok(&generate(t, &["qa", "--index", "index", "--n", "8", "--seed", "7", "--out", "runs/qa"], &stub)
        .output()
        .unwrap());
    let records = lines(&t.join("runs/qa/records.jsonl"));
    for style in ["openai", "sharegpt", "trl"] {
        let out = t.join(format!("rag-{style}"));
        let o = quarry()
            .current_dir(t)
            .args([
                "export",
                "runs/qa",
                "--format",
                "rag",
                "--style",
                style,
                "--distractors",
                "2",
                "--unanswerable",
                "0.5",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        ok(&o);
        let rows = lines(&out.join("data/train.jsonl"));
        assert_eq!(load_dataset(t, &out.join("data/train.jsonl")), rows.len(), "{style}");
        let (mut answerable, mut unanswerable) = (0, 0);
        for row in &rows {
            let (prompt, answer) = match style {
                "openai" => (row["messages"][1]["content"].clone(), row["messages"][2]["content"].clone()),
                "sharegpt" => (row["conversations"][1]["value"].clone(), row["conversations"][2]["value"].clone()),
                _ => (row["prompt"][1]["content"].clone(), row["completion"][0]["content"].clone()),
            };
            let (prompt, answer) = (prompt.as_str().unwrap(), answer.as_str().unwrap());
            let m = &row["metadata"];
            let record = records.iter().find(|r| r["id"] == m["record_id"]).expect("the row's record");
            let shown: Vec<u64> = m["passages"].as_array().unwrap().iter().map(|p| p["n"].as_u64().unwrap()).collect();
            for n in &shown {
                assert!(prompt.contains(&format!("\n[{n}] ")), "passage {n} is not in the prompt: {prompt}");
            }
            assert!(prompt.ends_with(&format!("Question: {}", record["question"].as_str().unwrap())));
            let cited_chunks: HashSet<&str> =
                record["citations"].as_array().unwrap().iter().map(|c| c["chunk_id"].as_str().unwrap()).collect();
            let chunks: HashSet<&str> =
                m["passages"].as_array().unwrap().iter().map(|p| p["chunk_id"].as_str().unwrap()).collect();
            if m["unanswerable"] == true {
                unanswerable += 1;
                assert_eq!(answer, "The passages do not contain the answer to this question.");
                assert!(chunks.is_disjoint(&cited_chunks), "an unanswerable prompt holds a cited passage");
                assert!(m["citations"].as_array().unwrap().is_empty());
            } else {
                answerable += 1;
                assert!(cited_chunks.is_subset(&chunks), "a cited passage is missing from the prompt");
                assert!(m["passages"].as_array().unwrap().iter().any(|p| p["distractor"] == true), "no distractor");
                // Every [n] of the answer is a passage of the prompt, and the one its citation names.
                let marks = marks(answer);
                assert!(!marks.is_empty(), "no [n] in {answer}");
                for n in &marks {
                    assert!(shown.contains(n), "[{n}] in {answer} is no passage of the prompt");
                }
                for c in m["citations"].as_array().unwrap() {
                    let n = c["n"].as_u64().unwrap();
                    assert!(marks.contains(&n), "citation of passage {n} not marked in {answer}");
                    let p = m["passages"].as_array().unwrap().iter().find(|p| p["n"] == n).unwrap();
                    assert_eq!(p["chunk_id"], c["chunk_id"]);
                    let text = prompt.split(&format!("\n[{n}] ")).nth(1).unwrap();
                    assert!(text.contains(c["quote"].as_str().unwrap()), "the quote is not in passage {n}");
                }
            }
        }
        assert_eq!(answerable, records.len(), "{style}");
        assert!(unanswerable >= 1, "{style}: no unanswerable example");
    }
}

/// The numbers of the `[n]` marks in `s`.
fn marks(s: &str) -> Vec<u64> {
    s.split('[').skip(1).filter_map(|p| p.split_once(']').and_then(|(n, _)| n.parse().ok())).collect()
}
