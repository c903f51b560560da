//! `quarry generate qa|followup|conversation|topics|dpo|pretrain`, `quarry prompts` and
//! `quarry controls`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use quarry_core::{Controls, RunSummary, Shard, TopicStatus};
use quarry_gen::tasks::controls::ControlLists;
use quarry_gen::tasks::conversation::{ConversationConfig, ConversationGenerator};
use quarry_gen::tasks::dpo::{DpoConfig, DpoGenerator, RejectedMethod};
use quarry_gen::tasks::followup::{FollowupConfig, FollowupGenerator};
use quarry_gen::tasks::pretrain::{PretrainConfig, PretrainGenerator};
use quarry_gen::tasks::topics::{TopicGenerator, TopicNode, TopicsConfig};
use quarry_gen::topic_tree::{TREE_JSON, TopicTree};
use quarry_gen::{Prompts, QaConfig, QaGenerator, QuestionType, RunDir, SamplingOverride, SlotTask};
use quarry_index::Index;

use crate::args::{
    ControlsCommand, GenerateCommand, GenerateConversationArgs, GenerateDpoArgs, GenerateFollowupArgs,
    GeneratePretrainArgs, GenerateQaArgs, GenerateTopicsArgs, LlmArgs, PromptsCommand, RunArgs,
};
use crate::commands::llm;
use crate::commands::report::write_report;
use crate::commands::search::open_index;
use crate::exit;
use crate::progress::Bar;

pub fn run(c: GenerateCommand, quiet: bool) -> Result<u8> {
    match c {
        GenerateCommand::Qa(a) => qa(a, quiet),
        GenerateCommand::Followup(a) => followup(a, quiet),
        GenerateCommand::Conversation(a) => conversation(a, quiet),
        GenerateCommand::Topics(a) => topics(a, quiet),
        GenerateCommand::Dpo(a) => dpo(a, quiet),
        GenerateCommand::Pretrain(a) => pretrain(a, quiet),
    }
}

/// Slots worked on at once: the embedded model's batch, or the server client's concurrency.
fn concurrency(l: &LlmArgs) -> usize {
    if l.base_url.is_none() { l.parallel.max(1) } else { l.concurrency.max(1) }
}

fn load_tree(p: Option<&Path>) -> Result<Option<TopicTree>> {
    p.map(|p| TopicTree::load(p).map_err(anyhow::Error::from)).transpose()
}

/// `--shard I/N` or `auto/N`, read.
pub fn shard(s: Option<&str>) -> Result<Option<Shard>> {
    s.map(|s| Shard::parse(s, |v| std::env::var(v).ok()).map_err(anyhow::Error::msg)).transpose()
}

fn open_run(out: &Path, config: &serde_json::Value, shard: Option<Shard>, quiet: bool) -> Result<RunDir> {
    let dir = RunDir::open(out, config, shard)?;
    if dir.next_slot > 0 && !quiet {
        eprintln!(
            "resuming {}: {} records and {} rejects already written",
            out.display(),
            dir.records_so_far.len(),
            dir.rejects_so_far.len()
        );
    }
    Ok(dir)
}

fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(f))
}

/// The index, prompts and model of a task over an index.
fn setup(r: &RunArgs) -> Result<(Arc<Index>, Prompts, llm::Llm)> {
    let index = Arc::new(open_index(&r.index, None)?);
    let prompts = Prompts::load(r.prompts.as_deref())?;
    let llm = llm::build(&r.llm, true)?;
    Ok((index, prompts, llm))
}

