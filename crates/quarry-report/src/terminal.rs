//! One record or reject for a terminal (`quarry audit <run-dir> <record-id>`).
//!
//! Corpus and model text is stripped of terminal control characters (shown as
//! `\u{..}`), so a document cannot move the cursor or change colours.

use std::collections::HashMap;
use std::fmt::Write as _;

use quarry_core::{Citation, Record, Reject, Turn, Verdict, heading_path_display};

use crate::ChunkView;
use crate::escape::terminal as clean;
use crate::highlight::{Placement, place};
use crate::html::{match_kind, score};
use crate::task::{Shape, controls, has_round_trip, question_type, shape, task_name, turn_label, turns_cite, verified};

macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const HIGHLIGHT: &str = "\x1b[1;33m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";

/// ANSI styling that collapses to nothing when colour is off.
#[derive(Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color && !s.is_empty() { format!("{code}{s}{RESET}") } else { s.to_owned() }
    }

    fn bold(self, s: &str) -> String {
        self.paint(BOLD, s)
    }

    fn dim(self, s: &str) -> String {
        self.paint(DIM, s)
    }

    /// The quote highlighted: bold yellow per line with colour, `»…«` without.
    fn quote(self, q: &str) -> String {
        if self.color {
            q.split('\n').map(|line| self.paint(HIGHLIGHT, line)).collect::<Vec<_>>().join("\n")
        } else {
            format!("»{q}«")
        }
    }

    fn verdict(self, v: &str) -> String {
        let code = match v {
            "supported" => GREEN,
            "partial" => YELLOW,
            _ => RED,
        };
        self.paint(&format!("{BOLD}{code}"), v)
    }
}

/// Appends `text` indented by `prefix` on every line.
fn indented(out: &mut String, prefix: &str, text: &str) {
    for line in text.split('\n') {
        let _ = writeln!(out, "{prefix}{line}");
    }
}

