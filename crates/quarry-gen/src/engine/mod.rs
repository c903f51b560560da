//! What every task shares: the index and model of a run, retrieval, prompt requests, model
//! calls that count what they spend, verification of a cited text, and the seed plan.
//!
//! - [`schema`]: the JSON schemas the model fills (citations, answers, questions);
//! - [`record`]: what a slot ends as, and the record and reject builders;
//! - [`slots`]: the slot loop that writes a run directory, run.json and the dedup pass.

pub mod record;
pub mod schema;
pub mod slots;

use std::sync::Arc;

use quarry_audit::{PassageView, RawCitation, Verification, VerifyConfig};
use quarry_core::heading_path_display;
use quarry_index::{Hit, Index, Mode, SearchOptions};
use quarry_llm::{ChatModel, ChatRequest, ChatResponse, LlmError, Message, Purpose, Sampling};
use serde::Serialize;

use crate::seeds::{ChunkInfo, Plan, PlanBuilder};
use crate::topic_tree::TopicTree;
use crate::{GenError, Prompts};
pub use record::{Attempt, Candidate, Outcome, SlotEnd, Totals, Turndown, decide};

/// Per-task overrides of the sampling defaults.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SamplingOverride {
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub max_tokens: Option<u32>,
}

impl SamplingOverride {
    pub fn apply(&self, purpose: Purpose) -> Sampling {
        let d = purpose.sampling();
        Sampling {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_p: self.top_p.unwrap_or(d.top_p),
            max_tokens: self.max_tokens.unwrap_or(d.max_tokens),
        }
    }
}

/// The index, the model and the prompts of a run.
pub struct Engine {
    pub index: Arc<Index>,
    pub model: Arc<dyn ChatModel>,
    pub prompts: Prompts,
    pub verify: VerifyConfig,
    /// Each document's language by document id, read from the store when first needed (or
    /// given by the plan, which has read it already).
    languages: std::sync::OnceLock<std::collections::HashMap<String, String>>,
    /// Whether any model call has succeeded, and the calls that timed out since the last
    /// success: see [`fatal`].
    reached: std::sync::atomic::AtomicBool,
    timeouts: std::sync::atomic::AtomicU32,
}

/// Calls in a row that timed out (each after its own retries) before a run that had reached
/// its server stops: the server hangs.
pub const MAX_TRANSPORT_FAILURES: u32 = 3;

/// Why a failed model call stops the whole run, if it does: a key refused (401, 403), no
/// such model or endpoint (404), a server that cannot be reached (after the client's retries:
/// never reached, or gone), or one whose calls timed out [`MAX_TRANSPORT_FAILURES`] times in
/// a row (or at the first call). Rate limits (429) and server errors (5xx) were already
/// retried by the client and cost only their slot. A call that stops the run writes no
/// reject, so the same command does that slot again.
pub fn fatal(e: &LlmError, reached: bool, timeouts: u32) -> Option<String> {
    match e {
        LlmError::Status { status: 401 | 403, .. } => Some("the server refused the API key".into()),
        LlmError::Status { status: 404, .. } => Some("no such model or endpoint on the server".into()),
        LlmError::Config(_) => Some("the model is not configured".into()),
        LlmError::Unreachable { .. } if !reached => Some("the model server cannot be reached".into()),
        LlmError::Unreachable { .. } => Some("the model server stopped answering".into()),
        LlmError::Timeout { .. } if !reached => Some("the model server does not answer".into()),
        LlmError::Timeout { .. } if timeouts >= MAX_TRANSPORT_FAILURES => {
            Some(format!("the model server stopped answering ({timeouts} calls in a row timed out)"))
        }
        _ => None,
    }
}

/// The name of a language for a prompt's `{{language}}` ("Hindi" for "hi"), or "the language
/// of the passages" when it is not known.
pub fn language_name(code: &str) -> &'static str {
    quarry_ingest::language::name(code).unwrap_or("the language of the passages")
}

/// Corpus text inside the delimiters: a closing marker in the text itself is defused.
pub(crate) fn data(text: &str) -> String {
    text.replace("PASSAGE>>>", "PASSAGE> > >").replace("<<<PASSAGE", "< < <PASSAGE")
}

pub(crate) fn heading_of(title: &str, path: &[String]) -> String {
    if path.is_empty() { title.to_owned() } else { heading_path_display(path) }
}

