//! Pre-training passages: textbook-style sections written from retrieved passages on a
//! topic (given with `--topic`, a topic-tree node, or the heading of a seed chunk), with
//! citations per paragraph; every paragraph is verified like an answer.

use std::sync::Arc;
use std::time::Instant;

use quarry_core::{Record, Role, Scores, StageTimings, Task, Turn};
use quarry_index::{Hit, Index};
use quarry_llm::{ChatModel, Purpose};
use serde_json::{Value, json};

use crate::engine::record::{
    Attempt, SlotEnd, acceptable, lowest_quote_match, new_record, sampling_record, union_citations, worst_verdict,
};
use crate::engine::schema::{citations_schema, clean_answer, raw_citations};
use crate::engine::slots::{SlotTask, Slots, run_id};
use crate::engine::{Engine, SamplingOverride, data, heading_of};
use crate::seeds::{Plan, mix};
use crate::topic_tree::TopicTree;
use crate::{GenError, Prompts, filters};

/// Settings of a pre-training run.
#[derive(Clone, Debug)]
pub struct PretrainConfig {
    pub n: usize,
    pub seed: u64,
    pub paragraphs: usize,
    pub k: usize,
    pub budget: f32,
    pub concurrency: usize,
    pub sampling: SamplingOverride,
    pub accept_partial: bool,
    /// Topics to write about, in turn; empty = seed chunks (or `topics_tree`).
    pub topics: Vec<String>,
    pub topics_tree: Option<TopicTree>,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            n: 20,
            seed: 0,
            paragraphs: 3,
            k: 4,
            budget: 6.0,
            concurrency: 4,
            sampling: SamplingOverride::default(),
            accept_partial: false,
            topics: Vec::new(),
            topics_tree: None,
        }
    }
}

/// A slot's topic, topic path, seed chunks and passages.
type SlotPassages = (String, Vec<String>, Vec<String>, Vec<Hit>);

/// Writes textbook passages.
pub struct PretrainGenerator {
    slots: Slots,
    plan: Option<Plan>,
    cfg: PretrainConfig,
}

impl PretrainGenerator {
    pub fn new(
        index: Arc<Index>,
        model: Arc<dyn ChatModel>,
        prompts: Prompts,
        cfg: PretrainConfig,
    ) -> Result<Self, GenError> {
        if cfg.n == 0 || cfg.paragraphs == 0 {
            return Err(GenError::Config("--n and --paragraphs must be at least 1".into()));
        }
        let plan = if cfg.topics.is_empty() {
            Some(crate::engine::plan(&index, cfg.n, cfg.seed, cfg.topics_tree.as_ref())?)
        } else {
            None
        };
        let run_id = run_id(&format!("pretrain/{}", cfg.seed));
        let engine = match &plan {
            Some(p) => Engine::new(index, model, prompts).with_languages(p),
            None => Engine::new(index, model, prompts),
        };
        let slots = Slots::budgeted(engine, run_id, cfg.n, cfg.budget, cfg.concurrency);
        Ok(PretrainGenerator { slots, plan, cfg })
    }

    /// The topic of a slot, its topic path, its seed chunks and its passages.
    fn passages(&self, slot: u64) -> Result<SlotPassages, GenError> {
        let e = &self.slots.engine;
        match &self.plan {
            None => {
                let topic = self.cfg.topics[slot as usize % self.cfg.topics.len()].clone();
                let hits = e.search(&topic, self.cfg.k)?;
                Ok((topic, Vec::new(), Vec::new(), hits))
            }
            Some(plan) => {
                let seed = plan.seed_chunk(slot).expect("the plan has eligible chunks");
                let topic = match seed.topic_path.last() {
                    Some(t) => t.clone(),
                    None => heading_of(&seed.title, &seed.heading_path),
                };
                let first = e.hit(&seed.chunk_id)?;
                let probe: String = first.text.chars().take(600).collect();
                let mut hits: Vec<Hit> =
                    e.search(&probe, self.cfg.k)?.into_iter().filter(|h| h.chunk_id != first.chunk_id).collect();
                hits.insert(0, first);
                hits.truncate(self.cfg.k.max(1));
                Ok((topic, seed.topic_path.clone(), vec![seed.chunk_id.clone()], hits))
            }
        }
    }
}

impl SlotTask for PretrainGenerator {
    const TASK: Task = Task::Pretrain;

    fn slots(&self) -> &Slots {
        &self.slots
    }

    fn config(&self) -> Value {
        let c = &self.cfg;
        let own = json!({
            "seed": c.seed, "paragraphs": c.paragraphs, "k": c.k, "accept_partial": c.accept_partial, "topics": c.topics,
            "topics_tree": c.topics_tree.as_ref().map_or(String::new(), |t| t.fingerprint()),
        });
        let sampling = json!({"sampling": c.sampling.apply(Purpose::Prose)});
        self.slots.engine.config(Self::TASK, own, sampling, &[&self.slots.engine.prompts.pretrain])
    }

