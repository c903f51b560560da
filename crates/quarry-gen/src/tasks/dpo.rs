//! DPO preference pairs on the same prompt. The chosen side is a verified, cited answer (a
//! record of a Q&A run); the rejected side is made one of three ways:
//!
//! - `no_passages`: the same model answers the question without the passages;
//! - `weaker_model`: a second model (`--rejected-model`) answers from the same passages;
//! - `perturbation`: the chosen answer with one number, unit or named entity changed.
//!
//! The rejected side is then verified against the chosen side's evidence; a pair whose
//! rejected side the verifier still finds supported is rejected (`rejected_side_supported`),
//! so every accepted pair prefers a grounded answer over one the passages do not support.

use std::sync::Arc;
use std::time::Instant;

use quarry_core::{Preference, Record, StageTimings, Task, Verdict};
use quarry_index::{Hit, Index};
use quarry_llm::{ChatModel, Purpose};
use regex::Regex;
use serde_json::{Value, json};

use crate::engine::record::{Attempt, SlotEnd, new_record, sampling_record};
use crate::engine::schema::{answer_schema, bare_answer_schema, clean_answer};
use crate::engine::slots::{SlotTask, Slots, run_id};
use crate::engine::{Engine, SamplingOverride};
use crate::seeds::mix;
use crate::{GenError, Prompts, filters};

/// How the rejected side is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectedMethod {
    NoPassages,
    WeakerModel,
    Perturbation,
}

impl RejectedMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectedMethod::NoPassages => "no_passages",
            RejectedMethod::WeakerModel => "weaker_model",
            RejectedMethod::Perturbation => "perturbation",
        }
    }

    pub fn parse(s: &str) -> Result<RejectedMethod, GenError> {
        match s.replace('-', "_").as_str() {
            "no_passages" => Ok(RejectedMethod::NoPassages),
            "weaker_model" => Ok(RejectedMethod::WeakerModel),
            "perturbation" | "perturb" => Ok(RejectedMethod::Perturbation),
            _ => Err(GenError::Config(format!(
                "unknown --method '{s}' (known: perturbation, no_passages, weaker_model)"
            ))),
        }
    }
}

/// Settings of a DPO run.
#[derive(Clone, Debug)]
pub struct DpoConfig {
    pub n: usize,
    pub seed: u64,
    pub method: RejectedMethod,
    pub concurrency: usize,
    pub sampling: SamplingOverride,
}

impl Default for DpoConfig {
    fn default() -> Self {
        DpoConfig {
            n: 20,
            seed: 0,
            method: RejectedMethod::Perturbation,
            concurrency: 4,
            sampling: SamplingOverride::default(),
        }
    }
}

const UNITS: &[(&str, &str)] = &[
    ("kilometres", "miles"),
    ("kilometers", "miles"),
    ("miles", "kilometres"),
    ("metres", "feet"),
    ("meters", "feet"),
    ("feet", "metres"),
    ("centimetres", "inches"),
    ("inches", "centimetres"),
    ("kilograms", "pounds"),
    ("pounds", "kilograms"),
    ("grams", "ounces"),
    ("Celsius", "Fahrenheit"),
    ("Fahrenheit", "Celsius"),
    ("percent", "per thousand"),
    ("seconds", "minutes"),
    ("minutes", "hours"),
    ("hours", "days"),
    ("days", "weeks"),
    ("years", "decades"),
    ("centuries", "decades"),
    ("litres", "gallons"),
];

const NUMBER_WORDS: &[&str] = &[
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty", "hundred", "thousand",
];