/// Calls `f` with every chunk of the index's store, in corpus order.
pub(crate) fn for_each_chunk(index: &Index, mut f: impl FnMut(ChunkInfo)) -> Result<(), GenError> {
    let dir = quarry_index::index::store_dir(index.dir());
    let store = quarry_ingest::Store::open(&dir).map_err(|source| GenError::Store { dir: dir.clone(), source })?;
    for item in store.chunks() {
        let s = item.map_err(|source| GenError::Store { dir: dir.clone(), source })?;
        let c = s.chunk;
        f(ChunkInfo {
            chunk_id: c.id.to_string(),
            doc_id: c.doc_id.to_string(),
            title: s.title,
            heading_path: c.heading_path,
            token_count: c.token_count,
            text: c.text,
            topic_path: Vec::new(),
            language: s.language,
        });
    }
    Ok(())
}

/// The seed plan of a run over `index`: every eligible chunk, or the grounded nodes of a
/// topic tree (each seeding with its best passage). The plan keeps no chunk text.
pub(crate) fn plan(index: &Index, n: usize, seed: u64, topics: Option<&TopicTree>) -> Result<Plan, GenError> {
    let plan = match topics {
        None => {
            let mut b = PlanBuilder::default();
            for_each_chunk(index, |c| b.add(c))?;
            b.finish(n, seed)
        }
        Some(tree) => {
            let wanted: std::collections::HashMap<String, Vec<String>> =
                tree.grounded_seeds().into_iter().map(|(path, chunk)| (chunk, path)).collect();
            let mut seeds = Vec::new();
            for_each_chunk(index, |c| {
                if let Some(path) = wanted.get(&c.chunk_id) {
                    seeds.push(ChunkInfo { topic_path: path.clone(), ..c });
                }
            })?;
            if seeds.is_empty() {
                return Err(GenError::Config(
                    "the topic tree has no grounded node whose passage is in this index".into(),
                ));
            }
            Plan::from_seeds(seeds, n, seed)
        }
    };
    if plan.eligible.is_empty() {
        return Err(GenError::Config(format!(
            "no chunk of {} can seed a record (excluded: {:?}); index longer prose",
            index.dir().display(),
            plan.excluded
        )));
    }
    Ok(plan)
}

impl Engine {
    pub fn new(index: Arc<Index>, model: Arc<dyn ChatModel>, prompts: Prompts) -> Engine {
        Engine {
            index,
            model,
            prompts,
            verify: VerifyConfig::default(),
            languages: Default::default(),
            reached: Default::default(),
            timeouts: Default::default(),
        }
    }

    /// Takes the documents' languages from a plan (every seed's document is in it), so that
    /// [`Engine::language`] need not read the store again.
    pub fn with_languages(self, plan: &crate::seeds::Plan) -> Engine {
        let map = plan.eligible.iter().map(|c| (c.doc_id.clone(), c.language.clone())).collect();
        let _ = self.languages.set(map);
        self
    }

    /// The language (ISO 639-1, "" when unknown) of the document of `chunk_id`: the language
    /// a slot seeded there is written in.
    pub fn language(&self, chunk_id: &str) -> String {
        let doc = chunk_id.parse::<quarry_core::ChunkId>().map(|c| c.doc_id().to_string()).unwrap_or_default();
        let map = self.languages.get_or_init(|| {
            let mut m = std::collections::HashMap::new();
            // An unreadable store reads as no language known; the run itself reports it.
            let _ = for_each_chunk(&self.index, |c| {
                m.entry(c.doc_id).or_insert(c.language);
            });
            m
        });
        map.get(&doc).cloned().unwrap_or_default()
    }

    pub fn search(&self, query: &str, k: usize) -> Result<Vec<Hit>, GenError> {
        Ok(self.index.search(query, &SearchOptions { mode: Mode::Hybrid, k, ..SearchOptions::default() })?)
    }

    /// A chunk by id, as a retrieval hit (for passages recorded by an earlier run).
    pub fn hit(&self, chunk_id: &str) -> Result<Hit, GenError> {
        let id: quarry_core::ChunkId = chunk_id.parse()?;
        let c = self
            .index
            .chunk(&id)?
            .ok_or_else(|| GenError::UnknownChunk { chunk: chunk_id.to_owned(), index: self.index.dir().to_owned() })?;
        Ok(Hit {
            rank: 0,
            score: 0.0,
            bm25: None,
            dense: None,
            chunk_id: c.chunk_id,
            doc_id: c.doc_id,
            title: c.title,
            heading_path: c.heading_path,
            span: [c.span.start(), c.span.end()],
            text: c.text,
            neighbours: Vec::new(),
        })
    }

