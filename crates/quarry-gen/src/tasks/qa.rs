//! The grounded Q&A task.

use std::sync::Arc;
use std::time::Instant;

use quarry_core::{Record, Scores, StageTimings, Task};
use quarry_index::Index;
use quarry_llm::{ChatModel, Purpose};
use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::record::{Attempt, SlotEnd, acceptable, new_record, sampling_record};
use crate::engine::schema::{
    answer_candidates, answer_schema, clean_answer, extractive_schema, prose, question_schema, raw_citations,
};
use crate::engine::slots::{SlotTask, Slots, run_id};
use crate::engine::{Engine, SamplingOverride, data, heading_of};
use crate::seeds::{ChunkInfo, Plan, mix};
use crate::topic_tree::TopicTree;
use crate::{GenError, Prompts, filters};

/// The kinds of question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    Factual,
    Explanatory,
    Numerical,
    Comparative,
    MultiHop,
}

impl QuestionType {
    pub const ALL: [QuestionType; 5] = [
        QuestionType::Factual,
        QuestionType::Explanatory,
        QuestionType::Numerical,
        QuestionType::Comparative,
        QuestionType::MultiHop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QuestionType::Factual => "factual",
            QuestionType::Explanatory => "explanatory",
            QuestionType::Numerical => "numerical",
            QuestionType::Comparative => "comparative",
            QuestionType::MultiHop => "multi_hop",
        }
    }

    fn instruction(self) -> &'static str {
        match self {
            QuestionType::Factual => "factual (who, what, when or where)",
            QuestionType::Explanatory => "explanatory (why or how)",
            QuestionType::Numerical => "numerical (about a number, quantity, measure or date given in the passage)",
            QuestionType::Comparative => "comparative (comparing two things the passage describes)",
            QuestionType::MultiHop => "multi-part",
        }
    }

    /// Parses a mix such as `factual=4,explanatory=2,multi_hop=1`.
    pub fn parse_mix(s: &str) -> Result<Vec<(QuestionType, u32)>, GenError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, w) = part.split_once('=').unwrap_or((part, "1"));
            let t = QuestionType::ALL
                .into_iter()
                .find(|t| t.as_str() == name.trim() || (name.trim() == "multihop" && *t == QuestionType::MultiHop))
                .ok_or_else(|| {
                    GenError::Config(format!(
                        "unknown question type '{name}' in --mix (known: factual, explanatory, numerical, comparative, multi_hop)"
                    ))
                })?;
            let w: u32 = w.trim().parse().map_err(|_| GenError::Config(format!("bad weight in --mix: '{part}'")))?;
            out.push((t, w));
        }
        if out.iter().all(|(_, w)| *w == 0) {
            return Err(GenError::Config("--mix gives every question type weight 0".into()));
        }
        Ok(out)
    }
}

/// Settings of a Q&A run.
#[derive(Clone, Debug)]
pub struct QaConfig {
    /// Accepted records wanted.
    pub n: usize,
    pub seed: u64,
    pub mix: Vec<(QuestionType, u32)>,
    /// Passages retrieved with each question and shown to the answering model.
    pub k: usize,
    /// Slots tried at most, as a multiple of n.
    pub budget: f32,
    /// Slots worked on at once.
    pub concurrency: usize,
    pub question_sampling: SamplingOverride,
    pub answer_sampling: SamplingOverride,
    /// Accept partially supported answers too.
    pub accept_partial: bool,
    /// Ask the model, once the verifier accepts an answer, whether the cited text supports
    /// it; a "no" rejects the record (`judge_rejected`).
    pub judge: bool,
    /// Seed from the grounded nodes of a topic tree instead of the whole corpus.
    pub topics: Option<TopicTree>,
    /// Answer with the passage sentence that answers the question, copied whole: the model
    /// only picks the sentence (its citation); the verifier still checks that it answers.
    pub extractive: bool,
    /// With `extractive`: how many passage sentences the model chooses from, those sharing the
    /// most words with the question (0: every sentence of every passage).
    pub extractive_choices: usize,
    /// Sentence-first planning: pick a fact sentence of the seed chunk and ask the model for
    /// the question it answers, so the answer is known before the question exists (with
    /// `extractive`, the answer is that sentence and the answering call is skipped).
    pub sentence_first: bool,
}

