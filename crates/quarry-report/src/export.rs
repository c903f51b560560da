//! Exports records to fine-tuning formats plus a Hugging Face dataset card.
//!
//! A format keeps its name across tasks and takes the shape its trainers expect for what
//! the records are:
//!
//! | format | Q&A, passages (`qa`, `pretrain`) | dialogues (`followup`, `conversation`) | preference pairs (`dpo`) |
//! |---|---|---|---|
//! | `openai` | `messages`: [system], user, assistant | `messages`: [system], every turn | `input.messages`, `preferred_output`, `non_preferred_output` (OpenAI DPO) |
//! | `sharegpt` | `conversations`: human, gpt | `conversations`: every turn | `conversations`, `chosen`, `rejected` |
//! | `alpaca` | `instruction`, `input`, `output` | + `history` of earlier `[user, assistant]` pairs | `instruction`, `input`, `chosen`, `rejected` |
//! | `trl` | `prompt`, `completion` | `prompt` up to the last user turn, `completion` the last assistant turn | `prompt`, `chosen`, `rejected` (explicit prompt) |
//! | `text` | `text`: the passage, or question and answer | `text`: the turns, each after its speaker | `text`: question and chosen answer |
//! | `jsonl` | the records as `records.jsonl` holds them | | |
//!
//! Topic runs (topic-tree nodes) export as `jsonl` only; a preference pair's rows differ
//! from every other task's, so `dpo` records are not mixed with others except in `jsonl`
//! and `text`.
//!
//! Every row of one export has the same keys with the same JSON types, so
//! `datasets.load_dataset("json", data_files=...)` infers one schema: strings are never
//! null, non-finite scores become -1, lists are always lists, and the keys that depend on
//! the task (`history`, and `metadata`'s `task`, `parent_id`, `topic_path`, `turns`,
//! `preference`) are decided once per export from the records it holds and then written on
//! every row. An export of plain Q&A records writes exactly the v1 rows.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use quarry_core::{Citation, Record, Verdict};
use serde::Serialize;

use crate::escape::{markdown_inline, yaml_str};
use crate::task::{Shape, shape, task_name, turn_label};
use crate::{ReportError, fsutil};

