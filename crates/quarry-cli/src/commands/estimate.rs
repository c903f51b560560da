//! `quarry estimate`: a run's slots, model calls, tokens and time before any model call, and
//! the cost of indexing a corpus of a given size.

use anyhow::{Context, Result, bail};
use quarry_core::Task;
use quarry_gen::estimate::{CorpusSize, EstimateInput, corpus_size, estimate, model_seconds};
use serde_json::json;

use crate::args::EstimateArgs;
use crate::exit;

fn hours(s: f64) -> String {
    if s < 3600.0 { format!("{:.1} min", s / 60.0) } else { format!("{:.1} h ({:.1} days)", s / 3600.0, s / 86400.0) }
}

pub fn run(a: EstimateArgs) -> Result<u8> {
    let task: Task = match a.task.as_str() {
        "topics" => Task::Topic,
        t => t.parse().map_err(|e: String| anyhow::anyhow!(e))?,
    };
    if a.n == 0 || a.machines == 0 || a.tokens_per_s <= 0.0 || a.prompt_tokens_per_s <= 0.0 {
        bail!("--n, --machines, --tokens-per-s and --prompt-tokens-per-s must be above 0");
    }
    let index = super::search::open_index(&a.index, None)?;
    let corpus: CorpusSize = corpus_size(&index)?;
    if corpus.eligible_chunks == 0 && task != Task::Topic {
        bail!("no chunk of {} can seed a record; index longer prose", a.index.display());
    }
    let prompts = quarry_gen::Prompts::load(a.prompts.as_deref())?;
    // An earlier run of the same task gives the acceptance rate and the tokens per slot.
    let (mut acceptance, mut measured) = (a.acceptance, None);
    if let Some(run) = &a.from_run {
        let s = quarry_gen::run_dir::read_summary(run).with_context(|| format!("reading {}", run.display()))?;
        if s.task.is_some_and(|t| t != task) {
            bail!("{} is a {} run, not {}", run.display(), s.task.map_or("", |t| t.as_str()), task.as_str());
        }
        let slots = s.slots_used.unwrap_or(0);
        if slots == 0 {
            bail!("{} has used no slot yet", run.display());
        }
        acceptance = s.accepted.unwrap_or(0) as f64 / slots as f64;
        if let Some(u) = s.usage {
            measured = Some((u.prompt_tokens as f64 / slots as f64, u.completion_tokens as f64 / slots as f64));
        }
    }
    let input = EstimateInput {
        task,
        n: a.n,
        budget: a.budget,
        acceptance,
        k: a.k,
        judge: a.judge,
        turns: a.turns,
        breadth: a.breadth,
        depth: a.depth,
        measured_tokens_per_slot: measured,
    };
    let e = estimate(&input, &corpus, &prompts);
    let one = model_seconds(&e, a.prompt_tokens_per_s, a.tokens_per_s, 1);
    let all = model_seconds(&e, a.prompt_tokens_per_s, a.tokens_per_s, a.machines);
    // Indexing a corpus of --corpus-gb at this index's measured speed (whole builds: embedding,
    // BM25 and vectors; embedding is nearly all of it).
    let m = index.manifest();
    let (embedded, embed_s): (u64, f64) =
        m.builds.iter().fold((0, 0.0), |(n, s), b| (n + b.chunks_embedded, s + b.seconds));
    let chunks_per_s = if embed_s > 0.0 { embedded as f64 / embed_s } else { 0.0 };
    let corpus_cost = a.corpus_gb.map(|gb| {
        let chunks = if corpus.mean_chunk_bytes > 0.0 { gb * 1e9 / corpus.mean_chunk_bytes } else { 0.0 };
        let secs = if chunks_per_s > 0.0 { chunks / chunks_per_s } else { f64::NAN };
        json!({"gb": gb, "chunks": chunks.round(), "embed_seconds_one_machine": secs.round(),
               "embed_seconds": (secs / a.machines as f64).round()})
    });
    if a.json {
        let v = json!({
            "index": a.index.display().to_string(),
            "task": task.as_str(),
            "corpus": corpus,
            "acceptance": acceptance,
            "estimate": e,
            "prompt_tokens_per_s": a.prompt_tokens_per_s,
            "tokens_per_s": a.tokens_per_s,
            "machines": a.machines,
            "model_seconds_one_machine": one.round(),
            "model_seconds": all.round(),
            "embedding_chunks_per_s": chunks_per_s,
            "corpus_to_index": corpus_cost,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(exit::OK);
    }
    let source = if e.measured { "measured by the earlier run" } else { "estimated from prompt sizes" };
    println!(
        "index        {} ({} documents, {} chunks, {} can seed)",
        a.index.display(),
        corpus.documents,
        corpus.chunks,
        corpus.eligible_chunks
    );
    println!("task         {} — {} records wanted, acceptance {:.2}", task.as_str(), a.n, acceptance);
    println!(
        "slots        {} expected ({} at most with --budget {}), {} records expected",
        e.slots, e.slots_max, a.budget, e.records_expected
    );
    println!("model calls  {} ({:.1} per slot)", e.llm_calls, e.calls_per_slot);
    println!(
        "tokens       {} prompt + {} generated ({} + {} per slot, {source})",
        e.prompt_tokens, e.completion_tokens, e.prompt_tokens_per_slot, e.completion_tokens_per_slot
    );
    println!(
        "model time   {} on one machine at {} prompt and {} generated tokens/s; {} on {} machines",
        hours(one),
        a.prompt_tokens_per_s,
        a.tokens_per_s,
        hours(all),
        a.machines
    );
    if let Some(c) = corpus_cost {
        let secs = c["embed_seconds_one_machine"].as_f64().unwrap_or(f64::NAN);
        println!(
            "indexing     {} GB of text ≈ {:.0} chunks: {} on one machine at {:.0} chunks/s (this index's builds), {} on {}",
            a.corpus_gb.unwrap_or(0.0),
            c["chunks"].as_f64().unwrap_or(0.0),
            hours(secs),
            chunks_per_s,
            hours(secs / a.machines as f64),
            a.machines
        );
    }
    Ok(exit::OK)
}
