//! The judged-records benchmark; prints one JSON object.
//!
//!   cargo bench -p quarry-gen --bench judged            (QUARRY_JUDGED=DIR: another set)
//!
//! Every item of `tests/judged/items.jsonl` (records quarry produced, with the passages they
//! were shown) is decided again by the current checks — [`quarry_gen::engine::decide`], the
//! same question checks, answer checks and verification the tasks apply — and compared with
//! its judgment in `judgments.jsonl` (read by a person, never taken from quarry). Per part
//! (`tuning`, `held_out`) and per source it prints:
//! - `precision`: the share of accepted items judged good;
//! - `recall`: the share of good items accepted;
//! - `categories`: per judged category (`good` or the kind of bad), how many were accepted and
//!   rejected;
//! - `rejects`: per reason code, how many good and bad items it turned down;
//! - `at_generation`: the same two figures for what quarry decided when it made the records.
//!
//! Verification uses the default embedding model, as the tasks do (`--lexical`: without it).
//!
//! `--sweep` prints precision and recall of the tuning part at other support thresholds and
//! rival ranks.
//!
//! `--list accepted_bad` (or `rejected_good`) prints those items of the tuning part instead,
//! one line each with the judge's reason and quarry's: what to read when tuning a rule. The
//! held-out part is listed only with `--held-out`, after tuning is done.

use std::collections::BTreeMap;
use std::path::PathBuf;

use quarry_audit::{PassageView, RawCitation, VerifyConfig};
use quarry_gen::engine::{Candidate, decide};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Item {
    id: String,
    part: String,
    source: String,
    task: String,
    question: String,
    answer: String,
    citations: Vec<RawCitation>,
    passages: Vec<PassageView>,
    seed_texts: Vec<String>,
    generated: Value,
}

impl Item {
    fn candidate<'a>(&'a self, seeds: &'a [&'a str]) -> Candidate<'a> {
        Candidate {
            question: &self.question,
            seed_texts: seeds,
            answer: &self.answer,
            paragraph: self.task == "pretrain",
            raw: &self.citations,
            passages: &self.passages,
            // Every judged item is English (its corpora are).
            language: "en",
        }
    }
}

#[derive(Deserialize)]
struct Judgment {
    id: String,
    label: String,
    category: String,
    reason: String,
}

#[derive(Default)]
struct Tally {
    items: usize,
    good: usize,
    accepted: usize,
    accepted_good: usize,
    gen_accepted: usize,
    gen_accepted_good: usize,
    categories: BTreeMap<String, [usize; 2]>,
    rejects: BTreeMap<String, [usize; 2]>,
}

fn ratio(a: usize, b: usize) -> Value {
    if b == 0 { Value::Null } else { json!(((a as f64 / b as f64) * 1000.0).round() / 1000.0) }
}

impl Tally {
    fn add(&mut self, good: bool, category: &str, accepted: bool, reason: &str, gen_accepted: bool) {
        self.items += 1;
        self.good += good as usize;
        self.accepted += accepted as usize;
        self.accepted_good += (accepted && good) as usize;
        self.gen_accepted += gen_accepted as usize;
        self.gen_accepted_good += (gen_accepted && good) as usize;
        let c = self.categories.entry(if good { "good".into() } else { category.to_owned() }).or_default();
        c[if accepted { 0 } else { 1 }] += 1;
        if !accepted {
            self.rejects.entry(reason.to_owned()).or_default()[if good { 0 } else { 1 }] += 1;
        }
    }

