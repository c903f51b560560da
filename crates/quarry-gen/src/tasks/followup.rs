//! Follow-up chains: an accepted Q&A record deepened by N follow-up turns. Each turn's
//! question is written from the conversation so far, retrieval runs again with the
//! conversation (so a later turn may cite passages the first did not), and every answer is
//! verified like a Q&A answer. A chain is accepted only when every turn is.

use std::sync::Arc;
use std::time::Instant;

use quarry_core::{Record, Role, Scores, StageTimings, Task, Turn};
use quarry_index::{Hit, Index};
use quarry_llm::{ChatModel, Purpose};
use serde_json::{Value, json};

use crate::engine::record::{
    Attempt, SlotEnd, acceptable, history, lowest_quote_match, new_record, sampling_record, union_citations, user_turn,
    worst_verdict,
};
use crate::engine::schema::{answer_schema, clean_answer, question_schema, raw_citations};
use crate::engine::slots::{SlotTask, Slots, run_id};
use crate::engine::{Engine, SamplingOverride, data};
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
        let parents = crate::run_dir::qa_parents(source, "follow up")?;
        let run_id = run_id(&format!("followup/{}/{}", cfg.seed, source.display()));
        Ok(FollowupGenerator {
            slots: Slots::per_source(Engine::new(index, model, prompts), run_id, cfg.n, parents.len(), cfg.concurrency),
            parents,
            source: source.display().to_string(),
            cfg,
        })
    }
}

impl SlotTask for FollowupGenerator {
    const TASK: Task = Task::Followup;

    fn slots(&self) -> &Slots {
        &self.slots
    }

    fn config(&self) -> Value {
        let (c, p) = (&self.cfg, &self.slots.engine.prompts);
        let own = json!({"from": self.source, "seed": c.seed, "turns": c.turns, "k": c.k, "accept_partial": c.accept_partial});
        let sampling = json!({
            "question_sampling": c.question_sampling.apply(Purpose::Questions),
            "answer_sampling": c.answer_sampling.apply(Purpose::Factual),
        });
        self.slots.engine.config(Self::TASK, own, sampling, &[&p.followup_question, &p.followup_answer])
    }

    fn extra_json(&self) -> Value {
        json!({"parents": self.parents.len()})
    }

    /// Works one slot: the follow-up chain of parent record `slot`, turn by turn.
    async fn work(&self, slot: u64, a: &mut Attempt) -> Result<Record, SlotEnd> {
        let e = &self.slots.engine;
        let parent = &self.parents[slot as usize];
        a.reject.seed_chunks = parent.seed_chunks.clone();
        a.reject.question = parent.question.clone();
        a.reject.question_type = "followup".into();
        let mut hits: Vec<Hit> = parent.passages.iter().map(|id| e.hit(id)).collect::<Result<_, _>>()?;
        // The chain is written in its first question's language: its seed document's.
        let lang = parent.seed_chunks.first().map(|c| e.language(c)).unwrap_or_default();
        let lang_name = crate::engine::language_name(&lang);
        let mut turns = vec![
            user_turn("user", parent.question.clone()),
            Turn {
                role: Role::Assistant,
                speaker: "assistant".into(),
                content: parent.answer.clone(),
                citations: parent.citations.clone(),
                verdict: Some(parent.verdict),
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
                ("history", &data(&history(&turns))),
                ("passages", &Engine::passages_block(&hits)),
                ("language", lang_name),
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
            let qresp = e.call(&qreq, a).await?;
            question_ms += t0.elapsed().as_secs_f64() * 1e3;
            let question =
                qresp.json.as_ref().and_then(|v| v["question"].as_str()).unwrap_or_default().trim().to_owned();
            a.reject.raw = history(&turns) + "\nuser: " + &question;
            let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
            if let Err((reason, detail)) = filters::check_question(&question, &texts, &lang) {
                return Err(a.fail("question", reason, format!("turn {t}: {detail}")));
            }
            let norm = filters::normalise(&question);
            if turns.iter().any(|x| x.role == Role::User && filters::normalise(&x.content) == norm) {
                return Err(a.fail(
                    "question",
                    "repeated_question",
                    format!("turn {t} asks an earlier question again"),
                ));
            }

            // Retrieval with the conversation: the previous question and this one.
            let previous =
                turns.iter().rev().find(|x| x.role == Role::User).map(|x| x.content.clone()).unwrap_or_default();
            let (found, ms) = a.totals.other(|| e.search(&format!("{question} {previous}"), self.cfg.k));
            retrieval_ms += ms;
            hits = found?;
            if hits.is_empty() {
                return Err(a.fail("answer", "no_passages", format!("turn {t}: retrieval returned nothing")));
            }

            // The answer, from the new passages, with the conversation as context.
            let t0 = Instant::now();
            let (system, user) = e.prompts.followup_answer.render(&[
                ("history", &data(&history(&turns))),
                ("passages", &Engine::passages_block(&hits)),
                ("question", &question),
                ("language", lang_name),
            ]);
            let areq = e
                .request(system, user, Purpose::Factual, &self.cfg.answer_sampling, mix(self.cfg.seed, &[slot, t, 4]))
                .with_schema(answer_schema(&hits.iter().map(|h| h.text.as_str()).collect::<Vec<_>>()));
            let aresp = e.call(&areq, a).await?;
            answer_ms += t0.elapsed().as_secs_f64() * 1e3;
            let v = aresp.json.clone().unwrap_or(Value::Null);
            let answer = clean_answer(v["answer"].as_str().unwrap_or_default());
            a.reject.raw = history(&turns) + "\nuser: " + &question + "\nassistant: " + &answer;
            if let Err((reason, detail)) =
                filters::check_answer(&answer).and_then(|()| filters::check_language(&answer, &lang))
            {
                return Err(a.fail("answer", reason, format!("turn {t}: {detail}")));
            }
            let raw = raw_citations(&v["citations"]);
            let (ver, ms) = a.totals.other(|| e.verify(&lang, &question, &answer, &raw, &hits));
            verify_ms += ms;
            if !acceptable(&ver, self.cfg.accept_partial) {
                return Err(a.unverified(&ver, &format!("turn {t}: ")));
            }
            sentences.extend(ver.sentences);
            turns.push(user_turn("user", question));
            turns.push(Turn {
                role: Role::Assistant,
                speaker: "assistant".into(),
                content: answer,
                citations: ver.citations,
                verdict: Some(ver.verdict),
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
        Ok(Record {
            question: parent.question.clone(),
            question_type: "followup".into(),
            answer: parent.answer.clone(),
            citations: union_citations(&turns),
            verdict: worst_verdict(&turns),
            reasons: Vec::new(),
            scores: Scores {
                support: supports.iter().copied().fold(1.0, f32::min),
                quote_match: lowest_quote_match(&turns),
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
            usage: a.totals.usage,
            timings: StageTimings { question_ms, retrieval_ms, answer_ms, verify_ms },
            turns,
            topic_path: parent.topic_path.clone(),
            parent_id: Some(parent.id.clone()),
            ..new_record(Task::Followup, &self.slots.run_id, slot)
        })
    }
}
