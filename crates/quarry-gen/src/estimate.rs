//! What a run will cost before any model call: its slots, model calls and tokens, from the
//! index's own chunks and the run's prompt templates, and the time at a given model speed.
//!
//! Tokens are estimated from bytes (about four bytes to a token for English text under the
//! BPE tokenizers of current models; scripts of multi-byte letters come out higher, which
//! errs on the side of cost). A finished run's `run.json` replaces the estimates with what was
//! measured: tokens per slot and the acceptance rate.

use quarry_core::Task;
use serde::Serialize;

use crate::Prompts;

/// Bytes per token, for text and prompts.
pub const BYTES_PER_TOKEN: f64 = 4.0;

/// What is known of the corpus: its chunks and those that can seed a record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CorpusSize {
    pub documents: u64,
    pub chunks: u64,
    pub eligible_chunks: u64,
    /// Mean bytes of an eligible chunk, heading path included.
    pub mean_chunk_bytes: f64,
}

/// The run being estimated.
#[derive(Clone, Debug, Serialize)]
pub struct EstimateInput {
    pub task: Task,
    /// Records wanted.
    pub n: u64,
    /// Slots per wanted record at most (`--budget`).
    pub budget: f64,
    /// Share of slots accepted: measured by an earlier run, or assumed.
    pub acceptance: f64,
    /// Passages shown per answer (`--k`).
    pub k: u64,
    /// qa: the LLM judge's extra call per verified answer.
    pub judge: bool,
    /// followup: questions per chain; conversation: exchanges; pretrain: paragraphs.
    pub turns: u64,
    /// topics: subtopics per node and levels below the root.
    pub breadth: u64,
    pub depth: u64,
    /// Measured tokens per slot (prompt, completion), from a finished run's run.json.
    pub measured_tokens_per_slot: Option<(f64, f64)>,
}

/// The expected cost.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Estimate {
    /// Slots expected to reach `n` records at the acceptance rate, capped by the budget.
    pub slots: u64,
    pub slots_max: u64,
    pub records_expected: u64,
    pub llm_calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Per slot, for reading the figures.
    pub calls_per_slot: f64,
    pub prompt_tokens_per_slot: f64,
    pub completion_tokens_per_slot: f64,
    /// Whether the tokens come from a finished run rather than from prompt sizes.
    pub measured: bool,
}

/// Typical completion lengths, in tokens: a question, a cited answer, one dialogue exchange
/// or textbook paragraph, a judge's vote, a list of subtopics.
const QUESTION_TOKENS: f64 = 40.0;
const ANSWER_TOKENS: f64 = 150.0;
const PART_TOKENS: f64 = 160.0;
const JUDGE_TOKENS: f64 = 10.0;
const TOPICS_TOKENS: f64 = 60.0;
/// The passage header ("[n] title › heading" and the delimiters) around each passage shown.
const PASSAGE_OVERHEAD_BYTES: f64 = 80.0;

fn tokens(bytes: f64) -> f64 {
    bytes / BYTES_PER_TOKEN
}

/// Expected calls, prompt tokens and completion tokens of one slot of `input.task`.
fn per_slot(input: &EstimateInput, corpus: &CorpusSize, prompts: &Prompts) -> (f64, f64, f64) {
    let chunk = corpus.mean_chunk_bytes;
    let passages = input.k.max(1) as f64 * (chunk + PASSAGE_OVERHEAD_BYTES);
    let t = |template: &crate::Template| template.text.len() as f64;
    let question = 120.0; // bytes of a question
    match input.task {
        Task::Qa => {
            let q = tokens(t(&prompts.question) + chunk);
            let a = tokens(t(&prompts.answer) + passages + question);
            let (mut calls, mut prompt, mut completion) = (2.0, q + a, QUESTION_TOKENS + ANSWER_TOKENS);
            if input.judge {
                calls += 1.0;
                prompt += tokens(t(&prompts.judge) + 2.0 * chunk / 3.0 + question + 4.0 * ANSWER_TOKENS);
                completion += JUDGE_TOKENS;
            }
            (calls, prompt, completion)
        }
        Task::Followup => {
            // Each turn asks with the history so far and answers from fresh passages.
            let turns = input.turns.max(1) as f64;
            let history = |i: f64| (i + 1.0) * (question + 4.0 * ANSWER_TOKENS);
            let mut prompt = 0.0;
            for i in 0..input.turns.max(1) {
                let i = i as f64;
                prompt += tokens(t(&prompts.followup_question) + history(i) + passages);
                prompt += tokens(t(&prompts.followup_answer) + history(i) + passages + question);
            }
            (2.0 * turns, prompt, turns * (QUESTION_TOKENS + ANSWER_TOKENS))
        }
        Task::Conversation => {
            let exchanges = input.turns.max(1) as f64;
            (1.0, tokens(t(&prompts.conversation) + passages), exchanges * PART_TOKENS)
        }
        Task::Pretrain => {
            let paragraphs = input.turns.max(1) as f64;
            (1.0, tokens(t(&prompts.pretrain) + passages), paragraphs * PART_TOKENS)
        }
        Task::Dpo => (1.0, tokens(t(&prompts.answer) + passages + question), ANSWER_TOKENS),
        Task::Topic => (1.0, tokens(t(&prompts.topics) + passages), TOPICS_TOKENS),
    }
}

