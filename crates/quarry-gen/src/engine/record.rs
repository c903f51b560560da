//! What a slot ends as: an accepted [`Record`] or a [`Reject`] with its reason, the totals it
//! spent, and the builders every task shares (ids, sampling, turn unions, manual and
//! duplicate rejects).

use std::collections::BTreeMap;
use std::time::Instant;

use quarry_audit::Verification;
use quarry_core::{
    Citation, RECORD_SCHEMA_VERSION, Record, RecordId, Reject, Role, SamplingRecord, Task, TokenUsage, Turn, Verdict,
};
use quarry_llm::{ChatRequest, ChatResponse, LlmError};
use serde_json::{Value, json};

use crate::GenError;
use crate::dedup::Duplicate;

/// One slot's outcome.
pub enum Outcome {
    Accepted(Box<Record>),
    Rejected(Box<Reject>),
}

/// Sums over a slot or a session, for run.json.
#[derive(Default)]
pub struct Totals {
    pub usage: TokenUsage,
    pub llm_ms: f64,
    pub other_ms: f64,
}

impl Totals {
    /// Counts one model call (a cache hit costs no model time).
    pub fn add_call(&mut self, r: &ChatResponse) {
        if !r.cached {
            self.llm_ms += r.timings.total_ms;
        }
        self.add_usage(r.usage.prompt_tokens, r.usage.completion_tokens);
    }

    fn add_usage(&mut self, prompt: u64, completion: u64) {
        self.usage.prompt_tokens += prompt;
        self.usage.completion_tokens += completion;
    }

    /// Adds a slot's totals to the session's.
    pub fn add(&mut self, t: &Totals) {
        self.add_usage(t.usage.prompt_tokens, t.usage.completion_tokens);
        self.llm_ms += t.llm_ms;
        self.other_ms += t.other_ms;
    }

    /// Times `f` as work outside the model.
    pub fn other<T>(&mut self, f: impl FnOnce() -> T) -> (T, f64) {
        let t0 = Instant::now();
        let v = f();
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        self.other_ms += ms;
        (v, ms)
    }
}

/// How a slot's work stops before it becomes a record: a reject (the slot is written as
/// one), or an error that stops the whole run.
pub enum SlotEnd {
    Rejected(Box<Reject>),
    Fatal(GenError),
}

impl From<GenError> for SlotEnd {
    fn from(e: GenError) -> SlotEnd {
        SlotEnd::Fatal(e)
    }
}

/// One slot's work in progress: what it has spent, and the reject it becomes if it stops
/// (filled in as the work learns the question, the answer, the verdict).
pub struct Attempt {
    pub totals: Totals,
    pub reject: Reject,
}

impl Attempt {
    /// A slot of run `run_id` before anything is known of it.
    pub fn new(run_id: &str, slot: u64) -> Attempt {
        Attempt {
            totals: Totals::default(),
            reject: Reject {
                schema_version: RECORD_SCHEMA_VERSION,
                id: RecordId::new(run_id, slot),
                slot,
                ..Reject::default()
            },
        }
    }

    /// The slot ends rejected at `stage` for `reason`; the reject carries every token spent.
    pub fn fail(&mut self, stage: &str, reason: &str, detail: String) -> SlotEnd {
        let mut r = std::mem::take(&mut self.reject);
        r.stage = stage.into();
        r.reason = reason.into();
        r.detail = detail;
        r.usage = self.totals.usage;
        SlotEnd::Rejected(Box::new(r))
    }

    /// The slot ends because the verifier did not accept `ver`; `part` names the turn or
    /// paragraph ("" for a whole answer).
    pub fn unverified(&mut self, ver: &Verification, part: &str) -> SlotEnd {
        self.reject.verdict = Some(ver.verdict);
        self.reject.support = ver.support;
        let code = reason_code(ver);
        self.fail("verify", &code, format!("{part}{}", ver.reasons.join("; ")))
    }

