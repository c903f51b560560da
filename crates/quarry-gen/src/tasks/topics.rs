//! Topic trees: a root topic expanded into subtopics, breadth × depth. With an index every
//! node is grounded by retrieval and carries its best passages (a sentence span of each);
//! a node the corpus does not support is flagged `unsupported`, never silently kept as
//! grounded. Without an index the whole tree is `ungrounded`.
//!
//! The tree is written to `tree.json`; each node is also one line of the run directory: a
//! grounded (or ungrounded) node a record of task `topic`, an unsupported node a reject.
//! Other tasks take the tree's grounded nodes as their seeds (`--topics tree.json`).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use quarry_core::{
    Citation, Counts, QuoteMatch, RECORD_SCHEMA_VERSION, Record, RecordId, Reject, RunSummary, Span, Task, TokenUsage,
    TopicStatus, Verdict,
};
use quarry_index::{Hit, Index, Mode, SearchOptions};
use quarry_llm::{ChatModel, ChatRequest, Message, Purpose};
use serde_json::{Value, json};

use crate::engine::record::{new_record, task_config};
use crate::engine::slots::{run_id, session_totals};
use crate::engine::{SamplingOverride, Totals, data, heading_of};
use crate::run_dir::RunDir;
use crate::seeds::mix;
pub use crate::topic_tree::{TREE_JSON, TopicNode, TopicPassage, TopicTree};
use crate::{GenError, Prompts};

/// The order of run.json's keys for a topic tree (counts by node status first).
const TOPICS_RUN_KEYS: &[&str] = &[
    "run_id",
    "task",
    "quarry_version",
    "record_schema_version",
    "target",
    "accepted",
    "rejected",
    "complete",
    "slots_used",
    "nodes",
    "counts_by_status",
    "counts_by_reason",
    "counts_by_verdict",
    "tree",
    "usage",
    "elapsed_s",
    "totals",
    "model",
    "backend",
    "index",
    "config",
];

/// Settings of a topic-tree run.
#[derive(Clone, Debug)]
pub struct TopicsConfig {
    pub root: String,
    pub breadth: u32,
    pub depth: u32,
    pub seed: u64,
    /// Passages shown when expanding a node and kept per node.
    pub k: usize,
    /// Minimum share of a node's content words one passage must contain.
    pub min_coverage: f32,
    pub sampling: SamplingOverride,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            root: String::new(),
            breadth: 3,
            depth: 2,
            seed: 0,
            k: 3,
            min_coverage: 0.5,
            sampling: SamplingOverride::default(),
        }
    }
}

/// Expands topic trees.
pub struct TopicGenerator {
    index: Option<Arc<Index>>,
    model: Arc<dyn ChatModel>,
    prompts: Prompts,
    cfg: TopicsConfig,
    run_id: String,
    /// The language the subtopics are named in: the one most of the index's chunks are in
    /// ("" without an index or when unknown).
    language: String,
}

/// Whether a passage supports a topic name: the share of the name's content words found in
/// one sentence, and that sentence's byte range.
pub fn topic_coverage(name: &str, text: &str) -> (f32, std::ops::Range<usize>) {
    let wanted: HashSet<String> = quarry_audit::content_words(name).into_iter().collect();
    if wanted.is_empty() {
        return (0.0, 0..0);
    }
    let mut best = (0.0f32, 0..0);
    for r in quarry_audit::split_sentences(text) {
        let have: HashSet<String> = quarry_audit::content_words(&text[r.clone()]).into_iter().collect();
        let c = wanted.iter().filter(|w| have.contains(*w)).count() as f32 / wanted.len() as f32;
        if c > best.0 {
            best = (c, r);
        }
    }
    best
}