    fn extra_json(&self) -> Value {
        self.plan.as_ref().map_or(json!({}), Plan::json)
    }

    /// Works one slot: a passage of paragraphs on the slot's topic, each verified.
    async fn work(&self, slot: u64, a: &mut Attempt) -> Result<Record, SlotEnd> {
        let e = &self.slots.engine;
        let (found, retrieval_ms) = a.totals.other(|| self.passages(slot));
        let (topic, topic_path, seed_chunks, hits) = found?;
        a.reject.seed_chunks = seed_chunks.clone();
        a.reject.question = topic.clone();
        a.reject.question_type = "textbook".into();
        if hits.is_empty() {
            return Err(a.fail("answer", "no_passages", format!("retrieval found nothing on \"{topic}\"")));
        }
        // Written in the language of its first passage (the seed chunk when there is one).
        let lang = e.language(&hits[0].chunk_id.to_string());
        let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
        let schema = json!({
            "type": "object",
            "properties": {"paragraphs": {
                "type": "array",
                "minItems": self.cfg.paragraphs,
                "maxItems": self.cfg.paragraphs,
                "items": {
                    "type": "object",
                    "properties": {
                        "citations": citations_schema(&texts, 2),
                        "text": {"type": "string", "minLength": 60, "maxLength": 700}
                    },
                    "required": ["citations", "text"],
                    "additionalProperties": false
                }
            }},
            "required": ["paragraphs"],
            "additionalProperties": false
        });
        let t0 = Instant::now();
        let paragraphs = self.cfg.paragraphs.to_string();
        let (system, user) = e.prompts.pretrain.render(&[
            ("topic", &data(&topic)),
            ("passages", &Engine::passages_block(&hits)),
            ("paragraphs", &paragraphs),
            ("language", crate::engine::language_name(&lang)),
        ]);
        let req = e
            .request(system, user, Purpose::Prose, &self.cfg.sampling, mix(self.cfg.seed, &[slot, 9]))
            .with_schema(schema);
        let resp = e.call(&req, a).await?;
        let answer_ms = t0.elapsed().as_secs_f64() * 1e3;
        a.reject.raw = resp.text.clone();
        let v = resp.json.clone().unwrap_or(Value::Null);
        let items = v["paragraphs"].as_array().cloned().unwrap_or_default();
        let mut turns = Vec::new();
        let mut sentences = Vec::new();
        let t0 = Instant::now();
        for (i, p) in items.iter().enumerate() {
            let text = clean_answer(p["text"].as_str().unwrap_or_default());
            if let Err((reason, detail)) =
                filters::check_paragraph(&text).and_then(|()| filters::check_language(&text, &lang))
            {
                return Err(a.fail("answer", reason, format!("paragraph {}: {detail}", i + 1)));
            }
            let ver = e.verify(&lang, &topic, &text, &raw_citations(&p["citations"]), &hits);
            if !acceptable(&ver, self.cfg.accept_partial) {
                a.totals.other_ms += t0.elapsed().as_secs_f64() * 1e3;
                a.reject.answer = text;
                return Err(a.unverified(&ver, &format!("paragraph {}: ", i + 1)));
            }
            sentences.extend(ver.sentences);
            turns.push(Turn {
                role: Role::Text,
                speaker: String::new(),
                content: text,
                citations: ver.citations,
                verdict: Some(ver.verdict),
                support: ver.support,
                passages: hits.iter().map(|h| h.chunk_id.to_string()).collect(),
            });
        }
        let verify_ms = t0.elapsed().as_secs_f64() * 1e3;
        a.totals.other_ms += verify_ms;
        if turns.len() < self.cfg.paragraphs {
            let detail = format!("{} of {} paragraphs", turns.len(), self.cfg.paragraphs);
            return Err(a.fail("answer", "too_few_paragraphs", detail));
        }
        let supports: Vec<f32> = turns.iter().map(|t| t.support).collect();
        Ok(Record {
            question: topic,
            question_type: "textbook".into(),
            answer: turns.iter().map(|t| t.content.as_str()).collect::<Vec<_>>().join("\n\n"),
            citations: union_citations(&turns),
            verdict: worst_verdict(&turns),
            reasons: Vec::new(),
            scores: Scores {
                support: supports.iter().sum::<f32>() / supports.len().max(1) as f32,
                quote_match: lowest_quote_match(&turns),
                sentences,
                round_trip_rank: -1,
                round_trip_hit: false,
                user_content_share: -1.0,
            },
            seed_chunks,
            passages: hits.iter().map(|h| h.chunk_id.to_string()).collect(),
            model: e.model.model(),
            backend: e.model.backend(),
            answer_sampling: sampling_record(&req),
            question_prompt_hash: e.prompts.pretrain.hash(),
            answer_prompt_hash: e.prompts.pretrain.hash(),
            usage: a.totals.usage,
            timings: StageTimings { question_ms: 0.0, retrieval_ms, answer_ms, verify_ms },
            turns,
            topic_path,
            ..new_record(Task::Pretrain, &self.slots.run_id, slot)
        })
    }
}