    /// The slot ends on a failed model call; the tokens a reply that failed its schema spent
    /// are counted.
    pub fn llm_failed(&mut self, e: LlmError) -> SlotEnd {
        match e {
            LlmError::Schema { message, raw, usage } => {
                self.totals.add_usage(usage.prompt_tokens, usage.completion_tokens);
                self.reject.raw = raw;
                self.fail("llm", "invalid_reply", message)
            }
            other => self.fail("llm", "llm_error", other.to_string()),
        }
    }

    /// The slot's outcome and totals.
    pub fn finish(self, end: Result<Record, SlotEnd>) -> Result<(Outcome, Totals), GenError> {
        match end {
            Ok(r) => Ok((Outcome::Accepted(Box::new(r)), self.totals)),
            Err(SlotEnd::Rejected(r)) => Ok((Outcome::Rejected(r), self.totals)),
            Err(SlotEnd::Fatal(e)) => Err(e),
        }
    }
}

/// A record of `task` for `slot` of run `run_id`, with the schema version set.
pub fn new_record(task: Task, run_id: &str, slot: u64) -> Record {
    Record { schema_version: RECORD_SCHEMA_VERSION, id: RecordId::new(run_id, slot), task, slot, ..Record::default() }
}

pub(crate) fn sampling_record(r: &ChatRequest) -> SamplingRecord {
    SamplingRecord { temperature: r.temperature, top_p: r.top_p, max_tokens: r.max_tokens, seed: r.seed.unwrap_or(0) }
}

/// Why the checks turned a question and answer down: the stage (`question`, `answer` or
/// `verify`), the reason code and the words that caused it.
#[derive(Clone, Debug, PartialEq)]
pub struct Turndown {
    pub stage: &'static str,
    pub reason: String,
    pub detail: String,
}

/// One question and its answer as a task made them, for [`decide`].
pub struct Candidate<'a> {
    pub question: &'a str,
    /// The texts the question was written from (a copied sentence is caught against them).
    pub seed_texts: &'a [&'a str],
    pub answer: &'a str,
    /// A textbook paragraph (its own length limits; no question checks).
    pub paragraph: bool,
    /// The citations as the model wrote them, of `passages` (passage `n` is `passages[n - 1]`).
    pub raw: &'a [quarry_audit::RawCitation],
    pub passages: &'a [quarry_audit::PassageView],
    /// The language it should be written in (ISO 639-1; "" when unknown).
    pub language: &'a str,
}

/// The checks every verifying task applies to one question and its answer, in the pipeline's
/// order: the question's own checks (against the texts it was written from), the answer's,
/// then verification of the citations against the passages shown (with `embed`, the model the
/// tasks verify with). The judged-set benchmark decides stored records with it, so what it
/// measures is what the tasks do.
pub fn decide(
    c: &Candidate<'_>,
    embed: Option<quarry_audit::Embed<'_>>,
    cfg: &quarry_audit::VerifyConfig,
) -> Result<Verification, Turndown> {
    let turn = |stage, (reason, detail): (&str, String)| Turndown { stage, reason: reason.into(), detail };
    if !c.paragraph {
        crate::filters::check_question(c.question, c.seed_texts, c.language).map_err(|e| turn("question", e))?;
        crate::filters::check_answer(c.answer).map_err(|e| turn("answer", e))?;
    } else {
        crate::filters::check_paragraph(c.answer).map_err(|e| turn("answer", e))?;
    }
    crate::filters::check_language(c.answer, c.language).map_err(|e| turn("answer", e))?;
    let mut cfg = cfg.clone();
    cfg.support.language = quarry_audit::Lang::of(c.language);
    let ver = quarry_audit::verify(c.question, c.answer, c.raw, c.passages, embed, &cfg);
    if !acceptable(&ver, false) {
        return Err(Turndown { stage: "verify", reason: reason_code(&ver), detail: ver.reasons.join("; ") });
    }
    Ok(ver)
}

