//! The grounded Q&A task.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use quarry_audit::{PassageView, RawCitation, VerifyConfig};
use quarry_core::{
    ChunkId, RECORD_SCHEMA_VERSION, Record, Reject, SamplingRecord, Scores, StageTimings, TokenUsage, Verdict,
    heading_path_display,
};
use quarry_index::{Index, Mode, SearchOptions};
use quarry_llm::{ChatModel, ChatRequest, LlmError, Message, Purpose, Sampling};
use serde::Serialize;
use serde_json::{Value, json};

use crate::dedup::{DedupConfig, Deduper};
use crate::run_dir::RunDir;
use crate::seeds::{ChunkInfo, Plan, mix};
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

/// Per-task overrides of the sampling defaults.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SamplingOverride {
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub max_tokens: Option<u32>,
}

impl SamplingOverride {
    fn apply(&self, purpose: Purpose) -> Sampling {
        let d = purpose.sampling();
        Sampling {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_p: self.top_p.unwrap_or(d.top_p),
            max_tokens: self.max_tokens.unwrap_or(d.max_tokens),
        }
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
        }
    }
}

/// Progress of a run, after every slot.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub accepted: usize,
    pub rejected: usize,
    pub target: usize,
}

/// How a run ended.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub target: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Whether n records were reached.
    pub complete: bool,
    pub run_json: Value,
}

/// One slot's outcome.
enum Outcome {
    Accepted(Box<Record>),
    Rejected(Box<Reject>),
}

/// Sums over a session, for run.json.
#[derive(Default)]
struct Totals {
    usage: TokenUsage,
    llm_ms: f64,
    other_ms: f64,
}

impl Totals {
    /// Counts one model call (a cache hit costs no model time).
    fn add_call(&mut self, r: &quarry_llm::ChatResponse) {
        if !r.cached {
            self.llm_ms += r.timings.total_ms;
        }
        self.usage.prompt_tokens += r.usage.prompt_tokens;
        self.usage.completion_tokens += r.usage.completion_tokens;
    }

    /// Adds a slot's totals to the session's.
    fn add(&mut self, t: &Totals) {
        self.usage.prompt_tokens += t.usage.prompt_tokens;
        self.usage.completion_tokens += t.usage.completion_tokens;
        self.llm_ms += t.llm_ms;
        self.other_ms += t.other_ms;
    }
}

/// Generates grounded Q&A from an index.
pub struct QaGenerator {
    index: Arc<Index>,
    model: Arc<dyn ChatModel>,
    prompts: Prompts,
    plan: Plan,
    cfg: QaConfig,
    run_id: String,
    verify: VerifyConfig,
}

/// The quotable sentences of a passage: each a substring of it, at most 300 bytes.
fn quotable(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in quarry_audit::split_sentences(text) {
        let s = text[r].trim();
        if s.len() < 20 {
            continue;
        }
        let mut end = s.len().min(300);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let s = s[..end].trim_end().to_owned();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        let t = text.trim();
        let mut end = t.len().min(300);
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        out.push(t[..end].to_owned());
    }
    out
}

/// The answer's schema. Each citation is one of the shown passages with a quote drawn from
/// that passage's own sentences (an enum): with a grammar-constrained backend the model
/// cannot invent a quote. The verifier checks every citation all the same.
fn answer_schema(passages: &[&str]) -> Value {
    let choices: Vec<Value> = passages
        .iter()
        .enumerate()
        .map(|(i, text)| {
            json!({
                "type": "object",
                "properties": {
                    "passage": {"const": i + 1},
                    "quote": {"enum": quotable(text)}
                },
                "required": ["passage", "quote"],
                "additionalProperties": false
            })
        })
        .collect();
    json!({
        "type": "object",
        "properties": {
            "citations": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"anyOf": choices}},
            "answer": {"type": "string", "minLength": 1, "maxLength": 400}
        },
        // Backends that generate in schema order follow `required`: evidence first.
        "required": ["citations", "answer"],
        "additionalProperties": false
    })
}

fn question_schema() -> Value {
    json!({
        "type": "object",
        // A real question: a question word first, one question mark at the end.
        "properties": {"question": {"type": "string", "pattern": "^(What|Which|Who|When|Where|Why|How) [^?\"\\\\\n]{10,200}[?]$"}},
        "required": ["question"],
        "additionalProperties": false
    })
}

