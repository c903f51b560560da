//! `quarry generate qa` and `quarry prompts`.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use quarry_gen::{Prompts, QaConfig, QaGenerator, QuestionType, RunDir, SamplingOverride};

use crate::args::{GenerateCommand, GenerateQaArgs, PromptsCommand};
use crate::commands::audit::write_report;
use crate::commands::llm;
use crate::commands::search::open_index;
use crate::exit;
use crate::progress::Bar;

pub fn run(c: GenerateCommand, quiet: bool) -> Result<u8> {
    match c {
        GenerateCommand::Qa(a) => qa(a, quiet),
    }
}

fn qa(a: GenerateQaArgs, quiet: bool) -> Result<u8> {
    let index = Arc::new(open_index(&a.index, None)?);
    let prompts = Prompts::load(a.prompts.as_deref())?;
    let llm = llm::build(&a.llm, true)?;
    let embedded = a.llm.base_url.is_none();
    let cfg = QaConfig {
        n: a.n,
        seed: a.seed,
        mix: QuestionType::parse_mix(&a.mix)?,
        k: a.k.max(1),
        budget: a.budget.max(1.0),
        concurrency: if embedded { a.llm.parallel.max(1) } else { a.llm.concurrency.max(1) },
        question_sampling: SamplingOverride {
            temperature: a.question_temperature,
            top_p: a.question_top_p,
            max_tokens: None,
        },
        answer_sampling: SamplingOverride {
            temperature: a.answer_temperature,
            top_p: a.answer_top_p,
            max_tokens: a.answer_max_tokens,
        },
        accept_partial: a.accept_partial,
        judge: a.judge,
    };
    let generator = QaGenerator::new(index.clone(), llm.model.clone(), prompts, cfg)?;
    let mut dir = RunDir::open(&a.out, &generator.config_json())?;
    if dir.next_slot > 0 && !quiet && !a.json {
        eprintln!(
            "resuming {}: {} records and {} rejects already written",
            a.out.display(),
            dir.records_so_far.len(),
            dir.rejects_so_far.len()
        );
    }
    let bar = Bar::items(quiet || a.json, "accepted");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let summary = rt.block_on(generator.run(&mut dir, &|p| bar.set(p.accepted as u64, p.target as u64)))?;
    bar.finish();
    let report = write_report(&a.out, &index)?;
    if a.json {
        let mut v = summary.run_json.clone();
        v["report"] = serde_json::json!(report.display().to_string());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if !quiet {
        let r = &summary.run_json;
        println!(
            "{} of {} records accepted, {} rejected ({} slots) in {:.1}s; {} prompt + {} completion tokens",
            summary.accepted,
            summary.target,
            summary.rejected,
            r["slots_used"],
            r["elapsed_s"].as_f64().unwrap_or(0.0),
            r["usage"]["prompt_tokens"],
            r["usage"]["completion_tokens"]
        );
        println!("verdicts:  {}", r["counts_by_verdict"]);
        println!("rejected:  {}", r["counts_by_reason"]);
        println!("records:   {}", a.out.join("records.jsonl").display());
        println!("report:    {}", report.display());
    }
    if !summary.complete {
        eprintln!(
            "only {} of {} records passed within the budget of {} slots; raise --budget, use a larger model (--base-url, --gguf) or index more text",
            summary.accepted, summary.target, summary.run_json["slot_budget"]
        );
        return Ok(exit::NOTHING);
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
                bail!("no template '{}' (there are question, question-multihop, answer and judge)", a.name);
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