/// A fine-tuning data format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// `{"messages": [system, user, assistant, ...], "metadata"}` (OpenAI chat fine-tuning);
    /// for preference pairs `{"input": {"messages"}, "preferred_output", "non_preferred_output",
    /// "metadata"}` (OpenAI preference fine-tuning).
    OpenAi,
    /// `{"conversations": [{"from": "human"|"gpt", "value"}], "metadata"}`; for preference
    /// pairs also `"chosen"` and `"rejected"` (`{"from": "gpt", "value"}`).
    ShareGpt,
    /// `{"instruction", "input", "output", "metadata"}`, plus `"history"` for dialogues; for
    /// preference pairs `{"instruction", "input", "chosen", "rejected", "metadata"}`.
    Alpaca,
    /// `{"prompt": [user], "completion": [assistant], "metadata"}` (TRL conversational
    /// prompt-completion); for preference pairs `{"prompt", "chosen", "rejected", "metadata"}`
    /// (TRL conversational preference with an explicit prompt).
    Trl,
    /// The records themselves, as `records.jsonl` holds them.
    Jsonl,
    /// `{"text", "metadata"}`: plain text for (continued) pre-training.
    Text,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 6] = [
        ExportFormat::OpenAi,
        ExportFormat::ShareGpt,
        ExportFormat::Alpaca,
        ExportFormat::Trl,
        ExportFormat::Jsonl,
        ExportFormat::Text,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::OpenAi => "openai",
            ExportFormat::ShareGpt => "sharegpt",
            ExportFormat::Alpaca => "alpaca",
            ExportFormat::Trl => "trl",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Text => "text",
        }
    }

    /// Whether the format has one shape for preference pairs and another for the rest.
    fn chat(self) -> bool {
        matches!(self, ExportFormat::OpenAi | ExportFormat::ShareGpt | ExportFormat::Alpaca | ExportFormat::Trl)
    }

    /// The row shape in words, for the dataset card.
    fn describe(self, plan: &Plan) -> &'static str {
        match (self, plan.dpo, plan.dialogue) {
            (ExportFormat::OpenAi, true, _) => {
                "OpenAI preference (DPO) fine-tuning format: `input.messages` is the prompt (the system \
                 prompt, when there is one, and the question as a `user` turn); `preferred_output` is a list \
                 with the chosen answer as an `assistant` turn, `non_preferred_output` one with the rejected \
                 answer."
            }
            (ExportFormat::OpenAi, _, true) => {
                "OpenAI chat fine-tuning format: `messages` is a list of `{role, content}` turns (the system \
                 prompt, when there is one, then the whole dialogue, `user` and `assistant` turns in order)."
            }
            (ExportFormat::OpenAi, ..) => {
                "OpenAI chat fine-tuning format: `messages` is a list of `{role, content}` turns \
                 (a system prompt, the question as `user`, the answer as `assistant`)."
            }
            (ExportFormat::ShareGpt, true, _) => {
                "ShareGPT preference format: `conversations` is a list with the question as a `{from: human, \
                 value}` turn; `chosen` and `rejected` are the two answers as `{from: gpt, value}`."
            }
            (ExportFormat::ShareGpt, _, true) => {
                "ShareGPT format: `conversations` is a list of `{from, value}` turns, the whole dialogue \
                 (`human` for the user side, `gpt` for the assistant side)."
            }
            (ExportFormat::ShareGpt, ..) => {
                "ShareGPT format: `conversations` is a list of `{from, value}` turns \
                 (`human` asks the question, `gpt` gives the answer)."
            }
            (ExportFormat::Alpaca, true, _) => {
                "Alpaca preference format: `instruction` is the question, `input` is empty, `chosen` the \
                 chosen answer and `rejected` the rejected one."
            }
            (ExportFormat::Alpaca, _, true) => {
                "Alpaca format with history: `instruction` is the last user turn, `input` is empty, `output` \
                 is the last assistant turn and `history` lists the earlier exchanges as `[user, assistant]` \
                 pairs, oldest first."
            }
            (ExportFormat::Alpaca, ..) => {
                "Alpaca format: `instruction` is the question, `input` is empty, `output` is the answer."
            }
            (ExportFormat::Trl, true, _) => {
                "TRL conversational preference format with an explicit prompt: `prompt` is a list with the \
                 question as a `user` turn; `chosen` and `rejected` are lists with one `assistant` turn each."
            }
            (ExportFormat::Trl, _, true) => {
                "TRL conversational prompt-completion format: `prompt` is the dialogue up to and including \
                 its last `user` turn, `completion` a list with the last `assistant` turn."
            }
            (ExportFormat::Trl, ..) => {
                "TRL conversational prompt-completion format: `prompt` is a list with the question as a \
                 `user` turn, `completion` a list with the answer as an `assistant` turn."
            }
            (ExportFormat::Text, ..) => {
                "Plain-text format: `text` is a pre-training passage as it stands, a question and its answer \
                 separated by a blank line (the chosen answer of a preference pair), or a dialogue, one \
                 paragraph per turn starting with its speaker (`Student: ...`)."
            }
            (ExportFormat::Jsonl, ..) => {
                "quarry's own record format: every field of the generation run (question, answer, \
                 citations, verdict, scores, sentence support, sampling, prompt hashes, usage, timings, and \
                 the task's turns, controls, preference and topic path)."
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
    /// The system prompt of the `openai` format's rows: the first of `messages`, or of a
    /// preference pair's `input.messages` (omitted from rows when empty).
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

// ---------------------------------------------------------------- the export's plan

/// What an export holds, decided once from all its records so that every row gets the
/// same keys.
#[derive(Clone, Debug, Default)]
struct Plan {
    /// Records per task.
    tasks: BTreeMap<String, usize>,
    /// Some record is not a plain Q&A (or has a topic path or a parent): metadata carries
    /// `task`, `parent_id` and `topic_path`.
    extended: bool,
    /// Some record has turns (dialogue turns or paragraphs): metadata carries `turns`.
    turns: bool,
    /// Some record is a preference pair: metadata carries `preference`.
    preference: bool,
    /// Some record is a dialogue: Alpaca rows carry `history`.
    dialogue: bool,
    /// Every record is a preference pair: the chat formats use their preference shape.
    dpo: bool,
    /// Some record is a topic-tree node.
    topic: bool,
}

impl Plan {
    fn of(records: &[Record]) -> Plan {
        let mut p = Plan { dpo: !records.is_empty(), ..Plan::default() };
        for r in records {
            let s = shape(r);
            *p.tasks.entry(task_name(r).to_owned()).or_default() += 1;
            p.extended |= s != Shape::Qa || task_name(r) != "qa" || !r.topic_path.is_empty() || r.parent_id.is_some();
            p.turns |= !r.turns.is_empty();
            p.preference |= s == Shape::Preference;
            p.dialogue |= s == Shape::Dialogue;
            p.dpo &= s == Shape::Preference;
            p.topic |= s == Shape::Topic;
        }
        p
    }

    /// Refuses the combinations a format cannot write with one row shape.
    fn check(&self, format: ExportFormat) -> Result<(), ReportError> {
        if self.topic && format != ExportFormat::Jsonl {
            return Err(ReportError::TopicExport { format: format.as_str().to_owned() });
        }
        if format.chat() && self.preference && !self.dpo {
            let tasks: Vec<&str> = self.tasks.keys().map(String::as_str).collect();
            return Err(ReportError::MixedTasks { format: format.as_str().to_owned(), tasks: tasks.join(", ") });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- metadata

#[derive(Serialize)]
struct CitationMeta<'a> {
    chunk_id: &'a str,
    doc_id: &'a str,
    doc_title: &'a str,
    heading_path: &'a [String],
    quote: &'a str,
    span: [usize; 2],
}

fn citation_metas(citations: &[Citation]) -> Vec<CitationMeta<'_>> {
    citations
        .iter()
        .map(|c| CitationMeta {
            chunk_id: &c.chunk_id,
            doc_id: &c.doc_id,
            doc_title: &c.doc_title,
            heading_path: &c.heading_path,
            quote: &c.quote,
            span: [c.span.start(), c.span.end()],
        })
        .collect()
}

/// One turn's (or paragraph's) verification, in the order of the row's turns.
#[derive(Serialize)]
struct TurnMeta<'a> {
    role: &'a str,
    speaker: &'a str,
    /// `""` for turns that were not verified (user turns).
    verdict: &'a str,
    /// -1 for turns that were not verified.
    support: f64,
    citations: Vec<CitationMeta<'a>>,
}

/// How the rejected side of a preference pair was made, and how it scored.
#[derive(Serialize)]
struct PreferenceMeta<'a> {
    method: &'a str,
    detail: &'a str,
    model: &'a str,
    verdict: &'a str,
    support: f64,
}

#[derive(Serialize)]
struct Metadata<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<&'a str>,
    question_type: &'a str,
    verdict: &'a str,
    support: f64,
    citations: Vec<CitationMeta<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic_path: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    turns: Option<Vec<TurnMeta<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preference: Option<PreferenceMeta<'a>>,
}

