//! `quarry export --format rag`: examples that teach a model to answer from retrieved
//! passages and cite them (`[n]` in the answer is passage n of the prompt), and to say so
//! when the passages do not hold the answer. Rows in the OpenAI chat, ShareGPT or TRL shape,
//! the passages and citations kept as metadata.

use std::fmt::Write as _;
use std::path::Path;

use quarry_core::RagExample;
use serde_json::{Value, json};

use crate::escape::markdown_inline;
use crate::export::{CardInfo, ExportSummary, FrontMatter, name_and_license, write_train_jsonl};
use crate::{ReportError, fsutil};

/// The system message of every example.
pub const RAG_SYSTEM: &str = "Answer the question from the passages given. Cite each passage you use as [n], its number. If the passages do not contain the answer, say so.";

/// The row shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RagStyle {
    OpenAi,
    ShareGpt,
    Trl,
}

impl std::str::FromStr for RagStyle {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<RagStyle, ReportError> {
        match s {
            "openai" => Ok(RagStyle::OpenAi),
            "sharegpt" => Ok(RagStyle::ShareGpt),
            "trl" => Ok(RagStyle::Trl),
            _ => Err(ReportError::Usage(format!("--style {s:?}: expected openai, sharegpt or trl"))),
        }
    }
}

/// The user message: the numbered passages, then the question.
pub fn rag_prompt(e: &RagExample) -> String {
    let mut s = String::from("Passages:\n");
    for p in &e.passages {
        let mut path: Vec<&str> = vec![p.title.as_str()];
        path.extend(p.heading_path.iter().map(String::as_str).filter(|h| *h != p.title));
        let _ = write!(s, "\n[{}] {}\n{}\n", p.n, path.join(" › "), p.text.trim());
    }
    let _ = write!(s, "\nQuestion: {}", e.question);
    s
}

fn row(e: &RagExample, style: RagStyle) -> Value {
    let prompt = rag_prompt(e);
    let metadata = json!({
        "id": e.id, "record_id": e.record_id, "unanswerable": e.unanswerable,
        "passages": e.passages.iter().map(|p| json!({
            "n": p.n, "chunk_id": p.chunk_id, "doc_id": p.doc_id, "title": p.title,
            "cited": p.cited, "distractor": p.distractor,
        })).collect::<Vec<_>>(),
        "citations": e.citations.iter().map(|c| json!({
            "n": c.n, "chunk_id": c.chunk_id, "quote": c.quote, "span": c.span,
        })).collect::<Vec<_>>(),
    });
    let msg = |role: &str, content: &str| json!({"role": role, "content": content});
    match style {
        RagStyle::OpenAi => json!({
            "messages": [msg("system", RAG_SYSTEM), msg("user", &prompt), msg("assistant", &e.answer)],
            "metadata": metadata,
        }),
        RagStyle::ShareGpt => json!({
            "conversations": [
                {"from": "system", "value": RAG_SYSTEM},
                {"from": "human", "value": prompt},
                {"from": "gpt", "value": e.answer},
            ],
            "metadata": metadata,
        }),
        RagStyle::Trl => json!({
            "prompt": [msg("system", RAG_SYSTEM), msg("user", &prompt)],
            "completion": [msg("assistant", &e.answer)],
            "metadata": metadata,
        }),
    }
}

/// Writes `examples` as `data/train.jsonl` in `out_dir`, with a dataset card.
pub fn export_rag(
    examples: &[RagExample],
    style: RagStyle,
    out_dir: &Path,
    card: &CardInfo,
) -> Result<ExportSummary, ReportError> {
    let path = write_train_jsonl(out_dir, examples, |e| {
        serde_json::to_string(&row(e, style)).map_err(|source| ReportError::Json { id: e.id.clone(), source })
    })?;
    let card_path = out_dir.join("README.md");
    fsutil::write_bytes_atomic(&card_path, render_rag_card(examples, style, card).as_bytes())?;
    Ok(ExportSummary { rows: examples.len(), path, card_path })
}

fn render_rag_card(examples: &[RagExample], style: RagStyle, card: &CardInfo) -> String {
    let (name, license) = name_and_license(card, "quarry retrieval-grounded Q&A");
    let unanswerable = examples.iter().filter(|e| e.unanswerable).count();
    let distractors: usize =
        examples.iter().map(|e| e.passages.iter().filter(|p| p.distractor && !e.unanswerable).count()).sum();
    let mut s = String::new();
    FrontMatter {
        name,
        license,
        language: &card.language,
        task_categories: &["question-answering", "text-generation"],
        tags: &["synthetic", "rag", "grounded", "citations", "quarry"],
        rows: examples.len(),
        machine_generated: true,
    }
    .write(&mut s);
    let _ = writeln!(s, "# {}\n", markdown_inline(name));
    let _ = writeln!(
        s,
        "Training data for answering from retrieved passages, made by quarry from verified Q&A records (run `{}`, model {}). Each prompt holds numbered passages and a question; the answer cites the passages it uses as [n]. {} examples: {} answerable (their cited passages, the other passages retrieval showed, and {distractors} distractors retrieved with the question, in a fixed shuffled order) and {unanswerable} unanswerable (passages retrieval finds for the question that the verifier confirms do not support the answer; the answer says so).\n",
        markdown_inline(&card.run_id),
        markdown_inline(&card.model),
        examples.len(),
        examples.len() - unanswerable,
    );
    let shape = match style {
        RagStyle::OpenAi => "OpenAI chat: `messages` (system, user, assistant)",
        RagStyle::ShareGpt => "ShareGPT: `conversations` (system, human, gpt)",
        RagStyle::Trl => "TRL prompt-completion: `prompt` (system, user), `completion` (assistant)",
    };
    let _ = writeln!(
        s,
        "Rows: {shape}, and `metadata`: the passages (chunk id, document, whether cited or a distractor) and the citations (passage number, quote, byte span in the document)."
    );
    s
}