/// The reason code a verification that is not accepted is rejected with.
fn reason_code(ver: &Verification) -> String {
    ver.reason_code.clone().unwrap_or_else(|| ver.verdict.as_str().into())
}

/// Whether a task accepts a verification: a supported (or, when asked, partial) verdict
/// with at least one located citation.
pub(crate) fn acceptable(v: &Verification, accept_partial: bool) -> bool {
    let verdict = match v.verdict {
        Verdict::Supported => true,
        Verdict::Partial => accept_partial,
        Verdict::Unsupported => false,
    };
    verdict && !v.citations.is_empty()
}

/// Template names and hashes, for run.json's config.
fn prompts_json(templates: &[&crate::Template]) -> Value {
    json!(templates.iter().map(|t| (t.name.clone(), t.hash())).collect::<BTreeMap<_, _>>())
}

/// A task's configuration as run.json records it (a run directory refuses to resume with
/// another): the task, its own settings (`own`, in order), the index and the model, its
/// sampling (`sampling`, in order), the prompt templates and the record schema version.
pub(crate) fn task_config(
    task: Task,
    own: Value,
    index: String,
    model: &dyn quarry_llm::ChatModel,
    sampling: Value,
    prompts: &[&crate::Template],
) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("task".into(), json!(task));
    m.extend(own.as_object().cloned().unwrap_or_default());
    m.insert("index".into(), json!(index));
    m.insert("backend".into(), json!(model.backend()));
    m.insert("model".into(), json!(model.model()));
    m.extend(sampling.as_object().cloned().unwrap_or_default());
    m.insert("prompts".into(), prompts_json(prompts));
    m.insert("record_schema_version".into(), json!(RECORD_SCHEMA_VERSION));
    Value::Object(m)
}

/// A user turn (not verified).
pub(crate) fn user_turn(speaker: &str, content: String) -> Turn {
    Turn { role: Role::User, speaker: speaker.into(), content, support: -1.0, ..Turn::default() }
}

/// The conversation so far as prompt text.
pub(crate) fn history(turns: &[Turn]) -> String {
    turns
        .iter()
        .map(|t| {
            let who = if t.speaker.is_empty() { t.role.as_str() } else { &t.speaker };
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
    turns.iter().filter_map(|t| t.verdict).max().unwrap_or(Verdict::Unsupported)
}

/// The lowest support and quote match of the verified turns, as (mean or min) scores.
pub(crate) fn lowest_quote_match(turns: &[Turn]) -> f32 {
    turns.iter().flat_map(|t| &t.citations).map(|c| c.match_score).fold(1.0, f32::min)
}

/// A record turned into a reject because it duplicates an earlier record.
pub fn duplicate_reject(r: &Record, dup: &Duplicate) -> Reject {
    Reject { detail: dup.detail(), duplicate_of: Some(dup.of().clone()), ..manual_reject(r, "dedup", "duplicate", "") }
}

/// A record turned into a reject by a person or a later stage, with the reason.
pub fn manual_reject(r: &Record, stage: &str, reason: &str, detail: &str) -> Reject {
    Reject {
        schema_version: RECORD_SCHEMA_VERSION,
        id: r.id.clone(),
        slot: r.slot,
        attempt: 0,
        stage: stage.into(),
        reason: reason.into(),
        detail: detail.into(),
        question: r.question.clone(),
        question_type: r.question_type.clone(),
        answer: r.answer.clone(),
        // A dialogue, passage or pair is kept whole, so nothing is lost by the move.
        raw: if r.task == Task::Qa { String::new() } else { serde_json::to_string(r).expect("serialisable") },
        seed_chunks: r.seed_chunks.clone(),
        verdict: Some(r.verdict),
        support: r.scores.support,
        usage: r.usage,
        controls: r.controls.clone(),
        duplicate_of: None,
    }
}