impl Default for QaConfig {
    fn default() -> Self {
        QaConfig {
            n: 20,
            seed: 0,
            mix: vec![
                (QuestionType::Factual, 4),
                (QuestionType::Explanatory, 2),
                (QuestionType::Numerical, 1),
                (QuestionType::Comparative, 1),
                (QuestionType::MultiHop, 2),
            ],
            k: 4,
            budget: 6.0,
            concurrency: 4,
            question_sampling: SamplingOverride::default(),
            answer_sampling: SamplingOverride::default(),
            accept_partial: false,
            judge: false,
            topics: None,
            extractive: false,
            extractive_choices: 6,
            sentence_first: false,
        }
    }
}

/// Generates grounded Q&A from an index.
pub struct QaGenerator {
    slots: Slots,
    plan: Plan,
    cfg: QaConfig,
}

impl QaGenerator {
    /// Plans a run over the chunks of `index`'s store (or the nodes of `cfg.topics`).
    pub fn new(
        index: Arc<Index>,
        model: Arc<dyn ChatModel>,
        prompts: Prompts,
        cfg: QaConfig,
    ) -> Result<Self, GenError> {
        if cfg.n == 0 {
            return Err(GenError::Config("--n must be at least 1".into()));
        }
        let plan = crate::engine::plan(&index, cfg.n, cfg.seed, cfg.topics.as_ref())?;
        let engine = Engine::new(index, model, prompts).with_languages(&plan);
        let slots = Slots::budgeted(engine, run_id(&format!("qa/{}", cfg.seed)), cfg.n, cfg.budget, cfg.concurrency);
        Ok(QaGenerator { slots, plan, cfg })
    }

    pub fn run_id(&self) -> &str {
        &self.slots.run_id
    }

    /// Chunks that can seed questions, and those left out by reason.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    fn pick_type(&self, slot: u64, seed_text: &str) -> QuestionType {
        let total: u64 = self.cfg.mix.iter().map(|(_, w)| *w as u64).sum();
        let mut r = mix(self.cfg.seed, &[slot, 2]) % total.max(1);
        let mut t = QuestionType::Factual;
        for (qt, w) in &self.cfg.mix {
            if r < *w as u64 {
                t = *qt;
                break;
            }
            r -= *w as u64;
        }
        if t == QuestionType::Numerical && !seed_text.chars().any(|c| c.is_ascii_digit()) {
            return QuestionType::Factual;
        }
        t
    }

    /// A chunk related to `seed` for a multi-hop question: the best retrieval hit for its
    /// text that is not the seed or its neighbour.
    fn partner(&self, seed: &ChunkInfo, seed_text: &str) -> Result<Option<quarry_index::Hit>, GenError> {
        let probe: String = seed_text.chars().take(600).collect();
        let ordinal = |id: &str| id.rsplit('-').next().and_then(|n| n.parse::<i64>().ok()).unwrap_or(-99);
        let hits = self.slots.engine.search(&probe, 8)?;
        Ok(hits.into_iter().find(|h| {
            let id = h.chunk_id.to_string();
            id != seed.chunk_id
                && !(h.doc_id.to_string() == seed.doc_id && (ordinal(&id) - ordinal(&seed.chunk_id)).abs() <= 1)
                && h.text.len() > 200
        }))
    }
}

impl SlotTask for QaGenerator {
    const TASK: Task = Task::Qa;

    fn slots(&self) -> &Slots {
        &self.slots
    }

    /// The configuration recorded in run.json; a run directory refuses another one.
    /// (`n` is not part of it: asking for more records extends a run.)
    fn config(&self) -> Value {
        let (c, p) = (&self.cfg, &self.slots.engine.prompts);
        let own = json!({
            "seed": c.seed,
            "mix": c.mix.iter().map(|(t, w)| format!("{}={w}", t.as_str())).collect::<Vec<_>>().join(","),
            "k": c.k, "accept_partial": c.accept_partial, "judge": c.judge, "extractive": c.extractive,
            "topics": c.topics.as_ref().map_or(String::new(), |t| t.fingerprint()),
        });
        let sampling = json!({
            "question_sampling": c.question_sampling.apply(Purpose::Questions),
            "answer_sampling": c.answer_sampling.apply(Purpose::Factual),
        });
        let mut cfg = self.slots.engine.config(
            Self::TASK,
            own,
            sampling,
            &[&p.question, &p.question_multihop, &p.answer, &p.judge],
        );
        // Only extractive runs record how many sentences the model chose from, so the config of
        // an existing non-extractive run directory stays the same.
        if c.extractive {
            cfg["extractive_choices"] = json!(c.extractive_choices);
        }
        // Likewise only sentence-first runs record their planner and its prompt.
        if c.sentence_first {
            cfg["plan"] = json!("sentence");
            cfg["prompts"]["question-sentence"] = json!(p.question_sentence.hash());
        }
        cfg
    }