/// Corpus text inside the delimiters: a closing marker in the text itself is defused.
fn data(text: &str) -> String {
    text.replace("PASSAGE>>>", "PASSAGE> > >").replace("<<<PASSAGE", "< < <PASSAGE")
}

fn heading_of(title: &str, path: &[String]) -> String {
    if path.is_empty() { title.to_owned() } else { heading_path_display(path) }
}

impl QaGenerator {
    /// Plans a run over the chunks of `index`'s store.
    pub fn new(
        index: Arc<Index>,
        model: Arc<dyn ChatModel>,
        prompts: Prompts,
        cfg: QaConfig,
    ) -> Result<Self, GenError> {
        if cfg.n == 0 {
            return Err(GenError::Config("--n must be at least 1".into()));
        }
        let store = quarry_ingest::Store::open(&quarry_index::index::store_dir(index.dir()))
            .map_err(|e| GenError::Config(format!("cannot open the index's store: {e}")))?;
        let mut chunks = Vec::new();
        for item in store.documents() {
            let (doc, doc_chunks) = item.map_err(|e| GenError::Config(format!("reading the store: {e}")))?;
            for c in doc_chunks {
                chunks.push(ChunkInfo {
                    chunk_id: c.id.to_string(),
                    doc_id: doc.id.to_string(),
                    title: doc.title.clone(),
                    heading_path: c.heading_path.clone(),
                    token_count: c.token_count,
                    text: c.text,
                });
            }
        }
        let plan = Plan::new(chunks, cfg.n, cfg.seed);
        if plan.eligible.is_empty() {
            return Err(GenError::Config(format!(
                "no chunk of {} can seed a question (excluded: {:?}); index longer prose",
                index.dir().display(),
                plan.excluded
            )));
        }
        let run_id = blake3::hash(format!("qa/{}", cfg.seed).as_bytes()).to_hex()[..8].to_owned();
        Ok(QaGenerator { index, model, prompts, plan, cfg, run_id, verify: VerifyConfig::default() })
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Chunks that can seed questions, and those left out by reason.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The configuration recorded in run.json; a run directory refuses another one.
    /// (`n` is not part of it: asking for more records extends a run.)
    pub fn config_json(&self) -> Value {
        let q = self.cfg.question_sampling.apply(Purpose::Questions);
        let a = self.cfg.answer_sampling.apply(Purpose::Factual);
        json!({
            "task": "qa",
            "seed": self.cfg.seed,
            "mix": self.cfg.mix.iter().map(|(t, w)| format!("{}={w}", t.as_str())).collect::<Vec<_>>().join(","),
            "k": self.cfg.k,
            "accept_partial": self.cfg.accept_partial,
            "judge": self.cfg.judge,
            "index": self.index.dir().display().to_string(),
            "backend": self.model.backend(),
            "model": self.model.model(),
            "question_sampling": q,
            "answer_sampling": a,
            "prompts": self.prompts.all().iter().map(|t| (t.name.clone(), t.hash())).collect::<BTreeMap<_, _>>(),
            "record_schema_version": RECORD_SCHEMA_VERSION,
        })
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

    /// The question's embedding for semantic dedup (empty when embedding fails).
    fn embed_question(&self, q: &str) -> Vec<f32> {
        self.index.embedder().embed(&[q]).ok().and_then(|mut v| v.pop()).unwrap_or_default()
    }

    fn search(&self, query: &str, k: usize) -> Result<Vec<quarry_index::Hit>, GenError> {
        Ok(self.index.search(query, &SearchOptions { mode: Mode::Hybrid, k, ..SearchOptions::default() })?)
    }

    /// A chunk related to `seed` for a multi-hop question: the best retrieval hit for its
    /// text that is not the seed or its neighbour.
    fn partner(&self, seed: &ChunkInfo) -> Result<Option<quarry_index::Hit>, GenError> {
        let probe: String = seed.text.chars().take(600).collect();
        let ordinal = |id: &str| id.rsplit('-').next().and_then(|n| n.parse::<i64>().ok()).unwrap_or(-99);
        let hits = self.search(&probe, 8)?;
        Ok(hits.into_iter().find(|h| {
            let id = h.chunk_id.to_string();
            id != seed.chunk_id
                && !(h.doc_id.to_string() == seed.doc_id && (ordinal(&id) - ordinal(&seed.chunk_id)).abs() <= 1)
                && h.text.len() > 200
        }))
    }

    fn request(&self, system: String, user: String, purpose: Purpose, o: &SamplingOverride, seed: u64) -> ChatRequest {
        let s = o.apply(purpose);
        let mut r = ChatRequest::new(vec![Message::system(system), Message::user(user)], purpose).with_seed(seed);
        r.temperature = s.temperature;
        r.top_p = s.top_p;
        r.max_tokens = s.max_tokens;
        r
    }

    fn sampling_record(r: &ChatRequest) -> SamplingRecord {
        SamplingRecord {
            temperature: r.temperature,
            top_p: r.top_p,
            max_tokens: r.max_tokens,
            seed: r.seed.unwrap_or(0),
        }
    }

    /// Works one slot to its outcome.
    async fn slot(&self, slot: u64) -> Result<(Outcome, Totals), GenError> {
        let mut totals = Totals::default();
        let seed = self.plan.seed_chunk(slot).expect("the plan has eligible chunks").clone();
        let mut qtype = self.pick_type(slot, &seed.text);
        let mut reject = Reject {
            schema_version: RECORD_SCHEMA_VERSION,
            id: format!("{}-{slot:06}", self.run_id),
            slot,
            attempt: 0,
            stage: String::new(),
            reason: String::new(),
            detail: String::new(),
            question: String::new(),
            question_type: qtype.as_str().into(),
            answer: String::new(),
            raw: String::new(),
            seed_chunks: vec![seed.chunk_id.clone()],
            verdict: String::new(),
            support: 0.0,
            usage: TokenUsage::default(),
        };
        let fail = |mut r: Reject, stage: &str, reason: &str, detail: String| {
            r.stage = stage.into();
            r.reason = reason.into();
            r.detail = detail;
            Outcome::Rejected(Box::new(r))
        };

        // 1. The question.
        let started = Instant::now();
        let mut seed_chunks = vec![seed.chunk_id.clone()];
        let mut seed_texts = vec![seed.text.clone()];
        let heading = heading_of(&seed.title, &seed.heading_path);
        // A multi-hop question needs a partner chunk; without one it becomes factual.
        let partner = if qtype == QuestionType::MultiHop {
            let t0 = Instant::now();
            let p = self.partner(&seed)?;
            totals.other_ms += t0.elapsed().as_secs_f64() * 1e3;
            if p.is_none() {
                qtype = QuestionType::Factual;
            }
            p
        } else {
            None
        };
        let (template, system, user) = match &partner {
            Some(p) => {
                seed_chunks.push(p.chunk_id.to_string());
                seed_texts.push(p.text.clone());
                let hb = heading_of(&p.title, &p.heading_path);
                let (s, u) = self.prompts.question_multihop.render(&[
                    ("title", &seed.title),
                    ("heading", &heading),
                    ("passage", &data(&seed.text)),
                    ("title_b", &p.title),
                    ("heading_b", &hb),
                    ("passage_b", &data(&p.text)),
                ]);
                (&self.prompts.question_multihop, s, u)
            }
            None => {
                let (s, u) = self.prompts.question.render(&[
                    ("title", &seed.title),
                    ("heading", &heading),
                    ("passage", &data(&seed.text)),
                    ("type_instruction", qtype.instruction()),
                ]);
                (&self.prompts.question, s, u)
            }
        };
        reject.question_type = qtype.as_str().into();
        reject.seed_chunks = seed_chunks.clone();
        let qreq = self
            .request(system, user, Purpose::Questions, &self.cfg.question_sampling, mix(self.cfg.seed, &[slot, 3]))
            .with_schema(question_schema());
        let qresp = match self.model.chat(&qreq).await {
            Ok(r) => r,
            Err(e) => return Ok((llm_reject(reject, e), totals)),
        };
        totals.add_call(&qresp);
        reject.usage = totals.usage;
        let question = qresp.json.as_ref().and_then(|v| v["question"].as_str()).unwrap_or_default().trim().to_owned();
        reject.question = question.clone();
        let question_ms = started.elapsed().as_secs_f64() * 1e3;
        let texts: Vec<&str> = seed_texts.iter().map(String::as_str).collect();
        if let Err((reason, detail)) = filters::check_question(&question, &texts) {
            return Ok((fail(reject, "question", reason, detail), totals));
        }

        // 2. Retrieval with the question.
        let t0 = Instant::now();
        let hits = self.search(&question, self.cfg.k)?;
        let retrieval_ms = t0.elapsed().as_secs_f64() * 1e3;
        totals.other_ms += retrieval_ms;
        if hits.is_empty() {
            return Ok((fail(reject, "answer", "no_passages", "retrieval returned nothing".into()), totals));
        }
        let round_trip_rank =
            hits.iter().position(|h| h.chunk_id.to_string() == seed.chunk_id).map_or(-1, |i| i as i64 + 1);

        // 3. The answer, from the numbered passages.
        let t0 = Instant::now();
        let passages_text: String = hits
            .iter()
            .enumerate()
            .map(|(i, h)| {
                format!(
                    "[{}] {}\n<<<PASSAGE\n{}\nPASSAGE>>>\n",
                    i + 1,
                    heading_of(&h.title, &h.heading_path),
                    data(&h.text)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let (system, user) = self.prompts.answer.render(&[("passages", &passages_text), ("question", &question)]);
        let areq = self
            .request(system, user, Purpose::Factual, &self.cfg.answer_sampling, mix(self.cfg.seed, &[slot, 4]))
            .with_schema(answer_schema(&hits.iter().map(|h| h.text.as_str()).collect::<Vec<_>>()));
        let aresp = match self.model.chat(&areq).await {
            Ok(r) => r,
            Err(e) => return Ok((llm_reject(reject, e), totals)),
        };
        totals.add_call(&aresp);
        reject.usage = totals.usage;
        let answer_ms = t0.elapsed().as_secs_f64() * 1e3;
        let v = aresp.json.clone().unwrap_or(Value::Null);
        let answer = clean_answer(v["answer"].as_str().unwrap_or_default());
        reject.answer = answer.clone();
        let raw: Vec<RawCitation> = v["citations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| {
                        Some(RawCitation {
                            passage: c["passage"].as_u64()? as u32,
                            quote: c["quote"].as_str()?.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();

        if let Err((reason, detail)) = filters::check_answer(&answer) {
            let mut r = reject;
            r.raw = aresp.text.clone();
            return Ok((fail(r, "answer", reason, detail), totals));
        }

        // 4. Verification, down to the span.
        let t0 = Instant::now();
        let mut views = Vec::with_capacity(hits.len());
        for h in &hits {
            views.push(PassageView {
                chunk_id: h.chunk_id.to_string(),
                doc_id: h.doc_id.to_string(),
                doc_title: h.title.clone(),
                heading_path: h.heading_path.clone(),
                chunk_start: h.span[0],
                text: h.text.clone(),
            });
        }
        // The embedding similarity is recorded beside the lexical score; the verdict follows
        // the lexical rule measured by `quarry eval verify` (see SupportConfig).
        let embedder = self.index.embedder();
        let embed = |texts: &[&str]| embedder.embed(texts).unwrap_or_default();
        let ver = quarry_audit::verify(&question, &answer, &raw, &views, Some(&embed), &self.verify);
        let verify_ms = t0.elapsed().as_secs_f64() * 1e3;
        totals.other_ms += verify_ms;
        let accepted = match ver.verdict {
            Verdict::Supported => true,
            Verdict::Partial => self.cfg.accept_partial,
            Verdict::Unsupported => false,
        } && !ver.citations.is_empty();
        if !accepted {
            reject.verdict = ver.verdict.as_str().into();
            reject.support = ver.support;
            reject.raw = aresp.text.clone();
            let code = ver.reason_code.clone().unwrap_or_else(|| ver.verdict.as_str().into());
            return Ok((fail(reject, "verify", &code, ver.reasons.join("; ")), totals));
        }
        let mut reasons = ver.reasons;
        if self.cfg.judge {
            let evidence: Vec<&str> = ver.citations.iter().map(|c| c.quote.as_str()).collect();
            let (system, user) = self.prompts.judge.render(&[
                ("evidence", &data(&evidence.join("\n"))),
                ("question", &question),
                ("answer", &answer),
            ]);
            let jreq = self
                .request(system, user, Purpose::Judge, &SamplingOverride::default(), mix(self.cfg.seed, &[slot, 5]))
                .with_schema(json!({
                    "type": "object",
                    "properties": {"supported": {"type": "boolean"}},
                    "required": ["supported"],
                    "additionalProperties": false
                }));
            let jresp = match self.model.chat(&jreq).await {
                Ok(r) => r,
                Err(e) => return Ok((llm_reject(reject, e), totals)),
            };
            totals.add_call(&jresp);
            if jresp.json.as_ref().and_then(|v| v["supported"].as_bool()) != Some(true) {
                reject.usage = totals.usage;
                reject.verdict = ver.verdict.as_str().into();
                reject.support = ver.support;
                return Ok((
                    fail(
                        reject,
                        "verify",
                        "judge_rejected",
                        "the LLM judge voted that the cited text does not support the answer".into(),
                    ),
                    totals,
                ));
            }
            reasons.push("LLM judge: supported".into());
        }
        let record = Record {
            schema_version: RECORD_SCHEMA_VERSION,
            id: format!("{}-{slot:06}", self.run_id),
            task: "qa".into(),
            slot,
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
            model: self.model.model(),
            backend: self.model.backend(),
            question_sampling: Self::sampling_record(&qreq),
            answer_sampling: Self::sampling_record(&areq),
            question_prompt_hash: template.hash(),
            answer_prompt_hash: self.prompts.answer.hash(),
            usage: totals.usage,
            timings: StageTimings { question_ms, retrieval_ms, answer_ms, verify_ms },
            ..Record::default()
        };
        Ok((Outcome::Accepted(Box::new(record)), totals))
    }

    /// Runs (or resumes) the task in `dir` until n records are accepted or the slot budget
    /// is spent. Outcomes are written in slot order as they complete.
    pub async fn run(&self, dir: &mut RunDir, progress: &(dyn Fn(Progress) + Sync)) -> Result<RunSummary, GenError> {
        let started = Instant::now();
        let n = self.cfg.n;
        let max_slots = ((n as f32 * self.cfg.budget).ceil() as u64).max(n as u64);
        let mut totals = Totals::default();
        let mut accepted = dir.records_so_far.len();
        progress(Progress { accepted, rejected: dir.rejects_so_far.len(), target: n });
        // Duplicates are judged against every record before them, in slot order.
        let mut dedup = Deduper::new(DedupConfig::default());
        let questions: Vec<&str> = dir.records_so_far.iter().map(|r| r.question.as_str()).collect();
        let embeddings = self.index.embedder().embed(&questions).unwrap_or_default();
        for (i, r) in dir.records_so_far.iter().enumerate() {
            dedup.add(&r.id, &r.question, embeddings.get(i).cloned().unwrap_or_default());
        }
        if accepted < n && dir.next_slot < max_slots {
            let concurrency = self.cfg.concurrency.max(1);
            let mut outcomes =
                futures::stream::iter(dir.next_slot..max_slots).map(|slot| self.slot(slot)).buffered(concurrency);
            while let Some(result) = outcomes.next().await {
                let (outcome, t) = result?;
                totals.add(&t);
                match outcome {
                    Outcome::Accepted(r) => {
                        let e = self.embed_question(&r.question);
                        if let Some(dup) = dedup.check(&r.question, &e) {
                            dir.append_reject(duplicate_reject(&r, &dup))?;
                        } else {
                            dedup.add(&r.id, &r.question, e);
                            dir.append_record(*r)?;
                            accepted += 1;
                        }
                    }
                    Outcome::Rejected(r) => dir.append_reject(*r)?,
                }
                progress(Progress { accepted, rejected: dir.rejects_so_far.len(), target: n });
                if accepted >= n {
                    break;
                }
            }
        }
        let run_json = self.run_json(dir, &totals, started.elapsed().as_secs_f64(), max_slots);
        dir.write_run_json(&run_json)?;
        Ok(RunSummary {
            run_id: self.run_id.clone(),
            target: n,
            accepted: dir.records_so_far.len().min(n),
            rejected: dir.rejects_so_far.len(),
            complete: dir.records_so_far.len() >= n,
            run_json,
        })
    }

    fn run_json(&self, dir: &RunDir, session: &Totals, session_s: f64, max_slots: u64) -> Value {
        let prev = dir.previous.clone().unwrap_or(Value::Null);
        let prev_f = |k: &str| prev["totals"][k].as_f64().unwrap_or(0.0);
        let elapsed_s = prev_f("elapsed_s") + session_s;
        let llm_s = prev_f("llm_s") + session.llm_ms / 1e3;
        let other_s = prev_f("other_s") + session.other_ms / 1e3;
        let mut by_verdict: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_stage: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_doc: BTreeMap<String, u64> = BTreeMap::new();
        let mut usage = TokenUsage::default();
        let mut round_trip_hits = 0;
        for r in &dir.records_so_far {
            *by_verdict.entry(r.verdict.as_str().into()).or_default() += 1;
            *by_type.entry(r.question_type.clone()).or_default() += 1;
            for c in &r.citations {
                *by_doc.entry(c.doc_title.clone()).or_default() += 1;
            }
            usage.prompt_tokens += r.usage.prompt_tokens;
            usage.completion_tokens += r.usage.completion_tokens;
            round_trip_hits += usize::from(r.scores.round_trip_hit);
        }
        for r in &dir.rejects_so_far {
            *by_reason.entry(r.reason.clone()).or_default() += 1;
            *by_stage.entry(r.stage.clone()).or_default() += 1;
            if !r.verdict.is_empty() {
                *by_verdict.entry(r.verdict.clone()).or_default() += 1;
            }
            usage.prompt_tokens += r.usage.prompt_tokens;
            usage.completion_tokens += r.usage.completion_tokens;
        }
        let accepted = dir.records_so_far.len();
        // Dedup: the records most often repeated (a duplicate's detail names its original).
        let id_re = regex::Regex::new(r"[0-9a-f]{8}-\d{6}").expect("valid regex");
        let mut clusters: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in dir.rejects_so_far.iter().filter(|r| r.reason == "duplicate") {
            if let Some(m) = id_re.find(&r.detail) {
                clusters.entry(m.as_str().to_owned()).or_default().push(r.id.clone());
            }
        }
        let duplicates: usize = clusters.values().map(Vec::len).sum();
        let mut largest: Vec<(String, Vec<String>)> = clusters.into_iter().collect();
        largest.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        largest.truncate(10);
        json!({
            "dedup": {
                "duplicates": duplicates,
                "largest_clusters": largest.iter().map(|(of, dups)| json!({"record": of, "duplicates": dups})).collect::<Vec<_>>(),
            },
            "run_id": self.run_id,
            "task": "qa",
            "quarry_version": env!("CARGO_PKG_VERSION"),
            "record_schema_version": RECORD_SCHEMA_VERSION,
            "target": self.cfg.n,
            "accepted": accepted,
            "rejected": dir.rejects_so_far.len(),
            "complete": accepted >= self.cfg.n,
            "slots_used": dir.next_slot,
            "slot_budget": max_slots,
            "counts_by_verdict": by_verdict,
            "counts_by_reason": by_reason,
            "counts_by_stage": by_stage,
            "counts_by_question_type": by_type,
            "citations_by_document": by_doc,
            "round_trip_recall": if accepted > 0 { round_trip_hits as f64 / accepted as f64 } else { 0.0 },
            "seed_chunks": {"eligible": self.plan.eligible.len(), "excluded": self.plan.excluded.iter().map(|(r, n)| (format!("{r:?}"), *n)).collect::<BTreeMap<_, _>>()},
            "usage": usage,
            "elapsed_s": elapsed_s,
            "totals": {"elapsed_s": elapsed_s, "llm_s": llm_s, "other_s": other_s},
            "model": self.model.model(),
            "backend": self.model.backend(),
            "index": self.index.dir().display().to_string(),
            "config": self.config_json(),
        })
    }
}

/// A record turned into a reject because its question duplicates an earlier record's.
pub fn duplicate_reject(r: &Record, dup: &crate::dedup::Duplicate) -> Reject {
    Reject { detail: dup.detail(), ..manual_reject(r, "dedup", "duplicate", "") }
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
        raw: String::new(),
        seed_chunks: r.seed_chunks.clone(),
        verdict: r.verdict.as_str().into(),
        support: r.scores.support,
        usage: r.usage,
    }
}

/// The answer without the JSON debris small models leave at its end (`"...less.},  {"`).
fn clean_answer(a: &str) -> String {
    let a = a.trim();
    let kept = a.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '{' | '}' | '[' | ']' | ','));
    if kept.len() < a.len() && a[kept.len()..].contains(['{', '}']) { kept.to_owned() } else { a.to_owned() }
}

fn llm_reject(mut r: Reject, e: LlmError) -> Outcome {
    r.stage = "llm".into();
    match e {
        LlmError::Schema { message, raw } => {
            r.reason = "invalid_reply".into();
            r.detail = message;
            r.raw = raw;
        }
        other => {
            r.reason = "llm_error".into();
            r.detail = other.to_string();
        }
    }
    Outcome::Rejected(Box::new(r))
}

/// Parses a chunk id for lookups.
pub fn chunk_id(s: &str) -> Option<ChunkId> {
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn answer_debris_is_trimmed() {
        assert_eq!(super::clean_answer(" It burns.},  { "), "It burns.");
        assert_eq!(super::clean_answer("Values are [1, 2]"), "Values are [1, 2]");
    }
}
