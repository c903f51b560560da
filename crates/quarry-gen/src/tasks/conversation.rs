//! Conversations: multi-turn dialogues grounded on retrieved passages, steered by the five
//! controls ([`crate::controls`]). The learner (user side) opens each exchange; the expert
//! (assistant side) replies from the passages with citations, and every reply is verified
//! like a Q&A answer. Both sides must bring substance: a dialogue where one side only asks
//! questions is rejected (`one_sided`), with the share each side brought.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use quarry_core::{Controls, Record, Role, Scores, StageTimings, Task, Turn};
use quarry_index::{Hit, Index};
use quarry_llm::{ChatModel, Purpose};
use serde_json::{Value, json};

use super::controls::{ControlLists, parties};
use crate::engine::record::{
    Attempt, SlotEnd, acceptable, history, lowest_quote_match, new_record, sampling_record, union_citations, user_turn,
    worst_verdict,
};
use crate::engine::schema::{citations_schema, clean_answer, raw_citations};
use crate::engine::slots::{SlotTask, Slots, run_id};
use crate::engine::{Engine, SamplingOverride, data, heading_of};
use crate::seeds::{Plan, mix};
use crate::topic_tree::TopicTree;
use crate::{GenError, Prompts, filters};

/// Settings of a conversation run.
#[derive(Clone, Debug)]
pub struct ConversationConfig {
    pub n: usize,
    pub seed: u64,
    /// Exchanges (learner turn + expert turn) per dialogue.
    pub exchanges: usize,
    pub k: usize,
    pub budget: f32,
    pub concurrency: usize,
    pub sampling: SamplingOverride,
    pub accept_partial: bool,
    /// The least share of the substance each side must bring (0..0.5).
    pub min_share: f32,
    pub controls: ControlLists,
    /// Controls fixed for the whole run ("" = sampled).
    pub fixed: Controls,
    pub topics: Option<TopicTree>,
}

impl ConversationConfig {
    pub fn new(controls: ControlLists) -> Self {
        ConversationConfig {
            n: 20,
            seed: 0,
            exchanges: 3,
            k: 4,
            budget: 6.0,
            concurrency: 4,
            sampling: SamplingOverride::default(),
            accept_partial: false,
            min_share: 0.2,
            controls,
            fixed: Controls::default(),
            topics: None,
        }
    }
}

/// The substance of a turn: its content words outside questions (sentences that end with
/// `?`), each distinct word counted once.
pub fn substance(text: &str) -> usize {
    let mut words: HashSet<String> = HashSet::new();
    for r in quarry_audit::split_sentences(text) {
        let s = text[r].trim();
        if s.ends_with('?') {
            continue;
        }
        words.extend(quarry_audit::content_words(s));
    }
    words.len()
}

/// The user side's share (0..1) of the substance both sides bring.
pub fn user_share(turns: &[Turn]) -> f32 {
    let side = |role: Role| turns.iter().filter(|t| t.role == role).map(|t| substance(&t.content)).sum::<usize>();
    let (u, a) = (side(Role::User), side(Role::Assistant));
    if u + a == 0 { 0.0 } else { u as f32 / (u + a) as f32 }
}

/// `Err((reason, detail))` when one side brings less than `min_share` of the substance.
pub fn check_sides(turns: &[Turn], min_share: f32) -> Result<f32, (&'static str, String)> {
    let share = user_share(turns);
    let name = |role: Role| turns.iter().find(|t| t.role == role).map(|t| t.speaker.clone()).unwrap_or_default();
    if share < min_share {
        return Err((
            "one_sided",
            format!(
                "the {} only asks questions: {:.0}% of the substance (at least {:.0}% needed from each side)",
                name(Role::User),
                share * 100.0,
                min_share * 100.0
            ),
        ));
    }
    if 1.0 - share < min_share {
        return Err((
            "one_sided",
            format!(
                "the {} brings only {:.0}% of the substance (at least {:.0}% needed from each side)",
                name(Role::Assistant),
                (1.0 - share) * 100.0,
                min_share * 100.0
            ),
        ));
    }
    Ok(share)
}

/// Writes conversations.
pub struct ConversationGenerator {
    slots: Slots,
    plan: Plan,
    cfg: ConversationConfig,
}

impl ConversationGenerator {
    pub fn new(
        index: Arc<Index>,
        model: Arc<dyn ChatModel>,
        prompts: Prompts,
        cfg: ConversationConfig,
    ) -> Result<Self, GenError> {
        if cfg.n == 0 || cfg.exchanges == 0 {
            return Err(GenError::Config("--n and --exchanges must be at least 1".into()));
        }
        let plan = crate::engine::plan(&index, cfg.n, cfg.seed, cfg.topics.as_ref())?;
        let run_id = run_id(&format!("conversation/{}", cfg.seed));
        let engine = Engine::new(index, model, prompts).with_languages(&plan);
        let slots = Slots::budgeted(engine, run_id, cfg.n, cfg.budget, cfg.concurrency);
        Ok(ConversationGenerator { slots, plan, cfg })
    }