/// A score as a JSON number of one type: rounded through its decimal form so 0.9f32 reads
/// 0.9, not 0.8999999761581421; NaN (which would serialise as null and break the column's
/// type) becomes -1.
fn json_score(x: f32) -> f64 {
    if x.is_finite() { x.to_string().parse().unwrap_or(-1.0) } else { -1.0 }
}

impl<'a> Metadata<'a> {
    fn of(r: &'a Record, plan: &Plan) -> Metadata<'a> {
        let p = &r.preference;
        Metadata {
            id: r.id.to_string(),
            task: plan.extended.then(|| task_name(r)),
            question_type: &r.question_type,
            verdict: r.verdict.as_str(),
            support: json_score(r.scores.support),
            citations: citation_metas(&r.citations),
            parent_id: plan.extended.then(|| r.parent_id.as_ref().map_or(String::new(), ToString::to_string)),
            topic_path: plan.extended.then_some(r.topic_path.as_slice()),
            turns: plan.turns.then(|| turn_metas(r)),
            preference: plan.preference.then(|| PreferenceMeta {
                method: &p.method,
                detail: &p.detail,
                model: &p.model,
                verdict: p.verdict.map_or("", Verdict::as_str),
                support: if p.rejected.is_empty() { -1.0 } else { json_score(p.support) },
            }),
        }
    }
}

/// The turns' verification; records without turns get the turns they stand for (the
/// unverified question and the verified answer, or the passage as one paragraph), so that
/// no row's list is empty where others are full.
fn turn_metas(r: &Record) -> Vec<TurnMeta<'_>> {
    if !r.turns.is_empty() {
        return r
            .turns
            .iter()
            .map(|t| TurnMeta {
                role: t.role.as_str(),
                speaker: &t.speaker,
                verdict: t.verdict.map_or("", Verdict::as_str),
                support: if t.verdict.is_none() { -1.0 } else { json_score(t.support) },
                citations: citation_metas(&t.citations),
            })
            .collect();
    }
    let answer = |role| TurnMeta {
        role,
        speaker: "",
        verdict: r.verdict.as_str(),
        support: json_score(r.scores.support),
        citations: citation_metas(&r.citations),
    };
    if shape(r) == Shape::Passage {
        return vec![answer("text")];
    }
    let question = TurnMeta { role: "user", speaker: "", verdict: "", support: -1.0, citations: vec![] };
    vec![question, answer("assistant")]
}

// ---------------------------------------------------------------- rows

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    User,
    Assistant,
}

/// One message of the exchange a record trains on.
#[derive(Debug)]
struct Message<'a> {
    role: Role,
    content: Cow<'a, str>,
}

