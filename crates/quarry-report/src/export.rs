//! Exports records to fine-tuning formats plus a Hugging Face dataset card.
//!
//! Every row of every format has the same keys with the same JSON types, so
//! `datasets.load_dataset("json", data_files=...)` infers one schema: strings are never
//! null, non-finite scores become -1, lists are always lists.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use quarry_core::Record;
use serde::Serialize;

use crate::escape::{markdown_inline, yaml_str};
use crate::{ReportError, fsutil};

/// A fine-tuning data format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// `{"messages": [system, user, assistant], "metadata"}` (OpenAI chat fine-tuning).
    OpenAi,
    /// `{"conversations": [{"from": "human"|"gpt", "value"}], "metadata"}`.
    ShareGpt,
    /// `{"instruction", "input", "output", "metadata"}`.
    Alpaca,
    /// `{"prompt": [user], "completion": [assistant], "metadata"}` (TRL conversational
    /// prompt-completion).
    Trl,
    /// The records themselves, as `records.jsonl` holds them.
    Jsonl,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 5] =
        [ExportFormat::OpenAi, ExportFormat::ShareGpt, ExportFormat::Alpaca, ExportFormat::Trl, ExportFormat::Jsonl];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::OpenAi => "openai",
            ExportFormat::ShareGpt => "sharegpt",
            ExportFormat::Alpaca => "alpaca",
            ExportFormat::Trl => "trl",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    /// The row shape in words, for the dataset card.
    fn describe(self) -> &'static str {
        match self {
            ExportFormat::OpenAi => {
                "OpenAI chat fine-tuning format: `messages` is a list of `{role, content}` turns \
                 (a system prompt, the question as `user`, the answer as `assistant`)."
            }
            ExportFormat::ShareGpt => {
                "ShareGPT format: `conversations` is a list of `{from, value}` turns \
                 (`human` asks the question, `gpt` gives the answer)."
            }
            ExportFormat::Alpaca => {
                "Alpaca format: `instruction` is the question, `input` is empty, `output` is the answer."
            }
            ExportFormat::Trl => {
                "TRL conversational prompt-completion format: `prompt` is a list with the question as a \
                 `user` turn, `completion` a list with the answer as an `assistant` turn."
            }
            ExportFormat::Jsonl => {
                "quarry's own record format: every field of the generation run (question, answer, \
                 citations, verdict, scores, sentence support, sampling, prompt hashes, usage, timings)."
            }
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExportFormat {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<ExportFormat, ReportError> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ReportError::UnknownFormat(s.to_owned()))
    }
}

/// What the dataset card says about the data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardInfo {
    /// The dataset's pretty name.
    pub name: String,
    /// A Hugging Face license id (`cc-by-4.0`, `mit`, `other`, ...).
    pub license: String,
    /// ISO 639-1 codes (`en`, ...).
    pub language: Vec<String>,
    /// The corpus's documents: titles or source names.
    pub sources: Vec<String>,
    pub model: String,
    pub backend: String,
    /// The system prompt of the `openai` format's rows (omitted from rows when empty).
    pub system_prompt: String,
    pub run_id: String,
}

/// What [`export`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    /// Rows in `data/train.jsonl`.
    pub rows: usize,
    /// `<out_dir>/data/train.jsonl`.
    pub path: PathBuf,
    /// `<out_dir>/README.md`.
    pub card_path: PathBuf,
}

#[derive(Serialize)]
struct CitationMeta<'a> {
    chunk_id: &'a str,
    doc_id: &'a str,
    doc_title: &'a str,
    heading_path: &'a [String],
    quote: &'a str,
    span: [usize; 2],
}

#[derive(Serialize)]
struct Metadata<'a> {
    id: &'a str,
    question_type: &'a str,
    verdict: &'a str,
    support: f64,
    citations: Vec<CitationMeta<'a>>,
}