/// A plausible perturbation of `answer`: one number, then a unit, then a named entity
/// (replaced by another name from `passages`) changed. Returns the new text and what was
/// changed ("1820 -> 1829"), or `None` when nothing can be changed.
pub fn perturb(answer: &str, passages: &[&str], seed: u64) -> Option<(String, String)> {
    let replace = |range: std::ops::Range<usize>, with: &str| {
        let mut s = answer.to_owned();
        s.replace_range(range.clone(), with);
        (s, format!("{} -> {with}", &answer[range]))
    };
    // 1. A number: years move by a few years, other numbers by a visible amount.
    let number = Regex::new(r"\b\d[\d,]*(\.\d+)?\b").expect("valid regex");
    let numbers: Vec<regex::Match> = number.find_iter(answer).collect();
    if !numbers.is_empty() {
        let m = numbers[(seed % numbers.len() as u64) as usize];
        let text = m.as_str().replace(',', "");
        let step = 2 + seed % 7;
        let new = if let Ok(n) = text.parse::<u64>() {
            let bumped = if (1000..=2100).contains(&n) {
                n + step
            } else if n >= 100 {
                n + n / 10 * (1 + seed % 3) + step
            } else {
                n + step
            };
            bumped.to_string()
        } else if let Ok(x) = text.parse::<f64>() {
            format!("{:.*}", text.split('.').nth(1).map_or(0, str::len), x * 1.5 + 1.0)
        } else {
            return None;
        };
        return Some(replace(m.range(), &new));
    }
    let lower = answer.to_lowercase();
    for (i, w) in NUMBER_WORDS.iter().enumerate() {
        if let Some(p) = find_word(&lower, w) {
            let other = NUMBER_WORDS[(i + 1 + (seed as usize % (NUMBER_WORDS.len() - 1))) % NUMBER_WORDS.len()];
            return Some(replace(p..p + w.len(), other));
        }
    }
    // 2. A unit.
    for (unit, other) in UNITS {
        if let Some(p) = find_word(answer, unit) {
            return Some(replace(p..p + unit.len(), other));
        }
    }
    // 3. A named entity: a capitalised word inside a sentence, swapped for another
    // capitalised word of the passages that the answer does not use.
    let cap = Regex::new(r"\b[A-Z][a-z]{2,}\b").expect("valid regex");
    let starts: Vec<usize> = quarry_audit::split_sentences(answer).into_iter().map(|r| r.start).collect();
    let entities: Vec<regex::Match> = cap
        .find_iter(answer)
        .filter(|m| !starts.contains(&m.start()) && !quarry_audit::is_stopword(&m.as_str().to_lowercase()))
        .collect();
    if entities.is_empty() {
        return None;
    }
    let m = entities[(seed % entities.len() as u64) as usize];
    let mut others: Vec<&str> = passages
        .iter()
        .flat_map(|p| {
            let starts: Vec<usize> = quarry_audit::split_sentences(p).into_iter().map(|r| r.start).collect();
            cap.find_iter(p).filter(move |x| !starts.contains(&x.start())).map(|x| x.as_str()).collect::<Vec<_>>()
        })
        .filter(|w| !answer.contains(w) && !quarry_audit::is_stopword(&w.to_lowercase()))
        .collect();
    others.sort();
    others.dedup();
    if others.is_empty() {
        return None;
    }
    let with = others[(seed % others.len() as u64) as usize];
    Some(replace(m.range(), with))
}