impl TopicGenerator {
    pub fn new(
        index: Option<Arc<Index>>,
        model: Arc<dyn ChatModel>,
        prompts: Prompts,
        cfg: TopicsConfig,
    ) -> Result<TopicGenerator, GenError> {
        if cfg.root.trim().is_empty() {
            return Err(GenError::Config("--root must name a topic".into()));
        }
        if cfg.breadth == 0 || cfg.breadth > 10 || cfg.depth > 4 {
            return Err(GenError::Config("--breadth must be 1..=10 and --depth 0..=4".into()));
        }
        let run_id = run_id(&format!("topics/{}/{}", cfg.root, cfg.seed));
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        if let Some(i) = &index {
            crate::engine::for_each_chunk(i, |c| *counts.entry(c.language).or_default() += 1)?;
        }
        let language = counts.into_iter().max_by_key(|(_, n)| *n).map(|(l, _)| l).unwrap_or_default();
        Ok(TopicGenerator { index, model, prompts, cfg, run_id, language })
    }

    pub fn config_json(&self) -> Value {
        let c = &self.cfg;
        let own = json!({
            "root": c.root, "breadth": c.breadth, "depth": c.depth, "seed": c.seed, "k": c.k, "min_coverage": c.min_coverage,
        });
        let index = self.index.as_ref().map_or(String::new(), |i| i.dir().display().to_string());
        let sampling = json!({"sampling": c.sampling.apply(Purpose::Questions)});
        task_config(Task::Topic, own, index, self.model.as_ref(), sampling, &[&self.prompts.topics])
    }

    fn search(&self, index: &Index, query: &str) -> Result<Vec<Hit>, GenError> {
        Ok(index.search(query, &SearchOptions { mode: Mode::Hybrid, k: self.cfg.k + 3, ..SearchOptions::default() })?)
    }

    /// Grounds a node: its best passages, or why there are none.
    fn ground(&self, node: &mut TopicNode, hits: &[Hit]) {
        for h in hits {
            let (coverage, r) = topic_coverage(&node.name, &h.text);
            if coverage >= self.cfg.min_coverage && node.passages.len() < self.cfg.k {
                let start = h.span[0] + r.start;
                node.passages.push(TopicPassage {
                    chunk_id: h.chunk_id.to_string(),
                    doc_id: h.doc_id.to_string(),
                    doc_title: h.title.clone(),
                    heading_path: h.heading_path.clone(),
                    quote: h.text[r.clone()].to_owned(),
                    span: Span::new(start, h.span[0] + r.end).expect("a sentence range"),
                    coverage,
                });
            }
        }
        if node.passages.is_empty() {
            node.status = TopicStatus::Unsupported;
            node.reason = format!(
                "no retrieved passage contains at least {:.0}% of the words of \"{}\"",
                self.cfg.min_coverage * 100.0,
                node.name
            );
        } else {
            node.status = TopicStatus::Grounded;
        }
    }