    fn json(&self) -> Value {
        let cats: BTreeMap<&String, Value> =
            self.categories.iter().map(|(k, [a, r])| (k, json!({"accepted": a, "rejected": r}))).collect();
        let rej: BTreeMap<&String, Value> =
            self.rejects.iter().map(|(k, [g, b])| (k, json!({"good": g, "bad": b}))).collect();
        json!({
            "items": self.items,
            "judged_good": self.good,
            "accepted": self.accepted,
            "precision": ratio(self.accepted_good, self.accepted),
            "recall": ratio(self.accepted_good, self.good),
            "categories": cats,
            "rejects": rej,
            "at_generation": {
                "accepted": self.gen_accepted,
                "precision": ratio(self.gen_accepted_good, self.gen_accepted),
                "recall": ratio(self.gen_accepted_good, self.good),
            },
        })
    }
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &PathBuf) -> Vec<T> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1)))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let list = args.iter().position(|a| a == "--list").and_then(|i| args.get(i + 1)).cloned();
    let held_out = args.iter().any(|a| a == "--held-out");
    let dir = std::env::var_os("QUARRY_JUDGED").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()))
            .join("../../tests/judged")
    });
    let items: Vec<Item> = read_lines(&dir.join("items.jsonl"));
    let judgments: BTreeMap<String, Judgment> =
        read_lines::<Judgment>(&dir.join("judgments.jsonl")).into_iter().map(|j| (j.id.clone(), j)).collect();
    if args.iter().any(|a| a == "--semantic-rank") {
        semantic_rank(&items, &judgments);
        return;
    }
    // The embedding model the pipeline verifies with (the default MiniLM), unless --lexical.
    let embedder = (!args.iter().any(|a| a == "--lexical")).then(|| {
        let spec = quarry_index::ModelSpec::parse("default", quarry_index::Precision::Int8);
        quarry_index::Embedder::load(&spec, None).expect("the default embedding model (scripts/setup.sh fetches it)")
    });
    let embed_fn = |texts: &[&str]| embedder.as_ref().map(|e| e.embed(texts).unwrap_or_default()).unwrap_or_default();
    let embed: Option<quarry_audit::Embed<'_>> = embedder.as_ref().map(|_| &embed_fn as quarry_audit::Embed<'_>);
    if args.iter().any(|a| a == "--sweep") {
        let default = VerifyConfig::default();
        let thresholds = [0.4f32, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8].map(|t| (t, default.rival_rank));
        let ranks = [0usize, 1, 2, 3, 4].map(|r| (default.support.threshold, r));
        let below = [0.6f32, 0.7, 0.8, 0.9, 1.01];
        let runs = thresholds.into_iter().chain(ranks).map(|(t, r)| (t, r, default.rival_support));
        let runs = runs.chain(below.map(|b| (default.support.threshold, default.rival_rank, b)));
        for (t, rank, below) in runs {
            let mut cfg = VerifyConfig::default();
            cfg.support.threshold = t;
            cfg.rival_rank = rank;
            cfg.rival_support = below;
            let mut tally = Tally::default();
            for it in items.iter().filter(|it| it.part == "tuning") {
                let Some(j) = judgments.get(&it.id) else { continue };
                let seeds: Vec<&str> = it.seed_texts.iter().map(String::as_str).collect();
                let ok = decide(&it.candidate(&seeds), embed, &cfg).is_ok();
                tally.add(j.label == "good", &j.category, ok, "", false);
            }
            let v = tally.json();
            println!(
                "threshold {t:.2}, rival rank {rank} below support {below:.2}: accepted {} precision {} recall {}",
                v["accepted"], v["precision"], v["recall"]
            );
        }
        return;
    }
    let cfg = VerifyConfig::default();
    let mut parts: BTreeMap<String, Tally> = BTreeMap::new();
    let mut sources: BTreeMap<String, Tally> = BTreeMap::new();
    let mut unjudged = 0;
    for it in &items {
        let Some(j) = judgments.get(&it.id) else {
            unjudged += 1;
            continue;
        };
        let seeds: Vec<&str> = it.seed_texts.iter().map(String::as_str).collect();
        let decision = decide(&it.candidate(&seeds), embed, &cfg);
        let accepted = decision.is_ok();
        let reason = match &decision {
            Ok(_) => String::new(),
            Err(t) => format!("{}/{}", t.stage, t.reason),
        };
        let good = j.label == "good";
        let gen_accepted = it.generated["accepted"].as_bool().unwrap_or(false);
        if let Some(which) = &list {
            let show = match which.as_str() {
                "accepted_bad" => accepted && !good,
                "rejected_good" => !accepted && good,
                _ => panic!("--list takes accepted_bad or rejected_good"),
            };
            if show && (it.part == "tuning" || held_out) {
                let why = match &decision {
                    Ok(v) => format!("support {:.2}", v.support),
                    Err(t) => format!("{reason}: {}", t.detail),
                };
                println!(
                    "{}\n  Q: {}\n  A: {}\n  judge: {} {}\n  quarry: {why}\n",
                    it.id, it.question, it.answer, j.category, j.reason
                );
            }
            continue;
        }
        parts.entry(it.part.clone()).or_default().add(good, &j.category, accepted, &reason, gen_accepted);
        let source = format!("{}/{}", it.part, it.source);
        sources.entry(source).or_default().add(good, &j.category, accepted, &reason, gen_accepted);
    }
    if list.is_some() {
        return;
    }
    let out = json!({
        "items": items.len(),
        "unjudged": unjudged,
        "parts": parts.iter().map(|(k, t)| (k.clone(), t.json())).collect::<BTreeMap<_, _>>(),
        "sources": sources.iter().map(|(k, t)| (k.clone(), json!({
            "items": t.items, "judged_good": t.good, "accepted": t.accepted,
            "precision": ratio(t.accepted_good, t.accepted), "recall": ratio(t.accepted_good, t.good),
        }))).collect::<BTreeMap<_, _>>(),
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
}

/// Analysis: where the cited sentence ranks, by embedding similarity to the question, among
/// the sentences of its passage — for good items and for each kind of bad one (tuning part).
fn semantic_rank(items: &[Item], judgments: &BTreeMap<String, Judgment>) {
    let spec = quarry_index::ModelSpec::parse("default", quarry_index::Precision::Int8);
    let embedder = quarry_index::Embedder::load(&spec, None).expect("the default embedding model");
    let mut ranks: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for it in items.iter().filter(|it| it.part == "tuning") {
        let (Some(j), Some(c)) = (judgments.get(&it.id), it.citations.first()) else { continue };
        let Some(p) = it.passages.get(c.passage as usize - 1) else { continue };
        let sents: Vec<&str> = quarry_audit::split_sentences(&p.text).into_iter().map(|r| &p.text[r]).collect();
        let Some(cited) = sents.iter().position(|s| s.contains(c.quote.trim()) || c.quote.contains(s.trim())) else {
            continue;
        };
        let mut texts = vec![it.question.as_str()];
        texts.extend(&sents);
        let v = embedder.embed(&texts).expect("embed");
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let sims: Vec<f32> = v[1..].iter().map(|s| cos(&v[0], s)).collect();
        let rank = sims.iter().filter(|&&x| x > sims[cited]).count() + 1;
        let key = if j.label == "good" { "good".to_owned() } else { j.category.clone() };
        ranks.entry(format!("{key} ({})", it.source)).or_default().push(rank);
    }
    for (k, r) in ranks {
        let first = r.iter().filter(|&&x| x == 1).count();
        let top2 = r.iter().filter(|&&x| x <= 2).count();
        println!("{k}: {} items, rank 1: {first}, rank ≤ 2: {top2}", r.len());
    }
}