/// Byte offset of `w` as a whole word in `text`.
fn find_word(text: &str, w: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(w) {
        let p = from + i;
        let before = text[..p].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after = text[p + w.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if before && after {
            return Some(p);
        }
        from = p + w.len();
    }
    None
}

/// Makes preference pairs from the records of a Q&A run.
pub struct DpoGenerator {
    slots: Slots,
    rejected_model: Option<Arc<dyn ChatModel>>,
    parents: Vec<Record>,
    source: String,
    cfg: DpoConfig,
}

impl DpoGenerator {
    pub fn new(
        index: Arc<Index>,
        model: Arc<dyn ChatModel>,
        rejected_model: Option<Arc<dyn ChatModel>>,
        prompts: Prompts,
        source: &std::path::Path,
        cfg: DpoConfig,
    ) -> Result<Self, GenError> {
        if cfg.n == 0 {
            return Err(GenError::Config("--n must be at least 1".into()));
        }
        if cfg.method == RejectedMethod::WeakerModel && rejected_model.is_none() {
            return Err(GenError::Config("--method weaker_model needs --rejected-model".into()));
        }
        let parents = crate::run_dir::qa_parents(source, "pair")?;
        let run_id = run_id(&format!("dpo/{}/{}/{}", cfg.seed, cfg.method.as_str(), source.display()));
        Ok(DpoGenerator {
            slots: Slots::per_source(Engine::new(index, model, prompts), run_id, cfg.n, parents.len(), cfg.concurrency),
            rejected_model,
            parents,
            source: source.display().to_string(),
            cfg,
        })
    }
}

impl SlotTask for DpoGenerator {
    const TASK: Task = Task::Dpo;

    fn slots(&self) -> &Slots {
        &self.slots
    }

    fn config(&self) -> Value {
        let (c, p) = (&self.cfg, &self.slots.engine.prompts);
        let rejected_model =
            self.rejected_model.as_ref().map_or(String::new(), |m| format!("{}/{}", m.backend(), m.model()));
        let own =
            json!({"from": self.source, "seed": c.seed, "method": c.method.as_str(), "rejected_model": rejected_model});
        let sampling = json!({"sampling": c.sampling.apply(Purpose::Factual)});
        self.slots.engine.config(Self::TASK, own, sampling, &[&p.closed_book, &p.answer])
    }

    fn extra_json(&self) -> Value {
        json!({"parents": self.parents.len()})
    }

    /// Works one slot: the pair of parent record `slot` and a worse answer.
    async fn work(&self, slot: u64, a: &mut Attempt) -> Result<Record, SlotEnd> {
        let e = &self.slots.engine;
        let parent = &self.parents[slot as usize];
        a.reject.seed_chunks = parent.seed_chunks.clone();
        a.reject.question = parent.question.clone();
        a.reject.question_type = parent.question_type.clone();
        let hits: Vec<Hit> = parent.passages.iter().map(|id| e.hit(id)).collect::<Result<_, _>>()?;
        let lang = parent.seed_chunks.first().map(|c| e.language(c)).unwrap_or_default();
        let lang_name = crate::engine::language_name(&lang);
        let t0 = Instant::now();
        let seed = mix(self.cfg.seed, &[slot, 8]);
        let (rejected, detail, model, sampling) = match self.cfg.method {
            RejectedMethod::Perturbation => {
                let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
                match perturb(&parent.answer, &texts, seed) {
                    Some((text, detail)) => (text, detail, String::new(), Default::default()),
                    None => {
                        let d = "the answer has no number, unit or name to change".into();
                        return Err(a.fail("answer", "no_perturbation", d));
                    }
                }
            }
            RejectedMethod::NoPassages | RejectedMethod::WeakerModel => {
                let (model, req) = if self.cfg.method == RejectedMethod::NoPassages {
                    let (system, user) =
                        e.prompts.closed_book.render(&[("question", &parent.question), ("language", lang_name)]);
                    let req = e
                        .request(system, user, Purpose::Factual, &self.cfg.sampling, seed)
                        .with_schema(bare_answer_schema());
                    (&e.model, req)
                } else {
                    let (system, user) = e.prompts.answer.render(&[
                        ("passages", &Engine::passages_block(&hits)),
                        ("question", &parent.question),
                        ("language", lang_name),
                    ]);
                    let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
                    let req = e
                        .request(system, user, Purpose::Factual, &self.cfg.sampling, seed)
                        .with_schema(answer_schema(&texts));
                    (self.rejected_model.as_ref().expect("checked in new"), req)
                };
                let resp = e.call_with(model.as_ref(), &req, a).await?;
                let text = clean_answer(resp.json.as_ref().and_then(|v| v["answer"].as_str()).unwrap_or_default());
                (
                    text,
                    format!("written by {} ({})", model.model(), model.backend()),
                    model.model(),
                    sampling_record(&req),
                )
            }
        };
        let answer_ms = t0.elapsed().as_secs_f64() * 1e3;
        a.reject.answer = rejected.clone();
        a.reject.raw = format!("chosen: {}\nrejected ({}): {rejected}", parent.answer, self.cfg.method.as_str());
        if let Err((reason, detail)) = filters::check_answer(&rejected) {
            return Err(a.fail("answer", reason, format!("rejected side: {detail}")));
        }
        if filters::normalise(&rejected) == filters::normalise(&parent.answer) {
            return Err(a.fail("answer", "same_as_chosen", "the rejected side equals the chosen".into()));
        }
        // The rejected side against the chosen side's evidence: it must not be supported.
        let raw: Vec<quarry_audit::RawCitation> = parent
            .citations
            .iter()
            .map(|c| quarry_audit::RawCitation { passage: c.passage, quote: c.quote.clone() })
            .collect();
        let (ver, verify_ms) = a.totals.other(|| e.verify(&lang, &parent.question, &rejected, &raw, &hits));
        if ver.verdict == Verdict::Supported {
            a.reject.verdict = Some(ver.verdict);
            a.reject.support = ver.support;
            let d = "the verifier finds the rejected side supported by the chosen side's evidence, so it is not a worse answer";
            return Err(a.fail("verify", "rejected_side_supported", d.into()));
        }
        Ok(Record {
            question: parent.question.clone(),
            question_type: parent.question_type.clone(),
            answer: parent.answer.clone(),
            citations: parent.citations.clone(),
            verdict: parent.verdict,
            reasons: parent.reasons.clone(),
            scores: parent.scores.clone(),
            seed_chunks: parent.seed_chunks.clone(),
            passages: parent.passages.clone(),
            model: parent.model.clone(),
            backend: parent.backend.clone(),
            question_sampling: parent.question_sampling.clone(),
            answer_sampling: if self.cfg.method == RejectedMethod::Perturbation {
                parent.answer_sampling.clone()
            } else {
                sampling
            },
            question_prompt_hash: parent.question_prompt_hash.clone(),
            answer_prompt_hash: parent.answer_prompt_hash.clone(),
            usage: a.totals.usage,
            timings: StageTimings { answer_ms, verify_ms, ..StageTimings::default() },
            preference: Preference {
                rejected,
                method: self.cfg.method.as_str().into(),
                detail,
                model,
                verdict: Some(ver.verdict),
                support: ver.support,
            },
            topic_path: parent.topic_path.clone(),
            parent_id: Some(parent.id.clone()),
            ..new_record(Task::Dpo, &self.slots.run_id, slot)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perturbations_change_a_number_a_unit_or_a_name() {
        let (s, d) = perturb("Braided wicks were introduced in 1820.", &[], 0).unwrap();
        assert_eq!(s, "Braided wicks were introduced in 1822.");
        assert_eq!(d, "1820 -> 1822");
        let (s, _) = perturb("Fresh snow reflects up to ninety percent of the light.", &[], 1).unwrap();
        assert!(s.contains("per thousand"), "{s}");
        let (s, d) = perturb(
            "The experiment was shown by Faraday in London.",
            &["Davy lectured at the Royal Institution. Later Tyndall took over."],
            0,
        )
        .unwrap();
        assert_ne!(s, "The experiment was shown by Faraday in London.");
        assert!(d.starts_with("Faraday -> ") || d.starts_with("London -> "), "{d}");
        assert!(perturb("it burns because it is hot.", &[], 0).is_none());
    }

    #[test]
    fn the_verifier_finds_a_perturbed_answer_unsupported() {
        let text = "Braided wicks were introduced in 1820 and ended the need to trim candles by hand. \
            Fresh snow reflects up to 90 percent of the sunlight that falls on it.";
        let views = [quarry_audit::PassageView {
            chunk_id: "c".into(),
            doc_id: "d".into(),
            doc_title: "Candles".into(),
            heading_path: vec![],
            chunk_start: 0,
            text: text.into(),
        }];
        let cfg = quarry_audit::VerifyConfig::default();
        for (question, chosen, quote) in [
            (
                "When were braided wicks introduced?",
                "Braided wicks were introduced in 1820.",
                "Braided wicks were introduced in 1820 and ended the need to trim candles by hand.",
            ),
            (
                "How much sunlight does fresh snow reflect?",
                "Fresh snow reflects up to 90 percent of the sunlight.",
                "Fresh snow reflects up to 90 percent of the sunlight that falls on it.",
            ),
        ] {
            let raw = [quarry_audit::RawCitation { passage: 1, quote: quote.into() }];
            let ok = quarry_audit::verify(question, chosen, &raw, &views, None, &cfg);
            assert_eq!(ok.verdict, Verdict::Supported, "{chosen}: {:?}", ok.reasons);
            for seed in 0..4 {
                let (bad, detail) = perturb(chosen, &[text], seed).unwrap();
                let v = quarry_audit::verify(question, &bad, &raw, &views, None, &cfg);
                assert_ne!(v.verdict, Verdict::Supported, "{bad} ({detail}) passed");
            }
        }
    }
}
