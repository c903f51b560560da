//! The records a generation run writes: `records.jsonl` (accepted), `rejects.jsonl`
//! (everything that did not pass, with the reason) and their parts.
//!
//! Schema rules, so that Hugging Face `datasets` loads the files: every key is present
//! in every row (no `skip_serializing_if`), and each key has one JSON type (strings are
//! empty rather than null; numbers that may be missing use -1).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Span;

/// Version of the record schema; bump when a field changes meaning or type.
pub const RECORD_SCHEMA_VERSION: u32 = 2;

/// The strum derives every string enum here shares: `snake_case` names, the same as serde's,
/// for `Display`, `as_str` (`IntoStaticStr`) and the list of variants.
macro_rules! names {
    ($t:ident, $what:literal) => {
        impl $t {
            /// The name as stored in the JSON files.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<$t, String> {
                use strum::VariantArray;
                $t::VARIANTS.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let known: Vec<&str> = $t::VARIANTS.iter().map(|v| v.as_str()).collect();
                    format!(concat!("unknown ", $what, " {:?} (known: {})"), s, known.join(", "))
                })
            }
        }
    };
}

/// The verifier's judgement of an answer.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Verdict {
    /// Every answer sentence is supported by its cited spans.
    Supported,
    /// Some answer sentences are supported, some are not.
    Partial,
    /// No answer sentence is supported.
    #[default]
    Unsupported,
}
names!(Verdict, "verdict");

/// A value that may be absent (a verdict of a turn that is not verified, the record a reject
/// does not duplicate), stored as `""` when absent so that the column has one JSON type.
pub mod empty_none {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let s = String::deserialize(d)?;
        if s.is_empty() { Ok(None) } else { s.parse().map(Some).map_err(serde::de::Error::custom) }
    }
}

/// The generating task a record comes from. A new task is one variant here, and the
/// compiler then lists every `match` that needs an arm for it.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Task {
    /// A grounded question and its cited answer.
    #[default]
    Qa,
    /// A Q&A record deepened by follow-up turns.
    Followup,
    /// A multi-turn dialogue steered by controls.
    Conversation,
    /// A preference pair: the cited answer against a worse one.
    Dpo,
    /// A textbook passage, paragraph by paragraph.
    Pretrain,
    /// A node of a topic tree.
    Topic,
}
names!(Task, "task");

/// Who speaks a turn.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// The side that asks (a learner, a user).
    #[default]
    User,
    /// The side that answers from the passages.
    Assistant,
    /// A paragraph of a passage, spoken by nobody.
    Text,
}
names!(Role, "role");

/// Whether a topic-tree node is supported by the corpus.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TopicStatus {
    /// A passage sentence names it.
    Grounded,
    /// Retrieval found no passage naming it: the corpus does not support it.
    Unsupported,
    /// Not checked (no index).
    #[default]
    Ungrounded,
}
names!(TopicStatus, "topic status");

/// The id of a record or reject: its run id and slot, written `<run>-<slot:06>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordId {
    pub run: String,
    pub slot: u64,
}

impl RecordId {
    pub fn new(run: &str, slot: u64) -> RecordId {
        RecordId { run: run.to_owned(), slot }
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:06}", self.run, self.slot)
    }
}

impl std::str::FromStr for RecordId {
    type Err = String;
    fn from_str(s: &str) -> Result<RecordId, String> {
        let (run, slot) = s.rsplit_once('-').ok_or_else(|| format!("{s:?} is not a record id (<run>-<slot>)"))?;
        let slot = slot.parse().map_err(|_| format!("{s:?} is not a record id (<run>-<slot>)"))?;
        Ok(RecordId { run: run.to_owned(), slot })
    }
}

impl TryFrom<String> for RecordId {
    type Error = String;
    fn try_from(s: String) -> Result<RecordId, String> {
        s.parse()
    }
}

impl From<RecordId> for String {
    fn from(id: RecordId) -> String {
        id.to_string()
    }
}