    fn schema(&self, hits: &[Hit]) -> Value {
        let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
        json!({
            "type": "object",
            "properties": {"exchanges": {
                "type": "array",
                "minItems": self.cfg.exchanges,
                "maxItems": self.cfg.exchanges,
                "items": {
                    "type": "object",
                    "properties": {
                        "learner": {"type": "string", "minLength": 20, "maxLength": 300},
                        "citations": citations_schema(&texts, 2),
                        "expert": {"type": "string", "minLength": 20, "maxLength": 450}
                    },
                    "required": ["learner", "citations", "expert"],
                    "additionalProperties": false
                }
            }},
            "required": ["exchanges"],
            "additionalProperties": false
        })
    }
}

impl SlotTask for ConversationGenerator {
    const TASK: Task = Task::Conversation;

    fn slots(&self) -> &Slots {
        &self.slots
    }

    fn config(&self) -> Value {
        let c = &self.cfg;
        let own = json!({
            "seed": c.seed, "exchanges": c.exchanges, "k": c.k, "accept_partial": c.accept_partial,
            "min_share": c.min_share, "controls": c.controls.hash, "fixed_controls": c.fixed,
            "topics": c.topics.as_ref().map_or(String::new(), |t| t.fingerprint()),
        });
        let sampling = json!({"sampling": c.sampling.apply(Purpose::Conversation)});
        self.slots.engine.config(Self::TASK, own, sampling, &[&self.slots.engine.prompts.conversation])
    }

    fn extra_json(&self) -> Value {
        self.plan.json()
    }

