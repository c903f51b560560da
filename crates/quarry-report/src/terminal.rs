//! One record or reject for a terminal (`quarry audit <run-dir> <record-id>`).
//!
//! Corpus and model text is stripped of terminal control characters (shown as
//! `\u{..}`), so a document cannot move the cursor or change colours.

use std::collections::HashMap;
use std::fmt::Write as _;

use quarry_core::{Citation, Record, Reject, Verdict, heading_path_display};

use crate::ChunkView;
use crate::escape::terminal as clean;
use crate::highlight::{Placement, place};
use crate::html::{match_kind, score};

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
pub fn render_terminal(record: &Record, chunks: &HashMap<String, ChunkView>, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let verdict = record.verdict.as_str();
    w!(out, "{} {}  [{}]  {}", st.bold("Record"), clean(&record.id), st.verdict(verdict), clean(&record.question_type));
    out.push('\n');
    w!(out, "{}", st.bold("Question"));
    indented(&mut out, "  ", &clean(&record.question));
    w!(out, "{}", st.bold("Answer"));
    indented(&mut out, "  ", &clean(&record.answer));
    out.push('\n');
    let rank = if record.scores.round_trip_rank > 0 {
        format!("#{}", record.scores.round_trip_rank)
    } else {
        "miss".to_owned()
    };
    w!(
        out,
        "{} {}   support {}   quote match {}   round-trip rank {}",
        st.bold("Verdict"),
        st.verdict(verdict),
        score(record.scores.support),
        score(record.scores.quote_match),
        rank
    );
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
    out.push('\n');
    w!(out, "{} ({})", st.bold("Citations"), record.citations.len());
    for c in &record.citations {
        citation(&mut out, st, c, chunks.get(&c.chunk_id));
    }
    out
}

fn citation(out: &mut String, st: Style, c: &Citation, chunk: Option<&ChunkView>) {
    let title = if c.doc_title.is_empty() { &c.doc_id } else { &c.doc_title };
    let mut head = format!("  [{}] {}", c.passage, st.bold(&clean(title)));
    if !c.heading_path.is_empty() {
        let _ = write!(head, " › {}", clean(&heading_path_display(&c.heading_path)));
    }
    w!(out, "{head}");
    w!(
        out,
        "      {}",
        st.dim(&format!(
            "chunk {}  span {}  {} match {}",
            clean(&c.chunk_id),
            c.span,
            match_kind(c.match_kind),
            score(c.match_score)
        ))
    );
    match place(c, chunk) {
        Placement::InChunk { before, quote, after, by_span } => {
            if !by_span {
                w!(out, "      {}", st.paint(RED, "(the span does not fit this chunk; quote found by search)"));
            }
            let text = format!("{}{}{}", clean(before), st.quote(&clean(quote)), clean(after));
            indented(out, "      │ ", &text);
        }
        Placement::Apart => {
            let why = if chunk.is_some() { "quote not in the chunk text" } else { "chunk not available" };
            w!(out, "      {}", st.paint(RED, &format!("({why}; the quote:)")));
            indented(out, "      │ ", &st.quote(&clean(&c.quote)));
        }
    }
    if c.model_quote != c.quote {
        w!(out, "      model's wording: “{}”", clean(&c.model_quote));
    }
    out.push('\n');
}

/// Renders one reject for a terminal: stage, reason, detail, question, answer, and the
/// model's raw reply when there is one.
pub fn render_reject_terminal(reject: &Reject) -> String {
    let mut out = String::new();
    w!(out, "Reject {}  [rejected at {}]  {}", clean(&reject.id), clean(&reject.stage), clean(&reject.reason));
    if !reject.question_type.is_empty() {
        w!(out, "Question type: {}", clean(&reject.question_type));
    }
    if !reject.verdict.is_empty() {
        w!(out, "Verdict: {}   support {}", clean(&reject.verdict), score(reject.support));
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
