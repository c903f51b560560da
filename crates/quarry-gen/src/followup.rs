//! Follow-up chains: an accepted Q&A record deepened by N follow-up turns. Each turn's
//! question is written from the conversation so far, retrieval runs again with the
//! conversation (so a later turn may cite passages the first did not), and every answer is
//! verified like a Q&A answer. A chain is accepted only when every turn is.

use std::sync::Arc;
use std::time::Instant;

use quarry_core::{Citation, RECORD_SCHEMA_VERSION, Record, Scores, StageTimings, Turn, Verdict};
use quarry_index::{Hit, Index};
use quarry_llm::{ChatModel, Purpose};
use serde_json::{Value, json};

use crate::engine::{
    Engine, Outcome, Progress, RunSummary, SamplingOverride, SlotTask, Slots, Totals, acceptable, blank_reject,
    clean_answer, fail, llm_reject, raw_citations, run_slots, sampling_record,
};
use crate::qa::{answer_schema, prompts_json, question_schema};
use crate::run_dir::RunDir;
use crate::seeds::mix;
use crate::{GenError, Prompts, filters};

/// Settings of a follow-up run.
#[derive(Clone, Debug)]
pub struct FollowupConfig {
    /// Chains wanted (at most one per source record).
    pub n: usize,
    pub seed: u64,
    /// Follow-up turns per chain.
    pub turns: usize,
    pub k: usize,
    pub concurrency: usize,
    pub question_sampling: SamplingOverride,
    pub answer_sampling: SamplingOverride,
    pub accept_partial: bool,
}

impl Default for FollowupConfig {
    fn default() -> Self {
        FollowupConfig {
            n: 20,
            seed: 0,
            turns: 2,
            k: 4,
            concurrency: 4,
            question_sampling: SamplingOverride::default(),
            answer_sampling: SamplingOverride::default(),
            accept_partial: false,
        }
    }
}

/// Deepens Q&A records into follow-up chains.
pub struct FollowupGenerator {
    slots: Slots,
    parents: Vec<Record>,
    source: String,
    cfg: FollowupConfig,
}