    /// Works one slot: a dialogue on the seed chunk's passages, every expert turn verified.
    async fn work(&self, slot: u64, a: &mut Attempt) -> Result<Record, SlotEnd> {
        let e = &self.slots.engine;
        let seed = self.plan.seed_chunk(slot).expect("the plan has eligible chunks").clone();
        let controls = self.cfg.controls.sample(self.cfg.seed, slot, &self.cfg.fixed);
        let (expert, learner) = parties(&controls.dynamics);
        a.reject.seed_chunks = vec![seed.chunk_id.clone()];
        a.reject.question_type = "conversation".into();
        a.reject.controls = controls.clone();

        // Passages: the seed chunk first, then what retrieval finds for it.
        let (found, retrieval_ms) = a.totals.other(|| -> Result<Vec<Hit>, GenError> {
            let first = e.hit(&seed.chunk_id)?;
            let probe: String = first.text.chars().take(600).collect();
            let mut hits: Vec<Hit> =
                e.search(&probe, self.cfg.k)?.into_iter().filter(|h| h.chunk_id != first.chunk_id).collect();
            hits.insert(0, first);
            Ok(hits)
        });
        let mut hits = found?;
        hits.truncate(self.cfg.k.max(1));
        let subject = seed.topic_path.last().cloned().unwrap_or_else(|| heading_of(&seed.title, &seed.heading_path));

        let t0 = Instant::now();
        let exchanges = self.cfg.exchanges.to_string();
        let lang = seed.language.clone();
        let (system, user) = e.prompts.conversation.render(&[
            ("passages", &Engine::passages_block(&hits)),
            ("subject", &data(&subject)),
            ("dynamics", &controls.dynamics),
            ("expert", &expert),
            ("learner", &learner),
            ("emotion", &controls.emotion),
            ("structure", &controls.structure),
            ("scenario", &controls.scenario),
            ("knowledge_level", &controls.knowledge_level),
            ("exchanges", &exchanges),
            ("language", crate::engine::language_name(&lang)),
        ]);
        let req = e
            .request(system, user, Purpose::Conversation, &self.cfg.sampling, mix(self.cfg.seed, &[slot, 6]))
            .with_schema(self.schema(&hits));
        let resp = e.call(&req, a).await?;
        let answer_ms = t0.elapsed().as_secs_f64() * 1e3;
        a.reject.raw = resp.text.clone();
        let v = resp.json.clone().unwrap_or(Value::Null);
        let items = v["exchanges"].as_array().cloned().unwrap_or_default();
        let mut turns: Vec<Turn> = Vec::new();
        let mut raws = Vec::new();
        for x in &items {
            turns.push(user_turn(&learner, clean_answer(x["learner"].as_str().unwrap_or_default())));
            turns.push(Turn {
                role: Role::Assistant,
                speaker: expert.clone(),
                content: clean_answer(x["expert"].as_str().unwrap_or_default()),
                support: -1.0,
                passages: hits.iter().map(|h| h.chunk_id.to_string()).collect(),
                ..Turn::default()
            });
            raws.push(raw_citations(&x["citations"]));
        }
        if let Some(first) = turns.first() {
            a.reject.question = first.content.clone();
        }
        if let Some(second) = turns.get(1) {
            a.reject.answer = second.content.clone();
        }
        if turns.len() < 2 * self.cfg.exchanges {
            let detail = format!("{} of {} exchanges", turns.len() / 2, self.cfg.exchanges);
            return Err(a.fail("answer", "too_few_exchanges", detail));
        }
        for (i, t) in turns.iter().enumerate() {
            let check =
                if t.role == Role::User { filters::check_turn(&t.content) } else { filters::check_answer(&t.content) }
                    .and_then(|()| filters::check_language(&t.content, &lang));
            if let Err((reason, detail)) = check {
                return Err(a.fail("answer", reason, format!("turn {} ({}): {detail}", i + 1, t.speaker)));
            }
        }
        let share = match check_sides(&turns, self.cfg.min_share) {
            Ok(s) => s,
            Err((reason, detail)) => return Err(a.fail("answer", reason, detail)),
        };

        // Every expert turn, verified against the passages. A learner's question is the
        // question it answers; a learner's statement brings words of its own that the
        // passages need not hold, so the reply is then judged on its own claims.
        let t0 = Instant::now();
        let mut sentences = Vec::new();
        for (x, raw) in raws.iter().enumerate() {
            let said = turns[2 * x].content.trim();
            let question = if said.ends_with('?') { said.to_owned() } else { String::new() };
            let reply = turns[2 * x + 1].content.clone();
            let ver = e.verify(&lang, &question, &reply, raw, &hits);
            if !acceptable(&ver, self.cfg.accept_partial) {
                a.totals.other_ms += t0.elapsed().as_secs_f64() * 1e3;
                return Err(a.unverified(&ver, &format!("turn {} ({expert}): ", 2 * x + 2)));
            }
            let t = &mut turns[2 * x + 1];
            t.citations = ver.citations;
            t.verdict = Some(ver.verdict);
            t.support = ver.support;
            sentences.extend(ver.sentences);
        }
        let verify_ms = t0.elapsed().as_secs_f64() * 1e3;
        a.totals.other_ms += verify_ms;
        let supports: Vec<f32> = turns.iter().filter(|t| t.support >= 0.0).map(|t| t.support).collect();
        tracing::debug!(dialogue = %history(&turns), "accepted conversation");
        Ok(Record {
            question: turns[0].content.clone(),
            question_type: "conversation".into(),
            answer: turns[1].content.clone(),
            citations: union_citations(&turns),
            verdict: worst_verdict(&turns),
            reasons: Vec::new(),
            scores: Scores {
                support: supports.iter().sum::<f32>() / supports.len().max(1) as f32,
                quote_match: lowest_quote_match(&turns),
                sentences,
                round_trip_rank: -1,
                round_trip_hit: false,
                user_content_share: share,
            },
            seed_chunks: vec![seed.chunk_id.clone()],
            passages: hits.iter().map(|h| h.chunk_id.to_string()).collect(),
            model: e.model.model(),
            backend: e.model.backend(),
            answer_sampling: sampling_record(&req),
            question_sampling: sampling_record(&req),
            question_prompt_hash: e.prompts.conversation.hash(),
            answer_prompt_hash: e.prompts.conversation.hash(),
            usage: a.totals.usage,
            timings: StageTimings { question_ms: 0.0, retrieval_ms, answer_ms, verify_ms },
            turns,
            controls,
            topic_path: seed.topic_path.clone(),
            ..new_record(Task::Conversation, &self.slots.run_id, slot)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: &str, speaker: &str, text: &str) -> Turn {
        let role = if role == "user" { Role::User } else { Role::Assistant };
        Turn { role, speaker: speaker.into(), content: text.into(), support: -1.0, ..Turn::default() }
    }

    #[test]
    fn a_side_that_only_asks_questions_is_one_sided() {
        let asking = vec![
            turn("user", "student", "Why does a candle burn?"),
            turn(
                "assistant",
                "teacher",
                "The heat of the flame melts the wax near the wick, and the melted wax rises by capillary action.",
            ),
            turn("user", "student", "What happens at the top of the wick?"),
            turn(
                "assistant",
                "teacher",
                "At the top of the wick the wax turns into vapour, and the vapour burns in the air.",
            ),
        ];
        let (reason, detail) = check_sides(&asking, 0.2).unwrap_err();
        assert_eq!(reason, "one_sided");
        assert!(detail.starts_with("the student only asks questions: 0%"), "{detail}");

        let both = vec![
            turn("user", "student", "I thought the wick itself was the fuel, like a match that burns down slowly."),
            turn(
                "assistant",
                "teacher",
                "The heat of the flame melts the wax near the wick, and the melted wax rises by capillary action.",
            ),
            turn("user", "student", "So the wax is the fuel; I guess the brightest part must be the hottest then?"),
            turn(
                "assistant",
                "teacher",
                "A candle flame is hottest in its outer part, where the wax vapour meets the oxygen of the air.",
            ),
        ];
        let share = check_sides(&both, 0.2).unwrap();
        assert!(share > 0.2 && share < 0.8, "{share}");
        assert!((user_share(&both) - share).abs() < 1e-6);
    }
}