/// How a quote was found in its cited chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteMatch {
    /// Byte for byte.
    Exact,
    /// After normalising whitespace, case, quotes and dashes.
    Normalized,
    /// By fuzzy alignment; `match_score` says how close.
    Fuzzy,
}

/// One verified citation: a span of a document that supports the answer.
///
/// Invariant: `quote == document(doc_id).text[span]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    /// The passage number the model cited (1-based, as shown in the prompt).
    pub passage: u32,
    pub chunk_id: String,
    pub doc_id: String,
    pub doc_title: String,
    pub heading_path: Vec<String>,
    /// The document's own text at `span`.
    pub quote: String,
    /// The model's wording of the quote (equal to `quote` for an exact match).
    pub model_quote: String,
    /// Byte span in the document's normalised text.
    pub span: Span,
    pub match_kind: QuoteMatch,
    /// 1.0 for exact and normalised matches; the alignment score for fuzzy ones.
    pub match_score: f32,
}

/// Support of one answer sentence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SentenceSupport {
    pub sentence: String,
    /// Share of the sentence's content words found in the evidence (0..1).
    pub lexical: f32,
    /// Cosine similarity to the closest evidence sentence (0..1; -1 when not computed).
    pub semantic: f32,
    pub supported: bool,
}

/// The verifier's scores for one record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Overall support (0..1): the mean of the sentences' support scores.
    pub support: f32,
    /// Lowest quote match score among the citations.
    pub quote_match: f32,
    pub sentences: Vec<SentenceSupport>,
    /// Rank (1-based) of the seed chunk when retrieving with the question; -1 when it
    /// was not in the top k.
    pub round_trip_rank: i64,
    /// Whether the seed chunk was in the top k.
    pub round_trip_hit: bool,
    /// In a dialogue, the user side's share (0..1) of the substance (content words outside
    /// questions) the two sides bring; -1 for other tasks.
    #[serde(default = "minus_one")]
    pub user_content_share: f32,
}

fn minus_one() -> f32 {
    -1.0
}

/// One turn of a dialogue (follow-up chains, conversations) or one paragraph of a passage
/// (pre-training text): each part that carries claims is verified on its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    /// Who speaks in the record's own terms ("student", "professor"); "" when not a dialogue.
    pub speaker: String,
    pub content: String,
    /// The turn's verified citations (empty for turns that are not verified).
    pub citations: Vec<Citation>,
    /// `None` (stored `""`) for turns that are not verified (user turns).
    #[serde(with = "empty_none")]
    pub verdict: Option<Verdict>,
    /// Support score (0..1); -1 for turns that are not verified.
    pub support: f32,
    /// The chunks retrieved for this turn and shown to the model, in passage order.
    pub passages: Vec<String>,
}

/// The five controls that steer a conversation, as sampled or fixed ("" for other tasks).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Controls {
    /// Participant dynamics: "teacher and student".
    pub dynamics: String,
    /// Emotional context: "sceptical and enthusiastic".
    pub emotion: String,
    /// Structure: Q&A, debate, lecture, informal discussion, Socratic.
    pub structure: String,
    /// Scenario: "a conference panel".
    pub scenario: String,
    /// Knowledge level: beginner ... expert.
    pub knowledge_level: String,
}

/// The rejected side of a DPO pair (the chosen side is the record's answer). All empty for
/// other tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preference {
    pub rejected: String,
    /// How the rejected side was made: `no_passages` (the same model without the passages),
    /// `weaker_model`, or `perturbation` (a changed number, entity or unit).
    pub method: String,
    /// What was changed ("1820 -> 1830"), or which model wrote the rejected side.
    pub detail: String,
    pub model: String,
    /// The verifier's verdict on the rejected side against the chosen side's evidence.
    #[serde(with = "empty_none")]
    pub verdict: Option<Verdict>,
    pub support: f32,
}

/// Sampling parameters as recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplingRecord {
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
    pub seed: u64,
}

/// Tokens spent on a record, every LLM call included (questions that were filtered out
/// before it are not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Milliseconds spent per stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    pub question_ms: f64,
    pub retrieval_ms: f64,
    pub answer_ms: f64,
    pub verify_ms: f64,
}