    pub fn request(
        &self,
        system: String,
        user: String,
        purpose: Purpose,
        o: &SamplingOverride,
        seed: u64,
    ) -> ChatRequest {
        let s = o.apply(purpose);
        let mut r = ChatRequest::new(vec![Message::system(system), Message::user(user)], purpose).with_seed(seed);
        r.temperature = s.temperature;
        r.top_p = s.top_p;
        r.max_tokens = s.max_tokens;
        r
    }

    /// One call of the run's model: the reply, with its tokens and time counted in `a`; a
    /// failed call ends the slot as an `llm` reject.
    pub async fn call(&self, req: &ChatRequest, a: &mut Attempt) -> Result<ChatResponse, SlotEnd> {
        self.call_with(self.model.as_ref(), req, a).await
    }

    /// [`Engine::call`] with another model (a DPO pair's weaker model).
    pub async fn call_with(
        &self,
        model: &dyn ChatModel,
        req: &ChatRequest,
        a: &mut Attempt,
    ) -> Result<ChatResponse, SlotEnd> {
        use std::sync::atomic::Ordering::SeqCst;
        match model.chat(req).await {
            Ok(r) => {
                self.reached.store(true, SeqCst);
                self.timeouts.store(0, SeqCst);
                a.totals.add_call(&r);
                Ok(r)
            }
            Err(e) => {
                let failures = match e {
                    LlmError::Timeout { .. } => self.timeouts.fetch_add(1, SeqCst) + 1,
                    _ => 0,
                };
                match fatal(&e, self.reached.load(SeqCst), failures) {
                    Some(why) => Err(SlotEnd::Fatal(GenError::LlmDown { why, source: e })),
                    None => Err(a.llm_failed(e)),
                }
            }
        }
    }

    /// The numbered passages block of a prompt.
    pub fn passages_block(hits: &[Hit]) -> String {
        hits.iter()
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
            .join("\n")
    }

    pub fn views(hits: &[Hit]) -> Vec<PassageView> {
        hits.iter()
            .map(|h| PassageView {
                chunk_id: h.chunk_id.to_string(),
                doc_id: h.doc_id.to_string(),
                doc_title: h.title.clone(),
                heading_path: h.heading_path.clone(),
                chunk_start: h.span[0],
                text: h.text.clone(),
            })
            .collect()
    }

    /// Verifies a cited text (an answer, a dialogue turn, a paragraph) against the passages
    /// it was written from. The embedding similarity is recorded beside the lexical score;
    /// the verdict follows the lexical rule measured by `quarry eval verify`.
    /// `language` (ISO 639-1) picks the verifier's language rules.
    pub fn verify(
        &self,
        language: &str,
        question: &str,
        text: &str,
        raw: &[RawCitation],
        hits: &[Hit],
    ) -> Verification {
        let embedder = self.index.embedder();
        let embed = |texts: &[&str]| embedder.embed(texts).unwrap_or_default();
        let mut cfg = self.verify.clone();
        cfg.support.language = quarry_audit::Lang::of(language);
        quarry_audit::verify(question, text, raw, &Self::views(hits), Some(&embed), &cfg)
    }

    /// A task's configuration over this engine's index and model (see [`record::task_config`]).
    pub fn config(
        &self,
        task: quarry_core::Task,
        own: serde_json::Value,
        sampling: serde_json::Value,
        prompts: &[&crate::Template],
    ) -> serde_json::Value {
        let index = self.index.dir().display().to_string();
        record::task_config(task, own, index, self.model.as_ref(), sampling, prompts)
    }

    /// An embedding for dedup (empty when embedding fails).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        self.index.embedder().embed(&[text]).ok().and_then(|mut v| v.pop()).unwrap_or_default()
    }

    /// Embeddings of many texts at once (empty vectors when embedding fails).
    pub fn embed_all(&self, texts: &[String]) -> Vec<Vec<f32>> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.index.embedder().embed(&refs).unwrap_or_default()
    }
}