/// The chunks of `index`'s store and the mean size of those that can seed a record.
pub fn corpus_size(index: &quarry_index::Index) -> Result<CorpusSize, crate::GenError> {
    let mut c = CorpusSize::default();
    let mut docs = std::collections::HashSet::new();
    let mut bytes = 0usize;
    crate::engine::for_each_chunk(index, |chunk| {
        c.chunks += 1;
        docs.insert(chunk.doc_id.clone());
        if crate::seeds::ineligible(&chunk).is_none() {
            c.eligible_chunks += 1;
            bytes += chunk.text.len() + chunk.heading_path.iter().map(String::len).sum::<usize>();
        }
    })?;
    c.documents = docs.len() as u64;
    c.mean_chunk_bytes = if c.eligible_chunks > 0 { bytes as f64 / c.eligible_chunks as f64 } else { 0.0 };
    Ok(c)
}

/// The cost of a run of `input` over `corpus` with `prompts`.
pub fn estimate(input: &EstimateInput, corpus: &CorpusSize, prompts: &Prompts) -> Estimate {
    let (calls, mut prompt, mut completion) = per_slot(input, corpus, prompts);
    let measured = input.measured_tokens_per_slot.is_some();
    if let Some((p, c)) = input.measured_tokens_per_slot {
        (prompt, completion) = (p, c);
    }
    let (slots, slots_max, records) = match input.task {
        // A topic tree has one slot per node: the root and every expanded level.
        Task::Topic => {
            let nodes: u64 = (0..=input.depth).map(|d| input.breadth.max(1).pow(d as u32)).sum();
            let expanded: u64 = (0..input.depth).map(|d| input.breadth.max(1).pow(d as u32)).sum();
            (expanded, expanded, nodes)
        }
        _ => {
            let slots_max = (input.n as f64 * input.budget.max(1.0)).ceil() as u64;
            let wanted = (input.n as f64 / input.acceptance.clamp(1e-3, 1.0)).ceil() as u64;
            let slots = wanted.min(slots_max);
            let records = ((slots as f64 * input.acceptance).round() as u64).min(input.n);
            (slots, slots_max, records)
        }
    };
    let s = slots as f64;
    Estimate {
        slots,
        slots_max,
        records_expected: records,
        llm_calls: (s * calls).round() as u64,
        prompt_tokens: (s * prompt).round() as u64,
        completion_tokens: (s * completion).round() as u64,
        calls_per_slot: calls,
        prompt_tokens_per_slot: prompt.round(),
        completion_tokens_per_slot: completion.round(),
        measured,
    }
}

/// Seconds the model needs for `e` at `prompt_tps` prompt tokens and `decode_tps` generated
/// tokens per second, over `machines` machines each with its own server.
pub fn model_seconds(e: &Estimate, prompt_tps: f64, decode_tps: f64, machines: u64) -> f64 {
    let one = e.prompt_tokens as f64 / prompt_tps.max(1e-9) + e.completion_tokens as f64 / decode_tps.max(1e-9);
    one / machines.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(task: Task) -> EstimateInput {
        EstimateInput {
            task,
            n: 100,
            budget: 4.0,
            acceptance: 0.5,
            k: 4,
            judge: false,
            turns: 3,
            breadth: 3,
            depth: 2,
            measured_tokens_per_slot: None,
        }
    }

    #[test]
    fn slots_calls_and_tokens_follow_the_task() {
        let prompts = Prompts::load(None).unwrap();
        let corpus = CorpusSize { documents: 10, chunks: 100, eligible_chunks: 90, mean_chunk_bytes: 1000.0 };
        let qa = estimate(&input(Task::Qa), &corpus, &prompts);
        // 100 records at half accepted: 200 slots of the 400 the budget allows, two calls each.
        assert_eq!((qa.slots, qa.slots_max, qa.records_expected, qa.llm_calls), (200, 400, 100, 400));
        // The answer prompt holds four passages of ~250 tokens each.
        assert!(qa.prompt_tokens_per_slot > 1000.0 && qa.prompt_tokens_per_slot < 2500.0, "{qa:?}");
        let judged = estimate(&EstimateInput { judge: true, ..input(Task::Qa) }, &corpus, &prompts);
        assert_eq!(judged.llm_calls, 600);
        assert!(judged.prompt_tokens > qa.prompt_tokens);
        // A low acceptance rate is capped by the budget.
        let poor = estimate(&EstimateInput { acceptance: 0.05, ..input(Task::Qa) }, &corpus, &prompts);
        assert_eq!((poor.slots, poor.records_expected), (400, 20));
        // Follow-up chains grow with their history.
        let f = estimate(&input(Task::Followup), &corpus, &prompts);
        assert_eq!(f.calls_per_slot, 6.0);
        assert!(f.prompt_tokens_per_slot > 2.0 * qa.prompt_tokens_per_slot);
        // A topic tree of breadth 3 and depth 2: 1 + 3 expanded nodes, 13 nodes.
        let t = estimate(&input(Task::Topic), &corpus, &prompts);
        assert_eq!((t.slots, t.records_expected, t.llm_calls), (4, 13, 4));
        // Measured tokens replace the estimate; time scales with the machines.
        let m = estimate(
            &EstimateInput { measured_tokens_per_slot: Some((3000.0, 200.0)), ..input(Task::Qa) },
            &corpus,
            &prompts,
        );
        assert!(m.measured && m.prompt_tokens == 600_000 && m.completion_tokens == 40_000);
        let secs = model_seconds(&m, 1000.0, 100.0, 1);
        assert!((secs - 1000.0).abs() < 1e-6, "{secs}");
        assert!((model_seconds(&m, 1000.0, 100.0, 4) - 250.0).abs() < 1e-6);
    }
}