/// Runs any slot task in `r.out` (a new run, or the same command resuming one): progress
/// of accepted records, the report, the summary; exit status 1 when the run fell short.
fn run_task(task: impl SlotTask, r: &RunArgs, index: &Index, quiet: bool) -> Result<u8> {
    let silent = quiet || r.json;
    let shard = shard(r.shard.as_deref())?;
    let mut dir = open_run(&r.out, &task.config(), shard, silent)?;
    let bar = Bar::items(silent, "accepted");
    let summary = block_on(quarry_gen::engine::slots::run(&task, &mut dir, shard, &|p| {
        bar.set(p.accepted as u64, p.target as u64)
    }))??;
    bar.finish();
    match shard {
        Some(s) => finish_shard(s, &summary, &r.out, index, r.json, quiet),
        None => finish(&summary, &r.out, index, r.json, quiet),
    }
}

/// The end of one shard: its report and summary; exit status 0 once the shard is finished
/// (its share accepted, or its slots spent), whatever the other shards do.
fn finish_shard(s: Shard, summary: &RunSummary, out: &Path, index: &Index, json: bool, quiet: bool) -> Result<u8> {
    let report = write_report(out, index)?;
    if json {
        print_json(summary, Some(&report))?;
    } else if !quiet {
        println!(
            "shard {s}: {} records accepted (its share: {}), {} rejected ({} slots); merge every shard with `quarry merge <shard dirs>… --out <dir>`",
            summary.accepted.unwrap_or_default(),
            summary.target.unwrap_or_default(),
            summary.rejected.unwrap_or_default(),
            summary.slots_used.unwrap_or_default(),
        );
        println!("records:   {}", out.join("records.jsonl").display());
    }
    Ok(exit::OK)
}