/// The messages a record trains on: a dialogue's turns in order (consecutive turns of one
/// side merged with a blank line, trailing user turns without an answer dropped), else the
/// question and the answer.
fn messages(r: &Record) -> Vec<Message<'_>> {
    if shape(r) == Shape::Dialogue {
        let mut out: Vec<Message<'_>> = Vec::with_capacity(r.turns.len());
        for t in &r.turns {
            let role = if t.role == quarry_core::Role::User { Role::User } else { Role::Assistant };
            match out.last_mut() {
                Some(m) if m.role == role => {
                    let c = m.content.to_mut();
                    c.push_str("\n\n");
                    c.push_str(&t.content);
                }
                _ => out.push(Message { role, content: Cow::Borrowed(&t.content) }),
            }
        }
        while out.last().is_some_and(|m| m.role == Role::User) {
            out.pop();
        }
        if !out.is_empty() {
            return out;
        }
    }
    vec![
        Message { role: Role::User, content: Cow::Borrowed(&r.question) },
        Message { role: Role::Assistant, content: Cow::Borrowed(&r.answer) },
    ]
}

/// The record as plain text: a passage as it stands; a dialogue one paragraph per turn,
/// each starting with its speaker; anything else its question and answer (the chosen one
/// of a preference pair) separated by a blank line.
fn plain_text(r: &Record) -> Cow<'_, str> {
    match shape(r) {
        Shape::Passage if !r.answer.is_empty() || r.turns.is_empty() => Cow::Borrowed(&r.answer),
        Shape::Passage => Cow::Owned(r.turns.iter().map(|t| t.content.as_str()).collect::<Vec<_>>().join("\n\n")),
        Shape::Dialogue => Cow::Owned(
            r.turns
                .iter()
                .enumerate()
                .map(|(i, t)| format!("{}: {}", capitalised(&turn_label(t, i)), t.content))
                .collect::<Vec<_>>()
                .join("\n\n"),
        ),
        _ => {
            let parts: Vec<&str> =
                [r.question.as_str(), r.answer.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
            Cow::Owned(parts.join("\n\n"))
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

#[derive(Serialize)]
struct Msg<'a> {
    role: &'static str,
    content: &'a str,
}

impl<'a> Msg<'a> {
    fn of(m: &'a Message<'_>) -> Msg<'a> {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        Msg { role, content: &m.content }
    }
}

#[derive(Serialize)]
struct ShareTurn<'a> {
    from: &'static str,
    value: &'a str,
}

impl<'a> ShareTurn<'a> {
    fn of(m: &'a Message<'_>) -> ShareTurn<'a> {
        let from = match m.role {
            Role::User => "human",
            Role::Assistant => "gpt",
        };
        ShareTurn { from, value: &m.content }
    }
}

#[derive(Serialize)]
struct OpenAiRow<'a> {
    messages: Vec<Msg<'a>>,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct OpenAiInput<'a> {
    messages: Vec<Msg<'a>>,
}