    fn extra_json(&self) -> Value {
        self.plan.json()
    }

    /// Works one slot: a question from its seed chunk, retrieval with the question, a cited
    /// answer, verification (and the judge's vote when asked).
    async fn work(&self, slot: u64, a: &mut Attempt) -> Result<Record, SlotEnd> {
        let e = &self.slots.engine;
        let seed = self.plan.seed_chunk(slot).expect("the plan has eligible chunks").clone();
        a.reject.seed_chunks = vec![seed.chunk_id.clone()];
        // The plan keeps no text: the seed's comes from the index.
        let seed_text = e.hit(&seed.chunk_id)?.text;
        let mut qtype = self.pick_type(slot, &seed_text);
        // Sentence-first: the fact sentence the question is to be about (and, extractive, its
        // answer); a chunk without one is planned chunk-first.
        let target = if self.cfg.sentence_first && qtype != QuestionType::MultiHop {
            crate::seeds::fact_sentence(&seed_text, mix(self.cfg.seed, &[slot, 6]))
        } else {
            None
        };

        // 1. The question.
        let started = Instant::now();
        let mut seed_chunks = vec![seed.chunk_id.clone()];
        let mut seed_texts = vec![seed_text.clone()];
        let heading = heading_of(&seed.title, &seed.heading_path);
        let lang = seed.language.clone();
        let lang_name = crate::engine::language_name(&lang);
        // A multi-hop question needs a partner chunk; without one it becomes factual.
        let partner = if qtype == QuestionType::MultiHop && target.is_none() {
            let (p, _) = a.totals.other(|| self.partner(&seed, &seed_text));
            let p = p?;
            if p.is_none() {
                qtype = QuestionType::Factual;
            }
            p
        } else {
            None
        };
        let (template, system, user) = match (&partner, &target) {
            (_, Some(sentence)) => {
                qtype = QuestionType::Factual;
                let (s, u) = e.prompts.question_sentence.render(&[
                    ("title", &seed.title),
                    ("heading", &heading),
                    ("passage", &data(&seed_text)),
                    ("sentence", &data(sentence)),
                    ("language", lang_name),
                ]);
                (&e.prompts.question_sentence, s, u)
            }
            (Some(p), None) => {
                seed_chunks.push(p.chunk_id.to_string());
                seed_texts.push(p.text.clone());
                let hb = heading_of(&p.title, &p.heading_path);
                let (s, u) = e.prompts.question_multihop.render(&[
                    ("title", &seed.title),
                    ("heading", &heading),
                    ("passage", &data(&seed_text)),
                    ("title_b", &p.title),
                    ("heading_b", &hb),
                    ("passage_b", &data(&p.text)),
                    ("language", lang_name),
                ]);
                (&e.prompts.question_multihop, s, u)
            }
            (None, None) => {
                let (s, u) = e.prompts.question.render(&[
                    ("title", &seed.title),
                    ("heading", &heading),
                    ("passage", &data(&seed_text)),
                    ("type_instruction", qtype.instruction()),
                    ("language", lang_name),
                ]);
                (&e.prompts.question, s, u)
            }
        };
        a.reject.question_type = qtype.as_str().into();
        a.reject.seed_chunks = seed_chunks.clone();
        let qreq = e
            .request(system, user, Purpose::Questions, &self.cfg.question_sampling, mix(self.cfg.seed, &[slot, 3]))
            .with_schema(question_schema());
        let qresp = e.call(&qreq, a).await?;
        let question = qresp.json.as_ref().and_then(|v| v["question"].as_str()).unwrap_or_default().trim().to_owned();
        a.reject.question = question.clone();
        let question_ms = started.elapsed().as_secs_f64() * 1e3;
        let texts: Vec<&str> = seed_texts.iter().map(String::as_str).collect();
        if let Err((reason, detail)) = filters::check_question(&question, &texts, &lang) {
            return Err(a.fail("question", reason, detail));
        }

        // 2. Retrieval with the question.
        let (hits, retrieval_ms) = a.totals.other(|| e.search(&question, self.cfg.k));
        let mut hits = hits?;
        if hits.is_empty() {
            return Err(a.fail("answer", "no_passages", "retrieval returned nothing".into()));
        }
        // Sentence-first, the seed chunk (which holds the answer) is among the passages shown:
        // in place of the last hit when retrieval missed it.
        if target.is_some() && !hits.iter().any(|h| h.chunk_id.to_string() == seed.chunk_id) {
            let last = hits.len() - 1;
            hits[last] = e.hit(&seed.chunk_id)?;
        }
        let round_trip_rank =
            hits.iter().position(|h| h.chunk_id.to_string() == seed.chunk_id).map_or(-1, |i| i as i64 + 1);

        // 3. The answer, from the numbered passages.
        let t0 = Instant::now();
        let (system, user) = e.prompts.answer.render(&[
            ("passages", &Engine::passages_block(&hits)),
            ("question", &question),
            ("language", lang_name),
        ]);
        let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
        let schema = if self.cfg.extractive {
            extractive_schema(&answer_candidates(&question, &texts, self.cfg.extractive_choices))
        } else {
            answer_schema(&texts)
        };
        let areq = e
            .request(system, user, Purpose::Factual, &self.cfg.answer_sampling, mix(self.cfg.seed, &[slot, 4]))
            .with_schema(schema);
        // Sentence-first and extractive: the answer is the target sentence, cited where it
        // stands; no model call.
        let (reply, v) = match &target {
            Some(sentence) if self.cfg.extractive => {
                let at = hits.iter().position(|h| h.chunk_id.to_string() == seed.chunk_id).unwrap_or(0);
                let v = json!({"citations": [{"passage": at + 1, "quote": sentence}]});
                (v.to_string(), v)
            }
            _ => {
                let r = e.call(&areq, a).await?;
                (r.text, r.json.unwrap_or(Value::Null))
            }
        };
        let answer_ms = t0.elapsed().as_secs_f64() * 1e3;
        let raw = raw_citations(&v["citations"]);
        let answer = if self.cfg.extractive {
            raw.first().map(|c| prose(c.quote.trim())).unwrap_or_default()
        } else {
            clean_answer(v["answer"].as_str().unwrap_or_default())
        };
        a.reject.answer = answer.clone();
        if let Err((reason, detail)) =
            filters::check_answer(&answer).and_then(|()| filters::check_language(&answer, &lang))
        {
            a.reject.raw = reply.clone();
            return Err(a.fail("answer", reason, detail));
        }

        // 4. Verification, down to the span.
        let (ver, verify_ms) = a.totals.other(|| e.verify(&lang, &question, &answer, &raw, &hits));
        if !acceptable(&ver, self.cfg.accept_partial) {
            a.reject.raw = reply.clone();
            return Err(a.unverified(&ver, ""));
        }
        let mut reasons = ver.reasons;
        if self.cfg.judge {
            let evidence: Vec<&str> = ver.citations.iter().map(|c| c.quote.as_str()).collect();
            let (system, user) = e.prompts.judge.render(&[
                ("evidence", &data(&evidence.join("\n"))),
                ("question", &question),
                ("answer", &answer),
                ("language", lang_name),
            ]);
            let jreq = e
                .request(system, user, Purpose::Judge, &SamplingOverride::default(), mix(self.cfg.seed, &[slot, 5]))
                .with_schema(json!({
                    "type": "object",
                    "properties": {"supported": {"type": "boolean"}},
                    "required": ["supported"],
                    "additionalProperties": false
                }));
            let jresp = e.call(&jreq, a).await?;
            if jresp.json.as_ref().and_then(|v| v["supported"].as_bool()) != Some(true) {
                a.reject.verdict = Some(ver.verdict);
                a.reject.support = ver.support;
                let detail = "the LLM judge voted that the cited text does not support the answer".into();
                return Err(a.fail("verify", "judge_rejected", detail));
            }
            reasons.push("LLM judge: supported".into());
        }
        Ok(Record {
            question,
            question_type: qtype.as_str().into(),
            answer,
            citations: ver.citations,
            verdict: ver.verdict,
            reasons,
            scores: Scores {
                support: ver.support,
                quote_match: ver.quote_match,
                sentences: ver.sentences,
                round_trip_rank,
                round_trip_hit: round_trip_rank > 0,
                user_content_share: -1.0,
            },
            seed_chunks,
            passages: hits.iter().map(|h| h.chunk_id.to_string()).collect(),
            model: e.model.model(),
            backend: e.model.backend(),
            question_sampling: sampling_record(&qreq),
            answer_sampling: sampling_record(&areq),
            question_prompt_hash: template.hash(),
            answer_prompt_hash: e.prompts.answer.hash(),
            usage: a.totals.usage,
            timings: StageTimings { question_ms, retrieval_ms, answer_ms, verify_ms },
            topic_path: seed.topic_path.clone(),
            ..new_record(Task::Qa, &self.slots.run_id, slot)
        })
    }
}