/// The conversation so far as prompt text.
pub(crate) fn history(turns: &[Turn]) -> String {
    turns
        .iter()
        .map(|t| {
            let who = if t.speaker.is_empty() { &t.role } else { &t.speaker };
            format!("{who}: {}", t.content)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The union of the turns' citations (each span once), in turn order.
pub(crate) fn union_citations(turns: &[Turn]) -> Vec<Citation> {
    let mut out: Vec<Citation> = Vec::new();
    for c in turns.iter().flat_map(|t| &t.citations) {
        if !out.iter().any(|o| o.chunk_id == c.chunk_id && o.span == c.span) {
            out.push(c.clone());
        }
    }
    out
}

/// The worst verdict of the verified turns.
pub(crate) fn worst_verdict(turns: &[Turn]) -> Verdict {
    turns
        .iter()
        .filter(|t| !t.verdict.is_empty())
        .map(|t| match t.verdict.as_str() {
            "supported" => Verdict::Supported,
            "partial" => Verdict::Partial,
            _ => Verdict::Unsupported,
        })
        .max()
        .unwrap_or(Verdict::Unsupported)
}

impl FollowupGenerator {
    /// Plans chains over the accepted records of the Q&A run in `source`.
    pub fn new(
        index: Arc<Index>,
        model: Arc<dyn ChatModel>,
        prompts: Prompts,
        source: &std::path::Path,
        cfg: FollowupConfig,
    ) -> Result<Self, GenError> {
        if cfg.n == 0 || cfg.turns == 0 {
            return Err(GenError::Config("--n and --turns must be at least 1".into()));
        }
        let (_, records, _) = crate::run_dir::read(source)?;
        let parents: Vec<Record> = records.into_iter().filter(|r| r.task == "qa").collect();
        if parents.is_empty() {
            return Err(GenError::Config(format!(
                "{} has no accepted Q&A record to follow up (run `quarry generate qa` first)",
                source.display()
            )));
        }
        let run_id =
            blake3::hash(format!("followup/{}/{}", cfg.seed, source.display()).as_bytes()).to_hex()[..8].to_owned();
        Ok(FollowupGenerator {
            slots: Slots::per_source(Engine::new(index, model, prompts), run_id, cfg.n, parents.len(), cfg.concurrency),
            parents,
            source: source.display().to_string(),
            cfg,
        })
    }

    pub fn config_json(&self) -> Value {
        let e = &self.slots.engine;
        let p = &e.prompts;
        json!({
            "task": "followup",
            "from": self.source,
            "seed": self.cfg.seed,
            "turns": self.cfg.turns,
            "k": self.cfg.k,
            "accept_partial": self.cfg.accept_partial,
            "index": e.index.dir().display().to_string(),
            "backend": e.model.backend(),
            "model": e.model.model(),
            "question_sampling": self.cfg.question_sampling.apply(Purpose::Questions),
            "answer_sampling": self.cfg.answer_sampling.apply(Purpose::Factual),
            "prompts": prompts_json(&[&p.followup_question, &p.followup_answer]),
            "record_schema_version": RECORD_SCHEMA_VERSION,
        })
    }

    pub async fn run(&self, dir: &mut RunDir, progress: &(dyn Fn(Progress) + Sync)) -> Result<RunSummary, GenError> {
        run_slots(self, dir, progress).await
    }

    async fn work(&self, slot: u64) -> Result<(Outcome, Totals), GenError> {
        let e = &self.slots.engine;
        let mut totals = Totals::default();
        let parent = &self.parents[slot as usize];
        let mut reject = blank_reject(&self.slots.run_id, slot, parent.seed_chunks.clone());
        reject.question = parent.question.clone();
        reject.question_type = "followup".into();
        let mut hits: Vec<Hit> = parent.passages.iter().map(|id| e.hit(id)).collect::<Result<_, _>>()?;
        let mut turns = vec![
            Turn {
                role: "user".into(),
                speaker: "user".into(),
                content: parent.question.clone(),
                support: -1.0,
                ..Turn::default()
            },
            Turn {
                role: "assistant".into(),
                speaker: "assistant".into(),
                content: parent.answer.clone(),
                citations: parent.citations.clone(),
                verdict: parent.verdict.as_str().into(),
                support: parent.scores.support,
                passages: parent.passages.clone(),
            },
        ];
        let mut sentences = parent.scores.sentences.clone();
        let (mut question_ms, mut retrieval_ms, mut answer_ms, mut verify_ms) = (0.0, 0.0, 0.0, 0.0);
        let mut last = (None, None);
        for t in 1..=self.cfg.turns as u64 {
            // The next question, from the conversation so far.
            let t0 = Instant::now();
            let (system, user) = e.prompts.followup_question.render(&[
                ("history", &crate::engine::data(&history(&turns))),
                ("passages", &Engine::passages_block(&hits)),
            ]);
            let qreq = e
                .request(
                    system,
                    user,
                    Purpose::Questions,
                    &self.cfg.question_sampling,
                    mix(self.cfg.seed, &[slot, t, 3]),
                )
                .with_schema(question_schema());
            let qresp = match e.model.chat(&qreq).await {
                Ok(r) => r,
                Err(err) => return Ok((llm_reject(reject, err, &mut totals), totals)),
            };
            totals.add_call(&qresp);
            reject.usage = totals.usage;
            question_ms += t0.elapsed().as_secs_f64() * 1e3;
            let question =
                qresp.json.as_ref().and_then(|v| v["question"].as_str()).unwrap_or_default().trim().to_owned();
            reject.raw = history(&turns) + "\nuser: " + &question;
            let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
            if let Err((reason, detail)) = filters::check_question(&question, &texts) {
                return Ok((fail(reject, "question", reason, format!("turn {t}: {detail}")), totals));
            }
            let norm = filters::normalise(&question);
            if turns.iter().any(|x| x.role == "user" && filters::normalise(&x.content) == norm) {
                return Ok((
                    fail(reject, "question", "repeated_question", format!("turn {t} asks an earlier question again")),
                    totals,
                ));
            }

            // Retrieval with the conversation: the previous question and this one.
            let previous = turns.iter().rev().find(|x| x.role == "user").map(|x| x.content.clone()).unwrap_or_default();
            let (found, ms) = totals.other(|| e.search(&format!("{question} {previous}"), self.cfg.k));
            retrieval_ms += ms;
            hits = found?;
            if hits.is_empty() {
                return Ok((
                    fail(reject, "answer", "no_passages", format!("turn {t}: retrieval returned nothing")),
                    totals,
                ));
            }

            // The answer, from the new passages, with the conversation as context.
            let t0 = Instant::now();
            let (system, user) = e.prompts.followup_answer.render(&[
                ("history", &crate::engine::data(&history(&turns))),
                ("passages", &Engine::passages_block(&hits)),
                ("question", &question),
            ]);
            let areq = e
                .request(system, user, Purpose::Factual, &self.cfg.answer_sampling, mix(self.cfg.seed, &[slot, t, 4]))
                .with_schema(answer_schema(&hits.iter().map(|h| h.text.as_str()).collect::<Vec<_>>()));
            let aresp = match e.model.chat(&areq).await {
                Ok(r) => r,
                Err(err) => return Ok((llm_reject(reject, err, &mut totals), totals)),
            };
            totals.add_call(&aresp);
            reject.usage = totals.usage;
            answer_ms += t0.elapsed().as_secs_f64() * 1e3;
            let v = aresp.json.clone().unwrap_or(Value::Null);
            let answer = clean_answer(v["answer"].as_str().unwrap_or_default());
            reject.raw = history(&turns) + "\nuser: " + &question + "\nassistant: " + &answer;
            if let Err((reason, detail)) = filters::check_answer(&answer) {
                return Ok((fail(reject, "answer", reason, format!("turn {t}: {detail}")), totals));
            }
            let raw = raw_citations(&v["citations"]);
            let (ver, ms) = totals.other(|| e.verify(&question, &answer, &raw, &hits));
            verify_ms += ms;
            if !acceptable(&ver, self.cfg.accept_partial) {
                reject.verdict = ver.verdict.as_str().into();
                reject.support = ver.support;
                let code = ver.reason_code.clone().unwrap_or_else(|| ver.verdict.as_str().into());
                return Ok((fail(reject, "verify", &code, format!("turn {t}: {}", ver.reasons.join("; "))), totals));
            }
            sentences.extend(ver.sentences);
            turns.push(Turn {
                role: "user".into(),
                speaker: "user".into(),
                content: question,
                support: -1.0,
                ..Turn::default()
            });
            turns.push(Turn {
                role: "assistant".into(),
                speaker: "assistant".into(),
                content: answer,
                citations: ver.citations,
                verdict: ver.verdict.as_str().into(),
                support: ver.support,
                passages: hits.iter().map(|h| h.chunk_id.to_string()).collect(),
            });
            last = (Some(qreq), Some(areq));
        }
        let supports: Vec<f32> = turns.iter().filter(|t| t.support >= 0.0).map(|t| t.support).collect();
        let mut passages: Vec<String> = Vec::new();
        for p in turns.iter().flat_map(|t| &t.passages) {
            if !passages.contains(p) {
                passages.push(p.clone());
            }
        }
        let (qreq, areq) = (last.0.expect("at least one turn"), last.1.expect("at least one turn"));
        let record = Record {
            schema_version: RECORD_SCHEMA_VERSION,
            id: format!("{}-{slot:06}", self.slots.run_id),
            task: "followup".into(),
            slot,
            question: parent.question.clone(),
            question_type: "followup".into(),
            answer: parent.answer.clone(),
            citations: union_citations(&turns),
            verdict: worst_verdict(&turns),
            reasons: Vec::new(),
            scores: Scores {
                support: supports.iter().copied().fold(1.0, f32::min),
                quote_match: turns.iter().flat_map(|t| &t.citations).map(|c| c.match_score).fold(1.0, f32::min),
                sentences,
                round_trip_rank: parent.scores.round_trip_rank,
                round_trip_hit: parent.scores.round_trip_hit,
                user_content_share: -1.0,
            },
            seed_chunks: parent.seed_chunks.clone(),
            passages,
            model: e.model.model(),
            backend: e.model.backend(),
            question_sampling: sampling_record(&qreq),
            answer_sampling: sampling_record(&areq),
            question_prompt_hash: e.prompts.followup_question.hash(),
            answer_prompt_hash: e.prompts.followup_answer.hash(),
            usage: totals.usage,
            timings: StageTimings { question_ms, retrieval_ms, answer_ms, verify_ms },
            turns,
            topic_path: parent.topic_path.clone(),
            parent_id: parent.id.clone(),
            ..Record::default()
        };
        Ok((Outcome::Accepted(Box::new(record)), totals))
    }
}

impl SlotTask for FollowupGenerator {
    fn task(&self) -> &'static str {
        "followup"
    }
    fn slots(&self) -> &Slots {
        &self.slots
    }
    fn config(&self) -> Value {
        self.config_json()
    }
    fn extra_json(&self) -> Value {
        json!({"parents": self.parents.len()})
    }
    async fn slot(&self, slot: u64) -> Result<(Outcome, Totals), GenError> {
        self.work(slot).await
    }
}