#[derive(Serialize)]
struct OpenAiPreferenceRow<'a> {
    input: OpenAiInput<'a>,
    preferred_output: [Msg<'a>; 1],
    non_preferred_output: [Msg<'a>; 1],
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct ShareGptRow<'a> {
    conversations: Vec<ShareTurn<'a>>,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct ShareGptPreferenceRow<'a> {
    conversations: [ShareTurn<'a>; 1],
    chosen: ShareTurn<'a>,
    rejected: ShareTurn<'a>,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct AlpacaRow<'a> {
    instruction: &'a str,
    input: &'a str,
    output: &'a str,
    /// Earlier exchanges as `[user, assistant]`; written (on every row) when the export
    /// holds dialogues.
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<[&'a str; 2]>>,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct AlpacaPreferenceRow<'a> {
    instruction: &'a str,
    input: &'a str,
    chosen: &'a str,
    rejected: &'a str,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct TrlRow<'a> {
    prompt: Vec<Msg<'a>>,
    completion: Vec<Msg<'a>>,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct TrlPreferenceRow<'a> {
    prompt: [Msg<'a>; 1],
    chosen: [Msg<'a>; 1],
    rejected: [Msg<'a>; 1],
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct TextRow<'a> {
    text: &'a str,
    metadata: Metadata<'a>,
}

/// Alpaca's view of a dialogue: the last user turn (or "" when the last answer has none
/// before it), the last answer, and the earlier exchanges as `[user, assistant]` pairs
/// (a side missing from an exchange is "").
fn alpaca_parts<'m>(msgs: &'m [Message<'_>]) -> (&'m str, &'m str, Vec<[&'m str; 2]>) {
    let Some((last, rest)) = msgs.split_last() else { return ("", "", vec![]) };
    let (instruction, earlier) = match rest.split_last() {
        Some((u, earlier)) if u.role == Role::User => (u.content.as_ref(), earlier),
        _ => ("", rest),
    };
    let mut history = Vec::new();
    let mut pending: Option<&str> = None;
    for m in earlier {
        match m.role {
            Role::User => {
                if let Some(u) = pending.replace(&m.content) {
                    history.push([u, ""]);
                }
            }
            Role::Assistant => history.push([pending.take().unwrap_or(""), &m.content]),
        }
    }
    if let Some(u) = pending {
        history.push([u, ""]);
    }
    (instruction, &last.content, history)
}

/// One record as one JSON line (without the newline) in `format`.
fn row(r: &Record, format: ExportFormat, plan: &Plan, system_prompt: &str) -> Result<String, serde_json::Error> {
    let meta = || Metadata::of(r, plan);
    let system = (!system_prompt.is_empty()).then_some(Msg { role: "system", content: system_prompt });
    if format.chat() && plan.dpo {
        let question = Msg { role: "user", content: &r.question };
        let chosen = || Msg { role: "assistant", content: &r.answer };
        let rejected = || Msg { role: "assistant", content: &r.preference.rejected };
        return match format {
            ExportFormat::OpenAi => serde_json::to_string(&OpenAiPreferenceRow {
                input: OpenAiInput { messages: system.into_iter().chain([question]).collect() },
                preferred_output: [chosen()],
                non_preferred_output: [rejected()],
                metadata: meta(),
            }),
            ExportFormat::ShareGpt => serde_json::to_string(&ShareGptPreferenceRow {
                conversations: [ShareTurn { from: "human", value: &r.question }],
                chosen: ShareTurn { from: "gpt", value: &r.answer },
                rejected: ShareTurn { from: "gpt", value: &r.preference.rejected },
                metadata: meta(),
            }),
            ExportFormat::Alpaca => serde_json::to_string(&AlpacaPreferenceRow {
                instruction: &r.question,
                input: "",
                chosen: &r.answer,
                rejected: &r.preference.rejected,
                metadata: meta(),
            }),
            _ => serde_json::to_string(&TrlPreferenceRow {
                prompt: [question],
                chosen: [chosen()],
                rejected: [rejected()],
                metadata: meta(),
            }),
        };
    }
    match format {
        ExportFormat::OpenAi => {
            let msgs = messages(r);
            let messages = system.into_iter().chain(msgs.iter().map(Msg::of)).collect();
            serde_json::to_string(&OpenAiRow { messages, metadata: meta() })
        }
        ExportFormat::ShareGpt => {
            let msgs = messages(r);
            serde_json::to_string(&ShareGptRow {
                conversations: msgs.iter().map(ShareTurn::of).collect(),
                metadata: meta(),
            })
        }
        ExportFormat::Alpaca => {
            let msgs = messages(r);
            let (instruction, output, history) = alpaca_parts(&msgs);
            serde_json::to_string(&AlpacaRow {
                instruction,
                input: "",
                output,
                history: plan.dialogue.then_some(history),
                metadata: meta(),
            })
        }
        ExportFormat::Trl => {
            let msgs = messages(r);
            let (prompt, completion) = msgs.split_at(msgs.len().saturating_sub(1));
            serde_json::to_string(&TrlRow {
                prompt: prompt.iter().map(Msg::of).collect(),
                completion: completion.iter().map(Msg::of).collect(),
                metadata: meta(),
            })
        }
        ExportFormat::Text => serde_json::to_string(&TextRow { text: &plain_text(r), metadata: meta() }),
        ExportFormat::Jsonl => serde_json::to_string(r),
    }
}

/// Writes `<out_dir>/data/train.jsonl` (one row per record, in `format`'s shape for the
/// records' task) and `<out_dir>/README.md` (a Hugging Face dataset card), each atomically.
///
/// Refuses, before writing anything, a topic run in any format but `jsonl`
/// ([`ReportError::TopicExport`]) and preference pairs mixed with other tasks in a format
/// whose rows would then differ in shape ([`ReportError::MixedTasks`]).
pub fn export(
    records: &[Record],
    format: ExportFormat,
    out_dir: &Path,
    card: &CardInfo,
) -> Result<ExportSummary, ReportError> {
    let plan = Plan::of(records);
    plan.check(format)?;
    let path = write_train_jsonl(out_dir, records, |r| {
        row(r, format, &plan, &card.system_prompt).map_err(|source| ReportError::Json { id: r.id.to_string(), source })
    })?;
    let card_path = out_dir.join("README.md");
    fsutil::write_bytes_atomic(&card_path, render_card(records, format, card).as_bytes())?;
    Ok(ExportSummary { rows: records.len(), path, card_path })
}

/// Writes `data/train.jsonl` in `out_dir` (created), one line per item, atomically.
pub(crate) fn write_train_jsonl<T>(
    out_dir: &Path,
    items: &[T],
    line: impl Fn(&T) -> Result<String, ReportError>,
) -> Result<PathBuf, ReportError> {
    let data_dir = out_dir.join("data");
    fsutil::create_dir_all(&data_dir)?;
    let path = data_dir.join("train.jsonl");
    fsutil::write_atomic(&path, |w| {
        for item in items {
            let text = line(item)?;
            w.write_all(text.as_bytes())
                .and_then(|()| w.write_all(b"\n"))
                .map_err(|source| ReportError::Io { path: path.clone(), source })?;
        }
        Ok(())
    })?;
    Ok(path)
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

// ---------------------------------------------------------------- the dataset card

/// The YAML front matter the Hub reads, shared by [`render_card`] and the corpus-text card.
pub(crate) struct FrontMatter<'a> {
    pub name: &'a str,
    pub license: &'a str,
    pub language: &'a [String],
    pub task_categories: &'a [&'a str],
    pub tags: &'a [&'a str],
    pub rows: usize,
    pub machine_generated: bool,
}

impl FrontMatter<'_> {
    pub(crate) fn write(&self, s: &mut String) {
        s.push_str("---\n");
        let _ = writeln!(s, "license: {}", yaml_str(self.license));
        if self.language.is_empty() {
            s.push_str("language: []\n");
        } else {
            s.push_str("language:\n");
            for l in self.language {
                let _ = writeln!(s, "- {}", yaml_str(l));
            }
        }
        s.push_str("task_categories:\n");
        for c in self.task_categories {
            let _ = writeln!(s, "- {c}");
        }
        let _ = writeln!(s, "size_categories:\n- {}", size_category(self.rows));
        if self.machine_generated {
            s.push_str("annotations_creators:\n- machine-generated\n");
        }
        let _ = writeln!(s, "pretty_name: {}", yaml_str(self.name));
        s.push_str("tags:\n");
        for t in self.tags {
            let _ = writeln!(s, "- {t}");
        }
        s.push_str("configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train.jsonl\n");
        s.push_str("---\n\n");
    }
}

/// The card's name and license, with their defaults.
pub(crate) fn name_and_license<'a>(card: &'a CardInfo, default_name: &'a str) -> (&'a str, &'a str) {
    let name = if card.name.trim().is_empty() { default_name } else { card.name.trim() };
    let license = if card.license.trim().is_empty() { "other" } else { card.license.trim() };
    (name, license)
}

/// The Hub's task categories and tags for an export of these tasks in `format`.
fn categories_and_tags(plan: &Plan, format: ExportFormat) -> (Vec<&'static str>, Vec<&'static str>) {
    let has = |t: &str| plan.tasks.contains_key(t);
    // Plain text (and a run of passages only) trains text generation; questions answered
    // from passages (Q&A, follow-ups, preference pairs) also question answering.
    let only_text = format == ExportFormat::Text || (has("pretrain") && plan.tasks.len() == 1);
    let qa = !only_text && (plan.tasks.is_empty() || has("qa") || has("followup") || has("dpo"));
    let mut categories = Vec::new();
    if qa {
        categories.push("question-answering");
    }
    categories.push("text-generation");
    let mut tags = vec!["synthetic", "grounded", "citations", "quarry"];
    if has("followup") || has("conversation") {
        tags.extend(["dialogue", "multi-turn"]);
    }
    if has("conversation") {
        tags.push("conversation");
    }
    if plan.preference {
        tags.extend(["dpo", "preference"]);
    }
    if has("pretrain") || format == ExportFormat::Text {
        tags.push("pretraining");
    }
    if has("topic") {
        tags.push("topic-tree");
    }
    (categories, tags)
}

/// What the records are, in words, for the card's opening line.
fn task_phrase(task: &str, n: usize) -> String {
    let (one, many, what) = match task {
        "qa" => ("question–answer pair", "question–answer pairs", ""),
        "followup" => (
            "follow-up dialogue",
            "follow-up dialogues",
            " (a question, the questions a user asks next, and an answer to each from retrieved passages)",
        ),
        "conversation" => (
            "conversation",
            "conversations",
            " (multi-turn dialogues between two speakers, steered by sampled dynamics, emotion, structure, \
             scenario and knowledge level)",
        ),
        "dpo" => {
            ("preference pair", "preference pairs", " (a chosen answer that cites its passages, and a rejected one)")
        }
        "pretrain" => ("pre-training passage", "pre-training passages", " (each paragraph cites its sources)"),
        "topic" => ("topic-tree node", "topic-tree nodes", " (each with its best passages)"),
        other => return format!("{n} {other} records"),
    };
    format!("{n} {}{what}", if n == 1 { one } else { many })
}

/// The dataset card (`README.md`): YAML front matter for the Hub, then prose.
pub fn render_card(records: &[Record], format: ExportFormat, card: &CardInfo) -> String {
    let n = records.len();
    let plan = Plan::of(records);
    let only_qa = plan.tasks.keys().all(|t| t == "qa");
    let default_name = if only_qa { "quarry synthetic Q&A" } else { "quarry synthetic data" };
    let (name, license) = name_and_license(card, default_name);
    let mut by_verdict: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_method: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut dialogues, mut dialogue_turns) = (0usize, 0usize);
    for r in records {
        *by_verdict.entry(r.verdict.as_str()).or_default() += 1;
        if !r.question_type.is_empty() {
            *by_type.entry(&r.question_type).or_default() += 1;
        }
        match shape(r) {
            Shape::Preference => *by_method.entry(&r.preference.method).or_default() += 1,
            Shape::Dialogue => {
                dialogues += 1;
                dialogue_turns += r.turns.len();
            }
            _ => {}
        }
    }

    let mut s = String::new();
    let (categories, tags) = categories_and_tags(&plan, format);
    FrontMatter {
        name,
        license,
        language: &card.language,
        task_categories: &categories,
        tags: &tags,
        rows: n,
        machine_generated: true,
    }
    .write(&mut s);

    let _ = writeln!(s, "# {}\n", markdown_inline(name));
    let corpus = match card.sources.len() {
        0 => "a text corpus".to_owned(),
        1 => "one source document".to_owned(),
        k => format!("{k} source documents"),
    };
    if only_qa {
        let _ = writeln!(
            s,
            "Synthetic, grounded question–answer pairs generated by quarry from {corpus}. Every answer cites \
             verified byte spans of the source text, so each claim can be traced back to the passage it \
             rests on.\n"
        );
    } else {
        let what: Vec<String> = plan.tasks.iter().map(|(t, k)| task_phrase(t, *k)).collect();
        let _ = writeln!(
            s,
            "Synthetic, grounded data generated by quarry from {corpus}: {}. Every verified part cites byte \
             spans of the source text, so each claim can be traced back to the passage it rests on.\n",
            markdown_inline(&what.join("; "))
        );
    }
    if !card.run_id.is_empty() {
        let _ = writeln!(s, "Generation run: `{}`.\n", card.run_id.replace('`', "'"));
    }

    s.push_str("## Format\n\n");
    let _ = writeln!(s, "`data/train.jsonl`, one JSON object per line, {n} rows. {}\n", format.describe(&plan));
    if format != ExportFormat::Jsonl {
        s.push_str(
            "`metadata` holds the record's `id`, `question_type`, the verifier's `verdict`, the `support` \
             score (0–1) and its `citations`: a list of `{chunk_id, doc_id, doc_title, heading_path, quote, \
             span}`",
        );
        if plan.turns {
            s.push_str(
                " (for a dialogue, every citation of its turns); `turns` lists each turn's (or paragraph's) \
                 `role`, `speaker`, `verdict` (empty for turns that were not verified, such as user turns), \
                 `support` (-1 when not verified) and its own `citations`, in the order of the turns",
            );
        }
        if plan.preference {
            s.push_str(
                "; `preference` tells how the rejected side was made (`method`: `no_passages`, `weaker_model` \
                 or `perturbation`; `detail`; the `model` that wrote it) and the verifier's `verdict` and \
                 `support` for it",
            );
        }
        if plan.extended {
            s.push_str(
                "; `task` names the task, `parent_id` the record this one was made from, `topic_path` the \
                 topic-tree path it was seeded from (empty when none)",
            );
        }
        s.push_str(".\n\n");
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
         passages and had to quote the passages it relies on.",
    );
    if plan.dialogue {
        s.push_str(
            " In a dialogue, every user turn was written from the dialogue so far, and every assistant turn \
             from passages retrieved for it.",
        );
    }
    if plan.tasks.contains_key("pretrain") {
        s.push_str(
            " A pre-training passage was written about a topic from retrieved passages, paragraph by paragraph.",
        );
    }
    if plan.preference {
        s.push_str(
            " The rejected side of a preference pair was made by the same model without the passages \
             (`no_passages`), by a weaker model (`weaker_model`) or by changing a number, entity or unit of \
             the chosen answer (`perturbation`).",
        );
    }
    s.push_str("\n\n");

    s.push_str("## Counts\n\n");
    let _ = writeln!(s, "{n} records.\n");
    if !only_qa {
        let tasks: BTreeMap<&str, usize> = plan.tasks.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        count_table(&mut s, "task", "records", &tasks);
    }
    count_table(&mut s, "verdict", "records", &by_verdict);
    count_table(&mut s, "question type", "records", &by_type);
    count_table(&mut s, "rejected side made by", "pairs", &by_method);
    if dialogues > 0 {
        let _ = writeln!(
            s,
            "{dialogues} dialogues, {dialogue_turns} turns ({:.1} per dialogue).\n",
            dialogue_turns as f64 / dialogues as f64
        );
    }

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
         outcome. Candidates that failed were rejected and are not part of this dataset.",
    );
    if plan.turns {
        s.push_str(
            " Each assistant turn of a dialogue, and each paragraph of a passage, was verified on its own \
             against its own citations; the record's verdict sums them up.",
        );
    }
    if plan.preference {
        s.push_str(
            " The rejected side of a preference pair was scored against the chosen side's evidence; it is \
             meant to be worse, not necessarily wrong in every sentence.",
        );
    }
    s.push_str("\n\n");
    s.push_str(
        "## Limitations\n\nThe questions and answers are machine-generated. Verification checks that \
         answers are grounded in the cited text, not that the source text is correct, and fuzzy \
         matching can occasionally accept a loose paraphrase. Audit a sample before training.\n",
    );
    s
}

/// A Markdown table of counts (`key` and `unit` head its columns); nothing when empty.
pub(crate) fn count_table(s: &mut String, key: &str, unit: &str, counts: &BTreeMap<&str, usize>) {
    if counts.is_empty() {
        return;
    }
    let _ = writeln!(s, "| {key} | {unit} |\n|---|---:|");
    for (k, v) in counts {
        let k = if k.is_empty() { "(none)" } else { k };
        let _ = writeln!(s, "| {} | {v} |", markdown_inline(k));
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use quarry_core::Turn;

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

    fn turn(role: &str, content: &str) -> Turn {
        let role = if role == "user" { quarry_core::Role::User } else { quarry_core::Role::Assistant };
        Turn { role, content: content.into(), support: -1.0, ..Turn::default() }
    }

    #[test]
    fn dialogues_are_normalised_into_alternating_messages() {
        let r = Record {
            task: quarry_core::Task::Followup,
            question: "q1".into(),
            answer: "a1".into(),
            turns: vec![
                turn("user", "q1"),
                turn("user", "q1b"),
                turn("assistant", "a1"),
                turn("user", "q2"),
                turn("assistant", "a2"),
                turn("user", "dangling"),
            ],
            ..Record::default()
        };
        let m = messages(&r);
        let got: Vec<(Role, &str)> = m.iter().map(|m| (m.role, m.content.as_ref())).collect();
        assert_eq!(
            got,
            [(Role::User, "q1\n\nq1b"), (Role::Assistant, "a1"), (Role::User, "q2"), (Role::Assistant, "a2")]
        );
        let (instruction, output, history) = alpaca_parts(&m);
        assert_eq!((instruction, output), ("q2", "a2"));
        assert_eq!(history, [["q1\n\nq1b", "a1"]]);

        // An answer without a question before it, and a question without an answer.
        let odd = [
            Message { role: Role::Assistant, content: "hello".into() },
            Message { role: Role::User, content: "u".into() },
            Message { role: Role::User, content: "v".into() },
            Message { role: Role::Assistant, content: "a".into() },
        ];
        assert_eq!(alpaca_parts(&odd), ("v", "a", vec![["", "hello"], ["u", ""]]));

        // Only user turns: the first exchange instead.
        let only_user = Record { turns: vec![turn("user", "x")], ..r.clone() };
        let m = messages(&only_user);
        assert_eq!(m.iter().map(|m| m.content.as_ref()).collect::<Vec<_>>(), ["q1", "a1"]);
    }

    #[test]
    fn plain_text_per_shape() {
        let mut r = Record { question: "Q?".into(), answer: "A.".into(), ..Record::default() };
        assert_eq!(plain_text(&r), "Q?\n\nA.");
        r.task = quarry_core::Task::Pretrain;
        assert_eq!(plain_text(&r), "A.");
        r.task = quarry_core::Task::Conversation;
        r.turns = vec![
            Turn { speaker: "student".into(), ..turn("user", "Why?") },
            Turn { speaker: "teacher".into(), ..turn("assistant", "Because.") },
        ];
        assert_eq!(plain_text(&r), "Student: Why?\n\nTeacher: Because.");
    }
}
