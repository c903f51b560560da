//! Grounded synthetic data generation.
//!
//! `qa` is the main task: seed chunks chosen to cover the corpus ([`seeds`]), a question
//! written from each ([`prompts`], filtered by [`filters`]), retrieval with the question,
//! an answer with citations from the passages retrieval shows, and verification of every
//! citation down to the span (quarry-audit). Results go to a resumable run directory
//! ([`run_dir`]). Models are reached only through quarry-llm's `ChatModel`.
//!
//! Layout: [`engine`] is what every task shares (model calls, schemas, the slot loop,
//! run.json, dedup); [`tasks`] holds one module per task; nothing in `engine` imports a task.

pub mod dedup;
pub mod engine;
mod error;
pub mod estimate;
pub mod filters;
pub mod merge;
pub mod prompts;
pub mod rag;
pub mod review;
pub mod run_dir;
pub mod seeds;
pub mod tasks;
pub mod topic_tree;

pub use engine::slots::{Progress, SlotTask};
pub use engine::{SamplingOverride, record::manual_reject};
pub use error::GenError;
pub use prompts::{Prompts, Template};
pub use run_dir::RunDir;
pub use tasks::qa::{QaConfig, QaGenerator, QuestionType};

#[cfg(test)]
mod judged_set {
    //! The judged-records set (`tests/judged/`, read by `cargo bench --bench judged`) holds
    //! what its README promises: at least 400 items, every one judged once with a category and
    //! a reason, parts split by corpus, a held-out part of at least a quarter.

    use std::collections::{BTreeMap, BTreeSet};

    fn lines(name: &str) -> Vec<serde_json::Value> {
        let path = std::path::PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../tests/judged")
        .join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
            .collect()
    }

    #[test]
    fn every_item_is_judged_once_and_parts_are_split_by_corpus() {
        let items = lines("items.jsonl");
        let judgments = lines("judgments.jsonl");
        assert!(items.len() >= 400, "{} items", items.len());
        let ids: BTreeSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), items.len(), "an item id repeats");
        let judged: BTreeSet<&str> = judgments.iter().map(|j| j["id"].as_str().unwrap()).collect();
        assert_eq!(judged.len(), judgments.len(), "an item is judged twice");
        assert_eq!(ids, judged, "items and judgments differ");
        const CATEGORIES: &[&str] = &[
            "incoherent",
            "vague",
            "not_standalone",
            "false_premise",
            "off_topic",
            "wrong_answer",
            "does_not_answer",
            "partial",
            "unsupported",
        ];
        for j in &judgments {
            let (label, cat) = (j["label"].as_str().unwrap(), j["category"].as_str().unwrap());
            assert!(!j["reason"].as_str().unwrap().trim().is_empty(), "{j}");
            match label {
                "good" => assert_eq!(cat, "", "{j}"),
                "bad" => assert!(CATEGORIES.contains(&cat), "{j}"),
                _ => panic!("label {label}: {j}"),
            }
        }
        let mut part_of: BTreeMap<&str, &str> = BTreeMap::new();
        for i in &items {
            let (corpus, part) = (i["corpus"].as_str().unwrap(), i["part"].as_str().unwrap());
            assert_eq!(*part_of.entry(corpus).or_insert(part), part, "corpus {corpus} is in both parts");
        }
        let held = items.iter().filter(|i| i["part"] == "held_out").count();
        assert!(held * 4 >= items.len(), "held out: {held} of {}", items.len());
    }
}

#[cfg(test)]
mod layout {
    //! The module layout holds: no module imports one that imports it back (`engine`
    //! imports no task; a task imports the engine and nothing of another task's but
    //! `controls`).

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Modules (`engine::slots`) and the modules of this crate each imports, from the source.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = std::path::PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("src");
        let mut files = Vec::new();
        let mut stack = vec![src.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        let name = |p: &Path| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            parts.into_iter().filter(|s| s != "mod").collect::<Vec<_>>().join("::")
        };
        let names: BTreeSet<String> = files.iter().map(|p| name(p)).filter(|n| n != "lib").collect();
        let resolve = |path: &str| -> Option<String> {
            let parts: Vec<&str> = path.split("::").collect();
            (1..=parts.len()).rev().map(|i| parts[..i].join("::")).find(|c| names.contains(c))
        };
        let mut out = BTreeMap::new();
        for p in &files {
            let me = name(p);
            if me == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let parent = me.rsplit_once("::").map_or("", |(a, _)| a).to_owned();
            let mut deps = BTreeSet::new();
            let mut add = |path: String| {
                if let Some(m) = resolve(&path).filter(|m| *m != me) {
                    deps.insert(m);
                }
            };
            for (prefix, base) in [("crate::", String::new()), ("super::", parent.clone()), ("use ", me.clone())] {
                for (i, _) in code.match_indices(prefix) {
                    let rest: String = code[i + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let path = if base.is_empty() { rest } else { format!("{base}::{rest}") };
                    add(path);
                }
            }
            out.insert(me, deps);
        }
        out
    }

    #[test]
    fn no_module_imports_one_that_imports_it_back() {
        let g = imports();
        assert!(g["engine::slots"].contains("engine"), "the check sees `super::` imports: {g:?}");
        for (m, deps) in &g {
            for d in deps {
                // A path from `d` back to `m`?
                let mut seen = BTreeSet::new();
                let mut todo = vec![d.clone()];
                while let Some(n) = todo.pop() {
                    assert!(n != *m, "{m} imports {d}, which leads back to {m}: {g:#?}");
                    if seen.insert(n.clone()) {
                        todo.extend(g.get(&n).into_iter().flatten().cloned());
                    }
                }
            }
        }
        for (m, deps) in g.iter().filter(|(m, _)| m.starts_with("engine")) {
            assert!(!deps.iter().any(|d| d.starts_with("tasks")), "{m} imports a task: {deps:?}");
        }
    }
}