    /// Asks the model for the subtopics of `node`.
    async fn expand(
        &self,
        node: &TopicNode,
        hits: &[Hit],
        n: u64,
        totals: &mut Totals,
    ) -> Result<Vec<String>, GenError> {
        let passages = if hits.is_empty() {
            String::new()
        } else {
            let shown: Vec<Hit> = hits.iter().take(self.cfg.k).cloned().collect();
            format!("Passages from the corpus about it:\n{}\n", crate::engine::Engine::passages_block(&shown))
        };
        let (system, user) = self.prompts.topics.render(&[
            ("path", &data(&node.path.join(" > "))),
            ("topic", &data(&node.name)),
            ("passages", &passages),
            ("breadth", &self.cfg.breadth.to_string()),
            ("language", crate::engine::language_name(&self.language)),
        ]);
        // English names are held to capitalised words; other languages' to a length.
        let item = if self.language.is_empty() || self.language == "en" {
            json!({"type": "string", "pattern": "^[A-Z][A-Za-z '-]{2,50}$"})
        } else {
            json!({"type": "string", "minLength": 2, "maxLength": 60})
        };
        let s = self.cfg.sampling.apply(Purpose::Questions);
        let mut req = ChatRequest::new(vec![Message::system(system), Message::user(user)], Purpose::Questions)
            .with_seed(mix(self.cfg.seed, &[n, 11]))
            .with_schema(json!({
                "type": "object",
                "properties": {"subtopics": {
                    "type": "array",
                    "items": item,
                    "minItems": self.cfg.breadth,
                    "maxItems": self.cfg.breadth
                }},
                "required": ["subtopics"],
                "additionalProperties": false
            }));
        req.temperature = s.temperature;
        req.top_p = s.top_p;
        req.max_tokens = s.max_tokens;
        let resp = self.model.chat(&req).await?;
        totals.add_call(&resp);
        let mut seen: HashSet<String> = node.path.iter().map(|p| p.to_lowercase()).collect();
        Ok(resp
            .json
            .as_ref()
            .and_then(|v| v["subtopics"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty() && !degenerate_name(s) && seen.insert(s.to_lowercase()))
            .collect())
    }

    /// Builds the tree (breadth first), writes `tree.json` and one line per node to `dir`.
    /// Nodes are numbered in breadth-first order; a resumed run rebuilds the tree through
    /// the response cache and appends only the nodes not yet written.
    pub async fn run(
        &self,
        dir: &mut RunDir,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<(TopicTree, RunSummary), GenError> {
        let started = Instant::now();
        let mut totals = Totals::default();
        let root_name = self.cfg.root.trim().to_owned();
        let mut root = TopicNode::new(root_name.clone(), vec![root_name], 0);
        // Breadth first over paths of child indices.
        let mut queue: VecDeque<Vec<usize>> = VecDeque::from([vec![]]);
        let mut count = 0u64;
        let total_nodes: usize = (0..=self.cfg.depth).map(|d| (self.cfg.breadth as usize).pow(d)).sum();
        while let Some(at) = queue.pop_front() {
            let node = node_at(&mut root, &at);
            let hits = match &self.index {
                Some(index) => {
                    let (h, _) = totals.other(|| self.search(index, &node.path.join(" ")));
                    let h = h?;
                    self.ground(node, &h);
                    h
                }
                None => {
                    node.reason = "no index: the tree is not checked against a corpus".into();
                    Vec::new()
                }
            };
            count += 1;
            progress(count as usize, total_nodes);
            if node.depth < self.cfg.depth && node.status != TopicStatus::Unsupported {
                let children = self.expand(node, &hits, count, &mut totals).await?;
                for (i, name) in children.into_iter().enumerate() {
                    let mut path = node.path.clone();
                    path.push(name.clone());
                    node.children.push(TopicNode::new(name, path, node.depth + 1));
                    let mut child = at.clone();
                    child.push(i);
                    queue.push_back(child);
                }
            }
        }
        let tree = TopicTree {
            root,
            breadth: self.cfg.breadth,
            depth: self.cfg.depth,
            grounded: self.index.is_some(),
            index: self.index.as_ref().map_or(String::new(), |i| i.dir().display().to_string()),
            model: self.model.model(),
        };
        for (slot, node) in tree.nodes().into_iter().enumerate() {
            let slot = slot as u64;
            if slot < dir.next_slot {
                continue;
            }
            if node.status == TopicStatus::Unsupported {
                dir.append_reject(Reject {
                    schema_version: RECORD_SCHEMA_VERSION,
                    id: RecordId::new(&self.run_id, slot),
                    slot,
                    stage: "verify".into(),
                    reason: "topic_unsupported".into(),
                    detail: node.reason.clone(),
                    question: node.path.join(" > "),
                    question_type: "topic".into(),
                    verdict: Some(Verdict::Unsupported),
                    ..Reject::default()
                })?;
            } else {
                dir.append_record(self.node_record(slot, node))?;
            }
        }
        let tree_path = dir.dir.join(TREE_JSON);
        quarry_fs::write_bytes_atomic(
            &tree_path,
            serde_json::to_string_pretty(&tree).expect("serialisable").as_bytes(),
        )
        .map_err(|e| GenError::io(&tree_path, e))?;
        let nodes = tree.nodes();
        let count = |s: TopicStatus| nodes.iter().filter(|n| n.status == s).count();
        let run_totals = session_totals(dir, &totals, started.elapsed().as_secs_f64());
        let unsupported = dir.rejects_so_far.iter().filter(|r| r.reason == "topic_unsupported").count() as u64;
        let extra = json!({
            "nodes": nodes.len(),
            "counts_by_status": {"grounded": count(TopicStatus::Grounded), "unsupported": count(TopicStatus::Unsupported), "ungrounded": count(TopicStatus::Ungrounded)},
            "tree": TREE_JSON,
        });
        let summary = RunSummary {
            run_id: Some(self.run_id.clone()),
            task: Some(Task::Topic),
            quarry_version: Some(env!("CARGO_PKG_VERSION").into()),
            record_schema_version: Some(RECORD_SCHEMA_VERSION),
            target: Some(nodes.len() as u64),
            accepted: Some(dir.records_so_far.len() as u64),
            rejected: Some(dir.rejects_so_far.len() as u64),
            complete: Some(true),
            slots_used: Some(dir.next_slot),
            counts_by_reason: Some([("topic_unsupported".to_owned(), unsupported)].into()),
            counts_by_verdict: Some(Counts::new()),
            usage: Some(totals.usage),
            elapsed_s: Some(run_totals.elapsed_s),
            totals: Some(run_totals),
            model: Some(self.model.model()),
            backend: Some(self.model.backend()),
            index: Some(self.index.as_ref().map_or(String::new(), |i| i.dir().display().to_string())),
            config: self.config_json(),
            extra: extra.as_object().expect("an object").clone(),
            key_order: TOPICS_RUN_KEYS.iter().map(|k| (*k).to_owned()).collect(),
            ..RunSummary::default()
        };
        dir.write_run_json(&summary)?;
        Ok((tree, summary))
    }

    fn node_record(&self, slot: u64, node: &TopicNode) -> Record {
        let citations: Vec<Citation> = node
            .passages
            .iter()
            .enumerate()
            .map(|(i, p)| Citation {
                passage: i as u32 + 1,
                chunk_id: p.chunk_id.clone(),
                doc_id: p.doc_id.clone(),
                doc_title: p.doc_title.clone(),
                heading_path: p.heading_path.clone(),
                quote: p.quote.clone(),
                model_quote: p.quote.clone(),
                span: p.span,
                match_kind: QuoteMatch::Exact,
                match_score: 1.0,
            })
            .collect();
        let grounded = node.status == TopicStatus::Grounded;
        Record {
            question: node.name.clone(),
            question_type: "topic".into(),
            answer: node.passages.first().map(|p| heading_of(&p.doc_title, &p.heading_path)).unwrap_or_default(),
            passages: node.passages.iter().map(|p| p.chunk_id.clone()).collect(),
            citations,
            verdict: if grounded { Verdict::Supported } else { Verdict::Unsupported },
            reasons: if grounded { vec![] } else { vec![node.reason.clone()] },
            scores: quarry_core::Scores {
                support: node.passages.iter().map(|p| p.coverage).fold(0.0, f32::max),
                quote_match: 1.0,
                round_trip_rank: -1,
                user_content_share: -1.0,
                ..Default::default()
            },
            model: self.model.model(),
            backend: self.model.backend(),
            question_prompt_hash: self.prompts.topics.hash(),
            usage: TokenUsage::default(),
            topic_path: node.path.clone(),
            ..new_record(Task::Topic, &self.run_id, slot)
        }
    }
}

/// A subtopic name a small model repeated itself in ("Candle, Candle, Candle"): a content
/// word twice, or no content word at all.
pub fn degenerate_name(name: &str) -> bool {
    let words = quarry_audit::content_words(name);
    let distinct: HashSet<&String> = words.iter().collect();
    words.is_empty() || distinct.len() < words.len()
}

fn node_at<'a>(root: &'a mut TopicNode, at: &[usize]) -> &'a mut TopicNode {
    let mut n = root;
    for &i in at {
        n = &mut n.children[i];
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_finds_the_naming_sentence() {
        let text = "Snow is white. The albedo of fresh snow is very high. Forests absorb light.";
        let (c, r) = topic_coverage("Snow albedo", text);
        assert_eq!(c, 1.0);
        assert_eq!(&text[r], "The albedo of fresh snow is very high.");
        assert_eq!(topic_coverage("Quantum chromodynamics", text).0, 0.0);
    }

    #[test]
    fn repeated_names_are_degenerate() {
        assert!(degenerate_name("A Candle, A Candle, A Candle"));
        assert!(degenerate_name("Candle History of a Candle"));
        assert!(degenerate_name("The"));
        assert!(!degenerate_name("Chemical History of a Candle"));
    }
}