/// Renders one record for a terminal: question, answer, verdict and scores, reasons,
/// sentence support, and each citation with its passage, document, heading path, span,
/// match and the chunk text with the quote highlighted (bold yellow with `color`, else
/// `»…«`).
///
/// By task: a dialogue (`followup`, `conversation`) turn by turn, each verified turn with
/// its verdict, support and own citations; a passage (`pretrain`) paragraph by paragraph
/// the same way; a preference pair (`dpo`) as the prompt, the chosen answer with its
/// citations, then the rejected answer with how it was made; a topic-tree node under its
/// path. Conversation controls and the user side's content share are shown when set.
pub fn render_terminal(record: &Record, chunks: &HashMap<String, ChunkView>, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let verdict = record.verdict.as_str();
    let task = task_name(record);
    let shape = shape(record);
    let mut title = format!("{} {}  [{}]", st.bold("Record"), clean(&record.id.to_string()), st.verdict(verdict));
    if let Some(qtype) = question_type(record) {
        let _ = write!(title, "  {}", clean(qtype));
    }
    if task != "qa" {
        let _ = write!(title, "  {}", st.dim(&format!("task {}", clean(task))));
    }
    w!(out, "{title}");
    if !record.topic_path.is_empty() {
        let path: Vec<String> = record.topic_path.iter().map(|p| clean(p)).collect();
        w!(out, "{} {}", st.dim("Topic path:"), path.join(" › "));
    }
    if let Some(parent) = &record.parent_id {
        w!(out, "{} {}", st.dim("Made from:"), clean(&parent.to_string()));
    }
    let set = controls(record);
    if !set.is_empty() {
        w!(out, "{}", st.bold("Controls"));
        for (name, value) in set {
            w!(out, "  {name}: {}", clean(value));
        }
    }
    out.push('\n');
    match shape {
        Shape::Qa => {
            w!(out, "{}", st.bold("Question"));
            indented(&mut out, "  ", &clean(&record.question));
            w!(out, "{}", st.bold("Answer"));
            indented(&mut out, "  ", &clean(&record.answer));
        }
        Shape::Topic => {
            w!(out, "{}", st.bold("Topic"));
            indented(&mut out, "  ", &clean(&record.question));
            if !record.answer.is_empty() {
                indented(&mut out, "  ", &clean(&record.answer));
            }
        }
        Shape::Dialogue => {
            w!(out, "{} ({} turns)", st.bold("Dialogue"), record.turns.len());
            turns(&mut out, st, &record.turns, chunks);
        }
        Shape::Passage => {
            w!(out, "{}", st.bold("Topic"));
            indented(&mut out, "  ", &clean(&record.question));
            if record.turns.is_empty() {
                w!(out, "{}", st.bold("Passage"));
                indented(&mut out, "  ", &clean(&record.answer));
            } else {
                w!(out, "{} ({} paragraphs)", st.bold("Passage"), record.turns.len());
                turns(&mut out, st, &record.turns, chunks);
            }
        }
        Shape::Preference => {
            w!(out, "{}", st.bold("Prompt"));
            indented(&mut out, "  ", &clean(&record.question));
            w!(out, "{} {}   support {}", st.bold("Chosen"), st.verdict(verdict), score(record.scores.support));
            indented(&mut out, "  ", &clean(&record.answer));
            w!(out, "  {} ({})", st.bold("Citations"), record.citations.len());
            for c in &record.citations {
                citation(&mut out, st, "  ", c, chunks.get(&c.chunk_id));
            }
            let p = &record.preference;
            let judged = match p.verdict {
                None => "not verified".to_owned(),
                Some(v) => format!("{}   support {}", st.verdict(v.as_str()), score(p.support)),
            };
            w!(out, "{} {judged}", st.bold("Rejected"));
            let mut how = format!("  method {}", clean(&p.method));
            if !p.model.is_empty() {
                let _ = write!(how, "   model {}", clean(&p.model));
            }
            w!(out, "{}", st.dim(&how));
            if !p.detail.is_empty() {
                indented(&mut out, "  ", &st.dim(&clean(&p.detail)));
            }
            indented(&mut out, "  ", &clean(&p.rejected));
        }
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let mut scores = format!(
        "{} {}   support {}   quote match {}",
        st.bold("Verdict"),
        st.verdict(verdict),
        score(record.scores.support),
        score(record.scores.quote_match),
    );
    if has_round_trip(record) {
        let rank = record.scores.round_trip_rank;
        let rank = if rank > 0 { format!("#{rank}") } else { "miss".to_owned() };
        let _ = write!(scores, "   round-trip rank {rank}");
    }
    if record.scores.user_content_share >= 0.0 {
        let _ = write!(scores, "   user content share {}", score(record.scores.user_content_share));
    }
    w!(out, "{scores}");
    if !record.reasons.is_empty() {
        w!(out, "{}", st.bold("Reasons"));
        for r in &record.reasons {
            indented(&mut out, "  - ", &clean(r));
        }
    } else if record.verdict == Verdict::Supported {
        w!(out, "{}", st.dim("Reasons: none (clean pass)"));
    }
    if !record.scores.sentences.is_empty() {
        w!(out, "{}", st.bold("Sentences"));
        for s in &record.scores.sentences {
            let mark = if s.supported { st.paint(GREEN, "✓") } else { st.paint(RED, "✗") };
            let semantic = if s.semantic < 0.0 { "–".to_owned() } else { score(s.semantic) };
            w!(out, "  {mark} lexical {} semantic {semantic}  {}", score(s.lexical), clean(&s.sentence));
        }
    }
    // Turns and the chosen side showed their own evidence; `citations` is their union.
    if shape != Shape::Preference && !turns_cite(record) {
        out.push('\n');
        w!(out, "{} ({})", st.bold("Citations"), record.citations.len());
        for c in &record.citations {
            citation(&mut out, st, "", c, chunks.get(&c.chunk_id));
        }
    }
    out
}

/// Turns (or paragraphs) one by one: a numbered head with who speaks and, for verified
/// turns, verdict and support; the content; the turn's citations.
fn turns(out: &mut String, st: Style, turns: &[Turn], chunks: &HashMap<String, ChunkView>) {
    for (i, t) in turns.iter().enumerate() {
        let mut head = format!("  {} {}", st.dim(&format!("{}.", i + 1)), st.bold(&clean(&turn_label(t, i))));
        if verified(t) {
            let _ =
                write!(head, "  [{}]  support {}", st.verdict(t.verdict.map_or("", Verdict::as_str)), score(t.support));
            if !t.passages.is_empty() {
                let n = t.passages.len();
                let _ = write!(head, "  {}", st.dim(&format!("{n} passage{} shown", if n == 1 { "" } else { "s" })));
            }
        }
        w!(out, "{head}");
        indented(out, "     ", &clean(&t.content));
        if verified(t) && t.citations.is_empty() {
            w!(out, "     {}", st.paint(RED, "(no citations)"));
        }
        for c in &t.citations {
            citation(out, st, "   ", c, chunks.get(&c.chunk_id));
        }
        if t.citations.is_empty() {
            out.push('\n');
        }
    }
}

fn citation(out: &mut String, st: Style, indent: &str, c: &Citation, chunk: Option<&ChunkView>) {
    let title = if c.doc_title.is_empty() { &c.doc_id } else { &c.doc_title };
    let mut head = format!("{indent}  [{}] {}", c.passage, st.bold(&clean(title)));
    if !c.heading_path.is_empty() {
        let _ = write!(head, " › {}", clean(&heading_path_display(&c.heading_path)));
    }
    w!(out, "{head}");
    w!(
        out,
        "{indent}      {}",
        st.dim(&format!(
            "chunk {}  span {}  {} match {}",
            clean(&c.chunk_id),
            c.span,
            match_kind(c.match_kind),
            score(c.match_score)
        ))
    );
    let bar = format!("{indent}      │ ");
    match place(c, chunk) {
        Placement::InChunk { before, quote, after, by_span } => {
            if !by_span {
                w!(out, "{indent}      {}", st.paint(RED, "(the span does not fit this chunk; quote found by search)"));
            }
            let text = format!("{}{}{}", clean(before), st.quote(&clean(quote)), clean(after));
            indented(out, &bar, &text);
        }
        Placement::Apart => {
            let why = if chunk.is_some() { "quote not in the chunk text" } else { "chunk not available" };
            w!(out, "{indent}      {}", st.paint(RED, &format!("({why}; the quote:)")));
            indented(out, &bar, &st.quote(&clean(&c.quote)));
        }
    }
    if c.model_quote != c.quote {
        w!(out, "{indent}      model's wording: “{}”", clean(&c.model_quote));
    }
    out.push('\n');
}

/// Renders one reject for a terminal: stage, reason, detail, question, answer, and the
/// model's raw reply when there is one.
pub fn render_reject_terminal(reject: &Reject) -> String {
    let mut out = String::new();
    w!(
        out,
        "Reject {}  [rejected at {}]  {}",
        clean(&reject.id.to_string()),
        clean(&reject.stage),
        clean(&reject.reason)
    );
    if !reject.question_type.is_empty() {
        w!(out, "Question type: {}", clean(&reject.question_type));
    }
    if let Some(v) = reject.verdict {
        w!(out, "Verdict: {}   support {}", v.as_str(), score(reject.support));
    }
    if !reject.detail.is_empty() {
        w!(out, "Detail");
        indented(&mut out, "  ", &clean(&reject.detail));
    }
    if !reject.question.is_empty() {
        w!(out, "Question");
        indented(&mut out, "  ", &clean(&reject.question));
    }
    if !reject.answer.is_empty() {
        w!(out, "Answer");
        indented(&mut out, "  ", &clean(&reject.answer));
    }
    if !reject.raw.is_empty() {
        w!(out, "Raw reply");
        indented(&mut out, "  │ ", &clean(&reject.raw));
    }
    if !reject.seed_chunks.is_empty() {
        w!(out, "Seed chunks: {}", clean(&reject.seed_chunks.join(", ")));
    }
    out
}