/// Prints a run summary as JSON, with the report's path.
pub(crate) fn print_json(summary: &RunSummary, report: Option<&Path>) -> Result<()> {
    let mut v = summary.to_json();
    v["report"] = serde_json::json!(report.map(|r| r.display().to_string()).unwrap_or_default());
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

/// A map of counts as JSON, as the summary prints it.
fn counts(c: &Option<quarry_core::Counts>) -> serde_json::Value {
    serde_json::json!(c)
}

/// Writes the report and prints the summary; exit status 1 when the run fell short.
pub(crate) fn finish(summary: &RunSummary, out: &Path, index: &Index, json: bool, quiet: bool) -> Result<u8> {
    let report = write_report(out, index)?;
    let target = summary.target.unwrap_or_default();
    let accepted = summary.accepted.unwrap_or_default().min(target);
    if json {
        print_json(summary, Some(&report))?;
    } else if !quiet {
        let usage = summary.usage.unwrap_or_default();
        println!(
            "{accepted} of {target} records accepted, {} rejected ({} slots) in {:.1}s; {} prompt + {} completion tokens",
            summary.rejected.unwrap_or_default(),
            summary.slots_used.unwrap_or_default(),
            summary.elapsed_s.unwrap_or_default(),
            usage.prompt_tokens,
            usage.completion_tokens
        );
        println!("verdicts:  {}", counts(&summary.counts_by_verdict));
        println!("rejected:  {}", counts(&summary.counts_by_reason));
        println!("records:   {}", out.join("records.jsonl").display());
        println!("report:    {}", report.display());
    }
    if summary.complete != Some(true) {
        eprintln!(
            "only {accepted} of {target} records passed within the budget of {} slots; raise --budget, use a larger model (--base-url, --gguf) or index more text",
            summary.slot_budget.unwrap_or_default()
        );
        return Ok(exit::NOTHING);
    }
    Ok(exit::OK)
}

fn qa(a: GenerateQaArgs, quiet: bool) -> Result<u8> {
    let r = &a.run;
    let (index, prompts, llm) = setup(r)?;
    let cfg = QaConfig {
        n: r.n,
        seed: r.seed,
        mix: QuestionType::parse_mix(&a.mix)?,
        k: a.k.max(1),
        budget: a.budget.max(1.0),
        concurrency: concurrency(&r.llm),
        question_sampling: SamplingOverride {
            temperature: Some(a.question_temperature),
            top_p: Some(a.question_top_p),
            max_tokens: None,
        },
        answer_sampling: SamplingOverride {
            temperature: Some(a.answer_temperature),
            top_p: Some(a.answer_top_p),
            max_tokens: Some(a.answer_max_tokens),
        },
        accept_partial: a.accept_partial,
        judge: a.judge,
        topics: load_tree(a.topics.as_deref())?,
        extractive: a.extractive,
        extractive_choices: a.extractive_choices,
        sentence_first: a.plan == crate::args::Planner::Sentence,
    };
    run_task(QaGenerator::new(index.clone(), llm.model.clone(), prompts, cfg)?, r, &index, quiet)
}

fn followup(a: GenerateFollowupArgs, quiet: bool) -> Result<u8> {
    let r = &a.run;
    let (index, prompts, llm) = setup(r)?;
    let cfg = FollowupConfig {
        n: r.n,
        seed: r.seed,
        turns: a.turns,
        k: a.k.max(1),
        concurrency: concurrency(&r.llm),
        question_sampling: SamplingOverride { temperature: Some(a.question_temperature), ..Default::default() },
        answer_sampling: SamplingOverride { temperature: Some(a.answer_temperature), ..Default::default() },
        accept_partial: a.accept_partial,
    };
    run_task(FollowupGenerator::new(index.clone(), llm.model.clone(), prompts, &a.from, cfg)?, r, &index, quiet)
}

fn conversation(a: GenerateConversationArgs, quiet: bool) -> Result<u8> {
    let r = &a.run;
    let controls = ControlLists::load(a.controls.as_deref())?;
    let (index, prompts, llm) = setup(r)?;
    let mut cfg = ConversationConfig::new(controls);
    cfg.n = r.n;
    cfg.seed = r.seed;
    cfg.exchanges = a.exchanges;
    cfg.k = a.k.max(1);
    cfg.budget = a.budget.max(1.0);
    cfg.concurrency = concurrency(&r.llm);
    cfg.sampling = SamplingOverride { temperature: Some(a.temperature), ..Default::default() };
    cfg.accept_partial = a.accept_partial;
    cfg.min_share = a.min_share.clamp(0.0, 0.5);
    cfg.fixed = Controls {
        dynamics: a.dynamics.clone().unwrap_or_default(),
        emotion: a.emotion.clone().unwrap_or_default(),
        structure: a.structure.clone().unwrap_or_default(),
        scenario: a.scenario.clone().unwrap_or_default(),
        knowledge_level: a.knowledge_level.clone().unwrap_or_default(),
    };
    cfg.topics = load_tree(a.topics.as_deref())?;
    run_task(ConversationGenerator::new(index.clone(), llm.model.clone(), prompts, cfg)?, r, &index, quiet)
}

fn dpo(a: GenerateDpoArgs, quiet: bool) -> Result<u8> {
    let r = &a.run;
    let method = RejectedMethod::parse(&a.method)?;
    let (index, prompts, llm) = setup(r)?;
    let second = match (&a.rejected_model, method) {
        (Some(spec), RejectedMethod::WeakerModel) => Some(llm::build_second(&r.llm, spec, llm.cache.clone())?),
        (Some(_), _) => bail!("--rejected-model is only used with --method weaker_model"),
        (None, _) => None,
    };
    let cfg = DpoConfig { n: r.n, seed: r.seed, method, concurrency: concurrency(&r.llm), ..DpoConfig::default() };
    run_task(DpoGenerator::new(index.clone(), llm.model.clone(), second, prompts, &a.from, cfg)?, r, &index, quiet)
}

fn pretrain(a: GeneratePretrainArgs, quiet: bool) -> Result<u8> {
    let r = &a.run;
    let (index, prompts, llm) = setup(r)?;
    let cfg = PretrainConfig {
        n: r.n,
        seed: r.seed,
        paragraphs: a.paragraphs,
        k: a.k.max(1),
        budget: a.budget.max(1.0),
        concurrency: concurrency(&r.llm),
        sampling: SamplingOverride { temperature: Some(a.temperature), ..Default::default() },
        accept_partial: a.accept_partial,
        topics: a.topic.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
        topics_tree: load_tree(a.topics.as_deref())?,
    };
    run_task(PretrainGenerator::new(index.clone(), llm.model.clone(), prompts, cfg)?, r, &index, quiet)
}

fn topics(a: GenerateTopicsArgs, quiet: bool) -> Result<u8> {
    let index = a.index.as_deref().map(|p| open_index(p, None).map(Arc::new)).transpose()?;
    let prompts = Prompts::load(a.prompts.as_deref())?;
    let llm = llm::build(&a.llm, true)?;
    let cfg = TopicsConfig {
        root: a.root.clone(),
        breadth: a.breadth,
        depth: a.depth,
        seed: a.seed,
        k: a.k.max(1),
        min_coverage: a.min_coverage.clamp(0.0, 1.0),
        ..TopicsConfig::default()
    };
    let g = TopicGenerator::new(index.clone(), llm.model.clone(), prompts, cfg)?;
    let mut dir = open_run(&a.out, &g.config_json(), None, quiet || a.json)?;
    let silent = quiet || a.json;
    let bar = Bar::items(silent, "nodes");
    let (tree, summary) = block_on(g.run(&mut dir, &|done, total| bar.set(done as u64, total as u64)))??;
    bar.finish();
    let report = match &index {
        Some(i) => Some(write_report(&a.out, i)?),
        None => None,
    };
    if a.json {
        print_json(&summary, report.as_deref())?;
    } else if !quiet {
        print_tree(&tree.root, 0);
        let extra = |k: &str| summary.extra.get(k).cloned().unwrap_or_default();
        println!("{} nodes: {}", extra("nodes"), extra("counts_by_status"));
        println!("tree:      {}", a.out.join(TREE_JSON).display());
        if let Some(r) = report {
            println!("report:    {}", r.display());
        }
    }
    Ok(exit::OK)
}

fn print_tree(n: &TopicNode, depth: usize) {
    let mark = match n.status {
        TopicStatus::Grounded => format!("[{} passages]", n.passages.len()),
        TopicStatus::Unsupported => "[UNSUPPORTED: not in the corpus]".to_owned(),
        TopicStatus::Ungrounded => "[ungrounded]".to_owned(),
    };
    println!("{}{} {mark}", "  ".repeat(depth), n.name);
    for c in &n.children {
        print_tree(c, depth + 1);
    }
}

pub fn controls(c: ControlsCommand) -> Result<u8> {
    match c {
        ControlsCommand::Dump(a) => {
            quarry_gen::tasks::controls::dump(&a.path)?;
            println!("{}", a.path.display());
        }
        ControlsCommand::Show(a) => match &a.controls {
            None => print!("{}", quarry_gen::tasks::controls::DEFAULT_CONTROLS),
            Some(p) => {
                ControlLists::load(Some(p))?;
                print!("{}", std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))?);
            }
        },
    }
    Ok(exit::OK)
}

pub fn prompts(c: PromptsCommand) -> Result<u8> {
    match c {
        PromptsCommand::List(a) => {
            let p = Prompts::load(a.prompts.as_deref())?;
            for t in p.all() {
                println!("{:<18} {}  {}", t.name, t.hash(), t.origin);
            }
        }
        PromptsCommand::Show(a) => {
            let p = Prompts::load(a.prompts.as_deref())?;
            let Some(t) = p.all().into_iter().find(|t| t.name == a.name) else {
                let names: Vec<&str> = p.all().iter().map(|t| t.name.as_str()).collect();
                bail!("no template '{}' (there are {})", a.name, names.join(", "));
            };
            print!("{}", t.text);
        }
        PromptsCommand::Dump(a) => {
            for p in quarry_gen::prompts::dump(&a.dir).with_context(|| format!("dump into {}", a.dir.display()))? {
                println!("{}", p.display());
            }
        }
    }
    Ok(exit::OK)
}
