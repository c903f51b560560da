//! Topic trees as data: a root topic, its subtopics breadth × depth, each node grounded by
//! passages of the corpus or flagged (written to `tree.json` by `quarry generate topics`,
//! read by the tasks it seeds with `--topics tree.json`).

use std::path::Path;

use quarry_core::{Span, TopicStatus};
use serde::{Deserialize, Serialize};

use crate::GenError;

pub const TREE_JSON: &str = "tree.json";

/// A node's best passage: the sentence of a chunk that names the topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicPassage {
    pub chunk_id: String,
    pub doc_id: String,
    pub doc_title: String,
    pub heading_path: Vec<String>,
    /// The sentence, the document's own text at `span`.
    pub quote: String,
    /// Byte span in the document's normalised text.
    pub span: Span,
    /// Share of the topic's content words the passage contains (0..1).
    pub coverage: f32,
}

/// One node of a topic tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicNode {
    pub name: String,
    /// From the root to this node.
    pub path: Vec<String>,
    pub depth: u32,
    pub status: TopicStatus,
    /// Why the node is not grounded ("" when it is).
    pub reason: String,
    pub passages: Vec<TopicPassage>,
    pub children: Vec<TopicNode>,
}

impl TopicNode {
    /// A node not yet looked up (`ungrounded` until an index grounds or flags it).
    pub(crate) fn new(name: String, path: Vec<String>, depth: u32) -> TopicNode {
        TopicNode {
            name,
            path,
            depth,
            status: TopicStatus::Ungrounded,
            reason: String::new(),
            passages: Vec::new(),
            children: Vec::new(),
        }
    }
}

/// A topic tree, as written to `tree.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicTree {
    pub root: TopicNode,
    pub breadth: u32,
    pub depth: u32,
    /// Whether nodes were checked against an index.
    pub grounded: bool,
    pub index: String,
    pub model: String,
}

impl TopicTree {
    /// Reads a `tree.json`.
    pub fn load(path: &Path) -> Result<TopicTree, GenError> {
        let bytes = std::fs::read(path).map_err(|e| GenError::io(path, e))?;
        serde_json::from_slice(&bytes).map_err(|source| GenError::BadJson {
            path: path.to_owned(),
            what: "not a topic tree (from `quarry generate topics`)",
            source,
        })
    }

    /// Every node, parents before children (breadth first).
    pub fn nodes(&self) -> Vec<&TopicNode> {
        let mut out = vec![&self.root];
        let mut i = 0;
        while i < out.len() {
            let n = out[i];
            out.extend(n.children.iter());
            i += 1;
        }
        out
    }

    /// (path, best chunk) of every grounded node but the root, for seeding other tasks.
    pub fn grounded_seeds(&self) -> Vec<(Vec<String>, String)> {
        let nodes = self.nodes();
        let seeds: Vec<(Vec<String>, String)> = nodes
            .iter()
            .filter(|n| n.depth > 0 && n.status == TopicStatus::Grounded)
            .filter_map(|n| n.passages.first().map(|p| (n.path.clone(), p.chunk_id.clone())))
            .collect();
        if seeds.is_empty() && self.root.status == TopicStatus::Grounded {
            return self
                .root
                .passages
                .first()
                .map(|p| vec![(self.root.path.clone(), p.chunk_id.clone())])
                .unwrap_or_default();
        }
        seeds
    }

    /// A short hash of the tree, recorded in the config of runs seeded from it.
    pub fn fingerprint(&self) -> String {
        blake3::hash(serde_json::to_string(self).expect("serialisable").as_bytes()).to_hex()[..16].to_owned()
    }
}
