//! Dedup benchmark; prints one JSON object.
//!
//!   cargo bench -p quarry-gen --bench dedup
//!
//! A planted set from SQuAD dev questions (QUARRY_SQUAD, default ../shared/data/squad/
//! dev-v1.1.json): for each paragraph, its questions in order, then an exact copy of the
//! first (case and punctuation changed) and a reworded copy (one word dropped, two
//! neighbouring words swapped). Copies must be caught; the paragraph's other, distinct
//! questions must not be merged. Lexical stages only (exact + MinHash/LSH near-duplicates).
//! Throughput: check + add per record at 100k records.

use std::time::Instant;

use quarry_gen::dedup::{DedupConfig, Deduper};
use serde_json::{Value, json};

fn rng(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn reword(q: &str, s: &mut u64) -> String {
    let mut w: Vec<&str> = q.trim_end_matches('?').split_whitespace().collect();
    if w.len() > 6 {
        let drop = 1 + (rng(s) as usize) % (w.len() - 2);
        w.remove(drop);
        let i = 1 + (rng(s) as usize) % (w.len() - 2);
        w.swap(i, i + 1);
    }
    format!("{}?", w.join(" "))
}

fn main() {
    let path = std::env::var("QUARRY_SQUAD")
        .unwrap_or_else(|_| format!("{}/../../../shared/data/squad/dev-v1.1.json", env!("CARGO_MANIFEST_DIR")));
    let Ok(bytes) = std::fs::read(&path) else {
        println!("{}", json!({"skipped": format!("{path} not found (set QUARRY_SQUAD)")}));
        return;
    };
    let squad: Value = serde_json::from_slice(&bytes).unwrap();
    let mut s = 7u64;
    // (id, text, duplicate of)
    let mut items: Vec<(String, String, Option<String>)> = Vec::new();
    for (a, article) in squad["data"].as_array().unwrap().iter().enumerate() {
        for (p, para) in article["paragraphs"].as_array().unwrap().iter().enumerate() {
            let qs: Vec<&str> = para["qas"].as_array().unwrap().iter().filter_map(|q| q["question"].as_str()).collect();
            if qs.len() < 2 {
                continue;
            }
            for (i, q) in qs.iter().enumerate() {
                items.push((format!("{a}-{p}-{i}"), (*q).to_owned(), None));
            }
            let base = format!("{a}-{p}-0");
            items.push((format!("{a}-{p}-copy"), qs[0].to_uppercase().replace('?', " ?"), Some(base.clone())));
            items.push((format!("{a}-{p}-reworded"), reword(qs[0], &mut s), Some(base)));
        }
    }
    let mut d = Deduper::new(DedupConfig::default());
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut false_merges = Vec::new();
    let t = Instant::now();
    for (id, text, dup_of) in &items {
        let found = d.check(text, &[]);
        match (found.is_some(), dup_of.is_some()) {
            (true, true) => tp += 1,
            (true, false) => {
                fp += 1;
                if false_merges.len() < 5 {
                    false_merges
                        .push(json!({"id": id, "question": text, "detail": found.as_ref().map(|f| f.detail())}));
                }
            }
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
        if found.is_none() {
            d.add(id, text, Vec::new());
        }
    }
    let planted_s = t.elapsed().as_secs_f64();
    // Distinct questions SQuAD itself holds twice are counted as false merges above; report
    // them apart.
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;

    // Throughput at 100k records: distinct questions built from SQuAD's vocabulary.
    let vocab: Vec<String> = items.iter().flat_map(|(_, q, _)| q.split_whitespace().map(str::to_owned)).collect();
    let n = 100_000;
    let mut big: Deduper<String> = Deduper::new(DedupConfig::default());
    let t = Instant::now();
    let mut dups = 0;
    for i in 0..n {
        let len = 8 + (rng(&mut s) % 8) as usize;
        let q: Vec<&str> = (0..len).map(|_| vocab[(rng(&mut s) as usize) % vocab.len()].as_str()).collect();
        let q = format!("{}?", q.join(" "));
        if big.check(&q, &[]).is_some() {
            dups += 1;
        } else {
            big.add(i.to_string(), &q, Vec::new());
        }
    }
    let big_s = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "planted": {
                "records": items.len(),
                "planted_duplicates": tp + fn_,
                "caught": tp,
                "false_merges": fp,
                "precision": precision,
                "recall": recall,
                "records_per_s": items.len() as f64 / planted_s,
                "false_merge_examples": false_merges,
            },
            "throughput_100k": {"records": n, "seconds": big_s, "records_per_s": n as f64 / big_s, "flagged": dups},
        }))
        .unwrap()
    );
}