/// One accepted record of `records.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub schema_version: u32,
    /// `<run id>-<slot>`: derived from the run seed and the slot, so a resumed run
    /// writes the same ids.
    pub id: RecordId,
    pub task: Task,
    /// The slot (0-based) this record fills.
    pub slot: u64,
    pub question: String,
    /// factual, explanatory, numerical, comparative or multi_hop.
    pub question_type: String,
    pub answer: String,
    pub citations: Vec<Citation>,
    pub verdict: Verdict,
    /// Why the verdict is what it is (empty for a clean pass).
    pub reasons: Vec<String>,
    pub scores: Scores,
    /// The chunk(s) the question was written from (two for multi-hop).
    pub seed_chunks: Vec<String>,
    /// The chunks shown to the answering model, in passage order (passage 1 first).
    pub passages: Vec<String>,
    pub model: String,
    pub backend: String,
    pub question_sampling: SamplingRecord,
    pub answer_sampling: SamplingRecord,
    /// BLAKE3 of the question and answer prompt templates (hex, 16 characters).
    pub question_prompt_hash: String,
    pub answer_prompt_hash: String,
    pub usage: TokenUsage,
    pub timings: StageTimings,
    /// The dialogue or the paragraphs, for tasks that have several parts (empty for qa, dpo).
    /// For a dialogue, `question` and `answer` hold its first exchange and `citations` all
    /// verified citations of its turns.
    #[serde(default)]
    pub turns: Vec<Turn>,
    #[serde(default)]
    pub controls: Controls,
    #[serde(default)]
    pub preference: Preference,
    /// The topic-tree path this record was seeded from (empty when seeded by chunks).
    #[serde(default)]
    pub topic_path: Vec<String>,
    /// The record this one was made from (a follow-up chain's or DPO pair's Q&A record);
    /// stored `""` when none.
    #[serde(default, with = "empty_none")]
    pub parent_id: Option<RecordId>,
}

/// One line of `rejects.jsonl`: a candidate that did not become a record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    pub schema_version: u32,
    /// `<run id>-<slot>`, the id the record of this slot would have had.
    pub id: RecordId,
    pub slot: u64,
    pub attempt: u32,
    /// question, answer, verify or llm.
    pub stage: String,
    /// A short machine-readable reason (`not_standalone`, `quote_not_found`, ...).
    pub reason: String,
    /// The reason in words.
    pub detail: String,
    pub question: String,
    pub question_type: String,
    pub answer: String,
    /// The model's raw reply when it could not be used.
    pub raw: String,
    pub seed_chunks: Vec<String>,
    /// The verdict when the verifier ran (stored `""` otherwise).
    #[serde(with = "empty_none")]
    pub verdict: Option<Verdict>,
    pub support: f32,
    pub usage: TokenUsage,
    /// A conversation's controls, so rejects can be studied by control (empty otherwise).
    #[serde(default)]
    pub controls: Controls,
    /// For a duplicate (reason `duplicate`), the earlier record it repeats; stored `""`
    /// otherwise.
    #[serde(default, with = "empty_none")]
    pub duplicate_of: Option<RecordId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_json() {
        for t in <Task as strum::VariantArray>::VARIANTS {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(t.to_string().parse::<Task>().unwrap(), *t);
        }
        assert_eq!(Task::Qa.as_str(), "qa");
        assert_eq!(Role::Assistant.to_string(), "assistant");
        assert_eq!(TopicStatus::Ungrounded.as_str(), "ungrounded");
        assert_eq!(Verdict::Partial.as_str(), "partial");
        let err = "quiz".parse::<Task>().unwrap_err();
        assert!(err.contains("unknown task \"quiz\"") && err.contains("conversation"), "{err}");
        let id: RecordId = "1a2b3c4d-000012".parse().unwrap();
        assert_eq!((id.run.as_str(), id.slot), ("1a2b3c4d", 12));
        assert_eq!(id.to_string(), "1a2b3c4d-000012");
        assert!("nodash".parse::<RecordId>().is_err());
    }
}