impl<'a> Metadata<'a> {
    fn of(r: &'a Record) -> Metadata<'a> {
        Metadata {
            id: &r.id,
            question_type: &r.question_type,
            verdict: r.verdict.as_str(),
            // Rounded through its decimal form so 0.9f32 reads 0.9, not 0.8999999761581421;
            // NaN would serialise as null and break the column's type.
            support: if r.scores.support.is_finite() {
                r.scores.support.to_string().parse().unwrap_or(-1.0)
            } else {
                -1.0
            },
            citations: r
                .citations
                .iter()
                .map(|c| CitationMeta {
                    chunk_id: &c.chunk_id,
                    doc_id: &c.doc_id,
                    doc_title: &c.doc_title,
                    heading_path: &c.heading_path,
                    quote: &c.quote,
                    span: [c.span.start(), c.span.end()],
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct Turn<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct ShareTurn<'a> {
    from: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct OpenAiRow<'a> {
    messages: Vec<Turn<'a>>,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct ShareGptRow<'a> {
    conversations: [ShareTurn<'a>; 2],
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct AlpacaRow<'a> {
    instruction: &'a str,
    input: &'a str,
    output: &'a str,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct TrlRow<'a> {
    prompt: [Turn<'a>; 1],
    completion: [Turn<'a>; 1],
    metadata: Metadata<'a>,
}

/// One record as one JSON line (without the newline) in `format`.
fn row(r: &Record, format: ExportFormat, system_prompt: &str) -> Result<String, serde_json::Error> {
    let meta = || Metadata::of(r);
    match format {
        ExportFormat::OpenAi => {
            let mut messages = Vec::with_capacity(3);
            if !system_prompt.is_empty() {
                messages.push(Turn { role: "system", content: system_prompt });
            }
            messages.push(Turn { role: "user", content: &r.question });
            messages.push(Turn { role: "assistant", content: &r.answer });
            serde_json::to_string(&OpenAiRow { messages, metadata: meta() })
        }
        ExportFormat::ShareGpt => serde_json::to_string(&ShareGptRow {
            conversations: [
                ShareTurn { from: "human", value: &r.question },
                ShareTurn { from: "gpt", value: &r.answer },
            ],
            metadata: meta(),
        }),
        ExportFormat::Alpaca => serde_json::to_string(&AlpacaRow {
            instruction: &r.question,
            input: "",
            output: &r.answer,
            metadata: meta(),
        }),
        ExportFormat::Trl => serde_json::to_string(&TrlRow {
            prompt: [Turn { role: "user", content: &r.question }],
            completion: [Turn { role: "assistant", content: &r.answer }],
            metadata: meta(),
        }),
        ExportFormat::Jsonl => serde_json::to_string(r),
    }
}

/// Writes `<out_dir>/data/train.jsonl` (one row per record, in `format`) and
/// `<out_dir>/README.md` (a Hugging Face dataset card), each atomically.
pub fn export(
    records: &[Record],
    format: ExportFormat,
    out_dir: &Path,
    card: &CardInfo,
) -> Result<ExportSummary, ReportError> {
    let data_dir = out_dir.join("data");
    fsutil::create_dir_all(&data_dir)?;
    let path = data_dir.join("train.jsonl");
    fsutil::write_atomic(&path, |w| {
        for r in records {
            let line =
                row(r, format, &card.system_prompt).map_err(|source| ReportError::Json { id: r.id.clone(), source })?;
            w.write_all(line.as_bytes())
                .and_then(|()| w.write_all(b"\n"))
                .map_err(|source| ReportError::Io { path: path.clone(), source })?;
        }
        Ok(())
    })?;
    let card_path = out_dir.join("README.md");
    fsutil::write_bytes_atomic(&card_path, render_card(records, format, card).as_bytes())?;
    Ok(ExportSummary { rows: records.len(), path, card_path })
}

/// The Hugging Face `size_categories` value for `n` rows.
pub fn size_category(n: usize) -> &'static str {
    const STEPS: [(u64, &str); 10] = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
        (10_000_000_000, "1B<n<10B"),
        (100_000_000_000, "10B<n<100B"),
        (1_000_000_000_000, "100B<n<1T"),
    ];
    STEPS.iter().find(|(limit, _)| (n as u64) < *limit).map_or("n>1T", |(_, c)| c)
}

/// The dataset card (`README.md`): YAML front matter for the Hub, then prose.
pub fn render_card(records: &[Record], format: ExportFormat, card: &CardInfo) -> String {
    let n = records.len();
    let name = if card.name.trim().is_empty() { "quarry synthetic Q&A" } else { card.name.trim() };
    let license = if card.license.trim().is_empty() { "other" } else { card.license.trim() };
    let mut by_verdict: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records {
        *by_verdict.entry(r.verdict.as_str()).or_default() += 1;
        *by_type.entry(&r.question_type).or_default() += 1;
    }

    let mut s = String::new();
    s.push_str("---\n");
    let _ = writeln!(s, "license: {}", yaml_str(license));
    if card.language.is_empty() {
        s.push_str("language: []\n");
    } else {
        s.push_str("language:\n");
        for l in &card.language {
            let _ = writeln!(s, "- {}", yaml_str(l));
        }
    }
    s.push_str("task_categories:\n- question-answering\n- text-generation\n");
    let _ = writeln!(s, "size_categories:\n- {}", size_category(n));
    s.push_str("annotations_creators:\n- machine-generated\n");
    let _ = writeln!(s, "pretty_name: {}", yaml_str(name));
    s.push_str("tags:\n- synthetic\n- grounded\n- citations\n- quarry\n");
    s.push_str("configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train.jsonl\n");
    s.push_str("---\n\n");

    let _ = writeln!(s, "# {}\n", markdown_inline(name));
    let corpus = match card.sources.len() {
        0 => "a text corpus".to_owned(),
        1 => "one source document".to_owned(),
        k => format!("{k} source documents"),
    };
    let _ = writeln!(
        s,
        "Synthetic, grounded question–answer pairs generated by quarry from {corpus}. Every answer cites \
         verified byte spans of the source text, so each claim can be traced back to the passage it \
         rests on.\n"
    );
    if !card.run_id.is_empty() {
        let _ = writeln!(s, "Generation run: `{}`.\n", card.run_id.replace('`', "'"));
    }

    s.push_str("## Format\n\n");
    let _ = writeln!(s, "`data/train.jsonl`, one JSON object per line, {n} rows. {}\n", format.describe());
    if format != ExportFormat::Jsonl {
        s.push_str(
            "`metadata` holds the record's `id`, `question_type`, the verifier's `verdict`, the `support` \
             score (0–1) and its `citations`: a list of `{chunk_id, doc_id, doc_title, heading_path, quote, \
             span}`.\n\n",
        );
    }
    if format == ExportFormat::OpenAi && !card.system_prompt.is_empty() {
        let _ = writeln!(s, "System prompt:\n\n```text\n{}\n```\n", card.system_prompt.replace("```", "'''"));
    }
    s.push_str("```python\nfrom datasets import load_dataset\n\n");
    s.push_str("ds = load_dataset(\"json\", data_files=\"data/train.jsonl\", split=\"train\")\n```\n\n");

    s.push_str("## Sources\n\n");
    if card.sources.is_empty() {
        s.push_str("Not listed.\n");
    }
    for src in &card.sources {
        let _ = writeln!(s, "- {}", markdown_inline(src));
    }
    s.push('\n');

    s.push_str("## Generation\n\n");
    let model = if card.model.is_empty() { "(not recorded)" } else { &card.model };
    let backend = if card.backend.is_empty() { "(not recorded)" } else { &card.backend };
    let _ = writeln!(s, "- Model: {}", markdown_inline(model));
    let _ = writeln!(s, "- Backend: {}\n", markdown_inline(backend));
    s.push_str(
        "Questions were written from passages of the corpus; each answer was written from retrieved \
         passages and had to quote the passages it relies on.\n\n",
    );

    s.push_str("## Counts\n\n");
    let _ = writeln!(s, "{n} records.\n");
    count_table(&mut s, "verdict", &by_verdict);
    count_table(&mut s, "question type", &by_type);

    s.push_str("## Citations and verification\n\n");
    s.push_str(
        "Each citation names its document (`doc_id`, `doc_title`), the section it lies in \
         (`heading_path`, outermost heading first) and the chunk it was taken from (`chunk_id`). \
         `span` is `[start, end)` in **byte offsets into the normalised document text** (UTF-8), and \
         `quote` is exactly that text: `quote == text[span]`.\n\n",
    );
    s.push_str(
        "Every record was verified before it was accepted: each quote the model gave was located in \
         the cited passage (exactly, after normalising whitespace, case, quotes and dashes, or by fuzzy \
         alignment) and replaced by the document's own text at that span; each answer sentence was \
         scored for support by its cited spans; and the question's round trip (whether retrieving with \
         it finds its source passage) was measured. The `verdict` (`supported`, `partial`, `unsupported`) and `support` score record the \
         outcome. Candidates that failed were rejected and are not part of this dataset.\n\n",
    );
    s.push_str(
        "## Limitations\n\nThe questions and answers are machine-generated. Verification checks that \
         answers are grounded in the cited text, not that the source text is correct, and fuzzy \
         matching can occasionally accept a loose paraphrase. Audit a sample before training.\n",
    );
    s
}

fn count_table(s: &mut String, key: &str, counts: &BTreeMap<&str, usize>) {
    if counts.is_empty() {
        return;
    }
    let _ = writeln!(s, "| {key} | records |\n|---|---:|");
    for (k, v) in counts {
        let _ = writeln!(s, "| {} | {v} |", markdown_inline(k));
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_categories_follow_the_hub() {
        assert_eq!(size_category(0), "n<1K");
        assert_eq!(size_category(999), "n<1K");
        assert_eq!(size_category(1000), "1K<n<10K");
        assert_eq!(size_category(54_321), "10K<n<100K");
        assert_eq!(size_category(2_000_000), "1M<n<10M");
    }

    #[test]
    fn formats_parse() {
        for f in ExportFormat::ALL {
            assert_eq!(f.as_str().parse::<ExportFormat>().unwrap(), f);
            assert_eq!(f.to_string().to_uppercase().parse::<ExportFormat>().unwrap(), f);
        }
        assert!(matches!("csv".parse::<ExportFormat>(), Err(ReportError::UnknownFormat(_))));
    }
}
